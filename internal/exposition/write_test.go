package exposition

import (
	"errors"
	"io"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/vigil-monitoring/vigil/internal/model/exemplar"
	"github.com/vigil-monitoring/vigil/internal/model/labels"
	"github.com/vigil-monitoring/vigil/internal/model/value"
)

func TestAppendFloat(t *testing.T) {
	cases := []struct {
		v        float64
		text, om string
	}{
		{1, "1", "1.0"},
		{0, "0", "0.0"},
		{math.Copysign(0, -1), "0", "0.0"},
		{-1, "-1", "-1.0"},
		{0.5, "0.5", "0.5"},
		{42, "42", "42.0"},
		{100000, "100000", "100000.0"},
		{1e6, "1e+06", "1e+06"},
		{123456789, "1.23456789e+08", "1.23456789e+08"},
		{1.5e-7, "1.5e-07", "1.5e-07"},
		{0.0001, "0.0001", "0.0001"},
		{7.424100000000001e-05, "7.424100000000001e-05", "7.424100000000001e-05"},
		{math.NaN(), "NaN", "NaN"},
		{value.StaleNaN, "NaN", "NaN"},
		{math.Inf(1), "+Inf", "+Inf"},
		{math.Inf(-1), "-Inf", "-Inf"},
		{math.MaxFloat64, "1.7976931348623157e+308", "1.7976931348623157e+308"},
		{5e-324, "5e-324", "5e-324"},
	}
	for _, c := range cases {
		if got := string(AppendTextFloat([]byte("x"), c.v)); got != "x"+c.text {
			t.Errorf("AppendTextFloat(%v) = %q, want %q", c.v, got, "x"+c.text)
		}
		if got := string(AppendOpenMetricsFloat(nil, c.v)); got != c.om {
			t.Errorf("AppendOpenMetricsFloat(%v) = %q, want %q", c.v, got, c.om)
		}
	}
}

func TestAppendSecondsFromMillis(t *testing.T) {
	cases := map[int64]string{
		0:              "0.0",
		1:              "0.001",
		10:             "0.01",
		100:            "0.1",
		1000:           "1.0",
		1500:           "1.5",
		1234:           "1.234",
		-1:             "-0.001",
		-1500:          "-1.5",
		1726839814223:  "1726839814.223",
		math.MaxInt64:  "9223372036854775.807",
		math.MinInt64:  "-9223372036854775.808",
		-9000000000000: "-9000000000.0",
	}
	for ms, want := range cases {
		if got := string(appendSecondsFromMillis(nil, ms)); got != want {
			t.Errorf("appendSecondsFromMillis(%d) = %q, want %q", ms, got, want)
		}
		// And back, exactly.
		back, e := parseSecondsAsMillis([]byte(want))
		if e != tsOK || back != ms {
			t.Errorf("parseSecondsAsMillis(%q) = %d, %v, want %d", want, back, e, ms)
		}
	}
}

func TestWriters(t *testing.T) {
	var b []byte
	b = AppendTextHelp(b, "http_requests_total", "Total \\ requests\nwith \"quotes\".")
	b = AppendTextType(b, "http_requests_total", MetricTypeCounter)
	b = AppendTextType(b, "x", MetricTypeUnknown)
	b = AppendTextType(b, "x", MetricTypeInfo)
	b = AppendTextType(b, "x", MetricTypeGaugeHistogram)
	b = AppendTextHelp(b, "my.metric", "UTF-8 name")
	ts := int64(1395066363000)
	b = AppendTextSample(b, labels.FromStrings("__name__", "http_requests_total", "method", "post", "code", "200"), 1027, &ts)
	b = AppendTextSample(b, labels.FromStrings("__name__", "up"), 1, nil)
	b = AppendTextSample(b, labels.FromStrings("__name__", "my.metric", "my.label", "a\"b\\c\nd", "ok", ""), 0.5, nil)
	want := `# HELP http_requests_total Total \\ requests\nwith "quotes".
# TYPE http_requests_total counter
# TYPE x untyped
# TYPE x gauge
# TYPE x untyped
# HELP "my.metric" UTF-8 name
http_requests_total{code="200",method="post"} 1027 1395066363000
up 1
{"my.metric","my.label"="a\"b\\c\nd",ok=""} 0.5
`
	if string(b) != want {
		t.Errorf("text writers:\n%s\nwant:\n%s", b, want)
	}

	b = b[:0]
	b = AppendOpenMetricsHelp(b, "req", "Help with \"quotes\" \\ and\nnewline.")
	b = AppendOpenMetricsType(b, "req", MetricTypeCounter)
	b = AppendOpenMetricsUnit(b, "req_seconds", "seconds")
	b = AppendOpenMetricsType(b, "x", "")
	ex := exemplar.Exemplar{Labels: labels.FromStrings("trace_id", "abc"), Value: 0.5, Ts: 1520879602500, HasTs: true}
	ts = 1520879607789
	b = AppendOpenMetricsSample(b, labels.FromStrings("__name__", "req_total", "code", "200"), 1027, &ts, &ex)
	ex2 := exemplar.Exemplar{Value: 1}
	b = AppendOpenMetricsSample(b, labels.FromStrings("__name__", "req_total"), 3, nil, &ex2)
	b = AppendOpenMetricsSample(b, labels.FromStrings("__name__", "a.b", "c.d", "e"), math.NaN(), nil, nil)
	b = AppendOpenMetricsEOF(b)
	want = `# HELP req Help with \"quotes\" \\ and\nnewline.
# TYPE req counter
# UNIT req_seconds seconds
# TYPE x unknown
req_total{code="200"} 1027.0 1520879607.789 # {trace_id="abc"} 0.5 1520879602.5
req_total 3.0 # {} 1.0
{"a.b","c.d"="e"} NaN
# EOF
`
	if string(b) != want {
		t.Errorf("OpenMetrics writers:\n%s\nwant:\n%s", b, want)
	}
}

