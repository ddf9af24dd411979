package tsdb

import (
	"math"
	"sync"
	"sync/atomic"
	"unique"

	"github.com/vigil-monitoring/vigil/internal/model/histogram"
	"github.com/vigil-monitoring/vigil/internal/model/labels"
	"github.com/vigil-monitoring/vigil/internal/model/metadata"
	"github.com/vigil-monitoring/vigil/internal/storage"
	"github.com/vigil-monitoring/vigil/internal/tsdb/chunkenc"
	"github.com/vigil-monitoring/vigil/internal/tsdb/headchunks"
	"github.com/vigil-monitoring/vigil/internal/tsdb/tombstones"
	"github.com/vigil-monitoring/vigil/internal/tsdb/wal"
)

// Head is the in-memory part of the database: every series with its open
// chunk, the references of its full chunks (which live in the memory-mapped
// head chunk files, see headchunks), the postings index, and the WAL that
// makes it durable. Appends go to the head; queries read it.
//
// Locking: a series' mutable fields are guarded by the lock of the stripe
// its ref falls in (see stripeSeries); no goroutine ever holds two stripe
// locks at once. Lock order: a stripe lock, then the postings lock, the
// head chunk store's lock or the ref index's lock, never the other way
// round. walMu orders
// commits' WAL writes (see headAppender.log).
type Head struct {
	opts     Options
	metrics  *headMetrics
	symbols  *symbolTable
	series   *stripeSeries
	postings *memPostings
	wal      *wal.WAL
	chunks   *headchunks.Store

	// truncateMu serialises truncations: each writes a checkpoint.
	truncateMu sync.Mutex

	// walMu serialises deciding which series records a commit must write
	// with writing them, so a series record always precedes the first
	// samples that reference it in the WAL.
	walMu sync.Mutex

	lastRef    atomic.Uint64 // highest series ref issued; refs are never reused
	appenderID atomic.Uint32
	numSeries  atomic.Int64
	numChunks  atomic.Int64

	// minTime and maxTime bound the samples in the head; an empty head has
	// minTime == MaxInt64 and maxTime == MinInt64.
	minTime, maxTime atomic.Int64
	// minValidTime is the oldest time an append may carry: the last
	// truncation point, or at open the end of the newest block. Older
	// samples are out of bounds.
	minValidTime atomic.Int64
	// compactBound is the end of the range a head compaction is
	// persisting (MinInt64 when none ever ran). Samples older than it are
	// out of bounds too, checked again at commit under the series lock:
	// the compaction stores the bound before it reads any series, so a
	// commit's sample is either seen by the compaction or rejected, never
	// acknowledged and then dropped by the truncation that follows.
	compactBound atomic.Int64

	// stones are the head's deletions (see Head.Delete); stonesMu orders
	// adding to them with replacing them at truncation. The pointer is
	// replaced, the Stones it points to are safe for concurrent use.
	stones   atomic.Pointer[tombstones.Stones]
	stonesMu sync.Mutex

	// readers tracks open queriers for the DB, which waits for those that
	// cannot see a new block before truncating the head under them.
	readers headReaders

	// compactNotify, when set, receives a non-blocking signal after a
	// commit that left the head compactable.
	compactNotify chan<- struct{}

	chunkRange int64 // milliseconds
	replay     *ReplayProgress

	// ooo holds the out-of-order window and the series with out-of-order
	// samples (see head_ooo.go).
	ooo *headOOO
}

// appendMinValid returns the oldest time an append may carry.
func (h *Head) appendMinValid() int64 {
	return max(h.minValidTime.Load(), h.compactBound.Load())
}

// compactable reports whether the head spans more than one and a half
// block ranges, so its oldest range can be persisted while the newest
// half range still takes late samples.
func (h *Head) compactable() bool {
	mint, maxt := h.MinTime(), h.MaxTime()
	if mint == math.MaxInt64 || maxt == math.MinInt64 {
		return false
	}
	return maxt-mint > h.blockRange()/2*3
}

// blockRange returns the range of a block written from the head, in
// milliseconds.
func (h *Head) blockRange() int64 { return h.opts.MinBlockDuration.Milliseconds() }

