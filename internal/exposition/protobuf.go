package exposition

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"unicode/utf8"
	"unsafe"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/vigil-monitoring/vigil/internal/model/exemplar"
	"github.com/vigil-monitoring/vigil/internal/model/histogram"
	"github.com/vigil-monitoring/vigil/internal/model/labels"
)

// NewProtobufParser returns a Parser over body, a sequence of
// io.prometheus.client.MetricFamily messages, each preceded by its length
// as a uvarint (the media type application/vnd.google.protobuf with
// proto=io.prometheus.client.MetricFamily and encoding=delimited).
//
// For every metric family with at least one metric the parser yields, in
// Prometheus' order, EntryHelp (possibly with empty text), EntryUnit (only
// when the family has a unit), EntryType, and then the samples of its
// metrics in input order:
//
//   - counter, gauge, untyped: one EntrySeries named after the family (no
//     suffix is added; the counter's Type is what tells it is a counter);
//   - summary: EntrySeries for <name>_count, <name>_sum and one <name> per
//     quantile with a "quantile" label;
//   - classic histogram: <name>_count, <name>_sum, then <name>_bucket with an
//     "le" label per bucket in input order up to the first +Inf bucket; a
//     +Inf bucket with the sample count is added when the input has none;
//   - native histogram (any span, a positive zero threshold or zero count,
//     or the custom buckets schema): one EntryHistogram named after the
//     family, followed by the classic series above when
//     Options.KeepClassicHistograms is set and the message also has
//     classic buckets.
//
// "quantile" and "le" values are formatted as Prometheus formats them: Go's
// shortest 'g' formatting with ".0" appended when that has neither a dot
// nor an exponent ("1.0", "0.5", "1e+06", "+Inf").
//
// A native histogram whose count or zero count is given as float becomes a
// histogram.FloatHistogram (bucket counts from positive_count and
// negative_count), otherwise a histogram.Histogram (bucket deltas from
// positive_delta and negative_delta). A gauge histogram family gets
// histogram.GaugeType as counter reset hint. Histograms are compacted with
// Compact(0), as Prometheus does. The metrics.proto of
// client_model has no field for custom bucket bounds, so a native histogram
// with schema histogram.CustomBucketsSchema takes its CustomValues from the
// upper bounds of its classic buckets (the +Inf bucket excluded).
//
// A timestamp_ms of 0 counts as absent, as in Prometheus. Empty families
// are skipped entirely, as in Prometheus. Unknown fields are skipped.
// Family names, label names and all text must be valid UTF-8; a unit must
// be a suffix of the family name (before "_total" for counters).
//
// Series returns name, then for every label in input order the separator
// byte 0xff, the label name, 0xff and the value, and finally the "le" or
// "quantile" label in the same form. Since all these are valid UTF-8, in
// which 0xff cannot occur, two different series of one body never share a
// key, and a producer that keeps its label order keeps its keys across
// scrapes.
//
// Everything returned, including the spans and bucket slices of the
// histograms, is owned by the parser or points into body, and stays valid
// only until the next call to Next.
func NewProtobufParser(body []byte, opts Options) Parser {
	p := &protobufParser{body: body, opts: opts}
	// Room for typical series; the buffers grow on demand and are reused.
	p.key = make([]byte, 0, 256)
	p.m.labelKey = make([]byte, 0, 256)
	p.m.labels = make([]pbLabel, 0, 16)
	return p
}

// pbState is where the parser is within the current family.
type pbState uint8

const (
	pbStateFamily  pbState = iota // the next Next reads a new family
	pbStateHelp                   // EntryHelp was returned
	pbStateUnit                   // EntryUnit was returned
	pbStateSamples                // EntryType or a sample was returned
	pbStateDone                   // io.EOF or an error was returned
)

// pbKind is what the current sample is.
type pbKind uint8

const (
	pbKindValue    pbKind = iota // counter, gauge or untyped value
	pbKindCount                  // summary or classic histogram _count
	pbKindSum                    // summary or classic histogram _sum
	pbKindQuantile               // summary quantile p.index
	pbKindBucket                 // classic bucket p.index
	pbKindInf                    // synthesized +Inf classic bucket
	pbKindNative                 // native histogram
)

