//go:build lab

package cmd

import (
	"regexp"
	"strings"
	"testing"

	"github.com/virtsh/virtsh/shell/blocknodes"
)

// qmpIDs are the ids libvirt gives its monitor commands, one more per
// command: the only part of a reply that differs between two runs.
var qmpIDs = regexp.MustCompile(`libvirt-[0-9]+`)

// TestLabQemuMonitorCommandSameAsVirsh: QMP and HMP commands on a running
// guest and on a shut-off one print what virsh prints (stdout, stderr,
// status), with virtsh's taint warning on stderr after each command QEMU
// got; only the wrapping of arguments that are no JSON reports the parse
// error in Go's words, not yajl's.
func TestLabQemuMonitorCommandSameAsVirsh(t *testing.T) {
	g := newLabGuest(t, labGuestOpts{Prefix: "qmon", Start: true})
	off := newLabGuest(t, labGuestOpts{Prefix: "qmoff"})
	warning := blocknodes.TaintWarning(g.Name) + "\n"
	cases := []struct {
		args []string
		sent bool // QEMU got the command: virtsh warns
	}{
		{[]string{"qemu-monitor-command", g.Name, "query-name"}, true},
		{[]string{"qemu-monitor-command", g.Name, `{"execute":"query-name"}`}, true},
		{[]string{"qemu-monitor-command", g.Name, "--pretty", "query-name"}, true},
		{[]string{"-q", "qemu-monitor-command", g.Name, "--pretty", "query-name"}, true},
		{[]string{"qemu-monitor-command", g.Name, "--pretty", "query-iothreads"}, true},
		{[]string{"qemu-monitor-command", g.Name, "--return-value", "query-name"}, true},
		{[]string{"qemu-monitor-command", g.Name, "--return-value", "--pretty", "query-iothreads"}, true},
		{[]string{"qemu-monitor-command", g.Name, "--pretty", `{"execute":"human-monitor-command","arguments":{"command-line":"info status"}}`}, true},
		{[]string{"qemu-monitor-command", g.Name, "--pretty", "query-version"}, true},
		{[]string{"qemu-monitor-command", g.Name, "--hmp", "info", "status"}, true},
		{[]string{"qemu-monitor-command", g.Name, "--hmp", "info status"}, true},
		{[]string{"qemu-monitor-command", g.Name, "query-named-block-nodes", `"flat":true`}, true},
		{[]string{"qemu-monitor-command", g.Name, "--pretty", "query-named-block-nodes", `{"flat":true}`}, true},
		// Not JSON: sent as a command name, which QEMU does not know.
		{[]string{"qemu-monitor-command", g.Name, `{"execute":"query-name"`}, true},
		{[]string{"qemu-monitor-command", g.Name, "no-such-command"}, true},
		{[]string{"qemu-monitor-command", g.Name, "--return-value", "no-such-command"}, true},
		{[]string{"qemu-monitor-command", g.Name, "--hmp", "--pretty", "info status"}, false},
		{[]string{"qemu-monitor-command", g.Name, "--hmp", "--return-value", "info status"}, false},
		{[]string{"qemu-monitor-command", g.Name, "--pass-fds", "x", "query-name"}, false},
		{[]string{"qemu-monitor-command", g.Name}, false},
		{[]string{"qemu-monitor-command", off.Name, "query-name"}, false},
		{[]string{"qemu-monitor-command", off.Name, "--hmp", "info status"}, false},
		{[]string{"qemu-monitor-command", "vt-no-such-guest", "query-name"}, false},
		{[]string{"-r", "qemu-monitor-command", g.Name, "query-name"}, false},
	}
	for _, c := range cases {
		out, errS, code := virtshLab(t, c.args...)
		vOut, vErr, vCode := runVirsh(t, c.args...)
		if c.sent {
			rest, ok := strings.CutPrefix(errS, warning)
			if !ok {
				t.Errorf("%q: stderr %q, want the taint warning first", c.args, errS)
			}
			errS = rest
		}
		if qmpIDs.ReplaceAllString(out, "ID") != qmpIDs.ReplaceAllString(vOut, "ID") || errS != vErr || code != vCode {
			t.Errorf("%q:\nvirtsh %d %q %q\nvirsh  %d %q %q", c.args, code, out, errS, vCode, vOut, vErr)
		}
	}

	// Arguments that do not wrap into an object: virsh's line, then the
	// parse error (yajl's text in virsh, Go's in virtsh), nothing sent.
	args := []string{"qemu-monitor-command", g.Name, "query-block-jobs", "x"}
	out, errS, code := virtshLab(t, args...)
	_, vErr, vCode := runVirsh(t, args...)
	first := "error: failed to wrap arguments 'x' into a QMP command wrapper\n"
	if code != vCode || !strings.HasPrefix(vErr, first) || !strings.HasPrefix(errS, first+"error: internal error: cannot parse json {x}: ") ||
		strings.Count(errS, "\n") != 2 || out != "\n" {
		t.Errorf("%q: virtsh %d %q %q; virsh %d %q", args, code, out, errS, vCode, vErr)
	}
}

