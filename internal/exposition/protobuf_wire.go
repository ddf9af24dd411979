package exposition

// Wire-level decoding of the io.prometheus.client messages (metrics.proto of
// prometheus/client_model) on top of protowire. Nothing here allocates on
// the success path except the growth of the reused slices in pbMetric:
// strings and bytes fields are returned as sub-slices of the body.
//
// Decoding follows protobuf merge semantics: a scalar field that occurs
// twice keeps the last value, repeated fields accumulate (packed and
// unpacked encodings are both accepted), and a sub-message field that
// occurs twice is merged into the same state. Unknown fields, including
// groups, are skipped so newer producers stay readable.

import (
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/vigil-monitoring/vigil/internal/model/histogram"
)

// Wire field numbers of io.prometheus.client messages.
const (
	pbFamilyName   = 1
	pbFamilyHelp   = 2
	pbFamilyType   = 3
	pbFamilyMetric = 4
	pbFamilyUnit   = 5

	pbMetricLabel       = 1
	pbMetricGauge       = 2
	pbMetricCounter     = 3
	pbMetricSummary     = 4
	pbMetricUntyped     = 5
	pbMetricTimestampMs = 6
	pbMetricHistogram   = 7
)

// io.prometheus.client.MetricType values.
const (
	pbTypeCounter        = 0
	pbTypeGauge          = 1
	pbTypeSummary        = 2
	pbTypeUntyped        = 3
	pbTypeHistogram      = 4
	pbTypeGaugeHistogram = 5
)

// pbSeparator separates the parts of a series key. It never occurs in valid
// UTF-8, and every name and value in a key is checked to be valid UTF-8, so
// the encoding is unambiguous.
const pbSeparator = 0xff

var (
	errPackedDoubles = errors.New("packed doubles: length is not a multiple of 8")
	errFieldNumber   = errors.New("field number out of range")
)

// pbLabel is one LabelPair, both parts pointing into the body.
type pbLabel struct {
	name, value []byte
}

// pbQuantile is one Summary quantile.
type pbQuantile struct {
	quantile, value float64
}

// pbBucket is one classic histogram Bucket.
type pbBucket struct {
	count      uint64
	countFloat float64
	upper      float64
	exemplar   []byte // raw Exemplar message, nil when absent
}

// pbMetric is the decoded state of one Metric message. It is reset and
// reused for every metric of a scrape; all slices point into the body or
// are owned by the parser.
type pbMetric struct {
	labels []pbLabel
	// labelKey is the label part of the series key: for each label in
	// input order, separator, name, separator, value.
	labelKey []byte

	hasTs bool
	ts    int64

	// Counter, gauge and untyped.
	value    float64
	exemplar []byte // counter exemplar, raw
	created  int64  // created timestamp in ms, 0 when absent

	// Summary and histogram.
	count      uint64
	countFloat float64
	sum        float64
	quantiles  []pbQuantile
	buckets    []pbBucket

	// Native histogram.
	schema         int32
	zeroThreshold  float64
	zeroCount      uint64
	zeroCountFloat float64
	negSpans       []histogram.Span
	posSpans       []histogram.Span
	negDeltas      []int64
	posDeltas      []int64
	negCounts      []float64
	posCounts      []float64
	exemplars      [][]byte // raw Exemplar messages of a native histogram
}

// reset prepares m for a metric of a family of type typ, clearing only the
// fields that type uses (a negative typ clears all of them).
func (m *pbMetric) reset(typ int32) {
	m.labels, m.labelKey = m.labels[:0], m.labelKey[:0]
	m.hasTs, m.ts = false, 0
	m.value, m.exemplar, m.created = 0, nil, 0
	if typ == pbTypeCounter || typ == pbTypeGauge || typ == pbTypeUntyped {
		return
	}
	m.count, m.countFloat, m.sum = 0, 0, 0
	m.quantiles, m.buckets = m.quantiles[:0], m.buckets[:0]
	if typ == pbTypeSummary {
		return
	}
	m.schema, m.zeroThreshold, m.zeroCount, m.zeroCountFloat = 0, 0, 0, 0
	m.negSpans, m.posSpans = m.negSpans[:0], m.posSpans[:0]
	m.negDeltas, m.posDeltas = m.negDeltas[:0], m.posDeltas[:0]
	m.negCounts, m.posCounts = m.negCounts[:0], m.posCounts[:0]
	m.exemplars = m.exemplars[:0]
}

