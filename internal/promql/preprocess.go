package promql

import (
	"context"
	"math"
	"time"

	"github.com/vigil-monitoring/vigil/internal/promql/parser"
	"github.com/vigil-monitoring/vigil/internal/storage"
)

// preprocessExpr prepares a parsed expression for evaluation of a query
// from start to end (milliseconds) with the given step (0 for an instant
// query): it resolves duration expressions and the query-context functions
// start(), end(), step() and range(), resolves @ start() and @ end(), and
// wraps the largest sub-expressions whose value does not depend on the
// evaluation time in StepInvariantExpr, so they are evaluated once.
func preprocessExpr(expr parser.Expr, start, end int64, step, queryRange time.Duration) (parser.Expr, error) {
	if err := parser.ResolveDurations(expr, step, queryRange); err != nil {
		return nil, err
	}
	expr = foldQueryContextFunctions(expr, start, end, step)
	markHistogramStatsSelectors(expr)
	_, wrap := markStepInvariant(expr, start, end)
	if wrap {
		return &parser.StepInvariantExpr{Expr: expr}, nil
	}
	return expr, nil
}

// foldQueryContextFunctions replaces calls of start(), end(), step() and
// range() by their values in seconds. Their values are fixed for a query,
// so the rest of the engine sees plain numbers.
func foldQueryContextFunctions(expr parser.Expr, start, end int64, step time.Duration) parser.Expr {
	return rewrite(expr, func(e parser.Expr) parser.Expr {
		c, ok := e.(*parser.Call)
		if !ok || len(c.Args) != 0 {
			return e
		}
		var v float64
		switch c.Func.Name {
		case "start":
			v = float64(start) / 1000
		case "end":
			v = float64(end) / 1000
		case "step":
			v = step.Seconds()
		case "range":
			v = float64(end-start) / 1000
		default:
			return e
		}
		return &parser.NumberLiteral{Val: v, PosRange: c.PosRange}
	})
}

// rewrite replaces, bottom-up, every expression e of the tree by f(e).
func rewrite(e parser.Expr, f func(parser.Expr) parser.Expr) parser.Expr {
	switch n := e.(type) {
	case *parser.AggregateExpr:
		if n.Expr != nil {
			n.Expr = rewrite(n.Expr, f)
		}
		if n.Param != nil {
			n.Param = rewrite(n.Param, f)
		}
	case *parser.BinaryExpr:
		n.LHS = rewrite(n.LHS, f)
		n.RHS = rewrite(n.RHS, f)
	case *parser.Call:
		for i := range n.Args {
			n.Args[i] = rewrite(n.Args[i], f)
		}
	case *parser.SubqueryExpr:
		n.Expr = rewrite(n.Expr, f)
	case *parser.ParenExpr:
		n.Expr = rewrite(n.Expr, f)
	case *parser.UnaryExpr:
		n.Expr = rewrite(n.Expr, f)
	case *parser.StepInvariantExpr:
		n.Expr = rewrite(n.Expr, f)
	}
	return f(e)
}

// atModifierUnsafeFunctions are the functions whose result depends on the
// evaluation time even when their arguments do not, or that report the
// timestamps of their argument's samples.
var atModifierUnsafeFunctions = map[string]bool{
	"days_in_month": true, "day_of_month": true, "day_of_week": true, "day_of_year": true,
	"hour": true, "minute": true, "month": true, "year": true,
	"predict_linear": true, "time": true, "timestamp": true,
	"start": true, "end": true, "step": true, "range": true,
}

// unwrapParens strips parentheses around an expression.
func unwrapParens(e parser.Expr) parser.Expr {
	for {
		p, ok := e.(*parser.ParenExpr)
		if !ok {
			return e
		}
		e = p.Expr
	}
}