// TestLabQemuMonitorCommandTaintsAndRefills: the first monitor command of a
// session warns that the guest is now tainted, and it is; later ones, and
// virtsh's own scrape, do not warn again. A QMP command may change the
// block nodes (blockdev-add here), so each marks the node-name cache stale:
// the next use fills it again, for that reason.
func TestLabQemuMonitorCommandTaintsAndRefills(t *testing.T) {
	g := newLabGuest(t, labGuestOpts{Prefix: "qtaint", Start: true})
	if tainted(t, g) {
		t.Fatal("a fresh guest is tainted already")
	}
	ls := newLabSession(t)
	if v := ls.dump(t, g.Name); v.Domains[0].Counters.Fills != 1 {
		t.Fatalf("first use: %+v, want one fill", v.Domains[0].Counters)
	}
	out, errS, ok := ls.run("qemu-monitor-command " + g.Name + ` '{"execute":"blockdev-add","arguments":{"driver":"null-co","node-name":"vt-null0"}}'`)
	if !ok || !strings.HasPrefix(out, `{"return":{}`) || errS != blocknodes.TaintWarning(g.Name)+"\n" {
		t.Fatalf("blockdev-add: ok=%v stdout %q stderr %q", ok, out, errS)
	}
	if !tainted(t, g) {
		t.Error("the guest is not tainted after qemu-monitor-command")
	}
	found := false
	for _, n := range namedBlockNodes(t, g) {
		found = found || n.Node == "vt-null0"
	}
	if !found {
		t.Error("QEMU has no node vt-null0 after blockdev-add")
	}
	v := ls.dump(t, g.Name)
	if d := v.Domains[0]; d.Counters.Fills != 2 || d.Last.Reason != blocknodes.ReasonMonitor {
		t.Errorf("after blockdev-add: counters %+v last fill %+v, want a second fill for %s", d.Counters, d.Last, blocknodes.ReasonMonitor)
	}
	if _, errS, ok := ls.run("qemu-monitor-command " + g.Name + " --hmp info status"); !ok || errS != "" {
		t.Errorf("second command: ok=%v stderr %q, want no second warning", ok, errS)
	}
	if _, errS, ok := ls.run("debug node-names " + g.Name + " --verify"); !ok || errS != "" {
		t.Errorf("debug node-names --verify after it: ok=%v stderr %q, want no warning", ok, errS)
	}
}

// TestLabQemuAgentCommandSameAsVirsh: the lab's guests run no OS, so no
// agent answers; what a user sees then, and for every refused option, is
// virsh's: a guest without an agent channel, one whose agent is not
// connected, a shut-off guest, bad timeouts and rival options.
func TestLabQemuAgentCommandSameAsVirsh(t *testing.T) {
	plain := newLabGuest(t, labGuestOpts{Prefix: "qga", Start: true})
	agent := newLabGuest(t, labGuestOpts{Prefix: "qgach", Start: true, Agent: true})
	off := newLabGuest(t, labGuestOpts{Prefix: "qgaoff"})
	ping := `{"execute":"guest-ping"}`
	cases := [][]string{
		{"qemu-agent-command", plain.Name, ping},
		{"qemu-agent-command", agent.Name, ping},
		{"qemu-agent-command", agent.Name, "--block", ping},
		{"qemu-agent-command", agent.Name, "--async", "--pretty", ping},
		{"qemu-agent-command", agent.Name, "--timeout", "3", ping},
		{"qemu-agent-command", agent.Name, "--timeout", " +3", ping},
		{"qemu-agent-command", agent.Name, "--timeout", "0", ping},
		{"qemu-agent-command", agent.Name, "--timeout", "-1", ping},
		{"qemu-agent-command", agent.Name, "--timeout", "abc", ping},
		{"qemu-agent-command", agent.Name, "--timeout", "2147483648", ping},
		{"qemu-agent-command", agent.Name, "--async", "--block", ping},
		{"qemu-agent-command", agent.Name, "--timeout", "5", "--async", ping},
		{"qemu-agent-command", agent.Name, "--timeout"},
		{"qemu-agent-command", agent.Name},
		{"qemu-agent-command", off.Name, ping},
		{"qemu-agent-command", "vt-no-such-guest", "--timeout", "0", ping},
		{"-r", "qemu-agent-command", agent.Name, ping},
	}
	for _, args := range cases {
		out, errS, code := virtshLab(t, args...)
		vOut, vErr, vCode := runVirsh(t, args...)
		if out != vOut || errS != vErr || code != vCode {
			t.Errorf("%q:\nvirtsh %d %q %q\nvirsh  %d %q %q", args, code, out, errS, vCode, vOut, vErr)
		}
	}
}
