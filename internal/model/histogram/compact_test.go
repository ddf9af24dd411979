package histogram

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestCompact(t *testing.T) {
	nan := math.NaN()
	for _, tc := range []struct {
		name      string
		spans     []Span
		buckets   []float64
		maxEmpty  int
		wantSpans []Span
		wantBkts  []float64
	}{
		{"nothing to do", []Span{{0, 2}, {2, 1}}, []float64{1, 2, 3}, 0, []Span{{0, 2}, {2, 1}}, []float64{1, 2, 3}},
		{"nothing to do with max", []Span{{0, 2}, {2, 1}}, []float64{1, 2, 3}, 1, []Span{{0, 2}, {2, 1}}, []float64{1, 2, 3}},
		{"empty at span ends", []Span{{-1, 5}}, []float64{0, 1, 0, 2, 0}, 0, []Span{{0, 1}, {1, 1}}, []float64{1, 2}},
		{"empty at span ends, max 1", []Span{{-1, 5}}, []float64{0, 1, 0, 2, 0}, 1, []Span{{0, 3}}, []float64{1, 0, 2}},
		{"empty span dropped", []Span{{0, 2}, {1, 2}, {1, 1}}, []float64{1, 1, 0, 0, 2}, 0, []Span{{0, 2}, {4, 1}}, []float64{1, 1, 2}},
		{"empty span bridged", []Span{{0, 2}, {1, 2}, {1, 1}}, []float64{1, 1, 0, 0, 2}, 4, []Span{{0, 7}}, []float64{1, 1, 0, 0, 0, 0, 2}},
		{"gap one too wide", []Span{{0, 2}, {1, 2}, {1, 1}}, []float64{1, 1, 0, 0, 2}, 3, []Span{{0, 2}, {4, 1}}, []float64{1, 1, 2}},
		{"inner runs split", []Span{{0, 6}}, []float64{1, 0, 0, 2, 0, 3}, 0, []Span{{0, 1}, {2, 1}, {1, 1}}, []float64{1, 2, 3}},
		{"inner runs partly kept", []Span{{0, 6}}, []float64{1, 0, 0, 2, 0, 3}, 1, []Span{{0, 1}, {2, 3}}, []float64{1, 2, 0, 3}},
		{"inner runs kept", []Span{{0, 6}}, []float64{1, 0, 0, 2, 0, 3}, 2, []Span{{0, 6}}, []float64{1, 0, 0, 2, 0, 3}},
		{"spans merged", []Span{{0, 1}, {1, 1}, {3, 1}}, []float64{1, 2, 3}, 1, []Span{{0, 3}, {3, 1}}, []float64{1, 0, 2, 3}},
		{"all spans merged", []Span{{0, 1}, {1, 1}, {3, 1}}, []float64{1, 2, 3}, 3, []Span{{0, 7}}, []float64{1, 0, 2, 0, 0, 0, 3}},
		{"zero-length and adjacent spans", []Span{{2, 0}, {1, 2}, {0, 1}, {0, 0}, {3, 1}}, []float64{1, 2, 3, 4}, 0, []Span{{3, 3}, {3, 1}}, []float64{1, 2, 3, 4}},
		{"all empty", []Span{{0, 3}}, []float64{0, 0, 0}, 2, []Span{}, []float64{}},
		{"only zero-length spans", []Span{{4, 0}, {2, 0}}, []float64{}, 0, []Span{}, []float64{}},
		{"negative indexes", []Span{{-5, 3}, {0, 2}}, []float64{0, 1, 0, 0, 2}, 0, []Span{{-4, 1}, {2, 1}}, []float64{1, 2}},
		{"nan is populated", []Span{{0, 3}}, []float64{0, nan, 0}, 0, []Span{{1, 1}}, []float64{nan}},
		{"negative max is zero", []Span{{0, 3}}, []float64{1, 0, 2}, -1, []Span{{0, 1}, {1, 1}}, []float64{1, 2}},
		{"splitting needs new storage", []Span{{0, 7}}, []float64{1, 0, 2, 0, 3, 0, 4}, 0, []Span{{0, 1}, {1, 1}, {1, 1}, {1, 1}}, []float64{1, 2, 3, 4}},
		{"invalid layout left alone", []Span{{0, 3}}, []float64{0, 1}, 0, []Span{{0, 3}}, []float64{0, 1}},
		{"negative offset left alone", []Span{{0, 2}, {-1, 1}}, []float64{0, 1, 2}, 0, []Span{{0, 2}, {-1, 1}}, []float64{0, 1, 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fh := &FloatHistogram{
				PositiveSpans: slices.Clone(tc.spans), PositiveBuckets: slices.Clone(tc.buckets),
				NegativeSpans: slices.Clone(tc.spans), NegativeBuckets: slices.Clone(tc.buckets),
			}
			fh.Compact(tc.maxEmpty)
			for _, side := range []struct {
				spans   []Span
				buckets []float64
			}{{fh.PositiveSpans, fh.PositiveBuckets}, {fh.NegativeSpans, fh.NegativeBuckets}} {
				if !slices.Equal(side.spans, tc.wantSpans) || !floatsBitEqual(side.buckets, tc.wantBkts) {
					t.Errorf("float: got %v %v, want %v %v", side.spans, side.buckets, tc.wantSpans, tc.wantBkts)
				}
			}
			if slices.ContainsFunc(tc.buckets, math.IsNaN) {
				return
			}
			h := &Histogram{PositiveSpans: slices.Clone(tc.spans), PositiveBuckets: toDeltas(tc.buckets)}
			h.Compact(tc.maxEmpty)
			if !slices.Equal(h.PositiveSpans, tc.wantSpans) || !slices.Equal(h.PositiveBuckets, toDeltas(tc.wantBkts)) {
				t.Errorf("int: got %v %v, want %v %v", h.PositiveSpans, h.PositiveBuckets, tc.wantSpans, toDeltas(tc.wantBkts))
			}
		})
	}
}

