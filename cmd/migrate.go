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
	"libvirt.org/go/libvirtxml"

	"github.com/virtsh/virtsh/format"
	"github.com/virtsh/virtsh/shell"
	"github.com/virtsh/virtsh/shell/blocknodes"
	"github.com/virtsh/virtsh/shell/domain"
	"github.com/virtsh/virtsh/shell/fleet"
	"github.com/virtsh/virtsh/shell/spec"
)

// Migration (virsh-domain.c, "Domain Management"): migrate and the commands
// that tune a migration under way, migrate-getspeed, migrate-setspeed,
// migrate-getmaxdowntime and migrate-setmaxdowntime.
//
// migrate is one synchronous libvirt call (virDomainMigrate3 with a
// connection to the destination, or virDomainMigrateToURI3 for a
// peer-to-peer or direct migration, where the source daemon connects), which
// runs the source's domain job for as long as the guest's memory (and, with
// --copy-storage-*, its disks) takes to move. As for save, virsh makes the
// call on a thread and follows the job (virshWatchJob); virtsh does it in
// watchDomainJobTimeout: --verbose draws the job's data position (a bar on a
// terminal, virsh's "\rMigration: [ 42 %]" elsewhere), Ctrl-C aborts the
// job (the guest keeps running on the source), --timeout suspends the guest
// or switches to post-copy. DESTURI may be a libvirt.conf uri_aliases name,
// resolved by the client as the fleet resolves host names.

// migrateOpts are migrate's options, in virsh 9.0's order.
type migrateOpts struct {
	dom, desturi string

	live, offline, p2p, direct, tunnelled, persistent, undefineSource, suspend bool
	copyAll, copyInc, copySync, changeProtection, unsafe, verbose, compressed  bool
	autoConverge, rdmaPinAll, abortOnError, postcopy, postcopyAfter            bool
	postcopyResume, zerocopy                                                   bool

	migrateURI, graphicsURI, listenAddress, dname, timeout string
	timeoutSuspend, timeoutPostcopy                        bool
	xml, migrateDisks, disksPort, disksURI, compMethods    string
	compMTLevel, compMTThreads, compMTDThreads, compXBZRLE string
	acInitial, acIncrement, persistentXML                  string
	tls                                                    bool
	postcopyBandwidth                                      string
	parallel                                               bool
	parallelConns, bandwidth, tlsDestination               string
	checkpoints                                            bool // virtsh's
}

