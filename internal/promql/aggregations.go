package promql

import (
	"context"
	"encoding/binary"
	"errors"
	"math"
	"slices"
	"strconv"

	"github.com/vigil-monitoring/vigil/internal/model/histogram"
	"github.com/vigil-monitoring/vigil/internal/model/labels"
	"github.com/vigil-monitoring/vigil/internal/promql/parser"
)

// Bounds for converting a parameter to int64 without overflow.
const (
	maxInt64 = 9223372036854774784
	minInt64 = -9223372036854775808
)

// aggParams holds the parameter of topk, bottomk, limitk, limit_ratio and
// quantile at every step, and its extremes.
type aggParams struct {
	values        []float64
	min, max      float64
	hasNaN        bool
	constantValue float64
	constant      bool
}

func (ev *evaluator) aggParams(ctx context.Context, e parser.Expr) *aggParams {
	p := &aggParams{min: math.Inf(1), max: math.Inf(-1)}
	if e == nil {
		p.constant, p.constantValue = true, math.NaN()
		return p
	}
	if nl, ok := e.(*parser.NumberLiteral); ok {
		p.constant, p.constantValue = true, nl.Val
		p.min, p.max, p.hasNaN = nl.Val, nl.Val, math.IsNaN(nl.Val)
		return p
	}
	mat := ev.eval(ctx, e).(Matrix)
	p.values = make([]float64, ev.numSteps())
	for i := range p.values {
		p.values[i] = math.NaN()
	}
	if len(mat) > 0 {
		for _, pt := range mat[0].Floats {
			p.values[(pt.T-ev.startTimestamp)/ev.interval] = pt.F
		}
		recycleMatrix(mat)
	}
	for _, v := range p.values {
		if math.IsNaN(v) {
			p.hasNaN = true
			continue
		}
		p.min, p.max = min(p.min, v), max(p.max, v)
	}
	return p
}

func (p *aggParams) at(step int) float64 {
	if p.constant {
		return p.constantValue
	}
	return p.values[step]
}

// group is the state of one output group of an aggregation at one step.
type group struct {
	seen         bool
	floatValue   float64
	floatMean    float64
	kahanC       float64
	count        float64
	histValue    *histogram.FloatHistogram
	hasFloat     bool
	hasHistogram bool
	incompatible bool // Histograms of exponential and custom schemas met.
	incremental  bool // The mean is computed incrementally after an overflow.
	resetSeen    bool // A histogram with the CounterReset hint was added.
	notResetSeen bool // A histogram with the NotCounterReset hint was added.
	dropName     bool
	values       []float64 // For quantile.
	hists        []HPoint  // For sum and avg of histograms.
	heap         sampleHeap
	done         bool // For limitk: k samples found.
}

// groupingKey returns a key identifying the group of metric: the bytes of
// its grouping labels.
func groupingKey(metric labels.Labels, grouping []string, without bool, buf []byte) (string, []byte) {
	if without {
		_, buf = metric.HashWithoutLabels(buf, grouping...)
	} else if len(grouping) == 0 {
		return "", buf
	} else {
		_, buf = metric.HashForLabels(buf, grouping...)
	}
	return string(buf), buf
}

// groupingLabels returns the labels of the output series of metric's group.
func groupingLabels(lb *labels.Builder, metric labels.Labels, grouping []string, without bool) labels.Labels {
	switch {
	case without:
		lb.Reset(metric)
		lb.Del(grouping...)
		lb.Del(labels.MetricName)
		return lb.Labels()
	case len(grouping) > 0:
		lb.Reset(metric)
		lb.Keep(grouping...)
		return lb.Labels()
	}
	return labels.EmptyLabels()
}

