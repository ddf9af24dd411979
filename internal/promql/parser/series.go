package parser

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/vigil-monitoring/vigil/internal/model/histogram"
	"github.com/vigil-monitoring/vigil/internal/model/labels"
	"github.com/vigil-monitoring/vigil/internal/model/value"
)

// This file parses the series notation of PromQL test scripts and rule unit
// tests:
//
//	metric{a="b"}  1 2+3x4 _ _x2 stale -1m 1e3 Inf {{schema:0 sum:5 buckets:[1 2]}}x3
//
// A value sits at every step; "_" is a missing sample, "_xN" N missing
// samples, "axN" a repeated N+1 times, "a+bxN" / "a-bxN" the N+1 values a,
// a+b, ..., a+N*b, "stale" the staleness marker. Numbers may be signed, Inf,
// NaN or durations (1m is 60). Hexadecimal is not accepted: 0x5 would be
// ambiguous with the repetition syntax. Native histograms are written
// {{key:value ...}} with the keys schema, sum, count, z_bucket, z_bucket_w,
// buckets, offset, n_buckets, n_offset, custom_values and
// counter_reset_hint (unknown, reset, not_reset, gauge); missing keys are 0.
// "{{a}}xN" repeats a histogram and "{{a}}+{{b}}xN" adds b N times.

// SequenceValue is one step of a series description: a float, a native
// histogram, or nothing.
type SequenceValue struct {
	Value     float64
	Omitted   bool // No sample at this step ("_").
	Histogram *histogram.FloatHistogram
}

// String renders the value as in the notation (histograms briefly).
func (v SequenceValue) String() string {
	switch {
	case v.Omitted:
		return "_"
	case v.Histogram != nil:
		return fmt.Sprintf("{{schema:%d count:%g sum:%g}}", v.Histogram.Schema, v.Histogram.Count, v.Histogram.Sum)
	case value.IsStaleNaN(v.Value):
		return "stale"
	}
	return strconv.FormatFloat(v.Value, 'f', -1, 64)
}

// ParseSeriesDesc parses a series description into its label set (the
// metric name as __name__) and its values.
func ParseSeriesDesc(input string) (labels.Labels, []SequenceValue, error) {
	end := metricEnd(input)
	ls, err := parseLabelSet(input, end)
	if err != nil {
		return labels.Labels{}, nil, err
	}
	sp := seriesParser{input: input, pos: end, needBlank: strings.TrimSpace(input[:end]) != ""}
	vals, err := sp.values()
	if err != nil {
		return labels.Labels{}, nil, err
	}
	return ls, vals, nil
}

// ParseMetric parses a metric with its labels, such as `up{job="a"}` or
// `{__name__="up"}`, into a label set.
func ParseMetric(input string) (labels.Labels, error) {
	return parseLabelSet(input, len(input))
}

// metricEnd returns where the metric part of a series description ends:
// after the name and a label set glued to it. A "{" after a blank starts
// the values (a histogram).
func metricEnd(s string) int {
	i := 0
	for i < len(s) && isSpace(s[i]) {
		i++
	}
	if i < len(s) && (isAlpha(s[i]) || s[i] == ':') {
		for i < len(s) && (isAlphaNumeric(s[i]) || s[i] == ':') {
			i++
		}
	}
	if i >= len(s) || s[i] != '{' || strings.HasPrefix(s[i:], "{{") {
		return i
	}
	var quote byte
	for i++; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == '\\' && quote != '`' {
				i++
			} else if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'' || c == '`':
			quote = c
		case c == '}':
			return i + 1
		}
	}
	return len(s)
}