// memSeries is one series in the head. It is kept small: the head holds
// one per active series, and memory per series is budgeted (see
// docs/architecture.md). What is rare lives behind ext; full chunks are a
// packed list of references (chunkList); the open float chunk is held by
// value, so a float series is this struct, its label string and the open
// chunk's bytes.
type memSeries struct {
	ref  storage.SeriesRef
	hash uint64 // the label set's Hash(), the key of the hash index
	// lbls are the labels as symbol ids (see symbolTable); immutable.
	lbls seriesLabels

	// walLogged is set once the series record is in the WAL (see
	// Head.walMu).
	walLogged atomic.Bool

	// Fields below are guarded by the series' stripe lock.

	// pendingT is the newest time appended by appender pendingApp and not
	// yet committed, so an appender sees its own out-of-order samples at
	// Append time. pending counts appenders holding uncommitted samples;
	// a series with pending > 0 is never garbage collected.
	pendingApp uint32
	pending    int32

	// open is the kind of the chunk being appended to: openNone (a new
	// series, or its open chunk was truncated away), openXOR (in xor and
	// xapp) or openHist (in ext.app).
	open uint8
	// spilled is set while some full chunk is an overflow chunk in memory
	// (the disk could not take it). Later chunks then go to memory too
	// until truncation moves them to a file in order: the prefix rule of
	// headchunks.Store, which recovery relies on.
	spilled bool
	// deleted is set when garbage collection removed the series from the
	// indexes; an appender that raced with it looks the labels up again.
	deleted bool
	// The fields are ordered so that these flags fill what would be
	// padding: the struct is 176 bytes, a size class of its own.

	pendingT int64 // see pendingApp

	// openMinT is the time of the open chunk's first sample. The open
	// chunk's last sample is the series' newest: lastT.
	openMinT int64
	// lastT is the time of the newest committed sample (MinInt64 when
	// none); lastV its value when a float (a histogram's is in ext).
	lastT int64
	lastV float64

	// full are the completed chunks, oldest first.
	full chunkList

	// The open float chunk, when open == openXOR. INVARIANT: then lastT
	// and lastV are its newest sample.
	xor chunkenc.XORHead

	ext *seriesExt
}

// Kinds of open chunk.
const (
	openNone uint8 = iota
	openXOR
	openHist
)

// seriesExt holds what few series need: the open chunk of a histogram
// series and its newest value for duplicate detection, and metadata
// (which scrapes record only when asked to).
type seriesExt struct {
	app    chunkenc.Appender // the open histogram chunk
	lastH  *histogram.Histogram
	lastFH *histogram.FloatHistogram
	// meta is interned: series of one metric family share it.
	meta unique.Handle[metadata.Metadata] // zero when none
	// ooo holds out-of-order samples (see head_ooo.go); nil when none.
	ooo *oooBuffer
}

func newMemSeries(ref storage.SeriesRef, hash uint64, lbls seriesLabels) *memSeries {
	return &memSeries{ref: ref, hash: hash, lbls: lbls, lastT: math.MinInt64, pendingT: math.MinInt64}
}

// openChunkLocked returns the open chunk, nil when there is none.
func (s *memSeries) openChunkLocked() chunkenc.Chunk {
	switch s.open {
	case openXOR:
		return s.xor.Chunk()
	case openHist:
		return s.ext.app.Chunk()
	}
	return nil
}

// minTimeLocked returns the time of the oldest sample, MaxInt64 if none.
func (s *memSeries) minTimeLocked() int64 {
	if c, ok := s.full.first(); ok {
		return c.minT
	}
	if s.open != openNone {
		return s.openMinT
	}
	return math.MaxInt64
}

// metadata returns the series' metadata, if it has any.
func (s *memSeries) metadata() (metadata.Metadata, bool) {
	if s.ext == nil || s.ext.meta == (unique.Handle[metadata.Metadata]{}) {
		return metadata.Metadata{}, false
	}
	return s.ext.meta.Value(), true
}

// stripeLock is a lock padded to its own cache line, so neighbouring
// stripes do not contend through false sharing.
type stripeLock struct {
	sync.RWMutex
	_ [40]byte
}

// stripeSeries finds series by ref and by label hash. The ref index is one
// lock-free paged array (refIndex); the hash index is split into stripes,
// each with its own table and lock.
//
// A ref's stripe is its run of 1<<stripeShift consecutive refs, not its
// low bits: a scrape's series are created together and so get consecutive
// refs, and an appender walking them in order takes each stripe lock once
// per run instead of once per sample (see stripeCursor).
//
// INVARIANT: locks[i] guards byHash[i] and the mutable fields of every
// series whose ref's stripe is i.
type stripeSeries struct {
	syms   *symbolTable
	mask   uint64
	locks  []stripeLock
	byRef  refIndex
	byHash []seriesTable
}

