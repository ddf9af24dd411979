package promql

import (
	"errors"
	"math"
	"sort"

	"github.com/vigil-monitoring/vigil/internal/model/histogram"
	"github.com/vigil-monitoring/vigil/internal/model/labels"
	"github.com/vigil-monitoring/vigil/internal/promql/parser"
)

// This file holds rate(), increase(), delta(), irate(), idelta() and
// their helpers.

func funcRate(_ []Vector, m Matrix, args parser.Expressions, enh *evalNodeHelper) Vector {
	return extrapolatedRate(m, args, enh, true, true)
}

func funcIncrease(_ []Vector, m Matrix, args parser.Expressions, enh *evalNodeHelper) Vector {
	return extrapolatedRate(m, args, enh, true, false)
}

func funcDelta(_ []Vector, m Matrix, args parser.Expressions, enh *evalNodeHelper) Vector {
	return extrapolatedRate(m, args, enh, false, false)
}

func metricName(ls labels.Labels) string { return ls.Get(labels.MetricName) }

// extrapolatedRate computes rate, increase (isCounter) or delta over the
// window. The difference between the first and last sample (corrected for
// counter resets) is extrapolated towards the ends of the range: all the
// way when the samples come within 110% of the average sample interval of
// an end, else by half an interval; a counter is not extrapolated below
// zero. A start timestamp inside the range on the first sample is taken as
// a sample of value zero at that time instead of extrapolating left.
func extrapolatedRate(m Matrix, args parser.Expressions, enh *evalNodeHelper, isCounter, isRate bool) Vector {
	s := m[0]
	pos := args[0].PositionRange()
	if enh.anchored || enh.smoothed {
		switch {
		case len(s.Histograms) > 0 && len(s.Floats) > 0:
			enh.annos.Add(newMixedFloatsHistogramsWarning(metricName(s.Metric), pos))
			return enh.out
		case len(s.Histograms) > 0:
			return extendedHistogramRate(s, pos, enh, isCounter, isRate)
		case len(s.Floats) > 0:
			return extendedRate(s, enh, isCounter, isRate)
		}
		return enh.out
	}
	if len(s.Histograms) > 0 && len(s.Floats) > 0 {
		enh.annos.Add(newMixedFloatsHistogramsWarning(metricName(s.Metric), pos))
		return enh.out
	}

	var (
		rangeStart, rangeEnd = enh.rangeStart, enh.rangeEnd
		resultFloat          float64
		resultHistogram      *histogram.FloatHistogram
		firstT, lastT        int64
		intervals            int // Number of samples minus one.
		sts                  []int64
	)
	switch {
	case len(s.Histograms) > 0:
		intervals = len(s.Histograms) - 1
		firstT, lastT = s.Histograms[0].T, s.Histograms[intervals].T
		if enh.startTimestamps != nil {
			sts = enh.startTimestamps.Histograms
		}
		if intervals > 0 {
			resultHistogram = histogramRate(s.Histograms, sts, isCounter, s.Metric, pos, enh.annos)
			if resultHistogram == nil {
				return enh.out
			}
		}
	case len(s.Floats) > 0:
		intervals = len(s.Floats) - 1
		firstT, lastT = s.Floats[0].T, s.Floats[intervals].T
		resultFloat = s.Floats[intervals].F - s.Floats[0].F
		if !isCounter {
			break
		}
		if enh.startTimestamps != nil {
			sts = enh.startTimestamps.Floats
		}
		if len(sts) == 0 {
			if enh.pairsKnown && enh.pairs.resets == 0 {
				break // No reset to correct for.
			}
			for i := 1; i < len(s.Floats); i++ {
				if s.Floats[i].F < s.Floats[i-1].F {
					resultFloat += s.Floats[i-1].F
				}
			}
			break
		}
		overlapReported := false
		for i := 1; i < len(s.Floats); i++ {
			prev, cur := s.Floats[i-1], s.Floats[i]
			if !overlapReported && i < len(sts) && startTimeOverlaps(sts[i-1], prev.T, sts[i]) {
				enh.annos.Add(newStartTimeOverlapWarning(metricName(s.Metric), pos))
				overlapReported = true
			}
			if cur.F < prev.F || (i < len(sts) && isStartTimestampReset(sts[i-1], prev.T, sts[i], cur.T)) {
				resultFloat += prev.F
			}
		}
	default:
		return enh.out
	}

	durationToStart := float64(firstT-rangeStart) / 1000
	durationToEnd := float64(rangeEnd-lastT) / 1000
	sampledInterval := float64(lastT-firstT) / 1000
	var avgInterval float64
	if intervals > 0 {
		avgInterval = sampledInterval / float64(intervals)
	}
	threshold := avgInterval * 1.1

	if isCounter && len(sts) > 0 && sts[0] != 0 && sts[0] > rangeStart && sts[0] < firstT {
		// The series started inside the range: count from zero at its
		// start instead of extrapolating.
		durationToStart = 0
		sampledInterval = float64(lastT-sts[0]) / 1000
		if len(s.Floats) > 0 {
			resultFloat += s.Floats[0].F
		} else if resultHistogram == nil {
			resultHistogram = s.Histograms[0].H.Copy()
		} else if !addHistogram(resultHistogram, s.Histograms[0].H, metricName(s.Metric), pos, enh.annos) {
			return enh.out
		}
	} else if intervals == 0 {
		return enh.out
	} else {
		if durationToStart >= threshold {
			durationToStart = avgInterval / 2
		}
		if isCounter {
			// Do not extrapolate a counter below zero: if it would reach
			// zero before the start of the range, start there.
			durationToZero := durationToStart
			switch {
			case resultFloat > 0 && len(s.Floats) > 0 && s.Floats[0].F >= 0:
				durationToZero = sampledInterval * (s.Floats[0].F / resultFloat)
			case resultHistogram != nil && resultHistogram.Count > 0 && len(s.Histograms) > 0 && s.Histograms[0].H.Count >= 0:
				durationToZero = sampledInterval * (s.Histograms[0].H.Count / resultHistogram.Count)
			}
			durationToStart = min(durationToStart, durationToZero)
		}
	}
	if durationToEnd >= threshold {
		durationToEnd = avgInterval / 2
	}

	factor := 1.0
	if sampledInterval != 0 {
		factor = (sampledInterval + durationToStart + durationToEnd) / sampledInterval
	}
	if isRate {
		factor /= float64(enh.rangeMs) / 1000
	}
	if resultHistogram == nil {
		resultFloat *= factor
	} else {
		resultHistogram.Mul(factor)
	}
	return append(enh.out, Sample{F: resultFloat, H: resultHistogram})
}

