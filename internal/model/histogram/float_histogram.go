package histogram

import (
	"fmt"
	"math"
	"strings"
)

// FloatHistogram is a native histogram with float counts, the form PromQL
// computes with (rates and averages produce fractional counts). Bucket
// counts are absolute, not deltas. Any Histogram converts to a
// FloatHistogram without loss up to counts of 2^53.
//
// The fields mean what they mean in Histogram.
//
// INVARIANT (of valid histograms, see Validate): the spans describe exactly
// len(PositiveBuckets) respectively len(NegativeBuckets) buckets, and no
// count is negative. Sub and Mul or Div by a negative number can produce
// negative counts; such results only make sense as gauge histograms (Mul and
// Div mark them so, PromQL does it for Sub).
type FloatHistogram struct {
	CounterResetHint CounterResetHint
	Schema           int32
	ZeroThreshold    float64
	ZeroCount        float64
	Count            float64
	Sum              float64
	PositiveSpans    []Span
	NegativeSpans    []Span
	PositiveBuckets  []float64
	NegativeBuckets  []float64
	// CustomValues is shared and immutable, as in Histogram.
	CustomValues []float64
}

// UsesCustomBuckets reports whether h has the custom buckets schema.
func (h *FloatHistogram) UsesCustomBuckets() bool {
	return IsCustomBucketsSchema(h.Schema)
}

// Copy returns a deep copy of h, except CustomValues, which is shared.
// Fields a custom buckets histogram does not use are not copied.
func (h *FloatHistogram) Copy() *FloatHistogram {
	c := &FloatHistogram{}
	h.CopyTo(c)
	return c
}

// CopyTo makes to a deep copy of h, reusing to's slices where they are
// large enough. CustomValues is shared, not copied.
func (h *FloatHistogram) CopyTo(to *FloatHistogram) {
	to.CounterResetHint = h.CounterResetHint
	to.Schema = h.Schema
	to.Count = h.Count
	to.Sum = h.Sum
	if h.UsesCustomBuckets() {
		to.ZeroThreshold = 0
		to.ZeroCount = 0
		to.NegativeSpans = clearIfNotNil(to.NegativeSpans)
		to.NegativeBuckets = clearIfNotNil(to.NegativeBuckets)
		to.CustomValues = h.CustomValues
	} else {
		to.ZeroThreshold = h.ZeroThreshold
		to.ZeroCount = h.ZeroCount
		to.NegativeSpans = copyInto(to.NegativeSpans, h.NegativeSpans)
		to.NegativeBuckets = copyInto(to.NegativeBuckets, h.NegativeBuckets)
		to.CustomValues = nil
	}
	to.PositiveSpans = copyInto(to.PositiveSpans, h.PositiveSpans)
	to.PositiveBuckets = copyInto(to.PositiveBuckets, h.PositiveBuckets)
}

// CopyToSchema returns a deep copy of h reduced to targetSchema, which must
// not be higher than h's. The counter reset hint is not carried over. It
// panics for custom buckets histograms, a custom targetSchema, a higher
// targetSchema or an invalid layout: callers pick targetSchema from
// histograms they hold.
func (h *FloatHistogram) CopyToSchema(targetSchema int32) *FloatHistogram {
	if targetSchema == h.Schema {
		return h.Copy()
	}
	if err := checkReduce(h.Schema, targetSchema); err != nil {
		panic(err)
	}
	c := &FloatHistogram{
		Schema:        targetSchema,
		ZeroThreshold: h.ZeroThreshold,
		ZeroCount:     h.ZeroCount,
		Count:         h.Count,
		Sum:           h.Sum,
	}
	var err error
	shift := h.Schema - targetSchema
	if c.PositiveSpans, c.PositiveBuckets, err = reduceResolution(h.PositiveSpans, h.PositiveBuckets, shift, false, false); err != nil {
		panic(err)
	}
	if c.NegativeSpans, c.NegativeBuckets, err = reduceResolution(h.NegativeSpans, h.NegativeBuckets, shift, false, false); err != nil {
		panic(err)
	}
	return c
}

