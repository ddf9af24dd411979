package parser

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Item is one token of a PromQL expression: its type, its byte offset in the
// input and the text it was lexed from (for STRING the quoted text, for ERROR
// the error message).
type Item struct {
	Typ ItemType
	Pos Pos
	Val string
}

// PositionRange returns the bytes the item spans.
func (i Item) PositionRange() PositionRange {
	return PositionRange{Start: i.Pos, End: i.Pos + Pos(len(i.Val))}
}

// String renders the item the way parse errors quote it: identifiers and
// short literals in Go quotes, keywords as <kw>, operators as <op:+>,
// aggregators as <aggr:sum>.
func (i Item) String() string {
	switch {
	case i.Typ == EOF:
		return "EOF"
	case i.Typ == ERROR:
		return i.Val
	case i.Typ == IDENTIFIER || i.Typ == METRIC_IDENTIFIER:
		return fmt.Sprintf("%q", i.Val)
	case i.Typ.IsKeyword():
		return fmt.Sprintf("<%s>", i.Val)
	case i.Typ.IsOperator():
		return fmt.Sprintf("<op:%s>", i.Val)
	case i.Typ.IsAggregator():
		return fmt.Sprintf("<aggr:%s>", i.Val)
	case len(i.Val) > 10:
		return fmt.Sprintf("%.10q...", i.Val)
	}
	return fmt.Sprintf("%q", i.Val)
}

// desc describes the item for "unexpected ..." messages: punctuation,
// keywords and operators by their text, everything else prefixed with its
// kind (`identifier "foo"`, `number "1"`, "end of input").
func (i Item) desc() string {
	if i.Typ == EOF {
		return "end of input"
	}
	if _, ok := itemTypeText[i.Typ]; ok {
		return i.String()
	}
	return i.Typ.desc() + " " + i.String()
}

// ItemType is the kind of a token, and doubles as the operator of AST nodes
// (BinaryExpr.Op, AggregateExpr.Op, UnaryExpr.Op, DurationExpr.Op).
type ItemType int

// Token kinds. The *Start/*End markers delimit groups so that IsOperator,
// IsAggregator and IsKeyword are range checks.
const (
	EOF ItemType = iota
	ERROR
	COMMENT
	IDENTIFIER
	METRIC_IDENTIFIER
	LEFT_PAREN
	RIGHT_PAREN
	LEFT_BRACE
	RIGHT_BRACE
	LEFT_BRACKET
	RIGHT_BRACKET
	COMMA
	EQL
	COLON
	STRING
	NUMBER
	DURATION

	operatorsStart
	ADD
	SUB
	MUL
	DIV
	MOD
	POW
	ATAN2
	EQLC
	NEQ
	LTE
	LSS
	GTE
	GTR
	EQL_REGEX
	NEQ_REGEX
	LAND
	LOR
	LUNLESS
	TRIM_UPPER // </ keeps the observations of a native histogram below a threshold.
	TRIM_LOWER // >/ keeps the observations above it.
	AT
	operatorsEnd

	aggregatorsStart
	AVG
	BOTTOMK
	COUNT
	COUNT_VALUES
	GROUP
	MAX
	MIN
	QUANTILE
	STDDEV
	STDVAR
	SUM
	TOPK
	LIMITK
	LIMIT_RATIO
	aggregatorsEnd

	keywordsStart
	BOOL
	BY
	GROUP_LEFT
	GROUP_RIGHT
	IGNORING
	OFFSET
	ON
	WITHOUT
	ANCHORED
	SMOOTHED
	FILL
	FILL_LEFT
	FILL_RIGHT
	keywordsEnd

	// START and END are the @ modifier's start() and end(); the lexer emits
	// them for the words "start" and "end".
	preprocessorStart
	START
	END
	preprocessorEnd

	// The remaining kinds are never lexed: they are the operators of
	// DurationExpr nodes for step(), range(), min_of() and max_of(), which
	// the lexer sees as identifiers because they are also metric names.
	durationFuncsStart
	STEP
	RANGE
	MIN_OF
	MAX_OF
	durationFuncsEnd
)

