package promql_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/vigil-monitoring/vigil/internal/promql"
)

// TestSeriesMajorMatchesStepByStep runs range queries with binary
// operations and aggregations once with the series-by-series evaluation
// and once step by step, and compares everything a caller sees: the
// result, the error, the annotations and the peak sample count. The
// sample limits are set so that some queries hit them on both ways.
func TestSeriesMajorMatchesStepByStep(t *testing.T) {
	st := fuzzData()
	ctx := context.Background()
	start, end := time.Unix(0, 0), time.Unix(1200, 0)
	run := func(ng *promql.Engine, query string, step time.Duration) (string, bool) {
		q, err := ng.NewRangeQuery(ctx, st, nil, query, start, end, step)
		if err != nil {
			return "", false
		}
		defer q.Close()
		res := q.Exec(ctx)
		warnings, infos := res.Warnings.AsStrings("", 0, 0)
		slices.Sort(warnings) // Annotations are a set.
		slices.Sort(infos)
		out := fmt.Sprintf("err=%v\nwarnings=%v\ninfos=%v\npeak=%d\n", res.Err, warnings, infos, q.Stats().Samples.PeakSamples)
		if res.Err == nil {
			out += res.Value.String()
		}
		return out, true
	}
	compare := func(t *testing.T, ng *promql.Engine, query string, step time.Duration) (ran, errored bool) {
		t.Helper()
		promql.SetSeriesMajor(false)
		want, ok := run(ng, query, step)
		promql.SetSeriesMajor(true)
		if !ok {
			return false, false
		}
		if got, _ := run(ng, query, step); got != want {
			t.Fatalf("query %q, step %v, series by series:\n%s\nstep by step:\n%s", query, step, got, want)
		}
		return true, want[:8] != "err=<nil"
	}
	defer promql.SetSeriesMajor(true)

	fixed := []string{
		"f - f_total", "f_total - f", "f * on(job) f_total", "f / ignoring(job) group_left f_total",
		"f > bool f_total", "f < f_total", "f == bool on() group_left f_total", "f_total + on() group_right f",
		"f and f_total", "f or f_total", "f unless f_total", "f_total and on() f", "f or on(job) f_total",
		"f unless on() f_total", "f and h", "h or f", "mixed unless f", "f - h", "f + f",
		"sum(f)", "avg by (job) (f)", "count without (job) (f_total)", "min(f)", "max by (job) (f_total)",
		"stddev(f)", "stdvar by (job) (f_total)", "group(f)", "sum(h)", "avg(mixed)", "sum({__name__=~\"f|f_total\"})",
		"sum(-f)", "sum(f) - sum(f_total)", "avg(f / f_total)", "-f or f_total",
		"f_total - on(job) group_right f", "f_total{job=\"a\"} / ignoring(job) group_right f", "f_total > on(job) group_right f",
		"max({__name__=~\"f|f_total\"})", "min by (job) ({__name__=~\"f|f_total\"})", "stddev({__name__=~\"f|f_total\"})",
		"sum({__name__=~\"f|f_total\"} / 3 + 1e15)", "avg({__name__=~\"f|f_total\"} / 7 - 1e16)", "sum by (job) (-{__name__=~\"f|f_total\"} / 3e-5)",
		"avg({__name__=~\"f|f_total\"} / 12 * 1.7e308)", "sum({__name__=~\"f|f_total\"} * 1e308)",
		"f unless f_total offset 10m", "f_total or f offset 7m", "f - f_total offset 8m", "count(f_total offset 9m or f)",
		"count_values(\"v\", f)", "count_values by (job) (\"v\", f_total)", "count_values without (job) (\"job\", f)",
		"count_values(\"v\", f / (f_total - 3))", "count_values(\"v\", ({__name__=~\"f|f_total\"} - 3) * 0)", "count_values(\"v\", h)",
		"count_values(\"v\", {__name__=~\"f|f_total\"} offset 6m)", "count_values without (v) (\"v\", f)",
	}
	steps := []time.Duration{20 * time.Second, 45 * time.Second, 7 * time.Second}
	unlimited := newEngine(promql.EngineOpts{Timeout: 10 * time.Second, RecycleResults: true})
	for _, q := range fixed {
		for _, step := range steps {
			compare(t, unlimited, q, step)
			// Limits just below the peak fail the query at various steps.
			promql.SetSeriesMajor(false)
			qry, err := unlimited.NewRangeQuery(ctx, st, nil, q, start, end, step)
			if err != nil {
				t.Fatal(err)
			}
			qry.Exec(ctx)
			peak := qry.Stats().Samples.PeakSamples
			qry.Close()
			promql.SetSeriesMajor(true)
			for _, limit := range []int{peak - 1, peak - 3, peak - 10, peak * 3 / 4, peak / 2} {
				ng := newEngine(promql.EngineOpts{MaxSamples: max(limit, 1), Timeout: 10 * time.Second, RecycleResults: true})
				compare(t, ng, q, step)
			}
		}
	}

	ng := newEngine(promql.EngineOpts{MaxSamples: 2000, Timeout: 10 * time.Second, RecycleResults: true})
	rnd := rand.New(rand.NewPCG(5, 6))
	ran, errored := 0, 0
	for range 1500 {
		data := make([]byte, 64)
		for i := range data {
			data[i] = byte(rnd.UintN(256))
		}
		g := &queryGen{data: data[1:]}
		query := g.vector(int(data[0]%4) + 1)
		r, e := compare(t, ng, query, 20*time.Second)
		if r {
			ran++
		}
		if e {
			errored++
		}
	}
	if ran < 1000 || errored == 0 || errored == ran {
		t.Fatalf("%d of the generated queries ran, %d failed: too few to compare", ran, errored)
	}
}

// TestLabelReplaceCopyAll checks that label_replace with the pattern
// "(.*)", which is not run as a regular expression, gives what an
// equivalent pattern that is run gives.
func TestLabelReplaceCopyAll(t *testing.T) {
	st := fuzzData()
	ng := newEngine(promql.EngineOpts{Timeout: 10 * time.Second})
	ctx := context.Background()
	run := func(q string) string {
		qry, err := ng.NewRangeQuery(ctx, st, nil, q, time.Unix(0, 0), time.Unix(600, 0), time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		defer qry.Close()
		res := qry.Exec(ctx)
		if res.Err != nil {
			t.Fatalf("%s: %v", q, res.Err)
		}
		return res.Value.String()
	}
	for _, args := range []string{`"dst", "x$1y", "job"`, `"job", "$1$1", "job"`, `"dst", "${1}", "__name__"`, `"dst", "a", "nonexistent"`} {
		got := run(fmt.Sprintf(`label_replace({__name__=~"f|h"}, %s, "(.*)")`, args))
		want := run(fmt.Sprintf(`label_replace({__name__=~"f|h"}, %s, "(.*?)")`, args))
		if got != want || got == "" {
			t.Fatalf("label_replace(..., %s, \"(.*)\"):\n%s\nwant:\n%s", args, got, want)
		}
	}
}
