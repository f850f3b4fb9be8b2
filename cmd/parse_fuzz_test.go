package cmd

import (
	"bytes"
	"io"
	"regexp"
	"strings"
	"testing"

	"github.com/virtsh/virtsh/format"
	"github.com/virtsh/virtsh/shell"
	"github.com/virtsh/virtsh/shell/spec"
)

// virshParseErr is every message virsh's vshCommandParse can give, plus
// virtsh's -o check; parseWords must never say anything else (or panic).
var virshParseErr = regexp.MustCompile(`(?s)^(command '[^']*' doesn't support option --.*|expected syntax: --\S+ <(string|number)>|invalid '=' after option --.*|option --\S+ already seen|unexpected data '(?s:.*)'|command '[^']*' requires (<\S+>|--\S+) option|unknown output format '(?s:.*)': use table, json or yaml)$`)

// FuzzParseWords feeds command strings through virsh's tokenizer and then the
// option parser of the real command tree (built-ins, host commands and any
// command registered in this build).
func FuzzParseWords(f *testing.F) {
	for _, s := range []string{
		"echo --shell a", "echo -- -- --shell", "echo --shell=x", "echo --hi --str a --hi",
		"connect --name", "connect a b", "connect --name=x --readonly --readonly",
		"help echo extra", "uri -o json", "uri --output=xml", "version --daemon -o yaml extra",
		"pwd --x", "cd", "echo --prefix", `echo --s\h'e'"l"l`, "echo ''", "help --command=",
	} {
		f.Add(s)
	}
	sess := shell.NewSession(&format.IO{Out: &bytes.Buffer{}, Err: &bytes.Buffer{}, Output: "table"}, shell.Options{})
	f.Fuzz(func(t *testing.T, s string) {
		cmds, err := shell.Split(s)
		if err != nil {
			return
		}
		for _, words := range cmds {
			c := declaration(sess, words[0])
			if c == nil {
				continue
			}
			err := c.Parse(words[1:])
			if err == nil || err == spec.ErrHelp {
				continue
			}
			if !virshParseErr.MatchString(err.Error()) {
				t.Fatalf("Parse(%s, %q) = %q: not a virsh message", words[0], words[1:], err)
			}
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
