// Package tsdb owns Vigil's storage engine: the in-memory head (series,
// chunks, postings) made durable by the write-ahead log, and the DB that
// opens a data directory, locks it, replays the WAL and serves the
// storage.Appendable and storage.Queryable contracts. Blocks, compaction
// and retention will join it; the formats are in docs/format.
//
// It is configured only through Options, never through the server's
// configuration schema, and logs through the slog.Logger it is given.
package tsdb

import (
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

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

	// ChunkRange is the time span chunks are aligned to (the block range,
	// 2h by default): a chunk never spans two ranges, so a block can take
	// whole chunks.
	ChunkRange time.Duration

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

	// DisableNativeHistograms makes AppendHistogram fail with
	// storage.ErrNativeHistogramsDisabled.
	DisableNativeHistograms bool
}

// DefaultOptions returns the defaults.
func DefaultOptions() Options {
	return Options{
		WALSegmentSize: wal.DefaultSegmentSize,
		WALCompression: wal.CompressionSnappy,
		ChunkRange:     2 * time.Hour,
		StripeSize:     1 << 14,
	}
}

// withDefaults fills unset fields.
func (o Options) withDefaults() Options {
	d := DefaultOptions()
	if o.FS == nil {
		o.FS = vfs.OS()
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.WALSegmentSize == 0 {
		o.WALSegmentSize = d.WALSegmentSize
	}
	if o.ChunkRange <= 0 {
		o.ChunkRange = d.ChunkRange
	}
	if o.StripeSize <= 0 || o.StripeSize&(o.StripeSize-1) != 0 {
		o.StripeSize = d.StripeSize
	}
	return o
}
