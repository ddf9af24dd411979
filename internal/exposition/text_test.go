package exposition

import (
	"math"
	"strings"
	"testing"

	"github.com/vigil-monitoring/vigil/internal/model/labels"
)

func TestTextParser(t *testing.T) {
	input := `# HELP go_gc_duration_seconds A summary of the GC invocation durations.
# 	TYPE go_gc_duration_seconds summary
go_gc_duration_seconds{quantile="0"} 4.9351e-05
go_gc_duration_seconds{quantile="0.25",} 7.424100000000001e-05
go_gc_duration_seconds{ quantile = "1" } 0.0016
go_gc_duration_seconds_sum 0.004
go_gc_duration_seconds_count 7

# Hash comment, then a blank line above.
#no space is a comment too
# TYPE http_requests counter
http_requests{method="post",code="200"} 1027 1395066363000
http_requests{method="post" code="400"}    3   1395066363000
  indented_untyped 1.5
# HELP esc help with \\ backslash, \n newline and \"quote
esc{a="x\"y\\z\nw",b="\t\q"} -Inf
spellings{v="nan"} nan
spellings{v="inf"} inf
spellings{v="+Infinity"} +Infinity
spellings{v="-1e3"} -1E3
{"my.metric","my.label"="v",plain="p"} 1
{"quoted_only"} 2
name_then_space {a="b"} 3
"name.in.help"
# TYPE hist histogram
hist_bucket{le="1"} 1
hist_bucket{le="2.50"} 2
hist_bucket{le="1e1"} 3
hist_bucket{le="+Inf"} 4
hist_bucket{le="junk"} 4
not_hist_bucket{le="7"} 1
# TYPE g gauge
g_bucket{le="1"} 1
neg_ts 1 -5
last_no_newline 0`
	input = strings.Replace(input, `"name.in.help"`+"\n", "", 1)
	p := NewTextParser([]byte(input), Options{})
	entries, err := collect(p)
	if err != nil {
		t.Fatal(err)
	}
	want := []got{
		help("go_gc_duration_seconds", "A summary of the GC invocation durations."),
		typ("go_gc_duration_seconds", MetricTypeSummary),
		sample(`go_gc_duration_seconds{quantile="0"}`, 4.9351e-05, "__name__", "go_gc_duration_seconds", "quantile", "0.0"),
		sample(`go_gc_duration_seconds{quantile="0.25",}`, 7.424100000000001e-05, "__name__", "go_gc_duration_seconds", "quantile", "0.25"),
		sample(`go_gc_duration_seconds{ quantile = "1" }`, 0.0016, "__name__", "go_gc_duration_seconds", "quantile", "1.0"),
		sample(`go_gc_duration_seconds_sum`, 0.004, "__name__", "go_gc_duration_seconds_sum"),
		sample(`go_gc_duration_seconds_count`, 7, "__name__", "go_gc_duration_seconds_count"),
		comment("# Hash comment, then a blank line above."),
		comment("#no space is a comment too"),
		typ("http_requests", MetricTypeCounter),
		sample(`http_requests{method="post",code="200"}`, 1027, "__name__", "http_requests", "method", "post", "code", "200").at(1395066363000),
		sample(`http_requests{method="post" code="400"}`, 3, "__name__", "http_requests", "method", "post", "code", "400").at(1395066363000),
		sample(`indented_untyped`, 1.5, "__name__", "indented_untyped"),
		help("esc", "help with \\ backslash, \n newline and \\\"quote"),
		sample(`esc{a="x\"y\\z\nw",b="\t\q"}`, math.Inf(-1), "__name__", "esc", "a", "x\"y\\z\nw", "b", `\t\q`),
		sample(`spellings{v="nan"}`, math.NaN(), "__name__", "spellings", "v", "nan"),
		sample(`spellings{v="inf"}`, math.Inf(1), "__name__", "spellings", "v", "inf"),
		sample(`spellings{v="+Infinity"}`, math.Inf(1), "__name__", "spellings", "v", "+Infinity"),
		sample(`spellings{v="-1e3"}`, -1000, "__name__", "spellings", "v", "-1e3"),
		sample(`{"my.metric","my.label"="v",plain="p"}`, 1, "__name__", "my.metric", "my.label", "v", "plain", "p"),
		sample(`{"quoted_only"}`, 2, "__name__", "quoted_only"),
		sample(`name_then_space {a="b"}`, 3, "__name__", "name_then_space", "a", "b"),
		typ("hist", MetricTypeHistogram),
		sample(`hist_bucket{le="1"}`, 1, "__name__", "hist_bucket", "le", "1.0"),
		sample(`hist_bucket{le="2.50"}`, 2, "__name__", "hist_bucket", "le", "2.5"),
		sample(`hist_bucket{le="1e1"}`, 3, "__name__", "hist_bucket", "le", "10.0"),
		sample(`hist_bucket{le="+Inf"}`, 4, "__name__", "hist_bucket", "le", "+Inf"),
		sample(`hist_bucket{le="junk"}`, 4, "__name__", "hist_bucket", "le", "junk"),
		// Prometheus normalises by the latest TYPE, whatever the name.
		sample(`not_hist_bucket{le="7"}`, 1, "__name__", "not_hist_bucket", "le", "7.0"),
		typ("g", MetricTypeGauge),
		sample(`g_bucket{le="1"}`, 1, "__name__", "g_bucket", "le", "1"),
		sample(`neg_ts`, 1, "__name__", "neg_ts").at(-5),
		sample(`last_no_newline`, 0, "__name__", "last_no_newline"),
	}
	checkEntries(t, entries, want)
}

