package chunks

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"slices"
	"strconv"

	"github.com/vigil-monitoring/vigil/internal/storage"
	"github.com/vigil-monitoring/vigil/internal/tsdb/chunkenc"
	"github.com/vigil-monitoring/vigil/internal/tsdb/vfs"
)

// Reader resolves chunk references of one block. It is safe for
// concurrent use; the chunks it returns alias the mapped files and are
// valid until Close.
type Reader struct {
	// segs[i] is segment number i+1.
	// INVARIANT: every mapping holds a segment whose header was checked.
	segs []*Mapping
	size int64
}

// NewReader opens every segment file in dir. Segment numbers must run
// from 1 without gaps: a missing file means lost chunks, which is
// reported as corruption rather than discovered at query time.
func NewReader(fsys vfs.FS, dir string) (*Reader, error) {
	entries, err := fsys.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var seqs []uint32
	for _, e := range entries {
		name := e.Name()
		if len(name) != 6 || e.IsDir() {
			continue
		}
		n, err := strconv.ParseUint(name, 10, 32)
		if err != nil {
			continue
		}
		seqs = append(seqs, uint32(n))
	}
	slices.Sort(seqs)
	r := &Reader{}
	for i, seq := range seqs {
		if seq != uint32(i+1) {
			r.Close()
			return nil, Corruptf(SegmentName(dir, uint32(i+1)), 0, "chunk segment missing (found %06d instead)", seq)
		}
		m, err := MapFile(fsys, SegmentName(dir, seq))
		if err != nil {
			r.Close()
			return nil, err
		}
		r.segs = append(r.segs, m)
		if err := checkSegmentHeader(m.Name(), m.Bytes()); err != nil {
			r.Close()
			return nil, err
		}
		r.size += int64(len(m.Bytes()))
	}
	return r, nil
}

// NewReaderFromBytes returns a reader over in-memory segments, segs[i]
// being segment i+1. Fuzz tests use it.
func NewReaderFromBytes(segs ...[]byte) (*Reader, error) {
	r := &Reader{}
	for i, b := range segs {
		name := fmt.Sprintf("%06d", i+1)
		if err := checkSegmentHeader(name, b); err != nil {
			return nil, err
		}
		r.segs = append(r.segs, &Mapping{name: name, b: b})
		r.size += int64(len(b))
	}
	return r, nil
}

func checkSegmentHeader(name string, b []byte) error {
	if len(b) < SegmentHeaderSize {
		return Corruptf(name, 0, "chunk segment of %d bytes is shorter than its header", len(b))
	}
	if m := binary.BigEndian.Uint32(b); m != MagicChunks {
		return Corruptf(name, 0, "bad chunk segment magic %#x", m)
	}
	if v := b[4]; v != FormatVersion {
		return fmt.Errorf("%s: unsupported chunk segment version %d", name, v)
	}
	return nil
}

// Size returns the total size of the segment files in bytes.
func (r *Reader) Size() int64 { return r.size }

// Chunk returns the chunk at ref after checking its CRC. A damaged chunk
// yields a *CorruptionError naming the segment file and offset.
func (r *Reader) Chunk(ref ChunkRef) (chunkenc.Chunk, error) {
	enc, data, err := r.ChunkData(ref)
	if err != nil {
		return nil, err
	}
	c, err := Decode(enc, data)
	if err != nil {
		return nil, r.corruptAt(ref, "%v", err)
	}
	return c, nil
}

// Iterator returns an iterator over the chunk at ref, reusing
// reuse(encoding) when that is an iterator of the chunk's encoding (see
// IteratorFromData). It checks the CRC as Chunk does.
func (r *Reader) Iterator(ref ChunkRef, reuse func(chunkenc.Encoding) storage.Iterator) (chunkenc.Encoding, storage.Iterator, error) {
	enc, data, err := r.ChunkData(ref)
	if err != nil {
		return 0, nil, err
	}
	it, err := IteratorFromData(enc, data, reuse(enc))
	if err != nil {
		return 0, nil, r.corruptAt(ref, "%v", err)
	}
	return enc, it, nil
}

func (r *Reader) corruptAt(ref ChunkRef, format string, args ...any) error {
	return Corruptf(r.segs[ref.Segment()-1].Name(), int64(ref.Offset()), format, args...)
}

// ChunkData returns the encoding and the bytes of the chunk at ref after
// checking its CRC. The bytes alias the mapping: they are valid until
// Close and must not be modified.
func (r *Reader) ChunkData(ref ChunkRef) (chunkenc.Encoding, []byte, error) {
	seq, off := ref.Segment(), int(ref.Offset())
	if seq == 0 || int(seq) > len(r.segs) {
		return 0, nil, fmt.Errorf("%w: chunk reference %s names segment %d of %d", ErrCorruption, ref, seq, len(r.segs))
	}
	seg := r.segs[seq-1]
	b := seg.Bytes()
	if off < SegmentHeaderSize || off >= len(b) {
		return 0, nil, Corruptf(seg.Name(), int64(off), "chunk offset outside the %d-byte segment", len(b))
	}
	n, k := binary.Uvarint(b[off:])
	if k <= 0 {
		return 0, nil, Corruptf(seg.Name(), int64(off), "bad chunk length")
	}
	start := off + k // the encoding byte
	if n > uint64(len(b)) || uint64(start)+1+n+crcSize > uint64(len(b)) {
		return 0, nil, Corruptf(seg.Name(), int64(off), "chunk of %d bytes runs past the end of the segment", n)
	}
	end := start + 1 + int(n)
	want := binary.BigEndian.Uint32(b[end:])
	if got := crc32.Checksum(b[start:end], castagnoli); got != want {
		return 0, nil, Corruptf(seg.Name(), int64(off), "chunk checksum mismatch (stored %#08x, computed %#08x)", want, got)
	}
	// The three-index slice keeps a caller that appends from writing into
	// the mapping (which would fault: it is read-only).
	return chunkenc.Encoding(b[start]), b[start+1 : end : end], nil
}

// Decode wraps encoded chunk bytes as a chunk of the given encoding,
// including the encodings this package adds to chunkenc's.
func Decode(enc chunkenc.Encoding, b []byte) (chunkenc.Chunk, error) {
	if enc == EncColdFloat {
		return ColdChunkFromData(b)
	}
	return chunkenc.FromData(enc, b)
}

// IteratorFromData is Decode followed by Iterator(reuse), without
// allocating a chunk when reuse is an iterator of the encoding.
func IteratorFromData(enc chunkenc.Encoding, b []byte, reuse storage.Iterator) (storage.Iterator, error) {
	if enc != EncColdFloat {
		return chunkenc.IteratorFromData(enc, b, reuse)
	}
	n, err := coldHeader(b)
	if err != nil {
		return nil, err
	}
	ci, ok := reuse.(*coldIterator)
	if !ok {
		ci = &coldIterator{}
	}
	ci.reset(b, n)
	return ci, nil
}

// Close releases the segment mappings.
func (r *Reader) Close() error {
	var errs []error
	for _, m := range r.segs {
		errs = append(errs, m.Close())
	}
	r.segs = nil
	return errors.Join(errs...)
}
