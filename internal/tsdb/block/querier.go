package block

import (
	"context"
	"fmt"
	"sync"

	"github.com/vigil-monitoring/vigil/internal/model/histogram"
	"github.com/vigil-monitoring/vigil/internal/model/labels"
	"github.com/vigil-monitoring/vigil/internal/storage"
	"github.com/vigil-monitoring/vigil/internal/tsdb/chunkenc"
	"github.com/vigil-monitoring/vigil/internal/tsdb/chunks"
	"github.com/vigil-monitoring/vigil/internal/tsdb/index"
	"github.com/vigil-monitoring/vigil/internal/tsdb/tombstones"
)

// Querier returns a querier over the block's samples in [mint, maxt]
// (inclusive, as storage.Queryable). It sees the tombstones of the moment
// it is created. The block stays open until the querier is closed.
func (b *Block) Querier(mint, maxt int64) (storage.Querier, error) {
	if err := b.startRead(); err != nil {
		return nil, err
	}
	m := b.Meta()
	// Clamp to the block: its MaxTime is exclusive.
	mint, maxt = max(mint, m.MinTime), min(maxt, m.MaxTime-1)
	return &blockQuerier{b: b, mint: mint, maxt: maxt, stones: b.stones.Load()}, nil
}

var _ storage.Queryable = (*Block)(nil)

type blockQuerier struct {
	b          *Block
	mint, maxt int64
	stones     *tombstones.Stones
	closed     bool
}

func (q *blockQuerier) Close() error {
	if !q.closed {
		q.closed = true
		q.b.readers.Done()
	}
	return nil
}

func (q *blockQuerier) empty() bool { return q.mint > q.maxt }

func (q *blockQuerier) Select(ctx context.Context, sortSeries bool, hints *storage.SelectHints, ms ...*labels.Matcher) storage.SeriesSet {
	if err := ctx.Err(); err != nil {
		return storage.ErrSeriesSet(err)
	}
	if q.empty() {
		return storage.EmptySeriesSet()
	}
	mint, maxt := q.mint, q.maxt
	set := &blockSeriesSet{
		ctx: ctx, b: q.b, p: q.b.index.PostingsForMatchers(ms...),
		stones: q.stones, mint: mint, maxt: maxt,
	}
	if hints != nil {
		set.limit = hints.Limit
		set.shardIndex, set.shardCount = hints.ShardIndex, hints.ShardCount
	}
	// Postings ascend by series reference, which follows label order:
	// the set is sorted whether or not the caller asked.
	return set
}

func limitStrings(s []string, hints *storage.LabelHints) []string {
	if hints != nil && hints.Limit > 0 && len(s) > hints.Limit {
		return s[:hints.Limit]
	}
	return s
}

func (q *blockQuerier) LabelValues(ctx context.Context, name string, hints *storage.LabelHints, ms ...*labels.Matcher) ([]string, storage.Warnings, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	if q.empty() {
		return nil, nil, nil
	}
	var vals []string
	var err error
	if len(ms) == 0 {
		vals, err = q.b.index.LabelValues(name)
	} else {
		vals, err = q.b.index.LabelValuesFor(q.b.index.PostingsForMatchers(ms...), name)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("block %s: %w", q.b.dir, err)
	}
	return limitStrings(vals, hints), nil, nil
}

func (q *blockQuerier) LabelNames(ctx context.Context, hints *storage.LabelHints, ms ...*labels.Matcher) ([]string, storage.Warnings, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	if q.empty() {
		return nil, nil, nil
	}
	var names []string
	var err error
	if len(ms) == 0 {
		names = q.b.index.LabelNames()
	} else {
		names, err = q.b.index.LabelNamesFor(q.b.index.PostingsForMatchers(ms...))
	}
	if err != nil {
		return nil, nil, fmt.Errorf("block %s: %w", q.b.dir, err)
	}
	return limitStrings(names, hints), nil, nil
}

// blockSeriesSet resolves postings to series lazily.
type blockSeriesSet struct {
	ctx                    context.Context
	b                      *Block
	p                      index.Postings
	stones                 *tombstones.Stones
	mint, maxt             int64
	limit                  int
	shardIndex, shardCount uint64

	sb       labels.ScratchBuilder
	chks     []chunks.Meta
	n        int
	returned int
	cur      *blockSeries
	err      error
	// syms speeds up label decoding once a Select has read a few series.
	syms *index.SymbolCache
	// Series and their chunk metas are carved from slabs: one allocation
	// for many series instead of two per series. Each series still owns
	// its part (callers may keep series past Next).
	seriesSlab []blockSeries
	metaSlab   []chunks.Meta
}

// symbolCacheAfter is the number of series a Select reads before it
// allocates a symbol cache: small selects do not pay for it.
const symbolCacheAfter = 16

// slabSeries is how many series one slab allocation holds.
const slabSeries = 64

