package histogram

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Histogram is a native histogram with integer counts, the form in which
// histograms are scraped, appended and encoded in chunks.
//
// Bucket indexes for exponential schemas, schema 0 as example (each bucket
// twice as wide as the one before; zero threshold 0.001):
//
//	bounds:    ... [-2,-1) [-1,-0.5) ... [-0.001,0.001] ... (0.5,1] (1,2] (2,4] ...
//	positive:                                                 0     1     2
//	negative:        1       0                ^ zero bucket
//
// INVARIANT (of valid histograms, see Validate): the spans describe exactly
// len(PositiveBuckets) respectively len(NegativeBuckets) buckets, and every
// bucket's absolute count is ≥ 0.
type Histogram struct {
	// CounterResetHint says what is known about a counter reset here.
	CounterResetHint CounterResetHint
	// Schema is an exponential schema (ExponentialSchemaMin to
	// ExponentialSchemaMax) or CustomBucketsSchema.
	Schema int32
	// ZeroThreshold is the half-width of the zero bucket, which counts
	// observations in [-ZeroThreshold, ZeroThreshold].
	ZeroThreshold float64
	// ZeroCount is the number of observations in the zero bucket.
	ZeroCount uint64
	// Count is the number of observations, NaN observations included
	// (they are in no bucket).
	Count uint64
	// Sum is the sum of observations. A stale marker is a histogram whose
	// Sum is value.StaleNaN.
	Sum float64
	// PositiveSpans and NegativeSpans describe which buckets are present.
	PositiveSpans, NegativeSpans []Span
	// PositiveBuckets and NegativeBuckets hold one count per present
	// bucket, delta-encoded: the first is absolute, each later one is the
	// difference to its predecessor.
	PositiveBuckets, NegativeBuckets []int64
	// CustomValues holds the upper bounds of the buckets of a custom
	// buckets histogram, strictly increasing, without the implicit +Inf of
	// the last bucket; nil otherwise. Custom buckets histograms use
	// neither the zero bucket nor negative buckets.
	//
	// INVARIANT: the slice is shared (interned) between histograms of a
	// series and must never be modified; copies share it.
	CustomValues []float64
}

// UsesCustomBuckets reports whether h has the custom buckets schema.
func (h *Histogram) UsesCustomBuckets() bool {
	return IsCustomBucketsSchema(h.Schema)
}

// Copy returns a deep copy of h, except CustomValues, which is shared.
// Fields a custom buckets histogram does not use are not copied.
func (h *Histogram) Copy() *Histogram {
	c := &Histogram{}
	h.CopyTo(c)
	return c
}

// CopyTo makes to a deep copy of h, reusing to's slices where they are
// large enough. CustomValues is shared, not copied.
func (h *Histogram) CopyTo(to *Histogram) {
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

// copyInto copies src into dst's storage if it fits and returns the result.
// An empty src yields nil when dst is nil, so copies of histograms without
// buckets compare equal to their originals field by field.
func copyInto[T any](dst, src []T) []T {
	if len(src) == 0 {
		return clearIfNotNil(dst)
	}
	if cap(dst) < len(src) {
		dst = make([]T, len(src))
	}
	dst = dst[:len(src)]
	copy(dst, src)
	return dst
}

// resize returns items with length n, reusing its storage if large enough.
// The contents are unspecified.
func resize[T any](items []T, n int) []T {
	if cap(items) < n {
		return make([]T, n)
	}
	return items[:n]
}

func clearIfNotNil[T any](items []T) []T {
	if items == nil {
		return nil
	}
	return items[:0]
}

// String returns a human-readable form of h: count, sum, and every
// populated bucket from the lowest to the highest.
func (h *Histogram) String() string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "{count:%d, sum:%g", h.Count, h.Sum)

	var neg []string
	for it := newIntBucketIterator(h.NegativeSpans, h.NegativeBuckets, h.Schema, false, nil); it.Next(); {
		if it.abs != 0 {
			neg = append(neg, it.At().format(strconv.FormatInt(it.abs, 10)))
		}
	}
	for i := len(neg) - 1; i >= 0; i-- {
		sb.WriteString(", ")
		sb.WriteString(neg[i])
	}
	// A custom buckets histogram has no zero bucket; an invalid one with a
	// zero count is still printed without panicking.
	if h.ZeroCount != 0 && !h.UsesCustomBuckets() {
		sb.WriteString(", ")
		sb.WriteString(h.ZeroBucket().format(strconv.FormatUint(h.ZeroCount, 10)))
	}
	for it := newIntBucketIterator(h.PositiveSpans, h.PositiveBuckets, h.Schema, true, h.CustomValues); it.Next(); {
		if it.abs != 0 {
			sb.WriteString(", ")
			sb.WriteString(it.At().format(strconv.FormatInt(it.abs, 10)))
		}
	}
	sb.WriteByte('}')
	return sb.String()
}

