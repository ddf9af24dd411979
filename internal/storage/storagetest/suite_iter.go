package storagetest

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/vigil-monitoring/vigil/internal/model/histogram"
	"github.com/vigil-monitoring/vigil/internal/model/labels"
	"github.com/vigil-monitoring/vigil/internal/model/value"
	"github.com/vigil-monitoring/vigil/internal/storage"
)

// testHistogram returns a small valid integer histogram that varies with i
// (counts grow, so consecutive ones look like an unreset counter).
func testHistogram(i int) *histogram.Histogram {
	c := uint64(i)
	return &histogram.Histogram{
		Schema:          1,
		ZeroThreshold:   0.001,
		ZeroCount:       c,
		Count:           c + 2*c + 3*c + c + c,
		Sum:             1.5 * float64(i),
		PositiveSpans:   []histogram.Span{{Offset: 0, Length: 2}, {Offset: 1, Length: 1}},
		PositiveBuckets: []int64{int64(c), int64(c), int64(c)}, // c, 2c, 3c
		NegativeSpans:   []histogram.Span{{Offset: -2, Length: 1}},
		NegativeBuckets: []int64{int64(c)},
	}
}

// singleSeries opens a querier over all time and returns the iterator of
// the one series named name; the querier closes with the test.
func singleSeries(t *testing.T, q storage.Queryable, name string) storage.Series {
	t.Helper()
	qr, err := q.Querier(math.MinInt64, math.MaxInt64)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { qr.Close() })
	set := qr.Select(context.Background(), false, nil, m(labels.MatchEqual, "__name__", name))
	if !set.Next() {
		t.Fatalf("series %s not found (err %v)", name, set.Err())
	}
	s := set.At()
	if set.Next() {
		t.Fatalf("more than one series named %s", name)
	}
	return s
}

func testIteratorSemantics(t *testing.T, f Factory) {
	a, q := f(t)
	commit(t, a, labels.FromStrings("__name__", "s"), floats(10, 20, 30, 40, 50, 60, 70, 80, 90, 100)...)
	s := singleSeries(t, q, "s")

	step := func(it storage.Iterator, what string, typ storage.ValueType, wantTyp storage.ValueType, wantT int64) {
		t.Helper()
		if typ != wantTyp {
			t.Fatalf("%s: type %v, want %v", what, typ, wantTyp)
		}
		if wantTyp == storage.ValNone {
			return
		}
		if it.AtT() != wantT {
			t.Fatalf("%s: AtT %d, want %d", what, it.AtT(), wantT)
		}
		if ts, v := it.At(); ts != wantT || v != float64(wantT)/10 {
			t.Fatalf("%s: At (%d, %v), want (%d, %v)", what, ts, v, wantT, float64(wantT)/10)
		}
	}
	it := s.Iterator(nil)
	step(it, "Seek(0) before Next", it.Seek(0), storage.ValFloat, 10)
	step(it, "Seek(10) stays", it.Seek(10), storage.ValFloat, 10)
	step(it, "Seek(15)", it.Seek(15), storage.ValFloat, 20)
	step(it, "Seek(5) never moves back", it.Seek(5), storage.ValFloat, 20)
	step(it, "Next", it.Next(), storage.ValFloat, 30)
	step(it, "Seek(30) stays", it.Seek(30), storage.ValFloat, 30)
	step(it, "Seek(71)", it.Seek(71), storage.ValFloat, 80)
	step(it, "Seek(100)", it.Seek(100), storage.ValFloat, 100)
	step(it, "Next past end", it.Next(), storage.ValNone, 0)
	step(it, "Next after end", it.Next(), storage.ValNone, 0)
	step(it, "Seek after end", it.Seek(0), storage.ValNone, 0)
	if err := it.Err(); err != nil {
		t.Fatal(err)
	}

	// A reused iterator starts over.
	it = s.Iterator(it)
	step(it, "reused Next", it.Next(), storage.ValFloat, 10)
	step(it, "reused Seek(1000)", it.Seek(1000), storage.ValNone, 0)

	// A fresh iterator seeking past everything.
	it = s.Iterator(nil)
	step(it, "fresh Seek(101)", it.Seek(101), storage.ValNone, 0)
}

