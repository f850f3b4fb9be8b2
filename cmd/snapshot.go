package cmd

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"libvirt.org/go/libvirt"
	"libvirt.org/go/libvirtxml"

	"github.com/virtsh/virtsh/format"
	"github.com/virtsh/virtsh/shell"
	"github.com/virtsh/virtsh/shell/blocknodes"
	"github.com/virtsh/virtsh/shell/spec"
)

// The "Snapshot" group, as far as block jobs need it: disk-only external
// snapshots build backing chains (snapshot-create-as --disk-only), and
// snapshot-list/-dumpxml/-delete look after them (virsh-snapshot.c).

// parseDiskspec is virshParseSnapshotDiskspec:
// disk[,snapshot=type][,driver=type][,stype=type][,file=name], each key at
// most once. It also returns the stype given (virsh writes type='...' only
// then).
func parseDiskspec(spec string) (libvirtxml.DomainSnapshotDisk, string, error) {
	parts := splitCommaList(spec)
	d := libvirtxml.DomainSnapshotDisk{Name: parts[0]}
	bad := fmt.Errorf("unable to parse diskspec: %s", spec)
	vals := map[string]string{}
	for _, p := range parts[1:] {
		k, v, ok := strings.Cut(p, "=")
		switch k {
		case "snapshot", "driver", "stype", "file":
		default:
			ok = false
		}
		if _, dup := vals[k]; !ok || dup {
			return d, "", bad
		}
		vals[k] = v
	}
	if d.Name == "" {
		return d, "", bad
	}
	d.Snapshot = vals["snapshot"]
	if driver := vals["driver"]; driver != "" {
		d.Driver = &libvirtxml.DomainDiskDriver{Type: driver}
	}
	stype, file := vals["stype"], vals["file"]
	switch stype {
	case "", "file":
		if file != "" || stype != "" {
			d.Source = &libvirtxml.DomainDiskSource{File: &libvirtxml.DomainDiskSourceFile{File: file}}
		}
	case "block":
		d.Source = &libvirtxml.DomainDiskSource{Block: &libvirtxml.DomainDiskSourceBlock{Dev: file}}
	default:
		return d, "", &shell.LinesError{Lines: []string{fmt.Sprintf("Unknown storage type: '%s'", stype), bad.Error()}}
	}
	return d, stype, nil
}

// snapshotStyle is the hook that makes libvirtStyleXMLEdit write a
// snapshot-create-as document as virsh builds it: <memory> without an empty
// snapshot attribute, <disk name snapshot type> with type only where the diskspec
// gave stype= (libvirtxml derives it from the source), and no empty <source/>
// for an stype= without file=.
func snapshotStyle(stypes []string) func(path string, n *styledElem) {
	disk := 0
	return func(path string, n *styledElem) {
		switch path {
		case "domainsnapshot/memory":
			if v, _ := n.attr("snapshot"); v == "" {
				n.reorderAttrs("file")
			}
		case "domainsnapshot/disks/disk":
			if disk < len(stypes) && stypes[disk] != "" {
				n.reorderAttrs("name", "snapshot", "type")
			} else {
				n.reorderAttrs("name", "snapshot")
			}
			disk++
			kids := n.children[:0]
			for _, c := range n.children {
				if c.name != "source" || len(c.attrs) > 0 || len(c.children) > 0 {
					kids = append(kids, c)
				}
			}
			n.children = kids
		}
	}
}

// parseMemspec is virshParseSnapshotMemspec: [file=]name[,snapshot=type].
func parseMemspec(spec string) (*libvirtxml.DomainSnapshotMemory, error) {
	m := &libvirtxml.DomainSnapshotMemory{}
	var snapSet, fileSet bool // each at most once, as in virsh
	for _, p := range splitCommaList(spec) {
		switch {
		case !snapSet && strings.HasPrefix(p, "snapshot="):
			m.Snapshot, snapSet = strings.TrimPrefix(p, "snapshot="), true
		case !fileSet && strings.HasPrefix(p, "file="):
			m.File, fileSet = strings.TrimPrefix(p, "file="), true
		case !fileSet && strings.HasPrefix(p, "/"):
			m.File, fileSet = p, true
		default:
			return nil, fmt.Errorf("unable to parse memspec: %s", spec)
		}
	}
	return m, nil
}

