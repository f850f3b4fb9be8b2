package cmd

import (
	"context"
	"errors"
	"fmt"

	"github.com/virtsh/virtsh/format"
	"github.com/virtsh/virtsh/shell"
	"github.com/virtsh/virtsh/shell/spec"
	"libvirt.org/go/libvirt"
)

// NewRunner is the one way to build a runner over sess: Main, the REPL and
// the tests all run commands through it.
func NewRunner(sess *shell.Session) *shell.Runner {
	return &shell.Runner{Sess: sess, Parse: func(words []string) (shell.Invocation, error) {
		return parseInvocation(sess, words)
	}}
}

// parseInvocation turns one command's words into a typed invocation: a fresh
// declaration of the command (so no value survives from one command to the
// next) with its options parsed into the run function's bindings.
func parseInvocation(sess *shell.Session, words []string) (shell.Invocation, error) {
	e := lookupCommand(words[0])
	if e == nil {
		return nil, fmt.Errorf("unknown command: '%s'", words[0])
	}
	env := newEnv(sess)
	c := e.build(env)
	if err := c.Parse(words[1:]); err != nil {
		if errors.Is(err, spec.ErrHelp) {
			return helpInvocation{env: env, c: c}, nil
		}
		return nil, err
	}
	if selectedHosts(sess) != nil {
		return fleetInvocation(sess, e, words, invocation{env: env, c: c}) // cmd/fleet.go
	}
	return invocation{env: env, c: c}, nil
}

// invocation is a parsed command.
type invocation struct {
	env *Env
	c   *spec.Command
}

// Run applies the policy every command shares, then runs it: on a read-only
// session a mutating command (or a mutating option) fails before anything
// is looked up; then the rules virsh checks when a command starts
// (exclusive options, options that need another, empty values).
func (i invocation) Run(ctx context.Context) error {
	if i.env.Sess.ReadOnly() && i.c.MutatingNow() && !i.c.ReadOnlyByLibvirt {
		return fmt.Errorf("operation forbidden: read only access prevents %s", i.c.Name)
	}
	if err := i.c.Check(); err != nil {
		return err
	}
	return i.c.Run(ctx)
}

// Structured reports whether the command prints -o json|yaml, after which
// the runner adds no blank line (stdout is data only).
func (i invocation) Structured() bool { return i.env.IO.Structured() }

// helpInvocation is `COMMAND ... --help`, which virsh answers as `help COMMAND`.
type helpInvocation struct {
	env *Env
	c   *spec.Command
}

func (h helpInvocation) Run(context.Context) error { return printCommandHelp(h.env.IO.Out, h.c) }

// outputOption declares -o/--output, which every command that prints data
// honours.
func outputOption(c *spec.Command, io *format.IO) *spec.Option {
	o := c.Func("output", "output format: table, json or yaml", func(v string) error {
		if !format.ValidOutput(v) {
			return fmt.Errorf("unknown output format '%s': use table, json or yaml", v)
		}
		io.Output = v
		return nil
	})
	o.Short = 'o'
	o.Complete(spec.Output)
	c.Func("jq", "filter the JSON output with a jq expression (implies -o json)", io.SetJQ).Complete(spec.Nothing)
	return o
}

// msgThenCause is virsh's "own message, then libvirt's" error
// (shell.MsgThenCause).
func msgThenCause(msg string, cause error) error { return shell.MsgThenCause(msg, cause) }

// isNoSupport reports a libvirt "this driver does not do that" error.
func isNoSupport(err error) bool {
	var le libvirt.Error
	return errors.As(err, &le) && le.Code == libvirt.ERR_NO_SUPPORT
}

// isUnsupportedFlags reports the errors a server gives for a flag it does
// not know (VIR_ERR_NO_SUPPORT or VIR_ERR_INVALID_ARG), where virsh falls
// back to an older call.
func isUnsupportedFlags(err error) bool {
	var le libvirt.Error
	return errors.As(err, &le) && (le.Code == libvirt.ERR_NO_SUPPORT || le.Code == libvirt.ERR_INVALID_ARG)
}

// printValue prints the one value a command answers with: {key: value}
// under -o json|yaml, else value in virsh's text format (with or without
// the newline, as virsh prints it).
func printValue(env *Env, key, value, text string) error {
	if env.IO.Structured() {
		return env.IO.Encode(map[string]string{key: value})
	}
	env.IO.Printf(text, value)
	return nil
}
