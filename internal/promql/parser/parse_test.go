package parser

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/vigil-monitoring/vigil/internal/model/labels"
)

// sexpr renders the operator structure of a tree as an S-expression, so
// tests can state how an input groups: (+ a (* b c)), (- x) for a unary
// minus, (paren x) for parentheses.
func sexpr(n Node) string {
	switch e := n.(type) {
	case *BinaryExpr:
		return "(" + e.Op.String() + " " + sexpr(e.LHS) + " " + sexpr(e.RHS) + ")"
	case *UnaryExpr:
		return "(" + e.Op.String() + " " + sexpr(e.Expr) + ")"
	case *ParenExpr:
		return "(paren " + sexpr(e.Expr) + ")"
	case *AggregateExpr:
		s := "(" + e.Op.String()
		if e.Param != nil {
			s += " " + sexpr(e.Param)
		}
		return s + " " + sexpr(e.Expr) + ")"
	case *Call:
		s := "(" + e.Func.Name
		for _, a := range e.Args {
			s += " " + sexpr(a)
		}
		return s + ")"
	case *SubqueryExpr:
		return "(subquery " + sexpr(e.Expr) + ")"
	case *DurationExpr:
		switch {
		case e.LHS == nil && e.RHS == nil:
			return e.Op.String() + "()"
		case e.LHS == nil:
			return "(" + e.Op.String() + " " + sexpr(e.RHS) + ")"
		}
		return "(" + e.Op.String() + " " + sexpr(e.LHS) + " " + sexpr(e.RHS) + ")"
	}
	return n.String()
}

func TestPrecedenceAndAssociativity(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`a + b * c`, `(+ a (* b c))`},
		{`a * b + c`, `(+ (* a b) c)`},
		{`a - b - c`, `(- (- a b) c)`},
		{`a / b / c`, `(/ (/ a b) c)`},
		{`a ^ b ^ c`, `(^ a (^ b c))`},
		{`a * b ^ c`, `(* a (^ b c))`},
		{`a % b atan2 c * d`, `(* (atan2 (% a b) c) d)`},
		{`a or b and c unless d`, `(or a (unless (and b c) d))`},
		{`a and b or c`, `(or (and a b) c)`},
		{`a == b + c`, `(== a (+ b c))`},
		{`a > b or c < d`, `(or (> a b) (< c d))`},
		{`a </ b + c`, `(</ a (+ b c))`},
		{`a >/ b or c`, `(or (>/ a b) c)`},
		{`(a + b) * c`, `(* (paren (+ a b)) c)`},
		// A sign binds tighter than * but looser than ^.
		{`-a * b`, `(* (- a) b)`},
		{`-a ^ b`, `(- (^ a b))`},
		{`-2 ^ 2`, `(- (^ 2 2))`},
		{`2 ^ -3 ^ 2`, `(^ 2 (- (^ 3 2)))`},
		{`-a + -b`, `(+ (- a) (- b))`},
		{`--a`, `(- (- a))`},
		{`+a`, `(+ a)`},
		// Signs fold into number literals.
		{`-1 + 2`, `(+ -1 2)`},
		{`- - 1`, `1`},
		{`(-1) ^ 2`, `(^ (paren -1) 2)`},
		// Modifiers bind tighter than everything.
		{`-foo offset 5m`, `(- foo offset 5m)`},
		{`a + b offset 1m ^ 2`, `(+ a (^ b offset 1m 2))`},
		{`-metric @ 100`, `(- metric @ 100.000)`},
		{`a + max_over_time(b[5m:])`, `(+ a (max_over_time (subquery b)))`},
		{`sum(x) by (a) * 2`, `(* (sum x) 2)`},
		// offset takes one operand; arithmetic after it is outside.
		{`x offset 100 + 2`, `(+ x offset 1m40s 2)`},
		{`x offset -2 * 2`, `(* x offset -2s 2)`},
		{`x offset -step() * 2`, `(* x offset -step() 2)`},
		{`x offset (-2 * 2)`, `x offset (-2 * 2)`},
		// Duration expressions use the same precedence.
		{`x[1h30m % 1h - 2m]`, `x[1h30m % 1h - 2m]`},
	} {
		e, err := ParseExpr(tc.in)
		if err != nil {
			t.Errorf("ParseExpr(%q): %v", tc.in, err)
			continue
		}
		if got := sexpr(e); got != tc.want {
			t.Errorf("ParseExpr(%q) groups as %s, want %s", tc.in, got, tc.want)
		}
	}
}

