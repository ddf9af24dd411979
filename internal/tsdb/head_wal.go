package tsdb

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"runtime"
	"sync/atomic"
	"time"
	"unique"

	"github.com/vigil-monitoring/vigil/internal/model/labels"
	"github.com/vigil-monitoring/vigil/internal/storage"
	"github.com/vigil-monitoring/vigil/internal/tsdb/record"
	"github.com/vigil-monitoring/vigil/internal/tsdb/wal"
)

// WALReplayStatus is the progress of the WAL replay at startup, in segment
// indexes, as /api/v1/status/walreplay reports it: Current moves from Min
// to Max. All three are zero before replay starts and when there was
// nothing to replay.
type WALReplayStatus struct {
	Min, Max, Current int
}

// ReplayProgress publishes the WAL replay status while Open runs. The
// server creates one, passes it in Options and serves Status from
// /api/v1/status/walreplay before the database is ready. Safe for
// concurrent use; the zero value is ready.
type ReplayProgress struct {
	min, max, current atomic.Int64
}

// Status returns the current replay status.
func (p *ReplayProgress) Status() WALReplayStatus {
	return WALReplayStatus{Min: int(p.min.Load()), Max: int(p.max.Load()), Current: int(p.current.Load())}
}

// replayer applies WAL records to a head that nobody else uses yet. The
// goroutine reading the WAL decodes records, creates series and resolves
// each sample's series; appending the samples to chunks, the larger part
// of the work, is spread over workers, each owning the series whose ref
// falls in its shard, so a series' samples stay in WAL order.
type replayer struct {
	h *Head
	// aliases maps refs of duplicate series records (the same labels under
	// a second ref) to the series that holds those labels.
	aliases map[storage.SeriesRef]*memSeries
	// mmapped holds the head chunk files' chunks by series until the
	// series record arrives (see loadHeadChunks); created lists the series
	// replay created, for the postings index built at the end.
	mmapped *mmappedChunks
	created []*memSeries

	series []record.RefSeries
	floats []record.RefSample
	hists  []record.RefHistogramSample
	fhists []record.RefFloatHistogramSample
	metas  []record.RefMetadata
	stones []record.Stone

	workers []*replayWorker
	pending []replayBatch // per worker, being filled

	unknown  map[string]int
	skipped  int // records of types the head does not replay
	maxRef   storage.SeriesRef
	nRecords int
}

// replayBatch is a run of samples for one worker; series[i] gets
// samples[i].
type replayBatch struct {
	series  []*memSeries
	samples []storage.Sample
}

const replayBatchSize = 1024

// replayWorker appends the samples of its shard.
type replayWorker struct {
	in   chan replayBatch
	free chan replayBatch
	done chan struct{}

	applied, dropped int
	// covered counts samples a head chunk file already holds, old those
	// before the head's minimum valid time (persisted in a block).
	covered, old int
	minT, maxT   int64
}

func newReplayer(h *Head, mm *mmappedChunks) *replayer {
	r := &replayer{h: h, aliases: map[storage.SeriesRef]*memSeries{}, unknown: map[string]int{}, mmapped: mm}
	n := min(runtime.GOMAXPROCS(0), 8)
	for range n {
		w := &replayWorker{
			in:   make(chan replayBatch, 4),
			free: make(chan replayBatch, 8),
			done: make(chan struct{}),
			minT: math.MaxInt64, maxT: math.MinInt64,
		}
		r.workers = append(r.workers, w)
		go w.run(h)
	}
	r.pending = make([]replayBatch, n)
	return r
}

func (w *replayWorker) run(h *Head) {
	defer close(w.done)
	minValid := h.minValidTime.Load()
	for b := range w.in {
		for i, s := range b.series {
			smp := b.samples[i]
			if smp.T < minValid {
				// A block holds it: the process stopped after writing
				// the block and before truncating the WAL.
				w.old++
				continue
			}
			lock := h.series.refLock(s.ref)
			lock.Lock()
			if s.open == openNone && s.full != "" && smp.T <= s.lastT {
				// The head chunk files had it: only samples after the
				// last full chunk need the WAL.
				lock.Unlock()
				w.covered++
				continue
			}
			err := s.appendLocked(h, smp)
			lock.Unlock()
			if err != nil {
				w.dropped++
				continue
			}
			w.applied++
			w.minT, w.maxT = min(w.minT, smp.T), max(w.maxT, smp.T)
		}
		clear(b.series)
		clear(b.samples)
		select {
		case w.free <- replayBatch{series: b.series[:0], samples: b.samples[:0]}:
		default:
		}
	}
}

// add queues one sample for the worker owning its series.
func (r *replayer) add(s *memSeries, smp storage.Sample) {
	i := int(uint64(s.ref) % uint64(len(r.workers)))
	b := &r.pending[i]
	if b.series == nil {
		select {
		case *b = <-r.workers[i].free:
		default:
			*b = replayBatch{series: make([]*memSeries, 0, replayBatchSize), samples: make([]storage.Sample, 0, replayBatchSize)}
		}
	}
	b.series = append(b.series, s)
	b.samples = append(b.samples, smp)
	if len(b.series) == replayBatchSize {
		r.workers[i].in <- *b
		*b = replayBatch{}
	}
}

