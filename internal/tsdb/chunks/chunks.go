// Package chunks owns the chunk files of a block (`<block>/chunks/NNNNNN`,
// docs/format/chunks.md): the segment writer that appends encoded chunks
// and hands out references, the reader that resolves a reference to a
// chunk with its CRC checked, the chunk metadata (Meta) the index stores,
// the cold-data float encoding blocks use after compaction (EncColdFloat,
// see cold.go), and the read-only file mapping the block readers share
// (MapFile).
//
// A chunk reference is `segment << 32 | offset`, where segment is the
// number in the file name (1-based, so no valid reference is 0) and offset
// the position of the chunk's length field in that file.
package chunks

import (
	"errors"
	"fmt"
	"hash/crc32"

	"github.com/vigil-monitoring/vigil/internal/tsdb/chunkenc"
)

// Format constants of a chunk segment file.
const (
	// MagicChunks starts every segment file ("VGCK").
	MagicChunks = 0x5647434B
	// FormatVersion is the only segment framing version this package
	// reads and writes.
	FormatVersion = 1
	// SegmentHeaderSize is the magic, version and three zero bytes.
	SegmentHeaderSize = 8
	// DefaultSegmentSize is the largest a segment file grows (512 MiB).
	DefaultSegmentSize = 512 << 20
	// crcSize is the CRC-32C after each chunk.
	crcSize = 4
)

// castagnoli is the CRC-32C table every Vigil format uses.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// ChunkRef locates a chunk in a block's segment files.
type ChunkRef uint64

// NewChunkRef packs a segment number and an offset.
func NewChunkRef(segment, offset uint32) ChunkRef {
	return ChunkRef(uint64(segment)<<32 | uint64(offset))
}

// Segment returns the number of the segment file holding the chunk.
func (r ChunkRef) Segment() uint32 { return uint32(r >> 32) }

// Offset returns the position of the chunk within its segment file.
func (r ChunkRef) Offset() uint32 { return uint32(r) }

func (r ChunkRef) String() string { return fmt.Sprintf("%06d@%d", r.Segment(), r.Offset()) }

// Meta describes one chunk of a series: where it lives and the time span
// of its samples (both ends inclusive, and both are sample timestamps).
// Chunk is the loaded chunk, nil until a reader fills it in; writers take
// it as input.
type Meta struct {
	Ref        ChunkRef
	MinT, MaxT int64
	Chunk      chunkenc.Chunk
}

// OverlapsClosed reports whether the chunk's span meets [mint, maxt].
func (m Meta) OverlapsClosed(mint, maxt int64) bool {
	return m.MinT <= maxt && mint <= m.MaxT
}

// ErrCorruption marks every corruption error of the block file formats;
// test with errors.Is. Use errors.As with *CorruptionError for the file
// and offset.
var ErrCorruption = errors.New("corruption")

// CorruptionError reports bytes on disk that do not match their format:
// a bad CRC, a length running past the end of a file, a field out of
// range. It names the file and the offset of the damaged structure so an
// operator can find it.
type CorruptionError struct {
	File   string
	Offset int64
	Err    error
}

func (e *CorruptionError) Error() string {
	return fmt.Sprintf("corruption in %s at offset %d: %v", e.File, e.Offset, e.Err)
}

// Unwrap returns the underlying reason.
func (e *CorruptionError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrCorruption) true for every CorruptionError.
func (e *CorruptionError) Is(target error) bool { return target == ErrCorruption }

// Corruptf builds a CorruptionError with a formatted reason.
func Corruptf(file string, offset int64, format string, args ...any) error {
	return &CorruptionError{File: file, Offset: offset, Err: fmt.Errorf(format, args...)}
}
