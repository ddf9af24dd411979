package parser

import (
	"math"
	"strings"
	"time"
)

// parsePostfix applies what follows a primary expression and binds
// tighter than any operator: ranges and subqueries ([...]), offset, @,
// anchored and smoothed, in any order and number (repetitions are
// reported as errors).
func (p *parser) parsePostfix(e Expr) Expr {
	for {
		t := p.peek()
		switch t.Typ {
		case LEFT_BRACKET:
			e = p.parseRangeOrSubquery(e)
		case OFFSET:
			p.next()
			p.parseOffset(e)
		case AT:
			p.next()
			p.parseAt(e)
		case ANCHORED, SMOOTHED:
			p.next()
			p.setRangeModifier(e, t)
		default:
			return e
		}
	}
}

// modifierTarget points at the fields an offset or @ modifier sets: those
// of a vector selector (also inside a range) or of a subquery.
type modifierTarget struct {
	offset     *time.Duration
	offsetExpr **DurationExpr
	timestamp  **int64
	startOrEnd *ItemType
	endPos     *Pos
}

// target returns where a modifier named what applies to e, or reports that
// e cannot carry it.
func (p *parser) target(e Expr, what string) (modifierTarget, bool) {
	switch s := e.(type) {
	case *VectorSelector:
		return modifierTarget{&s.OriginalOffset, &s.OriginalOffsetExpr, &s.Timestamp, &s.StartOrEnd, &s.PosRange.End}, true
	case *MatrixSelector:
		vs := s.VectorSelector.(*VectorSelector)
		return modifierTarget{&vs.OriginalOffset, &vs.OriginalOffsetExpr, &vs.Timestamp, &vs.StartOrEnd, &s.EndPos}, true
	case *SubqueryExpr:
		return modifierTarget{&s.OriginalOffset, &s.OriginalOffsetExpr, &s.Timestamp, &s.StartOrEnd, &s.EndPos}, true
	}
	p.addErrf(e.PositionRange(), "%s modifier must be preceded by an instant vector selector or range vector selector or a subquery", what)
	return modifierTarget{}, false
}

// parseOffset parses the value after "offset": a signed number or
// duration, or a duration expression in parentheses or a duration function
// (step(), range(), min_of(), max_of()), optionally signed. Arithmetic
// after the value belongs to the enclosing expression: offset 1h * 2 is
// (x offset 1h) * 2.
func (p *parser) parseOffset(e Expr) {
	start := p.peek().Pos
	neg := false
	if s := p.peek(); s.Typ == ADD || s.Typ == SUB {
		p.next()
		neg = s.Typ == SUB
	}
	d := p.parseDurationAtom("offset", "number, duration, or step()")
	if neg {
		d = negateDuration(d, start)
	}
	dur, dexpr, ok := p.resolveDuration(d)
	tg, tok := p.target(e, "offset")
	if !tok || !ok {
		return
	}
	if *tg.offset != 0 || *tg.offsetExpr != nil {
		p.addErrf(e.PositionRange(), "offset may not be set multiple times")
		return
	}
	*tg.offset = dur
	*tg.offsetExpr = dexpr
	*tg.endPos = d.PositionRange().End
}

// parseAt parses the value after "@": a signed number or duration of
// seconds since the epoch, or start() / end().
func (p *parser) parseAt(e Expr) {
	t := p.peek()
	if t.Typ == START || t.Typ == END {
		p.next()
		p.expect(LEFT_PAREN, "@", `"("`)
		closing := p.expect(RIGHT_PAREN, "@", `")"`)
		tg, ok := p.target(e, "@")
		if !ok || !p.atUnset(e, tg) {
			return
		}
		*tg.startOrEnd = t.Typ
		*tg.endPos = closing.Pos + 1
		return
	}
	neg := false
	if t.Typ == ADD || t.Typ == SUB {
		p.next()
		neg = t.Typ == SUB
	}
	v := p.peek()
	var ms int64
	switch v.Typ {
	case NUMBER:
		var ok bool
		ms, ok = decimalMillis(v.Val)
		if !ok {
			secs := p.number(v)
			if math.IsNaN(secs) || math.IsInf(secs, 0) || math.Abs(secs) >= maxTimestampSeconds {
				p.next()
				if neg {
					secs = -secs
				}
				p.addErrf(e.PositionRange(), "timestamp out of bounds for @ modifier: %f", secs)
				return
			}
			ms = int64(math.Round(secs * 1000))
		}
	case DURATION:
		ms = int64(p.durationLiteral(v).Val * 1000)
	default:
		p.unexpected("@", "timestamp")
	}
	p.next()
	if neg {
		ms = -ms
	}
	tg, ok := p.target(e, "@")
	if !ok || !p.atUnset(e, tg) {
		return
	}
	*tg.timestamp = &ms
	*tg.endPos = v.Pos + Pos(len(v.Val))
}

func (p *parser) atUnset(e Expr, tg modifierTarget) bool {
	if *tg.timestamp != nil || *tg.startOrEnd != 0 {
		p.addErrf(e.PositionRange(), "@ <timestamp> may not be set multiple times")
		return false
	}
	return true
}

