package storage

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/vigil-monitoring/vigil/internal/model/labels"
)

// VerticalSeriesMergeFunc merges series that carry the same labels (from
// different queriers) into one. The series arrive in querier order:
// primaries first, in the order given to NewMergeQuerier.
type VerticalSeriesMergeFunc func(...Series) Series

// NewMergeQuerier returns a querier over the union of primaries and
// secondaries. Series with equal labels from several queriers are combined
// with mergeFn (ChainedSeriesMerge when nil).
//
// An error from a primary fails the query. An error from a secondary (a
// remote read endpoint, typically) becomes a warning and that querier's
// series are left out, so one unreachable remote does not fail a
// dashboard.
func NewMergeQuerier(primaries, secondaries []Querier, mergeFn VerticalSeriesMergeFunc) Querier {
	if mergeFn == nil {
		mergeFn = ChainedSeriesMerge
	}
	qs := make([]Querier, 0, len(primaries)+len(secondaries))
	for _, q := range primaries {
		if usefulQuerier(q) {
			qs = append(qs, q)
		}
	}
	nPrimaries := len(qs)
	for _, q := range secondaries {
		if usefulQuerier(q) {
			qs = append(qs, &secondaryQuerier{q})
		}
	}
	switch {
	case len(qs) == 0:
		return NoopQuerier()
	case len(qs) == 1 && nPrimaries == 1:
		return qs[0]
	}
	return &mergeQuerier{queriers: qs, mergeFn: mergeFn, concurrent: nPrimaries < len(qs)}
}

func usefulQuerier(q Querier) bool {
	if q == nil {
		return false
	}
	_, noop := q.(noopQuerier)
	return !noop
}

type mergeQuerier struct {
	queriers []Querier
	mergeFn  VerticalSeriesMergeFunc
	// concurrent is set when secondaries take part: they are usually remote
	// and their Select may block on the network, so they run side by side.
	concurrent bool
}

func (q *mergeQuerier) Select(ctx context.Context, _ bool, hints *SelectHints, matchers ...*labels.Matcher) SeriesSet {
	// Every input must be sorted for the merge to work, so sortSeries is
	// forced on regardless of the caller's wish.
	sets := make([]SeriesSet, len(q.queriers))
	if !q.concurrent {
		for i, qr := range q.queriers {
			sets[i] = qr.Select(ctx, true, hints, matchers...)
		}
	} else {
		var wg sync.WaitGroup
		for i, qr := range q.queriers {
			// Each querier gets its own copy: implementations may reorder
			// the slice they are given.
			ms := slices.Clone(matchers)
			wg.Go(func() { sets[i] = qr.Select(ctx, true, hints, ms...) })
		}
		wg.Wait()
	}
	limit := 0
	if hints != nil {
		limit = hints.Limit
	}
	return NewMergeSeriesSet(sets, limit, q.mergeFn)
}

func (q *mergeQuerier) LabelValues(ctx context.Context, name string, hints *LabelHints, matchers ...*labels.Matcher) ([]string, Warnings, error) {
	res, ws, err := q.mergeStrings(hints, func(lq Querier) ([]string, Warnings, error) {
		return lq.LabelValues(ctx, name, hints, matchers...)
	})
	if err != nil {
		return nil, ws, fmt.Errorf("label values for %q: %w", name, err)
	}
	return res, ws, nil
}

func (q *mergeQuerier) LabelNames(ctx context.Context, hints *LabelHints, matchers ...*labels.Matcher) ([]string, Warnings, error) {
	res, ws, err := q.mergeStrings(hints, func(lq Querier) ([]string, Warnings, error) {
		return lq.LabelNames(ctx, hints, matchers...)
	})
	if err != nil {
		return nil, ws, fmt.Errorf("label names: %w", err)
	}
	return res, ws, nil
}

// mergeStrings unions the sorted results of f over every querier.
func (q *mergeQuerier) mergeStrings(hints *LabelHints, f func(Querier) ([]string, Warnings, error)) ([]string, Warnings, error) {
	var (
		out []string
		ws  Warnings
	)
	for _, qr := range q.queriers {
		res, w, err := f(qr)
		ws = append(ws, w...)
		if err != nil {
			return nil, ws, err
		}
		out = mergeSortedStrings(out, truncateStrings(res, hints))
		out = truncateStrings(out, hints)
	}
	return out, ws, nil
}

func truncateStrings(s []string, hints *LabelHints) []string {
	if hints != nil && hints.Limit > 0 && len(s) > hints.Limit {
		return s[:hints.Limit]
	}
	return s
}

// mergeSortedStrings returns the sorted union of two sorted, distinct
// slices.
func mergeSortedStrings(a, b []string) []string {
	if len(a) == 0 {
		return b
	}
	if len(b) == 0 {
		return a
	}
	out := make([]string, 0, max(len(a), len(b)))
	for len(a) > 0 && len(b) > 0 {
		switch c := strings.Compare(a[0], b[0]); {
		case c == 0:
			out = append(out, a[0])
			a, b = a[1:], b[1:]
		case c < 0:
			out = append(out, a[0])
			a = a[1:]
		default:
			out = append(out, b[0])
			b = b[1:]
		}
	}
	out = append(out, a...)
	return append(out, b...)
}

