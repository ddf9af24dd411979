package parser

import (
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-monitoring/vigil/internal/model/labels"
)

// The printer writes the canonical form Prometheus' /api/v1/format_query
// returns: single spaces around binary operators, "sum by (a) (x)",
// sorted matchers without blanks, durations in Prometheus units, @ times
// with three decimals, and parentheses only where the input had them
// (ParenExpr nodes). Parsing the output gives back an equal tree.

func nodeString(n Node) string {
	var b strings.Builder
	writeNode(&b, n)
	return b.String()
}

// String implements Node.
func (e *AggregateExpr) String() string { return nodeString(e) }

// String implements Node.
func (e *BinaryExpr) String() string { return nodeString(e) }

// String implements Node.
func (e *Call) String() string { return nodeString(e) }

// String implements Node.
func (e *MatrixSelector) String() string { return nodeString(e) }

// String implements Node.
func (e *SubqueryExpr) String() string { return nodeString(e) }

// String implements Node.
func (e *NumberLiteral) String() string { return nodeString(e) }

// String implements Node.
func (e *ParenExpr) String() string { return nodeString(e) }

// String implements Node.
func (e *StringLiteral) String() string { return strconv.Quote(e.Val) }

// String implements Node.
func (e *UnaryExpr) String() string { return nodeString(e) }

// String implements Node.
func (e *VectorSelector) String() string { return nodeString(e) }

// String implements Node.
func (e *StepInvariantExpr) String() string { return nodeString(e.Expr) }

// String implements Node.
func (e *DurationExpr) String() string { return nodeString(e) }

// String implements Node: the expressions separated by ", ".
func (e Expressions) String() string { return nodeString(e) }

func writeNode(b *strings.Builder, n Node) {
	switch e := n.(type) {
	case nil:
		b.WriteString("<nil>")
	case Expressions:
		for i, x := range e {
			if i > 0 {
				b.WriteString(", ")
			}
			writeNode(b, x)
		}
	case *AggregateExpr:
		writeAggregateHead(b, e)
		b.WriteByte('(')
		if e.Param != nil {
			writeNode(b, e.Param)
			b.WriteString(", ")
		}
		writeNode(b, e.Expr)
		b.WriteByte(')')
	case *BinaryExpr:
		writeNode(b, e.LHS)
		b.WriteByte(' ')
		writeOperator(b, e)
		b.WriteByte(' ')
		writeNode(b, e.RHS)
	case *Call:
		b.WriteString(e.Func.Name)
		b.WriteByte('(')
		writeNode(b, e.Args)
		b.WriteByte(')')
	case *MatrixSelector:
		vs, _ := e.VectorSelector.(*VectorSelector)
		if vs == nil {
			writeNode(b, e.VectorSelector)
		} else {
			writeSelector(b, vs)
		}
		b.WriteByte('[')
		writeDurationField(b, e.Range, e.RangeExpr)
		b.WriteByte(']')
		if vs != nil {
			writeModifiers(b, vs.Anchored, vs.Smoothed, vs.Timestamp, vs.StartOrEnd, vs.OriginalOffset, vs.OriginalOffsetExpr)
		}
	case *SubqueryExpr:
		writeNode(b, e.Expr)
		writeSubquerySuffix(b, e)
	case *NumberLiteral:
		writeNumber(b, e)
	case *ParenExpr:
		b.WriteByte('(')
		writeNode(b, e.Expr)
		b.WriteByte(')')
	case *StringLiteral:
		b.WriteString(strconv.Quote(e.Val))
	case *UnaryExpr:
		b.WriteString(e.Op.String())
		writeNode(b, e.Expr)
	case *VectorSelector:
		writeSelector(b, e)
		writeModifiers(b, e.Anchored, e.Smoothed, e.Timestamp, e.StartOrEnd, e.OriginalOffset, e.OriginalOffsetExpr)
	case *StepInvariantExpr:
		writeNode(b, e.Expr)
	case *DurationExpr:
		writeDurationExpr(b, e)
	}
}

// writeAggregateHead writes "sum", "sum by (a) " or "sum without (a) ".
// An empty by () is dropped: it means the same as no clause.
func writeAggregateHead(b *strings.Builder, e *AggregateExpr) {
	b.WriteString(e.Op.String())
	switch {
	case e.Without:
		b.WriteString(" without (")
		writeLabelList(b, e.Grouping)
		b.WriteString(") ")
	case len(e.Grouping) > 0:
		b.WriteString(" by (")
		writeLabelList(b, e.Grouping)
		b.WriteString(") ")
	}
}

