package cmd

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/virtsh/virtsh/format"
)

// domblkstatValue is the value of a domblkstat line ("vda rd_req 12",
// " number of bytes read:           512"): the test driver's counters follow
// the clock, so two runs never share them. Only the number goes; the device,
// the field and its padding stay.
var domblkstatValue = regexp.MustCompile(`(?m)^(.* )-?[0-9]+$`)

func maskBlkstat(s string) string { return domblkstatValue.ReplaceAllString(s, "${1}N") }

// sortRecords puts domstats's records (blocks separated by one blank line) in
// name order: libvirt lists every domain in its hash table's order, which is
// seeded per process, so two runs of virsh itself differ there. The lines
// of each record and the separators must still match.
func sortRecords(s string) string {
	body := strings.TrimRight(s, "\n")
	tail := s[len(body):]
	recs := strings.Split(body, "\n\n")
	sort.Strings(recs)
	return strings.Join(recs, "\n\n") + tail
}

// TestDomainStatsMatchVirsh runs domblkstat, domblkerror and domstats in the
// built binary and in virsh 9.0 on the same test-driver guests, and wants
// the same stdout (the test driver's moving block counters masked), stderr
// and exit status: every disk form, --human, the empty device, all domains
// and each listing flag, several domains by name, ID and UUID, and the
// failures (unknown domain or disk, a stopped guest, --enforce of a group
// the driver lacks, bad options).
func TestDomainStatsMatchVirsh(t *testing.T) {
	if _, err := os.Stat(realVirsh); err != nil {
		t.Fatalf("virsh is needed for this test (Debian package libvirt-clients): %v", err)
	}
	bin := virtshBinary(t)
	node := testNodeURI(t)
	const uuid = "6695eb01-f6a4-8304-79aa-97f2502e193f"
	type tc struct{ uri, line string }
	var cases []tc
	for _, l := range []string{
		"domblkstat test vda", "domblkstat test --device vda", "domblkstat test vda --human",
		"domblkstat 1 vda", "domblkstat " + uuid + " vda", "domblkstat test /guest/diskimage1",
		"domblkstat test", "domblkstat test ''", "domblkstat test --human", "domblkstat test nosuch",
		"domblkstat nosuch vda", "domblkstat ''", "domblkstat", "domblkstat test vda --bogus",
		"domblkstat test vda extra", "domblkstat test vda --human --human",
		"domblkerror test", "domblkerror 1", "domblkerror nosuch", "domblkerror", "domblkerror test vda",
		"domstats", "domstats test", "domstats 1 " + uuid + " test", "domstats --state --cpu-total --balloon --vcpu " +
			"--interface --block --perf --iothread --memory --dirtyrate --vm --raw --backing --nowait",
		"domstats --enforce --block", "domstats --enforce --state test", "domstats nosuch", "domstats test nosuch",
		"domstats --state ''", "domstats -- --state", "domstats --list-inactive", "domstats --bogus",
		"domstats --state --state",
		"suspend test; domstats --list-paused; domblkstat test vda; domblkerror test",
		"destroy test; domstats; domblkstat test vda; domblkerror test",
	} {
		cases = append(cases, tc{"test:///default", l})
	}
	for _, l := range []string{
		"domstats", "domstats --list-active", "domstats --list-inactive", "domstats --list-persistent",
		"domstats --list-transient", "domstats --list-running", "domstats --list-paused", "domstats --list-shutoff",
		"domstats --list-other", "domstats --list-running --list-paused --list-persistent", "domstats --enforce --state",
		"domstats --enforce --cpu-total", "domstats alpha Beta gamma", "domstats 2 11111111-2222-3333-4444-000000000005",
		"domstats --list-active alpha gamma", "domstats zeta delta eps --backing",
		"domblkstat alpha vda", "domblkstat alpha sda --human", "domblkstat alpha vdb", "domblkstat alpha /guest/alpha.img",
		"domblkstat alpha vdz", "domblkstat gamma vda", "domblkstat Beta vda", "domblkstat alpha",
		"domblkerror alpha", "domblkerror Beta", "domblkerror gamma", "domblkerror eps",
	} {
		cases = append(cases, tc{node, l})
	}
	for _, c := range cases {
		for _, q := range [][]string{nil, {"-q"}} {
			args := append(append([]string{"-c", c.uri}, q...), c.line)
			vo, ve, vc := runBinary(t, "", nil, realVirsh, args...)
			to, te, tc := runBinary(t, "", nil, bin, args...)
			if strings.Contains(c.line, "domblkstat") {
				vo, to = maskBlkstat(vo), maskBlkstat(to)
			}
			if strings.Contains(c.line, "domstats") {
				vo, to = sortRecords(vo), sortRecords(to)
			}
			if vo != to || ve != te || vc != tc {
				t.Errorf("%q:\nvirsh  (%q, %q, %d)\nvirtsh (%q, %q, %d)", args, vo, ve, vc, to, te, tc)
			}
		}
	}
}