// randomLabels builds a label set with legacy and UTF-8 names and values
// that need escaping.
func randomLabels(r *rand.Rand, name string) labels.Labels {
	kv := []string{"__name__", name}
	pieces := []string{"a", "b_c", "x.y", "ü", "\"", "\\", "\n", " ", "#", "{", "}", ",", "=", "0", "le", "quantile", "\\n"}
	n := r.IntN(4)
	for i := 0; i < n; i++ {
		ln := "l" + strconv.Itoa(i)
		if r.IntN(4) == 0 {
			ln = "l." + strconv.Itoa(i) + pieces[r.IntN(len(pieces))]
		}
		var v strings.Builder
		for j := r.IntN(5); j > 0; j-- {
			v.WriteString(pieces[r.IntN(len(pieces))])
		}
		kv = append(kv, ln, v.String())
	}
	return labels.FromStrings(kv...)
}

func randomValue(r *rand.Rand) float64 {
	switch r.IntN(8) {
	case 0:
		return math.NaN()
	case 1:
		return math.Inf(1 - 2*r.IntN(2))
	case 2:
		return float64(r.Int64N(1e15))
	case 3:
		return math.Float64frombits(r.Uint64()) // anything, NaN payloads included
	default:
		return r.NormFloat64() * math.Pow(10, float64(r.IntN(40)-20))
	}
}

func sameValue(a, b float64) bool {
	if math.IsNaN(a) || math.IsNaN(b) {
		return math.IsNaN(a) && math.IsNaN(b) && !value.IsStaleNaN(b)
	}
	return a == b
}

type written struct {
	lset labels.Labels
	v    float64
	ts   *int64
	ex   *exemplar.Exemplar
}

// TestWriteParseRoundTrip writes random families with both writers and
// parses them back: every entry must come back as written.
func TestWriteParseRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	for iter := 0; iter < 300; iter++ {
		om := iter%2 == 1
		var body []byte
		var want []written
		var helps []string
		for f := 0; f < 1+r.IntN(4); f++ {
			base := "fam" + strconv.Itoa(f)
			if r.IntN(5) == 0 {
				base = "fam." + strconv.Itoa(f) + "ä"
			}
			h := "help " + strconv.Itoa(f) + " \\ \n \" end"
			helps = append(helps, base, h)
			name := base + "_total"
			if om {
				body = AppendOpenMetricsHelp(body, base, h)
				body = AppendOpenMetricsType(body, base, MetricTypeCounter)
			} else {
				body = AppendTextHelp(body, base, h)
				body = AppendTextType(body, base, MetricTypeCounter)
			}
			seen := map[string]bool{}
			for s := 0; s < 1+r.IntN(5); s++ {
				w := written{lset: randomLabels(r, name), v: randomValue(r)}
				if seen[w.lset.String()] {
					continue
				}
				seen[w.lset.String()] = true
				if r.IntN(2) == 0 {
					ts := r.Int64N(4e12) - 1e12
					w.ts = &ts
				}
				if om {
					if r.IntN(2) == 0 {
						w.ex = &exemplar.Exemplar{Labels: randomLabels(r, "x").DropMetricName(), Value: randomValue(r)}
						if r.IntN(2) == 0 {
							w.ex.Ts, w.ex.HasTs = r.Int64N(4e12), true
						}
					}
					body = AppendOpenMetricsSample(body, w.lset, w.v, w.ts, w.ex)
				} else {
					body = AppendTextSample(body, w.lset, w.v, w.ts)
				}
				want = append(want, w)
			}
		}
		var p Parser
		if om {
			body = AppendOpenMetricsEOF(body)
			p = NewOpenMetricsParser(body, Options{})
		} else {
			p = NewTextParser(body, Options{})
		}
		checkRoundTrip(t, p, body, want, helps)
	}
}

