//go:build lab

package nbd

import (
	"bytes"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestLabReadWriteAndBlockStatus: through a qemu-nbd this package starts,
// a qcow2 image is written, read back, and its allocation reported.
func TestLabReadWriteAndBlockStatus(t *testing.T) {
	img := filepath.Join(t.TempDir(), "a.qcow2")
	if out, err := exec.Command("qemu-img", "create", "-q", "-f", "qcow2", img, "8M").CombinedOutput(); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	c, err := ConnectCommand([]string{"qemu-nbd", "-f", "qcow2", img})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := c.Size(); err != nil || n != 8<<20 {
		t.Fatalf("size %d %v", n, err)
	}
	data := bytes.Repeat([]byte{0x7e}, 1<<20)
	if err := c.Pwrite(data, 2<<20); err != nil {
		t.Fatal(err)
	}
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
	c.Close()

	c, err = ConnectCommand([]string{"qemu-nbd", "-r", "-f", "qcow2", img}, BaseAllocation)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if !c.CanMetaContext(BaseAllocation) {
		t.Fatal("no base:allocation")
	}
	ext, err := c.BlockStatus(BaseAllocation, 0, 8<<20)
	if err != nil {
		t.Fatal(err)
	}
	var data1 []Extent
	for _, e := range ext {
		if e.Flags&StateHole == 0 {
			data1 = append(data1, e)
		}
	}
	if len(data1) != 1 || data1[0].Offset != 2<<20 || data1[0].Length != 1<<20 {
		t.Errorf("allocated extents %+v (all %+v)", data1, ext)
	}
	got := make([]byte, 1<<20)
	if err := c.Pread(got, 2<<20); err != nil || !bytes.Equal(got, data) {
		t.Errorf("read back: %v", err)
	}
	if c.Read.Load() != 1<<20 {
		t.Errorf("bytes read counted %d", c.Read.Load())
	}
}
