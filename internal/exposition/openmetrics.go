package exposition

import (
	"bytes"
	"fmt"
	"io"
	"unicode/utf8"

	"github.com/vigil-monitoring/vigil/internal/model/exemplar"
	"github.com/vigil-monitoring/vigil/internal/model/histogram"
	"github.com/vigil-monitoring/vigil/internal/model/labels"
)

// omParser parses OpenMetrics 1.0 text.
//
// In lenient mode (scraping) it follows the grammar as Prometheus'
// OpenMetrics parser does: single spaces between the parts of a line,
// HELP/TYPE/UNIT/EOF as the only `#` lines, a mandatory final `# EOF`,
// timestamps in float seconds, exemplars after ` # `, and the Prometheus
// extensions (quoted UTF-8 names, a trailing comma in label sets). It does
// not check the rules that span lines (family grouping, histogram
// structure, value ranges).
//
// In strict mode (Options.Strict) a validator checks every rule of the
// specification as well, on top of the same grammar; see omValidator.
type omParser struct {
	b    []byte
	pos  int // start of the next line
	line int // line number at pos
	err  error
	opts Options

	entry     Entry
	entryLine int // line the current entry started on

	// Metadata of the current HELP/TYPE/UNIT entry.
	metaName    span
	metaNameEsc bool
	text        []byte
	textEsc     bool
	mtype       MetricType

	// famName and famType come from the latest TYPE line. As in
	// Prometheus they decide le/quantile normalisation and which lines are
	// a family's _created samples.
	famName span
	famType MetricType

	cur  omSample
	peek omSample // lookahead for CreatedTimestamp

	fill      labelFiller
	exFill    labelFiller
	exBuilder labels.ScratchBuilder
	exDone    bool

	ct omCreatedCache

	// expect is the Expect hint and matched the hint the current sample's
	// series matched, which Series returns (see textParser).
	// labelsPending says the label set of a matched series has not been
	// parsed yet.
	expect, matched []byte
	labelsPending   bool

	v *omValidator // non-nil in strict mode

	// labelsArr and exLabelsArr back the current sample's label slices
	// for typical sizes, so a parse allocates nothing but the parser until
	// a line has more labels.
	labelsArr   [16]labelRef
	exLabelsArr [4]labelRef

	textBuf []byte
	nameBuf []byte
}

// omSample is one parsed sample line.
type omSample struct {
	lineStart int
	series    seriesRef
	valTok    span
	val       float64
	ts        int64
	hasTS     bool

	hasEx   bool
	ex      seriesRef // exemplar labels; no metric name
	exVal   float64
	exTS    int64
	exHasTS bool
}

// omCreatedCache remembers the outcome of the last lookahead for a
// _created line. The lookahead from a sample stops at the first _created
// line of the family (or at the family's end); every sample between the
// start of that scan and the stopping point would stop at the same place,
// so their answers follow from the cache without scanning again. That
// keeps CreatedTimestamp linear in the body even when many samples
// precede their family's first _created line.
type omCreatedCache struct {
	// [from, until) is the stretch the last scan covered.
	from, until int
	// found says the scan stopped at a _created line (at until) with
	// these labels and this value; otherwise the family ended there.
	found  bool
	series seriesRef
	ms     int64
}

// NewOpenMetricsParser returns a parser for a body in the OpenMetrics 1.0
// text format. The parser reads body in place: the caller must not modify
// it until done with the parser and every slice the parser returned.
func NewOpenMetricsParser(body []byte, opts Options) Parser {
	p := &omParser{b: body, line: 1, opts: opts, famType: MetricTypeUnknown, err: checkBodySize(body)}
	p.cur.series.labels = p.labelsArr[:0]
	p.cur.ex.labels = p.exLabelsArr[:0]
	if opts.Strict {
		p.v = newOMValidator()
	}
	return p
}

