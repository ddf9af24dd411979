package promql

import (
	"errors"
	"fmt"
	"math"
	"sort"

	"github.com/vigil-monitoring/vigil/internal/model/histogram"
	"github.com/vigil-monitoring/vigil/internal/promql/parser"
)

// This file holds the functions of a range vector other than the rate
// family: the *_over_time aggregations, deriv, predict_linear, resets,
// changes and double_exponential_smoothing.

func registerRangeFunctions() {
	for name, fn := range map[string]functionCall{
		"rate":                         funcRate,
		"increase":                     funcIncrease,
		"delta":                        funcDelta,
		"irate":                        funcIrate,
		"idelta":                       funcIdelta,
		"avg_over_time":                funcAvgOverTime,
		"sum_over_time":                funcSumOverTime,
		"count_over_time":              funcCountOverTime,
		"min_over_time":                compareOverTime(cmpLess, false),
		"max_over_time":                compareOverTime(cmpGreater, false),
		"ts_of_min_over_time":          compareOverTime(cmpLessEqual, true),
		"ts_of_max_over_time":          compareOverTime(cmpGreaterEqual, true),
		"first_over_time":              funcFirstOverTime,
		"last_over_time":               funcLastOverTime,
		"ts_of_first_over_time":        funcTsOfFirstOverTime,
		"ts_of_last_over_time":         funcTsOfLastOverTime,
		"quantile_over_time":           funcQuantileOverTime,
		"mad_over_time":                funcMadOverTime,
		"stddev_over_time":             varianceOverTime(math.Sqrt),
		"stdvar_over_time":             varianceOverTime(nil),
		"present_over_time":            funcPresentOverTime,
		"absent_over_time":             funcPresentOverTime, // The engine inverts the result.
		"deriv":                        funcDeriv,
		"predict_linear":               funcPredictLinear,
		"resets":                       funcResets,
		"changes":                      funcChanges,
		"double_exponential_smoothing": funcDoubleExponentialSmoothing,
	} {
		functions[name] = fn
	}
}

// mixedRangeInfo notes that a function of floats ignored the histograms of
// a range.
func mixedRangeInfo(s Series, args parser.Expressions, enh *evalNodeHelper) {
	if len(s.Histograms) > 0 {
		enh.annos.Add(newHistogramIgnoredInMixedRangeInfo(metricName(s.Metric), args[0].PositionRange()))
	}
}

func funcAvgOverTime(_ []Vector, m Matrix, args parser.Expressions, enh *evalNodeHelper) Vector {
	s := m[0]
	pos := args[0].PositionRange()
	if len(s.Floats) > 0 && len(s.Histograms) > 0 {
		enh.annos.Add(newMixedFloatsHistogramsWarning(metricName(s.Metric), pos))
		return enh.out
	}
	if len(s.Floats) == 0 {
		h, err := histogramMean(s.Histograms, pos, enh.annos)
		if err != nil {
			if errors.Is(err, histogram.ErrHistogramsIncompatibleSchema) {
				enh.annos.Add(newMixedExponentialCustomHistogramsWarning(metricName(s.Metric), pos))
			}
			return enh.out
		}
		return append(enh.out, Sample{H: h})
	}
	return append(enh.out, Sample{F: floatMean(s.Floats)})
}

// floatMean averages with a compensated sum as long as the sum stays
// finite, and switches to an incremental mean when it would overflow:
// the direct mean is usually the more accurate one.
func floatMean(fs []FPoint) float64 {
	sum, c, count := fs[0].F, 0.0, 1.0
	var mean float64
	incremental := false
	for _, p := range fs[1:] {
		count++
		if !incremental {
			ns, nc := kahanAdd(p.F, sum, c)
			if !math.IsInf(ns, 0) {
				sum, c = ns, nc
				continue
			}
			incremental = true
			mean = sum / (count - 1)
			c /= count - 1
		}
		q := (count - 1) / count
		mean, c = kahanAdd(p.F/count, q*mean, q*c)
	}
	if incremental {
		return mean + c
	}
	return sum/count + c/count
}

// histogramMean averages histograms like floatMean, field by field.
func histogramMean(hs []HPoint, pos parser.PositionRange, annos *Annotations) (*histogram.FloatHistogram, error) {
	reconciled := false
	fields, layout, plain, err := histogramFields(hs, func() { reconciled = true })
	if err != nil {
		return nil, err
	}
	reportHistogramAggregation(hs, reconciled, pos, annos)
	return layout.histogram(kahanMeanFields(fields), plain.CounterResetHint), nil
}

