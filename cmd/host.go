package cmd

import (
	"context"
	"fmt"

	"libvirt.org/go/libvirt"

	"github.com/virtsh/virtsh/shell/spec"
)

// The "Host and Hypervisor" group: uri, hostname, version.

func newURICmd(env *Env) *spec.Command {
	c := &spec.Command{Short: "print the hypervisor canonical URI", Long: "Print the hypervisor canonical URI."}
	outputOption(c, env.IO)
	c.Run = func(ctx context.Context) error {
		conn, err := env.Sess.Conn()
		if err != nil {
			return err
		}
		uri, err := conn.GetURI()
		if err != nil {
			return msgThenCause("failed to get URI", err)
		}
		return printValue(env, "uri", uri, "%s\n")
	}
	return c
}

func newHostnameCmd(env *Env) *spec.Command {
	c := &spec.Command{Short: "print the hypervisor hostname"}
	outputOption(c, env.IO)
	c.Run = func(ctx context.Context) error {
		conn, err := env.Sess.Conn()
		if err != nil {
			return err
		}
		h, err := conn.GetHostname()
		if err != nil {
			return msgThenCause("failed to get hostname", err)
		}
		return printValue(env, "hostname", h, "%s\n")
	}
	return c
}

func versionString(v uint32) string {
	return fmt.Sprintf("%d.%d.%d", v/1000000, v/1000%1000, v%1000)
}

func newVersionCmd(env *Env) *spec.Command {
	var daemon bool
	c := &spec.Command{Short: "show version", Long: "Display the system version information."}
	c.Bool(&daemon, "daemon", "report daemon version too")
	outputOption(c, env.IO)
	c.Hosts = spec.EachHost // a read: on every selected host
	c.Run = func(ctx context.Context) error {
		conn, err := env.Sess.Conn()
		if err != nil {
			return err
		}
		lib, err := libvirt.GetVersion()
		if err != nil {
			return msgThenCause("failed to get the library version", err)
		}
		typ, err := conn.GetType()
		if err != nil {
			return msgThenCause("failed to get hypervisor type", err)
		}
		hv, err := conn.GetVersion()
		if err != nil {
			return msgThenCause("failed to get the hypervisor version", err)
		}
		var dv uint32
		if daemon {
			if dv, err = conn.GetLibVersion(); err != nil {
				return msgThenCause("failed to get the daemon version", err)
			}
		}
		if env.IO.Structured() {
			v := map[string]string{"compiled_library": versionString(lib), "library": versionString(lib),
				"api_type": typ, "api": versionString(lib), "hypervisor_type": typ, "hypervisor": versionString(hv)}
			if daemon {
				v["daemon"] = versionString(dv)
			}
			return env.IO.Encode(v)
		}
		env.IO.Printf("Compiled against library: libvirt %s\n", versionString(lib))
		env.IO.Printf("Using library: libvirt %s\n", versionString(lib))
		env.IO.Printf("Using API: %s %s\n", typ, versionString(lib))
		env.IO.Printf("Running hypervisor: %s %s\n", typ, versionString(hv))
		if daemon {
			env.IO.Printf("Running against daemon: %s\n", versionString(dv))
		}
		return nil
	}
	return c
}
