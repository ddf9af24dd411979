package promql_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/vigil-monitoring/vigil/internal/model/histogram"
	"github.com/vigil-monitoring/vigil/internal/model/labels"
	"github.com/vigil-monitoring/vigil/internal/model/value"
	"github.com/vigil-monitoring/vigil/internal/promql"
	"github.com/vigil-monitoring/vigil/internal/storage"
	"github.com/vigil-monitoring/vigil/internal/tsdb"
)

// iterOnlyQueryable hides storage.LatestFloatSeries from the engine, so
// that instant selectors read every series through its iterator.
type iterOnlyQueryable struct{ storage.Queryable }

func (q iterOnlyQueryable) Querier(mint, maxt int64) (storage.Querier, error) {
	qr, err := q.Queryable.Querier(mint, maxt)
	if err != nil {
		return nil, err
	}
	return iterOnlyQuerier{qr}, nil
}

type iterOnlyQuerier struct{ storage.Querier }

func (q iterOnlyQuerier) Select(ctx context.Context, sortSeries bool, hints *storage.SelectHints, ms ...*labels.Matcher) storage.SeriesSet {
	return iterOnlySet{q.Querier.Select(ctx, sortSeries, hints, ms...)}
}

type iterOnlySet struct{ storage.SeriesSet }

func (s iterOnlySet) At() storage.Series { return iterOnlySeries{s.SeriesSet.At()} }

type iterOnlySeries struct{ s storage.Series }

func (s iterOnlySeries) Labels() labels.Labels                         { return s.s.Labels() }
func (s iterOnlySeries) Iterator(it storage.Iterator) storage.Iterator { return s.s.Iterator(it) }

// TestInstantSelectorLatest checks instant queries over the TSDB head,
// whose series answer the newest sample without an iterator, against the
// same queries reading every series' samples: at times before, at, and
// after the newest samples, with offsets, staleness markers, deletions,
// out-of-order samples and histograms.
func TestInstantSelectorLatest(t *testing.T) {
	opts := tsdb.DefaultOptions()
	opts.OutOfOrderTimeWindow = time.Hour.Milliseconds()
	db, err := tsdb.Open(t.TempDir(), opts)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	app := db.Appender(context.Background())
	ls := func(s string) labels.Labels { return labels.FromStrings("__name__", "m", "s", s) }
	const n = 300
	for i := range n {
		ts := int64(i) * 15_000
		add := func(s string, v float64) {
			if _, err := app.Append(0, ls(s), ts, v); err != nil {
				t.Fatal(err)
			}
		}
		add("plain", float64(i))
		if i < n-1 {
			add("stale", float64(i))
		} else {
			add("stale", value.StaleNaN)
		}
		if i < n-30 {
			add("gone", float64(i)) // ends 7.5 minutes before the others
		}
		add("deleted", float64(i))
		add("ooo", float64(i))
		if i%2 == 0 {
			add("sparse", float64(i))
		}
		h := &histogram.Histogram{Count: uint64(i + 1), ZeroCount: uint64(i + 1), ZeroThreshold: 0.001, Sum: float64(i)}
		if _, err := app.AppendHistogram(0, ls("hist"), ts, h, nil); err != nil {
			t.Fatal(err)
		}
		if i < n-5 {
			add("mixed", float64(i))
		} else if _, err := app.AppendHistogram(0, ls("mixed"), ts, h, nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := app.Commit(); err != nil {
		t.Fatal(err)
	}
	app = db.Appender(context.Background())
	if _, err := app.Append(0, ls("ooo"), (n-3)*15_000+1, -1); err != nil {
		t.Fatal(err)
	}
	if err := app.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := db.Delete(context.Background(), (n-2)*15_000, n*15_000, labels.MustNewMatcher(labels.MatchEqual, "s", "deleted")); err != nil {
		t.Fatal(err)
	}
	ng := promql.NewEngine(promql.EngineOpts{MaxSamples: 1e6, Timeout: time.Minute, EnableAtModifier: true, EnableNegativeOffset: true})
	last := int64(n-1) * 15_000
	// The binary operations widen the range the querier reads, so that
	// series outside the selector's own window are selected.
	exprs := []string{"m", "-m", "m offset 1m", "m offset -1m", "timestamp(m)", "timestamp(m offset 1m)", "timestamp(m @ 100)", "timestamp(m offset -1m)", "m @ 100", "sum(m)", "m or m offset 30m", "m or m offset -1m", "m @ 100 or m"}
	times := []int64{last, last + 1, last - 1, last + 5*60_000 - 1, last + 5*60_000, last - 15_000, last + 10*60_000, 60_000, 0}
	for _, expr := range exprs {
		for _, at := range times {
			res := func(q storage.Queryable) string {
				qry, err := ng.NewInstantQuery(context.Background(), q, nil, expr, time.UnixMilli(at))
				if err != nil {
					t.Fatal(err)
				}
				defer qry.Close()
				r := qry.Exec(context.Background())
				if r.Err != nil {
					t.Fatal(r.Err)
				}
				return fmt.Sprint(r.Value)
			}
			got, want := res(db), res(iterOnlyQueryable{db})
			if got != want {
				t.Errorf("%s at %d:\ngot  %s\nwant %s", expr, at, got, want)
			}
		}
	}
}
