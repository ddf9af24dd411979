package headchunks

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/vigil-monitoring/vigil/internal/tsdb/chunkenc"
)

// Reader reads chunks. Chunks it returns may alias a file mapping and
// stay valid until Close.
//
// INVARIANT (why a mapping is never unmapped under a reader): every
// reader belongs to the epoch current when it was opened; deleting a file
// or freeing an overflow chunk tags it with the current epoch and then
// advances the epoch. A tagged file or chunk is released only once no
// open reader has an epoch at or below its tag, and a reader reaches a
// tagged one only if its own epoch is at or below the tag. Readers opened
// later cannot have learnt its reference: the head drops references
// before it deletes what they point to.
type Reader struct {
	s      *Store
	epoch  uint64
	closed bool
}

// Reader opens a reader. It must be closed, or deleted files stay mapped
// and their disk space stays in use.
func (s *Store) Reader() *Reader {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mu.readers[s.mu.epoch]++
	return &Reader{s: s, epoch: s.mu.epoch}
}

// Close releases the reader. Chunks it returned must not be used
// afterwards.
func (r *Reader) Close() {
	if r.closed {
		return
	}
	r.closed = true
	s := r.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mu.readers[r.epoch]--; s.mu.readers[r.epoch] == 0 {
		delete(s.mu.readers, r.epoch)
	}
	s.releaseRetiredLocked()
}

// Defer runs fn once every Reader open now is closed: at once if there
// is none, else from the Close of the last of them (fn must not call back
// into the Store). The head uses it for what readers may still reach
// besides chunks, such as the symbols of deleted series' labels.
func (s *Store) Defer(fn func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mu.deferred = append(s.mu.deferred, deferredFunc{tag: s.mu.epoch, fn: fn})
	s.mu.epoch++
	s.releaseRetiredLocked()
}

// releaseRetiredLocked releases deleted files and freed overflow chunks
// that no open reader can reach any more, and runs deferred functions
// whose readers are gone.
func (s *Store) releaseRetiredLocked() {
	if len(s.mu.retiredFiles) == 0 && len(s.mu.retiredOverflow) == 0 && len(s.mu.deferred) == 0 {
		return
	}
	oldest := uint64(math.MaxUint64)
	for e := range s.mu.readers {
		oldest = min(oldest, e)
	}
	kept := s.mu.retiredFiles[:0]
	for _, f := range s.mu.retiredFiles {
		if f.retiredAt >= oldest {
			kept = append(kept, f)
			continue
		}
		if err := f.release(); err != nil {
			s.logger.Warn("unmapping a deleted head chunk file failed", "file", f.name, "err", err)
		}
	}
	clear(s.mu.retiredFiles[len(kept):])
	s.mu.retiredFiles = kept
	for key, c := range s.mu.retiredOverflow {
		if c.retiredAt < oldest {
			delete(s.mu.retiredOverflow, key)
		}
	}
	keptFns := s.mu.deferred[:0]
	for _, d := range s.mu.deferred {
		if d.tag >= oldest {
			keptFns = append(keptFns, d)
			continue
		}
		d.fn()
	}
	clear(s.mu.deferred[len(keptFns):])
	s.mu.deferred = keptFns
}

// ErrNotFound is returned for a reference to a chunk that is gone.
var ErrNotFound = errors.New("headchunks: chunk not found")

// Chunk returns the chunk ref points to. Its bytes alias the file's
// mapping when the file is mapped; otherwise they are a copy.
func (r *Reader) Chunk(ref Ref) (chunkenc.Chunk, error) {
	enc, data, err := r.read(ref)
	if err != nil {
		return nil, err
	}
	return chunkenc.FromData(enc, data)
}

// ChunkData returns the encoding and bytes of the chunk ref points to, as
// Chunk would but without wrapping them in a chunk: readers that only
// iterate pass them to chunkenc.IteratorFromData, which reuses an
// iterator without allocating.
func (r *Reader) ChunkData(ref Ref) (chunkenc.Encoding, []byte, error) {
	return r.read(ref)
}

func (r *Reader) read(ref Ref) (chunkenc.Encoding, []byte, error) {
	if r.closed {
		return 0, nil, errors.New("headchunks: read through a closed reader")
	}
	s := r.s
	seq, off := ref.Seq(), int64(ref.Offset())
	s.mu.RLock()
	if seq == 0 {
		c := s.mu.overflow[uint32(off)]
		if c == nil {
			if rc := s.mu.retiredOverflow[uint32(off)]; rc != nil && r.epoch <= rc.retiredAt {
				c = rc
			}
		}
		s.mu.RUnlock()
		if c == nil {
			return 0, nil, fmt.Errorf("%w: overflow chunk %d", ErrNotFound, off)
		}
		return c.enc, c.data, nil
	}
	f := s.mu.files[seq]
	if f == nil {
		for _, rf := range s.mu.retiredFiles {
			if rf.seq == seq && r.epoch <= rf.retiredAt {
				f = rf
				break
			}
		}
	}
	if f == nil {
		s.mu.RUnlock()
		return 0, nil, fmt.Errorf("%w: %v (file deleted)", ErrNotFound, ref)
	}
	if off >= f.size {
		// Still in the write buffer, which only the file being written has.
		defer s.mu.RUnlock()
		if f != s.mu.cur || off-f.size >= int64(len(s.mu.buf)) {
			return 0, nil, fmt.Errorf("%w: %v beyond the end of %s", ErrNotFound, ref, f.name)
		}
		e, data, _, err := parseEntry(s.mu.buf[off-f.size:])
		if err != nil {
			return 0, nil, &CorruptionError{File: f.name, Offset: off, Err: err}
		}
		return e.Encoding, clone(data), nil
	}
	data, rf, size := f.data, f.rf, f.size
	s.mu.RUnlock()
	if data != nil {
		e, b, _, err := parseEntry(data[off:size])
		if err != nil {
			return 0, nil, &CorruptionError{File: f.name, Offset: off, Err: err}
		}
		return e.Encoding, b, nil
	}
	return readAt(rf, f.name, off, size)
}

// readAt reads the entry at off through a file handle, for files that are
// not mapped. It reads the head of the entry first to learn its length.
func readAt(rf interface {
	ReadAt([]byte, int64) (int, error)
}, name string, off, size int64) (chunkenc.Encoding, []byte, error) {
	head := make([]byte, min(int64(maxEntryHead), size-off))
	if _, err := rf.ReadAt(head, off); err != nil {
		return 0, nil, fmt.Errorf("headchunks: read %s: %w", name, err)
	}
	l, k := uvarintAt(head)
	if k <= 0 {
		return 0, nil, &CorruptionError{File: name, Offset: off, Err: errors.New("malformed data length")}
	}
	n := int64(fixedSize+k) + int64(l) + crcSize
	if n > size-off {
		return 0, nil, &CorruptionError{File: name, Offset: off, Err: errShortEntry}
	}
	buf := make([]byte, n)
	if _, err := rf.ReadAt(buf, off); err != nil {
		return 0, nil, fmt.Errorf("headchunks: read %s: %w", name, err)
	}
	e, data, _, err := parseEntry(buf)
	if err != nil {
		return 0, nil, &CorruptionError{File: name, Offset: off, Err: err}
	}
	return e.Encoding, data, nil
}

// uvarintAt decodes the data length of the entry head b, returning k <= 0
// when it is malformed or longer than an entry allows.
func uvarintAt(b []byte) (uint64, int) {
	if len(b) <= fixedSize {
		return 0, 0
	}
	l, k := binary.Uvarint(b[fixedSize:])
	if k > 5 {
		return 0, -1
	}
	return l, k
}
