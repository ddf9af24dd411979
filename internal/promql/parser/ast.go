package parser

import (
	"sync"
	"time"

	"github.com/vigil-monitoring/vigil/internal/model/labels"
)

// Pos is a byte offset into the parsed input.
type Pos int

// PositionRange is the half-open byte range [Start, End) of the input a node
// or token was parsed from. Errors report Start as line:column.
type PositionRange struct {
	Start, End Pos
}

// mergeRanges returns the range covering both a and b.
func mergeRanges(a, b PositionRange) PositionRange {
	return PositionRange{Start: min(a.Start, b.Start), End: max(a.End, b.End)}
}

// ValueType is the type an expression evaluates to.
type ValueType string

// The PromQL value types. ValueTypeNone is the type of no expression.
const (
	ValueTypeNone   ValueType = "none"
	ValueTypeVector ValueType = "vector"
	ValueTypeScalar ValueType = "scalar"
	ValueTypeMatrix ValueType = "matrix"
	ValueTypeString ValueType = "string"
)

// DocumentedType returns the name the PromQL documentation and error
// messages use for t: "instant vector", "range vector", "scalar", "string".
func DocumentedType(t ValueType) string {
	switch t {
	case ValueTypeVector:
		return "instant vector"
	case ValueTypeMatrix:
		return "range vector"
	default:
		return string(t)
	}
}

// Node is any part of a parsed expression.
type Node interface {
	// String returns the canonical PromQL text of the node, the form the
	// /api/v1/format_query endpoint returns. Parsing it yields an equal
	// node.
	String() string
	// Pretty returns the node formatted over several lines, indented by
	// level steps, when its one-line form is too long.
	Pretty(level int) string
	// PositionRange returns where in the input the node was parsed from.
	PositionRange() PositionRange
}

// Expr is a node that evaluates to a value.
type Expr interface {
	Node
	// Type returns the type the expression evaluates to.
	Type() ValueType
	// expr restricts the implementations to this package's nodes.
	expr()
}

// Expressions is a list of expressions, such as function arguments.
type Expressions []Expr

// AggregateExpr is an aggregation: sum, topk, quantile and the rest.
type AggregateExpr struct {
	Op       ItemType // The aggregation operator, e.g. SUM or TOPK.
	Expr     Expr     // The instant vector aggregated.
	Param    Expr     // The parameter of topk, bottomk, quantile, count_values, limitk and limit_ratio; nil otherwise.
	Grouping []string // The labels of by (...) or without (...).
	Without  bool     // Grouping lists the labels to drop rather than keep.
	PosRange PositionRange
}

// VectorMatchCardinality is how the series of a binary operation's operands
// pair up.
type VectorMatchCardinality int

// The cardinalities of vector matching.
const (
	CardOneToOne VectorMatchCardinality = iota
	CardManyToOne
	CardOneToMany
	CardManyToMany
)

// String returns the cardinality as in "one-to-one".
func (c VectorMatchCardinality) String() string {
	switch c {
	case CardOneToOne:
		return "one-to-one"
	case CardManyToOne:
		return "many-to-one"
	case CardOneToMany:
		return "one-to-many"
	case CardManyToMany:
		return "many-to-many"
	}
	return "unknown"
}

// VectorMatching describes how a binary operation between two instant
// vectors pairs their series.
type VectorMatching struct {
	// Card is one-to-one by default, many-to-one for group_left,
	// one-to-many for group_right and many-to-many for set operators.
	Card VectorMatchCardinality
	// MatchingLabels are the labels of on (...) or ignoring (...).
	MatchingLabels []string
	// On is true for on (...), false for ignoring (...) or no clause.
	On bool
	// Include are the labels of group_left (...) / group_right (...) copied
	// from the "one" side.
	Include []string
	// FillValues are the values of the fill modifiers: a series missing on
	// one side is matched as if it existed with that value.
	FillValues VectorMatchFillValues
}

// VectorMatchFillValues holds the fill modifiers of a binary operation. A
// nil side is not filled. fill(v) sets both sides, fill_left(v) only LHS,
// fill_right(v) only RHS.
type VectorMatchFillValues struct {
	LHS *float64 // Value for series present only on the right.
	RHS *float64 // Value for series present only on the left.
}

// BinaryExpr is a binary operation.
type BinaryExpr struct {
	Op       ItemType // The operator, e.g. ADD or LAND.
	LHS, RHS Expr
	// VectorMatching is set when both operands are instant vectors and nil
	// otherwise (the type check clears it for scalar operands).
	VectorMatching *VectorMatching
	// ReturnBool is set by the bool modifier of comparisons: return 0/1
	// instead of filtering.
	ReturnBool bool
}

