package tsdb

import (
	"bytes"
	"context"
	"slices"

	"github.com/vigil-monitoring/vigil/internal/model/histogram"
	"github.com/vigil-monitoring/vigil/internal/model/labels"
	"github.com/vigil-monitoring/vigil/internal/storage"
	"github.com/vigil-monitoring/vigil/internal/tsdb/chunkenc"
)

// Querier implements storage.Queryable over the head.
func (h *Head) Querier(mint, maxt int64) (storage.Querier, error) {
	return &headQuerier{h: h, mint: mint, maxt: maxt}, nil
}

type headQuerier struct {
	h          *Head
	mint, maxt int64
}

func (q *headQuerier) Close() error { return nil }

// overlapsHead reports whether the query range meets the head's data.
func (q *headQuerier) overlapsHead() bool {
	return q.mint <= q.h.MaxTime() && q.maxt >= q.h.MinTime()
}

// matchingSeries resolves matchers to series, in ref order.
func (q *headQuerier) matchingSeries(ms []*labels.Matcher) []*memSeries {
	refs := q.h.postings.postingsForMatchers(ms)
	out := make([]*memSeries, 0, len(refs))
	for _, ref := range refs {
		if s := q.h.series.getByRef(ref); s != nil {
			out = append(out, s)
		}
	}
	return out
}

func (q *headQuerier) Select(ctx context.Context, sortSeries bool, hints *storage.SelectHints, ms ...*labels.Matcher) storage.SeriesSet {
	if err := ctx.Err(); err != nil {
		return storage.ErrSeriesSet(err)
	}
	if !q.overlapsHead() {
		return storage.EmptySeriesSet()
	}
	series := q.matchingSeries(ms)
	if hints != nil && hints.ShardCount > 0 {
		kept := series[:0]
		for _, s := range series {
			if s.lset.Hash()%hints.ShardCount == hints.ShardIndex {
				kept = append(kept, s)
			}
		}
		series = kept
	}
	if sortSeries {
		slices.SortFunc(series, func(a, b *memSeries) int { return labels.Compare(a.lset, b.lset) })
	}
	limit := 0
	if hints != nil {
		limit = hints.Limit
	}
	return &headSeriesSet{ctx: ctx, h: q.h, series: series, mint: q.mint, maxt: q.maxt, limit: limit}
}

// headSeriesSet snapshots each series' chunks as it reaches it, so the
// work of a Select is spread over its iteration and samples committed in
// between are seen.
type headSeriesSet struct {
	ctx        context.Context
	h          *Head
	series     []*memSeries
	mint, maxt int64
	limit      int

	i        int
	returned int
	cur      *headSeries
	err      error
}

func (s *headSeriesSet) Next() bool {
	if s.err != nil || (s.limit > 0 && s.returned >= s.limit) {
		return false
	}
	for s.i < len(s.series) {
		ms := s.series[s.i]
		s.i++
		if s.i%128 == 0 {
			if err := s.ctx.Err(); err != nil {
				s.err = err
				return false
			}
		}
		chunks := s.h.snapshotChunks(ms, s.mint, s.maxt)
		if len(chunks) == 0 {
			continue
		}
		// A fresh value per series: the contract only promises At until
		// the next Next, but callers that collect series first (as PromQL
		// engines do) then still see each one's own chunks.
		s.cur = &headSeries{lset: ms.lset, chunks: chunks, mint: s.mint, maxt: s.maxt}
		s.returned++
		return true
	}
	return false
}

func (s *headSeriesSet) At() storage.Series         { return s.cur }
func (s *headSeriesSet) Err() error                 { return s.err }
func (s *headSeriesSet) Warnings() storage.Warnings { return nil }

// chunkSnap is a chunk as a query sees it: immutable.
type chunkSnap struct {
	chunk      chunkenc.Chunk
	minT, maxT int64
}

// snapshotChunks returns the series' chunks overlapping [mint, maxt].
// Full chunks are shared (they never change); the open chunk is copied,
// since appends keep modifying its last bytes.
func (h *Head) snapshotChunks(s *memSeries, mint, maxt int64) []chunkSnap {
	lock := h.series.refLock(s.ref)
	lock.RLock()
	defer lock.RUnlock()
	var out []chunkSnap
	for _, c := range s.full {
		if c.maxT >= mint && c.minT <= maxt {
			out = append(out, chunkSnap(c))
		}
	}
	if s.open.app != nil && s.open.maxT >= mint && s.open.minT <= maxt {
		c := s.open.app.Chunk()
		cp, err := chunkenc.FromData(c.Encoding(), bytes.Clone(c.Bytes()))
		if err == nil && cp.NumSamples() > 0 {
			out = append(out, chunkSnap{chunk: cp, minT: s.open.minT, maxT: s.open.maxT})
		}
	}
	return out
}

// headSeries is one series of a Select result.
type headSeries struct {
	lset       labels.Labels
	chunks     []chunkSnap
	mint, maxt int64
}

func (s *headSeries) Labels() labels.Labels { return s.lset }

func (s *headSeries) Iterator(it storage.Iterator) storage.Iterator {
	hi, ok := it.(*headIterator)
	if !ok {
		hi = &headIterator{}
	}
	hi.reset(s.chunks, s.mint, s.maxt)
	return hi
}

