package tsdb

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"sync"

	"github.com/vigil-monitoring/vigil/internal/storage"
	"github.com/vigil-monitoring/vigil/internal/tsdb/block"
	"github.com/vigil-monitoring/vigil/internal/tsdb/compact"
	"github.com/vigil-monitoring/vigil/internal/tsdb/tombstones"
	"github.com/vigil-monitoring/vigil/internal/tsdb/wal"
)

// DB is a database in one directory (layout in docs/format/directory.md):
// the head with its WAL and head chunk files, and the blocks. It
// implements storage.Appendable (appends go to the head) and
// storage.Queryable (queries merge the head and the blocks they overlap).
//
// Data moves from the head into blocks by compaction (db_compact.go),
// blocks are merged by leveled compaction and deleted by retention
// (db_retention.go); the admin operations are in db_admin.go.
//
// Locking: cmtx serialises everything that writes or removes block files
// (compactions, retention, Delete, CleanTombstones, Snapshot, Close);
// mu guards the list of blocks, which queriers read. Lock order: cmtx,
// then mu.
type DB struct {
	dir       string
	opts      Options
	lock      io.Closer
	head      *Head
	compactor *compact.Compactor
	metrics   *dbMetrics

	cmtx sync.Mutex
	// Guarded by cmtx.
	closed bool
	// failed holds blocks a compaction found corrupt (their meta.json is
	// marked too, but the open block's meta is not re-read), so the
	// planner stops choosing them.
	failed map[block.ULID]bool

	mu struct {
		sync.RWMutex
		// blocks are the loaded blocks sorted by MinTime. INVARIANT: the
		// slice is replaced, never modified, so a caller may keep it
		// after unlocking; a block leaves it before it is closed.
		blocks []*block.Block
	}

	// compactc receives the head's signal that it became compactable.
	compactc chan struct{}
	// stopc is closed by Close: the background loop and waits end.
	stopc    chan struct{}
	stopOnce sync.Once
	// donec is closed when the background loop has returned (at once when
	// it never started).
	donec  chan struct{}
	cancel context.CancelFunc

	// hook, set by tests only, is called at the stages of a compaction
	// (see DB.stage).
	hook func(stage string)
}

var (
	_ storage.Appendable = (*DB)(nil)
	_ storage.Queryable  = (*DB)(nil)
)

// errClosed is returned by operations on a closed DB.
var errClosed = errors.New("tsdb: database closed")

// Open opens (creating if needed) the database in dir: it takes the
// directory lock, opens the blocks (removing leftovers of interrupted
// writes; corrupt blocks are logged, counted and skipped, so a damaged
// block never stops the server from starting), replays the WAL into the
// head, starts a new WAL segment and, unless DisableCompaction is set,
// the background loop of compaction and retention. It fails if another
// process holds the lock.
func Open(dir string, opts Options) (_ *DB, err error) {
	opts = opts.withDefaults()
	if err := opts.FS.MkdirAll(dir, 0o777); err != nil {
		return nil, fmt.Errorf("tsdb: create %s: %w", dir, err)
	}
	lock, err := opts.FS.Lock(filepath.Join(dir, "lock"))
	if err != nil {
		return nil, fmt.Errorf("tsdb: lock data directory %s (is another Vigil using it?): %w", dir, err)
	}
	defer func() {
		if err != nil {
			lock.Close()
		}
	}()
	res, err := block.OpenDir(opts.FS, dir)
	if err != nil {
		return nil, fmt.Errorf("tsdb: open blocks: %w", err)
	}
	closeBlocks := func() {
		for _, b := range res.Blocks {
			b.Close()
		}
	}
	for _, d := range res.Removed {
		opts.Logger.Info("removed an unfinished or superseded block directory", "dir", d)
	}
	for d, berr := range res.Corrupt {
		opts.Logger.Error("skipping a corrupt block; it stays on disk for inspection and its data is not queried", "dir", d, "err", berr)
	}
	// The head takes only what no block holds: blocks end where the head
	// was truncated, unless the process stopped between writing a block
	// and truncating the head.
	minValid := int64(math.MinInt64)
	for _, b := range res.Blocks {
		minValid = max(minValid, b.MaxTime())
	}
	h, err := openHead(dir, opts, minValid)
	if err != nil {
		closeBlocks()
		return nil, fmt.Errorf("tsdb: open head: %w", err)
	}
	c, err := compact.New(compact.Options{FS: opts.FS, Logger: opts.Logger, Ranges: opts.blockRanges()})
	if err != nil {
		h.close()
		closeBlocks()
		return nil, fmt.Errorf("tsdb: %w", err)
	}
	db := &DB{
		dir: dir, opts: opts, lock: lock, head: h, compactor: c,
		failed:   map[block.ULID]bool{},
		compactc: make(chan struct{}, 1),
		stopc:    make(chan struct{}),
		donec:    make(chan struct{}),
	}
	db.mu.blocks = res.Blocks
	db.metrics = newDBMetrics(db, len(res.Corrupt))
	h.compactNotify = db.compactc
	ctx, cancel := context.WithCancel(context.Background())
	db.cancel = cancel
	if opts.DisableCompaction {
		close(db.donec)
	} else {
		go db.run(ctx)
	}
	if len(res.Blocks) > 0 || len(res.Corrupt) > 0 {
		opts.Logger.Info("blocks loaded", "blocks", len(res.Blocks), "corrupt", len(res.Corrupt), "head_min_valid_time", minValid)
	}
	return db, nil
}

