// Package format owns everything virtsh writes: the IO streams, virsh-compatible
// tables, JSON/YAML encoders, sizes and the scaled-integer parser. It imports no
// other virtsh package (README, "Architecture").
package format

import (
	"io"
	"os"

	"github.com/itchyny/gojq"
	"golang.org/x/term"
)

// IO carries the streams every command writes to. Commands never touch
// os.Stdout/os.Stderr directly, so tests can capture exactly what a user sees.
type IO struct {
	In  io.Reader
	Out io.Writer
	Err io.Writer

	// Quiet is virsh's -q: no banner, no success messages, no table headers,
	// no blank line after each command.
	Quiet bool
	// Output is the -o value: "table" (virsh text), "json" or "yaml".
	Output string
	// jq is the --jq filter (SetJQ), nil without one.
	jq *gojq.Code
}

// Structured reports whether the user asked for machine-readable output.
func (s *IO) Structured() bool { return s.Output == "json" || s.Output == "yaml" }

// IsTerminal reports whether w is a terminal (progress bars only draw there).
func IsTerminal(w any) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// Extra prints like virsh's vshPrintExtra: suppressed under -q.
func (s *IO) Extra(format string, args ...any) {
	// Under -o json|yaml stdout is data only: a success message is not
	// data (an action command prints nothing there).
	if s.Quiet || s.Structured() {
		return
	}
	fprintf(s.Out, format, args...)
}

// Printf prints to stdout unconditionally (virsh's vshPrint).
func (s *IO) Printf(format string, args ...any) { fprintf(s.Out, format, args...) }

// Errorf prints to stderr unconditionally.
func (s *IO) Errorf(format string, args ...any) { fprintf(s.Err, format, args...) }

// OutputFormats lists the values -o accepts, in the order help and completion show them.
var OutputFormats = []string{"table", "json", "yaml"}

// ValidOutput reports whether s is a known -o value.
func ValidOutput(s string) bool {
	for _, f := range OutputFormats {
		if f == s {
			return true
		}
	}
	return false
}
