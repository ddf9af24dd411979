package storagetest

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/vigil-monitoring/vigil/internal/model/labels"
	"github.com/vigil-monitoring/vigil/internal/storage"
)

// matcherFixture is the series set the matcher and label tests query.
var matcherFixture = []labels.Labels{
	labels.FromStrings("__name__", "m", "job", "a", "inst", "1"),
	labels.FromStrings("__name__", "m", "job", "a", "inst", "2"),
	labels.FromStrings("__name__", "m", "job", "b", "inst", "1", "extra", "x"),
	labels.FromStrings("__name__", "n", "job", "a"),
	labels.FromStrings("__name__", "n"),
	labels.FromStrings("__name__", "n", "job", "abc"),
}

func loadFixture(t *testing.T, a storage.Appendable) {
	app := a.Appender(context.Background())
	for _, l := range matcherFixture {
		if _, err := app.Append(0, l, 100, 1); err != nil {
			t.Fatal(err)
		}
	}
	if err := app.Commit(); err != nil {
		t.Fatal(err)
	}
}

func m(typ labels.MatchType, name, val string) *labels.Matcher {
	return labels.MustNewMatcher(typ, name, val)
}

func testMatchers(t *testing.T, f Factory) {
	a, q := f(t)
	loadFixture(t, a)
	eq, neq, re, nre := labels.MatchEqual, labels.MatchNotEqual, labels.MatchRegexp, labels.MatchNotRegexp
	cases := []struct {
		ms   []*labels.Matcher
		want []int // indexes into matcherFixture
	}{
		{[]*labels.Matcher{m(eq, "__name__", "m")}, []int{0, 1, 2}},
		{[]*labels.Matcher{m(eq, "__name__", "m"), m(eq, "job", "a")}, []int{0, 1}},
		{[]*labels.Matcher{m(eq, "__name__", "m"), m(neq, "job", "a")}, []int{2}},
		{[]*labels.Matcher{m(re, "__name__", "m|n"), m(eq, "inst", "1")}, []int{0, 2}},
		{[]*labels.Matcher{m(re, "job", "a.*")}, []int{0, 1, 3, 5}},
		{[]*labels.Matcher{m(re, "job", "a")}, []int{0, 1, 3}}, // anchored
		{[]*labels.Matcher{m(re, "__name__", ".+"), m(nre, "job", "a.*")}, []int{2, 4}},
		// An absent label has the value "".
		{[]*labels.Matcher{m(eq, "__name__", "n"), m(eq, "job", "")}, []int{4}},
		{[]*labels.Matcher{m(eq, "__name__", "n"), m(neq, "job", "")}, []int{3, 5}},
		{[]*labels.Matcher{m(eq, "__name__", "n"), m(re, "job", "")}, []int{4}},
		{[]*labels.Matcher{m(eq, "__name__", "n"), m(nre, "job", "")}, []int{3, 5}},
		{[]*labels.Matcher{m(eq, "__name__", "n"), m(re, "job", ".*")}, []int{3, 4, 5}},
		{[]*labels.Matcher{m(eq, "__name__", "n"), m(re, "job", ".+")}, []int{3, 5}},
		{[]*labels.Matcher{m(eq, "__name__", "n"), m(re, "job", "a|")}, []int{3, 4}},
		{[]*labels.Matcher{m(re, "extra", ".+")}, []int{2}},
		{[]*labels.Matcher{m(re, "__name__", ".+"), m(re, "extra", "")}, []int{0, 1, 3, 4, 5}},
		{[]*labels.Matcher{m(re, "__name__", ".+"), m(neq, "extra", "x")}, []int{0, 1, 3, 4, 5}},
		{[]*labels.Matcher{m(eq, "job", "a"), m(nre, "__name__", "m")}, []int{3}},
		{[]*labels.Matcher{m(eq, "nosuch", "v")}, nil},
		{[]*labels.Matcher{m(eq, "__name__", "m"), m(eq, "job", "zzz")}, nil},
		{[]*labels.Matcher{m(re, "job", "(?i)A")}, []int{0, 1, 3}},
		{[]*labels.Matcher{m(re, "inst", "1|2"), m(neq, "inst", "2")}, []int{0, 2}},
	}
	for _, tc := range cases {
		name := fmt.Sprint(tc.ms)
		var want []string
		for _, i := range tc.want {
			want = append(want, matcherFixture[i].String())
		}
		slices.Sort(want)
		got := lsets(selectAll(t, q, math.MinInt64, math.MaxInt64, true, tc.ms...))
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("%s: got %v, want %v", name, got, want)
		}
	}
}

func testSortedSelect(t *testing.T, f Factory) {
	a, q := f(t)
	rng := rand.New(rand.NewPCG(7, 7))
	app := a.Appender(context.Background())
	seen := map[string]bool{}
	for len(seen) < 300 {
		b := labels.NewBuilder(labels.FromStrings("__name__", fmt.Sprintf("metric_%d", rng.IntN(5))))
		for _, n := range []string{"a", "b", "c", "z"} {
			if rng.IntN(3) > 0 {
				b.Set(n, fmt.Sprintf("%x", rng.IntN(40)))
			}
		}
		l := b.Labels()
		if seen[l.String()] {
			continue
		}
		seen[l.String()] = true
		if _, err := app.Append(0, l, 1, 1); err != nil {
			t.Fatal(err)
		}
	}
	if err := app.Commit(); err != nil {
		t.Fatal(err)
	}
	got := all(t, q)
	if len(got) != len(seen) {
		t.Fatalf("got %d series, want %d", len(got), len(seen))
	}
	for i := 1; i < len(got); i++ {
		if labels.Compare(got[i-1].lset, got[i].lset) >= 0 {
			t.Fatalf("not sorted at %d: %s then %s", i, got[i-1].lset, got[i].lset)
		}
	}
	unsorted := selectAll(t, q, math.MinInt64, math.MaxInt64, false, m(labels.MatchRegexp, "__name__", ".+"))
	a1, a2 := lsets(got), lsets(unsorted)
	slices.Sort(a1)
	slices.Sort(a2)
	if !slices.Equal(a1, a2) {
		t.Fatal("unsorted Select returned a different set of series")
	}
}

