//go:build lab

package cmd

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Block jobs on real QEMU guests. Each test builds a backing chain with
// distinct data in every layer (qemu-io before start, guest writes while
// running), runs jobs through virtsh as a user would, and checks both
// libvirt's view (the live XML chain) and the data (qemu-io read -P).

// layeredGuest starts a guest whose vda is base <- s1 <- s2, with 0xa1 at
// 0 in base (written before start), 0xb2 at 1M in s1 and 0xc3 at 2M in s2
// (written by the running guest).
func layeredGuest(t *testing.T, prefix string, disks int) (g *labGuest, base, s1, s2 string) {
	t.Helper()
	g = newLabGuest(t, labGuestOpts{Prefix: prefix, Disks: disks, DiskMiB: 4})
	base = g.Disks[0]
	qemuIO(t, base, "write -P 0xa1 0 1M")
	if err := g.Dom.Create(); err != nil {
		t.Fatal(err)
	}
	s1, s2 = filepath.Join(g.Dir, "s1.qcow2"), filepath.Join(g.Dir, "s2.qcow2")
	// Other disks keep no chain (a disk-only snapshot covers every disk
	// unless told otherwise).
	var others []string
	for i := 1; i < disks; i++ {
		others = append(others, "--diskspec", "vd"+string(rune('a'+i))+",snapshot=no")
	}
	mustVirtshLab(t, append([]string{"snapshot-create-as", g.Name, "s1", "--disk-only", "--no-metadata", "--diskspec", "vda,file=" + s1}, others...)...)
	g.GuestWrite(t, "vda", 0xb2, "1M", "1M")
	mustVirtshLab(t, append([]string{"snapshot-create-as", g.Name, "s2", "--disk-only", "--no-metadata", "--diskspec", "vda,file=" + s2}, others...)...)
	g.GuestWrite(t, "vda", 0xc3, "2M", "1M")
	wantChain(t, g, "vda", s2, s1, base)
	return
}

func TestLabBlockCommit(t *testing.T) {
	g, base, s1, s2 := layeredGuest(t, "commit", 1)

	// Inactive layer, --top/--base/--delete, run from a script on stdin.
	out, errS, code := virtshLabScript(t, "blockcommit "+g.Name+" vda --top "+s1+" --base "+base+" --wait --delete --verbose\n")
	if code != 0 || !strings.Contains(out, "\nCommit complete\n") || !strings.Contains(errS, "\rBlock commit: [100 %]") {
		t.Fatalf("inactive commit: %d %q %q", code, out, errS)
	}
	wantChain(t, g, "vda", s2, base)
	if _, err := os.Stat(s1); !os.IsNotExist(err) {
		t.Fatalf("--delete left %s: %v", s1, err)
	}
	noJob(t, g, "vda")

	// Active commit keeping the overlay: base gets s2's data, disk stays on s2.
	out = mustVirtshLab(t, "blockcommit", g.Name, "vda", "--keep-overlay")
	if out != "\nCommit complete, overlay image kept\n" {
		t.Fatalf("keep-overlay: %q", out)
	}
	wantChain(t, g, "vda", s2, base)
	noJob(t, g, "vda")

	// Active commit with pivot, -o json: one object; disk now on base.
	g.GuestWrite(t, "vda", 0xd4, "3M", "1M")
	out = mustVirtshLab(t, "-o", "json", "blockcommit", g.Name, "vda", "--pivot")
	var res blockJobResult
	if err := json.Unmarshal([]byte(out), &res); err != nil || res.Status != "pivoted" || res.Job != "active_commit" || res.Disk != "vda" {
		t.Fatalf("json result %q: %+v %v", out, res, err)
	}
	wantChain(t, g, "vda", base)
	noJob(t, g, "vda")
	stopGuest(t, g)
	qemuIO(t, base, "read -P 0xa1 0 1M", "read -P 0xb2 1M 1M", "read -P 0xc3 2M 1M", "read -P 0xd4 3M 1M")
}

