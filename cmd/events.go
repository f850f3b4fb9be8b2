package cmd

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"libvirt.org/go/libvirt"

	"github.com/virtsh/virtsh/completion"
	"github.com/virtsh/virtsh/shell"
	"github.com/virtsh/virtsh/shell/domain"
	"github.com/virtsh/virtsh/shell/spec"
)

// The "Domain Events" group: event.

// eventNames are virsh 9.0's event types, in its order (virsh event --list).
var eventNames = completion.EventNames

// domEvent is one received event: virsh's text and the -o json view.
type domEvent struct {
	Timestamp string         `json:"timestamp" yaml:"timestamp"`
	Event     string         `json:"event" yaml:"event"`
	Domain    string         `json:"domain" yaml:"domain"`
	UUID      string         `json:"uuid" yaml:"uuid"`
	Details   map[string]any `json:"details" yaml:"details"`
	text      string         // virsh's line(s), with the final newline
	when      time.Time
}

func newEventCmd(env *Env) *spec.Command {
	var o struct {
		dom, event, timeout    string
		all, loop, list, stamp bool
	}
	c := &spec.Command{
		Short:   "Domain Events",
		Long:    "List event types, or wait for domain events to occur",
		Example: "event --list\nevent vm1 --all --loop --timestamp\nevent --event block-threshold --timeout 60 -o json",
	}
	f := c.String(&o.dom, "domain", "filter by domain name, id or uuid", spec.Unwanted, false)
	f.Complete(spec.Domain, "")
	f = c.String(&o.event, "event", "which event type to wait for", spec.Unwanted, false)
	f.Complete(spec.Event)
	c.Bool(&o.all, "all", "wait for all events instead of just one type")
	c.Bool(&o.loop, "loop", "loop until timeout or interrupt, rather than one-shot")
	c.Number(&o.timeout, "timeout", "timeout seconds", spec.Unwanted, false)
	c.Bool(&o.list, "list", "list valid event types")
	c.Bool(&o.stamp, "timestamp", "show timestamp for each printed event")
	outputOption(c, env.IO)
	c.Exclusive("all", "event")
	c.Exclusive("list", "all")
	c.Exclusive("list", "event")
	c.Hosts, c.HostsWhen = spec.EachHostStream, "loop" // every host's events, as they come
	c.Run = func(ctx context.Context) error {
		if o.list {
			for _, n := range eventNames {
				env.IO.Printf("%s\n", n)
			}
			return nil
		}
		if o.event == "" && !o.all {
			return errors.New("one of --list, --all, or --event <type> is required")
		}
		names := eventNames
		if o.event != "" {
			names = nil
			for _, n := range eventNames {
				if n == o.event {
					names = []string{n}
				}
			}
			if names == nil {
				return fmt.Errorf("unknown event type %s", o.event)
			}
		}
		timeout, err := optTimeout(c, "timeout", o.timeout)
		if err != nil {
			return err
		}
		conn, err := env.Sess.Conn()
		if err != nil {
			return err
		}
		var dom *libvirt.Domain
		if c.Given("domain") {
			if dom, err = env.lookupDomain(o.dom); err != nil {
				return err
			}
			defer func() { _ = dom.Free() }()
		}
		ch := make(chan *domEvent, 64)
		env.Sess.StartEventLoop() // events are what this command waits for
		ids, err := registerEvents(conn, dom, names, ch)
		deregister := func() (first error) {
			for _, id := range ids {
				if err := conn.DomainEventDeregister(id); err != nil && first == nil {
					first = err
				}
			}
			ids = nil
			return first
		}
		defer func() { _ = deregister() }()
		if err != nil {
			return err
		}
		var expire <-chan time.Time
		if timeout > 0 {
			t := time.NewTimer(timeout)
			defer t.Stop()
			expire = t.C
		}
		count := 0
		// A lost connection brings no more events: end as virsh does, whose
		// deregistration then fails on the closed socket.
		lost, connLost := env.Sess.Lost(), false
		// virsh's closing lines; with -o json|yaml they go to stderr so that
		// stdout stays a clean JSON Lines (or YAML) stream.
		trailer := env.IO.Printf
		if env.IO.Structured() {
			trailer = env.IO.Errorf
		}
	loop:
		for {
			select {
			case ev := <-ch:
				if ev.Event == "block-threshold" {
					annotateThreshold(env, ev)
				}
				printEvent(env, ev, o.stamp)
				count++
				if !o.loop {
					break loop
				}
			case <-ctx.Done():
				trailer("event loop interrupted\n")
				break loop
			case <-expire:
				trailer("event loop timed out\n")
				break loop
			case <-lost:
				connLost = true
				break loop
			}
		}
		trailer("events received: %d\n", count)
		if connLost {
			if err := deregister(); err != nil {
				return err
			}
			return errors.New("internal error: client socket is closed")
		}
		if count == 0 {
			return shell.ErrSilent
		}
		return nil
	}
	return c
}

