package promql

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/vigil-monitoring/vigil/internal/model/labels"
)

// TestHoltBatchMatchesFunction checks that the batched recurrences of
// double_exponential_smoothing give funcDoubleExponentialSmoothing's
// results bit for bit, for windows of different lengths in one batch,
// different factors per lane, and values with NaN and infinities.
func TestHoltBatchMatchesFunction(t *testing.T) {
	rnd := rand.New(rand.NewPCG(7, 8))
	value := func() float64 {
		switch rnd.IntN(40) {
		case 0:
			return math.NaN()
		case 1:
			return math.Inf(1 - 2*rnd.IntN(2))
		}
		return rnd.NormFloat64() * math.Pow(10, float64(rnd.IntN(12)-4))
	}
	for round := range 2000 {
		var (
			h       holtBatch
			out     Series
			windows [][]FPoint
			factors [][2]float64
		)
		lanes := 1 + rnd.IntN(holtLanes)
		for l := 0; l < lanes; l++ {
			n := 2 + rnd.IntN(400)
			if rnd.IntN(4) == 0 {
				n = 2 + rnd.IntN(4)
			}
			w := make([]FPoint, n)
			for i := range w {
				w[i] = FPoint{T: int64(i), F: value()}
			}
			sf, tf := 0.01+0.98*rnd.Float64(), 0.01+0.98*rnd.Float64()
			windows = append(windows, w)
			factors = append(factors, [2]float64{sf, tf})
			enh := &evalNodeHelper{annos: &Annotations{}}
			h.step(int64(l), []Vector{{{F: sf}}, {{F: tf}}}, Series{Floats: w}, nil, enh, &out, holtLanes)
		}
		h.flush(&out, holtLanes)
		if len(out.Floats) != lanes {
			t.Fatalf("round %d: %d results for %d windows", round, len(out.Floats), lanes)
		}
		for l, w := range windows {
			enh := &evalNodeHelper{annos: &Annotations{}}
			sf, tf := factors[l][0], factors[l][1]
			want := funcDoubleExponentialSmoothing([]Vector{{{F: sf}}, {{F: tf}}}, Matrix{{Metric: labels.EmptyLabels(), Floats: w}}, nil, enh)[0].F
			got := out.Floats[l]
			// NaN payloads may differ with the order the compiler puts
			// operands of an addition in; every other value must match
			// bit for bit.
			same := math.Float64bits(got.F) == math.Float64bits(want) || math.IsNaN(got.F) && math.IsNaN(want)
			if got.T != int64(l) || !same {
				t.Fatalf("round %d, lane %d of %d (%d values): got %v at %d, want %v", round, l, lanes, len(w), got.F, got.T, want)
			}
		}
	}
}
