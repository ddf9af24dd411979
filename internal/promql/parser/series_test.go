package parser

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/vigil-monitoring/vigil/internal/model/histogram"
	"github.com/vigil-monitoring/vigil/internal/model/value"
)

// seq renders float values compactly for comparison.
func seq(vals []SequenceValue) string {
	out := make([]string, len(vals))
	for i, v := range vals {
		out[i] = v.String()
	}
	return strings.Join(out, " ")
}

func TestParseSeriesDescFloats(t *testing.T) {
	for _, tc := range []struct{ in, labels, values string }{
		{`foo 1 2 3`, `{__name__="foo"}`, `1 2 3`},
		{`foo{a="b", c='d'} 1`, `{__name__="foo", a="b", c="d"}`, `1`},
		{`{__name__="x", "ü"="v"}  -1 +2`, `{__name__="x", "ü"="v"}`, `-1 2`},
		{`sum 1`, `{__name__="sum"}`, `1`},
		{`{"my.metric", "a b"="c"} 1`, `{__name__="my.metric", "a b"="c"}`, `1`},
		{`foo`, `{__name__="foo"}`, ``},
		{`1 2`, `{}`, `1 2`},
		{`{} 1`, `{}`, `1`},
		{`foo 0+10x5`, `{__name__="foo"}`, `0 10 20 30 40 50`},
		{`foo 10-2x3`, `{__name__="foo"}`, `10 8 6 4`},
		{`foo -1-1x2`, `{__name__="foo"}`, `-1 -2 -3`},
		{`foo 7x2`, `{__name__="foo"}`, `7 7 7`},
		{`foo _ _x3 1`, `{__name__="foo"}`, `_ _ _ _ 1`},
		{`foo stale 1 stale`, `{__name__="foo"}`, `stale 1 stale`},
		{`foo Inf -Inf NaN +inf`, `{__name__="foo"}`, `+Inf -Inf NaN +Inf`},
		{`foo 1e3 1.5e-1 .5 1E+2x1`, `{__name__="foo"}`, `1000 0.15 0.5 100 100`},
		{`foo 1m -30s 1ms 1h30m`, `{__name__="foo"}`, `60 -30 0.001 5400`},
		{`foo -30s-1mx2 0-1mx1 1ms-1mx1 -0msx1`, `{__name__="foo"}`, `-30 -90 -150 0 -60 0.001 -59.999 -0 0`},
		{`foo 1mx2`, `{__name__="foo"}`, `60 60 60`},
		// No hexadecimal: 0x5 repeats 0.
		{`foo 0x5`, `{__name__="foo"}`, `0 0 0 0 0 0`},
		{"foo\t1\t 2 ", `{__name__="foo"}`, `1 2`},
	} {
		ls, vals, err := ParseSeriesDesc(tc.in)
		if err != nil {
			t.Errorf("ParseSeriesDesc(%q): %v", tc.in, err)
			continue
		}
		if ls.String() != tc.labels || seq(vals) != tc.values {
			t.Errorf("ParseSeriesDesc(%q) = %s %s, want %s %s", tc.in, ls, seq(vals), tc.labels, tc.values)
		}
	}
	_, vals, _ := ParseSeriesDesc(`x stale`)
	if !value.IsStaleNaN(vals[0].Value) {
		t.Errorf("stale is %x, want the stale marker", math.Float64bits(vals[0].Value))
	}
}

