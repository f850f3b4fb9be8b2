package shell

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"
	"time"
)

// Invocation is one command of a line, parsed and ready: running it does
// the command's work once. The command layer makes them; the runner only
// orders them, watches signals and prints errors.
type Invocation interface {
	Run(ctx context.Context) error
}

// ParseFunc turns one command's words (its name first) into an Invocation,
// or fails with virsh's message for an unknown command or a bad option.
type ParseFunc func(words []string) (Invocation, error)

// Runner executes command strings against a session: every command of a
// string is parsed before any runs (virsh parses a whole command string
// first, so one bad option means nothing runs), then each runs once.
type Runner struct {
	Sess  *Session
	Parse ParseFunc
}

// parseAll parses every command of cmds.
func (r *Runner) parseAll(cmds [][]string) ([]Invocation, error) {
	invs := make([]Invocation, len(cmds))
	for i, words := range cmds {
		inv, err := r.Parse(words)
		if err != nil {
			return nil, err
		}
		invs[i] = inv
	}
	return invs, nil
}

// Check parses every command of cmds without running any.
func (r *Runner) Check(cmds [][]string) error {
	_, err := r.parseAll(cmds)
	return err
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
	invs, err := r.parseAll(cmds)
	if err != nil {
		r.PrintError(err)
		return Result{AnyErr: true}
	}
	for i, words := range cmds {
		start := time.Now()
		sig, err := r.runOne(ctx, invs[i], words)
		if errors.Is(err, ErrQuit) {
			// quit is the last command run, and it succeeded: the string's
			// status is 0 whatever came before, as in virsh.
			res.Quit, res.OK = true, true
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
			if st, ok := invs[i].(interface{ Structured() bool }); !ok || !st.Structured() {
				r.Sess.IO.Extra("\n") // not after a command's -o json|yaml data
			}
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
func (r *Runner) runOne(ctx context.Context, inv Invocation, words []string) (os.Signal, error) {
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
		if r.Sess.connecting.Load() && (Terminating(s) || !r.Sess.Interactive) {
			// Nothing cancels a connect to a frozen daemon, and a signal
			// that ends virsh must end virsh now, not when the daemon
			// wakes up: die by it, as virsh does.
			dieBy(s)
		}
		if again {
			fmt.Fprintln(r.Sess.IO.Err, "error: still aborting, please wait")
		}
		cancel(&SignalError{Signal: s})
	}, r.Sess.Interactive)
	r.Sess.Logf("command: %q", words)
	r.Sess.command.Store(&ctx)
	loop := time.AfterFunc(EventLoopDelay, startEventLoop)
	err := inv.Run(ctx)
	loop.Stop()
	r.Sess.command.Store(nil)
	release()
	mu.Lock()
	defer mu.Unlock()
	return first, err
}

// SignalError is the cancellation cause when a signal ended a command.
type SignalError struct{ Signal os.Signal }

func (e *SignalError) Error() string { return "interrupted by " + e.Signal.String() }
