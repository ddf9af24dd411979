package scrape

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vigil-monitoring/vigil/internal/model/labels"
)

// directScraper starts srv unless it runs already, with its connections
// counted, and returns the scraper a loop of job would use for it.
func directScraper(t *testing.T, srv *httptest.Server, job string) (*targetScraper, *atomic.Int32) {
	t.Helper()
	var conns atomic.Int32
	if srv.URL == "" {
		srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
			if s == http.StateNew {
				conns.Add(1)
			}
		}
		srv.Start()
	}
	m := newTestManager(t, nopAppendable{}, Options{})
	base, err := m.loopBase(jobConfig(t, job), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	tg := newTarget("j", labels.FromStrings("__address__", hostOf(srv), "__scheme__", "http", "__metrics_path__", "/metrics"), labels.EmptyLabels(), nil, time.Second, time.Second)
	sc, err := newTargetScraper(tg, &base, &m.buffers, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sc.close)
	return sc, &conns
}

func scrapeBody(t *testing.T, sc *targetScraper, timeout time.Duration) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	buf, _, err := sc.scrape(ctx, 0)
	if err != nil {
		return "", err
	}
	defer sc.buffers.put(buf)
	return string(*buf), nil
}

func newUnstartedServer(t *testing.T, h http.HandlerFunc) *httptest.Server {
	srv := httptest.NewUnstartedServer(h)
	t.Cleanup(srv.Close)
	return srv
}

func TestDirectKeepsOneConnection(t *testing.T) {
	srv := newUnstartedServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("chunked") != "" {
			w.Write([]byte("a 1\n"))
			w.(http.Flusher).Flush() // no Content-Length: chunked
			w.Write([]byte("b 2\n"))
			return
		}
		w.Write([]byte("a 1\nb 2\n"))
	})
	sc, conns := directScraper(t, srv, fastJob)
	if sc.direct == nil {
		t.Fatal("a plain-HTTP target of a job without proxy or auth is not scraped directly")
	}
	for range 3 {
		if body, err := scrapeBody(t, sc, time.Second); err != nil || body != "a 1\nb 2\n" {
			t.Fatalf("body %q, err %v", body, err)
		}
	}
	// Chunked bodies keep the connection too.
	sc.direct.head = []byte(strings.Replace(string(sc.direct.head), "/metrics", "/metrics?chunked=1", 1))
	for range 2 {
		if body, err := scrapeBody(t, sc, time.Second); err != nil || body != "a 1\nb 2\n" {
			t.Fatalf("chunked: body %q, err %v", body, err)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("%d connections for 5 scrapes, want 1", n)
	}
}

func TestDirectReconnects(t *testing.T) {
	var closeConn atomic.Bool
	srv := newUnstartedServer(t, func(w http.ResponseWriter, r *http.Request) {
		if closeConn.Load() {
			w.Header().Set("Connection", "close")
		}
		w.Write([]byte("a 1\n"))
	})
	srv.Config.IdleTimeout = 20 * time.Millisecond
	sc, conns := directScraper(t, srv, fastJob)
	// The target drops the idle connection between scrapes: the next
	// scrape notices and reconnects without failing.
	for range 3 {
		if body, err := scrapeBody(t, sc, time.Second); err != nil || body != "a 1\n" {
			t.Fatalf("body %q, err %v", body, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if n := conns.Load(); n != 3 {
		t.Errorf("%d connections, want 3", n)
	}
	// Connection: close is honoured.
	closeConn.Store(true)
	for range 2 {
		if body, err := scrapeBody(t, sc, time.Second); err != nil || body != "a 1\n" {
			t.Fatalf("body %q, err %v", body, err)
		}
		if sc.direct.conn != nil {
			t.Fatal("connection kept after Connection: close")
		}
	}
}

func TestDirectRedirectHandsOver(t *testing.T) {
	srv := newUnstartedServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/metrics" {
			http.Redirect(w, r, "/real", http.StatusFound)
			return
		}
		w.Write([]byte("real 1\n"))
	})
	sc, _ := directScraper(t, srv, fastJob)
	if body, err := scrapeBody(t, sc, time.Second); err != nil || body != "real 1\n" {
		t.Fatalf("body %q, err %v", body, err)
	}
	if sc.direct != nil {
		t.Error("a redirecting target is still scraped directly")
	}
	// Without follow_redirects the redirect is the answer.
	sc2, _ := directScraper(t, srv, fastJob+"follow_redirects: false\n")
	if _, err := scrapeBody(t, sc2, time.Second); err == nil || err.Error() != "server returned HTTP status 302 Found" {
		t.Errorf("err = %v", err)
	}
}

func TestDirectTimeoutAndIneligible(t *testing.T) {
	release := make(chan struct{})
	srv := newUnstartedServer(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	sc, _ := directScraper(t, srv, fastJob)
	defer close(release)
	_, err := scrapeBody(t, sc, 50*time.Millisecond)
	var ue *url.Error
	if !errors.As(err, &ue) || !errors.Is(err, context.DeadlineExceeded) || err.Error() != `Get "`+srv.URL+`/metrics": context deadline exceeded` {
		t.Errorf("err = %v, want net/http's timeout error", err)
	}
	if sc.direct.conn != nil {
		t.Error("connection kept after a timeout")
	}

	// Anything the transport has to do itself keeps net/http.
	for _, job := range []string{
		"basic_auth: {username: u, password: p}\n",
		"authorization: {credentials: x}\n",
		"proxy_url: http://127.0.0.1:1\n",
		"http_headers: {X-A: {values: [b]}}\n",
	} {
		sc, _ := directScraper(t, serve(t, http.NotFoundHandler()), fastJob+job)
		if sc.direct != nil {
			t.Errorf("%q: scraped directly", job)
		}
	}
}