func newSnapshotCreateAsCmd(env *Env) *spec.Command {
	var o struct {
		dom, name, desc, memspec                                                 string
		printXML, noMeta, halt, diskOnly, reuse, quiesce, atomic, live, validate bool
		diskspec                                                                 []string
	}
	c := &spec.Command{Short: "Create a snapshot from a set of args", Long: "Create a snapshot (disk and RAM) from arguments", Example: "  snapshot-create-as vm1 s1 --disk-only --no-metadata --diskspec vda,file=/var/lib/libvirt/images/vm1-s1.qcow2"}
	c.Domain(&o.dom, "")
	c.String(&o.name, "name", "name of snapshot", spec.Unwanted, false).Complete(spec.Nothing)
	c.String(&o.desc, "description", "description of snapshot", spec.Unwanted, false).Complete(spec.Nothing)
	c.Bool(&o.printXML, "print-xml", "print XML document rather than create")
	c.InertOptions("print-xml")
	c.Bool(&o.noMeta, "no-metadata", "take snapshot but create no metadata")
	c.Bool(&o.halt, "halt", "halt domain after snapshot is created")
	c.Bool(&o.diskOnly, "disk-only", "capture disk state but not vm state")
	c.Bool(&o.reuse, "reuse-external", "reuse any existing external files")
	c.Bool(&o.quiesce, "quiesce", "quiesce guest's file systems")
	c.Bool(&o.atomic, "atomic", "require atomic operation")
	c.Bool(&o.live, "live", "take a live snapshot")
	c.Bool(&o.validate, "validate", "validate the XML against the schema")
	c.String(&o.memspec, "memspec", "memory attributes: [file=]name[,snapshot=type]", spec.Named, false).Complete(spec.Nothing)
	c.Argv(&o.diskspec, "diskspec", "disk attributes: disk[,snapshot=type][,driver=type][,stype=type][,file=name]", spec.Opt, false).Complete(spec.Disk)
	c.Run = env.onDomain(&o.dom, func(ctx context.Context, dom *libvirt.Domain) error {
		var err error
		flags := flagsOf([]flagIf[libvirt.DomainSnapshotCreateFlags]{{o.noMeta, libvirt.DOMAIN_SNAPSHOT_CREATE_NO_METADATA}, {o.halt, libvirt.DOMAIN_SNAPSHOT_CREATE_HALT},
			{o.diskOnly, libvirt.DOMAIN_SNAPSHOT_CREATE_DISK_ONLY}, {o.reuse, libvirt.DOMAIN_SNAPSHOT_CREATE_REUSE_EXT},
			{o.quiesce, libvirt.DOMAIN_SNAPSHOT_CREATE_QUIESCE}, {o.atomic, libvirt.DOMAIN_SNAPSHOT_CREATE_ATOMIC},
			{o.live, libvirt.DOMAIN_SNAPSHOT_CREATE_LIVE}, {o.validate, libvirt.DOMAIN_SNAPSHOT_CREATE_VALIDATE}})
		snap := libvirtxml.DomainSnapshot{Name: o.name, Description: o.desc}
		if o.memspec != "" {
			if snap.Memory, err = parseMemspec(o.memspec); err != nil {
				return err
			}
		}
		var stypes []string
		if len(o.diskspec) > 0 {
			snap.Disks = &libvirtxml.DomainSnapshotDisks{}
			for _, ds := range o.diskspec {
				d, stype, err := parseDiskspec(ds)
				if err != nil {
					return err
				}
				snap.Disks.Disks = append(snap.Disks.Disks, d)
				stypes = append(stypes, stype)
			}
		}
		raw, err := snap.Marshal()
		if err != nil {
			return err
		}
		// The document virsh would build (and send): same bytes for
		// --print-xml.
		xml, err := libvirtStyleXMLEdit(raw, snapshotStyle(stypes))
		if err != nil {
			return err
		}
		if o.printXML {
			env.IO.Printf("%s\n", xml)
			return nil
		}
		return createSnapshot(env, dom, xml, flags, "")
	})
	return c
}

// createSnapshot is virshSnapshotCreate, the end of snapshot-create and
// snapshot-create-as: create, tell the node-name cache, print virsh's line
// (naming the file the XML came from, if any).
func createSnapshot(env *Env, dom *libvirt.Domain, xml string, flags libvirt.DomainSnapshotCreateFlags, from string) error {
	sn, err := dom.CreateSnapshotXML(xml, flags)
	if err != nil {
		return err
	}
	defer sn.Free()
	// Snapshots, checkpoints and block-job starts raise no libvirt event:
	// tell the node-name cache (it re-derives at its next use).
	env.Sess.Nodes().RefillDomain(dom, blocknodes.ReasonSnapshot)
	name, err := sn.GetName()
	if err != nil {
		return errors.New("Could not get snapshot name")
	}
	if from != "" {
		env.IO.Extra("Domain snapshot %s created from '%s'", name, from)
	} else {
		env.IO.Extra("Domain snapshot %s created", name)
	}
	return nil
}

func newSnapshotDumpXMLCmd(env *Env) *spec.Command {
	var o struct {
		dom, name string
		secure    bool
		x         xmlDump
	}
	c := &spec.Command{Short: "Dump XML for a domain snapshot", Long: "Snapshot Dump XML", Example: "  snapshot-dumpxml vm1 s1"}
	c.Domain(&o.dom, "")
	c.String(&o.name, "snapshotname", "snapshot name", spec.Req, true).Complete(spec.Snapshot)
	c.Bool(&o.secure, "security-info", "include security sensitive information in XML dump")
	o.x.declare(c, env)
	c.Run = env.onDomain(&o.dom, func(ctx context.Context, dom *libvirt.Domain) error {
		sn, err := dom.SnapshotLookupByName(o.name, 0)
		if err != nil {
			return err
		}
		defer sn.Free()
		var flags libvirt.DomainSnapshotXMLFlags
		if o.secure {
			flags |= libvirt.DOMAIN_SNAPSHOT_XML_SECURE
		}
		x, err := sn.GetXMLDesc(flags)
		if err != nil {
			return err
		}
		return o.x.print(c, env, x)
	})
	return c
}

