package cmd

import (
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"virtsh/shell"
)

func dumpOf(disks int) nodeDumpView {
	e := shell.DomNodes{UUID: "5c1f0000-0000-0000-0000-000000000000", Name: "big", ID: 3,
		Last: shell.FillRecord{When: time.Unix(0, 0).UTC(), Reason: "connect", Method: "xml", Took: time.Millisecond}}
	for i := 0; i < disks; i++ {
		idx := uint(i + 1)
		e.Disks = append(e.Disks, shell.DiskNodes{Target: fmt.Sprintf("vd%d", i), Alias: fmt.Sprintf("virtio-disk%d", i),
			Chain: []shell.Layer{{Index: idx, Type: "file", Source: fmt.Sprintf("/var/lib/libvirt/images/d%d.qcow2", i), Format: "qcow2",
				FormatNode: fmt.Sprintf("libvirt-%d-format", idx), StorageNode: fmt.Sprintf("libvirt-%d-storage", idx)}}})
	}
	return nodeDumpView{Domains: []nodeDomView{{DomNodes: e}}}
}

func TestRenderNodeDump(t *testing.T) {
	var b strings.Builder
	renderNodeDump(&b, dumpOf(2))
	want := `Domain 'big' (uuid 5c1f0000-0000-0000-0000-000000000000, id 3)
  last fill:  1970-01-01T00:00:00Z  reason connect  method xml  took 1ms
  counters:   fills 0  scrapes 0  verify hits 0  verify misses 0
   Target   Index   Alias          Format node        Storage node        Format   Bitmaps   Threshold   Source
   vd0      1       virtio-disk0   libvirt-1-format   libvirt-1-storage   qcow2    ?         -           /var/lib/libvirt/images/d0.qcow2
   vd1      2       virtio-disk1   libvirt-2-format   libvirt-2-storage   qcow2    ?         -           /var/lib/libvirt/images/d1.qcow2

Session totals: fills 0  scrapes 0  verify hits 0  verify misses 0  cached lookups 0
`
	if b.String() != want {
		t.Fatalf("got\n%s\nwant\n%s", b.String(), want)
	}
}

// BenchmarkRenderNodeDump: `debug node-names` text for a guest with 100
// disks (client time only; the budget is a millisecond).
func BenchmarkRenderNodeDump(b *testing.B) {
	v := dumpOf(100)
	b.ReportAllocs()
	for b.Loop() {
		renderNodeDump(io.Discard, v)
	}
}
