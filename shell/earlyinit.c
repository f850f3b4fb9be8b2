// libvirt's global initialisation, started before Go's.
//
// virEventRegisterDefaultImpl (which runs virInitialize: driver
// registration, GnuTLS, logging set-up) takes about 0.4 ms, and every virtsh
// command that talks to libvirt waits for it. Go's own start-up (runtime and
// package initialisation) then takes about 1 ms on the main thread before
// main runs. This constructor, which the dynamic loader runs after libvirt's
// own constructors and before Go's runtime starts, begins libvirt's
// initialisation on a thread of its own, so that the two overlap on a second
// CPU; registerEventImpl (eventloop.go) waits for its result instead of
// doing the work. virsh does the same work at start, on its main thread.
// Measured: one-shot domstate 14.72 -> 14.17 ms (virsh 14.35), medians of
// 10 alternating rounds of 50 runs.

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

static int early_started;
static int early_rc = -1;
// The thread's progress, under mu (cv signalled at each step): impl_ready
// once the event implementation is registered (registerEventImpl waits for
// that, not for the connection), thread_done once it has finished.
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int impl_ready;
static int thread_done;

// The early connection (see virtsh_preconnect_decide): opened on the same
// thread once the event implementation is registered, so that a one-shot
// command's connection is made while Go starts instead of after.
static int pre_wanted;          // the command line asks for one
static int pre_ro;              // read-only: a completion's connection
static const char *pre_uri;     // NULL: libvirt's default, as Go passes ""
static virConnectPtr pre_conn;  // set by the thread; taken or closed later
static int pre_done;            // taken or discarded

static void ignore_error(void *data, virErrorPtr err)
{
	(void)data;
	(void)err;
}

static void set_flag(int *flag)
{
	pthread_mutex_lock(&mu);
	*flag = 1;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
}

