package format

import (
	"bytes"
	"io"
	"strings"

	"github.com/clipperhouse/displaywidth"
	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/renderer"
	"github.com/olekukonko/tablewriter/tw"
)

// Table renders rows the way virsh's vsh-table.c does:
//
//	 Id   Name   State
//	----------------------
//	 1    test   running
//
// Each cell is " "+text padded to the column width plus two spaces, except the
// last column, which is not padded; the dash line is Σ(width+3). With quiet
// (virsh -q) the header and dash line are dropped and widths ignore the header.
func Table(w io.Writer, quiet bool, header []string, rows [][]string) error {
	for _, r := range rows {
		for i := range r {
			r[i] = escapeControl(r[i])
		}
	}
	if c, ok := w.(*HostCapture); ok {
		// One host's part of a command run on several (WriteHosts).
		c.addTable(header, rows)
		return nil
	}
	if len(rows) == 0 && quiet {
		return nil
	}
	var buf bytes.Buffer
	sym := tw.NewSymbolCustom("virsh").WithRow("-").WithColumn("").WithCenter("-").WithMidLeft("-").WithMidRight("-")
	r := renderer.NewBlueprint(tw.Rendition{
		Borders: tw.BorderNone,
		Symbols: sym,
		Settings: tw.Settings{
			Separators: tw.Separators{BetweenRows: tw.Off, BetweenColumns: tw.Off},
			Lines:      tw.Lines{ShowHeaderLine: tw.On, ShowTop: tw.Off, ShowBottom: tw.Off},
		},
	})
	tb := tablewriter.NewTable(&buf,
		tablewriter.WithRenderer(r),
		tablewriter.WithHeaderAutoFormat(tw.Off),
		tablewriter.WithPadding(tw.Padding{Left: " ", Right: "  ", Overwrite: true}),
		tablewriter.WithHeaderAlignment(tw.AlignLeft),
		tablewriter.WithRowAlignment(tw.AlignLeft),
		tablewriter.WithRowAutoWrap(tw.WrapNone),
		tablewriter.WithHeaderAutoWrap(tw.WrapNone),
		tablewriter.WithTrimSpace(tw.Off),
	)
	if !quiet {
		tb.Header(toAny(header)...)
	}
	for _, row := range rows {
		if err := tb.Append(toAny(row)...); err != nil {
			return err
		}
	}
	if len(rows) == 0 {
		// tablewriter draws nothing for an empty body; virsh still prints
		// the header and dash line.
		return emptyTable(w, header)
	}
	if err := tb.Render(); err != nil {
		return err
	}
	// tablewriter pads the last column like the others; virsh does not.
	// Cut each line to the width virsh would print.
	last := len(header) - 1
	lastW := 0
	if !quiet {
		lastW = displaywidth.String(header[last])
	}
	for _, row := range rows {
		if n := displaywidth.String(row[last]); n > lastW {
			lastW = n
		}
	}
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	cells := rows
	if !quiet {
		cells = append([][]string{header}, rows...)
	}
	var out strings.Builder
	ci := 0
	for _, line := range lines {
		if ci < len(cells) && !(isDashLine(line) && !quiet && ci == 1) {
			pad := lastW - displaywidth.String(cells[ci][last]) + 2
			line = line[:len(line)-pad]
			ci++
		}
		out.WriteString(line)
		out.WriteByte('\n')
	}
	_, err := io.WriteString(w, out.String())
	return err
}

func isDashLine(s string) bool { return s != "" && strings.Trim(s, "-") == "" }

func emptyTable(w io.Writer, header []string) error {
	var b strings.Builder
	dashes := 0
	for i, h := range header {
		b.WriteString(" " + h)
		if i < len(header)-1 {
			b.WriteString(strings.Repeat(" ", 2))
		}
		dashes += displaywidth.String(h) + 3
	}
	b.WriteString("\n" + strings.Repeat("-", dashes) + "\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func toAny(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

// escapeControl replaces control characters as virsh's table printer does,
// so a guest title cannot move the cursor on the user's terminal.
func escapeControl(s string) string {
	if strings.IndexFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }) < 0 {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			b.WriteString("\\x")
			const hex = "0123456789abcdef"
			b.WriteByte(hex[r>>4])
			b.WriteByte(hex[r&0xf])
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}
