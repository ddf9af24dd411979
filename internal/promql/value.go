package promql

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/vigil-monitoring/vigil/internal/model/histogram"
	"github.com/vigil-monitoring/vigil/internal/model/labels"
	"github.com/vigil-monitoring/vigil/internal/model/value"
	"github.com/vigil-monitoring/vigil/internal/promql/parser"
)

// FPoint is one float sample of a series.
type FPoint = value.FPoint

// HPoint is one native histogram sample of a series.
type HPoint = value.HPoint

// Value is the result of an expression: a Vector, Matrix, Scalar or String.
type Value interface {
	// Type returns the PromQL type of the value.
	Type() parser.ValueType
	String() string
}

// Scalar is a single number at a time.
type Scalar struct {
	T int64 // Milliseconds since the epoch.
	V float64
}

// Type implements Value.
func (Scalar) Type() parser.ValueType { return parser.ValueTypeScalar }

func (s Scalar) String() string {
	return strconv.FormatFloat(s.V, 'f', -1, 64) + " @[" + strconv.FormatInt(s.T, 10) + "]"
}

// String is a string value at a time.
type String struct {
	T int64
	V string
}

// Type implements Value.
func (String) Type() parser.ValueType { return parser.ValueTypeString }

func (s String) String() string { return s.V }

// Sample is one element of an instant vector: a series' labels with either
// a float (H nil) or a native histogram (H set) at time T.
type Sample struct {
	Metric labels.Labels
	T      int64
	F      float64
	H      *histogram.FloatHistogram
	// DropName marks a sample whose metric name (and the other metadata
	// labels __type__ and __unit__) is to be removed once evaluation is
	// complete. With delayed name removal the labels stay while the
	// evaluation runs, so a later label_replace or a regular expression
	// on __name__ can still see them.
	DropName bool
}

func (s Sample) String() string {
	if s.H != nil {
		return fmt.Sprintf("%s => %s @[%d]", s.Metric, s.H, s.T)
	}
	return fmt.Sprintf("%s => %s @[%d]", s.Metric, strconv.FormatFloat(s.F, 'f', -1, 64), s.T)
}

// Vector is an instant vector: at most one sample per series, all at the
// same time.
type Vector []Sample

// Type implements Value.
func (Vector) Type() parser.ValueType { return parser.ValueTypeVector }

func (v Vector) String() string {
	parts := make([]string, len(v))
	for i, s := range v {
		parts[i] = s.String()
	}
	return strings.Join(parts, "\n")
}

// ContainsSameLabelset reports whether two samples have equal label sets,
// which makes a vector invalid.
func (v Vector) ContainsSameLabelset() bool {
	return hasDuplicateLabels(len(v), func(i int) labels.Labels { return v[i].Metric })
}

// Series is one series of a range vector: its labels and its points, floats
// and histograms each in time order, never both at the same time.
type Series struct {
	Metric     labels.Labels
	Floats     []FPoint
	Histograms []HPoint
	// DropName is as in Sample.
	DropName bool
}

func (s Series) String() string {
	var b strings.Builder
	b.WriteString(s.Metric.String())
	b.WriteString(" =>")
	for _, p := range s.Floats {
		b.WriteString("\n")
		b.WriteString(p.String())
	}
	for _, p := range s.Histograms {
		b.WriteString("\n")
		b.WriteString(p.String())
	}
	return b.String()
}

// Matrix is a range vector: a list of series.
type Matrix []Series

// Type implements Value.
func (Matrix) Type() parser.ValueType { return parser.ValueTypeMatrix }

func (m Matrix) String() string {
	parts := make([]string, len(m))
	for i, s := range m {
		parts[i] = s.String()
	}
	return strings.Join(parts, "\n")
}

// TotalSamples returns the number of samples in the matrix, counting each
// histogram by its size as the sample limit does.
func (m Matrix) TotalSamples() int {
	n := 0
	for _, s := range m {
		n += len(s.Floats) + histogramPointsSize(s.Histograms)
	}
	return n
}