// isStartTimestampReset reports whether the start timestamps of two
// consecutive samples show a counter reset between them: the current
// sample started after the previous one was taken. A start timestamp equal
// to the previous sample's time marks a delta sample, a reset unless the
// previous start timestamp is unknown.
func isStartTimestampReset(prevST, prevT, curST, curT int64) bool {
	switch {
	case curST == 0 || curST >= curT:
		// Unknown, invalid, or OpenTelemetry's "unknown start".
		return false
	case curST < prevT:
		return false
	case curST > prevT:
		return true
	case prevST > prevT:
		return false
	}
	return prevST != 0 && prevST != prevT
}

// startTimeOverlaps reports a start timestamp that points before the
// previous sample without continuing it, a sign of broken data.
func startTimeOverlaps(prevST, prevT, curST int64) bool {
	return curST != 0 && curST < prevT && curST != prevST
}

// histogramRate is extrapolatedRate's difference of the first and last
// histogram, corrected for counter resets. It returns nil (with a warning)
// when the histograms cannot be combined.
func histogramRate(points []HPoint, sts []int64, isCounter bool, metric labels.Labels, pos parser.PositionRange, annos *Annotations) *histogram.FloatHistogram {
	name := metricName(metric)
	prev := points[0].H
	last := points[len(points)-1].H
	custom := prev.UsesCustomBuckets()
	if isCounter && (prev.CounterResetHint == histogram.GaugeType || last.CounterResetHint == histogram.GaugeType) {
		annos.Add(newNativeHistogramNotCounterWarning(name, pos))
	}
	if isCounter {
		// After a reset between the first two samples the first one does
		// not matter, not even its bucket layout.
		second := points[1].H
		if (len(sts) > 1 && isStartTimestampReset(sts[0], points[0].T, sts[1], points[1].T)) || second.DetectReset(prev) {
			prev = &histogram.FloatHistogram{Schema: second.Schema, CustomValues: second.CustomValues}
			custom = second.UsesCustomBuckets()
		}
	}
	if last.UsesCustomBuckets() != custom {
		annos.Add(newMixedExponentialCustomHistogramsWarning(name, pos))
		return nil
	}
	minSchema := min(last.Schema, prev.Schema)
	for _, p := range points[1 : len(points)-1] {
		if !isCounter {
			continue
		}
		if p.H.CounterResetHint == histogram.GaugeType {
			annos.Add(newNativeHistogramNotCounterWarning(name, pos))
		}
		minSchema = min(minSchema, p.H.Schema)
		if p.H.UsesCustomBuckets() != custom {
			annos.Add(newMixedExponentialCustomHistogramsWarning(name, pos))
			return nil
		}
	}
	h := copyToSchema(last, minSchema)
	// Conflicting counter reset hints are expected here: resets are
	// handled explicitly below.
	if _, _, reconciled, err := h.Sub(prev); err != nil {
		if errors.Is(err, histogram.ErrHistogramsIncompatibleSchema) {
			annos.Add(newMixedExponentialCustomHistogramsWarning(name, pos))
			return nil
		}
	} else if reconciled {
		annos.Add(newMismatchedCustomBucketsHistogramsInfo(pos, histogramSub))
	}
	if isCounter {
		overlapReported := false
		for i := 1; i < len(points); i++ {
			cur := points[i].H
			if !overlapReported && i < len(sts) && startTimeOverlaps(sts[i-1], points[i-1].T, sts[i]) {
				annos.Add(newStartTimeOverlapWarning(name, pos))
				overlapReported = true
			}
			if (i < len(sts) && isStartTimestampReset(sts[i-1], points[i-1].T, sts[i], points[i].T)) || cur.DetectReset(prev) {
				if _, _, reconciled, err := h.Add(prev); err != nil {
					if errors.Is(err, histogram.ErrHistogramsIncompatibleSchema) {
						annos.Add(newMixedExponentialCustomHistogramsWarning(name, pos))
						return nil
					}
				} else if reconciled {
					annos.Add(newMismatchedCustomBucketsHistogramsInfo(pos, histogramAdd))
				}
			}
			prev = cur
		}
	} else if points[0].H.CounterResetHint != histogram.GaugeType || points[len(points)-1].H.CounterResetHint != histogram.GaugeType {
		annos.Add(newNativeHistogramNotGaugeWarning(name, pos))
	}
	h.CounterResetHint = histogram.GaugeType
	return h.Compact(0)
}

