// Package blocknodes is virtsh's cache of QEMU block node names, per
// connection and running guest.
//
// libvirt 9.0 always uses -blockdev and names every QEMU block node itself:
// libvirt-<index>-format and libvirt-<index>-storage, where index is the
// `index` attribute of the disk's <source>/<backingStore> in the live XML. So
// the cache is filled from the live XML ("xml" method), read by shell/domain,
// and QEMU's monitor is asked ("qmp" method, query-named-block-nodes) only
// when the user wants it: every qemu-monitor-command taints the guest
// (custom-monitor) until it restarts.
//
// Fill points: first sight of a running guest after connect/reconnect,
// lifecycle started, block-job completed/ready/failed/canceled and virtsh's
// own snapshot/checkpoint/block-job-start and qemu-monitor-command calls
// (Refill); device added/removed, tray/disk change and virtsh's own hotplug,
// detach and media calls (Changed: a fill only if the disks did change).
// Event handlers, Refill and Changed only mark an entry stale with the
// reason; the fill runs at the next use, so a block job's ready+completed
// pair, or a job start and its completion, cost one fill, not three, a
// hotplug and its device-added event one, and the event goroutine never
// makes a libvirt call.
//
// Before an entry is handed out it is checked: the domain ID and the chain
// indexes of every disk from one bulk-stats call (GetAllDomainStats with
// block+backing) must equal what they were at the fill. Another client's
// snapshot raises no event; this check catches it (a verify miss) and
// re-derives.
//
// The types here are the cache's model; `debug node-names` prints them
// through views of its own.
package blocknodes

import (
	"errors"
	"io"
	"os"
	"sort"
	"sync"
	"time"

	"libvirt.org/go/libvirt"

	"github.com/virtsh/virtsh/shell/domain"
)

// Fill reasons shown by `debug node-names`.
const (
	ReasonConnect    = "connect"
	ReasonStarted    = "started"
	ReasonMigrated   = "migrated" // started on this host by an incoming migration
	ReasonBlockJob   = "block-job"
	ReasonSnapshot   = "snapshot"
	ReasonCheckpoint = "checkpoint"
	ReasonHotplug    = "hotplug"
	ReasonMedia      = "media"
	ReasonVerifyMiss = "verify-miss"
	ReasonManual     = "manual"
	ReasonMonitor    = "monitor-command"
	reasonReconnect  = "reconnect"
)

// Fill methods.
const (
	MethodXML = "xml"
	MethodQMP = "qmp"
)

// ErrNotRunning is returned for a guest that is not running: it has no block
// nodes (libvirt's wording, as SetBlockThreshold would say it).
var ErrNotRunning = errors.New("Requested operation is not valid: domain is not running")

// Layer is one member of a disk's chain (or a block-copy mirror): the source
// as the XML describes it, and the QEMU nodes libvirt made for it.
type Layer struct {
	domain.Source
	FormatNode  string
	StorageNode string
	SliceNode   string // libvirt-N-slice-sto, under a non-raw format on a storage slice
	// Bitmaps are the persistent dirty bitmaps QEMU holds on FormatNode;
	// only a QMP scrape (GetScraped, Verify, scrape mode) knows them, and
	// BitmapsKnown says one did.
	Bitmaps      []string
	BitmapsKnown bool
	Threshold    uint64 // armed write threshold (bytes), 0: none
	Capacity     uint64 // from bulk stats at the last check
}

// Dev is the name libvirt uses for this layer: "vda[2]".
func (l *Layer) Dev(target string) string { return domain.Dev(target, l.Index) }

// Disk is one disk of a running guest.
type Disk struct {
	Target string
	Alias  string
	Device string
	// CopyOnRead is the copy-on-read filter node above the top format node
	// (libvirt-CoR-<target>), "" without <driver copy_on_read='on'/>.
	CopyOnRead  string
	Chain       []Layer // [0] is the active layer
	Mirror      *Layer
	MirrorJob   string
	MirrorReady string
}