// String returns a human-readable form of h: count, sum, and every
// populated bucket from the lowest to the highest.
func (h *FloatHistogram) String() string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "{count:%g, sum:%g", h.Count, h.Sum)
	// Unlike AllBucketIterator, bounds are printed unclamped, and a
	// negative zero count (possible in results of Sub) is printed too.
	for it := newReverseFloatBucketIterator(h.NegativeSpans, h.NegativeBuckets, h.Schema, false, nil); it.Next(); {
		if b := it.At(); b.Count != 0 {
			sb.WriteString(", ")
			sb.WriteString(b.String())
		}
	}
	if h.ZeroCount != 0 && !h.UsesCustomBuckets() {
		sb.WriteString(", ")
		sb.WriteString(h.ZeroBucket().String())
	}
	for it := newFloatBucketIterator(h.PositiveSpans, h.PositiveBuckets, h.Schema, true, h.CustomValues); it.Next(); {
		if b := it.At(); b.Count != 0 {
			sb.WriteString(", ")
			sb.WriteString(b.String())
		}
	}
	sb.WriteByte('}')
	return sb.String()
}

// TestExpression returns h in the series notation of PromQL test scripts
// and rule unit tests, for example {{schema:1 count:3 sum:5 buckets:[1 2]}}.
// The layout is compacted into one span per side first; it panics if that
// is impossible.
func (h *FloatHistogram) TestExpression() string {
	m := h.Copy()
	m.Compact(math.MaxInt)

	var res []string
	add := func(format string, a ...any) { res = append(res, fmt.Sprintf(format, a...)) }
	if m.Schema != 0 {
		add("schema:%d", m.Schema)
	}
	if m.Count != 0 {
		add("count:%g", m.Count)
	}
	if m.Sum != 0 {
		add("sum:%g", m.Sum)
	}
	if m.ZeroCount != 0 {
		add("z_bucket:%g", m.ZeroCount)
	}
	if m.ZeroThreshold != 0 {
		add("z_bucket_w:%g", m.ZeroThreshold)
	}
	if m.UsesCustomBuckets() {
		add("custom_values:%g", m.CustomValues)
	}
	if m.CounterResetHint != UnknownCounterReset {
		add("counter_reset_hint:%s", m.CounterResetHint)
	}
	side := func(kind, bucketsKey, offsetKey string, spans []Span, buckets []float64) {
		if len(spans) > 1 {
			panic(fmt.Sprintf("histogram with multiple %s spans not supported", kind))
		}
		if len(spans) == 1 && spans[0].Offset != 0 {
			add("%s:%d", offsetKey, spans[0].Offset)
		}
		if len(buckets) > 0 {
			s := make([]string, len(buckets))
			for i, b := range buckets {
				s[i] = fmt.Sprintf("%g", b)
			}
			add("%s:[%s]", bucketsKey, strings.Join(s, " "))
		}
	}
	side("positive", "buckets", "offset", m.PositiveSpans, m.PositiveBuckets)
	side("negative", "n_buckets", "n_offset", m.NegativeSpans, m.NegativeBuckets)
	return "{{" + strings.Join(res, " ") + "}}"
}

// ZeroBucket returns the zero bucket. It panics for custom buckets
// histograms, which have none.
func (h *FloatHistogram) ZeroBucket() Bucket {
	if h.UsesCustomBuckets() {
		panic("histograms with custom buckets have no zero bucket")
	}
	return Bucket{
		Lower:          -h.ZeroThreshold,
		Upper:          h.ZeroThreshold,
		LowerInclusive: true,
		UpperInclusive: true,
		Count:          h.ZeroCount,
	}
}

// Mul multiplies every count and the sum by factor, in place, and returns
// h. A negative factor makes h a gauge histogram: its counts can no longer
// only go up.
func (h *FloatHistogram) Mul(factor float64) *FloatHistogram {
	h.ZeroCount *= factor
	h.Count *= factor
	h.Sum *= factor
	for i := range h.PositiveBuckets {
		h.PositiveBuckets[i] *= factor
	}
	for i := range h.NegativeBuckets {
		h.NegativeBuckets[i] *= factor
	}
	if factor < 0 {
		h.CounterResetHint = GaugeType
	}
	return h
}

// Div divides every count and the sum by scalar, in place, and returns h.
// Dividing by zero drops all buckets (Prometheus' choice: Inf and NaN
// bucket counts would be meaningless) and leaves ±Inf or NaN in the zero
// count, count and sum. A negative scalar makes h a gauge histogram.
func (h *FloatHistogram) Div(scalar float64) *FloatHistogram {
	h.ZeroCount /= scalar
	h.Count /= scalar
	h.Sum /= scalar
	if scalar == 0 {
		h.PositiveBuckets, h.NegativeBuckets = nil, nil
		h.PositiveSpans, h.NegativeSpans = nil, nil
		return h
	}
	for i := range h.PositiveBuckets {
		h.PositiveBuckets[i] /= scalar
	}
	for i := range h.NegativeBuckets {
		h.NegativeBuckets[i] /= scalar
	}
	if scalar < 0 {
		h.CounterResetHint = GaugeType
	}
	return h
}

