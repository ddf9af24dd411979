// Package chunkenc owns the encodings of chunks, the compressed runs of
// one series' samples that the head builds and blocks store: the Gorilla
// XOR float chunk (byte-compatible with Prometheus') and Vigil's own
// integer and float native-histogram chunks. It provides appenders that
// build chunks and iterators, implementing storage.Iterator, that read
// them. The byte layouts are specified in docs/format/chunks.md.
//
// Chunks are not safe for concurrent use: the head appends under its
// series lock, and readers of an open XOR chunk share its bytes through
// OpenXORIterator, which never reads the bytes appends still write. Full
// chunks are immutable and may be shared freely.
package chunkenc

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"

	"github.com/vigil-monitoring/vigil/internal/storage"
)

// Encoding identifies a chunk layout. The values are persisted (see
// docs/format/chunks.md) and must never change meaning.
type Encoding uint8

const (
	EncNone           Encoding = 0
	EncXOR            Encoding = 1
	EncHistogram      Encoding = 16
	EncFloatHistogram Encoding = 17
)

func (e Encoding) String() string {
	switch e {
	case EncNone:
		return "none"
	case EncXOR:
		return "XOR"
	case EncHistogram:
		return "histogram"
	case EncFloatHistogram:
		return "floathistogram"
	}
	return fmt.Sprintf("Encoding(%d)", uint8(e))
}

// ValueType returns the kind of sample the encoding holds.
func (e Encoding) ValueType() storage.ValueType {
	switch e {
	case EncXOR:
		return storage.ValFloat
	case EncHistogram:
		return storage.ValHistogram
	case EncFloatHistogram:
		return storage.ValFloatHistogram
	}
	return storage.ValNone
}

// Chunk is one encoded chunk.
type Chunk interface {
	Encoding() Encoding
	// Bytes returns the encoded chunk. It aliases the chunk's memory.
	Bytes() []byte
	NumSamples() int
	// Iterator returns an iterator over the samples, reusing it when it is
	// an iterator of this package.
	Iterator(it storage.Iterator) storage.Iterator
}

// Target sizes at which the head cuts a chunk and starts a new one.
const (
	// SamplesPerChunk is the number of samples after which a chunk is cut.
	SamplesPerChunk = 120
	// HistogramChunkBytes is the size after which a histogram chunk is cut
	// even with fewer samples: histograms are large.
	HistogramChunkBytes = 1024
)

// maxSamples is the most samples the 2-byte header can count.
const maxSamples = math.MaxUint16

// FromData wraps encoded bytes as a chunk without copying or validating
// them; errors surface from the iterator.
func FromData(e Encoding, b []byte) (Chunk, error) {
	if len(b) < 2 {
		return nil, fmt.Errorf("chunkenc: %s chunk of %d bytes is shorter than its header", e, len(b))
	}
	switch e {
	case EncXOR:
		return &XORChunk{b: bitWriter{b: b}}, nil
	case EncHistogram:
		return &HistogramChunk{b: bitWriter{b: b}}, nil
	case EncFloatHistogram:
		return &FloatHistogramChunk{b: bitWriter{b: b}}, nil
	}
	return nil, fmt.Errorf("chunkenc: unknown chunk encoding %d", uint8(e))
}

// NewEmpty returns an empty chunk of the given encoding.
func NewEmpty(e Encoding) (Chunk, error) {
	switch e {
	case EncXOR:
		return NewXORChunk(), nil
	case EncHistogram:
		return NewHistogramChunk(), nil
	case EncFloatHistogram:
		return NewFloatHistogramChunk(), nil
	}
	return nil, fmt.Errorf("chunkenc: unknown chunk encoding %d", uint8(e))
}

// newChunkBytes returns the initial buffer of a chunk: the zero sample
// count and room to grow. It starts small because the head holds one open
// chunk per series and memory per series is budgeted.
func newChunkBytes() []byte { return make([]byte, 2, 32) }

func numSamples(b []byte) int { return int(binary.BigEndian.Uint16(b)) }

// tsWriter holds the state for writing timestamps.
type tsWriter struct {
	t      int64
	tDelta int64
}

