package storage

import (
	"errors"

	"github.com/vigil-monitoring/vigil/internal/model/histogram"
	"github.com/vigil-monitoring/vigil/internal/model/labels"
)

// ChainedSeriesMerge combines series with equal labels by interleaving
// their samples in time order. When several series hold a sample at the
// same timestamp only one is kept: the one from the series given first.
// That suits replicated data (the same samples from a local block and a
// remote store) and is cheap when the series do not overlap at all.
func ChainedSeriesMerge(series ...Series) Series {
	if len(series) == 0 {
		return nil
	}
	if len(series) == 1 {
		return series[0]
	}
	return &chainSeries{lset: series[0].Labels(), series: series}
}

type chainSeries struct {
	lset   labels.Labels
	series []Series
}

func (s *chainSeries) Labels() labels.Labels { return s.lset }

func (s *chainSeries) Iterator(it Iterator) Iterator {
	ci, ok := it.(*chainIterator)
	if !ok {
		ci = &chainIterator{}
	}
	its := make([]Iterator, len(s.series))
	for i, sr := range s.series {
		var old Iterator
		if i < len(ci.entries) {
			old = ci.entries[i].it
		}
		its[i] = sr.Iterator(old)
	}
	ci.reset(its)
	return ci
}

// NewChainIterator returns an iterator over the union of its, in time
// order, dropping samples whose timestamp an earlier iterator in its (or
// an already returned sample) has.
func NewChainIterator(its ...Iterator) Iterator {
	ci := &chainIterator{}
	ci.reset(its)
	return ci
}

type chainEntry struct {
	it  Iterator
	typ ValueType // what it stands on; ValNone when exhausted
}

// chainIterator is a k-way merge of sample iterators with deduplication.
//
// INVARIANT: after the first Next or Seek, every entry in h stands on a
// sample with time greater than lastT (or any time when !started); cur is
// not in h; entries not in h and not cur are exhausted.
type chainIterator struct {
	entries []chainEntry
	h       chainHeap
	cur     int // index into entries, -1 when none
	lastT   int64
	hasLast bool // lastT holds the time of a returned sample
	started bool
	// consecutive reports whether the current sample directly follows the
	// previous one in the same underlying iterator. Only then is a
	// histogram's counter reset hint still trustworthy.
	consecutive bool
	err         error
}

func (c *chainIterator) reset(its []Iterator) {
	c.entries = c.entries[:0]
	for _, it := range its {
		c.entries = append(c.entries, chainEntry{it: it})
	}
	c.h = chainHeap{c: c, idx: c.h.idx[:0]}
	c.cur = -1
	c.started = false
	c.hasLast = false
	c.consecutive = false
	c.err = nil
}

func (c *chainIterator) Next() ValueType {
	if c.err != nil {
		return ValNone
	}
	prev := c.cur
	if !c.started {
		c.started = true
		for i := range c.entries {
			if !c.advance(i, func(it Iterator) ValueType { return it.Next() }) {
				return ValNone
			}
		}
	} else if c.cur >= 0 {
		if !c.advance(c.cur, func(it Iterator) ValueType { return it.Next() }) {
			return ValNone
		}
	} else {
		return ValNone
	}
	c.cur = -1
	return c.pick(prev)
}

// advance moves entry i with step and pushes it back on the heap unless it
// is exhausted. It returns false when the iterator failed.
func (c *chainIterator) advance(i int, step func(Iterator) ValueType) bool {
	e := &c.entries[i]
	e.typ = step(e.it)
	if e.typ == ValNone {
		if err := e.it.Err(); err != nil {
			c.err = err
			c.cur = -1
			return false
		}
		return true
	}
	c.h.push(i)
	return true
}

