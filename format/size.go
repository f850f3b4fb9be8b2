package format

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// ErrScaled is returned for any malformed or out-of-range scaled integer; the
// caller words the message as virsh does ("Scaled numeric value 'X' for <opt>
// option is malformed or out of range").
var ErrScaled = errors.New("malformed or out of range")

// ParseScaled parses virsh's scaled integers (virScaleInteger): digits, then an
// optional suffix b, k/K/KiB (1024), KB (1000), M, MiB, MB, G, T, P, E (case
// does not matter: 1Gb is 10^9, as in virsh). A bare
// number is multiplied by defScale (1 for bytes, 1024 for KiB options).
// Negative numbers, trailing blanks, fractions and exponents are refused, and
// so is anything over max.
//
// The number is read as virsh reads it (virStrToLong_ullp, base 10): leading
// blanks and a '+' are allowed, a '-' is not.
func ParseScaled(s string, defScale, max uint64) (uint64, error) {
	s = strings.TrimLeft(s, " \t\n\v\f\r")
	s = strings.TrimPrefix(s, "+")
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == 0 {
		return 0, ErrScaled
	}
	v, err := strconv.ParseUint(s[:i], 10, 64)
	if err != nil {
		return 0, ErrScaled
	}
	scale, err := suffixScale(s[i:], defScale)
	if err != nil {
		return 0, err
	}
	if v != 0 && v > max/scale {
		return 0, ErrScaled
	}
	return v * scale, nil
}

func suffixScale(suf string, defScale uint64) (uint64, error) {
	if suf == "" {
		if defScale == 0 {
			return 0, ErrScaled
		}
		return defScale, nil
	}
	var base uint64
	switch rest := suf[1:]; {
	case rest == "" || strings.EqualFold(rest, "iB"):
		base = 1024
	case strings.EqualFold(rest, "B"):
		base = 1000
	default:
		return 0, ErrScaled
	}
	var exp int
	switch suf[0] | 0x20 {
	case 'b':
		// Only a lone "b"/"B": virsh 9.0 refuses "bB" and "biB"
		// ("unknown suffix"), checked with virsh setmem and blockresize.
		if len(suf) != 1 {
			return 0, ErrScaled
		}
		return 1, nil
	case 'k':
		exp = 1
	case 'm':
		exp = 2
	case 'g':
		exp = 3
	case 't':
		exp = 4
	case 'p':
		exp = 5
	case 'e':
		exp = 6
	default:
		return 0, ErrScaled
	}
	scale := uint64(1)
	for ; exp > 0; exp-- {
		scale *= base
	}
	return scale, nil
}

// ParseScaledOrPercent accepts what ParseScaled does, or "N%" (0 < N ≤ 100,
// up to two decimals) of total, for the commands where virtsh allows a share
// of a disk's capacity (domblkthreshold). isPercent tells the caller which.
func ParseScaledOrPercent(s string, defScale, max, total uint64) (v uint64, isPercent bool, err error) {
	p, ok := strings.CutSuffix(s, "%")
	if !ok {
		v, err = ParseScaled(s, defScale, max)
		return v, false, err
	}
	f, err := strconv.ParseFloat(p, 64)
	if err != nil || p == "" || p[0] < '0' || p[0] > '9' || math.IsNaN(f) || f <= 0 || f > 100 || strings.ContainsAny(p, "eExXpP") {
		return 0, true, ErrScaled
	}
	return uint64(math.Floor(float64(total) * f / 100)), true, nil
}

// PrettyCapacity is virsh's vshPrettyCapacity: the value in the largest
// binary unit below it, for "%.3f %s" printing.
func PrettyCapacity(val uint64) (float64, string) {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"}
	f := float64(val)
	limit := 1024.0
	for i, u := range units {
		if f < limit || i == len(units)-1 {
			return f / (limit / 1024), u
		}
		limit *= 1024
	}
	panic("unreachable")
}

// HumanSize formats like virsh's --human: "64.000 MiB".
func HumanSize(val uint64) string {
	v, u := PrettyCapacity(val)
	return fmt.Sprintf("%.3f %s", v, u)
}
