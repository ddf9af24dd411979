package promql

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"slices"

	"github.com/vigil-monitoring/vigil/internal/model/histogram"
	"github.com/vigil-monitoring/vigil/internal/model/labels"
	"github.com/vigil-monitoring/vigil/internal/promql/parser"
	"github.com/vigil-monitoring/vigil/internal/storage"
)

// evalState is what all evaluators of one query share: the querier and
// selected series, the sample accounting and the annotations.
type evalState struct {
	querier    storage.Querier
	selections map[*parser.VectorSelector]*selection
	// currentSamples is the number of samples held in memory right now;
	// the query fails when it exceeds maxSamples.
	currentSamples     int
	maxSamples         int
	lookback           int64
	subqueryInterval   func(int64) int64
	delayedNameRemoval bool
	// recycleResults is set when Query.Close takes the result's points
	// back (EngineOpts.RecycleResults).
	recycleResults bool
	logger         *slog.Logger
	annos          Annotations
}

// evaluator evaluates expressions at the steps from startTimestamp to
// endTimestamp (milliseconds, inclusive) every interval milliseconds.
// Subqueries and step-invariant expressions get evaluators of their own
// that share the evalState.
type evaluator struct {
	st                           *evalState
	startTimestamp, endTimestamp int64
	interval                     int64
	samplesStats                 *QuerySamples
}

// evalError carries an error out of the recursive evaluation by panicking;
// run recovers it. Threading errors through every helper would double the
// size of the code without making it clearer.
type evalError struct{ err error }

func (ev *evaluator) error(err error) { panic(evalError{err}) }

func (ev *evaluator) errorf(format string, args ...any) { ev.error(fmt.Errorf(format, args...)) }

// run evaluates expr and applies the delayed removal of metric names.
func (ev *evaluator) run(ctx context.Context, expr parser.Expr) (v Value, err error) {
	defer func() {
		r := recover()
		if r == nil {
			return
		}
		switch e := r.(type) {
		case evalError:
			err = e.err
		case runtime.Error:
			buf := make([]byte, 64<<10)
			buf = buf[:runtime.Stack(buf, false)]
			ev.st.logger.Error("runtime panic during query evaluation", "expr", expr.String(), "err", e, "stacktrace", string(buf))
			err = fmt.Errorf("unexpected error: %w", e)
		case error:
			err = e
		default:
			err = fmt.Errorf("%v", e)
		}
	}()
	v = ev.eval(ctx, expr)
	if ev.st.delayedNameRemoval {
		v = ev.cleanupMetricLabels(v)
	}
	return v, nil
}

func (ev *evaluator) numSteps() int {
	return int((ev.endTimestamp-ev.startTimestamp)/ev.interval) + 1
}

// addSamples accounts for n more samples in memory and fails the query
// when the limit is exceeded.
func (ev *evaluator) addSamples(n int) {
	ev.st.currentSamples += n
	if ev.st.currentSamples > ev.st.maxSamples {
		ev.error(ErrTooManySamples(env))
	}
}

func (ev *evaluator) updatePeak() { ev.samplesStats.updatePeak(ev.st.currentSamples) }

func (ev *evaluator) checkContext(ctx context.Context) {
	if err := contextDone(ctx, "expression evaluation"); err != nil {
		ev.error(err)
	}
}

// sub returns an evaluator for the same query with other steps.
func (ev *evaluator) sub(start, end, interval int64) *evaluator {
	return &evaluator{st: ev.st, startTimestamp: start, endTimestamp: end, interval: interval, samplesStats: ev.samplesStats.child()}
}

// eval evaluates expr at every step. The result is a Matrix (with one
// series without labels for a scalar) or a String.
func (ev *evaluator) eval(ctx context.Context, expr parser.Expr) Value {
	ev.checkContext(ctx)
	if ev.endTimestamp < ev.startTimestamp {
		return Matrix{}
	}
	switch e := expr.(type) {
	case *parser.AggregateExpr:
		return ev.evalAggregation(ctx, e)
	case *parser.Call:
		return ev.evalCall(ctx, e)
	case *parser.ParenExpr:
		return ev.eval(ctx, e.Expr)
	case *parser.UnaryExpr:
		return ev.evalUnary(ctx, e)
	case *parser.BinaryExpr:
		return ev.evalBinary(ctx, e)
	case *parser.NumberLiteral:
		return ev.constant(e.Val)
	case *parser.StringLiteral:
		return String{V: e.Val, T: ev.startTimestamp}
	case *parser.VectorSelector:
		series := ev.expand(ctx, e)
		if e.Smoothed {
			return ev.smoothSeries(ctx, series, e.Offset.Milliseconds(), e.PositionRange())
		}
		return ev.evalSeries(ctx, series, e.Offset.Milliseconds())
	case *parser.MatrixSelector:
		if ev.startTimestamp != ev.endTimestamp {
			ev.error(errors.New("cannot do range evaluation of matrix selector"))
		}
		return ev.matrixSelector(ctx, e)
	case *parser.SubqueryExpr:
		return ev.evalSubqueryExpr(ctx, e)
	case *parser.StepInvariantExpr:
		return ev.evalStepInvariant(ctx, e)
	case *parser.DurationExpr:
		v, err := e.Eval(0, 0)
		if err != nil {
			ev.error(err)
		}
		return ev.constant(v)
	}
	ev.errorf("unhandled expression of type %T", expr)
	return nil
}

