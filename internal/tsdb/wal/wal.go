// Package wal owns the write-ahead log: numbered segment files of 32 KiB
// pages holding CRC-protected, optionally compressed record fragments;
// the writer (WAL), the sequential Reader with typed corruption errors,
// Repair, which cuts a torn or corrupt tail at the last good record, and
// checkpoints, which compact old segments into the records still needed.
// The layout is specified in docs/format/wal.md; record payloads belong to
// package record. All I/O goes through a vfs.FS so tests can crash it.
package wal

import (
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/zstd"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/vigil-monitoring/vigil/internal/tsdb/vfs"
)

// Layout constants (docs/format/wal.md).
const (
	PageSize           = 32 * 1024
	DefaultSegmentSize = 128 * 1024 * 1024
	headerSize         = 7
)

// Fragment kinds, the low 3 bits of a fragment's type byte.
const (
	kindPadding = 0
	kindFull    = 1
	kindFirst   = 2
	kindMiddle  = 3
	kindLast    = 4
)

// Compression is how records are compressed.
type Compression uint8

const (
	CompressionNone   Compression = 0
	CompressionSnappy Compression = 1
	CompressionZstd   Compression = 2
)

func (c Compression) String() string {
	switch c {
	case CompressionNone:
		return "none"
	case CompressionSnappy:
		return "snappy"
	case CompressionZstd:
		return "zstd"
	}
	return "Compression(" + strconv.Itoa(int(c)) + ")"
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// ErrRecordTooLarge rejects a record that cannot fit in one segment.
var ErrRecordTooLarge = errors.New("wal: record larger than a segment")

// Options configure a WAL writer.
type Options struct {
	// SegmentSize is the maximum segment size, a multiple of PageSize;
	// 0 means DefaultSegmentSize.
	SegmentSize int
	Compression Compression
	// SyncOnLog fsyncs after every Log call: durability across machine
	// crashes at the cost of throughput. Without it a process crash loses
	// nothing that Log acknowledged, a machine crash may lose the tail.
	SyncOnLog bool
	Logger    *slog.Logger
	// Registerer receives the WAL's metrics; nil registers none.
	Registerer prometheus.Registerer
}

// SegmentName returns the file name of segment i in dir.
func SegmentName(dir string, i int) string {
	return filepath.Join(dir, fmt.Sprintf("%08d", i))
}

// Segments returns the indexes of the segment files in dir, ascending. It
// fails when the sequence has a gap: a missing segment would silently
// lose records in the middle of the log.
func Segments(fsys vfs.FS, dir string) ([]int, error) {
	entries, err := fsys.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var segs []int
	for _, e := range entries {
		if e.IsDir() || len(e.Name()) != 8 {
			continue
		}
		i, err := strconv.Atoi(e.Name())
		if err != nil || i < 0 {
			continue
		}
		segs = append(segs, i)
	}
	slices.Sort(segs)
	for k := 1; k < len(segs); k++ {
		if segs[k] != segs[k-1]+1 {
			return nil, fmt.Errorf("wal: segments %d and %d in %s are not consecutive", segs[k-1], segs[k], dir)
		}
	}
	return segs, nil
}

// WAL appends records to the segments of one directory. Log is safe for
// concurrent use; records of one Log call are written contiguously.
type WAL struct {
	fs      vfs.FS
	dir     string
	opts    Options
	logger  *slog.Logger
	metrics *metrics

	mu struct {
		sync.Mutex
		seg      vfs.File
		segIndex int
		// pageStart is the file offset of the page being filled.
		pageStart int64
		// INVARIANT: page[pageAlloc:] is all zeros; page[:pageFlushed] is
		// on the file at pageStart; pageFlushed <= pageAlloc <= PageSize.
		page        *[PageSize]byte
		pageAlloc   int
		pageFlushed int
		// broken is set when a failed write could not be undone. Each
		// later Log first retries the undo (a full disk may have been
		// cleared) and fails with broken until it succeeds; until then the
		// segment may end in a partial record, which only a cut at
		// brokenOff (or Repair at the next start) may remove.
		broken    error
		brokenOff int64
		closed    bool
		compBuf   []byte
		zenc      *zstd.Encoder
	}
}

// Open prepares a writer for dir, creating the directory if needed. It
// never appends to an existing segment: it starts a new one after the last,
// so a torn tail left by a crash stays where replay and Repair expect it.
func Open(fsys vfs.FS, dir string, opts Options) (*WAL, error) {
	if opts.SegmentSize == 0 {
		opts.SegmentSize = DefaultSegmentSize
	}
	if opts.SegmentSize < PageSize || opts.SegmentSize%PageSize != 0 {
		return nil, fmt.Errorf("wal: segment size %d is not a positive multiple of %d", opts.SegmentSize, PageSize)
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if err := fsys.MkdirAll(dir, 0o777); err != nil {
		return nil, err
	}
	segs, err := Segments(fsys, dir)
	if err != nil {
		return nil, err
	}
	w := &WAL{fs: fsys, dir: dir, opts: opts, logger: opts.Logger, metrics: newMetrics(opts.Registerer)}
	w.mu.page = new([PageSize]byte)
	next := 0
	if len(segs) > 0 {
		next = segs[len(segs)-1] + 1
	}
	if err := w.createSegmentLocked(next); err != nil {
		return nil, err
	}
	return w, nil
}

// Dir returns the WAL directory.
func (w *WAL) Dir() string { return w.dir }

// LastSegment returns the index of the segment being written.
func (w *WAL) LastSegment() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.mu.segIndex
}

func (w *WAL) createSegmentLocked(i int) error {
	f, err := w.fs.Create(SegmentName(w.dir, i))
	if err != nil {
		return err
	}
	if err := w.fs.SyncDir(w.dir); err != nil {
		f.Close()
		return err
	}
	w.mu.seg, w.mu.segIndex = f, i
	w.mu.pageStart, w.mu.pageAlloc, w.mu.pageFlushed = 0, 0, 0
	clear(w.mu.page[:])
	w.metrics.segmentCurrent.Set(float64(i))
	return nil
}

// closeSegmentLocked flushes, fsyncs and closes the current segment. If
// the flush or fsync fails the segment stays open, so that the caller can
// still cut a partial write off it.
func (w *WAL) closeSegmentLocked() error {
	if w.mu.seg == nil {
		return nil
	}
	if err := w.flushLocked(false); err != nil {
		return err
	}
	if err := w.syncLocked(); err != nil {
		return err
	}
	err := w.mu.seg.Close()
	w.mu.seg = nil
	return err
}

func (w *WAL) syncLocked() error {
	start := time.Now()
	err := w.mu.seg.Sync()
	w.metrics.fsyncDuration.Observe(time.Since(start).Seconds())
	return err
}

// flushLocked writes the unflushed part of the page. With full, the page
// is complete (its zero padding included) and a new page starts.
func (w *WAL) flushLocked(full bool) error {
	end := w.mu.pageAlloc
	if full {
		end = PageSize
	}
	if end > w.mu.pageFlushed {
		if _, err := w.mu.seg.Write(w.mu.page[w.mu.pageFlushed:end]); err != nil {
			return err
		}
		w.metrics.pageFlushes.Inc()
	}
	w.mu.pageFlushed = end
	if full {
		w.metrics.pagesCompleted.Inc()
		w.mu.pageStart += PageSize
		clear(w.mu.page[:])
		w.mu.pageAlloc, w.mu.pageFlushed = 0, 0
	}
	return nil
}

// spaceNeeded returns the bytes a record of n bytes takes from the current
// position: fragment headers and any page padding it forces.
func spaceNeeded(pageAlloc, n int) int {
	need, rem := 0, PageSize-pageAlloc
	for n > 0 {
		if rem < headerSize+1 {
			need += rem
			rem = PageSize
		}
		take := min(n, rem-headerSize)
		need += headerSize + take
		rem -= headerSize + take
		n -= take
	}
	return need
}

// Log appends records. When it returns nil they are in the OS (and on
// disk with SyncOnLog). When it fails, the records of this call in the
// current segment are removed again; records of this call that a segment
// rotation had already closed stay.
func (w *WAL) Log(recs ...[]byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.mu.closed {
		return errors.New("wal: log on closed WAL")
	}
	if w.mu.broken != nil {
		if err := w.recoverLocked(); err != nil {
			return fmt.Errorf("wal: unusable since a write failed and could not be undone: %w", err)
		}
	}
	undoOff := w.mu.pageStart + int64(w.mu.pageFlushed)
	undoSeg := w.mu.segIndex
	err := w.logLocked(recs)
	if err == nil && w.opts.SyncOnLog {
		err = w.syncLocked()
	}
	if err != nil {
		w.metrics.writesFailed.Inc()
		if w.mu.segIndex != undoSeg {
			undoOff = 0 // the segment was created by this call
		}
		if uerr := w.undoLocked(undoOff); uerr != nil {
			w.mu.broken, w.mu.brokenOff = uerr, undoOff
			w.logger.Error("WAL write failed and could not be undone; writes fail until the undo succeeds",
				"segment", w.mu.segIndex, "err", err, "undo_err", uerr)
		}
		return err
	}
	return nil
}

func (w *WAL) logLocked(recs [][]byte) error {
	for _, rec := range recs {
		if len(rec) == 0 {
			return errors.New("wal: empty record")
		}
		data, comp := w.compressLocked(rec)
		need := spaceNeeded(w.mu.pageAlloc, len(data))
		if w.mu.pageStart+int64(w.mu.pageAlloc)+int64(need) > int64(w.opts.SegmentSize) {
			if spaceNeeded(0, len(data)) > w.opts.SegmentSize {
				return ErrRecordTooLarge
			}
			if err := w.closeSegmentLocked(); err != nil {
				return err
			}
			if err := w.createSegmentLocked(w.mu.segIndex + 1); err != nil {
				return err
			}
		}
		if err := w.writeRecordLocked(data, comp); err != nil {
			return err
		}
	}
	return w.flushLocked(false)
}

func (w *WAL) writeRecordLocked(data []byte, comp Compression) error {
	for first := true; first || len(data) > 0; first = false {
		if PageSize-w.mu.pageAlloc < headerSize+1 {
			if err := w.flushLocked(true); err != nil {
				return err
			}
		}
		n := min(len(data), PageSize-w.mu.pageAlloc-headerSize)
		last := n == len(data)
		var kind byte
		switch {
		case first && last:
			kind = kindFull
		case first:
			kind = kindFirst
		case last:
			kind = kindLast
		default:
			kind = kindMiddle
		}
		p := w.mu.page[w.mu.pageAlloc:]
		p[0] = kind | byte(comp)<<3
		p[1], p[2] = byte(n>>8), byte(n)
		crc := crc32.Checksum(data[:n], castagnoli)
		p[3], p[4], p[5], p[6] = byte(crc>>24), byte(crc>>16), byte(crc>>8), byte(crc)
		copy(p[headerSize:], data[:n])
		w.mu.pageAlloc += headerSize + n
		data = data[n:]
		if w.mu.pageAlloc == PageSize {
			if err := w.flushLocked(true); err != nil {
				return err
			}
		}
	}
	return nil
}

// undoLocked cuts the current segment back to off and reloads the partial
// page there, so the next Log continues as if the failed one never ran.
func (w *WAL) undoLocked(off int64) error {
	if w.mu.seg == nil {
		return errors.New("no open segment")
	}
	if err := w.mu.seg.Truncate(off); err != nil {
		return err
	}
	if _, err := w.mu.seg.Seek(off, io.SeekStart); err != nil {
		return err
	}
	w.mu.pageStart = off - off%PageSize
	n := int(off % PageSize)
	clear(w.mu.page[:])
	if n > 0 {
		if _, err := w.mu.seg.ReadAt(w.mu.page[:n], w.mu.pageStart); err != nil {
			return err
		}
	}
	w.mu.pageAlloc, w.mu.pageFlushed = n, n
	return nil
}

// recoverLocked retries what a failed Log could not undo: cutting the
// segment back, or creating the next segment when rotation failed (the
// previous one was closed whole, so nothing needs cutting).
func (w *WAL) recoverLocked() error {
	var err error
	if w.mu.seg == nil {
		err = w.createSegmentLocked(w.mu.segIndex + 1)
	} else {
		err = w.undoLocked(w.mu.brokenOff)
	}
	if err != nil {
		w.mu.broken = err
		return err
	}
	w.logger.Info("WAL writable again after an earlier write failure", "segment", w.mu.segIndex)
	w.mu.broken = nil
	return nil
}

// compressLocked returns rec compressed, or rec itself when compression is
// off or would not shrink it. The result aliases a buffer reused by the
// next call.
func (w *WAL) compressLocked(rec []byte) ([]byte, Compression) {
	var out []byte
	switch w.opts.Compression {
	case CompressionSnappy:
		out = s2.EncodeSnappy(w.mu.compBuf[:cap(w.mu.compBuf)], rec)
	case CompressionZstd:
		if w.mu.zenc == nil {
			enc, err := zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1))
			if err != nil {
				return rec, CompressionNone
			}
			w.mu.zenc = enc
		}
		out = w.mu.zenc.EncodeAll(rec, w.mu.compBuf[:0])
	default:
		return rec, CompressionNone
	}
	w.mu.compBuf = out
	if len(out) >= len(rec) {
		return rec, CompressionNone
	}
	return out, w.opts.Compression
}

