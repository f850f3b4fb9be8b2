//go:build lab

package cmd

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
	"libvirt.org/go/libvirt"
)

// save, restore, managedsave and their image commands on real QEMU, side by
// side with virsh 9.0 where the two can run on the same guest; Ctrl-C
// during a save; bad input.

// labRun is one run of a program on the lab: -c LAB, then args.
type labRun struct {
	out, err string
	code     int
}

// A save on real QEMU lasts long enough for virsh never to hang (see
// runUnhung); should it, the test fails instead of waiting for ever.
func runOnLab(t *testing.T, bin string, args ...string) labRun {
	t.Helper()
	o, e, c, ok := runUnhung(t, time.Minute, bin, append([]string{"-c", labURI()}, args...)...)
	if !ok {
		t.Fatalf("%s %q did not end", bin, args)
	}
	return labRun{o, progressAs9x(e), c}
}

// matchVirshOnLab is binaryMatchesVirsh for commands that fail at once,
// where virsh 9.0 may hang (runUnhung) and is then run again. It returns
// virsh's stderr and exit status.
func matchVirshOnLab(t *testing.T, bin, line string) (string, int) {
	t.Helper()
	args := []string{"-c", labURI(), line}
	for try := 1; ; try++ {
		vo, ve, vc, ok := runUnhung(t, 10*time.Second, realVirsh, args...)
		if !ok {
			if try == 3 {
				t.Fatalf("virsh %q hung %d times", args, try)
			}
			continue
		}
		to, te, tc := runBinary(t, "", nil, bin, args...)
		if vo != to || ve != te || vc != tc {
			t.Errorf("%q:\nvirsh  (%q, %q, %d)\nvirtsh (%q, %q, %d)", args, vo, ve, vc, to, te, tc)
		}
		return ve, vc
	}
}

// saveProgress is what a save or managedsave --verbose prints on stderr off
// a terminal: maybe some "\rSave: [ 42 %]", then "\rSave: [100 %]".
func saveProgress(label string) *regexp.Regexp {
	return regexp.MustCompile(`^(\r` + label + `: \[[ 0-9]{3} %\])*\r` + label + `: \[100 %\]$`)
}

// wantRun fails the test unless a run printed out on stdout, nothing but
// progress (progress non-nil) or nothing on stderr, and exited 0.
func wantRun(t *testing.T, what string, r labRun, out string, progress *regexp.Regexp) {
	t.Helper()
	errOK := r.err == ""
	if progress != nil {
		errOK = progress.MatchString(r.err)
	}
	if r.out != out || !errOK || r.code != 0 {
		t.Fatalf("%s: (%q, %q, %d), want stdout %q", what, r.out, r.err, r.code, out)
	}
}

func (g *labGuest) wantState(t *testing.T, st libvirt.DomainState, reason int) {
	t.Helper()
	got, r, err := g.Dom.GetState()
	if err != nil || got != st || r != reason {
		t.Fatalf("%s is in state %d reason %d (%v), want %d reason %d", g.Name, got, r, err, st, reason)
	}
}

func wantFile(t *testing.T, path string, exists bool) {
	t.Helper()
	if _, err := os.Stat(path); (err == nil) != exists {
		t.Fatalf("%s: exists %v, want %v", path, err == nil, exists)
	}
}

