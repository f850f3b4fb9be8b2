//go:build lab

package cmd

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"libvirt.org/go/libvirt"
	"libvirt.org/go/libvirtxml"
)

// TestLabBlockJobWaitEndsWhenDomainDestroyed: another client destroys the
// guest while `blockcommit --active --wait` follows a throttled job. virsh's
// next poll fails and it exits 1; virtsh, which waits on events, must watch
// the guest's lifecycle too and end within a second, saying the same.
func TestLabBlockJobWaitEndsWhenDomainDestroyed(t *testing.T) {
	run := func(bin string) (stderr string, code int, took time.Duration) {
		g, _, _, _ := layeredGuest(t, "jobgone", 1)
		g.GuestWrite(t, "vda", 0xf6, "0", "4M") // ~4 s at 1 MiB/s
		c := exec.Command(bin, "-c", labURI(), "blockcommit", g.Name, "vda", "--active", "--bandwidth", "1", "--wait")
		c.Env = append(os.Environ(), "LC_ALL=C", "GORACE=atexit_sleep_ms=0")
		var se bytes.Buffer
		c.Stderr = &se
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			if info, err := g.Dom.GetBlockJobInfo("vda", 0); err == nil && info.Type != 0 {
				break
			}
		}
		time.Sleep(300 * time.Millisecond)
		code, took = destroyUnder(t, g, c, &se)
		return se.String(), code, took
	}
	want, wantCode, _ := run(realVirsh)
	got, code, took := run(virtshBinary(t))
	if got != want || code != wantCode || code != 1 {
		t.Errorf("after destroy:\nvirtsh (%q, %d)\nvirsh  (%q, %d)", got, code, want, wantCode)
	}
	if took > time.Second {
		t.Errorf("virtsh ended %v after the destroy, want within 1 s", took)
	}
	t.Logf("virsh said %q; virtsh ended %v after the destroy", want, took.Round(time.Millisecond))
}

// destroyUnder destroys g (another client's destroy) while c waits on it,
// and returns c's exit status and how long after the destroy it ended; a
// c still running 10 s later fails the test.
func destroyUnder(t *testing.T, g *labGuest, c *exec.Cmd, stderr *bytes.Buffer) (code int, took time.Duration) {
	t.Helper()
	if err := g.Dom.Destroy(); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	code, exited := waitExit(t, c, 10*time.Second)
	if !exited {
		_ = c.Process.Kill()
		t.Fatalf("%s: still waiting 10 s after the guest was destroyed; stderr %q", c.Path, stderr.String())
	}
	return code, time.Since(start)
}

// pullBackupFiles writes a pull-mode backup XML (NBD on a unix socket, the
// scratch file for vda in scratchDir) and a checkpoint XML (c1) for g: a
// backup that runs until it is aborted.
func pullBackupFiles(t *testing.T, g *labGuest, scratchDir string) (bxFile, ckFile string) {
	t.Helper()
	sock, scratch := filepath.Join(g.Dir, "nbd.sock"), filepath.Join(scratchDir, "vda.scratch")
	pull := libvirtxml.DomainBackup{Pull: &libvirtxml.DomainBackupPull{
		Server: &libvirtxml.DomainBackupPullServer{UNIX: &libvirtxml.DomainBackupPullServerUNIX{Socket: sock}},
		Disks: &libvirtxml.DomainBackupPullDisks{Disks: []libvirtxml.DomainBackupPullDisk{{Name: "vda", Backup: "yes",
			Scratch: &libvirtxml.DomainDiskSource{File: &libvirtxml.DomainDiskSourceFile{File: scratch}}}}}}}
	ck := libvirtxml.DomainCheckpoint{Name: "c1", Disks: &libvirtxml.DomainCheckpointDisks{Disks: []libvirtxml.DomainCheckpointDisk{{Name: "vda", Checkpoint: "bitmap"}}}}
	bxFile, ckFile = filepath.Join(g.Dir, "backup.xml"), filepath.Join(g.Dir, "checkpoint.xml")
	for file, m := range map[string]interface{ Marshal() (string, error) }{bxFile: &pull, ckFile: &ck} {
		doc, err := m.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(file, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return bxFile, ckFile
}

// waitDomainJob waits until g has a domain job (the backup has begun).
func waitDomainJob(t *testing.T, g *labGuest) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if info, err := g.Dom.GetJobStats(0); err == nil && info.Type != libvirt.DOMAIN_JOB_NONE {
			return
		}
	}
	t.Fatal("the backup job never began")
}

// TestLabBackupWaitConnectionLost: `backup-begin --wait` is waiting on a
// pull backup when the daemon drops virtsh's connection (virt-admin
// client-disconnect). The wait ends with a message that says how to find
// out how the job ends, the shell reconnects and goes on, and the backup
// job is still there for the operator (then aborted by the test).
func TestLabBackupWaitConnectionLost(t *testing.T) {
	g := newLabGuest(t, labGuestOpts{Prefix: "bklost", DiskMiB: 8, Start: true})
	bx, ck := pullBackupFiles(t, g, g.Dir)
	p := startScript(t, virtshBinary(t), "-c", labURI())
	p.send("backup-begin " + g.Name + " " + bx + " " + ck + " --wait")
	waitDomainJob(t, g)
	id := adminClientOf(t, p.cmd.Process.Pid)
	if _, _, err := runTool("virt-admin", "-c", "libvirtd:///system", "client-disconnect", "libvirtd", id); err != nil {
		t.Fatal(err)
	}
	want := "error: Disconnected from " + labURI() + " due to end of file\n" +
		"error: Reconnected to the hypervisor\n" +
		"error: Lost the connection while waiting for the backup job\n" +
		"error: The job may go on: follow it with 'domjobinfo " + g.Name + "' ('domjobinfo " + g.Name + " --completed' once it ended) and check 'checkpoint-list " + g.Name + "'\n"
	waitCount(t, &p.errb, "checkpoint-list "+g.Name+"'\n", 1, 20*time.Second)
	if got := p.errb.String(); got != want {
		t.Errorf("stderr:\n%s\nwant:\n%s", got, want)
	}
	p.send("domjobinfo " + g.Name)
	waitCount(t, &p.out, "Operation:        Backup", 1, 20*time.Second)
	if err := g.Dom.AbortJob(); err != nil {
		t.Fatal(err)
	}
	p.finish()
}

