package format

import (
	"bytes"
	"encoding/json"
	"io"
	"strings"
	"sync"

	"github.com/clipperhouse/displaywidth"
	"go.yaml.in/yaml/v3"
)

// HostCapture is what one host's run of a command printed, kept so that the
// results of several hosts can be shown together (WriteHosts): the tables it
// rendered (header and rows, not text), the values it encoded, and any
// other text, in order. A command writes to it as to any stdout: Table and
// IO.Encode notice it and record instead of rendering. It is safe for
// concurrent use (a host that stopped answering may still be writing).
type HostCapture struct {
	mu   sync.Mutex
	segs []capSeg
}

type capSeg struct {
	text   []byte
	table  bool
	header []string
	rows   [][]string
	value  any
	isVal  bool
}

// Write records text.
func (c *HostCapture) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if n := len(c.segs); n > 0 && !c.segs[n-1].table && !c.segs[n-1].isVal {
		c.segs[n-1].text = append(c.segs[n-1].text, p...)
	} else {
		c.segs = append(c.segs, capSeg{text: append([]byte(nil), p...)})
	}
	return len(p), nil
}

func (c *HostCapture) addTable(header []string, rows [][]string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.segs = append(c.segs, capSeg{table: true, header: append([]string(nil), header...), rows: rows})
}

func (c *HostCapture) addValue(v any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.segs = append(c.segs, capSeg{isVal: true, value: v})
}

func (c *HostCapture) snapshot() []capSeg {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]capSeg(nil), c.segs...)
}

// HostHeader is the title of the column WriteHosts puts first.
const HostHeader = "Host"

// WriteHosts shows the results of one command run on several hosts, in the
// order given (hosts[i] printed caps[i]; a nil capture printed nothing): the
// one place the Host column and the "host" key are made.
//
//   - -o json|yaml: one list. Each host's value is spread into it (a list
//     gives its elements, anything else itself), and every object gets
//     "host" as its first key; a value that is not an object becomes
//     {"host": H, "value": V}.
//   - a table from every host, all with the same columns: one virsh table
//     with a first Host column.
//   - anything else (virsh's "Key: value" lines, single values): each line
//     prefixed with the host name, padded to the longest, as a Host column.
func WriteHosts(s *IO, hosts []string, caps []*HostCapture) error {
	segs := make([][]capSeg, len(caps))
	for i, c := range caps {
		if c != nil {
			segs[i] = c.snapshot()
		}
	}
	if s.Structured() {
		return writeHostValues(s, hosts, segs)
	}
	if header, ok := sameTable(segs); ok {
		rows := [][]string{}
		for i, ss := range segs {
			for _, sg := range ss {
				if !sg.table {
					continue
				}
				for _, r := range sg.rows {
					rows = append(rows, append([]string{hosts[i]}, r...))
				}
			}
		}
		return Table(s.Out, s.Quiet, append([]string{HostHeader}, header...), rows)
	}
	width := 0
	for i, ss := range segs {
		if len(ss) > 0 {
			width = max(width, displaywidth.String(hosts[i]))
		}
	}
	var out bytes.Buffer
	for i, ss := range segs {
		var text bytes.Buffer
		for _, sg := range ss {
			switch {
			case sg.table:
				if err := Table(&text, s.Quiet, sg.header, sg.rows); err != nil {
					return err
				}
			case sg.isVal:
				sub := *s
				sub.Out = &text
				if err := sub.Encode(sg.value); err != nil {
					return err
				}
			default:
				text.Write(sg.text)
			}
		}
		body := strings.TrimRight(text.String(), "\n")
		if body == "" {
			continue
		}
		pad := strings.Repeat(" ", width-displaywidth.String(hosts[i]))
		for _, l := range strings.Split(body, "\n") {
			if l == "" {
				out.WriteString("\n")
				continue
			}
			out.WriteString(hosts[i] + pad + "  " + l + "\n")
		}
	}
	_, err := s.Out.Write(out.Bytes())
	return err
}

