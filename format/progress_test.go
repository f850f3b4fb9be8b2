package format

import (
	"bytes"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"
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

// syncBuffer is the terminal a bar draws on from mpb's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// frames splits a bar's output into the frames drawn, each one line
// (every frame after the first starts with cursor-up and erase-below).
func frames(t *testing.T, out string) []string {
	t.Helper()
	if !strings.HasSuffix(out, "\n") {
		t.Fatalf("bar output does not end its line: %q", out)
	}
	fs := strings.Split(strings.TrimSuffix(out, "\n"), "\n\x1b[1A\x1b[J")
	for _, f := range fs {
		if strings.Contains(f, "\n") || strings.Contains(f, "\r") {
			t.Errorf("frame is not one line: %q", f)
		}
		// The bar is at most 30 wide, the whole line fits 80 columns.
		if n := utf8.RuneCountInString(f); n > 80 {
			t.Errorf("frame is %d columns wide: %q", n, f)
		}
	}
	return fs
}

// settled fails unless nothing more is written to w and mpb's goroutines
// are gone once Complete/Close has returned.
func settled(t *testing.T, w *syncBuffer, goroutines int) {
	t.Helper()
	n := len(w.String())
	time.Sleep(300 * time.Millisecond)
	if got := w.String(); len(got) != n {
		t.Errorf("written after Close returned: %q", got[n:])
	}
	for i := 0; runtime.NumGoroutine() > goroutines; i++ {
		if i == 100 {
			t.Fatalf("%d goroutines left running, %d before the bar", runtime.NumGoroutine(), goroutines)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// On a terminal the bar shows label, percent, bytes of total and a rate, its
// last frame is 100 % and ends the line; it never prints virsh's bracket form.
func TestProgressBarShowsBytes(t *testing.T) {
	g := runtime.NumGoroutine()
	var w syncBuffer
	p := newProgress(&w, "Block Copy", true)
	p.Update(2<<20, 4<<20)
	p.Complete()
	p.Close()
	out := w.String()
	fs := frames(t, out)
	last := fs[len(fs)-1]
	if !regexp.MustCompile(`^Block Copy 100% \|█{20,30}\| \(4\.0/4\.0 MiB, [0-9.]+ [KMGT]?i?B/s\) \[0s:0s\] *$`).MatchString(last) {
		t.Errorf("last frame: %q", last)
	}
	if strings.Contains(out, "[100 %]") {
		t.Errorf("bar output has virsh's text form: %q", out)
	}
	settled(t, &w, g)
}

// Aborted (Ctrl-C, a failed job), the bar stops where it was and ends its
// line, so "Commit aborted" is not written onto it.
func TestProgressBarClose(t *testing.T) {
	g := runtime.NumGoroutine()
	var w syncBuffer
	p := newProgress(&w, "Block Pull", true)
	p.Update(0, 0) // nothing to draw yet, as virsh
	p.Update(1<<20, 4<<20)
	time.Sleep(250 * time.Millisecond) // a frame or two on the refresh beat
	p.Close()
	p.Close()
	fs := frames(t, w.String())
	if len(fs) < 2 {
		t.Errorf("no frame drawn while the job ran: %q", fs)
	}
	for _, f := range fs {
		if !regexp.MustCompile(`^Block Pull  25% \|█{7}  +\| \(1\.0/4\.0 MiB, [0-9.]+ [KMGT]?i?B/s\) \[0s:(\d+s|\?)\] *$`).MatchString(f) {
			t.Errorf("frame: %q", f)
		}
	}
	settled(t, &w, g)

	// A job that never reported a position draws nothing.
	var quiet syncBuffer
	p = newProgress(&quiet, "Block Pull", true)
	p.Update(0, 0)
	p.Close()
	if quiet.String() != "" {
		t.Errorf("bar drawn for 0 of 0: %q", quiet.String())
	}
	settled(t, &quiet, g)
}

// An active commit's end grows while the guest writes: reaching the end
// known so far does not finish the bar, only Complete does.
func TestProgressBarGrowingEnd(t *testing.T) {
	var w syncBuffer
	p := newProgress(&w, "Block commit", true)
	p.Update(1<<20, 2<<20)
	p.Update(2<<20, 2<<20)
	p.Update(2<<20, 8<<20)
	time.Sleep(250 * time.Millisecond)
	fs := frames(t, w.String())
	if last := fs[len(fs)-1]; !strings.HasPrefix(last, "Block commit  25% |") || !strings.Contains(last, "(2.0/8.0 MiB, ") {
		t.Errorf("the bar did not follow the new end: %q", last)
	}
	p.Update(6<<20, 8<<20)
	p.Complete()
	p.Close()
	fs = frames(t, w.String())
	if last := fs[len(fs)-1]; !strings.HasPrefix(last, "Block commit 100% |") || !strings.Contains(last, "(8.0/8.0 MiB, ") {
		t.Errorf("last frame: %q", last)
	}
}

// Drawing is throttled to the refresh beat whatever the rate of updates,
// and Update never waits for a frame.
func TestProgressBarThrottled(t *testing.T) {
	var w syncBuffer
	p := newProgress(&w, "Backup", true)
	for i := uint64(1); i <= 2000; i++ {
		p.Update(i<<10, 4000<<10)
	}
	p.Close()
	if fs := frames(t, w.String()); len(fs) > 3 {
		t.Errorf("%d frames for a burst of updates, want the refresh beat's few", len(fs))
	}
	if !strings.Contains(w.String(), "Backup  50% |") {
		t.Errorf("last position not drawn: %q", w.String())
	}
}
