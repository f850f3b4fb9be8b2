package cmd

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/virtsh/virtsh/format"
	"github.com/virtsh/virtsh/shell"
)

// Options are declared once, virsh-table style (vshCmdOptDef): name, kind,
// help, whether a bare word may fill it, whether it is required. They are
// registered as pflag flags so help, man pages and completion see them, but
// the words are parsed by parseWords below with virsh's rules and messages
// (cobra's own flag parsing is off for every command): `--opt value`,
// `--opt=value`, bare words filling options in declaration order, `--` ending
// options, `--help` anywhere.

const (
	annKind = "virtsh_kind" // bool, string, number, scaled, argv
	annPos  = "virtsh_pos"  // req, opt, unwanted (filled by bare words), none
	annReq  = "virtsh_req"  // required
)

type optKind string

const (
	kBool   optKind = "bool"
	kString optKind = "string"
	kNumber optKind = "number"
	kArgv   optKind = "argv"
)

type posMode string

const (
	posReq      posMode = "req"      // <x>: required positional
	posOpt      posMode = "opt"      // [<x>]: optional positional
	posUnwanted posMode = "unwanted" // shown as --x, still filled by a bare word (virsh 9.0)
	posNone     posMode = "none"     // only as --x
)

// spec declares a command's options.
type spec struct {
	cmd *cobra.Command
}

func newSpec(c *cobra.Command) *spec {
	c.DisableFlagParsing = true
	c.Flags().SortFlags = false
	return &spec{cmd: c}
}

func (s *spec) annotate(name string, kind optKind, pos posMode, required bool) *pflag.Flag {
	f := s.cmd.Flags().Lookup(name)
	if f.Annotations == nil {
		f.Annotations = map[string][]string{}
	}
	f.Annotations[annKind] = []string{string(kind)}
	f.Annotations[annPos] = []string{string(pos)}
	if required {
		f.Annotations[annReq] = []string{"true"}
	}
	return f
}

// Bool declares --name.
func (s *spec) Bool(p *bool, name, usage string) {
	s.cmd.Flags().BoolVar(p, name, false, usage)
	s.annotate(name, kBool, posNone, false)
}

// String declares a string option.
func (s *spec) String(p *string, name, usage string, pos posMode, required bool) *pflag.Flag {
	s.cmd.Flags().StringVar(p, name, "", usage)
	return s.annotate(name, kString, pos, required)
}

// Number declares an option whose value is numeric; it is kept as text and
// converted by the command (virsh reports bad numbers when it reads them).
func (s *spec) Number(p *string, name, usage string, pos posMode, required bool) *pflag.Flag {
	s.cmd.Flags().StringVar(p, name, "", usage)
	return s.annotate(name, kNumber, pos, required)
}

// Argv declares a repeatable option that takes every remaining bare word.
func (s *spec) Argv(p *[]string, name, usage string, pos posMode, required bool) *pflag.Flag {
	s.cmd.Flags().StringArrayVar(p, name, nil, usage)
	return s.annotate(name, kArgv, pos, required)
}

// Domain declares virsh's common <domain> option (VIRSH_COMMON_OPT_DOMAIN_FULL).
func (s *spec) Domain(p *string, filter string) {
	f := s.String(p, "domain", "domain name, id or uuid", posReq, true)
	f.Annotations[annCompleter] = []string{"domain", filter}
}

// Output declares -o/--output, which every command that prints data honours.
func (s *spec) Output(io *format.IO) {
	s.cmd.Flags().StringVarP(&io.Output, "output", "o", io.Output, "output format: table, json or yaml")
	f := s.annotate("output", kString, posNone, false)
	f.Annotations[annCompleter] = []string{"output"}
}

const annCompleter = "virtsh_completer"

// completeWith sets the option's completer: a completion.Kind* and its
// argument, if the kind takes one. completion.KindNone marks an option that
// is intentionally not completed (virsh's virshCompleteEmpty): a name the
// user makes up, an XPath. TestEveryOptionHasKnownCompleter checks every
// string option has one.
func completeWith(f *pflag.Flag, kind string, arg ...string) *pflag.Flag {
	f.Annotations[annCompleter] = append([]string{kind}, arg...)
	return f
}

