package promql

import (
	"math"
	"sort"
	"strconv"

	"github.com/vigil-monitoring/vigil/internal/model/histogram"
	"github.com/vigil-monitoring/vigil/internal/model/labels"
	"github.com/vigil-monitoring/vigil/internal/promql/parser"
)

// sampleHeap holds the samples a topk, bottomk, limitk or limit_ratio group
// keeps, as values and positions in the input: samples themselves are
// three times the size and hold pointers, and moving them around the
// heap was most of the cost of topk. A histogram sample's histogram is
// kept aside (evalNodeHelper.kHists).
type sampleHeap []kEntry

type kEntry struct {
	F  float64
	si int32 // the input series
}

// minHeap orders a sampleHeap with the smallest value on top (NaN counts as
// smallest), for topk. Ties and NaNs are ordered as in Prometheus, which
// uses the same heap and sort algorithms with the same comparison, so that
// results come out in the same order.
type minHeap sampleHeap

func (h minHeap) Len() int           { return len(h) }
func (h minHeap) Less(i, j int) bool { return math.IsNaN(h[i].F) || h[i].F < h[j].F }
func (h minHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }

// maxHeap is minHeap upside down, for bottomk.
type maxHeap sampleHeap

func (h maxHeap) Len() int           { return len(h) }
func (h maxHeap) Less(i, j int) bool { return math.IsNaN(h[i].F) || h[i].F > h[j].F }
func (h maxHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }

// pushMin and pushMax add s to a heap. They are container/heap's Push
// without boxing the sample in an interface, which would allocate: the
// new element is appended and sifted up, exactly as heap.Push does.
func pushMin(h *sampleHeap, s kEntry) {
	*h = append(*h, s)
	fixMin(*h, len(*h)-1)
}

func pushMax(h *sampleHeap, s kEntry) {
	*h = append(*h, s)
	fixMax(*h, len(*h)-1)
}

// fixMin and fixMax are container/heap's Fix on a minHeap or maxHeap,
// step for step (so that ties end up where Prometheus puts them), without
// a method call through an interface for every comparison and swap:
// those were most of the cost of topk.
func fixMin(h sampleHeap, i int) {
	if !siftDown(h, i, false) {
		siftUp(h, i, false)
	}
}

func fixMax(h sampleHeap, i int) {
	if !siftDown(h, i, true) {
		siftUp(h, i, true)
	}
}

// heapLess is minHeap's Less on values, or maxHeap's when upside is set.
func heapLess(a, b float64, upside bool) bool {
	if upside {
		return math.IsNaN(a) || a > b
	}
	return math.IsNaN(a) || a < b
}

func siftDown(h sampleHeap, i0 int, upside bool) bool {
	i, n := i0, len(h)
	for {
		j1 := 2*i + 1
		if j1 >= n || j1 < 0 {
			break
		}
		j := j1
		if j2 := j1 + 1; j2 < n && heapLess(h[j2].F, h[j1].F, upside) {
			j = j2
		}
		if !heapLess(h[j].F, h[i].F, upside) {
			break
		}
		h[i], h[j] = h[j], h[i]
		i = j
	}
	return i > i0
}

func siftUp(h sampleHeap, j int, upside bool) {
	for {
		i := (j - 1) / 2
		if i == j || !heapLess(h[j].F, h[i].F, upside) {
			break
		}
		h[i], h[j] = h[j], h[i]
		j = i
	}
}

// descMin and descMax are sort.Reverse of minHeap and maxHeap, as types
// so that sorting does not allocate.
type descMin sampleHeap

func (h descMin) Len() int           { return len(h) }
func (h descMin) Less(i, j int) bool { return minHeap(h).Less(j, i) }
func (h descMin) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }

type descMax sampleHeap

func (h descMax) Len() int           { return len(h) }
func (h descMax) Less(i, j int) bool { return maxHeap(h).Less(j, i) }
func (h descMax) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }

// ratioSampled reports whether limit_ratio(r) keeps a series: its label
// hash, scaled to [0, 1), must lie below r, or for a negative r at or above
// 1+r, so that r and -(1-r) select complementary series.
func ratioSampled(r float64, metric labels.Labels) bool {
	offset := float64(metric.Hash()) / float64(math.MaxUint64)
	return (r >= 0 && offset < r) || (r < 0 && offset >= 1+r)
}

