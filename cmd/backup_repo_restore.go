package cmd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"libvirt.org/go/libvirtxml"

	"github.com/virtsh/virtsh/format"
	"github.com/virtsh/virtsh/shell/backuprepo"
	"github.com/virtsh/virtsh/shell/spec"
)

// backup-list, backup-restore and backup-verify: they read a repository
// (verify also records what it found) and need no guest.

func newBackupListCmd(env *Env) *spec.Command {
	var dir string
	c := &spec.Command{
		Short:   "List the points of a backup repository",
		Long:    "List the chain a backup repository holds: point, time, level, checkpoint, bytes per disk and state (ok: verified; unverified; broken: a verify failed or a point it needs is broken).",
		Example: "backup-list /backups/vm\nbackup-list /backups/vm -o json",
	}
	c.String(&dir, "dir", "the repository directory", spec.Req, true).Complete(spec.Dir)
	outputOption(c, env.IO)
	c.Run = func(ctx context.Context) error {
		r, err := backuprepo.Open(dir, false)
		if err != nil {
			return err
		}
		if env.IO.Structured() {
			v := []pointView{}
			for i := range r.M.Points {
				v = append(v, viewOf(&r.M.Points[i]))
			}
			return env.IO.Encode(v)
		}
		header := []string{"Point", "Time", "Level", "Checkpoint", "Disks", "State"}
		var rows [][]string
		for _, p := range r.M.Points {
			level := p.Level
			if p.Parent != 0 {
				level += fmt.Sprintf(" (of %d)", p.Parent)
			}
			var sizes []string
			for _, d := range p.Disks {
				f, unit := format.PrettyCapacity(uint64(d.Bytes))
				sizes = append(sizes, fmt.Sprintf("%s=%.3f %s", d.Target, f, unit))
			}
			rows = append(rows, []string{strconv.Itoa(p.N), p.Time.Local().Format("2006-01-02 15:04:05 -0700"), level,
				p.Checkpoint, strings.Join(sizes, " "), p.State})
		}
		return format.Table(env.IO.Out, env.IO.Quiet, header, rows)
	}
	return c
}

type restoreOpts struct {
	dir, point, out, define string
	keepChain, verbose      bool
}

// restoredView is backup-restore under -o json|yaml.
type restoredView struct {
	Point  int                `json:"point" yaml:"point"`
	Disks  []restoredDiskView `json:"disks" yaml:"disks"`
	Domain string             `json:"domain,omitempty" yaml:"domain,omitempty"`
}

type restoredDiskView struct {
	Target string   `json:"target" yaml:"target"`
	Path   string   `json:"path" yaml:"path"`
	Chain  []string `json:"chain,omitempty" yaml:"chain,omitempty"`
}

func newBackupRestoreCmd(env *Env) *spec.Command {
	var o restoreOpts
	c := &spec.Command{
		Short: "Restore the disks of a backup point",
		Long: "Rebuild each disk as of a point (the latest by default) into OUT/<target>.qcow2: one flattened image each, " +
			"or with --keep-chain a chain of the points' images; with --define, define a new domain from the saved XML on them (new name, new UUID).",
		Example: "backup-restore /backups/vm --target-dir /var/lib/libvirt/images/restored\n" +
			"backup-restore /backups/vm --point 3 --target-dir /tmp/vm3 --define vm-restored",
	}
	c.String(&o.dir, "dir", "the repository directory", spec.Req, true).Complete(spec.Dir)
	c.String(&o.point, "point", "the point (number or checkpoint name; default: the latest)", spec.Named, false).Complete(spec.Nothing)
	c.String(&o.out, "target-dir", "directory for the restored images", spec.Named, true).Complete(spec.Dir)
	c.String(&o.define, "define", "define a domain of this name on the restored images", spec.Named, false).Complete(spec.Nothing)
	c.Bool(&o.keepChain, "keep-chain", "keep the chain of point images (top OUT/<target>.qcow2) instead of flattening")
	c.Bool(&o.verbose, "verbose", "say each step on stderr")
	outputOption(c, env.IO)
	c.MutatingOptions("define")
	c.Run = func(ctx context.Context) error { return runBackupRestore(ctx, env, &o) }
	return c
}

