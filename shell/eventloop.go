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
virConnectPtr virtsh_preconnect_take(const char *uri, int ro);
void virtsh_preconnect_discard(void);
int virtsh_preconnect_planned(void);
int virtsh_preconnect_skips(const char *cmd);
int virtsh_preconnect_decide(int argc, char **argv, const char **uri_out, int *ro_out);
*/
import "C"

import (
	"sync"
	"time"
	"unsafe"

	"libvirt.org/go/libvirt"
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

// takePreconnected returns the connection earlyinit.c opened while Go
// started, if this process's command line asked for one and it was opened
// to uri (libvirt's default for "") with the same read-only flag: a one-shot
// command, or a completion, then finds its connection made. Anything else is
// closed, and nil returned; the caller opens the connection itself, the
// usual way.
func takePreconnected(uri string, readOnly bool) *libvirt.Connect {
	var cs *C.char
	if uri != "" {
		cs = C.CString(uri)
		defer C.free(unsafe.Pointer(cs))
	}
	ro := C.int(0)
	if readOnly {
		ro = 1
	}
	p := C.virtsh_preconnect_take(cs, ro)
	if p == nil {
		return nil
	}
	return adoptConnect(unsafe.Pointer(p))
}

// TakePreconnectedReadOnly is takePreconnected for completion's read-only
// connection (cmd's readOnlyHost).
func TakePreconnectedReadOnly(uri string) *libvirt.Connect { return takePreconnected(uri, true) }

// DiscardPreconnected closes an early connection nobody took (Session.Close
// does it too; completion, which has no session to close, calls this).
func DiscardPreconnected() { C.virtsh_preconnect_discard() }

// adoptConnect wraps a virConnectPtr opened in C as the binding's Connect.
// libvirt.org/go/libvirt has no constructor for that; its Connect is one
// pointer field (v1.12007.0, pinned), which TestAdoptConnect checks by
// size and by use, so a binding that changes it fails the tests, not users.
func adoptConnect(p unsafe.Pointer) *libvirt.Connect {
	type connectLayout struct{ ptr unsafe.Pointer }
	return (*libvirt.Connect)(unsafe.Pointer(&connectLayout{ptr: p}))
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

// PreconnectSkips reports whether earlyinit.c leaves a one-shot command
// named name without an early connection (it never needs one).
func PreconnectSkips(name string) bool {
	cs := C.CString(name)
	defer C.free(unsafe.Pointer(cs))
	return C.virtsh_preconnect_skips(cs) != 0
}

func preconnectPlanned() bool { return C.virtsh_preconnect_planned() != 0 }

// preconnectDecision is earlyinit.c's decision for the command line args
// (args[0] the program): whether a connection is opened early, to which URI
// (uriSet false: libvirt's default), read-only or not. For tests and fuzzing:
// this C code reads every virtsh command line before Go runs.
func preconnectDecision(args []string) (want bool, uri string, uriSet, ro bool) {
	if len(args) == 0 {
		return false, "", false, false
	}
	argv := C.malloc(C.size_t(len(args)+1) * C.size_t(unsafe.Sizeof(uintptr(0))))
	defer C.free(argv)
	ptrs := unsafe.Slice((**C.char)(argv), len(args)+1)
	for i, a := range args {
		ptrs[i] = C.CString(a)
		defer C.free(unsafe.Pointer(ptrs[i]))
	}
	ptrs[len(args)] = nil
	var cu *C.char
	var cro C.int
	w := C.virtsh_preconnect_decide(C.int(len(args)), (**C.char)(argv), &cu, &cro)
	if cu != nil {
		uri, uriSet = C.GoString(cu), true
	}
	return w != 0, uri, uriSet, cro != 0
}
