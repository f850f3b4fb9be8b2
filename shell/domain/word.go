package domain

import (
	"errors"
	"strconv"
	"strings"
)

// DiskWord is a disk as a user names it to block-job, threshold and
// completion: a target ("vda"), a target with a chain index ("vda[2]",
// libvirt's virStorageSourceParseBackingStoreStr), or a source path
// ("/img/a.qcow2"; libvirt treats a name starting with '/' as a path and
// anything else as a target: virDomainDiskIndexByName). virtsh hands libvirt
// the word exactly as typed, so libvirt's own checks and messages apply; the
// parsed form finds the disk and layer in the XML or the node-name cache,
// matches block-job events (which name the disk by target or by path), and
// narrows completions.
type DiskWord struct {
	Raw      string // as typed
	Target   string // "vda" (empty for a path)
	Index    uint   // chain index for "vda[2]"
	HasIndex bool
	Path     string // source path (empty for a target)
}

// IsPath reports whether the word named a source path rather than a target.
func (w DiskWord) IsPath() bool { return w.Path != "" }

func (w DiskWord) String() string { return w.Raw }

var errDiskWord = errors.New("malformed disk name")

// ParseDiskWord parses a disk word. It fails only for words libvirt could
// never accept: empty, an empty target before '[', or a bracket suffix that
// is not "[digits]" at the very end.
func ParseDiskWord(s string) (DiskWord, error) {
	w := DiskWord{Raw: s}
	if s == "" {
		return w, errDiskWord
	}
	if s[0] == '/' {
		w.Path = s
		return w, nil
	}
	target, rest, ok := strings.Cut(s, "[")
	if target == "" {
		return w, errDiskWord
	}
	w.Target = target
	if !ok {
		return w, nil
	}
	digits, ok := strings.CutSuffix(rest, "]")
	if !ok || digits == "" {
		return w, errDiskWord
	}
	for _, r := range digits {
		if r < '0' || r > '9' {
			return w, errDiskWord
		}
	}
	n, err := strconv.ParseUint(digits, 10, 32)
	if err != nil {
		return w, errDiskWord
	}
	w.Index, w.HasIndex = uint(n), true
	return w, nil
}

// MirrorLayer is the layer position of a block-copy mirror.
const MirrorLayer = -1

// Chain is a disk as the matcher reads it: a target and its layers. *Disk is
// one; the node-name cache's disks, which carry QEMU node names on the same
// layers, are another, so both are matched by the same rule.
type Chain interface {
	ChainTarget() string
	ChainLen() int
	ChainSource(i int) *Source // 0 ≤ i < ChainLen(); 0 is the active layer
	ChainMirror() *Source      // nil without a mirror
}

func (d *Disk) ChainTarget() string       { return d.Target }
func (d *Disk) ChainLen() int             { return len(d.Chain) }
func (d *Disk) ChainSource(i int) *Source { return &d.Chain[i] }
func (d *Disk) ChainMirror() *Source      { return d.Mirror }

// Layer reports which layer of disk d the word names, as a chain position
// or MirrorLayer:
//   - "vda": the active layer;
//   - "vda[N]": the chain member with index N, else the mirror with index N
//     (libvirt looks a threshold's "vda[N]" up in both). N = 0 names none:
//     libvirt's indexes start at 1, and 0 means the XML has no index;
//   - a path: the first chain member, top first, whose source name is the
//     path (libvirt follows the chain for a block job's --top and --base; its
//     disk argument accepts the active layer's path only, position 0).
func (w DiskWord) Layer(d Chain) (int, bool) {
	if w.IsPath() {
		for i := 0; i < d.ChainLen(); i++ {
			if d.ChainSource(i).Name == w.Path {
				return i, true
			}
		}
		return 0, false
	}
	if w.Target == "" || d.ChainTarget() != w.Target || d.ChainLen() == 0 {
		return 0, false
	}
	if !w.HasIndex {
		return 0, true
	}
	if w.Index == 0 {
		return 0, false
	}
	for i := 0; i < d.ChainLen(); i++ {
		if d.ChainSource(i).Index == w.Index {
			return i, true
		}
	}
	if m := d.ChainMirror(); m != nil && m.Index == w.Index {
		return MirrorLayer, true
	}
	return 0, false
}

// Find returns the first disk, in XML order, that the word names, and the
// layer it names within it (see Layer).
func (w DiskWord) Find(disks []Disk) (*Disk, *Source, bool) {
	for i := range disks {
		if pos, ok := w.Layer(&disks[i]); ok {
			return &disks[i], disks[i].Layer(pos), true
		}
	}
	return nil, nil, false
}
