package chunks

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/vigil-monitoring/vigil/internal/storage"
	"github.com/vigil-monitoring/vigil/internal/tsdb/chunkenc"
)

// nodeSeries is one simulated series: a generator of its next value.
type nodeSeries struct {
	kind string
	next func() float64
}

// nodeExporterSeries simulates the series of one node exporter target
// over time, in the proportions a real one has: many constant gauges
// (sizes, info metrics, flags), CPU seconds counters with two decimals,
// integer byte and packet counters with irregular increments, rarely
// changing error counters, page-granular memory and filesystem gauges,
// two-decimal load averages, runtime gauges, and a few values with no
// short decimal form.
func nodeExporterSeries(rng *rand.Rand) []nodeSeries {
	var out []nodeSeries
	add := func(kind string, n int, mk func() func() float64) {
		for range n {
			out = append(out, nodeSeries{kind, mk()})
		}
	}
	constant := func(v float64) func() func() float64 {
		return func() func() float64 { return func() float64 { return v } }
	}
	add("constant gauge", 120, func() func() float64 {
		v := float64(rng.IntN(1<<20) * 4096)
		return func() float64 { return v }
	})
	add("constant flag", 100, constant(1))
	add("constant zero", 100, constant(0))
	add("boot time", 1, constant(1.700000123e9))
	// node_cpu_seconds_total: 8 modes x 16 CPUs, centiseconds.
	add("cpu seconds", 128, func() func() float64 {
		c := float64(rng.IntN(1e8))
		rate := rng.Float64() * 1500 // centiseconds per 15 s
		return func() float64 {
			c += math.Round(rate * (0.9 + 0.2*rng.Float64()))
			return c / 100
		}
	})
	add("byte counter", 80, func() func() float64 {
		c := float64(rng.IntN(1 << 40))
		scale := math.Pow(10, 2+4*rng.Float64())
		return func() float64 {
			c += math.Round(scale * rng.Float64())
			return c
		}
	})
	add("sector counter", 40, func() func() float64 {
		c := float64(rng.IntN(1<<30)) * 512
		return func() float64 {
			c += float64(rng.IntN(2000)) * 512
			return c
		}
	})
	add("rare counter", 120, func() func() float64 {
		c := float64(rng.IntN(50))
		return func() float64 {
			if rng.IntN(200) == 0 {
				c++
			}
			return c
		}
	})
	add("memory gauge", 50, func() func() float64 {
		v := float64(rng.IntN(1<<22)) * 4096
		return func() float64 {
			v += float64(rng.IntN(201)-100) * 4096
			return math.Max(v, 0)
		}
	})
	add("load average", 3, func() func() float64 {
		v := 100 + float64(rng.IntN(300))
		return func() float64 {
			v = math.Max(0, v+float64(rng.IntN(21)-10))
			return v / 100
		}
	})
	add("temperature", 10, func() func() float64 {
		v := 450 + float64(rng.IntN(200))
		return func() float64 {
			v += float64(rng.IntN(5) - 2)
			return v / 10
		}
	})
	add("runtime gauge", 30, func() func() float64 {
		return func() float64 { return float64(1e6 + rng.IntN(1e7)) }
	})
	add("gc quantile", 5, func() func() float64 {
		return func() float64 { return float64(1e4+rng.IntN(9e4)) / 1e9 }
	})
	add("scrape duration", 1, func() func() float64 {
		return func() float64 { return float64(1e7+rng.IntN(2e7)) / 1e9 }
	})
	add("non-decimal ratio", 12, func() func() float64 {
		a, b := rng.Float64(), rng.Float64()
		return func() float64 {
			a += rng.Float64()
			b += rng.Float64()
			return a / b
		}
	})
	return out
}

// encodedSize is a chunk's size in a segment file: length, encoding,
// data and CRC.
func encodedSize(c chunkenc.Chunk) int {
	return uvarintSize(uint64(len(c.Bytes()))) + 1 + len(c.Bytes()) + crcSize
}

type codecResult struct {
	bytes   int
	samples int
	byKind  map[string][2]int // kind -> bytes, samples
}

// measure encodes every series' samples in chunks of perChunk samples.
func measure(t testing.TB, ts []int64, values [][]float64, kinds []string, cold bool, perChunk int) codecResult {
	res := codecResult{byKind: map[string][2]int{}}
	for s, vs := range values {
		for i := 0; i < len(vs); i += perChunk {
			j := min(i+perChunk, len(vs))
			var c chunkenc.Chunk
			if cold {
				cc, err := EncodeColdFloat(ts[i:j], vs[i:j])
				if err != nil {
					t.Fatal(err)
				}
				c = cc
			} else {
				x := chunkenc.NewXORChunk()
				app, _ := x.Appender()
				for k := i; k < j; k++ {
					app.Append(ts[k], vs[k])
				}
				c = x
			}
			n := encodedSize(c)
			res.bytes += n
			res.samples += j - i
			k := res.byKind[kinds[s]]
			res.byKind[kinds[s]] = [2]int{k[0] + n, k[1] + j - i}
		}
	}
	return res
}