// libvirtCalls counts the public libvirt calls a process made, from
// libvirt's own debug log (LIBVIRT_LOG_FILTERS=1:libvirt).
func libvirtCalls(t *testing.T, bin string, args ...string) map[string]int {
	t.Helper()
	log := filepath.Join(t.TempDir(), "libvirt.log")
	_, errS, code := runBinary(t, "", []string{"LIBVIRT_LOG_FILTERS=1:libvirt", "LIBVIRT_LOG_OUTPUTS=1:file:" + log}, bin, args...)
	if code != 0 {
		t.Fatalf("%s %q: exit %d: %s", bin, args, code, errS)
	}
	b, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	calls := map[string]int{}
	for _, m := range regexp.MustCompile(`: debug : (vir[A-Za-z]+):[0-9]+ : `).FindAllStringSubmatch(string(b), -1) {
		calls[m[1]]++
	}
	return calls
}

// domstats over several domains is one bulk call, as in virsh: the domains
// looked up one by one (by name here), then one virDomainListGetStats; with
// no domains, one virConnectGetAllDomainStats; never a per-domain query.
func TestDomstatsIsOneBulkCall(t *testing.T) {
	bin := virtshBinary(t)
	node := testNodeURI(t)
	for _, c := range []struct {
		args []string
		want map[string]int
	}{
		{[]string{"domstats", "alpha", "Beta", "gamma", "delta", "--state"},
			map[string]int{"virDomainLookupByName": 4, "virDomainListGetStats": 1}},
		{[]string{"domstats", "--list-running", "--block"}, map[string]int{"virConnectGetAllDomainStats": 1}},
	} {
		for _, prog := range []string{realVirsh, bin} {
			calls := libvirtCalls(t, prog, append([]string{"-c", node}, c.args...)...)
			for _, f := range []string{"virDomainLookupByName", "virDomainLookupByID", "virDomainLookupByUUIDString",
				"virDomainListGetStats", "virConnectGetAllDomainStats", "virDomainGetState", "virDomainGetInfo",
				"virDomainBlockStats", "virDomainBlockStatsFlags", "virConnectListAllDomains"} {
				if calls[f] != c.want[f] {
					t.Errorf("%s %q: %d calls of %s, want %d (all: %v)", prog, c.args, calls[f], f, c.want[f], calls)
				}
			}
		}
	}
}

// decodeOrdered decodes one JSON value keeping the order of object keys:
// objects become [key, value, key, value...] lists tagged with "{}".
func decodeOrdered(t *testing.T, s string) any {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var val func() any
	val = func() any {
		tok, err := dec.Token()
		if err != nil {
			t.Fatalf("%v in %s", err, s)
		}
		switch tok {
		case json.Delim('{'):
			out := []any{"{}"}
			for dec.More() {
				k, _ := dec.Token()
				out = append(out, k, val())
			}
			_, _ = dec.Token()
			return out
		case json.Delim('['):
			out := []any{}
			for dec.More() {
				out = append(out, val())
			}
			_, _ = dec.Token()
			return out
		}
		return tok
	}
	return val()
}

