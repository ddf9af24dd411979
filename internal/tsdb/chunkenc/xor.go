package chunkenc

import (
	"encoding/binary"
	"errors"
	"math"
	"slices"

	"github.com/vigil-monitoring/vigil/internal/model/histogram"
	"github.com/vigil-monitoring/vigil/internal/storage"
)

// XORChunk holds float samples in the Gorilla XOR encoding.
type XORChunk struct {
	b bitWriter
}

// NewXORChunk returns an empty chunk.
func NewXORChunk() *XORChunk { return &XORChunk{b: bitWriter{b: newChunkBytes()}} }

func (c *XORChunk) Encoding() Encoding { return EncXOR }
func (c *XORChunk) Bytes() []byte      { return c.b.b }
func (c *XORChunk) NumSamples() int    { return numSamples(c.b.b) }

// Compact drops spare capacity, for chunks that will not grow again.
func (c *XORChunk) Compact() { c.b.b = slices.Clip(slices.Clone(c.b.b)) }

// Appender returns an appender continuing the chunk. For a chunk with
// samples it decodes them all to recover the encoder state.
func (c *XORChunk) Appender() (*XORAppender, error) {
	a := &XORAppender{c: c, xs: newXORState()}
	n := c.NumSamples()
	if n == 0 {
		return a, nil
	}
	it := c.iterator(nil)
	for it.Next() != storage.ValNone {
	}
	if err := it.Err(); err != nil {
		return nil, err
	}
	a.ts = tsWriter{t: it.ts.t, tDelta: it.ts.tDelta}
	a.v = it.v
	a.xs = it.xs
	c.b.resumeAt(2, &it.r)
	return a, nil
}

// XORAppender appends float samples to an XORChunk. Its state is small so
// the head can keep one per open chunk.
type XORAppender struct {
	c  *XORChunk
	ts tsWriter
	v  float64
	xs xorState
}

// Append adds a sample. The caller guarantees t is after the last sample
// and the chunk holds fewer than 65535 samples.
func (a *XORAppender) Append(t int64, v float64) {
	b := &a.c.b
	n := numSamples(b.b)
	a.ts.write(b, n, t)
	if n == 0 {
		b.writeBits(uint64(math.Float64bits(v)), 64)
	} else {
		writeXOR(b, &a.xs, a.v, v)
	}
	a.v = v
	binary.BigEndian.PutUint16(b.b, uint16(n+1))
}

// Iterator implements Chunk.
func (c *XORChunk) Iterator(it storage.Iterator) storage.Iterator { return c.iterator(it) }

func (c *XORChunk) iterator(it storage.Iterator) *xorIterator {
	if xi, ok := it.(*xorIterator); ok {
		xi.reset(c.b.b)
		return xi
	}
	xi := &xorIterator{}
	xi.reset(c.b.b)
	return xi
}

// xorIterator decodes an XOR chunk.
//
// INVARIANT: onSample is true exactly when the last Next or Seek returned
// ValFloat, and then ts.t and v hold that sample.
type xorIterator struct {
	r        bitReader
	total    int
	read     int
	ts       tsReader
	v        float64
	xs       xorState
	onSample bool
	err      error
}

func (it *xorIterator) reset(b []byte) {
	*it = xorIterator{r: newBitReader(b[2:]), total: numSamples(b), xs: newXORState()}
}

func (it *xorIterator) Next() storage.ValueType {
	it.onSample = false
	if it.err != nil || it.read >= it.total {
		return storage.ValNone
	}
	if err := it.ts.read(&it.r, it.read); err != nil {
		it.err = err
		return storage.ValNone
	}
	if it.read == 0 {
		v, err := it.r.readBits(64)
		if err != nil {
			it.err = err
			return storage.ValNone
		}
		it.v = math.Float64frombits(v)
	} else {
		v, err := readXOR(&it.r, &it.xs, it.v)
		if err != nil {
			it.err = err
			return storage.ValNone
		}
		it.v = v
	}
	it.read++
	it.onSample = true
	return storage.ValFloat
}

func (it *xorIterator) Seek(t int64) storage.ValueType {
	if it.onSample && it.ts.t >= t {
		return storage.ValFloat
	}
	if !it.onSample && it.read > 0 {
		return storage.ValNone // exhausted or failed; never move back
	}
	for {
		if it.Next() == storage.ValNone {
			return storage.ValNone
		}
		if it.ts.t >= t {
			return storage.ValFloat
		}
	}
}

func (it *xorIterator) At() (int64, float64) { return it.ts.t, it.v }
func (it *xorIterator) AtT() int64           { return it.ts.t }
func (it *xorIterator) Err() error           { return it.err }

func (it *xorIterator) AtHistogram(*histogram.Histogram) (int64, *histogram.Histogram) {
	panic(errWrongType)
}

func (it *xorIterator) AtFloatHistogram(*histogram.FloatHistogram) (int64, *histogram.FloatHistogram) {
	panic(errWrongType)
}

// errWrongType is the panic of an At method that does not match the value
// type the iterator reported: a caller bug, as in Prometheus.
var errWrongType = errors.New("chunkenc: At method does not match the current value type")
