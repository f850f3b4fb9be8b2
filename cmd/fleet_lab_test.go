//go:build lab

package cmd

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"libvirt.org/go/libvirt"
	"libvirt.org/go/libvirtxml"
)

// The fleet lab: the lab host (qemu:///system, "local") and two more hosts
// on this machine, started by scripts/lab-hosts (each a libvirtd in its own
// mount namespace on 127.0.0.2 and 127.0.0.3), named by uri_aliases in a
// libvirt.conf of the test's own. virtsh reads libvirt.conf where libvirt
// does — /etc/libvirt/libvirt.conf for root — so virtsh runs as its own
// process in a private mount namespace with the test's file bound there: the
// machine's file is never touched.

type fleetHost struct {
	name, uri string
	pidFile   string // the extra hosts' libvirtd pid file
	conn      *libvirt.Connect
}

type fleetLab struct {
	t     *testing.T
	hosts []fleetHost
	conf  string // the test's libvirt.conf
}

// newFleetLab starts (or reuses) the two extra hosts and writes the aliases
// local, lab2, lab3.
func newFleetLab(t *testing.T) *fleetLab {
	t.Helper()
	return newFleetLabOn(t, 2, 3)
}

// newFleetLabOn is newFleetLab with the extra hosts first..last
// (127.0.0.first ..., named labN): scripts/lab-hosts starts (or reuses)
// hosts 2..last.
func newFleetLabOn(t *testing.T, first, last int) *fleetLab {
	t.Helper()
	n := strconv.Itoa(last - 1)
	out, err := exec.Command("../scripts/lab-hosts", "start", n).CombinedOutput()
	if err != nil {
		t.Fatalf("scripts/lab-hosts start %s: %v\n%s", n, err, out)
	}
	dir := os.Getenv("VIRTSH_LAB_HOSTS_DIR")
	if dir == "" {
		dir = "/var/tmp/virtsh-lab-hosts"
	}
	fl := &fleetLab{t: t, hosts: []fleetHost{{name: "local", uri: labURI(), conn: labConn(t)}}}
	for k := first; k <= last; k++ {
		h := fleetHost{name: fmt.Sprintf("lab%d", k), uri: fmt.Sprintf("qemu+tcp://127.0.0.%d/system", k),
			pidFile: filepath.Join(dir, fmt.Sprintf("h%d", k), "run", "libvirtd.pid")}
		c, err := libvirt.NewConnect(h.uri)
		if err != nil {
			t.Fatalf("lab host %s: %v", h.uri, err)
		}
		t.Cleanup(func() { _, _ = c.Close() })
		h.conn = c
		fl.hosts = append(fl.hosts, h)
	}
	var b strings.Builder
	b.WriteString("uri_aliases = [\n")
	for _, h := range fl.hosts {
		fmt.Fprintf(&b, "  %q,\n", h.name+"="+h.uri)
	}
	b.WriteString("]\n")
	fl.conf = filepath.Join(t.TempDir(), "libvirt.conf")
	if err := os.WriteFile(fl.conf, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return fl
}

func (fl *fleetLab) host(name string) fleetHost {
	for _, h := range fl.hosts {
		if h.name == name {
			return h
		}
	}
	fl.t.Fatalf("no host %s", name)
	return fleetHost{}
}

// virtsh runs the virtsh binary with the test's libvirt.conf in place of
// /etc/libvirt/libvirt.conf (in a mount namespace of its own).
func (fl *fleetLab) virtsh(stdin string, args ...string) (stdout, stderr string, code int) {
	fl.t.Helper()
	bin := virtshBinary(fl.t)
	script := `mount --bind "$0" /etc/libvirt/libvirt.conf && exec "$@"`
	all := append([]string{"--mount", "--propagation", "private", "sh", "-c", script, fl.conf, bin}, args...)
	return runBinary(fl.t, stdin, nil, "unshare", all...)
}

// guest defines a guest on the host, with the name given or a fresh one.
func (fl *fleetLab) guest(h fleetHost, prefix string, start bool) *labGuest {
	fl.t.Helper()
	return newLabGuest(fl.t, labGuestOpts{Prefix: prefix, DiskMiB: 8, Conn: h.conn, Start: start})
}

// freeze SIGSTOPs the host's libvirtd until the returned func (also run at
// cleanup) SIGCONTs it.
func (fl *fleetLab) freeze(h fleetHost) func() {
	fl.t.Helper()
	b, err := os.ReadFile(h.pidFile)
	if err != nil {
		fl.t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		fl.t.Fatal(err)
	}
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		fl.t.Fatal(err)
	}
	thaw := func() { _ = syscall.Kill(pid, syscall.SIGCONT) }
	fl.t.Cleanup(thaw)
	return thaw
}

