package cmd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"libvirt.org/go/libvirt"
	"libvirt.org/go/libvirtxml"

	"github.com/virtsh/virtsh/shell"
	"github.com/virtsh/virtsh/shell/blocknodes"
	"github.com/virtsh/virtsh/shell/spec"
)

// Block jobs (virsh-domain.c): blockcommit, blockpull, blockcopy here;
// blockjob and blockresize in blockjob_info.go; waiting in blockjob_wait.go.

// diskOpt declares virsh's <path> option of the block commands.
func diskOpt(c *spec.Command, p *string, help string) {
	f := c.String(p, "path", help, spec.Req, true)
	f.Complete(spec.Disk)
}

// waitJob waits for the job, then prints what virsh prints when it did not
// reach its goal ("\nCommit aborted" on stdout; "\nCommit failed" as an
// error) and returns the command's error (exit 1).
func waitJob(ctx context.Context, env *Env, w *blockWaiter, kind, job, domName string) error {
	st, err := w.wait(ctx)
	if err != nil {
		return err
	}
	switch st {
	case libvirt.DOMAIN_BLOCK_JOB_CANCELED:
		if env.IO.Structured() {
			_ = env.IO.Encode(w.result(job, domName, "canceled"))
		} else {
			env.IO.Extra("\n%s aborted", kind)
		}
		return errJobEnded
	case libvirt.DOMAIN_BLOCK_JOB_FAILED:
		if env.IO.Structured() {
			_ = env.IO.Encode(w.result(job, domName, "failed"))
		}
		env.IO.Errorf("error: \n%s failed\n", kind)
		return errJobEnded
	}
	return nil
}

