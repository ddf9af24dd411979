package histogram

import (
	"errors"
	"testing"
)

// exp builds an exponential FloatHistogram; counts need not be consistent.
func exp(schema int32, zt, zc, count, sum float64, pos []Span, pb []float64, neg []Span, nb []float64) *FloatHistogram {
	return &FloatHistogram{
		Schema: schema, ZeroThreshold: zt, ZeroCount: zc, Count: count, Sum: sum,
		PositiveSpans: pos, PositiveBuckets: pb, NegativeSpans: neg, NegativeBuckets: nb,
	}
}

func custom(bounds []float64, count, sum float64, pos []Span, pb []float64) *FloatHistogram {
	return &FloatHistogram{
		Schema: CustomBucketsSchema, Count: count, Sum: sum,
		PositiveSpans: pos, PositiveBuckets: pb, CustomValues: bounds,
	}
}

func TestAddSub(t *testing.T) {
	for _, tc := range []struct {
		name           string
		h, other       *FloatHistogram
		wantAdd        *FloatHistogram // Compacted; nil to skip.
		wantSub        *FloatHistogram // Compacted; nil to skip.
		wantReconciled bool
	}{
		{
			name:    "same layout",
			h:       exp(0, 0.01, 1, 7, 5, []Span{{0, 2}}, []float64{1, 2}, []Span{{0, 1}}, []float64{3}),
			other:   exp(0, 0.01, 2, 10, 3, []Span{{0, 2}}, []float64{3, 4}, []Span{{0, 1}}, []float64{1}),
			wantAdd: exp(0, 0.01, 3, 17, 8, []Span{{0, 2}}, []float64{4, 6}, []Span{{0, 1}}, []float64{4}),
			wantSub: exp(0, 0.01, -1, -3, 2, []Span{{0, 2}}, []float64{-2, -2}, []Span{{0, 1}}, []float64{2}),
		},
		{
			name:    "buckets inserted between and after",
			h:       exp(0, 0, 0, 3, 1, []Span{{0, 2}}, []float64{1, 2}, nil, nil),
			other:   exp(0, 0, 0, 18, 1, []Span{{1, 1}, {2, 2}}, []float64{5, 6, 7}, nil, nil),
			wantAdd: exp(0, 0, 0, 21, 2, []Span{{0, 2}, {2, 2}}, []float64{1, 7, 6, 7}, nil, nil),
			wantSub: exp(0, 0, 0, -15, 0, []Span{{0, 2}, {2, 2}}, []float64{1, -3, -6, -7}, nil, nil),
		},
		{
			name:    "bucket inserted before all and on the negative side",
			h:       exp(0, 0, 0, 3, 1, []Span{{0, 2}}, []float64{1, 2}, nil, nil),
			other:   exp(0, 0, 0, 10, 1, []Span{{-3, 1}}, []float64{9}, []Span{{2, 1}}, []float64{1}),
			wantAdd: exp(0, 0, 0, 13, 2, []Span{{-3, 1}, {2, 2}}, []float64{9, 1, 2}, []Span{{2, 1}}, []float64{1}),
		},
		{
			name:    "bucket filling a gap joins spans",
			h:       exp(0, 0, 0, 3, 1, []Span{{0, 1}, {1, 1}}, []float64{1, 2}, nil, nil),
			other:   exp(0, 0, 0, 5, 1, []Span{{1, 1}}, []float64{5}, nil, nil),
			wantAdd: exp(0, 0, 0, 8, 2, []Span{{0, 3}}, []float64{1, 5, 2}, nil, nil),
		},
		{
			// Schema 1 buckets 0..3 merge into schema 0 buckets 0, 1, 1, 2.
			name:    "other has the lower schema",
			h:       exp(1, 0, 0, 10, 1, []Span{{0, 4}}, []float64{1, 2, 3, 4}, []Span{{0, 4}}, []float64{1, 2, 3, 4}),
			other:   exp(0, 0, 0, 30, 1, []Span{{1, 2}}, []float64{10, 20}, []Span{{1, 2}}, []float64{10, 20}),
			wantAdd: exp(0, 0, 0, 40, 2, []Span{{0, 3}}, []float64{1, 15, 24}, []Span{{0, 3}}, []float64{1, 15, 24}),
			wantSub: exp(0, 0, 0, -20, 0, []Span{{0, 3}}, []float64{1, -5, -16}, []Span{{0, 3}}, []float64{1, -5, -16}),
		},
		{
			name:    "h has the lower schema",
			h:       exp(0, 0, 0, 30, 1, []Span{{1, 2}}, []float64{10, 20}, nil, nil),
			other:   exp(1, 0, 0, 10, 1, []Span{{0, 4}}, []float64{1, 2, 3, 4}, nil, nil),
			wantAdd: exp(0, 0, 0, 40, 2, []Span{{0, 3}}, []float64{1, 15, 24}, nil, nil),
			wantSub: exp(0, 0, 0, 20, 0, []Span{{0, 3}}, []float64{-1, 5, 16}, nil, nil),
		},
		{
			// Schema 2 down to -1: index i lands in ((i-1)>>3)+1, so
			// -8 in -1, 0 in 0, and 1, 2, 8 in 1, and 9 in 2.
			name:    "schemas three apart",
			h:       exp(-1, 0, 0, 1, 0, []Span{{1, 1}}, []float64{1}, nil, nil),
			other:   exp(2, 0, 0, 6, 0, []Span{{-8, 1}, {7, 3}, {5, 2}}, []float64{1, 1, 1, 1, 2, 3}, nil, nil),
			wantAdd: exp(-1, 0, 0, 7, 0, []Span{{-1, 4}}, []float64{1, 1, 5, 3}, nil, nil),
		},
		{
			// Bucket -1 of h, (0.25,0.5], moves into the zero bucket
			// when the threshold grows to other's 0.5.
			name:    "h's zero threshold widens",
			h:       exp(0, 0.25, 2, 8, 1, []Span{{-1, 3}}, []float64{1, 2, 3}, nil, nil),
			other:   exp(0, 0.5, 4, 15, 1, []Span{{0, 2}}, []float64{5, 6}, nil, nil),
			wantAdd: exp(0, 0.5, 7, 23, 2, []Span{{0, 2}}, []float64{7, 9}, nil, nil),
			wantSub: exp(0, 0.5, -1, -7, 0, []Span{{0, 2}}, []float64{-3, -3}, nil, nil),
		},
		{
			name:    "other's zero threshold widens",
			h:       exp(0, 0.5, 4, 15, 1, []Span{{0, 2}}, []float64{5, 6}, nil, nil),
			other:   exp(0, 0.25, 2, 8, 1, []Span{{-1, 3}}, []float64{1, 2, 3}, nil, nil),
			wantAdd: exp(0, 0.5, 7, 23, 2, []Span{{0, 2}}, []float64{7, 9}, nil, nil),
			wantSub: exp(0, 0.5, 1, 7, 0, []Span{{0, 2}}, []float64{3, 3}, nil, nil),
		},
		{
			// 0.3 cuts through h's populated bucket (0.25,0.5], so the
			// threshold becomes 0.5 for both.
			name:    "threshold moves past a populated bucket",
			h:       exp(0, 0.25, 0, 3, 1, []Span{{-1, 2}}, []float64{1, 2}, nil, nil),
			other:   exp(0, 0.3, 1, 6, 1, []Span{{0, 1}}, []float64{5}, nil, nil),
			wantAdd: exp(0, 0.5, 2, 9, 2, []Span{{0, 1}}, []float64{7}, nil, nil),
		},
		{
			name:    "threshold stays inside an empty bucket",
			h:       exp(0, 0.25, 0, 2, 1, []Span{{-1, 2}}, []float64{0, 2}, nil, nil),
			other:   exp(0, 0.3, 1, 6, 1, []Span{{0, 1}}, []float64{5}, nil, nil),
			wantAdd: exp(0, 0.3, 1, 8, 2, []Span{{0, 1}}, []float64{7}, nil, nil),
		},
		{
			// h's negative bucket -1, [-0.5,-0.25), is populated and
			// cut by 0.3: the threshold becomes 0.5, which then also
			// swallows positive bucket -1.
			name:    "negative bucket moves the threshold",
			h:       exp(0, 0.25, 0, 7, 1, []Span{{-1, 2}}, []float64{1, 2}, []Span{{-1, 1}}, []float64{4}),
			other:   exp(0, 0.3, 0, 1, 1, []Span{{0, 1}}, []float64{1}, nil, nil),
			wantAdd: exp(0, 0.5, 5, 8, 2, []Span{{0, 1}}, []float64{3}, nil, nil),
		},
		{
			name:    "custom buckets with the same bounds",
			h:       custom([]float64{1, 2, 5}, 3, 1, []Span{{0, 2}}, []float64{1, 2}),
			other:   custom([]float64{1, 2, 5}, 12, 1, []Span{{1, 3}}, []float64{3, 4, 5}),
			wantAdd: custom([]float64{1, 2, 5}, 15, 2, []Span{{0, 4}}, []float64{1, 5, 4, 5}),
			wantSub: custom([]float64{1, 2, 5}, -9, 0, []Span{{0, 4}}, []float64{1, -1, -4, -5}),
		},
		{
			// Common bounds 1 and 5: (1,2] and (2,5] merge, as do
			// (1,3] and (3,5].
			name:           "custom buckets with different bounds",
			h:              custom([]float64{1, 2, 5}, 10, 1, []Span{{0, 4}}, []float64{1, 2, 3, 4}),
			other:          custom([]float64{1, 3, 5}, 100, 1, []Span{{0, 4}}, []float64{10, 20, 30, 40}),
			wantAdd:        custom([]float64{1, 5}, 110, 2, []Span{{0, 3}}, []float64{11, 55, 44}),
			wantSub:        custom([]float64{1, 5}, -90, 0, []Span{{0, 3}}, []float64{-9, -45, -36}),
			wantReconciled: true,
		},
		{
			name:           "custom buckets cancelling out",
			h:              custom([]float64{1, 2, 5}, 10, 1, []Span{{0, 4}}, []float64{1, 2, 3, 4}),
			other:          custom([]float64{1, 3, 5}, 10, 1, []Span{{0, 4}}, []float64{1, 3, 2, 4}),
			wantSub:        custom([]float64{1, 5}, 0, 0, nil, nil),
			wantReconciled: true,
		},
		{
			name:           "custom buckets without common bounds",
			h:              custom([]float64{1}, 3, 1, []Span{{0, 2}}, []float64{1, 2}),
			other:          custom([]float64{2}, 7, 1, []Span{{0, 2}}, []float64{3, 4}),
			wantAdd:        custom(nil, 10, 2, []Span{{0, 1}}, []float64{10}),
			wantReconciled: true,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, sub := range []bool{false, true} {
				want := tc.wantAdd
				op := (*FloatHistogram).Add
				if sub {
					want, op = tc.wantSub, (*FloatHistogram).Sub
				}
				if want == nil {
					continue
				}
				h, other := tc.h.Copy(), tc.other.Copy()
				otherBefore := other.Copy()
				res, collision, reconciled, err := op(h, other)
				if err != nil {
					t.Fatalf("sub=%v: %v", sub, err)
				}
				if res != h {
					t.Errorf("sub=%v: result is not the receiver", sub)
				}
				if collision || reconciled != tc.wantReconciled {
					t.Errorf("sub=%v: collision %v, reconciled %v", sub, collision, reconciled)
				}
				if err := res.Validate(); err != nil && !errors.Is(err, ErrHistogramNegativeBucketCount) && !errors.Is(err, ErrHistogramNegativeCount) {
					t.Errorf("sub=%v: result layout invalid: %v", sub, err)
				}
				if res.Compact(0); !res.Equals(want) {
					t.Errorf("sub=%v:\n got %s %v %v\nwant %s %v %v", sub,
						res, res.PositiveSpans, res.PositiveBuckets, want, want.PositiveSpans, want.PositiveBuckets)
				}
				if !other.Equals(otherBefore) {
					t.Errorf("sub=%v: other was modified", sub)
				}
			}
		})
	}
}

