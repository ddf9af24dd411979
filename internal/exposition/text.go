package exposition

import (
	"bytes"
	"fmt"
	"io"
	"slices"
	"unicode/utf8"

	"github.com/vigil-monitoring/vigil/internal/model/exemplar"
	"github.com/vigil-monitoring/vigil/internal/model/histogram"
	"github.com/vigil-monitoring/vigil/internal/model/labels"
)

// textParser parses the Prometheus text format 0.0.4 (and its 1.0.0
// variant, which only adds quoted UTF-8 names) with Prometheus' leniency:
// blank lines, spaces and tabs between tokens, any `#` line that is not
// HELP or TYPE is a comment, a trailing comma in label sets, timestamps in
// integer milliseconds.
//
// Beyond Prometheus it also takes CRLF line ends and a sign on timestamps;
// neither changes the meaning of anything Prometheus accepts.
//
// In strict mode it also refuses a label name given twice in one series.
type textParser struct {
	b    []byte
	pos  int // start of the next line to parse
	line int // line number at pos
	err  error
	opts Options

	// Metadata of the current HELP/TYPE entry and the current comment.
	metaName    span
	metaNameEsc bool
	text        []byte // help text (still escaped) or comment line
	textEsc     bool
	mtype       MetricType // from the latest TYPE line; also drives le/quantile normalisation

	series seriesRef
	val    float64
	ts     int64
	hasTS  bool

	// expect is the Expect hint, and matched the hint the current series
	// matched, which Series returns: equal bytes at the caller's own
	// address compare equal at once when the caller looks them up.
	// labelsPending says the label set of a matched series has not been
	// parsed yet.
	expect, matched []byte
	labelsPending   bool

	// labelsArr backs series.labels for typical label sets, so a parse
	// allocates nothing but the parser until a line has more labels.
	labelsArr [16]labelRef

	fill    labelFiller
	textBuf []byte // unescaped help text
	nameBuf []byte // unescaped quoted metric name of HELP/TYPE
}

// NewTextParser returns a parser for a body in the Prometheus text format.
// The parser reads body in place: the caller must not modify it until done
// with the parser and every slice the parser returned.
func NewTextParser(body []byte, opts Options) Parser {
	p := &textParser{b: body, line: 1, opts: opts, mtype: MetricTypeUnknown, err: checkBodySize(body)}
	p.series.labels = p.labelsArr[:0]
	return p
}

func (p *textParser) errorf(format string, args ...any) error {
	p.err = &ParseError{Line: p.line, Msg: fmt.Sprintf(format, args...)}
	return p.err
}

// isBlank reports whether c is whitespace between tokens. Carriage returns
// count as blank so CRLF bodies parse.
func isBlank(c byte) bool { return textBlank[c] }

// textBlank and textValueEnd are byte classes of the text format: the
// blanks between tokens, and the bytes that end a value.
var textBlank, textValueEnd [256]bool

func init() {
	for _, c := range []byte{' ', '\t', '\r'} {
		textBlank[c] = true
		textValueEnd[c] = true
	}
	textValueEnd['\n'] = true
	textValueEnd['{'] = true
}

func (p *textParser) skipBlanks(i int) int {
	for i < len(p.b) && isBlank(p.b[i]) {
		i++
	}
	return i
}

// endOfLine expects only blanks up to the end of the line at i, consumes
// the newline and returns the start of the next line.
func (p *textParser) endOfLine(i int, what string) (int, error) {
	i = p.skipBlanks(i)
	if i >= len(p.b) {
		return i, nil
	}
	if p.b[i] != '\n' {
		return i, p.errorf("expected end of line after %s, got %s", what, describe(p.b, i))
	}
	p.line++
	return i + 1, nil
}

func (p *textParser) Next() (Entry, error) {
	if p.err != nil {
		return EntryInvalid, p.err
	}
	b := p.b
	i := p.pos
	for {
		i = p.skipBlanks(i)
		if i >= len(b) {
			p.pos = i
			p.err = io.EOF
			return EntryInvalid, io.EOF
		}
		switch c := b[i]; {
		case c == '\n':
			i++
			p.line++
			continue
		case c == '#':
			return p.parseComment(i)
		case isMetricNameStart[c] || c == '{':
			return p.parseSample(i)
		case c == 0:
			// Prometheus stops at a NUL where a line should start and
			// keeps what it parsed so far; some exporters pad their
			// output with NULs.
			p.pos = len(b)
			p.err = io.EOF
			return EntryInvalid, io.EOF
		default:
			return EntryInvalid, p.errorf("expected a metric name, '{' or '#', got %s", describe(b, i))
		}
	}
}