type protobufParser struct {
	body []byte
	opts Options
	next int // offset of the next family's length prefix
	err  error

	state pbState

	// The current family.
	msgNum     int    // 1-based number of the family message in the body
	msgOff     int    // offset of its length prefix
	metrics    []byte // unread rest of the family message
	metricNum  int    // 1-based number of the current metric in the family
	name       []byte
	help, unit []byte
	typ        int32

	// The current metric and the samples it expands to.
	m        pbMetric
	scratch  pbMetric // validates value sub-messages of another type
	sub      int      // index of the next sample of the metric
	nsub     int      // number of samples of the metric
	native   bool     // sample 0 is a native histogram
	nBuckets int      // classic buckets taken from m.buckets
	synthInf bool     // a +Inf bucket follows them

	// The current sample.
	kind      pbKind
	index     int // quantile or bucket index
	key       []byte
	nameLen   int    // key[:nameLen] is the sample's metric name
	magicName string // "le", "quantile" or ""
	magicOff  int    // key[magicOff:] is its value
	bounds    []pbBoundText
	ts        int64
	fh        histogram.FloatHistogram
	h         histogram.Histogram
	isFloat   bool
	customVal []float64

	// Exemplar iteration over the current sample.
	exPos     int
	exDone    bool
	exBuilder labels.ScratchBuilder
}

func (p *protobufParser) Next() (Entry, error) {
	switch p.state {
	case pbStateDone:
		if p.err != nil {
			return EntryInvalid, p.err
		}
		return EntryInvalid, io.EOF
	case pbStateFamily:
		if err := p.nextFamily(); err != nil {
			return p.fail(err)
		}
		p.state = pbStateHelp
		return EntryHelp, nil
	case pbStateHelp:
		if len(p.unit) > 0 {
			p.state = pbStateUnit
			return EntryUnit, nil
		}
		p.state = pbStateSamples
		return EntryType, nil
	case pbStateUnit:
		p.state = pbStateSamples
		return EntryType, nil
	}
	for p.sub >= p.nsub {
		more, err := p.nextMetric()
		if err != nil {
			return p.fail(err)
		}
		if !more {
			p.state = pbStateFamily
			return p.Next()
		}
	}
	return p.nextSample()
}

func (p *protobufParser) fail(err error) (Entry, error) {
	p.state = pbStateDone
	if !errors.Is(err, io.EOF) {
		p.err = err
	}
	return EntryInvalid, err
}

// wrap prefixes err with the number and offset of the current family
// message and, once known, the family name.
func (p *protobufParser) wrap(err error) error {
	if len(p.name) > 0 {
		return fmt.Errorf("protobuf message %d at offset %d (family %q): %w", p.msgNum, p.msgOff, p.name, err)
	}
	return fmt.Errorf("protobuf message %d at offset %d: %w", p.msgNum, p.msgOff, err)
}

// errorf is wrap for a new error.
func (p *protobufParser) errorf(format string, args ...any) error {
	return p.wrap(fmt.Errorf(format, args...))
}

// nextFamily reads the next non-empty family message and its metadata.
func (p *protobufParser) nextFamily() error {
	for {
		if p.next >= len(p.body) {
			return io.EOF
		}
		p.msgNum++
		p.msgOff = p.next
		p.name, p.help, p.unit, p.typ = nil, nil, nil, 0
		rest := p.body[p.next:]
		size, n := protowire.ConsumeVarint(rest)
		if n < 0 {
			return p.errorf("invalid length prefix: %w", pbParseError(n))
		}
		if size > uint64(len(rest)-n) {
			return p.errorf("message length %d exceeds the %d bytes left", size, len(rest)-n)
		}
		msg := rest[n : n+int(size)]
		p.next += n + int(size)

		hasMetric, err := p.decodeFamily(msg)
		if err != nil {
			return err
		}
		if !hasMetric {
			continue
		}
		p.metrics = msg
		p.metricNum = 0
		p.sub, p.nsub = 0, 0
		return nil
	}
}

