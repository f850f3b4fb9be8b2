//go:build lab

package cmd

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
	"github.com/virtsh/virtsh/shell/blocknodes"
	"libvirt.org/go/libvirt"
	"libvirt.org/go/libvirtxml"
)

// Live migration between hosts of the lab: the lab host ("local") and two
// hosts of scripts/lab-hosts, lab4 and lab5 (127.0.0.4 and .5, not the
// fleet tests' lab2 and lab3, which a concurrent run elsewhere on this
// machine — a Debian 13 chroot's — may hold). The hosts share this
// filesystem, so the guests' images need no copy; their disks have no
// cache='none', hence --unsafe, and QEMU's migration stream goes to the
// destination's own address (--migrateuri tcp://127.0.0.N), as
// /work/shared/lab-notes.md found.

// newMigrateLab is the fleet lab over local, lab4 and lab5.
func newMigrateLab(t *testing.T) *fleetLab {
	t.Helper()
	return newFleetLabOn(t, 4, 5)
}

// migrateURIOf is the --migrateuri that reaches host h's QEMU.
func migrateURIOf(h fleetHost) string {
	if h.name == "local" {
		return "tcp://127.0.0.1"
	}
	return "tcp://127.0.0." + strings.TrimPrefix(h.name, "lab")
}

// onHost is the guest g as host h holds it (after a migration), with a
// cleanup that destroys and undefines it there before g's own cleanup
// removes its images.
func onHost(t *testing.T, g *labGuest, h fleetHost) *labGuest {
	t.Helper()
	d, err := h.conn.LookupDomainByName(g.Name)
	if err != nil {
		t.Fatalf("%s is not on %s: %v", g.Name, h.name, err)
	}
	return &labGuest{Name: g.Name, Dir: g.Dir, Disks: g.Disks, Conn: h.conn, Dom: d}
}

// cleanupOn removes g from host h at the end of the test, whatever state
// it is in there; registered after newLabGuest, it runs before g's cleanup.
func cleanupOn(t *testing.T, g *labGuest, h fleetHost) {
	t.Cleanup(func() {
		d, err := h.conn.LookupDomainByName(g.Name)
		if err != nil {
			return
		}
		defer func() { _ = d.Free() }()
		if active, _ := d.IsActive(); active {
			_ = d.Destroy()
		}
		if persistent, _ := d.IsPersistent(); persistent {
			_ = d.UndefineFlags(libvirt.DOMAIN_UNDEFINE_CHECKPOINTS_METADATA | libvirt.DOMAIN_UNDEFINE_SNAPSHOTS_METADATA)
		}
	})
}

// migrationProgress is what migrate --verbose prints on stderr off a
// terminal: maybe some "\rMigration: [ 42 %]", then "\rMigration: [100 %]"
// (virsh's virshPrintJobProgress; a poll that sees nothing remaining prints
// 100 too, as virsh's does).
var migrationProgress = regexp.MustCompile(`^(\rMigration: \[[ 0-9]{3} %\])*\rMigration: \[100 %\]$`)

