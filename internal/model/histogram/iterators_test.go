package histogram

import (
	"math"
	"slices"
	"testing"
)

func collect(it BucketIterator) []Bucket {
	var bs []Bucket
	for it.Next() {
		bs = append(bs, it.At())
	}
	return bs
}

func checkBuckets(t *testing.T, name string, got, want []Bucket) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("%s:\n got %v\nwant %v", name, got, want)
	}
}

var inf = math.Inf(1)

func TestFloatBucketIterators(t *testing.T) {
	// Schema 0; positive buckets -1, 0, 2; negative buckets -1, 0, 1.
	h := exp(0, 0.3, 7, 0, 0,
		[]Span{{-1, 2}, {1, 1}}, []float64{1, 2, 3},
		[]Span{{-1, 3}}, []float64{6, 4, 5})
	pos := []Bucket{
		{Lower: 0.25, Upper: 0.5, UpperInclusive: true, Count: 1, Index: -1},
		{Lower: 0.5, Upper: 1, UpperInclusive: true, Count: 2, Index: 0},
		{Lower: 2, Upper: 4, UpperInclusive: true, Count: 3, Index: 2},
	}
	neg := []Bucket{
		{Lower: -0.5, Upper: -0.25, LowerInclusive: true, Count: 6, Index: -1},
		{Lower: -1, Upper: -0.5, LowerInclusive: true, Count: 4, Index: 0},
		{Lower: -2, Upper: -1, LowerInclusive: true, Count: 5, Index: 1},
	}
	zero := Bucket{Lower: -0.3, Upper: 0.3, LowerInclusive: true, UpperInclusive: true, Count: 7}
	checkBuckets(t, "positive", collect(h.PositiveBucketIterator()), pos)
	checkBuckets(t, "negative", collect(h.NegativeBucketIterator()), neg)
	checkBuckets(t, "positive reverse", collect(h.PositiveReverseBucketIterator()), []Bucket{pos[2], pos[1], pos[0]})
	checkBuckets(t, "negative reverse", collect(h.NegativeReverseBucketIterator()), []Bucket{neg[2], neg[1], neg[0]})

	// The buckets overlapping the zero bucket are clamped to it.
	clampedPos, clampedNeg := pos[0], neg[0]
	clampedPos.Lower, clampedNeg.Upper = 0.3, -0.3
	all := []Bucket{neg[2], neg[1], clampedNeg, zero, clampedPos, pos[1], pos[2]}
	checkBuckets(t, "all", collect(h.AllBucketIterator()), all)
	slices.Reverse(all)
	checkBuckets(t, "all reverse", collect(h.AllReverseBucketIterator()), all)

	h.ZeroCount = 0
	checkBuckets(t, "all without zero bucket", collect(h.AllBucketIterator()),
		[]Bucket{neg[2], neg[1], clampedNeg, clampedPos, pos[1], pos[2]})
}

func TestIteratorsOddLayouts(t *testing.T) {
	// Zero-length and adjacent spans: buckets 3, 4, 5 and 9.
	spans := []Span{{2, 0}, {1, 2}, {0, 1}, {0, 0}, {3, 1}}
	h := exp(0, 0, 0, 0, 0, spans, []float64{1, 2, 3, 4}, nil, nil)
	var idxs []int32
	for _, b := range collect(h.PositiveBucketIterator()) {
		idxs = append(idxs, b.Index)
	}
	if want := []int32{3, 4, 5, 9}; !slices.Equal(idxs, want) {
		t.Errorf("forward indexes %v, want %v", idxs, want)
	}
	idxs = idxs[:0]
	for _, b := range collect(h.PositiveReverseBucketIterator()) {
		idxs = append(idxs, b.Index)
	}
	if want := []int32{9, 5, 4, 3}; !slices.Equal(idxs, want) {
		t.Errorf("reverse indexes %v, want %v", idxs, want)
	}

	// Invalid layouts must not make the iterators panic.
	for _, l := range []struct {
		spans   []Span
		buckets []float64
	}{
		{[]Span{{0, 5}}, []float64{1, 2}},
		{[]Span{{0, 1}}, []float64{1, 2, 3}},
		{[]Span{{0, 2}, {-5, 2}}, []float64{1, 2, 3, 4}},
	} {
		h := exp(0, 0, 0, 0, 0, l.spans, l.buckets, l.spans, l.buckets)
		collect(h.AllBucketIterator())
		collect(h.AllReverseBucketIterator())
		_ = h.String()
	}
}

