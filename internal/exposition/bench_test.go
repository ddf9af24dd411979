package exposition

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/vigil-monitoring/vigil/internal/model/exemplar"
	"github.com/vigil-monitoring/vigil/internal/model/labels"
)

// benchParse parses body once per iteration. withLabels adds what a scrape
// does for a series its cache has not seen: build the label set. Without
// it the loop is the cache-hit path, which only reads the raw series,
// timestamp and value.
func benchParse(b *testing.B, body []byte, mk func([]byte) Parser, withLabels bool) {
	var sb labels.ScratchBuilder
	var ex exemplar.Exemplar
	var sink labels.Labels
	samples, iters := 0, 0
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for b.Loop() {
		iters++
		p := mk(body)
		for {
			e, err := p.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			if e != EntrySeries {
				continue
			}
			samples++
			p.Series()
			if withLabels {
				p.Labels(&sb)
				sink = sb.Labels()
				p.Exemplar(&ex)
			}
		}
	}
	runtime.ReadMemStats(&after)
	_ = sink
	if samples > 0 {
		b.ReportMetric(float64(after.Mallocs-before.Mallocs)/float64(samples), "allocs/sample")
		b.ReportMetric(float64(samples)/float64(iters), "samples/op")
	}
}

func benchInputs(b *testing.B, om bool) map[string][]byte {
	in := map[string][]byte{}
	node := GenerateNodeExporterPayload(1 << 20)
	if om {
		in["nodeexporter_1MB"] = openMetricsFromText(b, node)
		if dir, err := findConformanceDir("exposition/samples"); err == nil {
			if body, err := os.ReadFile(filepath.Join(dir, "alltypes.237mfs.prom.txt")); err == nil {
				in["alltypes.237mfs"] = openMetricsFromText(b, body)
			}
		}
		return in
	}
	in["nodeexporter_1MB"] = node
	if dir, err := findConformanceDir("exposition/samples"); err == nil {
		if body, err := os.ReadFile(filepath.Join(dir, "alltypes.237mfs.prom.txt")); err == nil {
			in["alltypes.237mfs"] = body
		}
	}
	return in
}

// openMetricsFromText rewrites a text-format body as OpenMetrics with the
// writers, so both parsers are measured on the same data. Counter families
// are named without the _total their samples carry, as OpenMetrics wants,
// so the result also passes strict validation.
func openMetricsFromText(tb testing.TB, text []byte) []byte {
	types := map[string]MetricType{}
	p := NewTextParser(text, Options{})
	for {
		e, err := p.Next()
		if err != nil {
			break
		}
		if e == EntryType {
			m, t := p.Type()
			types[string(m)] = t
		}
	}
	family := func(m string) string {
		if types[m] == MetricTypeCounter {
			return strings.TrimSuffix(m, "_total")
		}
		return m
	}
	p = NewTextParser(text, Options{})
	var sb labels.ScratchBuilder
	var out []byte
	counter := ""
	for {
		e, err := p.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			tb.Fatal(err)
		}
		switch e {
		case EntryHelp:
			m, h := p.Help()
			out = AppendOpenMetricsHelp(out, family(string(m)), string(h))
		case EntryType:
			m, t := p.Type()
			counter = ""
			if t == MetricTypeCounter {
				counter = family(string(m))
			}
			out = AppendOpenMetricsType(out, family(string(m)), t)
		case EntrySeries:
			_, ts, v := p.Series()
			p.Labels(&sb)
			lset := sb.Labels()
			if counter != "" && lset.Get(labels.MetricName) == counter {
				lset = labels.NewBuilder(lset).Set(labels.MetricName, counter+"_total").Labels()
			}
			out = AppendOpenMetricsSample(out, lset, v, ts, nil)
		}
	}
	out = AppendOpenMetricsEOF(out)
	if err := drain(NewOpenMetricsParser(out, Options{})); err != nil {
		tb.Fatal(err)
	}
	return out
}

func BenchmarkTextParser(b *testing.B) {
	in := benchInputs(b, false)
	if _, ok := in["alltypes.237mfs"]; !ok {
		b.Log("conformance corpus absent: alltypes.237mfs.prom.txt skipped")
	}
	for _, name := range []string{"alltypes.237mfs", "nodeexporter_1MB"} {
		body, ok := in[name]
		if !ok {
			continue
		}
		mk := func(b []byte) Parser { return NewTextParser(b, Options{}) }
		b.Run(name+"/labels", func(b *testing.B) { benchParse(b, body, mk, true) })
		b.Run(name+"/no-labels", func(b *testing.B) { benchParse(b, body, mk, false) })
	}
}

func BenchmarkOpenMetricsParser(b *testing.B) {
	in := benchInputs(b, true)
	for _, name := range []string{"alltypes.237mfs", "nodeexporter_1MB"} {
		body, ok := in[name]
		if !ok {
			continue
		}
		for _, mode := range []struct {
			name string
			opts Options
		}{{"", Options{}}, {"skip-created/", Options{SkipCreatedSeries: true}}, {"strict/", Options{Strict: true}}} {
			opts := mode.opts
			if opts.Strict {
				// Real payloads can break OpenMetrics rules (alltypes has
				// a gauge x and a counter x_total, whose names clash), and
				// a validator that stops at line 120 measures nothing.
				if err := drain(NewOpenMetricsParser(body, opts)); err != nil {
					b.Logf("%s: no strict benchmark, the input is not valid OpenMetrics: %v", name, err)
					continue
				}
			}
			mk := func(b []byte) Parser { return NewOpenMetricsParser(b, opts) }
			b.Run(name+"/"+mode.name+"labels", func(b *testing.B) { benchParse(b, body, mk, true) })
			if mode.name == "" {
				b.Run(name+"/no-labels", func(b *testing.B) { benchParse(b, body, mk, false) })
			}
		}
	}
}

func BenchmarkWriteText(b *testing.B) {
	lset := labels.FromStrings("__name__", "node_filesystem_avail_bytes", "device", "/dev/nvme0n1p2", "fstype", "ext4", "mountpoint", "/data")
	ts := int64(1726839814223)
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendTextSample(buf[:0], lset, 1.23456789e+11, &ts)
	}
	b.SetBytes(int64(len(buf)))
}
