package scrape

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vigil-monitoring/vigil/internal/discovery"
	"github.com/vigil-monitoring/vigil/internal/model/labels"
	"github.com/vigil-monitoring/vigil/internal/storage"
)

// syncTargets hands target sets to the manager and applies them at once,
// as Run would after its reload interval.
func syncTargets(m *Manager, sets map[string][]*discovery.TargetGroup) {
	m.mu.Lock()
	m.targetSets = sets
	m.mu.Unlock()
	m.reload()
}

func upOf(job, instance string) labels.Labels {
	return labels.FromStrings("__name__", "up", "instance", instance, "job", job)
}

// startJob runs one job against the given addresses and returns the
// manager and storage.
func startJob(t *testing.T, opts Options, job string, addrs ...string) (*Manager, *testStorage) {
	t.Helper()
	st := newTestStorage()
	m := newTestManager(t, st, opts)
	if err := m.ApplyConfig(loadConfig(t, "scrape_configs:\n"+indent(job, "  "))); err != nil {
		t.Fatal(err)
	}
	name := strings.TrimSpace(strings.TrimPrefix(strings.SplitN(job, "\n", 2)[0], "job_name:"))
	syncTargets(m, map[string][]*discovery.TargetGroup{name: {group("static", addrs...)}})
	return m, st
}

// waitScrapes waits until the series has at least n samples and returns
// them.
func waitScrapes(t *testing.T, st *testStorage, l labels.Labels, n int) []storage.Sample {
	t.Helper()
	var smps []storage.Sample
	st.waitFor(t, 10*time.Second, fmt.Sprintf("%d samples of %s", n, l), func() bool {
		smps = st.samplesOf(t, l)
		return len(smps) >= n
	})
	return smps
}

// fastJob scrapes often enough for quick tests while leaving each scrape
// a timeout far above what a loaded CI machine needs for a local request.
const fastJob = "job_name: j\nscrape_interval: 250ms\nscrape_timeout: 250ms\n"

func TestScrapeSendsContractHeaders(t *testing.T) {
	h := &metricsHandler{body: "a 1\n"}
	srv := serve(t, h)
	_, st := startJob(t, Options{Version: "1.2.3"}, fastJob, hostOf(srv))
	waitScrapes(t, st, upOf("j", hostOf(srv)), 1)
	hd := h.lastHeaders()
	want := map[string]string{
		"Accept":                              "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,application/openmetrics-text;version=0.0.1;q=0.5,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2",
		"Accept-Encoding":                     "gzip",
		"User-Agent":                          "Vigil/1.2.3",
		"X-Prometheus-Scrape-Timeout-Seconds": "0.25",
	}
	for k, v := range want {
		if got := hd.Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}

	h2 := &metricsHandler{body: "a 1\n"}
	srv2 := serve(t, h2)
	_, st2 := startJob(t, Options{}, fastJob+"enable_compression: false\nscrape_native_histograms: true\n", hostOf(srv2))
	waitScrapes(t, st2, upOf("j", hostOf(srv2)), 1)
	if got := h2.lastHeaders().Get("Accept-Encoding"); got != "identity" {
		t.Errorf("Accept-Encoding without compression = %q", got)
	}
	if got := h2.lastHeaders().Get("Accept"); !strings.HasPrefix(got, "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.6,") {
		t.Errorf("native histograms put protobuf first; Accept = %q", got)
	}
}

