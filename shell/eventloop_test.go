package shell

import "testing"

// TestEventImplRegisteredEarly checks that libvirt's event implementation is
// registered by earlyinit.c's thread, started before Go's runtime, and that
// registerEventImpl takes its result: the start-up overlap is in effect and
// the registration succeeded (events, keepalive and close callbacks depend on
// it; the lab tests exercise those).
func TestEventImplRegisteredEarly(t *testing.T) {
	if !earlyEventImpl() {
		t.Fatal("earlyinit.c's constructor did not start its thread")
	}
	registerEventImpl()
	if !eventImplOK {
		t.Fatal("virEventRegisterDefaultImpl failed on the early thread")
	}
}