// isNative reports whether the decoded histogram carries native buckets.
// The rule is Prometheus': any span, a positive zero threshold or a
// positive zero count. Producers mark an empty native histogram with a
// zero threshold of 0 by a no-op span (offset 0, length 0). A float zero
// count and the custom buckets schema count too, since only native
// histograms have them.
func (m *pbMetric) isNative() bool {
	return len(m.posSpans) > 0 || len(m.negSpans) > 0 ||
		m.zeroThreshold > 0 || m.zeroCount > 0 || m.zeroCountFloat > 0 ||
		m.schema == histogram.CustomBucketsSchema
}

// pbWireTypeError reports a known field sent with an unexpected wire type.
type pbWireTypeError struct {
	got, want protowire.Type
}

func (e pbWireTypeError) Error() string {
	return fmt.Sprintf("wire type %d, want %d", e.got, e.want)
}

// pbFieldError names the message and field an error occurred in.
func pbFieldError(msg string, num protowire.Number, err error) error {
	return fmt.Errorf("%s field %d: %w", msg, num, err)
}

// pbWireError is a protowire error with a stable message: protowire
// prefixes its messages with "proto:" and a randomly chosen space character
// to keep callers from matching on them, which would make ours unstable.
type pbWireError struct{ err error }

func (e pbWireError) Error() string {
	return strings.TrimLeft(strings.TrimPrefix(e.err.Error(), "proto:"), " \u00a0")
}

func (e pbWireError) Unwrap() error { return e.err }

// pbParseError converts a negative protowire length into an error.
func pbParseError(n int) error {
	err := protowire.ParseError(n)
	if err == io.ErrUnexpectedEOF {
		return err
	}
	return pbWireError{err}
}

// pbField reads one field header from b.
func pbField(b []byte) (protowire.Number, protowire.Type, int, error) {
	// Fast path: every field of these messages has a one-byte tag.
	if len(b) > 0 && b[0] >= 1<<3 && b[0] < 0x80 {
		return protowire.Number(b[0] >> 3), protowire.Type(b[0] & 7), 1, nil
	}
	return pbFieldSlow(b)
}

func pbFieldSlow(b []byte) (protowire.Number, protowire.Type, int, error) {
	num, typ, n := protowire.ConsumeTag(b)
	if n < 0 {
		return 0, 0, 0, pbParseError(n)
	}
	if num > protowire.MaxValidNumber {
		return 0, 0, 0, errFieldNumber
	}
	return num, typ, n, nil
}

func pbSkip(num protowire.Number, typ protowire.Type, b []byte) (int, error) {
	n := protowire.ConsumeFieldValue(num, typ, b)
	if n < 0 {
		return 0, pbParseError(n)
	}
	return n, nil
}

func pbVarint(typ protowire.Type, b []byte) (uint64, int, error) {
	if typ != protowire.VarintType {
		return 0, 0, pbWireTypeError{typ, protowire.VarintType}
	}
	v, n := protowire.ConsumeVarint(b)
	if n < 0 {
		return 0, 0, pbParseError(n)
	}
	return v, n, nil
}

func pbDouble(typ protowire.Type, b []byte) (float64, int, error) {
	if typ != protowire.Fixed64Type {
		return 0, 0, pbWireTypeError{typ, protowire.Fixed64Type}
	}
	v, n := protowire.ConsumeFixed64(b)
	if n < 0 {
		return 0, 0, pbParseError(n)
	}
	return math.Float64frombits(v), n, nil
}

