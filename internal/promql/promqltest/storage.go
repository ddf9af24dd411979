package promqltest

import (
	"context"
	"sync"

	"github.com/vigil-monitoring/vigil/internal/model/labels"
	"github.com/vigil-monitoring/vigil/internal/storage"
	"github.com/vigil-monitoring/vigil/internal/storage/storagetest"
)

// testStorage is the in-memory reference storage with start timestamps on
// the side: the storage contract has no place for them yet, so the
// iterators it hands out implement promql.StartTimestampIterator from a
// table filled by load commands (0 where a sample has none).
type testStorage struct {
	*storagetest.MemStorage
	mu  sync.RWMutex
	sts map[labels.Labels]map[int64]int64
}

func newTestStorage() *testStorage {
	return &testStorage{MemStorage: storagetest.NewMemStorage(), sts: map[labels.Labels]map[int64]int64{}}
}

func (s *testStorage) setStartTimestamp(ls labels.Labels, t, st int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.sts[ls]
	if m == nil {
		m = map[int64]int64{}
		s.sts[ls] = m
	}
	m[t] = st
}

func (s *testStorage) Querier(mint, maxt int64) (storage.Querier, error) {
	q, err := s.MemStorage.Querier(mint, maxt)
	if err != nil {
		return nil, err
	}
	return &stQuerier{Querier: q, s: s}, nil
}

type stQuerier struct {
	storage.Querier
	s *testStorage
}

func (q *stQuerier) Select(ctx context.Context, sortSeries bool, hints *storage.SelectHints, ms ...*labels.Matcher) storage.SeriesSet {
	return &stSeriesSet{SeriesSet: q.Querier.Select(ctx, sortSeries, hints, ms...), s: q.s}
}

type stSeriesSet struct {
	storage.SeriesSet
	s *testStorage
}

func (ss *stSeriesSet) At() storage.Series {
	series := ss.SeriesSet.At()
	ss.s.mu.RLock()
	m := ss.s.sts[series.Labels()]
	ss.s.mu.RUnlock()
	return &stSeries{Series: series, sts: m}
}

type stSeries struct {
	storage.Series
	sts map[int64]int64
}

func (s *stSeries) Iterator(it storage.Iterator) storage.Iterator {
	if sti, ok := it.(*stIterator); ok {
		sti.Iterator = s.Series.Iterator(sti.Iterator)
		sti.sts = s.sts
		return sti
	}
	return &stIterator{Iterator: s.Series.Iterator(nil), sts: s.sts}
}

type stIterator struct {
	storage.Iterator
	sts map[int64]int64
}

// AtST returns the start timestamp of the current sample.
func (it *stIterator) AtST() int64 { return it.sts[it.AtT()] }
