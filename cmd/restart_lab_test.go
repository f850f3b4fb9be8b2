//go:build lab

// Restarting libvirtd mid-session, on a libvirtd the test
// starts and owns (a private session daemon as "nobody", QEMU driver, see
// newPrivateQEMUDaemon): the shared system daemon is never restarted.

package cmd

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"libvirt.org/go/libvirt"

	"github.com/virtsh/virtsh/shell"
)

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

// TestLabREPLDaemonRestartNodeCache: the REPL fills its node-name cache for
// a running guest; libvirtd is stopped (SIGTERM) and started again, the guest
// runs on; while the REPL has not reconnected yet, plain virsh takes a
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
	if before.Counters.Fills != 1 || v.Totals.Scrapes != 0 || before.Last.Reason != shell.ReasonConnect {
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
	if after.Last.Reason != shell.ReasonConnect || after.Last.Method != shell.MethodXML {
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

	s.send("quit\r")
	if code := s.wait(); code != 0 {
		t.Fatalf("REPL exit %d after quit:\n%s", code, s.screen())
	}
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
