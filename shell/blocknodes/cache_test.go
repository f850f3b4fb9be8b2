package blocknodes

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"libvirt.org/go/libvirt"

	"github.com/virtsh/virtsh/shell/domain"
)

// A live XML as libvirt 9.0 writes it (trimmed): vda a 3-deep chain with a
// block-copy mirror, vdb copy-on-read, an empty cdrom, a qcow2 slice.
var liveXML = readTestdata("live-chain.xml")

func nodeList(e *Entry) string {
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
	return strings.Join(got, " ")
}

func TestDerive(t *testing.T) {
	e, err := Derive(liveXML, NamingOf(9000000))
	if err != nil {
		t.Fatal(err)
	}
	want := "vda[2]=libvirt-2-format/libvirt-2-storage/ vda[3]=libvirt-3-format/libvirt-3-storage/ " +
		"vda[4]=libvirt-4-format/libvirt-4-storage/ mirror:copy:libvirt-6-format " +
		"vdb[1]=libvirt-1-format/libvirt-1-storage/libvirt-1-slice-sto libvirt-CoR-vdb hdc[5]=//"
	if got := nodeList(e); got != want {
		t.Fatalf("derived\n%s\nwant\n%s", got, want)
	}
	if e.aliases["ide0-1-0"] != "hdc" {
		t.Fatalf("alias map %v", e.aliases)
	}
	if d := e.Disk("vda"); d.Device != "disk" || d.Alias != "virtio-disk0" || d.MirrorReady != "yes" || d.Chain[1].Name != "/i/mid.qcow2" || d.Chain[1].Kind != domain.KindFile {
		t.Fatalf("vda %+v", d)
	}
	for in, want := range map[string]uint{"/i/mid.qcow2": 3, "vda": 2, "vda[4]": 4, "vda[6]": 6, "vdb": 1, "vda[9]": 0, "vda[0]": 0, "/i/copy.qcow2": 0} {
		w, _ := domain.ParseDiskWord(in)
		_, l, ok := e.Lookup(w)
		if (want == 0) == ok || (ok && l.Index != want) {
			t.Errorf("Lookup(%q) = %+v, %v; want index %d", in, l, ok, want)
		}
	}
}

// Every kind of source gets nodes from its index, named the way shell/domain
// (and virsh) names it; vhost-user has no block layer, and a raw slice no
// slice node.
func TestDeriveSourceKinds(t *testing.T) {
	e, err := Derive(`<domain><devices>
<disk type='network' device='disk'><driver type='raw'/><source protocol='nbd' name='exp' index='1'><host name='h'/></source><target dev='vda'/></disk>
<disk type='network' device='disk'><driver type='raw'/><source protocol='nbd' index='2'><host name='h'/></source><target dev='vdb'/></disk>
<disk type='volume' device='disk'><driver type='qcow2'/><source pool='p' volume='v' index='3'/><target dev='vdc'/></disk>
<disk type='block' device='disk'><driver type='raw'/><source dev='/dev/b' index='4'><slices><slice type='storage' offset='0' size='512'/></slices></source><target dev='vdd'/></disk>
<disk type='vhostuser' device='disk'><driver type='raw'/><source type='unix' path='/s' index='5'/><target dev='vde'/></disk>
<disk type='dir' device='disk'><driver type='fat'/><source dir='/d' index='6'/><target dev='hdb'/></disk>
<disk type='file' device='disk'><source file='/sd.img'/><target dev='sda' bus='sd'/></disk>
</devices></domain>`, NamingOf(9000000))
	if err != nil {
		t.Fatal(err)
	}
	want := "vda[1]=libvirt-1-format/libvirt-1-storage/ vdb[2]=libvirt-2-format/libvirt-2-storage/ " +
		"vdc[3]=libvirt-3-format/libvirt-3-storage/ vdd[4]=libvirt-4-format/libvirt-4-storage/ vde[0]=// " +
		"hdb[6]=libvirt-6-format/libvirt-6-storage/ sda[0]=//"
	if got := nodeList(e); got != want {
		t.Fatalf("derived\n%s\nwant\n%s", got, want)
	}
	var names []string
	for _, d := range e.Disks {
		names = append(names, d.Chain[0].Name)
	}
	if got := strings.Join(names, ","); got != "exp,,v,/dev/b,/s,/d,/sd.img" {
		t.Fatalf("source names %q", got)
	}
}

