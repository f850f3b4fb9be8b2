package format

import (
	"encoding/json"
	"fmt"
	"io"

	"go.yaml.in/yaml/v3"
)

func fprintf(w io.Writer, format string, args ...any) {
	if len(args) == 0 {
		_, _ = io.WriteString(w, format)
		return
	}
	_, _ = fmt.Fprintf(w, format, args...)
}

// Encode writes v as JSON (indented, one document) or YAML according to s.Output.
// Views passed here carry raw values (bytes, not "64 MiB") and json/yaml tags
// in lower_snake_case; the man page documents them.
func (s *IO) Encode(v any) error {
	if c, ok := s.Out.(*HostCapture); ok {
		// One host's part of a command run on several (WriteHosts).
		c.addValue(v)
		return nil
	}
	if s.jq != nil {
		return s.writeJQ(v, true)
	}
	switch s.Output {
	case "yaml":
		enc := yaml.NewEncoder(s.Out)
		enc.SetIndent(2)
		if err := enc.Encode(v); err != nil {
			return err
		}
		return enc.Close()
	default:
		enc := json.NewEncoder(s.Out)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		return enc.Encode(v)
	}
}

// EncodeLine writes v as one compact JSON line (JSON Lines, for event streams).
func (s *IO) EncodeLine(v any) error {
	if s.jq != nil {
		return s.writeJQ(v, false)
	}
	enc := json.NewEncoder(s.Out)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}
