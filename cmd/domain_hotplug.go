package cmd

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"libvirt.org/go/libvirt"
	"libvirt.org/go/libvirtxml"

	"github.com/virtsh/virtsh/shell/blocknodes"
	"github.com/virtsh/virtsh/shell/spec"
)

// Hotplug (virsh-domain.c, "Domain Management"): attach-disk, detach-disk,
// attach-device, detach-device, update-device and detach-device-alias.
//
// Each is one libvirt call. Every call that can add, remove or change a
// disk tells the node-name cache right after it returns, whether it
// succeeded or not (a failed hotplug may still have used up an index):
// the cache re-derives the guest at its next use if the check before that
// use shows its disks changed, so a hotplug costs one fill and a call that
// changed no disk (or the device-added event of our own hotplug arriving
// after that fill) costs none.

// affectOpts are virsh's --persistent, --config, --live and --current
// (VIRSH_COMMON_OPT_DOMAIN_*).
type affectOpts struct{ persistent, config, live, current bool }

// declare adds the options with virsh's help, --persistent only where the
// command has it; rules adds virsh's exclusions between them.
func (a *affectOpts) declare(c *spec.Command, persistent bool) {
	if persistent {
		c.Bool(&a.persistent, "persistent", "make live change persistent")
	}
	c.Bool(&a.config, "config", "affect next boot")
	c.Bool(&a.live, "live", "affect running domain")
	c.Bool(&a.current, "current", "affect current domain")
}

func (a *affectOpts) rules(c *spec.Command) {
	if c.Lookup("persistent") != nil {
		c.Exclusive("persistent", "current")
	}
	c.Exclusive("current", "live")
	c.Exclusive("current", "config")
}

// flags are the modify flags the options ask for; --persistent is --config
// here, and becomes --live too on a running domain (liveIfPersistent).
func (a *affectOpts) flags() libvirt.DomainDeviceModifyFlags {
	return flagsOf([]flagIf[libvirt.DomainDeviceModifyFlags]{{a.config || a.persistent, libvirt.DOMAIN_DEVICE_MODIFY_CONFIG},
		{a.live, libvirt.DOMAIN_DEVICE_MODIFY_LIVE}})
}

// liveIfPersistent adds the live flag for --persistent on a running domain,
// as virsh does (virDomainIsActive(dom) == 1).
func (a *affectOpts) liveIfPersistent(d *libvirt.Domain, flags libvirt.DomainDeviceModifyFlags) libvirt.DomainDeviceModifyFlags {
	if a.persistent {
		if active, err := d.IsActive(); err == nil && active {
			flags |= libvirt.DOMAIN_DEVICE_MODIFY_LIVE
		}
	}
	return flags
}

// attach and detach make virsh's call: the *Flags API when a flag or
// --current was given, else the legacy one (the driver's default target).
func (a *affectOpts) attach(d *libvirt.Domain, xml string, flags libvirt.DomainDeviceModifyFlags) error {
	if flags != 0 || a.current {
		return d.AttachDeviceFlags(xml, flags)
	}
	return d.AttachDevice(xml)
}

func (a *affectOpts) detach(d *libvirt.Domain, xml string, flags libvirt.DomainDeviceModifyFlags) error {
	if flags != 0 || a.current {
		return d.DetachDeviceFlags(xml, flags)
	}
	return d.DetachDevice(xml)
}

// disksMayHaveChanged tells the node-name cache that the call just made on
// d may have added, removed or changed a disk.
func disksMayHaveChanged(env *Env, d *libvirt.Domain, reason string) {
	env.Sess.Nodes().ChangedDomain(d, reason)
}

// deviceCallDone ends a hotplug command after its libvirt call returned
// err: the node-name cache told, then virsh's failure (its message, then
// libvirt's) or its success message.
func deviceCallDone(env *Env, d *libvirt.Domain, reason string, err error, failed, done string) error {
	disksMayHaveChanged(env, d, reason)
	if err != nil {
		return msgThenCause(failed, err)
	}
	env.IO.Extra("%s", done)
	return nil
}

