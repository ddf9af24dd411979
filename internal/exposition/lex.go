package exposition

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"
	"strconv"
	"unicode/utf8"
	"unsafe"

	"github.com/vigil-monitoring/vigil/internal/model/labels"
)

// This file holds what the text and OpenMetrics parsers share: byte classes,
// the quoted-string scanner, number parsing without allocation, unescaping,
// and turning recorded label offsets into a labels.ScratchBuilder.
//
// Both parsers are hand-written scanners over the body. They record where
// each part of the current line lies (offsets, never copies) and defer every
// piece of work that only some callers need (unescaping, building labels,
// normalising le/quantile) to the accessor that needs it. That keeps Next
// free of allocations, which is what a scrape with a warm series cache runs.

// Byte classes. A table lookup is cheaper than a chain of range compares in
// the loops that walk names, which are most of the bytes of a scrape.
var (
	isMetricNameStart [256]bool // [a-zA-Z_:]
	isMetricNameChar  [256]bool // [a-zA-Z0-9_:]
	isLabelNameStart  [256]bool // [a-zA-Z_]
	isLabelNameChar   [256]bool // [a-zA-Z0-9_]
	// quotedStop marks the bytes the quoted-string scanner must look at:
	// the closing quote, the escape character, raw newlines (counted for
	// line numbers, refused by OpenMetrics in values) and non-ASCII bytes
	// (which trigger a UTF-8 check once the string ends).
	quotedStop [256]bool
)

