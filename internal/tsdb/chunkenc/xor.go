package chunkenc

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/bits"
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
	var ts [32]int64
	var vs [32]float64
	for it.NextFloats(ts[:], vs[:]) > 0 {
	}
	if err := it.Err(); err != nil {
		return nil, err
	}
	a.ts = tsWriter{t: it.t, tDelta: it.dT}
	a.v = math.Float64frombits(it.v)
	a.xs = xorState{leading: it.leading, trailing: it.trailing}
	c.b.resumeAtBit(2, it.pos)
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

// xorIterator decodes an XOR chunk. It reads the bit stream with 64-bit
// loads at any bit position (see peek) rather than a shifting bit buffer,
// and NextFloats decodes runs of samples in one loop with the decoder
// state in registers: per-sample method calls and error plumbing were
// most of the cost of the previous bit-at-a-time decoder.
//
// INVARIANT: onSample is true exactly when the last Next, NextFloats or
// Seek produced a sample, and then t and v hold the last such sample.
// pos counts the bits of the stream consumed; after read samples it is
// at most 8*size.
type xorIterator struct {
	// The stream is the chunk after its 2-byte sample count, size bytes.
	// b is all of it but the last 8 bytes, and tail a copy of its last
	// 16 (fewer when shorter) followed by zeros: stream byte x is
	// tail[x+8-len(b)] when that is at least 0. The final byte is thus
	// never read from the chunk, whose appender may still be filling it
	// in (see OpenXORIterator), and a word read near the end comes from
	// tail in one load.
	b           []byte
	tail        [32]byte
	size        uint
	pos         uint
	total, read int
	t, dT       int64
	v           uint64 // the bits of the current value
	// The leading/trailing-zero window of the value coding; leading is
	// 0xff until the first window is read.
	leading, trailing uint8
	onSample          bool
	err               error
}

func (it *xorIterator) reset(b []byte) {
	it.resetBody(b[2:], b[len(b)-1], numSamples(b))
}

// resetBody starts the iterator on the n samples of body (a chunk
// without its header) whose final byte is last; body's own final byte is
// not read.
func (it *xorIterator) resetBody(body []byte, last byte, n int) {
	size := len(body)
	blen := max(size-8, 0)
	*it = xorIterator{b: body[:blen], size: uint(size), total: n, leading: 0xff}
	if size > 0 {
		from := max(size-16, 0)
		off := 8 - blen
		copy(it.tail[from+off:], body[from:size-1])
		it.tail[size-1+off] = last
	}
}

// end returns the length of the stream in bits.
func (it *xorIterator) end() uint { return it.size * 8 }

// OpenXORIterator returns an iterator over the first n samples of an XOR
// chunk that an appender may still be extending, without copying it. b is
// the chunk's bytes, and n and last (b's final byte) were read with b
// under the lock that orders the appends. The iterator never reads the
// header or b's final byte from b: those are the only bytes of b that
// later appends write (they rewrite the count and fill the final byte's
// free bits; everything else goes past b's length, or to a new array when
// the chunk grows).
func OpenXORIterator(b []byte, n int, last byte, reuse storage.Iterator) storage.Iterator {
	xi, ok := reuse.(*xorIterator)
	if !ok {
		xi = &xorIterator{}
	}
	xi.resetBody(b[2:], last, n)
	return xi
}

// peek returns the 64 bits of the stream (see xorIterator) from bit pos
// on; at least the first 57 of them are meaningful (the low pos%8 bits
// are zero). Bits past the end read as zero: callers check pos against
// the length after decoding a sample.
func peek(b []byte, tail *[32]byte, pos uint) uint64 {
	i := pos >> 3
	if i+8 <= uint(len(b)) {
		return binary.BigEndian.Uint64(b[i:]) << (pos & 7)
	}
	// i+8-len(b) >= 1; past the end, tail[24:] reads the zeros.
	return binary.BigEndian.Uint64(tail[min(i+8-uint(len(b)), 24):]) << (pos & 7)
}

// bitsAt returns the k bits (1 <= k <= 64) of the stream from bit pos on.
func bitsAt(b []byte, tail *[32]byte, pos, k uint) uint64 {
	if k <= 57 {
		return peek(b, tail, pos) >> (64 - k)
	}
	hi := peek(b, tail, pos) >> 32
	return hi<<(k-32) | peek(b, tail, pos+32)>>(96-k)
}