// ---------------------------------------------------------------- attach-device, detach-device, update-device

// deviceFileCmd is attach-device, detach-device and update-device: a
// device XML from FILE, one call, virsh's messages.
type deviceFileCmd struct {
	short, long, example string
	force                bool   // update-device's --force
	reason               string // what the node-name cache records if a disk changed
	call                 func(a *affectOpts, d *libvirt.Domain, xml string, flags libvirt.DomainDeviceModifyFlags) error
	failed, done         string // "Failed to attach device from %s", "Device attached successfully\n"
}

func (dc deviceFileCmd) build(env *Env) *spec.Command {
	var o struct {
		dom, file string
		a         affectOpts
		force     bool
	}
	c := &spec.Command{Short: dc.short, Long: dc.long, Example: dc.example}
	c.Domain(&o.dom, "")
	c.String(&o.file, "file", "XML file", spec.Req, true).Complete(spec.File)
	o.a.declare(c, true)
	if dc.force {
		c.Bool(&o.force, "force", "force device update")
	}
	o.a.rules(c)
	c.Run = env.onDomain(&o.dom, func(ctx context.Context, d *libvirt.Domain) error {
		flags := o.a.liveIfPersistent(d, o.a.flags())
		xml, err := readXMLFile(o.file)
		if err != nil {
			return err
		}
		if o.force {
			flags |= libvirt.DOMAIN_DEVICE_MODIFY_FORCE
		}
		err = dc.call(&o.a, d, xml, flags)
		return deviceCallDone(env, d, dc.reason, err, fmt.Sprintf(dc.failed, o.file), dc.done)
	})
	return c
}

func newAttachDeviceCmd(env *Env) *spec.Command {
	return deviceFileCmd{
		short: "attach device from an XML file", long: "Attach device from an XML <file>.",
		example: "attach-device vm1 disk.xml --live\nattach-device vm1 nic.xml --persistent",
		call:    (*affectOpts).attach, reason: blocknodes.ReasonHotplug,
		failed: "Failed to attach device from %s", done: "Device attached successfully\n",
	}.build(env)
}

func newDetachDeviceCmd(env *Env) *spec.Command {
	return deviceFileCmd{
		short: "detach device from an XML file", long: "Detach device from an XML <file>",
		example: "detach-device vm1 disk.xml --live",
		call:    (*affectOpts).detach, reason: blocknodes.ReasonHotplug,
		failed: "Failed to detach device from %s", done: "Device detached successfully\n",
	}.build(env)
}

func newUpdateDeviceCmd(env *Env) *spec.Command {
	return deviceFileCmd{
		short: "update device from an XML file", long: "Update device from an XML <file>.",
		example: "update-device vm1 cdrom.xml --live\nupdate-device vm1 cdrom.xml --force   # even with the tray locked",
		force:   true, reason: blocknodes.ReasonMedia, // a disk's update is a media change
		call: func(_ *affectOpts, d *libvirt.Domain, xml string, flags libvirt.DomainDeviceModifyFlags) error {
			return d.UpdateDeviceFlags(xml, flags)
		},
		failed: "Failed to update device from %s", done: "Device updated successfully\n",
	}.build(env)
}

func newDetachDeviceAliasCmd(env *Env) *spec.Command {
	var o struct {
		dom, alias string
		a          affectOpts
	}
	c := &spec.Command{Short: "detach device from an alias", Long: "Detach device identified by the given alias from a domain",
		Example: "detach-device-alias vm1 virtio-disk2 --live\ndetach-device-alias vm1 ua-data --config"}
	c.Domain(&o.dom, "")
	c.String(&o.alias, "alias", "device alias", spec.Req, true).Complete(spec.DeviceAlias)
	o.a.declare(c, false)
	o.a.rules(c)
	c.Run = env.onDomain(&o.dom, func(ctx context.Context, d *libvirt.Domain) error {
		err := d.DetachDeviceAlias(o.alias, o.a.flags())
		return deviceCallDone(env, d, blocknodes.ReasonHotplug, err, fmt.Sprintf("Failed to detach device with alias %s", o.alias),
			"Device detach request sent successfully\n")
	})
	return c
}

