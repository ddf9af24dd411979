package tsdb

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/vigil-monitoring/vigil/internal/storage"
	"github.com/vigil-monitoring/vigil/internal/tsdb/chunkenc"
	"github.com/vigil-monitoring/vigil/internal/tsdb/record"
	"github.com/vigil-monitoring/vigil/internal/tsdb/wal"
)

// Out-of-order ingestion (Options.OutOfOrderTimeWindow).
//
// A sample that cannot go in order -- older than its series' newest
// sample, or older than the head's in-order lower bound -- is accepted
// while it is not older than the head's newest sample minus the window.
// It goes to its series' oooBuffer, not to the in-order chunks, so the
// in-order path keeps its simple append-only chunks.
//
// Queries read the buffers through a querier of their own merged after
// the head's (DB.Querier), so at a time held both in order and out of
// order the in-order sample wins. Head compaction persists, with each
// block range, the buffered samples older than that range's end: those
// of the range itself go into its block, older ones into blocks of
// their own ranges, which overlap blocks already on disk until leveled
// compaction merges them (see DB.compactHeadOnce).
//
// Durability: a commit writes its samples to the WAL as usual before
// applying them, and after applying writes the ones that went out of
// order once more, as record.OutOfOrder records; replay puts those in the
// buffers and drops the in-order copies as out of order, as it always
// did. The commit returns only after both writes, so what it
// acknowledges is in the WAL. Writing after applying is what lets a
// relog (Head.relogOOO) stand for "everything before me is persisted or
// in me": the head writes one, the buffers' whole content, after
// persisting out-of-order samples. It replaces the buffers at replay only
// when complete, so a crash that tears it leaves the records before it
// in force. WAL checkpoints keep what replay of the segments they cover
// would buffer (wal.Checkpoint), so truncating the WAL needs no relog.
// docs/format/wal.md has the record layouts.
//
// Where Prometheus differs: it keeps out-of-order samples in a separate
// write-behind log and memory-maps full out-of-order chunks; it drops a
// second value at a buffered time silently (counted as out of order),
// where Vigil reports storage.ErrDuplicateSampleForTimestamp; and at a
// time held both in order and out of order which value a query returns
// is unspecified there, where Vigil returns the in-order one. Blocks
// keep it too, except where out-of-order samples older than the head's
// lower bound went into a block of their own: merging overlapping
// blocks keeps the sample of the block that starts first (the older
// block on ties).

// oooChunkCap is how many samples a buffer's open run holds before it is
// sealed into an encoded chunk: inserting into a short sorted slice is
// cheap, and sealed chunks keep memory per sample close to the in-order
// chunks'.
const oooChunkCap = 32

// headOOO is the head's out-of-order state.
type headOOO struct {
	// window is Options.OutOfOrderTimeWindow, changed on reload.
	window atomic.Int64
	// on is set once the window was ever positive: from then on commits
	// check their samples against it (see applyOOOLocked), since an
	// appender may have taken a sample out of order before a reload
	// turned the window off.
	on atomic.Bool
	// samples counts the samples in all buffers, so queries skip the
	// out-of-order querier when there are none.
	samples atomic.Int64
	// logged is set once an out-of-order record is in the WAL and not yet
	// superseded by a relog (see Head.relogOOO).
	logged atomic.Bool

	// relog is a relog replay has read the header and some records of;
	// only WAL replay uses it.
	relog struct {
		want, got int
		staged    []oooStaged
	}

	// mu guards series: the series whose buffer is not empty. Lock
	// order: a stripe lock, then mu.
	mu     sync.Mutex
	series map[*memSeries]struct{}
}

func newHeadOOO(window int64) *headOOO {
	o := &headOOO{series: map[*memSeries]struct{}{}}
	o.setWindow(window)
	return o
}

func (o *headOOO) setWindow(ms int64) {
	o.window.Store(max(ms, 0))
	if ms > 0 {
		o.on.Store(true)
	}
}

// list returns the series holding out-of-order samples.
func (o *headOOO) list() []*memSeries {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := make([]*memSeries, 0, len(o.series))
	for s := range o.series {
		out = append(out, s)
	}
	return out
}

// oooBuffer is a series' out-of-order samples, guarded by its stripe
// lock. No timestamp appears twice across open, sealed and frozen.
type oooBuffer struct {
	open   []storage.Sample // sorted, shorter than oooChunkCap
	sealed []oooChunk       // each sorted; they may overlap one another
	// frozen are the chunks a head compaction is persisting: still read
	// by queries, dropped once the blocks holding them are loaded.
	frozen []oooChunk
}

