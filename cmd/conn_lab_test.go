//go:build lab

// Connection faults against a libvirtd the test itself starts and owns: a
// private session daemon run as "nobody" with its own socket, runtime and
// config directories (the shared system daemon is never touched), serving
// libvirt's test driver over test+unix:///default?socket=... The daemon is
// killed, stopped with SIGTERM, and frozen with SIGSTOP while a virtsh
// script or REPL is open; virsh 9.0 goes through the same scenario and what
// both print on stderr is compared. Concurrent clients act on a real QEMU
// lab guest.

package cmd

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
	"libvirt.org/go/libvirt"
)

const nobodyID = 65534

type privateDaemon struct {
	t      *testing.T
	dir    string
	sock   string
	qemu   bool // clients use its QEMU driver (qemu:///session), not the test driver
	cmd    *exec.Cmd
	exited chan struct{}
}

// newPrivateDaemon starts a libvirtd of the test's own. Run as an
// unprivileged user it is a session daemon: every path it uses is under dir
// (XDG_RUNTIME_DIR, HOME, unix_sock_dir), so it shares nothing with the
// system daemon. Cleanup kills it and removes dir.
func newPrivateDaemon(t *testing.T) *privateDaemon {
	t.Helper()
	return newPrivateDaemonFor(t, false)
}

// newPrivateQEMUDaemon is a private daemon whose clients use its QEMU driver
// in session mode: guests run as "nobody" (TCG), their state lives under the
// daemon's own runtime dir, and they survive a restart of this daemon. Its
// cleanup also kills any QEMU the daemon left running (by the pid files in
// that runtime dir), so a failed test leaves no guest behind.
func newPrivateQEMUDaemon(t *testing.T) *privateDaemon {
	t.Helper()
	return newPrivateDaemonFor(t, true)
}

func newPrivateDaemonFor(t *testing.T, qemu bool) *privateDaemon {
	t.Helper()
	dir, err := os.MkdirTemp("", "vt-ld-")
	if err != nil {
		t.Fatal(err)
	}
	d := &privateDaemon{t: t, dir: dir, sock: filepath.Join(dir, "sock", "libvirt-sock"), qemu: qemu}
	t.Cleanup(func() {
		d.stop()
		d.killGuests()
		_ = os.RemoveAll(dir)
	})
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.Chmod(dir, 0o755))
	for _, sub := range []string{"home", "run", "sock"} {
		must(os.Mkdir(filepath.Join(dir, sub), 0o755))
		must(os.Chown(filepath.Join(dir, sub), nobodyID, nobodyID))
	}
	conf := fmt.Sprintf("unix_sock_dir = %q\nunix_sock_rw_perms = \"0777\"\nauth_unix_rw = \"none\"\nauth_unix_ro = \"none\"\n", filepath.Join(dir, "sock"))
	must(os.WriteFile(filepath.Join(dir, "libvirtd.conf"), []byte(conf), 0o644))
	d.start()
	return d
}

func (d *privateDaemon) URI() string {
	if d.qemu {
		return "qemu+unix:///session?socket=" + d.sock
	}
	return "test+unix:///default?socket=" + d.sock
}