// TestLabBackupWaitEndsWhenDomainDestroyed: another client destroys the
// guest under `backup-begin --wait`: the wait ends at once with exit 1,
// saying the backup failed and which checkpoint it could not take back
// (libvirt 9 deletes checkpoints of running guests only).
func TestLabBackupWaitEndsWhenDomainDestroyed(t *testing.T) {
	g := newLabGuest(t, labGuestOpts{Prefix: "bkgone", DiskMiB: 8, Start: true})
	bx, ck := pullBackupFiles(t, g, g.Dir)
	c := exec.Command(virtshBinary(t), "-c", labURI(), "backup-begin", g.Name, bx, ck, "--wait")
	c.Env = append(os.Environ(), "LC_ALL=C", "GORACE=atexit_sleep_ms=0")
	var so, se bytes.Buffer
	c.Stdout, c.Stderr = &so, &se
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	waitDomainJob(t, g)
	code, took := destroyUnder(t, g, c, &se)
	wantErr := "error: Backup failed\nerror: domain is not running\n" +
		"error: The checkpoint 'c1' begun with the backup is left: delete it with 'checkpoint-delete " + g.Name + " c1' once the guest runs\n" +
		"error: Operation not supported: cannot delete checkpoint for inactive domain\n"
	if code != 1 || se.String() != wantErr || so.String() != "Backup started\n\n" {
		t.Errorf("after destroy: exit %d stdout %q stderr %q, want stderr %q", code, so.String(), se.String(), wantErr)
	}
	if took > 1500*time.Millisecond {
		t.Errorf("ended %v after the destroy, want about 1 s at most", took)
	}
	// What the message says is left is there, and goes once the guest runs.
	if got := checkpointNames(t, g); len(got) != 1 || got[0] != "c1" {
		t.Errorf("checkpoints after the failed backup: %v, want [c1]", got)
	}
	if err := g.Dom.Create(); err != nil {
		t.Fatal(err)
	}
	mustVirtshLab(t, "checkpoint-delete", g.Name, "c1")
	t.Logf("ended %v after the destroy: %q", took.Round(time.Millisecond), se.String())
}

// TestLabThresholdWaitEndsWhenDomainDestroyed: `domblkthreshold --wait` on
// a guest that another client destroys ends at once, exit 1, saying so.
func TestLabThresholdWaitEndsWhenDomainDestroyed(t *testing.T) {
	g := newLabGuest(t, labGuestOpts{Prefix: "thrgone", DiskMiB: 8, Start: true})
	c := exec.Command(virtshBinary(t), "-c", labURI(), "domblkthreshold", g.Name, "vda", "4M", "--wait")
	c.Env = append(os.Environ(), "LC_ALL=C", "GORACE=atexit_sleep_ms=0")
	var se bytes.Buffer
	c.Stderr = &se
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	waitArmed(t, g, "vda", 4*MiB)
	code, _ := destroyUnder(t, g, c, &se)
	if want := "error: Domain '" + g.Name + "' stopped while waiting for the block-threshold event\n"; code != 1 || se.String() != want {
		t.Errorf("exit %d stderr %q, want 1 and %q", code, se.String(), want)
	}
}

// TestLabEventLoopConnectionLost: `event --loop` whose daemon is killed, or
// frozen (SIGSTOP, keepalive -k 1 -K 2), does not sit deaf: it ends with
// exit 1 as virsh does, with virsh's words (compared with the real virsh on
// the same kind of daemon).
func TestLabEventLoopConnectionLost(t *testing.T) {
	run := func(bin string, sig syscall.Signal) (stdout, stderr string, code int) {
		d := newPrivateDaemon(t)
		c := exec.Command(bin, "-k", "1", "-K", "2", "-c", d.URI(), "event", "--all", "--loop")
		c.Env = append(os.Environ(), "LC_ALL=C", "GORACE=atexit_sleep_ms=0")
		var so, se bytes.Buffer
		c.Stdout, c.Stderr = &so, &se
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(1500 * time.Millisecond) // registered
		d.signal(sig)
		code, exited := waitExit(t, c, 15*time.Second)
		if sig == syscall.SIGSTOP {
			d.signal(syscall.SIGCONT)
		}
		if !exited {
			_ = c.Process.Kill()
			code = -1
			se.WriteString("(still running 15 s later)")
		}
		return so.String(), strings.ReplaceAll(se.String(), d.sock, "SOCK"), code
	}
	for _, sig := range []syscall.Signal{syscall.SIGKILL, syscall.SIGSTOP} {
		wo, we, wc := run(realVirsh, sig)
		o, e, c := run(virtshBinary(t), sig)
		if o != wo || e != we || c != wc {
			t.Errorf("after %v of the daemon:\nvirtsh (%q, %q, %d)\nvirsh  (%q, %q, %d)", sig, o, e, c, wo, we, wc)
		}
	}
}
