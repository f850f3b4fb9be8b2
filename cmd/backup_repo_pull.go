package cmd

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"

	"libvirt.org/go/libvirt"
	"libvirt.org/go/libvirtxml"

	"github.com/virtsh/virtsh/format"
	"github.com/virtsh/virtsh/shell/backuprepo"
	"github.com/virtsh/virtsh/shell/domain"
	"github.com/virtsh/virtsh/shell/nbd"
)

// backup-create --pull: libvirt's pull-mode backup exports each disk over
// NBD (a UNIX socket on this host, TCP on a remote one); virtsh reads what
// the point needs through libnbd — the allocated extents (base:allocation)
// for a full, the dirty ones (qemu:dirty-bitmap:backup-<disk>) for inc and
// diff — with several connections reading at once, and writes them into
// the point's qcow2 file through a qemu-nbd of its own.

// pullReaders is the number of NBD connections reading one disk at once.
const pullReaders = 4

// pullChunk is the most one read request asks for.
const pullChunk = 4 << 20

// pullServer is where libvirt's NBD server listens.
type pullServer struct {
	socket string // a UNIX socket on this host, or
	host   string // a TCP address on the guest's host
	port   int
	// scratch is where the scratch files go on the guest's host.
	scratch string
	cleanup func()
}

// newPullServer picks the NBD server's address: a UNIX socket when the
// connection is to this host, TCP on the host's name otherwise.
func newPullServer(env *Env, ckpt string) (*pullServer, error) {
	conn, err := env.Sess.Conn()
	if err != nil {
		return nil, err
	}
	uri, err := conn.GetURI()
	if err != nil {
		return nil, err
	}
	u, err := url.Parse(uri)
	if err != nil {
		return nil, err
	}
	transport := ""
	if i := strings.IndexByte(u.Scheme, '+'); i >= 0 {
		transport = u.Scheme[i+1:]
	}
	if u.Hostname() == "" || transport == "unix" {
		dir, err := os.MkdirTemp("", "virtsh-nbd-")
		if err != nil {
			return nil, err
		}
		return &pullServer{socket: filepath.Join(dir, "nbd.sock"), scratch: dir, cleanup: func() { _ = os.RemoveAll(dir) }}, nil
	}
	var b [2]byte
	_, _ = rand.Read(b[:])
	// A port among the dynamic ones; libvirt says so if it is taken.
	port := 49152 + int(binary.BigEndian.Uint16(b[:]))%16000
	return &pullServer{host: u.Hostname(), port: port, scratch: "/var/tmp", cleanup: func() {}}, nil
}

// pullBackupXML is the pull backup of the disks, incremental from parent's
// checkpoint when there is one.
func pullBackupXML(def *libvirtxml.Domain, disks []domain.Disk, s *pullServer, parent *backuprepo.Point, ckpt string) (string, error) {
	srv := &libvirtxml.DomainBackupPullServer{}
	if s.socket != "" {
		srv.UNIX = &libvirtxml.DomainBackupPullServerUNIX{Socket: s.socket}
	} else {
		srv.TCP = &libvirtxml.DomainBackupPullServerTCP{Name: s.host, Port: uint(s.port)}
	}
	b := libvirtxml.DomainBackup{Pull: &libvirtxml.DomainBackupPull{Server: srv, Disks: &libvirtxml.DomainBackupPullDisks{}}}
	if parent != nil {
		b.Incremental = parent.Checkpoint
	}
	wanted := map[string]bool{}
	for _, dk := range disks {
		wanted[dk.Target] = true
		pd := libvirtxml.DomainBackupPullDisk{Name: dk.Target, Backup: "yes", ExportName: dk.Target,
			Driver:  &libvirtxml.DomainBackupDiskDriver{Type: "qcow2"},
			Scratch: &libvirtxml.DomainDiskSource{File: &libvirtxml.DomainDiskSourceFile{File: filepath.Join(s.scratch, ckpt+"-"+dk.Target+".scratch")}}}
		if parent != nil {
			pd.ExportBitmap = "backup-" + dk.Target
		}
		b.Pull.Disks.Disks = append(b.Pull.Disks.Disks, pd)
	}
	for _, dk := range domain.DisksOf(def) {
		if dk.Target == "" || wanted[dk.Target] || dk.Device != "disk" {
			continue
		}
		b.Pull.Disks.Disks = append(b.Pull.Disks.Disks, libvirtxml.DomainBackupPullDisk{Name: dk.Target, Backup: "no"})
	}
	return b.Marshal()
}

