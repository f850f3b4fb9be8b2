// Package completion is virtsh's one completion engine. cobra's `__complete`
// (and so the bash, zsh, fish and PowerShell scripts) and the REPL's readline
// completer both call it, so every shell offers the same candidates.
//
// It follows virsh's vshReadlineParse (virsh-reference.md §7.8): with no
// command yet, command names; when the word under the cursor is the value of
// an option that has a completer, that completer's values; else the --names of
// the options not given yet. It reads the options from the command's flag
// annotations (see cmd/spec.go) and imports nothing of virtsh's: the host is
// reached through the small Host interface.
package completion

import (
	"errors"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// Annotation keys written by cmd/spec.go (a cmd test checks they match).
const (
	AnnKind        = "virtsh_kind"      // bool, string, number, argv
	AnnPos         = "virtsh_pos"       // req, opt, unwanted, none
	AnnCompleter   = "virtsh_completer" // [kind, argument]
	AnnAliasPrefix = "virtsh_alias_"    // command annotation: alias --from -> to
)

// Completer kinds (the first element of a flag's AnnCompleter annotation).
// The second element is the kind's argument, where it takes one.
const (
	KindDomain        = "domain"         // arg: state filter, see ParseDomainFilter
	KindDomainUUID    = "domain-uuid"    // UUIDs of the domains (domname); arg: state filter
	KindOutput        = "output"         // table json yaml
	KindCommand       = "command"        // command names and group keywords (help)
	KindURI           = "uri"            // libvirt.conf uri_aliases and common URIs
	KindDir           = "dir"            // directories
	KindFile          = "file"           // any local file
	KindDisk          = "disk"           // disk targets of the command's domain (vda)
	KindDiskIndex     = "disk-index"     // vda and vda[N]; arg: name of the option holding the disk (path)
	KindDiskList      = "disk-list"      // comma list of disk targets and sources (undefine --storage)
	KindBlockJob      = "blockjob"       // disks with a block job running
	KindCheckpoint    = "checkpoint"     // checkpoint names of the command's domain
	KindSnapshot      = "snapshot"       // snapshot names of the command's domain
	KindEvent         = "event"          // domain event names
	KindShutdownMode  = "shutdown-mode"  // comma list of acpi,agent,initctl,signal,paravirt
	KindStorageFormat = "storage-format" // disk image formats (blockcopy --format)
	KindEnum          = "enum"           // arg: comma-separated fixed values
	KindList          = "list"           // arg: comma-separated values, completed as a comma list
	KindNone          = "none"           // intentionally nothing (virshCompleteEmpty)
)

// Kinds lists every completer kind the engine knows. A cmd test walks the
// command tree and fails on an annotation naming any other kind (which would
// silently complete nothing).
var Kinds = []string{
	KindDomain, KindDomainUUID, KindOutput, KindCommand, KindURI, KindDir, KindFile,
	KindDisk, KindDiskIndex, KindDiskList, KindBlockJob, KindCheckpoint, KindSnapshot,
	KindEvent, KindShutdownMode, KindStorageFormat, KindEnum, KindList, KindNone,
}

// KnownKind reports whether kind is one of Kinds.
func KnownKind(kind string) bool {
	for _, k := range Kinds {
		if k == kind {
			return true
		}
	}
	return false
}

// Candidate is one completion and its description (a domain's state, a
// command's short help); shells that show descriptions show it.
type Candidate struct {
	Value string
	Desc  string
}

// Result is the candidates for the word under the cursor and cobra's
// directive telling the shell what to do with them (no file completion, no
// trailing space, directories only, ...).
type Result struct {
	Cands     []Candidate
	Directive cobra.ShellCompDirective
}

// DefaultTimeout bounds every query to the host: a host that does not answer
// gives no candidates rather than a hung terminal.
const DefaultTimeout = 2 * time.Second

// Completer completes the words of one command line over a command tree.
type Completer struct {
	Root *cobra.Command
	// Host returns the host to query. It is called only when a completer
	// needs live data, under Timeout; it may connect.
	Host func() (Host, error)
	// Timeout for each host query (connect included); 0 means DefaultTimeout.
	Timeout time.Duration

	timedOut atomic.Bool
}

// TimedOut reports whether a host query was given up on: its goroutine may
// still be inside libvirt, so the host must not be closed under it.
func (c *Completer) TimedOut() bool { return c.timedOut.Load() }

// query runs f against the host under the timeout. On any error or timeout it
// returns nil: completion never reports errors.
func query[T any](c *Completer, f func(Host) (T, error)) (T, bool) {
	var zero T
	if c.Host == nil {
		return zero, false
	}
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	type res struct {
		v   T
		err error
	}
	ch := make(chan res, 1)
	go func() {
		defer func() {
			if r := recover(); r != nil {
				ch <- res{err: errors.New("completion: host query panicked")}
			}
		}()
		h, err := c.Host()
		if err != nil {
			ch <- res{err: err}
			return
		}
		v, err := f(h)
		ch <- res{v, err}
	}()
	select {
	case r := <-ch:
		return r.v, r.err == nil
	case <-time.After(timeout):
		// The goroutine is left to finish (or not) on its own; nothing
		// waits for it and its result is dropped.
		c.timedOut.Store(true)
		return zero, false
	}
}

// Complete completes words: the command name and its arguments as typed, the
// last being the (possibly empty) word under the cursor.
func (c *Completer) Complete(words []string) Result {
	if len(words) == 0 {
		words = []string{""}
	}
	if len(words) == 1 {
		return Result{Cands: filter(commandCandidates(c.Root, false), words[0]), Directive: cobra.ShellCompDirectiveNoFileComp}
	}
	cmd := findCommand(c.Root, words[0])
	if cmd == nil {
		return Result{Directive: cobra.ShellCompDirectiveNoFileComp}
	}
	return c.completeArgs(cmd, words[1:len(words)-1], words[len(words)-1])
}

func findCommand(root *cobra.Command, name string) *cobra.Command {
	for _, c := range root.Commands() {
		if c.Name() == name || c.HasAlias(name) {
			return c
		}
	}
	return nil
}

// commandCandidates lists the visible commands (and, for help, the group
// keywords), sorted.
func commandCandidates(root *cobra.Command, groups bool) []Candidate {
	var out []Candidate
	for _, c := range root.Commands() {
		if c.Hidden || c.Deprecated != "" || strings.HasPrefix(c.Name(), "__") {
			continue
		}
		out = append(out, Candidate{c.Name(), c.Short})
	}
	if groups {
		for _, g := range root.Groups() {
			out = append(out, Candidate{g.ID, g.Title})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Value < out[j].Value })
	return out
}

func annotation(f *pflag.Flag, key string) string {
	if v := f.Annotations[key]; len(v) > 0 {
		return v[0]
	}
	return ""
}

func isBool(f *pflag.Flag) bool {
	if k := annotation(f, AnnKind); k != "" {
		return k == "bool"
	}
	return f.Value.Type() == "bool"
}

func isArgv(f *pflag.Flag) bool { return annotation(f, AnnKind) == "argv" }

func isPositional(f *pflag.Flag) bool {
	p := annotation(f, AnnPos)
	return p != "" && p != "none"
}

// partial is the state of a command parsed up to the cursor (virsh's
// "partial" parse: errors are ignored).
type partial struct {
	cmd    *cobra.Command
	given  map[string]bool
	values map[string]string
}

// Value returns the value given for the option name, if any.
func (p *partial) Value(name string) string { return p.values[name] }

// domain returns the value of the command's domain option.
func (p *partial) domain() string {
	var name string
	p.cmd.Flags().VisitAll(func(f *pflag.Flag) {
		if k := annotation(f, AnnCompleter); name == "" && (k == KindDomain || k == KindDomainUUID) {
			name = f.Name
		}
	})
	if name == "" {
		name = "domain"
	}
	return p.values[name]
}

func (p *partial) set(f *pflag.Flag, v string) {
	p.given[f.Name] = true
	if isArgv(f) {
		return
	}
	p.values[f.Name] = v
}

// lookupOpt resolves --name (after aliases) to its flag.
func lookupOpt(cmd *cobra.Command, name string) (*pflag.Flag, string, bool) {
	if to, ok := cmd.Annotations[AnnAliasPrefix+name]; ok {
		if k, v, ok := strings.Cut(to, "="); ok {
			return cmd.Flags().Lookup(k), v, true
		}
		name = to
	}
	return cmd.Flags().Lookup(name), "", false
}

func (c *Completer) completeArgs(cmd *cobra.Command, prev []string, cur string) Result {
	p := &partial{cmd: cmd, given: map[string]bool{}, values: map[string]string{}}
	fs := cmd.Flags()
	var positional []*pflag.Flag
	fs.VisitAll(func(f *pflag.Flag) {
		if isPositional(f) {
			positional = append(positional, f)
		}
	})
	nextPositional := func() *pflag.Flag {
		for _, f := range positional {
			if !p.given[f.Name] || isArgv(f) {
				return f
			}
		}
		return nil
	}
	onlyData := false
	var pending *pflag.Flag
	for _, w := range prev {
		if pending != nil {
			p.set(pending, w)
			pending = nil
			continue
		}
		switch {
		case !onlyData && w == "--":
			onlyData = true
		case !onlyData && strings.HasPrefix(w, "--"):
			name, val, hasVal := strings.Cut(w[2:], "=")
			f, aval, aliasVal := lookupOpt(cmd, name)
			if f == nil {
				continue
			}
			switch {
			case isBool(f):
				p.set(f, "true")
			case hasVal || aliasVal:
				if aliasVal {
					val = aval
				}
				p.set(f, val)
			default:
				pending = f
			}
		case !onlyData && len(w) == 2 && w[0] == '-' && fs.ShorthandLookup(w[1:]) != nil:
			f := fs.ShorthandLookup(w[1:])
			if isBool(f) {
				p.set(f, "true")
			} else {
				pending = f
			}
		default:
			if f := nextPositional(); f != nil {
				p.set(f, w)
			}
		}
	}
	if pending != nil {
		return c.values(p, pending, cur, "")
	}
	if !onlyData && strings.HasPrefix(cur, "--") {
		if name, val, ok := strings.Cut(cur[2:], "="); ok {
			f, _, alias := lookupOpt(cmd, name)
			if f == nil || isBool(f) || alias {
				return Result{Directive: cobra.ShellCompDirectiveNoFileComp}
			}
			return c.values(p, f, val, "--"+name+"=")
		}
	}
	if !onlyData && strings.HasPrefix(cur, "-") {
		return Result{Cands: filter(optionNames(p), cur), Directive: cobra.ShellCompDirectiveNoFileComp}
	}
	if f := nextPositional(); f != nil && annotation(f, AnnCompleter) != "" {
		r := c.values(p, f, cur, "")
		// virsh offers option names for an empty positional (§7.8 quirk);
		// virtsh offers the values and falls back to the names only when
		// there are none.
		if len(r.Cands) > 0 || cur != "" || r.Directive&(cobra.ShellCompDirectiveFilterDirs) != 0 || r.Directive == cobra.ShellCompDirectiveDefault {
			return r
		}
	}
	if cur == "" && !onlyData {
		return Result{Cands: optionNames(p), Directive: cobra.ShellCompDirectiveNoFileComp}
	}
	return Result{Directive: cobra.ShellCompDirectiveNoFileComp}
}

// optionNames lists --name for every visible option not given yet (argv
// options may repeat), in declaration order as virsh lists them.
func optionNames(p *partial) []Candidate {
	var out []Candidate
	p.cmd.Flags().VisitAll(func(f *pflag.Flag) {
		if f.Hidden || (p.given[f.Name] && !isArgv(f)) {
			return
		}
		out = append(out, Candidate{"--" + f.Name, firstLine(f.Usage)})
	})
	return out
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return strings.TrimSpace(s)
}

// filter keeps the candidates that start with prefix.
func filter(cands []Candidate, prefix string) []Candidate {
	out := cands[:0:0]
	for _, c := range cands {
		if strings.HasPrefix(c.Value, prefix) {
			out = append(out, c)
		}
	}
	return out
}

func names(vals ...string) []Candidate {
	out := make([]Candidate, 0, len(vals))
	for _, v := range vals {
		out = append(out, Candidate{Value: v})
	}
	return out
}

// values completes the value of option f; prefix is put back in front of
// each candidate (for --opt=value words).
func (c *Completer) values(p *partial, f *pflag.Flag, cur, prefix string) Result {
	spec := f.Annotations[AnnCompleter]
	kind, arg := "", ""
	if len(spec) > 0 {
		kind = spec[0]
	}
	if len(spec) > 1 {
		arg = spec[1]
	}
	noFile := cobra.ShellCompDirectiveNoFileComp
	var cands []Candidate
	dir := noFile
	switch kind {
	case KindDomain:
		flt := ParseDomainFilter(arg)
		doms, _ := query(c, func(h Host) ([]Domain, error) { return h.Domains(flt) })
		for _, d := range doms {
			cands = append(cands, Candidate{d.Name, d.State})
		}
	case KindDomainUUID:
		// virshDomainUUIDCompleter: the UUIDs, the name as description.
		flt := ParseDomainFilter(arg)
		doms, _ := query(c, func(h Host) ([]Domain, error) { return h.Domains(flt) })
		for _, d := range doms {
			if d.UUID != "" {
				cands = append(cands, Candidate{d.UUID, d.Name})
			}
		}
	case KindOutput:
		cands = names("table", "json", "yaml")
	case KindCommand:
		cands = commandCandidates(c.Root, true)
	case KindURI:
		cands = uriCandidates()
	case KindDir:
		return Result{Directive: cobra.ShellCompDirectiveFilterDirs}
	case KindFile:
		return Result{Directive: cobra.ShellCompDirectiveDefault}
	case KindDisk, KindDiskIndex, KindDiskList:
		dom := p.domain()
		if dom == "" {
			break
		}
		xml, ok := query(c, func(h Host) (string, error) { return h.DomainXML(dom) })
		if !ok {
			break
		}
		disks := parseDisks(xml)
		switch kind {
		case KindDisk:
			for _, d := range disks {
				cands = append(cands, Candidate{d.Target, d.Source})
			}
		case KindDiskIndex:
			only := ""
			if arg != "" {
				only = p.Value(arg)
			}
			for _, d := range disks {
				if only != "" && !d.named(only) {
					continue
				}
				cands = append(cands, Candidate{d.Target, d.Source})
				for _, e := range d.Chain {
					cands = append(cands, Candidate{e.Name, e.Source})
				}
			}
		case KindDiskList:
			var vals []string
			for _, d := range disks {
				vals = append(vals, d.Target)
				if d.Source != "" {
					vals = append(vals, d.Source)
				}
			}
			return commaList(vals, cur, prefix)
		}
	case KindBlockJob:
		if dom := p.domain(); dom != "" {
			disks, _ := query(c, func(h Host) ([]string, error) { return h.BlockJobDisks(dom) })
			cands = names(disks...)
		}
	case KindCheckpoint:
		if dom := p.domain(); dom != "" {
			v, _ := query(c, func(h Host) ([]string, error) { return h.Checkpoints(dom) })
			cands = names(v...)
		}
	case KindSnapshot:
		if dom := p.domain(); dom != "" {
			v, _ := query(c, func(h Host) ([]string, error) { return h.Snapshots(dom) })
			cands = names(v...)
		}
	case KindEvent:
		cands = names(EventNames...)
	case KindShutdownMode:
		return commaList(ShutdownModes, cur, prefix)
	case KindStorageFormat:
		cands = names(StorageFormats...)
	case KindEnum:
		cands = names(splitList(arg)...)
	case KindList:
		return commaList(splitList(arg), cur, prefix)
	}
	if prefix != "" {
		for i := range cands {
			cands[i].Value = prefix + cands[i].Value
		}
		cur = prefix + cur
	}
	return Result{Cands: filter(cands, cur), Directive: dir}
}

func splitList(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// commaList completes a comma-separated list as virsh's
// virshCommaStringListComplete: the part before the last comma is kept, the
// values already in it are not offered again; no space is added so the user
// may go on with another comma.
func commaList(all []string, cur, prefix string) Result {
	head, last := "", cur
	if i := strings.LastIndexByte(cur, ','); i >= 0 {
		head, last = cur[:i+1], cur[i+1:]
	}
	used := map[string]bool{}
	for _, v := range strings.Split(strings.TrimSuffix(head, ","), ",") {
		used[v] = true
	}
	var out []Candidate
	for _, v := range all {
		if !used[v] && strings.HasPrefix(v, last) {
			out = append(out, Candidate{Value: prefix + head + v})
		}
	}
	return Result{Cands: out, Directive: cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveNoSpace}
}

// EventNames are virsh 9.0's `event --list` names.
var EventNames = []string{
	"lifecycle", "reboot", "rtc-change", "watchdog", "io-error", "graphics", "io-error-reason",
	"control-error", "block-job", "disk-change", "tray-change", "pm-wakeup", "pm-suspend",
	"balloon-change", "pm-suspend-disk", "device-removed", "block-job-2", "tunable",
	"agent-lifecycle", "device-added", "migration-iteration", "job-completed",
	"device-removal-failed", "metadata-change", "block-threshold", "memory-failure",
	"memory-device-size-change",
}

// ShutdownModes are the --mode values of shutdown and reboot.
var ShutdownModes = []string{"acpi", "agent", "initctl", "signal", "paravirt"}

// StorageFormats are libvirt's storage file formats
// (virshDomainStorageFileFormatCompleter).
var StorageFormats = []string{
	"raw", "dir", "bochs", "cloop", "dmg", "iso", "vpc", "vdi", "fat", "vhd", "ploop",
	"cow", "qcow", "qcow2", "qed", "vmdk",
}
