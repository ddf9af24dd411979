package histogram

import (
	"fmt"
	"math"
)

// Layout walking, checks and rewriting shared by Histogram and
// FloatHistogram. Bucket indexes are tracked as int64 so that adversarial
// offsets cannot wrap around while walking; valid layouts stay within int32.

// spanCursor walks the bucket indexes that a span list describes, in order.
// It stops after n buckets even if the spans describe more, so that walking
// an invalid layout never indexes past the bucket slice.
type spanCursor struct {
	spans []Span
	n     int    // Number of buckets present.
	si    int    // Current span; -1 before the first call to next.
	left  uint32 // Buckets of the current span after the current one.
	idx   int64  // Index of the current bucket.
	pos   int    // Position of the current bucket in the bucket slice.
}

func newSpanCursor(spans []Span, n int) spanCursor {
	return spanCursor{spans: spans, n: n, si: -1, pos: -1}
}

// next advances to the next bucket. Spans of length zero only contribute
// their offset, as if they were merged into the following span.
func (c *spanCursor) next() bool {
	if c.pos+1 >= c.n {
		return false
	}
	for c.left == 0 {
		c.si++
		if c.si >= len(c.spans) {
			return false
		}
		s := c.spans[c.si]
		if c.si == 0 {
			// The first offset is absolute; idx is one before the
			// first bucket until the increment below.
			c.idx = int64(s.Offset) - 1
		} else {
			c.idx += int64(s.Offset)
		}
		c.left = s.Length
	}
	c.left--
	c.idx++
	c.pos++
	return true
}

// reverseSpanCursor walks the same buckets as spanCursor, from the last to
// the first.
type reverseSpanCursor struct {
	spans []Span
	n     int
	si    int // Current span; len(spans) before the first call to next.
	left  uint32
	idx   int64 // Index of the current bucket; one past the last one initially.
	pos   int   // Position of the current bucket; the span total initially.
}

func newReverseSpanCursor(spans []Span, n int) reverseSpanCursor {
	c := reverseSpanCursor{spans: spans, n: n, si: len(spans)}
	for i, s := range spans {
		if i == 0 {
			c.idx = int64(s.Offset)
		} else {
			c.idx += int64(s.Offset)
		}
		c.idx += int64(s.Length)
		c.pos += int(s.Length)
	}
	return c
}

func (c *reverseSpanCursor) next() bool {
	for {
		for c.left == 0 {
			if c.si < len(c.spans) {
				// Step back over the gap before the span just left.
				c.idx -= int64(c.spans[c.si].Offset)
			}
			c.si--
			if c.si < 0 {
				return false
			}
			c.left = c.spans[c.si].Length
		}
		c.left--
		c.idx--
		c.pos--
		// Spans of an invalid layout may describe more buckets than
		// there are; skip those.
		if c.pos < c.n {
			return true
		}
	}
}

// effectiveSpans yields a span list's spans with zero-length spans folded
// into the offset of the next one, which is how two layouts are compared.
type effectiveSpans struct {
	spans []Span
	i     int
}

func (e *effectiveSpans) next() (Span, bool) {
	var offset int64
	for e.i < len(e.spans) {
		s := e.spans[e.i]
		e.i++
		offset += int64(s.Offset)
		if s.Length > 0 {
			return Span{Offset: int32(offset), Length: s.Length}, true
		}
	}
	return Span{}, false
}

// spansMatch reports whether two span lists describe the same buckets.
// Zero-length spans do not matter, but adjacent spans (offset 0) are not
// the same as one longer span.
func spansMatch(a, b []Span) bool {
	ea, eb := effectiveSpans{spans: a}, effectiveSpans{spans: b}
	for {
		sa, okA := ea.next()
		sb, okB := eb.next()
		if okA != okB || sa != sb {
			return false
		}
		if !okA {
			return true
		}
	}
}

// spansValid reports whether spans describe exactly n buckets in
// increasing index order. It is checkHistogramSpans without the error.
func spansValid(spans []Span, n int) bool {
	total := 0
	for i, s := range spans {
		if i > 0 && s.Offset < 0 {
			return false
		}
		total += int(s.Length)
	}
	return total == n
}

