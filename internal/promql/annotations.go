package promql

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/vigil-monitoring/vigil/internal/promql/parser"
)

// Annotations are the warnings and infos of a query, keyed by their text so
// that the same problem met at every step or in every series is reported
// once. The zero value is ready to use.
type Annotations map[string]error

// Add records err and returns the (possibly newly allocated) set.
func (a *Annotations) Add(err error) Annotations {
	if *a == nil {
		*a = Annotations{}
	}
	(*a)[err.Error()] = err
	return *a
}

// Merge adds every annotation of other and returns the set.
func (a *Annotations) Merge(other Annotations) Annotations {
	if len(other) == 0 {
		return *a
	}
	if *a == nil {
		*a = make(Annotations, len(other))
	}
	for k, v := range other {
		(*a)[k] = v
	}
	return *a
}

// AsErrors returns the annotations as a slice, in no particular order.
func (a Annotations) AsErrors() []error {
	out := make([]error, 0, len(a))
	for _, err := range a {
		out = append(out, err)
	}
	return out
}

// AsStrings returns the texts of the warnings and of the infos, each with
// the position in query they refer to when known ("... (1:5)"), as the
// HTTP API reports them. At most maxWarnings warnings and maxInfos infos
// are returned (0 means no limit); a final entry says how many were left
// out.
func (a Annotations) AsStrings(query string, maxWarnings, maxInfos int) (warnings, infos []string) {
	var skippedWarnings, skippedInfos int
	for _, err := range a {
		text := err.Error()
		var ae *annotation
		if errors.As(err, &ae) {
			text = ae.withPosition(query)
		}
		if IsInfo(err) {
			if maxInfos == 0 || len(infos) < maxInfos {
				infos = append(infos, text)
			} else {
				skippedInfos++
			}
			continue
		}
		if maxWarnings == 0 || len(warnings) < maxWarnings {
			warnings = append(warnings, text)
		} else {
			skippedWarnings++
		}
	}
	if skippedWarnings > 0 {
		warnings = append(warnings, fmt.Sprintf("%d more warning annotations omitted", skippedWarnings))
	}
	if skippedInfos > 0 {
		infos = append(infos, fmt.Sprintf("%d more info annotations omitted", skippedInfos))
	}
	return warnings, infos
}

// CountWarningsAndInfo returns how many annotations are warnings and how
// many are infos.
func (a Annotations) CountWarningsAndInfo() (warnings, infos int) {
	for _, err := range a {
		if IsInfo(err) {
			infos++
		} else {
			warnings++
		}
	}
	return warnings, infos
}

// The two kinds of annotation. Every annotation wraps one of them; errors
// from storage (remote read, for instance) wrap neither and count as
// warnings.
var (
	PromQLInfo    = errors.New("PromQL info")
	PromQLWarning = errors.New("PromQL warning")
)

// IsInfo reports whether err is an info annotation rather than a warning.
func IsInfo(err error) bool { return errors.Is(err, PromQLInfo) }

// annotation is one annotation: its text and the part of the query it is
// about.
type annotation struct {
	pos parser.PositionRange
	err error
}

func (a *annotation) Error() string { return a.err.Error() }
func (a *annotation) Unwrap() error { return a.err }

// withPosition appends "(line:column)" of the position within query.
func (a *annotation) withPosition(query string) string {
	pos := int(a.pos.Start)
	if query == "" || pos < 0 || pos > len(query) {
		return a.err.Error()
	}
	line, col := 1, pos+1
	for i := 0; i < pos; i++ {
		if query[i] == '\n' {
			line++
			col = pos - i
		}
	}
	return a.err.Error() + " (" + strconv.Itoa(line) + ":" + strconv.Itoa(col) + ")"
}

func newAnnotation(pos parser.PositionRange, kind error, format string, args ...any) error {
	return &annotation{pos: pos, err: fmt.Errorf("%w: "+format, append([]any{kind}, args...)...)}
}

// forMetric appends ` for metric name "x"` when the name is known, as
// Prometheus does for annotations that may or may not have a name.
func forMetric(text, metricName string) string {
	if metricName == "" {
		return text
	}
	return text + " for metric name " + strconv.Quote(metricName)
}

// The constructors below produce Prometheus' exact texts, which users and
// test scripts match on.

func newInvalidQuantileWarning(q float64, pos parser.PositionRange) error {
	return newAnnotation(pos, PromQLWarning, "quantile value should be between 0 and 1, got %g", q)
}

func newInvalidRatioWarning(r, to float64, pos parser.PositionRange) error {
	return newAnnotation(pos, PromQLWarning, "ratio value should be between -1 and 1, got %g, capping to %g", r, to)
}

func newBadBucketLabelWarning(metricName, le string, pos parser.PositionRange) error {
	return newAnnotation(pos, PromQLWarning, "%s", forMetric(fmt.Sprintf("bucket label %q is missing or has a malformed value of %q", "le", le), metricName))
}