func newBlockCommitCmd(env *Env) *spec.Command {
	var o struct {
		dom, path, bandwidth, base, top, timeout                            string
		shallow, active, del, wait, verbose, pivot, keepOverlay, async, rel bool
		bytes                                                               bool
	}
	c := &spec.Command{Short: "Start a block commit operation.", Long: "Commit changes from a snapshot down to its backing image.", Example: "  blockcommit vm1 vda --active --pivot --wait --verbose\n  blockcommit vm1 vda --top 'vda[2]' --base 'vda[1]' --wait --delete"}
	c.Domain(&o.dom, "running")
	diskOpt(c, &o.path, "fully-qualified path of disk")
	c.Number(&o.bandwidth, "bandwidth", "bandwidth limit in MiB/s", spec.Unwanted, false)
	c.String(&o.base, "base", "path of base file to commit into (default bottom of chain)", spec.Unwanted, false).Complete(spec.DiskIndex, "path")
	c.Bool(&o.shallow, "shallow", "use backing file of top as base")
	c.String(&o.top, "top", "path of top file to commit from (default top of chain)", spec.Unwanted, false).Complete(spec.DiskIndex, "path")
	c.Bool(&o.active, "active", "trigger two-stage active commit of top file")
	c.Bool(&o.del, "delete", "delete files that were successfully committed")
	c.Bool(&o.wait, "wait", "wait for job to complete (with --active, wait for job to sync)")
	c.Bool(&o.verbose, "verbose", "with --wait, display the progress")
	c.Number(&o.timeout, "timeout", "implies --wait, abort if copy exceeds timeout (in seconds)", spec.Unwanted, false)
	c.Bool(&o.pivot, "pivot", "implies --active --wait, pivot when commit is synced")
	c.Bool(&o.keepOverlay, "keep-overlay", "implies --active --wait, quit when commit is synced")
	c.Bool(&o.async, "async", "with --wait, don't wait for cancel to finish")
	c.Bool(&o.rel, "keep-relative", "keep the backing chain relatively referenced")
	c.Bool(&o.bytes, "bytes", "the bandwidth limit is in bytes/s rather than MiB/s")
	outputOption(c, env.IO)
	c.Exclusive("pivot", "keep-overlay")
	c.Run = func(ctx context.Context) error {
		active := o.active || o.pivot || o.keepOverlay
		blocking := o.wait || o.pivot || o.keepOverlay
		bw, err := parseBandwidth(o.bandwidth, o.bytes)
		if err != nil {
			return err
		}
		flags := flagsOf([]flagIf[libvirt.DomainBlockCommitFlags]{
			{o.bytes, libvirt.DOMAIN_BLOCK_COMMIT_BANDWIDTH_BYTES}, {o.shallow, libvirt.DOMAIN_BLOCK_COMMIT_SHALLOW},
			{o.del, libvirt.DOMAIN_BLOCK_COMMIT_DELETE}, {active, libvirt.DOMAIN_BLOCK_COMMIT_ACTIVE},
			{o.rel, libvirt.DOMAIN_BLOCK_COMMIT_RELATIVE},
		})
		timeout, err := parseTimeout(o.timeout, c.Given("timeout"))
		if err != nil {
			return err
		}
		blocking = blocking || timeout > 0
		if err := needWaiting(blocking, o.verbose, o.async, "--timeout, --wait, --pivot, or --keep-overlay"); err != nil {
			return err
		}
		dom, err := lookupJobDomain(env, o.dom, blocking)
		if err != nil {
			return err
		}
		defer dom.Free()
		job := "commit"
		if active {
			job = "active_commit"
		}
		var w *blockWaiter
		if blocking {
			if w, err = newBlockWaiter(env, dom, o.path, "Block commit", o.verbose, timeout, o.async); err != nil {
				return err
			}
			defer w.close()
		}
		if err := dom.BlockCommit(o.path, o.base, o.top, bw, flags); err != nil {
			return err
		}
		// Snapshots, checkpoints and block-job starts raise no libvirt event:
		// tell the node-name cache (it re-derives at its next use).
		env.Sess.Nodes().RefillDomain(dom, blocknodes.ReasonBlockJob)
		if !blocking {
			return jobStarted(env, dom, o.path, job, map[bool]string{true: "Active Block Commit started", false: "Block Commit started"}[active])
		}
		if err := waitJob(ctx, env, w, "Commit", job, o.dom); err != nil {
			return err
		}
		if !active {
			return jobDone(env, w, job, o.dom, "completed", "Commit complete")
		}
		status, err := endMirror(dom, o.path, o.pivot, o.keepOverlay, o.async)
		if err != nil {
			return err
		}
		msg := map[string]string{"pivoted": "Successfully pivoted", "finished": "Commit complete, overlay image kept",
			"ready": "Now in synchronized phase"}[status]
		return jobDone(env, w, job, o.dom, status, msg)
	}
	return c
}

// needWaiting is virsh's check that --verbose and --async come with one of
// the options that wait for the job (listed in waiters).
func needWaiting(blocking, verbose, async bool, waiters string) error {
	switch {
	case blocking:
	case verbose:
		return fmt.Errorf("--verbose requires at least one of %s", waiters)
	case async:
		return fmt.Errorf("--async requires at least one of %s", waiters)
	}
	return nil
}

// endMirror ends a waited copy or active commit that reached its ready
// phase as virsh does: pivot switches the disk to the new image, finish
// (--finish, --keep-overlay) leaves the disk as it was, neither keeps the
// job mirroring. It returns the outcome for -o: pivoted, finished or ready.
func endMirror(dom *libvirt.Domain, path string, pivot, finish, async bool) (string, error) {
	var flags libvirt.DomainBlockJobAbortFlags
	if async {
		flags |= libvirt.DOMAIN_BLOCK_JOB_ABORT_ASYNC
	}
	switch {
	case pivot:
		if err := dom.BlockJobAbort(path, flags|libvirt.DOMAIN_BLOCK_JOB_ABORT_PIVOT); err != nil {
			return "", msgThenCause(fmt.Sprintf("failed to pivot job for disk %s", path), err)
		}
		return "pivoted", nil
	case finish:
		if err := dom.BlockJobAbort(path, flags); err != nil {
			return "", msgThenCause(fmt.Sprintf("failed to finish job for disk %s", path), err)
		}
		return "finished", nil
	}
	return "ready", nil
}

