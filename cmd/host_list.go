package cmd

import (
	"context"
	"strconv"
	"strings"

	"github.com/virtsh/virtsh/format"
	"github.com/virtsh/virtsh/shell"
	"github.com/virtsh/virtsh/shell/fleet"
	"github.com/virtsh/virtsh/shell/spec"
)

// host-list and the `hosts` built-in: the hosts virtsh knows by name
// (libvirt.conf's uri_aliases) and the selection --hosts makes.

// hostListView is one row of `host-list -o json|yaml`.
type hostListView struct {
	Name           string `json:"name" yaml:"name"`
	URI            string `json:"uri" yaml:"uri"`
	Answers        bool   `json:"answers" yaml:"answers"`
	Hostname       string `json:"hostname" yaml:"hostname"`
	LibvirtVersion string `json:"libvirt_version" yaml:"libvirt_version"`
	Running        int    `json:"running" yaml:"running"`
	Guests         int    `json:"guests" yaml:"guests"`
	Error          string `json:"error,omitempty" yaml:"error,omitempty"`
}

func newHostListCmd(env *Env) *spec.Command {
	c := &spec.Command{
		Short: "list the hosts",
		Long: `Lists the hosts virtsh knows by name: the selection of --hosts (or the hosts
built-in) if there is one, else every uri_aliases name of libvirt.conf (the
file libvirt reads: $XDG_CONFIG_HOME/libvirt/libvirt.conf for a user,
/etc/libvirt/libvirt.conf for root), else the session's own connection. For
each: its name, URI, whether it answers within --host-timeout, its hostname,
the daemon's libvirt version, and how many guests it runs and holds. All
hosts are asked at once; one that does not answer is listed as such and
reported as "error: HOST: ...", and the status is then 1.`,
		Example: "host-list\nhost-list -o json\nvirtsh --hosts lab2,lab3 host-list",
	}
	outputOption(c, env.IO)
	c.Hosts = spec.HostsSelf
	c.Run = func(ctx context.Context) error { return runHostList(ctx, env) }
	return c
}

func runHostList(ctx context.Context, env *Env) error {
	f := fleetOf(env.Sess)
	hosts := f.Selected()
	if hosts == nil {
		hosts = fleet.Aliases()
	}
	if hosts == nil {
		uri := env.Sess.RequestedURI()
		hosts = []fleet.Host{{Name: uri, URI: uri}}
	}
	views := make([]hostListView, len(hosts))
	outs := f.Each(ctx, hosts, func(_ context.Context, i int, h fleet.Host, s *shell.Session, _ func()) error {
		v := hostListView{Name: h.Name, URI: h.URI}
		conn, err := s.Conn()
		if err != nil {
			return err
		}
		if v.Hostname, err = conn.GetHostname(); err != nil {
			return msgThenCause("failed to get hostname", err)
		}
		lv, err := conn.GetLibVersion()
		if err != nil {
			return msgThenCause("failed to get the daemon version", err)
		}
		v.LibvirtVersion = versionString(lv)
		if v.Running, err = conn.NumOfDomains(); err != nil {
			return msgThenCause("Failed to list active domains", err)
		}
		inactive, err := conn.NumOfDefinedDomains()
		if err != nil {
			return msgThenCause("Failed to list inactive domains", err)
		}
		v.Guests = v.Running + inactive
		v.Answers = true
		views[i] = v
		return nil
	})
	for i, o := range outs {
		if o.Err != nil {
			views[i] = hostListView{Name: o.Host.Name, URI: o.Host.URI, Error: strings.Join(shell.MessageLines(o.Err), ": ")}
		}
	}
	var err error
	if env.IO.Structured() {
		err = env.IO.Encode(views)
	} else {
		rows := make([][]string, len(views))
		for i, v := range views {
			if v.Answers {
				rows[i] = []string{v.Name, v.URI, "yes", v.Hostname, v.LibvirtVersion, strconv.Itoa(v.Running), strconv.Itoa(v.Guests)}
			} else {
				rows[i] = []string{v.Name, v.URI, "no", "-", "-", "-", "-"}
			}
		}
		err = format.Table(env.IO.Out, env.IO.Quiet, []string{"Name", "URI", "Answers", "Hostname", "Libvirt", "Running", "Guests"}, rows)
	}
	if err != nil {
		return err
	}
	if hostErrors(env.IO, f, outs) {
		return shell.ErrSilent
	}
	return nil
}

func newHostsCmd(env *Env) *spec.Command {
	var list string
	var off bool
	c := &spec.Command{
		Short: "select the hosts commands run on",
		Long: `Sets the hosts the next commands of the session run on, as the --hosts option
does: a comma list of uri_aliases names and URIs, or all. Read-only data
commands (list, dominfo, domstate, domblklist, domblkinfo, domstats, blockjob
--info, checkpoint-list, snapshot-list, debug node-names, event --loop,
version) then run on every one of them at once; a command on a guest runs on
the one host that has it. --off goes back to the session's one connection.
Without arguments it prints the selection.`,
		Example: "hosts all\nhosts lab2,qemu+ssh://root@h3/system\nhosts\nhosts --off",
	}
	c.String(&list, "hosts", "NAME[,NAME...] or all", spec.Opt, false).Complete(spec.URI)
	c.Bool(&off, "off", "work on the session's one connection again")
	c.Exclusive("hosts", "off")
	c.Run = func(ctx context.Context) error {
		f := fleetOf(env.Sess)
		switch {
		case off:
			f.Select(nil)
		case list != "":
			hosts, err := fleet.Parse(list)
			if err != nil {
				return err
			}
			f.Select(hosts)
		default:
			hosts := f.Selected()
			if hosts == nil {
				env.IO.Printf("%s\n", "none: commands run on the session's connection")
				return nil
			}
			for _, h := range hosts {
				if h.Name == h.URI {
					env.IO.Printf("%s\n", h.Name)
				} else {
					env.IO.Printf("%s\t%s\n", h.Name, h.URI)
				}
			}
		}
		return nil
	}
	return c
}
