package blocknodes

import (
	"fmt"

	"github.com/virtsh/virtsh/shell/domain"
)

// Derive builds an entry from a live domain XML: libvirt ≥ 5.10 with
// -blockdev names each source's nodes after its index attribute. The disks
// and chains are shell/domain's reading of the XML; the entry has no UUID,
// name, counters or fill record (the cache adds them).
func Derive(xml string) (*Entry, error) {
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
			dn.Chain = append(dn.Chain, layerOf(s))
		}
		if d.Mirror != nil {
			l := layerOf(*d.Mirror)
			dn.Mirror = &l
		}
		e.Disks = append(e.Disks, dn)
	}
	return e, nil
}

// layerOf names a source's nodes. A source without an index (an SD-card
// disk, on -drive) or without storage (an ejected cdrom) has none, and
// neither has vhost-user, which QEMU serves without a block layer.
func layerOf(s domain.Source) Layer {
	l := Layer{Source: s, Bitmaps: []string{}}
	if s.Index == 0 || s.Empty || s.Kind == domain.KindVHostUser {
		return l
	}
	l.FormatNode = fmt.Sprintf("libvirt-%d-format", s.Index)
	l.StorageNode = fmt.Sprintf("libvirt-%d-storage", s.Index)
	// A raw slice becomes offset/size on the format node; other formats get
	// a slice-sto layer between format and storage (libvirt names it libvirt-<index>-slice-sto).
	if s.StorageSlice && s.Format != "raw" {
		l.SliceNode = fmt.Sprintf("libvirt-%d-slice-sto", s.Index)
	}
	return l
}
