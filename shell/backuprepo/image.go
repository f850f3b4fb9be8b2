package backuprepo

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/virtsh/virtsh/shell/nbd"
)

// ChunkSize is the most guest bytes one checksum covers, so that a bad byte
// is named to within a MiB.
const ChunkSize = 1 << 20

// mapEntry is one line of qemu-img map --output=json.
type mapEntry struct {
	Start, Length int64
	Depth         int
	Present, Zero bool
	Data          bool
	Compressed    bool
	Offset        *int64
}

// qemuImg runs qemu-img and returns its stdout; the error holds its stderr.
func qemuImg(args ...string) ([]byte, error) {
	cmd := exec.Command("qemu-img", args...)
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(errb.String())
		if msg == "" {
			msg = err.Error()
		}
		return nil, fmt.Errorf("qemu-img %s: %s", args[0], msg)
	}
	return out.Bytes(), nil
}

// compressed marks an extent whose data is compressed in the file.
const compressed = -2

// dataReader reads an image's stored data: plain extents from the file at
// their host offset, compressed ones through a read-only qemu-nbd (guest
// offsets), started only when one is met.
type dataReader struct {
	img  string
	file *os.File
	conn *nbd.Conn
}

func openData(img string) (*dataReader, error) {
	f, err := os.Open(img)
	if err != nil {
		return nil, err
	}
	return &dataReader{img: img, file: f}, nil
}

func (r *dataReader) checksum(e Extent, host int64) (string, error) {
	if host != compressed {
		return checksum(r.file, host, e.Length)
	}
	if r.conn == nil {
		c, err := nbd.ConnectCommand([]string{"qemu-nbd", "-r", "-f", "qcow2", r.img})
		if err != nil {
			return "", err
		}
		r.conn = c
	}
	return checksum(r.conn, e.Offset, e.Length)
}

func (r *dataReader) Close() {
	r.file.Close()
	if r.conn != nil {
		r.conn.Close()
	}
}

// imageMap is what a (backing-less) qcow2 image itself holds: its extents,
// without checksums, and for each data extent where its bytes are in the
// file.
func imageMap(img string) ([]Extent, []int64, error) {
	out, err := qemuImg("map", "--output=json", "-f", "qcow2", img)
	if err != nil {
		return nil, nil, err
	}
	var m []mapEntry
	if err := json.Unmarshal(out, &m); err != nil {
		return nil, nil, fmt.Errorf("qemu-img map %s: %v", img, err)
	}
	var ext []Extent
	var host []int64
	for _, e := range m {
		if !e.Present || e.Depth != 0 {
			continue
		}
		if !e.Data {
			ext = append(ext, Extent{Offset: e.Start, Length: e.Length, Zero: true})
			host = append(host, -1)
			continue
		}
		// Split into chunks, each with its own checksum. Compressed data
		// has no plain place in the file: it is read as the guest sees it.
		for off := int64(0); off < e.Length; off += ChunkSize {
			n := min(ChunkSize, e.Length-off)
			ext = append(ext, Extent{Offset: e.Start + off, Length: n})
			if e.Compressed || e.Offset == nil {
				host = append(host, compressed)
			} else {
				host = append(host, *e.Offset+off)
			}
		}
	}
	return ext, host, nil
}

// Scan reads an image and returns what it holds with checksums, and the
// number of data bytes.
func Scan(img string) ([]Extent, int64, error) {
	ext, host, err := imageMap(img)
	if err != nil {
		return nil, 0, err
	}
	f, err := openData(img)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	var total int64
	for i := range ext {
		if ext[i].Zero {
			continue
		}
		sum, err := f.checksum(ext[i], host[i])
		if err != nil {
			return nil, 0, fmt.Errorf("%s: %v", img, err)
		}
		ext[i].SHA256 = sum
		total += ext[i].Length
	}
	return ext, total, nil
}