func (s *blockSeriesSet) Next() bool {
	if s.err != nil || (s.limit > 0 && s.returned >= s.limit) {
		return false
	}
	for s.p.Next() {
		s.n++
		if s.n%256 == 0 {
			if err := s.ctx.Err(); err != nil {
				s.err = err
				return false
			}
		}
		ref := s.p.At()
		if s.syms == nil && s.n > symbolCacheAfter {
			s.syms = new(index.SymbolCache)
		}
		if err := s.b.index.SeriesCached(ref, s.syms, &s.sb, &s.chks); err != nil {
			s.err = fmt.Errorf("block %s: %w", s.b.dir, err)
			return false
		}
		ivs := s.stones.Get(ref)
		// Keep the chunks that overlap the range and are not wholly
		// deleted, in place.
		kept := s.chks[:0]
		for _, c := range s.chks {
			if !c.OverlapsClosed(s.mint, s.maxt) {
				continue
			}
			if len(ivs) > 0 && (tombstones.Interval{Mint: c.MinT, Maxt: c.MaxT}).IsSubrange(ivs) {
				continue
			}
			kept = append(kept, c)
		}
		if len(kept) == 0 {
			continue
		}
		lset := s.sb.Labels()
		if s.shardCount > 0 && lset.Hash()%s.shardCount != s.shardIndex {
			continue
		}
		// A fresh series per Next, with its own metas: callers that keep
		// series past Next (compaction merging, engines collecting a
		// selector) still see their own.
		s.cur = s.newSeries()
		*s.cur = blockSeries{lset: lset, chks: s.ownMetas(kept), ivs: ivs, mint: s.mint, maxt: s.maxt, cr: s.b.chunks}
		s.returned++
		return true
	}
	if err := s.p.Err(); err != nil {
		s.err = fmt.Errorf("block %s: %w", s.b.dir, err)
	}
	return false
}

// newSeries returns a zero series carved from the slab.
func (s *blockSeriesSet) newSeries() *blockSeries {
	if len(s.seriesSlab) == 0 {
		// The first slab is small, for selects of a few series.
		s.seriesSlab = make([]blockSeries, min(slabSeries, 4<<min(s.returned/4, 4)))
	}
	bs := &s.seriesSlab[0]
	s.seriesSlab = s.seriesSlab[1:]
	return bs
}

// ownMetas copies m to the meta slab, capped so no append reaches the
// next series' metas.
func (s *blockSeriesSet) ownMetas(m []chunks.Meta) []chunks.Meta {
	if len(s.metaSlab) < len(m) {
		s.metaSlab = make([]chunks.Meta, max(len(m), min(slabSeries*4, 16<<min(s.returned/4, 4))))
	}
	out := s.metaSlab[:len(m):len(m)]
	copy(out, m)
	s.metaSlab = s.metaSlab[len(m):]
	return out
}

func (s *blockSeriesSet) At() storage.Series         { return s.cur }
func (s *blockSeriesSet) Err() error                 { return s.err }
func (s *blockSeriesSet) Warnings() storage.Warnings { return nil }

// blockSeries is one series of a Select: its chunk metas, loaded lazily.
type blockSeries struct {
	lset       labels.Labels
	chks       []chunks.Meta
	ivs        tombstones.Intervals
	mint, maxt int64
	cr         *chunks.Reader
}

func (s *blockSeries) Labels() labels.Labels { return s.lset }

func (s *blockSeries) Iterator(it storage.Iterator) storage.Iterator {
	bi, ok := it.(*blockIterator)
	if !ok {
		bi = &blockIterator{}
	}
	bi.reset(s)
	return bi
}

// blockIterator walks the chunks of a series, limited to [mint, maxt] and
// skipping deleted samples. Float chunks are decoded in bulk into run, and
// Next then only moves an index: the per-sample cost of a Select is the
// decoder's, not a chain of dynamic calls.
//
// INVARIANT: cur is the iterator of chks[i-1] while one is open, and fb
// is cur when that is a float chunk being read into run. While rn > 0 the
// current sample is run.T[ri], run.V[ri] (ri < rn). typ is what the last
// Next or Seek returned, ValNone once done.
type blockIterator struct {
	chks       []chunks.Meta
	ivs        tombstones.Intervals
	deleted    func(int64) bool // ivs.Contains, nil without deletions
	mint, maxt int64
	cr         *chunks.Reader
	i          int
	cur        storage.Iterator
	fb         chunkenc.FloatBatchIterator
	curMaxT    int64
	run        *chunkenc.FloatRun // from floatRuns with the first float chunk, back on finish
	ri, rn     int
	typ        storage.ValueType
	done       bool
	err        error
	// reuse holds one chunk iterator per encoding kind.
	reuse [4]storage.Iterator
}

