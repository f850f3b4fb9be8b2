package shell

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func histFile(t *testing.T) string {
	t.Helper()
	return filepath.Join(t.TempDir(), "virtsh", "history")
}

func fileLines(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) == 0 {
		return nil
	}
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
}

func perm(t *testing.T, path string) os.FileMode {
	t.Helper()
	fi, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode()
}

func TestHistoryAppendsAndReloads(t *testing.T) {
	path := histFile(t)
	var errb bytes.Buffer
	h, entries := OpenHistory(path, 500, &errb)
	if len(entries) != 0 {
		t.Errorf("new file: entries %q", entries)
	}
	for _, l := range []string{"list", "list", "", "   ", "dominfo a", "list"} {
		h.Add(l)
	}
	// Blank lines and a repeat of the line before are not kept (readline's
	// rule); a repeat further back is.
	if got, want := strings.Join(fileLines(t, path), "|"), "list|dominfo a|list"; got != want {
		t.Errorf("file = %q, want %q", got, want)
	}
	_ = h.Close()
	if errb.Len() != 0 {
		t.Errorf("stderr: %q", errb.String())
	}
	if m := perm(t, path); m != 0o600 {
		t.Errorf("file mode %v, want 0600", m)
	}
	if m := perm(t, filepath.Dir(path)); m.Perm() != 0o755 {
		t.Errorf("dir mode %v, want 0755", m)
	}

	h, entries = OpenHistory(path, 500, &errb)
	defer h.Close()
	if got := strings.Join(entries, "|"); got != "list|dominfo a|list" {
		t.Errorf("reloaded entries %q", got)
	}
	h.Add("list") // the same as the last entry loaded
	if n := len(fileLines(t, path)); n != 3 {
		t.Errorf("repeat of the last loaded entry was written: %d lines", n)
	}
}

// The file is bounded while it is written, not only at the next start: at
// most limit+slack lines after any Add, the newest last.
func TestHistoryBoundedAsWritten(t *testing.T) {
	for _, limit := range []int{1, 2, 5, 100} {
		t.Run(fmt.Sprint(limit), func(t *testing.T) {
			path := histFile(t)
			h, _ := OpenHistory(path, limit, os.Stderr)
			defer h.Close()
			bound := limit + historySlack(limit)
			for i := 1; i <= 5*limit+7; i++ {
				h.Add(fmt.Sprintf("echo %d", i))
				lines := fileLines(t, path)
				if len(lines) > bound {
					t.Fatalf("after %d adds the file has %d lines, bound %d", i, len(lines), bound)
				}
				if lines[len(lines)-1] != fmt.Sprintf("echo %d", i) {
					t.Fatalf("after %d adds the file ends %q", i, lines[len(lines)-1])
				}
				if m := perm(t, path); m != 0o600 {
					t.Fatalf("after %d adds the file mode is %v", i, m)
				}
			}
			// No temporary files left beside it.
			if ents, _ := os.ReadDir(filepath.Dir(path)); len(ents) != 1 {
				t.Errorf("directory holds %d entries, want only history", len(ents))
			}
			_, entries := OpenHistory(path, limit, os.Stderr)
			if len(entries) != limit || entries[limit-1] != fmt.Sprintf("echo %d", 5*limit+7) {
				t.Errorf("reloaded %d entries ending %q", len(entries), entries[len(entries)-1])
			}
		})
	}
	if historySlack(5) != 0 || historySlack(100) != 10 || historySlack(500000) != 1000 {
		t.Errorf("slack: %d %d %d", historySlack(5), historySlack(100), historySlack(500000))
	}
}