func flagKind(f *pflag.Flag) optKind {
	if v := f.Annotations[annKind]; len(v) > 0 {
		return optKind(v[0])
	}
	if f.Value.Type() == "bool" {
		return kBool
	}
	return kString
}

func flagPos(f *pflag.Flag) posMode {
	if v := f.Annotations[annPos]; len(v) > 0 {
		return posMode(v[0])
	}
	return posNone
}

func flagRequired(f *pflag.Flag) bool { return len(f.Annotations[annReq]) > 0 }

// errHelp asks the wrapper to print the command's help (virsh turns --help
// anywhere into `help <command>`).
var errHelp = errors.New("help requested")

// parseWords fills c's flags from words with virsh's vshCommandParse rules.
func parseWords(c *cobra.Command, words []string) error {
	fs := c.Flags()
	name := c.Name()
	var positional []*pflag.Flag
	fs.VisitAll(func(f *pflag.Flag) {
		if p := flagPos(f); p != posNone && p != "" {
			positional = append(positional, f)
		}
	})
	onlyData := false
	for i := 0; i < len(words); i++ {
		w := words[i]
		var f *pflag.Flag
		var val string
		hasVal := false
		switch {
		case !onlyData && w == "--":
			onlyData = true
			continue
		case !onlyData && strings.HasPrefix(w, "--"):
			opt := w[2:]
			if k, v, ok := strings.Cut(opt, "="); ok {
				opt, val, hasVal = k, v, true
			}
			if opt == "help" {
				return errHelp
			}
			if to, ok := c.Annotations[annAliasPrefix+opt]; ok {
				if k, v, ok := strings.Cut(to, "="); ok {
					if hasVal {
						return fmt.Errorf("invalid '=' after option --%s", opt)
					}
					opt, val, hasVal = k, v, true
				} else {
					opt = to
				}
			}
			f = fs.Lookup(opt)
			if f == nil && name == "help" {
				continue // virsh 9.0's help ignores options it does not know
			}
			if f == nil || f.Hidden && len(f.Annotations[annKind]) == 0 {
				return fmt.Errorf("command '%s' doesn't support option --%s", name, opt)
			}
		case !onlyData && len(w) == 2 && w[0] == '-' && fs.ShorthandLookup(w[1:]) != nil &&
			fs.ShorthandLookup(w[1:]).Name != "help":
			// Only virtsh's own additions have a short form (-o). cobra's
			// -h is not one: virsh has no -h after a command, so it is
			// data there (`dominfo -h`: failed to get domain '-h';
			// `dominfo vm -h`: unexpected data '-h').
			f = fs.ShorthandLookup(w[1:])
		default:
			// A bare word fills the first positional option not yet given.
			for _, p := range positional {
				if !p.Changed || flagKind(p) == kArgv {
					f = p
					break
				}
			}
			if f == nil && name == "help" {
				continue // virsh 9.0's help ignores words after the topic
			}
			if f == nil {
				return fmt.Errorf("unexpected data '%s'", w)
			}
			if err := setFlag(fs, f, w); err != nil {
				return err
			}
			continue
		}
		if flagKind(f) == kBool {
			if hasVal {
				return fmt.Errorf("invalid '=' after option --%s", f.Name)
			}
			if f.Changed {
				return fmt.Errorf("option --%s already seen", f.Name)
			}
			if err := fs.Set(f.Name, "true"); err != nil {
				return err
			}
			continue
		}
		if !hasVal {
			if i+1 >= len(words) {
				return fmt.Errorf("expected syntax: --%s <%s>", f.Name, syntaxWord(f))
			}
			i++
			val = words[i]
		}
		if f.Changed && flagKind(f) != kArgv {
			return fmt.Errorf("option --%s already seen", f.Name)
		}
		if err := setFlag(fs, f, val); err != nil {
			return err
		}
	}
	var missing error
	fs.VisitAll(func(f *pflag.Flag) {
		if missing == nil && flagRequired(f) && !f.Changed {
			if p := flagPos(f); p == posReq || p == posOpt {
				missing = fmt.Errorf("command '%s' requires <%s> option", name, f.Name)
			} else {
				missing = fmt.Errorf("command '%s' requires --%s option", name, f.Name)
			}
		}
	})
	return missing
}