func newMigrateCmd(env *Env) *spec.Command {
	var o migrateOpts
	c := &spec.Command{Short: "migrate domain to another host",
		Long: "Migrate domain to another host.  Add --live for live migration."}
	c.Example = "migrate vm1 qemu+ssh://h2/system --live --persistent --undefinesource --verbose\n" +
		"migrate vm1 h2 --live --p2p --verbose          # h2: a uri_aliases name in libvirt.conf\n" +
		"migrate vm1 qemu+tcp://10.0.0.2/system --live --migrateuri tcp://10.0.0.2 --bandwidth 100 --timeout 60 --timeout-postcopy --postcopy\n" +
		"migrate vm1 h2 --live --auto-converge --compressed --dname vm1-moved --xml vm1-dest.xml"
	c.Domain(&o.dom, "")
	c.String(&o.desturi, "desturi", "connection URI of the destination host as seen from the client(normal migration) or source(p2p migration)", spec.Req, true).Complete(spec.URI)
	for _, b := range []struct {
		p          *bool
		name, help string
	}{
		{&o.live, "live", "live migration"},
		{&o.offline, "offline", "offline migration"},
		{&o.p2p, "p2p", "peer-2-peer migration"},
		{&o.direct, "direct", "direct migration"},
		{&o.tunnelled, "tunnelled", "tunnelled migration"},
		{&o.persistent, "persistent", "persist VM on destination"},
		{&o.undefineSource, "undefinesource", "undefine VM on source"},
		{&o.suspend, "suspend", "do not restart the domain on the destination host"},
		{&o.copyAll, "copy-storage-all", "migration with non-shared storage with full disk copy"},
		{&o.copyInc, "copy-storage-inc", "migration with non-shared storage with incremental copy (same base image shared between source and destination)"},
		{&o.copySync, "copy-storage-synchronous-writes", "force guest disk writes to be synchronously written to the destination to improve storage migration convergence"},
		{&o.changeProtection, "change-protection", "prevent any configuration changes to domain until migration ends"},
		{&o.unsafe, "unsafe", "force migration even if it may be unsafe"},
		{&o.verbose, "verbose", "display the progress of migration"},
		{&o.compressed, "compressed", "compress repeated pages during live migration"},
		{&o.autoConverge, "auto-converge", "force convergence during live migration"},
		{&o.rdmaPinAll, "rdma-pin-all", "pin all memory before starting RDMA live migration"},
		{&o.abortOnError, "abort-on-error", "abort on soft errors during migration"},
		{&o.postcopy, "postcopy", "enable post-copy migration; switch to it using migrate-postcopy command"},
		{&o.postcopyAfter, "postcopy-after-precopy", "automatically switch to post-copy migration after one pass of pre-copy"},
		{&o.postcopyResume, "postcopy-resume", "resume failed post-copy migration"},
		{&o.zerocopy, "zerocopy", "use zero-copy mechanism for migrating memory pages"},
	} {
		c.Bool(b.p, b.name, b.help)
	}
	// virsh 9.0 fills every one of these, in this order, with the bare
	// words after DESTURI (they are not VSH_OFLAG_REQ_OPT).
	str := func(p *string, name, help string, kind spec.CompleterKind, arg ...string) {
		c.String(p, name, help, spec.Unwanted, false).Complete(kind, arg...)
	}
	num := func(p *string, name, help string) {
		c.Number(p, name, help, spec.Unwanted, false).Complete(spec.Nothing)
	}
	str(&o.migrateURI, "migrateuri", "migration URI, usually can be omitted", spec.Nothing)
	str(&o.graphicsURI, "graphicsuri", "graphics URI to be used for seamless graphics migration", spec.Nothing)
	str(&o.listenAddress, "listen-address", "listen address that destination should bind to for incoming migration", spec.Nothing)
	str(&o.dname, "dname", "rename to new name during migration (if supported)", spec.Nothing)
	num(&o.timeout, "timeout", "run action specified by --timeout-* option (suspend by default) if live migration exceeds timeout (in seconds)")
	c.Bool(&o.timeoutSuspend, "timeout-suspend", "suspend the guest after timeout")
	c.Bool(&o.timeoutPostcopy, "timeout-postcopy", "switch to post-copy after timeout")
	str(&o.xml, "xml", "filename containing updated XML for the target", spec.File)
	str(&o.migrateDisks, "migrate-disks", "comma separated list of disks to be migrated", spec.DiskList)
	num(&o.disksPort, "disks-port", "port to use by target server for incoming disks migration")
	str(&o.disksURI, "disks-uri", "URI to use for disks migration (overrides --disks-port)", spec.Nothing)
	str(&o.compMethods, "comp-methods", "comma separated list of compression methods to be used", spec.List, "xbzrle", "mt", "zlib", "zstd")
	num(&o.compMTLevel, "comp-mt-level", "compress level for multithread compression")
	num(&o.compMTThreads, "comp-mt-threads", "number of compression threads for multithread compression")
	num(&o.compMTDThreads, "comp-mt-dthreads", "number of decompression threads for multithread compression")
	num(&o.compXBZRLE, "comp-xbzrle-cache", "page cache size for xbzrle compression")
	num(&o.acInitial, "auto-converge-initial", "initial CPU throttling rate for auto-convergence")
	num(&o.acIncrement, "auto-converge-increment", "CPU throttling rate increment for auto-convergence")
	str(&o.persistentXML, "persistent-xml", "filename containing updated persistent XML for the target", spec.File)
	c.Bool(&o.tls, "tls", "use TLS for migration")
	num(&o.postcopyBandwidth, "postcopy-bandwidth", "post-copy migration bandwidth limit in MiB/s")
	c.Bool(&o.parallel, "parallel", "enable parallel migration")
	num(&o.parallelConns, "parallel-connections", "number of connections for parallel migration")
	num(&o.bandwidth, "bandwidth", "migration bandwidth limit in MiB/s")
	str(&o.tlsDestination, "tls-destination", "override the destination host name used for TLS verification", spec.Nothing)
	c.Bool(&o.checkpoints, "checkpoints", "virtsh: redefine the guest's checkpoints on the destination, in order, their bitmaps checked; refuse to start when they cannot follow")
	c.Exclusive("live", "offline")
	c.Exclusive("timeout-suspend", "timeout-postcopy")
	c.Requires("postcopy-after-precopy", "postcopy")
	c.Requires("timeout-postcopy", "postcopy")
	c.Requires("persistent-xml", "persistent")
	c.Requires("tls-destination", "tls")
	c.Run = func(ctx context.Context) error { return runMigrate(ctx, env, c, &o) }
	return c
}