// keywords maps the lower-cased words the lexer turns into keyword tokens.
// Matching is case-insensitive, as in Prometheus ("SUM", "Offset", "BY").
var keywords = map[string]ItemType{
	"and":          LAND,
	"or":           LOR,
	"unless":       LUNLESS,
	"atan2":        ATAN2,
	"sum":          SUM,
	"avg":          AVG,
	"count":        COUNT,
	"min":          MIN,
	"max":          MAX,
	"group":        GROUP,
	"stddev":       STDDEV,
	"stdvar":       STDVAR,
	"topk":         TOPK,
	"bottomk":      BOTTOMK,
	"count_values": COUNT_VALUES,
	"quantile":     QUANTILE,
	"limitk":       LIMITK,
	"limit_ratio":  LIMIT_RATIO,
	"offset":       OFFSET,
	"by":           BY,
	"without":      WITHOUT,
	"on":           ON,
	"ignoring":     IGNORING,
	"group_left":   GROUP_LEFT,
	"group_right":  GROUP_RIGHT,
	"bool":         BOOL,
	"anchored":     ANCHORED,
	"smoothed":     SMOOTHED,
	"start":        START,
	"end":          END,
	// Inf and NaN are numbers, in any case.
	"inf": NUMBER,
	"nan": NUMBER,
}

// fillKeywords are keywords only when an opening parenthesis follows, so
// that existing metrics called "fill" keep working (`foo + fill`).
var fillKeywords = map[string]ItemType{
	"fill":       FILL,
	"fill_left":  FILL_LEFT,
	"fill_right": FILL_RIGHT,
}

// itemTypeText is the canonical text of every token kind that has one; the
// printer writes operators with it and error messages quote it.
var itemTypeText = map[ItemType]string{
	LEFT_PAREN:    "(",
	RIGHT_PAREN:   ")",
	LEFT_BRACE:    "{",
	RIGHT_BRACE:   "}",
	LEFT_BRACKET:  "[",
	RIGHT_BRACKET: "]",
	COMMA:         ",",
	EQL:           "=",
	COLON:         ":",
	ADD:           "+",
	SUB:           "-",
	MUL:           "*",
	DIV:           "/",
	MOD:           "%",
	POW:           "^",
	EQLC:          "==",
	NEQ:           "!=",
	LTE:           "<=",
	LSS:           "<",
	GTE:           ">=",
	GTR:           ">",
	EQL_REGEX:     "=~",
	NEQ_REGEX:     "!~",
	AT:            "@",
	TRIM_UPPER:    "</",
	TRIM_LOWER:    ">/",
	STEP:          "step",
	RANGE:         "range",
	MIN_OF:        "min_of",
	MAX_OF:        "max_of",
	FILL:          "fill",
	FILL_LEFT:     "fill_left",
	FILL_RIGHT:    "fill_right",
}

func init() {
	for word, typ := range keywords {
		if typ != NUMBER {
			itemTypeText[typ] = word
		}
	}
}

// String returns the canonical spelling of the token kind ("+", "sum",
// "group_left"), or a placeholder for kinds without one.
func (i ItemType) String() string {
	if s, ok := itemTypeText[i]; ok {
		return s
	}
	return fmt.Sprintf("<Item %d>", int(i))
}

// desc names token kinds that have no fixed text.
func (i ItemType) desc() string {
	switch i {
	case ERROR:
		return "error"
	case EOF:
		return "end of input"
	case COMMENT:
		return "comment"
	case IDENTIFIER:
		return "identifier"
	case METRIC_IDENTIFIER:
		return "metric identifier"
	case STRING:
		return "string"
	case NUMBER:
		return "number"
	case DURATION:
		return "duration"
	}
	return fmt.Sprintf("%q", i.String())
}

// IsOperator reports whether i is a binary operator (or @).
func (i ItemType) IsOperator() bool { return i > operatorsStart && i < operatorsEnd }

// IsAggregator reports whether i is an aggregation operator.
func (i ItemType) IsAggregator() bool { return i > aggregatorsStart && i < aggregatorsEnd }

// IsAggregatorWithParam reports whether the aggregation takes a parameter
// before the aggregated expression.
func (i ItemType) IsAggregatorWithParam() bool {
	return i == TOPK || i == BOTTOMK || i == COUNT_VALUES || i == QUANTILE || i == LIMITK || i == LIMIT_RATIO
}

// IsKeyword reports whether i is a keyword token.
func (i ItemType) IsKeyword() bool { return i > keywordsStart && i < keywordsEnd }