func newSnapshotDeleteCmd(env *Env) *spec.Command {
	var o struct {
		dom, name                             string
		current, children, childrenOnly, meta bool
	}
	c := &spec.Command{Short: "Delete a domain snapshot", Long: "Snapshot Delete", Example: "  snapshot-delete vm1 s1\n  snapshot-delete vm1 --current --metadata"}
	c.Domain(&o.dom, "")
	c.String(&o.name, "snapshotname", "snapshot name", spec.Unwanted, false).Complete(spec.Snapshot)
	c.Bool(&o.current, "current", "delete current snapshot")
	c.Bool(&o.children, "children", "delete snapshot and all children")
	c.Bool(&o.childrenOnly, "children-only", "delete children but not snapshot")
	c.Bool(&o.meta, "metadata", "delete only libvirt metadata, leaving snapshot contents behind")
	c.Run = env.onDomain(&o.dom, func(ctx context.Context, dom *libvirt.Domain) error {
		sn, err := lookupSnapshot(dom, "snapshotname", o.name, c.Given("snapshotname"), o.current)
		if err != nil {
			return err
		}
		defer sn.Free()
		name, err := sn.GetName()
		if err != nil {
			return err
		}
		flags := flagsOf([]flagIf[libvirt.DomainSnapshotDeleteFlags]{
			{o.children, libvirt.DOMAIN_SNAPSHOT_DELETE_CHILDREN}, {o.childrenOnly, libvirt.DOMAIN_SNAPSHOT_DELETE_CHILDREN_ONLY},
			{o.meta, libvirt.DOMAIN_SNAPSHOT_DELETE_METADATA_ONLY},
		})
		if err := sn.Delete(flags); err != nil {
			return msgThenCause(fmt.Sprintf("Failed to delete snapshot %s", name), err)
		}
		if o.childrenOnly {
			env.IO.Extra("Domain snapshot %s children deleted\n", name)
		} else {
			env.IO.Extra("Domain snapshot %s deleted\n", name)
		}
		return nil
	})
	return c
}

// lookupSnapshot is virshLookupSnapshot: the snapshot option opt names
// (given), or the current one.
func lookupSnapshot(dom *libvirt.Domain, opt, name string, given, current bool) (*libvirt.DomainSnapshot, error) {
	switch {
	case given && current:
		return nil, fmt.Errorf("--%s and --current are mutually exclusive", opt)
	case given:
		return dom.SnapshotLookupByName(name, 0)
	case current:
		return dom.SnapshotCurrent(0)
	}
	return nil, fmt.Errorf("--%s or --current is required", opt)
}

// snapshotView is one snapshot for -o json|yaml and the table.
type snapshotView struct {
	Name         string `json:"name" yaml:"name"`
	Parent       string `json:"parent,omitempty" yaml:"parent,omitempty"`
	CreationTime int64  `json:"creation_time" yaml:"creation_time"`
	State        string `json:"state" yaml:"state"`
	Description  string `json:"description,omitempty" yaml:"description,omitempty"`
}

