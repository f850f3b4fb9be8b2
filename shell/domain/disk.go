// Package domain is what virtsh reads out of a domain the one way everything
// uses it: its disks and their backing chains from the XML, the name of a
// disk's source, the disk word a user types (vda, vda[N], a source path),
// and the lookup of a domain by name, ID or UUID with virsh's rules. It
// imports nothing of virtsh's, so commands, completion and the node-name
// cache can all build on it.
package domain

import (
	"encoding/xml"
	"fmt"
	"strings"

	"libvirt.org/go/libvirt"
	"libvirt.org/go/libvirtxml"
)

// Source kinds: the type attribute of a <disk>, <backingStore> or <mirror>.
const (
	KindFile      = "file"
	KindBlock     = "block"
	KindDir       = "dir"
	KindNetwork   = "network"
	KindVolume    = "volume"
	KindNVMe      = "nvme"
	KindVHostUser = "vhostuser"
	KindVHostVDPA = "vhostvdpa"
	KindCtl       = "ctl"
)

// Source is one storage source of a disk: its active image, a member of its
// backing chain, or the destination of a block copy.
type Source struct {
	// Index is the index attribute of the live XML, the N of libvirt's
	// "vda[N]"; 0 when the XML has none (inactive XML, SD-card disks).
	Index uint
	// Kind is the source's type (KindFile, ...); "" for a <backingStore/>
	// without one.
	Kind string
	// Name is virsh's name for the source (see SourceName): a path for
	// local storage, the volume for a pool volume, the image or export
	// name for network storage.
	Name string
	// Format is the image format (driver or format type): qcow2, raw, ...
	Format string
	// Protocol is a network source's protocol (nbd, rbd, iscsi, ...).
	Protocol string
	// Pool is a volume source's storage pool; Name is the volume.
	Pool string
	// StorageSlice: a <slice type='storage'> restricts the source to part of
	// its storage.
	StorageSlice bool
	// Empty: no storage at all, as libvirt's virStorageSourceIsEmpty
	// decides it, approximated from the XML: an ejected cdrom, a local
	// source without a path, a network source without protocol or name.
	Empty bool
}

// Disk is one <disk> of a domain with its backing chain.
type Disk struct {
	Target string // target dev; "" only in XML libvirt would not accept
	Device string // disk, cdrom, floppy, lun; "disk" when absent, libvirt's default
	Bus    string
	// Alias is the live XML's <alias name>: tray-change and device events
	// name a disk by it.
	Alias      string
	ReadOnly   bool
	CopyOnRead bool
	// Chain is the active layer (the disk's own <source>, also when empty)
	// and then its backing stores, top first; never empty.
	Chain []Source
	// Mirror is the destination of a block copy or active commit, with the
	// job's name and readiness as libvirt writes them.
	Mirror      *Source
	MirrorJob   string
	MirrorReady string
}

// Top is the disk's active layer.
func (d *Disk) Top() *Source { return &d.Chain[0] }

// Layer returns the source at a position Find or DiskWord.Layer reported:
// a chain position, or MirrorLayer.
func (d *Disk) Layer(pos int) *Source {
	if pos == MirrorLayer {
		return d.Mirror
	}
	return &d.Chain[pos]
}

// Dev is libvirt's name for the layer with an index: "vda[2]".
func Dev(target string, index uint) string { return fmt.Sprintf("%s[%d]", target, index) }

// Disks reads the disks of a domain XML, in the XML's order.
func Disks(xml string) ([]Disk, error) {
	var def libvirtxml.Domain
	if err := def.Unmarshal(xml); err != nil {
		return nil, fmt.Errorf("failed to parse domain XML: %v", err)
	}
	return DisksOf(&def), nil
}

// LiveDisks reads the disks of a domain's live XML (with its indexes, when
// it runs).
func LiveDisks(d *libvirt.Domain) ([]Disk, error) {
	x, err := d.GetXMLDesc(0)
	if err != nil {
		return nil, err
	}
	return Disks(x)
}

// DisksOf reads the disks of a parsed domain definition.
func DisksOf(def *libvirtxml.Domain) []Disk {
	if def == nil || def.Devices == nil {
		return nil
	}
	out := make([]Disk, 0, len(def.Devices.Disks))
	for i := range def.Devices.Disks {
		out = append(out, diskOf(&def.Devices.Disks[i]))
	}
	return out
}

