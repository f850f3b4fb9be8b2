//go:build lab

package cmd

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"libvirt.org/go/libvirt"
)

// TestLabSnapshotInternalRevert: an internal snapshot of a running guest
// (disk and memory in the qcow2), guest writes after it, snapshot-revert:
// the disk reads what it held at the snapshot again, checked with qemu-io
// after the guest is gone; the snapshot commands print what virsh prints
// for the same snapshots.
func TestLabSnapshotInternalRevert(t *testing.T) {
	g := newLabGuest(t, labGuestOpts{Prefix: "snaprev"})
	qemuIO(t, g.Disks[0], "write -P 0x11 0 1M")
	if err := g.Dom.Create(); err != nil {
		t.Fatal(err)
	}
	if out := mustVirtshLab(t, "snapshot-create-as "+g.Name+" before --description 'pattern 0x11'"); out != "Domain snapshot before created\n" {
		t.Errorf("snapshot-create-as printed %q", out)
	}
	g.GuestWrite(t, "vda", 0x22, "0", "1M")
	qemuIO(t, g.Disks[0], "read -P 0x22 0 1M")
	mustVirtshLab(t, "snapshot-create-as "+g.Name+" after")

	for _, cmds := range []string{
		"snapshot-info " + g.Name + " before", "snapshot-info " + g.Name + " --current",
		"snapshot-parent " + g.Name + " after", "snapshot-parent " + g.Name + " before",
		"snapshot-current " + g.Name + " --name", "snapshot-list " + g.Name + " --tree",
		"snapshot-revert " + g.Name + " nosuch",
	} {
		sameAsVirsh(t, nil, "-c", labURI(), cmds)
	}

	if out := mustVirtshLab(t, "snapshot-revert "+g.Name+" before --paused"); out != "Domain snapshot before reverted\n\n" {
		t.Errorf("snapshot-revert printed %q", out)
	}
	if st := g.State(t); st != libvirt.DOMAIN_PAUSED {
		t.Errorf("after snapshot-revert --paused the guest is %v, want paused", st)
	}
	if out := mustVirtshLab(t, "snapshot-current "+g.Name+" --name"); strings.TrimSpace(out) != "before" {
		t.Errorf("current snapshot after revert: %q", out)
	}
	stopGuest(t, g)
	qemuIO(t, g.Disks[0], "read -P 0x11 0 1M")

	// Back to the later one, from a shut-off guest, as it was then: running.
	mustVirtshLab(t, "snapshot-revert "+g.Name+" after")
	if st := g.State(t); st != libvirt.DOMAIN_RUNNING {
		t.Errorf("after snapshot-revert the guest is %v, want running", st)
	}
	stopGuest(t, g)
	qemuIO(t, g.Disks[0], "read -P 0x22 0 1M")

	// --redefine round-trips the XML: dump, drop the metadata, redefine.
	doc := mustVirtshLab(t, "snapshot-dumpxml "+g.Name+" before --security-info")
	file := filepath.Join(g.Dir, "before.xml")
	if err := os.WriteFile(file, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	mustVirtshLab(t, "snapshot-delete "+g.Name+" before --metadata")
	// The snapshot stays in the image; only libvirt's record went.
	if out := qemuImg(t, "snapshot", "-l", "-U", g.Disks[0]); !strings.Contains(out, "before") {
		t.Errorf("qemu-img snapshot -l after --metadata delete:\n%s", out)
	}
	if out := mustVirtshLab(t, "snapshot-create "+g.Name+" "+file+" --redefine"); out != "Domain snapshot before created from '"+file+"'\n" {
		t.Errorf("snapshot-create --redefine printed %q", out)
	}
	if again := mustVirtshLab(t, "snapshot-dumpxml "+g.Name+" before --security-info"); again != doc {
		t.Errorf("redefined snapshot XML differs:\n%s\n--- was:\n%s", again, doc)
	}
	sameAsVirsh(t, nil, "-c", labURI(), "snapshot-info "+g.Name+" before")
}