func labelQuery(t *testing.T, q storage.Queryable, fn func(storage.Querier) ([]string, storage.Warnings, error)) []string {
	t.Helper()
	qr, err := q.Querier(math.MinInt64, math.MaxInt64)
	if err != nil {
		t.Fatal(err)
	}
	defer qr.Close()
	res, _, err := fn(qr)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func testLabelNamesAndValues(t *testing.T, f Factory) {
	a, q := f(t)
	loadFixture(t, a)
	ctx := context.Background()
	names := func(ms ...*labels.Matcher) []string {
		return labelQuery(t, q, func(qr storage.Querier) ([]string, storage.Warnings, error) {
			return qr.LabelNames(ctx, nil, ms...)
		})
	}
	values := func(name string, hints *storage.LabelHints, ms ...*labels.Matcher) []string {
		return labelQuery(t, q, func(qr storage.Querier) ([]string, storage.Warnings, error) {
			return qr.LabelValues(ctx, name, hints, ms...)
		})
	}
	check := func(what string, got, want []string) {
		t.Helper()
		if len(got) == 0 && len(want) == 0 {
			return
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: got %q, want %q", what, got, want)
		}
	}
	check("names", names(), []string{"__name__", "extra", "inst", "job"})
	check("names job=b", names(m(labels.MatchEqual, "job", "b")), []string{"__name__", "extra", "inst", "job"})
	check("names __name__=n", names(m(labels.MatchEqual, "__name__", "n")), []string{"__name__", "job"})
	check("names none match", names(m(labels.MatchEqual, "job", "zzz")), nil)
	check("values job", values("job", nil), []string{"a", "abc", "b"})
	check("values job __name__=n", values("job", nil, m(labels.MatchEqual, "__name__", "n")), []string{"a", "abc"})
	check("values inst job=a", values("inst", nil, m(labels.MatchEqual, "job", "a")), []string{"1", "2"})
	check("values inst job!=a", values("inst", nil, m(labels.MatchNotEqual, "job", "a")), []string{"1"})
	check("values __name__", values("__name__", nil), []string{"m", "n"})
	check("values nosuch", values("nosuch", nil), nil)
	check("values job limit", values("job", &storage.LabelHints{Limit: 2}), []string{"a", "abc"})
}

func testTimeRange(t *testing.T, f Factory) {
	a, q := f(t)
	in := labels.FromStrings("__name__", "in")
	commit(t, a, in, floats(0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100)...)
	out := labels.FromStrings("__name__", "out")
	commit(t, a, out, floats(200, 210)...)
	ms := m(labels.MatchRegexp, "__name__", ".+")

	got := selectAll(t, q, 25, 65, true, ms)
	if len(got) != 1 || !labels.Equal(got[0].lset, in) || !sameSamples(got[0].samples, floats(30, 40, 50, 60)) {
		t.Fatalf("[25,65]: got %v", got)
	}
	got = selectAll(t, q, 30, 60, true, ms)
	if len(got) != 1 || !sameSamples(got[0].samples, floats(30, 40, 50, 60)) {
		t.Fatalf("[30,60] must be inclusive: got %v", got)
	}
	got = selectAll(t, q, 101, 199, true, ms)
	if len(got) != 0 {
		t.Fatalf("[101,199] holds no samples but got %v", got)
	}
	got = selectAll(t, q, 100, 200, true, ms)
	if len(got) != 2 || !sameSamples(got[0].samples, floats(100)) || !sameSamples(got[1].samples, floats(200)) {
		t.Fatalf("[100,200]: got %v", got)
	}
}

func testManySeriesRegexp(t *testing.T, f Factory) {
	a, q := f(t)
	const n = 3000
	app := a.Appender(context.Background())
	for i := range n {
		l := labels.FromStrings("__name__", "many", "i", fmt.Sprint(i), "parity", fmt.Sprint(i%2))
		if _, err := app.Append(0, l, int64(i), float64(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := app.Commit(); err != nil {
		t.Fatal(err)
	}
	count := func(ms ...*labels.Matcher) int {
		return len(selectAll(t, q, math.MinInt64, math.MaxInt64, false, ms...))
	}
	want := 0
	for i := range n {
		if strings.HasPrefix(fmt.Sprint(i), "1") {
			want++
		}
	}
	if got := count(m(labels.MatchRegexp, "i", "1.*")); got != want {
		t.Errorf("i=~1.*: %d, want %d", got, want)
	}
	if got := count(m(labels.MatchEqual, "__name__", "many"), m(labels.MatchEqual, "parity", "1"), m(labels.MatchNotRegexp, "i", ".*[05]")); got != n/2-n/10 {
		t.Errorf("odd and not ending in 5: %d, want %d", got, n/2-n/10)
	}
	if got := count(m(labels.MatchRegexp, "i", "7|77|777|7777")); got != 3 {
		t.Errorf("set regexp: %d, want 3", got)
	}
}
