package cmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"libvirt.org/go/libvirt"
	"libvirt.org/go/libvirtxml"

	"github.com/virtsh/virtsh/shell/blocknodes"
	"github.com/virtsh/virtsh/shell/spec"
)

// The "Debugging virtsh" group: `debug node-names`, a look inside the
// session's block node-name cache (shell/blocknodes).

// debugTopics are the words `debug` accepts first.
var debugTopics = []string{"node-names"}

func newDebugCmd(env *Env) *spec.Command {
	var o struct {
		topic, dom, mode string
		scrape, verify   bool
	}
	c := &spec.Command{
		Short: "look inside virtsh's own caches",
		Long: `debug node-names [DOMAIN] dumps virtsh's block node-name cache: per running guest
and disk, each chain layer's index, QEMU node names (libvirt-N-format/-storage),
source, format, bitmaps and armed threshold; when, why (connect, started,
block-job, snapshot, checkpoint, hotplug, media, verify-miss, manual), how (xml
or qmp) and how fast the entry was last filled; and counters of fills, QMP
scrapes and verify hits and misses. Without DOMAIN: every running guest.

Node names are derived from the live XML's index attributes, with no QEMU
monitor access. --scrape fills the entry from QEMU's query-named-block-nodes
instead (this also shows checkpoint bitmaps on every layer); --verify keeps the
derived entry, asks QEMU once and lists every difference. Without either, the
bitmaps of each qcow2 disk's top layer are derived from the checkpoint XML and
marked "(derived)"; lower layers show "?". Both use qemu-monitor-command, which
marks the guest tainted (custom-monitor) until it restarts.

--scrape-mode on makes every later fill of this session use QMP (and so show
bitmaps), --scrape-mode off goes back to the XML; it only sets the mode and
dumps nothing. The mode starts on when VIRTSH_NODE_NAME_SCRAPE=1.`,
		Example: "debug node-names\ndebug node-names vm1 -o json\ndebug node-names vm1 --verify\ndebug node-names --scrape-mode on",
	}
	f := c.String(&o.topic, "topic", "what to show: node-names", spec.Req, true)
	f.Complete(spec.Enum, strings.Join(debugTopics, ","))
	f = c.String(&o.dom, "domain", "domain name, id or uuid (default: every running guest)", spec.Opt, false)
	f.Complete(spec.Domain, "running")
	c.Bool(&o.scrape, "scrape", "fill from QEMU (query-named-block-nodes); taints the guest")
	c.Bool(&o.verify, "verify", "compare the cache with QEMU once and list differences; taints the guest")
	c.String(&o.mode, "scrape-mode", "on: every later fill of this session uses QMP (taints guests); off: the live XML", spec.Named, false).Complete(spec.Enum, "on,off")
	outputOption(c, env.IO)
	// qemu-monitor-command is refused on a read-only connection.
	c.MutatingOptions("scrape", "verify")
	c.Exclusive("scrape", "verify")
	c.Hosts = spec.EachHost // a read: on every selected host
	c.Run = func(ctx context.Context) error {
		if o.topic != "node-names" {
			return fmt.Errorf("unknown debug topic '%s': use %s", o.topic, strings.Join(debugTopics, ", "))
		}
		if c.Given("scrape-mode") {
			return setScrapeMode(env, o.mode, o.dom, o.scrape || o.verify)
		}
		return runDebugNodeNames(env, o.dom, o.scrape, o.verify)
	}
	return c
}

// setScrapeMode is `debug node-names --scrape-mode on|off`: the session's
// setting for whether fills scrape QEMU (a `set` built-in would be a command
// virsh does not have; the option stays with the cache it controls).
func setScrapeMode(env *Env, mode, dom string, other bool) error {
	if dom != "" || other {
		return errors.New("Option --scrape-mode takes no <domain>, --scrape or --verify")
	}
	var on bool
	switch mode {
	case "on":
		on = true
	case "off":
	default:
		return fmt.Errorf("invalid scrape mode '%s': use on or off", mode)
	}
	env.Sess.Nodes().SetScrapeMode(on)
	env.IO.Extra("Node-name scrape mode: %s\n", mode)
	return nil
}

