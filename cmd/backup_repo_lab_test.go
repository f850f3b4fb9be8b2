//go:build lab

package cmd

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"libvirt.org/go/libvirt"

	"github.com/virtsh/virtsh/shell/domain"
)

// Backup repositories (backup-create, -list, -restore, -verify) on real
// QEMU guests: what each point restores is read back with qemu-io patterns.

// guestURI is the URI of the host the guest is on.
func guestURI(t *testing.T, g *labGuest) string {
	t.Helper()
	u, err := g.Conn.GetURI()
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// repoBackup runs backup-create (on the guest's host) and returns the point
// it printed.
func repoBackup(t *testing.T, g *labGuest, dir, level string, extra ...string) pointView {
	t.Helper()
	v, _ := repoBackupErr(t, g, dir, level, extra...)
	return v
}

// repoBackupErr is repoBackup that also returns what it said on stderr.
func repoBackupErr(t *testing.T, g *labGuest, dir, level string, extra ...string) (pointView, string) {
	t.Helper()
	args := append([]string{"-c", guestURI(t, g), "backup-create", g.Name, dir, "--level", level, "-o", "json"}, extra...)
	out, errS, code := runMain(t, "", args...)
	if code != 0 {
		t.Fatalf("virtsh %q: exit %d\nstdout: %s\nstderr: %s", args, code, out, errS)
	}
	if contains(extra, "--verbose") && !strings.HasSuffix(errS, "Backup: [100 %]\n") {
		t.Errorf("virtsh %q --verbose: stderr %q, want progress to 100 %%", args, errS)
	}
	var v pointView
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("backup-create -o json: %v\n%s", err, out)
	}
	return v, errS
}

// repoPoints is backup-list -o json.
func repoPoints(t *testing.T, dir string) []pointView {
	t.Helper()
	out := mustVirtshLab(t, "backup-list", dir, "-o", "json")
	var v []pointView
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("backup-list -o json: %v\n%s", err, out)
	}
	return v
}

// restoreAndRead restores point into a new directory and checks the
// restored vda with qemu-io reads (patterns); it returns the image.
func restoreAndRead(t *testing.T, dir, point string, reads ...string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "p"+point)
	mustVirtshLab(t, "backup-restore", dir, "--point", point, "--target-dir", out)
	img := filepath.Join(out, "vda.qcow2")
	qemuIO(t, img, reads...)
	return img
}

func diskBytes(v pointView, target string) int64 {
	for _, d := range v.Disks {
		if d.Target == target {
			return d.Bytes
		}
	}
	return -1
}

// TestLabBackupRepoFourPoints: full, inc, inc, diff (push mode); each
// point restores to exactly the data as of that point, the latest to the
// guest's disk; each point holds only what changed.
func TestLabBackupRepoFourPoints(t *testing.T) {
	fourPoints(t, newLabGuest(t, labGuestOpts{Prefix: "repo4", Start: true}), "--verbose")
}

// TestLabBackupRepoFourPointsPull: the same in pull mode over a UNIX
// socket, reading exactly the allocated (full) and dirty (inc, diff)
// extents.
func TestLabBackupRepoFourPointsPull(t *testing.T) {
	fourPoints(t, newLabGuest(t, labGuestOpts{Prefix: "repo4p", Start: true}), "--pull", "--verbose")
}

// TestLabBackupRepoFourPointsPullRemote: the same with the guest on a
// second libvirt host (scripts/lab-hosts, TCP on 127.0.0.2), its NBD
// server on TCP, the repository on this side.
// VIRTSH_LAB_REMOTE_URI names another such host (one whose daemon sees
// this machine's /tmp, where the guest's images are).
func TestLabBackupRepoFourPointsPullRemote(t *testing.T) {
	var conn *libvirt.Connect
	if uri := os.Getenv("VIRTSH_LAB_REMOTE_URI"); uri != "" {
		c, err := libvirt.NewConnect(uri)
		if err != nil {
			t.Fatalf("remote lab host %s: %v", uri, err)
		}
		t.Cleanup(func() { _, _ = c.Close() })
		conn = c
	} else {
		conn = newFleetLab(t).host("lab2").conn
	}
	g := newLabGuest(t, labGuestOpts{Prefix: "repo4r", Start: true, Conn: conn})
	if u := guestURI(t, g); !strings.HasPrefix(u, "qemu+tcp://") {
		t.Fatalf("the remote guest's URI %s is not TCP", u)
	}
	fourPoints(t, g, "--pull")
}

// TestLabBackupRepoFourPointsCompressed: the same with --compress: the
// points' files hold compressed clusters, far smaller than the data, and
// verify reads them back.
func TestLabBackupRepoFourPointsCompressed(t *testing.T) {
	fourPoints(t, newLabGuest(t, labGuestOpts{Prefix: "repo4c", Start: true}), "--compress")
}

