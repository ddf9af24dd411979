package tsdb

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"runtime"
	"sort"
	"sync/atomic"
	"time"
	"unique"

	"github.com/vigil-monitoring/vigil/internal/model/histogram"
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
// goroutine reading the WAL decodes records and creates series; the
// samples, the bulk of the work, go to workers, each owning the series
// whose stripe run falls in its shard, so a series' samples stay in WAL
// order. A worker resolves refs itself: the ref index takes no lock, and
// the series records that precede a sample were applied before the
// sample was handed over.
type replayer struct {
	h *Head
	// aliases maps refs of duplicate series records (the same labels under
	// a second ref) to the series that holds those labels. Only the
	// reading goroutine uses it, resolving refs before handing samples on.
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

// replayEntry is one sample for the series with ref: a float, or the
// batch's next histogram when the batch's hists says so. Kept small: the
// reading goroutine writes every sample into a batch another core read
// last.
type replayEntry struct {
	ref storage.SeriesRef
	t   int64
	v   float64
}

// replayHist is the histogram of entry i of a batch.
type replayHist struct {
	i  int
	h  *histogram.Histogram
	fh *histogram.FloatHistogram
}

// replayBatch is a run of samples for one worker; hists are in entry
// order.
type replayBatch struct {
	entries []replayEntry
	hists   []replayHist
}

// replayBatchSize is how many samples the reader hands a worker at once;
// replayWindow how many the workers hold back together to apply them a
// stripe at a time (see replayWorker.applyWindow): 24 bytes each, so up to
// about 100 MiB while the reader fills the next window. With a million
// series that is each series two samples at a time; smaller heads use
// smaller windows (see replayWorker.run). Variables only so tests can
// make replay use many batches and windows.
var (
	replayBatchSize = 4096
	replayWindow    = 1 << 21
)

// replayWorker appends the samples of its shard.
type replayWorker struct {
	in   chan replayBatch
	free chan replayBatch
	done chan struct{}

	applied, dropped int
	// covered counts samples a head chunk file already holds, old those
	// before the head's minimum valid time (persisted in a block).
	covered, old int
	// unknown counts samples of refs without a series, by kind.
	unknownFloats, unknownHists, unknownFHists int
	minT, maxT                                 int64
	sink                                       int // see applyGroup

	// windowSize is the most samples applyWindow takes at once, shards
	// the number of workers; last, groups and heads are its scratch.
	windowSize, shards int
	last               []int32 // per stripe: its latest group, -1 when none
	groups             []replayGroup
	heads              []int32
}

func newReplayer(h *Head, mm *mmappedChunks) *replayer {
	r := &replayer{h: h, aliases: map[storage.SeriesRef]*memSeries{}, unknown: map[string]int{}, mmapped: mm}
	n := min(runtime.GOMAXPROCS(0), 8)
	window := max(replayWindow/n, replayBatchSize)
	for range n {
		w := &replayWorker{
			in:         make(chan replayBatch, window/replayBatchSize+4),
			free:       make(chan replayBatch, window/replayBatchSize+8),
			done:       make(chan struct{}),
			minT:       math.MaxInt64,
			maxT:       math.MinInt64,
			windowSize: window,
			shards:     n,
		}
		r.workers = append(r.workers, w)
		go w.run(h)
	}
	r.pending = make([]replayBatch, n)
	return r
}

func (w *replayWorker) run(h *Head) {
	defer close(w.done)
	w.last = make([]int32, len(h.series.locks))
	for i := range w.last {
		w.last[i] = -1
	}
	var window []replayBatch
	n := 0
	for b := range w.in {
		window = append(window, b)
		// Eight samples per series of the shard already keep a series in
		// the cache across most of its samples; a small head needs no
		// more memory than that.
		size := min(w.windowSize, max(replayBatchSize, 8*int(h.numSeries.Load())/w.shards))
		if n += len(b.entries); n >= size {
			w.applyWindow(h, window)
			window, n = window[:0], 0
		}
	}
	w.applyWindow(h, window)
}

// replayGroup is a run of a window's entries in one stripe: n entries of
// batch from start. next links the window's groups of the same stripe, in
// WAL order; -1 ends the chain.
type replayGroup struct {
	batch, start, n, next int32
}

// applyWindow applies a window of batches a stripe at a time. Between two
// samples of a series in WAL order come a sample of every other series,
// so with a large head each sample would find its series and chunk out of
// the cache. Taking a stripe's groups of the whole window together, still
// in WAL order per series, meets each series several times while it is in
// the cache.
func (w *replayWorker) applyWindow(h *Head, window []replayBatch) {
	minValid := h.minValidTime.Load()
	groups, heads := w.groups[:0], w.heads[:0]
	const maxGroup = 1 << stripeShift
	for bi := range window {
		entries := window[bi].entries
		for start := 0; start < len(entries); {
			stripe := h.series.stripe(entries[start].ref)
			n := 1
			for n < maxGroup && start+n < len(entries) && h.series.stripe(entries[start+n].ref) == stripe {
				n++
			}
			g := int32(len(groups))
			groups = append(groups, replayGroup{batch: int32(bi), start: int32(start), n: int32(n), next: -1})
			if l := w.last[stripe]; l < 0 {
				heads = append(heads, g)
			} else {
				groups[l].next = g
			}
			w.last[stripe] = g
			start += n
		}
	}
	var series [maxGroup]*memSeries
	for _, hd := range heads {
		first := groups[hd]
		stripe := h.series.stripe(window[first.batch].entries[first.start].ref)
		w.last[stripe] = -1
		lock := &h.series.locks[stripe]
		lock.Lock()
		for g := hd; g >= 0; g = groups[g].next {
			gr := groups[g]
			w.applyGroup(h, &window[gr.batch], int(gr.start), series[:gr.n], minValid)
		}
		lock.Unlock()
	}
	clear(series[:])
	w.groups, w.heads = groups[:0], heads[:0]
	for _, b := range window {
		clear(b.hists) // let the histograms go
		select {
		case w.free <- replayBatch{entries: b.entries[:0], hists: b.hists[:0]}:
		default:
		}
	}
	clear(window)
}

// applyGroup applies the len(group) entries of b from start on, whose
// series share one stripe, whose lock the caller holds.
//
// With a large head the series and their open chunks are often not in
// the cache, and a miss per sample, one after the other, would be most of
// the replay: the first two passes only read, the series and then their
// chunks, so the CPU overlaps the misses.
func (w *replayWorker) applyGroup(h *Head, b *replayBatch, start int, group []*memSeries, minValid int64) {
	entries := b.entries[start : start+len(group)]
	var sink int
	for i := range entries {
		s := h.series.getByRef(entries[i].ref)
		group[i] = s
		if s != nil {
			sink += int(s.open) + len(s.xor.Chunk().Bytes())
		}
	}
	for _, s := range group {
		if s != nil && s.open == openXOR {
			c := s.xor.Chunk().Bytes()
			sink += int(c[0]) + int(c[len(c)-1])
		}
	}
	w.sink += sink
	hists := b.hists
	if len(hists) > 0 {
		hists = hists[sort.Search(len(hists), func(k int) bool { return hists[k].i >= start }):]
	}
	for i := range entries {
		e := &entries[i]
		smp := storage.Sample{T: e.t, F: e.v}
		if len(hists) > 0 && hists[0].i == start+i {
			smp.H, smp.FH = hists[0].h, hists[0].fh
			hists = hists[1:]
		}
		if smp.T < minValid {
			// A block holds it: the process stopped after writing the
			// block and before truncating the WAL.
			w.old++
			continue
		}
		s := group[i]
		if s == nil {
			switch {
			case smp.H != nil:
				w.unknownHists++
			case smp.FH != nil:
				w.unknownFHists++
			default:
				w.unknownFloats++
			}
			continue
		}
		if s.open == openNone && s.full != "" && smp.T <= s.lastT {
			// The head chunk files had it: only samples after the last
			// full chunk need the WAL.
			w.covered++
			continue
		}
		if err := s.appendLocked(h, smp); err != nil {
			w.dropped++
			continue
		}
		w.applied++
		w.minT, w.maxT = min(w.minT, smp.T), max(w.maxT, smp.T)
	}
}

// add queues one sample for the worker owning its series' stripe run.
func (r *replayer) add(ref storage.SeriesRef, t int64, v float64, h *histogram.Histogram, fh *histogram.FloatHistogram) {
	i := int((uint64(ref) >> stripeShift) % uint64(len(r.workers)))
	b := &r.pending[i]
	if b.entries == nil {
		select {
		case *b = <-r.workers[i].free:
		default:
			*b = replayBatch{entries: make([]replayEntry, 0, replayBatchSize)}
		}
	}
	if h != nil || fh != nil {
		b.hists = append(b.hists, replayHist{i: len(b.entries), h: h, fh: fh})
	}
	b.entries = append(b.entries, replayEntry{ref: ref, t: t, v: v})
	if len(b.entries) == replayBatchSize {
		r.workers[i].in <- *b
		*b = replayBatch{}
	}
}

// finish hands over the partial batches, waits for the workers and
// returns their totals.
func (r *replayer) finish() (applied, dropped, covered, old int, minT, maxT int64) {
	minT, maxT = math.MaxInt64, math.MinInt64
	for i, w := range r.workers {
		if len(r.pending[i].entries) > 0 {
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
		for kind, n := range map[string]int{"samples": w.unknownFloats, "histograms": w.unknownHists, "float histograms": w.unknownFHists} {
			if n > 0 {
				r.unknown[kind] += n
			}
		}
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
			r.sample(smp.Ref, smp.T, smp.V, nil, nil)
		}
	case record.HistogramSamples:
		if r.hists, err = record.DecodeHistogramSamples(rec, r.hists[:0]); err != nil {
			return err
		}
		for _, smp := range r.hists {
			r.sample(smp.Ref, smp.T, 0, smp.H, nil)
		}
	case record.FloatHistogramSamples:
		if r.fhists, err = record.DecodeFloatHistogramSamples(rec, r.fhists[:0]); err != nil {
			return err
		}
		for _, smp := range r.fhists {
			r.sample(smp.Ref, smp.T, 0, nil, smp.FH)
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
			if st.Maxt < minValid && r.h.ooo.samples.Load() == 0 {
				continue // about data a block holds, with its own tombstones
			}
			st.Ref = s.ref // a duplicate series record's ref names s too
			kept = append(kept, st)
		}
		r.h.addStones(kept)
	case record.OutOfOrder:
		return r.h.replayOOO(rec, r.lookup)
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

// sample hands one sample to its worker, under the ref of the series that
// holds its labels. Whether the series exists is the worker's question.
func (r *replayer) sample(ref storage.SeriesRef, t int64, v float64, h *histogram.Histogram, fh *histogram.FloatHistogram) {
	if len(r.aliases) > 0 {
		if s, ok := r.aliases[ref]; ok {
			ref = s.ref
		}
	}
	r.add(ref, t, v, h, fh)
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
