package completion

import (
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"

	"libvirt.org/go/libvirt"

	"github.com/virtsh/virtsh/shell/domain"
)

// Host is what completion reads from a hypervisor. Nothing in it changes
// anything. LibvirtHost implements it over a (read-only) connection.
type Host interface {
	// Domains lists the domains that pass the filter, with their states.
	Domains(f DomainFilter) ([]Domain, error)
	// DomainXML is the live XML of the domain (name, ID or UUID).
	DomainXML(domain string) (string, error)
	Checkpoints(domain string) ([]string, error)
	Snapshots(domain string) ([]string, error)
	// BlockJobDisks lists the disk targets that have a block job.
	BlockJobDisks(domain string) ([]string, error)
}

// Domain is a domain name, its state word ("running", "paused", "shut off",
// "other") and its UUID.
type Domain struct {
	Name  string
	State string
	UUID  string
}

// DomainFilter is virConnectListAllDomains' flags as virsh's domain completer
// passes them per command (VIR_CONNECT_LIST_DOMAINS_*).
type DomainFilter = libvirt.ConnectListAllDomainsFlags

var filterWords = map[string]libvirt.ConnectListAllDomainsFlags{
	"active":          libvirt.CONNECT_LIST_DOMAINS_ACTIVE,
	"inactive":        libvirt.CONNECT_LIST_DOMAINS_INACTIVE,
	"persistent":      libvirt.CONNECT_LIST_DOMAINS_PERSISTENT,
	"transient":       libvirt.CONNECT_LIST_DOMAINS_TRANSIENT,
	"running":         libvirt.CONNECT_LIST_DOMAINS_RUNNING,
	"paused":          libvirt.CONNECT_LIST_DOMAINS_PAUSED,
	"shutoff":         libvirt.CONNECT_LIST_DOMAINS_SHUTOFF,
	"other":           libvirt.CONNECT_LIST_DOMAINS_OTHER,
	"managedsave":     libvirt.CONNECT_LIST_DOMAINS_MANAGEDSAVE,
	"no_managedsave":  libvirt.CONNECT_LIST_DOMAINS_NO_MANAGEDSAVE,
	"autostart":       libvirt.CONNECT_LIST_DOMAINS_AUTOSTART,
	"no_autostart":    libvirt.CONNECT_LIST_DOMAINS_NO_AUTOSTART,
	"has_snapshot":    libvirt.CONNECT_LIST_DOMAINS_HAS_SNAPSHOT,
	"no_snapshot":     libvirt.CONNECT_LIST_DOMAINS_NO_SNAPSHOT,
	"has_checkpoint":  libvirt.CONNECT_LIST_DOMAINS_HAS_CHECKPOINT,
	"no_checkpoint":   libvirt.CONNECT_LIST_DOMAINS_NO_CHECKPOINT,
	"with_snapshot":   libvirt.CONNECT_LIST_DOMAINS_HAS_SNAPSHOT,
	"with_checkpoint": libvirt.CONNECT_LIST_DOMAINS_HAS_CHECKPOINT,
	"0":               0,
	"all":             0,
}

// ParseDomainFilter reads the filter argument of a domain completer: virsh's
// flag names, separated by '|' or ',' and case-insensitive, with or without
// the VIR_CONNECT_LIST_DOMAINS_ prefix ("SHUTOFF", "active",
// "HAS_CHECKPOINT|ACTIVE"; "" or "0" is every domain). Flags of one group
// (state, active) are or-ed by libvirt, groups are and-ed. Unknown words are
// ignored (they widen the list rather than hide domains).
func ParseDomainFilter(s string) DomainFilter {
	f, _ := parseDomainFilter(s)
	return f
}

// UnknownFilterWords lists the words of a domain filter that mean nothing
// to ParseDomainFilter (which ignores them, so the list only widens): a
// test of the command tree uses it to catch a misspelt filter.
func UnknownFilterWords(s string) []string {
	_, unknown := parseDomainFilter(s)
	return unknown
}

func parseDomainFilter(s string) (f DomainFilter, unknown []string) {
	s = strings.ReplaceAll(strings.ToLower(s), "shut off", "shutoff")
	for _, w := range strings.FieldsFunc(s, func(r rune) bool { return r == '|' || r == ',' || r == ' ' }) {
		word := w
		w = strings.ToLower(strings.TrimPrefix(strings.ToUpper(w), "VIR_CONNECT_LIST_DOMAINS_"))
		w = strings.ReplaceAll(w, "-", "_")
		if w == "shut_off" {
			w = "shutoff"
		}
		flag, ok := filterWords[w]
		if !ok {
			unknown = append(unknown, word)
		}
		f |= flag
	}
	return f, unknown
}

