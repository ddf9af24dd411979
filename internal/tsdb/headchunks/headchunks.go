// Package headchunks owns the head chunk files (`chunks_head/`): the
// append-only files the head writes each full chunk to, so that the Go
// heap holds only every series' open chunk. Files are memory-mapped
// read-only and queries read chunks straight from the mapping. The byte
// layout, the recovery rule and the deletion rule are specified in
// docs/format/head_chunks.md.
//
// The files are a cache of what the WAL also holds, so a write that fails
// does not fail the append: the chunk is kept in memory instead (an
// overflow chunk, file sequence 0) and can be moved to a file later
// (Store.Migrate).
//
// Mappings and overflow chunks outlive their deletion for as long as a
// Reader opened before the deletion is open; see Reader.
package headchunks

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"log/slog"
	"sync"

	"github.com/vigil-monitoring/vigil/internal/tsdb/chunkenc"
	"github.com/vigil-monitoring/vigil/internal/tsdb/vfs"
)

// Layout constants (docs/format/head_chunks.md).
const (
	magic      = 0x56474843 // "VGHC"
	version    = 1
	headerSize = 8
	// fixedSize is the part of an entry before the data length: series
	// ref, min time, max time, encoding.
	fixedSize = 8 + 8 + 8 + 1
	crcSize   = 4
	// maxEntryHead bounds the bytes before the data: the fixed part and
	// a data length of at most five uvarint bytes.
	maxEntryHead = fixedSize + 5

	// DefaultMaxFileSize is the size at which a file is sealed and the
	// next one started.
	DefaultMaxFileSize = 128 << 20
	// DefaultWriteBufferSize is how many bytes of entries collect in
	// memory before they are written to the file.
	DefaultWriteBufferSize = 1 << 20
	// minFileSize keeps test configurations sane: every file must hold a
	// header and a few chunks.
	minFileSize = 4 << 10
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Ref locates a chunk: the file sequence in the upper 32 bits and the
// offset of its entry in the file in the lower 32. Sequence 0 names an
// overflow chunk held in memory; the zero Ref is never issued.
type Ref uint64

// NewRef builds a Ref.
func NewRef(seq, offset uint32) Ref { return Ref(uint64(seq)<<32 | uint64(offset)) }

// Seq returns the file sequence, 0 for an overflow chunk.
func (r Ref) Seq() uint32 { return uint32(r >> 32) }

// Offset returns the entry's offset in its file.
func (r Ref) Offset() uint32 { return uint32(r) }

// InMemory reports whether the chunk is an overflow chunk.
func (r Ref) InMemory() bool { return r.Seq() == 0 }

func (r Ref) String() string { return fmt.Sprintf("%06d:%d", r.Seq(), r.Offset()) }

// Options configure a Store.
type Options struct {
	// FS is the file system; nil means the operating system's.
	FS vfs.FS
	// Logger receives problems and repairs; nil discards them.
	Logger *slog.Logger
	// MaxFileSize is the size at which a file is sealed; 0 means
	// DefaultMaxFileSize. It must be below 4 GiB (offsets are 32 bits).
	MaxFileSize int64
	// WriteBufferSize is the number of bytes buffered before a write to
	// the file; 0 means DefaultWriteBufferSize.
	WriteBufferSize int
}

// ErrClosed is returned by a Store after Close.
var ErrClosed = errors.New("headchunks: store closed")

// FormatError is returned by Open for a file this version cannot read: a
// foreign magic number or an unknown version. The caller moves the
// directory aside and starts over from the WAL.
type FormatError struct {
	File    string
	Magic   uint32
	Version byte
}

func (e *FormatError) Error() string {
	if e.Magic != magic {
		return fmt.Sprintf("headchunks: %s is not a head chunk file (magic %#08x)", e.File, e.Magic)
	}
	return fmt.Sprintf("headchunks: %s has unknown version %d", e.File, e.Version)
}

// CorruptionError reports an entry that does not decode or fails its
// checksum.
type CorruptionError struct {
	File   string
	Offset int64
	Err    error
}

func (e *CorruptionError) Error() string {
	return fmt.Sprintf("headchunks: corrupt entry in %s at offset %d: %v", e.File, e.Offset, e.Err)
}

func (e *CorruptionError) Unwrap() error { return e.Err }

// Entry describes one chunk in a file, as Replay reports it.
type Entry struct {
	Series     uint64
	MinT, MaxT int64
	Encoding   chunkenc.Encoding
	Ref        Ref
}

// entrySize is the encoded size of an entry with n bytes of data.
func entrySize(n int) int {
	return fixedSize + uvarintLen(uint64(n)) + n + crcSize
}

func uvarintLen(x uint64) int {
	n := 1
	for x >= 0x80 {
		x >>= 7
		n++
	}
	return n
}

// appendEntry appends the encoding of one entry to b.
func appendEntry(b []byte, series uint64, minT, maxT int64, enc chunkenc.Encoding, data []byte) []byte {
	start := len(b)
	b = binary.BigEndian.AppendUint64(b, series)
	b = binary.BigEndian.AppendUint64(b, uint64(minT))
	b = binary.BigEndian.AppendUint64(b, uint64(maxT))
	b = append(b, byte(enc))
	b = binary.AppendUvarint(b, uint64(len(data)))
	b = append(b, data...)
	return binary.BigEndian.AppendUint32(b, crc32.Checksum(b[start:], castagnoli))
}

var (
	errShortEntry = errors.New("entry runs past the end of the file")
	errBadCRC     = errors.New("checksum mismatch")
)

// parseEntry decodes the entry at the start of b, which holds the rest of
// the file. It returns the entry (Ref unset), its data (aliasing b) and
// its encoded length.
func parseEntry(b []byte) (e Entry, data []byte, n int, err error) {
	if len(b) < fixedSize+1 {
		return e, nil, 0, errShortEntry
	}
	l, k := binary.Uvarint(b[fixedSize:])
	if k <= 0 || k > 5 || k != uvarintLen(l) {
		if k == 0 && len(b) < maxEntryHead {
			return e, nil, 0, errShortEntry
		}
		return e, nil, 0, errors.New("malformed data length")
	}
	head := fixedSize + k
	if l > uint64(len(b)-head) || len(b)-head-int(l) < crcSize {
		return e, nil, 0, errShortEntry
	}
	n = head + int(l) + crcSize
	if binary.BigEndian.Uint32(b[n-crcSize:]) != crc32.Checksum(b[:n-crcSize], castagnoli) {
		return e, nil, 0, errBadCRC
	}
	e = Entry{
		Series:   binary.BigEndian.Uint64(b),
		MinT:     int64(binary.BigEndian.Uint64(b[8:])),
		MaxT:     int64(binary.BigEndian.Uint64(b[16:])),
		Encoding: chunkenc.Encoding(b[24]),
	}
	switch e.Encoding {
	case chunkenc.EncXOR, chunkenc.EncHistogram, chunkenc.EncFloatHistogram:
	default:
		return e, nil, 0, fmt.Errorf("unknown chunk encoding %d", b[24])
	}
	if e.MinT > e.MaxT {
		return e, nil, 0, fmt.Errorf("min time %d after max time %d", e.MinT, e.MaxT)
	}
	return e, b[head : head+int(l)], n, nil
}

// file is one head chunk file.
type file struct {
	seq  uint32
	name string
	// data is the read-only mapping: of MaxFileSize bytes for a file
	// created by this process, so that it never needs remapping while it
	// grows, and of the file's size for one found at startup. It is nil
	// when the file is read through rf instead.
	data []byte
	// rf reads the file when it is not mapped (a file system without file
	// descriptors, such as the fault-injecting one of the crash tests).
	rf vfs.File
	// size is the number of bytes that reached the file: readers take
	// entries below it from the file and above it from Store.mu.buf.
	// Guarded by Store.mu.
	size int64
	// retiredAt is the reader epoch at which the file was deleted.
	retiredAt uint64
}

// release unmaps or closes the file. The caller guarantees that no reader
// can still reach it.
func (f *file) release() error {
	var err error
	if f.data != nil {
		err = munmap(f.data)
		f.data = nil
	}
	if f.rf != nil {
		if cerr := f.rf.Close(); err == nil {
			err = cerr
		}
		f.rf = nil
	}
	return err
}

// overflowChunk is a chunk kept in memory because it could not be written.
type overflowChunk struct {
	series     uint64
	minT, maxT int64
	enc        chunkenc.Encoding
	data       []byte
	retiredAt  uint64
}

// deferredFunc is a function to run once the readers of epochs up to
// tag are closed (see Store.Defer).
type deferredFunc struct {
	tag uint64
	fn  func()
}

// Store writes and reads the head chunk files of one directory. It is
// safe for concurrent use.
//
// INVARIANT (the prefix rule the head's recovery relies on): for every
// series, the chunks in the files are, in file order, an initial run of
// its chunks in time order. Entries reach the files in the order Write
// accepted them, a failed write is retried from the same offset, and an
// overflow chunk is followed in the files only by chunks of other series
// until the head migrates it (the head sends a series' later chunks to
// overflow too while it has one, see Write's memOnly).
type Store struct {
	dir         string
	fs          vfs.FS
	logger      *slog.Logger
	maxFileSize int64
	bufSize     int

	mu struct {
		sync.RWMutex
		files   map[uint32]*file // live files by sequence
		lastSeq uint32           // highest sequence in use
		cur     *file            // the file being written; nil before the first write after a seal
		w       vfs.File         // write handle of cur
		// buf holds cur's bytes from cur.size on that are not yet written.
		buf []byte
		// seek is set after a failed write moved the file position.
		seek bool
		// failing is set while writes fail, so each episode logs once.
		failing bool

		overflow     map[uint32]*overflowChunk
		nextOverflow uint32

		// Readers, by the epoch they were opened in, and what was deleted
		// while they may still read it (see Reader).
		epoch           uint64
		readers         map[uint64]int
		retiredFiles    []*file
		retiredOverflow map[uint32]*overflowChunk
		deferred        []deferredFunc

		replayed bool
		closed   bool
	}
}

// Open opens the head chunk directory dir, creating it if needed. It does
// not read the files: Replay does, and must be called once before Write.
func Open(dir string, opts Options) (*Store, error) {
	if opts.FS == nil {
		opts.FS = vfs.OS()
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.MaxFileSize == 0 {
		opts.MaxFileSize = DefaultMaxFileSize
	}
	if opts.MaxFileSize < minFileSize || opts.MaxFileSize > 1<<32-1 {
		return nil, fmt.Errorf("headchunks: file size %d out of range [%d, 4GiB)", opts.MaxFileSize, minFileSize)
	}
	if opts.WriteBufferSize <= 0 {
		opts.WriteBufferSize = DefaultWriteBufferSize
	}
	opts.WriteBufferSize = min(opts.WriteBufferSize, int(opts.MaxFileSize))
	if err := opts.FS.MkdirAll(dir, 0o777); err != nil {
		return nil, fmt.Errorf("headchunks: create %s: %w", dir, err)
	}
	s := &Store{
		dir:         dir,
		fs:          opts.FS,
		logger:      opts.Logger,
		maxFileSize: opts.MaxFileSize,
		bufSize:     opts.WriteBufferSize,
	}
	s.mu.files = map[uint32]*file{}
	s.mu.overflow = map[uint32]*overflowChunk{}
	s.mu.retiredOverflow = map[uint32]*overflowChunk{}
	s.mu.readers = map[uint64]int{}
	s.mu.nextOverflow = 1
	return s, nil
}

// Dir returns the directory.
func (s *Store) Dir() string { return s.dir }

// Stats describe a Store for self-metrics.
type Stats struct {
	Files          int
	Bytes          int64 // in files and write buffer
	OverflowChunks int
}

// Stats returns the current figures.
func (s *Store) Stats() Stats {
	s.mu.RLock()
	defer s.mu.RUnlock()
	st := Stats{Files: len(s.mu.files), OverflowChunks: len(s.mu.overflow), Bytes: int64(len(s.mu.buf))}
	for _, f := range s.mu.files {
		st.Bytes += f.size
	}
	return st
}

// CurrentSeq returns the sequence of the file the next chunk goes to if
// it is written now. The head reads it before a truncation: chunks
// written while the truncation runs are in this file or later ones.
func (s *Store) CurrentSeq() uint32 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.mu.cur != nil {
		return s.mu.cur.seq
	}
	return s.mu.lastSeq + 1
}
