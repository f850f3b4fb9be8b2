package cmd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"libvirt.org/go/libvirt"
	"libvirt.org/go/libvirtxml"

	"github.com/virtsh/virtsh/format"
	"github.com/virtsh/virtsh/shell/backuprepo"
	"github.com/virtsh/virtsh/shell/blocknodes"
	"github.com/virtsh/virtsh/shell/domain"
	"github.com/virtsh/virtsh/shell/spec"
)

// The "Backup Repository" group (virtsh's own, help keyword repo): a
// directory that keeps one guest's chain of backups (shell/backuprepo), made
// with libvirt push backups whose checkpoints the repository names.

type backupCreateOpts struct {
	dom, dir, level string
	disks           []string
	verbose, pull   bool
	compress        bool
	timeout         string
}

func newBackupCreateCmd(env *Env) *spec.Command {
	var o backupCreateOpts
	c := &spec.Command{
		Short: "Back up a live domain into a backup repository",
		Long: "Take one backup point of a running domain into the repository directory DIR (made on the first backup): " +
			"full (every allocated extent, a new chain), inc (what changed since the repository's last point), " +
			"diff (what changed since its full) or auto (inc when the chain is sound, else full, saying why). " +
			"The checkpoints are the repository's own (virtsh.<repo-id>.<n>), so two repositories of one domain keep apart. " +
			"A backup that fails or is interrupted leaves the repository and the domain's checkpoints as they were.",
		Example: "backup-create vm /backups/vm --level full\n" +
			"backup-create vm /backups/vm               # auto: inc when it can\n" +
			"backup-create vm /backups/vm --level diff --disk vda --timeout 600 --verbose",
	}
	c.Domain(&o.dom, "active")
	c.String(&o.dir, "dir", "the repository directory", spec.Req, true).Complete(spec.Dir)
	o.level = "auto"
	c.String(&o.level, "level", "auto (default), full, inc or diff", spec.Named, false).Complete(spec.Nothing)
	c.Argv(&o.disks, "disk", "back up only this disk (target; repeatable)", spec.Named, false).Complete(spec.Disk)
	c.Bool(&o.pull, "pull", "pull mode: read the disks over NBD (a UNIX socket here, TCP from a remote host)")
	c.Bool(&o.compress, "compress", "store the point's data compressed (qcow2 compressed clusters)")
	c.Bool(&o.verbose, "verbose", "show progress on stderr")
	c.Number(&o.timeout, "timeout", "abort the backup after this many seconds", spec.Named, false)
	outputOption(c, env.IO)
	c.Run = env.onDomain(&o.dom, func(ctx context.Context, d *libvirt.Domain) error { return runBackupCreate(ctx, env, c, d, &o) })
	return c
}

// pointView is one point under -o json|yaml.
type pointView struct {
	Point      int        `json:"point" yaml:"point"`
	Time       string     `json:"time" yaml:"time"`
	Level      string     `json:"level" yaml:"level"`
	Parent     int        `json:"parent" yaml:"parent"`
	Checkpoint string     `json:"checkpoint" yaml:"checkpoint"`
	Disks      []diskView `json:"disks" yaml:"disks"`
	State      string     `json:"state" yaml:"state"`
	Why        string     `json:"why,omitempty" yaml:"why,omitempty"`
	Reason     string     `json:"reason,omitempty" yaml:"reason,omitempty"`
	ReadBytes  int64      `json:"read_bytes,omitempty" yaml:"read_bytes,omitempty"`
}

type diskView struct {
	Target   string `json:"target" yaml:"target"`
	Bytes    int64  `json:"bytes" yaml:"bytes"`
	Capacity int64  `json:"capacity" yaml:"capacity"`
}

func viewOf(p *backuprepo.Point) pointView {
	v := pointView{Point: p.N, Time: p.Time.UTC().Format(time.RFC3339), Level: p.Level, Parent: p.Parent,
		Checkpoint: p.Checkpoint, State: p.State, Why: p.Why, Disks: []diskView{}}
	for _, d := range p.Disks {
		v.Disks = append(v.Disks, diskView{Target: d.Target, Bytes: d.Bytes, Capacity: d.Capacity})
	}
	return v
}

