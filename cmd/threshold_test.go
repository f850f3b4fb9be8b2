package cmd

import (
	"testing"

	"github.com/virtsh/virtsh/shell/blocknodes"
)

// domblkthreshold resolves DEV with shell/domain's disk-word matcher:
// targets, vda[N], source paths; anything else is libvirt's "failed to find
// disk".
func TestThresholdFindLayer(t *testing.T) {
	e, err := blocknodes.Derive(`<domain><devices><disk type='file' device='disk'><driver type='qcow2'/>
<source file='/img/top.qcow2' index='3'/><backingStore type='file' index='1'><format type='qcow2'/><source file='/img/base.qcow2'/></backingStore>
<target dev='vda'/></disk></devices></domain>`, blocknodes.NamingOf(9000000))
	if err != nil {
		t.Fatal(err)
	}
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
