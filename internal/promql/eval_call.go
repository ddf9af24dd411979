package promql

import (
	"context"
	"slices"
	"strings"

	"github.com/vigil-monitoring/vigil/internal/model/labels"
	"github.com/vigil-monitoring/vigil/internal/promql/parser"
	"github.com/vigil-monitoring/vigil/internal/storage"
)

// functionCall is the implementation of a PromQL function. vals holds the
// evaluated arguments at the current step (a scalar as a one-sample
// vector, nothing for strings and for the range argument); for functions
// of a range vector, m holds the one series being processed with its
// points in the current window. The result is the output vector, built in
// enh.out; range functions only set values, the engine adds the labels.
type functionCall func(vals []Vector, m Matrix, args parser.Expressions, enh *evalNodeHelper) Vector

// anchoredSafeFunctions and smoothedSafeFunctions are the functions whose
// range argument may carry the anchored and smoothed modifiers: those
// modifiers add samples outside the range, which only these functions
// know to handle.
var (
	anchoredSafeFunctions = []string{"changes", "delta", "increase", "rate", "resets"}
	smoothedSafeFunctions = []string{"delta", "increase", "rate"}
)

// rangeArg is the range vector argument of a function: the series it
// reads and how its window is placed relative to the evaluation time.
type rangeArg struct {
	series []storage.Series
	// offset and rng are in milliseconds; offset includes the effect of @.
	offset, rng int64
	// fixed is set when @ pins the window: it is read at the first step
	// and reused for the others.
	fixed              bool
	anchored, smoothed bool
	pos                parser.PositionRange
	// owned is the subquery result the series read from, recycled once
	// the function is done with them.
	owned Matrix
}

func (ev *evaluator) evalCall(ctx context.Context, e *parser.Call) Value {
	name := e.Func.Name
	switch name {
	case "timestamp", "start_timestamp":
		// The timestamps of a selector's samples are lost once it is
		// evaluated (points carry the evaluation time), so these read the
		// selector themselves.
		if vs, ok := unwrapParens(unwrapStepInvariant(unwrapParens(e.Args[0]))).(*parser.VectorSelector); ok {
			return ev.evalTimestampFunction(ctx, vs, e)
		}
	case "label_replace":
		return ev.evalLabelReplace(ctx, e.Args)
	case "label_join":
		return ev.evalLabelJoin(ctx, e.Args)
	case "info":
		return ev.evalInfo(ctx, e.Args)
	}
	if f, ok := elementwiseFunctions[name]; ok && len(e.Args) == 1 {
		return ev.evalElementwise(ctx, e.Args[0], f)
	}
	fn := functions[name]
	if fn == nil {
		ev.errorf("function %q is not implemented", name)
	}
	rangeIdx := -1
	for i, a := range e.Args {
		switch unwrapParens(a).(type) {
		case *parser.MatrixSelector, *parser.SubqueryExpr:
			rangeIdx = i
		}
		if rangeIdx >= 0 {
			break
		}
	}
	if rangeIdx < 0 {
		// Range selectors and subqueries are never wrapped as
		// step-invariant (see markStepInvariant), so a function of a range
		// vector always finds its argument above; should one not, it
		// returns nothing rather than misread the argument.
		takesRange := slices.Contains(e.Func.ArgTypes, parser.ValueTypeMatrix)
		return ev.rangeEval(ctx, nil, func(v []Vector, _ [][]int, enh *evalNodeHelper) Vector {
			if takesRange {
				return enh.out
			}
			return fn(v, nil, e.Args, enh)
		}, e.Args...)
	}
	return ev.evalRangeFunction(ctx, e, rangeIdx, fn)
}

