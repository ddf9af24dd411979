// Package exposition owns the metric exposition formats Vigil scrapes and
// serves: the Prometheus text format 0.0.4, OpenMetrics 1.0 and the
// delimited protobuf MetricFamily format. Parsers stream over a body held in
// memory and hand out slices of it rather than copies; writers append to a
// caller's buffer.
package exposition

import (
	"github.com/vigil-monitoring/vigil/internal/model/exemplar"
	"github.com/vigil-monitoring/vigil/internal/model/histogram"
	"github.com/vigil-monitoring/vigil/internal/model/labels"
)

// Entry is the kind of the item a Parser stopped at.
type Entry int

const (
	EntryInvalid   Entry = -1
	EntryType      Entry = 0
	EntryHelp      Entry = 1
	EntrySeries    Entry = 2 // a float sample
	EntryComment   Entry = 3
	EntryUnit      Entry = 4
	EntryHistogram Entry = 5 // a native histogram sample (protobuf only)
)

// MetricType is a metric family's declared type, spelled as OpenMetrics
// spells it.
type MetricType string

const (
	MetricTypeCounter        = MetricType("counter")
	MetricTypeGauge          = MetricType("gauge")
	MetricTypeHistogram      = MetricType("histogram")
	MetricTypeGaugeHistogram = MetricType("gaugehistogram")
	MetricTypeSummary        = MetricType("summary")
	MetricTypeInfo           = MetricType("info")
	MetricTypeStateset       = MetricType("stateset")
	MetricTypeUnknown        = MetricType("unknown")
)

// Parser walks one exposition body entry by entry.
//
// Byte slices returned by any method point into the body or into the
// parser's own buffers (or, from Series, may be the caller's Expect hint)
// and stay valid only until the next call to Next. Callers that keep them
// must copy.
type Parser interface {
	// Next advances to the next entry. It returns io.EOF at the end of the
	// body. Any other error names the line (text formats) or the message
	// (protobuf) and what was wrong; after an error the parser is done.
	Next() (Entry, error)

	// Series returns the raw series bytes (name and label set as they appear
	// in the input, usable as a cache key for the same target), the
	// timestamp in milliseconds if the input carried one, and the value.
	// Valid after EntrySeries.
	Series() (series []byte, ts *int64, value float64)

	// Histogram is Series for EntryHistogram. Exactly one of h and fh is
	// non-nil.
	Histogram() (series []byte, ts *int64, h *histogram.Histogram, fh *histogram.FloatHistogram)

	// Help returns the metric family name and its help text, unescaped.
	// Valid after EntryHelp.
	Help() (metric []byte, text []byte)

	// Type returns the metric family name and its type. Valid after EntryType.
	Type() (metric []byte, typ MetricType)

	// Unit returns the metric family name and its unit. Valid after EntryUnit.
	Unit() (metric []byte, unit []byte)

	// Comment returns the text of a comment line. Valid after EntryComment.
	Comment() []byte

	// Labels resets b and fills it with the current sample's labels,
	// __name__ included, sorted. Valid after EntrySeries or EntryHistogram.
	Labels(b *labels.ScratchBuilder)

	// Exemplar writes the current sample's next exemplar into e and reports
	// whether there was one. Call it until it returns false to get them all.
	Exemplar(e *exemplar.Exemplar) bool

	// CreatedTimestamp returns the current sample's created (start)
	// timestamp in milliseconds, or 0 when the input gave none.
	CreatedTimestamp() int64

	// Expect tells the parser the raw series bytes the caller expects the
	// next sample to have. They must be bytes that Series returned for a
	// sample a parser of the same format (see FormatOf) accepted, in a
	// body parsed without Options.Strict. When the next sample's series
	// bytes are exactly these, Next may skip parsing and checking its
	// label set: the checks passed when those bytes were first parsed,
	// and they depend on nothing but the bytes. Every method still
	// answers as without the hint (labels are parsed when asked for),
	// except that Series may return the hint slice itself rather than
	// the same bytes in the body. The hint lasts until Next returns the
	// next sample; nil withdraws it. Parsers that gain nothing from it
	// ignore it.
	//
	// A scrape cache keyed by the raw series bytes knows what to expect:
	// targets expose their series in the same order every scrape.
	Expect(series []byte)
}

// Options tunes a parser. The zero value is what scraping wants.
type Options struct {
	// Strict makes the OpenMetrics parser enforce every rule of the
	// specification (what `vigil tool check metrics` wants). Scraping
	// leaves it off and accepts at least what Prometheus accepts.
	Strict bool

	// SkipCreatedSeries hides OpenMetrics `_created` samples from Next and
	// reports them through CreatedTimestamp instead.
	SkipCreatedSeries bool

	// KeepClassicHistograms makes the protobuf parser also emit the classic
	// bucket, count and sum series of a histogram that has native buckets.
	KeepClassicHistograms bool
}
