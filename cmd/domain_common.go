package cmd

import (
	"fmt"
	"strconv"

	"libvirt.org/go/libvirt"
)

// lookupDomain finds a domain the way virsh does (virshLookupDomainBy): as an
// ID when the word is a non-negative integer, then as a UUID when it has a
// UUID's length, then as a name. Failure is virsh's single line
// "failed to get domain 'X'".
func (e *Env) lookupDomain(word string) (*libvirt.Domain, error) {
	conn, err := e.Sess.Conn()
	if err != nil {
		return nil, err
	}
	if word == "" {
		return nil, fmt.Errorf("Failed to get option 'domain': Option argument is empty")
	}
	if id, err := strconv.ParseUint(word, 10, 31); err == nil {
		if d, err := conn.LookupDomainById(uint32(id)); err == nil {
			return d, nil
		}
	}
	if len(word) == 36 {
		if d, err := conn.LookupDomainByUUIDString(word); err == nil {
			return d, nil
		}
	}
	if d, err := conn.LookupDomainByName(word); err == nil {
		return d, nil
	}
	return nil, fmt.Errorf("failed to get domain '%s'", word)
}