// decodeFamily reads name, help, type and unit of a family message (they
// may come in any order, unit usually after the metrics) and validates
// them. It reports whether the family has a metric.
func (p *protobufParser) decodeFamily(b []byte) (bool, error) {
	hasMetric := false
	for len(b) > 0 {
		num, typ, n, err := pbField(b)
		if err != nil {
			return false, p.wrap(err)
		}
		b = b[n:]
		var v uint64
		switch num {
		case pbFamilyName:
			p.name, n, err = pbBytes(typ, b)
		case pbFamilyHelp:
			p.help, n, err = pbBytes(typ, b)
		case pbFamilyType:
			v, n, err = pbVarint(typ, b)
			p.typ = int32(v)
		case pbFamilyMetric:
			_, n, err = pbBytes(typ, b)
			hasMetric = true
		case pbFamilyUnit:
			p.unit, n, err = pbBytes(typ, b)
		default:
			n, err = pbSkip(num, typ, b)
		}
		if err != nil {
			return false, p.wrap(pbFieldError("family", num, err))
		}
		b = b[n:]
	}
	if !hasMetric {
		return false, nil
	}
	if len(p.name) == 0 || !utf8.Valid(p.name) {
		return false, p.errorf("invalid metric name %q", p.name)
	}
	if !utf8.Valid(p.help) {
		return false, p.errorf("invalid UTF-8 in help %q", p.help)
	}
	if p.typ < pbTypeCounter || p.typ > pbTypeGaugeHistogram {
		return false, p.errorf("invalid metric type %d", p.typ)
	}
	if len(p.unit) > 0 {
		base := p.name
		if p.typ == pbTypeCounter {
			base = bytes.TrimSuffix(base, []byte("_total"))
		}
		if !bytes.HasSuffix(base, p.unit) || len(base) <= len(p.unit) || base[len(base)-len(p.unit)-1] != '_' {
			return false, p.errorf("unit %q is not a suffix of the metric name", p.unit)
		}
	}
	return true, nil
}

// nextMetric decodes the next metric of the family and plans its samples.
// It reports false at the end of the family.
func (p *protobufParser) nextMetric() (bool, error) {
	for len(p.metrics) > 0 {
		// The family message was fully scanned by decodeFamily, so these
		// reads cannot fail.
		num, typ, n, _ := pbField(p.metrics)
		p.metrics = p.metrics[n:]
		if num != pbFamilyMetric {
			n, _ = pbSkip(num, typ, p.metrics)
			p.metrics = p.metrics[n:]
			continue
		}
		raw, n, _ := pbBytes(typ, p.metrics)
		p.metrics = p.metrics[n:]
		p.metricNum++
		if err := p.m.decodeMetric(raw, p.typ, &p.scratch); err != nil {
			return false, p.errorf("metric %d: %w", p.metricNum, err)
		}
		p.plan()
		return true, nil
	}
	return false, nil
}

// plan decides which samples the current metric yields.
func (p *protobufParser) plan() {
	m := &p.m
	p.sub, p.native, p.nBuckets, p.synthInf = 0, false, 0, false
	switch p.typ {
	case pbTypeCounter, pbTypeGauge, pbTypeUntyped:
		p.nsub = 1
		return
	case pbTypeSummary:
		p.nsub = 2 + len(m.quantiles)
		return
	}
	p.nsub = 0
	if m.isNative() {
		p.native = true
		p.nsub = 1
		if !p.opts.KeepClassicHistograms || len(m.buckets) == 0 {
			return
		}
	}
	p.nBuckets = len(m.buckets)
	p.synthInf = true
	for i := range m.buckets {
		if math.IsInf(m.buckets[i].upper, 1) {
			p.nBuckets = i + 1
			p.synthInf = false
			break
		}
	}
	p.nsub += 2 + p.nBuckets
	if p.synthInf {
		p.nsub++
	}
}