// IsComparisonOperator reports whether i is ==, !=, <, <=, > or >=.
func (i ItemType) IsComparisonOperator() bool {
	switch i {
	case EQLC, NEQ, LTE, LSS, GTE, GTR:
		return true
	}
	return false
}

// IsSetOperator reports whether i is and, or or unless.
func (i ItemType) IsSetOperator() bool {
	return i == LAND || i == LOR || i == LUNLESS
}

// LowestPrec is the precedence below every binary operator.
const LowestPrec = 0

// Precedence returns the binding strength of a binary operator; higher
// binds tighter. Non-operators get LowestPrec.
func (i ItemType) Precedence() int {
	switch i {
	case LOR:
		return 1
	case LAND, LUNLESS:
		return 2
	case EQLC, NEQ, LTE, LSS, GTE, GTR, TRIM_UPPER, TRIM_LOWER:
		// The histogram trim operators look like comparisons and bind
		// like them.
		return 3
	case ADD, SUB:
		return 4
	case MUL, DIV, MOD, ATAN2:
		return 5
	case POW:
		return 6
	}
	return LowestPrec
}

// IsRightAssociative reports whether a chain of the operator groups to the
// right: only ^ does (2^3^2 is 2^9).
func (i ItemType) IsRightAssociative() bool { return i == POW }

// lexer turns an expression into items. It runs over the whole input at
// once: the parser needs arbitrary lookahead in a few places and the token
// slice is cheaper than a goroutine or a state-function trampoline. It keeps
// the little context PromQL tokenisation needs: inside braces words are
// always label names and only matcher operators are valid; inside brackets
// a colon separates a subquery's range from its step; parentheses must
// balance.
type lexer struct {
	input string
	pos   int // next byte to read
	start int // first byte of the token being lexed
	items []Item

	parenDepth  int
	braceOpen   bool
	bracketOpen bool
	gotColon    bool
}

// lex tokenises input. The result always ends with exactly one EOF or ERROR
// item; an ERROR item's Val is the message and lexing stops there, so
// errors are reported in input order just as a lazy lexer would.
func lex(input string) []Item { return lexInto(make([]Item, 0, 4+len(input)/4), input) }

// lexInto is lex appending the items to items.
func lexInto(items []Item, input string) []Item {
	l := lexer{input: input, items: items}
	l.run()
	return l.items
}

func (l *lexer) emit(t ItemType) {
	l.items = append(l.items, Item{Typ: t, Pos: Pos(l.start), Val: l.input[l.start:l.pos]})
	l.start = l.pos
}

// fail ends lexing with an ERROR item at the start of the current token.
func (l *lexer) fail(format string, args ...any) {
	l.items = append(l.items, Item{Typ: ERROR, Pos: Pos(l.start), Val: fmt.Sprintf(format, args...)})
}

func (l *lexer) peekByte() byte {
	if l.pos < len(l.input) {
		return l.input[l.pos]
	}
	return 0
}

// acceptByte consumes the next byte if it is one of set.
func (l *lexer) acceptByte(set string) bool {
	if l.pos < len(l.input) && strings.IndexByte(set, l.input[l.pos]) >= 0 {
		l.pos++
		return true
	}
	return false
}

func (l *lexer) acceptRun(set string) {
	for l.acceptByte(set) {
	}
}

// skipSpaceAndComments skips blanks and # line comments between tokens.
func (l *lexer) skipSpaceAndComments() {
	for l.pos < len(l.input) {
		c := l.input[l.pos]
		switch {
		case isSpace(c):
			l.pos++
		case c == '#':
			for l.pos < len(l.input) && l.input[l.pos] != '\n' {
				l.pos++
			}
		default:
			return
		}
	}
}

func (l *lexer) run() {
	for {
		l.skipSpaceAndComments()
		l.start = l.pos
		var ok bool
		if l.braceOpen {
			ok = l.lexInsideBraces()
		} else {
			ok = l.lexStatement()
		}
		if !ok {
			return
		}
	}
}