// constant returns a scalar with value v at every step.
func (ev *evaluator) constant(v float64) Matrix {
	n := ev.numSteps()
	pts := getFPoints(n)
	for ts := ev.startTimestamp; ts <= ev.endTimestamp; ts += ev.interval {
		pts = append(pts, FPoint{T: ts, F: v})
	}
	ev.addSamples(len(pts))
	ev.updatePeak()
	return Matrix{{Floats: pts}}
}

func (ev *evaluator) evalUnary(ctx context.Context, e *parser.UnaryExpr) Value {
	mat := ev.eval(ctx, e.Expr).(Matrix)
	if e.Op != parser.SUB {
		return mat
	}
	for i := range mat {
		if !ev.st.delayedNameRemoval {
			mat[i].Metric = dropMetadataLabels(mat[i].Metric)
		}
		mat[i].DropName = true
		for j := range mat[i].Floats {
			mat[i].Floats[j].F = -mat[i].Floats[j].F
		}
		for j := range mat[i].Histograms {
			mat[i].Histograms[j].H = mat[i].Histograms[j].H.Copy().Mul(-1)
		}
	}
	if !ev.st.delayedNameRemoval {
		mat = ev.mergeSeriesWithSameLabelset(mat)
	}
	return mat
}

// evalStepInvariant evaluates an expression whose value is the same at
// every step once, at the first step, and repeats the result.
func (ev *evaluator) evalStepInvariant(ctx context.Context, e *parser.StepInvariantExpr) Value {
	sub := ev.sub(ev.startTimestamp, ev.startTimestamp, ev.interval)
	res := sub.eval(ctx, e.Expr)
	ev.samplesStats.mergeChildPeak(sub.samplesStats)
	for step := 0; step < ev.numSteps(); step++ {
		ev.samplesStats.addAtStep(step, sub.samplesStats.totalOrZero())
	}
	switch unwrapParens(e.Expr).(type) {
	case *parser.MatrixSelector, *parser.SubqueryExpr:
		// Range results carry their own timestamps, which do not depend
		// on the step.
		return res
	}
	mat, ok := res.(Matrix)
	if !ok || ev.startTimestamp == ev.endTimestamp {
		return res
	}
	numSteps := ev.numSteps()
	for i := range mat {
		s := &mat[i]
		if len(s.Floats)+len(s.Histograms) != 1 {
			ev.errorf("unexpected number of samples in step-invariant result")
		}
		if len(s.Floats) > 0 {
			s.Floats = append(getFPoints(numSteps), s.Floats[0])
		}
		for ts := ev.startTimestamp + ev.interval; ts <= ev.endTimestamp; ts += ev.interval {
			if len(s.Floats) > 0 {
				s.Floats = append(s.Floats, FPoint{T: ts, F: s.Floats[0].F})
				ev.addSamples(1)
			} else {
				s.Histograms = append(s.Histograms, HPoint{T: ts, H: s.Histograms[0].H})
				ev.addSamples(histogramSampleSize(s.Histograms[0].H))
			}
		}
	}
	ev.updatePeak()
	return mat
}

func (qs *QuerySamples) totalOrZero() int64 {
	if qs == nil {
		return 0
	}
	return qs.TotalSamples
}

