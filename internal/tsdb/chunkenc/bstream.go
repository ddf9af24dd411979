package chunkenc

import (
	"encoding/binary"
	"errors"
)

// errShort means a read ran past the end of the chunk.
var errShort = errors.New("chunkenc: unexpected end of chunk data")

// bitWriter appends bits, most significant first, to a byte slice.
//
// INVARIANT: free is the number of unused low bits in the last byte of b
// (0..7); when it is 0 the next bit starts a new byte.
type bitWriter struct {
	b    []byte
	free uint8
}

// writeBit appends one bit.
func (w *bitWriter) writeBit(bit bool) {
	if w.free == 0 {
		w.appendByte(0)
		w.free = 8
	}
	w.free--
	if bit {
		w.b[len(w.b)-1] |= 1 << w.free
	}
}

// writeBits appends the k low bits of u, most significant first.
func (w *bitWriter) writeBits(u uint64, k int) {
	if k == 0 {
		return
	}
	if k < 64 {
		u &= 1<<uint(k) - 1
	}
	// Fill the partial last byte first.
	if w.free > 0 {
		if k <= int(w.free) {
			w.free -= uint8(k)
			w.b[len(w.b)-1] |= byte(u << w.free)
			return
		}
		k -= int(w.free)
		w.b[len(w.b)-1] |= byte(u >> uint(k))
		w.free = 0
	}
	for k >= 8 {
		k -= 8
		w.appendByte(byte(u >> uint(k)))
	}
	if k > 0 {
		w.free = uint8(8 - k)
		w.appendByte(byte(u << w.free))
	}
}

// appendByte appends c to the buffer. A full buffer grows by a quarter
// (at least 16 bytes) instead of doubling as append would: the head holds
// one open chunk per series, and doubling leaves a quarter of that memory
// unused on average, a tenth with this policy.
func (w *bitWriter) appendByte(c byte) {
	if len(w.b) == cap(w.b) {
		n := len(w.b) + max(16, len(w.b)/4)
		nb := make([]byte, len(w.b), (n+15)&^15)
		copy(nb, w.b)
		w.b = nb
	}
	w.b = append(w.b, c)
}

// writeByte appends 8 bits.
func (w *bitWriter) writeByte(c byte) { w.writeBits(uint64(c), 8) }

// writeVarint appends binary.PutVarint's bytes, 8 bits each.
func (w *bitWriter) writeVarint(x int64) {
	var buf [binary.MaxVarintLen64]byte
	for _, c := range buf[:binary.PutVarint(buf[:], x)] {
		w.writeByte(c)
	}
}

// writeUvarint appends binary.PutUvarint's bytes, 8 bits each.
func (w *bitWriter) writeUvarint(x uint64) {
	var buf [binary.MaxVarintLen64]byte
	for _, c := range buf[:binary.PutUvarint(buf[:], x)] {
		w.writeByte(c)
	}
}

// bitReader reads bits, most significant first, from a byte slice.
//
// INVARIANT: the n low bits of buf are the next unread bits, the most
// significant of them first; off is the next byte of b to load into buf.
type bitReader struct {
	b   []byte
	off int
	buf uint64
	n   uint
}

func newBitReader(b []byte) bitReader { return bitReader{b: b} }

// refill loads whole bytes into buf while at least 8 bits are free.
func (r *bitReader) refill() {
	if r.n <= 56 && r.off+8 <= len(r.b) {
		// Fast path: take as many whole bytes as fit with one load.
		take := (64 - r.n) / 8
		v := binary.BigEndian.Uint64(r.b[r.off:])
		r.buf = r.buf<<(take*8) | v>>(64-take*8)
		r.off += int(take)
		r.n += take * 8
		return
	}
	for r.n <= 56 && r.off < len(r.b) {
		r.buf = r.buf<<8 | uint64(r.b[r.off])
		r.off++
		r.n += 8
	}
}

// readBits reads k bits (0 < k <= 64).
func (r *bitReader) readBits(k uint) (uint64, error) {
	if k > 56 {
		hi, err := r.readBits(k - 32)
		if err != nil {
			return 0, err
		}
		lo, err := r.readBits(32)
		if err != nil {
			return 0, err
		}
		return hi<<32 | lo, nil
	}
	if r.n < k {
		r.refill()
		if r.n < k {
			return 0, errShort
		}
	}
	r.n -= k
	return (r.buf >> r.n) & (1<<k - 1), nil
}

// readBit reads one bit.
func (r *bitReader) readBit() (bool, error) {
	if r.n == 0 {
		r.refill()
		if r.n == 0 {
			return false, errShort
		}
	}
	r.n--
	return r.buf>>r.n&1 == 1, nil
}

// ReadByte reads 8 bits; it lets binary.ReadVarint read from the stream.
func (r *bitReader) ReadByte() (byte, error) {
	v, err := r.readBits(8)
	return byte(v), err
}

// readPrefix reads up to max one bits followed by a zero (or max ones with
// no zero) and returns how many ones it read: the unary prefix of the
// timestamp and varbit codes.
func (r *bitReader) readPrefix(max int) (int, error) {
	for i := range max {
		bit, err := r.readBit()
		if err != nil {
			return 0, err
		}
		if !bit {
			return i, nil
		}
	}
	return max, nil
}

// resumeAt positions w to continue writing right after the last bit r has
// read, where r reads w.b[hdr:]. Bytes past that point are dropped.
func (w *bitWriter) resumeAt(hdr int, r *bitReader) {
	w.resumeAtBit(hdr, uint(r.off*8-int(r.n)))
}

// resumeAtBit positions w to continue writing after the first pos bits
// of w.b[hdr:]. Bytes past that point are dropped.
func (w *bitWriter) resumeAtBit(hdr int, upos uint) {
	pos := int(upos)
	used := (pos + 7) / 8
	w.b = w.b[:hdr+used]
	w.free = uint8(used*8 - pos)
	if w.free > 0 {
		w.b[len(w.b)-1] &^= 1<<w.free - 1 // writeBits ORs into zero padding
	}
}
