package promql

import (
	"slices"
	"sync"

	"github.com/vigil-monitoring/vigil/internal/model/labels"
	"github.com/vigil-monitoring/vigil/internal/promql/parser"
)

// Binary operations between two vectors over many steps are evaluated
// series by series when the outcome cannot depend on the step order: which
// series pair up under the matching is fixed by their labels, so it is
// worked out once per query instead of at every step, and each pair's
// points are then combined in one merge of two time-ordered lists. The
// result is the one rangeEval gives (the same series, points, order and
// sample accounting); where that cannot be guaranteed up front (a
// signature twice on the "one" side, result label sets that could
// collide, histograms in arithmetic, fill modifiers), the operation is
// left to rangeEval, which finds the errors at the step they happen.

// seriesMajor enables the series-by-series evaluation of binary operations,
// aggregations and count_values. Only tests turn it off, to compare the
// two ways.
var seriesMajor = true

// stepCounts counts points per step of an evaluator, for the peak sample
// accounting of an operation evaluated series by series.
type stepCounts struct {
	start, interval int64
	numSteps        int
	all             int     // points counted at every step (dense series)
	perStep         []int32 // points counted at single steps
}

// add counts the points of a series, a histogram as one like a float (as
// rangeEval gathers them); it reports false when a point is not at a step.
func (c *stepCounts) add(fs []FPoint, hs []HPoint) bool {
	if len(hs) == 0 && len(fs) == c.numSteps {
		if fs[0].T != c.start || fs[len(fs)-1].T != c.start+int64(c.numSteps-1)*c.interval {
			return false
		}
		c.all++
		return true
	}
	for _, p := range fs {
		if !c.addAt(p.T, 1) {
			return false
		}
	}
	for _, p := range hs {
		if !c.addAt(p.T, 1) {
			return false
		}
	}
	return true
}

func (c *stepCounts) addAt(t int64, n int32) bool {
	d := t - c.start
	if d < 0 || d%c.interval != 0 || d/c.interval >= int64(c.numSteps) {
		return false
	}
	if c.perStep == nil {
		c.perStep = make([]int32, c.numSteps)
	}
	c.perStep[d/c.interval] += n
	return true
}

// account replays rangeEval's sample accounting for an operation whose
// operands held the gathered points (per operand) and whose output held
// out points, base being the samples held before the first step. At each
// step rangeEval holds the output of the steps so far, then gathers the
// operands' points at the step one operand after the other, taking the
// peak after each, then adds the step's output. It fails as soon as the
// count exceeds the limit, with the peak as it was then.
func (ev *evaluator) account(base int, gathered []*stepCounts, out *stepCounts) {
	cum := base
	for k := 0; k < out.numSteps; k++ {
		held := cum
		for _, c := range gathered {
			held += c.at(k)
			if held > ev.st.maxSamples {
				ev.error(ErrTooManySamples(env))
			}
			ev.st.currentSamples = held
			ev.updatePeak()
		}
		cum += out.at(k)
		ev.st.currentSamples = held + out.at(k)
		ev.updatePeak()
		if ev.st.currentSamples > ev.st.maxSamples {
			ev.error(ErrTooManySamples(env))
		}
	}
}

// at returns the number of points counted at step k.
func (c *stepCounts) at(k int) int {
	if c.perStep == nil {
		return c.all
	}
	return c.all + int(c.perStep[k])
}

// finishSeriesOp does rangeEval's accounting for an operation evaluated
// series by series, and orders the result as rangeEval does: by the first
// step of each series, then by the order the operation produced them in
// at that step (the order of res).
func (ev *evaluator) finishSeriesOp(res Matrix, original, base int, gathered []*stepCounts) Matrix {
	out := &stepCounts{start: ev.startTimestamp, interval: ev.interval, numSteps: ev.numSteps()}
	first := func(s Series) int64 {
		t := int64(1<<63 - 1)
		if len(s.Floats) > 0 {
			t = s.Floats[0].T
		}
		if len(s.Histograms) > 0 {
			t = min(t, s.Histograms[0].T)
		}
		return t
	}
	sorted := true
	for i := range res {
		s := &res[i]
		if len(s.Histograms) == 0 && len(s.Floats) == out.numSteps {
			out.all++
		} else {
			for _, p := range s.Floats {
				out.addAt(p.T, 1)
			}
			for _, p := range s.Histograms {
				out.addAt(p.T, int32(histogramSampleSize(p.H)))
			}
		}
		if i > 0 && first(res[i-1]) > first(*s) {
			sorted = false
		}
	}
	ev.account(base, gathered, out)
	if !sorted {
		slices.SortStableFunc(res, func(a, b Series) int {
			ta, tb := first(a), first(b)
			switch {
			case ta < tb:
				return -1
			case ta > tb:
				return 1
			}
			return 0
		})
	}
	for i := range res {
		res[i].Floats = ev.shrinkFloats(res[i].Floats)
	}
	ev.st.currentSamples = original + res.TotalSamples()
	ev.updatePeak()
	return res
}