// markStepInvariant reports whether expr is step-invariant and whether it
// should be wrapped when it is (selectors and subqueries with @, and any
// composite expression of them; literals are cheap and never wrapped). It
// wraps the step-invariant children of expressions that are not
// step-invariant themselves, and resolves @ start() / @ end().
func markStepInvariant(expr parser.Expr, start, end int64) (invariant, wrap bool) {
	resolve := func(ts **int64, se parser.ItemType) {
		switch se {
		case parser.START:
			v := start
			*ts = &v
		case parser.END:
			v := end
			*ts = &v
		}
	}
	switch n := expr.(type) {
	case *parser.VectorSelector:
		resolve(&n.Timestamp, n.StartOrEnd)
		return n.Timestamp != nil, n.Timestamp != nil
	case *parser.MatrixSelector:
		// Functions read range selectors directly; never wrapped.
		inv, _ := markStepInvariant(n.VectorSelector, start, end)
		return inv, false
	case *parser.SubqueryExpr:
		// The inside of a subquery is wrapped even when the subquery
		// has no @ of its own, so that it is evaluated once relative to
		// the subquery's start.
		if inv, _ := markStepInvariant(n.Expr, start, end); inv {
			n.Expr = &parser.StepInvariantExpr{Expr: n.Expr}
		}
		resolve(&n.Timestamp, n.StartOrEnd)
		// Like range selectors, a subquery is never wrapped itself: the
		// function reading it fixes its window when it has an @.
		return n.Timestamp != nil, false
	case *parser.AggregateExpr:
		n.Expr = unwrapParens(n.Expr)
		if n.Param != nil {
			n.Param = unwrapParens(n.Param)
		}
		return markStepInvariant(n.Expr, start, end)
	case *parser.BinaryExpr:
		linv, lwrap := markStepInvariant(n.LHS, start, end)
		rinv, rwrap := markStepInvariant(n.RHS, start, end)
		if linv && rinv {
			return true, true
		}
		if lwrap {
			n.LHS = &parser.StepInvariantExpr{Expr: n.LHS}
		}
		if rwrap {
			n.RHS = &parser.StepInvariantExpr{Expr: n.RHS}
		}
		return false, false
	case *parser.Call:
		invariant := !atModifierUnsafeFunctions[n.Func.Name]
		wraps := make([]bool, len(n.Args))
		for i := range n.Args {
			n.Args[i] = unwrapParens(n.Args[i])
			var inv bool
			inv, wraps[i] = markStepInvariant(n.Args[i], start, end)
			invariant = invariant && inv
		}
		if invariant {
			return true, true
		}
		for i, w := range wraps {
			if w {
				n.Args[i] = &parser.StepInvariantExpr{Expr: n.Args[i]}
			}
		}
		return false, false
	case *parser.ParenExpr:
		return markStepInvariant(n.Expr, start, end)
	case *parser.UnaryExpr:
		return markStepInvariant(n.Expr, start, end)
	case *parser.StringLiteral, *parser.NumberLiteral:
		return true, false
	case *parser.StepInvariantExpr:
		return true, false
	}
	return false, false
}

// subqueryTimes returns the summed offsets and ranges of the subqueries on
// path, and the @ time of the innermost subquery with one (nil if none).
// An @ on a subquery makes the offsets and ranges outside it irrelevant.
func subqueryTimes(path []parser.Node) (offset, rng time.Duration, ts *int64) {
	for _, node := range path {
		sq, ok := node.(*parser.SubqueryExpr)
		if !ok {
			continue
		}
		offset += sq.OriginalOffset
		rng += sq.Range
		if sq.Timestamp != nil {
			offset, rng, ts = sq.OriginalOffset, sq.Range, sq.Timestamp
		}
	}
	return offset, rng, ts
}

// setOffsetForAtModifier sets the Offset of every selector and subquery
// below expr so that evaluating at evalTime reads the data of its @ time:
// an @ is turned into an equivalent offset relative to evalTime.
func setOffsetForAtModifier(evalTime int64, expr parser.Expr) {
	offsetFor := func(ts *int64, original time.Duration, path []parser.Node) time.Duration {
		if ts == nil {
			return original
		}
		subqOffset, _, subqTs := subqueryTimes(path)
		if subqTs != nil {
			subqOffset += time.Duration(evalTime-*subqTs) * time.Millisecond
		}
		return original + time.Duration(evalTime-*ts)*time.Millisecond - subqOffset
	}
	parser.Inspect(expr, func(node parser.Node, path []parser.Node) error {
		switch n := node.(type) {
		case *parser.VectorSelector:
			n.Offset = offsetFor(n.Timestamp, n.OriginalOffset, path)
		case *parser.SubqueryExpr:
			n.Offset = offsetFor(n.Timestamp, n.OriginalOffset, path)
		}
		return nil
	})
}