// parseLabelSet parses input[:end] as a metric name and/or a {name="value"}
// label set.
func parseLabelSet(input string, end int) (labels.Labels, error) {
	p := &parser{input: input, items: lex(input[:end])}
	var ls []labels.Label
	p.run(func() {
		if t := p.peek(); isMetricNameToken(t.Typ) {
			p.next()
			ls = append(ls, labels.Label{Name: labels.MetricName, Value: t.Val})
		}
		if p.peek().Typ == LEFT_BRACE {
			p.next()
			for p.peek().Typ != RIGHT_BRACE {
				t := p.peek()
				var name string
				switch t.Typ {
				case IDENTIFIER:
					name = t.Val
				case STRING:
					name = unquoteString(t.Val)
				default:
					p.unexpected("label set", `identifier or "}"`)
				}
				p.next()
				if t.Typ == STRING && p.peek().Typ != EQL {
					// A lone quoted string is the metric name: {"my.metric"}.
					ls = append(ls, labels.Label{Name: labels.MetricName, Value: name})
				} else {
					p.expect(EQL, "label set", `"="`)
					v := p.expect(STRING, "label set", "string")
					ls = append(ls, labels.Label{Name: name, Value: unquoteString(v.Val)})
				}
				switch p.peek().Typ {
				case COMMA:
					p.next()
				case RIGHT_BRACE:
				default:
					p.unexpected("label set", `"," or "}"`)
				}
			}
			p.next()
		}
		if p.peek().Typ != EOF {
			p.unexpected("", "")
		}
	})
	if len(p.errs) > 0 {
		return labels.Labels{}, p.errs
	}
	return labels.New(ls...), nil
}

// seriesParser scans the values of a series description.
type seriesParser struct {
	input string
	pos   int
	// needBlank is set when a metric precedes the values, which must
	// then be separated from it.
	needBlank bool
}

func (sp *seriesParser) errorf(at int, format string, args ...any) error {
	return ParseErrors{{
		PositionRange: PositionRange{Start: Pos(at), End: Pos(len(sp.input))},
		Err:           fmt.Errorf(format, args...),
		Query:         sp.input,
	}}
}

func (sp *seriesParser) peek() byte {
	if sp.pos < len(sp.input) {
		return sp.input[sp.pos]
	}
	return 0
}

func (sp *seriesParser) skipBlanks() {
	for sp.pos < len(sp.input) && isSpace(sp.input[sp.pos]) {
		sp.pos++
	}
}

func (sp *seriesParser) values() ([]SequenceValue, error) {
	out := []SequenceValue{}
	for first := true; ; first = false {
		start := sp.pos
		sp.skipBlanks()
		if sp.pos >= len(sp.input) {
			return out, nil
		}
		if first && sp.needBlank && sp.pos == start {
			return nil, sp.errorf(sp.pos, "unexpected character in series values: %q", sp.input[sp.pos])
		}
		var err error
		if out, err = sp.item(out); err != nil {
			return nil, err
		}
		if c := sp.peek(); c != 0 && !isSpace(c) {
			return nil, sp.errorf(sp.pos, "unexpected character in series values: %q", c)
		}
	}
}

// maxRepetitions bounds "xN" so that a typo cannot exhaust memory; test
// data never comes close.
const maxRepetitions = 1 << 22

// item appends the values of one whitespace-separated item.
func (sp *seriesParser) item(out []SequenceValue) ([]SequenceValue, error) {
	switch {
	case sp.peek() == '_':
		sp.pos++
		n := uint64(1)
		if sp.peek() == 'x' {
			sp.pos++
			var err error
			if n, err = sp.uint(); err != nil {
				return nil, err
			}
			if n > maxRepetitions {
				return nil, sp.errorf(sp.pos, "too many repetitions in series values: %d", n)
			}
		}
		for range n {
			out = append(out, SequenceValue{Omitted: true})
		}
		return out, nil
	case strings.HasPrefix(sp.input[sp.pos:], "{{"):
		return sp.histogramItem(out)
	}
	first := sp.pos
	v, stale, err := sp.number(true)
	if err != nil {
		return nil, err
	}
	if stale {
		return append(out, SequenceValue{Value: value.StaleNaN}), nil
	}
	inc := 0.0
	switch c := sp.peek(); c {
	case 'x':
	case '+', '-':
		sp.pos++
		if inc, _, err = sp.number(false); err != nil {
			return nil, err
		}
		if c == '-' {
			inc = -inc
		}
		if sp.peek() != 'x' {
			return nil, sp.errorf(sp.pos, "unexpected %s in series values, expected \"x\" after an increment", sp.describe())
		}
	default:
		return append(out, SequenceValue{Value: v}), nil
	}
	sp.pos++ // x
	n, err := sp.uint()
	if err != nil {
		return nil, err
	}
	if n > maxRepetitions {
		return nil, sp.errorf(first, "too many repetitions in series values: %d", n)
	}
	for i := uint64(0); i <= n; i++ {
		out = append(out, SequenceValue{Value: v})
		v += inc
	}
	return out, nil
}

func (sp *seriesParser) describe() string {
	if sp.pos >= len(sp.input) {
		return "end of input"
	}
	return strconv.Quote(sp.input[sp.pos : sp.pos+1])
}

