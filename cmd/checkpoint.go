package cmd

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
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

// The "Checkpoint" group (virsh-checkpoint.c): checkpoints are the named
// points in time that incremental backups start from. Each one is a
// persistent dirty bitmap in every qcow2 disk it covers.

// checkpointNameOpt declares virsh 9.0's --checkpointname: not required by the
// parser (virsh reports "--checkpointname is required" itself) but filled by
// the second bare word.
func checkpointNameOpt(c *spec.Command, p *string, help string) {
	f := c.String(p, "checkpointname", help, spec.Unwanted, false)
	f.Complete(spec.Checkpoint)
}

// lookupCheckpoint is virshLookupCheckpoint.
func lookupCheckpoint(dom *libvirt.Domain, name, opt string) (*libvirt.DomainCheckpoint, error) {
	if name == "" {
		return nil, fmt.Errorf("--%s is required", opt)
	}
	return dom.CheckpointLookupByName(name, 0)
}

// checkpointArg is virshLookupCheckpoint for a command's <checkpointname>:
// an empty word is refused as vshCommandOptStringReq refuses it, then the
// checkpoint is looked up on d.
func checkpointArg(d *libvirt.Domain, name string) (*libvirt.DomainCheckpoint, error) {
	return lookupCheckpoint(d, name, "checkpointname")
}

// onCheckpoint is the run function of a command on one checkpoint: the
// domain, then its <checkpointname>, both freed when run returns. *name
// becomes the checkpoint's own name, which messages show.
func (e *Env) onCheckpoint(dom, name *string, run func(ctx context.Context, d *libvirt.Domain, cp *libvirt.DomainCheckpoint) error) func(context.Context) error {
	return e.onDomain(dom, func(ctx context.Context, d *libvirt.Domain) error {
		cp, err := checkpointArg(d, *name)
		if err != nil {
			return err
		}
		defer cp.Free()
		*name, _ = cp.GetName()
		return run(ctx, d, cp)
	})
}

// checkpointParent is virshGetCheckpointParent: "" with no error for a root.
func checkpointParent(cp *libvirt.DomainCheckpoint) (string, error) {
	p, err := cp.GetParent(0)
	if err == nil {
		defer func() { _ = p.Free() }()
		return p.GetName()
	}
	var le libvirt.Error
	if errors.As(err, &le) && le.Code == libvirt.ERR_NO_DOMAIN_CHECKPOINT {
		return "", nil
	}
	return "", causeThenMsg("unable to determine if checkpoint has parent", err)
}

// causeThenMsg is "libvirt's message, then ours" (vshReportError then
// vshError), the reverse of msgThenCause with the same arguments; each line
// of msg is one "error:" line.
func causeThenMsg(msg string, cause error) error {
	var lines []string
	if cause != nil {
		lines = append(lines, shell.MessageLines(cause)...)
	}
	return &shell.LinesError{Lines: append(lines, strings.Split(msg, "\n")...), Cause: cause}
}

// ---------------------------------------------------------------- create

func newCheckpointCreateCmd(env *Env) *spec.Command {
	var o struct {
		dom, file                   string
		redefine, validate, quiesce bool
	}
	c := &spec.Command{Short: "Create a checkpoint from XML", Long: "Create a checkpoint from XML for use in future incremental backups"}
	c.Example = "checkpoint-create vm cp.xml\ncheckpoint-create vm cp.xml --redefine   # restore metadata after checkpoint-delete --metadata"
	c.Domain(&o.dom, "active")
	f := c.String(&o.file, "xmlfile", "domain checkpoint XML", spec.Unwanted, false)
	f.Complete(spec.File)
	c.Bool(&o.redefine, "redefine", "redefine metadata for existing checkpoint")
	c.Bool(&o.validate, "redefine-validate", "validate the redefined checkpoint")
	c.Bool(&o.quiesce, "quiesce", "quiesce guest's file systems")
	c.Requires("redefine-validate", "redefine")
	c.Run = env.onDomain(&o.dom, func(ctx context.Context, dom *libvirt.Domain) error {
		flags := flagsOf([]flagIf[libvirt.DomainCheckpointCreateFlags]{
			{o.redefine, libvirt.DOMAIN_CHECKPOINT_CREATE_REDEFINE}, {o.validate, libvirt.DOMAIN_CHECKPOINT_CREATE_REDEFINE_VALIDATE},
			{o.quiesce, libvirt.DOMAIN_CHECKPOINT_CREATE_QUIESCE},
		})
		var doc string
		var err error
		if o.file == "" {
			doc, err = (&libvirtxml.DomainCheckpoint{}).Marshal()
			if err != nil {
				return err
			}
		} else if doc, err = readXMLFile(o.file); err != nil {
			return err
		}
		return createCheckpoint(env, dom, doc, flags, o.file)
	})
	return c
}

