package tsdb

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"time"

	"github.com/vigil-monitoring/vigil/internal/tsdb/block"
	"github.com/vigil-monitoring/vigil/internal/tsdb/compact"
)

// compactInterval is how often the background loop looks for work when
// no commit signalled it.
const compactInterval = time.Minute

// run is the background loop: it compacts and applies retention every
// minute and whenever a commit leaves the head compactable, until Close.
// After a failure it waits for the next tick, so a full disk does not
// turn every commit into a failing compaction.
func (db *DB) run(ctx context.Context) {
	defer close(db.donec)
	t := time.NewTicker(compactInterval)
	defer t.Stop()
	var backoffUntil time.Time
	for {
		select {
		case <-db.stopc:
			return
		case <-t.C:
		case <-db.compactc:
			if time.Now().Before(backoffUntil) {
				continue
			}
		}
		db.metrics.compactionsTriggered.Inc()
		if err := db.Compact(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			db.opts.Logger.Error("compaction failed", "err", err)
			backoffUntil = time.Now().Add(compactInterval)
		}
	}
}

// Compact does what is due, one compaction at a time: it persists the
// head's oldest block range while the head spans more than 1.5 block
// ranges (head compaction), then merges blocks as the planner decides
// (leveled compaction), then applies retention. Retention runs even when
// a compaction failed: on a full disk it is what frees space.
func (db *DB) Compact(ctx context.Context) error {
	db.cmtx.Lock()
	defer db.cmtx.Unlock()
	if db.closed {
		return errClosed
	}
	err := db.compactHeadLocked(ctx)
	if err == nil {
		err = db.compactBlocksLocked(ctx)
	}
	return errors.Join(err, db.applyRetentionLocked())
}

// stage tells the test hook, if any, where a compaction is: crash tests
// use it to aim crashes at block writes and head truncations.
func (db *DB) stage(s string) {
	if db.hook != nil {
		db.hook(s)
	}
}

// compactHeadLocked persists block ranges of the head while it is
// compactable. The caller holds cmtx.
func (db *DB) compactHeadLocked(ctx context.Context) error {
	for db.head.compactable() {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := db.compactHeadOnce(ctx); err != nil {
			return err
		}
	}
	return nil
}

// compactHeadOnce persists the head's oldest block range, [mint, maxt)
// with maxt aligned to the block range, as a level-1 block, adds the
// block, and truncates the head to maxt. Out-of-order samples older than
// maxt go with it: those of the range into its block (whose start then
// goes down to the range's start at most), older ones into blocks of
// their own ranges (see persistOldOOO).
//
// Nothing acknowledged is lost and nothing is loaded twice:
//   - Commits of samples older than maxt fail from the moment the range is
//     chosen (Head.compactBound), so the block holds every acknowledged
//     sample of its range. Out-of-order samples are the exception: they
//     are taken while in the window, but those the compaction persists are
//     frozen first (Head.freezeOOO), and only frozen ones are dropped.
//   - Queriers opened before the block was added cannot see it; the
//     truncation waits until they are closed, since they read the head
//     lazily and would miss the truncated data.
//   - A crash after the block is complete and before the head (and its
//     WAL) are truncated leaves both copies on disk; Open sets the head's
//     minimum valid time to the newest block's end before replay, so the
//     WAL's copy is skipped. Out-of-order samples are replayed again
//     (Head.relogOOO had not superseded their records yet) and persisted
//     again later; leveled compaction merges the copies.
func (db *DB) compactHeadOnce(ctx context.Context) error {
	h := db.head
	mint := max(h.MinTime(), h.minValidTime.Load())
	maxt := rangeEnd(mint, h.blockRange())
	db.stage("head-start")
	if h.compactBound.Load() < maxt {
		h.compactBound.Store(maxt)
	}
	start := time.Now()
	rs := rangeStart(mint, h.blockRange())
	oooStarts := h.freezeOOO(maxt, h.blockRange())
	bmint := mint
	if len(oooStarts) > 0 && oooStarts[len(oooStarts)-1] == rs {
		bmint = min(mint, max(rs, h.oooMinTime()))
	}
	q, err := h.querierWithOOO(bmint, maxt-1, true)
	if err != nil {
		return err
	}
	meta, err := db.compactor.Write(ctx, db.dir, q, bmint, maxt, nil)
	q.Close()
	empty := errors.Is(err, block.ErrEmpty)
	db.metrics.observeCompaction(start, err == nil || empty)
	switch {
	case empty:
		// Nothing in range (gaps, or everything deleted): the head only
		// needs truncating.
	case err != nil:
		return fmt.Errorf("persist head range [%d, %d): %w", bmint, maxt, err)
	default:
		b, err := db.openWritten(meta)
		if err != nil {
			return err
		}
		db.swapBlocks(nil, b)
	}
	if _, err := db.persistOldOOO(ctx, oooStarts, rs); err != nil {
		return err
	}
	// Every querier from here on sees the new blocks.
	before := h.readers.nextID()
	db.stage("head-written")
	lowest := bmint
	if len(oooStarts) > 0 {
		lowest = min(lowest, oooStarts[0])
	}
	if err := db.waitHeadReaders(before, lowest, maxt-1); err != nil {
		return err
	}
	if len(oooStarts) > 0 {
		h.dropFrozenOOO()
		// Supersedes the WAL records of the out-of-order samples just
		// persisted, so a restart does not buffer them again.
		if err := h.relogOOO(); err != nil {
			return fmt.Errorf("head compaction: %w", err)
		}
	}
	if err := h.Truncate(maxt); err != nil {
		return fmt.Errorf("truncate head to %d: %w", maxt, err)
	}
	db.stage("head-truncated")
	return nil
}

