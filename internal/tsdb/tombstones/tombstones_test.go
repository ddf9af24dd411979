package tombstones

import (
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/vigil-monitoring/vigil/internal/storage"
	"github.com/vigil-monitoring/vigil/internal/tsdb/chunks"
	"github.com/vigil-monitoring/vigil/internal/tsdb/vfs"
)

func TestIntervalsAdd(t *testing.T) {
	cases := []struct {
		in   []Interval
		want Intervals
	}{
		{[]Interval{{1, 2}}, Intervals{{1, 2}}},
		{[]Interval{{5, 6}, {1, 2}}, Intervals{{1, 2}, {5, 6}}},
		{[]Interval{{1, 2}, {3, 4}}, Intervals{{1, 4}}}, // adjacent
		{[]Interval{{1, 2}, {4, 5}}, Intervals{{1, 2}, {4, 5}}},
		{[]Interval{{1, 10}, {3, 4}}, Intervals{{1, 10}}},
		{[]Interval{{3, 4}, {8, 9}, {1, 20}}, Intervals{{1, 20}}},
		{[]Interval{{3, 4}, {8, 9}, {5, 7}}, Intervals{{3, 9}}},
		{[]Interval{{3, 4}, {10, 12}, {5, 6}}, Intervals{{3, 6}, {10, 12}}},
		{[]Interval{{5, 4}}, nil}, // empty interval ignored
		{[]Interval{{math.MinInt64, 0}, {1, math.MaxInt64}}, Intervals{{math.MinInt64, math.MaxInt64}}},
		{[]Interval{{10, math.MaxInt64}, {0, 5}}, Intervals{{0, 5}, {10, math.MaxInt64}}},
	}
	for _, tc := range cases {
		var got Intervals
		for _, iv := range tc.in {
			got = got.Add(iv)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("Add %v = %v, want %v", tc.in, got, tc.want)
		}
	}
}

// TestIntervalsRandom checks Add and Contains against a bitmap.
func TestIntervalsRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	for range 200 {
		var ivs Intervals
		var deleted [200]bool
		for range rng.IntN(10) {
			a := int64(rng.IntN(200))
			b := min(a+int64(rng.IntN(30)), 199)
			ivs = ivs.Add(Interval{a, b})
			for x := a; x <= b; x++ {
				deleted[x] = true
			}
		}
		for i := 1; i < len(ivs); i++ {
			if ivs[i-1].Maxt+1 >= ivs[i].Mint {
				t.Fatalf("not merged: %v", ivs)
			}
		}
		for x := range int64(200) {
			if ivs.Contains(x) != deleted[x] {
				t.Fatalf("Contains(%d) wrong for %v", x, ivs)
			}
		}
		if len(ivs) > 0 {
			iv := Interval{ivs[0].Mint, ivs[0].Maxt}
			if !iv.IsSubrange(ivs) || (Interval{ivs[0].Mint, ivs[0].Maxt + 1}).IsSubrange(ivs) {
				t.Fatalf("IsSubrange wrong for %v", ivs)
			}
		}
	}
}

func TestFileRoundTrip(t *testing.T) {
	dir := t.TempDir()
	s, size, err := ReadFile(vfs.OS(), dir)
	if err != nil || s.Len() != 0 || size != 0 {
		t.Fatalf("missing file: %v %d %v", s.Len(), size, err)
	}
	s = New()
	s.Add(7, Interval{1, 5}, Interval{3, 9})
	s.Add(2, Interval{-100, -50})
	s.Add(7, Interval{20, 30})
	s.Add(1<<40, Interval{math.MinInt64, math.MaxInt64})
	n, err := WriteFile(vfs.OS(), dir, s)
	if err != nil {
		t.Fatal(err)
	}
	got, size, err := ReadFile(vfs.OS(), dir)
	if err != nil || size != n {
		t.Fatalf("read back: size %d (wrote %d), %v", size, n, err)
	}
	want := map[storage.SeriesRef]Intervals{7: {{1, 9}, {20, 30}}, 2: {{-100, -50}}, 1 << 40: {{math.MinInt64, math.MaxInt64}}}
	if got.Len() != len(want) || got.NumIntervals() != 4 {
		t.Fatalf("got %d series, %d intervals", got.Len(), got.NumIntervals())
	}
	for ref, ivs := range want {
		if !slices.Equal(got.Get(ref), ivs) {
			t.Fatalf("ref %d: %v, want %v", ref, got.Get(ref), ivs)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, FileName+".tmp")); !os.IsNotExist(err) {
		t.Fatal("temporary file left behind")
	}
	// Unmerged entries written by another writer are merged on read.
	b := New()
	b.mu.m[3] = Intervals{{1, 2}, {2, 5}}
	r, err := Decode(b.Encode(), "x")
	if err != nil || !slices.Equal(r.Get(3), Intervals{{1, 5}}) {
		t.Fatalf("unmerged entries: %v %v", r.Get(3), err)
	}
}

func TestDecodeCorruption(t *testing.T) {
	s := New()
	s.Add(1, Interval{1, 2})
	good := s.Encode()
	for i := range good {
		b := slices.Clone(good)
		b[i] ^= 0x01
		_, err := Decode(b, "tombstones")
		if err == nil {
			t.Fatalf("flipped byte %d accepted", i)
		}
		if i != 4 && !errors.Is(err, chunks.ErrCorruption) {
			t.Fatalf("flipped byte %d: %v is not a corruption error", i, err)
		}
	}
	if _, err := Decode(good[:6], "t"); !errors.Is(err, chunks.ErrCorruption) {
		t.Fatalf("truncated: %v", err)
	}
}

func TestStonesCopyOnWrite(t *testing.T) {
	s := New()
	s.Add(1, Interval{10, 20})
	held := s.Get(1)
	s.Add(1, Interval{0, 5})
	if !slices.Equal(held, Intervals{{10, 20}}) {
		t.Fatalf("a reader's intervals changed under it: %v", held)
	}
	c := s.Clone()
	c.Add(2, Interval{1, 1})
	if s.Len() != 1 || c.Len() != 2 {
		t.Fatal("Clone is not independent")
	}
}

func FuzzDecode(f *testing.F) {
	s := New()
	s.Add(5, Interval{1, 2}, Interval{7, 9})
	f.Add(s.Encode())
	f.Fuzz(func(t *testing.T, b []byte) {
		st, err := Decode(b, "fuzz")
		if err != nil {
			return
		}
		// What decodes must encode and decode to the same set.
		again, err := Decode(st.Encode(), "fuzz")
		if err != nil || again.NumIntervals() != st.NumIntervals() {
			t.Fatalf("re-decode: %v", err)
		}
	})
}
