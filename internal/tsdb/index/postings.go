package index

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sort"

	"github.com/vigil-monitoring/vigil/internal/storage"
)

// Postings iterates over series references in strictly ascending order.
type Postings interface {
	// Next advances to the next reference and reports whether there is
	// one.
	Next() bool
	// Seek advances to the first reference >= v and reports whether there
	// is one. It never moves backwards: if the current reference already
	// is >= v it stays.
	Seek(v storage.SeriesRef) bool
	// At returns the current reference; valid after Next or Seek returned
	// true.
	At() storage.SeriesRef
	// Err returns the error that ended iteration, if any.
	Err() error
}

// Expand drains p into a slice.
func Expand(p Postings) ([]storage.SeriesRef, error) {
	var out []storage.SeriesRef
	for p.Next() {
		out = append(out, p.At())
	}
	return out, p.Err()
}

type emptyPostings struct{}

func (emptyPostings) Next() bool                  { return false }
func (emptyPostings) Seek(storage.SeriesRef) bool { return false }
func (emptyPostings) At() storage.SeriesRef       { return 0 }
func (emptyPostings) Err() error                  { return nil }

// EmptyPostings returns an iterator with nothing in it.
func EmptyPostings() Postings { return emptyPostings{} }

func isEmpty(p Postings) bool { _, ok := p.(emptyPostings); return ok }

type errPostings struct{ err error }

func (errPostings) Next() bool                  { return false }
func (errPostings) Seek(storage.SeriesRef) bool { return false }
func (errPostings) At() storage.SeriesRef       { return 0 }
func (p errPostings) Err() error                { return p.err }

// ErrPostings returns an iterator that yields nothing and reports err.
func ErrPostings(err error) Postings { return errPostings{err: err} }

// ListPostings iterates over an ascending slice of references.
//
// INVARIANT: i is -1 before the first Next or Seek and len(list) once
// exhausted.
type ListPostings struct {
	list []storage.SeriesRef
	i    int
}

// NewListPostings returns an iterator over list, which must be strictly
// ascending. The slice is not copied.
func NewListPostings(list []storage.SeriesRef) *ListPostings {
	return &ListPostings{list: list, i: -1}
}

func (p *ListPostings) Next() bool {
	if p.i < len(p.list) {
		p.i++
	}
	return p.i < len(p.list)
}

func (p *ListPostings) Seek(v storage.SeriesRef) bool {
	p.i = max(p.i, 0)
	if p.i >= len(p.list) {
		return false
	}
	if p.list[p.i] >= v {
		return true
	}
	rest := p.list[p.i:]
	p.i += sort.Search(len(rest), func(j int) bool { return rest[j] >= v })
	return p.i < len(p.list)
}

func (p *ListPostings) At() storage.SeriesRef { return p.list[p.i] }
func (p *ListPostings) Err() error            { return nil }

// diskPostings decodes a delta-varint postings list in place.
//
// INVARIANT: b is the unread part of the delta stream; read entries have
// been consumed, the last of them being cur. The skip table is consumed
// front to back alongside: skipRaw holds the entries not yet looked at,
// and when peeked is set, next (for list entry nextEntry) was decoded but
// not used yet.
type diskPostings struct {
	b      []byte // unread deltas (bounded by the section end, not the list end)
	deltas []byte // the whole delta stream, what skip offsets count from
	count  int
	read   int
	cur    storage.SeriesRef
	err    error

	skipRaw   []byte
	skipLeft  int
	skipSeen  int // skip entries decoded so far
	peeked    bool
	next      skipEntry
	nextEntry int
}

type skipEntry struct {
	ref storage.SeriesRef
	off int
}

var errPostingsCorrupt = errors.New("corrupt postings list")

func newDiskPostings(b []byte) (*diskPostings, error) {
	d := decbuf{b: b}
	n := d.uvarint()
	if d.failed || n > uint64(len(d.b)) {
		return nil, fmt.Errorf("%w: bad count", errPostingsCorrupt)
	}
	p := &diskPostings{count: int(n)}
	if n > postingsSkipThreshold {
		m := d.uvarint()
		if d.failed || m != (n-1)/postingsSkipStep {
			return nil, fmt.Errorf("%w: bad skip table size", errPostingsCorrupt)
		}
		p.skipRaw, p.skipLeft = d.b, int(m)
		for range m {
			d.uvarint()
			d.uvarint()
		}
		if d.failed {
			return nil, fmt.Errorf("%w: truncated skip table", errPostingsCorrupt)
		}
	}
	p.b, p.deltas = d.b, d.b
	return p, nil
}

