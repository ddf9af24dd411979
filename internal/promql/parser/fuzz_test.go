package parser

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fuzzSeeds are queries covering every construct; the fuzzer mutates them.
var fuzzSeeds = []string{
	`sum by (job) (rate(http_requests_total{job="api", code=~"5.."}[5m] offset 1h))`,
	`histogram_quantile(0.9, sum by (le) (rate(x_bucket[5m])))`,
	`a + on(b) group_left(c) fill_left(0) fill_right(-Inf) d`,
	`foo == bool ignoring(x) group_right bar`,
	`topk(3, x) or bottomk by (a) (2, y) unless z and w`,
	`count_values without () ("v", x)`,
	`-2 ^ -3 ^ 2 * 4 % 5 atan2 6`,
	`{"my.metric", "ü"=~"a|b", c!~''} @ start() offset -1m30s`,
	`rate(x[5m+1m:step()*2] @ 1609746000.123 offset (1h*2))`,
	`x offset -min_of(step(), 1s)^0`,
	`increase(x[1m] anchored) + delta(y[1m] smoothed)`,
	`label_replace(up, "a", "$1", "b", "(.*)") # comment`,
	"`raw\nstring` + \"\\x41\\u00e9\\U0001F600\\101\"",
	`0x1f + 1e-3 + .5 + Inf - NaN + 1h30m`,
	`info(x, {data=~".+"}) </ 1 >/ 2`,
	`sum(x)[1h:] @ end()`,
	`max_of(step(), range()) + start() - end()`,
}

// addCorpusSeeds adds the queries of the conformance scripts, when the
// corpus is present, as further seeds.
func addCorpusSeeds(f *testing.F) {
	wd, err := os.Getwd()
	if err != nil {
		return
	}
	dir := filepath.Join(wd, "..", "..", "..", "..", "shared", "conformance", "promql")
	files, _ := filepath.Glob(filepath.Join(dir, "*.test"))
	for _, path := range files {
		data, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(data), "\n") {
			line = strings.TrimSpace(line)
			if m := evalInstantRE.FindStringSubmatch(line); m != nil {
				f.Add(m[1])
			} else if m := evalRangeRE.FindStringSubmatch(line); m != nil {
				f.Add(m[1])
			}
		}
	}
}

// FuzzParseExpr checks that parsing never panics, that a parsed expression
// prints to text that parses to the same tree and prints the same again,
// and that the pretty form parses to the same tree.
func FuzzParseExpr(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	addCorpusSeeds(f)
	f.Fuzz(func(t *testing.T, in string) {
		e, err := ParseExpr(in)
		if err != nil {
			if e != nil {
				t.Fatalf("ParseExpr(%q) returned both an expression and an error", in)
			}
			_ = err.Error()
			return
		}
		if msg := roundTrip(e); msg != "" {
			t.Fatalf("ParseExpr(%q): %s", in, msg)
		}
	})
}

// FuzzParseSeriesDesc checks that the series notation parser never panics
// and that what it accepts has consistent histograms.
func FuzzParseSeriesDesc(f *testing.F) {
	for _, s := range []string{
		`foo{a="b"} 1 2+3x4 _ _x2 stale -1m 1e3 Inf NaN`,
		`{__name__="x"} {{schema:0 sum:5 count:4 z_bucket:1 z_bucket_w:0.001 buckets:[1 2] offset:1 n_buckets:[1] n_offset:-1 counter_reset_hint:gauge}}x3`,
		`h {{schema:-1 buckets:[1] offset:1}}+{{schema:0 buckets:[2 2] offset:1 z_bucket_w:1}}x2`,
		`c {{schema:-53 custom_values:[1 2] buckets:[1 2 3]}}-{{schema:-53 custom_values:[1 2] buckets:[1]}}x1`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		_, vals, err := ParseSeriesDesc(in)
		if err != nil {
			_ = err.Error()
			return
		}
		for _, v := range vals {
			h := v.Histogram
			if h == nil {
				continue
			}
			n := 0
			for _, s := range h.PositiveSpans {
				n += int(s.Length)
			}
			if n != len(h.PositiveBuckets) {
				t.Fatalf("%q: positive spans cover %d buckets, have %d", in, n, len(h.PositiveBuckets))
			}
		}
	})
}
