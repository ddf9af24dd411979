//go:build interop

// Interop tests: the scrape manager against real exporters from Debian's
// packages (node exporter, Redis exporter beside redis-server, etcd),
// against TLS and authentication set up with the shared fixtures, and
// against targets that misbehave. They run with
//
//	go test -tags interop -run Interop ./internal/scrape/
//
// after .ci/install-interop.sh; with CI=true a missing binary fails them,
// elsewhere it skips them. Each component runs on free loopback ports in
// its own process group and temporary directory and is killed at the end.
// Everything is scraped into a real TSDB in a temporary directory.
package scrape

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vigil-monitoring/vigil/internal/model/labels"
	"github.com/vigil-monitoring/vigil/internal/model/metadata"
	"github.com/vigil-monitoring/vigil/internal/model/value"
)

const interopGlobal = "global:\n  scrape_interval: 1s\n  scrape_timeout: 900ms\nscrape_configs:\n"

// TestInteropExporters scrapes a real node exporter, a real Redis exporter
// beside a real redis-server, and a real etcd's /metrics.
func TestInteropExporters(t *testing.T) {
	requireInteropBinaries(t, nodeExporterBin, redisExporterBin, redisServerBin, etcdBin)
	nodeAddr := startNodeExporter(t)
	redisAddr := startRedisWithExporter(t)
	etcdAddr := startEtcd(t)
	t.Logf("node exporter %s, redis exporter %s, etcd %s", nodeAddr, redisAddr, etcdAddr)

	e := newInteropEnv(t, Options{})
	e.apply(interopGlobal+"- job_name: node\n- job_name: redis\n- job_name: etcd\n",
		map[string][]string{"node": {nodeAddr}, "redis": {redisAddr}, "etcd": {etcdAddr}})
	const limit = 20 * time.Second

	t.Run("node", func(t *testing.T) {
		tg := e.waitHealth(t, "node", HealthGood, 1, 2, limit)
		wantMetadata(t, tg, map[string]metadata.Type{
			"node_cpu_seconds_total":     metadata.TypeCounter,
			"node_load1":                 metadata.TypeGauge,
			"node_memory_MemTotal_bytes": metadata.TypeGauge,
			"vigil_interop_marker":       metadata.TypeGauge,
		})
		cpu := e.metric(t, "node", "node_cpu_seconds_total")
		if len(cpu) == 0 {
			t.Fatal("no node_cpu_seconds_total series")
		}
		idle := 0
		for _, s := range cpu {
			if s.lset.Get("cpu") == "" || s.lset.Get("mode") == "" || s.lset.Get("instance") != nodeAddr {
				t.Errorf("unexpected labels %s", s.lset)
			}
			if s.lset.Get("mode") != "idle" {
				continue
			}
			idle++
			for i := 1; i < len(s.samples); i++ {
				if s.samples[i].F < s.samples[i-1].F {
					t.Errorf("%s went down: %v then %v", s.lset, s.samples[i-1], s.samples[i])
				}
			}
		}
		if idle == 0 {
			t.Error("no idle CPU series")
		}
		if v, ok, desc := e.lastValue(t, "node", "node_load1"); !ok || v < 0 {
			t.Errorf("node_load1: %s", desc)
		}
		// The textfile collector's sample arrives with its own label and
		// the target's.
		if v, ok, desc := e.lastValue(t, "node", "vigil_interop_marker", labels.MustNewMatcher(labels.MatchEqual, "source", "textfile")); !ok || v != 42 {
			t.Errorf("vigil_interop_marker: %s, want 42", desc)
		}
		t.Logf("node: up=1, %d families, %d node_cpu_seconds_total series", tg.LengthMetadata(), len(cpu))
	})

	t.Run("redis", func(t *testing.T) {
		tg := e.waitHealth(t, "redis", HealthGood, 1, 2, limit)
		wantMetadata(t, tg, map[string]metadata.Type{
			"redis_up":                       metadata.TypeGauge,
			"redis_db_keys":                  metadata.TypeGauge,
			"redis_commands_processed_total": metadata.TypeCounter,
			"go_gc_duration_seconds":         metadata.TypeSummary,
		})
		if v, ok, desc := e.lastValue(t, "redis", "redis_up"); !ok || v != 1 {
			t.Errorf("redis_up: %s, want 1", desc)
		}
		// The key the test stored through the server shows up through the
		// exporter.
		if v, ok, desc := e.lastValue(t, "redis", "redis_db_keys", labels.MustNewMatcher(labels.MatchEqual, "db", "db0")); !ok || v != 1 {
			t.Errorf("redis_db_keys{db=\"db0\"}: %s, want 1", desc)
		}
		if q := e.metric(t, "redis", "go_gc_duration_seconds", labels.MustNewMatcher(labels.MatchEqual, "quantile", "0.5")); len(q) != 1 {
			t.Errorf("summary quantile series go_gc_duration_seconds{quantile=\"0.5\"}: %d series", len(q))
		}
		t.Logf("redis: up=1, redis_up=1, %d families", tg.LengthMetadata())
	})

	t.Run("etcd", func(t *testing.T) {
		tg := e.waitHealth(t, "etcd", HealthGood, 1, 2, limit)
		eventually(t, limit, "etcd_server_has_leader 1", func() (bool, string) {
			v, ok, desc := e.lastValue(t, "etcd", "etcd_server_has_leader")
			return ok && v == 1, desc
		})
		const hist = "etcd_disk_wal_fsync_duration_seconds"
		wantMetadata(t, tg, map[string]metadata.Type{
			"etcd_server_has_leader":                metadata.TypeGauge,
			hist:                                    metadata.TypeHistogram,
			"etcd_server_leader_changes_seen_total": metadata.TypeCounter,
		})
		buckets := e.metric(t, "etcd", hist+"_bucket")
		var (
			les []float64
			inf iopSeries
		)
		for _, s := range buckets {
			le := s.lset.Get("le")
			if le == "+Inf" {
				inf = s
				continue
			}
			f, err := strconv.ParseFloat(le, 64)
			if err != nil {
				t.Errorf("bucket %s: bad le: %v", s.lset, err)
			}
			les = append(les, f)
		}
		if len(les) < 2 || inf.samples == nil {
			t.Fatalf("%s_bucket: %d finite buckets, +Inf present %v", hist, len(les), inf.samples != nil)
		}
		count, ok := e.single(t, "etcd", hist+"_count")
		if !ok {
			t.Fatalf("no %s_count", hist)
		}
		if _, ok := e.single(t, "etcd", hist+"_sum"); !ok {
			t.Errorf("no %s_sum", hist)
		}
		// The +Inf bucket and the count come from one scrape of one
		// histogram: equal at every common timestamp.
		byT := map[int64]float64{}
		for _, s := range count.samples {
			byT[s.T] = s.F
		}
		compared := 0
		for _, s := range inf.samples {
			if c, ok := byT[s.T]; ok {
				compared++
				if c != s.F {
					t.Errorf("at %d: +Inf bucket %v != count %v", s.T, s.F, c)
				}
			}
		}
		if compared == 0 || inf.last().F <= 0 {
			t.Errorf("+Inf bucket and count: %d common samples, last +Inf %v (the WAL has been synced at start)", compared, inf.last().F)
		}
		sort.Float64s(les)
		t.Logf("etcd: up=1, has_leader=1, %d families, %s has %d buckets (le %v..%v, +Inf=%v)", tg.LengthMetadata(), hist, len(les)+1, les[0], les[len(les)-1], inf.last().F)
	})
}

