package chunks

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/vigil-monitoring/vigil/internal/model/value"
	"github.com/vigil-monitoring/vigil/internal/storage"
	"github.com/vigil-monitoring/vigil/internal/tsdb/chunkenc"
)

func coldRoundTrip(t *testing.T, ts []int64, vs []float64) *ColdChunk {
	t.Helper()
	c, err := EncodeColdFloat(ts, vs)
	if err != nil {
		t.Fatal(err)
	}
	// Decode through the public entry point, as a reader would.
	d, err := Decode(EncColdFloat, c.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	got, err := storage.ExpandSamples(d.Iterator(nil))
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	if len(got) != len(ts) || d.NumSamples() != len(ts) {
		t.Fatalf("got %d samples (NumSamples %d), want %d", len(got), d.NumSamples(), len(ts))
	}
	for i := range ts {
		if got[i].T != ts[i] || math.Float64bits(got[i].F) != math.Float64bits(vs[i]) {
			t.Fatalf("sample %d: got (%d, %v), want (%d, %v)", i, got[i].T, got[i].F, ts[i], vs[i])
		}
	}
	return c
}

func regularTimes(n int, start, step, jitter int64, rng *rand.Rand) []int64 {
	ts := make([]int64, n)
	for i := range ts {
		ts[i] = start + int64(i)*step
		if jitter > 0 {
			ts[i] += rng.Int64N(jitter)
		}
	}
	return ts
}

func TestColdRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	n := 500
	ts := regularTimes(n, 1_700_000_000_000, 15000, 5, rng)
	cases := map[string]func(i int) float64{
		"constant":        func(int) float64 { return 42 },
		"zero":            func(int) float64 { return 0 },
		"integer counter": func(i int) float64 { return float64(1e9 + i*rng.IntN(5000)) },
		"two decimals":    func(i int) float64 { return float64(12345+i*15+rng.IntN(3)) / 100 },
		"small decimals":  func(i int) float64 { return float64(rng.IntN(1e6)) / 1e9 },
		"negative":        func(i int) float64 { return -float64(i) * 0.25 },
		"random bits":     func(int) float64 { return math.Float64frombits(rng.Uint64() &^ (0x7ff << 52)) },
		"non decimal":     func(i int) float64 { return math.Sqrt(float64(i + 2)) },
		"mixed": func(i int) float64 {
			switch i % 7 {
			case 0:
				return value.StaleNaN
			case 1:
				return math.NaN()
			case 2:
				return math.Inf(-1)
			case 3:
				return math.Copysign(0, -1)
			case 4:
				return math.Pi
			}
			return float64(i)
		},
		"huge integers": func(i int) float64 { return 1e300 * float64(i+1) },
		"max mantissa":  func(i int) float64 { return float64(coldMaxMantissa - int64(i)) },
	}
	for name, gen := range cases {
		t.Run(name, func(t *testing.T) {
			vs := make([]float64, n)
			for i := range vs {
				vs[i] = gen(i)
			}
			c := coldRoundTrip(t, ts, vs)
			x := chunkenc.NewXORChunk()
			app, _ := x.Appender()
			for i := range ts {
				app.Append(ts[i], vs[i])
			}
			// The encoder picks the smallest coding, and XOR is one of them.
			if len(c.Bytes()) > len(x.Bytes())+8 {
				t.Fatalf("cold chunk %d bytes, XOR %d", len(c.Bytes()), len(x.Bytes()))
			}
			t.Logf("%s: cold %d bytes, XOR %d bytes", name, len(c.Bytes()), len(x.Bytes()))
		})
	}
	// Edge sizes.
	coldRoundTrip(t, []int64{-5}, []float64{value.StaleNaN})
	coldRoundTrip(t, []int64{math.MinInt64 + 1, math.MaxInt64}, []float64{1, 2})
	big := regularTimes(ColdMaxSamples, 0, 1, 0, nil)
	coldRoundTrip(t, big, make([]float64, ColdMaxSamples))
}

func TestColdRejectsBadInput(t *testing.T) {
	if _, err := EncodeColdFloat(nil, nil); err == nil {
		t.Fatal("empty chunk accepted")
	}
	if _, err := EncodeColdFloat([]int64{2, 1}, []float64{1, 2}); err == nil {
		t.Fatal("decreasing timestamps accepted")
	}
	if _, err := EncodeColdFloat(make([]int64, ColdMaxSamples+1), make([]float64, ColdMaxSamples+1)); err == nil {
		t.Fatal("too many samples accepted")
	}
}

func TestColdIteratorSeekAndReuse(t *testing.T) {
	ts := []int64{10, 20, 30, 40, 50}
	vs := []float64{1, 2, 3, 4, 5}
	c := coldRoundTrip(t, ts, vs)
	it := c.Iterator(nil)
	if it.Seek(25) != storage.ValFloat || it.AtT() != 30 {
		t.Fatalf("Seek(25) at %d", it.AtT())
	}
	if it.Seek(5) != storage.ValFloat || it.AtT() != 30 {
		t.Fatal("Seek moved backwards")
	}
	if it.Seek(51) != storage.ValNone || it.Next() != storage.ValNone {
		t.Fatal("Seek past the end")
	}
	// Reuse on a chunk of the other coding.
	c2 := coldRoundTrip(t, []int64{1, 2}, []float64{math.Pi, math.E})
	it = c2.Iterator(it)
	got, err := storage.ExpandSamples(it)
	if err != nil || len(got) != 2 || got[1].F != math.E {
		t.Fatalf("reused iterator: %v %v", got, err)
	}
}

func TestDecimalOf(t *testing.T) {
	for _, tc := range []struct {
		v  float64
		m  int64
		e  int
		ok bool
	}{
		{0, 0, 0, true},
		{1, 1, 0, true},
		{0.1, 1, 1, true},
		{0.15, 15, 2, true},
		{-12.345, -12345, 3, true},
		{2.5012e-05, 25012, 9, true},
		{math.Nextafter(0.3, 1), 0, 0, false}, // what 0.1+0.2 computes at run time
		{math.NaN(), 0, 0, false},
		{math.Copysign(0, -1), 0, 0, false},
		{1e300, 0, 0, false},
	} {
		m, e, ok := decimalOf(tc.v)
		if ok != tc.ok || (ok && (m != tc.m || e != tc.e)) {
			t.Errorf("decimalOf(%v) = %d, %d, %v; want %d, %d, %v", tc.v, m, e, ok, tc.m, tc.e, tc.ok)
		}
	}
}

// TestDivPow10 checks the decoder's division by a power of ten against
// the division itself, for every exponent the encoding allows and
// mantissas of every size up to 2^53.
func TestDivPow10(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	n := 200_000
	if testing.Short() {
		n = 20_000
	}
	for e := 0; e <= coldMaxExp; e++ {
		d, inv := pow10[e], invPow10[e]
		check := func(m int64) {
			fm := float64(m)
			if got, want := divPow10(fm, d, inv), fm/d; math.Float64bits(got) != math.Float64bits(want) {
				t.Fatalf("e=%d m=%d: %v, division gives %v", e, m, got, want)
			}
		}
		for _, m := range []int64{0, 1, -1, 9, 10, 11, coldMaxMantissa, -coldMaxMantissa, coldMaxMantissa - 1} {
			check(m)
		}
		for i := range n {
			m := rng.Int64N(1 << uint(1+i%53))
			if i%2 == 1 {
				m = -m
			}
			check(m)
		}
	}
}