// nextSample sets up sample p.sub of the current metric.
func (p *protobufParser) nextSample() (Entry, error) {
	i := p.sub
	p.sub++
	p.exPos, p.exDone = 0, false
	p.magicName = ""
	if p.native {
		if i == 0 {
			p.kind = pbKindNative
			if err := p.buildHistogram(); err != nil {
				return p.fail(p.errorf("metric %d: %w", p.metricNum, err))
			}
			p.setKey("", "")
			return EntryHistogram, nil
		}
		i--
	}
	switch {
	case p.typ != pbTypeSummary && p.typ != pbTypeHistogram && p.typ != pbTypeGaugeHistogram:
		p.kind = pbKindValue
		p.setKey("", "")
	case i == 0:
		p.kind = pbKindCount
		p.setKey("_count", "")
	case i == 1:
		p.kind = pbKindSum
		p.setKey("_sum", "")
	case p.typ == pbTypeSummary:
		p.kind, p.index = pbKindQuantile, i-2
		p.setKey("", "quantile")
	case i-2 < p.nBuckets:
		p.kind, p.index = pbKindBucket, i-2
		p.setKey("_bucket", labels.BucketLabel)
	default:
		p.kind = pbKindInf
		p.setKey("_bucket", labels.BucketLabel)
	}
	return EntrySeries, nil
}

// setKey builds the series key of the current sample: the metric name with
// suffix, the metric's labels and the magic label, if any.
func (p *protobufParser) setKey(suffix, magic string) {
	k := append(p.key[:0], p.name...)
	k = append(k, suffix...)
	p.nameLen = len(k)
	k = append(k, p.m.labelKey...)
	if magic != "" {
		p.magicName = magic
		k = append(k, pbSeparator)
		k = append(k, magic...)
		k = append(k, pbSeparator)
		p.magicOff = len(k)
		switch p.kind {
		case pbKindQuantile:
			k = p.appendBound(k, p.m.quantiles[p.index].quantile)
		case pbKindBucket:
			k = p.appendBound(k, p.m.buckets[p.index].upper)
		default:
			k = append(k, "+Inf"...)
		}
	}
	p.key = k
}

// appendBound appends the "le" or "quantile" text of f for bucket or
// quantile p.index. The metrics of a family usually share their bounds, so
// the text is cached per index and formatted only when the bound changes.
func (p *protobufParser) appendBound(dst []byte, f float64) []byte {
	bits := math.Float64bits(f)
	if p.index >= len(p.bounds) {
		p.bounds = append(p.bounds, make([]pbBoundText, max(p.index+1, 2*len(p.bounds), 16)-len(p.bounds))...)
	}
	c := &p.bounds[p.index]
	if !c.ok || c.bits != bits {
		t := appendOpenMetricsFloat(c.text[:0], f)
		if len(t) > len(c.text) { // cannot happen, see pbBoundText
			c.ok = false
			return append(dst, t...)
		}
		c.n = uint8(len(t))
		c.bits, c.ok = bits, true
	}
	return append(dst, c.text[:c.n]...)
}

// pbBoundText is a cached formatted bucket bound or quantile. 24 bytes
// hold the longest float64 in shortest 'g' form ("-2.2250738585072014e-308").
type pbBoundText struct {
	bits uint64
	ok   bool
	n    uint8
	text [24]byte
}

// appendOpenMetricsFloat appends f the way Prometheus formats "le" and
// "quantile" values of protobuf input: shortest 'g' formatting, with ".0"
// added when the result has neither a dot nor an exponent.
func appendOpenMetricsFloat(dst []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		return append(dst, "NaN"...)
	case math.IsInf(f, 1):
		return append(dst, "+Inf"...)
	case math.IsInf(f, -1):
		return append(dst, "-Inf"...)
	}
	start := len(dst)
	dst = strconv.AppendFloat(dst, f, 'g', -1, 64)
	if bytes.IndexAny(dst[start:], ".e") < 0 {
		dst = append(dst, ".0"...)
	}
	return dst
}

