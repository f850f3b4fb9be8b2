package cmd

import (
	"fmt"
	"strconv"
	"strings"
)

// scaledErr is virsh's error for a scaled integer it cannot take
// (vshCommandOptScaledInt): its own line, then, when libvirt's
// virScaleInteger refused the suffix or the size, libvirt's line too, as
// virsh reports the last libvirt error after the command:
//
//	error: Scaled numeric value '10QB' for <size> option is malformed or out of range
//	error: invalid argument: unknown suffix 'QB'
//
// A word without leading digits, a negative or a number over 2^64 fails in
// virStrToLong_ullp, which sets no libvirt error: one line. defScale and max
// are those the option was parsed with.
func scaledErr(opt, val string, defScale, max uint64) error {
	msg := fmt.Sprintf("Scaled numeric value '%s' for <%s> option is malformed or out of range", val, opt)
	if second := scaleIntegerError(val, defScale, max); second != "" {
		return msgThenCause(msg, fmt.Errorf("%s", second))
	}
	return fmt.Errorf("%s", msg)
}

// scaleIntegerError follows strtoull then virScaleInteger and returns the
// libvirt message virScaleInteger raises for val, or "" when it raises none.
func scaleIntegerError(val string, defScale, max uint64) string {
	s := strings.TrimLeft(val, " \t\n\v\f\r")
	s = strings.TrimPrefix(s, "+")
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == 0 {
		return ""
	}
	v, err := strconv.ParseUint(s[:i], 10, 64)
	if err != nil {
		return ""
	}
	suffix := s[i:]
	scale := defScale
	unknown := "invalid argument: unknown suffix '" + suffix + "'"
	switch {
	case suffix == "":
	case (suffix[0]|0x20) == 'b' && len(suffix) == 1:
		scale = 1
	default:
		var base uint64
		switch rest := suffix[1:]; {
		case rest == "" || strings.EqualFold(rest, "iB"):
			base = 1024
		case len(rest) == 1 && (rest[0]|0x20) == 'b':
			base = 1000
		default:
			return unknown
		}
		exp := strings.IndexByte("kmgtpe", suffix[0]|0x20) + 1
		if exp == 0 {
			return unknown
		}
		scale = 1
		for ; exp > 0; exp-- {
			scale *= base
		}
	}
	if scale == 0 {
		return ""
	}
	if v != 0 && v > max/scale {
		return fmt.Sprintf("numerical overflow: value too large: %d%s", v, suffix)
	}
	return ""
}
