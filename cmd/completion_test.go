package cmd

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"
)

// TestHelperProcess is not a test: it is virtsh's main for the shell tests,
// run as `cmd.test -test.run=^TestHelperProcess$ -- ARGS`.
func TestHelperProcess(t *testing.T) {
	if os.Getenv("VIRTSH_HELPER_PROCESS") != "1" {
		return
	}
	args := os.Args
	for i, a := range args {
		if a == "--" {
			args = args[i+1:]
			break
		}
	}
	os.Exit(Main(args, os.Stdin, os.Stdout, os.Stderr))
}

// helperBin puts a `virtsh` wrapper around the test binary in a directory
// and returns the directory (for PATH).
func helperBin(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	script := fmt.Sprintf("#!/bin/sh\nVIRTSH_HELPER_PROCESS=1 GORACE=atexit_sleep_ms=0 exec %q -test.run='^TestHelperProcess$' -- \"$@\"\n", os.Args[0])
	if err := os.WriteFile(filepath.Join(dir, "virtsh"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// stateNode writes a test-driver node with running, paused and shut-off domains.
func stateNode(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("<node>\n")
	for _, d := range [][2]string{{"vm-run", "1"}, {"vm-run2", "1"}, {"vm-paused", "3"}, {"vm-off", "5"}} {
		fmt.Fprintf(&b, `<domain type='test' xmlns:test='http://libvirt.org/schemas/domain/test/1.0'><name>%s</name><memory>8192</memory><os><type>hvm</type></os><test:runstate>%s</test:runstate></domain>
`, d[0], d[1])
	}
	b.WriteString("</node>\n")
	return nodeURI(t, b.String())
}

func TestCompleteProtocol(t *testing.T) {
	uri := stateNode(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"__complete", "-c", uri, "start", ""}, "vm-off\tshut off\n:4\n"},
		{[]string{"__complete", "-c", uri, "shutdown", ""}, "vm-paused\tpaused\nvm-run\trunning\nvm-run2\trunning\n:4\n"},
		{[]string{"__complete", "-c", uri, "suspend", "vm"}, "vm-run\trunning\nvm-run2\trunning\n:4\n"},
		{[]string{"__complete", "-c", uri, "resume", ""}, "vm-paused\tpaused\n:4\n"},
		{[]string{"__completeNoDesc", "--connect=" + uri, "-r", "domstate", "vm-r"}, "vm-run\nvm-run2\n:4\n"},
		{[]string{"__complete", "-c", uri, "domstate", "--domain", "vm-o"}, "vm-off\tshut off\n:4\n"},
		{[]string{"__completeNoDesc", "-c", uri, "domstate", "--dom"}, "--domain\n:4\n"},
		{[]string{"__completeNoDesc", "-c", uri, "domstate", "vm-off", "--dom"}, ":4\n"},
		{[]string{"__completeNoDesc", "ech"}, "echo\n:4\n"},
		{[]string{"__completeNoDesc", "echo", "--xm", "--s"}, "--shell\n--split\n--string\n:4\n"},
		{[]string{"__completeNoDesc", "--con"}, "--connect\n:4\n"},
		{[]string{"__completeNoDesc", "-o", ""}, "table\njson\nyaml\n:4\n"},
		{[]string{"__completeNoDesc", "--output=y"}, "--output=yaml\n:4\n"},
		{[]string{"__completeNoDesc", "-c", "test:///def"}, "test:///default\n:4\n"},
		{[]string{"__completeNoDesc", "completion", ""}, "bash\nzsh\nfish\npowershell\n:4\n"},
		{[]string{"__completeNoDesc", "help", "hos"}, "host\nhost-list\nhostname\nhosts\n:4\n"},
		{[]string{"__completeNoDesc", "cd", "/u"}, ":16\n"},
		{[]string{"__completeNoDesc", "-l", ""}, ":0\n"},
	} {
		out, errOut, code := runMain(t, "", tc.args...)
		if out != tc.want || errOut != "" || code != 0 {
			t.Errorf("virtsh %q:\nstdout %q\nstderr %q code %d\nwant   %q", tc.args, out, errOut, code, tc.want)
		}
	}
	// Global option names, as virsh's usage lists them.
	out, _, _ := runMain(t, "", "__completeNoDesc", "-")
	if !strings.HasPrefix(out, "--connect\n--debug\n") || !strings.Contains(out, "\n--readonly\n") || !strings.Contains(out, "\n--version\n-V\n--output\n--hosts\n--host-timeout\n:4\n") {
		t.Errorf("global options: %q", out)
	}
}

// A host that accepts the connection and never answers: completion returns
// after its timeout with no candidates and prints nothing else.
func TestCompleteUnreachableHost(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "hang.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close() // held open, never answered
		}
	}()
	t.Setenv("VIRTSH_COMPLETION_TIMEOUT", "300ms")
	start := time.Now()
	out, errOut, code := runMain(t, "", "__complete", "-c", "qemu+unix:///system?socket="+sock, "start", "vm")
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("completion took %v", d)
	}
	if out != ":4\n" || errOut != "" || code != 0 {
		t.Errorf("stdout %q stderr %q code %d", out, errOut, code)
	}
}

