package completion

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"libvirt.org/go/libvirt"

	"github.com/virtsh/virtsh/shell/spec"
)

// nodeXML writes a test-driver node file with the given domains (name ->
// runstate: 1 running, 3 paused, 5 shut off) each with one disk vda.
func nodeXML(t testing.TB, doms [][2]string) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("<node>\n")
	for _, d := range doms {
		fmt.Fprintf(&b, `<domain type='test' xmlns:test='http://libvirt.org/schemas/domain/test/1.0'>
<name>%s</name><memory>8192</memory><os><type>hvm</type></os>
<devices><disk type='file' device='disk'><source file='/img/%s.qcow2'/><target dev='vda' bus='virtio'/></disk></devices>
<test:runstate>%s</test:runstate></domain>
`, d[0], d[0], d[1])
	}
	b.WriteString("</node>\n")
	path := filepath.Join(t.TempDir(), "node.xml")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return "test://" + path
}

func hostFor(t testing.TB, uri string) func() (Host, error) {
	t.Helper()
	conn, err := libvirt.NewConnectReadOnly(uri)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return func() (Host, error) { return LibvirtHost{Conn: conn}, nil }
}

// catalogOf is the engine's view of a command table made of cmds, with the
// one group keyword the test commands use.
func catalogOf(cmds ...*spec.Command) Catalog {
	return Catalog{
		Lookup: func(name string) *spec.Command {
			for _, c := range cmds {
				if c.Name == name {
					return c
				}
			}
			return nil
		},
		All:    func() []*spec.Command { return cmds },
		Groups: []Candidate{{"domain", "Domain Management"}},
	}
}

// testCatalog declares commands shaped like virtsh's: domain commands with
// virsh's completer filters, disk and list options.
func testCatalog() Catalog {
	mk := func(name string) *spec.Command {
		return &spec.Command{Name: name, Group: "domain", Short: name + " help"}
	}
	start := mk("start")
	start.Domain(new(string), "SHUTOFF")
	start.Bool(new(bool), "console", "console flag")
	start.Bool(new(bool), "paused", "paused flag")
	shutdown := mk("shutdown")
	shutdown.Domain(new(string), "active")
	shutdown.String(new(string), "mode", "mode value", spec.Named, false).Complete(spec.ShutdownMode)
	resume := mk("resume")
	resume.Domain(new(string), "paused")
	domstate := mk("domstate")
	domstate.Domain(new(string), "")
	domstate.Bool(new(bool), "reason", "reason flag")
	domname := mk("domname")
	domname.String(new(string), "domain", "domain value", spec.Req, true).Complete(spec.DomainUUID)
	commit := mk("blockcommit")
	commit.Domain(new(string), "active")
	commit.String(new(string), "path", "path value", spec.Req, true).Complete(spec.Disk)
	commit.Number(new(string), "bandwidth", "bandwidth value", spec.Unwanted, false)
	commit.String(new(string), "base", "base value", spec.Unwanted, false).Complete(spec.DiskIndex, "path")
	commit.String(new(string), "output", "output value", spec.Named, false).Complete(spec.Output)
	define := mk("define")
	define.String(new(string), "file", "file value", spec.Req, true).Complete(spec.File)
	ev := mk("event")
	ev.String(new(string), "domain", "domain value", spec.Named, false).Complete(spec.Domain)
	ev.String(new(string), "event", "event value", spec.Named, false).Complete(spec.Event)
	echo := mk("echo")
	echo.Bool(new(bool), "shell", "shell flag")
	echo.Argv(new([]string), "string", "string words", spec.Opt, false)
	echo.Alias("str", "string")
	hidden := mk("secret-thing")
	hidden.Hidden = true
	return catalogOf(start, shutdown, resume, domstate, domname, commit, define, ev, echo, hidden)
}

func values(r Result) []string {
	var out []string
	for _, c := range r.Cands {
		out = append(out, c.Value)
	}
	return out
}

func check(t *testing.T, c *Completer, words []string, want ...string) Result {
	t.Helper()
	r := c.Complete(words)
	if got := values(r); !reflect.DeepEqual(got, want) && !(len(got) == 0 && len(want) == 0) {
		t.Errorf("complete %q = %q, want %q", words, got, want)
	}
	return r
}

