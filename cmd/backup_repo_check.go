package cmd

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"libvirt.org/go/libvirt"
	"libvirt.org/go/libvirtxml"

	"github.com/virtsh/virtsh/shell/backuprepo"
	"github.com/virtsh/virtsh/shell/blocknodes"
	"github.com/virtsh/virtsh/shell/domain"
	"github.com/virtsh/virtsh/shell/spec"
)

// checkpoint-check, the doctor: libvirt's checkpoint metadata against the
// bitmaps the images hold on every layer of every disk.

// Kinds of finding.
const (
	findMissing  = "missing-bitmap"            // a checkpoint's bitmap is not on its disk's active layer
	findStray    = "bitmap-without-checkpoint" // a bitmap no checkpoint names
	findBroken   = "inconsistent-bitmap"       // stored uncleanly (in-use) or refused by libvirt
	findDisabled = "disabled-bitmap"           // not recording
	findDiskGone = "disk-gone"                 // a checkpoint's disk is no longer the domain's
)

type ckFinding struct {
	Kind       string `json:"kind" yaml:"kind"`
	Checkpoint string `json:"checkpoint,omitempty" yaml:"checkpoint,omitempty"`
	Bitmap     string `json:"bitmap,omitempty" yaml:"bitmap,omitempty"`
	Disk       string `json:"disk,omitempty" yaml:"disk,omitempty"`
	Layer      string `json:"layer,omitempty" yaml:"layer,omitempty"`
	Detail     string `json:"detail" yaml:"detail"`
	Repaired   string `json:"repaired,omitempty" yaml:"repaired,omitempty"`
}

type ckCheckView struct {
	Domain      string      `json:"domain" yaml:"domain"`
	QueriedQEMU bool        `json:"queried_qemu" yaml:"queried_qemu"`
	Findings    []ckFinding `json:"findings" yaml:"findings"`
	NewFull     []string    `json:"new_full_needed" yaml:"new_full_needed"`
}

func newCheckpointCheckCmd(env *Env) *spec.Command {
	var dom string
	var repair bool
	c := &spec.Command{
		Short: "Check a domain's checkpoints against its bitmaps",
		Long: "Compare libvirt's checkpoint metadata with the persistent bitmaps on every layer of every disk and report each " +
			"inconsistency: missing bitmap, bitmap without checkpoint, inconsistent or disabled bitmap, checkpoint whose disk is gone. " +
			"A running guest's lower-layer bitmaps are visible only to QEMU: it is asked once (which marks the guest tainted, said so). " +
			"Exit status 1 when something is found (and, with --repair, left). --repair deletes the broken checkpoints (their metadata; the others keep their bitmaps), " +
			"removes stray bitmaps of a shut-off guest, and names the backup repositories that must start a new full.",
		Example: "checkpoint-check vm\ncheckpoint-check vm --repair -o json",
	}
	c.Domain(&dom, "")
	c.Bool(&repair, "repair", "fix what can be fixed without losing a chain")
	outputOption(c, env.IO)
	c.MutatingOptions("repair")
	c.Run = env.onDomain(&dom, func(ctx context.Context, d *libvirt.Domain) error {
		v, err := checkCheckpoints(env, d, true)
		if err != nil {
			return err
		}
		if repair {
			repairCheckpoints(env, d, v)
		}
		left := 0
		for _, f := range v.Findings {
			if f.Repaired == "" {
				left++
			}
		}
		if env.IO.Structured() {
			if err := env.IO.Encode(v); err != nil {
				return err
			}
		} else {
			for _, f := range v.Findings {
				line := f.Kind + ": " + f.Detail
				if f.Repaired != "" {
					line += " (repaired: " + f.Repaired + ")"
				}
				env.IO.Printf("%s\n", line)
			}
			for _, id := range v.NewFull {
				env.IO.Printf("backup repository %s must start a new full (backup-create --level auto takes one)\n", id)
			}
			if len(v.Findings) == 0 {
				env.IO.Extra("Checkpoints and bitmaps of domain '%s' agree\n", v.Domain)
			}
		}
		if left > 0 {
			return fmt.Errorf("%d checkpoint/bitmap inconsistenc%s in domain '%s'", left, map[bool]string{true: "y", false: "ies"}[left == 1], v.Domain)
		}
		return nil
	})
	return c
}

// layerOf is one layer of a disk and its bitmaps' names and flags.
type layerOf struct {
	name    string
	bitmaps []backuprepo.Bitmap
	flags   bool // the flags are known (read from the file)
}

