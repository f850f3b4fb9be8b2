package shell

import (
	"strings"
	"testing"
)

func BenchmarkSplit(b *testing.B) {
	line := `blockcopy vt-guest vda /var/lib/images/"copy of vda".qcow2 --wait --verbose --pivot; echo --shell 'a b' "c\"d" e\ f # done`
	b.Run("line", func(b *testing.B) {
		b.SetBytes(int64(len(line)))
		for b.Loop() {
			if _, err := Split(line); err != nil {
				b.Fatal(err)
			}
		}
	})
	script := strings.Repeat(line+"\n", 1000)
	b.Run("script-1000-lines", func(b *testing.B) {
		b.SetBytes(int64(len(script)))
		for b.Loop() {
			if _, err := Split(script); err != nil {
				b.Fatal(err)
			}
		}
	})
}
