package cmd

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
)

// ptySession is virtsh running on a real pseudo-terminal, the way a user
// types at it: keys go in through the master side, everything the program
// draws comes back out of it.
type ptySession struct {
	t    *testing.T
	cmd  *exec.Cmd
	ptmx *os.File

	mu   sync.Mutex
	out  bytes.Buffer
	mark int // expect() searches output after this offset
	done chan struct{}
	err  error // from Wait
	// drained is closed when the reader has read everything the program
	// wrote (EOF on the master once no process holds the terminal):
	// output written just before exit can still be in the pty's buffer
	// when Wait returns.
	drained chan struct{}
}

// startPTY runs the built virtsh with args on a new 24x100 pty. cache is
// XDG_CACHE_HOME (history lives there); extraEnv is appended to the env.
func startPTY(t *testing.T, cache string, extraEnv []string, args ...string) *ptySession {
	t.Helper()
	c := exec.Command(virtshBinary(t), args...)
	home := t.TempDir()
	c.Env = append(os.Environ(), "LC_ALL=C", "TERM=xterm", "HOME="+home, "XDG_CACHE_HOME="+cache,
		"GORACE=atexit_sleep_ms=0")
	c.Env = append(c.Env, extraEnv...)
	c.Dir = home
	ptmx, err := pty.StartWithSize(c, &pty.Winsize{Rows: 24, Cols: 100})
	if err != nil {
		t.Fatalf("starting virtsh on a pty: %v", err)
	}
	return watchPTY(t, c, ptmx)
}

// watchPTY follows virtsh c started on the pty master ptmx: a reader keeps
// what it prints, a waiter records how it ended, and the test's cleanup kills
// it if it is still running.
func watchPTY(t *testing.T, c *exec.Cmd, ptmx *os.File) *ptySession {
	s := &ptySession{t: t, cmd: c, ptmx: ptmx, done: make(chan struct{}), drained: make(chan struct{})}
	go func() {
		defer close(s.drained)
		buf := make([]byte, 4096)
		for {
			n, err := ptmx.Read(buf)
			s.mu.Lock()
			s.out.Write(buf[:n])
			s.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	go func() {
		s.err = c.Wait()
		close(s.done)
	}()
	t.Cleanup(func() {
		select {
		case <-s.done:
		default:
			_ = c.Process.Kill()
			<-s.done
		}
		_ = ptmx.Close()
	})
	return s
}

var ansiRE = regexp.MustCompile(`\x1b\[[0-9;?]*[A-Za-z]|\r`)

// screen is the output so far with cursor movements and carriage returns
// removed, which is what the assertions compare against.
func (s *ptySession) screen() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return ansiRE.ReplaceAllString(s.out.String(), "")
}

// expect waits until want appears in the output after the last match.
func (s *ptySession) expect(want string) {
	s.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		scr := s.screen()
		if s.mark <= len(scr) {
			if i := strings.Index(scr[s.mark:], want); i >= 0 {
				s.mark += i + len(want)
				return
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	s.t.Fatalf("timed out waiting for %q; output after last match:\n%q", want, s.screen()[min(s.mark, len(s.screen())):])
}

func (s *ptySession) send(keys string) {
	s.t.Helper()
	if _, err := s.ptmx.Write([]byte(keys)); err != nil {
		s.t.Fatalf("writing to pty: %v", err)
	}
}

// wait waits for virtsh to exit and returns its exit status.
func (s *ptySession) wait() int {
	s.t.Helper()
	select {
	case <-s.done:
	case <-time.After(15 * time.Second):
		s.t.Fatalf("virtsh did not exit; output:\n%q", s.screen())
	}
	select {
	case <-s.drained:
	case <-time.After(2 * time.Second): // a child of virtsh still holds the terminal
	}
	var ee *exec.ExitError
	if errors.As(s.err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			s.t.Fatalf("virtsh died of %v; output:\n%q", ws.Signal(), s.screen())
		}
		return ee.ExitCode()
	}
	if s.err != nil {
		s.t.Fatalf("waiting for virtsh: %v", s.err)
	}
	return 0
}

// leave types keys that end the shell (quit, exit, Ctrl-D) and fails the
// test unless virtsh exits with status 0 and leaves the terminal in cooked
// mode.
func (s *ptySession) leave(keys string) {
	s.t.Helper()
	s.send(keys)
	if code := s.wait(); code != 0 {
		s.t.Errorf("after %q: exit status %d, want 0; output:\n%q", keys, code, s.screen())
	}
	s.cooked()
}

// alive fails the test if virtsh has exited.
func (s *ptySession) alive() {
	s.t.Helper()
	select {
	case <-s.done:
		s.t.Fatalf("virtsh exited (%v); output:\n%q", s.err, s.screen())
	default:
	}
}

// cooked asserts the terminal is back in cooked mode with echo, as the shell
// found it (readline's raw mode undone).
func (s *ptySession) cooked() {
	s.t.Helper()
	tio, err := unix.IoctlGetTermios(int(s.ptmx.Fd()), unix.TCGETS)
	if err != nil {
		s.t.Fatalf("reading terminal mode: %v", err)
	}
	if tio.Lflag&unix.ICANON == 0 || tio.Lflag&unix.ECHO == 0 || tio.Lflag&unix.ISIG == 0 {
		s.t.Errorf("terminal left in raw mode: lflag=%#x", tio.Lflag)
	}
}

func readHistory(t *testing.T, cache string) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(cache, "virtsh", "history"))
	if err != nil {
		t.Fatalf("reading history: %v", err)
	}
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
}

