package chunkenc

import (
	"encoding/binary"
	"math"

	"github.com/vigil-monitoring/vigil/internal/storage"
)

// XORCheckpointEvery is how many samples apart XORHead takes checkpoints.
// A reader of the open chunk starts at the newest checkpoint before its
// range, so it decodes at most this many samples it does not need; one
// checkpoint per 40 samples covers the windows of typical rules (one to
// five minutes at 10-15 s intervals, 4 to 30 samples) most of the time.
// The checkpoint's sample number must fit its uint8.
const XORCheckpointEvery = SamplesPerChunk / 3

// XORCheckpoint is the decoder state of an XOR chunk after sample N-1:
// what an iterator needs to decode samples N onwards without reading the
// ones before. N is 0 for no checkpoint.
type XORCheckpoint struct {
	T, DT             int64  // sample N-1's time and the delta before it
	V                 uint64 // sample N-1's value bits
	Pos               uint16 // bits of the stream (after the header) before sample N
	N                 uint8
	Leading, Trailing uint8 // the value window
}

// XORHead is an XOR chunk open for appending with its encoder state and
// one checkpoint, laid out to be embedded by value in a head series. The
// newest sample's time and value are not kept here: the series keeps
// them anyway, and passes them to Append. The checkpoint lets readers of
// the open chunk skip its start (see OpenXORIteratorFrom); without it an
// instant query decodes the whole open chunk of every series it reads.
//
// INVARIANT: ckN is 0 or at most the chunk's sample count, and the ck
// fields are the state after sample ckN-1 of this chunk (the fields of an
// XORCheckpoint, spelled out so the small ones share a word: the struct is
// 72 bytes, as XORChunk and XORAppender were together).
type XORHead struct {
	c                     XORChunk
	tDelta                int64
	ckT, ckDT             int64
	ckV                   uint64
	ckPos                 uint16
	ckN                   uint8
	ckLeading, ckTrailing uint8
	xs                    xorState
}

// Reset starts a new empty chunk.
func (h *XORHead) Reset() {
	*h = XORHead{c: XORChunk{b: bitWriter{b: newChunkBytes()}}, xs: newXORState()}
}

// Chunk returns the chunk being appended to.
func (h *XORHead) Chunk() *XORChunk { return &h.c }

// NumSamples returns the chunk's sample count.
func (h *XORHead) NumSamples() int { return numSamples(h.c.b.b) }

// Append adds sample (t, v) after (prevT, prevV), the chunk's newest
// sample (ignored for the first). The caller guarantees t > prevT and
// fewer than 65535 samples.
func (h *XORHead) Append(prevT int64, prevV float64, t int64, v float64) {
	b := &h.c.b
	n := numSamples(b.b)
	ts := tsWriter{t: prevT, tDelta: h.tDelta}
	ts.write(b, n, t)
	h.tDelta = ts.tDelta
	if n == 0 {
		b.writeBits(math.Float64bits(v), 64)
	} else {
		writeXOR(b, &h.xs, prevV, v)
	}
	n++
	binary.BigEndian.PutUint16(b.b, uint16(n))
	// No checkpoint at SamplesPerChunk, where the head cuts: it would
	// replace one that readers can use by one they cannot yet.
	if n%XORCheckpointEvery == 0 && n < SamplesPerChunk {
		pos := (len(b.b)-2)*8 - int(b.free)
		if pos <= math.MaxUint16 {
			h.ckT, h.ckDT, h.ckV = t, h.tDelta, math.Float64bits(v)
			h.ckPos, h.ckN = uint16(pos), uint8(n)
			h.ckLeading, h.ckTrailing = h.xs.leading, h.xs.trailing
		}
	}
}

// CheckpointBefore returns the checkpoint when one is set and its sample
// is before mint, so that a reader of [mint, ...] may start there; else
// the zero checkpoint.
func (h *XORHead) CheckpointBefore(mint int64) XORCheckpoint {
	if h.ckN > 0 && h.ckT < mint {
		return XORCheckpoint{T: h.ckT, DT: h.ckDT, V: h.ckV, Pos: h.ckPos, N: h.ckN, Leading: h.ckLeading, Trailing: h.ckTrailing}
	}
	return XORCheckpoint{}
}

// OpenXORIteratorFrom is OpenXORIterator starting after ck's sample when
// ck.N > 0: it returns the samples from number ck.N on. ck must come from
// the XORHead of this chunk, read under the same lock as n and last.
func OpenXORIteratorFrom(b []byte, n int, last byte, ck XORCheckpoint, reuse storage.Iterator) storage.Iterator {
	it := OpenXORIterator(b, n, last, reuse)
	if ck.N > 0 && int(ck.N) <= n {
		xi := it.(*xorIterator)
		xi.read, xi.pos = int(ck.N), uint(ck.Pos)
		xi.t, xi.dT, xi.v = ck.T, ck.DT, ck.V
		xi.leading, xi.trailing = ck.Leading, ck.Trailing
	}
	return it
}
