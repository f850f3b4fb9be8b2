package cmd

import (
	"sync"

	"libvirt.org/go/libvirt"

	"github.com/virtsh/virtsh/completion"
	"github.com/virtsh/virtsh/shell"
)

// NewCompleter returns the REPL's completer: the same engine as
// `virtsh __complete`, over a fresh command tree for each completion and the
// REPL's live session.
func NewCompleter(sess *shell.Session) shell.Completer { return &replCompleter{sess: sess} }

type replCompleter struct {
	sess *shell.Session

	mu      sync.Mutex
	ownURI  string
	ownConn *libvirt.Connect
}

// Complete implements shell.Completer.
func (r *replCompleter) Complete(line string) ([]string, int) {
	c := &completion.Completer{
		Commands: catalog(r.sess),
		Host:     r.host,
		Timeout:  completionTimeout(),
	}
	return c.Line(line)
}

// host uses the session's connection when it is open and healthy. Before
// the first command has connected (virsh connects lazily), or after the
// connection was lost, it opens its own read-only connection to the
// session's URI instead: completion must neither print the session's
// reconnect messages nor change its state.
func (r *replCompleter) host() (completion.Host, error) {
	if r.sess.Connected() && !r.sess.Disconnected() {
		conn, err := r.sess.Conn()
		if err != nil {
			return nil, err
		}
		return completion.LibvirtHost{Conn: conn}, nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	uri := r.sess.RequestedURI()
	if r.ownConn != nil && r.ownURI == uri {
		if alive, err := r.ownConn.IsAlive(); err == nil && alive {
			return completion.LibvirtHost{Conn: r.ownConn}, nil
		}
	}
	if r.ownConn != nil {
		_, _ = r.ownConn.Close()
		r.ownConn = nil
	}
	conn, err := libvirt.NewConnectReadOnly(uri)
	if err != nil {
		return nil, err
	}
	r.ownConn, r.ownURI = conn, uri
	return completion.LibvirtHost{Conn: conn}, nil
}
