package promqltest

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigil-monitoring/vigil/internal/model/histogram"
	"github.com/vigil-monitoring/vigil/internal/model/labels"
	"github.com/vigil-monitoring/vigil/internal/model/value"
	"github.com/vigil-monitoring/vigil/internal/promql"
	"github.com/vigil-monitoring/vigil/internal/promql/parser"
)

// NewTestEngine returns an engine configured as the test scripts assume:
// lookback 5m, @ and negative offsets on, delayed name removal, at most
// 10000 samples, subqueries without a step at 1m, every experimental
// language feature.
func NewTestEngine() *promql.Engine {
	return promql.NewEngine(promql.EngineOpts{
		MaxSamples:               10000,
		Timeout:                  100 * time.Second,
		LookbackDelta:            5 * time.Minute,
		NoStepSubqueryIntervalFn: func(int64) int64 { return time.Minute.Milliseconds() },
		EnableAtModifier:         true,
		EnableNegativeOffset:     true,
		EnableDelayedNameRemoval: true,
		EnablePerStepStats:       true,
		Parser:                   parser.NewParser(parser.AllFeatures),
	})
}

// CaseResult is the outcome of one eval command.
type CaseResult struct {
	Line int
	Expr string
	// Err is nil when the case passed.
	Err error
}

// Options tune a run.
type Options struct {
	// Engine evaluates the queries; nil means NewTestEngine().
	Engine *promql.Engine
	// NoVariants skips the @ modifier and range query re-checks of
	// instant queries.
	NoVariants bool
}

// Run executes a script and returns the result of every eval command. The
// error reports a script that cannot be parsed or loaded.
func Run(ctx context.Context, script string, opts Options) ([]CaseResult, error) {
	cmds, err := parseScript(script)
	if err != nil {
		return nil, err
	}
	engine := opts.Engine
	if engine == nil {
		engine = NewTestEngine()
	}
	st := newTestStorage()
	var results []CaseResult
	// A load that fails makes every later case fail with its error,
	// until the next clear.
	var loadErr error
	for _, c := range cmds {
		switch cmd := c.(type) {
		case *clearCmd:
			st = newTestStorage()
			loadErr = nil
		case *loadCmd:
			if err := cmd.load(ctx, st); err != nil && loadErr == nil {
				loadErr = err
			}
		case *evalCmd:
			if loadErr != nil {
				results = append(results, CaseResult{Line: cmd.at, Expr: cmd.expr, Err: fmt.Errorf("loading data: %w", loadErr)})
				continue
			}
			r := runner{ctx: ctx, engine: engine, st: st, variants: !opts.NoVariants}
			results = append(results, CaseResult{Line: cmd.at, Expr: cmd.expr, Err: r.run(cmd)})
		}
	}
	return results, nil
}

