//go:build lab

package cmd

import (
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/virtsh/virtsh/shell/blocknodes"
)

// The cache, filled at first sight from the live XML, equals QEMU's own node
// list, with no QMP from virtsh; a disk-only snapshot taken by plain virsh
// behind virtsh's back is caught by the check before use (one verify miss,
// one fill); 100 threshold calls on an unchanged chain cost no fill.
func TestLabNodeCacheMatchesQEMU(t *testing.T) {
	g := newLabGuest(t, labGuestOpts{Prefix: "nodes", Disks: 2, DiskMiB: 8, Start: true})
	ls := newLabSession(t)

	v := ls.dump(t, g.Name)
	d := v.Domains[0]
	if d.Counters.Fills != 1 || d.Counters.Scrapes != 0 || v.Totals.Scrapes != 0 {
		t.Fatalf("first sight: counters %+v totals %+v, want 1 fill and no scrape", d.Counters, v.Totals)
	}
	if d.Last.Reason != blocknodes.ReasonConnect || d.Last.Method != blocknodes.MethodXML {
		t.Fatalf("first fill: %+v, want connect/xml", d.Last)
	}
	if tainted(t, g) {
		t.Fatalf("virtsh tainted %s (custom-monitor) without --scrape", g.Name)
	}
	if got, want := cachedNodes(v), qemuNodes(t, g); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("cache %v\nQEMU  %v", got, want)
	}

	// 100 threshold calls: the chain does not change, so no fill.
	for i := 0; i < 100; i++ {
		ls.mustRun(t, "domblkthreshold "+g.Name+" vdb 1G")
	}
	v = ls.dump(t, g.Name)
	if c := v.Domains[0].Counters; c.Fills != 1 || c.VerifyHits < 101 || c.VerifyMisses != 0 {
		t.Fatalf("after 100 domblkthreshold: %+v, want 1 fill, ≥101 verify hits, no miss", c)
	}

	// Plain virsh takes a disk-only snapshot: no event reaches virtsh.
	overlay := filepath.Join(g.Dir, "vda-s1.qcow2")
	out, err := exec.Command("virsh", "-c", labURI(), "snapshot-create-as", g.Name, "s1", "--disk-only", "--no-metadata",
		"--diskspec", "vda,file="+overlay, "--diskspec", "vdb,snapshot=no").CombinedOutput()
	if err != nil {
		t.Fatalf("virsh snapshot-create-as: %v\n%s", err, out)
	}
	v = ls.dump(t, g.Name)
	d = v.Domains[0]
	if d.Counters.Fills != 2 || d.Counters.VerifyMisses != 1 || d.Last.Reason != blocknodes.ReasonVerifyMiss || v.Totals.Scrapes != 0 {
		t.Fatalf("after the snapshot behind virtsh's back: counters %+v last %+v", d.Counters, d.Last)
	}
	if top := d.Disks[0].Chain[0]; top.Source != overlay || len(d.Disks[0].Chain) != 2 {
		t.Fatalf("vda chain after snapshot: %+v", d.Disks[0].Chain)
	}
	if got, want := cachedNodes(v), qemuNodes(t, g); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("after snapshot: cache %v\nQEMU  %v", got, want)
	}

	// --verify asks QEMU once and finds no difference.
	out2 := ls.mustRun(t, "debug node-names "+g.Name+" --verify")
	if !strings.Contains(out2, "verify: the cache matches QEMU") {
		t.Fatalf("--verify:\n%s", out2)
	}
	if tot := ls.dump(t, g.Name).Totals; tot.Scrapes != 1 || tot.Fills != 2 {
		t.Fatalf("after --verify: totals %+v, want 1 scrape and still 2 fills", tot)
	}
}