// selectorTimeRange returns the time range [mint, maxt] a selector reads
// for a query from start to end, with evalRange the range of its range
// selector (0 for an instant selector).
func selectorTimeRange(n *parser.VectorSelector, path []parser.Node, start, end, lookback int64, evalRange time.Duration) (int64, int64) {
	subqOffset, subqRange, subqTs := subqueryTimes(path)
	if subqTs != nil {
		start, end = *subqTs, *subqTs
	}
	if n.Timestamp != nil {
		start, end = *n.Timestamp, *n.Timestamp
	} else {
		start -= subqOffset.Milliseconds() + subqRange.Milliseconds()
		end -= subqOffset.Milliseconds()
	}
	rng := evalRange.Milliseconds()
	switch {
	case evalRange == 0:
		// Samples exactly lookback before the evaluation time are out.
		start -= lookback - 1
		if n.Smoothed {
			end += lookback
		}
	case n.Anchored:
		start -= lookback + rng - 1
	case n.Smoothed:
		start -= lookback + rng - 1
		end += lookback
	default:
		start -= rng - 1
	}
	off := n.OriginalOffset.Milliseconds()
	return start - off, end - off
}

// findMinMaxTime returns the time range all selectors of expr read, for
// opening the querier; (0, 0) when there is no selector.
func findMinMaxTime(expr parser.Expr, start, end, lookback int64) (int64, int64) {
	mint, maxt := int64(math.MaxInt64), int64(math.MinInt64)
	var evalRange time.Duration
	parser.Inspect(expr, func(node parser.Node, path []parser.Node) error {
		switch n := node.(type) {
		case *parser.VectorSelector:
			s, e := selectorTimeRange(n, path, start, end, lookback, evalRange)
			mint, maxt = min(mint, s), max(maxt, e)
			evalRange = 0
		case *parser.MatrixSelector:
			evalRange = n.Range
		}
		return nil
	})
	if maxt == math.MinInt64 {
		return 0, 0
	}
	return mint, maxt
}

// selection is the series of one selector, selected before evaluation and
// read on first use.
type selection struct {
	set      storage.SeriesSet
	series   []storage.Series
	expanded bool
}

// selectSeries starts a Select for every selector of expr, with hints
// describing how the data will be used.
func (st *evalState) selectSeries(ctx context.Context, expr parser.Expr, start, end, interval, lookback int64, subqueryInterval func(int64) int64) {
	st.selections = map[*parser.VectorSelector]*selection{}
	var evalRange time.Duration
	parser.Inspect(expr, func(node parser.Node, path []parser.Node) error {
		switch n := node.(type) {
		case *parser.VectorSelector:
			rng := evalRange
			evalRange = 0
			if isInfoLabelSelector(n, path) {
				// info() reads its info series itself.
				return nil
			}
			s, e := selectorTimeRange(n, path, start, end, lookback, rng)
			step := interval
			for _, p := range path {
				if sq, ok := p.(*parser.SubqueryExpr); ok {
					step = sq.Step.Milliseconds()
					if step == 0 {
						step = subqueryInterval(sq.Range.Milliseconds())
					}
				}
			}
			hints := &storage.SelectHints{Start: s, End: e, Step: step, Range: rng.Milliseconds(), Func: funcFromPath(path)}
			if len(path) > 0 {
				if agg, ok := path[len(path)-1].(*parser.AggregateExpr); ok {
					hints.By, hints.Grouping = !agg.Without, agg.Grouping
				}
			}
			st.selections[n] = &selection{set: st.querier.Select(ctx, false, hints, n.LabelMatchers...)}
		case *parser.MatrixSelector:
			evalRange = n.Range
		}
		return nil
	})
}

// isInfoLabelSelector reports whether n is the label selector argument of
// info().
func isInfoLabelSelector(n *parser.VectorSelector, path []parser.Node) bool {
	if len(path) == 0 {
		return false
	}
	c, ok := path[len(path)-1].(*parser.Call)
	return ok && c.Func.Name == "info" && len(c.Args) > 1 && unwrapStepInvariant(c.Args[1]) == parser.Expr(n)
}

// funcFromPath returns the function or aggregation closest above a
// selector, stopping at binary operators, for the Func select hint.
func funcFromPath(path []parser.Node) string {
	for i := len(path) - 1; i >= 0; i-- {
		switch n := path[i].(type) {
		case *parser.AggregateExpr:
			return n.Op.String()
		case *parser.Call:
			return n.Func.Name
		case *parser.BinaryExpr:
			return ""
		}
	}
	return ""
}

func unwrapStepInvariant(e parser.Expr) parser.Expr {
	if s, ok := e.(*parser.StepInvariantExpr); ok {
		return s.Expr
	}
	return e
}
