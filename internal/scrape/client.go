package scrape

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-monitoring/vigil/internal/config"
)

// errBodySizeLimit is Prometheus' text for a body over body_size_limit.
var errBodySizeLimit = errors.New("body size limit exceeded")

// acceptHeader builds the Accept header from scrape_protocols as
// Prometheus 3 does: the protocols in order with q weights starting at
// 0.(k+1), k being the number of known protocols, and falling by 0.1 each,
// then */* with the next weight. Only the 1.0.0 text formats take the
// escaping parameter.
func acceptHeader(protocols []config.ScrapeProtocol, escaping string) string {
	var b strings.Builder
	weight := len(config.ScrapeProtocolsHeaders) + 1
	for _, p := range protocols {
		b.WriteString(config.ScrapeProtocolsHeaders[p])
		if escaping != "" && (p == config.PrometheusText1_0_0 || p == config.OpenMetricsText1_0_0) {
			b.WriteString(";escaping=")
			b.WriteString(escaping)
		}
		b.WriteString(";q=0.")
		b.WriteString(strconv.Itoa(weight))
		b.WriteByte(',')
		weight--
	}
	b.WriteString("*/*;q=0.")
	b.WriteString(strconv.Itoa(weight))
	return b.String()
}

// targetScraper performs the HTTP part of one target's scrapes. It is used
// by its loop's goroutine only.
type targetScraper struct {
	client        *http.Client
	req           *http.Request // built once; each scrape sends a copy carrying its context
	bodySizeLimit int64
	buffers       *bufferPool
	// direct, when not nil, sends the requests instead of client.
	direct          *directConn
	followRedirects bool
}

func newTargetScraper(t *Target, o *loopOptions, buffers *bufferPool, dial func(ctx context.Context, network, addr string) (net.Conn, error)) (*targetScraper, error) {
	req, err := http.NewRequest(http.MethodGet, t.URL().String(), nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", o.acceptHeader)
	if o.enableCompression {
		req.Header.Set("Accept-Encoding", "gzip")
	} else {
		req.Header.Set("Accept-Encoding", "identity")
	}
	req.Header.Set("User-Agent", o.userAgent)
	req.Header.Set("X-Prometheus-Scrape-Timeout-Seconds", strconv.FormatFloat(o.timeout.Seconds(), 'f', -1, 64))
	s := &targetScraper{client: o.client, req: req, bodySizeLimit: o.bodySizeLimit, buffers: buffers, followRedirects: o.followRedirects}
	if o.direct {
		s.direct = newDirectConn(req, dial)
	}
	return s, nil
}

// close releases the scraper's own connection, if any.
func (s *targetScraper) close() {
	if s.direct != nil {
		s.direct.close()
	}
}

// do sends the scrape request. The direct connection enforces deadline
// itself; for net/http, ctx carries it.
func (s *targetScraper) do(ctx context.Context, deadline time.Time) (*http.Response, error) {
	if s.direct == nil {
		return s.client.Do(s.req.WithContext(ctx))
	}
	resp, err := s.direct.do(ctx, deadline)
	if err != nil || !s.followRedirects || !isRedirect(resp) {
		return resp, err
	}
	// net/http knows how to follow redirects: it takes the target over.
	_ = resp.Body.Close()
	s.direct.close()
	s.direct = nil
	if deadline.IsZero() {
		return s.client.Do(s.req.WithContext(ctx))
	}
	ctx, cancel := context.WithDeadline(ctx, deadline)
	resp, err = s.client.Do(s.req.WithContext(ctx))
	if err != nil {
		cancel()
		return nil, err
	}
	resp.Body = &cancelOnClose{ReadCloser: resp.Body, cancel: cancel}
	return resp, nil
}

// cancelOnClose ends a response's context when its body is closed.
type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b *cancelOnClose) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}

// isRedirect reports whether net/http's client would follow resp.
func isRedirect(resp *http.Response) bool {
	switch resp.StatusCode {
	case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther,
		http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
		return resp.Header.Get("Location") != ""
	}
	return false
}

// scrape fetches the target's body, decompressed, into a pooled buffer
// that the caller hands back with buffers.put once parsing is done. On
// error the returned buffer may be nil. sizeHint is the size of the last
// body, to start with a buffer that fits.
func (s *targetScraper) scrape(ctx context.Context, sizeHint int) (buf *[]byte, contentType string, err error) {
	return s.scrapeUntil(ctx, time.Time{}, sizeHint)
}

// scrapeUntil is scrape ending at deadline (none when zero) as well as
// ctx's. The loop passes its long-lived context and the deadline apart: a
// direct connection then needs no context of its own per scrape.
func (s *targetScraper) scrapeUntil(ctx context.Context, deadline time.Time, sizeHint int) (buf *[]byte, contentType string, err error) {
	if s.direct == nil && !deadline.IsZero() {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, deadline)
		defer cancel()
	}
	resp, err := s.do(ctx, deadline)
	if err != nil {
		return nil, "", err
	}
	// Closing without reading to the end drops the connection, which is
	// what stops a target that sends more than we want.
	defer resp.Body.Close()

	if resp.StatusCode != http.StatusOK {
		// A short error page read to the end keeps the connection usable.
		_, _ = io.CopyN(io.Discard, resp.Body, 4<<10)
		return nil, "", fmt.Errorf("server returned HTTP status %s", resp.Status)
	}
	contentType = resp.Header.Get("Content-Type")

	var body io.Reader = resp.Body
	if resp.Header.Get("Content-Encoding") == "gzip" {
		zr := gzipReaders.Get().(*gzipReader)
		defer func() {
			zr.br.Reset(nil) // do not keep the response alive in the pool
			gzipReaders.Put(zr)
		}()
		zr.br.Reset(resp.Body)
		if err := zr.gz.Reset(zr.br); err != nil {
			return nil, contentType, fmt.Errorf("reading gzip header: %w", err)
		}
		body = &zr.gz
	} else if n := resp.ContentLength; n > 0 {
		if s.bodySizeLimit > 0 && n > s.bodySizeLimit {
			return nil, contentType, errBodySizeLimit
		}
		// Room for the whole body and the read that reports its end.
		sizeHint = int(n) + 1
	}
	if s.bodySizeLimit > 0 && int64(sizeHint) > s.bodySizeLimit+1 {
		sizeHint = int(s.bodySizeLimit + 1)
	}
	buf = s.buffers.get(max(sizeHint, minBufferSize))
	buf, err = s.buffers.readAll(buf, body, s.bodySizeLimit)
	if err != nil {
		return buf, contentType, err
	}
	return buf, contentType, nil
}
