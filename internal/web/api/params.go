package api

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-monitoring/vigil/internal/model/labels"
	"github.com/vigil-monitoring/vigil/internal/model/value"
	"github.com/vigil-monitoring/vigil/internal/promql/parser"
)

// MinTime and MaxTime stand for an open start or end of a time range.
// They are not the extremes of int64 milliseconds but values every
// client library can also print and parse back (Prometheus chose them
// for that reason, and clients send their RFC 3339 forms verbatim).
var (
	MinTime = time.UnixMilli(value.MinTime).UTC()
	MaxTime = time.Unix(value.MaxTime/1000, 999999999).UTC()

	minTimeFormatted = MinTime.Format(time.RFC3339Nano)
	maxTimeFormatted = MaxTime.Format(time.RFC3339Nano)
)

// maxPointsPerSeries bounds range queries: (end-start)/step may not exceed
// it. It is enough for a week at a minute's resolution.
const maxPointsPerSeries = 11000

// parseTime accepts a float of Unix seconds (rounded to milliseconds),
// an RFC 3339 timestamp, or the formatted MinTime and MaxTime (which
// time.Parse rejects for their five-digit years).
func parseTime(s string) (time.Time, error) {
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		sec, frac := math.Modf(f)
		frac = math.Round(frac*1000) / 1000
		return time.Unix(int64(sec), int64(frac*float64(time.Second))).UTC(), nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	switch s {
	case minTimeFormatted:
		return MinTime, nil
	case maxTimeFormatted:
		return MaxTime, nil
	}
	return time.Time{}, fmt.Errorf("cannot parse %q to a valid timestamp", s)
}

// parseTimeParam parses the named form value, returning def when it is
// absent.
func parseTimeParam(r *http.Request, name string, def time.Time) (time.Time, error) {
	s := r.FormValue(name)
	if s == "" {
		return def, nil
	}
	t, err := parseTime(s)
	if err != nil {
		return time.Time{}, fmt.Errorf("invalid time value for '%s': %w", name, err)
	}
	return t, nil
}

// parseDuration accepts a float of seconds or a Prometheus duration
// ("5m", "1h30m", "1d"). Go duration strings with fractions ("1.5s"), which
// client_golang sends for its timeout option, are accepted as well.
func parseDuration(s string) (time.Duration, error) {
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		ns := f * float64(time.Second)
		if ns > math.MaxInt64 || ns < math.MinInt64 {
			return 0, fmt.Errorf("cannot parse %q to a valid duration. It overflows int64", s)
		}
		return time.Duration(ns), nil
	}
	if d, err := parser.ParseDuration(s); err == nil {
		return d, nil
	}
	if d, err := time.ParseDuration(s); err == nil {
		return d, nil
	}
	return 0, fmt.Errorf("cannot parse %q to a valid duration", s)
}

// parseLimit parses the limit parameter; 0 means no limit.
func parseLimit(s string) (int, error) {
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, err
	}
	if n < 0 {
		return 0, errors.New("limit must be non-negative")
	}
	return n, nil
}

// hintLimit asks storage for one more result than the limit, so that the
// handler can tell whether it truncated and warn.
func hintLimit(limit int) int {
	if limit > 0 && limit < math.MaxInt {
		return limit + 1
	}
	return limit
}

// parseMatcherSets parses match[] values. Each must select something:
// a set whose every matcher matches the empty string would select every
// series in the database.
func parseMatcherSets(ss []string) ([][]*labels.Matcher, error) {
	sets := make([][]*labels.Matcher, 0, len(ss))
	for _, s := range ss {
		ms, err := parser.ParseMetricSelector(s)
		if err != nil {
			return nil, err
		}
		nonEmpty := false
		for _, m := range ms {
			if m != nil && !m.Matches("") {
				nonEmpty = true
				break
			}
		}
		if !nonEmpty {
			return nil, errors.New("match[] must contain at least one non-empty matcher")
		}
		sets = append(sets, ms)
	}
	return sets, nil
}

// unescapeLabelName decodes the "U__" value escaping that lets a URL path
// segment carry any UTF-8 label name: after the prefix, "__" is an
// underscore and "_<hex>_" is the code point <hex>; other characters
// stand for themselves. A name that does not decode is returned as it
// is, as Prometheus does.
func unescapeLabelName(name string) string {
	rest, ok := strings.CutPrefix(name, "U__")
	if !ok {
		return name
	}
	var b strings.Builder
	for i := 0; i < len(rest); {
		c := rest[i]
		if c != '_' {
			b.WriteByte(c)
			i++
			continue
		}
		if i+1 < len(rest) && rest[i+1] == '_' {
			b.WriteByte('_')
			i += 2
			continue
		}
		end := strings.IndexByte(rest[i+1:], '_')
		if end <= 0 {
			return name
		}
		code, err := strconv.ParseUint(rest[i+1:i+1+end], 16, 32)
		if err != nil || code > 0x10FFFF {
			return name
		}
		b.WriteRune(rune(code))
		i += end + 2
	}
	return b.String()
}
