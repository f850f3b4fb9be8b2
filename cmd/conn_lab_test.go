//go:build lab

// Connection faults. Most run against a libvirtd the test itself starts and
// owns (privateDaemon: the shared system daemon is never touched or
// restarted): the daemon is killed, stopped with SIGTERM, and frozen with
// SIGSTOP while a virtsh script or REPL is open; virsh 9.0 goes through the
// same scenario and what both print on stderr is compared. One restarts a
// private QEMU daemon under a REPL that holds a node-name cache; one has
// the system daemon drop a waiting virtsh's connection to a lab guest.

package cmd

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/virtsh/virtsh/shell/blocknodes"
	"libvirt.org/go/libvirt"
)

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
	s := startPTY(t, t.TempDir(), []string{"XDG_CONFIG_HOME=" + t.TempDir()}, "-c", uri)
	s.expect("virtsh # ")
	s.send("uri\r")
	s.expect(uri)
	d.signal(syscall.SIGKILL)
	s.expect("error: Disconnected from " + uri + " due to end of file")
	<-d.exited
	d.cmd = nil
	d.start()
	s.send("hostname\r")
	s.expect("error: Reconnected to the hypervisor")
	s.expect(host)
	s.leave("quit\r")
	if strings.Contains(s.screen(), "panic") {
		t.Errorf("panic in REPL output:\n%s", s.screen())
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
	g := newLabGuest(t, labGuestOpts{Prefix: "drop", Disks: 1, DiskMiB: 64, Start: true})
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

// nodeDump runs `debug node-names DOM -o json` in the REPL and decodes the
// JSON document it prints (the first one after the typed line).
func (s *ptySession) nodeDump(dom string) nodeDumpView {
	s.t.Helper()
	line := "debug node-names " + dom + " -o json"
	s.send(line + "\r")
	s.expect(line)
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		scr := s.screen()[s.mark:]
		if i := strings.Index(scr, "{"); i >= 0 {
			dec := json.NewDecoder(strings.NewReader(scr[i:]))
			var v nodeDumpView
			if err := dec.Decode(&v); err == nil {
				s.mark += i + int(dec.InputOffset())
				if len(v.Domains) != 1 {
					s.t.Fatalf("%s: %d domains in\n%s", line, len(v.Domains), scr)
				}
				return v
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.t.Fatalf("%s: no JSON document; output after the command:\n%q", line, s.screen()[s.mark:])
	return nodeDumpView{}
}

// TestLabREPLDaemonRestartNodeCache: the REPL, on a private QEMU daemon
// (newPrivateQEMUDaemon), fills its node-name cache for a running guest;
// libvirtd is stopped (SIGTERM) and started again, the guest runs on; while
// the REPL has not reconnected yet, plain virsh takes a
// disk-only snapshot. The next command reconnects with virsh's message, and
// the cache, filled again for the new connection (reason "connect", from
// the live XML, no QMP), holds the new chain and equals QEMU's node list.
func TestLabREPLDaemonRestartNodeCache(t *testing.T) {
	d := newPrivateQEMUDaemon(t)
	uri := d.URI()
	var conn *libvirt.Connect // the test's own connection; replaced after the restart
	t.Cleanup(func() {
		if conn != nil {
			_, _ = conn.Close()
		}
	})
	var err error
	if conn, err = libvirt.NewConnect(uri); err != nil {
		t.Fatal(err)
	}
	g := newLabGuest(t, labGuestOpts{Prefix: "restart", Disks: 2, DiskMiB: 8, Conn: conn, Owner: nobodyID})
	if err := g.Dom.Create(); err != nil {
		t.Fatalf("starting %s on the private daemon: %v", g.Name, err)
	}

	s := startPTY(t, t.TempDir(), []string{"XDG_CONFIG_HOME=" + t.TempDir()}, "-c", uri)
	s.expect("virtsh # ")
	v := s.nodeDump(g.Name)
	before := v.Domains[0]
	if before.Counters.Fills != 1 || v.Totals.Scrapes != 0 || before.Last.Reason != blocknodes.ReasonConnect {
		t.Fatalf("first sight: counters %+v last %+v totals %+v", before.Counters, before.Last, v.Totals)
	}
	beforeNodes := strings.Join(cachedNodes(v), " ")
	if got, want := cachedNodes(v), qemuNodes(t, g); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("before the restart: cache %v\nQEMU  %v", got, want)
	}
	pid := qemuPid(t, d, g.Name)

	// Stop the daemon gracefully: the REPL, idle at its prompt, reports the
	// loss; the guest does not go down with the daemon.
	d.terminate()
	s.expect("error: Disconnected from " + uri)
	if err := syscall.Kill(pid, 0); err != nil {
		t.Fatalf("QEMU of %s (pid %d) gone with the daemon: %v", g.Name, pid, err)
	}
	_, _ = conn.Close()
	conn = nil
	d.start()
	if conn, err = libvirt.NewConnect(uri); err != nil {
		t.Fatal(err)
	}
	g.Conn = conn
	if g.Dom, err = conn.LookupDomainByName(g.Name); err != nil {
		t.Fatalf("%s after the restart: %v", g.Name, err)
	}
	if st := g.State(t); st != libvirt.DOMAIN_RUNNING {
		t.Fatalf("%s after the restart: state %v, want running", g.Name, st)
	}

	// Behind the REPL's back, before it reconnects: a disk-only snapshot.
	overlay := filepath.Join(g.Dir, "vda-s1.qcow2")
	out, err := exec.Command("virsh", "-c", uri, "snapshot-create-as", g.Name, "s1", "--disk-only", "--no-metadata",
		"--diskspec", "vda,file="+overlay, "--diskspec", "vdb,snapshot=no").CombinedOutput()
	if err != nil {
		t.Fatalf("virsh snapshot-create-as: %v\n%s", err, out)
	}

	s.send("domstate " + g.Name + "\r")
	s.expect("error: Reconnected to the hypervisor")
	s.expect("running")
	v = s.nodeDump(g.Name)
	after := v.Domains[0]
	if after.Last.Reason != blocknodes.ReasonConnect || after.Last.Method != blocknodes.MethodXML {
		t.Fatalf("fill after the reconnect: %+v, want connect/xml", after.Last)
	}
	if after.Counters.Fills != 2 || after.Counters.Scrapes != 0 || v.Totals.Scrapes != 0 {
		t.Fatalf("after the reconnect: counters %+v totals %+v, want 2 fills (one per connection), no scrape",
			after.Counters, v.Totals)
	}
	if after.Stale != "" {
		t.Fatalf("entry still stale (%q) after its fill", after.Stale)
	}
	if len(after.Disks) != 2 || len(after.Disks[0].Chain) != 2 || after.Disks[0].Chain[0].Source != overlay ||
		after.Disks[0].Chain[1].Source != g.Disks[0] || len(after.Disks[1].Chain) != 1 {
		t.Fatalf("chains after the snapshot: %+v", after.Disks)
	}
	if got, want := cachedNodes(v), qemuNodes(t, g); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("after the restart: cache %v\nQEMU  %v", got, want)
	}
	if strings.Join(cachedNodes(v), " ") == beforeNodes {
		t.Fatalf("node names unchanged by the snapshot: %v", cachedNodes(v))
	}

	s.leave("quit\r")
	if strings.Contains(s.screen(), "panic") {
		t.Fatalf("panic in the REPL:\n%s", s.screen())
	}
}

// qemuPid is the pid of guest name's QEMU, from the private daemon's pid file.
func qemuPid(t *testing.T, d *privateDaemon, name string) int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(d.dir, "run", "libvirt", "qemu", "run", name+".pid"))
	if err != nil {
		t.Fatal(err)
	}
	var pid int
	if _, err := fmt.Sscan(string(b), &pid); err != nil {
		t.Fatalf("pid file of %s: %v", name, err)
	}
	return pid
}
