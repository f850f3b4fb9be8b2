package cmd

import (
	"reflect"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/virtsh/virtsh/completion"
)

// objectKinds are the completer kinds an option naming a libvirt object (or a
// local file) must have, by option name. Options that name a NEW object (a
// name the user makes up) are not listed: they carry completion.KindNone.
var objectKinds = map[string][]string{
	"domain":         {completion.KindDomain, completion.KindDomainUUID},
	"path":           {completion.KindDisk, completion.KindDiskIndex, completion.KindBlockJob},
	"dev":            {completion.KindDisk, completion.KindDiskIndex},
	"device":         {completion.KindDisk, completion.KindDiskIndex},
	"top":            {completion.KindDiskIndex},
	"base":           {completion.KindDiskIndex},
	"diskspec":       {completion.KindDisk},
	"storage":        {completion.KindDiskList},
	"checkpointname": {completion.KindCheckpoint},
	"incremental":    {completion.KindCheckpoint},
	"snapshotname":   {completion.KindSnapshot},
	"event":          {completion.KindEvent},
	"file":           {completion.KindFile},
	"xml":            {completion.KindFile},
	"xmlfile":        {completion.KindFile},
	"checkpointxml":  {completion.KindFile},
	"backupxml":      {completion.KindFile},
	"dest":           {completion.KindFile},
	"dir":            {completion.KindDir},
	"target-dir":     {completion.KindDir},
}

// objectKindsByCommand are the names whose object depends on the command.
var objectKindsByCommand = map[string]map[string][]string{
	"from": {"checkpoint-": {completion.KindCheckpoint}, "snapshot-": {completion.KindSnapshot}},
}

func walkCommands(c *cobra.Command, f func(*cobra.Command)) {
	f(c)
	for _, sub := range c.Commands() {
		walkCommands(sub, f)
	}
}

// Every option of every command: an annotated completer kind is one the
// engine knows (an unknown kind completes nothing, silently); every string
// or argv option has a completer (completion.KindNone when intentionally
// none, as virsh's `self-test --completers-missing` demands); an option
// naming a domain, disk, checkpoint, snapshot, event, file or directory has
// the completer for it.
func TestEveryOptionHasKnownCompleter(t *testing.T) {
	root := DocRoot()
	n := 0
	walkCommands(root, func(c *cobra.Command) {
		c.Flags().VisitAll(func(f *pflag.Flag) {
			n++
			where := c.CommandPath() + " --" + f.Name
			spec := f.Annotations[annCompleter]
			kind := ""
			if len(spec) > 0 {
				kind = spec[0]
				if !completion.KnownKind(kind) {
					t.Errorf("%s: completer kind %q unknown to the completion engine", where, kind)
				}
				if (kind == completion.KindDomain || kind == completion.KindDomainUUID) && len(spec) > 1 {
					if bad := completion.UnknownFilterWords(spec[1]); len(bad) > 0 {
						t.Errorf("%s: domain filter %q has words the engine ignores: %q", where, spec[1], bad)
					}
				}
			}
			if k := flagKind(f); (k == kString || k == kArgv) && len(spec) == 0 {
				t.Errorf("%s: %s option without a completer (completion.KindNone if intended)", where, k)
			}
			want := objectKinds[f.Name]
			if byCmd, ok := objectKindsByCommand[f.Name]; ok {
				want = nil
				for prefix, kinds := range byCmd {
					if strings.HasPrefix(c.Name(), prefix) {
						want = kinds
					}
				}
			}
			if want != nil && flagKind(f) != kBool && !contains(want, kind) {
				t.Errorf("%s: completer %q, want one of %q", where, kind, want)
			}
			if kind == completion.KindDiskIndex && len(spec) > 1 && spec[1] != "" && c.Flags().Lookup(spec[1]) == nil {
				t.Errorf("%s: disk-index completer refers to --%s, which %s does not have", where, spec[1], c.Name())
			}
		})
	})
	if n < 200 {
		t.Fatalf("walked only %d options: the tree is not the full one", n)
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// event --list and the --event completer offer the same names.
func TestEventNamesMatchCompleter(t *testing.T) {
	if !reflect.DeepEqual(eventNames, completion.EventNames) {
		t.Fatalf("cmd eventNames %q\ncompletion.EventNames %q", eventNames, completion.EventNames)
	}
}

// The kinds fixed after the merge, through `virtsh __complete` on the real
// tree: domname's UUIDs, debug's topics, event names, blockcopy --format.
func TestCompleteMergedKinds(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"__complete", "-c", "test:///default", "domname", ""}, "6695eb01-f6a4-8304-79aa-97f2502e193f\ttest\n:4\n"},
		{[]string{"__completeNoDesc", "-c", "test:///default", "domname", "--domain", "6695"}, "6695eb01-f6a4-8304-79aa-97f2502e193f\n:4\n"},
		{[]string{"__completeNoDesc", "event", "--event", "block-t"}, "block-threshold\n:4\n"},
		{[]string{"__completeNoDesc", "blockcopy", "--format", "qc"}, "qcow\nqcow2\n:4\n"},
		{[]string{"__completeNoDesc", "-c", "test:///default", "undefine", "test", "--storage", "vda,"}, "vda,/guest/diskimage1\n:6\n"},
	} {
		out, errOut, code := runMain(t, "", tc.args...)
		if out != tc.want || errOut != "" || code != 0 {
			t.Errorf("virtsh %q:\nstdout %q\nstderr %q code %d\nwant   %q", tc.args, out, errOut, code, tc.want)
		}
	}
	// debug's topic: every topic the command knows.
	out, _, _ := runMain(t, "", "__completeNoDesc", "debug", "")
	if want := strings.Join(debugTopics, "\n") + "\n:4\n"; out != want {
		t.Errorf("debug topics: %q, want %q", out, want)
	}
}
