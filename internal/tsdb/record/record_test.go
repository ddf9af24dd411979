package record

import (
	"errors"
	"math"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/vigil-monitoring/vigil/internal/model/histogram"
	"github.com/vigil-monitoring/vigil/internal/model/labels"
	"github.com/vigil-monitoring/vigil/internal/model/metadata"
	"github.com/vigil-monitoring/vigil/internal/model/value"
)

func testHistogram(i int) *histogram.Histogram {
	return &histogram.Histogram{
		CounterResetHint: histogram.NotCounterReset,
		Schema:           2, ZeroThreshold: 0.001, ZeroCount: uint64(i), Count: uint64(5 * i), Sum: float64(i) * 1.5,
		PositiveSpans:   []histogram.Span{{Offset: -1, Length: 2}, {Offset: 3, Length: 1}},
		PositiveBuckets: []int64{int64(i), 0, int64(i)},
		NegativeSpans:   []histogram.Span{{Offset: 0, Length: 1}},
		NegativeBuckets: []int64{int64(i)},
	}
}

func TestRoundTrips(t *testing.T) {
	series := []RefSeries{
		{Ref: 1, Labels: labels.FromStrings("__name__", "up", "job", "a")},
		{Ref: 1 << 40, Labels: labels.FromStrings("x", "")},
	}
	rec := EncodeSeries(nil, series)
	if TypeOf(rec) != Series {
		t.Fatalf("type %v", TypeOf(rec))
	}
	gotSeries, err := DecodeSeries(rec, nil)
	if err != nil || !reflect.DeepEqual(gotSeries, series) {
		t.Fatalf("series: %v %v", gotSeries, err)
	}

	samples := []RefSample{{Ref: 5, T: 1000, V: 1}, {Ref: 3, T: 900, V: value.StaleNaN}, {Ref: 1 << 50, T: -5, V: math.Inf(-1)}}
	gotSamples, err := DecodeSamples(EncodeSamples(nil, samples), nil)
	if err != nil || len(gotSamples) != 3 {
		t.Fatalf("samples: %v %v", gotSamples, err)
	}
	for i := range samples {
		if gotSamples[i].Ref != samples[i].Ref || gotSamples[i].T != samples[i].T ||
			math.Float64bits(gotSamples[i].V) != math.Float64bits(samples[i].V) {
			t.Fatalf("sample %d: %v, want %v", i, gotSamples[i], samples[i])
		}
	}
	if got, err := DecodeSamples(EncodeSamples(nil, nil), nil); err != nil || len(got) != 0 {
		t.Fatalf("empty samples: %v %v", got, err)
	}

	stones := []Stone{{Ref: 1, Mint: -10, Maxt: 10}, {Ref: 2, Mint: 0, Maxt: math.MaxInt64}}
	gotStones, err := DecodeTombstones(EncodeTombstones(nil, stones), nil)
	if err != nil || !reflect.DeepEqual(gotStones, stones) {
		t.Fatalf("tombstones: %v %v", gotStones, err)
	}

	exs := []RefExemplar{{Ref: 9, T: 10, V: 0.5, Labels: labels.FromStrings("trace_id", "abc")}}
	gotExs, err := DecodeExemplars(EncodeExemplars(nil, exs), nil)
	if err != nil || !reflect.DeepEqual(gotExs, exs) {
		t.Fatalf("exemplars: %v %v", gotExs, err)
	}

	metas := []RefMetadata{
		{Ref: 1, Meta: metadata.Metadata{Type: metadata.TypeCounter, Unit: "seconds", Help: "Time spent."}},
		{Ref: 2, Meta: metadata.Metadata{Type: metadata.TypeStateset}},
		{Ref: 3, Meta: metadata.Metadata{Type: "weird"}},
	}
	gotMetas, err := DecodeMetadata(EncodeMetadata(nil, metas), nil)
	metas[2].Meta.Type = metadata.TypeUnknown
	if err != nil || !reflect.DeepEqual(gotMetas, metas) {
		t.Fatalf("metadata: %v %v", gotMetas, err)
	}

	nhcb := &histogram.Histogram{Schema: histogram.CustomBucketsSchema, Count: 3, Sum: 1,
		PositiveSpans: []histogram.Span{{Length: 2}}, PositiveBuckets: []int64{1, 1}, CustomValues: []float64{0.5, 1}}
	hs := []RefHistogramSample{{Ref: 1, T: 10, H: testHistogram(1)}, {Ref: 2, T: 5, H: testHistogram(0)}, {Ref: 3, T: 7, H: nhcb}}
	gotHs, err := DecodeHistogramSamples(EncodeHistogramSamples(nil, hs), nil)
	if err != nil || len(gotHs) != len(hs) {
		t.Fatalf("histograms: %v %v", gotHs, err)
	}
	for i := range hs {
		if gotHs[i].Ref != hs[i].Ref || gotHs[i].T != hs[i].T || !gotHs[i].H.Equals(hs[i].H) || gotHs[i].H.CounterResetHint != hs[i].H.CounterResetHint {
			t.Fatalf("histogram %d: %+v, want %+v", i, gotHs[i].H, hs[i].H)
		}
	}

	fhs := []RefFloatHistogramSample{{Ref: 1, T: 10, FH: testHistogram(3).ToFloat(nil)}, {Ref: 4, T: 11, FH: nhcb.ToFloat(nil)}}
	gotFhs, err := DecodeFloatHistogramSamples(EncodeFloatHistogramSamples(nil, fhs), nil)
	if err != nil || len(gotFhs) != len(fhs) {
		t.Fatalf("float histograms: %v %v", gotFhs, err)
	}
	for i := range fhs {
		if !gotFhs[i].FH.Equals(fhs[i].FH) {
			t.Fatalf("float histogram %d: %v, want %v", i, gotFhs[i].FH, fhs[i].FH)
		}
	}
}

