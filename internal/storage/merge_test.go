package storage

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/vigil-monitoring/vigil/internal/model/histogram"
	"github.com/vigil-monitoring/vigil/internal/model/labels"
)

func fs(ts ...int64) []Sample {
	out := make([]Sample, len(ts))
	for i, t := range ts {
		out[i] = Sample{T: t, F: float64(t)}
	}
	return out
}

func mustExpand(t *testing.T, it Iterator) []Sample {
	t.Helper()
	s, err := ExpandSamples(it)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func times(ss []Sample) []int64 {
	out := make([]int64, len(ss))
	for i, s := range ss {
		out[i] = s.T
	}
	return out
}

func TestChainedSeriesMergeDedup(t *testing.T) {
	ls := labels.FromStrings("a", "b")
	a := NewListSeries(ls, []Sample{{T: 1, F: 1}, {T: 3, F: 3}, {T: 5, F: 5}})
	b := NewListSeries(ls, []Sample{{T: 2, F: 20}, {T: 3, F: 30}, {T: 6, F: 60}})
	c := NewListSeries(ls, []Sample{{T: 3, F: 300}, {T: 5, F: 500}, {T: 7, F: 700}})
	got := mustExpand(t, ChainedSeriesMerge(a, b, c).Iterator(nil))
	want := []Sample{{T: 1, F: 1}, {T: 2, F: 20}, {T: 3, F: 3}, {T: 5, F: 5}, {T: 6, F: 60}, {T: 7, F: 700}}
	if !slices.EqualFunc(got, want, SameSample) {
		t.Fatalf("got %v, want %v (first series must win ties)", got, want)
	}
}

// TestChainIteratorRandom checks the chain against a reference merge and
// exercises Seek interleaved with Next, including Seek never going back.
func TestChainIteratorRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for iter := range 300 {
		n := 1 + rng.IntN(4)
		var series []Series
		ref := map[int64]Sample{}
		for i := range n {
			var ss []Sample
			for ts := int64(rng.IntN(5)); ts < 60; ts += 1 + int64(rng.IntN(6)) {
				s := Sample{T: ts, F: float64(i*1000) + float64(ts)}
				ss = append(ss, s)
				if _, ok := ref[ts]; !ok {
					ref[ts] = s
				}
			}
			series = append(series, NewListSeries(labels.FromStrings("x", "y"), ss))
		}
		var want []Sample
		for _, s := range ref {
			want = append(want, s)
		}
		slices.SortFunc(want, func(a, b Sample) int { return int(a.T - b.T) })

		it := ChainedSeriesMerge(series...).Iterator(nil)
		var got []Sample
		last := int64(math.MinInt64)
		for {
			var typ ValueType
			if rng.IntN(3) == 0 {
				target := last + int64(rng.IntN(8)) - 3 // sometimes behind: must not move back
				typ = it.Seek(target)
				if typ != ValNone && it.AtT() < target {
					t.Fatalf("iter %d: Seek(%d) landed on %d", iter, target, it.AtT())
				}
				if typ != ValNone && it.AtT() < last {
					t.Fatalf("iter %d: Seek(%d) moved back from %d to %d", iter, target, last, it.AtT())
				}
				if typ != ValNone && it.AtT() == last {
					continue // stayed put; already recorded
				}
			} else {
				typ = it.Next()
			}
			if typ == ValNone {
				break
			}
			ts, v := it.At()
			got = append(got, Sample{T: ts, F: v})
			last = ts
		}
		// With seeks, got is the subsequence of want that was not skipped.
		j := 0
		for _, g := range got {
			for j < len(want) && want[j].T < g.T {
				j++
			}
			if j == len(want) || !SameSample(want[j], g) {
				t.Fatalf("iter %d: got %v not in reference %v", iter, got, want)
			}
			j++
		}
		// Without seeks the whole merge must come out.
		all := mustExpand(t, ChainedSeriesMerge(series...).Iterator(it))
		if !slices.EqualFunc(all, want, SameSample) {
			t.Fatalf("iter %d: got %v, want %v", iter, times(all), times(want))
		}
	}
}

