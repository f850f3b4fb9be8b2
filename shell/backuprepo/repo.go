// Package backuprepo is virtsh's backup repository: a directory holding one
// guest's chain of backup points (manifest, domain and checkpoint XML, one
// qcow2 file per disk and point) and the rules over it — which points a
// point needs, checkpoint names, checksums of the data, and the staging that
// makes a failed backup leave the repository as it was. It makes no libvirt
// call (cmd/backup_repo*.go does), so it is tested without a hypervisor; it
// runs qemu-img for image maps and restores.
//
// Layout of DIR:
//
//	manifest.json          the chain (Manifest), replaced atomically (rename)
//	points/NNNN/           one committed point: domain.xml, checkpoint.xml, <target>.qcow2
//	.staging-NNNN/         a point being made; removed (or renamed into points/) before the command ends
//	.lock                  flock'ed while a command writes
package backuprepo

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Levels of a point.
const (
	Full = "full" // every allocated extent; starts a chain
	Inc  = "inc"  // what changed since the previous point
	Diff = "diff" // what changed since the chain's full
)

// States of a point, as backup-list shows them.
const (
	StateOK         = "ok"         // the last backup-verify of it passed
	StateUnverified = "unverified" // never verified since it was taken
	StateBroken     = "broken"     // a verify failed, or a point it needs is broken
)

// FormatVersion is the manifest's format; Open refuses others.
const FormatVersion = 1

// Manifest is manifest.json.
type Manifest struct {
	Version int     `json:"version"`
	ID      string  `json:"id"` // the repository's own name in its checkpoints' names
	Domain  string  `json:"domain"`
	UUID    string  `json:"uuid"`
	Points  []Point `json:"points"`
}

// Point is one backup.
type Point struct {
	N          int       `json:"point"`
	Checkpoint string    `json:"checkpoint"`
	Time       time.Time `json:"time"`
	Level      string    `json:"level"`
	// Parent is the point whose data this one is layered on (0 for a
	// full): the previous point for inc, the chain's full for diff.
	Parent int    `json:"parent"`
	Disks  []Disk `json:"disks"`
	State  string `json:"state"`
	// Why is a broken point's first bad place.
	Why string `json:"why,omitempty"`
}

// Disk is one disk's data in one point.
type Disk struct {
	Target   string   `json:"target"`
	File     string   `json:"file"`     // relative to DIR
	Capacity int64    `json:"capacity"` // virtual size
	Bytes    int64    `json:"bytes"`    // data the point holds for it
	Extents  []Extent `json:"extents"`  // what it holds, with checksums
}

// Extent is a stretch of guest data a point's image holds: Zero extents
// read as zeros over whatever the points below hold; others carry the
// SHA-256 of the bytes the image stores for them.
type Extent struct {
	Offset int64  `json:"offset"`
	Length int64  `json:"length"`
	Zero   bool   `json:"zero,omitempty"`
	SHA256 string `json:"sha256,omitempty"`
}

// Repo is an open repository.
type Repo struct {
	Dir string
	M   Manifest
	// lock is the .lock file while the repository is opened for writing.
	lock *os.File
}

const manifestName = "manifest.json"

// Exists reports whether dir holds a repository.
func Exists(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, manifestName))
	return err == nil
}

