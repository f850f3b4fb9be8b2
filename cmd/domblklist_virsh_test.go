package cmd

import (
	"os"
	"path/filepath"
	"testing"
)

// diskKindsNodeXML is a test-driver node whose guest has a disk of every
// source kind that virsh names in its own way.
var diskKindsNodeXML = readTestdata("disk-kinds-node.xml")

// domblklist names every kind of source as virsh 9.0 does: the volume without
// its pool, a network source by its name alone, "-" for none.
func TestDomblklistSourceKindsMatchVirsh(t *testing.T) {
	const virsh = "/usr/bin/virsh"
	if _, err := os.Stat(virsh); err != nil {
		t.Fatalf("virsh is needed for this test (Debian package libvirt-clients): %v", err)
	}
	bin := virtshBinary(t)
	p := filepath.Join(t.TempDir(), "node.xml")
	if err := os.WriteFile(p, []byte(diskKindsNodeXML), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{"domblklist kinds", "domblklist kinds --details", "domblklist kinds --inactive --details"} {
		args := []string{"-c", "test://" + p, c}
		vo, ve, vc := runBinary(t, "", nil, virsh, args...)
		to, te, tc := runBinary(t, "", nil, bin, args...)
		if vo != to || ve != te || vc != tc {
			t.Errorf("%q:\nvirsh  (%q, %q, %d)\nvirtsh (%q, %q, %d)", args, vo, ve, vc, to, te, tc)
		}
	}
}
