// Package fleet is virtsh on several libvirt hosts at once. libvirt itself is
// the distributed engine — its remote driver carries every API, event and
// keepalive — so the fleet adds no agent and no control plane: it names the
// hosts (libvirt.conf's uri_aliases, or URIs), holds one session per host
// (each with its own connection, keepalive, reconnect, event registrations
// and node-name cache: a shell.Session, the same as for one host), and runs a
// function on several of them concurrently, waiting for each at most the
// host timeout.
package fleet

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/virtsh/virtsh/completion"
	"github.com/virtsh/virtsh/shell"
)

// DefaultTimeout is --host-timeout's default.
const DefaultTimeout = 5 * time.Second

// Host is one host: the name the user knows it by (a uri_aliases name, or
// the URI itself) and the URI virtsh connects to.
type Host struct {
	Name string
	URI  string
}

// Aliases are the hosts libvirt.conf's uri_aliases name, in its order, read
// from the file libvirt reads (completion.LibvirtConfPath: the user's for a
// user, /etc's for root).
func Aliases() []Host {
	var out []Host
	for _, c := range completion.URIAliases(completion.LibvirtConfPath()) {
		out = append(out, Host{Name: c.Value, URI: c.Desc})
	}
	return out
}

// Parse reads --hosts: "all" (every alias), or a comma list of alias names
// and URIs, in the user's order, each once.
func Parse(list string) ([]Host, error) {
	return parse(list, Aliases(), completion.LibvirtConfPath())
}

// parse is Parse over the aliases of the libvirt.conf at conf.
func parse(list string, aliases []Host, conf string) ([]Host, error) {
	if strings.TrimSpace(list) == "all" {
		if len(aliases) == 0 {
			return nil, fmt.Errorf("no hosts for --hosts all: %s has no uri_aliases", conf)
		}
		return aliases, nil
	}
	var out []Host
	seen := map[string]bool{}
	for _, w := range strings.Split(list, ",") {
		w = strings.TrimSpace(w)
		if w == "" {
			return nil, fmt.Errorf("empty host name in --hosts '%s'", list)
		}
		h, ok := lookup(aliases, w)
		if !ok && strings.Contains(w, ":") {
			h, ok = Host{Name: w, URI: w}, true
		}
		if !ok {
			return nil, fmt.Errorf("unknown host '%s': not a uri_aliases name in %s, nor a URI", w, conf)
		}
		if !seen[h.Name] {
			seen[h.Name] = true
			out = append(out, h)
		}
	}
	return out, nil
}

// lookup is the alias named w.
func lookup(aliases []Host, w string) (Host, bool) {
	for _, a := range aliases {
		if a.Name == w {
			return a, true
		}
	}
	return Host{}, false
}

// Resolve is the host a word names where one host is wanted (migrate's
// DESTURI): a uri_aliases name is that alias, anything else is taken as a
// URI, to be refused by libvirt if it is none. The client resolves it, so
// that a peer-to-peer migration, whose destination the source daemon
// connects to with its own libvirt.conf, reaches the host the user named.
func Resolve(word string) Host { return resolve(word, Aliases()) }

func resolve(word string, aliases []Host) Host {
	if h, ok := lookup(aliases, word); ok {
		return h
	}
	return Host{Name: word, URI: word}
}

// Fleet is the hosts a session works on: the selection (--hosts, the
// `hosts` built-in) and one session per host, made on first use and kept
// for the life of the process, so a REPL keeps its connections (and their
// caches) from one command to the next, and a host that went away is
// reconnected by its own session as one host is.
type Fleet struct {
	// NewSession makes the session of a host's URI.
	NewSession func(uri string) *shell.Session

	mu       sync.Mutex
	selected []Host
	timeout  time.Duration
	sessions map[string]*shell.Session // by URI
	// busy counts, per URI, the functions of Each still running: a host
	// that did not answer may hold its session's lock in a libvirt call.
	busy map[string]int
}