// ZeroBucket returns the zero bucket. It panics for custom buckets
// histograms, which have none.
func (h *Histogram) ZeroBucket() Bucket {
	if h.UsesCustomBuckets() {
		panic("histograms with custom buckets have no zero bucket")
	}
	return Bucket{
		Lower:          -h.ZeroThreshold,
		Upper:          h.ZeroThreshold,
		LowerInclusive: true,
		UpperInclusive: true,
		Count:          float64(h.ZeroCount),
	}
}

// PositiveBucketIterator iterates over the positive buckets in ascending
// order, empty buckets inside spans included.
func (h *Histogram) PositiveBucketIterator() BucketIterator {
	it := newIntBucketIterator(h.PositiveSpans, h.PositiveBuckets, h.Schema, true, h.CustomValues)
	return &it
}

// NegativeBucketIterator iterates over the negative buckets in descending
// order, from the zero bucket down.
func (h *Histogram) NegativeBucketIterator() BucketIterator {
	it := newIntBucketIterator(h.NegativeSpans, h.NegativeBuckets, h.Schema, false, nil)
	return &it
}

// CumulativeBucketIterator iterates over cumulative buckets, like the "le"
// buckets of a classic histogram: the zero bucket (if populated) ending at
// ZeroThreshold, then every positive bucket index from the lowest to the
// highest present one, gaps between spans included. Each bucket has lower
// bound -Inf and counts all observations up to its upper bound. The zero
// bucket reports Index -1. It panics if h has negative buckets, which have
// no cumulative form starting at -Inf.
func (h *Histogram) CumulativeBucketIterator() BucketIterator {
	if len(h.NegativeBuckets) > 0 {
		panic("CumulativeBucketIterator called on Histogram with negative buckets")
	}
	return &cumulativeBucketIterator{
		h:   h,
		cur: newSpanCursor(h.PositiveSpans, len(h.PositiveBuckets)),
	}
}

// Equals reports whether h and h2 hold the same data: same schema, counts,
// Sum bit pattern, zero bucket, bucket layout (zero-length spans aside) and
// bucket deltas, and for custom buckets the same bound bit patterns. Fields
// a histogram's schema does not use are compared too, except CustomValues
// of exponential histograms.
func (h *Histogram) Equals(h2 *Histogram) bool {
	if h2 == nil {
		return false
	}
	if h.Schema != h2.Schema || h.Count != h2.Count ||
		math.Float64bits(h.Sum) != math.Float64bits(h2.Sum) {
		return false
	}
	if h.UsesCustomBuckets() && !floatsBitEqual(h.CustomValues, h2.CustomValues) {
		return false
	}
	if h.ZeroThreshold != h2.ZeroThreshold || h.ZeroCount != h2.ZeroCount {
		return false
	}
	return spansMatch(h.NegativeSpans, h2.NegativeSpans) &&
		slices.Equal(h.NegativeBuckets, h2.NegativeBuckets) &&
		spansMatch(h.PositiveSpans, h2.PositiveSpans) &&
		slices.Equal(h.PositiveBuckets, h2.PositiveBuckets)
}

// Compact normalises h's layout in place (see FloatHistogram.Compact) and
// returns h.
func (h *Histogram) Compact(maxEmptyBuckets int) *Histogram {
	h.PositiveBuckets, h.PositiveSpans = compactBuckets(h.PositiveBuckets, h.PositiveSpans, maxEmptyBuckets, true)
	h.NegativeBuckets, h.NegativeSpans = compactBuckets(h.NegativeBuckets, h.NegativeSpans, maxEmptyBuckets, true)
	return h
}

// ToFloat returns h as a FloatHistogram, reusing fh's storage if fh is not
// nil. The result shares nothing with h but CustomValues.
func (h *Histogram) ToFloat(fh *FloatHistogram) *FloatHistogram {
	if fh == nil {
		fh = &FloatHistogram{}
	}
	fh.CounterResetHint = h.CounterResetHint
	fh.Schema = h.Schema
	fh.Count = float64(h.Count)
	fh.Sum = h.Sum
	if h.UsesCustomBuckets() {
		fh.ZeroThreshold = 0
		fh.ZeroCount = 0
		fh.NegativeSpans = clearIfNotNil(fh.NegativeSpans)
		fh.NegativeBuckets = clearIfNotNil(fh.NegativeBuckets)
		fh.CustomValues = h.CustomValues
	} else {
		fh.ZeroThreshold = h.ZeroThreshold
		fh.ZeroCount = float64(h.ZeroCount)
		fh.NegativeSpans = copyInto(fh.NegativeSpans, h.NegativeSpans)
		fh.NegativeBuckets = deltasToFloat(fh.NegativeBuckets, h.NegativeBuckets)
		fh.CustomValues = nil
	}
	fh.PositiveSpans = copyInto(fh.PositiveSpans, h.PositiveSpans)
	fh.PositiveBuckets = deltasToFloat(fh.PositiveBuckets, h.PositiveBuckets)
	return fh
}

