package shell

import (
	"errors"
	"strings"
)

// ErrDangling and ErrMissingQuote are virsh's two tokenizer errors, worded as
// virsh words them.
var (
	ErrDangling     = errors.New(`dangling \`)
	ErrMissingQuote = errors.New(`missing "`)
)

// Split breaks a command string into commands and their words, following
// virsh's vshCommandStringGetArg exactly:
//   - blanks (space, tab) separate words; backslash-newline between words is skipped;
//   - an unquoted ';' or newline ends a command;
//   - a word that starts with an unquoted '#' starts a comment to the end of the
//     line (a ';' inside it does not end the comment); '#' inside a word is literal;
//   - '...' is literal; "..." lets a backslash escape the next character; an
//     unquoted \x is x; backslash-newline is elided except inside '...';
//   - quoted parts join adjacent text (--s\h'e'"l"l is --shell);
//   - a lone trailing backslash is "dangling \", an unclosed " is `missing "`,
//     an unclosed ' takes the rest of the line literally (as virsh does);
//   - a command whose first word, after quote removal, starts with '#' is
//     skipped up to the next ';' or newline.
//
// The whole string is split before anything runs, so a tokenizer error means
// nothing in the string runs.
func Split(s string) ([][]string, error) {
	var cmds [][]string
	var cur []string
	end := func() {
		if len(cur) > 0 && !strings.HasPrefix(cur[0], "#") {
			cmds = append(cmds, cur)
		}
		cur = nil
	}
	p := 0
	for {
		for p < len(s) && (s[p] == ' ' || s[p] == '\t' || (s[p] == '\\' && p+1 < len(s) && s[p+1] == '\n')) {
			if s[p] == '\\' {
				p++
			}
			p++
		}
		if p >= len(s) {
			end()
			return cmds, nil
		}
		switch s[p] {
		case ';', '\n':
			p++
			end()
			continue
		case '#':
			for p < len(s) && s[p] != '\n' {
				p++
			}
			if p < len(s) {
				p++
			}
			end()
			continue
		}
		word, next, err := scanWord(s, p)
		if err != nil {
			return nil, err
		}
		p = next
		cur = append(cur, word)
	}
}

// scanWord reads one word starting at p, returning it and the position after it.
func scanWord(s string, p int) (string, int, error) {
	var b strings.Builder
	single, double := false, false
	for p < len(s) {
		c := s[p]
		if !single && !double && (c == ' ' || c == '\t' || c == ';' || c == '\n') {
			break
		}
		switch {
		case !double && c == '\'':
			single = !single
			p++
			continue
		case !single && c == '\\':
			p++
			if p >= len(s) {
				return "", p, ErrDangling
			}
			if s[p] == '\n' {
				p++
				continue
			}
		case !single && c == '"':
			double = !double
			p++
			continue
		}
		b.WriteByte(s[p])
		p++
	}
	if double {
		return "", p, ErrMissingQuote
	}
	return b.String(), p, nil
}