// createCheckpoint is virshCheckpointCreate. Its message has no newline:
// the blank line after every command ends it, as in virsh.
func createCheckpoint(env *Env, dom *libvirt.Domain, doc string, flags libvirt.DomainCheckpointCreateFlags, from string) error {
	cp, err := dom.CreateCheckpointXML(doc, flags)
	if err != nil {
		return err
	}
	// No libvirt event for checkpoints: tell the node-name cache.
	env.Sess.Nodes().RefillDomain(dom, blocknodes.ReasonCheckpoint)
	defer cp.Free()
	name, err := cp.GetName()
	if err != nil {
		return errors.New("Could not get checkpoint name")
	}
	if from != "" {
		env.IO.Extra("Domain checkpoint %s created from '%s'", name, from)
	} else {
		env.IO.Extra("Domain checkpoint %s created", name)
	}
	return nil
}

// ---------------------------------------------------------------- create-as

// diskspec is one parsed --diskspec: disk[,checkpoint=bitmap|no][,bitmap=NAME].
type diskspec struct {
	Name, Checkpoint, Bitmap string
}

// parseCheckpointDiskspec follows virshParseCheckpointDiskspec: the value is split on
// single commas (",," is a literal comma, vshStringToArray), the first field
// is the disk, then at most one checkpoint= and one bitmap=, in any order.
// Unlike virsh, an empty checkpoint= or bitmap= value is refused here: virsh
// would send checkpoint=” for libvirt to refuse, we cannot express that
// through libvirtxml (empty attributes are omitted, which would silently mean
// "default").
func parseCheckpointDiskspec(s string) (diskspec, error) {
	bad := fmt.Errorf("unable to parse diskspec: %s", s)
	fields := splitCommaList(s)
	var d diskspec
	d.Name = fields[0]
	seenCk, seenBm := false, false
	for _, f := range fields[1:] {
		switch {
		case !seenCk && strings.HasPrefix(f, "checkpoint="):
			d.Checkpoint, seenCk = f[len("checkpoint="):], true
			if d.Checkpoint == "" {
				return diskspec{}, bad
			}
		case !seenBm && strings.HasPrefix(f, "bitmap="):
			d.Bitmap, seenBm = f[len("bitmap="):], true
			if d.Bitmap == "" {
				return diskspec{}, bad
			}
		default:
			return diskspec{}, bad
		}
	}
	return d, nil
}

func newCheckpointCreateAsCmd(env *Env) *spec.Command {
	var o struct {
		dom, name, desc   string
		printXML, quiesce bool
		diskspecs         []string
	}
	c := &spec.Command{Short: "Create a checkpoint from a set of args", Long: "Create a checkpoint from arguments for use in future incremental backups"}
	c.Example = "checkpoint-create-as vm cp1\ncheckpoint-create-as vm cp2 'before upgrade' --diskspec vda --diskspec vdb,checkpoint=no"
	c.Domain(&o.dom, "active")
	c.String(&o.name, "name", "name of checkpoint", spec.Unwanted, false).Complete(spec.Nothing)
	c.String(&o.desc, "description", "description of checkpoint", spec.Unwanted, false).Complete(spec.Nothing)
	c.Bool(&o.printXML, "print-xml", "print XML document rather than create")
	c.InertOptions("print-xml")
	c.Bool(&o.quiesce, "quiesce", "quiesce guest's file systems")
	f := c.Argv(&o.diskspecs, "diskspec", "disk attributes: disk[,checkpoint=type][,bitmap=name]", spec.Unwanted, false)
	f.Complete(spec.Disk)
	c.Run = func(ctx context.Context) error {
		var flags libvirt.DomainCheckpointCreateFlags
		if o.quiesce {
			flags |= libvirt.DOMAIN_CHECKPOINT_CREATE_QUIESCE
		}
		dom, err := env.lookupDomain(o.dom)
		if err != nil {
			return err
		}
		defer dom.Free()
		cp := libvirtxml.DomainCheckpoint{Name: o.name, Description: o.desc}
		if len(o.diskspecs) > 0 {
			cp.Disks = &libvirtxml.DomainCheckpointDisks{}
			for _, ds := range o.diskspecs {
				d, err := parseCheckpointDiskspec(ds)
				if err != nil {
					return err
				}
				cp.Disks.Disks = append(cp.Disks.Disks, libvirtxml.DomainCheckpointDisk{Name: d.Name, Checkpoint: d.Checkpoint, Bitmap: d.Bitmap})
			}
		}
		doc, err := cp.Marshal()
		if err != nil {
			return err
		}
		if o.printXML {
			pretty, err := libvirtStyleXML(doc)
			if err != nil {
				return err
			}
			env.IO.Printf("%s\n", pretty)
			return nil
		}
		return createCheckpoint(env, dom, doc, flags, "")
	}
	return c
}

