package cmd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"libvirt.org/go/libvirt"
	"libvirt.org/go/libvirtxml"

	"github.com/virtsh/virtsh/format"
	"github.com/virtsh/virtsh/shell/blocknodes"
	"github.com/virtsh/virtsh/shell/domain"
	"github.com/virtsh/virtsh/shell/spec"
)

// The "Backup" group (virsh-backup.c) plus the job commands a backup is
// followed with (domjobinfo, domjobabort; in virsh's "Domain Management").

type backupOpts struct {
	dom, backupXML, checkpointXML string
	reuse, wait, verbose          bool
	timeout                       string
	targetDir, incremental, ckpt  string
}

func newBackupBeginCmd(env *Env) *spec.Command {
	var o backupOpts
	c := &spec.Command{
		Short: "Start a disk backup of a live domain",
		Long:  "Use XML to start a full or incremental disk backup of a live domain, optionally creating a checkpoint",
		Example: "backup-begin vm backup.xml checkpoint.xml\n" +
			"backup-begin vm --target-dir /backups/full --checkpoint c1 --wait --verbose   # one qcow2 per disk\n" +
			"backup-begin vm --target-dir /backups/inc1 --incremental c1 --checkpoint c2 --wait",
	}
	c.Domain(&o.dom, "active")
	f := c.String(&o.backupXML, "backupxml", "domain backup XML", spec.Unwanted, false)
	f.Complete(spec.File)
	f = c.String(&o.checkpointXML, "checkpointxml", "domain checkpoint XML", spec.Unwanted, false)
	f.Complete(spec.File)
	c.Bool(&o.reuse, "reuse-external", "reuse files provided by caller")
	c.Bool(&o.wait, "wait", "wait for the backup job to finish; Ctrl-C aborts it (virtsh)")
	c.Bool(&o.verbose, "verbose", "with --wait: show progress on stderr (virtsh)")
	c.Number(&o.timeout, "timeout", "with --wait: abort the backup after this many seconds (virtsh)", spec.Named, false)
	f = c.String(&o.targetDir, "target-dir", "push-mode backup without XML: one DIR/<disk>.qcow2 per disk (virtsh)", spec.Named, false)
	f.Complete(spec.Dir)
	f = c.String(&o.incremental, "incremental", "with --target-dir: back up only what changed since this checkpoint (virtsh)", spec.Named, false)
	f.Complete(spec.Checkpoint)
	c.String(&o.ckpt, "checkpoint", "with --target-dir: create this checkpoint in the same call (virtsh)", spec.Named, false).Complete(spec.Nothing)
	c.Exclusive("target-dir", "backupxml")
	c.Exclusive("target-dir", "checkpointxml")
	c.Requires("incremental", "target-dir")
	c.Requires("checkpoint", "target-dir")
	outputOption(c, env.IO)
	c.Run = func(ctx context.Context) error { return runBackupBegin(ctx, env, c, &o) }
	return c
}

