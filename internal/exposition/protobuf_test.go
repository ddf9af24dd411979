package exposition

import (
	"bytes"
	"errors"
	"io"
	"math"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"google.golang.org/protobuf/encoding/protodelim"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/vigil-monitoring/vigil/internal/model/exemplar"
	"github.com/vigil-monitoring/vigil/internal/model/histogram"
	"github.com/vigil-monitoring/vigil/internal/model/labels"
)

// pbEncode writes families the way client_golang serves them: each message
// preceded by its uvarint length.
func pbEncode(t testing.TB, mfs ...*dto.MetricFamily) []byte {
	t.Helper()
	var buf bytes.Buffer
	for _, mf := range mfs {
		if _, err := protodelim.MarshalTo(&buf, mf); err != nil {
			t.Fatal(err)
		}
	}
	return buf.Bytes()
}

func pbLabels(kv ...string) []*dto.LabelPair {
	var out []*dto.LabelPair
	for i := 0; i < len(kv); i += 2 {
		out = append(out, &dto.LabelPair{Name: proto.String(kv[i]), Value: proto.String(kv[i+1])})
	}
	return out
}

func pbTs(sec int64, nsec int64) *timestamppb.Timestamp {
	return timestamppb.New(time.Unix(sec, nsec))
}

func pbType(t dto.MetricType) *dto.MetricType { return &t }

// pbGot is one entry as seen through the Parser interface, with everything
// copied out of the parser's buffers.
type pbGot struct {
	Entry     Entry
	Name      string // family name of HELP, TYPE and UNIT entries
	Text      string // help text or unit
	Type      MetricType
	Labels    labels.Labels
	Ts        int64
	HasTs     bool
	V         float64
	H         *histogram.Histogram
	FH        *histogram.FloatHistogram
	CT        int64
	Exemplars []exemplar.Exemplar
}

func pbCloneHistogram(h *histogram.Histogram) *histogram.Histogram {
	if h == nil {
		return nil
	}
	c := *h
	c.PositiveSpans = pbCloneNonEmpty(h.PositiveSpans)
	c.NegativeSpans = pbCloneNonEmpty(h.NegativeSpans)
	c.PositiveBuckets = pbCloneNonEmpty(h.PositiveBuckets)
	c.NegativeBuckets = pbCloneNonEmpty(h.NegativeBuckets)
	c.CustomValues = pbCloneNonEmpty(h.CustomValues)
	return &c
}

func pbCloneFloatHistogram(h *histogram.FloatHistogram) *histogram.FloatHistogram {
	if h == nil {
		return nil
	}
	c := *h
	c.PositiveSpans = pbCloneNonEmpty(h.PositiveSpans)
	c.NegativeSpans = pbCloneNonEmpty(h.NegativeSpans)
	c.PositiveBuckets = pbCloneNonEmpty(h.PositiveBuckets)
	c.NegativeBuckets = pbCloneNonEmpty(h.NegativeBuckets)
	c.CustomValues = pbCloneNonEmpty(h.CustomValues)
	return &c
}

// pbCloneNonEmpty copies s, turning empty slices into nil so expectations
// need not care about the difference.
func pbCloneNonEmpty[T any](s []T) []T {
	if len(s) == 0 {
		return nil
	}
	return append([]T(nil), s...)
}

// pbCollect runs p to the end and returns what it yielded, plus the series
// key of every sample and the terminating error (nil at io.EOF).
func pbCollect(t testing.TB, p Parser) (got []pbGot, keys []string, err error) {
	t.Helper()
	var sb labels.ScratchBuilder
	for {
		e, err := p.Next()
		if errors.Is(err, io.EOF) {
			return got, keys, nil
		}
		if err != nil {
			return got, keys, err
		}
		g := pbGot{Entry: e}
		switch e {
		case EntryHelp:
			n, h := p.Help()
			g.Name, g.Text = string(n), string(h)
		case EntryUnit:
			n, u := p.Unit()
			g.Name, g.Text = string(n), string(u)
		case EntryType:
			n, typ := p.Type()
			g.Name, g.Type = string(n), typ
		case EntrySeries, EntryHistogram:
			var key []byte
			var ts *int64
			if e == EntrySeries {
				key, ts, g.V = p.Series()
			} else {
				var h *histogram.Histogram
				var fh *histogram.FloatHistogram
				key, ts, h, fh = p.Histogram()
				if (h == nil) == (fh == nil) {
					t.Fatalf("Histogram returned h=%v fh=%v, want exactly one", h, fh)
				}
				g.H, g.FH = pbCloneHistogram(h), pbCloneFloatHistogram(fh)
			}
			keys = append(keys, string(key))
			if ts != nil {
				g.Ts, g.HasTs = *ts, true
			}
			p.Labels(&sb)
			g.Labels = sb.Labels()
			g.CT = p.CreatedTimestamp()
			var ex exemplar.Exemplar
			for p.Exemplar(&ex) {
				g.Exemplars = append(g.Exemplars, ex)
				ex = exemplar.Exemplar{}
			}
		default:
			t.Fatalf("unexpected entry %d", e)
		}
		got = append(got, g)
	}
}

func pbHelp(name, text string) pbGot { return pbGot{Entry: EntryHelp, Name: name, Text: text} }
func pbUnit(name, unit string) pbGot { return pbGot{Entry: EntryUnit, Name: name, Text: unit} }
func pbTypeEntry(name string, typ MetricType) pbGot {
	return pbGot{Entry: EntryType, Name: name, Type: typ}
}
func pbSeries(v float64, kv ...string) pbGot {
	return pbGot{Entry: EntrySeries, Labels: labels.FromStrings(kv...), V: v}
}

func (g pbGot) withTs(ts int64) pbGot { g.Ts, g.HasTs = ts, true; return g }
func (g pbGot) withCT(ct int64) pbGot { g.CT = ct; return g }
func (g pbGot) withEx(ex ...exemplar.Exemplar) pbGot {
	g.Exemplars = ex
	return g
}