func TestDomainsFilteredByState(t *testing.T) {
	uri := nodeXML(t, [][2]string{{"vm-run", "1"}, {"vm-paused", "3"}, {"vm-off", "5"}, {"vm-off2", "5"}})
	c := &Completer{Commands: testCatalog(), Host: hostFor(t, uri)}
	check(t, c, []string{"start", ""}, "vm-off", "vm-off2")
	check(t, c, []string{"start", "vm-off"}, "vm-off", "vm-off2")
	check(t, c, []string{"start", "vm-r"})
	check(t, c, []string{"shutdown", ""}, "vm-paused", "vm-run")
	check(t, c, []string{"resume", ""}, "vm-paused")
	r := check(t, c, []string{"domstate", "vm-"}, "vm-off", "vm-off2", "vm-paused", "vm-run")
	if r.Cands[2].Desc != "paused" || r.Cands[0].Desc != "shut off" || r.Cands[3].Desc != "running" {
		t.Errorf("state descriptions: %+v", r.Cands)
	}
	check(t, c, []string{"domstate", "--domain", "vm-p"}, "vm-paused")
	check(t, c, []string{"domstate", "--domain=vm-p"}, "--domain=vm-paused")
	check(t, c, []string{"event", "--domain", "vm-r"}, "vm-run")
	// A domain given, the next bare word has no completer: option names.
	check(t, c, []string{"domstate", "vm-run", ""}, "--reason")
	check(t, c, []string{"domstate", "vm-run", "--reason", ""})
}

func TestNoDomainsFallsBackToOptionNames(t *testing.T) {
	uri := nodeXML(t, [][2]string{{"vm-run", "1"}})
	c := &Completer{Commands: testCatalog(), Host: hostFor(t, uri)}
	// virsh offers option names for an empty positional; virtsh offers the
	// domains, and the names when there are none.
	check(t, c, []string{"start", ""}, "--domain", "--console", "--paused")
	check(t, c, []string{"resume", "x"})
}

func TestCommandsAndOptions(t *testing.T) {
	c := &Completer{Commands: testCatalog()}
	check(t, c, []string{""}, "blockcommit", "define", "domname", "domstate", "echo", "event", "resume", "shutdown", "start")
	check(t, c, []string{"s"}, "shutdown", "start")
	check(t, c, []string{"nosuch", ""})
	check(t, c, []string{"start", "--"}, "--domain", "--console", "--paused")
	check(t, c, []string{"start", "--console", "--p"}, "--paused")
	check(t, c, []string{"start", "--console", "-"}, "--domain", "--paused")
	// argv options repeat; aliases are hidden but understood.
	check(t, c, []string{"echo", "--str", "a", "--"}, "--shell", "--string")
	check(t, c, []string{"echo", "--shell", "x", "--s"}, "--string")
	// After "--" every word is data.
	check(t, c, []string{"echo", "--", "--s"})
	check(t, c, []string{"blockcommit", "--output", ""}, "table", "json", "yaml")
	check(t, c, []string{"blockcommit", "--output=j"}, "--output=json")
	check(t, c, []string{"event", "--event", "block-j"}, "block-job", "block-job-2")
}

func TestCommaListAndFiles(t *testing.T) {
	c := &Completer{Commands: testCatalog()}
	r := check(t, c, []string{"shutdown", "vm", "--mode", "acpi,"}, "acpi,agent", "acpi,initctl", "acpi,signal", "acpi,paravirt")
	if r.Directive&cobra.ShellCompDirectiveNoSpace == 0 {
		t.Errorf("comma list must not add a space: directive %d", r.Directive)
	}
	check(t, c, []string{"shutdown", "vm", "--mode", "acpi,agent,i"}, "acpi,agent,initctl")
	if r := c.Complete([]string{"define", ""}); r.Directive != cobra.ShellCompDirectiveDefault || len(r.Cands) != 0 {
		t.Errorf("define <file> must ask for file completion: %+v", r)
	}
}

// fakeHost serves a domain with a backing chain (the test driver has none).
type fakeHost struct{ block chan struct{} }

const chainXML = `<domain type='kvm'><name>t1</name><devices>
<disk type='file' device='disk'><source file='/img/top.qcow2' index='3'/>
<backingStore type='file' index='2'><source file='/img/mid.qcow2'/>
<backingStore type='file' index='1'><source file='/img/base.qcow2'/><backingStore/></backingStore></backingStore>
<target dev='vda' bus='virtio'/></disk>
<disk type='file' device='cdrom'><source file='/img/cd.iso' index='4'/><target dev='sdb' bus='sata'/></disk>
</devices></domain>`

