package completion

import (
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/spf13/cobra"
)

// splitPartial splits a REPL line up to the cursor with virsh's tokenizer
// rules (shell.Split), tolerantly: it returns the words of the last command
// (after the last unquoted ';' or newline), the raw text of the word under
// the cursor as typed (quotes and backslashes included) and the quote that
// is still open in it (0 if none). ok is false inside a comment.
func splitPartial(line string) (words []string, raw string, quote byte, ok bool) {
	p := 0
	for {
		for p < len(line) && (line[p] == ' ' || line[p] == '\t') {
			p++
		}
		if p >= len(line) {
			return append(words, ""), "", 0, true
		}
		switch line[p] {
		case ';', '\n':
			words = nil
			p++
			continue
		case '#':
			nl := strings.IndexByte(line[p:], '\n')
			if nl < 0 {
				return nil, "", 0, false
			}
			words = nil
			p += nl + 1
			continue
		}
		start := p
		var b strings.Builder
		var q byte
		for p < len(line) {
			c := line[p]
			if q == 0 && (c == ' ' || c == '\t' || c == ';' || c == '\n') {
				break
			}
			switch {
			case q != '"' && c == '\'':
				q ^= '\''
				p++
				continue
			case q != '\'' && c == '"':
				q ^= '"'
				p++
				continue
			case q != '\'' && c == '\\':
				p++
				if p >= len(line) {
					continue
				}
			}
			b.WriteByte(line[p])
			p++
		}
		words = append(words, b.String())
		if p >= len(line) {
			return words, line[start:], q, true
		}
	}
}

// escapeWord quotes a candidate for the REPL line: inside an open quote it is
// closed after the word; otherwise blanks and virsh's special characters get
// a backslash (vshReadlineParse escapes the same way).
func escapeWord(s string, quote byte) string {
	if quote != 0 {
		return string(quote) + s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if strings.IndexByte(" \t;#'\"\\", s[i]) >= 0 {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// Line completes a REPL line up to the cursor. It returns whole candidate
// words as they would appear on the line (escaped, with a trailing space
// when the word is finished) and how many runes of the line they replace.
func (c *Completer) Line(line string) ([]string, int) {
	words, raw, quote, ok := splitPartial(line)
	if !ok {
		return nil, 0
	}
	cur := words[len(words)-1]
	r := c.Complete(words)
	cands := r.Cands
	noSpace := r.Directive&cobra.ShellCompDirectiveNoSpace != 0
	var dirs map[string]bool
	if len(cands) == 0 && (r.Directive == cobra.ShellCompDirectiveDefault || r.Directive&cobra.ShellCompDirectiveFilterDirs != 0) {
		cands, dirs = fileCandidates(cur, r.Directive&cobra.ShellCompDirectiveFilterDirs != 0)
	}
	out := make([]string, 0, len(cands))
	for _, cd := range cands {
		w := escapeWord(cd.Value, quote)
		switch {
		case dirs[cd.Value] || noSpace:
		case quote != 0:
			w += string(quote) + " "
		default:
			w += " "
		}
		// The raw word typed so far must be a prefix of what replaces it;
		// when it is not (odd quoting), replace the whole word.
		out = append(out, w)
	}
	// When the typed text is not the escaped prefix of the candidates (for
	// example a quote closed mid-word), readline cannot append a suffix;
	// offer nothing rather than corrupt the line.
	filtered := out[:0]
	for _, w := range out {
		if strings.HasPrefix(w, raw) {
			filtered = append(filtered, w)
		}
	}
	return filtered, len([]rune(raw))
}

// fileCandidates lists local paths starting with cur (directories with a
// trailing '/'), for options that take a file or a directory: the REPL has
// no filename completion of its own.
func fileCandidates(cur string, dirsOnly bool) ([]Candidate, map[string]bool) {
	dir, base := filepath.Split(cur)
	readDir := dir
	if readDir == "" {
		readDir = "."
	}
	if strings.HasPrefix(readDir, "~/") {
		if home, err := os.UserHomeDir(); err == nil {
			readDir = filepath.Join(home, readDir[2:])
		}
	}
	ents, err := os.ReadDir(readDir)
	if err != nil {
		return nil, nil
	}
	var out []Candidate
	dirs := map[string]bool{}
	for _, e := range ents {
		name := e.Name()
		if !strings.HasPrefix(name, base) || (strings.HasPrefix(name, ".") && !strings.HasPrefix(base, ".")) {
			continue
		}
		isDir := e.IsDir()
		if e.Type()&os.ModeSymlink != 0 {
			if st, err := os.Stat(filepath.Join(readDir, name)); err == nil {
				isDir = st.IsDir()
			}
		}
		if dirsOnly && !isDir {
			continue
		}
		v := dir + name
		if isDir {
			v += "/"
			dirs[v] = true
		}
		out = append(out, Candidate{Value: v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Value < out[j].Value })
	return out, dirs
}
