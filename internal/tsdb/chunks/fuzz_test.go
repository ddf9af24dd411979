package chunks

import (
	"encoding/binary"
	"math"
	"testing"

	"github.com/vigil-monitoring/vigil/internal/storage"
)

// FuzzColdDecode feeds arbitrary bytes to the cold decoder: errors, never
// panics, and never more samples than the header claims.
func FuzzColdDecode(f *testing.F) {
	for _, vs := range [][]float64{
		{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1},
		{0.5, 0.25, math.NaN(), 3},
		{math.Pi, math.E, math.Sqrt2},
	} {
		ts := make([]int64, len(vs))
		for i := range ts {
			ts[i] = int64(i) * 15000
		}
		c, err := EncodeColdFloat(ts, vs)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(c.Bytes())
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		checkColdAgainstReference(t, b)
		c, err := Decode(EncColdFloat, b)
		if err != nil {
			return
		}
		it := c.Iterator(nil)
		n := 0
		for it.Next() == storage.ValFloat {
			it.At()
			n++
			if n > c.NumSamples() {
				t.Fatalf("%d samples, header says %d", n, c.NumSamples())
			}
		}
		it = c.Iterator(it)
		it.Seek(math.MaxInt64)
	})
}

// FuzzColdRoundTrip encodes samples derived from arbitrary bytes and
// checks they decode bit for bit.
func FuzzColdRoundTrip(f *testing.F) {
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 1, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		var ts []int64
		var vs []float64
		cur := int64(0)
		for len(data) >= 10 {
			cur += 1 + int64(binary.BigEndian.Uint16(data))
			v := math.Float64frombits(binary.BigEndian.Uint64(data[2:]))
			if data[2]&1 == 0 {
				// Bias half the values towards short decimals.
				v = float64(int64(binary.BigEndian.Uint32(data[4:]))) / pow10[data[3]%8]
			}
			ts, vs = append(ts, cur), append(vs, v)
			data = data[10:]
		}
		if len(ts) == 0 {
			return
		}
		c, err := EncodeColdFloat(ts, vs)
		if err != nil {
			t.Fatal(err)
		}
		got, err := storage.ExpandSamples(c.Iterator(nil))
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(ts) {
			t.Fatalf("%d samples back, want %d", len(got), len(ts))
		}
		for i := range ts {
			if got[i].T != ts[i] || math.Float64bits(got[i].F) != math.Float64bits(vs[i]) {
				t.Fatalf("sample %d: (%d, %x), want (%d, %x)", i, got[i].T, math.Float64bits(got[i].F), ts[i], math.Float64bits(vs[i]))
			}
		}
	})
}

// FuzzSegmentChunk reads a chunk reference out of arbitrary segment bytes.
func FuzzSegmentChunk(f *testing.F) {
	seg := []byte{0x56, 0x47, 0x43, 0x4B, 1, 0, 0, 0, 3, 1, 0, 0, 0, 0, 0, 0, 0}
	f.Add(seg, uint32(8))
	f.Fuzz(func(t *testing.T, b []byte, off uint32) {
		r, err := NewReaderFromBytes(b)
		if err != nil {
			return
		}
		c, err := r.Chunk(NewChunkRef(1, off))
		if err != nil {
			return
		}
		it := c.Iterator(nil)
		for it.Next() != storage.ValNone {
		}
	})
}