func newSnapshotListCmd(env *Env) *spec.Command {
	var o struct {
		dom, from                                                                        string
		parent, roots, leaves, noLeaves, meta, noMeta, inactive, active, diskOnly, inter bool
		external, tree, current, descendants, name, topo                                 bool
	}
	c := &spec.Command{Short: "List snapshots for a domain", Long: "Snapshot List", Example: "  snapshot-list vm1 --parent\n  snapshot-list vm1 --tree"}
	c.Domain(&o.dom, "")
	c.Bool(&o.parent, "parent", "add a column showing parent snapshot")
	c.Bool(&o.roots, "roots", "list only snapshots without parents")
	c.Bool(&o.leaves, "leaves", "list only snapshots without children")
	c.Bool(&o.noLeaves, "no-leaves", "list only snapshots that are not leaves (with children)")
	c.Bool(&o.meta, "metadata", "list only snapshots that have metadata that would prevent undefine")
	c.Bool(&o.noMeta, "no-metadata", "list only snapshots that have no metadata managed by libvirt")
	c.Bool(&o.inactive, "inactive", "filter by snapshots taken while inactive")
	c.Bool(&o.active, "active", "filter by snapshots taken while active (full system snapshots)")
	c.Bool(&o.diskOnly, "disk-only", "filter by disk-only snapshots")
	c.Bool(&o.inter, "internal", "filter by internal snapshots")
	c.Bool(&o.external, "external", "filter by external snapshots")
	c.Bool(&o.tree, "tree", "list snapshots in a tree")
	c.String(&o.from, "from", "limit list to children of given snapshot", spec.Named, false).Complete(spec.Snapshot)
	c.Bool(&o.current, "current", "limit list to children of current snapshot")
	c.Bool(&o.descendants, "descendants", "with --from, list all descendants")
	c.Bool(&o.name, "name", "list snapshot names only")
	c.Bool(&o.topo, "topological", "sort list topologically rather than by name")
	outputOption(c, env.IO)
	// virsh 9.x lets --parent go with --name (and prints the names only).
	for _, ex := range [][2]string{{"tree", "name"}, {"parent", "roots"}, {"parent", "tree"}, {"roots", "tree"}, {"roots", "from"}, {"roots", "current"}} {
		c.Exclusive(ex[0], ex[1])
	}
	list := env.onDomain(&o.dom, func(ctx context.Context, dom *libvirt.Domain) error {
		var err error
		flags := flagsOf([]flagIf[libvirt.DomainSnapshotListFlags]{{o.roots, libvirt.DOMAIN_SNAPSHOT_LIST_ROOTS}, {o.leaves, libvirt.DOMAIN_SNAPSHOT_LIST_LEAVES},
			{o.noLeaves, libvirt.DOMAIN_SNAPSHOT_LIST_NO_LEAVES}, {o.meta, libvirt.DOMAIN_SNAPSHOT_LIST_METADATA},
			{o.noMeta, libvirt.DOMAIN_SNAPSHOT_LIST_NO_METADATA}, {o.inactive, libvirt.DOMAIN_SNAPSHOT_LIST_INACTIVE},
			{o.active, libvirt.DOMAIN_SNAPSHOT_LIST_ACTIVE}, {o.diskOnly, libvirt.DOMAIN_SNAPSHOT_LIST_DISK_ONLY},
			{o.inter, libvirt.DOMAIN_SNAPSHOT_LIST_INTERNAL}, {o.external, libvirt.DOMAIN_SNAPSHOT_LIST_EXTERNAL},
			{o.topo, libvirt.DOMAIN_SNAPSHOT_LIST_TOPOLOGICAL}})
		var snaps []libvirt.DomainSnapshot
		var rootView *snapshotView
		if c.Given("from") || o.current {
			from, err := lookupSnapshot(dom, "from", o.from, c.Given("from"), o.current)
			if err != nil {
				return err
			}
			defer from.Free()
			// As virsh 9.x: --tree from a snapshot shows its children
			// only, unless --descendants.
			if o.descendants {
				flags |= libvirt.DOMAIN_SNAPSHOT_LIST_DESCENDANTS
			}
			snaps, err = from.ListAllChildren(flags)
			if err != nil {
				return err
			}
			if o.tree {
				// A tree from a snapshot starts at that snapshot, shown as
				// its root.
				v, err := snapshotViewOf(from)
				if err != nil {
					freeSnapshots(snaps)
					return err
				}
				v.Parent = ""
				rootView = &v
			}
		} else if snaps, err = dom.ListAllSnapshots(flags); err != nil {
			return err
		}
		defer freeSnapshots(snaps)
		views := make([]snapshotView, 0, len(snaps)+1)
		for i := range snaps {
			v, err := snapshotViewOf(&snaps[i])
			if err != nil {
				return err
			}
			views = append(views, v)
		}
		if rootView != nil {
			views = append(views, *rootView)
		}
		if !o.topo {
			// virsh sorts with vshStrcasecmp.
			sort.SliceStable(views, func(i, j int) bool { return strings.ToLower(views[i].Name) < strings.ToLower(views[j].Name) })
		}
		switch {
		case env.IO.Structured():
			return env.IO.Encode(views)
		case o.name:
			for _, v := range views {
				env.IO.Printf("%s\n", v.Name)
			}
			return nil
		case o.tree:
			printSnapshotTree(env, views)
			return nil
		}
		header := []string{"Name", "Creation Time", "State"}
		if o.parent {
			header = append(header, "Parent")
		}
		rows := make([][]string, 0, len(views))
		for _, v := range views {
			row := []string{v.Name, time.Unix(v.CreationTime, 0).Format("2006-01-02 15:04:05 -0700"), v.State}
			if o.parent {
				row = append(row, v.Parent)
			}
			rows = append(rows, row)
		}
		format.Table(env.IO.Out, env.IO.Quiet, header, rows)
		return nil
	})
	c.Hosts = spec.EachHost // a read: on every selected host
	c.Run = func(ctx context.Context) error {
		if o.tree {
			for _, f := range []struct {
				on   bool
				name string
			}{{o.leaves, "leaves"}, {o.noLeaves, "no-leaves"}, {o.inactive, "inactive"}, {o.active, "active"},
				{o.diskOnly, "disk-only"}, {o.inter, "internal"}, {o.external, "external"}} {
				if f.on {
					return fmt.Errorf("--%s and --tree are mutually exclusive", f.name)
				}
			}
		}
		if o.descendants && !c.Given("from") && !o.current {
			return errors.New("--descendants requires either --from or --current")
		}
		return list(ctx)
	}
	return c
}