func (p *omParser) fail(line int, format string, args ...any) (Entry, error) {
	p.err = &ParseError{Line: line, Msg: fmt.Sprintf(format, args...)}
	return EntryInvalid, p.err
}

func (p *omParser) Next() (Entry, error) {
	for {
		e, err := p.next()
		if err != nil {
			return e, err
		}
		p.entry = e
		if e == EntrySeries {
			p.exDone = false
			if p.opts.SkipCreatedSeries && p.isCreatedSample(&p.cur.series) {
				continue // the hint is for the next sample returned
			}
			p.expect = nil
		}
		return e, nil
	}
}

func (p *omParser) next() (Entry, error) {
	if p.err != nil {
		return EntryInvalid, p.err
	}
	b := p.b
	i := p.pos
	p.entryLine = p.line
	if i >= len(b) {
		return p.fail(p.line, "unexpected end of input: the body must end with \"# EOF\"")
	}
	switch c := b[i]; {
	case c == '#':
		return p.parseMeta(i)
	case isMetricNameStart[c] || c == '{':
		p.labelsPending, p.matched = false, nil
		k := p.expect
		var next, nl int
		var err error
		if k != nil && p.matchesExpected(i, k) {
			next, nl, err = p.scanExpected(i, k)
		} else {
			next, nl, err = p.scanSample(i, p.line, &p.cur)
		}
		if err != nil {
			p.err = err
			return EntryInvalid, err
		}
		if p.v != nil {
			if err := p.v.sample(p, &p.cur); err != nil {
				p.err = err
				return EntryInvalid, err
			}
		}
		p.pos = next
		p.line += nl
		return EntrySeries, nil
	default:
		return p.fail(p.line, "expected a metric name, '{' or '#', got %s", describe(b, i))
	}
}

func hasPrefixAt(b []byte, i int, s string) bool {
	return len(b)-i >= len(s) && string(b[i:i+len(s)]) == s
}

// parseMeta parses a line starting with '#' at b[i].
func (p *omParser) parseMeta(i int) (Entry, error) {
	b := p.b
	if !hasPrefixAt(b, i, "# ") {
		return p.fail(p.line, "expected \"# \" to start a metadata line, got %s", describe(b, i))
	}
	j := i + 2
	if hasPrefixAt(b, j, "EOF") && (j+3 == len(b) || b[j+3] == '\n') {
		k := j + 3
		if k < len(b) {
			k++
		}
		if k != len(b) {
			return p.fail(p.line+1, "unexpected data after # EOF")
		}
		if p.v != nil {
			if err := p.v.finish(); err != nil {
				p.err = err
				return EntryInvalid, err
			}
		}
		p.pos = k
		p.err = io.EOF
		return EntryInvalid, io.EOF
	}
	var e Entry
	switch {
	case hasPrefixAt(b, j, "HELP "):
		e = EntryHelp
	case hasPrefixAt(b, j, "TYPE "):
		e = EntryType
	case hasPrefixAt(b, j, "UNIT "):
		e = EntryUnit
	default:
		return p.fail(p.line, "expected HELP, TYPE, UNIT or EOF after \"# \", got %s", describe(b, j))
	}
	kw := "HELP" // a constant, so error paths do not copy the keyword
	switch e {
	case EntryType:
		kw = "TYPE"
	case EntryUnit:
		kw = "UNIT"
	}
	j += 5
	nl := 0
	quoted := false
	switch {
	case j < len(b) && isMetricNameStart[b[j]]:
		s := j
		for j < len(b) && isMetricNameChar[b[j]] {
			j++
		}
		p.metaName, p.metaNameEsc = mkSpan(s, j), false
	case j < len(b) && b[j] == '"':
		end, esc, nonASCII, n := scanQuoted(b, j)
		if end < 0 {
			return p.fail(p.line, "unterminated quoted metric name after %s", kw)
		}
		if nonASCII && !utf8.Valid(b[j+1:end-1]) {
			return p.fail(p.line, "metric name %q is not valid UTF-8", b[j+1:end-1])
		}
		nl = n
		quoted = true
		p.metaName, p.metaNameEsc = mkSpan(j+1, end-1), esc
		j = end
	default:
		return p.fail(p.line, "expected metric name after %s, got %s", kw, describe(b, j))
	}
	if j >= len(b) || b[j] != ' ' {
		return p.fail(p.line+nl, "expected a space and text after the metric name in %s, got %s", kw, describe(b, j))
	}
	j++
	s := j
	end := bytes.IndexByte(b[j:], '\n')
	if end < 0 {
		return p.fail(p.line+nl, "%s line is not terminated by a newline", kw)
	}
	text := b[s : s+end]
	next := s + end + 1

	switch e {
	case EntryType:
		t, ok := parseOMType(text)
		if !ok {
			return p.fail(p.line+nl, "invalid metric type %q", text)
		}
		p.mtype = t
		p.famName, p.famType = p.metaName, t
		p.ct = omCreatedCache{series: p.ct.series} // a new family: forget the old one
	case EntryHelp:
		if !utf8.Valid(text) {
			return p.fail(p.line+nl, "help text %q is not valid UTF-8", text)
		}
		p.textEsc = bytes.IndexByte(text, '\\') >= 0
	case EntryUnit:
		m := p.metaName.of(b)
		if len(text) > 0 && !(len(m) > len(text) && bytes.HasSuffix(m, text) && m[len(m)-len(text)-1] == '_') {
			return p.fail(p.line+nl, "unit %q is not a suffix of metric %q", text, m)
		}
	}
	p.text = text
	if p.v != nil {
		if err := p.v.meta(p, e, quoted); err != nil {
			p.err = err
			return EntryInvalid, err
		}
	}
	p.pos = next
	p.line += nl + 1
	return e, nil
}

