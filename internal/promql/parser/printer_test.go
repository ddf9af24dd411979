package parser

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/vigil-monitoring/vigil/internal/model/labels"
)

// TestCanonicalForm pins the printed form of each construct: what
// /api/v1/format_query returns.
func TestCanonicalForm(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		// Aggregations: the grouping clause goes first, labels joined by ", ".
		{`sum(x)`, `sum(x)`},
		{`sum(x) by (a,b)`, `sum by (a, b) (x)`},
		{`SUM BY(a)(x)`, `sum by (a) (x)`},
		{`sum by () (x)`, `sum(x)`},
		{`sum without () (x)`, `sum without () (x)`},
		{`avg without(instance) (x)`, `avg without (instance) (x)`},
		{`topk(5, x) by (job)`, `topk by (job) (5, x)`},
		{`quantile(0.9, x)`, `quantile(0.9, x)`},
		{`count_values("v", x)`, `count_values("v", x)`},
		{`limitk(2, x)`, `limitk(2, x)`},
		{`limit_ratio(0.5, x)`, `limit_ratio(0.5, x)`},
		{`sum by ("foo.bar", "a b", c:d) (x)`, `sum by ("foo.bar", "a b", c:d) (x)`},
		{`sum by ("inf") (x)`, `sum by ("inf") (x)`},
		{`max by (by, on, bool, offset, start) (x)`, `max by (by, on, bool, offset, start) (x)`},
		// Binary operators with single spaces and their modifiers.
		{`a+b`, `a + b`},
		{`a==bool b`, `a == bool b`},
		{`a>bool on(x)b`, `a > bool on (x) b`},
		{`a*on(x,y)group_left(z)b`, `a * on (x, y) group_left (z) b`},
		{`a*ignoring(x)group_right b`, `a * ignoring (x) group_right () b`},
		{`a * ignoring() group_left b`, `a * ignoring () group_left () b`},
		{`a + ignoring () b`, `a + b`},
		{`a and on() b`, `a and on () b`},
		{`a unless ignoring(x) b`, `a unless ignoring (x) b`},
		{`a atan2 b`, `a atan2 b`},
		{`a </ 0.5`, `a </ 0.5`},
		{`a >/ -1`, `a >/ -1`},
		{`a + fill(0) b`, `a + fill(0) b`},
		{`a + fill_left(0) fill_right(0) b`, `a + fill(0) b`},
		{`a + fill_right(1) fill_left(-Inf) b`, `a + fill_left(-Inf) fill_right(1) b`},
		{`a + fill(NaN) b`, `a + fill(NaN) b`},
		{`a + on(x) group_left fill_right(1m) b`, `a + on (x) group_left () fill_right(60) b`},
		{`(a + b) * c`, `(a + b) * c`},
		{`-a`, `-a`},
		{`- (a + b)`, `-(a + b)`},
		{`+a`, `+a`},
		// Numbers: shortest form; durations as written, in canonical units.
		{`1.0`, `1`},
		{`-2.50`, `-2.5`},
		{`1e3`, `1000`},
		{`1e-7`, `0.0000001`},
		{`0x10`, `16`},
		{`inf`, `+Inf`},
		{`-Inf`, `-Inf`},
		{`nan`, `NaN`},
		{`-0`, `-0`},
		{`90s`, `1m30s`},
		{`1h30m`, `1h30m`},
		{`2w`, `2w`},
		{`14d`, `2w`},
		{`10d`, `10d`}, // Weeks only when exact.
		{`1y`, `1y`},
		{`1500ms`, `1s500ms`},
		{`-1m`, `-1m`},
		{`-0s`, `-0s`},
		{`0s`, `0s`},
		// Strings are double-quoted with Go escapes.
		{`'it\'s'`, `"it's"`},
		{"`a\\b\n`", `"a\\b\n"`},
		{`"\u00e9\x00"`, `"é\x00"`},
		// Selectors: matchers sorted, without blanks; the name outside when
		// it is a legacy name.
		{`foo{b="1", a="2"}`, `foo{a="2",b="1"}`},
		{`foo{ }`, `foo`},
		{`{__name__="foo"}`, `{__name__="foo"}`},
		{`{"foo.bar"}`, `{__name__="foo.bar"}`},
		{`{"foo.bar", "ü"="x", a!~"y"}`, `{"ü"="x",__name__="foo.bar",a!~"y"}`},
		{`foo:bar{a='x'}`, `foo:bar{a="x"}`},
		{`sum{a="b"}`, `sum{a="b"}`},
		// Modifiers: anchored/smoothed, then @, then offset.
		{`foo offset 5m`, `foo offset 5m`},
		{`foo offset -5m`, `foo offset -5m`},
		{`foo offset 90`, `foo offset 1m30s`},
		{`foo offset 5m @ 100`, `foo @ 100.000 offset 5m`},
		{`foo @ 1.2345`, `foo @ 1.235`},
		{`foo @ -1`, `foo @ -1.000`},
		{`foo @ 0.001`, `foo @ 0.001`},
		{`foo @ 1609746000`, `foo @ 1609746000.000`},
		{`foo @ start()`, `foo @ start()`},
		{`foo @ end() offset 1m`, `foo @ end() offset 1m`},
		{`foo smoothed`, `foo smoothed`},
		{`foo offset -100 smoothed`, `foo smoothed offset -1m40s`},
		{`foo[5m] anchored`, `foo[5m] anchored`},
		{`foo[5m] offset 1m @ 10 anchored`, `foo[5m] anchored @ 10.000 offset 1m`},
		{`foo[300]`, `foo[5m]`},
		{`foo[1.5]`, `foo[1s500ms]`},
		{`rate(foo[5m] offset 1w)`, `rate(foo[5m] offset 1w)`},
		// Subqueries.
		{`foo[5m:]`, `foo[5m:]`},
		{`foo[5m:1m]`, `foo[5m:1m]`},
		{`rate(x[1m])[1h:5m] offset 1d @ end()`, `rate(x[1m])[1h:5m] @ end() offset 1d`},
		{`(a + b)[10m:30s]`, `(a + b)[10m:30s]`},
		// Duration expressions keep their parentheses.
		{`foo[5m+1m]`, `foo[5m + 1m]`},
		{`foo[(5m+1m)*2]`, `foo[(5m + 1m) * 2]`},
		{`foo[((5m))]`, `foo[5m]`},
		{`foo[step()]`, `foo[step()]`},
		{`foo[1h:step()*2]`, `foo[1h:step() * 2]`},
		{`foo[min_of(step(),1h)]`, `foo[min_of(step(), 1h)]`},
		{`foo offset (1h*2)`, `foo offset (1h * 2)`},
		{`foo offset (5m)`, `foo offset 5m`},
		{`foo offset step()`, `foo offset step()`},
		{`foo offset -step()`, `foo offset -step()`},
		{`foo offset +range()`, `foo offset range()`},
		{`foo offset -(step()+1)`, `foo offset -(step() + 1)`},
		{`foo offset max_of(3s, min_of(step(), 1s))`, `foo offset max_of(3s, min_of(step(), 1s))`},
		{`foo[(-2)^2]`, `foo[(-2) ^ 2]`},
		{`foo[(-step())^2]`, `foo[(-step()) ^ 2]`},
		// Functions.
		{`rate(x[5m])`, `rate(x[5m])`},
		{`label_replace(x,"a","$1","b","(.*)")`, `label_replace(x, "a", "$1", "b", "(.*)")`},
		{`time()`, `time()`},
		{`STEP()`, `step()`},
		{`start() - End()`, `start() - end()`},
		{`min_of(1,2)`, `min_of(1, 2)`},
		{`histogram_quantiles(x, "q", 0.5, 0.9)`, `histogram_quantiles(x, "q", 0.5, 0.9)`},
		{`info(x, {data=~".+"})`, `info(x, {data=~".+"})`},
	} {
		e, err := ParseExpr(tc.in)
		if err != nil {
			t.Errorf("ParseExpr(%q): %v", tc.in, err)
			continue
		}
		if got := e.String(); got != tc.want {
			t.Errorf("%q printed as %q, want %q", tc.in, got, tc.want)
		}
		if msg := roundTrip(e); msg != "" {
			t.Errorf("%q: %s", tc.in, msg)
		}
	}
}