// Call is a function call.
type Call struct {
	Func     *Function // The function called.
	Args     Expressions
	PosRange PositionRange
}

// MatrixSelector is a range vector selector, foo[5m].
type MatrixSelector struct {
	// VectorSelector is the selected *VectorSelector. It carries the
	// offset, @, anchored and smoothed modifiers written after the range.
	VectorSelector Expr
	// Range is the length of the window. When RangeExpr depends on step()
	// or range() it is 0 until ResolveDurations fills it in.
	Range time.Duration
	// RangeExpr is the range as written when it is an arithmetic
	// expression (foo[5m+1m]); nil for a plain number or duration.
	RangeExpr *DurationExpr
	EndPos    Pos
}

// SubqueryExpr is a subquery, <expr>[range:step].
type SubqueryExpr struct {
	Expr Expr
	// Range and RangeExpr are as in MatrixSelector.
	Range     time.Duration
	RangeExpr *DurationExpr
	// OriginalOffset is the offset as written; OriginalOffsetExpr is set
	// when it is an expression (offset (1h*2), offset step()).
	OriginalOffset     time.Duration
	OriginalOffsetExpr *DurationExpr
	// Offset is the offset the engine evaluates with, derived from
	// OriginalOffset and the @ modifier; the parser leaves it 0.
	Offset time.Duration
	// Timestamp is the @ time in milliseconds, nil without @ <number>.
	Timestamp *int64
	// StartOrEnd is START or END for @ start() / @ end(), 0 otherwise.
	StartOrEnd ItemType
	// Step is the resolution; 0 means the default evaluation interval.
	// StepExpr is set when it is an expression.
	Step     time.Duration
	StepExpr *DurationExpr
	EndPos   Pos
}

// NumberLiteral is a number. Durations in expression position (1m) are
// numbers of seconds with Duration set, so they print as written.
type NumberLiteral struct {
	Val      float64
	Duration bool // Print Val as a duration.
	PosRange PositionRange
}

// ParenExpr is an expression in parentheses. The printer relies on it to
// keep precedence, so the parser never drops it.
type ParenExpr struct {
	Expr     Expr
	PosRange PositionRange
}

// StringLiteral is a string.
type StringLiteral struct {
	Val      string // The unquoted value.
	PosRange PositionRange
}

// UnaryExpr is a unary + or - applied to a non-literal expression (on a
// number literal the parser folds the sign into the literal).
type UnaryExpr struct {
	Op       ItemType // ADD or SUB.
	Expr     Expr
	StartPos Pos
}

// StepInvariantExpr marks an expression whose value is the same at every
// step of a range query, so the engine evaluates it once. The parser never
// produces it; the engine wraps subtrees in it while preparing a query.
type StepInvariantExpr struct {
	Expr Expr
}

// VectorSelector is an instant vector selector, foo{a="b"}.
type VectorSelector struct {
	// Name is the metric name written before the braces, "" when the name
	// is given inside them ({"my.metric"} or {__name__="x"}).
	Name string
	// LabelMatchers holds every matcher; when Name is set the last one is
	// __name__="<Name>".
	LabelMatchers []*labels.Matcher
	// OriginalOffset, OriginalOffsetExpr, Offset, Timestamp and StartOrEnd
	// are as in SubqueryExpr.
	OriginalOffset     time.Duration
	OriginalOffsetExpr *DurationExpr
	Offset             time.Duration
	Timestamp          *int64
	StartOrEnd         ItemType
	// Anchored and Smoothed are the experimental range modifiers. Anchored
	// makes a range include the last sample before its start and end;
	// Smoothed interpolates values at the range boundaries (on an instant
	// selector, at the evaluation time).
	Anchored bool
	Smoothed bool
	// BypassEmptyMatcherCheck exempts the selector from "at least one
	// non-empty matcher": info()'s second argument only filters.
	BypassEmptyMatcherCheck bool
	// SkipHistogramBuckets is an engine hint: the query only needs the
	// count and sum of native histograms. The parser never sets it.
	SkipHistogramBuckets bool
	PosRange             PositionRange
}

// DurationExpr is arithmetic on durations, allowed for ranges, subquery
// steps and offsets: foo[5m+1m], offset (1h*2), [step()*2], min_of(a, b).
// Operands are *NumberLiteral (seconds) or *DurationExpr.
type DurationExpr struct {
	// Op is ADD, SUB, MUL, DIV, MOD or POW with both operands; ADD or SUB
	// with only RHS for a unary sign; STEP or RANGE without operands;
	// MIN_OF or MAX_OF with both.
	Op       ItemType
	LHS, RHS Expr
	// Wrapped records that the expression was written in parentheses,
	// which the printer keeps.
	Wrapped  bool
	StartPos Pos // First byte of the expression, parentheses included.
	EndPos   Pos // Byte after the expression, parentheses included.
}