// virtsh's own topology changes: a disk-only snapshot (no event) and an
// active commit with pivot (job start, ready, completed) each cost exactly
// one fill and no scrape, and leave the cache equal to QEMU.
func TestLabNodeCacheOwnChanges(t *testing.T) {
	g := newLabGuest(t, labGuestOpts{Prefix: "nodeop", Disks: 2, DiskMiB: 8, Start: true})
	ls := newLabSession(t)
	ls.dump(t, g.Name)
	check := func(step string, fills int, reason string) {
		t.Helper()
		v := ls.dump(t, g.Name)
		d := v.Domains[0]
		if d.Counters.Fills != fills || v.Totals.Scrapes != 0 || d.Last.Reason != reason {
			t.Fatalf("%s: counters %+v last %+v, want %d fills (%s), no scrape", step, d.Counters, d.Last, fills, reason)
		}
		if got, want := cachedNodes(v), qemuNodes(t, g); strings.Join(got, " ") != strings.Join(want, " ") {
			t.Fatalf("%s: cache %v\nQEMU  %v", step, got, want)
		}
	}
	overlay := filepath.Join(g.Dir, "vda-s1.qcow2")
	ls.mustRun(t, "snapshot-create-as "+g.Name+" s1 --disk-only --no-metadata --diskspec vda,file="+overlay+" --diskspec vdb,snapshot=no")
	check("snapshot-create-as", 2, blocknodes.ReasonSnapshot)
	ls.mustRun(t, "blockcommit "+g.Name+" vda --active --pivot --wait")
	time.Sleep(300 * time.Millisecond) // let the completed event reach the cache
	check("blockcommit --active --pivot", 3, blocknodes.ReasonBlockJob)
	check("unchanged", 3, blocknodes.ReasonBlockJob)
}

// qemuBitmaps is, per node, the names of every named bitmap QEMU holds,
// persistent or not (from the test's side; anonymous job bitmaps aside).
func qemuBitmaps(t *testing.T, g *labGuest) map[string][]string { return queryNodeBitmaps(t, g, false) }