func TestTextParserMisc(t *testing.T) {
	cases := []struct {
		name, in string
		want     []got
	}{
		{"crlf", "# TYPE a gauge\r\na{b=\"c\"} 1 2\r\n\r\n# c\r\n", []got{
			typ("a", MetricTypeGauge),
			sample(`a{b="c"}`, 1, "__name__", "a", "b", "c").at(2),
			comment("# c"),
		}},
		{"untyped and utf8 help", "# HELP \"a.b\" h\u00e9lp\n# TYPE \"a.b\" untyped\n", []got{
			help("a.b", "h\u00e9lp"),
			typ("a.b", MetricTypeUnknown),
		}},
		{"help keeps extra blanks", "# HELP a   spaced  \n# HELP b\n", []got{
			help("a", "  spaced  "),
			help("b", ""),
		}},
		{"type with blanks", "# TYPE a  counter \n", []got{typ("a", MetricTypeCounter)}},
		{"HELP without blank is a comment", "# HELP\n# HELPx a b\n", []got{
			comment("# HELP"),
			comment("# HELPx a b"),
		}},
		{"nul ends the body", "a 1\n\x00garbage\n", []got{sample("a", 1, "__name__", "a")}},
		{"raw newline in a label value", "a{b=\"x\ny\"} 1\nc 2\n", []got{
			sample("a{b=\"x\ny\"}", 1, "__name__", "a", "b", "x\ny"),
			sample("c", 2, "__name__", "c"),
		}},
		{"empty", "", nil},
		{"only blank lines", "\n \n\t\n", nil},
		{"escaped quoted name", `{"a\"b",c="d"} 1`, []got{sample(`{"a\"b",c="d"}`, 1, "__name__", `a"b`, "c", "d")}},
		{"quoted label name escaped", `a{"x\\y"="1"} 1`, []got{sample(`a{"x\\y"="1"}`, 1, "__name__", "a", `x\y`, "1")}},
		{"duplicate labels lenient, last wins", `a{b="1",b="2"} 1`, []got{sample(`a{b="1",b="2"}`, 1, "__name__", "a", "b", "2")}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			entries, err := collect(NewTextParser([]byte(c.in), Options{}))
			if err != nil {
				t.Fatal(err)
			}
			checkEntries(t, entries, c.want)
		})
	}
}

