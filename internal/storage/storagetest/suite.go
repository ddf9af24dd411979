// Package storagetest owns what every storage backend is held to: the
// conformance suite Run, which any storage.Appendable + storage.Queryable
// must pass, and MemStorage, a simple in-memory reference implementation
// that passes it (PromQL and API tests use it as their backend).
//
// The suite pins down the semantics the storage contracts leave to prose:
// visibility after Commit only, out-of-order and duplicate rejection at
// Append time, the empty-value rules of matchers, sorted Select, label
// queries with matchers, iterator Seek semantics, mixed float and
// histogram series, and bit-exact stale markers.
package storagetest

import (
	"context"
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/vigil-monitoring/vigil/internal/model/histogram"
	"github.com/vigil-monitoring/vigil/internal/model/labels"
	"github.com/vigil-monitoring/vigil/internal/storage"
)

// Factory returns a fresh, empty storage for one subtest. Both return
// values usually are the same object. Cleanup belongs in t.Cleanup.
type Factory func(t *testing.T) (storage.Appendable, storage.Queryable)

// Run runs the conformance suite against storages made by newStorage.
func Run(t *testing.T, newStorage Factory) {
	tests := []struct {
		name string
		fn   func(*testing.T, Factory)
	}{
		{"CommitVisibility", testCommitVisibility},
		{"Rollback", testRollback},
		{"RefCaching", testRefCaching},
		{"EmptyLabels", testEmptyLabels},
		{"OutOfOrder", testOutOfOrder},
		{"Duplicates", testDuplicates},
		{"Matchers", testMatchers},
		{"SortedSelect", testSortedSelect},
		{"LabelNamesAndValues", testLabelNamesAndValues},
		{"TimeRange", testTimeRange},
		{"IteratorSemantics", testIteratorSemantics},
		{"IteratorRandomSeek", testIteratorRandomSeek},
		{"MixedFloatHistogram", testMixedFloatHistogram},
		{"HistogramRoundTrip", testHistogramRoundTrip},
		{"HistogramOwnership", testHistogramOwnership},
		{"StaleNaNBitExact", testStaleNaN},
		{"CTZeroSample", testCTZeroSample},
		{"MetadataAndExemplars", testMetadataAndExemplars},
		{"ConcurrentAppendAndQuery", testConcurrent},
		{"ManySeriesRegexp", testManySeriesRegexp},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, newStorage) })
	}
}

// series is one series as read back: labels and samples.
type series struct {
	lset    labels.Labels
	samples []storage.Sample
}

func (s series) String() string { return fmt.Sprintf("%s%v", s.lset, s.samples) }

// selectAll runs one Select over [mint, maxt] and drains it.
func selectAll(t testing.TB, q storage.Queryable, mint, maxt int64, sortSeries bool, ms ...*labels.Matcher) []series {
	t.Helper()
	qr, err := q.Querier(mint, maxt)
	if err != nil {
		t.Fatalf("Querier(%d, %d): %v", mint, maxt, err)
	}
	defer qr.Close()
	set := qr.Select(context.Background(), sortSeries, nil, ms...)
	var out []series
	var it storage.Iterator
	for set.Next() {
		s := set.At()
		it = s.Iterator(it)
		smps, err := storage.ExpandSamples(it)
		if err != nil {
			t.Fatalf("iterating %s: %v", s.Labels(), err)
		}
		out = append(out, series{lset: s.Labels(), samples: smps})
	}
	if err := set.Err(); err != nil {
		t.Fatalf("Select: %v", err)
	}
	return out
}

// all selects every series with a __name__ over all time, sorted.
func all(t testing.TB, q storage.Queryable) []series {
	t.Helper()
	return selectAll(t, q, math.MinInt64, math.MaxInt64, true, labels.MustNewMatcher(labels.MatchRegexp, "__name__", ".+"))
}

