package promql

import (
	"context"
	"math"
	"slices"
	"strconv"
	"sync"
	"unsafe"

	"github.com/vigil-monitoring/vigil/internal/model/labels"
	"github.com/vigil-monitoring/vigil/internal/promql/parser"
)

// Aggregations of floats over many steps are computed group by group and,
// within a group, series by series: each member series is walked once
// and its points are folded into per-step accumulators, instead of
// visiting every series and every group at every step. The values are the
// ones the step-by-step aggregation computes, bit for bit: at each step a
// group's values are folded in the same order (that of the input series),
// with the same arithmetic. Histograms, the k-aggregations and quantile
// keep the step-by-step evaluation, and so does any input whose shape the
// accounting below does not cover. count_values has a path of its own at
// the end of this file.

// aggSteps holds an accumulator per step for the group being aggregated.
type aggSteps struct {
	value, kahanC, count, mean []float64
	seen, incremental          []bool
}

var aggStepsPool = sync.Pool{New: func() any { return new(aggSteps) }}

func (a *aggSteps) reset(n int) {
	grow := func(s []float64) []float64 {
		if cap(s) < n {
			return make([]float64, n)
		}
		return s[:n]
	}
	a.value, a.kahanC, a.count, a.mean = grow(a.value), grow(a.kahanC), grow(a.count), grow(a.mean)
	if cap(a.seen) < n {
		a.seen, a.incremental = make([]bool, n), make([]bool, n)
	}
	a.seen, a.incremental = a.seen[:n], a.incremental[:n]
}

// seriesAggregation computes a float aggregation group by group; ok is
// false when the aggregation is left to the step-by-step evaluation. It
// does not modify the input.
func (ev *evaluator) seriesAggregation(ctx context.Context, e *parser.AggregateExpr, grouping []string, input Matrix) (Matrix, bool) {
	switch e.Op {
	case parser.SUM, parser.AVG, parser.COUNT, parser.GROUP, parser.MIN, parser.MAX, parser.STDVAR, parser.STDDEV:
	default:
		return nil, false
	}
	if !seriesMajor || ev.startTimestamp == ev.endTimestamp || len(input) == 0 {
		return nil, false
	}
	// The output series takes the dropName of its group's last step, which
	// is that of every input when they all agree.
	dropName := input[0].DropName
	for _, s := range input {
		if len(s.Histograms) > 0 || s.DropName != dropName {
			return nil, false
		}
	}
	if _, ok := ev.gatherCounts(input); !ok {
		return nil, false
	}
	numSteps := ev.numSteps()

	// Groups are numbered in order of first appearance, as the output is
	// ordered; members lists each group's series in input order.
	lb := labels.NewBuilder(labels.EmptyLabels())
	var buf []byte
	groupIndex := map[string]int{}
	seriesGroup := make([]int32, len(input))
	var result Matrix
	for i, s := range input {
		var key string
		key, buf = groupingKey(s.Metric, grouping, e.Without, buf)
		idx, ok := groupIndex[key]
		if !ok {
			idx = len(groupIndex)
			groupIndex[key] = idx
			result = append(result, Series{Metric: groupingLabels(lb, s.Metric, grouping, e.Without), DropName: dropName})
		}
		seriesGroup[i] = int32(idx)
	}
	starts := make([]int32, len(result)+1)
	for _, g := range seriesGroup {
		starts[g+1]++
	}
	for g := 1; g < len(starts); g++ {
		starts[g] += starts[g-1]
	}
	members := make([]int32, len(input))
	next := append([]int32(nil), starts[:len(result)]...)
	for i, g := range seriesGroup {
		members[next[g]] = int32(i)
		next[g]++
	}

	// The step-by-step evaluation fails at the first step whose output
	// takes the samples in memory over the limit; with at most a sample
	// per group and step, that needs counting only when it could happen.
	var perStep []int32
	if ev.st.currentSamples+len(result) > ev.st.maxSamples {
		perStep = make([]int32, numSteps)
	}

	acc := aggStepsPool.Get().(*aggSteps)
	defer aggStepsPool.Put(acc)
	acc.reset(numSteps)
	for g := range result {
		ev.checkContext(ctx)
		clear(acc.seen)
		for _, si := range members[starts[g]:starts[g+1]] {
			ev.foldSeries(e.Op, input[si].Floats, numSteps, acc)
		}
		s := &result[g]
		for k, seen := range acc.seen {
			if !seen {
				continue
			}
			if s.Floats == nil {
				s.Floats = getFPoints(numSteps)
			}
			s.Floats = append(s.Floats, FPoint{T: ev.startTimestamp + int64(k)*ev.interval, F: acc.final(e.Op, k)})
			if perStep != nil {
				perStep[k]++
			}
		}
	}
	for _, n := range perStep {
		if ev.st.currentSamples+int(n) > ev.st.maxSamples {
			ev.error(ErrTooManySamples(env))
		}
	}
	out := result[:0]
	for _, s := range result {
		if len(s.Floats) > 0 {
			out = append(out, s)
		}
	}
	return out, true
}