// reportHistogramAggregation adds the annotations of aggregating
// histograms over time: conflicting counter reset hints and reconciled
// custom buckets.
func reportHistogramAggregation(hs []HPoint, reconciled bool, pos parser.PositionRange, annos *Annotations) {
	var resetSeen, notResetSeen bool
	for _, p := range hs {
		switch p.H.CounterResetHint {
		case histogram.CounterReset:
			resetSeen = true
		case histogram.NotCounterReset:
			notResetSeen = true
		}
	}
	if resetSeen && notResetSeen {
		annos.Add(newHistogramCounterResetCollisionWarning(pos, histogramAgg))
	}
	if reconciled {
		annos.Add(newMismatchedCustomBucketsHistogramsInfo(pos, histogramAgg))
	}
}

func funcSumOverTime(_ []Vector, m Matrix, args parser.Expressions, enh *evalNodeHelper) Vector {
	s := m[0]
	pos := args[0].PositionRange()
	if len(s.Floats) > 0 && len(s.Histograms) > 0 {
		enh.annos.Add(newMixedFloatsHistogramsWarning(metricName(s.Metric), pos))
		return enh.out
	}
	if len(s.Floats) == 0 {
		h, err := histogramSum(s.Histograms, pos, enh.annos)
		if err != nil {
			if errors.Is(err, histogram.ErrHistogramsIncompatibleSchema) {
				enh.annos.Add(newMixedExponentialCustomHistogramsWarning(metricName(s.Metric), pos))
			}
			return enh.out
		}
		return append(enh.out, Sample{H: h})
	}
	var sum, c float64
	for _, p := range s.Floats {
		sum, c = kahanAdd(p.F, sum, c)
	}
	if !math.IsInf(sum, 0) {
		sum += c
	}
	return append(enh.out, Sample{F: sum})
}

func histogramSum(hs []HPoint, pos parser.PositionRange, annos *Annotations) (*histogram.FloatHistogram, error) {
	reconciled := false
	fields, layout, plain, err := histogramFields(hs, func() { reconciled = true })
	if err != nil {
		return nil, err
	}
	reportHistogramAggregation(hs, reconciled, pos, annos)
	return layout.histogram(kahanSumFields(fields), plain.CounterResetHint), nil
}

func funcCountOverTime(_ []Vector, m Matrix, _ parser.Expressions, enh *evalNodeHelper) Vector {
	return append(enh.out, Sample{F: float64(len(m[0].Floats) + len(m[0].Histograms))})
}

func funcPresentOverTime(_ []Vector, _ Matrix, _ parser.Expressions, enh *evalNodeHelper) Vector {
	return append(enh.out, Sample{F: 1})
}

// compareOverTime makes min/max_over_time (the best value) and
// ts_of_min/max_over_time (the time of the last best value) over the float
// samples. A sample replaces the best one when it compares better (or
// equal, for the ts_of variants) or the best one is NaN. Each comparison
// has its own loop: a comparison function called per sample would cost
// more than the loop itself.
func compareOverTime(cmp overTimeComparison, timestamp bool) functionCall {
	return func(_ []Vector, m Matrix, args parser.Expressions, enh *evalNodeHelper) Vector {
		s := m[0]
		if len(s.Floats) == 0 {
			return enh.out
		}
		mixedRangeInfo(s, args, enh)
		fs := s.Floats
		// The first sample only ever replaces itself.
		best, bestT := fs[0].F, fs[0].T
		switch cmp {
		case cmpLess:
			for _, p := range fs[1:] {
				if p.F < best || best != best {
					best, bestT = p.F, p.T
				}
			}
		case cmpGreater:
			for _, p := range fs[1:] {
				if p.F > best || best != best {
					best, bestT = p.F, p.T
				}
			}
		case cmpLessEqual:
			for _, p := range fs[1:] {
				if p.F <= best || best != best {
					best, bestT = p.F, p.T
				}
			}
		case cmpGreaterEqual:
			for _, p := range fs[1:] {
				if p.F >= best || best != best {
					best, bestT = p.F, p.T
				}
			}
		}
		if timestamp {
			return append(enh.out, Sample{F: float64(bestT) / 1000})
		}
		return append(enh.out, Sample{F: best})
	}
}

