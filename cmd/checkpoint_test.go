package cmd

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The checkpoint commands against libvirt's test driver, each compared byte
// for byte (stdout, stderr, exit status) with the real virsh 9.0 running the
// same command string. A whole sequence runs in one command string: the test
// driver keeps checkpoints per connection.

// ckptNodeXML is a private test-driver node: one running domain "test" with
// two disks, so diskspecs can name a known and an unknown disk.
var ckptNodeXML = readTestdata("checkpoint-node.xml")

// ckptURI is a private copy of ckptNodeXML (see nodeURI).
func ckptURI(t *testing.T) string { return nodeURI(t, ckptNodeXML) }

var (
	reTableTime = regexp.MustCompile(`\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4}`)
	reXMLTime   = regexp.MustCompile(`<creationTime>\d+</creationTime>`)
)

// normTimes hides creation times: virsh and virtsh create their checkpoints
// at slightly different moments.
func normTimes(s string) string {
	s = reTableTime.ReplaceAllString(s, "YYYY-MM-DD hh:mm:ss +zzzz")
	return reXMLTime.ReplaceAllString(s, "<creationTime>T</creationTime>")
}

// sameAsVirsh runs args with virsh and virtsh and fails on any difference.
// It returns virtsh's stdout.
func sameAsVirsh(t *testing.T, env []string, args ...string) string {
	t.Helper()
	return sameAsVirsh9x(t, nil, env, args...)
}

// as9x turns what a virsh newer than 9.x printed into what virsh 9.x prints,
// where the two differ (virtsh follows 9.x).
type as9x func(out, errS string, code int) (string, string, int)

// sameAsVirsh9x is sameAsVirsh with virsh's result passed through v9 first
// (nil: as it is).
func sameAsVirsh9x(t *testing.T, v9 as9x, env []string, args ...string) string {
	t.Helper()
	if _, err := exec.LookPath(realVirsh); err != nil {
		t.Fatalf("the real virsh is needed for comparison: %v", err)
	}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	vOut, vErr, vCode := runBinary(t, "", env, realVirsh, args...)
	if v9 != nil {
		vOut, vErr, vCode = v9(vOut, vErr, vCode)
	}
	out, errS, code := runMain(t, "", args...)
	if why := virsh9xOnly(t, args, vErr, errS); why != "" {
		t.Logf("%q: compared with virsh 9.x only (%s)", args, why)
		return out
	}
	if normTimes(out) != normTimes(vOut) || errS != vErr || code != vCode {
		t.Errorf("virtsh %q differs from virsh\n--- virtsh (exit %d) stdout:\n%s\n--- stderr:\n%s\n--- virsh (exit %d) stdout:\n%s\n--- stderr:\n%s",
			args, code, out, errS, vCode, vOut, vErr)
	}
	return out
}

// nameTabParent is the parent column virsh 10.3 added to --name --parent.
var nameTabParent = regexp.MustCompile(`(?m)\t.*$`)

