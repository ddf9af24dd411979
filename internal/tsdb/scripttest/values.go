package scripttest

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/vigil-monitoring/vigil/internal/model/histogram"
	"github.com/vigil-monitoring/vigil/internal/model/labels"
	"github.com/vigil-monitoring/vigil/internal/model/value"
	"github.com/vigil-monitoring/vigil/internal/promql/parser"
	"github.com/vigil-monitoring/vigil/internal/storage"
)

// minRunLen is the shortest run of floats output prints as T1..T2/STEP:V+D.
const minRunLen = 8

// sampleLine is an input line "SERIES SAMPLE...".
type sampleLine struct {
	line    int
	lset    labels.Labels
	series  string // as written, for messages
	samples []storage.Sample
}

// parseSampleLine parses "SERIES SAMPLE..." (at least one sample).
func parseSampleLine(in inputLine) (sampleLine, error) {
	toks, err := tokens(in.text)
	if err != nil {
		return sampleLine{}, err
	}
	lset, err := parseSeries(toks[0])
	if err != nil {
		return sampleLine{}, err
	}
	if len(toks) < 2 {
		return sampleLine{}, fmt.Errorf("series %s has no samples", toks[0])
	}
	sl := sampleLine{line: in.line, lset: lset, series: toks[0]}
	for _, tok := range toks[1:] {
		ss, err := parseSamples(tok)
		if err != nil {
			return sampleLine{}, err
		}
		sl.samples = append(sl.samples, ss...)
	}
	return sl, nil
}

// parseSeries parses a metric and drops labels with empty values.
func parseSeries(s string) (labels.Labels, error) {
	lset, err := parser.ParseMetric(s)
	if err != nil {
		return labels.Labels{}, fmt.Errorf("bad series %s: %w", s, err)
	}
	return lset.WithoutEmpty(), nil
}

// parseSamples parses one sample token, T:V or a run T1..T2/STEP:V[+D].
func parseSamples(tok string) ([]storage.Sample, error) {
	ts, vs, ok := strings.Cut(tok, ":")
	if !ok {
		return nil, fmt.Errorf("bad sample %q: want T:V", tok)
	}
	if from, rest, isRun := strings.Cut(ts, ".."); isRun {
		return parseRun(tok, from, rest, vs)
	}
	t, err := parseTime(ts)
	if err != nil {
		return nil, fmt.Errorf("sample %q: %w", tok, err)
	}
	smp, err := parseValue(vs)
	if err != nil {
		return nil, fmt.Errorf("sample %q: %w", tok, err)
	}
	smp.T = t
	return []storage.Sample{smp}, nil
}

func parseRun(tok, from, rest, vs string) ([]storage.Sample, error) {
	to, step, ok := strings.Cut(rest, "/")
	if !ok {
		return nil, fmt.Errorf("run %q: want T1..T2/STEP:V", tok)
	}
	t1, err := parseTime(from)
	if err != nil {
		return nil, fmt.Errorf("run %q: %w", tok, err)
	}
	t2, err := parseTime(to)
	if err != nil {
		return nil, fmt.Errorf("run %q: %w", tok, err)
	}
	st, err := parseTime(step)
	if err != nil {
		return nil, fmt.Errorf("run %q: %w", tok, err)
	}
	if st <= 0 || t2 < t1 || (t2-t1)%st != 0 {
		return nil, fmt.Errorf("run %q: need STEP > 0 and T2 = T1 + k*STEP with k >= 0", tok)
	}
	v0, d, err := parseIncrement(vs)
	if err != nil {
		return nil, fmt.Errorf("run %q: %w", tok, err)
	}
	n := (t2-t1)/st + 1
	if n > 1e6 {
		return nil, fmt.Errorf("run %q: %d samples is too many for a script", tok, n)
	}
	out := make([]storage.Sample, 0, n)
	for i := range n {
		out = append(out, storage.Sample{T: t1 + i*st, F: v0 + float64(i)*d})
	}
	return out, nil
}