func TestChainHistogramHintReset(t *testing.T) {
	h := func(hint histogram.CounterResetHint) *histogram.Histogram {
		return &histogram.Histogram{CounterResetHint: hint, Count: 1, Schema: 0}
	}
	ls := labels.FromStrings("a", "b")
	a := NewListSeries(ls, []Sample{{T: 1, H: h(histogram.NotCounterReset)}, {T: 2, H: h(histogram.NotCounterReset)}})
	b := NewListSeries(ls, []Sample{{T: 3, H: h(histogram.NotCounterReset)}, {T: 4, H: h(histogram.GaugeType)}})
	got := mustExpand(t, ChainedSeriesMerge(a, b).Iterator(nil))
	hints := []histogram.CounterResetHint{}
	for _, s := range got {
		hints = append(hints, s.H.CounterResetHint)
	}
	// The first sample and the switch to b lose their hint; gauges keep it.
	want := []histogram.CounterResetHint{histogram.UnknownCounterReset, histogram.NotCounterReset, histogram.UnknownCounterReset, histogram.GaugeType}
	if !slices.Equal(hints, want) {
		t.Fatalf("hints %v, want %v", hints, want)
	}
}

type errIterator struct {
	ListIterator
	err error
}

func (e *errIterator) Next() ValueType { return ValNone }
func (e *errIterator) Seek(int64) ValueType {
	return ValNone
}
func (e *errIterator) Err() error { return e.err }

func TestChainIteratorError(t *testing.T) {
	boom := errors.New("boom")
	it := NewChainIterator(NewListIterator(fs(1, 2)), &errIterator{err: boom})
	if it.Next() != ValNone || !errors.Is(it.Err(), boom) {
		t.Fatalf("want error, got %v", it.Err())
	}
}

// fakeQuerier serves a fixed list of series and optionally fails.
type fakeQuerier struct {
	series []Series
	err    error
	closed bool
}

func (q *fakeQuerier) Select(_ context.Context, sortSeries bool, _ *SelectHints, ms ...*labels.Matcher) SeriesSet {
	if q.err != nil {
		return ErrSeriesSet(q.err)
	}
	var out []Series
	for _, s := range q.series {
		ok := true
		for _, m := range ms {
			if !m.Matches(s.Labels().Get(m.Name)) {
				ok = false
			}
		}
		if ok {
			out = append(out, s)
		}
	}
	if sortSeries {
		slices.SortFunc(out, func(a, b Series) int { return labels.Compare(a.Labels(), b.Labels()) })
	}
	return NewListSeriesSet(out...)
}

func (q *fakeQuerier) LabelValues(_ context.Context, name string, _ *LabelHints, _ ...*labels.Matcher) ([]string, Warnings, error) {
	if q.err != nil {
		return nil, nil, q.err
	}
	var vs []string
	for _, s := range q.series {
		if v := s.Labels().Get(name); v != "" && !slices.Contains(vs, v) {
			vs = append(vs, v)
		}
	}
	slices.Sort(vs)
	return vs, nil, nil
}

func (q *fakeQuerier) LabelNames(context.Context, *LabelHints, ...*labels.Matcher) ([]string, Warnings, error) {
	if q.err != nil {
		return nil, nil, q.err
	}
	var ns []string
	for _, s := range q.series {
		s.Labels().Range(func(l labels.Label) {
			if !slices.Contains(ns, l.Name) {
				ns = append(ns, l.Name)
			}
		})
	}
	slices.Sort(ns)
	return ns, nil, nil
}

func (q *fakeQuerier) Close() error { q.closed = true; return nil }

func series(name string, ts ...int64) Series {
	return NewListSeries(labels.FromStrings("__name__", name), fs(ts...))
}

func collect(t *testing.T, ss SeriesSet) (map[string][]int64, []string) {
	t.Helper()
	out := map[string][]int64{}
	var order []string
	for ss.Next() {
		s := ss.At()
		out[s.Labels().String()] = times(mustExpand(t, s.Iterator(nil)))
		order = append(order, s.Labels().String())
	}
	if err := ss.Err(); err != nil {
		t.Fatal(err)
	}
	return out, order
}

