package histogram

import (
	"errors"
	"math"
	"testing"
)

func TestHistogramValidate(t *testing.T) {
	custom := func(mod func(h *Histogram)) *Histogram {
		h := GenerateTestCustomBucketsHistogram(0)
		mod(h)
		return h
	}
	exp := func(mod func(h *Histogram)) *Histogram {
		h := GenerateTestHistogram(0)
		mod(h)
		return h
	}
	for _, tc := range []struct {
		name string
		h    *Histogram
		want error // nil for valid
	}{
		{"valid exponential", exp(func(*Histogram) {}), nil},
		{"valid empty", &Histogram{}, nil},
		{"valid custom", custom(func(*Histogram) {}), nil},
		{"first offset may be negative", exp(func(h *Histogram) { h.PositiveSpans[0].Offset = -100 }), nil},
		{"zero-length spans are fine", exp(func(h *Histogram) {
			h.PositiveSpans = append(h.PositiveSpans, Span{Offset: 3, Length: 0})
		}), nil},
		{"nan sum allows a larger count", exp(func(h *Histogram) { h.Sum = math.NaN(); h.Count += 3 }), nil},
		{"count mismatch", exp(func(h *Histogram) { h.Count++ }), ErrHistogramCountMismatch},
		{"count too small", exp(func(h *Histogram) { h.Count-- }), ErrHistogramCountMismatch},
		{"nan sum count too small", exp(func(h *Histogram) { h.Sum = math.NaN(); h.Count-- }), ErrHistogramCountNotBigEnough},
		{"spans need more buckets", exp(func(h *Histogram) { h.PositiveSpans[1].Length++ }), ErrHistogramSpansBucketsMismatch},
		{"spans need fewer buckets", exp(func(h *Histogram) { h.NegativeSpans[0].Length-- }), ErrHistogramSpansBucketsMismatch},
		{"negative later offset", exp(func(h *Histogram) { h.PositiveSpans[1].Offset = -1 }), ErrHistogramSpanNegativeOffset},
		{"negative bucket positive side", exp(func(h *Histogram) { h.PositiveBuckets[2] = -10 }), ErrHistogramNegativeBucketCount},
		{"negative bucket negative side", exp(func(h *Histogram) { h.NegativeBuckets[1] = -3 }), ErrHistogramNegativeBucketCount},
		{"exponential with custom values", exp(func(h *Histogram) { h.CustomValues = []float64{1} }), ErrHistogramExpSchemaCustomBounds},
		{"schema too high", exp(func(h *Histogram) { h.Schema = 9 }), ErrHistogramsInvalidSchema},
		{"schema too low", exp(func(h *Histogram) { h.Schema = -5 }), ErrHistogramsInvalidSchema},
		{"custom zero count", custom(func(h *Histogram) { h.ZeroCount = 1; h.Count++ }), ErrHistogramCustomBucketsZeroCount},
		{"custom zero threshold", custom(func(h *Histogram) { h.ZeroThreshold = 0.1 }), ErrHistogramCustomBucketsZeroThresh},
		{"custom negative spans", custom(func(h *Histogram) { h.NegativeSpans = []Span{{0, 0}} }), ErrHistogramCustomBucketsNegSpans},
		{"custom negative buckets", custom(func(h *Histogram) { h.NegativeBuckets = []int64{0} }), ErrHistogramCustomBucketsNegBuckets},
		{"custom bounds not increasing", custom(func(h *Histogram) { h.CustomValues = []float64{0.1, 0.5, 0.5, 5} }), ErrHistogramCustomBucketsInvalid},
		{"custom bounds decreasing", custom(func(h *Histogram) { h.CustomValues = []float64{0.1, 0.5, 0.4, 5} }), ErrHistogramCustomBucketsInvalid},
		{"custom bound nan", custom(func(h *Histogram) { h.CustomValues = []float64{0.1, math.NaN(), 1, 5} }), ErrHistogramCustomBucketsNaN},
		{"custom explicit +Inf", custom(func(h *Histogram) { h.CustomValues = []float64{0.1, 0.5, 1, math.Inf(1)} }), ErrHistogramCustomBucketsInfinite},
		{"custom -Inf first bound accepted", custom(func(h *Histogram) { h.CustomValues = []float64{math.Inf(-1), 0.5, 1, 5} }), nil},
		{"custom too few bounds", custom(func(h *Histogram) { h.CustomValues = []float64{0.1, 0.5, 1} }), ErrHistogramCustomBucketsMismatch},
		{"custom negative first offset", custom(func(h *Histogram) { h.PositiveSpans[0].Offset = -1 }), ErrHistogramSpanNegativeOffset},
		{"custom spans mismatch", custom(func(h *Histogram) { h.PositiveSpans[0].Length = 1 }), ErrHistogramSpansBucketsMismatch},
		{"custom negative bucket", custom(func(h *Histogram) { h.PositiveBuckets[1] = -5 }), ErrHistogramNegativeBucketCount},
		{"custom count mismatch", custom(func(h *Histogram) { h.Count = 1 }), ErrHistogramCountMismatch},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.h.Validate()
			checkValidateErr(t, err, tc.want)
			// The float form must agree except on the count checks,
			// which FloatHistogram.Validate does not make.
			want := tc.want
			if errors.Is(want, ErrHistogramCountMismatch) || errors.Is(want, ErrHistogramCountNotBigEnough) {
				want = nil
			}
			fh := &FloatHistogram{
				Schema: tc.h.Schema, ZeroThreshold: tc.h.ZeroThreshold, ZeroCount: float64(tc.h.ZeroCount),
				Count: float64(tc.h.Count), Sum: tc.h.Sum,
				PositiveSpans: tc.h.PositiveSpans, NegativeSpans: tc.h.NegativeSpans,
				PositiveBuckets: rawDeltasToFloat(tc.h.PositiveBuckets), NegativeBuckets: rawDeltasToFloat(tc.h.NegativeBuckets),
				CustomValues: tc.h.CustomValues,
			}
			checkValidateErr(t, fh.Validate(), want)
		})
	}
}

