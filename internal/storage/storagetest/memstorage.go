package storagetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/vigil-monitoring/vigil/internal/model/exemplar"
	"github.com/vigil-monitoring/vigil/internal/model/histogram"
	"github.com/vigil-monitoring/vigil/internal/model/labels"
	"github.com/vigil-monitoring/vigil/internal/model/metadata"
	"github.com/vigil-monitoring/vigil/internal/storage"
)

// MemStorage is a simple, correct in-memory storage: the reference the
// conformance suite is checked against and the backend of PromQL tests
// until the TSDB is wired in. It keeps every sample in a slice per series
// and indexes series by label pair. It never forgets anything.
//
// Queriers read without locks: a series' samples only ever grow by append,
// and a querier captures the slice header under the lock, so the prefix it
// reads is never written again.
type MemStorage struct {
	mu struct {
		sync.RWMutex
		// INVARIANT: byRef[i].ref == SeriesRef(i+1); refs are never reused,
		// so a stale ref can only miss, never hit the wrong series.
		byRef    []*memSeries
		byLabels map[labels.Labels]*memSeries
		// postings maps a label name to its values to the refs of the series
		// carrying that pair, ascending.
		postings map[string]map[string][]storage.SeriesRef
	}
}

type memSeries struct {
	ref  storage.SeriesRef
	lset labels.Labels
	// samples is guarded by MemStorage.mu; appends never modify elements
	// already present (see MemStorage).
	samples  []storage.Sample
	meta     metadata.Metadata
	exemplar []exemplar.Exemplar
}

// NewMemStorage returns an empty storage.
func NewMemStorage() *MemStorage {
	s := &MemStorage{}
	s.mu.byLabels = map[labels.Labels]*memSeries{}
	s.mu.postings = map[string]map[string][]storage.SeriesRef{}
	return s
}

// NumSeries returns the number of series created so far.
func (s *MemStorage) NumSeries() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.mu.byRef)
}

// Metadata returns the metadata last recorded for the series, if any.
func (s *MemStorage) Metadata(l labels.Labels) (metadata.Metadata, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	ms := s.mu.byLabels[l]
	if ms == nil || ms.meta == (metadata.Metadata{}) {
		return metadata.Metadata{}, false
	}
	return ms.meta, true
}

// Exemplars returns the exemplars recorded for the series.
func (s *MemStorage) Exemplars(l labels.Labels) []exemplar.Exemplar {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if ms := s.mu.byLabels[l]; ms != nil {
		return slices.Clone(ms.exemplar)
	}
	return nil
}