// TestAddLayout pins the uncompacted result layouts: counts added in place
// when the receiver has all buckets, a union otherwise.
func TestAddLayout(t *testing.T) {
	h := exp(0, 0, 0, 0, 0, []Span{{0, 3}}, []float64{1, 0, 2}, nil, nil)
	bucketsBefore := &h.PositiveBuckets[0]
	if _, _, _, err := h.Add(exp(0, 0, 0, 0, 0, []Span{{1, 1}}, []float64{4}, nil, nil)); err != nil {
		t.Fatal(err)
	}
	if &h.PositiveBuckets[0] != bucketsBefore || !spansEqual(h.PositiveSpans, []Span{{0, 3}}) ||
		!floatsBitEqual(h.PositiveBuckets, []float64{1, 4, 2}) {
		t.Errorf("in-place add: got %v %v", h.PositiveSpans, h.PositiveBuckets)
	}
	// The empty bucket the receiver had stays; the union is one run.
	h = exp(0, 0, 0, 0, 0, []Span{{0, 1}, {1, 1}}, []float64{0, 2}, nil, nil)
	if _, _, _, err := h.Add(exp(0, 0, 0, 0, 0, []Span{{1, 1}, {5, 1}}, []float64{4, 1}, nil, nil)); err != nil {
		t.Fatal(err)
	}
	if !spansEqual(h.PositiveSpans, []Span{{0, 3}, {4, 1}}) || !floatsBitEqual(h.PositiveBuckets, []float64{0, 4, 2, 1}) {
		t.Errorf("union add: got %v %v", h.PositiveSpans, h.PositiveBuckets)
	}

	allocs := testing.AllocsPerRun(100, func() {
		a, b := GenerateTestFloatHistogram(1), GenerateTestFloatHistogram(2)
		a.Add(b)
	})
	base := testing.AllocsPerRun(100, func() {
		_, _ = GenerateTestFloatHistogram(1), GenerateTestFloatHistogram(2)
	})
	if allocs > base {
		t.Errorf("adding equal layouts allocated %v times", allocs-base)
	}
}