// migrateTimeout is what --timeout does (virsh's virshMigrateTimeout).
type migrateTimeout uint8

const (
	timeoutNone migrateTimeout = iota
	timeoutSuspend
	timeoutPostcopy
)

func runMigrate(ctx context.Context, env *Env, c *spec.Command, o *migrateOpts) error {
	// The event loop and signal relay first, so a Ctrl-C reaches ctx (see
	// lookupJobDomain); --postcopy-after-precopy's event needs the loop.
	d, err := lookupJobDomain(env, o.dom, true)
	if err != nil {
		return err
	}
	defer d.Free()
	timeout, err := parseMigrateTimeout(c, o.timeout)
	if err != nil {
		return err
	}
	if timeout > 0 && !o.live {
		return errors.New("migrate: Unexpected timeout for offline migration")
	}
	action := timeoutNone
	switch {
	case o.timeoutSuspend:
		action = timeoutSuspend
	case o.timeoutPostcopy:
		action = timeoutPostcopy
	}
	if timeout > 0 && action == timeoutNone {
		action = timeoutSuspend
	} else if timeout == 0 && action != timeoutNone {
		return errors.New("migrate: Unexpected --timeout-* option without --timeout")
	}
	params, pcBW, err := o.params(c)
	if err != nil {
		return err
	}
	flags, err := o.flags()
	if err != nil {
		return err
	}
	conn, err := env.Sess.Conn()
	if err != nil {
		return err
	}
	if o.postcopyAfter {
		// virsh's virshMigrateIteration: once the first pass of pre-copy
		// is over (iteration 2), switch to post-copy.
		id, err := conn.DomainEventMigrationIterationRegister(d, func(_ *libvirt.Connect, dd *libvirt.Domain, ev *libvirt.DomainEventMigrationIteration) {
			if ev.Iteration == 2 {
				env.Sess.Debugf(0, "iteration %d finished, switching to post-copy", ev.Iteration-1)
				_ = dd.MigrateStartPostCopy(0)
			}
		})
		if err != nil {
			return errors.New("Cannot register migration iteration event")
		}
		defer func() { _ = conn.DomainEventDeregister(id) }()
	}

	dest := fleet.Resolve(o.desturi)
	// The destination's session (the fleet's, so a shell keeps it and its
	// node-name cache): the client connects to it for a normal migration.
	ds := envFleet(env).Session(dest)
	var cps []string
	if o.checkpoints {
		if cps, err = o.checkpointsToMove(c, d, ds); err != nil {
			return msgThenCause(fmt.Sprintf("the checkpoints of domain '%s' cannot follow it: migration not started", o.dom), err)
		}
	}
	to := jobHooks{after: timeout, action: func() {
		if action == timeoutPostcopy {
			env.Sess.Debugf(0, "migration timed out; switching to post-copy")
			if err := d.MigrateStartPostCopy(0); err != nil {
				env.Sess.Debugf(1, "switching to post-copy failed")
			}
			return
		}
		env.Sess.Debugf(0, "migration timed out; suspending domain")
		if err := d.Suspend(); err != nil {
			env.Sess.Debugf(1, "suspending domain failed")
		}
	}}
	if pcBW != nil {
		// The binding cannot pass VIR_MIGRATE_PARAM_BANDWIDTH_POSTCOPY,
		// and libvirt resets the limit when the job starts: it is set as
		// migrate-setspeed --postcopy would, once the job is under way.
		to.started = func() {
			if err := d.MigrateSetMaxSpeed(*pcBW, libvirt.MIGRATE_MAX_SPEED_POSTCOPY); err != nil {
				env.IO.Errorf("error: setting the post-copy bandwidth: %s\n", strings.Join(shell.MessageLines(err), ": "))
			}
		}
	}
	err = watchDomainJobTimeout(ctx, env, d, "Migration", o.verbose, to, func() error {
		if o.p2p || o.direct {
			return d.MigrateToURI3(dest.URI, params, flags)
		}
		dconn, err := ds.Conn()
		if err != nil {
			// virsh's virshConnect for the destination says libvirt's
			// reason alone.
			var le libvirt.Error
			if errors.As(err, &le) {
				return le
			}
			return err
		}
		dd, err := d.Migrate3(dconn, params, flags)
		if err == nil {
			_ = dd.Free()
		}
		return err
	})
	if err != nil {
		return err
	}
	if err := o.redefineCheckpoints(d, ds, cps); err != nil {
		return err
	}
	// libvirt's lifecycle event "started migrated" tells the destination's
	// cache as well, when something listens there; this marks it for a fill
	// from the new XML at its next use either way (no libvirt call).
	if uuid, err := d.GetUUIDString(); err == nil {
		ds.Nodes().Refill(uuid, blocknodes.ReasonMigrated)
	}
	return nil
}