func checkRoundTrip(t *testing.T, p Parser, body []byte, want []written, helps []string) {
	t.Helper()
	var sb labels.ScratchBuilder
	var ex exemplar.Exemplar
	i := 0
	for {
		e, err := p.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("%v\n%s", err, body)
		}
		switch e {
		case EntryHelp:
			n, h := p.Help()
			if len(helps) < 2 || string(n) != helps[0] || string(h) != helps[1] {
				t.Fatalf("help %q %q, want %q\n%s", n, h, helps[:2], body)
			}
			helps = helps[2:]
		case EntrySeries:
			if i >= len(want) {
				t.Fatalf("more samples than written\n%s", body)
			}
			w := want[i]
			i++
			_, ts, v := p.Series()
			p.Labels(&sb)
			if got := sb.Labels(); !labels.Equal(got, w.lset) {
				t.Fatalf("labels %s, want %s\n%s", got, w.lset, body)
			}
			if !sameValue(w.v, v) {
				t.Fatalf("%s: value %v, want %v\n%s", w.lset, v, w.v, body)
			}
			if (ts == nil) != (w.ts == nil) || (ts != nil && *ts != *w.ts) {
				t.Fatalf("%s: timestamp %v, want %v\n%s", w.lset, ts, w.ts, body)
			}
			hasEx := p.Exemplar(&ex)
			if hasEx != (w.ex != nil) {
				t.Fatalf("%s: exemplar %v, want %v\n%s", w.lset, hasEx, w.ex != nil, body)
			}
			if hasEx && (!labels.Equal(ex.Labels, w.ex.Labels) || !sameValue(w.ex.Value, ex.Value) || ex.HasTs != w.ex.HasTs || ex.Ts != w.ex.Ts) {
				t.Fatalf("%s: exemplar %+v, want %+v\n%s", w.lset, ex, *w.ex, body)
			}
		}
	}
	if i != len(want) {
		t.Fatalf("parsed %d samples, wrote %d\n%s", i, len(want), body)
	}
}

// TestWriteStrictOpenMetrics checks that what the OpenMetrics writers
// produce for a well-formed set of families passes strict validation.
func TestWriteStrictOpenMetrics(t *testing.T) {
	var b []byte
	b = AppendOpenMetricsHelp(b, "req", "Requests.")
	b = AppendOpenMetricsType(b, "req", MetricTypeCounter)
	ts := int64(1000)
	ex := exemplar.Exemplar{Labels: labels.FromStrings("trace_id", "1"), Value: 2, Ts: 5, HasTs: true}
	b = AppendOpenMetricsSample(b, labels.FromStrings("__name__", "req_total", "code", "200"), 3, &ts, &ex)
	b = AppendOpenMetricsSample(b, labels.FromStrings("__name__", "req_created", "code", "200"), 1.5, &ts, nil)
	b = AppendOpenMetricsType(b, "lat_seconds", MetricTypeHistogram)
	b = AppendOpenMetricsUnit(b, "lat_seconds", "seconds")
	for i, le := range []float64{0.1, 1, 10, math.Inf(1)} {
		lset := labels.FromStrings("__name__", "lat_seconds_bucket", "le", string(AppendOpenMetricsFloat(nil, le)))
		b = AppendOpenMetricsSample(b, lset, float64(i), nil, &ex)
	}
	b = AppendOpenMetricsSample(b, labels.FromStrings("__name__", "lat_seconds_count"), 3, nil, nil)
	b = AppendOpenMetricsSample(b, labels.FromStrings("__name__", "lat_seconds_sum"), 4.5, nil, nil)
	b = AppendOpenMetricsEOF(b)
	if err := drain(NewOpenMetricsParser(b, Options{Strict: true})); err != nil {
		t.Fatalf("%v\n%s", err, b)
	}
}
