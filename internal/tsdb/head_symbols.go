package tsdb

import (
	"encoding/binary"
	"strings"
	"sync"

	"github.com/vigil-monitoring/vigil/internal/model/labels"
)

// symbolTable interns the label names and values of the head's series.
// A series keeps its labels as the uvarint symbol ids of each name and
// value in label order (seriesLabels): with ten labels about 30 bytes,
// where the label string itself takes 150-200. The postings index uses
// the interned strings as its keys, so each string is held once.
//
// Ids are reference counted by the series that use them. An id whose
// count drops to zero leaves the lookup map at once but is reused only
// after freeIDs, which the head calls once the queriers that may still
// decode deleted series' labels are closed.
type symbolTable struct {
	mu struct {
		sync.RWMutex
		ids  map[string]uint32
		strs []string // by id; "" while free
		refs []uint32 // references by id
		free []uint32 // ids to reuse
	}
}

// seriesLabels is a label set encoded as symbol ids.
type seriesLabels string

func newSymbolTable() *symbolTable {
	t := &symbolTable{}
	t.mu.ids = map[string]uint32{}
	return t
}

// intern encodes lset, taking a reference on each symbol.
func (t *symbolTable) intern(lset labels.Labels) seriesLabels {
	var buf [64]byte
	b := buf[:0]
	t.mu.Lock()
	defer t.mu.Unlock()
	for l := range lset.All() {
		b = binary.AppendUvarint(b, uint64(t.refLocked(l.Name)))
		b = binary.AppendUvarint(b, uint64(t.refLocked(l.Value)))
	}
	return seriesLabels(b)
}

func (t *symbolTable) refLocked(s string) uint32 {
	id, ok := t.mu.ids[s]
	if !ok {
		// A copy: s may be a slice of the caller's label string, which
		// must not stay alive for it.
		s = strings.Clone(s)
		if n := len(t.mu.free); n > 0 {
			id = t.mu.free[n-1]
			t.mu.free = t.mu.free[:n-1]
			t.mu.strs[id] = s
		} else {
			id = uint32(len(t.mu.strs))
			t.mu.strs = append(t.mu.strs, s)
			t.mu.refs = append(t.mu.refs, 0)
		}
		t.mu.ids[s] = id
	}
	t.mu.refs[id]++
	return id
}

// release drops the references of a deleted series and returns the ids
// no series uses any more, for freeIDs once nobody can decode them.
func (t *symbolTable) release(sl seriesLabels) (dead []uint32) {
	t.mu.Lock()
	defer t.mu.Unlock()
	d := strDecoder{s: string(sl)}
	for len(d.s) > 0 {
		id := uint32(d.uvarint())
		if t.mu.refs[id]--; t.mu.refs[id] == 0 {
			delete(t.mu.ids, t.mu.strs[id])
			dead = append(dead, id)
		}
	}
	return dead
}

// freeIDs makes released ids reusable.
func (t *symbolTable) freeIDs(ids []uint32) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, id := range ids {
		t.mu.strs[id] = ""
	}
	t.mu.free = append(t.mu.free, ids...)
}

// pairsLocked calls f with each name and value of sl, as the interned
// strings. The caller holds t.mu.
func (t *symbolTable) pairsLocked(sl seriesLabels, f func(name, value string)) {
	d := strDecoder{s: string(sl)}
	for len(d.s) > 0 {
		n, v := d.uvarint(), d.uvarint()
		f(t.mu.strs[n], t.mu.strs[v])
	}
}

// pairs calls f with each name and value of sl; f must not use t.
func (t *symbolTable) pairs(sl seriesLabels, f func(name, value string)) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	t.pairsLocked(sl, f)
}

// labels decodes sl, building the set with b.
func (t *symbolTable) labels(sl seriesLabels, b *labels.ScratchBuilder) labels.Labels {
	b.Reset()
	t.pairs(sl, b.Add)
	return b.Labels()
}

// equal reports whether sl encodes lset.
func (t *symbolTable) equal(sl seriesLabels, lset labels.Labels) bool {
	t.mu.RLock()
	defer t.mu.RUnlock()
	d := strDecoder{s: string(sl)}
	for l := range lset.All() {
		if len(d.s) == 0 {
			return false
		}
		if t.mu.strs[d.uvarint()] != l.Name || t.mu.strs[d.uvarint()] != l.Value {
			return false
		}
	}
	return len(d.s) == 0
}

// get returns the value of label name in sl, "" when it has none.
func (t *symbolTable) get(sl seriesLabels, name string) string {
	t.mu.RLock()
	defer t.mu.RUnlock()
	d := strDecoder{s: string(sl)}
	for len(d.s) > 0 {
		n, v := d.uvarint(), d.uvarint()
		if t.mu.strs[n] == name {
			return t.mu.strs[v]
		}
	}
	return ""
}

// size returns the number of symbols in use, for tests.
func (t *symbolTable) size() int {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return len(t.mu.ids)
}
