package shell

// libvirt's event loop runs on a thread of its own made in C, the way virsh
// runs it (vshEventLoop), not in a goroutine. A goroutine spends its life in
// a cgo call: every return from poll() (libvirt wakes the loop twice per RPC,
// to take the socket's watch off and put it back) goes through the Go
// scheduler - exitsyscall, a P to find, futex hand-offs - and keeps sysmon
// polling every 20 µs. perf on 500 piped domstate/dominfo showed the loop
// goroutine and sysmon at 20% of virtsh's samples; with the loop in C the run
// took 283 ms of CPU instead of 497 ms (issue 8).

/*
#cgo pkg-config: libvirt
#include <pthread.h>
#include <signal.h>
#include <unistd.h>
#include <libvirt/libvirt.h>

static void *virtshEventLoop(void *arg) {
	(void)arg;
	for (;;) {
		if (virEventRunDefaultImpl() < 0)
			usleep(10000);
	}
	return NULL;
}

// virtshStartEventLoop starts the loop thread with every signal blocked, so
// that signals (SIGINT, SIGTERM, ...) reach Go's threads, as os/signal expects.
static int virtshStartEventLoop(void) {
	pthread_t t;
	pthread_attr_t attr;
	sigset_t all, old;
	int rc;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	rc = pthread_create(&t, &attr, virtshEventLoop, NULL);
	pthread_attr_destroy(&attr);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc;
}
*/
import "C"

import (
	"sync"

	"libvirt.org/go/libvirt"
)

var eventLoopOnce sync.Once

// startEventLoop registers libvirt's default event implementation and runs it
// on a C thread for the life of the process. libvirt needs it for events,
// keepalive and close callbacks; the Go callbacks of those run on that thread
// through cgo.
func startEventLoop() {
	eventLoopOnce.Do(func() {
		if err := libvirt.EventRegisterDefaultImpl(); err != nil {
			return
		}
		C.virtshStartEventLoop()
	})
}
