// Package histogram owns Vigil's in-memory native histograms: the integer
// Histogram (bucket counts stored as deltas, the form scraped and written to
// chunks) and the FloatHistogram (absolute float counts, the form PromQL
// computes with), their bucket layout (spans over exponential schemas -4..8
// or the custom-bounds schema -53), validation, compaction, arithmetic,
// counter-reset detection and bucket iteration.
//
// Storage, remote write and PromQL all depend on this package agreeing with
// Prometheus bit for bit: bucket boundaries, which histograms are valid and
// which error says why, how histograms with different schemas or zero
// thresholds are added, and when a counter reset is detected.
package histogram

import (
	"errors"
	"fmt"
	"math"
)

// CounterResetHint records what is known about a counter reset at a sample,
// or that the histogram is a gauge, to which resets do not apply.
type CounterResetHint byte

const (
	// UnknownCounterReset means it is not known whether this histogram
	// follows a counter reset; readers must detect resets themselves.
	UnknownCounterReset CounterResetHint = iota
	// CounterReset means a counter reset happened at this histogram.
	CounterReset
	// NotCounterReset means no counter reset happened since the previous
	// histogram of the series.
	NotCounterReset
	// GaugeType means the histogram is a gauge histogram.
	GaugeType
)

// String returns the hint's name.
func (c CounterResetHint) String() string {
	switch c {
	case UnknownCounterReset:
		return "unknown"
	case CounterReset:
		return "reset"
	case NotCounterReset:
		return "not_reset"
	case GaugeType:
		return "gauge"
	}
	return fmt.Sprintf("CounterResetHint(%d)", byte(c))
}

// Span is a run of consecutive buckets. The first span's Offset is the index
// of its first bucket (it may be negative); every later span's Offset is the
// number of bucket indexes skipped since the end of the previous span, which
// valid histograms keep ≥ 0. A layout is the list of spans plus one count per
// bucket they cover, in index order.
type Span struct {
	Offset int32
	Length uint32
}

// Schema numbers.
const (
	// ExponentialSchemaMin and ExponentialSchemaMax bound the exponential
	// schemas Vigil stores and computes with. In schema s each power of two
	// is split into 2^s buckets, so bucket boundaries are 2^(i·2^-s).
	ExponentialSchemaMin int32 = -4
	ExponentialSchemaMax int32 = 8
	// ExponentialSchemaMinReserved and ExponentialSchemaMaxReserved bound
	// the schemas the native histogram format reserves for exponential
	// buckets. Histograms scraped with a schema above ExponentialSchemaMax
	// are accepted and their resolution reduced to ExponentialSchemaMax;
	// schemas in the reserved range below ExponentialSchemaMin cannot be
	// converted and are rejected.
	ExponentialSchemaMinReserved int32 = -9
	ExponentialSchemaMaxReserved int32 = 52
	// CustomBucketsSchema marks a histogram whose buckets are delimited by
	// the explicit upper bounds in CustomValues (a classic histogram stored
	// natively, "NHCB"). Such histograms have only positive buckets and no
	// zero bucket.
	CustomBucketsSchema int32 = -53
)

// IsCustomBucketsSchema reports whether s is the custom buckets schema.
func IsCustomBucketsSchema(s int32) bool { return s == CustomBucketsSchema }

// IsExponentialSchema reports whether s is an exponential schema Vigil
// stores and computes with.
func IsExponentialSchema(s int32) bool {
	return s >= ExponentialSchemaMin && s <= ExponentialSchemaMax
}

// IsExponentialSchemaReserved reports whether s lies in the range the format
// reserves for exponential schemas.
func IsExponentialSchemaReserved(s int32) bool {
	return s >= ExponentialSchemaMinReserved && s <= ExponentialSchemaMaxReserved
}

// IsValidSchema reports whether a histogram with schema s can be stored as
// is.
func IsValidSchema(s int32) bool {
	return IsCustomBucketsSchema(s) || IsExponentialSchema(s)
}

// IsKnownSchema reports whether s is a schema the format defines, including
// the reserved exponential ones that must be reduced before storing.
func IsKnownSchema(s int32) bool {
	return IsCustomBucketsSchema(s) || IsExponentialSchemaReserved(s)
}

// Error marks an error as a histogram validation or compatibility error, so
// callers (the scrape loop, remote-write receivers, PromQL) can tell invalid
// histograms from other failures with errors.As. Every sentinel below is an
// Error; errors returned by Validate wrap one of them.
type Error struct {
	error
}

// Unwrap returns the underlying error.
func (e Error) Unwrap() error { return e.error }

