// Package nbd is the thin cgo layer over libnbd's C API (Debian libnbd-dev)
// that virtsh's pull-mode backups need: connect (UNIX socket, TCP, or a
// socket-activated local server such as qemu-nbd), the export's size,
// block status in a meta context (base:allocation, qemu:dirty-bitmap:…),
// pread, pwrite, zero, flush. A Conn is one libnbd handle; libnbd handles
// are thread-safe, and several Conns to one export give requests in flight.
package nbd

/*
#cgo pkg-config: libnbd
#include <stdlib.h>
#include <stdint.h>
#include <libnbd.h>

extern int goExtent(void *user_data, char *metacontext, uint64_t offset, uint32_t *entries, size_t nr_entries, int *error);

static int extent_trampoline(void *user_data, const char *metacontext, uint64_t offset, uint32_t *entries, size_t nr_entries, int *error) {
	return goExtent(user_data, (char *)metacontext, offset, entries, nr_entries, error);
}

static int block_status(struct nbd_handle *h, uint64_t count, uint64_t offset, uintptr_t handle) {
	nbd_extent_callback cb = { .callback = extent_trampoline, .user_data = (void *)handle, .free = NULL };
	return nbd_block_status(h, count, offset, cb, 0);
}

static int connect_activation(struct nbd_handle *h, char **argv) {
	return nbd_connect_systemd_socket_activation(h, argv);
}
*/
import "C"

import (
	"errors"
	"runtime/cgo"
	"strconv"
	"sync/atomic"
	"unsafe"
)

// Meta contexts.
const (
	BaseAllocation = "base:allocation"
	// DirtyBitmapPrefix + export bitmap name is QEMU's context of a dirty
	// bitmap exported with the image (libvirt's pull backup: backup-<disk>).
	DirtyBitmapPrefix = "qemu:dirty-bitmap:"
)

// Flags of base:allocation extents and of dirty-bitmap extents.
const (
	StateHole  = 1 // base:allocation: not allocated
	StateZero  = 2 // base:allocation: reads as zeros
	StateDirty = 1 // qemu:dirty-bitmap: changed
)

// Conn is one NBD connection.
type Conn struct {
	h *C.struct_nbd_handle
	// Read counts the bytes pread returned: what a backup read.
	Read atomic.Int64
}

// lastError is libnbd's error of the last call on this thread (it names
// the call: "nbd_pwrite: ...").
func lastError(what string) error {
	if msg := C.GoString(C.nbd_get_error()); msg != "" {
		return errors.New(msg)
	}
	return errors.New("nbd " + what + ": unknown error")
}

func newConn(export string, contexts []string) (*Conn, error) {
	h := C.nbd_create()
	if h == nil {
		return nil, lastError("create")
	}
	c := &Conn{h: h}
	if export != "" {
		s := C.CString(export)
		defer C.free(unsafe.Pointer(s))
		if C.nbd_set_export_name(h, s) == -1 {
			c.Close()
			return nil, lastError("set export name")
		}
	}
	for _, m := range contexts {
		s := C.CString(m)
		r := C.nbd_add_meta_context(h, s)
		C.free(unsafe.Pointer(s))
		if r == -1 {
			c.Close()
			return nil, lastError("add meta context")
		}
	}
	return c, nil
}

// ConnectUnix connects to an export on a UNIX socket, asking for the meta
// contexts.
func ConnectUnix(socket, export string, contexts ...string) (*Conn, error) {
	c, err := newConn(export, contexts)
	if err != nil {
		return nil, err
	}
	s := C.CString(socket)
	defer C.free(unsafe.Pointer(s))
	if C.nbd_connect_unix(c.h, s) == -1 {
		err := lastError("connect " + socket)
		c.Close()
		return nil, err
	}
	return c, nil
}

// ConnectTCP connects to an export at host:port.
func ConnectTCP(host string, port int, export string, contexts ...string) (*Conn, error) {
	c, err := newConn(export, contexts)
	if err != nil {
		return nil, err
	}
	hs, ps := C.CString(host), C.CString(strconv.Itoa(port))
	defer C.free(unsafe.Pointer(hs))
	defer C.free(unsafe.Pointer(ps))
	if C.nbd_connect_tcp(c.h, hs, ps) == -1 {
		err := lastError("connect " + host + ":" + strconv.Itoa(port))
		c.Close()
		return nil, err
	}
	return c, nil
}

