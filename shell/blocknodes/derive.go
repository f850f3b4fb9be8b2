package blocknodes

import (
	"fmt"

	"github.com/virtsh/virtsh/shell/domain"
)

// Naming is what the daemon's libvirt does with a source's nodes.
type Naming struct {
	// RawFormatLayer: a plain raw source gets a format node over its
	// storage node. libvirt 9.x always makes one (libvirt-N-format,
	// drv=raw); newer libvirt leaves it out when nothing needs it (seen
	// with 11.3: a raw cdrom or disk is libvirt-N-storage alone), keeping
	// it for a slice (offset/size live on the format layer).
	RawFormatLayer bool
}

// NamingOf is the naming of a daemon of libvirt version v (major*1e6 +
// minor*1e3 + micro, as GetLibVersion gives it). The raw format layer went
// with a libvirt 9.9/10.0 series (../shared/node-names.md); 10.0 is taken as
// the boundary, and `debug node-names --verify` checks it on a given host.
func NamingOf(v uint32) Naming { return Naming{RawFormatLayer: v == 0 || v < 10_000_000} }

// Derive builds an entry from a live domain XML: libvirt ≥ 5.10 with
// -blockdev names each source's nodes after its index attribute. The disks
// and chains are shell/domain's reading of the XML; the entry has no UUID,
// name, counters or fill record (the cache adds them).
func Derive(xml string, n Naming) (*Entry, error) {
	disks, err := domain.Disks(xml)
	if err != nil {
		return nil, err
	}
	e := &Entry{aliases: map[string]string{}}
	for i := range disks {
		d := &disks[i]
		if d.Target == "" {
			continue
		}
		dn := Disk{Target: d.Target, Alias: d.Alias, Device: d.Device, MirrorJob: d.MirrorJob, MirrorReady: d.MirrorReady}
		if d.Alias != "" {
			e.aliases[d.Alias] = d.Target
		}
		if d.CopyOnRead {
			dn.CopyOnRead = "libvirt-CoR-" + d.Target
		}
		for _, s := range d.Chain {
			dn.Chain = append(dn.Chain, layerOf(s, n))
		}
		if d.Mirror != nil {
			l := layerOf(*d.Mirror, n)
			dn.Mirror = &l
		}
		e.Disks = append(e.Disks, dn)
	}
	return e, nil
}

// layerOf names a source's nodes. A source without an index (an SD-card
// disk, on -drive) or without storage (an ejected cdrom) has none, and
// neither has vhost-user, which QEMU serves without a block layer. Without
// a format layer the storage node is the layer's top: it is the format node
// too (what the device, bitmaps and QEMU's chain start from).
func layerOf(s domain.Source, n Naming) Layer {
	l := Layer{Source: s, Bitmaps: []string{}}
	if s.Index == 0 || s.Empty || s.Kind == domain.KindVHostUser {
		return l
	}
	l.FormatNode = fmt.Sprintf("libvirt-%d-format", s.Index)
	l.StorageNode = fmt.Sprintf("libvirt-%d-storage", s.Index)
	if s.Format == "raw" && !s.StorageSlice && !n.RawFormatLayer {
		l.FormatNode = l.StorageNode
	}
	// A raw slice becomes offset/size on the format node; other formats get
	// a slice-sto layer between format and storage (libvirt names it libvirt-<index>-slice-sto).
	if s.StorageSlice && s.Format != "raw" {
		l.SliceNode = fmt.Sprintf("libvirt-%d-slice-sto", s.Index)
	}
	return l
}
