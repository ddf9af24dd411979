package tsdb

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"unique"

	"github.com/vigil-monitoring/vigil/internal/model/exemplar"
	"github.com/vigil-monitoring/vigil/internal/model/histogram"
	"github.com/vigil-monitoring/vigil/internal/model/labels"
	"github.com/vigil-monitoring/vigil/internal/model/metadata"
	"github.com/vigil-monitoring/vigil/internal/storage"
	"github.com/vigil-monitoring/vigil/internal/tsdb/chunkenc"
	"github.com/vigil-monitoring/vigil/internal/tsdb/record"
)

// batchPool recycles the slices of finished appenders: a scrape loop makes
// one appender per scrape. Only the slices are pooled, never the appender
// a caller holds, so a caller that misuses a finished appender cannot
// reach someone else's batch.
var batchPool = sync.Pool{New: func() any { return &appendBatch{} }}

// Appender implements storage.Appendable.
func (h *Head) Appender(context.Context) storage.Appender {
	id := h.appenderID.Add(1)
	if id == 0 { // 0 means "no appender" in memSeries.pendingApp
		id = h.appenderID.Add(1)
	}
	h.metrics.activeAppenders.Inc()
	return &headAppender{h: h, id: id, appendBatch: batchPool.Get().(*appendBatch)}
}

// headAppender is one batch. Samples are checked when appended, written to
// the WAL at Commit, and only then applied to their series.
type headAppender struct {
	h    *Head
	id   uint32
	done bool
	*appendBatch
}

// appendBatch holds a batch's pending entries.
type appendBatch struct {
	// touched lists each series this appender marked pending, once per
	// increment of its pending count.
	touched []*memSeries

	floats      []record.RefSample
	floatSeries []*memSeries
	hists       []record.RefHistogramSample
	histSeries  []*memSeries
	fhists      []record.RefFloatHistogramSample
	fhistSeries []*memSeries
	ooo         *oooBatch // samples applied out of order, for logOOO
	metas       []record.RefMetadata
	metaSeries  []*memSeries

	// runs records the order of samples across the kinds: each run is a
	// stretch of consecutive appends of one kind, and so a contiguous range
	// of that kind's slice. The WAL and the apply step follow the runs, so
	// a series that switches between floats and histograms within a batch
	// keeps its order on disk and in memory.
	runs []sampleRun

	newSeries []record.RefSeries    // scratch for the series record
	bufs      [][]byte              // encoded records, reused
	lb        labels.ScratchBuilder // decodes new series' labels
	sink      int                   // see touchOpenChunks
}

// Sample kinds of a run.
const (
	kindFloat uint8 = iota
	kindHist
	kindFloatHist
)

type sampleRun struct {
	kind uint8
	n    int
}

// addRun notes one more sample of kind.
func (b *appendBatch) addRun(kind uint8) {
	if n := len(b.runs); n > 0 && b.runs[n-1].kind == kind {
		b.runs[n-1].n++
		return
	}
	b.runs = append(b.runs, sampleRun{kind: kind, n: 1})
}

// reset empties the batch, dropping references so pooled slices do not
// keep series or histograms alive.
func (b *appendBatch) reset() {
	clear(b.touched)
	clear(b.floatSeries)
	clear(b.histSeries)
	clear(b.fhistSeries)
	clear(b.metaSeries)
	clear(b.hists)
	clear(b.fhists)
	clear(b.metas)
	clear(b.newSeries)
	b.touched = b.touched[:0]
	b.floats, b.floatSeries = b.floats[:0], b.floatSeries[:0]
	b.hists, b.histSeries = b.hists[:0], b.histSeries[:0]
	b.fhists, b.fhistSeries = b.fhists[:0], b.fhistSeries[:0]
	b.metas, b.metaSeries = b.metas[:0], b.metaSeries[:0]
	b.runs = b.runs[:0]
	b.newSeries = b.newSeries[:0]
}

var errAppenderDone = errors.New("tsdb: appender already committed or rolled back")

