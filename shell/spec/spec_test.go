package spec

import (
	"errors"
	"regexp"
	"strings"
	"testing"
)

// sample is a command shaped like virsh's blockcommit: a required domain and
// disk, an optional positional, a number, booleans, an argv, an alias and
// option rules.
type sample struct {
	dom, path, base, bandwidth, xpath string
	active, pivot, wait               bool
	rest                              []string
	c                                 *Command
}

func newSample() *sample {
	s := &sample{}
	c := &Command{Name: "sample"}
	c.Domain(&s.dom, "running")
	c.String(&s.path, "path", "disk", Req, true).Complete(Disk)
	c.String(&s.base, "base", "base", Unwanted, false).Complete(DiskIndex, "path")
	c.Number(&s.bandwidth, "bandwidth", "bandwidth", Named, false)
	c.String(&s.xpath, "xpath", "xpath", Named, false).Empty().Complete(Nothing)
	c.Bool(&s.active, "active", "active")
	c.Bool(&s.pivot, "pivot", "pivot")
	c.Bool(&s.wait, "wait", "wait")
	c.Argv(&s.rest, "rest", "the rest", Opt, false).Complete(Nothing)
	c.Alias("shallow", "active")
	c.Alias("hi", "base=hello")
	c.Exclusive("active", "wait")
	c.Requires("pivot", "wait")
	c.MutatingOptions("pivot")
	s.c = c
	return s
}

func TestParseFillsBindings(t *testing.T) {
	s := newSample()
	err := s.c.Parse([]string{"vm", "--path=vda", "vda[1]", "--bandwidth", "10", "--pivot", "--wait", "a", "--", "--b"})
	if err != nil {
		t.Fatal(err)
	}
	if s.dom != "vm" || s.path != "vda" || s.base != "vda[1]" || s.bandwidth != "10" || !s.pivot || !s.wait ||
		strings.Join(s.rest, "|") != "a|--b" {
		t.Fatalf("bindings: %+v", s)
	}
	if !s.c.Given("base") || s.c.Given("active") || !s.c.MutatingNow() {
		t.Fatal("given/mutating state wrong")
	}
	if err := s.c.Check(); err != nil {
		t.Fatalf("Check: %v", err)
	}
}

func TestParseAliases(t *testing.T) {
	s := newSample()
	if err := s.c.Parse([]string{"vm", "vda", "--shallow", "--hi"}); err != nil {
		t.Fatal(err)
	}
	if !s.active || s.base != "hello" {
		t.Fatalf("aliases: active=%v base=%q", s.active, s.base)
	}
}

// Each error is virsh's wording for the same mistake.
func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		words []string
		want  string
	}{
		{[]string{"vm"}, "command 'sample' requires <path> option"},
		// Every missing option, each on its line (vshCommandCheckOpts).
		{[]string{}, "command 'sample' requires <domain> option\ncommand 'sample' requires <path> option"},
		{[]string{"vm", "vda", "--nosuch"}, "command 'sample' doesn't support option --nosuch"},
		{[]string{"vm", "vda", "--bandwidth"}, "expected syntax: --bandwidth <number>"},
		{[]string{"vm", "vda", "--base"}, "expected syntax: --base <string>"},
		{[]string{"vm", "vda", "--wait", "--wait"}, "option --wait already seen"},
		{[]string{"vm", "vda", "--wait=1"}, "invalid '=' after option --wait"},
		{[]string{"vm", "vda", "--hi=x"}, "invalid '=' after option --hi"},
		{[]string{"vm", "vda", "--path", "vdb"}, "option --path already seen"},
		{[]string{"--domain", "vm", "--path", "vda", "--domain", "x"}, "option --domain already seen"},
	} {
		err := newSample().c.Parse(tc.words)
		if err == nil || err.Error() != tc.want {
			t.Errorf("Parse(%q) = %v, want %q", tc.words, err, tc.want)
		}
	}
	// A command without an argv option refuses a word too many.
	c := &Command{Name: "one"}
	var v string
	c.String(&v, "domain", "", Req, true)
	if err := c.Parse([]string{"a", "b"}); err == nil || err.Error() != "unexpected data 'b'" {
		t.Errorf("extra word: %v", err)
	}
	// --help is a boolean option of every command: it needs no required
	// option, takes no value, and a parse error after it still counts.
	for _, words := range [][]string{{"vm", "--help"}, {"--help"}, {"--help", "--help"}} {
		if err := newSample().c.Parse(words); !errors.Is(err, ErrHelp) {
			t.Errorf("Parse(%q) = %v, want help", words, err)
		}
	}
	for words, want := range map[string]string{
		"--help=5":        "invalid '=' after option --help",
		"--help --nosuch": "command 'sample' doesn't support option --nosuch",
	} {
		if err := newSample().c.Parse(strings.Fields(words)); err == nil || err.Error() != want {
			t.Errorf("Parse(%q) = %v, want %q", words, err, want)
		}
	}
}