// rangeArgument evaluates or selects the range vector argument.
func (ev *evaluator) rangeArgument(ctx context.Context, e parser.Expr) rangeArg {
	switch a := unwrapParens(e).(type) {
	case *parser.MatrixSelector:
		vs := a.VectorSelector.(*parser.VectorSelector)
		return rangeArg{
			series:   ev.expand(ctx, vs),
			offset:   vs.Offset.Milliseconds(),
			rng:      a.Range.Milliseconds(),
			fixed:    vs.Timestamp != nil,
			anchored: vs.Anchored,
			smoothed: vs.Smoothed,
			pos:      a.PositionRange(),
		}
	case *parser.SubqueryExpr:
		samplesStats := ev.samplesStats
		// The subquery's samples are counted when the function reads them.
		ev.samplesStats = ev.samplesStats.child()
		inner := ev
		if a.Timestamp != nil && ev.startTimestamp != ev.endTimestamp {
			// @ pins the window: only the first step's is read (see
			// evalRangeFunction), so the subquery is evaluated for that
			// step alone rather than for every outer step.
			inner = &evaluator{st: ev.st, startTimestamp: ev.startTimestamp, endTimestamp: ev.startTimestamp, interval: ev.interval, samplesStats: ev.samplesStats}
		}
		mat := inner.eval(ctx, a).(Matrix)
		samplesStats.mergeChildPeak(ev.samplesStats)
		ev.samplesStats = samplesStats
		if ev.st.delayedNameRemoval {
			// A name dropped inside the subquery stays dropped, even for
			// functions that keep names.
			for i := range mat {
				if mat[i].DropName {
					mat[i].Metric = dropMetadataLabels(mat[i].Metric)
					mat[i].DropName = false
				}
			}
			mat = ev.mergeSeriesWithSameLabelset(mat)
		}
		offset := a.Offset.Milliseconds()
		if a.Timestamp != nil {
			offset = a.OriginalOffset.Milliseconds() + ev.startTimestamp - *a.Timestamp
		}
		return rangeArg{
			series: seriesFromMatrix(mat),
			offset: offset,
			rng:    a.Range.Milliseconds(),
			fixed:  a.Timestamp != nil,
			pos:    a.PositionRange(),
			owned:  mat,
		}
	}
	ev.errorf("unexpected range argument %T", e)
	return rangeArg{}
}

