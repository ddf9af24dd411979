package scrape

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/vigil-monitoring/vigil/internal/config"
	"github.com/vigil-monitoring/vigil/internal/discovery"
	"github.com/vigil-monitoring/vigil/internal/model/exemplar"
	"github.com/vigil-monitoring/vigil/internal/model/histogram"
	"github.com/vigil-monitoring/vigil/internal/model/labels"
	"github.com/vigil-monitoring/vigil/internal/model/metadata"
	"github.com/vigil-monitoring/vigil/internal/model/value"
	"github.com/vigil-monitoring/vigil/internal/storage"
	"github.com/vigil-monitoring/vigil/internal/storage/storagetest"
)

// testStorage is the reference in-memory storage with a signal after
// every commit, so tests wait for events instead of sleeping.
type testStorage struct {
	*storagetest.MemStorage
	mu      sync.Mutex
	commits int
	changed chan struct{} // closed and replaced on every commit
}

func newTestStorage() *testStorage {
	return &testStorage{MemStorage: storagetest.NewMemStorage(), changed: make(chan struct{})}
}

func (s *testStorage) Appender(ctx context.Context) storage.Appender {
	return &notifyingAppender{Appender: s.MemStorage.Appender(ctx), s: s}
}

type notifyingAppender struct {
	storage.Appender
	s *testStorage
}

func (a *notifyingAppender) Commit() error {
	err := a.Appender.Commit()
	a.s.mu.Lock()
	a.s.commits++
	close(a.s.changed)
	a.s.changed = make(chan struct{})
	a.s.mu.Unlock()
	return err
}

// waitFor blocks until cond holds, re-checking after every commit. It
// fails the test after limit.
func (s *testStorage) waitFor(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.NewTimer(limit)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		ch := s.changed
		s.mu.Unlock()
		if cond() {
			return
		}
		select {
		case <-ch:
		case <-deadline.C:
			t.Fatalf("timed out after %v waiting for %s", limit, what)
		}
	}
}

// series returns every stored series by its String form.
func (s *testStorage) series(t *testing.T) map[string][]storage.Sample {
	t.Helper()
	q, err := s.Querier(math.MinInt64, math.MaxInt64)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	set := q.Select(context.Background(), true, nil, labels.MustNewMatcher(labels.MatchRegexp, labels.MetricName, ".+"))
	res := map[string][]storage.Sample{}
	var it storage.Iterator
	for set.Next() {
		sr := set.At()
		it = sr.Iterator(it)
		smps, err := storage.ExpandSamples(it)
		if err != nil {
			t.Fatal(err)
		}
		res[sr.Labels().String()] = smps
	}
	if err := set.Err(); err != nil {
		t.Fatal(err)
	}
	return res
}

// samplesOf returns the samples of the series with exactly these labels.
func (s *testStorage) samplesOf(t *testing.T, lset labels.Labels) []storage.Sample {
	t.Helper()
	return s.series(t)[lset.String()]
}

// seriesNames lists the stored series, sorted, for failure messages.
func seriesNames(m map[string][]storage.Sample) []string {
	var names []string
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

func isStale(s storage.Sample) bool { return value.IsStaleNaN(s.F) }

// loadConfig parses a configuration the way the server does.
func loadConfig(t testing.TB, yaml string) *config.Config {
	t.Helper()
	cfg, err := config.Load(yaml, "", nil)
	if err != nil {
		t.Fatalf("config: %v\n%s", err, yaml)
	}
	return cfg
}

// jobConfig returns the validated configuration of one job.
func jobConfig(t testing.TB, job string) *config.ScrapeConfig {
	t.Helper()
	cfg := loadConfig(t, "scrape_configs:\n"+indent(job, "  "))
	scs, err := cfg.GetScrapeConfigs()
	if err != nil || len(scs) != 1 {
		t.Fatalf("job config: %v (%d jobs)", err, len(scs))
	}
	return scs[0]
}

func indent(s, prefix string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		if i == 0 {
			lines[i] = "- " + l
		} else {
			lines[i] = prefix + l
		}
	}
	return strings.Join(lines, "\n") + "\n"
}

// group returns a target group of the given addresses.
func group(source string, addrs ...string) *discovery.TargetGroup {
	tg := &discovery.TargetGroup{Source: source}
	for _, a := range addrs {
		tg.Targets = append(tg.Targets, labels.FromStrings(discovery.AddressLabel, a))
	}
	return tg
}

// newTestManager returns a manager that is stopped when the test ends.
func newTestManager(t testing.TB, app storage.Appendable, opts Options) *Manager {
	t.Helper()
	if opts.Version == "" {
		opts.Version = "test"
	}
	m, err := NewManager(app, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Stop)
	return m
}

