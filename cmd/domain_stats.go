package cmd

// domblkstat, domblkerror and domstats (Domain Monitoring,
// virsh-domain-monitor.c).
//
// virsh prints these from libvirt's typed parameters as the daemon sent them:
// every field, in the daemon's order, with the daemon's names, each printed
// by its type (vshGetTypedParamValue). The Go binding unpacks the same
// answers into fixed structs, which keeps neither the order nor fields it
// does not know, and its BlockStats drops the error count. So these commands
// make the calls through libvirt's C API on the session's own connection
// (Connect.RawPtr, a reference of its own) and read the parameters raw:
// domstats is one bulk call (virDomainListGetStats with the domains named,
// virConnectGetAllDomainStats otherwise), as in virsh. Domains are looked up
// on that handle by the one lookup rule (domain.Find). The flags passed are
// the binding's constants, so a libvirt whose headers lack one still builds.

/*
#cgo pkg-config: libvirt
#include <stdlib.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

static int virtshAllStats(virConnectPtr conn, virDomainPtr *doms, unsigned int stats,
                          unsigned int flags, virDomainStatsRecordPtr **recs, virErrorPtr err) {
	int n = doms ? virDomainListGetStats(doms, stats, recs, flags)
	             : virConnectGetAllDomainStats(conn, stats, recs, flags);
	if (n < 0)
		virCopyLastError(err);
	return n;
}

static virDomainStatsRecordPtr virtshRecordAt(virDomainStatsRecordPtr *recs, int i) { return recs[i]; }

// virDomainBlockStatsFlags asked for the number of fields (params NULL).
static int virtshBlockStatsCount(virDomainPtr dom, const char *dev, int *n, virErrorPtr err) {
	*n = 0;
	int r = virDomainBlockStatsFlags(dom, dev, NULL, n, 0);
	if (r < 0)
		virCopyLastError(err);
	return r;
}

// The fields themselves, in a calloc'd array the caller frees with
// virTypedParamsFree.
static int virtshBlockStatsGet(virDomainPtr dom, const char *dev, virTypedParameterPtr *params,
                               int *n, virErrorPtr err) {
	*params = calloc(*n > 0 ? *n : 1, sizeof(virTypedParameter));
	if (!*params)
		return -1;
	int r = virDomainBlockStatsFlags(dom, dev, *params, n, 0);
	if (r < 0)
		virCopyLastError(err);
	return r;
}

static int virtshBlockStatsLegacy(virDomainPtr dom, const char *dev, virDomainBlockStatsStruct *st,
                                  virErrorPtr err) {
	int r = virDomainBlockStats(dom, dev, st, sizeof(*st));
	if (r < 0)
		virCopyLastError(err);
	return r;
}
// virsh's two calls: the size to ask for (libvirt's preferred one, the
// number of disks), then the errors; *size entries are allocated, the
// result says how many are filled.
static int virtshDiskErrors(virDomainPtr dom, virDomainDiskErrorPtr *errs, int *size, virErrorPtr err) {
	*errs = NULL;
	*size = virDomainGetDiskErrors(dom, NULL, 0, 0);
	if (*size < 0) {
		virCopyLastError(err);
		return -1;
	}
	if (*size == 0)
		return 0;
	*errs = calloc(*size, sizeof(virDomainDiskError));
	if (!*errs)
		return -1;
	int n = virDomainGetDiskErrors(dom, *errs, *size, 0);
	if (n < 0)
		virCopyLastError(err);
	return n;
}

static void virtshFreeDiskErrors(virDomainDiskErrorPtr errs, int size) {
	for (int i = 0; i < size; i++)
		free(errs[i].disk);
	free(errs);
}
*/
import "C"

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unsafe"

	"libvirt.org/go/libvirt"

	"github.com/virtsh/virtsh/format"
	"github.com/virtsh/virtsh/shell/domain"
	"github.com/virtsh/virtsh/shell/spec"
)

// ---- libvirt's C API on the session's connection ----