// lexStatement lexes one token outside braces. It returns false once EOF
// or an error has been emitted.
func (l *lexer) lexStatement() bool {
	if l.pos >= len(l.input) {
		switch {
		case l.parenDepth != 0:
			l.fail("unclosed left parenthesis")
		case l.bracketOpen:
			l.fail("unclosed left bracket")
		default:
			l.emit(EOF)
		}
		return false
	}
	c := l.input[l.pos]
	l.pos++
	switch {
	case c == ',':
		l.emit(COMMA)
	case c == '(':
		l.parenDepth++
		l.emit(LEFT_PAREN)
	case c == ')':
		if l.parenDepth == 0 {
			l.fail("unexpected right parenthesis %q", rune(c))
			return false
		}
		l.parenDepth--
		l.emit(RIGHT_PAREN)
	case c == '{':
		l.braceOpen = true
		l.emit(LEFT_BRACE)
	case c == '[':
		if l.bracketOpen {
			l.fail("unexpected left bracket %q", rune(c))
			return false
		}
		l.bracketOpen = true
		l.gotColon = false
		l.emit(LEFT_BRACKET)
	case c == ']':
		if !l.bracketOpen {
			l.fail("unexpected right bracket %q", rune(c))
			return false
		}
		l.bracketOpen = false
		l.emit(RIGHT_BRACKET)
	case c == ':' && l.bracketOpen:
		if l.gotColon {
			l.fail("unexpected colon %q", rune(c))
			return false
		}
		l.gotColon = true
		l.emit(COLON)
	case c == '=':
		switch {
		case l.acceptByte("="):
			l.emit(EQLC)
		case l.acceptByte("~"):
			l.emit(EQL_REGEX)
		default:
			l.emit(EQL)
		}
	case c == '!':
		if !l.acceptByte("=") {
			r, _ := l.nextRune()
			l.fail("unexpected character after '!': %q", r)
			return false
		}
		l.emit(NEQ)
	case c == '<':
		switch {
		case l.acceptByte("="):
			l.emit(LTE)
		case l.acceptByte("/"):
			l.emit(TRIM_UPPER)
		default:
			l.emit(LSS)
		}
	case c == '>':
		switch {
		case l.acceptByte("="):
			l.emit(GTE)
		case l.acceptByte("/"):
			l.emit(TRIM_LOWER)
		default:
			l.emit(GTR)
		}
	case c == '+':
		l.emit(ADD)
	case c == '-':
		l.emit(SUB)
	case c == '*':
		l.emit(MUL)
	case c == '/':
		l.emit(DIV)
	case c == '%':
		l.emit(MOD)
	case c == '^':
		l.emit(POW)
	case c == '@':
		l.emit(AT)
	case isDigit(c) || (c == '.' && isDigit(l.peekByte())):
		l.pos--
		return l.lexNumberOrDuration()
	case c == '"' || c == '\'':
		return l.lexString(c)
	case c == '`':
		return l.lexRawString()
	case isAlpha(c) || (c == ':' && !l.bracketOpen):
		l.lexKeywordOrIdentifier()
	default:
		l.pos--
		r, _ := l.nextRune()
		l.fail("unexpected character: %q", r)
		return false
	}
	return true
}

// lexInsideBraces lexes one token of a label matcher list.
func (l *lexer) lexInsideBraces() bool {
	if l.pos >= len(l.input) {
		l.fail("unexpected end of input inside braces")
		return false
	}
	c := l.input[l.pos]
	l.pos++
	switch {
	case isAlpha(c):
		for l.pos < len(l.input) && isAlphaNumeric(l.input[l.pos]) {
			l.pos++
		}
		l.emit(IDENTIFIER)
	case c == ',':
		l.emit(COMMA)
	case c == '"' || c == '\'':
		return l.lexString(c)
	case c == '`':
		return l.lexRawString()
	case c == '=':
		if l.acceptByte("~") {
			l.emit(EQL_REGEX)
		} else {
			l.emit(EQL)
		}
	case c == '!':
		switch {
		case l.acceptByte("~"):
			l.emit(NEQ_REGEX)
		case l.acceptByte("="):
			l.emit(NEQ)
		default:
			r, _ := l.nextRune()
			l.fail("unexpected character after '!' inside braces: %q", r)
			return false
		}
	case c == '{':
		l.fail("unexpected left brace %q", rune(c))
		return false
	case c == '}':
		l.braceOpen = false
		l.emit(RIGHT_BRACE)
	default:
		l.pos--
		r, _ := l.nextRune()
		l.fail("unexpected character inside braces: %q", r)
		return false
	}
	return true
}

