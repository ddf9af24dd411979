package promql

import (
	"fmt"
	"testing"
)

// TestLabelReplaceRegexpCache checks that cached expressions are the ones
// asked for, also after the cache was emptied for being full, and that an
// invalid pattern is an error every time (errors are not cached).
func TestLabelReplaceRegexpCache(t *testing.T) {
	for round := range 2 {
		for i := range 3 * maxCachedLabelReplaceRegexps {
			pattern := fmt.Sprintf("a(%d)b", i)
			re, err := labelReplaceRegexp(pattern)
			if err != nil {
				t.Fatalf("round %d: %s: %v", round, pattern, err)
			}
			if want := "^(?s:" + pattern + ")$"; re.String() != want {
				t.Fatalf("round %d: got %s for %s", round, re, want)
			}
			if !re.MatchString(fmt.Sprintf("a%db", i)) || re.MatchString(fmt.Sprintf("xa%db", i)) {
				t.Fatalf("round %d: %s matches wrongly", round, re)
			}
		}
		if _, err := labelReplaceRegexp("(unclosed"); err == nil {
			t.Fatalf("round %d: no error for an invalid pattern", round)
		}
	}
	if n := len(labelReplaceRegexps.byPattern); n > maxCachedLabelReplaceRegexps {
		t.Fatalf("cache holds %d expressions, more than %d", n, maxCachedLabelReplaceRegexps)
	}
}
