package histogram

import (
	"math"
	"testing"
)

// fuzzReader turns fuzz input into histogram fields, returning zeros once
// the input is used up.
type fuzzReader struct{ b []byte }

func (r *fuzzReader) next() byte {
	if len(r.b) == 0 {
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

// count returns a small count: mostly exact multiples of 1/4, sometimes
// zero, occasionally negative or NaN (invalid, but must not crash).
func (r *fuzzReader) count() float64 {
	switch c := r.next(); {
	case c < 64:
		return 0
	case c == 255:
		return math.NaN()
	case c == 254:
		return -1
	default:
		return float64(c) / 4
	}
}

func (r *fuzzReader) layout() ([]Span, []float64) {
	spans := make([]Span, r.next()%5)
	n := 0
	for i := range spans {
		spans[i] = Span{Offset: int32(int8(r.next())), Length: uint32(r.next() % 6)}
		if i > 0 && spans[i].Offset < 0 && spans[i].Offset > -120 {
			spans[i].Offset = -spans[i].Offset // Mostly valid; -121..-128 stay invalid.
		}
		n += int(spans[i].Length)
	}
	if r.next() == 1 {
		n++ // Occasionally one bucket too many.
	}
	buckets := make([]float64, n)
	for i := range buckets {
		buckets[i] = r.count()
	}
	return spans, buckets
}

func (r *fuzzReader) floatHistogram() *FloatHistogram {
	h := &FloatHistogram{}
	if s := r.next(); s%8 == 0 {
		h.Schema = CustomBucketsSchema
		bound := -2.0
		for range r.next() % 6 {
			bound += float64(r.next()%8) / 2 // Steps of 0 make them invalid.
			h.CustomValues = append(h.CustomValues, bound)
		}
	} else {
		h.Schema = int32(s%16) - 6 // -6..9, so a few are invalid.
		h.ZeroThreshold = [...]float64{0, 0, 1e-128, 0.001, 0.3, 0.5, 1, 2.5}[r.next()%8]
		h.ZeroCount = r.count()
		h.NegativeSpans, h.NegativeBuckets = r.layout()
	}
	h.CounterResetHint = CounterResetHint(r.next() % 4)
	h.Count = r.count()
	h.Sum = r.count()
	h.PositiveSpans, h.PositiveBuckets = r.layout()
	return h
}

// intHistogram derives an integer histogram, with its counts and Count
// made consistent half of the time.
func intHistogram(fh *FloatHistogram, consistent bool) *Histogram {
	deltas := func(abs []float64) []int64 {
		d := make([]int64, len(abs))
		var prev int64
		for i, a := range abs {
			v := int64(a) // NaN converts to some value; fine.
			d[i], prev = v-prev, v
		}
		return d
	}
	h := &Histogram{
		CounterResetHint: fh.CounterResetHint, Schema: fh.Schema, ZeroThreshold: fh.ZeroThreshold,
		ZeroCount: uint64(max(fh.ZeroCount, 0)), Count: uint64(max(fh.Count, 0)), Sum: fh.Sum,
		PositiveSpans: fh.PositiveSpans, NegativeSpans: fh.NegativeSpans,
		PositiveBuckets: deltas(fh.PositiveBuckets), NegativeBuckets: deltas(fh.NegativeBuckets),
		CustomValues: fh.CustomValues,
	}
	if consistent {
		h.Count = h.ZeroCount
		for _, b := range [][]int64{h.PositiveBuckets, h.NegativeBuckets} {
			var abs int64
			for _, d := range b {
				abs += d
				h.Count += uint64(abs)
			}
		}
	}
	return h
}

func sum(fs []float64) float64 {
	var s float64
	for _, f := range fs {
		s += f
	}
	return s
}

// FuzzHistogram checks that no input makes Validate, String, Compact,
// ReduceResolution, Add, Sub or DetectReset panic, and that valid inputs
// keep valid layouts and their populated buckets through them.
func FuzzHistogram(f *testing.F) {
	f.Add([]byte{1, 3, 100, 2, 254, 10, 2, 3, 4, 200, 100, 0, 2})
	f.Add([]byte{9, 4, 70, 3, 0, 4, 2, 5, 1, 80, 90, 100, 0, 110, 1, 120, 128, 2, 3, 100, 0, 100, 9, 2, 8, 80, 1, 2, 3})
	f.Add([]byte{0, 3, 2, 2, 4, 1, 0, 2, 0, 4, 1, 3, 80, 90, 0, 100, 200, 8, 2, 1, 4, 2, 5, 0, 100, 100, 100, 100, 100})
	f.Add([]byte{7, 6, 100, 2, 250, 3, 1, 2, 120, 5, 0, 100, 0, 0, 100, 255, 100, 12, 200, 2, 2, 5, 3, 3, 100, 100})
	f.Fuzz(func(t *testing.T, data []byte) {
		r := &fuzzReader{b: data}
		a, b := r.floatHistogram(), r.floatHistogram()
		maxEmpty := int(r.next() % 4)
		aValid, bValid := a.Validate() == nil, b.Validate() == nil
		_, _ = a.String(), b.String()
		_, _ = collect(a.AllBucketIterator()), collect(b.AllReverseBucketIterator())

		// Compact keeps valid layouts valid and their populated buckets.
		c := a.Copy()
		c.Compact(maxEmpty)
		if aValid {
			if err := c.Validate(); err != nil {
				t.Fatalf("Compact(%d) of valid %v made it invalid: %v", maxEmpty, a, err)
			}
			if !mapsEqual(populated(c.PositiveSpans, c.PositiveBuckets), populated(a.PositiveSpans, a.PositiveBuckets)) ||
				!mapsEqual(populated(c.NegativeSpans, c.NegativeBuckets), populated(a.NegativeSpans, a.NegativeBuckets)) {
				t.Fatalf("Compact(%d) changed the buckets of %v: %v", maxEmpty, a, c)
			}
		}

		// The same for the integer form.
		ih := intHistogram(a, maxEmpty%2 == 0)
		ihValid := ih.Validate() == nil
		_ = ih.String()
		ic := ih.Copy().Compact(maxEmpty)
		if ihValid {
			if err := ic.Validate(); err != nil {
				t.Fatalf("Compact(%d) of valid %v made it invalid: %v", maxEmpty, ih, err)
			}
			if !ic.ToFloat(nil).Copy().Compact(0).Equals(ih.ToFloat(nil).Compact(0)) {
				t.Fatalf("Compact(%d) changed %v to %v", maxEmpty, ih, ic)
			}
			if len(ih.NegativeBuckets) == 0 {
				collect(ih.CumulativeBucketIterator())
			}
		}

		if aValid && IsExponentialSchema(a.Schema) && a.Schema > ExponentialSchemaMin {
			red := a.Copy()
			if err := red.ReduceResolution(a.Schema - 1); err != nil {
				t.Fatalf("ReduceResolution of valid %v: %v", a, err)
			}
			if err := red.Validate(); err != nil ||
				(sum(red.PositiveBuckets) != sum(a.PositiveBuckets) && !math.IsNaN(sum(a.PositiveBuckets))) {
				t.Fatalf("ReduceResolution of %v gave %v (%v)", a, red, err)
			}
		}

		if !aValid || !bValid {
			return
		}
		_ = a.DetectReset(b)
		_ = b.DetectReset(a)
		for _, sub := range []bool{false, true} {
			h, o := a.Copy(), b.Copy()
			op := (*FloatHistogram).Add
			if sub {
				op = (*FloatHistogram).Sub
			}
			res, _, _, err := op(h, o)
			if err != nil {
				if a.UsesCustomBuckets() == b.UsesCustomBuckets() {
					t.Fatalf("adding valid %v and %v: %v", a, b, err)
				}
				continue
			}
			if !o.Equals(b) {
				t.Fatalf("other modified: %v became %v", b, o)
			}
			if !spansValid(res.PositiveSpans, len(res.PositiveBuckets)) || !spansValid(res.NegativeSpans, len(res.NegativeBuckets)) {
				t.Fatalf("%v op %v has an invalid layout: %+v", a, b, res)
			}
			_ = res.String()
			// With nothing to reconcile, the bucket totals add up.
			// (Add drops buckets whose upper bound underflows to 0,
			// as Prometheus does; they hold no real observations.)
			sumA, sumB := sum(a.PositiveBuckets), sum(b.PositiveBuckets)
			if a.Schema == b.Schema && a.ZeroThreshold == 0 && b.ZeroThreshold == 0 && !hasZeroBound(b) &&
				CustomBucketBoundsMatch(a.CustomValues, b.CustomValues) && !math.IsNaN(sumA+sumB) {
				want := sumA + sumB
				if sub {
					want = sumA - sumB
				}
				if got := sum(res.PositiveBuckets); got != want {
					t.Fatalf("%v op %v: bucket total %v, want %v", a, b, got, want)
				}
			}
		}
	})
}

// hasZeroBound reports whether a positive bucket of h has an upper bound
// that underflows to 0.
func hasZeroBound(h *FloatHistogram) bool {
	for it := h.PositiveBucketIterator(); it.Next(); {
		if it.At().Upper <= 0 {
			return true
		}
	}
	return false
}
