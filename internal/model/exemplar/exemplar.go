// Package exemplar owns the exemplar type: a sample of a trace or other
// high-cardinality context attached to one series sample, shared by the
// exposition parsers, storage and the query API.
package exemplar

import "github.com/vigil-monitoring/vigil/internal/model/labels"

// MaxLabelSetLength is the OpenMetrics limit on the combined length, in
// UTF-8 characters, of an exemplar's label names and values.
const MaxLabelSetLength = 128

// Exemplar is one exemplar. HasTs reports whether Ts came from the input
// rather than being filled in by the receiver.
type Exemplar struct {
	Labels labels.Labels
	Value  float64
	Ts     int64
	HasTs  bool
}

// Equals reports whether e and other carry the same labels, value and time.
func (e Exemplar) Equals(other Exemplar) bool {
	return e.Ts == other.Ts && e.HasTs == other.HasTs && e.Value == other.Value && labels.Equal(e.Labels, other.Labels)
}
