package exposition

import (
	"bytes"
	"fmt"
	"math"
	"strconv"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"google.golang.org/protobuf/encoding/protodelim"

	"github.com/vigil-monitoring/vigil/internal/model/exemplar"
	"github.com/vigil-monitoring/vigil/internal/model/histogram"
	"github.com/vigil-monitoring/vigil/internal/model/labels"
)

// pbReference is an independent, allocation-happy model of the parser:
// it unmarshals body with the generated client_model types and applies the
// documented rules. Tests and the fuzz target compare the parser with it.
func pbReference(body []byte, opts Options) ([]pbGot, error) {
	r := bytes.NewReader(body)
	var out []pbGot
	for r.Len() > 0 {
		mf := &dto.MetricFamily{}
		if err := (protodelim.UnmarshalOptions{MaxSize: -1}).UnmarshalFrom(r, mf); err != nil {
			return nil, err
		}
		if len(mf.GetMetric()) == 0 {
			continue
		}
		name := mf.GetName()
		out = append(out, pbHelp(name, mf.GetHelp()))
		if mf.GetUnit() != "" {
			out = append(out, pbUnit(name, mf.GetUnit()))
		}
		types := map[dto.MetricType]MetricType{
			dto.MetricType_COUNTER:         MetricTypeCounter,
			dto.MetricType_GAUGE:           MetricTypeGauge,
			dto.MetricType_SUMMARY:         MetricTypeSummary,
			dto.MetricType_UNTYPED:         MetricTypeUnknown,
			dto.MetricType_HISTOGRAM:       MetricTypeHistogram,
			dto.MetricType_GAUGE_HISTOGRAM: MetricTypeGaugeHistogram,
		}
		typ, ok := types[mf.GetType()]
		if !ok {
			return nil, fmt.Errorf("type %v", mf.GetType())
		}
		out = append(out, pbTypeEntry(name, typ))
		for _, m := range mf.GetMetric() {
			base := pbGot{Entry: EntrySeries}
			if ts := m.GetTimestampMs(); ts != 0 {
				base.Ts, base.HasTs = ts, true
			}
			lset := func(metric string, extra ...string) labels.Labels {
				var sb labels.ScratchBuilder
				sb.Add(labels.MetricName, metric)
				for _, lp := range m.GetLabel() {
					sb.Add(lp.GetName(), lp.GetValue())
				}
				if len(extra) > 0 {
					sb.Add(extra[0], extra[1])
				}
				sb.Sort()
				return sb.Labels()
			}
			series := func(metric string, v float64, ct int64, ex []exemplar.Exemplar, extra ...string) pbGot {
				g := base
				g.Labels, g.V, g.CT, g.Exemplars = lset(metric, extra...), v, ct, ex
				return g
			}
			switch mf.GetType() {
			case dto.MetricType_COUNTER:
				c := m.GetCounter()
				var ex []exemplar.Exemplar
				if c.GetExemplar() != nil {
					ex = append(ex, pbRefExemplar(c.GetExemplar()))
				}
				out = append(out, series(name, c.GetValue(), pbRefTs(c.GetCreatedTimestamp()), ex))
			case dto.MetricType_GAUGE:
				out = append(out, series(name, m.GetGauge().GetValue(), 0, nil))
			case dto.MetricType_UNTYPED:
				out = append(out, series(name, m.GetUntyped().GetValue(), 0, nil))
			case dto.MetricType_SUMMARY:
				s := m.GetSummary()
				ct := pbRefTs(s.GetCreatedTimestamp())
				out = append(out,
					series(name+"_count", float64(s.GetSampleCount()), ct, nil),
					series(name+"_sum", s.GetSampleSum(), ct, nil))
				for _, q := range s.GetQuantile() {
					out = append(out, series(name, q.GetValue(), ct, nil, "quantile", pbRefFloat(q.GetQuantile())))
				}
			default:
				h := m.GetHistogram()
				ct := pbRefTs(h.GetCreatedTimestamp())
				native := len(h.GetPositiveSpan()) > 0 || len(h.GetNegativeSpan()) > 0 ||
					h.GetZeroThreshold() > 0 || h.GetZeroCount() > 0 || h.GetZeroCountFloat() > 0 ||
					h.GetSchema() == histogram.CustomBucketsSchema
				if native {
					g := base
					g.Entry, g.Labels, g.CT = EntryHistogram, lset(name), ct
					g.H, g.FH = pbRefHistogram(h, mf.GetType())
					g.Exemplars = pbRefNativeExemplars(h)
					out = append(out, g)
					if !opts.KeepClassicHistograms || len(h.GetBucket()) == 0 {
						continue
					}
				}
				count := float64(h.GetSampleCount())
				if h.GetSampleCountFloat() > 0 {
					count = h.GetSampleCountFloat()
				}
				out = append(out,
					series(name+"_count", count, ct, nil),
					series(name+"_sum", h.GetSampleSum(), ct, nil))
				inf := false
				for _, b := range h.GetBucket() {
					v := float64(b.GetCumulativeCount())
					if b.GetCumulativeCountFloat() > 0 {
						v = b.GetCumulativeCountFloat()
					}
					var ex []exemplar.Exemplar
					if b.GetExemplar() != nil {
						ex = append(ex, pbRefExemplar(b.GetExemplar()))
					}
					out = append(out, series(name+"_bucket", v, ct, ex, "le", pbRefFloat(b.GetUpperBound())))
					if math.IsInf(b.GetUpperBound(), 1) {
						inf = true
						break
					}
				}
				if !inf {
					out = append(out, series(name+"_bucket", count, ct, nil, "le", "+Inf"))
				}
			}
		}
	}
	return out, nil
}