// parseOMType maps an OpenMetrics TYPE word to a MetricType. Unlike the text
// format, "untyped" is not a word OpenMetrics knows.
func parseOMType(t []byte) (MetricType, bool) {
	switch string(t) {
	case "counter":
		return MetricTypeCounter, true
	case "gauge":
		return MetricTypeGauge, true
	case "histogram":
		return MetricTypeHistogram, true
	case "gaugehistogram":
		return MetricTypeGaugeHistogram, true
	case "summary":
		return MetricTypeSummary, true
	case "info":
		return MetricTypeInfo, true
	case "stateset":
		return MetricTypeStateset, true
	case "unknown":
		return MetricTypeUnknown, true
	}
	return "", false
}

func omErr(line int, format string, args ...any) error {
	return &ParseError{Line: line, Msg: fmt.Sprintf(format, args...)}
}

// matchesExpected reports whether the series at b[i] is exactly k, the
// Expect hint. Only a k of a metric name and a label set is taken: parsing
// closes a label set at its last brace whatever follows, so b continuing
// with k is enough. A bare name costs little to parse, and the quoted name
// inside the braces is left to scanSample.
func (p *omParser) matchesExpected(i int, k []byte) bool {
	b := p.b
	return p.v == nil && len(k) > 0 && k[0] != '{' && k[len(k)-1] == '}' &&
		len(b)-i >= len(k) && bytes.Equal(b[i:i+len(k)], k)
}

// scanExpected is scanSample for the current sample when its series is
// k, the Expect hint: it records the metric name, leaves the label set
// for parsePendingLabels, and parses the rest of the line.
func (p *omParser) scanExpected(i int, k []byte) (int, int, error) {
	s := &p.cur
	sr := &s.series
	sr.reset()
	s.lineStart = i
	sr.raw = mkSpan(i, i+len(k))
	sr.name, sr.nameSet = mkSpan(i, i+bytes.IndexByte(k, '{')), true
	p.labelsPending, p.matched = true, k
	nl := 0
	if bytes.IndexByte(k, '\n') >= 0 { // a quoted label name may hold one
		nl = bytes.Count(k, []byte{'\n'})
	}
	next, n, err := p.scanValue(i+len(k), p.line+nl, s)
	return next, nl + n, err
}

