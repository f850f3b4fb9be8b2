package cmd

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"syscall"

	"libvirt.org/go/libvirt"

	"github.com/virtsh/virtsh/format"
)

// createdFiles are the files a command asks libvirt to create (blockcopy's
// destination, a push backup's targets). libvirt leaves them behind when
// the job fails or is aborted, and a block job that fails says no more than
// "failed". So, when the files are on this machine (a connection without a
// host part: the daemon sees virtsh's filesystem), a command that did not
// reach its goal removes the ones that did not exist before it started,
// and names a full filesystem as the reason when statfs says so.
type createdFiles struct {
	local bool
	paths []string // did not exist when the command began
}

// fullBelow is the free space under which a filesystem counts as full: less
// than one qcow2 cluster plus metadata is as good as nothing.
const fullBelow = 1 << 20

// newCreatedFiles records which of paths do not exist yet.
func newCreatedFiles(conn *libvirt.Connect, paths ...string) *createdFiles {
	f := &createdFiles{local: localConnection(conn)}
	if !f.local {
		return f
	}
	for _, p := range paths {
		if _, err := os.Lstat(p); os.IsNotExist(err) {
			f.paths = append(f.paths, p)
		}
	}
	return f
}

// localConnection reports whether conn's daemon runs on this machine.
func localConnection(conn *libvirt.Connect) bool {
	uri, err := conn.GetURI()
	if err != nil {
		return false
	}
	u, err := url.Parse(uri)
	return err == nil && u.Host == ""
}

// undo removes the files the command created and returns the error lines
// that say why the job could not write them, if a filesystem is full.
func (f *createdFiles) undo() []string {
	if f == nil || !f.local {
		return nil
	}
	var lines []string
	seen := map[string]bool{}
	for _, p := range f.paths {
		dir := filepath.Dir(p)
		if !seen[dir] {
			seen[dir] = true
			var st syscall.Statfs_t
			if syscall.Statfs(dir, &st) == nil {
				if free := st.Bavail * uint64(st.Bsize); free < fullBelow {
					lines = append(lines, fmt.Sprintf("No space left on device: the filesystem holding %s has %s free", dir, format.HumanSize(free)))
				}
			}
		}
		_ = os.Remove(p)
	}
	return lines
}
