package parser

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/vigil-monitoring/vigil/internal/model/labels"
)

// Options selects the optional, experimental parts of the language. The
// zero value is Prometheus' default: all of them off.
type Options struct {
	// EnableExperimentalFunctions allows the functions marked
	// Experimental and the limitk and limit_ratio aggregations.
	EnableExperimentalFunctions bool
	// EnableDurationExpressions allows arithmetic, step(), range(),
	// min_of() and max_of() in ranges, subquery steps and offsets.
	EnableDurationExpressions bool
	// EnableExtendedRangeSelectors allows the anchored and smoothed
	// modifiers.
	EnableExtendedRangeSelectors bool
	// EnableBinopFillModifiers allows fill(), fill_left() and
	// fill_right() on binary operators.
	EnableBinopFillModifiers bool
}

// AllFeatures enables every optional feature; it is what ParseExpr uses
// and what the conformance test files assume.
var AllFeatures = allFeatures

// allFeatures is what the package-level functions use, out of reach of
// callers changing AllFeatures.
var allFeatures = Options{
	EnableExperimentalFunctions:  true,
	EnableDurationExpressions:    true,
	EnableExtendedRangeSelectors: true,
	EnableBinopFillModifiers:     true,
}

// defaultParser serves the package-level functions.
var defaultParser = NewParser(allFeatures)

// Parser parses PromQL with a fixed set of Options. It holds no state
// between calls and is safe for concurrent use.
type Parser struct {
	opts Options
}

// NewParser returns a parser for the language selected by opts.
func NewParser(opts Options) *Parser { return &Parser{opts: opts} }

// ParseExpr parses and type-checks a PromQL expression with every optional
// feature enabled.
func ParseExpr(input string) (Expr, error) { return defaultParser.ParseExpr(input) }

// ParseMetricSelector parses a lone vector selector such as
// `up{job="x"}` or `{__name__=~"a.*"}` and returns its matchers, as the
// API's match[] parameters need. It does not require a non-empty matcher.
func ParseMetricSelector(input string) ([]*labels.Matcher, error) {
	return defaultParser.ParseMetricSelector(input)
}

// ParseExpr parses and type-checks input. On error the expression is nil
// and the error is a ParseErrors.
func (ps *Parser) ParseExpr(input string) (Expr, error) {
	p := newParser(input, ps.opts)
	defer p.release()
	var expr Expr
	p.run(func() {
		if p.peek().Typ == EOF {
			p.addErrf(PositionRange{}, "no expression found in input")
			return
		}
		expr = p.parseExpr(LowestPrec)
		if p.peek().Typ != EOF {
			p.unexpected("", "")
		}
	})
	// Type checking on a tree with syntax errors would only add noise.
	if len(p.errs) == 0 {
		p.checkAST(expr)
	}
	if len(p.errs) != 0 {
		return nil, p.errs
	}
	return expr, nil
}

// ParseMetricSelector parses a lone vector selector; see the package-level
// function.
func (ps *Parser) ParseMetricSelector(input string) ([]*labels.Matcher, error) {
	p := newParser(input, ps.opts)
	defer p.release()
	var vs *VectorSelector
	p.run(func() {
		t := p.peek()
		switch {
		case t.Typ == LEFT_BRACE:
			vs = p.parseVectorSelector(Item{Typ: t.Typ, Pos: t.Pos})
		case isMetricNameToken(t.Typ):
			p.next()
			vs = p.parseVectorSelector(t)
		default:
			p.unexpected("", "")
		}
		if p.peek().Typ != EOF {
			p.unexpected("", "")
		}
	})
	if len(p.errs) != 0 {
		return nil, p.errs
	}
	return vs.LabelMatchers, nil
}

// ParseErr is one error found while parsing, with where it occurred.
type ParseErr struct {
	PositionRange PositionRange
	Err           error
	Query         string
	// LineOffset is added to the line number, for queries embedded in a
	// larger file (PromQL test scripts, rule files).
	LineOffset int
}

