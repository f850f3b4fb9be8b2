package cmd

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/virtsh/virtsh/shell"
)

// The edit flow every *-edit command shares: virsh's virsh-edit.c, which each
// of its edit commands includes with its own macros, and the vshEdit*
// helpers of vsh.c.

// xmlEdit is what one *-edit command brings to editXML: virsh-edit.c's
// macros.
type xmlEdit struct {
	// get is EDIT_GET_XML: the document to edit. It is read again before
	// defining, to see whether someone changed the object meanwhile.
	get func() (string, error)
	// define is EDIT_DEFINE: define (or redefine) the object from the
	// edited document.
	define func(doc string) error
	// relax is EDIT_RELAX: turn validation off for the next define, the
	// "i" answer. Nil where the command has no such choice.
	relax func()
	// unchanged is EDIT_NOT_CHANGED's message, printed unless -q.
	unchanged string
	// defineUnchanged is an EDIT_NOT_CHANGED that goes on to define: what
	// snapshot-edit --current does, whose define also changes the current
	// snapshot.
	defineUnchanged bool
	// done runs after a successful define: what the command prints then,
	// and any check of what was defined (checkpoint-edit refuses a rename).
	done func() error
}

// editXML is virsh-edit.c: write the document to a temporary file, run the
// editor on it, and, when it changed and nobody else changed the object
// meanwhile, define it. When that fails it asks virsh's "Failed. Try again?
// [y,n,i,f,?]:" (or "The XML configuration was changed by another user.
// Try again? ..."): y edits again, n gives up (a failure with no further
// message), i turns validation off and defines again, f defines again as it
// is. With no answer to read it fails with the question's first sentence.
// The temporary file is removed in every case.
func editXML(env *Env, e xmlEdit) error {
	doc, err := e.get()
	if err != nil {
		return err
	}
	tmp, err := editWriteToTempFile(doc)
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	var edited string
	relaxAvail := false
	reedit := true
	for {
		if reedit {
			relaxAvail = e.relax != nil
			if err := editFile(env, tmp); err != nil {
				return err
			}
			if edited, err = editReadBackFile(tmp); err != nil {
				return err
			}
			if edited == doc && !e.defineUnchanged {
				env.IO.Extra("%s", e.unchanged)
				return nil
			}
		}
		now, err := e.get()
		if err != nil {
			return err
		}
		var msg string
		if now != doc {
			msg = "The XML configuration was changed by another user."
			doc = now
		} else if err := e.define(edited); err != nil {
			// vshAskReedit reports libvirt's error before asking.
			for _, l := range shell.MessageLines(err) {
				env.IO.Errorf("error: %s\n", l)
			}
			msg = "Failed."
		} else {
			return e.done()
		}
		choice, err := askReedit(env, msg, relaxAvail)
		if err != nil {
			return errors.New(msg)
		}
		switch choice {
		case 'y':
			reedit = true
		case 'f':
			reedit = false
		case 'i':
			e.relax()
			relaxAvail, reedit = false, false
		default: // 'n'
			return shell.ErrSilent
		}
	}
}