func TestDurationExprStructure(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`x[5m+1m]`, `(+ 5m 1m)`},
		{`x[30m1s-30m1s % 1m]`, `(- 30m1s (% 30m1s 1m))`},
		{`x[2m*(10+5)]`, `(* 2m (+ 10 5))`},
		{`x[-5m+35m]`, `(+ -5m 35m)`},
		{`x[1+(STep()-5)*2]`, `(+ 1 (* (- step() 5) 2))`},
		{`x[min_of(step()+1,1h)]`, `(min_of (+ step() 1) 1h)`},
		{`x[max_of(min_of(step()+1,1h),1ms)]`, `(max_of (min_of (+ step() 1) 1h) 1ms)`},
		{`x[2 ^ 3 ^ 2]`, `(^ 2 (^ 3 2))`},
		{`x[-step() ^ 2]`, `(- (^ step() 2))`},
		{`x[range()]`, `range()`},
	} {
		e, err := ParseExpr(tc.in)
		if err != nil {
			t.Errorf("ParseExpr(%q): %v", tc.in, err)
			continue
		}
		ms, ok := e.(*MatrixSelector)
		if !ok || ms.RangeExpr == nil {
			t.Errorf("ParseExpr(%q) = %#v, want a matrix selector with a range expression", tc.in, e)
			continue
		}
		if got := sexpr(ms.RangeExpr); got != tc.want {
			t.Errorf("ParseExpr(%q) range groups as %s, want %s", tc.in, got, tc.want)
		}
	}
}

func mustParse(t *testing.T, in string) Expr {
	t.Helper()
	e, err := ParseExpr(in)
	if err != nil {
		t.Fatalf("ParseExpr(%q): %v", in, err)
	}
	return e
}

func TestSelectors(t *testing.T) {
	vs := mustParse(t, `foo{a="b", c!="d", e=~"f.*", g!~"h",}`).(*VectorSelector)
	want := []string{`a="b"`, `c!="d"`, `e=~"f.*"`, `g!~"h"`, `__name__="foo"`}
	if vs.Name != "foo" || len(vs.LabelMatchers) != len(want) {
		t.Fatalf("got name %q and %d matchers", vs.Name, len(vs.LabelMatchers))
	}
	for i, m := range vs.LabelMatchers {
		if m.String() != want[i] {
			t.Errorf("matcher %d = %s, want %s", i, m, want[i])
		}
	}

	// UTF-8 names are quoted; a lone string is the metric name.
	vs = mustParse(t, `{"my.metric", "label ü"="x"}`).(*VectorSelector)
	if vs.Name != "" || len(vs.LabelMatchers) != 2 ||
		vs.LabelMatchers[0].Name != labels.MetricName || vs.LabelMatchers[0].Value != "my.metric" ||
		vs.LabelMatchers[1].Name != "label ü" || vs.LabelMatchers[1].Value != "x" {
		t.Errorf("got %v", vs.LabelMatchers)
	}

	// Keywords are metric names where a selector is expected, and label
	// names inside braces.
	for _, in := range []string{`sum`, `by`, `offset`, `and`, `avg{by="x"}`, `start`, `anchored`, `limitk`} {
		if _, ok := mustParse(t, in).(*VectorSelector); !ok {
			t.Errorf("%q did not parse as a vector selector", in)
		}
	}
	if c := mustParse(t, `sum(sum)`).(*AggregateExpr); c.Expr.(*VectorSelector).Name != "sum" {
		t.Errorf("sum(sum): inner is %s", c.Expr)
	}
	// fill is a metric name unless an opening parenthesis follows.
	if b := mustParse(t, `fill + fill(0) fill_left`).(*BinaryExpr); b.LHS.String() != "fill" || b.RHS.String() != "fill_left" || *b.VectorMatching.FillValues.LHS != 0 {
		t.Errorf("fill as a name: got %s", b)
	}

	ms := mustParse(t, `foo[5m] offset -1h @ end() anchored`).(*MatrixSelector)
	inner := ms.VectorSelector.(*VectorSelector)
	if ms.Range != 5*time.Minute || inner.OriginalOffset != -time.Hour || inner.StartOrEnd != END || !inner.Anchored {
		t.Errorf("got %+v / %+v", ms, inner)
	}
	vs = mustParse(t, `foo @ 1609746000.5 smoothed`).(*VectorSelector)
	if vs.Timestamp == nil || *vs.Timestamp != 1609746000500 || !vs.Smoothed {
		t.Errorf("got %+v", vs)
	}
	vs = mustParse(t, `foo @ 1m40s`).(*VectorSelector)
	if *vs.Timestamp != 100000 {
		t.Errorf("@ with a duration: got %d", *vs.Timestamp)
	}
}

