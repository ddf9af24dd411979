package histogram

import "fmt"

// Add adds other to h in place and returns h. Counts, sum and buckets are
// added; buckets other has and h lacks are inserted. The result may hold
// empty buckets; call Compact to normalise it. other is not modified.
//
// Differences between the two are reconciled the way Prometheus does:
//
//   - Exponential schemas: the result has the lower of the two schemas (h's
//     buckets are merged in place if other's schema is lower).
//   - Zero thresholds: the result has the larger one, widened further
//     until it does not cut through a populated bucket of either
//     histogram. Buckets that end up inside the zero bucket are folded into
//     the zero count.
//   - Custom buckets with different bounds: the result keeps only the
//     bounds both have, each bucket counted into the first remaining bucket
//     that contains it, and drops buckets whose count is zero.
//     nhcbBoundsReconciled reports this, since PromQL tells the user.
//   - Counter reset hints: see adjustCounterReset. counterResetCollision
//     reports a CounterReset meeting a NotCounterReset.
//
// Adding an exponential histogram to a custom buckets one (or the reverse)
// fails with ErrHistogramsIncompatibleSchema; a layout whose spans do not
// match its buckets fails with the Validate error. h is unchanged after an
// error.
func (h *FloatHistogram) Add(other *FloatHistogram) (res *FloatHistogram, counterResetCollision, nhcbBoundsReconciled bool, err error) {
	return h.addOrSub(other, false)
}

// Sub subtracts other from h in place, like Add. It adjusts the counter
// reset hint like Add, which suits its use in incremental averages; the
// PromQL "-" operator sets the result's hint to GaugeType itself.
func (h *FloatHistogram) Sub(other *FloatHistogram) (res *FloatHistogram, counterResetCollision, nhcbBoundsReconciled bool, err error) {
	return h.addOrSub(other, true)
}

func (h *FloatHistogram) addOrSub(other *FloatHistogram, sub bool) (*FloatHistogram, bool, bool, error) {
	if h.UsesCustomBuckets() != other.UsesCustomBuckets() {
		return nil, false, false, ErrHistogramsIncompatibleSchema
	}
	for _, l := range [...]struct {
		side    string
		spans   []Span
		buckets int
	}{
		{"positive side", h.PositiveSpans, len(h.PositiveBuckets)},
		{"negative side", h.NegativeSpans, len(h.NegativeBuckets)},
		{"positive side", other.PositiveSpans, len(other.PositiveBuckets)},
		{"negative side", other.NegativeSpans, len(other.NegativeBuckets)},
	} {
		if !spansValid(l.spans, l.buckets) {
			return nil, false, false, fmt.Errorf("%s: %w", l.side, checkHistogramSpans(l.spans, l.buckets))
		}
	}

	collision := h.adjustCounterReset(other)
	if !h.UsesCustomBuckets() {
		otherZeroCount := h.reconcileZeroBuckets(other)
		if sub {
			h.ZeroCount -= otherZeroCount
		} else {
			h.ZeroCount += otherZeroCount
		}
	}
	if sub {
		h.Count -= other.Count
		h.Sum -= other.Sum
	} else {
		h.Count += other.Count
		h.Sum += other.Sum
	}

	if h.UsesCustomBuckets() {
		if CustomBucketBoundsMatch(h.CustomValues, other.CustomValues) {
			s := newFloatBucketStream(other.PositiveSpans, other.PositiveBuckets, other.Schema, h.Schema, 0, true)
			h.PositiveSpans, h.PositiveBuckets = addBuckets(h.PositiveSpans, h.PositiveBuckets, s, sub)
			return h, collision, false, nil
		}
		bounds := intersectCustomBucketBounds(h.CustomValues, other.CustomValues)
		h.PositiveSpans, h.PositiveBuckets = addMismatchedCustomBuckets(sub,
			h.PositiveSpans, h.PositiveBuckets, h.CustomValues,
			other.PositiveSpans, other.PositiveBuckets, other.CustomValues,
			bounds)
		h.CustomValues = bounds
		return h, collision, true, nil
	}

	if other.Schema < h.Schema {
		// The layouts were checked above, so this cannot fail.
		shift := h.Schema - other.Schema
		h.PositiveSpans, h.PositiveBuckets, _ = reduceResolution(h.PositiveSpans, h.PositiveBuckets, shift, false, true)
		h.NegativeSpans, h.NegativeBuckets, _ = reduceResolution(h.NegativeSpans, h.NegativeBuckets, shift, false, true)
		h.Schema = other.Schema
	}
	// Buckets of other within the (reconciled) zero bucket are already in
	// otherZeroCount; the streams skip them.
	ps := newFloatBucketStream(other.PositiveSpans, other.PositiveBuckets, other.Schema, h.Schema, h.ZeroThreshold, true)
	h.PositiveSpans, h.PositiveBuckets = addBuckets(h.PositiveSpans, h.PositiveBuckets, ps, sub)
	ns := newFloatBucketStream(other.NegativeSpans, other.NegativeBuckets, other.Schema, h.Schema, h.ZeroThreshold, true)
	h.NegativeSpans, h.NegativeBuckets = addBuckets(h.NegativeSpans, h.NegativeBuckets, ns, sub)
	return h, collision, false, nil
}