// overTimeComparison is how compareOverTime ranks samples.
type overTimeComparison int

const (
	cmpLess overTimeComparison = iota
	cmpGreater
	cmpLessEqual
	cmpGreaterEqual
)

func funcFirstOverTime(_ []Vector, m Matrix, _ parser.Expressions, enh *evalNodeHelper) Vector {
	s := m[0]
	if len(s.Histograms) == 0 || (len(s.Floats) > 0 && s.Floats[0].T < s.Histograms[0].T) {
		return append(enh.out, Sample{Metric: s.Metric, F: s.Floats[0].F})
	}
	return append(enh.out, Sample{Metric: s.Metric, H: s.Histograms[0].H.Copy()})
}

func funcLastOverTime(_ []Vector, m Matrix, _ parser.Expressions, enh *evalNodeHelper) Vector {
	s := m[0]
	nf, nh := len(s.Floats), len(s.Histograms)
	if nh == 0 || (nf > 0 && s.Histograms[nh-1].T < s.Floats[nf-1].T) {
		return append(enh.out, Sample{Metric: s.Metric, F: s.Floats[nf-1].F})
	}
	return append(enh.out, Sample{Metric: s.Metric, H: s.Histograms[nh-1].H.Copy()})
}

func funcTsOfFirstOverTime(_ []Vector, m Matrix, _ parser.Expressions, enh *evalNodeHelper) Vector {
	s := m[0]
	t := int64(math.MaxInt64)
	if len(s.Floats) > 0 {
		t = s.Floats[0].T
	}
	if len(s.Histograms) > 0 {
		t = min(t, s.Histograms[0].T)
	}
	return append(enh.out, Sample{F: float64(t) / 1000})
}

func funcTsOfLastOverTime(_ []Vector, m Matrix, _ parser.Expressions, enh *evalNodeHelper) Vector {
	s := m[0]
	var t int64
	if len(s.Floats) > 0 {
		t = s.Floats[len(s.Floats)-1].T
	}
	if len(s.Histograms) > 0 {
		t = max(t, s.Histograms[len(s.Histograms)-1].T)
	}
	return append(enh.out, Sample{F: float64(t) / 1000})
}

func funcQuantileOverTime(vals []Vector, m Matrix, args parser.Expressions, enh *evalNodeHelper) Vector {
	q := vals[0][0].F
	s := m[0]
	if len(s.Floats) == 0 {
		return enh.out
	}
	if math.IsNaN(q) || q < 0 || q > 1 {
		enh.annos.Add(newInvalidQuantileWarning(q, args[0].PositionRange()))
	}
	mixedRangeInfo(s, args, enh)
	values := enh.floatBuf[:0]
	for _, p := range s.Floats {
		values = append(values, p.F)
	}
	enh.floatBuf = values
	return append(enh.out, Sample{F: quantile(q, values)})
}

// funcMadOverTime is the median absolute deviation of the float samples;
// a NaN sample makes it NaN.
func funcMadOverTime(_ []Vector, m Matrix, args parser.Expressions, enh *evalNodeHelper) Vector {
	s := m[0]
	if len(s.Floats) == 0 {
		return enh.out
	}
	mixedRangeInfo(s, args, enh)
	values := make([]float64, len(s.Floats))
	for i, p := range s.Floats {
		if math.IsNaN(p.F) {
			return append(enh.out, Sample{F: math.NaN()})
		}
		values[i] = p.F
	}
	median := quantile(0.5, values)
	for i := range values {
		values[i] = math.Abs(values[i] - median)
	}
	return append(enh.out, Sample{F: quantile(0.5, values)})
}

// varianceOverTime makes stdvar_over_time (post nil) and
// stddev_over_time (post math.Sqrt), with Welford's algorithm over
// compensated sums.
func varianceOverTime(post func(float64) float64) functionCall {
	return func(_ []Vector, m Matrix, args parser.Expressions, enh *evalNodeHelper) Vector {
		s := m[0]
		if len(s.Floats) == 0 {
			return enh.out
		}
		mixedRangeInfo(s, args, enh)
		var count, mean, cMean, aux, cAux float64
		for _, p := range s.Floats {
			count++
			delta := p.F - (mean + cMean)
			mean, cMean = kahanAdd(delta/count, mean, cMean)
			aux, cAux = kahanAdd(delta*(p.F-(mean+cMean)), aux, cAux)
		}
		v := (aux + cAux) / count
		if post != nil {
			v = post(v)
		}
		return append(enh.out, Sample{F: v})
	}
}

