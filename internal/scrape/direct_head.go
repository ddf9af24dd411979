package scrape

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/textproto"
	"strconv"
)

// maxQuickHead bounds the response heads readQuickResponse looks at; an
// exporter's is a few hundred bytes.
const maxQuickHead = 2 << 10

// readQuickResponse parses the response head buffered in br when it is
// the plain kind an exporter sends: HTTP/1.1 200 with one Content-Length,
// no Transfer-Encoding and no folded or malformed header lines, all of it
// already read. It consumes nothing and returns nil for anything else,
// which http.ReadResponse then handles. http.ReadResponse allocates a
// reader, a header map sized for any response and a body with its own
// lock for every scrape; this parses only the fields the scrape uses, and
// keeps only the headers it reads (quickHeaders).
//
// It waits for the first bytes of the response; the error is that of
// reading them, with io.EOF (no response at all) as io.ErrUnexpectedEOF,
// as http.ReadResponse words it.
func readQuickResponse(br *bufio.Reader, req *http.Request) (*http.Response, error) {
	if _, err := br.Peek(1); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return parseQuickHead(br, req), nil
}

func parseQuickHead(br *bufio.Reader, req *http.Request) *http.Response {
	buf, _ := br.Peek(min(br.Buffered(), maxQuickHead))
	end := bytes.Index(buf, []byte("\r\n\r\n"))
	if end < 0 {
		return nil
	}
	head := buf[:end+2] // each line with its CRLF
	line, rest := cutLine(head)
	const statusOK = "HTTP/1.1 200 "
	if !bytes.HasPrefix(line, []byte(statusOK)) && !bytes.Equal(line, []byte("HTTP/1.1 200")) ||
		bytes.IndexByte(line, '\n') >= 0 || bytes.IndexByte(line, '\r') >= 0 {
		return nil
	}
	resp := &http.Response{
		Status: "200 OK", StatusCode: http.StatusOK,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: make(http.Header, 4), ContentLength: -1, Request: req,
	}
	if len(line) != len(statusOK)+len("OK") || !bytes.HasSuffix(line, []byte("OK")) {
		resp.Status = string(line[len("HTTP/1.1 "):])
	}
	for len(rest) > 0 {
		line, rest = cutLine(rest)
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 || !validHeaderName(line[:colon]) {
			return nil // includes folded lines, which start with a blank
		}
		value := textproto.TrimBytes(line[colon+1:])
		if bytes.IndexByte(value, '\r') >= 0 || bytes.IndexByte(value, '\n') >= 0 || bytes.IndexByte(value, 0) >= 0 {
			return nil
		}
		key := textproto.CanonicalMIMEHeaderKey(string(line[:colon]))
		switch key {
		case "Transfer-Encoding", "Trailer":
			return nil
		case "Content-Length":
			if resp.ContentLength >= 0 {
				return nil // repeated: http.ReadResponse decides
			}
			n, err := strconv.ParseUint(string(value), 10, 63)
			if err != nil || len(value) == 0 || value[0] == '+' {
				return nil
			}
			resp.ContentLength = int64(n)
		case "Connection":
			if bytes.EqualFold(value, []byte("close")) {
				resp.Close = true
				continue // net/http drops it once it has set Close
			} else if !bytes.EqualFold(value, []byte("keep-alive")) {
				return nil // a token list: http.ReadResponse parses it
			}
		}
		if quickHeaders[key] {
			resp.Header[key] = append(resp.Header[key], string(value))
		}
	}
	if resp.ContentLength < 0 {
		return nil
	}
	if _, err := br.Discard(end + 4); err != nil {
		return nil // cannot happen: the bytes are buffered
	}
	resp.Body = &lengthBody{r: br, left: resp.ContentLength}
	return resp
}

// quickHeaders are the response headers the scrape looks at (see
// targetScraper); readQuickResponse drops the others.
var quickHeaders = map[string]bool{"Content-Type": true, "Content-Encoding": true, "Location": true}

// cutLine splits b after its first CRLF, returning the line without it.
func cutLine(b []byte) (line, rest []byte) {
	i := bytes.Index(b, []byte("\r\n"))
	if i < 0 {
		return b, nil
	}
	return b[:i], b[i+2:]
}

// validHeaderName reports whether b is an HTTP token (RFC 9110 5.6.2).
func validHeaderName(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 || !isTokenChar[c] {
			return false
		}
	}
	return true
}

var isTokenChar = func() (t [128]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c], t[c-'a'+'A'] = true, true
	}
	for _, c := range "!#$%&'*+-.^_`|~" {
		t[c] = true
	}
	return t
}()

// lengthBody is a body of a known length. Ending short of it is
// io.ErrUnexpectedEOF, as in net/http.
type lengthBody struct {
	r    io.Reader
	left int64
}

func (b *lengthBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.r.Read(p)
	b.left -= int64(n)
	if b.left <= 0 {
		return n, io.EOF
	}
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

// Close leaves what is unread: directBody decides about the connection.
func (b *lengthBody) Close() error { return nil }