// A file left longer than the limit (an older virtsh let it grow) is cut to
// its last lines at start, into a 0600 file, even under a umask that would
// take the owner's bits away.
func TestHistoryTrimmedAtStartPrivate(t *testing.T) {
	path := histFile(t)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for i := 1; i <= 50; i++ {
		fmt.Fprintf(&b, "echo %d\n", i)
		if i%10 == 0 {
			b.WriteString("\n") // blank lines are not entries
		}
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	old := syscall.Umask(0o277)
	defer syscall.Umask(old)
	h, entries := OpenHistory(path, 3, os.Stderr)
	defer h.Close()
	if got := strings.Join(entries, "|"); got != "echo 48|echo 49|echo 50" {
		t.Errorf("entries %q", got)
	}
	if got := strings.Join(fileLines(t, path), "|"); got != "echo 48|echo 49|echo 50" {
		t.Errorf("file %q", got)
	}
	if m := perm(t, path); m != 0o600 {
		t.Errorf("trimmed file mode %v, want 0600", m)
	}
	h.Add("echo 51")
	if m := perm(t, path); m != 0o600 {
		t.Errorf("file mode after a trim under umask 0277: %v", m)
	}
}

// An existing 0644 file is tightened to 0600 when opened, also when it is
// short enough to need no trim.
func TestHistoryTightensExistingFile(t *testing.T) {
	path := histFile(t)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("uri\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	h, entries := OpenHistory(path, 500, os.Stderr)
	defer h.Close()
	if m := perm(t, path); m != 0o600 {
		t.Errorf("mode %v, want 0600", m)
	}
	if strings.Join(entries, "|") != "uri" {
		t.Errorf("entries %q", entries)
	}
}

// What is at the path and is not the user's own regular file is refused
// with one error line; the target of a symlink is neither written nor
// replaced, and the History goes on as a no-op.
func TestHistoryRefuses(t *testing.T) {
	type setup func(t *testing.T, path string) (check func(t *testing.T))
	cases := []struct {
		name, reason string
		setup        setup
	}{
		{"symlink", "it is a symbolic link", func(t *testing.T, path string) func(*testing.T) {
			target := filepath.Join(t.TempDir(), "elsewhere")
			if err := os.WriteFile(target, []byte("keep\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(target, path); err != nil {
				t.Fatal(err)
			}
			return func(t *testing.T) {
				if b, _ := os.ReadFile(target); string(b) != "keep\n" {
					t.Errorf("symlink target now %q", b)
				}
				if m := perm(t, target); m != 0o644 {
					t.Errorf("symlink target mode now %v", m)
				}
				if m := perm(t, path); m&os.ModeSymlink == 0 {
					t.Errorf("symlink replaced: mode %v", m)
				}
			}
		}},
		{"dangling symlink", "it is a symbolic link", func(t *testing.T, path string) func(*testing.T) {
			target := filepath.Join(t.TempDir(), "not-yet")
			if err := os.Symlink(target, path); err != nil {
				t.Fatal(err)
			}
			return func(t *testing.T) {
				if _, err := os.Lstat(target); err == nil {
					t.Errorf("symlink target created")
				}
			}
		}},
		{"directory", "it is not a regular file", func(t *testing.T, path string) func(*testing.T) {
			if err := os.Mkdir(path, 0o700); err != nil {
				t.Fatal(err)
			}
			return func(*testing.T) {}
		}},
		{"fifo", "it is not a regular file", func(t *testing.T, path string) func(*testing.T) {
			if err := syscall.Mkfifo(path, 0o600); err != nil {
				t.Fatal(err)
			}
			return func(*testing.T) {}
		}},
		{"hard link", "it has 2 hard links", func(t *testing.T, path string) func(*testing.T) {
			other := filepath.Join(filepath.Dir(path), "other")
			if err := os.WriteFile(other, []byte("keep\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Link(other, path); err != nil {
				t.Fatal(err)
			}
			return func(t *testing.T) {
				if b, _ := os.ReadFile(other); string(b) != "keep\n" {
					t.Errorf("linked file now %q", b)
				}
			}
		}},
	}
	if os.Geteuid() == 0 {
		cases = append(cases, struct {
			name, reason string
			setup        setup
		}{"other owner", "it is owned by uid 65534, not by uid 0", func(t *testing.T, path string) func(*testing.T) {
			if err := os.WriteFile(path, []byte("keep\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Chown(path, 65534, 65534); err != nil {
				t.Fatal(err)
			}
			return func(t *testing.T) {
				if b, _ := os.ReadFile(path); string(b) != "keep\n" {
					t.Errorf("file now %q", b)
				}
				if m := perm(t, path); m != 0o644 {
					t.Errorf("another user's file mode changed to %v", m)
				}
			}
		}})
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := histFile(t)
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			check := c.setup(t, path)
			var errb bytes.Buffer
			h, entries := OpenHistory(path, 500, &errb)
			if len(entries) != 0 {
				t.Errorf("entries %q", entries)
			}
			h.Add("echo one")
			h.Add("echo two")
			_ = h.Close()
			want := "error: Failed to open history file '" + path + "': " + c.reason + "\n"
			if errb.String() != want {
				t.Errorf("stderr = %q, want %q", errb.String(), want)
			}
			check(t)
		})
	}
}

// Two sessions on one file: the bound holds for the two together and no
// line is lost to the other's rewrite (which renames a new file over the
// one the first has open).
func TestHistorySharedBySessions(t *testing.T) {
	path := histFile(t)
	const limit = 20
	a, _ := OpenHistory(path, limit, os.Stderr)
	defer a.Close()
	b, _ := OpenHistory(path, limit, os.Stderr)
	defer b.Close()
	var want []string
	for i := 1; i <= 200; i++ {
		h, who := a, "a"
		if i%3 == 0 {
			h, who = b, "b"
		}
		line := fmt.Sprintf("echo %s%d", who, i)
		h.Add(line)
		want = append(want, line)
		got := fileLines(t, path)
		if len(got) > limit+historySlack(limit) {
			t.Fatalf("after %d adds: %d lines", i, len(got))
		}
		if tail := want[len(want)-min(len(want), len(got)):]; strings.Join(got, "|") != strings.Join(tail, "|") {
			t.Fatalf("after %d adds the file is\n%q\nwant the last lines of\n%q", i, got, tail)
		}
	}
}

// Removed while a session runs: the next line makes a new file. Replaced by
// a symlink: refused, once, and the target is left alone.
func TestHistoryPathChangesUnderSession(t *testing.T) {
	path := histFile(t)
	var errb bytes.Buffer
	h, _ := OpenHistory(path, 500, &errb)
	defer h.Close()
	h.Add("echo one")
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	h.Add("echo two")
	if got := strings.Join(fileLines(t, path), "|"); got != "echo two" {
		t.Errorf("after removal the file is %q", got)
	}
	if m := perm(t, path); m != 0o600 {
		t.Errorf("recreated with mode %v", m)
	}

	target := filepath.Join(t.TempDir(), "elsewhere")
	if err := os.WriteFile(target, []byte("keep\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, path); err != nil {
		t.Fatal(err)
	}
	h.Add("echo three")
	h.Add("echo four")
	if b, _ := os.ReadFile(target); string(b) != "keep\n" {
		t.Errorf("symlink target now %q", b)
	}
	want := "error: Failed to open history file '" + path + "': it is a symbolic link\n"
	if errb.String() != want {
		t.Errorf("stderr = %q, want %q", errb.String(), want)
	}
}

// A last line cut short (a crash mid-write, another program) stays a line
// of its own: the next entry starts on a new line.
func TestHistoryTornLastLine(t *testing.T) {
	path := histFile(t)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("list\ndomst"), 0o600); err != nil {
		t.Fatal(err)
	}
	h, entries := OpenHistory(path, 500, os.Stderr)
	defer h.Close()
	if strings.Join(entries, "|") != "list|domst" {
		t.Errorf("entries %q", entries)
	}
	h.Add("uri")
	if b, _ := os.ReadFile(path); string(b) != "list\ndomst\nuri\n" {
		t.Errorf("file %q", b)
	}
}

func TestHistoryNilAndDisabledAreNoOps(t *testing.T) {
	var h *History
	h.Add("x")
	if err := h.Close(); err != nil {
		t.Error(err)
	}
	// The directory cannot be made: one error, then nothing.
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	var errb bytes.Buffer
	h, _ = OpenHistory(filepath.Join(file, "virtsh", "history"), 10, &errb)
	h.Add("x")
	if !strings.HasPrefix(errb.String(), "error: Failed to create '"+filepath.Join(file, "virtsh")+"': ") ||
		strings.Count(errb.String(), "\n") != 1 {
		t.Errorf("stderr = %q", errb.String())
	}
}