// TestLabMigrateLive: a running guest moves from one host to another and
// on to a third — a normal migration to a uri_aliases name (the client
// connects to it), then a peer-to-peer one with --persistent
// --undefinesource (the source daemon connects) — and each time runs on the
// destination only, with virsh's output; its disk reads what was written
// before each move and the destination's `debug node-names` equals QEMU's
// nodes there.
func TestLabMigrateLive(t *testing.T) {
	fl := newMigrateLab(t)
	local, lab4, lab5 := fl.host("local"), fl.host("lab4"), fl.host("lab5")
	g := newLabGuest(t, labGuestOpts{Prefix: "migrate", DiskMiB: 8})
	cleanupOn(t, g, lab4)
	cleanupOn(t, g, lab5)
	qemuIO(t, g.Disks[0], "write -P 0xab 1M 1M") // before it ever ran
	if err := g.Dom.Create(); err != nil {
		t.Fatal(err)
	}
	g.GuestWrite(t, "vda", 0xcd, "2M", "1M") // on the first host

	out, errS, code := fl.virtsh("", "-c", local.uri, "migrate", "--live", "--unsafe", "--verbose", g.Name, "lab4",
		"--migrateuri", migrateURIOf(lab4))
	if code != 0 || out != "\n" || !migrationProgress.MatchString(errS) {
		t.Fatalf("migrate to lab4: exit %d, stdout %q, stderr %q", code, out, errS)
	}
	g.wantState(t, libvirt.DOMAIN_SHUTOFF, int(libvirt.DOMAIN_SHUTOFF_MIGRATED))
	on4 := onHost(t, g, lab4)
	on4.wantState(t, libvirt.DOMAIN_RUNNING, int(libvirt.DOMAIN_RUNNING_MIGRATED))
	if p, _ := on4.Dom.IsPersistent(); p {
		t.Fatal("without --persistent the guest is persistent on lab4")
	}
	wantDestNodes(t, fl, on4, lab4)
	on4.GuestWrite(t, "vda", 0xef, "3M", "1M") // on the second host

	// Peer to peer, virsh beside: the same words give the same output.
	out, errS, code = fl.virtsh("", "-c", lab4.uri, "migrate", g.Name, "lab5", "--live", "--p2p", "--unsafe",
		"--persistent", "--undefinesource", "--migrateuri", migrateURIOf(lab5))
	if code != 0 || out != "\n" || errS != "" {
		t.Fatalf("migrate --p2p to lab5: exit %d, stdout %q, stderr %q", code, out, errS)
	}
	if _, err := lab4.conn.LookupDomainByName(g.Name); err == nil {
		t.Fatal("--undefinesource: the guest is still defined on lab4")
	}
	on5 := onHost(t, g, lab5)
	on5.wantState(t, libvirt.DOMAIN_RUNNING, int(libvirt.DOMAIN_RUNNING_MIGRATED))
	if p, _ := on5.Dom.IsPersistent(); !p {
		t.Fatal("--persistent: the guest is not persistent on lab5")
	}
	wantDestNodes(t, fl, on5, lab5)
	// The finished job's statistics, as virsh prints them (downtime, pages).
	sameAsVirsh(t, nil, "-c", lab5.uri, "domjobinfo "+g.Name+" --completed --keep-completed")

	// Loses no data: every write, read back from the image once QEMU is
	// gone.
	if err := on5.Dom.Destroy(); err != nil {
		t.Fatal(err)
	}
	qemuIO(t, g.Disks[0], "read -P 0xab 1M 1M", "read -P 0xcd 2M 1M", "read -P 0xef 3M 1M", "read -P 0 4M 1M")
}

// wantDestNodes: `debug node-names` on the destination host lists QEMU's
// block nodes there.
func wantDestNodes(t *testing.T, fl *fleetLab, g *labGuest, h fleetHost) {
	t.Helper()
	out, errS, code := fl.virtsh("", "-c", h.uri, "debug", "node-names", g.Name, "-o", "json")
	if code != 0 {
		t.Fatalf("debug node-names on %s: exit %d %s", h.name, code, errS)
	}
	var v nodeDumpView
	if err := json.Unmarshal([]byte(out), &v); err != nil || len(v.Domains) != 1 {
		t.Fatalf("debug node-names on %s: %v\n%s", h.name, err, out)
	}
	if got, want := cachedNodes(v), qemuNodes(t, g); !reflect.DeepEqual(got, want) {
		t.Fatalf("on %s: virtsh's node names %q, QEMU's %q", h.name, got, want)
	}
}

