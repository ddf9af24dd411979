package api

import (
	"context"
	"errors"
	"math"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/vigil-monitoring/vigil/internal/model/histogram"
	"github.com/vigil-monitoring/vigil/internal/model/labels"
	"github.com/vigil-monitoring/vigil/internal/model/metadata"
	"github.com/vigil-monitoring/vigil/internal/promql"
	"github.com/vigil-monitoring/vigil/internal/scrape"
	"github.com/vigil-monitoring/vigil/internal/tsdb"
	"github.com/vigil-monitoring/vigil/internal/version"
)

// The fixture: a real database in a temporary directory with known data,
// the real PromQL engine over it, and fakes only for the components that
// need a running scrape or rule manager.

// t0 is the first sample time; queries look at tEval, ten minutes later.
const (
	t0    int64 = 1_700_000_000_000
	tEval int64 = t0 + 600_000
	step  int64 = 15_000
)

// fixedNow is the API's clock in tests, so defaults ("now") are stable.
var fixedNow = time.UnixMilli(tEval).UTC()

// loadFixture fills db with the test series.
func loadFixture(t testing.TB, db *tsdb.DB) {
	t.Helper()
	app := db.Appender(context.Background())
	add := func(lset labels.Labels, ts int64, v float64) {
		if _, err := app.Append(0, lset, ts, v); err != nil {
			t.Fatalf("append %s: %v", lset, err)
		}
	}
	for i := int64(0); i <= 40; i++ {
		ts := t0 + i*step
		add(labels.FromStrings("__name__", "up", "job", "prometheus", "instance", "localhost:9090"), ts, 1)
		add(labels.FromStrings("__name__", "up", "job", "node", "instance", "host:9100"), ts, 0)
		add(labels.FromStrings("__name__", "http_requests_total", "job", "api", "method", "GET", "code", "200"), ts, float64(10*i))
		add(labels.FromStrings("__name__", "http_requests_total", "job", "api", "method", "POST", "code", "500"), ts, float64(i))
		h := histogram.GenerateTestHistogram(int(i))
		if _, err := app.AppendHistogram(0, labels.FromStrings("__name__", "request_duration_seconds", "job", "api"), ts, h, nil); err != nil {
			t.Fatalf("append histogram: %v", err)
		}
	}
	for _, sv := range []struct {
		kind string
		v    float64
	}{
		{"nan", math.NaN()}, {"inf", math.Inf(1)}, {"neginf", math.Inf(-1)},
		{"tiny", 1.5e-7}, {"huge", 2e22}, {"plain", 0.1}, {"negative", -42.5},
	} {
		add(labels.FromStrings("__name__", "special_values", "kind", sv.kind), tEval, sv.v)
	}
	add(labels.FromStrings("__name__", "utf8.metric", "http.status_code", "200", "note", "<b>&\"quoted\"</b>\n"), tEval, 1)
	if err := app.Commit(); err != nil {
		t.Fatal(err)
	}
}