// jobStarted reports a job started without waiting.
func jobStarted(env *Env, dom *libvirt.Domain, disk, job, msg string) error {
	if env.IO.Structured() {
		name, _ := dom.GetName()
		r := blockJobResult{Job: job, Domain: name, Disk: disk, Status: "started"}
		if info, err := dom.GetBlockJobInfo(disk, 0); err == nil && info.Type != 0 {
			r.BytesDone, r.BytesTotal = info.Cur, info.End
		}
		return env.IO.Encode(r)
	}
	env.IO.Extra("%s", msg)
	return nil
}

// jobDone prints the final line ("\nSuccessfully pivoted") or, with -o, the
// final JSON/YAML object.
func jobDone(env *Env, w *blockWaiter, job, domName, status, msg string) error {
	if env.IO.Structured() {
		return env.IO.Encode(w.result(job, domName, status))
	}
	env.IO.Extra("\n%s", msg)
	return nil
}

func newBlockPullCmd(env *Env) *spec.Command {
	var o struct {
		dom, path, bandwidth, base, timeout string
		wait, verbose, async, rel, bytes    bool
	}
	c := &spec.Command{Short: "Populate a disk from its backing image.", Long: "Populate a disk from its backing image.", Example: "  blockpull vm1 vda --wait --verbose\n  blockpull vm1 vda --base 'vda[1]' --wait"}
	c.Domain(&o.dom, "running")
	diskOpt(c, &o.path, "fully-qualified path of disk")
	c.Number(&o.bandwidth, "bandwidth", "bandwidth limit in MiB/s", spec.Unwanted, false)
	c.String(&o.base, "base", "path of backing file in chain for a partial pull", spec.Unwanted, false).Complete(spec.DiskIndex, "path")
	c.Bool(&o.wait, "wait", "wait for job to finish")
	c.Bool(&o.verbose, "verbose", "with --wait, display the progress")
	c.Number(&o.timeout, "timeout", "with --wait, abort if pull exceeds timeout (in seconds)", spec.Unwanted, false)
	c.Bool(&o.async, "async", "with --wait, don't wait for cancel to finish")
	c.Bool(&o.rel, "keep-relative", "keep the backing chain relatively referenced")
	c.Bool(&o.bytes, "bytes", "the bandwidth limit is in bytes/s rather than MiB/s")
	outputOption(c, env.IO)
	c.Requires("verbose", "wait")
	c.Requires("async", "wait")
	c.Run = func(ctx context.Context) error {
		bw, err := parseBandwidth(o.bandwidth, o.bytes)
		if err != nil {
			return err
		}
		timeout, err := parseTimeout(o.timeout, c.Given("timeout"))
		if err != nil {
			return err
		}
		if !o.wait {
			timeout = 0 // virsh ignores --timeout without --wait for pulls
		}
		dom, err := lookupJobDomain(env, o.dom, o.wait)
		if err != nil {
			return err
		}
		defer dom.Free()
		var w *blockWaiter
		if o.wait {
			if w, err = newBlockWaiter(env, dom, o.path, "Block Pull", o.verbose, timeout, o.async); err != nil {
				return err
			}
			defer w.close()
		}
		if o.base != "" || o.rel {
			flags := flagsOf([]flagIf[libvirt.DomainBlockRebaseFlags]{
				{o.rel, libvirt.DOMAIN_BLOCK_REBASE_RELATIVE}, {o.bytes, libvirt.DOMAIN_BLOCK_REBASE_BANDWIDTH_BYTES},
			})
			err = dom.BlockRebase(o.path, o.base, bw, flags)
		} else {
			var flags libvirt.DomainBlockPullFlags
			if o.bytes {
				flags |= libvirt.DOMAIN_BLOCK_PULL_BANDWIDTH_BYTES
			}
			err = dom.BlockPull(o.path, bw, flags)
		}
		if err != nil {
			return err
		}
		env.Sess.Nodes().RefillDomain(dom, blocknodes.ReasonBlockJob)
		if !o.wait {
			return jobStarted(env, dom, o.path, "pull", "Block Pull started")
		}
		if err := waitJob(ctx, env, w, "Pull", "pull", o.dom); err != nil {
			return err
		}
		return jobDone(env, w, "pull", o.dom, "completed", "Pull complete")
	}
	return c
}

