package chunkenc

import (
	"bytes"
	"math"
	"math/rand/v2"
	"testing"
	"unsafe"
)

// TestXORHeadMatchesAppender requires XORHead to write the bytes
// XORAppender writes, and every reader that starts at its checkpoint,
// on a snapshot taken after any append, to return exactly the samples
// after the checkpoint.
func TestXORHeadMatchesAppender(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	gens := map[string]func(n int) ([]int64, []float64){
		"golden generator": genFloats,
		"scrape-like": func(n int) ([]int64, []float64) {
			ts, vs := make([]int64, n), make([]float64, n)
			t0, v := int64(1_700_000_000_000), 100.0
			for i := range n {
				t0 += 15000 + rng.Int64N(41) - 20
				v += float64(rng.IntN(1000)) / 7
				ts[i], vs[i] = t0, v
			}
			return ts, vs
		},
		"huge deltas": func(n int) ([]int64, []float64) {
			ts, vs := make([]int64, n), make([]float64, n)
			t0 := int64(math.MinInt64 / 2)
			for i := range n {
				t0 += 1 + rng.Int64N(1<<40)
				ts[i], vs[i] = t0, math.Float64frombits(rng.Uint64())
			}
			return ts, vs
		},
	}
	for name, gen := range gens {
		t.Run(name, func(t *testing.T) {
			ts, vs := gen(SamplesPerChunk)
			ref := NewXORChunk()
			app, err := ref.Appender()
			if err != nil {
				t.Fatal(err)
			}
			var h XORHead
			h.Reset()
			checkpoints := 0
			for i := range ts {
				app.Append(ts[i], vs[i])
				prevT, prevV := int64(0), 0.0
				if i > 0 {
					prevT, prevV = ts[i-1], vs[i-1]
				}
				h.Append(prevT, prevV, ts[i], vs[i])
				b := h.Chunk().Bytes()
				if !bytes.Equal(b, ref.Bytes()) {
					t.Fatalf("after sample %d: XORHead wrote %x, XORAppender %x", i, b, ref.Bytes())
				}
				n := h.NumSamples()
				// Every mint at or after the checkpoint's sample.
				for _, mint := range []int64{math.MinInt64, ts[i], ts[i] + 1, math.MaxInt64} {
					ck := h.CheckpointBefore(mint)
					if ck.N == 0 {
						continue
					}
					checkpoints++
					if ck.T >= mint || int(ck.N) > n || ts[ck.N-1] != ck.T {
						t.Fatalf("after sample %d: checkpoint %+v for mint %d", i, ck, mint)
					}
					it := OpenXORIteratorFrom(b, n, b[len(b)-1], ck, nil).(FloatBatchIterator)
					gotT, gotV := make([]int64, n+1), make([]float64, n+1)
					k := 0
					for m := it.NextFloats(gotT[k:k+3], gotV[k:k+3]); m > 0; m = it.NextFloats(gotT[k:k+3], gotV[k:k+3]) {
						k += m
					}
					if err := it.Err(); err != nil {
						t.Fatalf("after sample %d, from checkpoint %d: %v", i, ck.N, err)
					}
					if k != n-int(ck.N) {
						t.Fatalf("after sample %d, from checkpoint %d: %d samples, want %d", i, ck.N, k, n-int(ck.N))
					}
					for j := range k {
						w := int(ck.N) + j
						if gotT[j] != ts[w] || math.Float64bits(gotV[j]) != math.Float64bits(vs[w]) {
							t.Fatalf("after sample %d, from checkpoint %d, sample %d: (%d, %v), want (%d, %v)", i, ck.N, w, gotT[j], gotV[j], ts[w], vs[w])
						}
					}
				}
			}
			if checkpoints == 0 {
				t.Fatal("no checkpoint was ever taken")
			}
		})
	}
}

// TestXORHeadCheckpointPlacement pins the policy the readers rely on:
// a checkpoint every XORCheckpointEvery samples, none at the cut.
func TestXORHeadCheckpointPlacement(t *testing.T) {
	var h XORHead
	h.Reset()
	prev := int64(0)
	for i := range SamplesPerChunk {
		ti := int64(i+1) * 1000
		h.Append(prev, float64(i), ti, float64(i+1))
		prev = ti
		want := (i + 1) / XORCheckpointEvery * XORCheckpointEvery
		if want >= SamplesPerChunk {
			want -= XORCheckpointEvery
		}
		if got := int(h.CheckpointBefore(math.MaxInt64).N); got != want {
			t.Fatalf("after %d samples: checkpoint at %d, want %d", i+1, got, want)
		}
	}
}

// TestXORHeadSize keeps XORHead as small as the chunk and appender it
// replaced: the head embeds one per series.
func TestXORHeadSize(t *testing.T) {
	if got := unsafe.Sizeof(XORHead{}); got > 72 {
		t.Fatalf("XORHead is %d bytes, want at most 72", got)
	}
}
