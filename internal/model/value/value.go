// Package value owns the scalar vocabulary every layer shares: the stale
// marker (a NaN with a reserved bit pattern), millisecond timestamps and their
// conversions, the open time range bounds, and the float and histogram sample
// points PromQL and storage pass around. Semantics follow Prometheus exactly,
// because stale markers and timestamps cross the wire (remote write, the HTTP
// API) and are persisted in the WAL and blocks.
package value

import (
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/vigil-monitoring/vigil/internal/model/histogram"
)

// NormalNaNBits is the bit pattern of the quiet NaN that math.NaN returns.
// Ordinary NaN sample values carry it (or any NaN pattern other than
// StaleNaNBits).
const NormalNaNBits uint64 = 0x7ff8000000000001

// StaleNaNBits is the bit pattern of the stale marker. It is a signalling NaN
// (the top mantissa bit is clear), so no arithmetic on ordinary values
// produces it; only code that means "this series went stale" writes it.
// The value is fixed by the Prometheus WAL, block and remote-write formats.
const StaleNaNBits uint64 = 0x7ff0000000000002

// StaleNaN is the stale marker as a float64. Compare with IsStaleNaN, never
// with ==: every NaN compares unequal to everything, itself included.
//
// INVARIANT: math.Float64bits(StaleNaN) == StaleNaNBits. Arithmetic turns it
// into a quiet NaN, so it must be copied as a value, never computed.
var StaleNaN = math.Float64frombits(StaleNaNBits)

// IsStaleNaN reports whether f is the stale marker. It compares bit patterns
// because a stale marker is one particular NaN and NaNs compare unequal.
func IsStaleNaN(f float64) bool {
	return math.Float64bits(f) == StaleNaNBits
}

// Sample timestamps are int64 milliseconds since the Unix epoch (UTC).

// MinTime and MaxTime are the earliest and latest timestamps, in
// milliseconds, that the HTTP API substitutes for the missing end of an open
// time range (for example /api/v1/series without start or end). They are the
// millisecond values of Prometheus' API bounds, which start from the int64
// range of Unix seconds scaled down by 1000 and pull each end 62135596801 s
// (year 1 to 1970, plus one second) inward; clients compare against the
// exact values, so they must not be "tidied" to math.MinInt64/4 or similar.
// Time(MinTime) is -292273086-05-16T16:47:06Z and Time(MaxTime) is
// 292277025-08-18T07:12:54.999Z.
const (
	MinTime int64 = (math.MinInt64/1000 + 62135596801) * 1000
	MaxTime int64 = (math.MaxInt64/1000-62135596801)*1000 + 999
)

// FromTime returns t as milliseconds since the Unix epoch, truncating
// sub-millisecond precision toward the past (as time.Time.UnixMilli does).
func FromTime(t time.Time) int64 {
	return t.UnixMilli()
}

// Time returns the UTC time for ms milliseconds since the Unix epoch.
func Time(ms int64) time.Time {
	return time.UnixMilli(ms).UTC()
}

// Duration returns d in whole milliseconds, truncated toward zero, which is
// how Prometheus turns scrape intervals, ranges and offsets into timestamp
// arithmetic.
func Duration(d time.Duration) int64 {
	return int64(d / time.Millisecond)
}

// FPoint is one float sample of a series.
type FPoint struct {
	T int64 // Milliseconds since the Unix epoch.
	F float64
}

// String formats p as "value @[timestamp]", the form PromQL test output and
// debugging use.
func (p FPoint) String() string {
	return strconv.FormatFloat(p.F, 'f', -1, 64) + " @[" + strconv.FormatInt(p.T, 10) + "]"
}

// HPoint is one native histogram sample of a series.
//
// INVARIANT: H is never nil.
type HPoint struct {
	T int64 // Milliseconds since the Unix epoch.
	H *histogram.FloatHistogram
}

// String formats p as "histogram @[timestamp]".
func (p HPoint) String() string {
	return fmt.Sprintf("%s @[%d]", p.H.String(), p.T)
}