func pbCheck(t *testing.T, got, want []pbGot) {
	t.Helper()
	for i := 0; i < len(got) || i < len(want); i++ {
		switch {
		case i >= len(got):
			t.Errorf("entry %d: missing, want %+v", i, want[i])
		case i >= len(want):
			t.Errorf("entry %d: unexpected %+v", i, got[i])
		case !reflect.DeepEqual(got[i], want[i]):
			t.Errorf("entry %d:\n got %+v\nwant %+v", i, got[i], want[i])
			if got[i].H != nil && want[i].H != nil {
				t.Errorf("  histogram got %+v\n  want %+v", *got[i].H, *want[i].H)
			}
			if got[i].FH != nil && want[i].FH != nil {
				t.Errorf("  float histogram got %+v\n  want %+v", *got[i].FH, *want[i].FH)
			}
		}
	}
}

func TestProtobufParserSimpleTypes(t *testing.T) {
	body := pbEncode(t,
		&dto.MetricFamily{
			Name: proto.String("http_requests_total"),
			Help: proto.String("Requests served."),
			Type: pbType(dto.MetricType_COUNTER),
			Metric: []*dto.Metric{
				{
					Label: pbLabels("method", "get", "code", "200"),
					Counter: &dto.Counter{
						Value: proto.Float64(1027),
						Exemplar: &dto.Exemplar{
							Label:     pbLabels("trace_id", "abc123", "span_id", "s1"),
							Value:     proto.Float64(0.5),
							Timestamp: pbTs(1700000000, 123456789),
						},
						CreatedTimestamp: pbTs(1600000000, 500000000),
					},
					TimestampMs: proto.Int64(1700000001000),
				},
				{
					Label:   pbLabels("method", "post", "code", "500"),
					Counter: &dto.Counter{Value: proto.Float64(3)},
				},
			},
		},
		&dto.MetricFamily{
			Name: proto.String("empty_family"),
			Help: proto.String("Has no metrics and must not show up."),
			Type: pbType(dto.MetricType_GAUGE),
		},
		&dto.MetricFamily{
			Name:   proto.String("temperature_celsius"),
			Type:   pbType(dto.MetricType_GAUGE),
			Unit:   proto.String("celsius"),
			Metric: []*dto.Metric{{Gauge: &dto.Gauge{Value: proto.Float64(-3.25)}}},
		},
		&dto.MetricFamily{
			Name: proto.String("some_untyped"),
			Help: proto.String("Untyped."),
			Type: pbType(dto.MetricType_UNTYPED),
			Metric: []*dto.Metric{
				{Label: pbLabels("a", "1"), Untyped: &dto.Untyped{Value: proto.Float64(math.Inf(-1))}, TimestampMs: proto.Int64(0)},
			},
		},
		&dto.MetricFamily{
			Name: proto.String("my.utf8.métric"),
			Help: proto.String("Hélp ☃"),
			Type: pbType(dto.MetricType_GAUGE),
			Metric: []*dto.Metric{
				{Label: pbLabels("ünïcode.label", "välue ☃", "quote\"d", "new\nline"), Gauge: &dto.Gauge{Value: proto.Float64(1)}},
			},
		},
	)
	got, keys, err := pbCollect(t, NewProtobufParser(body, Options{}))
	if err != nil {
		t.Fatal(err)
	}
	pbCheck(t, got, []pbGot{
		pbHelp("http_requests_total", "Requests served."),
		pbTypeEntry("http_requests_total", MetricTypeCounter),
		pbSeries(1027, "__name__", "http_requests_total", "code", "200", "method", "get").
			withTs(1700000001000).withCT(1600000000500).
			withEx(exemplar.Exemplar{Labels: labels.FromStrings("span_id", "s1", "trace_id", "abc123"), Value: 0.5, Ts: 1700000000123, HasTs: true}),
		pbSeries(3, "__name__", "http_requests_total", "code", "500", "method", "post"),
		pbHelp("temperature_celsius", ""),
		pbUnit("temperature_celsius", "celsius"),
		pbTypeEntry("temperature_celsius", MetricTypeGauge),
		pbSeries(-3.25, "__name__", "temperature_celsius"),
		pbHelp("some_untyped", "Untyped."),
		pbTypeEntry("some_untyped", MetricTypeUnknown),
		pbSeries(math.Inf(-1), "__name__", "some_untyped", "a", "1"),
		pbHelp("my.utf8.métric", "Hélp ☃"),
		pbTypeEntry("my.utf8.métric", MetricTypeGauge),
		pbSeries(1, "__name__", "my.utf8.métric", "quote\"d", "new\nline", "ünïcode.label", "välue ☃"),
	})
	wantKeys := []string{
		"http_requests_total\xffmethod\xffget\xffcode\xff200",
		"http_requests_total\xffmethod\xffpost\xffcode\xff500",
		"temperature_celsius",
		"some_untyped\xffa\xff1",
		"my.utf8.métric\xffünïcode.label\xffvälue ☃\xffquote\"d\xffnew\nline",
	}
	if !reflect.DeepEqual(keys, wantKeys) {
		t.Errorf("series keys\n got %q\nwant %q", keys, wantKeys)
	}
}