// diskLayers is every disk's chain with its bitmaps, top first: from the
// image files of a shut-off guest, and from QEMU for a running one (only
// when query; else nil for running guests).
func diskLayers(env *Env, d *libvirt.Domain, def *libvirtxml.Domain, running, query bool) (map[string][]layerOf, error) {
	out := map[string][]layerOf{}
	if running {
		if !query {
			return nil, nil
		}
		e, _, err := env.Sess.Nodes().Verify(d) // prints the taint warning once
		if err != nil {
			return nil, err
		}
		for _, dk := range e.Disks {
			for _, l := range dk.Chain {
				lo := layerOf{name: l.Source.Name + " (" + l.FormatNode + ")"}
				for _, b := range l.Bitmaps {
					lo.bitmaps = append(lo.bitmaps, backuprepo.Bitmap{Name: b})
				}
				out[dk.Target] = append(out[dk.Target], lo)
			}
		}
		return out, nil
	}
	for _, dk := range domain.DisksOf(def) {
		top := dk.Top()
		if dk.Target == "" || top.Empty || top.Kind != "file" || top.Format != "qcow2" {
			continue
		}
		layers, err := backuprepo.ChainBitmaps(top.Name)
		if err != nil {
			return nil, err
		}
		for _, l := range layers {
			out[dk.Target] = append(out[dk.Target], layerOf{name: l.Image, bitmaps: l.Bitmaps, flags: true})
		}
	}
	return out, nil
}

// checkCheckpoints finds every inconsistency between the checkpoints and
// the bitmaps. Without query a running guest's bitmaps are judged by
// libvirt alone (checkpoint-dumpxml --size, no taint): what backup-create
// --level auto uses.
func checkCheckpoints(env *Env, d *libvirt.Domain, query bool) (*ckCheckView, error) {
	name, err := d.GetName()
	if err != nil {
		return nil, err
	}
	running, err := d.IsActive()
	if err != nil {
		return nil, err
	}
	def, err := defOf(d, 0)
	if err != nil {
		return nil, err
	}
	v := &ckCheckView{Domain: name, Findings: []ckFinding{}, NewFull: []string{}}
	layers, err := diskLayers(env, d, def, running, query)
	if err != nil {
		return nil, err
	}
	v.QueriedQEMU = running && query
	disks := map[string]bool{}
	for _, dk := range domain.DisksOf(def) {
		disks[dk.Target] = true
	}
	cps, err := d.ListAllCheckpoints(0)
	if err != nil {
		return nil, err
	}
	names := map[string]bool{}
	type ckDisk struct{ ck, disk, bitmap string }
	var want []ckDisk
	var cpNames []string
	byName := map[string]*libvirt.DomainCheckpoint{}
	for i := range cps {
		cp := &cps[i]
		defer cp.Free()
		n, err := cp.GetName()
		if err != nil {
			return nil, err
		}
		x, err := cp.GetXMLDesc(0)
		if err != nil {
			return nil, err
		}
		var ck libvirtxml.DomainCheckpoint
		if err := ck.Unmarshal(x); err != nil {
			return nil, err
		}
		names[n] = true
		cpNames = append(cpNames, n)
		byName[n] = cp
		if ck.Disks == nil {
			continue
		}
		for _, dk := range ck.Disks.Disks {
			if dk.Checkpoint == "no" {
				continue
			}
			bm := dk.Bitmap
			if bm == "" {
				bm = n
			}
			names[bm] = true
			want = append(want, ckDisk{n, dk.Name, bm})
		}
	}
	sort.Strings(cpNames)
	bad := map[string]bool{}
	for _, w := range want {
		if !disks[w.disk] {
			v.Findings = append(v.Findings, ckFinding{Kind: findDiskGone, Checkpoint: w.ck, Disk: w.disk,
				Detail: fmt.Sprintf("checkpoint '%s' has a bitmap on disk %s, which the domain no longer has", w.ck, w.disk)})
			bad[w.ck] = true
			continue
		}
		ls, known := layers[w.disk]
		if !known || len(ls) == 0 {
			continue // a running guest not queried: libvirt judges below
		}
		top := ls[0]
		var found *backuprepo.Bitmap
		for i := range top.bitmaps {
			if top.bitmaps[i].Name == w.bitmap {
				found = &top.bitmaps[i]
			}
		}
		f := ckFinding{Checkpoint: w.ck, Bitmap: w.bitmap, Disk: w.disk, Layer: top.name}
		switch {
		case found == nil:
			f.Kind, f.Detail = findMissing, fmt.Sprintf("checkpoint '%s': disk %s: no bitmap '%s' on the active layer %s", w.ck, w.disk, w.bitmap, top.name)
		case top.flags && found.Has("in-use") && !running:
			f.Kind, f.Detail = findBroken, fmt.Sprintf("checkpoint '%s': disk %s: bitmap '%s' on %s was not stored cleanly (in-use)", w.ck, w.disk, w.bitmap, top.name)
		case top.flags && !found.Has("auto"):
			f.Kind, f.Detail = findDisabled, fmt.Sprintf("checkpoint '%s': disk %s: bitmap '%s' on %s does not record (disabled)", w.ck, w.disk, w.bitmap, top.name)
		default:
			continue
		}
		bad[w.ck] = true
		v.Findings = append(v.Findings, f)
	}
	// A running guest: libvirt merges and sizes each checkpoint's bitmaps
	// in QEMU, and refuses ones it cannot use.
	if running {
		for _, n := range cpNames {
			if bad[n] {
				continue
			}
			if _, err := byName[n].GetXMLDesc(libvirt.DOMAIN_CHECKPOINT_XML_SIZE); err != nil {
				v.Findings = append(v.Findings, ckFinding{Kind: findBroken, Checkpoint: n,
					Detail: fmt.Sprintf("checkpoint '%s': %s", n, libvirtMessage(err))})
				bad[n] = true
			}
		}
	}
	var targets []string
	for t := range layers {
		targets = append(targets, t)
	}
	sort.Strings(targets)
	for _, t := range targets {
		for _, l := range layers[t] {
			for _, b := range l.bitmaps {
				if !names[b.Name] {
					v.Findings = append(v.Findings, ckFinding{Kind: findStray, Bitmap: b.Name, Disk: t, Layer: l.name,
						Detail: fmt.Sprintf("disk %s: bitmap '%s' on %s belongs to no checkpoint", t, b.Name, l.name)})
				}
			}
		}
	}
	return v, nil
}

