package cmd

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// The snapshot commands on libvirt's test driver, compared byte for byte
// (stdout, stderr, exit status) with the real virsh running the same command
// string; the test driver keeps snapshots per connection, so each case makes
// its own.
func TestSnapshotCommandsSameAsVirsh(t *testing.T) {
	dir := t.TempDir()
	xmlFile := filepath.Join(dir, "s.xml")
	if err := os.WriteFile(xmlFile, []byte("<domainsnapshot><name>fromfile</name><description>d</description></domainsnapshot>\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// The editors: one renames s2 to s3, one changes the description, one
	// changes nothing.
	rename := filepath.Join(dir, "rename.sh")
	describe := filepath.Join(dir, "describe.sh")
	for file, script := range map[string]string{
		rename:   "#!/bin/sh\nsed -i 's/<name>s2</<name>s3</' \"$1\"\n",
		describe: "#!/bin/sh\nsed -i 's/>hi</>changed</' \"$1\"\n",
	} {
		if err := os.WriteFile(file, []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	two := "snapshot-create-as test s1; snapshot-create-as test s2 --description hi; "
	for _, cmds := range []string{
		two + "snapshot-info test s1; snapshot-info test --current; snapshot-info test",
		two + "snapshot-info test s1 --current; snapshot-info test nosuch; snapshot-info test --snapshotname ''",
		two + "snapshot-parent test s2; snapshot-parent test s1; snapshot-parent test; snapshot-parent test --current",
		"snapshot-parent test --current",
		two + "snapshot-current test --name; snapshot-current test s1; snapshot-current test --name; snapshot-current test",
		two + "snapshot-current test --security-info; snapshot-current test --name s1; snapshot-current test --snapshotname nosuch",
		"snapshot-current test; snapshot-current test --name",
		two + "snapshot-revert test s1; domstate test; snapshot-revert test s2 --paused; domstate test; snapshot-revert test --current --running; domstate test",
		two + "snapshot-revert test; snapshot-revert test nosuch; snapshot-revert test s1 --running --paused; snapshot-revert test s1 --force",
		"snapshot-revert nosuch s1",
		"snapshot-create test " + xmlFile + "; snapshot-current test --name; snapshot-list test --name",
		two + "snapshot-create test " + xmlFile + " --redefine; snapshot-create test /nonexistent.xml; snapshot-list test --name",
		"snapshot-edit test s1 --rename --clone",
		"snapshot-info; snapshot-revert test s1 --bogus",
	} {
		sameAsVirsh(t, nil, "-c", "test:///default", cmds)
	}
	// The listings, on a tree a -> {b -> c, d}.
	tree := "snapshot-create-as test a; snapshot-create-as test b; snapshot-create-as test c; snapshot-current test a; snapshot-create-as test d; "
	for _, opts := range []string{"--tree", "--from a --tree", "--current --tree", "--from b --tree", "--from c --tree",
		"--from a --descendants --tree", "--current --descendants --tree", "--from a --descendants --name", "--from a --name",
		"--descendants", "--leaves --tree", "--no-leaves --tree", "--internal --tree", "--tree --external --leaves",
		"--roots --tree --leaves", "--from a --current", "--from nosuch", "--from a --roots", "--roots --name",
		"--leaves --name", "--no-leaves --name", "--topological --name"} {
		sameAsVirsh(t, nil, "-c", "test:///default", tree+"snapshot-list test "+opts)
	}
	var v9 as9x
	if virshSince(t, 10, 3) {
		// 10.3 prints "name<TAB>parent" for --name --parent, 9.x the name.
		v9 = func(out, errS string, code int) (string, string, int) {
			return nameTabParent.ReplaceAllString(out, ""), errS, code
		}
	}
	sameAsVirsh9x(t, v9, nil, "-c", "test:///default", tree+"snapshot-list test --parent --name")
	sameAsVirsh(t, nil, "-c", "test:///default", "snapshot-create-as test B; snapshot-create-as test a; snapshot-create-as test C; snapshot-list test --name; snapshot-list test --tree")

	for _, editor := range []string{rename, describe, "true"} {
		for _, edit := range []string{"snapshot-edit test s2", "snapshot-edit test s2 --rename", "snapshot-edit test s2 --clone",
			"snapshot-edit test s1 --current", "snapshot-edit test --current"} {
			sameAsVirsh(t, []string{"EDITOR=" + editor}, "-c", "test:///default",
				two+edit+"; snapshot-list test --name; snapshot-current test --name; snapshot-dumpxml test s2 --xpath //description")
		}
	}
}

// TestSnapshotInfoJSON: snapshot-info -o json is virsh's lines, typed, with
// no parent as "".
func TestSnapshotInfoJSON(t *testing.T) {
	out, errS, code := runMain(t, "", "-q", "-c", "test:///default", "snapshot-create-as test s1; snapshot-create-as test s2; snapshot-info test s1 -o json")
	if code != 0 || errS != "" {
		t.Fatalf("exit %d, stderr %q", code, errS)
	}
	var v struct {
		Name, Domain, State, Location, Parent string
		Current, Metadata                     bool
		Children, Descendants                 int
	}
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("%v in %q", err, out)
	}
	if v.Name != "s1" || v.Domain != "test" || v.Current || v.State != "running" || v.Location != "internal" ||
		v.Parent != "" || v.Children != 1 || v.Descendants != 1 || !v.Metadata {
		t.Errorf("snapshot-info -o json: %+v", v)
	}
}