func (*AggregateExpr) expr()     {}
func (*BinaryExpr) expr()        {}
func (*Call) expr()              {}
func (*MatrixSelector) expr()    {}
func (*SubqueryExpr) expr()      {}
func (*NumberLiteral) expr()     {}
func (*ParenExpr) expr()         {}
func (*StringLiteral) expr()     {}
func (*UnaryExpr) expr()         {}
func (*VectorSelector) expr()    {}
func (*StepInvariantExpr) expr() {}
func (*DurationExpr) expr()      {}

// Type implements Expr.
func (*AggregateExpr) Type() ValueType { return ValueTypeVector }

// Type implements Expr.
func (e *Call) Type() ValueType { return e.Func.ReturnType }

// Type implements Expr.
func (*MatrixSelector) Type() ValueType { return ValueTypeMatrix }

// Type implements Expr.
func (*SubqueryExpr) Type() ValueType { return ValueTypeMatrix }

// Type implements Expr.
func (*NumberLiteral) Type() ValueType { return ValueTypeScalar }

// Type implements Expr.
func (e *ParenExpr) Type() ValueType { return e.Expr.Type() }

// Type implements Expr.
func (*StringLiteral) Type() ValueType { return ValueTypeString }

// Type implements Expr.
func (e *UnaryExpr) Type() ValueType { return e.Expr.Type() }

// Type implements Expr.
func (*VectorSelector) Type() ValueType { return ValueTypeVector }

// Type implements Expr.
func (e *StepInvariantExpr) Type() ValueType { return e.Expr.Type() }

// Type implements Expr.
func (*DurationExpr) Type() ValueType { return ValueTypeScalar }

// Type implements Expr: scalar when both operands are scalars, else
// instant vector.
func (e *BinaryExpr) Type() ValueType {
	if e.LHS.Type() == ValueTypeScalar && e.RHS.Type() == ValueTypeScalar {
		return ValueTypeScalar
	}
	return ValueTypeVector
}

// PositionRange implements Node.
func (e *AggregateExpr) PositionRange() PositionRange { return e.PosRange }

// PositionRange implements Node.
func (e *BinaryExpr) PositionRange() PositionRange {
	return mergeRanges(e.LHS.PositionRange(), e.RHS.PositionRange())
}

// PositionRange implements Node.
func (e *Call) PositionRange() PositionRange { return e.PosRange }

// PositionRange implements Node.
func (e *MatrixSelector) PositionRange() PositionRange {
	return PositionRange{Start: e.VectorSelector.PositionRange().Start, End: e.EndPos}
}

// PositionRange implements Node.
func (e *SubqueryExpr) PositionRange() PositionRange {
	return PositionRange{Start: e.Expr.PositionRange().Start, End: e.EndPos}
}

// PositionRange implements Node.
func (e *NumberLiteral) PositionRange() PositionRange { return e.PosRange }

// PositionRange implements Node.
func (e *ParenExpr) PositionRange() PositionRange { return e.PosRange }

// PositionRange implements Node.
func (e *StringLiteral) PositionRange() PositionRange { return e.PosRange }

// PositionRange implements Node.
func (e *UnaryExpr) PositionRange() PositionRange {
	return PositionRange{Start: e.StartPos, End: e.Expr.PositionRange().End}
}

// PositionRange implements Node.
func (e *VectorSelector) PositionRange() PositionRange { return e.PosRange }

// PositionRange implements Node.
func (e *StepInvariantExpr) PositionRange() PositionRange { return e.Expr.PositionRange() }

// PositionRange implements Node. The parser sets StartPos and EndPos to
// cover the whole expression, parentheses included.
func (e *DurationExpr) PositionRange() PositionRange {
	return PositionRange{Start: e.StartPos, End: e.EndPos}
}

// PositionRange returns the range spanning all expressions.
func (e Expressions) PositionRange() PositionRange {
	if len(e) == 0 {
		return PositionRange{Start: -1, End: -1}
	}
	return mergeRanges(e[0].PositionRange(), e[len(e)-1].PositionRange())
}

// Visitor is called by Walk for every node. Its Visit method returns the
// visitor for the node's children, nil to skip them, or an error to stop
// the walk.
type Visitor interface {
	Visit(node Node, path []Node) (w Visitor, err error)
}