// gatherCounts counts the points of each operand per step; false means
// some point is not at a step of the evaluator.
func (ev *evaluator) gatherCounts(mats ...Matrix) ([]*stepCounts, bool) {
	counts := make([]*stepCounts, len(mats))
	for i, m := range mats {
		c := &stepCounts{start: ev.startTimestamp, interval: ev.interval, numSteps: ev.numSteps()}
		for _, s := range m {
			if !c.add(s.Floats, s.Histograms) {
				return nil, false
			}
		}
		counts[i] = c
	}
	return counts, true
}

// distinctLabelSets reports whether the label sets are pairwise different.
func distinctLabelSets(n int, at func(int) labels.Labels) bool {
	return !hasDuplicateLabels(n, at)
}

// seriesArithmetic evaluates an arithmetic or comparison operator between
// two float vectors series by series. ok is false when the operation is
// left to rangeEval; the operands are then untouched.
func (ev *evaluator) seriesArithmetic(e *parser.BinaryExpr, matching *parser.VectorMatching, lhs, rhs Matrix, original int) (res Matrix, ok bool) {
	switch e.Op {
	case parser.ADD, parser.SUB, parser.MUL, parser.DIV, parser.POW, parser.MOD, parser.ATAN2,
		parser.EQLC, parser.NEQ, parser.GTR, parser.LSS, parser.GTE, parser.LTE:
	default:
		return nil, false
	}
	if !seriesMajor || ev.startTimestamp == ev.endTimestamp || matching.Card == parser.CardManyToMany ||
		matching.FillValues.LHS != nil || matching.FillValues.RHS != nil {
		return nil, false
	}
	for _, m := range [2]Matrix{lhs, rhs} {
		for _, s := range m {
			if len(s.Histograms) > 0 {
				return nil, false
			}
		}
	}
	gathered, ok := ev.gatherCounts(lhs, rhs)
	if !ok {
		return nil, false
	}
	enh := ev.newHelper()
	defer putHelper(enh)
	seriesSigs := seriesSignatures(matching, sortedNames(matching), []Matrix{lhs, rhs}, enh)
	many, one := lhs, rhs
	manySigs, oneSigs := seriesSigs[0], seriesSigs[1]
	swapped := matching.Card == parser.CardOneToMany
	if swapped {
		many, one, manySigs, oneSigs = rhs, lhs, oneSigs, manySigs
	}
	// oneAt[sig] is the series on the one side with that signature, plus
	// one (0: none).
	oneAt := make([]int32, enh.numSigs)
	for j, sig := range oneSigs {
		if oneAt[sig] != 0 {
			return nil, false
		}
		oneAt[sig] = int32(j + 1)
	}
	if matching.Card == parser.CardOneToOne {
		seen := make([]bool, enh.numSigs)
		for _, sig := range manySigs {
			if seen[sig] {
				return nil, false
			}
			seen[sig] = true
		}
	}
	type pair struct {
		many, one int
		metric    labels.Labels
	}
	pairs := make([]pair, 0, min(len(many), len(one)))
	for i, sig := range manySigs {
		j := int(oneAt[sig]) - 1
		if j < 0 {
			continue
		}
		// Each pair is met once: resultMetric's cache would only cost.
		metric := buildResultMetric(enh.builder(many[i].Metric), one[j].Metric, e.Op, matching)
		if !enh.delayedNameRemoval && e.ReturnBool {
			metric = dropMetadataLabels(metric)
		}
		pairs = append(pairs, pair{many: i, one: j, metric: metric})
	}
	if !distinctLabelSets(len(pairs), func(i int) labels.Labels { return pairs[i].metric }) {
		return nil, false
	}

	base := ev.st.currentSamples
	op, returnBool, pos := e.Op, e.ReturnBool, e.PositionRange()
	res = make(Matrix, 0, len(pairs))
	used := make([]bool, len(many))
	for _, pr := range pairs {
		// The output overwrites the many side's points, which it reads
		// ahead of where it writes: each of them belongs to one pair.
		l, r := many[pr.many].Floats, one[pr.one].Floats
		w, p, q := 0, 0, 0
		for p < len(l) && q < len(r) {
			tl, tr := l[p].T, r[q].T
			if tl < tr {
				p++
				continue
			}
			if tr < tl {
				q++
				continue
			}
			fl, fr := l[p].F, r[q].F
			if swapped {
				fl, fr = fr, fl
			}
			f, _, keep, _, _ := vectorElemBinop(op, fl, fr, nil, nil, pos)
			if returnBool {
				f, keep = btos(keep), true
			}
			if keep {
				l[w] = FPoint{T: tl, F: f}
				w++
			}
			p++
			q++
		}
		if w == 0 {
			continue
		}
		used[pr.many] = true
		res = append(res, Series{Metric: pr.metric, Floats: l[:w], DropName: returnBool})
	}
	for i, s := range many {
		if !used[i] {
			putFPoints(s.Floats)
		}
	}
	recycleMatrix(one)
	return ev.finishSeriesOp(res, original, base, gathered), true
}

