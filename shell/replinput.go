package shell

import (
	"errors"
	"io"
	"sync/atomic"
	"syscall"

	"github.com/chzyer/readline"
)

// A line reaches the runner only when the user pressed Enter on it. readline
// v1.5.1 breaks that in two places, both in its key loop, where the key
// reader hands over rune 0 for "no more input" (its stdin read failed or hit
// EOF, as after a hangup, or the REPL closed it on SIGTERM/SIGHUP):
//
//   - with text on the line it treats rune 0 as Enter ("flush" the line):
//     the half-typed command is returned as entered, run, and saved;
//   - a NUL byte from the keyboard (Ctrl-Space, Ctrl-@) is rune 0 too, so
//     that key entered the line, or on an empty line ended the shell.
//
// inputGuard sits at both ends of that: replInput, readline's stdin, notes
// that input has ended before readline can know, and the key filter
// (FuncFilterInputRune, called with every key before readline acts on it)
// tells end of input from a NUL key by that note.
//
// The same filter makes Ctrl-C clear the line whatever mode readline is in:
// with a Tab listing up, while Tab cycles through it, or in a Ctrl-R search,
// readline's own Ctrl-C only leaves that mode and keeps the text, which the
// next command typed is then appended to.
type inputGuard struct {
	in *replInput
	rl atomic.Pointer[readline.Instance]
	// ended is called once input has ended with the line still pending. It
	// must make Readline return (the REPL closes readline: io.EOF).
	ended func()
}

// filter is readline's FuncFilterInputRune. It runs on readline's key loop
// goroutine, the one that owns the line editor's state, so it may read and
// change that state.
func (g *inputGuard) filter(r rune) (rune, bool) {
	rl := g.rl.Load() // stored once the REPL is set up, ended included
	if rl == nil {
		return r, true // no Readline yet, so no keys
	}
	switch r {
	case 0:
		if !g.in.ended.Load() {
			return 0, false // a NUL key: dropped, or readline would take it for end of input
		}
		// End of input. Whatever is on the line was not entered, so
		// readline must not see this rune. Closing readline makes Readline
		// return io.EOF; this goroutine parks for good, since every further
		// read would be rune 0 again.
		g.ended()
		select {}
	case readline.CharInterrupt:
		op := rl.Operation
		if op.IsSearchMode() {
			op.ExitSearchMode(true)
		}
		if op.IsInCompleteMode() {
			op.ExitCompleteMode(true)
		}
		// Back in the line editor's normal mode, where Ctrl-C drops the
		// line and Readline returns ErrInterrupt.
	}
	return r, true
}

// replInput is readline's stdin: the cancelable reader over the terminal,
// noting when its input has ended.
type replInput struct {
	r     io.ReadCloser
	ended atomic.Bool
}

// Read notes the end of input before returning it: readline's key reader
// turns the error into rune 0 only after this returns, so the filter, which
// sees that rune later, always sees the note.
func (in *replInput) Read(p []byte) (int, error) {
	n, err := in.r.Read(p)
	if err != nil && !errors.Is(err, syscall.EINTR) { // readline retries EINTR
		in.ended.Store(true)
	}
	return n, err
}

func (in *replInput) Close() error { return in.r.Close() }
