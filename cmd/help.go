package cmd

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/virtsh/virtsh/shell/spec"
)

func groupByKeyword(kw string) *Group {
	for i, g := range groups {
		if g.ID == kw || strings.EqualFold(g.Title, kw) {
			return &groups[i]
		}
	}
	return nil
}

// visibleCommands returns the group's commands, sorted by name, without
// hidden ones.
func visibleCommands(decls []*spec.Command, groupID string) []*spec.Command {
	var out []*spec.Command
	for _, c := range decls {
		if !c.Hidden && c.Group == groupID {
			out = append(out, c)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// printGroupedHelp prints virsh's `help` (all groups) or `help GROUP`.
func printGroupedHelp(w io.Writer, decls []*spec.Command, only string) error {
	for _, g := range groups {
		if only != "" && g.ID != only {
			continue
		}
		cmds := visibleCommands(decls, g.ID)
		if len(cmds) == 0 {
			continue
		}
		fmt.Fprintf(w, " %s (help keyword '%s'):\n", g.Title, g.ID)
		for _, c := range cmds {
			fmt.Fprintf(w, "    %-30s %s\n", c.Name, c.Short)
		}
		if only == "" {
			fmt.Fprintln(w)
		}
	}
	return nil
}

// synopsis renders a command's usage line in virsh's notation.
func synopsis(c *spec.Command) string {
	var b strings.Builder
	b.WriteString(c.Name)
	for _, o := range c.Options {
		if o.Hidden {
			continue
		}
		b.WriteString(" ")
		switch {
		case o.Kind == spec.Bool:
			fmt.Fprintf(&b, "[--%s]", o.Name)
		case o.Kind == spec.Argv && o.Pos != spec.Named && afterShortopt(c, o):
			if o.Required {
				fmt.Fprintf(&b, "{[--%s] <string>}...", o.Name)
			} else {
				fmt.Fprintf(&b, "[[--%s] <string>]...", o.Name)
			}
		case o.Kind == spec.Argv && o.Pos != spec.Named:
			if o.Required {
				fmt.Fprintf(&b, "<%s>...", o.Name)
			} else {
				fmt.Fprintf(&b, "[<%s>]...", o.Name)
			}
		case o.Kind == spec.Argv:
			fmt.Fprintf(&b, "[--%s <string>]...", o.Name)
		case o.Pos == spec.Req || (o.Pos == spec.Opt && o.Required):
			fmt.Fprintf(&b, "<%s>", o.Name)
		case o.Pos == spec.Opt:
			fmt.Fprintf(&b, "[<%s>]", o.Name)
		case o.Required:
			fmt.Fprintf(&b, "--%s <%s>", o.Name, o.Syntax())
		default:
			fmt.Fprintf(&b, "[--%s <%s>]", o.Name, o.Syntax())
		}
	}
	return b.String()
}

// afterShortopt is vshCmddefHelp's shortopt: an option before o that a bare
// word can fill (virsh's DATA, STRING and INT options without REQ_OPT)
// makes virsh show o, an ARGV option, with its --name: "{[--cmd]
// <string>}...", "[--cmd] <string>".
func afterShortopt(c *spec.Command, o *spec.Option) bool {
	for _, p := range c.Options {
		if p == o {
			return false
		}
		if p.Kind != spec.Bool && p.Pos != spec.Named {
			return true
		}
	}
	return false
}

// optionLabel is the left column of virsh's OPTIONS list for c's option o.
func optionLabel(c *spec.Command, o *spec.Option) string {
	switch {
	case o.Kind == spec.Bool:
		return "--" + o.Name
	case o.Kind == spec.Argv && o.Pos != spec.Named && afterShortopt(c, o):
		return fmt.Sprintf("[--%s] <string>", o.Name)
	case o.Kind == spec.Argv && o.Pos != spec.Named:
		return "<" + o.Name + ">"
	case o.Pos == spec.Req || o.Pos == spec.Opt:
		return fmt.Sprintf("[--%s] <string>", o.Name)
	case o.Kind == spec.Number && o.Pos == spec.Unwanted:
		return fmt.Sprintf("[--%s] <number>", o.Name)
	case o.Short != 0:
		return fmt.Sprintf("-%c, --%s <%s>", o.Short, o.Name, o.Syntax())
	default:
		return fmt.Sprintf("--%s <%s>", o.Name, o.Syntax())
	}
}

// printCommandHelp prints `help COMMAND` as virsh lays it out, plus the
// command's examples (virtsh's addition). `COMMAND --help` prints the same.
func printCommandHelp(w io.Writer, c *spec.Command) error {
	fmt.Fprintf(w, "  NAME\n    %s - %s\n\n", c.Name, c.Short)
	fmt.Fprintf(w, "  SYNOPSIS\n    %s\n\n", synopsis(c))
	if c.Long != "" {
		fmt.Fprintf(w, "  DESCRIPTION\n%s\n\n", indent(c.Long, "    "))
	}
	var opts []string
	for _, o := range c.Options {
		if !o.Hidden {
			opts = append(opts, fmt.Sprintf("    %-15s  %s", optionLabel(c, o), o.Help))
		}
	}
	if len(opts) > 0 {
		fmt.Fprintf(w, "  OPTIONS\n%s\n\n", strings.Join(opts, "\n"))
	}
	if c.Example != "" {
		fmt.Fprintf(w, "  EXAMPLES\n%s\n\n", indent(c.Example, "    "))
	}
	return nil
}

func indent(s, prefix string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		if l != "" {
			lines[i] = prefix + l
		}
	}
	return strings.Join(lines, "\n")
}