func pbBytes(typ protowire.Type, b []byte) ([]byte, int, error) {
	if typ != protowire.BytesType {
		return nil, 0, pbWireTypeError{typ, protowire.BytesType}
	}
	// Fast path: a length below 128 takes one byte.
	if len(b) > 0 && b[0] < 0x80 && int(b[0]) < len(b) {
		return b[1 : 1+int(b[0])], 1 + int(b[0]), nil
	}
	v, n := protowire.ConsumeBytes(b)
	if n < 0 {
		return nil, 0, pbParseError(n)
	}
	return v, n, nil
}

// pbSint32 decodes a zig-zag encoded sint32 the way protobuf does: the
// upper 32 bits of the varint are ignored.
func pbSint32(v uint64) int32 {
	return int32(protowire.DecodeZigZag(v & math.MaxUint32))
}

// pbAppendSint64s decodes one occurrence of a repeated sint64 field, packed
// or not.
func pbAppendSint64s(dst []int64, typ protowire.Type, b []byte) ([]int64, int, error) {
	switch typ {
	case protowire.VarintType:
		v, n := protowire.ConsumeVarint(b)
		if n < 0 {
			return dst, 0, pbParseError(n)
		}
		return append(dst, protowire.DecodeZigZag(v)), n, nil
	case protowire.BytesType:
		data, n := protowire.ConsumeBytes(b)
		if n < 0 {
			return dst, 0, pbParseError(n)
		}
		for len(data) > 0 {
			v, m := protowire.ConsumeVarint(data)
			if m < 0 {
				return dst, 0, pbParseError(m)
			}
			dst = append(dst, protowire.DecodeZigZag(v))
			data = data[m:]
		}
		return dst, n, nil
	}
	return dst, 0, pbWireTypeError{typ, protowire.BytesType}
}

// pbAppendDoubles decodes one occurrence of a repeated double field, packed
// or not.
func pbAppendDoubles(dst []float64, typ protowire.Type, b []byte) ([]float64, int, error) {
	switch typ {
	case protowire.Fixed64Type:
		v, n := protowire.ConsumeFixed64(b)
		if n < 0 {
			return dst, 0, pbParseError(n)
		}
		return append(dst, math.Float64frombits(v)), n, nil
	case protowire.BytesType:
		data, n := protowire.ConsumeBytes(b)
		if n < 0 {
			return dst, 0, pbParseError(n)
		}
		if len(data)%8 != 0 {
			return dst, 0, errPackedDoubles
		}
		for ; len(data) > 0; data = data[8:] {
			v, _ := protowire.ConsumeFixed64(data)
			dst = append(dst, math.Float64frombits(v))
		}
		return dst, n, nil
	}
	return dst, 0, pbWireTypeError{typ, protowire.BytesType}
}

// pbDecodeTimestamp decodes a google.protobuf.Timestamp into milliseconds.
func pbDecodeTimestamp(b []byte) (int64, error) {
	var secs, nanos int64
	for len(b) > 0 {
		num, typ, n, err := pbField(b)
		if err != nil {
			return 0, err
		}
		b = b[n:]
		var v uint64
		switch num {
		case 1:
			v, n, err = pbVarint(typ, b)
			secs = int64(v)
		case 2:
			v, n, err = pbVarint(typ, b)
			nanos = int64(int32(v))
		default:
			n, err = pbSkip(num, typ, b)
		}
		if err != nil {
			return 0, pbFieldError("timestamp", num, err)
		}
		b = b[n:]
	}
	return secs*1000 + nanos/1_000_000, nil
}

// pbLabelPair decodes a LabelPair and checks that the name is non-empty
// valid UTF-8 and the value valid UTF-8 (what Prometheus accepts under
// UTF-8 name validation).
func pbLabelPair(b []byte) (name, value []byte, err error) {
	for len(b) > 0 {
		num, typ, n, err := pbField(b)
		if err != nil {
			return nil, nil, err
		}
		b = b[n:]
		switch num {
		case 1:
			name, n, err = pbBytes(typ, b)
		case 2:
			value, n, err = pbBytes(typ, b)
		default:
			n, err = pbSkip(num, typ, b)
		}
		if err != nil {
			return nil, nil, pbFieldError("label", num, err)
		}
		b = b[n:]
	}
	if len(name) == 0 || !utf8.Valid(name) {
		return nil, nil, fmt.Errorf("invalid label name %q", name)
	}
	if !utf8.Valid(value) {
		return nil, nil, fmt.Errorf("invalid value %q for label %q", value, name)
	}
	return name, value, nil
}

// pbExemplarVisitor receives the labels of an exemplar being decoded.
type pbExemplarVisitor interface {
	exemplarLabel(name, value []byte)
}

// pbDecodeExemplar decodes an Exemplar message, passing each label to v
// when v is not nil.
func pbDecodeExemplar(b []byte, v pbExemplarVisitor) (value float64, ts int64, hasTs bool, err error) {
	for len(b) > 0 {
		num, typ, n, err := pbField(b)
		if err != nil {
			return 0, 0, false, err
		}
		b = b[n:]
		switch num {
		case 1:
			var raw []byte
			raw, n, err = pbBytes(typ, b)
			if err == nil {
				var name, val []byte
				name, val, err = pbLabelPair(raw)
				if err == nil && v != nil {
					v.exemplarLabel(name, val)
				}
			}
		case 2:
			value, n, err = pbDouble(typ, b)
		case 3:
			var raw []byte
			raw, n, err = pbBytes(typ, b)
			if err == nil {
				ts, err = pbDecodeTimestamp(raw)
				hasTs = true
			}
		default:
			n, err = pbSkip(num, typ, b)
		}
		if err != nil {
			return 0, 0, false, pbFieldError("exemplar", num, err)
		}
		b = b[n:]
	}
	return value, ts, hasTs, nil
}

// pbExemplarHasTs validates an exemplar and reports whether it carries a
// timestamp.
func pbExemplarHasTs(b []byte) (bool, error) {
	_, _, hasTs, err := pbDecodeExemplar(b, nil)
	return hasTs, err
}

// decodeMetric decodes one Metric message of a family of type typ into m.
// Only the value sub-message matching typ is kept; others are decoded into
// scratch to validate them and then dropped. A missing one leaves the zero
// values, as in Prometheus.
func (m *pbMetric) decodeMetric(b []byte, typ int32, scratch *pbMetric) error {
	m.reset(typ)
	for len(b) > 0 {
		num, wt, n, err := pbField(b)
		if err != nil {
			return err
		}
		b = b[n:]
		var raw []byte
		switch num {
		case pbMetricLabel:
			raw, n, err = pbBytes(wt, b)
			if err == nil {
				var name, value []byte
				name, value, err = pbLabelPair(raw)
				if err == nil {
					m.labels = append(m.labels, pbLabel{name, value})
					m.labelKey = append(m.labelKey, pbSeparator)
					m.labelKey = append(m.labelKey, name...)
					m.labelKey = append(m.labelKey, pbSeparator)
					m.labelKey = append(m.labelKey, value...)
				}
			}
		case pbMetricTimestampMs:
			var v uint64
			v, n, err = pbVarint(wt, b)
			m.ts = int64(v)
			m.hasTs = m.ts != 0
		case pbMetricGauge, pbMetricCounter, pbMetricSummary, pbMetricUntyped, pbMetricHistogram:
			raw, n, err = pbBytes(wt, b)
			if err == nil {
				dst := m
				if !pbValueFieldMatches(num, typ) {
					// Decoded only to be validated, as protobuf
					// decoders do with every known field.
					scratch.reset(-1)
					dst = scratch
				}
				err = dst.decodeValue(num, raw)
			}
		default:
			n, err = pbSkip(num, wt, b)
		}
		if err != nil {
			return pbFieldError("metric", num, err)
		}
		b = b[n:]
	}
	return nil
}

// pbValueFieldMatches reports whether Metric field num holds the value of a
// family of type typ.
func pbValueFieldMatches(num protowire.Number, typ int32) bool {
	switch num {
	case pbMetricCounter:
		return typ == pbTypeCounter
	case pbMetricGauge:
		return typ == pbTypeGauge
	case pbMetricUntyped:
		return typ == pbTypeUntyped
	case pbMetricSummary:
		return typ == pbTypeSummary
	}
	return typ == pbTypeHistogram || typ == pbTypeGaugeHistogram
}

// decodeValue decodes the value sub-message in Metric field num.
func (m *pbMetric) decodeValue(num protowire.Number, b []byte) error {
	switch num {
	case pbMetricCounter:
		return m.decodeCounter(b)
	case pbMetricSummary:
		return m.decodeSummary(b)
	case pbMetricHistogram:
		return m.decodeHistogram(b)
	}
	return m.decodeSimple(b)
}

// decodeSimple decodes a Gauge or Untyped message.
func (m *pbMetric) decodeSimple(b []byte) error {
	for len(b) > 0 {
		num, typ, n, err := pbField(b)
		if err != nil {
			return err
		}
		b = b[n:]
		if num == 1 {
			m.value, n, err = pbDouble(typ, b)
		} else {
			n, err = pbSkip(num, typ, b)
		}
		if err != nil {
			return pbFieldError("value", num, err)
		}
		b = b[n:]
	}
	return nil
}

func (m *pbMetric) decodeCounter(b []byte) error {
	for len(b) > 0 {
		num, typ, n, err := pbField(b)
		if err != nil {
			return err
		}
		b = b[n:]
		var raw []byte
		switch num {
		case 1:
			m.value, n, err = pbDouble(typ, b)
		case 2:
			raw, n, err = pbBytes(typ, b)
			if err == nil {
				if _, err = pbExemplarHasTs(raw); err == nil {
					m.exemplar = raw
				}
			}
		case 3:
			raw, n, err = pbBytes(typ, b)
			if err == nil {
				m.created, err = pbDecodeTimestamp(raw)
			}
		default:
			n, err = pbSkip(num, typ, b)
		}
		if err != nil {
			return pbFieldError("counter", num, err)
		}
		b = b[n:]
	}
	return nil
}

func (m *pbMetric) decodeSummary(b []byte) error {
	for len(b) > 0 {
		num, typ, n, err := pbField(b)
		if err != nil {
			return err
		}
		b = b[n:]
		var raw []byte
		switch num {
		case 1:
			m.count, n, err = pbVarint(typ, b)
		case 2:
			m.sum, n, err = pbDouble(typ, b)
		case 3:
			raw, n, err = pbBytes(typ, b)
			if err == nil {
				var q pbQuantile
				q, err = pbDecodeQuantile(raw)
				m.quantiles = append(m.quantiles, q)
			}
		case 4:
			raw, n, err = pbBytes(typ, b)
			if err == nil {
				m.created, err = pbDecodeTimestamp(raw)
			}
		default:
			n, err = pbSkip(num, typ, b)
		}
		if err != nil {
			return pbFieldError("summary", num, err)
		}
		b = b[n:]
	}
	return nil
}

func pbDecodeQuantile(b []byte) (pbQuantile, error) {
	var q pbQuantile
	for len(b) > 0 {
		num, typ, n, err := pbField(b)
		if err != nil {
			return q, err
		}
		b = b[n:]
		switch num {
		case 1:
			q.quantile, n, err = pbDouble(typ, b)
		case 2:
			q.value, n, err = pbDouble(typ, b)
		default:
			n, err = pbSkip(num, typ, b)
		}
		if err != nil {
			return q, pbFieldError("quantile", num, err)
		}
		b = b[n:]
	}
	return q, nil
}