// nodeDumpView is the -o json|yaml form of `debug node-names` (and, drawn
// by renderNodeDump, its text): the cache's model as this command shows it.
type nodeDumpView struct {
	Domains    []nodeDomView `json:"domains" yaml:"domains"`
	Totals     countersView  `json:"totals" yaml:"totals"`
	ScrapeMode bool          `json:"scrape_mode" yaml:"scrape_mode"`
}

type nodeDomView struct {
	UUID     string          `json:"uuid" yaml:"uuid"`
	Name     string          `json:"name" yaml:"name"`
	ID       uint            `json:"id" yaml:"id"`
	Stale    string          `json:"stale,omitempty" yaml:"stale,omitempty"` // pending fill reason
	Last     fillView        `json:"last_fill" yaml:"last_fill"`
	History  []fillView      `json:"fill_history" yaml:"fill_history"`
	Counters countersView    `json:"counters" yaml:"counters"`
	Disks    []diskNodesView `json:"disks" yaml:"disks"`
	Verify   *verifyView     `json:"verify,omitempty" yaml:"verify,omitempty"`
}

type fillView struct {
	When   time.Time     `json:"when" yaml:"when"`
	Reason string        `json:"reason" yaml:"reason"`
	Method string        `json:"method" yaml:"method"`
	Took   time.Duration `json:"took_ns" yaml:"took_ns"`
}

type countersView struct {
	Fills        int `json:"fills" yaml:"fills"`
	Scrapes      int `json:"scrapes" yaml:"scrapes"`
	VerifyHits   int `json:"verify_hits" yaml:"verify_hits"`
	VerifyMisses int `json:"verify_misses" yaml:"verify_misses"`
	Lookups      int `json:"lookups" yaml:"lookups"` // unchecked cached lookups
}

type diskNodesView struct {
	Target     string      `json:"target" yaml:"target"`
	Alias      string      `json:"alias" yaml:"alias"`
	Device     string      `json:"device" yaml:"device"`
	CopyOnRead string      `json:"copy_on_read,omitempty" yaml:"copy_on_read,omitempty"`
	Chain      []layerView `json:"chain" yaml:"chain"` // [0] is the active layer
	Mirror     *layerView  `json:"mirror,omitempty" yaml:"mirror,omitempty"`
	MirrorJob  string      `json:"mirror_job,omitempty" yaml:"mirror_job,omitempty"`
	MirrorRdy  string      `json:"mirror_ready,omitempty" yaml:"mirror_ready,omitempty"`
}

// layerView is one chain layer; Source is the source's name as domblklist
// shows it (shell/domain's SourceName).
type layerView struct {
	Index       uint     `json:"index" yaml:"index"`
	Type        string   `json:"type" yaml:"type"` // file, block, network, volume, ...
	Source      string   `json:"source" yaml:"source"`
	Format      string   `json:"format" yaml:"format"`
	FormatNode  string   `json:"format_node" yaml:"format_node"`
	StorageNode string   `json:"storage_node" yaml:"storage_node"`
	SliceNode   string   `json:"slice_node,omitempty" yaml:"slice_node,omitempty"`
	Bitmaps     []string `json:"bitmaps" yaml:"bitmaps"`
	// BitmapsKnown: the bitmaps come from a QMP scrape (--scrape/--verify).
	BitmapsKnown bool `json:"bitmaps_known" yaml:"bitmaps_known"`
	// BitmapsDerived: not asked of QEMU but derived by deriveBitmaps from
	// the checkpoint XML. Lower layers may hold older copies QEMU alone
	// knows of.
	BitmapsDerived bool   `json:"bitmaps_derived,omitempty" yaml:"bitmaps_derived,omitempty"`
	Threshold      uint64 `json:"threshold" yaml:"threshold"` // armed write threshold (bytes), 0: none
	Capacity       uint64 `json:"capacity" yaml:"capacity"`   // from bulk stats at the last check
}

