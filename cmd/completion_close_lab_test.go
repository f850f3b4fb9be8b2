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
// error line in the daemon's log per Tab press. So does a one-shot command
// that fails before using the connection opened for it while virtsh
// started. The control (a process that exits with its connection open)
// shows the log would catch it.
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

	// Early connections: used, unused after a bad option, and an unknown
	// command; each must be closed.
	logf2 := filepath.Join(t.TempDir(), "session.log")
	env := []string{"VIRSH_LOG_FILE=" + logf2}
	for _, args := range [][]string{
		{"-c", d.URI(), "domstate", "test"},
		{"-c", d.URI(), "domstate", "--bogus"},
		{"-c", d.URI(), "frob"},
	} {
		runBinary(t, "", env, bin, args...)
	}
	if b, _ := os.ReadFile(logf2); !strings.Contains(string(b), "(opened while virtsh started)") {
		t.Errorf("the early connection was not used for domstate:\n%s", b)
	}
	if n := eofLines(); n != afterCtl {
		t.Errorf("one-shot commands left %d \"End of file\" line(s) in libvirtd's log: an early connection was not closed", n-afterCtl)
	}
}
