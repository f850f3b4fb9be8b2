package format

import (
	"fmt"
	"io"
	"testing"
)

func tableRows(n int) [][]string {
	rows := make([][]string, n)
	for i := range rows {
		rows[i] = []string{fmt.Sprint(i + 1), fmt.Sprintf("vt-guest-%05d", i), "running"}
	}
	return rows
}

// BenchmarkTable10k renders a 10,000-row `list`-style table.
func BenchmarkTable10k(b *testing.B) {
	header := []string{"Id", "Name", "State"}
	for b.Loop() {
		b.StopTimer()
		rows := tableRows(10000) // Table escapes cells in place
		b.StartTimer()
		if err := Table(io.Discard, false, header, rows); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEncodeJSON10k encodes 10,000 guest views as `list -o json` would.
func BenchmarkEncodeJSON10k(b *testing.B) {
	views := make([]guestView, 10000)
	for i := range views {
		views[i] = guestView{Name: fmt.Sprintf("vt-guest-%05d", i), ID: i + 1, State: "running",
			MemBytes: 1 << 30, Disks: []string{"vda", "vdb"}, Title: "a guest"}
	}
	io := &IO{Out: io.Discard, Output: "json"}
	for b.Loop() {
		if err := io.Encode(views); err != nil {
			b.Fatal(err)
		}
	}
}
