package histogram

import (
	"math"
	"slices"
)

// toDeltas encodes absolute counts as deltas.
func toDeltas(abs []float64) []int64 {
	if abs == nil {
		return nil
	}
	d := make([]int64, len(abs))
	var prev int64
	for i, a := range abs {
		d[i] = int64(a) - prev
		prev = int64(a)
	}
	return d
}

// decodeLayout lists the bucket indexes spans describe, independently of
// spanCursor.
func decodeLayout(spans []Span) []int64 {
	var idxs []int64
	var next int64
	for i, s := range spans {
		if i == 0 {
			next = int64(s.Offset)
		} else {
			next += int64(s.Offset)
		}
		for range s.Length {
			idxs = append(idxs, next)
			next++
		}
	}
	return idxs
}

// populated returns the index→count pairs of buckets with a count other
// than zero, the data that compaction and re-layouting must preserve.
func populated(spans []Span, abs []float64) map[int64]float64 {
	m := map[int64]float64{}
	for i, idx := range decodeLayout(spans) {
		if abs[i] != 0 {
			m[idx] = abs[i]
		}
	}
	return m
}

func mapsEqual(a, b map[int64]float64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		w, ok := b[k]
		if !ok || (v != w && !(math.IsNaN(v) && math.IsNaN(w))) {
			return false
		}
	}
	return true
}

// refCompact is the definition of the compacted form: populated buckets in
// index order, a new span wherever more than maxEmpty indexes separate two
// of them, explicit zeros otherwise.
func refCompact(spans []Span, abs []float64, maxEmpty int) ([]Span, []float64) {
	var outS []Span
	var outB []float64
	var last int64
	for i, idx := range decodeLayout(spans) {
		v := abs[i]
		if v == 0 {
			continue
		}
		gap := idx - last - 1
		switch {
		case outS == nil:
			outS = append(outS, Span{Offset: int32(idx), Length: 1})
		case gap > int64(maxEmpty):
			outS = append(outS, Span{Offset: int32(gap), Length: 1})
		default:
			for range gap {
				outB = append(outB, 0)
			}
			outS[len(outS)-1].Length += uint32(gap) + 1
		}
		outB = append(outB, v)
		last = idx
	}
	return outS, outB
}

func spansEqual(a, b []Span) bool { return slices.Equal(a, b) }
