package scrape

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net/http"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestQuickResponseMatchesNetHTTP checks that the heads the quick parser
// takes come out as http.ReadResponse reads them, and that it leaves the
// others to it without consuming anything.
func TestQuickResponseMatchesNetHTTP(t *testing.T) {
	req, _ := http.NewRequest(http.MethodGet, "http://example.com/metrics", nil)
	const body = "a 1\nb 2\n"
	for _, tc := range []struct {
		head  string
		quick bool
	}{
		{"HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: 8\r\nDate: Sun, 29 Nov 2026 06:00:00 GMT\r\n\r\n", true},
		{"HTTP/1.1 200 OK\r\ncontent-length:8\r\ncontent-encoding: gzip\r\nX-Multi: a\r\nx-multi: b\r\nlocation: /x\r\nLocation: /y\r\n\r\n", true},
		{"HTTP/1.1 200 Fine\r\nContent-Length: 8\r\nConnection: close\r\n\r\n", true},
		{"HTTP/1.1 200\r\nContent-Length:   8  \r\nConnection: keep-alive\r\n\r\n", true},
		{"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n8\r\na 1\nb 2\n\r\n0\r\n\r\n", false},
		{"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n", false},                           // no length
		{"HTTP/1.0 200 OK\r\nContent-Length: 8\r\n\r\n", false},                                  // HTTP/1.0
		{"HTTP/1.1 404 Not Found\r\nContent-Length: 8\r\n\r\n", false},                           // not 200
		{"HTTP/1.1 200 OK\r\nContent-Length: 8\r\nContent-Length: 8\r\n\r\n", false},             // repeated
		{"HTTP/1.1 200 OK\r\nContent-Length: +8\r\n\r\n", false},                                 // sign
		{"HTTP/1.1 200 OK\r\nContent-Length: 8\r\nX-Long: a\r\n b\r\n\r\n", false},               // folded
		{"HTTP/1.1 200 OK\r\nContent-Length: 8\r\nBad Name: x\r\n\r\n", false},                   // not a token
		{"HTTP/1.1 200 OK\r\nContent-Length: 8\r\nConnection: keep-alive, close\r\n\r\n", false}, // token list
		{"HTTP/1.1 200 OK\r\nContent-Length: 8\nX-A: b\r\n\r\n", false},                          // bare LF
	} {
		raw := tc.head
		if !strings.Contains(raw, "chunked") {
			raw += body
		}
		want, werr := http.ReadResponse(bufio.NewReader(strings.NewReader(raw)), req)
		br := bufio.NewReader(strings.NewReader(raw))
		got, err := readQuickResponse(br, req)
		if err != nil {
			t.Fatalf("%q: %v", tc.head, err)
		}
		if (got != nil) != tc.quick {
			t.Errorf("%q: quick parse %v, want %v", tc.head, got != nil, tc.quick)
		}
		if got == nil {
			if br.Buffered() != len(raw) {
				t.Errorf("%q: fell back after consuming %d bytes", tc.head, len(raw)-br.Buffered())
			}
			continue
		}
		if werr != nil {
			t.Fatalf("%q: net/http refuses what the quick parser took: %v", tc.head, werr)
		}
		for k := range want.Header {
			if !quickHeaders[k] {
				delete(want.Header, k) // the quick parser keeps only these
			}
		}
		if got.Status != want.Status || got.StatusCode != want.StatusCode || got.Proto != want.Proto ||
			got.ContentLength != want.ContentLength || got.Close != want.Close || !reflect.DeepEqual(got.Header, want.Header) {
			t.Errorf("%q:\n got %q %d %q len %d close %v %v\nwant %q %d %q len %d close %v %v", tc.head,
				got.Status, got.StatusCode, got.Proto, got.ContentLength, got.Close, got.Header,
				want.Status, want.StatusCode, want.Proto, want.ContentLength, want.Close, want.Header)
		}
		b, err := io.ReadAll(got.Body)
		if err != nil || string(b) != body {
			t.Errorf("%q: body %q, err %v", tc.head, b, err)
		}
	}
}

func TestQuickResponseShortBody(t *testing.T) {
	raw := "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"
	resp, err := readQuickResponse(bufio.NewReader(strings.NewReader(raw)), nil)
	if err != nil || resp == nil {
		t.Fatalf("resp %v, err %v", resp, err)
	}
	if b, err := io.ReadAll(resp.Body); !errors.Is(err, io.ErrUnexpectedEOF) || string(b) != "abc" {
		t.Errorf("body %q, err %v; want abc and io.ErrUnexpectedEOF", b, err)
	}
	if _, err := readQuickResponse(bufio.NewReader(strings.NewReader("")), nil); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("no response: err %v, want io.ErrUnexpectedEOF", err)
	}
}

// TestDirectCancelAcrossScrapes checks the loop's way of scraping: one
// long-lived context for all scrapes and a deadline per scrape. Scrapes
// keep their connection, a slow one ends at its deadline, and cancelling
// the context aborts the scrape in flight.
func TestDirectCancelAcrossScrapes(t *testing.T) {
	var slow atomic.Bool
	release := make(chan struct{})
	srv := newUnstartedServer(t, func(w http.ResponseWriter, r *http.Request) {
		if slow.Load() {
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}
		w.Write([]byte("a 1\n"))
	})
	t.Cleanup(func() { close(release) })
	sc, conns := directScraper(t, srv, fastJob)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for range 3 {
		buf, _, err := sc.scrapeUntil(ctx, time.Now().Add(time.Second), 0)
		if err != nil || string(*buf) != "a 1\n" {
			t.Fatalf("body %v, err %v", buf, err)
		}
		sc.buffers.put(buf)
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("%d connections for 3 scrapes, want 1", n)
	}

	slow.Store(true)
	start := time.Now()
	_, _, err := sc.scrapeUntil(ctx, time.Now().Add(50*time.Millisecond), 0)
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 2*time.Second {
		t.Errorf("slow scrape: err %v after %v, want context.DeadlineExceeded after ~50ms", err, time.Since(start))
	}

	time.AfterFunc(50*time.Millisecond, cancel)
	start = time.Now()
	_, _, err = sc.scrapeUntil(ctx, time.Now().Add(time.Minute), 0)
	if !errors.Is(err, context.Canceled) || time.Since(start) > 10*time.Second {
		t.Errorf("cancelled scrape: err %v after %v, want context.Canceled at once", err, time.Since(start))
	}
}
