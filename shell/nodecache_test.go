package shell

import (
	"io"
	"strings"
	"testing"

	"libvirt.org/go/libvirt"

	"github.com/virtsh/virtsh/format"
)

// A live XML as libvirt 9.0 writes it (trimmed): vda a 3-deep chain with a
// block-copy mirror, vdb copy-on-read, an empty cdrom, a qcow2 slice.
const liveXML = `<domain type='qemu'><name>nn</name><devices>
<disk type='file' device='disk'><driver name='qemu' type='qcow2'/>
  <source file='/i/top.qcow2' index='2'/>
  <backingStore type='file' index='3'><format type='qcow2'/><source file='/i/mid.qcow2'/>
    <backingStore type='file' index='4'><format type='qcow2'/><source file='/i/base.qcow2'/><backingStore/></backingStore>
  </backingStore>
  <mirror type='file' job='copy' ready='yes'><format type='qcow2'/><source file='/i/copy.qcow2' index='6'/></mirror>
  <target dev='vda' bus='virtio'/><alias name='virtio-disk0'/></disk>
<disk type='file' device='disk'><driver name='qemu' type='qcow2' copy_on_read='on'/>
  <source file='/i/b.qcow2' index='1'><slices><slice type='storage' offset='1048576' size='4194304'/></slices></source>
  <backingStore/><target dev='vdb' bus='virtio'/><alias name='virtio-disk1'/></disk>
<disk type='file' device='cdrom'><driver name='qemu' type='raw'/><source index='5'/><target dev='hdc' bus='ide'/><alias name='ide0-1-0'/></disk>
</devices></domain>`

func TestDeriveFromXML(t *testing.T) {
	e, err := deriveFromXML(liveXML)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range e.Disks {
		for _, l := range d.Chain {
			got = append(got, l.Dev(d.Target)+"="+l.FormatNode+"/"+l.StorageNode+"/"+l.SliceNode)
		}
		if d.Mirror != nil {
			got = append(got, "mirror:"+d.MirrorJob+":"+d.Mirror.FormatNode)
		}
		if d.CopyOnRead != "" {
			got = append(got, d.CopyOnRead)
		}
	}
	want := "vda[2]=libvirt-2-format/libvirt-2-storage/ vda[3]=libvirt-3-format/libvirt-3-storage/ " +
		"vda[4]=libvirt-4-format/libvirt-4-storage/ mirror:copy:libvirt-6-format " +
		"vdb[1]=libvirt-1-format/libvirt-1-storage/libvirt-1-slice-sto libvirt-CoR-vdb hdc[5]=//"
	if strings.Join(got, " ") != want {
		t.Fatalf("derived\n%s\nwant\n%s", strings.Join(got, " "), want)
	}
	if e.aliases["ide0-1-0"] != "hdc" {
		t.Fatalf("alias map %v", e.aliases)
	}
	if _, l := e.Find("/i/mid.qcow2"); l == nil || l.Index != 3 {
		t.Fatalf("Find by path: %+v", l)
	}
	if _, l := e.Find("vda[9]"); l != nil {
		t.Fatalf("vda[9] found: %+v", l)
	}
}

func TestScrapeDiff(t *testing.T) {
	e, _ := deriveFromXML(`<domain><devices><disk type='file' device='disk'><driver type='qcow2'/>
<source file='/a' index='2'/><backingStore type='file' index='3'><format type='qcow2'/><source file='/b'/></backingStore>
<target dev='vda'/><alias name='virtio-disk0'/></disk></devices></domain>`)
	nodes := `{"return":[{"node-name":"#block5","drv":"mirror_top"},
 {"node-name":"libvirt-2-format","drv":"qcow2","dirty-bitmaps":[{"name":"cp1","persistent":true},{"persistent":false}]},
 {"node-name":"libvirt-2-storage","drv":"file"},{"node-name":"libvirt-5-format","drv":"qcow2"},{"node-name":"libvirt-5-storage","drv":"file"}]}`
	stats := `{"return":[{"qdev":"/machine/peripheral/virtio-disk0/virtio-backend","node-name":"#block5",
 "backing":{"node-name":"libvirt-2-format","parent":{"node-name":"libvirt-2-storage"},
   "backing":{"node-name":"libvirt-5-format","parent":{"node-name":"libvirt-5-storage"}}}}]}`
	sc, err := parseScrape(nodes, stats)
	if err != nil {
		t.Fatal(err)
	}
	if b := sc.Nodes["libvirt-2-format"].Bitmaps; len(b) != 1 || b[0] != "cp1" {
		t.Fatalf("bitmaps %v", b)
	}
	diff := strings.Join(e.Diff(sc), "\n")
	for _, w := range []string{"vda[3]: format node: cache libvirt-3-format, QEMU libvirt-5-format",
		"node libvirt-5-format: in QEMU, not in the cache", "node libvirt-3-storage (vda[3]): in the cache, not in QEMU"} {
		if !strings.Contains(diff, w) {
			t.Errorf("diff lacks %q:\n%s", w, diff)
		}
	}
}

// fakeBackend counts the libvirt calls the cache makes.
type fakeBackend struct {
	xml                string
	sig                string
	nStats, nXML, nQMP int
}

func (f *fakeBackend) stats(*libvirt.Domain) (chainStats, error) {
	f.nStats++
	return chainStats{active: true, id: 7, sig: f.sig}, nil
}
func (f *fakeBackend) liveXML(*libvirt.Domain) (string, error) { f.nXML++; return f.xml, nil }
func (f *fakeBackend) qmp(*libvirt.Domain, string) (string, error) {
	f.nQMP++
	return "", nil
}