// styledElem is one element of a document being re-serialised by
// libvirtStyleXMLEdit.
type styledElem struct {
	name     string
	attrs    []xml.Attr
	text     string
	children []*styledElem
}

// attr returns the value of the attribute called name, and whether it is set.
func (n *styledElem) attr(name string) (string, bool) {
	for _, a := range n.attrs {
		if a.Name.Space == "" && a.Name.Local == name {
			return a.Value, true
		}
	}
	return "", false
}

// reorderAttrs puts the attributes in the given order, keeping only those
// that are set and listed.
func (n *styledElem) reorderAttrs(names ...string) {
	var out []xml.Attr
	for _, name := range names {
		if v, ok := n.attr(name); ok {
			out = append(out, xml.Attr{Name: xml.Name{Local: name}, Value: v})
		}
	}
	n.attrs = out
}

// libvirtStyleXML re-serialises a document the way libvirt's virBuffer code
// writes it: two-space indentation, single-quoted attributes, empty elements
// self-closed, text-only elements on one line, and virBufferEscapeString's
// escapes. encoding/xml (used by libvirtxml) writes the same document with
// double quotes and open/close pairs; this keeps --print-xml byte-identical
// to virsh (checkpoint-create-as, snapshot-create-as, blockcopy).
func libvirtStyleXML(doc string) (string, error) {
	return libvirtStyleXMLEdit(doc, nil)
}

// libvirtStyleXMLEdit is libvirtStyleXML with a hook: edit, when not nil,
// sees every element (with its slash-separated path from the document
// element) before it is written, so a command can put attributes and
// children in the order virsh writes them where libvirtxml's order differs.
func libvirtStyleXMLEdit(doc string, edit func(path string, n *styledElem)) (string, error) {
	dec := xml.NewDecoder(strings.NewReader(doc))
	root := &styledElem{}
	stack := []*styledElem{root}
	for {
		tok, err := dec.RawToken()
		if err == io.EOF {
			break
		}
		if err != nil {
			return "", err
		}
		top := stack[len(stack)-1]
		switch t := tok.(type) {
		case xml.StartElement:
			n := &styledElem{name: qname(t.Name.Space, t.Name.Local), attrs: t.Attr}
			top.children = append(top.children, n)
			stack = append(stack, n)
		case xml.EndElement:
			// RawToken does not match tags; do it here.
			if len(stack) < 2 || top.name != qname(t.Name.Space, t.Name.Local) {
				return "", fmt.Errorf("malformed XML: unexpected </%s>", qname(t.Name.Space, t.Name.Local))
			}
			stack = stack[:len(stack)-1]
		case xml.CharData:
			top.text += string(t)
		}
	}
	if len(stack) != 1 {
		return "", errors.New("malformed XML: unclosed element")
	}
	var b strings.Builder
	var write func(n *styledElem, indent, path string)
	write = func(n *styledElem, indent, path string) {
		if edit != nil {
			edit(path, n)
		}
		b.WriteString(indent + "<" + n.name)
		for _, a := range n.attrs {
			b.WriteString(" " + qname(a.Name.Space, a.Name.Local) + "='" + escapeXML(a.Value) + "'")
		}
		text := n.text
		if len(n.children) > 0 {
			text = strings.TrimSpace(text)
		}
		switch {
		case len(n.children) == 0 && text == "" && indent == "":
			// virsh writes the document element's tags on their own lines.
			b.WriteString(">\n</" + n.name + ">\n")
		case len(n.children) == 0 && text == "":
			b.WriteString("/>\n")
		case len(n.children) == 0:
			b.WriteString(">" + escapeXML(text) + "</" + n.name + ">\n")
		default:
			b.WriteString(">\n")
			for _, c := range n.children {
				write(c, indent+"  ", path+"/"+c.name)
			}
			b.WriteString(indent + "</" + n.name + ">\n")
		}
	}
	for _, c := range root.children {
		write(c, "", c.name)
	}
	return b.String(), nil
}

// ---------------------------------------------------------------- edit

func newCheckpointEditCmd(env *Env) *spec.Command {
	var dom, name string
	c := &spec.Command{Short: "edit XML for a checkpoint", Long: "Edit the domain checkpoint XML for a named checkpoint"}
	c.Example = "EDITOR=nano checkpoint-edit vm cp1"
	c.Domain(&dom, "has-checkpoint")
	checkpointNameOpt(c, &name, "checkpoint name")
	c.Run = env.onCheckpoint(&dom, &name, func(ctx context.Context, d *libvirt.Domain, cp *libvirt.DomainCheckpoint) error {
		if err := editCheckpoint(env, d, cp, name); err != nil {
			// Whatever failed, virsh ends with this line.
			if errors.Is(err, shell.ErrSilent) {
				err = nil
			}
			return causeThenMsg("Failed to update "+name, err)
		}
		return nil
	})
	return c
}