// copyToSchema copies h, reducing it to schema when that is lower.
func copyToSchema(h *histogram.FloatHistogram, schema int32) *histogram.FloatHistogram {
	if h.UsesCustomBuckets() || schema >= h.Schema {
		return h.Copy()
	}
	return h.CopyToSchema(schema)
}

// addHistogram adds other to base, reporting incompatibilities; false
// means the result is unusable.
func addHistogram(base, other *histogram.FloatHistogram, name string, pos parser.PositionRange, annos *Annotations) bool {
	_, _, reconciled, err := base.Add(other)
	if err != nil {
		if errors.Is(err, histogram.ErrHistogramsIncompatibleSchema) {
			annos.Add(newMixedExponentialCustomHistogramsWarning(name, pos))
		}
		return false
	}
	if reconciled {
		annos.Add(newMismatchedCustomBucketsHistogramsInfo(pos, histogramAdd))
	}
	return true
}

// subHistogram is addHistogram for subtraction.
func subHistogram(base, other *histogram.FloatHistogram, name string, pos parser.PositionRange, annos *Annotations) bool {
	_, _, reconciled, err := base.Sub(other)
	if err != nil {
		if errors.Is(err, histogram.ErrHistogramsIncompatibleSchema) {
			annos.Add(newMixedExponentialCustomHistogramsWarning(name, pos))
		}
		return false
	}
	if reconciled {
		annos.Add(newMismatchedCustomBucketsHistogramsInfo(pos, histogramSub))
	}
	return true
}