// Error formats the error as Prometheus does: "line:column: parse error:
// message", columns counting bytes from 1.
func (e *ParseErr) Error() string {
	pos := int(e.PositionRange.Start)
	if pos < 0 || pos > len(e.Query) {
		return fmt.Sprintf("invalid position: parse error: %s", e.Err)
	}
	line := e.LineOffset + 1
	lastNL := -1
	for i := 0; i < pos; i++ {
		if e.Query[i] == '\n' {
			line++
			lastNL = i
		}
	}
	return fmt.Sprintf("%d:%d: parse error: %s", line, pos-lastNL, e.Err)
}

// Unwrap returns the underlying error.
func (e *ParseErr) Unwrap() error { return e.Err }

// ParseErrors is the error ParseExpr returns: every error found, in the
// order found, at least one.
type ParseErrors []ParseErr

// Error joins the messages with newlines.
func (e ParseErrors) Error() string {
	var b strings.Builder
	for i := range e {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(e[i].Error())
	}
	return b.String()
}

// parser is the state of one parse.
//
// Syntax errors end the parse: unexpected records the error and panics with
// bailout, which run recovers. Semantic errors (an unknown function, an
// offset set twice) are recorded and parsing goes on, so that a later
// syntax error is still reported, as Prometheus' yacc parser does.
type parser struct {
	opts  Options
	input string
	items []Item
	i     int
	errs  ParseErrors
	// depth guards against inputs nested so deeply that recursion would
	// exhaust the stack.
	depth int
}

type bailout struct{}

// maxDepth bounds the nesting of expressions; real queries stay far below.
const maxDepth = 10000

// Parsers and their item slices are recycled: the items of a short query
// were most of what parsing it allocated, and every query is parsed.
var parserPool = sync.Pool{New: func() any { return new(parser) }}

// maxPooledItems bounds the item slices kept, so one huge query does not
// pin its memory.
const maxPooledItems = 1024

func newParser(input string, opts Options) *parser {
	p := parserPool.Get().(*parser)
	items := p.items
	if items == nil {
		items = make([]Item, 0, 4+len(input)/4)
	}
	*p = parser{opts: opts, input: input, items: lexInto(items[:0], input)}
	return p
}

// release recycles p once the parse is over. Nothing the parse returns
// refers to p or its items (the tree copies what it keeps of them); the
// errors are handed out, so p lets go of them.
func (p *parser) release() {
	items := p.items
	clear(items) // Let the input be collected.
	*p = parser{}
	if cap(items) <= maxPooledItems {
		p.items = items[:0]
	}
	parserPool.Put(p)
}

// run calls f and absorbs the bailout panic of a syntax error.
func (p *parser) run(f func()) {
	defer func() {
		if r := recover(); r != nil {
			if _, ok := r.(bailout); !ok {
				panic(r)
			}
		}
	}()
	f()
}

func (p *parser) peek() Item { return p.items[p.i] }

// peekAt returns the item n positions ahead, or the final EOF/ERROR item.
func (p *parser) peekAt(n int) Item {
	if p.i+n < len(p.items) {
		return p.items[p.i+n]
	}
	return p.items[len(p.items)-1]
}

// next consumes and returns the current item. The final EOF or ERROR item
// is never consumed, so peek stays valid.
func (p *parser) next() Item {
	it := p.items[p.i]
	if p.i < len(p.items)-1 {
		p.i++
	}
	return it
}

func (p *parser) addErr(pr PositionRange, err error) {
	p.errs = append(p.errs, ParseErr{PositionRange: pr, Err: err, Query: p.input})
}

func (p *parser) addErrf(pr PositionRange, format string, args ...any) {
	p.addErr(pr, fmt.Errorf(format, args...))
}