// uint parses the repetition count after "x".
func (sp *seriesParser) uint() (uint64, error) {
	start := sp.pos
	for sp.pos < len(sp.input) && isDigit(sp.input[sp.pos]) {
		sp.pos++
	}
	if start == sp.pos {
		return 0, sp.errorf(start, "unexpected %s in series values, expected a repetition count", sp.describe())
	}
	n, err := strconv.ParseUint(sp.input[start:sp.pos], 10, 64)
	if err != nil {
		return 0, sp.errorf(start, "invalid repetition count %q: %v", sp.input[start:sp.pos], err)
	}
	return n, nil
}

// number parses a number, Inf, NaN or duration (as seconds); when signed
// is true also a leading sign and the word stale.
func (sp *seriesParser) number(signed bool) (v float64, stale bool, err error) {
	start := sp.pos
	neg := false
	if c := sp.peek(); signed && (c == '+' || c == '-') {
		neg = c == '-'
		sp.pos++
	}
	c := sp.peek()
	switch {
	case isAlpha(c):
		wordStart := sp.pos
		for sp.pos < len(sp.input) && isAlphaNumeric(sp.input[sp.pos]) {
			sp.pos++
		}
		word := sp.input[wordStart:sp.pos]
		switch strings.ToLower(word) {
		case "inf":
			v = math.Inf(1)
		case "nan":
			v = math.NaN()
		case "stale":
			if signed && wordStart == start {
				return 0, true, nil
			}
			fallthrough
		default:
			return 0, false, sp.errorf(wordStart, "unexpected identifier %q in series values, expected number or \"stale\"", word)
		}
	case isDigit(c) || (c == '.' && sp.pos+1 < len(sp.input) && isDigit(sp.input[sp.pos+1])):
		if v, err = sp.unsignedNumber(); err != nil {
			return 0, false, err
		}
	default:
		return 0, false, sp.errorf(sp.pos, "unexpected %s in series values, expected number", sp.describe())
	}
	if neg {
		v = -v
	}
	return v, false, nil
}

// unsignedNumber scans a decimal number or a duration. A duration's unit
// ends at an "x", which starts a repetition: 1mx4 is 60 repeated.
func (sp *seriesParser) unsignedNumber() (float64, error) {
	start := sp.pos
	digits := func() {
		for sp.pos < len(sp.input) && isDigit(sp.input[sp.pos]) {
			sp.pos++
		}
	}
	digits()
	if sp.peek() == '.' {
		sp.pos++
		digits()
	}
	if c := sp.peek(); c == 'e' || c == 'E' {
		sp.pos++
		if c := sp.peek(); c == '+' || c == '-' {
			sp.pos++
		}
		digits()
	}
	if strings.IndexByte("smhdwy", sp.peek()) >= 0 && sp.peek() != 0 {
		for sp.pos < len(sp.input) && (isDigit(sp.input[sp.pos]) || strings.IndexByte("smhdwy", sp.input[sp.pos]) >= 0) {
			sp.pos++
		}
		d, err := ParseDuration(sp.input[start:sp.pos])
		if err != nil {
			return 0, sp.errorf(start, "%v", err)
		}
		return d.Seconds(), nil
	}
	if c := sp.peek(); c != 'x' && isAlphaNumeric(c) {
		return 0, sp.errorf(start, "bad number or duration syntax: %q", sp.input[start:sp.pos+1])
	}
	f, err := strconv.ParseFloat(sp.input[start:sp.pos], 64)
	if err != nil {
		return 0, sp.errorf(start, "error parsing number: %v", err)
	}
	return f, nil
}