// adjustCounterReset sets h's hint for the sum of h and other. Addition
// and subtraction are meant for gauge histograms, but PromQL also applies
// them to counters, so the hint is kept as meaningful as possible: equal
// hints stay, a gauge makes a gauge, an unknown makes an unknown. What
// remains is CounterReset against NotCounterReset, a contradiction: the
// result is unknown and the collision is reported.
func (h *FloatHistogram) adjustCounterReset(other *FloatHistogram) (collision bool) {
	switch {
	case other.CounterResetHint == h.CounterResetHint:
	case h.CounterResetHint == GaugeType:
	case other.CounterResetHint == GaugeType:
		h.CounterResetHint = GaugeType
	case h.CounterResetHint == UnknownCounterReset:
	case other.CounterResetHint == UnknownCounterReset:
		h.CounterResetHint = UnknownCounterReset
	default:
		h.CounterResetHint = UnknownCounterReset
		return true
	}
	return false
}

// addBuckets adds the stream's buckets (negated if sub) to the layout
// spans/buckets and returns the resulting layout. When the layout already
// has every bucket of the stream, the counts are added in place; otherwise
// a new layout holding the union of both is built, whose spans are maximal
// runs of consecutive indexes. (Prometheus inserts into the old layout,
// which may leave adjacent spans; both compact to the same result.)
func addBuckets(spans []Span, buckets []float64, s floatBucketStream, sub bool) ([]Span, []float64) {
	signed := func(v float64) float64 {
		if sub {
			return -v
		}
		return v
	}

	if s.sameLayout(spans, len(buckets)) {
		// The common case in aggregations: add bucket by bucket.
		for i, v := range s.buckets {
			buckets[i] += signed(v)
		}
		return spans, buckets
	}

	subset := true
	probe := s // A copy: s is walked again below.
	a := newSpanCursor(spans, len(buckets))
	aOK := a.next()
	for probe.next() {
		for aOK && a.idx < probe.idx {
			aOK = a.next()
		}
		if !aOK || a.idx != probe.idx {
			subset = false
			break
		}
	}
	a = newSpanCursor(spans, len(buckets))
	aOK = a.next()
	if subset {
		for s.next() {
			for aOK && a.idx < s.idx {
				aOK = a.next()
			}
			buckets[a.pos] += signed(s.count)
		}
		return spans, buckets
	}

	outS := make([]Span, 0, len(spans)+1)
	outB := make([]float64, 0, len(buckets)+len(s.buckets))
	var lastIdx int64
	push := func(idx int64, v float64) {
		switch {
		case len(outS) == 0:
			outS = append(outS, Span{Offset: int32(idx), Length: 1})
		case idx == lastIdx+1:
			outS[len(outS)-1].Length++
		default:
			outS = append(outS, Span{Offset: int32(idx - lastIdx - 1), Length: 1})
		}
		outB = append(outB, v)
		lastIdx = idx
	}
	sOK := s.next()
	for aOK || sOK {
		switch {
		case sOK && (!aOK || s.idx < a.idx):
			push(s.idx, signed(s.count))
			sOK = s.next()
		case aOK && (!sOK || a.idx < s.idx):
			push(a.idx, buckets[a.pos])
			aOK = a.next()
		default:
			push(a.idx, buckets[a.pos]+signed(s.count))
			aOK, sOK = a.next(), s.next()
		}
	}
	return outS, outB
}

