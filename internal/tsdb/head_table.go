package tsdb

import (
	"math/bits"
	"sync"
	"sync/atomic"

	"github.com/vigil-monitoring/vigil/internal/model/labels"
	"github.com/vigil-monitoring/vigil/internal/storage"
)

// seriesTable is a hash set of series with open addressing and linear
// probing, keyed by the series' ref or by its label hash. It holds only
// pointers: about 8 bytes per slot, 11 to 21 bytes per series at the load
// factors it keeps, where a Go map of the same would cost 30 to 40.
//
// INVARIANT: len(slots) is 0 or a power of two, and n < len(slots)*3/4;
// every series sits in the first free-or-it slot probing forward from its
// home slot, which is what lets delete shift entries back instead of
// leaving tombstones. The caller holds the stripe lock guarding the table.
type seriesTable struct {
	slots  []*memSeries
	n      int
	byHash bool // keyed by memSeries.hash rather than memSeries.ref
}

const minTableSlots = 8

func (t *seriesTable) key(s *memSeries) uint64 {
	if t.byHash {
		return s.hash
	}
	return uint64(s.ref)
}

// home returns the first slot to probe for key: Fibonacci hashing, so that
// sequential refs and the low bits the stripe index already used spread
// over the whole table.
func (t *seriesTable) home(key uint64) int {
	shift := 64 - bits.TrailingZeros(uint(len(t.slots)))
	return int((key * 0x9E3779B97F4A7C15) >> shift)
}

// getRef returns the series with ref, nil if none. The table is keyed by
// ref.
func (t *seriesTable) getRef(ref storage.SeriesRef) *memSeries {
	if t.n == 0 {
		return nil
	}
	mask := len(t.slots) - 1
	for i := t.home(uint64(ref)); ; i = (i + 1) & mask {
		s := t.slots[i]
		if s == nil || s.ref == ref {
			return s
		}
	}
}

// getLabels returns the series with lset, whose hash is hash, nil if
// none. The table is keyed by hash.
func (t *seriesTable) getLabels(hash uint64, lset labels.Labels, syms *symbolTable) *memSeries {
	if t.n == 0 {
		return nil
	}
	mask := len(t.slots) - 1
	for i := t.home(hash); ; i = (i + 1) & mask {
		s := t.slots[i]
		if s == nil {
			return nil
		}
		if s.hash == hash && syms.equal(s.lbls, lset) {
			return s
		}
	}
}

// insert adds s, which must not be in the table.
func (t *seriesTable) insert(s *memSeries) {
	if (t.n+1)*4 > len(t.slots)*3 {
		t.resize(max(minTableSlots, len(t.slots)*2))
	}
	t.place(s)
	t.n++
}

func (t *seriesTable) place(s *memSeries) {
	mask := len(t.slots) - 1
	i := t.home(t.key(s))
	for t.slots[i] != nil {
		i = (i + 1) & mask
	}
	t.slots[i] = s
}

// delete removes s if it is in the table.
func (t *seriesTable) delete(s *memSeries) {
	if t.n == 0 {
		return
	}
	mask := len(t.slots) - 1
	i := t.home(t.key(s))
	for t.slots[i] != s {
		if t.slots[i] == nil {
			return
		}
		i = (i + 1) & mask
	}
	// Backward-shift deletion: move later members of the probe run into
	// the hole when their home slot does not lie after it.
	for j := (i + 1) & mask; t.slots[j] != nil; j = (j + 1) & mask {
		h := t.home(t.key(t.slots[j]))
		// The entry at j may move to i unless its home lies cyclically in
		// (i, j].
		if (j > i && (h <= i || h > j)) || (j < i && h <= i && h > j) {
			t.slots[i] = t.slots[j]
			i = j
		}
	}
	t.slots[i] = nil
	t.n--
	if len(t.slots) > minTableSlots && t.n*8 < len(t.slots) {
		t.resize(len(t.slots) / 2)
	}
	if t.n == 0 {
		t.slots = nil
	}
}

func (t *seriesTable) resize(size int) {
	old := t.slots
	t.slots = make([]*memSeries, size)
	for _, s := range old {
		if s != nil {
			t.place(s)
		}
	}
}