func runBackupBegin(ctx context.Context, env *Env, c *spec.Command, o *backupOpts) error {
	flagSet := func(n string) bool { return c.Given(n) }
	// --timeout implies --wait, so this is no plain Requires rule.
	if o.verbose && !o.wait && !flagSet("timeout") {
		return errors.New("Option --wait is required by option --verbose")
	}
	var timeout time.Duration
	if flagSet("timeout") {
		var err error
		if timeout, err = parseJobTimeout(o.timeout); err != nil {
			return err
		}
		o.wait = true
	}
	short := flagSet("target-dir")
	dom, err := env.lookupDomain(o.dom)
	if err != nil {
		return err
	}
	defer dom.Free()
	var flags libvirt.DomainBackupBeginFlags
	if o.reuse {
		flags |= libvirt.DOMAIN_BACKUP_BEGIN_REUSE_EXTERNAL
	}

	var bxml, cxml string
	var created []string // files this call asks libvirt to create (shorthand)
	if short {
		bxml, cxml, created, err = shorthandBackupXML(dom, o)
		if err != nil {
			return err
		}
	} else {
		if o.backupXML == "" {
			if bxml, err = (&libvirtxml.DomainBackup{}).Marshal(); err != nil {
				return err
			}
		} else if bxml, err = readXMLFile(o.backupXML); err != nil {
			return err
		}
		if o.checkpointXML != "" {
			if cxml, err = readXMLFile(o.checkpointXML); err != nil {
				return err
			}
		}
		if !o.reuse && o.wait {
			created = pushTargetsToCreate(env, bxml)
		}
	}
	// The checkpoint begun with the backup, deleted if the backup does not
	// complete. libvirt names an unnamed one itself: found by what is new.
	ckpt := o.ckpt
	var before map[string]bool
	if cxml != "" && !short && o.wait {
		var ck libvirtxml.DomainCheckpoint
		if ck.Unmarshal(cxml) == nil && ck.Name != "" {
			ckpt = ck.Name
		} else {
			before = checkpointSet(dom)
		}
	}

	var w *jobWaiter
	if o.wait {
		// Register before starting so the completion cannot be missed.
		w = newJobWaiter(env, dom)
		defer w.close()
		// A pull backup runs until it is aborted, and libvirt reports that
		// end as a success: an abort of ours is still an abort.
		var b libvirtxml.DomainBackup
		w.pull = b.Unmarshal(bxml) == nil && b.Pull != nil
	}
	if err := dom.BackupBegin(bxml, cxml, flags); err != nil {
		return err
	}
	if cxml != "" {
		// A checkpoint made with the backup adds bitmaps: no event for it.
		env.Sess.Nodes().RefillDomain(dom, blocknodes.ReasonCheckpoint)
	}
	if before != nil {
		for n := range checkpointSet(dom) {
			if !before[n] {
				ckpt = n
			}
		}
	}
	// Under -o json|yaml: one result object, for the start or (--wait) the end.
	result := func(status string) error {
		name, _ := dom.GetName()
		return env.IO.Encode(backupResult{Domain: name, Job: "backup", Status: status, Checkpoint: ckpt})
	}
	if env.IO.Structured() {
		if !o.wait {
			return result("started")
		}
	} else {
		env.IO.Printf("Backup started\n")
	}
	if !o.wait {
		return nil
	}
	res := w.wait(ctx, timeout, o.verbose)
	switch {
	case res.ok && env.IO.Structured():
		return result("completed")
	case res.ok:
		env.IO.Extra("\n%s", "Backup complete")
		return nil
	case res.err != nil:
		return res.err
	}
	if o.verbose {
		env.IO.Errorf("\n")
	}
	// The backup did not complete: leave nothing that looks like a good
	// backup or a checkpoint to build the next incremental on.
	failure := errors.New("Backup aborted")
	if !res.aborted {
		failure = msgThenCause("Backup failed", errors.New(res.msg))
	}
	if err := undoBackup(dom, ckpt, created); err != nil {
		return errors.Join(failure, err)
	}
	return failure
}

// parseJobTimeout is a backup's --timeout: whole seconds, as virsh's
// blockjob --timeout takes them.
func parseJobTimeout(s string) (time.Duration, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 || n > 2147483 {
		return 0, fmt.Errorf("Numeric value '%s' for <timeout> option is malformed or out of range", s)
	}
	return time.Duration(n) * time.Second, nil
}