// parsePendingLabels parses the label set of a series that matched the
// Expect hint, for the accessors that need it. The bytes parsed cleanly
// before, so this cannot fail unless the caller broke Expect's contract;
// then the error is kept for the next call to Next.
func (p *omParser) parsePendingLabels() {
	if !p.labelsPending {
		return
	}
	p.labelsPending = false
	sr := &p.cur.series
	raw := sr.raw
	i, _, err := p.scanLabels(int(sr.name.end)+1, p.entryLine, sr, false)
	if err == nil && i != int(raw.end) {
		err = omErr(p.entryLine, "series %q was expected but parses differently", raw.of(p.b))
	}
	if err != nil && p.err == nil {
		p.err = err
	}
}

// scanSample parses the sample line starting at b[i] (on line `line`) into
// s. It returns the start of the next line and the number of lines it
// consumed. It changes nothing but s, so CreatedTimestamp can use it to
// look ahead.
func (p *omParser) scanSample(i, line int, s *omSample) (int, int, error) {
	b := p.b
	sr := &s.series
	sr.reset()
	s.lineStart = i
	sr.raw.start = int32(i)
	nl := 0
	var err error
	var n int
	if b[i] != '{' {
		start := i
		for i < len(b) && isMetricNameChar[b[i]] {
			i++
		}
		sr.name, sr.nameSet = mkSpan(start, i), true
		sr.raw.end = int32(i)
		if i < len(b) && b[i] == '{' {
			if i, n, err = p.scanLabels(i+1, line, sr, false); err != nil {
				return 0, 0, err
			}
			nl += n
			sr.raw.end = int32(i)
		}
	} else {
		if i, n, err = p.scanLabels(i+1, line, sr, false); err != nil {
			return 0, 0, err
		}
		nl += n
		sr.raw.end = int32(i)
		if !sr.nameSet {
			return 0, 0, omErr(line+nl, "no metric name in series %q", sr.raw.of(b))
		}
	}
	next, n, err := p.scanValue(i, line+nl, s)
	return next, nl + n, err
}

// scanValue parses the rest of a sample line into s from b[i], just after
// the series: the value, an optional timestamp and exemplar, and the end
// of the line. It returns the start of the next line and the number of
// lines it consumed, counted from `line`, the line b[i] is on.
func (p *omParser) scanValue(i, line int, s *omSample) (int, int, error) {
	b := p.b
	nl := 0
	var err error
	var n int
	if i >= len(b) || b[i] != ' ' {
		return 0, 0, omErr(line+nl, "expected a space and a value after the series, got %s", describe(b, i))
	}
	i++
	v := i
	val, end, ok := parseFloatPrefix(b, i)
	if !ok || (end < len(b) && b[end] != ' ' && b[end] != '\n') {
		end = v
		for end < len(b) && b[end] != ' ' && b[end] != '\n' {
			end++
		}
		if end == v {
			return 0, 0, omErr(line+nl, "expected value after the series, got %s", describe(b, v))
		}
		if val, ok = parseFloatSlow(b[v:end]); !ok {
			return 0, 0, omErr(line+nl, "invalid value %q", b[v:end])
		}
	}
	i = end
	s.valTok, s.val = mkSpan(v, i), val
	s.hasTS, s.hasEx = false, false

	if i < len(b) && b[i] == ' ' && !hasPrefixAt(b, i, " # {") {
		i++
		t := i
		for i < len(b) && b[i] != ' ' && b[i] != '\n' {
			i++
		}
		if i == t {
			return 0, 0, omErr(line+nl, "expected timestamp or exemplar after the value, got %s", describe(b, i))
		}
		ts, e := parseSecondsAsMillis(b[t:i])
		switch e {
		case tsBadNumber:
			return 0, 0, omErr(line+nl, "invalid timestamp %q", b[t:i])
		case tsNotFinite:
			return 0, 0, omErr(line+nl, "invalid timestamp %q: not a finite number", b[t:i])
		}
		s.ts, s.hasTS = ts, true
	}
	if hasPrefixAt(b, i, " # {") {
		if i, n, err = p.scanExemplar(i+4, line+nl, s); err != nil {
			return 0, 0, err
		}
		nl += n
	}
	if i >= len(b) {
		return 0, 0, omErr(line+nl, "unexpected end of input: the body must end with \"# EOF\"")
	}
	if b[i] != '\n' {
		return 0, 0, omErr(line+nl, "expected end of line, got %s", describe(b, i))
	}
	return i + 1, nl + 1, nil
}

