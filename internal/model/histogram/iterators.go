package histogram

import (
	"math"
	"slices"
)

// makeBucket returns bucket idx of one side of a histogram with its bounds.
// Exponential buckets are open towards zero and closed away from it
// ((l,u] above zero, [l,u) below); custom buckets are (l,u], except that the
// first one, [-Inf,u], is closed on both ends.
func makeBucket(idx int32, count float64, schema int32, positive bool, customValues []float64) Bucket {
	b := Bucket{Count: count, Index: idx}
	if positive {
		b.Upper = getBound(idx, schema, customValues)
		b.Lower = getBound(idx-1, schema, customValues)
	} else {
		b.Lower = -getBound(idx, schema, customValues)
		b.Upper = -getBound(idx-1, schema, customValues)
	}
	if IsCustomBucketsSchema(schema) {
		b.LowerInclusive = idx == 0
		b.UpperInclusive = true
	} else {
		b.LowerInclusive = b.Lower < 0
		b.UpperInclusive = b.Upper > 0
	}
	return b
}

// intBucketIterator iterates over one side of a Histogram, decoding deltas.
type intBucketIterator struct {
	cur          spanCursor
	buckets      []int64
	abs          int64 // Absolute count of the current bucket.
	schema       int32
	positive     bool
	customValues []float64
}

func newIntBucketIterator(spans []Span, buckets []int64, schema int32, positive bool, customValues []float64) intBucketIterator {
	return intBucketIterator{
		cur:          newSpanCursor(spans, len(buckets)),
		buckets:      buckets,
		schema:       schema,
		positive:     positive,
		customValues: customValues,
	}
}

func (it *intBucketIterator) Next() bool {
	if !it.cur.next() {
		return false
	}
	it.abs += it.buckets[it.cur.pos]
	return true
}

func (it *intBucketIterator) At() Bucket {
	return makeBucket(int32(it.cur.idx), float64(it.abs), it.schema, it.positive, it.customValues)
}

// cumulativeBucketIterator implements Histogram.CumulativeBucketIterator.
type cumulativeBucketIterator struct {
	h          *Histogram
	cur        spanCursor
	zeroDone   bool
	started    bool
	pending    bool  // cur is at a bucket not yet reported.
	nextIdx    int64 // Index of the next bucket to report.
	abs        int64 // Absolute count of the bucket cur is at.
	cumulative uint64
	bucket     Bucket
}

func (c *cumulativeBucketIterator) Next() bool {
	if !c.zeroDone {
		c.zeroDone = true
		if c.h.ZeroCount > 0 {
			c.cumulative = c.h.ZeroCount
			c.bucket = Bucket{
				Lower:          math.Inf(-1),
				Upper:          c.h.ZeroThreshold,
				LowerInclusive: true,
				UpperInclusive: true,
				Count:          float64(c.cumulative),
				Index:          -1,
			}
			return true
		}
	}
	if !c.pending {
		if !c.cur.next() {
			return false
		}
		c.abs += c.h.PositiveBuckets[c.cur.pos]
		c.pending = true
		if !c.started {
			c.started = true
			c.nextIdx = c.cur.idx
		}
	}
	idx := c.nextIdx
	// Indexes between spans are reported with an unchanged cumulative
	// count. The <= (rather than ==) ends the iteration even for a layout
	// whose indexes go backwards.
	if c.cur.idx <= idx {
		c.cumulative += uint64(c.abs)
		c.pending = false
	}
	c.nextIdx++
	c.bucket = Bucket{
		Lower:          math.Inf(-1),
		Upper:          getBound(int32(idx), c.h.Schema, c.h.CustomValues),
		LowerInclusive: true,
		UpperInclusive: true,
		Count:          float64(c.cumulative),
		Index:          int32(idx),
	}
	return true
}

func (c *cumulativeBucketIterator) At() Bucket { return c.bucket }

// floatBucketIterator iterates over one side of a FloatHistogram, away from
// zero.
type floatBucketIterator struct {
	cur          spanCursor
	buckets      []float64
	schema       int32
	positive     bool
	customValues []float64
}

func newFloatBucketIterator(spans []Span, buckets []float64, schema int32, positive bool, customValues []float64) floatBucketIterator {
	return floatBucketIterator{
		cur:          newSpanCursor(spans, len(buckets)),
		buckets:      buckets,
		schema:       schema,
		positive:     positive,
		customValues: customValues,
	}
}

func (it *floatBucketIterator) Next() bool { return it.cur.next() }

func (it *floatBucketIterator) At() Bucket {
	return makeBucket(int32(it.cur.idx), it.buckets[it.cur.pos], it.schema, it.positive, it.customValues)
}

// reverseFloatBucketIterator iterates over one side of a FloatHistogram,
// towards zero.
type reverseFloatBucketIterator struct {
	cur          reverseSpanCursor
	buckets      []float64
	schema       int32
	positive     bool
	customValues []float64
}