// shorthandBackupXML builds the push-mode backup (and checkpoint) XML for
// --target-dir: every disk with a source gets DIR/<target>.qcow2.
func shorthandBackupXML(dom *libvirt.Domain, o *backupOpts) (bxml, cxml string, created []string, err error) {
	doc, err := dom.GetXMLDesc(0)
	if err != nil {
		return "", "", nil, err
	}
	var d libvirtxml.Domain
	if err := d.Unmarshal(doc); err != nil {
		return "", "", nil, err
	}
	st, err := os.Stat(o.targetDir)
	if err != nil || !st.IsDir() {
		return "", "", nil, fmt.Errorf("target directory '%s' does not exist", o.targetDir)
	}
	dir, err := filepath.Abs(o.targetDir)
	if err != nil {
		return "", "", nil, err
	}
	b := libvirtxml.DomainBackup{Incremental: o.incremental, Push: &libvirtxml.DomainBackupPush{Disks: &libvirtxml.DomainBackupPushDisks{}}}
	ck := libvirtxml.DomainCheckpoint{Name: o.ckpt, Disks: &libvirtxml.DomainCheckpointDisks{}}
	for _, disk := range domain.DisksOf(&d) {
		if disk.Target == "" || disk.Device != "disk" {
			continue
		}
		path := filepath.Join(dir, disk.Target+".qcow2")
		if _, err := os.Lstat(path); err == nil && !o.reuse {
			return "", "", nil, fmt.Errorf("backup target '%s' already exists (use --reuse-external to write into it)", path)
		} else if err != nil && o.reuse {
			return "", "", nil, fmt.Errorf("backup target '%s' does not exist (--reuse-external needs it)", path)
		}
		if !o.reuse {
			created = append(created, path)
		}
		b.Push.Disks.Disks = append(b.Push.Disks.Disks, libvirtxml.DomainBackupPushDisk{
			Name: disk.Target, Backup: "yes",
			Driver: &libvirtxml.DomainBackupDiskDriver{Type: "qcow2"},
			Target: &libvirtxml.DomainDiskSource{File: &libvirtxml.DomainDiskSourceFile{File: path}},
		})
		ck.Disks.Disks = append(ck.Disks.Disks, libvirtxml.DomainCheckpointDisk{Name: disk.Target, Checkpoint: "bitmap"})
	}
	if len(b.Push.Disks.Disks) == 0 {
		return "", "", nil, errors.New("domain has no disk to back up")
	}
	if bxml, err = b.Marshal(); err != nil {
		return "", "", nil, err
	}
	if o.ckpt != "" {
		if cxml, err = ck.Marshal(); err != nil {
			return "", "", nil, err
		}
	}
	return bxml, cxml, created, nil
}

// backupResult is backup-begin's -o json|yaml object.
type backupResult struct {
	Domain     string `json:"domain" yaml:"domain"`
	Job        string `json:"job" yaml:"job"`
	Status     string `json:"status" yaml:"status"` // started, completed
	Checkpoint string `json:"checkpoint,omitempty" yaml:"checkpoint,omitempty"`
}

// pushTargetsToCreate is the push backup's target files that libvirt will
// create on this machine (see createdFiles): removed if the backup fails.
func pushTargetsToCreate(env *Env, bxml string) []string {
	var b libvirtxml.DomainBackup
	conn, err := env.Sess.Conn()
	if err != nil || b.Unmarshal(bxml) != nil || b.Push == nil || b.Push.Disks == nil {
		return nil
	}
	var paths []string
	for _, d := range b.Push.Disks.Disks {
		if d.Target != nil && d.Target.File != nil && d.Target.File.File != "" {
			paths = append(paths, d.Target.File.File)
		}
	}
	return newCreatedFiles(conn, paths...).paths
}

// undoBackup removes what a failed or aborted backup made: the target
// files --target-dir created (libvirt may already have) and the checkpoint
// begun with it (--checkpoint or checkpoint XML), whose bitmap would
// otherwise claim a backup that never finished (deleting it merges its
// bitmap back into its parent's).
func undoBackup(dom *libvirt.Domain, ckpt string, created []string) error {
	for _, p := range created {
		_ = os.Remove(p)
	}
	if ckpt == "" {
		return nil
	}
	cp, err := dom.CheckpointLookupByName(ckpt, 0)
	if err != nil {
		return nil // gone already
	}
	defer cp.Free()
	if err := cp.Delete(0); err != nil {
		// libvirt 9 deletes checkpoints of running guests only (a guest
		// destroyed under the backup): say what is left rather than
		// drop the metadata and leave its bitmap in the image.
		name, _ := dom.GetName()
		return msgThenCause(fmt.Sprintf("The checkpoint '%s' begun with the backup is left: delete it with 'checkpoint-delete %s %s' once the guest runs", ckpt, name, ckpt), err)
	}
	return nil
}