// TestPrintHandBuiltTrees checks that trees an engine builds (not from the
// parser) print as text that means the same.
func TestPrintHandBuiltTrees(t *testing.T) {
	num := func(v float64, dur bool) *NumberLiteral { return &NumberLiteral{Val: v, Duration: dur} }
	step := &DurationExpr{Op: STEP}
	sum := &DurationExpr{Op: ADD, LHS: num(60, true), RHS: step}
	ts := int64(-1500)
	m := labels.MustNewMatcher(labels.MatchEqual, labels.MetricName, "my.metric")
	vs := &VectorSelector{
		Name:               "my.metric",
		LabelMatchers:      []*labels.Matcher{labels.MustNewMatcher(labels.MatchRegexp, "a", "b"), m},
		OriginalOffsetExpr: sum,
		Timestamp:          &ts,
	}
	for _, tc := range []struct {
		n    Node
		want string
	}{
		// An unwrapped sum after offset needs parentheses.
		{vs, `{"my.metric",a=~"b"} @ -1.500 offset (1m + step())`},
		{&DurationExpr{Op: MUL, LHS: sum, RHS: num(2, false)}, `(1m + step()) * 2`},
		{&DurationExpr{Op: SUB, LHS: num(1, false), RHS: &DurationExpr{Op: SUB, LHS: num(2, false), RHS: num(3, false)}}, `1 - (2 - 3)`},
		{&DurationExpr{Op: POW, LHS: &DurationExpr{Op: POW, LHS: num(2, false), RHS: num(3, false)}, RHS: num(2, false)}, `(2 ^ 3) ^ 2`},
		{&DurationExpr{Op: POW, LHS: num(-2, false), RHS: num(2, false)}, `(-2) ^ 2`},
		{&DurationExpr{Op: SUB, RHS: sum}, `-(1m + step())`},
		{&MatrixSelector{VectorSelector: &VectorSelector{Name: "x", Smoothed: true}, Range: time.Minute}, `x[1m] smoothed`},
		{&SubqueryExpr{Expr: &VectorSelector{Name: "x"}, Range: time.Hour, OriginalOffset: -time.Minute}, `x[1h:] offset -1m`},
		{&StepInvariantExpr{Expr: &NumberLiteral{Val: math.Inf(-1)}}, `-Inf`},
		{Expressions{num(1, false), &StringLiteral{Val: "a"}}, `1, "a"`},
	} {
		if got := tc.n.String(); got != tc.want {
			t.Errorf("got %s, want %s", got, tc.want)
		}
	}
}

