//go:build lab

package cmd

import (
	"bytes"
	"context"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"libvirt.org/go/libvirt"

	"github.com/virtsh/virtsh/format"
	"github.com/virtsh/virtsh/shell"
	"github.com/virtsh/virtsh/shell/blocknodes"
)

// labSession is one virtsh session (one connection, one node-name cache) on
// the lab, as in the REPL: each run() is one command line.
type labSession struct {
	mu     sync.Mutex
	out    *bytes.Buffer
	errb   *bytes.Buffer
	runner *shell.Runner
}

func newLabSession(t *testing.T) *labSession {
	t.Helper()
	ls := &labSession{out: &bytes.Buffer{}, errb: &bytes.Buffer{}}
	io := &format.IO{In: strings.NewReader(""), Out: ls.out, Err: ls.errb, Output: "table", Quiet: true}
	sess := shell.NewSession(io, shell.Options{URI: labURI()})
	t.Cleanup(sess.Close)
	ls.runner = NewRunner(sess)
	return ls
}

func (ls *labSession) run(line string) (stdout, stderr string, ok bool) {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	ls.out.Reset()
	ls.errb.Reset()
	res := ls.runner.RunString(context.Background(), line)
	return ls.out.String(), ls.errb.String(), res.OK
}

func (ls *labSession) mustRun(t *testing.T, line string) string {
	t.Helper()
	out, errs, ok := ls.run(line)
	if !ok {
		t.Fatalf("%s: failed: %s", line, errs)
	}
	return out
}

func (ls *labSession) dump(t *testing.T, name string) nodeDumpView {
	t.Helper()
	out := ls.mustRun(t, "debug node-names "+name+" -o json")
	var v nodeDumpView
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("debug node-names -o json: %v\n%s", err, out)
	}
	if len(v.Domains) != 1 {
		t.Fatalf("debug node-names %s: %d domains", name, len(v.Domains))
	}
	return v
}

// cachedNodes is every node name the dump holds for the guest.
func cachedNodes(v nodeDumpView) []string {
	var out []string
	for _, d := range v.Domains[0].Disks {
		layers := append([]layerView(nil), d.Chain...)
		if d.Mirror != nil {
			layers = append(layers, *d.Mirror)
		}
		for _, l := range layers {
			for _, n := range []string{l.FormatNode, l.StorageNode, l.SliceNode} {
				if n != "" {
					out = append(out, n)
				}
			}
		}
		if d.CopyOnRead != "" {
			out = append(out, d.CopyOnRead)
		}
	}
	sort.Strings(out)
	return out
}

// qemuNodes asks QEMU itself, from the test's side (this taints the guest).
func qemuNodes(t *testing.T, g *labGuest) []string {
	t.Helper()
	raw, err := g.Dom.QemuMonitorCommand(`{"execute":"query-named-block-nodes","arguments":{"flat":true}}`, libvirt.DOMAIN_QEMU_MONITOR_COMMAND_DEFAULT)
	if err != nil {
		t.Fatalf("query-named-block-nodes: %v", err)
	}
	var r struct {
		Return []struct {
			NodeName string `json:"node-name"`
		} `json:"return"`
	}
	if err := json.Unmarshal([]byte(raw), &r); err != nil {
		t.Fatalf("query-named-block-nodes: %v", err)
	}
	var out []string
	for _, n := range r.Return {
		if !strings.HasPrefix(n.NodeName, "#") {
			out = append(out, n.NodeName)
		}
	}
	sort.Strings(out)
	return out
}

func tainted(t *testing.T, g *labGuest) bool {
	t.Helper()
	msgs, err := g.Dom.GetMessages(libvirt.DOMAIN_MESSAGE_TAINTING)
	if err != nil {
		t.Fatalf("domain messages: %v", err)
	}
	for _, m := range msgs {
		if strings.Contains(m, "custom monitor") || strings.Contains(m, "custom-monitor") {
			return true
		}
	}
	return false
}

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