// rawConn is the session's connection as a C handle, holding a reference of
// its own: release it with close.
type rawConn struct{ p C.virConnectPtr }

// onRawDomain is onDomain for the commands that read libvirt's typed
// parameters through the C API: the domain as a C handle on the session's
// connection, freed when run returns.
func onRawDomain(env *Env, word *string, run func(ctx context.Context, d C.virDomainPtr) error) func(context.Context) error {
	return func(ctx context.Context) error {
		rc, err := openRawConn(env)
		if err != nil {
			return err
		}
		defer rc.close()
		d, err := rc.lookup(*word)
		if err != nil {
			return err
		}
		defer C.virDomainFree(d)
		return run(ctx, d)
	}
}

func openRawConn(env *Env) (rawConn, error) {
	conn, err := env.Sess.Conn()
	if err != nil {
		return rawConn{}, err
	}
	p, err := conn.RawPtr()
	if err != nil {
		return rawConn{}, err
	}
	return rawConn{(C.virConnectPtr)(unsafe.Pointer(p))}, nil
}

func (c rawConn) close() { C.virConnectClose(c.p) }

// lookup finds a domain by virsh's rule (ID, UUID, name, as the <domain>
// option of every command), returning a handle to free with
// virDomainFree.
func (c rawConn) lookup(word string) (C.virDomainPtr, error) {
	found := func(d C.virDomainPtr) (C.virDomainPtr, bool) { return d, d != nil }
	byString := func(f func(C.virConnectPtr, *C.char) C.virDomainPtr) func(string) (C.virDomainPtr, bool) {
		return func(s string) (C.virDomainPtr, bool) {
			cs := C.CString(s)
			defer C.free(unsafe.Pointer(cs))
			return found(f(c.p, cs))
		}
	}
	return domain.Find(word, domain.ByAny, domain.Finder[C.virDomainPtr]{
		ID: func(id uint32) (C.virDomainPtr, bool) { return found(C.virDomainLookupByID(c.p, C.int(id))) },
		UUID: byString(func(p C.virConnectPtr, s *C.char) C.virDomainPtr {
			return C.virDomainLookupByUUIDString(p, s)
		}),
		Name: byString(func(p C.virConnectPtr, s *C.char) C.virDomainPtr {
			return C.virDomainLookupByName(p, s)
		}),
	})
}

// cError is a copied libvirt error as the binding reports one, so it prints
// as every other libvirt error does (its message).
func cError(e *C.virError) error {
	err := libvirt.Error{
		Code:    libvirt.ErrorNumber(e.code),
		Domain:  libvirt.ErrorDomain(e.domain),
		Message: C.GoString(e.message),
		Level:   libvirt.ErrorLevel(e.level),
	}
	C.virResetError(e)
	if err.Code == libvirt.ERR_OK {
		// A failure that set no error (out of memory in the C helper).
		err.Code, err.Message = libvirt.ERR_INTERNAL_ERROR, "internal error: no error was reported"
	}
	return err
}

// The kinds of typed parameter (virTypedParameterType).
const (
	paramInt     = int(C.VIR_TYPED_PARAM_INT)
	paramUInt    = int(C.VIR_TYPED_PARAM_UINT)
	paramLLong   = int(C.VIR_TYPED_PARAM_LLONG)
	paramULLong  = int(C.VIR_TYPED_PARAM_ULLONG)
	paramDouble  = int(C.VIR_TYPED_PARAM_DOUBLE)
	paramBoolean = int(C.VIR_TYPED_PARAM_BOOLEAN)
	paramString  = int(C.VIR_TYPED_PARAM_STRING)
)

// typedParam is one typed parameter read out of libvirt's union.
type typedParam struct {
	field string
	kind  int // param*
	i     int64
	u     uint64
	d     float64
	b     bool
	s     string
}