// histogramItem parses {{...}}, {{...}}xN and {{...}}(+|-){{...}}xN.
func (sp *seriesParser) histogramItem(out []SequenceValue) ([]SequenceValue, error) {
	base, err := sp.histogram()
	if err != nil {
		return nil, err
	}
	var inc *histogram.FloatHistogram
	sub := false
	switch c := sp.peek(); {
	case (c == '+' || c == '-') && strings.HasPrefix(sp.input[sp.pos+1:], "{{"):
		sub = c == '-'
		sp.pos++
		if inc, err = sp.histogram(); err != nil {
			return nil, err
		}
		if sp.peek() != 'x' {
			return nil, sp.errorf(sp.pos, "unexpected %s in series values, expected \"x\" after a histogram increment", sp.describe())
		}
	case c != 'x':
		return append(out, SequenceValue{Histogram: base}), nil
	}
	at := sp.pos
	sp.pos++ // x
	n, err := sp.uint()
	if err != nil {
		return nil, err
	}
	if n > maxRepetitions {
		return nil, sp.errorf(at, "too many repetitions in series values: %d", n)
	}
	cur := base
	for i := uint64(0); i <= n; i++ {
		if i > 0 {
			if inc == nil {
				cur = copyHistogram(base)
			} else if cur, err = addHistograms(cur, inc, sub); err != nil {
				return nil, sp.errorf(at, "error combining histograms: %v", err)
			}
		}
		out = append(out, SequenceValue{Histogram: cur})
	}
	return out, nil
}

// histogram parses one {{key:value ...}} description.
func (sp *seriesParser) histogram() (*histogram.FloatHistogram, error) {
	sp.pos += 2 // {{
	h := &histogram.FloatHistogram{}
	var offset, nOffset int64
	for {
		sp.skipBlanks()
		if strings.HasPrefix(sp.input[sp.pos:], "}}") {
			sp.pos += 2
			break
		}
		keyStart := sp.pos
		for sp.pos < len(sp.input) && (isAlpha(sp.input[sp.pos])) {
			sp.pos++
		}
		key := sp.input[keyStart:sp.pos]
		if key == "" || sp.peek() != ':' {
			return nil, sp.errorf(keyStart, "unexpected %s in histogram description, expected histogram description key, e.g. buckets:[5 10 7]", sp.describe())
		}
		sp.pos++
		var err error
		switch key {
		case "schema":
			var s int64
			s, err = sp.int()
			if err == nil && (s < math.MinInt32 || s > math.MaxInt32) {
				err = sp.errorf(keyStart, "schema %d out of range", s)
			}
			h.Schema = int32(s)
		case "offset":
			offset, err = sp.int()
		case "n_offset":
			nOffset, err = sp.int()
		case "sum":
			h.Sum, err = sp.float()
		case "count":
			h.Count, err = sp.float()
		case "z_bucket":
			h.ZeroCount, err = sp.float()
		case "z_bucket_w":
			h.ZeroThreshold, err = sp.float()
		case "buckets":
			h.PositiveBuckets, err = sp.bucketList()
		case "n_buckets":
			h.NegativeBuckets, err = sp.bucketList()
		case "custom_values":
			h.CustomValues, err = sp.bucketList()
		case "counter_reset_hint":
			h.CounterResetHint, err = sp.resetHint()
		default:
			err = sp.errorf(keyStart, "unknown histogram description key %q", key)
		}
		if err != nil {
			return nil, err
		}
		if c := sp.peek(); !isSpace(c) && !strings.HasPrefix(sp.input[sp.pos:], "}}") {
			return nil, sp.errorf(sp.pos, "unexpected %s in histogram description", sp.describe())
		}
	}
	if offset < math.MinInt32 || offset > math.MaxInt32 || nOffset < math.MinInt32 || nOffset > math.MaxInt32 {
		return nil, sp.errorf(sp.pos, "histogram bucket offset out of range")
	}
	// One span per side covers the listed buckets from the offset on.
	if len(h.PositiveBuckets) > 0 {
		h.PositiveSpans = []histogram.Span{{Offset: int32(offset), Length: uint32(len(h.PositiveBuckets))}}
	}
	if len(h.NegativeBuckets) > 0 {
		h.NegativeSpans = []histogram.Span{{Offset: int32(nOffset), Length: uint32(len(h.NegativeBuckets))}}
	}
	return h, nil
}

// float parses a signed number inside a histogram description.
func (sp *seriesParser) float() (float64, error) {
	start := sp.pos
	v, stale, err := sp.number(true)
	if err == nil && stale {
		err = sp.errorf(start, "stale is not allowed in a histogram description")
	}
	return v, err
}

func (sp *seriesParser) int() (int64, error) {
	start := sp.pos
	if c := sp.peek(); c == '-' || c == '+' {
		sp.pos++
	}
	for sp.pos < len(sp.input) && isDigit(sp.input[sp.pos]) {
		sp.pos++
	}
	n, err := strconv.ParseInt(sp.input[start:sp.pos], 10, 64)
	if err != nil {
		return 0, sp.errorf(start, "expected an integer in histogram description, got %q", sp.input[start:sp.pos])
	}
	return n, nil
}