func TestLabBlockPullAndSnapshots(t *testing.T) {
	g, base, s1, s2 := layeredGuest(t, "pull", 1)

	out := mustVirtshLab(t, "blockpull", g.Name, "vda", "--base", base, "--wait", "--verbose")
	if !strings.Contains(out, "\nPull complete\n") {
		t.Fatalf("pull to base: %q", out)
	}
	wantChain(t, g, "vda", s2, base)
	_ = s1

	out = mustVirtshLab(t, "blockpull", g.Name, "vda", "--wait")
	if out != "\nPull complete\n" {
		t.Fatalf("full pull: %q", out)
	}
	wantChain(t, g, "vda", s2)

	// A snapshot with metadata: listed, dumped, deleted (metadata only).
	s3 := filepath.Join(g.Dir, "s3.qcow2")
	if out := mustVirtshLab(t, "snapshot-create-as", g.Name, "s3", "the third", "--disk-only", "vda,file="+s3); out != "Domain snapshot s3 created\n" {
		t.Fatalf("snapshot-create-as: %q", out)
	}
	if out := mustVirtshLab(t, "-q", "snapshot-list", g.Name, "--name"); out != "s3\n" {
		t.Fatalf("snapshot-list --name: %q", out)
	}
	if out := mustVirtshLab(t, "snapshot-list", g.Name, "--parent"); !strings.Contains(out, " s3 ") || !strings.Contains(out, "disk-snapshot") {
		t.Fatalf("snapshot-list: %q", out)
	}
	if out := mustVirtshLab(t, "snapshot-dumpxml", g.Name, "s3"); !strings.Contains(out, "<source file='"+s3+"'/>") || !strings.Contains(out, "<description>the third</description>") {
		t.Fatalf("snapshot-dumpxml: %q", out)
	}
	if out := mustVirtshLab(t, "snapshot-delete", g.Name, "--current", "--metadata"); out != "Domain snapshot s3 deleted\n\n" {
		t.Fatalf("snapshot-delete: %q", out)
	}
	wantChain(t, g, "vda", s3, s2)
	mustVirtshLab(t, "blockcommit", g.Name, "vda", "--pivot")
	wantChain(t, g, "vda", s2)
	stopGuest(t, g)
	// s2 has no backing file any more: the reads prove the pull copied every layer.
	if info := qemuImg(t, "info", s2); strings.Contains(info, "backing file") {
		t.Fatalf("s2 still has a backing file: %s", info)
	}
	qemuIO(t, s2, "read -P 0xa1 0 1M", "read -P 0xb2 1M 1M", "read -P 0xc3 2M 1M")
}

