package web

import (
	"compress/gzip"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vigil-monitoring/vigil/internal/model/labels"
	"github.com/vigil-monitoring/vigil/internal/storage"
)

// stubAPI answers every API request with a fixed JSON body, so these
// tests see what web adds around the API.
var stubAPI = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/empty" {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	io.WriteString(w, `{"status":"success","data":"`+r.URL.Path+`"}`)
})

type lifecycle struct {
	ready     atomic.Bool
	reloads   atomic.Int32
	reloadErr error
	quits     atomic.Int32
}

func newTestHandler(t *testing.T, mod func(*Options)) (*Handler, *lifecycle) {
	t.Helper()
	lc := &lifecycle{}
	opts := Options{
		ListenAddress:  ":9090",
		RoutePrefix:    "/",
		API:            stubAPI,
		Queryable:      storage.QueryableFunc(func(int64, int64) (storage.Querier, error) { return storage.NoopQuerier(), nil }),
		LookbackDelta:  5 * time.Minute,
		ExternalLabels: func() labels.Labels { return labels.EmptyLabels() },
		Gatherer:       prometheus.NewRegistry(),
		Registerer:     prometheus.NewRegistry(),
		Ready:          lc.ready.Load,
		Reload: func() error {
			lc.reloads.Add(1)
			return lc.reloadErr
		},
		Quit: func() { lc.quits.Add(1) },
	}
	if mod != nil {
		mod(&opts)
	}
	return New(opts), lc
}

func do(h http.Handler, method, target string, hdr ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, target, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestHealthyAndReady(t *testing.T) {
	h, lc := newTestHandler(t, nil)
	for _, m := range []string{"GET", "HEAD"} {
		if rec := do(h, m, "/-/healthy"); rec.Code != 200 {
			t.Errorf("%s /-/healthy: %d", m, rec.Code)
		}
		if rec := do(h, m, "/-/ready"); rec.Code != 503 {
			t.Errorf("%s /-/ready before ready: %d", m, rec.Code)
		}
	}
	if rec := do(h, "GET", "/federate?match[]=up"); rec.Code != 503 {
		t.Errorf("/federate before ready: %d", rec.Code)
	}
	lc.ready.Store(true)
	if rec := do(h, "GET", "/-/ready"); rec.Code != 200 || !strings.Contains(rec.Body.String(), "Ready") {
		t.Errorf("/-/ready when ready: %d %q", rec.Code, rec.Body)
	}
	if rec := do(h, "HEAD", "/-/healthy"); rec.Body.Len() != 0 {
		t.Errorf("HEAD has a body: %q", rec.Body)
	}
	if rec := do(h, "POST", "/-/healthy"); rec.Code != 405 {
		t.Errorf("POST /-/healthy: %d", rec.Code)
	}
}

func TestLifecycle(t *testing.T) {
	h, lc := newTestHandler(t, nil)
	for _, path := range []string{"/-/reload", "/-/quit"} {
		if rec := do(h, "POST", path); rec.Code != 403 || !strings.Contains(rec.Body.String(), "Lifecycle API is not enabled") {
			t.Errorf("%s disabled: %d %q", path, rec.Code, rec.Body)
		}
	}
	if lc.reloads.Load() != 0 || lc.quits.Load() != 0 {
		t.Fatal("disabled lifecycle endpoints acted")
	}
	h, lc = newTestHandler(t, func(o *Options) { o.EnableLifecycle = true })
	if rec := do(h, "PUT", "/-/reload"); rec.Code != 200 || lc.reloads.Load() != 1 {
		t.Errorf("reload: %d, %d reloads", rec.Code, lc.reloads.Load())
	}
	lc.reloadErr = errors.New(`parsing YAML file x.yml: line 3: field foo not found`)
	if rec := do(h, "POST", "/-/reload"); rec.Code != 500 || !strings.Contains(rec.Body.String(), "x.yml: line 3") {
		t.Errorf("failed reload: %d %q", rec.Code, rec.Body)
	}
	if rec := do(h, "GET", "/-/reload"); rec.Code != 405 {
		t.Errorf("GET /-/reload: %d", rec.Code)
	}
	do(h, "POST", "/-/quit")
	do(h, "PUT", "/-/quit")
	if lc.quits.Load() != 1 {
		t.Errorf("quit called %d times, want 1", lc.quits.Load())
	}
}

func TestRoutePrefix(t *testing.T) {
	h, lc := newTestHandler(t, func(o *Options) { o.RoutePrefix = "/vigil/" })
	lc.ready.Store(true)
	if rec := do(h, "GET", "/vigil/-/ready"); rec.Code != 200 {
		t.Errorf("prefixed ready: %d", rec.Code)
	}
	if rec := do(h, "GET", "/vigil/api/v1/labels"); rec.Code != 200 || !strings.Contains(rec.Body.String(), `"data":"/labels"`) {
		t.Errorf("prefixed API: %d %s", rec.Code, rec.Body)
	}
	if rec := do(h, "GET", "/api/v1/labels"); rec.Code != 404 {
		t.Errorf("API outside the prefix: %d", rec.Code)
	}
	for _, path := range []string{"/", "/vigil", "/vigil/"} {
		if rec := do(h, "GET", path); rec.Code != http.StatusFound || rec.Header().Get("Location") != "/vigil/query" {
			t.Errorf("%s: %d %v", path, rec.Code, rec.Header())
		}
	}
	if rec := do(h, "GET", "/vigil/targets"); rec.Code != 200 || !strings.Contains(rec.Body.String(), `<meta name="vigil-route-prefix" content="/vigil">`) {
		t.Errorf("UI page under the prefix: %d %s", rec.Code, rec.Body)
	}
	if rec := do(h, "GET", "/targets"); rec.Code != 404 {
		t.Errorf("UI page outside the prefix: %d", rec.Code)
	}
	if rec := do(h, "GET", "/vigil/assets/app.js"); rec.Code != 200 || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/javascript") {
		t.Errorf("asset under the prefix: %d %v", rec.Code, rec.Header())
	}
	if rec := do(h, "GET", "/vigil/debug/pprof/"); rec.Code != 200 || !strings.Contains(rec.Body.String(), "goroutine") {
		t.Errorf("pprof index under the prefix: %d", rec.Code)
	}
	if rec := do(h, "GET", "/vigil/debug/pprof/heap?debug=1"); rec.Code != 200 || !strings.Contains(rec.Body.String(), "heap profile") {
		t.Errorf("pprof heap under the prefix: %d", rec.Code)
	}
	// Grafana must not mistake the server for Mimir.
	if rec := do(h, "GET", "/vigil/alertmanager/api/v2/status"); rec.Code != 404 {
		t.Errorf("/alertmanager/api/v2/status: %d", rec.Code)
	}
}

