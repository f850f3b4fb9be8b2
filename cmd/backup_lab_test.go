//go:build lab

package cmd

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"libvirt.org/go/libvirt"
	"libvirt.org/go/libvirtxml"
)

// Checkpoints and incremental backup on real QEMU guests (scripts/lab-up).

// nodeBitmaps is what QEMU itself holds: persistent dirty bitmaps per block
// node (QMP query-named-block-nodes; taints the test guest, fine here).
func nodeBitmaps(t *testing.T, g *labGuest) map[string][]string { return queryNodeBitmaps(t, g, true) }

// imageBitmaps is what a qcow2 file holds (guest stopped).
func imageBitmaps(t *testing.T, img string) []string {
	t.Helper()
	var info struct {
		FormatSpecific struct {
			Data struct {
				Bitmaps []struct {
					Name string `json:"name"`
				} `json:"bitmaps"`
			} `json:"data"`
		} `json:"format-specific"`
	}
	if err := json.Unmarshal([]byte(qemuImg(t, "info", "-U", "--output=json", img)), &info); err != nil {
		t.Fatal(err)
	}
	names := []string{}
	for _, b := range info.FormatSpecific.Data.Bitmaps {
		names = append(names, b.Name)
	}
	sort.Strings(names)
	return names
}

// dataExtents lists [start, end) of the clusters an image itself holds.
func dataExtents(t *testing.T, img string) [][2]int64 {
	t.Helper()
	var m []struct {
		Start, Length int64
		Data          bool
		Depth         int
	}
	if err := json.Unmarshal([]byte(qemuImg(t, "map", "-U", "--output=json", img)), &m); err != nil {
		t.Fatal(err)
	}
	var out [][2]int64
	for _, e := range m {
		if !e.Data || e.Depth != 0 {
			continue
		}
		if n := len(out); n > 0 && out[n-1][1] == e.Start {
			out[n-1][1] = e.Start + e.Length
			continue
		}
		out = append(out, [2]int64{e.Start, e.Start + e.Length})
	}
	return out
}

func topFormatNode(t *testing.T, g *labGuest, target string) string {
	t.Helper()
	var d libvirtxml.Domain
	if err := d.Unmarshal(g.LiveXML(t)); err != nil {
		t.Fatal(err)
	}
	for _, disk := range d.Devices.Disks {
		if disk.Target.Dev == target {
			return fmt.Sprintf("libvirt-%d-format", disk.Source.Index)
		}
	}
	t.Fatalf("no disk %s", target)
	return ""
}

