package chunkenc

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"

	"github.com/vigil-monitoring/vigil/internal/model/histogram"
)

// Decoder limits (docs/format/chunks.md): corrupt input must fail, not
// allocate without bound.
const (
	maxSpans        = 4096
	maxCustomValues = 4096
	maxBuckets      = 65536
)

// layout is what a histogram sample shares with its predecessor when the
// chunk does not repeat it: schema, zero threshold, spans, custom bounds.
//
// INVARIANT: a layout's slices are never modified after it is built, so
// iterators may hand CustomValues to callers without copying (the
// histogram package treats CustomValues as immutable, too).
type layout struct {
	schema        int32
	zeroThreshold float64
	pos, neg      []histogram.Span
	custom        []float64
	nPos, nNeg    int // bucket counts the spans describe
}

func spanBuckets(spans []histogram.Span) int {
	n := 0
	for _, s := range spans {
		n += int(s.Length)
	}
	return n
}

func newLayout(schema int32, zt float64, pos, neg []histogram.Span, custom []float64) layout {
	return layout{
		schema: schema, zeroThreshold: zt,
		pos: slices.Clone(pos), neg: slices.Clone(neg), custom: slices.Clone(custom),
		nPos: spanBuckets(pos), nNeg: spanBuckets(neg),
	}
}

// matches reports whether a sample with these fields can reuse l.
func (l *layout) matches(schema int32, zt float64, pos, neg []histogram.Span, custom []float64) bool {
	return l.schema == schema && math.Float64bits(l.zeroThreshold) == math.Float64bits(zt) &&
		slices.Equal(l.pos, pos) && slices.Equal(l.neg, neg) &&
		slices.EqualFunc(l.custom, custom, func(a, b float64) bool { return math.Float64bits(a) == math.Float64bits(b) })
}

func writeSpans(w *bitWriter, spans []histogram.Span) {
	w.writeUvarint(uint64(len(spans)))
	for _, s := range spans {
		w.writeVarint(int64(s.Offset))
		w.writeUvarint(uint64(s.Length))
	}
}

func (l *layout) write(w *bitWriter) {
	w.writeVarint(int64(l.schema))
	w.writeBits(math.Float64bits(l.zeroThreshold), 64)
	writeSpans(w, l.pos)
	writeSpans(w, l.neg)
	if l.schema == histogram.CustomBucketsSchema {
		w.writeUvarint(uint64(len(l.custom)))
		for _, v := range l.custom {
			w.writeBits(math.Float64bits(v), 64)
		}
	}
}

func readSpans(r *bitReader) ([]histogram.Span, int, error) {
	n, err := binary.ReadUvarint(r)
	if err != nil {
		return nil, 0, err
	}
	if n > maxSpans {
		return nil, 0, fmt.Errorf("chunkenc: %d spans exceed the limit of %d", n, maxSpans)
	}
	if n == 0 {
		return nil, 0, nil
	}
	spans := make([]histogram.Span, n)
	total := 0
	for i := range spans {
		off, err := binary.ReadVarint(r)
		if err != nil {
			return nil, 0, err
		}
		length, err := binary.ReadUvarint(r)
		if err != nil {
			return nil, 0, err
		}
		if off < math.MinInt32 || off > math.MaxInt32 || length > maxBuckets {
			return nil, 0, fmt.Errorf("chunkenc: span (%d, %d) out of range", off, length)
		}
		total += int(length)
		if total > maxBuckets {
			return nil, 0, fmt.Errorf("chunkenc: more than %d buckets", maxBuckets)
		}
		spans[i] = histogram.Span{Offset: int32(off), Length: uint32(length)}
	}
	return spans, total, nil
}

func readLayout(r *bitReader) (layout, error) {
	var l layout
	schema, err := binary.ReadVarint(r)
	if err != nil {
		return l, err
	}
	if schema != int64(histogram.CustomBucketsSchema) && (schema < int64(histogram.ExponentialSchemaMin) || schema > int64(histogram.ExponentialSchemaMax)) {
		return l, fmt.Errorf("chunkenc: invalid histogram schema %d", schema)
	}
	l.schema = int32(schema)
	zt, err := r.readBits(64)
	if err != nil {
		return l, err
	}
	l.zeroThreshold = math.Float64frombits(zt)
	if l.pos, l.nPos, err = readSpans(r); err != nil {
		return l, err
	}
	if l.neg, l.nNeg, err = readSpans(r); err != nil {
		return l, err
	}
	if l.nPos+l.nNeg > maxBuckets {
		return l, fmt.Errorf("chunkenc: more than %d buckets", maxBuckets)
	}
	if l.schema == histogram.CustomBucketsSchema {
		n, err := binary.ReadUvarint(r)
		if err != nil {
			return l, err
		}
		if n > maxCustomValues {
			return l, fmt.Errorf("chunkenc: %d custom bounds exceed the limit of %d", n, maxCustomValues)
		}
		l.custom = make([]float64, n)
		for i := range l.custom {
			v, err := r.readBits(64)
			if err != nil {
				return l, err
			}
			l.custom[i] = math.Float64frombits(v)
		}
	}
	return l, nil
}

// counterHint codes the counter reset hint in 2 bits.
func writeHint(w *bitWriter, h histogram.CounterResetHint) { w.writeBits(uint64(h&3), 2) }

func readHint(r *bitReader) (histogram.CounterResetHint, error) {
	v, err := r.readBits(2)
	return histogram.CounterResetHint(v), err
}

// intField is one integer field coded as delta of delta.
type intField struct {
	v, delta int64
}

func (f *intField) write(w *bitWriter, v int64) {
	d := v - f.v
	writeVarbit(w, d-f.delta)
	f.v, f.delta = v, d
}

func (f *intField) read(r *bitReader) error {
	dod, err := readVarbit(r)
	if err != nil {
		return err
	}
	f.delta += dod
	f.v += f.delta
	return nil
}

// floatField is one float field coded as XOR with its own window.
type floatField struct {
	v  float64
	xs xorState
}

func newFloatField() floatField { return floatField{xs: newXORState()} }

func (f *floatField) write(w *bitWriter, v float64) {
	writeXOR(w, &f.xs, f.v, v)
	f.v = v
}

func (f *floatField) read(r *bitReader) error {
	v, err := readXOR(r, &f.xs, f.v)
	f.v = v
	return err
}