// presencePool recycles the step bitmaps of set operations.
var presencePool sync.Pool // of *[]uint64

// seriesSetOperation evaluates and, or and unless series by series: a
// series of one side keeps the points at the steps where the other side
// has (and) or lacks (or, unless) a series of its signature. ok is false
// when the operation is left to rangeEval; the operands are then
// untouched.
func (ev *evaluator) seriesSetOperation(op parser.ItemType, matching *parser.VectorMatching, lhs, rhs Matrix, original int) (res Matrix, ok bool) {
	if !seriesMajor || ev.startTimestamp == ev.endTimestamp {
		return nil, false
	}
	gathered, ok := ev.gatherCounts(lhs, rhs)
	if !ok {
		return nil, false
	}
	enh := ev.newHelper()
	defer putHelper(enh)
	seriesSigs := seriesSignatures(matching, sortedNames(matching), []Matrix{lhs, rhs}, enh)
	lsigs, rsigs := seriesSigs[0], seriesSigs[1]
	if op == parser.LOR {
		if !distinctLabelSets(len(lhs)+len(rhs), func(i int) labels.Labels {
			if i < len(lhs) {
				return lhs[i].Metric
			}
			return rhs[i-len(lhs)].Metric
		}) {
			return nil, false
		}
	} else if !distinctLabelSets(len(lhs), func(i int) labels.Labels { return lhs[i].Metric }) {
		return nil, false
	}

	// present holds a bit per step for every signature: whether the side
	// that decides has a series of that signature at the step.
	numSteps := ev.numSteps()
	words := (numSteps + 63) / 64
	var present []uint64
	if p, ok := presencePool.Get().(*[]uint64); ok && cap(*p) >= enh.numSigs*words {
		present = (*p)[:enh.numSigs*words]
		clear(present)
	} else {
		present = make([]uint64, enh.numSigs*words)
	}
	defer func() {
		if cap(present) <= maxPooledWindowPoints {
			presencePool.Put(&present)
		}
	}()
	decider, deciderSigs := rhs, rsigs
	if op == parser.LOR {
		decider, deciderSigs = lhs, lsigs
	}
	for i, s := range decider {
		bits := present[deciderSigs[i]*words:][:words]
		if len(s.Histograms) == 0 && len(s.Floats) == numSteps {
			for w := range bits {
				bits[w] = ^uint64(0)
			}
			continue
		}
		for _, p := range s.Floats {
			k := ev.stepOf(p.T)
			bits[k/64] |= 1 << (k % 64)
		}
		for _, p := range s.Histograms {
			k := ev.stepOf(p.T)
			bits[k/64] |= 1 << (k % 64)
		}
	}

	base := ev.st.currentSamples
	// filter keeps the points of s at the steps whose bit is want, in
	// place.
	filter := func(s *Series, sig int, want bool) {
		bits := present[sig*words:][:words]
		has := func(t int64) bool {
			k := ev.stepOf(t)
			return bits[k/64]&(1<<(k%64)) != 0
		}
		w := 0
		if len(s.Histograms) == 0 && len(s.Floats) == numSteps {
			// A point at every step: the k-th is at step k.
			for k, p := range s.Floats {
				if (bits[k/64]&(1<<(k%64)) != 0) == want {
					s.Floats[w] = p
					w++
				}
			}
			s.Floats = s.Floats[:w]
			return
		}
		for _, p := range s.Floats {
			if has(p.T) == want {
				s.Floats[w] = p
				w++
			}
		}
		s.Floats = s.Floats[:w]
		w = 0
		for _, p := range s.Histograms {
			if has(p.T) == want {
				s.Histograms[w] = p
				w++
			}
		}
		clear(s.Histograms[w:]) // Let dropped histograms be collected.
		s.Histograms = s.Histograms[:w]
	}
	res = make(Matrix, 0, len(lhs))
	keep := func(s Series) {
		if len(s.Floats)+len(s.Histograms) > 0 {
			res = append(res, s)
			return
		}
		putFPoints(s.Floats)
	}
	switch op {
	case parser.LAND, parser.LUNLESS:
		for i := range lhs {
			filter(&lhs[i], lsigs[i], op == parser.LAND)
			keep(lhs[i])
		}
		recycleMatrix(rhs)
	case parser.LOR:
		for _, s := range lhs {
			keep(s)
		}
		for i := range rhs {
			filter(&rhs[i], rsigs[i], false)
			keep(rhs[i])
		}
	}
	return ev.finishSeriesOp(res, original, base, gathered), true
}

// sortedNames returns the matching labels sorted, as signatures take them.
func sortedNames(matching *parser.VectorMatching) []string {
	if slices.IsSorted(matching.MatchingLabels) {
		return matching.MatchingLabels
	}
	return slices.Sorted(slices.Values(matching.MatchingLabels))
}

// stepOf returns the index of the step at t, which must be a step time.
func (ev *evaluator) stepOf(t int64) int { return int((t - ev.startTimestamp) / ev.interval) }
