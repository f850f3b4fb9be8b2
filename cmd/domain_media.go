package cmd

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"libvirt.org/go/libvirt"

	"github.com/virtsh/virtsh/shell/blocknodes"
	"github.com/virtsh/virtsh/shell/spec"
)

// change-media (virsh-domain.c), and the one reading of a domain's <disk>
// that it and detach-disk share.
//
// Both send libvirt a <disk> taken from libvirt's own domain XML, as virsh
// does (virshFindDisk, virshUpdateDiskXML): the element as libvirt wrote it,
// with its whitespace, every attribute and child kept, only its backing
// chain dropped and, for a media change, its <source> replaced. That is
// what --print-xml shows, byte for byte: libxml2's xmlNodeDump of the node
// (double-quoted attributes, the document's own indentation). A round trip
// through libvirtxml would drop what it does not know and reorder the rest,
// changing what is sent; so the node is read and edited on the XML tree
// that dumpxml --xpath uses (xpath_dom.go), and only there.

// diskNode finds the <disk> virsh's virshFindDisk finds in a domain XML:
// the first /domain/devices/disk whose target dev, or whose source file,
// dev, dir or name, is path; with removable, only cdroms and floppies (or
// disks with no device attribute). The node comes without its first
// <backingStore>, as virsh sends it.
func diskNode(doc, path string, removable bool) (*xnode, error) {
	noInfo := errors.New("Failed to get disk information")
	root, err := parseXMLTree(doc)
	if err != nil {
		return nil, noInfo
	}
	var disks []*xnode
	if dom := childElem(root, "domain"); dom != nil {
		if devs := childElem(dom, "devices"); devs != nil {
			for c := devs.first; c != nil; c = c.next {
				if c.kind == xElem && c.prefix == "" && c.local == "disk" {
					disks = append(disks, c)
				}
			}
		}
	}
	if len(disks) == 0 {
		return nil, noInfo
	}
	for _, d := range disks {
		if removable {
			if dev, ok := d.attr("device"); ok && dev != "cdrom" && dev != "floppy" {
				continue
			}
		}
		match := false
		if t := childElem(d, "target"); t != nil {
			if dev, ok := t.attr("dev"); ok && dev == path {
				match = true
			}
		}
		if s := childElem(d, "source"); s != nil {
			for _, a := range []string{"file", "dev", "dir", "name"} {
				if v, ok := s.attr(a); ok && v == path {
					match = true
				}
			}
		}
		if match {
			if bs := childElem(d, "backingStore"); bs != nil {
				bs.remove()
			}
			d.remove()
			return d, nil
		}
	}
	return nil, fmt.Errorf("No disk found whose source path or target is %s", path)
}

// domainDiskNode is diskNode on the domain's inactive XML when config, else
// its current one (the live XML of a running domain).
func domainDiskNode(d *libvirt.Domain, config bool, path string, removable bool) (*xnode, error) {
	var flags libvirt.DomainXMLFlags
	if config {
		flags = libvirt.DOMAIN_XML_INACTIVE
	}
	doc, err := d.GetXMLDesc(flags)
	if err != nil {
		return nil, err
	}
	return diskNode(doc, path, removable)
}

// nodeXML is the node as virsh's virXMLNodeToString writes it.
func nodeXML(n *xnode) string {
	var b strings.Builder
	writeNode(&b, n, 0, true)
	return b.String()
}

// childElem is n's first child element called name (virXMLNodeGetSubelement).
func childElem(n *xnode, name string) *xnode {
	for c := n.first; c != nil; c = c.next {
		if c.kind == xElem && c.prefix == "" && c.local == name {
			return c
		}
	}
	return nil
}

func (n *xnode) attr(name string) (string, bool) {
	for _, a := range n.attrs {
		if a.prefix == "" && a.local == name {
			return a.value, true
		}
	}
	return "", false
}

