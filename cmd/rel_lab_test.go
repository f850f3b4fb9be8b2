//go:build lab

package cmd

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"libvirt.org/go/libvirt"
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
	cps, err := g.Dom.ListAllCheckpoints(0)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for i := range cps {
		n, _ := cps[i].GetName()
		names = append(names, n)
		_ = cps[i].Free()
	}
	sort.Strings(names)
	fmt.Fprintf(&b, "checkpoints %v\n", names)
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

// labVirshStderr runs virsh 9.0 on the lab with cmd and returns its stderr.
func labVirshStderr(t *testing.T, cmd string) string {
	t.Helper()
	c := exec.Command(realVirsh, "-q", "-c", labURI(), cmd)
	c.Env = append(os.Environ(), "LC_ALL=C")
	var eb strings.Builder
	c.Stderr = &eb
	_ = c.Run()
	return eb.String()
}

// TestLabBadInputKeepsGuest: bad input to the block-job, threshold,
// checkpoint, snapshot and backup commands on a running QEMU guest with a
// two-layer chain on vda and a checkpoint: one error line (or virsh's two),
// failure, and the guest's state, chains, images, checkpoints and jobs as
// they were. Where virsh 9.0 has the same syntax, its stderr for the same
// command on the same guest is the expected text.
func TestLabBadInputKeepsGuest(t *testing.T) {
	g := newLabGuest(t, labGuestOpts{Prefix: "relbad", Disks: 2, DiskMiB: 8, Start: true})
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
			want = labVirshStderr(t, c.cmd)
		}
		if ok || out != "" || errS != want || !strings.HasPrefix(errS, "error: ") || strings.Count("\n"+errS, "\nerror: ") > 2 {
			t.Errorf("%s:\n got  (%q, %q, ok=%v)\n want (\"\", %q, ok=false)", c.cmd, out, errS, ok, want)
		}
		if after := labHoldings(t, g); after != before {
			t.Fatalf("%s changed the guest:\nbefore:\n%s\nafter:\n%s", c.cmd, before, after)
		}
	}
}

// TestLabConcurrentClients: virsh suspends and resumes a guest in a loop
// while one virtsh session acts on the same guest: on one guest a block pull
// (--wait), thresholds and job queries; on another checkpoints. Nothing
// crashes, every failure is a clean libvirt error, the guest ends running,
// the pulled data is intact, and after virsh changes the chain behind
// virtsh's back, virtsh's node-name cache still agrees with QEMU.
//
// The block job and the checkpoints race on two guests, not one: QEMU 7.2
// (Debian 12) segfaults (qemu-system-x86_64+0x844455, "segfault at 40") in
// about one run in five when, on one guest, checkpoints are created and
// deleted after a block pull while another client suspends and resumes it,
// whichever disk the checkpoints cover. That is QEMU's bug, not virtsh's:
// virtsh reported every failure after the crash cleanly.
func TestLabConcurrentClients(t *testing.T) {
	t.Run("blockjob", func(t *testing.T) {
		g := newLabGuest(t, labGuestOpts{Prefix: "relconc", Disks: 1, DiskMiB: 8, Start: true})
		n := g.Name
		g.GuestWrite(t, "vda", 0xab, "0", "1M")
		ls := newLabSession(t)
		s1 := filepath.Join(g.Dir, "vda-s1.qcow2")
		ls.mustRun(t, fmt.Sprintf("snapshot-create-as %s s1 --disk-only --no-metadata --diskspec vda,file=%s", n, s1))
		ls.mustRun(t, "debug node-names "+n) // fill the cache before the race
		if raceClients(t, g, ls, []string{"blockpull " + n + " vda --wait --timeout 120"},
			[]string{"suspend " + n, "resume " + n, "domstate " + n, "domblkthreshold " + n + " vda 4M",
				"domblkthreshold " + n, "blockjob " + n, "blockjob " + n + " vda --info", "dominfo " + n, "domjobinfo " + n}) {
			return
		}
		// The chain changes behind virtsh's back; virtsh goes on using
		// node names, and its cache must follow.
		if out, err := exec.Command(realVirsh, "-q", "-c", labURI(), fmt.Sprintf("snapshot-create-as %s s2 --disk-only --no-metadata --diskspec vda,file=%s",
			n, filepath.Join(g.Dir, "vda-s2.qcow2"))).CombinedOutput(); err != nil {
			t.Fatalf("virsh snapshot: %v\n%s", err, out)
		}
		ls.mustRun(t, "domblkthreshold "+n+" vda 4M")
		if out := ls.mustRun(t, "debug node-names "+n+" --verify"); !strings.Contains(out, "verify: the cache matches QEMU") {
			t.Errorf("node-name cache stale after concurrent clients:\n%s", out)
		}
		// The data written before the race is all in s1 now (pulled).
		p := g.Dom
		if err := p.Destroy(); err != nil {
			t.Fatal(err)
		}
		if info := qemuImg(t, "info", s1); strings.Contains(info, "backing file") {
			t.Fatalf("s1 still has a backing file after the pull: %s", info)
		}
		qemuIO(t, s1, "read -P 0xab 0 1M")
	})
	t.Run("checkpoints", func(t *testing.T) {
		g := newLabGuest(t, labGuestOpts{Prefix: "relconc", Disks: 1, DiskMiB: 8, Start: true})
		n := g.Name
		ls := newLabSession(t)
		var cmds []string
		for i := 0; i < 10; i++ {
			cmds = append(cmds, "suspend "+n, fmt.Sprintf("checkpoint-create-as %s k%d", n, i), "resume "+n,
				"checkpoint-list "+n, fmt.Sprintf("checkpoint-delete %s k%d", n, i), "domstate "+n)
		}
		if raceClients(t, g, ls, nil, cmds) {
			return
		}
		if out := ls.mustRun(t, "checkpoint-list "+n+" --name"); strings.TrimSpace(out) != "" {
			// Deletes may have lost the race to a failed create only:
			// whatever is listed must be a checkpoint QEMU has.
			t.Logf("checkpoints left: %q", out)
		}
		if out := ls.mustRun(t, "debug node-names "+n+" --verify"); !strings.Contains(out, "verify: the cache matches QEMU") {
			t.Errorf("node-name cache stale after concurrent clients:\n%s", out)
		}
	})
}

