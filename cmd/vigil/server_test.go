package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/alecthomas/kingpin/v2"
	promapi "github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"github.com/vigil-monitoring/vigil/internal/config"
	"github.com/vigil-monitoring/vigil/internal/tsdb"
)

// syncBuffer is a log sink the server writes to while the test reads.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// parseServerFlags parses a command line the way `vigil` does.
func parseServerFlags(t *testing.T, args ...string) *serverFlags {
	t.Helper()
	app := kingpin.New("vigil", "")
	app.Terminate(nil)
	c := newCommands(app, strings.NewReader(""), io.Discard, io.Discard)
	if _, err := app.Parse(args); err != nil {
		t.Fatalf("parsing %q: %v", args, err)
	}
	return c.server
}

// freePort finds a port nothing listens on, for the tests whose
// configuration must name the server's port before it starts.
func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return fmt.Sprint(l.Addr().(*net.TCPAddr).Port)
}

// testServer is a server running in the background of a test.
type testServer struct {
	*server
	base   string
	reload chan struct{}
	done   chan error
	cancel context.CancelFunc
	log    *syncBuffer
}

func startServer(t *testing.T, args ...string) *testServer {
	t.Helper()
	return startServerAt(t, "", args...)
}

// startServerAt starts a server whose routes live under prefix.
func startServerAt(t *testing.T, prefix string, args ...string) *testServer {
	t.Helper()
	f := parseServerFlags(t, args...)
	log := &syncBuffer{}
	s, err := newServer(f, slog.New(slog.NewTextHandler(log, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err != nil {
		t.Fatalf("newServer: %v", err)
	}
	s.discoveryUpdateDelay = 100 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	ts := &testServer{server: s, base: "http://" + s.listener.Addr().String(), reload: make(chan struct{}), done: make(chan error, 1), cancel: cancel, log: log}
	go func() { ts.done <- s.run(ctx, ts.reload) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-ts.done:
		case <-time.After(30 * time.Second):
			t.Error("server did not stop")
		}
		if t.Failed() {
			t.Logf("server log:\n%s", log.String())
		}
	})
	waitFor(t, 20*time.Second, "server ready", func() bool {
		code, _ := httpGet(ts.base + prefix + "/-/ready")
		return code == http.StatusOK
	})
	return ts
}

func httpGet(u string) (int, string) {
	resp, err := http.Get(u)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func httpPost(u string) (int, string) {
	resp, err := http.Post(u, "", nil)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func promClient(t *testing.T, base string) v1.API {
	t.Helper()
	c, err := promapi.NewClient(promapi.Config{Address: base})
	if err != nil {
		t.Fatal(err)
	}
	return v1.NewAPI(c)
}

// metricValue reads one sample of the server's own /metrics.
func metricValue(t *testing.T, base, name string) string {
	t.Helper()
	_, body := httpGet(base + "/metrics")
	for _, line := range strings.Split(body, "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			return v
		}
	}
	t.Fatalf("metric %s not in /metrics", name)
	return ""
}

const selfScrapeConfig = `global:
  scrape_interval: 200ms
  scrape_timeout: 200ms
scrape_configs:
  - job_name: prometheus
    static_configs:
      - targets: ["localhost:%s"]
`

// TestServerScrapesItselfAndReloads starts the whole server on a
// loopback port with a configuration that scrapes it, waits until the API
// reports up{job="prometheus"} == 1, and then reloads a good and a bad
// configuration over HTTP and through the SIGHUP path.
func TestServerScrapesItselfAndReloads(t *testing.T) {
	dir := t.TempDir()
	port := freePort(t)
	cfgFile := filepath.Join(dir, "vigil.yml")
	if err := os.WriteFile(cfgFile, fmt.Appendf(nil, selfScrapeConfig, port), 0o644); err != nil {
		t.Fatal(err)
	}
	ts := startServer(t, "--config.file="+cfgFile, "--web.listen-address=127.0.0.1:"+port,
		"--storage.tsdb.path="+filepath.Join(dir, "data"), "--web.enable-lifecycle")
	client := promClient(t, ts.base)
	ctx := context.Background()

	waitFor(t, 20*time.Second, `up{job="prometheus"} == 1`, func() bool {
		v, _, _, err := client.Query(ctx, `up{job="prometheus"} == 1`, time.Now())
		if err != nil {
			return false
		}
		vec, ok := v.(model.Vector)
		return ok && len(vec) == 1 && vec[0].Metric["instance"] == model.LabelValue("localhost:"+port)
	})
	targets, err := client.Targets(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(targets.Active) != 1 || targets.Active[0].Health != v1.HealthGood || targets.Active[0].ScrapePool != "prometheus" {
		t.Errorf("targets = %+v", targets.Active)
	}
	if got := metricValue(t, ts.base, "prometheus_config_last_reload_successful"); got != "1" {
		t.Errorf("reload successful = %s after start", got)
	}
	_, selfMetrics := httpGet(ts.base + "/metrics")
	for _, name := range []string{"prometheus_build_info{", "vigil_build_info{", "prometheus_tsdb_head_series ", "prometheus_http_requests_total{", "prometheus_engine_queries "} {
		if !strings.Contains(selfMetrics, "\n"+name) {
			t.Errorf("/metrics lacks %s", name)
		}
	}

	// A good reload: a new external label shows in /status/config.
	good := strings.Replace(fmt.Sprintf(selfScrapeConfig, port), "global:\n", "global:\n  external_labels:\n    replica: a\n", 1)
	if err := os.WriteFile(cfgFile, []byte(good), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, body := httpPost(ts.base + "/-/reload"); code != http.StatusOK {
		t.Fatalf("good reload: %d %s", code, body)
	}
	cfg, err := client.Config(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(cfg.YAML, "replica: a") {
		t.Errorf("reloaded configuration not in force:\n%s", cfg.YAML)
	}

	// A bad reload is rejected with file and line; the old one stays.
	bad := good + "bogus_field: 1\n"
	if err := os.WriteFile(cfgFile, []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	code, body := httpPost(ts.base + "/-/reload")
	if code != http.StatusInternalServerError || !strings.Contains(body, cfgFile) || !strings.Contains(body, "line 10") {
		t.Errorf("bad reload: %d %q, want 500 naming %s and line 10", code, body, cfgFile)
	}
	if got := metricValue(t, ts.base, "prometheus_config_last_reload_successful"); got != "0" {
		t.Errorf("reload successful = %s after a bad reload", got)
	}
	cfg, err = client.Config(ctx)
	if err != nil || !strings.Contains(cfg.YAML, "replica: a") {
		t.Errorf("configuration after a bad reload: %v\n%s", err, cfg.YAML)
	}
	rt, err := client.Runtimeinfo(ctx)
	if err != nil || rt.ReloadConfigSuccess {
		t.Errorf("runtimeinfo after a bad reload: %+v %v", rt, err)
	}
	if v, _, _, err := client.Query(ctx, `up{job="prometheus"}`, time.Now()); err != nil || len(v.(model.Vector)) != 1 {
		t.Errorf("scraping stopped after a bad reload: %v %v", v, err)
	}

	// The SIGHUP path: fix the file and signal.
	if err := os.WriteFile(cfgFile, []byte(good), 0o644); err != nil {
		t.Fatal(err)
	}
	ts.reload <- struct{}{}
	waitFor(t, 5*time.Second, "reload through the signal path", func() bool {
		return metricValue(t, ts.base, "prometheus_config_last_reload_successful") == "1"
	})
	if v := metricValue(t, ts.base, "prometheus_config_last_reload_success_timestamp_seconds"); v == "0" {
		t.Errorf("reload timestamp not set")
	}
}

// TestServerDefaultConfig runs without --config.file in a directory
// without prometheus.yml: the embedded configuration scrapes the server
// on its real port, and the log says so.
func TestServerDefaultConfig(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	ts := startServer(t, "--web.listen-address=127.0.0.1:0", "--storage.tsdb.path="+filepath.Join(dir, "data"))
	_, port, _ := net.SplitHostPort(ts.listener.Addr().String())
	cfg, err := promClient(t, ts.base).Config(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"job_name: prometheus", "localhost:" + port, "scrape_interval: 15s", "metrics_path: /metrics"} {
		if !strings.Contains(cfg.YAML, want) {
			t.Errorf("default configuration lacks %q:\n%s", want, cfg.YAML)
		}
	}
	if !strings.Contains(ts.log.String(), "embedded default configuration") {
		t.Errorf("log does not mention the embedded configuration:\n%s", ts.log.String())
	}
	if code, _ := httpPost(ts.base + "/-/reload"); code != http.StatusForbidden {
		t.Errorf("/-/reload without --web.enable-lifecycle: %d, want 403", code)
	}
}

// TestServerDefaultConfigRoutePrefix checks that the self-scrape follows
// the route prefix.
func TestServerDefaultConfigRoutePrefix(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	ts := startServerAt(t, "/vigil", "--web.listen-address=127.0.0.1:0", "--web.external-url=http://example.com/vigil/",
		"--storage.tsdb.path="+filepath.Join(dir, "data"))
	if code, _ := httpGet(ts.base + "/vigil/-/healthy"); code != http.StatusOK {
		t.Errorf("healthy under the prefix: %d", code)
	}
	if code, _ := httpGet(ts.base + "/-/healthy"); code != http.StatusNotFound {
		t.Errorf("healthy outside the prefix: %d, want 404", code)
	}
	_, body := httpGet(ts.base + "/vigil/api/v1/status/config")
	if !strings.Contains(body, "metrics_path: /vigil/metrics") {
		t.Errorf("self-scrape ignores the route prefix: %s", body)
	}
}

// TestServerBadConfigFailsStartup: a configuration that does not load
// stops the server before it opens the database, naming file and line.
func TestServerBadConfigFailsStartup(t *testing.T) {
	dir := t.TempDir()
	cfgFile := filepath.Join(dir, "bad.yml")
	if err := os.WriteFile(cfgFile, []byte("global:\n  scrape_interval: 15s\nscrape_configz: []\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	f := parseServerFlags(t, "--config.file="+cfgFile, "--web.listen-address=127.0.0.1:0", "--storage.tsdb.path="+filepath.Join(dir, "data"))
	_, err := newServer(f, slog.New(slog.DiscardHandler))
	if err == nil || !strings.Contains(err.Error(), cfgFile) || !strings.Contains(err.Error(), "line 3") {
		t.Fatalf("error = %v, want one naming %s and line 3", err, cfgFile)
	}
	if _, err := os.Stat(filepath.Join(dir, "data")); err == nil {
		t.Error("the database was created although the configuration is bad")
	}
}

// TestBareVigilRunsServer drives the real command line: `vigil` without a
// subcommand is the server, and /-/quit ends it with exit code 0 after
// closing the database.
func TestBareVigilRunsServer(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	port := freePort(t)
	data := filepath.Join(dir, "data")
	var stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run([]string{"--web.listen-address=127.0.0.1:" + port, "--storage.tsdb.path=" + data, "--web.enable-lifecycle", "--log.format=json"},
			strings.NewReader(""), io.Discard, &stderr)
	}()
	base := "http://127.0.0.1:" + port
	waitFor(t, 20*time.Second, "ready", func() bool {
		code, _ := httpGet(base + "/-/ready")
		return code == http.StatusOK
	})
	flags, err := promClient(t, base).Flags(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{
		"storage.tsdb.path": data, "query.timeout": "2m", "query.max-samples": "50000000",
		"query.lookback-delta": "5m", "web.enable-lifecycle": "true", "config.file": "prometheus.yml",
	} {
		if flags[name] != want {
			t.Errorf("flag %s = %q, want %q", name, flags[name], want)
		}
	}
	// SIGHUP reloads: the signal handler is installed before the server
	// is ready, so the signal cannot kill the test binary.
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "reload on SIGHUP", func() bool {
		return strings.Count(stderr.String(), "Completed loading of configuration file") == 2
	})
	if code, body := httpPost(base + "/-/quit"); code != http.StatusOK {
		t.Fatalf("quit: %d %s", code, body)
	}
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("exit code %d; stderr:\n%s", code, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("server did not stop after /-/quit")
	}
	if !strings.Contains(stderr.String(), `"msg":"See you next time!"`) {
		t.Errorf("no JSON shutdown log line:\n%s", stderr.String())
	}
	// The database was closed: its lock can be taken again.
	db, err := tsdb.Open(data, tsdb.DefaultOptions())
	if err != nil {
		t.Fatalf("reopening the database: %v", err)
	}
	db.Close()
}

// TestSIGTERMStopsServer: SIGTERM ends `vigil server` gracefully with
// exit code 0.
func TestSIGTERMStopsServer(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	port := freePort(t)
	var stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run([]string{"server", "--web.listen-address=127.0.0.1:" + port, "--storage.tsdb.path=" + filepath.Join(dir, "data")},
			strings.NewReader(""), io.Discard, &stderr)
	}()
	waitFor(t, 20*time.Second, "ready", func() bool {
		code, _ := httpGet("http://127.0.0.1:" + port + "/-/ready")
		return code == http.StatusOK
	})
	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case code := <-done:
		if code != 0 || !strings.Contains(stderr.String(), "See you next time!") {
			t.Errorf("exit code %d; stderr:\n%s", code, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("server did not stop on SIGTERM")
	}
}

func TestServerFlagDefaults(t *testing.T) {
	f := parseServerFlags(t)
	if f.configFile != "prometheus.yml" || f.configFileSet || f.listenAddress != ":9090" || f.tsdbPath != "data/" ||
		time.Duration(f.queryTimeout) != 2*time.Minute || f.queryMaxConcurrency != 20 || f.queryMaxSamples != 50000000 ||
		time.Duration(f.lookbackDelta) != 5*time.Minute || time.Duration(f.readTimeout) != 5*time.Minute ||
		f.maxConnections != 512 || f.logLevel != "info" || f.logFormat != "logfmt" {
		t.Errorf("defaults: %+v", f)
	}
	for _, tc := range []struct {
		args []string
		d    time.Duration
		size int64
		text string
	}{
		{nil, 15 * 24 * time.Hour, 0, "15d"},
		{[]string{"--storage.tsdb.retention.size=1GB"}, 0, 1 << 30, "1GiB"},
		{[]string{"--storage.tsdb.retention.time=30d", "--storage.tsdb.retention.size=512MB"}, 30 * 24 * time.Hour, 512 << 20, "30d or 512MiB"},
		{[]string{"--storage.tsdb.retention.time=1h30m"}, 90 * time.Minute, 0, "1h30m"},
	} {
		f := parseServerFlags(t, tc.args...)
		d, size := f.retention()
		if d != tc.d || size != tc.size || f.retentionString() != tc.text {
			t.Errorf("%v: retention %v %d %q", tc.args, d, size, f.retentionString())
		}
	}
	app := kingpin.New("vigil", "")
	app.Terminate(nil)
	newCommands(app, strings.NewReader(""), io.Discard, io.Discard)
	if _, err := app.Parse([]string{"--query.timeout=2 minutes"}); err == nil {
		t.Error("a Go-style duration with spaces was accepted")
	}
	if _, err := app.Parse([]string{"--log.format=xml"}); err == nil {
		t.Error("--log.format=xml was accepted")
	}
}

func TestExternalURL(t *testing.T) {
	addr := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 9090}
	host, _ := os.Hostname()
	if u, err := externalURL("", addr); err != nil || u.String() != "http://"+net.JoinHostPort(host, "9090") {
		t.Errorf("default external URL: %v %v", u, err)
	}
	if u, err := externalURL("https://mon.example.com/vigil/", addr); err != nil || u.Path != "/vigil" || u.Host != "mon.example.com" {
		t.Errorf("external URL with a path: %v %v", u, err)
	}
	for _, bad := range []string{"ftp://x", "'http://x'", "::"} {
		if _, err := externalURL(bad, addr); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// TestDefaultConfigRenders: every variant of the embedded configuration
// loads and scrapes the server the way it listens.
func TestDefaultConfigRenders(t *testing.T) {
	for _, tc := range []struct {
		path string
		tls  bool
	}{{"/metrics", false}, {"/vigil/metrics", true}} {
		text, err := renderDefaultConfig(tc.path, "9191", tc.tls)
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := config.Load(text, "", nil)
		if err != nil {
			t.Fatalf("%s:\n%s", err, text)
		}
		scfgs, err := cfg.GetScrapeConfigs()
		if err != nil || len(scfgs) != 1 {
			t.Fatalf("scrape configs: %v %v", scfgs, err)
		}
		sc := scfgs[0]
		wantScheme := map[bool]string{false: "http", true: "https"}[tc.tls]
		if sc.JobName != "prometheus" || sc.MetricsPath != tc.path || sc.Scheme != wantScheme ||
			time.Duration(sc.ScrapeInterval) != 15*time.Second || sc.HTTPClientConfig.TLSConfig.InsecureSkipVerify != tc.tls {
			t.Errorf("tls=%v: %+v", tc.tls, sc)
		}
		if !strings.Contains(text, `targets: ["localhost:9191"]`) {
			t.Errorf("target missing:\n%s", text)
		}
	}
}