func readParams(p C.virTypedParameterPtr, n C.int) []typedParam {
	if n <= 0 || p == nil {
		return nil
	}
	cps := unsafe.Slice(p, int(n))
	out := make([]typedParam, len(cps))
	for i := range cps {
		cp := &cps[i]
		tp := typedParam{field: C.GoString(&cp.field[0]), kind: int(cp._type)}
		v := unsafe.Pointer(&cp.value[0])
		switch tp.kind {
		case paramInt:
			tp.i = int64(*(*C.int)(v))
		case paramUInt:
			tp.u = uint64(*(*C.uint)(v))
		case paramLLong:
			tp.i = int64(*(*C.longlong)(v))
		case paramULLong:
			tp.u = uint64(*(*C.ulonglong)(v))
		case paramDouble:
			tp.d = float64(*(*C.double)(v))
		case paramBoolean:
			tp.b = *(*C.char)(v) != 0
		case paramString:
			tp.s = C.GoString(*(**C.char)(v))
		}
		out[i] = tp
	}
	return out
}

// text is vshGetTypedParamValue: integers in decimal, a double as C's %f,
// a boolean as yes/no, a string as it is.
func (p typedParam) text() string {
	switch p.kind {
	case paramInt, paramLLong:
		return strconv.FormatInt(p.i, 10)
	case paramUInt, paramULLong:
		return strconv.FormatUint(p.u, 10)
	case paramDouble:
		return cDouble(p.d)
	case paramBoolean:
		return yesNo(p.b)
	case paramString:
		return p.s
	}
	// virsh exits here ("unimplemented parameter type"); no libvirt sends one.
	return fmt.Sprintf("<type %d>", p.kind)
}

// cDouble is glibc's printf("%f"): Go's %f but for infinities and NaNs.
func cDouble(d float64) string {
	switch {
	case math.IsNaN(d):
		if math.Signbit(d) {
			return "-nan"
		}
		return "nan"
	case math.IsInf(d, 1):
		return "inf"
	case math.IsInf(d, -1):
		return "-inf"
	}
	return strconv.FormatFloat(d, 'f', 6, 64)
}

// value is the parameter for -o json|yaml: a number, a boolean or a string
// as libvirt typed it (null for a double JSON cannot hold: inf, nan).
func (p typedParam) value() any {
	switch p.kind {
	case paramInt, paramLLong:
		return p.i
	case paramUInt, paramULLong:
		return p.u
	case paramDouble:
		if math.IsNaN(p.d) || math.IsInf(p.d, 0) {
			return nil
		}
		return p.d
	case paramBoolean:
		return p.b
	case paramString:
		return p.s
	}
	return nil
}

// ---- domblkstat ----

// domblkstatFields is virsh's domblkstat_output: the fields printed first,
// in this order, with their legacy names (used where there is one) and their
// --human labels (the fields are libvirt's VIR_DOMAIN_BLOCK_STATS_* names).
// Any other field follows under its own name.
var domblkstatFields = []struct{ field, legacy, human string }{
	{"rd_operations", "rd_req", "number of read operations:"},
	{"rd_bytes", "rd_bytes", "number of bytes read:"},
	{"wr_operations", "wr_req", "number of write operations:"},
	{"wr_bytes", "wr_bytes", "number of bytes written:"},
	{"errs", "errs", "error count:"},
	{"flush_operations", "", "number of flush operations:"},
	{"rd_total_times", "", "total duration of reads (ns):"},
	{"wr_total_times", "", "total duration of writes (ns):"},
	{"flush_total_times", "", "total duration of flushes (ns):"},
}

// blkstatLine is one line of domblkstat: the name printed (legacy or
// libvirt's), the --human label ("" for a field virsh does not know) and the
// value.
type blkstatLine struct {
	name, human string
	p           typedParam
}