func TestAddErrors(t *testing.T) {
	e := GenerateTestFloatHistogram(1)
	c := GenerateTestCustomBucketsHistogram(1).ToFloat(nil)
	for _, tc := range []struct {
		name     string
		h, other *FloatHistogram
		want     error
	}{
		{"exponential plus custom", e, c, ErrHistogramsIncompatibleSchema},
		{"custom plus exponential", c, e, ErrHistogramsIncompatibleSchema},
		{"receiver layout broken", func() *FloatHistogram {
			h := e.Copy()
			h.PositiveSpans[0].Length++
			return h
		}(), e, ErrHistogramSpansBucketsMismatch},
		{"other layout broken", e, func() *FloatHistogram {
			h := e.Copy()
			h.NegativeSpans = append(h.NegativeSpans, Span{Offset: -2, Length: 0})
			return h
		}(), ErrHistogramSpanNegativeOffset},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, op := range []func(h, o *FloatHistogram) (*FloatHistogram, bool, bool, error){
				(*FloatHistogram).Add, (*FloatHistogram).Sub,
			} {
				h := tc.h.Copy()
				res, _, _, err := op(h, tc.other)
				if !errors.Is(err, tc.want) || res != nil {
					t.Errorf("got %v, %v; want nil, %v", res, err, tc.want)
				}
				if !h.Equals(tc.h) {
					t.Errorf("receiver modified despite the error")
				}
			}
		})
	}
}