func diskOf(x *libvirtxml.DomainDisk) Disk {
	d := Disk{Device: x.Device, ReadOnly: x.ReadOnly != nil}
	if d.Device == "" {
		d.Device = "disk"
	}
	if x.Target != nil {
		d.Target, d.Bus = x.Target.Dev, x.Target.Bus
	}
	if x.Alias != nil {
		d.Alias = x.Alias.Name
	}
	format := ""
	if x.Driver != nil {
		format = x.Driver.Type
		d.CopyOnRead = x.Driver.CopyOnRead == "on"
	}
	top := sourceOf(x.Source, format)
	if top.Kind == "" {
		// A type libvirtxml does not know: file is libvirt's default.
		top.Kind, top.Empty = KindFile, true
	}
	d.Chain = append(d.Chain, top)
	for bs := x.BackingStore; bs != nil && bs.Source != nil; bs = bs.BackingStore {
		f := ""
		if bs.Format != nil {
			f = bs.Format.Type
		}
		s := sourceOf(bs.Source, f)
		if s.Index == 0 {
			s.Index = bs.Index // libvirt puts a backing store's index on <backingStore>
		}
		if s.Index == 0 && s.Empty {
			break // the <backingStore/> that ends a chain
		}
		d.Chain = append(d.Chain, s)
	}
	if m := x.Mirror; m != nil && m.Source != nil {
		f := ""
		if m.Format != nil {
			f = m.Format.Type
		}
		s := sourceOf(m.Source, f)
		d.Mirror, d.MirrorJob, d.MirrorReady = &s, m.Job, m.Ready
	}
	return d
}

func sourceOf(x *libvirtxml.DomainDiskSource, format string) Source {
	s := Source{Format: format, Empty: true}
	if x == nil {
		return s
	}
	s.Index, s.Name = x.Index, SourceName(x)
	switch {
	case x.File != nil:
		s.Kind = KindFile
	case x.Block != nil:
		s.Kind = KindBlock
	case x.Dir != nil:
		s.Kind = KindDir
	case x.Network != nil:
		s.Kind, s.Protocol = KindNetwork, x.Network.Protocol
		s.Empty = s.Protocol == "" && s.Name == ""
	case x.Volume != nil:
		s.Kind, s.Pool = KindVolume, x.Volume.Pool
		s.Empty = s.Pool == "" && s.Name == ""
	case x.NVME != nil:
		s.Kind, s.Empty = KindNVMe, x.NVME.PCI == nil
	case x.VHostUser != nil:
		s.Kind, s.Empty = KindVHostUser, x.VHostUser.UNIX == nil
	case x.VHostVDPA != nil:
		s.Kind = KindVHostVDPA
	case x.Ctl != nil:
		s.Kind = KindCtl
	}
	switch s.Kind {
	case KindFile, KindBlock, KindDir, KindVHostVDPA, KindCtl:
		s.Empty = s.Name == ""
	}
	if x.Slices != nil {
		for _, sl := range x.Slices.Slices {
			if sl.Type == "storage" {
				s.StorageSlice = true
			}
		}
	}
	return s
}

// SourceName is virsh's name for a disk source, the Source column of
// domblklist: the first of the source's file, dev, dir, name, volume and path
// attributes (each kind of source has one of them), and
// nvme://DDDD:BB:SS.F/NS for an NVMe disk. So a volume is named by its volume
// alone, without the pool, and a network source by its name attribute alone
// (rbd's "pool/image", an NBD export, an iSCSI IQN/LUN), without the
// protocol; it is "" when there is none (an ejected cdrom, an NBD source
// without an export name). virsh's undefine --storage matches sources by the
// same attributes, and libvirt's path lookups (a word starting with '/')
// compare against the same strings for local and network storage.
func SourceName(s *libvirtxml.DomainDiskSource) string {
	switch {
	case s == nil:
		return ""
	case s.File != nil:
		return s.File.File
	case s.Block != nil:
		return s.Block.Dev
	case s.Dir != nil:
		return s.Dir.Dir
	case s.Network != nil:
		return s.Network.Name
	case s.Volume != nil:
		return s.Volume.Volume
	case s.NVME != nil && s.NVME.PCI != nil:
		p := s.NVME.PCI
		a := p.Address
		if a == nil {
			return ""
		}
		return fmt.Sprintf("nvme://%04x:%02x:%02x.%d/%d", uintOr(a.Domain), uintOr(a.Bus), uintOr(a.Slot), uintOr(a.Function), p.Namespace)
	case s.VHostUser != nil && s.VHostUser.UNIX != nil:
		return s.VHostUser.UNIX.Path
	case s.VHostVDPA != nil:
		return s.VHostVDPA.Dev
	case s.Ctl != nil:
		return s.Ctl.Dev
	}
	return ""
}

func uintOr(p *uint) uint {
	if p == nil {
		return 0
	}
	return *p
}

// DeviceAliases lists the <alias name> of every device in a domain XML, in
// document order (virsh's ./devices//alias/@name): what detach-device-alias
// takes.
func DeviceAliases(doc string) []string {
	dec := xml.NewDecoder(strings.NewReader(doc))
	var out []string
	depth, devices := 0, -1
	for {
		tok, err := dec.Token()
		if err != nil {
			return out
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			switch {
			case depth == 2 && t.Name.Local == "devices":
				devices = depth
			case devices > 0 && t.Name.Local == "alias":
				for _, a := range t.Attr {
					if a.Name.Local == "name" && a.Name.Space == "" {
						out = append(out, a.Value)
					}
				}
			}
		case xml.EndElement:
			if depth == devices {
				devices = -1
			}
			depth--
		}
	}
}
