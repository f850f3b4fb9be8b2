package format

import (
	"bytes"
	"fmt"
	"io"
	"testing"
)

// The hot pure parts of `list --all` on a big host (issue 8): the virsh table
// and the JSON view of 10,000 guests.

func benchRows(n int) [][]string {
	rows := make([][]string, n)
	for i := range rows {
		id, state := "-", "shut off"
		if i%3 == 0 {
			id, state = fmt.Sprint(i+1), "running"
		}
		rows[i] = []string{id, fmt.Sprintf("vt-bench-%05d", i), state}
	}
	return rows
}

func BenchmarkTable10000(b *testing.B) {
	rows := benchRows(10000)
	header := []string{"Id", "Name", "State"}
	b.ReportAllocs()
	for b.Loop() {
		if err := Table(io.Discard, false, header, rows); err != nil {
			b.Fatal(err)
		}
	}
}

// benchGuest has the shape of `list -o json`'s view (cmd.listView).
type benchGuest struct {
	ID    *uint   `json:"id" yaml:"id"`
	Name  string  `json:"name" yaml:"name"`
	UUID  string  `json:"uuid" yaml:"uuid"`
	State string  `json:"state" yaml:"state"`
	Title *string `json:"title,omitempty" yaml:"title,omitempty"`
}

func benchGuests(n int) []benchGuest {
	out := make([]benchGuest, n)
	for i := range out {
		out[i] = benchGuest{Name: fmt.Sprintf("vt-bench-%05d", i), UUID: fmt.Sprintf("6695eb01-f6a4-8304-79aa-97f2%08x", i), State: "shut off"}
		if i%3 == 0 {
			id := uint(i + 1)
			out[i].ID, out[i].State = &id, "running"
		}
	}
	return out
}

func BenchmarkJSON10000(b *testing.B) {
	v := benchGuests(10000)
	var buf bytes.Buffer
	s := &IO{Out: &buf, Output: "json"}
	b.ReportAllocs()
	for b.Loop() {
		buf.Reset()
		if err := s.Encode(v); err != nil {
			b.Fatal(err)
		}
	}
}
