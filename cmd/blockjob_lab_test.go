//go:build lab

package cmd

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/virtsh/virtsh/shell/domain"
)

// Block jobs on real QEMU guests. Each test builds a backing chain with
// distinct data in every layer (qemu-io before start, guest writes while
// running), runs jobs through virtsh as a user would, and checks both
// libvirt's view (the live XML chain) and the data (qemu-io read -P).

// vt runs virtsh in-process against the lab: argv mode.
func vt(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	return runMain(t, "", append([]string{"-c", labURI()}, args...)...)
}

// vtScript runs virtsh with a script on stdin (the REPL's non-terminal mode).
func vtScript(t *testing.T, script string) (string, string, int) {
	t.Helper()
	return runMain(t, script, "-c", labURI())
}

func mustVT(t *testing.T, args ...string) string {
	t.Helper()
	out, errS, code := vt(t, args...)
	if code != 0 {
		t.Fatalf("virtsh %q: exit %d\nstdout: %s\nstderr: %s", args, code, out, errS)
	}
	return out
}

// chainOf is the live chain of a disk, top first, as paths.
func chainOf(t *testing.T, g *labGuest, target string) []string {
	t.Helper()
	var out []string
	for _, e := range liveChain(t, g, target) {
		out = append(out, e.Name)
	}
	return out
}

