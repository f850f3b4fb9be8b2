package cmd

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"libvirt.org/go/libvirt"

	"github.com/virtsh/virtsh/format"
	"github.com/virtsh/virtsh/shell"
	"github.com/virtsh/virtsh/shell/domain"
)

// Waiting for block jobs (virsh's virshBlockJobWaitInit/virshBlockJobWait),
// but driven by events: virsh polls every 500 ms even when events work, so
// it notices the end of a job up to half a second late. virtsh registers
// for BLOCK_JOB_2 (which names the disk by target) and BLOCK_JOB (by path)
// before the job starts, and returns the moment libvirt reports the job
// completed, failed, cancelled or ready. GetBlockJobInfo is polled only to
// draw progress (and to report bytes under -o json) — unless libvirt refused
// an event registration, when the polls also end the wait as virsh's
// fallback does (fallbackStatus).

// jobStatus is libvirt's block-job event status.
type jobStatus = libvirt.ConnectDomainEventBlockJobStatus

// statusNone marks "no event yet".
const statusNone jobStatus = -1

type blockWaiter struct {
	env     *Env
	conn    *libvirt.Connect
	dom     *libvirt.Domain
	disk    string // as typed; passed to libvirt unchanged
	target  string // resolved target (events BLOCK_JOB_2 name it)
	path    string // resolved active image path (events BLOCK_JOB name it)
	label   string
	verbose bool
	timeout time.Duration
	async   bool
	events  chan jobStatus
	ids     []int
	guard   *waitGuard
	// failed counts event registrations that failed: then the job
	// is followed by polling too, as virsh's fallback does.
	failed int
	atEnd  int // consecutive fallback polls at 100 %
	// last position seen by a progress poll (or the READY query).
	cur, end uint64
	start    time.Time
}

// lookupJobDomain looks up a block job's domain. For a job that will wait it
// first starts libvirt's event loop thread (and with it the signal relay, see
// shell's armSignals), before the lookup opens the connection: the thread
// start and signal.Notify then overlap the connection's round trips instead
// of sitting between the connection and the job (virsh starts its loop at
// start-up). newBlockWaiter starts the loop as well, which
// is what the wait relies on.
func lookupJobDomain(env *Env, name string, wait bool) (*libvirt.Domain, error) {
	if wait {
		env.Sess.StartEventLoop()
	}
	return env.lookupDomain(name)
}

// newBlockWaiter registers the event callbacks; call it before starting the
// job so no event can be missed. close() deregisters them.
func newBlockWaiter(env *Env, dom *libvirt.Domain, disk, label string, verbose bool, timeout time.Duration, async bool) (*blockWaiter, error) {
	conn, err := env.Sess.Conn()
	if err != nil {
		return nil, err
	}
	w := &blockWaiter{env: env, conn: conn, dom: dom, disk: disk, label: label, verbose: verbose,
		timeout: timeout, async: async, events: make(chan jobStatus, 16), start: time.Now()}
	// A plain target is what BLOCK_JOB_2 reports: no lookup needed. A path
	// or "vda[N]" is resolved to the disk's target and active path, so that
	// either event matches whichever form the user typed.
	byTarget := false // BLOCK_JOB_2's target names this disk
	if dp, err := domain.ParseDiskWord(disk); err == nil && (dp.IsPath() || dp.HasIndex) {
		if disks, err := domain.LiveDisks(dom); err == nil {
			if d, _, ok := dp.Find(disks); ok {
				w.target, w.path = d.Target, d.Top().Name
				byTarget = true
			}
		}
	} else if err == nil {
		byTarget = true
	}
	cb := func(_ *libvirt.Connect, _ *libvirt.Domain, ev *libvirt.DomainEventBlockJob) {
		if ev.Disk == w.disk || (w.target != "" && ev.Disk == w.target) || (w.path != "" && ev.Disk == w.path) {
			select {
			case w.events <- ev.Status:
			default: // a full buffer already holds a final status
			}
		}
	}
	// The wait returns on these events: the loop that dispatches them must
	// run now, not after the runner's EventLoopDelay grace, so that the
	// wait returns as soon as the event comes.
	env.Sess.StartEventLoop()
	// As virsh, a failed registration is not fatal: wait() then also
	// polls the job (virsh's fallback, see fallbackStatus). virsh registers
	// both block-job events; libvirt emits BLOCK_JOB_2 (the disk's target)
	// for every job and BLOCK_JOB (its path) only when the disk has one, so
	// when the target is known BLOCK_JOB_2 alone is enough, and the other
	// registration and its removal are two round trips a job saves.
	if id, err := conn.DomainEventBlockJob2Register(dom, cb); err == nil {
		w.ids = append(w.ids, id)
	} else {
		w.failed++
	}
	if !byTarget || w.failed > 0 {
		if id, err := conn.DomainEventBlockJobRegister(dom, cb); err == nil {
			w.ids = append(w.ids, id)
		} else {
			w.failed++
		}
	}
	w.guard = newWaitGuard(env, conn, dom)
	return w, nil
}