// editCheckpoint is virsh's cmdCheckpointEdit: the XML with secrets,
// redefined; an edit that renamed the checkpoint is undone (the redefined
// copy's metadata deleted) and refused.
func editCheckpoint(env *Env, d *libvirt.Domain, cp *libvirt.DomainCheckpoint, name string) error {
	var edited *libvirt.DomainCheckpoint
	defer func() {
		if edited != nil {
			_ = edited.Free()
		}
	}()
	return editXML(env, xmlEdit{
		get: func() (string, error) { return cp.GetXMLDesc(libvirt.DOMAIN_CHECKPOINT_XML_SECURE) },
		define: func(doc string) (err error) {
			edited, err = d.CreateCheckpointXML(doc, libvirt.DOMAIN_CHECKPOINT_CREATE_REDEFINE)
			return err
		},
		unchanged: fmt.Sprintf("Checkpoint %s XML configuration not changed.\n", name),
		done: func() error {
			newName, _ := edited.GetName()
			if newName == name {
				env.IO.Extra("Checkpoint %s edited.\n", name)
				return nil
			}
			if err := edited.Delete(libvirt.DOMAIN_CHECKPOINT_DELETE_METADATA_ONLY); err != nil {
				return causeThenMsg("Failed to clean up "+newName, err)
			}
			return fmt.Errorf("Cannot rename checkpoint %s to %s", name, newName)
		},
	})
}

// ---------------------------------------------------------------- info / parent / dumpxml / delete

// checkpointDiskView is one disk of a checkpoint, with what virsh does not
// show: the QEMU node the bitmap lives on and its size in bytes.
type checkpointDiskView struct {
	Disk       string  `json:"disk" yaml:"disk"`
	Checkpoint string  `json:"checkpoint" yaml:"checkpoint"`
	Bitmap     string  `json:"bitmap,omitempty" yaml:"bitmap,omitempty"`
	Node       string  `json:"node,omitempty" yaml:"node,omitempty"`
	Size       *uint64 `json:"size,omitempty" yaml:"size,omitempty"`
}

// parentView is `checkpoint-parent` and `snapshot-parent` under -o
// json|yaml.
type parentView struct {
	Name   string `json:"name" yaml:"name"`
	Parent string `json:"parent" yaml:"parent"`
}

type checkpointInfoView struct {
	Name         string               `json:"name" yaml:"name"`
	Domain       string               `json:"domain" yaml:"domain"`
	Parent       string               `json:"parent" yaml:"parent"`
	Children     int                  `json:"children" yaml:"children"`
	Descendants  int                  `json:"descendants" yaml:"descendants"`
	CreationTime int64                `json:"creation_time" yaml:"creation_time"`
	Description  string               `json:"description,omitempty" yaml:"description,omitempty"`
	Disks        []checkpointDiskView `json:"disks" yaml:"disks"`
}

// topNodes maps each disk target to the QEMU format node of its top image,
// where libvirt puts a checkpoint's bitmap, derived from the live XML as the
// node-name cache derives it (with the daemon's naming, which nodes knows),
// without the cache's check or its counters. Empty when the domain is not
// running (no indexes).
func topNodes(nodes *blocknodes.Cache, dom *libvirt.Domain) map[string]string {
	out := map[string]string{}
	if active, err := dom.IsActive(); err != nil || !active {
		return out
	}
	doc, err := dom.GetXMLDesc(0)
	if err != nil {
		return out
	}
	e, err := blocknodes.Derive(doc, nodes.Naming(dom))
	if err != nil {
		return out
	}
	for _, disk := range e.Disks {
		if n := disk.Chain[0].FormatNode; n != "" {
			out[disk.Target] = n
		}
	}
	return out
}

// checkpointXML fetches and parses a checkpoint's XML (without the domain).
func checkpointXML(cp *libvirt.DomainCheckpoint, size bool) (*libvirtxml.DomainCheckpoint, error) {
	flags := libvirt.DOMAIN_CHECKPOINT_XML_NO_DOMAIN
	if size {
		flags |= libvirt.DOMAIN_CHECKPOINT_XML_SIZE
	}
	doc, err := cp.GetXMLDesc(flags)
	if err != nil {
		return nil, err
	}
	var x libvirtxml.DomainCheckpoint
	if err := x.Unmarshal(doc); err != nil {
		return nil, err
	}
	return &x, nil
}

func diskViews(x *libvirtxml.DomainCheckpoint, nodes map[string]string, size bool) []checkpointDiskView {
	out := []checkpointDiskView{}
	if x.Disks == nil {
		return out
	}
	for _, d := range x.Disks.Disks {
		v := checkpointDiskView{Disk: d.Name, Checkpoint: d.Checkpoint, Bitmap: d.Bitmap}
		if d.Checkpoint == "bitmap" {
			v.Node = nodes[d.Name]
			if size {
				s := d.Size
				v.Size = &s
			}
		}
		out = append(out, v)
	}
	return out
}

