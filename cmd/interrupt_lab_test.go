//go:build lab

package cmd

import (
	"fmt"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// startSignalled starts a program that is to be interrupted, with its output
// captured (see startScript).
func startSignalled(t *testing.T, bin string, args ...string) (*exec.Cmd, *lockedBuffer, *lockedBuffer) {
	t.Helper()
	p := startScript(t, bin, args...)
	return p.cmd, &p.out, &p.errb
}

// exitCode waits for an interrupted program's exit status.
func exitCode(t *testing.T, cmd *exec.Cmd) int {
	t.Helper()
	code, ok := waitExit(t, cmd, 15*time.Second)
	if !ok {
		t.Fatalf("%s did not end after SIGINT", cmd.Path)
	}
	return code
}

// Ctrl-C on `event --loop`, side by side with virsh 9.0 on the same guest:
// the same lines ("event loop interrupted", "events received: N") and exit
// status (0 after events, 1 after none). Ctrl-C on `domblkthreshold --wait`:
// it stops waiting with an error; the threshold stays armed in libvirt.
func TestLabSigintEventLoopAndThresholdWait(t *testing.T) {
	g := newLabGuest(t, labGuestOpts{Prefix: "sigint", Disks: 1, DiskMiB: 8, Start: true})
	bin := virtshBinary(t)
	for _, events := range []bool{true, false} {
		args := []string{"-c", labURI(), "event", "--domain", g.Name, "--event", "lifecycle", "--loop"}
		vc, vso, vse := startSignalled(t, bin, args...)
		rc, rso, rse := startSignalled(t, "virsh", args...)
		time.Sleep(1500 * time.Millisecond) // both registered
		if events {
			if err := g.Dom.Suspend(); err != nil {
				t.Fatal(err)
			}
			if err := g.Dom.Resume(); err != nil {
				t.Fatal(err)
			}
			for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
				if strings.Count(vso.String(), "\n") >= 2 && strings.Count(rso.String(), "\n") >= 2 {
					break
				}
			}
		}
		_ = vc.Process.Signal(syscall.SIGINT)
		_ = rc.Process.Signal(syscall.SIGINT)
		vcode, rcode := exitCode(t, vc), exitCode(t, rc)
		if vso.String() != rso.String() || vcode != rcode {
			t.Fatalf("events=%v: virtsh %d %q (stderr %q)\nvirsh  %d %q (stderr %q)", events, vcode, vso.String(), vse.String(), rcode, rso.String(), rse.String())
		}
		want := "event loop interrupted\nevents received: 0\n\n"
		if events {
			want = fmt.Sprintf("event 'lifecycle' for domain '%s': Suspended Paused\nevent 'lifecycle' for domain '%s': Resumed Unpaused\nevent loop interrupted\nevents received: 2\n\n", g.Name, g.Name)
		}
		if vso.String() != want || (vcode == 0) != events {
			t.Fatalf("events=%v: virtsh %d %q, want %q", events, vcode, vso.String(), want)
		}
	}

	tc, tso, tse := startSignalled(t, bin, "-c", labURI(), "domblkthreshold", g.Name, "vda", "50%", "--wait")
	waitArmed(t, g, "vda", 4<<20)
	time.Sleep(200 * time.Millisecond)
	_ = tc.Process.Signal(syscall.SIGINT)
	code := exitCode(t, tc)
	if code != 1 || tse.String() != "error: interrupted while waiting for the block-threshold event\n" ||
		tso.String() != "Waiting for the block-threshold event on vda (4194304 bytes)\n\n" {
		t.Fatalf("domblkthreshold --wait after SIGINT: exit %d stdout %q stderr %q", code, tso.String(), tse.String())
	}
	waitArmed(t, g, "vda", 4<<20) // still armed: only the wait ended
}