func (p *diskPostings) Next() bool {
	if p.read >= p.count || p.err != nil {
		return false
	}
	delta, k := binary.Uvarint(p.b)
	if k <= 0 || delta == 0 || delta > 1<<40 {
		p.err = fmt.Errorf("%w: bad delta at entry %d", errPostingsCorrupt, p.read)
		p.read = p.count
		return false
	}
	p.b = p.b[k:]
	p.cur += storage.SeriesRef(delta)
	p.read++
	return true
}

// peekSkip decodes the next skip entry, if there is one left.
func (p *diskPostings) peekSkip() bool {
	if p.peeked || p.skipLeft == 0 {
		return p.peeked
	}
	d := decbuf{b: p.skipRaw}
	p.next = skipEntry{ref: storage.SeriesRef(d.uvarint()), off: int(d.uvarint())}
	p.skipRaw = d.b // newDiskPostings checked the table is whole
	p.skipLeft--
	p.skipSeen++
	p.nextEntry = p.skipSeen * postingsSkipStep
	p.peeked = true
	return true
}

// Seek walks the skip table forward (it is consumed once over the
// iterator's life, so a long run of seeks costs one pass over it and
// nothing is allocated), jumps to the last skip entry at or before v that
// lies ahead, and decodes from there.
func (p *diskPostings) Seek(v storage.SeriesRef) bool {
	if p.read > 0 && p.cur >= v {
		return true
	}
	if p.err != nil {
		return false
	}
	jump, jumpEntry := skipEntry{}, -1
	for p.peekSkip() {
		if p.nextEntry < p.read {
			p.peeked = false // already decoded past it
			continue
		}
		if p.next.ref > v {
			break
		}
		jump, jumpEntry = p.next, p.nextEntry
		p.peeked = false
	}
	if jumpEntry >= 0 {
		if jump.off >= len(p.deltas) {
			p.err = fmt.Errorf("%w: skip offset %d out of range", errPostingsCorrupt, jump.off)
			return false
		}
		_, k := binary.Uvarint(p.deltas[jump.off:])
		if k <= 0 {
			p.err = fmt.Errorf("%w: bad delta at entry %d", errPostingsCorrupt, jumpEntry)
			return false
		}
		p.b = p.deltas[jump.off+k:]
		p.cur, p.read = jump.ref, jumpEntry+1
		if p.cur >= v {
			return true
		}
	}
	for p.Next() {
		if p.cur >= v {
			return true
		}
	}
	return false
}

func (p *diskPostings) At() storage.SeriesRef { return p.cur }
func (p *diskPostings) Err() error            { return p.err }

// Intersect returns the references present in every one of its.
func Intersect(its ...Postings) Postings {
	switch len(its) {
	case 0:
		return EmptyPostings()
	case 1:
		return its[0]
	}
	for _, p := range its {
		if isEmpty(p) {
			return EmptyPostings()
		}
	}
	return &intersectPostings{its: its}
}

type intersectPostings struct {
	its []Postings
	cur storage.SeriesRef
	err error
}

// align moves every iterator to the smallest reference >= target they
// all hold.
func (p *intersectPostings) align(target storage.SeriesRef) bool {
	for {
		agreed := true
		for _, it := range p.its {
			if !it.Seek(target) {
				p.collectErr()
				return false
			}
			if at := it.At(); at > target {
				target, agreed = at, false
				break
			}
		}
		if agreed {
			p.cur = target
			return true
		}
	}
}

func (p *intersectPostings) collectErr() {
	for _, it := range p.its {
		if err := it.Err(); err != nil {
			p.err = err
			return
		}
	}
}

func (p *intersectPostings) Next() bool {
	if !p.its[0].Next() {
		p.collectErr()
		return false
	}
	return p.align(p.its[0].At())
}

func (p *intersectPostings) Seek(v storage.SeriesRef) bool { return p.align(v) }
func (p *intersectPostings) At() storage.SeriesRef         { return p.cur }
func (p *intersectPostings) Err() error                    { return p.err }

// Merge returns the union of its, each reference once.
func Merge(its ...Postings) Postings {
	kept := its[:0:0]
	for _, p := range its {
		if !isEmpty(p) {
			kept = append(kept, p)
		}
	}
	switch len(kept) {
	case 0:
		return EmptyPostings()
	case 1:
		return kept[0]
	}
	return &mergePostings{its: kept}
}

