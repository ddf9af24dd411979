// Package compact owns block compaction: the leveled planner that picks
// which blocks of a data directory to merge next, and the Compactor that
// merges blocks into one (deduplicating samples, dropping deleted ones,
// recording lineage) or persists any querier's data (the head's oldest
// range) as a new level-1 block. It is built on package block and knows
// nothing of the head; package tsdb drives it.
//
// Levels: a level-1 block covers Ranges[0] (2h by default). Blocks are
// merged into aligned ranges of Ranges[1], Ranges[2], ... (each 3x the
// previous by default), up to a maximum derived from retention.
package compact

import (
	"slices"
	"time"

	"github.com/vigil-monitoring/vigil/internal/tsdb/block"
)

// DefaultMinRange is the range of a level-1 block, the head's block range.
const DefaultMinRange = int64(2 * time.Hour / time.Millisecond)

// maxBlockRange is the longest a compacted block may span: 31 days.
const maxBlockRange = int64(31 * 24 * time.Hour / time.Millisecond)

// ExponentialRanges returns steps ranges starting at minRange, each
// factor times the previous.
func ExponentialRanges(minRange int64, steps, factor int) []int64 {
	out := make([]int64, 0, steps)
	r := minRange
	for range steps {
		out = append(out, r)
		r *= int64(factor)
	}
	return out
}

// RangesForRetention returns the default ranges: 2h, 6h, 18h, 54h, ...
// (factor 3), keeping only those no longer than a tenth of the retention
// and 31 days, so a block is never a large share of what retention keeps
// and deleting the oldest block frees little beyond what has expired. A
// retention of 0 means unlimited.
func RangesForRetention(retention time.Duration) []int64 {
	limit := maxBlockRange
	if retention > 0 {
		limit = min(limit, retention.Milliseconds()/10)
	}
	var out []int64
	for _, r := range ExponentialRanges(DefaultMinRange, 10, 3) {
		if r > limit && len(out) > 0 {
			break
		}
		out = append(out, r)
	}
	return out
}

// DirMeta is a block directory with its metadata, what the planner reads.
type DirMeta struct {
	Dir  string
	Meta block.Meta
}

// tombstoneShare is the fraction of series with deletions above which a
// large block is rewritten on its own to drop the deleted data.
const tombstoneShare = 0.05

// PlanMetas returns the directories of the blocks to compact together
// next, or nil. In order of priority:
//
//  1. Blocks whose time ranges overlap (backfilled or out-of-order
//     data) are merged first: queries over overlapping blocks must merge
//     samples at read time. (Parents left behind by a crash after a
//     compaction also overlap their child; the caller removes those with
//     block.Superseded before planning.)
//  2. Otherwise the newest block is set aside (a freshly written block
//     stays as written for a while, time for backups to ship it), and for
//     each range after the first the remaining blocks are grouped into
//     aligned windows of that range. The oldest window holding more than
//     one block is merged when it is full (its blocks span the whole
//     range) or ends at or before the start of the newest remaining block:
//     data has moved past it, so no further block will join it.
//  3. Otherwise, the newest large block with more than 5% of its series
//     carrying tombstones (or any block whose every series does) is
//     rewritten alone.
//
// Blocks marked failed are never planned with others.
func PlanMetas(metas []DirMeta, ranges []int64) []string {
	ms := slices.Clone(metas)
	slices.SortFunc(ms, func(a, b DirMeta) int {
		if a.Meta.MinTime != b.Meta.MinTime {
			if a.Meta.MinTime < b.Meta.MinTime {
				return -1
			}
			return 1
		}
		return a.Meta.ULID.Compare(b.Meta.ULID)
	})
	if res := overlapping(ms); len(res) > 1 {
		return dirs(res)
	}
	if len(ms) == 0 {
		return nil
	}
	older := ms[:len(ms)-1]
	if len(older) > 0 {
		if res := selectWindow(older, ranges, older[len(older)-1].Meta.MinTime); len(res) > 1 {
			return dirs(res)
		}
	}
	if len(ranges) == 0 {
		return nil
	}
	big := ranges[len(ranges)/2]
	for i := len(older) - 1; i >= 0; i-- {
		m := older[i].Meta
		st := m.Stats
		if m.MaxTime-m.MinTime < big {
			if st.NumTombstones > 0 && st.NumTombstones >= st.NumSeries {
				return []string{older[i].Dir}
			}
			continue
		}
		if float64(st.NumTombstones)/float64(st.NumSeries+1) > tombstoneShare {
			return []string{older[i].Dir}
		}
	}
	return nil
}

func dirs(ms []DirMeta) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.Dir
	}
	return out
}

// overlapping returns the first run of blocks, in MinTime order, whose
// ranges overlap one another (transitively).
func overlapping(ms []DirMeta) []DirMeta {
	if len(ms) < 2 {
		return nil
	}
	var run []DirMeta
	maxT := ms[0].Meta.MaxTime
	for i := 1; i < len(ms); i++ {
		m := ms[i].Meta
		if m.MinTime < maxT {
			if len(run) == 0 {
				run = append(run, ms[i-1])
			}
			run = append(run, ms[i])
		} else if len(run) > 0 {
			break
		}
		maxT = max(maxT, m.MaxTime)
	}
	return run
}

// selectWindow implements step 2 of PlanMetas. newestMin is the MinTime
// of the newest block in ms.
func selectWindow(ms []DirMeta, ranges []int64, newestMin int64) []DirMeta {
	if len(ranges) < 2 {
		return nil
	}
	for _, r := range ranges[1:] {
	windows:
		for _, w := range alignedWindows(ms, r) {
			if len(w) < 2 {
				continue
			}
			for _, m := range w {
				if m.Meta.Compaction.Failed {
					continue windows
				}
			}
			mint, maxt := w[0].Meta.MinTime, w[len(w)-1].Meta.MaxTime
			if maxt-mint == r || maxt <= newestMin {
				return w
			}
		}
	}
	return nil
}

// alignedWindows groups blocks (sorted by MinTime, not overlapping) by the
// window of size r, aligned to multiples of r, that contains each. Blocks
// larger than their window (already compacted further, or misaligned)
// belong to no window.
func alignedWindows(ms []DirMeta, r int64) [][]DirMeta {
	var out [][]DirMeta
	for i := 0; i < len(ms); {
		start := floorDiv(ms[i].Meta.MinTime, r) * r
		if ms[i].Meta.MaxTime > start+r {
			i++
			continue
		}
		var w []DirMeta
		for ; i < len(ms) && ms[i].Meta.MaxTime <= start+r; i++ {
			w = append(w, ms[i])
		}
		out = append(out, w)
	}
	return out
}

// floorDiv divides rounding towards negative infinity, so windows align
// the same way before 1970.
func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}
