//go:build lab

// The real-QEMU test lab: helpers for integration tests that run against a
// real libvirtd with the QEMU driver (scripts/lab-up brings one up). These
// tests are built only with -tags lab, and they FAIL (never skip) when the
// lab is unreachable: a green run must mean the real hypervisor was tested.
//
// Guests are throwaway TCG guests that need no OS (they sit in the BIOS),
// named vt-<prefix>-<random>, with tiny qcow2 disks in their own temp dir.
// Every guest is destroyed, undefined (with its snapshot and checkpoint
// metadata) and its files removed in t.Cleanup, also when the test fails.

package cmd

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/virtsh/virtsh/shell/domain"
	"libvirt.org/go/libvirt"
	"libvirt.org/go/libvirtxml"
)

const defaultLabURI = "qemu:///system"

// labURI is the lab's connection URI: VIRTSH_LAB_URI when set, else
// qemu:///system.
func labURI() string {
	if u := os.Getenv("VIRTSH_LAB_URI"); u != "" {
		return u
	}
	return defaultLabURI
}

// labConn opens a connection to the lab, closed when the test ends. An
// unreachable lab fails the test with the reason: integration tests never
// skip.
func labConn(t *testing.T) *libvirt.Connect {
	t.Helper()
	conn, err := libvirt.NewConnect(labURI())
	if err != nil {
		t.Fatalf("test lab unreachable at %s (bring it up with scripts/lab-up): %v", labURI(), err)
	}
	t.Cleanup(func() { _, _ = conn.Close() })
	return conn
}

type labGuestOpts struct {
	Prefix    string // purpose, part of the name: vt-<prefix>-<random>
	Disks     int    // number of qcow2 disks, vda, vdb, ... (default 1)
	DiskMiB   int    // size of each disk (default 64)
	MemMiB    int    // its memory (default 64)
	Start     bool   // start it after defining
	Transient bool   // create (transient) instead of define; a transient guest always runs
	CDROM     bool   // a SATA cdrom sda with a 1 MiB raw image as its media (g.CDROM)
	// CDROMStartupPolicy is the cdrom source's startupPolicy ("optional":
	// libvirt empties the drive when the media is gone at start).
	CDROMStartupPolicy string
	ACPI               bool // <acpi/>, so that PCI hotplug works (machine pc)
	SCSI               bool // a virtio-scsi controller, whose disks unplug without the guest's help
	Agent              bool // a guest agent channel (org.qemu.guest_agent.0), no agent answering on it
	// SerialBIOS: <bios useserial='yes'/>, so the BIOS writes to the serial
	// console at every boot: output for a console to show.
	SerialBIOS bool
	// Conn, when set, is the hypervisor to define the guest on instead of
	// the lab (a test's private daemon); cleanup uses g.Conn as it is then.
	Conn *libvirt.Connect
	// Owner, when not 0, owns the guest's dir and images (uid = gid): the
	// user a private session daemon and its QEMU run as.
	Owner int
}

type labGuest struct {
	Name  string
	Dir   string   // temp dir holding its images
	Disks []string // absolute qcow2 paths in order vda, vdb, ...
	CDROM string   // the cdrom's media (labGuestOpts.CDROM)
	Conn  *libvirt.Connect
	Dom   *libvirt.Domain
}