// TestLabMigrateHostsCache: under --hosts, migrate runs on the guest's
// host and reaches the destination by its name; the destination's session
// then fills its node-name cache for the guest with reason "migrated", and
// its nodes are QEMU's.
func TestLabMigrateHostsCache(t *testing.T) {
	fl := newMigrateLab(t)
	lab4 := fl.host("lab4")
	g := newLabGuest(t, labGuestOpts{Prefix: "migcache", DiskMiB: 8, Start: true})
	cleanupOn(t, g, lab4)
	// A script, one line at a time: the second line selects lab4 alone
	// (the guest stays defined, shut off, on local).
	out, errS, code := fl.virtsh("migrate "+g.Name+" lab4 --live --unsafe --migrateuri "+migrateURIOf(lab4)+"\n"+
		"hosts lab4\ndebug node-names "+g.Name+" -o json\n", "--hosts", "local,lab4")
	if code != 0 {
		t.Fatalf("exit %d, stderr %q, stdout:\n%s", code, errS, out)
	}
	// The fan-out's list after the migrate's output.
	var dumps []struct {
		Host    string        `json:"host"`
		Domains []nodeDomView `json:"domains"`
	}
	list := out[max(strings.Index(out, "\n[\n"), 0):]
	if err := json.Unmarshal([]byte(list), &dumps); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	var got *nodeDomView
	for _, d := range dumps {
		if d.Host == "lab4" && len(d.Domains) == 1 {
			got = &d.Domains[0]
		}
	}
	if got == nil {
		t.Fatalf("no dump of lab4's %s:\n%s", g.Name, out)
	}
	if got.Last.Reason != "migrated" {
		t.Errorf("lab4's cache filled for %q, want \"migrated\"", got.Last.Reason)
	}
	on4 := onHost(t, g, lab4)
	if nodes, want := cachedNodes(nodeDumpView{Domains: []nodeDomView{*got}}), qemuNodes(t, on4); !reflect.DeepEqual(nodes, want) {
		t.Fatalf("lab4's cache %q, QEMU's nodes %q", nodes, want)
	}
}

// fillMemory is a boot sector (512 bytes, in hex) that makes a guest's
// memory worth migrating: a guest with no OS migrates in about 2 s whatever
// the bandwidth, its memory being zero pages. It enables A20, enters 32-bit
// protected mode and fills 1 MiB..60 MiB with 0x5a5a5a5a (rep stosl), then
// halts. Assembled with GNU as from:
//
//	.code16
//	cli; xor %ax,%ax; mov %ax,%ds
//	in $0x92,%al; or $2,%al; out %al,$0x92      # fast A20
//	lgdtl gdtdesc; mov %cr0,%eax; or $1,%al; mov %eax,%cr0
//	ljmpl $8,$pm
//	.code32
//	pm: mov $16,%ax; mov %ax,%ds; mov %ax,%es
//	mov $0x5a5a5a5a,%eax
//	again: mov $0x100000,%edi; mov $(59<<20)/4,%ecx; rep stosl
//	inc %eax; jmp halt      # "eb f1" (jmp again) would dirty it for ever
//	halt: hlt; jmp halt
//	gdt: null, flat 4 GiB code (0x00cf9a000000ffff), data (0x00cf92000000ffff)
//	gdtdesc: .word 23; .long gdt        # then 0x55aa at 510
const fillMemory = "fa31c08ed8e4920c02e692660f0116587c0f20c00c010f22c066ea217c000008" +
	"0066b810008ed88ec0b85a5a5a5abf00001000b90000ec00f3ab40eb00f4ebfd" +
	"0000000000000000ffff0000009acf00ffff00000092cf001700407c"

