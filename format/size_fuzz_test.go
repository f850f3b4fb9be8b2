package format

import (
	"math"
	"math/big"
	"strings"
	"testing"
)

// scaledReference is an independent model of virScaleInteger's grammar for
// the fuzzer: digits, then nothing, "b", or one of k m g t p e followed by
// nothing or "iB" (1024) or "B" (1000), case-insensitively. It computes the
// value without overflow so ParseScaled's range check can be compared.
func scaledReference(s string, defScale uint64) (*big.Int, bool) {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == 0 {
		return nil, false
	}
	v, _ := new(big.Int).SetString(s[:i], 10)
	suf := strings.ToLower(s[i:])
	var scale *big.Int
	switch {
	case suf == "":
		if defScale == 0 {
			return nil, false
		}
		scale = new(big.Int).SetUint64(defScale)
	case suf == "b":
		scale = big.NewInt(1)
	default:
		exp := strings.IndexByte("kmgtpe", suf[0]) + 1
		if exp == 0 {
			return nil, false
		}
		var base int64
		switch suf[1:] {
		case "", "ib":
			base = 1024
		case "b":
			base = 1000
		default:
			return nil, false
		}
		scale = new(big.Int).Exp(big.NewInt(base), big.NewInt(int64(exp)), nil)
	}
	return v.Mul(v, scale), true
}

// FuzzParseScaled: ParseScaled never panics and agrees with the big-integer
// model above: it accepts exactly the well-formed words whose value fits
// under max, and returns that value.
func FuzzParseScaled(f *testing.F) {
	for _, s := range []string{"0", "1", "10QB", "-1", "150%", "1e99", "1KiB", "1kb", "16EiB", "18446744073709551615", "18446744073709551616b", "5m", " 1", "1.5G", "", "b"} {
		f.Add(s, uint64(1), uint64(math.MaxUint64))
	}
	f.Add("4", uint64(1024), uint64(1<<40))
	f.Add("4", uint64(0), uint64(1<<40))
	f.Fuzz(func(t *testing.T, s string, defScale, max uint64) {
		got, err := ParseScaled(s, defScale, max)
		want, ok := scaledReference(s, defScale)
		fits := ok && want.Cmp(new(big.Int).SetUint64(max)) <= 0
		switch {
		case err != nil && fits:
			t.Fatalf("ParseScaled(%q, %d, %d) refused a valid word worth %s", s, defScale, max, want)
		case err == nil && !fits:
			t.Fatalf("ParseScaled(%q, %d, %d) = %d, want an error", s, defScale, max, got)
		case err == nil && want.Cmp(new(big.Int).SetUint64(got)) != 0:
			t.Fatalf("ParseScaled(%q, %d, %d) = %d, want %s", s, defScale, max, got, want)
		}
		// The percent form must never panic, never exceed total for a
		// percentage, and fall back to ParseScaled for everything else.
		v, isPct, perr := ParseScaledOrPercent(s, defScale, max, max)
		if isPct && perr == nil && v > max {
			t.Fatalf("ParseScaledOrPercent(%q) = %d > total %d", s, v, max)
		}
		if !isPct && (perr == nil) != (err == nil) {
			t.Fatalf("ParseScaledOrPercent(%q) disagrees with ParseScaled: %v vs %v", s, perr, err)
		}
	})
}
