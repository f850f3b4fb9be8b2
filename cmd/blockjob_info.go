package cmd

import (
	"context"
	"errors"
	"fmt"
	"math"

	"libvirt.org/go/libvirt"

	"github.com/virtsh/virtsh/format"
	"github.com/virtsh/virtsh/shell/domain"
	"github.com/virtsh/virtsh/shell/spec"
)

// Block job types (DOMAIN_BLOCK_JOB_TYPE_*, by value): virsh's labels (its
// virshDomainBlockJob enum) and virtsh's names for -o.
var (
	blockJobLabels = []string{"Unknown job", "Block Pull", "Block Copy", "Block Commit", "Active Block Commit", "Backup"}
	blockJobNames  = []string{"unknown", "pull", "copy", "commit", "active_commit", "backup"}
)

func blockJobTypeLabel(t libvirt.DomainBlockJobType) string {
	return label(blockJobLabels, int(t), "Unknown job")
}

func blockJobTypeName(t libvirt.DomainBlockJobType) string {
	return label(blockJobNames, int(t), "unknown")
}

// blockJobView is one disk's job for -o json|yaml.
type blockJobView struct {
	Disk           string `json:"disk" yaml:"disk"`
	Job            string `json:"job" yaml:"job"`
	Cur            uint64 `json:"cur" yaml:"cur"`
	End            uint64 `json:"end" yaml:"end"`
	BandwidthBytes uint64 `json:"bandwidth_bytes_per_second" yaml:"bandwidth_bytes_per_second"`
}

func newBlockJobCmd(env *Env) *spec.Command {
	var o struct {
		dom, path, bandwidth                  string
		abort, async, pivot, info, bytes, raw bool
	}
	c := &spec.Command{Short: "Manage active block operations", Long: "Query, adjust speed, or cancel active block operations.\n\nWithout <path>, virtsh lists the jobs of every disk (virsh requires a path).", Example: "  blockjob vm1 vda --info\n  blockjob vm1 vda --bandwidth 10\n  blockjob vm1 vda --abort\n  blockjob vm1"}
	c.Domain(&o.dom, "running")
	// Every action of blockjob needs a job on the disk: the completer offers
	// only disks that have one (virsh offers every disk target).
	c.String(&o.path, "path", "fully-qualified path of disk", spec.Opt, false).Complete(spec.BlockJob)
	c.Bool(&o.abort, "abort", "abort the active job on the specified disk")
	c.Bool(&o.async, "async", "implies --abort; request but don't wait for job end")
	c.Bool(&o.pivot, "pivot", "implies --abort; conclude and pivot a copy or commit job")
	c.Bool(&o.info, "info", "get active job information for the specified disk")
	c.Bool(&o.bytes, "bytes", "get/set bandwidth in bytes rather than MiB/s")
	c.Bool(&o.raw, "raw", "implies --info; output details rather than human summary")
	c.Number(&o.bandwidth, "bandwidth", "set the bandwidth limit in MiB/s", spec.Unwanted, false)
	outputOption(c, env.IO)
	// Listing and --info are read-only (virsh -r blockjob --info works);
	// only the control flags are refused on a read-only connection.
	c.MutatingOptions("abort", "async", "pivot", "bandwidth")
	for _, ex := range [][2]string{{"raw", "abort"}, {"raw", "pivot"}, {"raw", "async"}, {"raw", "bandwidth"},
		{"info", "abort"}, {"info", "pivot"}, {"info", "async"}, {"info", "bandwidth"},
		{"bytes", "abort"}, {"bytes", "pivot"}, {"bytes", "async"}} {
		c.Exclusive(ex[0], ex[1])
	}
	c.Hosts, c.HostsWhen = spec.EachHost, "info" // on every host only with --info
	c.Run = func(ctx context.Context) error {
		bandwidth := c.Given("bandwidth")
		dom, err := env.lookupDomain(o.dom)
		if err != nil {
			return err
		}
		defer dom.Free()
		if !c.Given("path") {
			if bandwidth || o.abort || o.pivot || o.async {
				return errors.New("command 'blockjob' requires <path> option")
			}
			return listBlockJobs(env, dom)
		}
		switch {
		case bandwidth:
			bw, err := parseBandwidth(o.bandwidth, o.bytes)
			if err != nil {
				return err
			}
			var flags libvirt.DomainBlockJobSetSpeedFlags
			if o.bytes {
				flags |= libvirt.DOMAIN_BLOCK_JOB_SPEED_BANDWIDTH_BYTES
			}
			return dom.BlockJobSetSpeed(o.path, bw, flags)
		case o.abort || o.pivot || o.async:
			flags := flagsOf([]flagIf[libvirt.DomainBlockJobAbortFlags]{
				{o.async, libvirt.DOMAIN_BLOCK_JOB_ABORT_ASYNC}, {o.pivot, libvirt.DOMAIN_BLOCK_JOB_ABORT_PIVOT},
			})
			return dom.BlockJobAbort(o.path, flags)
		}
		return blockJobInfo(env, dom, o.path, o.raw, o.bytes)
	}
	return c
}

