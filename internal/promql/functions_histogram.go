package promql

import (
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/vigil-monitoring/vigil/internal/model/histogram"
	"github.com/vigil-monitoring/vigil/internal/model/labels"
	"github.com/vigil-monitoring/vigil/internal/promql/parser"
)

func registerHistogramFunctions() {
	functions["histogram_count"] = histogramStatFunc(func(h *histogram.FloatHistogram) float64 { return h.Count })
	functions["histogram_sum"] = histogramStatFunc(func(h *histogram.FloatHistogram) float64 { return h.Sum })
	functions["histogram_avg"] = histogramStatFunc(func(h *histogram.FloatHistogram) float64 { return h.Sum / h.Count })
	functions["histogram_stddev"] = histogramStatFunc(func(h *histogram.FloatHistogram) float64 { return math.Sqrt(histogramVariance(h)) })
	functions["histogram_stdvar"] = histogramStatFunc(histogramVariance)
	functions["histogram_fraction"] = funcHistogramFraction
	functions["histogram_quantile"] = funcHistogramQuantile
	functions["histogram_quantiles"] = funcHistogramQuantiles
}

// histogramStatFunc makes a function of the native histogram samples of a
// vector; float samples are skipped.
func histogramStatFunc(f func(*histogram.FloatHistogram) float64) functionCall {
	return func(vals []Vector, _ Matrix, _ parser.Expressions, enh *evalNodeHelper) Vector {
		for _, s := range vals[0] {
			if s.H == nil {
				continue
			}
			m := s.Metric
			if !enh.delayedNameRemoval {
				m = m.DropMetricName()
			}
			enh.out = append(enh.out, Sample{Metric: m, F: f(s.H), DropName: true})
		}
		return enh.out
	}
}

// histogramVariance estimates the variance of the observations of a
// histogram, placing each bucket's observations at its mean: the
// arithmetic mean for custom buckets and the zero bucket, the geometric
// mean for exponential buckets.
func histogramVariance(h *histogram.FloatHistogram) float64 {
	mean := h.Sum / h.Count
	var variance, c float64
	for it := h.AllBucketIterator(); it.Next(); {
		b := it.At()
		if b.Count == 0 {
			continue
		}
		var v float64
		switch {
		case h.UsesCustomBuckets():
			v = (b.Upper + b.Lower) / 2
		case b.Lower <= 0 && b.Upper >= 0:
			v = 0
		default:
			v = math.Sqrt(b.Upper * b.Lower)
			if b.Upper < 0 {
				v = -v
			}
		}
		d := v - mean
		variance, c = kahanAdd(b.Count*d*d, variance, c)
	}
	return (variance + c) / h.Count
}

// splitHistograms sorts the samples of a vector into native histograms
// and classic histograms (float samples grouped by their labels without
// "le"). A classic and a native histogram with the same labels cancel each
// other out, with a warning.
func (enh *evalNodeHelper) splitHistograms(vec Vector, arg parser.Expr) {
	if enh.bucketsBySignature == nil {
		enh.bucketsBySignature = map[labels.Labels]*metricWithBuckets{}
	}
	for _, mb := range enh.bucketOrder {
		mb.buckets = mb.buckets[:0]
	}
	enh.nativeHistograms = enh.nativeHistograms[:0]
	// The metric name is only known to the user's eyes with delayed name
	// removal, so only then is it mentioned.
	nameOf := func(ls labels.Labels) string {
		if enh.delayedNameRemoval {
			return metricName(ls)
		}
		return ""
	}
	for i, s := range vec {
		if s.H != nil {
			enh.nativeHistograms = append(enh.nativeHistograms, s)
			continue
		}
		// The i-th sample usually is the same series as at the last step:
		// its bucket and group are then known.
		var c *bucketSplit
		if i < len(enh.splitAt) && labels.Equal(enh.splitAt[i].metric, s.Metric) &&
			(enh.splitAt[i].mb == nil || !enh.splitAt[i].mb.removed) {
			c = &enh.splitAt[i]
		} else {
			if len(enh.splitAt) <= i {
				// Grown to the vector at once: one sample at a time it
				// was a third of what histogram_quantile allocated.
				enh.splitAt = slices.Grow(enh.splitAt, len(vec)-len(enh.splitAt))[:i+1]
			}
			c = &enh.splitAt[i]
			*c = bucketSplit{metric: s.Metric, le: s.Metric.Get(labels.BucketLabel)}
			ub, err := strconv.ParseFloat(c.le, 64)
			if err == nil {
				key := enh.builder(s.Metric).Del(labels.BucketLabel).Labels()
				mb, ok := enh.bucketsBySignature[key]
				if !ok {
					mb = &metricWithBuckets{metric: key}
					enh.bucketsBySignature[key] = mb
					enh.bucketOrder = append(enh.bucketOrder, mb)
				}
				c.ub, c.mb = ub, mb
			}
		}
		if c.mb == nil {
			enh.annos.Add(newBadBucketLabelWarning(nameOf(s.Metric), c.le, arg.PositionRange()))
			continue
		}
		c.mb.buckets = append(c.mb.buckets, bucket{upperBound: c.ub, count: s.F})
	}
	for i, s := range enh.nativeHistograms {
		key := s.Metric
		if mb, ok := enh.bucketsBySignature[key]; ok && len(mb.buckets) > 0 {
			enh.annos.Add(newMixedClassicNativeHistogramsWarning(nameOf(s.Metric), arg.PositionRange()))
			delete(enh.bucketsBySignature, key)
			mb.removed = true
			enh.bucketOrder = slices.DeleteFunc(enh.bucketOrder, func(x *metricWithBuckets) bool { return x == mb })
			enh.nativeHistograms[i].H = nil
		}
	}
}