// interpolate returns the value at t on the line between p1 and p2. For a
// counter that reset between them, the line starts from zero.
func interpolate(p1, p2 FPoint, t int64, isCounter bool) float64 {
	y1 := p1.F
	if isCounter && p2.F < y1 {
		y1 = 0
	}
	return y1 + (p2.F-y1)*float64(t-p1.T)/float64(p2.T-p1.T)
}

// interpolateHistograms is interpolate for histograms.
func interpolateHistograms(h1 *histogram.FloatHistogram, t1 int64, h2 *histogram.FloatHistogram, t2, t int64, isCounter bool) (*histogram.FloatHistogram, error) {
	if t == t1 {
		return h1.Copy(), nil
	}
	if t == t2 {
		return h2.Copy(), nil
	}
	if h1.UsesCustomBuckets() != h2.UsesCustomBuckets() {
		return nil, histogram.ErrHistogramsIncompatibleSchema
	}
	fraction := float64(t-t1) / float64(t2-t1)
	if isCounter && h2.DetectReset(h1) {
		return h2.Copy().Mul(fraction), nil
	}
	res := h2.Copy()
	if _, _, _, err := res.Sub(h1); err != nil {
		return nil, err
	}
	res.Mul(fraction)
	if _, _, _, err := res.Add(h1); err != nil {
		return nil, err
	}
	return res, nil
}

// pickOrInterpolateLeft returns the value at the start of an extended
// range: the sample at index first, or when smoothing and that sample lies
// before the start, the interpolation towards the next one.
func pickOrInterpolateLeft(f []FPoint, first int, rangeStart int64, smoothed, isCounter bool) float64 {
	if smoothed && f[first].T < rangeStart {
		return interpolate(f[first], f[first+1], rangeStart, isCounter)
	}
	return f[first].F
}

// pickOrInterpolateRight is pickOrInterpolateLeft for the end of the range.
func pickOrInterpolateRight(f []FPoint, last int, rangeEnd int64, smoothed, isCounter bool) float64 {
	if smoothed && last > 0 && f[last].T > rangeEnd {
		return interpolate(f[last-1], f[last], rangeEnd, isCounter)
	}
	return f[last].F
}

func pickOrInterpolateLeftHistogram(hs []HPoint, first int, rangeStart int64, smoothed, isCounter bool) (*histogram.FloatHistogram, error) {
	if smoothed && hs[first].T < rangeStart {
		return interpolateHistograms(hs[first].H, hs[first].T, hs[first+1].H, hs[first+1].T, rangeStart, isCounter)
	}
	return hs[first].H.Copy(), nil
}

func pickOrInterpolateRightHistogram(hs []HPoint, last int, rangeEnd int64, smoothed, isCounter bool) (*histogram.FloatHistogram, error) {
	if smoothed && last > 0 && hs[last].T > rangeEnd {
		return interpolateHistograms(hs[last-1].H, hs[last-1].T, hs[last].H, hs[last].T, rangeEnd, isCounter)
	}
	return hs[last].H.Copy(), nil
}