// maxTimestampSeconds bounds @ timestamps so that milliseconds fit int64.
const maxTimestampSeconds = float64(math.MaxInt64 / 1000)

// decimalMillis converts a plain decimal number of seconds ("1609746000",
// "1.234") to milliseconds exactly, without the rounding error of going
// through float64, so that printed @ values parse back to the same time.
// It reports false for other spellings (exponents, hex, Inf).
func decimalMillis(s string) (int64, bool) {
	intPart, frac, _ := strings.Cut(s, ".")
	if len(intPart) == 0 && len(frac) == 0 {
		return 0, false
	}
	for _, part := range []string{intPart, frac} {
		for i := 0; i < len(part); i++ {
			if !isDigit(part[i]) {
				return 0, false
			}
		}
	}
	if len(intPart) > 1 && intPart[0] == '0' && !strings.Contains(s, ".") {
		return 0, false // Octal, as ParseInt reads it.
	}
	// Round half away from zero at the millisecond, as math.Round does.
	round := len(frac) > 3 && frac[3] >= '5'
	frac = (frac + "000")[:3]
	var ms int64
	for _, c := range intPart + frac {
		if ms > (math.MaxInt64-9)/10 {
			return 0, false
		}
		ms = ms*10 + int64(c-'0')
	}
	if round {
		ms++
	}
	return ms, true
}

// setRangeModifier applies anchored or smoothed to a selector.
func (p *parser) setRangeModifier(e Expr, t Item) {
	if !p.opts.EnableExtendedRangeSelectors {
		p.addErrf(t.PositionRange(), "the anchored and smoothed modifiers are experimental and not enabled")
	}
	var vs *VectorSelector
	switch s := e.(type) {
	case *VectorSelector:
		vs = s
		vs.PosRange.End = t.Pos + Pos(len(t.Val))
	case *MatrixSelector:
		vs = s.VectorSelector.(*VectorSelector)
		s.EndPos = t.Pos + Pos(len(t.Val))
	default:
		p.addErrf(e.PositionRange(), "%s modifier must be preceded by an instant vector selector or range vector selector", strings.ToLower(t.Val))
		return
	}
	if vs.Anchored || vs.Smoothed {
		p.addErrf(e.PositionRange(), "anchored or smoothed modifier may not be set multiple times")
		return
	}
	vs.Anchored = t.Typ == ANCHORED
	vs.Smoothed = t.Typ == SMOOTHED
}

// parseRangeOrSubquery parses "[range]" after a vector selector, or
// "[range:step]" / "[range:]" after any expression.
func (p *parser) parseRangeOrSubquery(e Expr) Expr {
	open := p.next() // [
	rng := p.parseDurationExpr(LowestPrec, "subquery selector", "number or duration")
	t := p.peek()
	switch t.Typ {
	case RIGHT_BRACKET:
		p.next()
		return p.newMatrixSelector(e, rng, PositionRange{Start: open.Pos, End: t.Pos + 1})
	case COLON:
		p.next()
	default:
		p.unexpected("subquery or range", `":" or "]"`)
	}
	sq := &SubqueryExpr{Expr: e}
	var ok bool
	if sq.Range, sq.RangeExpr, ok = p.resolveDuration(rng); ok {
		p.checkPositive(rng, sq.Range, sq.RangeExpr)
	}
	if p.peek().Typ != RIGHT_BRACKET {
		step := p.parseDurationExpr(LowestPrec, "subquery selector", `number or duration or "]"`)
		if p.peek().Typ != RIGHT_BRACKET {
			p.unexpected("subquery selector", `"]"`)
		}
		if sq.Step, sq.StepExpr, ok = p.resolveDuration(step); ok {
			p.checkPositive(step, sq.Step, sq.StepExpr)
		}
	}
	sq.EndPos = p.next().Pos + 1
	return sq
}

func (p *parser) newMatrixSelector(e Expr, rng Expr, brackets PositionRange) Expr {
	var msg string
	vs, ok := e.(*VectorSelector)
	switch {
	case !ok:
		msg = "ranges only allowed for vector selectors"
	case vs.OriginalOffset != 0 || vs.OriginalOffsetExpr != nil:
		msg = "no offset modifiers allowed before range"
	case vs.Timestamp != nil || vs.StartOrEnd != 0:
		msg = "no @ modifiers allowed before range"
	}
	if msg != "" {
		p.addErrf(brackets, "%s", msg)
		return e
	}
	ms := &MatrixSelector{VectorSelector: vs, EndPos: brackets.End}
	if ms.Range, ms.RangeExpr, ok = p.resolveDuration(rng); ok {
		p.checkPositive(rng, ms.Range, ms.RangeExpr)
	}
	return ms
}

// checkPositive rejects a range or step that is known at parse time not to
// be positive. Values depending on step() or range() are checked when
// they are resolved.
func (p *parser) checkPositive(e Expr, d time.Duration, de *DurationExpr) {
	if (de == nil || de.isConstant()) && d <= 0 {
		p.addErrf(e.PositionRange(), "duration must be greater than 0")
	}
}