// linearRegression fits a least-squares line through the samples, with
// times relative to interceptTime, and returns its slope and its value at
// interceptTime.
func linearRegression(samples []FPoint, interceptTime int64) (slope, intercept float64) {
	var n, sumX, cX, sumY, cY, sumXY, cXY, sumX2, cX2 float64
	constY := true
	for i, p := range samples {
		if i > 0 && p.F != samples[0].F {
			constY = false
		}
		n++
		x := float64(p.T-interceptTime) / 1e3
		sumX, cX = kahanAdd(x, sumX, cX)
		sumY, cY = kahanAdd(p.F, sumY, cY)
		sumXY, cXY = kahanAdd(x*p.F, sumXY, cXY)
		sumX2, cX2 = kahanAdd(x*x, sumX2, cX2)
	}
	if constY {
		if math.IsInf(samples[0].F, 0) {
			return math.NaN(), math.NaN()
		}
		return 0, samples[0].F
	}
	sumX += cX
	sumY += cY
	sumXY += cXY
	sumX2 += cX2
	covXY := sumXY - sumX*sumY/n
	varX := sumX2 - sumX*sumX/n
	slope = covXY / varX
	intercept = sumY/n - slope*sumX/n
	return slope, intercept
}

func funcDeriv(_ []Vector, m Matrix, args parser.Expressions, enh *evalNodeHelper) Vector {
	s := m[0]
	if len(s.Floats) < 2 {
		if len(s.Floats) == 1 {
			mixedRangeInfo(s, args, enh)
		}
		return enh.out
	}
	mixedRangeInfo(s, args, enh)
	// Times relative to the first sample keep the sums small and exact.
	slope, _ := linearRegression(s.Floats, s.Floats[0].T)
	return append(enh.out, Sample{F: slope})
}

func funcPredictLinear(vals []Vector, m Matrix, args parser.Expressions, enh *evalNodeHelper) Vector {
	s := m[0]
	duration := vals[0][0].F
	if len(s.Floats) < 2 {
		if len(s.Floats) == 1 {
			mixedRangeInfo(s, args, enh)
		}
		return enh.out
	}
	mixedRangeInfo(s, args, enh)
	slope, intercept := linearRegression(s.Floats, enh.ts)
	return append(enh.out, Sample{F: slope*duration + intercept})
}

// firstIndices returns where resets() and changes() start reading: with
// the anchored modifier, at the last sample (float or histogram) at or
// before the start of the range, which stands for the value at the start.
// found is false when no sample lies inside the range.
func firstIndices(s Series, enh *evalNodeHelper) (firstFloat, firstHist int, found bool) {
	if !enh.anchored {
		return 0, 0, true
	}
	start := enh.rangeStart
	lastF := sort.Search(len(s.Floats), func(i int) bool { return s.Floats[i].T > start }) - 1
	lastH := sort.Search(len(s.Histograms), func(i int) bool { return s.Histograms[i].T > start }) - 1
	if lastF+1 >= len(s.Floats) && lastH+1 >= len(s.Histograms) {
		return 0, 0, false
	}
	switch {
	case lastF < 0 && lastH < 0:
		return 0, 0, true
	case lastH < 0 || (lastF >= 0 && s.Floats[lastF].T >= s.Histograms[lastH].T):
		return lastF, lastH + 1, true
	default:
		return lastF + 1, lastH, true
	}
}

// walkSamples calls f for consecutive pairs of samples in time order,
// floats and histograms merged, starting at the given indices.
func walkSamples(s Series, fi, hi int, sts *startTimestamps, f func(prev, cur Sample, prevST, curST int64)) {
	var prev Sample
	var prevST int64
	first := true
	for fi < len(s.Floats) || hi < len(s.Histograms) {
		var cur Sample
		var st int64
		if hi >= len(s.Histograms) || (fi < len(s.Floats) && s.Floats[fi].T < s.Histograms[hi].T) {
			cur = Sample{T: s.Floats[fi].T, F: s.Floats[fi].F}
			if sts != nil && fi < len(sts.Floats) {
				st = sts.Floats[fi]
			}
			fi++
		} else {
			cur = Sample{T: s.Histograms[hi].T, H: s.Histograms[hi].H}
			if sts != nil && hi < len(sts.Histograms) {
				st = sts.Histograms[hi]
			}
			hi++
		}
		if !first {
			f(prev, cur, prevST, st)
		}
		first = false
		prev, prevST = cur, st
	}
}