// ContainsSameLabelset reports whether two series have equal label sets.
func (m Matrix) ContainsSameLabelset() bool {
	return hasDuplicateLabels(len(m), func(i int) labels.Labels { return m[i].Metric })
}

// hashedIndex is an element's label hash and position, for
// hasDuplicateLabels.
type hashedIndex struct {
	h uint64
	i int
}

var hashedIndexPool sync.Pool // of *[]hashedIndex

// hasDuplicateLabels reports whether two of n label sets are equal. It
// sorts their hashes in a pooled list rather than filling a map: every
// instant operation runs it on its output, and the map was one of its
// larger allocations. Equal hashes are confirmed by comparing the sets.
func hasDuplicateLabels(n int, at func(int) labels.Labels) bool {
	switch n {
	case 0, 1:
		return false
	case 2:
		return labels.Equal(at(0), at(1))
	}
	var hs []hashedIndex
	if p, ok := hashedIndexPool.Get().(*[]hashedIndex); ok {
		hs = (*p)[:0]
	}
	for i := 0; i < n; i++ {
		hs = append(hs, hashedIndex{h: at(i).Hash(), i: i})
	}
	slices.SortFunc(hs, func(a, b hashedIndex) int { return cmp.Compare(a.h, b.h) })
	dup := false
	for lo := 0; lo < len(hs) && !dup; {
		hi := lo + 1
		for hi < len(hs) && hs[hi].h == hs[lo].h {
			hi++
		}
		for a := lo; a < hi && !dup; a++ {
			for b := a + 1; b < hi; b++ {
				if labels.Equal(at(hs[a].i), at(hs[b].i)) {
					dup = true
					break
				}
			}
		}
		lo = hi
	}
	if cap(hs) <= maxPooledWindowPoints {
		hashedIndexPool.Put(&hs)
	}
	return dup
}

// Sort orders the series by their label sets, the order range query results
// are returned in.
func (m Matrix) Sort() {
	slices.SortFunc(m, func(a, b Series) int { return labels.Compare(a.Metric, b.Metric) })
}

// histogramSampleSize is how many float samples one histogram sample counts
// as against the sample limit: its size in bytes over the size of a float
// point, so that a query cannot escape the limit with big histograms.
func histogramSampleSize(h *histogram.FloatHistogram) int {
	return (h.Size() + 15) / 16
}

func histogramPointsSize(ps []HPoint) int {
	n := 0
	for _, p := range ps {
		n += histogramSampleSize(p.H)
	}
	return n
}

// Result is the outcome of executing a query.
type Result struct {
	// Value is nil when Err is set.
	Value Value
	Err   error
	// Warnings holds the annotations (warnings and infos) collected while
	// evaluating, also when Err is set.
	Warnings Annotations
}

// Vector returns the result as a vector, or an error if it is not one.
func (r *Result) Vector() (Vector, error) {
	if r.Err != nil {
		return nil, r.Err
	}
	v, ok := r.Value.(Vector)
	if !ok {
		return nil, fmt.Errorf("query result is not a vector but %T", r.Value)
	}
	return v, nil
}

// Matrix returns the result as a matrix, or an error if it is not one.
func (r *Result) Matrix() (Matrix, error) {
	if r.Err != nil {
		return nil, r.Err
	}
	m, ok := r.Value.(Matrix)
	if !ok {
		return nil, fmt.Errorf("query result is not a matrix but %T", r.Value)
	}
	return m, nil
}

// Scalar returns the result as a scalar, or an error if it is not one.
func (r *Result) Scalar() (Scalar, error) {
	if r.Err != nil {
		return Scalar{}, r.Err
	}
	s, ok := r.Value.(Scalar)
	if !ok {
		return Scalar{}, fmt.Errorf("query result is not a scalar but %T", r.Value)
	}
	return s, nil
}

func (r *Result) String() string {
	if r.Err != nil {
		return r.Err.Error()
	}
	if r.Value == nil {
		return ""
	}
	return r.Value.String()
}
