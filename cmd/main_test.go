package cmd

import (
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// virshtest's quoting and multiple-command cases, virsh's option-parser and
// global-option errors, and URI precedence,
// run against the built virtsh AND /usr/bin/virsh: both must print the same
// bytes and exit the same way.
func TestSideBySideWithVirsh(t *testing.T) {
	virsh, err := exec.LookPath("virsh")
	if err != nil {
		t.Fatalf("virsh (libvirt-clients) is needed for the side-by-side tests: %v", err)
	}
	bin := virtshBinary(t)
	cfg := t.TempDir()
	cases := []struct {
		name string
		env  []string
		args []string
	}{
		// Tokenizer and echo.
		{"blanks-collapse", nil, []string{"-c", "test:///default", "echo a \t b"}},
		{"blanks-kept-in-quotes", nil, []string{"-c", "test:///default", "echo \"a \t b\""}},
		{"escapes-and-semicolon", nil, []string{"-c", "test:///default", `echo \' \" \\;echo` + "\ta"}},
		{"comment", nil, []string{"-c", "test:///default", "echo a #b"}},
		{"escaped-hash", nil, []string{"-c", "test:///default", `echo a \# b`}},
		{"quoted-hash", nil, []string{"-c", "test:///default", "echo a '#' b"}},
		{"hash-in-word", nil, []string{"-c", "test:///default", "echo a#b"}},
		{"comment-to-eol", nil, []string{"-c", "test:///default", "echo a #b; echo c\necho d"}},
		{"concatenated-quotes", nil, []string{"-c", "test:///default", `echo --s\h'e'"l"l a`}},
		{"dash-dash", nil, []string{"-c", "test:///default", "echo", "--", "--", "--shell", "a"}},
		{"shell-quoting", nil, []string{"-q", "-c", "test:///default", "echo", "--shell", "a b", "x"}},
		{"xml-escaping", nil, []string{"-c", "test:///default", "echo --xml \"<a href='x'>&\""}},
		{"split", nil, []string{"-c", "test:///default", "echo --split a,b,,c"}},
		{"err", nil, []string{"-c", "test:///default", "echo --err boom"}},
		{"err-empty", nil, []string{"-q", "-c", "test:///default", "echo --err; echo --err a b; echo x"}},
		{"alias-hi", nil, []string{"-c", "test:///default", "echo --str a --hi"}},
		{"missing-quote", nil, []string{"-c", "test:///default", `echo "x`}},
		{"dangling-backslash", nil, []string{"-c", "test:///default", `echo x\`}},
		{"unclosed-single-quote", nil, []string{"-c", "test:///default", `echo 'x  y`}},
		{"leading-escaped-hash-comment", nil, []string{"-c", "test:///default", `\# ignored;echo a`}},
		// Multiple commands: status of the last; a parse error runs nothing.
		{"multi-quiet", nil, []string{"-q", "-c", "test:///default", "echo a; echo b"}},
		{"multi-argv-semicolon-literal", nil, []string{"-q", "-c", "test:///default", "echo", "a;", "b"}},
		{"multi-last-fails", nil, []string{"-c", "test:///default", "echo a; frob"}},
		{"multi-first-fails", nil, []string{"-c", "test:///default", "pwd --x; echo a"}},
		{"multi-runtime-fail-then-ok", nil, []string{"-c", "test:///default", "help nosuch; echo ok"}},
		{"multi-ok-then-runtime-fail", nil, []string{"-c", "test:///default", "echo ok; help nosuch"}},
		{"quit-stops", nil, []string{"-c", "test:///default", "echo a; quit; echo b"}},
		{"newline-separates", nil, []string{"-c", "test:///default", "echo a\necho b"}},
		// Option parser errors (vshCommandParse).
		// -h after a command is data to virsh, not a help flag.
		{"dash-h-fills-domain", nil, []string{"-c", "test:///default", "dominfo -h"}},
		{"dash-h-unexpected", nil, []string{"-c", "test:///default", "dominfo test -h"}},
		{"dash-h-list", nil, []string{"-c", "test:///default", "list -h"}},
		{"dash-h-echo", nil, []string{"-c", "test:///default", "echo -h"}},
		{"unknown-option", nil, []string{"-c", "test:///default", "echo --bogus"}},
		{"unknown-command", nil, []string{"-c", "test:///default", "frob"}},
		{"missing-value", nil, []string{"-c", "test:///default", "connect --name"}},
		{"bool-with-value", nil, []string{"-c", "test:///default", "echo --shell=x"}},
		{"bool-with-empty-value", nil, []string{"-c", "test:///default", "echo --shell="}},
		{"alias-with-value", nil, []string{"-c", "test:///default", "echo --hi=x"}},
		{"repeated-bool", nil, []string{"-c", "test:///default", "echo --shell --shell"}},
		{"repeated-string", nil, []string{"-c", "test:///default", "connect --name a --name b"}},
		{"extra-data", nil, []string{"-c", "test:///default", "uri extra"}},
		{"extra-data-after-positional", nil, []string{"-c", "test:///default", "connect a b"}},
		{"help-ignores-extra", nil, []string{"-c", "test:///default", "help nosuch extra"}},
		{"help-ignores-unknown-option", nil, []string{"-c", "test:///default", "help --bogus pwd"}},
		{"empty-string-arg", nil, []string{"-c", "test:///default", "echo ''"}},
		{"exclusive", nil, []string{"-c", "test:///default", "echo --xml --shell a"}},
		{"cd-not-interactive", nil, []string{"-c", "test:///default", "cd /"}},
		{"help-topic-unknown", nil, []string{"-c", "test:///default", "help nosuch"}},
		// Global options (virshParseArgv / getopt_long).
		{"g-unknown-short", nil, []string{"-x", "echo", "a"}},
		{"g-unknown-long", nil, []string{"--bogus", "echo", "a"}},
		{"g-unknown-long-value", nil, []string{"--bogus=1", "echo", "a"}},
		{"g-ambiguous-prefix", nil, []string{"--k", "1", "echo", "a"}},
		{"g-prefix", nil, []string{"--conn=test:///default", "--q", "echo", "a"}},
		{"g-missing-arg", nil, []string{"-c"}},
		{"g-missing-arg-long", nil, []string{"--log"}},
		{"g-bool-with-value", nil, []string{"--readonly=x", "echo", "a"}},
		{"g-cluster", nil, []string{"-qc", "test:///default", "echo", "a"}},
		{"g-attached-arg", nil, []string{"-ctest:///default", "-q", "echo", "a"}},
		{"g-k-negative", nil, []string{"-k", "-1", "echo", "a"}},
		{"g-k-negative-long", nil, []string{"--keepalive-interval", "-1", "echo", "a"}},
		{"g-k-junk", nil, []string{"-k", "5 ", "echo", "a"}},
		{"g-K-junk-long", nil, []string{"--keepalive-count=abc", "echo", "a"}},
		{"g-d-junk", nil, []string{"-d", "x", "echo", "a"}},
		{"g-d-junk-long", nil, []string{"--debug", "x", "echo", "a"}},
		{"g-d-out-of-range", nil, []string{"-d", "9", "-c", "test:///default", "echo", "a"}},
		{"g-e-bad", nil, []string{"-e", "xx", "echo", "a"}},
		{"g-e-caret-digit", nil, []string{"-e", "^1", "echo", "a"}},
		{"g-e-ok", nil, []string{"-e", "^a", "-c", "test:///default", "echo", "a"}},
		{"g-lone-dash", nil, []string{"-", "echo"}},
		{"g-dash-dash", nil, []string{"-q", "--", "echo", "a"}},
		{"g-error-before-version", nil, []string{"-d", "x", "-v"}},
		{"g-readonly-uri", nil, []string{"-r", "-c", "test:///default", "uri"}},
		// URI precedence: -c > VIRSH(VIRTSH)_DEFAULT_CONNECT_URI > LIBVIRT_DEFAULT_URI.
		{"uri-libvirt-default", []string{"LIBVIRT_DEFAULT_URI=test:///default?good_uri"}, []string{"uri; connect; uri"}},
		{"uri-default-connect-wins", []string{"LIBVIRT_DEFAULT_URI=bogus:///x", "@DEFAULT_CONNECT_URI=test:///default"}, []string{"uri"}},
		{"uri-param-wins", []string{"@DEFAULT_CONNECT_URI=bogus:///x"}, []string{"-c", "test:///default", "uri"}},
		{"uri-default-connect-is-lazy", []string{"@DEFAULT_CONNECT_URI=bogus:///x"}, []string{"echo", "a"}},
		{"uri-default-connect-bad", []string{"@DEFAULT_CONNECT_URI=bogus:///x"}, []string{"uri"}},
		{"uri-connect-named", []string{"LIBVIRT_DEFAULT_URI=bogus:///x"}, []string{"connect test:///default; uri"}},
	}
	// Where a virsh newer than 9.x prints something else, virtsh keeps
	// virsh 9.x's result, given here.
	type result struct {
		out, err string
		code     int
	}
	v9 := map[string]result{}
	if virshSince(t, 10, 0) {
		// Newer: help of a command without options ends one blank line sooner.
		v9["help-ignores-unknown-option"] = result{"  NAME\n    pwd - print the current directory\n\n  SYNOPSIS\n    pwd\n\n" +
			"  DESCRIPTION\n    Print the current directory.\n\n\n", "", 0}
		// Newer: cd works in non-interactive mode too.
		v9["cd-not-interactive"] = result{"\n", "error: cd: command valid only in interactive mode\n", 1}
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			env := []string{"XDG_CONFIG_HOME=" + cfg, "LIBVIRT_DEFAULT_URI=", "VIRSH_DEFAULT_CONNECT_URI=", "VIRTSH_DEFAULT_CONNECT_URI="}
			var wenv, tenv []string
			for _, e := range c.env {
				if rest, ok := strings.CutPrefix(e, "@"); ok {
					wenv = append(wenv, "VIRSH_"+rest)
					tenv = append(tenv, "VIRTSH_"+rest)
				} else {
					wenv, tenv = append(wenv, e), append(tenv, e)
				}
			}
			wo, we, wc := runBinary(t, "", append(append([]string{}, env...), wenv...), virsh, c.args...)
			if r, ok := v9[c.name]; ok {
				wo, we, wc = r.out, r.err, r.code
			}
			go2, ge, gc := runBinary(t, "", append(append([]string{}, env...), tenv...), bin, c.args...)
			if go2 != wo || ge != we || gc != wc {
				t.Errorf("virtsh %q\n got (%q, %q, %d)\nvirsh (%q, %q, %d)", c.args, go2, ge, gc, wo, we, wc)
			}
		})
	}
}

// Help, version and -t differ from virsh only by name and numbers.
func TestGlobalInfoOptions(t *testing.T) {
	// -v is virsh's: the libvirt version.
	for _, args := range [][]string{{"-v"}, {"--version"}, {"--version=short"}, {"--version=x"}, {"--vers"}} {
		sameAsVirsh(t, nil, args...)
	}
	for _, args := range [][]string{{"-V"}, {"--version=long"}, {"-q", "-V", "-x"}} {
		out, _, code := runMain(t, "", args...)
		if !strings.HasPrefix(out, "virtsh command line tool "+Version+"\n") || code != 0 {
			t.Errorf("%q = (%q, %d), want the long version", args, out, code)
		}
	}
	for _, args := range [][]string{{"-h"}, {"--help"}, {"--he", "-x"}, {"-qh"}} {
		out, errS, code := runMain(t, "", args...)
		if !strings.HasPrefix(out, "\nvirtsh [options]... [<command_string>]\nvirtsh [options]... <command> [args...]\n") ||
			!strings.Contains(out, "    -o | --output=FORMAT    output format") ||
			!strings.Contains(out, " Virsh itself (help keyword 'virsh')\n") || errS != "" || code != 0 {
			t.Errorf("%q = (%q, %q, %d)", args, out, errS, code)
		}
	}
	timing := regexp.MustCompile(`^a\n\(Time: \d+\.\d{3} ms\)\n\nb\n\(Time: \d+\.\d{3} ms\)\n\n$`)
	for _, args := range [][]string{{"-t", "echo a; echo b"}, {"-q", "-t", "echo a; echo b"}, {"--tim", "echo a\necho b"}} {
		out, errS, code := runMain(t, "", args...)
		if !timing.MatchString(out) || errS != "" || code != 0 {
			t.Errorf("%q = (%q, %q, %d)", args, out, errS, code)
		}
	}
	if _, errS, code := runMain(t, "", "-o", "xml", "echo", "a"); errS != "error: unknown output format 'xml': use table, json or yaml\n" || code != 1 {
		t.Errorf("-o xml = (%q, %d)", errS, code)
	}
	if out, _, code := runMain(t, "", "-o", "json", "-c", "test:///default", "uri"); out != "{\n  \"uri\": \"test:///default\"\n}\n" || code != 0 {
		t.Errorf("-o json uri = (%q, %d)", out, code)
	}
	if out, _, code := runMain(t, "", "--out=yaml", "-q", "-c", "test:///default", "uri"); out != "uri: test:///default\n" || code != 0 {
		t.Errorf("--out=yaml uri = (%q, %d)", out, code)
	}
}

// Modes: one command (argv), a command string, a script on stdin.
func TestModes(t *testing.T) {
	cases := []struct {
		name, stdin   string
		args          []string
		out, errS     string
		code          int
		outSubstrings bool
	}{
		{"argv", "", []string{"-q", "echo", "a b", "c"}, "a b c", "", 0, false},
		{"argv-fails", "", []string{"-q", "help", "nosuch"}, "", "error: command or command group 'nosuch' doesn't exist\n", 1, false},
		{"string-last-ok", "", []string{"-q", "help nosuch; echo ok"}, "ok", "error: command or command group 'nosuch' doesn't exist\n", 0, false},
		{"string-last-fails", "", []string{"-q", "echo ok; help nosuch"}, "ok", "error: command or command group 'nosuch' doesn't exist\n", 1, false},
		{"string-quit", "", []string{"-q", "echo a; quit; help nosuch"}, "a", "", 0, false},
		// stdin not a terminal: no banner, no prompt; a failed command
		// anywhere makes the status 1; ';' and comments work.
		{"script-ok", "echo a; echo b\n# comment\n\necho 'c d'\n", []string{"-c", "test:///default"}, "a\nb\nc d\n", "", 0, false},
		{"script-quiet", "echo a; echo b\necho c", []string{"-q"}, "abc", "", 0, false},
		{"script-fail-in-middle", "echo a\nfrob\necho b\n", []string{"-q"}, "ab", "error: unknown command: 'frob'\n", 1, false},
		{"script-parse-error-line", "echo \"x\necho b\n", []string{"-q"}, "b", "error: missing \"\n", 1, false},
		{"script-quit", "echo a\nquit\nfrob\n", []string{"-q"}, "a", "", 0, false},
		{"script-empty", "", nil, "", "", 0, false},
		{"script-uri", "uri\nconnect --readonly\nuri\n", []string{"-c", "test:///default"}, "test:///default\n\n\ntest:///default\n\n", "", 0, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, errS, code := runMain(t, c.stdin, c.args...)
			if out != c.out || errS != c.errS || code != c.code {
				t.Errorf("virtsh %q < %q = (%q, %q, %d), want (%q, %q, %d)", c.args, c.stdin, out, errS, code, c.out, c.errS, c.code)
			}
			if strings.Contains(out, "Welcome") || strings.Contains(out, "virtsh #") {
				t.Errorf("banner or prompt in non-interactive mode: %q", out)
			}
		})
	}
}