// getOrCreate finds the series by ref, or by labels, creating it.
func (a *headAppender) getOrCreate(ref storage.SeriesRef, lset labels.Labels) (*memSeries, error) {
	if ref != 0 {
		if s := a.h.series.getByRef(ref); s != nil {
			return s, nil
		}
	}
	if lset.IsEmpty() {
		return nil, fmt.Errorf("empty label set: %w", storage.ErrInvalidSample)
	}
	return a.h.getOrCreate(lset), nil
}

// getOrCreate returns the series with lset, creating and indexing it.
// The ref is issued by the postings index as it adds the series, so
// postings lists grow in ref order and never need an insertion.
func (h *Head) getOrCreate(lset labels.Labels) *memSeries {
	hash := lset.Hash()
	s, created := h.series.getOrCreate(hash, lset, func() *memSeries {
		lbls := h.symbols.intern(lset)
		return newMemSeries(h.postings.addNew(&h.lastRef, lbls, h.symbols), hash, lbls)
	})
	if created {
		h.numSeries.Add(1)
		h.metrics.seriesCreated.Inc()
	}
	return s
}

// lockSeries finds or creates the series and returns it with its stripe
// lock held. A series garbage collection deleted between lookup and lock
// is looked up again by labels.
func (a *headAppender) lockSeries(ref storage.SeriesRef, lset labels.Labels) (*memSeries, *stripeLock, error) {
	for {
		s, err := a.getOrCreate(ref, lset)
		if err != nil {
			return nil, nil, err
		}
		lock := a.h.series.refLock(s.ref)
		lock.Lock()
		if !s.deleted {
			return s, lock, nil
		}
		lock.Unlock()
		if lset.IsEmpty() {
			return nil, nil, fmt.Errorf("series ref %d was removed and no labels were given: %w", ref, storage.ErrNotFound)
		}
		ref = 0
	}
}

// markPendingLocked records that this appender holds an uncommitted
// sample at t for s. The caller holds s's stripe lock.
func (a *headAppender) markPendingLocked(s *memSeries, t int64) {
	if s.pendingApp != a.id {
		s.pendingApp = a.id
		s.pendingT = t
		s.pending++
		a.touched = append(a.touched, s)
		return
	}
	s.pendingT = max(s.pendingT, t)
}

// checkPendingLocked rejects t when it is older than this appender's own
// pending sample for s: within one batch a series must move forward.
// Equal times are left to Commit, which knows both values.
func (a *headAppender) checkPendingLocked(s *memSeries, t int64) error {
	if s.pendingApp == a.id && t < s.pendingT {
		return storage.ErrOutOfOrderSample
	}
	return nil
}

func (a *headAppender) Append(ref storage.SeriesRef, lset labels.Labels, t int64, v float64) (storage.SeriesRef, error) {
	if a.done {
		return 0, errAppenderDone
	}
	if t < a.h.appendMinValid() {
		if err := a.h.admitOOO(t, storage.ErrOutOfBounds, "float"); err != nil {
			return ref, err
		}
	}
	s, lock, err := a.lockSeries(ref, lset)
	if err != nil {
		return 0, err
	}
	dup, err := s.appendableLocked(t, storage.Sample{T: t, F: v})
	if err == nil {
		err = a.checkPendingLocked(s, t)
	}
	if errors.Is(err, storage.ErrOutOfOrderSample) {
		err = a.h.admitOOOLocked(s, storage.Sample{T: t, F: v}, err, "float")
	}
	if err != nil || dup {
		lock.Unlock()
		if errors.Is(err, storage.ErrOutOfOrderSample) {
			a.h.metrics.outOfOrder.WithLabelValues("float").Inc()
		}
		return s.ref, err
	}
	a.markPendingLocked(s, t)
	lock.Unlock()
	a.floats = append(a.floats, record.RefSample{Ref: s.ref, T: t, V: v})
	a.floatSeries = append(a.floatSeries, s)
	a.addRun(kindFloat)
	return s.ref, nil
}

