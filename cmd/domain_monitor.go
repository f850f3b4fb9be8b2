package cmd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"sort"
	"strings"
	"sync"

	"libvirt.org/go/libvirt"
	"libvirt.org/go/libvirtxml"

	"github.com/virtsh/virtsh/format"
	"github.com/virtsh/virtsh/shell"
	"github.com/virtsh/virtsh/shell/spec"
)

// The "Domain Monitoring" group (virsh-domain-monitor.c): list, dominfo,
// domstate, domblklist, domblkinfo.

// virsh's state and reason words (virshDomainStateToString and the
// virshDomain*Reason enums).
var stateNames = []string{"no state", "running", "idle", "paused", "in shutdown", "shut off", "crashed", "pmsuspended"}

var reasonNames = map[libvirt.DomainState][]string{
	libvirt.DOMAIN_NOSTATE: {"unknown"},
	libvirt.DOMAIN_RUNNING: {"unknown", "booted", "migrated", "restored", "from snapshot", "unpaused",
		"migration canceled", "save canceled", "event wakeup", "crashed", "post-copy", "post-copy failed"},
	libvirt.DOMAIN_BLOCKED: {"unknown"},
	libvirt.DOMAIN_PAUSED: {"unknown", "user", "migrating", "saving", "dumping", "I/O error", "watchdog",
		"from snapshot", "shutting down", "creating snapshot", "crashed", "starting up", "post-copy",
		"post-copy failed", "api error"},
	libvirt.DOMAIN_SHUTDOWN: {"unknown", "user"},
	libvirt.DOMAIN_SHUTOFF: {"unknown", "shutdown", "destroyed", "crashed", "migrated", "saved", "failed",
		"from snapshot", "daemon"},
	libvirt.DOMAIN_CRASHED:     {"unknown", "panicked"},
	libvirt.DOMAIN_PMSUSPENDED: {"unknown"},
}

func stateString(s libvirt.DomainState) string {
	if int(s) >= 0 && int(s) < len(stateNames) {
		return stateNames[s]
	}
	return "no state"
}

func reasonString(s libvirt.DomainState, reason int) string {
	if r := reasonNames[s]; reason >= 0 && reason < len(r) {
		return r[reason]
	}
	return "unknown"
}

// domainID returns the ID of an active domain, ok=false for an inactive one
// (virDomainGetID's (unsigned)-1).
func domainID(d *libvirt.Domain) (uint, bool) {
	id, err := d.GetID()
	if err != nil || id == ^uint(0) || uint32(id) == ^uint32(0) {
		return 0, false
	}
	return id, true
}

// ---- list ----

type listOpts struct {
	inactive, all, transient, persistent                bool
	withSnapshot, withoutSnapshot                       bool
	withCheckpoint, withoutCheckpoint                   bool
	stRunning, stPaused, stShutoff, stOther             bool
	autostart, noAutostart, withManaged, withoutManaged bool
	uuid, name, id, table, managed, title               bool
}

// listView is one guest in `list -o json|yaml`. ID is null for an inactive
// guest; Title is present only with --title.
type listView struct {
	ID    *uint   `json:"id" yaml:"id"`
	Name  string  `json:"name" yaml:"name"`
	UUID  string  `json:"uuid" yaml:"uuid"`
	State string  `json:"state" yaml:"state"`
	Title *string `json:"title,omitempty" yaml:"title,omitempty"`
}

