package exposition

import (
	"math"
	"strconv"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"google.golang.org/protobuf/proto"

	"github.com/vigil-monitoring/vigil/internal/model/labels"
)

// pbRenderText renders families in the text format 0.0.4, built straight
// from the client_model values with the package's text writers (not from
// either parser). Native histograms have no text form and must not be
// passed. "le" and "quantile" values are written in Go's shortest form
// ("1", "1e+06"), as many exporters do, so the text parser's
// normalization is part of what is compared.
func pbRenderText(mfs []*dto.MetricFamily) []byte {
	var out []byte
	for _, mf := range mfs {
		if len(mf.GetMetric()) == 0 {
			continue
		}
		name := mf.GetName()
		out = AppendTextHelp(out, name, mf.GetHelp())
		types := map[dto.MetricType]MetricType{
			dto.MetricType_COUNTER:   MetricTypeCounter,
			dto.MetricType_GAUGE:     MetricTypeGauge,
			dto.MetricType_SUMMARY:   MetricTypeSummary,
			dto.MetricType_UNTYPED:   MetricTypeUnknown,
			dto.MetricType_HISTOGRAM: MetricTypeHistogram,
		}
		out = AppendTextType(out, name, types[mf.GetType()])
		for _, m := range mf.GetMetric() {
			var ts *int64
			if m.TimestampMs != nil {
				ts = m.TimestampMs
			}
			sample := func(metric string, v float64, extra ...string) {
				kv := []string{labels.MetricName, metric}
				for _, lp := range m.GetLabel() {
					kv = append(kv, lp.GetName(), lp.GetValue())
				}
				out = AppendTextSample(out, labels.FromStrings(append(kv, extra...)...), v, ts)
			}
			switch mf.GetType() {
			case dto.MetricType_COUNTER:
				sample(name, m.GetCounter().GetValue())
			case dto.MetricType_GAUGE:
				sample(name, m.GetGauge().GetValue())
			case dto.MetricType_UNTYPED:
				sample(name, m.GetUntyped().GetValue())
			case dto.MetricType_SUMMARY:
				s := m.GetSummary()
				sample(name+"_count", float64(s.GetSampleCount()))
				sample(name+"_sum", s.GetSampleSum())
				for _, q := range s.GetQuantile() {
					sample(name, q.GetValue(), "quantile", strconv.FormatFloat(q.GetQuantile(), 'g', -1, 64))
				}
			case dto.MetricType_HISTOGRAM:
				h := m.GetHistogram()
				count := float64(h.GetSampleCount())
				if h.GetSampleCountFloat() > 0 {
					count = h.GetSampleCountFloat()
				}
				sample(name+"_count", count)
				sample(name+"_sum", h.GetSampleSum())
				inf := false
				for _, b := range h.GetBucket() {
					v := float64(b.GetCumulativeCount())
					if b.GetCumulativeCountFloat() > 0 {
						v = b.GetCumulativeCountFloat()
					}
					le := strconv.FormatFloat(b.GetUpperBound(), 'g', -1, 64)
					if math.IsInf(b.GetUpperBound(), 1) {
						le, inf = "+Inf", true
					}
					sample(name+"_bucket", v, "le", le)
					if inf {
						break
					}
				}
				if !inf {
					sample(name+"_bucket", count, "le", "+Inf")
				}
			default:
				panic("no text form for " + mf.GetType().String())
			}
		}
	}
	return out
}

// TestProtobufParserMatchesText parses the same families from protobuf and
// from their text rendering through the content-type dispatcher and checks
// both yield the same metadata and samples, where the text format can
// express them (no native histograms, created timestamps, exemplars or
// units).
func TestProtobufParserMatchesText(t *testing.T) {
	mfs := pbGenerateFamilies(2)
	// The native histogram family has no text form.
	for i, mf := range mfs {
		if mf.GetName() == "rpc_latency_seconds" {
			mfs = append(mfs[:i], mfs[i+1:]...)
			break
		}
	}
	mfs = append(mfs,
		&dto.MetricFamily{
			Name: proto.String("escapes_total"),
			Help: proto.String("Help with a backslash \\ and a\nnewline."),
			Type: pbType(dto.MetricType_COUNTER),
			Metric: []*dto.Metric{
				{Label: pbLabels("path", "C:\\dir\n\"quoted\"", "empty", ""), Counter: &dto.Counter{Value: proto.Float64(1e-9)}, TimestampMs: proto.Int64(-5)},
				{Label: pbLabels("path", "ünïcode ☃"), Counter: &dto.Counter{Value: proto.Float64(math.Inf(1))}, TimestampMs: proto.Int64(1700000000123)},
			},
		},
		&dto.MetricFamily{
			Name:   proto.String("untyped_thing"),
			Type:   pbType(dto.MetricType_UNTYPED),
			Metric: []*dto.Metric{{Untyped: &dto.Untyped{Value: proto.Float64(-0.5)}}},
		},
		&dto.MetricFamily{
			Name: proto.String("float_hist"),
			Help: proto.String("Classic with float counts."),
			Type: pbType(dto.MetricType_HISTOGRAM),
			Metric: []*dto.Metric{{Histogram: &dto.Histogram{
				SampleCountFloat: proto.Float64(4.5),
				SampleSum:        proto.Float64(3),
				Bucket: []*dto.Bucket{
					{UpperBound: proto.Float64(1), CumulativeCountFloat: proto.Float64(0.5)},
					{UpperBound: proto.Float64(1e6), CumulativeCountFloat: proto.Float64(2.5)},
					{UpperBound: proto.Float64(math.Inf(1)), CumulativeCountFloat: proto.Float64(4.5)},
				},
			}}},
		},
	)
	pbBody := pbEncode(t, mfs...)
	textBody := pbRenderText(mfs)

	pp, err := New(pbBody, "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited", Options{})
	if err != nil {
		t.Fatal(err)
	}
	tp, err := New(textBody, "text/plain; version=0.0.4; charset=utf-8", Options{})
	if err != nil {
		t.Fatal(err)
	}
	fromPB, _, err := pbCollect(t, pp)
	if err != nil {
		t.Fatal(err)
	}
	fromText, _, err := pbCollect(t, tp)
	if err != nil {
		t.Fatalf("text parser: %v\n%s", err, textBody)
	}
	// The text format has no created timestamps and exemplars.
	for i := range fromPB {
		fromPB[i].CT, fromPB[i].Exemplars = 0, nil
	}
	if len(fromPB) < 500 {
		t.Fatalf("only %d entries", len(fromPB))
	}
	g, w := pbFormat(fromPB), pbFormat(fromText)
	for i := 0; i < len(g) || i < len(w); i++ {
		switch {
		case i >= len(g):
			t.Fatalf("entry %d only in text: %s", i, w[i])
		case i >= len(w):
			t.Fatalf("entry %d only in protobuf: %s", i, g[i])
		case g[i] != w[i]:
			t.Fatalf("entry %d differs:\nprotobuf %s\n    text %s", i, g[i], w[i])
		}
	}
}