func newDomblkstatCmd(env *Env) *spec.Command {
	var dom, device string
	var human bool
	c := &spec.Command{Short: "get device block stats for a domain",
		Long: "Get device block stats for a running domain. See man page or use --human for explanation of fields"}
	c.Example = "domblkstat vm1 vda\ndomblkstat vm1 vda --human\ndomblkstat vm1          # the totals over all disks (QEMU)\ndomblkstat vm1 vda -o json"
	c.Domain(&dom, "active")
	// Empty or absent, the device is "": libvirt's totals over every disk.
	c.String(&device, "device", "block device", spec.Unwanted, false).Empty().Complete(spec.Disk)
	c.Bool(&human, "human", "print a more human readable output")
	outputOption(c, env.IO)
	c.Run = onRawDomain(env, &dom, func(ctx context.Context, d C.virDomainPtr) error {
		lines, err := blockStats(d, dom, device)
		if err != nil {
			return err
		}
		if env.IO.Structured() {
			v := format.NewObject()
			v.Set("device", device)
			for _, l := range lines {
				v.Set(l.name, l.p.value())
			}
			return env.IO.Encode(v)
		}
		// cmdDomblkstat: with --human a "Device:" line, then the fields
		// with no device before them, labels padded to 31.
		prefix := device
		if human {
			env.IO.Printf("Device: %s\n", device)
			prefix = ""
		}
		for _, l := range lines {
			if human && l.human != "" {
				env.IO.Printf("%s %-31s %s\n", prefix, l.human, l.p.text())
			} else {
				// Fields beyond virsh's table keep their name, unpadded.
				env.IO.Printf("%s %s %s\n", prefix, l.name, l.p.text())
			}
		}
		return nil
	})
	return c
}

// blockStats asks for a disk's counters as cmdDomblkstat does:
// virDomainBlockStatsFlags, or virDomainBlockStats where the driver has no
// typed version (the test driver), with virsh's messages (word is the
// domain as the user named it).
func blockStats(d C.virDomainPtr, word, device string) ([]blkstatLine, error) {
	cdev := C.CString(device)
	defer C.free(unsafe.Pointer(cdev))
	var cerr C.virError
	var n C.int
	if C.virtshBlockStatsCount(d, cdev, &n, &cerr) < 0 {
		err := cError(&cerr)
		if !isNoSupport(err) {
			return nil, err
		}
		var st C.virDomainBlockStatsStruct
		if C.virtshBlockStatsLegacy(d, cdev, &st, &cerr) < 0 {
			return nil, msgThenCause(fmt.Sprintf("Failed to get block stats %s %s", word, device), cError(&cerr))
		}
		var lines []blkstatLine
		for i, v := range []C.longlong{st.rd_req, st.rd_bytes, st.wr_req, st.wr_bytes, st.errs} {
			// DOMBLKSTAT_LEGACY_PRINT: only what the driver filled in.
			if v >= 0 {
				f := domblkstatFields[i]
				lines = append(lines, blkstatLine{f.legacy, f.human, typedParam{kind: paramLLong, i: int64(v)}})
			}
		}
		return lines, nil
	}
	var cp C.virTypedParameterPtr
	if C.virtshBlockStatsGet(d, cdev, &cp, &n, &cerr) < 0 {
		if cp != nil {
			C.virTypedParamsFree(cp, 0)
		}
		return nil, msgThenCause(fmt.Sprintf("Failed to get block stats for domain '%s' device '%s'", word, device), cError(&cerr))
	}
	params := readParams(cp, n)
	C.virTypedParamsFree(cp, n)
	var lines []blkstatLine
	printed := make([]bool, len(params))
	for _, f := range domblkstatFields {
		for i, p := range params {
			if !printed[i] && p.field == f.field {
				name := f.legacy
				if name == "" {
					name = f.field
				}
				lines = append(lines, blkstatLine{name, f.human, p})
				printed[i] = true
				break
			}
		}
	}
	for i, p := range params {
		if !printed[i] && p.field != "" {
			lines = append(lines, blkstatLine{p.field, "", p})
		}
	}
	return lines, nil
}

// ---- domblkerror ----

// blkerrorView is one disk of `domblkerror -o json|yaml`.
type blkerrorView struct {
	Disk      string `json:"disk" yaml:"disk"`
	Error     string `json:"error" yaml:"error"`
	ErrorCode int    `json:"error_code" yaml:"error_code"`
}

