package tsdb

import "math"

// fitMinTime sets the head's lower time bound after a truncation to
// floor: to its oldest in-order sample when that is later. Without it
// the bound stays at the truncation point, and head compaction would
// walk every empty block range between there and the next sample.
//
// A commit racing with the first walk may add a sample older than what
// it found after its series was passed; such a commit lowers the bound
// itself only when it finds it above the sample, which it may not yet,
// so a second walk, after the bound is raised, catches what the first
// missed. A commit after that finds the bound raised and lowers it.
func (h *Head) fitMinTime(floor int64) {
	first := max(floor, h.oldestInOrder())
	h.raiseMinTime(first)
	if second := max(floor, h.oldestInOrder()); second < first {
		h.updateMinMaxTime(second, math.MinInt64)
	}
}

// oldestInOrder returns the time of the oldest in-order sample in the
// head, MaxInt64 when there is none.
func (h *Head) oldestInOrder() int64 {
	oldest := int64(math.MaxInt64)
	h.series.walk(false, func(run []*memSeries) {
		for _, s := range run {
			oldest = min(oldest, s.minTimeLocked())
		}
	})
	return oldest
}
