package api

import (
	"encoding/json"
	"math"
	"strconv"
	"unicode/utf8"

	"github.com/vigil-monitoring/vigil/internal/model/histogram"
	"github.com/vigil-monitoring/vigil/internal/model/labels"
	"github.com/vigil-monitoring/vigil/internal/promql"
)

// The query results are the bulk of what the API sends, so they are
// written by hand with append-style encoders instead of through
// reflection. The formats are the ones every Prometheus client parses:
// timestamps as JSON numbers of seconds with the milliseconds after the
// point, sample values as strings so that NaN and the infinities survive
// JSON.

// appendTimestamp writes milliseconds as seconds. A non-zero fraction is
// always written with three digits (1.500, not 1.5), as Prometheus does,
// so that responses compare byte for byte.
func appendTimestamp(b []byte, ms int64) []byte {
	if ms < 0 {
		b = append(b, '-')
		ms = -ms
	}
	b = strconv.AppendInt(b, ms/1000, 10)
	if frac := ms % 1000; frac != 0 {
		b = append(b, '.', byte('0'+frac/100), byte('0'+frac/10%10), byte('0'+frac%10))
	}
	return b
}

// appendFloatString writes a sample value as a quoted string: the
// shortest representation that round-trips, in plain notation except for
// magnitudes below 1e-6 or from 1e21 up, which use an exponent. NaN and
// the infinities come out as "NaN", "+Inf" and "-Inf".
func appendFloatString(b []byte, f float64) []byte {
	b = append(b, '"')
	b = appendFloatRaw(b, f)
	return append(b, '"')
}

func appendFloatRaw(b []byte, f float64) []byte {
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	return strconv.AppendFloat(b, f, format, -1, 64)
}

const hexDigits = "0123456789abcdef"

// appendString writes s as a JSON string with the escaping encoding/json
// uses (including <, > and & as \u escapes, and invalid UTF-8 as U+FFFD),
// so hand-written and reflected parts of a response agree.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		// U+2028 and U+2029 break JavaScript parsers that read JSON as code.
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// appendLabels writes a label set as a JSON object in label order.
func appendLabels(b []byte, ls labels.Labels) []byte {
	b = append(b, '{')
	first := true
	ls.Range(func(l labels.Label) {
		if !first {
			b = append(b, ',')
		}
		first = false
		b = appendString(b, l.Name)
		b = append(b, ':')
		b = appendString(b, l.Value)
	})
	return append(b, '}')
}

// appendHistogram writes a native histogram: count, sum and the non-empty
// buckets as [boundary rule, lower, upper, count]. The rule says which
// ends are inclusive: 0 the upper only, 1 the lower only, 2 neither, 3
// both. The buckets key is left out when every bucket is empty.
func appendHistogram(b []byte, h *histogram.FloatHistogram) []byte {
	b = append(b, `{"count":`...)
	b = appendFloatString(b, h.Count)
	b = append(b, `,"sum":`...)
	b = appendFloatString(b, h.Sum)
	found := false
	it := h.AllBucketIterator()
	for it.Next() {
		bk := it.At()
		if bk.Count == 0 {
			continue
		}
		if found {
			b = append(b, ',')
		} else {
			b = append(b, `,"buckets":[`...)
			found = true
		}
		rule := byte('2')
		switch {
		case bk.LowerInclusive && bk.UpperInclusive:
			rule = '3'
		case bk.LowerInclusive:
			rule = '1'
		case bk.UpperInclusive:
			rule = '0'
		}
		b = append(b, '[', rule, ',')
		b = appendFloatString(b, bk.Lower)
		b = append(b, ',')
		b = appendFloatString(b, bk.Upper)
		b = append(b, ',')
		b = appendFloatString(b, bk.Count)
		b = append(b, ']')
	}
	if found {
		b = append(b, ']')
	}
	return append(b, '}')
}

// appendValue writes the result of a query: the "result" part of the
// query endpoints' data.
func appendValue(b []byte, v promql.Value) []byte {
	switch v := v.(type) {
	case promql.Vector:
		b = append(b, '[')
		for i, s := range v {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"metric":`...)
			b = appendLabels(b, s.Metric)
			if s.H != nil {
				b = append(b, `,"histogram":[`...)
				b = appendTimestamp(b, s.T)
				b = append(b, ',')
				b = appendHistogram(b, s.H)
			} else {
				b = append(b, `,"value":[`...)
				b = appendTimestamp(b, s.T)
				b = append(b, ',')
				b = appendFloatString(b, s.F)
			}
			b = append(b, "]}"...)
		}
		return append(b, ']')
	case promql.Matrix:
		b = append(b, '[')
		for i, s := range v {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"metric":`...)
			b = appendLabels(b, s.Metric)
			if len(s.Floats) > 0 {
				b = append(b, `,"values":[`...)
				for j, p := range s.Floats {
					if j > 0 {
						b = append(b, ',')
					}
					b = append(b, '[')
					b = appendTimestamp(b, p.T)
					b = append(b, ',')
					b = appendFloatString(b, p.F)
					b = append(b, ']')
				}
				b = append(b, ']')
			}
			if len(s.Histograms) > 0 {
				b = append(b, `,"histograms":[`...)
				for j, p := range s.Histograms {
					if j > 0 {
						b = append(b, ',')
					}
					b = append(b, '[')
					b = appendTimestamp(b, p.T)
					b = append(b, ',')
					b = appendHistogram(b, p.H)
					b = append(b, ']')
				}
				b = append(b, ']')
			}
			b = append(b, '}')
		}
		return append(b, ']')
	case promql.Scalar:
		b = append(b, '[')
		b = appendTimestamp(b, v.T)
		b = append(b, ',')
		b = appendFloatString(b, v.V)
		return append(b, ']')
	case promql.String:
		b = append(b, '[')
		b = appendTimestamp(b, v.T)
		b = append(b, ',')
		b = appendString(b, v.V)
		return append(b, ']')
	}
	return append(b, "null"...)
}

// queryData is the data of /query and /query_range.
type queryData struct {
	value promql.Value
	stats *promql.BuiltinStats
}

func (d queryData) appendJSON(b []byte) ([]byte, error) {
	b = append(b, `{"resultType":`...)
	b = appendString(b, string(d.value.Type()))
	b = append(b, `,"result":`...)
	b = appendValue(b, d.value)
	if d.stats != nil {
		st, err := json.Marshal(d.stats)
		if err != nil {
			return nil, err
		}
		b = append(b, `,"stats":`...)
		b = append(b, st...)
	}
	return append(b, '}'), nil
}

// appender is implemented by data that writes its own JSON.
type appender interface {
	appendJSON(b []byte) ([]byte, error)
}

// appendData writes any response data: hand-encoded types directly,
// everything else through encoding/json.
func appendData(b []byte, data any) ([]byte, error) {
	if a, ok := data.(appender); ok {
		return a.appendJSON(b)
	}
	enc, err := json.Marshal(data)
	if err != nil {
		return nil, err
	}
	return append(b, enc...), nil
}