func newCheckpointInfoCmd(env *Env) *spec.Command {
	var dom, name string
	var details, size bool
	c := &spec.Command{Short: "checkpoint information", Long: "Returns basic information about a checkpoint."}
	c.Example = "checkpoint-info vm cp1\ncheckpoint-info vm cp1 --details --size   # per disk: bitmap, QEMU node, dirty bytes\ncheckpoint-info vm cp1 -o json"
	c.Domain(&dom, "has-checkpoint")
	checkpointNameOpt(c, &name, "checkpoint name")
	c.Bool(&details, "details", "also show each disk's bitmap and the QEMU node holding it (virtsh)")
	c.Bool(&size, "size", "with --details or -o json: the bytes each bitmap marks dirty (running domain) (virtsh)")
	outputOption(c, env.IO)
	info := env.onCheckpoint(&dom, &name, func(ctx context.Context, d *libvirt.Domain, cp *libvirt.DomainCheckpoint) error {
		domName, _ := d.GetName()
		parent, err := checkpointParent(cp)
		if err != nil {
			return causeThenMsg("unexpected problem querying checkpoint state", err)
		}
		v := checkpointInfoView{Name: name, Domain: domName, Parent: parent}
		children, cerr := cp.ListAllChildren(0)
		noSupport := isNoSupport(cerr)
		if cerr != nil && !noSupport {
			return cerr
		}
		freeAll(children)
		v.Children = len(children)
		if !noSupport {
			desc, err := cp.ListAllChildren(libvirt.DOMAIN_CHECKPOINT_LIST_DESCENDANTS)
			if err != nil {
				return err
			}
			freeAll(desc)
			v.Descendants = len(desc)
		}
		if env.IO.Structured() || details {
			x, err := checkpointXML(cp, size)
			if err != nil {
				return err
			}
			v.CreationTime, _ = strconv.ParseInt(x.CreationTime, 10, 64)
			v.Description = x.Description
			v.Disks = diskViews(x, topNodes(env.Sess.Nodes(), d), size)
		}
		if env.IO.Structured() {
			return env.IO.Encode(v)
		}
		env.IO.Printf("%-15s %s\n", "Name:", v.Name)
		env.IO.Printf("%-15s %s\n", "Domain:", v.Domain)
		env.IO.Printf("%-15s %s\n", "Parent:", dashIfEmpty(v.Parent))
		if noSupport {
			return nil
		}
		env.IO.Printf("%-15s %d\n", "Children:", v.Children)
		env.IO.Printf("%-15s %d\n", "Descendants:", v.Descendants)
		if details {
			for _, dv := range v.Disks {
				line := fmt.Sprintf("%s %s", dv.Checkpoint, dashIfEmpty(dv.Bitmap))
				if dv.Checkpoint == "bitmap" {
					line += " on " + dashIfEmpty(dv.Node)
					if dv.Size != nil {
						line += fmt.Sprintf(", %d bytes dirty", *dv.Size)
					}
				}
				env.IO.Printf("%-15s %s\n", "Disk "+dv.Disk+":", line)
			}
		}
		return nil
	})
	c.Run = func(ctx context.Context) error {
		// -o json|yaml shows the details too, so this is no plain Requires rule.
		if size && !details && !env.IO.Structured() {
			return errors.New("Option --details is required by option --size")
		}
		return info(ctx)
	}
	return c
}

func freeAll(cps []libvirt.DomainCheckpoint) {
	for i := range cps {
		_ = cps[i].Free()
	}
}

func newCheckpointParentCmd(env *Env) *spec.Command {
	var dom, name string
	c := &spec.Command{Short: "Get the name of the parent of a checkpoint", Long: "Extract the checkpoint's parent, if any"}
	c.Domain(&dom, "has-checkpoint")
	checkpointNameOpt(c, &name, "find parent of checkpoint name")
	outputOption(c, env.IO)
	c.Run = env.onCheckpoint(&dom, &name, func(ctx context.Context, _ *libvirt.Domain, cp *libvirt.DomainCheckpoint) error {
		parent, err := checkpointParent(cp)
		if err != nil {
			return err
		}
		if parent == "" {
			return fmt.Errorf("checkpoint '%s' has no parent", name)
		}
		if env.IO.Structured() {
			return env.IO.Encode(parentView{name, parent})
		}
		// No newline, as virsh: the blank line after the command ends it.
		env.IO.Printf("%s", parent)
		return nil
	})
	return c
}

