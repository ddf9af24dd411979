package storage

import (
	"context"
	"math"
	"slices"

	"github.com/vigil-monitoring/vigil/internal/model/histogram"
	"github.com/vigil-monitoring/vigil/internal/model/labels"
)

// Sample is one sample of any kind, as tests, remote read and the merge
// code pass samples around outside chunks. Exactly one of F (with H and FH
// nil), H or FH carries the value.
type Sample struct {
	T  int64
	F  float64
	H  *histogram.Histogram
	FH *histogram.FloatHistogram
}

// Type reports which field holds the value.
func (s Sample) Type() ValueType {
	switch {
	case s.H != nil:
		return ValHistogram
	case s.FH != nil:
		return ValFloatHistogram
	default:
		return ValFloat
	}
}

// EmptySeriesSet returns a set with no series, no error and no warnings.
func EmptySeriesSet() SeriesSet { return emptySeriesSet{} }

type emptySeriesSet struct{}

func (emptySeriesSet) Next() bool         { return false }
func (emptySeriesSet) At() Series         { return nil }
func (emptySeriesSet) Err() error         { return nil }
func (emptySeriesSet) Warnings() Warnings { return nil }

// ErrSeriesSet returns a set with no series that reports err, so a Select
// that fails before producing anything still fits the lazy interface.
func ErrSeriesSet(err error) SeriesSet { return errSeriesSet{err: err} }

type errSeriesSet struct{ err error }

func (errSeriesSet) Next() bool         { return false }
func (errSeriesSet) At() Series         { return nil }
func (s errSeriesSet) Err() error       { return s.err }
func (errSeriesSet) Warnings() Warnings { return nil }

// WarningsSeriesSet returns a set with no series that reports ws, which is
// what a failed secondary querier turns into.
func WarningsSeriesSet(ws Warnings) SeriesSet { return warningsSeriesSet{ws: ws} }

type warningsSeriesSet struct{ ws Warnings }

func (warningsSeriesSet) Next() bool           { return false }
func (warningsSeriesSet) At() Series           { return nil }
func (warningsSeriesSet) Err() error           { return nil }
func (s warningsSeriesSet) Warnings() Warnings { return s.ws }

// NoopQuerier returns a querier that has no series and no labels.
func NoopQuerier() Querier { return noopQuerier{} }

type noopQuerier struct{}

func (noopQuerier) Select(context.Context, bool, *SelectHints, ...*labels.Matcher) SeriesSet {
	return EmptySeriesSet()
}

func (noopQuerier) LabelValues(context.Context, string, *LabelHints, ...*labels.Matcher) ([]string, Warnings, error) {
	return nil, nil, nil
}

func (noopQuerier) LabelNames(context.Context, *LabelHints, ...*labels.Matcher) ([]string, Warnings, error) {
	return nil, nil, nil
}

func (noopQuerier) Close() error { return nil }

// ListSeries is a series held in memory as a slice of samples. Tests,
// remote read and other small producers use it.
type ListSeries struct {
	lset    labels.Labels
	samples []Sample
}

// NewListSeries returns a series with the given labels and samples. The
// samples must be sorted by time without repeats; the series keeps the
// slice (and the histograms it points to) without copying.
func NewListSeries(lset labels.Labels, samples []Sample) *ListSeries {
	return &ListSeries{lset: lset, samples: samples}
}

// Labels implements Series.
func (s *ListSeries) Labels() labels.Labels { return s.lset }

// Samples returns the samples the series was built with.
func (s *ListSeries) Samples() []Sample { return s.samples }

// Iterator implements Series, reusing it when it is a list iterator.
func (s *ListSeries) Iterator(it Iterator) Iterator {
	if li, ok := it.(*ListIterator); ok {
		li.Reset(s.samples)
		return li
	}
	return NewListIterator(s.samples)
}

// ListIterator walks a slice of samples. It implements Iterator.
//
// INVARIANT: i is -1 before the first Next, len(samples) once exhausted,
// and never decreases between Resets.
type ListIterator struct {
	samples []Sample
	i       int
}

// NewListIterator returns an iterator over samples, which must be sorted by
// time.
func NewListIterator(samples []Sample) *ListIterator {
	return &ListIterator{samples: samples, i: -1}
}

