package tsdb

import (
	"fmt"
	"time"

	"github.com/vigil-monitoring/vigil/internal/storage"
	"github.com/vigil-monitoring/vigil/internal/tsdb/headchunks"
	"github.com/vigil-monitoring/vigil/internal/tsdb/wal"
)

// Truncate drops everything older than mint: chunks that end before it,
// series left without chunks (unless an appender holds samples for them),
// and the WAL segments whose still-needed records a new checkpoint takes
// over. Appends older than mint fail with storage.ErrOutOfBounds from then
// on (or go out of order, see Options.OutOfOrderTimeWindow), and the
// head's MinTime becomes its oldest remaining sample. Out-of-order
// samples are left alone: head compaction persists and drops them, and
// the checkpoint keeps what replay would buffer of them, so nothing needs
// writing again afterwards (a crash before that write would lose them).
//
// The DB truncates the head to the end of each block it persists from it
// (see DB.Compact). Data truncated otherwise is not lost for good, as
// in Prometheus: the checkpoint drops it, but the newest WAL segments,
// which are not checkpointed, may still hold some of it, and the next
// Open replays them (its lower bound comes from the blocks only), so
// that part is back in the head after a restart.
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
	h.truncateStones(min(mint, h.oooMinTime())) // out-of-order samples stay
	h.metrics.gcDuration.Observe(time.Since(start).Seconds())
	h.fitMinTime(mint)
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

// gc removes chunks ending before mint and series left empty, then the
// head chunk files no series references any more. It holds one stripe
// lock at a time.
func (h *Head) gc(mint int64) (seriesRemoved, chunksRemoved int) {
	// Chunks written while gc runs go to this file or later ones, so
	// files before it that no series references are free, whatever
	// happens meanwhile.
	firstSeq := h.chunks.CurrentSeq()
	deleted := map[storage.SeriesRef]seriesLabels{}
	var deletedSeries, empty []*memSeries
	h.series.walk(true, func(run []*memSeries) {
		empty = empty[:0]
		for _, s := range run {
			chunksRemoved += s.truncateChunksLocked(h, mint)
			if c, ok := s.full.first(); ok && !c.ref.InMemory() {
				firstSeq = min(firstSeq, c.ref.Seq())
			}
			if s.open == openNone && s.full == "" && s.pending == 0 && !s.hasOOOLocked() {
				empty = append(empty, s)
			}
		}
		if len(empty) == 0 {
			return
		}
		h.series.deleteByRef(empty)
		for _, s := range empty {
			s.deleted = true
			deleted[s.ref] = s.lbls
		}
		deletedSeries = append(deletedSeries, empty...)
	})
	for _, s := range deletedSeries {
		h.series.deleteByHash(s)
	}
	h.postings.remove(deleted, h.symbols)
	// The symbols of deleted series may be reused once the queriers that
	// might still decode those series' labels are closed.
	var dead []uint32
	for _, lbls := range deleted {
		dead = append(dead, h.symbols.release(lbls)...)
	}
	if len(dead) > 0 {
		h.chunks.Defer(func() { h.symbols.freeIDs(dead) })
	}
	h.numSeries.Add(-int64(len(deleted)))
	h.metrics.seriesRemoved.Add(float64(len(deleted)))
	h.metrics.chunksRemoved.Add(float64(chunksRemoved))
	h.metrics.chunks.Sub(float64(chunksRemoved))
	h.numChunks.Add(-int64(chunksRemoved))
	if n, err := h.chunks.Truncate(firstSeq); err != nil {
		h.opts.Logger.Error("deleting head chunk files failed", "err", err)
	} else if n > 0 {
		h.opts.Logger.Info("deleted head chunk files", "files", n, "first_kept", firstSeq)
	}
	return len(deleted), chunksRemoved
}

// truncateChunksLocked drops the chunks that end before mint, releasing
// them in the head chunk store, moves overflow chunks to a file when the
// disk takes them again, and returns how many chunks it dropped.
func (s *memSeries) truncateChunksLocked(h *Head, mint int64) int {
	removed := 0
	if s.full != "" {
		if c, _ := s.full.first(); c.maxT < mint || s.spilled {
			var dropped []chunkMeta
			migrating := s.spilled
			s.spilled = false
			s.full, dropped = s.full.rebuild(func(c chunkMeta) bool { return c.maxT >= mint },
				func(c chunkMeta) headchunks.Ref {
					if !c.ref.InMemory() {
						return c.ref
					}
					// Oldest first, and stop at the first failure: the
					// prefix rule (see memSeries.spilled).
					if migrating {
						if nr, ok := h.chunks.Migrate(c.ref); ok {
							return nr
						}
						migrating = false
					}
					s.spilled = true
					return c.ref
				})
			for _, c := range dropped {
				h.chunks.Release(c.ref)
			}
			removed += len(dropped)
		}
	}
	if s.open != openNone && s.full == "" && s.lastT < mint {
		s.dropOpenLocked()
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
	_, cpIdx, err := wal.LastCheckpoint(h.opts.FS, dir)
	if err != nil {
		return err
	}
	current := h.wal.LastSegment()
	// Close the segment being written, as Prometheus does: at a low
	// ingestion rate it would otherwise hold the head of many truncations,
	// and a segment being written is never checkpointed or deleted. This
	// truncation still leaves it out (it holds the newest samples); the
	// next one can take it.
	if _, err := h.wal.NextSegment(); err != nil {
		return fmt.Errorf("start a new WAL segment before the checkpoint: %w", err)
	}
	if len(segs) == 0 || segs[0] >= current {
		return nil
	}
	// Segments the last checkpoint covers may outlive it (their deletion
	// failed or a crash cut it short): the checkpoint stands for them,
	// so the new one starts after it and they go with the rest.
	first := max(segs[0], cpIdx+1)
	last := first + (current-first)*2/3
	if last >= current {
		last = current - 1
	}
	if last < first {
		if segs[0] <= cpIdx {
			if err := h.wal.Truncate(cpIdx + 1); err != nil {
				h.opts.Logger.Error("deleting WAL segments a checkpoint covers failed", "err", err)
			}
		}
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
		"series_kept", stats.Series, "samples_kept", stats.Samples, "samples_dropped", stats.DroppedSamples,
		"ooo_samples_kept", stats.OOOSamples)
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
