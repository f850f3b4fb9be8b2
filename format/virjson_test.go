package format

import "testing"

// The pretty layouts are virsh 9.0's output for the same replies
// (qemu-monitor-command --pretty; the lab test compares the two directly).
func TestLibvirtJSON(t *testing.T) {
	cases := []struct {
		in     string
		pretty bool
		want   string
	}{
		{`{"return":{"name":"vm1"},"id":"libvirt-4"}`, true, "{\n  \"return\": {\n    \"name\": \"vm1\"\n  },\n  \"id\": \"libvirt-4\"\n}"},
		{`{"return": [], "id":"x"}`, true, "{\n  \"return\": [\n\n  ],\n  \"id\": \"x\"\n}"},
		{`{}`, true, "{\n\n}"},
		{`[ ]`, false, "[]"},
		// Members keep their order, numbers their spelling.
		{` {"b": 1.50e3, "a" : [ -0, 10 ,true,null,false]} `, false, `{"b":1.50e3,"a":[-0,10,true,null,false]}`},
		// yajl's escapes: quote, backslash, control characters; "/" and
		// UTF-8 as they are.
		{`"a\"b\\c\/d\u0041\r\n\t\u0001é"`, false, `"a\"b\\c/dA\r\n\t\u0001é"`},
	}
	for _, c := range cases {
		got, err := LibvirtJSON(c.in, c.pretty)
		if err != nil || got != c.want {
			t.Errorf("LibvirtJSON(%q, %v) = %q, %v; want %q", c.in, c.pretty, got, err, c.want)
		}
	}
	for _, bad := range []string{"", "{", `{"a":}`, "query-name", `{} {}`, `[1,]`} {
		if got, err := LibvirtJSON(bad, true); err == nil {
			t.Errorf("LibvirtJSON(%q) = %q, want an error", bad, got)
		}
	}
}
