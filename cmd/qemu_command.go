package cmd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"

	"libvirt.org/go/libvirt"

	"github.com/virtsh/virtsh/format"
	"github.com/virtsh/virtsh/shell/blocknodes"
	"github.com/virtsh/virtsh/shell/spec"
)

// qemu-monitor-command and qemu-agent-command (virsh-domain.c): a command
// sent as the user wrote it, its reply printed as libvirt returned it, or
// re-printed the way libvirt prints JSON (format.LibvirtJSON).

func newQemuMonitorCommandCmd(env *Env) *spec.Command {
	var o struct {
		dom, passFds             string
		hmp, pretty, returnValue bool
		cmd                      []string
	}
	c := &spec.Command{Short: "QEMU Monitor Command", Long: "QEMU Monitor Command"}
	c.Example = "qemu-monitor-command vm1 query-name\n" +
		"qemu-monitor-command vm1 --pretty '{\"execute\":\"query-named-block-nodes\",\"arguments\":{\"flat\":true}}'\n" +
		"qemu-monitor-command vm1 query-named-block-nodes '\"flat\":true'\n" +
		"qemu-monitor-command vm1 --hmp info status"
	c.Domain(&o.dom, "active")
	c.Bool(&o.hmp, "hmp", "command is in human monitor protocol")
	c.Bool(&o.pretty, "pretty", "pretty-print any qemu monitor protocol output")
	c.Bool(&o.returnValue, "return-value", "extract the value of the 'return' key from the returned string")
	c.String(&o.passFds, "pass-fds", "pass file descriptors N,M,... along with the command", spec.Named, false).Complete(spec.Nothing)
	c.Argv(&o.cmd, "cmd", "command", spec.Req, true).Complete(spec.Nothing)
	c.Exclusive("hmp", "pretty")
	c.Exclusive("hmp", "return-value")
	c.Run = env.onDomain(&o.dom, func(_ context.Context, d *libvirt.Domain) error {
		var mcmd string
		var flags libvirt.DomainQemuMonitorCommandFlags
		if o.hmp {
			flags |= libvirt.DOMAIN_QEMU_MONITOR_COMMAND_HMP
			mcmd = strings.Join(o.cmd, " ")
		} else {
			var err error
			if mcmd, err = qmpWrap(o.cmd); err != nil {
				return err
			}
		}
		var result string
		var err error
		if c.Given("pass-fds") {
			files, ferr := parsePassFds(o.passFds)
			if ferr != nil {
				return ferr
			}
			var out []*os.File
			result, out, err = d.QemuMonitorCommandWithFiles(mcmd, files, flags)
			for _, f := range out {
				_ = f.Close() // virsh asks for none back
			}
		} else {
			result, err = d.QemuMonitorCommand(mcmd, flags)
		}
		if err != nil {
			return err
		}
		monitorCommandDone(env, d)
		if !o.pretty && !o.returnValue {
			env.IO.Printf("%s\n", result)
			return nil
		}
		doc := result
		if o.returnValue {
			var obj map[string]json.RawMessage
			if !json.Valid([]byte(result)) {
				return errors.New("failed to parse JSON returned by qemu")
			}
			if json.Unmarshal([]byte(result), &obj) != nil || obj["return"] == nil {
				return errors.New("'return' member missing")
			}
			doc = string(obj["return"])
		}
		text, jerr := format.LibvirtJSON(doc, o.pretty)
		if jerr != nil { // --pretty of a reply that is no JSON: as it came
			env.IO.Printf("%s\n", result)
			return nil
		}
		env.IO.Printf("%s", text) // virsh trims the text and adds no newline
		return nil
	})
	return c
}

// monitorCommandDone is what virtsh does after libvirt accepted a monitor
// command: libvirt has marked the guest tainted (custom-monitor), which
// virtsh says once a session as for its own scrapes; and the command may
// have changed QEMU's block nodes behind libvirt's back (blockdev-add,
// blockdev-del, HMP drive_add, ...), with no event to tell, so the node-name
// cache re-derives the guest's entry at its next use.
func monitorCommandDone(env *Env, d *libvirt.Domain) {
	uuid, err := d.GetUUIDString()
	if err != nil {
		return
	}
	name, _ := d.GetName()
	nodes := env.Sess.Nodes()
	nodes.WarnTaint(uuid, name)
	nodes.Refill(uuid, blocknodes.ReasonMonitor)
}