// oooChunk is a sorted run of out-of-order samples: XOR-encoded when all
// are floats, else kept as they are (histograms out of order are rare).
type oooChunk struct {
	minT, maxT int64
	n          int
	xor        []byte
	samples    []storage.Sample
}

// appendTo appends the chunk's samples to dst.
func (c oooChunk) appendTo(dst []storage.Sample) []storage.Sample {
	if c.xor == nil {
		return append(dst, c.samples...)
	}
	chk, err := chunkenc.FromData(chunkenc.EncXOR, c.xor)
	if err != nil {
		panic(fmt.Sprintf("tsdb: out-of-order chunk does not decode: %v", err)) // built by sealOOO
	}
	it := chk.Iterator(nil)
	for it.Next() != storage.ValNone {
		t, v := it.At()
		dst = append(dst, storage.Sample{T: t, F: v})
	}
	return dst
}

// sealOOO encodes sorted samples as chunks of at most oooChunkCap.
func sealOOO(samples []storage.Sample) []oooChunk {
	var out []oooChunk
	for len(samples) > 0 {
		n := min(len(samples), oooChunkCap)
		run := samples[:n]
		samples = samples[n:]
		c := oooChunk{minT: run[0].T, maxT: run[n-1].T, n: n}
		floats := true
		for _, s := range run {
			if s.H != nil || s.FH != nil {
				floats = false
				break
			}
		}
		if floats {
			x := chunkenc.NewXORChunk()
			app, _ := x.Appender() // cannot fail on a new chunk
			for _, s := range run {
				app.Append(s.T, s.F)
			}
			c.xor = slices.Clip(x.Bytes())
		} else {
			c.samples = slices.Clone(run)
		}
		out = append(out, c)
	}
	return out
}

// all returns the buffer's samples, sorted, frozen ones included when
// withFrozen, frozen ones only when frozenOnly.
func (b *oooBuffer) all(withFrozen, frozenOnly bool, mint, maxt int64) []storage.Sample {
	var out []storage.Sample
	add := func(cs []oooChunk) {
		for _, c := range cs {
			if c.maxT >= mint && c.minT <= maxt {
				out = c.appendTo(out)
			}
		}
	}
	if !frozenOnly {
		out = append(out, b.open...)
		add(b.sealed)
	}
	if withFrozen || frozenOnly {
		add(b.frozen)
	}
	out = slices.DeleteFunc(out, func(s storage.Sample) bool { return s.T < mint || s.T > maxt })
	slices.SortFunc(out, func(a, b storage.Sample) int {
		switch {
		case a.T < b.T:
			return -1
		case a.T > b.T:
			return 1
		}
		return 0
	})
	return out
}

// find returns the buffered sample at t.
func (b *oooBuffer) find(t int64) (storage.Sample, bool) {
	if i, ok := slices.BinarySearchFunc(b.open, t, func(s storage.Sample, t int64) int { return cmpInt64(s.T, t) }); ok {
		return b.open[i], true
	}
	for _, cs := range [][]oooChunk{b.sealed, b.frozen} {
		for _, c := range cs {
			if t < c.minT || t > c.maxT {
				continue
			}
			for _, s := range c.appendTo(nil) {
				if s.T == t {
					return s, true
				}
			}
		}
	}
	return storage.Sample{}, false
}

func cmpInt64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// insert adds smp. The same sample again is a no-op (dup); another value
// at a time already held is a conflict: the first one stays.
func (b *oooBuffer) insert(smp storage.Sample) (dup bool, err error) {
	if old, ok := b.find(smp.T); ok {
		if storage.SameSample(old, smp) {
			return true, nil
		}
		return false, storage.ErrDuplicateSampleForTimestamp
	}
	i, _ := slices.BinarySearchFunc(b.open, smp.T, func(s storage.Sample, t int64) int { return cmpInt64(s.T, t) })
	b.open = slices.Insert(b.open, i, smp)
	if len(b.open) >= oooChunkCap {
		b.sealed = append(b.sealed, sealOOO(b.open)...)
		b.open = nil
	}
	return false, nil
}

func (b *oooBuffer) empty() bool {
	return len(b.open) == 0 && len(b.sealed) == 0 && len(b.frozen) == 0
}

