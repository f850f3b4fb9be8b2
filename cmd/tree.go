package cmd

import (
	"github.com/spf13/cobra"

	"github.com/virtsh/virtsh/shell"
)

// Description is what virtsh is, for its help and man page.
const Description = "virtsh is a virsh-compatible shell for libvirt: the same commands, flags, output and exit codes, plus JSON/YAML output, progress bars and completion for every shell."

// Tree is the command table as a cobra tree: a subcommand per command,
// grouped as virsh groups them, each parsing its own words with the table's
// parser and running through the same invocation as the runner's. cobra's
// completion-script generators walk it; the scripts it writes call
// `virtsh __complete`, which the completion engine answers from the same
// declarations.
func Tree(sess *shell.Session) *cobra.Command {
	root := &cobra.Command{
		Use:           "virtsh",
		Short:         "virtualization interactive terminal",
		Long:          Description,
		SilenceErrors: true,
		SilenceUsage:  true,
		CompletionOptions: cobra.CompletionOptions{
			HiddenDefaultCmd: true,
		},
	}
	for _, g := range groups {
		root.AddGroup(&cobra.Group{ID: g.ID, Title: g.Title})
	}
	for _, d := range Declarations(sess) {
		name := d.Name
		root.AddCommand(&cobra.Command{
			Use: name, Short: d.Short, Long: d.Long, Example: d.Example, GroupID: d.Group, Hidden: d.Hidden,
			DisableFlagParsing: true,
			RunE: func(c *cobra.Command, args []string) error {
				inv, err := parseInvocation(sess, append([]string{name}, args...))
				if err != nil {
					return err
				}
				return inv.Run(c.Context())
			},
		})
	}
	return root
}