// diskErrorText is virshDomainIOErrorToString.
func diskErrorText(code libvirt.DomainDiskErrorCode) string {
	switch code {
	case libvirt.DOMAIN_DISK_ERROR_NONE:
		return "no error"
	case libvirt.DOMAIN_DISK_ERROR_UNSPEC:
		return "unspecified error"
	case libvirt.DOMAIN_DISK_ERROR_NO_SPACE:
		return "no space"
	}
	return "unknown error"
}

// diskError is one entry of virDomainGetDiskErrors.
type diskError struct {
	disk string
	code libvirt.DomainDiskErrorCode
}

// diskErrors is cmdDomBlkError's query. (The binding's GetDiskErrors returns
// as many entries as libvirt's preferred size, one per disk, whatever the
// number of errors.)
func diskErrors(d C.virDomainPtr) ([]diskError, error) {
	var ce C.virDomainDiskErrorPtr
	var size C.int
	var cerr C.virError
	n := C.virtshDiskErrors(d, &ce, &size, &cerr)
	if ce != nil {
		defer C.virtshFreeDiskErrors(ce, size)
	}
	if n < 0 {
		return nil, cError(&cerr)
	}
	var out []diskError
	if n > 0 {
		for _, e := range unsafe.Slice(ce, int(n)) {
			out = append(out, diskError{C.GoString(e.disk), libvirt.DomainDiskErrorCode(e.error)})
		}
	}
	return out, nil
}

func newDomblkerrorCmd(env *Env) *spec.Command {
	var dom string
	c := &spec.Command{Short: "Show errors on block devices", Long: "Show block device errors"}
	c.Example = "domblkerror vm1\ndomblkerror vm1 -o json"
	c.Domain(&dom, "active")
	outputOption(c, env.IO)
	c.Run = onRawDomain(env, &dom, func(ctx context.Context, d C.virDomainPtr) error {
		errs, err := diskErrors(d)
		if err != nil {
			return err
		}
		views := make([]blkerrorView, 0, len(errs))
		for _, e := range errs {
			views = append(views, blkerrorView{e.disk, diskErrorText(e.code), int(e.code)})
		}
		if env.IO.Structured() {
			return env.IO.Encode(views)
		}
		if len(views) == 0 {
			env.IO.Printf("No errors found\n")
		}
		for _, v := range views {
			env.IO.Printf("%s: %s\n", v.Disk, v.Error)
		}
		return nil
	})
	return c
}

// ---- domstats ----

// domstatsGroups are domstats's group options and their stats bits, in
// virsh's order.
var domstatsGroups = []struct {
	name, help string
	bit        libvirt.DomainStatsTypes
}{
	{"state", "report domain state", libvirt.DOMAIN_STATS_STATE},
	{"cpu-total", "report domain physical cpu usage", libvirt.DOMAIN_STATS_CPU_TOTAL},
	{"balloon", "report domain balloon statistics", libvirt.DOMAIN_STATS_BALLOON},
	{"vcpu", "report domain virtual cpu information", libvirt.DOMAIN_STATS_VCPU},
	{"interface", "report domain network interface information", libvirt.DOMAIN_STATS_INTERFACE},
	{"block", "report domain block device statistics", libvirt.DOMAIN_STATS_BLOCK},
	{"perf", "report domain perf event statistics", libvirt.DOMAIN_STATS_PERF},
	{"iothread", "report domain IOThread information", libvirt.DOMAIN_STATS_IOTHREAD},
	{"memory", "report domain memory usage", libvirt.DOMAIN_STATS_MEMORY},
	{"dirtyrate", "report domain dirty rate information", libvirt.DOMAIN_STATS_DIRTYRATE},
	{"vm", "report hypervisor-specific statistics", libvirt.DOMAIN_STATS_VM},
}