// repoDisks is the disks of the domain a repository backs up: every disk
// (not cdrom) with an image, or those --disk names; checkpoints need qcow2.
func repoDisks(def *libvirtxml.Domain, want []string) ([]domain.Disk, error) {
	var out []domain.Disk
	seen := map[string]bool{}
	for _, d := range domain.DisksOf(def) {
		if d.Target == "" || d.Device != "disk" || d.Top().Empty {
			continue
		}
		if len(want) > 0 && !contains(want, d.Target) {
			continue
		}
		if d.Top().Format != "qcow2" {
			if len(want) > 0 {
				return nil, fmt.Errorf("disk '%s' is %s: a backup repository needs qcow2 (its checkpoints are qcow2 bitmaps)", d.Target, d.Top().Format)
			}
			continue
		}
		seen[d.Target] = true
		out = append(out, d)
	}
	for _, w := range want {
		if !seen[w] {
			return nil, fmt.Errorf("domain has no disk '%s'", w)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("domain has no qcow2 disk to back up")
	}
	return out, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func targetsOf(disks []domain.Disk) []string {
	var t []string
	for _, d := range disks {
		t = append(t, d.Target)
	}
	return t
}

func pointTargets(p *backuprepo.Point) []string {
	var t []string
	for _, d := range p.Disks {
		t = append(t, d.Target)
	}
	return t
}

// chainProblem says why an incremental on top of base (the point a new inc
// or diff is taken since) would not be sound, "" when it is: the disks must
// be the same, libvirt must still hold base's checkpoint, and
// checkpoint-check (without asking QEMU:
// libvirt sizes each checkpoint's bitmaps, which fails for a missing or
// broken one) must find nothing wrong with them.
func chainProblem(env *Env, d *libvirt.Domain, r *backuprepo.Repo, base *backuprepo.Point, disks []string) string {
	if base == nil {
		return "the repository holds no point yet"
	}
	if strings.Join(pointTargets(base), ",") != strings.Join(disks, ",") {
		return fmt.Sprintf("the disks differ from point %d's (%s, now %s)", base.N, strings.Join(pointTargets(base), ","), strings.Join(disks, ","))
	}
	// libvirt 9.0 keeps each checkpoint's bitmap recording on its own: a
	// backup since base needs base's checkpoint and no other.
	cp, err := d.CheckpointLookupByName(base.Checkpoint, 0)
	if err != nil {
		return fmt.Sprintf("the domain no longer has point %d's checkpoint '%s'", base.N, base.Checkpoint)
	}
	_ = cp.Free()
	needed := map[string]bool{base.Checkpoint: true}
	v, err := checkCheckpoints(env, d, false)
	if err != nil {
		return "checkpoint-check failed: " + libvirtMessage(err)
	}
	for _, f := range v.Findings {
		if needed[f.Checkpoint] {
			return "checkpoint-check: " + f.Detail
		}
	}
	return ""
}

// libvirtMessage is an error's message without libvirt's code suffix.
func libvirtMessage(err error) string {
	var le libvirt.Error
	if errors.As(err, &le) {
		return le.Message
	}
	return err.Error()
}

func runBackupCreate(ctx context.Context, env *Env, c *spec.Command, d *libvirt.Domain, o *backupCreateOpts) error {
	switch o.level {
	case "auto", backuprepo.Full, backuprepo.Inc, backuprepo.Diff:
	default:
		return fmt.Errorf("unknown backup level '%s': use auto, full, inc or diff", o.level)
	}
	var timeout time.Duration
	if c.Given("timeout") {
		var err error
		if timeout, err = parseJobTimeout(o.timeout); err != nil {
			return err
		}
	}
	if active, err := d.IsActive(); err != nil {
		return err
	} else if !active {
		return errors.New("Requested operation is not valid: domain is not running")
	}
	name, err := d.GetName()
	if err != nil {
		return err
	}
	uuid, err := d.GetUUIDString()
	if err != nil {
		return err
	}
	def, err := defOf(d, 0)
	if err != nil {
		return err
	}
	disks, err := repoDisks(def, o.disks)
	if err != nil {
		return err
	}

	// The repository: made on the first backup, and removed again if that
	// backup fails (it held nothing before).
	var r *backuprepo.Repo
	if backuprepo.Exists(o.dir) {
		if r, err = backuprepo.Open(o.dir, true); err != nil {
			return err
		}
		if r.M.UUID != uuid {
			r.Close()
			return fmt.Errorf("repository '%s' holds backups of domain '%s' (UUID %s), not of '%s'", o.dir, r.M.Domain, r.M.UUID, name)
		}
	} else {
		_, statErr := os.Stat(o.dir)
		if r, err = backuprepo.Create(o.dir, name, uuid); err != nil {
			return err
		}
		dirMade := errors.Is(statErr, os.ErrNotExist)
		defer func() {
			if len(r.M.Points) == 0 {
				_ = os.Remove(filepath.Join(o.dir, ".lock"))
				if dirMade {
					_ = os.Remove(o.dir)
				}
			}
		}()
	}
	defer r.Close()

	if err := dropInterrupted(env, d, r); err != nil {
		return err
	}
	level, reason := o.level, ""
	targets := targetsOf(disks)
	if level == "auto" {
		base, err := r.ParentFor(backuprepo.Inc)
		if err != nil {
			base = nil
		}
		if why := chainProblem(env, d, r, base, targets); why != "" {
			level, reason = backuprepo.Full, why
			if base != nil { // nothing to say on the very first backup
				env.IO.Errorf("auto: taking a full backup: %s\n", why)
			}
		} else {
			level = backuprepo.Inc
		}
	}
	parent, err := r.ParentFor(level)
	if err != nil {
		return err
	}
	if parent != nil {
		if why := chainProblem(env, d, r, parent, targets); why != "" {
			return fmt.Errorf("cannot take a %s backup: %s (take --level full or auto)", level, why)
		}
	}

	n := r.NextN()
	staging, err := r.BeginStaging(n)
	if err != nil {
		return err
	}
	ckpt := r.CheckpointName(n)
	var server *pullServer
	if o.pull {
		if server, err = newPullServer(env, ckpt); err != nil {
			r.AbortStaging(n)
			return err
		}
		defer server.cleanup()
	}
	backupXML := func(parent *backuprepo.Point) (string, string, error) {
		bxml, cxml, err := repoBackupXML(def, disks, staging, parent, ckpt)
		if err == nil && o.pull {
			bxml, err = pullBackupXML(def, disks, server, parent, ckpt)
		}
		return bxml, cxml, err
	}
	bxml, cxml, err := backupXML(parent)
	if err != nil {
		r.AbortStaging(n)
		return err
	}
	fail := func(failure error) error {
		r.AbortStaging(n)
		if err := undoBackup(d, ckpt, nil); err != nil {
			return errors.Join(failure, err)
		}
		return errors.Join(failure, errUnchanged)
	}

	var w *jobWaiter
	if o.pull {
		w = pullJobWaiter(env, d)
	} else {
		w = newJobWaiter(env, d)
	}
	defer w.close()
	err = d.BackupBegin(bxml, cxml, 0)
	// libvirt itself finds a bitmap it cannot use (one that does not
	// record, for one) only now, and starts nothing: auto takes the full.
	var le libvirt.Error
	if err != nil && o.level == "auto" && parent != nil && errors.As(err, &le) && le.Code == libvirt.ERR_CHECKPOINT_INCONSISTENT {
		level, reason, parent = backuprepo.Full, le.Message, nil
		env.IO.Errorf("auto: taking a full backup: %s\n", reason)
		if _, err = r.BeginStaging(n); err == nil {
			if bxml, cxml, err = backupXML(nil); err == nil {
				err = d.BackupBegin(bxml, cxml, 0)
			}
		}
	}
	if err != nil {
		r.AbortStaging(n)
		return err
	}
	env.Sess.Nodes().RefillDomain(d, blocknodes.ReasonCheckpoint)
	var read int64
	var res jobResult
	if o.pull {
		pctx := ctx
		if timeout > 0 {
			var cancel context.CancelFunc
			pctx, cancel = context.WithTimeout(ctx, timeout)
			defer cancel()
		}
		var prog *format.Progress
		if o.verbose {
			prog = format.NewProgress(env.IO.Err, "Backup")
			defer prog.Close()
		}
		var err error
		read, err = runPull(pctx, w, server, r, disks, staging, parent, prog)
		switch {
		case errors.Is(err, errPullAborted):
			res.aborted = true
		case err != nil:
			res.msg = err.Error()
		default:
			res.ok = true
		}
	} else {
		res = w.wait(ctx, timeout, o.verbose)
	}
	if o.verbose {
		env.IO.Errorf("\n") // ends the progress line
	}
	switch {
	case res.err != nil:
		return repoConnectionLost(env, uuid, res.err, func(d2 *libvirt.Domain) error {
			r.AbortStaging(n)
			return undoBackup(d2, ckpt, nil)
		})
	case res.aborted:
		return fail(errors.New("Backup aborted"))
	case !res.ok:
		return fail(msgThenCause("Backup failed", errors.New(res.msg)))
	}

	p := backuprepo.Point{N: n, Checkpoint: ckpt, Time: time.Now().UTC(), Level: level, State: backuprepo.StateUnverified}
	if parent != nil {
		p.Parent = parent.N
	}
	if err := stagePoint(d, &p, staging, disks, o.compress); err != nil {
		return fail(msgThenCause("Backup failed", err))
	}
	if ctx.Err() != nil {
		return fail(errors.New("Backup aborted"))
	}
	if err := r.Commit(p); err != nil {
		return fail(msgThenCause("Backup failed", err))
	}
	pruneCheckpoints(env, d, r)
	if env.IO.Structured() {
		v := viewOf(&p)
		v.Reason, v.ReadBytes = reason, read
		return env.IO.Encode(v)
	}
	var sizes []string
	for _, dk := range p.Disks {
		f, unit := format.PrettyCapacity(uint64(dk.Bytes))
		sizes = append(sizes, fmt.Sprintf("%s %.3f %s", dk.Target, f, unit))
	}
	of := ""
	if parent != nil {
		of = fmt.Sprintf(" since point %d", parent.N)
	}
	env.IO.Extra("Backup point %d (%s%s) complete: %s\n", n, level, of, strings.Join(sizes, ", "))
	if o.pull {
		env.IO.Extra("Read %d bytes over NBD\n", read)
	}
	return nil
}

// dropInterrupted deletes the checkpoints of the repository that no point
// of it holds: a backup-create killed before it could undo its backup
// leaves one, whose name the next point needs (its deletion merges its
// bitmap back; no other checkpoint depends on it).
func dropInterrupted(env *Env, d *libvirt.Domain, r *backuprepo.Repo) error {
	held := map[string]bool{}
	for _, p := range r.M.Points {
		held[p.Checkpoint] = true
	}
	cps, err := d.ListAllCheckpoints(0)
	if err != nil {
		return err
	}
	for i := range cps {
		cp := &cps[i]
		n, err := cp.GetName()
		if err == nil && r.Owns(n) && !held[n] {
			env.IO.Errorf("warning: deleting checkpoint '%s', left by an interrupted backup into this repository\n", n)
			if err := cp.Delete(0); err != nil {
				_ = cp.Free()
				return msgThenCause(fmt.Sprintf("cannot delete checkpoint '%s' of an interrupted backup", n), err)
			}
		}
		_ = cp.Free()
	}
	return nil
}

// pruneCheckpoints deletes the repository's checkpoints that no next
// backup can use (an inc needs the last point's, a diff its full's), so
// that a guest does not carry a recording bitmap per point forever. A
// deleted checkpoint's bitmap is merged into its parent's, which then
// records more than it must, never less. Failures are only said.
func pruneCheckpoints(env *Env, d *libvirt.Domain, r *backuprepo.Repo) {
	last := r.Last()
	keep := map[string]bool{last.Checkpoint: true}
	if full, err := r.FullOf(last); err == nil {
		keep[full.Checkpoint] = true
	}
	for _, p := range r.M.Points {
		if keep[p.Checkpoint] {
			continue
		}
		cp, err := d.CheckpointLookupByName(p.Checkpoint, 0)
		if err != nil {
			continue // gone already
		}
		if err := cp.Delete(0); err != nil {
			env.IO.Errorf("warning: could not delete checkpoint '%s', which the repository no longer needs: %s\n", p.Checkpoint, libvirtMessage(err))
		}
		_ = cp.Free()
	}
}

// errUnchanged ends the message of a backup that failed and was undone.
var errUnchanged = errors.New("the repository and the domain's checkpoints are as they were")

// repoBackupXML is the push backup of the disks into dir, incremental from
// parent's checkpoint when there is one, and the checkpoint ckpt begun with
// it: bitmaps on the backed-up disks, none on the others.
func repoBackupXML(def *libvirtxml.Domain, disks []domain.Disk, dir string, parent *backuprepo.Point, ckpt string) (string, string, error) {
	b := libvirtxml.DomainBackup{Push: &libvirtxml.DomainBackupPush{Disks: &libvirtxml.DomainBackupPushDisks{}}}
	if parent != nil {
		b.Incremental = parent.Checkpoint
	}
	ck := libvirtxml.DomainCheckpoint{Name: ckpt, Disks: &libvirtxml.DomainCheckpointDisks{}}
	wanted := map[string]bool{}
	for _, dk := range disks {
		wanted[dk.Target] = true
		b.Push.Disks.Disks = append(b.Push.Disks.Disks, libvirtxml.DomainBackupPushDisk{
			Name: dk.Target, Backup: "yes",
			Driver: &libvirtxml.DomainBackupDiskDriver{Type: "qcow2"},
			Target: &libvirtxml.DomainDiskSource{File: &libvirtxml.DomainDiskSourceFile{File: filepath.Join(dir, dk.Target+".qcow2")}},
		})
		ck.Disks.Disks = append(ck.Disks.Disks, libvirtxml.DomainCheckpointDisk{Name: dk.Target, Checkpoint: "bitmap"})
	}
	for _, dk := range domain.DisksOf(def) {
		if dk.Target == "" || wanted[dk.Target] || dk.Device != "disk" {
			continue
		}
		b.Push.Disks.Disks = append(b.Push.Disks.Disks, libvirtxml.DomainBackupPushDisk{Name: dk.Target, Backup: "no"})
		ck.Disks.Disks = append(ck.Disks.Disks, libvirtxml.DomainCheckpointDisk{Name: dk.Target, Checkpoint: "no"})
	}
	bxml, err := b.Marshal()
	if err != nil {
		return "", "", err
	}
	cxml, err := ck.Marshal()
	if err != nil {
		return "", "", err
	}
	return bxml, cxml, nil
}

// stagePoint fills p from what the finished backup wrote into staging
// (extents, checksums, sizes; compressed first with compress) and saves the domain and checkpoint XML next
// to the data.
func stagePoint(d *libvirt.Domain, p *backuprepo.Point, staging string, disks []domain.Disk, compress bool) error {
	for _, dk := range disks {
		img := filepath.Join(staging, dk.Target+".qcow2")
		if err := backuprepo.Detach(img); err != nil {
			return err
		}
		if compress {
			if err := backuprepo.Compress(img); err != nil {
				return err
			}
		}
		ext, bytes, err := backuprepo.Scan(img)
		if err != nil {
			return err
		}
		capacity, err := backuprepo.VirtualSize(img)
		if err != nil {
			return err
		}
		p.Disks = append(p.Disks, backuprepo.Disk{Target: dk.Target, File: backuprepo.DiskFile(p.N, dk.Target),
			Capacity: capacity, Bytes: bytes, Extents: ext})
	}
	dxml, err := d.GetXMLDesc(libvirt.DOMAIN_XML_INACTIVE | libvirt.DOMAIN_XML_SECURE)
	if err != nil {
		return err
	}
	if err := backuprepo.WriteFile(filepath.Join(staging, "domain.xml"), []byte(dxml)); err != nil {
		return err
	}
	cp, err := d.CheckpointLookupByName(p.Checkpoint, 0)
	if err != nil {
		return err
	}
	defer cp.Free()
	cxml, err := cp.GetXMLDesc(0)
	if err != nil {
		return err
	}
	return backuprepo.WriteFile(filepath.Join(staging, "checkpoint.xml"), []byte(cxml))
}

// repoConnectionLost ends a backup whose connection dropped (a libvirtd
// restart): on the new connection the job is aborted if it still runs and
// undo removes what the backup made, so the repository stays as it was.
func repoConnectionLost(env *Env, uuid string, lost error, undo func(*libvirt.Domain) error) error {
	failure := errors.New("Backup failed: lost the connection to the hypervisor")
	// The daemon may take a while to come back (a restart): try for 30 s.
	var d *libvirt.Domain
	var err error
	for i := 0; i < 60; i++ {
		if d, err = env.lookupDomain(uuid); err == nil {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	if err != nil {
		return errors.Join(lost, err)
	}
	defer d.Free()
	_ = d.AbortJob()
	for i := 0; i < 300; i++ {
		info, err := d.GetJobStats(0)
		if err != nil || info.Type == libvirt.DOMAIN_JOB_NONE {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := undo(d); err != nil {
		return errors.Join(failure, err)
	}
	return errors.Join(failure, errors.New("the backup was aborted"), errUnchanged)
}