func (ev *evaluator) evalAggregation(ctx context.Context, e *parser.AggregateExpr) Value {
	grouping := slices.Clone(e.Grouping)
	slices.Sort(grouping)
	if e.Op == parser.COUNT_VALUES {
		lit := unwrapParens(unwrapStepInvariant(e.Param)).(*parser.StringLiteral)
		if !isValidLabelName(lit.Val) {
			ev.errorf("invalid label name %s", lit)
		}
		if !e.Without {
			grouping = append(grouping, lit.Val)
			slices.Sort(grouping)
		}
		original := ev.st.currentSamples
		input := ev.eval(ctx, e.Expr).(Matrix)
		if res, ok := ev.countValuesOverSteps(ctx, newCountValues(e, grouping, lit.Val, false), input, original); ok {
			return res
		}
		cv := newCountValues(e, grouping, lit.Val, ev.startTimestamp != ev.endTimestamp)
		return ev.rangeEvalMatrices(ctx, original, nil, func(v []Vector, _ [][]int, enh *evalNodeHelper) Vector {
			return cv.step(v[0], enh)
		}, []Matrix{input})
	}
	original := ev.st.currentSamples
	params := ev.aggParams(ctx, e.Param)
	input := ev.eval(ctx, e.Expr).(Matrix)
	if res, ok := ev.seriesAggregation(ctx, e, grouping, input); ok {
		recycleMatrix(input)
		putMatrix(input)
		ev.st.currentSamples = original + res.TotalSamples()
		ev.updatePeak()
		return res
	}
	var consumed [][]FPoint
	if ev.startTimestamp != ev.endTimestamp {
		consumed = floatSlices(input, nil)
	}
	res := ev.rangeEvalAgg(ctx, e, grouping, input, params)
	recycleFloats(consumed)
	ev.st.currentSamples = original + res.TotalSamples()
	ev.updatePeak()
	return res
}

func isKAggregation(op parser.ItemType) bool {
	return op == parser.TOPK || op == parser.BOTTOMK || op == parser.LIMITK || op == parser.LIMIT_RATIO
}