// foldSeries folds the points of one member series into the accumulators
// of its group, as aggregation does at each step.
func (ev *evaluator) foldSeries(op parser.ItemType, fs []FPoint, numSteps int, a *aggSteps) {
	dense := len(fs) == numSteps
	step := func(i int) int {
		if dense {
			return i
		}
		return ev.stepOf(fs[i].T)
	}
	switch op {
	case parser.SUM:
		for i := range fs {
			k, f := step(i), fs[i].F
			if !a.seen[k] {
				a.seen[k], a.value[k], a.kahanC[k] = true, f, 0
				continue
			}
			// kahanAdd, written out: it is too large to be inlined, and
			// the call was a good part of this loop.
			sum := a.value[k]
			t, c := sum+f, 0.0
			if !math.IsInf(t, 0) {
				c = kahanCompensate(a.kahanC[k], sum, f, t)
			}
			a.value[k], a.kahanC[k] = t, c
		}
	case parser.AVG:
		for i := range fs {
			k, f := step(i), fs[i].F
			if !a.seen[k] {
				a.seen[k], a.value[k], a.mean[k], a.count[k], a.kahanC[k], a.incremental[k] = true, f, f, 1, 0, false
				continue
			}
			a.count[k]++
			if !a.incremental[k] {
				// addToMean while the sum is finite, written out as
				// for SUM; the rest goes through addToMean.
				sum := a.value[k]
				if t := sum + f; !math.IsInf(t, 0) {
					a.value[k], a.kahanC[k] = t, kahanCompensate(a.kahanC[k], sum, f, t)
					continue
				}
			}
			a.value[k], a.mean[k], a.kahanC[k], a.incremental[k] = addToMean(f, a.value[k], a.mean[k], a.kahanC[k], a.count[k], a.incremental[k])
		}
	case parser.COUNT:
		for i := range fs {
			k := step(i)
			if !a.seen[k] {
				a.seen[k], a.count[k] = true, 1
				continue
			}
			a.count[k]++
		}
	case parser.GROUP:
		for i := range fs {
			a.seen[step(i)] = true
		}
	case parser.MAX:
		for i := range fs {
			k, f := step(i), fs[i].F
			if !a.seen[k] {
				a.seen[k], a.value[k] = true, f
				continue
			}
			if a.value[k] < f || math.IsNaN(a.value[k]) {
				a.value[k] = f
			}
		}
	case parser.MIN:
		for i := range fs {
			k, f := step(i), fs[i].F
			if !a.seen[k] {
				a.seen[k], a.value[k] = true, f
				continue
			}
			if a.value[k] > f || math.IsNaN(a.value[k]) {
				a.value[k] = f
			}
		}
	case parser.STDVAR, parser.STDDEV:
		for i := range fs {
			k, f := step(i), fs[i].F
			if !a.seen[k] {
				a.seen[k], a.count[k], a.mean[k], a.value[k] = true, 1, f, 0
				if math.IsNaN(f) || math.IsInf(f, 0) {
					a.value[k] = math.NaN()
				}
				continue
			}
			a.count[k]++
			delta := f - a.mean[k]
			a.mean[k] += delta / a.count[k]
			a.value[k] += delta * (f - a.mean[k])
		}
	}
}

// final returns the aggregated value at step k, as aggregation computes it
// at the end of a step.
func (a *aggSteps) final(op parser.ItemType, k int) float64 {
	switch op {
	case parser.SUM:
		return a.value[k] + a.kahanC[k]
	case parser.AVG:
		if a.incremental[k] {
			return a.mean[k] + a.kahanC[k]
		}
		return a.value[k]/a.count[k] + a.kahanC[k]/a.count[k]
	case parser.COUNT:
		return a.count[k]
	case parser.GROUP:
		return 1
	case parser.STDVAR:
		return a.value[k] / a.count[k]
	case parser.STDDEV:
		return math.Sqrt(a.value[k] / a.count[k])
	}
	return a.value[k]
}

