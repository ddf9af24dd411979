package promql

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/vigil-monitoring/vigil/internal/model/histogram"
	"github.com/vigil-monitoring/vigil/internal/model/labels"
	"github.com/vigil-monitoring/vigil/internal/promql/parser"
)

func (ev *evaluator) evalBinary(ctx context.Context, e *parser.BinaryExpr) Value {
	lt, rt := e.LHS.Type(), e.RHS.Type()
	pos := e.PositionRange()
	switch {
	case lt == parser.ValueTypeScalar && rt == parser.ValueTypeScalar:
		return ev.rangeEval(ctx, nil, func(v []Vector, _ [][]int, enh *evalNodeHelper) Vector {
			return append(enh.out, Sample{F: scalarBinop(e.Op, v[0][0].F, v[1][0].F)})
		}, e.LHS, e.RHS)
	case lt == parser.ValueTypeVector && rt == parser.ValueTypeVector:
		matching := e.VectorMatching
		if matching == nil {
			matching = &parser.VectorMatching{Card: parser.CardOneToOne}
		}
		original := ev.st.currentSamples
		switch e.Op {
		case parser.LAND, parser.LOR, parser.LUNLESS:
			if matching.Card != parser.CardManyToMany {
				ev.errorf("set operations must only use many-to-many matching")
			}
			lhs, rhs := ev.eval(ctx, e.LHS).(Matrix), ev.eval(ctx, e.RHS).(Matrix)
			if res, ok := ev.seriesSetOperation(e.Op, matching, lhs, rhs, original); ok {
				return res
			}
			return ev.rangeEvalMatrices(ctx, original, matching, func(v []Vector, sigs [][]int, enh *evalNodeHelper) Vector {
				return setOperation(e.Op, v[0], v[1], sigs[0], sigs[1], enh)
			}, []Matrix{lhs, rhs})
		}
		lhs, rhs := ev.eval(ctx, e.LHS).(Matrix), ev.eval(ctx, e.RHS).(Matrix)
		if res, ok := ev.seriesArithmetic(e, matching, lhs, rhs, original); ok {
			return res
		}
		return ev.rangeEvalMatrices(ctx, original, matching, func(v []Vector, sigs [][]int, enh *evalNodeHelper) Vector {
			out, err := ev.vectorBinop(e.Op, v[0], v[1], matching, e.ReturnBool, sigs[0], sigs[1], enh, pos)
			binopErrorAnnotation(err, e, enh.annos)
			return out
		}, []Matrix{lhs, rhs})
	case lt == parser.ValueTypeVector && rt == parser.ValueTypeScalar:
		return ev.rangeEval(ctx, nil, func(v []Vector, _ [][]int, enh *evalNodeHelper) Vector {
			out, err := vectorScalarBinop(e.Op, v[0], v[1][0].F, false, e.ReturnBool, enh, pos)
			binopErrorAnnotation(err, e, enh.annos)
			return out
		}, e.LHS, e.RHS)
	case lt == parser.ValueTypeScalar && rt == parser.ValueTypeVector:
		return ev.rangeEval(ctx, nil, func(v []Vector, _ [][]int, enh *evalNodeHelper) Vector {
			out, err := vectorScalarBinop(e.Op, v[1], v[0][0].F, true, e.ReturnBool, enh, pos)
			binopErrorAnnotation(err, e, enh.annos)
			return out
		}, e.LHS, e.RHS)
	}
	ev.errorf("invalid operand types %s %s %s", lt, e.Op, rt)
	return nil
}

// binopErrorAnnotation turns the last problem of a binary operation at a
// step into an annotation: incompatible operand types are an info,
// histograms that cannot be combined a warning. Operations never fail on
// them; the affected elements are left out.
func binopErrorAnnotation(err error, e *parser.BinaryExpr, annos *Annotations) {
	if err == nil {
		return
	}
	if errors.Is(err, PromQLInfo) || errors.Is(err, PromQLWarning) {
		annos.Add(err)
		return
	}
	if errors.Is(err, histogram.ErrHistogramsIncompatibleSchema) {
		annos.Add(newIncompatibleBucketLayoutInBinOpWarning(e.Op.String(), e.PositionRange()))
	}
}