// rangeEvalAgg aggregates the input at every step.
func (ev *evaluator) rangeEvalAgg(ctx context.Context, e *parser.AggregateExpr, grouping []string, input Matrix, params *aggParams) Matrix {
	lb := labels.NewBuilder(labels.EmptyLabels())
	var buf []byte
	groupIndex := map[string]int{}
	seriesGroup := make([]int, len(input))
	for i, s := range input {
		var key string
		key, buf = groupingKey(s.Metric, grouping, e.Without, buf)
		idx, ok := groupIndex[key]
		if !ok {
			idx = len(groupIndex)
			groupIndex[key] = idx
		}
		seriesGroup[i] = idx
	}
	var result Matrix
	if !isKAggregation(e.Op) {
		// Groups are numbered in order of first appearance; the result
		// is made at its size (grown by appends it was a third of what a
		// small aggregation allocated).
		result = make(Matrix, len(groupIndex))
		next := 0
		for i, g := range seriesGroup {
			if g == next {
				result[g] = Series{Metric: groupingLabels(lb, input[i].Metric, grouping, e.Without)}
				next++
			}
		}
	}
	groups := make([]group, len(groupIndex))

	var kResult map[labels.Labels]int
	var kSeries Matrix
	switch e.Op {
	case parser.TOPK, parser.BOTTOMK, parser.LIMITK:
		if params.max < 1 {
			return nil
		}
		if params.hasNaN {
			ev.errorf("Parameter value is NaN")
		}
		if params.min <= minInt64 {
			ev.errorf("Scalar value %v underflows int64", params.min)
		}
		if params.max >= maxInt64 {
			ev.errorf("Scalar value %v overflows int64", params.max)
		}
		kResult = map[labels.Labels]int{}
	case parser.LIMIT_RATIO:
		if params.max == 0 && params.min == 0 {
			return nil
		}
		if params.hasNaN {
			ev.errorf("Ratio value is NaN")
		}
		if params.max > 1 {
			ev.st.annos.Add(newInvalidRatioWarning(params.max, 1, e.Param.PositionRange()))
		}
		if params.min < -1 {
			ev.st.annos.Add(newInvalidRatioWarning(params.min, -1, e.Param.PositionRange()))
		}
		kResult = map[labels.Labels]int{}
	case parser.QUANTILE:
		if params.hasNaN {
			ev.st.annos.Add(newInvalidQuantileWarning(math.NaN(), e.Param.PositionRange()))
		}
		if params.max > 1 {
			ev.st.annos.Add(newInvalidQuantileWarning(params.max, e.Param.PositionRange()))
		}
		if params.min < 0 {
			ev.st.annos.Add(newInvalidQuantileWarning(params.min, e.Param.PositionRange()))
		}
	}

	enh := ev.newHelper()
	defer putHelper(enh)
	numSteps := ev.numSteps()
	temp := ev.st.currentSamples
	step := -1
	for ts := ev.startTimestamp; ts <= ev.endTimestamp; ts += ev.interval {
		step++
		ev.checkContext(ctx)
		ev.st.currentSamples = temp
		enh.ts = ts
		param := params.at(step)
		if isKAggregation(e.Op) {
			out := ev.aggregationK(e, param, input, seriesGroup, groups, enh)
			if ev.startTimestamp == ev.endTimestamp {
				// One series per sample, in the order of the vector.
				m := make(Matrix, len(out))
				for i, s := range out {
					m[i] = Series{Metric: s.Metric, DropName: s.DropName}
					if s.H != nil {
						m[i].Histograms = []HPoint{{T: ts, H: s.H}}
					} else {
						m[i].Floats = []FPoint{{T: ts, F: s.F}}
					}
				}
				return m
			}
			for _, s := range out {
				idx, ok := kResult[s.Metric]
				if !ok {
					idx = len(kSeries)
					kResult[s.Metric] = idx
					kSeries = append(kSeries, Series{Metric: s.Metric, DropName: s.DropName})
				}
				addSamplePoint(&kSeries[idx], ts, s, numSteps)
			}
		} else {
			ev.aggregation(e, param, input, result, seriesGroup, groups, enh, numSteps)
		}
		if ev.st.currentSamples > ev.st.maxSamples {
			ev.error(ErrTooManySamples(env))
		}
	}
	if isKAggregation(e.Op) {
		return kSeries
	}
	out := result[:0]
	for _, s := range result {
		if len(s.Floats)+len(s.Histograms) > 0 {
			out = append(out, s)
		}
	}
	return out
}

// addSamplePoint appends the sample as the point at ts of s, allocating
// the float points for all steps at once.
func addSamplePoint(s *Series, ts int64, smp Sample, numSteps int) {
	if smp.H != nil {
		s.Histograms = append(s.Histograms, HPoint{T: ts, H: smp.H})
		return
	}
	if s.Floats == nil {
		s.Floats = getFPoints(numSteps)
	}
	s.Floats = append(s.Floats, FPoint{T: ts, F: smp.F})
}

// nextValue takes the point of s at ts, if it has one, and advances s past
// it.
func nextValue(ts int64, s *Series) (float64, *histogram.FloatHistogram, bool) {
	switch {
	case len(s.Floats) > 0 && s.Floats[0].T == ts:
		f := s.Floats[0].F
		s.Floats = s.Floats[1:]
		return f, nil, true
	case len(s.Histograms) > 0 && s.Histograms[0].T == ts:
		h := s.Histograms[0].H
		s.Histograms = s.Histograms[1:]
		return 0, h, true
	}
	return 0, nil, false
}

