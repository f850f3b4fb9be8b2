package shell

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"libvirt.org/go/libvirt"

	"github.com/virtsh/virtsh/format"
	"github.com/virtsh/virtsh/shell/blocknodes"
)

// Options are the session's parts of virsh's global options.
type Options struct {
	URI      string // -c/--connect; empty: environment, then libvirt's default
	ReadOnly bool   // -r/--readonly
	// Keepalive (-k interval seconds, -K count); virsh's defaults are 5 and 6.
	// KeepaliveSet records that the user gave -k or -K: only then is a
	// failure to set it up an error, as in virsh.
	KeepaliveInterval int
	KeepaliveCount    uint
	KeepaliveSet      bool
	Timing            bool   // -t
	Debug             int    // -d, 0..4; 4 (errors only) by default
	LogFile           string // -l
	// Escape is -e/--escape, the console's escape sequence as the user gave
	// it ("^]", "~"); empty means virsh's default, "^]".
	Escape string
	// OneShot: the process runs the command line it was given and exits
	// (argv or a single command string), as opposed to a script on stdin or
	// the REPL. Such a process has no threads to spare: work that only pays
	// once the Go runtime has threads running (concurrent libvirt calls)
	// is done sequentially, as virsh does it.
	OneShot bool
}

// DefaultKeepalive are virsh's keepalive defaults.
const (
	DefaultKeepaliveInterval = 5
	DefaultKeepaliveCount    = 6
)

// Session is the long-lived state shared by every command of one virtsh
// process: the libvirt connection (opened lazily by the first command that
// needs it), the event loop, and the settings given on the command line.
// It plays the part of virsh's vshControl/virshControl.
type Session struct {
	IO   *format.IO
	Opts Options
	// Interactive is set by the REPL: some built-ins (cd) work only there.
	Interactive bool

	mu       sync.Mutex
	conn     *libvirt.Connect
	uri      string // what the user asked for ("" = libvirt's default)
	readOnly bool
	// disconnected is set by the close callback (from the event-loop
	// goroutine) and by commands whose error says the connection is gone;
	// the next command that needs the connection reconnects.
	disconnected atomic.Bool
	// Keep the last cause for tests and `debug` output.
	closeReason atomic.Int32
	// connecting is set while a connect is inside the C library, which no
	// context cancels (a frozen daemon holds it forever): the runner then
	// lets a signal end virtsh the default way (see Runner.runOne).
	connecting atomic.Bool
	// command is the context of the command running now: a connect that
	// returns after it was cancelled hands the command no connection, so a
	// cancelled command never runs later.
	command atomic.Pointer[context.Context]

	logMu sync.Mutex
	log   *os.File

	// lost is closed when the close callback reports the connection gone,
	// so a command waiting on events (a block job's --wait) stops waiting;
	// a new connection starts a new one.
	lostMu     sync.Mutex
	lost       chan struct{}
	lostClosed bool

	// The block node-name cache of this session's connection, made on
	// first use and told of every reconnect; guarded by mu.
	nodes *blocknodes.Cache
	// Facts about the host, per connection (hostcache.go); guarded by mu.
	facts *hostFacts

	// hosts is the session's fleet (shell/fleet, set by the command layer
	// for --hosts and the `hosts` built-in), closed with the session;
	// guarded by mu.
	hosts io.Closer
}

// Hosts is the fleet set with SetHosts (nil if none).
func (s *Session) Hosts() io.Closer {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hosts
}

// SetHosts gives the session its fleet; Close closes it.
func (s *Session) SetHosts(h io.Closer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hosts = h
}

// NewSession resolves the URI as virsh does and registers libvirt's event
// implementation (the loop thread starts later: see startEventLoop); it does
// not connect.
func NewSession(io *format.IO, opts Options) *Session {
	if opts.KeepaliveInterval == 0 && opts.KeepaliveCount == 0 && !opts.KeepaliveSet {
		opts.KeepaliveInterval, opts.KeepaliveCount = DefaultKeepaliveInterval, DefaultKeepaliveCount
	}
	s := &Session{IO: io, Opts: opts, uri: ResolveURI(opts.URI), readOnly: opts.ReadOnly}
	// libvirt's event implementation is registered before the first
	// connection (open) or loop start (startEventLoop), not here: help,
	// echo and completion never need it.
	if opts.KeepaliveSet {
		// The user asked for keepalive: it needs the loop from the start.
		startEventLoop()
	}
	if opts.LogFile != "" {
		if f, err := os.OpenFile(opts.LogFile, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600); err == nil {
			s.log = f
		} else {
			fmt.Fprintf(io.Err, "error: failed to open the log file '%s': %v\n", opts.LogFile, err)
		}
	}
	return s
}

