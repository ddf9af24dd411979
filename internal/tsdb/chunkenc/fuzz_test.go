package chunkenc

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/vigil-monitoring/vigil/internal/storage"
)

// FuzzChunkDecode feeds arbitrary bytes to every decoder: they must return
// errors, never panic or allocate without bound. The seeds are valid
// chunks of each encoding, so mutations explore near-valid input.
func FuzzChunkDecode(f *testing.F) {
	ts, vs := genFloats(130)
	f.Add(uint8(EncXOR), buildXOR(f, ts, vs).Bytes())
	hs := genHistograms(rand.New(rand.NewPCG(1, 1)), 30)
	hc := NewHistogramChunk()
	ha, _ := hc.Appender()
	fc := NewFloatHistogramChunk()
	fa, _ := fc.Appender()
	for i, h := range hs {
		_ = ha.AppendHistogram(int64(i), h)
		_ = fa.AppendFloatHistogram(int64(i), h.ToFloat(nil))
	}
	f.Add(uint8(EncHistogram), hc.Bytes())
	f.Add(uint8(EncFloatHistogram), fc.Bytes())
	f.Add(uint8(EncXOR), []byte{0xff, 0xff})

	f.Fuzz(func(t *testing.T, enc uint8, data []byte) {
		c, err := FromData(Encoding(enc), data)
		if err != nil {
			return
		}
		it := c.Iterator(nil)
		prev := int64(0)
		for n := 0; ; n++ {
			typ := it.Next()
			if typ == storage.ValNone {
				break
			}
			prev = it.AtT()
			switch typ {
			case storage.ValFloat:
				it.At()
			case storage.ValHistogram:
				it.AtHistogram(nil)
				it.AtFloatHistogram(nil)
			case storage.ValFloatHistogram:
				it.AtFloatHistogram(nil)
			}
			if n > c.NumSamples() {
				t.Fatalf("iterator returned more samples (%d) than the header (%d)", n, c.NumSamples())
			}
		}
		// Seek on a fresh iterator must not panic either.
		it = c.Iterator(it)
		it.Seek(prev)
		it.Seek(prev + 1)
	})
}

// FuzzXORRoundTrip encodes samples derived from arbitrary bytes (any
// timestamps in increasing order, any value bits) and checks they decode
// exactly.
func FuzzXORRoundTrip(f *testing.F) {
	f.Add([]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16})
	f.Fuzz(func(t *testing.T, data []byte) {
		var ts []int64
		var vs []float64
		cur := int64(-1 << 40)
		for len(data) >= 9 && len(ts) < 500 {
			step := int64(binary.BigEndian.Uint64(data[:8]) >> (data[8] % 64))
			if step <= 0 {
				step = 1
			}
			if cur > math.MaxInt64-step {
				break
			}
			cur += step
			ts = append(ts, cur)
			vs = append(vs, math.Float64frombits(binary.LittleEndian.Uint64(data[1:9])))
			data = data[9:]
		}
		checkFloats(t, buildXOR(t, ts, vs), ts, vs)
	})
}
