package cmd

import (
	"context"
	"io"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/virtsh/virtsh/format"
	"github.com/virtsh/virtsh/shell"
)

// BenchmarkNewRoot is the tree the runner builds for every command it checks
// and runs (twice per command of a piped script).
func BenchmarkNewRoot(b *testing.B) {
	sess := shell.NewSession(&format.IO{Out: io.Discard, Err: io.Discard}, shell.Options{URI: "test:///default"})
	defer sess.Close()
	b.ReportAllocs()
	for b.Loop() {
		NewRoot(sess)
	}
}

// BenchmarkRootFor is the tree the runner builds per command instead.
func BenchmarkRootFor(b *testing.B) {
	sess := shell.NewSession(&format.IO{Out: io.Discard, Err: io.Discard}, shell.Options{URI: "test:///default"})
	defer sess.Close()
	b.ReportAllocs()
	for b.Loop() {
		newRootFor(sess, "dominfo")
	}
}

// benchRunner is a runner built the way Main builds it, on test:///default,
// writing to io.Discard.
func benchRunner(b *testing.B) *shell.Runner {
	sess := shell.NewSession(&format.IO{In: strings.NewReader(""), Out: io.Discard, Err: io.Discard}, shell.Options{URI: "test:///default"})
	b.Cleanup(sess.Close)
	return &shell.Runner{Sess: sess, NewTree: func() *cobra.Command { return NewRoot(sess) },
		TreeFor: func(name string) *cobra.Command { return newRootFor(sess, name) }}
}

// BenchmarkRunnerCommand is the runner's cost of one command line of a piped
// script (issue 8): split, check on a fresh tree, run, blank line. echo needs
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