func runBackupRestore(ctx context.Context, env *Env, o *restoreOpts) error {
	r, err := backuprepo.Open(o.dir, false)
	if err != nil {
		return err
	}
	p, err := r.Point(o.point)
	if err != nil {
		return err
	}
	chain, err := r.Chain(p)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return err
	}
	out, err := filepath.Abs(o.out)
	if err != nil {
		return err
	}
	for _, d := range p.Disks {
		if path := filepath.Join(out, d.Target+".qcow2"); exists(path) {
			return fmt.Errorf("restore target '%s' already exists", path)
		}
	}
	// Whatever this call wrote goes again if it fails.
	var written []string
	fail := func(err error) error {
		for _, f := range written {
			_ = os.Remove(f)
		}
		return err
	}
	view := restoredView{Point: p.N}
	paths := map[string]string{}
	for _, d := range p.Disks {
		if ctx.Err() != nil {
			return fail(errors.New("Restore aborted"))
		}
		files, err := r.DiskChain(chain, d.Target)
		if err != nil {
			return fail(err)
		}
		dst := filepath.Join(out, d.Target+".qcow2")
		if o.verbose {
			env.IO.Errorf("Restoring %s as of point %d from %d point(s) into %s\n", d.Target, p.N, len(files), dst)
		}
		dv := restoredDiskView{Target: d.Target, Path: dst}
		if o.keepChain {
			made, err := backuprepo.CopyChain(files, dst)
			written = append(written, made...)
			if err != nil {
				return fail(err)
			}
			dv.Chain = made
		} else {
			written = append(written, dst)
			if err := backuprepo.Flatten(files, dst); err != nil {
				return fail(err)
			}
		}
		paths[d.Target] = dst
		view.Disks = append(view.Disks, dv)
	}
	if o.define != "" {
		if err := defineRestored(env, r, p, paths, o.define); err != nil {
			return fail(err)
		}
		view.Domain = o.define
	}
	if env.IO.Structured() {
		return env.IO.Encode(view)
	}
	env.IO.Extra("Restored point %d into %s\n", p.N, out)
	if o.define != "" {
		env.IO.Extra("Domain '%s' defined from the point's XML\n", o.define)
	}
	return nil
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

// defineRestored defines a domain from point p's saved XML with a new name
// and UUID, its backed-up disks on the restored images; disks the point
// holds no data for are left out (they would share the original's), and so
// are MAC addresses (libvirt makes new ones).
func defineRestored(env *Env, r *backuprepo.Repo, p *backuprepo.Point, paths map[string]string, name string) error {
	doc, err := os.ReadFile(filepath.Join(r.PointDir(p.N), "domain.xml"))
	if err != nil {
		return err
	}
	var def libvirtxml.Domain
	if err := def.Unmarshal(string(doc)); err != nil {
		return err
	}
	def.Name, def.UUID, def.ID = name, "", nil
	if def.Devices != nil {
		var keep []libvirtxml.DomainDisk
		for _, d := range def.Devices.Disks {
			if d.Target == nil {
				continue
			}
			path, ok := paths[d.Target.Dev]
			if !ok {
				if d.Device == "cdrom" || d.Device == "floppy" {
					keep = append(keep, d)
				} else {
					env.IO.Errorf("warning: disk %s is not in the backup: left out of domain '%s'\n", d.Target.Dev, name)
				}
				continue
			}
			d.Source = &libvirtxml.DomainDiskSource{File: &libvirtxml.DomainDiskSourceFile{File: path}}
			d.BackingStore = nil
			if d.Driver == nil {
				d.Driver = &libvirtxml.DomainDiskDriver{Name: "qemu"}
			}
			d.Driver.Type = "qcow2"
			keep = append(keep, d)
		}
		def.Devices.Disks = keep
		for i := range def.Devices.Interfaces {
			def.Devices.Interfaces[i].MAC = nil
		}
	}
	x, err := def.Marshal()
	if err != nil {
		return err
	}
	conn, err := env.Sess.Conn()
	if err != nil {
		return err
	}
	dom, err := conn.DomainDefineXML(x)
	if err != nil {
		return err
	}
	return dom.Free()
}