// bucketList parses [n n ...].
func (sp *seriesParser) bucketList() ([]float64, error) {
	if sp.peek() != '[' {
		return nil, sp.errorf(sp.pos, "unexpected %s in histogram description, expected \"[\"", sp.describe())
	}
	sp.pos++
	out := []float64{}
	for {
		sp.skipBlanks()
		if sp.peek() == ']' {
			sp.pos++
			return out, nil
		}
		v, err := sp.float()
		if err != nil {
			return nil, err
		}
		out = append(out, v)
		if c := sp.peek(); c != ']' && !isSpace(c) {
			return nil, sp.errorf(sp.pos, "unexpected %s in bucket list", sp.describe())
		}
	}
}

func (sp *seriesParser) resetHint() (histogram.CounterResetHint, error) {
	start := sp.pos
	for sp.pos < len(sp.input) && isAlpha(sp.input[sp.pos]) {
		sp.pos++
	}
	switch w := sp.input[start:sp.pos]; w {
	case "unknown":
		return histogram.UnknownCounterReset, nil
	case "reset":
		return histogram.CounterReset, nil
	case "not_reset":
		return histogram.NotCounterReset, nil
	case "gauge":
		return histogram.GaugeType, nil
	default:
		return 0, sp.errorf(start, "error parsing counter_reset_hint: unknown value %q", w)
	}
}

func copyHistogram(h *histogram.FloatHistogram) *histogram.FloatHistogram {
	c := *h
	c.PositiveSpans = append([]histogram.Span(nil), h.PositiveSpans...)
	c.NegativeSpans = append([]histogram.Span(nil), h.NegativeSpans...)
	c.PositiveBuckets = append([]float64(nil), h.PositiveBuckets...)
	c.NegativeBuckets = append([]float64(nil), h.NegativeBuckets...)
	c.CustomValues = append([]float64(nil), h.CustomValues...)
	return &c
}

// bucket is a bucket index with its count.
type bucket struct {
	idx int32
	v   float64
}

// expandBuckets lists the buckets of a span layout in index order.
func expandBuckets(spans []histogram.Span, counts []float64) []bucket {
	out := make([]bucket, 0, len(counts))
	idx, k := int32(0), 0
	for _, s := range spans {
		idx += s.Offset
		for j := uint32(0); j < s.Length && k < len(counts); j++ {
			out = append(out, bucket{idx, counts[k]})
			idx++
			k++
		}
	}
	return out
}

// reduceSchema maps exponential buckets to a coarser schema, merging the
// buckets that fall together. Bucket i of schema s covers
// (2^((i-1)/2^s), 2^(i/2^s)], so it lands in bucket ((i-1)>>d)+1 of
// schema s-d.
func reduceSchema(bs []bucket, delta int32) []bucket {
	if delta == 0 {
		return bs
	}
	out := bs[:0:0]
	for _, b := range bs {
		idx := ((b.idx - 1) >> delta) + 1
		if n := len(out); n > 0 && out[n-1].idx == idx {
			out[n-1].v += b.v
			continue
		}
		out = append(out, bucket{idx, b.v})
	}
	return out
}

// upperBound returns the upper bound of exponential bucket idx.
func upperBound(idx, schema int32) float64 {
	return math.Exp2(float64(idx) * math.Exp2(-float64(schema)))
}

// mergeBuckets adds two index-ordered bucket lists.
func mergeBuckets(a, b []bucket, sign float64) []bucket {
	out := make([]bucket, 0, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case j >= len(b) || (i < len(a) && a[i].idx < b[j].idx):
			out = append(out, a[i])
			i++
		case i >= len(a) || b[j].idx < a[i].idx:
			out = append(out, bucket{b[j].idx, sign * b[j].v})
			j++
		default:
			out = append(out, bucket{a[i].idx, a[i].v + sign*b[j].v})
			i++
			j++
		}
	}
	return out
}

// collapseBuckets builds spans and counts from index-ordered buckets:
// consecutive indices share a span.
func collapseBuckets(bs []bucket) ([]histogram.Span, []float64) {
	if len(bs) == 0 {
		return nil, nil
	}
	var spans []histogram.Span
	counts := make([]float64, 0, len(bs))
	next := int32(0)
	for i, b := range bs {
		if i == 0 || b.idx != next {
			spans = append(spans, histogram.Span{Offset: b.idx - next, Length: 0})
		}
		spans[len(spans)-1].Length++
		counts = append(counts, b.v)
		next = b.idx + 1
	}
	return spans, counts
}