static void *early_init(void *arg)
{
	(void)arg;
	early_rc = virEventRegisterDefaultImpl();
	set_flag(&impl_ready);
	if (pre_wanted && early_rc == 0) {
		// No error printed from here: the Go binding installs the same
		// handler when it starts; a failed early open is redone, and
		// reported, by Go.
		virSetErrorFunc(NULL, ignore_error);
		pre_conn = pre_ro ? virConnectOpenReadOnly(pre_uri)
		                  : virConnectOpenAuth(pre_uri, virConnectAuthPtrDefault, 0);
	}
	set_flag(&thread_done);
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

// The commands that never use a connection (virsh's built-ins and the
// completion entry points). TestPreconnectSkipsNoConnectCommands keeps this
// list equal to the commands marked annNoConnect in cmd/.
static const char *const no_connect[] = {
	"help", "echo", "connect", "cd", "pwd", "quit", "exit",
	"completion", "__complete", "__completeNoDesc", NULL,
};

int virtsh_preconnect_skips(const char *cmd)
{
	for (int i = 0; no_connect[i]; i++)
		if (strcmp(cmd, no_connect[i]) == 0)
			return 1;
	return 0;
}

// local reports whether uri names a hypervisor on this host without a
// remote transport: "qemu:///system", "test:///default", "qemu+unix:///...".
// Only those are opened early: a remote one may ask for a password or a host
// key on the terminal, which must not happen for a command line that turns
// out not to need the connection.
static int local(const char *uri)
{
	const char *p = strstr(uri, "://");
	if (!p || p == uri || p[3] != '/')
		return 0;
	const char *plus = memchr(uri, '+', p - uri);
	return !plus || (size_t)(p - plus) == strlen("+unix") && strncmp(plus, "+unix", 5) == 0;
}

// virtsh_main_program is defined by virtsh's main package (preconnect.go):
// only the virtsh program plans an early connection, not the other programs
// built with this package (tests, the man-page generator), whose command
// lines mean something else.
extern int virtsh_main_program __attribute__((weak));

// virtsh_preconnect_decide decides from the command line alone whether this
// process is a one-shot command that needs a connection, and to which URI:
// `virtsh CMD ...` or `virtsh -c URI CMD ...` (also --connect URI,
// --connect=URI, and -q/--quiet among them) with CMD not a built-in, the URI resolved as
// shell.ResolveURI does (-c, then VIRTSH_DEFAULT_CONNECT_URI and
// VIRSH_DEFAULT_CONNECT_URI, else libvirt's default, i.e. NULL), and local.
// libvirt's default is used only when LIBVIRT_DEFAULT_URI names it: otherwise
// libvirt.conf or probing decides, and that may be remote. Anything else
// (other global options, a command string, the REPL, a script) opens
// nothing here. Go compares the URI before it takes the connection.
//
// A completion request, `virtsh __complete [-c URI] CMD WORD... CUR`, gets
// the read-only connection completion opens (cmd's readOnlyHost) when CMD
// needs a connection and CUR is not an option name: the values of an
// argument (domain names, disks, ...) come from the host.
int virtsh_preconnect_decide(int argc, char **argv, const char **uri_out, int *ro_out)
{
	int i = 1, ro = 0;
	const char *uri = NULL, *check = NULL;

	*uri_out = NULL;
	*ro_out = 0;
	if (argc < 2)
		return 0;
	if (strcmp(argv[1], "__complete") == 0 || strcmp(argv[1], "__completeNoDesc") == 0) {
		// The command and the word being completed at least.
		if (argc < 4 || argv[argc - 1][0] == '-')
			return 0;
		ro = 1;
		i = 2;
	}
	// Global options: -c/--connect (the last one wins, as with getopt) and
	// -q/--quiet, which does not touch the connection; any other ends the
	// plan.
	while (i < argc && argv[i][0] == '-') {
		if (strcmp(argv[i], "-q") == 0 || strcmp(argv[i], "--quiet") == 0) {
			i++;
			continue;
		}
		if (strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--connect") == 0) {
			if (i + 1 >= argc)
				return 0;
			uri = check = argv[i + 1];
			i += 2;
		} else if (strncmp(argv[i], "--connect=", 10) == 0) {
			uri = check = argv[i] + 10;
			i++;
		} else {
			return 0;
		}
		if (!*uri)
			return 0; // -c "": ResolveURI falls back to the environment
	}
	if (!check) {
		if (!(uri = getenv("VIRTSH_DEFAULT_CONNECT_URI")) || !*uri)
			uri = getenv("VIRSH_DEFAULT_CONNECT_URI");
		if (uri && !*uri)
			uri = NULL;
		check = uri ? uri : getenv("LIBVIRT_DEFAULT_URI");
	}
	if (i >= argc || (ro && i >= argc - 1) || argv[i][0] == '-' || argv[i][0] == '\0' ||
	    strpbrk(argv[i], " \t\n;#'\"\\") || virtsh_preconnect_skips(argv[i]))
		return 0;
	if (!check || !*check || !local(check))
		return 0;
	*uri_out = uri && *uri ? uri : NULL;
	*ro_out = ro;
	return 1;
}

__attribute__((constructor)) static void virtsh_early_init(int argc, char **argv)
{
	if (&virtsh_main_program != NULL) {
		if (!getenv("VIRTSH_NO_PRECONNECT"))
			pre_wanted = virtsh_preconnect_decide(argc, argv, &pre_uri, &pre_ro);
		// `virtsh echo ...`, `virtsh help`, `virtsh completion bash` and a
		// completion that needs no host never use libvirt: nothing starts.
		if (!pre_wanted && argc >= 2 && virtsh_preconnect_skips(argv[1]))
			return;
	}
	early_started = virtsh_start_thread(early_init) == 0;
}

// virtsh_event_impl_register returns virEventRegisterDefaultImpl's result:
// the early thread's or, if that thread could not be started, its own.
// Called once (registerEventImpl's sync.Once). It waits for the
// registration only, not for the early connection.
int virtsh_event_impl_register(void)
{
	if (!early_started)
		return virEventRegisterDefaultImpl();
	pthread_mutex_lock(&mu);
	while (!impl_ready)
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

// claim hands over the early connection, once: it waits for the thread to
// finish, for at most a second when bounded (a daemon that does not answer
// keeps the thread in virConnectOpenAuth, and a command that failed without
// needing the connection must still end; its socket then goes with the
// process). NULL when none was planned, opened, or finished in time.
static virConnectPtr claim(int bounded)
{
	struct timespec until;
	virConnectPtr c;
	int finished;

	if (pre_done || !pre_wanted)
		return NULL;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 1;
	pthread_mutex_lock(&mu);
	while (!thread_done)
		if (bounded ? pthread_cond_timedwait(&cv, &mu, &until) != 0 : pthread_cond_wait(&cv, &mu) != 0)
			break;
	finished = thread_done;
	pthread_mutex_unlock(&mu);
	if (!finished)
		return NULL;
	c = pre_conn;
	pre_conn = NULL;
	pre_done = 1;
	return c;
}

// virtsh_preconnect_take returns the early connection if one was opened for
// uri (NULL for libvirt's default), read-only or not as ro says, and hands it
// over: the caller owns it. Otherwise it closes whatever was opened and
// returns NULL; after the first call it always returns NULL.
virConnectPtr virtsh_preconnect_take(const char *uri, int ro)
{
	virConnectPtr c = claim(0);

	if (c && (!ro != !pre_ro || (uri == NULL) != (pre_uri == NULL) || (uri && strcmp(uri, pre_uri) != 0))) {
		virConnectClose(c);
		c = NULL;
	}
	return c;
}

// virtsh_preconnect_discard closes the early connection if nobody took it
// (the command failed before it needed one): a client that exits with its
// connection open makes libvirtd log an error.
void virtsh_preconnect_discard(void)
{
	virConnectPtr c = claim(1);

	if (c)
		virConnectClose(c);
}

// virtsh_preconnect_planned reports whether the command line asked for an
// early connection (for tests).
int virtsh_preconnect_planned(void)
{
	return pre_wanted;
}
