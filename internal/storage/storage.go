// Package storage owns the contracts between the layers that write samples
// (scraping, rules, remote write) and those that read them (PromQL, the API,
// federation), and the implementations shared by every backend: merging
// queriers and the sentinel errors. It never imports an implementation such
// as tsdb; implementations import it.
package storage

import (
	"context"
	"errors"

	"github.com/vigil-monitoring/vigil/internal/model/exemplar"
	"github.com/vigil-monitoring/vigil/internal/model/histogram"
	"github.com/vigil-monitoring/vigil/internal/model/labels"
	"github.com/vigil-monitoring/vigil/internal/model/metadata"
)

// Sentinel errors. Implementations wrap them with %w and callers test with
// errors.Is; the texts match Prometheus', which users see in logs and API
// errors.
var (
	ErrNotFound                    = errors.New("not found")
	ErrOutOfOrderSample            = errors.New("out of order sample")
	ErrOutOfBounds                 = errors.New("out of bounds")
	ErrTooOldSample                = errors.New("too old sample")
	ErrDuplicateSampleForTimestamp = errors.New("duplicate sample for timestamp")
	ErrOutOfOrderExemplar          = errors.New("out of order exemplar")
	ErrDuplicateExemplar           = errors.New("duplicate exemplar")
	ErrExemplarLabelLength         = errors.New("label length for exemplar exceeds maximum")
	ErrExemplarsDisabled           = errors.New("exemplar storage is disabled or max exemplars is less than or equal to 0")
	ErrNativeHistogramsDisabled    = errors.New("native histograms are disabled")
	ErrOutOfOrderCT                = errors.New("created timestamp out of order, ignoring")
	ErrReadOnly                    = errors.New("storage is read-only")
)

// SeriesRef is an implementation's opaque handle to a series. Zero means
// "unknown": the implementation then finds or creates the series from its
// labels. A non-zero ref is valid only for the storage that returned it and
// may go stale after head truncation; implementations must then fall back to
// the labels rather than fail.
type SeriesRef uint64

// Appendable hands out appenders.
type Appendable interface {
	// Appender returns a new batch. It is not safe for concurrent use; use
	// one per goroutine.
	Appender(ctx context.Context) Appender
}

// Appender is one batch of writes. Nothing is visible to queriers before
// Commit returns nil, and after Commit or Rollback the appender must not be
// used again.
//
// Each Append method takes the caller's cached ref (0 if none) and the
// series labels, and returns the ref to cache. Labels must be sorted and
// free of duplicates and of empty values; the appender may keep them, so
// callers must not reuse their memory.
type Appender interface {
	// Append adds a float sample. t is in milliseconds.
	Append(ref SeriesRef, l labels.Labels, t int64, v float64) (SeriesRef, error)

	// AppendHistogram adds a native histogram sample. Exactly one of h and
	// fh is non-nil. The appender may keep the histogram; callers must not
	// modify it afterwards.
	AppendHistogram(ref SeriesRef, l labels.Labels, t int64, h *histogram.Histogram, fh *histogram.FloatHistogram) (SeriesRef, error)

	// AppendExemplar adds an exemplar to the series. Exemplars are kept on a
	// best-effort basis and never block samples.
	AppendExemplar(ref SeriesRef, l labels.Labels, e exemplar.Exemplar) (SeriesRef, error)

	// UpdateMetadata records the series' metric metadata.
	UpdateMetadata(ref SeriesRef, l labels.Labels, m metadata.Metadata) (SeriesRef, error)

	// AppendCTZeroSample adds a zero sample at the created timestamp ct
	// ahead of a sample at t, so rates see the counter start at zero.
	// It returns ErrOutOfOrderCT when ct is not before t or not after the
	// series' last sample.
	AppendCTZeroSample(ref SeriesRef, l labels.Labels, t, ct int64) (SeriesRef, error)

	// Commit makes the batch durable and visible. Partial failure is
	// reported as an error; samples rejected earlier by an Append call are
	// not part of the batch.
	Commit() error

	// Rollback discards the batch.
	Rollback() error
}

// Queryable hands out queriers over a time range.
type Queryable interface {
	// Querier returns a querier over [mint, maxt], both in milliseconds and
	// inclusive.
	Querier(mint, maxt int64) (Querier, error)
}

// QueryableFunc adapts a function to Queryable.
type QueryableFunc func(mint, maxt int64) (Querier, error)

