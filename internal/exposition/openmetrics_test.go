package exposition

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"
)

const omExample = `# HELP http_requests Requests, "quoted" \\ and \n escaped.
# TYPE http_requests counter
# UNIT http_requests requests
http_requests_total{code="200"} 1027 1520879607.789 # {trace_id="KOO5S4vxi0o"} 0.67 1520879602.5
http_requests_created{code="200"} 1520430000.123
http_requests_total{code="400"} 3
http_requests_created{code="400"} 1520430001
# TYPE lat histogram
lat_bucket{path="/",le="0.5"} 1 # {trace_id="a"} 0.3
lat_bucket{path="/",le="1"} 2
lat_bucket{path="/",le="+Inf"} 3
lat_count{path="/"} 3
lat_sum{path="/"} 2.5
lat_created{path="/"} 1000.5
lat_bucket{path="/x",le="+Inf"} 1
lat_count{path="/x"} 1
lat_sum{path="/x"} 1
# TYPE rpc summary
rpc{quantile="0.5"} 0.7
rpc{quantile="1"} 0.8
rpc_sum 2
rpc_count 1
rpc_created 2
# TYPE q gaugehistogram
q_bucket{le="-1"} 1
q_bucket{le="+Inf"} 3
q_gcount 3
q_gsum -5
# TYPE build info
build_info{version="1.2\"3"} 1
# TYPE state stateset
state{state="a"} 1
state{state="b"} 0
{"utf8.metric","utf8.label"="v"} 1
no_meta 0000042 -1.5
# EOF
`

func TestOpenMetricsParser(t *testing.T) {
	created := []got{
		help("http_requests", "Requests, \"quoted\" \\ and \n escaped."),
		typ("http_requests", MetricTypeCounter),
		unit("http_requests", "requests"),
		sample(`http_requests_total{code="200"}`, 1027, "__name__", "http_requests_total", "code", "200").at(1520879607789).created(1520430000123).
			withEx(`{trace_id="KOO5S4vxi0o"} 0.67 @1520879602500`),
		sample(`http_requests_created{code="200"}`, 1520430000.123, "__name__", "http_requests_created", "code", "200"),
		sample(`http_requests_total{code="400"}`, 3, "__name__", "http_requests_total", "code", "400").created(1520430001000),
		sample(`http_requests_created{code="400"}`, 1520430001, "__name__", "http_requests_created", "code", "400"),
		typ("lat", MetricTypeHistogram),
		sample(`lat_bucket{path="/",le="0.5"}`, 1, "__name__", "lat_bucket", "path", "/", "le", "0.5").created(1000500).withEx(`{trace_id="a"} 0.3`),
		sample(`lat_bucket{path="/",le="1"}`, 2, "__name__", "lat_bucket", "path", "/", "le", "1.0").created(1000500),
		sample(`lat_bucket{path="/",le="+Inf"}`, 3, "__name__", "lat_bucket", "path", "/", "le", "+Inf").created(1000500),
		sample(`lat_count{path="/"}`, 3, "__name__", "lat_count", "path", "/").created(1000500),
		sample(`lat_sum{path="/"}`, 2.5, "__name__", "lat_sum", "path", "/").created(1000500),
		sample(`lat_created{path="/"}`, 1000.5, "__name__", "lat_created", "path", "/"),
		sample(`lat_bucket{path="/x",le="+Inf"}`, 1, "__name__", "lat_bucket", "path", "/x", "le", "+Inf"),
		sample(`lat_count{path="/x"}`, 1, "__name__", "lat_count", "path", "/x"),
		sample(`lat_sum{path="/x"}`, 1, "__name__", "lat_sum", "path", "/x"),
		typ("rpc", MetricTypeSummary),
		sample(`rpc{quantile="0.5"}`, 0.7, "__name__", "rpc", "quantile", "0.5").created(2000),
		sample(`rpc{quantile="1"}`, 0.8, "__name__", "rpc", "quantile", "1.0").created(2000),
		sample(`rpc_sum`, 2, "__name__", "rpc_sum").created(2000),
		sample(`rpc_count`, 1, "__name__", "rpc_count").created(2000),
		sample(`rpc_created`, 2, "__name__", "rpc_created"),
		typ("q", MetricTypeGaugeHistogram),
		sample(`q_bucket{le="-1"}`, 1, "__name__", "q_bucket", "le", "-1"),
		sample(`q_bucket{le="+Inf"}`, 3, "__name__", "q_bucket", "le", "+Inf"),
		sample(`q_gcount`, 3, "__name__", "q_gcount"),
		sample(`q_gsum`, -5, "__name__", "q_gsum"),
		typ("build", MetricTypeInfo),
		sample(`build_info{version="1.2\"3"}`, 1, "__name__", "build_info", "version", `1.2"3`),
		typ("state", MetricTypeStateset),
		sample(`state{state="a"}`, 1, "__name__", "state", "state", "a"),
		sample(`state{state="b"}`, 0, "__name__", "state", "state", "b"),
		sample(`{"utf8.metric","utf8.label"="v"}`, 1, "__name__", "utf8.metric", "utf8.label", "v"),
		sample(`no_meta`, 42, "__name__", "no_meta").at(-1500),
	}
	entries, err := collect(NewOpenMetricsParser([]byte(omExample), Options{}))
	if err != nil {
		t.Fatal(err)
	}
	checkEntries(t, entries, created)

	var skipped []got
	for _, g := range created {
		if g.kind == EntrySeries && strings.Contains(g.series, "_created") {
			continue
		}
		skipped = append(skipped, g)
	}
	entries, err = collect(NewOpenMetricsParser([]byte(omExample), Options{SkipCreatedSeries: true}))
	if err != nil {
		t.Fatal(err)
	}
	checkEntries(t, entries, skipped)
}

