package shell

import (
	"errors"
	"strings"

	"libvirt.org/go/libvirt"
)

// LinesError is an error that prints as several `error: ...` lines, the way
// virsh reports a failure and then the libvirt error behind it:
//
//	error: Failed to start domain 'vm'
//	error: Requested operation is not valid: domain is already active
type LinesError struct {
	Lines []string
	Cause error
}

func (e *LinesError) Error() string { return strings.Join(e.Lines, "\n") }
func (e *LinesError) Unwrap() error { return e.Cause }

// MsgThenCause makes virsh's usual failure: its own message, then the
// cause's lines (vshError, then the libvirt error reported after it). A nil
// cause leaves msg alone.
func MsgThenCause(msg string, cause error) error {
	if cause == nil {
		return &LinesError{Lines: []string{msg}}
	}
	return &LinesError{Lines: append([]string{msg}, MessageLines(cause)...), Cause: cause}
}

// MessageLines turns an error into the lines printed after "error: ": a
// LinesError's lines, the lines of each error joined by errors.Join (the
// parser's missing options), else the one message.
// libvirt errors print their message only (virsh prints virError.message),
// never the Go binding's "virError(Code=…)" form.
func MessageLines(err error) []string {
	// A join first: errors.As would find the first member's lines only.
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var lines []string
		for _, e := range j.Unwrap() {
			lines = append(lines, MessageLines(e)...)
		}
		return lines
	}
	var le *LinesError
	if errors.As(err, &le) {
		return le.Lines
	}
	var lv libvirt.Error
	if errors.As(err, &lv) {
		return []string{lv.Message}
	}
	// One message, one "error: " prefix, as virsh's vshError: a message
	// that contains newlines (a quoted word with one) keeps them.
	return []string{err.Error()}
}

// ErrQuit is returned by `quit` and `exit`: it ends a command string and the REPL.
var ErrQuit = errors.New("quit")

// ErrSilent marks a failure already reported (for example `event` printing
// "events received: 0"): the command fails with no further "error:" line.
var ErrSilent = errors.New("")
