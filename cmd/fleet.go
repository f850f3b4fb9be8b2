package cmd

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/virtsh/virtsh/format"
	"github.com/virtsh/virtsh/shell"
	"github.com/virtsh/virtsh/shell/domain"
	"github.com/virtsh/virtsh/shell/fleet"
	"github.com/virtsh/virtsh/shell/spec"
)

// fleetOf is the session's fleet, made on first use: each host's session
// takes the main session's options (keepalive, read-only, debug) with the
// host's URI.
func fleetOf(sess *shell.Session) *fleet.Fleet {
	if f, ok := sess.Hosts().(*fleet.Fleet); ok {
		return f
	}
	f := fleet.New(func(uri string) *shell.Session {
		opts := sess.Opts
		opts.URI = uri
		opts.ReadOnly = sess.ReadOnly()
		return shell.NewSession(sess.IO, opts)
	})
	sess.SetHosts(f)
	return f
}

// envFleet is the fleet of the command's hosts: the one that routed it, or
// the session's own.
func envFleet(env *Env) *fleet.Fleet {
	if env.Fleet != nil {
		return env.Fleet
	}
	return fleetOf(env.Sess)
}

// selectedHosts is the session's selection of hosts, nil when it works on
// one host (no --hosts, or `hosts --off`).
func selectedHosts(sess *shell.Session) []fleet.Host {
	if f, ok := sess.Hosts().(*fleet.Fleet); ok {
		return f.Selected()
	}
	return nil
}

// fleetInvocation wraps a parsed command when several hosts are selected:
// the command's declaration (spec.Command.Hosts) decides whether it runs on
// every host, on the one host that has its guest, or is refused.
func fleetInvocation(sess *shell.Session, e *entry, words []string, inv invocation) (shell.Invocation, error) {
	c := inv.c
	if c.NoConnect || c.Hosts == spec.HostsSelf {
		return inv, nil
	}
	f := fleetOf(sess)
	hosts := f.Selected()
	if c.FansOut() {
		return fanOut{f: f, e: e, words: words, inv: inv, hosts: hosts}, nil
	}
	if o := c.Lookup(c.DomainOption()); o != nil && o.Given() {
		return routed{f: f, e: e, words: words, inv: inv, hosts: hosts, word: o.Value()}, nil
	}
	return nil, fmt.Errorf("command '%s' runs on one host: connect to it with -c instead of --hosts", c.Name)
}

// hostCommand parses words again over the host's session, with IO io: a
// fresh declaration per host, as every command gets.
func hostCommand(e *entry, words []string, f *fleet.Fleet, s *shell.Session, io *format.IO) (invocation, error) {
	env := &Env{Sess: s, IO: io, Fleet: f}
	c := e.build(env)
	if err := c.Parse(words[1:]); err != nil {
		return invocation{}, err
	}
	return invocation{env: env, c: c}, nil
}

// hasDomain looks word up on the host as the command would (ByAny): found,
// or not there (the host answered), or the host's error.
func hasDomain(s *shell.Session, word string) error {
	conn, err := s.Conn()
	if err != nil {
		return err
	}
	d, err := domain.Lookup(conn, word, domain.ByAny)
	if err != nil {
		if alive, aerr := conn.IsAlive(); aerr == nil && alive {
			return fleet.ErrNotHere
		}
		return err
	}
	_ = d.Free()
	return nil
}

// hostErrors prints each failed host's error as `error: HOST: ...`, one line
// per line of the error, and tells the host's session of it (a lost
// connection is reopened by the next command). It reports whether any host
// failed.
func hostErrors(errw *format.IO, f *fleet.Fleet, outs []fleet.Outcome) bool {
	failed := false
	for _, o := range outs {
		if o.Err == nil || errors.Is(o.Err, fleet.ErrNotHere) {
			continue
		}
		failed = true
		if errors.Is(o.Err, shell.ErrSilent) {
			continue
		}
		s := f.Session(o.Host)
		err := s.ExplainError(o.Err)
		s.NoteError(err)
		for _, l := range shell.MessageLines(err) {
			errw.Errorf("error: %s: %s\n", o.Host.Name, l)
		}
	}
	return failed
}

// fanOut is a read-only data command run on every selected host at once.
type fanOut struct {
	f     *fleet.Fleet
	e     *entry
	words []string
	inv   invocation
	hosts []fleet.Host
}

