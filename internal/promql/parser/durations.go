package parser

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// durationUnits are the units of Prometheus durations, longest first;
// a duration must use them in this order, each at most once.
var durationUnits = []struct {
	name string
	d    time.Duration
}{
	{"y", 365 * 24 * time.Hour},
	{"w", 7 * 24 * time.Hour},
	{"d", 24 * time.Hour},
	{"h", time.Hour},
	{"m", time.Minute},
	{"s", time.Second},
	{"ms", time.Millisecond},
}

// ParseDuration parses a Prometheus duration: integers with units y, w, d,
// h, m, s, ms from the longest to the shortest, each at most once ("1h30m",
// "1d", "90s", "500ms"), or "0". A year is 365 days. Unlike Go's
// time.ParseDuration there are no fractions and no negative values.
func ParseDuration(s string) (time.Duration, error) {
	switch s {
	case "0":
		return 0, nil
	case "":
		return 0, errors.New("empty duration string")
	}
	orig := s
	var total uint64
	last := -1
	for s != "" {
		i := 0
		for i < len(s) && isDigit(s[i]) {
			i++
		}
		if i == 0 {
			return 0, fmt.Errorf("not a valid duration string: %q", orig)
		}
		v, err := strconv.ParseUint(s[:i], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("not a valid duration string: %q", orig)
		}
		s = s[i:]
		j := 0
		for j < len(s) && !isDigit(s[j]) {
			j++
		}
		if j == 0 {
			return 0, fmt.Errorf("not a valid duration string: %q", orig)
		}
		unit := s[:j]
		s = s[j:]
		idx := -1
		for k, u := range durationUnits {
			if u.name == unit {
				idx = k
				break
			}
		}
		if idx < 0 {
			return 0, fmt.Errorf("unknown unit %q in duration %q", unit, orig)
		}
		if idx <= last {
			return 0, fmt.Errorf("not a valid duration string: %q", orig)
		}
		last = idx
		mult := uint64(durationUnits[idx].d)
		if v > math.MaxInt64/mult {
			return 0, errors.New("duration out of range")
		}
		total += v * mult
		if total > math.MaxInt64 {
			return 0, errors.New("duration out of range")
		}
	}
	return time.Duration(total), nil
}

// FormatDuration writes d the way Prometheus prints durations: whole
// milliseconds, units from years down, "0s" for zero. Years and weeks are
// only used when they divide the rest exactly (90d, not 12w6d). Negative
// durations get a leading "-".
func FormatDuration(d time.Duration) string {
	ms := d.Milliseconds()
	if ms == 0 {
		return "0s"
	}
	var b strings.Builder
	if ms < 0 {
		b.WriteByte('-')
		ms = -ms
	}
	for i, u := range durationUnits {
		mult := u.d.Milliseconds()
		if i < 2 && ms%mult != 0 {
			continue
		}
		if v := ms / mult; v > 0 {
			b.WriteString(strconv.FormatInt(v, 10))
			b.WriteString(u.name)
			ms -= v * mult
		}
	}
	return b.String()
}

// durationLiteral converts a DURATION item to a number of seconds. An
// invalid duration ends the parse: its value would only cause follow-up
// errors.
func (p *parser) durationLiteral(t Item) *NumberLiteral {
	d, err := ParseDuration(t.Val)
	if err != nil {
		p.addErr(t.PositionRange(), err)
		panic(bailout{})
	}
	return &NumberLiteral{Val: d.Seconds(), Duration: true, PosRange: t.PositionRange()}
}

// maxDurationSeconds bounds durations given as numbers so that the
// conversion to time.Duration cannot overflow.
const maxDurationSeconds = float64(math.MaxInt64 / int64(time.Second))

// secondsToDuration converts seconds to a duration truncated to whole
// milliseconds, as Prometheus converts numeric ranges and offsets.
func secondsToDuration(v float64) (time.Duration, error) {
	if math.IsNaN(v) || math.IsInf(v, 0) || math.Abs(v) >= maxDurationSeconds {
		return 0, fmt.Errorf("duration out of range: %v", v)
	}
	ms := v * 1000
	// A duration literal such as 1001ms arrives here as 1.001 seconds,
	// which times 1000 is 1000.9999999999999: truncating that would lose a
	// millisecond the query spelled out. Values within float noise of a
	// whole millisecond are that millisecond.
	if r := math.Round(ms); math.Abs(ms-r) < 1e-6 {
		ms = r
	}
	return time.Duration(ms) * time.Millisecond, nil
}