func (w *blockWaiter) close() {
	if w == nil {
		return
	}
	for _, id := range w.ids {
		_ = w.conn.DomainEventDeregister(id)
	}
	w.ids = nil
	w.guard.close()
}

// pending returns an event already received, if any.
func (w *blockWaiter) pending() (jobStatus, bool) {
	select {
	case st := <-w.events:
		return st, true
	default:
		return statusNone, false
	}
}

// wait follows the job until libvirt reports its end or its ready phase.
// A timeout or a cancelled ctx (Ctrl-C) aborts the job, as virsh does, and
// waits until libvirt reports it gone, so the disk keeps its old image.
func (w *blockWaiter) wait(ctx context.Context) (jobStatus, error) {
	// Polls are wanted for the display, for -o json's bytes, and to end the
	// wait when an event registration failed (then at virsh's own beat).
	jp := newJobPolls(w.env, w.label, w.verbose, w.env.IO.Structured() || w.failed > 0, w.failed > 0)
	defer jp.stop()
	prog, tick := jp.prog, jp.C
	if tick != nil {
		if st, err := w.poll(prog); err != nil || st != statusNone {
			return w.ended(prog, st), err
		}
	}
	var deadline <-chan time.Time
	if w.timeout > 0 {
		t := time.NewTimer(w.timeout - time.Since(w.start))
		defer t.Stop()
		deadline = t.C
	}
	lost := w.guard.lost
	for {
		select {
		case <-lost:
			return statusNone, w.connectionLost()
		case st := <-w.events:
			return w.ended(prog, st), nil
		case <-w.guard.stopped:
			// The guest stopped under the job (another client destroyed
			// it): what virsh's next poll would find, said as it says it.
			if st, ok := w.pending(); ok {
				return w.ended(prog, st), nil
			}
			if st, err := w.poll(prog); err != nil || st != statusNone {
				return w.ended(prog, st), err
			}
			return statusNone, msgThenCause(fmt.Sprintf("failed to query job for disk %s", w.disk), errors.New("domain is not running"))
		case <-tick:
			if st, err := w.poll(prog); err != nil || st != statusNone {
				if err != nil {
					// A poll cut off by a dropped connection: the close
					// callback follows the failed call closely.
					select {
					case <-lost:
						return statusNone, w.connectionLost()
					case <-time.After(time.Second):
					}
				}
				return w.ended(prog, st), err
			}
		case <-deadline:
			return w.abortJob()
		case <-ctx.Done():
			return w.abortJob()
		}
	}
}

// jobPolls is how a job virtsh follows is shown while it runs: the
// --verbose display (format.Progress: a bar on a terminal, virsh's
// "\r<label>: [ 45 %]" elsewhere) and the beat the job's position is polled
// on to feed it. Block jobs and domain jobs (save, managedsave) share it.
type jobPolls struct {
	prog *format.Progress // nil: nothing to draw
	C    <-chan time.Time // nil: nothing to poll
	t    *time.Ticker
}

