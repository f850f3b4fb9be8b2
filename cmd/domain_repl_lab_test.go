//go:build lab

package cmd

import (
	"testing"

	"libvirt.org/go/libvirt"
)

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
	s.send("quit\r")
	if code := s.wait(); code != 0 {
		t.Fatalf("quit: exit status %d", code)
	}
}