// ---------------------------------------------------------------- attach-disk

type attachDiskOpts struct {
	dom, source, target, targetbus, driver, subdriver, iothread, cache, io, typ, mode string
	sourcetype, serial, wwn, alias, address, protocol, hostName, hostTransport        string
	hostSocket                                                                        string
	rawio, multifunction, printXML                                                    bool
	a                                                                                 affectOpts
}

func newAttachDiskCmd(env *Env) *spec.Command {
	var o attachDiskOpts
	c := &spec.Command{Short: "attach disk device", Long: "Attach new disk device."}
	c.Example = "attach-disk vm1 /var/lib/libvirt/images/data.qcow2 vdc --subdriver qcow2 --live\n" +
		"attach-disk vm1 /dev/sdb sdb --targetbus scsi --config\n" +
		"attach-disk vm1 data.qcow2 vdc --subdriver qcow2 --cache none --print-xml"
	c.Domain(&o.dom, "")
	c.String(&o.source, "source", "source of disk device or name of network disk", spec.Req, true).Empty().Complete(spec.File)
	c.String(&o.target, "target", "target of disk device", spec.Req, true).Complete(spec.Nothing)
	str := func(p *string, name, help string) *spec.Option { return c.String(p, name, help, spec.Unwanted, false) }
	str(&o.targetbus, "targetbus", "target bus of disk device").Complete(spec.Enum, "ide,scsi,virtio,xen,usb,sata,sd,fdc")
	str(&o.driver, "driver", "driver of disk device").Complete(spec.Enum, "qemu,file,tap,phy")
	str(&o.subdriver, "subdriver", "subdriver of disk device").Complete(spec.StorageFormat)
	str(&o.iothread, "iothread", "IOThread to be used by supported device").Complete(spec.Nothing)
	str(&o.cache, "cache", "cache mode of disk device").Complete(spec.Enum, "default,none,writethrough,writeback,directsync,unsafe")
	str(&o.io, "io", "io policy of disk device").Complete(spec.Enum, "threads,native,io_uring")
	str(&o.typ, "type", "target device type").Complete(spec.Enum, "disk,cdrom,floppy,lun")
	c.Alias("shareable", "mode=shareable")
	str(&o.mode, "mode", "mode of device reading and writing").Complete(spec.Enum, "readonly,shareable")
	str(&o.sourcetype, "sourcetype", "type of source (block|file|network)").Complete(spec.Enum, "file,block,network")
	str(&o.serial, "serial", "serial of disk device").Complete(spec.Nothing)
	str(&o.wwn, "wwn", "wwn of disk device").Complete(spec.Nothing)
	str(&o.alias, "alias", "custom alias name of disk device").Complete(spec.Nothing)
	c.Bool(&o.rawio, "rawio", "needs rawio capability")
	str(&o.address, "address", "address of disk device").Complete(spec.Nothing)
	c.Bool(&o.multifunction, "multifunction", "use multifunction pci under specified address")
	c.Bool(&o.printXML, "print-xml", "print XML document rather than attach the disk")
	c.InertOptions("print-xml")
	str(&o.protocol, "source-protocol", "protocol used by disk device source").Complete(spec.Enum, "nbd,rbd,gluster,iscsi,http,https,ftp,ftps,tftp,ssh,nfs,vxhs")
	str(&o.hostName, "source-host-name", "host name for source of disk device").Complete(spec.Nothing)
	str(&o.hostTransport, "source-host-transport", "host transport for source of disk device").Complete(spec.Enum, "tcp,unix,rdma")
	str(&o.hostSocket, "source-host-socket", "host socket for source of disk device").Complete(spec.File)
	o.a.declare(c, true)
	o.a.rules(c)
	c.Requires("source-host-name", "source-protocol")
	c.Requires("source-host-transport", "source-protocol")
	c.Requires("source-host-socket", "source-protocol")
	c.Requires("source-host-socket", "source-host-transport")
	c.Exclusive("source-host-name", "source-host-socket")
	c.Run = func(ctx context.Context) error {
		xml, err := o.diskXML(c)
		if err != nil {
			return err
		}
		// virsh prints the document before it looks the domain up.
		if o.printXML {
			env.IO.Printf("%s", xml)
			return nil
		}
		d, err := env.lookupDomain(o.dom)
		if err != nil {
			return err
		}
		defer d.Free()
		err = o.a.attach(d, xml, o.a.liveIfPersistent(d, o.a.flags()))
		return deviceCallDone(env, d, blocknodes.ReasonHotplug, err, "Failed to attach disk", "Disk attached successfully\n")
	}
	return c
}