// getOrCreate finds the series by ref, then by labels, creating it.
func (s *MemStorage) getOrCreate(ref storage.SeriesRef, l labels.Labels) (*memSeries, error) {
	s.mu.RLock()
	ms := s.lookupLocked(ref, l)
	s.mu.RUnlock()
	if ms != nil {
		return ms, nil
	}
	if l.IsEmpty() {
		return nil, fmt.Errorf("empty label set: %w", storage.ErrInvalidSample)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if ms := s.mu.byLabels[l]; ms != nil {
		return ms, nil
	}
	ms = &memSeries{ref: storage.SeriesRef(len(s.mu.byRef) + 1), lset: l}
	s.mu.byRef = append(s.mu.byRef, ms)
	s.mu.byLabels[l] = ms
	l.Range(func(lb labels.Label) {
		vals := s.mu.postings[lb.Name]
		if vals == nil {
			vals = map[string][]storage.SeriesRef{}
			s.mu.postings[lb.Name] = vals
		}
		vals[lb.Value] = append(vals[lb.Value], ms.ref) // refs grow, so sorted
	})
	return ms, nil
}

func (s *MemStorage) lookupLocked(ref storage.SeriesRef, l labels.Labels) *memSeries {
	if ref > 0 && int(ref) <= len(s.mu.byRef) {
		return s.mu.byRef[ref-1]
	}
	return s.mu.byLabels[l]
}

// Appender implements storage.Appendable.
func (s *MemStorage) Appender(context.Context) storage.Appender {
	return &memAppender{s: s, last: map[*memSeries]storage.Sample{}}
}

type pendingSample struct {
	ms *memSeries
	storage.Sample
}

type memAppender struct {
	s       *MemStorage
	pending []pendingSample
	// last is the newest sample per series in this batch, so a batch is
	// checked against itself as well as against committed data.
	last map[*memSeries]storage.Sample
	meta []func()
	done bool
}

// newest returns the series' latest sample, pending or committed.
func (a *memAppender) newest(ms *memSeries) (storage.Sample, bool) {
	if s, ok := a.last[ms]; ok {
		return s, true
	}
	a.s.mu.RLock()
	defer a.s.mu.RUnlock()
	if n := len(ms.samples); n > 0 {
		return ms.samples[n-1], true
	}
	return storage.Sample{}, false
}

// check decides whether smp may follow prev: ErrOutOfOrderSample when it
// is older, nil with dup=true when it repeats prev exactly (a no-op, as a
// scrape retried after a partial failure does), and
// ErrDuplicateSampleForTimestamp when it differs at the same time.
func check(prev, smp storage.Sample) (dup bool, err error) {
	switch {
	case smp.T < prev.T:
		return false, storage.ErrOutOfOrderSample
	case smp.T > prev.T:
		return false, nil
	case storage.SameSample(prev, smp):
		return true, nil
	}
	return false, storage.ErrDuplicateSampleForTimestamp
}

func (a *memAppender) add(ref storage.SeriesRef, l labels.Labels, smp storage.Sample) (storage.SeriesRef, error) {
	if a.done {
		return 0, errors.New("appender already committed or rolled back")
	}
	ms, err := a.s.getOrCreate(ref, l)
	if err != nil {
		return 0, err
	}
	if prev, ok := a.newest(ms); ok {
		dup, err := check(prev, smp)
		if err != nil {
			return ms.ref, err
		}
		if dup {
			return ms.ref, nil
		}
	}
	a.pending = append(a.pending, pendingSample{ms: ms, Sample: smp})
	a.last[ms] = smp
	return ms.ref, nil
}

func (a *memAppender) Append(ref storage.SeriesRef, l labels.Labels, t int64, v float64) (storage.SeriesRef, error) {
	return a.add(ref, l, storage.Sample{T: t, F: v})
}

func (a *memAppender) AppendHistogram(ref storage.SeriesRef, l labels.Labels, t int64, h *histogram.Histogram, fh *histogram.FloatHistogram) (storage.SeriesRef, error) {
	if (h == nil) == (fh == nil) {
		return 0, fmt.Errorf("exactly one of h and fh must be set: %w", storage.ErrInvalidSample)
	}
	return a.add(ref, l, storage.Sample{T: t, H: h, FH: fh})
}

func (a *memAppender) AppendExemplar(ref storage.SeriesRef, l labels.Labels, e exemplar.Exemplar) (storage.SeriesRef, error) {
	ms, err := a.s.getOrCreate(ref, l)
	if err != nil {
		return 0, err
	}
	a.meta = append(a.meta, func() { ms.exemplar = append(ms.exemplar, e) })
	return ms.ref, nil
}

func (a *memAppender) UpdateMetadata(ref storage.SeriesRef, l labels.Labels, m metadata.Metadata) (storage.SeriesRef, error) {
	ms, err := a.s.getOrCreate(ref, l)
	if err != nil {
		return 0, err
	}
	a.meta = append(a.meta, func() { ms.meta = m })
	return ms.ref, nil
}

func (a *memAppender) AppendCTZeroSample(ref storage.SeriesRef, l labels.Labels, t, ct int64) (storage.SeriesRef, error) {
	if ct >= t {
		return 0, storage.ErrOutOfOrderCT
	}
	ms, err := a.s.getOrCreate(ref, l)
	if err != nil {
		return 0, err
	}
	if prev, ok := a.newest(ms); ok && ct <= prev.T {
		return ms.ref, storage.ErrOutOfOrderCT
	}
	return a.add(ms.ref, l, storage.Sample{T: ct, F: 0})
}

// Commit publishes the batch. Another appender may have committed newer
// samples to the same series meanwhile; such samples are dropped and
// reported, the rest are kept.
func (a *memAppender) Commit() error {
	if a.done {
		return errors.New("appender already committed or rolled back")
	}
	a.done = true
	a.s.mu.Lock()
	defer a.s.mu.Unlock()
	var errs []error
	for _, p := range a.pending {
		if n := len(p.ms.samples); n > 0 {
			dup, err := check(p.ms.samples[n-1], p.Sample)
			if err != nil {
				errs = append(errs, fmt.Errorf("series %s at %d: %w", p.ms.lset, p.T, err))
				continue
			}
			if dup {
				continue
			}
		}
		p.ms.samples = append(p.ms.samples, p.Sample)
	}
	for _, f := range a.meta {
		f()
	}
	a.pending, a.meta = nil, nil
	return errors.Join(errs...)
}

func (a *memAppender) Rollback() error {
	if a.done {
		return errors.New("appender already committed or rolled back")
	}
	a.done = true
	a.pending, a.meta = nil, nil
	return nil
}

// Querier implements storage.Queryable.
func (s *MemStorage) Querier(mint, maxt int64) (storage.Querier, error) {
	return &memQuerier{s: s, mint: mint, maxt: maxt}, nil
}

type memQuerier struct {
	s          *MemStorage
	mint, maxt int64
}

// candidatesLocked returns the series that may match: those of the most
// selective equality or set matcher, or all series. Callers filter the
// result with every matcher.
func (q *memQuerier) candidatesLocked(ms []*labels.Matcher) []*memSeries {
	var best []storage.SeriesRef
	found := false
	for _, m := range ms {
		var vals []string
		switch {
		case m.Type == labels.MatchEqual && m.Value != "":
			vals = []string{m.Value}
		case m.Type == labels.MatchRegexp && len(m.SetMatches()) > 0 && !m.Matches(""):
			vals = m.SetMatches()
		default:
			continue
		}
		var refs []storage.SeriesRef
		for _, v := range vals {
			refs = append(refs, q.s.mu.postings[m.Name][v]...)
		}
		if !found || len(refs) < len(best) {
			best, found = refs, true
		}
	}
	if !found {
		return q.s.mu.byRef
	}
	slices.Sort(best)
	best = slices.Compact(best)
	out := make([]*memSeries, len(best))
	for i, r := range best {
		out[i] = q.s.mu.byRef[r-1]
	}
	return out
}

func matchesAll(l labels.Labels, ms []*labels.Matcher) bool {
	for _, m := range ms {
		if !m.Matches(l.Get(m.Name)) {
			return false
		}
	}
	return true
}

// inRange returns the samples of ms within [mint, maxt]. The caller holds
// the read lock; the result stays valid after it is released.
func (q *memQuerier) inRange(ms *memSeries) []storage.Sample {
	ss := ms.samples
	lo, _ := slices.BinarySearchFunc(ss, q.mint, cmpSampleTime)
	hi, found := slices.BinarySearchFunc(ss, q.maxt, cmpSampleTime)
	if found {
		hi++
	}
	return ss[lo:hi:hi]
}

func cmpSampleTime(s storage.Sample, t int64) int {
	switch {
	case s.T < t:
		return -1
	case s.T > t:
		return 1
	}
	return 0
}

// matching returns the matching series with samples in range.
func (q *memQuerier) matching(ms []*labels.Matcher) ([]storage.Series, error) {
	q.s.mu.RLock()
	defer q.s.mu.RUnlock()
	var out []storage.Series
	for _, s := range q.candidatesLocked(ms) {
		if !matchesAll(s.lset, ms) {
			continue
		}
		if ss := q.inRange(s); len(ss) > 0 {
			out = append(out, storage.NewListSeries(s.lset, ss))
		}
	}
	return out, nil
}

func (q *memQuerier) Select(ctx context.Context, sortSeries bool, hints *storage.SelectHints, ms ...*labels.Matcher) storage.SeriesSet {
	if err := ctx.Err(); err != nil {
		return storage.ErrSeriesSet(err)
	}
	out, err := q.matching(ms)
	if err != nil {
		return storage.ErrSeriesSet(err)
	}
	if sortSeries {
		slices.SortFunc(out, func(a, b storage.Series) int { return labels.Compare(a.Labels(), b.Labels()) })
	}
	if hints != nil && hints.ShardCount > 0 {
		kept := out[:0]
		for _, s := range out {
			if s.Labels().Hash()%hints.ShardCount == hints.ShardIndex {
				kept = append(kept, s)
			}
		}
		out = kept
	}
	if hints != nil && hints.Limit > 0 && len(out) > hints.Limit {
		out = out[:hints.Limit]
	}
	return storage.NewListSeriesSet(out...)
}

func (q *memQuerier) LabelValues(ctx context.Context, name string, hints *storage.LabelHints, ms ...*labels.Matcher) ([]string, storage.Warnings, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	series, err := q.matching(ms)
	if err != nil {
		return nil, nil, err
	}
	var vals []string
	for _, s := range series {
		if v := s.Labels().Get(name); v != "" {
			vals = append(vals, v)
		}
	}
	return limitStrings(sortedUnique(vals), hints), nil, nil
}

func (q *memQuerier) LabelNames(ctx context.Context, hints *storage.LabelHints, ms ...*labels.Matcher) ([]string, storage.Warnings, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	series, err := q.matching(ms)
	if err != nil {
		return nil, nil, err
	}
	var names []string
	for _, s := range series {
		s.Labels().Range(func(l labels.Label) { names = append(names, l.Name) })
	}
	return limitStrings(sortedUnique(names), hints), nil, nil
}

func (q *memQuerier) Close() error { return nil }

func sortedUnique(s []string) []string {
	slices.Sort(s)
	return slices.Compact(s)
}

func limitStrings(s []string, hints *storage.LabelHints) []string {
	if hints != nil && hints.Limit > 0 && len(s) > hints.Limit {
		return s[:hints.Limit]
	}
	return s
}