// parseIncrement splits "V+D" or "V-D" at the last sign that is neither
// leading nor an exponent's; plain "V" has increment 0.
func parseIncrement(s string) (v, d float64, err error) {
	cut := -1
	for i := len(s) - 1; i > 0; i-- {
		if (s[i] == '+' || s[i] == '-') && s[i-1] != 'e' && s[i-1] != 'E' {
			cut = i
			break
		}
	}
	vs, ds := s, "0"
	if cut > 0 {
		vs, ds = s[:cut], s[cut:]
	}
	if v, err = strconv.ParseFloat(vs, 64); err != nil {
		return 0, 0, fmt.Errorf("bad value %q", vs)
	}
	if d, err = strconv.ParseFloat(ds, 64); err != nil {
		return 0, 0, fmt.Errorf("bad increment %q", ds)
	}
	if math.IsNaN(v) || math.IsInf(v, 0) || math.IsNaN(d) || math.IsInf(d, 0) {
		return 0, 0, fmt.Errorf("runs take finite values only")
	}
	return v, d, nil
}

// parseValue parses a float, NaN(0x...), stale, hstale, fhstale, {{...}}
// or f{{...}}.
func parseValue(s string) (storage.Sample, error) {
	switch s {
	case "stale":
		return storage.Sample{F: value.StaleNaN}, nil
	case "hstale":
		return storage.Sample{H: &histogram.Histogram{Sum: value.StaleNaN}}, nil
	case "fhstale":
		return storage.Sample{FH: &histogram.FloatHistogram{Sum: value.StaleNaN}}, nil
	}
	isFloat := strings.HasPrefix(s, "f{{")
	if isFloat || strings.HasPrefix(s, "{{") {
		fh, err := parseHistogram(strings.TrimPrefix(s, "f"))
		if err != nil {
			return storage.Sample{}, err
		}
		if isFloat {
			return storage.Sample{FH: fh}, nil
		}
		h, err := toIntHistogram(fh)
		if err != nil {
			return storage.Sample{}, fmt.Errorf("histogram %s: %w (write f{{...}} for a float histogram)", s, err)
		}
		return storage.Sample{H: h}, nil
	}
	if bits, ok := strings.CutPrefix(s, "NaN("); ok && strings.HasSuffix(bits, ")") {
		b, err := strconv.ParseUint(strings.TrimSuffix(bits, ")"), 0, 64)
		if f := math.Float64frombits(b); err != nil || !math.IsNaN(f) {
			return storage.Sample{}, fmt.Errorf("bad NaN %q: want NaN(0x...) with the bits of a NaN", s)
		}
		return storage.Sample{F: math.Float64frombits(b)}, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return storage.Sample{}, fmt.Errorf("bad value %q", s)
	}
	return storage.Sample{F: f}, nil
}

// parseHistogram parses one {{...}} with the PromQL series notation.
func parseHistogram(s string) (*histogram.FloatHistogram, error) {
	_, vals, err := parser.ParseSeriesDesc("x " + s)
	if err != nil {
		return nil, fmt.Errorf("bad histogram %s: %w", s, err)
	}
	if len(vals) != 1 || vals[0].Histogram == nil {
		return nil, fmt.Errorf("bad histogram %s: want exactly one {{...}}", s)
	}
	return vals[0].Histogram, nil
}

// toIntHistogram converts fh when every count is a non-negative integer.
func toIntHistogram(fh *histogram.FloatHistogram) (*histogram.Histogram, error) {
	isCount := func(f float64) bool { return f >= 0 && f == math.Trunc(f) && f < 1<<53 }
	if !isCount(fh.Count) || !isCount(fh.ZeroCount) {
		return nil, fmt.Errorf("count or zero bucket count is not a non-negative integer")
	}
	deltas := func(bs []float64) ([]int64, error) {
		var out []int64
		var prev int64
		for _, b := range bs {
			if !isCount(b) {
				return nil, fmt.Errorf("bucket count %g is not a non-negative integer", b)
			}
			out = append(out, int64(b)-prev)
			prev = int64(b)
		}
		return out, nil
	}
	pos, err := deltas(fh.PositiveBuckets)
	if err != nil {
		return nil, err
	}
	neg, err := deltas(fh.NegativeBuckets)
	if err != nil {
		return nil, err
	}
	return &histogram.Histogram{
		CounterResetHint: fh.CounterResetHint,
		Schema:           fh.Schema,
		ZeroThreshold:    fh.ZeroThreshold,
		ZeroCount:        uint64(fh.ZeroCount),
		Count:            uint64(fh.Count),
		Sum:              fh.Sum,
		PositiveSpans:    fh.PositiveSpans,
		NegativeSpans:    fh.NegativeSpans,
		PositiveBuckets:  pos,
		NegativeBuckets:  neg,
		CustomValues:     fh.CustomValues,
	}, nil
}

