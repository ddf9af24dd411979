package promql

import (
	"context"
	"math"
	"time"

	"github.com/vigil-monitoring/vigil/internal/model/labels"
	"github.com/vigil-monitoring/vigil/internal/promql/parser"
)

// functions maps names to implementations. label_replace, label_join,
// info, timestamp of a selector and the query-context functions (start,
// end, step, range) are handled by the engine itself.
var functions map[string]functionCall

func init() {
	functions = map[string]functionCall{
		"pi":     func([]Vector, Matrix, parser.Expressions, *evalNodeHelper) Vector { return Vector{{F: math.Pi}} },
		"time":   funcTime,
		"vector": funcVector,
		"scalar": funcScalar,
		"max_of": func(v []Vector, _ Matrix, _ parser.Expressions, enh *evalNodeHelper) Vector {
			return append(enh.out, Sample{F: math.Max(v[0][0].F, v[1][0].F)})
		},
		"min_of": func(v []Vector, _ Matrix, _ parser.Expressions, enh *evalNodeHelper) Vector {
			return append(enh.out, Sample{F: math.Min(v[0][0].F, v[1][0].F)})
		},
		"clamp":           funcClamp,
		"clamp_max":       funcClampMax,
		"clamp_min":       funcClampMin,
		"round":           funcRound,
		"absent":          funcAbsent,
		"timestamp":       funcTimestamp,
		"start_timestamp": funcStartTimestampOfExpr,

		"days_in_month": dateFunc(func(t time.Time) float64 {
			return float64(32 - time.Date(t.Year(), t.Month(), 32, 0, 0, 0, 0, time.UTC).Day())
		}),
		"day_of_month": dateFunc(func(t time.Time) float64 { return float64(t.Day()) }),
		"day_of_week":  dateFunc(func(t time.Time) float64 { return float64(t.Weekday()) }),
		"day_of_year":  dateFunc(func(t time.Time) float64 { return float64(t.YearDay()) }),
		"hour":         dateFunc(func(t time.Time) float64 { return float64(t.Hour()) }),
		"minute":       dateFunc(func(t time.Time) float64 { return float64(t.Minute()) }),
		"month":        dateFunc(func(t time.Time) float64 { return float64(t.Month()) }),
		"year":         dateFunc(func(t time.Time) float64 { return float64(t.Year()) }),

		"sort":               funcSort,
		"sort_desc":          funcSortDesc,
		"sort_by_label":      funcSortByLabel,
		"sort_by_label_desc": funcSortByLabelDesc,
	}
	for name, f := range elementwiseFunctions {
		functions[name] = mathFunc(f)
	}
	registerRangeFunctions()
	registerHistogramFunctions()
}

// elementwiseFunctions are the functions of one instant vector that map
// each float sample's value on its own and drop histograms. The engine
// applies them to whole series at once (evalElementwise).
var elementwiseFunctions = map[string]func(float64) float64{
	"abs":   math.Abs,
	"ceil":  math.Ceil,
	"floor": math.Floor,
	"exp":   math.Exp,
	"sqrt":  math.Sqrt,
	"ln":    math.Log,
	"log2":  math.Log2,
	"log10": math.Log10,
	"sin":   math.Sin,
	"cos":   math.Cos,
	"tan":   math.Tan,
	"asin":  math.Asin,
	"acos":  math.Acos,
	"atan":  math.Atan,
	"sinh":  math.Sinh,
	"cosh":  math.Cosh,
	"tanh":  math.Tanh,
	"asinh": math.Asinh,
	"acosh": math.Acosh,
	"atanh": math.Atanh,
	"rad":   func(v float64) float64 { return v * math.Pi / 180 },
	"deg":   func(v float64) float64 { return v * 180 / math.Pi },
	"sgn":   sgn,
}

// evalElementwise applies an elementwise function to the series of arg in
// place: the value of every float point is mapped, histogram points are
// dropped, and the labels of each series are computed once rather than at
// every step. The result is what rangeEval with mathFunc gives.
func (ev *evaluator) evalElementwise(ctx context.Context, arg parser.Expr, f func(float64) float64) Value {
	mat := ev.eval(ctx, arg).(Matrix)
	out := mat[:0]
	for _, s := range mat {
		if len(s.Histograms) > 0 {
			ev.st.currentSamples -= histogramPointsSize(s.Histograms)
			s.Histograms = nil
		}
		if len(s.Floats) == 0 {
			continue
		}
		for j := range s.Floats {
			s.Floats[j].F = f(s.Floats[j].F)
		}
		if !ev.st.delayedNameRemoval {
			s.Metric = dropMetadataLabels(s.Metric)
		}
		s.DropName = true
		out = append(out, s)
	}
	clear(mat[len(out):])
	if !ev.st.delayedNameRemoval {
		out = ev.mergeSeriesWithSameLabelset(out)
	}
	ev.updatePeak()
	return out
}

func sgn(v float64) float64 {
	switch {
	case v < 0:
		return -1
	case v > 0:
		return 1
	}
	return v // 0, -0 and NaN stay as they are.
}

// floatResult appends the result of a function applied to a float sample:
// histograms are skipped, and the metric name goes (now, or at the end
// with delayed name removal).
func (enh *evalNodeHelper) floatResult(s Sample, f float64) {
	m := s.Metric
	if !enh.delayedNameRemoval {
		m = dropMetadataLabels(m)
	}
	enh.out = append(enh.out, Sample{Metric: m, F: f, DropName: true})
}

