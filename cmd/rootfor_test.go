package cmd

import (
	"io"
	"strings"
	"testing"

	"virtsh/format"
	"virtsh/shell"
)

// Every command is in the small tree the runner builds for it, with the same
// flags as in the full tree; help and completion get every command.
func TestRootForHoldsTheCommand(t *testing.T) {
	sess := shell.NewSession(&format.IO{Out: io.Discard, Err: io.Discard}, shell.Options{URI: "test:///default"})
	defer sess.Close()
	full := NewRoot(sess)
	for _, c := range full.Commands() {
		small := newRootFor(sess, c.Name())
		got := shell.Find(small, c.Name())
		if got == nil {
			t.Errorf("%s: not in its tree", c.Name())
			continue
		}
		if got.Flags().FlagUsages() != c.Flags().FlagUsages() {
			t.Errorf("%s: flags differ from the full tree", c.Name())
		}
		if wholeTree[c.Name()] && len(small.Commands()) != len(full.Commands()) {
			t.Errorf("%s: %d commands, want the whole tree (%d)", c.Name(), len(small.Commands()), len(full.Commands()))
		}
	}
	if n := len(newRootFor(sess, "no-such-command").Commands()); n != len(full.Commands()) {
		t.Errorf("unknown command: %d commands, want the whole tree", n)
	}
}

// A script runs the same through the small trees: virsh's output and errors.
func TestRootForScript(t *testing.T) {
	out, errOut, code := runMain(t, "dominfo test\nhelp domstate\nnosuch\necho a b\n", "-c", "test:///default")
	if code != 1 || errOut != "error: unknown command: 'nosuch'\n" {
		t.Errorf("code %d, stderr %q", code, errOut)
	}
	for _, want := range []string{"Name:           test\n", "domstate <domain> [--reason]", "a b\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, out)
		}
	}
}
