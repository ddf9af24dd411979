package tsdb

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/vigil-monitoring/vigil/internal/model/labels"
	"github.com/vigil-monitoring/vigil/internal/storage"
)

// TestSelectPostingsDeferredAgainstModel checks selectPostings, with and
// without deferring matchers to a per-series check, against a scan of
// every series' labels, over random matcher combinations. Sizes on both
// sides of deferMinCandidates exercise both ways of applying a matcher.
func TestSelectPostingsDeferredAgainstModel(t *testing.T) {
	syms := newSymbolTable()
	p := newMemPostings()
	var last atomic.Uint64
	refs := map[storage.SeriesRef]labels.Labels{}
	for i := range 5000 {
		b := labels.NewBuilder(labels.FromStrings("__name__", fmt.Sprint("m", i%4), "job", fmt.Sprint("j", i%3)))
		if i%5 != 0 {
			b.Set("l", fmt.Sprint(i%1200))
		}
		ref := p.addNew(&last, syms.intern(b.Labels()), syms)
		refs[ref] = b.Labels()
	}
	rng := rand.New(rand.NewPCG(1, 2))
	pick := func() *labels.Matcher {
		names := []string{"__name__", "job", "l"}
		vals := map[string][]string{
			"__name__": {"m0", "m1", "m3", "nope", ""},
			"job":      {"j0", "j2", ""},
			"l":        {"7", "1199", "", "x"},
		}
		regs := []string{".*[0-4]$", "1.*", "m[12]", "j0|j1", "", ".+", "7|8|nope"}
		n := names[rng.IntN(len(names))]
		types := []labels.MatchType{labels.MatchEqual, labels.MatchNotEqual, labels.MatchRegexp, labels.MatchNotRegexp}
		typ := types[rng.IntN(len(types))]
		v := vals[n][rng.IntN(len(vals[n]))]
		if typ == labels.MatchRegexp || typ == labels.MatchNotRegexp {
			v = regs[rng.IntN(len(regs))]
		}
		return labels.MustNewMatcher(typ, n, v)
	}
	for range 400 {
		ms := make([]*labels.Matcher, 1+rng.IntN(3))
		for i := range ms {
			ms[i] = pick()
		}
		var want []storage.SeriesRef
		for ref, l := range refs {
			ok := true
			for _, m := range ms {
				ok = ok && m.Matches(l.Get(m.Name))
			}
			if ok {
				want = append(want, ref)
			}
		}
		slices.Sort(want)
		if got := p.postingsForMatchers(ms); !slices.Equal(got, want) {
			t.Fatalf("%v: postingsForMatchers gave %d refs, want %d", ms, len(got), len(want))
		}
		cand, rest := p.selectPostings(ms, true)
		var got []storage.SeriesRef
		for _, ref := range cand {
			if syms.matches(syms.intern(refs[ref]), rest) {
				got = append(got, ref)
			}
		}
		if !slices.Equal(got, want) {
			t.Fatalf("%v (deferred %v): %d refs, want %d", ms, rest, len(got), len(want))
		}
	}
}

func TestUnionMergesKWay(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for range 200 {
		var lists []postingList
		seen := map[storage.SeriesRef]bool{}
		for range rng.IntN(20) {
			var refs []storage.SeriesRef
			for r := storage.SeriesRef(1); r < 400; r++ {
				if rng.IntN(10) == 0 {
					refs = append(refs, r)
					seen[r] = true
				}
			}
			lists = append(lists, newPostingList(refs))
		}
		var want []storage.SeriesRef
		for r := range seen {
			want = append(want, r)
		}
		slices.Sort(want)
		if got := union(nil, lists); !slices.Equal(got, want) && (len(got) != 0 || len(want) != 0) {
			t.Fatalf("union of %d lists: %d refs, want %d", len(lists), len(got), len(want))
		}
	}
}
