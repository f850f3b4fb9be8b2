package cmd

import "testing"

// Every type `event --list` shows can be waited for, and nothing else.
func TestEventRegistrarsCoverEventNames(t *testing.T) {
	for _, n := range eventNames {
		if eventRegistrars[n] == nil {
			t.Errorf("event type %s has no registrar", n)
		}
	}
	if len(eventRegistrars) != len(eventNames) {
		t.Errorf("%d registrars for %d event types", len(eventRegistrars), len(eventNames))
	}
}
