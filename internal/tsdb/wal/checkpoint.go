package wal

import (
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/vigil-monitoring/vigil/internal/storage"
	"github.com/vigil-monitoring/vigil/internal/tsdb/record"
	"github.com/vigil-monitoring/vigil/internal/tsdb/vfs"
)

const checkpointPrefix = "checkpoint."

// CheckpointName returns the directory of checkpoint i in dir.
func CheckpointName(dir string, i int) string {
	return filepath.Join(dir, fmt.Sprintf("%s%08d", checkpointPrefix, i))
}

// checkpoints returns the indexes of the complete checkpoints in dir,
// ascending. Temporary ones (".tmp") are not complete.
func checkpoints(fsys vfs.FS, dir string) ([]int, error) {
	entries, err := fsys.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []int
	for _, e := range entries {
		name := e.Name()
		if !e.IsDir() || !strings.HasPrefix(name, checkpointPrefix) {
			continue
		}
		i, err := strconv.Atoi(strings.TrimPrefix(name, checkpointPrefix))
		if err != nil {
			continue
		}
		out = append(out, i)
	}
	slices.Sort(out)
	return out, nil
}

// LastCheckpoint returns the directory and index of the newest complete
// checkpoint in dir, or index -1 when there is none.
func LastCheckpoint(fsys vfs.FS, dir string) (string, int, error) {
	cps, err := checkpoints(fsys, dir)
	if err != nil || len(cps) == 0 {
		return "", -1, err
	}
	i := cps[len(cps)-1]
	return CheckpointName(dir, i), i, nil
}