// `--X` is an option only when X is a letter or digit: `----x` and `--=` are
// data, as in virsh.
func TestParseDashWordsAsData(t *testing.T) {
	s := newSample()
	if err := s.c.Parse([]string{"----x", "--=y", "vda[1]"}); err != nil {
		t.Fatal(err)
	}
	if s.dom != "----x" || s.path != "--=y" || s.base != "vda[1]" {
		t.Fatalf("bindings: %+v", s)
	}
	if p := newSample().c.ParsePartial([]string{"----x"}); p.Values["domain"] != "----x" {
		t.Fatalf("partial: %+v", p.Values)
	}
}

// A lenient command (virsh's help) ignores what it does not know.
func TestParseLenient(t *testing.T) {
	var topic string
	c := &Command{Name: "help", Lenient: true}
	c.String(&topic, "command", "", Opt, false)
	if err := c.Parse([]string{"--x", "list", "extra"}); err != nil || topic != "list" {
		t.Fatalf("lenient: %v %q", err, topic)
	}
}

// The rules virsh checks when a command starts, in declaration order, and
// the empty-value rule.
func TestCheck(t *testing.T) {
	for _, tc := range []struct {
		words []string
		want  string
	}{
		{[]string{"vm", "vda", "--active", "--wait"}, "Options --active and --wait are mutually exclusive"},
		{[]string{"vm", "vda", "--pivot"}, "Option --wait is required by option --pivot"},
		{[]string{"vm", ""}, "Failed to get option 'path': Option argument is empty"},
		{[]string{"", "vda"}, "Failed to get option 'domain': Option argument is empty"},
		{[]string{"vm", "vda", "--base="}, "Failed to get option 'base': Option argument is empty"},
		{[]string{"vm", "vda", "--xpath", ""}, ""},     // allowed empty
		{[]string{"vm", "vda", "--bandwidth", ""}, ""}, // numbers are checked by the command
		{[]string{"vm", "vda", "b", ""}, ""},           // argv words may be empty
	} {
		s := newSample()
		if err := s.c.Parse(tc.words); err != nil {
			t.Fatalf("Parse(%q): %v", tc.words, err)
		}
		err := s.c.Check()
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != tc.want {
			t.Errorf("Check after %q = %q, want %q", tc.words, got, tc.want)
		}
	}
}

func TestParsePartial(t *testing.T) {
	s := newSample()
	p := s.c.ParsePartial([]string{"vm", "--bandwidth"})
	if p.Pending == nil || p.Pending.Name != "bandwidth" || p.Values["domain"] != "vm" {
		t.Fatalf("pending: %+v", p)
	}
	p = s.c.ParsePartial([]string{"vm", "vda"})
	if n := p.Next(); n == nil || n.Name != "base" || !p.Given("path") {
		t.Fatalf("next after two words: %+v", n)
	}
	p = s.c.ParsePartial([]string{"--", "--x"})
	if !p.OnlyData || p.Values["domain"] != "--x" {
		t.Fatalf("after --: %+v", p)
	}
	if s.dom != "" || s.c.Given("domain") {
		t.Fatal("ParsePartial changed the bindings")
	}
	if s.c.DomainOption() != "domain" {
		t.Fatal("domain option")
	}
}

var virshMessage = regexp.MustCompile(`(?s)^(command '\w+' doesn't support option --.*|(command '\w+' requires (<[\w-]+>|--[\w-]+) option\n)*command '\w+' requires (<[\w-]+>|--[\w-]+) option|expected syntax: --[\w-]+ <(string|number)>|option --[\w-]+ already seen|invalid '=' after option --.*|unexpected data '.*')$`)

// Any words: Parse never panics and fails only with one of virsh's messages;
// ParsePartial never panics.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"vm vda", "--domain=vm --path vda --base", "vm vda --wait --wait", "-- -- --x", "--hi=x", "vm vda a b c --rest d"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		words := strings.Split(s, " ")
		smp := newSample()
		smp.c.ParsePartial(words)
		err := smp.c.Parse(words)
		if err == nil || errors.Is(err, ErrHelp) {
			_ = smp.c.Check()
			return
		}
		if !virshMessage.MatchString(err.Error()) {
			t.Fatalf("Parse(%q) = %q: not a virsh message", words, err)
		}
	})
}
