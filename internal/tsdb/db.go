package tsdb

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"time"

	"github.com/vigil-monitoring/vigil/internal/storage"
	"github.com/vigil-monitoring/vigil/internal/tsdb/wal"
)

// DB is a database in one directory (layout in docs/format/directory.md).
// Today it is the head and its WAL; blocks will join. It implements
// storage.Appendable and storage.Queryable.
type DB struct {
	dir  string
	opts Options
	lock io.Closer
	head *Head
}

var (
	_ storage.Appendable = (*DB)(nil)
	_ storage.Queryable  = (*DB)(nil)
)

// Open opens (creating if needed) the database in dir: it takes the
// directory lock, replays the WAL into the head and starts a new WAL
// segment. It fails if another process holds the lock.
func Open(dir string, opts Options) (*DB, error) {
	opts = opts.withDefaults()
	if err := opts.FS.MkdirAll(dir, 0o777); err != nil {
		return nil, fmt.Errorf("tsdb: create %s: %w", dir, err)
	}
	lock, err := opts.FS.Lock(filepath.Join(dir, "lock"))
	if err != nil {
		return nil, fmt.Errorf("tsdb: lock data directory %s (is another Vigil using it?): %w", dir, err)
	}
	h, err := openHead(dir, opts)
	if err != nil {
		lock.Close()
		return nil, fmt.Errorf("tsdb: open head: %w", err)
	}
	return &DB{dir: dir, opts: opts, lock: lock, head: h}, nil
}

// openHead builds the head of the data directory dir: it reads the head
// chunk files, replays the WAL into it and opens the WAL for writing.
func openHead(dir string, opts Options) (*Head, error) {
	walDir := filepath.Join(dir, "wal")
	syms := newSymbolTable()
	h := &Head{
		opts:       opts,
		symbols:    syms,
		series:     newStripeSeries(opts.StripeSize, syms),
		postings:   newMemPostings(),
		chunkRange: opts.ChunkRange.Milliseconds(),
		replay:     opts.ReplayProgress,
	}
	if h.replay == nil {
		h.replay = &ReplayProgress{}
	}
	h.minTime.Store(math.MaxInt64)
	h.maxTime.Store(math.MinInt64)
	h.minValidTime.Store(math.MinInt64)
	h.metrics = newHeadMetrics()
	mm, err := h.loadHeadChunks(filepath.Join(dir, "chunks_head"))
	if err != nil {
		return nil, err
	}
	if err := h.replayWAL(walDir, mm); err != nil {
		h.chunks.Close()
		return nil, err
	}
	w, err := wal.Open(opts.FS, walDir, wal.Options{
		SegmentSize: opts.WALSegmentSize,
		Compression: opts.WALCompression,
		SyncOnLog:   opts.WALSyncOnCommit,
		Logger:      opts.Logger,
		Registerer:  opts.Registerer,
	})
	if err != nil {
		h.chunks.Close()
		return nil, fmt.Errorf("open WAL: %w", err)
	}
	h.wal = w
	h.metrics.register(h, opts.Registerer)
	// Leftover temporary checkpoints of an interrupted truncation.
	if err := wal.DeleteCheckpoints(opts.FS, walDir, -1); err != nil {
		opts.Logger.Warn("removing leftover temporary checkpoints failed", "err", err)
	}
	return h, nil
}

// Dir returns the data directory.
func (db *DB) Dir() string { return db.dir }

// Head returns the head.
func (db *DB) Head() *Head { return db.head }

// Appender implements storage.Appendable.
func (db *DB) Appender(ctx context.Context) storage.Appender { return db.head.Appender(ctx) }

// Querier implements storage.Queryable.
func (db *DB) Querier(mint, maxt int64) (storage.Querier, error) { return db.head.Querier(mint, maxt) }

// WALReplayStatus returns the replay status (complete once Open returned).
func (db *DB) WALReplayStatus() WALReplayStatus { return db.head.replay.Status() }

// Truncate drops data older than mint (see Head.Truncate).
func (db *DB) Truncate(mint int64) error { return db.head.Truncate(mint) }

// TruncateOlderThan drops data older than d before the newest sample.
func (db *DB) TruncateOlderThan(d time.Duration) error {
	maxt := db.head.MaxTime()
	if maxt == math.MinInt64 {
		return nil
	}
	return db.head.Truncate(maxt - d.Milliseconds())
}

// Close flushes the WAL and the head chunk files and releases the
// directory lock. Appenders and queriers must not be used afterwards.
func (db *DB) Close() error {
	var errs []error
	if db.head.wal != nil {
		errs = append(errs, db.head.wal.Close())
	}
	errs = append(errs, db.head.chunks.Close())
	errs = append(errs, db.lock.Close())
	return errors.Join(errs...)
}