// DeleteCheckpoints removes complete checkpoints with index below maxIndex
// and every leftover temporary checkpoint.
func DeleteCheckpoints(fsys vfs.FS, dir string, maxIndex int) error {
	entries, err := fsys.ReadDir(dir)
	if err != nil {
		return err
	}
	var errs []error
	for _, e := range entries {
		name := e.Name()
		if !e.IsDir() || !strings.HasPrefix(name, checkpointPrefix) {
			continue
		}
		rest := strings.TrimPrefix(name, checkpointPrefix)
		tmp := strings.HasSuffix(rest, ".tmp")
		i, err := strconv.Atoi(strings.TrimSuffix(rest, ".tmp"))
		if err != nil || (!tmp && i >= maxIndex) {
			continue
		}
		if err := fsys.RemoveAll(filepath.Join(dir, name)); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// CheckpointStats counts what a checkpoint kept and dropped.
type CheckpointStats struct {
	Series, DroppedSeries         int
	Samples, DroppedSamples       int // floats and histograms
	Tombstones, DroppedTombstones int
	Exemplars, DroppedExemplars   int
	Metadata                      int
	// OOOSamples counts the out-of-order samples kept: what replay of
	// the sources would leave in the head's out-of-order buffers.
	OOOSamples, DroppedOOOSamples int
	UnknownRecords                int
}

// CheckpointOptions configure Checkpoint.
type CheckpointOptions struct {
	Compression Compression
	Logger      *slog.Logger
}

// Checkpoint writes checkpoint.<to>: the records of the previous
// checkpoint and of segments [from, to] that are still needed -- entries
// of series for which keep returns true, with samples, exemplars and
// tombstones reaching mint or later, the newest metadata per series, and
// the out-of-order samples replay of the sources would buffer, less
// those the sources' tombstones delete (whatever their time: the head
// keeps them until it persists them). It writes to a temporary directory
// and renames it into place, so a crash leaves either no new checkpoint
// or a complete one. The caller then deletes segments up to to and older
// checkpoints.
//
// Segments the previous checkpoint covers are skipped even when from
// names them: they outlive it when their deletion failed or a crash cut
// it short, and the checkpoint holds what is needed of them and of the
// segments before them, which are gone. A to that checkpoint covers
// already is an error.
func Checkpoint(fsys vfs.FS, dir string, from, to int, keep func(storage.SeriesRef) bool, mint int64, opts CheckpointOptions) (*CheckpointStats, error) {
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	final := CheckpointName(dir, to)
	tmp := final + ".tmp"
	if err := fsys.RemoveAll(tmp); err != nil {
		return nil, err
	}
	var sources []*Reader
	defer func() {
		for _, r := range sources {
			r.Close()
		}
	}()
	if cpDir, idx, err := LastCheckpoint(fsys, dir); err != nil {
		return nil, err
	} else if idx >= to {
		return nil, fmt.Errorf("checkpoint: segments up to %d are in checkpoint %d already", to, idx)
	} else if idx >= 0 {
		from = max(from, idx+1)
		r, err := NewReader(fsys, cpDir, 0, -1)
		if err != nil {
			return nil, err
		}
		sources = append(sources, r)
	}
	r, err := NewReader(fsys, dir, from, to)
	if err != nil {
		return nil, err
	}
	sources = append(sources, r)

	w, err := Open(fsys, tmp, Options{Compression: opts.Compression, Logger: logger})
	if err != nil {
		return nil, err
	}
	cp := checkpointer{w: w, keep: keep, mint: mint, meta: map[storage.SeriesRef]record.RefMetadata{}}
	for _, r := range sources {
		for r.Next() {
			if err := cp.add(r.Record()); err != nil {
				w.Close()
				return nil, fmt.Errorf("checkpoint: segment %d offset %d: %w", r.Segment(), r.Offset(), err)
			}
		}
		if err := r.Err(); err != nil {
			w.Close()
			return nil, fmt.Errorf("checkpoint: read: %w", err)
		}
	}
	if err := cp.finish(); err != nil {
		w.Close()
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	if err := fsys.Rename(tmp, final); err != nil {
		return nil, err
	}
	if err := fsys.SyncDir(dir); err != nil {
		return nil, err
	}
	return &cp.stats, nil
}

// checkpointer filters records and batches the kept ones into Log calls.
type checkpointer struct {
	w     *WAL
	keep  func(storage.SeriesRef) bool
	mint  int64
	stats CheckpointStats
	meta  map[storage.SeriesRef]record.RefMetadata
	ooo   oooCheckpoint
	batch [][]byte
	size  int

	series []record.RefSeries
	floats []record.RefSample
	hists  []record.RefHistogramSample
	fhists []record.RefFloatHistogramSample
	stones []record.Stone
	exs    []record.RefExemplar
}

func (c *checkpointer) emit(rec []byte) error {
	c.batch = append(c.batch, rec)
	c.size += len(rec)
	if c.size >= 1<<20 {
		return c.flush()
	}
	return nil
}

func (c *checkpointer) flush() error {
	if len(c.batch) == 0 {
		return nil
	}
	err := c.w.Log(c.batch...)
	c.batch, c.size = c.batch[:0], 0
	return err
}

func (c *checkpointer) add(rec []byte) error {
	var err error
	switch record.TypeOf(rec) {
	case record.Series:
		if c.series, err = record.DecodeSeries(rec, c.series[:0]); err != nil {
			return err
		}
		kept := c.series[:0]
		for _, s := range c.series {
			if c.keep(s.Ref) {
				kept = append(kept, s)
			}
		}
		c.stats.Series += len(kept)
		c.stats.DroppedSeries += len(c.series) - len(kept)
		if len(kept) > 0 {
			return c.emit(record.EncodeSeries(nil, kept))
		}
	case record.Samples:
		if c.floats, err = record.DecodeSamples(rec, c.floats[:0]); err != nil {
			return err
		}
		kept := c.floats[:0]
		for _, s := range c.floats {
			if s.T >= c.mint && c.keep(s.Ref) {
				kept = append(kept, s)
			}
		}
		c.stats.Samples += len(kept)
		c.stats.DroppedSamples += len(c.floats) - len(kept)
		if len(kept) > 0 {
			return c.emit(record.EncodeSamples(nil, kept))
		}
	case record.HistogramSamples:
		if c.hists, err = record.DecodeHistogramSamples(rec, c.hists[:0]); err != nil {
			return err
		}
		kept := c.hists[:0]
		for _, s := range c.hists {
			if s.T >= c.mint && c.keep(s.Ref) {
				kept = append(kept, s)
			}
		}
		c.stats.Samples += len(kept)
		c.stats.DroppedSamples += len(c.hists) - len(kept)
		if len(kept) > 0 {
			return c.emit(record.EncodeHistogramSamples(nil, kept))
		}
	case record.FloatHistogramSamples:
		if c.fhists, err = record.DecodeFloatHistogramSamples(rec, c.fhists[:0]); err != nil {
			return err
		}
		kept := c.fhists[:0]
		for _, s := range c.fhists {
			if s.T >= c.mint && c.keep(s.Ref) {
				kept = append(kept, s)
			}
		}
		c.stats.Samples += len(kept)
		c.stats.DroppedSamples += len(c.fhists) - len(kept)
		if len(kept) > 0 {
			return c.emit(record.EncodeFloatHistogramSamples(nil, kept))
		}
	case record.Tombstones:
		if c.stones, err = record.DecodeTombstones(rec, c.stones[:0]); err != nil {
			return err
		}
		c.ooo.addStones(c.stones)
		kept := c.stones[:0]
		for _, s := range c.stones {
			if s.Maxt >= c.mint && c.keep(s.Ref) {
				kept = append(kept, s)
			}
		}
		c.stats.Tombstones += len(kept)
		c.stats.DroppedTombstones += len(c.stones) - len(kept)
		if len(kept) > 0 {
			return c.emit(record.EncodeTombstones(nil, kept))
		}
	case record.Exemplars:
		if c.exs, err = record.DecodeExemplars(rec, c.exs[:0]); err != nil {
			return err
		}
		kept := c.exs[:0]
		for _, e := range c.exs {
			if e.T >= c.mint && c.keep(e.Ref) {
				kept = append(kept, e)
			}
		}
		c.stats.Exemplars += len(kept)
		c.stats.DroppedExemplars += len(c.exs) - len(kept)
		if len(kept) > 0 {
			return c.emit(record.EncodeExemplars(nil, kept))
		}
	case record.Metadata:
		ms, err := record.DecodeMetadata(rec, nil)
		if err != nil {
			return err
		}
		for _, m := range ms {
			if c.keep(m.Ref) {
				c.meta[m.Ref] = m // later records win
			}
		}
	case record.OutOfOrder:
		return c.ooo.add(rec, c.keep, &c.stats)
	default:
		c.stats.UnknownRecords++
	}
	return nil
}

// finish writes the metadata and out-of-order samples collected, and
// flushes.
func (c *checkpointer) finish() error {
	if len(c.meta) > 0 {
		ms := make([]record.RefMetadata, 0, len(c.meta))
		for _, m := range c.meta {
			ms = append(ms, m)
		}
		slices.SortFunc(ms, func(a, b record.RefMetadata) int {
			switch {
			case a.Ref < b.Ref:
				return -1
			case a.Ref > b.Ref:
				return 1
			}
			return 0
		})
		c.stats.Metadata = len(ms)
		if err := c.emit(record.EncodeMetadata(nil, ms)); err != nil {
			return err
		}
	}
	// After every series record, which replay needs first.
	for _, rec := range c.ooo.records(&c.stats) {
		if err := c.emit(rec); err != nil {
			return err
		}
	}
	return c.flush()
}
