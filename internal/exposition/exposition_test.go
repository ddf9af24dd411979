package exposition

import (
	"fmt"
	"strings"
	"testing"
)

func TestNew(t *testing.T) {
	cases := []struct {
		ct   string
		want string // parser type, or "error: <substring>"
	}{
		{"text/plain; version=0.0.4; charset=utf-8", "*exposition.textParser"},
		{"text/plain;version=1.0.0;escaping=allow-utf-8", "*exposition.textParser"},
		{"text/plain", "*exposition.textParser"},
		{"TEXT/PLAIN; version=0.0.4", "*exposition.textParser"},
		{"application/openmetrics-text; version=1.0.0; charset=utf-8", "*exposition.omParser"},
		{"application/openmetrics-text;version=0.0.1", "*exposition.omParser"},
		{"application/openmetrics-text", "*exposition.omParser"},
		{"application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited", "*exposition.protobufParser"},
		{"application/vnd.google.protobuf", "*exposition.protobufParser"},
		{"", `error: blank Content-Type`},
		{"   ", `error: blank Content-Type`},
		{"text/plain; version", `error: cannot parse Content-Type "text/plain; version"`},
		{"application/json", `error: unsupported Content-Type "application/json"`},
		{"application/openmetrics-text; version=2.0.0", `error: unsupported OpenMetrics version "2.0.0"`},
		{"application/vnd.google.protobuf;proto=foo.Bar;encoding=delimited", `error: unsupported protobuf message "foo.Bar"`},
		{"application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=text", `error: unsupported protobuf encoding "text"`},
	}
	// Each Content-Type twice in a row: the second call gets the
	// remembered answer, which must be the same.
	for i := range 2 * len(cases) {
		c := cases[i/2]
		p, err := New(nil, c.ct, Options{})
		if want, ok := strings.CutPrefix(c.want, "error: "); ok {
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("New(%q): error %v, want one containing %q", c.ct, err, want)
			}
			continue
		}
		if err != nil {
			t.Errorf("New(%q): %v", c.ct, err)
			continue
		}
		if got := typeName(p); got != c.want {
			t.Errorf("New(%q) = %s, want %s", c.ct, got, c.want)
		}
	}
}

func typeName(p Parser) string { return fmt.Sprintf("%T", p) }

func TestNewWithFallback(t *testing.T) {
	body := []byte("a 1\n")
	p, fellBack, err := NewWithFallback(body, "text/plain", "OpenMetricsText1.0.0", Options{})
	if err != nil || fellBack != nil || typeName(p) != "*exposition.textParser" {
		t.Fatalf("usable Content-Type: %s, %v, %v", typeName(p), fellBack, err)
	}
	p, fellBack, err = NewWithFallback(body, "", "PrometheusText0.0.4", Options{})
	if err != nil || typeName(p) != "*exposition.textParser" {
		t.Fatalf("blank Content-Type: %s, %v", typeName(p), err)
	}
	if fellBack == nil || !strings.Contains(fellBack.Error(), `blank Content-Type; using fallback_scrape_protocol "PrometheusText0.0.4"`) {
		t.Errorf("fellBack = %v", fellBack)
	}
	if err := drain(p); err != nil {
		t.Errorf("fallback parser: %v", err)
	}
	p, fellBack, err = NewWithFallback(body, "application/json", "application/openmetrics-text;version=1.0.0", Options{})
	if err != nil || fellBack == nil || typeName(p) != "*exposition.omParser" {
		t.Errorf("media type fallback: %s, %v, %v", typeName(p), fellBack, err)
	}
	_, _, err = NewWithFallback(body, "application/json", "NoSuchProtocol", Options{})
	if err == nil || !strings.Contains(err.Error(), `fallback_scrape_protocol "NoSuchProtocol" is unusable too`) {
		t.Errorf("bad fallback: %v", err)
	}
	_, fellBack, err = NewWithFallback(body, "application/json", "", Options{})
	if err == nil || fellBack != nil {
		t.Errorf("no fallback: %v, %v", fellBack, err)
	}
	for name := range scrapeProtocols {
		ct, _ := ScrapeProtocolContentType(name)
		if _, err := New(nil, ct, Options{}); err != nil {
			t.Errorf("protocol %s (%s): %v", name, ct, err)
		}
	}
}