func funcResets(_ []Vector, m Matrix, _ parser.Expressions, enh *evalNodeHelper) Vector {
	s := m[0]
	fi, hi, ok := firstIndices(s, enh)
	if !ok {
		return enh.out
	}
	resets := 0
	if enh.pairsKnown && !enh.anchored && enh.startTimestamps == nil {
		return append(enh.out, Sample{F: float64(enh.pairs.resets)})
	}
	if hi >= len(s.Histograms) && enh.startTimestamps == nil {
		// Floats only, without start timestamps: a plain loop.
		fs := s.Floats[fi:]
		for i := 1; i < len(fs); i++ {
			if fs[i].F < fs[i-1].F {
				resets++
			}
		}
		return append(enh.out, Sample{F: float64(resets)})
	}
	walkSamples(s, fi, hi, enh.startTimestamps, func(prev, cur Sample, prevST, curST int64) {
		switch {
		case prev.H == nil && cur.H == nil:
			if cur.F < prev.F || isStartTimestampReset(prevST, prev.T, curST, cur.T) {
				resets++
			}
		case prev.H != nil && cur.H != nil:
			if isStartTimestampReset(prevST, prev.T, curST, cur.T) || cur.H.DetectReset(prev.H) {
				resets++
			}
		default:
			resets++
		}
	})
	return append(enh.out, Sample{F: float64(resets)})
}

func funcChanges(_ []Vector, m Matrix, _ parser.Expressions, enh *evalNodeHelper) Vector {
	s := m[0]
	fi, hi, ok := firstIndices(s, enh)
	if !ok {
		return enh.out
	}
	changes := 0
	if enh.pairsKnown && !enh.anchored {
		return append(enh.out, Sample{F: float64(enh.pairs.changes)})
	}
	if hi >= len(s.Histograms) {
		// Floats only: a plain loop.
		fs := s.Floats[fi:]
		for i := 1; i < len(fs); i++ {
			if cur, prev := fs[i].F, fs[i-1].F; cur != prev && !(math.IsNaN(cur) && math.IsNaN(prev)) {
				changes++
			}
		}
		return append(enh.out, Sample{F: float64(changes)})
	}
	walkSamples(s, fi, hi, nil, func(prev, cur Sample, _, _ int64) {
		switch {
		case prev.H == nil && cur.H == nil:
			if cur.F != prev.F && !(math.IsNaN(cur.F) && math.IsNaN(prev.F)) {
				changes++
			}
		case prev.H != nil && cur.H != nil:
			if !cur.H.Equals(prev.H) {
				changes++
			}
		default:
			changes++
		}
	})
	return append(enh.out, Sample{F: float64(changes)})
}

// funcDoubleExponentialSmoothing smooths the float samples with smoothing
// factor sf and trend factor tf (Holt's linear method) and returns the
// last smoothed value.
func funcDoubleExponentialSmoothing(vals []Vector, m Matrix, args parser.Expressions, enh *evalNodeHelper) Vector {
	s := m[0]
	sf, tf := vals[0][0].F, vals[1][0].F
	if sf <= 0 || sf >= 1 {
		panic(evalError{fmt.Errorf("invalid smoothing factor. Expected: 0 < sf < 1, got: %f", sf)})
	}
	if tf <= 0 || tf >= 1 {
		panic(evalError{fmt.Errorf("invalid trend factor. Expected: 0 < tf < 1, got: %f", tf)})
	}
	n := len(s.Floats)
	if n < 2 {
		if n == 1 {
			mixedRangeInfo(s, args, enh)
		}
		return enh.out
	}
	var s0 float64
	s1 := s.Floats[0].F
	b := s.Floats[1].F - s.Floats[0].F
	for i := 1; i < n; i++ {
		x := sf * s.Floats[i].F
		if i > 1 {
			b = tf*(s1-s0) + (1-tf)*b
		}
		y := (1 - sf) * (s1 + b)
		s0, s1 = s1, x+y
	}
	mixedRangeInfo(s, args, enh)
	return append(enh.out, Sample{F: s1})
}