// Querier implements Queryable by calling f.
func (f QueryableFunc) Querier(mint, maxt int64) (Querier, error) { return f(mint, maxt) }

// LabelQuerier answers label name and value questions.
type LabelQuerier interface {
	// LabelValues returns the sorted, distinct values of the label name
	// among series that match all matchers (all series when none are given).
	LabelValues(ctx context.Context, name string, hints *LabelHints, matchers ...*labels.Matcher) ([]string, Warnings, error)

	// LabelNames returns the sorted, distinct label names among series that
	// match all matchers.
	LabelNames(ctx context.Context, hints *LabelHints, matchers ...*labels.Matcher) ([]string, Warnings, error)

	// Close releases the resources of the querier. Series sets, series and
	// iterators obtained from it must not be used afterwards.
	Close() error
}

// Querier selects series in the time range it was opened for.
type Querier interface {
	LabelQuerier

	// Select returns the series that match all matchers. With sortSeries the
	// set is ordered by labels.Compare; otherwise the order is the
	// implementation's. The set is lazy: work happens as it is iterated.
	// hints may be nil.
	Select(ctx context.Context, sortSeries bool, hints *SelectHints, matchers ...*labels.Matcher) SeriesSet
}

// SelectHints tell an implementation what the caller will do with the data,
// so it may skip work. Implementations may ignore them.
type SelectHints struct {
	Start, End int64 // Time range the caller needs, in milliseconds.
	Step       int64 // Query step size in milliseconds, 0 for instant queries.
	Func       string
	Grouping   []string // Labels the caller aggregates by (or without, when By is false).
	By         bool
	Range      int64 // Range vector selector range in milliseconds.
	Limit      int   // Maximum number of series to return; 0 means no limit.

	// ShardIndex and ShardCount select one shard of the series by hash.
	ShardIndex, ShardCount uint64
	DisableTrimming        bool
}

// LabelHints limit label queries.
type LabelHints struct {
	Limit int // Maximum number of results; 0 means no limit.
}

// Warnings are non-fatal problems met while answering a query (a partial
// result from a remote store, for instance).
type Warnings []error

// SeriesSet iterates over series.
type SeriesSet interface {
	// Next advances to the next series and reports whether there is one.
	Next() bool
	// At returns the current series. It is valid until the next call to
	// Next.
	At() Series
	// Err returns the error that ended iteration, if any.
	Err() error
	// Warnings returns warnings collected so far; complete once Next has
	// returned false.
	Warnings() Warnings
}

// Series is one time series: its labels and a way to walk its samples.
type Series interface {
	Labels() labels.Labels
	// Iterator returns an iterator over the samples, reusing it (which
	// may be nil) when the implementation can.
	Iterator(it Iterator) Iterator
}

// ValueType is the kind of sample an iterator stands on.
type ValueType uint8

const (
	ValNone ValueType = iota // Iteration ended.
	ValFloat
	ValHistogram
	ValFloatHistogram
)

func (v ValueType) String() string {
	switch v {
	case ValNone:
		return "none"
	case ValFloat:
		return "float"
	case ValHistogram:
		return "histogram"
	case ValFloatHistogram:
		return "floathistogram"
	}
	return "unknown"
}

// Iterator walks the samples of one series in increasing time order. One
// series may mix floats and histograms.
type Iterator interface {
	// Next advances and returns the type of the new current sample, or
	// ValNone at the end or on error.
	Next() ValueType
	// Seek advances to the first sample with time >= t and returns its
	// type. If the current sample already qualifies it stays put. Seek
	// never moves backwards.
	Seek(t int64) ValueType
	// At returns the current float sample. Only valid after ValFloat.
	At() (int64, float64)
	// AtHistogram returns the current integer histogram. If h is non-nil
	// the sample is copied into it and h is returned; otherwise a new
	// histogram is allocated. Either way the caller owns the result.
	// Only valid after ValHistogram.
	AtHistogram(h *histogram.Histogram) (int64, *histogram.Histogram)
	// AtFloatHistogram returns the current sample as a float histogram,
	// converting an integer histogram. The fh argument works like h in
	// AtHistogram. Valid after ValHistogram or ValFloatHistogram.
	AtFloatHistogram(fh *histogram.FloatHistogram) (int64, *histogram.FloatHistogram)
	// AtT returns the current sample's timestamp without decoding it.
	AtT() int64
	// Err returns the error that ended iteration, if any.
	Err() error
}