func TestProtobufParserSummary(t *testing.T) {
	body := pbEncode(t, &dto.MetricFamily{
		Name: proto.String("rpc_duration_seconds"),
		Help: proto.String("RPC latency."),
		Type: pbType(dto.MetricType_SUMMARY),
		Unit: proto.String("seconds"),
		Metric: []*dto.Metric{
			{
				Label: pbLabels("service", "a"),
				Summary: &dto.Summary{
					SampleCount: proto.Uint64(10),
					SampleSum:   proto.Float64(1.5),
					Quantile: []*dto.Quantile{
						{Quantile: proto.Float64(0.5), Value: proto.Float64(0.1)},
						{Quantile: proto.Float64(0.99), Value: proto.Float64(0.2)},
						{Quantile: proto.Float64(1), Value: proto.Float64(0.3)},
						{Quantile: proto.Float64(0), Value: proto.Float64(0.01)},
					},
					CreatedTimestamp: pbTs(1600000000, 0),
				},
				TimestampMs: proto.Int64(1234),
			},
			{
				Label:   pbLabels("service", "b"),
				Summary: &dto.Summary{SampleCount: proto.Uint64(0), SampleSum: proto.Float64(0)},
			},
		},
	})
	got, keys, err := pbCollect(t, NewProtobufParser(body, Options{}))
	if err != nil {
		t.Fatal(err)
	}
	ct := int64(1600000000000)
	pbCheck(t, got, []pbGot{
		pbHelp("rpc_duration_seconds", "RPC latency."),
		pbUnit("rpc_duration_seconds", "seconds"),
		pbTypeEntry("rpc_duration_seconds", MetricTypeSummary),
		pbSeries(10, "__name__", "rpc_duration_seconds_count", "service", "a").withTs(1234).withCT(ct),
		pbSeries(1.5, "__name__", "rpc_duration_seconds_sum", "service", "a").withTs(1234).withCT(ct),
		pbSeries(0.1, "__name__", "rpc_duration_seconds", "quantile", "0.5", "service", "a").withTs(1234).withCT(ct),
		pbSeries(0.2, "__name__", "rpc_duration_seconds", "quantile", "0.99", "service", "a").withTs(1234).withCT(ct),
		pbSeries(0.3, "__name__", "rpc_duration_seconds", "quantile", "1.0", "service", "a").withTs(1234).withCT(ct),
		pbSeries(0.01, "__name__", "rpc_duration_seconds", "quantile", "0.0", "service", "a").withTs(1234).withCT(ct),
		pbSeries(0, "__name__", "rpc_duration_seconds_count", "service", "b"),
		pbSeries(0, "__name__", "rpc_duration_seconds_sum", "service", "b"),
	})
	if want := "rpc_duration_seconds\xffservice\xffa\xffquantile\xff0.99"; keys[3] != want {
		t.Errorf("quantile key %q, want %q", keys[3], want)
	}
}

func TestProtobufParserClassicHistogram(t *testing.T) {
	body := pbEncode(t,
		&dto.MetricFamily{
			Name: proto.String("request_latency_seconds"),
			Help: proto.String("Latency."),
			Type: pbType(dto.MetricType_HISTOGRAM),
			Metric: []*dto.Metric{
				{
					Label: pbLabels("path", "/"),
					Histogram: &dto.Histogram{
						SampleCount: proto.Uint64(7),
						SampleSum:   proto.Float64(12.5),
						Bucket: []*dto.Bucket{
							{UpperBound: proto.Float64(0.1), CumulativeCount: proto.Uint64(1)},
							{UpperBound: proto.Float64(1), CumulativeCount: proto.Uint64(3), Exemplar: &dto.Exemplar{
								Label: pbLabels("trace_id", "x"), Value: proto.Float64(0.7),
							}},
							{UpperBound: proto.Float64(100000), CumulativeCount: proto.Uint64(5)},
							{UpperBound: proto.Float64(1e6), CumulativeCount: proto.Uint64(6)},
						},
						CreatedTimestamp: pbTs(1000, 2_000_000),
					},
				},
				{
					// Float counts, an explicit +Inf bucket and a bucket after it
					// that Prometheus ignores.
					Label: pbLabels("path", "/x"),
					Histogram: &dto.Histogram{
						SampleCountFloat: proto.Float64(4.5),
						SampleSum:        proto.Float64(3),
						Bucket: []*dto.Bucket{
							{UpperBound: proto.Float64(-1), CumulativeCountFloat: proto.Float64(0.5)},
							{UpperBound: proto.Float64(2.5), CumulativeCountFloat: proto.Float64(2.5)},
							{UpperBound: proto.Float64(math.Inf(1)), CumulativeCountFloat: proto.Float64(4.5)},
							{UpperBound: proto.Float64(5), CumulativeCountFloat: proto.Float64(9)},
						},
					},
				},
				{
					// No buckets at all: only count, sum and the +Inf bucket.
					Label:     pbLabels("path", "/empty"),
					Histogram: &dto.Histogram{SampleCount: proto.Uint64(0), SampleSum: proto.Float64(0)},
				},
			},
		},
		&dto.MetricFamily{
			Name: proto.String("queue_size"),
			Type: pbType(dto.MetricType_GAUGE_HISTOGRAM),
			Metric: []*dto.Metric{{
				Histogram: &dto.Histogram{
					SampleCount: proto.Uint64(2),
					SampleSum:   proto.Float64(5),
					Bucket:      []*dto.Bucket{{UpperBound: proto.Float64(4), CumulativeCount: proto.Uint64(1)}},
				},
			}},
		},
	)
	got, keys, err := pbCollect(t, NewProtobufParser(body, Options{}))
	if err != nil {
		t.Fatal(err)
	}
	const n = "request_latency_seconds"
	ct := int64(1000002)
	pbCheck(t, got, []pbGot{
		pbHelp(n, "Latency."),
		pbTypeEntry(n, MetricTypeHistogram),
		pbSeries(7, "__name__", n+"_count", "path", "/").withCT(ct),
		pbSeries(12.5, "__name__", n+"_sum", "path", "/").withCT(ct),
		pbSeries(1, "__name__", n+"_bucket", "le", "0.1", "path", "/").withCT(ct),
		pbSeries(3, "__name__", n+"_bucket", "le", "1.0", "path", "/").withCT(ct).
			withEx(exemplar.Exemplar{Labels: labels.FromStrings("trace_id", "x"), Value: 0.7}),
		pbSeries(5, "__name__", n+"_bucket", "le", "100000.0", "path", "/").withCT(ct),
		pbSeries(6, "__name__", n+"_bucket", "le", "1e+06", "path", "/").withCT(ct),
		pbSeries(7, "__name__", n+"_bucket", "le", "+Inf", "path", "/").withCT(ct),
		pbSeries(4.5, "__name__", n+"_count", "path", "/x"),
		pbSeries(3, "__name__", n+"_sum", "path", "/x"),
		pbSeries(0.5, "__name__", n+"_bucket", "le", "-1.0", "path", "/x"),
		pbSeries(2.5, "__name__", n+"_bucket", "le", "2.5", "path", "/x"),
		pbSeries(4.5, "__name__", n+"_bucket", "le", "+Inf", "path", "/x"),
		pbSeries(0, "__name__", n+"_count", "path", "/empty"),
		pbSeries(0, "__name__", n+"_sum", "path", "/empty"),
		pbSeries(0, "__name__", n+"_bucket", "le", "+Inf", "path", "/empty"),
		pbHelp("queue_size", ""),
		pbTypeEntry("queue_size", MetricTypeGaugeHistogram),
		pbSeries(2, "__name__", "queue_size_count"),
		pbSeries(5, "__name__", "queue_size_sum"),
		pbSeries(1, "__name__", "queue_size_bucket", "le", "4.0"),
		pbSeries(2, "__name__", "queue_size_bucket", "le", "+Inf"),
	})
	seen := map[string]bool{}
	for _, k := range keys {
		if seen[k] {
			t.Errorf("series key %q returned twice", k)
		}
		seen[k] = true
	}
	if want := n + "_bucket\xffpath\xff/\xffle\xff+Inf"; keys[6] != want {
		t.Errorf("+Inf key %q, want %q", keys[6], want)
	}
}

