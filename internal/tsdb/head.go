package tsdb

import (
	"math"
	"sync"
	"sync/atomic"

	"github.com/vigil-monitoring/vigil/internal/model/histogram"
	"github.com/vigil-monitoring/vigil/internal/model/labels"
	"github.com/vigil-monitoring/vigil/internal/model/metadata"
	"github.com/vigil-monitoring/vigil/internal/storage"
	"github.com/vigil-monitoring/vigil/internal/tsdb/chunkenc"
	"github.com/vigil-monitoring/vigil/internal/tsdb/wal"
)

// Head is the in-memory part of the database: every series with its open
// chunk and recent full chunks, the postings index, and the WAL that makes
// it durable. Appends go to the head; queries read it.
//
// Locking: a series' mutable fields are guarded by the lock of the stripe
// its ref falls in (see stripeSeries); no goroutine ever holds two stripe
// locks at once. walMu orders commits' WAL writes (see headAppender.log).
type Head struct {
	opts     Options
	metrics  *headMetrics
	series   *stripeSeries
	postings *memPostings
	wal      *wal.WAL

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
	// truncation point. Older samples are out of bounds.
	minValidTime atomic.Int64

	chunkRange int64 // milliseconds
	replay     *ReplayProgress
}

// memSeries is one series in the head. It is kept small: the head holds
// one per active series, and memory per series is budgeted (see
// docs/architecture.md).
type memSeries struct {
	ref  storage.SeriesRef
	lset labels.Labels

	// walLogged is set once the series record is in the WAL (see
	// Head.walMu).
	walLogged atomic.Bool

	// Fields below are guarded by the series' stripe lock.

	// open is the chunk being appended to; open.app is nil when there is
	// none (a new series, or after the open chunk was truncated away).
	open openChunk
	// full are completed chunks, oldest first.
	// INVARIANT: full is only appended to or resliced from the front,
	// never modified in place, so readers may keep a copy of the slice
	// header without holding the lock.
	full []fullChunk

	// lastT is the time of the newest committed sample (MinInt64 when
	// none); lastV its value when a float, lastHist when a histogram.
	lastT    int64
	lastV    float64
	lastHist *lastHistogram

	// pendingT is the newest time appended by appender pendingApp and not
	// yet committed, so an appender sees its own out-of-order samples at
	// Append time. pending counts appenders holding uncommitted samples;
	// a series with pending > 0 is never garbage collected.
	pendingT   int64
	pendingApp uint32
	pending    int32
	// deleted is set when garbage collection removed the series from the
	// indexes; an appender that raced with it looks the labels up again.
	deleted bool

	meta *metadata.Metadata
}

// lastHistogram holds a histogram series' newest value for duplicate
// detection; float series do not pay for it.
type lastHistogram struct {
	h  *histogram.Histogram
	fh *histogram.FloatHistogram
}

// openChunk is the chunk a series appends to.
type openChunk struct {
	app        chunkenc.Appender
	minT, maxT int64
}

// fullChunk is a completed, immutable chunk. When full chunks move to
// memory-mapped files (docs/format/head_chunks.md), chunk becomes a
// reference into them.
type fullChunk struct {
	chunk      chunkenc.Chunk
	minT, maxT int64
}

func newMemSeries(ref storage.SeriesRef, lset labels.Labels) *memSeries {
	return &memSeries{ref: ref, lset: lset, lastT: math.MinInt64, pendingT: math.MinInt64}
}

// minTimeLocked returns the time of the oldest sample, MaxInt64 if none.
func (s *memSeries) minTimeLocked() int64 {
	if len(s.full) > 0 {
		return s.full[0].minT
	}
	if s.open.app != nil {
		return s.open.minT
	}
	return math.MaxInt64
}

// maxTimeLocked returns the time of the newest sample, MinInt64 if none.
func (s *memSeries) maxTimeLocked() int64 {
	if s.open.app != nil {
		return s.open.maxT
	}
	if n := len(s.full); n > 0 {
		return s.full[n-1].maxT
	}
	return math.MinInt64
}

// stripeLock is a lock padded to its own cache line, so neighbouring
// stripes do not contend through false sharing.
type stripeLock struct {
	sync.RWMutex
	_ [40]byte
}

