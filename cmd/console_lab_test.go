//go:build lab

package cmd

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
	"libvirt.org/go/libvirt"
)

// consoleBanner is what console prints once it is connected.
func consoleBanner(name string) string {
	return "Connected to domain '" + name + "'\nEscape character is ^] (Ctrl + ])\n"
}

// raw fails the test unless the terminal is in raw mode (no echo, no line
// editing, no signals from keys), as the console puts it.
func (s *ptySession) raw() {
	s.t.Helper()
	tio, err := unix.IoctlGetTermios(int(s.ptmx.Fd()), unix.TCGETS)
	if err != nil {
		s.t.Fatalf("reading terminal mode: %v", err)
	}
	if tio.Lflag&(unix.ICANON|unix.ECHO|unix.ISIG) != 0 {
		s.t.Errorf("terminal not raw during the console: lflag=%#x", tio.Lflag)
	}
}

// guestBoots resets the guest and waits for what its BIOS prints on the
// serial line to come through the console: the stream flows, and the
// terminal is raw by then.
func guestBoots(t *testing.T, g *labGuest, s *ptySession) {
	t.Helper()
	if err := g.Dom.Reset(0); err != nil {
		t.Fatalf("reset: %v", err)
	}
	s.expect("SeaBIOS")
	s.expect("No bootable device.")
	s.raw()
}

// TestLabConsoleEscapeThroughPTY: on the guest's serial console, virtsh
// and virsh print the same banner, pass the guest's output through, and
// end with status 0 on ^] (or the -e key), the terminal cooked again.
func TestLabConsoleEscapeThroughPTY(t *testing.T) {
	g := newLabGuest(t, labGuestOpts{Prefix: "con", Start: true, SerialBIOS: true})
	for _, bin := range []string{virtshBinary(t), realVirsh} {
		s := startPTYBin(t, bin, "-c", labURI(), "console", g.Name)
		s.expect(consoleBanner(g.Name))
		guestBoots(t, g, s)
		s.send("\x1d")
		if code := s.wait(); code != 0 {
			t.Errorf("%s: ^] ended with %d; output %q", bin, code, s.screen())
		}
		s.cooked()

		s = startPTYBin(t, bin, "-e", "^t", "-c", labURI(), "console", g.Name, "serial0")
		s.expect("Connected to domain '" + g.Name + "'\nEscape character is ^t (Ctrl + t)\n")
		guestBoots(t, g, s)
		s.send("\x14")
		if code := s.wait(); code != 0 {
			t.Errorf("%s: ^t ended with %d; output %q", bin, code, s.screen())
		}
		s.cooked()
	}
}

// TestLabConsoleEndsThroughPTY: the ways a console ends other than the
// escape key, each as virsh ends it: another client's --force takes the
// console over (the first gets the stream's I/O failure, status 1), a second
// client without --force is refused, the guest destroyed ends it with
// status 0; a device that does not exist and a shut-off guest are errors.
// The terminal is cooked again after each.
func TestLabConsoleEndsThroughPTY(t *testing.T) {
	g := newLabGuest(t, labGuestOpts{Prefix: "conend", Start: true, SerialBIOS: true})
	off := newLabGuest(t, labGuestOpts{Prefix: "conoff", SerialBIOS: true})
	bin := virtshBinary(t)
	tools := [][2]string{{bin, realVirsh}, {realVirsh, bin}}
	for _, tt := range tools {
		first, second := tt[0], tt[1]
		a := startPTYBin(t, first, "-c", labURI(), "console", g.Name)
		a.expect(consoleBanner(g.Name))
		guestBoots(t, g, a)

		b := startPTYBin(t, second, "-c", labURI(), "console", g.Name)
		if code := b.wait(); code != 1 || !strings.HasSuffix(b.screen(), consoleBanner(g.Name)+
			"error: operation failed: Active console session exists for this domain\n\n") {
			t.Errorf("%s beside %s: status %d, output %q", second, first, code, b.screen())
		}
		b.cooked()
		a.alive()

		b = startPTYBin(t, second, "-c", labURI(), "console", g.Name, "--force")
		b.expect(consoleBanner(g.Name))
		if code := a.wait(); code != 1 || !strings.HasSuffix(a.screen(), "error: stream had I/O failure\n\n") {
			t.Errorf("%s taken over by %s --force: status %d, output %q", first, second, code, a.screen())
		}
		a.cooked()

		guestBoots(t, g, b) // the new holder gets the guest's output
		before := b.screen()
		if err := g.Dom.Destroy(); err != nil {
			t.Fatal(err)
		}
		if code := b.wait(); code != 0 || b.screen() != before+"\n" {
			t.Errorf("%s: guest destroyed: status %d, output after it %q", second, code, strings.TrimPrefix(b.screen(), before))
		}
		b.cooked()
		if err := g.Dom.Create(); err != nil {
			t.Fatal(err)
		}
	}

	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"console", g.Name, "nosuchdev"}, consoleBanner(g.Name) + "error: internal error: cannot find character device nosuchdev\n\n"},
		{[]string{"console", off.Name}, "error: The domain is not running\n\n"},
		{[]string{"-r", "console", g.Name}, consoleBanner(g.Name) + "error: operation forbidden: read only access prevents virDomainOpenConsole\n\n"},
	} {
		for _, b := range []string{bin, realVirsh} {
			s := startPTYBin(t, b, append([]string{"-c", labURI()}, c.args...)...)
			code, got := s.wait(), consoleScreen(s)
			if b == realVirsh {
				got = consoleAs9x(t, got, consoleBanner(g.Name), c.want)
			}
			if code != 1 || got != c.want {
				t.Errorf("%s %q: status %d %q, want 1 %q", b, c.args, code, got, c.want)
			}
			s.cooked()
		}
	}
}

