package cmd

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The XML-printing paths shared by several commands, each compared byte for
// byte with the real virsh 9.0 on a private test-driver node: --xpath/--wrap
// of snapshot-dumpxml and checkpoint-dumpxml (one helper with dumpxml), and
// --print-xml of snapshot-create-as and blockcopy (one formatter with
// checkpoint-create-as).

func TestDumpXMLXPathSameAsVirsh(t *testing.T) {
	cases := map[string]string{
		"snapshot": "snapshot-create-as test s1 'a<b&'; snapshot-dumpxml test s1 --xpath //name; " +
			"snapshot-dumpxml test s1 --xpath //domain/devices/disk --wrap; snapshot-dumpxml test s1 --wrap --xpath //@type; " +
			"snapshot-dumpxml test s1 --xpath //description; snapshot-dumpxml test s1 --xpath //nothing; " +
			"snapshot-dumpxml test s1 --xpath //nothing --wrap; snapshot-dumpxml test s1 --xpath //target/@dev --wrap; " +
			"snapshot-dumpxml test s1 --xpath //disk/source/@file",
		"snapshot-bad": "snapshot-create-as test s1; snapshot-dumpxml test s1 --xpath ''; snapshot-dumpxml test nosuch --xpath ''; " +
			"snapshot-dumpxml nosuch s1 --xpath //name; snapshot-dumpxml test s1 --xpath 'count(//a)'",
		"snapshot-positional": "snapshot-create-as test s1; snapshot-dumpxml test s1 //name",
		"checkpoint": "checkpoint-create-as test c1 --diskspec vda --diskspec vdb,checkpoint=no; " +
			"checkpoint-dumpxml test c1 --xpath //name; checkpoint-dumpxml test c1 --no-domain --xpath //disk --wrap; " +
			"checkpoint-dumpxml test c1 --xpath //disks/disk/@checkpoint; checkpoint-dumpxml test c1 --xpath //domain/name --wrap",
		"checkpoint-bad": "checkpoint-create-as test c1; checkpoint-dumpxml test c1 --xpath ''; " +
			"checkpoint-dumpxml test nosuch --xpath ''; checkpoint-dumpxml test --xpath //name; " +
			"checkpoint-dumpxml test c1 --xpath 'string(//name)'",
		"checkpoint-positional": "checkpoint-create-as test c1; checkpoint-dumpxml test c1 //name",
		// The test driver has no backups: the error and the empty --xpath
		// failure come in virsh's order (the lab test covers a real one).
		"backup":        "backup-dumpxml test --xpath //disk",
		"backup-empty":  "backup-dumpxml test --xpath ''",
		"dumpxml-empty": "dumpxml test --xpath ''",
	}
	v9 := map[string]as9x{}
	if virshSince(t, 10, 0) {
		// Newer: a missing <checkpointname> is a parse error, so nothing
		// runs; 9.x runs the line and says so when the command gets there.
		v9["checkpoint-bad"] = func(string, string, int) (string, string, int) {
			return "Domain checkpoint c1 created\n\n\n\n\n",
				"error: --checkpointname is required\nerror: internal error: Incorrect xpath 'string(//name)'\n", 1
		}
	}
	for name, cmds := range cases {
		t.Run(name, func(t *testing.T) {
			sameAsVirsh9x(t, v9[name], nil, "-c", ckptURI(t), cmds)
		})
	}
	// -o json carries the matches (virtsh only).
	out, errS, code := runMain(t, "", "-c", ckptURI(t), "checkpoint-create-as test c1; checkpoint-dumpxml test c1 --no-domain --xpath //disk/@name -o json")
	if code != 0 || errS != "" || !strings.HasSuffix(out, "created\n{\n  \"matches\": [\n    \" name=\\\"vda\\\"\",\n    \" name=\\\"vdb\\\"\"\n  ]\n}\n") {
		t.Errorf("checkpoint-dumpxml --xpath -o json: exit %d, %q, %q", code, out, errS)
	}
}