func newListCmd(env *Env) *spec.Command {
	var o listOpts
	c := &spec.Command{Short: "list domains", Long: "Returns list of domains."}
	c.Example = "list --all\nlist --state-paused --name\nlist --all --title\nlist --all -o json"
	c.Bool(&o.inactive, "inactive", "list inactive domains")
	c.Bool(&o.all, "all", "list inactive & active domains")
	c.Bool(&o.transient, "transient", "list transient domains")
	c.Bool(&o.persistent, "persistent", "list persistent domains")
	c.Bool(&o.withSnapshot, "with-snapshot", "list domains with existing snapshot")
	c.Bool(&o.withoutSnapshot, "without-snapshot", "list domains without a snapshot")
	c.Bool(&o.withCheckpoint, "with-checkpoint", "list domains with existing checkpoint")
	c.Bool(&o.withoutCheckpoint, "without-checkpoint", "list domains without a checkpoint")
	c.Bool(&o.stRunning, "state-running", "list domains in running state")
	c.Bool(&o.stPaused, "state-paused", "list domains in paused state")
	c.Bool(&o.stShutoff, "state-shutoff", "list domains in shutoff state")
	c.Bool(&o.stOther, "state-other", "list domains in other states")
	c.Bool(&o.autostart, "autostart", "list domains with autostart enabled")
	c.Bool(&o.noAutostart, "no-autostart", "list domains with autostart disabled")
	c.Bool(&o.withManaged, "with-managed-save", "list domains with managed save state")
	c.Bool(&o.withoutManaged, "without-managed-save", "list domains without managed save")
	c.Bool(&o.uuid, "uuid", "list uuid's only")
	c.Bool(&o.name, "name", "list domain names only")
	c.Bool(&o.id, "id", "list domain IDs only")
	c.Bool(&o.table, "table", "list table (default)")
	c.Bool(&o.managed, "managed-save", "mark inactive domains with managed save state")
	c.Bool(&o.title, "title", "show domain title")
	outputOption(c, env.IO)
	c.Exclusive("table", "name")
	c.Exclusive("table", "uuid")
	c.Exclusive("table", "id")
	c.Hosts = spec.EachHost // a read: on every selected host
	c.Run = func(ctx context.Context) error { return runList(env, &o) }
	return c
}

// listFlags maps virsh's list options to ListAllDomains flags, without the
// state filters (cmdList's FILTER lines).
func (o *listOpts) baseFlags() libvirt.ConnectListAllDomainsFlags {
	f := libvirt.CONNECT_LIST_DOMAINS_ACTIVE
	if o.inactive || o.stShutoff {
		f = libvirt.CONNECT_LIST_DOMAINS_INACTIVE
	}
	if o.all {
		f = libvirt.CONNECT_LIST_DOMAINS_ACTIVE | libvirt.CONNECT_LIST_DOMAINS_INACTIVE
	}
	set := func(b bool, fl libvirt.ConnectListAllDomainsFlags) {
		if b {
			f |= fl
		}
	}
	set(o.persistent, libvirt.CONNECT_LIST_DOMAINS_PERSISTENT)
	set(o.transient, libvirt.CONNECT_LIST_DOMAINS_TRANSIENT)
	set(o.withManaged, libvirt.CONNECT_LIST_DOMAINS_MANAGEDSAVE)
	set(o.withoutManaged, libvirt.CONNECT_LIST_DOMAINS_NO_MANAGEDSAVE)
	set(o.autostart, libvirt.CONNECT_LIST_DOMAINS_AUTOSTART)
	set(o.noAutostart, libvirt.CONNECT_LIST_DOMAINS_NO_AUTOSTART)
	set(o.withSnapshot, libvirt.CONNECT_LIST_DOMAINS_HAS_SNAPSHOT)
	set(o.withoutSnapshot, libvirt.CONNECT_LIST_DOMAINS_NO_SNAPSHOT)
	set(o.withCheckpoint, libvirt.CONNECT_LIST_DOMAINS_HAS_CHECKPOINT)
	set(o.withoutCheckpoint, libvirt.CONNECT_LIST_DOMAINS_NO_CHECKPOINT)
	return f
}

// listedDomain is a guest found by collectDomains with what the listing
// needs; name and ID come from the domain object without a round trip.
type listedDomain struct {
	dom    libvirt.Domain
	name   string
	id     uint
	active bool
	state  libvirt.DomainState
	saved  bool // shut off with a managed save image (only looked up for --managed-save)
}