// evalRangeFunction evaluates a function of a range vector: for every
// series of the argument and every step it moves the series' window and
// calls the function on it.
func (ev *evaluator) evalRangeFunction(ctx context.Context, e *parser.Call, rangeIdx int, fn functionCall) Value {
	name := e.Func.Name
	ra := ev.rangeArgument(ctx, e.Args[rangeIdx])
	switch {
	case ra.anchored && !slices.Contains(anchoredSafeFunctions, name):
		ev.errorf("anchored modifier can only be used with: %s - not with %s", strings.Join(anchoredSafeFunctions, ", "), name)
	case ra.smoothed && !slices.Contains(smoothedSafeFunctions, name):
		ev.errorf("smoothed modifier can only be used with: %s - not with %s", strings.Join(smoothedSafeFunctions, ", "), name)
	}

	// The other arguments are scalars, with a value at every step.
	// scalars[i] holds the value of argument i at the step, handed to the
	// function as a one-sample vector.
	var (
		others  []Matrix
		vals    []Vector
		scalars []Sample
	)
	if len(e.Args) > 1 {
		others = make([]Matrix, len(e.Args))
		for i, a := range e.Args {
			if i != rangeIdx && a.Type() != parser.ValueTypeString {
				others[i] = ev.eval(ctx, a).(Matrix)
			}
		}
		vals = make([]Vector, 0, len(e.Args)-1)
		scalars = make([]Sample, len(e.Args))
	}
	// The helper and the one-series matrix handed to fn are made on
	// first use: rate and friends over floats never call fn, and the
	// helper was a tenth of what such a query allocated.
	var (
		enh      *evalNodeHelper
		inMatrix Matrix
	)
	defer func() {
		if enh != nil {
			putHelper(enh)
		}
	}()
	newHelper := func() {
		enh = ev.newHelper()
		enh.out = make(Vector, 0, 1)
		enh.rangeMs = ra.rng
		enh.anchored, enh.smoothed = ra.anchored, ra.smoothed
		inMatrix = make(Matrix, 1)
	}
	// last_over_time and first_over_time pick a sample like offset does,
	// so they keep the metric name; every other function drops it.
	dropName := name != "last_over_time" && name != "first_over_time"
	numSteps := ev.numSteps()
	// rate, increase and delta of plain floats skip the functionCall; see
	// floatRate. Start timestamps only matter to them without the anchored
	// and smoothed modifiers.
	var fr *floatRate
	switch name {
	case "rate":
		fr = newFloatRate(true, true, ra.rng)
	case "increase":
		fr = newFloatRate(true, false, ra.rng)
	case "delta":
		fr = newFloatRate(false, false, ra.rng)
	}
	var holt *holtBatch
	if name == "double_exponential_smoothing" {
		holt = holtBatches.Get().(*holtBatch)
		defer holt.release()
	}
	mat := getMatrix(len(ra.series))
	// At a single step, the series' one points share an array, each
	// capped to its own (as in evalSeries).
	var single []FPoint
	if numSteps == 1 {
		single = make([]FPoint, 0, len(ra.series))
	}
	w := getWindow()
	defer putWindow(w)
	var (
		it             = getIterator()
		lastNonCounter string // the last metric name annotated as not a counter
	)
	defer func() { putIterator(it) }()
	for _, s := range ra.series {
		ev.checkContext(ctx)
		it = s.Iterator(it)
		w.reset(it)
		metric := s.Labels()
		out := Series{Metric: metric, DropName: dropName}
		if !ev.st.delayedNameRemoval && dropName {
			out.Metric = dropMetadataLabels(metric)
		}
		step := -1
		for ts := ev.startTimestamp; ts <= ev.endTimestamp; ts += ev.interval {
			step++
			vals = vals[:0]
			for i := range e.Args {
				if i != rangeIdx && others[i] != nil {
					scalars[i].F = others[i][0].Floats[step].F
					vals = append(vals, scalars[i:i+1:i+1])
				}
			}
			if ts == ev.startTimestamp || !ra.fixed {
				mint, maxt := ev.rangeBounds(ts, ra.offset, ra.rng, ra.anchored, ra.smoothed)
				dropped, added := w.advance(mint, maxt)
				ev.st.currentSamples -= dropped
				ev.addSamples(added)
				if err := w.it.Err(); err != nil {
					ev.error(ErrStorage{Err: err})
				}
			}
			if len(w.floats)+len(w.hists) == 0 {
				continue
			}
			if holt != nil {
				if enh == nil {
					newHelper()
				}
				inMatrix[0].Metric = metric
				inMatrix[0].Floats, inMatrix[0].Histograms = w.floats, w.hists
				holt.step(ts, vals, inMatrix[0], e.Args, enh, &out, numSteps)
				ev.samplesStats.addAtStep(step, int64(w.size()))
				continue
			}
			if fr != nil && len(w.hists) == 0 && (!w.withST || ra.anchored || ra.smoothed) {
				rangeEnd := ts - ra.offset
				var v float64
				var ok bool
				if ra.anchored || ra.smoothed {
					v, ok = fr.extended(w.floats, rangeEnd-ra.rng, rangeEnd, ra.smoothed)
				} else {
					v, ok = fr.at(w.floats, w.pairCounts().resets, rangeEnd-ra.rng, rangeEnd)
				}
				ev.samplesStats.addAtStep(step, int64(len(w.floats)))
				if ok {
					if out.Floats == nil {
						out.Floats = ev.rangeOutput(&single, numSteps)
					}
					out.Floats = append(out.Floats, FPoint{T: ts, F: v})
				}
				continue
			}
			if enh == nil {
				newHelper()
			}
			inMatrix[0].Metric = metric
			inMatrix[0].Floats, inMatrix[0].Histograms = w.floats, w.hists
			enh.ts = ts
			enh.rangeEnd = ts - ra.offset
			enh.rangeStart = enh.rangeEnd - ra.rng
			enh.startTimestamps = w.startTimestamps()
			enh.pairsKnown = len(w.hists) == 0 && len(w.floats) > 0
			if enh.pairsKnown {
				enh.pairs = w.pairCounts()
			}
			res := fn(vals, inMatrix, e.Args, enh)
			ev.samplesStats.addAtStep(step, int64(w.size()))
			enh.out = res[:0]
			if len(res) == 0 {
				continue
			}
			if res[0].H == nil {
				if out.Floats == nil {
					out.Floats = ev.rangeOutput(&single, numSteps)
				}
				out.Floats = append(out.Floats, FPoint{T: ts, F: res[0].F})
			} else {
				out.Histograms = append(out.Histograms, HPoint{T: ts, H: res[0].H})
			}
		}
		if holt != nil {
			holt.flush(&out, numSteps)
		}
		ev.st.currentSamples -= w.size()
		out.Floats = ev.shrinkFloats(out.Floats)
		if n := len(out.Floats) + histogramPointsSize(out.Histograms); n > 0 {
			ev.addSamples(n)
			mat = append(mat, out)
		}
		ev.updatePeak()
		if (name == "rate" || name == "increase") && len(out.Floats) > 0 {
			// Series of one metric share its name: annotate each name once.
			if mn := metric.Get(labels.MetricName); mn != "" && mn != lastNonCounter && !hasCounterSuffix(mn) {
				ev.st.annos.Add(newPossibleNonCounterInfo(mn, e.Args[0].PositionRange()))
				lastNonCounter = mn
			}
		}
	}

	for _, m := range others {
		recycleMatrix(m)
	}
	recycleMatrix(ra.owned)
	if name == "absent_over_time" {
		return ev.absentOverTime(mat, e.Args[0])
	}
	if !ev.st.delayedNameRemoval && mat.ContainsSameLabelset() {
		ev.errorf("vector cannot contain metrics with the same labelset")
	}
	return mat
}