// TestInteropTLSAndAuth scrapes HTTPS targets with the shared certificate
// fixtures: client certificates, basic auth, a bearer token file and
// server_name, and the ways each goes wrong.
func TestInteropTLSAndAuth(t *testing.T) {
	dir := interopSharedDir(t, "scrape-tls")
	fx := func(name string) string { return filepath.Join(dir, name) }
	tokenBytes, err := os.ReadFile(fx("bearertoken.txt"))
	if err != nil {
		t.Fatal(err)
	}
	token := strings.TrimSpace(string(tokenBytes))
	caPEM, err := os.ReadFile(fx("ca.cer"))
	if err != nil {
		t.Fatal(err)
	}
	caPool := x509.NewCertPool()
	if !caPool.AppendCertsFromPEM(caPEM) {
		t.Fatal("ca.cer holds no certificate")
	}
	const user, password = "vigil", "s3cret"
	pwFile := filepath.Join(t.TempDir(), "password")
	if err := os.WriteFile(pwFile, []byte(password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	// Server A wants a client certificate from the fixtures' CA, and
	// basic auth on /basic or the bearer token on /bearer.
	var (
		mu      sync.Mutex
		served  = map[string]int{}
		peerCNs = map[string]bool{}
	)
	authed := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/basic":
			if u, p, ok := r.BasicAuth(); !ok || u != user || p != password {
				w.Header().Set("WWW-Authenticate", `Basic realm="interop"`)
				http.Error(w, "wrong credentials", http.StatusUnauthorized)
				return
			}
		case "/bearer":
			if r.Header.Get("Authorization") != "Bearer "+token {
				http.Error(w, "wrong token", http.StatusUnauthorized)
				return
			}
		default:
			http.NotFound(w, r)
			return
		}
		mu.Lock()
		served[r.URL.Path]++
		n := served[r.URL.Path]
		if len(r.TLS.PeerCertificates) > 0 {
			peerCNs[r.TLS.PeerCertificates[0].Subject.CommonName] = true
		}
		mu.Unlock()
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		fmt.Fprintf(w, "# TYPE interop_tls_requests_total counter\ninterop_tls_requests_total{path=%q} %d\n", r.URL.Path, n)
	})
	serverA := startTLSServer(t, authed, fx("server.cer"), fx("server.key"), caPool)
	// Server B's certificate names only prometheus.rocks.
	serverB := startTLSServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		fmt.Fprint(w, "# TYPE interop_server_name gauge\ninterop_server_name 1\n")
	}), fx("servername.cer"), fx("servername.key"), nil)
	otherCA := writeOtherCA(t)

	clientTLS := fmt.Sprintf("  tls_config:\n    ca_file: %q\n    cert_file: %q\n    key_file: %q\n", fx("ca.cer"), fx("client.cer"), fx("client.key"))
	basic := fmt.Sprintf("  basic_auth:\n    username: %s\n    password_file: %q\n", user, pwFile)
	cfg := interopGlobal +
		"- job_name: tls_basic\n  scheme: https\n  metrics_path: /basic\n" + clientTLS + basic +
		fmt.Sprintf("- job_name: tls_bearer\n  scheme: https\n  metrics_path: /bearer\n%s  bearer_token_file: %q\n", clientTLS, fx("bearertoken.txt")) +
		fmt.Sprintf("- job_name: tls_server_name\n  scheme: https\n  tls_config:\n    ca_file: %q\n    server_name: prometheus.rocks\n", fx("ca.cer")) +
		fmt.Sprintf("- job_name: tls_wrong_ca\n  scheme: https\n  metrics_path: /basic\n  tls_config:\n    ca_file: %q\n    cert_file: %q\n    key_file: %q\n", otherCA, fx("client.cer"), fx("client.key")) + basic +
		"- job_name: tls_wrong_password\n  scheme: https\n  metrics_path: /basic\n" + clientTLS + fmt.Sprintf("  basic_auth:\n    username: %s\n    password: not-%s\n", user, password) +
		"- job_name: tls_wrong_token\n  scheme: https\n  metrics_path: /bearer\n" + clientTLS + "  authorization:\n    credentials: not-the-token\n" +
		fmt.Sprintf("- job_name: tls_no_client_cert\n  scheme: https\n  metrics_path: /basic\n  tls_config:\n    ca_file: %q\n", fx("ca.cer")) + basic +
		fmt.Sprintf("- job_name: tls_no_server_name\n  scheme: https\n  tls_config:\n    ca_file: %q\n", fx("ca.cer"))
	a, b := serverA.Listener.Addr().String(), serverB.Listener.Addr().String()
	e := newInteropEnv(t, Options{})
	e.apply(cfg, map[string][]string{
		"tls_basic": {a}, "tls_bearer": {a}, "tls_server_name": {b},
		"tls_wrong_ca": {a}, "tls_wrong_password": {a}, "tls_wrong_token": {a},
		"tls_no_client_cert": {a}, "tls_no_server_name": {b},
	})
	const limit = 15 * time.Second

	for _, tc := range []struct {
		job, metric string
	}{
		{"tls_basic", "interop_tls_requests_total"},
		{"tls_bearer", "interop_tls_requests_total"},
		{"tls_server_name", "interop_server_name"},
	} {
		t.Run(tc.job, func(t *testing.T) {
			tg := e.waitHealth(t, tc.job, HealthGood, 1, 2, limit)
			if tg.LastError() != nil {
				t.Errorf("last error %v on a healthy target", tg.LastError())
			}
			if v, ok, desc := e.lastValue(t, tc.job, tc.metric); !ok || v < 1 {
				t.Errorf("%s: %s", tc.metric, desc)
			}
			t.Logf("%s: up=1", tc.job)
		})
	}
	mu.Lock()
	if !peerCNs["testuser"] || len(peerCNs) != 1 {
		t.Errorf("client certificates seen by the server: %v, want only testuser's", peerCNs)
	}
	mu.Unlock()

	for _, tc := range []struct {
		job  string
		want []string
	}{
		{"tls_wrong_ca", []string{"x509", "certificate signed by unknown authority"}},
		{"tls_wrong_password", []string{"server returned HTTP status 401 Unauthorized"}},
		{"tls_wrong_token", []string{"server returned HTTP status 401 Unauthorized"}},
		{"tls_no_client_cert", []string{"tls", "certificate required"}},
		{"tls_no_server_name", []string{"x509", "127.0.0.1", "IP SANs"}},
	} {
		t.Run(tc.job, func(t *testing.T) {
			tg := e.waitHealth(t, tc.job, HealthBad, 0, 2, limit)
			wantErrorContaining(t, tg, tc.want...)
			t.Logf("%s: up=0, last error: %v", tc.job, tg.LastError())
		})
	}
}

