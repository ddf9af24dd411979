package promql_test

import (
	"context"
	"errors"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-monitoring/vigil/internal/model/labels"
	"github.com/vigil-monitoring/vigil/internal/promql"
	"github.com/vigil-monitoring/vigil/internal/promql/parser"
	"github.com/vigil-monitoring/vigil/internal/storage"
	"github.com/vigil-monitoring/vigil/internal/storage/storagetest"
)

// loadSeries fills a storage with n series named metric, each with a sample
// of value i*step/1000 every step from 0 to end.
func loadSeries(t testing.TB, n int, step, end time.Duration) *storagetest.MemStorage {
	t.Helper()
	st := storagetest.NewMemStorage()
	app := st.Appender(context.Background())
	for i := range n {
		ls := labels.FromStrings(labels.MetricName, "metric_total", "instance", string(rune('a'+i%26))+strings.Repeat("x", i/26), "job", []string{"api", "db"}[i%2])
		for ts := time.Duration(0); ts <= end; ts += step {
			if _, err := app.Append(0, ls, ts.Milliseconds(), float64(ts.Milliseconds())/1000); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := app.Commit(); err != nil {
		t.Fatal(err)
	}
	return st
}

func newEngine(opts promql.EngineOpts) *promql.Engine {
	opts.EnableAtModifier = true
	opts.EnableNegativeOffset = true
	opts.EnableDelayedNameRemoval = true
	return promql.NewEngine(opts)
}

func TestInstantQueryResultTypes(t *testing.T) {
	st := loadSeries(t, 3, 15*time.Second, 10*time.Minute)
	ng := newEngine(promql.EngineOpts{})
	ctx := context.Background()
	at := time.Unix(300, 0)

	tests := []struct {
		query string
		check func(t *testing.T, v promql.Value)
	}{
		{"metric_total", func(t *testing.T, v promql.Value) {
			vec := v.(promql.Vector)
			if len(vec) != 3 {
				t.Fatalf("got %d samples, want 3", len(vec))
			}
			for _, s := range vec {
				if s.F != 300 || s.T != 300000 || s.Metric.Get(labels.MetricName) != "metric_total" {
					t.Errorf("unexpected sample %v", s)
				}
			}
		}},
		{"1 + 2", func(t *testing.T, v promql.Value) {
			if s := v.(promql.Scalar); s.V != 3 || s.T != 300000 {
				t.Errorf("got %v, want 3 at 300000", s)
			}
		}},
		{`"hello"`, func(t *testing.T, v promql.Value) {
			if s := v.(promql.String); s.V != "hello" {
				t.Errorf("got %q", s.V)
			}
		}},
		{"metric_total[1m]", func(t *testing.T, v promql.Value) {
			m := v.(promql.Matrix)
			if len(m) != 3 || len(m[0].Floats) != 4 {
				t.Fatalf("got %v", m)
			}
			for i := 1; i < len(m); i++ {
				if labels.Compare(m[i-1].Metric, m[i].Metric) >= 0 {
					t.Errorf("matrix not sorted")
				}
			}
		}},
		{"sum by (job) (rate(metric_total[1m]))", func(t *testing.T, v promql.Value) {
			vec := v.(promql.Vector)
			if len(vec) != 2 {
				t.Fatalf("got %v", vec)
			}
			for _, s := range vec {
				want := 1.0 // Two series of rate 1 and one; jobs split 2/1.
				if s.Metric.Get("job") == "api" {
					want = 2
				}
				if math.Abs(s.F-want) > 1e-9 || s.Metric.Has(labels.MetricName) {
					t.Errorf("unexpected %v", s)
				}
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.query, func(t *testing.T) {
			q, err := ng.NewInstantQuery(ctx, st, nil, tc.query, at)
			if err != nil {
				t.Fatal(err)
			}
			res := q.Exec(ctx)
			if res.Err != nil {
				t.Fatal(res.Err)
			}
			tc.check(t, res.Value)
		})
	}
}

func TestRangeQuery(t *testing.T) {
	st := loadSeries(t, 2, 15*time.Second, 10*time.Minute)
	ng := newEngine(promql.EngineOpts{})
	ctx := context.Background()
	q, err := ng.NewRangeQuery(ctx, st, nil, "metric_total * 2", time.Unix(60, 0), time.Unix(120, 0), 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	res := q.Exec(ctx)
	m, err := res.Matrix()
	if err != nil {
		t.Fatal(err)
	}
	if len(m) != 2 {
		t.Fatalf("got %d series", len(m))
	}
	for _, s := range m {
		if len(s.Floats) != 3 || s.Floats[0] != (promql.FPoint{T: 60000, F: 120}) || s.Floats[2] != (promql.FPoint{T: 120000, F: 240}) {
			t.Errorf("unexpected points %v", s.Floats)
		}
		if s.Metric.Has(labels.MetricName) {
			t.Errorf("name not dropped: %v", s.Metric)
		}
	}
	if _, err := ng.NewRangeQuery(ctx, st, nil, "metric_total[1m]", time.Unix(0, 0), time.Unix(60, 0), time.Second); err == nil ||
		err.Error() != `invalid expression type "range vector" for range query, must be Scalar or instant Vector` {
		t.Errorf("unexpected error %v", err)
	}
	if _, err := ng.NewRangeQuery(ctx, st, nil, "metric_total", time.Unix(0, 0), time.Unix(60, 0), 0); err == nil {
		t.Error("zero step accepted")
	}
}

func TestMaxSamples(t *testing.T) {
	st := loadSeries(t, 10, 15*time.Second, 10*time.Minute)
	ctx := context.Background()
	for _, tc := range []struct {
		query   string
		max     int
		wantErr bool
	}{
		{"metric_total", 10, false},
		{"metric_total", 9, true},
		{"metric_total[1m]", 40, false},
		{"metric_total[1m]", 39, true},
		// A range function holds one series' window (21 samples) at a
		// time, plus its results.
		{"sum(rate(metric_total[5m]))", 60, false},
		{"sum(rate(metric_total[5m]))", 20, true},
	} {
		ng := newEngine(promql.EngineOpts{MaxSamples: tc.max})
		q, err := ng.NewInstantQuery(ctx, st, nil, tc.query, time.Unix(600, 0))
		if err != nil {
			t.Fatal(err)
		}
		res := q.Exec(ctx)
		var tooMany promql.ErrTooManySamples
		if got := errors.As(res.Err, &tooMany); got != tc.wantErr {
			t.Errorf("%s with max %d: error %v, want too many samples: %v", tc.query, tc.max, res.Err, tc.wantErr)
		}
		if tc.wantErr && res.Err != nil && res.Err.Error() != "query processing would load too many samples into memory in query execution" {
			t.Errorf("unexpected text %q", res.Err)
		}
	}
}

// slowQueryable delays every Select so that timeouts and cancellation
// hit the query in flight.
type slowQueryable struct {
	storage.Queryable
	delay time.Duration
}

func (q slowQueryable) Querier(mint, maxt int64) (storage.Querier, error) {
	in, err := q.Queryable.Querier(mint, maxt)
	return slowQuerier{in, q.delay}, err
}

type slowQuerier struct {
	storage.Querier
	delay time.Duration
}

func (q slowQuerier) Select(ctx context.Context, sort bool, hints *storage.SelectHints, ms ...*labels.Matcher) storage.SeriesSet {
	select {
	case <-time.After(q.delay):
	case <-ctx.Done():
	}
	return q.Querier.Select(ctx, sort, hints, ms...)
}

func TestTimeoutAndCancel(t *testing.T) {
	st := loadSeries(t, 2, 15*time.Second, 10*time.Minute)
	ctx := context.Background()

	ng := newEngine(promql.EngineOpts{Timeout: 20 * time.Millisecond})
	q, err := ng.NewRangeQuery(ctx, slowQueryable{st, 100 * time.Millisecond}, nil, "rate(metric_total[1m])", time.Unix(0, 0), time.Unix(600, 0), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var timeout promql.ErrQueryTimeout
	if res := q.Exec(ctx); !errors.As(res.Err, &timeout) {
		t.Errorf("got %v, want a timeout", res.Err)
	}

	ng = newEngine(promql.EngineOpts{})
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	q, err = ng.NewInstantQuery(ctx, st, nil, "metric_total", time.Unix(60, 0))
	if err != nil {
		t.Fatal(err)
	}
	var canceled promql.ErrQueryCanceled
	if res := q.Exec(cctx); !errors.As(res.Err, &canceled) {
		t.Errorf("got %v, want canceled", res.Err)
	}
}

func TestConcurrencyLimit(t *testing.T) {
	st := loadSeries(t, 1, 15*time.Second, time.Minute)
	ng := newEngine(promql.EngineOpts{MaxConcurrency: 1})
	ctx := context.Background()
	var running, peak int
	var mu sync.Mutex
	slow := storage.QueryableFunc(func(mint, maxt int64) (storage.Querier, error) {
		mu.Lock()
		running++
		peak = max(peak, running)
		mu.Unlock()
		time.Sleep(10 * time.Millisecond)
		mu.Lock()
		running--
		mu.Unlock()
		return st.Querier(mint, maxt)
	})
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			q, err := ng.NewInstantQuery(ctx, slow, nil, "metric_total", time.Unix(60, 0))
			if err != nil {
				t.Error(err)
				return
			}
			if res := q.Exec(ctx); res.Err != nil {
				t.Error(res.Err)
			}
		})
	}
	wg.Wait()
	if peak != 1 {
		t.Errorf("%d queries ran at once, want 1", peak)
	}
}

func TestStats(t *testing.T) {
	st := loadSeries(t, 3, 15*time.Second, 10*time.Minute)
	ng := newEngine(promql.EngineOpts{EnablePerStepStats: true})
	ctx := context.Background()
	q, err := ng.NewRangeQuery(ctx, st, &promql.QueryOpts{EnablePerStepStats: true}, "rate(metric_total[1m])", time.Unix(60, 0), time.Unix(120, 0), 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if res := q.Exec(ctx); res.Err != nil {
		t.Fatal(res.Err)
	}
	s := q.Stats()
	// Three series, three steps, four samples in each one-minute window.
	if s.Samples.TotalSamples != 36 {
		t.Errorf("total samples %d, want 36", s.Samples.TotalSamples)
	}
	if s.Samples.PeakSamples == 0 || s.Timers.ExecTotalTime == 0 || s.Timers.InnerEvalTime == 0 {
		t.Errorf("missing figures: %+v %+v", s.Samples, s.Timers)
	}
	b := s.Builtin(true)
	if len(b.Samples.TotalQueryableSamplesPerStep) != 3 || b.Samples.TotalQueryableSamplesPerStep[0].V != 12 {
		t.Errorf("per step: %+v", b.Samples.TotalQueryableSamplesPerStep)
	}
	if js, _ := b.Samples.TotalQueryableSamplesPerStep[0].MarshalJSON(); string(js) != "[60,12]" {
		t.Errorf("step stat JSON %s", js)
	}
}

func TestDisabledFeatures(t *testing.T) {
	ng := promql.NewEngine(promql.EngineOpts{Parser: parser.NewParser(parser.Options{})})
	st := storagetest.NewMemStorage()
	ctx := context.Background()
	for query, want := range map[string]error{
		"metric_total @ 10":       promql.ErrValidationAtModifierDisabled,
		"metric_total offset -1m": promql.ErrValidationNegativeOffsetDisabled,
	} {
		if _, err := ng.NewInstantQuery(ctx, st, nil, query, time.Unix(0, 0)); !errors.Is(err, want) {
			t.Errorf("%s: got %v, want %v", query, err, want)
		}
	}
	if _, err := ng.NewInstantQuery(ctx, st, nil, "sort_by_label(metric_total, \"a\")", time.Unix(0, 0)); err == nil {
		t.Error("experimental function accepted by a parser without experimental functions")
	}
}

func TestAnnotationPositions(t *testing.T) {
	st := loadSeries(t, 1, 15*time.Second, 10*time.Minute)
	ng := newEngine(promql.EngineOpts{})
	ctx := context.Background()
	st2 := storagetest.NewMemStorage()
	app := st2.Appender(ctx)
	for ts := int64(0); ts <= 600000; ts += 15000 {
		if _, err := app.Append(0, labels.FromStrings(labels.MetricName, "requests"), ts, float64(ts)); err != nil {
			t.Fatal(err)
		}
	}
	if err := app.Commit(); err != nil {
		t.Fatal(err)
	}
	_ = st
	query := "1 + rate(requests[5m])"
	q, err := ng.NewInstantQuery(ctx, st2, nil, query, time.Unix(600, 0))
	if err != nil {
		t.Fatal(err)
	}
	res := q.Exec(ctx)
	warnings, infos := res.Warnings.AsStrings(query, 0, 0)
	if len(warnings) != 0 || len(infos) != 1 ||
		infos[0] != `PromQL info: metric might not be a counter, name does not end in _total/_sum/_count/_bucket: "requests" (1:10)` {
		t.Errorf("warnings %q, infos %q", warnings, infos)
	}
}
