package chunkenc

import (
	"encoding/binary"
	"fmt"
	"slices"

	"github.com/vigil-monitoring/vigil/internal/model/histogram"
	"github.com/vigil-monitoring/vigil/internal/storage"
)

// HistogramChunk holds integer native histograms (encoding 16).
type HistogramChunk struct {
	b bitWriter
}

// NewHistogramChunk returns an empty chunk.
func NewHistogramChunk() *HistogramChunk { return &HistogramChunk{b: bitWriter{b: newChunkBytes()}} }

func (c *HistogramChunk) Encoding() Encoding { return EncHistogram }
func (c *HistogramChunk) Bytes() []byte      { return c.b.b }
func (c *HistogramChunk) NumSamples() int    { return numSamples(c.b.b) }

// Compact drops spare capacity.
func (c *HistogramChunk) Compact() { c.b.b = slices.Clip(slices.Clone(c.b.b)) }

// checkBuckets rejects a histogram whose bucket slices do not match its
// spans: encoding it would produce a chunk no reader could decode.
func checkBuckets(pos, neg []histogram.Span, nPos, nNeg int) error {
	if spanBuckets(pos) != nPos || spanBuckets(neg) != nNeg {
		return fmt.Errorf("chunkenc: histogram spans describe %d+%d buckets but it has %d+%d",
			spanBuckets(pos), spanBuckets(neg), nPos, nNeg)
	}
	if nPos+nNeg > maxBuckets || len(pos) > maxSpans || len(neg) > maxSpans {
		return fmt.Errorf("chunkenc: histogram too large for a chunk")
	}
	return nil
}

// HistogramAppender appends integer histograms to a HistogramChunk.
type HistogramAppender struct {
	c       *HistogramChunk
	ts      tsWriter
	lay     layout
	count   intField
	zcount  intField
	sum     floatField
	buckets []intField // absolute counts: positive buckets, then negative
	abs     []int64    // scratch for converting deltas to absolute counts
}

// Appender returns an appender continuing the chunk.
func (c *HistogramChunk) Appender() (*HistogramAppender, error) {
	a := &HistogramAppender{c: c, sum: newFloatField()}
	if c.NumSamples() == 0 {
		return a, nil
	}
	it := c.iterator(nil)
	for it.Next() != storage.ValNone {
	}
	if err := it.Err(); err != nil {
		return nil, err
	}
	a.ts = tsWriter{t: it.ts.t, tDelta: it.ts.tDelta}
	a.lay, a.count, a.zcount, a.sum = it.lay, it.count, it.zcount, it.sum
	a.buckets = slices.Clone(it.buckets)
	c.b.resumeAt(2, &it.r)
	return a, nil
}

// AppendHistogram adds a sample. The caller guarantees t is after the last
// sample and the chunk holds fewer than 65535 samples; h is not retained.
func (a *HistogramAppender) AppendHistogram(t int64, h *histogram.Histogram) error {
	if err := checkBuckets(h.PositiveSpans, h.NegativeSpans, len(h.PositiveBuckets), len(h.NegativeBuckets)); err != nil {
		return err
	}
	b := &a.c.b
	n := numSamples(b.b)
	a.ts.write(b, n, t)
	writeHint(b, h.CounterResetHint)
	if n == 0 || !a.lay.matches(h.Schema, h.ZeroThreshold, h.PositiveSpans, h.NegativeSpans, h.CustomValues) {
		b.writeBit(true)
		a.lay = newLayout(h.Schema, h.ZeroThreshold, h.PositiveSpans, h.NegativeSpans, h.CustomValues)
		a.lay.write(b)
		a.buckets = slices.Grow(a.buckets[:0], a.lay.nPos+a.lay.nNeg)[:a.lay.nPos+a.lay.nNeg]
		clear(a.buckets)
	} else {
		b.writeBit(false)
	}
	a.count.write(b, int64(h.Count))
	a.zcount.write(b, int64(h.ZeroCount))
	a.sum.write(b, h.Sum)
	a.abs = deltasToAbs(a.abs[:0], h.PositiveBuckets)
	a.abs = deltasToAbs(a.abs, h.NegativeBuckets)
	for k, v := range a.abs {
		a.buckets[k].write(b, v)
	}
	binary.BigEndian.PutUint16(b.b, uint16(n+1))
	return nil
}

// deltasToAbs appends the absolute counts of delta-coded buckets.
func deltasToAbs(dst, deltas []int64) []int64 {
	var c int64
	for _, d := range deltas {
		c += d
		dst = append(dst, c)
	}
	return dst
}

// Iterator implements Chunk.
func (c *HistogramChunk) Iterator(it storage.Iterator) storage.Iterator { return c.iterator(it) }

func (c *HistogramChunk) iterator(it storage.Iterator) *histogramIterator {
	hi, ok := it.(*histogramIterator)
	if !ok {
		hi = &histogramIterator{}
	}
	hi.reset(c.b.b)
	return hi
}

// histogramIterator decodes an integer histogram chunk.
//
// INVARIANT: onSample is true exactly when the last Next or Seek returned
// ValHistogram; the decoded fields then describe that sample.
type histogramIterator struct {
	r        bitReader
	total    int
	read     int
	ts       tsReader
	hint     histogram.CounterResetHint
	lay      layout
	count    intField
	zcount   intField
	sum      floatField
	buckets  []intField
	onSample bool
	err      error
}