// all calls f for every series; f must not change the table.
func (t *seriesTable) all(f func(*memSeries)) {
	for _, s := range t.slots {
		if s != nil {
			f(s)
		}
	}
}

// refIndex maps series refs to series. The head issues refs sequentially
// from 1, so they index a paged array: a lookup is two dependent loads
// from memory that scrapes walk in ref order, where a hash table costs a
// probe sequence through cold series. Reads take no lock; writers hold mu.
// A page is freed when its last series goes, so refs of series garbage
// collected long ago cost nothing. Refs far beyond the array (a WAL from
// another writer, or a corrupt one) go to a hash table instead, so one odd
// ref cannot make the array huge.
//
// INVARIANT: a series is in at most one place, its page slot or overflow;
// pages[p].n counts the non-nil slots of page p, n those of all pages.
type refIndex struct {
	dir       atomic.Pointer[[]atomic.Pointer[refPage]]
	mu        sync.Mutex
	n         int         // series in the pages; guarded by mu
	overflow  seriesTable // keyed by ref; guarded by mu
	nOverflow atomic.Int64
}

const (
	refPageBits = 9
	refPageSize = 1 << refPageBits
	// refDirMin is how many pages (refs / refPageSize) the directory may
	// always grow to: 1 MiB of it, 64 M refs.
	refDirMin = 1 << 17
)

type refPage struct {
	slots [refPageSize]atomic.Pointer[memSeries]
	n     int // guarded by refIndex.mu
}

func (x *refIndex) pages() []atomic.Pointer[refPage] {
	if d := x.dir.Load(); d != nil {
		return *d
	}
	return nil
}

// get returns the series with ref, nil if none.
func (x *refIndex) get(ref storage.SeriesRef) *memSeries {
	if d := x.dir.Load(); d != nil {
		if p := uint64(ref) >> refPageBits; p < uint64(len(*d)) {
			if pg := (*d)[p].Load(); pg != nil {
				if s := pg.slots[uint64(ref)&(refPageSize-1)].Load(); s != nil {
					return s
				}
			}
		}
	}
	if x.nOverflow.Load() == 0 {
		return nil
	}
	x.mu.Lock()
	s := x.overflow.getRef(ref)
	x.mu.Unlock()
	return s
}

// insert adds s, whose ref must not be in the index.
func (x *refIndex) insert(s *memSeries) {
	x.mu.Lock()
	defer x.mu.Unlock()
	p := uint64(s.ref) >> refPageBits
	d := x.pages()
	if p >= uint64(len(d)) {
		// The directory costs 8 bytes per page, 1/64 byte per ref: grow
		// it freely up to refDirMin pages, and beyond as long as that
		// stays within 64 bytes per series.
		if p >= max(uint64(len(d))*2, refDirMin, 8*uint64(x.n)) {
			x.overflow.insert(s)
			x.nOverflow.Add(1)
			return
		}
		nd := make([]atomic.Pointer[refPage], max(p+1, uint64(len(d))*2))
		for i := range d {
			nd[i].Store(d[i].Load())
		}
		x.dir.Store(&nd)
		d = nd
	}
	pg := d[p].Load()
	if pg == nil {
		pg = &refPage{}
		d[p].Store(pg)
	}
	pg.slots[uint64(s.ref)&(refPageSize-1)].Store(s)
	pg.n++
	x.n++
}

// deleteLocked removes s if it is in the index. The caller holds mu.
func (x *refIndex) deleteLocked(s *memSeries) {
	d := x.pages()
	if p := uint64(s.ref) >> refPageBits; p < uint64(len(d)) {
		if pg := d[p].Load(); pg != nil {
			slot := &pg.slots[uint64(s.ref)&(refPageSize-1)]
			if slot.Load() == s {
				slot.Store(nil)
				if pg.n--; pg.n == 0 {
					d[p].Store(nil)
				}
				x.n--
				return
			}
		}
	}
	if x.nOverflow.Load() > 0 && x.overflow.getRef(s.ref) == s {
		x.overflow.delete(s)
		x.nOverflow.Add(-1)
	}
}

// overflowSeries returns the series kept outside the pages.
func (x *refIndex) overflowSeries() []*memSeries {
	if x.nOverflow.Load() == 0 {
		return nil
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	var out []*memSeries
	x.overflow.all(func(s *memSeries) { out = append(out, s) })
	return out
}
