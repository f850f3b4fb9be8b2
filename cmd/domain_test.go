package cmd

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"libvirt.org/go/libvirt"
	"libvirt.org/go/libvirtxml"
)

// testNodeXML is a private test-driver node: guests in every state the
// listing distinguishes (running with a title and three disks, paused,
// shut off, shut off with a managed save image, transient, crashed).
var testNodeXML = readTestdata("domains-node.xml")

// testNodeURI is a private copy of testNodeXML (see nodeURI).
func testNodeURI(t *testing.T) string { return nodeURI(t, testNodeXML) }

// state returns what libvirt holds for name: state, reason, or ok=false
// when there is no such domain.
func (ts *testShell) state(name string) (libvirt.DomainState, int, bool) {
	ts.t.Helper()
	d, err := ts.conn().LookupDomainByName(name)
	if err != nil {
		return 0, 0, false
	}
	defer d.Free()
	st, r, err := d.GetState()
	if err != nil {
		ts.t.Fatal(err)
	}
	return st, r, true
}

func (ts *testShell) wantState(name string, st libvirt.DomainState, reason int) {
	ts.t.Helper()
	got, r, ok := ts.state(name)
	if !ok || got != st || r != reason {
		ts.t.Errorf("libvirt holds %s in state %d reason %d (exists %v), want %d reason %d", name, got, r, ok, st, reason)
	}
}

// snapshot is everything a bad command must leave unchanged: every guest's
// state and inactive definition.
func (ts *testShell) snapshot() string {
	ts.t.Helper()
	doms, err := ts.conn().ListAllDomains(0)
	if err != nil {
		ts.t.Fatal(err)
	}
	var b strings.Builder
	for i := range doms {
		n, _ := doms[i].GetName()
		st, r, _ := doms[i].GetState()
		x, _ := doms[i].GetXMLDesc(libvirt.DOMAIN_XML_INACTIVE)
		a, _ := doms[i].GetAutostart()
		b.WriteString(n + " " + stateString(st) + " " + reasonString(st, r) + " " + yesNo(a) + "\n" + x)
		_ = doms[i].Free()
	}
	return b.String()
}

func TestListDefaultAndFilters(t *testing.T) {
	uri := testNodeURI(t)
	cases := []struct{ args, want string }{
		{"list", " Id   Name    State\n-----------------------\n 1    alpha   running\n 2    Beta    paused\n 3    eps     running\n 4    zeta    crashed\n\n"},
		{"list --all --managed-save --title", " Id   Name    State      Title\n--------------------------------------\n 1    alpha   running    Alpha guest\n 2    Beta    paused     \n 3    eps     running    \n 4    zeta    crashed    \n -    delta   saved      \n -    gamma   shut off   \n\n"},
		{"list --inactive --name", "delta\ngamma\n\n"},
		{"list --state-other --state-paused --uuid", "11111111-2222-3333-4444-000000000002\n11111111-2222-3333-4444-000000000006\n\n"},
		{"list --all --id", "1\n2\n3\n4\n\n"},
		{"list --all --uuid --id --name --transient", "11111111-2222-3333-4444-000000000005 3 eps\n\n"},
		{"list --with-managed-save --all --name", "delta\n\n"},
		{"list --state-shutoff", " Id   Name    State\n------------------------\n -    delta   shut off\n -    gamma   shut off\n\n"},
	}
	for _, c := range cases {
		out, errS, code := runMain(t, "", "-c", uri, c.args)
		if out != c.want || errS != "" || code != 0 {
			t.Errorf("%s:\n got (%q, %q, %d)\nwant %q", c.args, out, errS, code, c.want)
		}
	}
	out, errS, code := runMain(t, "", "-c", uri, "list --table --uuid")
	if out != "\n" || errS != "error: Options --table and --uuid are mutually exclusive\n" || code != 1 {
		t.Errorf("list --table --uuid = (%q, %q, %d)", out, errS, code)
	}
}

