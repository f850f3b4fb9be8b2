package cmd

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/virtsh/virtsh/format"
	"github.com/virtsh/virtsh/shell"
)

// Every command that takes -o documents its JSON fields, and what the test
// driver's commands print under -o json uses only documented names.
func TestJSONFieldsDocumented(t *testing.T) {
	for _, c := range DocDeclarations() {
		if c.Lookup("output") != nil && jsonFields[c.Name] == "" {
			t.Errorf("%s takes -o but cmd/jsonfields.go documents no fields for it", c.Name)
		}
	}
	for name := range jsonFields {
		if c := declaration(shell.NewSession(&format.IO{}, shell.Options{}), name); c == nil || c.Lookup("output") == nil {
			t.Errorf("jsonfields.go documents %q, which is not a command taking -o", name)
		}
	}
	word := regexp.MustCompile(`[a-z_]+`)
	for _, line := range []string{
		"list --all", "list --all --title", "dominfo test", "domstate test", "domid test", "domname 1", "domuuid test",
		"domblklist test", "domblkinfo test vda", "domblkinfo test --all", "domblkstat test vda", "domblkerror test",
		"domstats", "dumpxml test", "dumpxml test --xpath //name",
		"uri", "hostname", "version",
		"checkpoint-create-as test c1; checkpoint-create-as test c2; checkpoint-list test; checkpoint-info test c2; checkpoint-parent test c2",
	} {
		out, errS, code := runMain(t, "", "-q", "-o", "json", "-c", "test:///default", line)
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", line, code, errS)
		}
		name := strings.Fields(line)[0]
		doc := jsonFields[name]
		dec := json.NewDecoder(strings.NewReader(out))
		for dec.More() {
			var v any
			if err := dec.Decode(&v); err != nil {
				t.Fatalf("%s: %v\n%s", line, err, out)
			}
			for _, k := range keys(v) {
				if !containsWord(word.FindAllString(doc, -1), k) && !containsWord(word.FindAllString(jsonFields["checkpoint-info"]+jsonFields["checkpoint-parent"], -1), k) {
					t.Errorf("%s: key %q is not in the documented fields %q", line, k, doc)
				}
			}
		}
	}
}

// keys lists the object keys of v and of the objects nested in it.
func keys(v any) []string {
	var out []string
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			out = append(out, k)
			if k != "details" { // event details carry the event's own fields
				out = append(out, keys(e)...)
			}
		}
	case []any:
		for _, e := range x {
			out = append(out, keys(e)...)
		}
	}
	return out
}

func containsWord(words []string, w string) bool {
	for _, x := range words {
		if x == w {
			return true
		}
	}
	return false
}
