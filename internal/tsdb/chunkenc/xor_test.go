package chunkenc

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"math"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/vigil-monitoring/vigil/internal/storage"
)

// genFloats is the sample generator behind testdata/prometheus_xor.golden:
// irregular intervals, tiny and huge gaps, repeated values and every
// special float. Changing it invalidates the golden file.
func genFloats(n int) ([]int64, []float64) {
	ts := make([]int64, n)
	vs := make([]float64, n)
	t := int64(1_700_000_000_000)
	for i := range n {
		switch {
		case i%50 == 49:
			t += 3_600_000
		case i%17 == 5:
			t++
		default:
			t += 15000 + int64((i*7919)%2001) - 1000
		}
		ts[i] = t
		switch i % 9 {
		case 0:
			vs[i] = float64(i) * 0.5
		case 1:
			vs[i] = vs[max(i-1, 0)]
		case 2:
			vs[i] = math.Float64frombits(0x7ff0000000000002)
		case 3:
			vs[i] = 1e300 / float64(i+1)
		case 4:
			vs[i] = -float64(i)
		case 5:
			vs[i] = math.NaN()
		case 6:
			vs[i] = math.Inf(1)
		default:
			vs[i] = float64(i*i) + 0.125
		}
	}
	return ts, vs
}

func buildXOR(t testing.TB, ts []int64, vs []float64) *XORChunk {
	c := NewXORChunk()
	app, err := c.Appender()
	if err != nil {
		t.Fatal(err)
	}
	for i := range ts {
		app.Append(ts[i], vs[i])
	}
	return c
}

func checkFloats(t *testing.T, c Chunk, ts []int64, vs []float64) {
	t.Helper()
	it := c.Iterator(nil)
	for i := range ts {
		if typ := it.Next(); typ != storage.ValFloat {
			t.Fatalf("sample %d: Next = %v (err %v)", i, typ, it.Err())
		}
		gt, gv := it.At()
		if gt != ts[i] || math.Float64bits(gv) != math.Float64bits(vs[i]) {
			t.Fatalf("sample %d: got (%d, %x), want (%d, %x)", i, gt, math.Float64bits(gv), ts[i], math.Float64bits(vs[i]))
		}
	}
	if typ := it.Next(); typ != storage.ValNone || it.Err() != nil {
		t.Fatalf("after the last sample: %v, %v", typ, it.Err())
	}
}

// TestXORPrometheusGolden checks byte compatibility with Prometheus' XOR
// chunks: the golden file holds the bytes Prometheus v0.316.0's
// chunkenc.XORChunk produces for genFloats(n).
func TestXORPrometheusGolden(t *testing.T) {
	f, err := os.Open("testdata/prometheus_xor.golden")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	cases := 0
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		n, _ := strconv.Atoi(fields[0])
		want, err := hex.DecodeString(fields[1])
		if err != nil {
			t.Fatal(err)
		}
		ts, vs := genFloats(n)
		c := buildXOR(t, ts, vs)
		if !bytes.Equal(c.Bytes(), want) {
			t.Errorf("n=%d: bytes differ from Prometheus'\n got %x\nwant %x", n, c.Bytes(), want)
		}
		pc, err := FromData(EncXOR, want)
		if err != nil {
			t.Fatal(err)
		}
		checkFloats(t, pc, ts, vs)
		cases++
	}
	if cases != 5 {
		t.Fatalf("golden file has %d cases, want 5", cases)
	}
}

func TestXORRandomRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	for iter := range 200 {
		n := 1 + rng.IntN(300)
		ts := make([]int64, n)
		vs := make([]float64, n)
		cur := rng.Int64N(1<<50) - 1<<49
		for i := range n {
			switch rng.IntN(6) {
			case 0:
				cur += 1 + rng.Int64N(1<<40) // beyond every dod bucket
			case 1:
				cur += 1 + rng.Int64N(100)
			default:
				cur += 10_000 + rng.Int64N(3)
			}
			ts[i] = cur
			switch rng.IntN(5) {
			case 0:
				vs[i] = math.Float64frombits(rng.Uint64())
			case 1:
				if i > 0 {
					vs[i] = vs[i-1]
				}
			default:
				vs[i] = float64(rng.IntN(1000)) / 8
			}
		}
		c := buildXOR(t, ts, vs)
		if c.NumSamples() != n {
			t.Fatalf("iter %d: NumSamples %d, want %d", iter, c.NumSamples(), n)
		}
		checkFloats(t, c, ts, vs)

		// Resuming from the bytes must continue the exact same stream.
		k := rng.IntN(n + 1)
		half := buildXOR(t, ts[:k], vs[:k])
		re, _ := FromData(EncXOR, bytes.Clone(half.Bytes()))
		app, err := re.(*XORChunk).Appender()
		if err != nil {
			t.Fatal(err)
		}
		for i := k; i < n; i++ {
			app.Append(ts[i], vs[i])
		}
		if !bytes.Equal(re.Bytes(), c.Bytes()) {
			t.Fatalf("iter %d: resumed at %d of %d gives different bytes", iter, k, n)
		}
	}
}

func TestXORSeek(t *testing.T) {
	ts := []int64{10, 20, 30, 40}
	c := buildXOR(t, ts, []float64{1, 2, 3, 4})
	it := c.Iterator(nil)
	steps := []struct {
		seek  int64
		wantT int64 // -1: ValNone
	}{{0, 10}, {10, 10}, {11, 20}, {5, 20}, {40, 40}, {40, 40}, {41, -1}, {0, -1}}
	for _, s := range steps {
		typ := it.Seek(s.seek)
		if s.wantT < 0 {
			if typ != storage.ValNone {
				t.Fatalf("Seek(%d) = %v at %d, want end", s.seek, typ, it.AtT())
			}
			continue
		}
		if typ != storage.ValFloat || it.AtT() != s.wantT {
			t.Fatalf("Seek(%d) = %v at %d, want %d", s.seek, typ, it.AtT(), s.wantT)
		}
	}
	// Reuse restarts.
	it = c.Iterator(it)
	if it.Next() != storage.ValFloat || it.AtT() != 10 {
		t.Fatal("reused iterator did not restart")
	}
}

func TestXORCorruptWindow(t *testing.T) {
	// Two samples; hand-craft a second value whose window claims 31
	// leading and 40 significant bits (71 > 64).
	w := bitWriter{b: []byte{0, 2}}
	var ts tsWriter
	ts.write(&w, 0, 1)
	w.writeBits(0, 64)
	ts.write(&w, 1, 2)
	w.writeBits(0b11, 2)
	w.writeBits(31, 5)
	w.writeBits(40, 6)
	w.writeBits(0, 40)
	c, _ := FromData(EncXOR, w.b)
	it := c.Iterator(nil)
	it.Next()
	if it.Next() != storage.ValNone || it.Err() == nil {
		t.Fatal("corrupt window not reported")
	}
}
