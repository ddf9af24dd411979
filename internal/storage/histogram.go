package storage

import "github.com/vigil-monitoring/vigil/internal/model/histogram"

// CopyHistogram copies src into dst, reusing dst's slices, and returns
// dst; with a nil dst it allocates. Iterators use it to honour the
// "caller owns the result" rule of Iterator.AtHistogram.
func CopyHistogram(dst, src *histogram.Histogram) *histogram.Histogram {
	if dst == nil {
		return src.Copy()
	}
	src.CopyTo(dst)
	return dst
}

// CopyFloatHistogram is CopyHistogram for float histograms.
func CopyFloatHistogram(dst, src *histogram.FloatHistogram) *histogram.FloatHistogram {
	if dst == nil {
		return src.Copy()
	}
	src.CopyTo(dst)
	return dst
}

// HistogramToFloat converts src into dst (allocated when nil), which is
// what AtFloatHistogram does when the stored sample is an integer
// histogram.
func HistogramToFloat(dst *histogram.FloatHistogram, src *histogram.Histogram) *histogram.FloatHistogram {
	return src.ToFloat(dst)
}
