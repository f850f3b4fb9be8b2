package backuprepo

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// repoWith is a repository in a temporary directory holding points of the
// given levels, each inc on the one before, each diff on the full before it.
func repoWith(t *testing.T, levels ...string) *Repo {
	t.Helper()
	r, err := Create(filepath.Join(t.TempDir(), "repo"), "vm", "u-u-i-d")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	for _, l := range levels {
		parent, err := r.ParentFor(l)
		if err != nil {
			t.Fatal(err)
		}
		p := Point{N: r.NextN(), Checkpoint: r.CheckpointName(r.NextN()), Level: l, State: StateUnverified}
		if parent != nil {
			p.Parent = parent.N
		}
		if _, err := r.BeginStaging(p.N); err != nil {
			t.Fatal(err)
		}
		if err := r.Commit(p); err != nil {
			t.Fatal(err)
		}
	}
	return r
}

func chainNs(t *testing.T, r *Repo, word string) string {
	t.Helper()
	p, err := r.Point(word)
	if err != nil {
		t.Fatal(err)
	}
	c, err := r.Chain(p)
	if err != nil {
		t.Fatal(err)
	}
	var s []string
	for _, q := range c {
		s = append(s, q.Level+itoa(q.N))
	}
	return strings.Join(s, " ")
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

func TestChainOfEachLevel(t *testing.T) {
	r := repoWith(t, Full, Inc, Inc, Diff, Full, Diff, Inc)
	for word, want := range map[string]string{
		"1": "full1", "3": "full1 inc2 inc3", "4": "full1 diff4", "5": "full5",
		"6": "full5 diff6", "": "full5 diff6 inc7", r.CheckpointName(3): "full1 inc2 inc3",
	} {
		if got := chainNs(t, r, word); got != want {
			t.Errorf("chain of %q = %s, want %s", word, got, want)
		}
	}
	if _, err := r.Point("8"); err == nil || !strings.Contains(err.Error(), "has no point '8'") {
		t.Errorf("unknown point: %v", err)
	}
}

func TestParentForNeedsAFull(t *testing.T) {
	r := repoWith(t)
	for _, l := range []string{Inc, Diff} {
		if _, err := r.ParentFor(l); err == nil || !strings.Contains(err.Error(), "needs a full first") {
			t.Errorf("%s on an empty repository: %v", l, err)
		}
	}
	if _, err := r.ParentFor("weekly"); err == nil {
		t.Error("an unknown level is accepted")
	}
}

func TestCommitIsWhatOpenReads(t *testing.T) {
	r := repoWith(t, Full, Inc)
	r.Close()
	again, err := Open(r.Dir, true)
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	if len(again.M.Points) != 2 || again.M.ID != r.M.ID || again.M.Points[1].Parent != 1 {
		t.Errorf("reopened: %+v", again.M)
	}
	for _, n := range []int{1, 2} {
		if _, err := os.Stat(again.PointDir(n)); err != nil {
			t.Errorf("point %d's directory: %v", n, err)
		}
	}
	if _, err := os.Stat(again.StagingDir(2)); err == nil {
		t.Error("a committed point's staging directory is left")
	}
	// One writer at a time.
	if _, err := Open(r.Dir, true); err == nil || !strings.Contains(err.Error(), "in use by another command") {
		t.Errorf("second writer: %v", err)
	}
}

// A commit whose manifest cannot be written leaves neither the point in
// memory nor its directory.
func TestCommitFailureLeavesNothing(t *testing.T) {
	r := repoWith(t, Full)
	if _, err := r.BeginStaging(2); err != nil {
		t.Fatal(err)
	}
	// A directory where the temporary manifest goes makes the write fail.
	if err := os.Mkdir(filepath.Join(r.Dir, manifestName+".tmp"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := r.Commit(Point{N: 2, Level: Inc, Parent: 1}); err == nil {
		t.Fatal("commit succeeded")
	}
	if len(r.M.Points) != 1 {
		t.Errorf("points after a failed commit: %+v", r.M.Points)
	}
	if _, err := os.Stat(r.PointDir(2)); err == nil {
		t.Error("the failed point's directory is left")
	}
	b, _ := os.ReadFile(filepath.Join(r.Dir, manifestName))
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil || len(m.Points) != 1 {
		t.Errorf("manifest on disk after a failed commit: %v %s", err, b)
	}
}

func TestCreateRefusesAForeignDirectory(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "x"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Create(dir, "vm", "u"); err == nil || !strings.Contains(err.Error(), "is not empty") {
		t.Errorf("create in a non-empty directory: %v", err)
	}
	if _, err := Open(dir, false); err == nil || !strings.Contains(err.Error(), "holds no backup repository") {
		t.Errorf("open of a non-repository: %v", err)
	}
}

func TestMarkStatesBreaksWhatIsLayeredOnABadPoint(t *testing.T) {
	r := repoWith(t, Full, Inc, Inc, Diff)
	r.MarkStates(map[int]bool{1: true, 3: true, 4: true}, map[int]string{2: "point 2, disk vda, offset 0: checksum mismatch"})
	var got []string
	for _, p := range r.M.Points {
		got = append(got, p.State)
	}
	if strings.Join(got, " ") != "ok broken broken ok" {
		t.Errorf("states %v", got)
	}
	if r.M.Points[2].Why != "needs broken point 2" {
		t.Errorf("why of point 3: %q", r.M.Points[2].Why)
	}
}

func TestCheckpointNamesKeepRepositoriesApart(t *testing.T) {
	a, b := repoWith(t), repoWith(t)
	if a.CheckpointName(1) == b.CheckpointName(1) {
		t.Fatalf("two repositories name point 1 alike: %s", a.CheckpointName(1))
	}
	if !a.Owns(a.CheckpointName(3)) || a.Owns(b.CheckpointName(3)) {
		t.Error("Owns")
	}
	if id, ok := IsRepoCheckpoint(a.CheckpointName(2)); !ok || id != a.M.ID {
		t.Errorf("IsRepoCheckpoint = %q %v", id, ok)
	}
	for _, n := range []string{"c1", "virtsh.x", "virtsh.x.y", "other.x.1"} {
		if _, ok := IsRepoCheckpoint(n); ok {
			t.Errorf("%s taken for a repository checkpoint", n)
		}
	}
}

// The restore's image name stacks the files base first, each the backing
// of the one above, the base backed by nothing.
func TestChainSpecStacksBaseFirst(t *testing.T) {
	s, err := chainSpec([]string{"/r/1.qcow2", "/r/2.qcow2"})
	if err != nil {
		t.Fatal(err)
	}
	var top struct {
		File    struct{ Filename string }
		Backing *struct {
			File    struct{ Filename string }
			Backing any
		}
	}
	if !strings.HasPrefix(s, "json:") || json.Unmarshal([]byte(strings.TrimPrefix(s, "json:")), &top) != nil {
		t.Fatalf("spec %s", s)
	}
	if top.File.Filename != "/r/2.qcow2" || top.Backing == nil || top.Backing.File.Filename != "/r/1.qcow2" || top.Backing.Backing != nil {
		t.Errorf("spec %s", s)
	}
}
