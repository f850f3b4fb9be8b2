package format

import (
	"errors"
	"math"
	"strconv"
	"strings"
	"testing"
)

func FuzzParseScaled(f *testing.F) {
	for _, s := range []string{"1G", "512KiB", "10KB", "100b", "10QB", "-1", "1e99", "", " 1", "+1k",
		"18446744073709551615", "18446744073709551616", "16EiB", "1.5G", "50%", "1Gb", "0"} {
		f.Add(s, uint64(1), uint64(math.MaxUint64))
	}
	f.Add("7", uint64(1024), uint64(1<<40))
	f.Fuzz(func(t *testing.T, s string, defScale, max uint64) {
		v, err := ParseScaled(s, defScale, max)
		if err != nil {
			if !errors.Is(err, ErrScaled) {
				t.Fatalf("ParseScaled(%q) error %v is not ErrScaled", s, err)
			}
			return
		}
		if v > max {
			t.Fatalf("ParseScaled(%q, %d, %d) = %d over max", s, defScale, max, v)
		}
		// A plain number is the number times the default scale.
		trimmed := strings.TrimPrefix(strings.TrimLeft(s, " \t\n\v\f\r"), "+")
		if n, perr := strconv.ParseUint(trimmed, 10, 64); perr == nil && !strings.HasPrefix(trimmed, "+") && v != n*defScale {
			t.Fatalf("ParseScaled(%q, %d) = %d, want %d", s, defScale, v, n*defScale)
		}
		// Whatever parses must parse again to the same value.
		if v2, err := ParseScaled(s, defScale, max); err != nil || v2 != v {
			t.Fatalf("ParseScaled(%q) not stable: %d/%v then %d/%v", s, v, nil, v2, err)
		}
		if p, pct, err := ParseScaledOrPercent(s, defScale, max, 1<<40); pct || err != nil || p != v {
			t.Fatalf("ParseScaledOrPercent(%q) = %d,%v,%v; ParseScaled gave %d", s, p, pct, err, v)
		}
	})
}

func FuzzParseScaledOrPercent(f *testing.F) {
	for _, s := range []string{"50%", "0%", "150%", "50.5%", "1e1%", "NaN%", "Inf%", "%", "100%", "1G"} {
		f.Add(s, uint64(1<<30))
	}
	f.Fuzz(func(t *testing.T, s string, total uint64) {
		v, pct, err := ParseScaledOrPercent(s, 1, math.MaxUint64, total)
		if err != nil {
			if !errors.Is(err, ErrScaled) {
				t.Fatalf("%q: error %v is not ErrScaled", s, err)
			}
			return
		}
		if pct && v > total {
			t.Fatalf("%q of %d = %d, more than the whole", s, total, v)
		}
	})
}