// blockCopyOpts are blockcopy's options.
type blockCopyOpts struct {
	dom, path, dest, bandwidth, timeout, xml, format, granularity, bufSize string
	shallow, reuse, blockdev, wait, verbose, pivot, finish, async, bytes   bool
	transient, syncWrites, printXML                                        bool
}

func newBlockCopyCmd(env *Env) *spec.Command {
	var o blockCopyOpts
	c := &spec.Command{Short: "Start a block copy operation.", Long: "Copy a disk backing image chain to dest.", Example: "  blockcopy vm1 vda /var/lib/libvirt/images/copy.qcow2 --format qcow2 --transient-job --wait --pivot --verbose"}
	c.Domain(&o.dom, "running")
	diskOpt(c, &o.path, "fully-qualified path of source disk")
	c.String(&o.dest, "dest", "path of the copy to create", spec.Unwanted, false).Complete(spec.File)
	c.Number(&o.bandwidth, "bandwidth", "bandwidth limit in MiB/s", spec.Unwanted, false)
	c.Bool(&o.shallow, "shallow", "make the copy share a backing chain")
	c.Bool(&o.reuse, "reuse-external", "reuse existing destination")
	c.Alias("raw", "format=raw")
	c.Bool(&o.blockdev, "blockdev", "copy destination is block device instead of regular file")
	c.Bool(&o.wait, "wait", "wait for job to reach mirroring phase")
	c.Bool(&o.verbose, "verbose", "with --wait, display the progress")
	c.Number(&o.timeout, "timeout", "implies --wait, abort if copy exceeds timeout (in seconds)", spec.Unwanted, false)
	c.Bool(&o.pivot, "pivot", "implies --wait, pivot when mirroring starts")
	c.Bool(&o.finish, "finish", "implies --wait, quit when mirroring starts")
	c.Bool(&o.async, "async", "with --wait, don't wait for cancel to finish")
	c.String(&o.xml, "xml", "filename containing XML description of the copy destination", spec.Unwanted, false).Complete(spec.File)
	c.String(&o.format, "format", "format of the destination file", spec.Unwanted, false).Complete(spec.StorageFormat)
	c.Number(&o.granularity, "granularity", "power-of-two granularity to use during the copy", spec.Unwanted, false)
	c.Number(&o.bufSize, "buf-size", "maximum amount of in-flight data during the copy", spec.Unwanted, false)
	c.Bool(&o.bytes, "bytes", "the bandwidth limit is in bytes/s rather than MiB/s")
	c.Bool(&o.transient, "transient-job", "the copy job is not persisted if VM is turned off")
	c.Bool(&o.syncWrites, "synchronous-writes", "the copy job forces guest writes to be synchronously written to the destination")
	c.Bool(&o.printXML, "print-xml", "print the XML used to start the copy job instead of starting the job")
	c.InertOptions("print-xml")
	outputOption(c, env.IO)
	c.Run = func(ctx context.Context) error { return runBlockCopy(ctx, env, c, &o) }
	return c
}

// blockCopyJob is a blockcopy's options read as virsh reads them.
type blockCopyJob struct {
	bandwidth, granularity, bufSize uint64
	timeout                         time.Duration
	flags                           libvirt.DomainBlockCopyFlags
	blocking                        bool
}

