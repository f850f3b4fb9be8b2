package shell

import (
	"testing"
	"unsafe"

	"libvirt.org/go/libvirt"
)

// TestAdoptConnect checks the one assumption takePreconnected makes about
// libvirt.org/go/libvirt: that its Connect is a single virConnectPtr, so a
// connection opened in C can be used through the binding.
func TestAdoptConnect(t *testing.T) {
	if unsafe.Sizeof(libvirt.Connect{}) != unsafe.Sizeof(uintptr(0)) {
		t.Fatalf("libvirt.Connect is %d bytes: no longer one pointer, adoptConnect is wrong", unsafe.Sizeof(libvirt.Connect{}))
	}
	// A virConnectPtr from C, as earlyinit.c makes one: taken out of a
	// binding Connect (the same one-pointer assumption read the other way)
	// with its own reference, so both can be closed.
	orig, err := libvirt.NewConnect("test:///default")
	if err != nil {
		t.Fatal(err)
	}
	defer orig.Close()
	if err := orig.Ref(); err != nil {
		t.Fatal(err)
	}
	conn := adoptConnect(*(*unsafe.Pointer)(unsafe.Pointer(orig)))
	defer conn.Close()
	got, err := conn.GetURI()
	if err != nil || got != "test:///default" {
		t.Fatalf("adopted connection: GetURI = %q, %v", got, err)
	}
	doms, err := conn.ListAllDomains(0)
	if err != nil || len(doms) != 1 {
		t.Fatalf("adopted connection: %d domains, %v; want test:///default's one", len(doms), err)
	}
	name, _ := doms[0].GetName()
	_ = doms[0].Free()
	if name != "test" {
		t.Errorf("adopted connection lists %q, want test", name)
	}
}

// In a test binary (no virtsh main package) nothing is opened early, and
// taking gives nothing.
func TestNoPreconnectOutsideVirtsh(t *testing.T) {
	if preconnectPlanned() {
		t.Fatal("a test binary planned an early connection")
	}
	if c := takePreconnected("", false); c != nil {
		t.Fatal("took an early connection that was never planned")
	}
}
