package promql

import (
	"math"

	"github.com/vigil-monitoring/vigil/internal/model/histogram"
)

// This file implements the native histogram trim operators: h </ v keeps
// the observations below v, h >/ v those above v. A bucket straddling v is
// split by interpolation (linear for custom buckets and the zero bucket,
// exponential otherwise). When anything was removed, count and sum are
// recomputed from the remaining buckets, each bucket's observations placed
// at its (arithmetic or geometric) midpoint; a trim that removes nothing
// leaves the histogram exactly as it was.

// trimHistogram returns a trimmed copy of h, keeping observations below
// rhs when upper is set and above it otherwise.
func trimHistogram(h *histogram.FloatHistogram, rhs float64, upper bool) *histogram.FloatHistogram {
	t := h.Copy()
	custom := t.UsesCustomBuckets()
	var count, sum float64
	trimmed := false
	trimSide := func(it histogram.BucketIterator, counts []float64, positive bool) (populated bool) {
		for i := 0; it.Next(); i++ {
			b := it.At()
			if b.Count == 0 {
				continue
			}
			populated = true
			var kept, straddles bool
			if upper {
				kept, straddles = b.Upper <= rhs, b.Lower < rhs
			} else {
				kept, straddles = b.Lower >= rhs, b.Upper > rhs
			}
			switch {
			case kept:
				count += b.Count
				sum += trimMidpoint(b.Lower, b.Upper, positive, custom) * b.Count
			case straddles:
				keep, mid := bucketTrim(b, rhs, upper, positive, custom)
				count += keep
				sum += mid * keep
				if counts[i] != keep {
					counts[i] = keep
					trimmed = true
				}
			default:
				counts[i] = 0
				trimmed = true
			}
		}
		return populated
	}
	hasPositive := trimSide(t.PositiveBucketIterator(), t.PositiveBuckets, true)
	hasNegative := trimSide(t.NegativeBucketIterator(), t.NegativeBuckets, false)
	if t.ZeroCount > 0 {
		keep, mid := zeroBucketTrim(t.ZeroBucket(), rhs, hasNegative, hasPositive, upper)
		if t.ZeroCount != keep {
			t.ZeroCount = keep
			trimmed = true
		}
		sum += mid * keep
		count += keep
	}
	if trimmed {
		t.Count, t.Sum = count, sum
		t.Compact(0)
	}
	return t
}

// splitBucket returns the part of a bucket's count at or below v.
func splitBucket(b histogram.Bucket, v float64, positive, linear bool) float64 {
	if v <= b.Lower {
		return 0
	}
	if v >= b.Upper {
		return b.Count
	}
	var fraction float64
	if linear {
		fraction = (v - b.Lower) / (b.Upper - b.Lower)
	} else {
		logLower := math.Log2(math.Abs(b.Lower))
		logUpper := math.Log2(math.Abs(b.Upper))
		logV := math.Log2(math.Abs(v))
		if positive {
			fraction = (logV - logLower) / (logUpper - logLower)
		} else {
			fraction = 1 - (logV-logUpper)/(logLower-logUpper)
		}
	}
	return b.Count * fraction
}

// zeroBucketTrim trims the zero bucket linearly. When only one side of the
// histogram is populated, the zero bucket is taken to lie on that side of
// zero.
func zeroBucketTrim(z histogram.Bucket, rhs float64, hasNegative, hasPositive, upper bool) (float64, float64) {
	lower, up := z.Lower, z.Upper
	if hasNegative && !hasPositive {
		up = 0
	}
	if hasPositive && !hasNegative {
		lower = 0
	}
	if upper {
		switch {
		case rhs <= lower:
			return 0, 0
		case rhs >= up:
			return z.Count, (lower + up) / 2
		}
		return z.Count * (rhs - lower) / (up - lower), (lower + rhs) / 2
	}
	switch {
	case rhs <= lower:
		return z.Count, (lower + up) / 2
	case rhs >= up:
		return 0, 0
	}
	return z.Count * (up - rhs) / (up - lower), (rhs + up) / 2
}

// bucketTrim returns the count a straddling bucket keeps and the midpoint
// of the kept part.
func bucketTrim(b histogram.Bucket, rhs float64, upper, positive, custom bool) (float64, float64) {
	if math.IsInf(b.Lower, -1) || math.IsInf(b.Upper, 1) {
		return infiniteBucketTrim(b, rhs, upper)
	}
	below := splitBucket(b, rhs, positive, custom)
	if upper {
		return below, trimMidpoint(b.Lower, rhs, positive, custom)
	}
	return b.Count - below, trimMidpoint(rhs, b.Upper, positive, custom)
}

// trimMidpoint is where the observations between lower and upper are
// assumed to be: the arithmetic mean for linear (custom) buckets, the
// geometric mean otherwise; an infinite bound makes the finite one (or
// half of a positive upper bound) the estimate.
func trimMidpoint(lower, upper float64, positive, linear bool) float64 {
	switch {
	case math.IsInf(lower, 0) && math.IsInf(upper, 0):
		return 0
	case math.IsInf(lower, 0):
		if upper > 0 {
			return upper / 2
		}
		return upper
	case math.IsInf(upper, 0):
		return lower
	case linear:
		return (lower + upper) / 2
	}
	g := math.Sqrt(math.Abs(lower * upper))
	if positive {
		return g
	}
	return -g
}

func finiteOrZero(x float64) float64 {
	if math.IsInf(x, 0) {
		return 0
	}
	return x
}

// infiniteBucketTrim trims a bucket with an infinite bound. Where the
// distribution within it cannot be known, the whole bucket goes.
func infiniteBucketTrim(b histogram.Bucket, rhs float64, upper bool) (float64, float64) {
	if math.IsInf(b.Lower, -1) {
		if upper {
			switch {
			case rhs >= b.Upper:
				return b.Count, 0
			case rhs > 0 && b.Upper > 0 && !math.IsInf(b.Upper, 1):
				// Only custom buckets have a finite positive upper bound
				// here; the lower bound is taken to be 0.
				return b.Count * rhs / b.Upper, rhs / 2
			case b.Upper <= 0:
				return b.Count, rhs
			}
			return 0, finiteOrZero(b.Upper)
		}
		if rhs <= b.Lower {
			return b.Count, 0
		}
		if rhs >= 0 && b.Upper > rhs && !math.IsInf(b.Upper, 1) {
			return b.Count * (1 - rhs/b.Upper), (rhs + b.Upper) / 2
		}
		return 0, finiteOrZero(b.Upper)
	}
	// The upper bound is +Inf.
	if upper {
		return 0, finiteOrZero(b.Lower)
	}
	if rhs >= b.Lower {
		return b.Count, rhs
	}
	return 0, finiteOrZero(b.Lower)
}