// aggregation computes sum, avg, count, group, min, max, stddev, stdvar or
// quantile at one step and appends the values to the output series.
func (ev *evaluator) aggregation(e *parser.AggregateExpr, q float64, input, output Matrix, seriesGroup []int, groups []group, enh *evalNodeHelper, numSteps int) {
	op := e.Op
	pos := e.Expr.PositionRange()
	for i := range groups {
		groups[i].seen = false
	}
	ignored := func(name string) { enh.annos.Add(newHistogramIgnoredInAggregationInfo(name, pos)) }
	for si := range input {
		f, h, ok := nextValue(enh.ts, &input[si])
		if !ok {
			continue
		}
		g := &groups[seriesGroup[si]]
		if !g.seen {
			*g = group{seen: true, floatValue: f, floatMean: f, count: 1, dropName: input[si].DropName, values: g.values[:0]}
			switch op {
			case parser.SUM, parser.AVG:
				g.hists = g.hists[:0]
				if h == nil {
					g.hasFloat = true
				} else {
					g.histValue = h.Copy()
					g.hists = append(g.hists, HPoint{H: h})
					g.hasHistogram = true
					g.trackResetHint(h)
				}
			case parser.STDVAR, parser.STDDEV:
				switch {
				case h != nil:
					g.seen = false
					ignored(op.String())
				case math.IsNaN(f), math.IsInf(f, 0):
					g.floatValue = math.NaN()
				default:
					g.floatValue = 0
				}
			case parser.QUANTILE:
				if h != nil {
					g.seen = false
					ignored("quantile")
				}
				g.values = append(g.values, f)
			case parser.GROUP:
				g.floatValue = 1
			case parser.MIN, parser.MAX:
				if h != nil {
					g.seen = false
					ignored(op.String())
				}
			}
			continue
		}
		if g.incompatible {
			continue
		}
		if input[si].DropName {
			g.dropName = true
		}
		switch op {
		case parser.SUM, parser.AVG:
			if op == parser.AVG {
				g.count++
			}
			if h == nil {
				g.hasFloat = true
				if op == parser.SUM {
					g.floatValue, g.kahanC = kahanAdd(f, g.floatValue, g.kahanC)
				} else {
					g.addToMean(f)
				}
				break
			}
			g.hasHistogram = true
			if g.histValue != nil {
				// A group that also has floats is invalid anyway. The
				// plain sum finds incompatible histograms and the layout
				// of the compensated sum computed at the end.
				g.trackResetHint(h)
				_, _, reconciled, err := g.histValue.Add(h)
				if err != nil {
					ev.aggregationError(err, e, metricName(input[si].Metric))
					g.incompatible = true
					continue
				}
				if reconciled {
					enh.annos.Add(newMismatchedCustomBucketsHistogramsInfo(pos, histogramAgg))
				}
				g.hists = append(g.hists, HPoint{H: h})
			}
		case parser.GROUP:
		case parser.MAX:
			if h != nil {
				ignored("max")
				continue
			}
			if g.floatValue < f || math.IsNaN(g.floatValue) {
				g.floatValue = f
			}
		case parser.MIN:
			if h != nil {
				ignored("min")
				continue
			}
			if g.floatValue > f || math.IsNaN(g.floatValue) {
				g.floatValue = f
			}
		case parser.COUNT:
			g.count++
		case parser.STDVAR, parser.STDDEV:
			if h != nil {
				ignored(op.String())
				continue
			}
			g.count++
			delta := f - g.floatMean
			g.floatMean += delta / g.count
			g.floatValue += delta * (f - g.floatMean)
		case parser.QUANTILE:
			if h != nil {
				ignored("quantile")
				continue
			}
			g.values = append(g.values, f)
		default:
			ev.errorf("expected aggregation operator but got %q", op)
		}
	}

	for ri := range groups {
		g := &groups[ri]
		if !g.seen {
			continue
		}
		switch op {
		case parser.AVG:
			if g.hasFloat && g.hasHistogram {
				enh.annos.Add(newMixedFloatsHistogramsAggWarning(pos))
				continue
			}
			switch {
			case g.incompatible:
				continue
			case g.hasHistogram:
				if !g.kahanHistogram(true, e, ev) {
					continue
				}
			case g.incremental:
				g.floatValue = g.floatMean + g.kahanC
			default:
				g.floatValue = g.floatValue/g.count + g.kahanC/g.count
			}
		case parser.COUNT:
			g.floatValue = g.count
		case parser.STDVAR:
			g.floatValue /= g.count
		case parser.STDDEV:
			g.floatValue = math.Sqrt(g.floatValue / g.count)
		case parser.QUANTILE:
			g.floatValue = quantile(q, g.values)
		case parser.SUM:
			if g.hasFloat && g.hasHistogram {
				enh.annos.Add(newMixedFloatsHistogramsAggWarning(pos))
				continue
			}
			switch {
			case g.incompatible:
				continue
			case g.hasHistogram:
				if !g.kahanHistogram(false, e, ev) {
					continue
				}
			default:
				g.floatValue += g.kahanC
			}
		}
		if g.resetSeen && g.notResetSeen {
			enh.annos.Add(newHistogramCounterResetCollisionWarning(pos, histogramAgg))
		}
		s := &output[ri]
		if g.histValue != nil && (op == parser.SUM || op == parser.AVG) {
			s.Histograms = append(s.Histograms, HPoint{T: enh.ts, H: g.histValue})
		} else {
			if s.Floats == nil {
				s.Floats = getFPoints(numSteps)
			}
			s.Floats = append(s.Floats, FPoint{T: enh.ts, F: g.floatValue})
		}
		s.DropName = g.dropName
		ev.st.currentSamples++
	}
}

