package cmd

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
)

// safetyNodeXML is a private test-driver host with one running guest, so a
// `suspend test` that wrongly ran would change nothing outside the test.
var safetyNodeXML = readTestdata("safety-node.xml")

// startPTYHangable is startPTY on a master that closing really hangs up.
// startPTY's master is in blocking mode (pty.Setsize took its Fd), so its
// Close waits for the reader goroutine's read, which only the program's next
// output ends: the terminal never goes away. Here the reads go through a
// non-blocking duplicate, which Close interrupts, and the original is closed
// at once. With ctty false the pty is not virtsh's controlling terminal, so
// the hangup reaches virtsh only as a failing read, with no SIGHUP racing it.
func startPTYHangable(t *testing.T, cache string, ctty bool, args ...string) *ptySession {
	t.Helper()
	c := exec.Command(virtshBinary(t), args...)
	home := t.TempDir()
	c.Env = append(os.Environ(), "LC_ALL=C", "TERM=xterm", "HOME="+home, "XDG_CACHE_HOME="+cache,
		"GORACE=atexit_sleep_ms=0")
	c.Dir = home
	attrs := &syscall.SysProcAttr{Setsid: true, Setctty: ctty}
	orig, err := pty.StartWithAttrs(c, &pty.Winsize{Rows: 24, Cols: 100}, attrs)
	if err != nil {
		t.Fatalf("starting virtsh on a pty: %v", err)
	}
	fd, err := unix.Dup(int(orig.Fd()))
	if err == nil {
		err = unix.SetNonblock(fd, true)
	}
	_ = orig.Close()
	if err != nil {
		_ = c.Process.Kill()
		t.Fatalf("duplicating the pty master: %v", err)
	}
	ptmx := os.NewFile(uintptr(fd), "/dev/ptmx")
	return watchPTY(t, c, ptmx)
}

// exitCode is how virtsh ended: its exit status, or 128+N if it died of
// signal N (the shell convention, so a test can accept either form).
func (s *ptySession) exitCode() int {
	s.t.Helper()
	select {
	case <-s.done:
	case <-time.After(15 * time.Second):
		s.t.Fatalf("virtsh did not exit; output:\n%q", s.screen())
	}
	if s.err == nil {
		return 0
	}
	ee, ok := s.err.(*exec.ExitError)
	if !ok {
		s.t.Fatalf("waiting for virtsh: %v", s.err)
	}
	if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ee.ExitCode()
}