// mathFunc makes a function applying f to every float sample.
func mathFunc(f func(float64) float64) functionCall {
	return func(vals []Vector, _ Matrix, _ parser.Expressions, enh *evalNodeHelper) Vector {
		for _, s := range vals[0] {
			if s.H == nil {
				enh.floatResult(s, f(s.F))
			}
		}
		return enh.out
	}
}

func funcTime(_ []Vector, _ Matrix, _ parser.Expressions, enh *evalNodeHelper) Vector {
	return append(enh.out, Sample{F: float64(enh.ts) / 1000})
}

func funcVector(vals []Vector, _ Matrix, _ parser.Expressions, enh *evalNodeHelper) Vector {
	return append(enh.out, Sample{Metric: labels.EmptyLabels(), F: vals[0][0].F})
}

// funcScalar returns the value of the one float sample of its argument,
// or NaN when there is none or more than one.
func funcScalar(vals []Vector, _ Matrix, _ parser.Expressions, enh *evalNodeHelper) Vector {
	v, found := math.NaN(), false
	for _, s := range vals[0] {
		if s.H != nil {
			continue
		}
		if found {
			return append(enh.out, Sample{F: math.NaN()})
		}
		v, found = s.F, true
	}
	return append(enh.out, Sample{F: v})
}

func clamp(vec Vector, lo, hi float64, enh *evalNodeHelper) Vector {
	if hi < lo {
		return enh.out
	}
	for _, s := range vec {
		if s.H == nil {
			enh.floatResult(s, math.Max(lo, math.Min(hi, s.F)))
		}
	}
	return enh.out
}

func funcClamp(vals []Vector, _ Matrix, _ parser.Expressions, enh *evalNodeHelper) Vector {
	return clamp(vals[0], vals[1][0].F, vals[2][0].F, enh)
}

func funcClampMax(vals []Vector, _ Matrix, _ parser.Expressions, enh *evalNodeHelper) Vector {
	return clamp(vals[0], math.Inf(-1), vals[1][0].F, enh)
}

func funcClampMin(vals []Vector, _ Matrix, _ parser.Expressions, enh *evalNodeHelper) Vector {
	return clamp(vals[0], vals[1][0].F, math.Inf(1), enh)
}

// funcRound rounds to the nearest multiple of its second argument (1 by
// default), ties upwards. Dividing by the inverse of the multiple gives
// fewer floating point surprises than multiplying by it.
func funcRound(vals []Vector, _ Matrix, args parser.Expressions, enh *evalNodeHelper) Vector {
	toNearest := 1.0
	if len(args) >= 2 {
		toNearest = vals[1][0].F
	}
	inv := 1 / toNearest
	for _, s := range vals[0] {
		if s.H == nil {
			enh.floatResult(s, math.Floor(s.F*inv+0.5)/inv)
		}
	}
	return enh.out
}

func funcAbsent(vals []Vector, _ Matrix, args parser.Expressions, enh *evalNodeHelper) Vector {
	if len(vals[0]) > 0 {
		return enh.out
	}
	return append(enh.out, Sample{Metric: absentLabels(args[0]), F: 1})
}

// absentLabels returns the labels absent() reports for its argument: those
// a selector requires with an equality matcher, unless it constrains the
// same label more than once.
func absentLabels(e parser.Expr) labels.Labels {
	var ms []*labels.Matcher
	switch n := unwrapParens(unwrapStepInvariant(e)).(type) {
	case *parser.VectorSelector:
		ms = n.LabelMatchers
	case *parser.MatrixSelector:
		ms = n.VectorSelector.(*parser.VectorSelector).LabelMatchers
	default:
		return labels.EmptyLabels()
	}
	b := labels.NewBuilder(labels.EmptyLabels())
	seen := map[string]bool{}
	for _, m := range ms {
		if m.Name == labels.MetricName {
			continue
		}
		if m.Type == labels.MatchEqual && !seen[m.Name] {
			b.Set(m.Name, m.Value)
			seen[m.Name] = true
		} else {
			b.Del(m.Name)
		}
	}
	return b.Labels()
}

// funcTimestamp returns the time of the samples of an expression, which is
// the evaluation time (selectors are handled by the engine).
func funcTimestamp(vals []Vector, _ Matrix, _ parser.Expressions, enh *evalNodeHelper) Vector {
	for _, s := range vals[0] {
		enh.floatResult(s, float64(s.T)/1000)
	}
	return enh.out
}

// funcStartTimestampOfExpr is start_timestamp() of anything but a
// selector: the results of operations have no start timestamps.
func funcStartTimestampOfExpr(_ []Vector, _ Matrix, _ parser.Expressions, enh *evalNodeHelper) Vector {
	return enh.out
}

// dateFunc makes a function of the date of its argument's values (seconds
// since the epoch) or, without argument, of the evaluation time.
func dateFunc(f func(time.Time) float64) functionCall {
	return func(vals []Vector, _ Matrix, _ parser.Expressions, enh *evalNodeHelper) Vector {
		if len(vals) == 0 {
			return append(enh.out, Sample{Metric: labels.EmptyLabels(), F: f(time.Unix(enh.ts/1000, 0).UTC())})
		}
		for _, s := range vals[0] {
			if s.H == nil {
				enh.floatResult(s, f(time.Unix(int64(s.F), 0).UTC()))
			}
		}
		return enh.out
	}
}