func TestParseSeriesDescErrors(t *testing.T) {
	for _, tc := range []struct{ in, err string }{
		{`foo{a="b"}1`, `1:11: parse error: unexpected character in series values: '1'`},
		{`foo 1 x`, `1:7: parse error: unexpected identifier "x" in series values, expected number or "stale"`},
		{`foo 1x`, `1:7: parse error: unexpected end of input in series values, expected a repetition count`},
		{`foo 1+2`, `1:8: parse error: unexpected end of input in series values, expected "x" after an increment`},
		{`foo 1+`, `1:7: parse error: unexpected end of input in series values, expected number`},
		{`foo 1a`, `1:5: parse error: bad number or duration syntax: "1a"`},
		{`foo 1m1h`, `1:5: parse error: not a valid duration string: "1m1h"`},
		{`foo -stale`, `1:6: parse error: unexpected identifier "stale" in series values, expected number or "stale"`},
		{`foo 1,2`, `1:6: parse error: unexpected character in series values: ','`},
		{`foo _x99999999`, `1:15: parse error: too many repetitions in series values: 99999999`},
		{`foo{a=1} 1`, `1:7: parse error: unexpected character inside braces: '1'`},
		{`foo{a="b" 1`, `1:11: parse error: unexpected character inside braces: '1'`},
		{`foo {{schema:x}}`, `1:14: parse error: expected an integer in histogram description, got ""`},
		{`foo {{bogus:1}}`, `1:7: parse error: unknown histogram description key "bogus"`},
		{`foo {{sum}}`, `1:7: parse error: unexpected "}" in histogram description, expected histogram description key, e.g. buckets:[5 10 7]`},
		{`foo {{buckets:1}}`, `1:15: parse error: unexpected "1" in histogram description, expected "["`},
		{`foo {{buckets:[1,2]}}`, `1:17: parse error: unexpected "," in bucket list`},
		{`foo {{counter_reset_hint:maybe}}`, `1:26: parse error: error parsing counter_reset_hint: unknown value "maybe"`},
		{`foo {{sum:stale}}`, `1:11: parse error: stale is not allowed in a histogram description`},
		{`foo {{sum:1}}+{{sum:1}}`, `1:24: parse error: unexpected end of input in series values, expected "x" after a histogram increment`},
		{`foo {{schema:1}}+{{schema:0}}x1`, `1:30: parse error: error combining histograms: cannot merge from schema 0 to 1`},
		{`foo {{schema:-53 custom_values:[1]}}+{{schema:-53 custom_values:[2]}}x1`, `1:70: parse error: error combining histograms: cannot combine custom bucket histograms with different bounds`},
		{`foo {{schema:-53}}+{{schema:0}}x1`, `1:32: parse error: error combining histograms: cannot combine exponential and custom bucket histograms`},
	} {
		_, _, err := ParseSeriesDesc(tc.in)
		if err == nil || err.Error() != tc.err {
			t.Errorf("ParseSeriesDesc(%q):\n got %v\nwant %s", tc.in, err, tc.err)
		}
	}
}

// hist renders a histogram with all its fields for comparison.
func hist(h *histogram.FloatHistogram) string {
	return fmt.Sprintf("schema=%d hint=%s count=%g sum=%g zc=%g zt=%g pos=%v%v neg=%v%v cv=%v",
		h.Schema, h.CounterResetHint, h.Count, h.Sum, h.ZeroCount, h.ZeroThreshold,
		h.PositiveSpans, h.PositiveBuckets, h.NegativeSpans, h.NegativeBuckets, h.CustomValues)
}