// Equals reports whether h and h2 hold the same data: same schema, bit
// patterns of counts, sum and bucket counts, zero threshold, bucket layout
// (zero-length spans aside), and for custom buckets the same bounds. Fields
// a histogram's schema does not use are compared too, except CustomValues
// of exponential histograms. Two nil histograms are equal.
func (h *FloatHistogram) Equals(h2 *FloatHistogram) bool {
	if h2 == nil || h == nil {
		return h == h2
	}
	if h.Schema != h2.Schema ||
		math.Float64bits(h.Count) != math.Float64bits(h2.Count) ||
		math.Float64bits(h.Sum) != math.Float64bits(h2.Sum) {
		return false
	}
	if h.UsesCustomBuckets() && !CustomBucketBoundsMatch(h.CustomValues, h2.CustomValues) {
		return false
	}
	if h.ZeroThreshold != h2.ZeroThreshold ||
		math.Float64bits(h.ZeroCount) != math.Float64bits(h2.ZeroCount) {
		return false
	}
	return spansMatch(h.NegativeSpans, h2.NegativeSpans) &&
		floatsBitEqual(h.NegativeBuckets, h2.NegativeBuckets) &&
		spansMatch(h.PositiveSpans, h2.PositiveSpans) &&
		floatsBitEqual(h.PositiveBuckets, h2.PositiveBuckets)
}

// floatHistogramStructSize is the size of a *FloatHistogram and the struct
// it points to on 64-bit platforms: 8 for the pointer, 8 for the hint and
// schema, 32 for the four floats and 5×24 for the slice headers.
const floatHistogramStructSize = 168

// Size returns the bytes h occupies (pointer, struct and slice contents)
// on 64-bit platforms. The query engine counts it against memory limits.
func (h *FloatHistogram) Size() int {
	return floatHistogramStructSize +
		8*(len(h.PositiveSpans)+len(h.NegativeSpans)) +
		8*(len(h.PositiveBuckets)+len(h.NegativeBuckets)+len(h.CustomValues))
}

// Compact normalises h's layout in place and returns h: empty buckets at
// the start and end of spans are dropped, spans at most maxEmptyBuckets
// apart are joined (the gap becomes explicit empty buckets), and runs of
// more than maxEmptyBuckets empty buckets split a span. Arithmetic leaves
// empty buckets and adjacent spans behind; PromQL compacts its results.
//
// maxEmptyBuckets 0 is the safe choice. A larger value trades a few empty
// buckets for fewer spans, which pays when a layout is stored once and
// iterated often. Invalid layouts are left unchanged.
func (h *FloatHistogram) Compact(maxEmptyBuckets int) *FloatHistogram {
	h.PositiveBuckets, h.PositiveSpans = compactBuckets(h.PositiveBuckets, h.PositiveSpans, maxEmptyBuckets, false)
	h.NegativeBuckets, h.NegativeSpans = compactBuckets(h.NegativeBuckets, h.NegativeSpans, maxEmptyBuckets, false)
	return h
}

// Validate checks that h is consistent: a valid schema, spans that match
// the bucket slices, no negative counts, and the custom buckets
// constraints. Unlike Histogram.Validate it does not compare Count with the
// sum of the bucket counts, which float rounding makes unreliable.
func (h *FloatHistogram) Validate() error {
	switch {
	case IsCustomBucketsSchema(h.Schema):
		if err := checkHistogramCustomBounds(h.CustomValues, h.PositiveSpans, len(h.PositiveBuckets)); err != nil {
			return fmt.Errorf("custom buckets: %w", err)
		}
		if h.ZeroCount != 0 {
			return ErrHistogramCustomBucketsZeroCount
		}
		if h.ZeroThreshold != 0 {
			return ErrHistogramCustomBucketsZeroThresh
		}
		if len(h.NegativeSpans) > 0 {
			return ErrHistogramCustomBucketsNegSpans
		}
		if len(h.NegativeBuckets) > 0 {
			return ErrHistogramCustomBucketsNegBuckets
		}
	case IsExponentialSchema(h.Schema):
		if err := checkHistogramSpans(h.PositiveSpans, len(h.PositiveBuckets)); err != nil {
			return fmt.Errorf("positive side: %w", err)
		}
		if err := checkHistogramSpans(h.NegativeSpans, len(h.NegativeBuckets)); err != nil {
			return fmt.Errorf("negative side: %w", err)
		}
		if err := checkFloatBuckets(h.NegativeBuckets); err != nil {
			return fmt.Errorf("negative side: %w", err)
		}
		if h.ZeroCount < 0 {
			return fmt.Errorf("zero bucket has observation count of %v: %w", h.ZeroCount, ErrHistogramNegativeBucketCount)
		}
		if h.CustomValues != nil {
			return ErrHistogramExpSchemaCustomBounds
		}
	default:
		return InvalidSchemaError(h.Schema)
	}
	if h.Count < 0 {
		return fmt.Errorf("observation count is %v: %w", h.Count, ErrHistogramNegativeCount)
	}
	if err := checkFloatBuckets(h.PositiveBuckets); err != nil {
		return fmt.Errorf("positive side: %w", err)
	}
	return nil
}