// isDurationOperator reports whether t is an arithmetic operator of
// duration expressions.
func isDurationOperator(t ItemType) bool {
	switch t {
	case ADD, SUB, MUL, DIV, MOD, POW:
		return true
	}
	return false
}

// parseDurationExpr parses arithmetic on durations inside brackets, with
// the operator precedence of PromQL. context and expected describe a
// missing first operand in errors.
func (p *parser) parseDurationExpr(minPrec int, context, expected string) Expr {
	p.enter()
	defer p.leave()
	lhs := p.parseDurationUnary(context, expected)
	for {
		op := p.peek()
		if !isDurationOperator(op.Typ) || op.Typ.Precedence() < minPrec {
			return lhs
		}
		p.next()
		next := op.Typ.Precedence() + 1
		if op.Typ.IsRightAssociative() {
			next = op.Typ.Precedence()
		}
		rhs := p.parseDurationExpr(next, "duration expression", "number or duration")
		lhs = p.newDurationExpr(op.Typ, lhs, rhs, PositionRange{
			Start: lhs.PositionRange().Start, End: rhs.PositionRange().End,
		})
	}
}

func (p *parser) newDurationExpr(op ItemType, lhs, rhs Expr, pr PositionRange) *DurationExpr {
	if !p.opts.EnableDurationExpressions {
		p.addErrf(pr, "experimental duration expression is not enabled")
	}
	return &DurationExpr{Op: op, LHS: lhs, RHS: rhs, StartPos: pr.Start, EndPos: pr.End}
}

// parseDurationUnary parses an optionally signed duration operand. Like
// in expressions, a sign binds looser than ^ and is folded into a literal.
func (p *parser) parseDurationUnary(context, expected string) Expr {
	t := p.peek()
	if t.Typ != ADD && t.Typ != SUB {
		return p.parseDurationAtom(context, expected)
	}
	p.next()
	operand := p.parseDurationExpr(POW.Precedence(), "duration expression", "number or duration")
	if t.Typ == ADD {
		if nl, ok := operand.(*NumberLiteral); ok {
			nl.PosRange.Start = t.Pos
		}
		return operand
	}
	return negateDuration(operand, t.Pos)
}

// negateDuration returns -d, folding the sign into a literal.
func negateDuration(d Expr, start Pos) Expr {
	if nl, ok := d.(*NumberLiteral); ok {
		nl.Val = -nl.Val
		nl.PosRange.Start = start
		return nl
	}
	return &DurationExpr{Op: SUB, RHS: d, StartPos: start, EndPos: d.PositionRange().End}
}

// parseDurationAtom parses a number, a duration, a parenthesised duration
// expression, step(), range(), min_of(a, b) or max_of(a, b).
func (p *parser) parseDurationAtom(context, expected string) Expr {
	t := p.peek()
	switch t.Typ {
	case NUMBER:
		p.next()
		return &NumberLiteral{Val: p.number(t), PosRange: t.PositionRange()}
	case DURATION:
		p.next()
		return p.durationLiteral(t)
	case LEFT_PAREN:
		p.next()
		inner := p.parseDurationExpr(LowestPrec, "duration expression", "number or duration")
		closing := p.expect(RIGHT_PAREN, "duration expression", `")"`)
		if de, ok := inner.(*DurationExpr); ok {
			de.Wrapped = true
			de.StartPos, de.EndPos = t.Pos, closing.Pos+1
		}
		return inner
	case IDENTIFIER:
		if p.peekAt(1).Typ != LEFT_PAREN {
			break
		}
		var op ItemType
		switch strings.ToLower(t.Val) {
		case "step":
			op = STEP
		case "range":
			op = RANGE
		}
		switch t.Val {
		case "min_of":
			op = MIN_OF
		case "max_of":
			op = MAX_OF
		}
		if op == 0 {
			break
		}
		p.next()
		p.next() // (
		var lhs, rhs Expr
		if op == MIN_OF || op == MAX_OF {
			lhs = p.parseDurationExpr(LowestPrec, "duration expression", "number or duration")
			p.expect(COMMA, "duration expression", `","`)
			rhs = p.parseDurationExpr(LowestPrec, "duration expression", "number or duration")
		}
		closing := p.expect(RIGHT_PAREN, "duration expression", `")"`)
		return p.newDurationExpr(op, lhs, rhs, PositionRange{Start: t.Pos, End: closing.Pos + 1})
	}
	p.unexpected(context, expected)
	return nil
}