// writeOperator writes a binary operator with its modifiers: "+", "==
// bool", "* on (a) group_left (b) fill(0)".
func writeOperator(b *strings.Builder, e *BinaryExpr) {
	b.WriteString(e.Op.String())
	if e.ReturnBool {
		b.WriteString(" bool")
	}
	vm := e.VectorMatching
	if vm == nil {
		return
	}
	grouped := vm.Card == CardManyToOne || vm.Card == CardOneToMany
	if len(vm.MatchingLabels) > 0 || vm.On || grouped {
		if vm.On {
			b.WriteString(" on (")
		} else {
			b.WriteString(" ignoring (")
		}
		writeLabelList(b, vm.MatchingLabels)
		b.WriteByte(')')
		if grouped {
			if vm.Card == CardManyToOne {
				b.WriteString(" group_left (")
			} else {
				b.WriteString(" group_right (")
			}
			writeLabelList(b, vm.Include)
			b.WriteByte(')')
		}
	}
	l, r := vm.FillValues.LHS, vm.FillValues.RHS
	switch {
	case l != nil && r != nil && (*l == *r || math.IsNaN(*l) && math.IsNaN(*r)):
		writeFill(b, " fill(", *l)
	default:
		if l != nil {
			writeFill(b, " fill_left(", *l)
		}
		if r != nil {
			writeFill(b, " fill_right(", *r)
		}
	}
}

func writeFill(b *strings.Builder, head string, v float64) {
	b.WriteString(head)
	b.WriteString(strconv.FormatFloat(v, 'f', -1, 64))
	b.WriteByte(')')
}

// writeLabelList writes label names separated by ", ", quoting those that
// would not lex back as a name.
func writeLabelList(b *strings.Builder, ls []string) {
	for i, l := range ls {
		if i > 0 {
			b.WriteString(", ")
		}
		if labels.IsValidLegacyMetricName(l) && !strings.EqualFold(l, "inf") && !strings.EqualFold(l, "nan") {
			b.WriteString(l)
		} else {
			b.WriteString(strconv.Quote(l))
		}
	}
}

// writeSelector writes the name and matchers of a selector, without
// modifiers. The matcher for a name written before the braces is left out;
// the others are sorted by their text.
func writeSelector(b *strings.Builder, vs *VectorSelector) {
	var stack [8]string
	ms := stack[:0]
	for _, m := range vs.LabelMatchers {
		if vs.Name != "" && m.Name == labels.MetricName && m.Type == labels.MatchEqual && m.Value == vs.Name {
			continue
		}
		ms = append(ms, m.String())
	}
	slices.Sort(ms)
	quoteName := vs.Name != "" && !labels.IsValidLegacyMetricName(vs.Name)
	if vs.Name != "" && !quoteName {
		b.WriteString(vs.Name)
		if len(ms) == 0 {
			return
		}
	}
	b.WriteByte('{')
	if quoteName {
		b.WriteString(strconv.Quote(vs.Name))
		if len(ms) > 0 {
			b.WriteByte(',')
		}
	}
	for i, m := range ms {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(m)
	}
	b.WriteByte('}')
}

// writeModifiers writes the modifiers of a selector: anchored or smoothed,
// then @, then offset.
func writeModifiers(b *strings.Builder, anchored, smoothed bool, ts *int64, startOrEnd ItemType, offset time.Duration, offsetExpr *DurationExpr) {
	switch {
	case anchored:
		b.WriteString(" anchored")
	case smoothed:
		b.WriteString(" smoothed")
	}
	writeAtOffset(b, ts, startOrEnd, offset, offsetExpr)
}

func writeAtOffset(b *strings.Builder, ts *int64, startOrEnd ItemType, offset time.Duration, offsetExpr *DurationExpr) {
	switch {
	case ts != nil:
		b.WriteString(" @ ")
		writeMillisAsSeconds(b, *ts)
	case startOrEnd == START:
		b.WriteString(" @ start()")
	case startOrEnd == END:
		b.WriteString(" @ end()")
	}
	switch {
	case offsetExpr != nil:
		b.WriteString(" offset ")
		// Only an atom may follow offset; anything else would bind to the
		// enclosing expression when parsed back.
		if offsetExpr.LHS != nil && offsetExpr.Op != MIN_OF && offsetExpr.Op != MAX_OF && !offsetExpr.Wrapped {
			b.WriteByte('(')
			writeDurationExpr(b, offsetExpr)
			b.WriteByte(')')
		} else {
			writeDurationExpr(b, offsetExpr)
		}
	case offset != 0:
		b.WriteString(" offset ")
		b.WriteString(FormatDuration(offset))
	}
}