// checkpointSet is the names of a domain's checkpoints.
func checkpointSet(dom *libvirt.Domain) map[string]bool {
	m := map[string]bool{}
	cps, err := dom.ListAllCheckpoints(0)
	if err != nil {
		return m
	}
	for _, c := range cps {
		if n, err := c.GetName(); err == nil {
			m[n] = true
		}
		_ = c.Free()
	}
	return m
}

// jobWaiter follows a domain job to its end through the job-completed
// event; job stats are polled only to draw progress.
type jobWaiter struct {
	env  *Env
	dom  *libvirt.Domain
	conn *libvirt.Connect
	id   int
	ok   bool
	pull bool // pull-mode backup
	done chan *libvirt.DomainEventJobCompleted
	prog *format.Progress
	// guard ends the wait when the connection is lost or the guest stops
	// (nil without a connection).
	guard *waitGuard
}

type jobResult struct {
	ok, aborted bool
	msg         string
	err         error
}

func newJobWaiter(env *Env, dom *libvirt.Domain) *jobWaiter {
	w := &jobWaiter{env: env, dom: dom, done: make(chan *libvirt.DomainEventJobCompleted, 1)}
	conn, err := env.Sess.Conn()
	if err != nil {
		return w
	}
	env.Sess.StartEventLoop() // the wait returns on this event
	id, err := conn.DomainEventJobCompletedRegister(dom, func(_ *libvirt.Connect, _ *libvirt.Domain, ev *libvirt.DomainEventJobCompleted) {
		select {
		case w.done <- ev:
		default:
		}
	})
	if err == nil {
		w.conn, w.id, w.ok = conn, id, true
	}
	w.guard = newWaitGuard(env, conn, dom)
	return w
}

func (w *jobWaiter) close() {
	w.guard.close()
	if w.ok {
		_ = w.conn.DomainEventDeregister(w.id)
	}
}

// wait returns when the job ends. Ctrl-C (ctx) or the timeout aborts the job
// and still waits for libvirt to report it ended, so that nothing runs on
// after virtsh says "aborted". With verbose, progress is drawn from job
// stats (format.Progress: virsh's "\rBackup: [ 45 %]" off a terminal).
func (w *jobWaiter) wait(ctx context.Context, timeout time.Duration, verbose bool) jobResult {
	if verbose {
		w.prog = format.NewProgress(w.env.IO.Err, "Backup")
		defer w.prog.Close()
	}
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	var deadline <-chan time.Time
	if timeout > 0 {
		t := time.NewTimer(timeout)
		defer t.Stop()
		deadline = t.C
	}
	var lost, stopped <-chan struct{}
	if w.guard != nil {
		lost, stopped = w.guard.lost, w.guard.stopped
	}
	for {
		select {
		case ev := <-w.done:
			return w.finish(ev)
		case <-ctx.Done():
			return w.abort()
		case <-deadline:
			return w.abort()
		case <-lost:
			return jobResult{err: w.connectionLost()}
		case <-stopped:
			// The job dies with the guest; its end event is on the way.
			select {
			case ev := <-w.done:
				return w.finish(ev)
			case <-time.After(time.Second):
				return jobResult{msg: "domain is not running"}
			}
		case <-tick.C:
			info, err := w.dom.GetJobStats(0)
			if err != nil {
				continue
			}
			if info.Type == libvirt.DOMAIN_JOB_NONE && !w.ok {
				// No event support: the job is gone, ask how it ended.
				return w.completedStats()
			}
			if w.prog != nil && info.DiskTotal > 0 {
				w.prog.Update(info.DiskProcessed, info.DiskTotal)
			}
		}
	}
}

