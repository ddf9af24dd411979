package exposition

import (
	"math"
	"strconv"

	"github.com/vigil-monitoring/vigil/internal/model/exemplar"
	"github.com/vigil-monitoring/vigil/internal/model/labels"
)

// Writers for the text format 0.0.4 and OpenMetrics 1.0. Each appends one
// line (or part of one) to dst and returns the extended slice, so a caller
// such as /federate or the node exporter builds a whole body in one reused
// buffer. Values are spelled as Prometheus' expfmt spells them, so output
// compares equal to Prometheus' for the same data.
//
// Names that are not valid legacy names are written in the quoted UTF-8
// form of Prometheus 3 (`{"my.metric","my.label"="v"}`), which both parsers
// here read; a consumer that negotiated escaping expects names already
// escaped by the caller.

// AppendTextFloat appends v as the text format writes sample values: the
// shortest representation that round-trips ('g' with the exponent form
// for large and small magnitudes), and NaN, +Inf, -Inf.
func AppendTextFloat(dst []byte, v float64) []byte {
	switch {
	case v == 1:
		return append(dst, '1')
	case v == 0:
		return append(dst, '0') // -0 too, as expfmt writes it
	case v == -1:
		return append(dst, "-1"...)
	case math.IsNaN(v):
		return append(dst, "NaN"...)
	case math.IsInf(v, 1):
		return append(dst, "+Inf"...)
	case math.IsInf(v, -1):
		return append(dst, "-Inf"...)
	}
	return strconv.AppendFloat(dst, v, 'g', -1, 64)
}

// AppendOpenMetricsFloat appends v as OpenMetrics writers spell floats:
// like AppendTextFloat, but an integral value gets ".0" so it reads as a
// float (1.0, 0.0, 100000.0, while 1e+06 keeps its exponent).
func AppendOpenMetricsFloat(dst []byte, v float64) []byte {
	switch {
	case v == 1:
		return append(dst, "1.0"...)
	case v == 0:
		return append(dst, "0.0"...)
	case v == -1:
		return append(dst, "-1.0"...)
	case math.IsNaN(v):
		return append(dst, "NaN"...)
	case math.IsInf(v, 1):
		return append(dst, "+Inf"...)
	case math.IsInf(v, -1):
		return append(dst, "-Inf"...)
	}
	start := len(dst)
	dst = strconv.AppendFloat(dst, v, 'g', -1, 64)
	for _, c := range dst[start:] {
		if c == '.' || c == 'e' {
			return dst
		}
	}
	return append(dst, ".0"...)
}

// appendSecondsFromMillis appends ms as decimal seconds, exactly: whole
// seconds, then the milliseconds with trailing zeros trimmed (at least one
// decimal, as OpenMetrics floats have). Going through float64 division,
// as expfmt does, loses the last millisecond of current timestamps on the
// way back.
func appendSecondsFromMillis(dst []byte, ms int64) []byte {
	u := uint64(ms)
	if ms < 0 {
		dst = append(dst, '-')
		u = uint64(-(ms + 1)) + 1 // no overflow for MinInt64
	}
	dst = strconv.AppendUint(dst, u/1000, 10)
	frac := u % 1000
	dst = append(dst, '.', byte('0'+frac/100))
	if frac%100 != 0 {
		dst = append(dst, byte('0'+frac/10%10))
		if frac%10 != 0 {
			dst = append(dst, byte('0'+frac%10))
		}
	}
	return dst
}

// appendEscaped appends s with backslash, newline and (when quote is set)
// double quote escaped.
func appendEscaped(dst []byte, s string, quote bool) []byte {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\':
			dst = append(dst, '\\', '\\')
		case c == '\n':
			dst = append(dst, '\\', 'n')
		case c == '"' && quote:
			dst = append(dst, '\\', '"')
		default:
			dst = append(dst, c)
		}
	}
	return dst
}

func appendQuoted(dst []byte, s string) []byte {
	dst = append(dst, '"')
	dst = appendEscaped(dst, s, true)
	return append(dst, '"')
}

// appendMetaName appends a metric name as HELP, TYPE and UNIT lines carry
// it: bare when it is a legacy name, quoted otherwise.
func appendMetaName(dst []byte, name string) []byte {
	if labels.IsValidLegacyMetricName(name) {
		return append(dst, name...)
	}
	return appendQuoted(dst, name)
}

// appendSeries appends the metric name and label set of lset. __name__
// becomes the metric name, in front of the braces when it is a legacy name
// and as the first quoted item inside them otherwise.
func appendSeries(dst []byte, lset labels.Labels) []byte {
	name := lset.Get(labels.MetricName)
	legacy := labels.IsValidLegacyMetricName(name)
	if legacy {
		dst = append(dst, name...)
	}
	n := lset.Len()
	if legacy && n == 1 {
		return dst
	}
	dst = append(dst, '{')
	first := true
	if !legacy {
		dst = appendQuoted(dst, name)
		first = false
	}
	for l := range lset.All() {
		if l.Name == labels.MetricName {
			continue
		}
		if !first {
			dst = append(dst, ',')
		}
		first = false
		if labels.IsValidLegacyLabelName(l.Name) {
			dst = append(dst, l.Name...)
		} else {
			dst = appendQuoted(dst, l.Name)
		}
		dst = append(dst, '=')
		dst = appendQuoted(dst, l.Value)
	}
	return append(dst, '}')
}

