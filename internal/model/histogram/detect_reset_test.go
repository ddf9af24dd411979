package histogram

import "testing"

func TestDetectReset(t *testing.T) {
	base := func() *FloatHistogram {
		return exp(0, 0.01, 2, 20, 10, []Span{{-1, 3}, {2, 1}}, []float64{1, 2, 3, 4}, []Span{{0, 2}}, []float64{4, 4})
	}
	with := func(mod func(h *FloatHistogram)) *FloatHistogram {
		h := base()
		mod(h)
		return h
	}
	customBase := func() *FloatHistogram {
		return custom([]float64{1, 2, 5}, 10, 1, []Span{{0, 4}}, []float64{1, 2, 3, 4})
	}
	for _, tc := range []struct {
		name           string
		previous, curr *FloatHistogram
		want           bool
	}{
		{"unchanged", base(), base(), false},
		{"all counts grow", base(), with(func(h *FloatHistogram) { h.Mul(2) }), false},
		{"hint CounterReset decides", base(), with(func(h *FloatHistogram) { h.CounterResetHint = CounterReset }), true},
		{"hint NotCounterReset decides", base(), with(func(h *FloatHistogram) { h.CounterResetHint = NotCounterReset; h.Count = 0 }), false},
		{"gauges are checked like counters", base(), with(func(h *FloatHistogram) { h.CounterResetHint = GaugeType; h.PositiveBuckets[0] = 0 }), true},
		{"count down", base(), with(func(h *FloatHistogram) { h.Count-- }), true},
		{"sum down is fine", base(), with(func(h *FloatHistogram) { h.Sum = -100 }), false},
		{"zero count down", base(), with(func(h *FloatHistogram) { h.ZeroCount-- }), true},
		{"positive bucket down", base(), with(func(h *FloatHistogram) { h.PositiveBuckets[3]-- }), true},
		{"negative bucket down", base(), with(func(h *FloatHistogram) { h.NegativeBuckets[1]-- }), true},
		{"populated bucket gone", base(), with(func(h *FloatHistogram) {
			h.PositiveSpans, h.PositiveBuckets = []Span{{-1, 3}}, []float64{1, 2, 3}
		}), true},
		{"populated last bucket gone", base(), with(func(h *FloatHistogram) {
			h.NegativeSpans, h.NegativeBuckets = []Span{{0, 1}}, []float64{4}
		}), true},
		{"empty bucket gone", with(func(h *FloatHistogram) { h.PositiveBuckets[1] = 0 }), with(func(h *FloatHistogram) {
			h.PositiveSpans, h.PositiveBuckets = []Span{{-1, 1}, {1, 1}, {2, 1}}, []float64{1, 3, 4}
		}), false},
		{"all buckets gone", base(), with(func(h *FloatHistogram) { h.PositiveSpans, h.PositiveBuckets = nil, nil }), true},
		{"new bucket", base(), with(func(h *FloatHistogram) {
			h.PositiveSpans, h.PositiveBuckets = []Span{{-1, 6}}, []float64{1, 2, 3, 7, 0, 4}
		}), false},
		{"schema up", base(), with(func(h *FloatHistogram) { h.Schema = 1 }), true},
		{
			// Buckets -1, 0 | 1 | 4 of schema 0 merge into 0 | 1 | 2 of
			// schema -1 in previous: 3, 3, 4.
			"schema down, counts kept", base(), with(func(h *FloatHistogram) {
				h.Schema = -1
				h.PositiveSpans, h.PositiveBuckets = []Span{{0, 3}}, []float64{3, 3, 4}
				h.NegativeSpans, h.NegativeBuckets = []Span{{0, 2}}, []float64{4, 4}
			}), false,
		},
		{
			"schema down, merged bucket lower", base(), with(func(h *FloatHistogram) {
				h.Schema = -1
				h.PositiveSpans, h.PositiveBuckets = []Span{{0, 3}}, []float64{2.5, 3, 4}
				h.NegativeSpans, h.NegativeBuckets = []Span{{0, 2}}, []float64{4, 4}
			}), true,
		},
		{"zero threshold down", base(), with(func(h *FloatHistogram) { h.ZeroThreshold = 0.001 }), true},
		{
			// Bucket -1, (0.25,0.5], joins the zero bucket.
			"zero threshold up, bucket absorbed", base(), with(func(h *FloatHistogram) {
				h.ZeroThreshold = 0.5
				h.ZeroCount = 3
				h.PositiveSpans, h.PositiveBuckets = []Span{{0, 2}, {2, 1}}, []float64{2, 3, 4}
			}), false,
		},
		{
			"zero threshold up, absorbed count lower", base(), with(func(h *FloatHistogram) {
				h.ZeroThreshold = 0.5
				h.ZeroCount = 2.5
				h.PositiveSpans, h.PositiveBuckets = []Span{{0, 2}, {2, 1}}, []float64{2, 3, 4}
			}), true,
		},
		{
			"zero threshold inside a populated bucket", base(), with(func(h *FloatHistogram) {
				h.ZeroThreshold = 0.4
				h.ZeroCount = 10
			}), true,
		},
		{"exponential to custom", base(), customBase(), true},
		{"custom to exponential", customBase(), base(), true},
		{"custom unchanged", customBase(), customBase(), false},
		{"custom bucket down", customBase(), func() *FloatHistogram {
			h := customBase()
			h.PositiveBuckets[2]--
			return h
		}(), true},
		{
			// Common bounds 1 and 5: (1,5] holds 2+3 before, 2+3 now.
			"custom bounds changed, counts kept", customBase(),
			custom([]float64{1, 3, 5}, 10, 1, []Span{{0, 4}}, []float64{1, 1, 4, 4}), false,
		},
		{
			"custom bounds changed, count lower", customBase(),
			custom([]float64{1, 3, 5}, 10, 1, []Span{{0, 4}}, []float64{1, 1, 3.5, 4}), true,
		},
		{
			"custom bounds changed, +Inf lower", customBase(),
			custom([]float64{1, 3, 5}, 10, 1, []Span{{0, 4}}, []float64{1, 2, 3, 3}), true,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			prevBefore := tc.previous.Copy()
			if got := tc.curr.DetectReset(tc.previous); got != tc.want {
				t.Errorf("DetectReset = %v, want %v", got, tc.want)
			}
			if !tc.previous.Equals(prevBefore) {
				t.Error("previous was modified")
			}
		})
	}
}
