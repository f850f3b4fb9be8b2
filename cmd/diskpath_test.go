package cmd

import (
	"strings"
	"testing"
)

func TestParseDiskPath(t *testing.T) {
	cases := []struct {
		in     string
		target string
		index  uint
		hasIdx bool
		path   string
		bad    bool
	}{
		{in: "vda", target: "vda"},
		{in: "vda[2]", target: "vda", index: 2, hasIdx: true},
		{in: "sdb[0]", target: "sdb", index: 0, hasIdx: true},
		{in: "hda[4294967295]", target: "hda", index: 4294967295, hasIdx: true},
		{in: "/var/lib/libvirt/images/a.qcow2", path: "/var/lib/libvirt/images/a.qcow2"},
		{in: "/odd/[1]", path: "/odd/[1]"},
		{in: "", bad: true},
		{in: "[2]", bad: true},
		{in: "vda[", bad: true},
		{in: "vda[]", bad: true},
		{in: "vda[2", bad: true},
		{in: "vda[2]x", bad: true},
		{in: "vda[-1]", bad: true},
		{in: "vda[+1]", bad: true},
		{in: "vda[ 1]", bad: true},
		{in: "vda[4294967296]", bad: true},
		{in: "vda[1][2]", bad: true},
	}
	for _, c := range cases {
		d, err := ParseDiskPath(c.in)
		if c.bad {
			if err == nil {
				t.Errorf("ParseDiskPath(%q) = %+v, want an error", c.in, d)
			}
			continue
		}
		if err != nil || d.Target != c.target || d.Index != c.index || d.HasIndex != c.hasIdx || d.Path != c.path || d.Raw != c.in {
			t.Errorf("ParseDiskPath(%q) = %+v, %v; want target %q index %d/%v path %q", c.in, d, err, c.target, c.index, c.hasIdx, c.path)
		}
	}
}

const chainXML = `<domain type='qemu'><name>x</name><devices>
<disk type='file' device='disk'><driver name='qemu' type='qcow2'/>
  <source file='/i/top.qcow2' index='3'/>
  <backingStore type='file' index='2'><format type='qcow2'/><source file='/i/mid.qcow2'/>
    <backingStore type='file' index='1'><format type='raw'/><source file='/i/base.img'/><backingStore/></backingStore>
  </backingStore>
  <target dev='vda' bus='virtio'/></disk>
<disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='/i/b.qcow2'/><target dev='vdb' bus='virtio'/></disk>
</devices></domain>`

func TestDiskPathFindInChain(t *testing.T) {
	disks, err := blockDisksFromXML(chainXML)
	if err != nil {
		t.Fatal(err)
	}
	if len(disks) != 2 || len(disks[0].Chain) != 3 || disks[0].Chain[2].Path != "/i/base.img" || disks[0].Chain[2].Format != "raw" {
		t.Fatalf("chain parsed wrong: %+v", disks)
	}
	for in, want := range map[string]string{"vda": "vda", "vda[2]": "vda", "vda[1]": "vda", "/i/top.qcow2": "vda", "vdb": "vdb", "/i/b.qcow2": "vdb",
		"vda[7]": "", "/i/mid.qcow2": "", "vdz": ""} {
		d, err := ParseDiskPath(in)
		if err != nil {
			t.Fatal(err)
		}
		got, ok := d.Find(disks)
		if (want == "") == ok || got.Target != want {
			t.Errorf("Find(%q) = %q, %v; want %q", in, got.Target, ok, want)
		}
	}
	if got := strings.Join(diskPathWords(disks, true), " "); got != "vda vda[3] vda[2] vda[1] vdb" {
		t.Errorf("diskPathWords = %q", got)
	}
}

// FuzzDiskPath: the parser never panics, accepts a word only in one of its
// three forms, and what it accepts round-trips.
func FuzzDiskPath(f *testing.F) {
	for _, s := range []string{"vda", "vda[2]", "/a/b.qcow2", "", "[", "vda[]", "a[1]]", "x[99999999999]"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDiskPath(s)
		if err != nil {
			return
		}
		switch {
		case d.IsPath():
			if d.Path != s || s[0] != '/' || d.Target != "" {
				t.Fatalf("path form wrong for %q: %+v", s, d)
			}
		case d.HasIndex:
			if want := d.Target + "[" + uitoa(d.Index) + "]"; want != s && !strings.HasPrefix(strings.TrimPrefix(s, d.Target+"["), "0") {
				t.Fatalf("%q parsed as %+v, which prints as %q", s, d, want)
			}
			if strings.Contains(d.Target, "[") || d.Target == "" {
				t.Fatalf("bad target in %+v", d)
			}
		default:
			if d.Target != s || strings.Contains(s, "[") {
				t.Fatalf("target form wrong for %q: %+v", s, d)
			}
		}
	})
}

func uitoa(u uint) string {
	if u == 0 {
		return "0"
	}
	var b []byte
	for ; u > 0; u /= 10 {
		b = append([]byte{byte('0' + u%10)}, b...)
	}
	return string(b)
}
