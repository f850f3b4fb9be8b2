package cmd

import (
	"context"
	"errors"
	"fmt"

	"libvirt.org/go/libvirt"
	"libvirt.org/go/libvirtxml"

	"github.com/virtsh/virtsh/format"
	"github.com/virtsh/virtsh/shell/domain"
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
	c.Hosts = spec.EachHost // a read: on every selected host
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
		for _, disk := range domain.DisksOf(def) {
			if disk.Target == "" {
				return errors.New("unable to query block list")
			}
			views = append(views, blkView{Type: disk.Top().Kind, Device: disk.Device, Target: disk.Target, Source: disk.Top().Name})
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
	return defOf(d, flags)
}

// defOf fetches and parses the XML of a domain already looked up.
func defOf(d *libvirt.Domain, flags libvirt.DomainXMLFlags) (*libvirtxml.Domain, error) {
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
	c.Exclusive("all", "device")
	c.Hosts = spec.EachHost // a read: on every selected host
	c.Run = env.onDomain(&dom, func(ctx context.Context, d *libvirt.Domain) error {
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
		for _, disk := range domain.DisksOf(&def) {
			v := blkinfoView{Target: disk.Target}
			// virsh asks only for disks with a <source> (boolean(./source));
			// libvirtxml always allocates one, so an empty source stands
			// for none.
			if top := disk.Top(); !top.Empty {
				info, err := d.GetBlockInfo(v.Target, 0)
				var le libvirt.Error
				switch {
				case err == nil:
					v.Capacity, v.Allocation, v.Physical = info.Capacity, info.Allocation, info.Physical
				case top.Kind == domain.KindNetwork && !active && errors.As(err, &le) &&
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
	})
	return c
}
