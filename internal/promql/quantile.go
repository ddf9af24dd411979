package promql

import (
	"math"
	"slices"
	"sort"

	"github.com/vigil-monitoring/vigil/internal/model/histogram"
	"github.com/vigil-monitoring/vigil/internal/model/labels"
	"github.com/vigil-monitoring/vigil/internal/promql/parser"
)

// smallDeltaTolerance is the relative difference between the counts of
// neighbouring classic buckets that histogram_quantile treats as floating
// point noise rather than a real (non-monotonic) difference. Sharded
// queries in systems built on PromQL produce such noise.
const smallDeltaTolerance = 1e-12

// bucket is one bucket of a classic histogram: its upper bound (the le
// label) and its cumulative count.
type bucket struct {
	upperBound float64
	count      float64
}

// metricWithBuckets gathers the buckets of one classic histogram.
type metricWithBuckets struct {
	metric  labels.Labels
	buckets []bucket
	// removed is set when the group was dropped for meeting a native
	// histogram of the same series.
	removed bool
}

// monotonicityFix reports what bucketQuantile had to correct.
type monotonicityFix struct {
	forced         bool // A decreasing count was raised.
	fixedPrecision bool // A tiny difference was ignored.
}

// bucketQuantile returns the q-quantile of a classic histogram, assuming
// observations spread evenly within a bucket. The lowest bucket starts at
// 0 when its upper bound is positive; a quantile in the +Inf bucket is the
// highest finite bound. NaN when there are no observations, fewer than two
// buckets or no +Inf bucket; -Inf/+Inf for q below 0 or above 1. The
// buckets are sorted and corrected in place.
func bucketQuantile(q float64, buckets []bucket) (float64, monotonicityFix) {
	var fix monotonicityFix
	switch {
	case math.IsNaN(q):
		return math.NaN(), fix
	case q < 0:
		return math.Inf(-1), fix
	case q > 1:
		return math.Inf(1), fix
	}
	slices.SortFunc(buckets, func(a, b bucket) int {
		switch {
		case a.upperBound < b.upperBound:
			return -1
		case a.upperBound > b.upperBound:
			return 1
		}
		return 0
	})
	if !math.IsInf(buckets[len(buckets)-1].upperBound, 1) {
		return math.NaN(), fix
	}
	buckets = coalesceBuckets(buckets)
	fix = ensureMonotonic(buckets)
	if len(buckets) < 2 {
		return math.NaN(), fix
	}
	observations := buckets[len(buckets)-1].count
	if observations == 0 {
		return math.NaN(), fix
	}
	rank := q * observations
	b := sort.Search(len(buckets)-1, func(i int) bool { return buckets[i].count >= rank })
	if b == len(buckets)-1 {
		return buckets[len(buckets)-2].upperBound, fix
	}
	if b == 0 && buckets[0].upperBound <= 0 {
		return buckets[0].upperBound, fix
	}
	var start float64
	end := buckets[b].upperBound
	count := buckets[b].count
	if b > 0 {
		start = buckets[b-1].upperBound
		count -= buckets[b-1].count
		rank -= buckets[b-1].count
	}
	return start + (end-start)*(rank/count), fix
}

// coalesceBuckets merges sorted buckets with equal upper bounds.
func coalesceBuckets(bs []bucket) []bucket {
	last := bs[0]
	i := 0
	for _, b := range bs[1:] {
		if b.upperBound == last.upperBound {
			last.count += b.count
			continue
		}
		bs[i] = last
		last = b
		i++
	}
	bs[i] = last
	return bs[:i+1]
}

// ensureMonotonic makes the cumulative counts non-decreasing, which the
// binary search of bucketQuantile needs: differences within floating point
// noise are ignored, and a real decrease is raised to the count before it.
// Inconsistent data from targets, remote write or sharded evaluation
// breaks monotonicity in practice.
func ensureMonotonic(bs []bucket) monotonicityFix {
	var fix monotonicityFix
	prev := bs[0].count
	for i := 1; i < len(bs); i++ {
		cur := bs[i].count
		switch {
		case cur == prev:
		case almostEqual(prev, cur, smallDeltaTolerance):
			bs[i].count = prev
			fix.fixedPrecision = true
		case cur < prev:
			bs[i].count = prev
			fix.forced = true
		default:
			prev = cur
		}
	}
	return fix
}

// minNormal is the smallest positive normal float64.
var minNormal = math.Float64frombits(0x0010000000000000)

// almostEqual reports whether a and b differ by less than epsilon relative
// to their magnitude (absolutely, near zero); two NaNs are equal.
func almostEqual(a, b, epsilon float64) bool {
	if math.IsNaN(a) && math.IsNaN(b) {
		return true
	}
	if a == b {
		return true
	}
	absSum := math.Abs(a) + math.Abs(b)
	diff := math.Abs(a - b)
	if a == 0 || b == 0 || absSum < minNormal {
		return diff < epsilon*minNormal
	}
	return diff/math.Min(absSum, math.MaxFloat64) < epsilon
}