// stripeSeries finds series by ref and by label hash. Both indexes are
// split into stripes, each with its own map and lock.
//
// INVARIANT: locks[i] guards byRef[i], byHash[i], conflicts[i] and the
// mutable fields of every series whose ref&mask == i.
type stripeSeries struct {
	mask  uint64
	locks []stripeLock
	byRef []map[storage.SeriesRef]*memSeries
	// byHash holds the first series of each label hash; the rare others
	// with the same hash go to conflicts.
	byHash    []map[uint64]*memSeries
	conflicts []map[uint64][]*memSeries
}

func newStripeSeries(size int) *stripeSeries {
	s := &stripeSeries{
		mask:      uint64(size - 1),
		locks:     make([]stripeLock, size),
		byRef:     make([]map[storage.SeriesRef]*memSeries, size),
		byHash:    make([]map[uint64]*memSeries, size),
		conflicts: make([]map[uint64][]*memSeries, size),
	}
	for i := range size {
		s.byRef[i] = map[storage.SeriesRef]*memSeries{}
		s.byHash[i] = map[uint64]*memSeries{}
	}
	return s
}

func (s *stripeSeries) refLock(ref storage.SeriesRef) *stripeLock {
	return &s.locks[uint64(ref)&s.mask]
}

func (s *stripeSeries) getByRef(ref storage.SeriesRef) *memSeries {
	i := uint64(ref) & s.mask
	s.locks[i].RLock()
	ms := s.byRef[i][ref]
	s.locks[i].RUnlock()
	return ms
}

func (s *stripeSeries) getByHashLocked(i, hash uint64, lset labels.Labels) *memSeries {
	if ms := s.byHash[i][hash]; ms != nil && labels.Equal(ms.lset, lset) {
		return ms
	}
	for _, ms := range s.conflicts[i][hash] {
		if labels.Equal(ms.lset, lset) {
			return ms
		}
	}
	return nil
}

func (s *stripeSeries) getByHash(hash uint64, lset labels.Labels) *memSeries {
	i := hash & s.mask
	s.locks[i].RLock()
	ms := s.getByHashLocked(i, hash, lset)
	s.locks[i].RUnlock()
	return ms
}

// getOrCreate returns the series with lset, creating it with a ref from
// newRef if needed. created reports whether it did.
func (s *stripeSeries) getOrCreate(hash uint64, lset labels.Labels, newRef func() storage.SeriesRef) (ms *memSeries, created bool) {
	if ms := s.getByHash(hash, lset); ms != nil {
		return ms, false
	}
	i := hash & s.mask
	s.locks[i].Lock()
	if ms := s.getByHashLocked(i, hash, lset); ms != nil {
		s.locks[i].Unlock()
		return ms, false
	}
	ms = newMemSeries(newRef(), lset)
	if prev := s.byHash[i][hash]; prev == nil {
		s.byHash[i][hash] = ms
	} else {
		if s.conflicts[i] == nil {
			s.conflicts[i] = map[uint64][]*memSeries{}
		}
		s.conflicts[i][hash] = append(s.conflicts[i][hash], ms)
	}
	s.locks[i].Unlock()
	s.setByRef(ms)
	return ms, true
}

// setByRef adds ms to the ref index.
func (s *stripeSeries) setByRef(ms *memSeries) {
	j := uint64(ms.ref) & s.mask
	s.locks[j].Lock()
	s.byRef[j][ms.ref] = ms
	s.locks[j].Unlock()
}

// deleteByHash removes ms from the hash index.
func (s *stripeSeries) deleteByHash(hash uint64, ms *memSeries) {
	i := hash & s.mask
	s.locks[i].Lock()
	defer s.locks[i].Unlock()
	if s.byHash[i][hash] == ms {
		delete(s.byHash[i], hash)
		// Promote a conflicting series, if any, to the primary slot.
		if cs := s.conflicts[i][hash]; len(cs) > 0 {
			s.byHash[i][hash] = cs[0]
			s.setConflictsLocked(i, hash, cs[1:])
		}
		return
	}
	cs := s.conflicts[i][hash]
	for k, c := range cs {
		if c == ms {
			rest := append(cs[:k:k], cs[k+1:]...)
			s.setConflictsLocked(i, hash, rest)
			return
		}
	}
}

func (s *stripeSeries) setConflictsLocked(i, hash uint64, cs []*memSeries) {
	if len(cs) == 0 {
		delete(s.conflicts[i], hash)
		return
	}
	s.conflicts[i][hash] = cs
}