func TestScrapeGzipAndSyntheticSeries(t *testing.T) {
	body := "# TYPE a counter\na_total 5\nb{x=\"y\"} 2\n"
	srv := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Accept-Encoding") != "gzip" {
			http.Error(w, "want gzip", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		w.Header().Set("Content-Encoding", "gzip")
		zw := gzip.NewWriter(w)
		fmt.Fprint(zw, body)
		zw.Close()
	}))
	addr := hostOf(srv)
	m, st := startJob(t, Options{ExtraMetrics: true}, fastJob, addr)
	waitScrapes(t, st, upOf("j", addr), 2)
	got := st.series(t)
	check := func(name string, want float64) {
		t.Helper()
		s := got[labels.FromStrings("__name__", name, "instance", addr, "job", "j").String()]
		if len(s) == 0 || s[0].F != want {
			t.Errorf("%s = %v, want %v first", name, s, want)
		}
	}
	check("a_total", 5)
	check("up", 1)
	check("scrape_samples_scraped", 2)
	check("scrape_samples_post_metric_relabeling", 2)
	check("scrape_series_added", 2)
	check("scrape_timeout_seconds", 0.25)
	check("scrape_sample_limit", 0)
	check("scrape_body_size_bytes", float64(len(body)))
	if s := got[labels.FromStrings("__name__", "scrape_series_added", "instance", addr, "job", "j").String()]; len(s) < 2 || s[1].F != 0 {
		t.Errorf("scrape_series_added on the second scrape = %v, want 0", s)
	}
	if d := got[labels.FromStrings("__name__", "scrape_duration_seconds", "instance", addr, "job", "j").String()]; d[0].F <= 0 || d[0].F > 0.08 {
		t.Errorf("scrape_duration_seconds = %v", d)
	}
	tg := m.ActiveTargets()["j"][0]
	if tg.Health() != HealthGood || tg.LastError() != nil || tg.LastScrape().IsZero() || tg.LastScrapeDuration() <= 0 {
		t.Errorf("target status %v %v %v %v", tg.Health(), tg.LastError(), tg.LastScrape(), tg.LastScrapeDuration())
	}
	if md, ok := tg.GetMetadata("a"); !ok || md.Type != "counter" {
		t.Errorf("metadata %+v %v", md, ok)
	}
}

func TestScrapeFailuresGiveUpZeroWithClearErrors(t *testing.T) {
	cases := []struct {
		name    string
		handler http.HandlerFunc
		wantErr string
	}{
		{"html", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			fmt.Fprint(w, "<html><body>Welcome</body></html>")
		}, `unsupported Content-Type "text/html; charset=utf-8"`},
		{"garbage", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/plain; version=0.0.4")
			fmt.Fprint(w, "a 1\n<<<not metrics>>>\n")
		}, "line 2"},
		{"status", func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "boom", http.StatusInternalServerError)
		}, "server returned HTTP status 500 Internal Server Error"},
		{"blank content type", func(w http.ResponseWriter, r *http.Request) {
			w.Header()["Content-Type"] = nil // keep net/http from sniffing one
			fmt.Fprint(w, "a 1\n")
		}, "blank Content-Type"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := serve(t, c.handler)
			addr := hostOf(srv)
			m, st := startJob(t, Options{}, fastJob, addr)
			smps := waitScrapes(t, st, upOf("j", addr), 1)
			if smps[0].F != 0 {
				t.Errorf("up = %v", smps)
			}
			tg := m.ActiveTargets()["j"][0]
			if tg.Health() != HealthBad || tg.LastError() == nil || !strings.Contains(tg.LastError().Error(), c.wantErr) {
				t.Errorf("health %v, last error %v, want it to contain %q", tg.Health(), tg.LastError(), c.wantErr)
			}
			for name := range st.series(t) {
				if strings.Contains(name, `__name__="a"`) {
					t.Errorf("a sample of a failed scrape was stored: %s", name)
				}
			}
		})
	}
}

