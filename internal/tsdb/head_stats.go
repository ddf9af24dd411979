package tsdb

import (
	"cmp"
	"slices"

	"github.com/vigil-monitoring/vigil/internal/tsdb/headchunks"
)

// HeadStats is what /api/v1/status/tsdb reports about the head.
type HeadStats struct {
	NumSeries     int
	NumLabelPairs int
	ChunkCount    int
	MinTime       int64
	MaxTime       int64

	// The top entries, largest first, at most the limit given to Stats.
	SeriesCountByMetricName     []StatEntry
	LabelValueCountByLabelName  []StatEntry
	MemoryInBytesByLabelName    []StatEntry
	SeriesCountByLabelValuePair []StatEntry
}

// StatEntry is one name (or "name=value" pair) and its count.
type StatEntry struct {
	Name  string
	Value uint64
}

// Stats computes HeadStats from the postings index, keeping the limit
// largest entries of each list.
func (h *Head) Stats(limit int) HeadStats {
	st := HeadStats{
		NumSeries:  h.NumSeries(),
		ChunkCount: int(h.numChunks.Load()),
		MinTime:    h.MinTime(),
		MaxTime:    h.MaxTime(),
	}
	var byMetric, valueCount, memory, pairs []StatEntry
	p := h.postings
	p.mu.RLock()
	for name, vals := range p.mu.m {
		if name == "" {
			continue
		}
		st.NumLabelPairs += len(vals)
		valueCount = append(valueCount, StatEntry{name, uint64(len(vals))})
		var mem uint64
		for v, list := range vals {
			mem += uint64(len(v) * list.n)
			pairs = append(pairs, StatEntry{name + "=" + v, uint64(list.n)})
			if name == "__name__" {
				byMetric = append(byMetric, StatEntry{v, uint64(list.n)})
			}
		}
		memory = append(memory, StatEntry{name, mem})
	}
	p.mu.RUnlock()
	st.SeriesCountByMetricName = topEntries(byMetric, limit)
	st.LabelValueCountByLabelName = topEntries(valueCount, limit)
	st.MemoryInBytesByLabelName = topEntries(memory, limit)
	st.SeriesCountByLabelValuePair = topEntries(pairs, limit)
	return st
}

// topEntries sorts by value descending (name ascending on ties, for
// stable output) and keeps the first limit.
func topEntries(es []StatEntry, limit int) []StatEntry {
	slices.SortFunc(es, func(a, b StatEntry) int {
		if c := cmp.Compare(b.Value, a.Value); c != 0 {
			return c
		}
		return cmp.Compare(a.Name, b.Name)
	})
	if limit >= 0 && len(es) > limit {
		es = es[:limit]
	}
	return es
}

// chunkStats returns the head chunk files' figures.
func (h *Head) chunkStats() headchunks.Stats { return h.chunks.Stats() }
