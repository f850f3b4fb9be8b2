// Package completion is virtsh's one completion engine. cobra's `__complete`
// (and so the bash, zsh, fish and PowerShell scripts) and the REPL's readline
// completer both call it, so every shell offers the same candidates.
//
// It follows virsh's vshReadlineParse: with no command yet, command names;
// when the word under the cursor is the value of an option that has a
// completer, that completer's values; else the --names of the options not
// given yet. It reads the commands' declarations (shell/spec) and parses the
// words before the cursor with their partial parse, so completion and the
// parser cannot disagree; the host is reached through the small Host
// interface.
package completion

import (
	"errors"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"

	"github.com/virtsh/virtsh/shell/spec"
)

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

// Catalog is what the engine reads of the commands: their declarations.
type Catalog struct {
	// Lookup returns the declaration of the command called name (nil if none).
	Lookup func(name string) *spec.Command
	// All returns every command's declaration (command names, help topics).
	All func() []*spec.Command
	// Groups are the group keywords `help` takes, with their titles.
	Groups []Candidate
}

// Completer completes the words of one command line.
type Completer struct {
	Commands Catalog
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
		return Result{Cands: filter(c.commandCandidates(false), words[0]), Directive: cobra.ShellCompDirectiveNoFileComp}
	}
	cmd := c.Commands.Lookup(words[0])
	if cmd == nil {
		return Result{Directive: cobra.ShellCompDirectiveNoFileComp}
	}
	return c.completeArgs(cmd, words[1:len(words)-1], words[len(words)-1])
}

// commandCandidates lists the visible commands (and, for help, the group
// keywords), sorted.
func (c *Completer) commandCandidates(groups bool) []Candidate {
	var out []Candidate
	for _, cmd := range c.Commands.All() {
		if !cmd.Hidden {
			out = append(out, Candidate{cmd.Name, cmd.Short})
		}
	}
	if groups {
		out = append(out, c.Commands.Groups...)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Value < out[j].Value })
	return out
}

// completeArgs completes the word cur after the command's words prev, as
// virsh's vshReadlineParse: the value of the option before it, an option
// name, or the value of the next positional option.
func (c *Completer) completeArgs(cmd *spec.Command, prev []string, cur string) Result {
	p := cmd.ParsePartial(prev)
	if p.Pending != nil {
		return c.values(p, p.Pending, cur, "")
	}
	if !p.OnlyData && strings.HasPrefix(cur, "--") {
		if name, val, ok := strings.Cut(cur[2:], "="); ok {
			o, aliased := p.Resolve(name)
			if o == nil || o.Kind == spec.Bool || aliased {
				return Result{Directive: cobra.ShellCompDirectiveNoFileComp}
			}
			return c.values(p, o, val, "--"+name+"=")
		}
	}
	if !p.OnlyData && strings.HasPrefix(cur, "-") {
		return Result{Cands: filter(optionNames(p), cur), Directive: cobra.ShellCompDirectiveNoFileComp}
	}
	if o := p.Next(); o != nil && o.Completer.Kind != spec.NoCompleter {
		r := c.values(p, o, cur, "")
		// virsh offers option names for an empty positional (its
		// completion quirk); virtsh offers the values and falls back to
		// the names only when there are none.
		if len(r.Cands) > 0 || cur != "" || r.Directive&(cobra.ShellCompDirectiveFilterDirs) != 0 || r.Directive == cobra.ShellCompDirectiveDefault {
			return r
		}
	}
	if cur == "" && !p.OnlyData {
		return Result{Cands: optionNames(p), Directive: cobra.ShellCompDirectiveNoFileComp}
	}
	return Result{Directive: cobra.ShellCompDirectiveNoFileComp}
}

// optionNames lists --name for every visible option not given yet (argv
// options may repeat), in declaration order as virsh lists them.
func optionNames(p *spec.Partial) []Candidate {
	var out []Candidate
	for _, o := range p.Cmd.Options {
		if o.Hidden || (p.Given(o.Name) && o.Kind != spec.Argv) {
			continue
		}
		out = append(out, Candidate{"--" + o.Name, firstLine(o.Help)})
	}
	return out
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return strings.TrimSpace(l)
}

func filter(cands []Candidate, prefix string) []Candidate {
	var out []Candidate
	for _, c := range cands {
		if strings.HasPrefix(c.Value, prefix) {
			out = append(out, c)
		}
	}
	return out
}