// TestLabSaveRestore: a disk pattern written before the guest starts and one
// the running guest writes survive save and restore; the guest comes back
// running or paused as the flags say; save, restore and save-image-dumpxml
// print what virsh prints.
func TestLabSaveRestore(t *testing.T) {
	g := newLabGuest(t, labGuestOpts{Prefix: "save", DiskMiB: 8})
	qemuIO(t, g.Disks[0], "write -P 0x5a 0 1M")
	if err := g.Dom.Create(); err != nil {
		t.Fatal(err)
	}
	g.GuestWrite(t, "vda", 0xa5, "2M", "1M")
	bin := virtshBinary(t)
	vimg, img := filepath.Join(g.Dir, "virsh.save"), filepath.Join(g.Dir, "vm.save")
	running := func() { g.wantState(t, libvirt.DOMAIN_RUNNING, int(libvirt.DOMAIN_RUNNING_RESTORED)) }

	// virsh's save and restore first, for the output to compare with.
	vsave := runOnLab(t, realVirsh, "save", g.Name, vimg, "--verbose")
	vrestore := runOnLab(t, realVirsh, "restore", vimg)
	wantRun(t, "virsh save", vsave, "\nDomain '"+g.Name+"' saved to "+vimg+"\n\n", saveProgress("Save"))
	wantRun(t, "virsh restore", vrestore, "Domain restored from "+vimg+"\n\n", nil)
	running()

	save := runOnLab(t, bin, "save", g.Name, img, "--verbose")
	wantRun(t, "save --verbose", save, strings.ReplaceAll(vsave.out, vimg, img), saveProgress("Save"))
	g.wantState(t, libvirt.DOMAIN_SHUTOFF, int(libvirt.DOMAIN_SHUTOFF_SAVED))
	wantFile(t, img, true)
	for _, c := range []string{"", " --security-info", " --xpath //disk/source/@file", " --xpath //name --wrap", " --xpath //nosuch"} {
		binaryMatchesVirsh(t, bin, "-c", labURI(), "save-image-dumpxml "+img+c)
	}
	if out := mustVirtshLab(t, "-q", "save-image-dumpxml", img, "--xpath", "//name", "-o", "json"); out != "{\n  \"matches\": [\n    \"<name>"+g.Name+"</name>\"\n  ]\n}\n" {
		t.Fatalf("save-image-dumpxml -o json: %q", out)
	}
	wantRun(t, "restore", runOnLab(t, bin, "restore", img), strings.ReplaceAll(vrestore.out, vimg, img), nil)
	running()

	// The state a restored guest is in: what save recorded (--paused,
	// --running), unless restore says otherwise.
	paused := func() {
		t.Helper()
		if st, _, err := g.Dom.GetState(); err != nil || st != libvirt.DOMAIN_PAUSED {
			t.Fatalf("%s is in state %d (%v), want paused", g.Name, st, err)
		}
	}
	mustVirtshLab(t, "save", g.Name, img, "--paused")
	mustVirtshLab(t, "restore", img)
	paused()
	mustVirtshLab(t, "destroy", g.Name)
	mustVirtshLab(t, "restore", img, "--running", "--bypass-cache")
	running()
	mustVirtshLab(t, "save", g.Name, img, "--bypass-cache")
	mustVirtshLab(t, "restore", img, "--paused")
	paused()
	mustVirtshLab(t, "save", g.Name, img, "--running") // saved while paused, restored running
	mustVirtshLab(t, "restore", img)
	running()

	// --xml: the definition the image holds, then the one it restores with.
	upd := func(desc string) string {
		x, err := g.Dom.GetXMLDesc(libvirt.DOMAIN_XML_INACTIVE | libvirt.DOMAIN_XML_SECURE)
		if err != nil {
			t.Fatal(err)
		}
		x = strings.Replace(x, "</name>", "</name>\n  <description>"+desc+"</description>", 1)
		p := filepath.Join(g.Dir, desc+".xml")
		if err := os.WriteFile(p, []byte(x), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	saved, restored := upd("saved"), upd("restored")
	mustVirtshLab(t, "save", g.Name, img, "--xml", saved)
	if out := mustVirtshLab(t, "-q", "save-image-dumpxml", img, "--xpath", "//description"); out != "<description>saved</description>\n" {
		t.Fatalf("image of save --xml: %q", out)
	}
	mustVirtshLab(t, "restore", img, restored) // --xml filled by a bare word, as in virsh 9.0
	running()
	if out := mustVirtshLab(t, "-q", "dumpxml", g.Name, "--xpath", "//description"); out != "<description>restored</description>\n" {
		t.Fatalf("after restore --xml: %q", out)
	}

	// The data: both patterns are on the disk.
	stopGuest(t, g)
	qemuIO(t, g.Disks[0], "read -P 0x5a 0 1M", "read -P 0xa5 2M 1M")
}

// TestLabManagedSave: managedsave, then start restores the guest; dominfo
// says "Managed save: yes" in between and managedsave-dumpxml prints what
// virsh prints; managedsave-remove removes the image or says there is none.
func TestLabManagedSave(t *testing.T) {
	g := newLabGuest(t, labGuestOpts{Prefix: "msave", DiskMiB: 8})
	qemuIO(t, g.Disks[0], "write -P 0x3c 1M 1M")
	if err := g.Dom.Create(); err != nil {
		t.Fatal(err)
	}
	bin := virtshBinary(t)
	has := func(want bool) {
		t.Helper()
		if got, err := g.Dom.HasManagedSaveImage(0); err != nil || got != want {
			t.Fatalf("managed save image: %v (%v), want %v", got, err, want)
		}
	}

	vsave := runOnLab(t, realVirsh, "managedsave", g.Name, "--verbose")
	wantRun(t, "virsh managedsave", vsave, "\nDomain '"+g.Name+"' state saved by libvirt\n\n", saveProgress("Managedsave"))
	mustVirtshLab(t, "start", g.Name)
	g.wantState(t, libvirt.DOMAIN_RUNNING, int(libvirt.DOMAIN_RUNNING_RESTORED))

	wantRun(t, "managedsave --verbose", runOnLab(t, bin, "managedsave", g.Name, "--verbose"), vsave.out, saveProgress("Managedsave"))
	g.wantState(t, libvirt.DOMAIN_SHUTOFF, int(libvirt.DOMAIN_SHUTOFF_SAVED))
	has(true)
	if out := mustVirtshLab(t, "dominfo", g.Name); !strings.Contains(out, "\nManaged save:   yes\n") {
		t.Fatalf("dominfo after managedsave:\n%s", out)
	}
	for _, c := range []string{"dominfo ", "domstate --reason ", "managedsave-dumpxml ", "managedsave-dumpxml --security-info ",
		"managedsave-dumpxml --xpath //disk/source/@file ", "managedsave-dumpxml --wrap --xpath //name "} {
		binaryMatchesVirsh(t, bin, "-c", labURI(), c+g.Name)
	}
	if out := mustVirtshLab(t, "-q", "list", "--all", "--managed-save", "--name", "--with-managed-save"); !strings.Contains("\n"+out, "\n"+g.Name+"\n") {
		t.Fatalf("list --with-managed-save: %q", out)
	}
	if out := mustVirtshLab(t, "start", g.Name); out != "Domain '"+g.Name+"' started\n\n" {
		t.Fatalf("start: %q", out)
	}
	g.wantState(t, libvirt.DOMAIN_RUNNING, int(libvirt.DOMAIN_RUNNING_RESTORED))
	has(false)
	if out := mustVirtshLab(t, "dominfo", g.Name); !strings.Contains(out, "\nManaged save:   no\n") {
		t.Fatalf("dominfo after start:\n%s", out)
	}

	// managedsave-remove, virsh then virtsh: the same messages.
	removed := "Removed managedsave image for domain '" + g.Name + "'\n"
	skipped := "Domain '" + g.Name + "' has no manage save image; removal skipped\n"
	for _, b := range []string{realVirsh, bin} {
		mustVirtshLab(t, "managedsave", g.Name)
		wantRun(t, b+" managedsave-remove", runOnLab(t, b, "managedsave-remove", g.Name), removed, nil)
		has(false)
		g.wantState(t, libvirt.DOMAIN_SHUTOFF, int(libvirt.DOMAIN_SHUTOFF_SAVED))
		wantRun(t, b+" managedsave-remove again", runOnLab(t, b, "managedsave-remove", g.Name), skipped, nil)
		mustVirtshLab(t, "start", g.Name) // a fresh boot now
		g.wantState(t, libvirt.DOMAIN_RUNNING, int(libvirt.DOMAIN_RUNNING_BOOTED))
	}
	binaryMatchesVirsh(t, bin, "-c", labURI(), "managedsave-dumpxml "+g.Name)

	// --paused: the next start leaves the guest paused.
	mustVirtshLab(t, "managedsave", g.Name, "--paused", "--bypass-cache")
	mustVirtshLab(t, "start", g.Name)
	if st, _, err := g.Dom.GetState(); err != nil || st != libvirt.DOMAIN_PAUSED {
		t.Fatalf("start after managedsave --paused: state %d (%v)", st, err)
	}
	stopGuest(t, g)
	qemuIO(t, g.Disks[0], "read -P 0x3c 1M 1M")
}

// TestLabSaveBadInput: a guest that is not running, one that does not exist,
// an image that is missing or no image, a directory that does not exist, an
// unreadable --xml: virsh's messages and exit status, and nothing changes —
// the running guest keeps running, unpaused, and no file is left.
func TestLabSaveBadInput(t *testing.T) {
	on := newLabGuest(t, labGuestOpts{Prefix: "savebad", DiskMiB: 8, Start: true})
	off := newLabGuest(t, labGuestOpts{Prefix: "savebadoff", DiskMiB: 8})
	bin := virtshBinary(t)
	img := filepath.Join(on.Dir, "x.save")
	plain := filepath.Join(on.Dir, "plain.xml")
	if err := os.WriteFile(plain, []byte("<domain/>\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(on.Dir, "missing")
	for _, c := range []string{
		"save " + off.Name + " " + img, "save vt-nosuch-guest " + img, "save " + on.Name + " " + filepath.Join(missing, "x.save"),
		"save " + on.Name + " " + img + " --xml " + missing, "save " + on.Name + " " + img + " --xml " + plain,
		"save " + on.Name + " " + img + " --running --paused", "save " + off.Name + " " + img + " --verbose",
		"managedsave " + off.Name, "managedsave vt-nosuch-guest", "managedsave " + on.Name + " --running --paused",
		"managedsave-remove " + off.Name, "managedsave-remove vt-nosuch-guest", "managedsave-dumpxml " + off.Name,
		"managedsave-dumpxml " + on.Name, "restore " + missing, "restore " + plain, "restore " + on.Dir,
		"restore " + missing + " --xml " + plain, "save-image-dumpxml " + missing, "save-image-dumpxml " + plain,
	} {
		stderr, code := matchVirshOnLab(t, bin, c)
		if !strings.HasPrefix(c, "managedsave-remove "+off.Name) && (code != 1 || !strings.HasPrefix(stderr, "error: ")) {
			t.Errorf("%s: virsh exits %d with %q: not bad input", c, code, stderr)
		}
		// A save that fails after pausing the guest resumes it ("save
		// canceled"): running it must be, whatever the reason.
		if st, _, err := on.Dom.GetState(); err != nil || st != libvirt.DOMAIN_RUNNING {
			t.Fatalf("%s: %s is in state %d (%v), want running", c, on.Name, st, err)
		}
		off.wantState(t, libvirt.DOMAIN_SHUTOFF, int(libvirt.DOMAIN_SHUTOFF_UNKNOWN))
		wantFile(t, img, false)
		for _, g := range []*labGuest{on, off} {
			if has, err := g.Dom.HasManagedSaveImage(0); err != nil || has {
				t.Fatalf("%s: %s has a managed save image (%v)", c, g.Name, err)
			}
		}
	}
}

// throttleSaves keeps the guest's outgoing migration stream, which is what a
// save writes, at 8 KiB/s until the returned function is called, so that a
// save lasts long enough to be interrupted. libvirt lifts the limit when
// the save job starts, so the limit is set again and again (QMP through
// the monitor, a query job that libvirt allows during the save).
func throttleSaves(g *labGuest) (stop func()) {
	done, quit := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-quit:
				return
			default:
			}
			_, _ = g.Dom.QemuMonitorCommand(`{"execute":"migrate-set-parameters","arguments":{"max-bandwidth":8192}}`,
				libvirt.DOMAIN_QEMU_MONITOR_COMMAND_DEFAULT)
			time.Sleep(2 * time.Millisecond)
		}
	}()
	return func() { close(quit); <-done }
}

// saveThrottled: a save job has been under way for half a second, which an
// unthrottled save of the test guests never is: the throttle holds, and
// the job will run for minutes.
func saveThrottled(g *labGuest) bool {
	info, err := g.Dom.GetJobInfo()
	return err == nil && info.Type != libvirt.DOMAIN_JOB_NONE && info.DataTotal > 0 && info.TimeElapsed >= 500
}

// progressBelow100 is a progress line short of the end: virsh's text
// ("Save: [ 42 %]", "Managedsave: [ 42 %]") or virtsh's bar ("Save  42% |").
var progressBelow100 = regexp.MustCompile(`[Ss]ave(: \[ *| +)\d{1,2} ?%`)

// startRecorded starts cmd (LC_ALL=C, no race-detector exit pause) with its
// stdout and stderr recorded; exited delivers its exit status. It is killed
// at the end of the test if it still runs.
func startRecorded(t *testing.T, cmd *exec.Cmd) (so, se *lockedBuffer, exited <-chan int) {
	t.Helper()
	cmd.Env = append(os.Environ(), "LC_ALL=C", "GORACE=atexit_sleep_ms=0")
	so, se = &lockedBuffer{}, &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = so, se
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan int, 1)
	go func() { done <- exitOf(cmd.Wait()) }()
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	return so, se, done
}