// oooLocked returns the series' buffer, nil when it has none.
func (s *memSeries) oooLocked() *oooBuffer {
	if s.ext == nil {
		return nil
	}
	return s.ext.ooo
}

// oooRangeLocked returns the times of the series' oldest and newest
// out-of-order samples, MaxInt64 and MinInt64 when it has none.
func (s *memSeries) oooRangeLocked() (mint, maxt int64) {
	mint, maxt = math.MaxInt64, math.MinInt64
	if b := s.oooLocked(); b != nil {
		if len(b.open) > 0 {
			mint, maxt = b.open[0].T, b.open[len(b.open)-1].T
		}
		for _, cs := range [][]oooChunk{b.sealed, b.frozen} {
			for _, c := range cs {
				mint, maxt = min(mint, c.minT), max(maxt, c.maxT)
			}
		}
	}
	return mint, maxt
}

// hasOOOLocked reports whether the series holds out-of-order samples:
// garbage collection must keep it (and its labels) until they are
// persisted.
func (s *memSeries) hasOOOLocked() bool { return s.oooLocked() != nil }

// oooWindow returns the out-of-order window in milliseconds, 0 when off.
func (h *Head) oooWindow() int64 { return h.ooo.window.Load() }

// oooMinValid returns the oldest time an out-of-order sample may carry:
// the window behind the head's newest sample, or behind newest (the
// series' newest, which a commit may not have added to the head's bounds
// yet) or the head's in-order lower bound when later (while the head is
// empty, as after a restart with only blocks).
func (h *Head) oooMinValid(newest int64) int64 {
	ref := max(h.MaxTime(), h.minValidTime.Load(), newest)
	w := h.oooWindow()
	if ref < math.MinInt64+w {
		return math.MinInt64
	}
	return ref - w
}

// admitOOO decides at Append time on a sample that cannot be appended
// in order, err being the reason (storage.ErrOutOfOrderSample or
// ErrOutOfBounds): nil when the out-of-order window takes it,
// storage.ErrTooOldSample when it is behind the window, err itself when
// the window is off. It counts the rejections but out-of-order ones,
// which the caller counts as it did before the window existed.
func (h *Head) admitOOO(t int64, err error, typ string) error {
	return h.admitOOOAt(t, math.MinInt64, err, typ)
}

// admitOOOAt is admitOOO with newest as for oooMinValid.
func (h *Head) admitOOOAt(t, newest int64, err error, typ string) error {
	if h.oooWindow() <= 0 {
		if errors.Is(err, storage.ErrOutOfBounds) {
			h.metrics.outOfBound.WithLabelValues(typ).Inc()
		}
		return err
	}
	if t < h.oooMinValid(newest) {
		h.metrics.tooOld.WithLabelValues(typ).Inc()
		return storage.ErrTooOldSample
	}
	return nil
}

// admitOOOLocked is admitOOO for a sample of s, whose stripe lock the
// caller holds: a time the series' buffer holds with another value is a
// conflict already at Append time (the commit checks again).
func (h *Head) admitOOOLocked(s *memSeries, smp storage.Sample, err error, typ string) error {
	if err = h.admitOOOAt(smp.T, s.lastT, err, typ); err != nil {
		return err
	}
	if b := s.oooLocked(); b != nil {
		if old, ok := b.find(smp.T); ok && !storage.SameSample(old, smp) {
			return storage.ErrDuplicateSampleForTimestamp
		}
	}
	return nil
}

// oooBatch collects the samples one commit put out of order, for the
// record written after applying them.
type oooBatch struct {
	floats []record.RefSample
	hists  []record.RefHistogramSample
	fhists []record.RefFloatHistogramSample
}