// A 50% threshold crossed by a guest write: --wait and event both report it
// with the right node name, and libvirt clears it afterwards.
func TestLabThresholdWaitAndEvent(t *testing.T) {
	g := newLabGuest(t, labGuestOpts{Prefix: "thr", Disks: 2, DiskMiB: 8, Start: true})
	ls := newLabSession(t)
	e := ls.dump(t, g.Name).Domains[0]
	vdaNode, vdbNode := e.Disks[0].Chain[0].StorageNode, e.Disks[1].Chain[0].StorageNode

	// --wait in one session while the guest writes 6 MiB into an 8 MiB disk.
	type result struct {
		out, err string
		ok       bool
	}
	done := make(chan result, 1)
	go func() {
		o, er, ok := ls.run("domblkthreshold " + g.Name + " vda 50% --wait --timeout 60 -o json")
		done <- result{o, er, ok}
	}()
	waitArmed(t, g, "vda", 4<<20)
	g.GuestWrite(t, "vda", 0xcd, "0", "6M")
	r := <-done
	if !r.ok {
		t.Fatalf("domblkthreshold --wait: %s", r.err)
	}
	var ev thresholdEventView
	if err := json.Unmarshal([]byte(r.out), &ev); err != nil {
		t.Fatalf("--wait output: %v\n%s", err, r.out)
	}
	if ev.NodeName != vdaNode || ev.Threshold != 4<<20 || ev.Path != g.Disks[0] || !strings.HasPrefix(ev.Dev, "vda") {
		t.Fatalf("--wait reported %+v, want node %s threshold %d path %s", ev, vdaNode, 4<<20, g.Disks[0])
	}

	// event in a second session, threshold on vdb set from the first.
	ls2 := newLabSession(t)
	evDone := make(chan result, 1)
	go func() {
		o, er, ok := ls2.run("event --event block-threshold --domain " + g.Name + " --timeout 60 -o json")
		evDone <- result{o, er, ok}
	}()
	time.Sleep(2 * time.Second) // let it register
	ls.mustRun(t, "domblkthreshold "+g.Name+" 'vdb[1]' 50%")
	g.GuestWrite(t, "vdb", 0xab, "0", "6M")
	r = <-evDone
	if !r.ok {
		t.Fatalf("event: %s", r.err)
	}
	var line domEvent
	if err := json.Unmarshal([]byte(strings.TrimSpace(r.out)), &line); err != nil {
		t.Fatalf("event -o json: %v\n%s", err, r.out)
	}
	if line.Event != "block-threshold" || line.Details["dev"] != "vdb[1]" || line.Details["node_name"] != vdbNode {
		t.Fatalf("event reported %+v, want vdb[1] on %s", line, vdbNode)
	}

	// One-shot: nothing is armed any more.
	out := ls.mustRun(t, "domblkthreshold "+g.Name+" -o json")
	if strings.TrimSpace(out) != "[]" {
		t.Fatalf("thresholds after the events: %s", out)
	}
}

func waitArmed(t *testing.T, g *labGuest, target string, want uint64) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		st, err := g.Conn.GetAllDomainStats([]*libvirt.Domain{g.Dom}, libvirt.DOMAIN_STATS_BLOCK, 0)
		if err == nil && len(st) == 1 {
			for _, b := range st[0].Block {
				if b.Name == target && b.ThresholdSet && b.Threshold == want {
					return
				}
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("threshold %d on %s never armed", want, target)
}

func TestLabThresholdBadInput(t *testing.T) {
	g := newLabGuest(t, labGuestOpts{Prefix: "thrbad", Disks: 1, DiskMiB: 8, Start: true})
	off := newLabGuest(t, labGuestOpts{Prefix: "throff", Disks: 1, DiskMiB: 8})
	ls := newLabSession(t)
	for _, c := range []struct{ line, want string }{
		{"domblkthreshold " + g.Name + " vdz 1M", "error: invalid argument: failed to find disk 'vdz'\n"},
		{"domblkthreshold " + g.Name + " vda[99] 1M", "error: invalid argument: failed to find disk 'vda[99]'\n"},
		{"domblkthreshold " + g.Name + " vda 150%", "error: Scaled numeric value '150%' for <threshold> option is malformed or out of range\n"},
		{"domblkthreshold " + g.Name + " vda -1", "error: Scaled numeric value '-1' for <threshold> option is malformed or out of range\n"},
		{"domblkthreshold " + off.Name + " vda 1M", "error: Requested operation is not valid: domain is not running\n"},
	} {
		_, errs, ok := ls.run(c.line)
		if ok || errs != c.want {
			t.Errorf("%s: ok=%v stderr %q, want %q", c.line, ok, errs, c.want)
		}
	}
	if out := ls.mustRun(t, "domblkthreshold "+g.Name+" -o json"); strings.TrimSpace(out) != "[]" {
		t.Fatalf("bad input armed something: %s", out)
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