// TestLabStartConsoleThroughPTY: start --console and create --console start
// the guest, then are its console from the first line the BIOS prints, as
// virsh's; off a terminal the guest starts and the console is refused.
func TestLabStartConsoleThroughPTY(t *testing.T) {
	g := newLabGuest(t, labGuestOpts{Prefix: "constart", SerialBIOS: true})
	xml, err := g.Dom.GetXMLDesc(0)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(g.Dir, "guest.xml")
	if err := os.WriteFile(file, []byte(xml), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, bin := range []string{virtshBinary(t), realVirsh} {
		for _, c := range []struct{ args []string }{
			{[]string{"start", g.Name, "--console"}},
			{[]string{"create", file, "--console"}}, // starts the defined guest with this XML
		} {
			s := startPTYBin(t, bin, append([]string{"-c", labURI()}, c.args...)...)
			done := "Domain '" + g.Name + "' started\n"
			if c.args[0] == "create" {
				done = "Domain '" + g.Name + "' created from " + file + "\n"
			}
			s.expect(done + consoleBanner(g.Name))
			s.expect("SeaBIOS")
			s.expect("No bootable device.")
			s.send("\x1d")
			if code := s.wait(); code != 0 {
				t.Errorf("%s %q: status %d; output %q", bin, c.args, code, s.screen())
			}
			s.cooked()
			stopGuest(t, g)
		}
	}
	out, errS, code := virtshLab(t, "start", g.Name, "--console")
	if code != 1 || out != "Domain '"+g.Name+"' started\n\n" || errS != "error: Cannot run interactive console without a controlling TTY\n" {
		t.Errorf("start --console off a terminal: %d %q %q", code, out, errS)
	}
	if g.State(t) != libvirt.DOMAIN_RUNNING {
		t.Error("start --console off a terminal did not start the guest")
	}
}

// TestLabConsoleInShellThroughPTY: in the interactive shell the console
// gives the terminal back to the line editor: the prompt returns, the next
// command typed runs. SIGTERM during a console (which virsh ignores until
// ^]) ends virtsh as it does at any command, 128+15, the terminal cooked.
func TestLabConsoleInShellThroughPTY(t *testing.T) {
	g := newLabGuest(t, labGuestOpts{Prefix: "conrepl", Start: true, SerialBIOS: true})
	s := startPTY(t, t.TempDir(), nil, "-q", "-c", labURI())
	s.expect("virtsh # ")
	s.send("console " + g.Name + "\r")
	guestBoots(t, g, s)
	s.send("\x1d")
	s.expect("virtsh # ")
	s.send("domstate " + g.Name + "\r")
	s.expect("running\n")
	s.leave("quit\r")

	s = startPTY(t, t.TempDir(), nil, "-c", labURI(), "console", g.Name)
	s.expect(consoleBanner(g.Name))
	guestBoots(t, g, s)
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := s.wait(); code != 128+int(syscall.SIGTERM) {
		t.Errorf("SIGTERM during the console: status %d, want %d; output %q", code, 128+int(syscall.SIGTERM), s.screen())
	}
	s.cooked()
}