// commit appends the samples to l in one batch and commits it.
func commit(t testing.TB, a storage.Appendable, l labels.Labels, smps ...storage.Sample) storage.SeriesRef {
	t.Helper()
	app := a.Appender(context.Background())
	var ref storage.SeriesRef
	for _, s := range smps {
		var err error
		ref, err = appendSample(app, ref, l, s)
		if err != nil {
			t.Fatalf("append %s %v: %v", l, s, err)
		}
	}
	if err := app.Commit(); err != nil {
		t.Fatalf("commit: %v", err)
	}
	return ref
}

func appendSample(app storage.Appender, ref storage.SeriesRef, l labels.Labels, s storage.Sample) (storage.SeriesRef, error) {
	if s.H != nil || s.FH != nil {
		return app.AppendHistogram(ref, l, s.T, s.H, s.FH)
	}
	return app.Append(ref, l, s.T, s.F)
}

func floats(ts ...int64) []storage.Sample {
	out := make([]storage.Sample, len(ts))
	for i, t := range ts {
		out[i] = storage.Sample{T: t, F: float64(t) / 10}
	}
	return out
}

// sameSamples compares read-back samples with what was written: floats bit
// for bit, histograms by meaning (see sameHistogram).
func sameSamples(got, want []storage.Sample) bool {
	return slices.EqualFunc(got, want, func(g, w storage.Sample) bool {
		if g.T != w.T {
			return false
		}
		switch w.Type() {
		case storage.ValHistogram:
			return g.H != nil && sameHistogram(g.H.ToFloat(nil), w.H.ToFloat(nil), w.H.CounterResetHint, g.H.CounterResetHint)
		case storage.ValFloatHistogram:
			return g.FH != nil && sameHistogram(g.FH, w.FH, w.FH.CounterResetHint, g.FH.CounterResetHint)
		}
		return g.Type() == storage.ValFloat && math.Float64bits(g.F) == math.Float64bits(w.F)
	})
}

// sameHistogram compares histograms by meaning. Chunk encodings may add
// empty buckets or reshape spans, and may report a counter reset hint only
// where they know it, so it compares bucket counts by index (ignoring
// empty ones), every scalar bit for bit, and the hint loosely: a gauge
// stays a gauge, and an unknown hint is acceptable for a counter.
func sameHistogram(got, want *histogram.FloatHistogram, wantHint, gotHint histogram.CounterResetHint) bool {
	if (wantHint == histogram.GaugeType) != (gotHint == histogram.GaugeType) {
		return false
	}
	if gotHint != wantHint && gotHint != histogram.UnknownCounterReset && wantHint != histogram.UnknownCounterReset {
		return false
	}
	bits := math.Float64bits
	if got.Schema != want.Schema || bits(got.ZeroThreshold) != bits(want.ZeroThreshold) ||
		bits(got.ZeroCount) != bits(want.ZeroCount) || bits(got.Count) != bits(want.Count) ||
		bits(got.Sum) != bits(want.Sum) {
		return false
	}
	if !slices.Equal(got.CustomValues, want.CustomValues) {
		return false
	}
	return maps2eq(bucketMap(got.PositiveSpans, got.PositiveBuckets), bucketMap(want.PositiveSpans, want.PositiveBuckets)) &&
		maps2eq(bucketMap(got.NegativeSpans, got.NegativeBuckets), bucketMap(want.NegativeSpans, want.NegativeBuckets))
}

func bucketMap(spans []histogram.Span, buckets []float64) map[int32]uint64 {
	m := map[int32]uint64{}
	var idx int32
	b := 0
	for _, sp := range spans {
		idx += sp.Offset
		for range sp.Length {
			if b < len(buckets) && buckets[b] != 0 {
				m[idx] = math.Float64bits(buckets[b])
			}
			idx++
			b++
		}
	}
	return m
}

func maps2eq(a, b map[int32]uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func lsets(ss []series) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = s.lset.String()
	}
	return out
}