// connect opens one NBD connection to a disk's export.
func (s *pullServer) connect(export string, contexts ...string) (*nbd.Conn, error) {
	if s.socket != "" {
		return nbd.ConnectUnix(s.socket, export, contexts...)
	}
	return nbd.ConnectTCP(s.host, s.port, export, contexts...)
}

// diskPull is what a pull backup reads of one disk: the extents, in
// chunks, over a first connection that asked for the meta context.
type diskPull struct {
	target, parentImg string
	first             *nbd.Conn
	size              int64
	todo              []nbd.Extent
	bytes             int64 // the extents' total
}

// planDisk asks the export of one disk which extents the point needs: the
// allocated ones for a full, the dirty ones since the parent's checkpoint
// for an inc or diff (parentImg is the parent's data file then).
func planDisk(s *pullServer, target, parentImg string) (*diskPull, error) {
	context := nbd.BaseAllocation
	if parentImg != "" {
		context = nbd.DirtyBitmapPrefix + "backup-" + target
	}
	first, err := s.connect(target, context)
	if err != nil {
		return nil, err
	}
	p := &diskPull{target: target, parentImg: parentImg, first: first}
	if !first.CanMetaContext(context) {
		first.Close()
		return nil, fmt.Errorf("the NBD server does not offer %s for disk %s", context, target)
	}
	if p.size, err = first.Size(); err != nil {
		first.Close()
		return nil, err
	}
	extents, err := first.BlockStatus(context, 0, p.size)
	if err != nil {
		first.Close()
		return nil, err
	}
	for _, e := range extents {
		want := e.Flags&nbd.StateDirty != 0
		if parentImg == "" {
			want = e.Flags&(nbd.StateHole|nbd.StateZero) == 0
		}
		if !want {
			continue
		}
		for off := int64(0); off < e.Length; off += pullChunk {
			p.todo = append(p.todo, nbd.Extent{Offset: e.Offset + off, Length: min(pullChunk, e.Length-off)})
		}
		p.bytes += e.Length
	}
	return p, nil
}

