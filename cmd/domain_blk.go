package cmd

import (
	"context"
	"errors"
	"fmt"

	"libvirt.org/go/libvirt"
	"libvirt.org/go/libvirtxml"

	"github.com/virtsh/virtsh/format"
	"github.com/virtsh/virtsh/shell/spec"
)

// domblklist and domblkinfo (Domain Monitoring, virsh-domain-monitor.c).

// ---- domblklist ----

// blkView is one disk of `domblklist -o json|yaml`; Source is "" when the
// disk has none (virsh prints "-").
type blkView struct {
	Type   string `json:"type" yaml:"type"`
	Device string `json:"device" yaml:"device"`
	Target string `json:"target" yaml:"target"`
	Source string `json:"source" yaml:"source"`
}

func newDomblklistCmd(env *Env) *spec.Command {
	var dom string
	var inactive, details bool
	c := &spec.Command{Short: "list all domain blocks", Long: "Get the summary of block devices for a domain."}
	c.Example = "domblklist vm1\ndomblklist vm1 --details --inactive"
	c.Domain(&dom, "")
	c.Bool(&inactive, "inactive", "get inactive rather than running configuration")
	c.Bool(&details, "details", "additionally display the type and device value")
	outputOption(c, env.IO)
	c.Run = func(ctx context.Context) error {
		var flags libvirt.DomainXMLFlags
		if inactive {
			flags |= libvirt.DOMAIN_XML_INACTIVE
		}
		def, err := domainDef(env, dom, flags)
		if err != nil {
			return err
		}
		var views []blkView
		for _, disk := range diskList(def) {
			if disk.Target == nil || disk.Target.Dev == "" {
				return errors.New("unable to query block list")
			}
			views = append(views, blkView{Type: diskType(&disk), Device: disk.Device, Target: disk.Target.Dev, Source: diskSource(&disk)})
		}
		if env.IO.Structured() {
			if views == nil {
				views = []blkView{}
			}
			return env.IO.Encode(views)
		}
		header := []string{"Target", "Source"}
		if details {
			header = []string{"Type", "Device", "Target", "Source"}
		}
		rows := make([][]string, 0, len(views))
		for _, v := range views {
			src := v.Source
			if src == "" {
				src = "-"
			}
			if details {
				rows = append(rows, []string{v.Type, v.Device, v.Target, src})
			} else {
				rows = append(rows, []string{v.Target, src})
			}
		}
		return format.Table(env.IO.Out, env.IO.Quiet, header, rows)
	}
	return c
}

// domainDef fetches and parses a domain's XML (virshDomainGetXML).
func domainDef(env *Env, word string, flags libvirt.DomainXMLFlags) (*libvirtxml.Domain, error) {
	d, err := env.lookupDomain(word)
	if err != nil {
		return nil, err
	}
	defer d.Free()
	x, err := d.GetXMLDesc(flags)
	if err != nil {
		return nil, err
	}
	var def libvirtxml.Domain
	if err := def.Unmarshal(x); err != nil {
		return nil, fmt.Errorf("failed to parse domain XML: %v", err)
	}
	return &def, nil
}

func diskList(def *libvirtxml.Domain) []libvirtxml.DomainDisk {
	if def.Devices == nil {
		return nil
	}
	return def.Devices.Disks
}

// diskType is the disk's type attribute, which libvirtxml keeps as the
// kind of source it decoded.
func diskType(d *libvirtxml.DomainDisk) string {
	s := d.Source
	switch {
	case s == nil:
		return "file"
	case s.File != nil:
		return "file"
	case s.Block != nil:
		return "block"
	case s.Dir != nil:
		return "dir"
	case s.Network != nil:
		return "network"
	case s.Volume != nil:
		return "volume"
	case s.NVME != nil:
		return "nvme"
	case s.VHostUser != nil:
		return "vhostuser"
	case s.VHostVDPA != nil:
		return "vhostvdpa"
	case s.Ctl != nil:
		return "ctl"
	}
	return "file"
}

// hasSource tells whether the disk has a <source> element (virsh's
// boolean(./source)); libvirtxml always allocates the source matching the
// type attribute, so look at what it holds.
func hasSource(d *libvirtxml.DomainDisk) bool {
	s := d.Source
	switch {
	case s == nil:
		return false
	case s.Network != nil:
		return s.Network.Protocol != "" || s.Network.Name != ""
	case s.Volume != nil:
		return s.Volume.Pool != "" || s.Volume.Volume != ""
	case s.NVME != nil:
		return s.NVME.PCI != nil
	case s.VHostUser != nil:
		return s.VHostUser.UNIX != nil
	}
	return diskSource(d) != ""
}

