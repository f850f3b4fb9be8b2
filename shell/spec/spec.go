// Package spec is virtsh's command language, virsh's vshCmdDef and
// vshCmdOptDef in Go: a command is a declaration (name, group, help, typed
// options, the rules between them, its policy) plus a run function. The one
// parser of command words lives here, with virsh's rules and messages, and
// so does the partial parse that completion uses: help, man pages,
// completion and the read-only check all read these declarations, never
// annotations on flags.
//
// It imports nothing of virtsh's, so the completion engine can read it too.
package spec

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// Kind is what an option takes.
type Kind uint8

const (
	Bool   Kind = iota // --name, no value
	String             // --name VALUE
	Number             // --name VALUE, converted by the command (virsh reports bad numbers when it reads them)
	Argv               // every remaining bare word, or --name VALUE repeated
)

// Pos says whether bare words fill an option, and how help shows it.
type Pos uint8

const (
	Named    Pos = iota // only as --name
	Req                 // <name>: filled by a bare word, shown as required
	Opt                 // [<name>]: filled by a bare word, shown as optional
	Unwanted            // shown as --name, still filled by a bare word (virsh 9.0's VSH_OT_STRING after data options)
)

// CompleterKind names the values completion offers for an option.
type CompleterKind uint8

const (
	// NoCompleter is the zero value: the option's completer was not
	// declared. A test of the command table fails on a string option that
	// has none.
	NoCompleter   CompleterKind = iota
	Nothing                     // intentionally nothing (virsh's virshCompleteEmpty): a name the user makes up
	Domain                      // domain names; Arg: a state filter (completion.ParseDomainFilter)
	DomainUUID                  // domain UUIDs (domname); Arg: a state filter
	Output                      // table json yaml
	CommandName                 // command names and group keywords (help)
	URI                         // libvirt.conf uri_aliases and common URIs
	Dir                         // directories
	File                        // any local file
	Disk                        // disk targets of the command's domain
	DiskIndex                   // vda and vda[N]; Arg: the option that holds the disk, if not the word itself
	DiskList                    // comma list of disk targets and sources
	BlockJob                    // disks with a block job running
	Checkpoint                  // checkpoint names of the command's domain
	Snapshot                    // snapshot names of the command's domain
	Event                       // domain event names
	ShutdownMode                // comma list of acpi, agent, initctl, signal, paravirt
	StorageFormat               // disk image formats
	Enum                        // Arg: the comma-separated values
	List                        // Arg: the comma-separated values, completed as a comma list
	RemovableDisk               // targets of the command's domain's cdroms and floppies
	DeviceAlias                 // device aliases of the command's domain (<alias name>)
)

// Completer is an option's completer and its argument.
type Completer struct {
	Kind CompleterKind
	Arg  string
}

// Option is one declared option of a command.
type Option struct {
	Name  string
	Help  string
	Short byte // a one-letter spelling after the command (only virtsh's -o)
	Kind  Kind
	Pos   Pos
	// Required: the command fails to parse without it.
	Required bool
	// AllowEmpty: an empty value is accepted (virsh's VSH_OFLAG_EMPTY_OK);
	// otherwise a given empty string is refused before the command runs.
	AllowEmpty bool
	// Hidden options parse but are left out of help and completion.
	Hidden bool
	// Mutating: giving it makes an otherwise read-only command change state
	// (blockjob --abort), so a read-only session refuses it.
	Mutating bool
	// Inert: giving it makes a command that changes state change nothing
	// (--print-xml prints what it would send), so a read-only session
	// allows it.
	Inert     bool
	Completer Completer

	set   func(string) error
	given bool
	value string // the last value given (string kinds)
}

// Given reports whether the option appeared in the parsed words.
func (o *Option) Given() bool { return o.given }

// Value is the last value given to a string option ("" if none).
func (o *Option) Value() string { return o.value }

// Complete sets the option's completer.
func (o *Option) Complete(kind CompleterKind, arg ...string) *Option {
	o.Completer = Completer{Kind: kind, Arg: strings.Join(arg, ",")}
	return o
}

// Empty marks the option as accepting an empty value.
func (o *Option) Empty() *Option {
	o.AllowEmpty = true
	return o
}

// Syntax is the word help shows for the option's value.
func (o *Option) Syntax() string {
	if o.Kind == Number {
		return "number"
	}
	return "string"
}

// alias is virsh's VSH_OT_ALIAS: --from means --to, maybe with a value.
type alias struct {
	from, to, value string
	hasValue        bool
}

// rule is a relation between options checked before the command runs, in
// declaration order, with virsh's words (VSH_EXCLUSIVE_OPTIONS,
// VSH_REQUIRE_OPTION).
type rule struct {
	exclusive bool
	a, b      string
}