// kahanHistogram replaces the plain sum of the group's histograms by their
// compensated sum or mean; false means they could not be combined.
func (g *group) kahanHistogram(mean bool, e *parser.AggregateExpr, ev *evaluator) bool {
	layout := newHistogramLayout(g.histValue)
	fields := make([][]float64, len(g.hists))
	for i, p := range g.hists {
		f, err := layout.fields(p.H)
		if err != nil {
			ev.aggregationError(err, e, "")
			return false
		}
		fields[i] = f
	}
	if mean {
		g.histValue = layout.histogram(kahanMeanFields(fields), g.histValue.CounterResetHint)
	} else {
		g.histValue = layout.histogram(kahanSumFields(fields), g.histValue.CounterResetHint)
	}
	return true
}

func (g *group) trackResetHint(h *histogram.FloatHistogram) {
	switch h.CounterResetHint {
	case histogram.CounterReset:
		g.resetSeen = true
	case histogram.NotCounterReset:
		g.notResetSeen = true
	}
}

// addToMean adds a float to an average: a compensated sum while it stays
// finite (the more accurate way), an incremental mean after that.
func (g *group) addToMean(f float64) {
	g.floatValue, g.floatMean, g.kahanC, g.incremental = addToMean(f, g.floatValue, g.floatMean, g.kahanC, g.count, g.incremental)
}

// addToMean is group.addToMean on the fields it uses: the sum, the mean,
// their compensation, the count with f included, and whether the mean is
// incremental.
func addToMean(f, sum, mean, c, count float64, incremental bool) (float64, float64, float64, bool) {
	if !incremental {
		s, sc := kahanAdd(f, sum, c)
		if !math.IsInf(s, 0) {
			return s, mean, sc, false
		}
		incremental = true
		mean = sum / (count - 1)
		c /= count - 1
	}
	q := (count - 1) / count
	mean, c = kahanAdd(f/count, q*mean, q*c)
	return sum, mean, c, incremental
}

// aggregationError reports histograms that cannot be aggregated together.
func (ev *evaluator) aggregationError(err error, e *parser.AggregateExpr, name string) {
	if errors.Is(err, histogram.ErrHistogramsIncompatibleSchema) {
		ev.st.annos.Add(newMixedExponentialCustomHistogramsWarning(name, e.Expr.PositionRange()))
	}
}