func TestLogFile(t *testing.T) {
	log := t.TempDir() + "/virtsh.log"
	if _, _, code := runMain(t, "", "-q", "-l", log, "echo", "a"); code != 0 {
		t.Fatalf("exit %d", code)
	}
	b, err := os.ReadFile(log)
	if err != nil || !regexp.MustCompile(`^\[\d{4}\.\d\d\.\d\d \d\d:\d\d:\d\d virtsh \d+\] INFO command: \["echo" "a"\]\n`).Match(b) {
		t.Errorf("log = %q (%v)", b, err)
	}
}

// virtsh connects lazily even with -c, where virsh connects at start: a
// command that needs no host (echo) runs, and the first one that needs it
// fails with virsh's own lines. This is the one deliberate difference in
// global-option handling (help, echo and completion need no connection).
func TestLazyConnectWithC(t *testing.T) {
	bin := virtshBinary(t)
	cases := []struct {
		args   []string
		stderr string
	}{
		{[]string{"-k", "0x10", "-k", " 5", "-c", "test:///default", "uri"}, "error: Cannot setup keepalive on connection as requested, disconnecting\nerror: failed to connect to the hypervisor\nerror: this function is not supported by the connection driver: virConnectSetKeepAlive\n"},
		{[]string{"-k", "1", "-c", "test:///default", "uri"}, "error: Cannot setup keepalive on connection as requested, disconnecting\nerror: failed to connect to the hypervisor\nerror: this function is not supported by the connection driver: virConnectSetKeepAlive\n"},
		{[]string{"-c", "bogus:///x", "uri"}, "error: failed to connect to the hypervisor\nerror: no connection driver available for bogus:///x\n"},
	}
	for _, c := range cases {
		out, errS, code := runBinary(t, "", nil, bin, c.args...)
		if out != "\n" || errS != c.stderr || code != 1 {
			t.Errorf("virtsh %q = (%q, %q, %d), want (%q, %q, 1)", c.args, out, errS, code, "\n", c.stderr)
		}
		echo := append(c.args[:len(c.args)-1:len(c.args)-1], "echo", "a")
		if out, errS, code := runBinary(t, "", nil, bin, echo...); out != "a\n" || errS != "" || code != 0 {
			t.Errorf("virtsh %q = (%q, %q, %d), want echo to run without a connection", echo, out, errS, code)
		}
	}
}
