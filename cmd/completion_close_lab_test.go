//go:build lab

package cmd

import (
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