// countValues evaluates count_values over the steps of a query: per
// group, the number of series with each value, the value in the label
// given. It keeps its scratch space between steps, and builds label sets
// only for groups it has not seen at the step, so that a step allocates
// little more than its output.
type countValues struct {
	e          *parser.AggregateExpr
	grouping   []string
	valueLabel string
	// keyGrouping selects the labels of an input series that, with the
	// value (when includeValue), identify its group. The value label is
	// left out of it, as the value replaces it.
	keyGrouping  []string
	includeValue bool

	// baseKeys caches the keyGrouping bytes of input series, which
	// recur from step to step; nil for a single step.
	baseKeys map[labels.Labels]string
	// known caches the output labels of the groups seen at any step by
	// their key; the key string itself is kept to index groups without
	// allocating. nil for a single step.
	known  map[string]countValuesGroup
	groups map[string]int // group key -> index into the step's output
	buf    []byte
	lb     *labels.Builder
}

// newCountValues prepares count_values; the caches pay only when there
// are several steps.
func newCountValues(e *parser.AggregateExpr, grouping []string, valueLabel string, steps bool) *countValues {
	c := &countValues{
		e: e, grouping: grouping, valueLabel: valueLabel,
		groups: map[string]int{},
		lb:     labels.NewBuilder(labels.EmptyLabels()),
	}
	if steps {
		c.baseKeys = map[labels.Labels]string{}
		c.known = map[string]countValuesGroup{}
	}
	if e.Without {
		c.keyGrouping = append(slices.Clone(grouping), valueLabel)
		slices.Sort(c.keyGrouping)
		c.includeValue = !slices.Contains(grouping, valueLabel)
	} else {
		for _, g := range grouping {
			if g != valueLabel {
				c.keyGrouping = append(c.keyGrouping, g)
			}
		}
		c.includeValue = true
	}
	return c
}

func (c *countValues) step(vec Vector, enh *evalNodeHelper) Vector {
	clear(c.groups)
	for _, s := range vec {
		base, ok := c.baseKeys[s.Metric]
		if !ok {
			if c.e.Without || len(c.keyGrouping) > 0 {
				base, c.buf = groupingKey(s.Metric, c.keyGrouping, c.e.Without, c.buf)
			}
			if c.baseKeys != nil {
				c.baseKeys[s.Metric] = base
			}
		}
		c.buf = binary.AppendUvarint(c.buf[:0], uint64(len(base)))
		c.buf = append(c.buf, base...)
		valueStart := len(c.buf)
		if s.H == nil {
			c.buf = strconv.AppendFloat(c.buf, s.F, 'f', -1, 64)
		} else {
			c.buf = append(c.buf, s.H.String()...)
		}
		value := c.buf[valueStart:]
		if !c.includeValue {
			c.buf = c.buf[:valueStart]
		}
		if i, ok := c.groups[string(c.buf)]; ok {
			enh.out[i].F++
			continue
		}
		g, ok := c.known[string(c.buf)]
		if !ok {
			// The group's labels are built in one go: the series' labels
			// with the value set, then grouped. Without grouping labels
			// that is the value label alone (the value is never empty).
			var metric labels.Labels
			if !c.e.Without && len(c.grouping) == 1 && c.grouping[0] == c.valueLabel {
				metric = labels.FromStrings(c.valueLabel, string(value))
			} else {
				c.lb.Reset(s.Metric)
				c.lb.Set(c.valueLabel, string(value))
				if c.e.Without {
					c.lb.Del(c.grouping...)
					c.lb.Del(labels.MetricName)
				} else {
					c.lb.Keep(c.grouping...)
				}
				metric = c.lb.Labels()
			}
			g = countValuesGroup{key: string(c.buf), metric: metric}
			if c.known != nil {
				c.known[g.key] = g
			}
		}
		c.groups[g.key] = len(enh.out)
		enh.out = append(enh.out, Sample{Metric: g.metric, F: 1})
	}
	return enh.out
}

type countValuesGroup struct {
	key    string
	metric labels.Labels
}
