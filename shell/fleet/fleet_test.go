package fleet

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/virtsh/virtsh/format"
	"github.com/virtsh/virtsh/shell"
)

var aliases = []Host{{"local", "qemu:///system"}, {"lab2", "qemu+tcp://127.0.0.2/system"}}

func TestParseHosts(t *testing.T) {
	for _, c := range []struct {
		list string
		want []Host
		err  string
	}{
		{list: "all", want: aliases},
		{list: " all ", want: aliases},
		{list: "lab2,local", want: []Host{aliases[1], aliases[0]}},
		{list: "lab2, lab2", want: []Host{aliases[1]}},
		{list: "local,test:///default", want: []Host{aliases[0], {"test:///default", "test:///default"}}},
		{list: "lab9", err: "unknown host 'lab9': not a uri_aliases name in /conf, nor a URI"},
		{list: "local,", err: "empty host name in --hosts 'local,'"},
	} {
		got, err := parse(c.list, aliases, "/conf")
		if c.err != "" {
			if err == nil || err.Error() != c.err {
				t.Errorf("parse(%q) error %v, want %q", c.list, err, c.err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("parse(%q) = %v, %v; want %v", c.list, got, err, c.want)
		}
	}
	if _, err := parse("all", nil, "/conf"); err == nil || err.Error() != "no hosts for --hosts all: /conf has no uri_aliases" {
		t.Errorf("all without aliases: %v", err)
	}
}

// TestEachWaitsAtMostTheTimeout: a host whose function never returns is
// reported as not answering once the timeout passes, while the others'
// outcomes come back in the hosts' order; answered() lifts the timeout.
func TestEachWaitsAtMostTheTimeout(t *testing.T) {
	f := New(func(uri string) *shell.Session { return shell.NewSession(&format.IO{}, shell.Options{URI: uri}) })
	defer f.Close()
	f.SetTimeout(50 * time.Millisecond)
	hung := make(chan struct{})
	defer close(hung)
	boom := errors.New("boom")
	hosts := []Host{{"a", "test:///a"}, {"b", "test:///b"}, {"c", "test:///c"}, {"d", "test:///d"}}
	outs := f.Each(context.Background(), hosts, func(_ context.Context, i int, h Host, _ *shell.Session, answered func()) error {
		switch h.Name {
		case "b":
			<-hung
		case "c":
			return boom
		case "d":
			answered()
			time.Sleep(200 * time.Millisecond) // longer than the timeout: still waited for
			return ErrNotHere
		}
		return nil
	})
	var nae *NoAnswerError
	if outs[0].Host.Name != "a" || outs[0].Err != nil ||
		!outs[1].TimedOut || !errors.As(outs[1].Err, &nae) || outs[1].Err.Error() != "no answer within 50ms" ||
		!errors.Is(outs[2].Err, boom) || outs[2].TimedOut ||
		!errors.Is(outs[3].Err, ErrNotHere) || outs[3].TimedOut {
		t.Fatalf("outcomes %+v", outs)
	}
}

// TestResolve: migrate's DESTURI is an alias when one has the name, else
// the word itself as a URI (libvirt refuses it if it is none).
func TestResolve(t *testing.T) {
	aliases := []Host{{"h2", "qemu+ssh://root@h2/system"}, {"local", "qemu:///system"}}
	for _, c := range []struct {
		word string
		want Host
	}{
		{"h2", Host{"h2", "qemu+ssh://root@h2/system"}},
		{"local", Host{"local", "qemu:///system"}},
		{"qemu+tcp://10.0.0.2/system", Host{"qemu+tcp://10.0.0.2/system", "qemu+tcp://10.0.0.2/system"}},
		{"h3", Host{"h3", "h3"}},
	} {
		if got := resolve(c.word, aliases); got != c.want {
			t.Errorf("resolve(%q) = %+v, want %+v", c.word, got, c.want)
		}
	}
}