func TestCheckpointSameAsVirsh(t *testing.T) {
	redefine := filepath.Join(t.TempDir(), "c1.xml")
	if err := os.WriteFile(redefine, []byte("<domaincheckpoint>\n  <name>c1</name>\n  <creationTime>1700000000</creationTime>\n  <disks>\n    <disk name='vda' checkpoint='bitmap' bitmap='c1'/>\n    <disk name='vdb' checkpoint='bitmap' bitmap='c1'/>\n  </disks>\n</domaincheckpoint>\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tree := "checkpoint-create-as test c1; checkpoint-create-as test c3; checkpoint-create-as test c2; "
	cases := map[string]string{
		// a name that exists already
		"duplicate": "checkpoint-create-as test c1; checkpoint-create-as test c1",
		// the tree, parents and every filter
		"tree": tree + "checkpoint-list test --tree; checkpoint-list test --parent --no-leaves --name; " +
			"checkpoint-list test --parent; checkpoint-list test; checkpoint-list test --roots; " +
			"checkpoint-list test --leaves; checkpoint-list test --no-leaves --parent; checkpoint-list test --name; " +
			"checkpoint-list test --from c1; checkpoint-list test --from c1 --descendants --name; " +
			"checkpoint-list test --from c1 --tree; checkpoint-list test --from c3 --tree; " +
			"checkpoint-list test --topological --name; checkpoint-list test --topological --parent; " +
			"checkpoint-list test --leaves --no-leaves",
		"info-parent": tree + "checkpoint-info test c1; checkpoint-info test c3; checkpoint-info test --checkpointname c2; " +
			"checkpoint-parent test c3; checkpoint-parent test c2; checkpoint-parent test c1; checkpoint-info test nosuch",
		"dumpxml": tree + "checkpoint-dumpxml test c3; checkpoint-dumpxml test c2 --no-domain; " +
			"checkpoint-dumpxml test c1 --security-info --no-domain",
		"delete-children-only": tree + "checkpoint-create-as test c4; checkpoint-delete test c3 --children-only; " +
			"checkpoint-list test --parent; checkpoint-delete test c1 --children; checkpoint-list test",
		"delete-merge": tree + "checkpoint-delete test c3; checkpoint-list test --tree; checkpoint-parent test c2",
		"metadata-redefine": "checkpoint-create-as test c1; checkpoint-delete test c1 --metadata; checkpoint-list test --name; " +
			"checkpoint-create test " + redefine + " --redefine; checkpoint-list test --parent; checkpoint-info test c1; " +
			"checkpoint-dumpxml test c1 --no-domain; checkpoint-create test " + redefine + " --redefine --redefine-validate",
		"diskspecs": "checkpoint-create-as test --print-xml x 'a<b&' vda,checkpoint=bitmap,bitmap=x 'vdb,,x,checkpoint=no'; " +
			"checkpoint-create-as test d1 --diskspec vda --diskspec vdb,checkpoint=no; checkpoint-dumpxml test d1 --no-domain; " +
			"checkpoint-create-as test --name d2 --description two vda,bitmap=d2 vdb,checkpoint=no; checkpoint-dumpxml test d2 --no-domain; " +
			"checkpoint-create-as test --print-xml; checkpoint-create-as test --print-xml --name n --diskspec vda,bitmap=n,checkpoint=bitmap",
		"bad-input": "checkpoint-create-as test y d vda,foo=bar; checkpoint-create-as test y d vda,checkpoint=no,checkpoint=no; " +
			"checkpoint-create-as test y d vdz; checkpoint-create-as test y d vda,checkpoint=maybe; checkpoint-list test --name; " +
			"checkpoint-create test /nonexistent/cp.xml; checkpoint-create test --redefine-validate; " +
			"checkpoint-list test --tree --name; checkpoint-list test --parent --roots; checkpoint-list test --parent --tree; " +
			"checkpoint-list test --roots --tree; checkpoint-list test --roots --from c1; checkpoint-list test --leaves --tree; " +
			"checkpoint-list test --no-leaves --tree; checkpoint-list test --descendants; checkpoint-list test --from nosuch; " +
			"checkpoint-info test; checkpoint-parent test; checkpoint-delete test; checkpoint-dumpxml test; " +
			"checkpoint-delete test nosuch; checkpoint-list nosuch; checkpoint-info test c1 extra",
	}
	v9 := map[string]as9x{}
	if virshSince(t, 10, 3) {
		// 10.3 prints "name<TAB>parent" for --name --parent, 9.x the name.
		v9["tree"] = func(out, errS string, code int) (string, string, int) {
			return nameTabParent.ReplaceAllString(out, ""), errS, code
		}
	}
	if virshSince(t, 10, 0) {
		// Newer: a missing <checkpointname> is a parse error, so the line
		// fails at checkpoint-info's; 9.x's first parse error is the last
		// command's extra data.
		v9["bad-input"] = func(string, string, int) (string, string, int) {
			return "", "error: unexpected data 'extra'\n", 1
		}
	}
	for name, cmds := range cases {
		t.Run(name, func(t *testing.T) {
			sameAsVirsh9x(t, v9[name], nil, "-c", ckptURI(t), cmds)
		})
	}
	// Parse errors run nothing, with virsh's messages.
	for _, cmds := range []string{
		"checkpoint-create-as test c1; checkpoint-list test --bogus",
		"checkpoint-list test --tree=yes",
		"checkpoint-delete test c1 --children --children",
		"checkpoint-list",
	} {
		sameAsVirsh(t, nil, "-c", ckptURI(t), cmds)
	}
	// -q drops the messages and table headers.
	sameAsVirsh(t, nil, "-q", "-c", ckptURI(t), tree+"checkpoint-list test --parent; checkpoint-parent test c2; checkpoint-delete test c2")
}

// TestCheckpointEditSameAsVirsh drives checkpoint-edit with a scripted
// editor, for virsh and virtsh alike.
func TestCheckpointEditSameAsVirsh(t *testing.T) {
	dir := t.TempDir()
	script := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		return p
	}
	untouched := script("untouched", "exit 0")
	describe := script("describe", `sed -i 's|<name>c1</name>|<name>c1</name><description>edited</description>|' "$1"`)
	rename := script("rename", `sed -i 's|<name>c1</name>|<name>c9</name>|' "$1"`)
	broken := script("broken", `echo '<domaincheckpoint><nonsense' > "$1"`)
	seq := "checkpoint-create-as test c1; checkpoint-edit test c1; checkpoint-list test --name; checkpoint-edit test nosuch"
	for _, ed := range []string{untouched, describe, rename} {
		t.Run(filepath.Base(ed), func(t *testing.T) {
			sameAsVirsh(t, []string{"VISUAL=" + ed}, "-c", ckptURI(t), seq)
		})
	}
	// An edit libvirt refuses leaves the checkpoint as it was (virsh 9.0
	// segfaults here when stdin is not a terminal, so no comparison).
	t.Setenv("VISUAL", broken)
	out, errS, code := runMain(t, "", "-c", ckptURI(t), "checkpoint-create-as test c1; checkpoint-edit test c1; checkpoint-list test --name")
	if code != 0 || !strings.HasSuffix(errS, "error: Failed to update c1\n") || !strings.HasSuffix(out, "\nc1\n\n") {
		t.Errorf("broken edit: exit %d, stdout %q, stderr %q", code, out, errS)
	}
	// What the edit changed is what libvirt now holds.
	t.Setenv("VISUAL", describe)
	out, errS, code = runMain(t, "", "-c", ckptURI(t), "checkpoint-create-as test c1; checkpoint-edit test c1; checkpoint-info test c1 -o json")
	if code != 0 || !strings.Contains(out, `"description": "edited"`) {
		t.Errorf("after edit: exit %d, stdout %q, stderr %q", code, out, errS)
	}
}

func TestCheckpointJSON(t *testing.T) {
	out, errS, code := runMain(t, "", "-q", "-c", ckptURI(t),
		"checkpoint-create-as test c1 first vda vdb,checkpoint=no; checkpoint-create-as test c2; checkpoint-list test -o json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errS)
	}
	var list []struct {
		Name         string `json:"name"`
		Parent       string `json:"parent"`
		CreationTime int64  `json:"creation_time"`
		Description  string `json:"description"`
		Disks        []struct {
			Disk, Checkpoint, Bitmap string
		} `json:"disks"`
	}
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	if len(list) != 2 || list[0].Name != "c1" || list[0].Parent != "" || list[0].Description != "first" ||
		list[1].Name != "c2" || list[1].Parent != "c1" || list[0].CreationTime < 1600000000 {
		t.Fatalf("checkpoint-list -o json = %+v", list)
	}
	if d := list[0].Disks; len(d) != 2 || d[0].Disk != "vda" || d[0].Checkpoint != "bitmap" || d[0].Bitmap != "c1" ||
		d[1].Disk != "vdb" || d[1].Checkpoint != "no" {
		t.Errorf("c1 disks = %+v", d)
	}

	out, _, code = runMain(t, "", "-q", "-c", ckptURI(t), "checkpoint-create-as test c1; checkpoint-create-as test c2; checkpoint-info test c1 -o yaml")
	want := "name: c1\ndomain: test\nparent: \"\"\nchildren: 1\ndescendants: 1\n"
	if code != 0 || !strings.HasPrefix(out, want) || !strings.Contains(out, "disks:\n  - disk: vda\n    checkpoint: bitmap\n    bitmap: c1\n") {
		t.Errorf("checkpoint-info -o yaml =\n%s", out)
	}

	out, _, code = runMain(t, "", "-q", "-c", ckptURI(t), "checkpoint-create-as test c1; checkpoint-create-as test c2; checkpoint-parent test c2 -o json")
	if code != 0 || strings.TrimSpace(out) != "{\n  \"name\": \"c2\",\n  \"parent\": \"c1\"\n}" {
		t.Errorf("checkpoint-parent -o json = %q", out)
	}
}

// TestCheckpointDetails: the per-disk view virsh does not have. The test
// driver's domain has no block nodes, so the node column shows "-".
func TestCheckpointDetails(t *testing.T) {
	out, errS, code := runMain(t, "", "-c", ckptURI(t),
		"checkpoint-create-as test c1 --diskspec vda --diskspec vdb,checkpoint=no; checkpoint-list test --details --parent; checkpoint-info test c1 --details; checkpoint-list test --details --tree")
	out = normTimes(out)
	want := "Domain checkpoint c1 created\n" +
		" Name   Creation Time               Parent   Disk   Checkpoint   Bitmap   Node\n" +
		"--------------------------------------------------------------------------------\n" +
		" c1     YYYY-MM-DD hh:mm:ss +zzzz            vda    bitmap       c1       -\n" +
		"                                             vdb    no           -        -\n\n" +
		"Name:           c1\nDomain:         test\nParent:         -\nChildren:       0\nDescendants:    0\n" +
		"Disk vda:       bitmap c1 on -\nDisk vdb:       no -\n\n\n"
	if out != want || errS != "error: Options --details and --tree are mutually exclusive\n" || code != 1 {
		t.Errorf("got (exit %d) stdout:\n%s\nstderr: %s\nwant stdout:\n%s", code, out, errS, want)
	}
	// --size needs the data only a running QEMU has; the test driver refuses.
	_, errS, code = runMain(t, "", "-c", ckptURI(t), "checkpoint-list test --size")
	if code != 1 || errS != "error: Option --details is required by option --size\n" {
		t.Errorf("--size alone: exit %d, %q", code, errS)
	}
}

func TestParseDiskspec(t *testing.T) {
	cases := []struct {
		in   string
		want diskspec
		ok   bool
	}{
		{"vda", diskspec{Name: "vda"}, true},
		{"vda,checkpoint=bitmap", diskspec{"vda", "bitmap", ""}, true},
		{"vda,bitmap=b1,checkpoint=bitmap", diskspec{"vda", "bitmap", "b1"}, true},
		{"vdb,checkpoint=no", diskspec{"vdb", "no", ""}, true},
		{"a,,b,bitmap=x,,y", diskspec{"a,b", "", "x,y"}, true},
		{"/path/with,,comma.qcow2", diskspec{Name: "/path/with,comma.qcow2"}, true},
		{"", diskspec{}, true}, // virsh sends <disk name=''/>; libvirt refuses it
		{"vda,", diskspec{}, false},
		{"vda,foo=bar", diskspec{}, false},
		{"vda,checkpoint=no,checkpoint=bitmap", diskspec{}, false},
		{"vda,bitmap=a,bitmap=b", diskspec{}, false},
		{"vda,checkpoint=", diskspec{}, false},
		{"vda,bitmap=", diskspec{}, false},
		{"vda,Checkpoint=no", diskspec{}, false},
	}
	for _, c := range cases {
		got, err := parseCheckpointDiskspec(c.in)
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("parseCheckpointDiskspec(%q) = %+v, %v; want %+v, ok=%v", c.in, got, err, c.want, c.ok)
		}
		if err != nil && err.Error() != "unable to parse diskspec: "+c.in {
			t.Errorf("parseCheckpointDiskspec(%q) error %q", c.in, err)
		}
	}
}

