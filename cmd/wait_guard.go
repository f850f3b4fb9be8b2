package cmd

import (
	"sync"

	"libvirt.org/go/libvirt"
)

// waitGuard is what every wait watches besides the thing it waits for: the
// connection (the session's close callback closes lost) and the guest's
// lifecycle (stopped closes when the guest stops or goes away). A guest
// that another client destroys takes its jobs with it, and a lost
// connection brings no more events: either way the wait has to end, not
// sit until it is killed. Block-job waits, backup waits and threshold
// waits use it.
type waitGuard struct {
	lost    <-chan struct{}
	stopped chan struct{}
	conn    *libvirt.Connect
	id      int
	ok      bool
	once    sync.Once
}

// newWaitGuard registers for dom's lifecycle events on conn (the event loop
// must run: the waits start it). A failed registration leaves stopped
// never closed; the wait's own polls still notice a stopped guest.
func newWaitGuard(env *Env, conn *libvirt.Connect, dom *libvirt.Domain) *waitGuard {
	g := &waitGuard{lost: env.Sess.Lost(), stopped: make(chan struct{})}
	id, err := conn.DomainEventLifecycleRegister(dom, func(_ *libvirt.Connect, _ *libvirt.Domain, ev *libvirt.DomainEventLifecycle) {
		if ev.Event == libvirt.DOMAIN_EVENT_STOPPED || ev.Event == libvirt.DOMAIN_EVENT_UNDEFINED {
			g.once.Do(func() { close(g.stopped) })
		}
	})
	if err == nil {
		g.conn, g.id, g.ok = conn, id, true
	}
	return g
}

func (g *waitGuard) close() {
	if g != nil && g.ok {
		_ = g.conn.DomainEventDeregister(g.id)
		g.ok = false
	}
}
