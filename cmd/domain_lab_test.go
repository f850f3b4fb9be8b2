//go:build lab

package cmd

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"libvirt.org/go/libvirt"
)

// labState is what libvirt holds for the guest now: state and reason.
func labState(t *testing.T, g *labGuest) (libvirt.DomainState, int) {
	t.Helper()
	d, err := g.Conn.LookupDomainByName(g.Name)
	if err != nil {
		t.Fatalf("looking up %s: %v", g.Name, err)
	}
	defer d.Free()
	st, r, err := d.GetState()
	if err != nil {
		t.Fatalf("state of %s: %v", g.Name, err)
	}
	return st, r
}

func labWant(t *testing.T, g *labGuest, after string, st libvirt.DomainState, reason int) {
	t.Helper()
	got, r := labState(t, g)
	if got != st || (reason >= 0 && r != reason) {
		t.Errorf("after %q libvirt holds %s as %s (%s), want %s (%s)", after, g.Name,
			stateString(got), reasonString(got, r), stateString(st), reasonString(st, reason))
	}
}

// TestLabLifecycleOneShot drives a real QEMU guest (no OS: it sits in the
// BIOS) through start, suspend, resume, reboot, shutdown and destroy, one
// virtsh process per command, checking libvirt after each.
func TestLabLifecycleOneShot(t *testing.T) {
	g := newLabGuest(t, labGuestOpts{Prefix: "life"})
	uri := labURI()
	steps := []struct {
		cmd, out string
		st       libvirt.DomainState
		reason   int
	}{
		{"start " + g.Name, "Domain '" + g.Name + "' started\n\n", libvirt.DOMAIN_RUNNING, int(libvirt.DOMAIN_RUNNING_BOOTED)},
		{"suspend " + g.Name, "Domain '" + g.Name + "' suspended\n\n", libvirt.DOMAIN_PAUSED, int(libvirt.DOMAIN_PAUSED_USER)},
		{"resume " + g.Name, "Domain '" + g.Name + "' resumed\n\n", libvirt.DOMAIN_RUNNING, int(libvirt.DOMAIN_RUNNING_UNPAUSED)},
		// No OS answers the ACPI request: libvirt accepts the reboot and
		// the shutdown and the guest keeps running.
		{"reboot " + g.Name, "Domain '" + g.Name + "' is being rebooted\n\n", libvirt.DOMAIN_RUNNING, -1},
		{"shutdown " + g.Name + " --mode acpi", "Domain '" + g.Name + "' is being shutdown\n\n", libvirt.DOMAIN_RUNNING, -1},
		{"destroy " + g.Name, "Domain '" + g.Name + "' destroyed\n\n", libvirt.DOMAIN_SHUTOFF, int(libvirt.DOMAIN_SHUTOFF_DESTROYED)},
	}
	for _, s := range steps {
		out, errS, code := runMain(t, "", "-c", uri, s.cmd)
		if out != s.out || errS != "" || code != 0 {
			t.Fatalf("virtsh %q = (%q, %q, %d), want %q", s.cmd, out, errS, code, s.out)
		}
		labWant(t, g, s.cmd, s.st, s.reason)
	}
	// The shut-down request above must not have stopped the guest later
	// either: it was destroyed, by us, with reason "destroyed".
	out, errS, code := runMain(t, "", "-q", "-c", uri, "domstate "+g.Name+" --reason")
	if out != "shut off (destroyed)\n" || errS != "" || code != 0 {
		t.Errorf("domstate = (%q, %q, %d)", out, errS, code)
	}
	// A failure on the real driver: virsh's two lines, exit 1.
	out, errS, code = runMain(t, "", "-c", uri, "suspend "+g.Name)
	if code != 1 || out != "\n" || !strings.HasPrefix(errS, "error: Failed to suspend domain '"+g.Name+"'\nerror: Requested operation is not valid: domain is not running\n") {
		t.Errorf("suspend of a shut-off guest = (%q, %q, %d)", out, errS, code)
	}
}

