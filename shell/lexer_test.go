package shell

import (
	"reflect"
	"testing"
)

// Cases for each of Split's rules (virsh's vshCommandStringGetArg) and from
// virshtest's echo-quote-removal, echo-escaping and multiple-commands groups;
// expected splits are what virsh 9.0 hands to its option parser.
func TestSplit(t *testing.T) {
	cases := []struct {
		in   string
		want [][]string
		err  error
	}{
		{"echo a \t b", [][]string{{"echo", "a", "b"}}, nil},
		{"echo \"a \t b\"", [][]string{{"echo", "a \t b"}}, nil},
		{`echo \' \" \\;echo` + "\ta", [][]string{{"echo", "'", `"`, `\`}, {"echo", "a"}}, nil},
		{"echo a #b", [][]string{{"echo", "a"}}, nil},
		{`echo a \# b`, [][]string{{"echo", "a", "#", "b"}}, nil},
		{"echo a '#' b", [][]string{{"echo", "a", "#", "b"}}, nil},
		{"echo a#b", [][]string{{"echo", "a#b"}}, nil},
		{"echo a #b; echo c\necho d", [][]string{{"echo", "a"}, {"echo", "d"}}, nil},
		{`echo --s\h'e'"l"l`, [][]string{{"echo", "--shell"}}, nil},
		{`echo "x`, nil, ErrMissingQuote},
		{`echo x\`, nil, ErrDangling},
		{`echo 'x y`, [][]string{{"echo", "x y"}}, nil},
		{`\# ignored;echo a`, [][]string{{"echo", "a"}}, nil},
		{"start vm; list", [][]string{{"start", "vm"}, {"list"}}, nil},
		{";;  ;\n", nil, nil},
		{"echo ''", [][]string{{"echo", ""}}, nil},
		{"echo a\\\nb", [][]string{{"echo", "ab"}}, nil},
		{"echo a \\\n b", [][]string{{"echo", "a", "b"}}, nil},
		{`echo "a\"b" 'c\d'`, [][]string{{"echo", `a"b`, `c\d`}}, nil},
		{`echo "a;b" 'c;d' e\;f`, [][]string{{"echo", "a;b", "c;d", "e;f"}}, nil},
		{"echo \"a\nb\"", [][]string{{"echo", "a\nb"}}, nil},
		{"# only a comment", nil, nil},
		{"  list --all  ", [][]string{{"list", "--all"}}, nil},
	}
	for _, c := range cases {
		got, err := Split(c.in)
		if err != c.err {
			t.Errorf("Split(%q) error = %v, want %v", c.in, err, c.err)
			continue
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("Split(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func FuzzSplit(f *testing.F) {
	for _, s := range []string{"echo a", `echo "x`, `a\`, "a;b#c\n'd", `--s\h'e'"l"l`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		cmds, err := Split(s)
		if err != nil {
			return
		}
		for _, c := range cmds {
			if len(c) == 0 {
				t.Fatalf("empty command from %q", s)
			}
		}
	})
}