func TestListJSON(t *testing.T) {
	uri := testNodeURI(t)
	out, errS, code := runMain(t, "", "-q", "-c", uri, "list --all --title --managed-save -o json")
	if code != 0 || errS != "" {
		t.Fatalf("list -o json: %q %d", errS, code)
	}
	var got []map[string]any
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("list -o json printed %q: %v", out, err)
	}
	if len(got) != 6 {
		t.Fatalf("list -o json: %d guests, want 6: %v", len(got), got)
	}
	first, last := got[0], got[5]
	if first["id"] != 1.0 || first["name"] != "alpha" || first["state"] != "running" || first["title"] != "Alpha guest" ||
		first["uuid"] != "11111111-2222-3333-4444-000000000001" {
		t.Errorf("first guest = %v", first)
	}
	if last["id"] != nil || last["name"] != "gamma" || last["state"] != "shut off" {
		t.Errorf("last guest = %v", last)
	}
	if got[4]["state"] != "saved" {
		t.Errorf("delta with --managed-save = %v, want state saved", got[4])
	}
	out, _, _ = runMain(t, "", "-q", "-c", uri, "list -o yaml")
	if !strings.Contains(out, "- id: 1\n  name: alpha\n  uuid: 11111111-2222-3333-4444-000000000001\n  state: running\n") || strings.Contains(out, "title") {
		t.Errorf("list -o yaml = %q", out)
	}
}

func TestInfoCommandsDefault(t *testing.T) {
	cases := []struct{ args, want string }{
		{"domstate test --reason", "running (unknown)\n"},
		{"domstate 1", "running\n"},
		{"domid test", "1\n"},
		{"domid 6695eb01-f6a4-8304-79aa-97f2502e193f", "1\n"},
		{"domname 1", "test\n"},
		{"domuuid test", "6695eb01-f6a4-8304-79aa-97f2502e193f\n"},
		{"domblklist test", " vda   /guest/diskimage1\n"},
		{"domblkinfo test vda --human", "Capacity:       1023.995 GiB\nAllocation:     1.000 TiB\nPhysical:       1.000 TiB\n"},
		{"dumpxml test --xpath //disk/source/@file", " file=\"/guest/diskimage1\"\n"},
		{"dumpxml test --xpath /domain/os --wrap", "<nodes>\n  <os>\n    <type arch=\"i686\">hvm</type>\n    <boot dev=\"hd\"/>\n  </os>\n</nodes>\n"},
		{"domstate test -o json", "{\n  \"state\": \"running\",\n  \"state_code\": 1,\n  \"reason\": \"unknown\",\n  \"reason_code\": 0\n}\n"},
		{"domid test -o json", "{\n  \"id\": 1\n}\n"},
		{"domname 1 -o yaml", "name: test\n"},
		{"domuuid 1 -o json", "{\n  \"uuid\": \"6695eb01-f6a4-8304-79aa-97f2502e193f\"\n}\n"},
		{"domblkinfo test --all -o json", "[\n  {\n    \"target\": \"vda\",\n    \"capacity\": 1099506450432,\n    \"allocation\": 1099511627776,\n    \"physical\": 1099511627776\n  }\n]\n"},
		{"domblklist test -o json", "[\n  {\n    \"type\": \"file\",\n    \"device\": \"disk\",\n    \"target\": \"vda\",\n    \"source\": \"/guest/diskimage1\"\n  }\n]\n"},
		{"dumpxml test --xpath //name -o json", "{\n  \"matches\": [\n    \"<name>test</name>\"\n  ]\n}\n"},
	}
	for _, c := range cases {
		out, errS, code := runMain(t, "", "-q", "-c", "test:///default", c.args)
		if out != c.want || errS != "" || code != 0 {
			t.Errorf("%s:\n got (%q, %q, %d)\nwant %q", c.args, out, errS, code, c.want)
		}
	}
}