// Layer returns the chain member (or mirror) with the index, or the top when
// index is 0.
func (d *Disk) Layer(index uint) *Layer {
	if index == 0 {
		if len(d.Chain) == 0 {
			return nil
		}
		return &d.Chain[0]
	}
	for i := range d.Chain {
		if d.Chain[i].Index == index {
			return &d.Chain[i]
		}
	}
	if d.Mirror != nil && d.Mirror.Index == index {
		return d.Mirror
	}
	return nil
}

// A Disk is a domain.Chain, so a disk word is matched against the cache by
// shell/domain's rule.
func (d *Disk) ChainTarget() string              { return d.Target }
func (d *Disk) ChainLen() int                    { return len(d.Chain) }
func (d *Disk) ChainSource(i int) *domain.Source { return &d.Chain[i].Source }
func (d *Disk) ChainMirror() *domain.Source {
	if d.Mirror == nil {
		return nil
	}
	return &d.Mirror.Source
}

// FillRecord says when, why, how and how fast an entry was filled.
type FillRecord struct {
	When   time.Time
	Reason string
	Method string
	Took   time.Duration
}

// Counters are the cache's statistics (per domain and in total).
type Counters struct {
	Fills        int
	Scrapes      int
	VerifyHits   int
	VerifyMisses int
	Lookups      int // unchecked cached lookups (NodeName)
}

// Entry is the cache entry of one running guest.
type Entry struct {
	UUID     string
	Name     string
	ID       uint
	Stale    string // pending fill reason
	Last     FillRecord
	History  []FillRecord
	Counters Counters
	Disks    []Disk

	sig     string            // ID + chain indexes from bulk stats at the fill
	aliases map[string]string // alias → target (tray/device events carry aliases)
	// ifChanged: Stale was set by Changed, so the fill is due only if the
	// check shows the disks changed since the last one.
	ifChanged bool
}

// Disk returns the disk with the target, or nil.
func (e *Entry) Disk(target string) *Disk {
	for i := range e.Disks {
		if e.Disks[i].Target == target {
			return &e.Disks[i]
		}
	}
	return nil
}

// Lookup resolves a disk word (vda, vda[N], a source path) to a disk and
// layer, by shell/domain's matcher: what a command was given, or the dev of
// a libvirt event.
func (e *Entry) Lookup(w domain.DiskWord) (*Disk, *Layer, bool) {
	for i := range e.Disks {
		d := &e.Disks[i]
		if pos, ok := w.Layer(d); ok {
			if pos == domain.MirrorLayer {
				return d, d.Mirror, true
			}
			return d, &d.Chain[pos], true
		}
	}
	return nil, nil, false
}

func (e *Entry) clone() *Entry {
	c := *e
	c.History = append([]FillRecord(nil), e.History...)
	c.Disks = make([]Disk, len(e.Disks))
	for i, disk := range e.Disks {
		c.Disks[i] = disk
		c.Disks[i].Chain = append([]Layer(nil), disk.Chain...)
		for j := range c.Disks[i].Chain {
			c.Disks[i].Chain[j].Bitmaps = append([]string{}, disk.Chain[j].Bitmaps...)
		}
		if disk.Mirror != nil {
			m := *disk.Mirror
			c.Disks[i].Mirror = &m
		}
	}
	c.aliases = nil
	return &c
}

// Connector is where the cache gets the connection to register its event
// callbacks on: the session's current one (shell.Session satisfies it).
type Connector interface {
	Conn() (*libvirt.Connect, error)
}

// Cache is the node-name cache of one session's connection.
type Cache struct {
	conns Connector
	warn  io.Writer
	be    backend

	mu sync.Mutex
	// scrapeMode makes fills use QMP (VIRTSH_NODE_NAME_SCRAPE=1, or
	// `debug node-names --scrape-mode on`): the user's explicit choice,
	// since it taints every guest it touches.
	scrapeMode bool
	doms       map[string]*Entry
	pending    map[string]string // uuid → reason for the first fill of a guest not cached yet
	totals     Counters
	warned     map[string]bool  // taint warning printed once per guest
	evConn     *libvirt.Connect // the connection the callbacks are registered on
	// daemon is the connection's daemon libvirt version (0: not asked yet),
	// which decides its node naming; asked once per connection.
	daemon uint32
}