func pbRefFloat(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "+Inf"
	case math.IsInf(f, -1):
		return "-Inf"
	}
	s := strconv.FormatFloat(f, 'g', -1, 64)
	if !bytes.ContainsAny([]byte(s), ".e") {
		s += ".0"
	}
	return s
}

func pbRefTs(ts interface {
	GetSeconds() int64
	GetNanos() int32
}) int64 {
	return ts.GetSeconds()*1000 + int64(ts.GetNanos())/1_000_000
}

func pbRefExemplar(e *dto.Exemplar) exemplar.Exemplar {
	var sb labels.ScratchBuilder
	for _, lp := range e.GetLabel() {
		sb.Add(lp.GetName(), lp.GetValue())
	}
	sb.Sort()
	ex := exemplar.Exemplar{Labels: sb.Labels(), Value: e.GetValue()}
	if e.Timestamp != nil {
		ex.Ts, ex.HasTs = pbRefTs(e.GetTimestamp()), true
	}
	return ex
}

func pbRefNativeExemplars(h *dto.Histogram) []exemplar.Exemplar {
	var out []exemplar.Exemplar
	if len(h.GetExemplars()) > 0 {
		for _, e := range h.GetExemplars() {
			if e.Timestamp != nil {
				out = append(out, pbRefExemplar(e))
			}
		}
		return out
	}
	for _, b := range h.GetBucket() {
		if e := b.GetExemplar(); e != nil && e.Timestamp != nil {
			out = append(out, pbRefExemplar(e))
		}
	}
	return out
}