func TestLabBlockCopy(t *testing.T) {
	g, base, _, s2 := layeredGuest(t, "copy", 1)
	d1, d2, d3 := filepath.Join(g.Dir, "d1.qcow2"), filepath.Join(g.Dir, "d2.qcow2"), filepath.Join(g.Dir, "d3.qcow2")

	// A persistent guest needs --transient-job: the error says so.
	_, errS, code := virtshLab(t, "blockcopy", g.Name, "vda", d1, "--wait")
	if code != 1 || !strings.Contains(errS, "domain is not transient") || !strings.Contains(errS, "needs --transient-job") {
		t.Fatalf("copy without --transient-job: %d %q", code, errS)
	}
	wantChain(t, g, "vda", s2, filepath.Join(g.Dir, "s1.qcow2"), base)
	out := mustVirtshLab(t, "blockcopy", g.Name, "vda", d1, "--format", "qcow2", "--transient-job", "--pivot", "--verbose")
	if !strings.Contains(out, "\nSuccessfully pivoted\n") {
		t.Fatalf("copy --pivot: %q", out)
	}
	wantChain(t, g, "vda", d1)

	out = mustVirtshLab(t, "blockcopy", g.Name, "vda", "--dest", d2, "--format", "qcow2", "--transient-job", "--finish")
	if out != "\nSuccessfully copied\n" {
		t.Fatalf("copy --finish: %q", out)
	}
	wantChain(t, g, "vda", d1)

	// Destination exists, no --reuse-external: refused, guest unchanged.
	_, errS, code = virtshLab(t, "blockcopy", g.Name, "vda", d2, "--format", "qcow2", "--transient-job", "--wait")
	if code != 1 || !strings.Contains(errS, "already exists") {
		t.Fatalf("existing dest: %d %q", code, errS)
	}
	wantChain(t, g, "vda", d1)
	noJob(t, g, "vda")

	// Shallow copy onto a prepared overlay of the same backing image.
	s4 := filepath.Join(g.Dir, "s4.qcow2")
	mustVirtshLab(t, "snapshot-create-as", g.Name, "--disk-only", "--no-metadata", "--diskspec", "vda,file="+s4)
	g.GuestWrite(t, "vda", 0xe5, "3M", "1M")
	qemuImg(t, "create", "-q", "-f", "qcow2", "-b", d1, "-F", "qcow2", d3)
	out = mustVirtshLab(t, "blockcopy", g.Name, "vda", d3, "--shallow", "--reuse-external", "--format", "qcow2", "--transient-job", "--pivot")
	if !strings.Contains(out, "Successfully pivoted") {
		t.Fatalf("shallow copy: %q", out)
	}
	wantChain(t, g, "vda", d3, d1)
	stopGuest(t, g)
	qemuIO(t, d1, "read -P 0xa1 0 1M", "read -P 0xb2 1M 1M", "read -P 0xc3 2M 1M")
	qemuImg(t, "compare", "-q", d1, d2)
	qemuIO(t, d3, "read -P 0xa1 0 1M", "read -P 0xc3 2M 1M", "read -P 0xe5 3M 1M")
}

