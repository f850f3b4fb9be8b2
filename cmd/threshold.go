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
	"github.com/virtsh/virtsh/shell/blocknodes"
	"github.com/virtsh/virtsh/shell/domain"
	"github.com/virtsh/virtsh/shell/spec"
)

// domblkthreshold, in virsh's "Domain Monitoring" group, with virtsh's
// additions: a percentage of the layer's capacity, a listing mode without a
// threshold, and --wait for the event.

// thresholdView is one armed threshold (listing mode, -o json|yaml).
type thresholdView struct {
	Dev       string `json:"dev" yaml:"dev"` // vda[2]
	Target    string `json:"target" yaml:"target"`
	Index     uint   `json:"index" yaml:"index"`
	NodeName  string `json:"node_name" yaml:"node_name"`
	Path      string `json:"path" yaml:"path"`
	Threshold uint64 `json:"threshold" yaml:"threshold"`
	Capacity  uint64 `json:"capacity" yaml:"capacity"`
}

// thresholdEventView is what --wait prints with -o json|yaml.
type thresholdEventView struct {
	Domain    string `json:"domain" yaml:"domain"`
	Dev       string `json:"dev" yaml:"dev"`
	NodeName  string `json:"node_name" yaml:"node_name"`
	Path      string `json:"path" yaml:"path"`
	Threshold uint64 `json:"threshold" yaml:"threshold"`
	Excess    uint64 `json:"excess" yaml:"excess"`
}