func (a *headAppender) AppendHistogram(ref storage.SeriesRef, lset labels.Labels, t int64, h *histogram.Histogram, fh *histogram.FloatHistogram) (storage.SeriesRef, error) {
	if a.done {
		return 0, errAppenderDone
	}
	if a.h.opts.DisableNativeHistograms {
		return ref, storage.ErrNativeHistogramsDisabled
	}
	if (h == nil) == (fh == nil) {
		return ref, fmt.Errorf("exactly one of h and fh must be set: %w", storage.ErrInvalidSample)
	}
	var err error
	if h != nil {
		err = h.Validate()
	} else {
		err = fh.Validate()
	}
	if err != nil {
		return ref, fmt.Errorf("invalid histogram: %w", err)
	}
	if t < a.h.appendMinValid() {
		if err := a.h.admitOOO(t, storage.ErrOutOfBounds, "histogram"); err != nil {
			return ref, err
		}
	}
	s, lock, err := a.lockSeries(ref, lset)
	if err != nil {
		return 0, err
	}
	dup, err := s.appendableLocked(t, storage.Sample{T: t, H: h, FH: fh})
	if err == nil {
		err = a.checkPendingLocked(s, t)
	}
	if errors.Is(err, storage.ErrOutOfOrderSample) {
		err = a.h.admitOOOLocked(s, storage.Sample{T: t, H: h, FH: fh}, err, "histogram")
	}
	if err != nil || dup {
		lock.Unlock()
		if errors.Is(err, storage.ErrOutOfOrderSample) {
			a.h.metrics.outOfOrder.WithLabelValues("histogram").Inc()
		}
		return s.ref, err
	}
	a.markPendingLocked(s, t)
	lock.Unlock()
	if h != nil {
		a.hists = append(a.hists, record.RefHistogramSample{Ref: s.ref, T: t, H: h})
		a.histSeries = append(a.histSeries, s)
		a.addRun(kindHist)
	} else {
		a.fhists = append(a.fhists, record.RefFloatHistogramSample{Ref: s.ref, T: t, FH: fh})
		a.fhistSeries = append(a.fhistSeries, s)
		a.addRun(kindFloatHist)
	}
	return s.ref, nil
}

// AppendExemplar is not supported yet: the head has no exemplar store.
func (a *headAppender) AppendExemplar(ref storage.SeriesRef, _ labels.Labels, _ exemplar.Exemplar) (storage.SeriesRef, error) {
	return ref, storage.ErrExemplarsDisabled
}

func (a *headAppender) UpdateMetadata(ref storage.SeriesRef, lset labels.Labels, m metadata.Metadata) (storage.SeriesRef, error) {
	if a.done {
		return 0, errAppenderDone
	}
	s, lock, err := a.lockSeries(ref, lset)
	if err != nil {
		return 0, err
	}
	cur, ok := s.metadata()
	same := ok && cur == m
	lock.Unlock()
	if !same {
		a.metas = append(a.metas, record.RefMetadata{Ref: s.ref, Meta: m})
		a.metaSeries = append(a.metaSeries, s)
	}
	return s.ref, nil
}

func (a *headAppender) AppendCTZeroSample(ref storage.SeriesRef, lset labels.Labels, t, ct int64) (storage.SeriesRef, error) {
	if a.done {
		return 0, errAppenderDone
	}
	if ct >= t {
		return ref, storage.ErrOutOfOrderCT
	}
	s, lock, err := a.lockSeries(ref, lset)
	if err != nil {
		return 0, err
	}
	latest := s.lastT
	if s.pendingApp == a.id {
		latest = max(latest, s.pendingT)
	}
	lock.Unlock()
	if ct <= latest {
		return s.ref, storage.ErrOutOfOrderCT
	}
	return a.Append(s.ref, lset, ct, 0)
}