const ptyBanner = "Welcome to virtsh, the virtualization interactive terminal.\n\n" +
	"Type:  'help' for help with commands\n" +
	"       'quit' to quit\n\n"

func TestREPLSessionThroughPTY(t *testing.T) {
	cache := t.TempDir()
	s := startPTY(t, cache, nil, "-c", "test:///default")
	s.expect(ptyBanner + "virtsh # ")

	// virsh's quoting: the double-quoted blanks stay, the ';' inside single
	// quotes does not split, the unquoted one does. echo prints no newline
	// of its own; the line after each command (no -q) ends it, as in virsh.
	s.send(`echo "a  b" 'c;d'; echo --shell "x y"` + "\r")
	s.expect("\na  b c;d\n'x y'\nvirtsh # ")

	// An unknown command is an error line, and the shell lives on.
	s.send("frob\r")
	s.expect("error: unknown command: 'frob'\nvirtsh # ")
	s.alive()

	// cd works only in the REPL; pwd shows where it went.
	dir := t.TempDir()
	s.send("cd " + dir + "\r")
	s.expect("virtsh # ")
	s.send("pwd\r")
	s.expect(dir + "\n\nvirtsh # ")
	s.send("cd /nonexistent-vt\r")
	s.expect("error: cd: No such file or directory: /nonexistent-vt\n")

	s.send("uri\r")
	s.expect("test:///default\n\nvirtsh # ")
	s.leave("quit\r")

	// Every line typed is in the history file, in order, quit included
	// (virsh's history keeps it too); the file is private.
	want := []string{`echo "a  b" 'c;d'; echo --shell "x y"`, "frob", "cd " + dir, "pwd", "cd /nonexistent-vt", "uri", "quit"}
	if got := readHistory(t, cache); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("history = %q, want %q", got, want)
	}
	fi, err := os.Stat(filepath.Join(cache, "virtsh", "history"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("history file mode = %v (%v), want 0600", fi.Mode().Perm(), err)
	}
	di, err := os.Stat(filepath.Join(cache, "virtsh"))
	if err != nil || di.Mode().Perm() != 0o755 {
		t.Errorf("history dir mode = %v (%v), want 0755", di.Mode().Perm(), err)
	}

	// History is read back by the next session: Up recalls the last line.
	s2 := startPTY(t, cache, nil, "-q", "-c", "test:///default")
	s2.expect("virtsh # ")
	s2.send("echo second\r")
	s2.expect("\nsecondvirtsh # ")
	s2.send("\x1b[A\x1b[A\r") // Up twice: "quit" from the first session is one back
	s2.wait()
	if got := readHistory(t, cache); got[len(got)-1] != "quit" || got[len(got)-2] != "echo second" {
		t.Errorf("history after second session ends with %q", got[max(0, len(got)-3):])
	}
}