// mergePostings is a k-way union over a min-heap of iterators keyed by
// their current reference.
//
// INVARIANT: once started, heap holds the iterators that are not
// exhausted, each standing on a reference >= cur.
type mergePostings struct {
	its     []Postings
	heap    []Postings
	started bool
	cur     storage.SeriesRef
	err     error
}

func (m *mergePostings) less(i, j int) bool { return m.heap[i].At() < m.heap[j].At() }

func (m *mergePostings) down(i int) {
	n := len(m.heap)
	for {
		c := 2*i + 1
		if c >= n {
			return
		}
		if c+1 < n && m.less(c+1, c) {
			c++
		}
		if !m.less(c, i) {
			return
		}
		m.heap[i], m.heap[c] = m.heap[c], m.heap[i]
		i = c
	}
}

// pop removes the top, after recording an error it may have ended with.
func (m *mergePostings) pop() {
	if err := m.heap[0].Err(); err != nil && m.err == nil {
		m.err = err
	}
	last := len(m.heap) - 1
	m.heap[0] = m.heap[last]
	m.heap = m.heap[:last]
	m.down(0)
}

// start positions every iterator with step and builds the heap.
func (m *mergePostings) start(step func(Postings) bool) bool {
	m.started = true
	m.heap = make([]Postings, 0, len(m.its))
	for _, it := range m.its {
		if step(it) {
			m.heap = append(m.heap, it)
		} else if err := it.Err(); err != nil {
			m.err = err
			return false
		}
	}
	for i := len(m.heap)/2 - 1; i >= 0; i-- {
		m.down(i)
	}
	return m.settle()
}

func (m *mergePostings) settle() bool {
	if m.err != nil || len(m.heap) == 0 {
		return false
	}
	m.cur = m.heap[0].At()
	return true
}

func (m *mergePostings) Next() bool {
	if !m.started {
		return m.start(Postings.Next)
	}
	for len(m.heap) > 0 && m.heap[0].At() <= m.cur {
		if m.heap[0].Next() {
			m.down(0)
		} else {
			m.pop()
		}
	}
	return m.settle()
}

func (m *mergePostings) Seek(v storage.SeriesRef) bool {
	if !m.started {
		return m.start(func(p Postings) bool { return p.Seek(v) })
	}
	if len(m.heap) == 0 {
		return false
	}
	if m.cur >= v {
		return true
	}
	for len(m.heap) > 0 && m.heap[0].At() < v {
		if m.heap[0].Seek(v) {
			m.down(0)
		} else {
			m.pop()
		}
	}
	return m.settle()
}

func (m *mergePostings) At() storage.SeriesRef { return m.cur }
func (m *mergePostings) Err() error            { return m.err }

// Without returns the references of full that are not in drop.
func Without(full, drop Postings) Postings {
	if isEmpty(full) || isEmpty(drop) {
		return full
	}
	return &withoutPostings{full: full, drop: drop}
}

// withoutPostings walks full and seeks drop alongside.
//
// INVARIANT: dropOK tells whether drop stands on a reference (it is
// exhausted otherwise, and drops nothing more).
type withoutPostings struct {
	full, drop    Postings
	started, done bool
	dropOK        bool
	err           error
}

// keep reports whether full's current reference survives.
func (p *withoutPostings) keep() bool {
	v := p.full.At()
	if !p.started {
		p.started = true
		p.dropOK = p.drop.Seek(v)
	} else if p.dropOK && p.drop.At() < v {
		p.dropOK = p.drop.Seek(v)
	}
	if !p.dropOK {
		if err := p.drop.Err(); err != nil {
			p.err = err
			p.done = true
			return false
		}
		return true
	}
	return p.drop.At() != v
}

func (p *withoutPostings) advance(ok bool) bool {
	for ok {
		if p.keep() {
			return true
		}
		if p.done {
			return false
		}
		ok = p.full.Next()
	}
	if err := p.full.Err(); err != nil && p.err == nil {
		p.err = err
	}
	return false
}

func (p *withoutPostings) Next() bool {
	if p.done {
		return false
	}
	return p.advance(p.full.Next())
}

func (p *withoutPostings) Seek(v storage.SeriesRef) bool {
	if p.done {
		return false
	}
	return p.advance(p.full.Seek(v))
}

func (p *withoutPostings) At() storage.SeriesRef { return p.full.At() }
func (p *withoutPostings) Err() error            { return p.err }
