//go:build lab

package cmd

import (
	"encoding/json"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// statsLineValue splits a line of domblkstat or domstats into what must
// match exactly (the device and field, the key=) and a trailing number.
var statsLineValue = regexp.MustCompile(`^(.*?[ =])(-?[0-9]+(?:\.[0-9]+)?)$`)

// matchSandwich compares virtsh's output with virsh's run just before (v1)
// and just after (v2) it, on guests that run, so counters and times move.
// Every line must be the same, in the same order, except a number that
// moved between the two virsh runs: there virtsh must print the same key
// with a number too, and for a counter that only grows (v1 ≤ v2), one
// between the two.
func matchSandwich(t *testing.T, what, v1, got, v2 string) {
	t.Helper()
	l1, lg, l2 := strings.Split(v1, "\n"), strings.Split(got, "\n"), strings.Split(v2, "\n")
	if len(l1) != len(l2) || len(lg) != len(l1) {
		t.Errorf("%s: %d lines, virsh printed %d then %d:\nvirsh:\n%s\nvirtsh:\n%s", what, len(lg), len(l1), len(l2), v1, got)
		return
	}
	for i := range l1 {
		if l1[i] == l2[i] {
			if lg[i] != l1[i] {
				t.Errorf("%s: line %d = %q, virsh printed %q (twice)", what, i+1, lg[i], l1[i])
			}
			continue
		}
		m1, mg, m2 := statsLineValue.FindStringSubmatch(l1[i]), statsLineValue.FindStringSubmatch(lg[i]), statsLineValue.FindStringSubmatch(l2[i])
		if m1 == nil || m2 == nil || m1[1] != m2[1] {
			t.Fatalf("%s: virsh's line %d changed beyond its number: %q, then %q", what, i+1, l1[i], l2[i])
		}
		if mg == nil || mg[1] != m1[1] {
			t.Errorf("%s: line %d = %q, virsh printed %q then %q", what, i+1, lg[i], l1[i], l2[i])
			continue
		}
		a, _ := strconv.ParseFloat(m1[2], 64)
		b, _ := strconv.ParseFloat(m2[2], 64)
		g, _ := strconv.ParseFloat(mg[2], 64)
		if a <= b && (g < a || g > b) {
			t.Errorf("%s: line %d = %q, not between virsh's %q and %q", what, i+1, lg[i], l1[i], l2[i])
		}
	}
}

// sideBySide runs virsh, virtsh and virsh again with args on the lab and
// compares them (matchSandwich, plus stderr and exit status). filter, when
// set, reduces each output first (to the test's own guests).
func sideBySide(t *testing.T, bin string, filter func(string) string, args ...string) (stdout, stderr string) {
	t.Helper()
	args = append([]string{"-c", labURI()}, args...)
	vo1, ve, vc := runBinary(t, "", nil, realVirsh, args...)
	vo1, ve, vc = virshAs9x(t, args, vo1, ve, vc)
	to, te, tc := runBinary(t, "", nil, bin, args...)
	vo2, _, _ := runBinary(t, "", nil, realVirsh, args...)
	vo2, _, _ = virshAs9x(t, args, vo2, "", 0)
	if filter != nil {
		vo1, to, vo2 = filter(vo1), filter(to), filter(vo2)
	}
	if te != ve || tc != vc {
		t.Errorf("%q: virtsh (%q, %d), virsh (%q, %d)", args, te, tc, ve, vc)
	}
	matchSandwich(t, strings.Join(args, " "), vo1, to, vo2)
	return to, te
}

// ownRecords keeps domstats's records of the named guests, sorted by name:
// the lab is shared (other tests' guests come and go) and libvirt lists the
// domains in its hash table's order.
func ownRecords(names ...string) func(string) string {
	return func(s string) string {
		var keep []string
		for _, r := range strings.Split(strings.TrimRight(s, "\n"), "\n\n") {
			for _, n := range names {
				if strings.HasPrefix(r, "Domain: '"+n+"'\n") || r == "Domain: '"+n+"'" {
					keep = append(keep, r)
				}
			}
		}
		return sortRecords(strings.Join(keep, "\n\n") + "\n")
	}
}

// TestLabDomainStatsMatchVirsh: on running QEMU guests (one with two disks,
// vda on a two-layer chain, written to by the guest; one with an empty
// CD-ROM as well) and a shut-off one, domblkstat (each disk, a path, the
// totals, --human), domblkerror and domstats (one guest with --block
// --backing, several guests, every group, the listing flags) print what
// virsh prints, failures included.
func TestLabDomainStatsMatchVirsh(t *testing.T) {
	a := newLabGuest(t, labGuestOpts{Prefix: "stats", Disks: 2, DiskMiB: 8, Start: true})
	b := newLabGuest(t, labGuestOpts{Prefix: "stats", Start: true})
	off := newLabGuest(t, labGuestOpts{Prefix: "stats"})
	top := filepath.Join(a.Dir, "vda-s1.qcow2")
	mustVirtshLab(t, "snapshot-create-as", a.Name, "s1", "--disk-only", "--no-metadata", "--diskspec", "vda,file="+top, "--diskspec", "vdb,snapshot=no")
	a.GuestWrite(t, "vda", 0x5a, "0", "64k")
	a.GuestWrite(t, "vdb", 0x5b, "1M", "512k")
	time.Sleep(time.Second) // let them run
	bin := virtshBinary(t)

	for _, c := range []string{
		"domblkstat " + a.Name + " vda", "domblkstat " + a.Name + " vdb", "domblkstat " + a.Name + " vda --human",
		"domblkstat " + a.Name + " --device vdb --human", "domblkstat " + a.Name + " " + top,
		"domblkstat " + a.Name, "domblkstat " + a.Name + " ''", "domblkstat " + a.Name + " --human",
		"domblkstat " + a.Name + " vdz", "domblkstat " + a.Name + " 'vda[1]'", "domblkstat " + off.Name + " vda",
		"domblkstat " + off.Name, "domblkstat vt-stats-nosuch vda",
		"domblkerror " + a.Name, "domblkerror " + off.Name, "domblkerror vt-stats-nosuch",
		"domstats " + a.Name + " --block --backing", "domstats " + a.Name + " --block",
		"domstats " + a.Name, "domstats " + a.Name + " " + b.Name + " " + off.Name,
		"domstats " + off.Name + " " + a.Name + " --block --backing --state",
		"domstats " + a.Name + " " + b.Name + " --state --cpu-total --balloon --vcpu --interface --block --perf " +
			"--iothread --memory --dirtyrate --vm --raw --nowait",
		"domstats " + a.Name + " --enforce --vm", "domstats " + off.Name + " --enforce --dirtyrate",
		"domstats " + a.Name + " vt-stats-nosuch", "domstats --state ''",
		"domblkstat " + a.Name + " vda; domstats " + b.Name + " --block; domblkerror " + b.Name,
	} {
		for _, q := range [][]string{nil, {"-q"}} {
			sideBySide(t, bin, nil, append(q, c)...)
		}
	}
	// Every domain, and the listing flags: the test's own guests' records.
	own := ownRecords(a.Name, b.Name, off.Name)
	for _, c := range []string{"domstats", "domstats --block --backing", "domstats --list-running --state --block",
		"domstats --list-shutoff --list-persistent", "domstats --list-active --list-inactive --state",
		"domstats --list-transient --state"} {
		out, _ := sideBySide(t, bin, own, c)
		if !strings.Contains(c, "transient") && !strings.Contains(out, "Domain: '") {
			t.Errorf("%s: none of the test's guests in virtsh's output:\n%s", c, out)
		}
	}
}

// On the real driver too, domstats over several guests is one bulk call.
func TestLabDomstatsIsOneBulkCall(t *testing.T) {
	a := newLabGuest(t, labGuestOpts{Prefix: "statsbulk", Start: true})
	b := newLabGuest(t, labGuestOpts{Prefix: "statsbulk", Start: true})
	off := newLabGuest(t, labGuestOpts{Prefix: "statsbulk"})
	bin := virtshBinary(t)
	for _, prog := range []string{realVirsh, bin} {
		calls := libvirtCalls(t, prog, "-c", labURI(), "domstats", a.Name, b.Name, off.Name, "--block", "--backing")
		if calls["virDomainLookupByName"] != 3 || calls["virDomainListGetStats"] != 1 ||
			calls["virDomainBlockStatsFlags"]+calls["virDomainGetState"]+calls["virDomainGetXMLDesc"]+calls["virConnectGetAllDomainStats"] != 0 {
			t.Errorf("%s domstats of 3 guests called %v", prog, calls)
		}
	}
}

// -o json on a real guest: domblkstat's counters are the numbers the text
// shows, domstats's block entries are objects in a list, one per chain
// layer with --backing, with numbers as numbers and paths as strings.
func TestLabDomainStatsJSON(t *testing.T) {
	g := newLabGuest(t, labGuestOpts{Prefix: "statsjson", Disks: 2, DiskMiB: 8, Start: true})
	top := filepath.Join(g.Dir, "vda-s1.qcow2")
	mustVirtshLab(t, "snapshot-create-as", g.Name, "s1", "--disk-only", "--no-metadata", "--diskspec", "vda,file="+top, "--diskspec", "vdb,snapshot=no")
	// Stop the counters from moving: a paused guest does no I/O.
	mustVirtshLab(t, "suspend", g.Name)

	var blk map[string]any
	if err := json.Unmarshal([]byte(mustVirtshLab(t, "domblkstat", g.Name, "vda", "-o", "json")), &blk); err != nil {
		t.Fatal(err)
	}
	text := mustVirtshLab(t, "domblkstat", g.Name, "vda")
	if blk["device"] != "vda" {
		t.Errorf("domblkstat -o json: device = %v", blk["device"])
	}
	for _, l := range strings.Split(strings.TrimSpace(text), "\n") {
		f := strings.Fields(l) // vda rd_req 1
		n, ok := blk[f[1]].(float64)
		if len(f) != 3 || !ok || strconv.FormatFloat(n, 'f', -1, 64) != f[2] {
			t.Errorf("domblkstat text line %q, JSON %s = %#v", l, f[1], blk[f[1]])
		}
	}
	if n := len(strings.Split(strings.TrimSpace(text), "\n")); len(blk) != n+1 {
		t.Errorf("domblkstat -o json has %d keys for %d text lines: %v", len(blk), n, blk)
	}

	var recs []map[string]any
	if err := json.Unmarshal([]byte(mustVirtshLab(t, "domstats", g.Name, "--block", "--backing", "--state", "-o", "json")), &recs); err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 || recs[0]["name"] != g.Name {
		t.Fatalf("domstats -o json = %v", recs)
	}
	r := recs[0]
	if st := r["state"].(map[string]any); st["state"] != float64(3) || st["reason"] != float64(1) {
		t.Errorf("state = %v, want paused (3) by the user (1)", st)
	}
	blocks := r["block"].([]any)
	if r["block.count"] != float64(len(blocks)) || len(blocks) != 3 {
		t.Fatalf("block.count = %v, %d entries, want 3 (vda, its backing file, vdb): %v", r["block.count"], len(blocks), blocks)
	}
	wantPath := []string{top, g.Disks[0], g.Disks[1]}
	wantName := []string{"vda", "vda", "vdb"}
	for i, e := range blocks {
		e := e.(map[string]any)
		if e["index"] != float64(i) || e["name"] != wantName[i] || e["path"] != wantPath[i] {
			t.Errorf("block[%d] = %v, want index %d, name %s, path %s", i, e, i, wantName[i], wantPath[i])
		}
		if _, ok := e["backingIndex"].(float64); !ok {
			t.Errorf("block[%d].backingIndex = %#v, want a number", i, e["backingIndex"])
		}
		if c, ok := e["capacity"].(float64); !ok || c != 8<<20 {
			t.Errorf("block[%d].capacity = %#v, want %d", i, e["capacity"], 8<<20)
		}
	}
	// The same numbers as the text.
	text = mustVirtshLab(t, "domstats", g.Name, "--block", "--backing")
	for i := range blocks {
		want := "  block." + strconv.Itoa(i) + ".capacity=" + strconv.Itoa(8<<20) + "\n"
		if !strings.Contains(text, want) {
			t.Errorf("domstats text lacks %q:\n%s", want, text)
		}
	}
}
