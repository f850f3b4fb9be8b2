//go:build lab

package cmd

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"libvirt.org/go/libvirt"
)

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
		g := newLabGuest(t, labGuestOpts{Prefix: "concur", Disks: 1, DiskMiB: 8, Start: true})
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
		g := newLabGuest(t, labGuestOpts{Prefix: "concur", Disks: 1, DiskMiB: 8, Start: true})
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
