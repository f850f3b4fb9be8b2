package cmd

import (
	"fmt"
	"io"
	"strings"
	"testing"
	"time"
)

func dumpOf(disks int) nodeDumpView {
	e := nodeDomView{UUID: "5c1f0000-0000-0000-0000-000000000000", Name: "big", ID: 3,
		Last: fillView{When: time.Unix(0, 0).UTC(), Reason: "connect", Method: "xml", Took: time.Millisecond}}
	for i := 0; i < disks; i++ {
		idx := uint(i + 1)
		e.Disks = append(e.Disks, diskNodesView{Target: fmt.Sprintf("vd%d", i), Alias: fmt.Sprintf("virtio-disk%d", i),
			Chain: []layerView{{Index: idx, Type: "file", Source: fmt.Sprintf("/var/lib/libvirt/images/d%d.qcow2", i), Format: "qcow2",
				FormatNode: fmt.Sprintf("libvirt-%d-format", idx), StorageNode: fmt.Sprintf("libvirt-%d-storage", idx)}}})
	}
	return nodeDumpView{Domains: []nodeDomView{e}}
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

// --scrape-mode sets the session's setting and dumps nothing; bad values and
// combinations are refused and change nothing.
func TestDebugScrapeMode(t *testing.T) {
	t.Setenv("VIRTSH_NODE_NAME_SCRAPE", "")
	ts := newTestShell(t, "test:///default")
	if ts.sess.Nodes().ScrapeMode() {
		t.Fatal("scrape mode on at start without VIRTSH_NODE_NAME_SCRAPE")
	}
	if out := ts.mustRun("debug node-names --scrape-mode on"); out != "" {
		t.Fatalf("quiet --scrape-mode on printed %q", out)
	}
	if !ts.sess.Nodes().ScrapeMode() {
		t.Fatal("--scrape-mode on did not turn the mode on")
	}
	for _, c := range []struct{ line, want string }{
		{"debug node-names --scrape-mode maybe", "error: invalid scrape mode 'maybe': use on or off\n"},
		{"debug node-names test --scrape-mode off", "error: Option --scrape-mode takes no <domain>, --scrape or --verify\n"},
		{"debug node-names --verify --scrape-mode off", "error: Option --scrape-mode takes no <domain>, --scrape or --verify\n"},
	} {
		if _, errS, ok := ts.run(c.line); ok || errS != c.want {
			t.Errorf("%s: ok=%v stderr %q, want %q", c.line, ok, errS, c.want)
		}
	}
	if !ts.sess.Nodes().ScrapeMode() {
		t.Fatal("a refused --scrape-mode changed the mode")
	}
	ts.mustRun("debug node-names --scrape-mode off")
	if ts.sess.Nodes().ScrapeMode() {
		t.Fatal("--scrape-mode off did not turn the mode off")
	}
	out, _, _ := runMain(t, "", "debug", "node-names", "--scrape-mode", "on")
	if out != "Node-name scrape mode: on\n\n" {
		t.Fatalf("one-shot --scrape-mode on: %q", out)
	}
}

func TestRenderNodeDumpScrapeMode(t *testing.T) {
	var b strings.Builder
	v := dumpOf(0)
	v.Domains = nil
	v.ScrapeMode = true
	renderNodeDump(&b, v)
	if want := "Session totals: fills 0  scrapes 0  verify hits 0  verify misses 0  cached lookups 0\nScrape mode: on (every fill asks QEMU)\n"; b.String() != want {
		t.Fatalf("got %q, want %q", b.String(), want)
	}
}