// optTimeout is virsh's vshCommandOptTimeoutToMs: 1..INT_MAX/1000 seconds.
func optTimeout(c *spec.Command, name, val string) (time.Duration, error) {
	if !c.Given(name) {
		return 0, nil
	}
	n, err := strconv.ParseInt(val, 10, 64)
	if err != nil || n <= 0 || n > 2147483 {
		return 0, fmt.Errorf("Numeric value '%s' for <%s> option is malformed or out of range", val, name)
	}
	return time.Duration(n) * time.Second, nil
}

func printEvent(env *Env, ev *domEvent, stamp bool) {
	if env.IO.Output == "json" {
		// JSON Lines: one compact object per event.
		_ = env.IO.EncodeLine(ev)
		return
	}
	if env.IO.Output == "yaml" {
		env.IO.Printf("---\n")
		_ = env.IO.Encode(ev)
		return
	}
	if stamp {
		env.IO.Printf("%s: ", ev.when.UTC().Format("2006-01-02 15:04:05.000")+"+0000")
	}
	env.IO.Printf("%s", ev.text)
}

// eventSink builds domEvents from callbacks (on the event-loop goroutine) and
// hands them over without blocking it.
type eventSink chan *domEvent

func (s eventSink) emit(d *libvirt.Domain, name string, details map[string]any, format string, args ...any) {
	dname, _ := d.GetName()
	s.emitText(d, name, details, fmt.Sprintf("event '%s' for domain '%s'", name, dname)+fmt.Sprintf(format, args...))
}

func (s eventSink) emitText(d *libvirt.Domain, name string, details map[string]any, text string) {
	dname, _ := d.GetName()
	uuid, _ := d.GetUUIDString()
	now := time.Now()
	if details == nil {
		details = map[string]any{}
	}
	ev := &domEvent{
		Timestamp: now.UTC().Format(time.RFC3339Nano), Event: name, Domain: dname, UUID: uuid,
		Details: details, when: now, text: text,
	}
	select {
	case s <- ev:
	default: // a reader that stopped reading loses events, never blocks libvirt
	}
}

// Labels as virsh prints them (virsh-domain-event.c, virsh-domain.c).
var (
	lifecycleEvents = []string{"Defined", "Undefined", "Started", "Suspended", "Resumed", "Stopped", "Shutdown", "PMSuspended", "Crashed"}
	lifecycleDetail = [][]string{
		{"Added", "Updated", "Renamed", "Snapshot"},
		{"Removed", "Renamed"},
		{"Booted", "Migrated", "Restored", "Snapshot", "Event wakeup"},
		{"Paused", "Migrated", "I/O Error", "Watchdog", "Restored", "Snapshot", "API error", "Post-copy", "Post-copy Error"},
		{"Unpaused", "Migrated", "Snapshot", "Post-copy", "Post-copy Error"},
		{"Shutdown", "Destroyed", "Crashed", "Migrated", "Saved", "Failed", "Snapshot"},
		{"Finished", "Finished after guest request", "Finished after host request"},
		{"Memory", "Disk"},
		{"Panicked", "Crashloaded"},
	}
	blockJobStatus  = []string{"completed", "failed", "canceled", "ready"}
	watchdogActions = []string{"none", "pause", "reset", "poweroff", "shutdown", "debug", "inject-nmi"}
	ioErrorActions  = []string{"none", "pause", "report"}
	graphicsPhases  = []string{"connect", "initialize", "disconnect"}
	graphicsFamily  = []string{"IPv4", "IPv6", "unix"}
	agentStates     = []string{"unknown", "connected", "disconnected"}
	agentReasons    = []string{"unknown", "domain started", "channel event"}
	metadataTypes   = []string{"description", "title", "element"}
	memFailRecip    = []string{"hypervisor", "guest"}
	memFailAction   = []string{"ignore", "inject", "fatal", "reset"}
)

