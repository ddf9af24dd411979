package tsdb

import (
	"math/bits"

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
