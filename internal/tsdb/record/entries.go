package record

import (
	"encoding/binary"
	"slices"

	"github.com/vigil-monitoring/vigil/internal/model/histogram"
	"github.com/vigil-monitoring/vigil/internal/model/labels"
	"github.com/vigil-monitoring/vigil/internal/model/metadata"
	"github.com/vigil-monitoring/vigil/internal/storage"
)

// appendLabels appends the uvarint-prefixed label encoding without an
// intermediate copy.
func appendLabels(dst []byte, l labels.Labels) []byte {
	n := l.ByteSize()
	dst = binary.AppendUvarint(dst, uint64(n))
	dst = slices.Grow(dst, n)
	l.Bytes(dst[len(dst):len(dst)]) // fills dst's spare capacity in place
	return dst[:len(dst)+n]
}

// EncodeSeries appends a series record.
func EncodeSeries(dst []byte, series []RefSeries) []byte {
	dst = append(dst, byte(Series))
	for _, s := range series {
		dst = binary.AppendUvarint(dst, uint64(s.Ref))
		dst = appendLabels(dst, s.Labels)
	}
	return dst
}

// DecodeSeries appends the entries of a series record to dst.
func DecodeSeries(rec []byte, dst []RefSeries) ([]RefSeries, error) {
	d := start(rec, Series)
	for !d.done() {
		ref := storage.SeriesRef(d.uvarint())
		l := d.labels()
		if d.err == nil {
			dst = append(dst, RefSeries{Ref: ref, Labels: l})
		}
	}
	return dst, d.err
}

// appendBase appends the ref and time a batch is delta-coded against.
func appendBase(dst []byte, ref storage.SeriesRef, t int64) []byte {
	dst = binary.AppendUvarint(dst, uint64(ref))
	return binary.AppendVarint(dst, t)
}

func appendRefTime(dst []byte, ref, baseRef storage.SeriesRef, t, baseT int64) []byte {
	dst = binary.AppendVarint(dst, int64(ref)-int64(baseRef))
	return binary.AppendVarint(dst, t-baseT)
}

func (d *decoder) refTime(baseRef storage.SeriesRef, baseT int64) (storage.SeriesRef, int64) {
	dr := d.varint()
	dt := d.varint()
	return storage.SeriesRef(int64(baseRef) + dr), baseT + dt
}

// EncodeSamples appends a float samples record. An empty batch encodes as
// just the type byte.
func EncodeSamples(dst []byte, samples []RefSample) []byte {
	dst = append(dst, byte(Samples))
	if len(samples) == 0 {
		return dst
	}
	base := samples[0]
	dst = appendBase(dst, base.Ref, base.T)
	for _, s := range samples {
		dst = appendRefTime(dst, s.Ref, base.Ref, s.T, base.T)
		dst = appendFloat(dst, s.V)
	}
	return dst
}

// DecodeSamples appends the entries of a samples record to dst.
func DecodeSamples(rec []byte, dst []RefSample) ([]RefSample, error) {
	d := start(rec, Samples)
	if d.done() {
		return dst, d.err
	}
	baseRef, baseT := storage.SeriesRef(d.uvarint()), d.varint()
	for !d.done() {
		ref, t := d.refTime(baseRef, baseT)
		v := d.float()
		if d.err == nil {
			dst = append(dst, RefSample{Ref: ref, T: t, V: v})
		}
	}
	return dst, d.err
}

// EncodeTombstones appends a tombstones record.
func EncodeTombstones(dst []byte, stones []Stone) []byte {
	dst = append(dst, byte(Tombstones))
	for _, s := range stones {
		dst = binary.AppendUvarint(dst, uint64(s.Ref))
		dst = binary.AppendVarint(dst, s.Mint)
		dst = binary.AppendVarint(dst, s.Maxt)
	}
	return dst
}

