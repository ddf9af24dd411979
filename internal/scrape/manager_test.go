package scrape

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vigil-monitoring/vigil/internal/discovery"
	"github.com/vigil-monitoring/vigil/internal/model/labels"
)

// loopsOf returns the pool's loops by target address.
func loopsOf(t *testing.T, m *Manager, job string) map[string]*scrapeLoop {
	t.Helper()
	m.mu.Lock()
	sp := m.pools[job]
	m.mu.Unlock()
	if sp == nil {
		t.Fatalf("no pool %q", job)
	}
	sp.syncMu.Lock()
	defer sp.syncMu.Unlock()
	res := map[string]*scrapeLoop{}
	for _, l := range sp.loops {
		res[l.target.Get("__address__")] = l
	}
	return res
}

func TestReloadKeepsUnchangedLoopsRunning(t *testing.T) {
	const interval = 200 * time.Millisecond
	srv := serve(t, &metricsHandler{body: "a{x=\"1\"} 1\n"})
	addr := hostOf(srv)
	st := newTestStorage()
	reg := prometheus.NewRegistry()
	m := newTestManager(t, st, Options{Registerer: reg})
	const jobA = "- job_name: a\n  scrape_interval: 200ms\n  scrape_timeout: 200ms\n"
	const jobB = "- job_name: b\n  scrape_interval: 200ms\n  scrape_timeout: 200ms\n"
	if err := m.ApplyConfig(loadConfig(t, "scrape_configs:\n"+jobA+jobB)); err != nil {
		t.Fatal(err)
	}
	syncTargets(m, map[string][]*discovery.TargetGroup{
		"a": {group("s", addr)},
		"b": {group("s", addr)},
	})
	waitScrapes(t, st, upOf("a", addr), 3)
	waitScrapes(t, st, upOf("b", addr), 3)
	loopA, loopB := loopsOf(t, m, "a")[addr], loopsOf(t, m, "b")[addr]

	// Job a is unchanged; job b gets metric relabeling (its loop must
	// restart, with a fresh cache since labels are built differently).
	jobB2 := jobB + "  metric_relabel_configs:\n  - action: labeldrop\n    regex: x\n"
	reloadAt := time.Now()
	if err := m.ApplyConfig(loadConfig(t, "scrape_configs:\n"+jobA+jobB2)); err != nil {
		t.Fatal(err)
	}
	if got := loopsOf(t, m, "a")[addr]; got != loopA {
		t.Error("the loop of the unchanged job was replaced")
	}
	if got := loopsOf(t, m, "b")[addr]; got == loopB {
		t.Error("the loop of the changed job kept its old options")
	}
	if counterValue(m.metrics.poolReloads) != 1 {
		t.Errorf("reloads = %v, want 1 (job b only)", counterValue(m.metrics.poolReloads))
	}

	// Job a goes on without a gap: the same loop, on the same schedule,
	// never stopped, keeps appending and never writes a stale marker.
	// (Wall-clock spacing between samples is not checked: on a loaded
	// machine a tick can be late or missed without any reload, so it would
	// make the test flaky without proving more than the loop's identity.)
	select {
	case <-loopA.stopped:
		t.Fatal("the loop of the unchanged job was stopped by the reload")
	default:
	}
	n := len(st.samplesOf(t, upOf("a", addr)))
	up := waitScrapes(t, st, upOf("a", addr), n+4)
	for i := 1; i < len(up); i++ {
		if up[i].T <= up[i-1].T {
			t.Errorf("job a: sample %d at %d not after sample %d at %d (reload at %v)", i, up[i].T, i-1, up[i-1].T, reloadAt.UnixMilli())
		}
		if isStale(up[i]) {
			t.Errorf("job a got a stale marker at %d", up[i].T)
		}
	}
	for name, smps := range st.series(t) {
		if strings.Contains(name, `job="a"`) && isStale(smps[len(smps)-1]) {
			t.Errorf("%s went stale", name)
		}
	}

	// Job b's old series (with x) ends stale, the new one (without x)
	// starts.
	oldB := labels.FromStrings("__name__", "a", "instance", addr, "job", "b", "x", "1")
	newB := labels.FromStrings("__name__", "a", "instance", addr, "job", "b")
	waitScrapes(t, st, newB, 1)
	if s := st.samplesOf(t, oldB); len(s) == 0 || !isStale(s[len(s)-1]) {
		t.Errorf("old series of job b = %v, want it to end stale", s)
	}

	// A change that only affects target selection keeps every loop.
	loopA = loopsOf(t, m, "a")[addr]
	if err := m.ApplyConfig(loadConfig(t, "scrape_configs:\n"+jobA+"  keep_dropped_targets: 5\n"+jobB2)); err != nil {
		t.Fatal(err)
	}
	if loopsOf(t, m, "a")[addr] != loopA {
		t.Error("keep_dropped_targets restarted the loop")
	}

	// A timing change restarts the loop but keeps the cache: no series is
	// marked stale and nothing counts as added again.
	loopA = loopsOf(t, m, "a")[addr]
	cacheA := loopA.cache
	jobA2 := "- job_name: a\n  scrape_interval: 200ms\n  scrape_timeout: 150ms\n  keep_dropped_targets: 5\n"
	if err := m.ApplyConfig(loadConfig(t, "scrape_configs:\n"+jobA2+jobB2)); err != nil {
		t.Fatal(err)
	}
	if l := loopsOf(t, m, "a")[addr]; l == loopA || l.cache != cacheA {
		t.Errorf("timeout change: new loop %v, same cache %v", l != loopA, l.cache == cacheA)
	}
	added := labels.FromStrings("__name__", "scrape_series_added", "instance", addr, "job", "a")
	n = len(st.samplesOf(t, added))
	s := waitScrapes(t, st, added, n+2)
	if s[len(s)-1].F != 0 {
		t.Errorf("scrape_series_added after a cache-keeping restart = %v", s[len(s)-1])
	}
	if a := st.samplesOf(t, labels.FromStrings("__name__", "a", "instance", addr, "job", "a", "x", "1")); isStale(a[len(a)-1]) {
		t.Error("series went stale across a cache-keeping restart")
	}

	// Removing a job stops its pool.
	if err := m.ApplyConfig(loadConfig(t, "scrape_configs:\n"+jobA2)); err != nil {
		t.Fatal(err)
	}
	if pools := m.ScrapePools(); len(pools) != 1 || pools[0] != "a" {
		t.Errorf("pools = %v", pools)
	}
	if _, ok := m.ActiveTargets()["b"]; ok {
		t.Error("removed job still has targets")
	}
}

