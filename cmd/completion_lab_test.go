//go:build lab

package cmd

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"libvirt.org/go/libvirt"
)

// A completion closes its connection: libvirtd logs every client that goes
// away without closing ("End of file while reading data"), which was one
// error line in the daemon's log per Tab press. So does a one-shot command,
// whether it used its connection or failed before it. The control (a
// process that exits with its connection open) shows the log would catch
// it.
func TestLabCompletionClosesItsConnection(t *testing.T) {
	if uri := os.Getenv("VIRTSH_TEST_OPEN_AND_EXIT"); uri != "" {
		if _, err := libvirt.NewConnect(uri); err != nil {
			os.Exit(2)
		}
		os.Exit(0) // no Close, on purpose
	}
	d := newPrivateDaemon(t)
	logf := filepath.Join(d.dir, "libvirtd.log")
	eofLines := func() int {
		time.Sleep(300 * time.Millisecond) // the daemon logs when it reads the EOF
		b, _ := os.ReadFile(logf)
		return strings.Count(string(b), "End of file while reading data")
	}
	base := eofLines()

	ctl := exec.Command(os.Args[0], "-test.run=^TestLabCompletionClosesItsConnection$")
	ctl.Env = append(os.Environ(), "VIRTSH_TEST_OPEN_AND_EXIT="+d.URI(), "GORACE=atexit_sleep_ms=0")
	if out, err := ctl.CombinedOutput(); err != nil {
		t.Fatalf("control process: %v\n%s", err, out)
	}
	afterCtl := eofLines()
	if afterCtl == base {
		t.Fatal("control: a client exiting without closing left no line in libvirtd's log; the check below would prove nothing")
	}

	bin := virtshBinary(t)
	out, _, code := runBinary(t, "", nil, bin, "__complete", "-c", d.URI(), "dominfo", "")
	if code != 0 || !strings.HasPrefix(out, "test\t") {
		t.Fatalf("__complete dominfo '' = %q (exit %d), want the test driver's guest", out, code)
	}
	if n := eofLines(); n != afterCtl {
		t.Errorf("a completion left %d \"End of file\" line(s) in libvirtd's log: it did not close its connection", n-afterCtl)
	}

	// One-shot commands: one that uses its connection, one with a bad
	// option and an unknown command.
	for _, args := range [][]string{
		{"-c", d.URI(), "domstate", "test"},
		{"-c", d.URI(), "domstate", "--bogus"},
		{"-c", d.URI(), "frob"},
	} {
		runBinary(t, "", nil, bin, args...)
	}
	if n := eofLines(); n != afterCtl {
		t.Errorf("one-shot commands left %d \"End of file\" line(s) in libvirtd's log: a connection was not closed", n-afterCtl)
	}
}

// completeLab runs `virtsh -c LAB __completeNoDesc WORDS...` in-process and
// returns its candidates and cobra directive as printed.
func completeLab(t *testing.T, words ...string) string {
	t.Helper()
	out, errS, code := runMain(t, "", append([]string{"-c", labURI(), "__completeNoDesc"}, words...)...)
	if code != 0 || errS != "" {
		t.Fatalf("__complete %q: exit %d stderr %q", words, code, errS)
	}
	return out
}

// Completion against a real guest: disk targets, vda[N] for each chain
// element after a disk-only snapshot (limited to --path's disk), the disks
// that have a block job, checkpoint names.
func TestLabCompletionRealGuest(t *testing.T) {
	g := newLabGuest(t, labGuestOpts{Prefix: "compl", Disks: 2, DiskMiB: 4, Start: true})
	if got := completeLab(t, "blockcommit", g.Name, ""); got != "vda\nvdb\n:4\n" {
		t.Fatalf("disk targets: %q", got)
	}
	if got := completeLab(t, "blockcommit", g.Name[:len(g.Name)-2]); got != g.Name+"\n:4\n" {
		t.Fatalf("running domain: %q", got)
	}

	s1 := filepath.Join(g.Dir, "s1.qcow2")
	mustVirtshLab(t, "snapshot-create-as", g.Name, "--disk-only", "--no-metadata", "--diskspec", "vda,file="+s1, "--diskspec", "vdb,snapshot=no")
	ca, cb := liveChain(t, g, "vda"), liveChain(t, g, "vdb")
	if len(ca) != 2 || len(cb) != 1 {
		t.Fatalf("chains after the snapshot: vda %v vdb %v", ca, cb)
	}
	want := fmt.Sprintf("vda\nvda[%d]\nvda[%d]\n:4\n", ca[0].Index, ca[1].Index)
	if got := completeLab(t, "blockcommit", g.Name, "vda", "--top", ""); got != want {
		t.Fatalf("--top: %q, want %q", got, want)
	}
	if got := completeLab(t, "blockpull", g.Name, "--path", "vda", "--base", fmt.Sprintf("vda[%d", ca[1].Index)); got != fmt.Sprintf("vda[%d]\n:4\n", ca[1].Index) {
		t.Fatalf("blockpull --base: %q", got)
	}
	if got := completeLab(t, "blockcommit", g.Name, "vdb", "--base", ""); got != fmt.Sprintf("vdb\nvdb[%d]\n:4\n", cb[0].Index) {
		t.Fatalf("--base of vdb: %q", got)
	}
	if got := completeLab(t, "domblkthreshold", g.Name, "vd"); got != "vda\nvdb\n:4\n" {
		t.Fatalf("domblkthreshold dev: %q", got)
	}

	// Block-job disks: none, then vda while an active commit waits in ready.
	if got := completeLab(t, "blockjob", g.Name, "vd"); got != ":4\n" {
		t.Fatalf("blockjob with no job: %q", got)
	}
	mustVirtshLab(t, "blockcommit", g.Name, "vda", "--active")
	if got := completeLab(t, "blockjob", g.Name, ""); got != "vda\n:4\n" {
		t.Fatalf("blockjob disks: %q", got)
	}
	mustVirtshLab(t, "blockjob", g.Name, "vda", "--abort")
	noJob(t, g, "vda")

	mustVirtshLab(t, "checkpoint-create-as", g.Name, "cp1")
	mustVirtshLab(t, "checkpoint-create-as", g.Name, "cp2")
	if got := completeLab(t, "checkpoint-delete", g.Name, ""); got != "cp1\ncp2\n:4\n" {
		t.Fatalf("checkpoint names: %q", got)
	}
	if got := completeLab(t, "checkpoint-dumpxml", "--domain", g.Name, "--checkpointname", "cp2"); got != "cp2\n:4\n" {
		t.Fatalf("checkpoint name prefix: %q", got)
	}
	// Completion changed nothing: both checkpoints, the chain, no job.
	if got := completeLab(t, "checkpoint-delete", g.Name, "cp"); got != "cp1\ncp2\n:4\n" {
		t.Fatalf("checkpoints after completion: %q", got)
	}
	wantChain(t, g, "vda", s1, g.Disks[0])
	noJob(t, g, "vda")
}