func TestAddCounterResetHint(t *testing.T) {
	const (
		U = UnknownCounterReset
		R = CounterReset
		N = NotCounterReset
		G = GaugeType
	)
	for _, tc := range []struct {
		h, other, want CounterResetHint
		collision      bool
	}{
		{U, U, U, false}, {U, R, U, false}, {U, N, U, false}, {U, G, G, false},
		{R, U, U, false}, {R, R, R, false}, {R, N, U, true}, {R, G, G, false},
		{N, U, U, false}, {N, R, U, true}, {N, N, N, false}, {N, G, G, false},
		{G, U, G, false}, {G, R, G, false}, {G, N, G, false}, {G, G, G, false},
	} {
		for _, op := range []func(h, o *FloatHistogram) (*FloatHistogram, bool, bool, error){
			(*FloatHistogram).Add, (*FloatHistogram).Sub,
		} {
			h, other := GenerateTestFloatHistogram(1), GenerateTestFloatHistogram(2)
			h.CounterResetHint, other.CounterResetHint = tc.h, tc.other
			res, collision, _, err := op(h, other)
			if err != nil {
				t.Fatal(err)
			}
			if res.CounterResetHint != tc.want || collision != tc.collision {
				t.Errorf("%v + %v = %v (collision %v), want %v (collision %v)",
					tc.h, tc.other, res.CounterResetHint, collision, tc.want, tc.collision)
			}
		}
	}
}

