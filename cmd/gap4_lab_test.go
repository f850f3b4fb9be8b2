//go:build lab

package cmd

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/virtsh/virtsh/shell/blocknodes"
)

// complete runs `virtsh -c LAB __completeNoDesc WORDS...` in-process and
// returns its candidates and cobra directive as printed.
func completeLab(t *testing.T, words ...string) string {
	t.Helper()
	out, errS, code := runMain(t, "", append([]string{"-c", labURI(), "__completeNoDesc"}, words...)...)
	if code != 0 || errS != "" {
		t.Fatalf("__complete %q: exit %d stderr %q", words, code, errS)
	}
	return out
}

// chainIndexes are the index attributes of a disk's live chain, top first.
func chainIndexes(t *testing.T, g *labGuest, target string) []uint {
	t.Helper()
	var out []uint
	for _, e := range liveChain(t, g, target) {
		out = append(out, e.Index)
	}
	return out
}

// Completion against a real guest: disk targets, vda[N] for each chain
// element after a disk-only snapshot (limited to --path's disk), the disks
// that have a block job, checkpoint names.
func TestLabCompletionRealGuest(t *testing.T) {
	g := newLabGuest(t, labGuestOpts{Prefix: "compl", Disks: 2, DiskMiB: 4, Start: true})
	if got := completeLab(t, "blockcommit", g.Name, ""); got != "vda\nvdb\n:4\n" {
		t.Fatalf("disk targets: %q", got)
	}
	if got := completeLab(t, "blockcommit", g.Name[:len(g.Name)-2]); got != g.Name+"\n:4\n" {
		t.Fatalf("running domain: %q", got)
	}

	s1 := filepath.Join(g.Dir, "s1.qcow2")
	mustVT(t, "snapshot-create-as", g.Name, "--disk-only", "--no-metadata", "--diskspec", "vda,file="+s1, "--diskspec", "vdb,snapshot=no")
	ia, ib := chainIndexes(t, g, "vda"), chainIndexes(t, g, "vdb")
	if len(ia) != 2 || len(ib) != 1 {
		t.Fatalf("chains after the snapshot: vda %v vdb %v", ia, ib)
	}
	want := fmt.Sprintf("vda\nvda[%d]\nvda[%d]\n:4\n", ia[0], ia[1])
	if got := completeLab(t, "blockcommit", g.Name, "vda", "--top", ""); got != want {
		t.Fatalf("--top: %q, want %q", got, want)
	}
	if got := completeLab(t, "blockpull", g.Name, "--path", "vda", "--base", fmt.Sprintf("vda[%d", ia[1])); got != fmt.Sprintf("vda[%d]\n:4\n", ia[1]) {
		t.Fatalf("blockpull --base: %q", got)
	}
	if got := completeLab(t, "blockcommit", g.Name, "vdb", "--base", ""); got != fmt.Sprintf("vdb\nvdb[%d]\n:4\n", ib[0]) {
		t.Fatalf("--base of vdb: %q", got)
	}
	if got := completeLab(t, "domblkthreshold", g.Name, "vd"); got != "vda\nvdb\n:4\n" {
		t.Fatalf("domblkthreshold dev: %q", got)
	}

	// Block-job disks: none, then vda while an active commit waits in ready.
	if got := completeLab(t, "blockjob", g.Name, "vd"); got != ":4\n" {
		t.Fatalf("blockjob with no job: %q", got)
	}
	mustVT(t, "blockcommit", g.Name, "vda", "--active")
	if got := completeLab(t, "blockjob", g.Name, ""); got != "vda\n:4\n" {
		t.Fatalf("blockjob disks: %q", got)
	}
	mustVT(t, "blockjob", g.Name, "vda", "--abort")
	noJob(t, g, "vda")

	mustVT(t, "checkpoint-create-as", g.Name, "cp1")
	mustVT(t, "checkpoint-create-as", g.Name, "cp2")
	if got := completeLab(t, "checkpoint-delete", g.Name, ""); got != "cp1\ncp2\n:4\n" {
		t.Fatalf("checkpoint names: %q", got)
	}
	if got := completeLab(t, "checkpoint-dumpxml", "--domain", g.Name, "--checkpointname", "cp2"); got != "cp2\n:4\n" {
		t.Fatalf("checkpoint name prefix: %q", got)
	}
	// Completion changed nothing: both checkpoints, the chain, no job.
	if got := completeLab(t, "checkpoint-delete", g.Name, "cp"); got != "cp1\ncp2\n:4\n" {
		t.Fatalf("checkpoints after completion: %q", got)
	}
	wantChain(t, g, "vda", s1, g.Disks[0])
	noJob(t, g, "vda")
}