func runShell(t *testing.T, path string, shellArgs ...string) string {
	t.Helper()
	c := exec.Command(shellArgs[0], shellArgs[1:]...)
	c.Env = append(os.Environ(), "PATH="+path+":"+os.Getenv("PATH"), "HOME="+t.TempDir(), "XDG_CONFIG_HOME="+t.TempDir(), "XDG_DATA_HOME="+t.TempDir())
	var so, se bytes.Buffer
	c.Stdout, c.Stderr = &so, &se
	if err := c.Run(); err != nil {
		t.Fatalf("%s: %v\n%s\n%s", shellArgs[0], err, so.String(), se.String())
	}
	return so.String()
}

// The generated bash script, in a real bash with bash-completion loaded:
// COMP_WORDS/COMP_CWORD in, COMPREPLY out.
func TestBashCompletionScript(t *testing.T) {
	bin := helperBin(t)
	uri := stateNode(t)
	script := `
source /usr/share/bash-completion/bash_completion
source <(virtsh completion bash)
compopt() { :; }
try() {
  COMP_WORDS=("$@"); COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))
  COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}; COMP_TYPE=9; COMPREPLY=()
  __start_virtsh virtsh "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
  echo "[$*] => $(printf '%s|' "${COMPREPLY[@]}")"
}
try virtsh -c "$URI" start ''
try virtsh -c "$URI" resume vm
try virtsh -c "$URI" shutdown vm-r
try virtsh ech
try virtsh echo --sh
try virtsh -c "$URI" domstate --dom
`
	out := runShell(t, bin, "bash", "-c", "URI="+uri+"\n"+script)
	want := "[virtsh -c " + uri + " start ] => vm-off|\n" +
		"[virtsh -c " + uri + " resume vm] => vm-paused|\n" +
		"[virtsh -c " + uri + " shutdown vm-r] => vm-run|vm-run2|\n" +
		"[virtsh ech] => echo|\n" +
		"[virtsh echo --sh] => --shell|\n" +
		"[virtsh -c " + uri + " domstate --dom] => --domain|\n"
	if out != want {
		t.Errorf("bash:\n%s\nwant:\n%s", out, want)
	}
}

// zsh: the generated _virtsh function with zsh's completion builtins
// replaced by functions that print what they are given.
func TestZshCompletionScript(t *testing.T) {
	bin := helperBin(t)
	uri := stateNode(t)
	script := `
compdef() { :; }
source <(virtsh completion zsh)
_describe() { local -a arr; arr=("${(@P)2}"); print -l -- "${arr[@]%%:*}"; }
compadd() { :; }
_arguments() { :; }
try() { words=("$@"); CURRENT=${#words}; print -- "[$*]"; _virtsh; }
try virtsh -c "$URI" start ''
try virtsh -c "$URI" resume vm
try virtsh ech
`
	out := runShell(t, bin, "zsh", "-f", "-c", "URI="+uri+"\n"+script)
	want := "[virtsh -c " + uri + " start ]\nvm-off\n" +
		"[virtsh -c " + uri + " resume vm]\nvm-paused\n" +
		"[virtsh ech]\necho\n"
	if out != want {
		t.Errorf("zsh:\n%s\nwant:\n%s", out, want)
	}
}