// RunFile runs the script at path as a test, one subtest per eval command.
func RunFile(t *testing.T, path string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	results, err := Run(context.Background(), string(data), Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range results {
		t.Run(fmt.Sprintf("line %d/%s", r.Line, r.Expr), func(t *testing.T) {
			if r.Err != nil {
				t.Error(r.Err)
			}
		})
	}
}

type runner struct {
	ctx      context.Context
	engine   *promql.Engine
	st       *testStorage
	variants bool
}

func ms(d time.Duration) time.Time { return time.UnixMilli(d.Milliseconds()).UTC() }

func (r *runner) run(cmd *evalCmd) error {
	if cmd.isRange {
		return r.runRange(cmd)
	}
	if err := r.runInstant(cmd, cmd.expr, ms(cmd.evalTime)); err != nil {
		return err
	}
	if !r.variants {
		return nil
	}
	exprs, times := atModifierVariants(cmd.expr, cmd.evalTime.Milliseconds())
	for _, t := range times {
		if err := r.runInstant(cmd, exprs, time.UnixMilli(t).UTC()); err != nil {
			return fmt.Errorf("@ variant at %d: %w", t, err)
		}
	}
	return nil
}

func (r *runner) runRange(cmd *evalCmd) error {
	q, err := r.engine.NewRangeQuery(r.ctx, r.st, nil, cmd.expr, ms(cmd.start), ms(cmd.end), cmd.step)
	if err != nil {
		return checkFailure(cmd, err)
	}
	defer q.Close()
	res := q.Exec(r.ctx)
	if res.Err != nil {
		return checkFailure(cmd, res.Err)
	}
	if cmd.fail != nil {
		return errors.New("expected the query to fail, but it did not")
	}
	if err := checkAnnotations(cmd, res.Warnings); err != nil {
		return err
	}
	mat, ok := res.Value.(promql.Matrix)
	if !ok {
		return fmt.Errorf("range query returned %T", res.Value)
	}
	return compareMatrix(cmd, mat, cmd.start, cmd.end, cmd.step)
}

func (r *runner) runInstant(cmd *evalCmd, expr string, at time.Time) error {
	q, err := r.engine.NewInstantQuery(r.ctx, r.st, nil, expr, at)
	if err != nil {
		return checkFailure(cmd, err)
	}
	defer q.Close()
	res := q.Exec(r.ctx)
	if res.Err != nil {
		return checkFailure(cmd, res.Err)
	}
	if cmd.fail != nil {
		return errors.New("expected the query to fail, but it did not")
	}
	if err := checkAnnotations(cmd, res.Warnings); err != nil {
		return err
	}
	if err := compareInstant(cmd, res.Value); err != nil {
		return err
	}
	if !r.variants || cmd.ordered || cmd.str != nil || cmd.isRangeVec || usesQueryContext(expr) {
		return nil
	}
	switch res.Value.(type) {
	case promql.Vector, promql.Scalar:
	default:
		return nil
	}
	// The same query as a range query must give the same result at the
	// instant.
	rq, err := r.engine.NewRangeQuery(r.ctx, r.st, nil, expr, at.Add(-time.Minute), at.Add(time.Minute), time.Minute)
	if err != nil {
		return fmt.Errorf("range mode: %w", err)
	}
	defer rq.Close()
	rres := rq.Exec(r.ctx)
	if rres.Err != nil {
		return fmt.Errorf("range mode: %w", rres.Err)
	}
	mat := rres.Value.(promql.Matrix)
	if !slices.IsSortedFunc(mat, func(a, b promql.Series) int { return labels.Compare(a.Metric, b.Metric) }) {
		return errors.New("range mode: matrix not sorted by labels")
	}
	t := at.UnixMilli()
	var vec promql.Vector
	for _, s := range mat {
		for _, p := range s.Floats {
			if p.T == t {
				vec = append(vec, promql.Sample{Metric: s.Metric, T: t, F: p.F})
			}
		}
		for _, p := range s.Histograms {
			if p.T == t {
				vec = append(vec, promql.Sample{Metric: s.Metric, T: t, H: p.H})
			}
		}
	}
	var v promql.Value = vec
	if _, ok := res.Value.(promql.Scalar); ok {
		if len(vec) != 1 {
			return fmt.Errorf("range mode: expected one scalar point at %d, got %d", t, len(vec))
		}
		v = promql.Scalar{T: t, V: vec[0].F}
	}
	if err := compareInstant(cmd, v); err != nil {
		return fmt.Errorf("range mode: %w", err)
	}
	return nil
}

// usesQueryContext reports whether a query depends on the query's start,
// end, step or range, which differ between an instant query and a range
// query around it.
func usesQueryContext(expr string) bool {
	for _, f := range []string{"start()", "end()", "step()", "range()"} {
		if strings.Contains(expr, f) {
			return true
		}
	}
	return false
}

// atModifierVariants returns the query with @ at the evaluation time on
// every selector and subquery that has none (outside subqueries with @),
// and the other times to evaluate it at, which must give the same result.
// Queries with functions of the evaluation time get no variants.
func atModifierVariants(exprStr string, t int64) (string, []int64) {
	if usesQueryContext(exprStr) {
		return "", nil
	}
	expr, err := parser.ParseExpr(exprStr)
	if err != nil {
		return "", nil
	}
	unsafe := false
	parser.Inspect(expr, func(node parser.Node, path []parser.Node) error {
		for _, p := range path {
			if sq, ok := p.(*parser.SubqueryExpr); ok && sq.Timestamp != nil {
				return nil
			}
		}
		at := func(ts **int64, se parser.ItemType) {
			if *ts == nil && se == 0 {
				v := t
				*ts = &v
			}
		}
		switch n := node.(type) {
		case *parser.VectorSelector:
			at(&n.Timestamp, n.StartOrEnd)
		case *parser.MatrixSelector:
			vs := n.VectorSelector.(*parser.VectorSelector)
			at(&vs.Timestamp, vs.StartOrEnd)
		case *parser.SubqueryExpr:
			at(&n.Timestamp, n.StartOrEnd)
		case *parser.Call:
			switch n.Func.Name {
			case "days_in_month", "day_of_month", "day_of_week", "day_of_year", "hour", "minute",
				"month", "year", "predict_linear", "time", "timestamp":
				unsafe = true
			}
		}
		return nil
	})
	if unsafe {
		return "", nil
	}
	times := []int64{-10 * t, 0, t / 5, t, 10 * t}
	if t == 0 {
		times = []int64{-1000, 0, 1000}
	}
	return expr.String(), times
}

func checkFailure(cmd *evalCmd, err error) error {
	if cmd.fail == nil {
		return fmt.Errorf("unexpected error: %w", err)
	}
	if !cmd.fail.matches(err.Error()) {
		return fmt.Errorf("expected error matching %s, got %q", cmd.fail, err.Error())
	}
	return nil
}

func checkAnnotations(cmd *evalCmd, annos promql.Annotations) error {
	var warnings, infos []string
	for _, a := range annos {
		if promql.IsInfo(a) {
			infos = append(infos, a.Error())
		} else {
			warnings = append(warnings, a.Error())
		}
	}
	if err := checkAnnotationsOfKind("warn", cmd.warnings, warnings); err != nil {
		return err
	}
	if err := checkAnnotationsOfKind("info", cmd.infos, infos); err != nil {
		return err
	}
	if cmd.noWarn && len(warnings) > 0 {
		return fmt.Errorf("unexpected warnings: %q", warnings)
	}
	if cmd.noInfo && len(infos) > 0 {
		return fmt.Errorf("unexpected infos: %q", infos)
	}
	return nil
}

func checkAnnotationsOfKind(kind string, expected []expectation, actual []string) error {
	if len(expected) == 0 {
		return nil
	}
	if len(actual) == 0 {
		return fmt.Errorf("expected %s annotations, got none", kind)
	}
	for _, e := range expected {
		if !slices.ContainsFunc(actual, e.matches) {
			return fmt.Errorf("expected %s annotation matching %s, got %q", kind, e, actual)
		}
	}
	for _, a := range actual {
		if !slices.ContainsFunc(expected, func(e expectation) bool { return e.matches(a) }) {
			return fmt.Errorf("unexpected %s annotation %q", kind, a)
		}
	}
	return nil
}

// almostEqual compares floats as the scripts require: both NaN, or within
// a relative 1e-6 (absolutely near zero).
func almostEqual(a, b float64) bool {
	const epsilon = 1e-6
	minNormal := math.Float64frombits(0x0010000000000000)
	if math.IsNaN(a) && math.IsNaN(b) {
		return true
	}
	if a == b {
		return true
	}
	absSum := math.Abs(a) + math.Abs(b)
	diff := math.Abs(a - b)
	if a == 0 || b == 0 || absSum < minNormal {
		return diff < epsilon*minNormal
	}
	return diff/math.Min(absSum, math.MaxFloat64) < epsilon
}

func floatsMatch(exp, got float64) bool {
	if value.IsStaleNaN(exp) || value.IsStaleNaN(got) {
		return value.IsStaleNaN(exp) && value.IsStaleNaN(got)
	}
	return almostEqual(exp, got)
}

// histogramsMatch compares schema, zero threshold and bucket layout
// exactly, counts and sum within tolerance, and the counter reset hint when
// the expectation has one.
func histogramsMatch(exp, got *histogram.FloatHistogram) bool {
	exp, got = exp.Copy().Compact(0), got.Copy().Compact(0)
	if exp.Schema != got.Schema || !almostEqual(exp.Count, got.Count) || !almostEqual(exp.Sum, got.Sum) {
		return false
	}
	if exp.UsesCustomBuckets() && !histogram.CustomBucketBoundsMatch(exp.CustomValues, got.CustomValues) {
		return false
	}
	if exp.ZeroThreshold != got.ZeroThreshold || !almostEqual(exp.ZeroCount, got.ZeroCount) {
		return false
	}
	if exp.CounterResetHint != histogram.UnknownCounterReset && exp.CounterResetHint != got.CounterResetHint {
		return false
	}
	return spansEqual(exp.PositiveSpans, got.PositiveSpans) && bucketsMatch(exp.PositiveBuckets, got.PositiveBuckets) &&
		spansEqual(exp.NegativeSpans, got.NegativeSpans) && bucketsMatch(exp.NegativeBuckets, got.NegativeBuckets)
}

func spansEqual(a, b []histogram.Span) bool {
	a, b = nonEmptySpans(a), nonEmptySpans(b)
	return slices.Equal(a, b)
}

// nonEmptySpans folds zero-length spans into the offset of the next one.
func nonEmptySpans(spans []histogram.Span) []histogram.Span {
	var out []histogram.Span
	var carry int32
	for _, s := range spans {
		if s.Length == 0 {
			carry += s.Offset
			continue
		}
		out = append(out, histogram.Span{Offset: s.Offset + carry, Length: s.Length})
		carry = 0
	}
	return out
}

func bucketsMatch(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !almostEqual(a[i], b[i]) {
			return false
		}
	}
	return true
}

