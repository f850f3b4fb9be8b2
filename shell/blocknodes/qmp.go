package blocknodes

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"libvirt.org/go/libvirt"
)

// QMP, asked only when the user wants it: it taints the guest.

// Scrape is what QEMU reports: per disk alias, the chain of format/storage
// node pairs from the top, and per node its driver, bitmaps and threshold.
type Scrape struct {
	Chains map[string][][2]string // alias → [format, storage] from the top
	Nodes  map[string]ScrapedNode // every named node except QEMU's #block ones
}

// ScrapedNode is one node of query-named-block-nodes.
type ScrapedNode struct {
	Driver    string
	File      string
	Bitmaps   []string
	Threshold uint64
}

// TaintWarning is printed before virtsh's first monitor command on a guest.
func TaintWarning(name string) string {
	return fmt.Sprintf("warning: querying QEMU's monitor marks domain '%s' tainted (custom-monitor) until it restarts", name)
}

func (c *Cache) scrape(d *libvirt.Domain, name string) (*Scrape, error) {
	uuid, _ := d.GetUUIDString()
	c.mu.Lock()
	warn := !c.warned[uuid]
	c.warned[uuid] = true
	c.mu.Unlock()
	if warn {
		fmt.Fprintln(c.warn, TaintWarning(name))
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

// aliasFromQdev is the libvirt alias of the device query-blockstats names.
// QEMU gives a device's own id where the block backend hangs on the device
// itself (SATA, IDE, SCSI disks: "sata0-0-0"), and the QOM path of the
// child it hangs on otherwise (virtio: "/machine/peripheral/virtio-disk0/
// virtio-backend" → "virtio-disk0"). Any other path is no device of
// libvirt's.
func aliasFromQdev(q string) string {
	rest, ok := strings.CutPrefix(q, "/machine/peripheral/")
	if !ok {
		if strings.Contains(q, "/") {
			return ""
		}
		return q
	}
	a, _, _ := strings.Cut(rest, "/")
	return a
}

// applyScrape replaces derived node names with QEMU's, layer by layer.
func applyScrape(e *Entry, sc *Scrape) {
	for i := range e.Disks {
		disk := &e.Disks[i]
		chain := sc.Chains[disk.Alias]
		for j := range disk.Chain {
			l := &disk.Chain[j]
			l.FormatNode, l.StorageNode = "", ""
			if j < len(chain) {
				l.FormatNode, l.StorageNode = chain[j][0], chain[j][1]
				if l.StorageNode == "" {
					l.StorageNode = l.FormatNode // no format layer: the top is the storage
				}
			}
			if n, ok := sc.Nodes[l.FormatNode]; ok {
				l.Bitmaps, l.BitmapsKnown = n.Bitmaps, true
			}
		}
	}
}

// Diff compares the cached entry's node names with a scrape and lists every
// difference, empty when they agree.
func (e *Entry) Diff(sc *Scrape) []string {
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
func (c *Cache) Verify(d *libvirt.Domain) (*Entry, []string, error) {
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