// filledGuest starts a guest whose 64 MiB memory is filled with non-zero
// data (fillMemory, booted from vda), once the fill is done.
func filledGuest(t *testing.T, prefix string) *labGuest {
	t.Helper()
	g := newLabGuest(t, labGuestOpts{Prefix: prefix, DiskMiB: 8})
	sector := make([]byte, 512)
	code, err := hex.DecodeString(fillMemory)
	if err != nil {
		t.Fatal(err)
	}
	copy(sector, code)
	sector[510], sector[511] = 0x55, 0xaa
	boot := filepath.Join(g.Dir, "boot.bin")
	if err := os.WriteFile(boot, sector, 0o644); err != nil {
		t.Fatal(err)
	}
	qemuIO(t, g.Disks[0], "write -s "+boot+" 0 512")
	if err := g.Dom.Create(); err != nil {
		t.Fatal(err)
	}
	// The fill ends with the last word below 60 MiB.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if strings.Contains(g.HMP(t, "xp /1wx 0x3bffffc"), "0x5a5a5a5a") {
			return g
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never filled its memory: %s", g.Name, g.HMP(t, "info registers"))
		}
	}
}

// migrating: g's outgoing migration has been under way for half a second
// with data to send.
func migrating(g *labGuest) bool {
	info, err := g.Dom.GetJobStats(0)
	return err == nil && info.Type != libvirt.DOMAIN_JOB_NONE && info.Operation == libvirt.DOMAIN_JOB_OPERATION_MIGRATION_OUT &&
		info.DataTotal > 0 && info.TimeElapsed >= 500
}

// TestLabMigrateCtrlC: SIGINT during a migration that is still running
// (59 MiB of guest memory at --bandwidth 1, a minute's worth) aborts it as
// virsh's Ctrl-C does: libvirt's message, exit 1, the guest still running
// on the source, nothing left on the destination. While it runs, the
// migrate-get*/set* commands read and change its limits (the post-copy one
// set by --postcopy-bandwidth), and domjobinfo prints what virsh prints
// about it.
func TestLabMigrateCtrlC(t *testing.T) {
	fl := newMigrateLab(t)
	lab4 := fl.host("lab4")
	g := filledGuest(t, "migsig")
	cleanupOn(t, g, lab4)
	cmd := exec.Command("unshare", fl.fleetArgs("-c", labURI(), "migrate", "--live", "--unsafe", "--verbose",
		"--bandwidth", "1", "--postcopy-bandwidth", "3", g.Name, "lab4", "--migrateuri", migrateURIOf(lab4))...)
	so, se, exited := startRecorded(t, cmd)
	awaitMigrating(t, exited, so, se, "a migration under way", func() bool {
		return migrating(g) && strings.Contains(se.String(), "%]")
	})
	n := g.Name
	if out := mustVirtshLab(t, "migrate-getspeed "+n+"; migrate-getspeed "+n+" --postcopy; migrate-getmaxdowntime "+n+
		"; migrate-setspeed "+n+" 2; migrate-setmaxdowntime "+n+" 150; migrate-getspeed "+n+"; migrate-getmaxdowntime "+n+
		"; migrate-getspeed "+n+" -o json"); out != "1\n\n3\n\n300\n\n\n\n2\n\n150\n\n{\n  \"bandwidth_mib_s\": 2\n}\n" {
		t.Errorf("migrate-getspeed, -setspeed, -getmaxdowntime, -setmaxdowntime during the migration: %q", out)
	}
	sameJobInfoLines(t, g)

	_ = cmd.Process.Signal(syscall.SIGINT)
	var code int
	select {
	case code = <-exited:
	case <-time.After(30 * time.Second):
		t.Fatalf("migrate did not end after SIGINT: %q %q", so.String(), se.String())
	}
	progress := regexp.MustCompile(`^(\rMigration: \[[ 0-9]{3} %\])+`)
	head := progress.FindString(se.String())
	if rest := strings.TrimPrefix(se.String(), head); code != 1 || so.String() != "\n" || head == "" ||
		rest != "error: operation aborted: job 'migration out' canceled by client\n" {
		t.Fatalf("after SIGINT: exit %d, stdout %q, stderr %q", code, so.String(), se.String())
	}
	// Still running on the source: it never paused, so libvirt keeps the
	// reason it started with.
	g.wantState(t, libvirt.DOMAIN_RUNNING, int(libvirt.DOMAIN_RUNNING_BOOTED))
	if d, err := lab4.conn.LookupDomainByName(g.Name); err == nil {
		_ = d.Free()
		t.Fatal("the aborted migration left the guest on lab4")
	} else if lerr := (libvirt.Error{}); !errors.As(err, &lerr) || lerr.Code != libvirt.ERR_NO_DOMAIN {
		t.Fatal(err)
	}
}