// bucketSplit is what splitHistograms found for one classic bucket
// sample: its upper bound and group, or (mb nil) a bad le label.
type bucketSplit struct {
	metric labels.Labels
	le     string
	ub     float64
	mb     *metricWithBuckets
}

// histogramResultMetric prepares the labels of a histogram function's
// result.
func (enh *evalNodeHelper) histogramResultMetric(m labels.Labels) labels.Labels {
	if !enh.delayedNameRemoval {
		return dropMetadataLabels(m)
	}
	return m
}

func validateQuantile(q float64, arg parser.Expr, annos *Annotations) {
	if math.IsNaN(q) || q < 0 || q > 1 {
		annos.Add(newInvalidQuantileWarning(q, arg.PositionRange()))
	}
}

func funcHistogramQuantile(vals []Vector, _ Matrix, args parser.Expressions, enh *evalNodeHelper) Vector {
	q := vals[0][0].F
	validateQuantile(q, args[0], enh.annos)
	enh.splitHistograms(vals[1], args[1])
	for _, s := range enh.nativeHistograms {
		if s.H == nil {
			continue
		}
		m := enh.histogramResultMetric(s.Metric)
		v := histogramQuantile(q, s.H, metricName(m), args[0].PositionRange(), enh.annos)
		enh.out = append(enh.out, Sample{Metric: m, F: v, DropName: true})
	}
	for _, mb := range enh.bucketOrder {
		if len(mb.buckets) == 0 {
			continue
		}
		v, fix := bucketQuantile(q, mb.buckets)
		if fix.forced {
			name := ""
			if enh.delayedNameRemoval {
				name = metricName(mb.metric)
			}
			enh.annos.Add(newHistogramQuantileForcedMonotonicityInfo(name, args[1].PositionRange()))
		}
		enh.out = append(enh.out, Sample{Metric: enh.histogramResultMetric(mb.metric), F: v, DropName: true})
	}
	return enh.out
}

// funcHistogramQuantiles computes several quantiles at once, each result
// labelled with its quantile in the label named by the second argument.
func funcHistogramQuantiles(vals []Vector, _ Matrix, args parser.Expressions, enh *evalNodeHelper) Vector {
	label := stringArg(args[1])
	qs := make([]float64, 0, len(vals)-2)
	for i := 2; i < len(vals); i++ {
		q := vals[i][0].F
		validateQuantile(q, args[i], enh.annos)
		qs = append(qs, q)
	}
	enh.splitHistograms(vals[0], args[0])
	withQuantile := func(m labels.Labels, q float64) labels.Labels {
		return enh.builder(m).Set(label, formatOpenMetricsFloat(q)).Labels()
	}
	for _, q := range qs {
		for _, s := range enh.nativeHistograms {
			if s.H == nil {
				continue
			}
			m := enh.histogramResultMetric(s.Metric)
			v := histogramQuantile(q, s.H, metricName(m), args[0].PositionRange(), enh.annos)
			enh.out = append(enh.out, Sample{Metric: withQuantile(m, q), F: v, DropName: true})
		}
		for _, mb := range enh.bucketOrder {
			if len(mb.buckets) == 0 {
				continue
			}
			v, fix := bucketQuantile(q, mb.buckets)
			if fix.forced {
				name := ""
				if enh.delayedNameRemoval {
					name = metricName(mb.metric)
				}
				enh.annos.Add(newHistogramQuantileForcedMonotonicityInfo(name, args[0].PositionRange()))
			}
			enh.out = append(enh.out, Sample{Metric: withQuantile(enh.histogramResultMetric(mb.metric), q), F: v, DropName: true})
		}
	}
	return enh.out
}

// formatOpenMetricsFloat formats a float as OpenMetrics label values do:
// integers keep a ".0", infinities are signed.
func formatOpenMetricsFloat(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "+Inf"
	case math.IsInf(f, -1):
		return "-Inf"
	}
	s := strconv.FormatFloat(f, 'g', -1, 64)
	if f == math.Floor(f) && !strings.ContainsAny(s, "e.") {
		s += ".0"
	}
	return s
}

func funcHistogramFraction(vals []Vector, _ Matrix, args parser.Expressions, enh *evalNodeHelper) Vector {
	lower, upper := vals[0][0].F, vals[1][0].F
	enh.splitHistograms(vals[2], args[2])
	for _, s := range enh.nativeHistograms {
		if s.H == nil {
			continue
		}
		m := enh.histogramResultMetric(s.Metric)
		v := histogramFraction(lower, upper, s.H, metricName(m), args[0].PositionRange(), enh.annos)
		enh.out = append(enh.out, Sample{Metric: m, F: v, DropName: true})
	}
	for _, mb := range enh.bucketOrder {
		if len(mb.buckets) == 0 {
			continue
		}
		enh.out = append(enh.out, Sample{Metric: enh.histogramResultMetric(mb.metric), F: bucketFraction(lower, upper, mb.buckets), DropName: true})
	}
	return enh.out
}