// startTLSServer serves h over TLS with the certificate pair; with
// clientCAs it requires and verifies a client certificate.
func startTLSServer(t *testing.T, h http.Handler, certFile, keyFile string, clientCAs *x509.CertPool) *httptest.Server {
	t.Helper()
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(h)
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	if clientCAs != nil {
		srv.TLS.ClientCAs = clientCAs
		srv.TLS.ClientAuth = tls.RequireAndVerifyClientCert
	}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the failing handshakes are the point
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

// interopCounter counts the requests an in-process target served.
type interopCounter struct{ n atomic.Int64 }

func (c *interopCounter) wrap(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c.n.Add(1)
		h(w, r)
	}
}

const (
	hugeBodyBytes = 100 << 20
	manySeries    = 1_000_000
)

const interopHTML = "<!DOCTYPE html>\n<html><head><title>Login</title></head>\n<body><p>Please sign in.</p></body></html>\n"

// TestInteropBadTargets runs misbehaving targets beside good ones: each bad
// target is down with an error naming the cause, memory stays bounded
// while a target sends 100 MB, and the good targets (an in-process one
// and a real node exporter) are scraped on every interval throughout.
func TestInteropBadTargets(t *testing.T) {
	requireInteropBinaries(t, nodeExporterBin)
	nodeAddr := startNodeExporter(t)

	var goodReqs interopCounter
	good := serve(t, goodReqs.wrap(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		fmt.Fprintf(w, "# TYPE interop_good_requests_total counter\ninterop_good_requests_total %d\n", goodReqs.n.Load())
	}))
	html := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, interopHTML)
	}))
	// An HTML page that claims to be the text format: the parser has to
	// reject it.
	htmlAsText := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		io.WriteString(w, interopHTML)
	}))

	// huge streams 100 MB of valid lines, chunked (no Content-Length, so
	// the limit is found by reading), and records how far each response got.
	var (
		hugeReqs     interopCounter
		hugeMu       sync.Mutex
		hugeFinished []int64 // bytes written by each finished response
	)
	hugeLine := []byte("interop_huge_padding_series{some_label=\"some fairly long value to fill the body quickly\"} 1\n")
	hugeChunk := make([]byte, 0, 64<<10)
	for len(hugeChunk)+len(hugeLine) <= cap(hugeChunk) {
		hugeChunk = append(hugeChunk, hugeLine...)
	}
	huge := serve(t, hugeReqs.wrap(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		var written int64
		for written < hugeBodyBytes {
			n, err := w.Write(hugeChunk[:min(int64(len(hugeChunk)), hugeBodyBytes-written)])
			written += int64(n)
			if err != nil {
				break
			}
		}
		hugeMu.Lock()
		hugeFinished = append(hugeFinished, written)
		hugeMu.Unlock()
	}))

	// slow never answers; it lets go when the scraper gives up.
	stopSlow := make(chan struct{})
	slow := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-stopSlow:
		}
	}))
	t.Cleanup(func() { close(stopSlow) }) // runs before the server closes

	// many streams a million series, generated line by line.
	var manyReqs interopCounter
	many := serve(t, manyReqs.wrap(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		bw := bufio.NewWriterSize(w, 64<<10)
		bw.WriteString("# HELP interop_many One of very many series.\n# TYPE interop_many gauge\n")
		line := make([]byte, 0, 64)
		for i := range manySeries {
			line = append(line[:0], `interop_many{series="`...)
			line = strconv.AppendInt(line, int64(i), 10)
			line = append(line, `"} `...)
			line = strconv.AppendInt(line, int64(i%97), 10)
			line = append(line, '\n')
			if _, err := bw.Write(line); err != nil {
				return
			}
		}
		bw.Flush()
	}))

	jobsA := interopGlobal +
		"- job_name: good\n- job_name: node\n" +
		"- job_name: html\n" +
		"- job_name: html_as_text\n" +
		"- job_name: huge\n  body_size_limit: 5MB\n" +
		"- job_name: slow\n  scrape_timeout: 500ms\n"
	targetsA := map[string][]string{
		"good": {hostOf(good)}, "node": {nodeAddr},
		"html": {hostOf(html)}, "html_as_text": {hostOf(htmlAsText)},
		"huge": {hostOf(huge)}, "slow": {hostOf(slow)},
	}

	// Memory: the heap is sampled while the 100 MB target is scraped.
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	baseHeap := ms.HeapAlloc
	var peakHeap atomic.Uint64
	stopSampling, sampled := make(chan struct{}), make(chan struct{})
	stopSampler := sync.OnceFunc(func() {
		close(stopSampling)
		<-sampled
	})
	t.Cleanup(stopSampler)
	go func() {
		defer close(sampled)
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapAlloc > peakHeap.Load() {
				peakHeap.Store(ms.HeapAlloc)
			}
			select {
			case <-stopSampling:
				return
			case <-tick.C:
			}
		}
	}()

	stalls := startStallWatch(t)
	e := newInteropEnv(t, Options{ExtraMetrics: true})
	e.apply(jobsA, targetsA)
	const limit = 15 * time.Second

	// The window in which the good targets must not miss a slot starts
	// with their first scrapes and spans both phases.
	e.waitHealth(t, "good", HealthGood, 1, 1, limit)
	e.waitHealth(t, "node", HealthGood, 1, 1, limit)
	windowStart := time.Now()
	failures := watchFailures(t, e, "good", "node")

	t.Run("body_size_limit", func(t *testing.T) {
		start := hugeReqs.n.Load()
		tg := e.waitHealth(t, "huge", HealthBad, 0, 3, limit)
		eventually(t, limit, "three finished responses of the huge target", func() (bool, string) {
			hugeMu.Lock()
			defer hugeMu.Unlock()
			return hugeReqs.n.Load()-start >= 3 && len(hugeFinished) >= 3, fmt.Sprintf("%d requests, %d finished", hugeReqs.n.Load(), len(hugeFinished))
		})
		stopSampler()
		wantErrorContaining(t, tg, "body size limit exceeded")
		if v, ok, desc := e.lastValue(t, "huge", "scrape_body_size_bytes"); !ok || v != -1 {
			t.Errorf("scrape_body_size_bytes: %s, want -1", desc)
		}
		if n := counterValue(e.m.metrics.exceededBodySizeLimit); n < 3 {
			t.Errorf("prometheus_target_scrapes_exceeded_body_size_limit_total = %v, want >= 3", n)
		}
		// The scraper hung up rather than reading on: no response got
		// to its end.
		hugeMu.Lock()
		for i, n := range hugeFinished {
			if n >= hugeBodyBytes {
				t.Errorf("response %d was sent in full (%d bytes): the scraper read past the limit", i, n)
			}
		}
		sent := append([]int64(nil), hugeFinished...)
		hugeMu.Unlock()
		peak := peakHeap.Load()
		delta := int64(peak) - int64(baseHeap)
		t.Logf("huge: up=0, last error %q; bytes sent per response %v; heap base %.1f MiB, peak %.1f MiB (delta %.1f MiB)",
			tg.LastError(), sent, float64(baseHeap)/(1<<20), float64(peak)/(1<<20), float64(delta)/(1<<20))
		if delta > 64<<20 {
			t.Errorf("heap grew by %d MiB while a 100 MiB body was refused at 5 MiB", delta>>20)
		}
	})

	t.Run("html", func(t *testing.T) {
		tg := e.waitHealth(t, "html", HealthBad, 0, 2, limit)
		wantErrorContaining(t, tg, "Content-Type", "text/html")
		t.Logf("html: up=0, last error %q", tg.LastError())
	})

	t.Run("html_as_text", func(t *testing.T) {
		tg := e.waitHealth(t, "html_as_text", HealthBad, 0, 2, limit)
		// The parser names what it found instead of a sample.
		wantErrorContaining(t, tg, "line 1", "<!DOCTYPE")
		if got := e.metric(t, "html_as_text", "scrape_samples_scraped"); len(got) != 1 {
			t.Errorf("scrape_samples_scraped: %d series", len(got))
		}
		t.Logf("html_as_text: up=0, last error %q", tg.LastError())
	})

	t.Run("timeout", func(t *testing.T) {
		tg := e.waitHealth(t, "slow", HealthBad, 0, 2, limit)
		wantErrorContaining(t, tg, "context deadline exceeded")
		if d := tg.LastScrapeDuration(); d < 500*time.Millisecond || d >= time.Second {
			t.Errorf("last scrape took %v, want the 500ms timeout", d)
		}
		if v, ok, desc := e.lastValue(t, "slow", "scrape_duration_seconds"); !ok || v < 0.5 || v >= 1 {
			t.Errorf("scrape_duration_seconds: %s, want about 0.5", desc)
		}
		t.Logf("slow: up=0, last error %q after %v", tg.LastError(), tg.LastScrapeDuration())
	})

	// Phase B: a million series against a sample_limit of 1000, added by
	// a configuration reload that must leave the other jobs running.
	t.Run("sample_limit", func(t *testing.T) {
		// Its interval is 3s: one scrape of a million series takes a core
		// for a second or more here.
		e.apply(jobsA+"- job_name: many\n  sample_limit: 1000\n  scrape_interval: 3s\n  scrape_timeout: 2500ms\n", map[string][]string{
			"good": {hostOf(good)}, "node": {nodeAddr},
			"html": {hostOf(html)}, "html_as_text": {hostOf(htmlAsText)},
			"huge": {hostOf(huge)}, "slow": {hostOf(slow)},
			"many": {hostOf(many)},
		})
		// On a machine busy with other work the body may take longer than
		// the timeout now and then; what is waited for is a scrape that
		// fetched it all and failed on the limit, after two before it.
		var tg *Target
		eventually(t, 40*time.Second, "a scrape of the many-series target failing on sample_limit", func() (bool, string) {
			tg = e.target("many")
			if tg == nil {
				return false, "no active target"
			}
			up, ok := e.single(t, "many", "up")
			if !ok {
				return false, "no up series"
			}
			scraped, _, _ := e.lastValue(t, "many", "scrape_samples_scraped")
			state := fmt.Sprintf("health %s, last error %v, up=%v after %d scrapes, scrape_samples_scraped %v", tg.Health(), tg.LastError(), up.last().F, len(up.samples), scraped)
			return tg.Health() == HealthBad && up.last().F == 0 && len(up.samples) >= 3 &&
				tg.LastError() != nil && strings.Contains(tg.LastError().Error(), "sample limit exceeded") && scraped == manySeries, state
		})
		if v, ok, desc := e.lastValue(t, "many", "scrape_sample_limit"); !ok || v != 1000 {
			t.Errorf("scrape_sample_limit: %s, want 1000", desc)
		}
		// The failed scrapes were rolled back: nothing of the body is stored.
		stored := 0
		for _, s := range e.metric(t, "many", "interop_many") {
			stored += len(s.samples)
		}
		if stored != 0 {
			t.Errorf("%d samples of interop_many stored from scrapes over the sample limit", stored)
		}
		if n := counterValue(e.m.metrics.exceededSampleLimit); n < 1 {
			t.Errorf("prometheus_target_scrapes_exceeded_sample_limit_total = %v, want >= 1", n)
		}
		t.Logf("many: up=0, last error %q, scrape_samples_scraped %d, %d requests, last scrape took %v", tg.LastError(), manySeries, manyReqs.n.Load(), tg.LastScrapeDuration())
	})

	t.Run("good_targets_on_time", func(t *testing.T) {
		// At least 8 intervals in the window, however fast the above went.
		const minWindow = 8 * time.Second
		windowEnd := windowStart.Add(minWindow)
		if now := time.Now(); now.After(windowEnd) {
			windowEnd = now
		}
		for _, job := range []string{"good", "node"} {
			eventually(t, minWindow+5*time.Second, job+" scraped past the window's end", func() (bool, string) {
				s, ok := e.single(t, job, "up")
				if !ok {
					return false, "no up series"
				}
				return value.Time(s.last().T).After(windowEnd.Add(time.Second)), fmt.Sprintf("last scrape at %v", value.Time(s.last().T))
			})
			// The in-process target must also answer every time; the
			// node exporter is another process, which a busy machine may
			// slow past the timeout: what is checked of it is that it was
			// scraped in every slot.
			checkOnTime(t, e, job, windowStart, windowEnd, stalls, failures, job == "good")
		}
	})
}