// setAttr is xmlSetProp: the value replaced in place, or the attribute added
// last.
func (n *xnode) setAttr(name, value string) {
	for i, a := range n.attrs {
		if a.prefix == "" && a.local == name {
			n.attrs[i].value = value
			return
		}
	}
	n.attrs = append(n.attrs, xattr{local: name, value: value})
}

// insertBefore puts c just before n, among n's siblings.
func (n *xnode) insertBefore(c *xnode) {
	p := n.parent
	c.parent, c.prev, c.next = p, n.prev, n
	if n.prev != nil {
		n.prev.next = c
	} else {
		p.first = c
	}
	n.prev = c
}

// mediaChange is what change-media does to the media.
type mediaChange int

const (
	mediaEject mediaChange = iota
	mediaInsert
	mediaUpdate
)

// changeMedia is virsh 9.0's virshUpdateDiskXML on a disk node: eject,
// insert or update its media, with virsh's checks and messages (path is
// the word the user gave). The new <source> goes before <target>, followed
// by the whitespace that precedes <target>, where virsh 9.0 puts it; the old
// one goes, its whitespace left behind.
func changeMedia(disk *xnode, newSource string, haveSource, block bool, path string, kind mediaChange) error {
	if dev, _ := disk.attr("device"); dev != "cdrom" && dev != "floppy" {
		return fmt.Errorf("The disk device '%s' is not removable", path)
	}
	source := childElem(disk, "source")
	if kind == mediaEject {
		if source == nil {
			return fmt.Errorf("The disk device '%s' doesn't have media", path)
		}
		block, haveSource = false, false
	} else if !haveSource {
		return errors.New("New disk media source was not specified")
	}
	startupPolicy, hasPolicy := "", false
	if source != nil {
		hasMedia := false
		for _, a := range []string{"file", "dev", "dir", "pool", "name"} {
			if _, ok := source.attr(a); ok {
				hasMedia = true
				break
			}
		}
		if hasMedia && kind == mediaInsert {
			return fmt.Errorf("The disk device '%s' already has media", path)
		}
		startupPolicy, hasPolicy = source.attr("startupPolicy")
		source.remove()
	}
	if block {
		disk.setAttr("type", "block")
	} else {
		disk.setAttr("type", "file")
	}
	if !haveSource {
		return nil
	}
	s := &xnode{kind: xElem, local: "source"}
	if block {
		s.setAttr("dev", newSource)
	} else {
		s.setAttr("file", newSource)
	}
	if hasPolicy {
		s.setAttr("startupPolicy", startupPolicy)
	}
	target := childElem(disk, "target")
	if target == nil {
		disk.appendChild(s)
		return nil
	}
	target.insertBefore(s)
	if ws := s.prev; ws != nil && ws.kind == xText && strings.TrimSpace(ws.data) == "" {
		target.insertBefore(&xnode{kind: xText, data: ws.data})
	}
	return nil
}

