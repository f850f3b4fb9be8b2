package cmd

import (
	"io"
	"testing"

	"virtsh/format"
	"virtsh/shell"
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