// NextSegment closes the current segment and starts a new one, so that
// everything logged so far is in closed segments (which a checkpoint can
// then cover). It returns the index of the new segment.
func (w *WAL) NextSegment() (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.mu.broken != nil {
		if err := w.recoverLocked(); err != nil {
			return 0, err
		}
	}
	if err := w.closeSegmentLocked(); err != nil {
		if w.mu.seg == nil {
			// Closed after a good fsync: whole records only, so the next
			// Log just needs a new segment.
			w.mu.broken = err
		}
		// Otherwise nothing changed: every Log flushes, so there was
		// nothing new to write, and writing continues in this segment.
		return 0, err
	}
	if err := w.createSegmentLocked(w.mu.segIndex + 1); err != nil {
		w.mu.broken = err
		return 0, err
	}
	return w.mu.segIndex, nil
}

// Truncate deletes the segments with index below i. The segment being
// written is never deleted.
func (w *WAL) Truncate(i int) error {
	w.metrics.truncations.Inc()
	segs, err := Segments(w.fs, w.dir)
	if err != nil {
		w.metrics.truncationsFailed.Inc()
		return err
	}
	cur := w.LastSegment()
	for _, s := range segs {
		if s >= i || s >= cur {
			break
		}
		if err := w.fs.Remove(SegmentName(w.dir, s)); err != nil {
			w.metrics.truncationsFailed.Inc()
			return err
		}
	}
	return w.fs.SyncDir(w.dir)
}

// Close flushes and fsyncs the current segment.
func (w *WAL) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.mu.closed {
		return nil
	}
	w.mu.closed = true
	if w.mu.zenc != nil {
		w.mu.zenc.Close()
	}
	if w.mu.broken != nil {
		if w.mu.seg != nil {
			w.mu.seg.Close()
		}
		return nil
	}
	return w.closeSegmentLocked()
}