// parseComment handles a line starting with '#' at b[i]: HELP, TYPE or a
// comment.
func (p *textParser) parseComment(i int) (Entry, error) {
	b := p.b
	lineStart := i
	j := i + 1
	k := j
	for k < len(b) && (b[k] == ' ' || b[k] == '\t') {
		k++
	}
	if k > j && k+4 < len(b) && (b[k+4] == ' ' || b[k+4] == '\t') {
		switch string(b[k : k+4]) {
		case "HELP":
			return p.parseMeta(k+5, EntryHelp)
		case "TYPE":
			return p.parseMeta(k+5, EntryType)
		}
	}
	end := lineEnd(b, lineStart)
	p.text = trimCR(b[lineStart:end])
	p.textEsc = false
	p.pos = end
	if end < len(b) {
		p.pos++
		p.line++
	}
	return EntryComment, nil
}

// lineEnd returns the index of the first newline in b from i on, or
// len(b). Help texts are the longest lines a scrape skims.
func lineEnd(b []byte, i int) int {
	if j := bytes.IndexByte(b[i:], '\n'); j >= 0 {
		return i + j
	}
	return len(b)
}

func trimCR(b []byte) []byte {
	if len(b) > 0 && b[len(b)-1] == '\r' {
		return b[:len(b)-1]
	}
	return b
}

// parseMeta parses the rest of a HELP or TYPE line from b[i], just after
// the keyword's first separating blank.
func (p *textParser) parseMeta(i int, e Entry) (Entry, error) {
	b := p.b
	for i < len(b) && (b[i] == ' ' || b[i] == '\t') {
		i++
	}
	kw := "HELP"
	if e == EntryType {
		kw = "TYPE"
	}
	switch {
	case i < len(b) && isMetricNameStart[b[i]]:
		s := i
		for i < len(b) && isMetricNameChar[b[i]] {
			i++
		}
		p.metaName, p.metaNameEsc = mkSpan(s, i), false
	case i < len(b) && b[i] == '"':
		end, esc, nonASCII, nl := scanQuoted(b, i)
		if end < 0 {
			return EntryInvalid, p.errorf("unterminated quoted metric name after %s", kw)
		}
		if nonASCII && !utf8.Valid(b[i+1:end-1]) {
			return EntryInvalid, p.errorf("metric name %q is not valid UTF-8", b[i+1:end-1])
		}
		p.line += nl
		p.metaName, p.metaNameEsc = mkSpan(i+1, end-1), esc
		i = end
	default:
		return EntryInvalid, p.errorf("expected metric name after %s, got %s", kw, describe(b, i))
	}
	// Exactly one blank separates the name from the text; further blanks
	// belong to the help text, as in Prometheus.
	if i < len(b) && (b[i] == ' ' || b[i] == '\t') {
		i++
	}
	s := i
	i = lineEnd(b, i)
	text := trimCR(b[s:i])
	next := i
	if i < len(b) {
		next++
	}
	if e == EntryType {
		t, ok := parseTextType(trimBlanks(text))
		if !ok {
			return EntryInvalid, p.errorf("invalid metric type %q", text)
		}
		p.mtype = t
	} else {
		if !utf8.Valid(text) {
			return EntryInvalid, p.errorf("help text %q is not valid UTF-8", text)
		}
		p.text = text
		p.textEsc = bytes.IndexByte(text, '\\') >= 0
	}
	if next > i {
		p.line++
	}
	p.pos = next
	return e, nil
}