// TestLabIncrementalBackup: a full push backup of two disks with a
// checkpoint, guest writes at known offsets, an incremental backup from that
// checkpoint: the incremental images hold exactly the written clusters, and
// full + incremental rebased reproduce each disk.
func TestLabIncrementalBackup(t *testing.T) {
	g := newLabGuest(t, labGuestOpts{Prefix: "bkinc", Disks: 2, DiskMiB: 32, Start: true})
	g.GuestWrite(t, "vda", 0xaa, "0", "4M")
	g.GuestWrite(t, "vdb", 0xbb, "1M", "2M")
	full, inc := filepath.Join(g.Dir, "full"), filepath.Join(g.Dir, "inc")
	for _, d := range []string{full, inc} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}

	out := mustVirtshLab(t, "backup-begin "+g.Name+" --target-dir "+full+" --checkpoint c1 --wait")
	if out != "Backup started\n\nBackup complete\n" {
		t.Errorf("full backup printed %q", out)
	}
	qemuIO(t, filepath.Join(full, "vda.qcow2"), "read -P 0xaa 0 4M", "read -P 0 4M 28M")
	qemuIO(t, filepath.Join(full, "vdb.qcow2"), "read -P 0 0 1M", "read -P 0xbb 1M 2M", "read -P 0 3M 29M")
	if got := checkpointNames(t, g); !reflect.DeepEqual(got, []string{"c1"}) {
		t.Fatalf("checkpoints after full backup: %v", got)
	}
	// The checkpoint's bitmap is on each disk's top node, as --details says.
	bm := nodeBitmaps(t, g)
	details := mustVirtshLab(t, "checkpoint-list "+g.Name+" --details")
	for _, target := range []string{"vda", "vdb"} {
		node := topFormatNode(t, g, target)
		if !reflect.DeepEqual(bm[node], []string{"c1"}) {
			t.Errorf("bitmaps on %s (%s): %v", node, target, bm[node])
		}
		if !strings.Contains(details, target+"    bitmap       c1       "+node) {
			t.Errorf("checkpoint-list --details does not show %s's bitmap on %s:\n%s", target, node, details)
		}
	}

	g.GuestWrite(t, "vda", 0xcd, "3M", "2M")
	g.GuestWrite(t, "vdb", 0xee, "8M", "64k")
	// --size: the dirty bytes libvirt reports for c1 match the writes.
	var info struct {
		Disks []struct {
			Disk string
			Size *uint64
			Node string
		}
	}
	if err := json.Unmarshal([]byte(mustVirtshLab(t, "checkpoint-info "+g.Name+" c1 --size -o json")), &info); err != nil {
		t.Fatal(err)
	}
	if len(info.Disks) != 2 || info.Disks[0].Size == nil || *info.Disks[0].Size != 2*MiB || *info.Disks[1].Size != 64<<10 {
		t.Errorf("checkpoint-info --size -o json disks: %+v", info.Disks)
	}

	_, errS, code := virtshLab(t, "backup-begin "+g.Name+" --target-dir "+inc+" --incremental c1 --checkpoint c2 --wait --verbose")
	if code != 0 || !strings.Contains(errS, "Backup: [100 %]") {
		t.Fatalf("incremental backup: exit %d, stderr %q", code, errS)
	}
	if got := dataExtents(t, filepath.Join(inc, "vda.qcow2")); !reflect.DeepEqual(got, [][2]int64{{3 * MiB, 5 * MiB}}) {
		t.Errorf("incremental vda holds %v, want exactly [3M,5M)", got)
	}
	if got := dataExtents(t, filepath.Join(inc, "vdb.qcow2")); !reflect.DeepEqual(got, [][2]int64{{8 * MiB, 8*MiB + 64<<10}}) {
		t.Errorf("incremental vdb holds %v, want exactly [8M,8M+64k)", got)
	}
	if got := checkpointNames(t, g); !reflect.DeepEqual(got, []string{"c1", "c2"}) {
		t.Errorf("checkpoints after incremental backup: %v", got)
	}

	// domjobinfo of the finished backup, side by side with virsh (both
	// keep the completed stats for the other).
	sameAsVirsh(t, nil, "-c", labURI(), "domjobinfo "+g.Name+" --completed --keep-completed")
	sameAsVirsh(t, nil, "-c", labURI(), "domjobinfo "+g.Name+"; domjobinfo "+g.Name+" --completed --keep-completed --rawstats")
	var job struct {
		Type, Operation string
		DiskTotal       uint64 `json:"disk_total"`
		Success         *bool
		Status          string
	}
	if err := json.Unmarshal([]byte(mustVirtshLab(t, "domjobinfo "+g.Name+" --completed --keep-completed -o json")), &job); err != nil {
		t.Fatal(err)
	}
	if job.Type != "Completed" || job.Operation != "Backup" || job.Success == nil || !*job.Success || job.DiskTotal == 0 || job.Status != "completed" {
		t.Errorf("domjobinfo -o json: %+v", job)
	}

	if err := g.Dom.Destroy(); err != nil {
		t.Fatal(err)
	}
	for i, target := range []string{"vda", "vdb"} {
		incImg := filepath.Join(inc, target+".qcow2")
		qemuImg(t, "rebase", "-u", "-b", filepath.Join(full, target+".qcow2"), "-F", "qcow2", incImg)
		qemuImg(t, "compare", incImg, g.Disks[i])
		// The guest's images hold both checkpoints' bitmaps on disk.
		if got := imageBitmaps(t, g.Disks[i]); !reflect.DeepEqual(got, []string{"c1", "c2"}) {
			t.Errorf("%s bitmaps on disk: %v", target, got)
		}
	}
}

