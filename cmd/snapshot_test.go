package cmd

import (
	"strings"
	"testing"
)

// FuzzSnapshotDiskspec: snapshot-create-as's --diskspec parser never panics,
// never accepts a spec without a disk name, and a file source it accepts is
// the text after "file=" (commas un-doubled).
func FuzzSnapshotDiskspec(f *testing.F) {
	for _, s := range []string{"vda", "vda,snapshot=external,file=/a,,b.qcow2", "vda,stype=block,file=/dev/x", "vda,stype=net,file=x", ",file=/x", "", ",", "vda,bogus", "vda,file="} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, _, err := parseDiskspec(s)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "unable to parse diskspec: ") && !strings.HasPrefix(err.Error(), "Unknown storage type: ") {
				t.Fatalf("odd error for %q: %v", s, err)
			}
			return
		}
		if d.Name == "" {
			t.Fatalf("%q accepted without a disk name", s)
		}
		if d.Source != nil && d.Source.File != nil && !strings.Contains(strings.ReplaceAll(s, ",,", ","), "file="+d.Source.File.File) {
			t.Fatalf("%q gave file %q", s, d.Source.File.File)
		}
	})
}
