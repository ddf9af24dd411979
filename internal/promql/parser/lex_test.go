package parser

import (
	"fmt"
	"strings"
	"testing"
)

// tokens renders the items of an input as "TYPE:text" for comparison.
func tokens(in string) string {
	var out []string
	for _, it := range lex(in) {
		name := it.Typ.String()
		switch it.Typ {
		case EOF:
			name = "EOF"
		case ERROR:
			name = "ERROR"
		case IDENTIFIER:
			name = "ID"
		case METRIC_IDENTIFIER:
			name = "MID"
		case STRING:
			name = "STR"
		case NUMBER:
			name = "NUM"
		case DURATION:
			name = "DUR"
		}
		out = append(out, fmt.Sprintf("%s:%s@%d", name, it.Val, it.Pos))
	}
	return strings.Join(out, " ")
}

func TestLexer(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`foo`, `ID:foo@0 EOF:@3`},
		{`a:b:c`, `MID:a:b:c@0 EOF:@5`},
		{`:a`, `MID::a@0 EOF:@2`},
		{` sum  BY`, `sum:sum@1 by:BY@6 EOF:@8`},
		{`1 .5 5. 1e3 1E-3 0x1aF Inf nan`, `NUM:1@0 NUM:.5@2 NUM:5.@5 NUM:1e3@8 NUM:1E-3@12 NUM:0x1aF@17 NUM:Inf@23 NUM:nan@27 EOF:@30`},
		{`5m 1h30m 10ms 1y`, `DUR:5m@0 DUR:1h30m@3 DUR:10ms@9 DUR:1y@14 EOF:@16`},
		{`+ - * / % ^ == != < <= > >= =~ @ </ >/`, `+:+@0 -:-@2 *:*@4 /:/@6 %:%@8 ^:^@10 ==:==@12 !=:!=@15 <:<@18 <=:<=@20 >:>@23 >=:>=@25 =~:=~@28 @:@@31 </:</@33 >/:>/@36 EOF:@38`},
		{`and or unless atan2`, `and:and@0 or:or@4 unless:unless@7 atan2:atan2@14 EOF:@19`},
		{`{a="b",c!~'d'}`, "{:{@0 ID:a@1 =:=@2 STR:\"b\"@3 ,:,@6 ID:c@7 !~:!~@8 STR:'d'@10 }:}@13 EOF:@14"},
		// Keywords are plain names inside braces.
		{`{by=~"x"}`, "{:{@0 ID:by@1 =~:=~@3 STR:\"x\"@5 }:}@8 EOF:@9"},
		{"x[5m:1m]", `ID:x@0 [:[@1 DUR:5m@2 :::@4 DUR:1m@5 ]:]@7 EOF:@8`},
		{"x[step():]", `ID:x@0 [:[@1 ID:step@2 (:(@6 ):)@7 :::@8 ]:]@9 EOF:@10`},
		// fill is a keyword only before a parenthesis.
		{`fill fill(0) fill_left (1)`, `ID:fill@0 fill:fill@5 (:(@9 NUM:0@10 ):)@11 fill_left:fill_left@13 (:(@23 NUM:1@24 ):)@25 EOF:@26`},
		{"# c\nx # d", `ID:x@4 EOF:@9`},
		{"`a\nb`", "STR:`a\nb`@0 EOF:@5"},
		{`"a\"b"`, `STR:"a\"b"@0 EOF:@6`},
		{`x offset -5m`, `ID:x@0 offset:offset@2 -:-@9 DUR:5m@10 EOF:@12`},
		// Errors end the item list.
		{`5mm`, `ERROR:bad number or duration syntax: "5mm"@0`},
		{`foo(`, `ID:foo@0 (:(@3 ERROR:unclosed left parenthesis@4`},
		{`x !~ y`, `ID:x@0 ERROR:unexpected character after '!': '~'@2`},
		{`"a`, `ERROR:unterminated quoted string@0`},
	} {
		if got := tokens(tc.in); got != tc.want {
			t.Errorf("lex(%q):\n got %s\nwant %s", tc.in, got, tc.want)
		}
	}
}

func TestItemDescriptions(t *testing.T) {
	for _, tc := range []struct {
		it   Item
		want string
	}{
		{Item{Typ: EOF}, "end of input"},
		{Item{Typ: IDENTIFIER, Val: "foo"}, `identifier "foo"`},
		{Item{Typ: METRIC_IDENTIFIER, Val: "a:b"}, `metric identifier "a:b"`},
		{Item{Typ: NUMBER, Val: "1"}, `number "1"`},
		{Item{Typ: DURATION, Val: "5m"}, `duration "5m"`},
		{Item{Typ: STRING, Val: `"a"`}, `string "\"a\""`},
		{Item{Typ: STRING, Val: `"a long string value"`}, `string "\"a long st"...`},
		{Item{Typ: BY, Val: "by"}, `<by>`},
		{Item{Typ: ADD, Val: "+"}, `<op:+>`},
		{Item{Typ: SUM, Val: "sum"}, `<aggr:sum>`},
		{Item{Typ: LEFT_PAREN, Val: "("}, `"("`},
	} {
		if got := tc.it.desc(); got != tc.want {
			t.Errorf("desc(%+v) = %s, want %s", tc.it, got, tc.want)
		}
	}
}

func TestItemTypeClasses(t *testing.T) {
	for _, op := range []ItemType{ADD, SUB, MUL, DIV, MOD, POW, ATAN2, EQLC, NEQ, LTE, LSS, GTE, GTR, LAND, LOR, LUNLESS, TRIM_UPPER, TRIM_LOWER} {
		if !op.IsOperator() || op.Precedence() == LowestPrec {
			t.Errorf("%s: operator %v, precedence %d", op, op.IsOperator(), op.Precedence())
		}
	}
	for _, op := range []ItemType{SUM, AVG, COUNT, MIN, MAX, GROUP, STDDEV, STDVAR, TOPK, BOTTOMK, QUANTILE, COUNT_VALUES, LIMITK, LIMIT_RATIO} {
		if !op.IsAggregator() {
			t.Errorf("%s is not an aggregator", op)
		}
	}
	if !TOPK.IsAggregatorWithParam() || SUM.IsAggregatorWithParam() {
		t.Error("IsAggregatorWithParam")
	}
	if !LSS.IsComparisonOperator() || TRIM_UPPER.IsComparisonOperator() || !LUNLESS.IsSetOperator() || ADD.IsSetOperator() {
		t.Error("operator classes")
	}
	if !POW.IsRightAssociative() || MUL.IsRightAssociative() {
		t.Error("associativity")
	}
}

func TestUnquoteString(t *testing.T) {
	for in, want := range map[string]string{
		`"plain"`:            "plain",
		`'single \' quote'`:  "single ' quote",
		`"\\\""`:             `\"`,
		`"\000\101\177"`:     "\x00A\x7f",
		`"\x41\xe9"`:         "A\xe9",
		`"\u00e9\U0001f600"`: "é😀",
		"`raw \\n`":          `raw \n`,
		`""`:                 "",
	} {
		if got := unquoteString(in); got != want {
			t.Errorf("unquoteString(%s) = %q, want %q", in, got, want)
		}
	}
}