func pbRefHistogram(h *dto.Histogram, typ dto.MetricType) (*histogram.Histogram, *histogram.FloatHistogram) {
	spans := func(in []*dto.BucketSpan) []histogram.Span {
		var out []histogram.Span
		for _, s := range in {
			out = append(out, histogram.Span{Offset: s.GetOffset(), Length: s.GetLength()})
		}
		return out
	}
	hint := histogram.UnknownCounterReset
	if typ == dto.MetricType_GAUGE_HISTOGRAM {
		hint = histogram.GaugeType
	}
	var custom []float64
	if h.GetSchema() == histogram.CustomBucketsSchema {
		for _, b := range h.GetBucket() {
			if math.IsInf(b.GetUpperBound(), 1) {
				break
			}
			custom = append(custom, b.GetUpperBound())
		}
	}
	if h.GetSampleCountFloat() > 0 || h.GetZeroCountFloat() > 0 {
		fh := &histogram.FloatHistogram{
			CounterResetHint: hint,
			Schema:           h.GetSchema(),
			ZeroThreshold:    h.GetZeroThreshold(),
			ZeroCount:        h.GetZeroCountFloat(),
			Count:            h.GetSampleCountFloat(),
			Sum:              h.GetSampleSum(),
			PositiveSpans:    spans(h.GetPositiveSpan()),
			NegativeSpans:    spans(h.GetNegativeSpan()),
			PositiveBuckets:  pbCloneNonEmpty(h.GetPositiveCount()),
			NegativeBuckets:  pbCloneNonEmpty(h.GetNegativeCount()),
			CustomValues:     custom,
		}
		return nil, pbCloneFloatHistogram(fh.Compact(0))
	}
	ih := &histogram.Histogram{
		CounterResetHint: hint,
		Schema:           h.GetSchema(),
		ZeroThreshold:    h.GetZeroThreshold(),
		ZeroCount:        h.GetZeroCount(),
		Count:            h.GetSampleCount(),
		Sum:              h.GetSampleSum(),
		PositiveSpans:    spans(h.GetPositiveSpan()),
		NegativeSpans:    spans(h.GetNegativeSpan()),
		PositiveBuckets:  pbCloneNonEmpty(h.GetPositiveDelta()),
		NegativeBuckets:  pbCloneNonEmpty(h.GetNegativeDelta()),
		CustomValues:     custom,
	}
	return pbCloneHistogram(ih.Compact(0)), nil
}

// pbFormat renders entries for comparison: NaN-tolerant, histograms
// dereferenced.
func pbFormat(gs []pbGot) []string {
	out := make([]string, len(gs))
	for i, g := range gs {
		h, fh := g.H, g.FH
		g.H, g.FH = nil, nil
		s := fmt.Sprintf("%+v", g)
		if h != nil {
			s += fmt.Sprintf(" H=%+v", *h)
		}
		if fh != nil {
			s += fmt.Sprintf(" FH=%+v", *fh)
		}
		out[i] = s
	}
	return out
}

// pbCompareWithReference parses body with the parser and the reference
// and fails on any difference. It returns false when the parser rejected
// the body (then nothing is compared).
func pbCompareWithReference(t *testing.T, body []byte, opts Options) bool {
	t.Helper()
	got, _, err := pbCollect(t, NewProtobufParser(body, opts))
	if err != nil {
		return false
	}
	want, err := pbReference(body, opts)
	if err != nil {
		t.Fatalf("the parser accepted a body that client_model rejects: %v", err)
	}
	g, w := pbFormat(got), pbFormat(want)
	for i := 0; i < len(g) || i < len(w); i++ {
		switch {
		case i >= len(g):
			t.Fatalf("entry %d missing, want %s", i, w[i])
		case i >= len(w):
			t.Fatalf("entry %d unexpected: %s", i, g[i])
		case g[i] != w[i]:
			t.Fatalf("entry %d:\n got %s\nwant %s", i, g[i], w[i])
		}
	}
	return true
}

func TestProtobufParserMatchesReference(t *testing.T) {
	bodies := map[string][]byte{
		"node exporter":      pbGenerateNodeExporter(t, 3),
		"native histogram":   pbEncode(t, pbNativeFamily(0), pbNativeFamily(4), pbNativeFamily(5)),
		"packed and unknown": pbRawHistogramFamily(),
	}
	for name, body := range bodies {
		for _, keep := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/keep=%v", name, keep), func(t *testing.T) {
				if !pbCompareWithReference(t, body, Options{KeepClassicHistograms: keep}) {
					t.Fatal("the parser rejected the body")
				}
			})
		}
	}
}