func newDomblkthresholdCmd(env *Env) *spec.Command {
	var o struct {
		dom, dev, threshold, timeout string
		wait                         bool
	}
	c := &spec.Command{
		Short: "set the threshold for block-threshold event for a given block device or it's backing chain element",
		Long: `set threshold for block-threshold event for a block device

DEV is a disk target (vda: the active layer), a chain element as vda[N] (N is
the index attribute in the live XML, see 'debug node-names'), or a source path.
THRESHOLD is a scaled number (bytes by default: 1G, 512MiB) or, in virtsh, a
percentage of the layer's capacity (80%). The threshold is one-shot: libvirt
clears it when the block-threshold event fires.

Without THRESHOLD, virtsh lists the thresholds in force (all disks, or DEV's).
With --wait, it waits for the event (up to --timeout seconds) and prints it,
with the QEMU node the threshold was on.`,
		Example: "domblkthreshold vm1 vda 1G\ndomblkthreshold vm1 'vda[3]' 80%\ndomblkthreshold vm1\ndomblkthreshold vm1 vda 50% --wait --timeout 600",
	}
	c.Domain(&o.dom, "running")
	f := c.String(&o.dev, "dev", "device to set threshold for", spec.Opt, false)
	f.Complete(spec.Disk)
	c.Number(&o.threshold, "threshold", "threshold as a scaled number (by default bytes), or a percentage of the capacity", spec.Opt, false)
	c.Bool(&o.wait, "wait", "wait for the block-threshold event and print it")
	c.Number(&o.timeout, "timeout", "with --wait, give up after this many seconds", spec.Named, false)
	outputOption(c, env.IO)
	// Arming a threshold changes the guest; listing does not.
	c.MutatingOptions("threshold")
	c.Requires("timeout", "wait")
	c.Run = func(ctx context.Context) error {
		listing := !c.Given("threshold")
		if listing && o.wait {
			return errors.New("Option --wait requires <threshold>")
		}
		timeout, err := optTimeout(c, "timeout", o.timeout)
		if err != nil {
			return err
		}
		if c.Given("dev") && o.dev == "" {
			return errors.New("Failed to get option 'dev': Option argument is empty")
		}
		if !listing {
			if o.dev == "" {
				return errors.New("command 'domblkthreshold' requires <dev> option")
			}
			// Syntax first, before the domain (virsh reads its options
			// before it looks the domain up); the percentage is resolved
			// once the layer's capacity is known.
			if _, _, err := format.ParseScaledOrPercent(o.threshold, 1, math.MaxUint64, 100); err != nil {
				return thresholdErr(o.threshold)
			}
		}
		d, err := env.lookupDomain(o.dom)
		if err != nil {
			return err
		}
		defer func() { _ = d.Free() }()
		if listing {
			return listThresholds(env, d, o.dev)
		}
		cache := env.Sess.Nodes()
		e, err := cache.Get(d)
		if err != nil {
			return nodeErr(err)
		}
		dp, disk, layer, err := findLayer(e, o.dev)
		if err != nil {
			// An index of a disk that is not in its chain may still name an
			// image libvirt tracks outside it (a pull backup's scratch):
			// libvirt decides, with the same message when it does not.
			var ok bool
			if disk, ok = indexOutsideChain(e, dp); !ok {
				return err
			}
			layer = &blocknodes.Layer{Source: domain.Source{Index: dp.Index}}
		}
		bytes, pct, err := format.ParseScaledOrPercent(o.threshold, 1, math.MaxUint64, layer.Capacity)
		if err != nil {
			return thresholdErr(o.threshold)
		}
		if pct && layer.Capacity == 0 {
			return fmt.Errorf("cannot use a percentage: the capacity of '%s' is unknown", o.dev)
		}
		// libvirt takes vda or vda[N]; a path is given as the layer it names.
		dev := o.dev
		if dp.IsPath() {
			dev = layer.Dev(disk.Target)
		}
		var ch chan *domEvent
		var guard *waitGuard
		var ids []int
		conn, err := env.Sess.Conn()
		if err != nil {
			return err
		}
		if o.wait {
			// Registered before the threshold is set, so no crossing is missed.
			ch = make(chan *domEvent, 8)
			env.Sess.StartEventLoop() // the wait returns on this event
			ids, err = registerEvents(conn, d, []string{"block-threshold"}, ch)
			defer func() {
				for _, id := range ids {
					_ = conn.DomainEventDeregister(id)
				}
			}()
			if err != nil {
				return err
			}
			guard = newWaitGuard(env, conn, d)
			defer guard.close()
		}
		if err := d.SetBlockThreshold(dev, bytes, 0); err != nil {
			return err
		}
		if !o.wait {
			return nil
		}
		env.IO.Extra("Waiting for the block-threshold event on %s (%d bytes)\n", dev, bytes)
		return waitThreshold(ctx, env, ch, guard, o.dom, disk.Target, layer, timeout)
	}
	return c
}

func thresholdErr(val string) error {
	if strings.HasSuffix(val, "%") {
		// virtsh's own percentage form: no libvirt parser involved.
		return fmt.Errorf("Scaled numeric value '%s' for <threshold> option is malformed or out of range", val)
	}
	return scaledErr("threshold", val, 1, math.MaxUint64)
}

// findLayer resolves DEV as typed (vda, vda[N], a source path) with the one
// disk-word parser and matcher, shell/domain's. vda[0] names no layer
// (libvirt's indexes start at 1), so it is not found, like an unknown target
// or index.
func findLayer(e *blocknodes.Entry, dev string) (domain.DiskWord, *blocknodes.Disk, *blocknodes.Layer, error) {
	dp, err := domain.ParseDiskWord(dev)
	if err == nil {
		if disk, l, ok := e.Lookup(dp); ok {
			return dp, disk, l, nil
		}
	}
	return dp, nil, nil, fmt.Errorf("invalid argument: failed to find disk '%s'", dev)
}

// indexOutsideChain is the disk a word vda[N] names when the cache knows the
// disk but no layer N of it.
func indexOutsideChain(e *blocknodes.Entry, dp domain.DiskWord) (*blocknodes.Disk, bool) {
	if dp.IsPath() || !dp.HasIndex || dp.Index == 0 {
		return nil, false
	}
	disk := e.Disk(dp.Target)
	return disk, disk != nil
}