// Reset restarts the iterator over samples.
func (it *ListIterator) Reset(samples []Sample) {
	it.samples = samples
	it.i = -1
}

func (it *ListIterator) cur() ValueType {
	if it.i >= len(it.samples) {
		return ValNone
	}
	return it.samples[it.i].Type()
}

// Next implements Iterator.
func (it *ListIterator) Next() ValueType {
	if it.i < len(it.samples) {
		it.i++
	}
	return it.cur()
}

// Seek implements Iterator.
func (it *ListIterator) Seek(t int64) ValueType {
	if it.i < 0 {
		it.i = 0
	}
	if it.i >= len(it.samples) {
		return ValNone
	}
	if it.samples[it.i].T >= t {
		return it.cur()
	}
	// Binary search the remainder: Seek never moves backwards.
	rest := it.samples[it.i:]
	j, _ := slices.BinarySearchFunc(rest, t, func(s Sample, t int64) int {
		switch {
		case s.T < t:
			return -1
		case s.T > t:
			return 1
		}
		return 0
	})
	it.i += j
	return it.cur()
}

// At implements Iterator.
func (it *ListIterator) At() (int64, float64) {
	s := it.samples[it.i]
	return s.T, s.F
}

// AtHistogram implements Iterator.
func (it *ListIterator) AtHistogram(h *histogram.Histogram) (int64, *histogram.Histogram) {
	s := it.samples[it.i]
	return s.T, CopyHistogram(h, s.H)
}

// AtFloatHistogram implements Iterator.
func (it *ListIterator) AtFloatHistogram(fh *histogram.FloatHistogram) (int64, *histogram.FloatHistogram) {
	s := it.samples[it.i]
	if s.H != nil {
		return s.T, HistogramToFloat(fh, s.H)
	}
	return s.T, CopyFloatHistogram(fh, s.FH)
}

// AtT implements Iterator.
func (it *ListIterator) AtT() int64 { return it.samples[it.i].T }

// Err implements Iterator; a list iterator never fails.
func (it *ListIterator) Err() error { return nil }

// ListSeriesSet is a series set over a slice of series.
type ListSeriesSet struct {
	series []Series
	i      int
}

// NewListSeriesSet returns a set yielding series in the given order.
func NewListSeriesSet(series ...Series) *ListSeriesSet {
	return &ListSeriesSet{series: series, i: -1}
}

// Next implements SeriesSet.
func (s *ListSeriesSet) Next() bool {
	if s.i < len(s.series) {
		s.i++
	}
	return s.i < len(s.series)
}

// At implements SeriesSet.
func (s *ListSeriesSet) At() Series { return s.series[s.i] }

// Err implements SeriesSet.
func (s *ListSeriesSet) Err() error { return nil }

// Warnings implements SeriesSet.
func (s *ListSeriesSet) Warnings() Warnings { return nil }

// ExpandSamples drains it into a slice, copying histograms so the result
// does not alias the iterator's buffers. It is for tests and small
// producers; query paths should iterate instead.
func ExpandSamples(it Iterator) ([]Sample, error) {
	var out []Sample
	for {
		switch it.Next() {
		case ValNone:
			return out, it.Err()
		case ValFloat:
			t, f := it.At()
			out = append(out, Sample{T: t, F: f})
		case ValHistogram:
			t, h := it.AtHistogram(nil)
			out = append(out, Sample{T: t, H: h})
		case ValFloatHistogram:
			t, fh := it.AtFloatHistogram(nil)
			out = append(out, Sample{T: t, FH: fh})
		}
	}
}

// SameSample reports whether a and b are the same sample: equal times and
// kinds, floats equal bit for bit (so stale markers and NaNs compare as
// stored), histograms equal by Equals (which ignores the counter reset
// hint). Appenders use it to accept an exact repeat as a no-op.
func SameSample(a, b Sample) bool {
	if a.T != b.T || a.Type() != b.Type() {
		return false
	}
	switch a.Type() {
	case ValHistogram:
		return a.H.Equals(b.H)
	case ValFloatHistogram:
		return a.FH.Equals(b.FH)
	}
	return math.Float64bits(a.F) == math.Float64bits(b.F)
}
