package cmd

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
)

// writeLog records what store asked of the image.
type writeLog struct{ ops []string }

func (w *writeLog) Pwrite(b []byte, off int64) error {
	w.ops = append(w.ops, fmt.Sprintf("write %d+%d", off, len(b)))
	return nil
}

func (w *writeLog) Zero(off, length int64) error {
	w.ops = append(w.ops, fmt.Sprintf("zero %d+%d", off, length))
	return nil
}

// A pulled chunk is stored as runs of data and of zero blocks: zero
// clusters for an inc (they hide the data below), nothing for a full.
func TestPullStoreSplitsZeroBlocks(t *testing.T) {
	k := int64(zeroBlock)
	chunk := make([]byte, 6*k)
	copy(chunk[0:], bytes.Repeat([]byte{1}, int(k)))     // block 0: data
	copy(chunk[3*k+5:], []byte{2})                       // block 3: data (one byte)
	copy(chunk[4*k:], bytes.Repeat([]byte{3}, int(2*k))) // blocks 4, 5: data
	base := int64(1 << 30)
	for _, c := range []struct {
		parent, want string
	}{
		{"", fmt.Sprintf("write %d+%d, write %d+%d", base, k, base+3*k, 3*k)},
		{"/repo/p1.qcow2", fmt.Sprintf("write %d+%d, zero %d+%d, write %d+%d", base, k, base+k, 2*k, base+3*k, 3*k)},
	} {
		var w writeLog
		p := &diskPull{parentImg: c.parent}
		if err := p.store(&w, chunk, base); err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(w.ops, ", "); got != c.want {
			t.Errorf("parent %q: %s, want %s", c.parent, got, c.want)
		}
	}
	// A short last chunk, all zeros.
	var w writeLog
	if err := (&diskPull{parentImg: "p"}).store(&w, make([]byte, 100), 7); err != nil || strings.Join(w.ops, ",") != "zero 7+100" {
		t.Errorf("short zero chunk: %v %v", w.ops, err)
	}
}
