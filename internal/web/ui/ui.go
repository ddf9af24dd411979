// Package ui serves Vigil's web UI: the single-page application built from
// web/ui (TypeScript, bundled by esbuild) into dist/, which is committed
// and embedded so that `go build` needs no Node toolchain.
//
// The page routes (/query, /targets, ...) all answer with the same
// index.html; the browser-side router picks the page. The route prefix
// reaches the page through a meta tag the server writes with HTML
// escaping, so a prefix can never inject markup or script.
package ui

import (
	"bytes"
	"compress/gzip"
	"embed"
	"fmt"
	"hash/fnv"
	"html"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
)

//go:embed dist
var distFS embed.FS

// Pages are the client-side routes that answer with index.html.
var Pages = []string{
	"query",
	"alerts",
	"rules",
	"targets",
	"service-discovery",
	"status",
	"tsdb-status",
	"flags",
	"config",
}

// prefixMeta is the tag in the built index.html whose content the server
// fills in.
const prefixMeta = `<meta name="vigil-route-prefix" content="">`

// Handler serves index.html and the assets for one route prefix.
type Handler struct {
	index  []byte
	assets map[string]*asset
}

// asset is one embedded file, prepared once: its type, a validator, and a
// gzipped copy when that is smaller, so requests cost no compression.
type asset struct {
	body  []byte
	gzip  []byte
	ctype string
	etag  string
	// etagGzip differs from etag because a strong validator names one
	// representation.
	etagGzip string
}

// contentTypes fixes the types of what the build emits, rather than
// depending on the host's mime.types.
var contentTypes = map[string]string{
	".js":    "text/javascript; charset=utf-8",
	".css":   "text/css; charset=utf-8",
	".html":  "text/html; charset=utf-8",
	".svg":   "image/svg+xml",
	".png":   "image/png",
	".ico":   "image/x-icon",
	".woff2": "font/woff2",
	".json":  "application/json",
	".map":   "application/json",
}

// New prepares the UI for the route prefix ("" or "/prefix"). It fails when
// the embedded build lacks index.html or its prefix meta tag, which means
// the dist was not built from web/ui.
func New(prefix string) (*Handler, error) {
	return newHandler(distFS, prefix)
}

func newHandler(root fs.FS, prefix string) (*Handler, error) {
	files, err := fs.Sub(root, "dist")
	if err != nil {
		return nil, err
	}
	raw, err := fs.ReadFile(files, "index.html")
	if err != nil {
		return nil, fmt.Errorf("web UI: embedded build has no index.html (run `npm run build` in web/ui): %w", err)
	}
	if bytes.Count(raw, []byte(prefixMeta)) != 1 {
		return nil, fmt.Errorf("web UI: embedded index.html must contain %s exactly once", prefixMeta)
	}
	filled := `<meta name="vigil-route-prefix" content="` + html.EscapeString(strings.TrimRight(prefix, "/")) + `">`
	h := &Handler{
		index:  bytes.Replace(raw, []byte(prefixMeta), []byte(filled), 1),
		assets: map[string]*asset{},
	}
	err = fs.WalkDir(files, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || p == "index.html" {
			return err
		}
		b, err := fs.ReadFile(files, p)
		if err != nil {
			return err
		}
		a := &asset{body: b, etag: etag(b), ctype: contentTypes[path.Ext(p)]}
		if a.ctype == "" {
			a.ctype = mime.TypeByExtension(path.Ext(p))
		}
		if a.ctype == "" {
			a.ctype = "application/octet-stream"
		}
		if z := gzipped(b); len(z) < len(b)*9/10 {
			a.gzip = z
			a.etagGzip = strings.TrimSuffix(a.etag, `"`) + `-gz"`
		}
		h.assets[p] = a
		return nil
	})
	if err != nil {
		return nil, err
	}
	return h, nil
}

func gzipped(b []byte) []byte {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

// etag is a strong validator from the content (FNV-1a, 64 bits): the
// assets have fixed names, so the content is what must be compared.
func etag(b []byte) string {
	h := fnv.New64a()
	h.Write(b)
	return `"` + strconv.FormatUint(h.Sum64(), 36) + `"`
}

// ServeIndex answers a page route with index.html. It is never cached, so
// a new binary's asset references take effect at once.
func (h *Handler) ServeIndex(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Content-Type", "text/html; charset=utf-8")
	hd.Set("Cache-Control", "no-cache")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Content-Length", strconv.Itoa(len(h.index)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(h.index)
	}
}

// ServeAsset serves the file named by what follows "/assets/" in the
// request path; the caller routes <prefix>/assets/ here. Asset names carry
// no content hash (the build must be reproducible and diffable), so
// browsers revalidate with the ETag ("no-cache") rather than keep a stale
// bundle after an upgrade.
func (h *Handler) ServeAsset(w http.ResponseWriter, r *http.Request) {
	_, name, ok := strings.Cut(r.URL.Path, "/assets/")
	a := h.assets[name]
	if !ok || a == nil {
		http.NotFound(w, r)
		return
	}
	body, tag := a.body, a.etag
	hd := w.Header()
	if a.gzip != nil {
		hd.Add("Vary", "Accept-Encoding")
		if acceptsGzip(r) {
			body, tag = a.gzip, a.etagGzip
			hd.Set("Content-Encoding", "gzip")
		}
	}
	hd.Set("Content-Type", a.ctype)
	hd.Set("Cache-Control", "no-cache")
	hd.Set("ETag", tag)
	hd.Set("X-Content-Type-Options", "nosniff")
	if match := r.Header.Get("If-None-Match"); match != "" && etagMatches(match, tag) {
		hd.Del("Content-Encoding")
		w.WriteHeader(http.StatusNotModified)
		return
	}
	hd.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(body)
	}
}

func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		enc, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.TrimSpace(enc) != "gzip" {
			continue
		}
		q := strings.ReplaceAll(params, " ", "")
		return q != "q=0" && q != "q=0.0" && q != "q=0.00" && q != "q=0.000"
	}
	return false
}

func etagMatches(header, tag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimSpace(t)
		if t == "*" || strings.TrimPrefix(t, "W/") == tag {
			return true
		}
	}
	return false
}
