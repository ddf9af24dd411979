//go:build reliability

package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// relHostileRSSBound is the most resident memory vigil may use under the
// hostile load (10,000 targets, 100k series, a 100 MB body cut at 10 MB,
// 50 heavy queries).
const relHostileRSSBound = 1536 << 20 // 1.5 GiB

// relTooManySamples is Prometheus' error text for --query.max-samples.
const relTooManySamples = "query processing would load too many samples into memory in query execution"

// relHits is a target that records when it was scraped.
type relHits struct {
	mu    sync.Mutex
	times []time.Time
	body  string
}

func (h *relHits) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	h.times = append(h.times, time.Now())
	h.mu.Unlock()
	w.Header().Set("Content-Type", "text/plain; version=0.0.4")
	_, _ = w.Write([]byte(h.body))
}

func (h *relHits) between(from, to time.Time) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, at := range h.times {
		if !at.Before(from) && !at.After(to) {
			n++
		}
	}
	return n
}

func (h *relHits) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.times)
}

// TestReliabilityHostileLoad runs vigil (--query.max-samples=1000000,
// --query.max-concurrency=2) against hostile conditions and checks that it
// keeps its promises throughout:
//
//   - a target serving a 100 MB body is cut at body_size_limit (10MB) and
//     reported down with Prometheus' "body size limit exceeded";
//   - a target that never answers times out and is reported down;
//   - a reload (POST /-/reload) adds a job of 10,000 targets (10,000
//     addresses, relabelled to one in-process server) with 5 metrics each;
//     the reload answers and all 10,000 get scraped;
//   - a range query that would load over 1e9 samples (every series, ~11s
//     at a 1ms step: 11,000 steps times more than 100k series) is refused
//     with HTTP 422 and Prometheus' "too many samples" text;
//   - 50 concurrent heavy queries queue behind the concurrency limit and
//     each is answered (200) or refused properly (422 too many samples);
//   - all along, vigil's RSS stays under relHostileRSSBound, /-/healthy
//     answers 200 within 5s every time, and a healthy target scraped every
//     200ms gets at least 90% of its expected scrapes from the reload to
//     the end of the queries;
//   - at the end vigil stops cleanly on SIGTERM.
func TestReliabilityHostileLoad(t *testing.T) {
	bin := relBinary(t)
	dir := t.TempDir()
	const (
		manyTargets = 10000
		interval    = 200 * time.Millisecond
		maxSamples  = 1000000
	)

	healthy := &relHits{body: "# TYPE rel_healthy gauge\nrel_healthy 1\n"}
	healthySrv := httptest.NewServer(healthy)
	t.Cleanup(healthySrv.Close)

	many := &relHits{body: "rel_many_a 1\nrel_many_b 2\nrel_many_c 3\nrel_many_d 4\nrel_many_e 5\n"}
	manySrv := httptest.NewServer(many)
	t.Cleanup(manySrv.Close)

	// The huge target streams 100 MB of valid exposition lines.
	var hugeScrapes atomic.Int64
	var hugeBytes atomic.Int64
	var block strings.Builder
	for i := 0; block.Len() < 1<<20; i++ {
		fmt.Fprintf(&block, "rel_big{i=\"%08d\"} 1\n", i)
	}
	hugeBlock := []byte(block.String()[:1<<20])
	hugeSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hugeScrapes.Add(1)
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		// No Content-Length: the limit must hold while the body streams.
		for range 100 {
			n, err := w.Write(hugeBlock)
			hugeBytes.Add(int64(n))
			if err != nil {
				return
			}
		}
	}))
	t.Cleanup(hugeSrv.Close)

	// The hanging target never answers.
	var hangScrapes atomic.Int64
	hangDone := make(chan struct{})
	hangSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hangScrapes.Add(1)
		select {
		case <-r.Context().Done():
		case <-hangDone:
		}
	}))
	t.Cleanup(hangSrv.Close)
	t.Cleanup(func() { close(hangDone) })

	host := func(s *httptest.Server) string { return strings.TrimPrefix(s.URL, "http://") }
	baseJobs := relJob("healthy", "200ms", "200ms", "", host(healthySrv)) +
		relJob("huge", "1s", "900ms", "    body_size_limit: 10MB\n", host(hugeSrv)) +
		relJob("hang", "1s", "500ms", "", host(hangSrv))
	cfg := filepath.Join(dir, "vigil.yml")
	relWriteFile(t, cfg, relConfig(baseJobs))

	v := relStart(t, bin, dir, "vigil", "--config.file="+cfg, "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.enable-lifecycle", fmt.Sprintf("--query.max-samples=%d", maxSamples), "--query.max-concurrency=2")

	// The monitor samples RSS every 100ms and /-/healthy every 250ms until
	// the end of the test.
	var (
		monMu       sync.Mutex
		maxRSS      int64
		rssSamples  int
		healthFails []string
		healthSlow  time.Duration
		healthCalls int
	)
	monStop, monDone := make(chan struct{}), make(chan struct{})
	healthClient := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{Proxy: nil}}
	go func() {
		defer close(monDone)
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-monStop:
				return
			case <-tick.C:
			}
			if rss, err := relRSS(v.pid); err == nil {
				monMu.Lock()
				maxRSS = max(maxRSS, rss)
				rssSamples++
				monMu.Unlock()
			}
			if i%5 != 0 {
				continue
			}
			start := time.Now()
			resp, err := healthClient.Get(v.base + "/-/healthy")
			took := time.Since(start)
			monMu.Lock()
			healthCalls++
			healthSlow = max(healthSlow, took)
			switch {
			case err != nil:
				healthFails = append(healthFails, fmt.Sprintf("%s: %v", start.Format("15:04:05.000"), err))
			case resp.StatusCode != http.StatusOK:
				healthFails = append(healthFails, fmt.Sprintf("%s: HTTP %d", start.Format("15:04:05.000"), resp.StatusCode))
			}
			monMu.Unlock()
			if resp != nil {
				resp.Body.Close()
			}
		}
	}()
	stopMonitor := func() {
		select {
		case <-monStop:
		default:
			close(monStop)
			<-monDone
		}
	}
	t.Cleanup(stopMonitor)

	v.waitReady(t)
	relWait(t, v, 30*time.Second, "the huge and hanging targets scraped twice and reported down", func() (bool, string) {
		if hugeScrapes.Load() < 2 || hangScrapes.Load() < 2 || healthy.count() < 5 {
			return false, fmt.Sprintf("huge %d, hang %d, healthy %d scrapes", hugeScrapes.Load(), hangScrapes.Load(), healthy.count())
		}
		tg := relTargets(t, v.base)
		huge, hang := tg["huge"], tg["hang"]
		return strings.Contains(huge.LastError, "body size limit exceeded") && huge.Health == "down" &&
				hang.Health == "down" && hang.LastError != "",
			fmt.Sprintf("huge %+v, hang %+v", huge, hang)
	})
	tg := relTargets(t, v.base)
	t.Logf("huge target: %s %q (sent %d MiB over %d scrapes); hanging target: %s %q",
		tg["huge"].Health, tg["huge"].LastError, hugeBytes.Load()>>20, hugeScrapes.Load(), tg["hang"].Health, tg["hang"].LastError)

	// Reload with 10,000 more targets.
	var manyJob strings.Builder
	fmt.Fprintf(&manyJob, "  - job_name: many\n    scrape_interval: 10s\n    scrape_timeout: 5s\n")
	fmt.Fprintf(&manyJob, "    relabel_configs:\n      - source_labels: [__address__]\n        target_label: instance\n")
	fmt.Fprintf(&manyJob, "      - target_label: __address__\n        replacement: %q\n", host(manySrv))
	manyJob.WriteString("    static_configs:\n      - targets:\n")
	for i := range manyTargets {
		fmt.Fprintf(&manyJob, "          - t%05d.rel.invalid:9100\n", i)
	}
	relWriteFile(t, cfg, relConfig(baseJobs+manyJob.String()))
	windowStart := time.Now()
	resp, err := relHTTP.Post(v.base+"/-/reload", "", nil)
	if err != nil {
		t.Fatalf("reload: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("reload: HTTP %d", resp.StatusCode)
	}
	t.Logf("reload with %d more targets answered in %v", manyTargets, time.Since(windowStart).Round(time.Millisecond))

	var allScraped time.Time
	relWait(t, v, 60*time.Second, "all 10,000 new targets scraped", func() (bool, string) {
		got, err := relQuery(v.base, `count(up{job="many"} == 1)`, time.Now())
		if err != nil {
			return false, err.Error()
		}
		n := "0"
		for _, s := range got {
			n = s[0].V
		}
		return n == strconv.Itoa(manyTargets), fmt.Sprintf("%s targets up, %d scrapes served", n, many.count())
	})
	allScraped = time.Now()
	t.Logf("all %d targets up %v after the reload", manyTargets, allScraped.Sub(windowStart).Round(time.Millisecond))

	// The query that would load more than 1e9 samples.
	var status struct {
		HeadStats struct {
			NumSeries int `json:"numSeries"`
		} `json:"headStats"`
	}
	code, env, err := relAPI(relHTTP, v.base, "/api/v1/status/tsdb", nil)
	if err != nil || code != http.StatusOK || json.Unmarshal(env.Data, &status) != nil {
		t.Fatalf("/api/v1/status/tsdb: %d %v %s", code, err, env.Data)
	}
	const steps = 11000
	nominal := int64(status.HeadStats.NumSeries) * steps
	if nominal < 1e9 {
		t.Fatalf("only %d series: the big query would load %d samples, not 1e9", status.HeadStats.NumSeries, nominal)
	}
	bigStart := allScraped
	bigParams := url.Values{
		"query": {`{__name__=~".+"}`},
		"start": {relUnix(bigStart)},
		"end":   {relUnix(bigStart.Add((steps - 1) * time.Millisecond))},
		"step":  {"0.001"},
	}
	bigAt := time.Now()
	code, env, err = relAPI(relHTTP, v.base, "/api/v1/query_range", bigParams)
	if err != nil {
		t.Fatalf("the big query: %v", err)
	}
	if code != http.StatusUnprocessableEntity || env.ErrorType != "execution" || !strings.Contains(env.Error, relTooManySamples) {
		t.Errorf("the big query (%d series x %d steps = %d samples): HTTP %d %s %q, want 422 execution %q",
			status.HeadStats.NumSeries, steps, nominal, code, env.ErrorType, env.Error, relTooManySamples)
	}
	t.Logf("the big query (%d series x %d steps = %.2g samples): HTTP %d %q in %v",
		status.HeadStats.NumSeries, steps, float64(nominal), code, env.Error, time.Since(bigAt).Round(time.Millisecond))

	// 50 concurrent heavy queries. Their range queries cover 31 steps from
	// the moment every target had a sample, so each step sees every series
	// (the 5m lookback): the raw selection of the 50,000 rel_many series
	// must hold 1.55M samples and is refused; the others stay under the
	// limit and are answered; the last is either, depending on how the
	// engine evaluates an aggregation over 100k series and 31 steps.
	now := time.Now()
	type heavy struct {
		path   string
		params url.Values
		want   string // "200", "422" or "" (either)
	}
	rangeParams := func(q string) url.Values {
		return url.Values{"query": {q}, "start": {relUnix(allScraped)}, "end": {relUnix(allScraped.Add(30 * time.Second))}, "step": {"1"}}
	}
	instant := func(q string) url.Values { return url.Values{"query": {q}, "time": {relUnix(now)}} }
	kinds := []heavy{
		{"/api/v1/query", instant(`count({__name__=~"rel_many_.+"})`), "200"},
		{"/api/v1/query", instant(`sum by (job) (rate(up[1m]))`), "200"},
		{"/api/v1/query_range", rangeParams(`sum(rel_many_a)`), "200"},
		{"/api/v1/query_range", rangeParams(`{__name__=~"rel_many_.+"}`), "422"},
		{"/api/v1/query", instant(`sum(count_over_time(rel_many_b[5m]))`), "200"},
		{"/api/v1/query", instant(`topk(5, rel_many_e)`), "200"},
		{"/api/v1/query_range", rangeParams(`count by (__name__) ({__name__=~".+"})`), ""},
	}
	type outcome struct {
		kind int
		code int
		env  relAPIResponse
		err  error
		took time.Duration
	}
	heavyClient := &http.Client{Timeout: 100 * time.Second, Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 64}}
	results := make([]outcome, 50)
	var wg sync.WaitGroup
	heavyAt := time.Now()
	for i := range results {
		wg.Go(func() {
			k := i % len(kinds)
			start := time.Now()
			code, env, err := relAPI(heavyClient, v.base, kinds[k].path, kinds[k].params)
			results[i] = outcome{kind: k, code: code, env: env, err: err, took: time.Since(start)}
		})
	}
	wg.Wait()
	windowEnd := time.Now()
	byKind := map[int]map[string]int{}
	answered, refused := 0, 0
	var slowest time.Duration
	for _, r := range results {
		slowest = max(slowest, r.took)
		if byKind[r.kind] == nil {
			byKind[r.kind] = map[string]int{}
		}
		switch {
		case r.err != nil:
			t.Errorf("heavy query %s: %v", kinds[r.kind].params.Get("query"), r.err)
			byKind[r.kind]["error"]++
		case r.code == http.StatusOK && r.env.Status == "success":
			answered++
			byKind[r.kind]["200"]++
			if w := kinds[r.kind].want; w != "" && w != "200" {
				t.Errorf("heavy query %s was answered; it holds more than %d samples", kinds[r.kind].params.Get("query"), maxSamples)
			}
		case r.code == http.StatusUnprocessableEntity && r.env.ErrorType == "execution" && strings.Contains(r.env.Error, relTooManySamples):
			refused++
			byKind[r.kind]["422"]++
			if w := kinds[r.kind].want; w != "" && w != "422" {
				t.Errorf("heavy query %s was refused for too many samples; it needs far fewer than %d", kinds[r.kind].params.Get("query"), maxSamples)
			}
		default:
			t.Errorf("heavy query %s: HTTP %d %s %q: neither answered nor refused for too many samples", kinds[r.kind].params.Get("query"), r.code, r.env.ErrorType, r.env.Error)
			byKind[r.kind][strconv.Itoa(r.code)]++
		}
	}
	for k := range kinds {
		t.Logf("heavy query %-45s %v", kinds[k].params.Get("query"), byKind[k])
	}
	t.Logf("50 heavy queries: %d answered, %d refused, in %v (slowest %v)", answered, refused, windowEnd.Sub(heavyAt).Round(time.Millisecond), slowest.Round(time.Millisecond))

	// The healthy target was scraped on time from the reload to now. The
	// first and last intervals are left out: a scrape may sit on either
	// side of the window's edges.
	from, to := windowStart.Add(interval), windowEnd.Add(-interval)
	want := int(to.Sub(from) / interval)
	got := healthy.between(from, to)
	t.Logf("healthy target: %d scrapes in %v, %d expected at %v", got, to.Sub(from).Round(time.Millisecond), want, interval)
	for _, l := range relMetricLines(v.base, "prometheus_target_interval_length_seconds") {
		if strings.Contains(l, `interval="200ms"`) {
			t.Logf("vigil: %s", l)
		}
	}
	if got < want*9/10 {
		t.Errorf("the healthy target got %d scrapes in %v, want at least 90%% of %d", got, to.Sub(from).Round(time.Millisecond), want)
		if m, err := relQuery(v.base, `max_over_time(scrape_duration_seconds{job="healthy"}[5m])`, time.Now()); err == nil {
			t.Logf("vigil: slowest healthy scrape %v", m)
		}
		relLogGaps(t, healthy, from, to, interval)
	}

	stopMonitor()
	monMu.Lock()
	t.Logf("RSS: max %d MiB over %d samples (bound %d MiB); /-/healthy: %d calls, slowest %v", maxRSS>>20, rssSamples, relHostileRSSBound>>20, healthCalls, healthSlow.Round(time.Millisecond))
	if maxRSS >= relHostileRSSBound {
		t.Errorf("vigil's RSS reached %d MiB, over the %d MiB bound", maxRSS>>20, relHostileRSSBound>>20)
	}
	if rssSamples < 10 {
		t.Errorf("only %d RSS samples", rssSamples)
	}
	if len(healthFails) > 0 {
		t.Errorf("/-/healthy failed %d of %d times: %s", len(healthFails), healthCalls, strings.Join(healthFails, "; "))
	}
	monMu.Unlock()
	relCheckNoPanic(t, v)
	v.stop(t, 60*time.Second)
}