// flags are the migration flags of the boolean options (virsh's doMigrate).
func (o *migrateOpts) flags() (libvirt.DomainMigrateFlags, error) {
	if o.copySync && !o.copyAll && !o.copyInc {
		return 0, errors.New("'--copy-storage-synchronous-writes' requires one of '--copy-storage-all', 'copy-storage-inc'")
	}
	return flagsOf([]flagIf[libvirt.DomainMigrateFlags]{
		{o.live, libvirt.MIGRATE_LIVE}, {o.p2p, libvirt.MIGRATE_PEER2PEER},
		{o.tunnelled, libvirt.MIGRATE_TUNNELLED}, {o.persistent, libvirt.MIGRATE_PERSIST_DEST},
		{o.undefineSource, libvirt.MIGRATE_UNDEFINE_SOURCE}, {o.suspend, libvirt.MIGRATE_PAUSED},
		{o.copyAll, libvirt.MIGRATE_NON_SHARED_DISK}, {o.copyInc, libvirt.MIGRATE_NON_SHARED_INC},
		{o.copySync, libvirt.MIGRATE_NON_SHARED_SYNCHRONOUS_WRITES},
		{o.changeProtection, libvirt.MIGRATE_CHANGE_PROTECTION}, {o.unsafe, libvirt.MIGRATE_UNSAFE},
		{o.offline, libvirt.MIGRATE_OFFLINE}, {o.compressed, libvirt.MIGRATE_COMPRESSED},
		{o.autoConverge, libvirt.MIGRATE_AUTO_CONVERGE}, {o.rdmaPinAll, libvirt.MIGRATE_RDMA_PIN_ALL},
		{o.abortOnError, libvirt.MIGRATE_ABORT_ON_ERROR}, {o.postcopy, libvirt.MIGRATE_POSTCOPY},
		{o.postcopyResume, libvirt.MIGRATE_POSTCOPY_RESUME}, {o.zerocopy, libvirt.MIGRATE_ZEROCOPY},
		{o.tls, libvirt.MIGRATE_TLS}, {o.parallel, libvirt.MIGRATE_PARALLEL},
	}), nil
}