// reconcileZeroBuckets widens h's zero bucket until it matches other's,
// widened as needed too, and neither cuts through a populated bucket. h is
// modified; for other, the zero count it would have is returned.
func (h *FloatHistogram) reconcileZeroBuckets(other *FloatHistogram) float64 {
	otherZeroCount, otherThreshold := other.ZeroCount, other.ZeroThreshold
	for otherThreshold != h.ZeroThreshold {
		widened := false
		if h.ZeroThreshold > otherThreshold {
			otherZeroCount, otherThreshold = other.zeroCountForLargerThreshold(h.ZeroThreshold)
			widened = true
		}
		if otherThreshold > h.ZeroThreshold {
			h.ZeroCount, h.ZeroThreshold = h.zeroCountForLargerThreshold(otherThreshold)
			h.trimBucketsInZeroBucket()
			widened = true
		}
		if !widened {
			// A NaN threshold is unordered: nothing can be reconciled,
			// and looping would never end.
			break
		}
	}
	return otherZeroCount
}

// zeroCountForLargerThreshold returns the zero count h would have with the
// larger zero threshold t, and the threshold itself, raised to the far
// bound of any populated bucket t falls inside of (on either side).
func (h *FloatHistogram) zeroCountForLargerThreshold(t float64) (count, threshold float64) {
	if t == h.ZeroThreshold {
		return h.ZeroCount, t
	}
outer:
	for {
		count = h.ZeroCount
		pos := newFloatBucketIterator(h.PositiveSpans, h.PositiveBuckets, h.Schema, true, nil)
		for pos.Next() {
			b := pos.At()
			if b.Lower >= t {
				break
			}
			count += b.Count
			if b.Upper > t {
				if b.Count != 0 {
					t = b.Upper
				}
				break
			}
		}
		neg := newFloatBucketIterator(h.NegativeSpans, h.NegativeBuckets, h.Schema, false, nil)
		for neg.Next() {
			b := neg.At()
			if b.Upper <= -t {
				break
			}
			count += b.Count
			if b.Lower < -t {
				if b.Count != 0 {
					// The positive side was summed for a smaller
					// threshold: start over. t only grows, so
					// this ends.
					t = -b.Lower
					continue outer
				}
				break
			}
		}
		return count, t
	}
}

// trimBucketsInZeroBucket empties the buckets within the zero bucket,
// whose counts the zero count already includes, and compacts h (Prometheus
// does the same, so the layout after a widening is compacted too).
func (h *FloatHistogram) trimBucketsInZeroBucket() {
	c := newSpanCursor(h.PositiveSpans, len(h.PositiveBuckets))
	for c.next() && getBound(int32(c.idx)-1, h.Schema, nil) < h.ZeroThreshold {
		h.PositiveBuckets[c.pos] = 0
	}
	c = newSpanCursor(h.NegativeSpans, len(h.NegativeBuckets))
	for c.next() && getBound(int32(c.idx)-1, h.Schema, nil) < h.ZeroThreshold {
		h.NegativeBuckets[c.pos] = 0
	}
	h.Compact(0)
}

// intersectCustomBucketBounds returns the bounds present in both sorted
// lists, in a new slice (CustomValues are shared and never modified), or
// nil if there are none.
func intersectCustomBucketBounds(a, b []float64) []float64 {
	var res []float64
	for i, j := 0, 0; i < len(a) && j < len(b); {
		switch {
		case a[i] == b[j]:
			if res == nil {
				res = make([]float64, 0, min(len(a), len(b)))
			}
			res = append(res, a[i])
			i++
			j++
		case a[i] < b[j]:
			i++
		default:
			j++
		}
	}
	return res
}

// mapCustomBuckets adds (or with sub subtracts) the buckets of a custom
// buckets layout into dense, which has one slot per bucket of the
// coarser bounds (plus +Inf), each a subset of bounds. A bucket goes to the
// first coarse bucket whose upper bound is at least its own.
func mapCustomBuckets(dense []float64, spans []Span, buckets, bounds, coarse []float64, sub bool) {
	c := newSpanCursor(spans, len(buckets))
	j := 0
	for c.next() {
		t := len(coarse) // The +Inf bucket.
		if c.idx >= 0 && c.idx < int64(len(bounds)) {
			upper := bounds[c.idx]
			for j < len(coarse) && coarse[j] < upper {
				j++
			}
			t = j
		}
		if sub {
			dense[t] -= buckets[c.pos]
		} else {
			dense[t] += buckets[c.pos]
		}
	}
}