// -o json prints typed values: numbers as JSON numbers, strings as strings,
// keys in virsh's (or libvirt's) order.
func TestDomainStatsJSON(t *testing.T) {
	node := testNodeURI(t)
	// domblkstat: the device, then the counters under the names virsh
	// prints, in its order, as integers.
	out, errS, code := runMain(t, "", "-c", "test:///default", "domblkstat", "test", "vda", "-o", "json")
	if code != 0 {
		t.Fatalf("domblkstat -o json: exit %d: %s", code, errS)
	}
	v := decodeOrdered(t, out).([]any)
	var keys []string
	for i := 1; i < len(v); i += 2 {
		keys = append(keys, v[i].(string))
		switch x := v[i+1].(type) {
		case string:
			if v[i] != "device" || x != "vda" {
				t.Errorf("domblkstat -o json: %v = %q", v[i], x)
			}
		case json.Number:
			if n, err := x.Int64(); err != nil || n < 0 {
				t.Errorf("domblkstat -o json: %v = %v, want a counter", v[i], x)
			}
		default:
			t.Errorf("domblkstat -o json: %v is %T", v[i], x)
		}
	}
	if got := strings.Join(keys, " "); got != "device rd_req rd_bytes wr_req wr_bytes errs" {
		t.Errorf("domblkstat -o json keys = %s", got)
	}

	for _, c := range []struct{ line, want string }{
		{"domstats alpha Beta -o json", `[
  {
    "name": "alpha",
    "state": {
      "state": 1,
      "reason": 0
    }
  },
  {
    "name": "Beta",
    "state": {
      "state": 3,
      "reason": 0
    }
  }
]
`},
		{"domstats alpha -o yaml", "- name: alpha\n  state:\n    state: 1\n    reason: 0\n"},
		{"domstats --list-inactive --list-transient -o json", "[]\n"},
		{"domblkerror alpha -o json", `[
  {
    "disk": "vda",
    "error": "unspecified error",
    "error_code": 1
  },
  {
    "disk": "vdb",
    "error": "no space",
    "error_code": 2
  },
  {
    "disk": "sda",
    "error": "unspecified error",
    "error_code": 1
  }
]
`},
		{"domblkerror Beta -o json", "[]\n"},
		{"domblkerror Beta -o yaml", "[]\n"},
	} {
		out, errS, code := runMain(t, "", append([]string{"-q", "-c", node}, strings.Fields(c.line)...)...)
		if code != 0 || out != c.want {
			t.Errorf("%s = (%q, %q, %d), want %q", c.line, out, errS, code, c.want)
		}
	}
	// Failures print nothing on stdout under -o json either.
	for _, line := range []string{"domblkstat alpha vdz -o json", "domstats nosuch -o json", "domstats --enforce --block -o json",
		"domblkerror gamma -o json"} {
		out, errS, code := runMain(t, "", append([]string{"-q", "-c", node}, strings.Fields(line)...)...)
		if code != 1 || out != "" || !strings.HasPrefix(errS, "error: ") {
			t.Errorf("%s = (%q, %q, %d), want an error and exit 1", line, out, errS, code)
		}
	}
}

// statsView's schema, on a record with every kind of typed parameter and of
// key: group objects, the list groups with their numbers, sparse entries,
// fields beside a list, a key without a group, and a double JSON cannot
// hold.
func TestDomstatsView(t *testing.T) {
	p := func(field string, kind int, v any) typedParam {
		tp := typedParam{field: field, kind: kind}
		switch x := v.(type) {
		case int:
			tp.i, tp.u = int64(x), uint64(x)
		case float64:
			tp.d = x
		case bool:
			tp.b = x
		case string:
			tp.s = x
		}
		return tp
	}
	r := statsRecord{name: "vm1", params: []typedParam{
		p("state.state", paramInt, 1),
		p("state.reason", paramInt, 1),
		p("cpu.time", paramULLong, 123),
		p("cpu.cache.monitor.count", paramUInt, 0),
		p("vcpu.current", paramUInt, 2),
		p("vcpu.maximum", paramUInt, 2),
		p("vcpu.0.state", paramInt, 1),
		p("vcpu.0.halted", paramBoolean, true),
		p("vcpu.1.state", paramInt, 1),
		p("vcpu.1.halted", paramBoolean, false),
		p("net.count", paramUInt, 2),
		p("net.1.name", paramString, "vnet1"),
		p("net.1.rx.bytes", paramULLong, 10),
		p("block.count", paramUInt, 1),
		p("block.0.name", paramString, "vda"),
		p("block.0.backingIndex", paramUInt, 3),
		p("iothread.count", paramUInt, 1),
		p("iothread.4.poll-max-ns", paramULLong, 32768),
		p("dirtyrate.megabytes_per_second", paramLLong, -1),
		p("dirtyrate.calc_mode", paramString, "page-sampling"),
		p("perf.cmt", paramDouble, 1.5),
		p("perf.mbmt", paramDouble, math.NaN()),
		p("lonely", paramString, "123"),
	}}
	var b bytes.Buffer
	io := &format.IO{Out: &b, Output: "json"}
	if err := io.Encode([]*format.Object{statsView(r)}); err != nil {
		t.Fatal(err)
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, b.Bytes()); err != nil {
		t.Fatal(err)
	}
	want := `[{"name":"vm1","state":{"state":1,"reason":1},"cpu":{"time":123,"cache.monitor.count":0},` +
		`"vcpu.current":2,"vcpu.maximum":2,"vcpu":[{"index":0,"state":1,"halted":true},{"index":1,"state":1,"halted":false}],` +
		`"net.count":2,"net":[{"index":1,"name":"vnet1","rx.bytes":10}],` +
		`"block.count":1,"block":[{"index":0,"name":"vda","backingIndex":3}],` +
		`"iothread.count":1,"iothread":[{"index":4,"poll-max-ns":32768}],` +
		`"dirtyrate":{"megabytes_per_second":-1,"calc_mode":"page-sampling"},"perf":{"cmt":1.5,"mbmt":null},"lonely":"123"}]`
	if compact.String() != want {
		t.Errorf("domstats -o json =\n%s\nwant\n%s", compact.String(), want)
	}

	// The same in YAML: a string that looks like a number stays a string,
	// a boolean a boolean.
	b.Reset()
	io.Output = "yaml"
	if err := io.Encode([]*format.Object{statsView(r)}); err != nil {
		t.Fatal(err)
	}
	var y []map[string]any
	if err := yaml.Unmarshal(b.Bytes(), &y); err != nil {
		t.Fatalf("%v\n%s", err, b.String())
	}
	if y[0]["lonely"] != "123" || y[0]["vcpu.current"] != 2 {
		t.Errorf("yaml: lonely=%#v vcpu.current=%#v\n%s", y[0]["lonely"], y[0]["vcpu.current"], b.String())
	}
	if h := y[0]["vcpu"].([]any)[0].(map[string]any)["halted"]; h != true {
		t.Errorf("yaml: vcpu[0].halted = %#v", h)
	}
	if !strings.HasPrefix(b.String(), "- name: vm1\n  state:\n    state: 1\n    reason: 1\n  cpu:\n") {
		t.Errorf("yaml keys out of order:\n%s", b.String())
	}

	// The text: each value printed by its type, as vshGetTypedParamValue.
	for _, c := range []struct {
		p    typedParam
		want string
	}{
		{p("a", paramInt, -3), "-3"},
		{typedParam{kind: paramUInt, u: math.MaxUint32}, "4294967295"},
		{typedParam{kind: paramLLong, i: math.MinInt64}, "-9223372036854775808"},
		{typedParam{kind: paramULLong, u: math.MaxUint64}, "18446744073709551615"},
		{p("a", paramDouble, 1.5), "1.500000"},
		{p("a", paramDouble, 1e20), "100000000000000000000.000000"},
		{p("a", paramDouble, math.Inf(1)), "inf"},
		{p("a", paramDouble, math.Inf(-1)), "-inf"},
		{p("a", paramDouble, math.NaN()), "nan"},
		{p("a", paramDouble, math.Copysign(math.NaN(), -1)), "-nan"},
		{p("a", paramBoolean, true), "yes"},
		{p("a", paramBoolean, false), "no"},
		{p("a", paramString, "page-sampling"), "page-sampling"},
	} {
		if got := c.p.text(); got != c.want {
			t.Errorf("text of %+v = %q, want %q", c.p, got, c.want)
		}
	}
}

