package tsdb

import (
	"errors"
	"io/fs"
	"path/filepath"
	"time"

	"github.com/vigil-monitoring/vigil/internal/tsdb/vfs"
)

// applyRetentionLocked deletes whole blocks, oldest first, that are
// beyond the time retention (their end is RetentionDuration or more
// behind the newest block's end) or the size retention (blocks, WAL and
// head chunk files together exceed MaxBytes). The head is never cut:
// its data leaves it by compaction into blocks, which retention then
// deletes, so a retention shorter than the head's span keeps the head.
// The caller holds cmtx.
//
// Blocks are deleted safely under open queriers: they leave the list
// first, and closing a block waits for its queriers (see swapBlocks).
func (db *DB) applyRetentionLocked() error {
	blocks := db.blocks() // oldest first
	if len(blocks) == 0 {
		return nil
	}
	doomed := map[string]bool{}
	var byTime, bySize int
	if ret := db.opts.RetentionDuration.Milliseconds(); ret > 0 {
		newest := blocks[0].MaxTime()
		for _, b := range blocks {
			newest = max(newest, b.MaxTime())
		}
		for _, b := range blocks {
			if newest-b.MaxTime() >= ret {
				doomed[b.Dir()] = true
				byTime++
			}
		}
	}
	var sizeErr error
	if db.opts.MaxBytes > 0 {
		size, err := db.nonBlockSize()
		if err != nil {
			// Without the WAL's size the check would be too lenient, but
			// blocks alone over the limit still go.
			sizeErr = err
		}
		for _, b := range blocks {
			if !doomed[b.Dir()] {
				size += b.Size()
			}
		}
		for _, b := range blocks {
			if size <= db.opts.MaxBytes {
				break
			}
			if doomed[b.Dir()] {
				continue
			}
			doomed[b.Dir()] = true
			size -= b.Size()
			bySize++
		}
	}
	if len(doomed) == 0 {
		return sizeErr
	}
	if byTime > 0 {
		db.metrics.timeRetentions.Inc()
	}
	if bySize > 0 {
		db.metrics.sizeRetentions.Inc()
	}
	dirs := make([]string, 0, len(doomed))
	for _, b := range blocks {
		if doomed[b.Dir()] {
			dirs = append(dirs, b.Dir())
			db.opts.Logger.Info("deleting a block beyond retention", "dir", b.Dir(),
				"mint", time.UnixMilli(b.MinTime()).UTC(), "maxt", time.UnixMilli(b.MaxTime()).UTC(), "bytes", b.Size())
		}
	}
	db.swapBlocks(dirs, nil)
	return sizeErr
}

// nonBlockSize returns the bytes the head keeps on disk: the WAL with
// its checkpoints and the head chunk files.
func (db *DB) nonBlockSize() (int64, error) {
	walSize, err := treeSize(db.opts.FS, filepath.Join(db.dir, "wal"))
	return walSize + db.head.chunkStats().Bytes, err
}

// treeSize sums the sizes of the files under dir. Files that vanish while
// it walks (a WAL truncation running) are skipped.
func treeSize(fsys vfs.FS, dir string) (int64, error) {
	ents, err := fsys.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	var total int64
	for _, e := range ents {
		p := filepath.Join(dir, e.Name())
		if e.IsDir() {
			n, err := treeSize(fsys, p)
			if err != nil {
				return total, err
			}
			total += n
			continue
		}
		info, err := e.Info()
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return total, err
		}
		total += info.Size()
	}
	return total, nil
}

// blocksSize returns the bytes the loaded blocks take.
func (db *DB) blocksSize() int64 {
	var n int64
	for _, b := range db.blocks() {
		n += b.Size()
	}
	return n
}

// lowestTimestamp returns the time of the oldest data: the first block's
// start, or the head's when there are no blocks.
func (db *DB) lowestTimestamp() int64 {
	if bs := db.blocks(); len(bs) > 0 {
		return bs[0].MinTime()
	}
	return db.head.MinTime()
}