// diskXML is the <disk> virsh's cmdAttachDisk builds from the options, with
// its checks and messages, in its order: built with libvirtxml, written as
// virsh writes it (style).
func (o *attachDiskOpts) diskXML(c *spec.Command) (string, error) {
	stype := o.sourcetype
	switch stype {
	case "", "file", "block", "network":
	default:
		return "", fmt.Errorf("Unknown source type: '%s'", stype)
	}
	if stype == "" {
		switch {
		case o.protocol != "":
			stype = "network"
		case o.driver != "file" && o.driver != "tap" && isBlockDevice(o.source):
			stype = "block"
		default:
			stype = "file"
		}
	}
	if (stype == "network") != (o.protocol != "") {
		return "", errors.New("--source-protocol option requires --sourcetype network")
	}
	if o.mode != "" && o.mode != "readonly" && o.mode != "shareable" {
		return "", fmt.Errorf("No support for %s in command 'attach-disk'", o.mode)
	}
	if o.wwn != "" && !validWWN(o.wwn) {
		return "", fmt.Errorf("internal error: Malformed wwn: %s", o.wwn)
	}
	disk := libvirtxml.DomainDisk{Device: o.typ, Source: &libvirtxml.DomainDiskSource{},
		Target: &libvirtxml.DomainDiskTarget{Dev: o.target, Bus: o.targetbus}, Serial: o.serial, WWN: o.wwn}
	if o.rawio {
		disk.RawIO = "yes"
	}
	if o.driver != "" || o.subdriver != "" || o.iothread != "" || o.cache != "" || o.io != "" {
		disk.Driver = &libvirtxml.DomainDiskDriver{Name: o.driver, Type: o.subdriver, Cache: o.cache, IO: o.io}
	}
	host := libvirtxml.DomainDiskSourceHost{Transport: o.hostTransport, Socket: o.hostSocket}
	if c.Given("source-host-name") {
		host.Name, host.Port, _ = strings.Cut(o.hostName, ":")
	}
	switch stype {
	case "file":
		disk.Source.File = &libvirtxml.DomainDiskSourceFile{File: o.source}
	case "block":
		disk.Source.Block = &libvirtxml.DomainDiskSourceBlock{Dev: o.source}
	case "network":
		disk.Source.Network = &libvirtxml.DomainDiskSourceNetwork{Protocol: o.protocol, Name: o.source}
		if host != (libvirtxml.DomainDiskSourceHost{}) || c.Given("source-host-name") {
			disk.Source.Network.Hosts = []libvirtxml.DomainDiskSourceHost{host}
		}
	}
	switch o.mode {
	case "readonly":
		disk.ReadOnly = &libvirtxml.DomainDiskReadOnly{}
	case "shareable":
		disk.Shareable = &libvirtxml.DomainDiskShareable{}
	}
	if o.alias != "" {
		disk.Alias = &libvirtxml.DomainAlias{Name: o.alias}
	}
	if c.Given("address") {
		addr, err := parseDiskAddress(o.address, o.target, o.multifunction)
		if err != nil {
			return "", err
		}
		disk.Address = addr
	}
	raw, err := disk.Marshal()
	if err != nil {
		return "", err
	}
	return libvirtStyleXMLEdit(raw, o.style(c, stype, host))
}