// setOperation computes and, or and unless between vectors whose series
// carry signature ordinals (lsigs, rsigs) under the vector matching.
func setOperation(op parser.ItemType, lhs, rhs Vector, lsigs, rsigs []int, enh *evalNodeHelper) Vector {
	switch op {
	case parser.LAND:
		if len(lhs) == 0 || len(rhs) == 0 {
			return enh.out
		}
		present := enh.presentSigs()
		for _, s := range rsigs {
			present[s] = true
		}
		for i, s := range lhs {
			if present[lsigs[i]] {
				enh.out = append(enh.out, s)
			}
		}
	case parser.LOR:
		if len(lhs) == 0 || len(rhs) == 0 {
			enh.out = append(enh.out, lhs...)
			return append(enh.out, rhs...)
		}
		present := enh.presentSigs()
		for i, s := range lhs {
			present[lsigs[i]] = true
			enh.out = append(enh.out, s)
		}
		for i, s := range rhs {
			if !present[rsigs[i]] {
				enh.out = append(enh.out, s)
			}
		}
	case parser.LUNLESS:
		if len(lhs) == 0 || len(rhs) == 0 {
			return append(enh.out, lhs...)
		}
		present := enh.presentSigs()
		for _, s := range rsigs {
			present[s] = true
		}
		for i, s := range lhs {
			if !present[lsigs[i]] {
				enh.out = append(enh.out, s)
			}
		}
	}
	return enh.out
}

// presentSigs returns a cleared flag per signature ordinal, reused across
// steps.
func (enh *evalNodeHelper) presentSigs() []bool {
	if cap(enh.present) < enh.numSigs {
		enh.present = make([]bool, enh.numSigs)
	}
	enh.present = enh.present[:enh.numSigs]
	clear(enh.present)
	return enh.present
}

// changesMetricSchema reports whether the result of op means something else
// than its operands, so that their name and type no longer apply.
func changesMetricSchema(op parser.ItemType) bool {
	switch op {
	case parser.ADD, parser.SUB, parser.DIV, parser.MUL, parser.POW, parser.MOD, parser.ATAN2:
		return true
	}
	return false
}

// vectorBinop computes an arithmetic or comparison operator between two
// vectors. It returns the last problem met, to be reported as annotation.
func (ev *evaluator) vectorBinop(op parser.ItemType, lhs, rhs Vector, matching *parser.VectorMatching, returnBool bool, lsigs, rsigs []int, enh *evalNodeHelper, pos parser.PositionRange) (Vector, error) {
	if matching.Card == parser.CardManyToMany {
		ev.errorf("many-to-many only allowed for set operators")
	}
	fill := matching.FillValues
	if (len(lhs) == 0 && len(rhs) == 0) || ((len(lhs) == 0 || len(rhs) == 0) && fill.LHS == nil && fill.RHS == nil) {
		return enh.out, nil
	}
	// One-to-many is many-to-one with the sides swapped; values are
	// swapped back when computed.
	if matching.Card == parser.CardOneToMany {
		lhs, rhs = rhs, lhs
		lsigs, rsigs = rsigs, lsigs
	}
	// rightIdx[sig] is the index in rhs of the sample with signature sig,
	// valid where right.has(sig); matched holds the signatures met on the
	// left.
	enh.right.next(enh.numSigs)
	enh.matched.next(enh.numSigs)
	if len(enh.rightIdx) < enh.numSigs {
		enh.rightIdx = make([]int32, enh.numSigs)
	}
	for i, rs := range rhs {
		sig := rsigs[i]
		if enh.right.has(sig) {
			dup := rhs[enh.rightIdx[sig]]
			side := "right"
			if matching.Card == parser.CardOneToMany {
				side = "left"
			}
			ml := rs.Metric.MatchLabels(matching.On, matching.MatchingLabels...)
			ev.errorf("found duplicate series for the match group %s on the %s hand-side of the operation: [%s, %s];many-to-many matching not allowed: matching labels must be unique on one side", ml, side, rs.Metric, dup.Metric)
		}
		enh.right.add(sig)
		enh.rightIdx[sig] = int32(i)
	}
	if matching.Card != parser.CardOneToOne {
		if enh.matchedResults == nil {
			enh.matchedResults = make(map[sigLabels]struct{}, len(lhs))
		} else {
			clear(enh.matchedResults)
		}
	}
	var lastErr error
	do := func(li int, ls, rs Sample, sig int) {
		fl, fr, hl, hr := ls.F, rs.F, ls.H, rs.H
		if matching.Card == parser.CardOneToMany {
			fl, fr, hl, hr = fr, fl, hr, hl
		}
		f, h, keep, info, err := vectorElemBinop(op, fl, fr, hl, hr, pos)
		if err != nil {
			lastErr = err
			return
		}
		if info != nil {
			lastErr = info
		}
		if returnBool {
			h = nil
			if keep {
				f = 1
			} else {
				f = 0
			}
		}
		metric := enh.resultMetricAt(li, ls.Metric, rs.Metric, op, matching)
		if !enh.delayedNameRemoval && returnBool {
			metric = dropMetadataLabels(metric)
		}
		exists := enh.matched.has(sig)
		if matching.Card == parser.CardOneToOne {
			if exists {
				ev.errorf("multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)")
			}
		} else {
			key := sigLabels{sig, metric}
			if _, dup := enh.matchedResults[key]; dup {
				ev.errorf("multiple matches for labels: grouping labels must ensure unique matches")
			}
			enh.matchedResults[key] = struct{}{}
		}
		enh.matched.add(sig)
		if !keep && !returnBool {
			return
		}
		enh.out = append(enh.out, Sample{Metric: metric, F: f, H: h, DropName: returnBool})
	}
	for i, ls := range lhs {
		sig := lsigs[i]
		var rs Sample
		if enh.right.has(sig) {
			rs = rhs[enh.rightIdx[sig]]
		} else {
			if fill.RHS == nil {
				continue
			}
			rs = Sample{Metric: ls.Metric.MatchLabels(matching.On, matching.MatchingLabels...), F: *fill.RHS}
		}
		do(i, ls, rs, sig)
	}
	if fill.LHS != nil {
		for i, rs := range rhs {
			sig := rsigs[i]
			if enh.matched.has(sig) {
				continue
			}
			ls := Sample{Metric: rs.Metric.MatchLabels(matching.On, matching.MatchingLabels...), F: *fill.LHS}
			do(-1, ls, rs, sig)
		}
	}
	return enh.out, lastErr
}