func TestSubqueryAndDurationFields(t *testing.T) {
	sq := mustParse(t, `rate(x[5m])[1h:1m] offset 10m @ 300`).(*SubqueryExpr)
	if sq.Range != time.Hour || sq.Step != time.Minute || sq.OriginalOffset != 10*time.Minute || *sq.Timestamp != 300000 {
		t.Errorf("got %+v", sq)
	}
	sq = mustParse(t, `x[1h:]`).(*SubqueryExpr)
	if sq.Step != 0 || sq.StepExpr != nil {
		t.Errorf("default step: got %+v", sq)
	}
	// Constant duration expressions are evaluated at parse time and kept
	// for printing; those using step() wait for ResolveDurations.
	sq = mustParse(t, `x[29s+1s:5s+5s] offset (1h*2)`).(*SubqueryExpr)
	if sq.Range != 30*time.Second || sq.Step != 10*time.Second || sq.OriginalOffset != 2*time.Hour ||
		sq.RangeExpr == nil || sq.StepExpr == nil || sq.OriginalOffsetExpr == nil {
		t.Errorf("got %+v", sq)
	}
	ms := mustParse(t, `x[step()*2] offset -range()`).(*MatrixSelector)
	if ms.Range != 0 || ms.RangeExpr == nil {
		t.Fatalf("got %+v", ms)
	}
	if err := ResolveDurations(ms, 15*time.Second, time.Hour); err != nil {
		t.Fatal(err)
	}
	if ms.Range != 30*time.Second || ms.VectorSelector.(*VectorSelector).OriginalOffset != -time.Hour {
		t.Errorf("resolved: range %v, offset %v", ms.Range, ms.VectorSelector.(*VectorSelector).OriginalOffset)
	}
	// An instant query has step 0: step() as a range is then invalid.
	if err := ResolveDurations(ms, 0, 0); err == nil || !strings.Contains(err.Error(), "must be greater than 0") {
		t.Errorf("ResolveDurations with step 0: %v", err)
	}
	if err := ResolveDurations(mustParse(t, `sum_over_time(x[1m:step()])`), -time.Second, 0); err == nil {
		t.Error("a negative step resolved without error")
	}
	// Plain numbers in ranges are seconds.
	if ms := mustParse(t, `x[90]`).(*MatrixSelector); ms.Range != 90*time.Second || ms.RangeExpr != nil {
		t.Errorf("x[90]: got %+v", ms)
	}
	if ms := mustParse(t, `x[1.5]`).(*MatrixSelector); ms.Range != 1500*time.Millisecond {
		t.Errorf("x[1.5]: got %v", ms.Range)
	}
}