// textTypeName spells t for a text-format TYPE line. The text format knows
// counter, gauge, histogram, summary and untyped; info and stateset
// samples are gauges there, and a gauge histogram, whose _gcount and _gsum
// a histogram reader would not expect, is untyped.
func textTypeName(t MetricType) string {
	switch t {
	case MetricTypeCounter, MetricTypeGauge, MetricTypeHistogram, MetricTypeSummary:
		return string(t)
	case MetricTypeInfo, MetricTypeStateset:
		return string(MetricTypeGauge)
	}
	return "untyped"
}

// AppendTextHelp appends a text-format HELP line.
func AppendTextHelp(dst []byte, metric, help string) []byte {
	dst = append(dst, "# HELP "...)
	dst = appendMetaName(dst, metric)
	dst = append(dst, ' ')
	dst = appendEscaped(dst, help, false)
	return append(dst, '\n')
}

// AppendTextType appends a text-format TYPE line (see textTypeName for
// the types the text format lacks).
func AppendTextType(dst []byte, metric string, t MetricType) []byte {
	dst = append(dst, "# TYPE "...)
	dst = appendMetaName(dst, metric)
	dst = append(dst, ' ')
	dst = append(dst, textTypeName(t)...)
	return append(dst, '\n')
}

// AppendTextSample appends a text-format sample line for the series lset
// (its __name__ is the metric name) with an optional timestamp in
// milliseconds.
func AppendTextSample(dst []byte, lset labels.Labels, v float64, ts *int64) []byte {
	dst = appendSeries(dst, lset)
	dst = append(dst, ' ')
	dst = AppendTextFloat(dst, v)
	if ts != nil {
		dst = append(dst, ' ')
		dst = strconv.AppendInt(dst, *ts, 10)
	}
	return append(dst, '\n')
}

// AppendOpenMetricsHelp appends an OpenMetrics HELP line.
func AppendOpenMetricsHelp(dst []byte, metric, help string) []byte {
	dst = append(dst, "# HELP "...)
	dst = appendMetaName(dst, metric)
	dst = append(dst, ' ')
	dst = appendEscaped(dst, help, true)
	return append(dst, '\n')
}

// AppendOpenMetricsType appends an OpenMetrics TYPE line.
func AppendOpenMetricsType(dst []byte, metric string, t MetricType) []byte {
	if t == "" {
		t = MetricTypeUnknown
	}
	dst = append(dst, "# TYPE "...)
	dst = appendMetaName(dst, metric)
	dst = append(dst, ' ')
	dst = append(dst, t...)
	return append(dst, '\n')
}

// AppendOpenMetricsUnit appends an OpenMetrics UNIT line. The unit must be
// a suffix of the metric name (after an underscore) for parsers to accept
// it.
func AppendOpenMetricsUnit(dst []byte, metric, unit string) []byte {
	dst = append(dst, "# UNIT "...)
	dst = appendMetaName(dst, metric)
	dst = append(dst, ' ')
	dst = append(dst, unit...)
	return append(dst, '\n')
}

// AppendOpenMetricsSample appends an OpenMetrics sample line for the
// series lset with an optional timestamp (milliseconds, written as
// seconds) and an optional exemplar.
func AppendOpenMetricsSample(dst []byte, lset labels.Labels, v float64, ts *int64, ex *exemplar.Exemplar) []byte {
	dst = appendSeries(dst, lset)
	dst = append(dst, ' ')
	dst = AppendOpenMetricsFloat(dst, v)
	if ts != nil {
		dst = append(dst, ' ')
		dst = appendSecondsFromMillis(dst, *ts)
	}
	if ex != nil {
		dst = append(dst, " # {"...)
		first := true
		for l := range ex.Labels.All() {
			if !first {
				dst = append(dst, ',')
			}
			first = false
			if labels.IsValidLegacyLabelName(l.Name) {
				dst = append(dst, l.Name...)
			} else {
				dst = appendQuoted(dst, l.Name)
			}
			dst = append(dst, '=')
			dst = appendQuoted(dst, l.Value)
		}
		dst = append(dst, "} "...)
		dst = AppendOpenMetricsFloat(dst, ex.Value)
		if ex.HasTs {
			dst = append(dst, ' ')
			dst = appendSecondsFromMillis(dst, ex.Ts)
		}
	}
	return append(dst, '\n')
}

// AppendOpenMetricsEOF appends the "# EOF" line that ends every OpenMetrics
// body.
func AppendOpenMetricsEOF(dst []byte) []byte {
	return append(dst, "# EOF\n"...)
}
