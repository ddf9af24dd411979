package parser

import (
	"github.com/vigil-monitoring/vigil/internal/model/labels"
)

// checkAST type-checks the tree below node, records every violation and
// returns node's type. It also settles what only types can decide: set
// operators become many-to-many, and binary operations with a scalar
// operand lose their vector matching.
func (p *parser) checkAST(node Node) ValueType {
	// Types are derived from the children's results rather than with
	// Type(), which would walk each subtree again and make long operator
	// chains quadratic.
	switch n := node.(type) {
	case nil:
		return ValueTypeNone
	case Expressions:
		for _, e := range n {
			p.checkAST(e)
		}
		return ValueTypeNone
	case *AggregateExpr:
		if !n.Op.IsAggregator() {
			p.addErrf(n.PositionRange(), "aggregation operator expected in aggregation expression but got %q", n.Op)
		}
		p.expectType(n.Expr, ValueTypeVector, "aggregation expression")
		switch n.Op {
		case TOPK, BOTTOMK, QUANTILE, LIMITK, LIMIT_RATIO:
			p.expectType(n.Param, ValueTypeScalar, "aggregation parameter")
		case COUNT_VALUES:
			p.expectType(n.Param, ValueTypeString, "aggregation parameter")
		}
		return ValueTypeVector
	case *BinaryExpr:
		return p.checkBinary(n)
	case *Call:
		p.checkCall(n)
		return n.Func.ReturnType
	case *ParenExpr:
		return p.checkAST(n.Expr)
	case *UnaryExpr:
		if n.Op != ADD && n.Op != SUB {
			p.addErrf(n.PositionRange(), "only + and - operators allowed for unary expressions")
		}
		t := p.checkAST(n.Expr)
		if t != ValueTypeScalar && t != ValueTypeVector {
			p.addErrf(n.PositionRange(), "unary expression only allowed on expressions of type scalar or instant vector, got %q", DocumentedType(t))
		}
		return t
	case *SubqueryExpr:
		if t := p.checkAST(n.Expr); t != ValueTypeVector {
			p.addErrf(n.PositionRange(), "subquery is only allowed on instant vector, got %s instead", t)
		}
		return ValueTypeMatrix
	case *MatrixSelector:
		p.checkAST(n.VectorSelector)
		return ValueTypeMatrix
	case *VectorSelector:
		p.checkVectorSelector(n)
		return ValueTypeVector
	case *StepInvariantExpr:
		return p.checkAST(n.Expr)
	case *NumberLiteral, *DurationExpr:
		return ValueTypeScalar
	case *StringLiteral:
		return ValueTypeString
	}
	p.addErrf(node.PositionRange(), "unknown node type %T", node)
	return ValueTypeNone
}

// expectType checks node and records an error unless it has type want.
func (p *parser) expectType(node Node, want ValueType, context string) {
	if t := p.checkAST(node); t != want {
		p.addErrf(node.PositionRange(), "expected type %s in %s, got %s", DocumentedType(want), context, DocumentedType(t))
	}
}

// operatorRange returns the position of a binary expression's operator and
// modifiers: what lies between the operands, without surrounding blanks.
func (p *parser) operatorRange(n *BinaryExpr) PositionRange {
	r := PositionRange{Start: n.LHS.PositionRange().End, End: n.RHS.PositionRange().Start}
	if r.Start < 0 || r.End > Pos(len(p.input)) || r.Start >= r.End {
		return n.PositionRange()
	}
	for r.Start < r.End && isSpace(p.input[r.Start]) {
		r.Start++
	}
	for r.End > r.Start && isSpace(p.input[r.End-1]) {
		r.End--
	}
	return r
}