func TestDominfoJSON(t *testing.T) {
	out, errS, code := runMain(t, "", "-c", testNodeURI(t), "dominfo gamma -o json")
	if code != 0 || errS != "" {
		t.Fatalf("dominfo -o json: %q %d", errS, code)
	}
	var v map[string]any
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("%q: %v", out, err)
	}
	want := map[string]any{"id": nil, "name": "gamma", "state": "shut off", "max_memory_bytes": 524288.0 * 1024,
		"persistent": true, "autostart": false, "managed_save": false, "uuid": "11111111-2222-3333-4444-000000000003"}
	for k, w := range want {
		if v[k] != w {
			t.Errorf("dominfo gamma -o json: %s = %v, want %v", k, v[k], w)
		}
	}
	for _, k := range []string{"os_type", "cpus", "cpu_time_ns", "used_memory_bytes", "security_model", "security_doi", "security_label", "security_enforcing"} {
		if _, ok := v[k]; !ok {
			t.Errorf("dominfo -o json lacks %s: %v", k, v)
		}
	}
}

// TestLifecycle runs each lifecycle command and checks what libvirt then
// holds, over the session's own connection.
func TestLifecycle(t *testing.T) {
	ts := newTestShell(t, testNodeURI(t))
	steps := []struct {
		cmd, out string
		name     string
		st       libvirt.DomainState
		reason   int
	}{
		{"suspend alpha", "", "alpha", libvirt.DOMAIN_PAUSED, int(libvirt.DOMAIN_PAUSED_USER)},
		{"resume 1", "", "alpha", libvirt.DOMAIN_RUNNING, int(libvirt.DOMAIN_RUNNING_UNPAUSED)},
		{"shutdown alpha", "", "alpha", libvirt.DOMAIN_SHUTOFF, int(libvirt.DOMAIN_SHUTOFF_SHUTDOWN)},
		{"start alpha", "", "alpha", libvirt.DOMAIN_RUNNING, int(libvirt.DOMAIN_RUNNING_BOOTED)},
		{"reboot alpha", "", "alpha", libvirt.DOMAIN_RUNNING, int(libvirt.DOMAIN_RUNNING_BOOTED)},
		{"reset alpha", "", "alpha", libvirt.DOMAIN_RUNNING, int(libvirt.DOMAIN_RUNNING_BOOTED)},
		{"destroy alpha", "", "alpha", libvirt.DOMAIN_SHUTOFF, int(libvirt.DOMAIN_SHUTOFF_DESTROYED)},
		{"start 11111111-2222-3333-4444-000000000001", "", "alpha", libvirt.DOMAIN_RUNNING, int(libvirt.DOMAIN_RUNNING_BOOTED)},
		{"destroy gamma", "", "gamma", libvirt.DOMAIN_SHUTOFF, int(libvirt.DOMAIN_SHUTOFF_UNKNOWN)},
	}
	for _, s := range steps[:len(steps)-1] {
		out, errS, ok := ts.run(s.cmd)
		if !ok || errS != "" || out != s.out {
			t.Errorf("%s = (%q, %q, %v)", s.cmd, out, errS, ok)
		}
		ts.wantState(s.name, s.st, s.reason)
	}
	// Failures print virsh's two lines and change nothing.
	before := ts.snapshot()
	for _, c := range []struct{ cmd, errS string }{
		{"destroy gamma", "error: Failed to destroy domain 'gamma'\nerror: Requested operation is not valid: domain is not running\n"},
		{"start alpha", "error: Domain is already active\n"},
		{"suspend gamma", "error: Failed to suspend domain 'gamma'\nerror: internal error: domain 'gamma' not running\n"},
		{"resume alpha", "error: Failed to resume domain 'alpha'\nerror: internal error: domain 'alpha' not paused\n"},
		{"start alpha --paused", "error: Domain is already active\n"},
		{"start gamma --paused", "error: Failed to start domain 'gamma'\nerror: unsupported flags (0x1) in function testDomainCreateWithFlags\n"},
		{"shutdown alpha --mode initctl", "error: Failed to shutdown domain 'alpha'\nerror: unsupported flags (0x4) in function testDomainShutdownFlags\n"},
	} {
		out, errS, ok := ts.run(c.cmd)
		if ok || errS != c.errS || out != "" {
			t.Errorf("%s = (%q, %q, %v), want error %q", c.cmd, out, errS, ok, c.errS)
		}
	}
	if after := ts.snapshot(); after != before {
		t.Errorf("failed commands changed libvirt's state:\n%s\n---\n%s", before, after)
	}
}