func (q *mergeQuerier) Close() error {
	var errs []error
	for _, qr := range q.queriers {
		if err := qr.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// secondaryQuerier turns every error of the wrapped querier into a warning.
type secondaryQuerier struct{ Querier }

func (q *secondaryQuerier) Select(ctx context.Context, sortSeries bool, hints *SelectHints, matchers ...*labels.Matcher) SeriesSet {
	return &secondarySeriesSet{set: q.Querier.Select(ctx, sortSeries, hints, matchers...)}
}

func (q *secondaryQuerier) LabelValues(ctx context.Context, name string, hints *LabelHints, matchers ...*labels.Matcher) ([]string, Warnings, error) {
	res, ws, err := q.Querier.LabelValues(ctx, name, hints, matchers...)
	if err != nil {
		return nil, append(ws, err), nil
	}
	return res, ws, nil
}

func (q *secondaryQuerier) LabelNames(ctx context.Context, hints *LabelHints, matchers ...*labels.Matcher) ([]string, Warnings, error) {
	res, ws, err := q.Querier.LabelNames(ctx, hints, matchers...)
	if err != nil {
		return nil, append(ws, err), nil
	}
	return res, ws, nil
}

// secondarySeriesSet ends iteration quietly on error and reports the error
// among the warnings. Series already returned stay returned: the result is
// then partial, which the warning says.
type secondarySeriesSet struct {
	set SeriesSet
	err error
}

func (s *secondarySeriesSet) Next() bool {
	if s.err != nil {
		return false
	}
	if s.set.Next() {
		return true
	}
	s.err = s.set.Err()
	return false
}

func (s *secondarySeriesSet) At() Series { return s.set.At() }
func (s *secondarySeriesSet) Err() error { return nil }

func (s *secondarySeriesSet) Warnings() Warnings {
	ws := s.set.Warnings()
	if s.err != nil {
		ws = append(slices.Clip(ws), s.err)
	}
	return ws
}

// NewMergeSeriesSet merges sets, each sorted by labels, into one sorted
// set. Series with equal labels are combined with mergeFn in the order of
// sets. A limit above zero caps the number of series returned.
func NewMergeSeriesSet(sets []SeriesSet, limit int, mergeFn VerticalSeriesMergeFunc) SeriesSet {
	if len(sets) == 1 && limit <= 0 {
		return sets[0]
	}
	if mergeFn == nil {
		mergeFn = ChainedSeriesMerge
	}
	return &mergeSeriesSet{sets: sets, limit: limit, mergeFn: mergeFn}
}

// mergeSeriesSet is a k-way merge over sorted series sets.
//
// INVARIANT: after init, every set in h stands on a series (its Next
// returned true) that has not been returned yet; the sets in cur stand on
// the series returned last.
type mergeSeriesSet struct {
	sets    []SeriesSet
	limit   int
	mergeFn VerticalSeriesMergeFunc

	init     bool
	h        seriesSetHeap
	cur      []int // indexes into sets, ascending
	returned int
	err      error
}

func (m *mergeSeriesSet) Next() bool {
	if m.err != nil || (m.limit > 0 && m.returned >= m.limit) {
		return false
	}
	if !m.init {
		m.init = true
		m.h.sets = m.sets
		for i, s := range m.sets {
			if s.Next() {
				m.h.idx = append(m.h.idx, i)
			} else if err := s.Err(); err != nil {
				m.err = err
				return false
			}
		}
		heap.Init(&m.h)
	}
	for _, i := range m.cur {
		if m.sets[i].Next() {
			heap.Push(&m.h, i)
		} else if err := m.sets[i].Err(); err != nil {
			m.err = err
			return false
		}
	}
	m.cur = m.cur[:0]
	if m.h.Len() == 0 {
		return false
	}
	lset := m.sets[m.h.idx[0]].At().Labels()
	for m.h.Len() > 0 && labels.Equal(lset, m.sets[m.h.idx[0]].At().Labels()) {
		m.cur = append(m.cur, heap.Pop(&m.h).(int))
	}
	// Heap order breaks label ties by set index, so cur is ascending and
	// mergeFn sees primaries first.
	m.returned++
	return true
}

func (m *mergeSeriesSet) At() Series {
	if len(m.cur) == 1 {
		return m.sets[m.cur[0]].At()
	}
	series := make([]Series, len(m.cur))
	for j, i := range m.cur {
		series[j] = m.sets[i].At()
	}
	return m.mergeFn(series...)
}

func (m *mergeSeriesSet) Err() error {
	if m.err != nil {
		return m.err
	}
	for _, s := range m.sets {
		if err := s.Err(); err != nil {
			return err
		}
	}
	return nil
}

func (m *mergeSeriesSet) Warnings() Warnings {
	var ws Warnings
	for _, s := range m.sets {
		ws = append(ws, s.Warnings()...)
	}
	return ws
}

// seriesSetHeap orders set indexes by the labels of the series each set
// stands on, then by index.
type seriesSetHeap struct {
	sets []SeriesSet
	idx  []int
}

func (h *seriesSetHeap) Len() int      { return len(h.idx) }
func (h *seriesSetHeap) Swap(i, j int) { h.idx[i], h.idx[j] = h.idx[j], h.idx[i] }
func (h *seriesSetHeap) Less(i, j int) bool {
	a, b := h.idx[i], h.idx[j]
	if c := labels.Compare(h.sets[a].At().Labels(), h.sets[b].At().Labels()); c != 0 {
		return c < 0
	}
	return a < b
}
func (h *seriesSetHeap) Push(x any) { h.idx = append(h.idx, x.(int)) }
func (h *seriesSetHeap) Pop() any {
	n := len(h.idx) - 1
	x := h.idx[n]
	h.idx = h.idx[:n]
	return x
}