func trimBlanks(b []byte) []byte {
	for len(b) > 0 && isBlank(b[0]) {
		b = b[1:]
	}
	for len(b) > 0 && isBlank(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}

// parseTextType maps a text-format TYPE word to a MetricType. "untyped" is
// the text format's name for unknown.
func parseTextType(t []byte) (MetricType, bool) {
	switch string(t) {
	case "counter":
		return MetricTypeCounter, true
	case "gauge":
		return MetricTypeGauge, true
	case "histogram":
		return MetricTypeHistogram, true
	case "summary":
		return MetricTypeSummary, true
	case "untyped":
		return MetricTypeUnknown, true
	}
	return "", false
}

// parseSample parses a sample line whose first byte (a metric name or '{')
// is at b[i].
func (p *textParser) parseSample(i int) (Entry, error) {
	s := &p.series
	p.labelsPending, p.matched = false, nil
	if k := p.expect; k != nil {
		p.expect = nil
		if p.matchesExpected(i, k) {
			// The same bytes parsed cleanly before: only the line count
			// needs what parsing them would have done.
			s.reset()
			s.raw = mkSpan(i, i+len(k))
			p.labelsPending, p.matched = true, k
			if bytes.IndexByte(k, '\n') >= 0 {
				p.line += bytes.Count(k, []byte{'\n'})
			}
			i = p.skipBlanks(i + len(k))
			return p.parseValue(i)
		}
	}
	var err error
	if i, err = p.parseSeries(i); err != nil {
		return EntryInvalid, err
	}
	return p.parseValue(p.skipBlanks(i))
}

// matchesExpected reports whether the series at b[i] is exactly k, the
// Expect hint. Only a k with a label set is taken: parsing closes a label
// set at its last brace whatever follows, so b continuing with k is
// enough. A bare name costs little to parse, and whether parsing would end
// it where k ends depends on the bytes after it.
func (p *textParser) matchesExpected(i int, k []byte) bool {
	b := p.b
	return !p.opts.Strict && len(k) > 0 && k[len(k)-1] == '}' &&
		len(b)-i >= len(k) && bytes.Equal(b[i:i+len(k)], k)
}

// parseSeries parses the series part of a sample line (the metric name,
// the label set or both) from b[i] into p.series and returns the index
// after it.
func (p *textParser) parseSeries(i int) (int, error) {
	b := p.b
	s := &p.series
	s.reset()
	s.raw.start = int32(i)
	if b[i] != '{' {
		start := i
		for i < len(b) && isMetricNameChar[b[i]] {
			i++
		}
		s.name, s.nameSet = mkSpan(start, i), true
		s.raw.end = int32(i)
		if j := p.skipBlanks(i); j < len(b) && b[j] == '{' {
			i = j
		}
	}
	if i < len(b) && b[i] == '{' {
		var err error
		if i, err = p.parseLabels(i + 1); err != nil {
			return i, err
		}
		if p.opts.Strict {
			if err := p.checkDuplicates(); err != nil {
				return i, err
			}
		}
		s.raw.end = int32(i)
	}
	if !s.nameSet {
		return i, p.errorf("no metric name in series %q", s.raw.of(b))
	}
	return i, nil
}

// parsePendingLabels parses the label set of a series that matched the
// Expect hint, for the accessors that need it. The bytes parsed cleanly
// before, so this cannot fail unless the caller broke Expect's contract;
// then the error is kept for the next call to Next.
func (p *textParser) parsePendingLabels() {
	if !p.labelsPending {
		return
	}
	p.labelsPending = false
	raw, line, err := p.series.raw, p.line, p.err
	if _, perr := p.parseSeries(int(raw.start)); perr != nil && err == nil {
		err = perr
	}
	if p.series.raw != raw && err == nil {
		err = &ParseError{Line: line, Msg: fmt.Sprintf("series %q was expected but parses differently", raw.of(p.b))}
	}
	p.series.raw, p.line, p.err = raw, line, err
}

// parseValue parses the rest of a sample line from b[i], the value and an
// optional timestamp, through the end of the line.
func (p *textParser) parseValue(i int) (Entry, error) {
	b := p.b
	// The value runs to the next blank, newline or '{' (as in Prometheus).
	v := i
	val, end, ok := parseFloatPrefix(b, i)
	if !ok || (end < len(b) && !textValueEnd[b[end]]) {
		end = v
		for end < len(b) && !textValueEnd[b[end]] {
			end++
		}
		if end == v {
			return EntryInvalid, p.errorf("expected value after metric, got %s", describe(b, v))
		}
		if val, ok = parseFloatSlow(b[v:end]); !ok {
			return EntryInvalid, p.errorf("invalid value %q", b[v:end])
		}
	}
	i = end
	p.val = val

	i = p.skipBlanks(i)
	p.hasTS = false
	if i < len(b) && b[i] != '\n' {
		t := i
		for i < len(b) && !isBlank(b[i]) && b[i] != '\n' {
			i++
		}
		ts, ok := parseInt(b[t:i])
		if !ok {
			return EntryInvalid, p.errorf("invalid timestamp %q", b[t:i])
		}
		p.ts, p.hasTS = ts, true
	}
	next, err := p.endOfLine(i, "sample")
	if err != nil {
		return EntryInvalid, err
	}
	p.pos = next
	return EntrySeries, nil
}

// parseLabels parses a label set from b[i], just after '{', through the
// closing '}', and returns the index after it. A quoted string that is
// followed by ',' or '}' instead of '=' is the metric name (the UTF-8
// form `{"my.metric",a="b"}`).
func (p *textParser) parseLabels(i int) (int, error) {
	b := p.b
	s := &p.series
	// Append to a local copy of the slice and store it back once: writing
	// the header into the parser for every label costs more than the rest
	// of the label.
	ls := s.labels
	defer func() { s.labels = ls }()
	for {
		i = p.skipBlanks(i)
		if i >= len(b) {
			return i, p.errorf("expected label name or '}', got end of input")
		}
		c := b[i]
		if c == '}' {
			return i + 1, nil
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
			end, esc, nonASCII, nl := scanQuoted(b, i)
			if end < 0 {
				return i, p.errorf("unterminated quoted name")
			}
			if nonASCII && !utf8.Valid(b[i+1:end-1]) {
				return i, p.errorf("name %q is not valid UTF-8", b[i+1:end-1])
			}
			p.line += nl
			name, nameEsc, nameQuoted = mkSpan(i+1, end-1), esc, true
			i = p.skipBlanks(end)
			if i < len(b) && (b[i] == ',' || b[i] == '}') {
				if s.nameSet {
					return i, p.errorf("metric name given twice in %q", b[s.raw.start:i+1])
				}
				s.name, s.nameSet, s.nameEsc, s.nameQuoted = name, true, nameEsc, true
				if b[i] == ',' {
					i++
				}
				continue
			}
		default:
			return i, p.errorf("expected label name, got %s", describe(b, i))
		}
		i = p.skipBlanks(i)
		if i >= len(b) || b[i] != '=' {
			return i, p.errorf("expected '=' after label name, got %s", describe(b, i))
		}
		i = p.skipBlanks(i + 1)
		if i >= len(b) || b[i] != '"' {
			return i, p.errorf("expected label value, got %s", describe(b, i))
		}
		end, esc, nonASCII, nl := scanQuoted(b, i)
		if end < 0 {
			return i, p.errorf("unterminated label value")
		}
		if nonASCII && !utf8.Valid(b[i+1:end-1]) {
			return i, p.errorf("label value %q is not valid UTF-8", b[i+1:end-1])
		}
		p.line += nl
		ls = growLabels(ls)
		l := &ls[len(ls)-1]
		l.name, l.value = name, mkSpan(i+1, end-1)
		l.nameEsc, l.valueEsc, l.nameQuoted = nameEsc, esc, nameQuoted
		i = p.skipBlanks(end)
		// Prometheus makes the comma optional here.
		if i < len(b) && b[i] == ',' {
			i++
		}
	}
}

// checkDuplicates refuses a series that names a label twice (strict mode).
func (p *textParser) checkDuplicates() error {
	ls := p.series.labels
	if len(ls) < 2 {
		return nil
	}
	names := make([]string, len(ls))
	for i, l := range ls {
		n := l.name.of(p.b)
		if l.nameEsc {
			n = appendUnescaped(nil, n, true)
		}
		names[i] = string(n)
	}
	slices.Sort(names)
	for i := 1; i < len(names); i++ {
		if names[i] == names[i-1] {
			return p.errorf("duplicate label name %q", names[i])
		}
	}
	return nil
}

func (p *textParser) Series() ([]byte, *int64, float64) {
	raw := p.matched
	if raw == nil {
		raw = p.series.raw.of(p.b)
	}
	if p.hasTS {
		return raw, &p.ts, p.val
	}
	return raw, nil, p.val
}

func (p *textParser) Histogram() ([]byte, *int64, *histogram.Histogram, *histogram.FloatHistogram) {
	return nil, nil, nil, nil
}

func (p *textParser) metaNameBytes() []byte {
	n := p.metaName.of(p.b)
	if p.metaNameEsc {
		p.nameBuf = appendUnescaped(p.nameBuf[:0], n, true)
		return p.nameBuf
	}
	return n
}

func (p *textParser) Help() ([]byte, []byte) {
	if p.textEsc {
		// The text format escapes only backslash and newline in help.
		p.textBuf = appendUnescaped(p.textBuf[:0], p.text, false)
		return p.metaNameBytes(), p.textBuf
	}
	return p.metaNameBytes(), p.text
}

func (p *textParser) Type() ([]byte, MetricType) { return p.metaNameBytes(), p.mtype }

// Unit is never valid: the text format has no units.
func (p *textParser) Unit() ([]byte, []byte) { return nil, nil }

func (p *textParser) Comment() []byte { return p.text }

// Labels fills sb with strings that alias the body and the parser's scratch
// buffer (for unescaped or normalised values); call sb.Labels before the
// next call to Labels or Next.
func (p *textParser) Labels(sb *labels.ScratchBuilder) {
	p.parsePendingLabels()
	p.fill.fill(sb, p.b, &p.series, p.mtype, true, true)
}

// Expect implements Parser.
func (p *textParser) Expect(series []byte) { p.expect = series }

// Exemplar reports false: the text format has no exemplars.
func (p *textParser) Exemplar(*exemplar.Exemplar) bool { return false }

// CreatedTimestamp returns 0: the text format has no created timestamps.
func (p *textParser) CreatedTimestamp() int64 { return 0 }