// A throttled job: info, bandwidth change, listing, a second job refused,
// abort; then --timeout, Ctrl-C, and bad input. The chain and the data stay.
func TestLabBlockJobControlTimeoutSigint(t *testing.T) {
	g, base, s1, s2 := layeredGuest(t, "jobctl", 2)
	g.GuestWrite(t, "vda", 0xf6, "0", "4M") // 4 MiB in the overlay: ~4 s at 1 MiB/s
	chain := []string{s2, s1, base}

	if out := mustVirtshLab(t, "blockcommit", g.Name, "vda", "--active", "--bandwidth", "1"); out != "Active Block Commit started\n" {
		t.Fatalf("start: %q", out)
	}
	out, errS, code := virtshLab(t, "blockjob", g.Name, "vda", "--info")
	if code != 0 || !strings.HasPrefix(errS, "\rActive Block Commit: [") || !strings.Contains(out, "Bandwidth limit: 1048576 bytes/s (1.000 MiB/s)") {
		t.Fatalf("info: %d %q %q", code, out, errS)
	}
	mustVirtshLab(t, "blockjob", g.Name, "vda", "--bandwidth", "2")
	if out := mustVirtshLab(t, "blockjob", g.Name, "vda", "--raw", "--bytes"); !strings.Contains(out, " type=Active Block Commit\n bandwidth=2097152\n") {
		t.Fatalf("raw: %q", out)
	}
	if out := mustVirtshLab(t, "-o", "json", "blockjob", g.Name); !strings.Contains(out, `"disk": "vda"`) || !strings.Contains(out, `"bandwidth_bytes_per_second": 2097152`) {
		t.Fatalf("list: %q", out)
	}
	_, errS, code = virtshLab(t, "blockpull", g.Name, "vda")
	if code != 1 || !strings.Contains(errS, "already in active block job") {
		t.Fatalf("second job: %d %q", code, errS)
	}
	if out := mustVirtshLab(t, "-q", "blockjob", g.Name, "vda", "--abort"); out != "" {
		t.Fatalf("abort: %q", out)
	}
	noJob(t, g, "vda")
	wantChain(t, g, "vda", chain...)

	// --timeout aborts the job: "Commit aborted", exit 1, job gone.
	start := time.Now()
	out, errS, code = virtshLab(t, "blockcommit", g.Name, "vda", "--active", "--bandwidth", "1", "--timeout", "1", "--verbose")
	if code != 1 || out != "\nCommit aborted\n" || strings.Contains(errS, "error:") || time.Since(start) > 3*time.Second {
		t.Fatalf("timeout: %d %q %q after %v", code, out, errS, time.Since(start))
	}
	noJob(t, g, "vda")
	wantChain(t, g, "vda", chain...)

	// Ctrl-C during --wait: the built binary gets SIGINT, aborts, exits 1.
	cmd := exec.Command(virtshBinary(t), "-c", labURI(), "blockcommit", g.Name, "vda", "--active", "--bandwidth", "1", "--wait", "--verbose")
	cmd.Env = append(os.Environ(), "GORACE=atexit_sleep_ms=0")
	var so, se bytes.Buffer
	cmd.Stdout, cmd.Stderr = &so, &se
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if info, err := g.Dom.GetBlockJobInfo("vda", 0); err == nil && info.Type != 0 {
			break
		}
	}
	time.Sleep(300 * time.Millisecond)
	_ = cmd.Process.Signal(syscall.SIGINT)
	err := cmd.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 || !strings.Contains(so.String(), "Commit aborted") {
		t.Fatalf("SIGINT: %v stdout %q stderr %q", err, so.String(), se.String())
	}
	noJob(t, g, "vda")
	wantChain(t, g, "vda", chain...)

	// Bad input: a clear error each, nothing changes.
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"blockcommit", g.Name, "vdz", "--wait"}, "error: invalid argument: disk 'vdz' not found in domain\n"},
		{[]string{"blockcommit", g.Name, "vdb", "--active", "--wait"}, "error: invalid argument: could not find base image in chain for 'vdb'\n"},
		{[]string{"blockcommit", g.Name, "vda", "--active", "--bandwidth", "-1"}, "error: numerical overflow: bandwidth must be less than 8796093022207\n"},
		{[]string{"blockcommit", g.Name, "vda", "--bandwidth", "fast"}, "error: Scaled numeric value 'fast' for <--bandwidth> option is malformed or out of range\n"},
		{[]string{"blockcommit", g.Name, "vda", "--timeout", "0"}, "error: Numeric value '0' for <timeout> option is malformed or out of range\n"},
		{[]string{"blockjob", g.Name, "vda", "--abort"}, "error: invalid argument: disk vda does not have an active block job\n"},
	} {
		out, errS, code := virtshLab(t, c.args...)
		if code != 1 || errS != c.want {
			t.Errorf("%q: %d %q %q, want %q", c.args, code, out, errS, c.want)
		}
	}
	wantChain(t, g, "vda", chain...)
	noJob(t, g, "vda")
	stopGuest(t, g)
	// What the guest reads (the overlay) is intact, and so is s1. base is
	// not compared: an aborted active commit has, by design, already copied
	// part of the overlay into it, which the overlay still hides.
	qemuIO(t, s2, "read -P 0xf6 0 4M")
	qemuIO(t, s1, "read -P 0xb2 1M 1M")
}

// expectRE waits until re matches the pty output after the last expect()
// match (the pty helpers only look for fixed text; a bar's numbers vary).
func expectRE(t *testing.T, s *ptySession, re *regexp.Regexp) string {
	t.Helper()
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		scr := s.screen()
		if m := re.FindString(scr[min(s.mark, len(scr)):]); m != "" {
			return m
		}
	}
	t.Fatalf("timed out waiting for %v; output after last match:\n%q", re, s.screen()[min(s.mark, len(s.screen())):])
	return ""
}