// deltasToFloat decodes deltas into absolute float counts in dst's storage.
// It sums in float64, as Prometheus does, so that counts beyond 2^53 round
// the same way.
func deltasToFloat(dst []float64, deltas []int64) []float64 {
	if len(deltas) == 0 {
		return clearIfNotNil(dst)
	}
	dst = resize(dst, len(deltas))
	var abs float64
	for i, d := range deltas {
		abs += float64(d)
		dst[i] = abs
	}
	return dst
}

// Validate checks that h is consistent: a valid schema, spans that match
// the bucket slices, no negative counts, custom buckets constraints, and
// Count equal to the sum of all bucket counts. When Sum is NaN the
// histogram may have observed NaNs, which are counted in Count but in no
// bucket, so Count need only be at least that sum. Errors wrap the
// sentinels declared in this package.
func (h *Histogram) Validate() error {
	var nCount, pCount uint64
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
		var err error
		if nCount, err = checkIntBuckets(h.NegativeBuckets); err != nil {
			return fmt.Errorf("negative side: %w", err)
		}
		if h.CustomValues != nil {
			return ErrHistogramExpSchemaCustomBounds
		}
	default:
		return InvalidSchemaError(h.Schema)
	}
	pCount, err := checkIntBuckets(h.PositiveBuckets)
	if err != nil {
		return fmt.Errorf("positive side: %w", err)
	}

	sumOfBuckets := nCount + pCount + h.ZeroCount
	if math.IsNaN(h.Sum) {
		if sumOfBuckets > h.Count {
			return fmt.Errorf("%d observations found in buckets, but the Count field is %d: %w", sumOfBuckets, h.Count, ErrHistogramCountNotBigEnough)
		}
	} else if sumOfBuckets != h.Count {
		return fmt.Errorf("%d observations found in buckets, but the Count field is %d: %w", sumOfBuckets, h.Count, ErrHistogramCountMismatch)
	}
	return nil
}

// ReduceResolution merges h's buckets in place into the lower
// targetSchema. It fails, leaving h unchanged, if h uses custom buckets,
// targetSchema is not an exponential schema below h's, or the layout is
// invalid. h's schema may be one of the reserved exponential schemas above
// ExponentialSchemaMax, which is how scraped histograms of too high a
// resolution are made storable.
func (h *Histogram) ReduceResolution(targetSchema int32) error {
	if err := checkReduce(h.Schema, targetSchema); err != nil {
		return err
	}
	// Check both sides before touching either, so that an error leaves h
	// as it was.
	if err := checkHistogramSpans(h.PositiveSpans, len(h.PositiveBuckets)); err != nil {
		return fmt.Errorf("positive side: %w", err)
	}
	if err := checkHistogramSpans(h.NegativeSpans, len(h.NegativeBuckets)); err != nil {
		return fmt.Errorf("negative side: %w", err)
	}
	shift := h.Schema - targetSchema
	// The spans were checked above, so these cannot fail.
	h.PositiveSpans, h.PositiveBuckets, _ = reduceResolution(h.PositiveSpans, h.PositiveBuckets, shift, true, true)
	h.NegativeSpans, h.NegativeBuckets, _ = reduceResolution(h.NegativeSpans, h.NegativeBuckets, shift, true, true)
	h.Schema = targetSchema
	return nil
}

// checkReduce checks that a histogram of schema from can be reduced to
// schema to. Its errors are programming errors, not histogram.Error.
func checkReduce(from, to int32) error {
	switch {
	case IsCustomBucketsSchema(from):
		return fmt.Errorf("cannot reduce resolution to %d when there are custom buckets", to)
	case IsCustomBucketsSchema(to):
		return fmt.Errorf("cannot reduce resolution to custom buckets schema")
	case to >= from:
		return fmt.Errorf("cannot reduce resolution from schema %d to %d", from, to)
	case !IsExponentialSchemaReserved(from) || !IsExponentialSchema(to):
		return fmt.Errorf("cannot reduce resolution from schema %d to %d: %w", from, to, ErrHistogramsInvalidSchema)
	}
	return nil
}