func names(vals ...string) []Candidate {
	out := make([]Candidate, len(vals))
	for i, v := range vals {
		out[i] = Candidate{Value: v}
	}
	return out
}

// values completes the value of option o; prefix is put back in front of
// each candidate (for --opt=value words).
func (c *Completer) values(p *spec.Partial, o *spec.Option, cur, prefix string) Result {
	kind, arg := o.Completer.Kind, o.Completer.Arg
	domain := func() string { return p.Values[p.Cmd.DomainOption()] }
	noFile := cobra.ShellCompDirectiveNoFileComp
	var cands []Candidate
	dir := noFile
	switch kind {
	case spec.Domain:
		flt := ParseDomainFilter(arg)
		doms, _ := query(c, func(h Host) ([]Domain, error) { return h.Domains(flt) })
		for _, d := range doms {
			cands = append(cands, Candidate{d.Name, d.State})
		}
	case spec.DomainUUID:
		// virshDomainUUIDCompleter: the UUIDs, the name as description.
		flt := ParseDomainFilter(arg)
		doms, _ := query(c, func(h Host) ([]Domain, error) { return h.Domains(flt) })
		for _, d := range doms {
			if d.UUID != "" {
				cands = append(cands, Candidate{d.UUID, d.Name})
			}
		}
	case spec.Output:
		cands = names("table", "json", "yaml")
	case spec.CommandName:
		cands = c.commandCandidates(true)
	case spec.URI:
		cands = uriCandidates()
	case spec.Dir:
		return Result{Directive: cobra.ShellCompDirectiveFilterDirs}
	case spec.File:
		return Result{Directive: cobra.ShellCompDirectiveDefault}
	case spec.Disk, spec.DiskIndex, spec.DiskList, spec.RemovableDisk:
		dom := domain()
		if dom == "" {
			break
		}
		xml, ok := query(c, func(h Host) (string, error) { return h.DomainXML(dom) })
		if !ok {
			break
		}
		disks := parseDisks(xml)
		switch kind {
		case spec.Disk:
			for _, d := range disks {
				cands = append(cands, Candidate{d.Target, d.Source})
			}
		case spec.RemovableDisk:
			// virsh offers every disk target for change-media; the ones
			// it accepts are cdroms and floppies.
			for _, d := range disks {
				if d.def.Device == "cdrom" || d.def.Device == "floppy" {
					cands = append(cands, Candidate{d.Target, d.Source})
				}
			}
		case spec.DiskIndex:
			only := ""
			if arg != "" {
				only = p.Values[arg]
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
		case spec.DiskList:
			var vals []string
			for _, d := range disks {
				vals = append(vals, d.Target)
				if d.Source != "" {
					vals = append(vals, d.Source)
				}
			}
			return commaList(vals, cur, prefix)
		}
	case spec.BlockJob:
		if dom := domain(); dom != "" {
			disks, _ := query(c, func(h Host) ([]string, error) { return h.BlockJobDisks(dom) })
			cands = names(disks...)
		}
	case spec.Checkpoint:
		if dom := domain(); dom != "" {
			v, _ := query(c, func(h Host) ([]string, error) { return h.Checkpoints(dom) })
			cands = names(v...)
		}
	case spec.Snapshot:
		if dom := domain(); dom != "" {
			v, _ := query(c, func(h Host) ([]string, error) { return h.Snapshots(dom) })
			cands = names(v...)
		}
	case spec.DeviceAlias:
		if dom := domain(); dom != "" {
			if xml, ok := query(c, func(h Host) (string, error) { return h.DomainXML(dom) }); ok {
				cands = names(deviceAliases(xml)...)
			}
		}
	case spec.Event:
		cands = names(EventNames...)
	case spec.ShutdownMode:
		return commaList(ShutdownModes, cur, prefix)
	case spec.StorageFormat:
		cands = names(StorageFormats...)
	case spec.Enum:
		cands = names(splitList(arg)...)
	case spec.List:
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

// OptionValues completes the value of an option outside any command (a
// global option such as --connect); prefix is put back in front of each
// candidate.
func (c *Completer) OptionValues(o *spec.Option, cur, prefix string) Result {
	p := (&spec.Command{Options: []*spec.Option{o}}).ParsePartial(nil)
	return c.values(p, o, cur, prefix)
}
