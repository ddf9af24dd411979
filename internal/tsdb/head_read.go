package tsdb

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/vigil-monitoring/vigil/internal/model/histogram"
	"github.com/vigil-monitoring/vigil/internal/model/labels"
	"github.com/vigil-monitoring/vigil/internal/storage"
	"github.com/vigil-monitoring/vigil/internal/tsdb/chunkenc"
	"github.com/vigil-monitoring/vigil/internal/tsdb/headchunks"
	"github.com/vigil-monitoring/vigil/internal/tsdb/tombstones"
)

// Querier implements storage.Queryable over the head. Samples deleted
// with Delete are left out.
func (h *Head) Querier(mint, maxt int64) (storage.Querier, error) {
	stones := h.stones.Load()
	if stones != nil && stones.Len() == 0 {
		stones = nil // the common case: no per-series lookups
	}
	id := h.readers.add(mint, maxt)
	return &headQuerier{h: h, id: id, mint: mint, maxt: maxt, chunks: h.chunks.Reader(), stones: stones}, nil
}

// headQuerier reads the head. Its chunks reader keeps the head chunk files
// it may read mapped until Close (see headchunks.Reader), which is why
// series and iterators must not be used after Close.
type headQuerier struct {
	h          *Head
	id         uint64 // in h.readers until Close
	mint, maxt int64
	chunks     *headchunks.Reader
	stones     *tombstones.Stones // nil when nothing is deleted
	closed     bool
}

func (q *headQuerier) Close() error {
	if q.closed {
		return nil
	}
	q.closed = true
	q.chunks.Close()
	q.h.readers.remove(q.id)
	return nil
}

// headReaders tracks the open head queriers: the DB waits for those that
// cannot see a block it just added before truncating the head's copy of
// that block's data under them. Ids increase; a querier's Select reads
// series lazily, so an open querier may read any time until Close.
type headReaders struct {
	mu   sync.Mutex
	last uint64
	open map[uint64][2]int64 // id -> [mint, maxt]
}

func (r *headReaders) add(mint, maxt int64) uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.last++
	if r.open == nil {
		r.open = map[uint64][2]int64{}
	}
	r.open[r.last] = [2]int64{mint, maxt}
	return r.last
}

func (r *headReaders) remove(id uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.open, id)
}

// nextID returns the id the next querier gets: every querier below it
// was opened before this call.
func (r *headReaders) nextID() uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.last + 1
}

// busy reports whether a querier with an id below before that reads
// part of [mint, maxt] is still open.
func (r *headReaders) busy(before uint64, mint, maxt int64) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for id, rng := range r.open {
		if id < before && rng[0] <= maxt && rng[1] >= mint {
			return true
		}
	}
	return false
}

// overlapsHead reports whether the query range meets the head's data.
func (q *headQuerier) overlapsHead() bool {
	return q.mint <= q.h.MaxTime() && q.maxt >= q.h.MinTime()
}

// matchingSeries resolves matchers to series, in ref order.
func (q *headQuerier) matchingSeries(ms []*labels.Matcher) []*memSeries {
	bufp := refBufs.Get().(*[]storage.SeriesRef)
	refs, rest := q.h.postings.selectPostingsInto(*bufp, ms, true)
	var out []*memSeries
	if len(rest) == 0 {
		out = make([]*memSeries, 0, len(refs))
	}
	for _, ref := range refs {
		if s := q.h.series.getByRef(ref); s != nil && (len(rest) == 0 || q.h.symbols.matches(s.lbls, rest)) {
			out = append(out, s)
		}
	}
	if cap(refs) <= maxPooledRefs {
		*bufp = refs[:0]
		refBufs.Put(bufp)
	}
	return out
}

// refBufs recycles the candidate lists of matchingSeries, which are
// dropped as soon as the series are looked up. Lists above maxPooledRefs
// are left to the GC so that one huge select does not pin its memory.
var refBufs = sync.Pool{New: func() any { return new([]storage.SeriesRef) }}

const maxPooledRefs = 1 << 16