func newChangeMediaCmd(env *Env) *spec.Command {
	var o struct {
		dom, path, source                                           string
		eject, insert, update, current, live, config, force, printX bool
		block                                                       bool
	}
	c := &spec.Command{Short: "Change media of CD or floppy drive", Long: "Change media of CD or floppy drive."}
	c.Example = "change-media vm1 sda /var/lib/libvirt/images/install.iso --insert\n" +
		"change-media vm1 sda other.iso --update --live\n" +
		"change-media vm1 sda --eject"
	c.Domain(&o.dom, "")
	c.String(&o.path, "path", "Fully-qualified path or target of disk device", spec.Req, true).Complete(spec.RemovableDisk)
	c.String(&o.source, "source", "source of the media", spec.Unwanted, false).Complete(spec.File)
	c.Bool(&o.eject, "eject", "Eject the media")
	c.Bool(&o.insert, "insert", "Insert the media")
	c.Bool(&o.update, "update", "Update the media")
	c.Bool(&o.current, "current", "can be either or both of --live and --config, depends on implementation hypervisor driver")
	c.Bool(&o.live, "live", "alter live configuration of running domain")
	c.Bool(&o.config, "config", "alter persistent configuration, effect observed on next boot")
	c.Bool(&o.force, "force", "force media changing")
	c.Bool(&o.printX, "print-xml", "print XML document rather than change media")
	c.InertOptions("print-xml")
	c.Bool(&o.block, "block", "source media is a block device")
	c.Exclusive("eject", "insert")
	c.Exclusive("eject", "update")
	c.Exclusive("insert", "update")
	c.Exclusive("eject", "block")
	c.Run = func(ctx context.Context) error {
		kind, action, msg := mediaUpdate, "update", "Successfully updated media."
		// As documented: --update without a source ejects.
		switch {
		case o.eject || o.update && !c.Given("source"):
			kind, action, msg = mediaEject, "eject", "Successfully ejected media."
		case o.insert:
			kind, action, msg = mediaInsert, "insert", "Successfully inserted media."
		}
		// virsh checks these after reading --source, so not as declared
		// rules (an empty --source is reported first).
		for _, ex := range [][2]string{{"current", "live"}, {"current", "config"}} {
			if c.Given(ex[0]) && c.Given(ex[1]) {
				return fmt.Errorf("Options --%s and --%s are mutually exclusive", ex[0], ex[1])
			}
		}
		flags := flagsOf([]flagIf[libvirt.DomainDeviceModifyFlags]{{o.config, libvirt.DOMAIN_DEVICE_MODIFY_CONFIG},
			{o.live, libvirt.DOMAIN_DEVICE_MODIFY_LIVE}, {o.force, libvirt.DOMAIN_DEVICE_MODIFY_FORCE}})
		d, err := env.lookupDomain(o.dom)
		if err != nil {
			return err
		}
		defer d.Free()
		disk, err := domainDiskNode(d, o.config, o.path, true)
		if err != nil {
			return err
		}
		if err := changeMedia(disk, o.source, c.Given("source"), o.block, o.path, kind); err != nil {
			return err
		}
		xml := nodeXML(disk)
		if o.printX {
			env.IO.Printf("%s", xml)
			return nil
		}
		err = d.UpdateDeviceFlags(xml, flags)
		disksMayHaveChanged(env, d, blocknodes.ReasonMedia)
		if err != nil {
			return msgThenCause(fmt.Sprintf("Failed to complete action %s on media", action), err)
		}
		// vshPrint, not vshPrintExtra: shown under -q too.
		env.IO.Printf("%s", msg)
		return nil
	}
	return c
}

func newDetachDiskCmd(env *Env) *spec.Command {
	var o struct {
		dom, target string
		a           affectOpts
		printXML    bool
	}
	c := &spec.Command{Short: "detach disk device", Long: "Detach disk device."}
	c.Example = "detach-disk vm1 vdc --live\ndetach-disk vm1 vdc --persistent\ndetach-disk vm1 vdc --print-xml"
	c.Domain(&o.dom, "")
	c.String(&o.target, "target", "target of disk device", spec.Req, true).Complete(spec.Disk)
	o.a.declare(c, true)
	c.Bool(&o.printXML, "print-xml", "print XML document rather than detach the disk")
	c.InertOptions("print-xml")
	o.a.rules(c)
	c.Run = env.onDomain(&o.dom, func(ctx context.Context, d *libvirt.Domain) error {
		// The inactive XML for --config (or --persistent) alone.
		flags := o.a.flags()
		disk, err := domainDiskNode(d, flags == libvirt.DOMAIN_DEVICE_MODIFY_CONFIG, o.target, false)
		if err != nil {
			return err
		}
		flags = o.a.liveIfPersistent(d, flags)
		xml := nodeXML(disk)
		if o.printXML {
			env.IO.Printf("%s", xml)
			return nil
		}
		return deviceCallDone(env, d, blocknodes.ReasonHotplug, o.a.detach(d, xml, flags), "Failed to detach disk", "Disk detached successfully\n")
	})
	return c
}