func (m *pbMetric) decodeHistogram(b []byte) error {
	for len(b) > 0 {
		num, typ, n, err := pbField(b)
		if err != nil {
			return err
		}
		b = b[n:]
		var (
			raw []byte
			v   uint64
		)
		switch num {
		case 1:
			m.count, n, err = pbVarint(typ, b)
		case 2:
			m.sum, n, err = pbDouble(typ, b)
		case 3:
			raw, n, err = pbBytes(typ, b)
			if err == nil {
				var bk pbBucket
				bk, err = pbDecodeBucket(raw)
				m.buckets = append(m.buckets, bk)
			}
		case 4:
			m.countFloat, n, err = pbDouble(typ, b)
		case 5:
			v, n, err = pbVarint(typ, b)
			m.schema = pbSint32(v)
		case 6:
			m.zeroThreshold, n, err = pbDouble(typ, b)
		case 7:
			m.zeroCount, n, err = pbVarint(typ, b)
		case 8:
			m.zeroCountFloat, n, err = pbDouble(typ, b)
		case 9, 12:
			raw, n, err = pbBytes(typ, b)
			if err == nil {
				var s histogram.Span
				s, err = pbDecodeSpan(raw)
				if num == 9 {
					m.negSpans = append(m.negSpans, s)
				} else {
					m.posSpans = append(m.posSpans, s)
				}
			}
		case 10:
			m.negDeltas, n, err = pbAppendSint64s(m.negDeltas, typ, b)
		case 11:
			m.negCounts, n, err = pbAppendDoubles(m.negCounts, typ, b)
		case 13:
			m.posDeltas, n, err = pbAppendSint64s(m.posDeltas, typ, b)
		case 14:
			m.posCounts, n, err = pbAppendDoubles(m.posCounts, typ, b)
		case 15:
			raw, n, err = pbBytes(typ, b)
			if err == nil {
				m.created, err = pbDecodeTimestamp(raw)
			}
		case 16:
			raw, n, err = pbBytes(typ, b)
			if err == nil {
				if _, err = pbExemplarHasTs(raw); err == nil {
					m.exemplars = append(m.exemplars, raw)
				}
			}
		default:
			n, err = pbSkip(num, typ, b)
		}
		if err != nil {
			return pbFieldError("histogram", num, err)
		}
		b = b[n:]
	}
	return nil
}

func pbDecodeBucket(b []byte) (pbBucket, error) {
	var bk pbBucket
	for len(b) > 0 {
		num, typ, n, err := pbField(b)
		if err != nil {
			return bk, err
		}
		b = b[n:]
		var raw []byte
		switch num {
		case 1:
			bk.count, n, err = pbVarint(typ, b)
		case 2:
			bk.upper, n, err = pbDouble(typ, b)
		case 3:
			raw, n, err = pbBytes(typ, b)
			if err == nil {
				if _, err = pbExemplarHasTs(raw); err == nil {
					bk.exemplar = raw
				}
			}
		case 4:
			bk.countFloat, n, err = pbDouble(typ, b)
		default:
			n, err = pbSkip(num, typ, b)
		}
		if err != nil {
			return bk, pbFieldError("bucket", num, err)
		}
		b = b[n:]
	}
	return bk, nil
}

func pbDecodeSpan(b []byte) (histogram.Span, error) {
	var s histogram.Span
	for len(b) > 0 {
		num, typ, n, err := pbField(b)
		if err != nil {
			return s, err
		}
		b = b[n:]
		var v uint64
		switch num {
		case 1:
			v, n, err = pbVarint(typ, b)
			s.Offset = pbSint32(v)
		case 2:
			v, n, err = pbVarint(typ, b)
			s.Length = uint32(v)
		default:
			n, err = pbSkip(num, typ, b)
		}
		if err != nil {
			return s, pbFieldError("span", num, err)
		}
		b = b[n:]
	}
	return s, nil
}
