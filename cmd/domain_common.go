package cmd

import (
	"context"

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

// lookupDomainBy is env.lookupDomain restricted to some ways, as virsh's
// virshLookupDomainBy is for domid (name, UUID), domname (ID, UUID), domuuid
// (ID, name) and start (name, UUID). An empty word never gets here: the
// parser refuses an empty domain option as virsh does.
func (e *Env) lookupDomainBy(word string, by domain.By) (*libvirt.Domain, error) {
	conn, err := e.Sess.Conn()
	if err != nil {
		return nil, err
	}
	return domain.Lookup(conn, word, by)
}

// onDomain is the run function of a command that starts by looking up its
// domain option: run gets the domain, which is freed when it returns.
func (e *Env) onDomain(word *string, run func(ctx context.Context, d *libvirt.Domain) error) func(context.Context) error {
	return func(ctx context.Context) error {
		d, err := e.lookupDomain(*word)
		if err != nil {
			return err
		}
		defer d.Free()
		return run(ctx, d)
	}
}

// libvirtFlags is the kind of libvirt's flag types (DomainXMLFlags, ...).
type libvirtFlags interface {
	~uint | ~uint32 | ~int | ~int32
}

// flagIf pairs a boolean option with the libvirt flag it sets.
type flagIf[F libvirtFlags] struct {
	on   bool
	flag F
}

// flagsOf is the flags of the options that are on.
func flagsOf[F libvirtFlags](bits []flagIf[F]) F {
	var flags F
	for _, b := range bits {
		if b.on {
			flags |= b.flag
		}
	}
	return flags
}
