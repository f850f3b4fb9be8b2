package shell

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"
)

// TreeFunc builds a fresh command tree. The runner builds one per command so
// that no flag value survives from one command to the next (cobra keeps flag
// state on the tree).
type TreeFunc func() *cobra.Command

type ctxKey int

const (
	checkOnlyKey ctxKey = iota
	sessionKey
)

// SessionFrom returns the session a command runs in (nil outside a runner):
// policies that apply to every command, such as refusing mutating commands
// on a read-only connection, read it from the command's context.
func SessionFrom(ctx context.Context) *Session {
	s, _ := ctx.Value(sessionKey).(*Session)
	return s
}

// CheckOnly reports whether ctx asks a command to parse its words and stop
// before doing anything: virsh parses a whole command string before running
// any of it, so one bad option means nothing runs.
func CheckOnly(ctx context.Context) bool {
	v, _ := ctx.Value(checkOnlyKey).(bool)
	return v
}

// Runner executes command strings against a session.
type Runner struct {
	Sess    *Session
	NewTree TreeFunc
	// TreeFor, when set, is used instead of NewTree: it builds a tree that
	// holds at least the command named name (its group, not all of them).
	// Two full trees for every command of a script were 9% of the CPU of a
	// 500-command run (perf, issue 8).
	TreeFor func(name string) *cobra.Command
}

// Find returns the command named name (or one of its aliases) in root.
func Find(root *cobra.Command, name string) *cobra.Command {
	for _, c := range root.Commands() {
		if c.Name() == name || c.HasAlias(name) {
			return c
		}
	}
	return nil
}

// tree builds a fresh tree that holds the command named name.
func (r *Runner) tree(name string) *cobra.Command {
	if r.TreeFor != nil {
		return r.TreeFor(name)
	}
	return r.NewTree()
}

// execute runs one command's words on root, a tree from tree(words[0]).
func (r *Runner) execute(ctx context.Context, root *cobra.Command, words []string) error {
	c := Find(root, words[0])
	if c == nil {
		return fmt.Errorf("unknown command: '%s'", words[0])
	}
	ctx = context.WithValue(ctx, sessionKey, r.Sess)
	// cobra gives a command the root's context only when it has none: a tree
	// that ran the check still holds the check's.
	c.SetContext(ctx)
	root.SetArgs(words)
	root.SetIn(r.Sess.IO.In)
	root.SetOut(r.Sess.IO.Out)
	root.SetErr(r.Sess.IO.Err)
	if plainLeaf(root, c) {
		// What cobra's execute does for such a command, and only that: the
		// -h/--help flag it adds to every command it runs (the command's
		// own parser sees it, and sets it on `CMD ... -h`, which cobra
		// then answers with its help on the run after the check), then
		// RunE with the words after the name. Through ExecuteC, cobra
		// also built and removed its __complete command and its
		// completion command with four subcommands on every call, twice
		// per command line (check, then run): 30% of the runner's CPU per
		// command (pprof, issue 8).
		c.InitDefaultHelpFlag()
		if h, err := c.Flags().GetBool("help"); err == nil && h {
			c.HelpFunc()(c, words)
			return nil
		}
		return c.RunE(c, words[1:])
	}
	_, err := root.ExecuteContextC(ctx)
	return err
}

// plainLeaf reports whether c, a child of root, is a command the runner can
// run without cobra's ExecuteC and get the same result: a leaf that parses
// its own words (DisableFlagParsing), runs through RunE, and has none of the
// things cobra's execute would add (hooks, argument validators, deprecation).
// Anything else (a command with subcommands, say) goes through ExecuteC.
func plainLeaf(root, c *cobra.Command) bool {
	return c.Parent() == root && c.RunE != nil && c.DisableFlagParsing && !c.HasSubCommands() &&
		c.Args == nil && c.Deprecated == "" && c.Version == "" &&
		c.PreRun == nil && c.PreRunE == nil && c.PostRun == nil && c.PostRunE == nil &&
		c.PersistentPreRun == nil && c.PersistentPreRunE == nil &&
		c.PersistentPostRun == nil && c.PersistentPostRunE == nil &&
		root.PersistentPreRun == nil && root.PersistentPreRunE == nil &&
		root.PersistentPostRun == nil && root.PersistentPostRunE == nil
}

// Check parses every command of cmds without running any.
func (r *Runner) Check(ctx context.Context, cmds [][]string) error {
	_, err := r.check(ctx, cmds)
	return err
}

