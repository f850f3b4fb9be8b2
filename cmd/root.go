// Package cmd holds virtsh's command tree: one file per virsh command group,
// the root and global options, and the virsh-style option parser (spec.go).
package cmd

import (
	"sync"

	"github.com/spf13/cobra"

	"virtsh/format"
	"virtsh/shell"
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

func register(f func(*Env) []*cobra.Command) { commandSets = append(commandSets, f) }

// wholeTree names the commands that look at the whole tree (help lists every
// group, completion writes scripts for every command): they get NewRoot.
var wholeTree = map[string]bool{"help": true, "completion": true}

var (
	setIndexOnce sync.Once
	setIndex     map[string]int // command name or alias -> its commandSets entry
)

// newRootFor builds the tree the runner needs for the command named name:
// only its group file's commands, as the others cannot run. Building all of
// them for each command of a 500-command script cost 140 µs a command
// (BenchmarkNewRoot, twice per command: check, then run). An unknown name, or
// a command in wholeTree, gets the full tree.
func newRootFor(sess *shell.Session, name string) *cobra.Command {
	setIndexOnce.Do(func() {
		setIndex = map[string]int{}
		env := &Env{Sess: sess, IO: &format.IO{}}
		for i, add := range commandSets {
			for _, c := range add(env) {
				setIndex[c.Name()] = i
				for _, a := range c.Aliases {
					setIndex[a] = i
				}
			}
		}
	})
	i, ok := setIndex[name]
	if !ok || wholeTree[name] {
		return NewRoot(sess)
	}
	return newTree(sess, commandSets[i:i+1])
}
