package promql

import "sync"

// Float point slices of intermediate results are recycled: an operator
// that has consumed its operands' points (rangeEval, aggregations, range
// functions reading scalar arguments) hands their slices back, and the
// next selector or operator, of this query or a later one, takes them
// again. A query's final result is never recycled: callers keep it after
// the query is closed.
//
// Slices are pooled by exact capacity. Nearly every slice of a query holds
// one point per step, so a capacity of the query's step count serves all
// of them, and a result keeps no unused room.
const minPooledPoints = 16

var (
	fpointPools struct {
		mu     sync.RWMutex
		bySize map[int]*sync.Pool // of *fpointHolder, by capacity
	}
	// fpointHolders recycles the holders, so a put allocates nothing.
	fpointHolders = sync.Pool{New: func() any { return new(fpointHolder) }}
)

type fpointHolder struct{ s []FPoint }

// getFPoints returns an empty slice with room for n points.
func getFPoints(n int) []FPoint {
	if n >= minPooledPoints {
		if p := fpointPool(n, false); p != nil {
			if h, ok := p.Get().(*fpointHolder); ok {
				s := h.s[:0]
				h.s = nil
				fpointHolders.Put(h)
				return s
			}
		}
	}
	return make([]FPoint, 0, n)
}

// putFPoints recycles s, which nothing may use afterwards.
func putFPoints(s []FPoint) {
	c := cap(s)
	if c < minPooledPoints {
		return
	}
	h := fpointHolders.Get().(*fpointHolder)
	h.s = s[:0]
	fpointPool(c, true).Put(h)
}

// fpointPool returns the pool of slices of capacity c, creating it if
// asked to.
func fpointPool(c int, create bool) *sync.Pool {
	fpointPools.mu.RLock()
	p := fpointPools.bySize[c]
	fpointPools.mu.RUnlock()
	if p != nil || !create {
		return p
	}
	fpointPools.mu.Lock()
	defer fpointPools.mu.Unlock()
	if p = fpointPools.bySize[c]; p == nil {
		if fpointPools.bySize == nil {
			fpointPools.bySize = map[int]*sync.Pool{}
		}
		p = new(sync.Pool)
		fpointPools.bySize[c] = p
	}
	return p
}

// floatSlices lists the float point slices of a matrix, to be recycled
// with recycleFloats once a consumer that reslices the series' own slices
// is done with it.
func floatSlices(mat Matrix, dst [][]FPoint) [][]FPoint {
	for _, s := range mat {
		if s.Floats != nil {
			dst = append(dst, s.Floats)
		}
	}
	return dst
}

// recycleFloats hands back slices listed by floatSlices.
func recycleFloats(slices [][]FPoint) {
	for i, s := range slices {
		putFPoints(s)
		slices[i] = nil
	}
}

// shrinkFloats returns s in a slice of its own length when it fills less
// than a quarter of its capacity (a sparse series in a slice sized for
// every step), recycling the large one. Results then hold little unused
// room.
func shrinkFloats(s []FPoint) []FPoint {
	if cap(s) < minPooledPoints || len(s) >= cap(s)/4 {
		return s
	}
	var out []FPoint
	if len(s) > 0 {
		out = make([]FPoint, len(s))
		copy(out, s)
	}
	putFPoints(s)
	return out
}