func checkHistogramSpans(spans []Span, numBuckets int) error {
	var spanBuckets int
	for n, span := range spans {
		if n > 0 && span.Offset < 0 {
			return fmt.Errorf("span number %d with offset %d: %w", n+1, span.Offset, ErrHistogramSpanNegativeOffset)
		}
		spanBuckets += int(span.Length)
	}
	if spanBuckets != numBuckets {
		return fmt.Errorf("spans need %d buckets, have %d buckets: %w", spanBuckets, numBuckets, ErrHistogramSpansBucketsMismatch)
	}
	return nil
}

// checkIntBuckets checks that delta-encoded buckets never decode to a
// negative count and returns the sum of the counts.
func checkIntBuckets(deltas []int64) (uint64, error) {
	var abs int64
	var sum uint64
	for i, d := range deltas {
		abs += d
		if abs < 0 {
			return 0, fmt.Errorf("bucket number %d has observation count of %v: %w", i+1, abs, ErrHistogramNegativeBucketCount)
		}
		sum += uint64(abs)
	}
	return sum, nil
}

// checkFloatBuckets checks that no bucket count is negative. NaN counts pass,
// as in Prometheus.
func checkFloatBuckets(buckets []float64) error {
	for i, c := range buckets {
		if c < 0 {
			return fmt.Errorf("bucket number %d has observation count of %v: %w", i+1, c, ErrHistogramNegativeBucketCount)
		}
	}
	return nil
}

// checkHistogramCustomBounds checks the bounds and positive layout of a
// custom buckets histogram. A first bound of -Inf is accepted, as in
// Prometheus; an explicit +Inf is not, because the last bucket's +Inf bound
// is implicit.
func checkHistogramCustomBounds(bounds []float64, spans []Span, numBuckets int) error {
	prev := math.Inf(-1)
	for i, curr := range bounds {
		if math.IsNaN(curr) {
			return ErrHistogramCustomBucketsNaN
		}
		if i > 0 && curr <= prev {
			return fmt.Errorf("previous bound is %f and current is %f: %w", prev, curr, ErrHistogramCustomBucketsInvalid)
		}
		prev = curr
	}
	if math.IsInf(prev, 1) {
		return fmt.Errorf("last +Inf bound must not be explicitly defined: %w", ErrHistogramCustomBucketsInfinite)
	}

	var spanBuckets, totalSpanLength int
	for n, span := range spans {
		// Unlike exponential layouts, even the first offset must not be
		// negative: custom bucket indexes start at 0.
		if span.Offset < 0 {
			return fmt.Errorf("span number %d with offset %d: %w", n+1, span.Offset, ErrHistogramSpanNegativeOffset)
		}
		spanBuckets += int(span.Length)
		totalSpanLength += int(span.Length) + int(span.Offset)
	}
	if spanBuckets != numBuckets {
		return fmt.Errorf("spans need %d buckets, have %d buckets: %w", spanBuckets, numBuckets, ErrHistogramSpansBucketsMismatch)
	}
	if len(bounds)+1 < totalSpanLength {
		return fmt.Errorf("only %d custom bounds defined which is insufficient to cover total span length of %d: %w", len(bounds), totalSpanLength, ErrHistogramCustomBucketsMismatch)
	}
	return nil
}