// pbNativeFamily is a histogram family with one native histogram that
// also has classic buckets, as client_golang exposes it when both are
// configured.
func pbNativeFamily(typ dto.MetricType) *dto.MetricFamily {
	return &dto.MetricFamily{
		Name: proto.String("rpc_latency_seconds"),
		Help: proto.String("Native."),
		Type: pbType(typ),
		Metric: []*dto.Metric{{
			Label: pbLabels("job", "a"),
			Histogram: &dto.Histogram{
				SampleCount:   proto.Uint64(10),
				SampleSum:     proto.Float64(20.5),
				Schema:        proto.Int32(3),
				ZeroThreshold: proto.Float64(1e-3),
				ZeroCount:     proto.Uint64(2),
				NegativeSpan:  []*dto.BucketSpan{{Offset: proto.Int32(-1), Length: proto.Uint32(1)}},
				NegativeDelta: []int64{1},
				PositiveSpan: []*dto.BucketSpan{
					{Offset: proto.Int32(0), Length: proto.Uint32(2)},
					{Offset: proto.Int32(2), Length: proto.Uint32(1)},
				},
				PositiveDelta: []int64{2, 1, -1},
				Bucket: []*dto.Bucket{
					{UpperBound: proto.Float64(1), CumulativeCount: proto.Uint64(5), Exemplar: &dto.Exemplar{
						Label: pbLabels("trace_id", "bucket"), Value: proto.Float64(0.9), Timestamp: pbTs(50, 0),
					}},
					{UpperBound: proto.Float64(10), CumulativeCount: proto.Uint64(9)},
				},
				Exemplars: []*dto.Exemplar{
					{Label: pbLabels("trace_id", "a"), Value: proto.Float64(1.5), Timestamp: pbTs(100, 0)},
					{Label: pbLabels("trace_id", "no-ts"), Value: proto.Float64(2.5)},
					{Label: pbLabels("trace_id", "c"), Value: proto.Float64(-1), Timestamp: pbTs(101, 7_000_000)},
				},
				CreatedTimestamp: pbTs(10, 0),
			},
			TimestampMs: proto.Int64(5000),
		}},
	}
}

func TestProtobufParserNativeHistogram(t *testing.T) {
	const n = "rpc_latency_seconds"
	wantH := &histogram.Histogram{
		Schema:          3,
		ZeroThreshold:   1e-3,
		ZeroCount:       2,
		Count:           10,
		Sum:             20.5,
		PositiveSpans:   []histogram.Span{{Offset: 0, Length: 2}, {Offset: 2, Length: 1}},
		NegativeSpans:   []histogram.Span{{Offset: -1, Length: 1}},
		PositiveBuckets: []int64{2, 1, -1},
		NegativeBuckets: []int64{1},
	}
	native := pbGot{
		Entry:  EntryHistogram,
		Labels: labels.FromStrings("__name__", n, "job", "a"),
		Ts:     5000, HasTs: true,
		H:  wantH,
		CT: 10000,
		Exemplars: []exemplar.Exemplar{
			{Labels: labels.FromStrings("trace_id", "a"), Value: 1.5, Ts: 100000, HasTs: true},
			{Labels: labels.FromStrings("trace_id", "c"), Value: -1, Ts: 101007, HasTs: true},
		},
	}
	classic := []pbGot{
		pbSeries(10, "__name__", n+"_count", "job", "a").withTs(5000).withCT(10000),
		pbSeries(20.5, "__name__", n+"_sum", "job", "a").withTs(5000).withCT(10000),
		pbSeries(5, "__name__", n+"_bucket", "job", "a", "le", "1.0").withTs(5000).withCT(10000).
			withEx(exemplar.Exemplar{Labels: labels.FromStrings("trace_id", "bucket"), Value: 0.9, Ts: 50000, HasTs: true}),
		pbSeries(9, "__name__", n+"_bucket", "job", "a", "le", "10.0").withTs(5000).withCT(10000),
		pbSeries(10, "__name__", n+"_bucket", "job", "a", "le", "+Inf").withTs(5000).withCT(10000),
	}
	body := pbEncode(t, pbNativeFamily(dto.MetricType_HISTOGRAM))

	t.Run("native only", func(t *testing.T) {
		got, keys, err := pbCollect(t, NewProtobufParser(body, Options{}))
		if err != nil {
			t.Fatal(err)
		}
		pbCheck(t, got, []pbGot{pbHelp(n, "Native."), pbTypeEntry(n, MetricTypeHistogram), native})
		if want := []string{n + "\xffjob\xffa"}; !reflect.DeepEqual(keys, want) {
			t.Errorf("keys %q, want %q", keys, want)
		}
	})
	t.Run("keep classic", func(t *testing.T) {
		got, _, err := pbCollect(t, NewProtobufParser(body, Options{KeepClassicHistograms: true}))
		if err != nil {
			t.Fatal(err)
		}
		want := []pbGot{pbHelp(n, "Native."), pbTypeEntry(n, MetricTypeHistogram), native}
		pbCheck(t, got, append(want, classic...))
	})
	t.Run("gauge histogram", func(t *testing.T) {
		got, _, err := pbCollect(t, NewProtobufParser(pbEncode(t, pbNativeFamily(dto.MetricType_GAUGE_HISTOGRAM)), Options{}))
		if err != nil {
			t.Fatal(err)
		}
		g := native
		h := *wantH
		h.CounterResetHint = histogram.GaugeType
		g.H = &h
		pbCheck(t, got, []pbGot{pbHelp(n, "Native."), pbTypeEntry(n, MetricTypeGaugeHistogram), g})
	})
	t.Run("bucket exemplars when the list is empty", func(t *testing.T) {
		mf := pbNativeFamily(dto.MetricType_HISTOGRAM)
		mf.Metric[0].Histogram.Exemplars = nil
		mf.Metric[0].Histogram.Bucket[1].Exemplar = &dto.Exemplar{Label: pbLabels("x", "no-ts"), Value: proto.Float64(3)}
		got, _, err := pbCollect(t, NewProtobufParser(pbEncode(t, mf), Options{}))
		if err != nil {
			t.Fatal(err)
		}
		g := native
		g.Exemplars = []exemplar.Exemplar{{Labels: labels.FromStrings("trace_id", "bucket"), Value: 0.9, Ts: 50000, HasTs: true}}
		pbCheck(t, got, []pbGot{pbHelp(n, "Native."), pbTypeEntry(n, MetricTypeHistogram), g})
	})
}