// nodeErr words the cache's errors as libvirt would for the same call.
func nodeErr(err error) error { return err }

// waitThreshold waits for the event on target (as "vda" or "vda[N]") and
// prints it with its node name.
func waitThreshold(ctx context.Context, env *Env, ch chan *domEvent, guard *waitGuard, dom, target string, layer *blocknodes.Layer, timeout time.Duration) error {
	var expire <-chan time.Time
	if timeout > 0 {
		t := time.NewTimer(timeout)
		defer t.Stop()
		expire = t.C
	}
	for {
		select {
		case ev := <-ch:
			dev, _ := ev.Details["dev"].(string)
			dp, err := domain.ParseDiskWord(dev)
			if err != nil || dp.Target != target {
				continue
			}
			if dp.HasIndex && dp.Index != layer.Index {
				continue
			}
			annotateThreshold(env, ev)
			node, _ := ev.Details["node_name"].(string)
			path, _ := ev.Details["path"].(string)
			thr, _ := ev.Details["threshold"].(uint64)
			exc, _ := ev.Details["excess"].(uint64)
			if env.IO.Structured() {
				return env.IO.Encode(thresholdEventView{Domain: ev.Domain, Dev: dev, NodeName: node, Path: path, Threshold: thr, Excess: exc})
			}
			env.IO.Printf("%s", ev.text)
			env.IO.Printf("node: %s\n", node)
			return nil
		case <-ctx.Done():
			return errors.New("interrupted while waiting for the block-threshold event")
		case <-expire:
			return errors.New("timed out waiting for the block-threshold event")
		case <-guard.lost:
			if env.Sess.ClosedByPeer() {
				_, _ = env.Sess.Conn() // prints "Reconnected to the hypervisor" on success
			}
			return msgThenCause("Lost the connection while waiting for the block-threshold event",
				fmt.Errorf("The threshold stays armed in QEMU: see it with 'domblkthreshold %s'", dom))
		case <-guard.stopped:
			return fmt.Errorf("Domain '%s' stopped while waiting for the block-threshold event", dom)
		}
	}
}

// listThresholds prints the armed thresholds from bulk stats (through the
// checked cache, which reads them in the same call).
func listThresholds(env *Env, d *libvirt.Domain, dev string) error {
	e, err := env.Sess.Nodes().Get(d)
	if err != nil {
		return nodeErr(err)
	}
	var only *blocknodes.Layer
	onlyTarget := ""
	if dev != "" {
		dp, disk, l, err := findLayer(e, dev)
		if err != nil {
			return err
		}
		onlyTarget = disk.Target
		if dp.IsPath() || dp.HasIndex {
			only = l
		}
	}
	views := []thresholdView{}
	for _, disk := range e.Disks {
		if onlyTarget != "" && disk.Target != onlyTarget {
			continue
		}
		for i := range disk.Chain {
			l := &disk.Chain[i]
			if l.Threshold == 0 || (only != nil && l.Index != only.Index) {
				continue
			}
			views = append(views, thresholdView{Dev: l.Dev(disk.Target), Target: disk.Target, Index: l.Index,
				NodeName: l.StorageNode, Path: l.Name, Threshold: l.Threshold, Capacity: l.Capacity})
		}
	}
	if env.IO.Structured() {
		return env.IO.Encode(views)
	}
	rows := make([][]string, 0, len(views))
	for _, v := range views {
		pct := "-"
		if v.Capacity > 0 {
			pct = strconv.FormatFloat(float64(v.Threshold)*100/float64(v.Capacity), 'f', 1, 64) + "%"
		}
		rows = append(rows, []string{v.Dev, strconv.FormatUint(v.Threshold, 10), pct, v.NodeName, v.Path})
	}
	return format.Table(env.IO.Out, env.IO.Quiet, []string{"Device", "Threshold", "Capacity", "Node", "Source"}, rows)
}