// testIteratorRandomSeek drives long series (spanning many chunks in a
// chunked store) with random Next and Seek calls against the reference.
func testIteratorRandomSeek(t *testing.T, f Factory) {
	a, q := f(t)
	rng := rand.New(rand.NewPCG(3, 4))
	var want []storage.Sample
	ts := int64(1_700_000_000_000)
	for range 2000 {
		ts += 1 + int64(rng.IntN(30_000))
		v := rng.NormFloat64() * 1000
		if rng.IntN(10) == 0 {
			v = math.Round(v)
		}
		want = append(want, storage.Sample{T: ts, F: v})
	}
	commit(t, a, labels.FromStrings("__name__", "long"), want...)
	s := singleSeries(t, q, "long")

	got, err := storage.ExpandSamples(s.Iterator(nil))
	if err != nil {
		t.Fatal(err)
	}
	if !sameSamples(got, want) {
		t.Fatalf("full iteration differs (%d samples, want %d)", len(got), len(want))
	}
	var it storage.Iterator
	for round := range 50 {
		it = s.Iterator(it)
		pos := -1 // index in want of the current sample
		for pos < len(want) {
			var typ storage.ValueType
			if rng.IntN(2) == 0 {
				typ = it.Next()
				pos++
			} else {
				var target int64
				if pos >= 0 && rng.IntN(4) == 0 {
					target = want[pos].T - int64(rng.IntN(100_000)) // behind: must stay
				} else {
					target = want[0].T + int64(rng.Int64N(ts-want[0].T+50_000))
				}
				typ = it.Seek(target)
				// Reference: first sample at or after target, never before pos.
				np := max(pos, 0)
				for np < len(want) && want[np].T < target {
					np++
				}
				pos = np
			}
			if pos >= len(want) {
				if typ != storage.ValNone {
					t.Fatalf("round %d: expected end, got %v at %d", round, typ, it.AtT())
				}
				break
			}
			if typ != storage.ValFloat {
				t.Fatalf("round %d: got %v, want a float at %d", round, typ, want[pos].T)
			}
			gt, gv := it.At()
			if gt != want[pos].T || math.Float64bits(gv) != math.Float64bits(want[pos].F) || it.AtT() != gt {
				t.Fatalf("round %d: got (%d, %v), want (%d, %v)", round, gt, gv, want[pos].T, want[pos].F)
			}
		}
	}
}

func testMixedFloatHistogram(t *testing.T, f Factory) {
	a, q := f(t)
	fh := testHistogram(3).ToFloat(nil)
	fh.Sum = 0.25
	want := []storage.Sample{
		{T: 10, F: 1},
		{T: 20, H: testHistogram(1)},
		{T: 30, H: testHistogram(2)},
		{T: 40, FH: fh},
		{T: 50, F: 2},
		{T: 60, H: testHistogram(4)},
	}
	commit(t, a, labels.FromStrings("__name__", "mixed"), want...)
	s := singleSeries(t, q, "mixed")
	got, err := storage.ExpandSamples(s.Iterator(nil))
	if err != nil {
		t.Fatal(err)
	}
	if !sameSamples(got, want) {
		t.Fatalf("got %v\nwant %v", got, want)
	}
	// AtFloatHistogram converts an integer histogram.
	it := s.Iterator(nil)
	if typ := it.Seek(20); typ != storage.ValHistogram {
		t.Fatalf("Seek(20): %v", typ)
	}
	ts, conv := it.AtFloatHistogram(nil)
	if ts != 20 || !sameHistogram(conv, testHistogram(1).ToFloat(nil), histogram.UnknownCounterReset, conv.CounterResetHint) {
		t.Fatalf("AtFloatHistogram on an integer histogram: %v", conv)
	}
	if typ := it.Seek(40); typ != storage.ValFloatHistogram {
		t.Fatalf("Seek(40): %v", typ)
	}
	if typ := it.Next(); typ != storage.ValFloat {
		t.Fatalf("Next after the float histogram: %v", typ)
	}
}