// exitOf is a finished program's exit status.
func exitOf(err error) int {
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}

// interruptSave runs virtsh with args (a save or managedsave of g) while the
// guest's saves are throttled, and sends it SIGINT once the job is under way
// — once its progress shows, with --verbose. When the save won the race
// (it ended before the throttle held), undo brings the guest back and it is
// tried again. It returns what virtsh printed and its exit status.
func interruptSave(t *testing.T, g *labGuest, undo func(), args ...string) (stdout, stderr string, code int) {
	t.Helper()
	verbose := strings.Contains(strings.Join(args, " "), "--verbose")
	for try := 1; try <= 3; try++ {
		stdout, stderr, code, ok := interruptSaveOnce(t, g, verbose, args)
		if ok {
			return stdout, stderr, code
		}
		t.Logf("try %d: the save ended before it was throttled", try)
		undo()
	}
	t.Fatalf("%q: the save was never slow enough to interrupt", args)
	return "", "", 0
}

// interruptSaveOnce is one try of interruptSave; ok is false when the save
// completed before it could be interrupted.
func interruptSaveOnce(t *testing.T, g *labGuest, verbose bool, args []string) (stdout, stderr string, code int, ok bool) {
	t.Helper()
	stop := throttleSaves(g)
	defer stop()
	cmd := exec.Command(virtshBinary(t), append([]string{"-c", labURI()}, args...)...)
	so, se, exited := startRecorded(t, cmd)
	under := false
	for deadline := time.Now().Add(20 * time.Second); !under && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		select {
		case c := <-exited:
			if c != 0 {
				t.Fatalf("%q failed before it could be interrupted: %q %q", args, so.String(), se.String())
			}
			return "", "", 0, false
		default:
		}
		under = saveThrottled(g) && (!verbose || progressBelow100.MatchString(se.String()))
	}
	if !under {
		t.Fatalf("%q: no save job under way after 20 s: %q %q", args, so.String(), se.String())
	}
	_ = cmd.Process.Signal(syscall.SIGINT)
	select {
	case code = <-exited:
	case <-time.After(30 * time.Second):
		t.Fatalf("%q did not end after SIGINT: %q %q", args, so.String(), se.String())
	}
	return so.String(), se.String(), code, true
}

