package cmd

import "testing"

// TestJQOnDataCommands: --jq on commands that print data, in one-shot and
// script form; a bad expression fails the line before anything runs.
func TestJQOnDataCommands(t *testing.T) {
	for _, c := range []struct {
		args           []string
		stdout, stderr string
		code           int
	}{
		{[]string{"-c", "test:///default", "-q", "list", "--all", "--jq", ".[].name"}, "test\n", "", 0},
		{[]string{"-c", "test:///default", "-q", "dominfo test --jq '{cpus, state}'"}, "{\n  \"cpus\": 2,\n  \"state\": \"running\"\n}\n", "", 0},
		{[]string{"-c", "test:///default", "-q", "domblklist test --jq '.[] | .target + \"=\" + .source'"}, "vda=/guest/diskimage1\n", "", 0},
		{[]string{"-c", "test:///default", "-q", "suspend test; list --jq '.[0].state'"}, "paused\n", "", 0},
		{[]string{"-c", "test:///default", "suspend test; list --jq '.['"}, "", "error: invalid --jq expression: unexpected EOF\n", 1},
		{[]string{"-c", "test:///default", "-q", "list --jq 'error(\"no\")'"}, "", "error: jq: error: no\n", 1},
	} {
		out, errS, code := runMain(t, "", c.args...)
		if out != c.stdout || errS != c.stderr || code != c.code {
			t.Errorf("%q: (%q, %q, %d), want (%q, %q, %d)", c.args, out, errS, code, c.stdout, c.stderr, c.code)
		}
	}
}
