package cmd

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/virtsh/virtsh/completion"
	"github.com/virtsh/virtsh/shell/spec"
)

// objectKinds are the completer kinds an option naming a libvirt object (or a
// local file) must have, by option name. Options that name a NEW object (a
// name the user makes up) are not listed: they complete spec.Nothing.
var objectKinds = map[string][]spec.CompleterKind{
	"domain":         {spec.Domain, spec.DomainUUID},
	"path":           {spec.Disk, spec.DiskIndex, spec.BlockJob, spec.RemovableDisk},
	"alias":          {spec.DeviceAlias, spec.Nothing},
	"dev":            {spec.Disk, spec.DiskIndex},
	"device":         {spec.Disk, spec.DiskIndex},
	"top":            {spec.DiskIndex},
	"base":           {spec.DiskIndex},
	"diskspec":       {spec.Disk},
	"storage":        {spec.DiskList},
	"checkpointname": {spec.Checkpoint},
	"incremental":    {spec.Checkpoint},
	"snapshotname":   {spec.Snapshot},
	"event":          {spec.Event},
	"file":           {spec.File},
	"xml":            {spec.File},
	"xmlfile":        {spec.File},
	"checkpointxml":  {spec.File},
	"backupxml":      {spec.File},
	"dest":           {spec.File},
	"dir":            {spec.Dir},
	"target-dir":     {spec.Dir},
}

// objectKindsByCommand are the names whose object depends on the command.
var objectKindsByCommand = map[string]map[string][]spec.CompleterKind{
	"from": {"checkpoint-": {spec.Checkpoint}, "snapshot-": {spec.Snapshot}},
}

// Every option of every command: every string or argv option has a
// completer (spec.Nothing when intentionally none, as virsh's `self-test
// --completers-missing` demands); a domain filter has only words the engine
// knows; an option naming a domain, disk, checkpoint, snapshot, event, file or
// directory has the completer for it.
func TestEveryOptionHasKnownCompleter(t *testing.T) {
	n := 0
	for _, c := range DocDeclarations() {
		for _, o := range c.Options {
			n++
			where := c.Name + " --" + o.Name
			kind := o.Completer.Kind
			if (kind == spec.Domain || kind == spec.DomainUUID) && o.Completer.Arg != "" {
				if bad := completion.UnknownFilterWords(o.Completer.Arg); len(bad) > 0 {
					t.Errorf("%s: domain filter %q has words the engine ignores: %q", where, o.Completer.Arg, bad)
				}
			}
			if (o.Kind == spec.String || o.Kind == spec.Argv) && kind == spec.NoCompleter {
				t.Errorf("%s: option without a completer (spec.Nothing if intended)", where)
			}
			want := objectKinds[o.Name]
			if byCmd, ok := objectKindsByCommand[o.Name]; ok {
				want = nil
				for prefix, kinds := range byCmd {
					if strings.HasPrefix(c.Name, prefix) {
						want = kinds
					}
				}
			}
			if want != nil && o.Kind != spec.Bool && !slices.Contains(want, kind) {
				t.Errorf("%s: completer %v, want one of %v", where, kind, want)
			}
			if kind == spec.DiskIndex && o.Completer.Arg != "" && c.Lookup(o.Completer.Arg) == nil {
				t.Errorf("%s: disk-index completer refers to --%s, which %s does not have", where, o.Completer.Arg, c.Name)
			}
		}
	}
	if n < 200 {
		t.Fatalf("walked only %d options: not the whole table", n)
	}
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