// LibvirtHost reads completions from a libvirt connection.
type LibvirtHost struct{ Conn *libvirt.Connect }

const stateFlags = libvirt.CONNECT_LIST_DOMAINS_RUNNING | libvirt.CONNECT_LIST_DOMAINS_PAUSED |
	libvirt.CONNECT_LIST_DOMAINS_SHUTOFF | libvirt.CONNECT_LIST_DOMAINS_OTHER

// definedMax is the size of the array libvirt.org/go/libvirt's
// ListDefinedDomains hands to virConnectListDefinedDomains (v1.12007.0).
const definedMax = 1024

// Domains lists with one virConnectListAllDomains call per state so the state
// words come with the names: a domain's name is local to its handle, so this
// costs four round trips whatever the number of domains (GetState per domain
// would cost one each).
//
// Only the shut-off (or only the inactive) domains, which `start` and the
// other commands of defined guests complete, are listed by name with
// virConnectListDefinedDomains: no domain object per guest to make, name and
// free, which on many guests costs more than the listing itself. An inactive
// domain is always shut off.
// The Go binding asks for at most definedMax names (a fixed array), so a
// full answer may be cut short: then the listing below is used instead.
func (h LibvirtHost) Domains(f DomainFilter) ([]Domain, error) {
	if f == libvirt.CONNECT_LIST_DOMAINS_SHUTOFF || f == libvirt.CONNECT_LIST_DOMAINS_INACTIVE {
		if names, err := h.Conn.ListDefinedDomains(); err == nil && len(names) < definedMax {
			out := make([]Domain, len(names))
			for i, n := range names {
				// No UUID on this path: the UUID completer (domname)
				// asks for every domain, never this filter alone.
				out[i] = Domain{Name: n, State: "shut off"}
			}
			sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
			return out, nil
		}
	}
	states := []struct {
		flag libvirt.ConnectListAllDomainsFlags
		word string
	}{
		{libvirt.CONNECT_LIST_DOMAINS_RUNNING, "running"},
		{libvirt.CONNECT_LIST_DOMAINS_PAUSED, "paused"},
		{libvirt.CONNECT_LIST_DOMAINS_SHUTOFF, "shut off"},
		{libvirt.CONNECT_LIST_DOMAINS_OTHER, "other"},
	}
	var out []Domain
	for _, s := range states {
		if f&stateFlags != 0 && f&s.flag == 0 {
			continue
		}
		doms, err := h.Conn.ListAllDomains(f&^stateFlags | s.flag)
		if err != nil {
			return nil, err
		}
		for i := range doms {
			if name, err := doms[i].GetName(); err == nil {
				// The UUID, like the name, is held by the handle: no call.
				uuid, _ := doms[i].GetUUIDString()
				out = append(out, Domain{name, s.word, uuid})
			}
			_ = doms[i].Free()
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// lookup finds a domain as virsh does (shell/domain's Lookup): ID, UUID,
// then name.
func (h LibvirtHost) lookup(word string) (*libvirt.Domain, error) {
	return domain.Lookup(h.Conn, word, domain.ByAny)
}

func (h LibvirtHost) DomainXML(domain string) (string, error) {
	d, err := h.lookup(domain)
	if err != nil {
		return "", err
	}
	defer d.Free()
	return d.GetXMLDesc(0)
}

func (h LibvirtHost) Checkpoints(domain string) ([]string, error) {
	d, err := h.lookup(domain)
	if err != nil {
		return nil, err
	}
	defer d.Free()
	cps, err := d.ListAllCheckpoints(0)
	if err != nil {
		return nil, err
	}
	var out []string
	for i := range cps {
		if n, err := cps[i].GetName(); err == nil {
			out = append(out, n)
		}
		_ = cps[i].Free()
	}
	sort.Strings(out)
	return out, nil
}

func (h LibvirtHost) Snapshots(domain string) ([]string, error) {
	d, err := h.lookup(domain)
	if err != nil {
		return nil, err
	}
	defer d.Free()
	snaps, err := d.ListAllSnapshots(0)
	if err != nil {
		return nil, err
	}
	var out []string
	for i := range snaps {
		if n, err := snaps[i].GetName(); err == nil {
			out = append(out, n)
		}
		_ = snaps[i].Free()
	}
	sort.Strings(out)
	return out, nil
}

func (h LibvirtHost) BlockJobDisks(domain string) ([]string, error) {
	d, err := h.lookup(domain)
	if err != nil {
		return nil, err
	}
	defer d.Free()
	xml, err := d.GetXMLDesc(0)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, disk := range parseDisks(xml) {
		if info, err := d.GetBlockJobInfo(disk.Target, 0); err == nil && info.Type != 0 {
			out = append(out, disk.Target)
		}
	}
	return out, nil
}

// disk is one <disk> of a domain as its completers offer it: its target,
// its source's name (the description), and the indexed elements of its
// chain (vda[2], vda[1], ...), each with its source's name.
type disk struct {
	Target string
	Source string
	Chain  []chainElem
	def    domain.Disk
}

type chainElem struct{ Name, Source string }

// named reports whether a disk word the user typed (vda, vda[N], a source
// path) names this disk, by the one matcher commands and the node-name cache
// use too.
func (d *disk) named(word string) bool {
	w, err := domain.ParseDiskWord(word)
	if err != nil {
		return false
	}
	_, ok := w.Layer(&d.def)
	return ok
}

// parseDisks reads the disks of a domain XML, as virshDomainDiskTargetCompleter
// and virshDomainBlockjobBaseTopCompleter do: every disk with a target, and
// every <source> or <backingStore> with an index.
func parseDisks(xml string) []disk {
	disks, err := domain.Disks(xml)
	if err != nil {
		return nil
	}
	var out []disk
	for _, d := range disks {
		if d.Target == "" {
			continue
		}
		dk := disk{Target: d.Target, Source: d.Top().Name, def: d}
		for _, s := range d.Chain {
			if s.Index != 0 {
				dk.Chain = append(dk.Chain, chainElem{domain.Dev(d.Target, s.Index), s.Name})
			}
		}
		out = append(out, dk)
	}
	return out
}

// uriAliasRE matches one "alias=uri" string of libvirt.conf's uri_aliases.
// Compiled when first needed, not in the package's init: every virtsh start
// would pay for it, and only URI completion uses it.
var uriAliasRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`"([A-Za-z0-9_.\-]+)=([^"]+)"`) })

