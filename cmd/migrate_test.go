package cmd

import (
	"strings"
	"testing"
	"time"
)

// migrate and the migrate-* tuning commands on libvirt's test driver, which
// migrates nothing: what is checked here is the option handling — virsh
// 9.0's rules, number parsing, the order in which bare words fill options,
// and its messages — and that virtsh passes libvirt's refusal on as virsh
// does. Real migrations are in migrate_lab_test.go.

// TestMigrateOptionsSameAsVirsh: each line gives what virsh 9.0 gives
// (stdout, stderr, exit status) on test:///default. virsh 9.0 sometimes
// hangs when its migration thread fails early; such a run is tried again.
func TestMigrateOptionsSameAsVirsh(t *testing.T) {
	for _, line := range []string{
		"migrate test test:///default --live --offline",
		"migrate test test:///default --timeout x",
		"migrate test test:///default --timeout -1",
		"migrate test test:///default --timeout 5",
		"migrate test test:///default --live --timeout-suspend",
		"migrate test test:///default --live --timeout 5 --timeout-suspend --timeout-postcopy",
		"migrate test test:///default --live --timeout-postcopy",
		"migrate test test:///default --live --postcopy-after-precopy",
		"migrate test test:///default --persistent-xml x.xml",
		"migrate test test:///default --tls-destination h2",
		"migrate test test:///default --bandwidth -1",
		"migrate test test:///default --bandwidth 1k",
		"migrate test test:///default --disks-port x",
		"migrate test test:///default --disks-port -5",
		"migrate test test:///default --comp-xbzrle-cache -1",
		"migrate test test:///default --postcopy-bandwidth -1",
		"migrate test test:///default --parallel-connections x",
		"migrate test test:///default --xml /nonexistent/dest.xml",
		"migrate test test:///default --migrate-disks ''",
		"migrate test test:///default --dname ''",
		"migrate test test:///default --copy-storage-synchronous-writes",
		"migrate test test:///default --copy-storage-all --copy-storage-inc",
		"migrate test test:///default --p2p",
		"migrate test test:///default",
		"migrate test nosuch:///x",
		"migrate nosuch test:///default",
		"migrate test",
		// Bare words fill migrateuri, graphicsuri, listen-address, dname,
		// timeout, ... in order, as in virsh 9.0.
		"migrate test test:///default a b c d 5",
		"migrate test test:///default a b c d e",
		"migrate test test:///default a b c d 0 x y z w u v s r q p o n m l k j i h",
		"migrate-getspeed test",
		"migrate-getspeed test --postcopy",
		"migrate-getspeed nosuch",
		"migrate-setspeed test 5",
		"migrate-setspeed test -1",
		"migrate-setspeed test x",
		"migrate-setspeed test",
		"migrate-setmaxdowntime test 0",
		"migrate-setmaxdowntime test -1",
		"migrate-setmaxdowntime test 100",
		"migrate-setmaxdowntime test",
		"migrate-getmaxdowntime test",
	} {
		args := []string{"-c", "test:///default", line}
		var vo, ve string
		var vc int
		for try := 1; ; try++ {
			var ok bool
			if vo, ve, vc, ok = runUnhung(t, 10*time.Second, realVirsh, args...); ok {
				break
			}
			if try == 5 {
				t.Fatalf("virsh %q hung %d times", line, try)
			}
		}
		out, errS, code := runMain(t, "", args...)
		if why := virsh9xOnly(t, args, ve, errS); why != "" {
			t.Logf("%q: compared with virsh 9.x only (%s)", line, why)
			continue
		}
		if out != vo || errS != ve || code != vc {
			t.Errorf("%s:\nvirsh  (%q, %q, %d)\nvirtsh (%q, %q, %d)", line, vo, ve, vc, out, errS, code)
		}
	}
}

// TestMigrateNumbers: virsh's number rules for migrate's values.
func TestMigrateNumbers(t *testing.T) {
	for _, c := range []struct {
		val  string
		i    int
		iOK  bool
		u    uint64
		uOK  bool
		wrap uint64
	}{
		{"5", 5, true, 5, true, 5},
		{" 7", 7, true, 7, true, 7},
		{"+3", 3, true, 3, true, 3},
		{"-1", -1, true, 0, false, ^uint64(0)},
		{"x", 0, false, 0, false, 0},
		{"1k", 0, false, 0, false, 0},
		{"", 0, false, 0, false, 0},
		{"2147483648", 0, false, 2147483648, true, 2147483648},
	} {
		i, err := optInt("n", c.val)
		if (err == nil) != c.iOK || i != c.i {
			t.Errorf("optInt(%q) = %d, %v", c.val, i, err)
		}
		u, err := optULongLong("n", c.val)
		if (err == nil) != c.uOK || u != c.u {
			t.Errorf("optULongLong(%q) = %d, %v", c.val, u, err)
		}
		w, err := optULWrap("n", c.val)
		if (err == nil) != (c.uOK || c.val == "-1") || w != c.wrap {
			t.Errorf("optULWrap(%q) = %d, %v", c.val, w, err)
		}
		if err != nil && !strings.Contains(err.Error(), "Numeric value '"+c.val+"' for <n> option") {
			t.Errorf("optULWrap(%q): %v", c.val, err)
		}
	}
}
