// Package tsdb owns Vigil's storage engine: the in-memory head (series,
// chunks, postings) made durable by the write-ahead log, and the DB that
// opens a data directory, locks it, loads its blocks, replays the WAL and
// serves the storage.Appendable and storage.Queryable contracts over head
// and blocks. The DB persists the head's oldest range as blocks (head
// compaction), merges blocks (leveled compaction, package compact),
// enforces retention, and performs the admin operations (snapshot,
// deletion, tombstone cleaning). The formats are in docs/format.
//
// It is configured only through Options, never through the server's
// configuration schema, and logs through the slog.Logger it is given.
package tsdb

import (
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vigil-monitoring/vigil/internal/tsdb/compact"
	"github.com/vigil-monitoring/vigil/internal/tsdb/vfs"
	"github.com/vigil-monitoring/vigil/internal/tsdb/wal"
)

// Options configure a DB. Start from DefaultOptions; in a zero Options
// every field but WALCompression (which stays off) gets its default.
type Options struct {
	// FS is the file system; nil means the operating system's. Tests pass
	// a vfs.FaultFS.
	FS vfs.FS
	// Logger receives progress and problems; nil discards them.
	Logger *slog.Logger
	// Registerer receives self-metrics; nil registers none.
	Registerer prometheus.Registerer

	// WALSegmentSize is the WAL segment size in bytes (a multiple of 32 KiB);
	// 0 means 128 MiB.
	WALSegmentSize int
	// WALCompression compresses WAL records. DefaultOptions uses Snappy;
	// the zero value is no compression.
	WALCompression wal.Compression
	// WALSyncOnCommit fsyncs the WAL on every commit.
	WALSyncOnCommit bool

	// MinBlockDuration is the range of a block written from the head (2h
	// by default; ChunkRange when only that is set). The head is compacted
	// once it spans 1.5 times this range.
	MinBlockDuration time.Duration
	// MaxBlockDuration is the longest range leveled compaction builds; 0
	// means a tenth of RetentionDuration, at most 31 days and at least
	// MinBlockDuration.
	MaxBlockDuration time.Duration
	// ChunkRange is the time span head chunks are aligned to: a chunk
	// never spans two ranges, so no chunk straddles a block boundary. It
	// is MinBlockDuration when unset or when it does not divide it.
	ChunkRange time.Duration

	// RetentionDuration, when positive, deletes blocks whose end is that
	// far behind the newest block's end.
	RetentionDuration time.Duration
	// MaxBytes, when positive, deletes the oldest blocks while blocks,
	// WAL and head chunk files together take more bytes.
	MaxBytes int64
	// DisableCompaction stops the background loop (head compaction,
	// leveled compaction, retention); Compact still runs them on demand.
	// Tests use it to run them at chosen points.
	DisableCompaction bool

	// StripeSize is the number of lock stripes for series; a power of two,
	// 16384 by default.
	StripeSize int

	// HeadChunksWriteBufferSize is the number of bytes of full chunks
	// buffered before a write to the head chunk files; 0 means 1 MiB.
	HeadChunksWriteBufferSize int
	// HeadChunksFileSize is the size at which a head chunk file is sealed
	// and the next started; 0 means 128 MiB. Tests make it small.
	HeadChunksFileSize int64

	// ReplayProgress, when set, receives the WAL replay status while Open
	// runs (see ReplayProgress).
	ReplayProgress *ReplayProgress

	// OutOfOrderTimeWindow, in milliseconds, lets a series accept samples
	// older than its newest one, down to that far behind the head's newest
	// sample (Prometheus' storage.tsdb.out_of_order_time_window). Older
	// samples fail with storage.ErrTooOldSample. 0, the default, keeps
	// out-of-order samples rejected; negative values count as 0. DB
	// changes it at run time with SetOutOfOrderTimeWindow.
	OutOfOrderTimeWindow int64

	// DisableNativeHistograms makes AppendHistogram fail with
	// storage.ErrNativeHistogramsDisabled.
	DisableNativeHistograms bool

	// osFS is set by withDefaults when FS was nil: the operating system's
	// file system, where snapshots can hard-link block files.
	osFS bool
}

// DefaultOptions returns the defaults.
func DefaultOptions() Options {
	return Options{
		WALSegmentSize: wal.DefaultSegmentSize,
		WALCompression: wal.CompressionSnappy,
		StripeSize:     1 << 14,
	}
}

// defaultBlockDuration is the head block range when nothing sets one.
const defaultBlockDuration = 2 * time.Hour

// maxBlockDurationCap is the longest a compacted block may span.
const maxBlockDurationCap = 31 * 24 * time.Hour

// withDefaults fills unset fields.
func (o Options) withDefaults() Options {
	d := DefaultOptions()
	if o.FS == nil {
		o.FS = vfs.OS()
		o.osFS = true
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.WALSegmentSize == 0 {
		o.WALSegmentSize = d.WALSegmentSize
	}
	if o.MinBlockDuration <= 0 {
		// ChunkRange set alone keeps its old meaning: the block range.
		o.MinBlockDuration = defaultBlockDuration
		if o.ChunkRange > 0 {
			o.MinBlockDuration = o.ChunkRange
		}
	}
	if o.ChunkRange <= 0 || o.ChunkRange > o.MinBlockDuration || o.MinBlockDuration%o.ChunkRange != 0 {
		o.ChunkRange = o.MinBlockDuration
	}
	if o.MaxBlockDuration <= 0 {
		o.MaxBlockDuration = maxBlockDurationCap
		if o.RetentionDuration > 0 {
			o.MaxBlockDuration = min(o.MaxBlockDuration, o.RetentionDuration/10)
		}
	}
	o.MaxBlockDuration = max(o.MaxBlockDuration, o.MinBlockDuration)
	o.OutOfOrderTimeWindow = max(o.OutOfOrderTimeWindow, 0)
	if o.StripeSize <= 0 || o.StripeSize&(o.StripeSize-1) != 0 {
		o.StripeSize = d.StripeSize
	}
	return o
}

// blockRanges returns the ranges of the compaction levels in milliseconds:
// MinBlockDuration times powers of three, up to MaxBlockDuration.
func (o Options) blockRanges() []int64 {
	ranges := compact.ExponentialRanges(o.MinBlockDuration.Milliseconds(), 10, 3)
	n := 1
	for n < len(ranges) && ranges[n] <= o.MaxBlockDuration.Milliseconds() {
		n++
	}
	return ranges[:n]
}
