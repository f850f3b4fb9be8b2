//go:build lab

package cmd

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// labHoldings is what bad input must leave as it was on a real guest: state,
// live XML (disk chains, indexes, sources), checkpoints, block jobs, and each
// image's backing chain as qemu-img reads it.
func labHoldings(t *testing.T, g *labGuest) string {
	t.Helper()
	var b strings.Builder
	st, r, err := g.Dom.GetState()
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(&b, "state %d %d\n%s", st, r, g.LiveXML(t))
	fmt.Fprintf(&b, "checkpoints %v\n", checkpointNames(t, g))
	for _, dev := range []string{"vda", "vdb"} {
		if info, err := g.Dom.GetBlockJobInfo(dev, 0); err == nil && info.Type != 0 {
			fmt.Fprintf(&b, "job on %s: %+v\n", dev, *info)
		}
	}
	imgs, _ := filepath.Glob(filepath.Join(g.Dir, "*.qcow2"))
	sort.Strings(imgs)
	for _, img := range imgs {
		b.WriteString(qemuImg(t, "info", "-U", "--backing-chain", img))
	}
	return b.String()
}

// TestLabBadInputKeepsGuest: bad input to the block-job, threshold,
// checkpoint, snapshot and backup commands on a running QEMU guest with a
// two-layer chain on vda and a checkpoint: one error line (or virsh's two),
// failure, and the guest's state, chains, images, checkpoints and jobs as
// they were. Where virsh 9.0 has the same syntax, its stderr for the same
// command on the same guest is the expected text.
func TestLabBadInputKeepsGuest(t *testing.T) {
	g := newLabGuest(t, labGuestOpts{Prefix: "badin", Disks: 2, DiskMiB: 8, Start: true})
	ls := newLabSession(t)
	top := filepath.Join(g.Dir, "vda-s1.qcow2")
	ls.mustRun(t, fmt.Sprintf("snapshot-create-as %s s1 --disk-only --no-metadata --diskspec vda,file=%s --diskspec vdb,snapshot=no", g.Name, top))
	ls.mustRun(t, "checkpoint-create-as "+g.Name+" c1")
	missing := filepath.Join(g.Dir, "missing.xml")
	n := g.Name
	cases := []struct{ cmd, want string }{
		{"blockcommit " + n + " vda --top vda[99]", ""},
		{"blockcommit " + n + " vda --base vda[99]", ""},
		{"blockcommit " + n + " vdz", ""},
		{"blockcommit " + n + " vda --bandwidth 10QB", ""},
		{"blockcommit " + n + " vda --bandwidth 1e99", ""},
		{"blockcommit " + n + " vda --wait --timeout 0", ""},
		{"blockpull " + n + " vda --base vda[99]", ""},
		{"blockpull " + n + " vdz", ""},
		{"blockcopy " + n + " vda --dest " + filepath.Join(g.Dir, "copy.qcow2") + " --xml " + missing, ""},
		{"blockcopy " + n + " vdz --dest " + filepath.Join(g.Dir, "copy.qcow2"), ""},
		{"blockresize " + n + " vda 10QB", ""},
		{"blockresize " + n + " vda -1", ""},
		{"blockresize " + n + " vdz 1M", ""},
		{"blockjob " + n + " vda --abort", ""},
		{"blockjob " + n + " vda --info --abort", ""},
		{"blockjob " + n + " vdz --bandwidth 1", ""},
		{"domblkthreshold " + n + " vda 10QB", ""},
		{"domblkthreshold " + n + " vdz 1M", ""},
		{"domblkthreshold " + n + " 'vda[99]' 1M", "error: invalid argument: failed to find disk 'vda[99]'\n"},
		{"domblkthreshold " + n + " 'vda[x]' 1M", "error: invalid argument: failed to find disk 'vda[x]'\n"},
		{"domblkthreshold " + n + " vda 150%", "error: Scaled numeric value '150%' for <threshold> option is malformed or out of range\n"},
		{"checkpoint-create-as " + n + " c1", ""},
		{"checkpoint-create-as " + n + " c2 --diskspec vdz", ""},
		{"checkpoint-delete " + n + " nosuch", ""},
		{"checkpoint-dumpxml " + n + " nosuch", ""},
		{"checkpoint-create " + n + " " + missing, ""},
		{"snapshot-create-as " + n + " s2 --disk-only --no-metadata --diskspec vdz,file=" + filepath.Join(g.Dir, "x.qcow2"), ""},
		{"backup-begin " + n + " --backupxml " + missing, ""},
		{"backup-begin " + n + " --incremental nosuch", "error: Option --target-dir is required by option --incremental\n"},
		{"domjobabort " + n, ""},
	}
	before := labHoldings(t, g)
	for _, c := range cases {
		out, errS, ok := ls.run(c.cmd)
		want := c.want
		if want == "" {
			want = virshStderr(t, labURI(), c.cmd)
		}
		if ok || out != "" || errS != want || !strings.HasPrefix(errS, "error: ") || strings.Count("\n"+errS, "\nerror: ") > 2 {
			t.Errorf("%s:\n got  (%q, %q, ok=%v)\n want (\"\", %q, ok=false)", c.cmd, out, errS, ok, want)
		}
		if after := labHoldings(t, g); after != before {
			t.Fatalf("%s changed the guest:\nbefore:\n%s\nafter:\n%s", c.cmd, before, after)
		}
	}
}
