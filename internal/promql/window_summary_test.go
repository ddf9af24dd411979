package promql

import (
	"math"
	"math/rand/v2"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
)

// collectSummaries returns the summaries of s by label value.
func collectSummaries(t *testing.T, s *windowSummary) map[string]*dto.Summary {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(s)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*dto.Summary{}
	for _, mf := range mfs {
		if mf.GetType() != dto.MetricType_SUMMARY {
			t.Fatalf("%s is a %v, want a summary", mf.GetName(), mf.GetType())
		}
		for _, m := range mf.GetMetric() {
			out[m.GetLabel()[0].GetValue()] = m.GetSummary()
		}
	}
	return out
}

func quantileOf(s *dto.Summary, q float64) float64 {
	for _, x := range s.GetQuantile() {
		if x.GetQuantile() == q {
			return x.GetValue()
		}
	}
	return math.Inf(-1)
}

// TestWindowSummaryExact checks that up to windowSampleSize observations
// per bucket the quantiles are the observations of rank ceil(q*n), and
// that count and sum are exact.
func TestWindowSummaryExact(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	s := newWindowSummary("d", "h", "slice", []string{"a", "b"}, []float64{0.5, 0.9, 0.99}, 10*time.Minute)
	s.now = func() time.Time { return now }
	rng := rand.New(rand.NewPCG(1, 2))
	var vals []float64
	sum := 0.0
	for range 1000 {
		v := rng.ExpFloat64()
		vals = append(vals, v)
		sum += v
		s.observe(0, now, v)
	}
	slices.Sort(vals)
	got := collectSummaries(t, s)
	a := got["a"]
	if a.GetSampleCount() != 1000 || math.Abs(a.GetSampleSum()-sum) > 1e-9 {
		t.Fatalf("count %d sum %v, want 1000 and %v", a.GetSampleCount(), a.GetSampleSum(), sum)
	}
	for _, q := range []float64{0.5, 0.9, 0.99} {
		want := vals[int(math.Ceil(q*1000))-1]
		if g := quantileOf(a, q); g != want {
			t.Errorf("quantile %v = %v, want %v", q, g, want)
		}
	}
	b := got["b"]
	if b.GetSampleCount() != 0 || !math.IsNaN(quantileOf(b, 0.5)) {
		t.Errorf("empty child: count %d, median %v; want 0 and NaN", b.GetSampleCount(), quantileOf(b, 0.5))
	}
}

// TestWindowSummaryWindow checks that observations leave the quantiles
// once older than the window, and never leave count and sum.
func TestWindowSummaryWindow(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	s := newWindowSummary("d", "h", "slice", []string{"a"}, []float64{0.5}, 10*time.Minute)
	s.now = func() time.Time { return now }
	s.observe(0, now, 100)
	now = now.Add(5 * time.Minute)
	s.observe(0, now, 1)
	s.observe(0, now, 1)
	if q := quantileOf(collectSummaries(t, s)["a"], 0.5); q != 1 {
		t.Fatalf("median of 100, 1, 1 = %v, want 1", q)
	}
	now = now.Add(6 * time.Minute) // the 100 is 11 minutes old
	s.observe(0, now, 3)
	got := collectSummaries(t, s)["a"]
	if q := quantileOf(got, 0.5); q != 1 {
		t.Fatalf("median of 1, 1, 3 = %v, want 1 (the 100 has left the window)", q)
	}
	now = now.Add(20 * time.Minute)
	got = collectSummaries(t, s)["a"]
	if q := quantileOf(got, 0.5); !math.IsNaN(q) || got.GetSampleCount() != 4 || got.GetSampleSum() != 105 {
		t.Fatalf("after the window: median %v count %d sum %v, want NaN, 4, 105", q, got.GetSampleCount(), got.GetSampleSum())
	}
}

// TestWindowSummarySampled checks the estimate once the buckets hold a
// sample: 200,000 observations over two buckets, growing over time so
// that a sample of the first ones only would be far off.
func TestWindowSummarySampled(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	s := newWindowSummary("d", "h", "slice", []string{"a"}, []float64{0.5, 0.9, 0.99}, 10*time.Minute)
	s.now = func() time.Time { return now.Add(3 * time.Minute) }
	for i := range 200_000 {
		at := now
		if i%2 == 1 {
			at = now.Add(3 * time.Minute)
		}
		s.observe(0, at, float64(i)/200_000)
	}
	got := collectSummaries(t, s)["a"]
	for _, q := range []float64{0.5, 0.9, 0.99} {
		if g := quantileOf(got, q); math.Abs(g-q) > 0.02 {
			t.Errorf("quantile %v of uniform [0, 1) = %v", q, g)
		}
	}
}

// TestWindowSummaryExposition checks the text a scrape sees.
func TestWindowSummaryExposition(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	s := newWindowSummary("prometheus_engine_query_duration_seconds", "Query timings", "slice", []string{"inner_eval"}, []float64{0.5, 0.9, 0.99}, 10*time.Minute)
	s.now = func() time.Time { return now }
	s.observe(0, now, 0.25)
	want := `# HELP prometheus_engine_query_duration_seconds Query timings
# TYPE prometheus_engine_query_duration_seconds summary
prometheus_engine_query_duration_seconds{slice="inner_eval",quantile="0.5"} 0.25
prometheus_engine_query_duration_seconds{slice="inner_eval",quantile="0.9"} 0.25
prometheus_engine_query_duration_seconds{slice="inner_eval",quantile="0.99"} 0.25
prometheus_engine_query_duration_seconds_sum{slice="inner_eval"} 0.25
prometheus_engine_query_duration_seconds_count{slice="inner_eval"} 1
`
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(s)
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/metrics", nil)
	req.Header.Set("Accept", "text/plain; version=0.0.4")
	promhttp.HandlerFor(reg, promhttp.HandlerOpts{}).ServeHTTP(rec, req)
	if got := rec.Body.String(); got != want {
		t.Fatalf("exposition:\n%s\nwant:\n%s", got, want)
	}
}

// TestWindowSummaryConcurrent observes from several goroutines while
// collecting (for -race) and checks the count.
func TestWindowSummaryConcurrent(t *testing.T) {
	s := newWindowSummary("d", "h", "slice", []string{"a", "b"}, []float64{0.5}, 10*time.Minute)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 5000 {
				s.observe(g%2, time.Now(), float64(i))
			}
		})
	}
	for range 5 {
		collectSummaries(t, s)
	}
	wg.Wait()
	got := collectSummaries(t, s)
	if n := got["a"].GetSampleCount() + got["b"].GetSampleCount(); n != 20000 {
		t.Fatalf("count %d, want 20000", n)
	}
}
