package shell

import (
	"io"
	"testing"

	"github.com/virtsh/virtsh/format"
	"github.com/virtsh/virtsh/shell/blocknodes"
)

// The session holds one node-name cache and tells it of a reconnect: the
// next use re-derives every guest (a "connect" fill) with the counters kept.
// The test driver's running guest, on the real backend, gives the fills.
func TestSessionNodeCacheReconnect(t *testing.T) {
	s := NewSession(&format.IO{Out: io.Discard, Err: io.Discard}, Options{URI: "test:///default"})
	defer s.Close()
	c := s.Nodes()
	if s.Nodes() != c {
		t.Fatal("a second cache for the same session")
	}
	conn, err := s.Conn()
	if err != nil {
		t.Fatal(err)
	}
	d, err := conn.LookupDomainByName("test")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = d.Free() }()
	for i := 0; i < 2; i++ {
		if _, err := c.Get(d); err != nil {
			t.Fatal(err)
		}
	}
	if tot := c.Totals(); tot.Fills != 1 || tot.VerifyHits != 1 {
		t.Fatalf("before the reconnect: %+v", tot)
	}
	if err := s.Connect("", false); err != nil {
		t.Fatal(err)
	}
	e, err := c.Get(d)
	if err != nil {
		t.Fatal(err)
	}
	if tot := c.Totals(); tot.Fills != 2 || e.Counters.Fills != 2 || e.Last.Reason != blocknodes.ReasonConnect || e.Last.Method != blocknodes.MethodXML {
		t.Fatalf("after the reconnect: %+v, entry %+v", tot, e)
	}
	if s.Nodes() != c {
		t.Fatal("the reconnect replaced the cache")
	}
	if top := e.Disk("vda").Chain[0]; top.Name != "/guest/diskimage1" || top.FormatNode != "" {
		t.Fatalf("test driver's vda: %+v (no index, so no nodes)", top)
	}
}