// awaitMigrating polls cond until it holds while a migrate started by
// startRecorded runs; the test fails if the migrate ends first or 30 s
// pass.
func awaitMigrating(t *testing.T, exited <-chan int, so, se *lockedBuffer, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); !cond(); time.Sleep(50 * time.Millisecond) {
		select {
		case c := <-exited:
			t.Fatalf("migrate ended (exit %d) before %s: %q %q", c, what, so.String(), se.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s after 30 s: %q %q", what, so.String(), se.String())
		}
	}
}

// jobLabel is the label of a domjobinfo line, its value masked: the values
// move between two runs during a migration.
var jobLabel = regexp.MustCompile(`(?m)^([A-Za-z /]+:)\s.*$`)

// sameJobInfoLines: domjobinfo of g prints the lines virsh prints, in its
// order (each label with its value, the values masked).
func sameJobInfoLines(t *testing.T, g *labGuest) {
	t.Helper()
	vOut, vErr, err := runTool(realVirsh, "-c", labURI(), "domjobinfo", g.Name)
	if err != nil {
		t.Fatalf("virsh domjobinfo: %v %s", err, vErr)
	}
	out := mustVirtshLab(t, "domjobinfo "+g.Name)
	if a, b := jobLabel.ReplaceAllString(out, "$1"), jobLabel.ReplaceAllString(vOut, "$1"); a != b {
		t.Errorf("domjobinfo during a migration:\nvirtsh:\n%s\nvirsh:\n%s", out, vOut)
	}
}