// matches reports whether the labels sl satisfy every matcher, a missing
// label counting as the empty value.
func (t *symbolTable) matches(sl seriesLabels, ms []*labels.Matcher) bool {
	t.mu.RLock()
	defer t.mu.RUnlock()
	for _, m := range ms {
		v := ""
		d := strDecoder{s: string(sl)}
		for len(d.s) > 0 {
			n, val := d.uvarint(), d.uvarint()
			if t.mu.strs[n] == m.Name {
				v = t.mu.strs[val]
				break
			}
		}
		if !m.Matches(v) {
			return false
		}
	}
	return true
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
			if s.hash%hints.ShardCount == hints.ShardIndex {
				kept = append(kept, s)
			}
		}
		series = kept
	}
	set := &headSeriesSet{ctx: ctx, h: q.h, chunks: q.chunks, stones: q.stones, series: series, mint: q.mint, maxt: q.maxt}
	if hints != nil {
		set.limit = hints.Limit
	}
	if sortSeries {
		// Sorting needs every label set now; the unsorted path decodes
		// each as it reaches it.
		type sel struct {
			s    *memSeries
			lset labels.Labels
		}
		sels := make([]sel, len(series))
		for i, s := range series {
			sels[i] = sel{s, q.h.symbols.labels(s.lbls, &set.lb)}
		}
		slices.SortFunc(sels, func(a, b sel) int { return labels.Compare(a.lset, b.lset) })
		set.lsets = make([]labels.Labels, len(sels))
		for i, x := range sels {
			series[i], set.lsets[i] = x.s, x.lset
		}
	}
	return set
}

// headSeriesSet snapshots each series' chunks as it reaches it, so the
// work of a Select is spread over its iteration and samples committed in
// between are seen.
type headSeriesSet struct {
	ctx        context.Context
	h          *Head
	chunks     *headchunks.Reader
	stones     *tombstones.Stones
	series     []*memSeries
	lsets      []labels.Labels // series' labels when decoded up front
	mint, maxt int64
	limit      int
	lb         labels.ScratchBuilder

	i        int
	returned int
	cur      *headSeries
	err      error
	// Series, their chunk lists and open-chunk copies are carved from
	// slabs, a few allocations per Select instead of several per series.
	// Each series keeps its own part: callers may hold series past Next.
	seriesSlab []headSeries
	snapSlab   []chunkSnap
	byteSlab   []byte
}

// slabSeries is how many series one slab allocation holds.
const slabSeries = 64

// slabLen is the size of the next slab of a set that returned n series:
// small for small selects, slabSeries*unit once it is a large one.
func slabLen(n, unit int) int { return unit * min(slabSeries, 4<<min(n/4, 4)) }

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
		chunks := s.snapshotChunks(ms)
		var ivs tombstones.Intervals
		if s.stones != nil {
			if ivs = s.stones.Get(ms.ref); len(ivs) > 0 {
				chunks = slices.DeleteFunc(chunks, func(c chunkSnap) bool {
					return tombstones.Interval{Mint: c.minT, Maxt: c.maxT}.IsSubrange(ivs)
				})
			}
		}
		if len(chunks) == 0 {
			continue
		}
		// A fresh value per series: the contract only promises At until
		// the next Next, but callers that collect series first (as PromQL
		// engines do) then still see each one's own chunks.
		var lset labels.Labels
		if s.lsets != nil {
			lset = s.lsets[s.i-1]
		} else {
			lset = s.h.symbols.labels(ms.lbls, &s.lb)
		}
		if len(s.seriesSlab) == 0 {
			s.seriesSlab = make([]headSeries, slabLen(s.returned, 1))
		}
		s.cur = &s.seriesSlab[0]
		s.seriesSlab = s.seriesSlab[1:]
		*s.cur = headSeries{lset: lset, reader: s.chunks, chunks: chunks, ivs: ivs, mint: s.mint, maxt: s.maxt}
		s.returned++
		return true
	}
	return false
}

func (s *headSeriesSet) At() storage.Series         { return s.cur }
func (s *headSeriesSet) Err() error                 { return s.err }
func (s *headSeriesSet) Warnings() storage.Warnings { return nil }

// chunkSnap is a chunk as a query sees it: immutable. A full chunk is
// read from the head chunk files when the iterator reaches it; the open
// chunk is a copy of its bytes.
type chunkSnap struct {
	ref        headchunks.Ref // when data is nil
	enc        chunkenc.Encoding
	data       []byte
	minT, maxT int64
}

// snapshotChunks returns the series' chunks overlapping the set's range.
// Full chunks are immutable and only referenced; the open chunk is
// copied, since appends keep modifying its last bytes.
func (set *headSeriesSet) snapshotChunks(s *memSeries) []chunkSnap {
	mint, maxt := set.mint, set.maxt
	lock := set.h.series.refLock(s.ref)
	lock.RLock()
	full := s.full
	var open chunkSnap
	skipFull := false
	if c := s.openChunkLocked(); c != nil && c.NumSamples() > 0 {
		// Full chunks end before the open one starts, so a range
		// starting after that (an instant query's window, mostly) needs
		// no walk of the full list.
		skipFull = s.openMinT < mint
		if s.lastT >= mint && s.openMinT <= maxt {
			open = chunkSnap{enc: c.Encoding(), data: set.copyBytes(c.Bytes()), minT: s.openMinT, maxT: s.lastT}
		}
	}
	lock.RUnlock()
	start := len(set.snapSlab)
	for it := full.iter(); !skipFull && it.next(); {
		c := it.cur
		if c.minT > maxt {
			break // the rest start later still
		}
		if c.maxT >= mint {
			set.addSnap(&start, chunkSnap{ref: c.ref, minT: c.minT, maxT: c.maxT})
		}
	}
	if open.data != nil {
		set.addSnap(&start, open)
	}
	end := len(set.snapSlab)
	return set.snapSlab[start:end:end]
}

