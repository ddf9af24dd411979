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
// closed before the next call. A connection reused from an earlier
// scrape that turns out to be closed by the target is replaced once.
func (d *directConn) do(ctx context.Context) (*http.Response, error) {
	resp, err := d.roundTrip(ctx)
	if err != nil {
		return nil, &url.Error{Op: "Get", URL: d.url, Err: err}
	}
	return resp, nil
}

func (d *directConn) roundTrip(ctx context.Context) (*http.Response, error) {
	reused := d.conn != nil
	if !reused {
		if err := d.connect(ctx); err != nil {
			return nil, err
		}
	}
	resp, err := d.exchange(ctx)
	if err != nil && reused && ctxError(ctx, err) == nil && !isTimeout(err) {
		// An idle keep-alive connection the target closed: what net/http
		// does for an idempotent request too.
		if err := d.connect(ctx); err != nil {
			return nil, err
		}
		resp, err = d.exchange(ctx)
	}
	return resp, err
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// ctxError returns the context's error when err is the context ending:
// cancelled, or the connection's deadline, which is the context's, hit
// just before the context's own timer fired.
func ctxError(ctx context.Context, err error) error {
	if e := ctx.Err(); e != nil {
		return e
	}
	if dl, ok := ctx.Deadline(); ok && isTimeout(err) && !time.Now().Before(dl) {
		return context.DeadlineExceeded
	}
	return nil
}

func (d *directConn) connect(ctx context.Context) error {
	d.close()
	c, err := d.dial(ctx, "tcp", d.addr)
	if err != nil {
		return err
	}
	d.conn = c
	return nil
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

// exchange writes the request and reads the response head. The context
// bounds the whole scrape, body included: its deadline becomes the
// connection's, and cancelling it expires the connection.
func (d *directConn) exchange(ctx context.Context) (*http.Response, error) {
	c := d.conn
	deadline, _ := ctx.Deadline()
	if err := c.SetDeadline(deadline); err != nil {
		d.close()
		return nil, err
	}
	stop := context.AfterFunc(ctx, func() { _ = c.SetDeadline(time.Unix(1, 0)) })
	d.releaseReader()
	d.br = bufReaders.Get().(*bufio.Reader)
	d.br.Reset(c)
	fail := func(err error) (*http.Response, error) {
		stop()
		d.releaseReader()
		d.close()
		if ctxErr := ctxError(ctx, err); ctxErr != nil {
			return nil, ctxErr
		}
		return nil, err
	}
	if _, err := c.Write(d.head); err != nil {
		return fail(err)
	}
	for {
		resp, err := http.ReadResponse(d.br, d.req)
		if err != nil {
			return fail(err)
		}
		// Informational responses (103 Early Hints, say) precede the
		// real one; net/http skips them too.
		if resp.StatusCode >= 100 && resp.StatusCode < 200 && resp.StatusCode != http.StatusSwitchingProtocols {
			continue
		}
		// A body without a length or chunking ends with the connection.
		keep := !resp.Close && (resp.ContentLength >= 0 || len(resp.TransferEncoding) > 0)
		resp.Body = &directBody{ReadCloser: resp.Body, d: d, conn: c, keep: keep, stop: stop, ctx: ctx}
		return resp, nil
	}
}

func (d *directConn) close() {
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
	stop func() bool
	ctx  context.Context
}

func (b *directBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF {
		b.eof = true
	} else if err != nil {
		if ctxErr := ctxError(b.ctx, err); ctxErr != nil {
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
	stopped := b.stop()
	// Bytes after the body are not a response to anything we asked.
	clean := b.d.br != nil && b.d.br.Buffered() == 0
	if !b.eof || !b.keep || !stopped || !clean || b.d.conn != b.conn {
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