// writeMillisAsSeconds writes ms/1000 with exactly three decimals, exact
// where formatting a float64 could round.
func writeMillisAsSeconds(b *strings.Builder, ms int64) {
	u := uint64(ms)
	if ms < 0 {
		b.WriteByte('-')
		u = -u
	}
	b.WriteString(strconv.FormatUint(u/1000, 10))
	b.WriteByte('.')
	frac := strconv.FormatUint(u%1000, 10)
	b.WriteString("000"[len(frac):])
	b.WriteString(frac)
}

func writeSubquerySuffix(b *strings.Builder, e *SubqueryExpr) {
	b.WriteByte('[')
	writeDurationField(b, e.Range, e.RangeExpr)
	b.WriteByte(':')
	switch {
	case e.StepExpr != nil:
		writeDurationExpr(b, e.StepExpr)
	case e.Step != 0:
		b.WriteString(FormatDuration(e.Step))
	}
	b.WriteByte(']')
	writeAtOffset(b, e.Timestamp, e.StartOrEnd, e.OriginalOffset, e.OriginalOffsetExpr)
}

func writeDurationField(b *strings.Builder, d time.Duration, e *DurationExpr) {
	if e != nil {
		writeDurationExpr(b, e)
		return
	}
	b.WriteString(FormatDuration(d))
}

// writeNumber writes a number as the shortest decimal that parses back to
// it (Inf as +Inf), or as a duration when it was written as one.
func writeNumber(b *strings.Builder, e *NumberLiteral) {
	v := e.Val
	if e.Duration && !math.IsNaN(v) && !math.IsInf(v, 0) && math.Abs(v) < maxDurationSeconds {
		// The sign is written separately so that -0s keeps its sign,
		// which matters in 1 / -0s.
		if math.Signbit(v) {
			b.WriteByte('-')
			v = -v
		}
		b.WriteString(FormatDuration(time.Duration(math.Round(v*1000)) * time.Millisecond))
		return
	}
	b.WriteString(strconv.FormatFloat(v, 'f', -1, 64))
}

// writeDurationExpr writes a duration expression. The parser keeps the
// input's parentheses in Wrapped; for trees built by hand, operands that
// would otherwise regroup are parenthesised too.
func writeDurationExpr(b *strings.Builder, e *DurationExpr) {
	if e.Wrapped {
		b.WriteByte('(')
	}
	switch {
	case e.Op == STEP || e.Op == RANGE:
		b.WriteString(e.Op.String())
		b.WriteString("()")
	case e.Op == MIN_OF || e.Op == MAX_OF:
		b.WriteString(e.Op.String())
		b.WriteByte('(')
		writeNode(b, e.LHS)
		b.WriteString(", ")
		writeNode(b, e.RHS)
		b.WriteByte(')')
	case e.LHS == nil:
		b.WriteString(e.Op.String())
		// A sign binds like the right operand of ^.
		writeDurationOperand(b, e.RHS, POW, false)
	default:
		writeDurationOperand(b, e.LHS, e.Op, true)
		b.WriteByte(' ')
		b.WriteString(e.Op.String())
		b.WriteByte(' ')
		writeDurationOperand(b, e.RHS, e.Op, false)
	}
	if e.Wrapped {
		b.WriteByte(')')
	}
}

// writeDurationOperand writes an operand of op, parenthesising it when
// parsing the output would otherwise group it differently: a binary
// operand that binds less tightly (or equally, on the side associativity
// does not group), and a negative base of ^ (-2 ^ 2 is -(2 ^ 2)).
func writeDurationOperand(b *strings.Builder, x Expr, op ItemType, isLHS bool) {
	prec := op.Precedence()
	paren := false
	switch v := x.(type) {
	case *NumberLiteral:
		paren = isLHS && op == POW && (v.Val < 0 || math.Signbit(v.Val))
	case *DurationExpr:
		switch {
		case v.Wrapped || v.Op == STEP || v.Op == RANGE || v.Op == MIN_OF || v.Op == MAX_OF:
		case v.LHS == nil:
			paren = isLHS && op == POW
		default:
			p := v.Op.Precedence()
			paren = p < prec || (p == prec && isLHS == op.IsRightAssociative())
		}
	}
	if paren {
		b.WriteByte('(')
	}
	writeNode(b, x)
	if paren {
		b.WriteByte(')')
	}
}
