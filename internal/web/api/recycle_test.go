package api

import (
	"fmt"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/vigil-monitoring/vigil/internal/promql"
)

// TestQueryRecycledResultsConcurrent runs many queries at once through an
// API whose engine recycles results on Query.Close (as the server runs
// it) and compares every response with one from an engine that does not
// recycle. A result handed back to the engine before it was encoded would
// show as another query's points in a response, or as a race.
func TestQueryRecycledResultsConcurrent(t *testing.T) {
	ref, _ := newTestAPI(t, nil)
	recycling := promql.NewEngine(promql.EngineOpts{
		MaxSamples:           50_000_000,
		Timeout:              time.Minute,
		MaxConcurrency:       8,
		EnableAtModifier:     true,
		EnableNegativeOffset: true,
		RecycleResults:       true,
	})
	t.Cleanup(func() { recycling.Close() })
	a, _ := newTestAPI(t, func(o *Options) { o.QueryEngine = recycling })

	exprs := []string{
		"up",
		"http_requests_total",
		"rate(http_requests_total[1m])",
		"sum by (job) (rate(http_requests_total[1m]))",
		"http_requests_total * 2 + on(job) group_left sum by (job) (up)",
		"request_duration_seconds",
		"histogram_quantile(0.9, rate(request_duration_seconds[1m]))",
		"special_values",
		"topk(1, http_requests_total)",
		"count_values(\"v\", http_requests_total)",
		"max_over_time(http_requests_total[1m:15s])",
		"absent(nope)",
		"scalar(sum(up))",
		"-http_requests_total",
	}
	var paths []string
	for _, e := range exprs {
		paths = append(paths,
			"/query?"+q("query", e, "time", tEvalS),
			"/query_range?"+q("query", e, "start", tStartS, "end", tEndS, "step", "15"),
			"/query_range?"+q("query", e, "start", tStartS, "end", tEndS, "step", "7", "limit", "1"),
		)
	}
	want := make([]string, len(paths))
	for i, p := range paths {
		rec := serve(ref, httptest.NewRequest("GET", p, nil))
		if rec.Code != 200 {
			t.Fatalf("%s: reference answered %d: %s", p, rec.Code, rec.Body)
		}
		want[i] = rec.Body.String()
	}

	const workers, rounds = 8, 30
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Go(func() {
			for r := range rounds {
				for k := range paths {
					i := (k*7 + w*3 + r) % len(paths)
					rec := serve(a, httptest.NewRequest("GET", paths[i], nil))
					if got := rec.Body.String(); got != want[i] {
						errs <- fmt.Errorf("%s (worker %d, round %d):\ngot  %s\nwant %s", paths[i], w, r, got, want[i])
						return
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