// newLabGuest defines (or creates, when Transient) a throwaway guest on the
// lab. Its cleanup is registered before the guest exists, so a failure half
// way through still removes whatever was made.
func newLabGuest(t *testing.T, o labGuestOpts) *labGuest {
	t.Helper()
	if o.Disks <= 0 {
		o.Disks = 1
	}
	if o.Disks > 26 {
		t.Fatalf("newLabGuest: %d disks, at most 26 (vda..vdz)", o.Disks)
	}
	if o.DiskMiB <= 0 {
		o.DiskMiB = 64
	}
	if o.MemMiB <= 0 {
		o.MemMiB = 64
	}
	if o.Prefix == "" {
		o.Prefix = "lab"
	}
	conn := o.Conn
	if conn == nil {
		conn = labConn(t)
	}
	g := &labGuest{Name: "vt-" + o.Prefix + "-" + randomSuffix(t), Conn: conn}

	// Not t.TempDir: its directories are 0700, and a QEMU that does not run
	// as root (an existing installation's qemu.conf) could not open the
	// images. We remove it ourselves after the guest is gone.
	dir, err := os.MkdirTemp("", g.Name+"-")
	if err != nil {
		t.Fatalf("newLabGuest: %v", err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatalf("newLabGuest: %v", err)
	}
	g.Dir = dir
	t.Cleanup(func() { g.cleanup(t) })
	chown := func(path string) {
		if o.Owner != 0 {
			if err := os.Chown(path, o.Owner, o.Owner); err != nil {
				t.Fatalf("newLabGuest: %v", err)
			}
		}
	}
	chown(dir)

	dom := libvirtxml.Domain{
		Type:   "qemu",
		Name:   g.Name,
		Memory: &libvirtxml.DomainMemory{Value: uint(o.MemMiB), Unit: "MiB"},
		VCPU:   &libvirtxml.DomainVCPU{Value: 1},
		OS: &libvirtxml.DomainOS{
			Type: &libvirtxml.DomainOSType{Arch: "x86_64", Machine: "pc", Type: "hvm"},
		},
		Devices: &libvirtxml.DomainDeviceList{
			// No graphics at all: <graphics type='none'/> is invalid.
			Consoles: []libvirtxml.DomainConsole{{
				Source: &libvirtxml.DomainChardevSource{Pty: &libvirtxml.DomainChardevSourcePty{}},
			}},
		},
	}
	if o.SerialBIOS {
		dom.OS.BIOS = &libvirtxml.DomainBIOS{UseSerial: "yes"}
	}
	if o.ACPI {
		dom.Features = &libvirtxml.DomainFeatureList{ACPI: &libvirtxml.DomainFeature{}}
	}
	if o.SCSI {
		dom.Devices.Controllers = append(dom.Devices.Controllers, libvirtxml.DomainController{Type: "scsi", Model: "virtio-scsi"})
	}
	if o.Agent {
		dom.Devices.Channels = append(dom.Devices.Channels, libvirtxml.DomainChannel{
			Source: &libvirtxml.DomainChardevSource{UNIX: &libvirtxml.DomainChardevSourceUNIX{}},
			Target: &libvirtxml.DomainChannelTarget{VirtIO: &libvirtxml.DomainChannelTargetVirtIO{Name: "org.qemu.guest_agent.0"}},
		})
	}
	for i := 0; i < o.Disks; i++ {
		dev := "vd" + string(rune('a'+i))
		img := filepath.Join(dir, dev+".qcow2")
		qemuImg(t, "create", "-q", "-f", "qcow2", img, fmt.Sprintf("%dM", o.DiskMiB))
		chown(img)
		g.Disks = append(g.Disks, img)
		dom.Devices.Disks = append(dom.Devices.Disks, libvirtxml.DomainDisk{
			Device: "disk",
			Driver: &libvirtxml.DomainDiskDriver{Name: "qemu", Type: "qcow2"},
			Source: &libvirtxml.DomainDiskSource{File: &libvirtxml.DomainDiskSourceFile{File: img}},
			Target: &libvirtxml.DomainDiskTarget{Dev: dev, Bus: "virtio"},
		})
	}
	if o.CDROM {
		g.CDROM = filepath.Join(dir, "cdrom.iso")
		qemuImg(t, "create", "-q", "-f", "raw", g.CDROM, "1M")
		chown(g.CDROM)
		dom.Devices.Disks = append(dom.Devices.Disks, libvirtxml.DomainDisk{
			Device: "cdrom",
			Driver: &libvirtxml.DomainDiskDriver{Name: "qemu", Type: "raw"},
			Source: &libvirtxml.DomainDiskSource{File: &libvirtxml.DomainDiskSourceFile{File: g.CDROM},
				StartupPolicy: o.CDROMStartupPolicy},
			Target:   &libvirtxml.DomainDiskTarget{Dev: "sda", Bus: "sata"},
			ReadOnly: &libvirtxml.DomainDiskReadOnly{},
		})
	}
	xml, err := dom.Marshal()
	if err != nil {
		t.Fatalf("newLabGuest: marshal domain XML: %v", err)
	}

	if o.Transient {
		g.Dom, err = conn.DomainCreateXML(xml, 0)
		if err != nil {
			t.Fatalf("newLabGuest: create %s: %v", g.Name, err)
		}
		return g
	}
	g.Dom, err = conn.DomainDefineXML(xml)
	if err != nil {
		t.Fatalf("newLabGuest: define %s: %v", g.Name, err)
	}
	if o.Start {
		if err := g.Dom.Create(); err != nil {
			t.Fatalf("newLabGuest: start %s: %v", g.Name, err)
		}
	}
	return g
}

// cleanup removes the guest however the test left it: looked up again by
// name (a test may have undefined, renamed the handle or re-created it),
// destroyed if running, undefined with all metadata, files removed.
func (g *labGuest) cleanup(t *testing.T) {
	t.Helper()
	defer func() {
		if err := os.RemoveAll(g.Dir); err != nil {
			t.Errorf("lab cleanup: removing %s: %v", g.Dir, err)
		}
	}()
	if g.Dom != nil {
		_ = g.Dom.Free()
		g.Dom = nil
	}
	dom, err := g.Conn.LookupDomainByName(g.Name)
	if err != nil {
		var lerr libvirt.Error
		if errors.As(err, &lerr) && lerr.Code == libvirt.ERR_NO_DOMAIN {
			return // the test removed it itself
		}
		t.Errorf("lab cleanup: looking up %s: %v", g.Name, err)
		return
	}
	defer func() { _ = dom.Free() }()
	if active, err := dom.IsActive(); err == nil && active {
		if err := dom.Destroy(); err != nil {
			t.Errorf("lab cleanup: destroying %s: %v", g.Name, err)
		}
	}
	if persistent, err := dom.IsPersistent(); err == nil && persistent {
		flags := libvirt.DOMAIN_UNDEFINE_MANAGED_SAVE | libvirt.DOMAIN_UNDEFINE_SNAPSHOTS_METADATA |
			libvirt.DOMAIN_UNDEFINE_CHECKPOINTS_METADATA | libvirt.DOMAIN_UNDEFINE_NVRAM
		if err := dom.UndefineFlags(flags); err != nil {
			t.Errorf("lab cleanup: undefining %s: %v", g.Name, err)
		}
	}
}

func randomSuffix(t *testing.T) string {
	t.Helper()
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		t.Fatalf("random name: %v", err)
	}
	return hex.EncodeToString(b)
}

