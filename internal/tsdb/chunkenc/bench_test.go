package chunkenc

import (
	"math/rand/v2"
	"testing"

	"github.com/vigil-monitoring/vigil/internal/model/histogram"
	"github.com/vigil-monitoring/vigil/internal/storage"
)

// benchFloats is a realistic scrape: 15 s interval with millisecond
// jitter, a slowly moving gauge-like value.
func benchFloats() ([]int64, []float64) {
	rng := rand.New(rand.NewPCG(1, 2))
	ts := make([]int64, SamplesPerChunk)
	vs := make([]float64, SamplesPerChunk)
	t, v := int64(1_700_000_000_000), 1000.0
	for i := range ts {
		t += 15_000 + int64(rng.IntN(5)) - 2
		if rng.IntN(3) == 0 {
			v += float64(rng.IntN(100))
		}
		ts[i], vs[i] = t, v
	}
	return ts, vs
}

func BenchmarkXORAppend(b *testing.B) {
	ts, vs := benchFloats()
	b.ReportAllocs()
	var size int
	for b.Loop() {
		c := NewXORChunk()
		app, _ := c.Appender()
		for i := range ts {
			app.Append(ts[i], vs[i])
		}
		size = len(c.Bytes())
	}
	b.ReportMetric(float64(size)/float64(len(ts)), "B/sample")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(ts)), "ns/sample")
}

func BenchmarkXORIterate(b *testing.B) {
	ts, vs := benchFloats()
	c := buildXOR(b, ts, vs)
	b.SetBytes(int64(len(c.Bytes())))
	b.ReportAllocs()
	var it storage.Iterator
	var sum float64
	for b.Loop() {
		it = c.Iterator(it)
		for it.Next() != storage.ValNone {
			_, v := it.At()
			sum += v
		}
	}
	_ = sum
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(ts)), "ns/sample")
}

func BenchmarkXORIterateBatch(b *testing.B) {
	ts, vs := benchFloats()
	c := buildXOR(b, ts, vs)
	b.SetBytes(int64(len(c.Bytes())))
	b.ReportAllocs()
	var it storage.Iterator
	var sum float64
	var bt [FloatRunLen]int64
	var bv [FloatRunLen]float64
	for b.Loop() {
		it = c.Iterator(it)
		fb := it.(FloatBatchIterator)
		for n := fb.NextFloats(bt[:], bv[:]); n > 0; n = fb.NextFloats(bt[:], bv[:]) {
			for _, v := range bv[:n] {
				sum += v
			}
		}
	}
	_ = sum
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(ts)), "ns/sample")
}

func benchHistograms() []*histogram.Histogram {
	h := &histogram.Histogram{Schema: 3, PositiveSpans: []histogram.Span{{Offset: -5, Length: 20}}, PositiveBuckets: make([]int64, 20)}
	var out []*histogram.Histogram
	for i := range SamplesPerChunk {
		h = h.Copy()
		var cnt uint64
		for k := range h.PositiveBuckets {
			h.PositiveBuckets[k] = int64(k%3) + int64(i%2)
			cnt += uint64(k%3+i%2) * uint64(k+1)
		}
		h.Count = cnt
		h.Sum = float64(i) * 1.5
		out = append(out, h)
	}
	return out
}

func BenchmarkHistogramAppend(b *testing.B) {
	hs := benchHistograms()
	b.ReportAllocs()
	var size int
	for b.Loop() {
		c := NewHistogramChunk()
		app, _ := c.Appender()
		for i, h := range hs {
			_ = app.AppendHistogram(int64(i)*15_000, h)
		}
		size = len(c.Bytes())
	}
	b.ReportMetric(float64(size)/float64(len(hs)), "B/sample")
}

func BenchmarkHistogramIterate(b *testing.B) {
	hs := benchHistograms()
	c := NewHistogramChunk()
	app, _ := c.Appender()
	for i, h := range hs {
		_ = app.AppendHistogram(int64(i)*15_000, h)
	}
	b.SetBytes(int64(len(c.Bytes())))
	b.ReportAllocs()
	var it storage.Iterator
	var h *histogram.Histogram
	for b.Loop() {
		it = c.Iterator(it)
		for it.Next() != storage.ValNone {
			_, h = it.AtHistogram(h)
		}
	}
}
