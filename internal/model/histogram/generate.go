package histogram

// Generators of small, valid histograms that differ with i, for the tests
// of this and other packages (chunk encodings, WAL records, PromQL). Counts
// grow with i, so consecutive histograms of a generator form a counter
// series without resets and with an unchanged layout.

// GenerateTestHistogram returns an exponential histogram (schema 1) with a
// zero bucket, two positive spans and one negative span.
func GenerateTestHistogram(i int) *Histogram {
	n := int64(i)
	return &Histogram{
		Schema:        1,
		ZeroThreshold: 0.001,
		ZeroCount:     uint64(n + 1),
		Count:         uint64(8*n + 15),
		Sum:           1.5 * float64(i+1),
		// Positive buckets -2..0 and 3..4 hold i+1, i+3, i+2, i+1, i+4.
		PositiveSpans:   []Span{{Offset: -2, Length: 3}, {Offset: 2, Length: 2}},
		PositiveBuckets: []int64{n + 1, 2, -1, -1, 3},
		// Negative buckets 0..1 hold i+2, i+1.
		NegativeSpans:   []Span{{Offset: 0, Length: 2}},
		NegativeBuckets: []int64{n + 2, -1},
	}
}

// GenerateTestFloatHistogram returns GenerateTestHistogram(i) as a
// FloatHistogram.
func GenerateTestFloatHistogram(i int) *FloatHistogram {
	return GenerateTestHistogram(i).ToFloat(nil)
}

// GenerateTestGaugeHistogram returns GenerateTestHistogram(i) marked as a
// gauge histogram.
func GenerateTestGaugeHistogram(i int) *Histogram {
	h := GenerateTestHistogram(i)
	h.CounterResetHint = GaugeType
	return h
}

// GenerateTestCustomBucketsHistogram returns a custom buckets histogram
// with bounds 0.1, 0.5, 1 and 5 and buckets 0, 1, 3 and 4 (the +Inf one)
// populated.
func GenerateTestCustomBucketsHistogram(i int) *Histogram {
	n := int64(i)
	return &Histogram{
		Schema: CustomBucketsSchema,
		Count:  uint64(4*n + 7),
		Sum:    2.5 * float64(i+1),
		// Buckets 0, 1, 3, 4 hold i+1, i+2, i+1, i+3.
		PositiveSpans:   []Span{{Offset: 0, Length: 2}, {Offset: 1, Length: 2}},
		PositiveBuckets: []int64{n + 1, 1, -1, 2},
		CustomValues:    []float64{0.1, 0.5, 1, 5},
	}
}
