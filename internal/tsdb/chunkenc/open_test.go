package chunkenc

import (
	"math"
	"testing"

	"github.com/vigil-monitoring/vigil/internal/storage"
)

// TestOpenXORIterator snapshots a chunk after every append, as the head
// does under its lock, and reads each snapshot after all later appends
// (which rewrite the header and fill the final byte, and move the chunk
// when it grows): it must still read exactly the samples of its time.
func TestOpenXORIterator(t *testing.T) {
	ts, vs := genFloats(300)
	type snap struct {
		b    []byte
		n    int
		last byte
	}
	c := NewXORChunk()
	app, err := c.Appender()
	if err != nil {
		t.Fatal(err)
	}
	snaps := []snap{{b: c.Bytes(), n: 0}}
	for i := range ts {
		app.Append(ts[i], vs[i])
		b := c.Bytes()
		snaps = append(snaps, snap{b: b, n: c.NumSamples(), last: b[len(b)-1]})
	}
	var it storage.Iterator
	for k, s := range snaps {
		it = OpenXORIterator(s.b, s.n, s.last, it)
		fb := it.(FloatBatchIterator)
		gotT := make([]int64, len(ts)+8)
		gotV := make([]float64, len(ts)+8)
		n := 0
		for m := fb.NextFloats(gotT[n:n+7], gotV[n:n+7]); m > 0; m = fb.NextFloats(gotT[n:n+7], gotV[n:n+7]) {
			n += m
		}
		if err := it.Err(); err != nil {
			t.Fatalf("snapshot %d: %v", k, err)
		}
		if n != k {
			t.Fatalf("snapshot %d: read %d samples", k, n)
		}
		for i := range n {
			if gotT[i] != ts[i] || math.Float64bits(gotV[i]) != math.Float64bits(vs[i]) {
				t.Fatalf("snapshot %d sample %d: got %d %v, want %d %v", k, i, gotT[i], gotV[i], ts[i], vs[i])
			}
		}
	}
}

// TestOpenXORIteratorWrongLast checks that the final byte does come from
// last: a snapshot given a different one reads different samples.
func TestOpenXORIteratorWrongLast(t *testing.T) {
	ts, vs := genFloats(20)
	c := buildXOR(t, ts, vs)
	b := c.Bytes()
	it := OpenXORIterator(b, len(ts), ^b[len(b)-1], nil)
	got, err := storage.ExpandSamples(it)
	if err == nil && len(got) == len(ts) && got[len(got)-1].T == ts[len(ts)-1] && got[len(got)-1].F == vs[len(vs)-1] {
		t.Fatal("a corrupted final byte went unnoticed")
	}
}