// newJobPolls starts the display when verbose (never under -o json|yaml,
// whose final object says it all) and the polls when there is a display or
// poll says the position is wanted anyway. The beat is virsh's 500 ms, or
// 200 ms when stderr is a terminal, so that the bar moves smoothly — unless
// virshBeat: the polls decide when the wait ends, as virsh's do.
func newJobPolls(env *Env, label string, verbose, poll, virshBeat bool) *jobPolls {
	jp := &jobPolls{}
	if verbose && !env.IO.Structured() {
		jp.prog = format.NewProgress(env.IO.Err, label)
	}
	if jp.prog != nil || poll {
		every := 500 * time.Millisecond
		if format.IsTerminal(env.IO.Err) && !virshBeat {
			every = 200 * time.Millisecond
		}
		jp.t = time.NewTicker(every)
		jp.C = jp.t.C
	}
	return jp
}

// stop ends the polls and the display (see format.Progress.Close: a bar
// still running stops where it is).
func (jp *jobPolls) stop() {
	if jp.t != nil {
		jp.t.Stop()
	}
	if jp.prog != nil {
		jp.prog.Close()
	}
}

// connectionLost ends a --wait whose connection dropped (the close callback
// has said "Disconnected from ..."): libvirt's block jobs live in QEMU, not
// in the client, so the job goes on. virtsh reconnects at once when the
// daemon closed the connection (not after a keepalive timeout: the daemon
// may be hung) and tells how to follow the job.
func (w *blockWaiter) connectionLost() error {
	name, _ := w.dom.GetName() // kept by the handle, no daemon call
	if w.env.Sess.ClosedByPeer() {
		_, _ = w.env.Sess.Conn() // prints "Reconnected to the hypervisor" on success
	}
	return &shell.LinesError{Lines: []string{
		fmt.Sprintf("Lost the connection while waiting for the block job on disk '%s'", w.disk),
		fmt.Sprintf("The job keeps running in QEMU: follow it with 'blockjob %s %s --info'", name, w.disk),
	}}
}

// ended finishes the progress display for a job that completed or became
// ready, and returns st.
func (w *blockWaiter) ended(prog *format.Progress, st jobStatus) jobStatus {
	if st == libvirt.DOMAIN_BLOCK_JOB_READY || st == libvirt.DOMAIN_BLOCK_JOB_COMPLETED {
		if prog != nil {
			prog.Complete()
		}
		w.cur = w.end
	}
	return st
}

// poll reads the job's position for the progress display. Only when an
// event registration failed can it also end the wait (statusNone: go on).
func (w *blockWaiter) poll(prog *format.Progress) (jobStatus, error) {
	info, err := w.dom.GetBlockJobInfo(w.disk, 0)
	if err != nil {
		return statusNone, msgThenCause(fmt.Sprintf("failed to query job for disk %s", w.disk), err)
	}
	gone := info.Type == 0 // with events: its event is on the way
	if !gone {
		w.cur, w.end = info.Cur, info.End
		if prog != nil {
			prog.Update(info.Cur, info.End)
		}
	}
	return fallbackStatus(w.failed, gone, info.Cur, info.End, &w.atEnd), nil
}

// fallbackStatus is virshBlockJobWait's polling fallback, used only when
// failed (of 2) event registrations failed: a job that vanished has
// completed; one at 100 % is ready at once when no event can come, else
// after 5 consecutive polls at 100 % (the other event may still come).
// atEnd counts those polls. statusNone means keep waiting.
func fallbackStatus(failed int, gone bool, cur, end uint64, atEnd *int) jobStatus {
	if failed == 0 {
		return statusNone
	}
	if gone {
		return libvirt.DOMAIN_BLOCK_JOB_COMPLETED
	}
	if cur != end {
		*atEnd = 0
		return statusNone
	}
	*atEnd++
	if failed >= 2 || *atEnd >= 5 {
		return libvirt.DOMAIN_BLOCK_JOB_READY
	}
	return statusNone
}