// rangeOutput returns the empty slice a series' points of a range function
// go to: at a single step the next element of *single, capped to itself,
// so that all series share one array.
func (ev *evaluator) rangeOutput(single *[]FPoint, numSteps int) []FPoint {
	if s := *single; s != nil && len(s) < cap(s) {
		*single = s[:len(s)+1]
		return s[len(s) : len(s) : len(s)+1]
	}
	return getFPoints(numSteps)
}

func hasCounterSuffix(name string) bool {
	for _, s := range []string{"_total", "_sum", "_count", "_bucket"} {
		if strings.HasSuffix(name, s) {
			return true
		}
	}
	return false
}

// absentOverTime turns the per-series results of absent_over_time (a point
// wherever a series had samples) into one series that has the value 1 at
// the steps where no series had any.
func (ev *evaluator) absentOverTime(mat Matrix, arg parser.Expr) Matrix {
	steps := ev.numSteps()
	// Only the steps the series cover matter; their points are not kept.
	defer func() {
		for _, s := range mat {
			putFPoints(s.Floats)
		}
	}()
	// Every point is at a step of this evaluator.
	found := make([]bool, steps)
	nFound := 0
	mark := func(t int64) {
		if i := (t - ev.startTimestamp) / ev.interval; !found[i] {
			found[i] = true
			nFound++
		}
	}
	for _, s := range mat {
		if len(s.Floats)+len(s.Histograms) == steps {
			return Matrix{}
		}
		for _, p := range s.Floats {
			mark(p.T)
		}
		for _, p := range s.Histograms {
			mark(p.T)
		}
	}
	if nFound == steps {
		return Matrix{}
	}
	pts := make([]FPoint, 0, steps-nFound)
	for i, ts := 0, ev.startTimestamp; ts <= ev.endTimestamp; i, ts = i+1, ts+ev.interval {
		if !found[i] {
			pts = append(pts, FPoint{T: ts, F: 1})
		}
	}
	return Matrix{{Metric: absentLabels(arg), Floats: pts, DropName: true}}
}