type verifyView struct {
	Differences []string `json:"differences" yaml:"differences"`
}

func nodeDomViewOf(e *blocknodes.Entry) nodeDomView {
	v := nodeDomView{UUID: e.UUID, Name: e.Name, ID: e.ID, Stale: e.Stale, Last: fillView(e.Last),
		History: make([]fillView, len(e.History)), Counters: countersView(e.Counters), Disks: make([]diskNodesView, len(e.Disks))}
	for i, f := range e.History {
		v.History[i] = fillView(f)
	}
	for i, d := range e.Disks {
		dv := diskNodesView{Target: d.Target, Alias: d.Alias, Device: d.Device, CopyOnRead: d.CopyOnRead,
			Chain: make([]layerView, len(d.Chain)), MirrorJob: d.MirrorJob, MirrorRdy: d.MirrorReady}
		for j := range d.Chain {
			dv.Chain[j] = layerViewOf(&d.Chain[j])
		}
		if d.Mirror != nil {
			m := layerViewOf(d.Mirror)
			dv.Mirror = &m
		}
		v.Disks[i] = dv
	}
	return v
}

func layerViewOf(l *blocknodes.Layer) layerView {
	return layerView{Index: l.Index, Type: l.Kind, Source: l.Name, Format: l.Format, FormatNode: l.FormatNode,
		StorageNode: l.StorageNode, SliceNode: l.SliceNode, Bitmaps: append([]string{}, l.Bitmaps...),
		BitmapsKnown: l.BitmapsKnown, Threshold: l.Threshold, Capacity: l.Capacity}
}

func runDebugNodeNames(env *Env, domWord string, scrape, verify bool) error {
	conn, err := env.Sess.Conn()
	if err != nil {
		return err
	}
	var doms []*libvirt.Domain
	if domWord != "" {
		d, err := env.lookupDomain(domWord)
		if err != nil {
			return err
		}
		doms = append(doms, d)
	} else {
		all, err := conn.ListAllDomains(libvirt.CONNECT_LIST_DOMAINS_ACTIVE)
		if err != nil {
			return msgThenCause("Failed to list domains", err)
		}
		for i := range all {
			doms = append(doms, &all[i])
		}
	}
	defer func() {
		for _, d := range doms {
			_ = d.Free()
		}
	}()
	cache := env.Sess.Nodes()
	view := nodeDumpView{Domains: []nodeDomView{}}
	for _, d := range doms {
		var e *blocknodes.Entry
		var diff []string
		switch {
		case verify:
			if e, diff, err = cache.Verify(d); err == nil {
				diff = append(diff, bitmapDiff(d, e)...)
			}
		case scrape:
			e, err = cache.GetScraped(d)
		default:
			e, err = cache.Get(d)
		}
		if err == blocknodes.ErrNotRunning && domWord == "" {
			continue // stopped since the listing
		}
		if err != nil {
			return err
		}
		v := nodeDomViewOf(e)
		if !scrape && !verify {
			deriveBitmaps(d, &v)
		}
		if verify {
			if diff == nil {
				diff = []string{}
			}
			v.Verify = &verifyView{Differences: diff}
		}
		view.Domains = append(view.Domains, v)
	}
	view.Totals = countersView(cache.Totals())
	view.ScrapeMode = cache.ScrapeMode()
	if env.IO.Structured() {
		return env.IO.Encode(view)
	}
	renderNodeDump(env.IO.Out, view)
	return nil
}