// evalSubqueryExpr evaluates the inner expression of a subquery at the
// subquery's own steps: aligned to multiples of its step, from its range
// before the (offset) evaluation time of the first outer step to the last.
func (ev *evaluator) evalSubqueryExpr(ctx context.Context, e *parser.SubqueryExpr) Value {
	offset := e.Offset.Milliseconds()
	rng := e.Range.Milliseconds()
	step := e.Step.Milliseconds()
	if step == 0 {
		step = ev.st.subqueryInterval(rng)
	}
	if step <= 0 {
		ev.errorf("subquery step must be positive")
	}
	first := ev.startTimestamp - offset - rng
	start := step * (first / step)
	if start <= first {
		start += step
	}
	sub := ev.sub(start, ev.endTimestamp-offset, step)
	if start != ev.startTimestamp {
		// @ is turned into offsets relative to the start; the subquery
		// starts elsewhere.
		setOffsetForAtModifier(start, e.Expr)
	}
	res := sub.eval(ctx, e.Expr)
	ev.samplesStats.mergeChildPeak(sub.samplesStats)
	ev.samplesStats.addAtTimestamp(ev.endTimestamp, sub.samplesStats.totalOrZero())
	return res
}

// dropMetadataLabels removes __name__ and the other metadata labels
// (__type__, __unit__), which lose their meaning when a value is
// transformed.
//
// Without __type__ and __unit__ (the usual case) the result is a slice of
// ls's own encoding (__name__ sorts first), so it allocates nothing and the
// same input always gives a result that compares equal by pointer.
func dropMetadataLabels(ls labels.Labels) labels.Labels {
	if !ls.Has("__type__") && !ls.Has("__unit__") {
		return ls.DropMetricName()
	}
	b := labels.NewBuilder(ls)
	b.Del(labels.MetricName, "__type__", "__unit__")
	return b.Labels()
}

// cleanupMetricLabels applies delayed name removal to a final result.
func (ev *evaluator) cleanupMetricLabels(v Value) Value {
	switch val := v.(type) {
	case Matrix:
		for i := range val {
			if val[i].DropName {
				val[i].Metric = dropMetadataLabels(val[i].Metric)
				val[i].DropName = false
			}
		}
		return ev.mergeSeriesWithSameLabelset(val)
	case Vector:
		for i := range val {
			if val[i].DropName {
				val[i].Metric = dropMetadataLabels(val[i].Metric)
				val[i].DropName = false
			}
		}
		if val.ContainsSameLabelset() {
			ev.errorf("vector cannot contain metrics with the same labelset")
		}
		return val
	}
	return v
}

// mergeSeriesWithSameLabelset joins series that ended up with the same
// labels (after names were dropped) when their points do not overlap; an
// overlap is an error.
func (ev *evaluator) mergeSeriesWithSameLabelset(mat Matrix) Matrix {
	if len(mat) <= 1 || !mat.ContainsSameLabelset() {
		return mat
	}
	index := make(map[labels.Labels]int, len(mat))
	out := mat[:0:0]
	for _, s := range mat {
		i, ok := index[s.Metric]
		if !ok {
			index[s.Metric] = len(out)
			out = append(out, s)
			continue
		}
		base := &out[i]
		var okF, okH bool
		base.Floats, okF = mergePoints(base.Floats, s.Floats, func(p FPoint) int64 { return p.T })
		base.Histograms, okH = mergePoints(base.Histograms, s.Histograms, func(p HPoint) int64 { return p.T })
		// A float and a histogram at the same time collide as much as two
		// floats do.
		if !okF || !okH || floatAndHistogramAtSameTime(base.Floats, base.Histograms) {
			ev.errorf("vector cannot contain metrics with the same labelset")
		}
	}
	return out
}

// floatAndHistogramAtSameTime reports whether time-ordered float and
// histogram points share a timestamp.
func floatAndHistogramAtSameTime(fs []FPoint, hs []HPoint) bool {
	i, j := 0, 0
	for i < len(fs) && j < len(hs) {
		switch {
		case fs[i].T < hs[j].T:
			i++
		case hs[j].T < fs[i].T:
			j++
		default:
			return true
		}
	}
	return false
}

// mergePoints merges two time-ordered point lists; it reports false when
// both have a point at the same time.
func mergePoints[P any](a, b []P, t func(P) int64) ([]P, bool) {
	if len(b) == 0 {
		return a, true
	}
	if len(a) == 0 {
		return b, true
	}
	out := make([]P, 0, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		ta, tb := t(a[i]), t(b[j])
		switch {
		case ta < tb:
			out = append(out, a[i])
			i++
		case tb < ta:
			out = append(out, b[j])
			j++
		default:
			return nil, false
		}
	}
	out = append(out, a[i:]...)
	return append(out, b[j:]...), true
}