func (f fakeHost) Domains(DomainFilter) ([]Domain, error) {
	if f.block != nil {
		<-f.block
	}
	return []Domain{{Name: "t1", State: "running", UUID: "6695eb01-f6a4-8304-79aa-97f2502e193f"}}, nil
}
func (fakeHost) DomainXML(string) (string, error)       { return chainXML, nil }
func (fakeHost) Checkpoints(string) ([]string, error)   { return []string{"c1", "c2"}, nil }
func (fakeHost) Snapshots(string) ([]string, error)     { return []string{"s1"}, nil }
func (fakeHost) BlockJobDisks(string) ([]string, error) { return []string{"vda"}, nil }

// domname completes UUIDs (virshDomainUUIDCompleter), the name as the
// description.
func TestDomainUUIDCompleter(t *testing.T) {
	c := &Completer{Commands: testCatalog(), Host: func() (Host, error) { return fakeHost{}, nil }}
	check(t, c, []string{"domname", ""}, "6695eb01-f6a4-8304-79aa-97f2502e193f")
	check(t, c, []string{"domname", "66"}, "6695eb01-f6a4-8304-79aa-97f2502e193f")
	check(t, c, []string{"domname", "t1"})
	if r := c.Complete([]string{"domname", "6"}); len(r.Cands) != 1 || r.Cands[0].Desc != "t1" {
		t.Fatalf("domname 6: %+v, want the UUID described by the name t1", r.Cands)
	}
}

func TestDiskTargetsAndChainIndexes(t *testing.T) {
	c := &Completer{Commands: testCatalog(), Host: func() (Host, error) { return fakeHost{}, nil }}
	check(t, c, []string{"blockcommit", "t1", ""}, "vda", "sdb")
	check(t, c, []string{"blockcommit", "t1", "vda", "--base", ""}, "vda", "vda[3]", "vda[2]", "vda[1]")
	check(t, c, []string{"blockcommit", "t1", "sdb", "--base", "sdb"}, "sdb", "sdb[4]")
	check(t, c, []string{"blockcommit", "t1", "vda", "--base", "vda[1"}, "vda[1]")
	check(t, c, []string{"blockcommit", "--domain", "t1", "--path", "v"}, "vda")
}

// A host that does not answer gives no candidates, quickly.
func TestHungHostTimesOut(t *testing.T) {
	block := make(chan struct{})
	defer close(block)
	c := &Completer{Commands: testCatalog(), Host: func() (Host, error) { return fakeHost{block: block}, nil }, Timeout: 100 * time.Millisecond}
	start := time.Now()
	check(t, c, []string{"start", "t"})
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("took %v", d)
	}
}

func TestParseDomainFilter(t *testing.T) {
	for in, want := range map[string]DomainFilter{
		"":                                    0,
		"SHUTOFF":                             libvirt.CONNECT_LIST_DOMAINS_SHUTOFF,
		"shut off":                            libvirt.CONNECT_LIST_DOMAINS_SHUTOFF,
		"HAS_CHECKPOINT|ACTIVE":               libvirt.CONNECT_LIST_DOMAINS_HAS_CHECKPOINT | libvirt.CONNECT_LIST_DOMAINS_ACTIVE,
		"VIR_CONNECT_LIST_DOMAINS_PERSISTENT": libvirt.CONNECT_LIST_DOMAINS_PERSISTENT,
		"running,paused":                      libvirt.CONNECT_LIST_DOMAINS_RUNNING | libvirt.CONNECT_LIST_DOMAINS_PAUSED,
	} {
		if got := ParseDomainFilter(in); got != want {
			t.Errorf("ParseDomainFilter(%q) = %d, want %d", in, got, want)
		}
	}
}