// nextRune decodes the rune at pos and advances past it; eof yields -1.
func (l *lexer) nextRune() (rune, int) {
	if l.pos >= len(l.input) {
		return -1, 0
	}
	r, w := utf8.DecodeRuneInString(l.input[l.pos:])
	l.pos += w
	return r, w
}

func (l *lexer) lexKeywordOrIdentifier() {
	for l.pos < len(l.input) {
		c := l.input[l.pos]
		// Inside brackets a colon is the subquery separator, never part
		// of a word (`[5m:step()]`).
		if !isAlphaNumeric(c) && (c != ':' || l.bracketOpen) {
			break
		}
		l.pos++
	}
	word := l.input[l.start:l.pos]
	lower := strings.ToLower(word)
	if kw, ok := keywords[lower]; ok {
		l.emit(kw)
		return
	}
	if kw, ok := fillKeywords[lower]; ok && l.parenFollows() {
		l.emit(kw)
		return
	}
	if strings.IndexByte(word, ':') >= 0 {
		l.emit(METRIC_IDENTIFIER)
		return
	}
	l.emit(IDENTIFIER)
}

// parenFollows reports whether the next non-blank byte is '('.
func (l *lexer) parenFollows() bool {
	for i := l.pos; i < len(l.input); i++ {
		if !isSpace(l.input[i]) {
			return l.input[i] == '('
		}
	}
	return false
}

// lexNumberOrDuration lexes a number (decimal, hex, with exponent) or a
// duration (1h30m). A number glued to letters that do not form a duration
// is an error, as in Prometheus: "5mm", "5m1".
func (l *lexer) lexNumberOrDuration() bool {
	if l.scanNumber() {
		l.emit(NUMBER)
		return true
	}
	if l.acceptRemainingDuration() {
		l.emit(DURATION)
		return true
	}
	l.fail("bad number or duration syntax: %q", l.input[l.start:l.pos])
	return false
}

// scanNumber consumes a number and reports whether it stands alone, that is
// no letter or digit follows it.
func (l *lexer) scanNumber() bool {
	digits := "0123456789"
	if l.acceptByte("0") && l.acceptByte("xX") {
		digits = "0123456789abcdefABCDEF"
	}
	l.acceptRun(digits)
	if l.acceptByte(".") {
		l.acceptRun(digits)
	}
	if l.acceptByte("eE") {
		l.acceptByte("+-")
		l.acceptRun("0123456789")
	}
	return l.pos >= len(l.input) || !isAlphaNumeric(l.input[l.pos])
}

// acceptRemainingDuration consumes the unit part of a duration after its
// first number. It only checks the shape; ParseDuration rejects bad units
// and orders later, with a precise message.
func (l *lexer) acceptRemainingDuration() bool {
	if !l.acceptByte("smhdwy") {
		return false
	}
	l.acceptByte("s") // ms
	for l.acceptByte("0123456789") {
		l.acceptRun("0123456789")
		if !l.acceptByte("smhdw") {
			return false
		}
		l.acceptByte("s")
	}
	if l.pos < len(l.input) && isAlphaNumeric(l.input[l.pos]) {
		l.pos++
		return false
	}
	return true
}

// lexString lexes a single- or double-quoted string, validating escapes
// (Go's rules) so that unquoting later cannot fail.
func (l *lexer) lexString(quote byte) bool {
	for {
		if l.pos >= len(l.input) {
			l.fail("unterminated quoted string")
			return false
		}
		c := l.input[l.pos]
		switch {
		case c == '\\':
			l.pos++
			if msg := l.scanEscape(quote); msg != "" {
				l.fail("%s", msg)
				return false
			}
		case c == '\n':
			l.fail("unterminated quoted string")
			return false
		case c == quote:
			l.pos++
			l.emit(STRING)
			return true
		case c < utf8.RuneSelf:
			l.pos++
		default:
			r, w := utf8.DecodeRuneInString(l.input[l.pos:])
			if r == utf8.RuneError && w == 1 {
				l.fail("invalid UTF-8 rune")
				return false
			}
			l.pos += w
		}
	}
}