func TestBinaryModifiers(t *testing.T) {
	b := mustParse(t, `a * on(x, "y.z") group_left(w) fill_left(1) fill_right(-Inf) b`).(*BinaryExpr)
	vm := b.VectorMatching
	if vm.Card != CardManyToOne || !vm.On || strings.Join(vm.MatchingLabels, ",") != "x,y.z" ||
		strings.Join(vm.Include, ",") != "w" || *vm.FillValues.LHS != 1 || !math.IsInf(*vm.FillValues.RHS, -1) {
		t.Errorf("got %+v", vm)
	}
	b = mustParse(t, `a == bool ignoring(x) group_right b`).(*BinaryExpr)
	if !b.ReturnBool || b.VectorMatching.Card != CardOneToMany || b.VectorMatching.On || b.VectorMatching.Include != nil {
		t.Errorf("got %+v %+v", b, b.VectorMatching)
	}
	b = mustParse(t, `a + fill(NaN) b`).(*BinaryExpr)
	if !math.IsNaN(*b.VectorMatching.FillValues.LHS) || b.VectorMatching.FillValues.LHS != b.VectorMatching.FillValues.RHS {
		t.Errorf("fill(NaN): got %+v", b.VectorMatching.FillValues)
	}
	// Set operators are many-to-many; a scalar operand drops matching.
	if b := mustParse(t, `a or b`).(*BinaryExpr); b.VectorMatching.Card != CardManyToMany {
		t.Errorf("or: card %s", b.VectorMatching.Card)
	}
	if b := mustParse(t, `a + 1`).(*BinaryExpr); b.VectorMatching != nil {
		t.Errorf("vector + scalar kept vector matching %+v", b.VectorMatching)
	}
}

func TestLiterals(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want float64
		dur  bool
	}{
		{`1`, 1, false},
		{`-1.5e3`, -1500, false},
		{`.5`, 0.5, false},
		{`5.`, 5, false},
		{`0x1F`, 31, false},
		{`0XaB`, 171, false},
		{`010`, 8, false}, // Go integer syntax, as in Prometheus.
		{`Inf`, math.Inf(1), false},
		{`-inf`, math.Inf(-1), false},
		{`+INF`, math.Inf(1), false},
		{`1m`, 60, true},
		{`1h30m`, 5400, true},
		{`-1d`, -86400, true},
		{`1y`, 365 * 86400, true},
		{`500ms`, 0.5, true},
	} {
		nl, ok := mustParse(t, tc.in).(*NumberLiteral)
		if !ok || nl.Val != tc.want || nl.Duration != tc.dur {
			t.Errorf("%q: got %+v, want %v (duration %v)", tc.in, nl, tc.want, tc.dur)
		}
	}
	if nl := mustParse(t, `nAn`).(*NumberLiteral); !math.IsNaN(nl.Val) {
		t.Errorf("nAn: got %v", nl.Val)
	}
	for _, tc := range []struct{ in, want string }{
		{`"a\nb"`, "a\nb"},
		{`'it\'s'`, "it's"},
		{`"say \"hi\""`, `say "hi"`},
		{`"\a\b\f\r\t\v\\"`, "\a\b\f\r\t\v\\"},
		{`"\101\x42\u00e9\U0001F600"`, "ABé😀"},
		{`"\xff"`, "\xff"},
		{"`a\\n\nb`", "a\\n\nb"},
		{`'"'`, `"`},
	} {
		sl, ok := mustParse(t, tc.in).(*StringLiteral)
		if !ok || sl.Val != tc.want {
			t.Errorf("%s: got %+v, want %q", tc.in, sl, tc.want)
		}
	}
}