// liveChain is a disk's chain in the guest's live XML, top first.
func liveChain(t *testing.T, g *labGuest, target string) []domain.Source {
	t.Helper()
	disks, err := domain.Disks(g.LiveXML(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range disks {
		if d.Target == target {
			return d.Chain
		}
	}
	t.Fatalf("%s has no disk %s", g.Name, target)
	return nil
}

func wantChain(t *testing.T, g *labGuest, target string, want ...string) {
	t.Helper()
	if got := chainOf(t, g, target); !reflect.DeepEqual(got, want) {
		t.Fatalf("chain of %s = %q, want %q", target, got, want)
	}
}

func noJob(t *testing.T, g *labGuest, disk string) {
	t.Helper()
	info, err := g.Dom.GetBlockJobInfo(disk, 0)
	if err != nil || info.Type != 0 {
		t.Fatalf("block job on %s still there: %+v %v", disk, info, err)
	}
}

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
	mustVT(t, append([]string{"snapshot-create-as", g.Name, "s1", "--disk-only", "--no-metadata", "--diskspec", "vda,file=" + s1}, others...)...)
	g.GuestWrite(t, "vda", 0xb2, "1M", "1M")
	mustVT(t, append([]string{"snapshot-create-as", g.Name, "s2", "--disk-only", "--no-metadata", "--diskspec", "vda,file=" + s2}, others...)...)
	g.GuestWrite(t, "vda", 0xc3, "2M", "1M")
	wantChain(t, g, "vda", s2, s1, base)
	return
}

func stopGuest(t *testing.T, g *labGuest) {
	t.Helper()
	if err := g.Dom.Destroy(); err != nil {
		t.Fatal(err)
	}
}

func TestLabBlockCommit(t *testing.T) {
	g, base, s1, s2 := layeredGuest(t, "commit", 1)

	// Inactive layer, --top/--base/--delete, run from a script on stdin.
	out, errS, code := vtScript(t, "blockcommit "+g.Name+" vda --top "+s1+" --base "+base+" --wait --delete --verbose\n")
	if code != 0 || !strings.Contains(out, "\nCommit complete\n") || !strings.Contains(errS, "\rBlock commit: [100 %]") {
		t.Fatalf("inactive commit: %d %q %q", code, out, errS)
	}
	wantChain(t, g, "vda", s2, base)
	if _, err := os.Stat(s1); !os.IsNotExist(err) {
		t.Fatalf("--delete left %s: %v", s1, err)
	}
	noJob(t, g, "vda")

	// Active commit keeping the overlay: base gets s2's data, disk stays on s2.
	out = mustVT(t, "blockcommit", g.Name, "vda", "--keep-overlay")
	if out != "\nCommit complete, overlay image kept\n" {
		t.Fatalf("keep-overlay: %q", out)
	}
	wantChain(t, g, "vda", s2, base)
	noJob(t, g, "vda")

	// Active commit with pivot, -o json: one object; disk now on base.
	g.GuestWrite(t, "vda", 0xd4, "3M", "1M")
	out = mustVT(t, "-o", "json", "blockcommit", g.Name, "vda", "--pivot")
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

	out := mustVT(t, "blockpull", g.Name, "vda", "--base", base, "--wait", "--verbose")
	if !strings.Contains(out, "\nPull complete\n") {
		t.Fatalf("pull to base: %q", out)
	}
	wantChain(t, g, "vda", s2, base)
	_ = s1

	out = mustVT(t, "blockpull", g.Name, "vda", "--wait")
	if out != "\nPull complete\n" {
		t.Fatalf("full pull: %q", out)
	}
	wantChain(t, g, "vda", s2)

	// A snapshot with metadata: listed, dumped, deleted (metadata only).
	s3 := filepath.Join(g.Dir, "s3.qcow2")
	if out := mustVT(t, "snapshot-create-as", g.Name, "s3", "the third", "--disk-only", "vda,file="+s3); out != "Domain snapshot s3 created\n" {
		t.Fatalf("snapshot-create-as: %q", out)
	}
	if out := mustVT(t, "-q", "snapshot-list", g.Name, "--name"); out != "s3\n" {
		t.Fatalf("snapshot-list --name: %q", out)
	}
	if out := mustVT(t, "snapshot-list", g.Name, "--parent"); !strings.Contains(out, " s3 ") || !strings.Contains(out, "disk-snapshot") {
		t.Fatalf("snapshot-list: %q", out)
	}
	if out := mustVT(t, "snapshot-dumpxml", g.Name, "s3"); !strings.Contains(out, "<source file='"+s3+"'/>") || !strings.Contains(out, "<description>the third</description>") {
		t.Fatalf("snapshot-dumpxml: %q", out)
	}
	if out := mustVT(t, "snapshot-delete", g.Name, "--current", "--metadata"); out != "Domain snapshot s3 deleted\n\n" {
		t.Fatalf("snapshot-delete: %q", out)
	}
	wantChain(t, g, "vda", s3, s2)
	mustVT(t, "blockcommit", g.Name, "vda", "--pivot")
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
	_, errS, code := vt(t, "blockcopy", g.Name, "vda", d1, "--wait")
	if code != 1 || !strings.Contains(errS, "domain is not transient") || !strings.Contains(errS, "needs --transient-job") {
		t.Fatalf("copy without --transient-job: %d %q", code, errS)
	}
	wantChain(t, g, "vda", s2, filepath.Join(g.Dir, "s1.qcow2"), base)
	out := mustVT(t, "blockcopy", g.Name, "vda", d1, "--format", "qcow2", "--transient-job", "--pivot", "--verbose")
	if !strings.Contains(out, "\nSuccessfully pivoted\n") {
		t.Fatalf("copy --pivot: %q", out)
	}
	wantChain(t, g, "vda", d1)

	out = mustVT(t, "blockcopy", g.Name, "vda", "--dest", d2, "--format", "qcow2", "--transient-job", "--finish")
	if out != "\nSuccessfully copied\n" {
		t.Fatalf("copy --finish: %q", out)
	}
	wantChain(t, g, "vda", d1)

	// Destination exists, no --reuse-external: refused, guest unchanged.
	_, errS, code = vt(t, "blockcopy", g.Name, "vda", d2, "--format", "qcow2", "--transient-job", "--wait")
	if code != 1 || !strings.Contains(errS, "already exists") {
		t.Fatalf("existing dest: %d %q", code, errS)
	}
	wantChain(t, g, "vda", d1)
	noJob(t, g, "vda")

	// Shallow copy onto a prepared overlay of the same backing image.
	s4 := filepath.Join(g.Dir, "s4.qcow2")
	mustVT(t, "snapshot-create-as", g.Name, "--disk-only", "--no-metadata", "--diskspec", "vda,file="+s4)
	g.GuestWrite(t, "vda", 0xe5, "3M", "1M")
	qemuImg(t, "create", "-q", "-f", "qcow2", "-b", d1, "-F", "qcow2", d3)
	out = mustVT(t, "blockcopy", g.Name, "vda", d3, "--shallow", "--reuse-external", "--format", "qcow2", "--transient-job", "--pivot")
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

	if out := mustVT(t, "blockcommit", g.Name, "vda", "--active", "--bandwidth", "1"); out != "Active Block Commit started\n" {
		t.Fatalf("start: %q", out)
	}
	out, errS, code := vt(t, "blockjob", g.Name, "vda", "--info")
	if code != 0 || !strings.HasPrefix(errS, "\rActive Block Commit: [") || !strings.Contains(out, "Bandwidth limit: 1048576 bytes/s (1.000 MiB/s)") {
		t.Fatalf("info: %d %q %q", code, out, errS)
	}
	mustVT(t, "blockjob", g.Name, "vda", "--bandwidth", "2")
	if out := mustVT(t, "blockjob", g.Name, "vda", "--raw", "--bytes"); !strings.Contains(out, " type=Active Block Commit\n bandwidth=2097152\n") {
		t.Fatalf("raw: %q", out)
	}
	if out := mustVT(t, "-o", "json", "blockjob", g.Name); !strings.Contains(out, `"disk": "vda"`) || !strings.Contains(out, `"bandwidth_bytes_per_second": 2097152`) {
		t.Fatalf("list: %q", out)
	}
	_, errS, code = vt(t, "blockpull", g.Name, "vda")
	if code != 1 || !strings.Contains(errS, "already in active block job") {
		t.Fatalf("second job: %d %q", code, errS)
	}
	if out := mustVT(t, "-q", "blockjob", g.Name, "vda", "--abort"); out != "" {
		t.Fatalf("abort: %q", out)
	}
	noJob(t, g, "vda")
	wantChain(t, g, "vda", chain...)

	// --timeout aborts the job: "Commit aborted", exit 1, job gone.
	start := time.Now()
	out, errS, code = vt(t, "blockcommit", g.Name, "vda", "--active", "--bandwidth", "1", "--timeout", "1", "--verbose")
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
		out, errS, code := vt(t, c.args...)
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