// unexpected reports the current item as a syntax error and ends the
// parse. context says what was being parsed, expected what would have been
// valid; both are optional. A lexer error is reported as itself.
func (p *parser) unexpected(context, expected string) {
	it := p.peek()
	if it.Typ == ERROR {
		p.addErr(PositionRange{Start: it.Pos, End: Pos(len(p.input))}, errors.New(it.Val))
		panic(bailout{})
	}
	var b strings.Builder
	b.WriteString("unexpected ")
	b.WriteString(it.desc())
	if context != "" {
		b.WriteString(" in ")
		b.WriteString(context)
	}
	if expected != "" {
		b.WriteString(", expected ")
		b.WriteString(expected)
	}
	p.addErr(it.PositionRange(), errors.New(b.String()))
	panic(bailout{})
}

// expect consumes an item of type t or reports a syntax error.
func (p *parser) expect(t ItemType, context, expected string) Item {
	if p.peek().Typ != t {
		p.unexpected(context, expected)
	}
	return p.next()
}

func (p *parser) enter() {
	p.depth++
	if p.depth > maxDepth {
		p.addErrf(p.peek().PositionRange(), "expression nested too deeply")
		panic(bailout{})
	}
}

func (p *parser) leave() { p.depth-- }

// parseExpr parses a binary expression whose operators bind at least as
// tightly as minPrec (precedence climbing).
func (p *parser) parseExpr(minPrec int) Expr {
	p.enter()
	defer p.leave()
	lhs := p.parseUnaryExpr()
	for {
		op := p.peek()
		prec := op.Typ.Precedence()
		if prec == LowestPrec || prec < minPrec {
			return lhs
		}
		p.next()
		be := p.parseBinModifiers()
		next := prec + 1
		if op.Typ.IsRightAssociative() {
			next = prec
		}
		be.LHS = lhs
		be.Op = op.Typ
		be.RHS = p.parseExpr(next)
		lhs = be
	}
}

// parseUnaryExpr parses a unary sign or a primary with its postfix
// modifiers. A sign binds tighter than * but looser than ^, so -2^2 is
// -(2^2) while -a*b is (-a)*b. A sign on a number literal is folded into
// the literal.
func (p *parser) parseUnaryExpr() Expr {
	t := p.peek()
	if t.Typ != ADD && t.Typ != SUB {
		return p.parsePostfix(p.parsePrimary())
	}
	p.next()
	operand := p.parseExpr(POW.Precedence())
	if nl, ok := operand.(*NumberLiteral); ok {
		if t.Typ == SUB {
			nl.Val = -nl.Val
		}
		nl.PosRange.Start = t.Pos
		return nl
	}
	return &UnaryExpr{Op: t.Typ, Expr: operand, StartPos: t.Pos}
}

// isMetricNameToken reports whether a token can be a metric name: any
// identifier, and the keywords Prometheus accepts as names (aggregators,
// by, without, offset, and, or, unless, start, end, anchored, smoothed).
// bool, on, ignoring, group_left and group_right cannot be names.
func isMetricNameToken(t ItemType) bool {
	switch t {
	case IDENTIFIER, METRIC_IDENTIFIER, BY, WITHOUT, OFFSET, LAND, LOR, LUNLESS,
		START, END, ANCHORED, SMOOTHED:
		return true
	}
	return t.IsAggregator()
}

// isLabelToken reports whether a token can be a label name in a grouping
// list, where the lexer may have turned the name into a keyword.
func isLabelToken(t ItemType) bool {
	switch t {
	case IDENTIFIER, METRIC_IDENTIFIER, LAND, LOR, LUNLESS, ATAN2, START, END:
		return true
	}
	return t.IsAggregator() || (t.IsKeyword() && t != FILL && t != FILL_LEFT && t != FILL_RIGHT)
}