// ReduceResolution merges h's buckets in place into the lower
// targetSchema. It fails, leaving h unchanged, if h uses custom buckets,
// targetSchema is not an exponential schema below h's, or the layout is
// invalid.
func (h *FloatHistogram) ReduceResolution(targetSchema int32) error {
	if err := checkReduce(h.Schema, targetSchema); err != nil {
		return err
	}
	if err := checkHistogramSpans(h.PositiveSpans, len(h.PositiveBuckets)); err != nil {
		return fmt.Errorf("positive side: %w", err)
	}
	if err := checkHistogramSpans(h.NegativeSpans, len(h.NegativeBuckets)); err != nil {
		return fmt.Errorf("negative side: %w", err)
	}
	shift := h.Schema - targetSchema
	h.PositiveSpans, h.PositiveBuckets, _ = reduceResolution(h.PositiveSpans, h.PositiveBuckets, shift, false, true)
	h.NegativeSpans, h.NegativeBuckets, _ = reduceResolution(h.NegativeSpans, h.NegativeBuckets, shift, false, true)
	h.Schema = targetSchema
	return nil
}

// PositiveBucketIterator iterates over the positive buckets in ascending
// order, empty buckets inside spans included.
func (h *FloatHistogram) PositiveBucketIterator() BucketIterator {
	it := newFloatBucketIterator(h.PositiveSpans, h.PositiveBuckets, h.Schema, true, h.CustomValues)
	return &it
}

// NegativeBucketIterator iterates over the negative buckets in descending
// order, from the zero bucket down.
func (h *FloatHistogram) NegativeBucketIterator() BucketIterator {
	it := newFloatBucketIterator(h.NegativeSpans, h.NegativeBuckets, h.Schema, false, nil)
	return &it
}

// PositiveReverseBucketIterator iterates over the positive buckets in
// descending order, from the highest down to the zero bucket.
func (h *FloatHistogram) PositiveReverseBucketIterator() BucketIterator {
	it := newReverseFloatBucketIterator(h.PositiveSpans, h.PositiveBuckets, h.Schema, true, h.CustomValues)
	return &it
}

// NegativeReverseBucketIterator iterates over the negative buckets in
// ascending order, from the lowest up to the zero bucket.
func (h *FloatHistogram) NegativeReverseBucketIterator() BucketIterator {
	it := newReverseFloatBucketIterator(h.NegativeSpans, h.NegativeBuckets, h.Schema, false, nil)
	return &it
}

// AllBucketIterator iterates over all buckets in ascending order: negative
// buckets, the zero bucket if its count is positive, positive buckets.
// Where the zero bucket overlaps the nearest bucket on either side, that
// bucket's bound is moved to the zero threshold.
func (h *FloatHistogram) AllBucketIterator() BucketIterator {
	return &allFloatBucketIterator{
		h:      h,
		first:  newReverseFloatBucketIterator(h.NegativeSpans, h.NegativeBuckets, h.Schema, false, nil),
		second: newFloatBucketIterator(h.PositiveSpans, h.PositiveBuckets, h.Schema, true, h.CustomValues),
	}
}

// AllReverseBucketIterator is AllBucketIterator in descending order.
func (h *FloatHistogram) AllReverseBucketIterator() BucketIterator {
	return &allFloatBucketIterator{
		h:      h,
		first:  newReverseFloatBucketIterator(h.PositiveSpans, h.PositiveBuckets, h.Schema, true, h.CustomValues),
		second: newFloatBucketIterator(h.NegativeSpans, h.NegativeBuckets, h.Schema, false, nil),
	}
}