// LiveXML is the guest's current XML (the live one while it runs).
func (g *labGuest) LiveXML(t *testing.T) string {
	t.Helper()
	x, err := g.Dom.GetXMLDesc(0)
	if err != nil {
		t.Fatalf("dumpxml %s: %v", g.Name, err)
	}
	return x
}

// State is the guest's state as libvirt holds it now.
func (g *labGuest) State(t *testing.T) libvirt.DomainState {
	t.Helper()
	st, _, err := g.Dom.GetState()
	if err != nil {
		t.Fatalf("domstate %s: %v", g.Name, err)
	}
	return st
}

// HMP runs a human monitor command in the guest's QEMU (this taints the
// domain "custom monitor": fine for tests only).
func (g *labGuest) HMP(t *testing.T, cmd string) string {
	t.Helper()
	out, err := g.Dom.QemuMonitorCommand(cmd, libvirt.DOMAIN_QEMU_MONITOR_COMMAND_HMP)
	if err != nil {
		t.Fatalf("HMP %q on %s: %v", cmd, g.Name, err)
	}
	return out
}

// GuestWrite makes the running guest write pattern at offset (length bytes)
// to the disk with the given target (vda, ...), through its own virtio
// device, as if the guest OS had written it: HMP qemu-io on the device whose
// alias the live XML names. Offsets and lengths take qemu-io's suffixes
// ("3M", "512k").
func (g *labGuest) GuestWrite(t *testing.T, target string, pattern byte, offset, length string) {
	t.Helper()
	var dom libvirtxml.Domain
	if err := dom.Unmarshal(g.LiveXML(t)); err != nil {
		t.Fatalf("GuestWrite: parsing live XML of %s: %v", g.Name, err)
	}
	alias := ""
	if dom.Devices != nil {
		for _, d := range dom.Devices.Disks {
			if d.Target != nil && d.Target.Dev == target && d.Alias != nil {
				alias = d.Alias.Name
			}
		}
	}
	if alias == "" {
		t.Fatalf("GuestWrite: %s has no running disk %s with an alias (is it running?)", g.Name, target)
	}
	dev := "/machine/peripheral/" + alias + "/virtio-backend"
	// The flush puts the data and qcow2 metadata on disk, so that qemu-io
	// -U on the image (qemuIO) sees the write while the guest still runs.
	for _, io := range []string{fmt.Sprintf("write -P 0x%02x %s %s", pattern, offset, length), "flush"} {
		cmd := fmt.Sprintf("qemu-io -d %s %q", dev, io)
		// HMP qemu-io prints its own report on QEMU's stdout (the domain
		// log), so the monitor answers nothing on success; errors such as
		// an unknown device come back as monitor text, not as an error.
		if out := strings.TrimSpace(g.HMP(t, cmd)); out != "" {
			t.Fatalf("GuestWrite: %s: %s", cmd, out)
		}
	}
}