func TestScrapeDiff(t *testing.T) {
	e, _ := Derive(`<domain><devices><disk type='file' device='disk'><driver type='qcow2'/>
<source file='/a' index='2'/><backingStore type='file' index='3'><format type='qcow2'/><source file='/b'/></backingStore>
<target dev='vda'/><alias name='virtio-disk0'/></disk></devices></domain>`, NamingOf(9000000))
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
	applyScrape(e, sc)
	if l := e.Disks[0].Chain[1]; l.FormatNode != "libvirt-5-format" || !e.Disks[0].Chain[0].BitmapsKnown {
		t.Errorf("after applyScrape: %+v", e.Disks[0].Chain)
	}
}

// fakeBackend counts the libvirt calls the cache makes.
type fakeBackend struct {
	xml                string
	sig                string
	layers             map[string]statLayer
	qmpNodes, qmpStats string
	nStats, nXML, nQMP int
}

func (f *fakeBackend) stats(*libvirt.Domain) (chainStats, error) {
	f.nStats++
	return chainStats{active: true, id: 7, sig: f.sig, layers: f.layers}, nil
}
func (f *fakeBackend) liveXML(*libvirt.Domain) (string, error)       { f.nXML++; return f.xml, nil }
func (f *fakeBackend) daemonVersion(*libvirt.Domain) (uint32, error) { return 9_000_000, nil }
func (f *fakeBackend) qmp(_ *libvirt.Domain, cmd string) (string, error) {
	f.nQMP++
	if strings.Contains(cmd, "query-blockstats") {
		return f.qmpStats, nil
	}
	return f.qmpNodes, nil
}

func testConn(t testing.TB) *libvirt.Connect {
	conn, err := libvirt.NewConnect("test:///default")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = conn.Close() })
	return conn
}

func testDomain(t testing.TB, conn *libvirt.Connect) *libvirt.Domain {
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
	d := testDomain(t, testConn(t))
	f := &fakeBackend{xml: liveXML, sig: "7;vda[2]"}
	c := newCache(nil, nil, f)
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
	if tot := c.Totals(); tot.Fills != 3 || e.Last.Reason != ReasonBlockJob || len(e.History) != 3 || e.Counters.Fills != 3 {
		t.Fatalf("after Refill: %+v %+v", tot, e.Last)
	}
	c.Drop(uuid)
	if c.Cached(uuid) != nil {
		t.Fatal("dropped entry still cached")
	}
}

