package parser

import "strings"

// MaxCharactersPerLine is the width above which Pretty breaks a node over
// several lines.
const MaxCharactersPerLine = 100

// Prettify formats an expression over several lines; see Node.Pretty.
func Prettify(n Node) string { return n.Pretty(0) }

// The pretty printer keeps a node on one line when its canonical form fits
// in MaxCharactersPerLine and otherwise puts each operand of an operator,
// aggregation, call or parenthesis on its own line, one level (two spaces)
// deeper. Only whitespace changes, so the output parses to the same tree.

func indent(level int) string { return strings.Repeat("  ", level) }

// fits reports whether the node stays on one line.
func fits(n Node) bool { return len(n.String()) <= MaxCharactersPerLine }

// oneLine writes the node unbroken at the level's indentation.
func oneLine(n Node, level int) string { return indent(level) + n.String() }

// Pretty implements Node.
func (e *AggregateExpr) Pretty(level int) string {
	if fits(e) {
		return oneLine(e, level)
	}
	var b strings.Builder
	b.WriteString(indent(level))
	writeAggregateHead(&b, e)
	b.WriteString("(\n")
	if e.Param != nil {
		b.WriteString(e.Param.Pretty(level + 1))
		b.WriteString(",\n")
	}
	b.WriteString(e.Expr.Pretty(level + 1))
	b.WriteByte('\n')
	b.WriteString(indent(level))
	b.WriteByte(')')
	return b.String()
}

// Pretty implements Node.
func (e *BinaryExpr) Pretty(level int) string {
	if fits(e) {
		return oneLine(e, level)
	}
	var b strings.Builder
	b.WriteString(e.LHS.Pretty(level + 1))
	b.WriteByte('\n')
	b.WriteString(indent(level))
	writeOperator(&b, e)
	b.WriteByte('\n')
	b.WriteString(e.RHS.Pretty(level + 1))
	return b.String()
}

// Pretty implements Node.
func (e *Call) Pretty(level int) string {
	if fits(e) || len(e.Args) == 0 {
		return oneLine(e, level)
	}
	return indent(level) + e.Func.Name + "(\n" + e.Args.Pretty(level+1) + "\n" + indent(level) + ")"
}

// Pretty implements Node: each expression on its own lines, separated by
// commas.
func (e Expressions) Pretty(level int) string {
	parts := make([]string, len(e))
	for i, x := range e {
		parts[i] = x.Pretty(level)
	}
	return strings.Join(parts, ",\n")
}

// Pretty implements Node.
func (e *ParenExpr) Pretty(level int) string {
	if fits(e) {
		return oneLine(e, level)
	}
	return indent(level) + "(\n" + e.Expr.Pretty(level+1) + "\n" + indent(level) + ")"
}

// Pretty implements Node.
func (e *SubqueryExpr) Pretty(level int) string {
	if fits(e) {
		return oneLine(e, level)
	}
	var b strings.Builder
	b.WriteString(e.Expr.Pretty(level))
	writeSubquerySuffix(&b, e)
	return b.String()
}

// Pretty implements Node.
func (e *UnaryExpr) Pretty(level int) string {
	if fits(e) {
		return oneLine(e, level)
	}
	// The operand's own indentation goes before the sign instead.
	return indent(level) + e.Op.String() + strings.TrimLeft(e.Expr.Pretty(level), " ")
}

// Pretty implements Node.
func (e *StepInvariantExpr) Pretty(level int) string { return e.Expr.Pretty(level) }

// Pretty implements Node.
func (e *MatrixSelector) Pretty(level int) string { return oneLine(e, level) }

// Pretty implements Node.
func (e *VectorSelector) Pretty(level int) string { return oneLine(e, level) }

// Pretty implements Node.
func (e *NumberLiteral) Pretty(level int) string { return oneLine(e, level) }

// Pretty implements Node.
func (e *StringLiteral) Pretty(level int) string { return oneLine(e, level) }

// Pretty implements Node.
func (e *DurationExpr) Pretty(level int) string { return oneLine(e, level) }