// TestLabShutdownKeepsRunning: a guest with no OS ignores the ACPI power
// button; libvirt accepts the request and the guest is still running a
// moment later.
func TestLabShutdownKeepsRunning(t *testing.T) {
	g := newLabGuest(t, labGuestOpts{Prefix: "shut", Start: true})
	if _, errS, code := runMain(t, "", "-q", "-c", labURI(), "shutdown "+g.Name); code != 0 || errS != "" {
		t.Fatalf("shutdown: %q %d", errS, code)
	}
	time.Sleep(time.Second)
	labWant(t, g, "shutdown + 1s", libvirt.DOMAIN_RUNNING, -1)
}

// TestLabLifecycleScript runs the same steps from a stdin script, in one
// virtsh process, with domstate lines checked in between and libvirt at
// the end.
func TestLabLifecycleScript(t *testing.T) {
	g := newLabGuest(t, labGuestOpts{Prefix: "script"})
	n := g.Name
	script := strings.Join([]string{
		"start " + n, "domstate " + n + " --reason",
		"suspend " + n, "domstate " + n + " --reason",
		"resume " + n, "domstate " + n + " --reason",
		"reboot " + n, "shutdown " + n, "domstate " + n,
		"destroy " + n, "domstate " + n + " --reason",
	}, "\n") + "\n"
	out, errS, code := runMain(t, script, "-q", "-c", labURI())
	want := "running (booted)\npaused (user)\nrunning (unpaused)\nrunning\nshut off (destroyed)\n"
	if out != want || errS != "" || code != 0 {
		t.Fatalf("script = (%q, %q, %d), want %q", out, errS, code, want)
	}
	labWant(t, g, "script", libvirt.DOMAIN_SHUTOFF, int(libvirt.DOMAIN_SHUTOFF_DESTROYED))
}

