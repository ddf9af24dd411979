package http

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"go.yaml.in/yaml/v2"

	"github.com/vigil-monitoring/vigil/internal/discovery"
)

// server serves whatever body/status/content type the test sets.
type server struct {
	mu          sync.Mutex
	status      int
	contentType string
	body        string
	lastHeader  http.Header
}

func (s *server) set(status int, ct, body string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.status, s.contentType, s.body = status, ct, body
}

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lastHeader = r.Header.Clone()
	w.Header().Set("Content-Type", s.contentType)
	w.WriteHeader(s.status)
	fmt.Fprint(w, s.body)
}

func newDiscovery(t *testing.T, url string, refresh time.Duration) *Discovery {
	t.Helper()
	var cfg SDConfig
	if err := yaml.UnmarshalStrict([]byte("url: "+url), &cfg); err != nil {
		t.Fatal(err)
	}
	cfg.RefreshInterval = discovery.Duration(refresh)
	d, err := NewDiscovery(&cfg, discovery.DiscovererOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func describe(groups []*discovery.TargetGroup) string {
	var parts []string
	for _, g := range groups {
		var ts []string
		for _, t := range g.Targets {
			ts = append(ts, t.Get(discovery.AddressLabel))
		}
		parts = append(parts, fmt.Sprintf("%s%v%s", g.Source, ts, g.Labels))
	}
	return strings.Join(parts, " ")
}

func TestRefresh(t *testing.T) {
	s := &server{}
	srv := httptest.NewServer(s)
	defer srv.Close()
	d := newDiscovery(t, srv.URL+"/sd", time.Minute)
	ctx := context.Background()

	s.set(200, "application/json; charset=utf-8", `[{"targets":["a:1","b:1"],"labels":{"env":"x"}},{"targets":["c:1"]}]`)
	groups, err := d.Refresh(ctx)
	if err != nil {
		t.Fatal(err)
	}
	u := srv.URL + "/sd"
	want := fmt.Sprintf(`%[1]s:0[a:1 b:1]{__meta_url=%[1]q, env="x"} %[1]s:1[c:1]{__meta_url=%[1]q}`, u)
	if got := describe(groups); got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	if h := s.lastHeader; h.Get("Accept") != "application/json" || h.Get("X-Prometheus-Refresh-Interval-Seconds") != "60" || h.Get("User-Agent") == "" {
		t.Fatalf("request headers %v", h)
	}

	// A shorter list clears the sources that went away.
	s.set(200, "application/json", `[{"targets":["a:1"]}]`)
	groups, err = d.Refresh(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want = fmt.Sprintf(`%[1]s:0[a:1]{__meta_url=%[1]q} %[1]s:1[]{}`, u)
	if got := describe(groups); got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}

	// Failures return errors (the caller keeps the last good list).
	for _, tc := range []struct {
		status   int
		ct, body string
		err      string
	}{
		{500, "application/json", `[]`, "server returned HTTP status 500"},
		{200, "text/plain", `[]`, "unsupported content type"},
		{200, "", `[]`, "unsupported content type"},
		{200, "application/json", `{"targets":[]}`, "cannot unmarshal"},
		{200, "application/json", `[null]`, "nil target group"},
		{200, "application/json", `[{"targets":["a"],"x":1}]`, "unknown field"},
	} {
		s.set(tc.status, tc.ct, tc.body)
		if _, err := d.Refresh(ctx); err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%d %q %s: got %v, want %q", tc.status, tc.ct, tc.body, err, tc.err)
		}
	}
	// An empty list is a valid answer: no targets.
	s.set(200, "application/json", `[]`)
	if groups, err := d.Refresh(ctx); err != nil || describe(groups) != fmt.Sprintf("%s:0[]{}", u) {
		t.Fatalf("empty list: %s %v", describe(groups), err)
	}
}

func TestRunKeepsLastGoodOnError(t *testing.T) {
	s := &server{}
	s.set(200, "application/json", `[{"targets":["a:1"]}]`)
	srv := httptest.NewServer(s)
	defer srv.Close()
	d := newDiscovery(t, srv.URL, 20*time.Millisecond)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	up := make(chan []*discovery.TargetGroup)
	go d.Run(ctx, up)

	first := <-up
	if len(first) != 1 || len(first[0].Targets) != 1 {
		t.Fatalf("first: %s", describe(first))
	}
	s.set(503, "text/plain", "down")
	// While the endpoint fails nothing is sent, so consumers keep a:1.
	select {
	case g := <-up:
		t.Fatalf("update sent during failure: %s", describe(g))
	case <-time.After(150 * time.Millisecond):
	}
	s.set(200, "application/json", `[{"targets":["b:1"]}]`)
	select {
	case g := <-up:
		if describe(g) != fmt.Sprintf("%[1]s:0[b:1]{__meta_url=%[1]q}", srv.URL) {
			t.Fatalf("recovered: %s", describe(g))
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no update after recovery")
	}
}

func TestConfigValidation(t *testing.T) {
	for src, want := range map[string]string{
		"refresh_interval: 1m": "URL is missing",
		"url: ftp://x":         "URL scheme must be 'http' or 'https'",
		"url: http://":         "host is missing in URL",
		"url: invalid":         "URL scheme must be 'http' or 'https'",
		"url: http://x\nbearer_token: a\nbearer_token_file: b": "at most one of bearer_token & bearer_token_file must be configured",
	} {
		var c SDConfig
		if err := yaml.UnmarshalStrict([]byte(src), &c); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", src, err, want)
		}
	}
	var c SDConfig
	if err := yaml.UnmarshalStrict([]byte("url: https://sd/x"), &c); err != nil {
		t.Fatal(err)
	}
	if c.RefreshInterval != discovery.Duration(time.Minute) || !c.HTTPClientConfig.EnableHTTP2 {
		t.Fatalf("defaults %+v", c)
	}
}
