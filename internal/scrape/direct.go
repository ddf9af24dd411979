package scrape

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/vigil-monitoring/vigil/internal/discovery"
)

// directConn fetches a plain-HTTP target over one keep-alive connection
// that its loop owns, writing the request and reading the response on the
// loop's goroutine. net/http's transport hands every request to a writer
// goroutine and every response to the caller through a reader goroutine;
// on a server whose scrapes are spread over the interval, those hand-offs
// (thread wake-ups, mostly) cost more CPU than the request itself.
//
// It is used only where the transport would add nothing: the http scheme,
// no credentials in the URL, and a job without proxy, authentication or
// extra headers (see directEligible). The first redirect hands the target
// over to net/http for good.
//
// Used by its loop's goroutine only.
type directConn struct {
	addr string // host:port to dial
	url  string // for errors, as net/http words them
	// head is the request as net/http would write it, built once.
	head []byte
	req  *http.Request // what http.ReadResponse needs to know
	dial func(ctx context.Context, network, addr string) (net.Conn, error)

	conn net.Conn
	br   *bufio.Reader
	// unwatch stops the watch on watchDone, the Done channel of the
	// context whose cancellation expires conn. The watch is set up once
	// per connection and context rather than once per scrape: a
	// context.AfterFunc per scrape costs more than the request's write.
	unwatch   func() bool
	watchDone <-chan struct{}
	watching  *connWatch
}

// connWatch lets a watch that was stopped too late (its function already
// started on its own goroutine) leave the connection's deadline alone.
type connWatch struct {
	mu  sync.Mutex
	off bool
}

// directEligible reports whether a job's HTTP client configuration lets
// its plain-HTTP targets be scraped by a directConn.
func directEligible(cfg *discovery.HTTPClientConfig) bool {
	return cfg.BasicAuth == nil && cfg.Authorization == nil && cfg.OAuth2 == nil &&
		cfg.BearerToken == "" && cfg.BearerTokenFile == "" &&
		len(cfg.HTTPHeaders) == 0 &&
		(cfg.ProxyURL.URL == nil || cfg.ProxyURL.String() == "") && !cfg.ProxyFromEnvironment
}

// newDirectConn returns a directConn for req, or nil when req's URL needs
// more than it does.
func newDirectConn(req *http.Request, dial func(ctx context.Context, network, addr string) (net.Conn, error)) *directConn {
	u := req.URL
	if u.Scheme != "http" || u.User != nil || u.Host == "" {
		return nil
	}
	port := u.Port()
	if port == "" {
		port = "80"
	}
	if dial == nil {
		dial = (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	}
	var b bytes.Buffer
	b.WriteString("GET ")
	b.WriteString(u.RequestURI())
	b.WriteString(" HTTP/1.1\r\nHost: ")
	b.WriteString(u.Host)
	b.WriteString("\r\n")
	h := req.Header.Clone()
	if ua := h.Get("User-Agent"); ua != "" {
		// net/http writes it right after Host, the rest sorted.
		b.WriteString("User-Agent: ")
		b.WriteString(ua)
		b.WriteString("\r\n")
		h.Del("User-Agent")
	}
	if err := h.Write(&b); err != nil {
		return nil
	}
	b.WriteString("\r\n")
	return &directConn{
		addr: net.JoinHostPort(u.Hostname(), port),
		url:  u.String(),
		head: b.Bytes(),
		req:  req,
		dial: dial,
	}
}

// do sends the request and returns the response, whose body must be
// closed before the next call. The scrape, body included, ends at the
// deadline (none when zero) or ctx's, whichever is first, or when ctx is
// cancelled. A connection reused from an earlier scrape that turns out to
// be closed by the target is replaced once.
func (d *directConn) do(ctx context.Context, deadline time.Time) (*http.Response, error) {
	if dl, ok := ctx.Deadline(); ok && (deadline.IsZero() || dl.Before(deadline)) {
		deadline = dl
	}
	resp, err := d.roundTrip(ctx, deadline)
	if err != nil {
		return nil, &url.Error{Op: "Get", URL: d.url, Err: err}
	}
	return resp, nil
}

func (d *directConn) roundTrip(ctx context.Context, deadline time.Time) (*http.Response, error) {
	reused := d.conn != nil
	if !reused {
		if err := d.connect(ctx, deadline); err != nil {
			return nil, err
		}
	}
	resp, err := d.exchange(ctx, deadline)
	if err != nil && reused && ctxError(ctx, deadline, err) == nil && !isTimeout(err) {
		// An idle keep-alive connection the target closed: what net/http
		// does for an idempotent request too.
		if err := d.connect(ctx, deadline); err != nil {
			return nil, err
		}
		resp, err = d.exchange(ctx, deadline)
	}
	return resp, err
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// ctxError returns the error net/http would report when err is the scrape
// ending early: ctx's when it was cancelled, context.DeadlineExceeded when
// the connection hit the scrape's deadline.
func ctxError(ctx context.Context, deadline time.Time, err error) error {
	if e := ctx.Err(); e != nil {
		return e
	}
	if !deadline.IsZero() && isTimeout(err) && !time.Now().Before(deadline) {
		return context.DeadlineExceeded
	}
	return nil
}

func (d *directConn) connect(ctx context.Context, deadline time.Time) error {
	d.close()
	dctx := ctx
	if !deadline.IsZero() {
		var cancel context.CancelFunc
		dctx, cancel = context.WithDeadline(ctx, deadline)
		defer cancel()
	}
	c, err := d.dial(dctx, "tcp", d.addr)
	if err != nil {
		return err
	}
	d.conn = c
	return nil
}

// watch makes the cancellation of ctx expire the connection, so that a
// read or write in flight returns at once.
func (d *directConn) watch(ctx context.Context) {
	done := ctx.Done()
	if done == d.watchDone {
		return // watched already, or a context that is never cancelled
	}
	d.stopWatch()
	c, w := d.conn, &connWatch{}
	d.unwatch = context.AfterFunc(ctx, func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		if !w.off {
			_ = c.SetDeadline(time.Unix(1, 0))
		}
	})
	d.watchDone, d.watching = done, w
}

// stopWatch ends the watch. Once it returns, the watch no longer touches
// the connection's deadline.
func (d *directConn) stopWatch() {
	if d.unwatch == nil {
		return
	}
	if !d.unwatch() {
		w := d.watching
		w.mu.Lock()
		w.off = true
		w.mu.Unlock()
	}
	d.unwatch, d.watchDone, d.watching = nil, nil, nil
}

// bufReaders hold the response reader of the scrapes in flight: a
// connection idles between scrapes with nothing buffered, so it needs
// none of its own. Bodies are mostly read straight into the scrape
// buffer, past the reader.
var bufReaders = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 4<<10) }}