func newCheckpointDumpXMLCmd(env *Env) *spec.Command {
	var dom, name string
	var secure, noDomain, size bool
	var x xmlDump
	c := &spec.Command{Short: "Dump XML for a domain checkpoint", Long: "Checkpoint Dump XML"}
	c.Example = "checkpoint-dumpxml vm cp1 --no-domain\ncheckpoint-dumpxml vm cp1 --size --no-domain   # size='N': bytes changed since cp1"
	c.Domain(&dom, "has-checkpoint")
	checkpointNameOpt(c, &name, "checkpoint name")
	c.Bool(&secure, "security-info", "include security sensitive information in XML dump")
	c.Bool(&noDomain, "no-domain", "exclude <domain> from XML")
	c.Bool(&size, "size", "include backup size estimate in XML dump")
	x.declare(c, env)
	c.Run = env.onDomain(&dom, func(ctx context.Context, d *libvirt.Domain) error {
		flags := flagsOf([]flagIf[libvirt.DomainCheckpointXMLFlags]{
			{secure, libvirt.DOMAIN_CHECKPOINT_XML_SECURE}, {noDomain, libvirt.DOMAIN_CHECKPOINT_XML_NO_DOMAIN},
			{size, libvirt.DOMAIN_CHECKPOINT_XML_SIZE},
		})
		if err := x.check(c); err != nil {
			return err
		}
		cp, err := checkpointArg(d, name)
		if err != nil {
			return err
		}
		defer cp.Free()
		doc, err := cp.GetXMLDesc(flags)
		if err != nil {
			return err
		}
		return x.print(c, env, doc)
	})
	return c
}

func newCheckpointDeleteCmd(env *Env) *spec.Command {
	var dom, name string
	var children, childrenOnly, metadata bool
	c := &spec.Command{Short: "Delete a domain checkpoint", Long: "Checkpoint Delete"}
	c.Example = "checkpoint-delete vm cp1              # its bitmap is merged into the parent's\ncheckpoint-delete vm cp1 --children-only\ncheckpoint-delete vm cp1 --metadata   # forget it, keep the bitmaps"
	c.Domain(&dom, "has-checkpoint,active")
	checkpointNameOpt(c, &name, "checkpoint name")
	c.Bool(&children, "children", "delete checkpoint and all children")
	c.Bool(&childrenOnly, "children-only", "delete children but not checkpoint")
	c.Bool(&metadata, "metadata", "delete only libvirt metadata, leaving checkpoint contents behind")
	c.Run = env.onCheckpoint(&dom, &name, func(ctx context.Context, d *libvirt.Domain, cp *libvirt.DomainCheckpoint) error {
		flags := flagsOf([]flagIf[libvirt.DomainCheckpointDeleteFlags]{
			{children, libvirt.DOMAIN_CHECKPOINT_DELETE_CHILDREN}, {childrenOnly, libvirt.DOMAIN_CHECKPOINT_DELETE_CHILDREN_ONLY},
			{metadata, libvirt.DOMAIN_CHECKPOINT_DELETE_METADATA_ONLY},
		})
		if err := cp.Delete(flags); err != nil {
			return msgThenCause("Failed to delete checkpoint "+name, err)
		}
		env.Sess.Nodes().RefillDomain(d, blocknodes.ReasonCheckpoint)
		if childrenOnly {
			env.IO.Extra("Domain checkpoint %s children deleted\n", name)
		} else {
			env.IO.Extra("Domain checkpoint %s deleted\n", name)
		}
		return nil
	})
	return c
}

// ---------------------------------------------------------------- list

type checkpointListView struct {
	Name         string               `json:"name" yaml:"name"`
	Parent       string               `json:"parent" yaml:"parent"`
	CreationTime int64                `json:"creation_time" yaml:"creation_time"`
	Description  string               `json:"description,omitempty" yaml:"description,omitempty"`
	Disks        []checkpointDiskView `json:"disks" yaml:"disks"`
}

// chkEntry is virshChk: a checkpoint and, in tree mode, its parent's name.
type chkEntry struct {
	cp     *libvirt.DomainCheckpoint
	name   string
	parent string
	hasPar bool
}

// checkpointListOpts are checkpoint-list's options.
type checkpointListOpts struct {
	dom, from                                          string
	parent, roots, leaves, noLeaves, tree, descendants bool
	name, topological, details, size                   bool
}

