package cmd

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

func groupByKeyword(kw string) *cobra.Group {
	for _, g := range groups {
		if g.ID == kw || strings.EqualFold(g.Title, kw) {
			return g
		}
	}
	return nil
}

// visibleCommands returns the group's commands, sorted by name, without
// hidden ones and cobra's own.
func visibleCommands(root *cobra.Command, groupID string) []*cobra.Command {
	var out []*cobra.Command
	for _, c := range root.Commands() {
		if c.Hidden || c.GroupID != groupID {
			continue
		}
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name() < out[j].Name() })
	return out
}

// printGroupedHelp prints virsh's `help` (all groups) or `help GROUP`.
func printGroupedHelp(w io.Writer, root *cobra.Command, only string) error {
	for _, g := range groups {
		if only != "" && g.ID != only {
			continue
		}
		cmds := visibleCommands(root, g.ID)
		if len(cmds) == 0 {
			continue
		}
		fmt.Fprintf(w, " %s (help keyword '%s'):\n", g.Title, g.ID)
		for _, c := range cmds {
			fmt.Fprintf(w, "    %-30s %s\n", c.Name(), c.Short)
		}
		if only == "" {
			fmt.Fprintln(w)
		}
	}
	return nil
}

// synopsis renders a command's usage line in virsh's notation.
func synopsis(c *cobra.Command) string {
	var b strings.Builder
	b.WriteString(c.Name())
	c.Flags().VisitAll(func(f *pflag.Flag) {
		if f.Hidden {
			return
		}
		b.WriteString(" ")
		pos, kind, req := flagPos(f), flagKind(f), flagRequired(f)
		switch {
		case kind == kBool:
			fmt.Fprintf(&b, "[--%s]", f.Name)
		case kind == kArgv && (pos == posReq || pos == posOpt):
			if req {
				fmt.Fprintf(&b, "<%s>...", f.Name)
			} else {
				fmt.Fprintf(&b, "[<%s>]...", f.Name)
			}
		case kind == kArgv:
			fmt.Fprintf(&b, "[--%s <string>]...", f.Name)
		case pos == posReq || (pos == posOpt && req):
			fmt.Fprintf(&b, "<%s>", f.Name)
		case pos == posOpt:
			fmt.Fprintf(&b, "[<%s>]", f.Name)
		case req:
			fmt.Fprintf(&b, "--%s <%s>", f.Name, syntaxWord(f))
		default:
			fmt.Fprintf(&b, "[--%s <%s>]", f.Name, syntaxWord(f))
		}
	})
	return b.String()
}

// optionLabel is the left column of virsh's OPTIONS list.
func optionLabel(f *pflag.Flag) string {
	pos, kind := flagPos(f), flagKind(f)
	switch {
	case kind == kBool:
		return "--" + f.Name
	case kind == kArgv && pos != posNone:
		return "<" + f.Name + ">"
	case pos == posReq || pos == posOpt:
		return fmt.Sprintf("[--%s] <string>", f.Name)
	case kind == kNumber && pos == posUnwanted:
		return fmt.Sprintf("[--%s] <number>", f.Name)
	default:
		if f.Shorthand != "" {
			return fmt.Sprintf("-%s, --%s <%s>", f.Shorthand, f.Name, syntaxWord(f))
		}
		return fmt.Sprintf("--%s <%s>", f.Name, syntaxWord(f))
	}
}

// printCommandHelp prints `help COMMAND` as virsh lays it out, plus the
// command's examples (virtsh's addition). `COMMAND --help` prints the same.
func printCommandHelp(w io.Writer, c *cobra.Command) error {
	fmt.Fprintf(w, "  NAME\n    %s - %s\n\n", c.Name(), c.Short)
	fmt.Fprintf(w, "  SYNOPSIS\n    %s\n\n", synopsis(c))
	if len(c.Aliases) > 0 {
		fmt.Fprintf(w, "  ALIASES\n    %s\n\n", strings.Join(c.Aliases, ", "))
	}
	if c.Long != "" {
		fmt.Fprintf(w, "  DESCRIPTION\n%s\n\n", indent(c.Long, "    "))
	}
	var opts []string
	c.Flags().VisitAll(func(f *pflag.Flag) {
		if !f.Hidden {
			opts = append(opts, fmt.Sprintf("    %-15s  %s", optionLabel(f), f.Usage))
		}
	})
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