// pbWantNoopSpans is what the no-op span of an empty native histogram
// becomes: compaction drops it, as in Prometheus.
var pbWantNoopSpans []histogram.Span

func TestProtobufParserFloatAndCustomHistograms(t *testing.T) {
	body := pbEncode(t,
		&dto.MetricFamily{
			Name: proto.String("float_hist"),
			Type: pbType(dto.MetricType_HISTOGRAM),
			Metric: []*dto.Metric{{
				Histogram: &dto.Histogram{
					SampleCountFloat: proto.Float64(10.5),
					SampleSum:        proto.Float64(-4),
					Schema:           proto.Int32(0),
					ZeroThreshold:    proto.Float64(0.001),
					ZeroCountFloat:   proto.Float64(0.5),
					PositiveSpan:     []*dto.BucketSpan{{Offset: proto.Int32(1), Length: proto.Uint32(2)}},
					PositiveCount:    []float64{4, 6},
				},
			}},
		},
		&dto.MetricFamily{
			Name: proto.String("nhcb"),
			Type: pbType(dto.MetricType_HISTOGRAM),
			Metric: []*dto.Metric{{
				Histogram: &dto.Histogram{
					SampleCount:   proto.Uint64(6),
					SampleSum:     proto.Float64(7),
					Schema:        proto.Int32(histogram.CustomBucketsSchema),
					PositiveSpan:  []*dto.BucketSpan{{Offset: proto.Int32(0), Length: proto.Uint32(4)}},
					PositiveDelta: []int64{1, 1, 0, -1},
					Bucket: []*dto.Bucket{
						{UpperBound: proto.Float64(0.5), CumulativeCount: proto.Uint64(1)},
						{UpperBound: proto.Float64(1), CumulativeCount: proto.Uint64(3)},
						{UpperBound: proto.Float64(2.5), CumulativeCount: proto.Uint64(5)},
						{UpperBound: proto.Float64(math.Inf(1)), CumulativeCount: proto.Uint64(6)},
					},
				},
			}},
		},
		&dto.MetricFamily{
			// The custom buckets schema alone makes a histogram native.
			Name: proto.String("nhcb_empty"),
			Type: pbType(dto.MetricType_HISTOGRAM),
			Metric: []*dto.Metric{{
				Histogram: &dto.Histogram{
					SampleCount: proto.Uint64(0),
					SampleSum:   proto.Float64(0),
					Schema:      proto.Int32(histogram.CustomBucketsSchema),
					Bucket:      []*dto.Bucket{{UpperBound: proto.Float64(10), CumulativeCount: proto.Uint64(0)}},
				},
			}},
		},
		&dto.MetricFamily{
			// An empty native histogram, marked as native by a no-op span.
			Name: proto.String("empty_native"),
			Type: pbType(dto.MetricType_GAUGE_HISTOGRAM),
			Metric: []*dto.Metric{{
				Histogram: &dto.Histogram{
					SampleCount:  proto.Uint64(0),
					SampleSum:    proto.Float64(0),
					Schema:       proto.Int32(1),
					PositiveSpan: []*dto.BucketSpan{{Offset: proto.Int32(0), Length: proto.Uint32(0)}},
				},
			}},
		},
	)
	got, _, err := pbCollect(t, NewProtobufParser(body, Options{KeepClassicHistograms: true}))
	if err != nil {
		t.Fatal(err)
	}
	pbCheck(t, got, []pbGot{
		pbHelp("float_hist", ""),
		pbTypeEntry("float_hist", MetricTypeHistogram),
		{Entry: EntryHistogram, Labels: labels.FromStrings("__name__", "float_hist"), FH: &histogram.FloatHistogram{
			ZeroThreshold:   0.001,
			ZeroCount:       0.5,
			Count:           10.5,
			Sum:             -4,
			PositiveSpans:   []histogram.Span{{Offset: 1, Length: 2}},
			PositiveBuckets: []float64{4, 6},
		}},
		pbHelp("nhcb", ""),
		pbTypeEntry("nhcb", MetricTypeHistogram),
		{Entry: EntryHistogram, Labels: labels.FromStrings("__name__", "nhcb"), H: &histogram.Histogram{
			Schema:          histogram.CustomBucketsSchema,
			Count:           6,
			Sum:             7,
			PositiveSpans:   []histogram.Span{{Offset: 0, Length: 4}},
			PositiveBuckets: []int64{1, 1, 0, -1},
			CustomValues:    []float64{0.5, 1, 2.5},
		}},
		pbSeries(6, "__name__", "nhcb_count"),
		pbSeries(7, "__name__", "nhcb_sum"),
		pbSeries(1, "__name__", "nhcb_bucket", "le", "0.5"),
		pbSeries(3, "__name__", "nhcb_bucket", "le", "1.0"),
		pbSeries(5, "__name__", "nhcb_bucket", "le", "2.5"),
		pbSeries(6, "__name__", "nhcb_bucket", "le", "+Inf"),
		pbHelp("nhcb_empty", ""),
		pbTypeEntry("nhcb_empty", MetricTypeHistogram),
		{Entry: EntryHistogram, Labels: labels.FromStrings("__name__", "nhcb_empty"), H: &histogram.Histogram{
			Schema:       histogram.CustomBucketsSchema,
			CustomValues: []float64{10},
		}},
		pbSeries(0, "__name__", "nhcb_empty_count"),
		pbSeries(0, "__name__", "nhcb_empty_sum"),
		pbSeries(0, "__name__", "nhcb_empty_bucket", "le", "10.0"),
		pbSeries(0, "__name__", "nhcb_empty_bucket", "le", "+Inf"),
		pbHelp("empty_native", ""),
		pbTypeEntry("empty_native", MetricTypeGaugeHistogram),
		{Entry: EntryHistogram, Labels: labels.FromStrings("__name__", "empty_native"), H: &histogram.Histogram{
			CounterResetHint: histogram.GaugeType,
			Schema:           1,
			PositiveSpans:    pbWantNoopSpans,
		}},
	})
}

