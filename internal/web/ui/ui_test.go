package ui

import (
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"
)

var assetRef = regexp.MustCompile(`(?:src|href)="assets/([^"]+)"`)

func serve(h http.HandlerFunc, method, target string, hdr ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, target, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	h(rec, req)
	return rec
}

// TestEmbeddedBuild checks the committed build: it has the files the
// server references and the meta tag it fills in.
func TestEmbeddedBuild(t *testing.T) {
	for _, prefix := range []string{"", "/prefix"} {
		h, err := New(prefix)
		if err != nil {
			t.Fatal(err)
		}
		rec := serve(h.ServeIndex, "GET", prefix+"/query")
		body := rec.Body.String()
		if rec.Code != 200 || rec.Header().Get("Content-Type") != "text/html; charset=utf-8" || rec.Header().Get("Cache-Control") != "no-cache" {
			t.Errorf("prefix %q: index: %d %v", prefix, rec.Code, rec.Header())
		}
		if want := `<meta name="vigil-route-prefix" content="` + prefix + `">`; !strings.Contains(body, want) {
			t.Errorf("prefix %q: index lacks %s:\n%s", prefix, want, body)
		}
		for _, ref := range []string{`src="assets/app.js"`, `href="assets/app.css"`} {
			if !strings.Contains(body, ref) {
				t.Errorf("index lacks %s", ref)
			}
		}
		// Every asset the page references exists.
		for _, m := range assetRef.FindAllStringSubmatch(body, -1) {
			if rec := serve(h.ServeAsset, "GET", prefix+"/assets/"+m[1]); rec.Code != 200 {
				t.Errorf("index.html references assets/%s, which answers %d", m[1], rec.Code)
			}
		}
		for name, ctype := range map[string]string{"app.js": "text/javascript; charset=utf-8", "app.css": "text/css; charset=utf-8"} {
			rec := serve(h.ServeAsset, "GET", prefix+"/assets/"+name)
			if rec.Code != 200 || rec.Header().Get("Content-Type") != ctype || rec.Body.Len() < 100 {
				t.Errorf("prefix %q: %s: %d %v (%d bytes)", prefix, name, rec.Code, rec.Header(), rec.Body.Len())
			}
		}
		if rec := serve(h.ServeIndex, "HEAD", prefix+"/query"); rec.Code != 200 || rec.Body.Len() != 0 || rec.Header().Get("Content-Length") == "" {
			t.Errorf("HEAD index: %d %v %d bytes", rec.Code, rec.Header(), rec.Body.Len())
		}
	}
}

func TestPrefixEscaped(t *testing.T) {
	fsys := fstest.MapFS{"dist/index.html": {Data: []byte(`<head>` + prefixMeta + `</head>`)}}
	h, err := newHandler(fsys, `/a"><script>alert(1)</script>&`)
	if err != nil {
		t.Fatal(err)
	}
	body := serve(h.ServeIndex, "GET", "/x").Body.String()
	want := `<head><meta name="vigil-route-prefix" content="/a&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;&amp;"></head>`
	if body != want {
		t.Errorf("got  %s\nwant %s", body, want)
	}
}

func TestBrokenBuild(t *testing.T) {
	if _, err := newHandler(fstest.MapFS{"dist/app.js": {Data: []byte("x")}}, ""); err == nil || !strings.Contains(err.Error(), "index.html") {
		t.Errorf("no index.html: %v", err)
	}
	if _, err := newHandler(fstest.MapFS{"dist/index.html": {Data: []byte("<html></html>")}}, ""); err == nil || !strings.Contains(err.Error(), "vigil-route-prefix") {
		t.Errorf("no meta tag: %v", err)
	}
}

func TestAssets(t *testing.T) {
	big := strings.Repeat("console.log('vigil');\n", 200)
	fsys := fstest.MapFS{
		"dist/index.html":       {Data: []byte(prefixMeta)},
		"dist/app.js":           {Data: []byte(big)},
		"dist/font.woff2":       {Data: []byte{0x77, 0x4f, 0x46, 0x32}},
		"dist/img/logo.svg":     {Data: []byte("<svg/>")},
		"dist/odd.unknownextxx": {Data: []byte("?")},
	}
	h, err := newHandler(fsys, "/p")
	if err != nil {
		t.Fatal(err)
	}
	for target, ctype := range map[string]string{
		"/p/assets/font.woff2":       "font/woff2",
		"/p/assets/img/logo.svg":     "image/svg+xml",
		"/p/assets/odd.unknownextxx": "application/octet-stream",
	} {
		if rec := serve(h.ServeAsset, "GET", target); rec.Code != 200 || rec.Header().Get("Content-Type") != ctype {
			t.Errorf("%s: %d %v", target, rec.Code, rec.Header())
		}
	}
	for _, target := range []string{"/p/assets/", "/p/assets/nosuch.js", "/p/assets/index.html", "/p/assets/../index.html", "/p/assets/img", "/p/assets/%2e%2e/app.js"} {
		if rec := serve(h.ServeAsset, "GET", target); rec.Code != 404 {
			t.Errorf("%s: %d, want 404", target, rec.Code)
		}
	}

	plain := serve(h.ServeAsset, "GET", "/p/assets/app.js")
	if plain.Body.String() != big || plain.Header().Get("Content-Encoding") != "" || plain.Header().Get("Vary") != "Accept-Encoding" {
		t.Fatalf("plain app.js: %v", plain.Header())
	}
	zipped := serve(h.ServeAsset, "GET", "/p/assets/app.js", "Accept-Encoding", "br, gzip")
	if zipped.Header().Get("Content-Encoding") != "gzip" || zipped.Body.Len() >= len(big) {
		t.Fatalf("gzip app.js: %v %d bytes", zipped.Header(), zipped.Body.Len())
	}
	zr, err := gzip.NewReader(zipped.Body)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := io.ReadAll(zr); string(b) != big {
		t.Error("gzipped app.js does not decompress to the file")
	}
	if rec := serve(h.ServeAsset, "GET", "/p/assets/app.js", "Accept-Encoding", "gzip;q=0"); rec.Header().Get("Content-Encoding") != "" {
		t.Error("gzip;q=0 got gzip")
	}
	if plain.Header().Get("ETag") == zipped.Header().Get("ETag") {
		t.Error("both encodings have the same strong ETag")
	}

	// Revalidation.
	tag := plain.Header().Get("ETag")
	if rec := serve(h.ServeAsset, "GET", "/p/assets/app.js", "If-None-Match", tag); rec.Code != 304 || rec.Body.Len() != 0 {
		t.Errorf("If-None-Match current: %d", rec.Code)
	}
	if rec := serve(h.ServeAsset, "GET", "/p/assets/app.js", "If-None-Match", `"stale"`); rec.Code != 200 {
		t.Errorf("If-None-Match stale: %d", rec.Code)
	}
	if rec := serve(h.ServeAsset, "HEAD", "/p/assets/app.js"); rec.Code != 200 || rec.Body.Len() != 0 || rec.Header().Get("Content-Length") != "4400" {
		t.Errorf("HEAD: %d %v", rec.Code, rec.Header())
	}
}
