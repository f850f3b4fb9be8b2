package format

import (
	"bytes"
	"strings"
	"testing"
)

func TestVirshPercent(t *testing.T) {
	cases := []struct {
		cur, end uint64
		want     int
	}{
		{0, 0, 100}, {0, 100, 0}, {45, 100, 45}, {999, 1000, 99}, {99999, 100000, 99},
		{100, 100, 100}, {1, 3, 33}, {2, 3, 66}, {5, 4, 100},
	}
	for _, c := range cases {
		if got := VirshPercent(c.cur, c.end); got != c.want {
			t.Errorf("VirshPercent(%d, %d) = %d, want %d", c.cur, c.end, got, c.want)
		}
	}
}

// Not on a terminal, the stream is byte for byte what virsh 9.0 writes:
// nothing for 0 of 0, one line per change, [100 %] at the end.
func TestProgressTextMatchesVirsh(t *testing.T) {
	var b bytes.Buffer
	p := newProgress(&b, "Block commit", false)
	p.Update(0, 0)
	p.Update(0, 4<<20)
	p.Update(1<<20, 4<<20)
	p.Update(1<<20, 4<<20)
	p.Update(4<<20-1, 4<<20)
	p.Complete()
	p.Close()
	want := "\rBlock commit: [  0 %]\rBlock commit: [ 25 %]\rBlock commit: [ 99 %]\rBlock commit: [100 %]"
	if b.String() != want {
		t.Errorf("got %q, want %q", b.String(), want)
	}
}

// On a terminal the bar shows bytes of total and a rate; it never prints
// virsh's bracket form.
func TestProgressBarShowsBytes(t *testing.T) {
	var b bytes.Buffer
	p := newProgress(&b, "Block Copy", true)
	p.Update(2<<20, 4<<20)
	p.Complete()
	p.Close()
	out := b.String()
	if !strings.Contains(out, "Block Copy") || !strings.Contains(out, "MiB") || !strings.Contains(out, "100%") {
		t.Errorf("bar output lacks label/bytes/percent: %q", out)
	}
	if strings.Contains(out, "[100 %]") {
		t.Errorf("bar output has virsh's text form: %q", out)
	}
}
