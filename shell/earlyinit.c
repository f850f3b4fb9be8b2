// libvirt's global initialisation, started before Go's.
//
// virEventRegisterDefaultImpl (which runs virInitialize: driver
// registration, GnuTLS, logging set-up) takes about 0.4 ms, and every virtsh
// command that talks to libvirt waits for it. Go's own start-up (runtime and
// package initialisation) takes about 1 ms on the main thread before main
// runs. This constructor, which the dynamic loader runs after libvirt's own
// constructors and before Go's runtime starts, begins libvirt's
// initialisation on a thread of its own, so that the two overlap on a second
// CPU; registerEventImpl (eventloop.go) waits for its result instead of
// doing the work. virsh does the same work at start, on its main thread.
//
// It is unconditional: it reads neither the command line nor the
// environment, so every decision about what a command does stays in Go. A
// command that never uses libvirt (echo, help, completion scripts) does not
// wait for the thread; the process may end while it still runs, which is
// safe because Go ends a process with exit_group, running no C destructors.

#include <pthread.h>
#include <signal.h>
#include <libvirt/libvirt.h>

static int early_started;
static int early_rc = -1;
static int early_done; // under mu; cv is signalled when it is set
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;

static void *early_init(void *arg)
{
	(void)arg;
	int rc = virEventRegisterDefaultImpl();
	pthread_mutex_lock(&mu);
	early_rc = rc;
	early_done = 1;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
	return NULL;
}

// virtsh_start_thread runs fn on a detached thread with every signal
// blocked, so that signals reach Go's threads, as os/signal expects. It is
// how both of virtsh's C threads start: this file's and libvirt's event loop
// (eventloop.go). It returns pthread_create's result.
int virtsh_start_thread(void *(*fn)(void *))
{
	pthread_t t;
	pthread_attr_t attr;
	sigset_t all, old;
	int rc;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	rc = pthread_create(&t, &attr, fn, NULL);
	pthread_attr_destroy(&attr);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc;
}

__attribute__((constructor)) static void virtsh_early_init(void)
{
	early_started = virtsh_start_thread(early_init) == 0;
}

// virtsh_event_impl_register returns virEventRegisterDefaultImpl's result:
// the early thread's or, if that thread could not be started, its own.
// Called once (registerEventImpl's sync.Once).
int virtsh_event_impl_register(void)
{
	if (!early_started)
		return virEventRegisterDefaultImpl();
	pthread_mutex_lock(&mu);
	while (!early_done)
		pthread_cond_wait(&cv, &mu);
	pthread_mutex_unlock(&mu);
	return early_rc;
}

// virtsh_event_impl_early reports whether the constructor's thread was
// started (for tests).
int virtsh_event_impl_early(void)
{
	return early_started;
}