func label(list []string, i int, unknown string) string {
	if i >= 0 && i < len(list) {
		return list[i]
	}
	return unknown
}

func nullStr(s string) string {
	if s == "" {
		return "<null>"
	}
	return s
}

// registerEvents registers the named event types on conn (dom nil: every
// domain). As virsh does, a failure on any but the first is ignored (an older
// server that knows fewer events).
func registerEvents(conn *libvirt.Connect, dom *libvirt.Domain, names []string, ch chan *domEvent) ([]int, error) {
	sink := eventSink(ch)
	var ids []int
	for i, name := range names {
		id, err := registerEvent(conn, dom, name, sink)
		if err != nil {
			if i == 0 {
				return ids, err
			}
			continue
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// registerEvent registers the callback of the event type called name.
func registerEvent(conn *libvirt.Connect, dom *libvirt.Domain, name string, s eventSink) (int, error) {
	reg, ok := eventRegistrars[name]
	if !ok {
		return -1, fmt.Errorf("unknown event type %s", name)
	}
	return reg(conn, dom, eventOut{s, name})
}

// eventOut is where one event type's callback sends what it receives: the
// sink, with the type's name.
type eventOut struct {
	sink eventSink
	name string
}

// emit sends an event printed as virsh prints it: "event 'NAME' for domain
// 'DOM'" followed by format.
func (o eventOut) emit(d *libvirt.Domain, details map[string]any, format string, args ...any) {
	o.sink.emit(d, o.name, details, format, args...)
}

// bare sends an event that carries nothing but its domain.
func (o eventOut) bare(d *libvirt.Domain) { o.emit(d, nil, "\n") }

// alias sends an event about one device, named by its alias.
func (o eventOut) alias(d *libvirt.Domain, alias string) {
	o.emit(d, map[string]any{"alias": alias}, ": %s\n", alias)
}

// eventRegistrar registers one event type's callback on conn (dom nil:
// every domain).
type eventRegistrar func(conn *libvirt.Connect, dom *libvirt.Domain, o eventOut) (int, error)

// eventRegistrars holds every type of eventNames, each with its callback and
// virsh's wording for it (virsh-domain-event.c).
var eventRegistrars = map[string]eventRegistrar{
	"lifecycle": func(c *libvirt.Connect, dom *libvirt.Domain, o eventOut) (int, error) {
		return c.DomainEventLifecycleRegister(dom, func(_ *libvirt.Connect, d *libvirt.Domain, e *libvirt.DomainEventLifecycle) {
			ev := label(lifecycleEvents, int(e.Event), "unknown")
			det := "unknown"
			if int(e.Event) < len(lifecycleDetail) {
				det = label(lifecycleDetail[e.Event], e.Detail, "unknown")
			}
			o.emit(d, map[string]any{"event": ev, "detail": det, "event_code": int(e.Event), "detail_code": e.Detail}, ": %s %s\n", ev, det)
		})
	},
	"reboot": func(c *libvirt.Connect, dom *libvirt.Domain, o eventOut) (int, error) {
		return c.DomainEventRebootRegister(dom, func(_ *libvirt.Connect, d *libvirt.Domain) { o.bare(d) })
	},
	"rtc-change": func(c *libvirt.Connect, dom *libvirt.Domain, o eventOut) (int, error) {
		return c.DomainEventRTCChangeRegister(dom, func(_ *libvirt.Connect, d *libvirt.Domain, e *libvirt.DomainEventRTCChange) {
			o.emit(d, map[string]any{"utcoffset": e.Utcoffset}, ": %d\n", e.Utcoffset)
		})
	},
	"watchdog": func(c *libvirt.Connect, dom *libvirt.Domain, o eventOut) (int, error) {
		return c.DomainEventWatchdogRegister(dom, func(_ *libvirt.Connect, d *libvirt.Domain, e *libvirt.DomainEventWatchdog) {
			a := label(watchdogActions, int(e.Action), "unknown")
			o.emit(d, map[string]any{"action": a}, ": %s\n", a)
		})
	},
	"io-error": func(c *libvirt.Connect, dom *libvirt.Domain, o eventOut) (int, error) {
		return c.DomainEventIOErrorRegister(dom, func(_ *libvirt.Connect, d *libvirt.Domain, e *libvirt.DomainEventIOError) {
			a := label(ioErrorActions, int(e.Action), "unknown")
			o.emit(d, map[string]any{"path": e.SrcPath, "alias": e.DevAlias, "action": a}, ": %s (%s) %s\n", e.SrcPath, e.DevAlias, a)
		})
	},
	"graphics": func(c *libvirt.Connect, dom *libvirt.Domain, o eventOut) (int, error) {
		return c.DomainEventGraphicsRegister(dom, func(_ *libvirt.Connect, d *libvirt.Domain, e *libvirt.DomainEventGraphics) {
			var b strings.Builder
			fmt.Fprintf(&b, ": %s local[%s %s %s] remote[%s %s %s] %s\n", label(graphicsPhases, int(e.Phase), "unknown"),
				label(graphicsFamily, int(e.Local.Family), "unknown"), e.Local.Node, e.Local.Service,
				label(graphicsFamily, int(e.Remote.Family), "unknown"), e.Remote.Node, e.Remote.Service, e.AuthScheme)
			for _, id := range e.Subject {
				fmt.Fprintf(&b, "\t%s=%s\n", id.Type, id.Name)
			}
			o.emit(d, map[string]any{"phase": label(graphicsPhases, int(e.Phase), "unknown"), "auth_scheme": e.AuthScheme}, "%s", b.String())
		})
	},
	"io-error-reason": func(c *libvirt.Connect, dom *libvirt.Domain, o eventOut) (int, error) {
		return c.DomainEventIOErrorReasonRegister(dom, func(_ *libvirt.Connect, d *libvirt.Domain, e *libvirt.DomainEventIOErrorReason) {
			a := label(ioErrorActions, int(e.Action), "unknown")
			// virsh prints this one under the 'io-error' name.
			dname, _ := d.GetName()
			o.sink.emitText(d, o.name, map[string]any{"path": e.SrcPath, "alias": e.DevAlias, "action": a, "reason": e.Reason},
				fmt.Sprintf("event 'io-error' for domain '%s': %s (%s) %s due to %s\n", dname, e.SrcPath, e.DevAlias, a, e.Reason))
		})
	},
	"control-error": func(c *libvirt.Connect, dom *libvirt.Domain, o eventOut) (int, error) {
		return c.DomainEventControlErrorRegister(dom, func(_ *libvirt.Connect, d *libvirt.Domain) { o.bare(d) })
	},
	"block-job": func(c *libvirt.Connect, dom *libvirt.Domain, o eventOut) (int, error) {
		return c.DomainEventBlockJobRegister(dom, o.blockJob)
	},
	"disk-change": func(c *libvirt.Connect, dom *libvirt.Domain, o eventOut) (int, error) {
		return c.DomainEventDiskChangeRegister(dom, func(_ *libvirt.Connect, d *libvirt.Domain, e *libvirt.DomainEventDiskChange) {
			r := label([]string{"changed", "dropped"}, int(e.Reason), "unknown")
			o.emit(d, map[string]any{"alias": e.DevAlias, "old_source": e.OldSrcPath, "new_source": e.NewSrcPath, "reason": r},
				" disk %s: %s -> %s: %s\n", e.DevAlias, nullStr(e.OldSrcPath), nullStr(e.NewSrcPath), r)
		})
	},
	"tray-change": func(c *libvirt.Connect, dom *libvirt.Domain, o eventOut) (int, error) {
		return c.DomainEventTrayChangeRegister(dom, func(_ *libvirt.Connect, d *libvirt.Domain, e *libvirt.DomainEventTrayChange) {
			r := label([]string{"opened", "closed"}, int(e.Reason), "unknown")
			o.emit(d, map[string]any{"alias": e.DevAlias, "reason": r}, " disk %s: %s\n", e.DevAlias, r)
		})
	},
	"pm-wakeup": func(c *libvirt.Connect, dom *libvirt.Domain, o eventOut) (int, error) {
		return c.DomainEventPMWakeupRegister(dom, func(_ *libvirt.Connect, d *libvirt.Domain, _ *libvirt.DomainEventPMWakeup) { o.bare(d) })
	},
	"pm-suspend": func(c *libvirt.Connect, dom *libvirt.Domain, o eventOut) (int, error) {
		return c.DomainEventPMSuspendRegister(dom, func(_ *libvirt.Connect, d *libvirt.Domain, _ *libvirt.DomainEventPMSuspend) { o.bare(d) })
	},
	"balloon-change": func(c *libvirt.Connect, dom *libvirt.Domain, o eventOut) (int, error) {
		return c.DomainEventBalloonChangeRegister(dom, func(_ *libvirt.Connect, d *libvirt.Domain, e *libvirt.DomainEventBalloonChange) {
			o.emit(d, map[string]any{"actual_kib": e.Actual}, ": %dKiB\n", e.Actual)
		})
	},
	"pm-suspend-disk": func(c *libvirt.Connect, dom *libvirt.Domain, o eventOut) (int, error) {
		return c.DomainEventPMSuspendDiskRegister(dom, func(_ *libvirt.Connect, d *libvirt.Domain, _ *libvirt.DomainEventPMSuspendDisk) { o.bare(d) })
	},
	"device-removed": func(c *libvirt.Connect, dom *libvirt.Domain, o eventOut) (int, error) {
		return c.DomainEventDeviceRemovedRegister(dom, func(_ *libvirt.Connect, d *libvirt.Domain, e *libvirt.DomainEventDeviceRemoved) {
			o.alias(d, e.DevAlias)
		})
	},
	"block-job-2": func(c *libvirt.Connect, dom *libvirt.Domain, o eventOut) (int, error) {
		return c.DomainEventBlockJob2Register(dom, o.blockJob)
	},
	"tunable": func(c *libvirt.Connect, dom *libvirt.Domain, o eventOut) (int, error) {
		return c.DomainEventTunableRegister(dom, func(_ *libvirt.Connect, d *libvirt.Domain, e *libvirt.DomainEventTunable) {
			var b strings.Builder
			b.WriteString(":\n")
			if e.BlkdevDiskSet {
				fmt.Fprintf(&b, "\tblkdeviotune.disk: %s\n", e.BlkdevDisk)
			}
			o.emit(d, nil, "%s", b.String())
		})
	},
	"agent-lifecycle": func(c *libvirt.Connect, dom *libvirt.Domain, o eventOut) (int, error) {
		return c.DomainEventAgentLifecycleRegister(dom, func(_ *libvirt.Connect, d *libvirt.Domain, e *libvirt.DomainEventAgentLifecycle) {
			st := label(agentStates, int(e.State), "unsupported value")
			r := label(agentReasons, int(e.Reason), "unsupported value")
			o.emit(d, map[string]any{"state": st, "reason": r}, ": state: '%s' reason: '%s'\n", st, r)
		})
	},
	"device-added": func(c *libvirt.Connect, dom *libvirt.Domain, o eventOut) (int, error) {
		return c.DomainEventDeviceAddedRegister(dom, func(_ *libvirt.Connect, d *libvirt.Domain, e *libvirt.DomainEventDeviceAdded) { o.alias(d, e.DevAlias) })
	},
	"migration-iteration": func(c *libvirt.Connect, dom *libvirt.Domain, o eventOut) (int, error) {
		return c.DomainEventMigrationIterationRegister(dom, func(_ *libvirt.Connect, d *libvirt.Domain, e *libvirt.DomainEventMigrationIteration) {
			o.emit(d, map[string]any{"iteration": e.Iteration}, ": iteration: '%d'\n", e.Iteration)
		})
	},
	"job-completed": func(c *libvirt.Connect, dom *libvirt.Domain, o eventOut) (int, error) {
		return c.DomainEventJobCompletedRegister(dom, func(_ *libvirt.Connect, d *libvirt.Domain, e *libvirt.DomainEventJobCompleted) {
			var b strings.Builder
			b.WriteString(":\n")
			details := map[string]any{}
			for _, p := range jobInfoParams(&e.Info) {
				fmt.Fprintf(&b, "\t%s: %d\n", p.name, p.val)
				details[p.name] = p.val
			}
			o.emit(d, details, "%s", b.String())
		})
	},
	"device-removal-failed": func(c *libvirt.Connect, dom *libvirt.Domain, o eventOut) (int, error) {
		return c.DomainEventDeviceRemovalFailedRegister(dom, func(_ *libvirt.Connect, d *libvirt.Domain, e *libvirt.DomainEventDeviceRemovalFailed) {
			o.alias(d, e.DevAlias)
		})
	},
	"metadata-change": func(c *libvirt.Connect, dom *libvirt.Domain, o eventOut) (int, error) {
		return c.DomainEventMetadataChangeRegister(dom, func(_ *libvirt.Connect, d *libvirt.Domain, e *libvirt.DomainEventMetadataChange) {
			t := label(metadataTypes, int(e.Type), "unsupported value")
			o.emit(d, map[string]any{"type": t, "uri": e.NSURI}, ": type %s, uri %s\n", t, nullStr(e.NSURI))
		})
	},
	"block-threshold": func(c *libvirt.Connect, dom *libvirt.Domain, o eventOut) (int, error) {
		return c.DomainEventBlockThresholdRegister(dom, func(_ *libvirt.Connect, d *libvirt.Domain, e *libvirt.DomainEventBlockThreshold) {
			o.emit(d, thresholdDetails(d, e), ": dev: %s(%s) %d %d\n", e.Dev, nullStr(e.Path), e.Threshold, e.Excess)
		})
	},
	"memory-failure": func(c *libvirt.Connect, dom *libvirt.Domain, o eventOut) (int, error) {
		return c.DomainEventMemoryFailureRegister(dom, func(_ *libvirt.Connect, d *libvirt.Domain, e *libvirt.DomainEventMemoryFailure) {
			r := label(memFailRecip, int(e.Recipient), "unsupported value")
			a := label(memFailAction, int(e.Action), "unsupported value")
			b2i := func(b bool) int {
				if b {
					return 1
				}
				return 0
			}
			req := b2i(e.Flags&libvirt.DOMAIN_MEMORY_FAILURE_ACTION_REQUIRED != 0)
			rec := b2i(e.Flags&libvirt.DOMAIN_MEMORY_FAILURE_RECURSIVE != 0)
			o.emit(d, map[string]any{"recipient": r, "action": a}, ":\nrecipient: %s\naction: %s\nflags:\n\taction required: %d\n\trecursive: %d\n", r, a, req, rec)
		})
	},
	"memory-device-size-change": func(c *libvirt.Connect, dom *libvirt.Domain, o eventOut) (int, error) {
		return c.DomainEventMemoryDeviceSizeChangeRegister(dom, func(_ *libvirt.Connect, d *libvirt.Domain, e *libvirt.DomainEventMemoryDeviceSizeChange) {
			o.emit(d, map[string]any{"alias": e.Alias, "size": e.Size}, ":\nalias: %s\nsize: %d\n", e.Alias, e.Size)
		})
	},
}

// blockJob is the callback of block-job and block-job-2, which differ only
// in how they name the disk.
func (o eventOut) blockJob(_ *libvirt.Connect, d *libvirt.Domain, e *libvirt.DomainEventBlockJob) {
	typ := blockJobTypeLabel(e.Type)
	st := label(blockJobStatus, int(e.Status), "unknown")
	o.emit(d, map[string]any{"disk": e.Disk, "type": typ, "status": st}, ": %s for %s %s\n", typ, e.Disk, st)
}

// thresholdDetails is the JSON of a block-threshold event; the QEMU node is
// added by annotateThreshold outside the event-loop goroutine.
func thresholdDetails(d *libvirt.Domain, e *libvirt.DomainEventBlockThreshold) map[string]any {
	m := map[string]any{"dev": e.Dev, "path": e.Path, "threshold": e.Threshold, "excess": e.Excess}
	if dp, err := domain.ParseDiskWord(e.Dev); err == nil && !dp.IsPath() {
		m["target"] = dp.Target
		if dp.Index > 0 {
			m["index"] = dp.Index
		}
	}
	return m
}

type jobParam struct {
	name string
	val  uint64
}

// jobInfoParams lists a job-completed event's fields by their typed-parameter
// names (VIR_DOMAIN_JOB_*), operation first.
func jobInfoParams(i *libvirt.DomainJobInfo) []jobParam {
	var out []jobParam
	add := func(set bool, name string, v uint64) {
		if set {
			out = append(out, jobParam{name, v})
		}
	}
	add(i.OperationSet, "operation", uint64(i.Operation))
	add(i.TimeElapsedSet, "time_elapsed", i.TimeElapsed)
	add(i.TimeElapsedNetSet, "time_elapsed_net", i.TimeElapsedNet)
	add(i.TimeRemainingSet, "time_remaining", i.TimeRemaining)
	add(i.DowntimeSet, "downtime", i.Downtime)
	add(i.DowntimeNetSet, "downtime_net", i.DowntimeNet)
	add(i.SetupTimeSet, "setup_time", i.SetupTime)
	add(i.DataTotalSet, "data_total", i.DataTotal)
	add(i.DataProcessedSet, "data_processed", i.DataProcessed)
	add(i.DataRemainingSet, "data_remaining", i.DataRemaining)
	add(i.MemTotalSet, "memory_total", i.MemTotal)
	add(i.MemProcessedSet, "memory_processed", i.MemProcessed)
	add(i.MemRemainingSet, "memory_remaining", i.MemRemaining)
	add(i.MemConstantSet, "memory_constant", i.MemConstant)
	add(i.MemNormalSet, "memory_normal", i.MemNormal)
	add(i.MemNormalBytesSet, "memory_normal_bytes", i.MemNormalBytes)
	add(i.MemBpsSet, "memory_bps", i.MemBps)
	add(i.MemDirtyRateSet, "memory_dirty_rate", i.MemDirtyRate)
	add(i.MemPageSizeSet, "memory_page_size", i.MemPageSize)
	add(i.MemIterationSet, "memory_iteration", i.MemIteration)
	add(i.DiskTotalSet, "disk_total", i.DiskTotal)
	add(i.DiskProcessedSet, "disk_processed", i.DiskProcessed)
	add(i.DiskRemainingSet, "disk_remaining", i.DiskRemaining)
	add(i.DiskBpsSet, "disk_bps", i.DiskBps)
	return out
}

// annotateThreshold adds the QEMU node of a block-threshold event's dev
// (node_name: the storage node, where libvirt sets the threshold) from the
// session's node-name cache, through its checked lookup like every other
// consumer: a disk-only snapshot (another client's raises no event) moves
// the top layer to a new node, and only the check sees it. The check is one
// bulk-stats call, and threshold events are rare.
func annotateThreshold(env *Env, ev *domEvent) {
	target, _ := ev.Details["target"].(string)
	index, _ := ev.Details["index"].(uint)
	if target == "" {
		return
	}
	conn, err := env.Sess.Conn()
	if err != nil {
		return
	}
	d, err := conn.LookupDomainByUUIDString(ev.UUID)
	if err != nil {
		return
	}
	defer func() { _ = d.Free() }()
	e, err := env.Sess.Nodes().Get(d)
	if err != nil {
		return
	}
	if disk := e.Disk(target); disk != nil {
		if l := disk.Layer(index); l != nil && l.StorageNode != "" {
			ev.Details["node_name"] = l.StorageNode
		}
	}
}