// read converts the options as virsh's cmdBlockCopy does, then checks the
// pairs of options that cannot go together.
func (o *blockCopyOpts) read(c *spec.Command) (j blockCopyJob, err error) {
	if j.bandwidth, err = parseBandwidth(o.bandwidth, o.bytes); err != nil {
		return j, err
	}
	if o.granularity != "" {
		if j.granularity, err = strconv.ParseUint(o.granularity, 10, 32); err != nil {
			return j, fmt.Errorf("Numeric value '%s' for <granularity> option is malformed or out of range", o.granularity)
		}
	}
	if o.bufSize != "" {
		if j.bufSize, err = strconv.ParseUint(o.bufSize, 10, 64); err != nil {
			return j, fmt.Errorf("Numeric value '%s' for <buf-size> option is malformed or out of range", o.bufSize)
		}
	}
	j.flags |= flagsOf([]flagIf[libvirt.DomainBlockCopyFlags]{{o.shallow, libvirt.DOMAIN_BLOCK_COPY_SHALLOW}, {o.reuse, libvirt.DOMAIN_BLOCK_COPY_REUSE_EXT},
		{o.transient, libvirt.DOMAIN_BLOCK_COPY_TRANSIENT_JOB}, {o.syncWrites, libvirt.DOMAIN_BLOCK_COPY_SYNCHRONOUS_WRITES}})
	if j.timeout, err = parseTimeout(o.timeout, c.Given("timeout")); err != nil {
		return j, err
	}
	j.blocking = o.wait || o.finish || o.pivot || j.timeout > 0
	// Not declared rules: virsh checks these pairs only after reading
	// the numbers and strings above (--dest a --xml b --granularity x
	// reports the granularity).
	for _, ex := range [][2]string{{"dest", "xml"}, {"format", "xml"}, {"blockdev", "xml"}, {"pivot", "finish"}} {
		if c.Given(ex[0]) && c.Given(ex[1]) {
			return j, fmt.Errorf("Options --%s and --%s are mutually exclusive", ex[0], ex[1])
		}
	}
	if o.dest == "" && o.xml == "" {
		return j, errors.New("need either --dest or --xml")
	}
	return j, needWaiting(j.blocking, o.verbose, o.async, "--timeout, --wait, --pivot, or --finish")
}

// newAPI reports whether the copy needs virDomainBlockCopy (a destination
// XML and typed parameters) rather than the older virDomainBlockRebase.
func (o *blockCopyOpts) newAPI(j blockCopyJob) bool {
	return j.granularity != 0 || j.bufSize != 0 || (o.format != "" && o.format != "raw") || o.xml != "" ||
		o.transient || o.syncWrites || o.printXML
}

// destXML is the destination document: the --xml file as it is, or, for
// the newer API, the <disk> virsh builds from --dest, --blockdev and
// --format (<source> before <driver>, virBuffer style, so that --print-xml
// is byte-identical).
func (o *blockCopyOpts) destXML(j blockCopyJob) (string, error) {
	if o.xml != "" {
		b, err := os.ReadFile(o.xml)
		if err != nil {
			return "", fmt.Errorf("Failed to open file '%s': %s", o.xml, errnoText(err))
		}
		return string(b), nil
	}
	if !o.newAPI(j) {
		return "", nil
	}
	disk := libvirtxml.DomainDisk{Source: &libvirtxml.DomainDiskSource{}}
	if o.blockdev {
		disk.Source.Block = &libvirtxml.DomainDiskSourceBlock{Dev: o.dest}
	} else {
		disk.Source.File = &libvirtxml.DomainDiskSourceFile{File: o.dest}
	}
	if o.format != "" {
		disk.Driver = &libvirtxml.DomainDiskDriver{Type: o.format}
	}
	raw, err := disk.Marshal()
	if err != nil {
		return "", err
	}
	return libvirtStyleXMLEdit(raw, copyDestStyle)
}