// TestUIRoutes: every page route answers with the UI's index.html, the
// bare root leads to the query page, and the assets are served.
func TestUIRoutes(t *testing.T) {
	h, _ := newTestHandler(t, nil)
	if rec := do(h, "GET", "/"); rec.Code != http.StatusFound || rec.Header().Get("Location") != "/query" {
		t.Errorf("root: %d %v", rec.Code, rec.Header())
	}
	for _, page := range []string{"query", "alerts", "rules", "targets", "service-discovery", "status", "tsdb-status", "flags", "config"} {
		rec := do(h, "GET", "/"+page+"?g0.expr=up")
		if rec.Code != 200 || rec.Header().Get("Content-Type") != "text/html; charset=utf-8" ||
			!strings.Contains(rec.Body.String(), `<meta name="vigil-route-prefix" content="">`) ||
			!strings.Contains(rec.Body.String(), `assets/app.js`) {
			t.Errorf("/%s: %d %v\n%s", page, rec.Code, rec.Header(), rec.Body)
		}
	}
	// Behind a proxy that strips the external URL's path, the redirect
	// keeps the path the browser uses.
	h, _ = newTestHandler(t, func(o *Options) { o.ExternalURL = &url.URL{Scheme: "http", Host: "example.com", Path: "/monitoring/"} })
	if rec := do(h, "GET", "/"); rec.Code != http.StatusFound || rec.Header().Get("Location") != "/monitoring/query" {
		t.Errorf("root with external URL: %d %v", rec.Code, rec.Header())
	}
	if rec := do(h, "GET", "/query"); rec.Code != 200 {
		t.Errorf("/query with external URL: %d", rec.Code)
	}
	if rec := do(h, "GET", "/nosuchpage"); rec.Code != 404 {
		t.Errorf("unknown page: %d", rec.Code)
	}
	if rec := do(h, "GET", "/assets/app.css"); rec.Code != 200 || rec.Header().Get("Content-Type") != "text/css; charset=utf-8" {
		t.Errorf("app.css: %d %v", rec.Code, rec.Header())
	}
	if rec := do(h, "GET", "/assets/nosuch.js"); rec.Code != 404 {
		t.Errorf("unknown asset: %d", rec.Code)
	}
}

