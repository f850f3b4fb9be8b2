package shell

import (
	"errors"

	"libvirt.org/go/libvirt"
)

// hostFacts are answers about the host that do not change while a connection
// is open; they are asked once per connection. dominfo needs the host's
// security model on every call, and asking it each time would add a round
// trip to every dominfo of a script.
type hostFacts struct {
	conn     *libvirt.Connect // the connection the answers came from
	secModel *libvirt.NodeSecurityModel
	secErr   error
}

// SecurityModel is virNodeGetSecurityModel on the session's connection,
// asked once per connection (a reconnect asks again). A driver without
// security models (VIR_ERR_NO_SUPPORT) is remembered too; other errors are
// not.
func (s *Session) SecurityModel() (*libvirt.NodeSecurityModel, error) {
	conn, err := s.Conn()
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	if f := s.facts; f != nil && f.conn == conn && (f.secModel != nil || f.secErr != nil) {
		m, e := f.secModel, f.secErr
		s.mu.Unlock()
		return m, e
	}
	s.mu.Unlock()
	m, err := conn.GetSecurityModel()
	var le libvirt.Error
	if err == nil || errors.As(err, &le) && le.Code == libvirt.ERR_NO_SUPPORT {
		s.mu.Lock()
		if s.facts == nil || s.facts.conn != conn {
			s.facts = &hostFacts{conn: conn}
		}
		s.facts.secModel, s.facts.secErr = m, err
		s.mu.Unlock()
	}
	return m, err
}