// collectDomains lists the guests matching base and the state filters.
// virsh calls ListAllDomains once and then GetState for every guest, one
// round trip each; here each state bucket is one ListAllDomains call, so the
// state is known from the bucket and only guests in "other" states need
// GetState. Guests come back sorted as virshDomainSorter does: active ones
// by ID, then inactive ones by name, ignoring ASCII case.
func collectDomains(conn *libvirt.Connect, base libvirt.ConnectListAllDomainsFlags, states libvirt.ConnectListAllDomainsFlags, managed bool) ([]listedDomain, error) {
	if states == 0 {
		states = libvirt.CONNECT_LIST_DOMAINS_RUNNING | libvirt.CONNECT_LIST_DOMAINS_PAUSED |
			libvirt.CONNECT_LIST_DOMAINS_SHUTOFF | libvirt.CONNECT_LIST_DOMAINS_OTHER
	}
	buckets := []struct {
		flag  libvirt.ConnectListAllDomainsFlags
		state libvirt.DomainState
	}{
		{libvirt.CONNECT_LIST_DOMAINS_RUNNING, libvirt.DOMAIN_RUNNING},
		{libvirt.CONNECT_LIST_DOMAINS_PAUSED, libvirt.DOMAIN_PAUSED},
		{libvirt.CONNECT_LIST_DOMAINS_SHUTOFF, libvirt.DOMAIN_SHUTOFF},
		{libvirt.CONNECT_LIST_DOMAINS_OTHER, -1},
	}
	var out []listedDomain
	seen := map[string]bool{}
	for _, b := range buckets {
		if states&b.flag == 0 {
			continue
		}
		// An inactive-only listing has nothing running or paused: skip
		// those round trips.
		if base&libvirt.CONNECT_LIST_DOMAINS_ACTIVE == 0 && (b.state == libvirt.DOMAIN_RUNNING || b.state == libvirt.DOMAIN_PAUSED) {
			continue
		}
		doms, err := conn.ListAllDomains(base | b.flag)
		if err != nil {
			freeListed(out)
			return nil, msgThenCause("Failed to list domains", err)
		}
		var saved map[string]bool
		if managed && b.state == libvirt.DOMAIN_SHUTOFF && len(doms) > 0 {
			saved = map[string]bool{}
			sdoms, err := conn.ListAllDomains(base | b.flag | libvirt.CONNECT_LIST_DOMAINS_MANAGEDSAVE)
			if err != nil {
				freeDomains(doms)
				freeListed(out)
				return nil, msgThenCause("Failed to list domains", err)
			}
			for i := range sdoms {
				if n, err := sdoms[i].GetName(); err == nil {
					saved[n] = true
				}
			}
			freeDomains(sdoms)
		}
		for i := range doms {
			d := doms[i]
			name, err := d.GetName()
			if err != nil || seen[name] {
				// A guest that moved between buckets while we listed
				// shows once.
				_ = d.Free()
				continue
			}
			st := b.state
			if b.state < 0 {
				s, _, err := d.GetState()
				if err != nil {
					// Gone in the meantime, as virsh skips it.
					_ = d.Free()
					continue
				}
				st = s
			}
			seen[name] = true
			id, active := domainID(&d)
			out = append(out, listedDomain{dom: d, name: name, id: id, active: active, state: st, saved: saved[name]})
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		switch {
		case a.active && b.active:
			return a.id < b.id
		case !a.active && !b.active:
			return strings.ToLower(a.name) < strings.ToLower(b.name)
		default:
			return a.active
		}
	})
	return out, nil
}

func freeDomains(ds []libvirt.Domain) {
	for i := range ds {
		_ = ds[i].Free()
	}
}

func freeListed(ds []listedDomain) {
	for i := range ds {
		_ = ds[i].dom.Free()
	}
}