// blockJobInfo is virsh's virshBlockJobInfo: bandwidth asked in bytes/s
// unless --raw without --bytes (then MiB/s, as virsh's raw output shows).
func blockJobInfo(env *Env, dom *libvirt.Domain, path string, raw, bytes bool) error {
	var flags libvirt.DomainBlockJobInfoFlags
	if bytes || !raw {
		flags |= libvirt.DOMAIN_BLOCK_JOB_INFO_BANDWIDTH_BYTES
	}
	info, err := dom.GetBlockJobInfo(path, flags)
	if err != nil {
		return err
	}
	if env.IO.Structured() {
		views := []blockJobView{}
		if info.Type != 0 {
			v := blockJobView{Disk: path, Job: blockJobTypeName(info.Type), Cur: info.Cur, End: info.End, BandwidthBytes: info.Bandwidth}
			if flags == 0 {
				v.BandwidthBytes = info.Bandwidth << 20
			}
			views = append(views, v)
		}
		return env.IO.Encode(views)
	}
	if info.Type == 0 {
		if !raw {
			env.IO.Extra("No current block job for %s", path)
		}
		return nil
	}
	if raw {
		env.IO.Printf(" type=%s\n bandwidth=%d\n cur=%d\n end=%d\n", blockJobTypeLabel(info.Type), info.Bandwidth, info.Cur, info.End)
		return nil
	}
	env.IO.Errorf("%s", format.VirshProgressLine(blockJobTypeLabel(info.Type), info.Cur, info.End))
	if info.Bandwidth != 0 {
		v, unit := format.PrettyCapacity(info.Bandwidth)
		env.IO.Printf("    Bandwidth limit: %d bytes/s (%-.3f %s/s)", info.Bandwidth, v, unit)
	}
	env.IO.Printf("\n")
	return nil
}

// listBlockJobs is virtsh's `blockjob DOMAIN`: the job of every disk.
func listBlockJobs(env *Env, dom *libvirt.Domain) error {
	disks, err := domain.LiveDisks(dom)
	if err != nil {
		return err
	}
	views := []blockJobView{}
	for _, d := range disks {
		info, err := dom.GetBlockJobInfo(d.Target, libvirt.DOMAIN_BLOCK_JOB_INFO_BANDWIDTH_BYTES)
		if err != nil || info.Type == 0 {
			continue
		}
		views = append(views, blockJobView{Disk: d.Target, Job: blockJobTypeName(info.Type), Cur: info.Cur, End: info.End, BandwidthBytes: info.Bandwidth})
	}
	if env.IO.Structured() {
		return env.IO.Encode(views)
	}
	if len(views) == 0 {
		env.IO.Extra("No current block jobs")
		return nil
	}
	rows := make([][]string, 0, len(views))
	for _, v := range views {
		rows = append(rows, []string{v.Disk, blockJobTypeLabel(jobTypeOf(v.Job)), fmt.Sprintf("%d %%", format.VirshPercent(v.Cur, v.End)),
			fmt.Sprintf("%d/%d", v.Cur, v.End), bandwidthText(v.BandwidthBytes)})
	}
	format.Table(env.IO.Out, env.IO.Quiet, []string{"Disk", "Job", "Progress", "Bytes", "Bandwidth"}, rows)
	return nil
}

func jobTypeOf(name string) libvirt.DomainBlockJobType {
	for t := libvirt.DomainBlockJobType(0); t <= libvirt.DOMAIN_BLOCK_JOB_TYPE_BACKUP; t++ {
		if blockJobTypeName(t) == name {
			return t
		}
	}
	return 0
}

func bandwidthText(b uint64) string {
	if b == 0 {
		return "unlimited"
	}
	v, unit := format.PrettyCapacity(b)
	return fmt.Sprintf("%.3f %s/s", v, unit)
}

func newBlockResizeCmd(env *Env) *spec.Command {
	var o struct{ dom, path, size string }
	c := &spec.Command{Short: "Resize block device of domain.", Long: "Resize block device of domain.", Example: "  blockresize vm1 vda 2G"}
	c.Domain(&o.dom, "running")
	diskOpt(c, &o.path, "Fully-qualified path of block device")
	c.Number(&o.size, "size", "New size of the block device, as scaled integer (default KiB)", spec.Req, true)
	c.Run = func(ctx context.Context) error {
		size, err := format.ParseScaled(o.size, 1024, math.MaxUint64)
		if err != nil {
			return scaledErr("size", o.size, 1024, math.MaxUint64)
		}
		var flags libvirt.DomainBlockResizeFlags
		if size%1024 == 0 {
			size /= 1024 // virsh prefers the older KiB interface
		} else {
			flags |= libvirt.DOMAIN_BLOCK_RESIZE_BYTES
		}
		dom, err := env.lookupDomain(o.dom)
		if err != nil {
			return err
		}
		defer dom.Free()
		if err := dom.BlockResize(o.path, size, flags); err != nil {
			return msgThenCause(fmt.Sprintf("Failed to resize block device '%s'", o.path), err)
		}
		env.IO.Extra("Block device '%s' is resized", o.path)
		return nil
	}
	return c
}
