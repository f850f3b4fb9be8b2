package cmd

import (
	"context"
	"io"
	"strings"
	"testing"

	"github.com/virtsh/virtsh/format"
	"github.com/virtsh/virtsh/shell"
)

// BenchmarkParseInvocation is what the runner does before running each
// command of a line: build the command's declaration and parse its words.
func BenchmarkParseInvocation(b *testing.B) {
	sess := shell.NewSession(&format.IO{Out: io.Discard, Err: io.Discard}, shell.Options{URI: "test:///default"})
	defer sess.Close()
	for _, line := range []string{"dominfo test", "list --all --name"} {
		b.Run(strings.Fields(line)[0], func(b *testing.B) {
			words := strings.Fields(line)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := parseInvocation(sess, words); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// benchRunner is a runner built the way Main builds it, on test:///default,
// writing to io.Discard.
func benchRunner(b *testing.B) *shell.Runner {
	sess := shell.NewSession(&format.IO{In: strings.NewReader(""), Out: io.Discard, Err: io.Discard}, shell.Options{URI: "test:///default"})
	b.Cleanup(sess.Close)
	return NewRunner(sess)
}

// BenchmarkRunnerCommand is the runner's cost of one command line of a piped
// script: split, check on a fresh tree, run, blank line. echo needs
// no connection, so it is the per-command overhead with no RPC; domstate and
// dominfo on the in-process test driver add the commands' own work.
func BenchmarkRunnerCommand(b *testing.B) {
	for _, line := range []string{"echo hi", "domstate test", "dominfo test"} {
		b.Run(strings.Fields(line)[0], func(b *testing.B) {
			r := benchRunner(b)
			ctx := context.Background()
			if res := r.RunString(ctx, line); !res.OK {
				b.Fatalf("%q failed", line)
			}
			b.ReportAllocs()
			for b.Loop() {
				if res := r.RunString(ctx, line); !res.OK {
					b.Fatalf("%q failed", line)
				}
			}
		})
	}
}