// Walk traverses the tree depth-first, calling v.Visit(node, path) where
// path holds node's ancestors (root first), then walking the children with
// the returned visitor, and finally calling w.Visit(nil, nil) to mark the
// end of the children.
func Walk(v Visitor, node Node, path []Node) error {
	w, err := v.Visit(node, path)
	if err != nil || w == nil {
		return err
	}
	path = append(path, node)
	var buf [6]Node
	for _, child := range childrenInto(node, &buf) {
		if err := Walk(w, child, path); err != nil {
			return err
		}
	}
	_, err = w.Visit(nil, nil)
	return err
}

// childrenInto returns what Children does, in buf when the children fit:
// the engine walks every query several times before evaluating it, and a
// slice per node was a noticeable part of the cost of a small query.
func childrenInto(node Node, buf *[6]Node) []Node {
	switch n := node.(type) {
	case *VectorSelector, *NumberLiteral, *StringLiteral:
		return nil
	case *AggregateExpr:
		switch {
		case n.Expr == nil && n.Param == nil:
			return nil
		case n.Param == nil:
			buf[0] = n.Expr
		case n.Expr == nil:
			buf[0] = n.Param
		default:
			buf[0], buf[1] = n.Param, n.Expr
			return buf[:2]
		}
		return buf[:1]
	case *BinaryExpr:
		buf[0], buf[1] = n.LHS, n.RHS
		return buf[:2]
	case *SubqueryExpr:
		buf[0] = n.Expr
		return buf[:1]
	case *ParenExpr:
		buf[0] = n.Expr
		return buf[:1]
	case *UnaryExpr:
		buf[0] = n.Expr
		return buf[:1]
	case *MatrixSelector:
		buf[0] = n.VectorSelector
		return buf[:1]
	case *StepInvariantExpr:
		buf[0] = n.Expr
		return buf[:1]
	case *Call:
		if len(n.Args) <= len(buf) {
			for i, a := range n.Args {
				buf[i] = a
			}
			return buf[:len(n.Args)]
		}
	case Expressions:
		if len(n) <= len(buf) {
			for i, a := range n {
				buf[i] = a
			}
			return buf[:len(n)]
		}
	}
	return Children(node)
}

type inspector func(Node, []Node) error

func (f inspector) Visit(node Node, path []Node) (Visitor, error) {
	if node == nil {
		return nil, nil
	}
	if err := f(node, path); err != nil {
		return nil, err
	}
	return f, nil
}

// Inspect calls f for every node in depth-first order with the node's
// ancestors. An error from f stops the walk.
// The path passed to f is only valid during the call.
func Inspect(node Node, f func(Node, []Node) error) {
	// The path grows as deep as the tree; a pooled one saves growing it
	// from nothing at every walk.
	p, _ := inspectPaths.Get().(*[]Node)
	if p == nil {
		s := make([]Node, 0, 16) // Deeper trees grow their own.
		p = &s
	}
	// f's error only stops the walk; there is nobody to report it to.
	_ = Walk(inspector(f), node, (*p)[:0])
	// Let the tree be collected: the entries used are the first ones.
	full := (*p)[:cap(*p)]
	for i := 0; i < len(full) && full[i] != nil; i++ {
		full[i] = nil
	}
	inspectPaths.Put(p)
}

var inspectPaths sync.Pool // of *[]Node

// Children returns the direct children of node. Duration expressions in
// ranges, steps and offsets are not children: they are attributes of their
// selector or subquery, and the engine resolves them with
// ResolveDurations.
func Children(node Node) []Node {
	switch n := node.(type) {
	case Expressions:
		out := make([]Node, len(n))
		for i, e := range n {
			out[i] = e
		}
		return out
	case *AggregateExpr:
		if n.Expr == nil && n.Param == nil {
			return nil
		}
		if n.Param == nil {
			return []Node{n.Expr}
		}
		if n.Expr == nil {
			return []Node{n.Param}
		}
		return []Node{n.Param, n.Expr}
	case *BinaryExpr:
		return []Node{n.LHS, n.RHS}
	case *Call:
		out := make([]Node, len(n.Args))
		for i, e := range n.Args {
			out[i] = e
		}
		return out
	case *SubqueryExpr:
		return []Node{n.Expr}
	case *ParenExpr:
		return []Node{n.Expr}
	case *UnaryExpr:
		return []Node{n.Expr}
	case *MatrixSelector:
		return []Node{n.VectorSelector}
	case *StepInvariantExpr:
		return []Node{n.Expr}
	case *DurationExpr:
		var out []Node
		if n.LHS != nil {
			out = append(out, n.LHS)
		}
		if n.RHS != nil {
			out = append(out, n.RHS)
		}
		return out
	}
	return nil
}