func TestOpenMetricsCreatedTimestamp(t *testing.T) {
	cases := []struct {
		name, in string
		want     []got
	}{
		{"no created lines", "# TYPE a counter\na_total{x=\"1\"} 1\na_total{x=\"2\"} 2\n# EOF\n", []got{
			typ("a", MetricTypeCounter),
			sample(`a_total{x="1"}`, 1, "__name__", "a_total", "x", "1"),
			sample(`a_total{x="2"}`, 2, "__name__", "a_total", "x", "2"),
		}},
		{"created of another series comes first", "# TYPE a counter\na_total{x=\"1\"} 1\na_created{x=\"2\"} 5\n# EOF\n", []got{
			typ("a", MetricTypeCounter),
			sample(`a_total{x="1"}`, 1, "__name__", "a_total", "x", "1"),
		}},
		{"gauge has none", "# TYPE a gauge\na 1\na_created 5\n# EOF\n", []got{
			typ("a", MetricTypeGauge),
			sample(`a`, 1, "__name__", "a"),
			sample(`a_created`, 5, "__name__", "a_created"),
		}},
		{"stops at the next family", "# TYPE a counter\na_total 1\nb_total 1\na_created 5\n# EOF\n", []got{
			typ("a", MetricTypeCounter),
			sample(`a_total`, 1, "__name__", "a_total"),
			sample(`b_total`, 1, "__name__", "b_total"),
		}},
		{"the first created line decides", "# TYPE a counter\na_total{x=\"1\"} 1\na_total{x=\"2\"} 2\na_created{x=\"1\"} 5\na_created{x=\"2\"} 6\n# EOF\n", []got{
			typ("a", MetricTypeCounter),
			sample(`a_total{x="1"}`, 1, "__name__", "a_total", "x", "1").created(5000),
			sample(`a_total{x="2"}`, 2, "__name__", "a_total", "x", "2"),
		}},
		{"exact milliseconds", "# TYPE a counter\na_total 1\na_created 1726839814.223\n# EOF\n", []got{
			typ("a", MetricTypeCounter),
			sample(`a_total`, 1, "__name__", "a_total").created(1726839814223),
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			entries, err := collect(NewOpenMetricsParser([]byte(c.in), Options{SkipCreatedSeries: true}))
			if err != nil {
				t.Fatal(err)
			}
			checkEntries(t, entries, c.want)
		})
	}
}