// resultMetricAt is resultMetric with a cache by position: the li-th
// sample on the left usually meets the same pair of label sets (the same
// memory) at every step, which is cheaper to check than building the
// map key. li is -1 for a sample made up by a fill value.
func (enh *evalNodeHelper) resultMetricAt(li int, lhs, rhs labels.Labels, op parser.ItemType, matching *parser.VectorMatching) labels.Labels {
	if enh.singleStep {
		// Every pair is met once: the caches would only cost.
		return buildResultMetric(enh.builder(lhs), rhs, op, matching)
	}
	if li < 0 {
		return resultMetric(lhs, rhs, op, matching, enh)
	}
	if li < len(enh.resultAt) {
		c := &enh.resultAt[li]
		if labels.Equal(c.lhs, lhs) && labels.Equal(c.rhs, rhs) {
			return c.result
		}
	}
	ret := resultMetric(lhs, rhs, op, matching, enh)
	if li >= len(enh.resultAt) {
		enh.resultAt = slices.Grow(enh.resultAt, max(li+1, cap(enh.out))-len(enh.resultAt))
		enh.resultAt = enh.resultAt[:cap(enh.resultAt)]
	}
	enh.resultAt[li] = resultAtEntry{lhs: lhs, rhs: rhs, result: ret}
	return ret
}

// resultAtEntry is an entry of evalNodeHelper.resultAt.
type resultAtEntry struct{ lhs, rhs, result labels.Labels }

// sigSet is a set of signature ordinals for one step. Members of earlier
// steps are told apart by a generation number, so the set is emptied
// without clearing it.
type sigSet struct {
	gen   uint32
	stamp []uint32
}

// next empties the set for ordinals below n.
func (s *sigSet) next(n int) {
	if len(s.stamp) < n {
		s.stamp = make([]uint32, n)
		s.gen = 0
	}
	s.gen++
	if s.gen == 0 { // Wrapped around: stale stamps could match.
		clear(s.stamp)
		s.gen = 1
	}
}

func (s *sigSet) has(sig int) bool { return s.stamp[sig] == s.gen }
func (s *sigSet) add(sig int)      { s.stamp[sig] = s.gen }

