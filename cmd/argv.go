package cmd

import (
	"fmt"
	"strings"

	"github.com/virtsh/virtsh/shell/spec"
)

// virsh parses its global options with getopt_long("+:c:d:e:hk:K:l:qrtvV")
// and acts on each option as it is read (-h and -v exit at once, -d with a
// bad number fails before later options are seen). pflag differs in ways a
// user notices (no unique-prefix long options such as --conn, other error
// words, no "option -d takes a numeric argument"), so this is a small
// getopt_long of our own with virsh's table plus virtsh's -o/--output.

type argKind int

const (
	argNone argKind = iota
	argRequired
	argOptional // only as --name=value, as getopt's optional_argument
)

type globalOpt struct {
	long     string // "" for short-only options (-V)
	short    byte   // 0 for long-only options
	kind     argKind
	usage    string // for help, man pages and completion
	complete spec.Completer
}

// globalOpts in virsh's order (virshParseArgv), then virtsh's additions.
var globalOpts = []globalOpt{
	{"connect", 'c', argRequired, "hypervisor connection URI", spec.Completer{Kind: spec.URI}},
	{"debug", 'd', argRequired, "debug level [0-4]", spec.Completer{Kind: spec.Enum, Arg: "0,1,2,3,4"}},
	{"escape", 'e', argRequired, "set escape sequence for console", spec.Completer{Kind: spec.Nothing}},
	{"help", 'h', argNone, "this help", spec.Completer{}},
	{"keepalive-interval", 'k', argRequired, "keepalive interval in seconds, 0 for disable", spec.Completer{Kind: spec.Nothing}},
	{"keepalive-count", 'K', argRequired, "number of possible missed keepalive messages", spec.Completer{Kind: spec.Nothing}},
	{"log", 'l', argRequired, "output logging to file", spec.Completer{Kind: spec.File}},
	{"quiet", 'q', argNone, "quiet mode", spec.Completer{}},
	{"readonly", 'r', argNone, "connect readonly", spec.Completer{}},
	{"timing", 't', argNone, "print timing information", spec.Completer{}},
	{"version", 'v', argOptional, "version, short (default) or long", spec.Completer{Kind: spec.Enum, Arg: "short,long"}},
	{"", 'V', argNone, "long version", spec.Completer{}},
	{"output", 'o', argRequired, "output format: table, json or yaml", spec.Completer{Kind: spec.Output}},
	{"hosts", 0, argRequired, "run on several hosts: NAME[,NAME...] (uri_aliases, URIs) or all", spec.Completer{Kind: spec.URI}},
	{"host-timeout", 0, argRequired, "seconds to wait for each host under --hosts (default 5)", spec.Completer{Kind: spec.Nothing}},
}

// parsedOpt is one option occurrence: its short letter (the getopt return
// value), its argument, and whether the long spelling was used (virsh names
// the option in some messages the way the user spelled it).
type parsedOpt struct {
	opt    *globalOpt
	arg    string
	hasArg bool
	long   bool
}

// getopt reads args one option at a time, calling fn for each; fn returns
// done=true to stop (help, version) or an error. It returns the index of the
// first non-option word. Errors are worded as virsh words getopt's.
func getopt(args []string, fn func(parsedOpt) (done bool, err error)) (rest int, done bool, err error) {
	i := 0
	for i < len(args) {
		a := args[i]
		if a == "--" {
			return i + 1, false, nil
		}
		if len(a) < 2 || a[0] != '-' {
			return i, false, nil // '+': stop at the first non-option ("-" included)
		}
		i++
		if strings.HasPrefix(a, "--") {
			p, err := longOpt(a, args, &i)
			if err != nil {
				return i, false, err
			}
			if done, err := fn(p); done || err != nil {
				return i, done, err
			}
			continue
		}
		// A cluster of short options: -qrt, -cURI, -c URI.
		for j := 1; j < len(a); j++ {
			o := shortOpt(a[j])
			if o == nil {
				//lint:ignore ST1005 virsh's exact words
				return i, false, fmt.Errorf("unsupported option '-%c'. See --help.", a[j])
			}
			p := parsedOpt{opt: o}
			if o.kind == argRequired {
				switch {
				case j+1 < len(a):
					p.arg, p.hasArg = a[j+1:], true
				case i < len(args):
					p.arg, p.hasArg = args[i], true
					i++
				default:
					return i, false, missingArg(o)
				}
				j = len(a)
			}
			if done, err := fn(p); done || err != nil {
				return i, done, err
			}
		}
	}
	return i, false, nil
}

func shortOpt(c byte) *globalOpt {
	for k := range globalOpts {
		if globalOpts[k].short == c {
			return &globalOpts[k]
		}
	}
	return nil
}

