// Package cmd holds virtsh's command tree: one file per virsh command group,
// the root and global options, and the virsh-style option parser (spec.go).
package cmd

import (
	"reflect"
	"runtime"
	"sort"
	"sync"

	"github.com/spf13/cobra"

	"github.com/virtsh/virtsh/format"
	"github.com/virtsh/virtsh/shell"
)

// Groups in virsh's order, with its titles and help keywords.
var groups = []*cobra.Group{
	{ID: "domain", Title: "Domain Management"},
	{ID: "monitor", Title: "Domain Monitoring"},
	{ID: "events", Title: "Domain Events"},
	{ID: "host", Title: "Host and Hypervisor"},
	{ID: "checkpoint", Title: "Checkpoint"},
	{ID: "snapshot", Title: "Snapshot"},
	{ID: "backup", Title: "Backup"},
	{ID: "virsh", Title: "Virsh itself"},
	{ID: "debug", Title: "Debugging virtsh"},
}

// Annotations that set command policy, checked by the runner or help.
const (
	annNoConnect = "virtsh_noconnect" // needs no connection (help, echo, ...)
	annMutating  = "virtsh_mutating"  // changes state: refused on a read-only connection
	annExamples  = "virtsh_examples"  // not used for policy; see Example
)

// Env is what every command of one tree shares: the session (connection,
// settings) and the IO of this command. IO is a copy of the session's, so a
// per-command -o changes only that command.
type Env struct {
	Sess *shell.Session
	IO   *format.IO
}

// NewRoot builds a fresh command tree over sess. The runner calls it once per
// command (see shell.TreeFunc).
func NewRoot(sess *shell.Session) *cobra.Command { return newTree(sess, commandSets) }

// newTree builds a root over sess holding the commands of sets.
func newTree(sess *shell.Session, sets []func(*Env) []*cobra.Command) *cobra.Command {
	io := *sess.IO
	env := &Env{Sess: sess, IO: &io}
	root := &cobra.Command{
		Use:           "virtsh",
		Short:         "virtualization interactive terminal",
		Long:          "virtsh is a virsh-compatible shell for libvirt: the same commands, flags, output and exit codes, plus JSON/YAML output, progress bars and completion for every shell.",
		SilenceErrors: true,
		SilenceUsage:  true,
		CompletionOptions: cobra.CompletionOptions{
			HiddenDefaultCmd: true,
		},
	}
	root.AddGroup(groups...)
	for _, add := range sets {
		for _, c := range add(env) {
			root.AddCommand(c)
		}
	}
	return root
}

// commandSets lists the constructors of each group file; each returns its
// commands. Adding a command means adding it to its group's constructor.
var commandSets []func(*Env) []*cobra.Command

// setCtors holds, by commandSets entry, the one-command constructors of a
// group registered with registerEach (nil for the others).
var setCtors [][]func(*Env) *cobra.Command

func register(f func(*Env) []*cobra.Command) {
	commandSets = append(commandSets, f)
	setCtors = append(setCtors, nil)
}

// registerEach registers a group whose constructor f builds the commands of
// ctors, in order: the runner then builds a tree of the one command it runs,
// not of its group (BenchmarkRootFor: 2 µs for dominfo alone, 19 µs for the
// monitor group with list's thirty options; twice per command line before
// the check kept its tree, once now; issue 8).
func registerEach(f func(*Env) []*cobra.Command, ctors ...func(*Env) *cobra.Command) {
	commandSets = append(commandSets, f)
	setCtors = append(setCtors, ctors)
}

// buildEach builds the commands of ctors, for a group registered with
// registerEach.
func buildEach(env *Env, ctors []func(*Env) *cobra.Command) []*cobra.Command {
	cs := make([]*cobra.Command, len(ctors))
	for i, f := range ctors {
		cs[i] = f(env)
	}
	return cs
}

// wholeTree names the commands that look at the whole tree (help lists every
// group, completion writes scripts for every command): they get NewRoot.
var wholeTree = map[string]bool{"help": true, "completion": true}

// probeFirst names the group constructors the runner tries first when it
// looks for a command it has not met yet: those of the commands people time
// (domstate, dominfo, list: monitorCommands; lifecycle: domainCommands).
// The rest follow in registration order. The order only decides how many
// groups a one-shot command builds before its own; any order finds every
// command.
var probeFirst = []string{"github.com/virtsh/virtsh/cmd.monitorCommands", "github.com/virtsh/virtsh/cmd.domainCommands"}