// evalTimestampFunction evaluates timestamp() or start_timestamp() of a
// selector, which report the times of the samples themselves. It walks one
// series at a time through all steps, as evalSeries does, so one iterator
// serves every series.
func (ev *evaluator) evalTimestampFunction(ctx context.Context, vs *parser.VectorSelector, e *parser.Call) Value {
	series := ev.expand(ctx, vs)
	start := e.Func.Name == "start_timestamp"
	original := ev.st.currentSamples
	numSteps := ev.numSteps()
	mat := make(Matrix, 0, len(series))
	var single []FPoint // as in evalSeries
	if numSteps == 1 {
		single = make([]FPoint, len(series))
	}
	var c cursor
	it := getIterator()
	defer func() { putIterator(it) }()
	for i, s := range series {
		ev.checkContext(ctx)
		if single != nil && !start {
			// As in evalSeries: one step needs only the newest sample,
			// which some series know without reading their samples.
			offset := vs.Offset.Milliseconds()
			if vs.Timestamp != nil {
				offset = vs.OriginalOffset.Milliseconds() + ev.startTimestamp - *vs.Timestamp
			}
			if t, _, ok, handled := latestSample(s, ev.startTimestamp-offset, ev.st.lookback); handled {
				if ok {
					ev.addSamples(1)
					ev.samplesStats.addAtTimestamp(ev.startTimestamp, 1)
					single[i] = FPoint{T: ev.startTimestamp, F: float64(t) / 1000}
					mat = append(mat, Series{Metric: ev.timestampMetric(s.Labels()), Floats: single[i : i+1 : i+1], DropName: true})
				}
				continue
			}
		}
		it = s.Iterator(it)
		c.reset(it)
		var pts []FPoint
		for ts := ev.startTimestamp; ts <= ev.endTimestamp; ts += ev.interval {
			offset := vs.Offset.Milliseconds()
			if vs.Timestamp != nil {
				// Every step reads the sample at the @ time.
				offset = vs.OriginalOffset.Milliseconds() + ts - *vs.Timestamp
			}
			t, _, _, ok := c.at(ts-offset, ev.st.lookback)
			if !ok {
				continue
			}
			ev.addSamples(1)
			ev.samplesStats.addAtTimestamp(ts, 1)
			v := float64(t) / 1000
			if start {
				if c.sti == nil {
					continue
				}
				v = float64(c.prevST) / 1000
			}
			if pts == nil {
				if single != nil {
					pts = single[i : i : i+1]
				} else {
					pts = getFPoints(numSteps)
				}
			}
			pts = append(pts, FPoint{T: ts, F: v})
		}
		if err := c.err(); err != nil {
			ev.error(ErrStorage{Err: err})
		}
		if len(pts) == 0 {
			continue
		}
		mat = append(mat, Series{Metric: ev.timestampMetric(s.Labels()), Floats: ev.shrinkFloats(pts), DropName: true})
	}
	if !ev.st.delayedNameRemoval {
		// Series that differ only in the name collide, at one step as
		// an error and at different steps as one series.
		mat = ev.mergeSeriesWithSameLabelset(mat)
	}
	ev.st.currentSamples = original + mat.TotalSamples()
	ev.updatePeak()
	return mat
}

// timestampMetric is the labels of timestamp()'s result for a series:
// without the name unless its removal is delayed.
func (ev *evaluator) timestampMetric(ls labels.Labels) labels.Labels {
	if ev.st.delayedNameRemoval {
		return ls
	}
	return dropMetadataLabels(ls)
}
