package shell

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// HistoryPath is $XDG_CACHE_HOME/virtsh/history (~/.cache/virtsh/history).
func HistoryPath() string {
	dir := os.Getenv("XDG_CACHE_HOME")
	if dir == "" {
		home, _ := os.UserHomeDir()
		dir = filepath.Join(home, ".cache")
	}
	return filepath.Join(dir, "virtsh", "history")
}

// HistorySize reads VIRTSH_HISTSIZE: default 500, 0..500000, parsed as
// virsh parses VIRSH_HISTSIZE (leading blanks and a sign allowed). A bad value
// is reported with virsh's words and no history is kept, as virsh does.
func HistorySize() (int, error) {
	v, ok := os.LookupEnv("VIRTSH_HISTSIZE")
	if !ok {
		return 500, nil
	}
	n, err := strconv.Atoi(strings.TrimPrefix(strings.TrimLeft(v, " \t\n\v\f\r"), "+"))
	if err != nil {
		//lint:ignore ST1005 virsh's exact words
		return -1, errors.New("Bad $VIRTSH_HISTSIZE value.")
	}
	if n < 0 || n > 500000 {
		return -1, errors.New("$VIRTSH_HISTSIZE value should be between 0 and 500000")
	}
	return n, nil
}

// History is the REPL's history file, one entered line per line.
//
// The file is the user's own: it is opened without following a symlink and
// used only if it is a regular file with one link, owned by the user, and
// it is kept 0600 (an existing file is tightened). Anything else is refused
// with one error line, and the session goes on with history in memory only.
//
// Each line is appended as it is entered, so history survives every way
// out. The file never holds more than limit+slack(limit) lines: the append
// that would pass that rewrites it to its last limit lines instead, through
// a 0600 temporary file in the same directory renamed over it, so a reader
// or a crash sees the old file or the new one, never a part.
//
// Several sessions may share the file. Each append holds an flock on it,
// checks that the path still names the file it has open (another session's
// rewrite replaces it) and recounts the lines when the size is not what this
// session last saw, so the bound holds for all of them together and no
// session appends to a file that has been renamed away.
type History struct {
	path  string
	limit int
	errw  io.Writer

	f      *os.File // nil once the file is given up
	size   int64    // the file's size when this session last looked
	lines  int      // and its line count then (a last line without '\n' counts)
	partNL bool     // the file does not end with '\n'
	last   string   // the newest entry, for the no-repeat rule
	warned bool
}

// historySlack is how far past limit the file may grow before it is cut
// back: a tenth, at most 1000, so a rewrite (which reads and writes the whole
// file and syncs it) happens once per limit/10 lines rather than on every
// line, and small limits are exact.
func historySlack(limit int) int { return min(limit/10, 1000) }

// OpenHistory opens (creating) the history file at path for a history of
// limit lines and returns it with its last limit entries, oldest first, for
// the line editor. The directory is made 0755 if missing. Problems are
// reported on errw once; the History returned is then a no-op.
func OpenHistory(path string, limit int, errw io.Writer) (*History, []string) {
	h := &History{path: path, limit: limit, errw: errw}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		h.fail(fmt.Sprintf("error: Failed to create '%s': %v", filepath.Dir(path), unwrapPath(err)))
		return h, nil
	}
	f, err := openHistoryFile(path)
	if err != nil {
		h.fail(openFailure(path, err))
		return h, nil
	}
	h.f = f
	if err := h.lock(); err != nil {
		h.fail(openFailure(path, err))
		return h, nil
	}
	defer h.unlock()
	all, err := h.recount()
	if err != nil {
		h.fail(fmt.Sprintf("error: Failed to read history file '%s': %v", path, unwrapPath(err)))
		return h, nil
	}
	kept := lastEntries(all, limit)
	if h.lines > limit {
		// Left long by an older virtsh or another tool: start bounded.
		if err := h.rewrite(kept); err != nil {
			h.fail(fmt.Sprintf("error: Failed to write history file '%s': %v", path, unwrapPath(err)))
		}
	}
	entries := make([]string, 0, len(kept))
	for _, l := range kept {
		entries = append(entries, strings.TrimSpace(l))
	}
	if len(entries) > 0 {
		h.last = entries[len(entries)-1]
	}
	return h, entries
}