// abortJob cancels the job (virDomainBlockJobAbort, synchronous unless
// --async) and, unless --async, waits until libvirt no longer lists it.
// If the job ended on its own meanwhile, that outcome is returned instead.
func (w *blockWaiter) abortJob() (jobStatus, error) {
	if st, ok := w.pending(); ok {
		return st, nil
	}
	var flags libvirt.DomainBlockJobAbortFlags
	if w.async {
		flags |= libvirt.DOMAIN_BLOCK_JOB_ABORT_ASYNC
	}
	if err := w.dom.BlockJobAbort(w.disk, flags); err != nil {
		if st, ok := w.pending(); ok {
			return st, nil
		}
		return statusNone, msgThenCause(fmt.Sprintf("failed to abort job for disk '%s'", w.disk), err)
	}
	if w.async {
		return libvirt.DOMAIN_BLOCK_JOB_CANCELED, nil
	}
	limit := time.After(30 * time.Second)
	for {
		info, err := w.dom.GetBlockJobInfo(w.disk, 0)
		if err != nil || info.Type == 0 {
			return libvirt.DOMAIN_BLOCK_JOB_CANCELED, nil
		}
		select {
		case <-w.events:
		case <-time.After(50 * time.Millisecond):
		case <-limit:
			return statusNone, fmt.Errorf("block job on disk %s is still being cancelled", w.disk)
		}
	}
}

// blockJobResult is the -o json|yaml view of a waited job.
type blockJobResult struct {
	Job        string  `json:"job" yaml:"job"`
	Domain     string  `json:"domain" yaml:"domain"`
	Disk       string  `json:"disk" yaml:"disk"`
	Status     string  `json:"status" yaml:"status"`
	BytesDone  uint64  `json:"bytes_done" yaml:"bytes_done"`
	BytesTotal uint64  `json:"bytes_total" yaml:"bytes_total"`
	Seconds    float64 `json:"duration_seconds" yaml:"duration_seconds"`
}

func (w *blockWaiter) result(job, domName, status string) blockJobResult {
	return blockJobResult{Job: job, Domain: domName, Disk: w.disk, Status: status, BytesDone: w.cur,
		BytesTotal: w.end, Seconds: math.Round(time.Since(w.start).Seconds()*1000) / 1000}
}

// parseBandwidth is virsh's vshBlockJobOptionBandwidth: a plain integer is
// MiB/s (bytes/s with --bytes) and, for historical reasons, a negative one
// wraps to a huge unsigned value (libvirt then refuses it); a scaled value
// ("10M", "512k") is bytes, turned into MiB/s unless --bytes.
func parseBandwidth(s string, bytes bool) (uint64, error) {
	if s == "" {
		return 0, nil
	}
	digits := strings.TrimPrefix(strings.TrimPrefix(s, "-"), "+")
	if digits != "" && strings.Trim(digits, "0123456789") == "" {
		if strings.HasPrefix(s, "-") {
			if v, err := strconv.ParseUint(digits, 10, 64); err == nil {
				return -v, nil
			}
		} else if v, err := strconv.ParseUint(digits, 10, 64); err == nil {
			return v, nil
		}
	}
	v, err := format.ParseScaled(s, 1, math.MaxUint64)
	if err != nil {
		return 0, scaledErr("--bandwidth", s, 1, math.MaxUint64)
	}
	if !bytes {
		v >>= 20
	}
	return v, nil
}

// parseTimeout is virsh's vshCommandOptTimeoutToMs: whole seconds,
// 1..INT_MAX/1000.
func parseTimeout(s string, given bool) (time.Duration, error) {
	if !given {
		return 0, nil
	}
	bad := fmt.Errorf("Numeric value '%s' for <timeout> option is malformed or out of range", s)
	t := strings.TrimLeft(s, " \t\n\v\f\r")
	t = strings.TrimPrefix(t, "+")
	if t == "" || strings.Trim(t, "0123456789") != "" {
		return 0, bad
	}
	v, err := strconv.ParseUint(t, 10, 32)
	if err != nil {
		return 0, bad
	}
	if v == 0 || v > math.MaxInt32/1000 {
		return 0, fmt.Errorf("Numeric value '%d' for <timeout> option is malformed or out of range", v)
	}
	return time.Duration(v) * time.Second, nil
}

// errJobEnded is returned after "Commit aborted"/"... failed" has been
// printed: virsh reports nothing more, and exits 1.
var errJobEnded = shell.ErrSilent