// raceClients runs virsh's suspend/resume loop against guest g while the
// virtsh session ls runs first, then 10 times loop. Every virtsh failure must
// be a clean error; the guest must end running.
func raceClients(t *testing.T, g *labGuest, ls *labSession, first, loop []string) (qemuCrashed bool) {
	t.Helper()
	n := g.Name
	var wg sync.WaitGroup
	var virshOut string
	wg.Add(1)
	go func() {
		defer wg.Done()
		var cmds []string
		for i := 0; i < 15; i++ {
			cmds = append(cmds, "suspend "+n, "resume "+n)
		}
		out, _ := exec.Command(realVirsh, "-q", "-c", labURI(), strings.Join(cmds, "; ")).CombinedOutput()
		virshOut = string(out)
	}()
	var errs []string
	check := func(line string) {
		out, errS, _ := ls.run(line)
		if strings.Contains(out+errS, "panic") || strings.Contains(out+errS, "goroutine ") {
			t.Fatalf("%s: panic:\n%s%s", line, out, errS)
		}
		if errS != "" {
			if !strings.HasPrefix(errS, "error: ") || strings.Count("\n"+errS, "\nerror: ") > 2 {
				t.Errorf("%s: not a clean error: %q", line, errS)
			}
			errs = append(errs, line+" → "+strings.ReplaceAll(strings.TrimSpace(errS), "\n", " / "))
		}
	}
	for _, c := range first {
		check(c)
	}
	loops := 10
	if len(loop) > 20 {
		loops = 1
	}
	for i := 0; i < loops; i++ {
		for _, c := range loop {
			check(c)
		}
	}
	wg.Wait()
	t.Logf("virsh said: %s", strings.TrimSpace(virshOut))
	t.Logf("%d virtsh commands failed cleanly:\n%s", len(errs), strings.Join(errs, "\n"))
	for _, l := range strings.Split(strings.TrimSpace(virshOut), "\n") {
		if l != "" && !strings.HasPrefix(l, "error: ") {
			t.Errorf("virsh printed %q", l)
		}
	}
	st, reason, _ := g.Dom.GetState()
	if st == libvirt.DOMAIN_SHUTOFF && libvirt.DomainShutoffReason(reason) == libvirt.DOMAIN_SHUTOFF_CRASHED {
		// QEMU's segfault (see TestLabConcurrentClients): virtsh must
		// still work and say what happened.
		if out := ls.mustRun(t, "domstate "+n+" --reason"); out != "shut off (crashed)\n\n" && out != "shut off (crashed)\n" {
			t.Errorf("domstate --reason after QEMU crashed: %q", out)
		}
		t.Logf("QEMU crashed during the race (QEMU 7.2 bug); virtsh's errors were clean")
		return true
	}
	if st == libvirt.DOMAIN_PAUSED {
		ls.mustRun(t, "resume "+n)
	}
	if st := g.State(t); st != libvirt.DOMAIN_RUNNING {
		t.Fatalf("guest in state %d after the race, want running", st)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		info, err := g.Dom.GetBlockJobInfo("vda", 0)
		if err != nil || info.Type == 0 {
			return false
		}
		if time.Now().After(deadline) {
			t.Fatalf("block job still running: %+v", info)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