// rawDeltasToFloat decodes deltas, keeping nil as nil.
func rawDeltasToFloat(d []int64) []float64 {
	if d == nil {
		return nil
	}
	return deltasToFloat(nil, d)
}

func checkValidateErr(t *testing.T, err, want error) {
	t.Helper()
	switch {
	case want == nil && err != nil:
		t.Fatalf("Validate() = %v, want nil", err)
	case want != nil && !errors.Is(err, want):
		t.Fatalf("Validate() = %v, want %v", err, want)
	case err != nil && !errors.As(err, new(Error)):
		t.Fatalf("Validate() = %v, not a histogram.Error", err)
	}
}

func TestFloatHistogramValidate(t *testing.T) {
	fh := func(mod func(h *FloatHistogram)) *FloatHistogram {
		h := GenerateTestFloatHistogram(0)
		mod(h)
		return h
	}
	for _, tc := range []struct {
		name string
		h    *FloatHistogram
		want error
	}{
		{"valid", fh(func(*FloatHistogram) {}), nil},
		{"count is not compared", fh(func(h *FloatHistogram) { h.Count = 1 }), nil},
		{"nan counts pass", fh(func(h *FloatHistogram) { h.PositiveBuckets[0] = math.NaN(); h.ZeroCount = math.NaN() }), nil},
		{"negative count", fh(func(h *FloatHistogram) { h.Count = -1 }), ErrHistogramNegativeCount},
		{"negative zero count", fh(func(h *FloatHistogram) { h.ZeroCount = -0.5 }), ErrHistogramNegativeBucketCount},
		{"negative positive bucket", fh(func(h *FloatHistogram) { h.PositiveBuckets[4] = -0.5 }), ErrHistogramNegativeBucketCount},
		{"negative negative bucket", fh(func(h *FloatHistogram) { h.NegativeBuckets[0] = -0.5 }), ErrHistogramNegativeBucketCount},
		{"negative side checked before count", fh(func(h *FloatHistogram) { h.NegativeSpans[0].Length = 5; h.Count = -1 }), ErrHistogramSpansBucketsMismatch},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkValidateErr(t, tc.h.Validate(), tc.want)
		})
	}
}

func TestValidateErrorMessages(t *testing.T) {
	h := GenerateTestHistogram(0)
	h.PositiveSpans[1].Offset = -1
	if got, want := h.Validate().Error(), "positive side: span number 2 with offset -1: histogram has a span whose offset is negative"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	h = GenerateTestHistogram(0)
	h.Schema = 10
	if got, want := h.Validate().Error(), "histogram has an invalid schema, which must be between -4 and 8 for exponential buckets, or -53 for custom buckets, got schema 10"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if !errors.Is(UnknownSchemaError(60), ErrHistogramsUnknownSchema) {
		t.Error("UnknownSchemaError does not match its sentinel")
	}
}