// A line typed but not entered never runs and never reaches the history
// file, however the input ends. The pending line is `suspend test` on a
// private host; the -l log records every command that runs, so it is the
// witness that nothing did.
func TestREPLPendingLineNeverRunsThroughPTY(t *testing.T) {
	const pending = "suspend test"
	cases := []struct {
		name    string
		hangup  bool // the test closes the master
		noCtty  bool
		end     func(t *testing.T, s *ptySession) // ends the input with the line pending
		live    bool                              // virtsh stays up: the line must stay unrun
		statusW []int                             // accepted exit statuses
	}{
		// The terminal goes away (tmux kill-session, ssh drop): the read
		// fails and, with a controlling terminal, SIGHUP arrives with it.
		{name: "hangup", hangup: true, end: hangUpMaster, statusW: []int{0, 129}},
		// The same read failure without the SIGHUP.
		{name: "read-error", hangup: true, noCtty: true, end: hangUpMaster, statusW: []int{0}},
		{name: "SIGHUP", end: sendSignal(syscall.SIGHUP), statusW: []int{129}},
		{name: "SIGTERM", end: sendSignal(syscall.SIGTERM), statusW: []int{143}},
		// Ctrl-D on a non-empty line deletes under the cursor, as in virsh;
		// at the end of the line it does nothing. It is not Enter.
		{name: "Ctrl-D", end: typeKeys("\x04"), live: true},
		// Ctrl-Space sends NUL, which readline takes for end of input.
		{name: "NUL", end: typeKeys("\x00"), live: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			node := filepath.Join(dir, "node.xml")
			if err := os.WriteFile(node, []byte(safetyNodeXML), 0o600); err != nil {
				t.Fatal(err)
			}
			logf := filepath.Join(dir, "virtsh.log")
			cache := t.TempDir()
			args := []string{"-q", "-l", logf, "-c", "test://" + node}
			var s *ptySession
			if c.hangup {
				s = startPTYHangable(t, cache, !c.noCtty, args...)
			} else {
				s = startPTY(t, cache, nil, args...)
			}
			s.expect("virtsh # ")
			s.send("echo ready\r")
			s.expect("\nreadyvirtsh # ")
			s.send(pending)
			s.expect(pending)

			c.end(t, s)
			want := []string{"echo ready"}
			if c.live {
				time.Sleep(300 * time.Millisecond) // room for a wrongly run command to show
				s.alive()
				if scr := s.screen(); strings.Contains(scr, "suspended") || strings.Contains(scr, "error:") {
					t.Errorf("the pending line ran:\n%q", scr)
				}
				s.send("\x03") // and Ctrl-C drops it
				s.expect("^C\nvirtsh # ")
				s.send("quit\r")
				if code := s.wait(); code != 0 {
					t.Errorf("quit: exit status %d", code)
				}
				want = append(want, "quit")
			} else {
				code := s.exitCode()
				ok := false
				for _, w := range c.statusW {
					ok = ok || code == w
				}
				if !ok {
					t.Errorf("exit status %d, want one of %v", code, c.statusW)
				}
			}

			log, err := os.ReadFile(logf)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(log), `command: ["echo" "ready"]`) {
				t.Errorf("log does not show the entered command:\n%s", log)
			}
			if strings.Contains(string(log), `"suspend"`) {
				t.Errorf("the pending line ran:\n%s", log)
			}
			if got := readHistory(t, cache); strings.Join(got, "|") != strings.Join(want, "|") {
				t.Errorf("history = %q, want %q", got, want)
			}
		})
	}
}

func hangUpMaster(t *testing.T, s *ptySession) {
	if err := s.ptmx.Close(); err != nil {
		t.Fatal(err)
	}
}

func sendSignal(sig syscall.Signal) func(*testing.T, *ptySession) {
	return func(t *testing.T, s *ptySession) {
		if err := s.cmd.Process.Signal(sig); err != nil {
			t.Fatal(err)
		}
	}
}

func typeKeys(k string) func(*testing.T, *ptySession) {
	return func(t *testing.T, s *ptySession) { s.send(k) }
}

// Ctrl-C always leaves an empty line: also when Tab has a listing up, when
// Tab is cycling through it, and in a Ctrl-R search.
func TestREPLCtrlCClearsLineThroughPTY(t *testing.T) {
	cases := []struct {
		name, keys, shown string
	}{
		{"listing", "blockc\t\t", "blockcopy"},
		{"cycling", "blockc\t\t\t", "blockcopy"},
		{"search", "\x12ech", "bck-i-search: ech"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cache := t.TempDir()
			s := startPTY(t, cache, nil, "-q", "-c", "test:///default")
			s.expect("virtsh # ")
			s.send("echo one\r")
			s.expect("\nonevirtsh # ")
			s.send(c.keys)
			s.expect(c.shown)
			s.send("\x03")
			s.expect("^C\nvirtsh # ")
			s.send("echo two\r")
			s.expect("\ntwovirtsh # ")
			if scr := s.screen(); strings.Contains(scr, "unknown command") {
				t.Errorf("Ctrl-C left text in the line:\n%q", scr)
			}
			s.send("quit\r")
			s.wait()
			if got := readHistory(t, cache); strings.Join(got, "|") != "echo one|echo two|quit" {
				t.Errorf("history = %q", got)
			}
		})
	}
}
