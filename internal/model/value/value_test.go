package value

import (
	"math"
	"testing"
	"time"

	"github.com/vigil-monitoring/vigil/internal/model/histogram"
)

func TestStaleNaN(t *testing.T) {
	if got := math.Float64bits(StaleNaN); got != 0x7ff0000000000002 {
		t.Fatalf("StaleNaN bits %#x", got)
	}
	if !math.IsNaN(StaleNaN) {
		t.Fatal("StaleNaN is not a NaN")
	}
	for _, tc := range []struct {
		f    float64
		want bool
	}{
		{StaleNaN, true},
		{math.Float64frombits(StaleNaNBits), true},
		{math.NaN(), false},
		{math.Float64frombits(NormalNaNBits), false},
		{math.Float64frombits(StaleNaNBits | 1<<63), false}, // Sign bit set.
		{math.Float64frombits(StaleNaNBits + 1), false},
		{0, false},
		{math.Inf(1), false},
	} {
		if got := IsStaleNaN(tc.f); got != tc.want {
			t.Errorf("IsStaleNaN(%#x) = %v, want %v", math.Float64bits(tc.f), got, tc.want)
		}
	}
	if math.Float64bits(math.NaN()) != NormalNaNBits {
		t.Errorf("math.NaN() is %#x, not NormalNaNBits", math.Float64bits(math.NaN()))
	}
}

func TestTimestamps(t *testing.T) {
	for _, tc := range []struct {
		t  time.Time
		ms int64
	}{
		{time.Unix(0, 0), 0},
		{time.Unix(1700000000, 123456789), 1700000000123},
		{time.Unix(-1, 999_999_999), -1},    // -1ns rounds down to -1ms.
		{time.Unix(-1, 500_000_000), -500},  // -0.5s.
		{time.Unix(-2, 999_000_000), -1001}, // -1.001s.
	} {
		if got := FromTime(tc.t); got != tc.ms {
			t.Errorf("FromTime(%v) = %d, want %d", tc.t, got, tc.ms)
		}
	}
	for _, ms := range []int64{0, 1, -1, 999, -999, -1000, -1001, 1700000000123, MinTime, MaxTime} {
		tm := Time(ms)
		if tm.Location() != time.UTC {
			t.Errorf("Time(%d) not in UTC", ms)
		}
		if got := FromTime(tm); got != ms {
			t.Errorf("FromTime(Time(%d)) = %d", ms, got)
		}
	}
	if got := Time(1500).Format(time.RFC3339Nano); got != "1970-01-01T00:00:01.5Z" {
		t.Errorf("Time(1500) = %s", got)
	}
}

// TestMinMaxTime pins the open range bounds to Prometheus' API values.
func TestMinMaxTime(t *testing.T) {
	if MinTime != -9223309901257974000 || MaxTime != 9223309901257974999 {
		t.Errorf("MinTime, MaxTime = %d, %d", MinTime, MaxTime)
	}
	if got := Time(MinTime).Format(time.RFC3339Nano); got != "-292273086-05-16T16:47:06Z" {
		t.Errorf("Time(MinTime) = %s", got)
	}
	if got := Time(MaxTime).Format(time.RFC3339Nano); got != "292277025-08-18T07:12:54.999Z" {
		t.Errorf("Time(MaxTime) = %s", got)
	}
	// The API builds them as times; their millisecond values must agree.
	if FromTime(time.Unix(math.MinInt64/1000+62135596801, 0)) != MinTime ||
		FromTime(time.Unix(math.MaxInt64/1000-62135596801, 999999999)) != MaxTime {
		t.Error("MinTime/MaxTime disagree with the API's time.Time bounds")
	}
}

func TestDuration(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want int64
	}{
		{0, 0},
		{time.Millisecond, 1},
		{1500 * time.Microsecond, 1},
		{-1500 * time.Microsecond, -1}, // Toward zero.
		{999 * time.Microsecond, 0},
		{5 * time.Minute, 300000},
		{-time.Hour, -3600000},
	} {
		if got := Duration(tc.d); got != tc.want {
			t.Errorf("Duration(%v) = %d, want %d", tc.d, got, tc.want)
		}
	}
}

func TestPointString(t *testing.T) {
	for _, tc := range []struct {
		got, want string
	}{
		{FPoint{T: 1000, F: 1.5}.String(), "1.5 @[1000]"},
		{FPoint{T: -5, F: 1e21}.String(), "1000000000000000000000 @[-5]"},
		{FPoint{T: 0, F: math.Inf(-1)}.String(), "-Inf @[0]"},
		{FPoint{T: 0, F: StaleNaN}.String(), "NaN @[0]"},
		{HPoint{T: 7, H: &histogram.FloatHistogram{Count: 2, Sum: 3, ZeroCount: 2, ZeroThreshold: 0.5}}.String(),
			"{count:2, sum:3, [-0.5,0.5]:2} @[7]"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}