// domainTitle is virshGetDomainDescription(title): the <title> metadata, ""
// when there is none, falling back to the XML when the driver has no
// metadata API.
func domainTitle(d *libvirt.Domain) (string, error) {
	t, err := d.GetMetadata(libvirt.DOMAIN_METADATA_TITLE, "", 0)
	if err == nil {
		return t, nil
	}
	var le libvirt.Error
	if errors.As(err, &le) {
		switch le.Code {
		case libvirt.ERR_NO_DOMAIN_METADATA:
			return "", nil
		case libvirt.ERR_NO_SUPPORT:
			x, err := d.GetXMLDesc(0)
			if err != nil {
				return "", err
			}
			var def libvirtxml.Domain
			if err := def.Unmarshal(x); err != nil {
				return "", err
			}
			return def.Title, nil
		}
	}
	return "", err
}

func runList(env *Env, o *listOpts) error {
	conn, err := env.Sess.Conn()
	if err != nil {
		return err
	}
	states := flagsOf([]flagIf[libvirt.ConnectListAllDomainsFlags]{
		{o.stRunning, libvirt.CONNECT_LIST_DOMAINS_RUNNING}, {o.stPaused, libvirt.CONNECT_LIST_DOMAINS_PAUSED},
		{o.stShutoff, libvirt.CONNECT_LIST_DOMAINS_SHUTOFF}, {o.stOther, libvirt.CONNECT_LIST_DOMAINS_OTHER},
	})
	table := !o.uuid && !o.name && !o.id
	list, err := collectDomains(conn, o.baseFlags(), states, o.managed && (table || env.IO.Structured()))
	if err != nil {
		return err
	}
	defer freeListed(list)

	stateOf := func(d *listedDomain) string {
		if d.saved && d.state == libvirt.DOMAIN_SHUTOFF {
			return "saved"
		}
		return stateString(d.state)
	}
	if env.IO.Structured() {
		views := make([]listView, 0, len(list))
		for i := range list {
			d := &list[i]
			v := listView{Name: d.name, State: stateOf(d)}
			if d.active {
				id := d.id
				v.ID = &id
			}
			if v.UUID, err = d.dom.GetUUIDString(); err != nil {
				return msgThenCause("Failed to get domain's UUID", err)
			}
			if o.title {
				t, err := domainTitle(&d.dom)
				if err != nil {
					return err
				}
				v.Title = &t
			}
			views = append(views, v)
		}
		return env.IO.Encode(views)
	}
	if !table {
		for i := range list {
			d := &list[i]
			var parts []string
			if o.uuid {
				u, err := d.dom.GetUUIDString()
				if err != nil {
					return msgThenCause("Failed to get domain's UUID", err)
				}
				parts = append(parts, u)
			}
			if o.id {
				// --id alone skips inactive guests, as virsh.
				if !d.active && !o.uuid && !o.name {
					continue
				}
				parts = append(parts, idString(d.id, d.active))
			}
			if o.name {
				parts = append(parts, d.name)
			}
			env.IO.Printf("%s\n", strings.Join(parts, " "))
		}
		return nil
	}
	header := []string{"Id", "Name", "State"}
	if o.title {
		header = append(header, "Title")
	}
	rows := make([][]string, 0, len(list))
	for i := range list {
		d := &list[i]
		row := []string{idString(d.id, d.active), d.name, stateOf(d)}
		if o.title {
			t, err := domainTitle(&d.dom)
			if err != nil {
				return err
			}
			row = append(row, t)
		}
		rows = append(rows, row)
	}
	return format.Table(env.IO.Out, env.IO.Quiet, header, rows)
}

func idString(id uint, active bool) string {
	if !active {
		return "-"
	}
	return fmt.Sprint(id)
}

// ---- dominfo ----

