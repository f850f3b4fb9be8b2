package blocknodes

import (
	"libvirt.org/go/libvirt"

	"github.com/virtsh/virtsh/shell/domain"
)

// ensureEvents registers the cache's callbacks on the current connection the
// first time the cache is used with it. They live as long as the connection:
// after a reconnect (Reconnected) they are registered on the new one.
func (c *Cache) ensureEvents() {
	if c.conns == nil {
		return
	}
	conn, err := c.conns.Conn()
	if err != nil {
		return
	}
	c.mu.Lock()
	done := c.evConn == conn
	c.mu.Unlock()
	if done {
		return
	}
	// A registration libvirt refuses leaves the checks before use to
	// notice what that event would have said.
	_, _ = conn.DomainEventLifecycleRegister(nil, func(_ *libvirt.Connect, d *libvirt.Domain, ev *libvirt.DomainEventLifecycle) {
		uuid, err := d.GetUUIDString()
		if err != nil {
			return
		}
		switch ev.Event {
		case libvirt.DOMAIN_EVENT_STARTED:
			c.mu.Lock()
			delete(c.doms, uuid)
			c.pending[uuid] = ReasonStarted
			if ev.Detail == int(libvirt.DOMAIN_EVENT_STARTED_MIGRATED) {
				c.pending[uuid] = ReasonMigrated
			}
			c.mu.Unlock()
		case libvirt.DOMAIN_EVENT_STOPPED, libvirt.DOMAIN_EVENT_CRASHED:
			c.Drop(uuid)
		}
	})
	_, _ = conn.DomainEventBlockJob2Register(nil, func(_ *libvirt.Connect, d *libvirt.Domain, ev *libvirt.DomainEventBlockJob) {
		c.RefillDomain(d, ReasonBlockJob)
	})
	// Another client's hotplug, unplug or media change (and the events of
	// virtsh's own, which Changed already noted): the next use re-derives
	// the guest if its disks changed (Changed).
	_, _ = conn.DomainEventDeviceAddedRegister(nil, func(_ *libvirt.Connect, d *libvirt.Domain, _ *libvirt.DomainEventDeviceAdded) {
		c.ChangedDomain(d, ReasonHotplug)
	})
	_, _ = conn.DomainEventDeviceRemovedRegister(nil, func(_ *libvirt.Connect, d *libvirt.Domain, _ *libvirt.DomainEventDeviceRemoved) {
		c.ChangedDomain(d, ReasonHotplug)
	})
	_, _ = conn.DomainEventTrayChangeRegister(nil, func(_ *libvirt.Connect, d *libvirt.Domain, _ *libvirt.DomainEventTrayChange) {
		c.ChangedDomain(d, ReasonMedia)
	})
	_, _ = conn.DomainEventDiskChangeRegister(nil, func(_ *libvirt.Connect, d *libvirt.Domain, _ *libvirt.DomainEventDiskChange) {
		c.ChangedDomain(d, ReasonMedia)
	})
	_, _ = conn.DomainEventBlockThresholdRegister(nil, func(_ *libvirt.Connect, d *libvirt.Domain, ev *libvirt.DomainEventBlockThreshold) {
		uuid, err := d.GetUUIDString()
		if err == nil {
			c.thresholdFired(uuid, ev.Dev)
		}
	})
	c.mu.Lock()
	c.evConn = conn
	c.mu.Unlock()
}

// thresholdFired clears the one-shot threshold of the layer named by dev
// ("vda" or "vda[N]", as libvirt reports it).
func (c *Cache) thresholdFired(uuid, dev string) {
	w, err := domain.ParseDiskWord(dev)
	if err != nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.doms[uuid]
	if e == nil {
		return
	}
	if _, l, ok := e.Lookup(w); ok {
		l.Threshold = 0
	}
}

// AliasTarget maps a device alias from an event (tray-change, device-added)
// to the disk target, from the cache (no libvirt call).
func (c *Cache) AliasTarget(uuid, alias string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e := c.doms[uuid]; e != nil {
		return e.aliases[alias]
	}
	return ""
}