func newReverseFloatBucketIterator(spans []Span, buckets []float64, schema int32, positive bool, customValues []float64) reverseFloatBucketIterator {
	return reverseFloatBucketIterator{
		cur:          newReverseSpanCursor(spans, len(buckets)),
		buckets:      buckets,
		schema:       schema,
		positive:     positive,
		customValues: customValues,
	}
}

func (it *reverseFloatBucketIterator) Next() bool { return it.cur.next() }

func (it *reverseFloatBucketIterator) At() Bucket {
	return makeBucket(int32(it.cur.idx), it.buckets[it.cur.pos], it.schema, it.positive, it.customValues)
}

// allFloatBucketIterator iterates over the first side towards zero, then
// the zero bucket if populated, then the second side away from zero.
type allFloatBucketIterator struct {
	h      *FloatHistogram
	first  reverseFloatBucketIterator
	second floatBucketIterator
	state  int8 // 0: first side, 1: zero bucket, 2: second side, 3: done.
	bucket Bucket
}

func (it *allFloatBucketIterator) Next() bool {
	for {
		switch it.state {
		case 0:
			if it.first.Next() {
				it.bucket = it.clamp(it.first.At())
				return true
			}
			it.state = 1
		case 1:
			it.state = 2
			// Custom buckets histograms have no zero bucket; an
			// invalid one with a zero count must not panic here.
			if it.h.ZeroCount > 0 && !it.h.UsesCustomBuckets() {
				it.bucket = it.h.ZeroBucket()
				return true
			}
		case 2:
			if it.second.Next() {
				it.bucket = it.clamp(it.second.At())
				return true
			}
			it.state = 3
		default:
			return false
		}
	}
}

// clamp trims a bucket's bound that lies inside the zero bucket to the zero
// threshold, so that the buckets reported do not overlap.
func (it *allFloatBucketIterator) clamp(b Bucket) Bucket {
	zt := it.h.ZeroThreshold
	switch {
	case b.Lower > 0 && b.Lower < zt:
		b.Lower = zt
	case b.Upper < 0 && b.Upper > -zt:
		b.Upper = -zt
	}
	return b
}

func (it *allFloatBucketIterator) At() Bucket { return it.bucket }

// floatBucketStream yields the buckets of one side of a FloatHistogram as
// index/count pairs, merged into a schema lower by shift (0 for none), and
// with leading buckets skipped whose (absolute) upper bound in that schema
// is at most threshold. It is the input side of Add, Sub and DetectReset.
type floatBucketStream struct {
	cur          spanCursor
	buckets      []float64
	shift        int32
	targetSchema int32
	threshold    float64
	skipping     bool // Still skipping buckets within the threshold.
	peeked       bool // peekIdx/peekCount hold the next input bucket.
	peekIdx      int64
	peekCount    float64
	idx          int64 // Current output bucket.
	count        float64
}

// newFloatBucketStream returns a stream over spans/buckets of schema,
// merged into targetSchema (≤ schema; both custom or both exponential).
//
// Prometheus skips buckets within the threshold slightly differently in
// its two uses: adding compares every leading bucket against the threshold
// (so a zero threshold skips buckets whose bound underflows to 0, which
// only happens far below any real observation), counter
// reset detection skips nothing when the threshold is 0. skipZero selects
// the former.
func newFloatBucketStream(spans []Span, buckets []float64, schema, targetSchema int32, threshold float64, skipZero bool) floatBucketStream {
	return floatBucketStream{
		cur:          newSpanCursor(spans, len(buckets)),
		buckets:      buckets,
		shift:        schema - targetSchema,
		targetSchema: targetSchema,
		threshold:    threshold,
		skipping:     IsExponentialSchema(targetSchema) && (skipZero || threshold != 0),
	}
}

func (s *floatBucketStream) next() bool {
	for {
		if !s.peeked {
			if !s.cur.next() {
				return false
			}
			s.peekIdx, s.peekCount = reduceIdx(s.cur.idx, s.shift), s.buckets[s.cur.pos]
		}
		s.idx, s.count, s.peeked = s.peekIdx, s.peekCount, false
		if s.shift > 0 {
			for s.cur.next() {
				t := reduceIdx(s.cur.idx, s.shift)
				if t != s.idx {
					s.peekIdx, s.peekCount, s.peeked = t, s.buckets[s.cur.pos], true
					break
				}
				s.count += s.buckets[s.cur.pos]
			}
		}
		if s.skipping {
			if getBoundExponential(int32(s.idx), s.targetSchema) <= s.threshold {
				continue
			}
			s.skipping = false
		}
		return true
	}
}

// sameLayout reports whether the stream, not yet advanced, yields exactly
// the buckets of spans/n in order, so that they can be added position by
// position.
func (s *floatBucketStream) sameLayout(spans []Span, n int) bool {
	if s.shift != 0 || s.cur.pos != -1 || len(s.buckets) != n || !slices.Equal(s.cur.spans, spans) {
		return false
	}
	if !s.skipping {
		return true
	}
	// Skipping stops at the first bucket, if that is above the threshold.
	first := newSpanCursor(spans, n)
	return first.next() && getBoundExponential(int32(first.idx), s.targetSchema) > s.threshold
}
