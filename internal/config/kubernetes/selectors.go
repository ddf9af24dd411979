package kubernetes

import (
	"fmt"
	"strconv"
	"strings"
)

// Kubernetes selectors are sent to the API server verbatim, so a typo
// would only surface as an API error at discovery time. Validating them
// with the API server's grammar catches it at load time, as Prometheus
// does.

// ValidateFieldSelector checks a field selector: comma-separated terms
// "key=value", "key==value" or "key!=value"; a backslash escapes one of
// `\ , = !` in values.
func ValidateFieldSelector(s string) error {
	if s == "" {
		return nil
	}
	for _, term := range splitUnescaped(s, ',') {
		if term == "" {
			continue
		}
		key, value, ok := cutFieldOp(term)
		if !ok {
			return fmt.Errorf("invalid selector: '%s'; can't understand '%s'", s, term)
		}
		if key == "" {
			return fmt.Errorf("invalid selector: '%s'; field label is empty in '%s'", s, term)
		}
		if err := checkEscapes(value); err != nil {
			return fmt.Errorf("invalid selector: '%s'; %w", s, err)
		}
	}
	return nil
}

// splitUnescaped splits s at sep characters not preceded by a backslash.
func splitUnescaped(s string, sep byte) []string {
	var parts []string
	start := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case sep:
			parts = append(parts, s[start:i])
			start = i + 1
		}
	}
	return append(parts, s[start:])
}

// cutFieldOp splits a term at its operator, trying "!=" and "==" before
// "=" as the API server does.
func cutFieldOp(term string) (key, value string, ok bool) {
	for _, op := range []string{"!=", "==", "="} {
		if i := strings.Index(term, op); i >= 0 {
			return term[:i], term[i+len(op):], true
		}
	}
	return "", "", false
}

func checkEscapes(v string) error {
	for i := 0; i < len(v); i++ {
		if v[i] != '\\' {
			continue
		}
		if i+1 >= len(v) {
			return fmt.Errorf("invalid escape sequence at end of %q", v)
		}
		switch v[i+1] {
		case '\\', ',', '=', '!':
			i++
		default:
			return fmt.Errorf("invalid escape sequence \\%c in %q", v[i+1], v)
		}
	}
	return nil
}

// ValidateLabelSelector checks a label selector: comma-separated
// requirements "key", "!key", "key=v", "key==v", "key!=v",
// "key in (v1,v2)", "key notin (v1,v2)", "key>n", "key<n".
func ValidateLabelSelector(s string) error {
	p := &selParser{src: s}
	p.skipSpace()
	if p.done() {
		return nil
	}
	for {
		if err := p.requirement(); err != nil {
			return fmt.Errorf("unable to parse requirement: %w", err)
		}
		p.skipSpace()
		if p.done() {
			return nil
		}
		if !p.eat(",") {
			return fmt.Errorf("found '%s', expected: ',' or 'end of string'", p.rest())
		}
		p.skipSpace()
	}
}

type selParser struct {
	src string
	pos int
}

func (p *selParser) done() bool   { return p.pos >= len(p.src) }
func (p *selParser) rest() string { return p.src[p.pos:] }

func (p *selParser) skipSpace() {
	for p.pos < len(p.src) && (p.src[p.pos] == ' ' || p.src[p.pos] == '\t') {
		p.pos++
	}
}

func (p *selParser) eat(tok string) bool {
	if strings.HasPrefix(p.rest(), tok) {
		p.pos += len(tok)
		return true
	}
	return false
}

// word reads a run of characters allowed in keys and values.
func (p *selParser) word() string {
	start := p.pos
	for p.pos < len(p.src) {
		c := p.src[p.pos]
		if c == '-' || c == '_' || c == '.' || c == '/' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' {
			p.pos++
			continue
		}
		break
	}
	return p.src[start:p.pos]
}

func (p *selParser) requirement() error {
	p.skipSpace()
	if p.eat("!") {
		p.skipSpace()
		return validKey(p.word())
	}
	key := p.word()
	if err := validKey(key); err != nil {
		return err
	}
	p.skipSpace()
	switch {
	case p.done() || strings.HasPrefix(p.rest(), ","):
		return nil // existence
	case p.eat("=="), p.eat("!="), p.eat("="):
		p.skipSpace()
		return validValue(p.word())
	case p.eat(">"), p.eat("<"):
		p.skipSpace()
		v := p.word()
		if _, err := strconv.ParseInt(v, 10, 64); err != nil {
			return fmt.Errorf("for 'Gt', 'Lt' operators, the value must be an integer")
		}
		return nil
	case p.eat("notin"), p.eat("in"):
		p.skipSpace()
		if !p.eat("(") {
			return fmt.Errorf("found '%s', expected: '('", p.rest())
		}
		for {
			p.skipSpace()
			if err := validValue(p.word()); err != nil {
				return err
			}
			p.skipSpace()
			if p.eat(")") {
				return nil
			}
			if !p.eat(",") {
				return fmt.Errorf("found '%s', expected: ',' or ')'", p.rest())
			}
		}
	}
	return fmt.Errorf("found '%s', expected: in, notin, =, ==, !=, gt, lt", p.rest())
}

// validKey checks a qualified name: an optional DNS-subdomain prefix and
// "/", then a name of at most 63 characters.
func validKey(k string) error {
	if k == "" {
		return fmt.Errorf("key is empty")
	}
	name := k
	if prefix, n, ok := strings.Cut(k, "/"); ok {
		if prefix == "" || len(prefix) > 253 || strings.ContainsAny(prefix, "_/") {
			return fmt.Errorf("invalid label key %q: prefix part must be a DNS subdomain", k)
		}
		name = n
	}
	if len(name) == 0 || len(name) > 63 || !alnum(name[0]) || !alnum(name[len(name)-1]) || strings.Contains(name, "/") {
		return fmt.Errorf("invalid label key %q: name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character", k)
	}
	return nil
}

// validValue checks a label value: empty, or at most 63 characters that
// start and end alphanumeric.
func validValue(v string) error {
	if v == "" {
		return nil
	}
	if len(v) > 63 || !alnum(v[0]) || !alnum(v[len(v)-1]) || strings.Contains(v, "/") {
		return fmt.Errorf("invalid label value: %q: a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character", v)
	}
	return nil
}

func alnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}