// TestTruncatedRecordsFail cuts valid records at every length: each prefix
// must decode to an error or to a prefix of the entries, never panic.
func TestTruncatedRecordsFail(t *testing.T) {
	recs := [][]byte{
		EncodeSeries(nil, []RefSeries{{Ref: 1, Labels: labels.FromStrings("a", "b", "c", "d")}}),
		EncodeSamples(nil, []RefSample{{Ref: 1, T: 1, V: 1}, {Ref: 2, T: 2, V: 2}}),
		EncodeHistogramSamples(nil, []RefHistogramSample{{Ref: 1, T: 1, H: testHistogram(4)}}),
		EncodeFloatHistogramSamples(nil, []RefFloatHistogramSample{{Ref: 1, T: 1, FH: testHistogram(4).ToFloat(nil)}}),
		EncodeExemplars(nil, []RefExemplar{{Ref: 1, T: 1, Labels: labels.FromStrings("a", "b")}}),
		EncodeMetadata(nil, []RefMetadata{{Ref: 1, Meta: metadata.Metadata{Type: metadata.TypeGauge, Help: "h"}}}),
		EncodeTombstones(nil, []Stone{{Ref: 1, Mint: 1, Maxt: 2}}),
	}
	for _, rec := range recs {
		for n := 1; n < len(rec); n++ {
			if err := decodeAny(rec[:n]); err == nil && n < len(rec) {
				// A cut exactly between entries is a valid shorter record.
				continue
			} else if err != nil && !errors.Is(err, ErrInvalid) {
				t.Fatalf("%v cut at %d: error %v does not wrap ErrInvalid", TypeOf(rec), n, err)
			}
		}
		if err := decodeAny(rec); err != nil {
			t.Fatalf("%v: %v", TypeOf(rec), err)
		}
	}
}

// decodeAny decodes rec with the decoder its type calls for.
func decodeAny(rec []byte) error {
	var err error
	switch TypeOf(rec) {
	case Series:
		_, err = DecodeSeries(rec, nil)
	case Samples:
		_, err = DecodeSamples(rec, nil)
	case Tombstones:
		_, err = DecodeTombstones(rec, nil)
	case Exemplars:
		_, err = DecodeExemplars(rec, nil)
	case HistogramSamples:
		_, err = DecodeHistogramSamples(rec, nil)
	case FloatHistogramSamples:
		_, err = DecodeFloatHistogramSamples(rec, nil)
	case Metadata:
		_, err = DecodeMetadata(rec, nil)
	}
	return err
}

func TestHistogramShapeChecked(t *testing.T) {
	h := testHistogram(1)
	h.PositiveBuckets = h.PositiveBuckets[:2] // spans say 3
	rec := EncodeHistogramSamples(nil, []RefHistogramSample{{Ref: 1, T: 1, H: h}})
	if _, err := DecodeHistogramSamples(rec, nil); !errors.Is(err, ErrInvalid) {
		t.Fatalf("got %v", err)
	}
}

func TestWrongTypeRejected(t *testing.T) {
	if _, err := DecodeSeries(EncodeSamples(nil, nil), nil); !errors.Is(err, ErrInvalid) {
		t.Fatalf("got %v", err)
	}
	if TypeOf([]byte{200}) != Unknown || TypeOf(nil) != Unknown {
		t.Fatal("unknown types")
	}
}

// FuzzDecode feeds arbitrary bytes to every decoder.
func FuzzDecode(f *testing.F) {
	rng := rand.New(rand.NewPCG(1, 2))
	f.Add(EncodeSeries(nil, []RefSeries{{Ref: 1, Labels: labels.FromStrings("a", "b")}}))
	f.Add(EncodeSamples(nil, []RefSample{{Ref: 1, T: 5, V: rng.Float64()}}))
	f.Add(EncodeHistogramSamples(nil, []RefHistogramSample{{Ref: 1, T: 1, H: testHistogram(2)}}))
	f.Add(EncodeFloatHistogramSamples(nil, []RefFloatHistogramSample{{Ref: 1, T: 1, FH: testHistogram(2).ToFloat(nil)}}))
	f.Add(EncodeExemplars(nil, []RefExemplar{{Ref: 1, T: 1, Labels: labels.FromStrings("a", "b")}}))
	f.Add(EncodeMetadata(nil, []RefMetadata{{Ref: 1}}))
	f.Add(EncodeTombstones(nil, []Stone{{Ref: 1}}))
	f.Fuzz(func(t *testing.T, rec []byte) {
		err := decodeAny(rec)
		if err != nil && !errors.Is(err, ErrInvalid) {
			t.Fatalf("error %v does not wrap ErrInvalid", err)
		}
		// Every type's decoder must also cope with any input.
		for typ := Series; typ <= Metadata; typ++ {
			_ = decodeAny(append([]byte{byte(typ)}, rec...))
		}
	})
}
