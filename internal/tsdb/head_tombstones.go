package tsdb

import (
	"context"
	"fmt"

	"github.com/vigil-monitoring/vigil/internal/model/labels"
	"github.com/vigil-monitoring/vigil/internal/storage"
	"github.com/vigil-monitoring/vigil/internal/tsdb/record"
	"github.com/vigil-monitoring/vigil/internal/tsdb/tombstones"
)

// Delete marks the samples in [mint, maxt] of the series matching ms as
// deleted. Queries leave them out from then on, and so does the block the
// head's range is persisted into, which is how they leave the disk.
//
// Each interval is clamped to the series' samples at the time of the
// call, so a deletion up to "the end of time" never hides samples
// appended later. The deletions are written to the WAL as a tombstones
// record before they take effect, so they survive a restart; an error
// means none took effect.
func (h *Head) Delete(ctx context.Context, mint, maxt int64, ms ...*labels.Matcher) error {
	if mint > maxt {
		return nil
	}
	var stones []record.Stone
	for i, ref := range h.postings.postingsForMatchers(ms) {
		if i%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		s := h.series.getByRef(ref)
		if s == nil {
			continue
		}
		lock := h.series.refLock(s.ref)
		lock.RLock()
		omin, omax := s.oooRangeLocked()
		smin, smax := min(s.minTimeLocked(), omin), max(s.lastT, omax)
		lock.RUnlock()
		if smin > smax || smin > maxt || smax < mint {
			continue // no samples, or none in range
		}
		stones = append(stones, record.Stone{Ref: s.ref, Mint: max(mint, smin), Maxt: min(maxt, smax)})
	}
	if len(stones) == 0 {
		return nil
	}
	if h.wal != nil {
		// Series records precede: a series with committed samples had its
		// record written by the commit that made them durable.
		if err := h.wal.Log(record.EncodeTombstones(nil, stones)); err != nil {
			return fmt.Errorf("write tombstones to the WAL: %w", err)
		}
	}
	h.addStones(stones)
	return nil
}

// addStones records deletions in memory.
func (h *Head) addStones(stones []record.Stone) {
	h.stonesMu.Lock()
	defer h.stonesMu.Unlock()
	cur := h.stones.Load()
	for _, st := range stones {
		cur.Add(st.Ref, tombstones.Interval{Mint: st.Mint, Maxt: st.Maxt})
	}
}

// truncateStones drops the deletions of series that are gone and those
// entirely before mint, which no chunk of the head reaches any more.
// Queriers keep the set they started with.
func (h *Head) truncateStones(mint int64) {
	h.stonesMu.Lock()
	defer h.stonesMu.Unlock()
	cur := h.stones.Load()
	if cur.Len() == 0 {
		return
	}
	next := tombstones.New()
	cur.Range(func(ref storage.SeriesRef, ivs tombstones.Intervals) {
		if h.series.getByRef(ref) == nil {
			return
		}
		for _, iv := range ivs {
			if iv.Maxt >= mint {
				next.Add(ref, iv)
			}
		}
	})
	h.stones.Store(next)
}

// NumTombstones returns the number of deleted intervals the head holds.
func (h *Head) NumTombstones() int { return h.stones.Load().NumIntervals() }