// connectionLost ends a wait whose connection dropped: the backup is
// QEMU's and may go on, so nothing is undone; virtsh reconnects at once when
// the daemon closed the connection (not after a keepalive timeout) and says
// how to find out how the job ended.
func (w *jobWaiter) connectionLost() error {
	name, _ := w.dom.GetName() // kept by the handle, no daemon call
	if w.env.Sess.ClosedByPeer() {
		_, _ = w.env.Sess.Conn() // prints "Reconnected to the hypervisor" on success
	}
	return msgThenCause("Lost the connection while waiting for the backup job",
		fmt.Errorf("The job may go on: follow it with 'domjobinfo %s' ('domjobinfo %s --completed' once it ended) and check 'checkpoint-list %s'", name, name, name))
}

func (w *jobWaiter) abort() jobResult {
	if err := w.dom.AbortJob(); err != nil {
		var le libvirt.Error
		// The job may have ended on its own meanwhile.
		if !errors.As(err, &le) || le.Code != libvirt.ERR_OPERATION_INVALID {
			return jobResult{err: msgThenCause("failed to abort the backup job", err)}
		}
	}
	t := time.NewTimer(30 * time.Second)
	defer t.Stop()
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case ev := <-w.done:
			if w.pull && succeeded(ev.Info) {
				w.settle()
				return jobResult{aborted: true}
			}
			if r := w.finish(ev); r.ok || r.err != nil {
				return r // finished before the abort took effect
			}
			return jobResult{aborted: true}
		case <-t.C:
			return jobResult{err: errors.New("backup job did not end after abort")}
		case <-tick.C:
			if info, err := w.dom.GetJobStats(0); err == nil && info.Type == libvirt.DOMAIN_JOB_NONE && !w.ok {
				if w.pull {
					return jobResult{aborted: true}
				}
				if r := w.completedStats(); r.ok {
					return r
				}
				return jobResult{aborted: true}
			}
		}
	}
}

func (w *jobWaiter) finish(ev *libvirt.DomainEventJobCompleted) jobResult {
	info := ev.Info
	if succeeded(info) {
		w.settle()
		if w.prog != nil {
			w.prog.Complete()
		}
		return jobResult{ok: true}
	}
	if info.Type == libvirt.DOMAIN_JOB_CANCELLED {
		return jobResult{aborted: true}
	}
	msg := info.ErrorMessage
	if msg == "" {
		msg = "unknown error"
		if active, err := w.dom.IsActive(); err == nil && !active {
			msg = "domain is not running" // it died with the guest
		}
	}
	return jobResult{msg: msg}
}

func succeeded(info libvirt.DomainJobInfo) bool {
	return info.JobSuccessSet && info.JobSuccess || !info.JobSuccessSet && info.Type == libvirt.DOMAIN_JOB_COMPLETED
}