// evalNodeHelper holds what a function or operator needs at one step, and
// caches that live across the steps of one node.
type evalNodeHelper struct {
	// ts is the evaluation time of the step.
	ts int64
	// out is a reusable slice for the output vector.
	out Vector

	delayedNameRemoval bool
	// singleStep is set when there is one step only: caches across steps
	// are then of no use.
	singleStep bool
	lb         *labels.Builder
	// annos collects the annotations of the query.
	annos *Annotations

	// For functions of a range vector: the range of the window at this
	// step, (rangeStart, rangeEnd] in milliseconds, its length and
	// modifiers.
	rangeStart, rangeEnd, rangeMs int64
	anchored, smoothed            bool

	// Caches for histogram_quantile and friends.
	bucketsBySignature map[labels.Labels]*metricWithBuckets
	bucketOrder        []*metricWithBuckets // the groups in order of appearance
	splitAt            []bucketSplit        // by position in the input vector
	nativeHistograms   []Sample
	quantileLabels     map[string]map[float64]labels.Labels
	lblBuf             []byte
	lblBuf2            []byte
	floatBuf           []float64 // scratch for functions, reused across steps

	// State of binary operators, emptied and reused at every step: right
	// holds the signatures on the right (rightIdx their index there),
	// matched those met on the left, matchedResults the (signature,
	// result labels) pairs of many-to-one matching, which must be unique.
	// resultMetric and resultAt outlive the steps: the same pair of
	// operands gives the same result labels.
	right, matched sigSet
	rightIdx       []int32
	resultAt       []resultAtEntry
	matchedResults map[sigLabels]struct{}
	resultMetric   map[string]labels.Labels
	numSigs        int
	present        []bool // see presentSigs

	// kHists holds, by input series, the histograms of this step that
	// topk and friends keep (their heaps hold positions).
	kHists []*histogram.FloatHistogram

	// startTimestamps holds the start timestamps of the points of the
	// range function argument at this step, when known.
	startTimestamps *startTimestamps
	// pairs counts the resets and changes between consecutive points of
	// the range function argument at this step when pairsKnown (a window
	// of floats only).
	pairs      pairCount
	pairsKnown bool
}

// sigLabels identifies a result of many-to-one matching.
type sigLabels struct {
	sig    int
	metric labels.Labels
}

func (enh *evalNodeHelper) builder(ls labels.Labels) *labels.Builder {
	if enh.lb == nil {
		enh.lb = labels.NewBuilder(ls)
	} else {
		enh.lb.Reset(ls)
	}
	return enh.lb
}

// startTimestamps are the start (created) timestamps of the floats and
// histograms of a range, in the same order; 0 means unknown.
type startTimestamps struct {
	Floats     []int64
	Histograms []int64
}

// rangeEval evaluates exprs and then calls fn at every step with the
// vectors of their values at that step, collecting the results into a
// matrix. String arguments are not evaluated (fn reads them from the
// expression). With matching, every series gets the ordinal of its
// signature under the matching, which fn receives with the vectors.
func (ev *evaluator) rangeEval(ctx context.Context, matching *parser.VectorMatching, fn func(args []Vector, sigs [][]int, enh *evalNodeHelper) Vector, exprs ...parser.Expr) Matrix {
	originalSamples := ev.st.currentSamples
	mats := make([]Matrix, len(exprs))
	for i, e := range exprs {
		if e != nil && e.Type() != parser.ValueTypeString {
			mats[i] = ev.eval(ctx, e).(Matrix)
		}
	}
	return ev.rangeEvalMatrices(ctx, originalSamples, matching, fn, mats)
}