// TestLabMigrateCheckpoints: migrate --checkpoints (through --hosts) of a
// guest with a chain cp1 → cp2 → cp3: the destination lists the same
// checkpoints, and an incremental backup taken there after the move holds
// exactly the writes since cp3, those before the move and after it. A
// migration whose checkpoints could not follow — a bitmap disk left behind
// by --migrate-disks, a destination the client cannot reach — is refused
// before it starts.
func TestLabMigrateCheckpoints(t *testing.T) {
	fl := newMigrateLab(t)
	lab4 := fl.host("lab4")
	g := newLabGuest(t, labGuestOpts{Prefix: "migcp", Disks: 2, DiskMiB: 8, Start: true})
	cleanupOn(t, g, lab4)
	for i, cp := range []string{"cp1", "cp2", "cp3"} {
		g.GuestWrite(t, "vda", byte(0x11*(i+1)), strconv.Itoa(i+1)+"M", "64k")
		mustVirtshLab(t, "checkpoint-create-as "+g.Name+" "+cp)
	}
	g.GuestWrite(t, "vda", 0x44, "4M", "64k") // since cp3, before the move

	// Refused, and nothing moved.
	for _, c := range []struct {
		args []string
		why  string
	}{
		{[]string{"--copy-storage-all", "--migrate-disks", "vdb", "lab4"},
			"error: checkpoint 'cp1' has a bitmap on disk 'vda', which --migrate-disks leaves behind\n"},
		{[]string{"--p2p", "qemu+tcp://127.0.0.9/system"},
			"error: failed to connect to the hypervisor\nerror: unable to connect to server at '127.0.0.9:16509': Connection refused\n"},
	} {
		args := append([]string{"-c", labURI(), "migrate", g.Name, "--live", "--unsafe", "--checkpoints"}, c.args...)
		out, errS, code := fl.virtsh("", args...)
		want := "error: the checkpoints of domain '" + g.Name + "' cannot follow it: migration not started\n" + c.why
		if code != 1 || out != "\n" || errS != want {
			t.Errorf("%q: exit %d, stdout %q, stderr %q, want %q", c.args, code, out, errS, want)
		}
		g.wantState(t, libvirt.DOMAIN_RUNNING, int(libvirt.DOMAIN_RUNNING_BOOTED))
	}

	out, errS, code := fl.virtsh("", "--hosts", "local,lab4", "migrate", g.Name, "lab4", "--live", "--unsafe",
		"--checkpoints", "--migrateuri", migrateURIOf(lab4))
	if code != 0 || out != "\n" || errS != "" {
		t.Fatalf("migrate --checkpoints: exit %d, stdout %q, stderr %q", code, out, errS)
	}
	on4 := onHost(t, g, lab4)
	if got := checkpointNames(t, on4); !reflect.DeepEqual(got, []string{"cp1", "cp2", "cp3"}) {
		t.Fatalf("checkpoints on lab4: %v", got)
	}
	// The same tree as the source still holds (the guest stays defined
	// there), as virsh prints it.
	src, _, err := runTool(realVirsh, "-c", labURI(), "checkpoint-list", g.Name, "--tree")
	if err != nil {
		t.Fatal(err)
	}
	if dst, _, err := runTool(realVirsh, "-c", lab4.uri, "checkpoint-list", g.Name, "--tree"); err != nil || dst != src {
		t.Fatalf("checkpoint-list --tree on lab4 (%v):\n%s\non the source:\n%s", err, dst, src)
	}

	on4.GuestWrite(t, "vda", 0x55, "6M", "64k") // after the move
	inc := filepath.Join(g.Dir, "inc")
	if err := os.Mkdir(inc, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, errS, code := fl.virtsh("", "-c", lab4.uri, "backup-begin", g.Name, "--target-dir", inc, "--incremental", "cp3", "--wait"); code != 0 {
		t.Fatalf("incremental backup on lab4: exit %d %q %q", code, out, errS)
	}
	img := filepath.Join(inc, "vda.qcow2")
	if got, want := dataExtents(t, img), [][2]int64{{4 * MiB, 4*MiB + 64<<10}, {6 * MiB, 6*MiB + 64<<10}}; !reflect.DeepEqual(got, want) {
		t.Errorf("incremental backup since cp3 holds %v, want %v", got, want)
	}
	qemuIO(t, img, "read -P 0x44 4M 64k", "read -P 0x55 6M 64k")
}

// TestLabMigrateCtrlCOnTerminal: Ctrl-C typed on a terminal during a
// migration: virsh 9.0 reads it from the terminal and aborts, virtsh gets
// the SIGINT it makes; both print the same error and exit 1, the guest runs
// on the source. On the terminal virtsh draws a bar with bytes and rate.
func TestLabMigrateCtrlCOnTerminal(t *testing.T) {
	fl := newMigrateLab(t)
	lab4 := fl.host("lab4")
	g := filledGuest(t, "migpty")
	cleanupOn(t, g, lab4)
	bar := regexp.MustCompile(`Migration +\d+% \|[^|]*\| \([0-9.]+/[0-9.]+ MiB, [0-9.]+ [KM]?i?B/s\)`)
	virshText := regexp.MustCompile(`Migration: \[ *\d+ %\]`)
	var errs [2][]string
	for i, bin := range []string{realVirsh, virtshBinary(t)} {
		c := exec.Command(bin, "-c", labURI(), "migrate", "--live", "--unsafe", "--verbose", "--bandwidth", "1",
			g.Name, lab4.uri, "--migrateuri", migrateURIOf(lab4))
		c.Env = append(os.Environ(), "LC_ALL=C", "TERM=xterm", "GORACE=atexit_sleep_ms=0")
		ptmx, err := pty.StartWithSize(c, &pty.Winsize{Rows: 24, Cols: 120})
		if err != nil {
			t.Fatal(err)
		}
		s := watchPTY(t, c, ptmx)
		shows := virshText
		if bin != realVirsh {
			shows = bar
		}
		for deadline := time.Now().Add(30 * time.Second); !migrating(g) || !shows.MatchString(s.screen()); time.Sleep(50 * time.Millisecond) {
			select {
			case <-s.done:
				t.Fatalf("%s ended before Ctrl-C: %q", bin, s.screen())
			default:
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: no progress after 30 s: %q", bin, s.screen())
			}
		}
		s.send("\x03")
		if code := s.wait(); code != 1 {
			t.Fatalf("%s: exit %d after Ctrl-C: %q", bin, code, s.screen())
		}
		errs[i] = errorMessage.FindAllString(s.screen(), -1)
		g.wantState(t, libvirt.DOMAIN_RUNNING, int(libvirt.DOMAIN_RUNNING_BOOTED))
	}
	want := []string{"error: operation aborted: job 'migration out' canceled by client"}
	if !reflect.DeepEqual(errs[0], want) || !reflect.DeepEqual(errs[1], want) {
		t.Fatalf("Ctrl-C on a terminal:\nvirsh  %q\nvirtsh %q\nwant   %q", errs[0], errs[1], want)
	}
}

// TestLabMigrateTimeoutSuspends: --timeout 1 (suspend, the default action)
// pauses the guest on the source once the migration has run a second;
// migrate-setspeed then lets the migration finish, and the guest runs on
// the destination.
func TestLabMigrateTimeoutSuspends(t *testing.T) {
	fl := newMigrateLab(t)
	lab4 := fl.host("lab4")
	g := filledGuest(t, "migtime")
	cleanupOn(t, g, lab4)
	cmd := exec.Command("unshare", fl.fleetArgs("-c", labURI(), "migrate", "--live", "--unsafe", "--timeout", "1",
		"--bandwidth", "1", g.Name, "lab4", "--migrateuri", migrateURIOf(lab4))...)
	so, se, exited := startRecorded(t, cmd)
	awaitMigrating(t, exited, so, se, "the guest paused by --timeout", func() bool {
		st, _, err := g.Dom.GetState()
		return err == nil && st == libvirt.DOMAIN_PAUSED && migrating(g)
	})
	mustVirtshLab(t, "migrate-setspeed "+g.Name+" 8796093022207")
	select {
	case code := <-exited:
		if code != 0 || so.String() != "\n" || se.String() != "" {
			t.Fatalf("exit %d, stdout %q, stderr %q", code, so.String(), se.String())
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("migrate did not end after migrate-setspeed: %q %q", so.String(), se.String())
	}
	onHost(t, g, lab4).wantState(t, libvirt.DOMAIN_RUNNING, int(libvirt.DOMAIN_RUNNING_MIGRATED))
}

// TestLabMigrateOptions: the options that change what arrives — --dname
// with an updated --xml, --suspend, --auto-converge, --compressed (passed
// through; QEMU takes them) — and an --offline --persistent migration of a
// shut-off guest, which moves its definition only.
func TestLabMigrateOptions(t *testing.T) {
	fl := newMigrateLab(t)
	lab4, lab5 := fl.host("lab4"), fl.host("lab5")
	g := newLabGuest(t, labGuestOpts{Prefix: "migopt", DiskMiB: 8, Start: true})
	moved := &labGuest{Name: g.Name + "-moved", Dir: g.Dir, Disks: g.Disks}
	cleanupOn(t, moved, lab4)
	x, err := g.Dom.GetXMLDesc(libvirt.DOMAIN_XML_MIGRATABLE)
	if err != nil {
		t.Fatal(err)
	}
	var def libvirtxml.Domain
	if err := def.Unmarshal(x); err != nil {
		t.Fatal(err)
	}
	// The XML keeps the source's name: libvirt renames with --dname.
	def.Description = "moved by virtsh"
	if x, err = def.Marshal(); err != nil {
		t.Fatal(err)
	}
	xmlFile := filepath.Join(g.Dir, "dest.xml")
	if err := os.WriteFile(xmlFile, []byte(x), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errS, code := fl.virtsh("", "-c", labURI(), "migrate", g.Name, "lab4", "--live", "--unsafe", "--suspend",
		"--auto-converge", "--compressed", "--dname", moved.Name, "--xml", xmlFile, "--migrateuri", migrateURIOf(lab4))
	if code != 0 || out != "\n" || errS != "" {
		t.Fatalf("migrate --dname --xml --suspend: exit %d, stdout %q, stderr %q", code, out, errS)
	}
	on4 := onHost(t, moved, lab4)
	if st := on4.State(t); st != libvirt.DOMAIN_PAUSED {
		t.Fatalf("--suspend: %s is %v on lab4, want paused", moved.Name, st)
	}
	if err := def.Unmarshal(on4.LiveXML(t)); err != nil || def.Description != "moved by virtsh" {
		t.Fatalf("--xml: lab4's %s has description %q (%v)", moved.Name, def.Description, err)
	}
	if err := on4.Dom.Destroy(); err != nil {
		t.Fatal(err)
	}

	// Offline: the definition alone, kept shut off on lab5.
	off := newLabGuest(t, labGuestOpts{Prefix: "migoff", DiskMiB: 8})
	cleanupOn(t, off, lab5)
	out, errS, code = fl.virtsh("", "-c", labURI(), "migrate", off.Name, "lab5", "--offline", "--persistent")
	if code != 0 || out != "\n" || errS != "" {
		t.Fatalf("migrate --offline --persistent: exit %d, stdout %q, stderr %q", code, out, errS)
	}
	on5 := onHost(t, off, lab5)
	if p, _ := on5.Dom.IsPersistent(); !p || on5.State(t) != libvirt.DOMAIN_SHUTOFF {
		t.Fatalf("--offline --persistent: on lab5 persistent %v, state %v", p, on5.State(t))
	}
}

// TestLabMigrateInByOtherClient: a virtsh session open on the destination
// host when another client (plain virsh) migrates a guest in: libvirt's
// lifecycle event "started migrated" marks the guest, and the session's
// next use fills it from the new XML with reason "migrated" and QEMU's
// names.
func TestLabMigrateInByOtherClient(t *testing.T) {
	fl := newMigrateLab(t)
	lab4 := fl.host("lab4")
	g := newLabGuest(t, labGuestOpts{Prefix: "migevent", DiskMiB: 8, Start: true})
	cleanupOn(t, g, lab4)
	virshMigrate := func(from, to string, extra ...string) {
		t.Helper()
		args := append([]string{"-c", from, "migrate", "--live", "--unsafe", g.Name, to}, extra...)
		if out, errS, err := runTool(realVirsh, args...); err != nil {
			t.Fatalf("virsh %q: %v %s %s", args, err, out, errS)
		}
	}
	virshMigrate(labURI(), lab4.uri, "--migrateuri", migrateURIOf(lab4))
	ls := &labSession{ts: newTestShell(t, lab4.uri)}
	ls.ts.sess.StartEventLoop() // as the interactive shell does
	ls.dump(t, g.Name)          // connected, the cache's events registered
	virshMigrate(lab4.uri, "qemu+unix:///system")
	virshMigrate(labURI(), lab4.uri, "--migrateuri", migrateURIOf(lab4))
	time.Sleep(time.Second) // the started event reaches the session
	v := ls.dump(t, g.Name)
	if d := v.Domains[0]; d.Last.Reason != blocknodes.ReasonMigrated {
		t.Fatalf("after the guest migrated in: last fill %+v", d.Last)
	}
	if got, want := cachedNodes(v), qemuNodes(t, onHost(t, g, lab4)); !reflect.DeepEqual(got, want) {
		t.Fatalf("cache %v\nQEMU  %v", got, want)
	}
}
