package shell

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"libvirt.org/go/libvirt"
	"libvirt.org/go/libvirtxml"
)

// The block node-name cache.
//
// libvirt 9.0 always uses -blockdev and names every QEMU block node itself:
// libvirt-<index>-format and libvirt-<index>-storage, where index is the
// `index` attribute of the disk's <source>/<backingStore> in the live XML. So
// the cache is filled from the live XML ("xml" method) and QEMU's monitor is
// asked ("qmp" method, query-named-block-nodes) only when the user wants it:
// every qemu-monitor-command taints the guest (custom-monitor) until it
// restarts.
//
// Fill points: first sight of a running guest after connect/reconnect,
// lifecycle started, block-job completed/ready/failed/canceled, device
// added/removed, tray/disk change, and
// virtsh's own snapshot/checkpoint/block-job-start/media calls (Refill). Event
// handlers and Refill only mark an entry stale with the reason; the fill runs
// at the next use, so a block job's ready+completed pair, or a job start and
// its completion, cost one fill, not three, and the event goroutine never
// makes a libvirt call.
//
// Before an entry is handed out it is checked: the domain ID and the chain
// indexes of every disk from one bulk-stats call (GetAllDomainStats with
// block+backing) must equal what they were at the fill. Another client's
// snapshot raises no event; this check catches it (a verify miss) and
// re-derives.

