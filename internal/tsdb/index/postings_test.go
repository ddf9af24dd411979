package index

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/vigil-monitoring/vigil/internal/model/labels"
	"github.com/vigil-monitoring/vigil/internal/storage"
)

func randomList(rng *rand.Rand, n, maxGap int) []storage.SeriesRef {
	out := make([]storage.SeriesRef, n)
	cur := storage.SeriesRef(0)
	for i := range out {
		cur += storage.SeriesRef(1 + rng.IntN(maxGap))
		out[i] = cur
	}
	return out
}

func toU32(l []storage.SeriesRef) []uint32 {
	out := make([]uint32, len(l))
	for i, v := range l {
		out[i] = uint32(v)
	}
	return out
}

// diskList encodes l as an on-disk list and returns its iterator.
func diskList(t testing.TB, l []storage.SeriesRef) Postings {
	p, err := newDiskPostings(encodePostings(nil, toU32(l)))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func refIntersect(a, b []storage.SeriesRef) (out []storage.SeriesRef) {
	for _, v := range a {
		if _, ok := slices.BinarySearch(b, v); ok {
			out = append(out, v)
		}
	}
	return out
}

func refUnion(ls ...[]storage.SeriesRef) []storage.SeriesRef {
	var out []storage.SeriesRef
	for _, l := range ls {
		out = append(out, l...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func refWithout(a, b []storage.SeriesRef) (out []storage.SeriesRef) {
	for _, v := range a {
		if _, ok := slices.BinarySearch(b, v); !ok {
			out = append(out, v)
		}
	}
	return out
}

// checkSeeks compares random Next/Seek walks of p (rebuilt by mk) against
// the expected list.
func checkSeeks(t *testing.T, what string, mk func() Postings, want []storage.SeriesRef, rng *rand.Rand) {
	t.Helper()
	got, err := Expand(mk())
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) && (len(got) != 0 || len(want) != 0) {
		t.Fatalf("%s: got %d refs, want %d", what, len(got), len(want))
	}
	for range 20 {
		p := mk()
		pos := -1 // index in want of the current element
		for range 30 {
			if rng.IntN(3) == 0 {
				ok := p.Next()
				pos++
				if ok != (pos < len(want)) || (ok && p.At() != want[pos]) {
					t.Fatalf("%s: Next mismatch at %d", what, pos)
				}
				if !ok {
					break
				}
				continue
			}
			var v storage.SeriesRef
			if len(want) > 0 {
				v = want[rng.IntN(len(want))] + storage.SeriesRef(rng.IntN(3)) - 1
			}
			ok := p.Seek(v)
			// Expected: first element >= v at or after the current one.
			j, _ := slices.BinarySearch(want, v)
			j = max(j, pos, 0)
			if ok != (j < len(want)) || (ok && p.At() != want[j]) {
				t.Fatalf("%s: Seek(%d) = %v at %d, want index %d of %d", what, v, ok, p.At(), j, len(want))
			}
			if !ok {
				break
			}
			pos = j
		}
	}
}

func TestDiskPostings(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{0, 1, 2, 255, 256, 257, 300, 1000, 5000} {
		l := randomList(rng, n, 50)
		checkSeeks(t, fmt.Sprint("disk ", n), func() Postings { return diskList(t, l) }, l, rng)
		checkSeeks(t, fmt.Sprint("list ", n), func() Postings { return NewListPostings(l) }, l, rng)
	}
}

func TestPostingsOperators(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for trial := range 50 {
		a := randomList(rng, rng.IntN(2000), 1+rng.IntN(20))
		b := randomList(rng, rng.IntN(2000), 1+rng.IntN(20))
		c := randomList(rng, rng.IntN(500), 1+rng.IntN(40))
		name := fmt.Sprint("trial ", trial)
		checkSeeks(t, name+" intersect", func() Postings { return Intersect(diskList(t, a), NewListPostings(b)) }, refIntersect(a, b), rng)
		checkSeeks(t, name+" intersect3", func() Postings {
			return Intersect(diskList(t, a), diskList(t, b), NewListPostings(c))
		}, refIntersect(refIntersect(a, b), c), rng)
		checkSeeks(t, name+" merge", func() Postings { return Merge(diskList(t, a), NewListPostings(b), diskList(t, c)) }, refUnion(a, b, c), rng)
		checkSeeks(t, name+" without", func() Postings { return Without(diskList(t, a), diskList(t, b)) }, refWithout(a, b), rng)
		checkSeeks(t, name+" nested", func() Postings {
			return Without(Merge(diskList(t, a), diskList(t, c)), Intersect(diskList(t, b), diskList(t, c)))
		}, refWithout(refUnion(a, c), refIntersect(b, c)), rng)
	}
}

func TestPostingsErrorsPropagate(t *testing.T) {
	boom := errors.New("boom")
	l := NewListPostings([]storage.SeriesRef{1, 2, 3})
	for name, p := range map[string]Postings{
		"intersect": Intersect(NewListPostings([]storage.SeriesRef{1, 2, 3}), ErrPostings(boom)),
		"merge":     Merge(NewListPostings([]storage.SeriesRef{1, 2, 3}), ErrPostings(boom)),
		"without":   Without(ErrPostings(boom), l),
	} {
		if _, err := Expand(p); !errors.Is(err, boom) {
			t.Errorf("%s: error %v", name, err)
		}
	}
	// A corrupt delta (zero) in an on-disk list.
	p, err := newDiskPostings([]byte{3, 1, 0, 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Expand(p); !errors.Is(err, errPostingsCorrupt) {
		t.Fatalf("zero delta: %v", err)
	}
}

// matchesRef evaluates matchers on a label set the slow way.
func matchesRef(l labels.Labels, ms []*labels.Matcher) bool {
	for _, m := range ms {
		if !m.Matches(l.Get(m.Name)) {
			return false
		}
	}
	return true
}

func TestPostingsForMatchers(t *testing.T) {
	series := genSeries(2000, 5)
	r := buildIndex(t, series)
	refs, _ := Expand(r.AllPostings())
	mk := labels.MustNewMatcher
	eq, neq, re, nre := labels.MatchEqual, labels.MatchNotEqual, labels.MatchRegexp, labels.MatchNotRegexp
	cases := [][]*labels.Matcher{
		{},
		{mk(eq, "__name__", "metric_3")},
		{mk(eq, "__name__", "metric_3"), mk(eq, "job", "node")},
		{mk(eq, "__name__", "metric_3"), mk(neq, "job", "node")},
		{mk(re, "__name__", "metric_1.*"), mk(re, "cpu", "1|2|3")},
		{mk(re, "__name__", ".*")},
		{mk(re, "__name__", ".+")},
		{mk(eq, "mode", "")},
		{mk(neq, "mode", "")},
		{mk(re, "mode", "")},
		{mk(nre, "mode", "")},
		{mk(re, "mode", "idle|")},
		{mk(nre, "mode", "idle|user")},
		{mk(nre, "mode", "i.*")},
		{mk(re, "instance", "host-00.*"), mk(nre, "cpu", "1.*")},
		{mk(eq, "path", "")},
		{mk(re, "path", "/x/1.*")},
		{mk(re, "path", "/x/1\n.*")},
		{mk(re, "instance", "(?i)HOST-01.*")},
		{mk(eq, "nosuch", "x")},
		{mk(neq, "nosuch", "x")},
		{mk(eq, "nosuch", "")},
		{mk(re, "job", "node|api"), mk(neq, "job", "api"), mk(eq, "cpu", "")},
		{mk(nre, "__name__", "metric_.*")},
	}
	for _, ms := range cases {
		var want []storage.SeriesRef
		for i, s := range series {
			if matchesRef(s.lset, ms) {
				want = append(want, refs[i])
			}
		}
		got, err := Expand(r.PostingsForMatchers(ms...))
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, want) && (len(got) != 0 || len(want) != 0) {
			t.Errorf("%v: %d series, want %d", ms, len(got), len(want))
		}
		// Label names and values restricted to the matching series.
		names := map[string]bool{}
		vals := map[string]bool{}
		for i, s := range series {
			if matchesRef(s.lset, ms) {
				_ = i
				s.lset.Range(func(l labels.Label) { names[l.Name] = true })
				if s.lset.Has("job") {
					vals[s.lset.Get("job")] = true
				}
			}
		}
		gotNames, err := r.LabelNamesFor(r.PostingsForMatchers(ms...))
		if err != nil || len(gotNames) != len(names) || !slices.IsSorted(gotNames) {
			t.Errorf("%v: LabelNamesFor %v, want %v (%v)", ms, gotNames, names, err)
		}
		gotVals, err := r.LabelValuesFor(r.PostingsForMatchers(ms...), "job")
		if err != nil || len(gotVals) != len(vals) || !slices.IsSorted(gotVals) {
			t.Errorf("%v: LabelValuesFor %v, want %v (%v)", ms, gotVals, vals, err)
		}
	}
}