// snapshotViewOf is one snapshot-list row, read from the snapshot's XML.
func snapshotViewOf(s *libvirt.DomainSnapshot) (snapshotView, error) {
	x, err := s.GetXMLDesc(0)
	if err != nil {
		return snapshotView{}, err
	}
	var def libvirtxml.DomainSnapshot
	if err := def.Unmarshal(x); err != nil {
		return snapshotView{}, err
	}
	v := snapshotView{Name: def.Name, State: def.State, Description: def.Description}
	v.CreationTime, _ = strconv.ParseInt(def.CreationTime, 10, 64)
	if def.Parent != nil {
		v.Parent = def.Parent.Name
	}
	return v, nil
}

func freeSnapshots(snaps []libvirt.DomainSnapshot) {
	for i := range snaps {
		_ = snaps[i].Free()
	}
}

// printSnapshotTree is virsh's vshTreePrint.
func printSnapshotTree(env *Env, views []snapshotView) {
	names := map[string]bool{}
	for _, v := range views {
		names[v.Name] = true
	}
	parentOf := func(i int) string {
		if names[views[i].Parent] {
			return views[i].Parent
		}
		return ""
	}
	var rec func(dev, last int, root bool, indent string)
	rec = func(dev, last int, root bool, indent string) {
		if root {
			env.IO.Printf("%s%s\n", indent, views[dev].Name)
		} else {
			env.IO.Printf("%s+- %s\n", indent, views[dev].Name)
			if dev == last {
				indent += " "
			} else {
				indent += "|"
			}
			indent += " "
		}
		nextLast := -1
		for i := range views {
			if parentOf(i) == views[dev].Name {
				nextLast = i
			}
		}
		if nextLast != -1 {
			env.IO.Printf("%s  |\n", indent)
		}
		for i := range views {
			if parentOf(i) == views[dev].Name {
				rec(i, nextLast, false, indent+"  ")
			}
		}
		if nextLast == -1 && dev == last {
			env.IO.Printf("%s\n", indent)
		}
	}
	lastRoot := -1
	for i := range views {
		if parentOf(i) == "" {
			lastRoot = i
		}
	}
	for i := range views {
		if parentOf(i) == "" {
			rec(i, lastRoot, true, "")
		}
	}
}

// snapshotNameOpts declares the pair that names one snapshot in virsh's
// snapshot commands: --snapshotname (also the second bare word) and
// --current, with --current's help as the command gives it.
func snapshotNameOpts(c *spec.Command, name *string, current *bool, nameHelp, currentHelp string) {
	c.String(name, "snapshotname", nameHelp, spec.Unwanted, false).Complete(spec.Snapshot)
	c.Bool(current, "current", currentHelp)
}

// onSnapshot is the run function of a command on one snapshot, named by
// --snapshotname or --current (virshLookupSnapshot with exclusive set):
// the domain and the snapshot, freed when run returns.
func (e *Env) onSnapshot(c *spec.Command, dom, name *string, current *bool, run func(ctx context.Context, d *libvirt.Domain, sn *libvirt.DomainSnapshot, name string) error) func(context.Context) error {
	return e.onDomain(dom, func(ctx context.Context, d *libvirt.Domain) error {
		sn, err := lookupSnapshot(d, "snapshotname", *name, c.Given("snapshotname"), *current)
		if err != nil {
			return err
		}
		defer sn.Free()
		n, err := sn.GetName()
		if err != nil {
			return err
		}
		return run(ctx, d, sn, n)
	})
}

// ---- snapshot-create ----

