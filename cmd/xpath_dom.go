package cmd

import (
	"encoding/xml"
	"fmt"
	"io"
	"strings"

	"github.com/antchfx/xpath"
)

// A small XML tree for --xpath, navigated by github.com/antchfx/xpath.
// It replaces github.com/antchfx/xmlquery, whose package imports net/http
// and golang.org/x/text encodings: their package initialisation ran in
// every virtsh process, in time and memory, although only dumpxml --xpath
// needs a tree. The tree follows libxml2 (what virsh uses)
// where xmlquery differed: no synthetic <?xml?> node under the document,
// namespace declarations are not attributes and are written before them,
// and the string-value of a node includes CDATA.

type xkind uint8

const (
	xDoc xkind = iota
	xElem
	xText
	xCData
	xComment
)

type xattr struct{ prefix, local, value string }

type xnode struct {
	kind          xkind
	prefix, local string  // elements
	data          string  // text, CDATA, comments
	ns            []xattr // namespace declarations (xmlns, xmlns:p)
	attrs         []xattr
	seq           int // document order
	parent        *xnode
	first, last   *xnode
	prev, next    *xnode
}

func (n *xnode) appendChild(c *xnode) {
	c.parent = n
	if n.last == nil {
		n.first = c
	} else {
		n.last.next = c
		c.prev = n.last
	}
	n.last = c
}

func (n *xnode) remove() {
	p := n.parent
	if n.prev != nil {
		n.prev.next = n.next
	} else {
		p.first = n.next
	}
	if n.next != nil {
		n.next.prev = n.prev
	} else {
		p.last = n.prev
	}
	n.parent, n.prev, n.next = nil, nil, nil
}

func (n *xnode) isText() bool { return n.kind == xText || n.kind == xCData }

// parseXMLTree parses doc with encoding/xml. RawToken keeps the prefixes as
// written (libxml2 output uses them); start and end tags are matched here.
func parseXMLTree(doc string) (*xnode, error) {
	d := xml.NewDecoder(strings.NewReader(doc))
	root := &xnode{kind: xDoc}
	cur := root
	seq := 1
	add := func(n *xnode) {
		n.seq = seq
		seq++
		cur.appendChild(n)
	}
	hasElem := false
	for {
		off := d.InputOffset()
		tok, err := d.RawToken()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if cur == root {
				if hasElem {
					return nil, fmt.Errorf("extra content at the end of the document")
				}
				hasElem = true
			}
			e := &xnode{kind: xElem, prefix: t.Name.Space, local: t.Name.Local}
			for _, a := range t.Attr {
				switch {
				case a.Name.Space == "" && a.Name.Local == "xmlns", a.Name.Space == "xmlns":
					e.ns = append(e.ns, xattr{a.Name.Space, a.Name.Local, a.Value})
				default:
					e.attrs = append(e.attrs, xattr{a.Name.Space, a.Name.Local, a.Value})
				}
			}
			add(e)
			cur = e
		case xml.EndElement:
			if cur.kind != xElem || cur.prefix != t.Name.Space || cur.local != t.Name.Local {
				return nil, fmt.Errorf("unexpected end element </%s>", qname(t.Name.Space, t.Name.Local))
			}
			cur = cur.parent
		case xml.CharData:
			k := xText
			if strings.HasPrefix(doc[off:], "<![CDATA[") {
				k = xCData
			}
			add(&xnode{kind: k, data: string(t)})
		case xml.Comment:
			add(&xnode{kind: xComment, data: string(t)})
		}
		// Processing instructions and directives are not kept: the
		// output never showed them.
	}
	if cur != root {
		return nil, fmt.Errorf("unexpected EOF: element <%s> not closed", qname(cur.prefix, cur.local))
	}
	if !hasElem {
		return nil, fmt.Errorf("invalid XML document")
	}
	return root, nil
}

// xnav is the xpath.NodeNavigator over an xnode tree; attr is the index
// into cur.attrs when on an attribute, else -1.
type xnav struct {
	root, cur *xnode
	attr      int
}

func newXNav(root *xnode) *xnav { return &xnav{root: root, cur: root, attr: -1} }

func (x *xnav) NodeType() xpath.NodeType {
	switch x.cur.kind {
	case xDoc:
		return xpath.RootNode
	case xElem:
		if x.attr != -1 {
			return xpath.AttributeNode
		}
		return xpath.ElementNode
	case xComment:
		return xpath.CommentNode
	}
	return xpath.TextNode
}

func (x *xnav) LocalName() string {
	if x.attr != -1 {
		return x.cur.attrs[x.attr].local
	}
	return x.cur.local
}

func (x *xnav) Prefix() string {
	if x.attr != -1 {
		return x.cur.attrs[x.attr].prefix
	}
	return x.cur.prefix
}

// NamespaceURL resolves the prefix through the declarations in scope
// (namespace-uri()).
func (x *xnav) NamespaceURL() string {
	prefix := x.Prefix()
	if x.attr != -1 && prefix == "" {
		return ""
	}
	if prefix == "xml" {
		return "http://www.w3.org/XML/1998/namespace"
	}
	for n := x.cur; n != nil; n = n.parent {
		for _, d := range n.ns {
			if prefix == "" && d.prefix == "" && d.local == "xmlns" || prefix != "" && d.prefix == "xmlns" && d.local == prefix {
				return d.value
			}
		}
	}
	return ""
}

func (x *xnav) Value() string {
	if x.attr != -1 {
		return x.cur.attrs[x.attr].value
	}
	switch x.cur.kind {
	case xDoc, xElem:
		var b strings.Builder
		var walk func(n *xnode)
		walk = func(n *xnode) {
			for c := n.first; c != nil; c = c.next {
				switch c.kind {
				case xText, xCData:
					b.WriteString(c.data)
				case xElem:
					walk(c)
				}
			}
		}
		walk(x.cur)
		return b.String()
	}
	return x.cur.data
}

func (x *xnav) String() string { return x.Value() }

func (x *xnav) Copy() xpath.NodeNavigator { n := *x; return &n }

func (x *xnav) MoveToRoot() { x.cur, x.attr = x.root, -1 }

func (x *xnav) MoveToParent() bool {
	if x.attr != -1 {
		x.attr = -1
		return true
	}
	if x.cur.parent != nil {
		x.cur = x.cur.parent
		return true
	}
	return false
}

func (x *xnav) MoveToNextAttribute() bool {
	if x.attr >= len(x.cur.attrs)-1 {
		return false
	}
	x.attr++
	return true
}

func (x *xnav) MoveToChild() bool {
	if x.attr != -1 || x.cur.first == nil {
		return false
	}
	x.cur = x.cur.first
	return true
}

func (x *xnav) MoveToFirst() bool {
	if x.attr != -1 || x.cur.prev == nil {
		return false
	}
	x.cur = x.cur.parent.first
	return true
}

func (x *xnav) MoveToNext() bool {
	if x.attr != -1 || x.cur.next == nil {
		return false
	}
	x.cur = x.cur.next
	return true
}

func (x *xnav) MoveToPrevious() bool {
	if x.attr != -1 || x.cur.prev == nil {
		return false
	}
	x.cur = x.cur.prev
	return true
}

func (x *xnav) MoveTo(other xpath.NodeNavigator) bool {
	o, ok := other.(*xnav)
	if !ok || o.root != x.root {
		return false
	}
	x.cur, x.attr = o.cur, o.attr
	return true
}
