package promql

import (
	"math"

	"github.com/vigil-monitoring/vigil/internal/model/histogram"
)

// Compensated (Kahan) summation of native histograms, for sum_over_time
// and avg_over_time. Every histogram is first expressed in the bucket
// layout of the plain sum of all of them (lowest schema, widest zero
// bucket, all buckets); then each count, the sum and every bucket is
// summed like a float, with its own compensation.

// histogramLayout is the layout histograms are summed in.
type histogramLayout struct {
	template *histogram.FloatHistogram // The layout with all values zero.
	pos, neg []int32                   // Bucket indexes in layout order.
}

func zeroed(h *histogram.FloatHistogram) *histogram.FloatHistogram {
	z := h.Copy()
	z.Count, z.Sum, z.ZeroCount = 0, 0, 0
	clear(z.PositiveBuckets)
	clear(z.NegativeBuckets)
	return z
}

func newHistogramLayout(plainSum *histogram.FloatHistogram) *histogramLayout {
	l := &histogramLayout{template: zeroed(plainSum)}
	for it := l.template.PositiveBucketIterator(); it.Next(); {
		l.pos = append(l.pos, it.At().Index)
	}
	for it := l.template.NegativeBucketIterator(); it.Next(); {
		l.neg = append(l.neg, it.At().Index)
	}
	return l
}

// fields returns h in the layout as [count, sum, zero count, positive
// buckets..., negative buckets...].
func (l *histogramLayout) fields(h *histogram.FloatHistogram) ([]float64, error) {
	m := l.template.Copy()
	if _, _, _, err := m.Add(h); err != nil {
		return nil, err
	}
	out := make([]float64, 3+len(l.pos)+len(l.neg))
	out[0], out[1], out[2] = m.Count, m.Sum, m.ZeroCount
	side := func(it histogram.BucketIterator, idx []int32, dst []float64) {
		counts := map[int32]float64{}
		for it.Next() {
			b := it.At()
			counts[b.Index] += b.Count
		}
		for i, ix := range idx {
			dst[i] = counts[ix]
		}
	}
	side(m.PositiveBucketIterator(), l.pos, out[3:3+len(l.pos)])
	side(m.NegativeBucketIterator(), l.neg, out[3+len(l.pos):])
	return out, nil
}

// histogram builds a histogram of the layout from fields.
func (l *histogramLayout) histogram(fields []float64, hint histogram.CounterResetHint) *histogram.FloatHistogram {
	h := l.template.Copy()
	h.Count, h.Sum, h.ZeroCount = fields[0], fields[1], fields[2]
	set := func(it histogram.BucketIterator, idx []int32, vals []float64, dst []float64) {
		byIndex := make(map[int32]float64, len(idx))
		for i, ix := range idx {
			byIndex[ix] = vals[i]
		}
		for i := 0; it.Next(); i++ {
			dst[i] = byIndex[it.At().Index]
		}
	}
	set(h.PositiveBucketIterator(), l.pos, fields[3:3+len(l.pos)], h.PositiveBuckets)
	set(h.NegativeBucketIterator(), l.neg, fields[3+len(l.pos):], h.NegativeBuckets)
	h.CounterResetHint = hint
	return h.Compact(0)
}

// histogramFields expresses all histograms in the layout of their plain
// sum, which is also returned (for its counter reset hint).
func histogramFields(hs []HPoint, onReconcile func()) ([][]float64, *histogramLayout, *histogram.FloatHistogram, error) {
	plain := hs[0].H.Copy()
	for _, p := range hs[1:] {
		_, _, reconciled, err := plain.Add(p.H)
		if err != nil {
			return nil, nil, nil, err
		}
		if reconciled {
			onReconcile()
		}
	}
	layout := newHistogramLayout(plain)
	out := make([][]float64, len(hs))
	for i, p := range hs {
		f, err := layout.fields(p.H)
		if err != nil {
			return nil, nil, nil, err
		}
		out[i] = f
	}
	return out, layout, plain, nil
}

// kahanSumFields sums field vectors with compensation.
func kahanSumFields(vs [][]float64) []float64 {
	sum := append([]float64(nil), vs[0]...)
	c := make([]float64, len(sum))
	for _, v := range vs[1:] {
		for i := range sum {
			sum[i], c[i] = kahanAdd(v[i], sum[i], c[i])
		}
	}
	for i := range sum {
		if !math.IsInf(sum[i], 0) {
			sum[i] += c[i]
		}
	}
	return sum
}

// kahanMeanFields averages field vectors like floatMean: a compensated
// sum while no field overflows, an incremental mean after.
func kahanMeanFields(vs [][]float64) []float64 {
	n := len(vs[0])
	sum := append([]float64(nil), vs[0]...)
	c := make([]float64, n)
	var mean []float64
	incremental := false
	count := 1.0
	next := make([]float64, n)
	nextC := make([]float64, n)
	for _, v := range vs[1:] {
		count++
		if !incremental {
			overflow := false
			for i := range sum {
				next[i], nextC[i] = kahanAdd(v[i], sum[i], c[i])
				overflow = overflow || math.IsInf(next[i], 0)
			}
			if !overflow {
				copy(sum, next)
				copy(c, nextC)
				continue
			}
			incremental = true
			mean = make([]float64, n)
			for i := range sum {
				mean[i] = sum[i] / (count - 1)
				c[i] /= count - 1
			}
		}
		q := (count - 1) / count
		for i := range mean {
			mean[i], c[i] = kahanAdd(v[i]/count, q*mean[i], q*c[i])
		}
	}
	out := make([]float64, n)
	for i := range out {
		if incremental {
			out[i] = mean[i] + c[i]
		} else {
			out[i] = sum[i]/count + c[i]/count
		}
	}
	return out
}