// checkOnTime checks that the target was scraped in every slot of its
// interval between from and to, starting no more than 100ms after the slot
// or after the end of the target's previous scrape (a loop scrapes one
// target at a time: a slow target delays its own next scrape, and only
// that), and, with wantUp, that every scrape succeeded. A slot missed or
// started late while the test process itself stalled about as long is
// excused (and logged): the machine was busy, not the manager.
func checkOnTime(t *testing.T, e *interopEnv, job string, from, to time.Time, stalls *stallWatch, failures *failureLog, wantUp bool) {
	t.Helper()
	tg := e.target(job)
	up, ok := e.single(t, job, "up")
	dur, ok2 := e.single(t, job, "scrape_duration_seconds")
	if tg == nil || !ok || !ok2 {
		t.Fatalf("%s: no target or no up or scrape_duration_seconds series", job)
	}
	took := map[int64]time.Duration{}
	for _, s := range dur.samples {
		took[s.T] = time.Duration(s.F * float64(time.Second))
	}
	interval := tg.Interval()
	ms := interval.Milliseconds()
	const lateOK = 100 * time.Millisecond
	// Scrapes on time are stamped with their slot's time exactly, so the
	// most common offset within the interval is the target's phase.
	offsets := map[int64]int{}
	phase, best := int64(0), 0
	for _, s := range up.samples {
		o := s.T % ms
		offsets[o]++
		if offsets[o] > best {
			phase, best = o, offsets[o]
		}
	}
	first := (from.UnixMilli()-phase+ms-1)/ms*ms + phase // first slot at or after from
	slots, late, excused := 0, 0, 0
	i := 0
	for slot := first; slot+ms <= to.UnixMilli(); slot += ms {
		slots++
		for i < len(up.samples) && up.samples[i].T < slot {
			i++
		}
		slotT := value.Time(slot)
		// When the previous scrape ended: the earliest this one could start.
		ready := slotT
		if i > 0 {
			p := up.samples[i-1]
			ready = maxTime(ready, value.Time(p.T).Add(took[p.T]))
		}
		if i == len(up.samples) || up.samples[i].T >= slot+ms {
			switch st := stalls.total(slotT.Add(-interval), slotT.Add(interval)); {
			case !ready.Before(slotT.Add(interval)):
				t.Logf("%s: slot %v not scraped: the previous scrape ran until %v", job, slotT, ready)
			case st >= interval-lateOK:
				excused++
				t.Logf("%s: slot %v not scraped, excused: the test process itself stalled for %v then", job, slotT, st)
			default:
				t.Errorf("%s: slot %v was not scraped, while the test process ran on time", job, slotT)
			}
			continue
		}
		s := up.samples[i]
		if d := value.Time(s.T).Sub(ready); d > lateOK {
			if st := stalls.total(ready, value.Time(s.T)); st >= d-lateOK {
				excused++
				t.Logf("%s: slot %v scraped %v late, excused: the test process itself stalled for %v then", job, slotT, d, st)
			} else {
				late++
				t.Errorf("%s: slot %v scraped %v after it could have been (slot or end of the previous scrape at %v), while the test process ran on time", job, slotT, d, ready)
			}
		}
		if s.F == 1 {
			continue
		}
		cause := failures.near(job, value.Time(s.T))
		switch st := stalls.total(slotT.Add(-interval), slotT.Add(interval)); {
		case st >= tg.Timeout()/3:
			t.Logf("%s: up=%v at %v (%v), excused: the test process itself stalled for %v then", job, s.F, slotT, cause, st)
		case !wantUp:
			t.Logf("%s: up=%v at %v (%v): the target failed, the scrape was on time", job, s.F, slotT, cause)
		default:
			t.Errorf("%s: up=%v at %v (%v)", job, s.F, slotT, cause)
		}
	}
	if slots < 6 {
		t.Errorf("%s: only %d slots of %v between %v and %v", job, slots, interval, from, to)
	}
	t.Logf("%s: %d slots of %v from %v to %v: %d scraped on time, %d late, %d excused", job, slots, interval,
		from.Format("15:04:05.000"), to.Format("15:04:05.000"), slots-late-excused, late, excused)
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// failureLog remembers the errors of failed scrapes of some targets,
// polled from their status, to explain an up=0 found in storage later.
type failureLog struct {
	mu   sync.Mutex
	errs map[string][]failure
}

type failure struct {
	at  time.Time // when the scrape started
	err error
}

// watchFailures polls the jobs' targets every 10ms until the test ends.
func watchFailures(t *testing.T, e *interopEnv, jobs ...string) *failureLog {
	l := &failureLog{errs: map[string][]failure{}}
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		seen := map[string]time.Time{}
		for {
			for _, job := range jobs {
				tg := e.target(job)
				if tg == nil {
					continue
				}
				at, err := tg.LastScrape(), tg.LastError()
				if err != nil && !at.Equal(seen[job]) {
					seen[job] = at
					l.mu.Lock()
					l.errs[job] = append(l.errs[job], failure{at: at, err: err})
					l.mu.Unlock()
				}
			}
			select {
			case <-stop:
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
	}()
	t.Cleanup(func() {
		close(stop)
		<-done
	})
	return l
}

// near returns the error of the job's failed scrape that started closest
// to at, within a second.
func (l *failureLog) near(job string, at time.Time) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	res, best := "error not seen", time.Second
	for _, f := range l.errs[job] {
		if d := f.at.Sub(at).Abs(); d < best {
			res, best = f.err.Error(), d
		}
	}
	return res
}

// interopInterval returns the interval the job's target is scraped at.
func interopInterval(t *testing.T, e *interopEnv, job string) time.Duration {
	t.Helper()
	tg := e.target(job)
	if tg == nil {
		t.Fatalf("no target for %s", job)
	}
	return tg.Interval()
}
