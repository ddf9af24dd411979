package tsdb

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/vigil-monitoring/vigil/internal/model/labels"
	"github.com/vigil-monitoring/vigil/internal/storage"
	"github.com/vigil-monitoring/vigil/internal/tsdb/block"
)

// SetOutOfOrderTimeWindow changes the out-of-order window (milliseconds;
// 0 or less turns out-of-order ingestion off), as a configuration reload
// does. Samples already buffered stay and are persisted as usual.
func (db *DB) SetOutOfOrderTimeWindow(ms int64) {
	db.head.ooo.setWindow(ms)
}

// OutOfOrderTimeWindow returns the out-of-order window in milliseconds.
func (db *DB) OutOfOrderTimeWindow() int64 { return db.head.oooWindow() }

// oooQuerier reads the head's out-of-order buffers. Each Select copies
// the samples it returns while holding the series' lock, so later
// inserts and compactions do not disturb its result; it is registered in
// the head's readers all the same, so that a compaction keeps the frozen
// samples until it is closed (see DB.compactHeadOnce).
type oooQuerier struct {
	h          *Head
	id         uint64
	mint, maxt int64
	frozenOnly bool // only what a compaction is persisting
	closed     bool
}

// oooQuerier returns a querier over the out-of-order samples in
// [mint, maxt], nil when the head holds none.
func (h *Head) oooQuerier(mint, maxt int64, frozenOnly bool) storage.Querier {
	if h.ooo.samples.Load() == 0 {
		return nil
	}
	return &oooQuerier{h: h, id: h.readers.add(mint, maxt), mint: mint, maxt: maxt, frozenOnly: frozenOnly}
}

// querierWithOOO merges the head's in-order and out-of-order samples in
// [mint, maxt]; at a time held by both, the in-order sample wins.
func (h *Head) querierWithOOO(mint, maxt int64, frozenOnly bool) (storage.Querier, error) {
	q, err := h.Querier(mint, maxt)
	if err != nil {
		return nil, err
	}
	oq := h.oooQuerier(mint, maxt, frozenOnly)
	if oq == nil {
		return q, nil
	}
	return storage.NewMergeQuerier([]storage.Querier{q, oq}, nil, storage.ChainedSeriesMerge), nil
}

func (q *oooQuerier) Close() error {
	if !q.closed {
		q.closed = true
		q.h.readers.remove(q.id)
	}
	return nil
}

// oooSeries is a series' out-of-order samples as a Select found them.
type oooSeries struct {
	lset    labels.Labels
	samples []storage.Sample
}

// oooScanMax is how many series with out-of-order samples a Select
// checks against its matchers one by one; with more it resolves the
// matchers through the postings index, as the head querier does, and
// walks what matched when that is fewer.
const oooScanMax = 1024

// collect returns the series matching ms with samples in range, sorted
// by labels.
func (q *oooQuerier) collect(ctx context.Context, hints *storage.SelectHints, ms []*labels.Matcher) ([]oooSeries, error) {
	h := q.h
	stones := h.stones.Load()
	var lb labels.ScratchBuilder
	var out []oooSeries
	list := h.ooo.list()
	matched := false
	if len(list) > oooScanMax && len(ms) > 0 {
		if refs := h.postings.postingsForMatchers(ms); len(refs) < len(list) {
			list = list[:0]
			for _, ref := range refs {
				if s := h.series.getByRef(ref); s != nil {
					list = append(list, s)
				}
			}
			matched = true
		}
	}
	for i, s := range list {
		if i%128 == 127 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		if hints != nil && hints.ShardCount > 0 && s.hash%hints.ShardCount != hints.ShardIndex {
			continue
		}
		lock := h.series.refLock(s.ref)
		lock.RLock()
		buf := s.oooLocked()
		if s.deleted || buf == nil {
			lock.RUnlock()
			continue
		}
		samples := buf.all(!q.frozenOnly, q.frozenOnly, q.mint, q.maxt)
		var lset labels.Labels
		if len(samples) > 0 {
			// Decoded under the lock: the symbols of a series garbage
			// collection removes may be reused afterwards.
			lset = h.symbols.labels(s.lbls, &lb)
		}
		lock.RUnlock()
		if len(samples) == 0 || (!matched && !matchesAll(lset, ms)) {
			continue
		}
		if stones != nil {
			if ivs := stones.Get(s.ref); len(ivs) > 0 {
				samples = slices.DeleteFunc(samples, func(smp storage.Sample) bool { return ivs.Contains(smp.T) })
				if len(samples) == 0 {
					continue
				}
			}
		}
		out = append(out, oooSeries{lset: lset, samples: samples})
	}
	slices.SortFunc(out, func(a, b oooSeries) int { return labels.Compare(a.lset, b.lset) })
	return out, nil
}

