package promql

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/vigil-monitoring/vigil/internal/model/labels"
)

// TestContainsSameLabelset compares the sorted-hash duplicate check with a
// map of label sets on random vectors and matrices, with and without
// duplicates, of every small size and some large ones.
func TestContainsSameLabelset(t *testing.T) {
	rnd := rand.New(rand.NewPCG(9, 10))
	for round := range 3000 {
		n := rnd.IntN(8)
		if round%10 == 0 {
			n = rnd.IntN(2000)
		}
		values := 1 + rnd.IntN(max(1, 2*n))
		vec := make(Vector, n)
		mat := make(Matrix, n)
		seen := map[string]bool{}
		want := false
		for i := range vec {
			ls := labels.FromStrings("__name__", "m", "v", fmt.Sprint(rnd.IntN(values)))
			vec[i].Metric, mat[i].Metric = ls, ls
			want = want || seen[ls.String()]
			seen[ls.String()] = true
		}
		if got := vec.ContainsSameLabelset(); got != want {
			t.Fatalf("round %d: vector of %d: got %v, want %v", round, n, got, want)
		}
		if got := mat.ContainsSameLabelset(); got != want {
			t.Fatalf("round %d: matrix of %d: got %v, want %v", round, n, got, want)
		}
	}
}

// TestOverlap checks the test recycleVectors uses to recycle memory shared
// by several vectors once.
func TestOverlap(t *testing.T) {
	a := make(Vector, 4, 8)
	b := make(Vector, 4, 8)
	for _, c := range []struct {
		x, y Vector
		want bool
	}{
		{a, a, true}, {a, a[:0], true}, {a, a[3:], true}, {a[7:8], a, true}, {a[:2:2], a[2:], false},
		{a, b, false}, {nil, a, false}, {a[8:8], a, false},
	} {
		if got := overlap(c.x, c.y); got != c.want {
			t.Errorf("overlap(%p[%d], %p[%d]) = %v, want %v", c.x, cap(c.x), c.y, cap(c.y), got, c.want)
		}
		if got := overlap(c.y, c.x); got != c.want {
			t.Errorf("overlap is not symmetric for %p, %p", c.x, c.y)
		}
	}
}
