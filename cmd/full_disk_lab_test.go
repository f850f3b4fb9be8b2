//go:build lab

package cmd

import (
	"strconv"
	"strings"

	"libvirt.org/go/libvirtxml"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// smallFS mounts a tmpfs of sizeMiB for the test: a filesystem that fills up.
func smallFS(t *testing.T, sizeMiB int) string {
	t.Helper()
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size="+strconv.Itoa(sizeMiB)+"M"); err != nil {
		t.Fatalf("mounting a small tmpfs: %v", err)
	}
	t.Cleanup(func() { _ = syscall.Unmount(dir, syscall.MNT_DETACH) })
	return dir
}

// TestLabBlockCopyOntoFullFilesystem: a blockcopy whose destination fills
// up fails with the reason, and leaves no partial file that virtsh made.
func TestLabBlockCopyOntoFullFilesystem(t *testing.T) {
	full := smallFS(t, 2)
	g := newLabGuest(t, labGuestOpts{Prefix: "fullcopy", DiskMiB: 16, Start: true})
	g.GuestWrite(t, "vda", 0x5c, "0", "8M")
	dst := filepath.Join(full, "c.qcow2")
	out, errS, code := virtshLab(t, "blockcopy", g.Name, "vda", dst, "--transient-job", "--wait", "--pivot")
	want := "error: \nCopy failed\nerror: No space left on device: the filesystem holding " + full + " has "
	if code != 1 || out != "\n" || !strings.HasPrefix(errS, want) || strings.Count(errS, "\n") != 3 {
		t.Errorf("exit %d stdout %q stderr %q, want stderr %q...", code, out, errS, want)
	}
	if _, err := os.Stat(dst); err == nil {
		t.Errorf("%s left behind", dst)
	}
	// The guest still runs on its own disk, which holds what it wrote.
	wantChain(t, g, "vda", g.Disks[0])
	stopGuest(t, g)
	qemuIO(t, g.Disks[0], "read -P 0x5c 0 8M")
}

// TestLabBackupOntoFullFilesystem: a push backup into a directory whose
// filesystem fills up fails with the reason, removes the targets it
// created and the checkpoint begun with it; the guest's disk is intact.
func TestLabBackupOntoFullFilesystem(t *testing.T) {
	full := smallFS(t, 2)
	g := newLabGuest(t, labGuestOpts{Prefix: "fullbk", DiskMiB: 16, Start: true})
	g.GuestWrite(t, "vda", 0x6d, "0", "8M")
	// The shorthand (virtsh names the targets) and a backup XML of the
	// user's: libvirt's own error says why; what it created goes.
	xmlFile := filepath.Join(g.Dir, "backup.xml")
	doc, err := (&libvirtxml.DomainBackup{Push: &libvirtxml.DomainBackupPush{Disks: &libvirtxml.DomainBackupPushDisks{
		Disks: []libvirtxml.DomainBackupPushDisk{{Name: "vda", Backup: "yes", Driver: &libvirtxml.DomainBackupDiskDriver{Type: "qcow2"},
			Target: &libvirtxml.DomainDiskSource{File: &libvirtxml.DomainDiskSourceFile{File: filepath.Join(full, "mine.qcow2")}}}}}}}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(xmlFile, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"backup-begin", g.Name, "--target-dir", full, "--checkpoint", "c1", "--wait"},
		{"backup-begin", g.Name, xmlFile, "--wait"},
	} {
		out, errS, code := virtshLab(t, args...)
		if want := "error: Backup failed\nerror: No space left on device\n"; code != 1 || errS != want || out != "Backup started\n\n" {
			t.Errorf("%q: exit %d stdout %q stderr %q, want stderr %q", args, code, out, errS, want)
		}
		if es, _ := os.ReadDir(full); len(es) != 0 {
			t.Errorf("%q left in the target directory: %v", args, es)
		}
		if got := checkpointNames(t, g); len(got) != 0 {
			t.Errorf("%q left checkpoints: %v", args, got)
		}
	}
	stopGuest(t, g)
	qemuIO(t, g.Disks[0], "read -P 0x6d 0 8M")
}