func (p *parser) parsePrimary() Expr {
	t := p.peek()
	switch t.Typ {
	case NUMBER:
		p.next()
		return &NumberLiteral{Val: p.number(t), PosRange: t.PositionRange()}
	case DURATION:
		p.next()
		return p.durationLiteral(t)
	case STRING:
		p.next()
		return &StringLiteral{Val: unquoteString(t.Val), PosRange: t.PositionRange()}
	case LEFT_PAREN:
		p.next()
		e := p.parseExpr(LowestPrec)
		closing := p.expect(RIGHT_PAREN, "", "")
		return &ParenExpr{Expr: e, PosRange: PositionRange{Start: t.Pos, End: closing.Pos + 1}}
	case LEFT_BRACE:
		return p.parseVectorSelector(Item{Typ: t.Typ, Pos: t.Pos})
	}
	next := p.peekAt(1).Typ
	switch {
	case t.Typ == IDENTIFIER && next == LEFT_PAREN:
		p.next()
		name := t.Val
		if canonical, ok := preprocessorFuncs[strings.ToLower(name)]; ok {
			name = canonical
		}
		return p.parseCall(t, name)
	case (t.Typ == START || t.Typ == END) && next == LEFT_PAREN:
		p.next()
		return p.parseCall(t, strings.ToLower(t.Val))
	case t.Typ.IsAggregator() && (next == LEFT_PAREN || next == BY || next == WITHOUT):
		p.next()
		return p.parseAggregate(t)
	case isMetricNameToken(t.Typ):
		p.next()
		return p.parseVectorSelector(t)
	}
	p.unexpected("", "")
	return nil
}

// number converts a NUMBER item: integers in any Go base prefix (0x1f,
// and like Prometheus a leading 0 for octal), floats, Inf and NaN.
func (p *parser) number(t Item) float64 {
	if n, err := strconv.ParseInt(t.Val, 0, 64); err == nil {
		return float64(n)
	}
	f, err := strconv.ParseFloat(t.Val, 64)
	if err != nil {
		p.addErrf(t.PositionRange(), "error parsing number: %s", err)
	}
	return f
}

// parseVectorSelector parses the optional {matchers} after a metric name
// (name.Typ is LEFT_BRACE when there is no name) and assembles the
// selector.
func (p *parser) parseVectorSelector(name Item) *VectorSelector {
	vs := &VectorSelector{PosRange: PositionRange{Start: name.Pos, End: name.Pos + Pos(len(name.Val))}}
	if name.Typ != LEFT_BRACE {
		vs.Name = name.Val
	}
	if p.peek().Typ == LEFT_BRACE {
		vs.LabelMatchers, vs.PosRange.End = p.parseLabelMatchers()
	} else {
		vs.LabelMatchers = make([]*labels.Matcher, 0, 1)
	}
	if vs.Name != "" {
		m, err := labels.NewMatcher(labels.MatchEqual, labels.MetricName, vs.Name)
		if err != nil {
			p.addErr(vs.PosRange, err)
		} else {
			vs.LabelMatchers = append(vs.LabelMatchers, m)
		}
	}
	return vs
}

// parseLabelMatchers parses {a="b", "c"=~"d", "metric.name"} and returns
// the matchers and the position after the closing brace.
func (p *parser) parseLabelMatchers() ([]*labels.Matcher, Pos) {
	p.next() // {
	ms := []*labels.Matcher{}
	for {
		if t := p.peek(); t.Typ == RIGHT_BRACE {
			p.next()
			return ms, t.Pos + 1
		}
		if m := p.parseLabelMatcher(); m != nil {
			ms = append(ms, m)
		}
		switch p.peek().Typ {
		case COMMA:
			p.next()
		case RIGHT_BRACE:
		default:
			p.unexpected("label matching", `"," or "}"`)
		}
	}
}

func isMatchOp(t ItemType) bool {
	return t == EQL || t == NEQ || t == EQL_REGEX || t == NEQ_REGEX
}

func (p *parser) parseLabelMatcher() *labels.Matcher {
	name := p.peek()
	var label string
	switch name.Typ {
	case IDENTIFIER:
		label = name.Val
		p.next()
		if !isMatchOp(p.peek().Typ) {
			p.unexpected("label matching", "label matching operator")
		}
	case STRING:
		label = unquoteString(name.Val)
		p.next()
		if !isMatchOp(p.peek().Typ) {
			// A lone quoted string is the metric name: {"my.metric"}.
			return p.newMatcher(labels.MatchEqual, labels.MetricName, label, name.PositionRange())
		}
	default:
		p.unexpected("label matching", `identifier or "}"`)
	}
	op := p.next()
	value := p.expect(STRING, "label matching", "string")
	var mt labels.MatchType
	switch op.Typ {
	case EQL:
		mt = labels.MatchEqual
	case NEQ:
		mt = labels.MatchNotEqual
	case EQL_REGEX:
		mt = labels.MatchRegexp
	default:
		mt = labels.MatchNotRegexp
	}
	return p.newMatcher(mt, label, unquoteString(value.Val), mergeRanges(name.PositionRange(), value.PositionRange()))
}