// pbRawHistogramMetric hand-encodes a native histogram family with packed
// repeated fields (what proto3 encoders and some client libraries send)
// and unknown fields sprinkled in every message.
func pbRawHistogramFamily() []byte {
	unknown := func(b []byte) []byte {
		b = protowire.AppendTag(b, 99, protowire.VarintType)
		b = protowire.AppendVarint(b, 12345)
		b = protowire.AppendTag(b, 100, protowire.BytesType)
		b = protowire.AppendBytes(b, []byte("future"))
		b = protowire.AppendTag(b, 101, protowire.StartGroupType)
		b = protowire.AppendTag(b, 1, protowire.Fixed32Type)
		b = protowire.AppendFixed32(b, 7)
		b = protowire.AppendTag(b, 101, protowire.EndGroupType)
		return b
	}
	span := func(off int32, length uint32) []byte {
		var s []byte
		s = protowire.AppendTag(s, 1, protowire.VarintType)
		s = protowire.AppendVarint(s, protowire.EncodeZigZag(int64(off)))
		s = unknown(s)
		s = protowire.AppendTag(s, 2, protowire.VarintType)
		s = protowire.AppendVarint(s, uint64(length))
		return s
	}
	var h []byte
	h = unknown(h)
	h = protowire.AppendTag(h, 1, protowire.VarintType)
	h = protowire.AppendVarint(h, 10)
	h = protowire.AppendTag(h, 2, protowire.Fixed64Type)
	h = protowire.AppendFixed64(h, math.Float64bits(20.5))
	h = protowire.AppendTag(h, 5, protowire.VarintType)
	h = protowire.AppendVarint(h, protowire.EncodeZigZag(3))
	h = protowire.AppendTag(h, 6, protowire.Fixed64Type)
	h = protowire.AppendFixed64(h, math.Float64bits(1e-3))
	h = protowire.AppendTag(h, 7, protowire.VarintType)
	h = protowire.AppendVarint(h, 2)
	h = protowire.AppendTag(h, 9, protowire.BytesType)
	h = protowire.AppendBytes(h, span(-1, 1))
	var packed []byte
	packed = protowire.AppendVarint(packed, protowire.EncodeZigZag(1))
	h = protowire.AppendTag(h, 10, protowire.BytesType)
	h = protowire.AppendBytes(h, packed)
	h = protowire.AppendTag(h, 12, protowire.BytesType)
	h = protowire.AppendBytes(h, span(0, 2))
	h = protowire.AppendTag(h, 12, protowire.BytesType)
	h = protowire.AppendBytes(h, span(2, 1))
	packed = packed[:0]
	for _, d := range []int64{2, 1} {
		packed = protowire.AppendVarint(packed, protowire.EncodeZigZag(d))
	}
	h = protowire.AppendTag(h, 13, protowire.BytesType)
	h = protowire.AppendBytes(h, packed)
	// The last delta unpacked: both forms may be mixed.
	h = protowire.AppendTag(h, 13, protowire.VarintType)
	h = protowire.AppendVarint(h, protowire.EncodeZigZag(-1))

	var lp []byte
	lp = protowire.AppendTag(lp, 1, protowire.BytesType)
	lp = protowire.AppendString(lp, "job")
	lp = unknown(lp)
	lp = protowire.AppendTag(lp, 2, protowire.BytesType)
	lp = protowire.AppendString(lp, "a")

	var m []byte
	m = protowire.AppendTag(m, 7, protowire.BytesType)
	m = protowire.AppendBytes(m, h)
	m = unknown(m)
	m = protowire.AppendTag(m, 1, protowire.BytesType)
	m = protowire.AppendBytes(m, lp)

	var mf []byte
	mf = protowire.AppendTag(mf, 4, protowire.BytesType)
	mf = protowire.AppendBytes(mf, m)
	mf = unknown(mf)
	mf = protowire.AppendTag(mf, 3, protowire.VarintType)
	mf = protowire.AppendVarint(mf, uint64(dto.MetricType_HISTOGRAM))
	mf = protowire.AppendTag(mf, 1, protowire.BytesType)
	mf = protowire.AppendString(mf, "rpc_latency_seconds")
	mf = protowire.AppendTag(mf, 2, protowire.BytesType)
	mf = protowire.AppendString(mf, "Native.")
	return protowire.AppendBytes(nil, mf)
}