// tableRows parses a virsh table into rows of fields (header and dash line
// dropped).
func tableRows(t *testing.T, out string) [][]string {
	t.Helper()
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if len(lines) < 2 || strings.Trim(lines[1], "-") != "" {
		t.Fatalf("not a table:\n%s", out)
	}
	var rows [][]string
	for _, l := range lines[2:] {
		if strings.TrimSpace(l) == "" {
			continue
		}
		// State "shut off" has a space: Id and Name are single words.
		f := strings.Fields(l)
		rows = append(rows, f)
	}
	return rows
}

// ours keeps the rows whose name (at index col) is one of the test's guests:
// other tests run guests on the lab host at the same time.
func ours(rows [][]string, col int, names map[string]bool) [][]string {
	var out [][]string
	for _, r := range rows {
		if len(r) > col && names[r[col]] {
			out = append(out, r)
		}
	}
	return out
}

// TestLabFleetListAllHosts: `--hosts all list --all` lists every guest of
// the three hosts once, with its host, in the hosts' order, as virsh lists
// each host; -o json likewise, with "host".
func TestLabFleetListAllHosts(t *testing.T) {
	fl := newFleetLab(t)
	names := map[string]bool{}
	for i, h := range fl.hosts {
		g := fl.guest(h, "fleet", i == 1) // lab2's runs, the others are shut off
		names[g.Name] = true
		g2 := fl.guest(h, "fleet", false)
		names[g2.Name] = true
	}

	out, errS, code := fl.virtsh("", "--hosts", "all", "list", "--all")
	if code != 0 || errS != "" {
		t.Fatalf("exit %d, stderr %q", code, errS)
	}
	if !strings.HasPrefix(out, " Host ") {
		t.Fatalf("no Host column first:\n%s", out)
	}
	got := ours(tableRows(t, out), 2, names)
	var want [][]string
	for _, h := range fl.hosts {
		vout, verr, err := runTool("virsh", "-c", h.uri, "list", "--all")
		if err != nil {
			t.Fatalf("virsh -c %s list --all: %v %s", h.uri, err, verr)
		}
		for _, r := range ours(tableRows(t, vout), 1, names) {
			want = append(want, append([]string{h.name}, r...))
		}
	}
	if len(got) != len(names) || !reflect.DeepEqual(got, want) {
		t.Fatalf("virtsh --hosts all list --all, our guests:\n%q\nvirsh -c H list --all per host:\n%q\nfull output:\n%s", got, want, out)
	}

	out, errS, code = fl.virtsh("", "--hosts", "all", "list", "--all", "-o", "json")
	if code != 0 || errS != "" {
		t.Fatalf("-o json: exit %d, stderr %q", code, errS)
	}
	var list []map[string]any
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatalf("-o json: %v\n%s", err, out)
	}
	var gotJSON [][]string
	for _, v := range list {
		if n, _ := v["name"].(string); names[n] {
			id := "-"
			if f, ok := v["id"].(float64); ok {
				id = strconv.Itoa(int(f))
			}
			gotJSON = append(gotJSON, append([]string{v["host"].(string), id, n}, strings.Fields(v["state"].(string))...))
		}
	}
	if !reflect.DeepEqual(gotJSON, want) {
		t.Fatalf("-o json, our guests:\n%q\nwant:\n%q", gotJSON, want)
	}
	if !strings.HasPrefix(strings.TrimSpace(out), "[\n  {\n    \"host\": ") {
		t.Fatalf("\"host\" is not each object's first key:\n%s", out)
	}
}

