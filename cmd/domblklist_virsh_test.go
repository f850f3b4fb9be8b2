package cmd

import (
	"os"
	"path/filepath"
	"testing"
)

// diskKindsNodeXML is a test-driver node whose guest has a disk of every
// source kind that virsh names in its own way.
const diskKindsNodeXML = `<node><domain type='test'><name>kinds</name><memory>65536</memory>
<os><type arch='x86_64'>hvm</type></os><devices>
<disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='/img/a.qcow2'/><target dev='vda' bus='virtio'/></disk>
<disk type='block' device='disk'><source dev='/dev/sdz'/><target dev='vdb' bus='virtio'/></disk>
<disk type='volume' device='disk'><driver name='qemu' type='raw'/><source pool='pool1' volume='vol1.img'/><target dev='vdc' bus='virtio'/></disk>
<disk type='network' device='disk'><driver name='qemu' type='raw'/><source protocol='nbd' name='export1'><host name='nbd.example' port='10809'/></source><target dev='vdd' bus='virtio'/></disk>
<disk type='network' device='disk'><driver name='qemu' type='raw'/><source protocol='rbd' name='rbdpool/image2'><host name='mon1' port='6789'/></source><target dev='vde' bus='virtio'/></disk>
<disk type='network' device='disk'><driver name='qemu' type='raw'/><source protocol='nbd'><host name='nbd.example' port='10809'/></source><target dev='vdf' bus='virtio'/></disk>
<disk type='nvme' device='disk'><driver name='qemu' type='raw'/><source type='pci' managed='yes' namespace='1'><address domain='0x0000' bus='0x01' slot='0x00' function='0x0'/></source><target dev='vdh' bus='virtio'/></disk>
<disk type='vhostuser' device='disk'><driver name='qemu' type='raw'/><source type='unix' path='/tmp/vhost.sock'><reconnect enabled='yes' timeout='10'/></source><target dev='vdi' bus='virtio'/></disk>
<disk type='file' device='cdrom'><target dev='sda' bus='sata'/><readonly/></disk>
<disk type='network' device='cdrom'><driver name='qemu' type='raw'/><source protocol='http' name='/isos/x.iso'><host name='web.example' port='80'/></source><target dev='sdb' bus='sata'/><readonly/></disk>
<disk type='dir' device='disk'><driver name='qemu' type='fat'/><source dir='/srv/dir'/><target dev='hdb' bus='ide'/><readonly/></disk>
</devices></domain></node>`

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