// appendableLocked checks smp against the newest committed sample: older
// is out of order; the same time is a no-op when the value is identical
// (dup) and a conflict otherwise.
func (s *memSeries) appendableLocked(t int64, smp storage.Sample) (dup bool, err error) {
	// lastT starts at MinInt64, a valid time: a series without samples
	// takes any.
	if t > s.lastT || (s.open == openNone && s.full == "" && t == math.MinInt64) {
		return false, nil
	}
	if t < s.lastT {
		return false, storage.ErrOutOfOrderSample
	}
	if storage.SameSample(s.lastSample(), smp) {
		return true, nil
	}
	return false, storage.ErrDuplicateSampleForTimestamp
}

// lastSample returns the newest committed sample.
func (s *memSeries) lastSample() storage.Sample {
	smp := storage.Sample{T: s.lastT, F: s.lastV}
	if s.ext != nil {
		smp.H, smp.FH = s.ext.lastH, s.ext.lastFH
	}
	return smp
}

// Commit writes the batch to the WAL and then applies it. If the WAL
// write fails nothing is applied. Samples that another appender's commit
// made out of order or conflicting meanwhile are dropped and reported in
// the returned error; the rest are applied.
func (a *headAppender) Commit() error {
	if a.done {
		return errAppenderDone
	}
	defer a.release()
	if err := a.log(); err != nil {
		a.h.metrics.commitFailures.Inc()
		return fmt.Errorf("tsdb: commit: write to WAL: %w", err)
	}
	err := a.apply()
	if a.ooo != nil {
		err = errors.Join(err, a.logOOO())
	}
	if c := a.h.compactNotify; c != nil && a.h.compactable() {
		select {
		case c <- struct{}{}:
		default: // a signal is pending already
		}
	}
	return err
}

// log writes the batch's records. Series records for series that are not
// yet in the WAL are decided and written under walMu, so a series record
// always precedes the first samples of its series, whichever appender
// commits first.
func (a *headAppender) log() error {
	h := a.h
	if h.wal == nil {
		return nil
	}
	// One record per run; bufs[0] is kept for the series record.
	nbuf := 1
	buf := func() []byte {
		for len(a.bufs) <= nbuf {
			a.bufs = append(a.bufs, nil)
		}
		nbuf++
		return a.bufs[nbuf-1][:0]
	}
	recs := make([][]byte, 1, len(a.runs)+2)
	var fi, hi, fhi int
	for _, r := range a.runs {
		b := buf()
		switch r.kind {
		case kindFloat:
			b = record.EncodeSamples(b, a.floats[fi:fi+r.n])
			fi += r.n
		case kindHist:
			b = record.EncodeHistogramSamples(b, a.hists[hi:hi+r.n])
			hi += r.n
		case kindFloatHist:
			b = record.EncodeFloatHistogramSamples(b, a.fhists[fhi:fhi+r.n])
			fhi += r.n
		}
		a.bufs[nbuf-1] = b
		recs = append(recs, b)
	}
	if len(a.metas) > 0 {
		b := record.EncodeMetadata(buf(), a.metas)
		a.bufs[nbuf-1] = b
		recs = append(recs, b)
	}
	if len(recs) == 1 {
		return nil
	}
	h.walMu.Lock()
	defer h.walMu.Unlock()
	a.newSeries = a.newSeries[:0]
	var marked []*memSeries
	for _, list := range [][]*memSeries{a.floatSeries, a.histSeries, a.fhistSeries, a.metaSeries} {
		for _, s := range list {
			if !s.walLogged.Load() {
				s.walLogged.Store(true) // also dedupes within this batch
				marked = append(marked, s)
				a.newSeries = append(a.newSeries, record.RefSeries{Ref: s.ref, Labels: h.symbols.labels(s.lbls, &a.lb)})
			}
		}
	}
	if len(a.newSeries) > 0 {
		if len(a.bufs) == 0 {
			a.bufs = append(a.bufs, nil)
		}
		a.bufs[0] = record.EncodeSeries(a.bufs[0][:0], a.newSeries)
		recs[0] = a.bufs[0]
	} else {
		recs = recs[1:]
	}
	if err := h.wal.Log(recs...); err != nil {
		for _, s := range marked {
			s.walLogged.Store(false)
		}
		return err
	}
	return nil
}