func TestParseSeriesDescHistograms(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{`h {{}}`, []string{`schema=0 hint=unknown count=0 sum=0 zc=0 zt=0 pos=[][] neg=[][] cv=[]`}},
		{`h {{schema:1 sum:-5.5 count:4 z_bucket:1 z_bucket_w:0.001 buckets:[1 2] offset:-1 n_buckets:[3] n_offset:2 counter_reset_hint:gauge}}`,
			[]string{`schema=1 hint=gauge count=4 sum=-5.5 zc=1 zt=0.001 pos=[{-1 2}][1 2] neg=[{2 1}][3] cv=[]`}},
		{`h {{schema:-53 custom_values:[5 10] buckets:[1 2 3] counter_reset_hint:not_reset}}`,
			[]string{`schema=-53 hint=not_reset count=0 sum=0 zc=0 zt=0 pos=[{0 3}][1 2 3] neg=[][] cv=[5 10]`}},
		{`h {{sum:1 counter_reset_hint:reset}}x2`, []string{
			`schema=0 hint=reset count=0 sum=1 zc=0 zt=0 pos=[][] neg=[][] cv=[]`,
			`schema=0 hint=reset count=0 sum=1 zc=0 zt=0 pos=[][] neg=[][] cv=[]`,
			`schema=0 hint=reset count=0 sum=1 zc=0 zt=0 pos=[][] neg=[][] cv=[]`,
		}},
		// Increments add bucket-wise, merging layouts.
		{`h {{count:1 sum:1 buckets:[1] offset:1}}+{{count:2 sum:3 buckets:[1 1] offset:2}}x2`, []string{
			`schema=0 hint=unknown count=1 sum=1 zc=0 zt=0 pos=[{1 1}][1] neg=[][] cv=[]`,
			`schema=0 hint=unknown count=3 sum=4 zc=0 zt=0 pos=[{1 3}][1 1 1] neg=[][] cv=[]`,
			`schema=0 hint=unknown count=5 sum=7 zc=0 zt=0 pos=[{1 3}][1 2 2] neg=[][] cv=[]`,
		}},
		{`h {{buckets:[1] offset:-2}}+{{buckets:[1] offset:2}}x1`, []string{
			`schema=0 hint=unknown count=0 sum=0 zc=0 zt=0 pos=[{-2 1}][1] neg=[][] cv=[]`,
			`schema=0 hint=unknown count=0 sum=0 zc=0 zt=0 pos=[{-2 1} {3 1}][1 1] neg=[][] cv=[]`,
		}},
		// A finer increment is reduced to the base's schema: buckets 1
		// and 2 of schema 0 are bucket 1 of schema -1.
		{`low_res {{schema:-1 sum:4 count:1 buckets:[1] offset:1}}+{{schema:0 sum:4 count:4 buckets:[2 2] offset:1}}x1`, []string{
			`schema=-1 hint=unknown count=1 sum=4 zc=0 zt=0 pos=[{1 1}][1] neg=[][] cv=[]`,
			`schema=-1 hint=unknown count=5 sum=8 zc=0 zt=0 pos=[{1 1}][5] neg=[][] cv=[]`,
		}},
		{`h {{schema:0 count:4 buckets:[4] counter_reset_hint:gauge}}-{{count:1 buckets:[1] n_buckets:[1] counter_reset_hint:gauge}}x1`, []string{
			`schema=0 hint=gauge count=4 sum=0 zc=0 zt=0 pos=[{0 1}][4] neg=[][] cv=[]`,
			`schema=0 hint=gauge count=3 sum=0 zc=0 zt=0 pos=[{0 1}][3] neg=[{0 1}][-1] cv=[]`,
		}},
		// A wider zero bucket absorbs the buckets below its threshold:
		// bucket 0 of schema 0 is (0.5, 1].
		{`h {{z_bucket_w:0.001 buckets:[1 1] offset:0}}+{{z_bucket_w:1 z_bucket:2}}x1`, []string{
			`schema=0 hint=unknown count=0 sum=0 zc=0 zt=0.001 pos=[{0 2}][1 1] neg=[][] cv=[]`,
			`schema=0 hint=unknown count=0 sum=0 zc=3 zt=1 pos=[{1 1}][1] neg=[][] cv=[]`,
		}},
		{`h {{schema:-53 custom_values:[1 2] buckets:[1 0 1]}}+{{schema:-53 custom_values:[1 2] buckets:[1 1 1] counter_reset_hint:gauge}}x1`, []string{
			`schema=-53 hint=unknown count=0 sum=0 zc=0 zt=0 pos=[{0 3}][1 0 1] neg=[][] cv=[1 2]`,
			`schema=-53 hint=gauge count=0 sum=0 zc=0 zt=0 pos=[{0 3}][2 1 2] neg=[][] cv=[1 2]`,
		}},
		{`m {{schema:0 sum:5}} 1 _ {{sum:6}}x1`, []string{
			`schema=0 hint=unknown count=0 sum=5 zc=0 zt=0 pos=[][] neg=[][] cv=[]`,
			`float 1`, `_`,
			`schema=0 hint=unknown count=0 sum=6 zc=0 zt=0 pos=[][] neg=[][] cv=[]`,
			`schema=0 hint=unknown count=0 sum=6 zc=0 zt=0 pos=[][] neg=[][] cv=[]`,
		}},
	} {
		_, vals, err := ParseSeriesDesc(tc.in)
		if err != nil {
			t.Errorf("ParseSeriesDesc(%q): %v", tc.in, err)
			continue
		}
		var got []string
		for _, v := range vals {
			switch {
			case v.Omitted:
				got = append(got, "_")
			case v.Histogram == nil:
				got = append(got, fmt.Sprintf("float %g", v.Value))
			default:
				got = append(got, hist(v.Histogram))
			}
		}
		if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
			t.Errorf("ParseSeriesDesc(%q):\n got %s\nwant %s", tc.in, strings.Join(got, "\n     "), strings.Join(tc.want, "\n     "))
		}
	}
	// Repeated histograms are distinct values, so a consumer may modify
	// one without affecting the others.
	_, vals, _ := ParseSeriesDesc(`h {{buckets:[1]}}x1`)
	vals[1].Histogram.PositiveBuckets[0] = 9
	if vals[0].Histogram.PositiveBuckets[0] != 1 {
		t.Error("repetitions share their buckets")
	}
}