// check parses every command of cmds, each on a fresh tree, and returns the
// trees: the run phase runs each command on the tree that parsed it, so a
// command's tree is built once (building it twice, check then run, was 7%
// of the samples of 500 piped commands: perf, issue 8). Nothing a command
// does at build time depends on the commands before it (they read the
// session when they run).
func (r *Runner) check(ctx context.Context, cmds [][]string) ([]*cobra.Command, error) {
	ctx = context.WithValue(ctx, checkOnlyKey, true)
	trees := make([]*cobra.Command, len(cmds))
	for i, words := range cmds {
		trees[i] = r.tree(words[0])
		if err := r.execute(ctx, trees[i], words); err != nil {
			return nil, err
		}
	}
	return trees, nil
}

// PrintError prints err as virsh does: each line prefixed with "error: ".
func (r *Runner) PrintError(err error) {
	if err == nil || errors.Is(err, ErrSilent) {
		return
	}
	for _, l := range MessageLines(err) {
		fmt.Fprintf(r.Sess.IO.Err, "error: %s\n", l)
	}
	r.Sess.Logf("error: %v", err)
}

// Result of running a command string.
type Result struct {
	OK     bool // the last command succeeded (virsh's exit status rule)
	AnyErr bool // some command failed
	Quit   bool // quit/exit was run
	// Signal is set when a signal (SIGINT, SIGTERM, SIGHUP) cancelled a
	// command; the rest of the string is not run. After SIGTERM or SIGHUP the
	// caller ends the process (the REPL saves history and restores the
	// terminal first); after SIGINT the REPL lives on.
	Signal os.Signal
}

// Terminating reports whether sig asks virtsh to end (SIGTERM, SIGHUP), as
// opposed to SIGINT, which only cancels the running command.
func Terminating(sig os.Signal) bool {
	return sig == syscall.SIGTERM || sig == syscall.SIGHUP
}

// RunString splits s, checks every command, then runs them in order the way
// vshCommandRun does: a failed command prints its error and the rest still
// run; quit/exit stops; after each command a blank line (or the -t timing)
// unless quiet. A tokenizer or option error runs nothing.
func (r *Runner) RunString(ctx context.Context, s string) Result {
	cmds, err := Split(s)
	if err != nil {
		r.PrintError(err)
		return Result{AnyErr: true}
	}
	return r.RunCommands(ctx, cmds)
}

// RunCommands is RunString for words that are already split (argv mode).
func (r *Runner) RunCommands(ctx context.Context, cmds [][]string) Result {
	res := Result{OK: true}
	trees, err := r.check(ctx, cmds)
	if err != nil {
		r.PrintError(err)
		return Result{AnyErr: true}
	}
	for i, words := range cmds {
		start := time.Now()
		sig, err := r.runOne(ctx, trees[i], words)
		if errors.Is(err, ErrQuit) {
			res.Quit = true
			return res
		}
		res.OK = err == nil
		if err != nil {
			res.AnyErr = true
			err = r.Sess.ExplainError(err)
			r.PrintError(err)
			r.Sess.NoteError(err)
		}
		if r.Sess.Opts.Timing {
			// virsh prints the timing with vshPrint: -q does not hide it.
			r.Sess.IO.Printf("\n(Time: %.3f ms)\n\n", float64(time.Since(start).Microseconds())/1000)
		} else {
			r.Sess.IO.Extra("\n")
		}
		if sig != nil {
			res.Signal = sig
			return res
		}
	}
	return res
}

// runOne runs a command with a context that SIGINT, SIGTERM and SIGHUP cancel,
// so a Ctrl-C ends the command (a waiting block job is aborted by the
// command) and never the shell. It returns the first signal that arrived, if
// any. The terminal is in cooked mode here (readline holds raw mode only
// inside Readline), so Ctrl-C reaches the process as SIGINT.
func (r *Runner) runOne(ctx context.Context, root *cobra.Command, words []string) (os.Signal, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var (
		mu    sync.Mutex
		n     int
		first os.Signal
	)
	release := watchSignals(func(s os.Signal) {
		mu.Lock()
		n++
		if n == 1 {
			first = s
		}
		again := n > 1
		mu.Unlock()
		if again {
			fmt.Fprintln(r.Sess.IO.Err, "error: still aborting, please wait")
		}
		cancel(&SignalError{Signal: s})
	}, r.Sess.Interactive)
	r.Sess.Logf("command: %q", words)
	loop := time.AfterFunc(EventLoopDelay, startEventLoop)
	err := r.execute(ctx, root, words)
	loop.Stop()
	release()
	mu.Lock()
	defer mu.Unlock()
	return first, err
}

// SignalError is the cancellation cause when a signal ended a command.
type SignalError struct{ Signal os.Signal }

func (e *SignalError) Error() string { return "interrupted by " + e.Signal.String() }