// headIterator walks a series' chunks, limited to [mint, maxt].
//
// INVARIANT: cur is the iterator of chunks[i-1] while one is open; typ is
// what the last Next or Seek returned.
type headIterator struct {
	chunks     []chunkSnap
	mint, maxt int64
	i          int
	cur        storage.Iterator
	curMaxT    int64
	typ        storage.ValueType
	done       bool
	err        error
	// reuse holds one chunk iterator per encoding, recycled across chunks.
	reuse [3]storage.Iterator
}

func (it *headIterator) reset(chunks []chunkSnap, mint, maxt int64) {
	it.chunks, it.mint, it.maxt = chunks, mint, maxt
	it.i, it.cur, it.typ, it.done, it.err = 0, nil, storage.ValNone, false, nil
}

func reuseSlot(e chunkenc.Encoding) int {
	switch e {
	case chunkenc.EncHistogram:
		return 1
	case chunkenc.EncFloatHistogram:
		return 2
	}
	return 0
}

// open starts the iterator of chunks[i].
func (it *headIterator) open() {
	c := it.chunks[it.i]
	slot := reuseSlot(c.chunk.Encoding())
	it.cur = c.chunk.Iterator(it.reuse[slot])
	it.reuse[slot] = it.cur
	it.curMaxT = c.maxT
	it.i++
}

// finish ends iteration, keeping any error.
func (it *headIterator) finish() storage.ValueType {
	it.done, it.cur, it.typ = true, nil, storage.ValNone
	return storage.ValNone
}

// settle checks the sample the chunk iterator returned against the range.
// It reports false when the sample is before mint (keep going).
func (it *headIterator) settle(typ storage.ValueType) (storage.ValueType, bool) {
	if typ == storage.ValNone {
		if err := it.cur.Err(); err != nil {
			it.err = err
			return it.finish(), true
		}
		it.cur = nil
		return storage.ValNone, false
	}
	t := it.cur.AtT()
	if t > it.maxt {
		return it.finish(), true
	}
	if t < it.mint {
		return storage.ValNone, false
	}
	it.typ = typ
	return typ, true
}

func (it *headIterator) Next() storage.ValueType {
	if it.done {
		return storage.ValNone
	}
	for {
		if it.cur == nil {
			if it.i >= len(it.chunks) {
				return it.finish()
			}
			it.open()
		}
		if typ, ok := it.settle(it.cur.Next()); ok {
			return typ
		}
	}
}

func (it *headIterator) Seek(t int64) storage.ValueType {
	if it.done {
		return storage.ValNone
	}
	t = max(t, it.mint)
	if it.typ != storage.ValNone && it.cur != nil && it.cur.AtT() >= t {
		return it.typ
	}
	it.typ = storage.ValNone
	for {
		if it.cur != nil && it.curMaxT < t {
			it.cur = nil
		}
		if it.cur == nil {
			for it.i < len(it.chunks) && it.chunks[it.i].maxT < t {
				it.i++
			}
			if it.i >= len(it.chunks) {
				return it.finish()
			}
			it.open()
		}
		if typ, ok := it.settle(it.cur.Seek(t)); ok {
			return typ
		}
	}
}

func (it *headIterator) At() (int64, float64) { return it.cur.At() }
func (it *headIterator) AtT() int64           { return it.cur.AtT() }
func (it *headIterator) Err() error           { return it.err }

func (it *headIterator) AtHistogram(h *histogram.Histogram) (int64, *histogram.Histogram) {
	return it.cur.AtHistogram(h)
}

func (it *headIterator) AtFloatHistogram(fh *histogram.FloatHistogram) (int64, *histogram.FloatHistogram) {
	return it.cur.AtFloatHistogram(fh)
}

func (q *headQuerier) LabelValues(ctx context.Context, name string, hints *storage.LabelHints, ms ...*labels.Matcher) ([]string, storage.Warnings, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	if !q.overlapsHead() {
		return nil, nil, nil
	}
	var vals []string
	if len(ms) == 0 {
		vals = q.h.postings.labelValues(name)
	} else {
		for _, s := range q.matchingSeries(ms) {
			if v := s.lset.Get(name); v != "" {
				vals = append(vals, v)
			}
		}
		slices.Sort(vals)
		vals = slices.Compact(vals)
	}
	return limitStrings(vals, hints), nil, nil
}

func (q *headQuerier) LabelNames(ctx context.Context, hints *storage.LabelHints, ms ...*labels.Matcher) ([]string, storage.Warnings, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	if !q.overlapsHead() {
		return nil, nil, nil
	}
	var names []string
	if len(ms) == 0 {
		names = q.h.postings.labelNames()
	} else {
		seen := map[string]struct{}{}
		for _, s := range q.matchingSeries(ms) {
			s.lset.Range(func(l labels.Label) {
				if _, ok := seen[l.Name]; !ok {
					seen[l.Name] = struct{}{}
					names = append(names, l.Name)
				}
			})
		}
		slices.Sort(names)
	}
	return limitStrings(names, hints), nil, nil
}

func limitStrings(s []string, hints *storage.LabelHints) []string {
	if hints != nil && hints.Limit > 0 && len(s) > hints.Limit {
		return s[:hints.Limit]
	}
	return s
}