// finish hands over the partial batches, waits for the workers and
// returns their totals.
func (r *replayer) finish() (applied, dropped, covered, old int, minT, maxT int64) {
	minT, maxT = math.MaxInt64, math.MinInt64
	for i, w := range r.workers {
		if len(r.pending[i].series) > 0 {
			w.in <- r.pending[i]
		}
		close(w.in)
	}
	for _, w := range r.workers {
		<-w.done
		applied += w.applied
		dropped += w.dropped
		covered += w.covered
		old += w.old
		minT, maxT = min(minT, w.minT), max(maxT, w.maxT)
	}
	return applied, dropped, covered, old, minT, maxT
}

func (r *replayer) lookup(ref storage.SeriesRef) *memSeries {
	if s := r.h.series.getByRef(ref); s != nil {
		return s
	}
	return r.aliases[ref]
}

// apply replays one record.
func (r *replayer) apply(rec []byte) error {
	r.nRecords++
	var err error
	switch record.TypeOf(rec) {
	case record.Series:
		if r.series, err = record.DecodeSeries(rec, r.series[:0]); err != nil {
			return err
		}
		for _, rs := range r.series {
			r.maxRef = max(r.maxRef, rs.Ref)
			r.addSeries(rs.Ref, rs.Labels)
		}
	case record.Samples:
		if r.floats, err = record.DecodeSamples(rec, r.floats[:0]); err != nil {
			return err
		}
		for _, smp := range r.floats {
			r.sample(smp.Ref, storage.Sample{T: smp.T, F: smp.V}, "samples")
		}
	case record.HistogramSamples:
		if r.hists, err = record.DecodeHistogramSamples(rec, r.hists[:0]); err != nil {
			return err
		}
		for _, smp := range r.hists {
			r.sample(smp.Ref, storage.Sample{T: smp.T, H: smp.H}, "histograms")
		}
	case record.FloatHistogramSamples:
		if r.fhists, err = record.DecodeFloatHistogramSamples(rec, r.fhists[:0]); err != nil {
			return err
		}
		for _, smp := range r.fhists {
			r.sample(smp.Ref, storage.Sample{T: smp.T, FH: smp.FH}, "float histograms")
		}
	case record.Metadata:
		if r.metas, err = record.DecodeMetadata(rec, r.metas[:0]); err != nil {
			return err
		}
		for _, m := range r.metas {
			s := r.lookup(m.Ref)
			if s == nil {
				r.unknown["metadata"]++
				continue
			}
			meta := unique.Make(m.Meta)
			lock := r.h.series.refLock(s.ref)
			lock.Lock()
			s.extLocked().meta = meta
			lock.Unlock()
		}
	case record.Tombstones:
		if r.stones, err = record.DecodeTombstones(rec, r.stones[:0]); err != nil {
			return err
		}
		minValid := r.h.minValidTime.Load()
		kept := r.stones[:0]
		for _, st := range r.stones {
			s := r.lookup(st.Ref)
			if s == nil {
				r.unknown["tombstones"]++
				continue
			}
			if st.Maxt < minValid {
				continue // about data a block holds, with its own tombstones
			}
			st.Ref = s.ref // a duplicate series record's ref names s too
			kept = append(kept, st)
		}
		r.h.addStones(kept)
	default:
		// Exemplars have no in-head store yet; unknown types come from a
		// newer version. Either way: skip, count.
		r.skipped++
	}
	return nil
}

// addSeries creates a series from a series record, with the ref the record
// gives, so that the samples records that follow find it.
func (r *replayer) addSeries(ref storage.SeriesRef, lset labels.Labels) {
	h := r.h
	if s := h.series.getByRef(ref); s != nil {
		return // a repeated record (e.g. in a checkpoint and a segment)
	}
	hash := lset.Hash()
	if s := h.series.getByHash(hash, lset); s != nil {
		r.aliases[ref] = s
		return
	}
	s, created := h.series.getOrCreate(hash, lset, func() *memSeries {
		return newMemSeries(ref, hash, h.symbols.intern(lset))
	})
	if !created {
		r.aliases[ref] = s
		return
	}
	s.walLogged.Store(true)
	r.created = append(r.created, s)
	r.mmapped.attach(h, s)
	h.numSeries.Add(1)
	h.metrics.seriesCreated.Inc()
}

func (r *replayer) sample(ref storage.SeriesRef, smp storage.Sample, kind string) {
	s := r.lookup(ref)
	if s == nil {
		r.unknown[kind]++
		return
	}
	r.add(s, smp)
}