func newCheckpointListCmd(env *Env) *spec.Command {
	var o checkpointListOpts
	c := &spec.Command{Short: "List checkpoints for a domain", Long: "Checkpoint List"}
	c.Example = "checkpoint-list vm --tree\ncheckpoint-list vm --parent --topological\ncheckpoint-list vm --details --size   # per disk bitmap, node, dirty bytes\ncheckpoint-list vm -o json"
	c.Domain(&o.dom, "has-checkpoint")
	c.Bool(&o.parent, "parent", "add a column showing parent checkpoint")
	c.Bool(&o.roots, "roots", "list only checkpoints without parents")
	c.Bool(&o.leaves, "leaves", "list only checkpoints without children")
	c.Bool(&o.noLeaves, "no-leaves", "list only checkpoints that are not leaves (with children)")
	c.Bool(&o.tree, "tree", "list checkpoints in a tree")
	f := c.String(&o.from, "from", "limit list to children of given checkpoint", spec.Named, false)
	f.Complete(spec.Checkpoint)
	c.Bool(&o.descendants, "descendants", "with --from, list all descendants")
	c.Bool(&o.name, "name", "list checkpoint names only")
	c.Bool(&o.topological, "topological", "sort list topologically rather than by name")
	c.Bool(&o.details, "details", "one row per disk: bitmap and the QEMU node holding it (virtsh)")
	c.Bool(&o.size, "size", "with --details or -o json: the bytes each bitmap marks dirty (running domain) (virtsh)")
	outputOption(c, env.IO)
	for _, ex := range [][2]string{{"tree", "name"}, {"parent", "roots"}, {"parent", "tree"}, {"roots", "tree"},
		{"roots", "from"}, {"details", "tree"}, {"details", "name"}} {
		c.Exclusive(ex[0], ex[1])
	}
	c.Hosts = spec.EachHost // a read: on every selected host
	c.Run = func(ctx context.Context) error { return runCheckpointList(env, c, &o) }
	return c
}

// listFlags are the libvirt flags of the options, with virsh's checks of
// the filters that do not go with --tree or need --from.
func (o *checkpointListOpts) listFlags(from bool) (libvirt.DomainCheckpointListFlags, error) {
	var flags libvirt.DomainCheckpointListFlags
	for _, fl := range []struct {
		on   bool
		name string
		flag libvirt.DomainCheckpointListFlags
	}{{o.leaves, "leaves", libvirt.DOMAIN_CHECKPOINT_LIST_LEAVES}, {o.noLeaves, "no-leaves", libvirt.DOMAIN_CHECKPOINT_LIST_NO_LEAVES}} {
		if fl.on {
			if o.tree {
				return 0, fmt.Errorf("--%s and --tree are mutually exclusive", fl.name)
			}
			flags |= fl.flag
		}
	}
	if o.topological {
		flags |= libvirt.DOMAIN_CHECKPOINT_LIST_TOPOLOGICAL
	}
	if o.roots {
		flags |= libvirt.DOMAIN_CHECKPOINT_LIST_ROOTS
	}
	if o.descendants {
		if !from {
			return 0, errors.New("--descendants requires --from")
		}
		flags |= libvirt.DOMAIN_CHECKPOINT_LIST_DESCENDANTS
	}
	return flags, nil
}

// runCheckpointList is virsh's cmdCheckpointList, with virtsh's --details,
// --size and -o.
func runCheckpointList(env *Env, c *spec.Command, o *checkpointListOpts) error {
	from := c.Given("from")
	flags, err := o.listFlags(from)
	if err != nil {
		return err
	}
	// -o json|yaml shows the details too, so this is no plain Requires rule.
	if o.size && !o.details && !env.IO.Structured() {
		return errors.New("Option --details is required by option --size")
	}
	d, err := env.lookupDomain(o.dom)
	if err != nil {
		return err
	}
	defer d.Free()
	var start *libvirt.DomainCheckpoint
	if from {
		if start, err = lookupCheckpoint(d, o.from, "from"); err != nil {
			return err
		}
		defer start.Free()
	}
	list, err := collectCheckpoints(d, start, flags, o.tree)
	if err != nil {
		return err
	}
	defer func() {
		for _, e := range list {
			_ = e.cp.Free()
		}
	}()
	switch {
	case env.IO.Structured():
		return encodeCheckpointList(env, d, list, o.size)
	case o.tree:
		for i, e := range list {
			if !e.hasPar {
				printTree(env.IO, list, i)
			}
		}
		return nil
	case o.name:
		for _, e := range list {
			env.IO.Printf("%s\n", e.name)
		}
		return nil
	}
	return printCheckpointTable(env, d, list, o)
}

// printCheckpointTable is checkpoint-list's table: name, creation time and
// maybe the parent; with --details one row per disk.
func printCheckpointTable(env *Env, d *libvirt.Domain, list []chkEntry, o *checkpointListOpts) error {
	header := []string{"Name", "Creation Time"}
	if o.parent {
		header = append(header, "Parent")
	}
	var nodes map[string]string
	if o.details {
		header = append(header, "Disk", "Checkpoint", "Bitmap", "Node")
		if o.size {
			header = append(header, "Size")
		}
		nodes = topNodes(env.Sess.Nodes(), d)
	}
	var rows [][]string
	for _, e := range list {
		x, err := checkpointXML(e.cp, o.size)
		if err != nil {
			if o.size {
				return err
			}
			continue // virsh skips a checkpoint whose XML it cannot read
		}
		secs, err := strconv.ParseInt(x.CreationTime, 10, 64)
		if err != nil {
			continue
		}
		row := []string{e.name, time.Unix(secs, 0).Format("2006-01-02 15:04:05 -0700")}
		if o.parent {
			p := ""
			if x.Parent != nil {
				p = x.Parent.Name
			}
			row = append(row, p)
		}
		if !o.details {
			rows = append(rows, row)
			continue
		}
		rows = append(rows, checkpointDiskRows(row, diskViews(x, nodes, o.size), o.size)...)
	}
	return format.Table(env.IO.Out, env.IO.Quiet, header, rows)
}