// countValuesOverSteps evaluates count_values over many steps with the
// input's series known: each series' group is worked out once, and a value
// is matched to its output series by its bits rather than by formatting
// it at every step. The result is rangeEval's with countValues.step: the
// same series, in the same order, with the same accounting. ok is false
// for histograms and input off the steps, which are left to rangeEval.
func (ev *evaluator) countValuesOverSteps(ctx context.Context, cv *countValues, input Matrix, original int) (Matrix, bool) {
	if !seriesMajor || ev.startTimestamp == ev.endTimestamp {
		return nil, false
	}
	for _, s := range input {
		if len(s.Histograms) > 0 {
			return nil, false
		}
	}
	gathered, ok := ev.gatherCounts(input)
	if !ok {
		return nil, false
	}
	base := ev.st.currentSamples
	numSteps := ev.numSteps()

	groupOf := make([]int32, len(input))
	groups := map[string]int32{}
	var buf []byte
	for i, s := range input {
		var key string
		if cv.e.Without || len(cv.keyGrouping) > 0 {
			key, buf = groupingKey(s.Metric, cv.keyGrouping, cv.e.Without, buf)
		}
		g, ok := groups[key]
		if !ok {
			g = int32(len(groups))
			groups[key] = g
		}
		groupOf[i] = g
	}

	// An output series is a group and a value. Values are told apart by
	// their bits, which is how their formatting tells them apart too,
	// except NaN, which always formats the same.
	type outKey struct {
		group uint64 // not int32: a key without padding hashes as one block
		bits  uint64
	}
	outputs := map[outKey]int32{}
	// With one group (no grouping labels, the usual case) the value bits
	// alone are the key: a map of them takes a third less memory, and
	// the map was the largest allocation left.
	var byBits map[uint64]int32
	if len(groups) == 1 {
		byBits = map[uint64]int32{}
	}
	// Without grouping labels, an output has the value label only, which
	// needs no builder (the value is never empty).
	onlyValue := !cv.e.Without && len(cv.grouping) == 1 && cv.grouping[0] == cv.valueLabel
	var vbuf []byte // a formatted value, for onlyValue
	// The points are collected as (output, count) events, step by step,
	// and laid out once the number of points of every output is known:
	// the outputs come and go with the values, and growing a matrix and a
	// point slice for each of them was most of what count_values allocated.
	var (
		metrics []labels.Labels // per output
		npts    []int32         // per output, its points
		counts  []int32         // per output, at the current step
		touched []int32         // the outputs of the current step, in order
		events  []int32         // output, count: perStep[k] pairs for step k
	)
	pos := make([]int32, len(input))
	out := &stepCounts{start: ev.startTimestamp, interval: ev.interval, numSteps: numSteps, perStep: make([]int32, numSteps)}
	for k, ts := 0, ev.startTimestamp; ts <= ev.endTimestamp; k, ts = k+1, ts+ev.interval {
		ev.checkContext(ctx)
		touched = touched[:0]
		for i := range input {
			fs, p := input[i].Floats, pos[i]
			if int(p) >= len(fs) || fs[p].T != ts {
				continue
			}
			pos[i] = p + 1
			f := fs[p].F
			key := outKey{group: uint64(groupOf[i])}
			if cv.includeValue {
				key.bits = math.Float64bits(f)
				if math.IsNaN(f) {
					key.bits = math.Float64bits(math.NaN())
				}
			}
			var o int32
			var ok bool
			if byBits != nil {
				o, ok = byBits[key.bits]
			} else {
				o, ok = outputs[key]
			}
			if !ok {
				o = int32(len(metrics))
				if byBits != nil {
					byBits[key.bits] = o
				} else {
					outputs[key] = o
				}
				var metric labels.Labels
				if onlyValue {
					// The value is formatted into buf and only copied
					// into the label set's own data.
					vbuf = strconv.AppendFloat(vbuf[:0], f, 'f', -1, 64)
					metric = labels.FromStrings(cv.valueLabel, unsafe.String(unsafe.SliceData(vbuf), len(vbuf)))
				} else {
					value := strconv.FormatFloat(f, 'f', -1, 64)
					lb := cv.lb
					lb.Reset(input[i].Metric)
					lb.Set(cv.valueLabel, value)
					if cv.e.Without {
						lb.Del(cv.grouping...)
						lb.Del(labels.MetricName)
					} else {
						lb.Keep(cv.grouping...)
					}
					metric = lb.Labels()
				}
				metrics = append(growDoubling(metrics), metric)
				counts = append(growDoubling(counts), 0)
				npts = append(growDoubling(npts), 0)
			}
			if counts[o] == 0 {
				touched = append(touched, o)
			}
			counts[o]++
		}
		for _, o := range touched {
			if cap(events)-len(events) < 2 {
				events = slices.Grow(events, max(cap(events), 4)) // as growDoubling
			}
			events = append(events, o, counts[o])
			npts[o]++
			counts[o] = 0
		}
		out.perStep[k] = int32(len(touched))
	}
	res := make(Matrix, len(metrics))
	// Outputs with few points share one array, each capped to its own
	// part; the others get slices that may be recycled (see putFPoints).
	small := 0
	for _, n := range npts {
		if n < minPooledPoints {
			small += int(n)
		}
	}
	shared := make([]FPoint, small)
	for o, n := range npts {
		res[o].Metric = metrics[o]
		if n < minPooledPoints {
			res[o].Floats = shared[:0:n]
			shared = shared[n:]
		} else {
			res[o].Floats = getFPoints(int(n))
		}
	}
	for k, ts := 0, ev.startTimestamp; k < numSteps; k, ts = k+1, ts+ev.interval {
		n := int(out.perStep[k])
		for j := 0; j < 2*n; j += 2 {
			f := &res[events[j]].Floats
			*f = append(*f, FPoint{T: ts, F: float64(events[j+1])})
		}
		events = events[2*n:]
	}
	ev.account(base, gathered, out)
	recycleMatrix(input)
	for i := range res {
		res[i].Floats = ev.shrinkFloats(res[i].Floats)
	}
	ev.st.currentSamples = original + res.TotalSamples()
	ev.updatePeak()
	return res, true
}