// widenZero moves the buckets of one side below the zero threshold z into
// the zero bucket. When z falls inside a populated bucket the threshold
// grows to that bucket's upper bound, so that no bucket straddles it. It
// returns the remaining buckets, the moved count and the threshold.
func widenZero(bs []bucket, schema int32, z float64) ([]bucket, float64, float64) {
	moved := 0.0
	for len(bs) > 0 {
		lower := upperBound(bs[0].idx-1, schema)
		if lower >= z {
			break
		}
		moved += bs[0].v
		if ub := upperBound(bs[0].idx, schema); ub > z {
			z = ub
		}
		bs = bs[1:]
	}
	return bs, moved, z
}

// addHistograms returns a + b, or a - b when sub is set, as a new
// histogram in a's schema. a's schema must not be finer than b's:
// buckets are only ever merged into a coarser schema.
func addHistograms(a, b *histogram.FloatHistogram, sub bool) (*histogram.FloatHistogram, error) {
	sign := 1.0
	if sub {
		sign = -1
	}
	aCustom, bCustom := a.Schema == histogram.CustomBucketsSchema, b.Schema == histogram.CustomBucketsSchema
	switch {
	case aCustom != bCustom:
		return nil, errors.New("cannot combine exponential and custom bucket histograms")
	case aCustom && !equalFloats(a.CustomValues, b.CustomValues):
		return nil, errors.New("cannot combine custom bucket histograms with different bounds")
	case a.Schema > b.Schema:
		return nil, fmt.Errorf("cannot merge from schema %d to %d", b.Schema, a.Schema)
	}
	res := &histogram.FloatHistogram{
		CounterResetHint: combineHints(a.CounterResetHint, b.CounterResetHint),
		Schema:           a.Schema,
		ZeroThreshold:    a.ZeroThreshold,
		ZeroCount:        a.ZeroCount + sign*b.ZeroCount,
		Count:            a.Count + sign*b.Count,
		Sum:              a.Sum + sign*b.Sum,
		CustomValues:     append([]float64(nil), a.CustomValues...),
	}
	delta := b.Schema - a.Schema
	aPos, aNeg := expandBuckets(a.PositiveSpans, a.PositiveBuckets), expandBuckets(a.NegativeSpans, a.NegativeBuckets)
	bPos := reduceSchema(expandBuckets(b.PositiveSpans, b.PositiveBuckets), delta)
	bNeg := reduceSchema(expandBuckets(b.NegativeSpans, b.NegativeBuckets), delta)
	if !aCustom && a.ZeroThreshold != b.ZeroThreshold {
		// The wider zero bucket wins; the other side's buckets inside it
		// move into it. Widening may go on until no bucket straddles it.
		z := math.Max(a.ZeroThreshold, b.ZeroThreshold)
		for {
			var m1, m2, m3, m4 float64
			prev := z
			aPos, m1, z = widenZero(aPos, res.Schema, z)
			aNeg, m2, z = widenZero(aNeg, res.Schema, z)
			bPos, m3, z = widenZero(bPos, res.Schema, z)
			bNeg, m4, z = widenZero(bNeg, res.Schema, z)
			res.ZeroCount += m1 + m2 + sign*(m3+m4)
			if z == prev {
				break
			}
		}
		res.ZeroThreshold = z
	}
	res.PositiveSpans, res.PositiveBuckets = collapseBuckets(mergeBuckets(aPos, bPos, sign))
	res.NegativeSpans, res.NegativeBuckets = collapseBuckets(mergeBuckets(aNeg, bNeg, sign))
	return res, nil
}

// combineHints returns the counter reset hint of a sum: equal hints stay,
// a gauge makes a gauge, and anything mixed with unknown or contradicting
// (reset and not_reset) is unknown.
func combineHints(a, b histogram.CounterResetHint) histogram.CounterResetHint {
	switch {
	case a == b:
		return a
	case a == histogram.GaugeType || b == histogram.GaugeType:
		return histogram.GaugeType
	default:
		return histogram.UnknownCounterReset
	}
}

func equalFloats(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] && !(math.IsNaN(a[i]) && math.IsNaN(b[i])) {
			return false
		}
	}
	return true
}