// globalLong resolves a long option name, or any unambiguous prefix of one
// as getopt_long does (--conn, --ver); nil if none or ambiguous.
func globalLong(name string) *globalOpt {
	var o *globalOpt
	matches := 0
	for k := range globalOpts {
		g := &globalOpts[k]
		if g.long == "" {
			continue
		}
		if g.long == name {
			return g
		}
		if strings.HasPrefix(g.long, name) {
			o = g
			matches++
		}
	}
	if matches != 1 {
		return nil
	}
	return o
}

// longOpt resolves --name[=value], accepting any unambiguous prefix of a
// name as getopt_long does (--conn, --ver).
func longOpt(a string, args []string, i *int) (parsedOpt, error) {
	name, val, hasVal := strings.Cut(a[2:], "=")
	o := globalLong(name)
	if o == nil {
		//lint:ignore ST1005 virsh's exact words
		return parsedOpt{}, fmt.Errorf("unsupported option '%s'. See --help.", a)
	}
	p := parsedOpt{opt: o, long: true, arg: val, hasArg: hasVal}
	switch o.kind {
	case argNone:
		if hasVal {
			//lint:ignore ST1005 virsh's exact words
			return p, fmt.Errorf("unsupported option '-%c'. See --help.", o.short)
		}
	case argRequired:
		if !hasVal {
			if *i >= len(args) {
				return p, missingArg(o)
			}
			p.arg, p.hasArg = args[*i], true
			*i++
		}
	}
	return p, nil
}

// missingArgError is an option that needs a value given last with none:
// completion offers the values there.
type missingArgError struct{ opt *globalOpt }

func (e *missingArgError) Error() string {
	if e.opt.short == 0 {
		return fmt.Sprintf("option '--%s' requires an argument", e.opt.long)
	}
	if e.opt.long == "" {
		return fmt.Sprintf("option '-%c' requires an argument", e.opt.short)
	}
	return fmt.Sprintf("option '-%c'/'--%s' requires an argument", e.opt.short, e.opt.long)
}

func missingArg(o *globalOpt) error { return &missingArgError{opt: o} }

// optName is how virsh names an option in its value errors: "-k" when given
// short, "--keepalive-interval" when given long.
func (p parsedOpt) optName() string {
	if p.long {
		return "--" + p.opt.long
	}
	return "-" + string(p.opt.short)
}

// strtol parses an int the way virStrToLong_i does with no end pointer:
// leading blanks and a sign allowed, base 0 (0x hex, leading-0 octal) or 10,
// the whole rest must be digits, and the value must fit in an int.
func strtol(s string, base int) (int, bool) {
	s = strings.TrimLeft(s, " \t\n\v\f\r")
	neg := false
	if s != "" && (s[0] == '+' || s[0] == '-') {
		neg = s[0] == '-'
		s = s[1:]
	}
	if base == 0 {
		switch {
		case len(s) > 2 && (s[:2] == "0x" || s[:2] == "0X"):
			base, s = 16, s[2:]
		case len(s) > 1 && s[0] == '0':
			base, s = 8, s[1:]
		default:
			base = 10
		}
	}
	if s == "" {
		return 0, false
	}
	var v int64
	for _, c := range []byte(s) {
		var d int64
		switch {
		case c >= '0' && c <= '9':
			d = int64(c - '0')
		case c >= 'a' && c <= 'f':
			d = int64(c-'a') + 10
		case c >= 'A' && c <= 'F':
			d = int64(c-'A') + 10
		default:
			return 0, false
		}
		if d >= int64(base) {
			return 0, false
		}
		v = v*int64(base) + d
		if v > 1<<31 {
			return 0, false
		}
	}
	if neg {
		v = -v
	}
	if v > 1<<31-1 || v < -1<<31 {
		return 0, false
	}
	return int(v), true
}

// validEscape is virsh's check for -e: one character other than '^', or '^'
// and one of a-z A-Z @ [ \ ] ^ _.
func validEscape(s string) bool {
	if len(s) == 1 {
		return s[0] != '^'
	}
	if len(s) == 2 && s[0] == '^' {
		c := s[1]
		return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || strings.IndexByte("@[\\]^_", c) >= 0
	}
	return false
}

// GlobalOption is one global option as help and man pages show it.
type GlobalOption struct {
	Long       string // "" for short-only options
	Short      byte   // 0 for long-only options
	TakesValue bool
	Optional   bool // the value may only be given as --long=VALUE
	Usage      string
}

// GlobalOptions lists the global options in virsh's order.
func GlobalOptions() []GlobalOption {
	out := make([]GlobalOption, len(globalOpts))
	for i, o := range globalOpts {
		out[i] = GlobalOption{Long: o.long, Short: o.short, TakesValue: o.kind != argNone, Optional: o.kind == argOptional, Usage: o.usage}
	}
	return out
}