// Command is one declared command: what help, man pages and completion read,
// the bindings its parse fills, and its run function.
type Command struct {
	Name    string
	Group   string
	Short   string // virsh's one-line help
	Long    string // virsh's description
	Example string // virtsh's examples, one per line
	Hidden  bool
	// NoConnect: the command never needs a connection (help, echo, ...).
	NoConnect bool
	// Mutating: the command changes state; a read-only session refuses it.
	Mutating bool
	// ReadOnlyByLibvirt: on a read-only session the command runs anyway,
	// and libvirt refuses its change (as it refuses virsh's).
	ReadOnlyByLibvirt bool
	// Lenient: unknown options and extra words are ignored (virsh 9.0's
	// help does so).
	Lenient bool
	// Hosts is how the command runs when several hosts are selected
	// (--hosts, the `hosts` built-in): the one declaration the fleet reads.
	Hosts HostsMode
	// HostsWhen, with Hosts EachHost or EachHostStream: the command fans out
	// only when this option is given (blockjob --info, event --loop);
	// otherwise it runs as HostsRouted.
	HostsWhen string
	Options   []*Option
	// Run does the command's work with the parsed options.
	Run func(ctx context.Context) error

	aliases []alias
	rules   []rule
}

// HostsMode says how a command runs on a selection of hosts.
type HostsMode uint8

const (
	// HostsRouted (the default): a command on a guest runs on the one
	// selected host that has the guest; one without a guest option is
	// refused.
	HostsRouted HostsMode = iota
	// EachHost: a read-only data command runs on every selected host at
	// once (on the ones that have its guest, if it names one), and the
	// results are shown together with a first Host column.
	EachHost
	// EachHostStream: as EachHost for a command that streams until stopped
	// (event --loop): each host's lines are printed as they come, prefixed
	// with the host; only connecting is bounded by --host-timeout.
	EachHostStream
	// HostsSelf: the command handles the selection itself (host-list, hosts).
	HostsSelf
)

// FansOut reports whether the command, as parsed, runs on every selected
// host (EachHost or EachHostStream, with its HostsWhen option given if it
// has one).
func (c *Command) FansOut() bool {
	if c.Hosts != EachHost && c.Hosts != EachHostStream {
		return false
	}
	return c.HostsWhen == "" || c.Given(c.HostsWhen)
}

func (c *Command) add(o *Option) *Option {
	c.Options = append(c.Options, o)
	return o
}

// Bool declares --name.
func (c *Command) Bool(p *bool, name, help string) *Option {
	return c.add(&Option{Name: name, Help: help, Kind: Bool, set: func(string) error { *p = true; return nil }})
}

// String declares a string option.
func (c *Command) String(p *string, name, help string, pos Pos, required bool) *Option {
	return c.add(&Option{Name: name, Help: help, Kind: String, Pos: pos, Required: required,
		set: func(v string) error { *p = v; return nil }})
}

// Number declares an option whose value is numeric, kept as text.
func (c *Command) Number(p *string, name, help string, pos Pos, required bool) *Option {
	o := c.String(p, name, help, pos, required)
	o.Kind = Number
	return o
}

// Argv declares a repeatable option that takes every remaining bare word.
func (c *Command) Argv(p *[]string, name, help string, pos Pos, required bool) *Option {
	return c.add(&Option{Name: name, Help: help, Kind: Argv, Pos: pos, Required: required, AllowEmpty: true,
		set: func(v string) error { *p = append(*p, v); return nil }})
}

// Func declares a string option whose value set checks and stores
// (-o/--output validates its format as it is read).
func (c *Command) Func(name, help string, set func(string) error) *Option {
	return c.add(&Option{Name: name, Help: help, Kind: String, set: set})
}

// Alias makes --from mean --to; to may carry a value ("string=hello").
func (c *Command) Alias(from, to string) {
	a := alias{from: from, to: to}
	if k, v, ok := strings.Cut(to, "="); ok {
		a.to, a.value, a.hasValue = k, v, true
	}
	c.aliases = append(c.aliases, a)
}

// Exclusive declares that a and b may not be given together.
func (c *Command) Exclusive(a, b string) {
	c.rules = append(c.rules, rule{exclusive: true, a: a, b: b})
}

// Requires declares that a may only be given with b.
func (c *Command) Requires(a, b string) { c.rules = append(c.rules, rule{a: a, b: b}) }

// Lookup returns the option called name (nil if none).
func (c *Command) Lookup(name string) *Option {
	for _, o := range c.Options {
		if o.Name == name {
			return o
		}
	}
	return nil
}

// Given reports whether the option called name was given.
func (c *Command) Given(name string) bool {
	o := c.Lookup(name)
	return o != nil && o.given
}