func (d *directConn) releaseReader() {
	if d.br != nil {
		d.br.Reset(nil)
		bufReaders.Put(d.br)
		d.br = nil
	}
}

// exchange writes the request and reads the response head. The deadline
// bounds the whole scrape, body included: it becomes the connection's,
// and cancelling ctx expires the connection.
func (d *directConn) exchange(ctx context.Context, deadline time.Time) (*http.Response, error) {
	c := d.conn
	// Watch first: a watch on an earlier context may still be expiring the
	// connection until it is stopped.
	d.watch(ctx)
	if err := c.SetDeadline(deadline); err != nil {
		d.close()
		return nil, err
	}
	// After the deadline is set: a cancellation from here on expires the
	// connection after it, so it is not overwritten.
	if err := ctx.Err(); err != nil {
		d.close()
		return nil, err
	}
	d.releaseReader()
	d.br = bufReaders.Get().(*bufio.Reader)
	d.br.Reset(c)
	fail := func(err error) (*http.Response, error) {
		d.releaseReader()
		d.close()
		if ctxErr := ctxError(ctx, deadline, err); ctxErr != nil {
			return nil, ctxErr
		}
		return nil, err
	}
	if _, err := c.Write(d.head); err != nil {
		return fail(err)
	}
	quick, err := readQuickResponse(d.br, d.req)
	if err != nil {
		return fail(err)
	}
	for {
		resp := quick
		if resp == nil {
			if resp, err = http.ReadResponse(d.br, d.req); err != nil {
				return fail(err)
			}
		}
		quick = nil
		// Informational responses (103 Early Hints, say) precede the
		// real one; net/http skips them too.
		if resp.StatusCode >= 100 && resp.StatusCode < 200 && resp.StatusCode != http.StatusSwitchingProtocols {
			continue
		}
		// A body without a length or chunking ends with the connection.
		keep := !resp.Close && (resp.ContentLength >= 0 || len(resp.TransferEncoding) > 0)
		resp.Body = &directBody{ReadCloser: resp.Body, d: d, conn: c, keep: keep, ctx: ctx, deadline: deadline}
		return resp, nil
	}
}

func (d *directConn) close() {
	d.stopWatch()
	if d.conn != nil {
		_ = d.conn.Close()
		d.conn = nil
	}
}

// directBody keeps the connection for the next scrape when the body was
// read to its end, and closes it otherwise.
type directBody struct {
	io.ReadCloser
	d    *directConn
	conn net.Conn
	keep bool
	eof  bool
	ctx  context.Context
	// deadline is the scrape's (zero for none).
	deadline time.Time
}

func (b *directBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF {
		b.eof = true
	} else if err != nil {
		if ctxErr := ctxError(b.ctx, b.deadline, err); ctxErr != nil {
			err = &url.Error{Op: "Get", URL: b.d.url, Err: ctxErr}
		}
	}
	return n, err
}

func (b *directBody) Close() error {
	if !b.eof && b.keep {
		// A gzip reader stops at the end of its stream, short of the
		// body's: a few bytes more tell whether the body ends there.
		if _, err := io.CopyN(io.Discard, b.ReadCloser, 4<<10); err == io.EOF {
			b.eof = true
		}
	}
	// When the context ended first, the connection's deadline is past.
	alive := b.ctx.Err() == nil
	// Bytes after the body are not a response to anything we asked.
	clean := b.d.br != nil && b.d.br.Buffered() == 0
	if !b.eof || !b.keep || !alive || !clean || b.d.conn != b.conn {
		// Closed before the body: closing a body net/http parsed reads
		// it to its end, which is what a body over the limit must not do.
		if b.d.conn == b.conn {
			b.d.close()
		} else {
			_ = b.conn.Close()
		}
	}
	_ = b.ReadCloser.Close()
	if b.d.conn == nil || b.d.conn == b.conn {
		b.d.releaseReader()
	}
	return nil
}