// addSnap appends c to the series being snapshotted, which starts at
// *start in the slab. A full slab is replaced, not grown: earlier series
// keep the old one.
func (set *headSeriesSet) addSnap(start *int, c chunkSnap) {
	if len(set.snapSlab) == cap(set.snapSlab) {
		cur := set.snapSlab[*start:]
		slab := make([]chunkSnap, len(cur), max(2*len(cur)+1, slabLen(set.returned, 4)))
		copy(slab, cur)
		set.snapSlab, *start = slab, 0
	}
	set.snapSlab = append(set.snapSlab, c)
}

// copyBytes returns a copy of b carved from the byte slab.
func (set *headSeriesSet) copyBytes(b []byte) []byte {
	if cap(set.byteSlab)-len(set.byteSlab) < len(b) {
		set.byteSlab = make([]byte, 0, max(len(b), slabLen(set.returned, 64)))
	}
	n := len(set.byteSlab)
	set.byteSlab = append(set.byteSlab, b...)
	return set.byteSlab[n : n+len(b) : n+len(b)]
}

// headSeries is one series of a Select result.
type headSeries struct {
	lset       labels.Labels
	reader     *headchunks.Reader
	chunks     []chunkSnap
	ivs        tombstones.Intervals // deleted ranges
	mint, maxt int64
}

func (s *headSeries) Labels() labels.Labels { return s.lset }

func (s *headSeries) Iterator(it storage.Iterator) storage.Iterator {
	hi, ok := it.(*headIterator)
	if !ok {
		hi = &headIterator{}
	}
	hi.reset(s.reader, s.chunks, s.ivs, s.mint, s.maxt)
	return hi
}

// headIterator walks a series' chunks, limited to [mint, maxt] and
// skipping deleted samples. Float chunks are decoded in bulk into run, and
// Next then only moves an index (as blockIterator does).
//
// INVARIANT: cur is the iterator of chunks[i-1] while one is open, and fb
// is cur when that is a float chunk being read into run. While rn > 0 the
// current sample is run.T[ri], run.V[ri] (ri < rn). typ is what the last
// Next or Seek returned.
type headIterator struct {
	reader     *headchunks.Reader
	chunks     []chunkSnap
	ivs        tombstones.Intervals
	deleted    func(int64) bool // ivs.Contains, nil without deletions
	mint, maxt int64
	i          int
	cur        storage.Iterator
	fb         chunkenc.FloatBatchIterator
	curMaxT    int64
	run        *chunkenc.FloatRun // from floatRuns with the first float chunk, back on finish
	ri, rn     int
	typ        storage.ValueType
	done       bool
	err        error
	// reuse holds one chunk iterator per encoding, recycled across chunks.
	reuse [3]storage.Iterator
}