const stripeShift = 6

func newStripeSeries(size int, syms *symbolTable) *stripeSeries {
	s := &stripeSeries{
		syms:   syms,
		mask:   uint64(size - 1),
		locks:  make([]stripeLock, size),
		byHash: make([]seriesTable, size),
	}
	for i := range s.byHash {
		s.byHash[i].byHash = true
	}
	return s
}

// stripe returns the index of ref's stripe.
func (s *stripeSeries) stripe(ref storage.SeriesRef) uint64 {
	return (uint64(ref) >> stripeShift) & s.mask
}

func (s *stripeSeries) refLock(ref storage.SeriesRef) *stripeLock {
	return &s.locks[s.stripe(ref)]
}

// getByRef returns the series with ref, nil if none. It takes no lock: a
// caller that then locks the series must check memSeries.deleted.
func (s *stripeSeries) getByRef(ref storage.SeriesRef) *memSeries {
	return s.byRef.get(ref)
}

// walk calls f for the series in ref order, a stripe run at a time,
// holding that run's stripe lock (the write lock when write is set).
// Series created meanwhile may be missed. f must not keep run.
func (s *stripeSeries) walk(write bool, f func(run []*memSeries)) {
	var run []*memSeries
	call := func(lock *stripeLock, gather func()) {
		if write {
			lock.Lock()
		} else {
			lock.RLock()
		}
		run = run[:0]
		gather()
		if len(run) > 0 {
			f(run)
		}
		if write {
			lock.Unlock()
		} else {
			lock.RUnlock()
		}
	}
	const runLen = 1 << stripeShift
	pages := s.byRef.pages()
	for p := range pages {
		pg := pages[p].Load()
		if pg == nil {
			continue
		}
		for off := 0; off < refPageSize; off += runLen {
			first := storage.SeriesRef(p<<refPageBits + off)
			call(s.refLock(first), func() {
				for i := off; i < off+runLen; i++ {
					if ms := pg.slots[i].Load(); ms != nil {
						run = append(run, ms)
					}
				}
			})
		}
	}
	for _, ms := range s.byRef.overflowSeries() {
		call(s.refLock(ms.ref), func() {
			if s.byRef.get(ms.ref) == ms {
				run = append(run, ms)
			}
		})
	}
}

// deleteByRef removes the series from the ref index. The caller holds
// their stripe locks.
func (s *stripeSeries) deleteByRef(series []*memSeries) {
	s.byRef.mu.Lock()
	for _, ms := range series {
		s.byRef.deleteLocked(ms)
	}
	s.byRef.mu.Unlock()
}

func (s *stripeSeries) getByHash(hash uint64, lset labels.Labels) *memSeries {
	i := hash & s.mask
	s.locks[i].RLock()
	ms := s.byHash[i].getLabels(hash, lset, s.syms)
	s.locks[i].RUnlock()
	return ms
}

// getOrCreate returns the series with lset, creating it with create if
// needed. create runs under the hash stripe's lock, before the series is
// visible. created reports whether it did.
func (s *stripeSeries) getOrCreate(hash uint64, lset labels.Labels, create func() *memSeries) (ms *memSeries, created bool) {
	if ms := s.getByHash(hash, lset); ms != nil {
		return ms, false
	}
	i := hash & s.mask
	s.locks[i].Lock()
	if ms := s.byHash[i].getLabels(hash, lset, s.syms); ms != nil {
		s.locks[i].Unlock()
		return ms, false
	}
	ms = create()
	s.byHash[i].insert(ms)
	s.locks[i].Unlock()
	s.setByRef(ms)
	return ms, true
}

// setByRef adds ms to the ref index.
func (s *stripeSeries) setByRef(ms *memSeries) {
	s.byRef.insert(ms)
}

// deleteByHash removes ms from the hash index.
func (s *stripeSeries) deleteByHash(ms *memSeries) {
	i := ms.hash & s.mask
	s.locks[i].Lock()
	s.byHash[i].delete(ms)
	s.locks[i].Unlock()
}