// sameTable reports whether every host that printed anything printed one
// table (and no other text), all with the same header.
func sameTable(segs [][]capSeg) ([]string, bool) {
	var header []string
	any := false
	for _, ss := range segs {
		tables := 0
		for _, sg := range ss {
			switch {
			case sg.table:
				tables++
				if !any {
					header, any = sg.header, true
				} else if strings.Join(header, "\x00") != strings.Join(sg.header, "\x00") {
					return nil, false
				}
			case sg.isVal:
				return nil, false
			case strings.TrimSpace(string(sg.text)) != "":
				return nil, false
			}
		}
		if tables > 1 {
			return nil, false
		}
	}
	return header, any
}

func writeHostValues(s *IO, hosts []string, segs [][]capSeg) error {
	var list []json.RawMessage
	for i, ss := range segs {
		for _, sg := range ss {
			if !sg.isVal {
				continue
			}
			raw, err := marshalRaw(sg.value)
			if err != nil {
				return err
			}
			elems := []json.RawMessage{raw}
			if len(raw) > 0 && raw[0] == '[' {
				elems = nil
				if err := json.Unmarshal(raw, &elems); err != nil {
					return err
				}
			}
			for _, e := range elems {
				list = append(list, withHost(hosts[i], e))
			}
		}
	}
	if list == nil {
		list = []json.RawMessage{}
	}
	all, err := marshalRaw(list)
	if err != nil {
		return err
	}
	if s.Output == "yaml" {
		// JSON is YAML: decoded as a node it keeps its keys' order.
		var n yaml.Node
		if err := yaml.Unmarshal(all, &n); err != nil {
			return err
		}
		styleBlock(&n)
		return s.Encode(&n)
	}
	if s.jq != nil {
		return s.writeJQ(all, true)
	}
	var b bytes.Buffer
	if err := json.Indent(&b, all, "", "  "); err != nil {
		return err
	}
	b.WriteByte('\n')
	_, err = s.Out.Write(b.Bytes())
	return err
}

// styleBlock undoes the flow style a node decoded from JSON carries, so the
// YAML looks like every other command's.
func styleBlock(n *yaml.Node) {
	n.Style &^= yaml.FlowStyle
	if n.Kind == yaml.ScalarNode && n.Style&yaml.DoubleQuotedStyle != 0 && n.Tag == "!!str" {
		n.Style &^= yaml.DoubleQuotedStyle
	}
	for _, c := range n.Content {
		styleBlock(c)
	}
}

// marshalRaw is JSON as Encode writes it (no HTML escaping), compact.
func marshalRaw(v any) (json.RawMessage, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(b.Bytes(), "\n"), nil
}

// withHost puts "host" first into a JSON object (or wraps any other value).
func withHost(host string, v json.RawMessage) json.RawMessage {
	h, _ := marshalRaw(host)
	v = bytes.TrimSpace(v)
	if len(v) > 0 && v[0] == '{' {
		rest := bytes.TrimSpace(v[1:])
		if len(rest) > 0 && rest[0] == '}' {
			return json.RawMessage(`{"host":` + string(h) + `}`)
		}
		return json.RawMessage(`{"host":` + string(h) + `,` + string(rest))
	}
	return json.RawMessage(`{"host":` + string(h) + `,"value":` + string(v) + `}`)
}

// HostLines is a stdout for one host of a command that streams (event
// --loop): each complete line is written to the shared writer at once,
// prefixed with "HOST: ", or, under -o json, as a JSON line with "host" first.
// The hosts of one command share mu, so their lines never interleave.
type HostLines struct {
	Host string
	Out  io.Writer
	Mu   *sync.Mutex
	JSON bool
	buf  []byte
}

// Write passes on every complete line of p.
func (w *HostLines) Write(p []byte) (int, error) {
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			return len(p), nil
		}
		line := w.buf[:i]
		var out []byte
		if w.JSON && len(bytes.TrimSpace(line)) > 0 && bytes.TrimSpace(line)[0] == '{' {
			out = append(withHost(w.Host, line), '\n')
		} else {
			out = append([]byte(w.Host+": "), line...)
			out = append(out, '\n')
		}
		w.Mu.Lock()
		_, err := w.Out.Write(out)
		w.Mu.Unlock()
		w.buf = w.buf[i+1:]
		if err != nil {
			return len(p), err
		}
	}
}
