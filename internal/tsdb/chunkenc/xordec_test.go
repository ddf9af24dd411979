package chunkenc

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/vigil-monitoring/vigil/internal/storage"
)

// refDecodeXOR is the bit-at-a-time XOR decoder xorIterator replaced,
// built from the bitReader primitives the histogram chunks still use. It
// returns the samples decoded before any error.
func refDecodeXOR(b []byte) ([]int64, []float64, error) {
	var ts []int64
	var vs []float64
	r := newBitReader(b[2:])
	var st tsReader
	xs := newXORState()
	var v float64
	for i := range numSamples(b) {
		if err := st.read(&r, i); err != nil {
			return ts, vs, err
		}
		if i == 0 {
			bits, err := r.readBits(64)
			if err != nil {
				return ts, vs, err
			}
			v = math.Float64frombits(bits)
		} else {
			var err error
			if v, err = readXOR(&r, &xs, v); err != nil {
				return ts, vs, err
			}
		}
		ts, vs = append(ts, st.t), append(vs, v)
	}
	return ts, vs, nil
}

// decodeBatched decodes b with NextFloats in batches of size n.
func decodeBatched(b []byte, n int) ([]int64, []float64, error) {
	c, err := FromData(EncXOR, b)
	if err != nil {
		return nil, nil, err
	}
	it := c.Iterator(nil).(FloatBatchIterator)
	var ts []int64
	var vs []float64
	bt, bv := make([]int64, n), make([]float64, n)
	for {
		k := it.NextFloats(bt, bv)
		if k == 0 {
			return ts, vs, it.Err()
		}
		ts, vs = append(ts, bt[:k]...), append(vs, bv[:k]...)
		if t, v := it.At(); t != bt[k-1] || math.Float64bits(v) != math.Float64bits(bv[k-1]) {
			return ts, vs, errMismatch
		}
	}
}

// decodeUntil decodes b with NextFloatsUntil in batches of size n, the
// limit of each call a timestamp of the reference (wantT) a few samples
// ahead, or before the next sample. It fails when a call returns a
// sample past the first one later than its limit.
func decodeUntil(b []byte, n int, wantT []int64) ([]int64, []float64, error) {
	c, err := FromData(EncXOR, b)
	if err != nil {
		return nil, nil, err
	}
	it := c.Iterator(nil).(FloatBatchIterator)
	var ts []int64
	var vs []float64
	bt, bv := make([]int64, n), make([]float64, n)
	for call := 0; ; call++ {
		maxt := int64(math.MinInt64)
		if j := len(ts) + call%5 - 1; j >= 0 && j < len(wantT) {
			maxt = wantT[j]
		}
		k := it.NextFloatsUntil(bt, bv, maxt)
		if k == 0 {
			return ts, vs, it.Err()
		}
		for i := range k - 1 {
			if bt[i] > maxt {
				return ts, vs, errPastLimit
			}
		}
		ts, vs = append(ts, bt[:k]...), append(vs, bv[:k]...)
	}
}

var errPastLimit = errors.New("NextFloatsUntil went on past a sample later than its limit")

// errMismatch reports an iterator whose At disagrees with what NextFloats
// returned.
var errMismatch = errors.New("At differs from the last sample NextFloats returned")

// checkAgainstReference requires every decoding path of b (Next, and
// NextFloats and NextFloatsUntil in several batch sizes) to return exactly the reference's
// samples, and to fail exactly when it fails.
func checkAgainstReference(t *testing.T, b []byte) {
	t.Helper()
	if len(b) < 2 {
		return
	}
	wantT, wantV, wantErr := refDecodeXOR(b)
	for _, n := range []int{1, 3, 64, FloatRunLen} {
		gotT, gotV, gotErr := decodeBatched(b, n)
		if (gotErr != nil) != (wantErr != nil) || len(gotT) != len(wantT) {
			t.Fatalf("batch %d: %d samples, err %v; reference %d samples, err %v", n, len(gotT), gotErr, len(wantT), wantErr)
		}
		for i := range gotT {
			if gotT[i] != wantT[i] || math.Float64bits(gotV[i]) != math.Float64bits(wantV[i]) {
				t.Fatalf("batch %d, sample %d: (%d, %x), reference (%d, %x)", n, i, gotT[i], math.Float64bits(gotV[i]), wantT[i], math.Float64bits(wantV[i]))
			}
		}
	}
	for _, n := range []int{1, 3, FloatRunLen} {
		gotT, gotV, gotErr := decodeUntil(b, n, wantT)
		if (gotErr != nil) != (wantErr != nil) || len(gotT) != len(wantT) {
			t.Fatalf("until, batch %d: %d samples, err %v; reference %d samples, err %v", n, len(gotT), gotErr, len(wantT), wantErr)
		}
		for i := range gotT {
			if gotT[i] != wantT[i] || math.Float64bits(gotV[i]) != math.Float64bits(wantV[i]) {
				t.Fatalf("until, batch %d, sample %d: (%d, %x), reference (%d, %x)", n, i, gotT[i], math.Float64bits(gotV[i]), wantT[i], math.Float64bits(wantV[i]))
			}
		}
	}
	c, _ := FromData(EncXOR, b)
	it := c.Iterator(nil)
	i := 0
	for it.Next() == storage.ValFloat {
		if i >= len(wantT) {
			t.Fatalf("Next: more samples than the reference's %d", len(wantT))
		}
		if gt, gv := it.At(); gt != wantT[i] || math.Float64bits(gv) != math.Float64bits(wantV[i]) {
			t.Fatalf("Next, sample %d: (%d, %v), reference (%d, %v)", i, gt, gv, wantT[i], wantV[i])
		}
		i++
	}
	if i != len(wantT) || (it.Err() != nil) != (wantErr != nil) {
		t.Fatalf("Next: %d samples, err %v; reference %d, err %v", i, it.Err(), len(wantT), wantErr)
	}
}

// TestXORDecoderMatchesReference compares the decoder with the reference
// on valid chunks of every shape and on each of their truncations and
// single-bit corruptions.
func TestXORDecoderMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, n := range []int{1, 2, 3, 57, 120, 300} {
		ts, vs := genFloats(n)
		b := buildXOR(t, ts, vs).Bytes()
		checkAgainstReference(t, b)
		for cut := 2; cut < len(b); cut += 1 + len(b)/40 {
			checkAgainstReference(t, b[:cut])
		}
		for range 200 {
			c := append([]byte(nil), b...)
			i := 2 + rng.IntN(len(c)-2)
			c[i] ^= 1 << rng.IntN(8)
			checkAgainstReference(t, c)
		}
	}
}

// FuzzXORDecodeReference checks the decoder against the reference on
// arbitrary bytes.
func FuzzXORDecodeReference(f *testing.F) {
	ts, vs := genFloats(130)
	f.Add(buildXOR(f, ts, vs).Bytes())
	f.Add([]byte{0, 3, 1, 2, 3})
	f.Fuzz(func(t *testing.T, b []byte) {
		checkAgainstReference(t, b)
	})
}