func newSnapshotCreateCmd(env *Env) *spec.Command {
	var o struct {
		dom, file                                                         string
		redefine, current, noMeta, halt, diskOnly, reuse, quiesce, atomic bool
		live, validate                                                    bool
	}
	c := &spec.Command{Short: "Create a snapshot from XML", Long: "Create a snapshot (disk and RAM) from XML",
		Example: "  snapshot-create vm1 s1.xml\n  snapshot-create vm1 s1.xml --redefine --current   # metadata back after undefine"}
	c.Domain(&o.dom, "")
	c.String(&o.file, "xmlfile", "domain snapshot XML", spec.Unwanted, false).Complete(spec.File)
	c.Bool(&o.redefine, "redefine", "redefine metadata for existing snapshot")
	c.Bool(&o.current, "current", "with redefine, set current snapshot")
	c.Bool(&o.noMeta, "no-metadata", "take snapshot but create no metadata")
	c.Bool(&o.halt, "halt", "halt domain after snapshot is created")
	c.Bool(&o.diskOnly, "disk-only", "capture disk state but not vm state")
	c.Bool(&o.reuse, "reuse-external", "reuse any existing external files")
	c.Bool(&o.quiesce, "quiesce", "quiesce guest's file systems")
	c.Bool(&o.atomic, "atomic", "require atomic operation")
	c.Bool(&o.live, "live", "take a live snapshot")
	c.Bool(&o.validate, "validate", "validate the XML against the schema")
	c.Run = env.onDomain(&o.dom, func(ctx context.Context, dom *libvirt.Domain) error {
		flags := flagsOf([]flagIf[libvirt.DomainSnapshotCreateFlags]{
			{o.redefine, libvirt.DOMAIN_SNAPSHOT_CREATE_REDEFINE}, {o.current, libvirt.DOMAIN_SNAPSHOT_CREATE_CURRENT},
			{o.noMeta, libvirt.DOMAIN_SNAPSHOT_CREATE_NO_METADATA}, {o.halt, libvirt.DOMAIN_SNAPSHOT_CREATE_HALT},
			{o.diskOnly, libvirt.DOMAIN_SNAPSHOT_CREATE_DISK_ONLY}, {o.reuse, libvirt.DOMAIN_SNAPSHOT_CREATE_REUSE_EXT},
			{o.quiesce, libvirt.DOMAIN_SNAPSHOT_CREATE_QUIESCE}, {o.atomic, libvirt.DOMAIN_SNAPSHOT_CREATE_ATOMIC},
			{o.live, libvirt.DOMAIN_SNAPSHOT_CREATE_LIVE}, {o.validate, libvirt.DOMAIN_SNAPSHOT_CREATE_VALIDATE},
		})
		doc := "<domainsnapshot/>"
		if o.file != "" {
			var err error
			if doc, err = readXMLFile(o.file); err != nil {
				return err
			}
		}
		return createSnapshot(env, dom, doc, flags, o.file)
	})
	return c
}

// ---- snapshot-info ----

// snapshotInfoView is `snapshot-info -o json|yaml`: virsh's lines, typed.
type snapshotInfoView struct {
	Name        string `json:"name" yaml:"name"`
	Domain      string `json:"domain" yaml:"domain"`
	Current     bool   `json:"current" yaml:"current"`
	State       string `json:"state" yaml:"state"`
	Location    string `json:"location" yaml:"location"`
	Parent      string `json:"parent" yaml:"parent"`
	Children    int    `json:"children" yaml:"children"`
	Descendants int    `json:"descendants" yaml:"descendants"`
	Metadata    bool   `json:"metadata" yaml:"metadata"`
}

func newSnapshotInfoCmd(env *Env) *spec.Command {
	var o struct {
		dom, name string
		current   bool
	}
	c := &spec.Command{Short: "snapshot information", Long: "Returns basic information about a snapshot.",
		Example: "  snapshot-info vm1 s1\n  snapshot-info vm1 --current -o json"}
	c.Domain(&o.dom, "")
	snapshotNameOpts(c, &o.name, &o.current, "snapshot name", "info on current snapshot")
	outputOption(c, env.IO)
	c.Run = env.onSnapshot(c, &o.dom, &o.name, &o.current, func(ctx context.Context, d *libvirt.Domain, sn *libvirt.DomainSnapshot, name string) error {
		v := snapshotInfoView{Name: name, Parent: "-"}
		v.Domain, _ = d.GetName()
		v.Current, _ = sn.IsCurrent(0)
		doc, err := sn.GetXMLDesc(0)
		if err != nil {
			return err
		}
		var def libvirtxml.DomainSnapshot
		if err := def.Unmarshal(doc); err != nil || def.State == "" {
			return errors.New("unexpected problem reading snapshot xml")
		}
		v.State, v.Location = def.State, "internal"
		if snapshotExternal(&def) {
			v.Location = "external"
		}
		if def.Parent != nil && def.Parent.Name != "" {
			v.Parent = def.Parent.Name
		}
		if v.Children, err = sn.NumChildren(0); err != nil {
			return err
		}
		if v.Descendants, err = sn.NumChildren(libvirt.DOMAIN_SNAPSHOT_LIST_DESCENDANTS); err != nil {
			return err
		}
		if v.Metadata, err = sn.HasMetadata(0); err != nil {
			return err
		}
		if env.IO.Structured() {
			if v.Parent == "-" {
				v.Parent = ""
			}
			return env.IO.Encode(v)
		}
		yesNo := map[bool]string{true: "yes", false: "no"}
		for _, l := range [][2]string{{"Name:", v.Name}, {"Domain:", v.Domain}, {"Current:", yesNo[v.Current]},
			{"State:", v.State}, {"Location:", v.Location}, {"Parent:", v.Parent},
			{"Children:", strconv.Itoa(v.Children)}, {"Descendants:", strconv.Itoa(v.Descendants)}, {"Metadata:", yesNo[v.Metadata]}} {
			env.IO.Printf("%-15s %s\n", l[0], l[1])
		}
		return nil
	})
	return c
}

// snapshotExternal is how virsh's snapshot-info tells the location: with a
// <memory> element, external when memory or any disk is; without one (old
// snapshots), when only the disks were taken.
func snapshotExternal(def *libvirtxml.DomainSnapshot) bool {
	if def.Memory == nil {
		return def.State == "disk-snapshot"
	}
	if def.Memory.Snapshot == "external" {
		return true
	}
	if def.Disks != nil {
		for _, disk := range def.Disks.Disks {
			if disk.Snapshot == "external" {
				return true
			}
		}
	}
	return false
}