// checkpointDiskRows are one checkpoint's --details rows: row's columns on
// the first, blank on the others, then one disk each.
func checkpointDiskRows(row []string, disks []checkpointDiskView, size bool) [][]string {
	if len(disks) == 0 {
		disks = []checkpointDiskView{{Disk: "-", Checkpoint: "-"}}
	}
	var rows [][]string
	for i, dv := range disks {
		r := append([]string(nil), row...)
		if i > 0 {
			for j := range r {
				r[j] = ""
			}
		}
		r = append(r, dv.Disk, dv.Checkpoint, dashIfEmpty(dv.Bitmap), dashIfEmpty(dv.Node))
		if size {
			if dv.Size != nil {
				r = append(r, strconv.FormatUint(*dv.Size, 10))
			} else {
				r = append(r, "-")
			}
		}
		rows = append(rows, r)
	}
	return rows
}

func dashIfEmpty(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// collectCheckpoints is virshCheckpointListCollect.
func collectCheckpoints(d *libvirt.Domain, from *libvirt.DomainCheckpoint, flags libvirt.DomainCheckpointListFlags, tree bool) ([]chkEntry, error) {
	var cps []libvirt.DomainCheckpoint
	var err error
	if from != nil {
		cps, err = from.ListAllChildren(flags)
	} else {
		cps, err = d.ListAllCheckpoints(flags)
	}
	if err != nil {
		return nil, causeThenMsg("unexpected problem querying checkpoints", err)
	}
	list := make([]chkEntry, 0, len(cps)+1)
	for i := range cps {
		cp := cps[i]
		name, _ := cp.GetName()
		list = append(list, chkEntry{cp: &cp, name: name})
	}
	if tree {
		for i := range list {
			p, err := checkpointParent(list[i].cp)
			if err != nil {
				for _, e := range list {
					_ = e.cp.Free()
				}
				return nil, err
			}
			list[i].parent, list[i].hasPar = p, p != ""
		}
		if from != nil {
			// With --from and --tree the start point is the root.
			name, _ := from.GetName()
			if err := from.Ref(); err == nil {
				list = append(list, chkEntry{cp: from, name: name})
			}
		}
	}
	if flags&libvirt.DOMAIN_CHECKPOINT_LIST_TOPOLOGICAL == 0 {
		sort.SliceStable(list, func(i, j int) bool {
			return strings.ToLower(list[i].name) < strings.ToLower(list[j].name)
		})
	}
	return list, nil
}

// printTree is vshTreePrint: the same characters, indentation and the
// trailing indented line after the last leaf of each branch.
func printTree(out *format.IO, list []chkEntry, root int) {
	var indent strings.Builder
	var walk func(id, last int, isRoot bool)
	walk = func(id, last int, isRoot bool) {
		dev := list[id].name
		prefix := ""
		if !isRoot {
			prefix = "+- "
		}
		out.Printf("%s%s%s\n", indent.String(), prefix, dev)
		if !isRoot {
			if id == last {
				indent.WriteString("  ")
			} else {
				indent.WriteString("| ")
			}
		}
		nextLast := -1
		for i, e := range list {
			if e.hasPar && e.parent == dev {
				nextLast = i
			}
		}
		if nextLast != -1 {
			out.Printf("%s  |\n", indent.String())
		}
		indent.WriteString("  ")
		for i, e := range list {
			if e.hasPar && e.parent == dev {
				walk(i, nextLast, false)
			}
		}
		trim(&indent, 2)
		if nextLast == -1 && id == last {
			out.Printf("%s\n", indent.String())
		}
		if !isRoot {
			trim(&indent, 2)
		}
	}
	walk(root, root, true)
}

func trim(b *strings.Builder, n int) {
	s := b.String()
	b.Reset()
	b.WriteString(s[:len(s)-n])
}

func encodeCheckpointList(env *Env, d *libvirt.Domain, list []chkEntry, size bool) error {
	nodes := topNodes(env.Sess.Nodes(), d)
	views := []checkpointListView{}
	for _, e := range list {
		x, err := checkpointXML(e.cp, size)
		if err != nil {
			return err
		}
		v := checkpointListView{Name: e.name, Description: x.Description, Disks: diskViews(x, nodes, size)}
		if x.Parent != nil {
			v.Parent = x.Parent.Name
		}
		v.CreationTime, _ = strconv.ParseInt(x.CreationTime, 10, 64)
		views = append(views, v)
	}
	return env.IO.Encode(views)
}
