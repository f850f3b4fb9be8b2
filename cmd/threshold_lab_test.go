//go:build lab

package cmd

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"libvirt.org/go/libvirtxml"
)

// A 50% threshold crossed by a guest write: --wait and event both report it
// with the right node name, and libvirt clears it afterwards.
func TestLabThresholdWaitAndEvent(t *testing.T) {
	g := newLabGuest(t, labGuestOpts{Prefix: "thr", Disks: 2, DiskMiB: 8, Start: true})
	ls := newLabSession(t)
	e := ls.dump(t, g.Name).Domains[0]
	vdaNode, vdbNode := e.Disks[0].Chain[0].StorageNode, e.Disks[1].Chain[0].StorageNode

	// --wait in one session while the guest writes 6 MiB into an 8 MiB disk.
	done := ls.start("domblkthreshold " + g.Name + " vda 50% --wait --timeout 60 -o json")
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
	evDone := ls2.start("event --event block-threshold --domain " + g.Name + " --timeout 60 -o json")
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

// An un-indexed block-threshold event (dev "vda") after a disk-only snapshot
// is annotated with QEMU's new top node, not the one a long-lived session
// cached before: after another client's snapshot (no event tells the
// session) and after the session's own.
func TestLabThresholdEventAfterSnapshot(t *testing.T) {
	g := newLabGuest(t, labGuestOpts{Prefix: "thrsnap", DiskMiB: 8, Start: true})
	ls := newLabSession(t)
	before := ls.dump(t, g.Name).Domains[0].Disks[0].Chain[0].StorageNode

	// topNode is QEMU's top storage node of vda as a fresh session derives it.
	topNode := func() string {
		return newLabSession(t).dump(t, g.Name).Domains[0].Disks[0].Chain[0].StorageNode
	}
	// eventNode arms a threshold on vda from virsh, lets the guest write past
	// it, and returns the node ls's event command names.
	eventNode := func(offset string) string {
		t.Helper()
		done := ls.start("event --event block-threshold --domain " + g.Name + " --timeout 60 -o json")
		time.Sleep(2 * time.Second) // let it register
		if out, errS, code := runBinary(t, "", nil, realVirsh, "-c", labURI(), "domblkthreshold "+g.Name+" vda 2M"); code != 0 {
			t.Fatalf("virsh domblkthreshold: %s%s", out, errS)
		}
		g.GuestWrite(t, "vda", 0x5e, offset, "3M")
		r := <-done
		if !r.ok {
			t.Fatalf("event: %s", r.err)
		}
		var line domEvent
		if err := json.Unmarshal([]byte(strings.TrimSpace(r.out)), &line); err != nil {
			t.Fatalf("event -o json: %v\n%s", err, r.out)
		}
		if line.Event != "block-threshold" || line.Details["dev"] != "vda" {
			t.Fatalf("event reported %+v, want block-threshold on vda", line)
		}
		node, _ := line.Details["node_name"].(string)
		return node
	}

	// Another client's snapshot: no event reaches the session.
	overlay1 := filepath.Join(g.Dir, "overlay1.qcow2")
	if out, errS, code := runBinary(t, "", nil, realVirsh, "-c", labURI(),
		"snapshot-create-as "+g.Name+" s1 --disk-only --no-metadata --diskspec vda,file="+overlay1); code != 0 {
		t.Fatalf("virsh snapshot-create-as: %s%s", out, errS)
	}
	top1 := topNode()
	if top1 == before {
		t.Fatalf("the snapshot left vda's top node at %s", before)
	}
	if got := eventNode("0"); got != top1 {
		t.Errorf("after another client's snapshot the event names node %q, QEMU's top is %q (cached before: %q)", got, top1, before)
	}

	// The session's own snapshot.
	ls.mustRun(t, "snapshot-create-as "+g.Name+" s2 --disk-only --no-metadata --diskspec vda,file="+filepath.Join(g.Dir, "overlay2.qcow2"))
	top2 := topNode()
	if got := eventNode("4M"); got != top2 {
		t.Errorf("after the session's own snapshot the event names node %q, QEMU's top is %q", got, top2)
	}
}

// The scratch image of a pull backup has an index of its own that libvirt
// (and virsh) accept as vda[N]; so does virtsh, and QEMU's scratch node then
// carries the threshold.
func TestLabThresholdBackupScratch(t *testing.T) {
	g := newLabGuest(t, labGuestOpts{Prefix: "thrscr", DiskMiB: 8, Start: true})
	sock, scratch := filepath.Join(g.Dir, "nbd.sock"), filepath.Join(g.Dir, "vda.scratch")
	pull := libvirtxml.DomainBackup{Pull: &libvirtxml.DomainBackupPull{
		Server: &libvirtxml.DomainBackupPullServer{UNIX: &libvirtxml.DomainBackupPullServerUNIX{Socket: sock}},
		Disks: &libvirtxml.DomainBackupPullDisks{Disks: []libvirtxml.DomainBackupPullDisk{{Name: "vda", Backup: "yes",
			Scratch: &libvirtxml.DomainDiskSource{File: &libvirtxml.DomainDiskSourceFile{File: scratch}}}}}}}
	doc, err := pull.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Dom.BackupBegin(doc, "", 0); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = g.Dom.AbortJob() }()
	// QEMU's scratch node: the storage node whose file is the scratch image.
	node := ""
	for _, n := range namedBlockNodes(t, g) {
		if n.File == scratch && n.Drv == "file" {
			node = n.Node
		}
	}
	var index int
	if _, err := fmt.Sscanf(node, "libvirt-%d-storage", &index); err != nil {
		t.Fatalf("scratch node %q: %v", node, err)
	}
	dev := fmt.Sprintf("vda[%d]", index)
	sameAsVirsh(t, nil, "-c", labURI(), "domblkthreshold "+g.Name+" '"+dev+"' 1M")
	if out := mustVirtshLab(t, "domblkthreshold "+g.Name+" '"+dev+"' 2M"); out != "\n" {
		t.Errorf("domblkthreshold %s printed %q", dev, out)
	}
	for _, n := range namedBlockNodes(t, g) {
		if n.Node == node && n.Threshold != 2<<20 {
			t.Errorf("QEMU's scratch node %s has threshold %d, want %d", node, n.Threshold, 2<<20)
		}
	}
}