// extendedBounds finds, in a window read for an anchored or smoothed
// range, the sample that stands for the start of the range (the last one
// at or before it) and, when smoothing, the first one at or after the end.
// ok is false when nothing lies within the range.
func extendedBounds(n int, t func(int) int64, rangeStart, rangeEnd int64, smoothed bool) (first, last int, ok bool) {
	last = n - 1
	first = max(0, sort.Search(last, func(i int) bool { return t(i) > rangeStart })-1)
	if smoothed {
		last = sort.Search(last, func(i int) bool { return t(i) >= rangeEnd })
	}
	if t(last) <= rangeStart || (smoothed && t(first) > rangeEnd) {
		return 0, 0, false
	}
	return first, last, true
}

// extendedRate is rate, increase or delta for anchored and smoothed ranges:
// the difference between the values at the boundaries (taken or
// interpolated), corrected for counter resets, without extrapolation.
func extendedRate(s Series, enh *evalNodeHelper, isCounter, isRate bool) Vector {
	f := s.Floats
	first, last, ok := extendedBounds(len(f), func(i int) int64 { return f[i].T }, enh.rangeStart, enh.rangeEnd, enh.smoothed)
	if !ok {
		return enh.out
	}
	left := pickOrInterpolateLeft(f, first, enh.rangeStart, enh.smoothed, isCounter)
	right := pickOrInterpolateRight(f, last, enh.rangeEnd, enh.smoothed, isCounter)
	result := right - left
	if isCounter {
		// Resets at the boundaries are in the interpolation already;
		// only the samples strictly inside the range count here.
		if f[first].T <= enh.rangeStart {
			first++
		}
		if f[last].T >= enh.rangeEnd {
			last--
		}
		prev := left
		for _, p := range f[first : last+1] {
			if p.F < prev {
				result += prev
			}
			prev = p.F
		}
		if right < prev {
			result += prev
		}
	}
	if isRate {
		result /= float64(enh.rangeMs) / 1000
	}
	return append(enh.out, Sample{F: result})
}

// extendedHistogramRate is extendedRate for histograms.
func extendedHistogramRate(s Series, pos parser.PositionRange, enh *evalNodeHelper, isCounter, isRate bool) Vector {
	h := s.Histograms
	name := metricName(s.Metric)
	first, last, ok := extendedBounds(len(h), func(i int) int64 { return h[i].T }, enh.rangeStart, enh.rangeEnd, enh.smoothed)
	if !ok {
		return enh.out
	}
	custom := h[first].H.UsesCustomBuckets()
	for _, p := range h[first : last+1] {
		if p.H.UsesCustomBuckets() != custom {
			enh.annos.Add(newMixedExponentialCustomHistogramsWarning(name, pos))
			return enh.out
		}
		if isCounter && p.H.CounterResetHint == histogram.GaugeType {
			enh.annos.Add(newNativeHistogramNotCounterWarning(name, pos))
		}
	}
	left, err := pickOrInterpolateLeftHistogram(h, first, enh.rangeStart, enh.smoothed, isCounter)
	if err != nil {
		if errors.Is(err, histogram.ErrHistogramsIncompatibleSchema) {
			enh.annos.Add(newMixedExponentialCustomHistogramsWarning(name, pos))
		}
		return enh.out
	}
	right, err := pickOrInterpolateRightHistogram(h, last, enh.rangeEnd, enh.smoothed, isCounter)
	if err != nil {
		if errors.Is(err, histogram.ErrHistogramsIncompatibleSchema) {
			enh.annos.Add(newMixedExponentialCustomHistogramsWarning(name, pos))
		}
		return enh.out
	}
	if !isCounter && (left.CounterResetHint != histogram.GaugeType || right.CounterResetHint != histogram.GaugeType) {
		enh.annos.Add(newNativeHistogramNotGaugeWarning(name, pos))
	}
	result := right.Copy()
	if !subHistogram(result, left, name, pos, enh.annos) {
		return enh.out
	}
	if isCounter {
		// Correct for resets strictly between the boundary samples. When
		// the left interpolation already spanned a reset, the sample after
		// it becomes the reference.
		from := first + 1
		prev := left
		if enh.smoothed && h[first].T < enh.rangeStart && h[first+1].H.DetectReset(h[first].H) {
			prev = h[first+1].H
			from++
		}
		to := last - 1
		var correction *histogram.FloatHistogram
		addCorrection := func(c *histogram.FloatHistogram) bool {
			if correction == nil {
				correction = c.Copy()
				return true
			}
			return addHistogram(correction, c, name, pos, enh.annos)
		}
		if from <= to+1 {
			for _, p := range h[from : to+1] {
				if p.H.DetectReset(prev) && !addCorrection(prev) {
					return enh.out
				}
				prev = p.H
			}
			if right.DetectReset(prev) && !addCorrection(prev) {
				return enh.out
			}
		}
		if correction != nil && !addHistogram(result, correction, name, pos, enh.annos) {
			return enh.out
		}
	}
	if isRate {
		result.Div(float64(enh.rangeMs) / 1000)
	}
	result.CounterResetHint = histogram.GaugeType
	return append(enh.out, Sample{H: result.Compact(0)})
}

