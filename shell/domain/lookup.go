package domain

import (
	"fmt"

	"libvirt.org/go/libvirt"
)

// By selects the ways Lookup tries, as virsh's VIRSH_BYID, VIRSH_BYUUID and
// VIRSH_BYNAME do.
type By uint

const (
	ByID By = 1 << iota
	ByUUID
	ByName
	// ByAny is what every command taking a <domain> uses; domid, domname,
	// domuuid and start leave out the form they would print or that cannot
	// name an inactive guest.
	ByAny = ByID | ByUUID | ByName
)

// uuidLen is the length of a UUID's string form (VIR_UUID_STRING_BUFLEN-1).
const uuidLen = 36

// Lookup finds a domain the way virsh's virshLookupDomainBy does: as an ID
// when the word is an int ≥ 0 (ParseID), then as a UUID when it is as long as
// one, then as a name, each only if by allows it and the one before found
// nothing. libvirt's own errors are dropped: failure is virsh's single line
// "failed to get domain 'X'".
func Lookup(conn *libvirt.Connect, word string, by By) (*libvirt.Domain, error) {
	return Find(word, by, Finder[*libvirt.Domain]{
		ID:   func(id uint32) (*libvirt.Domain, bool) { return found(conn.LookupDomainById(id)) },
		UUID: func(u string) (*libvirt.Domain, bool) { return found(conn.LookupDomainByUUIDString(u)) },
		Name: func(n string) (*libvirt.Domain, bool) { return found(conn.LookupDomainByName(n)) },
	})
}

func found(d *libvirt.Domain, err error) (*libvirt.Domain, bool) { return d, err == nil }

// Finder is the three ways of looking a domain up, each answering whether it
// found one: the Go binding's for Lookup, or another handle on the same
// connection (a command that calls libvirt's C API itself for raw typed
// parameters looks its domains up there).
type Finder[D any] struct {
	ID   func(id uint32) (D, bool)
	UUID func(uuid string) (D, bool)
	Name func(name string) (D, bool)
}

// Find is virsh's lookup order (see Lookup) over the ways of f: the one rule
// every domain lookup follows, whatever handle it returns.
func Find[D any](word string, by By, f Finder[D]) (D, error) {
	if by&ByID != 0 {
		if id, ok := ParseID(word); ok {
			if d, ok := f.ID(id); ok {
				return d, nil
			}
		}
	}
	if by&ByUUID != 0 && len(word) == uuidLen {
		if d, ok := f.UUID(word); ok {
			return d, nil
		}
	}
	if by&ByName != 0 {
		if d, ok := f.Name(word); ok {
			return d, nil
		}
	}
	var none D
	return none, fmt.Errorf("failed to get domain '%s'", word)
}

// ParseID reads a domain ID as virsh does (virStrToLong_i, then id ≥ 0):
// C's strtol in base 10 — leading white space and a sign are allowed, the
// digits must run to the end of the word — and the value must fit an int. So
// " 1", "+1" and "01" are ID 1, and "-0" is 0; "1 ", "0x1" and "-1" are
// not IDs.
func ParseID(word string) (uint32, bool) {
	i := 0
	for i < len(word) && isCSpace(word[i]) {
		i++
	}
	neg := false
	if i < len(word) && (word[i] == '+' || word[i] == '-') {
		neg = word[i] == '-'
		i++
	}
	if i == len(word) {
		return 0, false
	}
	var v uint64
	for ; i < len(word); i++ {
		c := word[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + uint64(c-'0')
		if v > 1<<31 {
			return 0, false // beyond any int, either sign
		}
	}
	switch {
	case neg && v != 0:
		return 0, false // an int, but no ID
	case v > 1<<31-1:
		return 0, false
	}
	return uint32(v), true
}

// isCSpace is C's isspace in the C locale.
func isCSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}
