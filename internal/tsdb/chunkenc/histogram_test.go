package chunkenc

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"github.com/vigil-monitoring/vigil/internal/model/histogram"
	"github.com/vigil-monitoring/vigil/internal/model/value"
	"github.com/vigil-monitoring/vigil/internal/storage"
)

// genHistograms returns n valid integer histograms whose counts grow, with
// a layout change every few samples, occasional resets, custom buckets and
// stale markers.
func genHistograms(rng *rand.Rand, n int) []*histogram.Histogram {
	var out []*histogram.Histogram
	var h *histogram.Histogram
	for i := range n {
		if h == nil || rng.IntN(15) == 0 {
			h = &histogram.Histogram{
				CounterResetHint: histogram.CounterResetHint(rng.IntN(4)),
				Schema:           int32(rng.IntN(13)) - 4,
				ZeroThreshold:    []float64{0, 1e-128, 0.001}[rng.IntN(3)],
			}
			if rng.IntN(5) == 0 {
				h.Schema = histogram.CustomBucketsSchema
				h.ZeroThreshold = 0
				h.CustomValues = []float64{0.1, 0.5, 1, 5}
			}
			np := rng.IntN(8)
			if np > 0 {
				h.PositiveSpans = []histogram.Span{{Offset: int32(rng.IntN(20)) - 10, Length: uint32(np)}}
				h.PositiveBuckets = make([]int64, np)
			}
			if h.Schema != histogram.CustomBucketsSchema && rng.IntN(2) == 0 {
				h.NegativeSpans = []histogram.Span{{Offset: 1, Length: 1}, {Offset: 3, Length: 2}}
				h.NegativeBuckets = make([]int64, 3)
			}
		} else {
			h = h.Copy()
			h.CounterResetHint = histogram.NotCounterReset
		}
		var total uint64
		grow := func(deltas []int64) {
			var abs, prev int64
			for k := range deltas {
				abs += deltas[k]
				next := abs + int64(rng.IntN(1000))
				if rng.IntN(50) == 0 {
					next = int64(rng.Uint64() >> 12) // huge counts
				}
				deltas[k] = next - prev
				prev = next
				total += uint64(next)
			}
		}
		grow(h.PositiveBuckets)
		grow(h.NegativeBuckets)
		if h.Schema != histogram.CustomBucketsSchema {
			h.ZeroCount += uint64(rng.IntN(3))
			total += h.ZeroCount
		}
		h.Count = total
		h.Sum += rng.NormFloat64() * 100
		if i%23 == 22 {
			h.Sum = value.StaleNaN
		}
		out = append(out, h)
	}
	return out
}

func histEqual(a, b *histogram.Histogram) bool {
	return a.Equals(b) && a.CounterResetHint == b.CounterResetHint
}

func TestHistogramRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	for iter := range 100 {
		hs := genHistograms(rng, 1+rng.IntN(150))
		c := NewHistogramChunk()
		app, _ := c.Appender()
		for i, h := range hs {
			if err := app.AppendHistogram(int64(i)*15000, h); err != nil {
				t.Fatal(err)
			}
		}
		it := c.Iterator(nil)
		var reuse *histogram.Histogram
		for i, want := range hs {
			if typ := it.Next(); typ != storage.ValHistogram {
				t.Fatalf("iter %d sample %d: %v %v", iter, i, typ, it.Err())
			}
			var got *histogram.Histogram
			ts, got := it.AtHistogram(reuse)
			if i%2 == 0 {
				reuse = got // alternate reuse and fresh allocation
			} else {
				reuse = nil
			}
			if ts != int64(i)*15000 || !histEqual(got, want) {
				t.Fatalf("iter %d sample %d:\n got %v %+v\nwant %v %+v", iter, i, ts, got, want.CounterResetHint, want)
			}
			_, fh := it.AtFloatHistogram(nil)
			wantF := want.ToFloat(nil)
			if !fh.Equals(wantF) || fh.CounterResetHint != wantF.CounterResetHint {
				t.Fatalf("iter %d sample %d: float view %v, want %v", iter, i, fh, wantF)
			}
		}
		if it.Next() != storage.ValNone || it.Err() != nil {
			t.Fatalf("end: %v", it.Err())
		}
		// Resume from bytes mid-way and finish: identical bytes.
		k := rng.IntN(len(hs) + 1)
		half := NewHistogramChunk()
		ha, _ := half.Appender()
		for i := range k {
			_ = ha.AppendHistogram(int64(i)*15000, hs[i])
		}
		re, _ := FromData(EncHistogram, bytes.Clone(half.Bytes()))
		ra, err := re.(*HistogramChunk).Appender()
		if err != nil {
			t.Fatal(err)
		}
		for i := k; i < len(hs); i++ {
			_ = ra.AppendHistogram(int64(i)*15000, hs[i])
		}
		if !bytes.Equal(re.Bytes(), c.Bytes()) {
			t.Fatalf("iter %d: resumed chunk differs", iter)
		}
	}
}

func TestFloatHistogramRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	for iter := range 100 {
		hs := genHistograms(rng, 1+rng.IntN(150))
		var fhs []*histogram.FloatHistogram
		for _, h := range hs {
			fh := h.ToFloat(nil)
			if rng.IntN(3) == 0 && len(fh.PositiveBuckets) > 0 {
				fh.PositiveBuckets[0] += 0.25 // not an integer any more
				fh.Count += 0.25
			}
			fhs = append(fhs, fh)
		}
		c := NewFloatHistogramChunk()
		app, _ := c.Appender()
		for i, fh := range fhs {
			if err := app.AppendFloatHistogram(int64(i), fh); err != nil {
				t.Fatal(err)
			}
		}
		it := c.Iterator(nil)
		for i, want := range fhs {
			if typ := it.Next(); typ != storage.ValFloatHistogram {
				t.Fatalf("iter %d sample %d: %v %v", iter, i, typ, it.Err())
			}
			ts, got := it.AtFloatHistogram(nil)
			if ts != int64(i) || !got.Equals(want) || got.CounterResetHint != want.CounterResetHint {
				t.Fatalf("iter %d sample %d:\n got %v\nwant %v", iter, i, got, want)
			}
		}
		if it.Next() != storage.ValNone || it.Err() != nil {
			t.Fatalf("end: %v", it.Err())
		}
		k := rng.IntN(len(fhs) + 1)
		half := NewFloatHistogramChunk()
		ha, _ := half.Appender()
		for i := range k {
			_ = ha.AppendFloatHistogram(int64(i), fhs[i])
		}
		re, _ := FromData(EncFloatHistogram, bytes.Clone(half.Bytes()))
		ra, err := re.(*FloatHistogramChunk).Appender()
		if err != nil {
			t.Fatal(err)
		}
		for i := k; i < len(fhs); i++ {
			_ = ra.AppendFloatHistogram(int64(i), fhs[i])
		}
		if !bytes.Equal(re.Bytes(), c.Bytes()) {
			t.Fatalf("iter %d: resumed chunk differs", iter)
		}
	}
}

func TestHistogramRejectsMismatchedBuckets(t *testing.T) {
	c := NewHistogramChunk()
	app, _ := c.Appender()
	h := &histogram.Histogram{PositiveSpans: []histogram.Span{{Length: 3}}, PositiveBuckets: []int64{1}}
	if err := app.AppendHistogram(1, h); err == nil {
		t.Fatal("mismatched spans and buckets accepted")
	}
	if c.NumSamples() != 0 {
		t.Fatal("rejected sample was written")
	}
}

// TestHistogramCompression keeps an eye on the cost of a steady counter
// histogram: with delta-of-delta buckets a sample should stay small.
func TestHistogramCompression(t *testing.T) {
	h := &histogram.Histogram{Schema: 3, PositiveSpans: []histogram.Span{{Offset: -5, Length: 20}}, PositiveBuckets: make([]int64, 20)}
	c := NewHistogramChunk()
	app, _ := c.Appender()
	n := 0
	for i := 0; len(c.Bytes()) < HistogramChunkBytes && n < SamplesPerChunk; i++ {
		h = h.Copy()
		var cnt uint64
		for k := range h.PositiveBuckets {
			if i > 0 {
				h.PositiveBuckets[k] = int64(k % 3)
			}
			cnt += uint64(k%3) * uint64(i)
		}
		h.Count = cnt
		h.Sum = float64(i) * 1.5
		if err := app.AppendHistogram(int64(i)*10_000, h); err != nil {
			t.Fatal(err)
		}
		n++
	}
	perSample := float64(len(c.Bytes())) / float64(n)
	t.Logf("%d samples of a 20-bucket histogram in %d bytes (%.1f B/sample)", n, len(c.Bytes()), perSample)
	if perSample > 12 {
		t.Fatalf("%.1f bytes per steady histogram sample; delta-of-delta coding should stay under 12", perSample)
	}
}