func TestGzip(t *testing.T) {
	h, _ := newTestHandler(t, nil)
	rec := do(h, "GET", "/api/v1/query", "Accept-Encoding", "gzip, deflate")
	if rec.Header().Get("Content-Encoding") != "gzip" || rec.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("headers: %v", rec.Header())
	}
	zr, err := gzip.NewReader(rec.Body)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(zr)
	if err != nil || string(body) != `{"status":"success","data":"/query"}` {
		t.Errorf("decompressed %q, %v", body, err)
	}
	if rec := do(h, "GET", "/api/v1/query"); rec.Header().Get("Content-Encoding") != "" || !strings.HasPrefix(rec.Body.String(), "{") {
		t.Errorf("compressed without Accept-Encoding: %v", rec.Header())
	}
	if rec := do(h, "GET", "/api/v1/query", "Accept-Encoding", "gzip;q=0"); rec.Header().Get("Content-Encoding") != "" {
		t.Error("compressed although gzip;q=0")
	}
	if rec := do(h, "GET", "/api/v1/empty", "Accept-Encoding", "gzip"); rec.Code != 204 || rec.Body.Len() != 0 || rec.Header().Get("Content-Encoding") != "" {
		t.Errorf("204 got a body or encoding: %d %v %q", rec.Code, rec.Header(), rec.Body)
	}
}

func TestMetricsEndpoint(t *testing.T) {
	reg := prometheus.NewRegistry()
	h, _ := newTestHandler(t, func(o *Options) { o.Registerer = reg; o.Gatherer = reg })
	do(h, "GET", "/-/healthy")
	rec := do(h, "GET", "/metrics")
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `prometheus_http_requests_total{code="200",handler="/-/healthy"} 1`) {
		t.Errorf("/metrics: %d\n%s", rec.Code, rec.Body)
	}
	// Scrapers ask for gzip; the body must decode to the same exposition.
	rec = do(h, "GET", "/metrics", "Accept-Encoding", "gzip")
	if rec.Header().Get("Content-Encoding") != "gzip" {
		t.Fatalf("/metrics with Accept-Encoding gzip: headers %v", rec.Header())
	}
	zr, err := gzip.NewReader(rec.Body)
	if err != nil {
		t.Fatal(err)
	}
	plain, err := io.ReadAll(zr)
	if err != nil || !strings.Contains(string(plain), `prometheus_http_requests_total{code="200",handler="/-/healthy"} 1`) {
		t.Errorf("gzipped /metrics: %v\n%s", err, plain)
	}
}

// TestListenMaxConnections: with one connection allowed, a second client
// waits until the first connection closes.
func TestListenMaxConnections(t *testing.T) {
	s, err := Listen(Options{ListenAddress: "127.0.0.1:0", MaxConnections: 1})
	if err != nil {
		t.Fatal(err)
	}
	s.SetHandler(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok") }))
	go s.Serve()
	defer s.Shutdown(context.Background())
	base := "http://" + s.Addr().String()

	first := &http.Client{Transport: &http.Transport{}}
	resp, err := first.Get(base)
	if err != nil {
		t.Fatal(err)
	}
	io.ReadAll(resp.Body)
	resp.Body.Close() // the keep-alive connection stays open and holds the slot

	second := &http.Client{Transport: &http.Transport{}, Timeout: 300 * time.Millisecond}
	if _, err := second.Get(base); err == nil {
		t.Fatal("second connection served while the first holds the only slot")
	}
	first.CloseIdleConnections()
	second.Timeout = 5 * time.Second
	resp, err = second.Get(base)
	if err != nil {
		t.Fatalf("second connection after the first closed: %v", err)
	}
	resp.Body.Close()
}

// namedAPI is a stub API that names its routes, as api.API does.
type namedAPI struct{ http.Handler }

func (namedAPI) Route(path string) string { return "/api/v1" + path }

func TestAPIMetricsPerRoute(t *testing.T) {
	reg := prometheus.NewRegistry()
	h, _ := newTestHandler(t, func(o *Options) { o.Registerer = reg; o.Gatherer = reg; o.API = namedAPI{stubAPI} })
	do(h, "GET", "/api/v1/query")
	do(h, "GET", "/api/v1/query")
	do(h, "GET", "/api/v1/labels")
	body := do(h, "GET", "/metrics").Body.String()
	for _, want := range []string{
		`prometheus_http_requests_total{code="200",handler="/api/v1/query"} 2`,
		`prometheus_http_requests_total{code="200",handler="/api/v1/labels"} 1`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}