func syntaxWord(f *pflag.Flag) string {
	if flagKind(f) == kNumber {
		return "number"
	}
	return "string"
}

func setFlag(fs *pflag.FlagSet, f *pflag.Flag, val string) error {
	if f.Name == "output" && !format.ValidOutput(val) {
		return fmt.Errorf("unknown output format '%s': use table, json or yaml", val)
	}
	return fs.Set(f.Name, val)
}

// action wires a command's RunE: parse the words, stop there when the runner
// is only checking the command string, print help for --help, else run.
//
// The runner runs a command on the tree its check parsed (shell.Runner
// reuses the tree), so the words are parsed once: a second parse of the same
// words on the same flags would find every option "already seen". A tree
// that was not checked (tests, callers of NewTree that build per run) is
// parsed when it runs, as before.
func action(c *cobra.Command, run func(ctx context.Context) error) {
	const (
		unparsed = iota
		parsed
		help
	)
	state := unparsed
	c.RunE = func(c *cobra.Command, args []string) error {
		if state == unparsed {
			err := parseWords(c, args)
			switch {
			case errors.Is(err, errHelp):
				state = help
			case err != nil:
				return err
			default:
				state = parsed
			}
		}
		if shell.CheckOnly(c.Context()) {
			return nil
		}
		if state == help {
			return printCommandHelp(c.OutOrStdout(), c)
		}
		if err := refuseReadOnly(c); err != nil {
			return err
		}
		return run(c.Context())
	}
}

// refuseReadOnly is the one read-only policy of every command: on a read-only
// session (-r, connect --readonly) a command annotated annMutating, or given a
// flag annotated annMutating (blockjob --abort, domblkthreshold <threshold>),
// fails before it looks anything up or calls libvirt. It runs after the words
// are parsed, so option errors come first, as in virsh, and at run time (not
// in the check pass), so earlier commands of a command string still run.
func refuseReadOnly(c *cobra.Command) error {
	sess := shell.SessionFrom(c.Context())
	if sess == nil || !sess.ReadOnly() || !mutatingNow(c) {
		return nil
	}
	return fmt.Errorf("operation forbidden: read only access prevents %s", c.Name())
}

// mutatingNow reports whether c, with the flags it was given, changes state.
func mutatingNow(c *cobra.Command) bool {
	if c.Annotations[annMutating] != "" {
		return true
	}
	mutating := false
	c.Flags().Visit(func(f *pflag.Flag) {
		mutating = mutating || len(f.Annotations[annMutating]) > 0
	})
	return mutating
}

// mutatingFlags marks flags that make their command change state; the
// command itself stays allowed on a read-only connection without them.
func mutatingFlags(c *cobra.Command, names ...string) {
	for _, n := range names {
		f := c.Flags().Lookup(n)
		if f.Annotations == nil {
			f.Annotations = map[string][]string{}
		}
		f.Annotations[annMutating] = []string{"true"}
	}
}

// Alias makes --from an alias of to, which may carry a value ("string=hello"),
// as virsh's VSH_OT_ALIAS. Aliases are hidden from help.
func (s *spec) Alias(from, to string) {
	if s.cmd.Annotations == nil {
		s.cmd.Annotations = map[string]string{}
	}
	s.cmd.Annotations[annAliasPrefix+from] = to
}

const annAliasPrefix = "virtsh_alias_"

// shellErr is virsh's "own message, then libvirt's" error.
func shellErr(msg string, cause error) error { return shell.Errorf2(msg, cause) }
