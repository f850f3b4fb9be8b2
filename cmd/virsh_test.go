package cmd

import "testing"

func TestEchoAndErrors(t *testing.T) {
	cases := []struct {
		args      []string
		out, errS string
		code      int
	}{
		{[]string{"-q", "-c", "test:///default", "echo --shell \"a b\" x"}, "'a b' x", "", 0},
		{[]string{"-c", "test:///default", "echo \"x"}, "", "error: missing \"\n", 1},
		{[]string{"-c", "test:///default", "frob"}, "", "error: unknown command: 'frob'\n", 1},
		{[]string{"-q", "echo a; echo b"}, "ab", "", 0},
		{[]string{"-q", "echo", "a;", "b"}, "a; b", "", 0},
		{[]string{"echo --bogus; echo a"}, "", "error: command 'echo' doesn't support option --bogus\n", 1},
	}
	for _, c := range cases {
		out, errS, code := runMain(t, "", c.args...)
		if out != c.out && out != c.out+"\n" || errS != c.errS || code != c.code {
			t.Errorf("virtsh %q = (%q, %q, %d), want (%q, %q, %d)", c.args, out, errS, code, c.out, c.errS, c.code)
		}
	}
}