// style makes libvirtStyleXMLEdit write the document as virsh's
// virBuffer code does: children of <disk> and attributes in virsh's order,
// and the values libvirtxml cannot hold as given (an empty source or port,
// an iothread that is not a number: virsh passes them on as they are).
func (o *attachDiskOpts) style(c *spec.Command, stype string, host libvirtxml.DomainDiskSourceHost) func(string, *styledElem) {
	order := []string{"driver", "source", "target", "readonly", "shareable", "serial", "alias", "wwn", "address"}
	return func(path string, n *styledElem) {
		switch path {
		case "disk":
			n.reorderAttrs("type", "device", "rawio")
			// libvirtxml leaves out a <source> whose only value is
			// empty (attach-disk DOMAIN '' vdc); virsh writes source=''.
			hasSource := false
			for _, k := range n.children {
				hasSource = hasSource || k.name == "source"
			}
			if !hasSource {
				n.children = append(n.children, &styledElem{name: "source"})
			}
			kids := n.children[:0:0]
			for _, name := range order {
				for _, k := range n.children {
					if k.name == name {
						kids = append(kids, k)
					}
				}
			}
			n.children = kids
		case "disk/driver":
			n.reorderAttrs("name", "type")
			if o.iothread != "" {
				n.attrs = append(n.attrs, xmlAttr("iothread", o.iothread))
			}
			for _, a := range [][2]string{{"cache", o.cache}, {"io", o.io}} {
				if a[1] != "" {
					n.attrs = append(n.attrs, xmlAttr(a[0], a[1]))
				}
			}
		case "disk/source":
			switch stype {
			case "file":
				n.attrs = append(n.attrs[:0:0], xmlAttr("file", o.source))
			case "block":
				n.attrs = append(n.attrs[:0:0], xmlAttr("dev", o.source))
			case "network":
				n.attrs = append(n.attrs[:0:0], xmlAttr("protocol", o.protocol), xmlAttr("name", o.source))
			}
		case "disk/source/host":
			n.attrs = n.attrs[:0:0]
			for _, a := range [][2]string{{"transport", host.Transport}, {"socket", host.Socket}} {
				if a[1] != "" {
					n.attrs = append(n.attrs, xmlAttr(a[0], a[1]))
				}
			}
			if c.Given("source-host-name") {
				n.attrs = append(n.attrs, xmlAttr("name", host.Name))
				if strings.Contains(o.hostName, ":") {
					n.attrs = append(n.attrs, xmlAttr("port", host.Port))
				}
			}
		}
	}
}

// xmlAttr is an unprefixed attribute for a styledElem.
func xmlAttr(name, value string) xml.Attr { return xml.Attr{Name: xml.Name{Local: name}, Value: value} }

// isBlockDevice is virsh's stat(source) && S_ISBLK test.
func isBlockDevice(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.Mode()&os.ModeDevice != 0 && st.Mode()&os.ModeCharDevice == 0
}

// validWWN is libvirt's virValidateWWN: 16 hex digits, "0x" allowed before.
func validWWN(wwn string) bool {
	p := strings.TrimPrefix(wwn, "0x")
	if len(p) != 16 {
		return false
	}
	for _, r := range p {
		if !strings.ContainsRune("0123456789abcdefABCDEF", r) {
			return false
		}
	}
	return true
}