func (fo fanOut) Run(ctx context.Context) error {
	io := fo.inv.env.IO // the command's own -o applied
	c := fo.inv.c
	word := ""
	if o := c.Lookup(c.DomainOption()); o != nil && o.Given() {
		word = o.Value()
	}
	stream := c.Hosts == spec.EachHostStream
	caps := make([]*format.HostCapture, len(fo.hosts))
	errs := make([]bytes.Buffer, len(fo.hosts))
	var outMu sync.Mutex
	outs := fo.f.Each(ctx, fo.hosts, func(ctx context.Context, i int, h fleet.Host, s *shell.Session, answered func()) error {
		hio := *io
		hio.Err = &errs[i]
		if stream {
			hio.Out = &format.HostLines{Host: h.Name, Out: io.Out, Mu: &outMu, JSON: io.Structured()}
			hio.Err = &format.HostLines{Host: h.Name, Out: io.Err, Mu: &outMu}
		} else {
			caps[i] = &format.HostCapture{}
			hio.Out = caps[i]
		}
		if word != "" {
			if err := hasDomain(s, word); err != nil {
				return err
			}
		} else if stream {
			if _, err := s.Conn(); err != nil {
				return err
			}
		}
		if stream {
			answered()
		}
		hinv, err := hostCommand(fo.e, fo.words, fo.f, s, &hio)
		if err != nil {
			return err
		}
		return hinv.Run(ctx)
	})
	found := false
	names := make([]string, len(fo.hosts))
	for i, o := range outs {
		names[i] = o.Host.Name
		if o.TimedOut || errors.Is(o.Err, fleet.ErrNotHere) {
			caps[i] = nil
		}
		found = found || !errors.Is(o.Err, fleet.ErrNotHere)
	}
	if !stream {
		if err := format.WriteHosts(io, names, caps); err != nil {
			return err
		}
		for i, o := range outs {
			if o.TimedOut {
				continue
			}
			for _, l := range strings.SplitAfter(errs[i].String(), "\n") {
				if l != "" {
					io.Errorf("%s: %s", names[i], l)
				}
			}
		}
	}
	failed := hostErrors(io, fo.f, outs)
	if word != "" && !found {
		return fmt.Errorf("failed to get domain '%s'", word)
	}
	if failed {
		return shell.ErrSilent
	}
	return nil
}

// routed is a command on a guest, run on the one selected host that has it.
type routed struct {
	f     *fleet.Fleet
	e     *entry
	words []string
	inv   invocation
	hosts []fleet.Host
	word  string
}

func (r routed) Run(ctx context.Context) error {
	io := r.inv.env.IO
	outs := r.f.Each(ctx, r.hosts, func(_ context.Context, _ int, _ fleet.Host, s *shell.Session, _ func()) error {
		return hasDomain(s, r.word)
	})
	var on []fleet.Host
	for _, o := range outs {
		if o.Err == nil {
			on = append(on, o.Host)
		}
	}
	if hostErrors(io, r.f, outs) {
		// A host that did not answer may hold the guest too: changing
		// something on the wrong host is worse than doing nothing.
		return fmt.Errorf("cannot tell which host has domain '%s': not every host answered", r.word)
	}
	switch len(on) {
	case 0:
		return fmt.Errorf("failed to get domain '%s'", r.word)
	case 1:
	default:
		names := make([]string, len(on))
		for i, h := range on {
			names[i] = h.Name
		}
		return fmt.Errorf("domain '%s' is on more than one host: %s (name one host with -c)", r.word, strings.Join(names, ", "))
	}
	s := r.f.Session(on[0])
	hinv, err := hostCommand(r.e, r.words, r.f, s, io)
	if err != nil {
		return err
	}
	if err := hinv.Run(ctx); err != nil {
		// Said as one host says it; the host's session (not the main one)
		// notes a lost connection.
		err = s.ExplainError(err)
		s.NoteError(err)
		if errors.Is(err, shell.ErrSilent) {
			return err
		}
		return &shell.LinesError{Lines: shell.MessageLines(err)}
	}
	return nil
}

// fleetOptions are --hosts and --host-timeout as Main reads them.
type fleetOptions struct {
	list       string
	listSet    bool
	timeout    time.Duration
	timeoutSet bool
}

func (o *fleetOptions) set(p parsedOpt) error {
	switch p.opt.long {
	case "hosts":
		o.list, o.listSet = p.arg, true
	case "host-timeout":
		d, err := parseHostTimeout(p.arg)
		if err != nil {
			return err
		}
		o.timeout, o.timeoutSet = d, true
	}
	return nil
}

// parseHostTimeout reads seconds, whole or not ("5", "0.5"), more than 0.
func parseHostTimeout(v string) (time.Duration, error) {
	sec, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if err != nil || sec <= 0 || sec > 1e6 || sec != sec {
		return 0, fmt.Errorf("option --host-timeout takes a number of seconds greater than 0, not '%s'", v)
	}
	return time.Duration(sec * float64(time.Second)), nil
}

// apply gives the session its selection of hosts: the names are resolved
// now, so a bad one fails before any command runs.
func (o *fleetOptions) apply(sess *shell.Session) error {
	if !o.listSet && !o.timeoutSet {
		return nil
	}
	f := fleetOf(sess)
	if o.timeoutSet {
		f.SetTimeout(o.timeout)
	}
	if o.listSet {
		hosts, err := fleet.Parse(o.list)
		if err != nil {
			return err
		}
		f.Select(hosts)
	}
	return nil
}

// Structured: see invocation.Structured.
func (f fanOut) Structured() bool { return f.inv.Structured() }

// Structured: see invocation.Structured.
func (r routed) Structured() bool { return r.inv.Structured() }