func TestBodySizeLimitStopsReadingEarly(t *testing.T) {
	const limit = 64 << 10
	line := []byte("some_metric{label=\"value value value value value\"} 1\n")
	chunk := bytes.Repeat(line, 1024) // ~55 KiB
	var sent atomic.Int64
	handlerDone := make(chan struct{}, 4)
	srv := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() { handlerDone <- struct{}{} }()
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		// Up to 1 GiB, unless the client stops reading.
		for range 20000 {
			n, err := w.Write(chunk)
			sent.Add(int64(n))
			if err != nil {
				return
			}
		}
	}))

	cfg := jobConfig(t, fastJob+"body_size_limit: 64KiB\n")
	m := newTestManager(t, nopAppendable{}, Options{})
	base, err := m.loopBase(cfg, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	base.interval, base.timeout = time.Second, 10*time.Second
	tg := newTarget("j", labels.FromStrings("__address__", hostOf(srv), "__scheme__", "http", "__metrics_path__", "/metrics"), labels.EmptyLabels(), nil, time.Second, 10*time.Second)
	sc, err := newTargetScraper(tg, &base, &m.buffers, nil)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	buf, _, err := sc.scrape(context.Background(), 0)
	if !errors.Is(err, errBodySizeLimit) || err.Error() != "body size limit exceeded" {
		t.Fatalf("err = %v", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("took %v: the scrape waited for the body instead of stopping", took)
	}
	if len(*buf) != limit+1 || cap(*buf) > 4*limit {
		t.Errorf("buffer len %d cap %d: memory not bounded by the limit", len(*buf), cap(*buf))
	}
	select {
	case <-handlerDone:
	case <-time.After(10 * time.Second):
		t.Fatal("the server kept streaming: the connection was not closed")
	}
	if s := sent.Load(); s > 64<<20 {
		t.Errorf("server sent %d bytes before noticing", s)
	}

	// A declared Content-Length over the limit fails without reading.
	big := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Header().Set("Content-Length", fmt.Sprint(limit*2))
		w.Write(bytes.Repeat([]byte("#\n"), limit))
	}))
	tg2 := newTarget("j", labels.FromStrings("__address__", hostOf(big), "__scheme__", "http", "__metrics_path__", "/"), labels.EmptyLabels(), nil, time.Second, 10*time.Second)
	sc2, _ := newTargetScraper(tg2, &base, &m.buffers, nil)
	if _, _, err := sc2.scrape(context.Background(), 0); !errors.Is(err, errBodySizeLimit) {
		t.Errorf("declared length: err = %v", err)
	}

	// Through a loop: up=0 and scrape_body_size_bytes=-1.
	_, st := startJob(t, Options{ExtraMetrics: true}, "job_name: j\nscrape_interval: 1s\nscrape_timeout: 1s\nbody_size_limit: 64KiB\n", hostOf(srv))
	addr := hostOf(srv)
	up := waitScrapes(t, st, upOf("j", addr), 1)
	size := st.samplesOf(t, labels.FromStrings("__name__", "scrape_body_size_bytes", "instance", addr, "job", "j"))
	if up[0].F != 0 || len(size) == 0 || size[0].F != -1 {
		t.Errorf("up %v, scrape_body_size_bytes %v", up, size)
	}
}

func TestHangingTargetTimesOutWhileOthersKeepSchedule(t *testing.T) {
	hang := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done() // never answers; returns when the client gives up
	}))
	fast := serve(t, &metricsHandler{body: "a 1\n"})
	// The hanging target holds each scrape for most of its 2s interval.
	// Were scrapes serialised behind it, the fast target (250ms) would be
	// scraped about once in those 2s; independent loops scrape it about
	// eight times. Counting scrapes, rather than checking the
	// spacing of single ticks, keeps the test meaningful on a loaded
	// machine where one tick may run late.
	st := newTestStorage()
	m := newTestManager(t, st, Options{})
	cfg := "scrape_configs:\n" +
		"- job_name: j\n  scrape_interval: 250ms\n  scrape_timeout: 250ms\n" +
		"- job_name: slow\n  scrape_interval: 2s\n  scrape_timeout: 1900ms\n"
	if err := m.ApplyConfig(loadConfig(t, cfg)); err != nil {
		t.Fatal(err)
	}
	syncTargets(m, map[string][]*discovery.TargetGroup{
		"j":    {group("static", hostOf(fast))},
		"slow": {group("static", hostOf(hang))},
	})

	bad := waitScrapes(t, st, upOf("slow", hostOf(hang)), 2)
	if bad[0].F != 0 || bad[1].F != 0 {
		t.Errorf("hanging target up = %v", bad)
	}
	good := st.samplesOf(t, upOf("j", hostOf(fast)))
	inWindow := 0
	for _, s := range good {
		if s.T >= bad[0].T && s.T < bad[1].T {
			inWindow++
		}
		if s.F != 1 {
			t.Errorf("fast target up = %v", s)
		}
	}
	if inWindow < 3 {
		t.Errorf("fast target scraped %d times while the hanging target was scraped from %d to %d, want about 8 (timestamps %v)", inWindow, bad[0].T, bad[1].T, good)
	}
	for _, tg := range m.ActiveTargets()["slow"] {
		if tg.Get("__address__") != hostOf(hang) {
			continue
		}
		if err := tg.LastError(); err == nil || !strings.Contains(err.Error(), "context deadline exceeded") {
			t.Errorf("last error %v", err)
		}
		// Ended by the 1.9s timeout, not by the server (which never
		// answers); the upper bound leaves room for a loaded machine.
		if d := tg.LastScrapeDuration(); d < 1900*time.Millisecond || d > 6*time.Second {
			t.Errorf("hanging scrape took %v, want about the timeout", d)
		}
	}
}

