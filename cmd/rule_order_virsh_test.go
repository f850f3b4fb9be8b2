package cmd

import (
	"os"
	"regexp"
	"testing"
)

// TestRuleOrderMatchesVirsh gives virsh and virtsh command strings where
// more than one option rule, or a rule and an empty value or a bad number,
// could fail, and wants the same words: the rule virsh's handler checks
// first wins.
func TestRuleOrderMatchesVirsh(t *testing.T) {
	bin := virtshBinary(t)
	for _, c := range []string{
		"echo --shell --xml --split", "echo --split --shell",
		"domjobinfo nosuch --keep-completed",
		"blockcommit test vda --pivot --keep-overlay --bandwidth x",
		"blockcommit test vda --pivot --keep-overlay --base ''",
		"blockpull test vda --verbose --async", "blockpull test vda --verbose --base ''",
		"blockpull nosuch vda --async",
		// blockcopy reads its numbers and strings before its rules.
		"blockcopy test vda --dest a --xml b --granularity x",
		"blockcopy test vda --pivot --finish --dest ''",
		"blockcopy test vda --format q --xml b --blockdev --pivot --finish",
		"blockcopy nosuch vda --dest a --xml b",
		"blockjob test vda --raw --abort --info --bytes", "blockjob test vda --info --bandwidth 1",
		"blockjob nosuch vda --bytes --async",
		"checkpoint-create test --redefine-validate --xmlfile ''",
		"checkpoint-list test --tree --name --parent --roots", "checkpoint-list test --roots --tree --from x",
		"checkpoint-list test --roots --from ''", "checkpoint-list test --tree --leaves",
		"undefine test --nvram --keep-nvram --delete-storage-volume-snapshots",
		"undefine test --tpm --keep-tpm --nvram --keep-nvram",
		"undefine test --storage '' --nvram --keep-nvram",
		"domblkinfo nosuch vda --all", "domblkinfo test --device '' --all",
		"list --table --name --uuid --id", "list --table --id",
		"event --list --all --event x", "event --list --event ''", "event --all --event '' --timeout x",
		"event --list --all --timeout x",
		"snapshot-list test --parent --tree --name", "snapshot-list test --roots --from x --current",
		"snapshot-list test --roots --from ''",
	} {
		binaryMatchesVirsh(t, bin, "-c", "test:///default", c)
	}
}

// TestEditorMatchesVirsh runs edit and checkpoint-edit with editors that
// leave the file alone or fail, for virsh and virtsh alike; the temporary
// file's random part is the only difference allowed.
func TestEditorMatchesVirsh(t *testing.T) {
	bin := virtshBinary(t)
	// Unset, not empty: virsh would run an empty $VISUAL.
	t.Setenv("VISUAL", "")
	os.Unsetenv("VISUAL")
	tmpName := regexp.MustCompile(`/virsh[A-Za-z0-9]{6}\.xml`)
	norm := func(s string) string { return tmpName.ReplaceAllString(s, "/virshXXXXXX.xml") }
	for _, editor := range []string{"true", "false", "false -x", "nosuch-editor", "/nonexistent/editor", "kill -9 $$; true"} {
		for _, c := range []string{"edit test", "checkpoint-create-as test c1; checkpoint-edit test c1"} {
			args := []string{"-c", "test:///default", c}
			env := []string{"EDITOR=" + editor}
			vo, ve, vc := runBinary(t, "", env, realVirsh, args...)
			to, te, tc := runBinary(t, "", env, bin, args...)
			if norm(vo) != norm(to) || norm(ve) != norm(te) || vc != tc {
				t.Errorf("EDITOR=%q %q:\nvirsh  (%q, %q, %d)\nvirtsh (%q, %q, %d)", editor, c, vo, ve, vc, to, te, tc)
			}
		}
	}
}
