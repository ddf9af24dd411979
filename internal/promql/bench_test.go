package promql_test

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/vigil-monitoring/vigil/internal/model/labels"
	"github.com/vigil-monitoring/vigil/internal/promql"
	"github.com/vigil-monitoring/vigil/internal/storage/storagetest"
)

// The benchmark dataset scrapes every benchInterval, and range queries step
// at the same interval, so a query of S steps touches S samples per series
// (plus the lookback/range window).
const (
	benchInterval = time.Minute
	benchMaxSteps = 1000
)

var benchHistogramBounds = []string{"0.1", "1", "10", "100", "+Inf"}

// benchStorages caches one dataset per series count: building the 1000
// series one takes a few seconds and is shared by all queries.
var benchStorages sync.Map // int -> *storagetest.MemStorage

// benchStorage returns a storage holding, for n:
//   - a_total{l, job}: n counters with series-specific slopes;
//   - b_total{l, job}: n more counters, the other side of joins;
//   - b_info{l, version}: n info-style series (value 1) for group_left;
//   - h_bucket{g, le}: about n classic histogram bucket counters in groups
//     of five buckets.
//
// Samples cover benchMaxSteps+10 intervals so that the longest range query
// has a full lookback window at its first step.
func benchStorage(b *testing.B, n int) *storagetest.MemStorage {
	if st, ok := benchStorages.Load(n); ok {
		return st.(*storagetest.MemStorage)
	}
	st := storagetest.NewMemStorage()
	app := st.Appender(context.Background())
	points := benchMaxSteps + 10
	add := func(ls labels.Labels, val func(i int) float64) {
		for i := range points {
			ts := int64(i) * benchInterval.Milliseconds()
			if _, err := app.Append(0, ls, ts, val(i)); err != nil {
				b.Fatal(err)
			}
		}
	}
	for s := range n {
		l := strconv.Itoa(s)
		job := []string{"api", "db", "web"}[s%3]
		slope := float64(s%7 + 1)
		add(labels.FromStrings(labels.MetricName, "a_total", "l", l, "job", job), func(i int) float64 { return slope * float64(i) })
		add(labels.FromStrings(labels.MetricName, "b_total", "l", l, "job", job), func(i int) float64 { return 2 * slope * float64(i) })
		add(labels.FromStrings(labels.MetricName, "b_info", "l", l, "version", "v"+strconv.Itoa(s%4)), func(int) float64 { return 1 })
	}
	groups := max(1, n/len(benchHistogramBounds))
	for g := range groups {
		for k, le := range benchHistogramBounds {
			ls := labels.FromStrings(labels.MetricName, "h_bucket", "g", strconv.Itoa(g), "le", le)
			// Cumulative buckets: bucket k holds (k+1)/len of the events.
			add(ls, func(i int) float64 { return float64((k+1)*(g%5+1)) * float64(i) })
		}
	}
	if err := app.Commit(); err != nil {
		b.Fatal(err)
	}
	actual, _ := benchStorages.LoadOrStore(n, st)
	return actual.(*storagetest.MemStorage)
}

// BenchmarkRangeQuery runs each query as an instant query (steps=1) and as
// range queries of 100 and 1000 steps over 1 to 1000 series per metric.
func BenchmarkRangeQuery(b *testing.B) {
	queries := []struct{ name, expr string }{
		{"rate", `rate(a_total[5m])`},
		{"sum_by", `sum by (job) (rate(a_total[5m]))`},
		{"histogram_quantile", `histogram_quantile(0.9, sum by (le) (rate(h_bucket[5m])))`},
		{"topk", `topk(5, a_total)`},
		{"join_group_left", `a_total * on (l) group_left (version) b_info`},
		{"join_on", `a_total / on (l, job) b_total`},
		{"label_replace", `label_replace(a_total, "dst", "x-$1", "l", "(.*)")`},
		{"count_values", `count_values("value", a_total % 10)`},
		{"subquery", `max_over_time(rate(a_total[5m])[30m:1m])`},
		{"count_all", `count({__name__!=""})`},
	}
	ng := promql.NewEngine(promql.EngineOpts{
		MaxSamples:               50_000_000,
		Timeout:                  time.Minute,
		EnableAtModifier:         true,
		EnableNegativeOffset:     true,
		EnableDelayedNameRemoval: true,
	})
	ctx := context.Background()
	end := time.Unix(0, 0).Add(benchMaxSteps * benchInterval)
	for _, q := range queries {
		for _, steps := range []int{1, 100, 1000} {
			for _, n := range []int{1, 10, 100, 1000} {
				name := fmt.Sprintf("%s/steps=%d/series=%d", q.name, steps, n)
				b.Run(name, func(b *testing.B) {
					st := benchStorage(b, n)
					b.ReportAllocs()
					for b.Loop() {
						var qry promql.Query
						var err error
						if steps == 1 {
							qry, err = ng.NewInstantQuery(ctx, st, nil, q.expr, end)
						} else {
							start := end.Add(-time.Duration(steps-1) * benchInterval)
							qry, err = ng.NewRangeQuery(ctx, st, nil, q.expr, start, end, benchInterval)
						}
						if err != nil {
							b.Fatal(err)
						}
						res := qry.Exec(ctx)
						if res.Err != nil {
							b.Fatal(res.Err)
						}
						qry.Close()
					}
				})
			}
		}
	}
}