// TestLabBlockJobsInREPLThroughPTY: block jobs typed at the interactive
// shell on a real pseudo-terminal: the live progress bar, the final
// messages, Ctrl-C aborting a throttled wait and giving the prompt back, and
// the shell working on afterwards. Then libvirt's chain and the data are
// checked.
func TestLabBlockJobsInREPLThroughPTY(t *testing.T) {
	g, base, s1, s2 := layeredGuest(t, "replpty", 1)
	g.GuestWrite(t, "vda", 0xd4, "3M", "1M") // s2 holds 2 MiB: ~2 s at 1 MiB/s
	dest := filepath.Join(g.Dir, "copy.qcow2")

	s := startPTY(t, t.TempDir(), nil, "-c", labURI())
	s.expect(ptyBanner + "virtsh # ")

	// A throttled active commit, Ctrl-C once the bar shows progress: the
	// job is aborted, the shell prints virsh's message and a new prompt.
	s.send("blockcommit " + g.Name + " vda --active --bandwidth 1 --wait --verbose\r")
	// percent, bar, bytes done of total ("( 0 B/3.0 MiB)", "(1.5/3.0 MiB, ...")
	expectRE(t, s, regexp.MustCompile(`Block commit +\d+% \|[^|]*\| \( ?[0-9.]+( [KMG]?i?B)?/[0-9.]+ MiB`))
	s.send("\x03")
	s.expect("\nCommit aborted\n")
	s.expect("virtsh # ")
	s.alive()
	noJob(t, g, "vda")
	wantChain(t, g, "vda", s2, s1, base)

	// The shell keeps working: the next command runs.
	s.send("domblklist " + g.Name + "\r")
	s.expect(" vda      " + s2 + "\n")
	s.expect("virtsh # ")

	// The same commit unthrottled, with pivot: the bar reaches 100 % with
	// the byte counts, then virsh's message; the disk is now on base.
	s.send("blockcommit " + g.Name + " vda --active --pivot --wait --verbose\r")
	expectRE(t, s, regexp.MustCompile(`Block commit +100% \|[^|]*\| \( ?[0-9.]+( [KMG]?i?B)?/[0-9.]+ [KMG]?i?B`))
	s.expect("\nSuccessfully pivoted\n")
	s.expect("virtsh # ")
	wantChain(t, g, "vda", base)
	noJob(t, g, "vda")

	// A copy waited for in the shell reaches the mirroring phase; a pivot
	// from the same shell moves the disk onto the copy.
	s.send("blockcopy " + g.Name + " vda " + dest + " --format qcow2 --transient-job --wait --verbose\r")
	expectRE(t, s, regexp.MustCompile(`Block Copy +100% \|[^|]*\| \( ?[0-9.]+( [KMG]?i?B)?/[0-9.]+ [KMG]?i?B`))
	s.expect("\nNow in mirroring phase\n")
	s.expect("virtsh # ")
	s.send("blockjob " + g.Name + " vda --pivot\r")
	// readline redraws the prompt as keys are typed: wait for the line to
	// end, then for the next prompt.
	s.expect(" vda --pivot\n")
	s.expect("virtsh # ")
	wantChain(t, g, "vda", dest)
	noJob(t, g, "vda")

	s.leave("quit\r")
	if strings.Contains(s.screen(), "error:") {
		t.Errorf("an error was printed:\n%q", s.screen())
	}
	stopGuest(t, g)
	// Every layer's data: in base after the commit, and in the full copy.
	for _, img := range []string{base, dest} {
		qemuIO(t, img, "read -P 0xa1 0 1M", "read -P 0xb2 1M 1M", "read -P 0xc3 2M 1M", "read -P 0xd4 3M 1M")
	}
	qemuImg(t, "compare", "-q", base, dest)
}