// formatSeries prints lset as a PromQL metric: the name, then the other
// labels in braces when there are any.
func formatSeries(lset labels.Labels) string {
	name := lset.Get(labels.MetricName)
	if name == "" || !labels.IsValidLegacyMetricName(name) {
		return lset.String()
	}
	rest := labels.NewBuilder(lset).Del(labels.MetricName).Labels()
	if rest.IsEmpty() {
		return name
	}
	return name + rest.String()
}

// formatSample prints one sample as T:V.
func formatSample(s storage.Sample) string {
	return strconv.FormatInt(s.T, 10) + ":" + formatValue(s)
}

func formatValue(s storage.Sample) string {
	switch {
	case s.H != nil:
		if value.IsStaleNaN(s.H.Sum) {
			return "hstale"
		}
		return s.H.ToFloat(nil).TestExpression()
	case s.FH != nil:
		if value.IsStaleNaN(s.FH.Sum) {
			return "fhstale"
		}
		return "f" + s.FH.TestExpression()
	}
	return formatFloat(s.F)
}

func formatFloat(f float64) string {
	switch {
	case value.IsStaleNaN(f):
		return "stale"
	case math.IsNaN(f):
		if math.Float64bits(f) == math.Float64bits(math.NaN()) {
			return "NaN"
		}
		return fmt.Sprintf("NaN(%#x)", math.Float64bits(f))
	case math.IsInf(f, 1):
		return "+Inf"
	case math.IsInf(f, -1):
		return "-Inf"
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

// formatSamples prints samples, collapsing long arithmetic runs of floats.
func formatSamples(ss []storage.Sample) string {
	var parts []string
	for i := 0; i < len(ss); {
		if n := runLen(ss[i:]); n >= minRunLen {
			first, last := ss[i], ss[i+n-1]
			step := ss[i+1].T - first.T
			d := ss[i+1].F - first.F
			p := fmt.Sprintf("%d..%d/%d:%s", first.T, last.T, step, formatFloat(first.F))
			if d != 0 {
				ds := formatFloat(d)
				if d > 0 {
					ds = "+" + ds
				}
				p += ds
			}
			parts = append(parts, p)
			i += n
			continue
		}
		parts = append(parts, formatSample(ss[i]))
		i++
	}
	return strings.Join(parts, " ")
}

// runLen returns how many leading samples of ss form a run that
// parseRun reproduces exactly: finite floats, a constant step and values
// v0 + i*d bit for bit.
func runLen(ss []storage.Sample) int {
	if len(ss) < 2 || ss[0].Type() != storage.ValFloat || ss[1].Type() != storage.ValFloat {
		return 1
	}
	v0, step, d := ss[0].F, ss[1].T-ss[0].T, ss[1].F-ss[0].F
	if math.IsNaN(v0) || math.IsInf(v0, 0) || math.IsNaN(d) || math.IsInf(d, 0) {
		return 1
	}
	// The increment must print and parse back to the same float.
	if back, err := strconv.ParseFloat(formatFloat(d), 64); err != nil || back != d {
		return 1
	}
	n := 1
	for n < len(ss) && ss[n].Type() == storage.ValFloat &&
		ss[n].T == ss[0].T+int64(n)*step &&
		math.Float64bits(ss[n].F) == math.Float64bits(v0+float64(n)*d) {
		n++
	}
	return n
}
