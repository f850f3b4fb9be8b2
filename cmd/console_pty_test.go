package cmd

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/creack/pty"
)

// startPTYBin runs bin (virtsh or the real virsh) with args on a new pty, as
// startPTY does for virtsh.
func startPTYBin(t *testing.T, bin string, args ...string) *ptySession {
	t.Helper()
	c := exec.Command(bin, args...)
	home := t.TempDir()
	c.Env = append(os.Environ(), "LC_ALL=C", "TERM=xterm", "HOME="+home, "XDG_CACHE_HOME="+home, "GORACE=atexit_sleep_ms=0")
	c.Dir = home
	ptmx, err := pty.StartWithSize(c, &pty.Winsize{Rows: 24, Cols: 100})
	if err != nil {
		t.Fatalf("starting %s on a pty: %v", bin, err)
	}
	return watchPTY(t, c, ptmx)
}

// polkitLine is what virsh (not virtsh) prints on a terminal when it cannot
// start a polkit agent; the comparisons leave it out.
const polkitLine = "Authorization not available. Check if polkit service is running or see debug message for more information.\n"

// consoleScreen is what a console session left on the terminal, without
// virsh's polkit line.
func consoleScreen(s *ptySession) string {
	return strings.Replace(s.screen(), polkitLine, "", 1)
}

// TestConsoleRefusalsThroughPTY: on a terminal, the console prints virsh's
// banner (with the -e escape) and then the driver's refusal, or refuses a
// shut-off guest before any banner; the terminal is left cooked and the
// status is 1, as with virsh. Off a terminal it refuses with virsh's words.
func TestConsoleRefusalsThroughPTY(t *testing.T) {
	bin := virtshBinary(t)
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"console", "test"}, "Connected to domain 'test'\nEscape character is ^] (Ctrl + ])\n" +
			"error: this function is not supported by the connection driver: virDomainOpenConsole\n\n"},
		{[]string{"-e", "^a", "console", "test", "serial0", "--force"}, "Connected to domain 'test'\nEscape character is ^a (Ctrl + a)\n" +
			"error: this function is not supported by the connection driver: virDomainOpenConsole\n\n"},
		{[]string{"-e", "~", "console", "test", "--safe"}, "Connected to domain 'test'\nEscape character is ~\n" +
			"error: this function is not supported by the connection driver: virDomainOpenConsole\n\n"},
		{[]string{"-q", "console", "test"}, "error: this function is not supported by the connection driver: virDomainOpenConsole\n"},
		{[]string{"destroy test; console test"}, "Domain 'test' destroyed\n\nerror: The domain is not running\n\n"},
		{[]string{"-e", "^^^", "console", "test"}, "error: Invalid string '^^^' for escape sequence\n"},
	}
	for _, c := range cases {
		args := append([]string{"-c", "test:///default"}, c.args...)
		var got [2]string
		var codes [2]int
		for i, b := range []string{bin, realVirsh} {
			s := startPTYBin(t, b, args...)
			codes[i] = s.wait()
			s.cooked()
			got[i] = consoleScreen(s)
		}
		if banner, _, ok := strings.Cut(c.want, ")\n"); ok && strings.HasPrefix(banner, "Connected") {
			got[1] = consoleAs9x(t, got[1], banner+")\n", c.want)
		} else if i := strings.Index(c.want, "Escape character is "); i >= 0 {
			if j := strings.Index(c.want[i:], "\n"); j >= 0 {
				got[1] = consoleAs9x(t, got[1], c.want[:i+j+1], c.want)
			}
		}
		if got[0] != c.want || codes[0] != 1 {
			t.Errorf("%q: virtsh %d %q, want 1 %q", c.args, codes[0], got[0], c.want)
		}
		if got[0] != got[1] || codes[0] != codes[1] {
			t.Errorf("%q: virtsh %d %q\nvirsh  %d %q", c.args, codes[0], got[0], codes[1], got[1])
		}
	}

	// Off a terminal (stdin a pipe): virsh's refusal, before any banner.
	args := []string{"-c", "test:///default", "console", "test"}
	out, errS, code := runBinary(t, "", nil, bin, args...)
	vOut, vErr, vCode := runBinary(t, "", nil, realVirsh, args...)
	if errS != "error: Cannot run interactive console without a controlling TTY\n" || code != 1 ||
		out != vOut || errS != vErr || code != vCode {
		t.Errorf("off a terminal: virtsh %d %q %q, virsh %d %q %q", code, out, errS, vCode, vOut, vErr)
	}
}
