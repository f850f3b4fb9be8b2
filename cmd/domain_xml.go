package cmd

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/antchfx/xpath"
	"libvirt.org/go/libvirt"

	"github.com/virtsh/virtsh/shell"
	"github.com/virtsh/virtsh/shell/spec"
)

// dumpxml and edit (virsh-domain.c), and the --xpath support virsh has in
// virshDumpXML (virsh-util.c).

type dumpxmlView struct {
	XML     string   `json:"xml,omitempty" yaml:"xml,omitempty"`
	Matches []string `json:"matches,omitempty" yaml:"matches,omitempty"`
}

func newDumpxmlCmd(env *Env) *spec.Command {
	var o struct {
		dom                               string
		inactive, secure, updateCPU, migr bool
		x                                 xmlDump
	}
	c := &spec.Command{Short: "domain information in XML", Long: "Output the domain information as an XML dump to stdout."}
	c.Example = "dumpxml vm1\ndumpxml vm1 --inactive --security-info\ndumpxml vm1 --xpath //disk/source/@file\ndumpxml vm1 --xpath //disk --wrap"
	c.Domain(&o.dom, "")
	c.Bool(&o.inactive, "inactive", "show inactive defined XML")
	c.Bool(&o.secure, "security-info", "include security sensitive information in XML dump")
	c.Bool(&o.updateCPU, "update-cpu", "update guest CPU according to host CPU")
	c.Bool(&o.migr, "migratable", "provide XML suitable for migrations")
	o.x.declare(c, env)
	c.Run = env.onDomain(&o.dom, func(ctx context.Context, d *libvirt.Domain) error {
		flags := flagsOf([]flagIf[libvirt.DomainXMLFlags]{{o.inactive, libvirt.DOMAIN_XML_INACTIVE}, {o.secure, libvirt.DOMAIN_XML_SECURE},
			{o.updateCPU, libvirt.DOMAIN_XML_UPDATE_CPU}, {o.migr, libvirt.DOMAIN_XML_MIGRATABLE}})
		if err := o.x.check(c); err != nil {
			return err
		}
		x, err := d.GetXMLDesc(flags)
		if err != nil {
			return err
		}
		return o.x.print(c, env, x)
	})
	return c
}

// xmlDump is the --xpath/--wrap pair every *-dumpxml command has in virsh
// 9.0 (virshDumpXML, virsh-util.c), plus virtsh's -o json|yaml. Commands
// declare it with declare, check the option before touching libvirt, and
// hand the document to print.
type xmlDump struct {
	xpath string
	wrap  bool
}

// declare adds --xpath (only as --xpath, VSH_OFLAG_REQ_OPT in virsh),
// --wrap and -o. An empty --xpath gets past the option rules: virsh reads it
// quietly and fails without a message (see check).
func (x *xmlDump) declare(c *spec.Command, env *Env) {
	c.String(&x.xpath, "xpath", "xpath expression to filter the XML document", spec.Named, false).Empty().Complete(spec.Nothing)
	c.Bool(&x.wrap, "wrap", "wrap xpath results in an common root element")
	outputOption(c, env.IO)
}

// check rejects an empty --xpath value the way virsh 9.0 does: the command
// fails (exit 1) without any message, after the domain lookup.
func (x *xmlDump) check(c *spec.Command) error {
	if c.Given("xpath") && x.xpath == "" {
		return shell.ErrSilent
	}
	return nil
}

// print writes doc as virsh does: whole when no --xpath was given (--wrap
// alone changes nothing), else each match of the expression on its own line,
// or all of them in one <nodes> element with --wrap. With -o json|yaml the
// document or the list of matches is encoded instead.
func (x *xmlDump) print(c *spec.Command, env *Env, doc string) error {
	if err := x.check(c); err != nil {
		return err
	}
	if x.xpath == "" {
		if env.IO.Structured() {
			return env.IO.Encode(dumpxmlView{XML: doc})
		}
		env.IO.Printf("%s", doc)
		return nil
	}
	parts, err := xpathSelect(doc, x.xpath, x.wrap)
	if err != nil {
		return err
	}
	if env.IO.Structured() {
		if parts == nil {
			parts = []string{}
		}
		return env.IO.Encode(dumpxmlView{Matches: parts})
	}
	for _, p := range parts {
		env.IO.Printf("%s\n", p)
	}
	return nil
}