func testHistogramRoundTrip(t *testing.T, f Factory) {
	a, q := f(t)
	rng := rand.New(rand.NewPCG(5, 6))
	var want []storage.Sample
	var h *histogram.Histogram
	for i := range 400 {
		// Grow and reshape the bucket layout now and then, and reset the
		// counter once, so encoders must cope with layout changes.
		if i%37 == 0 || h == nil {
			h = &histogram.Histogram{Schema: int32(rng.IntN(4)), ZeroThreshold: 1e-128}
			n := 1 + rng.IntN(6)
			h.PositiveSpans = []histogram.Span{{Offset: int32(rng.IntN(5)) - 2, Length: uint32(n)}}
			h.PositiveBuckets = make([]int64, n)
			if rng.IntN(2) == 0 {
				h.NegativeSpans = []histogram.Span{{Offset: 1, Length: 2}}
				h.NegativeBuckets = make([]int64, 2)
			}
		} else {
			h = h.Copy()
		}
		// Increase some bucket counts (deltas encode absolute c[k]-c[k-1]).
		abs := func(deltas []int64) []int64 {
			out := make([]int64, len(deltas))
			var c int64
			for k, d := range deltas {
				c += d
				out[k] = c
			}
			return out
		}
		toDeltas := func(counts []int64) []int64 {
			out := make([]int64, len(counts))
			var prev int64
			for k, c := range counts {
				out[k] = c - prev
				prev = c
			}
			return out
		}
		pos, neg := abs(h.PositiveBuckets), abs(h.NegativeBuckets)
		var total uint64
		for k := range pos {
			pos[k] += int64(rng.IntN(5))
			total += uint64(pos[k])
		}
		for k := range neg {
			neg[k] += int64(rng.IntN(3))
			total += uint64(neg[k])
		}
		h.ZeroCount += uint64(rng.IntN(2))
		h.PositiveBuckets, h.NegativeBuckets = toDeltas(pos), toDeltas(neg)
		h.Count = total + h.ZeroCount
		h.Sum += rng.Float64() * 10
		want = append(want, storage.Sample{T: int64(i) * 15_000, H: h})
	}
	// A custom-buckets histogram series and a float histogram series.
	nhcb := &histogram.Histogram{
		Schema: histogram.CustomBucketsSchema, Count: 5, Sum: 3.5,
		PositiveSpans: []histogram.Span{{Offset: 0, Length: 3}}, PositiveBuckets: []int64{1, 1, 0},
		CustomValues: []float64{0.1, 0.5, 1},
	}
	gauge := testHistogram(5).ToFloat(nil)
	gauge.CounterResetHint = histogram.GaugeType

	commit(t, a, labels.FromStrings("__name__", "hist"), want...)
	commit(t, a, labels.FromStrings("__name__", "nhcb"), storage.Sample{T: 1, H: nhcb}, storage.Sample{T: 2, H: nhcb})
	commit(t, a, labels.FromStrings("__name__", "gauge"), storage.Sample{T: 1, FH: gauge}, storage.Sample{T: 2, FH: gauge})

	for _, tc := range []struct {
		name string
		want []storage.Sample
	}{
		{"hist", want},
		{"nhcb", []storage.Sample{{T: 1, H: nhcb}, {T: 2, H: nhcb}}},
		{"gauge", []storage.Sample{{T: 1, FH: gauge}, {T: 2, FH: gauge}}},
	} {
		got, err := storage.ExpandSamples(singleSeries(t, q, tc.name).Iterator(nil))
		if err != nil {
			t.Fatal(err)
		}
		if !sameSamples(got, tc.want) {
			for i := range min(len(got), len(tc.want)) {
				if !sameSamples(got[i:i+1], tc.want[i:i+1]) {
					t.Fatalf("%s: sample %d differs:\n got %v\nwant %v", tc.name, i, got[i], tc.want[i])
				}
			}
			t.Fatalf("%s: got %d samples, want %d", tc.name, len(got), len(tc.want))
		}
	}
}

// testHistogramOwnership checks that what AtHistogram returns belongs to
// the caller: changing it must not change what the storage serves next.
func testHistogramOwnership(t *testing.T, f Factory) {
	a, q := f(t)
	commit(t, a, labels.FromStrings("__name__", "own"), storage.Sample{T: 1, H: testHistogram(2)}, storage.Sample{T: 2, H: testHistogram(3)})
	s := singleSeries(t, q, "own")
	it := s.Iterator(nil)
	it.Next()
	_, h := it.AtHistogram(nil)
	h.PositiveBuckets[0] = 999
	h.Count = 999
	reuse := &histogram.Histogram{PositiveBuckets: make([]int64, 0, 8)}
	it.Next()
	_, h2 := it.AtHistogram(reuse)
	if h2 != reuse {
		t.Fatal("AtHistogram(h) must return h")
	}
	h2.PositiveBuckets[0] = 777
	got, err := storage.ExpandSamples(s.Iterator(nil))
	if err != nil {
		t.Fatal(err)
	}
	if !sameSamples(got, []storage.Sample{{T: 1, H: testHistogram(2)}, {T: 2, H: testHistogram(3)}}) {
		t.Fatalf("caller's changes leaked into storage: %v", got)
	}
}

func testStaleNaN(t *testing.T, f Factory) {
	a, q := f(t)
	odd := math.Float64frombits(0x7ff8_0000_dead_beef) // a NaN with a payload
	want := []storage.Sample{
		{T: 10, F: 1},
		{T: 20, F: value.StaleNaN},
		{T: 30, F: math.NaN()},
		{T: 40, F: odd},
		{T: 50, F: math.Inf(-1)},
		{T: 60, F: math.Copysign(0, -1)},
		{T: 70, F: value.StaleNaN},
	}
	commit(t, a, labels.FromStrings("__name__", "stale"), want...)
	staleH := testHistogram(1)
	staleH.Sum = value.StaleNaN
	commit(t, a, labels.FromStrings("__name__", "staleh"), storage.Sample{T: 10, H: testHistogram(1)}, storage.Sample{T: 20, H: staleH})

	got, err := storage.ExpandSamples(singleSeries(t, q, "stale").Iterator(nil))
	if err != nil {
		t.Fatal(err)
	}
	if !sameSamples(got, want) {
		t.Fatalf("float specials not bit-exact: got %v", got)
	}
	if !value.IsStaleNaN(got[1].F) || !value.IsStaleNaN(got[6].F) {
		t.Fatal("stale markers lost their bit pattern")
	}
	got, err = storage.ExpandSamples(singleSeries(t, q, "staleh").Iterator(nil))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[1].H == nil || !value.IsStaleNaN(got[1].H.Sum) {
		t.Fatalf("histogram stale marker lost: %v", got)
	}
}