// scanExemplar parses an exemplar from b[i], just after " # {".
func (p *omParser) scanExemplar(i, line int, s *omSample) (int, int, error) {
	b := p.b
	s.ex.reset()
	i, nl, err := p.scanLabels(i, line, &s.ex, true)
	if err != nil {
		return 0, 0, err
	}
	if i >= len(b) || b[i] != ' ' {
		return 0, 0, omErr(line+nl, "expected a space and a value after the exemplar labels, got %s", describe(b, i))
	}
	i++
	v := i
	for i < len(b) && b[i] != ' ' && b[i] != '\n' {
		i++
	}
	if i == v {
		return 0, 0, omErr(line+nl, "expected exemplar value, got %s", describe(b, i))
	}
	val, ok := parseFloat(b[v:i])
	if !ok {
		return 0, 0, omErr(line+nl, "invalid exemplar value %q", b[v:i])
	}
	s.hasEx, s.exVal, s.exHasTS = true, val, false
	if i < len(b) && b[i] == ' ' {
		i++
		t := i
		for i < len(b) && b[i] != ' ' && b[i] != '\n' {
			i++
		}
		if i == t {
			return 0, 0, omErr(line+nl, "expected exemplar timestamp, got %s", describe(b, i))
		}
		ts, e := parseSecondsAsMillis(b[t:i])
		switch e {
		case tsBadNumber:
			return 0, 0, omErr(line+nl, "invalid exemplar timestamp %q", b[t:i])
		case tsNotFinite:
			return 0, 0, omErr(line+nl, "invalid exemplar timestamp %q: not a finite number", b[t:i])
		}
		s.exTS, s.exHasTS = ts, true
	}
	return i, nl, nil
}

