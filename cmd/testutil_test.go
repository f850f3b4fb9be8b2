package cmd

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"libvirt.org/go/libvirt"

	"github.com/virtsh/virtsh/format"
	"github.com/virtsh/virtsh/shell"
)

// runMain runs virtsh in-process exactly as a user would from a shell, with
// stdin (not a terminal) and captured stdout/stderr.
func runMain(t *testing.T, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	code = Main(args, strings.NewReader(stdin), &out, &errb)
	return out.String(), errb.String(), code
}

var (
	buildOnce sync.Once
	builtBin  string
	buildErr  error
)

// virtshBinary builds the virtsh binary once per test process, for tests that
// must run it as a separate process (pty, signals, side by side with virsh).
func virtshBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "virtsh-bin-")
		if err != nil {
			buildErr = err
			return
		}
		builtBin = filepath.Join(dir, "virtsh")
		cmd := exec.Command("go", "build", "-o", builtBin, "..")
		cmd.Env = os.Environ()
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = &buildError{out: string(out), err: err}
		}
	})
	if buildErr != nil {
		t.Fatalf("building virtsh: %v", buildErr)
	}
	return builtBin
}

type buildError struct {
	out string
	err error
}

func (e *buildError) Error() string { return e.err.Error() + "\n" + e.out }

// runBinary runs a program with stdin and returns its output and exit code.
func runBinary(t *testing.T, stdin string, env []string, bin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Stdin = strings.NewReader(stdin)
	cmd.Env = append(append(os.Environ(), "LC_ALL=C", "GORACE=atexit_sleep_ms=0"), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code = 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("running %s: %v", bin, err)
	}
	return out.String(), errb.String(), code
}

// realVirsh is virsh 9.0 (Debian's libvirt-clients), what virtsh's output is
// compared with.
const realVirsh = "/usr/bin/virsh"

// nodeURI writes a test-driver node file holding xml into a temp dir of the
// test and returns its URI. Each connection opened on it starts from the
// file, so a test's changes stay private to the connection that made them.
func nodeURI(t *testing.T, xml string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "node.xml")
	if err := os.WriteFile(p, []byte(xml), 0o644); err != nil {
		t.Fatal(err)
	}
	return "test://" + p
}

// virshStderr runs the real virsh on uri with the command string cmds and
// returns what it printed on stderr.
func virshStderr(t *testing.T, uri, cmds string) string {
	t.Helper()
	c := exec.Command(realVirsh, "-q", "-c", uri, cmds)
	c.Env = append(os.Environ(), "LC_ALL=C")
	var errb strings.Builder
	c.Stderr = &errb
	_ = c.Run()
	return errb.String()
}

// binaryMatchesVirsh runs the real virsh and the built virtsh bin with the
// same arguments and reports any difference in stdout (CPU time masked),
// stderr or exit status. It returns virsh's stderr and exit status.
func binaryMatchesVirsh(t *testing.T, bin string, args ...string) (stderr string, code int) {
	t.Helper()
	vo, ve, vc := runBinary(t, "", nil, realVirsh, args...)
	vo, ve, vc = virshAs9x(t, args, vo, ve, vc)
	to, te, tc := runBinary(t, "", nil, bin, args...)
	if why := virsh9xOnly(t, args, ve, te); why != "" {
		t.Logf("%q: compared with virsh 9.x only (%s)", args, why)
		return ve, vc
	}
	if maskCPUTime(vo) != maskCPUTime(to) || ve != te || vc != tc {
		t.Errorf("%q:\nvirsh  (%q, %q, %d)\nvirtsh (%q, %q, %d)", args, vo, ve, vc, to, te, tc)
	}
	return ve, vc
}

// lockedBuffer is written by the pty reader and read by the test.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// cpuTimeLine is the one line two runs cannot share: the test driver's CPU
// time follows the wall clock.
var cpuTimeLine = regexp.MustCompile(`(?m)^CPU time:       [0-9.]+s$`)

func maskCPUTime(s string) string { return cpuTimeLine.ReplaceAllString(s, "CPU time:       X") }

// testShell is one virtsh session run in-process the way Main runs it, kept
// open so the test can ask libvirt, over the session's own connection, what
// the commands left behind. (A second connection to a custom test:///file
// would see a fresh copy of the file, not the session's changes.)
type testShell struct {
	t      *testing.T
	sess   *shell.Session
	runner *shell.Runner
	in     *strings.Reader
	out    bytes.Buffer
	errb   bytes.Buffer
}

func newTestShell(t *testing.T, uri string) *testShell {
	t.Helper()
	ts := &testShell{t: t, in: strings.NewReader("")}
	io := &format.IO{In: ts.in, Out: &ts.out, Err: &ts.errb, Quiet: true, Output: "table"}
	ts.sess = shell.NewSession(io, shell.Options{URI: uri})
	ts.runner = NewRunner(ts.sess)
	t.Cleanup(ts.sess.Close)
	return ts
}

// run runs a command string (quiet) and returns stdout, stderr and whether
// the last command succeeded.
func (ts *testShell) run(line string) (string, string, bool) {
	ts.out.Reset()
	ts.errb.Reset()
	res := ts.runner.RunString(context.Background(), line)
	return ts.out.String(), ts.errb.String(), res.OK
}

func (ts *testShell) mustRun(line string) string {
	ts.t.Helper()
	out, errS, ok := ts.run(line)
	if !ok || errS != "" {
		ts.t.Fatalf("%q failed: %q", line, errS)
	}
	return out
}

func (ts *testShell) conn() *libvirt.Connect {
	ts.t.Helper()
	c, err := ts.sess.Conn()
	if err != nil {
		ts.t.Fatal(err)
	}
	return c
}

// readTestdata is a file of testdata/: node and domain XML the tests define.
func readTestdata(name string) string {
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		panic(err)
	}
	return string(b)
}