// checkpointBitmaps is, per disk target, the bitmaps libvirt's checkpoint
// metadata says the disk's top layer holds: every checkpoint with
// checkpoint='bitmap' on a disk (its bitmap name, or the checkpoint's).
// It costs one call per checkpoint, so it runs for the dump and --verify
// only, never at a fill. ok is false when a checkpoint could not be read.
func checkpointBitmaps(d *libvirt.Domain) (byDisk map[string][]string, ok bool) {
	cps, err := d.ListAllCheckpoints(0)
	if err != nil {
		return nil, false
	}
	byDisk, ok = map[string][]string{}, true
	for i := range cps {
		x, err := cps[i].GetXMLDesc(0)
		_ = cps[i].Free()
		var def libvirtxml.DomainCheckpoint
		if err != nil || def.Unmarshal(x) != nil {
			ok = false
			continue
		}
		if def.Disks == nil {
			continue
		}
		for _, disk := range def.Disks.Disks {
			if disk.Checkpoint != "bitmap" {
				continue
			}
			name := disk.Bitmap
			if name == "" {
				name = def.Name
			}
			byDisk[disk.Name] = append(byDisk[disk.Name], name)
		}
	}
	for _, b := range byDisk {
		sort.Strings(b)
	}
	return byDisk, ok
}

// deriveBitmaps fills the bitmaps of each qcow2 disk's top layer, when QEMU
// was not asked, from the checkpoint metadata (checkpointBitmaps) and
// fills the dump's view. A failure leaves the bitmaps unknown ("?").
func deriveBitmaps(d *libvirt.Domain, e *nodeDomView) {
	byDisk, ok := checkpointBitmaps(d)
	if !ok {
		return
	}
	for i := range e.Disks {
		disk := &e.Disks[i]
		if len(disk.Chain) == 0 || disk.Chain[0].BitmapsKnown || disk.Chain[0].Format != "qcow2" {
			continue
		}
		top := &disk.Chain[0]
		top.Bitmaps = append([]string{}, byDisk[disk.Target]...)
		top.BitmapsDerived = true
	}
}

// bitmapDiff compares the bitmaps QEMU holds on each qcow2 disk's top
// layer (e, just scraped) with what the checkpoint metadata says: a bitmap
// left behind by `checkpoint-delete --metadata`, or a checkpoint whose
// bitmap is gone, is a difference --verify reports.
func bitmapDiff(d *libvirt.Domain, e *blocknodes.Entry) []string {
	byDisk, ok := checkpointBitmaps(d)
	if !ok {
		return []string{"checkpoint metadata could not be read: bitmaps not compared"}
	}
	var out []string
	for _, disk := range e.Disks {
		if len(disk.Chain) == 0 || !disk.Chain[0].BitmapsKnown || disk.Chain[0].Format != "qcow2" {
			continue
		}
		top := disk.Chain[0]
		want := map[string]bool{}
		for _, b := range byDisk[disk.Target] {
			want[b] = true
		}
		have := map[string]bool{}
		for _, b := range top.Bitmaps {
			have[b] = true
			if !want[b] {
				out = append(out, fmt.Sprintf("%s: bitmap %s on %s in QEMU, no checkpoint names it", top.Dev(disk.Target), b, top.FormatNode))
			}
		}
		for _, b := range byDisk[disk.Target] {
			if !have[b] {
				out = append(out, fmt.Sprintf("%s: checkpoint bitmap %s not on %s in QEMU", top.Dev(disk.Target), b, top.FormatNode))
			}
		}
	}
	return out
}