func TestTypes(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want ValueType
	}{
		{`1`, ValueTypeScalar},
		{`"s"`, ValueTypeString},
		{`x`, ValueTypeVector},
		{`x[5m]`, ValueTypeMatrix},
		{`x[5m:]`, ValueTypeMatrix},
		{`1 + 2`, ValueTypeScalar},
		{`x + 2`, ValueTypeVector},
		{`(1)`, ValueTypeScalar},
		{`-x`, ValueTypeVector},
		{`time()`, ValueTypeScalar},
		{`scalar(x)`, ValueTypeScalar},
		{`rate(x[1m])`, ValueTypeVector},
		{`sum(x)`, ValueTypeVector},
		{`step()`, ValueTypeScalar},
		{`min_of(1, 2)`, ValueTypeScalar},
	} {
		if got := mustParse(t, tc.in).Type(); got != tc.want {
			t.Errorf("%q: type %s, want %s", tc.in, got, tc.want)
		}
	}
}

func TestCaseInsensitiveKeywords(t *testing.T) {
	for in, want := range map[string]string{
		`SUM BY (a) (x)`:             `sum by (a) (x)`,
		`x OFFSET 5m`:                `x offset 5m`,
		`a AND ON(b) c`:              `a and on (b) c`,
		`x @ START()`:                `x @ start()`,
		`STEP() + Range() + END()`:   `step() + range() + end()`,
		`x[STEP():StEp()]`:           `x[step():step()]`,
		`a == BOOL b`:                `a == bool b`,
		`x[5m] ANCHORED`:             `x[5m] anchored`,
		`a + FILL(0) b`:              `a + fill(0) b`,
		`topk BY (a) (1, x)`:         `topk by (a) (1, x)`,
		`count_VALUES("x", y)`:       `count_values("x", y)`,
		`a UNLESS IGNORING (b) c`:    `a unless ignoring (b) c`,
		`a * ON (b) GROUP_LEFT () c`: `a * on (b) group_left () c`,
	} {
		if got := mustParse(t, in).String(); got != want {
			t.Errorf("%q printed as %q, want %q", in, got, want)
		}
	}
	// Function names are case-sensitive.
	if _, err := ParseExpr(`RATE(x[5m])`); err == nil {
		t.Error("RATE parsed as a function")
	}
}

func TestComments(t *testing.T) {
	e := mustParse(t, "# leading\nsum_over_time( # inside\n  x{a=\"b\", # in braces\n}[5m:] # after\n)")
	if got := e.String(); got != `sum_over_time(x{a="b"}[5m:])` {
		t.Errorf("got %s", got)
	}
}

func TestParseMetricSelector(t *testing.T) {
	ms, err := ParseMetricSelector(`up{job="a", "x.y"!~"z"}`)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range ms {
		got = append(got, m.String())
	}
	if strings.Join(got, " ") != `job="a" "x.y"!~"z" __name__="up"` {
		t.Errorf("got %v", got)
	}
	// Unlike queries, the API's match[] may be empty-matching; the API
	// decides.
	if ms, err := ParseMetricSelector(`{}`); err != nil || len(ms) != 0 {
		t.Errorf("{}: %v %v", ms, err)
	}
	for _, tc := range []struct{ in, err string }{
		{`up offset 5m`, `1:4: parse error: unexpected <offset>`},
		{`rate(x[5m])`, `1:5: parse error: unexpected "("`},
		{`up + 1`, `1:4: parse error: unexpected <op:+>`},
		{`1`, `1:1: parse error: unexpected number "1"`},
		{`up{`, `1:4: parse error: unexpected end of input inside braces`},
	} {
		if _, err := ParseMetricSelector(tc.in); err == nil || err.Error() != tc.err {
			t.Errorf("ParseMetricSelector(%q) error %v, want %s", tc.in, err, tc.err)
		}
	}
}