// ConnectCommand starts argv (a server that takes systemd socket
// activation, e.g. qemu-nbd -f qcow2 IMAGE) and connects to it, asking for
// the meta contexts; Close ends it.
func ConnectCommand(argv []string, contexts ...string) (*Conn, error) {
	c, err := newConn("", contexts)
	if err != nil {
		return nil, err
	}
	cargv := make([]*C.char, len(argv)+1)
	for i, a := range argv {
		cargv[i] = C.CString(a)
	}
	defer func() {
		for _, p := range cargv[:len(argv)] {
			C.free(unsafe.Pointer(p))
		}
	}()
	// The array in C memory: libnbd keeps argv while the server runs.
	arr := (**C.char)(C.malloc(C.size_t(len(cargv)) * C.size_t(unsafe.Sizeof(cargv[0]))))
	defer C.free(unsafe.Pointer(arr))
	copy(unsafe.Slice(arr, len(cargv)), cargv)
	if C.connect_activation(c.h, arr) == -1 {
		err := lastError("start " + argv[0])
		c.Close()
		return nil, err
	}
	return c, nil
}

// Close ends the connection (and a server ConnectCommand started).
func (c *Conn) Close() {
	if c.h != nil {
		C.nbd_close(c.h)
		c.h = nil
	}
}

// Size is the export's size in bytes.
func (c *Conn) Size() (int64, error) {
	n := C.nbd_get_size(c.h)
	if n < 0 {
		return 0, lastError("get size")
	}
	return int64(n), nil
}

// CanMetaContext reports whether the server agreed to the context.
func (c *Conn) CanMetaContext(name string) bool {
	s := C.CString(name)
	defer C.free(unsafe.Pointer(s))
	return C.nbd_can_meta_context(c.h, s) == 1
}

// Extent is a stretch of the export with the flags of one meta context.
type Extent struct {
	Offset, Length int64
	Flags          uint32
}

type extentSink struct {
	context string
	offset  int64
	out     []Extent
}

//export goExtent
func goExtent(userData unsafe.Pointer, metacontext *C.char, offset C.uint64_t, entries *C.uint32_t, n C.size_t, _ *C.int) C.int {
	sink := cgo.Handle(uintptr(userData)).Value().(*extentSink)
	if C.GoString(metacontext) != sink.context {
		return 0
	}
	e := unsafe.Slice(entries, int(n))
	off := int64(offset)
	for i := 0; i+1 < len(e); i += 2 {
		l := int64(e[i])
		sink.out = append(sink.out, Extent{Offset: off, Length: l, Flags: uint32(e[i+1])})
		off += l
	}
	return 0
}

// BlockStatus is the extents of [offset, offset+length) in the meta
// context, asked as often as the server answers with less.
func (c *Conn) BlockStatus(context string, offset, length int64) ([]Extent, error) {
	var out []Extent
	end := offset + length
	for offset < end {
		sink := &extentSink{context: context}
		h := cgo.NewHandle(sink)
		// A request is at most 4 GiB - 1 (NBD's 32-bit length).
		n := min(end-offset, 1<<31)
		r := C.block_status(c.h, C.uint64_t(n), C.uint64_t(offset), C.uintptr_t(h))
		h.Delete()
		if r == -1 {
			return nil, lastError("block status")
		}
		if len(sink.out) == 0 {
			return nil, errors.New("nbd block status: no extents in " + context)
		}
		for _, e := range sink.out {
			if e.Offset+e.Length > end {
				e.Length = end - e.Offset
			}
			if e.Length <= 0 {
				continue
			}
			out = append(out, e)
			offset = e.Offset + e.Length
		}
	}
	return out, nil
}

// Pread fills buf from offset.
func (c *Conn) Pread(buf []byte, offset int64) error {
	if len(buf) == 0 {
		return nil
	}
	if C.nbd_pread(c.h, unsafe.Pointer(&buf[0]), C.size_t(len(buf)), C.uint64_t(offset), 0) == -1 {
		return lastError("pread")
	}
	c.Read.Add(int64(len(buf)))
	return nil
}

// ReadAt is Pread as an io.ReaderAt.
func (c *Conn) ReadAt(p []byte, off int64) (int, error) {
	if err := c.Pread(p, off); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Pwrite writes buf at offset.
func (c *Conn) Pwrite(buf []byte, offset int64) error {
	if len(buf) == 0 {
		return nil
	}
	if C.nbd_pwrite(c.h, unsafe.Pointer(&buf[0]), C.size_t(len(buf)), C.uint64_t(offset), 0) == -1 {
		return lastError("pwrite")
	}
	return nil
}

// Zero makes [offset, offset+length) read as zeros.
func (c *Conn) Zero(offset, length int64) error {
	if C.nbd_zero(c.h, C.uint64_t(length), C.uint64_t(offset), 0) == -1 {
		return lastError("zero")
	}
	return nil
}

// Flush makes what was written stable.
func (c *Conn) Flush() error {
	if C.nbd_flush(c.h, 0) == -1 {
		return lastError("flush")
	}
	return nil
}