// replayWAL rebuilds the head from the newest checkpoint and the segments
// after it. A corruption is repaired (the WAL is cut at the last good
// record) and replay ends there: the head starts with everything before
// it rather than failing every start.
//
// mm holds the chunks of the head chunk files, read before: each series
// takes its chunks when its record arrives, and only the samples after
// them are replayed.
func (h *Head) replayWAL(dir string, mm *mmappedChunks) error {
	start := time.Now()
	logger := h.opts.Logger
	fsys := h.opts.FS
	r := newReplayer(h, mm)
	replayed := false
	defer func() {
		if !replayed {
			r.finish() // stop the workers on an early return
		}
	}()
	if _, err := fsys.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		replayed = true
		r.finish()
		return h.finishReplay(r) // a new database
	} else if err != nil {
		return fmt.Errorf("stat WAL directory: %w", err)
	}

	cpDir, cpIdx, err := wal.LastCheckpoint(fsys, dir)
	if err != nil {
		return fmt.Errorf("find checkpoint: %w", err)
	}
	segs, err := wal.Segments(fsys, dir)
	if err != nil {
		return fmt.Errorf("list WAL segments: %w", err)
	}
	first := cpIdx + 1
	if len(segs) > 0 {
		first = max(first, segs[0])
	}
	last := -1
	if len(segs) > 0 {
		last = segs[len(segs)-1]
	}
	h.replay.min.Store(int64(max(first, 0)))
	h.replay.max.Store(int64(max(last, 0)))
	if len(segs) > 0 || cpIdx >= 0 {
		logger.Info("replaying WAL, this may take a while", "dir", dir, "checkpoint", cpIdx, "first_segment", first, "last_segment", last)
	}

	if cpIdx >= 0 {
		if err := h.replayDir(r, cpDir, 0, -1, "checkpoint"); err != nil {
			return err
		}
		logger.Info("WAL checkpoint loaded", "checkpoint", cpDir, "records", r.nRecords)
	}
	if last >= first {
		if err := h.replayDir(r, dir, first, last, "segment"); err != nil {
			return err
		}
	}

	replayed = true
	applied, dropped, covered, old, minT, maxT := r.finish()
	h.lastRef.Store(max(h.lastRef.Load(), uint64(r.maxRef)))
	if minT <= maxT {
		h.updateMinMaxTime(minT, maxT)
	}
	if err := h.finishReplay(r); err != nil {
		return err
	}
	for kind, n := range r.unknown {
		h.metrics.unknownRefs.WithLabelValues(kind).Add(float64(n))
		logger.Warn("WAL replay found entries for unknown series", "type", kind, "count", n)
	}
	d := time.Since(start)
	h.metrics.replayDuration.Set(d.Seconds())
	if r.nRecords > 0 {
		logger.Info("WAL replay completed", "duration", d, "records", r.nRecords, "samples", applied,
			"samples_in_chunk_files", covered, "samples_in_blocks", old, "samples_dropped", dropped, "records_skipped", r.skipped,
			"series", h.numSeries.Load(), "workers", len(r.workers))
	}
	return nil
}

// replayDir replays segments [from, to] of dir (a checkpoint or the WAL
// itself), repairing a corruption and stopping there.
func (h *Head) replayDir(r *replayer, dir string, from, to int, what string) error {
	logger := h.opts.Logger
	rd, err := wal.NewReader(h.opts.FS, dir, from, to)
	if err != nil {
		return fmt.Errorf("open WAL %s reader: %w", what, err)
	}
	defer rd.Close()
	seg := -1
	for rd.Next() {
		if rd.Segment() != seg {
			if seg >= 0 && what == "segment" {
				logger.Info("WAL segment loaded", "segment", seg, "max_segment", to)
			}
			seg = rd.Segment()
			if what == "segment" {
				h.replay.current.Store(int64(seg))
			}
		}
		if err := r.apply(rd.Record()); err != nil {
			// A record that frames correctly but does not decode is a
			// corruption too: treat it the same way.
			err = &wal.CorruptionError{Dir: dir, Segment: rd.Segment(), Offset: rd.Offset(), Err: err}
			return h.repair(dir, err, what)
		}
	}
	if seg >= 0 && what == "segment" {
		logger.Info("WAL segment loaded", "segment", seg, "max_segment", to)
		h.replay.current.Store(int64(to))
	}
	if err := rd.Err(); err != nil {
		return h.repair(dir, err, what)
	}
	return nil
}

// repair handles a replay error: a corruption is cut off, anything else
// (an I/O error) fails the open.
func (h *Head) repair(dir string, err error, what string) error {
	var cerr *wal.CorruptionError
	if !errors.As(err, &cerr) {
		return fmt.Errorf("read WAL %s: %w", what, err)
	}
	h.metrics.walCorruptions.Inc()
	h.opts.Logger.Error("WAL corruption found during replay; cutting the WAL at the last good record",
		"kind", what, "segment", cerr.Segment, "offset", cerr.Offset, "err", cerr.Err)
	if rerr := wal.Repair(h.opts.FS, dir, cerr, h.opts.Logger); rerr != nil {
		return fmt.Errorf("repair WAL %s after %v: %w", what, err, rerr)
	}
	return nil
}
