package tsdb

import (
	"context"
	"fmt"
	"math"
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
	set.shared.set = set
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

// headSeriesSet returns the selected series that have samples in the
// range when it reaches them. A series' open chunk is only snapshotted
// when it is read (Iterator, LatestFloat), as Prometheus' head does:
// samples committed until then are seen, and a Select holds no copy of
// open chunks. Next keeps the list of full chunks (an immutable string),
// so that a truncation of the head before the read does not take chunks
// the series had at Next (the head chunk reader keeps them readable).
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
	// Series are carved from slabs, a few allocations per Select
	// instead of one per series. Each series keeps its own element:
	// callers may hold series past Next.
	seriesSlab []headSeries
	// shared is the context of series without full chunks to keep; the
	// others get theirs from ctxSlab (see headSeries).
	shared   seriesCtx
	ctxSlab  []seriesCtx
	fromSlab []chunkListIter // for seriesCtx.from
	scratch  *chunkSnapshot  // for Next's check of deleted chunks
}

// slabSeries is how many series one slab allocation holds.
const slabSeries = 64

// slabLen is the size of the next slab of a set that returned n series
// and has at most left more: small for small selects, slabSeries once it
// is a large one.
func slabLen(n, left int) int { return max(1, min(slabSeries, 4<<min(n/4, 4), left)) }

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
		full, from, ok := s.hasSamples(ms)
		if !ok {
			continue
		}
		// A fresh value per series: the contract only promises At until
		// the next Next, but callers that collect series first (as PromQL
		// engines do) then still read each one.
		var lset labels.Labels
		if s.lsets != nil {
			lset = s.lsets[s.i-1]
		} else {
			lset = s.h.symbols.labels(ms.lbls, &s.lb)
		}
		if len(s.seriesSlab) == 0 {
			s.seriesSlab = make([]headSeries, slabLen(s.returned, len(s.series)-s.i+1))
		}
		s.cur = &s.seriesSlab[0]
		s.seriesSlab = s.seriesSlab[1:]
		ctx := &s.shared
		if full != "" {
			if len(s.ctxSlab) == 0 {
				s.ctxSlab = make([]seriesCtx, slabLen(s.returned, len(s.series)-s.i+1))
			}
			ctx = &s.ctxSlab[0]
			s.ctxSlab = s.ctxSlab[1:]
			*ctx = seriesCtx{set: s, full: full}
			if from.n > 0 {
				if len(s.fromSlab) == 0 {
					s.fromSlab = make([]chunkListIter, slabLen(s.returned, len(s.series)-s.i+1))
				}
				s.fromSlab[0] = from
				ctx.from = &s.fromSlab[0]
				s.fromSlab = s.fromSlab[1:]
			}
		}
		*s.cur = headSeries{lset: lset, ms: ms, ctx: ctx}
		s.returned++
		return true
	}
	return false
}

func (s *headSeriesSet) At() storage.Series         { return s.cur }
func (s *headSeriesSet) Err() error                 { return s.err }
func (s *headSeriesSet) Warnings() storage.Warnings { return nil }

// hasSamples reports whether ms has samples in the set's range that are
// not deleted, and returns its full chunks with an iterator over them
// that stands before the first one in range (where a read may start), or
// the zero iterator for their start.
func (s *headSeriesSet) hasSamples(ms *memSeries) (chunkList, chunkListIter, bool) {
	if s.stones != nil {
		if ivs := s.stones.Get(ms.ref); len(ivs) > 0 {
			if s.scratch == nil {
				s.scratch = new(chunkSnapshot)
			}
			full := s.scratch.take(s.h, ms, s.mint, s.maxt, ivs, "", chunkListIter{})
			return full, chunkListIter{}, len(s.scratch.chunks) > 0
		}
	}
	lock := s.h.series.refLock(ms.ref)
	lock.RLock()
	defer lock.RUnlock()
	if c := ms.openChunkLocked(); c != nil && c.NumSamples() > 0 {
		if ms.lastT >= s.mint && ms.openMinT <= s.maxt {
			if ms.openMinT < s.mint {
				return "", chunkListIter{}, true // no full chunk is in range
			}
			return ms.full, chunkListIter{}, true
		}
		if ms.openMinT < s.mint {
			return "", chunkListIter{}, false // full chunks end earlier still
		}
	}
	for it := ms.full.iter(); ; {
		before := it
		if !it.next() || it.cur.minT > s.maxt {
			break
		}
		if it.cur.maxT >= s.mint {
			return ms.full, before, true
		}
	}
	return "", chunkListIter{}, false
}

