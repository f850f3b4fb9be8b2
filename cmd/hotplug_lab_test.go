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
	"testing"
	"time"

	"libvirt.org/go/libvirt"
	"libvirt.org/go/libvirtxml"

	"github.com/virtsh/virtsh/shell/blocknodes"
	"github.com/virtsh/virtsh/shell/domain"
)

// Hotplug and media on real QEMU guests, with the node-name cache checked
// against QEMU's own node list after every change, and virsh beside virtsh.
//
// The guests have no OS, so nothing answers a PCI unplug request: libvirt
// sends device_del, waits 5 s for the guest and reports the detach as sent,
// and the disk stays until the guest ejects it. acpiEject does the guest's
// part, as GuestWrite does its writes.

// liveDisks are the <disk>s of the guest's live XML.
func liveDisks(t *testing.T, g *labGuest) []libvirtxml.DomainDisk {
	t.Helper()
	var dom libvirtxml.Domain
	if err := dom.Unmarshal(g.LiveXML(t)); err != nil {
		t.Fatal(err)
	}
	return dom.Devices.Disks
}

// pciSlot is the PCI slot of the disk's device in the live XML.
func pciSlot(t *testing.T, g *labGuest, target string) uint {
	t.Helper()
	for _, d := range liveDisks(t, g) {
		if d.Target != nil && d.Target.Dev == target && d.Address != nil && d.Address.PCI != nil && d.Address.PCI.Slot != nil {
			return *d.Address.PCI.Slot
		}
	}
	t.Fatalf("%s has no PCI disk %s", g.Name, target)
	return 0
}

// acpiEject is what the guest OS does when asked to give up the PCI device
// in slot (bus pci.0): it writes the slot to the PIIX4 ACPI hotplug eject
// register (the guest's _EJ0), and QEMU removes the device. It goes through
// HMP, which taints the guest as GuestWrite does.
func acpiEject(t *testing.T, g *labGuest, slot uint) {
	t.Helper()
	for _, cmd := range []string{"o /w 0xae10 0", fmt.Sprintf("o /w 0xae08 %d", 1<<slot)} {
		if out := strings.TrimSpace(g.HMP(t, cmd)); out != "" {
			t.Fatalf("HMP %q: %s", cmd, out)
		}
	}
}

// liveTargets are the disk targets of the guest's live XML, in order.
func liveTargets(t *testing.T, g *labGuest) []string {
	t.Helper()
	var out []string
	for _, d := range liveDisks(t, g) {
		out = append(out, d.Target.Dev)
	}
	return out
}

// liveDiskSources are the guest's disks as "target=source" (top layer).
func liveDiskSources(t *testing.T, g *labGuest) []string {
	t.Helper()
	disks, err := domain.Disks(g.LiveXML(t))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, d := range disks {
		out = append(out, d.Target+"="+d.Top().Name)
	}
	return out
}