// qemuBitmaps is, per format node, the names of the persistent bitmaps QEMU
// holds (from the test's side; anonymous job bitmaps aside).
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

// startSignalled starts a program with the environment the race detector
// needs, and its output captured.
func startSignalled(t *testing.T, bin string, args ...string) (*exec.Cmd, *lockedBuffer, *lockedBuffer) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "GORACE=atexit_sleep_ms=0")
	so, se := &lockedBuffer{}, &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = so, se
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	return cmd, so, se
}

func exitCode(t *testing.T, cmd *exec.Cmd) int {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode()
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0
	case <-time.After(15 * time.Second):
		t.Fatalf("%s did not end after SIGINT", cmd.Path)
		return -1
	}
}

// Ctrl-C on `event --loop`, side by side with virsh 9.0 on the same guest:
// the same lines ("event loop interrupted", "events received: N") and exit
// status (0 after events, 1 after none). Ctrl-C on `domblkthreshold --wait`:
// it stops waiting with an error; the threshold stays armed in libvirt.
func TestLabSigintEventLoopAndThresholdWait(t *testing.T) {
	g := newLabGuest(t, labGuestOpts{Prefix: "sigint", Disks: 1, DiskMiB: 8, Start: true})
	bin := virtshBinary(t)
	for _, events := range []bool{true, false} {
		args := []string{"-c", labURI(), "event", "--domain", g.Name, "--event", "lifecycle", "--loop"}
		vc, vso, vse := startSignalled(t, bin, args...)
		rc, rso, rse := startSignalled(t, "virsh", args...)
		time.Sleep(1500 * time.Millisecond) // both registered
		if events {
			if err := g.Dom.Suspend(); err != nil {
				t.Fatal(err)
			}
			if err := g.Dom.Resume(); err != nil {
				t.Fatal(err)
			}
			for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
				if strings.Count(vso.String(), "\n") >= 2 && strings.Count(rso.String(), "\n") >= 2 {
					break
				}
			}
		}
		_ = vc.Process.Signal(syscall.SIGINT)
		_ = rc.Process.Signal(syscall.SIGINT)
		vcode, rcode := exitCode(t, vc), exitCode(t, rc)
		if vso.String() != rso.String() || vcode != rcode {
			t.Fatalf("events=%v: virtsh %d %q (stderr %q)\nvirsh  %d %q (stderr %q)", events, vcode, vso.String(), vse.String(), rcode, rso.String(), rse.String())
		}
		want := "event loop interrupted\nevents received: 0\n\n"
		if events {
			want = fmt.Sprintf("event 'lifecycle' for domain '%s': Suspended Paused\nevent 'lifecycle' for domain '%s': Resumed Unpaused\nevent loop interrupted\nevents received: 2\n\n", g.Name, g.Name)
		}
		if vso.String() != want || (vcode == 0) != events {
			t.Fatalf("events=%v: virtsh %d %q, want %q", events, vcode, vso.String(), want)
		}
	}

	tc, tso, tse := startSignalled(t, bin, "-c", labURI(), "domblkthreshold", g.Name, "vda", "50%", "--wait")
	waitArmed(t, g, "vda", 4<<20)
	time.Sleep(200 * time.Millisecond)
	_ = tc.Process.Signal(syscall.SIGINT)
	code := exitCode(t, tc)
	if code != 1 || tse.String() != "error: interrupted while waiting for the block-threshold event\n" ||
		tso.String() != "Waiting for the block-threshold event on vda (4194304 bytes)\n\n" {
		t.Fatalf("domblkthreshold --wait after SIGINT: exit %d stdout %q stderr %q", code, tso.String(), tse.String())
	}
	waitArmed(t, g, "vda", 4<<20) // still armed: only the wait ended
}
