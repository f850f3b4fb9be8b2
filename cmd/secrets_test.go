package cmd

import (
	"strings"
	"testing"
)

// TestNoSecretsOnScreen: the VNC password of guest "sec" (a secure field)
// appears only when --security-info asks for it: not in dumpxml (text, json,
// yaml, --inactive, --xpath), not in the domain copy inside
// checkpoint-dumpxml; and a read-only connection refuses --security-info as
// libvirt does (the password never reaches a read-only client).
func TestNoSecretsOnScreen(t *testing.T) {
	const pw = "s3cr3t-vnc-pw"
	ts := newTestShell(t, badInputNodeURI(t))
	ts.mustRun("checkpoint-create-as sec c1")
	hidden := []string{
		"dumpxml sec", "dumpxml sec --inactive", "dumpxml sec -o json", "dumpxml sec -o yaml",
		"dumpxml sec --xpath //graphics", "checkpoint-dumpxml sec c1",
	}
	for _, cmd := range hidden {
		out := ts.mustRun(cmd)
		if !strings.Contains(out, "graphics") {
			t.Errorf("%s: no graphics element at all, the test proves nothing:\n%s", cmd, out)
		}
		if strings.Contains(out, pw) || strings.Contains(out, "passwd") {
			t.Errorf("%s shows the password:\n%s", cmd, out)
		}
	}
	shown := []string{"dumpxml sec --security-info", "dumpxml sec --inactive --security-info", "checkpoint-dumpxml sec c1 --security-info"}
	for _, cmd := range shown {
		if out := ts.mustRun(cmd); !strings.Contains(out, "passwd='"+pw+"'") {
			t.Errorf("%s does not show the password:\n%s", cmd, out)
		}
	}
	// Read-only: libvirt refuses the secure flag; virtsh prints its message
	// (and nothing on stdout).
	for cmd, want := range map[string]string{
		"dumpxml sec --security-info": "error: operation forbidden: virDomainGetXMLDesc with secure flag\n",
	} {
		out, errS, code := runMain(t, "", "-r", "-q", "-c", badInputNodeURI(t), cmd)
		if out != "" || errS != want || code != 1 {
			t.Errorf("-r %s = (%q, %q, %d), want (\"\", %q, 1)", cmd, out, errS, code, want)
		}
	}
}