// addMismatchedCustomBuckets adds or subtracts two custom buckets layouts
// with different bounds on the common bounds, dropping buckets whose count
// comes out as zero.
func addMismatchedCustomBuckets(sub bool,
	spansA []Span, bucketsA, boundsA []float64,
	spansB []Span, bucketsB, boundsB []float64,
	bounds []float64,
) ([]Span, []float64) {
	dense := make([]float64, len(bounds)+1)
	mapCustomBuckets(dense, spansA, bucketsA, boundsA, bounds, false)
	mapCustomBuckets(dense, spansB, bucketsB, boundsB, bounds, sub)

	// dense is complete, so spansA's storage can be reused, and dense's
	// own, as the output never gets ahead of the input.
	outS, outB := spansA[:0], dense[:0]
	last := -1
	for i, v := range dense {
		if v == 0 {
			continue
		}
		if len(outS) > 0 && i == last+1 {
			outS[len(outS)-1].Length++
		} else {
			outS = append(outS, Span{Offset: int32(i - last - 1), Length: 1})
		}
		outB = append(outB, v)
		last = i
	}
	return outS, outB
}

// DetectReset reports whether h, the histogram following previous in a
// counter series, shows a counter reset. A CounterReset or NotCounterReset
// hint on h decides. Otherwise (gauges included, since PromQL lets users
// apply counter functions to them) it is a reset if any count went down:
// Count, the zero count, or a bucket's count, a populated bucket that
// disappeared included. The sum is not considered; observations may be
// negative.
//
// Where the layouts differ, previous is mapped onto h's without being
// modified: a lower schema in h is fine (previous's buckets are merged), a
// higher one is a reset; a larger zero threshold in h is fine (previous's
// buckets inside it join its zero count) unless it cuts through a populated
// bucket of previous, and a smaller one is a reset. Custom buckets
// histograms with different bounds are compared on their common bounds; a
// switch between custom and exponential buckets is a reset.
func (h *FloatHistogram) DetectReset(previous *FloatHistogram) bool {
	switch h.CounterResetHint {
	case CounterReset:
		return true
	case NotCounterReset:
		return false
	}
	if h.Count < previous.Count {
		return true
	}
	if h.UsesCustomBuckets() {
		if !previous.UsesCustomBuckets() {
			return true
		}
		if !CustomBucketBoundsMatch(h.CustomValues, previous.CustomValues) {
			return h.detectResetWithMismatchedCustomBounds(previous)
		}
	}
	if h.Schema > previous.Schema {
		return true
	}
	if h.ZeroThreshold < previous.ZeroThreshold {
		return true
	}
	previousZeroCount, threshold := previous.zeroCountForLargerThreshold(h.ZeroThreshold)
	if threshold != h.ZeroThreshold {
		return true
	}
	if h.ZeroCount < previousZeroCount {
		return true
	}
	curr := newFloatBucketStream(h.PositiveSpans, h.PositiveBuckets, h.Schema, h.Schema, h.ZeroThreshold, false)
	prev := newFloatBucketStream(previous.PositiveSpans, previous.PositiveBuckets, previous.Schema, h.Schema, h.ZeroThreshold, false)
	if detectReset(&curr, &prev) {
		return true
	}
	curr = newFloatBucketStream(h.NegativeSpans, h.NegativeBuckets, h.Schema, h.Schema, h.ZeroThreshold, false)
	prev = newFloatBucketStream(previous.NegativeSpans, previous.NegativeBuckets, previous.Schema, h.Schema, h.ZeroThreshold, false)
	return detectReset(&curr, &prev)
}

// detectReset reports whether a bucket of prev is missing from curr while
// populated, or has a larger count than in curr.
func detectReset(curr, prev *floatBucketStream) bool {
	currOK := curr.next()
	for prev.next() {
		for currOK && curr.idx < prev.idx {
			currOK = curr.next()
		}
		if currOK && curr.idx == prev.idx {
			if curr.count < prev.count {
				return true
			}
		} else if prev.count != 0 {
			return true
		}
	}
	return false
}

// detectResetWithMismatchedCustomBounds compares two custom buckets
// histograms with different bounds on their common bounds.
func (h *FloatHistogram) detectResetWithMismatchedCustomBounds(previous *FloatHistogram) bool {
	bounds := intersectCustomBucketBounds(h.CustomValues, previous.CustomValues)
	curr := make([]float64, len(bounds)+1)
	prev := make([]float64, len(bounds)+1)
	mapCustomBuckets(curr, h.PositiveSpans, h.PositiveBuckets, h.CustomValues, bounds, false)
	mapCustomBuckets(prev, previous.PositiveSpans, previous.PositiveBuckets, previous.CustomValues, bounds, false)
	for i := range curr {
		if curr[i] < prev[i] {
			return true
		}
	}
	return false
}