// renderNodeDump writes the text form: per guest a header, the fill record
// and counters, then one aligned row per chain layer. It is hand-aligned
// rather than drawn with tablewriter so that a dump of hundreds of disks
// stays cheap (BenchmarkRenderNodeDump measures it).
func renderNodeDump(w io.Writer, v nodeDumpView) {
	var b strings.Builder
	for i, d := range v.Domains {
		if i > 0 {
			b.WriteByte('\n')
		}
		fmt.Fprintf(&b, "Domain '%s' (uuid %s, id %d)\n", d.Name, d.UUID, d.ID)
		fmt.Fprintf(&b, "  last fill:  %s  reason %s  method %s  took %s\n",
			d.Last.When.Format(time.RFC3339Nano), d.Last.Reason, d.Last.Method, d.Last.Took)
		c := d.Counters
		fmt.Fprintf(&b, "  counters:   fills %d  scrapes %d  verify hits %d  verify misses %d\n",
			c.Fills, c.Scrapes, c.VerifyHits, c.VerifyMisses)
		rows := [][]string{{"Target", "Index", "Alias", "Format node", "Storage node", "Format", "Bitmaps", "Threshold", "Source"}}
		for _, disk := range d.Disks {
			for j, l := range disk.Chain {
				alias := ""
				if j == 0 {
					alias = disk.Alias
				}
				rows = append(rows, layerRow(disk.Target, alias, &l, ""))
			}
			if disk.Mirror != nil {
				rows = append(rows, layerRow(disk.Target, "", disk.Mirror, "mirror:"+disk.MirrorJob))
			}
			if disk.CopyOnRead != "" {
				rows = append(rows, []string{disk.Target, "-", "", disk.CopyOnRead, "-", "copy-on-read", "-", "-", "-"})
			}
		}
		writeAligned(&b, rows)
		if d.Verify != nil {
			if len(d.Verify.Differences) == 0 {
				b.WriteString("  verify: the cache matches QEMU\n")
			} else {
				fmt.Fprintf(&b, "  verify: %d difference(s) with QEMU:\n", len(d.Verify.Differences))
				for _, l := range d.Verify.Differences {
					fmt.Fprintf(&b, "    %s\n", l)
				}
			}
		}
	}
	t := v.Totals
	if len(v.Domains) > 0 {
		b.WriteByte('\n')
	}
	fmt.Fprintf(&b, "Session totals: fills %d  scrapes %d  verify hits %d  verify misses %d  cached lookups %d\n",
		t.Fills, t.Scrapes, t.VerifyHits, t.VerifyMisses, t.Lookups)
	if v.ScrapeMode {
		b.WriteString("Scrape mode: on (every fill asks QEMU)\n")
	}
	_, _ = io.WriteString(w, b.String())
}

func layerRow(target, alias string, l *layerView, note string) []string {
	dash := func(s string) string {
		if s == "" {
			return "-"
		}
		return s
	}
	bitmaps := "?"
	switch {
	case l.BitmapsKnown:
		bitmaps = dash(strings.Join(l.Bitmaps, ","))
	case l.BitmapsDerived:
		bitmaps = dash(strings.Join(l.Bitmaps, ",")) + " (derived)"
	}
	thr := "-"
	if l.Threshold > 0 {
		thr = strconv.FormatUint(l.Threshold, 10)
	}
	format := dash(l.Format)
	if note != "" {
		format += " (" + note + ")"
	}
	return []string{target, strconv.FormatUint(uint64(l.Index), 10), dash(alias), dash(l.FormatNode), dash(l.StorageNode), format, bitmaps, thr, dash(l.Source)}
}

// writeAligned prints rows as virsh's tables look (" cell" padded to the
// column width plus two spaces, last column unpadded), header first.
func writeAligned(b *strings.Builder, rows [][]string) {
	widths := make([]int, len(rows[0]))
	for _, r := range rows {
		for i, c := range r {
			if len(c) > widths[i] {
				widths[i] = len(c)
			}
		}
	}
	for _, r := range rows {
		b.WriteString("  ")
		for i, c := range r {
			b.WriteByte(' ')
			b.WriteString(c)
			if i < len(r)-1 {
				b.WriteString(strings.Repeat(" ", widths[i]-len(c)+2))
			}
		}
		b.WriteByte('\n')
	}
}