func fourPoints(t *testing.T, g *labGuest, extra ...string) {
	dir := filepath.Join(t.TempDir(), "repo")
	pull := contains(extra, "--pull")

	g.GuestWrite(t, "vda", 0xa1, "0", "4M")
	p1 := repoBackup(t, g, dir, "full", extra...)
	g.GuestWrite(t, "vda", 0xb2, "2M", "2M") // 2 MiB of a 64 MiB disk
	p2 := repoBackup(t, g, dir, "inc", extra...)
	g.GuestWrite(t, "vda", 0xc3, "6M", "1M")
	p3 := repoBackup(t, g, dir, "inc", extra...)
	g.GuestWrite(t, "vda", 0xd4, "0", "64k")
	// Zeros over part of C: the diff must hide C there (a pull stores
	// them as zero clusters, which hold no data bytes).
	g.GuestWrite(t, "vda", 0x00, "6M", "512k")
	p4 := repoBackup(t, g, dir, "diff", extra...)
	diffBytes := int64(3*MiB + 64<<10)
	if pull {
		diffBytes -= 512 << 10
	}

	for i, want := range []struct {
		n, parent int
		level     string
		bytes     int64
	}{{1, 0, "full", 4 * MiB}, {2, 1, "inc", 2 * MiB}, {3, 2, "inc", 1 * MiB}, {4, 1, "diff", diffBytes}} {
		got := []pointView{p1, p2, p3, p4}[i]
		if got.Point != want.n || got.Parent != want.parent || got.Level != want.level || diskBytes(got, "vda") != want.bytes ||
			got.State != "unverified" {
			t.Errorf("point %d: %+v, want %+v", i+1, got, want)
		}
		// Pull mode reads the allocated (full) or dirty extents, no more:
		// what the point holds, and for the diff the zeros too.
		wantRead := want.bytes
		if want.level == "diff" {
			wantRead = 3*MiB + 64<<10
		}
		if pull && got.ReadBytes != wantRead || !pull && got.ReadBytes != 0 {
			t.Errorf("point %d read %d bytes over NBD, want %d", i+1, got.ReadBytes, wantRead)
		}
	}
	t.Logf("bytes per point (vda): full %d, inc after 2 MiB of writes %d, inc %d, diff %d; read over NBD: %d %d %d %d",
		diskBytes(p1, "vda"), diskBytes(p2, "vda"), diskBytes(p3, "vda"), diskBytes(p4, "vda"),
		p1.ReadBytes, p2.ReadBytes, p3.ReadBytes, p4.ReadBytes)
	list := repoPoints(t, dir)
	if len(list) != 4 || list[3].Checkpoint != p4.Checkpoint {
		t.Fatalf("backup-list: %+v", list)
	}
	// The guest keeps only the checkpoints a next backup can use: the last
	// point's (inc) and its full's (diff).
	id := strings.Split(p1.Checkpoint, ".")[1]
	if got, want := strings.Join(checkpointNames(t, g), " "), fmt.Sprintf("virtsh.%s.1 virtsh.%s.4", id, id); got != want {
		t.Errorf("checkpoints %s, want %s", got, want)
	}
	table := mustVirtshLab(t, "backup-list", dir)
	for _, w := range []string{" Point ", "inc (of 2)", "diff (of 1)", "vda=2.000 MiB", "unverified"} {
		if !strings.Contains(table, w) {
			t.Errorf("backup-list table lacks %q:\n%s", w, table)
		}
	}

	restoreAndRead(t, dir, "1", "read -P 0xa1 0 4M", "read -P 0 4M 60M")
	restoreAndRead(t, dir, "2", "read -P 0xa1 0 2M", "read -P 0xb2 2M 2M", "read -P 0 4M 60M")
	restoreAndRead(t, dir, p3.Checkpoint, "read -P 0xa1 0 2M", "read -P 0xb2 2M 2M", "read -P 0 4M 2M",
		"read -P 0xc3 6M 1M", "read -P 0 7M 57M")
	latest := restoreAndRead(t, dir, "4", "read -P 0xd4 0 64k", "read -P 0xa1 64k 1984k", "read -P 0xb2 2M 2M",
		"read -P 0 4M 2M", "read -P 0 6M 512k", "read -P 0xc3 6656k 512k", "read -P 0 7M 57M")
	mustVirtshLab(t, "backup-verify", dir)
	if contains(extra, "--compress") {
		// A repeated byte compresses to next to nothing.
		st, err := os.Stat(filepath.Join(dir, "points", "0001", "vda.qcow2"))
		if err != nil {
			t.Fatal(err)
		}
		if st.Size() >= MiB {
			t.Errorf("compressed full of 4 MiB of one byte: a file of %d bytes", st.Size())
		}
	}
	stopGuest(t, g)
	qemuImg(t, "compare", "-f", "qcow2", "-F", "qcow2", latest, g.Disks[0])
}

