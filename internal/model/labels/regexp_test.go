package labels

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// regexPatterns covers every fast path and the shapes that must fall back.
var regexPatterns = []string{
	"", "foo", "Foo", "fo.", "foo|bar", "foo|foobar|bar", "a|b|c", "abc|abd", "(foo|bar)baz",
	"foo?", "[a-c]", "[a-c]x", "[^a]", "[a-zA-Z0-9_]{2}",
	".*", ".+", ".*?", ".*.*", ".+.*", ".+.+", ".?", "(.*)",
	"foo.*", "foo.+", ".*foo", ".+foo", ".*foo.*", ".+foo.+", ".*foo.+", "foo.*bar", "foo.+bar",
	".*foo.*bar.*", ".*(foo|bar).*", ".*(a|b|c).*", ".*(ab|b).*c", ".+(ab|b).+c", "(foo|bar).*", ".*(foo|bar)",
	"(a|ab).*(b|bc)", "foo.*|.*bar", "foo.*|bar", ".*|x", "x.*|.+",
	"(?i)foo", "(?i)foo|bar", "(?i)k", "(?i)ß", "(?i)s", "(?i)(a|b|c|d|e|f|g|h|i|j)x", "(?i)123", "(?i:a)b",
	"(?i)foo.*", "(?-s:.*)", "(?-s:.+)foo", "\\x{FFFD}", ".*\\x{FFFD}.*", "a\\x{FFFD}", "[\\x{FFFD}a]",
	"^foo$", "foo$|bar", "(?U)a+", "a*", "(a+)", "\\d+", "é|e", ".*é", "é.*", ".*(é|e).*", "\\Qa.b\\E",
	"[\\x{D7FF}-\\x{E000}]", "(|a).*", ".*(|a).+", ".+(|a).+", "(?:)", "[^\\x00-\\x{10FFFF}]", "x[^\\x00-\\x{10FFFF}]|y",
	"foo(?:.*|bar)", "(?s:.)*foo", "(.*)(foo)(.*)", "a(b|c)(d|e).*", ".*a.*a.*", ".+a.+a.+",
}

// regexInputs probes ASCII, case variants, non-ASCII, newlines and
// invalid UTF-8.
var regexInputs = []string{
	"", "f", "fo", "foo", "Foo", "FOO", "fooo", "foobar", "bar", "baz", "foobaz", "barbaz", "xfoo", "xfoox", "foo\n", "\nfoo",
	"a", "b", "c", "d", "x", "ab", "abc", "abd", "ac", "aab", "abbc", "abc\n", "\n", "\n\n", "a\nb", "ax", "AX", "Jx",
	"k", "K", "\u212a", "s", "S", "\u017f", "ß", "ẞ", "123", "Ab", "ab", "aB", "AB",
	"\xff", "\xfffoo", "foo\xff", "a\xff", "\xe2\x82", "fo\xe2\x82", "\ufffd", "a\ufffd", "\xffa", "é", "e", "xé", "éx", "\xc3", "\xa9",
	"foofoo", "barfoo", "fobar", "foo bar", "afoob", "aa", "aXa", "aaa", "aXaXa", "a\xffa\xffa", "éaéaé", "ééa", "aé",
	"\xed\x9f\xbf", "\xee\x80\x80", "y", "xy",
}

func anchored(p string) *regexp.Regexp {
	return regexp.MustCompile("^(?s:" + p + ")$")
}

func TestFastRegexMatcherAgainstRegexp(t *testing.T) {
	for _, p := range regexPatterns {
		m, err := NewFastRegexMatcher(p)
		if err != nil {
			t.Errorf("NewFastRegexMatcher(%q): %v", p, err)
			continue
		}
		re := anchored(p)
		inputs := slices.Clone(regexInputs)
		inputs = append(inputs, m.SetMatches()...)
		for _, s := range inputs {
			if got, want := m.MatchString(s), re.MatchString(s); got != want {
				t.Errorf("%q.MatchString(%q) = %v, regexp says %v (fast path %T)", p, s, got, want, m.fast)
			}
		}
		for _, s := range m.SetMatches() {
			if !re.MatchString(s) {
				t.Errorf("%q: set match %q does not match", p, s)
			}
		}
		if set := m.SetMatches(); set != nil {
			for _, s := range inputs {
				if re.MatchString(s) && !slices.Contains(set, s) {
					t.Errorf("%q matches %q, missing from SetMatches %q", p, s, set)
				}
			}
		}
		if pre := m.Prefix(); pre != "" {
			for _, s := range inputs {
				if re.MatchString(s) && !strings.HasPrefix(s, pre) {
					t.Errorf("%q: %q matches without prefix %q", p, s, pre)
				}
			}
		}
	}
}