func (it *blockIterator) reset(s *blockSeries) {
	it.chks, it.ivs, it.mint, it.maxt, it.cr = s.chks, s.ivs, s.mint, s.maxt, s.cr
	it.deleted = nil
	if len(s.ivs) > 0 {
		it.deleted = s.ivs.Contains
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
	case chunks.EncColdFloat:
		return 3
	}
	return 0
}

func (it *blockIterator) reuseFor(e chunkenc.Encoding) storage.Iterator {
	return it.reuse[reuseSlot(e)]
}

// open loads chks[i] and starts its iterator.
func (it *blockIterator) open() bool {
	m := it.chks[it.i]
	it.i++
	enc, cur, err := it.cr.Iterator(m.Ref, it.reuseFor)
	if err != nil {
		it.err = err
		return false
	}
	it.cur = cur
	it.reuse[reuseSlot(enc)] = cur
	it.curMaxT = m.MaxT
	if fb, ok := it.cur.(chunkenc.FloatBatchIterator); ok {
		it.fb = fb
		if it.run == nil {
			it.run = floatRuns.Get().(*chunkenc.FloatRun)
		}
		it.run.Past = false
	}
	return true
}

// floatRuns recycles the runs of finished iterators: most iterators are
// dropped once done, and a run each would be most of what a small query
// allocates.
var floatRuns = sync.Pool{New: func() any { return new(chunkenc.FloatRun) }}

func (it *blockIterator) finish() storage.ValueType {
	it.done, it.cur, it.fb, it.typ = true, nil, nil, storage.ValNone
	it.ri, it.rn = 0, 0
	if it.run != nil {
		floatRuns.Put(it.run) // nothing reads it once done
		it.run = nil
	}
	return storage.ValNone
}

// chunkErr reports a failure of the open chunk's iterator.
func (it *blockIterator) chunkErr(err error) storage.ValueType {
	it.err = fmt.Errorf("chunk %s: %w", it.chks[it.i-1].Ref, err)
	return it.finish()
}

// fill decodes the next samples of the float chunk fb into run. On false
// the chunk is done (fb and cur are nil) or so is the iteration.
func (it *blockIterator) fill() bool {
	it.ri, it.rn = 0, 0
	if lo, hi, ok := it.run.Fill(it.fb, it.mint, it.maxt, it.deleted); ok {
		it.ri, it.rn, it.typ = lo, hi, storage.ValFloat
		return true
	}
	if err := it.fb.Err(); err != nil {
		it.chunkErr(err)
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

// settle checks the sample the chunk iterator stands on: it reports false
// when iteration must go on (chunk exhausted, before mint, deleted).
func (it *blockIterator) settle(typ storage.ValueType) (storage.ValueType, bool) {
	if typ == storage.ValNone {
		if err := it.cur.Err(); err != nil {
			return it.chunkErr(err), true
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

func (it *blockIterator) Next() storage.ValueType {
	if it.ri+1 < it.rn {
		it.ri++
		return storage.ValFloat
	}
	return it.next()
}

// next is Next past the end of the decoded run.
func (it *blockIterator) next() storage.ValueType {
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
			if it.i >= len(it.chks) || !it.open() {
				return it.finish()
			}
			continue
		}
		if typ, ok := it.settle(it.cur.Next()); ok {
			return typ
		}
	}
}

func (it *blockIterator) Seek(t int64) storage.ValueType {
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
		for it.i < len(it.chks) && it.chks[it.i].MaxT < t {
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

func (it *blockIterator) At() (int64, float64) {
	if it.rn > 0 {
		i := it.ri & (chunkenc.FloatRunLen - 1) // ri < rn <= FloatRunLen; no bounds check
		return it.run.T[i], it.run.V[i]
	}
	return it.cur.At()
}

func (it *blockIterator) AtT() int64 {
	if it.rn > 0 {
		return it.run.T[it.ri&(chunkenc.FloatRunLen-1)]
	}
	return it.cur.AtT()
}

func (it *blockIterator) Err() error { return it.err }

var _ storage.FloatRunIterator = (*blockIterator)(nil)

// FloatRun implements storage.FloatRunIterator.
func (it *blockIterator) FloatRun() ([]int64, []float64) {
	if it.rn == 0 {
		return nil, nil
	}
	return it.run.T[it.ri:it.rn], it.run.V[it.ri:it.rn]
}

// SkipFloats implements storage.FloatRunIterator.
func (it *blockIterator) SkipFloats(n int) {
	if it.ri+n >= it.rn {
		panic("block: SkipFloats past the decoded run")
	}
	it.ri += n
}

func (it *blockIterator) AtHistogram(h *histogram.Histogram) (int64, *histogram.Histogram) {
	return it.cur.AtHistogram(h)
}

func (it *blockIterator) AtFloatHistogram(fh *histogram.FloatHistogram) (int64, *histogram.FloatHistogram) {
	return it.cur.AtFloatHistogram(fh)
}
