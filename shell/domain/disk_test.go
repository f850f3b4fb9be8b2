package domain

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// kindsXML has a disk of every source kind virsh names differently. It is a
// test-driver node file too, so virsh can be asked what it shows for them.
var kindsXML = readTestdata("disk-kinds-node.xml")

// What each disk's source is called, and how it is read.
var kindsWant = []struct{ target, kind, name, protocol, pool string }{
	{"vda", KindFile, "/img/a.qcow2", "", ""},
	{"vdb", KindBlock, "/dev/sdz", "", ""},
	{"vdc", KindVolume, "vol1.img", "", "pool1"},
	{"vdd", KindNetwork, "export1", "nbd", ""},
	{"vde", KindNetwork, "rbdpool/image2", "rbd", ""},
	{"vdf", KindNetwork, "", "nbd", ""},
	{"vdg", KindNetwork, "iqn.2013-07.com.example:pool/1", "iscsi", ""},
	{"vdh", KindNVMe, "nvme://0000:01:00.0/1", "", ""},
	{"vdi", KindVHostUser, "/tmp/vhost.sock", "", ""},
	{"sda", KindFile, "", "", ""},
	{"sdb", KindNetwork, "/isos/x.iso", "http", ""},
	{"hdb", KindDir, "/srv/dir", "", ""},
}

func TestDisksSourceKinds(t *testing.T) {
	disks, err := Disks(kindsXML[len("<node>") : len(kindsXML)-len("</node>")])
	if err != nil {
		t.Fatal(err)
	}
	if len(disks) != len(kindsWant) {
		t.Fatalf("%d disks, want %d", len(disks), len(kindsWant))
	}
	for i, w := range kindsWant {
		d := disks[i]
		top := d.Top()
		if d.Target != w.target || top.Kind != w.kind || top.Name != w.name || top.Protocol != w.protocol || top.Pool != w.pool || len(d.Chain) != 1 {
			t.Errorf("disk %d: %+v top %+v; want %+v", i, d, *top, w)
		}
		// Only the ejected cdrom is without storage; an NBD source without
		// an export name still has some.
		if top.Empty != (w.target == "sda") {
			t.Errorf("%s: Empty = %v", w.target, top.Empty)
		}
	}
	if d := disks[9]; d.Device != "cdrom" || !d.ReadOnly || d.Bus != "sata" {
		t.Errorf("cdrom read as %+v", d)
	}
	if d := disks[0]; d.Device != "disk" || d.ReadOnly || d.Top().Format != "qcow2" {
		t.Errorf("vda read as %+v", d)
	}
}

// virsh 9.0's domblklist names the same sources the same way: the volume
// without its pool, network sources by their name attribute alone, "-" for
// none.
func TestSourceNameMatchesVirsh(t *testing.T) {
	const virsh = "/usr/bin/virsh"
	if _, err := os.Stat(virsh); err != nil {
		t.Fatalf("virsh is needed for this test (Debian package libvirt-clients): %v", err)
	}
	node := filepath.Join(t.TempDir(), "node.xml")
	if err := os.WriteFile(node, []byte(kindsXML), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(virsh, "-q", "-c", "test://"+node, "domblklist", "kinds")
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("virsh domblklist: %v\n%s", err, out)
	}
	var want []string
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		want = append(want, strings.Join(strings.Fields(l), " "))
	}
	var got []string
	disks, _ := Disks(kindsXML[len("<node>") : len(kindsXML)-len("</node>")])
	for _, d := range disks {
		name := d.Top().Name
		if name == "" {
			name = "-"
		}
		got = append(got, d.Target+" "+name)
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("source names\n%s\nvirsh shows\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// A live XML as libvirt 9.0 writes it (trimmed): vda a 3-deep chain with a
// block-copy mirror, vdb copy-on-read with a storage slice, an ejected cdrom
// that still took an index, a network disk over a file backing store.
var liveXML = readTestdata("live-chain.xml")

func chainString(d Disk) string {
	var parts []string
	for _, s := range d.Chain {
		parts = append(parts, fmt.Sprintf("[%d]%s:%s:%s", s.Index, s.Kind, s.Name, s.Format))
	}
	return strings.Join(parts, " ")
}

func TestDisksChains(t *testing.T) {
	disks, err := Disks(liveXML)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"[2]file:/i/top.qcow2:qcow2 [3]file:/i/mid.qcow2:qcow2 [4]block:/dev/base:raw",
		"[1]file:/i/b.qcow2:qcow2",
		"[5]file::raw",
		"[7]network:exp:qcow2 [8]volume:v:raw",
	}
	for i, w := range want {
		if got := chainString(disks[i]); got != w {
			t.Errorf("%s chain %q, want %q", disks[i].Target, got, w)
		}
	}
	vda, vdb, hdc := disks[0], disks[1], disks[2]
	if m := vda.Mirror; m == nil || m.Index != 6 || m.Name != "/i/copy.qcow2" || m.Format != "qcow2" || vda.MirrorJob != "copy" || vda.MirrorReady != "yes" {
		t.Errorf("vda mirror %+v job %q ready %q", vda.Mirror, vda.MirrorJob, vda.MirrorReady)
	}
	if vda.Alias != "virtio-disk0" || vda.CopyOnRead || !vdb.CopyOnRead || !vdb.Top().StorageSlice || vda.Top().StorageSlice {
		t.Errorf("alias/copy-on-read/slice read wrong: %+v %+v", vda, vdb)
	}
	if !hdc.Top().Empty || hdc.Top().Index != 5 || hdc.Alias != "ide0-1-0" {
		t.Errorf("ejected cdrom %+v", hdc)
	}
	if p := disks[3].Chain[1].Pool; p != "p" {
		t.Errorf("volume backing store pool %q", p)
	}
}

// The inactive XML has no indexes; a backing chain written into it is still
// read, up to the <backingStore/> that ends it.
func TestDisksInactiveChain(t *testing.T) {
	disks, err := Disks(`<domain><devices><disk type='file'><source file='/a'/>
<backingStore type='file'><format type='qcow2'/><source file='/b'/><backingStore/></backingStore>
<target dev='vda'/></disk><disk><target dev='vdb'/></disk><disk type='file'><source file='/c'/></disk></devices></domain>`)
	if err != nil {
		t.Fatal(err)
	}
	if len(disks) != 3 || chainString(disks[0]) != "[0]file:/a: [0]file:/b:qcow2" {
		t.Fatalf("inactive chain %q", chainString(disks[0]))
	}
	if d := disks[1]; d.Device != "disk" || d.Top().Kind != KindFile || !d.Top().Empty {
		t.Errorf("disk without source %+v", d)
	}
	if disks[2].Target != "" {
		t.Errorf("a disk without <target> kept as %+v", disks[2])
	}
	if _, err := Disks("<domain"); err == nil {
		t.Error("malformed XML accepted")
	}
	if d, err := Disks("<domain/>"); err != nil || len(d) != 0 {
		t.Errorf("no devices: %v %v", d, err)
	}
}

// readTestdata is a file of testdata/: node and domain XML the tests define.
func readTestdata(name string) string {
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		panic(err)
	}
	return string(b)
}