// errXORNoWindow is the corruption of a value that reuses the XOR window
// before any was set.
var errXORNoWindow = errors.New("chunkenc: corrupt XOR value: window reused before one was set")

func errXORWindow(leading, sig uint) error {
	return fmt.Errorf("chunkenc: corrupt XOR window (%d leading, %d significant bits)", leading, sig)
}

// signExtendFast is signExtend without a branch: the sign of a
// delta-of-delta is as good as random.
func signExtendFast(b uint64, k uint) int64 {
	neg := (uint64(1)<<(k-1) - b) >> 63 // 1 when b > 2^(k-1)
	return int64(b) - int64(neg<<k)
}

// first decodes one of the first two samples, whose timestamps are
// byte-aligned varints, and reports whether it did.
func (it *xorIterator) first() bool {
	var buf [binary.MaxVarintLen64]byte
	vb := it.bytesAt(it.pos>>3, buf[:]) // both samples start on a byte boundary
	end := it.end()
	if it.read == 0 {
		t, k := binary.Varint(vb)
		if k <= 0 {
			return it.fail(fmt.Errorf("chunkenc: first timestamp: %w", errBadVarint(k)))
		}
		pos := it.pos + uint(k)*8
		if pos+64 > end {
			return it.fail(errShort)
		}
		it.t, it.v, it.pos = t, bitsAt(it.b, &it.tail, pos, 64), pos+64
	} else {
		d, k := binary.Uvarint(vb)
		if k <= 0 {
			return it.fail(fmt.Errorf("chunkenc: second timestamp: %w", errBadVarint(k)))
		}
		pos, v, leading, trailing, err := readXORValue(it.b, &it.tail, it.pos+uint(k)*8, it.v, it.leading, it.trailing)
		if err != nil {
			return it.fail(err)
		}
		if pos > end {
			return it.fail(errShort)
		}
		it.dT = int64(d)
		it.t += it.dT
		it.pos, it.v, it.leading, it.trailing = pos, v, leading, trailing
	}
	it.read++
	return true
}

// bytesAt returns the stream from byte i on, for a varint: a view of b
// when a varint cannot run past it, else a copy into buf.
func (it *xorIterator) bytesAt(i uint, buf []byte) []byte {
	if i+uint(len(buf)) <= uint(len(it.b)) {
		return it.b[i:]
	}
	n := 0
	for x := i; x < it.size && n < len(buf); x++ {
		if x < uint(len(it.b)) {
			buf[n] = it.b[x]
		} else {
			buf[n] = it.tail[x+8-uint(len(it.b))]
		}
		n++
	}
	return buf[:n]
}

// errBadVarint is what binary.Varint's k <= 0 means, in the words of
// binary.ReadVarint.
func errBadVarint(k int) error {
	if k == 0 {
		return errShort
	}
	return errors.New("varint overflows a 64-bit integer")
}

func (it *xorIterator) fail(err error) bool {
	it.err = err
	return false
}

// readXORValue decodes one XOR-coded value at bit pos against prev and
// returns the new position, value and window.
func readXORValue(b []byte, tail *[32]byte, pos uint, prev uint64, leading, trailing uint8) (uint, uint64, uint8, uint8, error) {
	w := peek(b, tail, pos)
	switch {
	case w>>63 == 0: // unchanged
		return pos + 1, prev, leading, trailing, nil
	case w>>62 == 0b10: // the previous window
		if leading == 0xff {
			return pos, 0, leading, trailing, errXORNoWindow
		}
		sig := 64 - uint(leading) - uint(trailing)
		var x uint64
		if sig <= 55 {
			x = w << 2 >> (64 - sig)
		} else {
			x = bitsAt(b, tail, pos+2, sig)
		}
		return pos + 2 + sig, prev ^ x<<trailing, leading, trailing, nil
	}
	l := uint(w>>57) & 31
	m := uint(w>>51) & 63
	if m == 0 {
		m = 64 // 64 significant bits do not fit the field
	}
	if l+m > 64 {
		return pos, 0, leading, trailing, errXORWindow(l, m)
	}
	trail := 64 - l - m
	var x uint64
	if m <= 44 {
		x = w << 13 >> (64 - m)
	} else {
		x = bitsAt(b, tail, pos+13, m)
	}
	return pos + 13 + m, prev ^ x<<trail, uint8(l), uint8(trail), nil
}

// NextFloats implements FloatBatchIterator.
func (it *xorIterator) NextFloats(ts []int64, vs []float64) int {
	return it.NextFloatsUntil(ts, vs, math.MaxInt64)
}

