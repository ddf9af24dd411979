package chunkenc

import (
	"encoding/binary"
	"fmt"
	"slices"

	"github.com/vigil-monitoring/vigil/internal/model/histogram"
	"github.com/vigil-monitoring/vigil/internal/storage"
)

// FloatHistogramChunk holds float native histograms (encoding 17).
type FloatHistogramChunk struct {
	b bitWriter
}

// NewFloatHistogramChunk returns an empty chunk.
func NewFloatHistogramChunk() *FloatHistogramChunk {
	return &FloatHistogramChunk{b: bitWriter{b: newChunkBytes()}}
}

func (c *FloatHistogramChunk) Encoding() Encoding { return EncFloatHistogram }
func (c *FloatHistogramChunk) Bytes() []byte      { return c.b.b }
func (c *FloatHistogramChunk) NumSamples() int    { return numSamples(c.b.b) }

// Compact drops spare capacity.
func (c *FloatHistogramChunk) Compact() { c.b.b = slices.Clip(slices.Clone(c.b.b)) }

// FloatHistogramAppender appends float histograms to a FloatHistogramChunk.
type FloatHistogramAppender struct {
	c       *FloatHistogramChunk
	ts      tsWriter
	lay     layout
	count   floatField
	zcount  floatField
	sum     floatField
	buckets []floatField // positive buckets, then negative
}

func newFloatFields(dst []floatField, n int) []floatField {
	dst = slices.Grow(dst[:0], n)[:n]
	for i := range dst {
		dst[i] = newFloatField()
	}
	return dst
}

// Appender returns an appender continuing the chunk.
func (c *FloatHistogramChunk) Appender() (*FloatHistogramAppender, error) {
	a := &FloatHistogramAppender{c: c, count: newFloatField(), zcount: newFloatField(), sum: newFloatField()}
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

// AppendFloatHistogram adds a sample. The caller guarantees t is after the
// last sample and the chunk holds fewer than 65535 samples; fh is not
// retained.
func (a *FloatHistogramAppender) AppendFloatHistogram(t int64, fh *histogram.FloatHistogram) error {
	if err := checkBuckets(fh.PositiveSpans, fh.NegativeSpans, len(fh.PositiveBuckets), len(fh.NegativeBuckets)); err != nil {
		return err
	}
	b := &a.c.b
	n := numSamples(b.b)
	a.ts.write(b, n, t)
	writeHint(b, fh.CounterResetHint)
	if n == 0 || !a.lay.matches(fh.Schema, fh.ZeroThreshold, fh.PositiveSpans, fh.NegativeSpans, fh.CustomValues) {
		b.writeBit(true)
		a.lay = newLayout(fh.Schema, fh.ZeroThreshold, fh.PositiveSpans, fh.NegativeSpans, fh.CustomValues)
		a.lay.write(b)
		a.buckets = newFloatFields(a.buckets, a.lay.nPos+a.lay.nNeg)
	} else {
		b.writeBit(false)
	}
	a.count.write(b, fh.Count)
	a.zcount.write(b, fh.ZeroCount)
	a.sum.write(b, fh.Sum)
	for k, v := range fh.PositiveBuckets {
		a.buckets[k].write(b, v)
	}
	for k, v := range fh.NegativeBuckets {
		a.buckets[a.lay.nPos+k].write(b, v)
	}
	binary.BigEndian.PutUint16(b.b, uint16(n+1))
	return nil
}

// Iterator implements Chunk.
func (c *FloatHistogramChunk) Iterator(it storage.Iterator) storage.Iterator {
	return c.iterator(it)
}

func (c *FloatHistogramChunk) iterator(it storage.Iterator) *floatHistogramIterator {
	fi, ok := it.(*floatHistogramIterator)
	if !ok {
		fi = &floatHistogramIterator{}
	}
	fi.reset(c.b.b)
	return fi
}

// floatHistogramIterator decodes a float histogram chunk.
//
// INVARIANT: onSample is true exactly when the last Next or Seek returned
// ValFloatHistogram; the decoded fields then describe that sample.
type floatHistogramIterator struct {
	r        bitReader
	total    int
	read     int
	ts       tsReader
	hint     histogram.CounterResetHint
	lay      layout
	count    floatField
	zcount   floatField
	sum      floatField
	buckets  []floatField
	onSample bool
	err      error
}

func (it *floatHistogramIterator) reset(b []byte) {
	buckets := it.buckets[:0]
	*it = floatHistogramIterator{
		r: newBitReader(b[2:]), total: numSamples(b),
		count: newFloatField(), zcount: newFloatField(), sum: newFloatField(),
		buckets: buckets,
	}
}

func (it *floatHistogramIterator) fail(err error) storage.ValueType {
	it.err = fmt.Errorf("chunkenc: float histogram sample %d: %w", it.read, err)
	it.onSample = false
	return storage.ValNone
}

func (it *floatHistogramIterator) Next() storage.ValueType {
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
		it.buckets = newFloatFields(it.buckets, it.lay.nPos+it.lay.nNeg)
	}
	for _, f := range []*floatField{&it.count, &it.zcount, &it.sum} {
		if err := f.read(r); err != nil {
			return it.fail(err)
		}
	}
	for k := range it.buckets {
		if err := it.buckets[k].read(r); err != nil {
			return it.fail(err)
		}
	}
	it.read++
	it.onSample = true
	return storage.ValFloatHistogram
}

func (it *floatHistogramIterator) Seek(t int64) storage.ValueType {
	if it.onSample && it.ts.t >= t {
		return storage.ValFloatHistogram
	}
	if !it.onSample && it.read > 0 {
		return storage.ValNone
	}
	for {
		if it.Next() == storage.ValNone {
			return storage.ValNone
		}
		if it.ts.t >= t {
			return storage.ValFloatHistogram
		}
	}
}

func (it *floatHistogramIterator) AtT() int64 { return it.ts.t }
func (it *floatHistogramIterator) Err() error { return it.err }

func (it *floatHistogramIterator) At() (int64, float64) { panic(errWrongType) }

func (it *floatHistogramIterator) AtHistogram(*histogram.Histogram) (int64, *histogram.Histogram) {
	panic(errWrongType)
}

func (it *floatHistogramIterator) AtFloatHistogram(fh *histogram.FloatHistogram) (int64, *histogram.FloatHistogram) {
	if fh == nil {
		fh = &histogram.FloatHistogram{}
	}
	fh.CounterResetHint = it.hint
	fh.Schema = it.lay.schema
	fh.ZeroThreshold = it.lay.zeroThreshold
	fh.ZeroCount = it.zcount.v
	fh.Count = it.count.v
	fh.Sum = it.sum.v
	fh.PositiveSpans = appendOrNil(fh.PositiveSpans[:0], it.lay.pos)
	fh.NegativeSpans = appendOrNil(fh.NegativeSpans[:0], it.lay.neg)
	fh.PositiveBuckets = fieldValues(fh.PositiveBuckets[:0], it.buckets[:it.lay.nPos])
	fh.NegativeBuckets = fieldValues(fh.NegativeBuckets[:0], it.buckets[it.lay.nPos:])
	fh.CustomValues = it.lay.custom
	return it.ts.t, fh
}

func fieldValues(dst []float64, fs []floatField) []float64 {
	for _, f := range fs {
		dst = append(dst, f.v)
	}
	return dst
}