// stripeCursor keeps one stripe locked across consecutive samples of the
// same stripe, so a batch takes each stripe lock about once per run.
type stripeCursor struct {
	ss   *stripeSeries
	held *stripeLock
}

// lock makes sure s's stripe is the one held and reports whether it had
// to take it.
func (c *stripeCursor) lock(s *memSeries) bool {
	l := c.ss.refLock(s.ref)
	if l == c.held {
		return false
	}
	c.unlock()
	l.Lock()
	c.held = l
	return true
}

// touchOpenChunks reads the open float chunks of the series at the front
// of series that share the stripe of series[0], which the caller holds.
// Appending to a chunk not in the cache is a miss per sample, one after
// the other; reading them all first lets the CPU overlap the misses.
func touchOpenChunks(ss *stripeSeries, series []*memSeries) (sink int) {
	stripe := ss.stripe(series[0].ref)
	for _, s := range series[:min(len(series), 1<<stripeShift)] {
		if ss.stripe(s.ref) != stripe {
			break
		}
		if s.open == openXOR {
			b := s.xor.Chunk().Bytes()
			sink += int(b[0]) + int(b[len(b)-1])
		}
	}
	return sink
}

func (c *stripeCursor) unlock() {
	if c.held != nil {
		c.held.Unlock()
		c.held = nil
	}
}

// commitErrors counts samples dropped at apply time, by reason.
type commitErrors struct {
	ooo, dup, oob, other int
	firstOther           error
}

func (e *commitErrors) add(err error) {
	switch {
	case errors.Is(err, storage.ErrOutOfOrderSample):
		e.ooo++
	case errors.Is(err, storage.ErrOutOfBounds):
		e.oob++
	case errors.Is(err, storage.ErrDuplicateSampleForTimestamp):
		e.dup++
	default:
		e.other++
		if e.firstOther == nil {
			e.firstOther = err
		}
	}
}

func (e *commitErrors) err() error {
	var errs []error
	if e.ooo > 0 {
		errs = append(errs, fmt.Errorf("%d samples: %w", e.ooo, storage.ErrOutOfOrderSample))
	}
	if e.dup > 0 {
		errs = append(errs, fmt.Errorf("%d samples: %w", e.dup, storage.ErrDuplicateSampleForTimestamp))
	}
	if e.oob > 0 {
		errs = append(errs, fmt.Errorf("%d samples older than the range being persisted: %w", e.oob, storage.ErrOutOfBounds))
	}
	if e.other > 0 {
		errs = append(errs, fmt.Errorf("%d samples: %w", e.other, e.firstOther))
	}
	return errors.Join(errs...)
}

// apply appends the logged batch to the series.
func (a *headAppender) apply() error {
	h := a.h
	cur := stripeCursor{ss: h.series}
	var errs commitErrors
	mint, maxt := int64(math.MaxInt64), int64(math.MinInt64)
	var nFloat, nHist int
	var fi, hi, fhi int
	for _, r := range a.runs {
		runStart := fi
		for range r.n {
			var s *memSeries
			var smp storage.Sample
			switch r.kind {
			case kindFloat:
				s, smp = a.floatSeries[fi], storage.Sample{T: a.floats[fi].T, F: a.floats[fi].V}
				if cur.lock(s) {
					a.sink += touchOpenChunks(h.series, a.floatSeries[fi:fi+r.n-(fi-runStart)])
				}
				fi++
			case kindHist:
				s, smp = a.histSeries[hi], storage.Sample{T: a.hists[hi].T, H: a.hists[hi].H}
				hi++
			case kindFloatHist:
				s, smp = a.fhistSeries[fhi], storage.Sample{T: a.fhists[fhi].T, FH: a.fhists[fhi].FH}
				fhi++
			}
			cur.lock(s)
			if h.ooo.on.Load() && a.applyOOOLocked(s, smp, &errs) {
				continue
			}
			// Loaded under the series lock: see Head.compactBound.
			if smp.T < h.compactBound.Load() {
				errs.add(storage.ErrOutOfBounds)
				continue
			}
			if err := s.appendLocked(h, smp); err != nil {
				errs.add(err)
				continue
			}
			if r.kind == kindFloat {
				nFloat++
			} else {
				nHist++
			}
			mint, maxt = min(mint, smp.T), max(maxt, smp.T)
		}
	}
	for i, s := range a.metaSeries {
		cur.lock(s)
		s.extLocked().meta = unique.Make(a.metas[i].Meta)
	}
	cur.unlock()
	if nFloat > 0 {
		h.metrics.samplesAppended.WithLabelValues("float").Add(float64(nFloat))
	}
	if nHist > 0 {
		h.metrics.samplesAppended.WithLabelValues("histogram").Add(float64(nHist))
	}
	if errs.ooo > 0 {
		h.metrics.outOfOrder.WithLabelValues("float").Add(float64(errs.ooo))
	}
	if errs.oob > 0 {
		h.metrics.outOfBound.WithLabelValues("float").Add(float64(errs.oob))
	}
	if mint <= maxt {
		h.updateMinMaxTime(mint, maxt)
	}
	return errs.err()
}