// dominfoView is `dominfo -o json|yaml`. Memory in bytes, CPU time in ns.
type dominfoView struct {
	ID                *uint    `json:"id" yaml:"id"`
	Name              string   `json:"name" yaml:"name"`
	UUID              string   `json:"uuid" yaml:"uuid"`
	OSType            string   `json:"os_type" yaml:"os_type"`
	State             string   `json:"state" yaml:"state"`
	CPUs              uint     `json:"cpus" yaml:"cpus"`
	CPUTimeNs         uint64   `json:"cpu_time_ns" yaml:"cpu_time_ns"`
	MaxMemoryBytes    uint64   `json:"max_memory_bytes" yaml:"max_memory_bytes"`
	UsedMemoryBytes   uint64   `json:"used_memory_bytes" yaml:"used_memory_bytes"`
	Persistent        bool     `json:"persistent" yaml:"persistent"`
	Autostart         bool     `json:"autostart" yaml:"autostart"`
	ManagedSave       bool     `json:"managed_save" yaml:"managed_save"`
	SecurityModel     string   `json:"security_model" yaml:"security_model"`
	SecurityDOI       string   `json:"security_doi" yaml:"security_doi"`
	SecurityLabel     string   `json:"security_label" yaml:"security_label"`
	SecurityEnforcing bool     `json:"security_enforcing" yaml:"security_enforcing"`
	Messages          []string `json:"messages" yaml:"messages"`
}

func newDominfoCmd(env *Env) *spec.Command {
	var dom string
	c := &spec.Command{Short: "domain information", Long: "Returns basic information about the domain."}
	c.Example = "dominfo vm1\ndominfo 3 -o json"
	c.Domain(&dom, "")
	outputOption(c, env.IO)
	c.Hosts = spec.EachHost // a read: on every selected host
	c.Run = env.onDomain(&dom, func(ctx context.Context, d *libvirt.Domain) error {
		return runDominfo(env, d)
	})
	return c
}

// dominfoAnswers are the answers to dominfo's queries about one domain, each
// with the error its query raised.
type dominfoAnswers struct {
	id         uint
	active     bool
	name       string
	uuid       string
	uuidErr    error
	osType     string
	osErr      error
	info       *libvirt.DomainInfo
	infoErr    error
	persistent bool
	persErr    error
	autostart  bool
	autoErr    error
	managed    bool
	managedErr error
	model      *libvirt.NodeSecurityModel
	modelErr   error // the host's; VIR_ERR_NO_SUPPORT means no model
	label      *libvirt.SecurityLabel
	labelErr   error // asked only when the host has a security model
	msgs       []string
	msgsErr    error
}

// askDominfo asks dominfo's queries. The host's security model comes first
// (once per connection: the session keeps it), since whether the guest's
// label is asked depends on it. In a script or the REPL the others are asked
// all at once: each is a round trip to the daemon and none depends on
// another, and one after another (as virsh asks them) six sequential round
// trips per guest are most of a dominfo's time. virConnect is thread-safe and
// the remote driver multiplexes concurrent calls over its one socket;
// dominfoLines puts the answers in virsh's order, whatever order they came
// in.
func askDominfo(env *Env, d *libvirt.Domain) *dominfoAnswers {
	var a dominfoAnswers
	a.model, a.modelErr = env.Sess.SecurityModel()
	queries := []func(){
		func() { a.info, a.infoErr = d.GetInfo() },
		func() { a.persistent, a.persErr = d.IsPersistent() },
		func() { a.autostart, a.autoErr = d.GetAutostart() },
		func() { a.managed, a.managedErr = d.HasManagedSaveImage(0) },
		func() { a.msgs, a.msgsErr = d.GetMessages(0) },
	}
	if a.modelErr == nil && a.model.Model != "" {
		queries = append(queries, func() { a.label, a.labelErr = d.GetSecurityLabel() })
	}
	// A one-shot process asks one after another, as virsh does: starting
	// the threads the concurrent calls run on costs more than the round
	// trips they save, and two halves on two goroutines gain nothing.
	var wg sync.WaitGroup
	if env.Sess.Opts.OneShot {
		for _, q := range queries {
			q()
		}
	} else {
		enoughProcs()
		for _, q := range queries {
			wg.Go(q)
		}
	}
	// The rest on this goroutine. ID, name and UUID are held by the domain
	// object (no round trip).
	a.osType, a.osErr = d.GetOSType()
	a.id, a.active = domainID(d)
	a.name, _ = d.GetName()
	a.uuid, a.uuidErr = d.GetUUIDString()
	wg.Wait()
	return &a
}

