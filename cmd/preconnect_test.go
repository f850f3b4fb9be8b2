package cmd

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/virtsh/virtsh/format"
	"github.com/virtsh/virtsh/shell"
)

// earlyinit.c's list of commands that get no early connection must be the
// commands that never use one (annNoConnect) plus the completion entry
// points; every other command gets one.
func TestPreconnectSkipsNoConnectCommands(t *testing.T) {
	sess := shell.NewSession(&format.IO{}, shell.Options{URI: "test:///default"})
	defer sess.Close()
	for _, c := range NewRoot(sess).Commands() {
		noConn := c.Annotations[annNoConnect] != "" || c.Name() == "completion"
		if got := shell.PreconnectSkips(c.Name()); got != noConn {
			t.Errorf("%s: earlyinit.c skips it = %v, but it needs no connection = %v", c.Name(), got, noConn)
		}
	}
	for _, name := range []string{"__complete", "__completeNoDesc"} {
		if !shell.PreconnectSkips(name) {
			t.Errorf("%s: earlyinit.c would open a connection for a completion request", name)
		}
	}
}

// A one-shot command's connection is the one opened while virtsh started,
// when the command line allows it; otherwise virtsh connects as before. The
// session log (VIRSH_LOG_FILE) says which.
func TestPreconnectTaken(t *testing.T) {
	bin := virtshBinary(t)
	cases := []struct {
		name  string
		env   []string
		args  []string
		early bool
	}{
		{"-c URI CMD", nil, []string{"-c", "test:///default", "domstate", "test"}, true},
		{"--connect=URI CMD", nil, []string{"--connect=test:///default", "domstate", "test"}, true},
		{"VIRTSH_DEFAULT_CONNECT_URI", []string{"VIRTSH_DEFAULT_CONNECT_URI=test:///default"}, []string{"domstate", "test"}, true},
		{"LIBVIRT_DEFAULT_URI", []string{"LIBVIRT_DEFAULT_URI=test:///default"}, []string{"domstate", "test"}, true},
		{"-q -c URI CMD", nil, []string{"-q", "-c", "test:///default", "domstate", "test"}, true},
		{"-c URI -q CMD", nil, []string{"-c", "test:///default", "--quiet", "domstate", "test"}, true},
		{"read-only", nil, []string{"-r", "-c", "test:///default", "domstate", "test"}, false},
		{"command string", nil, []string{"-c", "test:///default", "domstate test; domstate test"}, false},
		{"opted out", []string{"VIRTSH_NO_PRECONNECT=1"}, []string{"-c", "test:///default", "domstate", "test"}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			logf := filepath.Join(t.TempDir(), "log")
			env := append([]string{"VIRSH_LOG_FILE=" + logf, "VIRTSH_DEFAULT_CONNECT_URI=", "VIRSH_DEFAULT_CONNECT_URI=", "LIBVIRT_DEFAULT_URI="}, c.env...)
			out, errS, code := runBinary(t, "", env, bin, c.args...)
			if code != 0 || !strings.HasPrefix(out, "running") {
				t.Fatalf("virtsh %q = %q %q (exit %d)", c.args, out, errS, code)
			}
			b, _ := os.ReadFile(logf)
			if got := strings.Contains(string(b), "(opened while virtsh started)"); got != c.early {
				t.Errorf("early connection used = %v, want %v; log:\n%s", got, c.early, b)
			}
			if !strings.Contains(string(b), "connected to '") {
				t.Errorf("the log shows no connection:\n%s", b)
			}
		})
	}
}