// params are the typed migration parameters of the valued options, read
// with virsh's number rules and messages.
// The post-copy bandwidth, which the binding's parameters lack, is
// returned apart (nil: not given).
func (o *migrateOpts) params(c *spec.Command) (*libvirt.DomainMigrateParameters, *uint64, error) {
	p := &libvirt.DomainMigrateParameters{}
	setStr := func(set *bool, v *string, name, val string) {
		if c.Given(name) {
			*set, *v = true, val
		}
	}
	var err error
	setInt := func(set *bool, v *int, name, val string) {
		if err == nil && c.Given(name) {
			*v, err = optInt(name, val)
			*set = err == nil
		}
	}
	setU64 := func(set *bool, v *uint64, name, val string) {
		if err == nil && c.Given(name) {
			*v, err = optULongLong(name, val)
			*set = err == nil
		}
	}
	setStr(&p.ListenAddressSet, &p.ListenAddress, "listen-address", o.listenAddress)
	setInt(&p.DisksPortSet, &p.DisksPort, "disks-port", o.disksPort)
	setStr(&p.DisksURISet, &p.DisksURI, "disks-uri", o.disksURI)
	setStr(&p.DestNameSet, &p.DestName, "dname", o.dname)
	if c.Given("migrate-disks") {
		p.MigrateDisksSet, p.MigrateDisks = true, strings.Split(o.migrateDisks, ",")
	}
	if c.Given("comp-methods") {
		// The binding holds one method; libvirt takes the parameter
		// repeated, which it cannot send: several are refused here.
		methods := strings.Split(o.compMethods, ",")
		if len(methods) > 1 {
			return nil, nil, fmt.Errorf("--comp-methods: one method at a time (%s)", o.compMethods)
		}
		p.CompressionSet, p.Compression = true, methods[0]
	}
	setInt(&p.CompressionMTLevelSet, &p.CompressionMTLevel, "comp-mt-level", o.compMTLevel)
	setInt(&p.CompressionMTThreadsSet, &p.CompressionMTThreads, "comp-mt-threads", o.compMTThreads)
	setInt(&p.CompressionMTDThreadsSet, &p.CompressionMTDThreads, "comp-mt-dthreads", o.compMTDThreads)
	setU64(&p.CompressionXBZRLECacheSet, &p.CompressionXBZRLECache, "comp-xbzrle-cache", o.compXBZRLE)
	if err != nil {
		return nil, nil, err
	}
	for _, f := range []struct {
		name, path string
		set        *bool
		v          *string
	}{{"xml", o.xml, &p.DestXMLSet, &p.DestXML}, {"persistent-xml", o.persistentXML, &p.PersistXMLSet, &p.PersistXML}} {
		if !c.Given(f.name) {
			continue
		}
		x, rerr := readXMLFile(f.path)
		if rerr != nil {
			return nil, nil, msgThenCause(fmt.Sprintf("cannot read file '%s'", f.path), rerr)
		}
		*f.set, *f.v = true, x
	}
	setInt(&p.AutoConvergeInitialSet, &p.AutoConvergeInitial, "auto-converge-initial", o.acInitial)
	setInt(&p.AutoConvergeIncrementSet, &p.AutoConvergeIncrement, "auto-converge-increment", o.acIncrement)
	var pcBW uint64
	var pcBWSet bool
	setU64(&pcBWSet, &pcBW, "postcopy-bandwidth", o.postcopyBandwidth)
	setInt(&p.ParallelConnectionsSet, &p.ParallelConnections, "parallel-connections", o.parallelConns)
	setU64(&p.BandwidthSet, &p.Bandwidth, "bandwidth", o.bandwidth)
	if err != nil {
		return nil, nil, err
	}
	setStr(&p.TLSDestinationSet, &p.TLSDestination, "tls-destination", o.tlsDestination)
	setStr(&p.URISet, &p.URI, "migrateuri", o.migrateURI)
	setStr(&p.GraphicsURISet, &p.GraphicsURI, "graphicsuri", o.graphicsURI)
	if pcBWSet {
		return p, &pcBW, nil
	}
	return p, nil, nil
}