func (it *histogramIterator) reset(b []byte) {
	buckets := it.buckets[:0]
	*it = histogramIterator{r: newBitReader(b[2:]), total: numSamples(b), sum: newFloatField(), buckets: buckets}
}

func (it *histogramIterator) fail(err error) storage.ValueType {
	it.err = fmt.Errorf("chunkenc: histogram sample %d: %w", it.read, err)
	it.onSample = false
	return storage.ValNone
}

func (it *histogramIterator) Next() storage.ValueType {
	it.onSample = false
	if it.err != nil || it.read >= it.total {
		return storage.ValNone
	}
	r := &it.r
	if err := it.ts.read(r, it.read); err != nil {
		return it.fail(err)
	}
	var err error
	if it.hint, err = readHint(r); err != nil {
		return it.fail(err)
	}
	newLay, err := r.readBit()
	if err != nil {
		return it.fail(err)
	}
	if it.read == 0 && !newLay {
		return it.fail(fmt.Errorf("first sample without a layout"))
	}
	if newLay {
		if it.lay, err = readLayout(r); err != nil {
			return it.fail(err)
		}
		n := it.lay.nPos + it.lay.nNeg
		it.buckets = slices.Grow(it.buckets[:0], n)[:n]
		clear(it.buckets)
	}
	if err := it.count.read(r); err != nil {
		return it.fail(err)
	}
	if err := it.zcount.read(r); err != nil {
		return it.fail(err)
	}
	if err := it.sum.read(r); err != nil {
		return it.fail(err)
	}
	for k := range it.buckets {
		if err := it.buckets[k].read(r); err != nil {
			return it.fail(err)
		}
	}
	it.read++
	it.onSample = true
	return storage.ValHistogram
}

func (it *histogramIterator) Seek(t int64) storage.ValueType {
	if it.onSample && it.ts.t >= t {
		return storage.ValHistogram
	}
	if !it.onSample && it.read > 0 {
		return storage.ValNone
	}
	for {
		if it.Next() == storage.ValNone {
			return storage.ValNone
		}
		if it.ts.t >= t {
			return storage.ValHistogram
		}
	}
}

func (it *histogramIterator) AtT() int64 { return it.ts.t }
func (it *histogramIterator) Err() error { return it.err }

func (it *histogramIterator) At() (int64, float64) { panic(errWrongType) }

func (it *histogramIterator) AtHistogram(h *histogram.Histogram) (int64, *histogram.Histogram) {
	if h == nil {
		h = &histogram.Histogram{}
	}
	h.CounterResetHint = it.hint
	h.Schema = it.lay.schema
	h.ZeroThreshold = it.lay.zeroThreshold
	h.ZeroCount = uint64(it.zcount.v)
	h.Count = uint64(it.count.v)
	h.Sum = it.sum.v
	h.PositiveSpans = appendOrNil(h.PositiveSpans[:0], it.lay.pos)
	h.NegativeSpans = appendOrNil(h.NegativeSpans[:0], it.lay.neg)
	h.PositiveBuckets = absToDeltas(h.PositiveBuckets[:0], it.buckets[:it.lay.nPos])
	h.NegativeBuckets = absToDeltas(h.NegativeBuckets[:0], it.buckets[it.lay.nPos:])
	h.CustomValues = it.lay.custom // immutable, see layout
	return it.ts.t, h
}

func (it *histogramIterator) AtFloatHistogram(fh *histogram.FloatHistogram) (int64, *histogram.FloatHistogram) {
	if fh == nil {
		fh = &histogram.FloatHistogram{}
	}
	fh.CounterResetHint = it.hint
	fh.Schema = it.lay.schema
	fh.ZeroThreshold = it.lay.zeroThreshold
	fh.ZeroCount = float64(uint64(it.zcount.v))
	fh.Count = float64(uint64(it.count.v))
	fh.Sum = it.sum.v
	fh.PositiveSpans = appendOrNil(fh.PositiveSpans[:0], it.lay.pos)
	fh.NegativeSpans = appendOrNil(fh.NegativeSpans[:0], it.lay.neg)
	fh.PositiveBuckets = absToFloats(fh.PositiveBuckets[:0], it.buckets[:it.lay.nPos])
	fh.NegativeBuckets = absToFloats(fh.NegativeBuckets[:0], it.buckets[it.lay.nPos:])
	fh.CustomValues = it.lay.custom
	return it.ts.t, fh
}

// appendOrNil appends src to dst, keeping a nil dst nil when src is empty
// so histograms without buckets read back as they were written.
func appendOrNil[T any](dst, src []T) []T {
	if len(src) == 0 {
		return dst
	}
	return append(dst, src...)
}

func absToDeltas(dst []int64, abs []intField) []int64 {
	var prev int64
	for _, f := range abs {
		dst = append(dst, f.v-prev)
		prev = f.v
	}
	return dst
}

// absToFloats converts absolute counts to floats the way
// Histogram.ToFloat does, summing float deltas, so both paths round
// counts beyond 2^53 identically.
func absToFloats(dst []float64, abs []intField) []float64 {
	var prev int64
	var acc float64
	for _, f := range abs {
		acc += float64(f.v - prev)
		prev = f.v
		dst = append(dst, acc)
	}
	return dst
}