func init() {
	for c := 0; c < 256; c++ {
		letter := (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'
		digit := c >= '0' && c <= '9'
		isLabelNameStart[c] = letter
		isLabelNameChar[c] = letter || digit
		isMetricNameStart[c] = letter || c == ':'
		isMetricNameChar[c] = letter || digit || c == ':'
		quotedStop[c] = c == '"' || c == '\\' || c == '\n' || c >= utf8.RuneSelf
	}
}

// nameLabel is labels.MetricName as bytes, for UnsafeAddBytes. It is never
// written to, so aliasing it from a builder is safe.
var nameLabel = []byte(labels.MetricName)

// span is a half-open byte range [start, end) of the body. Offsets are
// int32 to keep labelRef small (it is copied for every label of every
// line); constructors refuse bodies of 2 GiB and more.
type span struct{ start, end int32 }

func mkSpan(start, end int) span { return span{int32(start), int32(end)} }

func (s span) len() int { return int(s.end - s.start) }

func (s span) of(b []byte) []byte { return b[s.start:s.end] }

// maxBodySize is the largest body the text parsers take: spans are int32.
const maxBodySize = math.MaxInt32

func checkBodySize(body []byte) error {
	if len(body) > maxBodySize {
		return &ParseError{Line: 1, Msg: fmt.Sprintf("body of %d bytes is too large to parse (the limit is %d)", len(body), maxBodySize)}
	}
	return nil
}

// labelRef locates one label of a series line. Names and values exclude
// their quotes; the esc flags say a backslash occurs inside, so the bytes
// must go through unescape before use.
type labelRef struct {
	name, value       span
	nameEsc, valueEsc bool
	nameQuoted        bool
}

// seriesRef locates the parts of one series (metric name plus label set)
// inside the body.
type seriesRef struct {
	raw     span // the name and label block exactly as written
	name    span // the metric name without quotes; empty if none was given
	nameSet bool
	nameEsc bool
	// nameQuoted is set when the metric name was written in the quoted
	// (UTF-8) form, which OpenMetrics 1.0 does not allow.
	nameQuoted bool
	// trailingComma records `{a="b",}`, which Prometheus accepts and the
	// OpenMetrics grammar does not.
	trailingComma bool
	labels        []labelRef
}

// growLabels extends ls by one element for the caller to fill in place.
// Building a labelRef and appending it copies it through the stack, which
// stalls on store forwarding; filling the slot directly does not.
func growLabels(ls []labelRef) []labelRef {
	if len(ls) == cap(ls) {
		ls = append(ls, labelRef{})
		return ls
	}
	return ls[:len(ls)+1]
}

func (s *seriesRef) reset() {
	s.raw = span{}
	s.name = span{}
	s.nameSet, s.nameEsc, s.nameQuoted, s.trailingComma = false, false, false, false
	s.labels = s.labels[:0]
}

// yoloString views b as a string without copying. The result aliases b
// (the body, which the caller keeps unchanged while the parser runs): it is
// only handed to strconv parsing, which keeps it only in the error value of
// a failed parse, and the parsers drop those errors.
func yoloString(b []byte) string {
	return unsafe.String(unsafe.SliceData(b), len(b))
}

// scanQuoted scans the double-quoted string whose opening quote is at b[i].
// It returns the index just past the closing quote (or -1 when the string
// is not terminated), whether a backslash occurs inside, whether a
// non-ASCII byte does, and how many raw newlines it contains. A backslash
// always takes the next byte with it, so `\"` never closes the string.
//
// Label values are most of a scrape's bytes, so the scan looks at eight
// bytes per step (see swarStop) and only stops at the bytes that matter.
func scanQuoted(b []byte, i int) (end int, esc, nonASCII bool, newlines int) {
	j := i + 1
	for {
		for j+8 <= len(b) {
			m := swarStop(binary.LittleEndian.Uint64(b[j:]))
			if m != 0 {
				j += bits.TrailingZeros64(m) >> 3
				break
			}
			j += 8
		}
		for j < len(b) && !quotedStop[b[j]] {
			j++
		}
		if j >= len(b) {
			return -1, esc, nonASCII, newlines
		}
		switch b[j] {
		case '"':
			return j + 1, esc, nonASCII, newlines
		case '\\':
			esc = true
			j++
			if j < len(b) {
				// The escaped byte still counts: `\` before a
				// non-ASCII byte must not hide invalid UTF-8.
				switch c := b[j]; {
				case c == '\n':
					newlines++
				case c >= utf8.RuneSelf:
					nonASCII = true
				}
			}
		case '\n':
			newlines++
		default:
			nonASCII = true
		}
		j++
	}
}

const (
	swarOnes  = 0x0101010101010101
	swarHighs = 0x8080808080808080
)

// swarStop flags, in the high bit of each byte of the little-endian word
// x, the bytes scanQuoted must stop at: '"', '\\', '\n' and bytes >= 0x80.
// Each (v-ones)&^v term flags the zero bytes of v; a borrow can also flag
// a byte above a true zero byte but never below one, so the lowest flag is
// always a real stop and trailing-zero counting finds the first.
func swarStop(x uint64) uint64 {
	q := x ^ (swarOnes * '"')
	s := x ^ (swarOnes * '\\')
	n := x ^ (swarOnes * '\n')
	return ((q-swarOnes)&^q | (s-swarOnes)&^s | (n-swarOnes)&^n | x) & swarHighs
}

// appendUnescaped appends src to dst with the escape sequences of the
// exposition formats resolved: `\\` and `\n` always, `\"` when quote is
// set. Any other backslash is kept literally together with the byte after
// it, as Prometheus and the OpenMetrics reference parser do.
func appendUnescaped(dst, src []byte, quote bool) []byte {
	for i := 0; i < len(src); i++ {
		c := src[i]
		if c != '\\' || i+1 == len(src) {
			dst = append(dst, c)
			continue
		}
		switch n := src[i+1]; {
		case n == '\\':
			dst = append(dst, '\\')
		case n == 'n':
			dst = append(dst, '\n')
		case n == '"' && quote:
			dst = append(dst, '"')
		default:
			dst = append(dst, '\\', n)
		}
		i++
	}
	return dst
}

// pow10 holds the powers of ten a float64 represents exactly.
var pow10 = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10,
	1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

// parseFloat parses a sample value the way Prometheus does: whatever
// strconv.ParseFloat accepts, except the forms Go added in 1.13 (hex
// mantissas with a p exponent, digit-separating underscores), which older
// parsers and the formats' grammars refuse.
func parseFloat(tok []byte) (float64, bool) {
	f, end, ok := parseFloatPrefix(tok, 0)
	if ok && end == len(tok) {
		return f, true
	}
	return parseFloatSlow(tok)
}

// parseFloatPrefix parses the plain decimal number at b[i:] (sign, digits,
// fraction, exponent) and returns it with the index where it ends. ok is
// false when the bytes there are not such a number or the fast path cannot
// decide; the caller then takes the whole token to parseFloatSlow. Parsing
// in place spares sample lines a separate pass to find where the value
// ends: the caller only checks that a delimiter follows.
//
// Decimals whose digits form an integer up to 2^53 and whose decimal
// exponent (explicit or from the fraction) is at most 22 in magnitude,
// which covers nearly all exporter output, are exact: the integer and the
// power of ten are both exact float64 values, so one IEEE multiplication
// or division gives the correctly rounded result, the same bits
// strconv.ParseFloat returns.
func parseFloatPrefix(b []byte, i int) (f float64, end int, ok bool) {
	n := len(b)
	neg := false
	if i < n && (b[i] == '-' || b[i] == '+') {
		neg = b[i] == '-'
		i++
	}
	// At most 19 digits cannot overflow the uint64; whether the mantissa is
	// exact as a float64 is checked once at the end.
	var mant uint64
	start := i
	for i < n {
		d := b[i] - '0'
		if d > 9 {
			break
		}
		mant = mant*10 + uint64(d)
		i++
	}
	digits := i - start
	frac := 0
	if i < n && b[i] == '.' {
		i++
		fs := i
		for i < n {
			d := b[i] - '0'
			if d > 9 {
				break
			}
			mant = mant*10 + uint64(d)
			i++
		}
		frac = i - fs
		digits += frac
	}
	if digits == 0 || digits > 19 || mant > 1<<53 {
		return 0, i, false
	}
	exp := 0
	if i < n && (b[i] == 'e' || b[i] == 'E') {
		j := i + 1
		eneg := false
		if j < n && (b[j] == '-' || b[j] == '+') {
			eneg = b[j] == '-'
			j++
		}
		es := j
		for j < n && j-es < 4 {
			d := b[j] - '0'
			if d > 9 {
				break
			}
			exp = exp*10 + int(d)
			j++
		}
		if j == es || j-es > 3 {
			return 0, j, false
		}
		if eneg {
			exp = -exp
		}
		i = j
	}
	f = float64(mant)
	switch e10 := exp - frac; {
	case mant == 0:
	case e10 > 0 && e10 < len(pow10):
		f *= pow10[e10]
	case e10 < 0 && -e10 < len(pow10):
		f /= pow10[-e10]
	case e10 != 0:
		return 0, i, false
	}
	if neg {
		f = -f
	}
	return f, i, true
}

func parseFloatSlow(tok []byte) (float64, bool) {
	for _, c := range tok {
		if c == 'p' || c == 'P' || c == '_' {
			return 0, false
		}
	}
	f, err := strconv.ParseFloat(yoloString(tok), 64)
	if err != nil {
		return 0, false
	}
	if math.IsNaN(f) {
		// Keep every scraped NaN the ordinary quiet NaN, so no input can
		// spell the stale marker's bit pattern.
		f = math.NaN()
	}
	return f, true
}

// parseInt parses a decimal int64 (text-format timestamps).
func parseInt(tok []byte) (int64, bool) {
	if len(tok) == 0 || len(tok) > 18 {
		return parseIntSlow(tok)
	}
	i := 0
	neg := false
	if tok[0] == '-' || tok[0] == '+' {
		neg = tok[0] == '-'
		i++
		if i == len(tok) {
			return 0, false
		}
	}
	var n int64
	for ; i < len(tok); i++ {
		c := tok[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0') // 18 digits cannot overflow
	}
	if neg {
		n = -n
	}
	return n, true
}

func parseIntSlow(tok []byte) (int64, bool) {
	for _, c := range tok {
		if c == '_' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(yoloString(tok), 10, 64)
	return n, err == nil
}

// errNotFinite and errBadNumber tell the callers of parseSecondsAsMillis
// which message to give.
type tsError uint8

const (
	tsOK tsError = iota
	tsBadNumber
	tsNotFinite
)

// parseSecondsAsMillis turns an OpenMetrics timestamp (float seconds) into
// milliseconds. Decimal forms are converted exactly, truncating below the
// millisecond: going through a float64 product, as Prometheus does, can
// land one millisecond low (1726839814.223 s times 1000 is
// 1726839814222.9998 in float64), which would break round trips. Forms the
// exact path does not handle (more than 19 significant digits, inf, nan)
// go through parseFloat; results beyond int64 saturate rather than wrap,
// so an absurd timestamp cannot turn into a plausible one.
func parseSecondsAsMillis(tok []byte) (int64, tsError) {
	i := 0
	neg := false
	if len(tok) > 0 && (tok[0] == '-' || tok[0] == '+') {
		neg = tok[0] == '-'
		i++
	}
	var mant uint64
	digits, frac, exp := 0, 0, 0
	dot, any := false, false
	for ; i < len(tok); i++ {
		c := tok[i]
		if c >= '0' && c <= '9' {
			any = true
			if mant == 0 && c == '0' {
				if dot {
					frac++
				}
				continue
			}
			if digits == 19 {
				return millisFromFloat(tok)
			}
			mant = mant*10 + uint64(c-'0')
			digits++
			if dot {
				frac++
			}
			continue
		}
		if c == '.' && !dot {
			dot = true
			continue
		}
		if (c == 'e' || c == 'E') && any {
			e, ok := parseSmallExponent(tok[i+1:])
			if !ok {
				return millisFromFloat(tok)
			}
			exp = e
			i = len(tok)
			break
		}
		return millisFromFloat(tok)
	}
	if !any {
		return millisFromFloat(tok)
	}
	// value = mant * 10^(exp-frac) seconds = mant * 10^(exp-frac+3) ms.
	shift := exp - frac + 3
	var ms uint64
	switch {
	case mant == 0:
		ms = 0
	case shift >= 0:
		if shift > 19 {
			return saturate(neg), tsOK
		}
		p := pow10u[shift]
		if mant > math.MaxInt64/p {
			return saturate(neg), tsOK
		}
		ms = mant * p
	default:
		if -shift > 19 {
			ms = 0
		} else {
			ms = mant / pow10u[-shift]
		}
	}
	if ms > math.MaxInt64 {
		return saturate(neg), tsOK
	}
	if neg {
		return -int64(ms), tsOK
	}
	return int64(ms), tsOK
}

var pow10u = [...]uint64{1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10,
	1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19}

func saturate(neg bool) int64 {
	if neg {
		return math.MinInt64
	}
	return math.MaxInt64
}

// parseSmallExponent parses the exponent digits after an 'e'. Exponents
// beyond ±400 leave the exact path, which then sees them through
// parseFloat (and saturates or rounds to zero).
func parseSmallExponent(b []byte) (int, bool) {
	i := 0
	neg := false
	if len(b) > 0 && (b[0] == '-' || b[0] == '+') {
		neg = b[0] == '-'
		i++
	}
	if i == len(b) || len(b)-i > 3 {
		return 0, false
	}
	n := 0
	for ; i < len(b); i++ {
		c := b[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	if neg {
		n = -n
	}
	return n, true
}

func millisFromFloat(tok []byte) (int64, tsError) {
	f, ok := parseFloat(tok)
	if !ok {
		return 0, tsBadNumber
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, tsNotFinite
	}
	ms := f * 1000
	switch {
	case ms >= math.MaxInt64:
		return math.MaxInt64, tsOK
	case ms <= math.MinInt64:
		return math.MinInt64, tsOK
	}
	return int64(ms), tsOK
}

// ParseError is the error a text or OpenMetrics parser returns for
// malformed input. Line counts from 1.
type ParseError struct {
	Line int
	Msg  string
}

func (e *ParseError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Msg) }

// describe renders the input at b[i] for an error message: the token that
// starts there (cut at a delimiter and at 24 bytes), a newline, or the end
// of input.
func describe(b []byte, i int) string {
	if i >= len(b) {
		return "end of input"
	}
	j := i + 1
	switch b[i] {
	case '\n', ' ', '\t', '{', '}', ',', '=', '"':
		// A delimiter is a token of its own.
		return strconv.Quote(string(b[i:j]))
	}
	for j < len(b) && j-i < 24 {
		switch b[j] {
		case ' ', '\t', '\n', '{', '}', ',', '=', '"':
			return strconv.Quote(string(b[i:j]))
		}
		j++
	}
	return strconv.Quote(string(b[i:j]))
}

// labelFiller turns a seriesRef into labels. It owns the scratch buffer that
// unescaped and normalised strings live in until the caller's builder has
// copied them.
type labelFiller struct {
	scratch []byte
}

// normalizes reports whether the value of label name gets the OpenMetrics
// float formatting for a family of type t. Prometheus 3 normalises le of
// classic histograms and quantile of summaries this way, so `le="1"` and
// `le="1.0"` name the same series no matter how an exporter wrote them.
func normalizes(t MetricType, name []byte) bool {
	switch t {
	case MetricTypeHistogram:
		return string(name) == labels.BucketLabel
	case MetricTypeSummary:
		return string(name) == "quantile"
	}
	return false
}

// fill resets sb and adds the labels of s (from body b), plus __name__ when
// withName is set, then sorts them. Strings alias b or f.scratch; both stay
// unchanged until the next fill, so the caller must take sb.Labels() before
// calling fill again or advancing the parser.
func (f *labelFiller) fill(sb *labels.ScratchBuilder, b []byte, s *seriesRef, t MetricType, quoteEscapes, withName bool) {
	// Reserve room for every string that may need rewriting, so appends
	// below never move the buffer under slices already handed to sb.
	need := 0
	if s.nameEsc {
		need += s.name.len()
	}
	for i := range s.labels {
		l := &s.labels[i]
		if l.nameEsc {
			need += l.name.len()
		}
		if l.valueEsc {
			need += l.value.len()
		}
		if t == MetricTypeHistogram || t == MetricTypeSummary {
			need += 32 + l.value.len()
		}
	}
	if cap(f.scratch) < need {
		f.scratch = make([]byte, 0, 2*need)
	}
	buf := f.scratch[:0]

	sb.Reset()
	if withName {
		name := s.name.of(b)
		if s.nameEsc {
			start := len(buf)
			buf = appendUnescaped(buf, name, quoteEscapes)
			name = buf[start:len(buf):len(buf)]
		}
		sb.UnsafeAddBytes(nameLabel, name)
	}
	for i := range s.labels {
		l := &s.labels[i]
		ln := l.name.of(b)
		if l.nameEsc {
			start := len(buf)
			buf = appendUnescaped(buf, ln, quoteEscapes)
			ln = buf[start:len(buf):len(buf)]
		}
		lv := l.value.of(b)
		if l.valueEsc {
			start := len(buf)
			buf = appendUnescaped(buf, lv, quoteEscapes)
			lv = buf[start:len(buf):len(buf)]
		}
		if normalizes(t, ln) {
			start := len(buf)
			switch canonicalState(lv) {
			case canonicalAsIs:
				sb.UnsafeAddBytes(ln, lv)
				continue
			case canonicalPlusDotZero:
				buf = append(append(buf, lv...), ".0"...)
				sb.UnsafeAddBytes(ln, buf[start:len(buf):len(buf)])
				continue
			}
			if nb, ok := appendCanonicalFloatLabel(buf, lv); ok {
				buf = nb
				if string(buf[start:]) == string(lv) {
					buf = buf[:start] // already canonical: keep the input bytes
				} else {
					lv = buf[start:len(buf):len(buf)]
				}
			}
		}
		sb.UnsafeAddBytes(ln, lv)
	}
	f.scratch = buf
	sb.Sort()
}

const (
	canonicalAsIs        = iota // already spelled as normalisation would
	canonicalPlusDotZero        // an integer that only lacks ".0"
	canonicalUnknown            // parse and format to find out
)

// canonicalState recognises the le and quantile spellings that need no
// float parsing to normalise: plain decimals such as 0.25, 2.5, 1.0 or
// 0.005 are already canonical and integers such as 1 or 10 only lack
// ".0". That holds when the value has at most 15 significant digits (so
// its shortest round-trip spelling has the same digits), no superfluous
// zeros, and a magnitude for which shortest formatting uses no exponent
// (1e-4 <= |v| < 1e6, or zero). Anything else takes the slow path.
func canonicalState(v []byte) int {
	i := 0
	if len(v) > 0 && v[0] == '-' {
		i = 1
	}
	start := i
	for i < len(v) && v[i] >= '0' && v[i] <= '9' {
		i++
	}
	intDigits := i - start
	if intDigits == 0 || intDigits > 6 || (intDigits > 1 && v[start] == '0') {
		return canonicalUnknown
	}
	intZero := v[start] == '0'
	if i == len(v) {
		return canonicalPlusDotZero
	}
	if v[i] != '.' {
		return canonicalUnknown
	}
	i++
	fracStart := i
	for i < len(v) && v[i] >= '0' && v[i] <= '9' {
		i++
	}
	fracDigits := i - fracStart
	if i != len(v) || fracDigits == 0 || (v[i-1] == '0' && fracDigits > 1) {
		return canonicalUnknown
	}
	if fracDigits == 1 && v[fracStart] == '0' {
		return canonicalAsIs // n.0
	}
	sig := fracDigits
	if intZero {
		// 0.000ddd: at most three zeros after the point keep |v| >= 1e-4.
		z := 0
		for z < fracDigits && v[fracStart+z] == '0' {
			z++
		}
		if z > 3 {
			return canonicalUnknown
		}
		sig -= z
	} else {
		sig += intDigits
	}
	if sig > 15 {
		return canonicalUnknown
	}
	return canonicalAsIs
}

// appendCanonicalFloatLabel appends the spelling Prometheus gives the float
// in a normalised le or quantile value and reports whether v parsed at all;
// a value that is no float is left as written. The spelling is the
// shortest round-trip form with ".0" added to integers, and NaN, +Inf and
// -Inf for the special values.
func appendCanonicalFloatLabel(dst, v []byte) ([]byte, bool) {
	if string(v) == "+Inf" {
		return append(dst, v...), true
	}
	f, err := strconv.ParseFloat(yoloString(v), 64)
	if err != nil {
		return dst, false
	}
	switch {
	case math.IsNaN(f):
		return append(dst, "NaN"...), true
	case math.IsInf(f, 1):
		return append(dst, "+Inf"...), true
	case math.IsInf(f, -1):
		return append(dst, "-Inf"...), true
	}
	start := len(dst)
	dst = strconv.AppendFloat(dst, f, 'g', -1, 64)
	if bytes.IndexAny(dst[start:], ".e") < 0 {
		dst = append(dst, ".0"...)
	}
	return dst, true
}
