package blocknodes

import (
	"fmt"
	"strings"

	"libvirt.org/go/libvirt"
)

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

// backend is every libvirt call the cache makes; tests and benchmarks count
// them with a fake.
type backend interface {
	stats(d *libvirt.Domain) (chainStats, error)
	liveXML(d *libvirt.Domain) (string, error)
	qmp(d *libvirt.Domain, cmd string) (string, error)
	// daemonVersion is the libvirt version of d's daemon (its naming).
	daemonVersion(d *libvirt.Domain) (uint32, error)
}

type libvirtBackend struct{}

func (libvirtBackend) liveXML(d *libvirt.Domain) (string, error) { return d.GetXMLDesc(0) }

func (libvirtBackend) daemonVersion(d *libvirt.Domain) (uint32, error) {
	conn, err := d.DomainGetConnect()
	if err != nil {
		return 0, err
	}
	defer func() { _, _ = conn.Close() }()
	return conn.GetLibVersion()
}

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
