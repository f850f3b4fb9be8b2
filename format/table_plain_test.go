package format

import (
	"bytes"
	"math/rand/v2"
	"strings"
	"testing"
)

// The ASCII fast path must print byte for byte what the tablewriter path
// prints (which the golden tests check against virsh).
func TestPlainTableMatches(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	word := func() string {
		const chars = "abcXYZ019 -_.:/()"
		n := rng.IntN(14)
		if rng.IntN(8) == 0 {
			n = 0
		}
		var b strings.Builder
		for range n {
			b.WriteByte(chars[rng.IntN(len(chars))])
		}
		if rng.IntN(2) == 0 {
			return b.String()
		}
		return strings.TrimSpace(b.String())
	}
	for i := range 300 {
		cols := 1 + rng.IntN(5)
		header := make([]string, cols)
		for c := range header {
			header[c] = word()
			if header[c] == "" {
				header[c] = "H"
			}
		}
		rows := make([][]string, rng.IntN(6))
		for r := range rows {
			rows[r] = make([]string, cols)
			for c := range rows[r] {
				rows[r][c] = word()
			}
		}
		for _, quiet := range []bool{false, true} {
			if len(rows) == 0 {
				continue // the empty table has its own path
			}
			if !plainTable(header, rows) {
				t.Fatalf("case %d: ASCII rows not taken as plain", i)
			}
			var fast, slow bytes.Buffer
			if err := writePlain(&fast, quiet, header, rows); err != nil {
				t.Fatal(err)
			}
			if err := renderTable(&slow, quiet, header, rows); err != nil {
				t.Fatal(err)
			}
			if fast.String() != slow.String() {
				t.Fatalf("case %d quiet=%v header=%q rows=%q:\nfast:\n%s\ntablewriter:\n%s", i, quiet, header, rows, fast.String(), slow.String())
			}
		}
	}
}

func TestPlainTableOnlyASCII(t *testing.T) {
	h := []string{"Id", "Name"}
	for _, cell := range []string{"日本", "é", "a\u0301"} {
		if plainTable(h, [][]string{{"1", cell}}) {
			t.Errorf("%q taken as plain ASCII", cell)
		}
	}
}