// The messages below are Prometheus' own: they reach users through scrape
// reports, remote-write responses and PromQL annotations, where tools match
// on them.
var (
	ErrHistogramCountNotBigEnough       = Error{errors.New("histogram's observation count should be at least the number of observations found in the buckets")}
	ErrHistogramCountMismatch           = Error{errors.New("histogram's observation count should equal the number of observations found in the buckets (in absence of NaN)")}
	ErrHistogramNegativeCount           = Error{errors.New("histogram's observation count is negative")}
	ErrHistogramNegativeBucketCount     = Error{errors.New("histogram has a bucket whose observation count is negative")}
	ErrHistogramSpanNegativeOffset      = Error{errors.New("histogram has a span whose offset is negative")}
	ErrHistogramSpansBucketsMismatch    = Error{errors.New("histogram spans specify different number of buckets than provided")}
	ErrHistogramCustomBucketsMismatch   = Error{errors.New("histogram custom bounds are too few")}
	ErrHistogramCustomBucketsInvalid    = Error{errors.New("histogram custom bounds must be in strictly increasing order")}
	ErrHistogramCustomBucketsInfinite   = Error{errors.New("histogram custom bounds must be finite")}
	ErrHistogramCustomBucketsNaN        = Error{errors.New("histogram custom bounds must not be NaN")}
	ErrHistogramsIncompatibleSchema     = Error{errors.New("cannot apply this operation on histograms with a mix of exponential and custom bucket schemas")}
	ErrHistogramCustomBucketsZeroCount  = Error{errors.New("custom buckets: must have zero count of 0")}
	ErrHistogramCustomBucketsZeroThresh = Error{errors.New("custom buckets: must have zero threshold of 0")}
	ErrHistogramCustomBucketsNegSpans   = Error{errors.New("custom buckets: must not have negative spans")}
	ErrHistogramCustomBucketsNegBuckets = Error{errors.New("custom buckets: must not have negative buckets")}
	ErrHistogramExpSchemaCustomBounds   = Error{errors.New("histogram with exponential schema must not have custom bounds")}
	ErrHistogramsInvalidSchema          = Error{fmt.Errorf("histogram has an invalid schema, which must be between %d and %d for exponential buckets, or %d for custom buckets", ExponentialSchemaMin, ExponentialSchemaMax, CustomBucketsSchema)}
	ErrHistogramsUnknownSchema          = Error{fmt.Errorf("histogram has an unknown schema, which must be between %d and %d for exponential buckets, or %d for custom buckets", ExponentialSchemaMinReserved, ExponentialSchemaMaxReserved, CustomBucketsSchema)}
)

// InvalidSchemaError returns the error for a histogram whose schema s cannot
// be stored; it matches ErrHistogramsInvalidSchema with errors.Is.
func InvalidSchemaError(s int32) error {
	return Error{fmt.Errorf("%w, got schema %d", ErrHistogramsInvalidSchema, s)}
}

// UnknownSchemaError returns the error for a histogram whose schema s the
// format does not define; it matches ErrHistogramsUnknownSchema.
func UnknownSchemaError(s int32) error {
	return Error{fmt.Errorf("%w, got schema %d", ErrHistogramsUnknownSchema, s)}
}

// CustomBucketBoundsMatch reports whether two custom bound lists are equal
// value for value.
func CustomBucketBoundsMatch(c1, c2 []float64) bool {
	if len(c1) != len(c2) {
		return false
	}
	for i, c := range c1 {
		if c != c2[i] {
			return false
		}
	}
	return true
}

// floatsBitEqual reports whether two float slices hold the same bit patterns.
// Equals compares data, not numbers: NaN equals NaN, 0 differs from -0.
func floatsBitEqual(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float64bits(a[i]) != math.Float64bits(b[i]) {
			return false
		}
	}
	return true
}

// Bucket is one bucket with its boundaries. Inclusive bounds are closed
// ends of the interval. A cumulative bucket has Lower -Inf and counts every
// observation up to Upper.
//
// Histogram iterators report integer counts as float64, exact up to 2^53.
type Bucket struct {
	Lower, Upper                   float64
	LowerInclusive, UpperInclusive bool
	Count                          float64
	// Index is the bucket's index in its schema, which makes buckets of
	// the same schema and sign comparable. It means nothing for the zero
	// bucket.
	Index int32
}

// String formats b in interval notation followed by its count, for example
// "(0.5,1]:3".
func (b Bucket) String() string {
	return b.format(fmt.Sprint(b.Count))
}

func (b Bucket) format(count string) string {
	lo, hi := "(", ")"
	if b.LowerInclusive {
		lo = "["
	}
	if b.UpperInclusive {
		hi = "]"
	}
	return fmt.Sprintf("%s%g,%g%s:%s", lo, b.Lower, b.Upper, hi, count)
}

// BucketIterator iterates over buckets. At is valid after Next returned
// true.
type BucketIterator interface {
	Next() bool
	At() Bucket
}