// write appends the timestamp of sample number n (counting from 0).
func (s *tsWriter) write(w *bitWriter, n int, t int64) {
	switch n {
	case 0:
		w.writeVarint(t)
	case 1:
		s.tDelta = t - s.t
		w.writeUvarint(uint64(s.tDelta))
	default:
		d := t - s.t
		dod := d - s.tDelta
		s.tDelta = d
		switch {
		case dod == 0:
			w.writeBit(false)
		case fitsBits(dod, 14):
			w.writeBits(0b10, 2)
			w.writeBits(uint64(dod), 14)
		case fitsBits(dod, 17):
			w.writeBits(0b110, 3)
			w.writeBits(uint64(dod), 17)
		case fitsBits(dod, 20):
			w.writeBits(0b1110, 4)
			w.writeBits(uint64(dod), 20)
		default:
			w.writeBits(0b1111, 4)
			w.writeBits(uint64(dod), 64)
		}
	}
	s.t = t
}

// fitsBits reports whether x lies in the range a k-bit field codes:
// -(2^(k-1)-1) .. 2^(k-1), the format's (shifted) signed range.
func fitsBits(x int64, k uint) bool {
	return -(int64(1)<<(k-1)-1) <= x && x <= int64(1)<<(k-1)
}

// signExtend undoes the k-bit truncation of fitsBits' range.
func signExtend(b uint64, k uint) int64 {
	if b > 1<<(k-1) {
		return int64(b) - int64(1)<<k
	}
	return int64(b)
}

// tsReader holds the state for reading timestamps.
type tsReader struct {
	t      int64
	tDelta int64
}

var tsCodeBits = [...]uint{0, 14, 17, 20}

// read decodes the timestamp of sample number n.
func (s *tsReader) read(r *bitReader, n int) error {
	switch n {
	case 0:
		t, err := binary.ReadVarint(r)
		if err != nil {
			return fmt.Errorf("chunkenc: first timestamp: %w", err)
		}
		s.t = t
		return nil
	case 1:
		d, err := binary.ReadUvarint(r)
		if err != nil {
			return fmt.Errorf("chunkenc: second timestamp: %w", err)
		}
		s.tDelta = int64(d)
	default:
		p, err := r.readPrefix(4)
		if err != nil {
			return err
		}
		var dod int64
		if p == 4 {
			v, err := r.readBits(64)
			if err != nil {
				return err
			}
			dod = int64(v)
		} else if p > 0 {
			k := tsCodeBits[p]
			v, err := r.readBits(k)
			if err != nil {
				return err
			}
			dod = signExtend(v, k)
		}
		s.tDelta += dod
	}
	s.t += s.tDelta
	return nil
}

// xorState is the leading/trailing-zero window of one XOR-coded float
// field. leading == 0xff means no window yet.
type xorState struct {
	leading, trailing uint8
}

func newXORState() xorState { return xorState{leading: 0xff} }

// writeXOR appends the XOR coding of cur against prev.
func writeXOR(w *bitWriter, st *xorState, prev, cur float64) {
	x := math.Float64bits(prev) ^ math.Float64bits(cur)
	if x == 0 {
		w.writeBit(false)
		return
	}
	w.writeBit(true)
	leading := uint8(bits.LeadingZeros64(x))
	trailing := uint8(bits.TrailingZeros64(x))
	if leading > 31 {
		leading = 31 // the field has 5 bits
	}
	if st.leading != 0xff && leading >= st.leading && trailing >= st.trailing {
		w.writeBit(false)
		w.writeBits(x>>st.trailing, 64-int(st.leading)-int(st.trailing))
		return
	}
	st.leading, st.trailing = leading, trailing
	w.writeBit(true)
	w.writeBits(uint64(leading), 5)
	sig := 64 - int(leading) - int(trailing)
	// 64 significant bits do not fit in 6 bits; 0 stands for 64 because
	// an XOR of 0 never reaches this branch.
	w.writeBits(uint64(sig&63), 6)
	w.writeBits(x>>trailing, sig)
}

