package cmd

import (
	"libvirt.org/go/libvirt"

	"github.com/virtsh/virtsh/shell/domain"
)

// lookupDomain finds a domain the way virsh does (virshLookupDomainBy, in
// shell/domain's Lookup): as an ID when the word is an int ≥ 0, then as a
// UUID when it has a UUID's length, then as a name. Failure is virsh's
// single line "failed to get domain 'X'".
func (e *Env) lookupDomain(word string) (*libvirt.Domain, error) {
	return e.lookupDomainBy(word, domain.ByAny)
}