func newMixedFloatsHistogramsWarning(metricName string, pos parser.PositionRange) error {
	return newAnnotation(pos, PromQLWarning, "encountered a mix of histograms and floats for metric name %q", metricName)
}

func newMixedFloatsHistogramsAggWarning(pos parser.PositionRange) error {
	return newAnnotation(pos, PromQLWarning, "encountered a mix of histograms and floats for aggregation")
}

func newMixedClassicNativeHistogramsWarning(metricName string, pos parser.PositionRange) error {
	return newAnnotation(pos, PromQLWarning, "%s", forMetric("vector contains a mix of classic and native histograms", metricName))
}

func newNativeHistogramNotCounterWarning(metricName string, pos parser.PositionRange) error {
	return newAnnotation(pos, PromQLWarning, "this native histogram metric is not a counter: %q", metricName)
}

func newNativeHistogramNotGaugeWarning(metricName string, pos parser.PositionRange) error {
	return newAnnotation(pos, PromQLWarning, "this native histogram metric is not a gauge: %q", metricName)
}

func newMixedExponentialCustomHistogramsWarning(metricName string, pos parser.PositionRange) error {
	return newAnnotation(pos, PromQLWarning, "vector contains a mix of histograms with exponential and custom buckets schemas for metric name %q", metricName)
}

func newIncompatibleBucketLayoutInBinOpWarning(op string, pos parser.PositionRange) error {
	return newAnnotation(pos, PromQLWarning, "incompatible bucket layout encountered for binary operator %s", op)
}

// histogramOp names the operation in the counter reset collision and custom
// bucket reconciliation annotations.
type histogramOp string

const (
	histogramAgg histogramOp = "aggregation"
	histogramAdd histogramOp = "addition"
	histogramSub histogramOp = "subtraction"
)

func newHistogramCounterResetCollisionWarning(pos parser.PositionRange, op histogramOp) error {
	return newAnnotation(pos, PromQLWarning, "conflicting counter resets during histogram %s", op)
}

func newSortInRangeQueryWarning(pos parser.PositionRange) error {
	return newAnnotation(pos, PromQLWarning, "sort is ineffective for range queries since results are always ordered by labels")
}

func newStartTimeOverlapWarning(metricName string, pos parser.PositionRange) error {
	return newAnnotation(pos, PromQLWarning, "sample has start time that overlaps with previous sample timestamp for metric %q", metricName)
}

func newPossibleNonCounterInfo(metricName string, pos parser.PositionRange) error {
	// Built without fmt: rate() over a gauge makes one per query, and
	// formatting was a tenth of a small query's allocations.
	text := PromQLInfo.Error() + ": metric might not be a counter, name does not end in _total/_sum/_count/_bucket: " + strconv.Quote(metricName)
	return &annotation{pos: pos, err: &kindError{kind: PromQLInfo, text: text}}
}

// kindError is what fmt.Errorf("%w: ...", kind, ...) makes, for texts
// built without fmt.
type kindError struct {
	kind error
	text string
}

func (e *kindError) Error() string { return e.text }
func (e *kindError) Unwrap() error { return e.kind }

func newHistogramQuantileForcedMonotonicityInfo(metricName string, pos parser.PositionRange) error {
	return newAnnotation(pos, PromQLInfo, "%s", forMetric("input to histogram_quantile needed to be fixed for monotonicity (see https://prometheus.io/docs/prometheus/latest/querying/functions/#histogram_quantile)", metricName))
}

func newIncompatibleTypesInBinOpInfo(lhs, op, rhs string, pos parser.PositionRange) error {
	return newAnnotation(pos, PromQLInfo, "incompatible sample types encountered for binary operator %q: %s %s %s", op, lhs, op, rhs)
}

func newHistogramIgnoredInAggregationInfo(aggregation string, pos parser.PositionRange) error {
	return newAnnotation(pos, PromQLInfo, "ignored histogram in %s aggregation", aggregation)
}

func newHistogramIgnoredInMixedRangeInfo(metricName string, pos parser.PositionRange) error {
	return newAnnotation(pos, PromQLInfo, "ignored histograms in a range containing both floats and histograms for metric name %q", metricName)
}

func newNativeHistogramQuantileNaNResultInfo(metricName string, pos parser.PositionRange) error {
	return newAnnotation(pos, PromQLInfo, "%s", forMetric("input to histogram_quantile has NaN observations, result is NaN", metricName))
}

func newNativeHistogramQuantileNaNSkewInfo(metricName string, pos parser.PositionRange) error {
	return newAnnotation(pos, PromQLInfo, "%s", forMetric("input to histogram_quantile has NaN observations, result is skewed higher", metricName))
}

func newNativeHistogramFractionNaNsInfo(metricName string, pos parser.PositionRange) error {
	return newAnnotation(pos, PromQLInfo, "%s", forMetric("input to histogram_fraction has NaN observations, which are excluded from all fractions", metricName))
}

func newMismatchedCustomBucketsHistogramsInfo(pos parser.PositionRange, op histogramOp) error {
	return newAnnotation(pos, PromQLInfo, "mismatched custom buckets were reconciled during %s", op)
}