// LibvirtConfPath is the libvirt.conf the client library reads: the user's
// ($XDG_CONFIG_HOME/libvirt/libvirt.conf) for non-root, /etc's for root.
func LibvirtConfPath() string {
	if os.Geteuid() == 0 {
		return "/etc/libvirt/libvirt.conf"
	}
	dir := os.Getenv("XDG_CONFIG_HOME")
	if dir == "" {
		home, _ := os.UserHomeDir()
		dir = filepath.Join(home, ".config")
	}
	return filepath.Join(dir, "libvirt", "libvirt.conf")
}

// URIAliases reads uri_aliases from a libvirt.conf: alias names and their URIs.
func URIAliases(path string) []Candidate {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	text := stripConfComments(string(data))
	i := strings.Index(text, "uri_aliases")
	if i < 0 {
		return nil
	}
	rest := text[i:]
	open, end := strings.IndexByte(rest, '['), strings.IndexByte(rest, ']')
	if open < 0 || end < open {
		return nil
	}
	var out []Candidate
	for _, m := range uriAliasRE().FindAllStringSubmatch(rest[open:end], -1) {
		out = append(out, Candidate{m[1], m[2]})
	}
	return out
}

func stripConfComments(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		if j := strings.IndexByte(l, '#'); j >= 0 {
			lines[i] = l[:j]
		}
	}
	return strings.Join(lines, "\n")
}

// commonURIs are offered besides the aliases.
var commonURIs = []string{"qemu:///system", "qemu:///session", "test:///default"}

func uriCandidates() []Candidate {
	out := URIAliases(LibvirtConfPath())
	seen := map[string]bool{}
	for _, c := range out {
		seen[c.Value] = true
	}
	for _, c := range out[:len(out):len(out)] {
		if !seen[c.Desc] {
			out = append(out, Candidate{Value: c.Desc})
			seen[c.Desc] = true
		}
	}
	for _, u := range commonURIs {
		if !seen[u] {
			out = append(out, Candidate{Value: u})
		}
	}
	return out
}

// deviceAliases lists the device aliases of a domain XML, as
// virshDomainDeviceAliasCompleter offers them.
func deviceAliases(xml string) []string { return domain.DeviceAliases(xml) }