// resultMetric returns the labels of the result of a binary operation
// between vector elements: the left (many) side's, without the name when
// the operator changes the meaning, restricted to the matching labels for
// one-to-one matching, plus the group_left/group_right labels taken from
// the right (one) side.
func resultMetric(lhs, rhs labels.Labels, op parser.ItemType, matching *parser.VectorMatching, enh *evalNodeHelper) labels.Labels {
	if enh.resultMetric == nil {
		enh.resultMetric = make(map[string]labels.Labels, len(enh.out))
	}
	// The key is both label sets' encodings, the left one prefixed by its
	// length so that no two pairs share a key.
	enh.lblBuf2 = lhs.Bytes(enh.lblBuf2)
	enh.lblBuf = binary.AppendUvarint(enh.lblBuf[:0], uint64(len(enh.lblBuf2)))
	enh.lblBuf = append(enh.lblBuf, enh.lblBuf2...)
	enh.lblBuf2 = rhs.Bytes(enh.lblBuf2)
	enh.lblBuf = append(enh.lblBuf, enh.lblBuf2...)
	if ret, ok := enh.resultMetric[string(enh.lblBuf)]; ok {
		return ret
	}
	key := string(enh.lblBuf)
	ret := buildResultMetric(enh.builder(lhs), rhs, op, matching)
	enh.resultMetric[key] = ret
	return ret
}

// buildResultMetric computes what resultMetric returns, with lb holding
// the left label set.
func buildResultMetric(lb *labels.Builder, rhs labels.Labels, op parser.ItemType, matching *parser.VectorMatching) labels.Labels {
	if changesMetricSchema(op) {
		lb.Del(labels.MetricName, "__type__", "__unit__")
	}
	if matching.Card == parser.CardOneToOne {
		if matching.On {
			lb.Keep(matching.MatchingLabels...)
		} else {
			lb.Del(matching.MatchingLabels...)
		}
	}
	for _, name := range matching.Include {
		if v := rhs.Get(name); v != "" {
			lb.Set(name, v)
		} else {
			lb.Del(name)
		}
	}
	return lb.Labels()
}

// vectorScalarBinop computes an operator between the elements of a vector
// and a scalar; swap is set when the scalar is the left operand.
func vectorScalarBinop(op parser.ItemType, lhs Vector, scalar float64, swap, returnBool bool, enh *evalNodeHelper, pos parser.PositionRange) (Vector, error) {
	var lastErr error
	for _, s := range lhs {
		lf, rf := s.F, scalar
		lh, rh := s.H, (*histogram.FloatHistogram)(nil)
		if swap {
			lf, rf = rf, lf
			lh, rh = rh, lh
		}
		f, h, keep, _, err := vectorElemBinop(op, lf, rf, lh, rh, pos)
		if err != nil && !errors.Is(err, PromQLWarning) {
			lastErr = err
			continue
		}
		// A comparison with the scalar on the left keeps the vector's
		// value.
		if op.IsComparisonOperator() && swap {
			f, h = rf, rh
		}
		if returnBool {
			if keep {
				f = 1
			} else {
				f = 0
			}
			keep = true
		}
		if !keep {
			continue
		}
		s.F, s.H = f, h
		if changesMetricSchema(op) || returnBool {
			if !enh.delayedNameRemoval {
				s.Metric = dropMetadataLabels(s.Metric)
			}
			s.DropName = true
		}
		enh.out = append(enh.out, s)
	}
	return enh.out, lastErr
}