// Add records an entered line. A blank line is not recorded (loading skips
// blank lines anyway), nor the same line as the entry before it (readline's
// rule for its list, which the file followed when readline wrote it).
func (h *History) Add(line string) {
	if h == nil || strings.TrimSpace(line) == "" || line == h.last {
		return
	}
	h.last = line
	if h.f == nil {
		return
	}
	if err := h.lock(); err != nil {
		h.fail(openFailure(h.path, err))
		return
	}
	defer h.unlock()
	if err := h.add(line); err != nil {
		h.fail(fmt.Sprintf("error: Failed to write history file '%s': %v", h.path, unwrapPath(err)))
	}
}

func (h *History) add(line string) error {
	fi, err := h.f.Stat()
	if err != nil {
		return err
	}
	var all []string
	if fi.Size() != h.size {
		// Another session wrote since this one looked.
		if all, err = h.recount(); err != nil {
			return err
		}
	}
	if h.lines+1 > h.limit+historySlack(h.limit) {
		if all == nil {
			if all, err = h.recount(); err != nil {
				return err
			}
		}
		return h.rewrite(lastEntries(append(all, line), h.limit))
	}
	rec := line + "\n"
	if h.partNL {
		rec = "\n" + rec // after a torn last line, start a line of our own
	}
	n, err := h.f.WriteString(rec)
	h.size += int64(n)
	if err != nil {
		h.size = -1 // unknown: recount next time
		return err
	}
	h.lines++
	h.partNL = false
	return nil
}

// Close closes the file.
func (h *History) Close() error {
	if h == nil || h.f == nil {
		return nil
	}
	err := h.f.Close()
	h.f = nil
	return err
}

// fail reports a problem once and gives the file up for the session.
func (h *History) fail(msg string) {
	if h.f != nil {
		_ = h.f.Close()
		h.f = nil
	}
	if !h.warned {
		h.warned = true
		fmt.Fprintln(h.errw, msg)
	}
}

