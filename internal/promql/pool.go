package promql

import (
	"math/bits"
	"sync"
	"unsafe"

	"github.com/vigil-monitoring/vigil/internal/storage"
)

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
// is done with it. A new list comes from a pool: it is as long as the
// operands have series, and was a tenth of what an aggregation over a
// selector allocated.
func floatSlices(mat Matrix, dst [][]FPoint) [][]FPoint {
	if dst == nil {
		if p, ok := sliceListPool.Get().(*[][]FPoint); ok {
			dst = (*p)[:0]
		}
	}
	for _, s := range mat {
		if s.Floats != nil {
			dst = append(dst, s.Floats)
		}
	}
	return dst
}

// sliceListPool recycles the lists of floatSlices.
var sliceListPool sync.Pool // of *[][]FPoint

// recycleFloats hands back slices listed by floatSlices, and the list.
func recycleFloats(slices [][]FPoint) {
	for i, s := range slices {
		putFPoints(s)
		slices[i] = nil
	}
	if c := cap(slices); c > 0 && c <= maxPooledWindowPoints {
		slices = slices[:0]
		sliceListPool.Put(&slices)
	}
}

// recycleMatrix hands back the float point slices of a matrix that
// nothing uses afterwards.
func recycleMatrix(mat Matrix) {
	for _, s := range mat {
		putFPoints(s.Floats)
	}
}

