package promql

import (
	"fmt"
	"sync"

	"github.com/vigil-monitoring/vigil/internal/promql/parser"
)

// double_exponential_smoothing runs Holt's recurrence over every window
// from its start: there is no exact way to carry it from one step's
// window to the next. Each sample's update depends on the previous one, so
// a single recurrence is bound by the latency of its chain of
// floating-point operations, not by how many the processor can do at
// once. holtBatch therefore collects the windows of several steps of a
// series and runs their recurrences side by side, each with exactly the
// operations, in the same order, of funcDoubleExponentialSmoothing: the
// results are bit for bit the same, and the processor overlaps the
// independent chains.
const holtLanes = 4

// holtBatches recycles batches with their buffers, which grow to the
// longest window.
var holtBatches = sync.Pool{New: func() any { return new(holtBatch) }}

type holtBatch struct {
	n      int // windows collected
	ts     [holtLanes]int64
	sf, tf [holtLanes]float64
	xs     [holtLanes][]float64 // the windows' values, copied: the window's buffer moves on
}

// step handles the window of one step, as funcDoubleExponentialSmoothing
// would: it checks the factors, reports ignored histograms, and queues a
// window of two floats or more, flushing the batch into out when full.
func (h *holtBatch) step(ts int64, vals []Vector, win Series, args parser.Expressions, enh *evalNodeHelper, out *Series, numSteps int) {
	sf, tf := vals[0][0].F, vals[1][0].F
	if sf <= 0 || sf >= 1 {
		panic(evalError{fmt.Errorf("invalid smoothing factor. Expected: 0 < sf < 1, got: %f", sf)})
	}
	if tf <= 0 || tf >= 1 {
		panic(evalError{fmt.Errorf("invalid trend factor. Expected: 0 < tf < 1, got: %f", tf)})
	}
	if len(win.Floats) > 0 {
		mixedRangeInfo(win, args, enh)
	}
	if len(win.Floats) < 2 {
		return
	}
	l := h.n
	h.ts[l], h.sf[l], h.tf[l] = ts, sf, tf
	x := h.xs[l][:0]
	for _, p := range win.Floats {
		x = append(x, p.F)
	}
	h.xs[l] = x
	h.n++
	if h.n == holtLanes {
		h.flush(out, numSteps)
	}
}

// release hands the batch back for another query.
func (h *holtBatch) release() {
	for _, x := range h.xs {
		if cap(x) > maxPooledWindowPoints {
			return
		}
	}
	h.n = 0
	holtBatches.Put(h)
}

// flush computes the queued windows and appends their results to out, in
// step order.
func (h *holtBatch) flush(out *Series, numSteps int) {
	if h.n == 0 {
		return
	}
	var res [holtLanes]float64
	if h.n == holtLanes {
		res = holt4(&h.xs, &h.sf, &h.tf)
	} else {
		for l := 0; l < h.n; l++ {
			res[l] = holt(h.xs[l], h.sf[l], h.tf[l])
		}
	}
	if out.Floats == nil {
		out.Floats = getFPoints(numSteps)
	}
	for l := 0; l < h.n; l++ {
		out.Floats = append(out.Floats, FPoint{T: h.ts[l], F: res[l]})
	}
	h.n = 0
}

// holtFirst is the recurrence's first update (i = 1), where the trend is
// the first difference. xs has two values or more.
func holtFirst(xs []float64, sf float64) (s0, s1, b float64) {
	s1 = xs[0]
	b = xs[1] - xs[0]
	x := sf * xs[1]
	y := (1 - sf) * (s1 + b)
	return s1, x + y, b
}

// holtRest continues the recurrence from sample i (2 or more) with the
// state (s0, s1, b) and returns the last smoothed value.
func holtRest(xs []float64, i int, s0, s1, b, sf, tf float64) float64 {
	for ; i < len(xs); i++ {
		x := sf * xs[i]
		b = tf*(s1-s0) + (1-tf)*b
		y := (1 - sf) * (s1 + b)
		s0, s1 = s1, x+y
	}
	return s1
}

// holt is funcDoubleExponentialSmoothing's result for the values xs (two
// or more).
func holt(xs []float64, sf, tf float64) float64 {
	s0, s1, b := holtFirst(xs, sf)
	return holtRest(xs, 2, s0, s1, b, sf, tf)
}

// holt4 runs four recurrences in one loop, each lane with holt's
// operations, up to the shortest window, then finishes the longer ones
// alone.
func holt4(xs *[holtLanes][]float64, sf, tf *[holtLanes]float64) [holtLanes]float64 {
	x0, x1, x2, x3 := xs[0], xs[1], xs[2], xs[3]
	sf0, sf1, sf2, sf3 := sf[0], sf[1], sf[2], sf[3]
	tf0, tf1, tf2, tf3 := tf[0], tf[1], tf[2], tf[3]
	p0, s0, b0 := holtFirst(x0, sf0)
	p1, s1, b1 := holtFirst(x1, sf1)
	p2, s2, b2 := holtFirst(x2, sf2)
	p3, s3, b3 := holtFirst(x3, sf3)
	m := min(len(x0), len(x1), len(x2), len(x3))
	x0, x1, x2, x3 = x0[:m], x1[:m], x2[:m], x3[:m]
	i := 2
	for ; i < m; i++ {
		y0 := sf0 * x0[i]
		y1 := sf1 * x1[i]
		y2 := sf2 * x2[i]
		y3 := sf3 * x3[i]
		b0 = tf0*(s0-p0) + (1-tf0)*b0
		b1 = tf1*(s1-p1) + (1-tf1)*b1
		b2 = tf2*(s2-p2) + (1-tf2)*b2
		b3 = tf3*(s3-p3) + (1-tf3)*b3
		z0 := (1 - sf0) * (s0 + b0)
		z1 := (1 - sf1) * (s1 + b1)
		z2 := (1 - sf2) * (s2 + b2)
		z3 := (1 - sf3) * (s3 + b3)
		p0, s0 = s0, y0+z0
		p1, s1 = s1, y1+z1
		p2, s2 = s2, y2+z2
		p3, s3 = s3, y3+z3
	}
	return [holtLanes]float64{
		holtRest(xs[0], i, p0, s0, b0, sf0, tf0),
		holtRest(xs[1], i, p1, s1, b1, sf1, tf1),
		holtRest(xs[2], i, p2, s2, b2, sf2, tf2),
		holtRest(xs[3], i, p3, s3, b3, sf3, tf3),
	}
}