func TestLifecycleMessages(t *testing.T) {
	// Not quiet: virsh's success messages, each followed by the blank line.
	uri := testNodeURI(t)
	out, errS, code := runMain(t, "", "-c", uri, "suspend 1; resume alpha; destroy alpha; start alpha; reboot alpha; reset alpha; shutdown alpha; autostart gamma; autostart --disable gamma; domstate alpha --reason")
	want := "Domain '1' suspended\n\nDomain 'alpha' resumed\n\nDomain 'alpha' destroyed\n\nDomain 'alpha' started\n\n" +
		"Domain 'alpha' is being rebooted\n\nDomain 'alpha' was reset\n\nDomain 'alpha' is being shutdown\n\n" +
		"Domain 'gamma' marked as autostarted\n\nDomain 'gamma' unmarked as autostarted\n\nshut off (shutdown)\n\n"
	if out != want || errS != "" || code != 0 {
		t.Errorf("got (%q, %q, %d)\nwant %q", out, errS, code, want)
	}
	// The same from a stdin script: one command a line.
	out, errS, code = runMain(t, "suspend alpha\ndomstate alpha --reason\nresume alpha\ndomstate alpha --reason\n", "-q", "-c", uri)
	if out != "paused (user)\nrunning (unpaused)\n" || errS != "" || code != 0 {
		t.Errorf("stdin script = (%q, %q, %d)", out, errS, code)
	}
}

func TestDefineUndefineCreate(t *testing.T) {
	ts := newTestShell(t, testNodeURI(t))
	dir := t.TempDir()
	x, err := (&libvirtxml.Domain{Type: "test", Name: "newvm", Memory: &libvirtxml.DomainMemory{Value: 65536},
		OS: &libvirtxml.DomainOS{Type: &libvirtxml.DomainOSType{Type: "hvm"}}}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "newvm.xml")
	if err := os.WriteFile(file, []byte(x), 0o600); err != nil {
		t.Fatal(err)
	}
	ts.sess.IO.Quiet = false
	if out, errS, ok := ts.run("define " + file); !ok || errS != "" || out != "Domain 'newvm' defined from "+file+"\n\n" {
		t.Errorf("define = (%q, %q, %v)", out, errS, ok)
	}
	ts.wantState("newvm", libvirt.DOMAIN_SHUTOFF, int(libvirt.DOMAIN_SHUTOFF_UNKNOWN))
	ts.sess.IO.Quiet = true
	ts.mustRun("autostart newvm")
	d, err := ts.conn().LookupDomainByName("newvm")
	if err != nil {
		t.Fatal(err)
	}
	if a, _ := d.GetAutostart(); !a {
		t.Errorf("autostart newvm: libvirt says autostart off")
	}
	_ = d.Free()
	ts.sess.IO.Quiet = false
	if out, errS, ok := ts.run("undefine newvm"); !ok || errS != "" || out != "Domain 'newvm' has been undefined\n\n" {
		t.Errorf("undefine = (%q, %q, %v)", out, errS, ok)
	}
	if _, _, ok := ts.state("newvm"); ok {
		t.Errorf("newvm still defined after undefine")
	}
	if out, errS, ok := ts.run("create " + file); !ok || errS != "" || out != "Domain 'newvm' created from "+file+"\n\n" {
		t.Errorf("create = (%q, %q, %v)", out, errS, ok)
	}
	ts.wantState("newvm", libvirt.DOMAIN_RUNNING, int(libvirt.DOMAIN_RUNNING_BOOTED))
	if d, err = ts.conn().LookupDomainByName("newvm"); err != nil {
		t.Fatal(err)
	}
	if p, _ := d.IsPersistent(); p {
		t.Errorf("create made a persistent guest")
	}
	_ = d.Free()
	// undefine --managed-save removes the image along with the definition.
	ts.sess.IO.Quiet = true
	ts.mustRun("undefine delta --managed-save")
	if _, _, ok := ts.state("delta"); ok {
		t.Errorf("delta still defined after undefine --managed-save")
	}
}