func TestCustomBucketIterator(t *testing.T) {
	h := custom([]float64{1, 2, 5}, 6, 0, []Span{{0, 2}, {1, 1}}, []float64{1, 2, 3})
	want := []Bucket{
		{Lower: math.Inf(-1), Upper: 1, LowerInclusive: true, UpperInclusive: true, Count: 1, Index: 0},
		{Lower: 1, Upper: 2, UpperInclusive: true, Count: 2, Index: 1},
		{Lower: 5, Upper: inf, UpperInclusive: true, Count: 3, Index: 3},
	}
	checkBuckets(t, "positive", collect(h.PositiveBucketIterator()), want)
	checkBuckets(t, "all", collect(h.AllBucketIterator()), want)
	slices.Reverse(want)
	checkBuckets(t, "all reverse", collect(h.AllReverseBucketIterator()), want)
}

func TestHistogramBucketIterators(t *testing.T) {
	h := &Histogram{
		Schema: 1, ZeroThreshold: 0.001, ZeroCount: 2,
		PositiveSpans: []Span{{0, 2}, {2, 1}}, PositiveBuckets: []int64{1, 2, -1}, // 1, 3, 2.
		NegativeSpans: []Span{{1, 1}}, NegativeBuckets: []int64{4},
	}
	s := math.Sqrt2
	checkBuckets(t, "positive", collect(h.PositiveBucketIterator()), []Bucket{
		{Lower: 1 / s, Upper: 1, UpperInclusive: true, Count: 1, Index: 0},
		{Lower: 1, Upper: getBound(1, 1, nil), UpperInclusive: true, Count: 3, Index: 1},
		{Lower: getBound(3, 1, nil), Upper: 4, UpperInclusive: true, Count: 2, Index: 4},
	})
	checkBuckets(t, "negative", collect(h.NegativeBucketIterator()), []Bucket{
		{Lower: -getBound(1, 1, nil), Upper: -1, LowerInclusive: true, Count: 4, Index: 1},
	})
}

func TestCumulativeBucketIterator(t *testing.T) {
	cum := func(upper, count float64, idx int32) Bucket {
		return Bucket{Lower: math.Inf(-1), Upper: upper, LowerInclusive: true, UpperInclusive: true, Count: count, Index: idx}
	}
	h := &Histogram{
		Schema: 0, ZeroThreshold: 0.001, ZeroCount: 2,
		PositiveSpans: []Span{{0, 2}, {2, 1}}, PositiveBuckets: []int64{1, 2, -1}, // 1, 3 at 0, 1; 2 at 4.
	}
	checkBuckets(t, "exponential", collect(h.CumulativeBucketIterator()), []Bucket{
		cum(0.001, 2, -1), cum(1, 3, 0), cum(2, 6, 1), cum(4, 6, 2), cum(8, 6, 3), cum(16, 8, 4),
	})
	h.ZeroCount = 0
	checkBuckets(t, "no zero bucket", collect(h.CumulativeBucketIterator()), []Bucket{
		cum(1, 1, 0), cum(2, 4, 1), cum(4, 4, 2), cum(8, 4, 3), cum(16, 6, 4),
	})
	c := &Histogram{
		Schema: CustomBucketsSchema, CustomValues: []float64{1, 2, 5},
		PositiveSpans: []Span{{1, 1}, {1, 1}}, PositiveBuckets: []int64{3, 1},
	}
	checkBuckets(t, "custom", collect(c.CumulativeBucketIterator()), []Bucket{
		cum(2, 3, 1), cum(5, 3, 2), cum(inf, 7, 3),
	})
	checkBuckets(t, "empty", collect((&Histogram{}).CumulativeBucketIterator()), nil)

	defer func() {
		if recover() == nil {
			t.Error("no panic for negative buckets")
		}
	}()
	GenerateTestHistogram(0).CumulativeBucketIterator()
}