// TestFastPathSelection pins which fast path serves which shape, so a
// change that silently sends them all to the regexp engine fails.
func TestFastPathSelection(t *testing.T) {
	tests := []struct {
		pattern string
		kind    string // %T of the fast path, or "" for the regexp
		set     []string
		prefix  string
	}{
		{"foo", "labels.equalMatcher", []string{"foo"}, "foo"},
		{"", "labels.equalMatcher", []string{""}, ""},
		{"foo|bar", "*labels.setMatcher", []string{"foo", "bar"}, ""},
		{"foo|foobar|bar", "*labels.setMatcher", []string{"foo", "foobar", "bar"}, ""},
		{"a|b|c|d|e|f|g|h|i|j", "*labels.setMatcher", []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"}, ""},
		{"abc|abd", "*labels.setMatcher", []string{"abc", "abd"}, "ab"},
		{"(?i)foo", "*labels.foldSetMatcher", nil, ""},
		{"(?i)123", "labels.equalMatcher", []string{"123"}, "123"},
		{".*", "labels.trueMatcher", nil, ""},
		{".+", "labels.nonEmptyMatcher", nil, ""},
		{"foo.*", "*labels.seqMatcher", nil, "foo"},
		{".*foo", "*labels.seqMatcher", nil, ""},
		{".*foo.*", "*labels.seqMatcher", nil, ""},
		{".*(foo|bar).*", "*labels.seqMatcher", nil, ""},
		{"foo.*|bar", "labels.orMatcher", nil, ""},
		{"[^\\x00-\\x{10FFFF}]", "labels.noneMatcher", []string{}, ""},
		{"fo+", "", nil, "f"},
		{".+.+", "", nil, ""},
		{"\\x{FFFD}", "", nil, ""},
		{"(?i)foo.*", "", nil, ""},
	}
	for _, tc := range tests {
		m, err := NewFastRegexMatcher(tc.pattern)
		if err != nil {
			t.Fatal(err)
		}
		kind := ""
		if m.fast != nil {
			kind = fmt.Sprintf("%T", m.fast)
		}
		if kind != tc.kind {
			t.Errorf("%q: fast path %q, want %q", tc.pattern, kind, tc.kind)
		}
		if !slices.Equal(m.SetMatches(), tc.set) || (m.SetMatches() == nil) != (tc.set == nil) {
			t.Errorf("%q: SetMatches = %q, want %q", tc.pattern, m.SetMatches(), tc.set)
		}
		if m.Prefix() != tc.prefix {
			t.Errorf("%q: Prefix = %q, want %q", tc.pattern, m.Prefix(), tc.prefix)
		}
		if m.GetRegexString() != tc.pattern {
			t.Errorf("%q: GetRegexString = %q", tc.pattern, m.GetRegexString())
		}
	}
}

func TestLargeSets(t *testing.T) {
	var alts, foldAlts []string
	for i := range 100 {
		alts = append(alts, fmt.Sprintf("value%d", i))
		foldAlts = append(foldAlts, fmt.Sprintf("Välue%dk", i))
	}
	inputs := []string{"value0", "value99", "value100", "VALUE1", "välue5k", "VÄLUE5K", "välue5\u212a", "välue100k", "Välue5k\xff", ""}
	for _, p := range []string{strings.Join(alts, "|"), "(?i)" + strings.Join(foldAlts, "|"), ".*(" + strings.Join(alts[:20], "|") + ")"} {
		m, err := NewFastRegexMatcher(p)
		if err != nil {
			t.Fatal(err)
		}
		if m.fast == nil {
			t.Errorf("%.30q...: no fast path", p)
		}
		re := anchored(p)
		for _, s := range inputs {
			if got, want := m.MatchString(s), re.MatchString(s); got != want {
				t.Errorf("%.30q...MatchString(%q) = %v, want %v", p, s, got, want)
			}
		}
	}
}

func TestFastRegexMatcherErrors(t *testing.T) {
	for _, p := range []string{"(", "a)|(b", "[", "\\", "a**", "\\Qfoo", "\xff", "(?P<n>a", "x{1001}"} {
		if _, err := NewFastRegexMatcher(p); err == nil {
			t.Errorf("NewFastRegexMatcher(%q) accepted", p)
		}
	}
}

func TestMatcher(t *testing.T) {
	tests := []struct {
		t       MatchType
		name    string
		value   string
		str     string
		match   []string
		noMatch []string
	}{
		{MatchEqual, "job", "api", `job="api"`, []string{"api"}, []string{"", "ap", "API"}},
		{MatchNotEqual, "job", "api", `job!="api"`, []string{"", "web"}, []string{"api"}},
		// An absent label reads as "": {a=""} and {a=~""} select
		// series without a, {a!=""} selects series that have it.
		{MatchEqual, "a", "", `a=""`, []string{""}, []string{"x"}},
		{MatchNotEqual, "a", "", `a!=""`, []string{"x"}, []string{""}},
		{MatchRegexp, "a", "", `a=~""`, []string{""}, []string{"x"}},
		{MatchNotRegexp, "a", "", `a!~""`, []string{"x"}, []string{""}},
		{MatchRegexp, "a", ".*", `a=~".*"`, []string{"", "x", "\n"}, nil},
		{MatchRegexp, "a", ".+", `a=~".+"`, []string{"x", "\n"}, []string{""}},
		{MatchRegexp, "a", "x|", `a=~"x|"`, []string{"", "x"}, []string{"y"}},
		{MatchNotRegexp, "a", "api|web", `a!~"api|web"`, []string{"", "apiweb"}, []string{"api", "web"}},
		{MatchRegexp, "a", "b", `a=~"b"`, []string{"b"}, []string{"ab", "bc"}}, // anchored
		{MatchRegexp, "a", "a.c", `a=~"a.c"`, []string{"abc", "a\nc"}, []string{"ac"}},
		{MatchEqual, "foo.bar", "1", `"foo.bar"="1"`, nil, nil},
		{MatchRegexp, "colon:name", "1", `"colon:name"=~"1"`, nil, nil},
		{MatchEqual, "", "v", `""="v"`, nil, nil},
		{MatchEqual, "a", "q\"\n", `a="q\"\n"`, nil, nil},
		{MatchNotRegexp, "ü", "x", `"ü"!~"x"`, nil, nil},
	}
	for _, tc := range tests {
		m, err := NewMatcher(tc.t, tc.name, tc.value)
		if err != nil {
			t.Fatal(err)
		}
		if got := m.String(); got != tc.str {
			t.Errorf("String = %s, want %s", got, tc.str)
		}
		inv, err := m.Inverse()
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range tc.match {
			if !m.Matches(s) {
				t.Errorf("%s does not match %q", m, s)
			}
			if inv.Matches(s) {
				t.Errorf("inverse %s matches %q", inv, s)
			}
		}
		for _, s := range tc.noMatch {
			if m.Matches(s) {
				t.Errorf("%s matches %q", m, s)
			}
			if !inv.Matches(s) {
				t.Errorf("inverse %s does not match %q", inv, s)
			}
		}
	}
}

func TestMatcherAccessors(t *testing.T) {
	eq := MustNewMatcher(MatchEqual, "a", "foo")
	if eq.GetRegexString() != "" || eq.SetMatches() != nil || eq.Prefix() != "" || eq.IsRegexOptimized() {
		t.Error("equality matcher reports regexp details")
	}
	re := MustNewMatcher(MatchRegexp, "a", "foo|bar")
	if re.GetRegexString() != "foo|bar" || !slices.Equal(re.SetMatches(), []string{"foo", "bar"}) || !re.IsRegexOptimized() {
		t.Errorf("regexp matcher: %q %q %v", re.GetRegexString(), re.SetMatches(), re.IsRegexOptimized())
	}
	pre := MustNewMatcher(MatchNotRegexp, "a", "api-.*")
	if pre.Prefix() != "api-" || pre.SetMatches() != nil || !pre.IsRegexOptimized() {
		t.Errorf("prefix matcher: %q %q", pre.Prefix(), pre.SetMatches())
	}
	slow := MustNewMatcher(MatchRegexp, "a", "(a+)+b?")
	if slow.IsRegexOptimized() {
		t.Error("unoptimisable regexp reports optimised")
	}
	if _, err := NewMatcher(MatchRegexp, "a", "("); err == nil {
		t.Error("bad regexp accepted")
	}
	if _, err := NewMatcher(MatchType(9), "a", "b"); err == nil {
		t.Error("bad match type accepted")
	}
	for typ, want := range map[MatchType]string{MatchEqual: "=", MatchNotEqual: "!=", MatchRegexp: "=~", MatchNotRegexp: "!~", 7: "MatchType(7)"} {
		if typ.String() != want {
			t.Errorf("MatchType(%d).String() = %q", int(typ), typ.String())
		}
	}
}

func TestMustNewMatcherPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("no panic")
		}
	}()
	MustNewMatcher(MatchRegexp, "a", "(")
}