// randomLayout returns a valid random layout, with many empty buckets,
// zero-length spans and adjacent spans.
func randomLayout(r *rand.Rand) ([]Span, []float64) {
	spans := make([]Span, r.IntN(6))
	var buckets []float64
	for i := range spans {
		spans[i] = Span{Offset: int32(r.IntN(4)), Length: uint32(r.IntN(5))}
		if i == 0 {
			spans[i].Offset -= 3
		}
		for range spans[i].Length {
			v := 0.0
			if r.IntN(2) == 0 {
				v = float64(1 + r.IntN(5))
			}
			buckets = append(buckets, v)
		}
	}
	return spans, buckets
}

// TestCompactRandom compares Compact with refCompact on random layouts,
// which exercises both the in-place and the reallocating rewrite.
func TestCompactRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 20000 {
		spans, buckets := randomLayout(r)
		maxEmpty := r.IntN(4)
		wantS, wantB := refCompact(spans, buckets, maxEmpty)

		fh := &FloatHistogram{PositiveSpans: slices.Clone(spans), PositiveBuckets: slices.Clone(buckets)}
		fh.Compact(maxEmpty)
		if !slices.Equal(fh.PositiveSpans, wantS) || !slices.Equal(fh.PositiveBuckets, wantB) {
			t.Fatalf("case %d: Compact(%d) of %v %v = %v %v, want %v %v",
				i, maxEmpty, spans, buckets, fh.PositiveSpans, fh.PositiveBuckets, wantS, wantB)
		}
		h := &Histogram{PositiveSpans: slices.Clone(spans), PositiveBuckets: toDeltas(buckets)}
		h.Compact(maxEmpty)
		if !slices.Equal(h.PositiveSpans, wantS) || !slices.Equal(h.PositiveBuckets, toDeltas(wantB)) {
			t.Fatalf("case %d: int Compact(%d) of %v %v = %v %v, want %v %v",
				i, maxEmpty, spans, toDeltas(buckets), h.PositiveSpans, h.PositiveBuckets, wantS, toDeltas(wantB))
		}
		// Compacting is idempotent.
		fh.Compact(maxEmpty)
		if !slices.Equal(fh.PositiveSpans, wantS) || !slices.Equal(fh.PositiveBuckets, wantB) {
			t.Fatalf("case %d: second Compact changed %v %v", i, wantS, wantB)
		}
	}
}

func TestCompactInPlace(t *testing.T) {
	h := GenerateTestHistogram(3)
	h.PositiveBuckets = append(h.PositiveBuckets, -int64(7)) // Trailing empty bucket.
	h.PositiveSpans[1].Length++
	pos := &h.PositiveBuckets[0]
	h.Compact(0)
	if &h.PositiveBuckets[0] != pos {
		t.Error("Compact reallocated buckets it only had to shrink")
	}
	if err := h.Validate(); err != nil {
		t.Error(err)
	}
	for _, tc := range []struct {
		name      string
		empty     int // Index of the bucket to empty.
		maxAllocs float64
	}{
		{"shrinking span", 0, 0},
		{"splitting span", 1, 1}, // Only the spans need more room.
	} {
		base := testing.AllocsPerRun(100, func() {
			fh := GenerateTestFloatHistogram(1)
			fh.PositiveBuckets[tc.empty] = 0
		})
		allocs := testing.AllocsPerRun(100, func() {
			fh := GenerateTestFloatHistogram(1)
			fh.PositiveBuckets[tc.empty] = 0
			fh.Compact(0)
		})
		if allocs-base > tc.maxAllocs {
			t.Errorf("%s: Compact allocated %v times, want at most %v", tc.name, allocs-base, tc.maxAllocs)
		}
	}
}