func newBackupVerifyCmd(env *Env) *spec.Command {
	var dir, point string
	c := &spec.Command{
		Short: "Verify the data of a backup repository",
		Long: "Re-read every data file of the repository (or of the points a point needs) and check each recorded checksum; " +
			"name the first bad extent's point, disk and offset, and record the points' states (see backup-list).",
		Example: "backup-verify /backups/vm\nbackup-verify /backups/vm --point 3",
	}
	c.String(&dir, "dir", "the repository directory", spec.Req, true).Complete(spec.Dir)
	c.String(&point, "point", "verify only the points this one needs (number or checkpoint name)", spec.Named, false).Complete(spec.Nothing)
	outputOption(c, env.IO)
	c.Run = func(ctx context.Context) error { return runBackupVerify(ctx, env, dir, point) }
	return c
}

// backupVerifyView is backup-verify under -o json|yaml.
type backupVerifyView struct {
	OK     bool                    `json:"ok" yaml:"ok"`
	Points []backupVerifyPointView `json:"points" yaml:"points"`
}

type backupVerifyPointView struct {
	Point  int    `json:"point" yaml:"point"`
	State  string `json:"state" yaml:"state"`
	Disk   string `json:"disk,omitempty" yaml:"disk,omitempty"`
	Offset *int64 `json:"offset,omitempty" yaml:"offset,omitempty"`
	Why    string `json:"why,omitempty" yaml:"why,omitempty"`
}

func runBackupVerify(ctx context.Context, env *Env, dir, point string) error {
	r, err := backuprepo.Open(dir, true)
	if err != nil {
		return err
	}
	defer r.Close()
	todo := []*backuprepo.Point{}
	if point != "" {
		p, err := r.Point(point)
		if err != nil {
			return err
		}
		if todo, err = r.Chain(p); err != nil {
			return err
		}
	} else {
		for i := range r.M.Points {
			todo = append(todo, &r.M.Points[i])
		}
	}
	verified, bad := map[int]bool{}, map[int]string{}
	var first *backuprepo.Mismatch
	view := backupVerifyView{OK: true, Points: []backupVerifyPointView{}}
	for _, p := range todo {
		if ctx.Err() != nil {
			return errors.New("Verify aborted")
		}
		pv := backupVerifyPointView{Point: p.N, State: backuprepo.StateOK}
		for i := range p.Disks {
			if m := r.VerifyDisk(p, &p.Disks[i]); m != nil {
				bad[p.N] = m.Error()
				off := m.Offset
				pv = backupVerifyPointView{Point: p.N, State: backuprepo.StateBroken, Disk: m.Disk, Offset: &off, Why: m.Why}
				if first == nil {
					first = m
				}
				break
			}
		}
		if _, isBad := bad[p.N]; !isBad {
			verified[p.N] = true
		}
		view.Points = append(view.Points, pv)
	}
	r.MarkStates(verified, bad)
	saveErr := r.Save()
	view.OK = first == nil
	if env.IO.Structured() {
		if err := env.IO.Encode(view); err != nil {
			return err
		}
	} else {
		for _, pv := range view.Points {
			if pv.State == backuprepo.StateOK {
				env.IO.Extra("Point %d: ok\n", pv.Point)
			} else {
				env.IO.Printf("Point %d: broken: disk %s, offset %d: %s\n", pv.Point, pv.Disk, *pv.Offset, pv.Why)
			}
		}
	}
	if first != nil {
		return errors.Join(fmt.Errorf("backup verification failed: %s", first.Error()), saveErr)
	}
	return saveErr
}