// TestLabDefineUndefine undefines a lab guest with virtsh, then defines it
// again from its saved XML, one-shot and from a script.
func TestLabDefineUndefine(t *testing.T) {
	g := newLabGuest(t, labGuestOpts{Prefix: "def"})
	x, err := g.Dom.GetXMLDesc(libvirt.DOMAIN_XML_INACTIVE | libvirt.DOMAIN_XML_SECURE)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(g.Dir, "def.xml")
	if err := os.WriteFile(file, []byte(x), 0o644); err != nil {
		t.Fatal(err)
	}
	exists := func() bool {
		d, err := g.Conn.LookupDomainByName(g.Name)
		if err != nil {
			return false
		}
		_ = d.Free()
		return true
	}
	uri := labURI()
	out, errS, code := runMain(t, "", "-c", uri, "undefine "+g.Name)
	if out != "Domain '"+g.Name+"' has been undefined\n\n" || errS != "" || code != 0 || exists() {
		t.Fatalf("undefine = (%q, %q, %d), still defined: %v", out, errS, code, exists())
	}
	out, errS, code = runMain(t, "", "-c", uri, "define "+file)
	if out != "Domain '"+g.Name+"' defined from "+file+"\n\n" || errS != "" || code != 0 || !exists() {
		t.Fatalf("define = (%q, %q, %d), defined: %v", out, errS, code, exists())
	}
	labWant(t, g, "define", libvirt.DOMAIN_SHUTOFF, -1)
	// The same from a script: undefine, check it is gone, define back.
	out, errS, code = runMain(t, "undefine "+g.Name+"\nlist --all --name\ndefine "+file+"\ndomstate "+g.Name+"\n", "-q", "-c", uri)
	if strings.Contains(strings.SplitN(out, "shut off", 2)[0], g.Name) || !strings.HasSuffix(out, "shut off\n") || errS != "" || code != 0 || !exists() {
		t.Fatalf("script = (%q, %q, %d), defined: %v", out, errS, code, exists())
	}
	// Bad input on the real driver changes nothing.
	bad := filepath.Join(g.Dir, "bad.xml")
	if err := os.WriteFile(bad, []byte("<domain type='qemu'><name>"+g.Name+"</name>"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, errS, code = runMain(t, "", "-c", uri, "define "+bad)
	if code != 1 || !strings.HasPrefix(errS, "error: Failed to define domain from "+bad+"\nerror: ") || !exists() {
		t.Errorf("define of bad XML = (%q, %d), defined: %v", errS, code, exists())
	}
	if now, _ := g.Conn.LookupDomainByName(g.Name); now != nil {
		nx, _ := now.GetXMLDesc(libvirt.DOMAIN_XML_INACTIVE | libvirt.DOMAIN_XML_SECURE)
		_ = now.Free()
		if nx != x {
			t.Errorf("definition changed by a failed define:\n%s\n---\n%s", x, nx)
		}
	}
}

// TestLabMonitorMatchesVirsh: on a running QEMU guest with two disks, virtsh
// and virsh print the same for the monitoring commands.
func TestLabMonitorMatchesVirsh(t *testing.T) {
	g := newLabGuest(t, labGuestOpts{Prefix: "mon", Disks: 2, Start: true})
	bin := virtshBinary(t)
	for _, c := range []string{"list --all --name", "dominfo " + g.Name, "domstate " + g.Name + " --reason",
		"domid " + g.Name, "domblklist " + g.Name + " --details", "domblkinfo " + g.Name + " vdb",
		"domblkinfo " + g.Name + " --all --human", "dumpxml " + g.Name + " --xpath //disk/source --wrap"} {
		binaryMatchesVirsh(t, bin, "-c", labURI(), c)
	}
}

// The lifecycle commands typed at the interactive shell, on a real pty,
// against a real QEMU guest: each step is checked against what libvirt then
// holds, and the shell keeps going after a failure.
func TestLabLifecycleInREPL(t *testing.T) {
	g := newLabGuest(t, labGuestOpts{Prefix: "repl"})
	s := startPTY(t, t.TempDir(), nil, "-c", labURI())
	s.expect("virtsh # ")

	step := func(line, want string, state libvirt.DomainState) {
		t.Helper()
		s.send(line + "\r")
		s.expect(want)
		s.expect("virtsh # ")
		if got := g.State(t); got != state {
			t.Fatalf("after %q libvirt holds state %d, want %d", line, got, state)
		}
	}
	step("start "+g.Name, "Domain '"+g.Name+"' started", libvirt.DOMAIN_RUNNING)
	step("suspend "+g.Name, "Domain '"+g.Name+"' suspended", libvirt.DOMAIN_PAUSED)
	step("domstate "+g.Name+" --reason", "paused (user)", libvirt.DOMAIN_PAUSED)
	step("resume "+g.Name, "Domain '"+g.Name+"' resumed", libvirt.DOMAIN_RUNNING)
	step("reboot "+g.Name, "Domain '"+g.Name+"' is being rebooted", libvirt.DOMAIN_RUNNING)
	// A failure prints virsh's lines and the shell lives on.
	step("start "+g.Name, "error: Domain is already active", libvirt.DOMAIN_RUNNING)
	step("destroy "+g.Name, "Domain '"+g.Name+"' destroyed", libvirt.DOMAIN_SHUTOFF)
	step("domstate "+g.Name+" --reason", "shut off (destroyed)", libvirt.DOMAIN_SHUTOFF)

	s.send("undefine " + g.Name + "\r")
	s.expect("Domain '" + g.Name + "' has been undefined")
	s.expect("virtsh # ")
	if _, err := g.Conn.LookupDomainByName(g.Name); err == nil {
		t.Fatalf("%s is still defined after undefine in the REPL", g.Name)
	}
	s.leave("quit\r")
}

// TestLabDominfoMatchesVirsh: dominfo asks its queries concurrently; on real
// QEMU guests (a running persistent one with autostart, a transient one, a
// shut-off one) and several in one command string, virtsh prints what virsh
// prints, security model and label included.
func TestLabDominfoMatchesVirsh(t *testing.T) {
	run := newLabGuest(t, labGuestOpts{Prefix: "dinfo", Start: true})
	if err := run.Dom.SetAutostart(true); err != nil {
		t.Fatal(err)
	}
	tr := newLabGuest(t, labGuestOpts{Prefix: "dinfo", Transient: true})
	off := newLabGuest(t, labGuestOpts{Prefix: "dinfo"})
	bin := virtshBinary(t)
	for _, c := range []string{"dominfo " + run.Name, "dominfo " + tr.Name, "dominfo " + off.Name,
		"dominfo " + run.Name + "; dominfo " + tr.Name + "; dominfo " + off.Name + "; dominfo " + run.Name,
		"dominfo vt-dinfo-nosuch; dominfo " + tr.Name} {
		for _, q := range [][]string{nil, {"-q"}} {
			binaryMatchesVirsh(t, bin, append(append([]string{"-c", labURI()}, q...), c)...)
		}
	}
}