// domstatsFlags are its listing and behaviour options, in virsh's order.
var domstatsFlags = []struct {
	name, help string
	bit        libvirt.ConnectGetAllDomainStatsFlags
}{
	{"list-active", "list only active domains", libvirt.CONNECT_GET_ALL_DOMAINS_STATS_ACTIVE},
	{"list-inactive", "list only inactive domains", libvirt.CONNECT_GET_ALL_DOMAINS_STATS_INACTIVE},
	{"list-persistent", "list only persistent domains", libvirt.CONNECT_GET_ALL_DOMAINS_STATS_PERSISTENT},
	{"list-transient", "list only transient domains", libvirt.CONNECT_GET_ALL_DOMAINS_STATS_TRANSIENT},
	{"list-running", "list only running domains", libvirt.CONNECT_GET_ALL_DOMAINS_STATS_RUNNING},
	{"list-paused", "list only paused domains", libvirt.CONNECT_GET_ALL_DOMAINS_STATS_PAUSED},
	{"list-shutoff", "list only shutoff domains", libvirt.CONNECT_GET_ALL_DOMAINS_STATS_SHUTOFF},
	{"list-other", "list only domains in other states", libvirt.CONNECT_GET_ALL_DOMAINS_STATS_OTHER},
	{"raw", "do not pretty-print the fields", 0}, // virsh prints raw fields either way
	{"enforce", "enforce requested stats parameters", libvirt.CONNECT_GET_ALL_DOMAINS_STATS_ENFORCE_STATS},
	{"backing", "add backing chain information to block stats", libvirt.CONNECT_GET_ALL_DOMAINS_STATS_BACKING},
	{"nowait", "report only stats that are accessible instantly", libvirt.CONNECT_GET_ALL_DOMAINS_STATS_NOWAIT},
}

// statsRecord is one domain's answer: its name and its fields in order.
type statsRecord struct {
	name   string
	params []typedParam
}

func newDomstatsCmd(env *Env) *spec.Command {
	var doms []string
	groups := make([]bool, len(domstatsGroups))
	flags := make([]bool, len(domstatsFlags))
	c := &spec.Command{Short: "get statistics about one or multiple domains", Long: "Gets statistics about one or more (or all) domains"}
	c.Example = "domstats\ndomstats vm1 vm2 --block --backing\ndomstats --list-running --cpu-total --balloon\ndomstats vm1 --vcpu -o json"
	for i, g := range domstatsGroups {
		c.Bool(&groups[i], g.name, g.help)
	}
	for i, f := range domstatsFlags {
		c.Bool(&flags[i], f.name, f.help)
	}
	c.Argv(&doms, "domain", "list of domains to get stats for", spec.Opt, false).Complete(spec.Domain)
	outputOption(c, env.IO)
	c.Hosts = spec.EachHost // a read: on every selected host
	c.Run = func(ctx context.Context) error {
		var stats libvirt.DomainStatsTypes
		for i, g := range domstatsGroups {
			if groups[i] {
				stats |= g.bit
			}
		}
		var fl libvirt.ConnectGetAllDomainStatsFlags
		for i, f := range domstatsFlags {
			if flags[i] {
				fl |= f.bit
			}
		}
		recs, err := allDomainStats(env, doms, stats, fl)
		if err != nil {
			return err
		}
		if env.IO.Structured() {
			views := make([]*format.Object, 0, len(recs))
			for _, r := range recs {
				views = append(views, statsView(r))
			}
			return env.IO.Encode(views)
		}
		// virshDomainStatsPrintRecord, a blank line between domains.
		var b strings.Builder
		for i, r := range recs {
			if i > 0 {
				b.WriteString("\n")
			}
			fmt.Fprintf(&b, "Domain: '%s'\n", r.name)
			for _, p := range r.params {
				fmt.Fprintf(&b, "  %s=%s\n", p.field, p.text())
			}
		}
		env.IO.Printf("%s", b.String())
		return nil
	}
	return c
}

