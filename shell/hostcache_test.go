package shell

import (
	"io"
	"testing"

	"github.com/virtsh/virtsh/format"
)

// The host's security model is asked once per connection: the second call
// answers from the session (the same value, not a new one from libvirt), and
// a reconnect asks again.
func TestSecurityModelOncePerConnection(t *testing.T) {
	s := NewSession(&format.IO{Out: io.Discard, Err: io.Discard}, Options{URI: "test:///default"})
	defer s.Close()
	m1, err := s.SecurityModel()
	if err != nil {
		t.Fatal(err)
	}
	m2, err := s.SecurityModel()
	if err != nil {
		t.Fatal(err)
	}
	if m1 != m2 {
		t.Errorf("second call asked libvirt again: %p, %p", m1, m2)
	}
	if err := s.Connect("", false); err != nil {
		t.Fatal(err)
	}
	m3, err := s.SecurityModel()
	if err != nil {
		t.Fatal(err)
	}
	if m3 == m1 {
		t.Errorf("after a reconnect the old connection's answer was kept")
	}
	if *m3 != *m1 {
		t.Errorf("model changed: %+v, %+v", m1, m3)
	}
}