// TestLabFleetFrozenHost: a SIGSTOPped host answers nothing; the command
// returns within --host-timeout + 1 s with the other hosts' guests and
// `error: lab2: ...`, exit 1; after SIGCONT the next command sees it again.
func TestLabFleetFrozenHost(t *testing.T) {
	fl := newFleetLab(t)
	on := map[string]string{}
	names := map[string]bool{}
	for _, h := range fl.hosts {
		g := fl.guest(h, "fleetstop", false)
		on[g.Name], names[g.Name] = h.name, true
	}
	thaw := fl.freeze(fl.host("lab2"))

	const timeout = 2 * time.Second
	start := time.Now()
	out, errS, code := fl.virtsh("", "--hosts", "all", "--host-timeout", "2", "list", "--all")
	took := time.Since(start)
	if took > timeout+time.Second {
		t.Errorf("took %s with a frozen host, want at most --host-timeout + 1 s", took)
	}
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	if errS != "error: lab2: no answer within 2s\n" {
		t.Errorf("stderr %q", errS)
	}
	got := map[string]string{}
	for _, r := range ours(tableRows(t, out), 2, names) {
		got[r[2]] = r[0]
	}
	for n, h := range on {
		if h == "lab2" {
			if _, ok := got[n]; ok {
				t.Errorf("frozen lab2's guest %s listed", n)
			}
		} else if got[n] != h {
			t.Errorf("guest %s of %s: listed on %q\n%s", n, h, got[n], out)
		}
	}

	thaw()
	out, errS, code = fl.virtsh("", "--hosts", "all", "list", "--all")
	if code != 0 || errS != "" {
		t.Fatalf("after SIGCONT: exit %d, stderr %q", code, errS)
	}
	got = map[string]string{}
	for _, r := range ours(tableRows(t, out), 2, names) {
		got[r[2]] = r[0]
	}
	if !reflect.DeepEqual(got, on) {
		t.Fatalf("after SIGCONT: %v, want %v", got, on)
	}
}

// TestLabFleetStartRoutes: `--hosts all start GUEST` starts the guest on the
// one host that has it; a name defined on two hosts is refused, naming both,
// and started nowhere.
func TestLabFleetStartRoutes(t *testing.T) {
	fl := newFleetLab(t)
	g := fl.guest(fl.host("lab3"), "fleetstart", false)
	out, errS, code := fl.virtsh("", "--hosts", "all", "start", g.Name)
	if code != 0 || out != "Domain '"+g.Name+"' started\n\n" || errS != "" {
		t.Fatalf("start: exit %d, stdout %q, stderr %q", code, out, errS)
	}
	if st := g.State(t); st != libvirt.DOMAIN_RUNNING {
		t.Fatalf("on lab3 %s is %v, want running", g.Name, st)
	}

	dup := fl.guest(fl.host("local"), "fleetdup", false)
	// The same name on lab3 (its own disk).
	twin := newLabGuest(t, labGuestOpts{Prefix: "fleetdup", DiskMiB: 8, Conn: fl.host("lab3").conn})
	x, err := twin.Dom.GetXMLDesc(0)
	if err != nil {
		t.Fatal(err)
	}
	if err := twin.Dom.Undefine(); err != nil {
		t.Fatal(err)
	}
	var def libvirtxml.Domain
	if err := def.Unmarshal(x); err != nil {
		t.Fatal(err)
	}
	def.Name, def.UUID = dup.Name, "" // same name, a UUID of its own
	if x, err = def.Marshal(); err != nil {
		t.Fatal(err)
	}
	d, err := fl.host("lab3").conn.DomainDefineXML(x)
	if err != nil {
		t.Fatal(err)
	}
	twin.Name, twin.Dom = dup.Name, d

	out, errS, code = fl.virtsh("", "--hosts", "all", "start", dup.Name)
	want := "error: domain '" + dup.Name + "' is on more than one host: local, lab3 (name one host with -c)\n"
	if code != 1 || out != "\n" || errS != want {
		t.Fatalf("start of a name on two hosts: exit %d, stdout %q, stderr %q, want %q", code, out, errS, want)
	}
	for _, dd := range []*labGuest{dup, twin} {
		if st := dd.State(t); st != libvirt.DOMAIN_SHUTOFF {
			t.Fatalf("%s was started (%v)", dd.Name, st)
		}
	}
}