// TestAddMatchesIntegerSum checks Add against summing the integer
// histograms bucket by bucket, across schemas, after Compact.
func TestAddMatchesIntegerSum(t *testing.T) {
	for i := range 5 {
		a, b := GenerateTestHistogram(i), GenerateTestHistogram(i+3)
		sum, _, _, err := a.ToFloat(nil).Add(b.ToFloat(nil))
		if err != nil {
			t.Fatal(err)
		}
		want := GenerateTestHistogram(2*i + 3).ToFloat(nil) // Counts are linear in i.
		want.Sum = a.Sum + b.Sum
		want.ZeroCount, want.Count = float64(a.ZeroCount+b.ZeroCount), float64(a.Count+b.Count)
		for j := range want.PositiveBuckets {
			want.PositiveBuckets[j] = a.ToFloat(nil).PositiveBuckets[j] + b.ToFloat(nil).PositiveBuckets[j]
		}
		for j := range want.NegativeBuckets {
			want.NegativeBuckets[j] = a.ToFloat(nil).NegativeBuckets[j] + b.ToFloat(nil).NegativeBuckets[j]
		}
		if !sum.Equals(want) {
			t.Errorf("i=%d: got %s, want %s", i, sum, want)
		}
		if err := sum.Validate(); err != nil {
			t.Error(err)
		}
	}
}

// TestAddDropsUnderflowingBuckets pins a Prometheus quirk: with a zero
// threshold of 0, Add still skips buckets of other whose upper bound is
// ≤ 0, which happens only where the bound underflows (schema -4, index
// ≤ -68). Such buckets cannot hold real observations.
func TestAddDropsUnderflowingBuckets(t *testing.T) {
	h := exp(-4, 0, 0, 1, 0, []Span{{1, 1}}, []float64{1}, nil, nil)
	other := exp(-4, 0, 0, 3, 0, []Span{{-68, 1}, {68, 1}}, []float64{2, 1}, nil, nil)
	if getBound(-68, -4, nil) != 0 {
		t.Fatal("bound -68 of schema -4 does not underflow")
	}
	if _, _, _, err := h.Add(other); err != nil {
		t.Fatal(err)
	}
	if want := exp(-4, 0, 0, 4, 0, []Span{{1, 1}}, []float64{2}, nil, nil); !h.Equals(want) {
		t.Errorf("got %v %v, want %v", h.PositiveSpans, h.PositiveBuckets, want)
	}
}

// TestAddSkipsBucketsInZeroBucket checks that buckets of other within the
// zero bucket are not added, also when both layouts are the same (the
// position-by-position fast path must not apply then).
func TestAddSkipsBucketsInZeroBucket(t *testing.T) {
	for _, tc := range []struct {
		name string
		zt   float64
		want []float64
	}{
		{"first bucket inside", 0.5, []float64{1, 4}}, // (0.25,0.5] is inside.
		{"first bucket outside", 0.2, []float64{2, 4}},
	} {
		h := exp(0, tc.zt, 1, 0, 0, []Span{{-1, 2}}, []float64{1, 2}, nil, nil)
		other := h.Copy()
		if _, _, _, err := h.Add(other); err != nil {
			t.Fatal(err)
		}
		if !floatsBitEqual(h.PositiveBuckets, tc.want) || h.ZeroCount != 2 {
			t.Errorf("%s: got %v, zero count %v; want %v, 2", tc.name, h.PositiveBuckets, h.ZeroCount, tc.want)
		}
	}
}

// TestCustomBucketsReconcileIrateCases reproduces two cases of the shared
// PromQL conformance suite (native_histograms.test, irate over custom
// buckets histograms whose bounds changed) at the level of Sub and
// DetectReset.
func TestCustomBucketsReconcileIrateCases(t *testing.T) {
	prev := custom([]float64{2, 4, 6}, 15, 55, []Span{{0, 4}}, []float64{1, 2, 5, 7})
	last := custom([]float64{1, 2, 3, 4, 5, 6, 7, 8}, 450, 555, []Span{{0, 9}}, []float64{10, 20, 30, 40, 50, 60, 70, 80, 90})
	if last.DetectReset(prev) {
		t.Error("reset detected where every common bucket grew")
	}
	res, _, reconciled, err := last.Copy().Sub(prev)
	if err != nil || !reconciled {
		t.Fatalf("Sub: %v, reconciled %v", err, reconciled)
	}
	want := custom([]float64{2, 4, 6}, 435, 500, []Span{{0, 4}}, []float64{29, 68, 105, 233})
	if !res.Equals(want) {
		t.Errorf("got %s, want %s", res.TestExpression(), want.TestExpression())
	}

	// (2,4] holds 2 before and 0+1 after the bound 3 was added: a reset.
	next := custom([]float64{2, 3, 4, 6}, 15, 56, []Span{{0, 5}}, []float64{1, 0, 1, 5, 8})
	if !next.DetectReset(prev) {
		t.Error("no reset detected where a common bucket shrank")
	}
}