// openWritten opens a block a compaction just wrote to db.dir. A block
// that does not open is removed: it was never visible, and its data is
// still in its sources.
func (db *DB) openWritten(meta *block.Meta) (*block.Block, error) {
	dir := filepath.Join(db.dir, meta.ULID.String())
	b, err := block.Open(db.opts.FS, dir)
	if err != nil {
		db.metrics.reloadsFailed.Inc()
		if rerr := block.Remove(db.opts.FS, dir); rerr != nil {
			db.opts.Logger.Error("removing a block that failed to open", "dir", dir, "err", rerr)
		}
		return nil, fmt.Errorf("open new block %s: %w", dir, err)
	}
	return b, nil
}

// swapBlocks replaces the blocks in remove (directories) with add (when
// not nil) in the list queriers read, then closes the removed blocks,
// which waits for their queriers, and deletes their directories. It
// returns the id of the first head querier opened after the change (see
// headReaders): queriers below it may not see add. The caller holds cmtx.
func (db *DB) swapBlocks(remove []string, add *block.Block) (nextReader uint64) {
	db.mu.Lock()
	var kept, gone []*block.Block
	for _, b := range db.mu.blocks {
		if slices.Contains(remove, b.Dir()) {
			gone = append(gone, b)
		} else {
			kept = append(kept, b)
		}
	}
	if add != nil {
		kept = append(kept, add)
		slices.SortFunc(kept, func(a, b *block.Block) int {
			am, bm := a.Meta(), b.Meta()
			if am.MinTime != bm.MinTime {
				if am.MinTime < bm.MinTime {
					return -1
				}
				return 1
			}
			return am.ULID.Compare(bm.ULID)
		})
	}
	db.mu.blocks = kept
	// Taken under the write lock: DB.Querier makes its head querier under
	// the read lock, so every querier below this id predates add.
	nextReader = db.head.readers.nextID()
	db.mu.Unlock()
	db.metrics.reloads.Inc()
	for _, b := range gone {
		if err := b.Close(); err != nil {
			db.opts.Logger.Warn("closing a replaced block", "dir", b.Dir(), "err", err)
		}
		if err := block.Remove(db.opts.FS, b.Dir()); err != nil {
			// A leftover is harmless: it is superseded or expired, and the
			// next Open removes a superseded one.
			db.opts.Logger.Error("removing a block failed", "dir", b.Dir(), "err", err)
		}
	}
	return nextReader
}

// waitHeadReaders waits until no head querier with an id below before
// reads part of [mint, maxt]. It gives up only when the DB is closing.
func (db *DB) waitHeadReaders(before uint64, mint, maxt int64) error {
	start := time.Now()
	warned := start
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for db.head.readers.busy(before, mint, maxt) {
		select {
		case <-db.stopc:
			return fmt.Errorf("head truncation: %w", errClosed)
		case <-tick.C:
		}
		if time.Since(warned) > 30*time.Second {
			warned = time.Now()
			db.opts.Logger.Warn("head truncation waits for queriers opened before the new block", "waited", time.Since(start).Round(time.Second))
		}
	}
	return nil
}

// compactBlocksLocked runs leveled compaction until the planner finds
// nothing to do. The caller holds cmtx.
func (db *DB) compactBlocksLocked(ctx context.Context) error {
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		blocks := db.blocks()
		metas := make([]compact.DirMeta, len(blocks))
		for i, b := range blocks {
			m := b.Meta()
			m.Compaction.Failed = m.Compaction.Failed || db.failed[m.ULID]
			metas[i] = compact.DirMeta{Dir: b.Dir(), Meta: m}
		}
		plan := compact.PlanMetas(metas, db.compactor.Ranges())
		if len(plan) == 0 {
			return nil
		}
		db.stage("blocks-start")
		start := time.Now()
		meta, err := db.compactor.Compact(ctx, db.dir, plan, blocks)
		empty := errors.Is(err, block.ErrEmpty)
		db.metrics.observeCompaction(start, err == nil || empty)
		if err != nil && !empty {
			db.noteFailed(plan)
			return fmt.Errorf("compact %d blocks: %w", len(plan), err)
		}
		var nb *block.Block
		if !empty {
			if nb, err = db.openWritten(meta); err != nil {
				return err
			}
		}
		// A crash from here on leaves parents next to their child; Open
		// removes them (block.Superseded).
		db.swapBlocks(plan, nb)
		db.stage("blocks-compacted")
	}
}

// noteFailed re-reads the metas of blocks a failed compaction used: the
// compactor marks corrupt ones failed on disk, and they must not be
// planned again.
func (db *DB) noteFailed(dirs []string) {
	for _, d := range dirs {
		m, _, err := block.ReadMeta(db.opts.FS, d)
		if err == nil && m.Compaction.Failed {
			db.failed[m.ULID] = true
		}
	}
}