// numberErr is virsh's message for a bad number.
func numberErr(name, val string) error {
	return fmt.Errorf("Numeric value '%s' for <%s> option is malformed or out of range", val, name)
}

// cSpace is C's isspace, which strtol skips before a number.
const cSpace = " \t\n\v\f\r"

// optInt is virsh's vshCommandOptInt: a C int in base 10, leading blanks
// and a sign allowed.
func optInt(name, val string) (int, error) {
	v, err := strconv.ParseInt(strings.TrimLeft(val, cSpace), 10, 32)
	if err != nil {
		return 0, numberErr(name, val)
	}
	return int(v), nil
}

// optULongLong is virsh's vshCommandOptULongLong: an unsigned long long in
// base 10, leading blanks allowed, no minus sign.
func optULongLong(name, val string) (uint64, error) {
	t := strings.TrimPrefix(strings.TrimLeft(val, cSpace), "+")
	if t == "" || t[0] < '0' || t[0] > '9' {
		return 0, numberErr(name, val)
	}
	v, err := strconv.ParseUint(t, 10, 64)
	if err != nil {
		return 0, numberErr(name, val)
	}
	return v, nil
}

// parseMigrateTimeout reads --timeout: whole seconds, not negative (0 is no
// timeout).
func parseMigrateTimeout(c *spec.Command, val string) (time.Duration, error) {
	if !c.Given("timeout") {
		return 0, nil
	}
	v, err := optULongLong("timeout", val)
	if err != nil || v > math.MaxInt32 {
		return 0, numberErr("timeout", val)
	}
	return time.Duration(v) * time.Second, nil
}

// ------------------------------------------- tuning a migration under way

// speedView is migrate-getspeed -o json|yaml.
type speedView struct {
	Bandwidth uint64 `json:"bandwidth_mib_s" yaml:"bandwidth_mib_s"`
}

func newMigrateGetSpeedCmd(env *Env) *spec.Command {
	var dom string
	var postcopy bool
	c := &spec.Command{Short: "Get the maximum migration bandwidth",
		Long: "Get the maximum migration bandwidth (in MiB/s) for a domain."}
	c.Example = "migrate-getspeed vm1\nmigrate-getspeed vm1 --postcopy -o json"
	c.Domain(&dom, "")
	c.Bool(&postcopy, "postcopy", "get post-copy migration bandwidth")
	outputOption(c, env.IO)
	c.Run = env.onDomain(&dom, func(ctx context.Context, d *libvirt.Domain) error {
		bw, err := d.MigrateGetMaxSpeed(maxSpeedFlags(postcopy))
		if err != nil {
			return err
		}
		if env.IO.Structured() {
			return env.IO.Encode(speedView{bw})
		}
		env.IO.Printf("%d\n", bw)
		return nil
	})
	return c
}

func maxSpeedFlags(postcopy bool) libvirt.DomainMigrateMaxSpeedFlags {
	if postcopy {
		return libvirt.MIGRATE_MAX_SPEED_POSTCOPY
	}
	return 0
}

func newMigrateSetSpeedCmd(env *Env) *spec.Command {
	var dom, bw string
	var postcopy bool
	c := &spec.Command{Short: "Set the maximum migration bandwidth",
		Long: "Set the maximum migration bandwidth (in MiB/s) for a domain which is being migrated to another host."}
	c.Example = "migrate-setspeed vm1 100          # during 'migrate vm1 ...', from another shell\nmigrate-setspeed vm1 50 --postcopy"
	c.Domain(&dom, "")
	c.Number(&bw, "bandwidth", "migration bandwidth limit in MiB/s", spec.Req, true).Complete(spec.Nothing)
	c.Bool(&postcopy, "postcopy", "set post-copy migration bandwidth")
	c.Run = env.onDomain(&dom, func(ctx context.Context, d *libvirt.Domain) error {
		v, err := optULWrap("bandwidth", bw)
		if err != nil {
			return err
		}
		return d.MigrateSetMaxSpeed(v, maxSpeedFlags(postcopy))
	})
	return c
}