func (p *parser) newMatcher(t labels.MatchType, name, value string, pr PositionRange) *labels.Matcher {
	m, err := labels.NewMatcher(t, name, value)
	if err != nil {
		p.addErr(pr, err)
		return nil
	}
	return m
}

// parseCall parses the argument list of a function call; name is the
// function's canonical name.
func (p *parser) parseCall(nameTok Item, name string) Expr {
	args, end := p.parseArgs()
	// Like Prometheus, judge the name only once the call is complete, so
	// that a syntax error inside it is what gets reported.
	f, ok := Functions[name]
	switch {
	case !ok:
		p.addErrf(nameTok.PositionRange(), "unknown function with name %q", nameTok.Val)
		// A stand-in keeps the tree well formed; the error discards it.
		f = &Function{Name: nameTok.Val, Variadic: -1, ReturnType: ValueTypeNone}
	case f.Experimental && !p.opts.EnableExperimentalFunctions:
		p.addErrf(nameTok.PositionRange(), "function %q is not enabled", name)
	}
	return &Call{Func: f, Args: args, PosRange: PositionRange{Start: nameTok.Pos, End: end}}
}

// parseArgs parses "(a, b, ...)" and returns the arguments and the
// position after the closing parenthesis.
func (p *parser) parseArgs() (Expressions, Pos) {
	p.next() // (
	args := Expressions{}
	if t := p.peek(); t.Typ == RIGHT_PAREN {
		p.next()
		return args, t.Pos + 1
	}
	for {
		args = append(args, p.parseExpr(LowestPrec))
		t := p.peek()
		switch t.Typ {
		case COMMA:
			p.next()
			if closing := p.peek(); closing.Typ == RIGHT_PAREN {
				p.addErrf(t.PositionRange(), "trailing commas not allowed in function call args")
				p.next()
				return args, closing.Pos + 1
			}
		case RIGHT_PAREN:
			p.next()
			return args, t.Pos + 1
		default:
			p.unexpected("", "")
		}
	}
}

// parseAggregate parses an aggregation after its operator: the grouping
// clause goes before or after the arguments.
func (p *parser) parseAggregate(op Item) Expr {
	ae := &AggregateExpr{Op: op.Typ}
	if (op.Typ == LIMITK || op.Typ == LIMIT_RATIO) && !p.opts.EnableExperimentalFunctions {
		p.addErrf(op.PositionRange(), "limitk() and limit_ratio() are experimental and not enabled")
	}
	modified := false
	if t := p.peek(); t.Typ == BY || t.Typ == WITHOUT {
		p.next()
		ae.Without = t.Typ == WITHOUT
		ae.Grouping, _ = p.parseGroupingLabels()
		modified = true
	}
	if p.peek().Typ != LEFT_PAREN {
		p.unexpected("aggregation", "")
	}
	args, end := p.parseArgs()
	if t := p.peek(); !modified && (t.Typ == BY || t.Typ == WITHOUT) {
		p.next()
		ae.Without = t.Typ == WITHOUT
		ae.Grouping, end = p.parseGroupingLabels()
	}
	ae.PosRange = PositionRange{Start: op.Pos, End: end}
	if len(args) == 0 {
		p.addErrf(ae.PosRange, "no arguments for aggregate expression provided")
		return ae
	}
	want := 1
	if op.Typ.IsAggregatorWithParam() {
		want = 2
	}
	if len(args) != want {
		p.addErrf(ae.PosRange, "wrong number of arguments for aggregate expression provided, expected %d, got %d", want, len(args))
		return ae
	}
	if want == 2 {
		ae.Param = args[0]
	}
	ae.Expr = args[want-1]
	return ae
}