func matchesAll(lset labels.Labels, ms []*labels.Matcher) bool {
	for _, m := range ms {
		if !m.Matches(lset.Get(m.Name)) {
			return false
		}
	}
	return true
}

func (q *oooQuerier) Select(ctx context.Context, _ bool, hints *storage.SelectHints, ms ...*labels.Matcher) storage.SeriesSet {
	found, err := q.collect(ctx, hints, ms)
	if err != nil {
		return storage.ErrSeriesSet(err)
	}
	if hints != nil && hints.Limit > 0 && len(found) > hints.Limit {
		found = found[:hints.Limit]
	}
	series := make([]storage.Series, len(found))
	for i, f := range found {
		series[i] = storage.NewListSeries(f.lset, f.samples)
	}
	return storage.NewListSeriesSet(series...)
}

func (q *oooQuerier) LabelValues(ctx context.Context, name string, hints *storage.LabelHints, ms ...*labels.Matcher) ([]string, storage.Warnings, error) {
	found, err := q.collect(ctx, nil, ms)
	if err != nil {
		return nil, nil, err
	}
	var vals []string
	for _, f := range found {
		if v := f.lset.Get(name); v != "" {
			vals = append(vals, v)
		}
	}
	slices.Sort(vals)
	return limitStrings(slices.Compact(vals), hints), nil, nil
}

func (q *oooQuerier) LabelNames(ctx context.Context, hints *storage.LabelHints, ms ...*labels.Matcher) ([]string, storage.Warnings, error) {
	found, err := q.collect(ctx, nil, ms)
	if err != nil {
		return nil, nil, err
	}
	var names []string
	for _, f := range found {
		f.lset.Range(func(l labels.Label) { names = append(names, l.Name) })
	}
	slices.Sort(names)
	return limitStrings(slices.Compact(names), hints), nil, nil
}

// oooMinTime returns the time of the oldest out-of-order sample in the
// head, MaxInt64 when there is none.
func (h *Head) oooMinTime() int64 {
	mint := int64(math.MaxInt64)
	if h.ooo.samples.Load() == 0 {
		return mint
	}
	for _, s := range h.ooo.list() {
		lock := h.series.refLock(s.ref)
		lock.RLock()
		omin, _ := s.oooRangeLocked()
		mint = min(mint, omin)
		lock.RUnlock()
	}
	return mint
}

// persistOldOOO writes the frozen out-of-order samples of each block
// range in starts below end as a block of that range: such blocks overlap
// blocks already on disk, and leveled compaction merges them. It returns
// the blocks written, already loaded.
func (db *DB) persistOldOOO(ctx context.Context, starts []int64, end int64) ([]*block.Block, error) {
	h := db.head
	var added []*block.Block
	for _, rs := range starts {
		if rs >= end {
			break
		}
		re := min(rangeEnd(rs, h.blockRange()), end)
		q := h.oooQuerier(rs, re-1, true)
		if q == nil {
			break
		}
		meta, err := db.compactor.Write(ctx, db.dir, q, rs, re, nil)
		q.Close()
		if errors.Is(err, block.ErrEmpty) {
			continue // deleted meanwhile
		}
		if err != nil {
			return added, fmt.Errorf("persist out-of-order samples of [%d, %d): %w", rs, re, err)
		}
		b, err := db.openWritten(meta)
		if err != nil {
			return added, err
		}
		db.swapBlocks(nil, b)
		added = append(added, b)
	}
	return added, nil
}