// qmpWrap is virsh's cmdQemuMonitorCommandQMPWrap: words that together are
// a JSON object go as they are; otherwise the first word is the command's
// name and the rest its arguments, either one JSON object or members that
// are wrapped in braces ("'\"flat\":true'" → {"flat":true}).
func qmpWrap(words []string) (string, error) {
	full := strings.Join(words, " ")
	if isJSONObject(full) {
		return full, nil
	}
	name, err := format.LibvirtJSON(quoteJSON(words[0]), false)
	if err != nil {
		return "", err
	}
	cmd := `{"execute":` + name
	if len(words) > 1 {
		args := strings.Join(words[1:], " ")
		if !isJSONObject(args) {
			wrapped := "{" + strings.Join(words[1:], ",") + "}"
			if !isJSONObject(wrapped) {
				var v any
				perr := json.Unmarshal([]byte(wrapped), &v)
				return "", errors.Join(
					fmt.Errorf("failed to wrap arguments '%s' into a QMP command wrapper", args),
					fmt.Errorf("internal error: cannot parse json %s: %v", wrapped, perr))
			}
			args = wrapped
		}
		a, err := format.LibvirtJSON(args, false)
		if err != nil {
			return "", err
		}
		cmd += `,"arguments":` + a
	}
	return cmd + "}", nil
}

// isJSONObject reports whether s is one JSON object.
func isJSONObject(s string) bool {
	var m map[string]json.RawMessage
	return json.Unmarshal([]byte(s), &m) == nil && m != nil
}

func quoteJSON(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func newQemuAgentCommandCmd(env *Env) *spec.Command {
	var o struct {
		dom, timeout         string
		async, block, pretty bool
		cmd                  []string
	}
	c := &spec.Command{Short: "QEMU Guest Agent Command", Long: "Run an arbitrary qemu guest agent command; use at your own risk"}
	c.Example = "qemu-agent-command vm1 '{\"execute\":\"guest-ping\"}'\n" +
		"qemu-agent-command vm1 --timeout 10 --pretty '{\"execute\":\"guest-info\"}'"
	c.Domain(&o.dom, "active")
	c.Number(&o.timeout, "timeout", "timeout seconds. must be positive.", spec.Named, false)
	c.Bool(&o.async, "async", "execute command without waiting for timeout")
	c.Bool(&o.block, "block", "execute command without timeout")
	c.Bool(&o.pretty, "pretty", "pretty-print the output")
	c.Argv(&o.cmd, "cmd", "command", spec.Req, true).Complete(spec.Nothing)
	c.Run = env.onDomain(&o.dom, func(_ context.Context, d *libvirt.Domain) error {
		// virsh's order: the domain, then the timeout and its rivals.
		timeout := libvirt.DOMAIN_QEMU_AGENT_COMMAND_DEFAULT
		judge := 0
		if c.Given("timeout") {
			v, ok := strtol(o.timeout, 10)
			if !ok {
				return fmt.Errorf("Numeric value '%s' for <timeout> option is malformed or out of range", o.timeout)
			}
			if v < 1 {
				return errors.New("timeout must be positive")
			}
			timeout, judge = libvirt.DomainQemuAgentCommandTimeout(v), 1
		}
		if o.async {
			timeout, judge = libvirt.DOMAIN_QEMU_AGENT_COMMAND_NOWAIT, judge+1
		}
		if o.block {
			timeout, judge = libvirt.DOMAIN_QEMU_AGENT_COMMAND_BLOCK, judge+1
		}
		if judge > 1 {
			return errors.New("timeout, async and block options are exclusive")
		}
		result, err := d.QemuAgentCommand(strings.Join(o.cmd, " "), timeout, 0)
		if err != nil {
			return err
		}
		if o.pretty {
			// libvirt's pretty text ends in a newline of its own, which
			// virsh keeps here (unlike qemu-monitor-command).
			if text, err := format.LibvirtJSON(result, true); err == nil {
				result = text + "\n"
			}
		}
		env.IO.Printf("%s\n", result)
		return nil
	})
	return c
}