// shrinkFloats returns s in a slice of its own length when it fills less
// than a quarter of its capacity (a sparse series in a slice sized for
// every step), recycling the large one. Results then hold little unused
// room. When the engine takes results back on Close, the room is reused
// rather than held, and copying would only cost an allocation.
func (ev *evaluator) shrinkFloats(s []FPoint) []FPoint {
	if ev.st.recycleResults || cap(s) < minPooledPoints || len(s) >= cap(s)/4 {
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

// Windows are recycled across queries together with their buffers, which
// grow to the most samples one range held: a query over a long range
// would otherwise grow them again from nothing.
var windowPool = sync.Pool{New: func() any { return new(window) }}

// maxPooledWindowPoints bounds the buffers kept in the pool, so one query
// over a huge range does not pin its memory.
const maxPooledWindowPoints = 1 << 16

func getWindow() *window { return windowPool.Get().(*window) }

// putWindow recycles w, which nothing may use afterwards.
func putWindow(w *window) {
	if cap(w.fbuf.buf) > maxPooledWindowPoints || cap(w.hbuf.buf) > maxPooledWindowPoints {
		return
	}
	w.fbuf.reset()
	w.fcum.reset()
	w.hbuf.reset()
	w.fstbuf.reset()
	w.hstbuf.reset()
	w.sync()
	w.it = nil
	windowPool.Put(w)
}

// The slices of selected series are recycled across queries: a selector
// over many series would otherwise grow one from nothing every query.
var seriesSlicePool sync.Pool // of *[]storage.Series

func getSeriesSlice() []storage.Series {
	if p, ok := seriesSlicePool.Get().(*[]storage.Series); ok {
		return (*p)[:0]
	}
	return nil
}

// recycleSelections hands back the series slices of a finished query's
// selections, which nothing may use afterwards.
func (st *evalState) recycleSelections() {
	for _, sel := range st.selections {
		if c := cap(sel.series); c > 0 && c <= maxPooledWindowPoints {
			s := sel.series[:c]
			clear(s) // Let the series be collected.
			s = s[:0]
			seriesSlicePool.Put(&s)
		}
		sel.series = nil
	}
}

// The vectors of instant query results are recycled when the engine takes
// results back on Close: a vector per query was a tenth of what an
// instant query over many series allocated.
var vectorPools sizedPools[*Vector]

// getVector returns an empty vector with room for n samples.
func getVector(n int) Vector {
	if p := sizedGet(&vectorPools, n, func(p *Vector) int { return cap(*p) }); p != nil {
		return (*p)[:0]
	}
	return make(Vector, 0, n)
}

// putVector recycles v, which nothing may use afterwards.
func putVector(v Vector) {
	if cap(v) == 0 || cap(v) > maxPooledWindowPoints {
		return
	}
	clear(v[:cap(v)]) // Let labels and histograms be collected.
	v = v[:0]
	sizedPut(&vectorPools, cap(v), &v)
}

// sizedPools are pools by size class: class k holds buffers with a
// capacity of at least 1<<k and less than 2<<k. One pool of all sizes
// hands a large query whatever a small one put back, and it then
// allocates anyway: that was a large part of what the histogram and
// aggregation queries over 1000 series allocated.
type sizedPools[T any] [18]sync.Pool // of T, up to maxPooledWindowPoints

func sizeClass(c int) int { return bits.Len(uint(c)) - 1 }

// sizedGet returns a buffer with a capacity of at least n (as capOf
// tells) from pools, or nil. It looks in the class that only holds
// buffers that are large enough, then in the one below.
func sizedGet[T any](pools *sizedPools[T], n int, capOf func(T) int) T {
	var zero T
	k := bits.Len(uint(max(n, 1) - 1)) // the smallest k with 1<<k >= n
	if k >= len(pools) {
		return zero
	}
	if b, ok := pools[k].Get().(T); ok {
		return b
	}
	if k > 0 {
		if b, ok := pools[k-1].Get().(T); ok {
			if capOf(b) >= n {
				return b
			}
			pools[k-1].Put(b)
		}
	}
	return zero
}

// sizedPut recycles b, of capacity c, into its class.
func sizedPut[T any](pools *sizedPools[T], c int, b T) {
	if k := sizeClass(c); k >= 0 && k < len(pools) {
		pools[k].Put(b)
	}
}

// recycleVectors hands back vectors, some of which may share memory
// (a function may return its argument, or part of it, as its output);
// memory shared is recycled once, with the first vector that holds it.
func recycleVectors(vs []Vector) {
	for i, v := range vs {
		if cap(v) == 0 {
			continue
		}
		shared := false
		for _, w := range vs[:i] {
			if overlap(v, w) {
				shared = true
				break
			}
		}
		if !shared {
			putVector(v)
		}
	}
}

// overlap reports whether the arrays behind a and b (up to their
// capacities) share memory.
func overlap(a, b Vector) bool {
	if cap(a) == 0 || cap(b) == 0 {
		return false
	}
	size := unsafe.Sizeof(Sample{})
	pa, pb := uintptr(unsafe.Pointer(unsafe.SliceData(a))), uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	return pa < pb+uintptr(cap(b))*size && pb < pa+uintptr(cap(a))*size
}

// The arrays of series of matrices are recycled where a matrix is known
// to be used up: operands once rangeEval has gathered them, aggregation
// inputs, and a query's result on Close. Selectors and range functions
// take them again; a series is 72 bytes, the largest allocation left of
// an instant selector over many series.
var matrixPools sizedPools[*Matrix]

// getMatrix returns an empty matrix with room for n series.
func getMatrix(n int) Matrix {
	if p := sizedGet(&matrixPools, n, func(p *Matrix) int { return cap(*p) }); p != nil {
		return (*p)[:0]
	}
	return make(Matrix, 0, n)
}

// putMatrix recycles the array of m, which nothing may use afterwards
// (its points are not recycled; see recycleMatrix).
func putMatrix(m Matrix) {
	if cap(m) == 0 || cap(m) > maxPooledWindowPoints {
		return
	}
	clear(m[:cap(m)]) // Let labels and points be collected.
	m = m[:0]
	sizedPut(&matrixPools, cap(m), &m)
}

// Series iterators are recycled across queries: the storage reuses the
// one it is handed for the next series (see storage.Series.Iterator), so
// each loop over series needs one, and a head iterator with its chunk
// decoder was a tenth of what a small instant query allocated. Only
// loops that drop their iterator when done put it back.
var iteratorPool sync.Pool // of storage.Iterator

func getIterator() storage.Iterator {
	it, _ := iteratorPool.Get().(storage.Iterator)
	return it
}

// putIterator recycles it, which nothing may use afterwards.
func putIterator(it storage.Iterator) {
	if it != nil {
		iteratorPool.Put(it)
	}
}

// Helpers are recycled across evaluations: the struct is several hundred
// bytes, a tenth of what a small instant query allocated. A recycled
// helper is zeroed, so none of its buffers outlive the evaluation that
// filled them.
var helperPool sync.Pool // of *evalNodeHelper

// newHelper returns a zeroed helper set up for ev's query.
func (ev *evaluator) newHelper() *evalNodeHelper {
	enh, _ := helperPool.Get().(*evalNodeHelper)
	if enh == nil {
		enh = new(evalNodeHelper)
	}
	enh.delayedNameRemoval, enh.annos = ev.st.delayedNameRemoval, &ev.st.annos
	return enh
}

// putHelper recycles enh, which nothing may use afterwards. Its out
// vector is not recycled: that is the caller's.
func putHelper(enh *evalNodeHelper) {
	*enh = evalNodeHelper{}
	helperPool.Put(enh)
}