// editWriteToTempFile is vshEditWriteToTempFile: $TMPDIR/virshXXXXXX.xml,
// readable by the user only.
func editWriteToTempFile(doc string) (string, error) {
	dir := os.Getenv("TMPDIR")
	if dir == "" {
		dir = "/tmp"
	}
	const chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	var f *os.File
	var err error
	for try := 0; try < 100; try++ {
		var b [6]byte
		for i := range b {
			b[i] = chars[rand.IntN(len(chars))]
		}
		f, err = os.OpenFile(filepath.Join(dir, "virsh"+string(b[:])+".xml"), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
		if !errors.Is(err, os.ErrExist) {
			break
		}
	}
	if err != nil {
		return "", fmt.Errorf("g_mkstemp_full: failed to create temporary file: %s", errnoText(err))
	}
	name := f.Name()
	if _, err := f.WriteString(doc); err != nil {
		f.Close()
		os.Remove(name)
		return "", fmt.Errorf("write: %s: failed to write to temporary file: %s", name, errnoText(err))
	}
	if err := f.Close(); err != nil {
		os.Remove(name)
		return "", fmt.Errorf("close: %s: failed to write or close temporary file: %s", name, errnoText(err))
	}
	return name, nil
}

// editReadBackFile is vshEditReadBackFile, with virsh's limit on XML files.
func editReadBackFile(path string) (string, error) {
	const maxXML = 10 << 20
	fail := func(err error) (string, error) {
		return "", fmt.Errorf("%s: failed to read temporary file: %s", path, errnoText(err))
	}
	f, err := os.Open(path)
	if err != nil {
		return fail(err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxXML+1))
	if err != nil {
		return fail(err)
	}
	if len(b) > maxXML {
		return fail(syscall.E2BIG)
	}
	return string(b), nil
}

// editorName is the user's editor as vshEditFile picks it: $VISUAL, else
// $EDITOR, else vi. Unlike virsh, a variable set to "" counts as unset
// (virsh would try to run an empty command).
func editorName() string {
	for _, v := range []string{"VISUAL", "EDITOR"} {
		if e := os.Getenv(v); e != "" {
			return e
		}
	}
	return "vi"
}

// editSafe reports whether s has only the characters vshEditFile lets
// through without a shell.
func editSafe(s string) bool {
	const accepted = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-/_.:@"
	return strings.Trim(s, accepted) == ""
}

// editFile is vshEditFile: an editor made of safe characters runs directly
// on path; any other ("emacs -nw") runs through sh, which needs a path of
// safe characters. The editor gets the command's terminal, and its failure
// is reported in virCommand's words.
func editFile(env *Env, path string) error {
	ed := editorName()
	argv := []string{ed, path}
	if !editSafe(ed) {
		if !editSafe(path) {
			return fmt.Errorf("%s: temporary filename contains shell meta or other unacceptable characters (is $TMPDIR wrong?)", path)
		}
		argv = []string{"sh", "-c", ed + " " + path}
	}
	if !strings.Contains(argv[0], "/") {
		if _, err := exec.LookPath(argv[0]); err != nil {
			return fmt.Errorf("Cannot find '%s' in path: No such file or directory", argv[0])
		}
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	if f, ok := env.IO.In.(*os.File); ok {
		cmd.Stdin = f
	}
	cmd.Stdout, cmd.Stderr = env.IO.Out, env.IO.Err
	err := cmd.Run()
	if err == nil {
		return nil
	}
	status := "exit status 127"
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		ws, _ := ee.Sys().(syscall.WaitStatus)
		if ws.Signaled() {
			status = fmt.Sprintf("fatal signal %d", ws.Signal())
		} else {
			status = fmt.Sprintf("exit status %d", ws.ExitStatus())
		}
	} else {
		// virsh's child reports a binary it cannot execute, then exits 127.
		env.IO.Errorf("libvirt:  error : cannot execute binary %s: %s\n", argv[0], errnoText(err))
	}
	words := make([]string, len(argv))
	for i, a := range argv {
		words[i] = escapeShell(a)
	}
	return fmt.Errorf("internal error: Child process (%s) unexpected %s", strings.Join(words, " "), status)
}

// askReedit is vshAskReedit, line-based: it prompts on stdout and reads an
// answer line from the command's input until it gets y, n, f (or i while
// relax is offered); "?" prints the help.
func askReedit(env *Env, msg string, relax bool) (byte, error) {
	choices := "[y,n,f,?]"
	if relax {
		choices = "[y,n,i,f,?]"
	}
	for {
		env.IO.Printf("%s Try again? %s: ", msg, choices)
		ans, err := readAnswer(env.IO.In)
		if err != nil {
			env.IO.Printf("\n")
			return 0, err
		}
		ans = strings.ToLower(strings.TrimSpace(ans))
		if ans == "" {
			continue
		}
		switch c := ans[0]; {
		case c == '?':
			env.IO.Printf("\ny - yes, start editor again\nn - no, throw away my changes\n")
			if relax {
				env.IO.Printf("i - turn off validation and try to redefine again\n")
			}
			env.IO.Printf("f - force, try to redefine again\n? - print this help\n")
		case c == 'y' || c == 'n' || c == 'f' || relax && c == 'i':
			return c, nil
		}
	}
}

// readAnswer reads one line from in a byte at a time, so that nothing after
// the answer is taken from a stream others read too.
func readAnswer(in io.Reader) (string, error) {
	var line []byte
	buf := make([]byte, 1)
	for {
		n, err := in.Read(buf)
		if n == 1 {
			if buf[0] == '\n' {
				return string(line), nil
			}
			line = append(line, buf[0])
		}
		if err != nil {
			if len(line) > 0 {
				return string(line), nil
			}
			return "", err
		}
	}
}