// scanLabels parses a label set from b[i], just after '{', through the
// closing '}' and returns the index after it and the raw newlines it
// crossed. Unless exemplar is set, a quoted string followed by ',' or '}'
// is the metric name.
func (p *omParser) scanLabels(i, line int, sr *seriesRef, exemplar bool) (int, int, error) {
	b := p.b
	nl := 0
	// Append to a local slice and store it once (see textParser.parseLabels).
	ls := sr.labels
	defer func() { sr.labels = ls }()
	for {
		if i >= len(b) {
			return 0, 0, omErr(line+nl, "expected label name or '}', got end of input")
		}
		c := b[i]
		if c == '}' {
			return i + 1, nl, nil
		}
		var name span
		var nameEsc, nameQuoted bool
		switch {
		case isLabelNameStart[c]:
			start := i
			for i < len(b) && isLabelNameChar[b[i]] {
				i++
			}
			name = mkSpan(start, i)
		case c == '"':
			end, esc, nonASCII, n := scanQuoted(b, i)
			if end < 0 {
				return 0, 0, omErr(line+nl, "unterminated quoted name")
			}
			if nonASCII && !utf8.Valid(b[i+1:end-1]) {
				return 0, 0, omErr(line+nl, "name %q is not valid UTF-8", b[i+1:end-1])
			}
			nl += n
			name, nameEsc, nameQuoted = mkSpan(i+1, end-1), esc, true
			i = end
			if !exemplar && i < len(b) && (b[i] == ',' || b[i] == '}') {
				if sr.nameSet {
					return 0, 0, omErr(line+nl, "metric name given twice")
				}
				sr.name, sr.nameSet, sr.nameEsc, sr.nameQuoted = name, true, nameEsc, true
				if b[i] == ',' {
					i++
					if i < len(b) && b[i] == '}' {
						sr.trailingComma = true
					}
				}
				continue
			}
		default:
			return 0, 0, omErr(line+nl, "expected label name, got %s", describe(b, i))
		}
		if i >= len(b) || b[i] != '=' {
			return 0, 0, omErr(line+nl, "expected '=' after label name, got %s", describe(b, i))
		}
		i++
		if i >= len(b) || b[i] != '"' {
			return 0, 0, omErr(line+nl, "expected label value, got %s", describe(b, i))
		}
		end, esc, nonASCII, n := scanQuoted(b, i)
		if end < 0 || n > 0 {
			return 0, 0, omErr(line+nl, "expected label value, got an unterminated string")
		}
		if nonASCII && !utf8.Valid(b[i+1:end-1]) {
			return 0, 0, omErr(line+nl, "label value %q is not valid UTF-8", b[i+1:end-1])
		}
		ls = growLabels(ls)
		l := &ls[len(ls)-1]
		l.name, l.value = name, mkSpan(i+1, end-1)
		l.nameEsc, l.valueEsc, l.nameQuoted = nameEsc, esc, nameQuoted
		i = end
		if i < len(b) && b[i] == ',' {
			i++
			if i < len(b) && b[i] == '}' {
				sr.trailingComma = true
			}
		} else if i >= len(b) || b[i] != '}' {
			return 0, 0, omErr(line+nl, "expected ',' or '}' after label value, got %s", describe(b, i))
		}
	}
}

// typeHasCreated reports whether samples of a family of type t may carry a
// created timestamp in a _created line, as Prometheus reads them.
func typeHasCreated(t MetricType) bool {
	return t == MetricTypeCounter || t == MetricTypeHistogram || t == MetricTypeSummary
}

// isCreatedSample reports whether s is the _created sample of the current
// family.
func (p *omParser) isCreatedSample(s *seriesRef) bool {
	if !typeHasCreated(p.famType) {
		return false
	}
	name, fam := s.name.of(p.b), p.famName.of(p.b)
	return len(name) == len(fam)+8 && bytes.HasPrefix(name, fam) && string(name[len(fam):]) == "_created"
}

func (p *omParser) Series() ([]byte, *int64, float64) {
	raw := p.matched
	if raw == nil {
		raw = p.cur.series.raw.of(p.b)
	}
	if p.cur.hasTS {
		return raw, &p.cur.ts, p.cur.val
	}
	return raw, nil, p.cur.val
}

func (p *omParser) Histogram() ([]byte, *int64, *histogram.Histogram, *histogram.FloatHistogram) {
	return nil, nil, nil, nil
}

func (p *omParser) metaNameBytes() []byte {
	n := p.metaName.of(p.b)
	if p.metaNameEsc {
		p.nameBuf = appendUnescaped(p.nameBuf[:0], n, true)
		return p.nameBuf
	}
	return n
}

func (p *omParser) Help() ([]byte, []byte) {
	if p.textEsc {
		p.textBuf = appendUnescaped(p.textBuf[:0], p.text, true)
		return p.metaNameBytes(), p.textBuf
	}
	return p.metaNameBytes(), p.text
}

func (p *omParser) Type() ([]byte, MetricType) { return p.metaNameBytes(), p.mtype }

func (p *omParser) Unit() ([]byte, []byte) { return p.metaNameBytes(), p.text }

// Comment is never valid: OpenMetrics has no free comments.
func (p *omParser) Comment() []byte { return nil }