// applyOOOLocked is the commit's step for smp once the out-of-order
// window was ever on: it reports false when smp goes in order, and
// otherwise inserts it in the series' buffer, noting it for the
// out-of-order record, or adds why not to errs. The caller holds s's
// stripe lock.
func (a *headAppender) applyOOOLocked(s *memSeries, smp storage.Sample, errs *commitErrors) (handled bool) {
	h := a.h
	// Loaded under the series lock: see Head.compactBound. A time equal
	// to the newest goes in order, to be checked as a repeat.
	if smp.T >= h.appendMinValid() && smp.T >= s.lastT {
		return false
	}
	if h.oooWindow() <= 0 {
		// Turned off since Append took it: rejected as without a window.
		if smp.T < h.appendMinValid() {
			errs.add(storage.ErrOutOfBounds)
			return true
		}
		return false
	}
	typ := "float"
	if smp.H != nil || smp.FH != nil {
		typ = "histogram"
	}
	if smp.T < h.oooMinValid(s.lastT) {
		h.metrics.tooOld.WithLabelValues(typ).Inc()
		errs.add(storage.ErrTooOldSample)
		return true
	}
	dup, err := h.insertOOOLocked(s, smp)
	if err != nil {
		errs.add(err)
	}
	if err != nil || dup {
		return true
	}
	h.metrics.oooAppended.WithLabelValues(typ).Inc()
	if a.ooo == nil {
		a.ooo = &oooBatch{}
	}
	switch {
	case smp.H != nil:
		a.ooo.hists = append(a.ooo.hists, record.RefHistogramSample{Ref: s.ref, T: smp.T, H: smp.H})
	case smp.FH != nil:
		a.ooo.fhists = append(a.ooo.fhists, record.RefFloatHistogramSample{Ref: s.ref, T: smp.T, FH: smp.FH})
	default:
		a.ooo.floats = append(a.ooo.floats, record.RefSample{Ref: s.ref, T: smp.T, V: smp.F})
	}
	return true
}

// insertOOOLocked puts smp in the series' buffer, creating it. The
// caller holds s's stripe lock.
func (h *Head) insertOOOLocked(s *memSeries, smp storage.Sample) (dup bool, err error) {
	b := s.oooLocked()
	if b == nil {
		b = &oooBuffer{}
	}
	if dup, err = b.insert(smp); err != nil || dup {
		return dup, err
	}
	if s.ext == nil || s.ext.ooo == nil {
		s.extLocked().ooo = b
		h.ooo.mu.Lock()
		h.ooo.series[s] = struct{}{}
		h.ooo.mu.Unlock()
	}
	h.ooo.samples.Add(1)
	return false, nil
}

// logOOO writes the out-of-order samples the commit applied. See the
// comment at the top of this file for why after applying.
func (a *headAppender) logOOO() error {
	b := a.ooo
	a.ooo = nil
	h := a.h
	if b == nil || h.wal == nil {
		return nil
	}
	recs := encodeOOO(nil, wal.OOOSamples, b)
	h.walMu.Lock()
	defer h.walMu.Unlock()
	h.ooo.logged.Store(true)
	if err := h.wal.Log(recs...); err != nil {
		a.h.metrics.commitFailures.Inc()
		return fmt.Errorf("tsdb: commit: write out-of-order samples to WAL (they are applied but not durable): %w", err)
	}
	return nil
}

// oooStaged is a sample of a relog being replayed.
type oooStaged struct {
	ref storage.SeriesRef
	smp storage.Sample
}

// oooRecordMax is the most samples one out-of-order record holds: a
// record must fit in a WAL segment, and a relog holds all the buffered
// samples.
const oooRecordMax = 1 << 13

// encodeOOO appends to recs the out-of-order records of b, of kind
// wal.OOOSamples or wal.OOORelogSamples.
func encodeOOO(recs [][]byte, kind wal.OOOKind, b *oooBatch) [][]byte {
	wrap := wal.OOOPrefix(kind)
	for fs := b.floats; len(fs) > 0; fs = fs[min(len(fs), oooRecordMax):] {
		recs = append(recs, record.EncodeSamples(slices.Clone(wrap), fs[:min(len(fs), oooRecordMax)]))
	}
	for hs := b.hists; len(hs) > 0; hs = hs[min(len(hs), oooRecordMax):] {
		recs = append(recs, record.EncodeHistogramSamples(slices.Clone(wrap), hs[:min(len(hs), oooRecordMax)]))
	}
	for fhs := b.fhists; len(fhs) > 0; fhs = fhs[min(len(fhs), oooRecordMax):] {
		recs = append(recs, record.EncodeFloatHistogramSamples(slices.Clone(wrap), fhs[:min(len(fhs), oooRecordMax)]))
	}
	return recs
}

