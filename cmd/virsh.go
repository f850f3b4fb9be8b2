package cmd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/virtsh/virtsh/shell"
	"github.com/virtsh/virtsh/shell/spec"
)

// The "Virsh itself" group: help, echo, connect, cd, pwd, quit, exit.

func newHelpCmd(env *Env) *spec.Command {
	var topic string
	// virsh 9.0's help ignores options it does not know and words after
	// the topic.
	c := &spec.Command{Short: "print help", Long: "Prints global help, command specific help, or help for a group of related commands",
		Example: "help\nhelp domain\nhelp blockcommit", Lenient: true}
	c.String(&topic, "command", "Prints global help, command specific help, or help for a\n                     group of related commands", spec.Opt, false).Complete(spec.CommandName)
	c.Run = func(ctx context.Context) error {
		w := env.IO.Out
		if topic == "" {
			fmt.Fprint(w, "Grouped commands:\n\n")
			return printGroupedHelp(w, Declarations(env.Sess), "")
		}
		if g := groupByKeyword(topic); g != nil {
			return printGroupedHelp(w, Declarations(env.Sess), g.ID)
		}
		if target := declaration(env.Sess, topic); target != nil {
			return printCommandHelp(w, target)
		}
		return fmt.Errorf("command or command group '%s' doesn't exist", topic)
	}
	return c
}

func newEchoCmd(env *Env) *spec.Command {
	var o struct {
		shell, xml, split, err bool
		prefix                 string
		str                    []string
	}
	c := &spec.Command{Short: "echo arguments. Used for internal testing.", Long: "Echo back arguments, possibly with quoting. Used for internal testing."}
	c.Example = "echo --shell \"a b\" c      # prints 'a b' c\necho --xml '<tag>'         # prints &lt;tag&gt;"
	c.Bool(&o.shell, "shell", "escape for shell use")
	c.Bool(&o.xml, "xml", "escape for XML use")
	c.Bool(&o.split, "split", "split each argument on ','; ',,' is an escape sequence")
	c.Bool(&o.err, "err", "output to stderr")
	c.String(&o.prefix, "prefix", "prefix the message", spec.Named, false).Complete(spec.Nothing)
	c.Argv(&o.str, "string", "arguments to echo", spec.Opt, false).Complete(spec.Nothing)
	c.Alias("str", "string")
	c.Alias("hi", "string=hello")
	c.Exclusive("shell", "xml")
	c.Exclusive("shell", "split")
	c.Exclusive("xml", "split")
	c.Run = func(ctx context.Context) error {
		var b strings.Builder
		if o.prefix != "" {
			b.WriteString(o.prefix + " ")
		}
		for _, a := range o.str {
			switch {
			case o.xml:
				b.WriteString(escapeXML(a))
			case o.shell:
				b.WriteString(escapeShell(a))
			case o.split:
				for _, p := range splitCommaList(a) {
					b.WriteString(p + "\n")
				}
			default:
				b.WriteString(a)
			}
			b.WriteByte(' ')
		}
		out := strings.TrimRight(b.String(), " ")
		if o.err {
			// virsh prints it as an error but the command succeeds.
			if out != "" {
				env.IO.Errorf("error: %s\n", out)
			}
			return nil
		}
		env.IO.Printf("%s", out)
		return nil
	}
	return c
}

// escapeShell quotes s for a POSIX shell as virsh's virBufferEscapeShell does.
func escapeShell(s string) string {
	if s == "" {
		return "''"
	}
	if !strings.ContainsAny(s, "\r\t\n !\"#$&'()*;<>?[\\]^`{|}~") {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// escapeXML escapes s for XML text or attributes as virBufferEscapeString does.
func escapeXML(s string) string {
	r := strings.NewReplacer("<", "&lt;", ">", "&gt;", "&", "&amp;", "'", "&apos;", `"`, "&quot;")
	return r.Replace(s)
}

// splitCommaList splits on ',' with ",," standing for a literal comma
// (virsh's vshStringToArray).
func splitCommaList(s string) []string {
	var out []string
	var cur strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == ',' {
			if i+1 < len(s) && s[i+1] == ',' {
				cur.WriteByte(',')
				i++
				continue
			}
			out = append(out, cur.String())
			cur.Reset()
			continue
		}
		cur.WriteByte(s[i])
	}
	return append(out, cur.String())
}

func newConnectCmd(env *Env) *spec.Command {
	var name string
	var ro bool
	c := &spec.Command{Short: "(re)connect to hypervisor", Long: "Connect to local hypervisor. This is built-in command after shell start up."}
	c.Example = "connect qemu:///system\nconnect test:///default --readonly"
	f := c.String(&name, "name", "hypervisor connection URI", spec.Opt, false)
	f.Empty().Complete(spec.URI)
	c.Bool(&ro, "readonly", "read-only connection")
	c.Run = func(ctx context.Context) error {
		return env.Sess.Connect(name, ro)
	}
	return c
}

func newCdCmd(env *Env) *spec.Command {
	var dir string
	c := &spec.Command{Short: "change the current directory", Long: "Change the current directory."}
	f := c.String(&dir, "dir", "directory to switch to (default: home or else root)", spec.Opt, false)
	f.Complete(spec.Dir)
	c.Run = func(ctx context.Context) error {
		if !env.Sess.Interactive {
			return errors.New("cd: command valid only in interactive mode")
		}
		if dir == "" {
			if dir, _ = os.UserHomeDir(); dir == "" {
				dir = "/"
			}
		}
		if err := os.Chdir(dir); err != nil {
			var pe *os.PathError
			if errors.As(err, &pe) {
				err = pe.Err
			}
			return fmt.Errorf("cd: %s: %s", capitalize(err.Error()), dir)
		}
		return nil
	}
	return c
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func newPwdCmd(env *Env) *spec.Command {
	c := &spec.Command{Short: "print the current directory", Long: "Print the current directory."}
	c.Run = func(ctx context.Context) error {
		wd, err := os.Getwd()
		if err != nil {
			return fmt.Errorf("pwd: cannot get current directory: %v", err)
		}
		env.IO.Printf("%s\n", wd)
		return nil
	}
	return c
}

func newQuitCmd(*Env) *spec.Command {
	return &spec.Command{Short: "quit this interactive terminal",
		Run: func(context.Context) error { return shell.ErrQuit }}
}

// newExitCmd is quit under virsh's other name for it.
func newExitCmd(env *Env) *spec.Command { return newQuitCmd(env) }