// diskSource is virsh's Source column for a disk.
func diskSource(d *libvirtxml.DomainDisk) string { return sourceString(d.Source) }

// sourceString is virsh's rule for naming a disk source (the Source column,
// and what a source path given for a disk is matched against): the first of
// source/@file, @dev, @dir, @name, @volume, @path; nvme://DDDD:BB:SS.F/NS for
// NVMe. It serves every chain element, backing stores included.
func sourceString(s *libvirtxml.DomainDiskSource) string {
	if s == nil {
		return ""
	}
	switch {
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
	}
	return ""
}

func uintOr(p *uint) uint {
	if p == nil {
		return 0
	}
	return *p
}

// ---- domblkinfo ----

// blkinfoView is `domblkinfo -o json|yaml`, sizes in bytes (an array of
// them with --all).
type blkinfoView struct {
	Target     string `json:"target" yaml:"target"`
	Capacity   uint64 `json:"capacity" yaml:"capacity"`
	Allocation uint64 `json:"allocation" yaml:"allocation"`
	Physical   uint64 `json:"physical" yaml:"physical"`
}

func newDomblkinfoCmd(env *Env) *spec.Command {
	var dom, device string
	var human, all bool
	c := &spec.Command{Short: "domain block device size information", Long: "Get block device size info for a domain."}
	c.Example = "domblkinfo vm1 vda\ndomblkinfo vm1 --all --human"
	c.Domain(&dom, "")
	// An empty device is the missing one: virsh answers "requires <device> option".
	f := c.String(&device, "device", "block device", spec.Unwanted, false)
	f.Empty()
	f.Complete(spec.Disk)
	c.Bool(&human, "human", "Human readable output")
	c.Bool(&all, "all", "display all block devices info")
	outputOption(c, env.IO)
	c.Run = func(ctx context.Context) error {
		if err := exclusive(all, "all", c.Given("device"), "device"); err != nil {
			return err
		}
		d, err := env.lookupDomain(dom)
		if err != nil {
			return err
		}
		defer d.Free()
		if !all && device == "" {
			return errors.New("command 'domblkinfo' requires <device> option")
		}
		sizes := func(v blkinfoView) []string {
			if v.Capacity == 0 && v.Allocation == 0 && v.Physical == 0 {
				return []string{"-", "-", "-"}
			}
			if human {
				return []string{format.HumanSize(v.Capacity), format.HumanSize(v.Allocation), format.HumanSize(v.Physical)}
			}
			return []string{fmt.Sprint(v.Capacity), fmt.Sprint(v.Allocation), fmt.Sprint(v.Physical)}
		}
		if !all {
			info, err := d.GetBlockInfo(device, 0)
			if err != nil {
				return err
			}
			v := blkinfoView{device, info.Capacity, info.Allocation, info.Physical}
			if env.IO.Structured() {
				return env.IO.Encode(v)
			}
			s := sizes(v)
			env.IO.Printf("%-15s %s\n%-15s %s\n%-15s %s\n", "Capacity:", s[0], "Allocation:", s[1], "Physical:", s[2])
			return nil
		}
		active, _ := d.IsActive()
		x, err := d.GetXMLDesc(0)
		if err != nil {
			return err
		}
		var def libvirtxml.Domain
		if err := def.Unmarshal(x); err != nil {
			return fmt.Errorf("failed to parse domain XML: %v", err)
		}
		views := []blkinfoView{}
		var rows [][]string
		for _, disk := range diskList(&def) {
			v := blkinfoView{}
			if disk.Target != nil {
				v.Target = disk.Target.Dev
			}
			if hasSource(&disk) {
				info, err := d.GetBlockInfo(v.Target, 0)
				var le libvirt.Error
				switch {
				case err == nil:
					v.Capacity, v.Allocation, v.Physical = info.Capacity, info.Allocation, info.Physical
				case disk.Source.Network != nil && !active && errors.As(err, &le) &&
					le.Code == libvirt.ERR_INTERNAL_ERROR && le.Domain == libvirt.FROM_STORAGE:
					// Network storage of an inactive guest has no
					// sizes: virsh shows "-".
				default:
					return err
				}
			}
			views = append(views, v)
			rows = append(rows, append([]string{v.Target}, sizes(v)...))
		}
		if env.IO.Structured() {
			return env.IO.Encode(views)
		}
		return format.Table(env.IO.Out, env.IO.Quiet, []string{"Target", "Capacity", "Allocation", "Physical"}, rows)
	}
	return c
}
