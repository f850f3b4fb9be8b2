package domain

import (
	"strconv"
	"strings"
	"testing"
)

func TestParseDiskWord(t *testing.T) {
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
		w, err := ParseDiskWord(c.in)
		if c.bad {
			if err == nil {
				t.Errorf("ParseDiskWord(%q) = %+v, want an error", c.in, w)
			}
			continue
		}
		if err != nil || w.Target != c.target || w.Index != c.index || w.HasIndex != c.hasIdx || w.Path != c.path || w.Raw != c.in {
			t.Errorf("ParseDiskWord(%q) = %+v, %v; want target %q index %d/%v path %q", c.in, w, err, c.target, c.index, c.hasIdx, c.path)
		}
	}
}

// One rule for every caller: a target names the active layer, vda[N] the
// chain member or mirror with that index, a path the first chain member with
// that source name; unknown targets, indexes and paths, and vda[0], name
// nothing. Network and volume sources are named as virsh names them.
func TestDiskWordFind(t *testing.T) {
	disks, err := Disks(liveXML)
	if err != nil {
		t.Fatal(err)
	}
	for in, want := range map[string]string{
		"vda": "vda[2]", "vda[2]": "vda[2]", "vda[3]": "vda[3]", "vda[4]": "vda[4]", "vda[6]": "vda[6]",
		"/i/top.qcow2": "vda[2]", "/i/mid.qcow2": "vda[3]", "/dev/base": "vda[4]",
		"vdb": "vdb[1]", "/i/b.qcow2": "vdb[1]", "hdc": "hdc[5]", "hdc[5]": "hdc[5]", "vdc[8]": "vdc[8]",
		"vda[7]": "", "vda[0]": "", "vdz": "", "/i/copy.qcow2": "", "/i/none": "", "v": "", "exp": "", "p/v": "",
	} {
		w, err := ParseDiskWord(in)
		if err != nil {
			t.Fatal(err)
		}
		d, s, ok := w.Find(disks)
		got := ""
		if ok {
			got = Dev(d.Target, s.Index)
		}
		if got != want {
			t.Errorf("Find(%q) = %q, want %q", in, got, want)
		}
	}
	w, _ := ParseDiskWord("vda[6]")
	if pos, ok := w.Layer(&disks[0]); !ok || pos != MirrorLayer || disks[0].Layer(pos) != disks[0].Mirror {
		t.Errorf("vda[6] is at %d, %v; want the mirror", pos, ok)
	}
	w, _ = ParseDiskWord("/i/mid.qcow2")
	if pos, ok := w.Layer(&disks[0]); !ok || pos != 1 {
		t.Errorf("/i/mid.qcow2 is at %d, %v", pos, ok)
	}
}

// FuzzDiskPath: the parser never panics, accepts a word only in one of its
// three forms, and what it accepts round-trips; matching what it accepts
// against a chain never panics either.
func FuzzDiskPath(f *testing.F) {
	for _, s := range []string{"vda", "vda[2]", "/a/b.qcow2", "", "[", "vda[]", "a[1]]", "x[99999999999]"} {
		f.Add(s)
	}
	disks, err := Disks(liveXML)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, s string) {
		w, err := ParseDiskWord(s)
		if err != nil {
			return
		}
		switch {
		case w.IsPath():
			if w.Path != s || s[0] != '/' || w.Target != "" {
				t.Fatalf("path form wrong for %q: %+v", s, w)
			}
		case w.HasIndex:
			if want := w.Target + "[" + strconv.FormatUint(uint64(w.Index), 10) + "]"; want != s && !strings.HasPrefix(strings.TrimPrefix(s, w.Target+"["), "0") {
				t.Fatalf("%q parsed as %+v, which prints as %q", s, w, want)
			}
			if strings.Contains(w.Target, "[") || w.Target == "" {
				t.Fatalf("bad target in %+v", w)
			}
		default:
			if w.Target != s || strings.Contains(s, "[") {
				t.Fatalf("target form wrong for %q: %+v", s, w)
			}
		}
		if d, l, ok := w.Find(disks); ok && (d == nil || l == nil) {
			t.Fatalf("%q found without a disk or layer", s)
		}
	})
}