func TestPrintXMLSameAsVirsh(t *testing.T) {
	dir := t.TempDir()
	dest := filepath.Join(dir, "dest.xml")
	if err := os.WriteFile(dest, []byte("<disk type=\"file\"><source file=\"/x\"/></disk>\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, cmds := range []string{
		"snapshot-create-as test --print-xml",
		"snapshot-create-as test s1 'a<b&\"' --print-xml",
		"snapshot-create-as test s1 --print-xml --diskspec vda,snapshot=external,file=/tmp/x.qcow2,driver=qcow2 --memspec file=/tmp/m,snapshot=external",
		"snapshot-create-as test --print-xml --memspec /tmp/m; snapshot-create-as test --print-xml --memspec snapshot=no",
		"snapshot-create-as test --print-xml --diskspec vda --diskspec vdb,snapshot=no",
		"snapshot-create-as test --print-xml --diskspec vda,stype=block,file=/dev/sdx,snapshot=external,driver=raw",
		"snapshot-create-as test --print-xml --diskspec vda,stype=block; snapshot-create-as test --print-xml --diskspec vda,stype=file",
		"snapshot-create-as test --print-xml --diskspec 'vda,,x,file=/a,,b'",
		// bad diskspecs and memspecs: virsh's messages
		"snapshot-create-as test --print-xml --diskspec vda,stype=network,file=x",
		"snapshot-create-as test --print-xml --diskspec vda,snapshot=no,snapshot=no",
		"snapshot-create-as test --print-xml --diskspec vda,bogus",
		"snapshot-create-as test --print-xml --memspec file=/tmp/m,file=/tmp/n",
		"snapshot-create-as test --print-xml --memspec /tmp/m,/tmp/n",
		// the document sent is the one printed
		"snapshot-create-as test s2 --disk-only --diskspec vda,file=/tmp/zz.qcow2 --diskspec vdb,snapshot=no; snapshot-dumpxml test s2 --xpath //disks --wrap",
		"blockcopy test vda /tmp/c.qcow2 --print-xml",
		"blockcopy test vda /tmp/c.qcow2 --print-xml --format qcow2 --blockdev --transient-job",
		"blockcopy test vda --dest '/tmp/a<b&.img' --format raw --print-xml --granularity 4096 --buf-size 100",
		"blockcopy test vda --xml " + dest + " --print-xml",
	} {
		sameAsVirsh(t, nil, "-c", ckptURI(t), cmds)
	}
}

// Namespaced metadata, text mixed with elements and a node-set that starts
// at the document: the --xpath tree must match libxml2's (namespace
// declarations are not attributes, the document holds only the root
// element), byte for byte with virsh.
func TestDumpXMLXPathNamespacesSameAsVirsh(t *testing.T) {
	node := filepath.Join(t.TempDir(), "node.xml")
	if err := os.WriteFile(node, []byte(`<node><domain type='test'><name>nsd</name><uuid>6695eb01-f6a4-8304-79aa-97f2502e193f</uuid>
  <description>a &amp; &lt;b&gt; "q"</description>
  <metadata>
    <app1:foo xmlns:app1="http://app1.org/" a="1">fooish<app1:b/> <app1:c/></app1:foo>
    <app2:bar xmlns:app2="http://app2.org/" xml:lang="en"><app2:c k="v"/><app2:d>txt</app2:d></app2:bar>
  </metadata>
  <memory>8192</memory>
  <os><type>hvm</type></os>
  <devices><interface type='network'><mac address='52:54:00:11:22:33'/><source network='default'/></interface></devices>
</domain></node>
`), 0o644); err != nil {
		t.Fatal(err)
	}
	sameAsVirsh(t, nil, "-c", "test://"+node,
		"dumpxml nsd --xpath '//@*'; dumpxml nsd --xpath '/node()'; dumpxml nsd --xpath '//node()'; "+
			"dumpxml nsd --xpath '//metadata' --wrap; dumpxml nsd --xpath '//*[namespace-uri()=\"http://app2.org/\"]'; "+
			"dumpxml nsd --xpath '//*[.=\"txt\"]'; "+
			"dumpxml nsd --xpath '//*[local-name()=\"b\"]/following-sibling::node()'; dumpxml nsd --xpath '//text()' --wrap")
}
