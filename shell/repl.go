package shell

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/chzyer/readline"
)

// Completer offers candidates for the word under the cursor. The REPL and
// cobra's __complete share one implementation (completion/).
type Completer interface {
	// Complete returns the full candidates for the line up to the cursor and
	// how many characters of the current word they replace.
	Complete(line string) (candidates []string, replace int)
}

// REPL is the interactive shell: readline over the runner.
type REPL struct {
	Runner    *Runner
	Completer Completer
	// Stdin/Stdout for readline; nil means the process's terminal.
	Stdin  io.ReadCloser
	Stdout io.Writer
}

const banner = "Welcome to virtsh, the virtualization interactive terminal.\n\n" +
	"Type:  'help' for help with commands\n" +
	"       'quit' to quit\n\n"

func (r *REPL) prompt() string {
	if r.Runner.Sess.ReadOnly() {
		return "virtsh > "
	}
	return "virtsh # "
}

// SignalExit is returned by Run when SIGTERM or SIGHUP ended the shell, after
// the terminal was restored and history saved.
type SignalExit struct{ Signal os.Signal }

func (e *SignalExit) Error() string { return "terminated by " + e.Signal.String() }

// Run reads lines until quit, exit, Ctrl-D or SIGTERM/SIGHUP.
//
// Signals: at the prompt readline holds the terminal in raw mode, so Ctrl-C
// arrives as a key and clears the line. While a command runs the terminal is
// cooked and Ctrl-C is a SIGINT, which Runner.runOne turns into cancelling
// that command. SIGINT is also caught here for the whole life of the REPL, so
// one arriving between two commands is dropped instead of killing virtsh
// (virsh dies there). SIGTERM and SIGHUP end the REPL: at the prompt at once,
// during a command once the command has been cancelled; either way readline
// is closed, which puts the terminal back as it was.
//
// Only a line the user entered runs or reaches history: a line still being
// typed when input ends (a hangup, a failing read, SIGTERM/SIGHUP at the
// prompt) is dropped, and Ctrl-C always empties the line (inputGuard).
//
// History: each entered line is appended to the history file (History)
// before it runs, so history survives every way out, signals included.
func (r *REPL) Run(ctx context.Context) error {
	sess := r.Runner.Sess
	sess.Interactive = true
	sess.StartEventLoop() // the REPL's connection lives long: keepalive, close callback
	histSize, herr := HistorySize()
	if herr != nil {
		fmt.Fprintf(sess.IO.Err, "error: %v\n", herr)
	}
	// readline wraps a nil Stdin in a CancelableStdin it never closes, so
	// Close would wait forever for its reader goroutine (a SIGTERM at the
	// prompt hung). Make the wrapper here and close it first.
	var in io.ReadCloser = r.Stdin
	if in == nil {
		in = os.Stdin
	}
	stdin := &replInput{r: readline.NewCancelableStdin(in)}
	guard := &inputGuard{in: stdin}
	cfg := &readline.Config{
		Prompt:          r.prompt(),
		InterruptPrompt: "^C",
		EOFPrompt:       "",
		Stdin:           stdin,
		Stdout:          r.Stdout,
		Stderr:          r.Stdout,
		HistoryLimit:    -1,
		// The REPL writes history itself (History), and only for lines that
		// were entered; readline keeps the list in memory, no file.
		DisableAutoSaveHistory: true,
		FuncFilterInputRune:    guard.filter,
	}
	var (
		hist    *History
		entries []string
	)
	if histSize > 0 {
		hist, entries = OpenHistory(HistoryPath(), histSize, sess.IO.Err)
		defer func() { _ = hist.Close() }()
		// Refused or not, the file does not stop Up and Ctrl-R from working
		// on this session's lines.
		cfg.HistoryLimit = histSize
	}
	if r.Completer != nil {
		cfg.AutoComplete = &readlineCompleter{r.Completer}
	}
	rl, err := readline.NewEx(cfg)
	if err != nil {
		return err
	}
	for _, e := range entries {
		_ = rl.SaveHistory(e) // memory only: there is no HistoryFile
	}
	var closeOnce sync.Once
	closeRL := func() {
		closeOnce.Do(func() {
			_ = stdin.Close()
			_ = rl.Close()
		})
	}
	defer closeRL()
	guard.ended = closeRL
	guard.rl.Store(rl)

	var (
		term    atomic.Value // os.Signal: SIGTERM/SIGHUP received
		running atomic.Bool  // a command is running (not at the prompt)
	)
	sigc := make(chan os.Signal, 4)
	signal.Notify(sigc, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sigc)
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for {
			select {
			case s := <-sigc:
				if !Terminating(s) {
					continue // SIGINT: runOne cancels the command, if any
				}
				term.CompareAndSwap(nil, s)
				if !running.Load() {
					closeRL() // wakes Readline with io.EOF
				}
			case <-stop:
				return
			}
		}
	}()
	terminated := func() error {
		if s, ok := term.Load().(os.Signal); ok {
			closeRL()
			fmt.Fprintln(sess.IO.Out)
			return &SignalExit{Signal: s}
		}
		return nil
	}

	if !sess.IO.Quiet {
		fmt.Fprint(sess.IO.Out, banner)
	}
	for {
		rl.SetPrompt(r.prompt())
		line, err := rl.Readline()
		if e := terminated(); e != nil {
			return e
		}
		if errors.Is(err, readline.ErrInterrupt) {
			continue
		}
		if err != nil { // io.EOF: Ctrl-D, or the input ended
			fmt.Fprintln(sess.IO.Out)
			return nil
		}
		if histSize > 0 {
			_ = rl.SaveHistory(line)
			hist.Add(line)
		}
		running.Store(true)
		res := r.Runner.RunString(ctx, line)
		running.Store(false)
		if res.Signal != nil && Terminating(res.Signal) {
			term.CompareAndSwap(nil, res.Signal)
		}
		if e := terminated(); e != nil {
			return e
		}
		if res.Quit {
			return nil
		}
	}
}

type readlineCompleter struct{ c Completer }

// Do adapts Completer to readline, which wants the suffixes to insert.
func (a *readlineCompleter) Do(line []rune, pos int) ([][]rune, int) {
	cands, replace := a.c.Complete(string(line[:pos]))
	out := make([][]rune, 0, len(cands))
	for _, c := range cands {
		rc := []rune(c)
		if replace <= len(rc) {
			out = append(out, rc[replace:])
		}
	}
	return out, replace
}