func TestProtobufParserPackedAndUnknownFields(t *testing.T) {
	got, keys, err := pbCollect(t, NewProtobufParser(pbRawHistogramFamily(), Options{}))
	if err != nil {
		t.Fatal(err)
	}
	const n = "rpc_latency_seconds"
	pbCheck(t, got, []pbGot{
		pbHelp(n, "Native."),
		pbTypeEntry(n, MetricTypeHistogram),
		{Entry: EntryHistogram, Labels: labels.FromStrings("__name__", n, "job", "a"), H: &histogram.Histogram{
			Schema:          3,
			ZeroThreshold:   1e-3,
			ZeroCount:       2,
			Count:           10,
			Sum:             20.5,
			PositiveSpans:   []histogram.Span{{Offset: 0, Length: 2}, {Offset: 2, Length: 1}},
			NegativeSpans:   []histogram.Span{{Offset: -1, Length: 1}},
			PositiveBuckets: []int64{2, 1, -1},
			NegativeBuckets: []int64{1},
		}},
	})
	// The same histogram as client_golang encodes it gives the same key.
	_, want, err := pbCollect(t, NewProtobufParser(pbEncode(t, pbNativeFamily(dto.MetricType_HISTOGRAM)), Options{}))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(keys, want) {
		t.Errorf("keys %q, want %q", keys, want)
	}
}

func TestProtobufParserErrors(t *testing.T) {
	good := pbEncode(t, &dto.MetricFamily{
		Name:   proto.String("ok"),
		Type:   pbType(dto.MetricType_GAUGE),
		Metric: []*dto.Metric{{Gauge: &dto.Gauge{Value: proto.Float64(1)}}},
	})
	family := func(mf *dto.MetricFamily) []byte { return pbEncode(t, mf) }
	gauge := []*dto.Metric{{Gauge: &dto.Gauge{Value: proto.Float64(1)}}}
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	// A histogram with 3 positive buckets but spans for 2.
	badSpans := family(&dto.MetricFamily{
		Name: proto.String("h"),
		Type: pbType(dto.MetricType_HISTOGRAM),
		Metric: []*dto.Metric{{Histogram: &dto.Histogram{
			Schema:        proto.Int32(0),
			PositiveSpan:  []*dto.BucketSpan{{Offset: proto.Int32(0), Length: proto.Uint32(2)}},
			PositiveDelta: []int64{1, 0, 0},
		}}},
	})
	for _, tc := range []struct {
		name string
		body []byte
		// okSamples is how many samples come before the error.
		okSamples int
		want      string
	}{
		{
			name:      "truncated message",
			body:      cat(good, good[:len(good)-3]),
			okSamples: 1,
			want:      "protobuf message 2 at offset " + strconv.Itoa(len(good)) + ": message length " + strconv.Itoa(len(good)-1) + " exceeds the " + strconv.Itoa(len(good)-4) + " bytes left",
		},
		{
			name: "truncated length prefix",
			body: []byte{0x80},
			want: "protobuf message 1 at offset 0: invalid length prefix: unexpected EOF",
		},
		{
			name: "garbage length prefix",
			body: bytes.Repeat([]byte{0xff}, 11),
			want: "protobuf message 1 at offset 0: invalid length prefix: variable length integer overflow",
		},
		{
			name: "huge length",
			body: protowire.AppendVarint(nil, math.MaxUint64),
			want: "protobuf message 1 at offset 0: message length 18446744073709551615 exceeds the 0 bytes left",
		},
		{
			name:      "invalid type",
			body:      cat(good, family(&dto.MetricFamily{Name: proto.String("x"), Type: pbType(9), Metric: gauge})),
			okSamples: 1,
			want:      "protobuf message 2 at offset " + strconv.Itoa(len(good)) + ` (family "x"): invalid metric type 9`,
		},
		{
			name: "missing name",
			body: family(&dto.MetricFamily{Type: pbType(dto.MetricType_GAUGE), Metric: gauge}),
			want: `protobuf message 1 at offset 0: invalid metric name ""`,
		},
		{
			name: "invalid UTF-8 name",
			body: family(&dto.MetricFamily{Name: proto.String("a\xffb"), Type: pbType(dto.MetricType_GAUGE), Metric: gauge}),
			want: `invalid metric name "a\xffb"`,
		},
		{
			name: "unit not a suffix",
			body: family(&dto.MetricFamily{Name: proto.String("size_bytes"), Unit: proto.String("seconds"), Type: pbType(dto.MetricType_GAUGE), Metric: gauge}),
			want: `(family "size_bytes"): unit "seconds" is not a suffix of the metric name`,
		},
		{
			name: "empty label name",
			body: family(&dto.MetricFamily{Name: proto.String("g"), Type: pbType(dto.MetricType_GAUGE), Metric: []*dto.Metric{
				{Gauge: &dto.Gauge{Value: proto.Float64(1)}},
				{Label: pbLabels("", "v"), Gauge: &dto.Gauge{Value: proto.Float64(1)}},
			}}),
			okSamples: 1,
			want:      `protobuf message 1 at offset 0 (family "g"): metric 2: metric field 1: invalid label name ""`,
		},
		{
			name: "invalid UTF-8 label value",
			body: family(&dto.MetricFamily{Name: proto.String("g"), Type: pbType(dto.MetricType_GAUGE), Metric: []*dto.Metric{
				{Label: pbLabels("a", "\xc3"), Gauge: &dto.Gauge{Value: proto.Float64(1)}},
			}}),
			want: `metric 1: metric field 1: invalid value "\xc3" for label "a"`,
		},
		{
			name: "spans do not match buckets",
			body: badSpans,
			want: `(family "h"): metric 1: native histogram: positive spans cover 2 buckets, but 3 bucket counts are given`,
		},
		{
			name: "custom bounds not increasing",
			body: family(&dto.MetricFamily{Name: proto.String("h"), Type: pbType(dto.MetricType_HISTOGRAM), Metric: []*dto.Metric{{
				Histogram: &dto.Histogram{
					Schema: proto.Int32(histogram.CustomBucketsSchema),
					Bucket: []*dto.Bucket{{UpperBound: proto.Float64(2)}, {UpperBound: proto.Float64(1)}},
				},
			}}}),
			want: `(family "h"): metric 1: custom bucket bounds must increase strictly, got 1 after 2`,
		},
		{
			name: "wrong wire type",
			body: protowire.AppendBytes(nil, protowire.AppendVarint(protowire.AppendTag(nil, 1, protowire.VarintType), 1)),
			want: "protobuf message 1 at offset 0: family field 1: wire type 0, want 2",
		},
		{
			name: "truncated field in metric",
			body: func() []byte {
				var m []byte
				m = protowire.AppendTag(m, pbMetricGauge, protowire.BytesType)
				m = protowire.AppendBytes(m, []byte{0x09, 1, 2}) // value: 3 of 8 bytes
				var mf []byte
				mf = protowire.AppendTag(mf, 1, protowire.BytesType)
				mf = protowire.AppendString(mf, "g")
				mf = protowire.AppendTag(mf, 3, protowire.VarintType)
				mf = protowire.AppendVarint(mf, 1)
				mf = protowire.AppendTag(mf, 4, protowire.BytesType)
				mf = protowire.AppendBytes(mf, m)
				return protowire.AppendBytes(nil, mf)
			}(),
			want: `(family "g"): metric 1: metric field 2: value field 1: unexpected EOF`,
		},
		{
			name: "field number 0",
			body: protowire.AppendBytes(nil, []byte{0x00, 0x01}),
			want: "protobuf message 1 at offset 0: invalid field number",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := NewProtobufParser(tc.body, Options{})
			samples := 0
			var err error
			for {
				var e Entry
				e, err = p.Next()
				if err != nil {
					break
				}
				if e == EntrySeries || e == EntryHistogram {
					samples++
				}
			}
			if errors.Is(err, io.EOF) {
				t.Fatalf("got io.EOF, want an error containing %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q\ndoes not contain %q", err, tc.want)
			}
			if samples != tc.okSamples {
				t.Errorf("%d samples before the error, want %d", samples, tc.okSamples)
			}
			// The parser stays failed.
			if _, err2 := p.Next(); err2 == nil || err2.Error() != err.Error() {
				t.Errorf("Next after the error returned %v, want %v", err2, err)
			}
		})
	}
}

