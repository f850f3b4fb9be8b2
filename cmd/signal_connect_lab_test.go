//go:build lab

package cmd

import (
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"libvirt.org/go/libvirt"
)

// TestLabSignalWhileConnectingToFrozenDaemon: a one-shot command whose
// daemon is frozen (SIGSTOP) hangs in the connect; SIGTERM and SIGINT still
// end it at once, by that signal (the shell sees 128+N), as SIGTERM ends
// virsh. Keepalive cannot help here: it starts only once connected.
func TestLabSignalWhileConnectingToFrozenDaemon(t *testing.T) {
	bin := virtshBinary(t)
	d := newPrivateDaemon(t)
	d.signal(syscall.SIGSTOP)
	defer d.signal(syscall.SIGCONT)
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP} {
		c := exec.Command(bin, "-c", d.URI(), "list", "--all")
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		// Long enough to be inside the connect (the daemon never answers).
		time.Sleep(700 * time.Millisecond)
		_ = c.Process.Signal(sig)
		if _, exited := waitExit(t, c, 1*time.Second); !exited {
			_ = c.Process.Kill()
			t.Errorf("%v while connecting to a frozen daemon: still running 1 s later", sig)
			continue
		}
		ws := c.ProcessState.Sys().(syscall.WaitStatus)
		if !ws.Signaled() || ws.Signal() != sig {
			t.Errorf("%v while connecting: exit status %v, want death by %v (exit %d in a shell)", sig, c.ProcessState, sig, 128+int(sig))
		}
	}
}

// TestLabREPLCancelledCommandNeverRuns: in the REPL, keepalive has dropped
// the connection of a frozen daemon; `suspend test` waits in the reconnect
// (which nothing can interrupt) and the user presses Ctrl-C. When the daemon
// wakes up the reconnect completes, but the cancelled command does not run:
// the guest is still running.
func TestLabREPLCancelledCommandNeverRuns(t *testing.T) {
	d := newPrivateDaemon(t)
	uri := d.URI()
	s := startPTY(t, t.TempDir(), []string{"XDG_CONFIG_HOME=" + t.TempDir()}, "-k", "1", "-K", "2", "-c", uri)
	s.expect("virtsh # ")
	s.send("uri\r")
	s.expect(uri)
	d.signal(syscall.SIGSTOP)
	s.expect("due to keepalive timeout")
	s.send("suspend test\r")
	time.Sleep(time.Second) // inside the reconnect by now
	s.send("\x03")
	time.Sleep(300 * time.Millisecond)
	d.signal(syscall.SIGCONT)
	s.expect("error: Reconnected to the hypervisor")
	s.send("domstate test\r")
	s.expect("running")
	s.leave("quit\r")
	conn, err := libvirt.NewConnect(uri)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	dom, err := conn.LookupDomainByName("test")
	if err != nil {
		t.Fatal(err)
	}
	defer dom.Free()
	if st, _, err := dom.GetState(); err != nil || st != libvirt.DOMAIN_RUNNING {
		t.Errorf("guest state after the cancelled suspend: %v (%v), want running; screen:\n%s", st, err, s.screen())
	}
	if strings.Contains(s.screen(), "suspended") {
		t.Errorf("the cancelled suspend ran:\n%s", s.screen())
	}
	t.Logf("screen:\n%s", s.screen())
}