func funcIrate(_ []Vector, m Matrix, args parser.Expressions, enh *evalNodeHelper) Vector {
	return instantValue(m, args, enh, true)
}

func funcIdelta(_ []Vector, m Matrix, args parser.Expressions, enh *evalNodeHelper) Vector {
	return instantValue(m, args, enh, false)
}

// instantValue computes irate (isRate) or idelta from the last two samples
// of the window, floats or histograms.
func instantValue(m Matrix, args parser.Expressions, enh *evalNodeHelper, isRate bool) Vector {
	s := m[0]
	if len(s.Floats)+len(s.Histograms) < 2 {
		return enh.out
	}
	type point struct {
		t  int64
		f  float64
		h  *histogram.FloatHistogram
		st int64
	}
	var ps []point
	for i := max(0, len(s.Floats)-2); i < len(s.Floats); i++ {
		p := point{t: s.Floats[i].T, f: s.Floats[i].F}
		if sts := enh.startTimestamps; sts != nil && i < len(sts.Floats) {
			p.st = sts.Floats[i]
		}
		ps = append(ps, p)
	}
	for i := max(0, len(s.Histograms)-2); i < len(s.Histograms); i++ {
		p := point{t: s.Histograms[i].T, h: s.Histograms[i].H}
		if sts := enh.startTimestamps; sts != nil && i < len(sts.Histograms) {
			p.st = sts.Histograms[i]
		}
		ps = append(ps, p)
	}
	// Keep the last two by time.
	sort.SliceStable(ps, func(i, j int) bool { return ps[i].t < ps[j].t })
	prev, cur := ps[len(ps)-2], ps[len(ps)-1]
	interval := cur.t - prev.t
	if interval == 0 {
		return enh.out
	}
	name := metricName(s.Metric)
	pos := args.PositionRange()
	res := Sample{F: cur.f}
	switch {
	case cur.h == nil && prev.h == nil:
		if !isRate || !(cur.f < prev.f || isStartTimestampReset(prev.st, prev.t, cur.st, cur.t)) {
			res.F = cur.f - prev.f
		}
		// After a counter reset the rate starts from zero: res.F stays
		// the current value.
	case cur.h != nil && prev.h != nil:
		res.H = cur.h.Copy()
		if isRate && (cur.h.CounterResetHint == histogram.GaugeType || prev.h.CounterResetHint == histogram.GaugeType) {
			enh.annos.Add(newNativeHistogramNotCounterWarning(name, pos))
		}
		if !isRate && (cur.h.CounterResetHint != histogram.GaugeType || prev.h.CounterResetHint != histogram.GaugeType) {
			enh.annos.Add(newNativeHistogramNotGaugeWarning(name, pos))
		}
		if !isRate || (!isStartTimestampReset(prev.st, prev.t, cur.st, cur.t) && !cur.h.DetectReset(prev.h)) {
			_, _, reconciled, err := res.H.Sub(prev.h)
			if errors.Is(err, histogram.ErrHistogramsIncompatibleSchema) {
				enh.annos.Add(newMixedExponentialCustomHistogramsWarning(name, pos))
				return enh.out
			}
			if reconciled {
				enh.annos.Add(newMismatchedCustomBucketsHistogramsInfo(pos, histogramSub))
			}
		}
		res.H.CounterResetHint = histogram.GaugeType
		res.H.Compact(0)
	default:
		enh.annos.Add(newMixedFloatsHistogramsWarning(name, pos))
		return enh.out
	}
	if isRate {
		secs := float64(interval) / 1000
		if res.H == nil {
			res.F /= secs
		} else {
			res.H.Div(secs)
		}
	}
	return append(enh.out, res)
}