// probeHints sends a few commands straight to their group: virsh's own
// built-ins come last in probe order, and `echo` is what a start-up time is
// measured with. A wrong or stale hint costs one group built for nothing;
// a test checks them.
var probeHints = map[string]string{
	"echo": "github.com/virtsh/virtsh/cmd.virshCommands", "quit": "github.com/virtsh/virtsh/cmd.virshCommands",
	"exit": "github.com/virtsh/virtsh/cmd.virshCommands", "connect": "github.com/virtsh/virtsh/cmd.virshCommands",
}

// commandHints gives the lifecycle commands their own constructor at once:
// `start` (one-shot, or completing `start <Tab>`) built the monitor group
// first, list's thirty options included, then its own group of sixteen.
// A test checks each builds the command it names.
var commandHints = map[string]func(*Env) *cobra.Command{
	"start": newStartCmd, "shutdown": newShutdownCmd, "reboot": newRebootCmd, "reset": newResetCmd,
	"destroy": newDestroyCmd, "suspend": newSuspendCmd, "resume": newResumeCmd, "define": newDefineCmd,
	"undefine": newUndefineCmd, "create": newCreateCmd, "dumpxml": newDumpxmlCmd, "edit": newEditCmd,
}

var (
	setMu sync.Mutex
	// setIndex maps a command name or alias to its commandSets entry, for
	// the groups probed so far.
	setIndex = map[string]int{}
	setOrder []int    // commandSets entries in probe order, made on first use
	setNames []string // constructor names, by commandSets entry
	indexed  []bool   // by commandSets entry: its names are in setIndex
	// ctorIndex maps a command name or alias to its own constructor, for
	// the probed groups registered with registerEach.
	ctorIndex = map[string]func(*Env) *cobra.Command{}
)

// newRootFor builds the tree the runner needs for the command named name:
// only its group file's commands, as the others cannot run. Building all of
// them for each command of a 500-command script cost 140 µs a command
// (BenchmarkNewRoot, twice per command: check, then run). An unknown name, or
// a command in wholeTree, gets the full tree.
//
// A group is found by building the groups not yet indexed one at a time
// (the hinted one, then in probe order) until one holds name: the tree built
// last is the answer. The earlier version indexed every group on first use,
// 2.6% of a one-shot domstate's samples (perf, issue 8); a one-shot command
// now builds one group.
func newRootFor(sess *shell.Session, name string) *cobra.Command {
	if wholeTree[name] {
		return NewRoot(sess)
	}
	setMu.Lock()
	defer setMu.Unlock()
	f, ok := ctorIndex[name]
	if !ok {
		f, ok = commandHints[name]
	}
	if ok {
		return newTree(sess, []func(*Env) []*cobra.Command{func(env *Env) []*cobra.Command {
			return []*cobra.Command{f(env)}
		}})
	}
	if i, ok := setIndex[name]; ok {
		return newTree(sess, commandSets[i:i+1])
	}
	if setOrder == nil {
		setOrder, setNames = probeOrder()
		indexed = make([]bool, len(commandSets))
	}
	try := func(i int) *cobra.Command {
		indexed[i] = true
		root := newTree(sess, commandSets[i:i+1])
		found := false
		for _, c := range root.Commands() {
			for _, n := range append([]string{c.Name()}, c.Aliases...) {
				setIndex[n] = i
				found = found || n == name
			}
		}
		if setCtors[i] != nil {
			io := *sess.IO // a tree's own, as newTree's
			env := &Env{Sess: sess, IO: &io}
			for _, f := range setCtors[i] {
				c := f(env)
				for _, n := range append([]string{c.Name()}, c.Aliases...) {
					ctorIndex[n] = f
				}
			}
		}
		if found {
			return root
		}
		return nil
	}
	if h, ok := probeHints[name]; ok {
		for i, n := range setNames {
			if n == h && !indexed[i] {
				if root := try(i); root != nil {
					return root
				}
			}
		}
	}
	for _, i := range setOrder {
		if !indexed[i] {
			if root := try(i); root != nil {
				return root
			}
		}
	}
	return NewRoot(sess)
}

// probeOrder lists commandSets' entries, those named in probeFirst first,
// and the constructors' names.
func probeOrder() (order []int, names []string) {
	names = make([]string, len(commandSets))
	for i, f := range commandSets {
		names[i] = runtime.FuncForPC(reflect.ValueOf(f).Pointer()).Name()
	}
	rank := func(i int) int {
		for r, n := range probeFirst {
			if names[i] == n {
				return r
			}
		}
		return len(probeFirst)
	}
	order = make([]int, len(commandSets))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return rank(order[a]) < rank(order[b]) })
	return order, names
}