func describe(h *histogram.FloatHistogram, f float64) string {
	if h != nil {
		return h.TestExpression()
	}
	return fmt.Sprint(f)
}

// compareInstant compares the result of an instant query.
func compareInstant(cmd *evalCmd, v promql.Value) error {
	switch val := v.(type) {
	case promql.String:
		if cmd.str == nil {
			return fmt.Errorf("unexpected string result %q", val.V)
		}
		if *cmd.str != val.V {
			return fmt.Errorf("expected string %q, got %q", *cmd.str, val.V)
		}
		return nil
	case promql.Scalar:
		if cmd.scalar == nil {
			return fmt.Errorf("unexpected scalar result %v", val.V)
		}
		if !floatsMatch(*cmd.scalar, val.V) {
			return fmt.Errorf("expected scalar %v, got %v", *cmd.scalar, val.V)
		}
		return nil
	case promql.Matrix:
		if !cmd.isRangeVec {
			if len(val) == 0 && len(cmd.series) == 0 && cmd.scalar == nil && cmd.str == nil {
				return nil
			}
			return fmt.Errorf("unexpected range vector result:\n%s", val)
		}
		return compareMatrix(cmd, val, cmd.rangeFrom, cmd.rangeTo, cmd.rangeStep)
	case promql.Vector:
		if cmd.scalar != nil || cmd.str != nil || cmd.isRangeVec {
			return fmt.Errorf("unexpected vector result:\n%s", val)
		}
		expected := make(map[labels.Labels]expectedSeries, len(cmd.series))
		for _, es := range cmd.series {
			expected[es.metric] = es
		}
		seen := make(map[labels.Labels]bool, len(val))
		for i, s := range val {
			es, ok := expected[s.Metric]
			if !ok {
				return fmt.Errorf("unexpected series %s with value %s", s.Metric, describe(s.H, s.F))
			}
			if seen[s.Metric] {
				return fmt.Errorf("series %s returned twice", s.Metric)
			}
			seen[s.Metric] = true
			if cmd.ordered && es.pos != i+1 {
				return fmt.Errorf("expected %s at position %d, got it at %d", s.Metric, es.pos, i+1)
			}
			if len(es.values) != 1 {
				return fmt.Errorf("expected %d values for %s in an instant query", len(es.values), s.Metric)
			}
			if err := compareValue(es.values[0], s.F, s.H, s.Metric); err != nil {
				return err
			}
		}
		for _, es := range cmd.series {
			if !seen[es.metric] {
				return fmt.Errorf("expected series %s not found", es.metric)
			}
		}
		return nil
	}
	return fmt.Errorf("unexpected result type %T", v)
}

