package cmd

import (
	"io"
	"strings"
	"testing"

	"github.com/virtsh/virtsh/format"
	"github.com/virtsh/virtsh/shell"
)

// FuzzSnapshotDiskspec: snapshot-create-as's --diskspec parser never panics,
// never accepts a spec without a disk name, and a file source it accepts is
// the text after "file=" (commas un-doubled).
func FuzzSnapshotDiskspec(f *testing.F) {
	for _, s := range []string{"vda", "vda,snapshot=external,file=/a,,b.qcow2", "vda,stype=block,file=/dev/x", "vda,stype=net,file=x", ",file=/x", "", ",", "vda,bogus", "vda,file="} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, _, err := parseDiskspec(s)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "unable to parse diskspec: ") && !strings.HasPrefix(err.Error(), "Unknown storage type: ") {
				t.Fatalf("odd error for %q: %v", s, err)
			}
			return
		}
		if d.Name == "" {
			t.Fatalf("%q accepted without a disk name", s)
		}
		if d.Source != nil && d.Source.File != nil && !strings.Contains(strings.ReplaceAll(s, ",,", ","), "file="+d.Source.File.File) {
			t.Fatalf("%q gave file %q", s, d.Source.File.File)
		}
	})
}

// FuzzCommandLine feeds arbitrary command strings through the tokenizer and
// every command's virsh-style option parser (the runner parses every command
// of a string before running any, and parsing never touches libvirt). Nothing may panic, and every refusal must be a
// message that prints as "error: ..." lines with no empty line.
func FuzzCommandLine(f *testing.F) {
	for _, s := range []string{
		"list --all", "blockcommit vm vda --top vda[1] --base vda[x] --wait --timeout 0",
		"checkpoint-create-as vm --diskspec vda,bitmap=b --diskspec ,", "domblkthreshold vm vda 150%",
		"blockresize vm vda 10QB", "snapshot-create-as vm s --diskspec vda,file=/x --disk-only --memspec /m",
		"backup-begin vm --backupxml /nonexistent", `echo "unterminated`, "event --all --loop --timeout -1",
		"blockjob vm vda --bandwidth 1e99 --abort --pivot", "list --state-running --state-running",
		"connect --readonly test:///default", "help blockcopy", "list -o xml", "dominfo -- --x",
	} {
		f.Add(s)
	}
	sess := shell.NewSession(&format.IO{In: strings.NewReader(""), Out: io.Discard, Err: io.Discard, Output: "table"},
		shell.Options{URI: "test:///default"})
	r := NewRunner(sess)
	f.Fuzz(func(t *testing.T, s string) {
		cmds, err := shell.Split(s)
		if err != nil {
			return
		}
		if err := r.Check(cmds); err != nil {
			for _, l := range shell.MessageLines(err) {
				if strings.TrimSpace(l) == "" {
					t.Fatalf("%q: error with an empty line: %q", s, err)
				}
			}
		}
		if sess.Connected() {
			t.Fatalf("%q: checking a command string connected to libvirt", s)
		}
	})
}