// Changed (hotplug, unplug, media change: ours or another client's) costs
// a fill only when the check shows the disks changed, recorded with its
// reason; an event of a change the entry already holds costs none; an
// unconditional Refill is not weakened by a later Changed; and a guest not
// cached yet is simply filled at first sight.
func TestCacheChangedFillsOnlyOnChange(t *testing.T) {
	d := testDomain(t, testConn(t))
	uuid, _ := d.GetUUIDString()
	f := &fakeBackend{xml: liveXML, sig: "7;vda[2]"}
	c := newCache(nil, nil, f)
	get := func() *Entry {
		t.Helper()
		e, err := c.Get(d)
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	c.Changed(uuid, ReasonHotplug) // not cached yet: first sight decides
	if e := get(); e.Last.Reason != ReasonConnect || c.Totals().Fills != 1 {
		t.Fatalf("first sight: %+v %+v", e.Last, c.Totals())
	}
	c.Changed(uuid, ReasonHotplug) // e.g. our own hotplug's event, after its fill
	if e := get(); e.Stale != "" || c.Totals().Fills != 1 || c.Totals().VerifyHits != 1 {
		t.Fatalf("unchanged disks cost a fill: %+v %+v", e, c.Totals())
	}
	f.sig = "7;vda[2];vdc[6]" // a disk was hot-plugged
	c.Changed(uuid, ReasonHotplug)
	if e := get(); e.Last.Reason != ReasonHotplug || c.Totals().Fills != 2 || c.Totals().VerifyMisses != 0 {
		t.Fatalf("after a hotplug: %+v %+v", e.Last, c.Totals())
	}
	c.Refill(uuid, ReasonSnapshot)
	c.Changed(uuid, ReasonMedia)
	if e := get(); e.Last.Reason != ReasonSnapshot || c.Totals().Fills != 3 {
		t.Fatalf("Refill then Changed: %+v %+v", e.Last, c.Totals())
	}
	if c.Cached(uuid).Stale != "" {
		t.Fatal("stale mark left after the fill")
	}
}

// Thresholds come from the bulk stats of the check; the block-threshold
// event's dev clears the one it names (they are one-shot).
func TestCacheThresholdFired(t *testing.T) {
	d := testDomain(t, testConn(t))
	f := &fakeBackend{xml: liveXML, sig: "7", layers: map[string]statLayer{"vda[3]": {threshold: 1 << 20, capacity: 8 << 20}}}
	c := newCache(nil, nil, f)
	e, err := c.Get(d)
	if err != nil {
		t.Fatal(err)
	}
	if l := e.Disk("vda").Layer(3); l.Threshold != 1<<20 || l.Capacity != 8<<20 {
		t.Fatalf("vda[3] %+v", l)
	}
	c.thresholdFired(e.UUID, "vda[2]")
	c.thresholdFired(e.UUID, "/i/mid.qcow2") // libvirt never names a layer so; a path is matched all the same
	if l := c.Cached(e.UUID).Disk("vda").Layer(3); l.Threshold != 0 {
		t.Fatalf("threshold not cleared: %+v", l)
	}
}

// A scrape warns once per guest, to the cache's warning writer, and
// replaces the derived names with QEMU's.
func TestCacheScrapeWarnsOnce(t *testing.T) {
	d := testDomain(t, testConn(t))
	f := &fakeBackend{xml: `<domain><devices><disk type='file' device='disk'><driver type='qcow2'/><source file='/a' index='2'/>
<target dev='vda'/><alias name='virtio-disk0'/></disk></devices></domain>`, sig: "7",
		qmpNodes: `{"return":[{"node-name":"libvirt-2-format","drv":"qcow2","dirty-bitmaps":[{"name":"cp1","persistent":true}]},{"node-name":"libvirt-2-storage","drv":"file"}]}`,
		qmpStats: `{"return":[{"qdev":"/machine/peripheral/virtio-disk0/virtio-backend","node-name":"libvirt-2-format","parent":{"node-name":"libvirt-2-storage"}}]}`}
	var warn strings.Builder
	c := newCache(nil, &warn, f)
	e, err := c.GetScraped(d)
	if err != nil {
		t.Fatal(err)
	}
	if e.Last.Method != MethodQMP || e.Last.Reason != ReasonConnect || !e.Disks[0].Chain[0].BitmapsKnown || e.Disks[0].Chain[0].Bitmaps[0] != "cp1" {
		t.Fatalf("scraped entry %+v", e)
	}
	_, diff, err := c.Verify(d)
	if err != nil || len(diff) != 0 {
		t.Fatalf("verify: %v %v", diff, err)
	}
	if tot := c.Totals(); tot.Scrapes != 2 || tot.Fills != 1 || f.nQMP != 4 {
		t.Fatalf("totals %+v, qmp calls %d", tot, f.nQMP)
	}
	if got, want := warn.String(), TaintWarning("test")+"\n"; got != want {
		t.Fatalf("warnings %q, want %q", got, want)
	}
}

// BenchmarkCheckedGet: a checked Get on an unchanged chain costs exactly one
// bulk-stats call and no XML or QMP.
func BenchmarkCheckedGet(b *testing.B) {
	d := testDomain(b, testConn(b))
	f := &fakeBackend{xml: liveXML, sig: "7"}
	c := newCache(nil, nil, f)
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

// connector hands the cache a connection, as the session does.
type connector struct{ conn *libvirt.Connect }

func (c *connector) Conn() (*libvirt.Connect, error) { return c.conn, nil }

// After the session reconnects (libvirtd restarted, or `connect`), every
// cached guest is checked again: its next use re-derives it (recorded as a
// "connect" fill, the word for first sight after (re)connecting) even when
// its chain did not change, because the old connection's event callbacks are
// gone and another client may have acted meanwhile. Counters carry over, and
// the callbacks go on the new connection.
func TestCacheAfterReconnect(t *testing.T) {
	conns := &connector{conn: testConn(t)}
	d := testDomain(t, conns.conn)
	f := &fakeBackend{xml: liveXML, sig: "7;vda[2]"}
	c := newCache(conns, nil, f)
	for i := 0; i < 2; i++ {
		if _, err := c.Get(d); err != nil {
			t.Fatal(err)
		}
	}
	if tot := c.Totals(); tot.Fills != 1 || tot.VerifyHits != 1 || c.evConn != conns.conn {
		t.Fatalf("before the reconnect: %+v", tot)
	}
	conns.conn = testConn(t)
	c.Reconnected()
	e, err := c.Get(d)
	if err != nil {
		t.Fatal(err)
	}
	if tot := c.Totals(); tot.Fills != 2 || e.Last.Reason != ReasonConnect || e.Counters.Fills != 2 || f.nQMP != 0 {
		t.Fatalf("after the reconnect: %+v, last fill %+v, qmp=%d", tot, e.Last, f.nQMP)
	}
	if c.evConn != conns.conn {
		t.Fatal("callbacks not registered on the new connection")
	}
	if l := c.Cached(e.UUID).Disk("vda").Layer(3); l == nil || l.StorageNode != "libvirt-3-storage" {
		t.Fatalf("names after the reconnect: %+v", l)
	}
}

// readTestdata is a file of testdata/: node and domain XML the tests define.
func readTestdata(name string) string {
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		panic(err)
	}
	return string(b)
}

// TestDeriveRawWithoutFormatLayer: a daemon that leaves out the raw format
// layer (libvirt ≥ 10: seen on 11.3) has libvirt-N-storage alone for a plain
// raw source; a raw slice keeps its format node, qcow2 its usual pair.
func TestDeriveRawWithoutFormatLayer(t *testing.T) {
	doc := `<domain><devices>
<disk type='file' device='cdrom'><driver type='raw'/><source file='/a.iso' index='1'/><target dev='sda'/></disk>
<disk type='file' device='disk'><driver type='raw'/><source file='/b.img' index='2'><slices><slice type='storage' offset='0' size='1048576'/></slices></source><target dev='vdb'/></disk>
<disk type='file' device='disk'><driver type='qcow2'/><source file='/c.qcow2' index='3'/><target dev='vdc'/></disk>
</devices></domain>`
	for _, c := range []struct {
		version uint32
		want    string
	}{
		{9_000_000, "sda libvirt-1-format libvirt-1-storage|vdb libvirt-2-format libvirt-2-storage|vdc libvirt-3-format libvirt-3-storage|"},
		{11_003_000, "sda libvirt-1-storage libvirt-1-storage|vdb libvirt-2-format libvirt-2-storage|vdc libvirt-3-format libvirt-3-storage|"},
	} {
		e, err := Derive(doc, NamingOf(c.version))
		if err != nil {
			t.Fatal(err)
		}
		got := ""
		for _, d := range e.Disks {
			got += d.Target + " " + d.Chain[0].FormatNode + " " + d.Chain[0].StorageNode + "|"
		}
		if got != c.want {
			t.Errorf("libvirt %d: %s, want %s", c.version, got, c.want)
		}
	}
}
