//go:build lab

package cmd

import (
	"strings"
	"testing"
	"time"
)

// TestLabMetadataChangeEventSameAsVirsh: a title change raises
// metadata-change with no namespace URI; virtsh's one-shot listener prints
// virsh's line for it ("uri <null>"), byte for byte beside virsh's.
func TestLabMetadataChangeEventSameAsVirsh(t *testing.T) {
	g := newLabGuest(t, labGuestOpts{Prefix: "meta", DiskMiB: 8})
	text, virsh := listenBesideVirsh(t, "event --event metadata-change --domain "+g.Name+" --timeout 20")
	mustVirsh(t, "desc", g.Name, "--config", "--title", "hello")
	r := <-text
	want := "event 'metadata-change' for domain '" + g.Name + "': type title, uri <null>\n"
	if !r.ok || !strings.HasPrefix(r.out, want) {
		t.Fatalf("virtsh: %v %q %q, want it to begin %q", r.ok, r.out, r.err, want)
	}
	if v := <-virsh; v != r.out {
		t.Fatalf("virtsh printed\n%q\nvirsh printed\n%q", r.out, v)
	}
}

// listenBesideVirsh starts the one-shot event command line in virtsh and in
// virsh at once and returns once both have had time to register: what each
// printed arrives on its channel. The sends are deferred so that a helper's
// t.Fatal on its goroutine (runtime.Goexit) still delivers, and the test
// fails at once instead of waiting on the channel.
func listenBesideVirsh(t *testing.T, line string) (virtsh <-chan labResult, virsh <-chan string) {
	text := make(chan labResult, 1)
	go func() {
		var r labResult
		defer func() { text <- r }()
		out, errS, code := virtshLab(t, strings.Fields(line)...)
		r = labResult{out, errS, code == 0}
	}()
	v := make(chan string, 1)
	go func() {
		var out string
		defer func() { v <- out }()
		out, _, _ = runVirsh(t, strings.Fields(line)...)
	}()
	time.Sleep(2 * time.Second)
	return text, v
}
