package completion

import (
	"testing"
)

// Disks are described by their sources as domblklist names them (the volume
// without its pool, a network source by its name), and --top/--base follow
// the disk --path names, whichever word names it: target, vda[N] or a source
// path anywhere in its chain.
func TestParseDisksSourceNames(t *testing.T) {
	disks := parseDisks(`<domain><devices>
<disk type='volume' device='disk'><source pool='p' volume='v.img' index='2'/><target dev='vda'/></disk>
<disk type='network' device='disk'><source protocol='rbd' name='pool/image' index='1'><host name='m'/></source><target dev='vdb'/></disk>
<disk type='file' device='cdrom'><target dev='sda'/></disk>
<disk type='file' device='disk'><source file='/x'/></disk>
</devices></domain>`)
	if len(disks) != 3 {
		t.Fatalf("disks %+v", disks)
	}
	for i, want := range []struct{ target, source, chain string }{{"vda", "v.img", "vda[2]"}, {"vdb", "pool/image", "vdb[1]"}, {"sda", "", ""}} {
		d := disks[i]
		chain := ""
		if len(d.Chain) > 0 {
			chain = d.Chain[0].Name
		}
		if d.Target != want.target || d.Source != want.source || chain != want.chain {
			t.Errorf("disk %d: %+v, want %+v", i, d, want)
		}
	}
	c := &Completer{Commands: testCatalog(), Host: func() (Host, error) { return fakeHost{}, nil }}
	for _, path := range []string{"vda", "vda[2]", "/img/top.qcow2", "/img/mid.qcow2"} {
		check(t, c, []string{"blockcommit", "t1", path, "--base", ""}, "vda", "vda[3]", "vda[2]", "vda[1]")
	}
	for _, path := range []string{"vda[7]", "/img/none", "vdz"} {
		check(t, c, []string{"blockcommit", "t1", path, "--base", ""})
	}
}