func testDomain(t testing.TB) *libvirt.Domain {
	conn, err := libvirt.NewConnect("test:///default")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = conn.Close() })
	d, err := conn.LookupDomainByName("test")
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// The check-before-use flow with a fake backend: first sight fills once, an
// unchanged signature is a verify hit with one stats call and no XML, a
// changed one is one verify miss and one fill; Refill defers the fill to the
// next use and a second Refill before it costs nothing more.
func TestCacheCheckAndRefill(t *testing.T) {
	d := testDomain(t)
	f := &fakeBackend{xml: liveXML, sig: "7;vda[2]"}
	c := newNodeCache(nil, f)
	for i := 0; i < 3; i++ {
		if _, err := c.Get(d); err != nil {
			t.Fatal(err)
		}
	}
	if tot := c.Totals(); tot.Fills != 1 || tot.VerifyHits != 2 || f.nXML != 1 || f.nStats != 3 || f.nQMP != 0 {
		t.Fatalf("totals %+v, calls xml=%d stats=%d qmp=%d", tot, f.nXML, f.nStats, f.nQMP)
	}
	f.sig = "7;vda[8]"
	e, _ := c.Get(d)
	if tot := c.Totals(); tot.Fills != 2 || tot.VerifyMisses != 1 || e.Last.Reason != ReasonVerifyMiss {
		t.Fatalf("after a change: %+v %+v", tot, e.Last)
	}
	uuid, _ := d.GetUUIDString()
	c.Refill(uuid, ReasonBlockJob)
	c.Refill(uuid, ReasonBlockJob)
	e, _ = c.Get(d)
	if tot := c.Totals(); tot.Fills != 3 || e.Last.Reason != ReasonBlockJob {
		t.Fatalf("after Refill: %+v %+v", tot, e.Last)
	}
	c.Drop(uuid)
	if c.Cached(uuid) != nil {
		t.Fatal("dropped entry still cached")
	}
}

// BenchmarkCachedLookup: the hot path (event display, node name of vda[N])
// makes no libvirt call at all.
func BenchmarkCachedLookup(b *testing.B) {
	d := testDomain(b)
	f := &fakeBackend{xml: liveXML, sig: "7"}
	c := newNodeCache(nil, f)
	e, err := c.Get(d)
	if err != nil {
		b.Fatal(err)
	}
	before := f.nStats + f.nXML + f.nQMP
	b.ReportAllocs()
	for b.Loop() {
		if _, sto, ok := c.NodeName(e.UUID, "vda", 3); !ok || sto != "libvirt-3-storage" {
			b.Fatal("lookup failed")
		}
	}
	calls := f.nStats + f.nXML + f.nQMP - before
	if calls != 0 {
		b.Fatalf("cached lookups made %d libvirt calls", calls)
	}
	b.ReportMetric(float64(calls)/float64(b.N), "libvirt-calls/op")
}

// BenchmarkCheckedGet: a checked Get on an unchanged chain costs exactly one
// bulk-stats call and no XML or QMP.
func BenchmarkCheckedGet(b *testing.B) {
	d := testDomain(b)
	f := &fakeBackend{xml: liveXML, sig: "7"}
	c := newNodeCache(nil, f)
	if _, err := c.Get(d); err != nil {
		b.Fatal(err)
	}
	f.nStats, f.nXML = 0, 0
	n := 0
	for b.Loop() {
		if _, err := c.Get(d); err != nil {
			b.Fatal(err)
		}
		n++
	}
	if f.nStats != n || f.nXML != 0 || f.nQMP != 0 {
		b.Fatalf("%d gets: stats=%d xml=%d qmp=%d", n, f.nStats, f.nXML, f.nQMP)
	}
	b.ReportMetric(float64(f.nStats)/float64(n), "libvirt-calls/op")
}

// After the session reconnects (libvirtd restarted, or `connect`), every
// cached guest is checked again: its next use re-derives it (recorded as a
// "connect" fill: first sight after (re)connecting) even when its chain did
// not change, because the old connection's event callbacks are gone and
// another client may have acted meanwhile.
func TestCacheAfterReconnect(t *testing.T) {
	d := testDomain(t)
	f := &fakeBackend{xml: liveXML, sig: "7;vda[2]"}
	sess := NewSession(&format.IO{Out: io.Discard, Err: io.Discard}, Options{URI: "test:///default"})
	defer sess.Close()
	c := newNodeCache(sess, f)
	sess.nodes = c
	if _, err := sess.Conn(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Get(d); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Get(d); err != nil {
		t.Fatal(err)
	}
	if tot := c.Totals(); tot.Fills != 1 || tot.VerifyHits != 1 {
		t.Fatalf("before the reconnect: %+v", tot)
	}
	if err := sess.Connect("", false); err != nil { // what a reconnect does to the cache
		t.Fatal(err)
	}
	e, err := c.Get(d)
	if err != nil {
		t.Fatal(err)
	}
	if tot := c.Totals(); tot.Fills != 2 || e.Last.Reason != ReasonConnect || f.nQMP != 0 {
		t.Fatalf("after the reconnect: %+v, last fill %+v, qmp=%d", tot, e.Last, f.nQMP)
	}
	if _, sto, ok := c.NodeName(e.UUID, "vda", 3); !ok || sto != "libvirt-3-storage" {
		t.Fatalf("names after the reconnect: %q %v", sto, ok)
	}
}
