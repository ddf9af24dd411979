package promql

import (
	"github.com/vigil-monitoring/vigil/internal/model/histogram"
	"github.com/vigil-monitoring/vigil/internal/model/value"
	"github.com/vigil-monitoring/vigil/internal/promql/parser"
	"github.com/vigil-monitoring/vigil/internal/storage"
)

// markHistogramStatsSelectors sets SkipHistogramBuckets on the selectors
// whose native histograms are only used for their count and sum (below
// histogram_count, histogram_sum or histogram_avg, with no subquery or
// function needing buckets in between). Their series are read through a
// histogramStatsIterator, which saves decoding the buckets.
func markHistogramStatsSelectors(expr parser.Expr) {
	parser.Inspect(expr, func(node parser.Node, path []parser.Node) error {
		vs, ok := node.(*parser.VectorSelector)
		if !ok {
			return nil
		}
	walk:
		for i := len(path) - 1; i >= 0; i-- {
			switch p := path[i].(type) {
			case *parser.SubqueryExpr:
				// Counter resets in subquery results need the buckets.
				vs.SkipHistogramBuckets = false
				break walk
			case *parser.BinaryExpr:
				if p.Op == parser.TRIM_UPPER || p.Op == parser.TRIM_LOWER {
					// Trimming works on the buckets.
					vs.SkipHistogramBuckets = false
					break walk
				}
			case *parser.Call:
				switch p.Func.Name {
				case "histogram_count", "histogram_sum", "histogram_avg":
					vs.SkipHistogramBuckets = true
				case "histogram_quantile", "histogram_fraction":
					vs.SkipHistogramBuckets = false
					break walk
				}
			}
		}
		return nil
	})
}

// statsSeries reads a series through a histogramStatsIterator.
type statsSeries struct {
	storage.Series
}

func (s statsSeries) Iterator(it storage.Iterator) storage.Iterator {
	if si, ok := it.(*histogramStatsIterator); ok {
		si.Iterator = s.Series.Iterator(si.Iterator)
		si.last = nil
		return si
	}
	return &histogramStatsIterator{Iterator: s.Series.Iterator(nil)}
}

// histogramStatsIterator returns native histograms with only their count
// and sum. Without the buckets, counter resets can no longer be detected
// later, so it detects them itself against the previous histogram it
// returned and sets the hint accordingly.
type histogramStatsIterator struct {
	storage.Iterator
	cur  *histogram.FloatHistogram
	last *histogram.FloatHistogram
}

func (it *histogramStatsIterator) Next() storage.ValueType {
	vt := it.Iterator.Next()
	if vt == storage.ValHistogram {
		return storage.ValFloatHistogram
	}
	return vt
}

func (it *histogramStatsIterator) Seek(t int64) storage.ValueType {
	// A seek that moves skips samples: the last one seen is no longer
	// the previous one.
	if t > it.Iterator.AtT() {
		it.last = nil
	}
	vt := it.Iterator.Seek(t)
	if vt == storage.ValHistogram {
		return storage.ValFloatHistogram
	}
	return vt
}

func (it *histogramStatsIterator) AtHistogram(*histogram.Histogram) (int64, *histogram.Histogram) {
	panic("histogramStatsIterator.AtHistogram must not be called")
}

func (it *histogramStatsIterator) AtFloatHistogram(fh *histogram.FloatHistogram) (int64, *histogram.FloatHistogram) {
	var t int64
	t, it.cur = it.Iterator.AtFloatHistogram(it.cur)
	if value.IsStaleNaN(it.cur.Sum) {
		return t, &histogram.FloatHistogram{Sum: it.cur.Sum}
	}
	// The schema stays, so that mixes of exponential and custom buckets
	// are still noticed.
	out := histogram.FloatHistogram{CounterResetHint: it.hint(), Schema: it.cur.Schema, Count: it.cur.Count, Sum: it.cur.Sum}
	if it.last == nil {
		it.last = it.cur.Copy()
	} else {
		it.cur.CopyTo(it.last)
	}
	if fh == nil {
		return t, &out
	}
	out.CopyTo(fh)
	return t, fh
}

func (it *histogramStatsIterator) hint() histogram.CounterResetHint {
	if h := it.cur.CounterResetHint; h != histogram.UnknownCounterReset {
		return h
	}
	if it.last == nil {
		return histogram.UnknownCounterReset
	}
	if it.cur.DetectReset(it.last) {
		return histogram.CounterReset
	}
	return histogram.NotCounterReset
}

// AtST passes the start timestamp of the underlying iterator through.
func (it *histogramStatsIterator) AtST() int64 {
	if sti, ok := it.Iterator.(StartTimestampIterator); ok {
		return sti.AtST()
	}
	return 0
}
