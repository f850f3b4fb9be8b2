package format

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// LibvirtJSON re-prints a JSON document the way libvirt 9.0 does
// (virJSONValueToString, over yajl's generator), which is what virsh prints
// for qemu-monitor-command --pretty/--return-value and qemu-agent-command
// --pretty: members in their order, numbers exactly as written, strings
// escaped as yajl escapes them; pretty is yajl's beautify mode, two spaces a
// level, "key": value, and an empty object or array opened and closed on
// lines of their own ("{\n\n}"). The text has no final newline. An input
// that is not one JSON value is an error.
func LibvirtJSON(doc string, pretty bool) (string, error) {
	dec := json.NewDecoder(strings.NewReader(doc))
	dec.UseNumber()
	g := &yajlGen{dec: dec, pretty: pretty}
	if err := g.value(0); err != nil {
		return "", err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return "", errors.New("trailing data after the JSON value")
	}
	return g.b.String(), nil
}

type yajlGen struct {
	dec    *json.Decoder
	pretty bool
	b      bytes.Buffer
}

func (g *yajlGen) indent(depth int) {
	if g.pretty {
		g.b.WriteString(strings.Repeat("  ", depth))
	}
}

func (g *yajlGen) newline() {
	if g.pretty {
		g.b.WriteByte('\n')
	}
}

// value prints the next value of the stream at depth.
func (g *yajlGen) value(depth int) error {
	tok, err := g.dec.Token()
	if err != nil {
		return err
	}
	switch t := tok.(type) {
	case json.Delim:
		closer := byte('}')
		if t == '[' {
			closer = ']'
		}
		g.b.WriteByte(byte(t))
		g.newline()
		for first := true; g.dec.More(); first = false {
			if !first {
				g.b.WriteByte(',')
				g.newline()
			}
			g.indent(depth + 1)
			if t == '{' {
				k, err := g.dec.Token()
				if err != nil {
					return err
				}
				g.str(k.(string))
				g.b.WriteByte(':')
				if g.pretty {
					g.b.WriteByte(' ')
				}
			}
			if err := g.value(depth + 1); err != nil {
				return err
			}
		}
		if _, err := g.dec.Token(); err != nil { // the closing delimiter
			return err
		}
		g.newline()
		g.indent(depth)
		g.b.WriteByte(closer)
	case string:
		g.str(t)
	case json.Number:
		g.b.WriteString(t.String())
	case bool:
		fmt.Fprint(&g.b, t)
	case nil:
		g.b.WriteString("null")
	}
	return nil
}

// str is yajl_string_encode: quote, backslash and the control characters
// escaped, everything else (UTF-8 included) as it is.
func (g *yajlGen) str(s string) {
	g.b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '"':
			g.b.WriteString(`\"`)
		case '\\':
			g.b.WriteString(`\\`)
		case '\b':
			g.b.WriteString(`\b`)
		case '\f':
			g.b.WriteString(`\f`)
		case '\n':
			g.b.WriteString(`\n`)
		case '\r':
			g.b.WriteString(`\r`)
		case '\t':
			g.b.WriteString(`\t`)
		default:
			if c < 0x20 {
				fmt.Fprintf(&g.b, `\u00%02X`, c)
			} else {
				g.b.WriteByte(c)
			}
		}
	}
	g.b.WriteByte('"')
}