// chunkSnap is a chunk as a query sees it: immutable. A full chunk is
// read from the head chunk files when the iterator reaches it. An open
// float chunk shares the series' bytes: n and last are its sample count
// and final byte as of the snapshot; see chunkenc.OpenXORIterator for why
// that is safe while appends go on. An open histogram chunk is a copy of
// its bytes (n is 0).
type chunkSnap struct {
	ref        headchunks.Ref // when data is nil
	data       []byte
	minT, maxT int64
	n          uint16
	enc        chunkenc.Encoding
	last       byte
}

// chunkSnapshot is the chunks of one series in a range, as of when it
// was taken, without the chunks deleted entirely. Its buffers are reused
// from one series to the next.
type chunkSnapshot struct {
	chunks []chunkSnap
	ivs    tombstones.Intervals // deleted ranges
	hist   []byte               // the copy of an open histogram chunk
	// openCk is where a reader of the open float chunk may start: the
	// checkpoint taken with it, when before the range (else N is 0).
	openCk chunkenc.XORCheckpoint
}

// take snapshots the chunks of s overlapping [mint, maxt] and returns its
// full chunks. Full chunks are immutable and only referenced; the open
// chunk is shared when it holds floats, and copied otherwise. The full
// chunks are those of prior, a list the series had earlier, and those
// cut since: chunks truncated since prior are still read. from is an
// iterator over prior standing before its first chunk in range, or the
// zero iterator to walk prior from its start.
func (cs *chunkSnapshot) take(h *Head, s *memSeries, mint, maxt int64, ivs tombstones.Intervals, prior chunkList, from chunkListIter) chunkList {
	cs.chunks, cs.ivs, cs.openCk = cs.chunks[:0], ivs, chunkenc.XORCheckpoint{}
	lock := h.series.refLock(s.ref)
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
			if s.open == openXOR {
				b := s.xor.Chunk().Bytes()
				open = chunkSnap{enc: chunkenc.EncXOR, data: b, n: uint16(s.xor.NumSamples()), last: b[len(b)-1]}
				cs.openCk = s.xor.CheckpointBefore(mint)
			} else {
				cs.hist = append(cs.hist[:0], c.Bytes()...)
				open = chunkSnap{enc: c.Encoding(), data: cs.hist}
			}
			open.minT, open.maxT = s.openMinT, s.lastT
		}
	}
	lock.RUnlock()
	if !skipFull {
		cs.addFull(prior, full, from, mint, maxt)
	}
	if open.data != nil {
		cs.chunks = append(cs.chunks, open)
	}
	if len(ivs) > 0 {
		cs.chunks = slices.DeleteFunc(cs.chunks, func(c chunkSnap) bool {
			return tombstones.Interval{Mint: c.minT, Maxt: c.maxT}.IsSubrange(ivs)
		})
	}
	return full
}

// addFull adds the chunks of prior and then those of full that start after
// prior's last one, which overlap [mint, maxt]. Both lists are in time
// order, and full is prior less a truncated prefix plus chunks cut since.
// from is an iterator over prior (see take).
func (cs *chunkSnapshot) addFull(prior, full chunkList, from chunkListIter, mint, maxt int64) {
	if from.rest == "" {
		from = prior.iter()
	}
	// add reports false once c starts after maxt: the rest do too.
	add := func(c chunkMeta) bool {
		if c.minT > maxt {
			return false
		}
		if c.maxT >= mint {
			cs.chunks = append(cs.chunks, chunkSnap{ref: c.ref, minT: c.minT, maxT: c.maxT})
		}
		return true
	}
	if prior == full {
		for it := from; it.next(); {
			if !add(it.cur) {
				return
			}
		}
		return
	}
	last := int64(math.MinInt64)
	for it := from; it.next(); {
		if !add(it.cur) {
			return
		}
		last = it.cur.maxT
	}
	for it := full.iter(); it.next(); {
		if it.cur.minT > last && !add(it.cur) {
			return
		}
	}
}

// headSeries is one series of a Select result. It is kept small, as a
// Select makes one per series; what series share is in ctx. Nothing a
// series reads is written after Next returns it, so series may be read
// while the set moves on.
type headSeries struct {
	lset labels.Labels
	ms   *memSeries
	ctx  *seriesCtx
}