// scanEscape consumes an escape sequence after the backslash and returns
// an error message, or "" when it is valid.
func (l *lexer) scanEscape(quote byte) string {
	if l.pos >= len(l.input) {
		return "escape sequence not terminated"
	}
	c := l.input[l.pos]
	var n int
	var base, maxVal uint32
	switch c {
	case 'a', 'b', 'f', 'n', 'r', 't', 'v', '\\', quote:
		l.pos++
		return ""
	case '0', '1', '2', '3', '4', '5', '6', '7':
		n, base, maxVal = 3, 8, 255
	case 'x':
		l.pos++
		n, base, maxVal = 2, 16, 255
	case 'u':
		l.pos++
		n, base, maxVal = 4, 16, unicode.MaxRune
	case 'U':
		l.pos++
		n, base, maxVal = 8, 16, unicode.MaxRune
	default:
		r, _ := utf8.DecodeRuneInString(l.input[l.pos:])
		return fmt.Sprintf("unknown escape sequence %#U", r)
	}
	var x uint32
	for ; n > 0; n-- {
		if l.pos >= len(l.input) {
			return "escape sequence not terminated"
		}
		r, w := utf8.DecodeRuneInString(l.input[l.pos:])
		d := uint32(digitVal(r))
		if d >= base {
			return fmt.Sprintf("illegal character %#U in escape sequence", r)
		}
		l.pos += w
		x = x*base + d
	}
	if x > maxVal || 0xD800 <= x && x < 0xE000 {
		return "escape sequence is an invalid Unicode code point"
	}
	return ""
}

// lexRawString lexes a backtick string: no escapes, newlines kept.
func (l *lexer) lexRawString() bool {
	for {
		if l.pos >= len(l.input) {
			l.fail("unterminated raw string")
			return false
		}
		c := l.input[l.pos]
		switch {
		case c == '`':
			l.pos++
			l.emit(STRING)
			return true
		case c < utf8.RuneSelf:
			l.pos++
		default:
			r, w := utf8.DecodeRuneInString(l.input[l.pos:])
			if r == utf8.RuneError && w == 1 {
				l.fail("invalid UTF-8 rune")
				return false
			}
			l.pos += w
		}
	}
}

func digitVal(r rune) int {
	switch {
	case '0' <= r && r <= '9':
		return int(r - '0')
	case 'a' <= r && r <= 'f':
		return int(r - 'a' + 10)
	case 'A' <= r && r <= 'F':
		return int(r - 'A' + 10)
	}
	return 16 // Larger than any legal digit value.
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// isAlpha reports whether c may start a name: an ASCII letter or '_'.
// Names with other characters must be quoted.
func isAlpha(c byte) bool {
	return c == '_' || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z')
}

func isAlphaNumeric(c byte) bool { return isAlpha(c) || isDigit(c) }

// unquoteString returns the value of a STRING item's text. The lexer has
// validated the escapes, so this cannot fail on lexed input. Single-quoted
// strings follow the double-quoted rules (Go would read them as runes).
func unquoteString(s string) string {
	if len(s) < 2 {
		return s
	}
	quote := s[0]
	body := s[1 : len(s)-1]
	if quote == '`' || strings.IndexByte(body, '\\') < 0 {
		return body
	}
	var b strings.Builder
	b.Grow(len(body))
	for i := 0; i < len(body); {
		c := body[i]
		if c != '\\' || i+1 >= len(body) {
			b.WriteByte(c)
			i++
			continue
		}
		i++
		e := body[i]
		i++
		switch e {
		case 'a':
			b.WriteByte('\a')
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case 'v':
			b.WriteByte('\v')
		case '0', '1', '2', '3', '4', '5', '6', '7':
			v := int(e - '0')
			for k := 0; k < 2 && i < len(body); k++ {
				v = v*8 + int(body[i]-'0')
				i++
			}
			// Octal and \x escapes denote bytes, not code points.
			b.WriteByte(byte(v))
		case 'x', 'u', 'U':
			n := 2
			switch e {
			case 'u':
				n = 4
			case 'U':
				n = 8
			}
			v := 0
			for k := 0; k < n && i < len(body); k++ {
				v = v*16 + digitVal(rune(body[i]))
				i++
			}
			if e == 'x' {
				b.WriteByte(byte(v))
			} else {
				b.WriteRune(rune(v))
			}
		default: // '\\' and the quote characters.
			b.WriteByte(e)
		}
	}
	return b.String()
}