// resolveDuration turns a parsed duration operand into the value and
// expression fields of a node: a literal gives a value and no expression;
// an expression is kept for printing and, when it does not depend on
// step() or range(), also evaluated. It reports false after an error.
func (p *parser) resolveDuration(e Expr) (time.Duration, *DurationExpr, bool) {
	if nl, ok := e.(*NumberLiteral); ok {
		d, err := secondsToDuration(nl.Val)
		if err != nil {
			p.addErr(nl.PosRange, err)
			return 0, nil, false
		}
		return d, nil, true
	}
	de := e.(*DurationExpr)
	if !de.isConstant() {
		return 0, de, true
	}
	d, err := de.Duration(0, 0)
	if err != nil {
		p.addErr(de.PositionRange(), err)
		return 0, de, false
	}
	return d, de, true
}

// isConstant reports whether the expression does not use step() or
// range(), so that its value is known at parse time.
func (e *DurationExpr) isConstant() bool {
	if e.Op == STEP || e.Op == RANGE {
		return false
	}
	for _, c := range []Expr{e.LHS, e.RHS} {
		if de, ok := c.(*DurationExpr); ok && !de.isConstant() {
			return false
		}
	}
	return true
}

// Eval returns the value of the expression in seconds, with step() and
// range() standing for the query's step and range (end minus start; both
// 0 for an instant query).
func (e *DurationExpr) Eval(step, queryRange time.Duration) (float64, error) {
	operand := func(x Expr) (float64, error) {
		switch v := x.(type) {
		case *NumberLiteral:
			return v.Val, nil
		case *DurationExpr:
			return v.Eval(step, queryRange)
		case nil:
			return 0, errors.New("duration expression lacks an operand")
		}
		return 0, fmt.Errorf("unexpected %T in duration expression", x)
	}
	switch e.Op {
	case STEP:
		return step.Seconds(), nil
	case RANGE:
		return queryRange.Seconds(), nil
	}
	r, err := operand(e.RHS)
	if err != nil {
		return 0, err
	}
	if e.LHS == nil {
		switch e.Op {
		case SUB:
			return -r, nil
		case ADD:
			return r, nil
		}
		return 0, fmt.Errorf("invalid unary operator %q in duration expression", e.Op)
	}
	l, err := operand(e.LHS)
	if err != nil {
		return 0, err
	}
	switch e.Op {
	case ADD:
		return l + r, nil
	case SUB:
		return l - r, nil
	case MUL:
		return l * r, nil
	case DIV:
		if r == 0 {
			return 0, errors.New("division by zero in duration expression")
		}
		return l / r, nil
	case MOD:
		if r == 0 {
			return 0, errors.New("modulo by zero in duration expression")
		}
		return math.Mod(l, r), nil
	case POW:
		return math.Pow(l, r), nil
	case MIN_OF:
		return math.Min(l, r), nil
	case MAX_OF:
		return math.Max(l, r), nil
	}
	return 0, fmt.Errorf("invalid operator %q in duration expression", e.Op)
}

// Duration evaluates the expression as Eval does and converts the seconds
// to a duration truncated to milliseconds.
func (e *DurationExpr) Duration(step, queryRange time.Duration) (time.Duration, error) {
	v, err := e.Eval(step, queryRange)
	if err != nil {
		return 0, err
	}
	return secondsToDuration(v)
}

// ResolveDurations evaluates every duration expression in the tree for a
// query with the given step and range (end minus start; both 0 for an
// instant query) and stores the results in the Range, Step and
// OriginalOffset fields beside them. Engines call it before evaluation:
// expressions using step() or range() are left at 0 by the parser. It
// fails when a range is not positive or a subquery step is negative.
func ResolveDurations(node Node, step, queryRange time.Duration) error {
	var err error
	Inspect(node, func(n Node, _ []Node) error {
		set := func(dst *time.Duration, e *DurationExpr, what string, minExclusive bool) {
			if err != nil || e == nil {
				return
			}
			d, derr := e.Duration(step, queryRange)
			switch {
			case derr != nil:
				err = fmt.Errorf("%s %s: %w", what, e, derr)
			case minExclusive && d <= 0:
				err = fmt.Errorf("%s %s must be greater than 0, got %s", what, e, FormatDuration(d))
			default:
				*dst = d
			}
		}
		switch s := n.(type) {
		case *VectorSelector:
			set(&s.OriginalOffset, s.OriginalOffsetExpr, "offset", false)
		case *MatrixSelector:
			set(&s.Range, s.RangeExpr, "range", true)
		case *SubqueryExpr:
			set(&s.Range, s.RangeExpr, "subquery range", true)
			set(&s.Step, s.StepExpr, "subquery step", true)
			set(&s.OriginalOffset, s.OriginalOffsetExpr, "offset", false)
		}
		return err
	})
	return err
}