// optULWrap is virsh's vshCommandOptULWrap: an unsigned long in base 10
// where a negative number wraps around (-1 is the largest).
func optULWrap(name, val string) (uint64, error) {
	t := strings.TrimLeft(val, cSpace)
	if neg, ok := strings.CutPrefix(t, "-"); ok {
		v, err := optULongLong(name, neg)
		if err != nil || strings.HasPrefix(neg, "+") {
			return 0, numberErr(name, val)
		}
		return -v, nil
	}
	return optULongLong(name, val)
}

// downtimeView is migrate-getmaxdowntime -o json|yaml.
type downtimeView struct {
	Downtime uint64 `json:"downtime_ms" yaml:"downtime_ms"`
}

func newMigrateSetMaxDowntimeCmd(env *Env) *spec.Command {
	var dom, downtime string
	c := &spec.Command{Short: "set maximum tolerable downtime",
		Long: "Set maximum tolerable downtime of a domain which is being live-migrated to another host."}
	c.Example = "migrate-setmaxdowntime vm1 500    # milliseconds; before or during a live migration"
	c.Domain(&dom, "")
	c.Number(&downtime, "downtime", "maximum tolerable downtime (in milliseconds) for migration", spec.Req, true).Complete(spec.Nothing)
	c.Run = env.onDomain(&dom, func(ctx context.Context, d *libvirt.Domain) error {
		v, err := optULongLong("downtime", downtime)
		if err != nil {
			return err
		}
		if v < 1 {
			return errors.New("migrate: Invalid downtime")
		}
		return d.MigrateSetMaxDowntime(v, 0)
	})
	return c
}

func newMigrateGetMaxDowntimeCmd(env *Env) *spec.Command {
	var dom string
	c := &spec.Command{Short: "get maximum tolerable downtime",
		Long: "Get maximum tolerable downtime of a domain which is being live-migrated to another host."}
	c.Example = "migrate-getmaxdowntime vm1\nmigrate-getmaxdowntime vm1 -o json"
	c.Domain(&dom, "")
	outputOption(c, env.IO)
	c.Run = env.onDomain(&dom, func(ctx context.Context, d *libvirt.Domain) error {
		v, err := d.MigrateGetMaxDowntime(0)
		if err != nil {
			return err
		}
		if env.IO.Structured() {
			return env.IO.Encode(downtimeView{v})
		}
		env.IO.Printf("%d\n", v)
		return nil
	})
	return c
}

// printMigrationJobInfo is the part of domjobinfo's text (cmdDomjobinfo)
// that only a migration reports, after the file lines: pages, downtime,
// compression, auto-converge. num and size print a counter and a size as
// printJobInfo does.
func printMigrationJobInfo(out *format.IO, info *libvirt.DomainJobInfo, num func(bool, string, uint64, string), size func(string, uint64, string)) {
	num(info.MemConstantSet, "Constant pages:", info.MemConstant, "")
	num(info.MemNormalSet, "Normal pages:", info.MemNormal, "")
	if info.MemNormalBytesSet {
		size("Normal data:", info.MemNormalBytes, "")
	}
	if info.Type == libvirt.DOMAIN_JOB_COMPLETED {
		num(info.DowntimeSet, "Total downtime:", info.Downtime, " ms")
	} else {
		num(info.DowntimeSet, "Expected downtime:", info.Downtime, " ms")
	}
	num(info.DowntimeNetSet, "Downtime w/o network:", info.DowntimeNet, " ms")
	num(info.SetupTimeSet, "Setup time:", info.SetupTime, " ms")
	if info.CompressionCacheSet {
		size("Compression cache:", info.CompressionCache, "")
	}
	if info.CompressionBytesSet {
		size("Compressed data:", info.CompressionBytes, "")
	}
	if info.CompressionPagesSet {
		out.Printf("%-17s %-13d\n", "Compressed pages:", info.CompressionPages)
	}
	num(info.CompressionCacheMissesSet, "Compression cache misses:", info.CompressionCacheMisses, "")
	num(info.CompressionOverflowSet, "Compression overflows:", info.CompressionOverflow, "")
	if info.AutoConvergeThrottleSet {
		out.Printf("%-17s %-13d %%\n", "Auto converge throttle:", info.AutoConvergeThrottle)
	}
}