// ---- snapshot-parent ----

func newSnapshotParentCmd(env *Env) *spec.Command {
	var o struct {
		dom, name string
		current   bool
	}
	c := &spec.Command{Short: "Get the name of the parent of a snapshot", Long: "Extract the snapshot's parent, if any",
		Example: "  snapshot-parent vm1 s2\n  snapshot-parent vm1 --current"}
	c.Domain(&o.dom, "")
	snapshotNameOpts(c, &o.name, &o.current, "find parent of snapshot name", "find parent of current snapshot")
	outputOption(c, env.IO)
	c.Run = env.onSnapshot(c, &o.dom, &o.name, &o.current, func(ctx context.Context, d *libvirt.Domain, sn *libvirt.DomainSnapshot, name string) error {
		p, err := sn.GetParent(0)
		var le libvirt.Error
		if errors.As(err, &le) && le.Code == libvirt.ERR_NO_DOMAIN_SNAPSHOT {
			return fmt.Errorf("snapshot '%s' has no parent", name)
		} else if err != nil {
			return causeThenMsg("unable to determine if snapshot has parent", err)
		}
		defer p.Free()
		parent, err := p.GetName()
		if err != nil {
			return err
		}
		if env.IO.Structured() {
			return env.IO.Encode(parentView{name, parent})
		}
		env.IO.Printf("%s", parent)
		return nil
	})
	return c
}

// ---- snapshot-current ----

// snapshotRedefineFlags are the flags that redefine a snapshot from its own
// XML: a disk-only snapshot must say so again (virsh looks for its state).
func snapshotRedefineFlags(doc string, flags libvirt.DomainSnapshotCreateFlags) libvirt.DomainSnapshotCreateFlags {
	flags |= libvirt.DOMAIN_SNAPSHOT_CREATE_REDEFINE
	if strings.Contains(doc, "<state>disk-snapshot</state>") {
		flags |= libvirt.DOMAIN_SNAPSHOT_CREATE_DISK_ONLY
	}
	return flags
}

func newSnapshotCurrentCmd(env *Env) *spec.Command {
	var o struct {
		dom, name     string
		onlyName, sec bool
	}
	c := &spec.Command{Short: "Get or set the current snapshot", Long: "Get or set the current snapshot",
		Example: "  snapshot-current vm1 --name\n  snapshot-current vm1 s1   # make s1 current"}
	c.Domain(&o.dom, "")
	c.Bool(&o.onlyName, "name", "list the name, rather than the full xml")
	c.Bool(&o.sec, "security-info", "include security sensitive information in XML dump")
	c.String(&o.name, "snapshotname", "name of existing snapshot to make current", spec.Unwanted, false).Complete(spec.Snapshot)
	outputOption(c, env.IO)
	c.Exclusive("name", "snapshotname")
	c.MutatingOptions("snapshotname")
	c.Run = env.onDomain(&o.dom, func(ctx context.Context, dom *libvirt.Domain) error {
		if c.Given("snapshotname") {
			sn, err := lookupSnapshot(dom, "snapshotname", o.name, true, false)
			if err != nil {
				return err
			}
			defer sn.Free()
			doc, err := sn.GetXMLDesc(libvirt.DOMAIN_SNAPSHOT_XML_SECURE)
			if err != nil {
				return err
			}
			again, err := dom.CreateSnapshotXML(doc, snapshotRedefineFlags(doc, libvirt.DOMAIN_SNAPSHOT_CREATE_CURRENT))
			if err != nil {
				return err
			}
			_ = again.Free()
			env.IO.Extra("Snapshot %s set as current", o.name)
			return nil
		}
		has, err := dom.HasCurrentSnapshot(0)
		if err != nil {
			return err
		}
		if !has {
			return fmt.Errorf("domain '%s' has no current snapshot", o.dom)
		}
		sn, err := dom.SnapshotCurrent(0)
		if err != nil {
			return err
		}
		defer sn.Free()
		name, err := sn.GetName()
		if err != nil {
			return err
		}
		if env.IO.Structured() {
			return env.IO.Encode(struct {
				Name string `json:"name" yaml:"name"`
			}{name})
		}
		if o.onlyName {
			env.IO.Printf("%s", name)
			return nil
		}
		var flags libvirt.DomainSnapshotXMLFlags
		if o.sec {
			flags = libvirt.DOMAIN_SNAPSHOT_XML_SECURE
		}
		doc, err := sn.GetXMLDesc(flags)
		if err != nil {
			return err
		}
		env.IO.Printf("%s", doc)
		return nil
	})
	return c
}

// ---- snapshot-revert ----