// Fill reasons shown by `debug node-names`.
const (
	ReasonConnect    = "connect"
	ReasonStarted    = "started"
	ReasonBlockJob   = "block-job"
	ReasonSnapshot   = "snapshot"
	ReasonCheckpoint = "checkpoint"
	ReasonHotplug    = "hotplug"
	ReasonMedia      = "media"
	ReasonVerifyMiss = "verify-miss"
	ReasonManual     = "manual"
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

// Layer is one member of a disk's chain (or a block-copy mirror).
type Layer struct {
	Index       uint     `json:"index" yaml:"index"`
	Type        string   `json:"type" yaml:"type"` // file, block, network, volume, ...
	Source      string   `json:"source" yaml:"source"`
	Format      string   `json:"format" yaml:"format"`
	FormatNode  string   `json:"format_node" yaml:"format_node"`
	StorageNode string   `json:"storage_node" yaml:"storage_node"`
	SliceNode   string   `json:"slice_node,omitempty" yaml:"slice_node,omitempty"`
	Bitmaps     []string `json:"bitmaps" yaml:"bitmaps"`
	// BitmapsKnown: bitmaps come only from a QMP scrape (--scrape/--verify).
	BitmapsKnown bool `json:"bitmaps_known" yaml:"bitmaps_known"`
	// BitmapsDerived: not asked of QEMU but derived by `debug node-names`
	// from the checkpoint XML (a checkpoint's bitmap is added on the disk's
	// top format node and follows it through snapshots, copies and
	// commits). Lower layers may hold older copies QEMU alone knows of.
	BitmapsDerived bool   `json:"bitmaps_derived,omitempty" yaml:"bitmaps_derived,omitempty"`
	Threshold      uint64 `json:"threshold" yaml:"threshold"` // armed write threshold (bytes), 0: none
	Capacity       uint64 `json:"capacity" yaml:"capacity"`   // from bulk stats at the last check
}

// Dev is the name libvirt uses for this layer: "vda[2]".
func (l *Layer) Dev(target string) string { return fmt.Sprintf("%s[%d]", target, l.Index) }

// DiskNodes is one disk of a running guest.
type DiskNodes struct {
	Target     string  `json:"target" yaml:"target"`
	Alias      string  `json:"alias" yaml:"alias"`
	Device     string  `json:"device" yaml:"device"`
	CopyOnRead string  `json:"copy_on_read,omitempty" yaml:"copy_on_read,omitempty"`
	Chain      []Layer `json:"chain" yaml:"chain"` // [0] is the active layer
	Mirror     *Layer  `json:"mirror,omitempty" yaml:"mirror,omitempty"`
	MirrorJob  string  `json:"mirror_job,omitempty" yaml:"mirror_job,omitempty"`
	MirrorRdy  string  `json:"mirror_ready,omitempty" yaml:"mirror_ready,omitempty"`
}

// Layer returns the chain member (or mirror) with the index, or the top when
// index is 0.
func (d *DiskNodes) Layer(index uint) *Layer {
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

// FillRecord says when, why, how and how fast an entry was filled.
type FillRecord struct {
	When   time.Time     `json:"when" yaml:"when"`
	Reason string        `json:"reason" yaml:"reason"`
	Method string        `json:"method" yaml:"method"`
	Took   time.Duration `json:"took_ns" yaml:"took_ns"`
}

// Counters are the cache's statistics (per domain and in total).
type Counters struct {
	Fills        int `json:"fills" yaml:"fills"`
	Scrapes      int `json:"scrapes" yaml:"scrapes"`
	VerifyHits   int `json:"verify_hits" yaml:"verify_hits"`
	VerifyMisses int `json:"verify_misses" yaml:"verify_misses"`
	Lookups      int `json:"lookups" yaml:"lookups"` // unchecked cached lookups (NodeName)
}

// DomNodes is the cache entry of one running guest.
type DomNodes struct {
	UUID     string       `json:"uuid" yaml:"uuid"`
	Name     string       `json:"name" yaml:"name"`
	ID       uint         `json:"id" yaml:"id"`
	Stale    string       `json:"stale,omitempty" yaml:"stale,omitempty"` // pending fill reason
	Last     FillRecord   `json:"last_fill" yaml:"last_fill"`
	History  []FillRecord `json:"fill_history" yaml:"fill_history"`
	Counters Counters     `json:"counters" yaml:"counters"`
	Disks    []DiskNodes  `json:"disks" yaml:"disks"`

	sig     string            // ID + chain indexes from bulk stats at the fill
	aliases map[string]string // alias → target (tray/device events carry aliases)
}

// Disk returns the disk with the target, or nil.
func (d *DomNodes) Disk(target string) *DiskNodes {
	for i := range d.Disks {
		if d.Disks[i].Target == target {
			return &d.Disks[i]
		}
	}
	return nil
}

// Find resolves "vda", "vda[N]" or a source path to a disk and layer. It is
// for the event handlers, which get libvirt's own names; commands parse what
// the user typed with cmd's ParseDiskPath and call FindLayer.
func (d *DomNodes) Find(dev string) (*DiskNodes, *Layer) {
	if target, index, ok := SplitDev(dev); ok {
		return d.FindLayer(target, index, "")
	}
	return d.FindLayer("", 0, dev)
}

// FindLayer resolves a parsed disk name: target and chain index (0: the
// active layer), or, with an empty target, a layer's source path.
func (d *DomNodes) FindLayer(target string, index uint, path string) (*DiskNodes, *Layer) {
	if target != "" {
		if disk := d.Disk(target); disk != nil {
			if l := disk.Layer(index); l != nil {
				return disk, l
			}
		}
		return nil, nil
	}
	dev := path
	for i := range d.Disks {
		disk := &d.Disks[i]
		for j := range disk.Chain {
			if disk.Chain[j].Source == dev && dev != "" {
				return disk, &disk.Chain[j]
			}
		}
	}
	return nil, nil
}

// SplitDev splits "vda" or "vda[N]"; index 0 means the active layer. It fails
// for anything else (a path).
func SplitDev(dev string) (target string, index uint, ok bool) {
	if dev == "" || strings.ContainsAny(dev, "/") {
		return "", 0, false
	}
	open := strings.IndexByte(dev, '[')
	if open < 0 {
		return dev, 0, true
	}
	if open == 0 || !strings.HasSuffix(dev, "]") {
		return "", 0, false
	}
	n, err := strconv.ParseUint(dev[open+1:len(dev)-1], 10, 32)
	if err != nil || n == 0 {
		return "", 0, false
	}
	return dev[:open], uint(n), true
}

func (d *DomNodes) clone() *DomNodes {
	c := *d
	c.History = append([]FillRecord(nil), d.History...)
	c.Disks = make([]DiskNodes, len(d.Disks))
	for i, disk := range d.Disks {
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

// chainStats is what one bulk-stats call tells about a guest.
type chainStats struct {
	active bool
	id     uint
	sig    string
	layers map[string]statLayer // "vda[2]" → values
}

type statLayer struct {
	path                string
	threshold, capacity uint64
}

// nodeBackend is every libvirt call the cache makes; tests and benchmarks
// count them with a fake.
type nodeBackend interface {
	stats(d *libvirt.Domain) (chainStats, error)
	liveXML(d *libvirt.Domain) (string, error)
	qmp(d *libvirt.Domain, cmd string) (string, error)
}

// NodeCache is the per-connection cache, owned by the Session.
type NodeCache struct {
	sess *Session
	be   nodeBackend

	mu sync.Mutex
	// scrape makes fills use QMP (VIRTSH_NODE_NAME_SCRAPE=1, or
	// `debug node-names --scrape-mode on`): the user's explicit choice,
	// since it taints every guest it touches.
	scrapeMode bool
	doms       map[string]*DomNodes
	pending    map[string]string // uuid → reason for the first fill of a guest not cached yet
	totals     Counters
	warned     map[string]bool // taint warning printed once per guest
	evConn     *libvirt.Connect
	evIDs      []int
}

// Nodes returns the session's node-name cache, creating it on first use. The
// cache registers its event callbacks lazily (on its first use with a
// connection), so commands that never touch it cost nothing.
func (s *Session) Nodes() *NodeCache {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.nodes == nil {
		s.nodes = newNodeCache(s, libvirtBackend{})
	}
	return s.nodes
}

func newNodeCache(s *Session, be nodeBackend) *NodeCache {
	return &NodeCache{
		sess: s, be: be, scrapeMode: os.Getenv("VIRTSH_NODE_NAME_SCRAPE") == "1",
		doms: map[string]*DomNodes{}, pending: map[string]string{}, warned: map[string]bool{},
	}
}

// connReset is called by the session after it (re)connects: the old
// connection's callbacks are gone and another client may have changed any
// guest meanwhile, so every entry is re-derived at its next use.
func (c *NodeCache) connReset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.evConn, c.evIDs = nil, nil
	for _, d := range c.doms {
		d.Stale = reasonReconnect
	}
}

// ScrapeMode reports whether every fill asks QEMU (the session setting).
func (c *NodeCache) ScrapeMode() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.scrapeMode
}

// SetScrapeMode turns the session setting on or off; it starts as
// VIRTSH_NODE_NAME_SCRAPE says. Entries already cached stay as they are
// until their next fill.
func (c *NodeCache) SetScrapeMode(on bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.scrapeMode = on
}

// Totals returns the counters over every guest since the session started.
func (c *NodeCache) Totals() Counters {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.totals
}

// Refill marks a guest's entry for re-derivation at its next use, with the
// reason recorded for `debug node-names`. Commands call it right after their
// own snapshot, checkpoint, block-job start and media calls, which raise no
// libvirt event. It makes no libvirt call.
func (c *NodeCache) Refill(uuid, reason string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.markLocked(uuid, reason)
}

// RefillDomain is Refill for a domain object.
func (c *NodeCache) RefillDomain(d *libvirt.Domain, reason string) {
	if uuid, err := d.GetUUIDString(); err == nil {
		c.Refill(uuid, reason)
	}
}

func (c *NodeCache) markLocked(uuid, reason string) {
	if d := c.doms[uuid]; d != nil {
		d.Stale = reason
	} else {
		c.pending[uuid] = reason
	}
}

// Drop forgets a guest (it stopped).
func (c *NodeCache) Drop(uuid string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.doms, uuid)
	delete(c.pending, uuid)
}

// NodeName is the cached lookup for hot paths such as event display: no
// libvirt call and no check. It returns the format and storage node names of
// target's layer index (0: the active layer).
func (c *NodeCache) NodeName(uuid, target string, index uint) (formatNode, storageNode string, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.totals.Lookups++
	d := c.doms[uuid]
	if d == nil {
		return "", "", false
	}
	d.Counters.Lookups++
	disk := d.Disk(target)
	if disk == nil {
		return "", "", false
	}
	l := disk.Layer(index)
	if l == nil || l.StorageNode == "" {
		return "", "", false
	}
	return l.FormatNode, l.StorageNode, true
}

// Cached returns a copy of the entry without any check or libvirt call.
func (c *NodeCache) Cached(uuid string) *DomNodes {
	c.mu.Lock()
	defer c.mu.Unlock()
	if d := c.doms[uuid]; d != nil {
		return d.clone()
	}
	return nil
}

// CachedUUIDs lists the guests in the cache.
func (c *NodeCache) CachedUUIDs() []string {
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
func (c *NodeCache) Get(d *libvirt.Domain) (*DomNodes, error) {
	return c.get(d, false)
}

// GetScraped is Get with the fill done through QMP (the user asked for it).
func (c *NodeCache) GetScraped(d *libvirt.Domain) (*DomNodes, error) {
	return c.get(d, true)
}

func (c *NodeCache) get(d *libvirt.Domain, forceQMP bool) (*DomNodes, error) {
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
	case e.Stale != "":
		reason = e.Stale
		if reason == reasonReconnect {
			reason = ReasonConnect
		}
	case e.sig != st.sig:
		e.Counters.VerifyMisses++
		c.totals.VerifyMisses++
		reason = ReasonVerifyMiss
	default:
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

// fill derives the entry from the live XML (or QMP) and stores it.
func (c *NodeCache) fill(d *libvirt.Domain, uuid string, st chainStats, reason string, useQMP bool) (*DomNodes, error) {
	start := time.Now()
	xmlDesc, err := c.be.liveXML(d)
	if err != nil {
		return nil, err
	}
	name, _ := d.GetName()
	e, err := deriveFromXML(xmlDesc)
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

func applyStats(e *DomNodes, st chainStats) {
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

// deriveFromXML builds an entry from a live domain XML (libvirt ≥ 5.10 with
// -blockdev: node names follow from the index attributes).
func deriveFromXML(s string) (*DomNodes, error) {
	var dom libvirtxml.Domain
	if err := dom.Unmarshal(s); err != nil {
		return nil, fmt.Errorf("cannot parse the domain XML: %v", err)
	}
	e := &DomNodes{aliases: map[string]string{}}
	if dom.Devices == nil {
		return e, nil
	}
	for _, disk := range dom.Devices.Disks {
		if disk.Target == nil {
			continue
		}
		dn := DiskNodes{Target: disk.Target.Dev, Device: disk.Device}
		if dn.Device == "" {
			dn.Device = "disk"
		}
		if disk.Alias != nil {
			dn.Alias = disk.Alias.Name
			e.aliases[dn.Alias] = dn.Target
		}
		format := ""
		if disk.Driver != nil {
			format = disk.Driver.Type
			if disk.Driver.CopyOnRead == "on" {
				dn.CopyOnRead = "libvirt-CoR-" + dn.Target
			}
		}
		if disk.Source != nil {
			dn.Chain = append(dn.Chain, layerOf(disk.Source, format))
		}
		for bs := disk.BackingStore; bs != nil && bs.Source != nil; bs = bs.BackingStore {
			f := ""
			if bs.Format != nil {
				f = bs.Format.Type
			}
			if bs.Index == 0 && bs.Source.Index == 0 {
				break // the <backingStore/> that ends a chain
			}
			l := layerOf(bs.Source, f)
			if l.Index == 0 {
				l.Index = bs.Index
				l.FormatNode, l.StorageNode = nodeNames(l.Index, l.Source)
			}
			dn.Chain = append(dn.Chain, l)
		}
		if m := disk.Mirror; m != nil && m.Source != nil {
			f := ""
			if m.Format != nil {
				f = m.Format.Type
			}
			l := layerOf(m.Source, f)
			dn.Mirror, dn.MirrorJob, dn.MirrorRdy = &l, m.Job, m.Ready
		}
		e.Disks = append(e.Disks, dn)
	}
	return e, nil
}

func nodeNames(index uint, source string) (string, string) {
	if index == 0 || source == "" {
		// An empty cdrom or an SD-card disk (-drive): no libvirt node names.
		return "", ""
	}
	return fmt.Sprintf("libvirt-%d-format", index), fmt.Sprintf("libvirt-%d-storage", index)
}

func layerOf(src *libvirtxml.DomainDiskSource, format string) Layer {
	l := Layer{Index: src.Index, Format: format, Bitmaps: []string{}}
	switch {
	case src.File != nil:
		l.Type, l.Source = "file", src.File.File
	case src.Block != nil:
		l.Type, l.Source = "block", src.Block.Dev
	case src.Network != nil:
		l.Type, l.Source = "network", src.Network.Protocol+":"+src.Network.Name
	case src.Volume != nil:
		l.Type, l.Source = "volume", src.Volume.Pool+"/"+src.Volume.Volume
	case src.NVME != nil:
		l.Type, l.Source = "nvme", "nvme"
	case src.VHostUser != nil:
		// vhost-user disks have no QEMU block layer.
		l.Type = "vhostuser"
		return l
	default:
		l.Type = "none"
	}
	l.FormatNode, l.StorageNode = nodeNames(l.Index, l.Source)
	if src.Slices != nil && l.StorageNode != "" {
		for _, s := range src.Slices.Slices {
			// A raw slice becomes offset/size on the format node; other
			// formats get a slice-sto layer.
			if s.Type == "storage" && format != "raw" {
				l.SliceNode = fmt.Sprintf("libvirt-%d-slice-sto", l.Index)
			}
		}
	}
	return l
}

// --- QMP (opt-in) ---

// Scrape is what QEMU reports: per disk alias, the chain of format/storage
// node pairs from the top, and per node its driver, bitmaps and threshold.
type Scrape struct {
	Chains map[string][][2]string // alias → [format, storage] from the top
	Nodes  map[string]ScrapedNode // every named node except QEMU's #block ones
}

// ScrapedNode is one node of query-named-block-nodes.
type ScrapedNode struct {
	Driver    string   `json:"driver" yaml:"driver"`
	File      string   `json:"file" yaml:"file"`
	Bitmaps   []string `json:"bitmaps" yaml:"bitmaps"`
	Threshold uint64   `json:"threshold" yaml:"threshold"`
}

// TaintWarning is printed before virtsh's first monitor command on a guest.
func TaintWarning(name string) string {
	return fmt.Sprintf("warning: querying QEMU's monitor marks domain '%s' tainted (custom-monitor) until it restarts", name)
}

func (c *NodeCache) scrape(d *libvirt.Domain, name string) (*Scrape, error) {
	uuid, _ := d.GetUUIDString()
	c.mu.Lock()
	warn := !c.warned[uuid]
	c.warned[uuid] = true
	c.mu.Unlock()
	if warn && c.sess != nil && c.sess.IO != nil {
		fmt.Fprintln(c.sess.IO.Err, TaintWarning(name))
	}
	nodesJSON, err := c.be.qmp(d, `{"execute":"query-named-block-nodes","arguments":{"flat":true}}`)
	if err != nil {
		return nil, err
	}
	statsJSON, err := c.be.qmp(d, `{"execute":"query-blockstats","arguments":{"query-nodes":false}}`)
	if err != nil {
		return nil, err
	}
	return parseScrape(nodesJSON, statsJSON)
}

type qmpStatsNode struct {
	QDev     string        `json:"qdev"`
	NodeName string        `json:"node-name"`
	Parent   *qmpStatsNode `json:"parent"`
	Backing  *qmpStatsNode `json:"backing"`
}

func parseScrape(nodesJSON, statsJSON string) (*Scrape, error) {
	var nodes struct {
		Return []struct {
			NodeName       string `json:"node-name"`
			Drv            string `json:"drv"`
			File           string `json:"file"`
			WriteThreshold uint64 `json:"write_threshold"`
			DirtyBitmaps   []struct {
				Name       string `json:"name"`
				Persistent bool   `json:"persistent"`
			} `json:"dirty-bitmaps"`
		} `json:"return"`
	}
	if err := json.Unmarshal([]byte(nodesJSON), &nodes); err != nil {
		return nil, fmt.Errorf("cannot parse query-named-block-nodes: %v", err)
	}
	var stats struct {
		Return []qmpStatsNode `json:"return"`
	}
	if err := json.Unmarshal([]byte(statsJSON), &stats); err != nil {
		return nil, fmt.Errorf("cannot parse query-blockstats: %v", err)
	}
	sc := &Scrape{Chains: map[string][][2]string{}, Nodes: map[string]ScrapedNode{}}
	for _, n := range nodes.Return {
		if n.NodeName == "" || strings.HasPrefix(n.NodeName, "#") {
			continue
		}
		sn := ScrapedNode{Driver: n.Drv, File: n.File, Threshold: n.WriteThreshold, Bitmaps: []string{}}
		for _, b := range n.DirtyBitmaps {
			// The anonymous bitmap of a running mirror is no checkpoint's.
			if b.Name != "" && b.Persistent {
				sn.Bitmaps = append(sn.Bitmaps, b.Name)
			}
		}
		sort.Strings(sn.Bitmaps)
		sc.Nodes[n.NodeName] = sn
	}
	for _, dev := range stats.Return {
		alias := aliasFromQdev(dev.QDev)
		if alias == "" {
			continue
		}
		var chain [][2]string
		for n := &dev; n != nil; {
			if strings.HasPrefix(n.NodeName, "#") || strings.HasPrefix(n.NodeName, "libvirt-CoR-") {
				// Job filters (mirror_top/commit_top: child "backing") and
				// copy-on-read (child "file", shown as parent) sit above the
				// top format node: follow their child.
				if n.Backing != nil {
					n = n.Backing
				} else {
					n = n.Parent
				}
				continue
			}
			st := ""
			if n.Parent != nil {
				st = n.Parent.NodeName
			}
			chain = append(chain, [2]string{n.NodeName, st})
			n = n.Backing
		}
		sc.Chains[alias] = chain
	}
	return sc, nil
}

// aliasFromQdev: "/machine/peripheral/virtio-disk0/virtio-backend" → "virtio-disk0".
func aliasFromQdev(q string) string {
	rest, ok := strings.CutPrefix(q, "/machine/peripheral/")
	if !ok {
		return ""
	}
	a, _, _ := strings.Cut(rest, "/")
	return a
}

// applyScrape replaces derived node names with QEMU's, layer by layer.
func applyScrape(e *DomNodes, sc *Scrape) {
	for i := range e.Disks {
		disk := &e.Disks[i]
		chain := sc.Chains[disk.Alias]
		for j := range disk.Chain {
			l := &disk.Chain[j]
			l.FormatNode, l.StorageNode = "", ""
			if j < len(chain) {
				l.FormatNode, l.StorageNode = chain[j][0], chain[j][1]
			}
			if n, ok := sc.Nodes[l.FormatNode]; ok {
				l.Bitmaps, l.BitmapsKnown = n.Bitmaps, true
			}
		}
	}
}

// Diff compares the cached entry's node names with a scrape and lists every
// difference, empty when they agree.
func (e *DomNodes) Diff(sc *Scrape) []string {
	var out []string
	cached := map[string]string{}
	for _, disk := range e.Disks {
		chain := sc.Chains[disk.Alias]
		for j, l := range disk.Chain {
			for _, n := range []string{l.FormatNode, l.StorageNode, l.SliceNode} {
				if n != "" {
					cached[n] = l.Dev(disk.Target)
				}
			}
			if l.FormatNode == "" {
				continue
			}
			if j >= len(chain) {
				out = append(out, fmt.Sprintf("%s: cache has %s, QEMU's chain for %s ends before it", l.Dev(disk.Target), l.FormatNode, disk.Alias))
				continue
			}
			if chain[j][0] != l.FormatNode {
				out = append(out, fmt.Sprintf("%s: format node: cache %s, QEMU %s", l.Dev(disk.Target), l.FormatNode, chain[j][0]))
			}
			if chain[j][1] != "" && chain[j][1] != l.StorageNode && l.SliceNode == "" {
				out = append(out, fmt.Sprintf("%s: storage node: cache %s, QEMU %s", l.Dev(disk.Target), l.StorageNode, chain[j][1]))
			}
		}
		if disk.Mirror != nil {
			for _, n := range []string{disk.Mirror.FormatNode, disk.Mirror.StorageNode} {
				if n != "" {
					cached[n] = disk.Mirror.Dev(disk.Target)
				}
			}
		}
		if disk.CopyOnRead != "" {
			cached[disk.CopyOnRead] = disk.Target
		}
	}
	var names []string
	for n := range sc.Nodes {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if _, ok := cached[n]; !ok && strings.HasPrefix(n, "libvirt-") && !strings.HasPrefix(n, "libvirt-pflash") {
			out = append(out, fmt.Sprintf("node %s: in QEMU, not in the cache", n))
		}
	}
	names = names[:0]
	for n := range cached {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if _, ok := sc.Nodes[n]; !ok {
			out = append(out, fmt.Sprintf("node %s (%s): in the cache, not in QEMU", n, cached[n]))
		}
	}
	return out
}

// Verify scrapes QEMU once (counted as a scrape) and returns the differences
// between the checked cache entry and QEMU; bitmaps seen are stored.
func (c *NodeCache) Verify(d *libvirt.Domain) (*DomNodes, []string, error) {
	e, err := c.Get(d)
	if err != nil {
		return nil, nil, err
	}
	sc, err := c.scrape(d, e.Name)
	if err != nil {
		return nil, nil, err
	}
	diff := e.Diff(sc)
	c.mu.Lock()
	if cur := c.doms[e.UUID]; cur != nil {
		cur.Counters.Scrapes++
		for i := range cur.Disks {
			for j := range cur.Disks[i].Chain {
				l := &cur.Disks[i].Chain[j]
				if n, ok := sc.Nodes[l.FormatNode]; ok {
					l.Bitmaps, l.BitmapsKnown = n.Bitmaps, true
				}
			}
		}
		e = cur.clone()
	}
	c.totals.Scrapes++
	c.mu.Unlock()
	return e, diff, nil
}

// --- events ---

// ensureEvents registers the cache's callbacks on the current connection the
// first time the cache is used with it.
func (c *NodeCache) ensureEvents() {
	if c.sess == nil {
		return
	}
	conn, err := c.sess.Conn()
	if err != nil {
		return
	}
	c.mu.Lock()
	done := c.evConn == conn
	c.mu.Unlock()
	if done {
		return
	}
	var ids []int
	add := func(id int, err error) {
		if err == nil {
			ids = append(ids, id)
		}
	}
	add(conn.DomainEventLifecycleRegister(nil, func(_ *libvirt.Connect, d *libvirt.Domain, ev *libvirt.DomainEventLifecycle) {
		uuid, err := d.GetUUIDString()
		if err != nil {
			return
		}
		switch ev.Event {
		case libvirt.DOMAIN_EVENT_STARTED:
			c.mu.Lock()
			delete(c.doms, uuid)
			c.pending[uuid] = ReasonStarted
			c.mu.Unlock()
		case libvirt.DOMAIN_EVENT_STOPPED, libvirt.DOMAIN_EVENT_CRASHED:
			c.Drop(uuid)
		}
	}))
	add(conn.DomainEventBlockJob2Register(nil, func(_ *libvirt.Connect, d *libvirt.Domain, ev *libvirt.DomainEventBlockJob) {
		c.RefillDomain(d, ReasonBlockJob)
	}))
	add(conn.DomainEventDeviceAddedRegister(nil, func(_ *libvirt.Connect, d *libvirt.Domain, _ *libvirt.DomainEventDeviceAdded) {
		c.RefillDomain(d, ReasonHotplug)
	}))
	add(conn.DomainEventDeviceRemovedRegister(nil, func(_ *libvirt.Connect, d *libvirt.Domain, _ *libvirt.DomainEventDeviceRemoved) {
		c.RefillDomain(d, ReasonHotplug)
	}))
	add(conn.DomainEventTrayChangeRegister(nil, func(_ *libvirt.Connect, d *libvirt.Domain, ev *libvirt.DomainEventTrayChange) {
		if ev.Reason == libvirt.DOMAIN_EVENT_TRAY_CHANGE_CLOSE {
			c.RefillDomain(d, ReasonMedia)
		}
	}))
	add(conn.DomainEventDiskChangeRegister(nil, func(_ *libvirt.Connect, d *libvirt.Domain, _ *libvirt.DomainEventDiskChange) {
		c.RefillDomain(d, ReasonMedia)
	}))
	add(conn.DomainEventBlockThresholdRegister(nil, func(_ *libvirt.Connect, d *libvirt.Domain, ev *libvirt.DomainEventBlockThreshold) {
		uuid, err := d.GetUUIDString()
		if err == nil {
			c.thresholdFired(uuid, ev.Dev)
		}
	}))
	c.mu.Lock()
	c.evConn, c.evIDs = conn, ids
	c.mu.Unlock()
}

// thresholdFired clears the one-shot threshold of the layer named by dev.
func (c *NodeCache) thresholdFired(uuid, dev string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.doms[uuid]
	if e == nil {
		return
	}
	if _, l := e.Find(dev); l != nil {
		l.Threshold = 0
	}
}

// AliasTarget maps a device alias from an event (tray-change, device-added)
// to the disk target, from the cache (no libvirt call).
func (c *NodeCache) AliasTarget(uuid, alias string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e := c.doms[uuid]; e != nil {
		return e.aliases[alias]
	}
	return ""
}

// --- libvirt backend ---

type libvirtBackend struct{}

func (libvirtBackend) liveXML(d *libvirt.Domain) (string, error) { return d.GetXMLDesc(0) }

func (libvirtBackend) qmp(d *libvirt.Domain, cmd string) (string, error) {
	return d.QemuMonitorCommand(cmd, libvirt.DOMAIN_QEMU_MONITOR_COMMAND_DEFAULT)
}

func (libvirtBackend) stats(d *libvirt.Domain) (chainStats, error) {
	conn, err := d.DomainGetConnect()
	if err != nil {
		return chainStats{}, err
	}
	defer func() { _, _ = conn.Close() }()
	all, err := conn.GetAllDomainStats([]*libvirt.Domain{d},
		libvirt.DOMAIN_STATS_STATE|libvirt.DOMAIN_STATS_BLOCK, libvirt.CONNECT_GET_ALL_DOMAINS_STATS_BACKING)
	if err != nil {
		return chainStats{}, err
	}
	defer func() {
		for _, s := range all {
			_ = s.Domain.Free()
		}
	}()
	if len(all) == 0 {
		return chainStats{}, nil
	}
	s := all[0]
	st := chainStats{layers: map[string]statLayer{}}
	if s.State != nil && s.State.StateSet {
		switch s.State.State {
		case libvirt.DOMAIN_RUNNING, libvirt.DOMAIN_PAUSED, libvirt.DOMAIN_BLOCKED, libvirt.DOMAIN_PMSUSPENDED:
			st.active = true
		}
	}
	if !st.active {
		return st, nil
	}
	if id, err := d.GetID(); err == nil {
		st.id = id
	}
	st.sig = statsSig(st.id, s.Block, st.layers)
	return st, nil
}

// statsSig is the cheap key the check compares: the domain ID and, per disk,
// its chain indexes in order.
func statsSig(id uint, blocks []libvirt.DomainStatsBlock, layers map[string]statLayer) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d", id)
	for _, blk := range blocks {
		if !blk.BackingIndexSet {
			fmt.Fprintf(&b, ";%s", blk.Name)
			continue
		}
		fmt.Fprintf(&b, ";%s[%d]", blk.Name, blk.BackingIndex)
		if layers != nil {
			layers[fmt.Sprintf("%s[%d]", blk.Name, blk.BackingIndex)] = statLayer{path: blk.Path, threshold: blk.Threshold, capacity: blk.Capacity}
		}
	}
	return b.String()
}