// A scripted session of topology-changing operations, each checked on its
// own: disk-only snapshots, a non-active blockcommit --top/--base, blockpull,
// blockcopy --pivot, checkpoint create and delete. After each, the cache
// equals QEMU's node list and the operation cost exactly one fill, no
// scrape; the session ends with fills = operations + 1 and zero scrapes.
// Then checkpoint bitmaps: --verify shows each on the layer QEMU holds it.
func TestLabNodeCacheScriptedSession(t *testing.T) {
	g := newLabGuest(t, labGuestOpts{Prefix: "nodescr", Disks: 2, DiskMiB: 4})
	base := g.Disks[0]
	qemuIO(t, base, "write -P 0xa1 0 1M")
	if err := g.Dom.Create(); err != nil {
		t.Fatal(err)
	}
	ls := newLabSession(t)
	ops := 0
	check := func(step, reason string) nodeDumpView {
		t.Helper()
		v := ls.dump(t, g.Name)
		d := v.Domains[0]
		if d.Counters.Fills != ops+1 || d.Counters.Scrapes != 0 || v.Totals.Scrapes != 0 || d.Last.Reason != reason || d.Last.Method != blocknodes.MethodXML {
			t.Fatalf("%s: counters %+v last %+v totals %+v, want %d fills (%s, xml), no scrape", step, d.Counters, d.Last, v.Totals, ops+1, reason)
		}
		if got, want := cachedNodes(v), qemuNodes(t, g); strings.Join(got, " ") != strings.Join(want, " ") {
			t.Fatalf("%s: cache %v\nQEMU  %v", step, got, want)
		}
		return v
	}
	// A block job's completed event may reach the cache just after --wait
	// returns; the check must not race it (it would cost a second fill).
	settle := func() { time.Sleep(500 * time.Millisecond) }
	op := func(line string) {
		t.Helper()
		ls.mustRun(t, line)
		ops++
	}

	check("first sight", blocknodes.ReasonConnect)
	s1, s2, cp := filepath.Join(g.Dir, "s1.qcow2"), filepath.Join(g.Dir, "s2.qcow2"), filepath.Join(g.Dir, "copy.qcow2")
	op("snapshot-create-as " + g.Name + " s1 --disk-only --no-metadata --diskspec vda,file=" + s1 + " --diskspec vdb,snapshot=no")
	check("snapshot s1", blocknodes.ReasonSnapshot)
	g.GuestWrite(t, "vda", 0xb2, "1M", "1M")
	op("snapshot-create-as " + g.Name + " s2 --disk-only --no-metadata --diskspec vda,file=" + s2 + " --diskspec vdb,snapshot=no")
	v := check("snapshot s2", blocknodes.ReasonSnapshot)
	g.GuestWrite(t, "vda", 0xc3, "2M", "1M")
	wantChain(t, g, "vda", s2, s1, base)
	chain := v.Domains[0].Disks[0].Chain
	if len(chain) != 3 {
		t.Fatalf("cached vda chain: %+v", chain)
	}

	op(fmt.Sprintf("blockcommit %s vda --top 'vda[%d]' --base 'vda[%d]' --wait", g.Name, chain[1].Index, chain[2].Index))
	settle()
	check("blockcommit --top --base", blocknodes.ReasonBlockJob)
	wantChain(t, g, "vda", s2, base)

	op("blockpull " + g.Name + " vda --wait")
	settle()
	check("blockpull", blocknodes.ReasonBlockJob)
	wantChain(t, g, "vda", s2)

	op("blockcopy " + g.Name + " vda " + cp + " --format qcow2 --transient-job --pivot")
	settle()
	check("blockcopy --pivot", blocknodes.ReasonBlockJob)
	wantChain(t, g, "vda", cp)

	op("checkpoint-create-as " + g.Name + " cp1")
	check("checkpoint-create-as", blocknodes.ReasonCheckpoint)
	op("checkpoint-delete " + g.Name + " cp1")
	v = check("checkpoint-delete", blocknodes.ReasonCheckpoint)
	if v.Totals.Fills != ops+1 || v.Totals.Scrapes != 0 {
		t.Fatalf("session totals %+v after %d operations, want %d fills and no scrape", v.Totals, ops, ops+1)
	}

	// Checkpoint bitmaps: cp2 on the top of both disks; a snapshot then
	// copies it to the new overlay and the old layer keeps its own copy.
	ls.mustRun(t, "checkpoint-create-as "+g.Name+" cp2")
	s3 := filepath.Join(g.Dir, "s3.qcow2")
	ls.mustRun(t, "snapshot-create-as "+g.Name+" s3 --disk-only --no-metadata --diskspec vda,file="+s3+" --diskspec vdb,snapshot=no")
	// Without QEMU: derived from the checkpoint XML, on the top layers only.
	dv := ls.dump(t, g.Name)
	if dv.Totals.Scrapes != 0 {
		t.Fatalf("the derived bitmaps cost a scrape: %+v", dv.Totals)
	}
	for _, disk := range dv.Domains[0].Disks {
		top := disk.Chain[0]
		if !top.BitmapsDerived || top.BitmapsKnown || !reflect.DeepEqual(top.Bitmaps, []string{"cp2"}) {
			t.Fatalf("%s top: derived bitmaps %+v", disk.Target, top)
		}
		for _, l := range disk.Chain[1:] {
			if l.BitmapsDerived || l.BitmapsKnown {
				t.Fatalf("%s[%d]: bitmaps claimed without QEMU: %+v", disk.Target, l.Index, l)
			}
		}
	}
	text := ls.mustRun(t, "debug node-names "+g.Name)
	if !strings.Contains(text, " cp2 (derived) ") || !strings.Contains(text, "  scrapes 0  ") {
		t.Fatalf("text dump with derived bitmaps:\n%s", text)
	}
	out := ls.mustRun(t, "debug node-names "+g.Name+" --verify -o json")
	var vv nodeDumpView
	if err := json.Unmarshal([]byte(out), &vv); err != nil {
		t.Fatalf("--verify -o json: %v\n%s", err, out)
	}
	if d := vv.Domains[0]; d.Verify == nil || len(d.Verify.Differences) != 0 {
		t.Fatalf("--verify differences: %+v", d.Verify)
	}
	qb := qemuBitmaps(t, g)
	seen := 0
	for _, disk := range vv.Domains[0].Disks {
		for _, l := range disk.Chain {
			got := append([]string(nil), l.Bitmaps...)
			sort.Strings(got)
			if !l.BitmapsKnown || !reflect.DeepEqual(got, append([]string(nil), qb[l.FormatNode]...)) && !(len(got) == 0 && len(qb[l.FormatNode]) == 0) {
				t.Errorf("%s[%d] %s: cache bitmaps %v (known %v), QEMU %v", disk.Target, l.Index, l.FormatNode, got, l.BitmapsKnown, qb[l.FormatNode])
			}
			seen += len(got)
		}
	}
	top := vv.Domains[0].Disks[0].Chain
	if len(top) < 2 || !reflect.DeepEqual(top[0].Bitmaps, []string{"cp2"}) || !reflect.DeepEqual(top[1].Bitmaps, []string{"cp2"}) {
		t.Fatalf("vda chain bitmaps after snapshot: %+v", top)
	}
	if b := vv.Domains[0].Disks[1].Chain[0].Bitmaps; !reflect.DeepEqual(b, []string{"cp2"}) {
		t.Fatalf("vdb top bitmaps: %v", b)
	}
	if seen != 3 {
		t.Fatalf("%d bitmaps in the cache, want 3 (vda top and below, vdb top)", seen)
	}
	// --verify compares bitmaps with the checkpoint metadata too: after
	// `checkpoint-delete --metadata` QEMU still holds cp2 on both tops,
	// and no checkpoint names it.
	ls.mustRun(t, "checkpoint-delete "+g.Name+" cp2 --metadata")
	vtext := ls.mustRun(t, "debug node-names "+g.Name+" --verify")
	for _, want := range []string{"bitmap cp2 on " + top[0].FormatNode + " in QEMU, no checkpoint names it",
		"bitmap cp2 on " + vv.Domains[0].Disks[1].Chain[0].FormatNode + " in QEMU, no checkpoint names it"} {
		if !strings.Contains(vtext, want) {
			t.Errorf("--verify after checkpoint-delete --metadata does not say %q:\n%s", want, vtext)
		}
	}
	if strings.Contains(vtext, "the cache matches QEMU") {
		t.Errorf("--verify says it matches with a bitmap no checkpoint names:\n%s", vtext)
	}

	// The data went where it should: the copy holds all three layers'.
	stopGuest(t, g)
	qemuIO(t, cp, "read -P 0xa1 0 1M", "read -P 0xb2 1M 1M", "read -P 0xc3 2M 1M")
}