func checksum(f io.ReaderAt, off, n int64) (string, error) {
	h := sha256.New()
	if _, err := io.Copy(h, io.NewSectionReader(f, off, n)); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// Detach makes an image stand alone: libvirt writes an incremental push
// backup's target with the guest's disk as its backing file, while in the
// repository it is layered on the points below it, named only at restore.
func Detach(img string) error {
	_, err := qemuImg("rebase", "-u", "-f", "qcow2", "-b", "", img)
	return err
}

// VirtualSize is an image's guest-visible size.
func VirtualSize(img string) (int64, error) {
	out, err := qemuImg("info", "--output=json", "-U", img)
	if err != nil {
		return 0, err
	}
	var info struct {
		VirtualSize int64 `json:"virtual-size"`
	}
	if err := json.Unmarshal(out, &info); err != nil {
		return 0, err
	}
	return info.VirtualSize, nil
}

// Mismatch is the first place a verify found bad.
type Mismatch struct {
	Point  int
	Disk   string
	Offset int64
	Why    string
}

func (m *Mismatch) Error() string {
	return fmt.Sprintf("point %d, disk %s, offset %d: %s", m.Point, m.Disk, m.Offset, m.Why)
}

// VerifyDisk re-reads one disk of one point and checks it against what the
// manifest recorded: the same extents and the same checksums. It returns
// the first mismatch (nil when all agree).
func (r *Repo) VerifyDisk(p *Point, d *Disk) *Mismatch {
	img := r.Path(d.File)
	bad := func(off int64, why string) *Mismatch {
		return &Mismatch{Point: p.N, Disk: d.Target, Offset: off, Why: why}
	}
	if _, err := os.Stat(img); err != nil {
		return bad(0, "data file "+d.File+" is missing")
	}
	ext, host, err := imageMap(img)
	if err != nil {
		return bad(0, err.Error())
	}
	f, err := openData(img)
	if err != nil {
		return bad(0, err.Error())
	}
	defer f.Close()
	for i, want := range d.Extents {
		if i >= len(ext) {
			return bad(want.Offset, "the image no longer holds this extent")
		}
		got := ext[i]
		if got.Offset != want.Offset || got.Length != want.Length || got.Zero != want.Zero {
			return bad(min(got.Offset, want.Offset), fmt.Sprintf("the image's extents differ from the manifest's (%d+%d zero=%v, recorded %d+%d zero=%v)",
				got.Offset, got.Length, got.Zero, want.Offset, want.Length, want.Zero))
		}
		if want.Zero {
			continue
		}
		sum, err := f.checksum(got, host[i])
		if err != nil {
			return bad(want.Offset, err.Error())
		}
		if sum != want.SHA256 {
			return bad(want.Offset, fmt.Sprintf("checksum mismatch in the %d bytes from there", want.Length))
		}
	}
	if len(ext) > len(d.Extents) {
		return bad(ext[len(d.Extents)].Offset, "the image holds an extent the manifest does not")
	}
	return nil
}

// chainSpec is a json: image name that stacks the images, base first, each
// over the one before, without touching the files: qemu-img reads it as one
// image with the top's view.
func chainSpec(images []string) (string, error) {
	var spec any // nil: the base has no backing
	for _, img := range images {
		abs, err := filepath.Abs(img)
		if err != nil {
			return "", err
		}
		spec = map[string]any{
			"driver":  "qcow2",
			"file":    map[string]any{"driver": "file", "filename": abs},
			"backing": spec,
		}
	}
	b, err := json.Marshal(spec)
	if err != nil {
		return "", err
	}
	return "json:" + string(b), nil
}

// DiskChain is the data files of a disk in the points of a chain, base
// first.
func (r *Repo) DiskChain(chain []*Point, target string) ([]string, error) {
	var files []string
	for _, p := range chain {
		var found *Disk
		for i := range p.Disks {
			if p.Disks[i].Target == target {
				found = &p.Disks[i]
			}
		}
		if found == nil {
			return nil, fmt.Errorf("point %d holds no data for disk %s", p.N, target)
		}
		files = append(files, r.Path(found.File))
	}
	return files, nil
}

// Flatten writes the guest view of images (base first) as one qcow2 file
// out, without a backing file.
func Flatten(images []string, out string) error {
	spec, err := chainSpec(images)
	if err != nil {
		return err
	}
	_, err = qemuImg("convert", "-O", "qcow2", spec, out)
	return err
}

// CopyChain copies images (base first) into dir, the top as top's name and
// each below as "<top>.<n>.qcow2", each backed by the one before: a chain
// that needs no repository.
func CopyChain(images []string, top string) ([]string, error) {
	var made []string
	prev := ""
	for i, img := range images {
		dst := top
		if i < len(images)-1 {
			dst = fmt.Sprintf("%s.%d.qcow2", strings.TrimSuffix(top, ".qcow2"), i+1)
		}
		// A byte copy, not qemu-img convert: convert would drop the
		// zero clusters that hide the data below.
		if err := copyFile(img, dst); err != nil {
			return made, err
		}
		made = append(made, dst)
		if prev != "" {
			if _, err := qemuImg("rebase", "-u", "-f", "qcow2", "-F", "qcow2", "-b", filepath.Base(prev), dst); err != nil {
				return made, err
			}
		}
		prev = dst
	}
	return made, nil
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// LayerBitmaps is one image of a chain and the persistent bitmaps it
// holds, as qemu-img reads them from the file.
type LayerBitmaps struct {
	Image   string
	Bitmaps []Bitmap
}

// Bitmap is a qcow2 persistent dirty bitmap; Flags are qemu-img's ("auto":
// recording; "in-use": not stored cleanly, inconsistent unless a QEMU that
// runs holds it).
type Bitmap struct {
	Name  string
	Flags []string
}

// Has reports whether the bitmap carries flag.
func (b Bitmap) Has(flag string) bool {
	for _, f := range b.Flags {
		if f == flag {
			return true
		}
	}
	return false
}

// ChainBitmaps is the bitmaps of every layer of the chain whose top is img,
// top first. While a QEMU runs on it the files do not show them (QEMU
// writes them on close).
func ChainBitmaps(img string) ([]LayerBitmaps, error) {
	out, err := qemuImg("info", "--backing-chain", "-U", "--output=json", img)
	if err != nil {
		return nil, err
	}
	var infos []struct {
		Filename       string `json:"filename"`
		FormatSpecific struct {
			Data struct {
				Bitmaps []struct {
					Name  string   `json:"name"`
					Flags []string `json:"flags"`
				} `json:"bitmaps"`
			} `json:"data"`
		} `json:"format-specific"`
	}
	if err := json.Unmarshal(out, &infos); err != nil {
		return nil, fmt.Errorf("qemu-img info %s: %v", img, err)
	}
	var layers []LayerBitmaps
	for _, in := range infos {
		l := LayerBitmaps{Image: in.Filename}
		for _, b := range in.FormatSpecific.Data.Bitmaps {
			l.Bitmaps = append(l.Bitmaps, Bitmap{Name: b.Name, Flags: b.Flags})
		}
		layers = append(layers, l)
	}
	return layers, nil
}

// RemoveBitmap removes a persistent bitmap from an image no QEMU runs on.
func RemoveBitmap(img, name string) error {
	_, err := qemuImg("bitmap", "--remove", "-f", "qcow2", img, name)
	return err
}

// Compress rewrites a finished point's image with its data compressed: the
// data extents are copied through QEMU's compress filter, and the zero
// extents stay zero clusters (written over a backing file, so that they
// hide what is below them at restore, then the backing is dropped).
func Compress(img string) error {
	ext, _, err := imageMap(img)
	if err != nil {
		return err
	}
	size, err := VirtualSize(img)
	if err != nil {
		return err
	}
	abs, err := filepath.Abs(img)
	if err != nil {
		return err
	}
	tmp := abs + ".compress"
	fail := func(err error) error {
		os.Remove(tmp)
		return err
	}
	if _, err := qemuImg("create", "-q", "-f", "qcow2", "-b", abs, "-F", "qcow2", tmp, fmt.Sprint(size)); err != nil {
		return fail(err)
	}
	src, err := nbd.ConnectCommand([]string{"qemu-nbd", "-r", "-f", "qcow2", abs})
	if err != nil {
		return fail(err)
	}
	defer src.Close()
	dst, err := nbd.ConnectCommand([]string{"qemu-nbd", "--image-opts",
		"driver=compress,file.driver=qcow2,file.file.driver=file,file.file.filename=" + tmp})
	if err != nil {
		return fail(err)
	}
	buf := make([]byte, ChunkSize)
	for _, e := range ext {
		if e.Zero {
			err = dst.Zero(e.Offset, e.Length)
		} else if err = src.Pread(buf[:e.Length], e.Offset); err == nil {
			err = dst.Pwrite(buf[:e.Length], e.Offset)
		}
		if err != nil {
			dst.Close()
			return fail(err)
		}
	}
	err = dst.Flush()
	dst.Close()
	if err != nil {
		return fail(err)
	}
	if err := Detach(tmp); err != nil {
		return fail(err)
	}
	if err := os.Rename(tmp, abs); err != nil {
		return fail(err)
	}
	return nil
}