// openHead builds the head of the data directory dir: it reads the head
// chunk files, replays the WAL into it and opens the WAL for writing.
// Samples older than minValid are skipped: blocks hold them. It is set
// before anything is read, so persisted data is not loaded twice.
func openHead(dir string, opts Options, minValid int64) (*Head, error) {
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
	h.minValidTime.Store(minValid)
	h.compactBound.Store(math.MinInt64)
	h.stones.Store(tombstones.New())
	h.metrics = newHeadMetrics()
	h.ooo = newHeadOOO(opts.OutOfOrderTimeWindow)
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

// close flushes and closes the head's WAL and chunk files.
func (h *Head) close() error {
	var errs []error
	if h.wal != nil {
		errs = append(errs, h.wal.Close())
	}
	errs = append(errs, h.chunks.Close())
	return errors.Join(errs...)
}

// Dir returns the data directory.
func (db *DB) Dir() string { return db.dir }

// Head returns the head.
func (db *DB) Head() *Head { return db.head }

// Appender implements storage.Appendable.
func (db *DB) Appender(ctx context.Context) storage.Appender { return db.head.Appender(ctx) }

// Querier implements storage.Queryable: a merge of the head and of the
// blocks overlapping [mint, maxt]. Blocks stay open until the querier is
// closed, even when compaction or retention replaces them meanwhile.
// Samples at the same time in several sources (a block and the head it
// was just persisted from, before the head is truncated) are returned
// once.
func (db *DB) Querier(mint, maxt int64) (storage.Querier, error) {
	// The read lock orders querier creation with block additions: see
	// DB.compactHead, which relies on it.
	db.mu.RLock()
	defer db.mu.RUnlock()
	var qs []storage.Querier
	for _, b := range db.mu.blocks {
		if !b.OverlapsClosedInterval(mint, maxt) {
			continue
		}
		q, err := b.Querier(mint, maxt)
		if err != nil {
			for _, q := range qs {
				q.Close()
			}
			return nil, fmt.Errorf("tsdb: open querier on block %s: %w", b.Dir(), err)
		}
		qs = append(qs, q)
	}
	hq, err := db.head.Querier(mint, maxt)
	if err != nil {
		for _, q := range qs {
			q.Close()
		}
		return nil, err
	}
	qs = append(qs, hq)
	// After the head's: at a time held in order and out of order, the
	// in-order sample wins.
	if oq := db.head.oooQuerier(mint, maxt, false); oq != nil {
		qs = append(qs, oq)
	}
	if len(qs) == 1 {
		return hq, nil
	}
	return storage.NewMergeQuerier(qs, nil, storage.ChainedSeriesMerge), nil
}

// WALReplayStatus returns the replay status (complete once Open returned).
func (db *DB) WALReplayStatus() WALReplayStatus { return db.head.replay.Status() }

// blocks returns the loaded blocks, sorted by MinTime (see DB.mu).
func (db *DB) blocks() []*block.Block {
	db.mu.RLock()
	defer db.mu.RUnlock()
	return db.mu.blocks
}

// Blocks returns the metadata of the loaded blocks, oldest first.
func (db *DB) Blocks() []block.Meta {
	bs := db.blocks()
	out := make([]block.Meta, len(bs))
	for i, b := range bs {
		out[i] = b.Meta()
	}
	return out
}

// Close stops the background loop (a compaction in progress is
// cancelled; what it wrote is cleaned up at the next Open), flushes the
// WAL and the head chunk files, closes the blocks (waiting for their open
// queriers) and releases the directory lock. Appenders and queriers must
// not be used afterwards. Calling it again does nothing.
func (db *DB) Close() error {
	db.stopOnce.Do(func() { close(db.stopc) })
	db.cancel()
	<-db.donec
	db.cmtx.Lock()
	defer db.cmtx.Unlock()
	if db.closed {
		return nil
	}
	db.closed = true
	errs := []error{db.head.close()}
	db.mu.Lock()
	blocks := db.mu.blocks
	db.mu.blocks = nil
	db.mu.Unlock()
	for _, b := range blocks {
		errs = append(errs, b.Close())
	}
	errs = append(errs, db.lock.Close())
	return errors.Join(errs...)
}
