package cmd

import (
	"io"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/virtsh/virtsh/format"
	"github.com/virtsh/virtsh/shell"
)

// Read-only views of the command tree for generators (man/gen): the same
// definitions, synopsis and option labels as `help COMMAND`.

// DocRoot builds the command tree over a session that is never connected.
func DocRoot() *cobra.Command {
	return NewRoot(shell.NewSession(&format.IO{Out: io.Discard, Err: io.Discard}, shell.Options{}))
}

// Groups returns the command groups in virsh's order.
func Groups() []*cobra.Group { return groups }

// GroupCommands returns a group's visible commands, sorted by name.
func GroupCommands(root *cobra.Command, groupID string) []*cobra.Command {
	return visibleCommands(root, groupID)
}

// Synopsis is the command's usage line in virsh's notation (`start <domain> [--paused]`).
func Synopsis(c *cobra.Command) string { return synopsis(c) }

// OptionLabel is the left column of the command's OPTIONS list.
func OptionLabel(f *pflag.Flag) string { return optionLabel(f) }

// IsPositional reports whether the option can be given as a bare word and
// is shown as <name> in the synopsis.
func IsPositional(f *pflag.Flag) bool {
	p := flagPos(f)
	return p == posReq || p == posOpt
}