// ------------------------------------------- checkpoints travel with the guest

// libvirt 9 moves a guest's checkpoint bitmaps with its disks (they are in
// the qcow2 images, on shared storage or copied with them) but not the
// checkpoint metadata, without which the destination knows no checkpoint
// and an incremental backup chain ends. migrate --checkpoints carries it:
// the checkpoints' XML is read before the migration starts, and redefined
// on the destination afterwards, parents first, each validated
// (REDEFINE_VALIDATE: libvirt checks that the disk holds the bitmap).

// checkpointsToMove reads d's checkpoints, parents first, and refuses a
// migration they could not follow: the client must reach the destination
// (it redefines them there, also after a peer-to-peer migration), and with
// --migrate-disks every disk holding a bitmap must be among those copied.
func (o *migrateOpts) checkpointsToMove(c *spec.Command, d *libvirt.Domain, ds *shell.Session) ([]string, error) {
	list, err := d.ListAllCheckpoints(libvirt.DOMAIN_CHECKPOINT_LIST_TOPOLOGICAL)
	if err != nil {
		return nil, err
	}
	var docs []string
	for i := range list {
		doc, err := list[i].GetXMLDesc(0)
		_ = list[i].Free()
		if err != nil {
			return nil, err
		}
		docs = append(docs, doc)
	}
	if len(docs) == 0 {
		return nil, nil
	}
	if c.Given("migrate-disks") {
		moved := map[string]bool{}
		for _, t := range strings.Split(o.migrateDisks, ",") {
			moved[t] = true
		}
		for _, doc := range docs {
			var cp libvirtxml.DomainCheckpoint
			if err := cp.Unmarshal(doc); err != nil {
				return nil, err
			}
			if cp.Disks == nil {
				continue
			}
			for _, dk := range cp.Disks.Disks {
				if dk.Checkpoint != "no" && !moved[dk.Name] {
					return nil, fmt.Errorf("checkpoint '%s' has a bitmap on disk '%s', which --migrate-disks leaves behind", cp.Name, dk.Name)
				}
			}
		}
	}
	if _, err := ds.Conn(); err != nil {
		return nil, err
	}
	return docs, nil
}

// redefineCheckpoints redefines docs, in order, on the migrated guest at
// the destination.
func (o *migrateOpts) redefineCheckpoints(d *libvirt.Domain, ds *shell.Session, docs []string) error {
	if len(docs) == 0 {
		return nil
	}
	name := o.dname
	if name == "" {
		name, _ = d.GetName()
	}
	fail := func(err error) error {
		return msgThenCause(fmt.Sprintf("domain '%s' migrated, but its checkpoints could not be redefined on the destination", name), err)
	}
	dconn, err := ds.Conn()
	if err != nil {
		return fail(err)
	}
	dd, err := domain.Lookup(dconn, name, domain.ByName)
	if err != nil {
		return fail(err)
	}
	defer dd.Free()
	for _, doc := range docs {
		cp, err := dd.CreateCheckpointXML(doc, libvirt.DOMAIN_CHECKPOINT_CREATE_REDEFINE|libvirt.DOMAIN_CHECKPOINT_CREATE_REDEFINE_VALIDATE)
		if err != nil {
			return fail(err)
		}
		_ = cp.Free()
	}
	ds.Nodes().RefillDomain(dd, blocknodes.ReasonCheckpoint)
	return nil
}
