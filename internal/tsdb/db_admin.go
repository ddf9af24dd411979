package tsdb

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/vigil-monitoring/vigil/internal/model/labels"
	"github.com/vigil-monitoring/vigil/internal/tsdb/block"
)

// Snapshot writes a consistent copy of the database into dir (created if
// needed): every block, as hard links when the data directory is on the
// operating system's file system (blocks are immutable; tombstones and
// meta.json are replaced by rename, never rewritten, so a link never sees
// a later change) and as copies otherwise; with withHead, the head's data
// too, persisted as one more block. dir then opens as a data directory.
// No compaction, retention or deletion runs meanwhile.
func (db *DB) Snapshot(dir string, withHead bool) error {
	if filepath.Clean(dir) == filepath.Clean(db.dir) {
		return errors.New("tsdb: cannot snapshot into the data directory itself")
	}
	db.cmtx.Lock()
	defer db.cmtx.Unlock()
	if db.closed {
		return errClosed
	}
	if err := db.opts.FS.MkdirAll(dir, 0o777); err != nil {
		return fmt.Errorf("tsdb: snapshot: %w", err)
	}
	for _, b := range db.blocks() {
		if err := db.linkTree(b.Dir(), filepath.Join(dir, filepath.Base(b.Dir()))); err != nil {
			return fmt.Errorf("tsdb: snapshot block %s: %w", b.Dir(), err)
		}
	}
	if err := db.opts.FS.SyncDir(dir); err != nil {
		return fmt.Errorf("tsdb: snapshot: %w", err)
	}
	if !withHead {
		return nil
	}
	h := db.head
	// Out-of-order samples may lie below the in-order bounds.
	mint, maxt := min(max(h.MinTime(), h.minValidTime.Load()), h.oooMinTime()), h.MaxTime()
	if mint > maxt {
		return nil // an empty head
	}
	q, err := h.querierWithOOO(mint, maxt, false)
	if err != nil {
		return err
	}
	defer q.Close()
	// Block ends are exclusive.
	if _, err := db.compactor.Write(context.Background(), dir, q, mint, maxt+1, nil); err != nil && !errors.Is(err, block.ErrEmpty) {
		return fmt.Errorf("tsdb: snapshot the head: %w", err)
	}
	return nil
}

// linkTree recreates the directory tree src as dst, linking (or copying)
// every file, and syncs the directories it creates.
func (db *DB) linkTree(src, dst string) error {
	fsys := db.opts.FS
	if err := fsys.MkdirAll(dst, 0o777); err != nil {
		return err
	}
	ents, err := fsys.ReadDir(src)
	if err != nil {
		return err
	}
	for _, e := range ents {
		from, to := filepath.Join(src, e.Name()), filepath.Join(dst, e.Name())
		if e.IsDir() {
			err = db.linkTree(from, to)
		} else {
			err = db.linkFile(from, to)
		}
		if err != nil {
			return err
		}
	}
	return fsys.SyncDir(dst)
}

// linkFile makes to a hard link of from when the file system is the
// operating system's (vfs has no links, so only then is os.Link the same
// file system), and a synced copy otherwise or when linking fails (a
// snapshot directory on another device).
func (db *DB) linkFile(from, to string) error {
	if db.opts.osFS && os.Link(from, to) == nil {
		return nil
	}
	fsys := db.opts.FS
	in, err := fsys.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := fsys.Create(to)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// Delete marks the samples in [mint, maxt] of the series matching ms as
// deleted, in every block overlapping the range (tombstones files, see
// block.Block.Delete) and in the head (see Head.Delete). Queries stop
// returning them at once. CleanTombstones removes them from blocks; the
// head's are dropped when its range is persisted. An error may leave the
// deletion done in some places only; repeating it is harmless.
func (db *DB) Delete(ctx context.Context, mint, maxt int64, ms ...*labels.Matcher) error {
	db.cmtx.Lock()
	defer db.cmtx.Unlock()
	if db.closed {
		return errClosed
	}
	for _, b := range db.blocks() {
		if !b.OverlapsClosedInterval(mint, maxt) {
			continue
		}
		if err := b.Delete(ctx, mint, maxt, ms...); err != nil {
			return fmt.Errorf("tsdb: delete from block %s: %w", b.Dir(), err)
		}
	}
	if err := db.head.Delete(ctx, mint, maxt, ms...); err != nil {
		return fmt.Errorf("tsdb: delete from the head: %w", err)
	}
	return nil
}

// CleanTombstones rewrites every block that has tombstones without its
// deleted samples (a new block replaces it; a block left empty is
// removed). The head's deletions need no cleaning: the block its range is
// persisted into never holds them. A crash midway leaves the old block
// next to its replacement, and Open removes the old one.
func (db *DB) CleanTombstones() error {
	ctx := context.Background()
	db.cmtx.Lock()
	defer db.cmtx.Unlock()
	if db.closed {
		return errClosed
	}
	start := time.Now()
	cleaned := 0
	for _, b := range db.blocks() {
		meta, changed, err := b.CleanTombstones(ctx, db.dir, db.compactor.WriteOptions(b.Meta().Compaction.Level))
		if err != nil {
			return fmt.Errorf("tsdb: clean tombstones of block %s: %w", b.Dir(), err)
		}
		if !changed {
			continue
		}
		var nb *block.Block
		if meta != nil {
			if nb, err = db.openWritten(meta); err != nil {
				return fmt.Errorf("tsdb: clean tombstones: %w", err)
			}
		}
		db.swapBlocks([]string{b.Dir()}, nb)
		cleaned++
	}
	if cleaned > 0 {
		db.opts.Logger.Info("cleaned tombstones", "blocks", cleaned, "duration", time.Since(start))
	}
	return nil
}