// TestLabBackupRepoTwoRepositories: two repositories of one guest,
// alternating backups, keep independent chains that both restore.
func TestLabBackupRepoTwoRepositories(t *testing.T) {
	g := newLabGuest(t, labGuestOpts{Prefix: "repo2", Start: true})
	a, b := filepath.Join(g.Dir, "a"), filepath.Join(g.Dir, "b")
	g.GuestWrite(t, "vda", 0x11, "0", "1M")
	a1 := repoBackup(t, g, a, "full")
	g.GuestWrite(t, "vda", 0x22, "1M", "1M")
	b1 := repoBackup(t, g, b, "full")
	g.GuestWrite(t, "vda", 0x33, "2M", "1M")
	a2 := repoBackup(t, g, a, "auto")
	g.GuestWrite(t, "vda", 0x44, "3M", "1M")
	b2 := repoBackup(t, g, b, "auto")
	if a1.Checkpoint == b1.Checkpoint || a2.Level != "inc" || b2.Level != "inc" {
		t.Fatalf("points: %+v %+v %+v %+v", a1, b1, a2, b2)
	}
	// A's inc holds what changed since A's point (1M..3M), B's since B's
	// (2M..4M): each chain's own.
	if diskBytes(a2, "vda") != 2*MiB || diskBytes(b2, "vda") != 2*MiB {
		t.Errorf("inc sizes: a %d, b %d, want %d each", diskBytes(a2, "vda"), diskBytes(b2, "vda"), 2*MiB)
	}
	restoreAndRead(t, a, "1", "read -P 0x11 0 1M", "read -P 0 1M 63M")
	restoreAndRead(t, a, "2", "read -P 0x11 0 1M", "read -P 0x22 1M 1M", "read -P 0x33 2M 1M", "read -P 0 3M 61M")
	restoreAndRead(t, b, "1", "read -P 0x11 0 1M", "read -P 0x22 1M 1M", "read -P 0 2M 62M")
	latest := restoreAndRead(t, b, "2", "read -P 0x11 0 1M", "read -P 0x22 1M 1M", "read -P 0x33 2M 1M", "read -P 0x44 3M 1M")
	stopGuest(t, g)
	qemuImg(t, "compare", "-f", "qcow2", "-F", "qcow2", latest, g.Disks[0])
}

// TestLabBackupRepoVerify: verify passes on a good repository and, after
// one byte of a data file is flipped, names the point, disk and offset and
// exits 1; backup-list then shows the point and those layered on it broken.
func TestLabBackupRepoVerify(t *testing.T) {
	g := newLabGuest(t, labGuestOpts{Prefix: "repover", Start: true})
	dir := filepath.Join(g.Dir, "repo")
	g.GuestWrite(t, "vda", 0x5a, "0", "2M")
	repoBackup(t, g, dir, "full")
	g.GuestWrite(t, "vda", 0x6b, "3M", "1M")
	repoBackup(t, g, dir, "inc")
	g.GuestWrite(t, "vda", 0x7c, "8M", "1M")
	repoBackup(t, g, dir, "inc")
	if out := mustVirtshLab(t, "backup-verify", dir); out != "Point 1: ok\nPoint 2: ok\nPoint 3: ok\n\n" {
		t.Errorf("backup-verify of a good repository: %q", out)
	}
	for _, p := range repoPoints(t, dir) {
		if p.State != "ok" {
			t.Errorf("after verify: point %d is %s", p.Point, p.State)
		}
	}
	// Flip one byte of point 2's data: the byte the guest wrote at 3M+4097.
	img := filepath.Join(dir, "points", "0002", "vda.qcow2")
	var m []struct {
		Start, Length int64
		Data          bool
		Offset        int64
	}
	if err := json.Unmarshal([]byte(qemuImg(t, "map", "--output=json", img)), &m); err != nil {
		t.Fatal(err)
	}
	host := int64(-1)
	for _, e := range m {
		if e.Data && e.Start <= 3*MiB+4097 && 3*MiB+4097 < e.Start+e.Length {
			host = e.Offset + 3*MiB + 4097 - e.Start
		}
	}
	if host < 0 {
		t.Fatalf("point 2 holds no data at 3M: %+v", m)
	}
	f, err := os.OpenFile(img, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	one := make([]byte, 1)
	if _, err := f.ReadAt(one, host); err != nil {
		t.Fatal(err)
	}
	one[0] ^= 0xff
	if _, err := f.WriteAt(one, host); err != nil {
		t.Fatal(err)
	}
	f.Close()
	out, errS, code := virtshLab(t, "backup-verify", dir)
	wantErr := fmt.Sprintf("error: backup verification failed: point 2, disk vda, offset %d: checksum mismatch in the %d bytes from there\n", 3*MiB, MiB)
	if code != 1 || errS != wantErr || !strings.Contains(out, "Point 1: ok\nPoint 2: broken: disk vda, offset 3145728") {
		t.Errorf("backup-verify after a flipped byte: exit %d\nstdout %q\nstderr %q\nwant stderr %q", code, out, errS, wantErr)
	}
	states := []string{}
	for _, p := range repoPoints(t, dir) {
		states = append(states, p.State)
	}
	if got := strings.Join(states, " "); got != "ok broken broken" {
		t.Errorf("states after the failed verify: %s", got)
	}
	// --point 1 verifies only what point 1 needs: it passes.
	if out := mustVirtshLab(t, "backup-verify", dir, "--point", "1"); out != "Point 1: ok\n\n" {
		t.Errorf("backup-verify --point 1: %q", out)
	}
}

// repoSnapshot is the repository's files and the guest's checkpoints: what
// a failed backup must leave as it was.
func repoSnapshot(t *testing.T, g *labGuest, dir string) string {
	t.Helper()
	var files []string
	_ = filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err == nil {
			files = append(files, strings.TrimPrefix(p, dir)+fmt.Sprintf(":%d", info.Size()))
		}
		return nil
	})
	man, _ := os.ReadFile(filepath.Join(dir, "manifest.json"))
	return strings.Join(files, "\n") + "\n" + string(man) + "\ncheckpoints " + strings.Join(checkpointNames(t, g), " ")
}