// copyDisk copies the planned extents from the export into img (made
// here: layered on parentImg for an inc or diff, so that dirty extents that
// read as zeros hide the data below) with several connections reading at
// once; done counts the bytes copied, for progress. It returns the bytes
// read over NBD.
func (p *diskPull) copyDisk(ctx context.Context, s *pullServer, img string, done *atomic.Int64, progress func()) (int64, error) {
	args := []string{"create", "-q", "-f", "qcow2"}
	if p.parentImg != "" {
		args = append(args, "-b", p.parentImg, "-F", "qcow2")
	}
	if out, err := exec.Command("qemu-img", append(args, img, fmt.Sprint(p.size))...).CombinedOutput(); err != nil {
		return 0, fmt.Errorf("qemu-img create %s: %s", img, strings.TrimSpace(string(out)))
	}
	w, err := nbd.ConnectCommand([]string{"qemu-nbd", "-f", "qcow2", img})
	if err != nil {
		return 0, err
	}
	defer w.Close()

	readers := []*nbd.Conn{p.first}
	for i := 1; i < pullReaders && i < len(p.todo); i++ {
		c, err := s.connect(p.target)
		if err != nil {
			break // fewer connections read then
		}
		defer c.Close()
		readers = append(readers, c)
	}
	jobs := make(chan nbd.Extent)
	var mu sync.Mutex
	var firstErr error
	setErr := func(err error) {
		mu.Lock()
		if firstErr == nil {
			firstErr = err
		}
		mu.Unlock()
	}
	failed := func() bool {
		mu.Lock()
		defer mu.Unlock()
		return firstErr != nil
	}
	var wg sync.WaitGroup
	for _, r := range readers {
		wg.Add(1)
		go func(r *nbd.Conn) {
			defer wg.Done()
			buf := make([]byte, pullChunk)
			for e := range jobs {
				b := buf[:e.Length]
				if err := r.Pread(b, e.Offset); err != nil {
					setErr(err)
					continue
				}
				if err := p.store(w, b, e.Offset); err != nil {
					setErr(err)
				}
				done.Add(e.Length)
			}
		}(r)
	}
feed:
	for _, e := range p.todo {
		if failed() {
			break
		}
		select {
		case jobs <- e:
			progress()
		case <-ctx.Done():
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	var read int64
	for _, r := range readers {
		read += r.Read.Load()
	}
	if firstErr != nil {
		return read, firstErr
	}
	if ctx.Err() != nil {
		return read, ctx.Err()
	}
	return read, w.Flush()
}

// blockWriter is where store writes: the point image's NBD connection.
type blockWriter interface {
	Pwrite(b []byte, off int64) error
	Zero(off, length int64) error
}

// zeroBlock is the unit in which read data is told zeros from data: a
// qcow2 cluster (64 KiB, the default, and the bitmaps' granularity).
const zeroBlock = 64 << 10

// store writes data read at off into the point's image: runs of zero
// blocks become zero clusters for an inc or diff (they hide the data below)
// and are left out of a full (nothing is below); the rest is written.
func (p *diskPull) store(w blockWriter, b []byte, off int64) error {
	for start := 0; start < len(b); {
		zero := isZero(b[start:min(start+zeroBlock, len(b))])
		end := start
		for end < len(b) && isZero(b[end:min(end+zeroBlock, len(b))]) == zero {
			end = min(end+zeroBlock, len(b))
		}
		var err error
		switch {
		case !zero:
			err = w.Pwrite(b[start:end], off+int64(start))
		case p.parentImg != "":
			err = w.Zero(off+int64(start), int64(end-start))
		}
		if err != nil {
			return err
		}
		start = end
	}
	return nil
}

func isZero(b []byte) bool {
	var zero [4096]byte
	for len(b) > 0 {
		n := min(len(b), len(zero))
		if !bytes.Equal(b[:n], zero[:n]) {
			return false
		}
		b = b[n:]
	}
	return true
}

// runPull reads every disk of a started pull backup into staging and ends
// the job; it returns the bytes read. Ctrl-C and the timeout (ctx) stop the
// reading; the caller then undoes the backup. With prog, progress is drawn
// over all disks' extents.
func runPull(ctx context.Context, w *jobWaiter, s *pullServer, r *backuprepo.Repo, disks []domain.Disk, staging string,
	parent *backuprepo.Point, prog *format.Progress) (int64, error) {
	var total int64
	failure := func() error {
		var plans []*diskPull
		defer func() {
			for _, p := range plans {
				p.first.Close()
			}
		}()
		var all int64
		for _, dk := range disks {
			parentImg := ""
			if parent != nil {
				f, err := parentFile(r, parent, dk.Target)
				if err != nil {
					return err
				}
				parentImg = f
			}
			p, err := planDisk(s, dk.Target, parentImg)
			if err != nil {
				return err
			}
			plans = append(plans, p)
			all += p.bytes
		}
		var done atomic.Int64
		progress := func() {
			if prog != nil && all > 0 {
				prog.Update(uint64(done.Load()), uint64(all))
			}
		}
		for _, p := range plans {
			n, err := p.copyDisk(ctx, s, filepath.Join(staging, p.target+".qcow2"), &done, progress)
			total += n
			if err != nil {
				return err
			}
		}
		if prog != nil {
			prog.Complete()
		}
		return nil
	}()
	// A pull backup runs until it is ended: end it, and wait until libvirt
	// has (its scratch files and NBD server go).
	res := w.abort()
	switch {
	case failure != nil && (errors.Is(failure, context.Canceled) || errors.Is(failure, context.DeadlineExceeded)):
		return total, errPullAborted
	case failure != nil:
		return total, failure
	case res.err != nil:
		return total, res.err
	}
	return total, nil
}

var errPullAborted = errors.New("Backup aborted")

// parentFile is the data file of the disk in the point an inc or diff is
// layered on.
func parentFile(r *backuprepo.Repo, p *backuprepo.Point, target string) (string, error) {
	for _, d := range p.Disks {
		if d.Target == target {
			return filepath.Abs(r.Path(d.File))
		}
	}
	return "", fmt.Errorf("point %d holds no data for disk %s", p.N, target)
}

// pullJobWaiter is a jobWaiter for a pull backup: its end is an abort.
func pullJobWaiter(env *Env, d *libvirt.Domain) *jobWaiter {
	w := newJobWaiter(env, d)
	w.pull = true
	return w
}
