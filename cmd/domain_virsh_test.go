package cmd

import (
	"os"
	"strings"
	"testing"
)

// TestDomainCommandsMatchVirsh runs virtsh (the built binary) and the real
// virsh 9.0 with the same arguments on the same domains and wants the same
// stdout, stderr and exit status, failures included.
func TestDomainCommandsMatchVirsh(t *testing.T) {
	if _, err := os.Stat(realVirsh); err != nil {
		t.Fatalf("virsh is needed for this test (Debian package libvirt-clients): %v", err)
	}
	bin := virtshBinary(t)
	node := testNodeURI(t)
	uuid := "6695eb01-f6a4-8304-79aa-97f2502e193f"
	cases := []struct {
		uri  string
		args []string
	}{}
	add := func(uri string, args ...string) {
		cases = append(cases, struct {
			uri  string
			args []string
		}{uri, args})
	}
	for _, uri := range []string{"test:///default", node} {
		for _, f := range []string{"", "--all", "--inactive", "--transient", "--persistent", "--with-snapshot",
			"--without-snapshot", "--with-checkpoint", "--without-checkpoint", "--state-running",
			"--state-paused", "--state-shutoff", "--state-other", "--autostart", "--no-autostart",
			"--with-managed-save", "--without-managed-save", "--all --managed-save", "--all --title",
			"--all --name", "--all --uuid", "--all --id", "--id", "--all --uuid --id --name",
			"--state-other --state-paused --name", "--all --table", "--table --name", "--table --uuid",
			"--table --id", "--bogus", "--all extra"} {
			add(uri, "list "+f)
			add(uri, "-q", "list "+f)
		}
	}
	for _, c := range []string{"dominfo test", "dominfo 1", "dominfo " + uuid, "domstate test --reason",
		"domstate test", "domid test", "domid " + uuid, "domid 1", "domname 1", "domname " + uuid,
		"domname test", "domuuid test", "domuuid 1", "domuuid " + uuid, "domblklist test",
		"domblklist test --details", "domblklist test --inactive --details", "domblkinfo test vda",
		"domblkinfo test --device vda --human", "domblkinfo test --all", "domblkinfo test --all --human",
		"domblkinfo test", "domblkinfo test vda --all", "domblkinfo test nosuch",
		"dominfo nosuch", "domstate nosuch --reason", "domid nosuch", "dominfo", "dominfo test extra",
		"domstate test --reason --reason", "domblklist", "echo a b", "echo --shell \"a b\" 'c'",
		"echo --xml '<a>'", "suspend test; domstate test --reason; resume test; domstate test --reason",
		"destroy test; dominfo test; domid test; list --all", "shutdown test --mode acpi",
		"dumpxml test --xpath //disk", "dumpxml test --xpath //disk --wrap", "dumpxml test --xpath //target/@dev --wrap",
		"dumpxml test --xpath 'string(//name)'", "dumpxml test --inactive",
	} {
		add("test:///default", c)
		add("test:///default", "-q", c)
	}
	for _, c := range []string{"dominfo alpha", "dominfo gamma", "dominfo delta", "dominfo eps", "dominfo zeta",
		"domstate zeta --reason", "domstate Beta --reason", "domstate delta --reason",
		"domblklist alpha --details", "domblklist alpha", "domblkinfo alpha --all", "domblkinfo alpha --all --human",
		"domblkinfo alpha sda", "domblkinfo alpha vdb", "domid gamma", "domname 2", "domuuid Beta",
		"start gamma; list --all; domstate gamma --reason", "destroy eps; list --all", "undefine gamma; list --all",
		"undefine alpha; list --all --persistent", "autostart gamma; list --all --autostart",
		// dominfo asks its queries concurrently: a persistent guest with
		// autostart (running and shut off), a transient one, a managed
		// save, several in one session, -q.
		"autostart alpha; dominfo alpha", "autostart gamma; dominfo gamma; dominfo eps; dominfo delta; dominfo Beta",
		"autostart --disable alpha; dominfo alpha; dominfo 1; dominfo 11111111-2222-3333-4444-000000000005",
		// undefine as virsh's cmdUndefine: flags asked only for what
		// exists, and piecewise where the driver refuses one (the test
		// driver knows neither the NVRAM nor the TPM flags).
		"undefine gamma --keep-nvram; list --all --name", "undefine gamma --keep-tpm", "undefine gamma --tpm",
		"undefine gamma --nvram", "undefine delta", "undefine delta --keep-nvram",
		"undefine delta --managed-save --keep-nvram; list --all --name", "undefine delta --managed-save; list --all --name",
		"undefine gamma --snapshots-metadata --keep-nvram", "undefine gamma --checkpoints-metadata",
		"undefine alpha --keep-nvram; list --all --name", "snapshot-create-as gamma s1; undefine gamma",
		"snapshot-create-as gamma s1; undefine gamma --keep-nvram",
		"snapshot-create-as gamma s1; undefine gamma --snapshots-metadata --keep-tpm; list --all --name",
		"snapshot-create-as gamma s1; undefine gamma --snapshots-metadata; list --all --name"} {
		add(node, c)
		if strings.Contains(c, "dominfo") {
			add(node, "-q", c)
		}
	}
	for _, c := range cases {
		binaryMatchesVirsh(t, bin, append([]string{"-c", c.uri}, c.args...)...)
	}
}
