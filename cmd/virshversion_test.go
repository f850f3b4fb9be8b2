package cmd

import (
	"fmt"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"

	"libvirt.org/go/libvirt"
)

// The side-by-side tests compare virtsh with the machine's own virsh, and
// virtsh follows virsh 9.x (Debian 12: 9.0). A newer virsh (Debian 13:
// 11.3) prints something else in a few places; each test that meets one
// names it, with the version it changed in (virshSince), and wants virsh
// 9.x's output there. Everything else is compared with the newer virsh as
// it is.

var realVirshVersion = sync.OnceValues(func() ([2]int, error) {
	out, err := exec.Command(realVirsh, "--version").Output()
	if err != nil {
		return [2]int{}, fmt.Errorf("%s --version: %v", realVirsh, err)
	}
	var v [2]int
	if _, err := fmt.Sscanf(strings.TrimSpace(string(out)), "%d.%d", &v[0], &v[1]); err != nil {
		return v, fmt.Errorf("%s --version printed %q", realVirsh, out)
	}
	return v, nil
})

// virshSince: is the machine's virsh major.minor or newer?
func virshSince(t testing.TB, major, minor int) bool {
	t.Helper()
	v, err := realVirshVersion()
	if err != nil {
		t.Fatal(err)
	}
	return v[0] > major || v[0] == major && v[1] >= minor
}

// libvirtSince: is the libvirt library virtsh runs on major.minor or newer?
// (Messages libvirt itself writes, which virtsh passes on.)
func libvirtSince(t testing.TB, major, minor int) bool {
	t.Helper()
	v, err := libvirt.GetVersion()
	if err != nil {
		t.Fatal(err)
	}
	return v >= uint32(major)*1_000_000+uint32(minor)*1_000
}

// xmlErrorAt is how libvirt words an XML syntax error at line n: libvirt 9.0
// names the document, "(domain_definition):1: ..."; newer ones (11.3) say
// "at line 1: ..." (both then quote the line and a caret).
func xmlErrorAt(t testing.TB, n int) string {
	t.Helper()
	if libvirtSince(t, 10, 0) {
		return fmt.Sprintf("at line %d: ", n)
	}
	return fmt.Sprintf("(domain_definition):%d: ", n)
}

var autostartOnceLine = regexp.MustCompile(`(?m)^Autostart Once: .*\n`)

// virshAs9x turns what the machine's virsh printed for args into what virsh
// 9.x prints, for binaryMatchesVirsh's commands:
//   - virsh 11.2 added "Autostart Once:" to dominfo (virDomainGetAutostartOnce);
//   - virsh 10.7 prints a table for list --table --uuid, 9.x refuses it.
func virshAs9x(t testing.TB, args []string, out, errS string, code int) (string, string, int) {
	t.Helper()
	if virshSince(t, 11, 2) {
		out = autostartOnceLine.ReplaceAllString(out, "")
	}
	if n := len(args); n > 0 && args[n-1] == "list --table --uuid" && virshSince(t, 10, 7) {
		out, errS, code = "\n", "error: Options --table and --uuid are mutually exclusive\n", 1
		if n > 1 && args[n-2] == "-q" {
			out = ""
		}
	}
	return out, errS, code
}

// virsh9xOnly says why a line's output is version-dependent where the
// machine's virsh is newer than 9.x and prints something 9.x does not, so
// the comparison holds against virsh 9.x only (Debian 12) and is not made
// here; "" when the outputs are comparable. The differences, seen with 11.3:
//   - a missing required option: 9.x reports every one, newer virsh the
//     first only;
//   - a bare word after the data options: 9.x fills the next string option
//     with it (attach-disk SOURCE TARGET DRIVER ...), newer virsh says
//     "unexpected data";
//   - change-media --print-xml with a new source: newer virsh (its libxml2)
//     puts the <source> element last;
//   - migrate's --copy-storage-all with --copy-storage-inc: 9.x names the
//     VIR_MIGRATE_ flags, newer virsh the options.
func virsh9xOnly(t testing.TB, args []string, virshStderr, virtshStderr string) string {
	t.Helper()
	if !virshSince(t, 10, 0) || virshStderr == virtshStderr && !strings.Contains(strings.Join(args, " "), "change-media") {
		return ""
	}
	line := strings.Join(args, " ")
	switch {
	case strings.Contains(virshStderr, "' requires <") || strings.Contains(virshStderr, "' requires --"):
		return "virsh 9.x reports every missing required option"
	case strings.Contains(virshStderr, "error: unexpected data '"):
		return "virsh 9.x fills the next string option with a bare word"
	case strings.Contains(line, "change-media") && strings.Contains(line, "--print-xml") && !strings.Contains(line, "--eject"):
		return "virsh 9.x keeps <source> in the disk element's order"
	case strings.Contains(virshStderr, " are mutually exclusive") && strings.Contains(virtshStderr, "Flags 'VIR_"):
		return "virsh 9.x names the libvirt flags that exclude each other"
	case strings.Contains(virtshStderr, "'copy-storage-inc'") && strings.Contains(virshStderr, "'--copy-storage-inc'"):
		return "virsh 9.x names --copy-storage-inc without its dashes in --copy-storage-synchronous-writes' requirement"
	}
	return ""
}

// consoleAs9x is what virsh 9.x prints for a console that fails to open:
// its banner first, then the error. virsh 10 and later open the console
// before the banner, so a failed open prints the error alone.
func consoleAs9x(t testing.TB, virshScreen, banner, want string) string {
	t.Helper()
	if virshSince(t, 10, 0) && strings.HasPrefix(want, banner) && !strings.HasPrefix(virshScreen, banner) {
		return banner + virshScreen
	}
	return virshScreen
}