// NextFloatsUntil implements FloatBatchIterator.
func (it *xorIterator) NextFloatsUntil(ts []int64, vs []float64, maxt int64) int {
	it.onSample = false
	if it.err != nil {
		return 0
	}
	n := 0
	want := min(len(ts), len(vs), it.total-it.read)
	for n < want && it.read < 2 {
		if !it.first() {
			it.onSample = n > 0
			return n
		}
		ts[n], vs[n] = it.t, math.Float64frombits(it.v)
		n++
		if it.t > maxt {
			want = n
		}
	}
	if n == want {
		it.onSample = n > 0
		return n
	}
	// The state lives in locals for the loop and is stored back once.
	start := n
	b, tail, pos, end := it.b, &it.tail, it.pos, it.end()
	t, dT, v := it.t, it.dT, it.v
	trailing := uint(it.trailing)
	sig := uint(0) // significant bits of the window; 0: none yet
	if it.leading != 0xff {
		sig = 64 - uint(it.leading) - trailing
	}
	var err error
	tsAll, vsAll := ts, vs
	ts = ts[start:want]
	vs = vs[start:want]
	vs = vs[:len(ts)]
	k := 0
	for ; k < len(ts); k++ {
		// One load serves the timestamp and, when it fits in the rest of
		// the word, the value: the next load would wait on pos.
		w := peek(b, tail, pos)
		c := uint(1) // bits of w used
		if w>>63 != 0 {
			// A unary prefix of up to four ones selects the
			// delta-of-delta width: 14, 17 or 20 bits, else 64.
			if p := uint(bits.LeadingZeros64(^w)); p < 4 {
				kb := 11 + 3*p
				dT += signExtendFast(w<<(p+1)>>(64-kb), kb)
				c = p + 1 + kb
			} else {
				dT += int64(bitsAt(b, tail, pos+4, 64))
				pos += 4 + 64
				w, c = peek(b, tail, pos), 0
			}
		}
		t += dT
		pos += c
		w <<= c
		avail := 57 - c // meaningful bits left in w
		// Value.
		switch {
		case w>>63 == 0:
			pos++
		case w>>62 == 0b10:
			if sig == 0 {
				err = errXORNoWindow
				break
			}
			var x uint64
			if 2+sig <= avail {
				x = w << 2 >> (64 - sig)
			} else {
				x = bitsAt(b, tail, pos+2, sig)
			}
			v ^= x << trailing
			pos += 2 + sig
		default:
			l := uint(w>>57) & 31
			m := uint(w>>51) & 63
			if m == 0 {
				m = 64 // 64 significant bits do not fit the field
			}
			if l+m > 64 {
				err = errXORWindow(l, m)
				break
			}
			sig, trailing = m, 64-l-m
			var x uint64
			if 13+m <= avail {
				x = w << 13 >> (64 - m)
			} else {
				x = bitsAt(b, tail, pos+13, m)
			}
			v ^= x << trailing
			pos += 13 + m
		}
		if pos > end || err != nil {
			if err == nil {
				err = errShort
			}
			break
		}
		ts[k], vs[k] = t, math.Float64frombits(v)
		if t > maxt {
			k++
			break
		}
	}
	n = start + k
	it.err = err
	it.pos, it.t, it.dT, it.v = pos, t, dT, v
	if sig != 0 {
		it.leading, it.trailing = uint8(64-sig-trailing), uint8(trailing)
	}
	it.read += k
	if n > 0 {
		// The iterator stands on the last sample stored, whatever a
		// failed decode left in the locals.
		it.t, it.v = tsAll[n-1], math.Float64bits(vsAll[n-1])
	}
	it.onSample = n > 0
	return n
}

func (it *xorIterator) Next() storage.ValueType {
	var t [1]int64
	var v [1]float64
	if it.NextFloats(t[:], v[:]) == 0 {
		return storage.ValNone
	}
	return storage.ValFloat
}

func (it *xorIterator) Seek(t int64) storage.ValueType {
	if it.onSample && it.t >= t {
		return storage.ValFloat
	}
	if !it.onSample && it.read > 0 {
		return storage.ValNone // exhausted or failed; never move back
	}
	for {
		if it.Next() == storage.ValNone {
			return storage.ValNone
		}
		if it.t >= t {
			return storage.ValFloat
		}
	}
}

func (it *xorIterator) At() (int64, float64) { return it.t, math.Float64frombits(it.v) }
func (it *xorIterator) AtT() int64           { return it.t }
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