// parseGroupingLabels parses "(a, b)" after by, without, on, ignoring,
// group_left or group_right. Names may be quoted for UTF-8. It returns the
// labels and the position after the closing parenthesis.
func (p *parser) parseGroupingLabels() ([]string, Pos) {
	p.expect(LEFT_PAREN, "grouping opts", `"("`)
	out := []string{}
	for {
		t := p.peek()
		if t.Typ == RIGHT_PAREN {
			p.next()
			return out, t.Pos + 1
		}
		var name string
		switch {
		case isLabelToken(t.Typ):
			name = t.Val
		case t.Typ == STRING:
			name = unquoteString(t.Val)
		default:
			p.unexpected("grouping opts", "label")
		}
		if !labels.IsValidUTF8Name(name) {
			p.addErrf(t.PositionRange(), "invalid label name for grouping: %q", name)
		}
		p.next()
		out = append(out, name)
		switch p.peek().Typ {
		case COMMA:
			p.next()
		case RIGHT_PAREN:
		default:
			p.unexpected("grouping opts", `"," or ")"`)
		}
	}
}

// parseBinModifiers parses what may follow a binary operator, in order:
// bool; on (...) or ignoring (...); then group_left/group_right with
// optional labels; then fill modifiers.
func (p *parser) parseBinModifiers() *BinaryExpr {
	be := &BinaryExpr{VectorMatching: &VectorMatching{Card: CardOneToOne}}
	vm := be.VectorMatching
	if p.peek().Typ == BOOL {
		p.next()
		be.ReturnBool = true
	}
	if t := p.peek(); t.Typ == ON || t.Typ == IGNORING {
		p.next()
		vm.On = t.Typ == ON
		vm.MatchingLabels, _ = p.parseGroupingLabels()
		if g := p.peek(); g.Typ == GROUP_LEFT || g.Typ == GROUP_RIGHT {
			p.next()
			vm.Card = CardManyToOne
			if g.Typ == GROUP_RIGHT {
				vm.Card = CardOneToMany
			}
			if p.peek().Typ == LEFT_PAREN {
				vm.Include, _ = p.parseGroupingLabels()
			}
		}
	}
	p.parseFillModifiers(vm)
	return be
}

// parseFillModifiers parses fill(v), or fill_left(v) and/or fill_right(v).
func (p *parser) parseFillModifiers(vm *VectorMatching) {
	for {
		t := p.peek()
		if t.Typ != FILL && t.Typ != FILL_LEFT && t.Typ != FILL_RIGHT {
			return
		}
		p.next()
		if !p.opts.EnableBinopFillModifiers {
			p.addErrf(t.PositionRange(), "binop fill modifiers are experimental and not enabled")
		}
		p.expect(LEFT_PAREN, "fill modifier", `"("`)
		neg := false
		if s := p.peek(); s.Typ == ADD || s.Typ == SUB {
			p.next()
			neg = s.Typ == SUB
		}
		v := p.peek()
		var val float64
		switch v.Typ {
		case NUMBER:
			val = p.number(v)
		case DURATION:
			d, err := ParseDuration(v.Val)
			if err != nil {
				p.addErr(v.PositionRange(), err)
			}
			val = d.Seconds()
		default:
			p.unexpected("fill modifier", "number")
		}
		p.next()
		p.expect(RIGHT_PAREN, "fill modifier", `")"`)
		if neg {
			val = -val
		}
		fv := &vm.FillValues
		if (t.Typ != FILL_RIGHT && fv.LHS != nil) || (t.Typ != FILL_LEFT && fv.RHS != nil) {
			p.addErrf(t.PositionRange(), "fill modifier may not be set multiple times")
		}
		if t.Typ != FILL_RIGHT {
			fv.LHS = &val
		}
		if t.Typ != FILL_LEFT {
			fv.RHS = &val
		}
	}
}