func openFixtureDB(t testing.TB) *tsdb.DB {
	t.Helper()
	db, err := tsdb.Open(t.TempDir(), tsdb.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	loadFixture(t, db)
	return db
}

func newEngine() *promql.Engine {
	return promql.NewEngine(promql.EngineOpts{
		MaxSamples:           50_000_000,
		Timeout:              time.Minute,
		MaxConcurrency:       4,
		EnableAtModifier:     true,
		EnableNegativeOffset: true,
		EnablePerStepStats:   true,
	})
}

// fakeTarget implements Target with fixed values.
type fakeTarget struct {
	lset, discovered labels.Labels
	internal         map[string]string
	url              *url.URL
	health           scrape.TargetHealth
	lastErr          error
	lastScrape       time.Time
	duration         time.Duration
	meta             []scrape.MetricMetadata
}

func (f *fakeTarget) Labels() labels.Labels             { return f.lset }
func (f *fakeTarget) DiscoveredLabels() labels.Labels   { return f.discovered }
func (f *fakeTarget) Get(name string) string            { return f.internal[name] }
func (f *fakeTarget) URL() *url.URL                     { return f.url }
func (f *fakeTarget) Health() scrape.TargetHealth       { return f.health }
func (f *fakeTarget) LastError() error                  { return f.lastErr }
func (f *fakeTarget) LastScrape() time.Time             { return f.lastScrape }
func (f *fakeTarget) LastScrapeDuration() time.Duration { return f.duration }
func (f *fakeTarget) ListMetadata() []scrape.MetricMetadata {
	return f.meta
}

func (f *fakeTarget) GetMetadata(metric string) (scrape.MetricMetadata, bool) {
	for _, m := range f.meta {
		if m.MetricFamily == metric {
			return m, true
		}
	}
	return scrape.MetricMetadata{}, false
}

type fakeTargets struct {
	active, dropped map[string][]Target
	counts          map[string]int
}

func (f fakeTargets) ActiveTargets() map[string][]Target  { return f.active }
func (f fakeTargets) DroppedTargets() map[string][]Target { return f.dropped }
func (f fakeTargets) DroppedTargetCounts() map[string]int { return f.counts }
func (f fakeTargets) ScrapePools() []string {
	var out []string
	for p := range f.active {
		out = append(out, p)
	}
	return out
}

func newFakeTargets() fakeTargets {
	upMeta := scrape.MetricMetadata{MetricFamily: "up", Type: metadata.TypeGauge, Help: "Whether the target is up."}
	self := &fakeTarget{
		lset:       labels.FromStrings("job", "prometheus", "instance", "localhost:9090"),
		discovered: labels.FromStrings("__address__", "localhost:9090", "__scheme__", "http", "__metrics_path__", "/metrics", "job", "prometheus"),
		internal:   map[string]string{"__scrape_interval__": "15s", "__scrape_timeout__": "10s"},
		url:        &url.URL{Scheme: "http", Host: "localhost:9090", Path: "/metrics"},
		health:     scrape.HealthGood,
		lastScrape: time.UnixMilli(tEval).UTC(),
		duration:   12500 * time.Microsecond,
		meta: []scrape.MetricMetadata{
			upMeta,
			{MetricFamily: "http_requests_total", Type: metadata.TypeCounter, Help: "Requests served.", Unit: ""},
		},
	}
	node := &fakeTarget{
		lset:       labels.FromStrings("job", "node", "instance", "host:9100"),
		discovered: labels.FromStrings("__address__", "host:9100", "job", "node"),
		internal:   map[string]string{"__scrape_interval__": "1m", "__scrape_timeout__": "10s"},
		url:        &url.URL{Scheme: "http", Host: "host:9100", Path: "/metrics"},
		health:     scrape.HealthBad,
		lastErr:    errors.New(`Get "http://host:9100/metrics": dial tcp: connection refused`),
		lastScrape: time.UnixMilli(tEval - 1500).UTC(),
		duration:   time.Millisecond,
		meta: []scrape.MetricMetadata{
			upMeta,
			{MetricFamily: "up", Type: metadata.TypeGauge, Help: "Another help text for up."},
			{MetricFamily: "node_cpu_seconds_total", Type: metadata.TypeCounter, Help: "CPU time.", Unit: "seconds"},
		},
	}
	dropped := &fakeTarget{discovered: labels.FromStrings("__address__", "dropped:1234", "job", "node")}
	return fakeTargets{
		active:  map[string][]Target{"prometheus": {self}, "node": {node}},
		dropped: map[string][]Target{"node": {dropped}},
		counts:  map[string]int{"node": 3, "prometheus": 0},
	}
}

var testBuildInfo = version.Info{Version: "1.2.3", Revision: "abc123", Branch: "main", BuildUser: "tester", BuildDate: "20240101-00:00:00", GoVersion: "go1.26"}

// newTestAPI returns the API over a fresh fixture database; mod adjusts
// the options.
func newTestAPI(t testing.TB, mod func(*Options)) (*API, *tsdb.DB) {
	t.Helper()
	db := openFixtureDB(t)
	engine := newEngine()
	t.Cleanup(func() { engine.Close() })
	opts := Options{
		Queryable:   db,
		QueryEngine: engine,
		Targets:     newFakeTargets(),
		TSDB:        DBStatus(db),
		DataDir:     db.Dir(),
		Config:      func() string { return "global:\n  scrape_interval: 15s\n" },
		Flags:       map[string]string{"web.listen-address": ":9090", "query.timeout": "2m"},
		Runtime: func() RuntimeStatus {
			return RuntimeStatus{ReloadConfigSuccess: true, LastConfigTime: fixedNow}
		},
		StartTime:        fixedNow.Add(-time.Hour),
		StorageRetention: "15d",
		BuildInfo:        testBuildInfo,
		ExternalURL:      &url.URL{Scheme: "https", Host: "vigil.example.com"},
		ListenAddress:    ":9090",
		Now:              func() time.Time { return fixedNow },
	}
	if mod != nil {
		mod(&opts)
	}
	return New(opts), db
}

// secs writes a fixture time as the float seconds clients send.
func secs(ms int64) string { return strconv.FormatFloat(float64(ms)/1000, 'f', -1, 64) }
