package exposition

import (
	"errors"
	"fmt"
	"mime"
	"strings"
	"sync/atomic"
)

// Media types of the exposition formats.
const (
	MediaTypeText        = "text/plain"
	MediaTypeOpenMetrics = "application/openmetrics-text"
	MediaTypeProtobuf    = "application/vnd.google.protobuf"
)

// protobufMessage is the only message type the protobuf parser reads.
const protobufMessage = "io.prometheus.client.MetricFamily"

// scrapeProtocols maps the names fallback_scrape_protocol and
// scrape_protocols use to the Content-Type each stands for.
var scrapeProtocols = map[string]string{
	"PrometheusProto":      MediaTypeProtobuf + ";proto=" + protobufMessage + ";encoding=delimited",
	"PrometheusText0.0.4":  MediaTypeText + ";version=0.0.4",
	"PrometheusText1.0.0":  MediaTypeText + ";version=1.0.0",
	"OpenMetricsText0.0.1": MediaTypeOpenMetrics + ";version=0.0.1",
	"OpenMetricsText1.0.0": MediaTypeOpenMetrics + ";version=1.0.0",
}

// ScrapeProtocolContentType returns the Content-Type a scrape protocol name
// (as in scrape_protocols and fallback_scrape_protocol) stands for.
func ScrapeProtocolContentType(protocol string) (string, bool) {
	ct, ok := scrapeProtocols[protocol]
	return ct, ok
}

// New returns the parser for body given the Content-Type of the response
// that carried it. As in Prometheus 3 the media type alone picks the
// format:
//
//   - text/plain: the Prometheus text format (versions 0.0.4 and 1.0.0
//     differ only in the quoted UTF-8 names the parser always accepts, and
//     escaping= only tells how the exporter spelled names, so neither
//     parameter changes parsing);
//   - application/openmetrics-text, version 1.0.0 or 0.0.1 (or none):
//     OpenMetrics 1.0;
//   - application/vnd.google.protobuf: delimited io.prometheus.client.MetricFamily
//     messages (the proto and encoding parameters, when given, must say so).
//
// A blank, unparseable or unknown Content-Type is an error that names it:
// Prometheus 3 fails such scrapes unless fallback_scrape_protocol is set,
// for which see NewWithFallback.
func New(body []byte, contentType string, opts Options) (Parser, error) {
	f, err := formatOf(contentType)
	if err != nil {
		return nil, err
	}
	switch f {
	case formatOpenMetrics:
		return NewOpenMetricsParser(body, opts), nil
	case formatProtobuf:
		return NewProtobufParser(body, opts), nil
	}
	return NewTextParser(body, opts), nil
}

// format is the parser a Content-Type selects.
type format uint8

const (
	formatText format = iota
	formatOpenMetrics
	formatProtobuf
)

// contentTypeFormat remembers the outcome for one Content-Type string.
type contentTypeFormat struct {
	contentType string
	format      format
}

// lastFormat is the Content-Type most recently resolved. A target sends
// the same one on every scrape, and most servers scrape exporters that all
// send the same: parsing it as a media type on each scrape would allocate
// for an answer already known.
var lastFormat atomic.Pointer[contentTypeFormat]

// formatOf returns the format contentType selects (see New).
func formatOf(contentType string) (format, error) {
	if m := lastFormat.Load(); m != nil && m.contentType == contentType {
		return m.format, nil
	}
	f, err := parseFormat(contentType)
	if err == nil {
		lastFormat.Store(&contentTypeFormat{contentType: contentType, format: f})
	}
	return f, err
}

func parseFormat(contentType string) (format, error) {
	if strings.TrimSpace(contentType) == "" {
		return 0, errors.New("blank Content-Type")
	}
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return 0, fmt.Errorf("cannot parse Content-Type %q: %w", contentType, err)
	}
	switch mt {
	case MediaTypeText:
		return formatText, nil
	case MediaTypeOpenMetrics:
		switch v := params["version"]; v {
		case "", "1.0.0", "0.0.1":
			return formatOpenMetrics, nil
		default:
			return 0, fmt.Errorf("unsupported OpenMetrics version %q in Content-Type %q", v, contentType)
		}
	case MediaTypeProtobuf:
		if p, ok := params["proto"]; ok && p != protobufMessage {
			return 0, fmt.Errorf("unsupported protobuf message %q in Content-Type %q", p, contentType)
		}
		if e, ok := params["encoding"]; ok && e != "delimited" {
			return 0, fmt.Errorf("unsupported protobuf encoding %q in Content-Type %q", e, contentType)
		}
		return formatProtobuf, nil
	}
	return 0, fmt.Errorf("unsupported Content-Type %q", contentType)
}

// NewWithFallback is New for a target with fallback_scrape_protocol set.
// fallback is a scrape protocol name ("PrometheusText0.0.4", ...) or a
// Content-Type. When contentType cannot be used, the parser comes from
// fallback and fellBack says why, for the scrape layer to log; err is
// non-nil only when neither gives a parser. An empty fallback makes it
// behave like New.
func NewWithFallback(body []byte, contentType, fallback string, opts Options) (p Parser, fellBack error, err error) {
	p, err = New(body, contentType, opts)
	if err == nil || fallback == "" {
		return p, nil, err
	}
	ct := fallback
	if c, ok := ScrapeProtocolContentType(fallback); ok {
		ct = c
	}
	p, ferr := New(body, ct, opts)
	if ferr != nil {
		return nil, nil, fmt.Errorf("%w; fallback_scrape_protocol %q is unusable too: %w", err, fallback, ferr)
	}
	return p, fmt.Errorf("%w; using fallback_scrape_protocol %q", err, fallback), nil
}

// FormatOf names the format p parses: "text", "openmetrics" or
// "protobuf". Series bytes that one format accepted may not parse, or
// may parse differently, in another; a caller that feeds Expect hints
// across bodies uses this to keep to one format.
func FormatOf(p Parser) string {
	switch p.(type) {
	case *textParser:
		return "text"
	case *omParser:
		return "openmetrics"
	case *protobufParser:
		return "protobuf"
	}
	return ""
}