// TestLabBackupRepoFailureLeavesItAsItWas: --timeout, Ctrl-C and a full
// target filesystem during backup-create each end with exit 1 and a clear
// message, and leave the repository and the guest's checkpoints as they
// were (the next inc then works).
func TestLabBackupRepoFailureLeavesItAsItWas(t *testing.T) {
	g := newLabGuest(t, labGuestOpts{Prefix: "repofail", DiskMiB: 1024})
	qemuIO(t, g.Disks[0], "write -P 0x5a 0 1G") // 1 GiB to copy: a full takes more than a second
	// Mounted before QEMU starts, so that its mount namespace has it.
	full := smallFS(t, 8)
	if err := g.Dom.Create(); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(full, "repo")
	g.GuestWrite(t, "vda", 0x21, "0", "1M")

	// The very first backup fails on the full filesystem: no repository.
	out, errS, code := virtshLab(t, "backup-create", g.Name, dir, "--level", "full")
	want := "error: Backup failed\nerror: No space left on device\nerror: the repository and the domain's checkpoints are as they were\n"
	if code != 1 || errS != want {
		t.Errorf("full backup on a full filesystem: exit %d stdout %q stderr %q, want %q", code, out, errS, want)
	}
	if es, _ := os.ReadDir(full); len(es) != 0 {
		t.Errorf("the failed first backup left %v", es)
	}
	if got := checkpointNames(t, g); len(got) != 0 {
		t.Errorf("the failed first backup left checkpoints %v", got)
	}

	// A repository elsewhere, with a full, then three failed incs.
	dir = filepath.Join(g.Dir, "repo")
	repoBackup(t, g, dir, "full", "--timeout", "600")
	before := repoSnapshot(t, g, dir)
	// The guest rewrites the whole disk, so that an inc has 1 GiB to copy.
	g.HMP(t, "qemu-io -d /machine/peripheral/"+liveDisk(t, g, "vda").Alias+"/virtio-backend \"write -P 0x33 0 1G\"")
	start := time.Now()
	out, errS, code = virtshLab(t, "backup-create", g.Name, dir, "--level", "inc", "--timeout", "1")
	if want := "error: Backup aborted\nerror: the repository and the domain's checkpoints are as they were\n"; code != 1 || errS != want {
		t.Errorf("--timeout 1: exit %d stdout %q stderr %q, want %q", code, out, errS, want)
	}
	if time.Since(start) < time.Second {
		t.Errorf("--timeout 1 returned after %v", time.Since(start))
	}
	if after := repoSnapshot(t, g, dir); after != before {
		t.Errorf("--timeout changed the repository:\nbefore %s\nafter %s", before, after)
	}

	// Ctrl-C (the built binary gets SIGINT) once the backup job runs.
	cmd := exec.Command(virtshBinary(t), "-c", labURI(), "backup-create", g.Name, dir, "--level", "inc")
	cmd.Env = append(os.Environ(), "GORACE=atexit_sleep_ms=0")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 200; i++ {
		if info, err := g.Dom.GetJobStats(0); err == nil && info.Type != libvirt.DOMAIN_JOB_NONE {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	_ = cmd.Process.Signal(os.Interrupt)
	err := cmd.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 ||
		stderr.String() != "error: Backup aborted\nerror: the repository and the domain's checkpoints are as they were\n" {
		t.Errorf("after Ctrl-C: %v, stderr %q", err, stderr.String())
	}
	if after := repoSnapshot(t, g, dir); after != before {
		t.Errorf("Ctrl-C changed the repository:\nbefore %s\nafter %s", before, after)
	}
	if info, err := g.Dom.GetJobStats(0); err != nil || info.Type != libvirt.DOMAIN_JOB_NONE {
		t.Errorf("job after the failures: %+v %v", info, err)
	}

	// The chain is still sound: auto takes an inc, which restores.
	p := repoBackup(t, g, dir, "auto", "--timeout", "600")
	if p.Level != "inc" || p.Point != 2 {
		t.Errorf("after the failures: %+v", p)
	}
	restoreAndRead(t, dir, "2", "read -P 0x33 0 1G")
}

// TestLabBackupRepoAcrossChainEvents: a disk-only snapshot by virtsh and
// one by plain virsh, a guest restart and an active block commit between
// points: each next auto backup restores exactly the data as of its point,
// whether it is an inc or a full (which then says why).
func TestLabBackupRepoAcrossChainEvents(t *testing.T) {
	g := newLabGuest(t, labGuestOpts{Prefix: "repoev", Start: true})
	dir := filepath.Join(g.Dir, "repo")
	var reads []string
	write := func(p byte, mib int) {
		g.GuestWrite(t, "vda", p, fmt.Sprintf("%dM", mib), "1M")
		reads = append(reads, fmt.Sprintf("read -P 0x%02x %dM 1M", p, mib))
	}
	point := func(what string) pointView {
		t.Helper()
		v, errS := repoBackupErr(t, g, dir, "auto")
		if v.Level == "full" && v.Point > 1 && !strings.HasPrefix(errS, "auto: taking a full backup: ") {
			t.Errorf("after %s: a full without saying why (stderr %q)", what, errS)
		}
		if v.Level != "full" && errS != "" {
			t.Errorf("after %s: stderr %q", what, errS)
		}
		t.Logf("after %s: point %d is %s, vda %d bytes %s", what, v.Point, v.Level, diskBytes(v, "vda"), strings.TrimSpace(errS))
		restoreAndRead(t, dir, fmt.Sprint(v.Point), append(reads, fmt.Sprintf("read -P 0 %dM %dM", len(reads), 64-len(reads)))...)
		return v
	}
	write(0x41, 0)
	point("the first write")

	write(0x42, 1)
	mustVirtshLab(t, "snapshot-create-as", g.Name, "s1", "--disk-only", "--no-metadata", "--diskspec", "vda,file="+filepath.Join(g.Dir, "s1.qcow2"))
	write(0x43, 2)
	point("a virtsh disk-only snapshot")

	if out, errS, err := runTool(realVirsh, "-c", labURI(), "snapshot-create-as", g.Name, "s2", "--disk-only", "--no-metadata",
		"--diskspec", "vda,file="+filepath.Join(g.Dir, "s2.qcow2")); err != nil {
		t.Fatalf("virsh snapshot: %v %s %s", err, out, errS)
	}
	write(0x44, 3)
	point("a plain virsh disk-only snapshot")

	stopGuest(t, g)
	if err := g.Dom.Create(); err != nil {
		t.Fatal(err)
	}
	write(0x45, 4)
	point("a guest restart")

	mustVirtshLab(t, "blockcommit", g.Name, "vda", "--active", "--pivot", "--wait")
	write(0x46, 5)
	last := point("an active block commit")

	top := liveChain(t, g, "vda")[0].Name
	stopGuest(t, g)
	latest := restoreAndRead(t, dir, fmt.Sprint(last.Point), reads...)
	qemuImg(t, "compare", "-f", "qcow2", "-F", "qcow2", latest, top)
}

// TestLabCheckpointCheckRepair: checkpoint-check finds a bitmap removed
// behind libvirt's back, a checkpoint redefined without its bitmap and a
// bitmap without checkpoint; --repair leaves a state in which it finds
// nothing and auto works (taking the full it needs, saying why).
func TestLabCheckpointCheckRepair(t *testing.T) {
	g := newLabGuest(t, labGuestOpts{Prefix: "ckcheck", Start: true})
	dir := filepath.Join(g.Dir, "repo")
	g.GuestWrite(t, "vda", 0x51, "0", "1M")
	p1 := repoBackup(t, g, dir, "full")
	g.GuestWrite(t, "vda", 0x52, "1M", "1M")
	p2 := repoBackup(t, g, dir, "inc")
	id := strings.Split(p1.Checkpoint, ".")[1]

	check := func(args ...string) (ckCheckView, string, int) {
		t.Helper()
		out, errS, code := virtshLab(t, append([]string{"checkpoint-check", g.Name, "-o", "json"}, args...)...)
		var v ckCheckView
		if err := json.Unmarshal([]byte(out), &v); err != nil {
			t.Fatalf("checkpoint-check -o json: %v\n%s\n%s", err, out, errS)
		}
		return v, errS, code
	}
	// Running and sound: QEMU is asked, once, saying so.
	v, errS, code := check()
	if code != 0 || !v.QueriedQEMU || len(v.Findings) != 0 || !strings.Contains(errS, "tainted (custom-monitor)") {
		t.Errorf("sound running guest: exit %d %+v stderr %q", code, v, errS)
	}

	// Behind libvirt's back, on the stopped guest: point 2's bitmap goes, a
	// checkpoint is redefined without a bitmap, a bitmap nobody owns.
	stopGuest(t, g)
	qemuImg(t, "bitmap", "--remove", g.Disks[0], p2.Checkpoint)
	qemuImg(t, "bitmap", "--add", g.Disks[0], "stray")
	if _, err := g.Dom.CreateCheckpointXML("<domaincheckpoint><name>orphan</name><creationTime>1700000000</creationTime><disks><disk name='vda' checkpoint='bitmap'/></disks></domaincheckpoint>",
		libvirt.DOMAIN_CHECKPOINT_CREATE_REDEFINE); err != nil {
		t.Fatal(err)
	}
	v, errS, code = check()
	var kinds []string
	for _, f := range v.Findings {
		kinds = append(kinds, f.Kind+":"+f.Checkpoint+f.Bitmap)
	}
	sort.Strings(kinds)
	want := "bitmap-without-checkpoint:stray missing-bitmap:orphanorphan missing-bitmap:" + p2.Checkpoint + p2.Checkpoint
	if code != 1 || strings.Join(kinds, " ") != want || v.QueriedQEMU || errS != "error: 3 checkpoint/bitmap inconsistencies in domain '"+g.Name+"'\n" {
		t.Errorf("after the damage: exit %d findings %q (want %q) stderr %q", code, kinds, want, errS)
	}
	// The table form says the same.
	out, _, _ := virtshLab(t, "checkpoint-check", g.Name)
	if !strings.Contains(out, "missing-bitmap: checkpoint '"+p2.Checkpoint+"': disk vda: no bitmap '"+p2.Checkpoint+"' on the active layer "+g.Disks[0]) {
		t.Errorf("checkpoint-check text: %q", out)
	}

	v, errS, code = check("--repair")
	if code != 0 || len(v.NewFull) != 1 || v.NewFull[0] != id {
		t.Errorf("--repair: exit %d %+v stderr %q", code, v, errS)
	}
	for _, f := range v.Findings {
		if f.Repaired == "" {
			t.Errorf("--repair left %+v", f)
		}
	}
	if got := strings.Join(checkpointNames(t, g), " "); got != p1.Checkpoint {
		t.Errorf("checkpoints after --repair: %s", got)
	}
	if got := strings.Join(imageBitmaps(t, g.Disks[0]), " "); got != p1.Checkpoint {
		t.Errorf("bitmaps after --repair: %s", got)
	}
	if v, _, code := check(); code != 0 || len(v.Findings) != 0 {
		t.Errorf("after --repair: exit %d %+v", code, v)
	}

	// auto works: a full (point 2's checkpoint is gone), then an inc.
	if err := g.Dom.Create(); err != nil {
		t.Fatal(err)
	}
	g.GuestWrite(t, "vda", 0x53, "2M", "1M")
	p3, errS := repoBackupErr(t, g, dir, "auto")
	if p3.Level != "full" || errS != "auto: taking a full backup: the domain no longer has point 2's checkpoint '"+p2.Checkpoint+"'\n" {
		t.Errorf("auto after --repair: %+v stderr %q", p3, errS)
	}
	g.GuestWrite(t, "vda", 0x54, "3M", "1M")
	if p4, errS := repoBackupErr(t, g, dir, "auto"); p4.Level != "inc" || errS != "" {
		t.Errorf("the next auto: %+v stderr %q", p4, errS)
	}
	restoreAndRead(t, dir, "4", "read -P 0x51 0 1M", "read -P 0x52 1M 1M", "read -P 0x53 2M 1M", "read -P 0x54 3M 1M", "read -P 0 4M 60M")
}

// TestLabBackupRepoDaemonRestart: libvirtd killed and started again while
// backup-create runs (a private QEMU daemon): virtsh exits 1 saying so,
// with the repository and the guest's checkpoints as they were, and the
// next auto backup is a sound inc.
func TestLabBackupRepoDaemonRestart(t *testing.T) {
	d := newPrivateQEMUDaemon(t)
	uri := d.URI()
	var conn *libvirt.Connect
	t.Cleanup(func() {
		if conn != nil {
			_, _ = conn.Close()
		}
	})
	var err error
	if conn, err = libvirt.NewConnect(uri); err != nil {
		t.Fatal(err)
	}
	g := newLabGuest(t, labGuestOpts{Prefix: "reporst", DiskMiB: 512, Conn: conn, Owner: nobodyID})
	qemuIO(t, g.Disks[0], "write -P 0x61 0 512M")
	if err := g.Dom.Create(); err != nil {
		t.Fatal(err)
	}
	// The repository is the user's the session daemon and its QEMU run as.
	dir := filepath.Join(g.Dir, "repo")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(dir, nobodyID, nobodyID); err != nil {
		t.Fatal(err)
	}
	repoBackup(t, g, dir, "full")
	// Rewrite it all, so that the inc has 512 MiB to copy.
	g.HMP(t, "qemu-io -d /machine/peripheral/"+liveDisk(t, g, "vda").Alias+"/virtio-backend \"write -P 0x62 0 512M\"")
	before := repoSnapshot(t, g, dir)

	cmd := exec.Command(virtshBinary(t), "-c", uri, "backup-create", g.Name, dir, "--level", "inc")
	cmd.Env = append(os.Environ(), "GORACE=atexit_sleep_ms=0")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	running := false
	for i := 0; i < 200 && !running; i++ {
		if info, err := g.Dom.GetJobStats(0); err == nil && info.Type != libvirt.DOMAIN_JOB_NONE {
			running = true
		} else {
			time.Sleep(50 * time.Millisecond)
		}
	}
	if !running {
		t.Fatalf("the backup job never ran; virtsh: %s %s", stdout.String(), stderr.String())
	}
	d.stop()
	_, _ = conn.Close()
	conn = nil
	d.start()
	_ = cmd.Wait() // its exit status is checked below
	if conn, err = libvirt.NewConnect(uri); err != nil {
		t.Fatal(err)
	}
	g.Conn = conn
	if g.Dom, err = conn.LookupDomainByName(g.Name); err != nil {
		t.Fatal(err)
	}
	want := "error: Backup failed: lost the connection to the hypervisor\nerror: the backup was aborted\nerror: the repository and the domain's checkpoints are as they were\n"
	if code := cmd.ProcessState.ExitCode(); code != 1 || !strings.HasSuffix(stderr.String(), want) {
		t.Errorf("after the restart: exit %d stderr %q, want it to end %q", code, stderr.String(), want)
	}
	if after := repoSnapshot(t, g, dir); after != before {
		t.Errorf("the restart changed the repository:\nbefore %s\nafter %s", before, after)
	}
	p, errS := repoBackupErr(t, g, dir, "auto")
	if p.Level != "inc" || errS != "" {
		t.Errorf("auto after the restart: %+v %q", p, errS)
	}
	restoreAndRead(t, dir, "2", "read -P 0x62 0 512M")
}

// TestLabBackupRepoRestoreKeepChainAndDefine: --keep-chain restores a point
// as a chain of the points' images (base first, each backing the next) that
// reads as the point; --define makes a new domain from the saved XML on the
// restored images, with a new name and UUID, that starts.
func TestLabBackupRepoRestoreKeepChainAndDefine(t *testing.T) {
	g := newLabGuest(t, labGuestOpts{Prefix: "repodef", Start: true})
	dir := filepath.Join(g.Dir, "repo")
	g.GuestWrite(t, "vda", 0x71, "0", "1M")
	repoBackup(t, g, dir, "full")
	g.GuestWrite(t, "vda", 0x72, "1M", "1M")
	repoBackup(t, g, dir, "inc")
	g.GuestWrite(t, "vda", 0x73, "0", "64k")
	repoBackup(t, g, dir, "inc")

	out := filepath.Join(t.TempDir(), "chain")
	var v restoredView
	if err := json.Unmarshal([]byte(mustVirtshLab(t, "backup-restore", dir, "--target-dir", out, "--keep-chain", "-o", "json")), &v); err != nil {
		t.Fatal(err)
	}
	top := filepath.Join(out, "vda.qcow2")
	if v.Point != 3 || len(v.Disks) != 1 || len(v.Disks[0].Chain) != 3 || v.Disks[0].Chain[2] != top {
		t.Fatalf("restore --keep-chain: %+v", v)
	}
	var chain []struct {
		Filename string `json:"filename"`
	}
	if err := json.Unmarshal([]byte(qemuImg(t, "info", "--backing-chain", "--output=json", top)), &chain); err != nil || len(chain) != 3 {
		t.Fatalf("chain of %s: %v %+v", top, err, chain)
	}
	qemuIO(t, top, "read -P 0x73 0 64k", "read -P 0x71 64k 960k", "read -P 0x72 1M 1M", "read -P 0 2M 62M")

	name := g.Name + "-r"
	t.Cleanup(func() {
		if d, err := g.Conn.LookupDomainByName(name); err == nil {
			_ = d.Destroy()
			_ = d.Undefine()
			_ = d.Free()
		}
	})
	flat := filepath.Join(t.TempDir(), "flat")
	if got := mustVirtshLab(t, "backup-restore", dir, "--point", "2", "--target-dir", flat, "--define", name); got !=
		"Restored point 2 into "+flat+"\nDomain '"+name+"' defined from the point's XML\n\n" {
		t.Errorf("restore --define printed %q", got)
	}
	d, err := g.Conn.LookupDomainByName(name)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Free()
	u1, _ := d.GetUUIDString()
	u2, _ := g.Dom.GetUUIDString()
	disks, err := domain.LiveDisks(d)
	if err != nil {
		t.Fatal(err)
	}
	if u1 == u2 || len(disks) != 1 || disks[0].Top().Name != filepath.Join(flat, "vda.qcow2") {
		t.Errorf("defined domain: uuid %s (original %s), disks %+v", u1, u2, disks)
	}
	if err := d.Create(); err != nil {
		t.Fatalf("starting the restored domain: %v", err)
	}
	_ = d.Destroy()
	qemuIO(t, filepath.Join(flat, "vda.qcow2"), "read -P 0x71 0 1M", "read -P 0x72 1M 1M", "read -P 0 2M 62M")
}

// TestLabBackupRepoPullFailureLeavesItAsItWas: in pull mode too, a full
// target filesystem and --timeout end with exit 1 and the repository, the
// guest's checkpoints and its jobs as they were.
func TestLabBackupRepoPullFailureLeavesItAsItWas(t *testing.T) {
	g := newLabGuest(t, labGuestOpts{Prefix: "repopf", DiskMiB: 512})
	qemuIO(t, g.Disks[0], "write -P 0x5a 0 512M")
	full := smallFS(t, 8)
	if err := g.Dom.Create(); err != nil {
		t.Fatal(err)
	}
	nothingLeft := func(what string) {
		t.Helper()
		if got := checkpointNames(t, g); len(got) != 0 {
			t.Errorf("%s left checkpoints %v", what, got)
		}
		if info, err := g.Dom.GetJobStats(0); err != nil || info.Type != libvirt.DOMAIN_JOB_NONE {
			t.Errorf("job after %s: %+v %v", what, info, err)
		}
	}
	dir := filepath.Join(full, "repo")
	out, errS, code := virtshLab(t, "backup-create", g.Name, dir, "--level", "full", "--pull")
	if code != 1 || !strings.HasPrefix(errS, "error: Backup failed\n") || !strings.Contains(errS, "No space left on device") ||
		!strings.HasSuffix(errS, "error: the repository and the domain's checkpoints are as they were\n") {
		t.Errorf("pull onto a full filesystem: exit %d stdout %q stderr %q", code, out, errS)
	}
	t.Logf("pull onto a full filesystem: %s", errS)
	if es, _ := os.ReadDir(full); len(es) != 0 {
		t.Errorf("the failed first backup left %v", es)
	}
	nothingLeft("a full filesystem")

	dir = filepath.Join(g.Dir, "repo")
	start := time.Now()
	out, errS, code = virtshLab(t, "backup-create", g.Name, dir, "--level", "full", "--pull", "--timeout", "1")
	if want := "error: Backup aborted\nerror: the repository and the domain's checkpoints are as they were\n"; code != 1 || errS != want {
		t.Errorf("--pull --timeout 1: exit %d stdout %q stderr %q, want %q", code, out, errS, want)
	}
	if time.Since(start) < time.Second {
		t.Errorf("--timeout 1 returned after %v", time.Since(start))
	}
	if _, err := os.Stat(dir); err == nil {
		t.Errorf("the aborted first backup left %s", dir)
	}
	nothingLeft("--timeout")
}

// TestLabCheckpointCheckDiskGone: a checkpoint whose disk the domain no
// longer has is found; --repair deletes it (and its bitmap on the other
// disk) and names the repository; auto then takes a full, saying the disks
// differ.
func TestLabCheckpointCheckDiskGone(t *testing.T) {
	g := newLabGuest(t, labGuestOpts{Prefix: "ckgone", Disks: 2, Start: true})
	dir := filepath.Join(g.Dir, "repo")
	g.GuestWrite(t, "vdb", 0x81, "0", "1M")
	p1 := repoBackup(t, g, dir, "full")
	stopGuest(t, g)
	// vdb goes from the definition (a new definition of the same domain).
	def, err := defOf(g.Dom, libvirt.DOMAIN_XML_INACTIVE)
	if err != nil {
		t.Fatal(err)
	}
	def.Devices.Disks = def.Devices.Disks[:1]
	x, err := def.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	d, err := g.Conn.DomainDefineXML(x)
	if err != nil {
		t.Fatal(err)
	}
	_ = d.Free()
	out, errS, code := virtshLab(t, "checkpoint-check", g.Name)
	want := "disk-gone: checkpoint '" + p1.Checkpoint + "' has a bitmap on disk vdb, which the domain no longer has\n"
	if code != 1 || !strings.HasPrefix(out, want) {
		t.Errorf("checkpoint-check: exit %d stdout %q stderr %q, want %q first", code, out, errS, want)
	}
	// --repair on the shut-off guest: the checkpoint's metadata goes, and
	// what is left of its bitmap on vda; the repository is named.
	var v ckCheckView
	out = mustVirtshLab(t, "checkpoint-check", g.Name, "--repair", "-o", "json")
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatal(err)
	}
	id := strings.Split(p1.Checkpoint, ".")[1]
	if len(v.NewFull) != 1 || v.NewFull[0] != id || len(checkpointNames(t, g)) != 0 || len(imageBitmaps(t, g.Disks[0])) != 0 {
		t.Errorf("--repair: %+v; checkpoints %v; bitmaps on vda %v", v, checkpointNames(t, g), imageBitmaps(t, g.Disks[0]))
	}
	if err := g.Dom.Create(); err != nil {
		t.Fatal(err)
	}
	p2, errS := repoBackupErr(t, g, dir, "auto")
	if p2.Level != "full" || errS != "auto: taking a full backup: the disks differ from point 1's (vda,vdb, now vda)\n" {
		t.Errorf("auto with a disk gone: %+v stderr %q", p2, errS)
	}
}

// TestLabCheckpointCheckDisabledBitmap: a bitmap disabled behind libvirt's
// back (qemu-img bitmap --disable on the stopped guest's image) is found,
// and the next auto is never a silent wrong incremental: its data restore
// exactly.
func TestLabCheckpointCheckDisabledBitmap(t *testing.T) {
	g := newLabGuest(t, labGuestOpts{Prefix: "ckdis", Start: true})
	dir := filepath.Join(g.Dir, "repo")
	g.GuestWrite(t, "vda", 0x91, "0", "1M")
	p1 := repoBackup(t, g, dir, "full")
	stopGuest(t, g)
	qemuImg(t, "bitmap", "--disable", g.Disks[0], p1.Checkpoint)
	out, _, code := virtshLab(t, "checkpoint-check", g.Name)
	if want := "disabled-bitmap: checkpoint '" + p1.Checkpoint + "': disk vda: bitmap '" + p1.Checkpoint + "' on " + g.Disks[0] + " does not record (disabled)\n"; code != 1 || !strings.HasPrefix(out, want) {
		t.Errorf("checkpoint-check: exit %d stdout %q, want %q first", code, out, want)
	}
	if err := g.Dom.Create(); err != nil {
		t.Fatal(err)
	}
	g.GuestWrite(t, "vda", 0x92, "1M", "1M")
	p2, errS := repoBackupErr(t, g, dir, "auto")
	if want := "auto: taking a full backup: checkpoint inconsistent: missing or broken bitmap '" + p1.Checkpoint + "' for disk 'vda'\n"; p2.Level != "full" || errS != want {
		t.Errorf("auto after the bitmap was disabled: %+v stderr %q, want %q", p2, errS, want)
	}
	restoreAndRead(t, dir, "2", "read -P 0x91 0 1M", "read -P 0x92 1M 1M", "read -P 0 2M 62M")
}

// TestLabBackupRepoAfterAKilledBackup: a backup-create killed before it
// could undo (SIGKILL) leaves its checkpoint, named as the next point's;
// the next backup-create deletes it, says so, and takes a correct inc.
func TestLabBackupRepoAfterAKilledBackup(t *testing.T) {
	g := newLabGuest(t, labGuestOpts{Prefix: "repokill", Start: true})
	dir := filepath.Join(g.Dir, "repo")
	g.GuestWrite(t, "vda", 0xe1, "0", "1M")
	p1 := repoBackup(t, g, dir, "full")
	left := strings.TrimSuffix(p1.Checkpoint, ".1") + ".2"
	// What the killed backup left: its checkpoint and staging directory.
	mustVirtshLab(t, "checkpoint-create-as", g.Name, left)
	if err := os.Mkdir(filepath.Join(dir, ".staging-0002"), 0o755); err != nil {
		t.Fatal(err)
	}
	g.GuestWrite(t, "vda", 0xe2, "1M", "1M")
	p2, errS := repoBackupErr(t, g, dir, "auto")
	if want := "warning: deleting checkpoint '" + left + "', left by an interrupted backup into this repository\n"; p2.Level != "inc" || p2.Checkpoint != left || errS != want {
		t.Errorf("after a killed backup: %+v stderr %q, want %q", p2, errS, want)
	}
	restoreAndRead(t, dir, "2", "read -P 0xe1 0 1M", "read -P 0xe2 1M 1M", "read -P 0 2M 62M")
	if _, err := os.Stat(filepath.Join(dir, ".staging-0002")); err == nil {
		t.Error("the staging directory is left")
	}
}