func newSnapshotRevertCmd(env *Env) *spec.Command {
	var o struct {
		dom, name                                string
		current, running, paused, force, resetNv bool
	}
	c := &spec.Command{Short: "Revert a domain to a snapshot", Long: "Revert domain to snapshot",
		Example: "  snapshot-revert vm1 s1\n  snapshot-revert vm1 --current --running"}
	c.Domain(&o.dom, "")
	snapshotNameOpts(c, &o.name, &o.current, "snapshot name", "revert to current snapshot")
	c.Bool(&o.running, "running", "after reverting, change state to running")
	c.Bool(&o.paused, "paused", "after reverting, change state to paused")
	c.Bool(&o.force, "force", "try harder on risky reverts")
	c.Bool(&o.resetNv, "reset-nvram", "re-initialize NVRAM from its pristine template")
	c.Run = env.onSnapshot(c, &o.dom, &o.name, &o.current, func(ctx context.Context, d *libvirt.Domain, sn *libvirt.DomainSnapshot, name string) error {
		flags := flagsOf([]flagIf[libvirt.DomainSnapshotRevertFlags]{
			{o.running, libvirt.DOMAIN_SNAPSHOT_REVERT_RUNNING}, {o.paused, libvirt.DOMAIN_SNAPSHOT_REVERT_PAUSED},
			{o.resetNv, libvirt.DOMAIN_SNAPSHOT_REVERT_RESET_NVRAM},
		})
		// As virsh: --force only when libvirt says the revert is risky, so
		// it works with servers that reject the flag.
		err := sn.RevertToSnapshot(flags)
		var le libvirt.Error
		if err != nil && o.force && errors.As(err, &le) && le.Code == libvirt.ERR_SNAPSHOT_REVERT_RISKY {
			err = sn.RevertToSnapshot(flags | libvirt.DOMAIN_SNAPSHOT_REVERT_FORCE)
		}
		if err != nil {
			return msgThenCause("Failed to revert snapshot "+name, err)
		}
		// The disks' images are others now (QEMU's nodes too); no event
		// says so.
		env.Sess.Nodes().RefillDomain(d, blocknodes.ReasonSnapshot)
		env.IO.Extra("Domain snapshot %s reverted\n", name)
		return nil
	})
	return c
}

// ---- snapshot-edit ----

func newSnapshotEditCmd(env *Env) *spec.Command {
	var o struct {
		dom, name              string
		current, rename, clone bool
	}
	c := &spec.Command{Short: "edit XML for a snapshot", Long: "Edit the domain snapshot XML for a named snapshot",
		Example: "  EDITOR=nano snapshot-edit vm1 s1\n  snapshot-edit vm1 s1 --rename"}
	c.Domain(&o.dom, "")
	snapshotNameOpts(c, &o.name, &o.current, "snapshot name", "also set edited snapshot as current")
	c.Bool(&o.rename, "rename", "allow renaming an existing snapshot")
	c.Bool(&o.clone, "clone", "allow cloning to new name")
	c.Exclusive("rename", "clone")
	c.Run = env.onDomain(&o.dom, func(ctx context.Context, dom *libvirt.Domain) error {
		given := c.Given("snapshotname")
		// Here --current with a name means "make it current", not a
		// second way to name it.
		sn, err := lookupSnapshot(dom, "snapshotname", o.name, given, o.current && !given)
		if err != nil {
			return err
		}
		defer sn.Free()
		name, _ := sn.GetName()
		var defineFlags libvirt.DomainSnapshotCreateFlags
		if o.current && given {
			defineFlags = libvirt.DOMAIN_SNAPSHOT_CREATE_CURRENT
		}
		var edited *libvirt.DomainSnapshot
		defer func() {
			if edited != nil {
				_ = edited.Free()
			}
		}()
		err = editXML(env, xmlEdit{
			get: func() (string, error) { return sn.GetXMLDesc(libvirt.DOMAIN_SNAPSHOT_XML_SECURE) },
			define: func(doc string) (err error) {
				edited, err = dom.CreateSnapshotXML(doc, snapshotRedefineFlags(doc, defineFlags))
				return err
			},
			unchanged:       fmt.Sprintf("Snapshot %s XML configuration not changed.\n", name),
			defineUnchanged: defineFlags != 0,
			done: func() error {
				newName, _ := edited.GetName()
				switch {
				case newName == name:
					env.IO.Extra("Snapshot %s edited.\n", name)
					return nil
				case o.clone:
					env.IO.Extra("Snapshot %s cloned to %s.\n", name, newName)
					return nil
				}
				gone, goneName := edited, newName
				if o.rename {
					gone, goneName = sn, name
				}
				if err := gone.Delete(libvirt.DOMAIN_SNAPSHOT_DELETE_METADATA_ONLY); err != nil {
					return causeThenMsg("Failed to clean up "+goneName, err)
				}
				if !o.rename {
					return fmt.Errorf("Must use --rename or --clone to change %s to %s", name, newName)
				}
				return nil
			},
		})
		if err != nil {
			if errors.Is(err, shell.ErrSilent) {
				err = nil
			}
			return causeThenMsg("Failed to update "+name, err)
		}
		return nil
	})
	return c
}
