package labels

import (
	"fmt"
	"strconv"
)

// MatchType is the comparison a Matcher applies.
type MatchType int

// The four matcher types of PromQL selectors.
const (
	MatchEqual MatchType = iota
	MatchNotEqual
	MatchRegexp
	MatchNotRegexp
)

// String returns the operator as written in a selector.
func (t MatchType) String() string {
	switch t {
	case MatchEqual:
		return "="
	case MatchNotEqual:
		return "!="
	case MatchRegexp:
		return "=~"
	case MatchNotRegexp:
		return "!~"
	}
	return "MatchType(" + strconv.Itoa(int(t)) + ")"
}

// Matcher tests the value of one label. An absent label has the value "",
// so {a=~""} selects series without a, and {a!=""} selects series that have
// it. Build matchers with NewMatcher: a regexp Matcher written as a struct
// literal has no compiled expression and panics in Matches.
type Matcher struct {
	Type  MatchType
	Name  string
	Value string

	// re is set for the regexp types only.
	re *FastRegexMatcher
}

// NewMatcher returns a matcher, compiling Value for the regexp types.
func NewMatcher(t MatchType, n, v string) (*Matcher, error) {
	m := &Matcher{Type: t, Name: n, Value: v}
	switch t {
	case MatchEqual, MatchNotEqual:
	case MatchRegexp, MatchNotRegexp:
		re, err := NewFastRegexMatcher(v)
		if err != nil {
			return nil, err
		}
		m.re = re
	default:
		return nil, fmt.Errorf("labels: invalid match type %d", int(t))
	}
	return m, nil
}

// MustNewMatcher is NewMatcher for tests and constants; it panics on error.
func MustNewMatcher(t MatchType, n, v string) *Matcher {
	m, err := NewMatcher(t, n, v)
	if err != nil {
		panic(err)
	}
	return m
}

// Matches reports whether the label value s satisfies the matcher.
func (m *Matcher) Matches(s string) bool {
	switch m.Type {
	case MatchEqual:
		return s == m.Value
	case MatchNotEqual:
		return s != m.Value
	case MatchRegexp:
		return m.re.MatchString(s)
	case MatchNotRegexp:
		return !m.re.MatchString(s)
	}
	panic("labels.Matcher.Matches: invalid match type")
}

// Inverse returns the matcher selecting exactly the values m rejects.
func (m *Matcher) Inverse() (*Matcher, error) {
	switch m.Type {
	case MatchEqual:
		return NewMatcher(MatchNotEqual, m.Name, m.Value)
	case MatchNotEqual:
		return NewMatcher(MatchEqual, m.Name, m.Value)
	case MatchRegexp:
		return &Matcher{Type: MatchNotRegexp, Name: m.Name, Value: m.Value, re: m.re}, nil
	case MatchNotRegexp:
		return &Matcher{Type: MatchRegexp, Name: m.Name, Value: m.Value, re: m.re}, nil
	}
	return nil, fmt.Errorf("labels: invalid match type %d", int(m.Type))
}

// String renders the matcher as in a selector, e.g. job=~"api|web". The
// name is quoted when it is not a valid legacy label name.
func (m *Matcher) String() string {
	var stack [256]byte
	b := stack[:0]
	if IsValidLegacyLabelName(m.Name) {
		b = append(b, m.Name...)
	} else {
		b = appendQuoted(b, m.Name)
	}
	b = append(b, m.Type.String()...)
	b = appendQuoted(b, m.Value)
	return string(b)
}

// GetRegexString returns the regexp as written, or "" for the equality
// types.
func (m *Matcher) GetRegexString() string {
	if m.re == nil {
		return ""
	}
	return m.re.GetRegexString()
}

// SetMatches returns the finite set of values a regexp matcher matches, or
// nil when it is not a small case-sensitive set or the type is not a
// regexp. For MatchNotRegexp it is the set being excluded.
func (m *Matcher) SetMatches() []string {
	if m.re == nil {
		return nil
	}
	return m.re.SetMatches()
}

// Prefix returns a literal every value matched by the regexp starts with,
// or "".
func (m *Matcher) Prefix() string {
	if m.re == nil {
		return ""
	}
	return m.re.Prefix()
}

// IsRegexOptimized reports whether the regexp matcher avoids the regexp
// engine for at least some values.
func (m *Matcher) IsRegexOptimized() bool {
	return m.re != nil && m.re.IsOptimized()
}