// readXOR decodes a value coded by writeXOR against prev.
func readXOR(r *bitReader, st *xorState, prev float64) (float64, error) {
	changed, err := r.readBit()
	if err != nil || !changed {
		return prev, err
	}
	newWindow, err := r.readBit()
	if err != nil {
		return 0, err
	}
	if newWindow {
		l, err := r.readBits(5)
		if err != nil {
			return 0, err
		}
		m, err := r.readBits(6)
		if err != nil {
			return 0, err
		}
		if m == 0 {
			m = 64
		}
		if l+m > 64 {
			return 0, fmt.Errorf("chunkenc: corrupt XOR window (%d leading, %d significant bits)", l, m)
		}
		st.leading, st.trailing = uint8(l), uint8(64-l-m)
	} else if st.leading == 0xff {
		return 0, fmt.Errorf("chunkenc: corrupt XOR value: window reused before one was set")
	}
	sig := 64 - uint(st.leading) - uint(st.trailing)
	v, err := r.readBits(sig)
	if err != nil {
		return 0, err
	}
	return math.Float64frombits(math.Float64bits(prev) ^ v<<st.trailing), nil
}

// varbit prefix lengths and their payload sizes (docs/format/chunks.md).
var varbitBits = [...]uint{0, 7, 14, 21, 35, 64}

// writeVarbit appends x with the varbit prefix code.
func writeVarbit(w *bitWriter, x int64) {
	switch {
	case x == 0:
		w.writeBit(false)
	case fitsBits(x, 7):
		w.writeBits(0b10, 2)
		w.writeBits(uint64(x), 7)
	case fitsBits(x, 14):
		w.writeBits(0b110, 3)
		w.writeBits(uint64(x), 14)
	case fitsBits(x, 21):
		w.writeBits(0b1110, 4)
		w.writeBits(uint64(x), 21)
	case fitsBits(x, 35):
		w.writeBits(0b11110, 5)
		w.writeBits(uint64(x), 35)
	default:
		w.writeBits(0b11111, 5)
		w.writeBits(uint64(x), 64)
	}
}

// readVarbit decodes a varbit integer.
func readVarbit(r *bitReader) (int64, error) {
	p, err := r.readPrefix(5)
	if err != nil {
		return 0, err
	}
	if p == 0 {
		return 0, nil
	}
	k := varbitBits[p]
	v, err := r.readBits(k)
	if err != nil {
		return 0, err
	}
	if k == 64 {
		return int64(v), nil
	}
	return signExtend(v, k), nil
}

// Appender is what the three appenders have in common: the chunk they
// append to. Callers type-switch to append the right kind of sample.
type Appender interface {
	Chunk() Chunk
}

// Chunk returns the chunk the appender appends to.
func (a *XORAppender) Chunk() Chunk { return a.c }

// Chunk returns the chunk the appender appends to.
func (a *HistogramAppender) Chunk() Chunk { return a.c }

// Chunk returns the chunk the appender appends to.
func (a *FloatHistogramAppender) Chunk() Chunk { return a.c }

// FloatBatchIterator is implemented by the iterators of float chunks
// (XOR, and the cold encoding of package chunks). Readers that walk whole
// chunks use it to decode many samples per call, which avoids a dynamic
// call per sample and lets the decoder keep its state in registers.
type FloatBatchIterator interface {
	storage.Iterator
	// NextFloats decodes the next samples, as many as fit in both ts and
	// vs, and returns how many it decoded. Afterwards the iterator stands
	// on the last of them (At, AtT). It returns 0 at the end of the chunk
	// or on an error, which Err then reports.
	NextFloats(ts []int64, vs []float64) int
	// NextFloatsUntil is NextFloats that also stops after the first
	// sample later than maxt, for readers that need nothing past it.
	NextFloatsUntil(ts []int64, vs []float64, maxt int64) int
}

// IteratorFromData returns an iterator over encoded chunk bytes, as
// FromData(e, b) followed by Iterator(reuse) would, but without
// allocating a chunk when reuse is an XOR iterator of this package.
// Readers that only iterate (queriers) use it; b must stay unchanged
// while the iterator is in use.
func IteratorFromData(e Encoding, b []byte, reuse storage.Iterator) (storage.Iterator, error) {
	if e == EncXOR && len(b) >= 2 {
		if xi, ok := reuse.(*xorIterator); ok {
			xi.reset(b)
			return xi, nil
		}
	}
	c, err := FromData(e, b)
	if err != nil {
		return nil, err
	}
	return c.Iterator(reuse), nil
}
