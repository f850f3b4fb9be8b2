package cmd

import (
	"sort"
	"strings"
	"testing"
)

// storageNodeXML: a shut-off guest whose disks are a pool volume by path, a
// pool volume by name, a file no pool holds and a volume of a pool that does
// not exist; a running guest on a third volume.
var storageNodeXML = readTestdata("storage-node.xml")

// TestUndefineStorageSameAsVirsh: undefine --storage/--remove-all-storage
// (--wipe-storage, --delete-snapshots) print what virsh prints, on stdout
// and stderr, with its exit status, for the disks libvirt manages and
// those it does not.
func TestUndefineStorageSameAsVirsh(t *testing.T) {
	bin := virtshBinary(t)
	uri := nodeURI(t, storageNodeXML)
	for _, c := range []string{
		"undefine stor --storage vda", "undefine stor --remove-all-storage", "undefine stor --storage vda,v2.img,vdc",
		"undefine stor --storage vdz", "undefine stor --remove-all-storage --wipe-storage", "undefine stor --storage vdd",
		"undefine stor --remove-all-storage --delete-snapshots", "undefine stor --storage /pool/v1.img,vdz,nope",
		"undefine stor --storage vda --wipe-storage", "undefine stor --storage vda --remove-all-storage",
		"undefine stor --wipe-storage", "undefine runner --storage vda", "undefine runner --remove-all-storage --wipe-storage",
		"undefine stor --storage ',,'",
	} {
		for _, args := range [][]string{{"-c", uri, c}, {"-q", "-c", uri, c}} {
			vo, ve, vc := runBinary(t, "", nil, realVirsh, args...)
			if virshSince(t, 10, 0) {
				// virsh 9.0's messages end in a newline of their own
				// (an empty line after them); later ones dropped it.
				for _, end := range []string{"in domain's definition.\n", "Remove it manually.\n"} {
					ve = strings.ReplaceAll(ve, end, end+"\n")
				}
			}
			to, te, tc := runBinary(t, "", nil, bin, args...)
			if to != vo || te != ve || tc != vc {
				t.Errorf("%q:\nvirsh 9.x (%q, %q, %d)\nvirtsh    (%q, %q, %d)", args, vo, ve, vc, to, te, tc)
			}
		}
	}
}

// TestUndefineStorageRemovesVolumes: what the pool holds afterwards — the
// named guest's managed volumes gone, the running guest's kept — and a
// failed lookup (a name no disk has) changes nothing at all.
func TestUndefineStorageRemovesVolumes(t *testing.T) {
	vols := func(ts *testShell) []string {
		p, err := ts.conn().LookupStoragePoolByName("pool")
		if err != nil {
			t.Fatal(err)
		}
		defer p.Free()
		names, err := p.ListStorageVolumes()
		if err != nil {
			t.Fatal(err)
		}
		sort.Strings(names)
		return names
	}
	ts := newTestShell(t, nodeURI(t, storageNodeXML))
	if _, _, ok := ts.run("undefine stor --storage vda,nosuch"); ok {
		t.Fatal("undefine with an unknown volume succeeded")
	}
	if got := vols(ts); len(got) != 3 {
		t.Fatalf("volumes after the refused undefine: %v", got)
	}
	if _, _, ok := ts.state("stor"); !ok {
		t.Fatal("the refused undefine removed the guest")
	}
	ts.run("undefine stor --remove-all-storage")
	if got := vols(ts); len(got) != 1 || got[0] != "v3.img" {
		t.Errorf("volumes left: %v, want [v3.img]", got)
	}
	if _, _, ok := ts.state("stor"); ok {
		t.Error("stor is still defined")
	}
}