// xpathSelect evaluates expr on doc and serialises each node of the
// resulting node-set as libxml2's xmlNodeDump does for virsh (double-quoted
// attributes, two-space indentation, blank text dropped), or all of them
// inside one <nodes> element when wrap is set. Any XPath 1.0 expression that
// yields a node-set works; others get virsh's "Incorrect xpath" error.
func xpathSelect(doc, expr string, wrap bool) (out []string, err error) {
	root, err := parseXMLTree(doc)
	if err != nil {
		return nil, fmt.Errorf("failed to parse XML: %v", err)
	}
	stripBlanks(root)
	comp, err := xpath.Compile(expr)
	if err != nil {
		return nil, fmt.Errorf("Invalid XPath expression '%s': %v", expr, err)
	}
	defer func() {
		// The XPath library panics on some odd expressions; a bad
		// expression must stay an error.
		if r := recover(); r != nil {
			out, err = nil, fmt.Errorf("Invalid XPath expression '%s': %v", expr, r)
		}
	}()
	it, ok := comp.Evaluate(newXNav(root)).(*xpath.NodeIterator)
	if !ok {
		return nil, fmt.Errorf("internal error: Incorrect xpath '%s'", expr)
	}
	var hits []xpathHit
	seen := map[xpathKey]bool{}
	for it.MoveNext() {
		nav := it.Current().(*xnav)
		h := xpathHit{node: nav.cur}
		if nav.attr != -1 {
			a := nav.cur.attrs[nav.attr]
			h.attr = true
			h.name = qname(a.prefix, a.local)
			h.value = a.value
			h.index = nav.attr
		}
		k := xpathKey{h.node, h.index, h.attr}
		if seen[k] {
			continue
		}
		seen[k] = true
		hits = append(hits, h)
	}
	// Node-sets come out in document order, as from libxml2.
	sort.SliceStable(hits, func(i, j int) bool {
		a, b := hits[i], hits[j]
		if a.node.seq != b.node.seq {
			return a.node.seq < b.node.seq
		}
		if a.attr != b.attr {
			return a.attr // attributes before the element's children
		}
		return a.index < b.index
	})
	if wrap {
		return []string{wrapHits(hits)}, nil
	}
	for _, h := range hits {
		var b strings.Builder
		if h.attr {
			writeAttr(&b, h.name, h.value)
		} else {
			writeNode(&b, h.node, 0, true)
		}
		out = append(out, b.String())
	}
	return out, nil
}

type xpathHit struct {
	node        *xnode
	attr        bool
	name, value string
	index       int
}

type xpathKey struct {
	node  *xnode
	index int
	attr  bool
}

// stripBlanks drops whitespace-only text between elements, as libxml2 does
// when virsh parses with xmlKeepBlanksDefault(0).
func stripBlanks(n *xnode) {
	if n.kind == xElem || n.kind == xDoc {
		hasElem, hasText := false, false
		for c := n.first; c != nil; c = c.next {
			switch {
			case c.kind == xElem:
				hasElem = true
			case c.isText() && strings.TrimSpace(c.data) != "":
				hasText = true
			}
		}
		if hasElem && !hasText || n.kind == xDoc {
			for c := n.first; c != nil; {
				next := c.next
				if c.isText() && strings.TrimSpace(c.data) == "" {
					c.remove()
				}
				c = next
			}
		}
	}
	for c := n.first; c != nil; c = c.next {
		stripBlanks(c)
	}
}

func qname(prefix, local string) string {
	if prefix != "" {
		return prefix + ":" + local
	}
	return local
}

var (
	textEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", "\r", "&#13;")
	attrEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "\n", "&#10;", "\r", "&#13;", "\t", "&#9;")
)

func writeAttr(b *strings.Builder, name, value string) {
	fmt.Fprintf(b, ` %s="%s"`, name, attrEscaper.Replace(value))
}

