package format

import (
	"bytes"
	"testing"
)

// An Object keeps its keys in the order first set, in JSON and YAML, with
// nested objects and lists, and no HTML escaping.
func TestObjectOrder(t *testing.T) {
	inner := NewObject()
	inner.Set("z", 1)
	inner.Set("a", "<b>&")
	o := NewObject()
	o.Set("name", "vm1")
	o.Set("b", inner)
	o.Set("a", []*Object{inner})
	o.Set("name", "vm2") // keeps its place
	for _, c := range []struct{ output, want string }{
		{"json", "{\n  \"name\": \"vm2\",\n  \"b\": {\n    \"z\": 1,\n    \"a\": \"<b>&\"\n  },\n  \"a\": [\n    {\n      \"z\": 1,\n      \"a\": \"<b>&\"\n    }\n  ]\n}\n"},
		{"yaml", "name: vm2\nb:\n  z: 1\n  a: <b>&\na:\n  - z: 1\n    a: <b>&\n"},
	} {
		var b bytes.Buffer
		io := &IO{Out: &b, Output: c.output}
		if err := io.Encode(o); err != nil {
			t.Fatal(err)
		}
		if b.String() != c.want {
			t.Errorf("%s:\n%s\nwant\n%s", c.output, b.String(), c.want)
		}
	}
}