// aggregationK computes topk, bottomk, limitk or limit_ratio at one step.
// The result has the input's labels. For an instant query, topk's groups
// are in descending and bottomk's in ascending order.
func (ev *evaluator) aggregationK(e *parser.AggregateExpr, param float64, input Matrix, seriesGroup []int, groups []group, enh *evalNodeHelper) Vector {
	op := e.Op
	for i := range groups {
		groups[i].seen = false
	}
	remaining := len(groups)
	// Points at this step of series not looked at must still be consumed,
	// or later steps would not reach theirs.
	skipRest := func(from int) {
		for i := from; i < len(input); i++ {
			nextValue(enh.ts, &input[i])
		}
	}
	var k int64
	var r float64
	switch op {
	case parser.TOPK, parser.BOTTOMK, parser.LIMITK:
		k = min(int64(param), int64(len(input)))
		if k < 1 {
			skipRest(0)
			return nil
		}
	case parser.LIMIT_RATIO:
		if param == 0 {
			skipRest(0)
			return nil
		}
		r = max(-1, min(1, param))
	}
loop:
	for si := range input {
		f, h, ok := nextValue(enh.ts, &input[si])
		if !ok {
			continue
		}
		s := kEntry{F: f, si: int32(si)}
		if h != nil {
			if enh.kHists == nil {
				enh.kHists = make([]*histogram.FloatHistogram, len(input))
			}
			enh.kHists[si] = h
		}
		g := &groups[seriesGroup[si]]
		if !g.seen {
			*g = group{seen: true, heap: g.heap[:0]}
			switch op {
			case parser.LIMIT_RATIO:
				if ratioSampled(r, input[si].Metric) {
					pushMin(&g.heap, s)
				}
			case parser.LIMITK:
				g.heap = append(g.heap, s)
			case parser.TOPK, parser.BOTTOMK:
				if h != nil {
					g.seen = false
					enh.annos.Add(newHistogramIgnoredInAggregationInfo(op.String(), e.PosRange))
				} else if op == parser.TOPK {
					pushMin(&g.heap, s)
				} else {
					pushMax(&g.heap, s)
				}
			}
			if op == parser.LIMITK && k == 1 {
				g.done = true
				remaining--
				if remaining == 0 {
					skipRest(si + 1)
					break loop
				}
			}
			continue
		}
		switch op {
		case parser.TOPK:
			switch {
			case h != nil:
				enh.annos.Add(newHistogramIgnoredInAggregationInfo("topk", e.PosRange))
			case int64(len(g.heap)) < k:
				pushMin(&g.heap, s)
			case g.heap[0].F < s.F || (math.IsNaN(g.heap[0].F) && !math.IsNaN(s.F)):
				g.heap[0] = s
				if k > 1 {
					fixMin(g.heap, 0)
				}
			}
		case parser.BOTTOMK:
			switch {
			case h != nil:
				enh.annos.Add(newHistogramIgnoredInAggregationInfo("bottomk", e.PosRange))
			case int64(len(g.heap)) < k:
				pushMax(&g.heap, s)
			case g.heap[0].F > s.F || (math.IsNaN(g.heap[0].F) && !math.IsNaN(s.F)):
				g.heap[0] = s
				if k > 1 {
					fixMax(g.heap, 0)
				}
			}
		case parser.LIMITK:
			if int64(len(g.heap)) < k {
				pushMin(&g.heap, s)
			}
			if !g.done && int64(len(g.heap)) == k {
				g.done = true
				remaining--
				if remaining == 0 {
					skipRest(si + 1)
					break loop
				}
			}
		case parser.LIMIT_RATIO:
			if ratioSampled(r, input[si].Metric) {
				pushMin(&g.heap, s)
			}
		}
	}

	out := enh.out[:0]
	for i := range groups {
		g := &groups[i]
		if !g.seen {
			continue
		}
		switch op {
		case parser.TOPK:
			if len(g.heap) > 1 {
				sort.Sort((*descMin)(&g.heap))
			}
		case parser.BOTTOMK:
			if len(g.heap) > 1 {
				sort.Sort((*descMax)(&g.heap))
			}
		}
		for _, ke := range g.heap {
			smp := Sample{Metric: input[ke.si].Metric, F: ke.F, DropName: input[ke.si].DropName}
			if enh.kHists != nil {
				smp.H = enh.kHists[ke.si]
			}
			out = append(out, smp)
		}
	}
	clear(enh.kHists) // Only this step's histograms were set.
	for _, s := range out {
		if s.H != nil {
			ev.st.currentSamples += histogramSampleSize(s.H)
		} else {
			ev.st.currentSamples++
		}
	}
	enh.out = out
	return out
}

func formatFloat(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }
