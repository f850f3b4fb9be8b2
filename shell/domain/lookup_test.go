package domain

import (
	"strings"
	"testing"

	"libvirt.org/go/libvirt"
)

func TestParseID(t *testing.T) {
	for in, want := range map[string]int64{
		"1": 1, " 1": 1, "\t\n\v\f\r+1": 1, "+1": 1, "01": 1, "0": 0, "-0": 0, "2147483647": 2147483647,
		"": -1, " ": -1, "+": -1, "-": -1, "1 ": -1, "0x1": -1, "-1": -1, "2147483648": -1, "99999999999999999999": -1,
		"1a": -1, "a1": -1, "+-1": -1, "٣": -1,
	} {
		id, ok := ParseID(in)
		if want < 0 {
			if ok {
				t.Errorf("ParseID(%q) = %d, want no ID", in, id)
			}
			continue
		}
		if !ok || int64(id) != want {
			t.Errorf("ParseID(%q) = %d, %v; want %d", in, id, ok, want)
		}
	}
}

// Lookup on the test driver's domain (ID 1, name "test"): every form virsh
// takes, each way on its own, and virsh's one-line failure.
func TestLookup(t *testing.T) {
	conn, err := libvirt.NewConnect("test:///default")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _, _ = conn.Close() }()
	d, err := conn.LookupDomainByName("test")
	if err != nil {
		t.Fatal(err)
	}
	uuid, _ := d.GetUUIDString()
	_ = d.Free()
	for _, c := range []struct {
		word string
		by   By
		ok   bool
	}{
		{"test", ByAny, true}, {"1", ByAny, true}, {" 1", ByAny, true}, {"+1", ByAny, true}, {uuid, ByAny, true},
		{"test", ByID | ByUUID, false}, {"1", ByUUID | ByName, false}, {uuid, ByID | ByName, false},
		{"1", ByID, true}, {uuid, ByUUID, true}, {"test", ByName, true},
		{"nosuch", ByAny, false}, {"", ByAny, false}, {"2", ByAny, false}, {"-1", ByAny, false},
	} {
		d, err := Lookup(conn, c.word, c.by)
		if c.ok != (err == nil) {
			t.Errorf("Lookup(%q, %b): %v", c.word, c.by, err)
		}
		if err == nil {
			if name, _ := d.GetName(); name != "test" {
				t.Errorf("Lookup(%q) found %q", c.word, name)
			}
			_ = d.Free()
		} else if want := "failed to get domain '" + c.word + "'"; err.Error() != want {
			t.Errorf("Lookup(%q): %q, want %q", c.word, err, want)
		}
	}
}

// Find asks the ways in virsh's order, each only for a word of its form and
// only while none found the domain, whatever handle the ways return.
func TestFindOrder(t *testing.T) {
	const uuid = "6695eb01-f6a4-8304-79aa-97f2502e193f"
	var asked []string
	f := func(hit string) Finder[string] {
		return Finder[string]{
			ID:   func(id uint32) (string, bool) { asked = append(asked, "id"); return "by id", hit == "id" },
			UUID: func(u string) (string, bool) { asked = append(asked, "uuid"); return "by uuid", hit == "uuid" },
			Name: func(n string) (string, bool) { asked = append(asked, "name"); return "by name", hit == "name" },
		}
	}
	for _, c := range []struct {
		word, hit string
		by        By
		want      string // "" for not found
		asked     string
	}{
		{"1", "id", ByAny, "by id", "id"},
		{"1", "name", ByAny, "by name", "id name"},
		{"1", "name", ByUUID | ByName, "by name", "name"},
		{uuid, "uuid", ByAny, "by uuid", "uuid"},
		{uuid, "name", ByAny, "by name", "uuid name"},
		{"vm1", "name", ByAny, "by name", "name"},
		{"vm1", "", ByAny, "", "name"},
		{"vm1", "name", ByID | ByUUID, "", ""},
	} {
		asked = nil
		got, err := Find(c.word, c.by, f(c.hit))
		if c.want == "" {
			if err == nil || err.Error() != "failed to get domain '"+c.word+"'" || got != "" {
				t.Errorf("Find(%q, %v) = %q, %v; want virsh's failure", c.word, c.by, got, err)
			}
		} else if err != nil || got != c.want {
			t.Errorf("Find(%q, %v) = %q, %v; want %q", c.word, c.by, got, err, c.want)
		}
		if strings.Join(asked, " ") != c.asked {
			t.Errorf("Find(%q, %v) asked %q, want %q", c.word, c.by, asked, c.asked)
		}
	}
}