// New makes a cache whose callbacks go on conns' connection and whose taint
// warnings go to warn. It registers its event callbacks lazily (on its first
// use with a connection), so commands that never touch it cost nothing.
// Scrape mode starts as VIRTSH_NODE_NAME_SCRAPE says.
func New(conns Connector, warn io.Writer) *Cache { return newCache(conns, warn, libvirtBackend{}) }

func newCache(conns Connector, warn io.Writer, be backend) *Cache {
	if warn == nil {
		warn = io.Discard
	}
	return &Cache{
		conns: conns, warn: warn, be: be, scrapeMode: os.Getenv("VIRTSH_NODE_NAME_SCRAPE") == "1",
		doms: map[string]*Entry{}, pending: map[string]string{}, warned: map[string]bool{},
	}
}

// Reconnected is called by the session after it (re)connects: the old
// connection's callbacks are gone and another client may have changed any
// guest meanwhile, so every entry is re-derived at its next use. Counters and
// fill history are kept.
func (c *Cache) Reconnected() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.evConn = nil
	c.daemon = 0
	for _, d := range c.doms {
		d.Stale = reasonReconnect
	}
}

// ScrapeMode reports whether every fill asks QEMU (the session setting).
func (c *Cache) ScrapeMode() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.scrapeMode
}

// SetScrapeMode turns the session setting on or off. Entries already cached
// stay as they are until their next fill.
func (c *Cache) SetScrapeMode(on bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.scrapeMode = on
}

// Totals returns the counters over every guest since the session started.
func (c *Cache) Totals() Counters {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.totals
}

// Refill marks a guest's entry for re-derivation at its next use, with the
// reason recorded for `debug node-names`. Commands call it right after their
// own snapshot, checkpoint, block-job start and media calls, which raise no
// libvirt event. It makes no libvirt call.
func (c *Cache) Refill(uuid, reason string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.markLocked(uuid, reason)
}

// RefillDomain is Refill for a domain object.
func (c *Cache) RefillDomain(d *libvirt.Domain, reason string) {
	if uuid, err := d.GetUUIDString(); err == nil {
		c.Refill(uuid, reason)
	}
}

func (c *Cache) markLocked(uuid, reason string) {
	if d := c.doms[uuid]; d != nil {
		d.Stale, d.ifChanged = reason, false
	} else {
		c.pending[uuid] = reason
	}
}

// Changed says a guest's disks may have changed: a hotplug, unplug or media
// change, by virtsh right after its own call returns (whether it succeeded
// or not: a failed hotplug may have used up an index) or seen in a
// device-added, device-removed, tray-change or disk-change event. Each of
// these adds, removes or renumbers a disk in the bulk stats, so the check
// before the next use tells whether it happened: if it did, that use
// re-derives the entry with this reason; if not (nothing changed, or the
// entry was filled after the change, as when the event of our own hotplug
// arrives after the fill it caused), it costs no fill. A guest not cached
// yet is filled at first use anyway. It makes no libvirt call.
func (c *Cache) Changed(uuid, reason string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if d := c.doms[uuid]; d != nil && (d.Stale == "" || d.ifChanged) {
		d.Stale, d.ifChanged = reason, true
	}
}

// ChangedDomain is Changed for a domain object.
func (c *Cache) ChangedDomain(d *libvirt.Domain, reason string) {
	if uuid, err := d.GetUUIDString(); err == nil {
		c.Changed(uuid, reason)
	}
}

// Drop forgets a guest (it stopped).
func (c *Cache) Drop(uuid string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.doms, uuid)
	delete(c.pending, uuid)
}

// Cached returns a copy of the entry without any check or libvirt call.
func (c *Cache) Cached(uuid string) *Entry {
	c.mu.Lock()
	defer c.mu.Unlock()
	if d := c.doms[uuid]; d != nil {
		return d.clone()
	}
	return nil
}

// CachedUUIDs lists the guests in the cache.
func (c *Cache) CachedUUIDs() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]string, 0, len(c.doms))
	for u := range c.doms {
		out = append(out, u)
	}
	sort.Strings(out)
	return out
}

