package cmd

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The history file holds at most VIRTSH_HISTSIZE lines while the session
// writes it (5 has no slack), and an existing 0644 file is made 0600.
func TestREPLHistoryBoundThroughPTY(t *testing.T) {
	cache := t.TempDir()
	path := filepath.Join(cache, "virtsh", "history")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("old 1\nold 2\nold 3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s := startPTY(t, cache, []string{"VIRTSH_HISTSIZE=5"}, "-q", "-c", "test:///default")
	s.expect("virtsh # ")
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("history file mode at start: %v (%v), want 0600", fi.Mode().Perm(), err)
	}
	for i := 1; i <= 20; i++ {
		s.send(fmt.Sprintf("echo %d\r", i))
		s.expect(fmt.Sprintf("\n%dvirtsh # ", i))
		got := readHistory(t, cache)
		if len(got) > 5 || got[len(got)-1] != fmt.Sprintf("echo %d", i) {
			t.Fatalf("after %d commands the history file is %q", i, got)
		}
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("history file mode after trims: %v (%v), want 0600", fi.Mode().Perm(), err)
	}
	s.send("quit\r")
	s.wait()
	if got := strings.Join(readHistory(t, cache), "|"); got != "echo 17|echo 18|echo 19|echo 20|quit" {
		t.Errorf("history = %q", got)
	}
}

// A symlink at the history path is refused with one error line: the shell
// works, Up recalls this session's lines, and the symlink and its target
// are left as they were.
func TestREPLHistorySymlinkRefusedThroughPTY(t *testing.T) {
	cache := t.TempDir()
	path := filepath.Join(cache, "virtsh", "history")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(t.TempDir(), "notes")
	if err := os.WriteFile(target, []byte("keep\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, path); err != nil {
		t.Fatal(err)
	}
	s := startPTY(t, cache, nil, "-q", "-c", "test:///default")
	msg := "error: Failed to open history file '" + path + "': it is a symbolic link\n"
	s.expect(msg + "virtsh # ")
	s.send("echo one\r")
	s.expect("\nonevirtsh # ")
	s.send("echo two\r")
	s.expect("\ntwovirtsh # ")
	s.send("\x1b[A\r") // Up: "echo two" again
	s.expect("\ntwovirtsh # ")
	s.send("quit\r")
	if code := s.wait(); code != 0 {
		t.Errorf("quit: exit status %d", code)
	}
	if n := strings.Count(s.screen(), "Failed to open history file"); n != 1 {
		t.Errorf("the refusal was said %d times:\n%q", n, s.screen())
	}
	if b, _ := os.ReadFile(target); string(b) != "keep\n" {
		t.Errorf("symlink target now %q", b)
	}
	if fi, err := os.Stat(target); err != nil || fi.Mode().Perm() != 0o644 {
		t.Errorf("symlink target mode now %v (%v)", fi.Mode().Perm(), err)
	}
	if fi, err := os.Lstat(path); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the symlink was replaced: %v (%v)", fi.Mode(), err)
	}
}
