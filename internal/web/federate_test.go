package web

import (
	"bytes"
	"context"
	"io"
	"math"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"google.golang.org/protobuf/encoding/protodelim"

	"github.com/vigil-monitoring/vigil/internal/model/histogram"
	"github.com/vigil-monitoring/vigil/internal/model/labels"
	"github.com/vigil-monitoring/vigil/internal/model/value"
	"github.com/vigil-monitoring/vigil/internal/tsdb"
)

// now is the federation clock in these tests; data sits around it.
var fedNow = time.UnixMilli(1_700_000_600_000)

func federationDB(t *testing.T) *tsdb.DB {
	t.Helper()
	db, err := tsdb.Open(t.TempDir(), tsdb.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	app := db.Appender(context.Background())
	now := fedNow.UnixMilli()
	add := func(lset labels.Labels, ts int64, v float64) {
		t.Helper()
		if _, err := app.Append(0, lset, ts, v); err != nil {
			t.Fatal(err)
		}
	}
	// The newest sample within the lookback is what federation returns.
	add(labels.FromStrings("__name__", "up", "job", "a", "instance", "x:1"), now-60_000, 0)
	add(labels.FromStrings("__name__", "up", "job", "a", "instance", "x:1"), now-30_000, 1)
	// Older than the 5m lookback: left out.
	add(labels.FromStrings("__name__", "up", "job", "old", "instance", "y:1"), now-400_000, 1)
	// A stale series is left out.
	add(labels.FromStrings("__name__", "up", "job", "gone", "instance", "z:1"), now-40_000, 1)
	add(labels.FromStrings("__name__", "up", "job", "gone", "instance", "z:1"), now-20_000, value.StaleNaN)
	// No instance label: federation adds instance="". A cluster label
	// already set is kept rather than the external one.
	add(labels.FromStrings("__name__", "job:requests:rate5m", "job", "api", "cluster", "own"), now-10_000, 12.5)
	add(labels.FromStrings("__name__", "job:requests:rate5m", "job", "web"), now-10_000, math.Inf(1))
	add(labels.FromStrings("__name__", "weird.name", "http.code", "200"), now-10_000, 3)
	h := histogram.GenerateTestHistogram(1)
	if _, err := app.AppendHistogram(0, labels.FromStrings("__name__", "latency", "job", "api"), now-10_000, h, nil); err != nil {
		t.Fatal(err)
	}
	nhcb := &histogram.Histogram{
		Schema: histogram.CustomBucketsSchema, Count: 6, Sum: 9,
		PositiveSpans: []histogram.Span{{Offset: 0, Length: 3}}, PositiveBuckets: []int64{1, 2, -1}, // 1, 3, 2
		CustomValues: []float64{0.5, 1},
	}
	if _, err := app.AppendHistogram(0, labels.FromStrings("__name__", "size", "job", "api"), now-10_000, nhcb, nil); err != nil {
		t.Fatal(err)
	}
	if err := app.Commit(); err != nil {
		t.Fatal(err)
	}
	return db
}

func federationHandler(t *testing.T) *Handler {
	db := federationDB(t)
	h, lc := newTestHandler(t, func(o *Options) {
		o.Queryable = db
		o.ExternalLabels = func() labels.Labels { return labels.FromStrings("cluster", "eu", "replica", "1") }
	})
	lc.ready.Store(true)
	h.now = func() time.Time { return fedNow }
	return h
}

func TestFederateText(t *testing.T) {
	h := federationHandler(t)
	rec := do(h, "GET", `/federate?match[]=up&match[]={job="api"}&match[]={__name__=~"job:.*"}&match[]={"weird.name"}`)
	if rec.Code != 200 {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/plain; version=0.0.4") {
		t.Errorf("Content-Type %q", ct)
	}
	want := `# TYPE job:requests:rate5m untyped
job:requests:rate5m{cluster="own",instance="",job="api",replica="1"} 12.5 1700000590000
job:requests:rate5m{cluster="eu",instance="",job="web",replica="1"} +Inf 1700000590000
# TYPE size histogram
size_bucket{cluster="eu",instance="",job="api",le="0.5",replica="1"} 1 1700000590000
size_bucket{cluster="eu",instance="",job="api",le="1",replica="1"} 4 1700000590000
size_bucket{cluster="eu",instance="",job="api",le="+Inf",replica="1"} 6 1700000590000
size_sum{cluster="eu",instance="",job="api",replica="1"} 9 1700000590000
size_count{cluster="eu",instance="",job="api",replica="1"} 6 1700000590000
# TYPE up untyped
up{cluster="eu",instance="x:1",job="a",replica="1"} 1 1700000570000
# TYPE weird_name untyped
weird_name{cluster="eu",http_code="200",instance="",replica="1"} 3 1700000590000
`
	if got := rec.Body.String(); got != want {
		t.Errorf("federation output:\n%s\nwant:\n%s", got, want)
	}
}

func TestFederateUTF8Text(t *testing.T) {
	h := federationHandler(t)
	rec := do(h, "GET", `/federate?match[]={"weird.name"}`, "Accept", "text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2")
	want := `# TYPE "weird.name" untyped
{"weird.name",cluster="eu","http.code"="200",instance="",replica="1"} 3 1700000590000
`
	if got := rec.Body.String(); got != want || !strings.Contains(rec.Header().Get("Content-Type"), "version=1.0.0") {
		t.Errorf("UTF-8 federation (%s):\n%s\nwant:\n%s", rec.Header().Get("Content-Type"), got, want)
	}
}

func TestFederateProtobuf(t *testing.T) {
	h := federationHandler(t)
	rec := do(h, "GET", `/federate?match[]={job="api"}`,
		"Accept", "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.5,text/plain;q=0.1")
	if !strings.HasPrefix(rec.Header().Get("Content-Type"), "application/vnd.google.protobuf") {
		t.Fatalf("Content-Type %q", rec.Header().Get("Content-Type"))
	}
	r := bytes.NewReader(rec.Body.Bytes())
	var fams []*dto.MetricFamily
	for {
		mf := &dto.MetricFamily{}
		if err := protodelim.UnmarshalFrom(r, mf); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		fams = append(fams, mf)
	}
	if len(fams) != 3 || fams[0].GetName() != "job:requests:rate5m" || fams[1].GetName() != "latency" || fams[2].GetName() != "size" {
		t.Fatalf("families: %v", fams)
	}
	lat := fams[1]
	if lat.GetType() != dto.MetricType_HISTOGRAM || len(lat.Metric) != 1 {
		t.Fatalf("latency family: %v", lat)
	}
	nh := lat.Metric[0].GetHistogram()
	if nh.GetSchema() != 1 || nh.GetSampleCountFloat() != 23 || nh.GetZeroThreshold() != 0.001 || len(nh.PositiveSpan) != 2 || lat.Metric[0].GetTimestampMs() != 1700000590000 {
		t.Errorf("native histogram: %v", nh)
	}
	var names []string
	for _, lp := range lat.Metric[0].Label {
		names = append(names, lp.GetName()+"="+lp.GetValue())
	}
	if got := strings.Join(names, ","); got != "cluster=eu,instance=,job=api,replica=1" {
		t.Errorf("labels %s", got)
	}
	if b := fams[2].Metric[0].GetHistogram().Bucket; len(b) != 3 || b[1].GetCumulativeCountFloat() != 4 {
		t.Errorf("custom buckets as classic: %v", b)
	}
}

func TestFederateErrors(t *testing.T) {
	h := federationHandler(t)
	if rec := do(h, "GET", "/federate"); rec.Code != 400 {
		t.Errorf("no match[]: %d", rec.Code)
	}
	if rec := do(h, "GET", "/federate?match[]=up{"); rec.Code != 400 {
		t.Errorf("bad match[]: %d", rec.Code)
	}
	if rec := do(h, "GET", "/federate?match[]=nothing_matches"); rec.Code != 200 || rec.Body.Len() != 0 {
		t.Errorf("empty result: %d %q", rec.Code, rec.Body)
	}
}

func TestNegotiateFederation(t *testing.T) {
	for accept, want := range map[string]federationFormat{
		"":                         fmtText004,
		"*/*":                      fmtText004,
		"text/plain;version=0.0.4": fmtText004,
		"text/plain;version=1.0.0": fmtText004, // without allow-utf-8 names are escaped
		"application/openmetrics-text;version=1.0.0;q=0.9,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.5":              fmtText100,
		"application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited":                        fmtProtoDelim,
		"application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=text":                             fmtText004,
		"text/plain;q=0.2,application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.7": fmtProtoDelim,
	} {
		if got := negotiateFederation(accept); got != want {
			t.Errorf("negotiate(%q) = %d, want %d", accept, got, want)
		}
	}
}
