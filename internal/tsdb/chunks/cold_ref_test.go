package chunks

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/vigil-monitoring/vigil/internal/storage"
)

// refColdDecode decodes a cold chunk one sample at a time, as the
// decoder did before NextFloats: the reference for the batch decoder. It
// returns the samples decoded before any error.
func refColdDecode(b []byte) ([]int64, []float64, error) {
	n, err := coldHeader(b)
	if err != nil {
		return nil, nil, err
	}
	it := &coldIterator{total: n, nextExc: -1}
	if err := it.init(b); err != nil {
		return nil, nil, err
	}
	var ts []int64
	var vs []float64
	if it.xor != nil {
		for range n {
			if it.xor.Next() != storage.ValFloat {
				return ts, vs, errColdCorrupt
			}
			t, v := it.xor.At()
			ts, vs = append(ts, t), append(vs, v)
		}
		return ts, vs, nil
	}
	var t, dT, m, dM int64
	for i := range n {
		x, ok := readVarint(&it.tsb)
		if !ok {
			return ts, vs, errColdCorrupt
		}
		y, ok := readVarint(&it.vb)
		if !ok {
			return ts, vs, errColdCorrupt
		}
		prevT := t
		switch i {
		case 0:
			t, m = x, y
		case 1:
			dT, dM = x, y
			t += x
			m += y
		default:
			dT += x
			t += dT
			if it.coding == coldDecimalDod {
				dM += y
				m += dM
			} else {
				m += y
			}
		}
		if i > 0 && t <= prevT {
			return ts, vs, errColdCorrupt
		}
		var v float64
		if i == it.nextExc {
			v = math.Float64frombits(binary.BigEndian.Uint64(it.exps))
			it.exps = it.exps[8:]
			it.excLeft--
			if err := it.advanceExc(i); err != nil {
				return ts, vs, err
			}
		} else if m > coldMaxMantissa || m < -coldMaxMantissa {
			return ts, vs, errColdCorrupt
		} else {
			v = float64(m) / it.div
		}
		ts, vs = append(ts, t), append(vs, v)
	}
	return ts, vs, nil
}

// checkColdAgainstReference requires Next, NextFloats and NextFloatsUntil (in several
// batch sizes) to return exactly the reference's samples and to fail
// exactly when it fails.
func checkColdAgainstReference(t *testing.T, b []byte) {
	t.Helper()
	wantT, wantV, wantErr := refColdDecode(b)
	if _, err := coldHeader(b); err != nil {
		return
	}
	same := func(what string, gotT []int64, gotV []float64, gotErr error) {
		t.Helper()
		if (gotErr != nil) != (wantErr != nil) || len(gotT) != len(wantT) {
			t.Fatalf("%s: %d samples, err %v; reference %d samples, err %v", what, len(gotT), gotErr, len(wantT), wantErr)
		}
		for i := range gotT {
			if gotT[i] != wantT[i] || math.Float64bits(gotV[i]) != math.Float64bits(wantV[i]) {
				t.Fatalf("%s, sample %d: (%d, %v), reference (%d, %v)", what, i, gotT[i], gotV[i], wantT[i], wantV[i])
			}
		}
	}
	for _, size := range []int{1, 2, 5, 128} {
		it, err := IteratorFromData(EncColdFloat, b, nil)
		if err != nil {
			t.Fatal(err)
		}
		ci := it.(*coldIterator)
		var gotT []int64
		var gotV []float64
		bt, bv := make([]int64, size), make([]float64, size)
		for {
			k := ci.NextFloats(bt, bv)
			if k == 0 {
				break
			}
			gotT, gotV = append(gotT, bt[:k]...), append(gotV, bv[:k]...)
		}
		same("NextFloats", gotT, gotV, ci.Err())
	}
	for _, size := range []int{1, 2, 128} {
		it, err := IteratorFromData(EncColdFloat, b, nil)
		if err != nil {
			t.Fatal(err)
		}
		ci := it.(*coldIterator)
		var gotT []int64
		var gotV []float64
		bt, bv := make([]int64, size), make([]float64, size)
		for call := 0; ; call++ {
			// The limit: a reference timestamp a few samples ahead, or
			// before the next sample.
			maxt := int64(math.MinInt64)
			if j := len(gotT) + call%5 - 1; j >= 0 && j < len(wantT) {
				maxt = wantT[j]
			}
			k := ci.NextFloatsUntil(bt, bv, maxt)
			if k == 0 {
				break
			}
			for i := range k - 1 {
				if bt[i] > maxt {
					t.Fatalf("NextFloatsUntil(%d), batch %d: went on past %d", maxt, size, bt[i])
				}
			}
			gotT, gotV = append(gotT, bt[:k]...), append(gotV, bv[:k]...)
		}
		same("NextFloatsUntil", gotT, gotV, ci.Err())
	}
	it, _ := IteratorFromData(EncColdFloat, b, nil)
	var gotT []int64
	var gotV []float64
	for it.Next() == storage.ValFloat {
		t, v := it.At()
		gotT, gotV = append(gotT, t), append(gotV, v)
	}
	same("Next", gotT, gotV, it.Err())
}

// TestColdDecoderMatchesReference compares the decoder with the
// reference on chunks of each coding and on corruptions of them.
func TestColdDecoderMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for iter := range 60 {
		n := 1 + rng.IntN(600)
		ts := make([]int64, n)
		vs := make([]float64, n)
		cur := rng.Int64N(1<<40) - 1<<39
		v := float64(rng.IntN(1e6))
		for i := range n {
			cur += 1 + rng.Int64N(int64(1)<<uint(rng.IntN(20)))
			switch iter % 4 {
			case 0:
				v += float64(rng.IntN(3))
			case 1:
				v = float64(rng.IntN(1e9)) / 100
			case 2:
				v = math.Float64frombits(rng.Uint64())
			default:
				if rng.IntN(5) == 0 {
					v = math.NaN()
				} else {
					v = float64(rng.IntN(1e5)) / 4096
				}
			}
			ts[i], vs[i] = cur, v
		}
		c, err := EncodeColdFloat(ts, vs)
		if err != nil {
			t.Fatal(err)
		}
		b := c.Bytes()
		checkColdAgainstReference(t, b)
		for range 30 {
			x := append([]byte(nil), b...)
			i := rng.IntN(len(x))
			x[i] ^= 1 << rng.IntN(8)
			checkColdAgainstReference(t, x)
			checkColdAgainstReference(t, x[:rng.IntN(len(x)+1)])
		}
	}
}
