package cmd

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"libvirt.org/go/libvirt"
	"libvirt.org/go/libvirtxml"
)

// DiskPath is a disk as a user names it to block-job and threshold commands:
// a target ("vda"), a target with a chain index ("vda[2]", libvirt's
// virStorageSourceParseBackingStoreStr), or a source path ("/img/a.qcow2";
// libvirt treats a name starting with '/' as a path, anything else as a
// target: virDomainDiskIndexByName). virtsh always hands libvirt the word
// exactly as typed, so libvirt's own checks and messages apply; the parsed
// form is used to find the disk in the live XML, to match block-job events
// (which name the disk by target or by path) and to offer completions.
type DiskPath struct {
	Raw      string // as typed
	Target   string // "vda" (empty for a path)
	Index    uint   // chain index for "vda[2]"
	HasIndex bool
	Path     string // source path (empty for a target)
}

// IsPath reports whether the word named a source path rather than a target.
func (d DiskPath) IsPath() bool { return d.Path != "" }

func (d DiskPath) String() string { return d.Raw }

var errDiskPath = errors.New("malformed disk name")

// ParseDiskPath parses a disk word. Errors only for words libvirt could never
// accept: empty, an empty target before '[', or a bracket suffix that is not
// "[digits]" at the very end.
func ParseDiskPath(s string) (DiskPath, error) {
	d := DiskPath{Raw: s}
	if s == "" {
		return d, errDiskPath
	}
	if s[0] == '/' {
		d.Path = s
		return d, nil
	}
	target, rest, ok := strings.Cut(s, "[")
	if target == "" {
		return d, errDiskPath
	}
	d.Target = target
	if !ok {
		return d, nil
	}
	digits, ok := strings.CutSuffix(rest, "]")
	if !ok || digits == "" {
		return d, errDiskPath
	}
	for _, r := range digits {
		if r < '0' || r > '9' {
			return d, errDiskPath
		}
	}
	n, err := strconv.ParseUint(digits, 10, 32)
	if err != nil {
		return d, errDiskPath
	}
	d.Index, d.HasIndex = uint(n), true
	return d, nil
}

// chainImage is one image of a disk's backing chain, top first.
type chainImage struct {
	Index  uint   `json:"index" yaml:"index"`
	Path   string `json:"path" yaml:"path"`
	Format string `json:"format,omitempty" yaml:"format,omitempty"`
}

// blockDisk is a disk of the running domain with its backing chain.
type blockDisk struct {
	Target string       `json:"target" yaml:"target"`
	Chain  []chainImage `json:"chain" yaml:"chain"`
}

// TopPath is the path of the disk's active image ("" if none).
func (d blockDisk) TopPath() string {
	if len(d.Chain) == 0 {
		return ""
	}
	return d.Chain[0].Path
}

func diskSourcePath(s *libvirtxml.DomainDiskSource) string {
	switch {
	case s == nil:
		return ""
	case s.File != nil:
		return s.File.File
	case s.Block != nil:
		return s.Block.Dev
	}
	return ""
}

// blockDisksFromXML lists the disks of a domain XML with their chains.
func blockDisksFromXML(xml string) ([]blockDisk, error) {
	var def libvirtxml.Domain
	if err := def.Unmarshal(xml); err != nil {
		return nil, err
	}
	var out []blockDisk
	if def.Devices == nil {
		return out, nil
	}
	for _, disk := range def.Devices.Disks {
		if disk.Target == nil {
			continue
		}
		ld := blockDisk{Target: disk.Target.Dev}
		if p := diskSourcePath(disk.Source); p != "" || disk.Source != nil {
			e := chainImage{Path: p}
			if disk.Source != nil {
				e.Index = disk.Source.Index
			}
			if disk.Driver != nil {
				e.Format = disk.Driver.Type
			}
			ld.Chain = append(ld.Chain, e)
		}
		for bs := disk.BackingStore; bs != nil && bs.Source != nil && (bs.Index != 0 || diskSourcePath(bs.Source) != ""); bs = bs.BackingStore {
			e := chainImage{Index: bs.Index, Path: diskSourcePath(bs.Source)}
			if bs.Format != nil {
				e.Format = bs.Format.Type
			}
			ld.Chain = append(ld.Chain, e)
		}
		out = append(out, ld)
	}
	return out, nil
}

// liveBlockDisks reads the running domain's disks.
func liveBlockDisks(dom *libvirt.Domain) ([]blockDisk, error) {
	x, err := dom.GetXMLDesc(0)
	if err != nil {
		return nil, err
	}
	return blockDisksFromXML(x)
}

// Find returns the disk d names among disks, as libvirt would pick it: by
// target, or by the path of the disk's active image. A "vda[N]" word also
// needs N to be an index in the chain.
func (d DiskPath) Find(disks []blockDisk) (blockDisk, bool) {
	for _, ld := range disks {
		switch {
		case d.IsPath():
			if ld.TopPath() == d.Path {
				return ld, true
			}
		case ld.Target == d.Target:
			if !d.HasIndex {
				return ld, true
			}
			for _, e := range ld.Chain {
				if e.Index == d.Index {
					return ld, true
				}
			}
		}
	}
	return blockDisk{}, false
}

// diskPathWords lists the words the block commands accept for a disk: every
// target, and target[index] for each indexed image of its chain (virsh's
// completer for --top/--base does the same).
func diskPathWords(disks []blockDisk, withIndex bool) []string {
	var out []string
	for _, ld := range disks {
		out = append(out, ld.Target)
		if !withIndex {
			continue
		}
		for _, e := range ld.Chain {
			if e.Index != 0 {
				out = append(out, fmt.Sprintf("%s[%d]", ld.Target, e.Index))
			}
		}
	}
	return out
}