func TestPretty(t *testing.T) {
	in := `sum by (job, instance) (rate(http_requests_total{job="api-server", handler="/api/v1/query", code=~"5.."}[5m])) / on (job, instance) group_left sum by (job, instance) (rate(http_requests_total{job="api-server"}[5m])) > 0.05`
	want := strings.Join([]string{
		`    sum by (job, instance) (`,
		`      rate(http_requests_total{code=~"5..",handler="/api/v1/query",job="api-server"}[5m])`,
		`    )`,
		`  / on (job, instance) group_left ()`,
		`    sum by (job, instance) (rate(http_requests_total{job="api-server"}[5m]))`,
		`>`,
		`  0.05`,
	}, "\n")
	e := mustParse(t, in)
	if got := Prettify(e); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if msg := roundTrip(e); msg != "" {
		t.Error(msg)
	}
	// Short expressions stay on one line, indented.
	if got := mustParse(t, `rate(x[5m])`).Pretty(2); got != `    rate(x[5m])` {
		t.Errorf("got %q", got)
	}
	long := `topk(10, -(` + strings.Repeat("a_long_metric_name + ", 5) + `x))[1h:1m]`
	got := Prettify(mustParse(t, `max_over_time(`+long+`)`))
	if !strings.Contains(got, "\n  topk(\n    10,\n    -(\n") || !strings.HasSuffix(got, "  )[1h:1m]\n)") {
		t.Errorf("long subquery:\n%s", got)
	}
}
