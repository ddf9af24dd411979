package parser

import (
	"fmt"
	"math"
	"sort"
	"strings"
)

// dump renders a tree with every semantic field and no positions, so that
// two trees can be compared for equality regardless of spacing. Trees that
// dump equally evaluate equally.
func dump(n Node) string {
	var b strings.Builder
	dumpTo(&b, n)
	return b.String()
}

func dumpFloat(f float64) string {
	if math.IsNaN(f) {
		return "NaN"
	}
	if f == 0 && math.Signbit(f) {
		return "-0"
	}
	return fmt.Sprint(f)
}

func dumpTo(b *strings.Builder, n Node) {
	switch e := n.(type) {
	case nil:
		b.WriteString("nil")
	case *AggregateExpr:
		fmt.Fprintf(b, "Agg(%s without=%v grouping=%q param=", e.Op, e.Without, e.Grouping)
		dumpTo(b, e.Param)
		b.WriteString(" expr=")
		dumpTo(b, e.Expr)
		b.WriteString(")")
	case *BinaryExpr:
		fmt.Fprintf(b, "Bin(%s bool=%v ", e.Op, e.ReturnBool)
		if vm := e.VectorMatching; vm != nil {
			fmt.Fprintf(b, "vm{%s on=%v %q include=%q", vm.Card, vm.On, vm.MatchingLabels, vm.Include)
			for _, f := range []*float64{vm.FillValues.LHS, vm.FillValues.RHS} {
				if f == nil {
					b.WriteString(" -")
				} else {
					b.WriteString(" " + dumpFloat(*f))
				}
			}
			b.WriteString("} ")
		}
		dumpTo(b, e.LHS)
		b.WriteString(", ")
		dumpTo(b, e.RHS)
		b.WriteString(")")
	case *Call:
		fmt.Fprintf(b, "Call(%s", e.Func.Name)
		for _, a := range e.Args {
			b.WriteString(", ")
			dumpTo(b, a)
		}
		b.WriteString(")")
	case *MatrixSelector:
		fmt.Fprintf(b, "Matrix(%v ", e.Range)
		dumpTo(b, e.RangeExpr)
		b.WriteString(" ")
		dumpTo(b, e.VectorSelector)
		b.WriteString(")")
	case *SubqueryExpr:
		fmt.Fprintf(b, "Subquery(%v ", e.Range)
		dumpTo(b, e.RangeExpr)
		fmt.Fprintf(b, " step=%v ", e.Step)
		dumpTo(b, e.StepExpr)
		dumpModifiers(b, e.OriginalOffset, e.OriginalOffsetExpr, e.Timestamp, e.StartOrEnd)
		b.WriteString(" ")
		dumpTo(b, e.Expr)
		b.WriteString(")")
	case *NumberLiteral:
		fmt.Fprintf(b, "Num(%s dur=%v)", dumpFloat(e.Val), e.Duration)
	case *ParenExpr:
		b.WriteString("Paren(")
		dumpTo(b, e.Expr)
		b.WriteString(")")
	case *StringLiteral:
		fmt.Fprintf(b, "Str(%q)", e.Val)
	case *UnaryExpr:
		fmt.Fprintf(b, "Unary(%s ", e.Op)
		dumpTo(b, e.Expr)
		b.WriteString(")")
	case *VectorSelector:
		fmt.Fprintf(b, "VS(%q", e.Name)
		// Matcher order has no meaning; the printer sorts them.
		ms := make([]string, len(e.LabelMatchers))
		for i, m := range e.LabelMatchers {
			ms[i] = fmt.Sprintf(" %q%s%q", m.Name, m.Type, m.Value)
		}
		sort.Strings(ms)
		b.WriteString(strings.Join(ms, ""))
		fmt.Fprintf(b, " anchored=%v smoothed=%v bypass=%v", e.Anchored, e.Smoothed, e.BypassEmptyMatcherCheck)
		dumpModifiers(b, e.OriginalOffset, e.OriginalOffsetExpr, e.Timestamp, e.StartOrEnd)
		b.WriteString(")")
	case *DurationExpr:
		if e == nil {
			b.WriteString("nil")
			return
		}
		fmt.Fprintf(b, "Dur(%s wrapped=%v ", e.Op, e.Wrapped)
		dumpTo(b, e.LHS)
		b.WriteString(", ")
		dumpTo(b, e.RHS)
		b.WriteString(")")
	case *StepInvariantExpr:
		b.WriteString("StepInvariant(")
		dumpTo(b, e.Expr)
		b.WriteString(")")
	default:
		fmt.Fprintf(b, "%T", n)
	}
}

func dumpModifiers(b *strings.Builder, off interface{ String() string }, offExpr *DurationExpr, ts *int64, soe ItemType) {
	fmt.Fprintf(b, " offset=%s ", off)
	dumpTo(b, offExpr)
	if ts != nil {
		fmt.Fprintf(b, " @%d", *ts)
	}
	if soe != 0 {
		fmt.Fprintf(b, " @%s", soe)
	}
}