// rangeEvalMatrices is rangeEval over operands already evaluated (nil for
// a string); originalSamples is the sample count before they were.
func (ev *evaluator) rangeEvalMatrices(ctx context.Context, originalSamples int, matching *parser.VectorMatching, fn func(args []Vector, sigs [][]int, enh *evalNodeHelper) Vector, mats []Matrix) Matrix {
	numSteps := ev.numSteps()
	// The operands' point slices, recycled once every step has read them.
	var consumed [][]FPoint
	if ev.startTimestamp != ev.endTimestamp {
		for _, m := range mats {
			consumed = floatSlices(m, consumed)
		}
	}
	vectors := make([]Vector, len(mats))
	biggest := 1
	for i := range mats {
		vectors[i] = getVector(len(mats[i]))
		biggest = max(biggest, len(mats[i]))
	}
	enh := ev.newHelper()
	enh.out, enh.singleStep = getVector(biggest), ev.startTimestamp == ev.endTimestamp
	// The vectors of the steps are scratch space, recycled when done. A
	// function may hand back one of its arguments as its output (sort
	// does), so that the output and an argument share an array.
	defer func() {
		recycleVectors(append(vectors, enh.out))
		putHelper(enh)
	}()

	var seriesSigs, stepSigs [][]int
	if matching != nil {
		seriesSigs, stepSigs = signatureOrdinals(matching, mats, enh)
	}

	var (
		// result becomes the returned matrix; lastT[i] is the time of the
		// last point of result[i], to catch two outputs with the same
		// labels at one step. An instant evaluation needs none of them.
		result  Matrix
		lastT   []int64
		byLabel map[labels.Labels]int
		temp    = ev.st.currentSamples
		// prevIdx[k] is the result series the k-th output sample went to
		// at the previous step. Outputs mostly come in the same order at
		// every step with the same label sets (often the same memory), so
		// comparing with that series first saves a map lookup per sample.
		prevIdx []int
	)
	for ts := ev.startTimestamp; ts <= ev.endTimestamp; ts += ev.interval {
		ev.checkContext(ctx)
		ev.st.currentSamples = temp
		for i := range mats {
			var sh []int
			if stepSigs != nil {
				sh = stepSigs[i][:0]
			}
			vectors[i], sh = ev.gatherVector(ts, mats[i], vectors[i], sh, seriesSigs, i)
			if stepSigs != nil {
				stepSigs[i] = sh
			}
		}
		enh.ts = ts
		out := fn(vectors, stepSigs, enh)
		enh.out = out[:0]
		n := vectorSamples(out)
		ev.st.currentSamples += n
		temp += n
		ev.updatePeak()
		if ev.st.currentSamples > ev.st.maxSamples {
			ev.error(ErrTooManySamples(env))
		}

		if ev.startTimestamp == ev.endTimestamp {
			// An instant query: keep the order fn produced (sort and
			// friends rely on it).
			if !ev.st.delayedNameRemoval && out.ContainsSameLabelset() {
				ev.errorf("vector cannot contain metrics with the same labelset")
			}
			mat := make(Matrix, len(out))
			// One array holds the points of all series, each capped to
			// its own.
			pts := make([]FPoint, len(out))
			for i, s := range out {
				mat[i] = Series{Metric: s.Metric, DropName: s.DropName}
				if s.H == nil {
					pts[i] = FPoint{T: ts, F: s.F}
					mat[i].Floats = pts[i : i+1 : i+1]
				} else {
					mat[i].Histograms = []HPoint{{T: ts, H: s.H}}
				}
			}
			ev.st.currentSamples = originalSamples + mat.TotalSamples()
			ev.updatePeak()
			putMatrices(mats)
			return mat
		}

		if byLabel == nil {
			// Sized by the first step's output, not the input: a function
			// such as histogram_quantile has far fewer series out than in.
			n := max(len(out), 1)
			result = make(Matrix, 0, n)
			lastT = make([]int64, 0, n)
			byLabel = make(map[labels.Labels]int, n)
		}
		for k, s := range out {
			idx := -1
			if k < len(prevIdx) && labels.Equal(result[prevIdx[k]].Metric, s.Metric) {
				idx = prevIdx[k]
			} else if i, ok := byLabel[s.Metric]; ok {
				idx = i
			}
			if idx < 0 {
				idx = len(result)
				byLabel[s.Metric] = idx
				result = append(growDoubling(result), Series{Metric: s.Metric, DropName: s.DropName})
				lastT = append(growDoubling(lastT), ts-1)
			} else if lastT[idx] == ts {
				ev.errorf("vector cannot contain metrics with the same labelset")
			}
			if k < len(prevIdx) {
				prevIdx[k] = idx
			} else {
				prevIdx = append(prevIdx, idx)
			}
			r := &result[idx]
			lastT[idx] = ts
			if s.H == nil {
				if r.Floats == nil {
					if ts == ev.startTimestamp {
						r.Floats = getFPoints(numSteps)
					} else {
						// A series that starts late is often sparse (count_values
						// makes one per value); let it grow.
						r.Floats = make([]FPoint, 0, min(numSteps-int((ts-ev.startTimestamp)/ev.interval), 4))
					}
				}
				r.Floats = append(r.Floats, FPoint{T: ts, F: s.F})
			} else {
				r.Histograms = append(r.Histograms, HPoint{T: ts, H: s.H})
			}
		}
	}
	recycleFloats(consumed)
	putMatrices(mats)
	for i := range result {
		result[i].Floats = ev.shrinkFloats(result[i].Floats)
	}
	ev.st.currentSamples = originalSamples + result.TotalSamples()
	ev.updatePeak()
	return result
}