// DecodeTombstones appends the entries of a tombstones record to dst.
func DecodeTombstones(rec []byte, dst []Stone) ([]Stone, error) {
	d := start(rec, Tombstones)
	for !d.done() {
		s := Stone{Ref: storage.SeriesRef(d.uvarint()), Mint: d.varint(), Maxt: d.varint()}
		if d.err == nil {
			dst = append(dst, s)
		}
	}
	return dst, d.err
}

// EncodeExemplars appends an exemplars record.
func EncodeExemplars(dst []byte, exemplars []RefExemplar) []byte {
	dst = append(dst, byte(Exemplars))
	if len(exemplars) == 0 {
		return dst
	}
	base := exemplars[0]
	dst = appendBase(dst, base.Ref, base.T)
	for _, e := range exemplars {
		dst = appendRefTime(dst, e.Ref, base.Ref, e.T, base.T)
		dst = appendFloat(dst, e.V)
		dst = appendLabels(dst, e.Labels)
	}
	return dst
}

// DecodeExemplars appends the entries of an exemplars record to dst.
func DecodeExemplars(rec []byte, dst []RefExemplar) ([]RefExemplar, error) {
	d := start(rec, Exemplars)
	if d.done() {
		return dst, d.err
	}
	baseRef, baseT := storage.SeriesRef(d.uvarint()), d.varint()
	for !d.done() {
		ref, t := d.refTime(baseRef, baseT)
		v := d.float()
		l := d.labels()
		if d.err == nil {
			dst = append(dst, RefExemplar{Ref: ref, T: t, V: v, Labels: l})
		}
	}
	return dst, d.err
}

// metadataTypes maps metadata types to their persisted byte; the index is
// the byte.
var metadataTypes = [...]metadata.Type{
	"", // 0: unknown or unset
	metadata.TypeCounter, metadata.TypeGauge, metadata.TypeHistogram,
	metadata.TypeGaugeHistogram, metadata.TypeSummary, metadata.TypeInfo,
	metadata.TypeStateset,
}

func metadataTypeByte(t metadata.Type) byte {
	for i, mt := range metadataTypes {
		if i > 0 && mt == t {
			return byte(i)
		}
	}
	return 0
}

// EncodeMetadata appends a metadata record. A type outside the known set
// is stored as unknown.
func EncodeMetadata(dst []byte, ms []RefMetadata) []byte {
	dst = append(dst, byte(Metadata))
	for _, m := range ms {
		dst = binary.AppendUvarint(dst, uint64(m.Ref))
		dst = append(dst, metadataTypeByte(m.Meta.Type))
		dst = appendString(dst, m.Meta.Unit)
		dst = appendString(dst, m.Meta.Help)
	}
	return dst
}

// DecodeMetadata appends the entries of a metadata record to dst.
func DecodeMetadata(rec []byte, dst []RefMetadata) ([]RefMetadata, error) {
	d := start(rec, Metadata)
	for !d.done() {
		ref := storage.SeriesRef(d.uvarint())
		tb := d.byte1()
		unit := d.bytes()
		help := d.bytes()
		if d.err != nil {
			break
		}
		typ := metadata.TypeUnknown
		if int(tb) < len(metadataTypes) && tb > 0 {
			typ = metadataTypes[tb]
		}
		dst = append(dst, RefMetadata{Ref: ref, Meta: metadata.Metadata{Type: typ, Unit: string(unit), Help: string(help)}})
	}
	return dst, d.err
}

func appendSpans(dst []byte, spans []histogram.Span) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(spans)))
	for _, s := range spans {
		dst = binary.AppendVarint(dst, int64(s.Offset))
		dst = binary.AppendUvarint(dst, uint64(s.Length))
	}
	return dst
}

func (d *decoder) spans() []histogram.Span {
	n := d.uvarint()
	if d.err != nil || n == 0 {
		return nil
	}
	// Each span takes at least 2 bytes: a cheap bound before allocating.
	if n > maxSpans || n > uint64(len(d.b))/2 {
		d.fail("too many spans")
		return nil
	}
	out := make([]histogram.Span, n)
	for i := range out {
		off := d.varint()
		length := d.uvarint()
		if off < -1<<31 || off > 1<<31-1 || length > maxBuckets {
			d.fail("span out of range")
			return nil
		}
		out[i] = histogram.Span{Offset: int32(off), Length: uint32(length)}
	}
	return out
}