// kahanAdd adds inc to the compensated sum (sum, c), Neumaier's variant of
// Kahan summation, which keeps the rounding error of each addition in c.
func kahanAdd(inc, sum, c float64) (float64, float64) {
	t := sum + inc
	if math.IsInf(t, 0) {
		return t, 0
	}
	return t, kahanCompensate(c, sum, inc, t)
}

// kahanCompensate returns compensation c after t = sum + inc (finite)
// was computed. It is small enough to be inlined where kahanAdd is not.
func kahanCompensate(c, sum, inc, t float64) float64 {
	if math.Abs(sum) >= math.Abs(inc) {
		return c + ((sum - t) + inc)
	}
	return c + ((inc - t) + sum)
}

// floatRate computes what extrapolatedRate computes for a window of floats
// that has no start timestamps and no anchored or smoothed modifier,
// without the detour through a functionCall. It remembers the
// extrapolation of the last window shape (the distances of the first and
// last sample from the range's ends, and the sample count): on regularly
// scraped data consecutive steps see the same shape, and working it out
// takes several divisions. Results are bit-identical to extrapolatedRate's
// because every cached value is computed by the same operations from the
// same integers.
type floatRate struct {
	isCounter, isRate bool
	rangeSec          float64 // the range in seconds, as extrapolatedRate divides by it

	valid                bool
	toStart, toEnd, span int64 // the cached shape, in milliseconds
	intervals            int
	durationToStart      float64 // after the threshold, before the zero clamp
	durationToEnd        float64
	sampledInterval      float64
	startRatio           float64 // durationToStart / sampledInterval
	factor               float64 // for durationToStart unclamped
}

func newFloatRate(isCounter, isRate bool, rangeMs int64) *floatRate {
	return &floatRate{isCounter: isCounter, isRate: isRate, rangeSec: float64(rangeMs) / 1000}
}