func TestTextParserErrors(t *testing.T) {
	cases := []struct {
		in, want string
		strict   bool
	}{
		{"a 1\nb{c=} 1\n", `line 2: expected label value, got "}"`, false},
		{"a{c=\"1\"", `line 1: expected label name or '}', got end of input`, false},
		{"\n\na 1 2 3\n", `line 3: expected end of line after sample, got "3"`, false},
		{"a\n", `line 1: expected value after metric, got "\n"`, false},
		{"a 1x\n", `line 1: invalid value "1x"`, false},
		{"a 0x1p3\n", `line 1: invalid value "0x1p3"`, false},
		{"a 1_000\n", `line 1: invalid value "1_000"`, false},
		{"a 1 1.5\n", `line 1: invalid timestamp "1.5"`, false},
		{"# TYPE a foo\n", `line 1: invalid metric type "foo"`, false},
		{"# TYPE a\n", `line 1: invalid metric type ""`, false},
		{"# HELP \n", `line 1: expected metric name after HELP, got "\n"`, false},
		{"# HELP a \xff\n", `line 1: help text "\xff" is not valid UTF-8`, false},
		{"a{b=\"\xff\"} 1\n", `line 1: label value "\xff" is not valid UTF-8`, false},
		{"a{b=\"\\\xeb\"} 1\n", `line 1: label value "\\\xeb" is not valid UTF-8`, false},
		{"{b=\"c\"} 1\n", `line 1: no metric name in series "{b=\"c\"}"`, false},
		{"{\"a\",\"b\"} 1\n", `line 1: metric name given twice in "{\"a\",\"b\"}"`, false},
		{"a{b c} 1\n", `line 1: expected '=' after label name, got "c"`, false},
		{"a{b=\"c\"}{d=\"e\"} 1\n", `line 1: expected value after metric, got "{"`, false},
		{"a{,} 1\n", `line 1: expected label name, got ","`, false},
		{"-a 1\n", `line 1: expected a metric name, '{' or '#', got "-a"`, false},
		{"a{b=\"1\",b=\"2\"} 1\n", `line 1: duplicate label name "b"`, true},
		{"a{b=\"x\ny\",b=\"2\"} 1\n", `line 2: duplicate label name "b"`, true},
	}
	for _, c := range cases {
		p := NewTextParser([]byte(c.in), Options{Strict: c.strict})
		_, err := collect(p)
		if err == nil || err.Error() != c.want {
			t.Errorf("%q: got error %v, want %s", c.in, err, c.want)
			continue
		}
		// The parser stays failed.
		if _, err2 := p.Next(); err2 != err {
			t.Errorf("%q: Next after an error returned %v, want the same error", c.in, err2)
		}
	}
}

// TestParsersNoAllocs checks that walking a body and reading every
// sample's series, timestamp and value allocates nothing but the parser:
// the scrape path when the series cache hits.
func TestParsersNoAllocs(t *testing.T) {
	text := GenerateNodeExporterPayload(64 << 10)
	om := openMetricsFromText(t, text)
	for _, c := range []struct {
		name string
		mk   func() Parser
	}{
		{"text", func() Parser { return NewTextParser(text, Options{}) }},
		{"openmetrics", func() Parser { return NewOpenMetricsParser(om, Options{}) }},
		{"openmetrics skipping _created", func() Parser { return NewOpenMetricsParser(om, Options{SkipCreatedSeries: true}) }},
	} {
		samples := 0
		allocs := testing.AllocsPerRun(20, func() {
			p := c.mk()
			samples = 0
			for {
				e, err := p.Next()
				if err != nil {
					break
				}
				if e == EntrySeries {
					p.Series()
					samples++
				}
			}
		})
		if samples < 100 {
			t.Fatalf("%s: only %d samples", c.name, samples)
		}
		if allocs > 1 {
			t.Errorf("%s: parsing %d samples took %v allocations, want 1 (the parser)", c.name, samples, allocs)
		}

		// Filling a reused builder for every sample adds only the
		// parser's scratch buffer for normalised le values.
		var sb labels.ScratchBuilder
		allocs = testing.AllocsPerRun(20, func() {
			p := c.mk()
			for {
				e, err := p.Next()
				if err != nil {
					break
				}
				if e == EntrySeries {
					p.Labels(&sb)
				}
			}
		})
		if allocs > 3 {
			t.Errorf("%s: filling labels for %d samples took %v allocations, want at most 3", c.name, samples, allocs)
		}
	}
}