func TestMergeQuerier(t *testing.T) {
	p1 := &fakeQuerier{series: []Series{series("c", 1, 2), series("a", 1)}}
	p2 := &fakeQuerier{series: []Series{series("b", 5), series("c", 2, 3)}}
	sec := &fakeQuerier{series: []Series{series("d", 9)}}
	q := NewMergeQuerier([]Querier{p1, p2}, []Querier{sec}, nil)
	got, order := collect(t, q.Select(context.Background(), false, nil))
	if want := []string{`{__name__="a"}`, `{__name__="b"}`, `{__name__="c"}`, `{__name__="d"}`}; !slices.Equal(order, want) {
		t.Fatalf("order %v, want %v", order, want)
	}
	if !slices.Equal(got[`{__name__="c"}`], []int64{1, 2, 3}) {
		t.Fatalf("merged c = %v", got[`{__name__="c"}`])
	}
	names, _, err := q.LabelValues(context.Background(), "__name__", nil)
	if err != nil || !slices.Equal(names, []string{"a", "b", "c", "d"}) {
		t.Fatalf("label values %v %v", names, err)
	}
	names, _, _ = q.LabelValues(context.Background(), "__name__", &LabelHints{Limit: 2})
	if !slices.Equal(names, []string{"a", "b"}) {
		t.Fatalf("limited label values %v", names)
	}
	ss := q.Select(context.Background(), true, &SelectHints{Limit: 2})
	if _, order := collect(t, ss); len(order) != 2 {
		t.Fatalf("limit 2 gave %v", order)
	}
	if err := q.Close(); err != nil || !p1.closed || !p2.closed || !sec.closed {
		t.Fatal("close not propagated")
	}
}

func TestMergeQuerierErrors(t *testing.T) {
	boom := errors.New("remote down")
	good := &fakeQuerier{series: []Series{series("a", 1)}}

	// A failing secondary becomes a warning.
	q := NewMergeQuerier([]Querier{good}, []Querier{&fakeQuerier{err: boom}}, nil)
	ss := q.Select(context.Background(), true, nil)
	_, order := collect(t, ss)
	if len(order) != 1 {
		t.Fatalf("got %v", order)
	}
	if ws := ss.Warnings(); len(ws) != 1 || !errors.Is(ws[0], boom) {
		t.Fatalf("warnings %v", ws)
	}
	vals, ws, err := q.LabelNames(context.Background(), nil)
	if err != nil || len(ws) != 1 || !slices.Equal(vals, []string{"__name__"}) {
		t.Fatalf("label names %v %v %v", vals, ws, err)
	}

	// A failing primary fails the query.
	q = NewMergeQuerier([]Querier{good, &fakeQuerier{err: boom}}, nil, nil)
	ss = q.Select(context.Background(), true, nil)
	for ss.Next() {
	}
	if !errors.Is(ss.Err(), boom) {
		t.Fatalf("err %v", ss.Err())
	}
	if _, _, err := q.LabelValues(context.Background(), "x", nil); !errors.Is(err, boom) {
		t.Fatalf("label values err %v", err)
	}
}

func TestMergeQuerierShortcuts(t *testing.T) {
	if _, ok := NewMergeQuerier(nil, nil, nil).(noopQuerier); !ok {
		t.Fatal("no queriers should give the noop querier")
	}
	p := &fakeQuerier{}
	if NewMergeQuerier([]Querier{p, NoopQuerier()}, nil, nil) != Querier(p) {
		t.Fatal("one primary should be returned as is")
	}
	if _, ok := NewMergeQuerier(nil, []Querier{p}, nil).(*mergeQuerier); !ok {
		t.Fatal("a lone secondary must still have its errors downgraded")
	}
}

func TestListIteratorSeek(t *testing.T) {
	it := NewListIterator(fs(10, 20, 30))
	if it.Seek(15) != ValFloat || it.AtT() != 20 {
		t.Fatal("seek 15")
	}
	if it.Seek(5) != ValFloat || it.AtT() != 20 {
		t.Fatal("seek back moved")
	}
	if it.Next() != ValFloat || it.AtT() != 30 {
		t.Fatal("next")
	}
	if it.Seek(31) != ValNone || it.Next() != ValNone {
		t.Fatal("past end")
	}
}

func TestMergeSeriesSetManySets(t *testing.T) {
	var sets []SeriesSet
	want := map[string]bool{}
	for i := range 10 {
		var ss []Series
		for j := i; j < 30; j += 3 {
			name := fmt.Sprintf("m%02d", j)
			ss = append(ss, series(name, int64(i)))
			want[name] = true
		}
		sets = append(sets, NewListSeriesSet(ss...))
	}
	_, order := collect(t, NewMergeSeriesSet(sets, 0, nil))
	if len(order) != len(want) || !slices.IsSorted(order) {
		t.Fatalf("got %d series %v", len(order), order)
	}
}
