package scripttest

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode"

	"github.com/vigil-monitoring/vigil/internal/promql/parser"
)

// cmdBlock is one command of a script with its input and expected output.
type cmdBlock struct {
	line     int // of the command
	cmd      string
	args     []string
	input    []inputLine
	expected []string
}

type inputLine struct {
	line int
	text string
}

// parseScript splits a script into blocks (see the package doc).
func parseScript(name, text string) ([]cmdBlock, error) {
	var (
		blocks []cmdBlock
		cur    *cmdBlock
		inOut  bool
	)
	flush := func() {
		if cur != nil {
			blocks = append(blocks, *cur)
		}
		cur, inOut = nil, false
	}
	for i, raw := range strings.Split(text, "\n") {
		ln := i + 1
		s := strings.TrimSpace(raw)
		switch {
		case strings.HasPrefix(s, "#"):
			continue
		case s == "":
			flush()
			continue
		case cur == nil:
			cmd, args, err := splitArgs(s)
			if err != nil {
				return nil, fmt.Errorf("%s:%d: %w", name, ln, err)
			}
			cur = &cmdBlock{line: ln, cmd: cmd, args: args}
		case s == "----":
			if inOut {
				return nil, fmt.Errorf("%s:%d: second ---- in one block", name, ln)
			}
			inOut = true
		case inOut:
			cur.expected = append(cur.expected, s)
		default:
			cur.input = append(cur.input, inputLine{line: ln, text: s})
		}
	}
	flush()
	return blocks, nil
}

// splitArgs splits a command line at blanks outside quotes and braces, so
// a selector with spaces stays one argument.
func splitArgs(s string) (string, []string, error) {
	toks, err := tokens(s)
	if err != nil {
		return "", nil, err
	}
	return toks[0], toks[1:], nil
}

// tokens splits s at blanks that are outside quotes, braces and brackets.
func tokens(s string) ([]string, error) {
	var (
		out   []string
		start = -1
		depth int
		quote rune
	)
	rs := []rune(s)
	for i := 0; i < len(rs); i++ {
		c := rs[i]
		if start < 0 {
			if unicode.IsSpace(c) {
				continue
			}
			start = i
		}
		switch {
		case quote != 0:
			if c == '\\' && quote != '`' {
				i++
			} else if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'' || c == '`':
			quote = c
		case c == '{' || c == '[' || c == '(':
			depth++
		case c == '}' || c == ']' || c == ')':
			depth--
			if depth < 0 {
				return nil, fmt.Errorf("unbalanced %q in %q", c, s)
			}
		case unicode.IsSpace(c) && depth == 0:
			out = append(out, string(rs[start:i]))
			start = -1
		}
	}
	if quote != 0 || depth != 0 {
		return nil, fmt.Errorf("unterminated quote or brace in %q", s)
	}
	if start >= 0 {
		out = append(out, string(rs[start:]))
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("empty line")
	}
	return out, nil
}

// keyValues splits "k=v" and bare "k" arguments into a map; a bare k maps
// to "".
func keyValues(args []string, allowed ...string) (map[string]string, error) {
	m := map[string]string{}
	for _, a := range args {
		k, v, _ := strings.Cut(a, "=")
		ok := false
		for _, al := range allowed {
			ok = ok || al == k
		}
		if !ok {
			return nil, fmt.Errorf("unknown argument %q (want one of %s)", a, strings.Join(allowed, ", "))
		}
		m[k] = v
	}
	return m, nil
}

// parseTime parses a time: a sum of integer milliseconds, durations and
// min/max (the int64 extremes; sums may overflow, as in Go).
func parseTime(s string) (int64, error) {
	if s == "" {
		return 0, fmt.Errorf("empty time")
	}
	var total int64
	start := 0
	for i := 1; i <= len(s); i++ {
		if i < len(s) && s[i] != '+' && s[i] != '-' {
			continue
		}
		term := s[start:i]
		sign := int64(1)
		switch term[0] {
		case '-':
			sign, term = -1, term[1:]
		case '+':
			term = term[1:]
		}
		v, err := parseTerm(term)
		if err != nil {
			return 0, fmt.Errorf("bad time %q: %w", s, err)
		}
		total += sign * v
		start = i
	}
	return total, nil
}

func parseTerm(s string) (int64, error) {
	switch s {
	case "":
		return 0, fmt.Errorf("missing number")
	case "min":
		return math.MinInt64, nil
	case "max":
		return math.MaxInt64, nil
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n, nil
	}
	d, err := parser.ParseDuration(s)
	if err != nil {
		return 0, err
	}
	return d.Milliseconds(), nil
}