// New is a fleet with nothing selected and the default timeout.
func New(newSession func(uri string) *shell.Session) *Fleet {
	return &Fleet{NewSession: newSession, timeout: DefaultTimeout, sessions: map[string]*shell.Session{}, busy: map[string]int{}}
}

// Select makes hosts the selection (nil: back to one host).
func (f *Fleet) Select(hosts []Host) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.selected = append([]Host(nil), hosts...)
}

// Selected is the selection, nil when none.
func (f *Fleet) Selected() []Host {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.selected) == 0 {
		return nil
	}
	return append([]Host(nil), f.selected...)
}

// SetTimeout sets how long a command waits for each host.
func (f *Fleet) SetTimeout(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.timeout = d
}

// Timeout is how long a command waits for each host.
func (f *Fleet) Timeout() time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.timeout
}

// Session is the host's session, made on first use.
func (f *Fleet) Session(h Host) *shell.Session {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.sessions[h.URI]
	if s == nil {
		s = f.NewSession(h.URI)
		f.sessions[h.URI] = s
	}
	return s
}

// Close closes every host's session but those of hosts that have not
// answered yet: closing one would wait for the hung daemon (the process is
// ending, and the kernel closes their sockets).
func (f *Fleet) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for uri, s := range f.sessions {
		if f.busy[uri] == 0 {
			s.Close()
		}
	}
	f.sessions = map[string]*shell.Session{}
	return nil
}

func (f *Fleet) setBusy(uri string, d int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.busy[uri] += d
}

// Outcome is how a function run on one host ended.
type Outcome struct {
	Host Host
	Err  error
	// TimedOut: the host did not answer within the timeout; the function
	// may still be running (a libvirt call on a hung daemon returns only
	// when keepalive gives up), and whatever it writes is ignored.
	TimedOut bool
}

// NoAnswerError is a host that did not answer within the timeout.
type NoAnswerError struct{ Timeout time.Duration }

func (e *NoAnswerError) Error() string {
	return fmt.Sprintf("no answer within %s", e.Timeout)
}

// Run is a function run on one host with its session. answered, when
// called, ends the timeout for that host: a command that streams until
// stopped (event --loop) calls it once connected.
type Run func(ctx context.Context, i int, h Host, s *shell.Session, answered func()) error

// Each runs fn on every host at once and waits for each until it returns,
// the timeout passes (TimedOut, with a NoAnswerError) or ctx is done; the
// outcomes are in the order of hosts.
func (f *Fleet) Each(ctx context.Context, hosts []Host, fn Run) []Outcome {
	timeout := f.Timeout()
	out := make([]Outcome, len(hosts))
	var wg sync.WaitGroup
	for i, h := range hosts {
		out[i].Host = h
		s := f.Session(h)
		wg.Add(1)
		go func() {
			defer wg.Done()
			hctx, cancel := context.WithCancel(ctx)
			defer cancel()
			done := make(chan error, 1)
			answeredCh := make(chan struct{})
			var once sync.Once
			f.setBusy(h.URI, 1)
			go func() {
				defer f.setBusy(h.URI, -1)
				done <- fn(hctx, i, h, s, func() { once.Do(func() { close(answeredCh) }) })
			}()
			answered := (<-chan struct{})(answeredCh)
			timer := time.NewTimer(timeout)
			defer timer.Stop()
			for {
				select {
				case err := <-done:
					out[i].Err = err
					return
				case <-answered:
					answered = nil // no timeout any more: wait for done or ctx
					timer.Stop()
				case <-timer.C:
					out[i].Err, out[i].TimedOut = &NoAnswerError{Timeout: timeout}, true
					return
				case <-ctx.Done():
					// The function sees its context cancelled too; give it
					// the timeout to wind down (an aborted job), no longer.
					select {
					case err := <-done:
						out[i].Err = err
					case <-time.After(timeout):
						out[i].Err, out[i].TimedOut = context.Cause(ctx), true
					}
					return
				}
			}
		}()
	}
	wg.Wait()
	return out
}

// ErrNotHere is what a function returns on a host that does not have the
// guest it was asked about: not a failure of that host.
var ErrNotHere = errors.New("not on this host")
