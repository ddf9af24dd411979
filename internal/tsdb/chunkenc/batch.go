package chunkenc

import "sort"

// FloatRunLen is how many samples a FloatRun holds: a whole head chunk
// (SamplesPerChunk) fits in one run.
const FloatRunLen = 128

// FloatRun holds float samples decoded in bulk from one chunk, for the
// series iterators of the head and of blocks. Those iterators step
// through T and V with an index instead of calling the chunk iterator
// for every sample.
type FloatRun struct {
	T [FloatRunLen]int64
	V [FloatRunLen]float64
	// Past is set once Fill saw a sample after its maxt: nothing more is
	// in range.
	Past bool
}

// Fill decodes the next samples of it, keeping those in [mint, maxt] for
// which deleted (when not nil) is false: they are T[lo:hi] and V[lo:hi],
// ascending in time. It reports false when the chunk has no more
// samples in range, or failed (see it.Err).
func (r *FloatRun) Fill(it FloatBatchIterator, mint, maxt int64, deleted func(int64) bool) (lo, hi int, ok bool) {
	for !r.Past {
		n := it.NextFloatsUntil(r.T[:], r.V[:], maxt)
		if n == 0 {
			return 0, 0, false
		}
		ts := r.T[:n]
		lo, hi = 0, n
		if ts[0] < mint {
			lo = sort.Search(n, func(i int) bool { return ts[i] >= mint })
		}
		if ts[n-1] > maxt {
			hi = sort.Search(n, func(i int) bool { return ts[i] > maxt })
			r.Past = true
		}
		if deleted != nil {
			k := lo
			for i := lo; i < hi; i++ {
				if !deleted(ts[i]) {
					r.T[k], r.V[k] = r.T[i], r.V[i]
					k++
				}
			}
			hi = k
		}
		if lo < hi {
			return lo, hi, true
		}
	}
	return 0, 0, false
}