// relTarget is the part of an active target the test reads.
type relTarget struct {
	ScrapePool string `json:"scrapePool"`
	Health     string `json:"health"`
	LastError  string `json:"lastError"`
}

// relTargets returns one active target per scrape pool.
func relTargets(t *testing.T, base string) map[string]relTarget {
	t.Helper()
	code, env, err := relAPI(relHTTP, base, "/api/v1/targets", url.Values{"state": {"active"}})
	if err != nil || code != http.StatusOK {
		t.Fatalf("/api/v1/targets: %d %v", code, err)
	}
	var d struct {
		ActiveTargets []relTarget `json:"activeTargets"`
	}
	if err := json.Unmarshal(env.Data, &d); err != nil {
		t.Fatal(err)
	}
	out := map[string]relTarget{}
	for _, tg := range d.ActiveTargets {
		out[tg.ScrapePool] = tg
	}
	return out
}

// relLogGaps logs the longest gaps between scrapes of h in [from, to].
func relLogGaps(t *testing.T, h *relHits, from, to time.Time, interval time.Duration) {
	h.mu.Lock()
	times := slices.Clone(h.times)
	h.mu.Unlock()
	var gaps []string
	for i := 1; i < len(times); i++ {
		if times[i].Before(from) || times[i].After(to) {
			continue
		}
		if d := times[i].Sub(times[i-1]); d > interval*3/2 {
			gaps = append(gaps, fmt.Sprintf("%s +%v", times[i-1].Format("15:04:05.000"), d.Round(time.Millisecond)))
		}
	}
	t.Logf("gaps between healthy scrapes over 1.5 intervals: %d %v", len(gaps), gaps)
}