// repairCheckpoints fixes what can be fixed without losing a chain: a
// broken checkpoint's metadata goes (libvirt keeps every other checkpoint's
// bitmap recording on its own, so no other checkpoint depends on it), and so
// do bitmaps no checkpoint names, from a shut-off guest's images. The
// repositories whose checkpoints went are named: their next inc needs a
// full.
func repairCheckpoints(env *Env, d *libvirt.Domain, v *ckCheckView) {
	running, _ := d.IsActive()
	needFull := map[string]bool{}
	deleted := map[string]string{}
	for i := range v.Findings {
		f := &v.Findings[i]
		if f.Checkpoint == "" {
			continue
		}
		if how, done := deleted[f.Checkpoint]; done {
			f.Repaired = how
			continue
		}
		cp, err := d.CheckpointLookupByName(f.Checkpoint, 0)
		if err != nil {
			continue
		}
		// A running guest's libvirt removes the bitmaps it still can
		// (a checkpoint whose disk is gone keeps one on the others);
		// where that fails, and for a shut-off guest (libvirt 9.0 cannot
		// delete its checkpoints), the metadata goes alone.
		err = errors.New("shut off")
		if running {
			err = cp.Delete(0)
		}
		if err != nil {
			err = cp.Delete(libvirt.DOMAIN_CHECKPOINT_DELETE_METADATA_ONLY)
		}
		_ = cp.Free()
		if err != nil {
			env.IO.Errorf("error: deleting checkpoint '%s': %s\n", f.Checkpoint, libvirtMessage(err))
			continue
		}
		how := "checkpoint deleted"
		// What is left of its bitmap on a shut-off guest's active layer.
		if !running && f.Kind != findMissing && f.Kind != findDiskGone && f.Layer != "" {
			if err := backuprepo.RemoveBitmap(f.Layer, f.Bitmap); err == nil {
				how += ", bitmap removed"
			}
		}
		deleted[f.Checkpoint], f.Repaired = how, how
		if id, ok := backuprepo.IsRepoCheckpoint(f.Checkpoint); ok {
			needFull[id] = true
		}
	}
	// What is left of the deleted checkpoints' bitmaps on a shut-off
	// guest's other layers is stray now: removed below with the rest.
	if !running && len(deleted) > 0 {
		if again, err := checkCheckpoints(env, d, true); err == nil {
			for _, f := range again.Findings {
				if _, ours := deleted[f.Bitmap]; ours && f.Kind == findStray {
					if err := backuprepo.RemoveBitmap(f.Layer, f.Bitmap); err != nil {
						env.IO.Errorf("error: %s\n", strings.TrimSpace(err.Error()))
					}
				}
			}
		}
	}
	for i := range v.Findings {
		f := &v.Findings[i]
		if f.Kind != findStray {
			continue
		}
		if running {
			f.Detail += "; stop the guest and run checkpoint-check --repair again to remove it"
			continue
		}
		if err := backuprepo.RemoveBitmap(f.Layer, f.Bitmap); err != nil {
			env.IO.Errorf("error: %s\n", strings.TrimSpace(err.Error()))
			continue
		}
		f.Repaired = "bitmap removed"
	}
	if len(deleted) > 0 {
		env.Sess.Nodes().RefillDomain(d, blocknodes.ReasonCheckpoint)
	}
	for id := range needFull {
		v.NewFull = append(v.NewFull, id)
	}
	sort.Strings(v.NewFull)
}