// seriesCtx is the set a series comes from and the full chunks it had at
// Next, when some may be in range: one seriesCtx serves every series
// without.
type seriesCtx struct {
	set  *headSeriesSet
	full chunkList
	// from, when set, is an iterator over full standing before its first
	// chunk in range at Next, so a read does not decode the list from
	// its start again. Only series whose first chunks are out of range
	// have one: it would more than double the struct.
	from *chunkListIter
}

func (s *headSeries) Labels() labels.Labels { return s.lset }

func (s *headSeries) Iterator(it storage.Iterator) storage.Iterator {
	hi, ok := it.(*headIterator)
	if !ok {
		hi = &headIterator{}
	}
	hi.reset(s)
	return hi
}

// deletions returns the series' deleted ranges.
func (s *headSeries) deletions() tombstones.Intervals {
	if s.ctx.set.stones == nil {
		return nil
	}
	return s.ctx.set.stones.Get(s.ms.ref)
}

var _ storage.LatestFloatSeries = (*headSeries)(nil)

// LatestFloat implements storage.LatestFloatSeries from the series' last
// sample, which the head keeps: it is the newest of the open chunk, and
// so of the head (full chunks end before the open one starts;
// out-of-order samples are read through another querier).
func (s *headSeries) LatestFloat(maxt int64) (int64, float64, bool) {
	ms, set := s.ms, s.ctx.set
	lock := set.h.series.refLock(ms.ref)
	lock.RLock()
	ok := ms.open == openXOR && ms.xor.NumSamples() > 0
	t, f := ms.lastT, ms.lastV
	lock.RUnlock()
	if !ok || t > maxt || t > set.maxt || t < set.mint {
		return 0, 0, false
	}
	if ivs := s.deletions(); len(ivs) > 0 && ivs.Contains(t) {
		return 0, 0, false
	}
	return t, f, true
}

// headIterator walks a series' chunks, limited to [mint, maxt] and
// skipping deleted samples. Float chunks are decoded in bulk into run, and
// Next then only moves an index (as blockIterator does).
//
// INVARIANT: cur is the iterator of snap.chunks[i-1] while one is open, and fb
// is cur when that is a float chunk being read into run. While rn > 0 the
// current sample is run.T[ri], run.V[ri] (ri < rn). typ is what the last
// Next or Seek returned.
type headIterator struct {
	reader     *headchunks.Reader
	snap       chunkSnapshot    // the chunks to read
	deleted    func(int64) bool // snap.ivs.Contains, nil without deletions
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

// reset starts the iteration of s from a snapshot of its chunks taken now.
func (it *headIterator) reset(s *headSeries) {
	set := s.ctx.set
	var from chunkListIter
	if s.ctx.from != nil {
		from = *s.ctx.from
	}
	it.snap.take(set.h, s.ms, set.mint, set.maxt, s.deletions(), s.ctx.full, from)
	it.reader, it.mint, it.maxt = set.chunks, set.mint, set.maxt
	it.deleted = nil
	if len(it.snap.ivs) > 0 {
		it.deleted = it.snap.ivs.Contains
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
	c := it.snap.chunks[it.i]
	if c.n > 0 {
		it.cur = chunkenc.OpenXORIteratorFrom(c.data, int(c.n), c.last, it.snap.openCk, it.reuse[0])
		it.reuse[0] = it.cur
	} else if c.data != nil {
		slot := reuseSlot(c.enc)
		cur, err := chunkenc.IteratorFromData(c.enc, c.data, it.reuse[slot])
		if err != nil {
			it.err = fmt.Errorf("tsdb: open head chunk: %w", err)
			return false
		}
		it.cur = cur
		it.reuse[slot] = cur
	} else {
		enc, data, err := it.reader.ChunkData(c.ref)
		if err == nil {
			slot := reuseSlot(enc)
			it.cur, err = chunkenc.IteratorFromData(enc, data, it.reuse[slot])
			it.reuse[slot] = it.cur
		}
		if err != nil {
			it.err = fmt.Errorf("tsdb: read head chunk %v: %w", c.ref, err)
			return false
		}
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
	if t < it.mint || (it.deleted != nil && it.deleted(t)) {
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
			if it.i >= len(it.snap.chunks) || !it.open() {
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
		for it.i < len(it.snap.chunks) && it.snap.chunks[it.i].maxT < t {
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