// settle waits (briefly) for libvirt to end the domain job after the
// job-completed event: the event is sent before libvirt has finished
// tearing the job down, and until then QEMU may still hold the target
// images open (seen: "Failed to get shared write lock" right after it).
func (w *jobWaiter) settle() {
	for i := 0; i < 100; i++ {
		info, err := w.dom.GetJobStats(0)
		if err != nil || info.Type == libvirt.DOMAIN_JOB_NONE {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (w *jobWaiter) completedStats() jobResult {
	info, err := w.dom.GetJobStats(libvirt.DOMAIN_JOB_STATS_COMPLETED)
	if err != nil {
		return jobResult{err: err}
	}
	return w.finish(&libvirt.DomainEventJobCompleted{Info: *info})
}

func newBackupDumpXMLCmd(env *Env) *spec.Command {
	var dom string
	var x xmlDump
	c := &spec.Command{Short: "Dump XML for an ongoing domain block backup job", Long: "Backup Dump XML"}
	c.Domain(&dom, "active")
	x.declare(c, env)
	c.Run = env.onDomain(&dom, func(ctx context.Context, d *libvirt.Domain) error {
		if err := x.check(c); err != nil {
			return err
		}
		doc, err := d.BackupGetXMLDesc(0)
		if err != nil {
			return err
		}
		return x.print(c, env, doc)
	})
	return c
}

// ---------------------------------------------------------------- domjobinfo

var jobTypeNames = []string{"None", "Bounded", "Unbounded", "Completed", "Failed", "Cancelled"}
var jobOpNames = []string{"Unknown", "Start", "Save", "Restore", "Incoming migration", "Outgoing migration",
	"Snapshot", "Snapshot revert", "Dump", "Backup", "Snapshot delete"}

func nameOf(names []string, i int) string {
	if i >= 0 && i < len(names) {
		return names[i]
	}
	return "unknown"
}

// jobInfoView is domjobinfo -o json|yaml: raw numbers (bytes, ms); fields
// libvirt did not report are left out.
type jobInfoView struct {
	Type          string  `json:"type" yaml:"type"`
	Operation     string  `json:"operation,omitempty" yaml:"operation,omitempty"`
	TimeElapsedMS *uint64 `json:"time_elapsed_ms,omitempty" yaml:"time_elapsed_ms,omitempty"`
	TimeRemaining *uint64 `json:"time_remaining_ms,omitempty" yaml:"time_remaining_ms,omitempty"`
	DataTotal     *uint64 `json:"data_total,omitempty" yaml:"data_total,omitempty"`
	DataProcessed *uint64 `json:"data_processed,omitempty" yaml:"data_processed,omitempty"`
	DataRemaining *uint64 `json:"data_remaining,omitempty" yaml:"data_remaining,omitempty"`
	DiskTotal     *uint64 `json:"disk_total,omitempty" yaml:"disk_total,omitempty"`
	DiskProcessed *uint64 `json:"disk_processed,omitempty" yaml:"disk_processed,omitempty"`
	DiskRemaining *uint64 `json:"disk_remaining,omitempty" yaml:"disk_remaining,omitempty"`
	DiskTempUsed  *uint64 `json:"disk_temp_used,omitempty" yaml:"disk_temp_used,omitempty"`
	DiskTempTotal *uint64 `json:"disk_temp_total,omitempty" yaml:"disk_temp_total,omitempty"`
	Success       *bool   `json:"success,omitempty" yaml:"success,omitempty"`
	ErrorMessage  string  `json:"error_message,omitempty" yaml:"error_message,omitempty"`
	// Status is how the job stands or ended, one word: none, running,
	// completed, failed or cancelled (see domainJobStatus).
	Status string `json:"status" yaml:"status"`
}

// domainJobStatus is one verdict from libvirt's job type, success flag and error
// message, which do not always agree: a pull backup that was aborted ends
// "completed" with success set and error "Operation canceled". Cancelled
// wins over success, and an error message over a bare success flag.
func domainJobStatus(info *libvirt.DomainJobInfo) string {
	canceled := info.Type == libvirt.DOMAIN_JOB_CANCELLED || strings.Contains(info.ErrorMessage, "canceled") || strings.Contains(info.ErrorMessage, "cancelled")
	switch {
	case canceled:
		return "cancelled"
	case info.Type == libvirt.DOMAIN_JOB_BOUNDED || info.Type == libvirt.DOMAIN_JOB_UNBOUNDED:
		return "running"
	case info.Type == libvirt.DOMAIN_JOB_FAILED || info.JobSuccessSet && !info.JobSuccess || info.ErrorMessage != "":
		return "failed"
	case info.Type == libvirt.DOMAIN_JOB_COMPLETED:
		return "completed"
	}
	return "none"
}

func opt64(set bool, v uint64) *uint64 {
	if !set {
		return nil
	}
	return &v
}

func newDomjobinfoCmd(env *Env) *spec.Command {
	var dom string
	var completed, keep, anystats, rawstats bool
	c := &spec.Command{Short: "domain job information", Long: "Returns information about jobs running on a domain."}
	c.Example = "domjobinfo vm\ndomjobinfo vm --completed --keep-completed -o json"
	c.Domain(&dom, "")
	c.Bool(&completed, "completed", "return statistics of a recently completed job")
	c.Bool(&keep, "keep-completed", "don't destroy statistics of a recently completed job when reading")
	c.Bool(&anystats, "anystats", "print statistics for any kind of job (even failed ones)")
	c.Bool(&rawstats, "rawstats", "print the raw data returned by libvirt")
	outputOption(c, env.IO)
	c.Requires("keep-completed", "completed")
	c.Run = env.onDomain(&dom, func(ctx context.Context, d *libvirt.Domain) error {
		flags := flagsOf([]flagIf[libvirt.DomainGetJobStatsFlags]{
			{completed, libvirt.DOMAIN_JOB_STATS_COMPLETED}, {keep, libvirt.DOMAIN_JOB_STATS_KEEP_COMPLETED},
		})
		info, err := d.GetJobStats(flags)
		if isNoSupport(err) {
			if flags != 0 || rawstats {
				return msgThenCause("Optional flags or --rawstats are not supported by the daemon", err)
			}
			info, err = d.GetJobInfo()
		}
		if err != nil {
			return err
		}
		if env.IO.Structured() {
			v := jobInfoView{Type: nameOf(jobTypeNames, int(info.Type)),
				TimeElapsedMS: opt64(info.TimeElapsedSet, info.TimeElapsed), TimeRemaining: opt64(info.TimeRemainingSet, info.TimeRemaining),
				DataTotal: opt64(info.DataTotalSet, info.DataTotal), DataProcessed: opt64(info.DataProcessedSet, info.DataProcessed),
				DataRemaining: opt64(info.DataRemainingSet, info.DataRemaining),
				DiskTotal:     opt64(info.DiskTotalSet, info.DiskTotal), DiskProcessed: opt64(info.DiskProcessedSet, info.DiskProcessed),
				DiskRemaining: opt64(info.DiskRemainingSet, info.DiskRemaining),
				DiskTempUsed:  opt64(info.DiskTempUsedSet, info.DiskTempUsed), DiskTempTotal: opt64(info.DiskTempTotalSet, info.DiskTempTotal),
				ErrorMessage: info.ErrorMessage}
			if info.OperationSet {
				v.Operation = nameOf(jobOpNames, int(info.Operation))
			}
			v.Status = domainJobStatus(info)
			if info.JobSuccessSet {
				// success agrees with status (libvirt's flag alone can
				// say true for a cancelled job).
				b := v.Status == "completed"
				v.Success = &b
			}
			return env.IO.Encode(v)
		}
		printJobInfo(env.IO, info, completed, anystats, rawstats)
		return nil
	})
	return c
}

// printJobInfo is cmdDomjobinfo's text output (the fields a backup or a
// save/dump job reports; migration-only fields are printed too when set).
func printJobInfo(out *format.IO, info *libvirt.DomainJobInfo, completed, anystats, rawstats bool) {
	if rawstats {
		out.Printf("Job type: %d\n\n", int(info.Type))
		raw := []struct {
			set  bool
			name string
			val  uint64
		}{
			{info.OperationSet, "operation", uint64(info.Operation)},
			{info.TimeElapsedSet, "time_elapsed", info.TimeElapsed},
			{info.TimeRemainingSet, "time_remaining", info.TimeRemaining},
			{info.DataTotalSet, "data_total", info.DataTotal},
			{info.DataProcessedSet, "data_processed", info.DataProcessed},
			{info.DataRemainingSet, "data_remaining", info.DataRemaining},
			{info.DiskTotalSet, "disk_total", info.DiskTotal},
			{info.DiskProcessedSet, "disk_processed", info.DiskProcessed},
			{info.DiskRemainingSet, "disk_remaining", info.DiskRemaining},
			{info.DiskTempUsedSet, "disk_temp_used", info.DiskTempUsed},
			{info.DiskTempTotalSet, "disk_temp_total", info.DiskTempTotal},
		}
		for _, r := range raw {
			if r.set {
				out.Printf("%s: %d\n", r.name, r.val)
			}
		}
		if info.JobSuccessSet {
			out.Printf("success: %d\n", map[bool]int{false: 0, true: 1}[info.JobSuccess])
		}
		if info.ErrorMessageSet {
			out.Printf("errmsg: %s\n", info.ErrorMessage)
		}
		return
	}
	out.Printf("%-17s %-12s\n", "Job type:", nameOf(jobTypeNames, int(info.Type)))
	if info.OperationSet {
		out.Printf("%-17s %-12s\n", "Operation:", nameOf(jobOpNames, int(info.Operation)))
	}
	if !anystats && info.Type != libvirt.DOMAIN_JOB_BOUNDED && info.Type != libvirt.DOMAIN_JOB_UNBOUNDED &&
		(!completed || info.Type != libvirt.DOMAIN_JOB_COMPLETED) {
		return
	}
	size := func(label string, v uint64, suffix string) {
		f, unit := format.PrettyCapacity(v)
		out.Printf("%-17s %-.3f %s%s\n", label, f, unit, suffix)
	}
	out.Printf("%-17s %-12d ms\n", "Time elapsed:", info.TimeElapsed)
	if info.TimeElapsedNetSet {
		out.Printf("%-17s %-12d ms\n", "Time elapsed w/o network:", info.TimeElapsedNet)
	}
	if info.Type == libvirt.DOMAIN_JOB_BOUNDED {
		out.Printf("%-17s %-12d ms\n", "Time remaining:", info.TimeRemaining)
	}
	if info.DataTotal != 0 || info.DataRemaining != 0 || info.DataProcessed != 0 {
		size("Data processed:", info.DataProcessed, "")
		size("Data remaining:", info.DataRemaining, "")
		size("Data total:", info.DataTotal, "")
	}
	if info.MemTotal != 0 || info.MemRemaining != 0 || info.MemProcessed != 0 {
		size("Memory processed:", info.MemProcessed, "")
		size("Memory remaining:", info.MemRemaining, "")
		size("Memory total:", info.MemTotal, "")
	}
	if info.MemBpsSet && info.MemBps != 0 {
		size("Memory bandwidth:", info.MemBps, "/s")
	}
	num := func(set bool, label string, v uint64, suffix string) {
		if set {
			out.Printf("%-17s %-12d%s\n", label, v, suffix)
		}
	}
	// A migration's fields, in cmdDomjobinfo's order (printMigrationJobInfo
	// in migrate.go).
	num(info.MemDirtyRateSet, "Dirty rate:", info.MemDirtyRate, " pages/s")
	num(info.MemPageSizeSet, "Page size:", info.MemPageSize, " bytes")
	num(info.MemIterationSet, "Iteration:", info.MemIteration, "")
	num(info.MemPostcopyReqsSet, "Postcopy requests:", info.MemPostcopyReqs, "")
	if info.DiskTotal != 0 || info.DiskRemaining != 0 || info.DiskProcessed != 0 {
		size("File processed:", info.DiskProcessed, "")
		size("File remaining:", info.DiskRemaining, "")
		size("File total:", info.DiskTotal, "")
	}
	if info.DiskBpsSet && info.DiskBps != 0 {
		size("File bandwidth:", info.DiskBps, "/s")
	}
	printMigrationJobInfo(out, info, num, size)
	if info.DiskTempUsedSet {
		size("Temporary disk space use:", info.DiskTempUsed, "")
	}
	if info.DiskTempTotalSet {
		size("Temporary disk space total:", info.DiskTempTotal, "")
	}
	if info.ErrorMessageSet {
		out.Printf("%-17s %s\n", "Error message:", info.ErrorMessage)
	}
}

func newDomjobabortCmd(env *Env) *spec.Command {
	var dom string
	var postcopy bool
	c := &spec.Command{Short: "abort active domain job", Long: "Aborts the currently running domain job"}
	c.Domain(&dom, "active")
	c.Bool(&postcopy, "postcopy", "interrupt post-copy migration")
	c.Run = env.onDomain(&dom, func(ctx context.Context, d *libvirt.Domain) error {
		if postcopy {
			return d.AbortJobFlags(libvirt.DOMAIN_ABORT_JOB_POSTCOPY)
		}
		return d.AbortJob()
	})
	return c
}