// writeNode is xmlNodeDumpOutput with format=1: children of an element that
// holds only elements go on their own lines, indented two spaces a level;
// an element with text inside is written as it is.
func writeNode(b *strings.Builder, n *xnode, level int, format bool) {
	switch n.kind {
	case xText:
		b.WriteString(textEscaper.Replace(n.data))
	case xCData:
		b.WriteString("<![CDATA[" + n.data + "]]>")
	case xComment:
		b.WriteString("<!--" + n.data + "-->")
	case xElem:
		b.WriteString("<" + qname(n.prefix, n.local))
		// libxml2 writes namespace declarations before attributes.
		for _, a := range n.ns {
			writeAttr(b, qname(a.prefix, a.local), a.value)
		}
		for _, a := range n.attrs {
			writeAttr(b, qname(a.prefix, a.local), a.value)
		}
		if n.first == nil {
			b.WriteString("/>")
			return
		}
		b.WriteString(">")
		childFormat := format
		for c := n.first; c != nil; c = c.next {
			if c.isText() {
				childFormat = false
			}
		}
		if childFormat {
			b.WriteString("\n")
		}
		for c := n.first; c != nil; c = c.next {
			if childFormat {
				b.WriteString(strings.Repeat("  ", level+1))
			}
			writeNode(b, c, level+1, childFormat)
			if childFormat {
				b.WriteString("\n")
			}
		}
		if childFormat {
			b.WriteString(strings.Repeat("  ", level))
		}
		b.WriteString("</" + qname(n.prefix, n.local) + ">")
	}
}

// wrapHits builds virsh's --wrap document: every match added to a <nodes>
// element the way xmlAddChild does (attributes become attributes of
// <nodes>, a later one replacing an earlier one of the same name; adjacent
// text merges).
func wrapHits(hits []xpathHit) string {
	type attr struct{ name, value string }
	var attrs []attr
	var kids []*xnode
	for _, h := range hits {
		if h.attr {
			for i, a := range attrs {
				if a.name == h.name {
					attrs = append(attrs[:i], attrs[i+1:]...)
					break
				}
			}
			attrs = append(attrs, attr{h.name, h.value})
			continue
		}
		if len(kids) > 0 && kids[len(kids)-1].kind == xText && h.node.kind == xText {
			merged := *kids[len(kids)-1]
			merged.data += h.node.data
			kids[len(kids)-1] = &merged
			continue
		}
		kids = append(kids, h.node)
	}
	var b strings.Builder
	b.WriteString("<nodes")
	for _, a := range attrs {
		writeAttr(&b, a.name, a.value)
	}
	if len(kids) == 0 {
		b.WriteString("/>")
		return b.String()
	}
	b.WriteString(">")
	format := true
	for _, k := range kids {
		if k.isText() {
			format = false
		}
	}
	if format {
		b.WriteString("\n")
	}
	for _, k := range kids {
		if format {
			b.WriteString("  ")
		}
		writeNode(&b, k, 1, format)
		if format {
			b.WriteString("\n")
		}
	}
	b.WriteString("</nodes>")
	return b.String()
}

// ---- edit ----

func newEditCmd(env *Env) *spec.Command {
	var dom string
	var skipValidate bool
	c := &spec.Command{Short: "edit XML configuration for a domain", Long: "Edit the XML configuration for a domain."}
	c.Example = "edit vm1\nEDITOR=nano virtsh edit vm1"
	c.Domain(&dom, "")
	c.Bool(&skipValidate, "skip-validate", "skip validation of the XML against the schema")
	c.Run = env.onDomain(&dom, func(ctx context.Context, d *libvirt.Domain) error {
		return editDomain(env, d, skipValidate)
	})
	return c
}

// editDomain is virsh's cmdEdit: the inactive XML with secrets, defined
// with validation unless --skip-validate or the "i" answer turned it off.
func editDomain(env *Env, d *libvirt.Domain, skipValidate bool) error {
	conn, err := env.Sess.Conn()
	if err != nil {
		return err
	}
	name, _ := d.GetName()
	defineFlags := libvirt.DOMAIN_DEFINE_VALIDATE
	if skipValidate {
		defineFlags = 0
	}
	var edited *libvirt.Domain
	defer func() {
		if edited != nil {
			_ = edited.Free()
		}
	}()
	return editXML(env, xmlEdit{
		get: func() (string, error) {
			return d.GetXMLDesc(libvirt.DOMAIN_XML_SECURE | libvirt.DOMAIN_XML_INACTIVE)
		},
		define: func(doc string) error {
			edited, err = conn.DomainDefineXMLFlags(doc, defineFlags)
			return err
		},
		relax:     func() { defineFlags &^= libvirt.DOMAIN_DEFINE_VALIDATE },
		unchanged: fmt.Sprintf("Domain '%s' XML configuration not changed.\n", name),
		done: func() error {
			newName, _ := edited.GetName()
			env.IO.Extra("Domain '%s' XML configuration edited.\n", newName)
			return nil
		},
	})
}