// histogramQuantile returns the q-quantile of a native histogram. Within
// an exponential bucket observations are assumed to spread as they would
// over the buckets of a finer schema (interpolation on a log scale);
// within custom buckets and the zero bucket, evenly. The zero bucket
// starts (ends) at 0 when the histogram has only positive (negative)
// buckets. NaN observations, which count but sit in no bucket, are
// reported.
func histogramQuantile(q float64, h *histogram.FloatHistogram, metricName string, pos parser.PositionRange, annos *Annotations) float64 {
	switch {
	case q < 0:
		return math.Inf(-1)
	case q > 1:
		return math.Inf(1)
	case h.Count == 0 || math.IsNaN(q):
		return math.NaN()
	}
	// With NaN observations the buckets hold fewer than Count, so the
	// count must be reached from below.
	forward := math.IsNaN(h.Sum) || q < 0.5
	var it histogram.BucketIterator
	var rank float64
	if forward {
		it = h.AllBucketIterator()
		rank = q * h.Count
	} else {
		it = h.AllReverseBucketIterator()
		rank = (1 - q) * h.Count
	}
	var b histogram.Bucket
	var count float64
	for it.Next() {
		b = it.At()
		if b.Count == 0 {
			continue
		}
		count += b.Count
		if count >= rank {
			break
		}
	}
	custom := h.UsesCustomBuckets()
	switch {
	case !custom && b.Lower < 0 && b.Upper > 0:
		switch {
		case len(h.NegativeBuckets) == 0 && len(h.PositiveBuckets) > 0:
			b.Lower = 0
		case len(h.PositiveBuckets) == 0 && len(h.NegativeBuckets) > 0:
			b.Upper = 0
		}
	case custom && math.IsInf(b.Lower, -1):
		if b.Upper <= 0 {
			return b.Upper
		}
		b.Lower = 0
	case custom && math.IsInf(b.Upper, 1):
		return b.Lower
	}
	count = min(count, h.Count)
	if count < rank {
		if math.IsNaN(h.Sum) {
			annos.Add(newNativeHistogramQuantileNaNResultInfo(metricName, pos))
			return math.NaN()
		}
		return b.Upper
	}
	if forward {
		rank -= count - b.Count
	} else {
		rank = count - rank
	}
	if math.IsNaN(h.Sum) {
		// A NaN sum also comes from observing both infinities; only
		// observations missing from the buckets are NaN observations.
		for it.Next() {
			count += it.At().Count
		}
		if count < h.Count {
			annos.Add(newNativeHistogramQuantileNaNSkewInfo(metricName, pos))
		}
	}
	fraction := rank / b.Count
	if custom || (b.Lower <= 0 && b.Upper >= 0) {
		return b.Lower + (b.Upper-b.Lower)*fraction
	}
	logLower := math.Log2(math.Abs(b.Lower))
	logUpper := math.Log2(math.Abs(b.Upper))
	if b.Lower > 0 {
		return math.Exp2(logLower + (logUpper-logLower)*fraction)
	}
	return -math.Exp2(logUpper + (logLower-logUpper)*(1-fraction))
}

