package api

import (
	"strconv"

	"github.com/vigil-monitoring/vigil/internal/model/labels"
	"github.com/vigil-monitoring/vigil/internal/promql/parser"
)

// The syntax tree /parse_query returns. The field names are those the
// Prometheus UI's tree view reads; every node has a "type". Durations are
// in milliseconds; optional parts are null when absent and lists are
// never null.

type astMatcher struct {
	Type  string `json:"type"`
	Name  string `json:"name"`
	Value string `json:"value"`
}

type astFunc struct {
	Name       string             `json:"name"`
	ArgTypes   []parser.ValueType `json:"argTypes"`
	Variadic   int                `json:"variadic"`
	ReturnType parser.ValueType   `json:"returnType"`
}

type astFill struct {
	LHS *float64 `json:"lhs"`
	RHS *float64 `json:"rhs"`
}

type astMatching struct {
	Card       string   `json:"card"`
	Labels     []string `json:"labels"`
	On         bool     `json:"on"`
	Include    []string `json:"include"`
	FillValues astFill  `json:"fillValues"`
}

type astNode struct {
	Type string `json:"type"`
}

type astAggregation struct {
	astNode
	Op       string   `json:"op"`
	Expr     any      `json:"expr"`
	Param    any      `json:"param"`
	Grouping []string `json:"grouping"`
	Without  bool     `json:"without"`
}

type astBinary struct {
	astNode
	Op       string       `json:"op"`
	LHS      any          `json:"lhs"`
	RHS      any          `json:"rhs"`
	Matching *astMatching `json:"matching"`
	Bool     bool         `json:"bool"`
}

type astCall struct {
	astNode
	Func astFunc `json:"func"`
	Args []any   `json:"args"`
}

type astSelector struct {
	astNode
	Name       string       `json:"name"`
	Range      *int64       `json:"range,omitempty"`
	RangeExpr  any          `json:"rangeExpr,omitempty"`
	Offset     int64        `json:"offset"`
	OffsetExpr any          `json:"offsetExpr"`
	Matchers   []astMatcher `json:"matchers"`
	Timestamp  *int64       `json:"timestamp"`
	StartOrEnd *string      `json:"startOrEnd"`
	Anchored   bool         `json:"anchored"`
	Smoothed   bool         `json:"smoothed"`
}

type astSubquery struct {
	astNode
	Expr       any     `json:"expr"`
	Range      int64   `json:"range"`
	RangeExpr  any     `json:"rangeExpr"`
	Offset     int64   `json:"offset"`
	OffsetExpr any     `json:"offsetExpr"`
	Step       int64   `json:"step"`
	StepExpr   any     `json:"stepExpr"`
	Timestamp  *int64  `json:"timestamp"`
	StartOrEnd *string `json:"startOrEnd"`
}

type astUnary struct {
	astNode
	Op   string `json:"op"`
	Expr any    `json:"expr"`
}

type astParen struct {
	astNode
	Expr any `json:"expr"`
}

type astLiteral struct {
	astNode
	Val string `json:"val"`
	// Duration is set only for number literals inside duration
	// expressions.
	Duration *bool `json:"duration,omitempty"`
}

type astDuration struct {
	astNode
	Op      string `json:"op"`
	LHS     any    `json:"lhs"`
	RHS     any    `json:"rhs"`
	Wrapped bool   `json:"wrapped"`
}

