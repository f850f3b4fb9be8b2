//go:build lab

package cmd

import (
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// Block jobs typed at the interactive shell on a real pseudo-terminal: the
// live progress bar, the final messages, Ctrl-C aborting a throttled wait
// and giving the prompt back, and the shell working on afterwards. Then
// libvirt's chain and the data are checked.

// expectRE waits until re matches the pty output after the last expect()
// match (the pty helpers only look for fixed text; a bar's numbers vary).
func expectRE(t *testing.T, s *ptySession, re *regexp.Regexp) string {
	t.Helper()
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		scr := s.screen()
		if m := re.FindString(scr[min(s.mark, len(scr)):]); m != "" {
			return m
		}
	}
	t.Fatalf("timed out waiting for %v; output after last match:\n%q", re, s.screen()[min(s.mark, len(s.screen())):])
	return ""
}

func TestLabBlockJobsInREPLThroughPTY(t *testing.T) {
	g, base, s1, s2 := layeredGuest(t, "replpty", 1)
	g.GuestWrite(t, "vda", 0xd4, "3M", "1M") // s2 holds 2 MiB: ~2 s at 1 MiB/s
	dest := filepath.Join(g.Dir, "copy.qcow2")

	s := startPTY(t, t.TempDir(), nil, "-c", labURI())
	s.expect(ptyBanner + "virtsh # ")

	// A throttled active commit, Ctrl-C once the bar shows progress: the
	// job is aborted, the shell prints virsh's message and a new prompt.
	s.send("blockcommit " + g.Name + " vda --active --bandwidth 1 --wait --verbose\r")
	// percent, bar, bytes done of total ("( 0 B/3.0 MiB)", "(1.5/3.0 MiB, ...")
	expectRE(t, s, regexp.MustCompile(`Block commit +\d+% \|[^|]*\| \( ?[0-9.]+( [KMG]?i?B)?/[0-9.]+ MiB`))
	s.send("\x03")
	s.expect("\nCommit aborted\n")
	s.expect("virtsh # ")
	s.alive()
	noJob(t, g, "vda")
	wantChain(t, g, "vda", s2, s1, base)

	// The shell keeps working: the next command runs.
	s.send("domblklist " + g.Name + "\r")
	s.expect(" vda      " + s2 + "\n")
	s.expect("virtsh # ")

	// The same commit unthrottled, with pivot: the bar reaches 100 % with
	// the byte counts, then virsh's message; the disk is now on base.
	s.send("blockcommit " + g.Name + " vda --active --pivot --wait --verbose\r")
	expectRE(t, s, regexp.MustCompile(`Block commit +100% \|[^|]*\| \( ?[0-9.]+( [KMG]?i?B)?/[0-9.]+ [KMG]?i?B`))
	s.expect("\nSuccessfully pivoted\n")
	s.expect("virtsh # ")
	wantChain(t, g, "vda", base)
	noJob(t, g, "vda")

	// A copy waited for in the shell reaches the mirroring phase; a pivot
	// from the same shell moves the disk onto the copy.
	s.send("blockcopy " + g.Name + " vda " + dest + " --format qcow2 --transient-job --wait --verbose\r")
	expectRE(t, s, regexp.MustCompile(`Block Copy +100% \|[^|]*\| \( ?[0-9.]+( [KMG]?i?B)?/[0-9.]+ [KMG]?i?B`))
	s.expect("\nNow in mirroring phase\n")
	s.expect("virtsh # ")
	s.send("blockjob " + g.Name + " vda --pivot\r")
	// readline redraws the prompt as keys are typed: wait for the line to
	// end, then for the next prompt.
	s.expect(" vda --pivot\n")
	s.expect("virtsh # ")
	wantChain(t, g, "vda", dest)
	noJob(t, g, "vda")

	s.send("quit\r")
	if code := s.wait(); code != 0 {
		t.Errorf("quit: exit status %d", code)
	}
	s.cooked()
	if strings.Contains(s.screen(), "error:") {
		t.Errorf("an error was printed:\n%q", s.screen())
	}
	stopGuest(t, g)
	// Every layer's data: in base after the commit, and in the full copy.
	for _, img := range []string{base, dest} {
		qemuIO(t, img, "read -P 0xa1 0 1M", "read -P 0xb2 1M 1M", "read -P 0xc3 2M 1M", "read -P 0xd4 3M 1M")
	}
	qemuImg(t, "compare", "-q", base, dest)
}
