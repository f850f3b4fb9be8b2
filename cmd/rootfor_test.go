package cmd

import (
	"io"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/virtsh/virtsh/format"
	"github.com/virtsh/virtsh/shell"
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

// The constructors named in probeFirst exist, and each hint names the group
// that holds its command: a renamed group file or a moved command would
// silently send one-shot commands back to building groups not their own.
func TestProbeFirstNamesGroups(t *testing.T) {
	order, names := probeOrder()
	for r, n := range probeFirst {
		if got := names[order[r]]; got != n {
			t.Errorf("probe %d: %s, want %s (probeFirst names a constructor that is not registered)", r, got, n)
		}
	}
	env := &Env{IO: &format.IO{}}
	for cmd, hint := range probeHints {
		found := false
		for i, n := range names {
			if n != hint {
				continue
			}
			for _, c := range commandSets[i](env) {
				found = found || c.Name() == cmd || c.HasAlias(cmd)
			}
		}
		if !found {
			t.Errorf("probeHints: %s is not in %s", cmd, hint)
		}
	}
	for name, f := range commandHints {
		if c := f(env); c.Name() != name {
			t.Errorf("commandHints: %s builds %s", name, c.Name())
		}
	}
}

// The run phase uses the tree the check parsed: words are parsed once. An
// option before --help, a repeated option, a per-command -o and a command
// after a failing one behave as when each phase had its own tree.
func TestCheckedTreeRuns(t *testing.T) {
	out, errOut, code := runMain(t, "domstate test --help; domstate test --reason; domid test -o json; domstate nosuch; domname 1\n", "-c", "test:///default")
	if code != 1 || errOut != "error: failed to get domain 'nosuch'\n" {
		t.Errorf("code %d, stderr %q", code, errOut)
	}
	for _, want := range []string{"domstate <domain> [--reason]", "running (unknown)\n", "\"id\": 1", "test\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, out)
		}
	}
	_, errOut, code = runMain(t, "domstate test --reason --reason\n", "-c", "test:///default")
	if code != 1 || errOut != "error: option --reason already seen\n" {
		t.Errorf("repeated option: code %d, stderr %q", code, errOut)
	}
}

// A group registered command by command (registerEach) gets trees of one
// command, each the same command as in the group's tree.
func TestRootForOneCommand(t *testing.T) {
	sess := shell.NewSession(&format.IO{Out: io.Discard, Err: io.Discard}, shell.Options{URI: "test:///default"})
	defer sess.Close()
	group := newTree(sess, []func(*Env) []*cobra.Command{monitorCommands})
	if len(group.Commands()) != len(monitorCtors) {
		t.Fatalf("monitor group: %d commands, want %d", len(group.Commands()), len(monitorCtors))
	}
	for _, c := range group.Commands() {
		newRootFor(sess, c.Name()) // the first use may build the group
		small := newRootFor(sess, c.Name())
		if n := len(small.Commands()); n != 1 {
			t.Errorf("%s: %d commands in its tree, want 1", c.Name(), n)
			continue
		}
		got := small.Commands()[0]
		if got.Name() != c.Name() || got.Flags().FlagUsages() != c.Flags().FlagUsages() || got.Short != c.Short {
			t.Errorf("%s: its tree holds %s, not the group's command", c.Name(), got.Name())
		}
	}
}