// TestColdBytesPerSample measures bytes per sample of the cold encoding
// against XOR on a simulated node exporter over 6 hours at a 15 s scrape
// interval, with exactly regular timestamps and with a few milliseconds
// of jitter. The figures are logged (go test -v); the test fails if cold
// chunks are not clearly smaller, or do not decode exactly.
func TestColdBytesPerSample(t *testing.T) {
	const samples = 6 * 3600 / 15
	for _, jitter := range []int64{0, 5} {
		rng := rand.New(rand.NewPCG(42, uint64(jitter)))
		series := nodeExporterSeries(rng)
		ts := make([]int64, samples)
		for i := range ts {
			ts[i] = 1_700_000_000_000 + int64(i)*15_000
			if jitter > 0 {
				ts[i] += rng.Int64N(jitter)
			}
		}
		values := make([][]float64, len(series))
		kinds := make([]string, len(series))
		for s, ns := range series {
			kinds[s] = ns.kind
			values[s] = make([]float64, samples)
			for i := range values[s] {
				values[s][i] = ns.next()
			}
		}
		xor := measure(t, ts, values, kinds, false, chunkenc.SamplesPerChunk)
		xorBPS := float64(xor.bytes) / float64(xor.samples)
		t.Logf("jitter %d ms, %d series x %d samples: XOR/120 %.3f bytes/sample", jitter, len(series), samples, xorBPS)
		for _, per := range []int{120, 240, 480, 1440} {
			cold := measure(t, ts, values, kinds, true, per)
			bps := float64(cold.bytes) / float64(cold.samples)
			t.Logf("  cold/%d: %.3f bytes/sample (%.0f%% of XOR)", per, bps, 100*bps/xorBPS)
			if per == 480 {
				for kind, v := range cold.byKind {
					x := xor.byKind[kind]
					t.Logf("    %-18s XOR %.3f  cold %.3f", kind, float64(x[0])/float64(x[1]), float64(v[0])/float64(v[1]))
				}
				if bps > 0.6*xorBPS {
					t.Errorf("cold/480 at %.3f bytes/sample is not clearly below XOR's %.3f", bps, xorBPS)
				}
			}
			if bps >= xorBPS {
				t.Errorf("cold/%d at %.3f bytes/sample is not below XOR's %.3f", per, bps, xorBPS)
			}
		}
		// Spot-check exact decoding of every series at one chunk length.
		for s, vs := range values {
			c, err := EncodeColdFloat(ts[:480], vs[:480])
			if err != nil {
				t.Fatal(err)
			}
			got, err := storage.ExpandSamples(c.Iterator(nil))
			if err != nil || len(got) != 480 {
				t.Fatalf("series %d: %v", s, err)
			}
			for i := range got {
				if got[i].T != ts[i] || math.Float64bits(got[i].F) != math.Float64bits(vs[i]) {
					t.Fatalf("series %d (%s) sample %d: got (%d, %v), want (%d, %v)", s, kinds[s], i, got[i].T, got[i].F, ts[i], vs[i])
				}
			}
		}
	}
}

// BenchmarkDecode compares decoding speed of XOR and cold chunks of a
// CPU seconds counter.
func BenchmarkDecode(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	var cpu nodeSeries
	for _, s := range nodeExporterSeries(rng) {
		if s.kind == "cpu seconds" {
			cpu = s
			break
		}
	}
	for _, per := range []int{120, 480} {
		ts := make([]int64, per)
		vs := make([]float64, per)
		for i := range ts {
			ts[i] = int64(i) * 15000
			vs[i] = cpu.next()
		}
		x := chunkenc.NewXORChunk()
		app, _ := x.Appender()
		for i := range ts {
			app.Append(ts[i], vs[i])
		}
		cold, err := EncodeColdFloat(ts, vs)
		if err != nil {
			b.Fatal(err)
		}
		for _, c := range []chunkenc.Chunk{x, cold} {
			b.Run(fmt.Sprintf("%s/%d", c.Encoding(), per), func(b *testing.B) {
				b.ReportAllocs()
				var it storage.Iterator
				for b.Loop() {
					it = c.Iterator(it)
					for it.Next() != storage.ValNone {
					}
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*per), "ns/sample")
			})
		}
	}
}

// BenchmarkEncodeCold measures the compaction-side cost of the cold
// encoding.
func BenchmarkEncodeCold(b *testing.B) {
	rng := rand.New(rand.NewPCG(2, 2))
	series := nodeExporterSeries(rng)
	const per = 480
	ts := make([]int64, per)
	for i := range ts {
		ts[i] = int64(i) * 15000
	}
	values := make([][]float64, len(series))
	for s := range series {
		values[s] = make([]float64, per)
		for i := range values[s] {
			values[s][i] = series[s].next()
		}
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(series) * per * 16))
	var enc ColdEncoder
	for b.Loop() {
		for _, vs := range values {
			if _, err := enc.Encode(ts, vs); err != nil {
				b.Fatal(err)
			}
		}
	}
}
