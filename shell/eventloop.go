package shell

// libvirt's event loop runs on a thread of its own made in C, the way virsh
// runs it (vshEventLoop), not in a goroutine. A goroutine spends its life in
// a cgo call: every return from poll() (libvirt wakes the loop twice per RPC,
// to take the socket's watch off and put it back) goes through the Go
// scheduler - exitsyscall, a P to find, futex hand-offs - and keeps sysmon
// polling. On a C thread, poll() returns to C and the Go scheduler never
// hears of it.

/*
#cgo pkg-config: libvirt
#include <unistd.h>
#include <stdlib.h>
#include <libvirt/libvirt.h>

static void *virtshEventLoop(void *arg) {
	(void)arg;
	for (;;) {
		if (virEventRunDefaultImpl() < 0)
			usleep(10000);
	}
	return NULL;
}

// earlyinit.c
int virtsh_start_thread(void *(*fn)(void *));

// The loop thread starts detached, with every signal blocked.
static int virtshStartEventLoop(void) { return virtsh_start_thread(virtshEventLoop); }

int virtsh_event_impl_register(void);
int virtsh_event_impl_early(void);
*/
import "C"

import (
	"sync"
	"time"
)

var (
	eventImplOnce   sync.Once
	eventImplOK     bool
	eventThreadOnce sync.Once
)

// registerEventImpl registers libvirt's default event implementation. It must
// come before the first connection: a connection opened without one has no
// socket watch, so no events, keepalive or close callbacks, ever. The work is
// begun before Go's runtime starts, by earlyinit.c; this waits for it.
func registerEventImpl() {
	eventImplOnce.Do(func() {
		eventImplOK = C.virtsh_event_impl_register() == 0
	})
}

// earlyEventImpl reports whether the registration ran on earlyinit.c's thread.
func earlyEventImpl() bool { return C.virtsh_event_impl_early() != 0 }

// startEventLoop runs the registered loop on a C thread for the life of the
// process (once). The Go callbacks of events, keepalive and the close
// callback run on that thread through cgo.
//
// The thread is started only when something may wait for the loop: the REPL
// at once (its connection lives long), a command as soon as it has run for
// EventLoopDelay (one that waits for an event waits longer than that; an event
// that comes first waits in the socket and is dispatched when the loop
// starts), and -k/-K at start. A short one-shot command or a script of quick
// ones never starts it: libvirt wakes the loop twice per RPC (the socket's
// watch is taken off and put back around each call), and those wake-ups
// cost such commands CPU and wall time for nothing. Their RPCs
// answer the daemon's keepalive pings themselves, and a dead daemon still
// reaches the close callback from the failing call.
func startEventLoop() {
	armSignals() // whatever waits for the loop may be interrupted
	registerEventImpl()
	if !eventImplOK {
		return
	}
	eventThreadOnce.Do(func() { C.virtshStartEventLoop() })
}

// EventLoopDelay is how long a command runs before the runner starts the
// event loop thread (see startEventLoop).
const EventLoopDelay = 50 * time.Millisecond

// StartEventLoop starts libvirt's event loop thread now, if it is not
// running: the REPL calls it, and so may a command that needs events at once.
func (s *Session) StartEventLoop() { startEventLoop() }