// TestLabSaveCtrlC: SIGINT during save (with and without --verbose) and
// managedsave of a running guest aborts the save job as virsh's Ctrl-C
// does: virsh's messages, exit 1, the guest running, no file and no managed
// save image left. Through a terminal, virsh 9.0 and virtsh print the same
// errors for the same Ctrl-C.
func TestLabSaveCtrlC(t *testing.T) {
	// 512 MiB, untouched, is quick to save but long enough to throttle.
	g := newLabGuest(t, labGuestOpts{Prefix: "savesig", DiskMiB: 8, MemMiB: 512, Start: true})
	img := filepath.Join(g.Dir, "sig.save")
	undoSave := func() {
		if err := g.Conn.DomainRestore(img); err != nil {
			t.Fatal(err)
		}
		_ = os.Remove(img)
	}
	undoManaged := func() {
		if err := g.Dom.Create(); err != nil {
			t.Fatal(err)
		}
	}
	aborted := "error: operation aborted: job 'domain save' canceled by client\n"
	for _, c := range []struct {
		args     []string
		undo     func()
		label    string
		failLine string
	}{
		{[]string{"save", g.Name, img, "--verbose"}, undoSave, "Save", "error: Failed to save domain '" + g.Name + "' to " + img + "\n"},
		{[]string{"save", g.Name, img}, undoSave, "", "error: Failed to save domain '" + g.Name + "' to " + img + "\n"},
		{[]string{"managedsave", g.Name, "--verbose"}, undoManaged, "Managedsave", "error: Failed to save domain '" + g.Name + "' state\n"},
	} {
		out, errS, code := interruptSave(t, g, c.undo, c.args...)
		progress := regexp.MustCompile(`^(\r` + c.label + `: \[[ 0-9]{3} %\])+$`)
		head, ok := strings.CutSuffix(errS, c.failLine+aborted)
		if code != 1 || out != "\n" || !ok || (c.label == "" && head != "") || (c.label != "" && !progress.MatchString(head)) {
			t.Fatalf("%q after SIGINT: exit %d stdout %q stderr %q", c.args, code, out, errS)
		}
		g.wantState(t, libvirt.DOMAIN_RUNNING, int(libvirt.DOMAIN_RUNNING_SAVE_CANCELED))
		wantFile(t, img, false)
		if has, err := g.Dom.HasManagedSaveImage(0); err != nil || has {
			t.Fatalf("%q left a managed save image (%v)", c.args, err)
		}
	}

	// The same Ctrl-C typed on a terminal: virsh reads it from the terminal
	// and aborts; virtsh gets the SIGINT it makes. Both say the same.
	var errs [2][]string
	for i, bin := range []string{realVirsh, virtshBinary(t)} {
		errs[i] = ctrlCOnTerminal(t, g, bin, undoSave, "save", g.Name, img, "--verbose")
		g.wantState(t, libvirt.DOMAIN_RUNNING, int(libvirt.DOMAIN_RUNNING_SAVE_CANCELED))
		wantFile(t, img, false)
	}
	want := []string{"error: Failed to save domain '" + g.Name + "' to " + img, strings.TrimSuffix(aborted, "\n")}
	if fmt.Sprint(errs[0]) != fmt.Sprint(want) || fmt.Sprint(errs[1]) != fmt.Sprint(want) {
		t.Fatalf("Ctrl-C on a terminal:\nvirsh  %q\nvirtsh %q\nwant   %q", errs[0], errs[1], want)
	}
}