func btos(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// scalarBinop computes an operator between scalars; comparisons (which
// must have bool) give 0 or 1.
func scalarBinop(op parser.ItemType, lhs, rhs float64) float64 {
	switch op {
	case parser.ADD:
		return lhs + rhs
	case parser.SUB:
		return lhs - rhs
	case parser.MUL:
		return lhs * rhs
	case parser.DIV:
		return lhs / rhs
	case parser.POW:
		return math.Pow(lhs, rhs)
	case parser.MOD:
		return math.Mod(lhs, rhs)
	case parser.EQLC:
		return btos(lhs == rhs)
	case parser.NEQ:
		return btos(lhs != rhs)
	case parser.GTR:
		return btos(lhs > rhs)
	case parser.LSS:
		return btos(lhs < rhs)
	case parser.GTE:
		return btos(lhs >= rhs)
	case parser.LTE:
		return btos(lhs <= rhs)
	case parser.ATAN2:
		return math.Atan2(lhs, rhs)
	}
	panic(evalError{fmt.Errorf("operator %q not allowed for scalar operations", op)})
}

// vectorElemBinop computes an operator between two values, each a float or
// a histogram. keep reports whether a comparison holds (and is true for
// arithmetic). An info reports a combination that yields no value; err a
// failure (or, as an annotation, a warning about the result).
func vectorElemBinop(op parser.ItemType, lhs, rhs float64, hl, hr *histogram.FloatHistogram, pos parser.PositionRange) (f float64, h *histogram.FloatHistogram, keep bool, info, err error) {
	// The operator's name is looked up only for an annotation: a lookup
	// for every element was a measurable part of an operation.
	switch {
	case hl == nil && hr == nil:
		switch op {
		case parser.ADD:
			return lhs + rhs, nil, true, nil, nil
		case parser.SUB:
			return lhs - rhs, nil, true, nil, nil
		case parser.MUL:
			return lhs * rhs, nil, true, nil, nil
		case parser.DIV:
			return lhs / rhs, nil, true, nil, nil
		case parser.POW:
			return math.Pow(lhs, rhs), nil, true, nil, nil
		case parser.MOD:
			return math.Mod(lhs, rhs), nil, true, nil, nil
		case parser.EQLC:
			return lhs, nil, lhs == rhs, nil, nil
		case parser.NEQ:
			return lhs, nil, lhs != rhs, nil, nil
		case parser.GTR:
			return lhs, nil, lhs > rhs, nil, nil
		case parser.LSS:
			return lhs, nil, lhs < rhs, nil, nil
		case parser.GTE:
			return lhs, nil, lhs >= rhs, nil, nil
		case parser.LTE:
			return lhs, nil, lhs <= rhs, nil, nil
		case parser.ATAN2:
			return math.Atan2(lhs, rhs), nil, true, nil, nil
		case parser.TRIM_LOWER, parser.TRIM_UPPER:
			return 0, nil, false, nil, newIncompatibleTypesInBinOpInfo("float", op.String(), "float", pos)
		}
	case hl == nil && hr != nil:
		if op == parser.MUL {
			return 0, hr.Copy().Mul(lhs).Compact(0), true, nil, nil
		}
		return 0, nil, false, nil, newIncompatibleTypesInBinOpInfo("float", op.String(), "histogram", pos)
	case hl != nil && hr == nil:
		switch op {
		case parser.MUL:
			return 0, hl.Copy().Mul(rhs).Compact(0), true, nil, nil
		case parser.DIV:
			return 0, hl.Copy().Div(rhs).Compact(0), true, nil, nil
		case parser.TRIM_UPPER:
			return 0, trimHistogram(hl, rhs, true), true, nil, nil
		case parser.TRIM_LOWER:
			return 0, trimHistogram(hl, rhs, false), true, nil, nil
		}
		return 0, nil, false, nil, newIncompatibleTypesInBinOpInfo("histogram", op.String(), "float", pos)
	default:
		switch op {
		case parser.ADD, parser.SUB:
			res := hl.Copy()
			var collision, reconciled bool
			var e error
			hop := histogramAdd
			if op == parser.ADD {
				_, collision, reconciled, e = res.Add(hr)
			} else {
				hop = histogramSub
				_, collision, reconciled, e = res.Sub(hr)
			}
			if e != nil {
				return 0, nil, false, nil, e
			}
			if op == parser.SUB {
				// A difference of histograms can go down: a gauge.
				res.CounterResetHint = histogram.GaugeType
			}
			if collision {
				err = newHistogramCounterResetCollisionWarning(pos, hop)
			}
			if reconciled {
				info = newMismatchedCustomBucketsHistogramsInfo(pos, hop)
			}
			return 0, res.Compact(0), true, info, err
		case parser.EQLC:
			return 0, hl, hl.Equals(hr), nil, nil
		case parser.NEQ:
			return 0, hl, !hl.Equals(hr), nil, nil
		}
		return 0, nil, false, nil, newIncompatibleTypesInBinOpInfo("histogram", op.String(), "histogram", pos)
	}
	panic(evalError{fmt.Errorf("operator %q not allowed for operations between vectors", op)})
}