// count reads a slice length whose elements take at least minSize bytes.
func (d *decoder) count(minSize int) int {
	n := d.uvarint()
	if d.err != nil {
		return 0
	}
	if n > maxBuckets || n > uint64(len(d.b)/minSize) {
		d.fail("too many elements")
		return 0
	}
	return int(n)
}

func appendHistogram(dst []byte, h *histogram.Histogram) []byte {
	dst = append(dst, byte(h.CounterResetHint))
	dst = binary.AppendVarint(dst, int64(h.Schema))
	dst = appendFloat(dst, h.ZeroThreshold)
	dst = binary.AppendUvarint(dst, h.ZeroCount)
	dst = binary.AppendUvarint(dst, h.Count)
	dst = appendFloat(dst, h.Sum)
	dst = appendSpans(dst, h.PositiveSpans)
	dst = appendSpans(dst, h.NegativeSpans)
	for _, bs := range [2][]int64{h.PositiveBuckets, h.NegativeBuckets} {
		dst = binary.AppendUvarint(dst, uint64(len(bs)))
		for _, b := range bs {
			dst = binary.AppendVarint(dst, b)
		}
	}
	if h.Schema == histogram.CustomBucketsSchema {
		dst = binary.AppendUvarint(dst, uint64(len(h.CustomValues)))
		for _, v := range h.CustomValues {
			dst = appendFloat(dst, v)
		}
	}
	return dst
}

func (d *decoder) customValues(schema int32) []float64 {
	if schema != histogram.CustomBucketsSchema {
		return nil
	}
	n := d.count(8)
	if n == 0 {
		return nil
	}
	out := make([]float64, n)
	for i := range out {
		out[i] = d.float()
	}
	return out
}

func (d *decoder) histogram() *histogram.Histogram {
	h := &histogram.Histogram{
		CounterResetHint: histogram.CounterResetHint(d.byte1()),
		Schema:           int32(d.varint()),
		ZeroThreshold:    d.float(),
		ZeroCount:        d.uvarint(),
		Count:            d.uvarint(),
		Sum:              d.float(),
	}
	h.PositiveSpans = d.spans()
	h.NegativeSpans = d.spans()
	for _, bs := range []*[]int64{&h.PositiveBuckets, &h.NegativeBuckets} {
		n := d.count(1)
		if n > 0 {
			*bs = make([]int64, n)
			for i := range *bs {
				(*bs)[i] = d.varint()
			}
		}
	}
	h.CustomValues = d.customValues(h.Schema)
	return h
}

func appendFloatHistogram(dst []byte, h *histogram.FloatHistogram) []byte {
	dst = append(dst, byte(h.CounterResetHint))
	dst = binary.AppendVarint(dst, int64(h.Schema))
	dst = appendFloat(dst, h.ZeroThreshold)
	dst = appendFloat(dst, h.ZeroCount)
	dst = appendFloat(dst, h.Count)
	dst = appendFloat(dst, h.Sum)
	dst = appendSpans(dst, h.PositiveSpans)
	dst = appendSpans(dst, h.NegativeSpans)
	for _, bs := range [2][]float64{h.PositiveBuckets, h.NegativeBuckets} {
		dst = binary.AppendUvarint(dst, uint64(len(bs)))
		for _, b := range bs {
			dst = appendFloat(dst, b)
		}
	}
	if h.Schema == histogram.CustomBucketsSchema {
		dst = binary.AppendUvarint(dst, uint64(len(h.CustomValues)))
		for _, v := range h.CustomValues {
			dst = appendFloat(dst, v)
		}
	}
	return dst
}