// ResolveURI applies virsh's precedence: -c, then VIRTSH_DEFAULT_CONNECT_URI
// (and virsh's own VIRSH_DEFAULT_CONNECT_URI, so a virsh user's setting keeps
// working). LIBVIRT_DEFAULT_URI and libvirt.conf's uri_default are left to
// libvirt, which reads them when handed an empty URI.
func ResolveURI(flag string) string {
	if flag != "" {
		return flag
	}
	if v := os.Getenv("VIRTSH_DEFAULT_CONNECT_URI"); v != "" {
		return v
	}
	return os.Getenv("VIRSH_DEFAULT_CONNECT_URI")
}

// ReadOnly reports whether the session's connection is (or will be) read-only.
func (s *Session) ReadOnly() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.readOnly
}

// RequestedURI is the URI the next connection will use ("" = libvirt's default).
func (s *Session) RequestedURI() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.uri
}

// Connected reports whether a connection is open (without opening one).
func (s *Session) Connected() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conn != nil
}

// Conn returns the connection, opening it on first use and reopening it after
// a disconnect, printing what virsh prints (virshConnectionHandler).
func (s *Session) Conn() (*libvirt.Connect, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn == nil || s.disconnected.Load() {
		if err := s.reconnectLocked("", false, false); err != nil {
			return nil, err
		}
	}
	if alive, err := s.conn.IsAlive(); err == nil && !alive {
		return nil, errors.New("no valid connection")
	}
	return s.conn, nil
}

// Connect is the `connect` built-in: it closes any connection and opens uri
// (empty: the current one), read-only if asked. Like virsh it prints no
// "Reconnected" message.
func (s *Session) Connect(uri string, readOnly bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reconnectLocked(uri, readOnly, true)
}

// reconnectLocked follows virshReconnect: keep the read-only flag when
// reconnecting to the same URI, close the old connection, open the new one,
// register the close callback, and report.
func (s *Session) reconnectLocked(name string, readOnly, explicit bool) error {
	if !readOnly && name == "" {
		readOnly = s.readOnly
	}
	wasConnected := s.conn != nil
	if s.conn != nil {
		_ = s.conn.UnregisterCloseCallback()
		_, _ = s.conn.Close()
		s.conn = nil
	}
	uri := s.uri
	if name != "" {
		uri = name
	}
	start := time.Now()
	s.connecting.Store(true)
	conn, err := s.open(uri, readOnly)
	s.connecting.Store(false)
	if err != nil {
		first := "failed to connect to the hypervisor"
		if s.disconnected.Load() {
			first = "Failed to reconnect to the hypervisor"
		}
		return MsgThenCause(first, err)
	}
	s.Logf("connected to '%s' in %s", uri, time.Since(start))
	if name != "" {
		s.uri = name
	}
	s.readOnly = readOnly
	s.conn = conn
	if err := conn.RegisterCloseCallback(s.onClose); err != nil {
		fmt.Fprintln(s.IO.Err, "error: Unable to register disconnect callback")
	}
	if wasConnected && !explicit {
		fmt.Fprintln(s.IO.Err, "error: Reconnected to the hypervisor")
	}
	s.disconnected.Store(false)
	s.lostMu.Lock()
	s.lost, s.lostClosed = nil, false
	s.lostMu.Unlock()
	if s.nodes != nil {
		s.nodes.Reconnected()
	}
	if ctx := s.command.Load(); ctx != nil && (*ctx).Err() != nil {
		return context.Cause(*ctx)
	}
	return nil
}

// Nodes returns the session's block node-name cache, creating it on first
// use. It registers its event callbacks on the session's connection when it
// is first used with one, so commands that never touch it cost nothing; its
// taint warnings go to the session's stderr.
func (s *Session) Nodes() *blocknodes.Cache {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.nodes == nil {
		s.nodes = blocknodes.New(s, s.IO.Err)
	}
	return s.nodes
}

// open opens uri and sets up keepalive on the connection.
func (s *Session) open(uri string, readOnly bool) (*libvirt.Connect, error) {
	registerEventImpl() // before any connection: see registerEventImpl
	var flags libvirt.ConnectFlags
	if readOnly {
		flags |= libvirt.CONNECT_RO
	}
	conn, err := libvirt.NewConnectWithAuthDefault(uri, flags)
	if err != nil {
		return nil, err
	}
	if s.Opts.KeepaliveInterval > 0 {
		if kerr := conn.SetKeepAlive(s.Opts.KeepaliveInterval, s.Opts.KeepaliveCount); kerr != nil && s.Opts.KeepaliveSet {
			// virsh's order: this line, then "failed to connect to the
			// hypervisor", then libvirt's reason (the keepalive error).
			_, _ = conn.Close()
			fmt.Fprintln(s.IO.Err, "error: Cannot setup keepalive on connection as requested, disconnecting")
			return nil, kerr
		}
	}
	return conn, nil
}