func TestProtobufParserEmptyBody(t *testing.T) {
	p := NewProtobufParser(nil, Options{})
	for range 2 {
		if e, err := p.Next(); !errors.Is(err, io.EOF) || e != EntryInvalid {
			t.Fatalf("Next() = %v, %v; want EntryInvalid, io.EOF", e, err)
		}
	}
	// Only empty families: nothing at all.
	body := pbEncode(t, &dto.MetricFamily{Name: proto.String("a"), Type: pbType(dto.MetricType_COUNTER)},
		&dto.MetricFamily{Name: proto.String("b"), Help: proto.String("b")})
	got, _, err := pbCollect(t, NewProtobufParser(body, Options{}))
	if err != nil || len(got) != 0 {
		t.Fatalf("got %v, %v; want nothing", got, err)
	}
}

// TestProtobufParserSeriesKeys checks the series keys are the same across
// two scrapes of the same target and differ between all series of one.
func TestProtobufParserSeriesKeys(t *testing.T) {
	body := pbGenerateNodeExporter(t, 5)
	_, first, err := pbCollect(t, NewProtobufParser(body, Options{KeepClassicHistograms: true}))
	if err != nil {
		t.Fatal(err)
	}
	_, second, err := pbCollect(t, NewProtobufParser(bytes.Clone(body), Options{KeepClassicHistograms: true}))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(first, second) {
		t.Fatal("series keys differ between two parses of the same body")
	}
	seen := make(map[string]bool, len(first))
	for _, k := range first {
		if seen[k] {
			t.Errorf("key %q returned for two samples", k)
		}
		seen[k] = true
	}
	if len(first) < 100 {
		t.Fatalf("only %d samples generated", len(first))
	}
}

// TestProtobufParserAllocs checks that parsing allocates a bounded number
// of times per body (the parser and the growth of its reused buffers),
// not per sample.
func TestProtobufParserAllocs(t *testing.T) {
	var sb labels.ScratchBuilder
	measure := func(body []byte) (samples int, allocs float64) {
		run := func() {
			p := NewProtobufParser(body, Options{KeepClassicHistograms: true})
			samples = 0
			for {
				e, err := p.Next()
				if err != nil {
					if !errors.Is(err, io.EOF) {
						t.Fatal(err)
					}
					return
				}
				switch e {
				case EntrySeries:
					p.Series()
				case EntryHistogram:
					p.Histogram()
				default:
					continue
				}
				samples++
				p.CreatedTimestamp()
				p.Labels(&sb)
				if name, dup := sb.HasDuplicateLabelNames(); dup {
					t.Fatalf("duplicate label %q", name)
				}
			}
		}
		run()
		return samples, testing.AllocsPerRun(20, run)
	}
	smallN, small := measure(pbGenerateNodeExporter(t, 2))
	bigN, big := measure(pbGenerateNodeExporter(t, 20))
	t.Logf("%d samples: %.0f allocations; %d samples: %.0f allocations", smallN, small, bigN, big)
	if big > small+2 || big > 40 {
		t.Errorf("allocations grow with the samples: %.0f for %d samples, %.0f for %d", small, smallN, big, bigN)
	}
}
