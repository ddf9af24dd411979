package tsdb

import (
	"encoding/binary"
	"strings"

	"github.com/vigil-monitoring/vigil/internal/tsdb/headchunks"
)

// chunkMeta is a full chunk: where it is and the times it spans.
type chunkMeta struct {
	ref        headchunks.Ref
	minT, maxT int64
}

// chunkList is a series' full chunks, oldest first, packed into a string
// of varints: about 10 bytes per chunk where a slice of chunkMeta takes
// 24, which matters at 6-9 full chunks for every series. Per chunk:
//
//	first:  uvarint(seq) uvarint(offset) varint(minT) uvarint(maxT-minT)
//	others: varint(seq-prevSeq) offset uvarint(minT-prevMaxT) uvarint(maxT-minT)
//
// where offset is varint(offset-prevOffset) within the previous chunk's
// file and uvarint(offset) in another.
//
// INVARIANT: chunks are in time order and do not overlap (each minT is
// after the previous maxT), and minT <= maxT. A chunkList is a string, so
// a reader may keep one after the series lock is released.
type chunkList string

// chunkListIter decodes a chunkList.
type chunkListIter struct {
	rest string
	n    int
	cur  chunkMeta
}

func (l chunkList) iter() chunkListIter { return chunkListIter{rest: string(l)} }

// next decodes the next chunk into it.cur. A malformed list (which only a
// bug produces) ends the iteration.
func (it *chunkListIter) next() bool {
	if len(it.rest) == 0 {
		return false
	}
	d := strDecoder{s: it.rest}
	var seq, off uint64
	var minT int64
	if it.n == 0 {
		seq = d.uvarint()
		off = d.uvarint()
		minT = d.varint()
	} else {
		ds := d.varint()
		seq = uint64(int64(it.cur.ref.Seq()) + ds)
		if ds == 0 {
			off = uint64(int64(it.cur.ref.Offset()) + d.varint())
		} else {
			off = d.uvarint()
		}
		minT = it.cur.maxT + int64(d.uvarint())
	}
	dur := d.uvarint()
	if d.bad {
		it.rest = ""
		return false
	}
	it.cur = chunkMeta{ref: headchunks.NewRef(uint32(seq), uint32(off)), minT: minT, maxT: minT + int64(dur)}
	it.rest = d.s
	it.n++
	return true
}

// strDecoder reads varints from a string without converting it to bytes.
type strDecoder struct {
	s   string
	bad bool
}

func (d *strDecoder) uvarint() uint64 {
	var x uint64
	for i := 0; i < len(d.s) && i < binary.MaxVarintLen64; i++ {
		c := d.s[i]
		if c < 0x80 {
			d.s = d.s[i+1:]
			return x | uint64(c)<<(7*i)
		}
		x |= uint64(c&0x7f) << (7 * i)
	}
	d.bad, d.s = true, ""
	return 0
}

func (d *strDecoder) varint() int64 {
	u := d.uvarint()
	return int64(u>>1) ^ -int64(u&1)
}

// appendChunk returns l with c added at the end; c starts after l's
// last chunk ends.
func (l chunkList) appendChunk(c chunkMeta) chunkList {
	it := l.iter()
	for it.next() {
	}
	var buf [4 * binary.MaxVarintLen64]byte
	e := appendChunkMeta(buf[:0], c, it.cur, it.n == 0)
	// One allocation of the exact size: the list is rebuilt on every cut
	// rather than kept with spare capacity.
	var sb strings.Builder
	sb.Grow(len(l) + len(e))
	sb.WriteString(string(l))
	sb.Write(e)
	return chunkList(sb.String())
}

func appendChunkMeta(b []byte, c, prev chunkMeta, first bool) []byte {
	if first {
		b = binary.AppendUvarint(b, uint64(c.ref.Seq()))
		b = binary.AppendUvarint(b, uint64(c.ref.Offset()))
		b = binary.AppendVarint(b, c.minT)
	} else {
		d := int64(c.ref.Seq()) - int64(prev.ref.Seq())
		b = binary.AppendVarint(b, d)
		if d == 0 {
			b = binary.AppendVarint(b, int64(c.ref.Offset())-int64(prev.ref.Offset()))
		} else {
			b = binary.AppendUvarint(b, uint64(c.ref.Offset()))
		}
		b = binary.AppendUvarint(b, uint64(c.minT-prev.maxT))
	}
	return binary.AppendUvarint(b, uint64(c.maxT-c.minT))
}

// chunkListBuilder builds a chunkList chunk by chunk without decoding it
// again for every append, for WAL replay.
type chunkListBuilder struct {
	b    []byte
	last chunkMeta
	n    int
}

func (lb *chunkListBuilder) add(c chunkMeta) {
	lb.b = appendChunkMeta(lb.b, c, lb.last, lb.n == 0)
	lb.last = c
	lb.n++
}

func (lb *chunkListBuilder) list() chunkList { return chunkList(lb.b) }

// first returns the oldest chunk.
func (l chunkList) first() (chunkMeta, bool) {
	it := l.iter()
	ok := it.next()
	return it.cur, ok
}

// last returns the newest chunk.
func (l chunkList) last() (chunkMeta, bool) {
	it := l.iter()
	for it.next() {
	}
	return it.cur, it.n > 0
}

// len returns the number of chunks.
func (l chunkList) len() int {
	it := l.iter()
	for it.next() {
	}
	return it.n
}

// rebuild returns the list of the chunks keep accepts, with their refs
// changed by remap, and the chunks it dropped.
func (l chunkList) rebuild(keep func(chunkMeta) bool, remap func(chunkMeta) headchunks.Ref) (chunkList, []chunkMeta) {
	var lb chunkListBuilder
	var dropped []chunkMeta
	it := l.iter()
	for it.next() {
		c := it.cur
		if !keep(c) {
			dropped = append(dropped, c)
			continue
		}
		if remap != nil {
			c.ref = remap(c)
		}
		lb.add(c)
	}
	return lb.list(), dropped
}