// updateMinMaxTime widens the head's time bounds.
func (h *Head) updateMinMaxTime(mint, maxt int64) {
	for {
		cur := h.minTime.Load()
		if mint >= cur || h.minTime.CompareAndSwap(cur, mint) {
			break
		}
	}
	for {
		cur := h.maxTime.Load()
		if maxt <= cur || h.maxTime.CompareAndSwap(cur, maxt) {
			break
		}
	}
}

// appendLocked appends one sample to the series, cutting a new chunk when
// the kind changes, the chunk is full, or t crosses a chunk range
// boundary. The caller holds s's stripe lock.
func (s *memSeries) appendLocked(h *Head, smp storage.Sample) error {
	if smp.T > s.lastT && smp.H == nil && smp.FH == nil && s.open == openXOR {
		// The common case, a float after the newest sample into an open
		// float chunk with room, without the interface calls below.
		if n := s.xor.NumSamples(); n > 0 && n < chunkenc.SamplesPerChunk && smp.T < rangeEnd(s.openMinT, h.chunkRange) {
			s.xor.Append(s.lastT, s.lastV, smp.T, smp.F)
			if s.ext != nil {
				s.ext.lastH, s.ext.lastFH = nil, nil
			}
			s.lastT, s.lastV = smp.T, smp.F
			return nil
		}
	}
	dup, err := s.appendableLocked(smp.T, smp)
	if err != nil || dup {
		return err
	}
	enc := chunkenc.EncXOR
	switch {
	case smp.H != nil:
		enc = chunkenc.EncHistogram
	case smp.FH != nil:
		enc = chunkenc.EncFloatHistogram
	}
	if s.needsCutLocked(enc, smp.T, h.chunkRange) {
		s.cutLocked(h, enc)
	}
	if s.open == openXOR {
		s.xor.Append(s.lastT, s.lastV, smp.T, smp.F)
		if s.ext != nil {
			s.ext.lastH, s.ext.lastFH = nil, nil
		}
	} else {
		switch app := s.ext.app.(type) {
		case *chunkenc.HistogramAppender:
			if err := app.AppendHistogram(smp.T, smp.H); err != nil {
				return err
			}
		case *chunkenc.FloatHistogramAppender:
			if err := app.AppendFloatHistogram(smp.T, smp.FH); err != nil {
				return err
			}
		}
		s.ext.lastH, s.ext.lastFH = smp.H, smp.FH
	}
	if s.openChunkLocked().NumSamples() == 1 {
		s.openMinT = smp.T
	}
	s.lastT, s.lastV = smp.T, smp.F
	return nil
}

