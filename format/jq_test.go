package format

import (
	"bytes"
	"strings"
	"testing"
)

func TestJQFiltersEncodedOutput(t *testing.T) {
	type disk struct {
		Target string `json:"target"`
		Bytes  uint64 `json:"bytes"`
	}
	v := []disk{{"vda", 1 << 62}, {"vdb", 9007199254740993}} // beyond float64's exact integers
	for _, c := range []struct{ expr, want string }{
		{".[].target", "vda\nvdb\n"},
		{".[1].bytes", "9007199254740993\n"},
		{".[] | select(.target == \"vdb\")", "{\n  \"bytes\": 9007199254740993,\n  \"target\": \"vdb\"\n}\n"},
		{"length", "2\n"},
		{"empty", ""},
	} {
		var out bytes.Buffer
		s := &IO{Out: &out, Output: "table"}
		if err := s.SetJQ(c.expr); err != nil {
			t.Fatal(err)
		}
		if !s.Structured() {
			t.Errorf("%q: --jq did not make the output JSON", c.expr)
		}
		if err := s.Encode(v); err != nil {
			t.Fatalf("%q: %v", c.expr, err)
		}
		if out.String() != c.want {
			t.Errorf("%q: got %q, want %q", c.expr, out.String(), c.want)
		}
	}
	var out bytes.Buffer
	s := &IO{Out: &out}
	if err := s.SetJQ(".x"); err != nil {
		t.Fatal(err)
	}
	if err := s.EncodeLine(map[string]any{"x": map[string]int{"a": 1}}); err != nil || out.String() != "{\"a\":1}\n" {
		t.Errorf("EncodeLine: %q, %v", out.String(), err)
	}
	if err := (&IO{}).SetJQ(".[ bad"); err == nil || !strings.HasPrefix(err.Error(), "invalid --jq expression: ") {
		t.Errorf("bad expression: %v", err)
	}
	s = &IO{Out: &out}
	_ = s.SetJQ(`error("boom")`)
	if err := s.Encode(1); err == nil || err.Error() != "jq: error: boom" {
		t.Errorf("failing filter: %v", err)
	}
}