func (d *decoder) floatHistogram() *histogram.FloatHistogram {
	h := &histogram.FloatHistogram{
		CounterResetHint: histogram.CounterResetHint(d.byte1()),
		Schema:           int32(d.varint()),
		ZeroThreshold:    d.float(),
		ZeroCount:        d.float(),
		Count:            d.float(),
		Sum:              d.float(),
	}
	h.PositiveSpans = d.spans()
	h.NegativeSpans = d.spans()
	for _, bs := range []*[]float64{&h.PositiveBuckets, &h.NegativeBuckets} {
		n := d.count(8)
		if n > 0 {
			*bs = make([]float64, n)
			for i := range *bs {
				(*bs)[i] = d.float()
			}
		}
	}
	h.CustomValues = d.customValues(h.Schema)
	return h
}

// checkShape rejects a decoded histogram whose spans and buckets
// disagree: the record is corrupt even if every field parsed.
func (d *decoder) checkShape(pos, neg []histogram.Span, nPos, nNeg int) {
	if d.err != nil {
		return
	}
	sum := func(spans []histogram.Span) uint64 {
		var n uint64
		for _, s := range spans {
			n += uint64(s.Length)
		}
		return n
	}
	if sum(pos) != uint64(nPos) || sum(neg) != uint64(nNeg) {
		d.fail("histogram spans do not match its buckets")
	}
}

// EncodeHistogramSamples appends an integer histogram samples record.
func EncodeHistogramSamples(dst []byte, hs []RefHistogramSample) []byte {
	dst = append(dst, byte(HistogramSamples))
	if len(hs) == 0 {
		return dst
	}
	base := hs[0]
	dst = appendBase(dst, base.Ref, base.T)
	for _, h := range hs {
		dst = appendRefTime(dst, h.Ref, base.Ref, h.T, base.T)
		dst = appendHistogram(dst, h.H)
	}
	return dst
}

// DecodeHistogramSamples appends the entries of an integer histogram
// samples record to dst.
func DecodeHistogramSamples(rec []byte, dst []RefHistogramSample) ([]RefHistogramSample, error) {
	d := start(rec, HistogramSamples)
	if d.done() {
		return dst, d.err
	}
	baseRef, baseT := storage.SeriesRef(d.uvarint()), d.varint()
	for !d.done() {
		ref, t := d.refTime(baseRef, baseT)
		h := d.histogram()
		d.checkShape(h.PositiveSpans, h.NegativeSpans, len(h.PositiveBuckets), len(h.NegativeBuckets))
		if d.err == nil {
			dst = append(dst, RefHistogramSample{Ref: ref, T: t, H: h})
		}
	}
	return dst, d.err
}

// EncodeFloatHistogramSamples appends a float histogram samples record.
func EncodeFloatHistogramSamples(dst []byte, hs []RefFloatHistogramSample) []byte {
	dst = append(dst, byte(FloatHistogramSamples))
	if len(hs) == 0 {
		return dst
	}
	base := hs[0]
	dst = appendBase(dst, base.Ref, base.T)
	for _, h := range hs {
		dst = appendRefTime(dst, h.Ref, base.Ref, h.T, base.T)
		dst = appendFloatHistogram(dst, h.FH)
	}
	return dst
}

// DecodeFloatHistogramSamples appends the entries of a float histogram
// samples record to dst.
func DecodeFloatHistogramSamples(rec []byte, dst []RefFloatHistogramSample) ([]RefFloatHistogramSample, error) {
	d := start(rec, FloatHistogramSamples)
	if d.done() {
		return dst, d.err
	}
	baseRef, baseT := storage.SeriesRef(d.uvarint()), d.varint()
	for !d.done() {
		ref, t := d.refTime(baseRef, baseT)
		h := d.floatHistogram()
		d.checkShape(h.PositiveSpans, h.NegativeSpans, len(h.PositiveBuckets), len(h.NegativeBuckets))
		if d.err == nil {
			dst = append(dst, RefFloatHistogramSample{Ref: ref, T: t, FH: h})
		}
	}
	return dst, d.err
}