func TestParseMetric(t *testing.T) {
	ls, err := ParseMetric(`up{job="a", instance="b"}`)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{__name__="up", instance="b", job="a"}`; ls.String() != want {
		t.Errorf("got %s, want %s", ls, want)
	}
	for _, tc := range []struct{ in, err string }{
		{`up{job=~"a"}`, `1:7: parse error: unexpected <op:=~> in label set, expected "="`},
		{`up{job="a" x}`, `1:12: parse error: unexpected identifier "x" in label set, expected "," or "}"`},
		{`up{job=1}`, `1:8: parse error: unexpected character inside braces: '1'`},
		{`up{,}`, `1:4: parse error: unexpected "," in label set, expected identifier or "}"`},
		{`up{job=x}`, `1:8: parse error: unexpected identifier "x" in label set, expected string`},
	} {
		if _, err := ParseMetric(tc.in); err == nil || err.Error() != tc.err {
			t.Errorf("ParseMetric(%q) error %v, want %s", tc.in, err, tc.err)
		}
	}
}

func TestOptionsGateExperimentalFeatures(t *testing.T) {
	strict := NewParser(Options{})
	for _, tc := range []struct{ in, err string }{
		{`sort_by_label(x, "a")`, `1:1: parse error: function "sort_by_label" is not enabled`},
		{`step()`, `1:1: parse error: function "step" is not enabled`},
		{`limitk(1, x)`, `1:1: parse error: limitk() and limit_ratio() are experimental and not enabled`},
		{`x[5m+1m]`, `1:3: parse error: experimental duration expression is not enabled`},
		{`x offset step()`, `1:10: parse error: experimental duration expression is not enabled`},
		{`x[5m] anchored`, `1:7: parse error: the anchored and smoothed modifiers are experimental and not enabled`},
		{`a + fill(0) b`, `1:5: parse error: binop fill modifiers are experimental and not enabled`},
	} {
		if _, err := strict.ParseExpr(tc.in); err == nil || err.Error() != tc.err {
			t.Errorf("%q: error %v, want %s", tc.in, err, tc.err)
		}
		if _, err := ParseExpr(tc.in); err != nil {
			t.Errorf("%q with all features: %v", tc.in, err)
		}
	}
	// Stable features need no option.
	if _, err := strict.ParseExpr(`sum_over_time(rate(x[5m] offset -1h @ start())[1h:]) + first_over_time(y[1m])`); err != nil {
		t.Error(err)
	}
}

func TestParseErrorsType(t *testing.T) {
	_, err := ParseExpr("foo +\n  bar(")
	var pe ParseErrors
	if !errors.As(err, &pe) || len(pe) != 1 {
		t.Fatalf("got %T %v", err, err)
	}
	if pe[0].PositionRange.Start != 12 || pe[0].Err.Error() != "unclosed left parenthesis" {
		t.Errorf("got %+v", pe[0])
	}
	// A query embedded in a larger file reports its line there.
	pe[0].LineOffset = 9
	if got := pe[0].Error(); got != "11:7: parse error: unclosed left parenthesis" {
		t.Errorf("with a line offset: %s", got)
	}
}

func TestPositionRanges(t *testing.T) {
	in := `sum by (a) (rate(foo{x="y"}[5m] offset 1m)) + -bar @ 10 / (2)`
	e := mustParse(t, in)
	var got []string
	Inspect(e, func(n Node, _ []Node) error {
		pr := n.PositionRange()
		got = append(got, in[pr.Start:pr.End])
		return nil
	})
	want := []string{
		in,
		`sum by (a) (rate(foo{x="y"}[5m] offset 1m))`,
		`rate(foo{x="y"}[5m] offset 1m)`,
		`foo{x="y"}[5m] offset 1m`,
		`foo{x="y"}`,
		`-bar @ 10 / (2)`,
		`-bar @ 10`,
		`bar @ 10`,
		`(2)`,
		`2`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// pathRecorder is a Visitor that records the node types it sees with their
// depth, and the end-of-children markers.
type pathRecorder struct{ out *[]string }

func (r pathRecorder) Visit(n Node, path []Node) (Visitor, error) {
	if n == nil {
		*r.out = append(*r.out, "end")
		return nil, nil
	}
	*r.out = append(*r.out, strings.Repeat(".", len(path))+sexprHead(n))
	if _, ok := n.(*Call); ok {
		return nil, nil // Skip the arguments.
	}
	return r, nil
}

func sexprHead(n Node) string {
	switch e := n.(type) {
	case *BinaryExpr:
		return e.Op.String()
	case *Call:
		return e.Func.Name
	}
	return n.String()
}

func TestWalk(t *testing.T) {
	var got []string
	if err := Walk(pathRecorder{&got}, mustParse(t, `a + abs(b) * c`), nil); err != nil {
		t.Fatal(err)
	}
	want := "+ .a end .* ..abs ..c end end end"
	if strings.Join(got, " ") != want {
		t.Errorf("got %q, want %q", strings.Join(got, " "), want)
	}
	// Children covers every node kind that has any.
	sie := &StepInvariantExpr{Expr: mustParse(t, `topk(2, x)`)}
	got = got[:0]
	Inspect(Expressions{sie, mustParse(t, `x[1m:] offset 1m`), mustParse(t, `x[step()]`).(*MatrixSelector).RangeExpr}, func(n Node, path []Node) error {
		got = append(got, fmt.Sprintf("%d:%T", len(path), n))
		return nil
	})
	want = "0:parser.Expressions 1:*parser.StepInvariantExpr 2:*parser.AggregateExpr 3:*parser.NumberLiteral 3:*parser.VectorSelector " +
		"1:*parser.SubqueryExpr 2:*parser.VectorSelector 1:*parser.DurationExpr"
	if strings.Join(got, " ") != want {
		t.Errorf("got %s\nwant %s", strings.Join(got, " "), want)
	}
	if got := sie.Pretty(1); got != "  topk(2, x)" || sie.Type() != ValueTypeVector {
		t.Errorf("StepInvariantExpr: %q %s", got, sie.Type())
	}

	// An error from Inspect's function stops the walk.
	n := 0
	stop := errors.New("stop")
	Inspect(mustParse(t, `a + b + c`), func(Node, []Node) error {
		n++
		if n == 2 {
			return stop
		}
		return nil
	})
	if n != 2 {
		t.Errorf("Inspect visited %d nodes after the error, want 2", n)
	}
}

func TestFunctionsTable(t *testing.T) {
	for name, f := range Functions {
		if f.Name != name {
			t.Errorf("Functions[%q].Name = %q", name, f.Name)
		}
		if f.Variadic != 0 && len(f.ArgTypes) == 0 {
			t.Errorf("%s is variadic without argument types", name)
		}
	}
	if _, ok := Functions["holt_winters"]; ok {
		t.Error("holt_winters was removed in Prometheus 3.0")
	}
	for _, name := range []string{
		"info", "sort_by_label", "sort_by_label_desc", "mad_over_time", "double_exponential_smoothing",
		"ts_of_first_over_time", "ts_of_last_over_time", "ts_of_min_over_time", "ts_of_max_over_time",
		"max_of", "min_of", "histogram_quantiles", "start_timestamp", "start", "end", "range", "step",
	} {
		if f := Functions[name]; f == nil || !f.Experimental {
			t.Errorf("%s: want an experimental function, got %+v", name, f)
		}
	}
	for _, name := range []string{
		"histogram_quantile", "histogram_fraction", "histogram_count", "histogram_sum", "histogram_avg",
		"histogram_stddev", "histogram_stdvar", "label_replace", "label_join", "predict_linear", "rate",
	} {
		if f := Functions[name]; f == nil || f.Experimental {
			t.Errorf("%s: want a stable function, got %+v", name, f)
		}
	}
}