// escapeDiskspecField doubles commas, the inverse of splitCommaList.
func escapeDiskspecField(s string) string { return strings.ReplaceAll(s, ",", ",,") }

// FuzzDiskspec: the parser never panics, and whatever it accepts survives
// being written back out (commas escaped) and parsed again unchanged.
func FuzzDiskspec(f *testing.F) {
	for _, s := range []string{"vda", "vda,checkpoint=bitmap,bitmap=b", "a,,b,bitmap=x,,y", ",", ",,,", "vda,checkpoint=no,checkpoint=no", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := parseCheckpointDiskspec(s)
		if err != nil {
			if d != (diskspec{}) {
				t.Fatalf("error with a result: %+v", d)
			}
			return
		}
		out := escapeDiskspecField(d.Name)
		if d.Checkpoint != "" {
			out += ",checkpoint=" + escapeDiskspecField(d.Checkpoint)
		}
		if d.Bitmap != "" {
			out += ",bitmap=" + escapeDiskspecField(d.Bitmap)
		}
		d2, err := parseCheckpointDiskspec(out)
		if err != nil || d2 != d {
			t.Fatalf("%q parsed to %+v, re-encoded %q parsed to %+v, %v", s, d, out, d2, err)
		}
	})
}

func TestLibvirtStyleXML(t *testing.T) {
	in := "<domaincheckpoint>\n  <name>x</name>\n  <description>a&lt;b&amp;&#39;</description>\n  <disks>\n    <disk name=\"vda\" checkpoint=\"bitmap\"></disk>\n  </disks>\n</domaincheckpoint>"
	want := "<domaincheckpoint>\n  <name>x</name>\n  <description>a&lt;b&amp;&apos;</description>\n  <disks>\n    <disk name='vda' checkpoint='bitmap'/>\n  </disks>\n</domaincheckpoint>\n"
	got, err := libvirtStyleXML(in)
	if err != nil || got != want {
		t.Errorf("libvirtStyleXML = %q, %v; want %q", got, err, want)
	}
	if _, err := libvirtStyleXML("<a><b></a>"); err == nil {
		t.Error("malformed XML accepted")
	}
}
