package format

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/itchyny/gojq"
)

// SetJQ filters every JSON document this IO writes through the jq
// expression expr (gojq, in-process, as gh's --jq: no jq program needed),
// and makes the output JSON. Each result is one output: a string as its raw
// text, anything else as JSON (indented for Encode, one line for
// EncodeLine). gojq does not keep the order of object keys: filtered
// objects come out with sorted keys.
func (s *IO) SetJQ(expr string) error {
	q, err := gojq.Parse(expr)
	if err != nil {
		return fmt.Errorf("invalid --jq expression: %v", err)
	}
	code, err := gojq.Compile(q)
	if err != nil {
		return fmt.Errorf("invalid --jq expression: %v", err)
	}
	s.jq = code
	s.Output = "json"
	return nil
}

// writeJQ runs the filter over v (as the JSON Encode would write) and
// prints the results.
func (s *IO) writeJQ(v any, indent bool) error {
	raw, err := marshalRaw(v)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber() // byte counts beyond 2^53 stay exact
	var in any
	if err := dec.Decode(&in); err != nil {
		return err
	}
	iter := s.jq.Run(in)
	for {
		r, ok := iter.Next()
		if !ok {
			return nil
		}
		if err, isErr := r.(error); isErr {
			if h, halt := err.(*gojq.HaltError); halt && h.Value() == nil {
				return nil
			}
			return fmt.Errorf("jq: %v", err)
		}
		if str, isStr := r.(string); isStr {
			fprintf(s.Out, "%s\n", str)
			continue
		}
		var out []byte
		if indent {
			out, err = json.MarshalIndent(r, "", "  ")
		} else {
			out, err = json.Marshal(r)
		}
		if err != nil {
			return err
		}
		fprintf(s.Out, "%s\n", out)
	}
}