// ctrlCOnTerminal runs bin -c LAB args on a pseudo-terminal while g's saves
// are throttled, types Ctrl-C once the save's progress shows (virsh's
// "Save: [ 5 %]", virtsh's bar "Save   5% |"), and returns the "error: ..."
// messages it printed after it exited 1. A save that ended before the
// throttle held is undone and tried again.
func ctrlCOnTerminal(t *testing.T, g *labGuest, bin string, undo func(), args ...string) []string {
	t.Helper()
	for try := 1; try <= 3; try++ {
		if errs, ok := ctrlCOnTerminalOnce(t, g, bin, args); ok {
			return errs
		}
		t.Logf("try %d: the save ended before it was throttled", try)
		undo()
	}
	t.Fatalf("%s %q: the save was never slow enough to interrupt", bin, args)
	return nil
}

var errorMessage = regexp.MustCompile(`error: [^\n]*`)

func ctrlCOnTerminalOnce(t *testing.T, g *labGuest, bin string, args []string) (errs []string, ok bool) {
	t.Helper()
	stop := throttleSaves(g)
	defer stop()
	c := exec.Command(bin, append([]string{"-c", labURI()}, args...)...)
	c.Env = append(os.Environ(), "LC_ALL=C", "TERM=xterm", "GORACE=atexit_sleep_ms=0")
	ptmx, err := pty.StartWithSize(c, &pty.Winsize{Rows: 24, Cols: 100})
	if err != nil {
		t.Fatal(err)
	}
	s := watchPTY(t, c, ptmx)
	shown := false
	for deadline := time.Now().Add(20 * time.Second); !shown && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		select {
		case <-s.done:
			if s.err != nil {
				t.Fatalf("%s %q failed before Ctrl-C: %q", bin, args, s.screen())
			}
			return nil, false
		default:
		}
		shown = saveThrottled(g) && progressBelow100.MatchString(s.screen())
	}
	if !shown {
		t.Fatalf("%s %q: no progress after 20 s: %q", bin, args, s.screen())
	}
	s.send("\x03")
	if code := s.wait(); code != 1 {
		t.Fatalf("%s %q: exit %d after Ctrl-C: %q", bin, args, code, s.screen())
	}
	return errorMessage.FindAllString(s.screen(), -1), true
}