func TestVanishedTargetGetsStaleMarkers(t *testing.T) {
	srv := serve(t, &metricsHandler{body: "a 1\n"})
	addr := hostOf(srv)
	m, st := startJob(t, Options{}, fastJob, addr)
	waitScrapes(t, st, upOf("j", addr), 2)

	syncTargets(m, map[string][]*discovery.TargetGroup{"j": {}})
	if n := len(m.ActiveTargets()["j"]); n != 0 {
		t.Fatalf("%d active targets after the group emptied", n)
	}
	a := labels.FromStrings("__name__", "a", "instance", addr, "job", "j")
	st.waitFor(t, 10*time.Second, "stale markers", func() bool {
		s := st.samplesOf(t, a)
		u := st.samplesOf(t, upOf("j", addr))
		return len(s) > 0 && isStale(s[len(s)-1]) && isStale(u[len(u)-1])
	})
	s := st.samplesOf(t, a)
	if last, prev := s[len(s)-1], s[len(s)-2]; last.T <= prev.T {
		t.Errorf("stale marker at %d not after the last sample at %d", last.T, prev.T)
	}
	for name, smps := range st.series(t) {
		if !isStale(smps[len(smps)-1]) {
			t.Errorf("%s does not end stale: %v", name, smps[len(smps)-1])
		}
	}
}

func TestTargetLimit(t *testing.T) {
	h1, h2 := &metricsHandler{body: "a 1\n"}, &metricsHandler{body: "a 1\n"}
	s1, s2 := serve(t, h1), serve(t, h2)
	m, st := startJob(t, Options{}, fastJob+"target_limit: 1\n", hostOf(s1), hostOf(s2))
	for _, srv := range []string{hostOf(s1), hostOf(s2)} {
		if up := waitScrapes(t, st, upOf("j", srv), 1); up[0].F != 0 {
			t.Errorf("up = %v over the target limit", up)
		}
	}
	for _, tg := range m.ActiveTargets()["j"] {
		if err := tg.LastError(); err == nil || err.Error() != "target_limit exceeded (number of targets: 2, limit: 1)" {
			t.Errorf("last error %v", err)
		}
	}
	h1.mu.Lock()
	n := h1.requests
	h1.mu.Unlock()
	if n != 0 {
		t.Errorf("a target over the limit was scraped %d times", n)
	}
	// Back under the limit, scraping resumes.
	syncTargets(m, map[string][]*discovery.TargetGroup{"j": {group("static", hostOf(s1))}})
	st.waitFor(t, 10*time.Second, "up=1", func() bool {
		u := st.samplesOf(t, upOf("j", hostOf(s1)))
		return len(u) > 0 && u[len(u)-1].F == 1
	})
}

func TestHTTPClientConfigIsUsed(t *testing.T) {
	var auths atomic.Value
	srv := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auths.Store(r.Header.Get("Authorization"))
		user, pass, ok := r.BasicAuth()
		if r.Header.Get("Authorization") != "Bearer tok" && (!ok || user != "u" || pass != "p") {
			http.Error(w, "no", http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprint(w, "a 1\n")
	}))
	addr := hostOf(srv)
	for _, job := range []string{
		fastJob + "basic_auth:\n  username: u\n  password: p\n",
		fastJob + "authorization:\n  credentials: tok\n",
	} {
		_, st := startJob(t, Options{}, job, addr)
		if up := waitScrapes(t, st, upOf("j", addr), 1); up[0].F != 1 {
			t.Errorf("%q: up = %v, Authorization was %q", job, up, auths.Load())
		}
	}
}