func TestREPLCtrlCThroughPTY(t *testing.T) {
	cache := t.TempDir()
	s := startPTY(t, cache, nil, "-q", "-c", "test:///default")
	s.expect("virtsh # ")

	// Ctrl-C at an empty prompt: virsh dies here; virtsh shows a new prompt.
	s.send("\x03")
	s.expect("^C\nvirtsh # ")
	s.alive()

	// Ctrl-C while typing drops the half-typed line.
	s.send("echo typed-then-cancelled")
	s.expect("typed-then-cancelled")
	s.send("\x03")
	s.expect("^C\nvirtsh # ")
	s.send("echo after\r")
	s.expect("echo after\naftervirtsh # ")
	if strings.Contains(s.screen(), "typed-then-cancelledecho") {
		t.Errorf("cancelled text stayed in the line:\n%q", s.screen())
	}

	// Ctrl-D leaves with status 0, a newline, the terminal restored.
	s.leave("\x04")
	if got := readHistory(t, cache); strings.Join(got, "|") != "echo after" {
		t.Errorf("history = %q, want only the line that ran", got)
	}
}

func TestREPLReadOnlyPromptThroughPTY(t *testing.T) {
	s := startPTY(t, t.TempDir(), nil, "-r", "-c", "test:///default")
	s.expect(ptyBanner + "virtsh > ")
	// connect to a named URI without --readonly is read-write again, as virsh.
	s.send("connect test:///default\r")
	s.expect("virtsh # ")
	s.send("connect --readonly\r")
	s.expect("virtsh > ")
	s.leave("exit\r")
}

func TestREPLSignalsThroughPTY(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGHUP} {
		t.Run(sig.String(), func(t *testing.T) {
			cache := t.TempDir()
			s := startPTY(t, cache, nil, "-q", "-c", "test:///default")
			s.expect("virtsh # ")
			s.send("echo before-signal\r")
			s.expect("\nbefore-signalvirtsh # ")
			// A half-typed line, then the signal at the prompt.
			s.send("echo half")
			s.expect("half")
			if err := s.cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			if code := s.wait(); code != 128+int(sig) {
				t.Errorf("exit status %d, want %d", code, 128+int(sig))
			}
			s.cooked()
			if got := readHistory(t, cache); strings.Join(got, "|") != "echo before-signal" {
				t.Errorf("history = %q", got)
			}
		})
	}
}

func TestREPLHistSize(t *testing.T) {
	cases := []struct {
		val, msg string
		kept     bool
	}{
		{"abc", "error: Bad $VIRTSH_HISTSIZE value.\n", false},
		{"500001", "error: $VIRTSH_HISTSIZE value should be between 0 and 500000\n", false},
		{"-1", "error: $VIRTSH_HISTSIZE value should be between 0 and 500000\n", false},
		{"0", "", false},
		{"2", "", true},
	}
	for _, c := range cases {
		t.Run(c.val, func(t *testing.T) {
			cache := t.TempDir()
			s := startPTY(t, cache, []string{"VIRTSH_HISTSIZE=" + c.val}, "-q", "-c", "test:///default")
			s.expect(c.msg + "virtsh # ")
			for _, w := range []string{"one", "two", "three"} {
				s.send("echo " + w + "\r")
				s.expect("\n" + w + "virtsh # ")
			}
			s.send("\x04")
			s.wait()
			_, err := os.Stat(filepath.Join(cache, "virtsh", "history"))
			if !c.kept {
				if err == nil {
					t.Errorf("history written with VIRTSH_HISTSIZE=%s", c.val)
				}
				return
			}
			// Two kept: the file holds only the last lines while the
			// session writes it, the last one last.
			got := readHistory(t, cache)
			if got[len(got)-1] != "echo three" {
				t.Errorf("history = %q", got)
			}
			s2 := startPTY(t, cache, []string{"VIRTSH_HISTSIZE=" + c.val}, "-q", "-c", "test:///default")
			s2.expect("virtsh # ")
			s2.send("\x04")
			s2.wait()
			if got := readHistory(t, cache); strings.Join(got, "|") != "echo two|echo three" {
				t.Errorf("history after reload = %q, want the last 2 lines", got)
			}
		})
	}
}

// Under a pty the banner goes away with -q and the REPL ends at EOF even
// when stdout is not the terminal (for example piped to a pager).
func TestREPLQuietNoBanner(t *testing.T) {
	s := startPTY(t, t.TempDir(), nil, "-q", "-c", "test:///default")
	s.expect("virtsh # ")
	if strings.Contains(s.screen(), "Welcome") {
		t.Errorf("banner printed under -q: %q", s.screen())
	}
	s.send("quit\r")
	s.wait()
	_ = io.Discard
}