func (p *parser) checkBinary(n *BinaryExpr) ValueType {
	lt := p.checkAST(n.LHS)
	rt := p.checkAST(n.RHS)
	vm := n.VectorMatching

	if n.ReturnBool && !n.Op.IsComparisonOperator() {
		p.addErrf(p.operatorRange(n), "bool modifier can only be used on comparison operators")
	}
	if n.Op.IsComparisonOperator() && !n.ReturnBool && lt == ValueTypeScalar && rt == ValueTypeScalar {
		p.addErrf(p.operatorRange(n), "comparisons between scalars must use BOOL modifier")
	}
	if vm != nil {
		if n.Op.IsSetOperator() && vm.Card == CardOneToOne {
			vm.Card = CardManyToMany
		}
		if vm.On {
			for _, l1 := range vm.MatchingLabels {
				for _, l2 := range vm.Include {
					if l1 == l2 {
						p.addErrf(p.operatorRange(n), "label %q must not occur in ON and GROUP clause at once", l1)
					}
				}
			}
		}
	}
	if !n.Op.IsOperator() || n.Op == AT {
		p.addErrf(n.PositionRange(), "binary expression does not support operator %q", n.Op)
	}
	if lt != ValueTypeScalar && lt != ValueTypeVector {
		p.addErrf(n.LHS.PositionRange(), "binary expression must contain only scalar and instant vector types")
	}
	if rt != ValueTypeScalar && rt != ValueTypeVector {
		p.addErrf(n.RHS.PositionRange(), "binary expression must contain only scalar and instant vector types")
	}
	hasFill := vm != nil && (vm.FillValues.LHS != nil || vm.FillValues.RHS != nil)
	switch {
	case (lt != ValueTypeVector || rt != ValueTypeVector) && vm != nil:
		if len(vm.MatchingLabels) > 0 {
			p.addErrf(n.PositionRange(), "vector matching only allowed between instant vectors")
		}
		if hasFill {
			p.addErrf(n.PositionRange(), "fill modifiers only allowed between instant vectors")
		}
		n.VectorMatching = nil
	case n.Op.IsSetOperator() && vm != nil:
		if vm.Card == CardOneToMany || vm.Card == CardManyToOne {
			p.addErrf(n.PositionRange(), "no grouping allowed for %q operation", n.Op)
		}
		if vm.Card != CardManyToMany {
			p.addErrf(n.PositionRange(), "set operations must always be many-to-many")
		}
		if hasFill {
			p.addErrf(n.PositionRange(), "no fill modifiers allowed for %q operation", n.Op)
		}
	}
	if (lt == ValueTypeScalar || rt == ValueTypeScalar) && n.Op.IsSetOperator() {
		p.addErrf(n.PositionRange(), "set operator %q not allowed in binary scalar expression", n.Op)
	}
	if lt == ValueTypeScalar && rt == ValueTypeScalar {
		return ValueTypeScalar
	}
	return ValueTypeVector
}

func (p *parser) checkCall(n *Call) {
	f := n.Func
	nargs := len(f.ArgTypes)
	if f.Variadic == 0 {
		if nargs != len(n.Args) {
			p.addErrf(n.PositionRange(), "expected %d argument(s) in call to %q, got %d", nargs, f.Name, len(n.Args))
		}
	} else {
		required := nargs - 1
		if required > len(n.Args) {
			p.addErrf(n.PositionRange(), "expected at least %d argument(s) in call to %q, got %d", required, f.Name, len(n.Args))
		} else if most := required + f.Variadic; f.Variadic > 0 && most < len(n.Args) {
			p.addErrf(n.PositionRange(), "expected at most %d argument(s) in call to %q, got %d", most, f.Name, len(n.Args))
		}
	}

	// info's optional second argument is a bare label selector that only
	// filters info series, so the empty-matcher rule does not apply. A
	// wrong type is reported by the argument check below.
	if f.Name == "info" && len(n.Args) > 1 && n.Args[1].Type() == ValueTypeVector {
		if vs, ok := n.Args[1].(*VectorSelector); !ok || vs.Name != "" {
			p.addErrf(n.Args[1].PositionRange(), "expected label selectors only, got vector selector instead")
		} else {
			vs.BypassEmptyMatcherCheck = true
		}
	}

	for i, arg := range n.Args {
		if i >= nargs {
			if f.Variadic == 0 {
				// The count error is already reported.
				break
			}
			i = nargs - 1
		}
		if i < 0 {
			break
		}
		// The message is formatted only for an error: formatting it for
		// every argument was a tenth of parsing a small query.
		if t := p.checkAST(arg); t != f.ArgTypes[i] {
			p.addErrf(arg.PositionRange(), "expected type %s in call to function %q, got %s", DocumentedType(f.ArgTypes[i]), f.Name, DocumentedType(t))
		}
	}
}

func (p *parser) checkVectorSelector(n *VectorSelector) {
	if n.Name != "" {
		// The last matcher is the name given before the braces; another
		// __name__ matcher inside them would contradict or repeat it.
		for _, m := range n.LabelMatchers[:max(len(n.LabelMatchers)-1, 0)] {
			if m != nil && m.Name == labels.MetricName {
				p.addErrf(n.PositionRange(), "metric name must not be set twice: %q or %q", n.Name, m.Value)
			}
		}
		return
	}
	if n.BypassEmptyMatcherCheck {
		return
	}
	// A selector matching the empty string everywhere would select every
	// series, which is almost always a typo.
	for _, m := range n.LabelMatchers {
		if m != nil && !m.Matches("") {
			return
		}
	}
	p.addErrf(n.PositionRange(), "vector selector must contain at least one non-empty matcher")
}