// TestLabCheckpointTree: a chain c1 → c2 → c3 → c4, every listing compared
// with virsh on the same guest, then deletes and a redefine, each checked
// against libvirt's list and QEMU's bitmaps.
func TestLabCheckpointTree(t *testing.T) {
	g := newLabGuest(t, labGuestOpts{Prefix: "cktree", DiskMiB: 16, Start: true})
	for i, cp := range []string{"c1", "c2", "c3", "c4"} {
		mustVirtshLab(t, "checkpoint-create-as "+g.Name+" "+cp)
		g.GuestWrite(t, "vda", byte(0x10+i), fmt.Sprintf("%dM", i), "64k")
	}
	node := topFormatNode(t, g, "vda")
	wantBitmaps := func(want ...string) {
		t.Helper()
		if want == nil {
			want = []string{}
		}
		sort.Strings(want)
		if got := checkpointNames(t, g); !reflect.DeepEqual(got, want) {
			t.Errorf("libvirt holds checkpoints %v, want %v", got, want)
		}
		got := nodeBitmaps(t, g)[node]
		if got == nil {
			got = []string{}
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("QEMU node %s holds bitmaps %v, want %v", node, got, want)
		}
	}
	wantBitmaps("c1", "c2", "c3", "c4")
	ro := func(cmds ...string) {
		t.Helper()
		for _, c := range cmds {
			sameAsVirsh(t, nil, "-c", labURI(), strings.ReplaceAll(c, "DOM", g.Name))
		}
	}
	ro("checkpoint-list DOM --tree", "checkpoint-list DOM --topological --parent", "checkpoint-list DOM --roots",
		"checkpoint-list DOM --leaves --name", "checkpoint-list DOM --no-leaves", "checkpoint-list DOM --from c2",
		"checkpoint-list DOM --from c2 --descendants --topological --name", "checkpoint-list DOM --from c2 --tree",
		"checkpoint-info DOM c2", "checkpoint-parent DOM c3", "checkpoint-parent DOM c1",
		"checkpoint-dumpxml DOM c2 --no-domain", "checkpoint-dumpxml DOM c4 --no-domain --size")
	if out := mustVirtshLab(t, "checkpoint-list "+g.Name+" --tree"); out != "c1\n  |\n  +- c2\n      |\n      +- c3\n          |\n          +- c4\n            \n\n" {
		t.Errorf("--tree:\n%s", out)
	}

	out := mustVirtshLab(t, "checkpoint-delete "+g.Name+" c3 --children-only")
	if out != "Domain checkpoint c3 children deleted\n\n" {
		t.Errorf("delete --children-only printed %q", out)
	}
	wantBitmaps("c1", "c2", "c3")

	xmlFile := filepath.Join(g.Dir, "c3.xml")
	if err := os.WriteFile(xmlFile, []byte(mustVirtshLab(t, "checkpoint-dumpxml "+g.Name+" c3")), 0o644); err != nil {
		t.Fatal(err)
	}
	mustVirtshLab(t, "checkpoint-delete "+g.Name+" c3 --metadata")
	if got := checkpointNames(t, g); !reflect.DeepEqual(got, []string{"c1", "c2"}) {
		t.Errorf("after --metadata delete libvirt holds %v", got)
	}
	if got := nodeBitmaps(t, g)[node]; !reflect.DeepEqual(got, []string{"c1", "c2", "c3"}) {
		t.Errorf("--metadata delete touched QEMU's bitmaps: %v", got)
	}
	out = mustVirtshLab(t, "checkpoint-create "+g.Name+" "+xmlFile+" --redefine --redefine-validate")
	if out != "Domain checkpoint c3 created from '"+xmlFile+"'\n" {
		t.Errorf("redefine printed %q", out)
	}
	wantBitmaps("c1", "c2", "c3")
	ro("checkpoint-list DOM --tree", "checkpoint-parent DOM c3")

	mustVirtshLab(t, "checkpoint-delete "+g.Name+" c2") // merged into c1
	wantBitmaps("c1", "c3")
	ro("checkpoint-list DOM --parent", "checkpoint-info DOM c1")
	// c1 now covers what c2 covered too: the writes at 1M.. since c1.
	var info struct{ Disks []struct{ Size *uint64 } }
	if err := json.Unmarshal([]byte(mustVirtshLab(t, "checkpoint-info "+g.Name+" c1 --size -o json")), &info); err != nil {
		t.Fatal(err)
	}
	if len(info.Disks) != 1 || info.Disks[0].Size == nil || *info.Disks[0].Size != 4*64<<10 {
		t.Errorf("c1 after merge: %+v", info.Disks)
	}

	mustVirtshLab(t, "checkpoint-delete "+g.Name+" c1 --children")
	wantBitmaps()
	if err := g.Dom.Destroy(); err != nil {
		t.Fatal(err)
	}
	if got := imageBitmaps(t, g.Disks[0]); len(got) != 0 {
		t.Errorf("bitmaps left in the image: %v", got)
	}
}