// translateAST turns a parsed expression into the JSON tree.
func translateAST(e parser.Expr) any {
	switch n := e.(type) {
	case nil:
		return nil
	case *parser.AggregateExpr:
		return astAggregation{astNode{"aggregation"}, n.Op.String(), translateAST(n.Expr), translateAST(n.Param), nonNil(n.Grouping), n.Without}
	case *parser.BinaryExpr:
		out := astBinary{astNode: astNode{"binaryExpr"}, Op: n.Op.String(), LHS: translateAST(n.LHS), RHS: translateAST(n.RHS), Bool: n.ReturnBool}
		if m := n.VectorMatching; m != nil {
			out.Matching = &astMatching{
				Card:       m.Card.String(),
				Labels:     nonNil(m.MatchingLabels),
				On:         m.On,
				Include:    nonNil(m.Include),
				FillValues: astFill{m.FillValues.LHS, m.FillValues.RHS},
			}
		}
		return out
	case *parser.Call:
		args := make([]any, 0, len(n.Args))
		for _, arg := range n.Args {
			args = append(args, translateAST(arg))
		}
		return astCall{astNode{"call"}, astFunc{n.Func.Name, n.Func.ArgTypes, n.Func.Variadic, n.Func.ReturnType}, args}
	case *parser.MatrixSelector:
		vs, ok := n.VectorSelector.(*parser.VectorSelector)
		if !ok {
			return nil
		}
		out := selectorNode(vs, "matrixSelector")
		rng := n.Range.Milliseconds()
		out.Range = &rng
		out.RangeExpr = translateDuration(n.RangeExpr)
		if out.RangeExpr == nil {
			// Present (as null) on every matrix selector.
			out.RangeExpr = jsonNull{}
		}
		return out
	case *parser.VectorSelector:
		return selectorNode(n, "vectorSelector")
	case *parser.SubqueryExpr:
		return astSubquery{
			astNode:    astNode{"subquery"},
			Expr:       translateAST(n.Expr),
			Range:      n.Range.Milliseconds(),
			RangeExpr:  translateDuration(n.RangeExpr),
			Offset:     n.OriginalOffset.Milliseconds(),
			OffsetExpr: translateDuration(n.OriginalOffsetExpr),
			Step:       n.Step.Milliseconds(),
			StepExpr:   translateDuration(n.StepExpr),
			Timestamp:  n.Timestamp,
			StartOrEnd: startOrEnd(n.StartOrEnd),
		}
	case *parser.DurationExpr:
		return translateDuration(n)
	case *parser.NumberLiteral:
		return astLiteral{astNode: astNode{"numberLiteral"}, Val: strconv.FormatFloat(n.Val, 'f', -1, 64)}
	case *parser.StringLiteral:
		return astLiteral{astNode: astNode{"stringLiteral"}, Val: n.Val}
	case *parser.ParenExpr:
		return astParen{astNode{"parenExpr"}, translateAST(n.Expr)}
	case *parser.UnaryExpr:
		return astUnary{astNode{"unaryExpr"}, n.Op.String(), translateAST(n.Expr)}
	case *parser.StepInvariantExpr:
		// Only the engine's preprocessing inserts these; a freshly
		// parsed tree has none, but skipping the wrapper is harmless.
		return translateAST(n.Expr)
	}
	return nil
}

// jsonNull marshals as null where omitempty would drop a nil field.
type jsonNull struct{}

func (jsonNull) MarshalJSON() ([]byte, error) { return []byte("null"), nil }

func selectorNode(vs *parser.VectorSelector, typ string) astSelector {
	return astSelector{
		astNode:    astNode{typ},
		Name:       vs.Name,
		Offset:     vs.OriginalOffset.Milliseconds(),
		OffsetExpr: translateDuration(vs.OriginalOffsetExpr),
		Matchers:   translateMatchers(vs.LabelMatchers),
		Timestamp:  vs.Timestamp,
		StartOrEnd: startOrEnd(vs.StartOrEnd),
		Anchored:   vs.Anchored,
		Smoothed:   vs.Smoothed,
	}
}

// translateDuration renders the operand of a duration expression; number
// literals there say whether they were written as durations.
func translateDuration(e parser.Expr) any {
	switch n := e.(type) {
	case *parser.DurationExpr:
		if n == nil {
			return nil
		}
		return astDuration{astNode{"durationExpr"}, n.Op.String(), translateDuration(n.LHS), translateDuration(n.RHS), n.Wrapped}
	case *parser.NumberLiteral:
		if n == nil {
			return nil
		}
		d := n.Duration
		return astLiteral{astNode: astNode{"numberLiteral"}, Val: strconv.FormatFloat(n.Val, 'f', -1, 64), Duration: &d}
	case nil:
		return nil
	}
	return translateAST(e)
}

func translateMatchers(ms []*labels.Matcher) []astMatcher {
	out := make([]astMatcher, 0, len(ms))
	for _, m := range ms {
		out = append(out, astMatcher{Type: m.Type.String(), Name: m.Name, Value: m.Value})
	}
	return out
}

func startOrEnd(t parser.ItemType) *string {
	if t == 0 {
		return nil
	}
	s := t.String()
	return &s
}

func nonNil(ss []string) []string {
	if ss == nil {
		return []string{}
	}
	return ss
}