// fleetArgs are the unshare words that run the virtsh binary with the
// test's libvirt.conf (see virtsh).
func (fl *fleetLab) fleetArgs(args ...string) []string {
	script := `mount --bind "$0" /etc/libvirt/libvirt.conf && exec "$@"`
	return append([]string{"--mount", "--propagation", "private", "sh", "-c", script, fl.conf, virtshBinary(fl.t)}, args...)
}

// TestLabFleetEventLoopPrefixed: `--hosts lab2,lab3 event --loop` prints
// each host's events as they come, each line prefixed with its host; under
// -o json each JSON line has "host" first.
func TestLabFleetEventLoopPrefixed(t *testing.T) {
	fl := newFleetLab(t)
	for _, output := range []string{"table", "json"} {
		t.Run(output, func(t *testing.T) {
			guests := map[string]*labGuest{}
			for _, n := range []string{"lab2", "lab3"} {
				guests[n] = fl.guest(fl.host(n), "fleetev", true)
			}
			p := startScript(t, "unshare", fl.fleetArgs("--hosts", "lab2,lab3", "-o", output, "event", "--loop", "--event", "lifecycle")...)
			// The listener registers at some point after it starts: pause
			// and resume each guest until its host's line shows up.
			for n, g := range guests {
				prefix, want := n+": ", "event 'lifecycle' for domain '"+g.Name+"': Suspended"
				if output == "json" {
					prefix, want = `{"host":"`+n+`","timestamp":`, `"event":"lifecycle","domain":"`+g.Name+`"`
				}
				has := func() bool {
					for _, l := range strings.Split(p.out.String(), "\n") {
						if strings.HasPrefix(l, prefix) && strings.Contains(l, want) {
							return true
						}
					}
					return false
				}
				seen := false
				for try := 0; try < 100 && !seen; try++ {
					if err := g.Dom.Suspend(); err != nil {
						t.Fatal(err)
					}
					if err := g.Dom.Resume(); err != nil {
						t.Fatal(err)
					}
					for w := 0; w < 10 && !seen; w++ {
						seen = has()
						time.Sleep(20 * time.Millisecond)
					}
				}
				if !seen {
					t.Fatalf("no %q in:\n%s\nstderr:\n%s", want, p.out.String(), p.errb.String())
				}
			}
			_ = p.cmd.Process.Signal(syscall.SIGINT)
			if _, ok := waitExit(t, p.cmd, 30*time.Second); !ok {
				t.Fatal("event --loop did not end on SIGINT")
			}
			for _, l := range strings.Split(strings.TrimRight(p.out.String(), "\n"), "\n") {
				ok := strings.HasPrefix(l, "lab2: ") || strings.HasPrefix(l, "lab3: ") || l == ""
				if output == "json" {
					ok = ok || strings.HasPrefix(l, `{"host":"lab2",`) || strings.HasPrefix(l, `{"host":"lab3",`)
				}
				if !ok {
					t.Errorf("line without its host: %q", l)
				}
			}
		})
	}
}

// TestLabFleetHostsBuiltin: the `hosts` built-in selects hosts for the rest
// of the session (list then has a Host column), prints the selection, and
// --off goes back to the session's one connection.
func TestLabFleetHostsBuiltin(t *testing.T) {
	fl := newFleetLab(t)
	g := fl.guest(fl.host("lab3"), "fleetrepl", false)
	script := "hosts lab3,lab2\nhosts\nlist --all --name\nhosts --off\nhosts\nuri\n"
	out, errS, code := runBinary(t, script, nil, "unshare", fl.fleetArgs("-q", "-c", "test:///default")...)
	want := "lab3\tqemu+tcp://127.0.0.3/system\nlab2\tqemu+tcp://127.0.0.2/system\n" +
		"lab3  " + g.Name + "\n" +
		"none: commands run on the session's connection\n" +
		"test:///default\n"
	// Other tests' guests on the same lab hosts are not this test's.
	var kept []string
	for _, l := range strings.SplitAfter(out, "\n") {
		if (strings.HasPrefix(l, "lab2  ") || strings.HasPrefix(l, "lab3  ")) && strings.TrimSpace(l[6:]) != g.Name {
			continue
		}
		kept = append(kept, l)
	}
	if got := strings.Join(kept, ""); code != 0 || errS != "" || got != want {
		t.Fatalf("exit %d, stderr %q, stdout:\n%s\nwant:\n%s", code, errS, out, want)
	}
}