// Get returns a checked copy of the guest's entry: the check costs one
// bulk-stats call; a missing, stale or mismatching entry is (re)filled. A
// guest that is not running has no entry (ErrNotRunning).
func (c *Cache) Get(d *libvirt.Domain) (*Entry, error) {
	return c.get(d, false)
}

// GetScraped is Get with the fill done through QMP (the user asked for it).
func (c *Cache) GetScraped(d *libvirt.Domain) (*Entry, error) {
	return c.get(d, true)
}

func (c *Cache) get(d *libvirt.Domain, forceQMP bool) (*Entry, error) {
	c.ensureEvents()
	uuid, err := d.GetUUIDString()
	if err != nil {
		return nil, err
	}
	st, err := c.be.stats(d)
	if err != nil {
		return nil, err
	}
	if !st.active {
		c.Drop(uuid)
		return nil, ErrNotRunning
	}
	c.mu.Lock()
	e := c.doms[uuid]
	reason := ""
	switch {
	case e == nil:
		reason = ReasonConnect
		if r := c.pending[uuid]; r != "" {
			reason = r
		}
	case e.Stale != "" && (!e.ifChanged || e.sig != st.sig):
		reason = e.Stale
		if reason == reasonReconnect {
			reason = ReasonConnect
		}
	case e.sig != st.sig:
		e.Counters.VerifyMisses++
		c.totals.VerifyMisses++
		reason = ReasonVerifyMiss
	default:
		// A Changed mark the check clears: the entry already holds it.
		e.Stale, e.ifChanged = "", false
		e.Counters.VerifyHits++
		c.totals.VerifyHits++
	}
	if reason == "" && forceQMP {
		reason = ReasonManual
	}
	if reason == "" {
		applyStats(e, st)
		out := e.clone()
		c.mu.Unlock()
		return out, nil
	}
	useQMP := forceQMP || c.scrapeMode
	c.mu.Unlock()
	return c.fill(d, uuid, st, reason, useQMP)
}

// Naming is the node naming of d's daemon, whose libvirt version is asked
// once per connection (and again after a reconnect).
func (c *Cache) Naming(d *libvirt.Domain) Naming {
	c.mu.Lock()
	v := c.daemon
	c.mu.Unlock()
	if v == 0 {
		var err error
		if v, err = c.be.daemonVersion(d); err == nil {
			c.mu.Lock()
			c.daemon = v
			c.mu.Unlock()
		}
	}
	return NamingOf(v)
}

// fill derives the entry from the live XML (or QMP) and stores it.
func (c *Cache) fill(d *libvirt.Domain, uuid string, st chainStats, reason string, useQMP bool) (*Entry, error) {
	start := time.Now()
	xmlDesc, err := c.be.liveXML(d)
	if err != nil {
		return nil, err
	}
	name, _ := d.GetName()
	e, err := Derive(xmlDesc, c.Naming(d))
	if err != nil {
		return nil, err
	}
	e.UUID, e.Name, e.ID, e.sig = uuid, name, st.id, st.sig
	method := MethodXML
	scraped := false
	if useQMP {
		sc, err := c.scrape(d, name)
		if err != nil {
			return nil, err
		}
		applyScrape(e, sc)
		method, scraped = MethodQMP, true
	}
	applyStats(e, st)
	rec := FillRecord{When: start.UTC(), Reason: reason, Method: method, Took: time.Since(start)}

	c.mu.Lock()
	defer c.mu.Unlock()
	if old := c.doms[uuid]; old != nil {
		e.Counters = old.Counters
		e.History = old.History
	}
	e.Counters.Fills++
	c.totals.Fills++
	if scraped {
		e.Counters.Scrapes++
		c.totals.Scrapes++
	}
	e.Last = rec
	e.History = append(e.History, rec)
	if len(e.History) > 16 {
		e.History = e.History[len(e.History)-16:]
	}
	delete(c.pending, uuid)
	c.doms[uuid] = e
	return e.clone(), nil
}

func applyStats(e *Entry, st chainStats) {
	for i := range e.Disks {
		disk := &e.Disks[i]
		for j := range disk.Chain {
			l := &disk.Chain[j]
			if s, ok := st.layers[l.Dev(disk.Target)]; ok {
				l.Threshold, l.Capacity = s.threshold, s.capacity
			}
		}
	}
}
