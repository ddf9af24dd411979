package parser

import (
	"errors"
	"strings"
	"testing"
)

// TestParseErrors pins the exact error text, position included, of invalid
// queries. The messages follow Prometheus' wording so that clients and test
// scripts matching on them keep working.
func TestParseErrors(t *testing.T) {
	for _, tc := range []struct{ in, err string }{
		// Empty input and lexer errors.
		{"", `1:1: parse error: no expression found in input`},
		{"  # only a comment", `1:1: parse error: no expression found in input`},
		{"(1))", `1:4: parse error: unexpected right parenthesis ')'`},
		{"((1)", `1:5: parse error: unclosed left parenthesis`},
		{")", `1:1: parse error: unexpected right parenthesis ')'`},
		{"foo[5m", `1:7: parse error: unclosed left bracket`},
		{"foo]", `1:4: parse error: unexpected right bracket ']'`},
		{"foo[5m[", `1:7: parse error: unexpected left bracket '['`},
		{"foo[5m:1m:]", `1:10: parse error: unexpected colon ':'`},
		{"}", `1:1: parse error: unexpected character: '}'`},
		{"some}", `1:5: parse error: unexpected character: '}'`},
		{"foo ; bar", `1:5: parse error: unexpected character: ';'`},
		{"foo ü", `1:5: parse error: unexpected character: 'ü'`},
		{"a !b", `1:3: parse error: unexpected character after '!': 'b'`},
		{"foo{", `1:5: parse error: unexpected end of input inside braces`},
		{"{", `1:2: parse error: unexpected end of input inside braces`},
		{`foo{a{`, `1:6: parse error: unexpected left brace '{'`},
		{`foo{a!b}`, `1:6: parse error: unexpected character after '!' inside braces: 'b'`},
		{`some_metric{a:b="b"}`, `1:14: parse error: unexpected character inside braces: ':'`},
		{`foo{a*"b"}`, `1:6: parse error: unexpected character inside braces: '*'`},
		{`foo{a>="b"}`, `1:6: parse error: unexpected character inside braces: '>'`},
		{`foo{1}`, `1:5: parse error: unexpected character inside braces: '1'`},
		{"some_metric{a=\"\xff\"}", `1:15: parse error: invalid UTF-8 rune`},
		{"label_replace(a, `b`, `c\xff`, `d`, `.*`)", `1:23: parse error: invalid UTF-8 rune`},
		{`"unterminated`, `1:1: parse error: unterminated quoted string`},
		{"'line\nbreak'", `1:1: parse error: unterminated quoted string`},
		{"`raw", `1:1: parse error: unterminated raw string`},
		{`'bad\q'`, `1:1: parse error: unknown escape sequence U+0071 'q'`},
		{`"\'"`, `1:1: parse error: unknown escape sequence U+0027 '''`},
		{`"\x4"`, `1:1: parse error: illegal character U+0022 '"' in escape sequence`},
		{`"\u12"`, `1:1: parse error: illegal character U+0022 '"' in escape sequence`},
		{`"\uD800"`, `1:1: parse error: escape sequence is an invalid Unicode code point`},
		{`"\U00110000"`, `1:1: parse error: escape sequence is an invalid Unicode code point`},
		{`"\`, `1:1: parse error: escape sequence not terminated`},
		{"foo[5mm]", `1:5: parse error: bad number or duration syntax: "5mm"`},
		{"foo[5m1]", `1:5: parse error: bad number or duration syntax: "5m1"`},
		{"foo[5m:1m1]", `1:8: parse error: bad number or duration syntax: "1m1"`},
		{"some_metric[5m] OFFSET 1mm", `1:24: parse error: bad number or duration syntax: "1mm"`},
		{"12abc", `1:1: parse error: bad number or duration syntax: "12"`},
		{"foo[5y1hs]", `1:5: parse error: unknown unit "hs" in duration "5y1hs"`},
		{"foo[5m1h]", `1:5: parse error: not a valid duration string: "5m1h"`},
		{"foo[5m1m]", `1:5: parse error: not a valid duration string: "5m1m"`},
		{"999999999999y", `1:1: parse error: duration out of range`},
		{"0x", `1:1: parse error: error parsing number: strconv.ParseFloat: parsing "0x": invalid syntax`},

		// Syntax errors.
		{"1+", `1:3: parse error: unexpected end of input`},
		{"*1", `1:1: parse error: unexpected <op:*>`},
		{"()", `1:2: parse error: unexpected ")"`},
		{"(1 2)", `1:4: parse error: unexpected number "2"`},
		{"foo bar", `1:5: parse error: unexpected identifier "bar"`},
		{`-=`, `1:2: parse error: unexpected "="`},
		{`++-++-+-+-<`, `1:11: parse error: unexpected <op:<>`},
		{`e-+=/(0)`, `1:4: parse error: unexpected "="`},
		{"foo + group_left(baz) bar", `1:7: parse error: unexpected <group_left>`},
		{"a - on(b) ignoring(c) d", `1:11: parse error: unexpected <ignoring>`},
		{"a == on(b) bool c", `1:12: parse error: unexpected <bool>`},
		{"atan2", `1:1: parse error: unexpected <op:atan2>`},
		{"on{}", `1:1: parse error: unexpected <on>`},
		{`some_metric{a=b}`, `1:15: parse error: unexpected identifier "b" in label matching, expected string`},
		{`foo{gibberish}`, `1:14: parse error: unexpected "}" in label matching, expected label matching operator`},
		{`foo{__name__= =}`, `1:15: parse error: unexpected "=" in label matching, expected string`},
		{`foo{,}`, `1:5: parse error: unexpected "," in label matching, expected identifier or "}"`},
		{`foo{__name__ == "bar"}`, `1:15: parse error: unexpected "=" in label matching, expected string`},
		{`foo{__name__="bar" lol}`, `1:20: parse error: unexpected identifier "lol" in label matching, expected "," or "}"`},
		{`foo{"a" "b"}`, `1:9: parse error: unexpected string "\"b\"" in label matching, expected "," or "}"`},
		{`foo["5m"]`, `1:5: parse error: unexpected string "\"5m\"" in subquery selector, expected number or duration`},
		{`foo[]`, `1:5: parse error: unexpected "]" in subquery selector, expected number or duration`},
		{`foo[5m x]`, `1:8: parse error: unexpected identifier "x" in subquery or range, expected ":" or "]"`},
		{`foo[5m:x]`, `1:8: parse error: unexpected identifier "x" in subquery selector, expected number or duration or "]"`},
		{`foo[5m:1m x]`, `1:11: parse error: unexpected identifier "x" in subquery selector, expected "]"`},
		{`foo[5m +]`, `1:9: parse error: unexpected "]" in duration expression, expected number or duration`},
		{`foo[min_of(1m)]`, `1:14: parse error: unexpected ")" in duration expression, expected ","`},
		{"some_metric[5m] OFFSET", `1:23: parse error: unexpected end of input in offset, expected number, duration, or step()`},
		{"foo offset foo", `1:12: parse error: unexpected identifier "foo" in offset, expected number, duration, or step()`},
		{"foo @", `1:6: parse error: unexpected end of input in @, expected timestamp`},
		{"foo @ start", `1:12: parse error: unexpected end of input in @, expected "("`},
		{"sum without(==)(some_metric)", `1:13: parse error: unexpected <op:==> in grouping opts, expected label`},
		{"sum without(,)(some_metric)", `1:13: parse error: unexpected "," in grouping opts, expected label`},
		{"sum without(foo,,)(some_metric)", `1:17: parse error: unexpected "," in grouping opts, expected label`},
		{"sum by (a b) (x)", `1:11: parse error: unexpected identifier "b" in grouping opts, expected "," or ")"`},
		{"sum by (nan) (x)", `1:9: parse error: unexpected number "nan" in grouping opts, expected label`},
		{"sum (some_metric) by test", `1:22: parse error: unexpected identifier "test" in grouping opts, expected "("`},
		{"sum some_metric by (test)", `1:5: parse error: unexpected identifier "some_metric"`},
		{"MIN keep_common (some_metric)", `1:5: parse error: unexpected identifier "keep_common"`},
		{"MIN (some_metric) keep_common", `1:19: parse error: unexpected identifier "keep_common"`},
		{"sum by (a) foo", `1:12: parse error: unexpected identifier "foo" in aggregation`},
		{"sum (some_metric) without (test) by (test)", `1:34: parse error: unexpected <by>`},
		{"sum without (test) (some_metric) by (test)", `1:34: parse error: unexpected <by>`},
		{"rate(x, )", `1:7: parse error: trailing commas not allowed in function call args`},
		{"a + fill(x) b", `1:10: parse error: unexpected identifier "x" in fill modifier, expected number`},
		{"a + fill(1 b", `1:12: parse error: unexpected identifier "b" in fill modifier, expected ")"`},
		{"foo\n  + \n bar(", `3:6: parse error: unclosed left parenthesis`},

		// Semantic errors found while parsing.
		{"1 offset 1d", `1:1: parse error: offset modifier must be preceded by an instant vector selector or range vector selector or a subquery`},
		{"foo offset 1s offset 2s", `1:1: parse error: offset may not be set multiple times`},
		{"some_metric OFFSET 1m[5m]", `1:22: parse error: no offset modifiers allowed before range`},
		{"some_metric @ 1[5m]", `1:16: parse error: no @ modifiers allowed before range`},
		{"(foo + bar)[5m]", `1:12: parse error: ranges only allowed for vector selectors`},
		{"foo[5m][5m]", `1:8: parse error: ranges only allowed for vector selectors`},
		{"rate(some_metric[5m]) @ 1234", `1:1: parse error: @ modifier must be preceded by an instant vector selector or range vector selector or a subquery`},
		{"sum(foo) @ 1", `1:1: parse error: @ modifier must be preceded by an instant vector selector or range vector selector or a subquery`},
		{"foo @ 1 @ 2", `1:1: parse error: @ <timestamp> may not be set multiple times`},
		{"foo @ start() @ end()", `1:1: parse error: @ <timestamp> may not be set multiple times`},
		{"foo @ +Inf", `1:1: parse error: timestamp out of bounds for @ modifier: +Inf`},
		{"foo @ -Inf", `1:1: parse error: timestamp out of bounds for @ modifier: -Inf`},
		{"foo @ NaN", `1:1: parse error: timestamp out of bounds for @ modifier: NaN`},
		{"foo @ 1e20", `1:1: parse error: timestamp out of bounds for @ modifier: 100000000000000000000.000000`},
		{"foo[0m]", `1:5: parse error: duration must be greater than 0`},
		{"foo[-1]", `1:5: parse error: duration must be greater than 0`},
		{"foo[5m-5m]", `1:5: parse error: duration must be greater than 0`},
		{"foo[5m:0s]", `1:8: parse error: duration must be greater than 0`},
		{"foo[5m/0]", `1:5: parse error: division by zero in duration expression`},
		{"foo offset (1s % 0)", `1:12: parse error: modulo by zero in duration expression`},
		{"foo offset 1e300", `1:12: parse error: duration out of range: 1e+300`},
		{"non_existent_function_far_bar()", `1:1: parse error: unknown function with name "non_existent_function_far_bar"`},
		{"a>b()", `1:3: parse error: unknown function with name "b"`},
		{"sum () by (test)", `1:1: parse error: no arguments for aggregate expression provided`},
		{"topk(some_metric)", `1:1: parse error: wrong number of arguments for aggregate expression provided, expected 2, got 1`},
		{"sum(a, b)", `1:1: parse error: wrong number of arguments for aggregate expression provided, expected 1, got 2`},
		{`sum by ("") (x)`, `1:9: parse error: invalid label name for grouping: ""`},
		{"x smoothed anchored", `1:1: parse error: anchored or smoothed modifier may not be set multiple times`},
		{"rate(x[5m]) anchored", `1:1: parse error: anchored modifier must be preceded by an instant vector selector or range vector selector`},
		{"a + fill(1) fill_left(2) b", `1:13: parse error: fill modifier may not be set multiple times`},
		{`foo{a=~"("}`, "1:5: parse error: error parsing regexp: missing closing ): `(`"},

		// Type errors.
		{"1 and 1", `1:1: parse error: set operator "and" not allowed in binary scalar expression`},
		{"1 == 1", `1:3: parse error: comparisons between scalars must use BOOL modifier`},
		{"foo == on(bar) 10", `1:1: parse error: vector matching only allowed between instant vectors`},
		{"foo and on(bar) group_left(baz) bar", "1:1: parse error: no grouping allowed for \"and\" operation\n1:1: parse error: set operations must always be many-to-many"},
		{"foo unless on(bar) group_right(baz) bar", "1:1: parse error: no grouping allowed for \"unless\" operation\n1:1: parse error: set operations must always be many-to-many"},
		{`http_requests{group="production"} + on(instance) group_left(job,instance) cpu_count{type="smp"}`, `1:35: parse error: label "instance" must not occur in ON and GROUP clause at once`},
		{"foo + bool bar", `1:5: parse error: bool modifier can only be used on comparison operators`},
		{"foo + bool 10", `1:5: parse error: bool modifier can only be used on comparison operators`},
		{"a </ bool b", `1:3: parse error: bool modifier can only be used on comparison operators`},
		{"a + fill(0) 1", `1:1: parse error: fill modifiers only allowed between instant vectors`},
		{"a or fill_right(0) b", `1:1: parse error: no fill modifiers allowed for "or" operation`},
		{`"a" + 1`, `1:1: parse error: binary expression must contain only scalar and instant vector types`},
		{`x[5m] * 2`, `1:1: parse error: binary expression must contain only scalar and instant vector types`},
		{`-"string"`, `1:1: parse error: unary expression only allowed on expressions of type scalar or instant vector, got "string"`},
		{`-x[5m]`, `1:1: parse error: unary expression only allowed on expressions of type scalar or instant vector, got "range vector"`},
		{"1[5m:]", `1:1: parse error: subquery is only allowed on instant vector, got scalar instead`},
		{"foo[5m:][5m:]", `1:1: parse error: subquery is only allowed on instant vector, got matrix instead`},
		{"{}", `1:1: parse error: vector selector must contain at least one non-empty matcher`},
		{`{x=""}`, `1:1: parse error: vector selector must contain at least one non-empty matcher`},
		{`{x=~".*"}`, `1:1: parse error: vector selector must contain at least one non-empty matcher`},
		{`{x!~".+"}`, `1:1: parse error: vector selector must contain at least one non-empty matcher`},
		{`{x!="a"}`, `1:1: parse error: vector selector must contain at least one non-empty matcher`},
		{`foo{__name__="bar"}`, `1:1: parse error: metric name must not be set twice: "foo" or "bar"`},
		{`foo{"bar"}`, `1:1: parse error: metric name must not be set twice: "foo" or "bar"`},
		{"topk(some_metric, other_metric)", `1:6: parse error: expected type scalar in aggregation parameter, got instant vector`},
		{"count_values(5, other_metric)", `1:14: parse error: expected type string in aggregation parameter, got scalar`},
		{"sum(rate(x[5m])[5m])", `1:16: parse error: ranges only allowed for vector selectors`},
		{"sum(x[5m])", `1:5: parse error: expected type instant vector in aggregation expression, got range vector`},
		{"floor()", `1:1: parse error: expected 1 argument(s) in call to "floor", got 0`},
		{"floor(some_metric, other_metric)", `1:1: parse error: expected 1 argument(s) in call to "floor", got 2`},
		{"floor(1)", `1:7: parse error: expected type instant vector in call to function "floor", got scalar`},
		{"hour(some_metric, some_metric, some_metric)", `1:1: parse error: expected at most 1 argument(s) in call to "hour", got 3`},
		{"label_join(x)", `1:1: parse error: expected at least 3 argument(s) in call to "label_join", got 1`},
		{`label_join(x, "a", "b", "c", 1)`, `1:30: parse error: expected type string in call to function "label_join", got scalar`},
		{"time(some_metric)", `1:1: parse error: expected 0 argument(s) in call to "time", got 1`},
		{"rate(some_metric)", `1:6: parse error: expected type range vector in call to function "rate", got instant vector`},
		{"rate(avg)", `1:6: parse error: expected type range vector in call to function "rate", got instant vector`},
		{`info(x, y)`, `1:9: parse error: expected label selectors only, got vector selector instead`},
		{`info(x, 1)`, `1:9: parse error: expected type instant vector in call to function "info", got scalar`},
		{`info(x, {})`, ``},
	} {
		_, err := ParseExpr(tc.in)
		switch {
		case tc.err == "" && err != nil:
			t.Errorf("ParseExpr(%q): unexpected error %v", tc.in, err)
		case tc.err != "" && err == nil:
			t.Errorf("ParseExpr(%q): no error, want %s", tc.in, tc.err)
		case err != nil && err.Error() != tc.err:
			t.Errorf("ParseExpr(%q):\n got %s\nwant %s", tc.in, err, tc.err)
		}
	}
}

func TestDeepNestingIsAnErrorNotACrash(t *testing.T) {
	deep := strings.Repeat("(", 20000) + "1" + strings.Repeat(")", 20000)
	_, err := ParseExpr(deep)
	if err == nil || !strings.HasSuffix(err.Error(), "parse error: expression nested too deeply") {
		t.Errorf("got %v", err)
	}
	// Moderate nesting is fine.
	mid := strings.Repeat("-(", 1000) + "x" + strings.Repeat(")", 1000)
	if _, err := ParseExpr(mid); err != nil {
		t.Error(err)
	}
}

func TestParseErrUnwrap(t *testing.T) {
	_, err := ParseExpr("1 +")
	var pe ParseErrors
	if !errors.As(err, &pe) || errors.Unwrap(&pe[0]) == nil || errors.Unwrap(&pe[0]).Error() != "unexpected end of input" {
		t.Errorf("got %#v", err)
	}
}