// needsCutLocked reports whether a sample of encoding enc at t must start
// a new chunk.
func (s *memSeries) needsCutLocked(enc chunkenc.Encoding, t, chunkRange int64) bool {
	c := s.openChunkLocked()
	if c == nil {
		return true
	}
	if c.Encoding() != enc || c.NumSamples() >= chunkenc.SamplesPerChunk {
		return true
	}
	if enc != chunkenc.EncXOR && len(c.Bytes()) >= chunkenc.HistogramChunkBytes {
		return true
	}
	return t >= rangeEnd(s.openMinT, chunkRange)
}

// rangeEnd returns the end (exclusive) of the chunk range holding t.
func rangeEnd(t, chunkRange int64) int64 {
	m := t % chunkRange
	if m < 0 {
		return t - m // before 0 the remainder is negative: t-m is the end
	}
	if start := t - m; start <= math.MaxInt64-chunkRange {
		return start + chunkRange
	}
	return math.MaxInt64 // saturated: the last range ends at the end of time
}

// cutLocked moves the open chunk to the head chunk files and opens a new
// one of encoding enc.
func (s *memSeries) cutLocked(h *Head, enc chunkenc.Encoding) {
	s.closeOpenLocked(h)
	switch enc {
	case chunkenc.EncXOR:
		s.xor.Reset()
		s.open = openXOR
	case chunkenc.EncHistogram:
		app, _ := chunkenc.NewHistogramChunk().Appender()
		s.extLocked().app = app
		s.open = openHist
	case chunkenc.EncFloatHistogram:
		app, _ := chunkenc.NewFloatHistogramChunk().Appender()
		s.extLocked().app = app
		s.open = openHist
	}
	h.metrics.chunksCreated.Inc()
	h.metrics.chunks.Inc()
	h.numChunks.Add(1)
}

// extLocked returns the series' seriesExt, creating it.
func (s *memSeries) extLocked() *seriesExt {
	if s.ext == nil {
		s.ext = &seriesExt{}
	}
	return s.ext
}

// closeOpenLocked writes the open chunk, if any, to the head chunk files
// and adds it to the full chunks. An open chunk without samples (a
// histogram append that failed after a cut) is dropped.
func (s *memSeries) closeOpenLocked(h *Head) {
	c := s.openChunkLocked()
	if c == nil {
		return
	}
	kept := false
	if c.NumSamples() > 0 {
		ref, err := h.chunks.Write(uint64(s.ref), s.openMinT, s.lastT, c.Encoding(), c.Bytes(), s.spilled)
		if err == nil {
			s.spilled = s.spilled || ref.InMemory()
			s.full = s.full.appendChunk(chunkMeta{ref: ref, minT: s.openMinT, maxT: s.lastT})
			kept = true
		} else {
			// Only a closed store fails, and only appends that race with
			// DB.Close get here; their samples are in the WAL.
			h.opts.Logger.Error("writing a full head chunk failed", "series", s.ref, "err", err)
		}
	}
	if !kept {
		h.metrics.chunks.Dec()
		h.numChunks.Add(-1)
	}
	s.dropOpenLocked()
}

// dropOpenLocked forgets the open chunk.
func (s *memSeries) dropOpenLocked() {
	switch s.open {
	case openXOR:
		s.xor = chunkenc.XORHead{}
	case openHist:
		s.ext.app = nil
	}
	s.open = openNone
}

// Rollback discards the batch. Series it created stay in memory, without a
// WAL record, until garbage collection finds them empty.
func (a *headAppender) Rollback() error {
	if a.done {
		return errAppenderDone
	}
	a.release()
	return nil
}

// release clears the pending marks and recycles the batch.
func (a *headAppender) release() {
	cur := stripeCursor{ss: a.h.series}
	for _, s := range a.touched {
		cur.lock(s)
		s.pending--
		if s.pendingApp == a.id {
			s.pendingApp, s.pendingT = 0, math.MinInt64
		}
	}
	cur.unlock()
	a.h.metrics.activeAppenders.Dec()
	a.done = true
	a.appendBatch.reset()
	batchPool.Put(a.appendBatch)
	a.appendBatch = nil
}