// onClose is virshCatchDisconnect: it runs on the event-loop goroutine when the
// daemon goes away, says so the way virsh does, and marks the session so the
// next command reconnects.
func (s *Session) onClose(conn *libvirt.Connect, reason libvirt.ConnectCloseReason) {
	if reason == libvirt.CONNECT_CLOSE_REASON_CLIENT {
		return
	}
	uri, _ := conn.GetURI()
	var why string
	switch reason {
	case libvirt.CONNECT_CLOSE_REASON_ERROR:
		why = "I/O error"
	case libvirt.CONNECT_CLOSE_REASON_EOF:
		why = "end of file"
	case libvirt.CONNECT_CLOSE_REASON_KEEPALIVE:
		why = "keepalive timeout"
	default:
		why = "unknown reason"
	}
	s.closeReason.Store(int32(reason))
	s.disconnected.Store(true)
	fmt.Fprintf(s.IO.Err, "error: Disconnected from %s due to %s\n", uri, why)
	s.lostMu.Lock()
	if s.lost != nil && !s.lostClosed {
		close(s.lost)
		s.lostClosed = true
	}
	s.lostMu.Unlock()
}

// Lost returns a channel closed once the close callback reports the current
// connection gone (already closed if it is gone now).
func (s *Session) Lost() <-chan struct{} {
	s.lostMu.Lock()
	defer s.lostMu.Unlock()
	if s.lost == nil {
		s.lost = make(chan struct{})
		if s.disconnected.Load() {
			close(s.lost)
			s.lostClosed = true
		}
	}
	return s.lost
}

// ClosedByPeer reports whether the last loss was the daemon closing the
// connection (end of file or I/O error): reconnecting at once is worth a
// try. After a keepalive timeout the daemon may be hung, and opening a
// connection to it would hang too.
func (s *Session) ClosedByPeer() bool {
	r := libvirt.ConnectCloseReason(s.closeReason.Load())
	return r == libvirt.CONNECT_CLOSE_REASON_EOF || r == libvirt.CONNECT_CLOSE_REASON_ERROR
}

// Disconnected reports whether the connection was lost and not yet reopened.
func (s *Session) Disconnected() bool { return s.disconnected.Load() }

// NoteError marks the session disconnected when a command's libvirt error says
// the connection is gone, as virsh's vshCommandRun does, so that the next
// command reconnects.
func (s *Session) NoteError(err error) {
	var le libvirt.Error
	if !errors.As(err, &le) {
		return
	}
	if (le.Code == libvirt.ERR_SYSTEM_ERROR && le.Domain == libvirt.FROM_REMOTE) ||
		le.Domain == libvirt.FROM_RPC || le.Code == libvirt.ERR_NO_CONNECT || le.Code == libvirt.ERR_INVALID_CONN {
		s.disconnected.Store(true)
	}
}

// unknownCause is what libvirt reports when a call failed without an error
// of its own: a call in flight when keepalive closes the connection fails so,
// the real error having been raised on the event-loop thread. virsh shows
// that other thread's error (its error handler keeps the last one raised
// anywhere); virtsh words it from the close reason instead.
const unknownCause = "An error occurred, but the cause is unknown"

// ExplainError replaces libvirt's "cause is unknown" by the reason the
// connection was closed, when the close callback has reported one, so a
// command cut off by a hung daemon says why:
//
//	error: failed to get hostname
//	error: internal error: connection closed due to keepalive timeout
func (s *Session) ExplainError(err error) error {
	if err == nil || !s.disconnected.Load() ||
		libvirt.ConnectCloseReason(s.closeReason.Load()) != libvirt.CONNECT_CLOSE_REASON_KEEPALIVE {
		return err
	}
	lines := append([]string(nil), MessageLines(err)...)
	changed := false
	for i, l := range lines {
		if l == unknownCause {
			lines[i] = "internal error: connection closed due to keepalive timeout"
			changed = true
		}
	}
	if !changed {
		return err
	}
	return &LinesError{Lines: lines, Cause: err}
}

// Close closes the connection, if any.
func (s *Session) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn != nil {
		_ = s.conn.UnregisterCloseCallback()
		_, _ = s.conn.Close()
		s.conn = nil
	}
	if s.hosts != nil {
		_ = s.hosts.Close()
		s.hosts = nil
	}
	if s.log != nil {
		_ = s.log.Close()
		s.log = nil
	}
}

// Logf appends a line to the -l log file in virsh's format.
func (s *Session) Logf(format string, args ...any) {
	s.logMu.Lock()
	defer s.logMu.Unlock()
	if s.log == nil {
		return
	}
	fmt.Fprintf(s.log, "[%s virtsh %d] INFO %s\n", time.Now().Format("2006.01.02 15:04:05"), os.Getpid(), fmt.Sprintf(format, args...))
}

// Debugf prints a debug message to stderr when -d allows it (level 0..4,
// lower is chattier, as virsh's -d).
func (s *Session) Debugf(level int, format string, args ...any) {
	if level >= s.Opts.Debug && s.Opts.Debug < 4 {
		fmt.Fprintf(s.IO.Err, format+"\n", args...)
	}
	s.Logf(format, args...)
}