// buildHistogram fills p.h or p.fh from the current metric and compacts
// it as Prometheus does (empty buckets and zero-length spans dropped,
// adjacent spans merged). The spans and buckets alias the decoder's reused
// slices.
func (p *protobufParser) buildHistogram() error {
	m := &p.m
	hint := histogram.UnknownCounterReset
	if p.typ == pbTypeGaugeHistogram {
		hint = histogram.GaugeType
	}
	var custom []float64
	if m.schema == histogram.CustomBucketsSchema {
		p.customVal = p.customVal[:0]
		for i := range m.buckets {
			u := m.buckets[i].upper
			if math.IsInf(u, 1) {
				break
			}
			if n := len(p.customVal); n > 0 && !(u > p.customVal[n-1]) {
				return fmt.Errorf("custom bucket bounds must increase strictly, got %v after %v", u, p.customVal[n-1])
			}
			p.customVal = append(p.customVal, u)
		}
		custom = p.customVal
	}
	p.isFloat = m.countFloat > 0 || m.zeroCountFloat > 0
	if p.isFloat {
		if err := pbCheckSpans("positive", m.posSpans, len(m.posCounts)); err != nil {
			return err
		}
		if err := pbCheckSpans("negative", m.negSpans, len(m.negCounts)); err != nil {
			return err
		}
		p.fh = histogram.FloatHistogram{
			CounterResetHint: hint,
			Schema:           m.schema,
			ZeroThreshold:    m.zeroThreshold,
			ZeroCount:        m.zeroCountFloat,
			Count:            m.countFloat,
			Sum:              m.sum,
			PositiveSpans:    m.posSpans,
			NegativeSpans:    m.negSpans,
			PositiveBuckets:  m.posCounts,
			NegativeBuckets:  m.negCounts,
			CustomValues:     custom,
		}
		p.fh.Compact(0)
		return nil
	}
	if err := pbCheckSpans("positive", m.posSpans, len(m.posDeltas)); err != nil {
		return err
	}
	if err := pbCheckSpans("negative", m.negSpans, len(m.negDeltas)); err != nil {
		return err
	}
	p.h = histogram.Histogram{
		CounterResetHint: hint,
		Schema:           m.schema,
		ZeroThreshold:    m.zeroThreshold,
		ZeroCount:        m.zeroCount,
		Count:            m.count,
		Sum:              m.sum,
		PositiveSpans:    m.posSpans,
		NegativeSpans:    m.negSpans,
		PositiveBuckets:  m.posDeltas,
		NegativeBuckets:  m.negDeltas,
		CustomValues:     custom,
	}
	p.h.Compact(0)
	return nil
}

// pbCheckSpans checks that the spans describe exactly n buckets.
func pbCheckSpans(side string, spans []histogram.Span, n int) error {
	var total uint64
	for _, s := range spans {
		total += uint64(s.Length)
	}
	if total != uint64(n) {
		return fmt.Errorf("native histogram: %s spans cover %d buckets, but %d bucket counts are given", side, total, n)
	}
	return nil
}

func (p *protobufParser) Series() ([]byte, *int64, float64) {
	m := &p.m
	var v float64
	switch p.kind {
	case pbKindValue:
		v = m.value
	case pbKindCount, pbKindInf:
		v = float64(m.count)
		if p.typ != pbTypeSummary && m.countFloat > 0 {
			v = m.countFloat
		}
	case pbKindSum:
		v = m.sum
	case pbKindQuantile:
		v = m.quantiles[p.index].value
	case pbKindBucket:
		b := &m.buckets[p.index]
		v = float64(b.count)
		if b.countFloat > 0 {
			v = b.countFloat
		}
	}
	return p.key, p.timestamp(), v
}

func (p *protobufParser) timestamp() *int64 {
	if !p.m.hasTs {
		return nil
	}
	p.ts = p.m.ts
	return &p.ts
}

func (p *protobufParser) Histogram() ([]byte, *int64, *histogram.Histogram, *histogram.FloatHistogram) {
	if p.isFloat {
		return p.key, p.timestamp(), nil, &p.fh
	}
	return p.key, p.timestamp(), &p.h, nil
}