// fish: `complete -C` runs fish's own completion over the generated script.
func TestFishCompletionScript(t *testing.T) {
	bin := helperBin(t)
	uri := stateNode(t)
	script := `virtsh completion fish | source
complete -C "virtsh -c $URI start "
echo ==
complete -C "virtsh -c $URI shutdown vm-r"
echo ==
complete -C "virtsh ech"
`
	out := runShell(t, bin, "fish", "--no-config", "-c", "set URI "+uri+"\n"+script)
	want := "vm-off\tshut off\n==\nvm-run\trunning\nvm-run2\trunning\n==\necho\techo arguments. Used for internal testing.\n"
	if out != want {
		t.Errorf("fish:\n%q\nwant:\n%q", out, want)
	}
}

func TestPowerShellScriptGenerated(t *testing.T) {
	out, _, code := runMain(t, "", "-q", "completion", "powershell")
	if code != 0 || !strings.Contains(out, "Register-ArgumentCompleter") || !strings.Contains(out, "__complete") {
		t.Errorf("powershell script: code %d\n%.300s", code, out)
	}
	_, errOut, code := runMain(t, "", "completion", "tcsh")
	if code != 1 || errOut != "error: unsupported shell 'tcsh': use bash, zsh, fish or powershell\n" {
		t.Errorf("tcsh: %d %q", code, errOut)
	}
}

var ansiEscRE = regexp.MustCompile(`\x1b\[[0-9;?]*[A-Za-z]`)

// The REPL completes through readline with the same engine: Tab on `sta`
// gives `start `, Tab Tab on `resume ` lists the paused domain.
func TestREPLCompletionThroughPty(t *testing.T) {
	bin := helperBin(t)
	uri := stateNode(t)
	c := exec.Command(filepath.Join(bin, "virtsh"), "-c", uri)
	c.Env = append(os.Environ(), "XDG_CACHE_HOME="+t.TempDir(), "TERM=xterm")
	f, err := pty.StartWithSize(c, &pty.Winsize{Rows: 24, Cols: 100})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	defer c.Process.Kill()
	var buf lockedBuffer
	done := make(chan struct{})
	go func() { _, _ = io.Copy(&buf, f); close(done) }()
	waitFor := func(what string) string {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			s := ansiEscRE.ReplaceAllString(buf.String(), "")
			if strings.Contains(s, what) {
				return s
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Fatalf("no %q in:\n%q", what, ansiEscRE.ReplaceAllString(buf.String(), ""))
		return ""
	}
	waitFor("virtsh # ")
	f.Write([]byte("sta\t"))
	waitFor("virtsh # start ")
	f.Write([]byte("\x15")) // Ctrl-U: clear the line
	f.Write([]byte("domstate vm-r\t"))
	waitFor("virtsh # domstate vm-run")
	f.Write([]byte("\t"))
	s := waitFor("vm-run2")
	// The listing offers only the two matching domains.
	if tail := s[strings.LastIndex(s, "domstate vm-run"):]; strings.Contains(tail, "vm-paused") || strings.Contains(tail, "vm-off") {
		t.Errorf("candidates for vm-r: %q", tail)
	}
	f.Write([]byte("\x15resume \t"))
	waitFor("virtsh # resume vm-paused ")
	f.Write([]byte("\x15quit\r"))
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("virtsh did not quit")
	}
	_ = c.Wait()
}

// BenchmarkCompleteOneShot1000 is `virtsh __complete -c URI start vm-` as a
// shell script runs it, on a host with 1,000 domains: parse the line, open a
// read-only connection, list, print. With the test driver the open re-reads
// the whole node file, which dominates.
func BenchmarkCompleteOneShot1000(b *testing.B) {
	var x strings.Builder
	x.WriteString("<node>\n")
	for i := 0; i < 1000; i++ {
		fmt.Fprintf(&x, "<domain type='test' xmlns:test='http://libvirt.org/schemas/domain/test/1.0'><name>vm-%05d</name><memory>8192</memory><os><type>hvm</type></os><test:runstate>%d</test:runstate></domain>\n", i, 1+4*(i%2))
	}
	x.WriteString("</node>\n")
	path := filepath.Join(b.TempDir(), "node1000.xml")
	if err := os.WriteFile(path, []byte(x.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var out bytes.Buffer
		Main([]string{"__completeNoDesc", "-c", "test://" + path, "start", "vm-"}, strings.NewReader(""), &out, io.Discard)
		if n := strings.Count(out.String(), "\n"); n != 501 {
			b.Fatalf("%d lines", n)
		}
	}
}