// runQemuIO runs qemu-io -c CMD... IMG. When the image is in use by a
// running QEMU (its lock refuses us), it retries read-only with -U
// (force-share), which is enough for reads and checks; writes to an image in
// use keep failing, as they should. A failed command (a pattern mismatch
// among them) is an error.
func runQemuIO(img string, cmds ...string) (string, error) {
	args := []string{}
	for _, c := range cmds {
		args = append(args, "-c", c)
	}
	out, stderr, err := runTool("qemu-io", append(args, img)...)
	if err != nil && strings.Contains(stderr, "Failed to get") && strings.Contains(stderr, "lock") {
		out, _, err = runTool("qemu-io", append(append([]string{"-U", "-r"}, args...), img)...)
	}
	if err == nil && strings.Contains(out, "verification failed") {
		err = fmt.Errorf("qemu-io %q %s: %s", cmds, img, out)
	}
	return out, err
}

// qemuIO runs qemu-io commands on an image (see runQemuIO) and fails the
// test if any fails, including a read -P whose pattern does not match.
func qemuIO(t *testing.T, img string, cmds ...string) string {
	t.Helper()
	out, err := runQemuIO(img, cmds...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// qemuImg runs qemu-img and returns its standard output (so that
// --output=json parses); it fails the test on a non-zero exit.
func qemuImg(t *testing.T, args ...string) string {
	t.Helper()
	out, _, err := runTool("qemu-img", args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// runTool runs a program and returns its stdout and stderr; the error
// carries the command, its exit status, stdout and stderr.
func runTool(name string, args ...string) (stdout, stderr string, err error) {
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return out.String(), errb.String(),
			fmt.Errorf("%s %q: %v\nstdout: %s\nstderr: %s", name, args, err, out.String(), errb.String())
	}
	return out.String(), errb.String(), nil
}

// labSession is one virtsh session (one connection, one node-name cache) on
// the lab, as in the REPL: each run() is one command line. It is a testShell
// whose command lines may come from several goroutines, one at a time.
type labSession struct {
	mu sync.Mutex
	ts *testShell
}

func newLabSession(t *testing.T) *labSession {
	t.Helper()
	return &labSession{ts: newTestShell(t, labURI())}
}

func (ls *labSession) run(line string) (stdout, stderr string, ok bool) {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	return ls.ts.run(line)
}

// labResult is what a line run in the background printed.
type labResult struct {
	out, err string
	ok       bool
}

// start runs line in the background (a wait, an event listener) and
// delivers its result once.
func (ls *labSession) start(line string) <-chan labResult {
	done := make(chan labResult, 1)
	go func() {
		o, e, ok := ls.run(line)
		done <- labResult{o, e, ok}
	}()
	return done
}

// mustRun is run that fails t unless the line succeeds; unlike testShell's,
// it lets virtsh's warnings on stderr pass.
func (ls *labSession) mustRun(t *testing.T, line string) string {
	t.Helper()
	out, errs, ok := ls.run(line)
	if !ok {
		t.Fatalf("%s: failed: %s", line, errs)
	}
	return out
}

func (ls *labSession) dump(t *testing.T, name string) nodeDumpView {
	t.Helper()
	out := ls.mustRun(t, "debug node-names "+name+" -o json")
	var v nodeDumpView
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("debug node-names -o json: %v\n%s", err, out)
	}
	if len(v.Domains) != 1 {
		t.Fatalf("debug node-names %s: %d domains", name, len(v.Domains))
	}
	return v
}

// cachedNodes is every node name the dump holds for the guest.
func cachedNodes(v nodeDumpView) []string {
	var out []string
	for _, d := range v.Domains[0].Disks {
		layers := append([]layerView(nil), d.Chain...)
		if d.Mirror != nil {
			layers = append(layers, *d.Mirror)
		}
		for _, l := range layers {
			for _, n := range []string{l.FormatNode, l.StorageNode, l.SliceNode} {
				if n != "" {
					out = append(out, n)
				}
			}
		}
		if d.CopyOnRead != "" {
			out = append(out, d.CopyOnRead)
		}
	}
	sort.Strings(out)
	// Without a format layer (a raw source on newer libvirt) the format
	// node is the storage node: one node, listed once.
	return slices.Compact(out)
}

// qemuBlockNode is one block node as QEMU's query-named-block-nodes lists it.
type qemuBlockNode struct {
	Node      string `json:"node-name"`
	Drv       string `json:"drv"`
	File      string `json:"file"`
	Threshold uint64 `json:"write_threshold"`
	Bitmaps   []struct {
		Name       string `json:"name"`
		Persistent bool   `json:"persistent"`
	} `json:"dirty-bitmaps"`
}

// namedBlockNodes asks QEMU itself for its block nodes (QMP
// query-named-block-nodes from the test's side: this taints the guest).
func namedBlockNodes(t *testing.T, g *labGuest) []qemuBlockNode {
	t.Helper()
	raw, err := g.Dom.QemuMonitorCommand(`{"execute":"query-named-block-nodes","arguments":{"flat":true}}`, libvirt.DOMAIN_QEMU_MONITOR_COMMAND_DEFAULT)
	if err != nil {
		t.Fatalf("query-named-block-nodes: %v", err)
	}
	var r struct {
		Return []qemuBlockNode `json:"return"`
	}
	if err := json.Unmarshal([]byte(raw), &r); err != nil {
		t.Fatalf("query-named-block-nodes: %v\n%s", err, raw)
	}
	return r.Return
}

// qemuNodes is the sorted names of QEMU's block nodes, QEMU's own "#..."
// names left out (see namedBlockNodes).
func qemuNodes(t *testing.T, g *labGuest) []string {
	t.Helper()
	var out []string
	for _, n := range namedBlockNodes(t, g) {
		if !strings.HasPrefix(n.Node, "#") {
			out = append(out, n.Node)
		}
	}
	sort.Strings(out)
	return out
}

func tainted(t *testing.T, g *labGuest) bool {
	t.Helper()
	msgs, err := g.Dom.GetMessages(libvirt.DOMAIN_MESSAGE_TAINTING)
	if err != nil {
		t.Fatalf("domain messages: %v", err)
	}
	for _, m := range msgs {
		if strings.Contains(m, "custom monitor") || strings.Contains(m, "custom-monitor") {
			return true
		}
	}
	return false
}

func waitArmed(t *testing.T, g *labGuest, target string, want uint64) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		st, err := g.Conn.GetAllDomainStats([]*libvirt.Domain{g.Dom}, libvirt.DOMAIN_STATS_BLOCK, 0)
		if err == nil && len(st) == 1 {
			for _, b := range st[0].Block {
				if b.Name == target && b.ThresholdSet && b.Threshold == want {
					return
				}
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("threshold %d on %s never armed", want, target)
}

// virtshLab runs virtsh in-process on the lab, in argv mode: args after
// -c LAB, one word each or one command string.
func virtshLab(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	return runMain(t, "", append([]string{"-c", labURI()}, args...)...)
}

// virtshLabScript runs virtsh on the lab with a script on stdin (the REPL's
// non-terminal mode).
func virtshLabScript(t *testing.T, script string) (stdout, stderr string, code int) {
	t.Helper()
	return runMain(t, script, "-c", labURI())
}

// mustVirtshLab is virtshLab that fails the test unless virtsh succeeds.
func mustVirtshLab(t *testing.T, args ...string) string {
	t.Helper()
	out, errS, code := virtshLab(t, args...)
	if code != 0 {
		t.Fatalf("virtsh %q: exit %d\nstdout: %s\nstderr: %s", args, code, out, errS)
	}
	return out
}

// liveChain is a disk's chain in the guest's live XML, top first.
func liveChain(t *testing.T, g *labGuest, target string) []domain.Source {
	t.Helper()
	return liveDisk(t, g, target).Chain
}

// liveDisk is a disk of the guest's live XML.
func liveDisk(t *testing.T, g *labGuest, target string) domain.Disk {
	t.Helper()
	disks, err := domain.Disks(g.LiveXML(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range disks {
		if d.Target == target {
			return d
		}
	}
	t.Fatalf("%s has no disk %s", g.Name, target)
	return domain.Disk{}
}

// wantChain fails the test unless the live chain of the disk, top first, is
// the images want.
func wantChain(t *testing.T, g *labGuest, target string, want ...string) {
	t.Helper()
	var got []string
	for _, e := range liveChain(t, g, target) {
		got = append(got, e.Name)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("chain of %s = %q, want %q", target, got, want)
	}
}

func noJob(t *testing.T, g *labGuest, disk string) {
	t.Helper()
	info, err := g.Dom.GetBlockJobInfo(disk, 0)
	if err != nil || info.Type != 0 {
		t.Fatalf("block job on %s still there: %+v %v", disk, info, err)
	}
}

func stopGuest(t *testing.T, g *labGuest) {
	t.Helper()
	if err := g.Dom.Destroy(); err != nil {
		t.Fatal(err)
	}
}

// queryNodeBitmaps asks QEMU (see namedBlockNodes) which named dirty
// bitmaps each node holds, sorted; persistentOnly keeps the checkpoint ones
// (a mirror's anonymous, transient bitmap never counts).
func queryNodeBitmaps(t *testing.T, g *labGuest, persistentOnly bool) map[string][]string {
	t.Helper()
	m := map[string][]string{}
	for _, n := range namedBlockNodes(t, g) {
		for _, b := range n.Bitmaps {
			if b.Name != "" && (b.Persistent || !persistentOnly) {
				m[n.Node] = append(m[n.Node], b.Name)
			}
		}
		sort.Strings(m[n.Node])
	}
	return m
}

// checkpointNames is what libvirt holds.
func checkpointNames(t *testing.T, g *labGuest) []string {
	t.Helper()
	cps, err := g.Dom.ListAllCheckpoints(0)
	if err != nil {
		t.Fatal(err)
	}
	names := []string{}
	for _, c := range cps {
		n, _ := c.GetName()
		names = append(names, n)
		_ = c.Free()
	}
	sort.Strings(names)
	return names
}

const MiB = 1 << 20

// nobodyID is the uid and gid private daemons and their guests run as.
const nobodyID = 65534

// privateDaemon is a libvirtd of the test's own (see newPrivateDaemon).
type privateDaemon struct {
	t      *testing.T
	dir    string
	sock   string
	qemu   bool // clients use its QEMU driver (qemu:///session), not the test driver
	cmd    *exec.Cmd
	exited chan struct{}
}

// newPrivateDaemon starts a libvirtd of the test's own. Run as an
// unprivileged user it is a session daemon: every path it uses is under dir
// (XDG_RUNTIME_DIR, HOME, unix_sock_dir), so it shares nothing with the
// system daemon. Cleanup kills it and removes dir.
func newPrivateDaemon(t *testing.T) *privateDaemon {
	t.Helper()
	return newPrivateDaemonFor(t, false)
}

// newPrivateQEMUDaemon is a private daemon whose clients use its QEMU driver
// in session mode: guests run as "nobody" (TCG), their state lives under the
// daemon's own runtime dir, and they survive a restart of this daemon. Its
// cleanup also kills any QEMU the daemon left running (by the pid files in
// that runtime dir), so a failed test leaves no guest behind.
func newPrivateQEMUDaemon(t *testing.T) *privateDaemon {
	t.Helper()
	return newPrivateDaemonFor(t, true)
}

func newPrivateDaemonFor(t *testing.T, qemu bool) *privateDaemon {
	t.Helper()
	dir, err := os.MkdirTemp("", "vt-ld-")
	if err != nil {
		t.Fatal(err)
	}
	d := &privateDaemon{t: t, dir: dir, sock: filepath.Join(dir, "sock", "libvirt-sock"), qemu: qemu}
	t.Cleanup(func() {
		d.stop()
		d.killGuests()
		_ = os.RemoveAll(dir)
	})
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.Chmod(dir, 0o755))
	for _, sub := range []string{"home", "run", "sock"} {
		must(os.Mkdir(filepath.Join(dir, sub), 0o755))
		must(os.Chown(filepath.Join(dir, sub), nobodyID, nobodyID))
	}
	conf := fmt.Sprintf("unix_sock_dir = %q\nunix_sock_rw_perms = \"0777\"\nauth_unix_rw = \"none\"\nauth_unix_ro = \"none\"\n", filepath.Join(dir, "sock"))
	must(os.WriteFile(filepath.Join(dir, "libvirtd.conf"), []byte(conf), 0o644))
	d.start()
	return d
}

func (d *privateDaemon) URI() string {
	if d.qemu {
		return "qemu+unix:///session?socket=" + d.sock
	}
	return "test+unix:///default?socket=" + d.sock
}

// killGuests kills the QEMU processes the (stopped) daemon's QEMU driver
// recorded in its runtime dir: only ours, found by their pid files.
func (d *privateDaemon) killGuests() {
	if !d.qemu {
		return
	}
	files, _ := filepath.Glob(filepath.Join(d.dir, "run", "libvirt", "qemu", "run", "*.pid"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		var pid int
		if _, err := fmt.Sscan(string(b), &pid); err != nil || pid <= 1 {
			continue
		}
		if comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid)); err == nil && strings.HasPrefix(string(comm), "qemu") {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

func (d *privateDaemon) start() {
	d.t.Helper()
	home, run := filepath.Join(d.dir, "home"), filepath.Join(d.dir, "run")
	c := exec.Command("setpriv", "--reuid", fmt.Sprint(nobodyID), "--regid", fmt.Sprint(nobodyID), "--clear-groups",
		"env", "-i", "HOME="+home, "XDG_RUNTIME_DIR="+run, "XDG_CONFIG_HOME="+filepath.Join(home, ".config"),
		"XDG_CACHE_HOME="+filepath.Join(home, ".cache"), "PATH=/usr/sbin:/usr/bin:/sbin:/bin",
		"libvirtd", "--config", filepath.Join(d.dir, "libvirtd.conf"), "--pid-file", filepath.Join(run, "libvirtd.pid"))
	log, err := os.OpenFile(filepath.Join(d.dir, "libvirtd.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		d.t.Fatal(err)
	}
	defer log.Close()
	c.Stdout, c.Stderr = log, log
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := c.Start(); err != nil {
		d.t.Fatalf("starting a private libvirtd: %v", err)
	}
	d.cmd, d.exited = c, make(chan struct{})
	go func(exited chan struct{}) { _ = c.Wait(); close(exited) }(d.exited)
	deadline := time.Now().Add(30 * time.Second)
	for {
		conn, err := libvirt.NewConnect(d.URI())
		if err == nil {
			_, _ = conn.Close()
			return
		}
		select {
		case <-d.exited:
			b, _ := os.ReadFile(filepath.Join(d.dir, "libvirtd.log"))
			d.t.Fatalf("private libvirtd exited at start:\n%s", b)
		default:
		}
		if time.Now().After(deadline) {
			d.t.Fatalf("private libvirtd not answering on %s: %v", d.sock, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (d *privateDaemon) signal(sig syscall.Signal) {
	d.t.Helper()
	if err := d.cmd.Process.Signal(sig); err != nil {
		d.t.Fatalf("signal %v to libvirtd: %v", sig, err)
	}
}

// stop ends the daemon (also a frozen one) and waits for it.
func (d *privateDaemon) stop() {
	if d.cmd == nil {
		return
	}
	_ = d.cmd.Process.Signal(syscall.SIGCONT)
	_ = d.cmd.Process.Signal(syscall.SIGKILL)
	<-d.exited
	d.cmd = nil
}

// terminate stops the daemon gracefully (SIGTERM) and waits for it.
func (d *privateDaemon) terminate() {
	d.signal(syscall.SIGTERM)
	select {
	case <-d.exited:
	case <-time.After(30 * time.Second):
		d.t.Fatal("libvirtd did not exit on SIGTERM")
	}
	d.cmd = nil
}

// scriptProc is virsh or virtsh reading commands from a pipe.
type scriptProc struct {
	t         *testing.T
	cmd       *exec.Cmd
	in        io.WriteCloser
	out, errb lockedBuffer
}

// startScript starts bin with args, its stdin a pipe (send) and its output
// captured, in the C locale and with the environment the race detector
// needs; it is killed when the test ends.
func startScript(t *testing.T, bin string, args ...string) *scriptProc {
	t.Helper()
	p := &scriptProc{t: t, cmd: exec.Command(bin, args...)}
	p.cmd.Env = append(os.Environ(), "LC_ALL=C", "GORACE=atexit_sleep_ms=0")
	p.cmd.Stdout, p.cmd.Stderr = &p.out, &p.errb
	var err error
	if p.in, err = p.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.cmd.Process.Kill() })
	return p
}

// send writes one line to the program's stdin.
func (p *scriptProc) send(line string) {
	p.t.Helper()
	if _, err := io.WriteString(p.in, line+"\n"); err != nil {
		p.t.Fatalf("writing %q: %v", line, err)
	}
}

// finish ends the shell's input and returns its exit status.
func (p *scriptProc) finish() int {
	p.t.Helper()
	_ = p.in.Close()
	code, ok := waitExit(p.t, p.cmd, 30*time.Second)
	if !ok {
		p.t.Fatalf("shell did not exit at end of input; stderr:\n%s", p.errb.String())
	}
	return code
}

// waitExit waits up to limit for a started program to exit and returns its
// exit status; exited is false when it is still running.
func waitExit(t *testing.T, cmd *exec.Cmd, limit time.Duration) (code int, exited bool) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode(), true
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0, true
	case <-time.After(limit):
		return -1, false
	}
}

// TestLabGuestStartsAndWrites proves the harness itself: a guest starts on
// the real QEMU, a guest write lands on the right disk at the right offset,
// qemuIO tells a matching pattern from a wrong one, and the cleanup leaves
// neither domain nor files behind.
func TestLabGuestStartsAndWrites(t *testing.T) {
	var name, dir string
	t.Run("guest", func(t *testing.T) {
		g := newLabGuest(t, labGuestOpts{Prefix: "labself", Disks: 2, DiskMiB: 8, Start: true})
		name, dir = g.Name, g.Dir
		if !strings.HasPrefix(g.Name, "vt-labself-") || len(g.Disks) != 2 {
			t.Fatalf("guest %q with disks %q", g.Name, g.Disks)
		}
		if st := g.State(t); st != libvirt.DOMAIN_RUNNING {
			t.Fatalf("state after start = %d, want running", st)
		}
		g.GuestWrite(t, "vdb", 0xcd, "3M", "2M")
		// While QEMU holds the image, qemuIO must still be able to read it.
		qemuIO(t, g.Disks[1], "read -P 0xcd 3M 2M")
		if err := g.Dom.Destroy(); err != nil {
			t.Fatal(err)
		}
		if st := g.State(t); st != libvirt.DOMAIN_SHUTOFF {
			t.Fatalf("state after destroy = %d, want shut off", st)
		}
		qemuIO(t, g.Disks[1], "read -P 0xcd 3M 2M", "read -P 0 0 3M", "read -P 0 5M 3M")
		qemuIO(t, g.Disks[0], "read -P 0 0 8M") // the write went to vdb only
		if _, err := runQemuIO(g.Disks[1], "read -P 0xab 3M 2M"); err == nil {
			t.Fatal("qemu-io read with a wrong pattern succeeded")
		}
		if _, err := runQemuIO(g.Disks[1], "read -P 0xcd 0 1M"); err == nil {
			t.Fatal("qemu-io read of zeros with pattern 0xcd succeeded")
		}
	})
	t.Run("transient", func(t *testing.T) {
		g := newLabGuest(t, labGuestOpts{Prefix: "labself", Transient: true})
		if p, err := g.Dom.IsPersistent(); err != nil || p {
			t.Fatalf("transient guest persistent=%v err=%v", p, err)
		}
		if st := g.State(t); st != libvirt.DOMAIN_RUNNING {
			t.Fatalf("transient guest state = %d, want running", st)
		}
	})
	if name == "" {
		t.Fatal("guest subtest made no guest")
	}
	conn := labConn(t)
	if d, err := conn.LookupDomainByName(name); err == nil {
		_ = d.Free()
		t.Errorf("guest %s still exists after its test ended", name)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("guest dir %s still exists after its test ended (%v)", dir, err)
	}
	doms, err := conn.ListAllDomains(0)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range doms {
		if n, _ := d.GetName(); strings.HasPrefix(n, "vt-labself-") {
			t.Errorf("guest %s left behind", n)
		}
		_ = d.Free()
	}
}

// TestLabVirtshReachesLab runs the built virtsh binary and the real virsh
// side by side on the lab: both must print the same for the same commands,
// so a lab that virsh reaches is one virtsh reaches too.
func TestLabVirtshReachesLab(t *testing.T) {
	bin := virtshBinary(t)
	for _, args := range [][]string{{"uri"}, {"hostname"}, {"uri; hostname"}} {
		full := append([]string{"-c", labURI()}, args...)
		wErr, wCode := binaryMatchesVirsh(t, bin, full...)
		if wCode != 0 {
			t.Errorf("virsh %q failed on the lab: %s", full, wErr)
		}
	}
}