// Create makes a new, empty repository in dir (which may exist, empty, or
// not exist yet), for the domain, and opens it for writing.
func Create(dir, domainName, uuid string) (*Repo, error) {
	if Exists(dir) {
		return nil, fmt.Errorf("'%s' already holds a backup repository", dir)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	if ents, err := os.ReadDir(dir); err != nil {
		return nil, err
	} else if len(ents) > 0 {
		return nil, fmt.Errorf("'%s' is not empty and holds no backup repository", dir)
	}
	id := make([]byte, 4)
	if _, err := rand.Read(id); err != nil {
		return nil, err
	}
	r := &Repo{Dir: dir, M: Manifest{Version: FormatVersion, ID: hex.EncodeToString(id), Domain: domainName, UUID: uuid, Points: []Point{}}}
	if err := r.Lock(); err != nil {
		return nil, err
	}
	return r, nil
}

// Open reads the repository in dir. With write, it takes the lock: one
// writer at a time.
func Open(dir string, write bool) (*Repo, error) {
	b, err := os.ReadFile(filepath.Join(dir, manifestName))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("'%s' holds no backup repository", dir)
	}
	if err != nil {
		return nil, err
	}
	r := &Repo{Dir: dir}
	if err := json.Unmarshal(b, &r.M); err != nil {
		return nil, fmt.Errorf("broken manifest %s: %v", filepath.Join(dir, manifestName), err)
	}
	if r.M.Version != FormatVersion {
		return nil, fmt.Errorf("manifest %s has format %d, this virtsh reads %d", filepath.Join(dir, manifestName), r.M.Version, FormatVersion)
	}
	if write {
		if err := r.Lock(); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// Lock takes the repository's write lock (without waiting).
func (r *Repo) Lock() error {
	f, err := os.OpenFile(filepath.Join(r.Dir, ".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return fmt.Errorf("repository '%s' is in use by another command", r.Dir)
	}
	r.lock = f
	return nil
}

// Close releases the lock.
func (r *Repo) Close() {
	if r.lock != nil {
		r.lock.Close()
		r.lock = nil
	}
}

// Save writes the manifest: to a temporary file, synced, then renamed over
// the old one, so a reader sees the old manifest or the new, never half.
func (r *Repo) Save() error {
	b, err := json.MarshalIndent(r.M, "", "  ")
	if err != nil {
		return err
	}
	tmp := filepath.Join(r.Dir, manifestName+".tmp")
	if err := writeSynced(tmp, append(b, '\n')); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, filepath.Join(r.Dir, manifestName)); err != nil {
		os.Remove(tmp)
		return err
	}
	return syncDir(r.Dir)
}

// WriteFile writes a file whole and syncs it.
func WriteFile(path string, data []byte) error { return writeSynced(path, data) }

func writeSynced(path string, data []byte) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// CheckpointName is the name of point n's checkpoint: the repository's ID
// in it keeps two repositories of one guest apart.
func (r *Repo) CheckpointName(n int) string { return fmt.Sprintf("virtsh.%s.%d", r.M.ID, n) }

// Owns reports whether a checkpoint name is one of this repository's.
func (r *Repo) Owns(checkpoint string) bool {
	return strings.HasPrefix(checkpoint, "virtsh."+r.M.ID+".")
}

// IsRepoCheckpoint reports whether a checkpoint name is a virtsh
// repository's (any repository), and which repository ID it names.
func IsRepoCheckpoint(name string) (id string, ok bool) {
	parts := strings.Split(name, ".")
	if len(parts) != 3 || parts[0] != "virtsh" {
		return "", false
	}
	if _, err := strconv.Atoi(parts[2]); err != nil {
		return "", false
	}
	return parts[1], true
}

// Last is the latest point (nil when there is none).
func (r *Repo) Last() *Point {
	if len(r.M.Points) == 0 {
		return nil
	}
	return &r.M.Points[len(r.M.Points)-1]
}

// NextN is the number the next point gets.
func (r *Repo) NextN() int {
	if p := r.Last(); p != nil {
		return p.N + 1
	}
	return 1
}

// Point finds a point by its number or its checkpoint's name; "" is the
// latest.
func (r *Repo) Point(word string) (*Point, error) {
	if len(r.M.Points) == 0 {
		return nil, fmt.Errorf("repository '%s' holds no point", r.Dir)
	}
	if word == "" {
		return r.Last(), nil
	}
	for i := range r.M.Points {
		p := &r.M.Points[i]
		if p.Checkpoint == word || strconv.Itoa(p.N) == word {
			return p, nil
		}
	}
	return nil, fmt.Errorf("repository '%s' has no point '%s'", r.Dir, word)
}

func (r *Repo) byN(n int) *Point {
	for i := range r.M.Points {
		if r.M.Points[i].N == n {
			return &r.M.Points[i]
		}
	}
	return nil
}

// Chain is the points whose data make up point p, its full first and p
// last.
func (r *Repo) Chain(p *Point) ([]*Point, error) {
	var out []*Point
	for cur := p; ; {
		out = append([]*Point{cur}, out...)
		if cur.Level == Full {
			return out, nil
		}
		next := r.byN(cur.Parent)
		if next == nil || next.N >= cur.N {
			return nil, fmt.Errorf("point %d needs point %d, which the repository does not hold", cur.N, cur.Parent)
		}
		cur = next
	}
}

// FullOf is the full point p's chain starts with.
func (r *Repo) FullOf(p *Point) (*Point, error) {
	c, err := r.Chain(p)
	if err != nil {
		return nil, err
	}
	return c[0], nil
}

// ParentFor is the point a new point of level would be layered on, and its
// checkpoint the backup is incremental from (nil for a full).
func (r *Repo) ParentFor(level string) (*Point, error) {
	last := r.Last()
	switch level {
	case Full:
		return nil, nil
	case Inc:
		if last == nil {
			return nil, errors.New("the repository holds no point yet: an incremental needs a full first")
		}
		return last, nil
	case Diff:
		if last == nil {
			return nil, errors.New("the repository holds no point yet: a differential needs a full first")
		}
		return r.FullOf(last)
	}
	return nil, fmt.Errorf("unknown backup level '%s'", level)
}

// PointDir is where a committed point's files are.
func (r *Repo) PointDir(n int) string { return filepath.Join(r.Dir, "points", fmt.Sprintf("%04d", n)) }

// StagingDir is where point n is made before it is committed.
func (r *Repo) StagingDir(n int) string { return filepath.Join(r.Dir, fmt.Sprintf(".staging-%04d", n)) }

// Path is a repository-relative file's path.
func (r *Repo) Path(rel string) string { return filepath.Join(r.Dir, rel) }

// BeginStaging makes an empty staging directory for point n, removing a
// stale one an earlier killed command left behind.
func (r *Repo) BeginStaging(n int) (string, error) {
	dir := r.StagingDir(n)
	if err := os.RemoveAll(dir); err != nil {
		return "", err
	}
	if err := os.Mkdir(dir, 0o755); err != nil {
		return "", err
	}
	// QEMU writes the backup there, as the user it runs as; a repository
	// whose owner is not us (root) is that user's: so is its staging.
	if st, err := os.Stat(r.Dir); err == nil && os.Geteuid() == 0 {
		if sys, ok := st.Sys().(*syscall.Stat_t); ok && sys.Uid != 0 {
			if err := os.Chown(dir, int(sys.Uid), int(sys.Gid)); err != nil {
				return "", err
			}
		}
	}
	return dir, nil
}

// Commit makes the staged point p part of the repository: its directory is
// renamed into points/ and the manifest saved. On failure nothing of p is
// left (the caller still owns the checkpoint).
func (r *Repo) Commit(p Point) error {
	staging, final := r.StagingDir(p.N), r.PointDir(p.N)
	if err := os.MkdirAll(filepath.Dir(final), 0o755); err != nil {
		return err
	}
	_ = os.RemoveAll(final) // a stale one, never in the manifest
	if err := os.Rename(staging, final); err != nil {
		return err
	}
	r.M.Points = append(r.M.Points, p)
	if err := r.Save(); err != nil {
		r.M.Points = r.M.Points[:len(r.M.Points)-1]
		_ = os.RemoveAll(final)
		return err
	}
	return nil
}

// AbortStaging removes point n's staging directory.
func (r *Repo) AbortStaging(n int) { _ = os.RemoveAll(r.StagingDir(n)) }

// DiskFile is the repository-relative data file of a disk in point n.
func DiskFile(n int, target string) string {
	return filepath.Join("points", fmt.Sprintf("%04d", n), target+".qcow2")
}

// MarkStates sets the state of points after a verify: bad maps a point
// number to why it is broken; every point whose chain holds a broken point
// is broken too; the others become ok when verified holds them.
func (r *Repo) MarkStates(verified map[int]bool, bad map[int]string) {
	for i := range r.M.Points {
		p := &r.M.Points[i]
		if why, ok := bad[p.N]; ok {
			p.State, p.Why = StateBroken, why
			continue
		}
		if verified[p.N] {
			p.State, p.Why = StateOK, ""
		}
	}
	for i := range r.M.Points {
		p := &r.M.Points[i]
		if p.State == StateBroken {
			continue
		}
		chain, err := r.Chain(p)
		if err != nil {
			p.State, p.Why = StateBroken, err.Error()
			continue
		}
		for _, q := range chain {
			if q.State == StateBroken {
				p.State, p.Why = StateBroken, fmt.Sprintf("needs broken point %d", q.N)
				break
			}
		}
	}
}
