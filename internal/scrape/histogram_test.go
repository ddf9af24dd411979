package scrape

import (
	"bytes"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"google.golang.org/protobuf/encoding/protodelim"
	"google.golang.org/protobuf/proto"

	"github.com/vigil-monitoring/vigil/internal/model/labels"
)

const protoType = "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited"

// nativeHistogramBody encodes one native histogram family h with
// schema 3 and the given positive spans, one observation per bucket.
func nativeHistogramBody(t *testing.T, spans []*dto.BucketSpan) []byte {
	t.Helper()
	n := 0
	for _, s := range spans {
		n += int(s.GetLength())
	}
	deltas := make([]int64, n)
	deltas[0] = 1 // counts 1,1,1,...: the first delta is 1, the rest 0
	typ := dto.MetricType_HISTOGRAM
	mf := &dto.MetricFamily{
		Name: proto.String("h"),
		Help: proto.String("A native histogram."),
		Type: &typ,
		Metric: []*dto.Metric{{
			Histogram: &dto.Histogram{
				SampleCount:   proto.Uint64(uint64(n)),
				SampleSum:     proto.Float64(float64(n)),
				Schema:        proto.Int32(3),
				ZeroThreshold: proto.Float64(1e-128),
				ZeroCount:     proto.Uint64(0),
				PositiveSpan:  spans,
				PositiveDelta: deltas,
				// A classic bucket too, as client libraries expose both.
				Bucket: []*dto.Bucket{{CumulativeCount: proto.Uint64(uint64(n)), UpperBound: proto.Float64(1e6)}},
			},
		}},
	}
	var buf bytes.Buffer
	if _, err := protodelim.MarshalTo(&buf, mf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestNativeHistogramsAndBucketLimit(t *testing.T) {
	h := labels.FromStrings("__name__", "h", "instance", "127.0.0.1:9", "job", "j")
	eight := []*dto.BucketSpan{{Offset: proto.Int32(0), Length: proto.Uint32(8)}}

	st := newTestStorage()
	sl := testLoop(t, st, simpleJob+"scrape_native_histograms: true\nnative_histogram_bucket_limit: 4\n")
	res, err := appendBodyType(t, sl, string(nativeHistogramBody(t, eight)), protoType, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if res.total != 1 {
		t.Errorf("result %+v", res)
	}
	smps := st.samplesOf(t, h)
	if len(smps) != 1 || smps[0].H == nil {
		t.Fatalf("samples %v", smps)
	}
	got := smps[0].H
	if got.Schema >= 3 || len(got.PositiveBuckets) > 4 || got.Count != 8 {
		t.Errorf("histogram not reduced under the limit: schema %d, %d buckets, count %d", got.Schema, len(got.PositiveBuckets), got.Count)
	}

	// Buckets too far apart to merge under the limit even at the lowest
	// resolution fail the scrape.
	apart := []*dto.BucketSpan{{Offset: proto.Int32(0), Length: proto.Uint32(1)}, {Offset: proto.Int32(5000), Length: proto.Uint32(1)}}
	st = newTestStorage()
	sl = testLoop(t, st, simpleJob+"scrape_native_histograms: true\nnative_histogram_bucket_limit: 1\n")
	if _, err := appendBodyType(t, sl, string(nativeHistogramBody(t, apart)), protoType, 1000); err == nil || err.Error() != "histogram bucket limit exceeded" {
		t.Errorf("err = %v", err)
	}
	if got := counterValue(sl.metrics.exceededBucketLimit); got != 1 {
		t.Errorf("bucket limit counter = %v", got)
	}

	// native_histogram_min_bucket_factor caps the resolution.
	st = newTestStorage()
	sl = testLoop(t, st, simpleJob+"scrape_native_histograms: true\nnative_histogram_min_bucket_factor: 1.1\n")
	if _, err := appendBodyType(t, sl, string(nativeHistogramBody(t, eight)), protoType, 1000); err != nil {
		t.Fatal(err)
	}
	if s := st.samplesOf(t, h); len(s) != 1 || s[0].H == nil || s[0].H.Schema != pickSchema(1.1) {
		t.Errorf("samples %v, want schema %d", s, pickSchema(1.1))
	}

	// Without native histogram scraping the classic series are stored.
	st = newTestStorage()
	sl = testLoop(t, st, simpleJob)
	if _, err := appendBodyType(t, sl, string(nativeHistogramBody(t, eight)), protoType, 1000); err != nil {
		t.Fatal(err)
	}
	all := st.series(t)
	if len(all[h.String()]) != 0 {
		t.Error("native histogram stored although scrape_native_histograms is off")
	}
	if c := all[labels.FromStrings("__name__", "h_count", "instance", "127.0.0.1:9", "job", "j").String()]; len(c) != 1 || c[0].F != 8 {
		t.Errorf("h_count = %v; series %v", c, seriesNames(all))
	}
}

func TestPickSchema(t *testing.T) {
	cases := map[float64]int32{0: 8, 1: 8, 1.00271: 8, 1.0028: 7, 1.1: 2, 2: 0, 4: -1, 1e9: -4}
	for f, want := range cases {
		if got := pickSchema(f); got != want {
			t.Errorf("pickSchema(%v) = %d, want %d", f, got, want)
		}
	}
}