// DEVICE completes the domain's disk targets, as domblkinfo's; the domains
// are completed too.
func TestDomainStatsCompletion(t *testing.T) {
	for _, c := range []struct {
		words []string
		want  string
	}{
		{[]string{"domblkstat", "test", ""}, "vda\t/guest/diskimage1\n:4\n"},
		{[]string{"domblkstat", "test", "--device", ""}, "vda\t/guest/diskimage1\n:4\n"},
		{[]string{"domblkstat", ""}, "test\trunning\n:4\n"},
		{[]string{"domblkerror", ""}, "test\trunning\n:4\n"},
		{[]string{"domstats", "test", ""}, "test\trunning\n:4\n"},
	} {
		out, errS, code := runMain(t, "", append([]string{"__complete", "-c", "test:///default"}, c.words...)...)
		if code != 0 || out != c.want {
			t.Errorf("__complete %q = (%q, %q, %d), want %q", c.words, out, errS, code, c.want)
		}
	}
}

// Bad input fails with virsh's message and exit status 1, and prints
// nothing else: an unknown domain (also among several), an unknown disk,
// a guest that is not running, totals the driver cannot give, a group
// --enforce cannot have, bad options.
func TestDomainStatsBadInput(t *testing.T) {
	node := testNodeURI(t)
	for _, line := range []string{
		"domblkstat nosuch vda", "domblkstat alpha vdz", "domblkstat alpha 'vda[1]'", "domblkstat gamma vda",
		"domblkstat alpha", "domblkstat alpha vda --human --human", "domblkstat alpha vda --bogus", "domblkstat",
		"domblkerror nosuch", "domblkerror gamma", "domblkerror ''",
		"domstats nosuch", "domstats alpha Beta nosuch", "domstats --enforce --block", "domstats alpha --enforce --vcpu",
		"domstats --bogus", "domstats --state=1", "domstats -- --state",
	} {
		want := virshStderr(t, node, line)
		for _, o := range []string{"table", "json"} {
			out, errS, code := runMain(t, "", "-q", "-c", node, "-o", o, line)
			if code != 1 || out != "" || errS != want || !strings.HasPrefix(errS, "error: ") {
				t.Errorf("-o %s %s = (%q, %q, %d), want (\"\", %q, 1)", o, line, out, errS, code, want)
			}
		}
	}
}