// TestLabSaveCtrlCInREPL: Ctrl-C typed at the interactive shell during a
// save aborts the save, prints virsh's errors and gives the prompt back; the
// shell goes on, the guest runs, no file is left.
func TestLabSaveCtrlCInREPL(t *testing.T) {
	g := newLabGuest(t, labGuestOpts{Prefix: "savepty", DiskMiB: 8, MemMiB: 512, Start: true})
	img := filepath.Join(g.Dir, "repl.save")
	s := startPTY(t, t.TempDir(), nil, "-c", labURI())
	s.expect(ptyBanner + "virtsh # ")
	for try := 1; ; try++ {
		stop := throttleSaves(g)
		s.send("save " + g.Name + " " + img + " --verbose\r")
		shown := false
		for deadline := time.Now().Add(20 * time.Second); !shown && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			if strings.Contains(s.screen()[s.mark:], "saved to") {
				break
			}
			shown = saveThrottled(g) && progressBelow100.MatchString(s.screen()[s.mark:])
		}
		if shown {
			s.send("\x03")
			s.expect("error: Failed to save domain '" + g.Name + "' to " + img + "\n")
			s.expect("error: operation aborted: job 'domain save' canceled by client\n")
			s.expect("virtsh # ")
			stop()
			break
		}
		stop()
		if try == 3 {
			t.Fatalf("the save was never slow enough to interrupt: %q", s.screen()[s.mark:])
		}
		s.expect("virtsh # ")
		t.Logf("try %d: the save ended before it was throttled", try)
		if err := g.Conn.DomainRestore(img); err != nil {
			t.Fatal(err)
		}
		_ = os.Remove(img)
	}
	g.wantState(t, libvirt.DOMAIN_RUNNING, int(libvirt.DOMAIN_RUNNING_SAVE_CANCELED))
	wantFile(t, img, false)
	s.send("domstate " + g.Name + " --reason\r")
	s.expect("running (save canceled)\n")
	s.send("quit\r")
	if code := s.wait(); code != 0 {
		t.Fatalf("shell exit %d", code)
	}
}