func TestDroppedTargets(t *testing.T) {
	st := newTestStorage()
	m := newTestManager(t, st, Options{})
	job := "scrape_configs:\n- job_name: j\n  keep_dropped_targets: 2\n  relabel_configs:\n  - source_labels: [__address__]\n    regex: drop.*\n    action: drop\n"
	if err := m.ApplyConfig(loadConfig(t, job)); err != nil {
		t.Fatal(err)
	}
	syncTargets(m, map[string][]*discovery.TargetGroup{"j": {group("s", "drop1:1", "drop2:1", "drop3:1", "127.0.0.1:1")}})
	if n := len(m.DroppedTargets()["j"]); n != 2 {
		t.Errorf("%d dropped targets kept, want 2", n)
	}
	if n := m.DroppedTargetCounts()["j"]; n != 3 {
		t.Errorf("dropped count %d, want 3", n)
	}
	act := m.ActiveTargets()["j"]
	if len(act) != 1 || act[0].Labels().Get("instance") != "127.0.0.1:1" {
		t.Errorf("active %v", act)
	}
	for _, d := range m.DroppedTargets()["j"] {
		if !d.Labels().IsEmpty() || !strings.HasPrefix(d.DiscoveredLabels().Get("__address__"), "drop") {
			t.Errorf("dropped target %v / %v", d.Labels(), d.DiscoveredLabels())
		}
	}
}