func compareValue(exp parser.SequenceValue, f float64, h *histogram.FloatHistogram, metric labels.Labels) error {
	switch {
	case exp.Omitted:
		return fmt.Errorf("expected no value for %s, got %s", metric, describe(h, f))
	case exp.Histogram != nil && h == nil:
		return fmt.Errorf("expected histogram %s for %s, got float %v", exp.Histogram.TestExpression(), metric, f)
	case exp.Histogram == nil && h != nil:
		return fmt.Errorf("expected float %v for %s, got histogram %s", exp.Value, metric, h.TestExpression())
	case h != nil:
		if !histogramsMatch(exp.Histogram, h) {
			return fmt.Errorf("expected %s for %s, got %s", exp.Histogram.TestExpression(), metric, h.TestExpression())
		}
	default:
		if !floatsMatch(exp.Value, f) {
			return fmt.Errorf("expected %v for %s, got %v", exp.Value, metric, f)
		}
	}
	return nil
}

// compareMatrix compares a matrix whose points lie on the steps from start
// to end.
func compareMatrix(cmd *evalCmd, mat promql.Matrix, start, end, step time.Duration) error {
	if cmd.ordered {
		return errors.New("expected an ordered result, got a matrix")
	}
	if cmd.scalar != nil || cmd.str != nil {
		return fmt.Errorf("expected a scalar or string, got a matrix:\n%s", mat)
	}
	if !slices.IsSortedFunc(mat, func(a, b promql.Series) int { return labels.Compare(a.Metric, b.Metric) }) {
		return errors.New("matrix not sorted by labels")
	}
	expected := make(map[labels.Labels]expectedSeries, len(cmd.series))
	for _, es := range cmd.series {
		expected[es.metric] = es
	}
	seen := map[labels.Labels]bool{}
	for _, s := range mat {
		es, ok := expected[s.Metric]
		if !ok {
			return fmt.Errorf("unexpected series %s:\n%s", s.Metric, s)
		}
		if seen[s.Metric] {
			return fmt.Errorf("series %s returned twice", s.Metric)
		}
		seen[s.Metric] = true
		var floats []promql.FPoint
		var hists []promql.HPoint
		for i, v := range es.values {
			ts := start + time.Duration(i)*step
			if ts > end {
				return fmt.Errorf("expected %d points for %s, more than the steps of the query", len(es.values), s.Metric)
			}
			switch {
			case v.Omitted:
			case v.Histogram != nil:
				hists = append(hists, promql.HPoint{T: ts.Milliseconds(), H: v.Histogram})
			default:
				floats = append(floats, promql.FPoint{T: ts.Milliseconds(), F: v.Value})
			}
		}
		if len(floats) != len(s.Floats) || len(hists) != len(s.Histograms) {
			return fmt.Errorf("expected %d float and %d histogram points for %s, got:\n%s", len(floats), len(hists), s.Metric, s)
		}
		for i, p := range floats {
			got := s.Floats[i]
			if got.T != p.T || !floatsMatch(p.F, got.F) {
				return fmt.Errorf("expected %v at %d for %s, got %v at %d", p.F, p.T, s.Metric, got.F, got.T)
			}
		}
		for i, p := range hists {
			got := s.Histograms[i]
			if got.T != p.T || !histogramsMatch(p.H, got.H) {
				return fmt.Errorf("expected %s at %d for %s, got %s at %d", p.H.TestExpression(), p.T, s.Metric, got.H.TestExpression(), got.T)
			}
		}
	}
	for _, es := range cmd.series {
		if !seen[es.metric] {
			return fmt.Errorf("expected series %s not found", es.metric)
		}
	}
	return nil
}