func runDominfo(env *Env, d *libvirt.Domain) error {
	v, lines, failed := dominfoLines(askDominfo(env, d))
	if env.IO.Structured() {
		if failed != nil {
			return failed
		}
		return env.IO.Encode(v)
	}
	// virsh prints what it has, then reports the failure.
	env.IO.Printf("%s\n", strings.Join(lines, "\n"))
	return failed
}

// dominfoLines is cmdDominfo's output for the answers a: the view, virsh's
// lines, and the error the command fails with (nil when it does not).
//
// Which answers fail the command, and what is printed then, follow virsh:
// a failed GetInfo leaves its lines out and fails the command, the others
// still printed; a failed IsPersistent or HasManagedSaveImage prints
// "unknown", a failed GetAutostart leaves its line out, and neither fails
// the command; a failed security model (other than "not supported") or
// label stops there (no messages) and fails it. The error reported is the
// last one any query raised (virsh's error handler keeps the latest), and a
// model without support clears those before it (vshResetLibvirtError).
// virsh prints as it goes; these lines are printed before the error too.
func dominfoLines(a *dominfoAnswers) (dominfoView, []string, error) {
	var v dominfoView
	var lines []string
	add := func(label, val string) { lines = append(lines, fmt.Sprintf("%-15s %s", label, val)) }
	var last error
	raised := func(err error) {
		if err != nil {
			last = err
		}
	}
	ok := true

	if a.active {
		id := a.id
		v.ID = &id
	}
	add("Id:", idString(a.id, a.active))
	v.Name = a.name
	add("Name:", v.Name)
	if a.uuidErr == nil {
		v.UUID = a.uuid
		add("UUID:", a.uuid)
	}
	raised(a.osErr)
	if a.osErr == nil {
		v.OSType = a.osType
		add("OS Type:", a.osType)
	}
	raised(a.infoErr)
	if info := a.info; a.infoErr == nil {
		v.State = stateString(info.State)
		v.CPUs, v.CPUTimeNs = info.NrVirtCpu, info.CpuTime
		v.MaxMemoryBytes, v.UsedMemoryBytes = info.MaxMem*1024, info.Memory*1024
		add("State:", v.State)
		add("CPU(s):", fmt.Sprint(info.NrVirtCpu))
		if info.CpuTime != 0 {
			add("CPU time:", fmt.Sprintf("%.1fs", float64(info.CpuTime)/1e9))
		}
		if info.MaxMem != uint64(^uint32(0)) && info.MaxMem != ^uint64(0) {
			add("Max memory:", fmt.Sprintf("%d KiB", info.MaxMem))
		} else {
			add("Max memory:", "no limit")
		}
		add("Used memory:", fmt.Sprintf("%d KiB", info.Memory))
	} else {
		ok = false
	}
	raised(a.persErr)
	if a.persErr != nil {
		add("Persistent:", "unknown")
	} else {
		v.Persistent = a.persistent
		add("Persistent:", yesNo(a.persistent))
	}
	raised(a.autoErr)
	if a.autoErr == nil {
		v.Autostart = a.autostart
		add("Autostart:", map[bool]string{true: "enable", false: "disable"}[a.autostart])
	}
	raised(a.managedErr)
	if a.managedErr != nil {
		add("Managed save:", "unknown")
	} else {
		v.ManagedSave = a.managed
		add("Managed save:", yesNo(a.managed))
	}
	stop := false // virsh returns here: no messages
	switch {
	case isNoSupport(a.modelErr):
		last = nil
	case a.modelErr != nil:
		raised(a.modelErr)
		ok, stop = false, true
	case a.model.Model != "":
		v.SecurityModel, v.SecurityDOI = a.model.Model, a.model.Doi
		add("Security model:", a.model.Model)
		add("Security DOI:", a.model.Doi)
		if a.labelErr != nil {
			raised(a.labelErr)
			ok, stop = false, true
		} else if a.label.Label != "" {
			v.SecurityLabel, v.SecurityEnforcing = a.label.Label, a.label.Enforcing
			add("Security label:", fmt.Sprintf("%s (%s)", a.label.Label, map[bool]string{true: "enforcing", false: "permissive"}[a.label.Enforcing]))
		}
	}
	// Taint and deprecation messages (virDomainGetMessages); a driver
	// without them prints nothing, as in virsh.
	v.Messages = []string{}
	if !stop {
		raised(a.msgsErr)
		if a.msgsErr == nil {
			v.Messages = a.msgs
			for i, m := range a.msgs {
				label := ""
				if i == 0 {
					label = "Messages:"
				}
				add(label, m)
			}
		}
	}
	if ok {
		return v, lines, nil
	}
	if last == nil {
		// Cleared by a model without support, and nothing raised since:
		// virsh fails with no message (vshReportError finds no error).
		return v, lines, shell.ErrSilent
	}
	return v, lines, last
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// ---- domstate ----

type domstateView struct {
	State      string `json:"state" yaml:"state"`
	StateCode  int    `json:"state_code" yaml:"state_code"`
	Reason     string `json:"reason" yaml:"reason"`
	ReasonCode int    `json:"reason_code" yaml:"reason_code"`
}

func newDomstateCmd(env *Env) *spec.Command {
	var dom string
	var reason bool
	c := &spec.Command{Short: "domain state", Long: "Returns state about a domain."}
	c.Example = "domstate vm1\ndomstate vm1 --reason"
	c.Domain(&dom, "")
	c.Bool(&reason, "reason", "also print reason for the state")
	outputOption(c, env.IO)
	c.Hosts = spec.EachHost // a read: on every selected host
	c.Run = env.onDomain(&dom, func(ctx context.Context, d *libvirt.Domain) error {
		st, r, err := d.GetState()
		if err != nil {
			return err
		}
		if env.IO.Structured() {
			return env.IO.Encode(domstateView{stateString(st), int(st), reasonString(st, r), r})
		}
		if reason {
			env.IO.Printf("%s (%s)\n", stateString(st), reasonString(st, r))
		} else {
			env.IO.Printf("%s\n", stateString(st))
		}
		return nil
	})
	return c
}

// minProcs is the fewest Ps virtsh runs concurrent libvirt calls with. A
// goroutine blocked in a libvirt C call (a round trip to the daemon) keeps
// its P until sysmon takes it back, so on a 2-CPU machine (GOMAXPROCS 2)
// dominfo's third query would wait for a P and the queries would mostly run
// one after another again. The Ps add no CPU work: CPU-bound Go code is a
// small part of virtsh's time. It is raised at the first concurrent call,
// not at start: more Ps mean more threads and per-P caches, more peak RSS
// for a one-shot `list --all` that has no use for them. A GOMAXPROCS in the
// environment still wins.
const minProcs = 8

var procsOnce sync.Once

func enoughProcs() {
	procsOnce.Do(func() {
		if os.Getenv("GOMAXPROCS") == "" && runtime.GOMAXPROCS(0) < minProcs {
			runtime.GOMAXPROCS(minProcs)
		}
	})
}