// relogOOO writes every buffered sample as a relog (a header counting
// the records that follow, then those records; a reset marker when there
// is nothing buffered), so that replay forgets the out-of-order records
// before it: their samples are either persisted in blocks by now or in
// the relog. Head compaction calls it after persisting out-of-order
// samples. Replay applies a relog only once it has read all of it, so a
// crash that tears it replays the records before it, samples just
// persisted included (persisted again later, see DB.compactHeadOnce),
// and loses nothing.
//
// It holds walMu while it reads the buffers: a commit writes its
// out-of-order record after applying, under walMu, so a record before
// the relog is of samples the buffers held when they were read.
func (h *Head) relogOOO() error {
	if h.wal == nil || (h.ooo.samples.Load() == 0 && !h.ooo.logged.Load()) {
		return nil // nothing was ever logged out of order: the common case
	}
	h.walMu.Lock()
	defer h.walMu.Unlock()
	list := h.ooo.list()
	if len(list) == 0 && !h.ooo.logged.Load() {
		return nil
	}
	var b oooBatch
	stones := h.stones.Load()
	for _, s := range list {
		ivs := stones.Get(s.ref) // deleted samples are left out for good
		lock := h.series.refLock(s.ref)
		lock.RLock()
		if buf := s.oooLocked(); buf != nil {
			for _, smp := range buf.all(true, false, math.MinInt64, math.MaxInt64) {
				if ivs.Contains(smp.T) {
					continue
				}
				switch {
				case smp.H != nil:
					b.hists = append(b.hists, record.RefHistogramSample{Ref: s.ref, T: smp.T, H: smp.H})
				case smp.FH != nil:
					b.fhists = append(b.fhists, record.RefFloatHistogramSample{Ref: s.ref, T: smp.T, FH: smp.FH})
				default:
					b.floats = append(b.floats, record.RefSample{Ref: s.ref, T: smp.T, V: smp.F})
				}
			}
		}
		lock.RUnlock()
	}
	recs := [][]byte{{byte(record.OutOfOrder)}} // nothing buffered: a reset
	if members := encodeOOO(nil, wal.OOORelogSamples, &b); len(members) > 0 {
		recs = append([][]byte{wal.OOORelogHeaderRecord(len(members))}, members...)
	}
	if err := h.wal.Log(recs...); err != nil {
		return fmt.Errorf("log out-of-order samples again: %w", err)
	}
	h.ooo.logged.Store(len(list) > 0)
	return nil
}

// replayOOO applies an out-of-order record during WAL replay: a reset
// marker empties the buffers, samples go into them, and a relog's
// records are held until the last one arrives, then replace the buffers.
// A relog cut short by a crash is followed by another kind of record or
// by nothing: its samples are copies of buffered ones, so it is dropped.
// The reading goroutine calls it in WAL order; the workers appending
// in-order samples meanwhile hold the stripe locks it takes.
func (h *Head) replayOOO(rec []byte, lookup func(storage.SeriesRef) *memSeries) error {
	kind, inner, n, err := wal.ParseOOO(rec)
	if err != nil {
		return err
	}
	rl := &h.ooo.relog
	if kind != wal.OOORelogSamples || rl.want == 0 {
		rl.want, rl.got, rl.staged = 0, 0, nil
	}
	switch kind {
	case wal.OOOReset:
		h.resetOOO()
		return nil
	case wal.OOORelogHeader:
		rl.want = n
		return nil
	case wal.OOORelogSamples:
		if rl.want == 0 {
			break // a stray part of a torn relog: copies, insert as such
		}
		if err := decodeOOO(inner, func(ref storage.SeriesRef, smp storage.Sample) {
			rl.staged = append(rl.staged, oooStaged{ref, smp})
		}); err != nil {
			return err
		}
		if rl.got++; rl.got < rl.want {
			return nil
		}
		staged := rl.staged
		rl.want, rl.got, rl.staged = 0, 0, nil
		h.resetOOO()
		for _, st := range staged {
			h.replayInsertOOO(st.ref, st.smp, lookup)
		}
		h.ooo.logged.Store(true)
		return nil
	}
	if err := decodeOOO(inner, func(ref storage.SeriesRef, smp storage.Sample) {
		h.replayInsertOOO(ref, smp, lookup)
	}); err != nil {
		return err
	}
	h.ooo.logged.Store(true)
	return nil
}

// resetOOO empties every out-of-order buffer (during replay).
func (h *Head) resetOOO() {
	for _, s := range h.ooo.list() {
		lock := h.series.refLock(s.ref)
		lock.Lock()
		h.dropOOOLocked(s, false)
		lock.Unlock()
	}
}