// allDomainStats is cmdDomstats's one bulk call: the domains named, each
// looked up first (the first that is not found fails the command), or every
// domain the listing flags select.
func allDomainStats(env *Env, words []string, stats libvirt.DomainStatsTypes, flags libvirt.ConnectGetAllDomainStatsFlags) ([]statsRecord, error) {
	rc, err := openRawConn(env)
	if err != nil {
		return nil, err
	}
	defer rc.close()
	var doms []C.virDomainPtr // NULL-terminated when not empty
	defer func() {
		for _, d := range doms {
			if d != nil {
				C.virDomainFree(d)
			}
		}
	}()
	for _, w := range words {
		d, err := rc.lookup(w)
		if err != nil {
			return nil, err
		}
		doms = append(doms, d)
	}
	var list *C.virDomainPtr
	if len(doms) > 0 {
		doms = append(doms, nil)
		list = &doms[0]
	}
	var recs *C.virDomainStatsRecordPtr
	var cerr C.virError
	n := C.virtshAllStats(rc.p, list, C.uint(stats), C.uint(flags), &recs, &cerr)
	if n < 0 {
		return nil, cError(&cerr)
	}
	defer C.virDomainStatsRecordListFree(recs)
	out := make([]statsRecord, 0, int(n))
	for i := 0; i < int(n); i++ {
		r := C.virtshRecordAt(recs, C.int(i))
		out = append(out, statsRecord{
			name:   C.GoString(C.virDomainGetName(r.dom)),
			params: readParams(r.params, r.nparams),
		})
	}
	return out, nil
}

// statsListGroups are the groups whose keys number their entries
// (block.<num>.*, net.<num>.*, vcpu.<num>.*, iothread.<id>.*): -o json|yaml
// makes each a list of objects.
var statsListGroups = map[string]bool{"block": true, "net": true, "vcpu": true, "iothread": true}

// statsView is one domain of `domstats -o json|yaml`: {"name": ..., then
// each group in libvirt's order}. A group is an object of its fields with
// the group's prefix taken off ("state": {"state": 1, "reason": 1}); block,
// net, vcpu and iothread are lists with an object per entry, its number as
// "index" first, and their other fields (block.count, vcpu.current, ...)
// come just before the list under their full names. A key with no group (no
// dot) stays as it is.
func statsView(r statsRecord) *format.Object {
	type group struct {
		name    string // the group: the key's first part
		key     string // or a key with no dot, set as it is
		value   any
		fields  *format.Object // an object group's fields
		scalars []typedParam   // a list group's fields beside its list
		items   []*format.Object
		at      map[uint64]*format.Object
	}
	var order []*group
	byName := map[string]*group{}
	get := func(name string) *group {
		g := byName[name]
		if g == nil {
			g = &group{name: name}
			if statsListGroups[name] {
				g.items, g.at = []*format.Object{}, map[uint64]*format.Object{}
			} else {
				g.fields = format.NewObject()
			}
			byName[name] = g
			order = append(order, g)
		}
		return g
	}
	for _, p := range r.params {
		name, rest, ok := strings.Cut(p.field, ".")
		if !ok {
			order = append(order, &group{key: p.field, value: p.value()})
			continue
		}
		g := get(name)
		if g.fields != nil {
			g.fields.Set(rest, p.value())
			continue
		}
		num, field, ok := strings.Cut(rest, ".")
		idx, err := strconv.ParseUint(num, 10, 32)
		if !ok || err != nil {
			g.scalars = append(g.scalars, p)
			continue
		}
		it := g.at[idx]
		if it == nil {
			it = format.NewObject()
			it.Set("index", idx)
			g.at[idx] = it
			g.items = append(g.items, it)
		}
		it.Set(field, p.value())
	}
	v := format.NewObject()
	v.Set("name", r.name)
	for _, g := range order {
		switch {
		case g.key != "":
			v.Set(g.key, g.value)
		case g.fields != nil:
			v.Set(g.name, g.fields)
		default:
			for _, p := range g.scalars {
				v.Set(p.field, p.value())
			}
			v.Set(g.name, g.items)
		}
	}
	return v
}