// recount reads the whole file: its lines (without '\n'), size, count and
// whether it ends mid-line.
func (h *History) recount() ([]string, error) {
	fi, err := h.f.Stat()
	if err != nil {
		return nil, err
	}
	r := bufio.NewReader(io.NewSectionReader(h.f, 0, fi.Size()))
	var all []string
	h.partNL = false
	for {
		l, err := r.ReadString('\n')
		if l != "" {
			h.partNL = !strings.HasSuffix(l, "\n")
			all = append(all, strings.TrimSuffix(l, "\n"))
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
	}
	h.size, h.lines = fi.Size(), len(all)
	return all, nil
}

// rewrite replaces the file with entries: written to a 0600 temporary file
// in the same directory, synced, and renamed over the path. The caller holds
// the lock on the old file, so a session waiting for it finds the path
// renamed when it gets it and reopens.
func (h *History) rewrite(entries []string) error {
	dir := filepath.Dir(h.path)
	tmp, err := os.CreateTemp(dir, ".history-*")
	if err != nil {
		return err
	}
	ok := false
	defer func() {
		if !ok {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	// CreateTemp asks for 0600 but the umask may take more away; fchmod
	// does not consult it.
	if err := tmp.Chmod(0o600); err != nil {
		return err
	}
	w := bufio.NewWriter(tmp)
	for _, e := range entries {
		_, _ = w.WriteString(e)
		_ = w.WriteByte('\n')
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), h.path); err != nil {
		return err
	}
	ok = true
	_ = tmp.Close()
	// Carry on with the new file, opened the checked way like the first.
	nf, err := openHistoryFile(h.path)
	if err != nil {
		return err
	}
	_ = h.f.Close() // releases the lock on the old one
	h.f = nf
	_, err = h.recount()
	return err
}

// lock takes the flock on the open file and makes sure the path still names
// it, reopening when it does not (another session rewrote it, or the user
// removed it). On a file system without flock the file is used unlocked.
func (h *History) lock() error {
	for tries := 0; ; tries++ {
		_ = h.flock(unix.LOCK_EX)
		same, err := h.pathIsOpenFile()
		if err != nil || same {
			return err
		}
		if tries == 3 {
			return refusal("it keeps being replaced")
		}
		nf, err := openHistoryFile(h.path)
		if err != nil {
			return err
		}
		_ = h.f.Close() // and with it the lock on the file that was replaced
		h.f, h.size = nf, -1
	}
}

func (h *History) unlock() {
	if h.f != nil {
		_ = h.flock(unix.LOCK_UN)
	}
}

func (h *History) flock(how int) error {
	rc, err := h.f.SyscallConn()
	if err != nil {
		return err
	}
	var ferr error
	if err := rc.Control(func(fd uintptr) {
		for {
			ferr = unix.Flock(int(fd), how)
			if ferr != unix.EINTR {
				return
			}
		}
	}); err != nil {
		return err
	}
	return ferr
}

// pathIsOpenFile reports whether the path names the file h.f has open. A
// missing path is not an error: the caller reopens, creating it.
func (h *History) pathIsOpenFile() (bool, error) {
	open, err := h.f.Stat()
	if err != nil {
		return false, err
	}
	named, err := os.Lstat(h.path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return os.SameFile(open, named), nil
}

// refusal is why a history file is not used; it becomes the end of the
// error line.
type refusal string

func (r refusal) Error() string { return string(r) }

// openHistoryFile opens path for reading and appending, creating it 0600,
// and checks what it got. O_NOFOLLOW refuses a symlink at the path itself;
// O_NONBLOCK keeps a FIFO planted there from blocking the open (and does
// nothing to a regular file); O_NOCTTY keeps a terminal device from becoming
// ours. What is opened must be a regular file with one link, owned by the
// user; its mode is brought to 0600.
func openHistoryFile(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_APPEND|os.O_CREATE|
		syscall.O_NOFOLLOW|syscall.O_NONBLOCK|syscall.O_NOCTTY, 0o600)
	if err != nil {
		if fi, lerr := os.Lstat(path); lerr == nil {
			if fi.Mode()&fs.ModeSymlink != 0 {
				return nil, refusal("it is a symbolic link")
			}
			if !fi.Mode().IsRegular() {
				return nil, refusal("it is not a regular file")
			}
		}
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return nil, err
	}
	st, _ := fi.Sys().(*syscall.Stat_t)
	switch {
	case !fi.Mode().IsRegular():
		err = refusal("it is not a regular file")
	case st == nil:
		err = refusal("its owner cannot be checked")
	case int(st.Uid) != os.Geteuid():
		err = refusal(fmt.Sprintf("it is owned by uid %d, not by uid %d", st.Uid, os.Geteuid()))
	case st.Nlink != 1:
		err = refusal(fmt.Sprintf("it has %d hard links", st.Nlink))
	case fi.Mode().Perm() != 0o600:
		err = f.Chmod(0o600)
	}
	if err != nil {
		_ = f.Close()
		return nil, err
	}
	return f, nil
}

func openFailure(path string, err error) string {
	return fmt.Sprintf("error: Failed to open history file '%s': %v", path, unwrapPath(err))
}

// unwrapPath drops the *PathError's "open /path:" prefix: the message
// names the path already.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	var le *os.LinkError
	if errors.As(err, &le) {
		return le.Err
	}
	return err
}

// lastEntries is the last n non-blank lines of all, oldest first.
func lastEntries(all []string, n int) []string {
	var kept []string
	for i := len(all) - 1; i >= 0 && len(kept) < n; i-- {
		if strings.TrimSpace(all[i]) != "" {
			kept = append(kept, all[i])
		}
	}
	for i, j := 0, len(kept)-1; i < j; i, j = i+1, j-1 {
		kept[i], kept[j] = kept[j], kept[i]
	}
	return kept
}