func (p *protobufParser) Help() ([]byte, []byte) { return p.name, p.help }

func (p *protobufParser) Unit() ([]byte, []byte) { return p.name, p.unit }

// Comment returns nil: the protobuf format has no comments.
func (p *protobufParser) Comment() []byte { return nil }

func (p *protobufParser) Type() ([]byte, MetricType) {
	switch p.typ {
	case pbTypeCounter:
		return p.name, MetricTypeCounter
	case pbTypeGauge:
		return p.name, MetricTypeGauge
	case pbTypeSummary:
		return p.name, MetricTypeSummary
	case pbTypeHistogram:
		return p.name, MetricTypeHistogram
	case pbTypeGaugeHistogram:
		return p.name, MetricTypeGaugeHistogram
	}
	return p.name, MetricTypeUnknown
}

func (p *protobufParser) Labels(b *labels.ScratchBuilder) {
	b.Reset()
	b.Add(labels.MetricName, pbUnsafeString(p.key[:p.nameLen]))
	for _, l := range p.m.labels {
		b.UnsafeAddBytes(l.name, l.value)
	}
	if p.magicName != "" {
		b.Add(p.magicName, pbUnsafeString(p.key[p.magicOff:]))
	}
	b.Sort()
}

// Exemplar returns the counter's exemplar, or the exemplar of a classic
// bucket, once. For a native histogram it returns, one per call, the
// exemplars of its exemplars field, or when that is empty those of its
// classic buckets, skipping exemplars without a timestamp as Prometheus
// does.
func (p *protobufParser) Exemplar(e *exemplar.Exemplar) bool {
	if p.exDone {
		return false
	}
	m := &p.m
	var raw []byte
	switch p.kind {
	case pbKindValue:
		p.exDone = true
		if p.typ == pbTypeCounter {
			raw = m.exemplar
		}
	case pbKindBucket:
		p.exDone = true
		raw = m.buckets[p.index].exemplar
	case pbKindNative:
		raw = p.nextNativeExemplar()
	default:
		p.exDone = true
	}
	if raw == nil {
		p.exDone = true
		return false
	}
	p.exBuilder.Reset()
	// The exemplar was validated when its metric was decoded.
	v, ts, hasTs, _ := pbDecodeExemplar(raw, p)
	p.exBuilder.Sort()
	*e = exemplar.Exemplar{Labels: p.exBuilder.Labels(), Value: v, Ts: ts, HasTs: hasTs}
	return true
}

func (p *protobufParser) exemplarLabel(name, value []byte) {
	p.exBuilder.UnsafeAddBytes(name, value)
}

// nextNativeExemplar returns the next timestamped exemplar of a native
// histogram, or nil.
func (p *protobufParser) nextNativeExemplar() []byte {
	m := &p.m
	if len(m.exemplars) > 0 {
		for p.exPos < len(m.exemplars) {
			raw := m.exemplars[p.exPos]
			p.exPos++
			if hasTs, _ := pbExemplarHasTs(raw); hasTs {
				return raw
			}
		}
		return nil
	}
	for p.exPos < len(m.buckets) {
		raw := m.buckets[p.exPos].exemplar
		p.exPos++
		if raw == nil {
			continue
		}
		if hasTs, _ := pbExemplarHasTs(raw); hasTs {
			return raw
		}
	}
	return nil
}

// pbUnsafeString views b as a string without copying. The string must not
// outlive the bytes; ScratchBuilder copies when it builds the set.
func pbUnsafeString(b []byte) string {
	return unsafe.String(unsafe.SliceData(b), len(b))
}

func (p *protobufParser) CreatedTimestamp() int64 {
	switch p.typ {
	case pbTypeCounter, pbTypeSummary, pbTypeHistogram, pbTypeGaugeHistogram:
		return p.m.created
	}
	return 0
}

// Expect implements Parser. The hint is ignored: the series bytes of a
// protobuf sample are built from its decoded labels, so there is no label
// parsing left to skip once they are known.
func (p *protobufParser) Expect([]byte) {}