// TestBadInput lists bad input: each gives an error, exit 1, and leaves
// libvirt as it was.
func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.xml")
	if err := os.WriteFile(bad, []byte("<domain type='test'><name>x</nam></domain>"), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.xml")
	cases := []struct{ cmd, errS string }{
		{"start nosuch", "error: failed to get domain 'nosuch'\n"},
		{"dominfo nosuch", "error: failed to get domain 'nosuch'\n"},
		{"frobnicate alpha", "error: unknown command: 'frobnicate'\n"},
		{"destroy alpha --bogus", "error: command 'destroy' doesn't support option --bogus\n"},
		{"suspend", "error: command 'suspend' requires <domain> option\n"},
		{"suspend alpha extra", "error: unexpected data 'extra'\n"},
		{"define " + missing, "error: Failed to open file '" + missing + "': No such file or directory\n"},
		{"define " + bad, "error: Failed to define domain from " + bad + "\nerror: " + xmlErrorAt(t, 1) + "Opening and ending tag mismatch: name line 1 and nam\n"},
		{"create " + bad, "error: Failed to create domain from " + bad + "\nerror: " + xmlErrorAt(t, 1) + "Opening and ending tag mismatch: name line 1 and nam\n"},
		{"start gamma --pass-fds 3,x", "error: Unable to parse FD number 'x'\n"},
		{"shutdown alpha --mode fast", "error: Unknown mode fast value, expecting 'acpi', 'agent', 'initctl', 'signal', or 'paravirt'\n"},
		{"dumpxml alpha --xpath count(//disk)", "error: internal error: Incorrect xpath 'count(//disk)'\n"},
		{"dumpxml alpha --xpath '//disk[('", "error: Invalid XPath expression '//disk[(': "},
		{"domblkinfo alpha", "error: command 'domblkinfo' requires <device> option\n"},
		{"domblkinfo alpha vda --all", "error: Options --all and --device are mutually exclusive\n"},
		{"undefine gamma --nvram --keep-nvram", "error: Options --nvram and --keep-nvram are mutually exclusive\n"},
		{"undefine gamma --wipe-storage", "error: '--wipe-storage' requires '--storage <string>' or '--remove-all-storage'\n"},
		{"undefine gamma --storage vdz", "error: Volume 'vdz' was not found in domain's definition.\n"},
		{"list --table --name", "error: Options --table and --name are mutually exclusive\n"},
		{"list -o xml", "error: unknown output format 'xml': use table, json or yaml\n"},
	}
	ts := newTestShell(t, testNodeURI(t))
	before := ts.snapshot()
	for _, c := range cases {
		out, errS, ok := ts.run(c.cmd)
		if ok || out != "" || !strings.HasPrefix(errS, c.errS) || !strings.HasPrefix(errS, "error: ") {
			t.Errorf("%s = (%q, %q, %v), want error %q", c.cmd, out, errS, ok, c.errS)
		}
		if after := ts.snapshot(); after != before {
			t.Fatalf("%s changed libvirt's state", c.cmd)
		}
	}
	// One-shot: exit status 1.
	for _, c := range cases[:3] {
		if _, _, code := runMain(t, "", "-c", testNodeURI(t), c.cmd); code != 1 {
			t.Errorf("virtsh %q exit %d, want 1", c.cmd, code)
		}
	}
}

// writeEditor writes an EDITOR script that runs body with $1 the file.
func writeEditor(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "ed.sh")
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body+"\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	return p
}

func vcpus(t *testing.T, ts *testShell, name string) uint {
	t.Helper()
	d, err := ts.conn().LookupDomainByName(name)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Free()
	x, _ := d.GetXMLDesc(libvirt.DOMAIN_XML_INACTIVE)
	var def libvirtxml.Domain
	if err := def.Unmarshal(x); err != nil {
		t.Fatal(err)
	}
	return def.VCPU.Value
}