// start starts the copy through whichever API its options need.
func (o *blockCopyOpts) start(dom *libvirt.Domain, j blockCopyJob, xmlstr string) error {
	if !o.newAPI(j) {
		rflags := libvirt.DomainBlockRebaseFlags(j.flags) | libvirt.DOMAIN_BLOCK_REBASE_COPY
		if o.blockdev {
			rflags |= libvirt.DOMAIN_BLOCK_REBASE_COPY_DEV
		}
		if o.format == "raw" {
			rflags |= libvirt.DOMAIN_BLOCK_REBASE_COPY_RAW
		}
		if o.bytes {
			rflags |= libvirt.DOMAIN_BLOCK_REBASE_BANDWIDTH_BYTES
		}
		return dom.BlockRebase(o.path, o.dest, j.bandwidth, rflags)
	}
	var params libvirt.DomainBlockCopyParameters
	if bw := j.bandwidth; bw != 0 {
		if !o.bytes {
			const limit = ^uint64(0) >> 20
			if bw > limit {
				return fmt.Errorf("bandwidth must be less than %d", limit)
			}
			bw <<= 20
		}
		params.BandwidthSet, params.Bandwidth = true, bw
	}
	if j.granularity != 0 {
		params.GranularitySet, params.Granularity = true, uint(j.granularity)
	}
	if j.bufSize != 0 {
		params.BufSizeSet, params.BufSize = true, j.bufSize
	}
	return dom.BlockCopy(o.path, xmlstr, &params, j.flags)
}

// runBlockCopy is virsh's cmdBlockCopy.
func runBlockCopy(ctx context.Context, env *Env, c *spec.Command, o *blockCopyOpts) error {
	j, err := o.read(c)
	if err != nil {
		return err
	}
	dom, err := lookupJobDomain(env, o.dom, j.blocking)
	if err != nil {
		return err
	}
	defer dom.Free()
	xmlstr, err := o.destXML(j)
	if err != nil {
		return err
	}
	if o.printXML {
		// virsh prints the document as it is, --xml file included.
		env.IO.Printf("%s", xmlstr)
		return nil
	}
	var w *blockWaiter
	if j.blocking {
		if w, err = newBlockWaiter(env, dom, o.path, "Block Copy", o.verbose, j.timeout, o.async); err != nil {
			return err
		}
		defer w.close()
	}
	var created *createdFiles
	if j.blocking && !o.reuse && o.dest != "" {
		created = newCreatedFiles(w.conn, o.dest)
	}
	if err := o.start(dom, j, xmlstr); err != nil {
		return copyStartError(dom, err, o.transient)
	}
	env.Sess.Nodes().RefillDomain(dom, blocknodes.ReasonBlockJob)
	if !j.blocking {
		return jobStarted(env, dom, o.path, "copy", "Block Copy started")
	}
	if err := waitJob(ctx, env, w, "Copy", "copy", o.dom); err != nil {
		// Failed or aborted (not a wait cut short while the job goes
		// on): the partial copy is no use to anyone.
		if errors.Is(err, errJobEnded) {
			if lines := created.undo(); len(lines) > 0 {
				return &shell.LinesError{Lines: lines}
			}
		}
		return err
	}
	status, err := endMirror(dom, o.path, o.pivot, o.finish, o.async)
	if err != nil {
		return err
	}
	msg := map[string]string{"pivoted": "Successfully pivoted", "finished": "Successfully copied", "ready": "Now in mirroring phase"}[status]
	return jobDone(env, w, "copy", o.dom, status, msg)
}

// copyDestStyle puts blockcopy's destination <disk> children in virsh's
// order (source, then driver); libvirtxml writes driver first.
func copyDestStyle(path string, n *styledElem) {
	if path != "disk" {
		return
	}
	rank := map[string]int{"source": 0, "driver": 1}
	sort.SliceStable(n.children, func(i, j int) bool { return rank[n.children[i].name] < rank[n.children[j].name] })
}

// copyStartError adds the hint virsh never gives: libvirt 9.0 copies a
// persistent domain's disk only as a transient job.
func copyStartError(dom *libvirt.Domain, err error, transient bool) error {
	var le libvirt.Error
	if transient || !errors.As(err, &le) || !strings.Contains(le.Message, "not transient") {
		return err
	}
	if persistent, perr := dom.IsPersistent(); perr != nil || !persistent {
		return err
	}
	return &shell.LinesError{Lines: []string{le.Message,
		"blockcopy of a persistent domain needs --transient-job with libvirt 9.0 (the copy job does not survive the guest stopping)"}, Cause: err}
}