// compactBuckets rewrites a layout into its normal form for maxEmpty (taken
// as 0 when negative): every span starts and ends with a populated bucket,
// runs of empty buckets inside a span are at most maxEmpty long, and spans
// are more than maxEmpty indexes apart. That form is unique for a given set
// of populated buckets, so it is what Prometheus' Compact produces too.
// deltas tells whether buckets are delta-encoded (Histogram) or absolute
// (FloatHistogram). A NaN count counts as populated.
//
// The rewrite happens in place when it can; when filling gaps or splitting
// spans would overwrite input not yet read, new slices are allocated.
// Layouts that are not valid (see spansValid), or whose gaps do not fit an
// int32 offset, are returned unchanged; Validate reports them.
func compactBuckets[C int64 | float64](buckets []C, spans []Span, maxEmpty int, deltas bool) ([]C, []Span) {
	if maxEmpty < 0 {
		maxEmpty = 0
	}
	if !spansValid(spans, len(buckets)) {
		return buckets, spans
	}

	// Fast path: nothing to do when no bucket is empty and every span is
	// non-empty and further apart than maxEmpty.
	normal := true
	var abs C
	for _, b := range buckets {
		if deltas {
			abs += b
		} else {
			abs = b
		}
		if abs == 0 {
			normal = false
			break
		}
	}
	for i, s := range spans {
		if !normal {
			break
		}
		if s.Length == 0 || (i > 0 && int64(s.Offset) <= int64(maxEmpty)) {
			normal = false
		}
	}
	if normal {
		return buckets, spans
	}

	// Plan: count the output and check that writing it in place never
	// overtakes the reader. Output bucket k must not be written before
	// input bucket k has been read, and output span j must not be written
	// before the cursor has entered input span j (it caches the span it is
	// in, so overwriting that one is fine).
	var (
		outBuckets, outSpans         int
		bucketsInPlace, spansInPlace = true, true
		lastIdx                      int64
	)
	c := newSpanCursor(spans, len(buckets))
	abs = 0
	for c.next() {
		if deltas {
			abs += buckets[c.pos]
		} else {
			abs = buckets[c.pos]
		}
		if abs == 0 {
			continue
		}
		switch gap := c.idx - lastIdx - 1; {
		case outSpans == 0 || gap > int64(maxEmpty):
			if outSpans > 0 && gap > math.MaxInt32 {
				return buckets, spans
			}
			outSpans++
			outBuckets++
			if outSpans-1 > c.si {
				spansInPlace = false
			}
		default:
			outBuckets += int(gap) + 1
		}
		if outBuckets-1 > c.pos {
			bucketsInPlace = false
		}
		lastIdx = c.idx
	}

	outB, outS := buckets[:0], spans[:0]
	if !bucketsInPlace {
		outB = make([]C, 0, outBuckets)
	}
	if !spansInPlace {
		outS = make([]Span, 0, outSpans)
	}
	var prevOut C // Last absolute count written, to encode deltas.
	emit := func(v C) {
		if deltas {
			outB = append(outB, v-prevOut)
			prevOut = v
		} else {
			outB = append(outB, v)
		}
	}
	c = newSpanCursor(spans, len(buckets))
	abs = 0
	for c.next() {
		if deltas {
			abs += buckets[c.pos]
		} else {
			abs = buckets[c.pos]
		}
		if abs == 0 {
			continue
		}
		switch gap := c.idx - lastIdx - 1; {
		case len(outS) == 0:
			outS = append(outS, Span{Offset: int32(c.idx), Length: 1})
		case gap > int64(maxEmpty):
			outS = append(outS, Span{Offset: int32(gap), Length: 1})
		default:
			for range gap {
				emit(0)
			}
			outS[len(outS)-1].Length += uint32(gap) + 1
		}
		emit(abs)
		lastIdx = c.idx
	}
	return outB, outS
}

// reduceResolution maps a layout to a schema lower by shift (> 0), adding up
// the buckets that merge. Deltas in, deltas out. With inPlace the input
// slices are overwritten, which is safe because the output never gets ahead
// of the input: merging only shrinks, and a new output span needs a gap,
// which only a new input span provides. The spans are checked first, so
// nothing is modified when an error is returned.
func reduceResolution[C int64 | float64](spans []Span, buckets []C, shift int32, deltas, inPlace bool) ([]Span, []C, error) {
	if err := checkHistogramSpans(spans, len(buckets)); err != nil {
		return nil, nil, err
	}
	var (
		outS      []Span
		outB      []C
		lastIdx   int64
		abs       C // Current input bucket's absolute count.
		targetAbs C // Absolute count of the last output bucket.
		prevAbs   C // Absolute count of the output bucket before it.
	)
	if inPlace {
		outS, outB = spans[:0], buckets[:0]
	} else {
		outS, outB = make([]Span, 0, len(spans)), make([]C, 0, len(buckets))
	}
	c := newSpanCursor(spans, len(buckets))
	for c.next() {
		if deltas {
			abs += buckets[c.pos]
		} else {
			abs = buckets[c.pos]
		}
		t := reduceIdx(c.idx, shift)
		switch {
		case len(outS) > 0 && t == lastIdx:
			targetAbs += abs
			if deltas {
				outB[len(outB)-1] = targetAbs - prevAbs
			} else {
				outB[len(outB)-1] = targetAbs
			}
			continue
		case len(outS) == 0:
			outS = append(outS, Span{Offset: int32(t), Length: 1})
		case t == lastIdx+1:
			outS[len(outS)-1].Length++
		default:
			outS = append(outS, Span{Offset: int32(t - lastIdx - 1), Length: 1})
		}
		prevAbs, targetAbs = targetAbs, abs
		if deltas {
			outB = append(outB, targetAbs-prevAbs)
		} else {
			outB = append(outB, targetAbs)
		}
		lastIdx = t
	}
	return outS, outB, nil
}