// replayInsertOOO puts a replayed out-of-order sample in its series'
// buffer.
func (h *Head) replayInsertOOO(ref storage.SeriesRef, smp storage.Sample, lookup func(storage.SeriesRef) *memSeries) {
	s := lookup(ref)
	if s == nil {
		h.metrics.unknownRefs.WithLabelValues("out-of-order").Inc()
		return
	}
	lock := h.series.refLock(s.ref)
	lock.Lock()
	_, _ = h.insertOOOLocked(s, smp) // a repeat after a crash between two logs
	lock.Unlock()
}

// decodeOOO calls fn for each sample of the samples record inner.
func decodeOOO(inner []byte, fn func(storage.SeriesRef, storage.Sample)) error {
	switch record.TypeOf(inner) {
	case record.Samples:
		ss, err := record.DecodeSamples(inner, nil)
		if err != nil {
			return err
		}
		for _, s := range ss {
			fn(s.Ref, storage.Sample{T: s.T, F: s.V})
		}
	case record.HistogramSamples:
		ss, err := record.DecodeHistogramSamples(inner, nil)
		if err != nil {
			return err
		}
		for _, s := range ss {
			fn(s.Ref, storage.Sample{T: s.T, H: s.H})
		}
	case record.FloatHistogramSamples:
		ss, err := record.DecodeFloatHistogramSamples(inner, nil)
		if err != nil {
			return err
		}
		for _, s := range ss {
			fn(s.Ref, storage.Sample{T: s.T, FH: s.FH})
		}
	default:
		return fmt.Errorf("%w: out-of-order record wraps %v", record.ErrInvalid, record.TypeOf(inner))
	}
	return nil
}

// dropOOOLocked empties the series' buffer, or only its frozen chunks
// when frozenOnly, and forgets the series once nothing is left. The
// caller holds s's stripe lock.
func (h *Head) dropOOOLocked(s *memSeries, frozenOnly bool) {
	b := s.oooLocked()
	if b == nil {
		return
	}
	n := 0
	for _, c := range b.frozen {
		n += c.n
	}
	b.frozen = nil
	if !frozenOnly {
		n += len(b.open)
		for _, c := range b.sealed {
			n += c.n
		}
		b.open, b.sealed = nil, nil
	}
	h.ooo.samples.Add(-int64(n))
	if b.empty() {
		s.ext.ooo = nil
		h.ooo.mu.Lock()
		delete(h.ooo.series, s)
		h.ooo.mu.Unlock()
	}
}

// freezeOOO moves the buffered samples older than maxt to the frozen
// chunks, for a head compaction to persist, and returns the starts of the
// block ranges (of length blockRange) that frozen samples fall in,
// ascending. Frozen chunks left by a failed compaction stay frozen.
func (h *Head) freezeOOO(maxt, blockRange int64) []int64 {
	// A relog torn at the WAL's end stays staged after replay; replay is
	// over by now.
	h.ooo.relog.want, h.ooo.relog.got, h.ooo.relog.staged = 0, 0, nil
	starts := map[int64]struct{}{}
	for _, s := range h.ooo.list() {
		lock := h.series.refLock(s.ref)
		lock.Lock()
		if b := s.oooLocked(); b != nil {
			live := b.all(false, false, math.MinInt64, math.MaxInt64)
			i, _ := slices.BinarySearchFunc(live, maxt, func(s storage.Sample, t int64) int { return cmpInt64(s.T, t) })
			if i > 0 {
				b.frozen = append(b.frozen, sealOOO(live[:i])...)
				rest := live[i:]
				full := len(rest) / oooChunkCap * oooChunkCap
				b.sealed = sealOOO(rest[:full])
				b.open = slices.Clone(rest[full:])
			}
			for _, smp := range b.all(false, true, math.MinInt64, math.MaxInt64) {
				starts[rangeStart(smp.T, blockRange)] = struct{}{}
			}
		}
		lock.Unlock()
	}
	out := make([]int64, 0, len(starts))
	for t := range starts {
		out = append(out, t)
	}
	slices.Sort(out)
	return out
}

// rangeStart returns the start of the range of length r holding t,
// saturated at MinInt64.
func rangeStart(t, r int64) int64 {
	m := t % r
	if m >= 0 {
		return t - m
	}
	if end := t - m; end >= math.MinInt64+r {
		return end - r
	}
	return math.MinInt64
}

// dropFrozenOOO drops the frozen chunks, now persisted.
func (h *Head) dropFrozenOOO() {
	for _, s := range h.ooo.list() {
		lock := h.series.refLock(s.ref)
		lock.Lock()
		h.dropOOOLocked(s, true)
		lock.Unlock()
	}
}
