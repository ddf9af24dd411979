package labels

import (
	"regexp"
	"regexp/syntax"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Regular expressions in matchers are fully anchored RE2 with "." matching
// newlines: a value v matches when ^(?s:v)$ matches. FastRegexMatcher
// recognises common shapes of v and answers them with string operations,
// falling back to the compiled regexp otherwise. Every fast path must give
// exactly the regexp's answer for every input, including invalid UTF-8,
// which regexp decodes one byte at a time as U+FFFD. The fuzz target
// FuzzFastRegexMatcher holds the two to that.
//
// Why byte-level string operations are exact: the fast paths only use
// literals that are valid UTF-8 and contain no U+FFFD. Such a literal
// starts with a byte that is not a UTF-8 continuation byte, so wherever its
// bytes occur in the input the decoder is at a rune boundary there, and
// those bytes decode to exactly the literal's runes; conversely a regexp
// match of the literal's runes means the input holds the literal's bytes.
// "." with (?s) matches every decoded rune, U+FFFD included, so a wildcard
// run matches any byte range between boundaries, and a non-empty byte range
// between boundaries holds at least one rune.

const (
	// maxSetMatches bounds how many literal strings a regexp may expand
	// to before the set fast path gives up.
	maxSetMatches = 256
	// linearSetMax is the set size up to which a scan beats a map lookup.
	linearSetMax = 8
)

// FastRegexMatcher matches strings against an anchored regular expression,
// using string operations for the shapes it recognises.
type FastRegexMatcher struct {
	// re is the anchored expression; always compiled, it is both the
	// fallback and the definition of the semantics.
	re       *regexp.Regexp
	reString string

	// fast answers MatchString completely when non-nil.
	fast stringMatcher
	// setMatches lists every string that matches, when that set is finite,
	// small and case-sensitive.
	setMatches []string
	// prefix and suffix are literals every match starts and ends with;
	// when fast is nil they reject inputs before the regexp runs.
	prefix, suffix string
}

// NewFastRegexMatcher compiles v, which is matched against whole strings.
func NewFastRegexMatcher(v string) (*FastRegexMatcher, error) {
	// Parsing v on its own first rejects inputs such as "a)|(b" that
	// would otherwise escape the anchoring group and change its meaning.
	parsed, err := syntax.Parse(v, syntax.Perl|syntax.DotNL)
	if err != nil {
		return nil, err
	}
	re, err := regexp.Compile("^(?s:" + v + ")$")
	if err != nil {
		return nil, err
	}
	m := &FastRegexMatcher{re: re, reString: v}
	parsed = parsed.Simplify()
	if set, mode, ok := expandSet(parsed, maxSetMatches); ok {
		if mode != modeFold {
			m.setMatches = set
			m.fast = newSetMatcher(set)
		} else {
			m.fast = newFoldSetMatcher(set)
		}
	} else {
		m.fast = analyze(parsed)
	}
	m.prefix, m.suffix = requiredAffixes(parsed)
	return m, nil
}

// MatchString reports whether the whole of s matches.
func (m *FastRegexMatcher) MatchString(s string) bool {
	if m.fast != nil {
		return m.fast.matches(s)
	}
	if !strings.HasPrefix(s, m.prefix) || !strings.HasSuffix(s, m.suffix) {
		return false
	}
	return m.re.MatchString(s)
}

// SetMatches returns every string the expression matches when that is a
// small finite case-sensitive set (as for "a|b|c" or "foo"), and nil
// otherwise. The caller must not modify the slice.
func (m *FastRegexMatcher) SetMatches() []string { return m.setMatches }

// GetRegexString returns the expression as given, without anchors.
func (m *FastRegexMatcher) GetRegexString() string { return m.reString }

// Prefix returns a literal every matching string starts with, or "".
func (m *FastRegexMatcher) Prefix() string { return m.prefix }

// IsOptimized reports whether matching avoids running the regexp for at
// least some inputs.
func (m *FastRegexMatcher) IsOptimized() bool {
	return m.fast != nil || m.prefix != "" || m.suffix != ""
}

// stringMatcher is one fast path.
type stringMatcher interface {
	matches(s string) bool
}

// setMode says how the strings of an expanded set compare.
type setMode int

const (
	// modeNeutral: no rune in the set has case variants, so exact and
	// case-insensitive comparison agree.
	modeNeutral setMode = iota
	// modeExact: compare bytes.
	modeExact
	// modeFold: compare with simple Unicode case folding, as (?i) does.
	modeFold
)

// combineModes merges the modes of two parts of one set, failing when one
// part is case-sensitive and the other is not.
func combineModes(a, b setMode) (setMode, bool) {
	switch {
	case a == b || b == modeNeutral:
		return a, true
	case a == modeNeutral:
		return b, true
	}
	return 0, false
}

// literalRuneOK reports whether r can appear in a fast-path literal: it
// must be encodable and not U+FFFD, which also matches invalid input bytes.
func literalRuneOK(r rune) bool {
	return r != utf8.RuneError && utf8.ValidRune(r)
}

// hasCaseVariants reports whether r's simple case-folding orbit holds any
// rune but r.
func hasCaseVariants(r rune) bool { return unicode.SimpleFold(r) != r }

// literalOf returns the string and mode of a literal node.
func literalOf(re *syntax.Regexp) (string, setMode, bool) {
	mode := modeNeutral
	fold := re.Flags&syntax.FoldCase != 0
	for _, r := range re.Rune {
		if !literalRuneOK(r) {
			return "", 0, false
		}
		if hasCaseVariants(r) {
			if fold {
				mode = modeFold
			} else {
				mode = modeExact
			}
		}
	}
	return string(re.Rune), mode, true
}

// expandSet lists every string re matches, when there are at most limit of
// them and they share one comparison mode. The result has no repeats and
// keeps the expression's order.
func expandSet(re *syntax.Regexp, limit int) ([]string, setMode, bool) {
	switch re.Op {
	case syntax.OpNoMatch:
		return []string{}, modeNeutral, true
	case syntax.OpEmptyMatch:
		return []string{""}, modeNeutral, true
	case syntax.OpLiteral:
		s, mode, ok := literalOf(re)
		if !ok {
			return nil, 0, false
		}
		return []string{s}, mode, true
	case syntax.OpCapture:
		return expandSet(re.Sub[0], limit)
	case syntax.OpCharClass:
		return expandClass(re, limit)
	case syntax.OpQuest:
		sub, mode, ok := expandSet(re.Sub[0], limit-1)
		if !ok {
			return nil, 0, false
		}
		return appendUnique(sub, ""), mode, true
	case syntax.OpAlternate:
		var out []string
		mode := modeNeutral
		for _, sub := range re.Sub {
			s, m, ok := expandSet(sub, limit)
			if !ok {
				return nil, 0, false
			}
			if mode, ok = combineModes(mode, m); !ok {
				return nil, 0, false
			}
			for _, x := range s {
				out = appendUnique(out, x)
			}
			if len(out) > limit {
				return nil, 0, false
			}
		}
		return out, mode, true
	case syntax.OpConcat:
		out := []string{""}
		mode := modeNeutral
		for _, sub := range re.Sub {
			s, m, ok := expandSet(sub, limit)
			if !ok {
				return nil, 0, false
			}
			if mode, ok = combineModes(mode, m); !ok {
				return nil, 0, false
			}
			if len(out)*len(s) > limit {
				return nil, 0, false
			}
			next := make([]string, 0, len(out)*len(s))
			for _, a := range out {
				for _, b := range s {
					next = appendUnique(next, a+b)
				}
			}
			out = next
		}
		return out, mode, true
	}
	return nil, 0, false
}

// appendUnique appends s unless it is already present. Sets stay small
// (bounded by maxSetMatches), so a scan is fine.
func appendUnique(set []string, s string) []string {
	if slices.Contains(set, s) {
		return set
	}
	return append(set, s)
}

// expandClass lists the runes of a character class. Surrogates are
// skipped because the decoder never produces them, so they match nothing.
func expandClass(re *syntax.Regexp, limit int) ([]string, setMode, bool) {
	n := 0
	for i := 0; i < len(re.Rune); i += 2 {
		n += int(re.Rune[i+1]-re.Rune[i]) + 1
		if n > limit {
			return nil, 0, false
		}
	}
	out := make([]string, 0, n)
	for i := 0; i < len(re.Rune); i += 2 {
		for r := re.Rune[i]; r <= re.Rune[i+1]; r++ {
			if r >= 0xD800 && r <= 0xDFFF {
				continue
			}
			if !literalRuneOK(r) {
				return nil, 0, false
			}
			out = append(out, string(r))
		}
	}
	mode := modeNeutral
	for _, s := range out {
		if r, _ := utf8.DecodeRuneInString(s); hasCaseVariants(r) {
			mode = modeExact
			break
		}
	}
	return out, mode, true
}

// requiredAffixes returns literals that every match of re must start and
// end with, taken from the leading and trailing case-sensitive literals of
// a top-level concatenation. When the whole expression is one literal it is
// returned as the prefix alone.
func requiredAffixes(re *syntax.Regexp) (prefix, suffix string) {
	items := flatten(re, nil)
	i := 0
	for ; i < len(items); i++ {
		lit, ok := exactLiteral(items[i])
		if !ok {
			break
		}
		prefix += lit
	}
	if i == len(items) {
		return prefix, ""
	}
	for j := len(items) - 1; j > i; j-- {
		lit, ok := exactLiteral(items[j])
		if !ok {
			break
		}
		suffix = lit + suffix
	}
	return prefix, suffix
}

// exactLiteral returns a literal node's text when it compares
// case-sensitively (or has no case variants) and is safe for byte checks.
func exactLiteral(re *syntax.Regexp) (string, bool) {
	if re.Op != syntax.OpLiteral {
		return "", false
	}
	s, mode, ok := literalOf(re)
	if !ok || mode == modeFold {
		return "", false
	}
	return s, true
}

// flatten turns re into the sequence of nodes it concatenates, looking
// through captures and nested concatenations.
func flatten(re *syntax.Regexp, out []*syntax.Regexp) []*syntax.Regexp {
	switch re.Op {
	case syntax.OpCapture:
		return flatten(re.Sub[0], out)
	case syntax.OpConcat:
		for _, sub := range re.Sub {
			out = flatten(sub, out)
		}
		return out
	}
	return append(out, re)
}

// wildcardMin classifies re as ".*" (0) or ".+" (1), the only wildcards the
// sequence matcher handles.
func wildcardMin(re *syntax.Regexp) (int, bool) {
	if (re.Op == syntax.OpStar || re.Op == syntax.OpPlus) && re.Sub[0].Op == syntax.OpAnyChar {
		if re.Op == syntax.OpStar {
			return 0, true
		}
		return 1, true
	}
	return 0, false
}

// analyze builds a fast path for expressions that are not a finite set:
// wildcard sequences such as "foo.*", ".*foo", ".*foo.*bar.+" and
// alternations of such sequences. It returns nil when there is none.
func analyze(re *syntax.Regexp) stringMatcher {
	for re.Op == syntax.OpCapture {
		re = re.Sub[0]
	}
	if re.Op == syntax.OpAlternate {
		var alts orMatcher
		for _, sub := range re.Sub {
			var m stringMatcher
			if set, mode, ok := expandSet(sub, maxSetMatches); ok {
				if mode == modeFold {
					m = newFoldSetMatcher(set)
				} else {
					m = newSetMatcher(set)
				}
			} else if m = analyze(sub); m == nil {
				return nil
			}
			alts = append(alts, m)
		}
		return alts
	}
	return newSeqMatcher(flatten(re, nil))
}

// orMatcher matches when any alternative does.
type orMatcher []stringMatcher

func (o orMatcher) matches(s string) bool {
	for _, m := range o {
		if m.matches(s) {
			return true
		}
	}
	return false
}

// trueMatcher is ".*": every string matches.
type trueMatcher struct{}

func (trueMatcher) matches(string) bool { return true }

// nonEmptyMatcher is ".+": every non-empty string matches (any byte is at
// least one rune).
type nonEmptyMatcher struct{}

func (nonEmptyMatcher) matches(s string) bool { return s != "" }

// seqStep is a wildcard followed by one of a set of literals.
type seqStep struct {
	minOne bool     // the wildcard is ".+" rather than ".*"
	lits   []string // non-empty literals; any may follow the wildcard
	// runes is set when every literal is a single rune, so one IndexAny
	// finds the earliest.
	runes string
}

// seqMatcher matches prefix W lit W lit ... W suffix, where each W is ".*"
// or ".+", prefix and suffix are optional literal sets and each lit is a
// literal set.
//
// Greedy matching is exact here: a remainder that begins with a wildcard
// matches from position e whenever it matches from any later position,
// because the wildcard absorbs the extra runes. So taking the shortest
// prefix, the shortest suffix, and for each step the occurrence that ends
// earliest never loses a match.
type seqMatcher struct {
	prefix, suffix []string // sorted by length, shortest first; nil if absent
	steps          []seqStep
	lastMinOne     bool // the final wildcard is ".+"
}

// token is one element of a normalised sequence: a wildcard or a set.
type token struct {
	wild bool
	min  int
	set  []string
}

func newSeqMatcher(items []*syntax.Regexp) stringMatcher {
	var toks []token
	for i := 0; i < len(items); {
		if min, ok := wildcardMin(items[i]); ok {
			if n := len(toks); n > 0 && toks[n-1].wild {
				toks[n-1].min += min
			} else {
				toks = append(toks, token{wild: true, min: min})
			}
			i++
			continue
		}
		// Expand the maximal run of non-wildcard items into one set.
		j := i
		for j < len(items) {
			if _, ok := wildcardMin(items[j]); ok {
				break
			}
			j++
		}
		run := &syntax.Regexp{Op: syntax.OpConcat, Sub: items[i:j]}
		set, mode, ok := expandSet(run, maxSetMatches)
		if !ok || mode == modeFold || len(set) == 0 {
			return nil
		}
		toks = append(toks, token{set: set})
		i = j
	}
	// ".+.+" needs two runes, which is not two bytes; leave it to regexp.
	for _, t := range toks {
		if t.wild && t.min > 1 {
			return nil
		}
	}
	var m seqMatcher
	if len(toks) > 0 && !toks[0].wild {
		m.prefix = sortedByLen(toks[0].set)
		toks = toks[1:]
	}
	if n := len(toks); n > 0 && !toks[n-1].wild {
		m.suffix = sortedByLen(toks[n-1].set)
		toks = toks[:n-1]
	}
	if len(toks) == 0 {
		return nil // no wildcard: a finite set, handled elsewhere
	}
	// toks is now W (S W)*.
	for i := 0; i+1 < len(toks); i += 2 {
		set := toks[i+1].set
		if slices.Contains(set, "") {
			// An empty literal lets two wildcards meet mid-rune, where
			// byte counts stop matching rune counts.
			return nil
		}
		st := seqStep{minOne: toks[i].min == 1, lits: set}
		if allSingleRunes(set) {
			st.runes = strings.Join(set, "")
		}
		m.steps = append(m.steps, st)
	}
	m.lastMinOne = toks[len(toks)-1].min == 1
	if m.prefix == nil && m.suffix == nil && len(m.steps) == 0 {
		if m.lastMinOne {
			return nonEmptyMatcher{}
		}
		return trueMatcher{}
	}
	return &m
}

func allSingleRunes(set []string) bool {
	for _, s := range set {
		if utf8.RuneCountInString(s) != 1 {
			return false
		}
	}
	return true
}

func sortedByLen(set []string) []string {
	out := slices.Clone(set)
	slices.SortStableFunc(out, func(a, b string) int { return len(a) - len(b) })
	return out
}

func (m *seqMatcher) matches(s string) bool {
	lo, hi := 0, len(s)
	if m.prefix != nil {
		ok := false
		for _, p := range m.prefix {
			if strings.HasPrefix(s, p) {
				lo, ok = len(p), true
				break
			}
		}
		if !ok {
			return false
		}
	}
	if m.suffix != nil {
		ok := false
		for _, x := range m.suffix {
			if len(x) <= hi-lo && strings.HasSuffix(s, x) {
				hi, ok = len(s)-len(x), true
				break
			}
		}
		if !ok {
			return false
		}
	}
	cur := lo
	for i := range m.steps {
		st := &m.steps[i]
		if st.minOne {
			cur++
		}
		if cur > hi {
			return false
		}
		end := st.earliestEnd(s[cur:hi])
		if end < 0 {
			return false
		}
		cur += end
	}
	if m.lastMinOne {
		return hi > cur
	}
	return hi >= cur
}

// earliestEnd returns the end offset of the occurrence of any literal in s
// that ends first, or -1.
func (st *seqStep) earliestEnd(s string) int {
	if len(st.lits) == 1 {
		i := strings.Index(s, st.lits[0])
		if i < 0 {
			return -1
		}
		return i + len(st.lits[0])
	}
	if st.runes != "" {
		// Single runes at different starts cannot overlap, so the one
		// starting first also ends first.
		i := strings.IndexAny(s, st.runes)
		if i < 0 {
			return -1
		}
		_, size := utf8.DecodeRuneInString(s[i:])
		return i + size
	}
	best := -1
	for _, lit := range st.lits {
		limit := s
		if best >= 0 && best < len(s) {
			limit = s[:best] // an occurrence must end before best to win
		}
		if i := strings.Index(limit, lit); i >= 0 {
			if e := i + len(lit); best < 0 || e < best {
				best = e
			}
		}
	}
	return best
}

// setMatcher matches a finite case-sensitive set of strings.
type setMatcher struct {
	list           []string            // used when small
	m              map[string]struct{} // used when large
	minLen, maxLen int
}

func newSetMatcher(set []string) stringMatcher {
	switch len(set) {
	case 0:
		return noneMatcher{}
	case 1:
		return equalMatcher(set[0])
	}
	sm := &setMatcher{minLen: len(set[0]), maxLen: len(set[0])}
	for _, s := range set {
		sm.minLen = min(sm.minLen, len(s))
		sm.maxLen = max(sm.maxLen, len(s))
	}
	if len(set) <= linearSetMax {
		sm.list = set
	} else {
		sm.m = make(map[string]struct{}, len(set))
		for _, s := range set {
			sm.m[s] = struct{}{}
		}
	}
	return sm
}

func (sm *setMatcher) matches(s string) bool {
	if len(s) < sm.minLen || len(s) > sm.maxLen {
		return false
	}
	if sm.m != nil {
		_, ok := sm.m[s]
		return ok
	}
	for _, x := range sm.list {
		if x == s {
			return true
		}
	}
	return false
}

// equalMatcher matches one literal.
type equalMatcher string

func (e equalMatcher) matches(s string) bool { return s == string(e) }

// noneMatcher matches nothing, as an empty character class does.
type noneMatcher struct{}

func (noneMatcher) matches(string) bool { return false }

// foldSetMatcher matches a finite set of strings case-insensitively, as
// (?i) does: two runes match when they share a simple case-folding orbit,
// which is exactly strings.EqualFold's rule.
type foldSetMatcher struct {
	list []string
	// keys holds canonical fold keys (each rune replaced by the smallest
	// rune of its orbit) for large sets.
	keys map[string]struct{}
}

func newFoldSetMatcher(set []string) stringMatcher {
	if len(set) == 0 {
		return noneMatcher{}
	}
	fm := &foldSetMatcher{}
	if len(set) <= linearSetMax {
		fm.list = set
		return fm
	}
	fm.keys = make(map[string]struct{}, len(set))
	for _, s := range set {
		fm.keys[string(appendFoldKey(nil, s))] = struct{}{}
	}
	return fm
}

func (fm *foldSetMatcher) matches(s string) bool {
	if fm.keys != nil {
		var stack [128]byte
		_, ok := fm.keys[string(appendFoldKey(stack[:0], s))]
		return ok
	}
	for _, x := range fm.list {
		if strings.EqualFold(s, x) {
			return true
		}
	}
	return false
}

// appendFoldKey appends s with each rune replaced by the smallest rune of
// its case-folding orbit. Invalid bytes become U+FFFD, which no key from a
// fast-path literal contains, so they never match.
func appendFoldKey(dst []byte, s string) []byte {
	for _, r := range s {
		dst = utf8.AppendRune(dst, minFold(r))
	}
	return dst
}

// minFold returns the smallest rune in r's simple case-folding orbit.
func minFold(r rune) rune {
	if r < utf8.RuneSelf {
		// The orbits of k and s reach non-ASCII runes, but their
		// smallest member is still the ASCII upper case letter.
		if 'a' <= r && r <= 'z' {
			return r - 'a' + 'A'
		}
		return r
	}
	m := r
	for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
		m = min(m, f)
	}
	return m
}