// Labels fills sb with strings that alias the body and the parser's scratch
// buffer (for unescaped or normalised values); call sb.Labels before the
// next call to Labels or Next.
func (p *omParser) Labels(sb *labels.ScratchBuilder) {
	p.parsePendingLabels()
	p.fill.fill(sb, p.b, &p.cur.series, p.famType, true, true)
}

// Expect implements Parser.
func (p *omParser) Expect(series []byte) { p.expect = series }

// Exemplar returns the sample's exemplar once; OpenMetrics allows at most
// one per sample.
func (p *omParser) Exemplar(e *exemplar.Exemplar) bool {
	if p.entry != EntrySeries || !p.cur.hasEx || p.exDone {
		return false
	}
	p.exDone = true
	p.exFill.fill(&p.exBuilder, p.b, &p.cur.ex, "", true, false)
	e.Labels = p.exBuilder.Labels()
	e.Value = p.cur.exVal
	e.Ts, e.HasTs = 0, false
	if p.cur.exHasTS {
		e.Ts, e.HasTs = p.cur.exTS, true
	}
	return true
}

// CreatedTimestamp finds the _created line of the current sample's series,
// as Prometheus does: it looks ahead within the family for the first
// _created line and takes it if its labels (without le or quantile) are
// the current sample's.
func (p *omParser) CreatedTimestamp() int64 {
	if p.entry != EntrySeries || !typeHasCreated(p.famType) {
		return 0
	}
	p.parsePendingLabels() // the lookahead compares label sets
	b := p.b
	cur := &p.cur
	name, fam := cur.series.name.of(b), p.famName.of(b)
	if !bytes.HasPrefix(name, fam) || p.isCreatedSample(&cur.series) {
		return 0
	}
	if cur.lineStart >= p.ct.from && cur.lineStart < p.ct.until {
		return p.createdFromCache(cur)
	}
	p.ct.from = cur.lineStart
	p.ct.found = false
	j, line := p.pos, p.line
	for j < len(b) && (isMetricNameStart[b[j]] || b[j] == '{') {
		next, nl, err := p.scanSample(j, line, &p.peek)
		if err != nil {
			break // Next will report it; until then no created timestamp
		}
		pn := p.peek.series.name.of(b)
		if !bytes.HasPrefix(pn, fam) {
			break
		}
		if p.isCreatedSample(&p.peek.series) {
			ms, e := parseSecondsAsMillis(p.peek.valTok.of(b))
			if e != tsOK {
				ms = 0
			}
			p.ct.found, p.ct.ms = true, ms
			p.ct.series, p.peek.series = p.peek.series, p.ct.series
			break
		}
		j, line = next, line+nl
	}
	p.ct.until = j
	return p.createdFromCache(cur)
}

// createdFromCache answers CreatedTimestamp for a sample inside the
// stretch the cache covers: the _created line that ended it is the
// sample's own or there is none.
func (p *omParser) createdFromCache(cur *omSample) int64 {
	if p.ct.found && p.sameIdentity(&cur.series, &p.ct.series) {
		return p.ct.ms
	}
	return 0
}

// sameIdentity compares two series of the current family label by label in
// input order, leaving out le for histograms and quantile for summaries, so
// a bucket matches its series' _created line.
func (p *omParser) sameIdentity(a, c *seriesRef) bool {
	b := p.b
	skip := ""
	switch p.famType {
	case MetricTypeHistogram:
		skip = labels.BucketLabel
	case MetricTypeSummary:
		skip = "quantile"
	}
	i, j := 0, 0
	for {
		for i < len(a.labels) && string(a.labels[i].name.of(b)) == skip {
			i++
		}
		for j < len(c.labels) && string(c.labels[j].name.of(b)) == skip {
			j++
		}
		if i == len(a.labels) || j == len(c.labels) {
			return i == len(a.labels) && j == len(c.labels)
		}
		x, y := &a.labels[i], &c.labels[j]
		if string(x.name.of(b)) != string(y.name.of(b)) || string(x.value.of(b)) != string(y.value.of(b)) {
			return false
		}
		i++
		j++
	}
}
