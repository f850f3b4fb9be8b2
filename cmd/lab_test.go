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
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

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
	Start     bool   // start it after defining
	Transient bool   // create (transient) instead of define; a transient guest always runs
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
		Memory: &libvirtxml.DomainMemory{Value: 64, Unit: "MiB"},
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
		wOut, wErr, wCode := runBinary(t, "", nil, "virsh", full...)
		gOut, gErr, gCode := runBinary(t, "", nil, bin, full...)
		if gOut != wOut || gErr != wErr || gCode != wCode {
			t.Errorf("virtsh %q = (%q, %q, %d), virsh gives (%q, %q, %d)", full, gOut, gErr, gCode, wOut, wErr, wCode)
		}
		if wCode != 0 {
			t.Errorf("virsh %q failed on the lab: %s", full, wErr)
		}
	}
}