func TestOpenMetricsTimestamps(t *testing.T) {
	cases := map[string]int64{
		"0":                        0,
		"000":                      0,
		"1.5e3":                    1500000,
		"1.1":                      1100,
		"-1.0015":                  -1001,
		"1726839814.2239082":       1726839814223,
		"1.7268398142239082e+09":   1726839814223,
		"12345678901234567890.123": math.MaxInt64,
		"-1e300":                   math.MinInt64,
		"1e-9":                     0,
		"0.0000000001":             0,
		"infinitesimal":            -1, // error
		"0x10":                     -1,
		"1_0":                      -1,
	}
	for in, want := range cases {
		body := "a 1 " + in + "\n# EOF\n"
		entries, err := collect(NewOpenMetricsParser([]byte(body), Options{}))
		if want == -1 {
			if err == nil {
				t.Errorf("%s: no error", in)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", in, err)
			continue
		}
		if got := entries[0].ts; got != sample("a", 1).at(want).ts {
			t.Errorf("%s: got %s ms, want %d", in, got, want)
		}
	}
}

func TestOpenMetricsParserErrors(t *testing.T) {
	cases := []struct {
		in, want string
		strict   bool
	}{
		{"a 1\n", `line 2: unexpected end of input: the body must end with "# EOF"`, false},
		{"a 1", `line 1: unexpected end of input: the body must end with "# EOF"`, false},
		{"a 1\n\n# EOF\n", `line 2: expected a metric name, '{' or '#', got "\n"`, false},
		{"a 1\n# EOF\n\n", `line 3: unexpected data after # EOF`, false},
		{"# TYPE a untyped\n# EOF\n", `line 1: invalid metric type "untyped"`, false},
		{"# TYPE a gauge \n# EOF\n", `line 1: invalid metric type "gauge "`, false},
		{"# HELP a\n# EOF\n", `line 1: expected a space and text after the metric name in HELP, got "\n"`, false},
		{"# UNIT a seconds\n# EOF\n", `line 1: unit "seconds" is not a suffix of metric "a"`, false},
		{"# FOO a\n# EOF\n", `line 1: expected HELP, TYPE, UNIT or EOF after "# ", got "FOO"`, false},
		{"#a\n# EOF\n", `line 1: expected "# " to start a metadata line, got "#a"`, false},
		{"a  1\n# EOF\n", `line 1: expected value after the series, got " "`, false},
		{"a 1 \n# EOF\n", `line 1: expected timestamp or exemplar after the value, got "\n"`, false},
		{"x 1\na{a=}1\n# EOF\n", `line 2: expected label value, got "}"`, false},
		{"a{a=\"1\"b=\"2\"} 1\n# EOF\n", `line 1: expected ',' or '}' after label value, got "b"`, false},
		{"a{a=\"x\ny\"} 1\n# EOF\n", `line 1: expected label value, got an unterminated string`, false},
		{"a 1 NaN\n# EOF\n", `line 1: invalid timestamp "NaN": not a finite number`, false},
		{"a_total 1 # {a=\"b\"} 0.5 -Inf\n# EOF\n", `line 1: invalid exemplar timestamp "-Inf": not a finite number`, false},
		{"a_total 1 # {\"a\"} 0.5\n# EOF\n", `line 1: expected '=' after label name, got "}"`, false},
		{"a 0x1p-3\n# EOF\n", `line 1: invalid value "0x1p-3"`, false},
		// Strict-only rules.
		{"a{a=\"1\",} 1\n# EOF\n", `line 1: trailing comma in the series label set`, true},
		{"{\"a.b\"} 1\n# EOF\n", `line 1: quoted metric names are not part of OpenMetrics 1.0`, true},
		{"# TYPE a counter\na_total 1\n# HELP a x\n# EOF\n", `line 3: metadata for "a" after its samples`, true},
		{"# TYPE a histogram\na_bucket{le=\"1\"} 1\n# EOF\n", `line 2: histogram "a" has no +Inf bucket`, true},
		{"# TYPE a gauge\na{x=\"1\"} 1\na{x=\"2\"} 1\na{x=\"1\"} 1\n# EOF\n", `line 4: samples of label set {x=1} are not grouped together`, true},
		{"a 1\nb 1\na 1\n# EOF\n", `line 3: metric family "a" clashes with an earlier family over the name "a"`, true},
	}
	for _, c := range cases {
		p := NewOpenMetricsParser([]byte(c.in), Options{Strict: c.strict})
		_, err := collect(p)
		if err == nil || err.Error() != c.want {
			t.Errorf("%q: got error %v, want %s", c.in, err, c.want)
			continue
		}
		if _, err2 := p.Next(); err2 != err {
			t.Errorf("%q: Next after an error returned %v, want the same error", c.in, err2)
		}
		if !c.strict {
			continue
		}
		if _, err := collect(NewOpenMetricsParser([]byte(c.in), Options{})); err != nil {
			t.Errorf("%q: lenient mode rejects it too: %v", c.in, err)
		}
	}
}

// TestOpenMetricsCreatedTimestampLinear guards against the lookahead for
// _created lines turning quadratic: 20000 samples precede the family's
// only _created line, which belongs to none of them. Rescanning ahead for
// each sample would take minutes; the cached scan takes milliseconds.
func TestOpenMetricsCreatedTimestampLinear(t *testing.T) {
	var b strings.Builder
	b.WriteString("# TYPE a counter\n")
	for i := 0; i < 20000; i++ {
		fmt.Fprintf(&b, "a_total{i=\"%d\"} 1\n", i)
	}
	b.WriteString("a_created{i=\"other\"} 1\n# EOF\n")
	start := time.Now()
	entries, err := collect(NewOpenMetricsParser([]byte(b.String()), Options{}))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.ct != 0 {
			t.Fatalf("%s: created timestamp %d, want none", e.series, e.ct)
		}
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("parsing took %v; the created-timestamp lookahead is not linear", d)
	}
}