// withRawDisk turns a defined, stopped guest's vdb into a raw image.
func withRawDisk(t *testing.T, g *labGuest) {
	t.Helper()
	var d libvirtxml.Domain
	if err := d.Unmarshal(g.LiveXML(t)); err != nil {
		t.Fatal(err)
	}
	raw := filepath.Join(g.Dir, "vdb.raw")
	qemuImg(t, "convert", "-f", "qcow2", "-O", "raw", g.Disks[1], raw)
	for i := range d.Devices.Disks {
		if d.Devices.Disks[i].Target.Dev == "vdb" {
			d.Devices.Disks[i].Driver.Type = "raw"
			d.Devices.Disks[i].Source.File.File = raw
		}
	}
	x, err := d.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	dom, err := g.Conn.DomainDefineXML(x)
	if err != nil {
		t.Fatal(err)
	}
	_ = g.Dom.Free()
	g.Dom = dom
	g.Disks[1] = raw
	if err := g.Dom.Create(); err != nil {
		t.Fatal(err)
	}
}

// TestLabBackupBadInput: clear errors, and nothing half done.
func TestLabBackupBadInput(t *testing.T) {
	g := newLabGuest(t, labGuestOpts{Prefix: "bkbad", Disks: 2, DiskMiB: 16})
	withRawDisk(t, g)
	vdaNode := topFormatNode(t, g, "vda")
	noStray := func(want ...string) {
		t.Helper()
		if want == nil {
			want = []string{}
		}
		if got := checkpointNames(t, g); !reflect.DeepEqual(got, want) {
			t.Errorf("libvirt holds checkpoints %v, want %v", got, want)
		}
		for node, bms := range nodeBitmaps(t, g) {
			if (node == vdaNode && !reflect.DeepEqual(bms, want)) || (node != vdaNode && len(bms) > 0) {
				t.Errorf("node %s holds bitmaps %v, want %v on %s only", node, bms, want, vdaNode)
			}
		}
	}
	fails := func(cmds, wantErr string) {
		t.Helper()
		out, errS, code := virtshLab(t, strings.ReplaceAll(cmds, "DOM", g.Name))
		if code != 1 || !strings.Contains(errS, wantErr) {
			t.Errorf("%s: exit %d, stdout %q, stderr %q; want an error containing %q", cmds, code, out, errS, wantErr)
		}
	}

	// A raw disk cannot hold a bitmap: the checkpoint is refused as a whole.
	fails("checkpoint-create-as DOM c0", "raw")
	noStray()
	// ... unless the raw disk is left out.
	mustVirtshLab(t, "checkpoint-create-as "+g.Name+" c1 --diskspec vda --diskspec vdb,checkpoint=no")
	noStray("c1")
	fails("checkpoint-create-as DOM c1 --diskspec vda --diskspec vdb,checkpoint=no", "already exists")
	fails("checkpoint-create-as DOM c2 --diskspec vda --diskspec vdz", "vdz")
	fails("checkpoint-create-as DOM c2 --diskspec vda,foo=1", "error: unable to parse diskspec: vda,foo=1")
	noStray("c1")

	// Backups: the shorthand backs up every disk, so it is refused with
	// the raw disk's incremental (no bitmap) and leaves no file behind.
	dir := filepath.Join(g.Dir, "b")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	listDir := func() []string {
		es, _ := os.ReadDir(dir)
		var n []string
		for _, e := range es {
			n = append(n, e.Name())
		}
		return n
	}
	fails("backup-begin DOM --target-dir "+dir+" --incremental c1 --checkpoint c2 --wait", "error: ")
	if l := listDir(); len(l) != 0 {
		t.Errorf("failed incremental backup left files %v", l)
	}
	noStray("c1")

	// Into an existing file without --reuse-external: refused, the file
	// untouched.
	existing := filepath.Join(dir, "vda.qcow2")
	if err := os.WriteFile(existing, []byte("precious"), 0o644); err != nil {
		t.Fatal(err)
	}
	fails("backup-begin DOM --target-dir "+dir, "already exists (use --reuse-external")
	bx := libvirtxml.DomainBackup{Push: &libvirtxml.DomainBackupPush{Disks: &libvirtxml.DomainBackupPushDisks{Disks: []libvirtxml.DomainBackupPushDisk{
		{Name: "vda", Backup: "yes", Driver: &libvirtxml.DomainBackupDiskDriver{Type: "qcow2"},
			Target: &libvirtxml.DomainDiskSource{File: &libvirtxml.DomainDiskSourceFile{File: existing}}},
		{Name: "vdb", Backup: "no"},
	}}}}
	doc, err := bx.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	bxFile := filepath.Join(g.Dir, "backup.xml")
	if err := os.WriteFile(bxFile, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	fails("backup-begin DOM "+bxFile, "error: ")
	if b, _ := os.ReadFile(existing); string(b) != "precious" {
		t.Errorf("existing target changed: %q", b)
	}
	if err := os.Remove(existing); err != nil {
		t.Fatal(err)
	}

	// Incremental from a deleted checkpoint.
	mustVirtshLab(t, "checkpoint-delete "+g.Name+" c1")
	noStray()
	bx.Incremental = "c1"
	bx.Push.Disks.Disks[0].Target.File.File = filepath.Join(dir, "inc.qcow2")
	doc, _ = bx.Marshal()
	if err := os.WriteFile(bxFile, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	fails("backup-begin DOM "+bxFile, "c1")
	if l := listDir(); len(l) != 0 {
		t.Errorf("failed backup left files %v", l)
	}
	noStray()
}

// TestLabBackupAbort: --timeout and Ctrl-C abort a running backup cleanly:
// no target or scratch file, no checkpoint, no bitmap, no job. The parts
// that need a job still running use a pull-mode backup, which runs until
// it is aborted (a push backup of a small disk can finish within a second).
func TestLabBackupAbort(t *testing.T) {
	g := newLabGuest(t, labGuestOpts{Prefix: "bkabort", DiskMiB: 1024})
	// Fill the disk before the guest runs, so the push backup below has
	// 1 GiB to copy.
	qemuIO(t, g.Disks[0], "write -P 0x5a 0 1G")
	if err := g.Dom.Create(); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(g.Dir, "b")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	clean := func(what string) {
		t.Helper()
		if es, _ := os.ReadDir(dir); len(es) != 0 {
			t.Errorf("%s left %v", what, es)
		}
		if got := checkpointNames(t, g); len(got) != 0 {
			t.Errorf("%s left checkpoints %v", what, got)
		}
		for node, bms := range nodeBitmaps(t, g) {
			if len(bms) > 0 {
				t.Errorf("%s left bitmaps %v on %s", what, bms, node)
			}
		}
		if info, err := g.Dom.GetJobStats(0); err != nil || info.Type != libvirt.DOMAIN_JOB_NONE {
			t.Errorf("job after %s: %+v, %v", what, info, err)
		}
	}

	// Pull mode: an NBD server on a unix socket, a scratch file per disk.
	bxFile, ckFile := pullBackupFiles(t, g, dir)
	sock, scratch := filepath.Join(g.Dir, "nbd.sock"), filepath.Join(dir, "vda.scratch")

	// --timeout (implies --wait) aborts it, and removes the checkpoint
	// begun with it.
	start := time.Now()
	out, errS, code := virtshLab(t, "backup-begin "+g.Name+" "+bxFile+" "+ckFile+" --timeout 1")
	if code != 1 || errS != "error: Backup aborted\n" || out != "Backup started\n\n" {
		t.Fatalf("backup --timeout 1: exit %d, stdout %q, stderr %q", code, out, errS)
	}
	if d := time.Since(start); d < time.Second {
		t.Errorf("backup --timeout 1 returned after %v", d)
	}
	clean("backup --timeout 1")
	// The aborted job's completed stats say so, without contradiction
	// (libvirt's own success flag says true for it).
	var ended struct {
		Success *bool
		Status  string
		Error   string `json:"error_message"`
	}
	if err := json.Unmarshal([]byte(mustVirtshLab(t, "domjobinfo "+g.Name+" --completed -o json")), &ended); err != nil ||
		ended.Status != "cancelled" || ended.Success != nil && *ended.Success {
		t.Errorf("domjobinfo --completed after the abort: %+v, %v", ended, err)
	}

	// Without --wait: the job runs on; domjobinfo and backup-dumpxml show
	// it, domjobabort ends it.
	if out := mustVirtshLab(t, "backup-begin "+g.Name+" "+bxFile); out != "Backup started\n\n" {
		t.Errorf("backup-begin printed %q", out)
	}
	if _, err := os.Stat(scratch); err != nil {
		t.Errorf("scratch file of the running backup: %v", err)
	}
	// The elapsed time differs between the two runs.
	sameJobInfo(t, "domjobinfo "+g.Name)
	sameJobInfo(t, "domjobinfo "+g.Name+" --rawstats")
	var job struct{ Type, Operation, Status string }
	if err := json.Unmarshal([]byte(mustVirtshLab(t, "domjobinfo "+g.Name+" -o json")), &job); err != nil ||
		job.Type != "Unbounded" || job.Operation != "Backup" || job.Status != "running" {
		t.Errorf("domjobinfo during backup: %+v, %v", job, err)
	}
	bxml := sameAsVirsh(t, nil, "-c", labURI(), "backup-dumpxml "+g.Name)
	var b libvirtxml.DomainBackup
	if err := b.Unmarshal(bxml); err != nil || b.Pull == nil || b.Pull.Server == nil || b.Pull.Server.UNIX == nil ||
		b.Pull.Server.UNIX.Socket != sock || b.Pull.Disks == nil || len(b.Pull.Disks.Disks) != 1 ||
		b.Pull.Disks.Disks[0].Scratch == nil || b.Pull.Disks.Disks[0].Scratch.File == nil ||
		b.Pull.Disks.Disks[0].Scratch.File.File != scratch {
		t.Errorf("backup-dumpxml: %v\n%s", err, bxml)
	}
	// --xpath/--wrap as virsh 9.0 prints them (one helper with dumpxml).
	bx := "backup-dumpxml " + g.Name
	if got := sameAsVirsh(t, nil, "-c", labURI(), bx+" --xpath //disk/scratch/@file"); got != " file=\""+scratch+"\"\n\n" {
		t.Errorf("backup-dumpxml --xpath: %q", got)
	}
	sameAsVirsh(t, nil, "-c", labURI(), bx+" --xpath //disk --wrap; "+bx+" --xpath //nothing --wrap; "+bx+" --xpath //@type")
	sameAsVirsh(t, nil, "-c", labURI(), bx+" --xpath ''")
	if got := mustVirtshLab(t, bx+" --xpath //disk/@name -o json"); got != "{\n  \"matches\": [\n    \" name=\\\"vda\\\"\"\n  ]\n}\n" {
		t.Errorf("backup-dumpxml --xpath -o json: %q", got)
	}
	if out := mustVirtshLab(t, "domjobabort "+g.Name); out != "\n" {
		t.Errorf("domjobabort printed %q", out)
	}
	for i := 0; i < 100; i++ {
		if info, err := g.Dom.GetJobStats(0); err == nil && info.Type == libvirt.DOMAIN_JOB_NONE {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	clean("domjobabort")

	// Ctrl-C does the same for a waiting push backup-begin (the built
	// binary, so the signal goes to virtsh alone), sent as soon as the
	// 1 GiB copy has started.
	cmd := exec.Command(virtshBinary(t), "-c", labURI(), "backup-begin "+g.Name+" --target-dir "+dir+" --checkpoint c1 --wait --verbose")
	cmd.Env = append(os.Environ(), "GORACE=atexit_sleep_ms=0")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || line != "Backup started\n" {
		t.Fatalf("backup-begin --wait printed %q, %v", line, err)
	}
	_ = cmd.Process.Signal(os.Interrupt)
	err = cmd.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 || !strings.HasSuffix(stderr.String(), "error: Backup aborted\n") {
		t.Errorf("after Ctrl-C: %v, stderr %q", err, stderr.String())
	}
	clean("Ctrl-C")
}

// virsh pads the number to a fixed width, so the padding after it changes
// with its digits too.
var reElapsed = regexp.MustCompile(`(?m)^(Time elapsed: +|time_elapsed: )\d+ *`)

// sameJobInfo compares domjobinfo of a running job with virsh's, but for
// the elapsed time.
func sameJobInfo(t *testing.T, cmds string) {
	t.Helper()
	vOut, vErr, vCode := runBinary(t, "", nil, realVirsh, "-c", labURI(), cmds)
	out, errS, code := virtshLab(t, cmds)
	if reElapsed.ReplaceAllString(out, "${1}N") != reElapsed.ReplaceAllString(vOut, "${1}N") || errS != vErr || code != vCode {
		t.Errorf("virtsh %q differs from virsh\n--- virtsh (exit %d) stdout:\n%s\n--- stderr:\n%s\n--- virsh (exit %d) stdout:\n%s\n--- stderr:\n%s",
			cmds, code, out, errS, vCode, vOut, vErr)
	}
}
