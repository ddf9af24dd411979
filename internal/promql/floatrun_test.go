package promql_test

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/vigil-monitoring/vigil/internal/model/histogram"
	"github.com/vigil-monitoring/vigil/internal/model/labels"
	"github.com/vigil-monitoring/vigil/internal/promql"
	"github.com/vigil-monitoring/vigil/internal/storage"
)

// runStorage hands out iterators that implement storage.FloatRunIterator
// over the samples of another storage, with float runs of varying length
// (cut at histograms and at pseudo-random points), so the engine's batch
// paths meet runs that end at, before and after the times it asks for.
type runStorage struct{ storage.Queryable }

func (s runStorage) Querier(mint, maxt int64) (storage.Querier, error) {
	q, err := s.Queryable.Querier(mint, maxt)
	if err != nil {
		return nil, err
	}
	return runQuerier{q}, nil
}

type runQuerier struct{ storage.Querier }

func (q runQuerier) Select(ctx context.Context, sortSeries bool, hints *storage.SelectHints, ms ...*labels.Matcher) storage.SeriesSet {
	return runSeriesSet{q.Querier.Select(ctx, sortSeries, hints, ms...)}
}

type runSeriesSet struct{ storage.SeriesSet }

func (s runSeriesSet) At() storage.Series { return runSeries{s.SeriesSet.At()} }

type runSeries struct{ storage.Series }

type runSample struct {
	t  int64
	f  float64
	fh *histogram.FloatHistogram
}

func (s runSeries) Iterator(storage.Iterator) storage.Iterator {
	var samples []runSample
	it := s.Series.Iterator(nil)
	for typ := it.Next(); typ != storage.ValNone; typ = it.Next() {
		if typ == storage.ValFloat {
			t, f := it.At()
			samples = append(samples, runSample{t: t, f: f})
		} else {
			t, fh := it.AtFloatHistogram(nil)
			samples = append(samples, runSample{t: t, fh: fh})
		}
	}
	ri := &runIterator{i: -1}
	cut := 0
	for i, x := range samples {
		if x.fh != nil || i == cut {
			ri.runs = append(ri.runs, len(ri.ts))
			cut = i + 1 + int(uint64(x.t)*2654435761%7)
		}
		ri.ts = append(ri.ts, x.t)
		ri.vs = append(ri.vs, x.f)
		ri.fhs = append(ri.fhs, x.fh)
	}
	ri.runs = append(ri.runs, len(ri.ts))
	return ri
}

// runIterator walks the samples; runs holds the start of every run and
// then len(ts). Histograms are runs of their own.
type runIterator struct {
	ts   []int64
	vs   []float64
	fhs  []*histogram.FloatHistogram
	runs []int
	i    int
}

func (it *runIterator) typ() storage.ValueType {
	switch {
	case it.i >= len(it.ts):
		return storage.ValNone
	case it.fhs[it.i] != nil:
		return storage.ValFloatHistogram
	}
	return storage.ValFloat
}

func (it *runIterator) Next() storage.ValueType {
	if it.i < len(it.ts) {
		it.i++
	}
	return it.typ()
}

func (it *runIterator) Seek(t int64) storage.ValueType {
	if it.i < 0 {
		it.i = 0
	}
	for it.i < len(it.ts) && it.ts[it.i] < t {
		it.i++
	}
	return it.typ()
}

func (it *runIterator) At() (int64, float64) { return it.ts[it.i], it.vs[it.i] }
func (it *runIterator) AtT() int64           { return it.ts[it.i] }
func (it *runIterator) Err() error           { return nil }

func (it *runIterator) AtHistogram(*histogram.Histogram) (int64, *histogram.Histogram) {
	panic("runIterator holds float histograms only")
}

func (it *runIterator) AtFloatHistogram(*histogram.FloatHistogram) (int64, *histogram.FloatHistogram) {
	return it.ts[it.i], it.fhs[it.i].Copy()
}

func (it *runIterator) runEnd() int {
	for _, e := range it.runs {
		if e > it.i {
			return e
		}
	}
	return len(it.ts)
}

func (it *runIterator) FloatRun() ([]int64, []float64) {
	if it.typ() != storage.ValFloat {
		return nil, nil
	}
	e := it.runEnd()
	return it.ts[it.i:e], it.vs[it.i:e]
}

func (it *runIterator) SkipFloats(n int) {
	if it.i+n >= it.runEnd() {
		panic("SkipFloats past the run")
	}
	it.i += n
}

// TestFloatRunIteratorsAgree evaluates generated queries, as range and
// instant queries, over a storage whose iterators hand out float runs and
// over the same data without them: the results must be the same.
func TestFloatRunIteratorsAgree(t *testing.T) {
	plainSt := fuzzData()
	runSt := runStorage{plainSt}
	ng := newEngine(promql.EngineOpts{MaxSamples: 50000, Timeout: 10 * time.Second})
	ctx := context.Background()
	run := func(st storage.Queryable, query string, instant bool, ts time.Time) (string, bool) {
		var q promql.Query
		var err error
		if instant {
			q, err = ng.NewInstantQuery(ctx, st, nil, query, ts)
		} else {
			q, err = ng.NewRangeQuery(ctx, st, nil, query, time.Unix(0, 0), time.Unix(1200, 0), 13*time.Second)
		}
		if err != nil {
			return "", false
		}
		defer q.Close()
		res := q.Exec(ctx)
		if res.Err != nil {
			return res.Err.Error(), true
		}
		return res.Value.String(), true
	}
	rnd := rand.New(rand.NewPCG(5, 6))
	n := 0
	for k := range 1500 {
		data := make([]byte, 64)
		for i := range data {
			data[i] = byte(rnd.UintN(256))
		}
		g := &queryGen{data: data[1:]}
		query := g.vector(int(data[0]%4) + 1)
		instant := k%3 == 0
		ts := time.Unix(int64(rnd.UintN(1300)), 0)
		want, ok := run(plainSt, query, instant, ts)
		if !ok {
			continue
		}
		n++
		if got, _ := run(runSt, query, instant, ts); got != want {
			t.Fatalf("query %q (instant %v) over float runs:\n%s\nwant:\n%s", query, instant, got, want)
		}
	}
	if n < 1000 {
		t.Fatalf("only %d of the generated queries ran", n)
	}
}