func TestURIAliases(t *testing.T) {
	path := filepath.Join(t.TempDir(), "libvirt.conf")
	conf := `# uri_aliases = [ "commented=qemu:///x" ]
uri_default = "qemu:///system"
uri_aliases = [
  "hail=qemu+ssh://root@hail.example.com/system",
  "sleet=qemu+ssh://root@sleet.example.com/system",   # comment
]
`
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	got := URIAliases(path)
	want := []Candidate{{"hail", "qemu+ssh://root@hail.example.com/system"}, {"sleet", "qemu+ssh://root@sleet.example.com/system"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("URIAliases = %+v", got)
	}
}

func TestLine(t *testing.T) {
	uri := nodeXML(t, [][2]string{{"my dom", "5"}, {"vm-off", "5"}})
	c := &Completer{Commands: testCatalog(), Host: hostFor(t, uri)}
	for _, tc := range []struct {
		line    string
		want    []string
		replace int
	}{
		{"sta", []string{"start "}, 3},
		{"list; sta", []string{"start "}, 3},
		{"start ", []string{`my\ dom `, "vm-off "}, 0},
		{"start my", []string{`my\ dom `}, 2},
		{`start my\ d`, []string{`my\ dom `}, 5},
		{`start 'my d`, []string{`'my dom' `}, 5},
		{"start --con", []string{"--console "}, 5},
		{"shutdown x --mode acpi,ag", []string{"acpi,agent"}, 7},
		{"echo a # sta", nil, 0},
	} {
		got, n := c.Line(tc.line)
		if !reflect.DeepEqual(got, tc.want) && !(len(got) == 0 && len(tc.want) == 0) || n != tc.replace {
			t.Errorf("Line(%q) = %q, %d; want %q, %d", tc.line, got, n, tc.want, tc.replace)
		}
	}
	dir := t.TempDir()
	os.Mkdir(filepath.Join(dir, "sub dir"), 0o755)
	os.WriteFile(filepath.Join(dir, "dom.xml"), nil, 0o644)
	got, _ := c.Line("define " + dir + "/")
	want := []string{escapeWord(dir, 0) + "/dom.xml ", escapeWord(dir, 0) + `/sub\ dir/`}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("file completion = %q, want %q", got, want)
	}
}

// BenchmarkCompleteDomains1000 completes `start <TAB>` on a host with 1,000
// domains (half shut off) over an open connection, as the REPL does.
func BenchmarkCompleteDomains1000(b *testing.B) {
	var doms [][2]string
	for i := 0; i < 1000; i++ {
		st := "1"
		if i%2 == 1 {
			st = "5"
		}
		doms = append(doms, [2]string{fmt.Sprintf("vm-%05d", i), st})
	}
	uri := nodeXML(b, doms)
	c := &Completer{Commands: testCatalog(), Host: hostFor(b, uri)}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if r := c.Complete([]string{"start", "vm-"}); len(r.Cands) != 500 {
			b.Fatalf("%d candidates", len(r.Cands))
		}
	}
}

// The shut-off and inactive filters list names with ListDefinedDomains: the
// same domains and state words as one ListAllDomains per state.
func TestLibvirtHostInactiveByName(t *testing.T) {
	conn, err := libvirt.NewConnectReadOnly(nodeXML(t, [][2]string{{"b-off", "5"}, {"a-run", "1"}, {"c-paused", "3"}, {"a-off", "5"}}))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	h := LibvirtHost{Conn: conn}
	want := []Domain{{Name: "a-off", State: "shut off"}, {Name: "b-off", State: "shut off"}}
	for _, f := range []DomainFilter{libvirt.CONNECT_LIST_DOMAINS_SHUTOFF, libvirt.CONNECT_LIST_DOMAINS_INACTIVE} {
		got, err := h.Domains(f)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("filter %d: %v %v, want %v", f, got, err, want)
		}
		// The general path (a filter bit that changes nothing here) agrees.
		all, err := h.Domains(f | libvirt.CONNECT_LIST_DOMAINS_PERSISTENT)
		for i := range all {
			all[i].UUID = "" // only the general path knows UUIDs
		}
		if err != nil || !reflect.DeepEqual(all, want) {
			t.Errorf("filter %d|persistent: %v %v, want %v", f, all, err, want)
		}
	}
}

// TestLibvirtHostManyInactive: the Go binding's ListDefinedDomains returns
// at most 1,024 names; with more shut-off guests than that, none may be
// missing from the completions.
func TestLibvirtHostManyInactive(t *testing.T) {
	var doms [][2]string
	for i := range definedMax + 76 {
		doms = append(doms, [2]string{fmt.Sprintf("off-%04d", i), "5"})
	}
	conn, err := libvirt.NewConnectReadOnly(nodeXML(t, doms))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	got, err := LibvirtHost{Conn: conn}.Domains(libvirt.CONNECT_LIST_DOMAINS_SHUTOFF)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(doms) {
		t.Fatalf("%d shut-off guests listed, want %d", len(got), len(doms))
	}
	if got[len(got)-1].Name != doms[len(doms)-1][0] {
		t.Errorf("last guest %q, want %q", got[len(got)-1].Name, doms[len(doms)-1][0])
	}
}
