package discovery

import (
	"errors"
	"fmt"
	"strconv"
	"time"
)

// Duration is a time.Duration written the Prometheus way: units y, w, d, h,
// m, s and ms, each at most once and in that order ("1h30m", "2d", "500ms"),
// or "0". A year is 365 days and a week 7 days. It lives here because the
// discovery mechanisms need it for refresh_interval and may import only
// this package; config reuses it for every duration of the server file.
type Duration time.Duration

// durationUnits lists the units in the order they must appear.
var durationUnits = []struct {
	suffix string
	size   time.Duration
}{
	{"y", 365 * 24 * time.Hour},
	{"w", 7 * 24 * time.Hour},
	{"d", 24 * time.Hour},
	{"h", time.Hour},
	{"m", time.Minute},
	{"s", time.Second},
	{"ms", time.Millisecond},
}

var errDurationOverflow = errors.New("duration out of range")

// ParseDuration parses a Prometheus duration string.
func ParseDuration(s string) (Duration, error) {
	invalid := fmt.Errorf("not a valid duration string: %q", s)
	switch s {
	case "0":
		return 0, nil
	case "":
		return 0, errors.New("empty duration string")
	}
	var total time.Duration
	next := 0 // index into durationUnits of the first unit still allowed
	for rest := s; rest != ""; {
		i := 0
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			i++
		}
		if i == 0 {
			return 0, invalid
		}
		n, err := strconv.ParseUint(rest[:i], 10, 63)
		if err != nil {
			return 0, invalid
		}
		rest = rest[i:]
		// "ms" must be tried before "m".
		unit := -1
		for k := next; k < len(durationUnits); k++ {
			suf := durationUnits[k].suffix
			if len(rest) >= len(suf) && rest[:len(suf)] == suf {
				if suf == "m" && len(rest) >= 2 && rest[1] == 's' {
					continue
				}
				unit = k
				break
			}
		}
		if unit < 0 {
			return 0, invalid
		}
		rest = rest[len(durationUnits[unit].suffix):]
		next = unit + 1
		size := durationUnits[unit].size
		if n > uint64(1<<63-1)/uint64(size) {
			return 0, errDurationOverflow
		}
		add := time.Duration(n) * size
		if total > (1<<63-1)-add {
			return 0, errDurationOverflow
		}
		total += add
	}
	return Duration(total), nil
}

// String prints d with the largest units first and zero units left out,
// "0s" for zero: the form ParseDuration reads back.
func (d Duration) String() string {
	ms := int64(time.Duration(d) / time.Millisecond)
	if ms == 0 {
		return "0s"
	}
	var b []byte
	if ms < 0 {
		// Not expressible in the syntax, but printing must not lie.
		b = append(b, '-')
		ms = -ms
	}
	for _, u := range durationUnits {
		size := int64(u.size / time.Millisecond)
		if ms >= size {
			b = strconv.AppendInt(b, ms/size, 10)
			b = append(b, u.suffix...)
			ms %= size
		}
	}
	return string(b)
}

// UnmarshalYAML parses the scalar as a duration.
func (d *Duration) UnmarshalYAML(unmarshal func(any) error) error {
	var s string
	if err := unmarshal(&s); err != nil {
		return err
	}
	v, err := ParseDuration(s)
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// MarshalYAML prints the duration string.
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }

// MarshalText prints the duration string (also used by encoding/json).
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText parses a duration string (also used by encoding/json).
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := ParseDuration(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}