// pick pops the earliest entry not duplicating the last returned time.
func (c *chainIterator) pick(prev int) ValueType {
	for c.h.Len() > 0 {
		i := c.h.pop()
		e := &c.entries[i]
		if c.hasLast && e.it.AtT() <= c.lastT {
			// A later series repeats a timestamp already returned: drop it.
			if !c.advance(i, func(it Iterator) ValueType { return it.Next() }) {
				return ValNone
			}
			continue
		}
		c.cur = i
		c.lastT = e.it.AtT()
		c.hasLast = true
		c.consecutive = i == prev
		return e.typ
	}
	return ValNone
}

func (c *chainIterator) Seek(t int64) ValueType {
	if c.err != nil {
		return ValNone
	}
	if c.cur >= 0 && c.lastT >= t {
		return c.entries[c.cur].typ
	}
	if c.started && c.cur < 0 {
		return ValNone // exhausted
	}
	seek := func(it Iterator) ValueType { return it.Seek(t) }
	if !c.started {
		c.started = true
		for i := range c.entries {
			if !c.advance(i, seek) {
				return ValNone
			}
		}
	} else {
		// Entries in the heap may stand before t; seek them all. Seek on an
		// entry already at or past t leaves it in place.
		live := append([]int(nil), c.h.idx...)
		c.h.idx = c.h.idx[:0]
		live = append(live, c.cur)
		for _, i := range live {
			if !c.advance(i, seek) {
				return ValNone
			}
		}
	}
	c.cur = -1
	// Seek does not track adjacency: treat the result as a jump.
	return c.pick(-1)
}

func (c *chainIterator) At() (int64, float64) { return c.entries[c.cur].it.At() }

func (c *chainIterator) AtHistogram(h *histogram.Histogram) (int64, *histogram.Histogram) {
	t, h := c.entries[c.cur].it.AtHistogram(h)
	if !c.consecutive && h.CounterResetHint != histogram.GaugeType {
		h.CounterResetHint = histogram.UnknownCounterReset
	}
	return t, h
}

func (c *chainIterator) AtFloatHistogram(fh *histogram.FloatHistogram) (int64, *histogram.FloatHistogram) {
	t, fh := c.entries[c.cur].it.AtFloatHistogram(fh)
	if !c.consecutive && fh.CounterResetHint != histogram.GaugeType {
		fh.CounterResetHint = histogram.UnknownCounterReset
	}
	return t, fh
}

func (c *chainIterator) AtT() int64 { return c.lastT }

func (c *chainIterator) Err() error {
	if c.err != nil {
		return c.err
	}
	var errs []error
	for _, e := range c.entries {
		if err := e.it.Err(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// chainHeap orders entry indexes by the time each entry stands on, then by
// index, so on equal times the earlier series wins.
type chainHeap struct {
	c   *chainIterator
	idx []int
}

func (h *chainHeap) Len() int { return len(h.idx) }

func (h *chainHeap) less(a, b int) bool {
	ta, tb := h.c.entries[a].it.AtT(), h.c.entries[b].it.AtT()
	if ta != tb {
		return ta < tb
	}
	return a < b
}

// push and pop are a hand-written binary heap: container/heap's interface
// boxing would allocate on every sample.
func (h *chainHeap) push(i int) {
	h.idx = append(h.idx, i)
	j := len(h.idx) - 1
	for j > 0 {
		p := (j - 1) / 2
		if !h.less(h.idx[j], h.idx[p]) {
			break
		}
		h.idx[j], h.idx[p] = h.idx[p], h.idx[j]
		j = p
	}
}

func (h *chainHeap) pop() int {
	top := h.idx[0]
	n := len(h.idx) - 1
	h.idx[0] = h.idx[n]
	h.idx = h.idx[:n]
	j := 0
	for {
		l := 2*j + 1
		if l >= n {
			break
		}
		m := l
		if r := l + 1; r < n && h.less(h.idx[r], h.idx[l]) {
			m = r
		}
		if !h.less(h.idx[m], h.idx[j]) {
			break
		}
		h.idx[j], h.idx[m] = h.idx[m], h.idx[j]
		j = m
	}
	return top
}