func TestRunAppliesDiscoveryUpdates(t *testing.T) {
	h := &metricsHandler{body: "a 1\n"}
	srv := serve(t, h)
	addr := hostOf(srv)
	st := newTestStorage()
	m := newTestManager(t, st, Options{DiscoveryReloadInterval: 20 * time.Millisecond})
	if err := m.ApplyConfig(loadConfig(t, "scrape_configs:\n"+indent(fastJob, "  "))); err != nil {
		t.Fatal(err)
	}
	ch := make(chan map[string][]*discovery.TargetGroup)
	done := make(chan error)
	go func() { done <- m.Run(ch) }()
	ch <- map[string][]*discovery.TargetGroup{"j": {group("s", addr)}}
	waitScrapes(t, st, upOf("j", addr), 1)
	// Jobs that are not configured are ignored.
	ch <- map[string][]*discovery.TargetGroup{"j": {group("s", addr)}, "unknown": {group("s", addr)}}
	close(ch)
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return when its channel closed")
	}
	if pools := m.ScrapePools(); len(pools) != 1 {
		t.Errorf("pools %v", pools)
	}
}

func TestSelfMetrics(t *testing.T) {
	srv := serve(t, &metricsHandler{body: "a 1\na 2\n"})
	addr := hostOf(srv)
	reg := prometheus.NewRegistry()
	m, st := startJob(t, Options{Registerer: reg}, fastJob, addr)
	waitScrapes(t, st, upOf("j", addr), 3)
	if _, err := NewManager(st, Options{Registerer: reg}); err == nil {
		t.Error("a second manager registered on the same registry")
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]float64{}
	for _, mf := range mfs {
		for _, mt := range mf.GetMetric() {
			switch {
			case mt.GetGauge() != nil:
				have[mf.GetName()] += mt.GetGauge().GetValue()
			case mt.GetCounter() != nil:
				have[mf.GetName()] += mt.GetCounter().GetValue()
			case mt.GetSummary() != nil:
				have[mf.GetName()] += float64(mt.GetSummary().GetSampleCount())
			}
		}
	}
	for _, name := range []string{
		"prometheus_target_interval_length_seconds",
		"prometheus_target_scrapes_exceeded_sample_limit_total",
		"prometheus_target_scrape_pool_targets",
		"prometheus_target_scrapes_sample_duplicate_timestamp_total",
		"prometheus_target_scrapes_sample_out_of_order_total",
		"prometheus_target_scrape_pool_reloads_total",
		"prometheus_target_sync_length_seconds",
	} {
		if _, ok := have[name]; !ok {
			t.Errorf("%s not exported", name)
		}
	}
	if have["prometheus_target_scrape_pool_targets"] != 1 || have["prometheus_target_interval_length_seconds"] < 2 ||
		have["prometheus_target_scrapes_sample_duplicate_timestamp_total"] < 3 || have["prometheus_target_sync_length_seconds"] < 1 {
		t.Errorf("values %v", have)
	}
	m.Stop()
	m2, err := NewManager(st, Options{Registerer: reg})
	if err != nil {
		t.Errorf("registering after Stop: %v", err)
	} else {
		m2.Stop()
	}
}

// Stop may come before Run has started (a server shutting down during
// start-up); neither may hang or race.
func TestStopBeforeRun(t *testing.T) {
	for range 50 {
		m := newTestManager(t, newTestStorage(), Options{Registerer: prometheus.NewRegistry()})
		tsets := make(chan map[string][]*discovery.TargetGroup)
		done := make(chan struct{})
		go func() {
			m.Run(tsets)
			close(done)
		}()
		m.Stop()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("Run did not return after Stop")
		}
	}
}
