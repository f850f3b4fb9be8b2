package cmd

import (
	"testing"

	"github.com/virtsh/virtsh/shell"
)

// domblkthreshold resolves DEV with ParseDiskPath: targets, vda[N], source
// paths; anything else is libvirt's "failed to find disk".
func TestThresholdFindLayer(t *testing.T) {
	e := &shell.DomNodes{Disks: []shell.DiskNodes{{Target: "vda", Chain: []shell.Layer{
		{Index: 3, Source: "/img/top.qcow2", StorageNode: "libvirt-3-storage"},
		{Index: 1, Source: "/img/base.qcow2", StorageNode: "libvirt-1-storage"},
	}}}}
	for _, c := range []struct {
		dev, node string
		path, idx bool
	}{
		{"vda", "libvirt-3-storage", false, false},
		{"vda[3]", "libvirt-3-storage", false, true},
		{"vda[1]", "libvirt-1-storage", false, true},
		{"/img/base.qcow2", "libvirt-1-storage", true, false},
	} {
		dp, disk, l, err := findLayer(e, c.dev)
		if err != nil || disk.Target != "vda" || l.StorageNode != c.node || dp.IsPath() != c.path || dp.HasIndex != c.idx {
			t.Errorf("%s: %+v %v %v %v", c.dev, dp, disk, l, err)
		}
	}
	for _, dev := range []string{"vdz", "vda[2]", "vda[0]", "vda[", "vda[1", "[1]", "/img/none", "vda[x]"} {
		_, _, l, err := findLayer(e, dev)
		if l != nil || err == nil || err.Error() != "invalid argument: failed to find disk '"+dev+"'" {
			t.Errorf("%s: layer %v err %v", dev, l, err)
		}
	}
}
