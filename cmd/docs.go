package cmd

import (
	"io"

	"github.com/virtsh/virtsh/format"
	"github.com/virtsh/virtsh/shell"
	"github.com/virtsh/virtsh/shell/spec"
)

// Read-only views of the command table for generators (man/gen): the same
// declarations, synopsis and option labels as `help COMMAND`.

// DocDeclarations builds every command's declaration over a session that is
// never connected.
func DocDeclarations() []*spec.Command {
	return Declarations(shell.NewSession(&format.IO{Out: io.Discard, Err: io.Discard}, shell.Options{}))
}

// Groups returns the command groups in virsh's order.
func Groups() []Group { return groups }

// GroupCommands returns a group's visible commands, sorted by name.
func GroupCommands(decls []*spec.Command, groupID string) []*spec.Command {
	return visibleCommands(decls, groupID)
}

// Synopsis is the command's usage line in virsh's notation (`start <domain> [--paused]`).
func Synopsis(c *spec.Command) string { return synopsis(c) }

// OptionLabel is the left column of command c's OPTIONS list for its option o.
func OptionLabel(c *spec.Command, o *spec.Option) string { return optionLabel(c, o) }