// waitTargets waits (30 s at most) until the guest's disks are want, in any
// order (libvirt keeps them by bus): an unplug completes when QEMU reports
// the device gone.
func waitTargets(t *testing.T, g *labGuest, want ...string) {
	t.Helper()
	sort.Strings(want)
	deadline := time.Now().Add(30 * time.Second)
	for {
		got := liveTargets(t, g)
		sort.Strings(got)
		if reflect.DeepEqual(got, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("disks of %s: %q, want %q", g.Name, got, want)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitMarked waits (30 s at most) until the session's cache has marked the
// guest's entry with reason: an event from another client reached it. It
// looks at the cache only, without a libvirt call or a fill.
func (ls *labSession) waitMarked(t *testing.T, g *labGuest, reason string) {
	t.Helper()
	uuid, err := g.Dom.GetUUIDString()
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		e := ls.ts.sess.Nodes().Cached(uuid)
		if e != nil && e.Stale == reason {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the %s event never marked %s in the session's cache (entry %+v)", reason, g.Name, e)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// checkNodes dumps the session's cache for the guest and fails unless it
// was filled fills times, the last time for reason, from the XML, with no
// scrape in the whole session, and holds exactly QEMU's block nodes.
func (ls *labSession) checkNodes(t *testing.T, g *labGuest, step string, fills int, reason string) nodeDumpView {
	t.Helper()
	v := ls.dump(t, g.Name)
	d := v.Domains[0]
	if d.Counters.Fills != fills || d.Last.Reason != reason || d.Last.Method != blocknodes.MethodXML || v.Totals.Scrapes != 0 {
		t.Fatalf("%s: counters %+v last fill %+v totals %+v; want %d fills, the last %s from the XML, no scrape",
			step, d.Counters, d.Last, v.Totals, fills, reason)
	}
	if got, want := cachedNodes(v), qemuNodes(t, g); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("%s: cache %v\nQEMU  %v", step, got, want)
	}
	return v
}

// diskOf is the cached disk with the target, nil if none.
func diskOf(v nodeDumpView, target string) *diskNodesView {
	for i := range v.Domains[0].Disks {
		if v.Domains[0].Disks[i].Target == target {
			return &v.Domains[0].Disks[i]
		}
	}
	return nil
}

// newImage makes a qcow2 image of mib MiB in the guest's directory.
// newREPLSession is a lab session whose libvirt event loop runs from the
// start, as the interactive shell's does: events from other clients reach
// its cache while it sits idle.
func newREPLSession(t *testing.T) *labSession {
	t.Helper()
	ls := newLabSession(t)
	ls.ts.sess.StartEventLoop()
	return ls
}

func newImage(t *testing.T, g *labGuest, name string, mib int) string {
	t.Helper()
	p := filepath.Join(g.Dir, name)
	qemuImg(t, "create", "-q", "-f", "qcow2", p, fmt.Sprintf("%dM", mib))
	return p
}

// runVirsh runs the real virsh on the lab.
func runVirsh(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(realVirsh, append([]string{"-c", labURI()}, args...)...)
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), errb.String(), code
}

func mustVirsh(t *testing.T, args ...string) string {
	t.Helper()
	out, errS, code := runVirsh(t, args...)
	if code != 0 {
		t.Fatalf("virsh %q: exit %d: %s", args, code, errS)
	}
	return out
}

// TestLabHotplugDiskThreshold: a qcow2 disk hot-plugged by virtsh into a
// running guest is in the cache at once with QEMU's names (one fill, no
// scrape, no taint); a 50% threshold on it is reported by --wait and by
// event with the new disk's node; its unplug takes it out of the cache.
func TestLabHotplugDiskThreshold(t *testing.T) {
	g := newLabGuest(t, labGuestOpts{Prefix: "hpthr", ACPI: true, DiskMiB: 8, Start: true})
	ls := newREPLSession(t)
	ls.dump(t, g.Name)
	img := newImage(t, g, "vdc.qcow2", 8)

	out, errS, code := virtshLab(t, "attach-disk", g.Name, img, "vdc", "--subdriver", "qcow2", "--live")
	if code != 0 || out != "Disk attached successfully\n\n" || errS != "" {
		t.Fatalf("attach-disk: exit %d, %q %q", code, out, errS)
	}
	// That was another process: this session learns it from the event or
	// the check before use; its own attach is below.
	waitTargets(t, g, "vda", "vdc")
	v := ls.dump(t, g.Name)
	if d := v.Domains[0]; d.Counters.Fills != 2 || v.Totals.Scrapes != 0 || diskOf(v, "vdc") == nil {
		t.Fatalf("after another process's hotplug: %+v", d)
	}
	if tainted(t, g) {
		t.Fatal("virtsh tainted the guest")
	}
	if got, want := cachedNodes(v), qemuNodes(t, g); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("cache %v\nQEMU  %v", got, want)
	}
	node := diskOf(v, "vdc").Chain[0].StorageNode

	// A write past 50 % of vdc: --wait in this session, event in another.
	ls2 := newLabSession(t)
	evDone := ls2.start("event --event block-threshold --domain " + g.Name + " --timeout 60 -o json")
	done := ls.start("domblkthreshold " + g.Name + " vdc 50% --wait --timeout 60 -o json")
	waitArmed(t, g, "vdc", 4<<20)
	time.Sleep(2 * time.Second) // the event listener registers
	g.GuestWrite(t, "vdc", 0x5c, "0", "6M")
	r := <-done
	var ev thresholdEventView
	if !r.ok || json.Unmarshal([]byte(r.out), &ev) != nil {
		t.Fatalf("domblkthreshold --wait: %v %q %q", r.ok, r.out, r.err)
	}
	if ev.NodeName != node || ev.Threshold != 4<<20 || ev.Path != img {
		t.Fatalf("--wait reported %+v, want node %s, 4 MiB, %s", ev, node, img)
	}
	r = <-evDone
	var line domEvent
	if !r.ok || json.Unmarshal([]byte(strings.TrimSpace(strings.Split(r.out, "\n")[0])), &line) != nil {
		t.Fatalf("event: %v %q %q", r.ok, r.out, r.err)
	}
	if line.Event != "block-threshold" || line.Details["node_name"] != node {
		t.Fatalf("event reported %+v, want node %s", line, node)
	}
	qemuIO(t, img, "read -P 0x5c 0 6M")

	// virtsh's own unplug: detach-disk sends it; the guest's eject ends it.
	slot := pciSlot(t, g, "vdc")
	ls.mustRun(t, "detach-disk "+g.Name+" vdc --live")
	acpiEject(t, g, slot)
	waitTargets(t, g, "vda")
	v = ls.checkNodes(t, g, "after detach-disk", 3, blocknodes.ReasonHotplug)
	if diskOf(v, "vdc") != nil {
		t.Fatalf("vdc still cached after its unplug: %+v", v.Domains[0].Disks)
	}

	// virtsh's own hotplug: one fill, reason hotplug; its device-added
	// event, arriving after that fill, costs none.
	img2 := newImage(t, g, "vdd.qcow2", 8)
	ls.mustRun(t, "attach-disk "+g.Name+" "+img2+" vdd --subdriver qcow2 --live")
	ls.checkNodes(t, g, "after attach-disk", 4, blocknodes.ReasonHotplug)
	time.Sleep(time.Second) // the device-added event reaches the session
	ls.checkNodes(t, g, "after its event", 4, blocknodes.ReasonHotplug)
	out, _, _ = virtshLab(t, "domblklist", g.Name, "--details")
	if vOut := mustVirsh(t, "domblklist", g.Name, "--details"); out != vOut {
		t.Fatalf("domblklist: virtsh\n%s\nvirsh\n%s", out, vOut)
	}
}

// TestLabHotplugBehindVirtshShell: plain virsh hot-plugs, unplugs and
// changes media while a virtsh shell stays open: each event marks the
// shell's cache entry, and its next use re-derives it once, with the
// event's reason, to QEMU's nodes.
func TestLabHotplugBehindVirtshShell(t *testing.T) {
	g := newLabGuest(t, labGuestOpts{Prefix: "hpbehind", ACPI: true, SCSI: true, CDROM: true, DiskMiB: 8, Start: true})
	ls := newREPLSession(t)
	ls.checkNodes(t, g, "first sight", 1, blocknodes.ReasonConnect)
	vdc, sdb := newImage(t, g, "vdc.qcow2", 8), newImage(t, g, "sdb.qcow2", 8)

	mustVirsh(t, "attach-disk", g.Name, vdc, "vdc", "--subdriver", "qcow2", "--live")
	ls.waitMarked(t, g, blocknodes.ReasonHotplug)
	v := ls.checkNodes(t, g, "virsh attach-disk vdc", 2, blocknodes.ReasonHotplug)
	// A threshold by percentage on the disk virsh plugged lands on its node.
	node := diskOf(v, "vdc").Chain[0].StorageNode
	ls.mustRun(t, "domblkthreshold "+g.Name+" vdc 25%")
	waitArmed(t, g, "vdc", 2<<20)
	armed := false
	for _, n := range namedBlockNodes(t, g) {
		armed = armed || n.Node == node && n.Threshold == 2<<20
	}
	if !armed {
		t.Fatalf("QEMU has no 2 MiB threshold on %s", node)
	}

	mustVirsh(t, "attach-disk", g.Name, sdb, "sdb", "--subdriver", "qcow2", "--targetbus", "scsi", "--live")
	ls.waitMarked(t, g, blocknodes.ReasonHotplug)
	ls.checkNodes(t, g, "virsh attach-disk sdb", 3, blocknodes.ReasonHotplug)

	// A SCSI disk leaves at once, without the guest.
	mustVirsh(t, "detach-disk", g.Name, "sdb", "--live")
	ls.waitMarked(t, g, blocknodes.ReasonHotplug)
	if v := ls.checkNodes(t, g, "virsh detach-disk sdb", 4, blocknodes.ReasonHotplug); diskOf(v, "sdb") != nil {
		t.Fatal("sdb still cached")
	}

	// A virtio disk leaves when the guest ejects it.
	slot := pciSlot(t, g, "vdc")
	mustVirsh(t, "detach-disk", g.Name, "vdc", "--live")
	acpiEject(t, g, slot)
	ls.waitMarked(t, g, blocknodes.ReasonHotplug)
	if v := ls.checkNodes(t, g, "virsh detach-disk vdc", 5, blocknodes.ReasonHotplug); diskOf(v, "vdc") != nil {
		t.Fatal("vdc still cached")
	}

	// A media change: the tray events mark it.
	mustVirsh(t, "change-media", g.Name, "sda", "--eject")
	ls.waitMarked(t, g, blocknodes.ReasonMedia)
	ls.checkNodes(t, g, "virsh change-media --eject", 6, blocknodes.ReasonMedia)
}

// TestLabChangeMedia: a SATA cdrom ejected, given media, given other media
// and ejected again by virtsh: virsh's messages, one fill each, the cache
// equal to QEMU's nodes and domblklist equal to virsh's after each; a
// threshold by percentage on the cdrom with media lands on its node.
func TestLabChangeMedia(t *testing.T) {
	g := newLabGuest(t, labGuestOpts{Prefix: "media", CDROM: true, DiskMiB: 8, Start: true})
	ls := newLabSession(t)
	ls.checkNodes(t, g, "first sight", 1, blocknodes.ReasonConnect)
	iso1, iso2 := filepath.Join(g.Dir, "one.iso"), filepath.Join(g.Dir, "two.iso")
	qemuImg(t, "create", "-q", "-f", "raw", iso1, "2M")
	qemuImg(t, "create", "-q", "-f", "raw", iso2, "4M")
	fills := 1
	for _, step := range []struct{ line, msg, media string }{
		{"change-media " + g.Name + " sda --eject", "Successfully ejected media.", ""},
		{"change-media " + g.Name + " sda " + iso1 + " --insert", "Successfully inserted media.", iso1},
		{"change-media " + g.Name + " sda " + iso2 + " --update", "Successfully updated media.", iso2},
		{"change-media " + g.Name + " sda --eject", "Successfully ejected media.", ""},
		{"change-media " + g.Name + " sda --source " + iso1, "Successfully updated media.", iso1},
	} {
		if out := ls.mustRun(t, step.line); out != step.msg {
			t.Fatalf("%s: %q, want %q", step.line, out, step.msg)
		}
		fills++
		v := ls.checkNodes(t, g, step.line, fills, blocknodes.ReasonMedia)
		d := diskOf(v, "sda")
		if d == nil || d.Chain[0].Source != step.media || (step.media == "") != (d.Chain[0].FormatNode == "") {
			t.Fatalf("%s: cached sda %+v", step.line, d)
		}
		out, _, _ := virtshLab(t, "domblklist", g.Name, "--details")
		if vOut := mustVirsh(t, "domblklist", g.Name, "--details"); out != vOut {
			t.Fatalf("%s: domblklist: virtsh\n%s\nvirsh\n%s", step.line, out, vOut)
		}
	}
	// iso1 (2 MiB) is in: 50 % is 1 MiB, on its storage node.
	node := diskOf(ls.dump(t, g.Name), "sda").Chain[0].StorageNode
	ls.mustRun(t, "domblkthreshold "+g.Name+" sda 50%")
	waitArmed(t, g, "sda", 1<<20)
	for _, n := range namedBlockNodes(t, g) {
		if n.Node == node && n.Threshold != 1<<20 {
			t.Fatalf("QEMU's %s has threshold %d, want 1 MiB", node, n.Threshold)
		}
	}
	if out := ls.mustRun(t, "domblkthreshold "+g.Name+" -o json"); !strings.Contains(out, `"node_name": "`+node+`"`) {
		t.Fatalf("armed thresholds: %s", out)
	}
}

// TestLabHotplugBadInput: a target in use, a missing file, the detach of a
// disk that is not there, change-media on a disk that is not removable, and
// a hotplug without ACPI (which uses up an index): virsh's messages and
// exit status, and afterwards the guest has the same disks and the cache,
// which no fill was needed for, still equals QEMU.
func TestLabHotplugBadInput(t *testing.T) {
	g := newLabGuest(t, labGuestOpts{Prefix: "hpbad", CDROM: true, Disks: 2, DiskMiB: 8, Start: true})
	ls := newLabSession(t)
	ls.checkNodes(t, g, "first sight", 1, blocknodes.ReasonConnect)
	before := liveDiskSources(t, g)
	spare := newImage(t, g, "spare.qcow2", 8)
	for _, args := range [][]string{
		{"attach-disk", g.Name, spare, "vdb", "--subdriver", "qcow2", "--live"}, // target in use
		{"attach-disk", g.Name, "/nonexistent/x.qcow2", "vdc", "--live"},        // missing file
		{"attach-disk", g.Name, spare, "vdc", "--subdriver", "qcow2", "--live"}, // no ACPI: no PCI hotplug
		{"detach-disk", g.Name, "vdz", "--live"},                                // no such disk
		{"change-media", g.Name, "vda", spare, "--update"},                      // not removable
		{"change-media", g.Name, "sda", "/nonexistent/x.iso", "--update"},       // missing media
		{"attach-device", g.Name, "/nonexistent/disk.xml", "--live"},            // missing file
		{"detach-device-alias", g.Name, "ua-nosuch", "--live"},                  // no such alias
		{"change-media", g.Name, "sda", spare, "--insert"},                      // already has media
	} {
		vOut, vErr, vCode := runVirsh(t, args...)
		out, errS, code := virtshLab(t, args...)
		if code != 1 || vCode != 1 || out != vOut || errS != vErr {
			t.Errorf("%q: virtsh exit %d %q %q, virsh exit %d %q %q", args, code, out, errS, vCode, vOut, vErr)
		}
		if got := liveDiskSources(t, g); !reflect.DeepEqual(got, before) {
			t.Fatalf("%q changed the guest's disks: %q, were %q", args, got, before)
		}
		ls.mustRun(t, strings.Join(args, " ")+" ; echo") // the session's own attempt
	}
	// Nothing changed: no fill, and the cache equals QEMU although the
	// failed PCI hotplugs used up indexes.
	v := ls.checkNodes(t, g, "after the bad input", 1, blocknodes.ReasonConnect)
	if v.Domains[0].Counters.VerifyMisses != 0 {
		t.Fatalf("verify misses: %+v", v.Domains[0].Counters)
	}
	var maxIndex uint
	for _, d := range v.Domains[0].Disks {
		for _, l := range d.Chain {
			maxIndex = max(maxIndex, l.Index)
		}
	}
	// The next change gets an index past the used-up ones: still right.
	overlay := filepath.Join(g.Dir, "vda-s1.qcow2")
	ls.mustRun(t, "snapshot-create-as "+g.Name+" s1 --disk-only --no-metadata --diskspec vda,file="+overlay+" --diskspec vdb,snapshot=no --diskspec sda,snapshot=no")
	v = ls.checkNodes(t, g, "snapshot after the failed hotplugs", 2, blocknodes.ReasonSnapshot)
	if top := diskOf(v, "vda").Chain[0]; top.Source != overlay || top.Index <= maxIndex+1 {
		t.Fatalf("vda top %+v: want %s with an index past the gap the failed hotplugs left after %d", top, overlay, maxIndex)
	}
}

// TestLabHotplugScriptedSession: one virtsh session hot-plugs and unplugs
// disks (attach-disk, attach-device, detach-disk, detach-device-alias,
// detach-device) and changes media (change-media, update-device); it ends
// with no QMP scrape and one fill per change plus the first, checked
// against QEMU after each.
func TestLabHotplugScriptedSession(t *testing.T) {
	g := newLabGuest(t, labGuestOpts{Prefix: "hpscr", ACPI: true, SCSI: true, CDROM: true, DiskMiB: 8, Start: true})
	ls := newREPLSession(t)
	changes := 0
	check := func(step, reason string) nodeDumpView {
		t.Helper()
		return ls.checkNodes(t, g, step, changes+1, reason)
	}
	change := func(line string) {
		t.Helper()
		ls.mustRun(t, line)
		changes++
	}
	check("first sight", blocknodes.ReasonConnect)
	vdc, sdb, sdc := newImage(t, g, "vdc.qcow2", 8), newImage(t, g, "sdb.qcow2", 8), newImage(t, g, "sdc.qcow2", 8)
	iso := filepath.Join(g.Dir, "new.iso")
	qemuImg(t, "create", "-q", "-f", "raw", iso, "1M")

	change("attach-disk " + g.Name + " " + vdc + " vdc --subdriver qcow2 --live")
	check("attach-disk vdc", blocknodes.ReasonHotplug)
	change("attach-disk " + g.Name + " " + sdb + " sdb --subdriver qcow2 --targetbus scsi --alias ua-sdb --live")
	check("attach-disk sdb", blocknodes.ReasonHotplug)

	xmlFile := filepath.Join(g.Dir, "sdc.xml")
	if err := os.WriteFile(xmlFile, []byte("<disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='"+sdc+
		"'/><target dev='sdc' bus='scsi'/></disk>\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	change("attach-device " + g.Name + " " + xmlFile + " --live")
	check("attach-device sdc", blocknodes.ReasonHotplug)

	change("change-media " + g.Name + " sda --eject")
	check("change-media --eject", blocknodes.ReasonMedia)
	change("change-media " + g.Name + " sda " + iso + " --insert")
	check("change-media --insert", blocknodes.ReasonMedia)
	cd := filepath.Join(g.Dir, "cd.xml")
	if err := os.WriteFile(cd, []byte("<disk type='file' device='cdrom'><driver name='qemu' type='raw'/><source file='"+g.CDROM+
		"'/><target dev='sda' bus='sata'/><readonly/></disk>\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	change("update-device " + g.Name + " " + cd + " --live")
	if d := diskOf(check("update-device sda", blocknodes.ReasonMedia), "sda"); d.Chain[0].Source != g.CDROM {
		t.Fatalf("sda after update-device: %+v", d)
	}

	change("detach-device-alias " + g.Name + " ua-sdb --live")
	waitTargets(t, g, "vda", "sda", "vdc", "sdc")
	check("detach-device-alias ua-sdb", blocknodes.ReasonHotplug)
	change("detach-device " + g.Name + " " + xmlFile + " --live")
	waitTargets(t, g, "vda", "sda", "vdc")
	check("detach-device sdc", blocknodes.ReasonHotplug)

	slot := pciSlot(t, g, "vdc")
	ls.mustRun(t, "detach-disk "+g.Name+" vdc --live")
	// Sent, not done: QEMU still has the disk, and so has the cache (the
	// check saw no change: no fill).
	check("detach-disk vdc sent", blocknodes.ReasonHotplug)
	acpiEject(t, g, slot)
	changes++
	waitTargets(t, g, "vda", "sda")
	check("vdc ejected", blocknodes.ReasonHotplug)

	time.Sleep(time.Second) // late events of the changes above reach the session
	v := check("at the end", blocknodes.ReasonHotplug)
	if v.Totals.Scrapes != 0 || v.Totals.Fills != changes+1 {
		t.Fatalf("session totals %+v after %d changes: want %d fills, no scrape", v.Totals, changes, changes+1)
	}
	t.Logf("%d graph changes, %d fills, %d scrapes, %d verify hits", changes, v.Totals.Fills, v.Totals.Scrapes, v.Totals.VerifyHits)
}

// inactiveTargets are the disk targets of the guest's persistent definition.
func inactiveTargets(t *testing.T, g *labGuest) []string {
	t.Helper()
	x, err := g.Dom.GetXMLDesc(libvirt.DOMAIN_XML_INACTIVE)
	if err != nil {
		t.Fatal(err)
	}
	disks, err := domain.Disks(x)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, d := range disks {
		out = append(out, d.Target+"="+d.Top().Name)
	}
	sort.Strings(out)
	return out
}

// TestLabHotplugPersistentConfigLive: on a running persistent guest,
// virtsh and virsh side by side make the same changes with --persistent,
// --config and --live (checked in the live and the inactive definition)
// and print the same.
func TestLabHotplugPersistentConfigLive(t *testing.T) {
	g := newLabGuest(t, labGuestOpts{Prefix: "hpflags", ACPI: true, CDROM: true, DiskMiB: 8, Start: true})
	ls := newREPLSession(t)
	ls.dump(t, g.Name)
	img := map[string]string{}
	for _, dev := range []string{"vdc", "vdd", "vde", "vdf"} {
		img[dev] = newImage(t, g, dev+".qcow2", 8)
	}
	iso := filepath.Join(g.Dir, "new.iso")
	qemuImg(t, "create", "-q", "-f", "raw", iso, "1M")
	same := func(virtshArgs, virshArgs []string) {
		t.Helper()
		out, errS, code := virtshLab(t, virtshArgs...)
		vOut, vErr, vCode := runVirsh(t, virshArgs...)
		if why := virsh9xOnly(t, virshArgs, vErr, errS); why != "" {
			t.Logf("%q: compared with virsh 9.x only (%s)", virshArgs, why)
			if code != 0 {
				t.Fatalf("virtsh %q: exit %d %q %q", virtshArgs, code, out, errS)
			}
			return
		}
		if out != vOut || errS != vErr || code != vCode || code != 0 {
			t.Fatalf("virtsh %q: exit %d %q %q\nvirsh %q: exit %d %q %q", virtshArgs, code, out, errS, virshArgs, vCode, vOut, vErr)
		}
	}
	cd := "sda=" + g.CDROM
	same([]string{"attach-disk", g.Name, img["vdc"], "vdc", "--subdriver", "qcow2", "--persistent"},
		[]string{"attach-disk", g.Name, img["vdd"], "vdd", "--subdriver", "qcow2", "--persistent"})
	vdc, vdd := "vdc="+img["vdc"], "vdd="+img["vdd"]
	if got, want := inactiveTargets(t, g), []string{cd, "vda=" + g.Disks[0], vdc, vdd}; !reflect.DeepEqual(got, want) {
		t.Fatalf("inactive disks after --persistent: %q, want %q", got, want)
	}
	waitTargets(t, g, "vda", "sda", "vdc", "vdd")

	// --config alone: the definition changes, the running guest does not.
	same([]string{"detach-disk", g.Name, "vdc", "--config"}, []string{"detach-disk", g.Name, "vdd", "--config"})
	same([]string{"attach-disk", g.Name, img["vde"], "vde", "--subdriver", "qcow2", "--config"},
		[]string{"attach-disk", g.Name, img["vdf"], "vdf", "--subdriver", "qcow2", "--config"})
	if got, want := inactiveTargets(t, g), []string{cd, "vda=" + g.Disks[0], "vde=" + img["vde"], "vdf=" + img["vdf"]}; !reflect.DeepEqual(got, want) {
		t.Fatalf("inactive disks after --config: %q, want %q", got, want)
	}
	waitTargets(t, g, "vda", "sda", "vdc", "vdd")
	same([]string{"detach-disk", g.Name, "vde", "--config", "--print-xml"}, []string{"detach-disk", g.Name, "vde", "--config", "--print-xml"})
	same([]string{"change-media", g.Name, "sda", iso, "--update", "--config", "--print-xml"},
		[]string{"change-media", g.Name, "sda", iso, "--update", "--config", "--print-xml"})
	same([]string{"change-media", g.Name, "sda", "--eject", "--print-xml"}, []string{"change-media", g.Name, "sda", "--eject", "--print-xml"})

	// A media change in the definition only; then live only.
	out, errS, code := virtshLab(t, "change-media", g.Name, "sda", iso, "--update", "--config")
	if code != 0 || out != "Successfully updated media.\n" || errS != "" {
		t.Fatalf("change-media --config: exit %d %q %q", code, out, errS)
	}
	if got := inactiveTargets(t, g); got[0] != "sda="+iso {
		t.Fatalf("inactive disks after change-media --config: %q", got)
	}
	if got := liveDiskSources(t, g); !strings.Contains(strings.Join(got, " "), cd) {
		t.Fatalf("live disks after change-media --config: %q", got)
	}
	out, errS, code = virtshLab(t, "change-media", g.Name, "sda", "--eject", "--live")
	if code != 0 || out != "Successfully ejected media.\n" || errS != "" {
		t.Fatalf("change-media --eject --live: exit %d %q %q", code, out, errS)
	}
	if got := liveDiskSources(t, g); !strings.Contains(strings.Join(got, " "), "sda= ") && !strings.HasSuffix(strings.Join(got, " "), "sda=") {
		t.Fatalf("live disks after the eject: %q", got)
	}
	if got := inactiveTargets(t, g); got[0] != "sda="+iso {
		t.Fatalf("the live eject changed the definition: %q", got)
	}
	// All of it by other processes: the session's next use fills once.
	v := ls.dump(t, g.Name)
	if c := v.Domains[0].Counters; c.Fills != 2 || v.Totals.Scrapes != 0 {
		t.Fatalf("the session's cache after the changes: %+v, want 2 fills and no scrape", v)
	}
	if got, want := cachedNodes(v), qemuNodes(t, g); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("cache %v\nQEMU  %v", got, want)
	}
}

// TestLabDiskChangeEventOnStart: libvirt raises disk-change when it drops a
// missing source at start (a cdrom whose startupPolicy is optional).
// virtsh's event listener prints the line virsh's does, its -o json line
// carries the fields (virsh's reason word), and a session that knew the
// guest before the start then caches the nodes QEMU has (the empty drive:
// no format node for sda).
func TestLabDiskChangeEventOnStart(t *testing.T) {
	g := newLabGuest(t, labGuestOpts{Prefix: "dskchg", CDROM: true, CDROMStartupPolicy: "optional", DiskMiB: 8})
	if err := os.Remove(g.CDROM); err != nil {
		t.Fatal(err)
	}
	known := newLabSession(t)
	known.mustRun(t, "dominfo "+g.Name)

	line := "event --event disk-change --domain " + g.Name + " --timeout 30"
	js := newLabSession(t).start(line + " -o json")
	text, virsh := listenBesideVirsh(t, line)
	mustVirsh(t, "start", g.Name)

	r := <-text
	if !r.ok {
		t.Fatalf("virtsh %s: %s", line, r.err)
	}
	if v := <-virsh; v != r.out {
		t.Fatalf("virtsh printed\n%q\nvirsh printed\n%q", r.out, v)
	}
	// Reason 0 (VIR_DOMAIN_EVENT_DISK_CHANGE_MISSING_ON_START: the source
	// was emptied, the drive kept) is virsh's "changed".
	want := fmt.Sprintf("event 'disk-change' for domain '%s' disk sata0-0-0: %s -> <null>: changed\n", g.Name, g.CDROM)
	if !strings.HasPrefix(r.out, want) {
		t.Fatalf("virtsh printed %q, want it to begin %q", r.out, want)
	}
	r = <-js
	var ev domEvent
	if !r.ok || json.Unmarshal([]byte(strings.Split(r.out, "\n")[0]), &ev) != nil {
		t.Fatalf("-o json: %v %q %q", r.ok, r.out, r.err)
	}
	if ev.Event != "disk-change" || ev.Details["old_source"] != g.CDROM || ev.Details["reason"] != "changed" {
		t.Fatalf("-o json event %+v", ev)
	}
	v := known.dump(t, g.Name)
	if got, want := cachedNodes(v), qemuNodes(t, g); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("cache %v\nQEMU  %v", got, want)
	}
	if d := diskOf(v, "sda"); d == nil || d.Chain[0].FormatNode != "" {
		t.Fatalf("cached sda after the drop: %+v", d)
	}
}