func (it *headIterator) reset(r *headchunks.Reader, chunks []chunkSnap, ivs tombstones.Intervals, mint, maxt int64) {
	it.reader, it.chunks, it.ivs, it.mint, it.maxt = r, chunks, ivs, mint, maxt
	it.deleted = nil
	if len(ivs) > 0 {
		it.deleted = ivs.Contains
	}
	it.i, it.cur, it.fb, it.ri, it.rn = 0, nil, nil, 0, 0
	it.typ, it.done, it.err = storage.ValNone, false, nil
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

// open starts the iterator of chunks[i], reading it from the head chunk
// files if it is a full chunk. It reports false, with it.err set, when
// the chunk cannot be read.
func (it *headIterator) open() bool {
	c := it.chunks[it.i]
	if c.data != nil {
		slot := reuseSlot(c.enc)
		cur, err := chunkenc.IteratorFromData(c.enc, c.data, it.reuse[slot])
		if err != nil {
			it.err = fmt.Errorf("tsdb: open head chunk: %w", err)
			return false
		}
		it.cur = cur
		it.reuse[slot] = cur
	} else {
		chk, err := it.reader.Chunk(c.ref)
		if err != nil {
			it.err = fmt.Errorf("tsdb: read head chunk %v: %w", c.ref, err)
			return false
		}
		slot := reuseSlot(chk.Encoding())
		it.cur = chk.Iterator(it.reuse[slot])
		it.reuse[slot] = it.cur
	}
	it.curMaxT = c.maxT
	it.i++
	if fb, ok := it.cur.(chunkenc.FloatBatchIterator); ok {
		it.fb = fb
		if it.run == nil {
			it.run = floatRuns.Get().(*chunkenc.FloatRun)
		}
		it.run.Past = false
	}
	return true
}

var _ storage.FloatRunIterator = (*headIterator)(nil)

// floatRuns recycles the runs of finished iterators.
var floatRuns = sync.Pool{New: func() any { return new(chunkenc.FloatRun) }}

// finish ends iteration, keeping any error.
func (it *headIterator) finish() storage.ValueType {
	it.done, it.cur, it.fb, it.typ = true, nil, nil, storage.ValNone
	it.ri, it.rn = 0, 0
	if it.run != nil {
		// Nothing reads the run once done, and most iterators are
		// dropped right after: a run per series would otherwise be most
		// of what a small query allocates.
		floatRuns.Put(it.run)
		it.run = nil
	}
	return storage.ValNone
}

// fill decodes the next samples of the float chunk fb into run. On false
// the chunk is done (fb and cur are nil) or so is the iteration.
func (it *headIterator) fill() bool {
	it.ri, it.rn = 0, 0
	if lo, hi, ok := it.run.Fill(it.fb, it.mint, it.maxt, it.deleted); ok {
		it.ri, it.rn, it.typ = lo, hi, storage.ValFloat
		return true
	}
	if err := it.fb.Err(); err != nil {
		it.err = err
		it.finish()
		return false
	}
	if it.run.Past {
		// Later chunks start later still.
		it.finish()
		return false
	}
	it.cur, it.fb = nil, nil
	return false
}

// settle checks the sample the chunk iterator returned against the range
// and the deletions. It reports false when the sample is before mint or
// deleted (keep going).
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
	if t < it.mint || (len(it.ivs) > 0 && it.ivs.Contains(t)) {
		return storage.ValNone, false
	}
	it.typ = typ
	return typ, true
}

func (it *headIterator) Next() storage.ValueType {
	if it.ri+1 < it.rn {
		it.ri++
		return storage.ValFloat
	}
	return it.next()
}

// next is Next past the end of the decoded run.
func (it *headIterator) next() storage.ValueType {
	if it.done {
		return storage.ValNone
	}
	for {
		if it.fb != nil {
			if it.fill() {
				return storage.ValFloat
			}
			if it.done {
				return storage.ValNone
			}
			continue
		}
		if it.cur == nil {
			if it.i >= len(it.chunks) || !it.open() {
				return it.finish()
			}
			continue
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
	if it.typ != storage.ValNone && it.AtT() >= t {
		return it.typ
	}
	if it.cur != nil && it.curMaxT < t {
		it.cur, it.fb, it.ri, it.rn = nil, nil, 0, 0
	}
	if it.cur == nil {
		for it.i < len(it.chunks) && it.chunks[it.i].maxT < t {
			it.i++
		}
	}
	for {
		typ := it.Next()
		if typ == storage.ValNone || it.AtT() >= t {
			return typ
		}
	}
}

func (it *headIterator) At() (int64, float64) {
	if it.rn > 0 {
		i := it.ri & (chunkenc.FloatRunLen - 1) // ri < rn <= FloatRunLen; no bounds check
		return it.run.T[i], it.run.V[i]
	}
	return it.cur.At()
}

func (it *headIterator) AtT() int64 {
	if it.rn > 0 {
		return it.run.T[it.ri&(chunkenc.FloatRunLen-1)]
	}
	return it.cur.AtT()
}

func (it *headIterator) Err() error { return it.err }

// FloatRun implements storage.FloatRunIterator.
func (it *headIterator) FloatRun() ([]int64, []float64) {
	if it.rn == 0 {
		return nil, nil
	}
	return it.run.T[it.ri:it.rn], it.run.V[it.ri:it.rn]
}

// SkipFloats implements storage.FloatRunIterator.
func (it *headIterator) SkipFloats(n int) {
	if it.ri+n >= it.rn {
		panic("tsdb: SkipFloats past the decoded run")
	}
	it.ri += n
}

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
			if v := q.h.symbols.get(s.lbls, name); v != "" {
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
			q.h.symbols.pairs(s.lbls, func(name, _ string) {
				if _, ok := seen[name]; !ok {
					seen[name] = struct{}{}
					names = append(names, name)
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