// parseDiskAddress is virsh's virshAddressParse and
// cmdAttachDiskFormatAddress: pci:D.B.S.F, ccw:C.S.D (hex), scsi:C.B.U,
// ide:C.B.U, sata:C.B.U, usb:B.P (decimal), each number after any one
// separator character; the kind must suit the target's prefix (vd, sd, hd).
func parseDiskAddress(s, target string, multifunction bool) (*libvirtxml.DomainAddress, error) {
	invalid := errors.New("Invalid address.")
	kind, rest, ok := strings.Cut(s, ":")
	if !ok {
		return nil, invalid
	}
	// nums reads n numbers in base, each after one separator (the first
	// after the ':'), as virStrToLong_uip/_ullp with an end pointer: a
	// number may be followed by anything.
	nums := func(n, base int, bits []int) ([]uint64, bool) {
		out := make([]uint64, n)
		p := rest
		for i := 0; i < n; i++ {
			if i > 0 {
				if p == "" {
					return nil, false // virsh would read past the string's end
				}
				p = p[1:]
			}
			v, used, ok := strtoul(p, base, bits[i])
			if !ok {
				return nil, false
			}
			out[i], p = v, p[used:]
		}
		return out, true
	}
	u := func(v uint64) *uint { x := uint(v); return &x }
	addr := &libvirtxml.DomainAddress{}
	var family string
	switch kind {
	case "pci":
		v, ok := nums(4, 16, []int{32, 32, 32, 32})
		if !ok {
			return nil, invalid
		}
		addr.PCI = &libvirtxml.DomainAddressPCI{Domain: u(v[0]), Bus: u(v[1]), Slot: u(v[2]), Function: u(v[3])}
		if multifunction {
			addr.PCI.MultiFunction = "on"
		}
		family = "pci"
	case "scsi", "ide", "sata":
		v, ok := nums(3, 10, []int{32, 32, 64})
		if !ok {
			return nil, invalid
		}
		addr.Drive = &libvirtxml.DomainAddressDrive{Controller: u(v[0]), Bus: u(v[1]), Unit: u(v[2])}
		family = kind
	case "ccw":
		v, ok := nums(3, 16, []int{32, 32, 32})
		if !ok {
			return nil, invalid
		}
		addr.CCW = &libvirtxml.DomainAddressCCW{CSSID: u(v[0]), SSID: u(v[1]), DevNo: u(v[2])}
		family = "ccw"
	case "usb":
		v, ok := nums(2, 10, []int{32, 32})
		if !ok {
			return nil, invalid
		}
		addr.USB = &libvirtxml.DomainAddressUSB{Bus: u(v[0]), Port: strconv.FormatUint(v[1], 10)}
		family = "usb"
	default:
		return nil, invalid
	}
	switch {
	case strings.HasPrefix(target, "vd") && family != "pci" && family != "ccw":
		return nil, errors.New("expecting a pci:0000.00.00.00 or ccw:00.0.0000 address.")
	case strings.HasPrefix(target, "sd") && family != "scsi" && family != "usb" && family != "sata":
		return nil, errors.New("expecting a scsi:00.00.00 or usb:00.00 or sata:00.00.00 address.")
	case strings.HasPrefix(target, "hd") && family != "ide":
		return nil, errors.New("expecting an ide:00.00.00 address.")
	}
	return addr, nil
}

// strtoul is C's strtoul as libvirt's virStrToLong_uip/_ullp use it: leading
// white space and a '+' skipped, "0x" allowed in base 16, as many digits as
// there are; no digits, a '-', or a value over bits bits is a failure. It
// returns the value and how many bytes it read.
func strtoul(s string, base, bits int) (uint64, int, bool) {
	i := 0
	for i < len(s) && strings.IndexByte(" \t\n\v\f\r", s[i]) >= 0 {
		i++
	}
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		if s[i] == '-' {
			return 0, 0, false
		}
		i++
	}
	if base == 16 && i+2 < len(s) && s[i] == '0' && (s[i+1] == 'x' || s[i+1] == 'X') && isDigitIn(s[i+2], 16) {
		i += 2
	}
	start := i
	for i < len(s) && isDigitIn(s[i], base) {
		i++
	}
	if i == start {
		return 0, 0, false
	}
	v, err := strconv.ParseUint(s[start:i], base, bits)
	if err != nil {
		return 0, 0, false
	}
	return v, i, true
}

func isDigitIn(c byte, base int) bool {
	switch {
	case c >= '0' && c <= '9':
		return int(c-'0') < base
	case base == 16 && (c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'):
		return true
	}
	return false
}