// testLoop builds a loop for one static target of the job, not started,
// so tests can drive append directly.
func testLoop(t testing.TB, app storage.Appendable, job string, targetLabels ...string) *scrapeLoop {
	t.Helper()
	m := newTestManager(t, app, Options{})
	cfg := jobConfig(t, job)
	sp, err := newScrapePool(m, cfg)
	if err != nil {
		t.Fatal(err)
	}
	tl := labels.FromStrings(append([]string{discovery.AddressLabel, "127.0.0.1:9"}, targetLabels...)...)
	targets, errs := targetsFromGroup(&discovery.TargetGroup{Targets: []labels.Labels{tl}, Source: "test"}, cfg, labels.NewBuilder(labels.EmptyLabels()), nil)
	if len(errs) > 0 || len(targets) != 1 {
		t.Fatalf("target: %v", errs)
	}
	sl, err := newScrapeLoop(sp, targets[0], sp.optionsFor(targets[0]), nil)
	if err != nil {
		t.Fatal(err)
	}
	return sl
}

// appendBody runs one append of a text-format body at time ts (ms) and
// commits, or rolls back and appends an empty scrape as the loop does.
func appendBody(t testing.TB, sl *scrapeLoop, body string, ts int64) (appendResult, error) {
	t.Helper()
	return appendBodyType(t, sl, body, "text/plain; version=0.0.4", ts)
}

func appendBodyType(t testing.TB, sl *scrapeLoop, body, contentType string, ts int64) (appendResult, error) {
	t.Helper()
	app := sl.app.Appender(context.Background())
	res, err := sl.append(app, []byte(body), contentType, value.Time(ts))
	if err != nil {
		if rerr := app.Rollback(); rerr != nil {
			t.Fatal(rerr)
		}
		app = sl.appendEmpty(sl.app.Appender(context.Background()), value.Time(ts))
	}
	if cerr := app.Commit(); cerr != nil {
		t.Fatalf("commit: %v", cerr)
	}
	return res, err
}

// metricsHandler serves body as the text format and counts requests.
type metricsHandler struct {
	mu       sync.Mutex
	body     string
	ctype    string
	requests int
	headers  http.Header
}

func (h *metricsHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	h.requests++
	h.headers = r.Header.Clone()
	body, ctype := h.body, h.ctype
	h.mu.Unlock()
	if ctype == "" {
		ctype = "text/plain; version=0.0.4"
	}
	w.Header().Set("Content-Type", ctype)
	fmt.Fprint(w, body)
}

func (h *metricsHandler) set(body string) {
	h.mu.Lock()
	h.body = body
	h.mu.Unlock()
}

func (h *metricsHandler) lastHeaders() http.Header {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.headers
}

func serve(t testing.TB, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// hostOf strips the scheme from a test server's URL.
func hostOf(srv *httptest.Server) string { return strings.TrimPrefix(srv.URL, "http://") }

func timeOf(ms int64) time.Time { return value.Time(ms) }

// nopAppendable accepts everything and stores nothing: what the
// allocation test and the benchmark measure is the scrape side alone.
type nopAppendable struct{}

func (nopAppendable) Appender(context.Context) storage.Appender { return nopAppender{} }

// nopAppender hands out a fixed non-zero ref, as storage would for a
// series it knows.
type nopAppender struct{}

func (nopAppender) Append(ref storage.SeriesRef, _ labels.Labels, _ int64, _ float64) (storage.SeriesRef, error) {
	return max(ref, 1), nil
}

func (nopAppender) AppendHistogram(ref storage.SeriesRef, _ labels.Labels, _ int64, _ *histogram.Histogram, _ *histogram.FloatHistogram) (storage.SeriesRef, error) {
	return max(ref, 1), nil
}

func (nopAppender) AppendExemplar(ref storage.SeriesRef, _ labels.Labels, _ exemplar.Exemplar) (storage.SeriesRef, error) {
	return max(ref, 1), nil
}

func (nopAppender) UpdateMetadata(ref storage.SeriesRef, _ labels.Labels, _ metadata.Metadata) (storage.SeriesRef, error) {
	return max(ref, 1), nil
}

func (nopAppender) AppendCTZeroSample(ref storage.SeriesRef, _ labels.Labels, _, _ int64) (storage.SeriesRef, error) {
	return max(ref, 1), nil
}

func (nopAppender) Commit() error   { return nil }
func (nopAppender) Rollback() error { return nil }

// counterValue reads a counter without the testutil package (whose
// dependencies the module does not carry).
func counterValue(c prometheus.Counter) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		panic(err)
	}
	return m.GetCounter().GetValue()
}