// resolve finds the option of --name, after aliases.
func (c *Command) resolve(name string) (o *Option, value string, hasValue bool) {
	for _, a := range c.aliases {
		if a.from == name {
			return c.Lookup(a.to), a.value, a.hasValue
		}
	}
	return c.Lookup(name), "", false
}

func (c *Command) shortOption(w string) *Option {
	if len(w) != 2 || w[0] != '-' {
		return nil
	}
	for _, o := range c.Options {
		if o.Short != 0 && o.Short == w[1] {
			return o
		}
	}
	return nil
}

// positional lists the options bare words fill, in declaration order.
func (c *Command) positional() []*Option {
	var out []*Option
	for _, o := range c.Options {
		if o.Pos != Named {
			out = append(out, o)
		}
	}
	return out
}

// nextPositional is the option the next bare word fills.
func nextPositional(pos []*Option) *Option {
	for _, o := range pos {
		if !o.given || o.Kind == Argv {
			return o
		}
	}
	return nil
}

// ErrHelp is returned by Parse when --help appears among the words (virsh
// turns it into `help COMMAND`).
var ErrHelp = errors.New("help requested")

// isOptionWord reports whether w names an option: virsh takes `--X...` as
// one only when X is a letter or digit, so `----x` or `--=` is data.
func isOptionWord(w string) bool {
	if len(w) < 3 || w[0] != '-' || w[1] != '-' {
		return false
	}
	c := w[2]
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// Parse fills the command's bindings from words (what follows the command
// name) with virsh's vshCommandParse rules: `--opt value`, `--opt=value`,
// bare words filling positional options in declaration order, `--` ending
// options; then it checks that every required option was given. `--help`
// is a boolean option of every command: once the words parse, it turns the
// command into `help COMMAND` (ErrHelp), with no required option needed.
// Its errors are virsh's words.
func (c *Command) Parse(words []string) error {
	pos := c.positional()
	onlyData, help := false, false
	for i := 0; i < len(words); i++ {
		w := words[i]
		var o *Option
		var val string
		hasVal := false
		switch {
		case !onlyData && w == "--":
			onlyData = true
			continue
		case !onlyData && isOptionWord(w):
			name := w[2:]
			if k, v, ok := strings.Cut(name, "="); ok {
				name, val, hasVal = k, v, true
			}
			if name == "help" && c.Lookup("help") == nil {
				if hasVal {
					return fmt.Errorf("invalid '=' after option --help")
				}
				help = true
				continue
			}
			var aliasVal string
			var aliased bool
			o, aliasVal, aliased = c.resolve(name)
			if aliased {
				if hasVal {
					return fmt.Errorf("invalid '=' after option --%s", name)
				}
				val, hasVal = aliasVal, true
			}
			if o == nil {
				if c.Lenient {
					continue
				}
				return fmt.Errorf("command '%s' doesn't support option --%s", c.Name, name)
			}
			// virsh's vshCmdGetOption refuses a repeat as it looks the
			// option up, before its value is read.
			if o.given && o.Kind != Argv {
				return fmt.Errorf("option --%s already seen", o.Name)
			}
		case !onlyData && c.shortOption(w) != nil:
			// Only virtsh's own additions have a short form (-o); virsh
			// has none after a command, so `-h` there is data
			// (`dominfo -h`: failed to get domain '-h').
			o = c.shortOption(w)
			if o.given && o.Kind != Argv {
				return fmt.Errorf("option --%s already seen", o.Name)
			}
		default:
			o = nextPositional(pos)
			if o == nil {
				if c.Lenient {
					continue
				}
				return fmt.Errorf("unexpected data '%s'", w)
			}
			if err := o.take(w); err != nil {
				return err
			}
			continue
		}
		if o.Kind == Bool {
			if hasVal {
				return fmt.Errorf("invalid '=' after option --%s", o.Name)
			}
			if err := o.take(""); err != nil {
				return err
			}
			continue
		}
		if !hasVal {
			if i+1 >= len(words) {
				return fmt.Errorf("expected syntax: --%s <%s>", o.Name, o.Syntax())
			}
			i++
			val = words[i]
		}
		if err := o.take(val); err != nil {
			return err
		}
	}
	if help {
		return ErrHelp
	}
	// Every missing option is reported, one error line each, as
	// vshCommandCheckOpts does.
	var missing []error
	for _, o := range c.Options {
		if o.Required && !o.given {
			// virsh says <name> for data options only; a number
			// (VSH_OT_INT) is --name even where a bare word fills it.
			if (o.Pos == Req || o.Pos == Opt) && o.Kind != Number {
				missing = append(missing, fmt.Errorf("command '%s' requires <%s> option", c.Name, o.Name))
			} else {
				missing = append(missing, fmt.Errorf("command '%s' requires --%s option", c.Name, o.Name))
			}
		}
	}
	return errors.Join(missing...)
}

func (o *Option) take(v string) error {
	o.given = true
	o.value = v
	if o.set == nil {
		return nil
	}
	return o.set(v)
}

// Check applies the rules that virsh checks when a command starts rather
// than when it parses: exclusive and required-together options, in
// declaration order, then empty values of options that do not allow them.
func (c *Command) Check() error {
	for _, r := range c.rules {
		if !c.Given(r.a) {
			continue
		}
		switch {
		case r.exclusive && c.Given(r.b):
			return fmt.Errorf("Options --%s and --%s are mutually exclusive", r.a, r.b)
		case !r.exclusive && !c.Given(r.b):
			return fmt.Errorf("Option --%s is required by option --%s", r.b, r.a)
		}
	}
	for _, o := range c.Options {
		if o.given && o.value == "" && o.Kind == String && !o.AllowEmpty {
			return fmt.Errorf("Failed to get option '%s': Option argument is empty", o.Name)
		}
	}
	return nil
}

// MutatingNow reports whether the command, with the options it was given,
// changes state.
func (c *Command) MutatingNow() bool {
	mutating := c.Mutating
	for _, o := range c.Options {
		if o.given && o.Inert {
			return false
		}
		mutating = mutating || o.given && o.Mutating
	}
	return mutating
}

// Partial is a command parsed up to the word under the cursor, as virsh's
// completion parses it: errors are ignored.
type Partial struct {
	Cmd      *Command
	Values   map[string]string // the last value of each string option given
	given    map[string]bool
	Pending  *Option // the option whose value the next word is
	OnlyData bool    // `--` was seen
}

// Given reports whether the option called name was given before the cursor.
func (p *Partial) Given(name string) bool { return p.given[name] }

// Next is the option the word under the cursor fills if it is a bare word.
func (p *Partial) Next() *Option {
	for _, o := range p.Cmd.positional() {
		if !p.given[o.Name] || o.Kind == Argv {
			return o
		}
	}
	return nil
}

// Resolve finds the option of --name (after aliases); aliased reports an
// alias that carries its own value.
func (p *Partial) Resolve(name string) (o *Option, aliased bool) {
	o, _, aliased = p.Cmd.resolve(name)
	return o, aliased
}

// Short finds the option of a one-letter spelling such as -o.
func (p *Partial) Short(w string) *Option { return p.Cmd.shortOption(w) }

// ParsePartial reads the words before the cursor without changing the
// command's bindings.
func (c *Command) ParsePartial(words []string) *Partial {
	p := &Partial{Cmd: c, Values: map[string]string{}, given: map[string]bool{}}
	set := func(o *Option, v string) {
		p.given[o.Name] = true
		if o.Kind != Argv {
			p.Values[o.Name] = v
		}
	}
	for _, w := range words {
		if p.Pending != nil {
			set(p.Pending, w)
			p.Pending = nil
			continue
		}
		switch {
		case !p.OnlyData && w == "--":
			p.OnlyData = true
		case !p.OnlyData && isOptionWord(w):
			name, val, hasVal := strings.Cut(w[2:], "=")
			o, aval, aliased := c.resolve(name)
			switch {
			case o == nil:
			case o.Kind == Bool:
				set(o, "true")
			case aliased:
				set(o, aval)
			case hasVal:
				set(o, val)
			default:
				p.Pending = o
			}
		case !p.OnlyData && c.shortOption(w) != nil:
			if o := c.shortOption(w); o.Kind == Bool {
				set(o, "true")
			} else {
				p.Pending = o
			}
		default:
			if o := p.Next(); o != nil {
				set(o, w)
			}
		}
	}
	return p
}

// DomainOption is the name of the option holding the command's domain: the
// first with a domain completer, else "domain".
func (c *Command) DomainOption() string {
	for _, o := range c.Options {
		if o.Completer.Kind == Domain || o.Completer.Kind == DomainUUID {
			return o.Name
		}
	}
	return "domain"
}

// Domain declares virsh's common <domain> option
// (VIRSH_COMMON_OPT_DOMAIN_FULL), completed with the domains that pass
// filter.
func (c *Command) Domain(p *string, filter string) *Option {
	return c.String(p, "domain", "domain name, id or uuid", Req, true).Complete(Domain, filter)
}

// InertOptions marks options that make a command that changes state change
// nothing (Option.Inert).
func (c *Command) InertOptions(names ...string) {
	for _, n := range names {
		if o := c.Lookup(n); o != nil {
			o.Inert = true
		}
	}
}

// MutatingOptions marks options that make their command change state; the
// command itself stays allowed on a read-only session without them.
func (c *Command) MutatingOptions(names ...string) {
	for _, n := range names {
		if o := c.Lookup(n); o != nil {
			o.Mutating = true
		}
	}
}