// A guest started by another client (plain virsh) while a virtsh session is
// open: the lifecycle event marks it, and the first use fills it once with
// reason "started" and QEMU's names, without QMP.
func TestLabNodeCacheGuestStartedByOtherClient(t *testing.T) {
	g := newLabGuest(t, labGuestOpts{Prefix: "nodestart", Disks: 2, DiskMiB: 4})
	ls := newLabSession(t)
	// The session is connected and the cache has registered its events.
	if _, errS, ok := ls.run("debug node-names " + g.Name); ok || errS != "error: Requested operation is not valid: domain is not running\n" {
		t.Fatalf("stopped guest: ok=%v %q", ok, errS)
	}
	if out, err := exec.Command("virsh", "-c", labURI(), "start", g.Name).CombinedOutput(); err != nil {
		t.Fatalf("virsh start: %v\n%s", err, out)
	}
	time.Sleep(time.Second) // the started event reaches the session
	v := ls.dump(t, g.Name)
	d := v.Domains[0]
	if d.Counters.Fills != 1 || d.Last.Reason != blocknodes.ReasonStarted || d.Last.Method != blocknodes.MethodXML || v.Totals.Scrapes != 0 {
		t.Fatalf("first use after another client's start: counters %+v last %+v totals %+v", d.Counters, d.Last, v.Totals)
	}
	if tainted(t, g) {
		t.Fatal("virtsh tainted the guest")
	}
	if got, want := cachedNodes(v), qemuNodes(t, g); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("cache %v\nQEMU  %v", got, want)
	}
}

// A SATA cdrom with media: QEMU names its device by the alias alone
// ("sata0-0-0", no /machine/peripheral/ path), so the QMP scrape must map
// it too: --verify finds no difference and --scrape keeps its nodes.
func TestLabNodeNamesSATACdrom(t *testing.T) {
	g := newLabGuest(t, labGuestOpts{Prefix: "nncd", CDROM: true, Start: true})
	ls := newLabSession(t)
	want := qemuNodes(t, g)
	if got := cachedNodes(ls.dump(t, g.Name)); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("derived nodes %v, QEMU has %v", got, want)
	}
	if out := ls.mustRun(t, "debug node-names "+g.Name+" --verify"); !strings.Contains(out, "verify: the cache matches QEMU") {
		t.Errorf("--verify on a guest with a SATA cdrom:\n%s", out)
	}
	ls.mustRun(t, "debug node-names "+g.Name+" --scrape")
	if got := cachedNodes(ls.dump(t, g.Name)); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("after --scrape the cache holds %v, QEMU has %v", got, want)
	}
}