// killGuests kills the QEMU processes the (stopped) daemon's QEMU driver
// recorded in its runtime dir: only ours, found by their pid files.
func (d *privateDaemon) killGuests() {
	if !d.qemu {
		return
	}
	files, _ := filepath.Glob(filepath.Join(d.dir, "run", "libvirt", "qemu", "run", "*.pid"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		var pid int
		if _, err := fmt.Sscan(string(b), &pid); err != nil || pid <= 1 {
			continue
		}
		if comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid)); err == nil && strings.HasPrefix(string(comm), "qemu") {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

func (d *privateDaemon) start() {
	d.t.Helper()
	home, run := filepath.Join(d.dir, "home"), filepath.Join(d.dir, "run")
	c := exec.Command("setpriv", "--reuid", fmt.Sprint(nobodyID), "--regid", fmt.Sprint(nobodyID), "--clear-groups",
		"env", "-i", "HOME="+home, "XDG_RUNTIME_DIR="+run, "XDG_CONFIG_HOME="+filepath.Join(home, ".config"),
		"XDG_CACHE_HOME="+filepath.Join(home, ".cache"), "PATH=/usr/sbin:/usr/bin:/sbin:/bin",
		"libvirtd", "--config", filepath.Join(d.dir, "libvirtd.conf"), "--pid-file", filepath.Join(run, "libvirtd.pid"))
	log, err := os.OpenFile(filepath.Join(d.dir, "libvirtd.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		d.t.Fatal(err)
	}
	defer log.Close()
	c.Stdout, c.Stderr = log, log
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := c.Start(); err != nil {
		d.t.Fatalf("starting a private libvirtd: %v", err)
	}
	d.cmd, d.exited = c, make(chan struct{})
	go func(exited chan struct{}) { _ = c.Wait(); close(exited) }(d.exited)
	deadline := time.Now().Add(30 * time.Second)
	for {
		conn, err := libvirt.NewConnect(d.URI())
		if err == nil {
			_, _ = conn.Close()
			return
		}
		select {
		case <-d.exited:
			b, _ := os.ReadFile(filepath.Join(d.dir, "libvirtd.log"))
			d.t.Fatalf("private libvirtd exited at start:\n%s", b)
		default:
		}
		if time.Now().After(deadline) {
			d.t.Fatalf("private libvirtd not answering on %s: %v", d.sock, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (d *privateDaemon) signal(sig syscall.Signal) {
	d.t.Helper()
	if err := d.cmd.Process.Signal(sig); err != nil {
		d.t.Fatalf("signal %v to libvirtd: %v", sig, err)
	}
}

// stop ends the daemon (also a frozen one) and waits for it.
func (d *privateDaemon) stop() {
	if d.cmd == nil {
		return
	}
	_ = d.cmd.Process.Signal(syscall.SIGCONT)
	_ = d.cmd.Process.Signal(syscall.SIGKILL)
	<-d.exited
	d.cmd = nil
}

// terminate stops the daemon gracefully (SIGTERM) and waits for it.
func (d *privateDaemon) terminate() {
	d.signal(syscall.SIGTERM)
	select {
	case <-d.exited:
	case <-time.After(30 * time.Second):
		d.t.Fatal("libvirtd did not exit on SIGTERM")
	}
	d.cmd = nil
}

// scriptProc is virsh or virtsh reading commands from a pipe.
type scriptProc struct {
	t         *testing.T
	cmd       *exec.Cmd
	in        io.WriteCloser
	out, errb lockedBuffer
}

func startScript(t *testing.T, bin string, args ...string) *scriptProc {
	t.Helper()
	p := &scriptProc{t: t, cmd: exec.Command(bin, args...)}
	p.cmd.Env = append(os.Environ(), "LC_ALL=C", "GORACE=atexit_sleep_ms=0")
	p.cmd.Stdout, p.cmd.Stderr = &p.out, &p.errb
	var err error
	if p.in, err = p.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.cmd.Process.Kill() })
	return p
}

func (p *scriptProc) send(line string) {
	p.t.Helper()
	if _, err := io.WriteString(p.in, line+"\n"); err != nil {
		p.t.Fatalf("writing %q: %v", line, err)
	}
}

// waitCount waits until what occurs n times in b, and returns how long it took.
func waitCount(t *testing.T, b *lockedBuffer, what string, n int, limit time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for strings.Count(b.String(), what) < n {
		if time.Since(start) > limit {
			t.Fatalf("waited %s for %d × %q; have:\n%s", limit, n, what, b.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	return time.Since(start)
}

func (p *scriptProc) finish() int {
	p.t.Helper()
	_ = p.in.Close()
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case err := <-done:
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode()
		}
		if err != nil {
			p.t.Fatal(err)
		}
		return 0
	case <-time.After(30 * time.Second):
		p.t.Fatalf("shell did not exit at end of input; stderr:\n%s", p.errb.String())
		return -1
	}
}

// TestDaemonKilledAndRestarted: libvirtd killed (SIGKILL), a command while it
// is down, restarted, then stopped cleanly (SIGTERM) and restarted, all while
// one script is open. Each loss is reported by the close callback as virsh
// does, the command run while the daemon is down fails with virsh's two
// lines, and the next command after a restart reconnects and runs. virsh 9.0
// runs the same scenario and must print the same on stderr.
func TestDaemonKilledAndRestarted(t *testing.T) {
	host, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	scenario := func(bin string) (stderr, stdout string, code int) {
		d := newPrivateDaemon(t)
		uri := d.URI()
		p := startScript(t, bin, "-c", uri)
		p.send("uri")
		waitCount(t, &p.out, uri, 1, 20*time.Second)
		d.signal(syscall.SIGKILL)
		<-d.exited
		d.cmd = nil
		waitCount(t, &p.errb, "error: Disconnected from "+uri+" due to end of file\n", 1, 20*time.Second)
		p.send("hostname")
		waitCount(t, &p.errb, "Connection refused\n", 1, 20*time.Second)
		d.start()
		p.send("hostname")
		waitCount(t, &p.out, host, 1, 20*time.Second)
		d.terminate()
		waitCount(t, &p.errb, "error: Disconnected from "+uri+" due to end of file\n", 2, 20*time.Second)
		d.start()
		p.send("hostname")
		waitCount(t, &p.out, host, 2, 20*time.Second)
		code = p.finish()
		return strings.ReplaceAll(p.errb.String(), d.sock, "SOCK"), p.out.String(), code
	}
	got, out, code := scenario(virtshBinary(t))
	want, _, _ := scenario(realVirsh)
	wantLit := "error: Disconnected from test+unix:///default?socket=SOCK due to end of file\n" +
		"error: Failed to reconnect to the hypervisor\n" +
		"error: Failed to connect socket to 'SOCK': Connection refused\n" +
		"error: Disconnected from test+unix:///default?socket=SOCK due to end of file\n" +
		"error: Reconnected to the hypervisor\n"
	if got != want || got != wantLit {
		t.Errorf("virtsh stderr:\n%s\nvirsh stderr:\n%s\nwant:\n%s", got, want, wantLit)
	}
	if strings.Count(out, host) != 2 {
		t.Errorf("hostname did not run twice after restarts; stdout:\n%s", out)
	}
	// virtsh's script mode exits 1 when any command failed (virsh exits 0).
	if code != 1 {
		t.Errorf("exit status %d, want 1 (the command run while the daemon was down failed)", code)
	}
}

// TestDaemonFrozenKeepalive: a SIGSTOPped daemon is noticed by keepalive
// (-k 1 -K 2) within about k×(K+1) seconds; the command in flight fails with
// virsh's message instead of hanging; after SIGCONT the next command
// reconnects and runs. virsh prints the same.
func TestDaemonFrozenKeepalive(t *testing.T) {
	host, _ := os.Hostname()
	scenario := func(bin string) (stderr string, detect time.Duration) {
		d := newPrivateDaemon(t)
		uri := d.URI()
		p := startScript(t, bin, "-k", "1", "-K", "2", "-c", uri)
		p.send("uri")
		waitCount(t, &p.out, uri, 1, 20*time.Second)
		d.signal(syscall.SIGSTOP)
		p.send("hostname")
		detect = waitCount(t, &p.errb, "connection closed due to keepalive timeout\n", 1, 30*time.Second)
		d.signal(syscall.SIGCONT)
		p.send("hostname")
		waitCount(t, &p.out, host, 1, 20*time.Second)
		p.finish()
		return strings.ReplaceAll(p.errb.String(), d.sock, "SOCK"), detect
	}
	got, detect := scenario(virtshBinary(t))
	want, _ := scenario(realVirsh)
	wantLit := "error: Disconnected from test+unix:///default?socket=SOCK due to keepalive timeout\n" +
		"error: failed to get hostname\n" +
		"error: internal error: connection closed due to keepalive timeout\n" +
		"error: Reconnected to the hypervisor\n"
	if got != want || got != wantLit {
		t.Errorf("virtsh stderr:\n%s\nvirsh stderr:\n%s\nwant:\n%s", got, want, wantLit)
	}
	// k×(K+1) = 3 s, plus scheduling slack on a loaded machine.
	if detect > 8*time.Second {
		t.Errorf("hung daemon noticed after %s, want about 3 s", detect)
	}
	t.Logf("keepalive noticed the frozen daemon after %s", detect.Round(10*time.Millisecond))
}

// TestREPLDaemonRestart: the interactive shell (through a pseudo-terminal)
// reports the lost daemon while it waits at the prompt, and the next command
// reconnects and runs.
func TestREPLDaemonRestart(t *testing.T) {
	host, _ := os.Hostname()
	d := newPrivateDaemon(t)
	uri := d.URI()
	c := exec.Command(virtshBinary(t), "-c", uri)
	c.Env = append(os.Environ(), "XDG_CACHE_HOME="+t.TempDir(), "XDG_CONFIG_HOME="+t.TempDir(), "TERM=xterm", "GORACE=atexit_sleep_ms=0")
	f, err := pty.StartWithSize(c, &pty.Winsize{Rows: 24, Cols: 200})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	defer func() { _ = c.Process.Kill() }()
	var buf lockedBuffer
	done := make(chan struct{})
	go func() { _, _ = io.Copy(&buf, f); close(done) }()
	clean := func() string { return ansiRE.ReplaceAllString(buf.String(), "") }
	waitIn := func(what string, n int) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for strings.Count(clean(), what) < n {
			if time.Now().After(deadline) {
				t.Fatalf("no %d × %q in:\n%q", n, what, clean())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	waitIn("virtsh # ", 1)
	_, _ = f.Write([]byte("uri\r"))
	waitIn(uri, 1)
	d.signal(syscall.SIGKILL)
	waitIn("error: Disconnected from "+uri+" due to end of file", 1)
	d.cmd = nil
	d.start()
	_, _ = f.Write([]byte("hostname\r"))
	waitIn("error: Reconnected to the hypervisor", 1)
	waitIn(host, 1)
	_, _ = f.Write([]byte("quit\r"))
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatalf("REPL did not quit:\n%q", clean())
	}
	_ = c.Wait()
	if c.ProcessState.ExitCode() != 0 {
		t.Errorf("REPL exit %d after quit", c.ProcessState.ExitCode())
	}
	if strings.Contains(clean(), "panic") {
		t.Errorf("panic in REPL output:\n%s", clean())
	}
}

// adminClientOf returns the system daemon's id for the client connection of
// process pid (virt-admin client-list / client-info).
func adminClientOf(t *testing.T, pid int) string {
	t.Helper()
	list, _, err := runTool("virt-admin", "-c", "libvirtd:///system", "client-list", "libvirtd")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(list, "\n") {
		f := strings.Fields(l)
		if len(f) == 0 || strings.Trim(f[0], "0123456789") != "" {
			continue
		}
		info, _, err := runTool("virt-admin", "-c", "libvirtd:///system", "client-info", "libvirtd", f[0])
		if err == nil && regexp.MustCompile(`(?m)^unix_process_id: `+fmt.Sprint(pid)+`$`).MatchString(info) {
			return f[0]
		}
	}
	t.Fatalf("no client of pid %d on the system daemon:\n%s", pid, list)
	return ""
}

// TestLabWaitSurvivesConnectionDrop: `blockpull --wait` is running when the
// daemon drops virtsh's connection (virt-admin client-disconnect: only this
// client is cut, the shared daemon keeps running). virtsh stops waiting,
// reports the loss, reconnects at once and says how to follow the job; the
// job keeps running in QEMU and completes, with the data intact; the next
// command runs on the new connection.
func TestLabWaitSurvivesConnectionDrop(t *testing.T) {
	g := newLabGuest(t, labGuestOpts{Prefix: "reldrop", Disks: 1, DiskMiB: 64, Start: true})
	g.GuestWrite(t, "vda", 0xcd, "0", "12M")
	s1 := filepath.Join(g.Dir, "vda-s1.qcow2")
	ls := newLabSession(t)
	ls.mustRun(t, fmt.Sprintf("snapshot-create-as %s s1 --disk-only --no-metadata --diskspec vda,file=%s", g.Name, s1))
	p := startScript(t, virtshBinary(t), "-c", labURI())
	// 12 MiB at 1 MiB/s: the job outlives the drop by several seconds.
	p.send("blockpull " + g.Name + " vda --wait --bandwidth 1")
	deadline := time.Now().Add(30 * time.Second)
	for {
		if info, err := g.Dom.GetBlockJobInfo("vda", 0); err == nil && info.Type != 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("pull never started; stderr:\n%s", p.errb.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	id := adminClientOf(t, p.cmd.Process.Pid)
	if _, _, err := runTool("virt-admin", "-c", "libvirtd:///system", "client-disconnect", "libvirtd", id); err != nil {
		t.Fatal(err)
	}
	want := "error: Disconnected from " + labURI() + " due to end of file\n" +
		"error: Reconnected to the hypervisor\n" +
		"error: Lost the connection while waiting for the block job on disk 'vda'\n" +
		"error: The job keeps running in QEMU: follow it with 'blockjob " + g.Name + " vda --info'\n"
	waitCount(t, &p.errb, "--info'\n", 1, 20*time.Second)
	if got := p.errb.String(); !strings.HasPrefix(got, want) {
		t.Errorf("stderr:\n%s\nwant:\n%s", got, want)
	}
	info, err := g.Dom.GetBlockJobInfo("vda", 0)
	if err != nil || info.Type == 0 {
		t.Fatalf("the job did not survive the drop: %+v, %v", info, err)
	}
	// The shell goes on, on its new connection: follow the job with it.
	p.send("blockjob " + g.Name + " vda --info")
	// virsh prints the progress line on stderr, the bandwidth on stdout.
	waitCount(t, &p.errb, "Block Pull: [", 1, 20*time.Second)
	waitCount(t, &p.out, "Bandwidth limit: 1048576 bytes/s", 1, 20*time.Second)
	deadline = time.Now().Add(120 * time.Second)
	for {
		info, err := g.Dom.GetBlockJobInfo("vda", 0)
		if err == nil && info.Type == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("pull did not finish: %+v %v", info, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if x := g.LiveXML(t); strings.Contains(x, "<backingStore type") {
		t.Errorf("vda still has a backing chain after the pull:\n%s", x)
	}
	p.finish()
	// Stopped, QEMU has written everything out: s1 alone holds the data.
	if err := g.Dom.Destroy(); err != nil {
		t.Fatal(err)
	}
	if info := qemuImg(t, "info", s1); strings.Contains(info, "backing file") {
		t.Fatalf("s1 still has a backing file: %s", info)
	}
	qemuIO(t, s1, "read -P 0xcd 0 12M")
}