func TestEdit(t *testing.T) {
	t.Setenv("VISUAL", "")
	ts := newTestShell(t, testNodeURI(t))
	ts.sess.IO.Quiet = false

	t.Setenv("EDITOR", writeEditor(t, "exit 0"))
	if out, errS, ok := ts.run("edit gamma"); !ok || errS != "" || out != "Domain 'gamma' XML configuration not changed.\n\n" {
		t.Errorf("edit unchanged = (%q, %q, %v)", out, errS, ok)
	}

	t.Setenv("EDITOR", writeEditor(t, `sed -i 's/<vcpu\([^>]*\)>[0-9]*</<vcpu\1>3</' "$1"`))
	if out, errS, ok := ts.run("edit gamma"); !ok || errS != "" || out != "Domain 'gamma' XML configuration edited.\n\n" {
		t.Errorf("edit = (%q, %q, %v)", out, errS, ok)
	}
	if n := vcpus(t, ts, "gamma"); n != 3 {
		t.Errorf("after edit libvirt holds %d vcpus, want 3", n)
	}

	// $VISUAL wins over $EDITOR.
	t.Setenv("VISUAL", writeEditor(t, `sed -i 's/<vcpu\([^>]*\)>[0-9]*</<vcpu\1>2</' "$1"`))
	ts.mustRun("edit gamma")
	if n := vcpus(t, ts, "gamma"); n != 2 {
		t.Errorf("after edit with $VISUAL libvirt holds %d vcpus, want 2", n)
	}
	t.Setenv("VISUAL", "")

	// A broken edit: libvirt rejects it, virtsh asks; "n" gives up.
	before := ts.snapshot()
	t.Setenv("EDITOR", writeEditor(t, `sed -i 's/<name>/<nme>/' "$1"`))
	ts.in.Reset("n\n")
	out, errS, ok := ts.run("edit gamma")
	if ok || out != "Failed. Try again? [y,n,i,f,?]: \n" || !strings.HasPrefix(errS, "error: "+xmlErrorAt(t, 2)+"Opening and ending tag mismatch: nme line 2 and name\n") {
		t.Errorf("edit rejected, n = (%q, %q, %v)", out, errS, ok)
	}
	// No answer at all (end of input): gives up too.
	ts.in.Reset("")
	if out, errS, ok = ts.run("edit gamma"); ok || !strings.HasSuffix(errS, "error: Failed.\n") {
		t.Errorf("edit rejected, EOF = (%q, %q, %v)", out, errS, ok)
	}
	if after := ts.snapshot(); after != before {
		t.Errorf("rejected edits changed libvirt's state")
	}

	// "?" prints the help, "y" re-opens the editor, which fixes the file
	// the second time.
	count := filepath.Join(t.TempDir(), "count")
	t.Setenv("EDITOR", writeEditor(t, `if [ -e `+count+` ]; then sed -i 's/<nme>/<name>/; s/<vcpu\([^>]*\)>[0-9]*</<vcpu\1>4</' "$1"; else touch `+count+`; sed -i 's/<name>/<nme>/' "$1"; fi`))
	ts.in.Reset("?\ny\n")
	out, errS, ok = ts.run("edit gamma")
	wantOut := "Failed. Try again? [y,n,i,f,?]: \ny - yes, start editor again\nn - no, throw away my changes\n" +
		"i - turn off validation and try to redefine again\nf - force, try to redefine again\n? - print this help\n" +
		"Failed. Try again? [y,n,i,f,?]: Domain 'gamma' XML configuration edited.\n\n"
	if !ok || out != wantOut || !strings.HasPrefix(errS, "error: "+xmlErrorAt(t, 2)) {
		t.Errorf("edit, ?, y = (%q, %q, %v)", out, errS, ok)
	}
	if n := vcpus(t, ts, "gamma"); n != 4 {
		t.Errorf("after re-edit libvirt holds %d vcpus, want 4", n)
	}
}
