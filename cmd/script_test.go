package cmd

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/virtsh/virtsh/shell"
)

// A script longer than the line queue holds runs every line, in order; a
// quit in the middle ends it there.
func TestScriptManyLines(t *testing.T) {
	const n = 3*maxQueued + 17
	var in, want strings.Builder
	for i := range n {
		fmt.Fprintf(&in, "echo %d\n", i)
		fmt.Fprintf(&want, "%d\n", i)
	}
	out, errOut, code := runMain(t, in.String())
	if code != 0 || errOut != "" || out != want.String() {
		t.Errorf("%d lines: code %d, stderr %q, stdout %d bytes (want %d)", n, code, errOut, len(out), want.Len())
	}

	in.Reset()
	for i := range n {
		if i == maxQueued+5 {
			in.WriteString("quit\n")
		}
		fmt.Fprintf(&in, "echo %d\n", i)
	}
	out, _, code = runMain(t, in.String())
	if last := fmt.Sprintf("\n%d\n", maxQueued+4); code != 0 || !strings.HasSuffix(out, last) || strings.Count(out, "\n") != maxQueued+5 {
		t.Errorf("quit after line %d: code %d, stdout ends %q", maxQueued+5, code, out[max(0, len(out)-20):])
	}
}

// Lines that come slowly (a program feeding virtsh) run as they come, and a
// read error after them is reported.
func TestScriptSlowLines(t *testing.T) {
	r, w := io.Pipe()
	go func() {
		fmt.Fprintln(w, "echo one")
		time.Sleep(2 * shell.EventLoopDelay) // the runner waits, then starts the event loop
		fmt.Fprintln(w, "echo two; nosuch")
		time.Sleep(shell.EventLoopDelay / 5)
		w.CloseWithError(fmt.Errorf("read failed"))
	}()
	var out, errb bytes.Buffer
	code := Main(nil, r, &out, &errb)
	if code != 1 || out.String() != "one\n" || errb.String() != "error: unknown command: 'nosuch'\nerror: read failed\n" {
		t.Errorf("code %d, stdout %q, stderr %q", code, out.String(), errb.String())
	}
}
