package shell

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"

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

// HistoryPath is $XDG_CACHE_HOME/virtsh/history (~/.cache/virtsh/history).
func HistoryPath() string {
	dir := os.Getenv("XDG_CACHE_HOME")
	if dir == "" {
		home, _ := os.UserHomeDir()
		dir = filepath.Join(home, ".cache")
	}
	return filepath.Join(dir, "virtsh", "history")
}

// HistorySize reads VIRTSH_HISTSIZE (virsh's VIRSH_HISTSIZE also counts):
// default 500, 0..500000. A bad value is reported and no history is saved,
// as virsh does.
func HistorySize() (int, error) {
	v := os.Getenv("VIRTSH_HISTSIZE")
	if v == "" {
		v = os.Getenv("VIRSH_HISTSIZE")
	}
	if v == "" {
		return 500, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return -1, errors.New("Bad $VIRTSH_HISTSIZE value.")
	}
	if n < 0 || n > 500000 {
		return -1, errors.New("$VIRTSH_HISTSIZE value should be between 0 and 500000")
	}
	return n, nil
}

func (r *REPL) prompt() string {
	if r.Runner.Sess.ReadOnly() {
		return "virtsh > "
	}
	return "virtsh # "
}

// Run reads lines until quit, exit or Ctrl-D. Ctrl-C at the prompt clears the
// line; during a command it cancels that command (Runner.runOne); the shell
// lives on either way. History is appended as each line is entered, so it
// survives every way out.
func (r *REPL) Run(ctx context.Context) error {
	sess := r.Runner.Sess
	sess.Interactive = true
	histSize, herr := HistorySize()
	if herr != nil {
		fmt.Fprintf(sess.IO.Err, "error: %v\n", herr)
	}
	cfg := &readline.Config{
		Prompt:          r.prompt(),
		InterruptPrompt: "^C",
		EOFPrompt:       "",
		Stdin:           r.Stdin,
		Stdout:          r.Stdout,
		Stderr:          r.Stdout,
	}
	if histSize > 0 {
		path := HistoryPath()
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err == nil {
			if f, err := os.OpenFile(path, os.O_CREATE|os.O_RDONLY, 0o600); err == nil {
				_ = f.Close()
				cfg.HistoryFile = path
			}
		}
		cfg.HistoryLimit = histSize
	} else {
		cfg.HistoryLimit = -1
	}
	if r.Completer != nil {
		cfg.AutoComplete = &readlineCompleter{r.Completer}
	}
	rl, err := readline.NewEx(cfg)
	if err != nil {
		return err
	}
	defer rl.Close()
	if !sess.IO.Quiet {
		fmt.Fprint(sess.IO.Out, banner)
	}
	for {
		rl.SetPrompt(r.prompt())
		line, err := rl.Readline()
		if errors.Is(err, readline.ErrInterrupt) {
			continue
		}
		if err != nil { // io.EOF: Ctrl-D
			fmt.Fprintln(sess.IO.Out)
			return nil
		}
		if res := r.Runner.RunString(ctx, line); res.Quit {
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
