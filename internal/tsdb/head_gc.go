package tsdb

import (
	"fmt"
	"slices"
	"time"

	"github.com/vigil-monitoring/vigil/internal/model/labels"
	"github.com/vigil-monitoring/vigil/internal/storage"
	"github.com/vigil-monitoring/vigil/internal/tsdb/wal"
)

// Truncate drops everything older than mint: chunks that end before it,
// series left without chunks (unless an appender holds samples for them),
// and the WAL segments whose still-needed records a new checkpoint takes
// over. Appends older than mint fail with storage.ErrOutOfBounds from then
// on. Once blocks exist, the DB truncates the head after persisting a
// block; until then Truncate is the head's retention.
func (h *Head) Truncate(mint int64) error {
	h.truncateMu.Lock()
	defer h.truncateMu.Unlock()
	if mint <= h.minValidTime.Load() {
		return nil
	}
	h.metrics.truncations.Inc()
	h.minValidTime.Store(mint)
	start := time.Now()
	removedSeries, removedChunks := h.gc(mint)
	h.metrics.gcDuration.Observe(time.Since(start).Seconds())
	h.raiseMinTime(mint)
	h.opts.Logger.Info("head GC completed", "mint", mint, "duration", time.Since(start),
		"series_removed", removedSeries, "chunks_removed", removedChunks)
	if h.wal == nil {
		return nil
	}
	if err := h.truncateWAL(mint); err != nil {
		h.metrics.truncationsFail.Inc()
		return fmt.Errorf("truncate WAL: %w", err)
	}
	return nil
}

// raiseMinTime moves the head's lower bound up to mint.
func (h *Head) raiseMinTime(mint int64) {
	for {
		cur := h.minTime.Load()
		if cur >= mint || h.minTime.CompareAndSwap(cur, mint) {
			return
		}
	}
}

// gc removes chunks ending before mint and series left empty. It holds one
// stripe lock at a time.
func (h *Head) gc(mint int64) (seriesRemoved, chunksRemoved int) {
	deleted := map[storage.SeriesRef]labels.Labels{}
	var deletedSeries []*memSeries
	for i := range h.series.locks {
		lock := &h.series.locks[i]
		lock.Lock()
		for ref, s := range h.series.byRef[i] {
			chunksRemoved += s.truncateChunksLocked(mint)
			if s.open.app != nil || len(s.full) > 0 || s.pending > 0 {
				continue
			}
			s.deleted = true
			delete(h.series.byRef[i], ref)
			deleted[ref] = s.lset
			deletedSeries = append(deletedSeries, s)
		}
		lock.Unlock()
	}
	for _, s := range deletedSeries {
		h.series.deleteByHash(s.lset.Hash(), s)
	}
	h.postings.remove(deleted)
	h.numSeries.Add(-int64(len(deleted)))
	h.metrics.seriesRemoved.Add(float64(len(deleted)))
	h.metrics.chunksRemoved.Add(float64(chunksRemoved))
	h.metrics.chunks.Sub(float64(chunksRemoved))
	h.numChunks.Add(-int64(chunksRemoved))
	return len(deleted), chunksRemoved
}

// truncateChunksLocked drops the chunks that end before mint and returns
// how many.
func (s *memSeries) truncateChunksLocked(mint int64) int {
	k := 0
	for k < len(s.full) && s.full[k].maxT < mint {
		k++
	}
	removed := k
	if k > 0 {
		// A fresh slice (see the invariant on full): readers may still hold
		// the old one, and the dropped chunks must become collectable.
		s.full = slices.Clone(s.full[k:])
		if len(s.full) == 0 {
			s.full = nil
		}
	}
	if s.open.app != nil && len(s.full) == 0 && s.open.maxT < mint {
		s.open = openChunk{}
		removed++
	}
	return removed
}

// truncateWAL checkpoints the older two thirds of the closed segments
// (the newest third holds mostly samples the head still needs, which a
// checkpoint would only copy) and deletes them.
func (h *Head) truncateWAL(mint int64) error {
	dir := h.wal.Dir()
	segs, err := wal.Segments(h.opts.FS, dir)
	if err != nil {
		return err
	}
	current := h.wal.LastSegment()
	if len(segs) == 0 || segs[0] >= current {
		return nil
	}
	first := segs[0]
	last := first + (current-first)*2/3
	if last >= current {
		last = current - 1
	}
	if last < first {
		return nil
	}
	h.metrics.checkpoints.Inc()
	keep := func(ref storage.SeriesRef) bool { return h.series.getByRef(ref) != nil }
	start := time.Now()
	stats, err := wal.Checkpoint(h.opts.FS, dir, first, last, keep, mint,
		wal.CheckpointOptions{Compression: h.opts.WALCompression, Logger: h.opts.Logger})
	if err != nil {
		h.metrics.checkpointsFail.Inc()
		return fmt.Errorf("checkpoint segments %d-%d: %w", first, last, err)
	}
	if err := h.wal.Truncate(last + 1); err != nil {
		// The checkpoint is complete; the old segments are merely still
		// there, and replay reads past them. Try again next time.
		h.opts.Logger.Error("deleting WAL segments after checkpoint failed", "err", err)
	}
	h.metrics.checkpointDelete.Inc()
	if err := wal.DeleteCheckpoints(h.opts.FS, dir, last); err != nil {
		h.opts.Logger.Error("deleting old WAL checkpoints failed", "err", err)
	}
	h.opts.Logger.Info("WAL checkpoint complete", "first", first, "last", last, "duration", time.Since(start),
		"series_kept", stats.Series, "samples_kept", stats.Samples, "samples_dropped", stats.DroppedSamples)
	return nil
}

// MinTime returns the time of the oldest sample in the head, MaxInt64 when
// it is empty.
func (h *Head) MinTime() int64 { return h.minTime.Load() }

// MaxTime returns the time of the newest sample in the head, MinInt64 when
// it is empty.
func (h *Head) MaxTime() int64 { return h.maxTime.Load() }

// NumSeries returns the number of series in the head.
func (h *Head) NumSeries() int { return int(h.numSeries.Load()) }
