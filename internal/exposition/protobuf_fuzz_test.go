package exposition

import (
	"bytes"
	"errors"
	"io"
	"math"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"google.golang.org/protobuf/proto"

	"github.com/vigil-monitoring/vigil/internal/model/exemplar"
	"github.com/vigil-monitoring/vigil/internal/model/histogram"
	"github.com/vigil-monitoring/vigil/internal/model/labels"
)

// FuzzProtobufParser feeds arbitrary bodies to the parser. It must never
// panic or loop, must stay failed after an error, and whatever it accepts
// must match the reference model built on the generated client_model
// types.
func FuzzProtobufParser(f *testing.F) {
	// Small seeds keep mutation and minimization fast.
	f.Add(pbEncode(f, &dto.MetricFamily{
		Name: proto.String("c_total"), Help: proto.String("h"), Type: pbType(dto.MetricType_COUNTER),
		Metric: []*dto.Metric{{
			Label: pbLabels("a", "b"),
			Counter: &dto.Counter{Value: proto.Float64(1), CreatedTimestamp: pbTs(1, 2),
				Exemplar: &dto.Exemplar{Label: pbLabels("t", "x"), Value: proto.Float64(2), Timestamp: pbTs(3, 4)}},
			TimestampMs: proto.Int64(5),
		}},
	}, &dto.MetricFamily{
		Name: proto.String("h"), Type: pbType(dto.MetricType_HISTOGRAM),
		Metric: []*dto.Metric{{Histogram: &dto.Histogram{
			SampleCount: proto.Uint64(2), SampleSum: proto.Float64(1),
			Bucket: []*dto.Bucket{{UpperBound: proto.Float64(1), CumulativeCount: proto.Uint64(1)}},
		}}},
	}))
	f.Add(pbEncode(f, pbNativeFamily(dto.MetricType_HISTOGRAM)))
	f.Add(pbEncode(f, pbNativeFamily(dto.MetricType_GAUGE_HISTOGRAM)))
	f.Add(pbRawHistogramFamily())
	f.Add(pbEncode(f, &dto.MetricFamily{
		Name: proto.String("s"), Type: pbType(dto.MetricType_SUMMARY), Unit: proto.String("x"),
		Metric: []*dto.Metric{{Summary: &dto.Summary{Quantile: []*dto.Quantile{{Quantile: proto.Float64(math.NaN())}}}}},
	}))
	f.Add([]byte{})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, keep := range []bool{false, true} {
			opts := Options{KeepClassicHistograms: keep}
			pbFuzzWalk(t, body, opts)
			pbCompareWithReference(t, body, opts)
		}
	})
}

// pbFuzzWalk drives every method of the parser and checks the invariants
// that hold for any input.
func pbFuzzWalk(t *testing.T, body []byte, opts Options) {
	orig := bytes.Clone(body)
	p := NewProtobufParser(body, opts)
	var sb labels.ScratchBuilder
	var ex exemplar.Exemplar
	// Each entry needs at least a couple of bytes of input; this bounds
	// the entries of any body with room to spare.
	limit := 4*len(body) + 4
	var err error
	for n := 0; ; n++ {
		if n > limit {
			t.Fatalf("more than %d entries from %d bytes", limit, len(body))
		}
		var e Entry
		e, err = p.Next()
		if err != nil {
			break
		}
		switch e {
		case EntryHelp:
			if name, _ := p.Help(); len(name) == 0 {
				t.Fatal("HELP without a name")
			}
		case EntryUnit:
			if _, unit := p.Unit(); len(unit) == 0 {
				t.Fatal("UNIT entry with an empty unit")
			}
		case EntryType:
			p.Type()
		case EntrySeries, EntryHistogram:
			var key []byte
			if e == EntrySeries {
				key, _, _ = p.Series()
			} else {
				var h *histogram.Histogram
				var fh *histogram.FloatHistogram
				key, _, h, fh = p.Histogram()
				if (h == nil) == (fh == nil) {
					t.Fatal("Histogram must return exactly one histogram")
				}
			}
			p.Labels(&sb)
			name := sb.Labels().Get(labels.MetricName)
			if name == "" || !bytes.HasPrefix(key, []byte(name)) {
				t.Fatalf("series key %q does not start with the metric name %q", key, name)
			}
			for i := 0; p.Exemplar(&ex); i++ {
				if i > len(body) {
					t.Fatal("endless exemplars")
				}
			}
			p.CreatedTimestamp()
			p.Comment()
		default:
			t.Fatalf("unexpected entry %d", e)
		}
	}
	if !errors.Is(err, io.EOF) {
		if _, err2 := p.Next(); err2 == nil || err2.Error() != err.Error() {
			t.Fatalf("Next after %v returned %v", err, err2)
		}
	}
	if !bytes.Equal(body, orig) {
		t.Fatal("the parser modified its input")
	}
}