// at returns the rate of fs, a window of at least one float, over
// (rangeStart, rangeEnd]; resets is the number of decreases between
// consecutive points. ok is false when there is no result (one point).
func (r *floatRate) at(fs []FPoint, resets int, rangeStart, rangeEnd int64) (v float64, ok bool) {
	intervals := len(fs) - 1
	if intervals < 1 {
		return 0, false
	}
	first, last := fs[0], fs[intervals]
	result := last.F - first.F
	if r.isCounter && resets != 0 {
		// Summed in the same order as extrapolatedRate does.
		for i := 1; i < len(fs); i++ {
			if fs[i].F < fs[i-1].F {
				result += fs[i-1].F
			}
		}
	}
	toStart, toEnd, span := first.T-rangeStart, rangeEnd-last.T, last.T-first.T
	if !r.valid || toStart != r.toStart || toEnd != r.toEnd || span != r.span || intervals != r.intervals {
		r.shape(toStart, toEnd, span, intervals)
	}
	if r.isCounter && result > 0 && first.F >= 0 {
		// A counter is not extrapolated below zero: the start moves to
		// where it would reach zero when that is nearer. Decide without
		// dividing when the zero point is clearly further away than the
		// start (the margin dwarfs the rounding of either computation).
		x := result * r.startRatio
		if !(x > 0x1p-1000 && first.F > x*(1+0x1p-40)) {
			if toZero := r.sampledInterval * (first.F / result); toZero < r.durationToStart {
				return result * r.factorFor(toZero), true
			}
		}
	}
	return result * r.factor, true
}

// shape works out the extrapolation for a window shape.
func (r *floatRate) shape(toStart, toEnd, span int64, intervals int) {
	r.valid = true
	r.toStart, r.toEnd, r.span, r.intervals = toStart, toEnd, span, intervals
	durationToStart := float64(toStart) / 1000
	durationToEnd := float64(toEnd) / 1000
	sampledInterval := float64(span) / 1000
	avgInterval := sampledInterval / float64(intervals)
	threshold := avgInterval * 1.1
	if durationToStart >= threshold {
		durationToStart = avgInterval / 2
	}
	if durationToEnd >= threshold {
		durationToEnd = avgInterval / 2
	}
	r.durationToStart, r.durationToEnd, r.sampledInterval = durationToStart, durationToEnd, sampledInterval
	r.startRatio = math.Inf(1) // Forces the exact zero clamp check.
	if sampledInterval != 0 {
		r.startRatio = durationToStart / sampledInterval
	}
	r.factor = r.factorFor(durationToStart)
}

func (r *floatRate) factorFor(durationToStart float64) float64 {
	factor := 1.0
	if r.sampledInterval != 0 {
		factor = (r.sampledInterval + durationToStart + r.durationToEnd) / r.sampledInterval
	}
	if r.isRate {
		factor /= r.rangeSec
	}
	return factor
}

// extended is extendedRate for a window of floats, found without the
// closures of extendedBounds.
func (r *floatRate) extended(f []FPoint, rangeStart, rangeEnd int64, smoothed bool) (float64, bool) {
	last := len(f) - 1
	first := max(0, firstAfter(f[:last], rangeStart)-1)
	if smoothed {
		last = firstAtOrAfter(f[:last], rangeEnd)
	}
	if f[last].T <= rangeStart || (smoothed && f[first].T > rangeEnd) {
		return 0, false
	}
	left := pickOrInterpolateLeft(f, first, rangeStart, smoothed, r.isCounter)
	right := pickOrInterpolateRight(f, last, rangeEnd, smoothed, r.isCounter)
	result := right - left
	if r.isCounter {
		if f[first].T <= rangeStart {
			first++
		}
		if f[last].T >= rangeEnd {
			last--
		}
		prev := left
		for _, p := range f[first : last+1] {
			if p.F < prev {
				result += prev
			}
			prev = p.F
		}
		if right < prev {
			result += prev
		}
	}
	if r.isRate {
		result /= r.rangeSec
	}
	return result, true
}

// firstAfter returns the index of the first point after t, or len(f).
func firstAfter(f []FPoint, t int64) int {
	lo, hi := 0, len(f)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if f[m].T > t {
			hi = m
		} else {
			lo = m + 1
		}
	}
	return lo
}

// firstAtOrAfter returns the index of the first point at or after t, or
// len(f).
func firstAtOrAfter(f []FPoint, t int64) int {
	lo, hi := 0, len(f)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if f[m].T >= t {
			hi = m
		} else {
			lo = m + 1
		}
	}
	return lo
}