// putMatrices recycles the arrays of operands every step has gathered:
// the output's series are new, so nothing refers to them.
func putMatrices(mats []Matrix) {
	for _, m := range mats {
		putMatrix(m)
	}
}

func vectorSamples(v Vector) int {
	n := 0
	for _, s := range v {
		if s.H == nil {
			n++
		} else {
			n += histogramSampleSize(s.H)
		}
	}
	return n
}

// gatherVector collects the points of input at ts into out, consuming them
// so that later steps start where this one ended. When sigs is set, the
// signature ordinal of every gathered series is appended to stepSigs.
func (ev *evaluator) gatherVector(ts int64, input Matrix, out Vector, stepSigs []int, sigs [][]int, arg int) (Vector, []int) {
	out = out[:0]
	for i := range input {
		s := &input[i]
		switch {
		case len(s.Floats) > 0 && s.Floats[0].T == ts:
			out = append(out, Sample{Metric: s.Metric, F: s.Floats[0].F, T: ts, DropName: s.DropName})
			s.Floats = s.Floats[1:]
		case len(s.Histograms) > 0 && s.Histograms[0].T == ts:
			out = append(out, Sample{Metric: s.Metric, H: s.Histograms[0].H, T: ts, DropName: s.DropName})
			s.Histograms = s.Histograms[1:]
		default:
			continue
		}
		if sigs != nil {
			stepSigs = append(stepSigs, sigs[arg][i])
		}
		// Only the pointer of a histogram is copied, so each point counts
		// as one sample here.
		ev.addSamples(1)
	}
	ev.updatePeak()
	return out, stepSigs
}

// signatureOrdinals numbers the distinct signatures of the series of all
// operands under the vector matching, so that binary operators can match
// series by comparing small integers at every step.
func signatureOrdinals(matching *parser.VectorMatching, mats []Matrix, enh *evalNodeHelper) (seriesSigs, stepSigs [][]int) {
	seriesSigs = seriesSignatures(matching, sortedNames(matching), mats, enh)
	stepSigs = make([][]int, len(mats))
	for i, m := range mats {
		stepSigs[i] = make([]int, 0, len(m))
	}
	return seriesSigs, stepSigs
}

// seriesSignatures is the first half of signatureOrdinals: the ordinal of
// every series' signature, names being the sorted matching labels.
func seriesSignatures(matching *parser.VectorMatching, names []string, mats []Matrix, enh *evalNodeHelper) [][]int {
	// Signatures are told apart by their hash, and confirmed by their
	// bytes, kept one after the other in keys: a string per signature was
	// as much memory as the rest of an instant operation on many series.
	// Different signatures with the same hash go to collided.
	var (
		buf      []byte
		keys     []byte
		ends     []int // ends[ord] is where signature ord ends in keys
		byHash   = map[uint64]int{}
		collided map[string]int
	)
	seriesSigs := make([][]int, len(mats))
	for i, m := range mats {
		seriesSigs[i] = make([]int, len(m))
		for j, s := range m {
			var h uint64
			if matching.On {
				h, buf = s.Metric.HashForLabels(buf, names...)
			} else {
				h, buf = s.Metric.HashWithoutLabels(buf, names...)
			}
			ord, ok := byHash[h]
			if ok {
				start := 0
				if ord > 0 {
					start = ends[ord-1]
				}
				if string(keys[start:ends[ord]]) != string(buf) {
					if ord, ok = collided[string(buf)]; !ok {
						if collided == nil {
							collided = map[string]int{}
						}
						ord = len(ends)
						collided[string(buf)] = ord
						ends = append(ends, len(keys)) // An empty entry keeps ordinals dense.
					}
				}
			} else {
				ord = len(ends)
				byHash[h] = ord
				keys = append(keys, buf...)
				ends = append(ends, len(keys))
			}
			seriesSigs[i][j] = ord
		}
	}
	enh.numSigs = len(ends)
	return seriesSigs
}

// growDoubling returns s with room for one more element, doubling its
// capacity when full. append grows large slices by a quarter at a time,
// which allocates about five times the final size over all the growth; an
// operator whose output gains series at every step (count_values) would
// spend most of its memory on that.
func growDoubling[T any](s []T) []T {
	if len(s) < cap(s) {
		return s
	}
	return slices.Grow(s, max(cap(s), 4))
}