// histogramFraction returns the fraction of observations of a native
// histogram between lower and upper, interpolating within buckets as
// histogramQuantile does. NaN observations are in no fraction.
func histogramFraction(lower, upper float64, h *histogram.FloatHistogram, metricName string, pos parser.PositionRange, annos *Annotations) float64 {
	if h.Count == 0 || math.IsNaN(lower) || math.IsNaN(upper) {
		return math.NaN()
	}
	if lower >= upper {
		return 0
	}
	var (
		count, rank, lowerRank, upperRank float64
		lowerSet, upperSet                bool
		it                                = h.AllBucketIterator()
		custom                            = h.UsesCustomBuckets()
	)
	for it.Next() {
		b := it.At()
		count += b.Count
		zero := false
		linear := func(v float64) float64 {
			if math.IsInf(b.Lower, -1) {
				// Nothing can be interpolated in an unbounded bucket.
				return b.Count
			}
			return rank + b.Count*(v-b.Lower)/(b.Upper-b.Lower)
		}
		exponential := func(v float64) float64 {
			logLower := math.Log2(math.Abs(b.Lower))
			logUpper := math.Log2(math.Abs(b.Upper))
			logV := math.Log2(math.Abs(v))
			var fraction float64
			if v > 0 {
				fraction = (logV - logLower) / (logUpper - logLower)
			} else {
				fraction = 1 - ((logV - logUpper) / (logLower - logUpper))
			}
			return rank + b.Count*fraction
		}
		if b.Lower <= 0 && b.Upper >= 0 {
			zero = true
			switch {
			case len(h.NegativeBuckets) == 0 && len(h.PositiveBuckets) > 0:
				b.Lower = 0
			case len(h.PositiveBuckets) == 0 && len(h.NegativeBuckets) > 0:
				b.Upper = 0
			}
		}
		if !lowerSet && b.Lower >= lower {
			lowerRank, lowerSet = rank, true
		}
		if !upperSet && b.Lower >= upper {
			upperRank, upperSet = rank, true
		}
		if lowerSet && upperSet {
			break
		}
		if !lowerSet && b.Lower < lower && b.Upper > lower {
			if custom || zero {
				lowerRank = linear(lower)
			} else {
				lowerRank = exponential(lower)
			}
			lowerSet = true
		}
		if !upperSet && b.Lower < upper && b.Upper > upper {
			if custom || zero {
				upperRank = linear(upper)
			} else {
				upperRank = exponential(upper)
			}
			upperSet = true
		}
		if lowerSet && upperSet {
			break
		}
		rank += b.Count
	}
	if math.IsNaN(h.Sum) {
		for it.Next() {
			count += it.At().Count
		}
		if count < h.Count {
			annos.Add(newNativeHistogramFractionNaNsInfo(metricName, pos))
		}
	} else {
		count = h.Count
	}
	if !lowerSet || lowerRank > count {
		lowerRank = count
	}
	if !upperSet || upperRank > count {
		upperRank = count
	}
	return (upperRank - lowerRank) / h.Count
}

// bucketFraction is histogramFraction for classic histograms, with linear
// interpolation and a lowest bucket starting at 0 when its bound is
// positive.
func bucketFraction(lower, upper float64, buckets []bucket) float64 {
	slices.SortFunc(buckets, func(a, b bucket) int {
		switch {
		case a.upperBound < b.upperBound:
			return -1
		case a.upperBound > b.upperBound:
			return 1
		}
		return 0
	})
	if !math.IsInf(buckets[len(buckets)-1].upperBound, 1) {
		return math.NaN()
	}
	buckets = coalesceBuckets(buckets)
	count := buckets[len(buckets)-1].count
	if count == 0 || math.IsNaN(lower) || math.IsNaN(upper) {
		return math.NaN()
	}
	if lower >= upper {
		return 0
	}
	var rank, lowerRank, upperRank float64
	var lowerSet, upperSet bool
	lowerBound := 0.0
	if buckets[0].upperBound <= 0 {
		lowerBound = math.Inf(-1)
	}
	for i, b := range buckets {
		if i > 0 {
			lowerBound = buckets[i-1].upperBound
		}
		upperBound := b.upperBound
		linear := func(v float64) float64 {
			if math.IsInf(lowerBound, -1) {
				return b.count
			}
			return rank + (b.count-rank)*(v-lowerBound)/(upperBound-lowerBound)
		}
		if !lowerSet && lowerBound >= lower {
			lowerRank, lowerSet = rank, true
		}
		if !upperSet && lowerBound >= upper {
			upperRank, upperSet = rank, true
		}
		if lowerSet && upperSet {
			break
		}
		if !lowerSet && lowerBound < lower && upperBound > lower {
			lowerRank, lowerSet = linear(lower), true
		}
		if !upperSet && lowerBound < upper && upperBound > upper {
			upperRank, upperSet = linear(upper), true
		}
		if lowerSet && upperSet {
			break
		}
		rank = b.count
	}
	if !lowerSet || lowerRank > count {
		lowerRank = count
	}
	if !upperSet || upperRank > count {
		upperRank = count
	}
	return (upperRank - lowerRank) / count
}

// quantile returns the q-quantile of values, interpolating between the two
// nearest ranks; NaN for no values or a NaN q, -Inf/+Inf for q out of
// [0, 1]. values is sorted in place, NaN first.
func quantile(q float64, values []float64) float64 {
	if len(values) == 0 || math.IsNaN(q) {
		return math.NaN()
	}
	if q < 0 {
		return math.Inf(-1)
	}
	if q > 1 {
		return math.Inf(1)
	}
	sort.Sort(nanFirst(values))
	n := float64(len(values))
	rank := q * (n - 1)
	lower := math.Max(0, math.Floor(rank))
	upper := math.Min(n-1, lower+1)
	weight := rank - math.Floor(rank)
	return values[int(lower)]*(1-weight) + values[int(upper)]*weight
}

// nanFirst sorts floats ascending with NaN first, as Prometheus does.
type nanFirst []float64

func (s nanFirst) Len() int           { return len(s) }
func (s nanFirst) Less(i, j int) bool { return math.IsNaN(s[i]) || s[i] < s[j] }
func (s nanFirst) Swap(i, j int)      { s[i], s[j] = s[j], s[i] }
