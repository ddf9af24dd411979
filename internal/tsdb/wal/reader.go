package wal

import (
	"errors"
	"fmt"
	"hash/crc32"
	"io"

	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/zstd"

	"github.com/vigil-monitoring/vigil/internal/tsdb/vfs"
)

// CorruptionError reports a record that cannot be read. Offset is the
// byte offset, in the segment, of the first fragment of that record: the
// point Repair cuts at.
type CorruptionError struct {
	Dir     string
	Segment int
	Offset  int64
	Err     error
}

func (e *CorruptionError) Error() string {
	return fmt.Sprintf("wal: corruption in segment %s at offset %d: %v", SegmentName(e.Dir, e.Segment), e.Offset, e.Err)
}

func (e *CorruptionError) Unwrap() error { return e.Err }

// maxDecodedRatio bounds how much a compressed record may expand, so a
// corrupt length header cannot make the reader allocate gigabytes.
const maxDecodedRatio = 64

// Reader reads the records of a sequence of segments in order.
type Reader struct {
	fs   vfs.FS
	dir  string
	segs []int
	next int // index into segs of the next segment to open

	f       vfs.File
	seg     int // segment being read
	page    []byte
	pageLen int   // valid bytes in page
	pagePos int   // read position in page
	pageOff int64 // file offset of page[0]

	rec      []byte // the assembled record as stored
	dbuf     []byte // decompression buffer, never aliasing rec
	out      []byte // the record returned: rec or dbuf
	recStart int64
	err      error
	zdec     *zstd.Decoder
}

// NewReader returns a reader over the segments of dir with indexes in
// [from, to]; to < 0 means through the last segment.
func NewReader(fsys vfs.FS, dir string, from, to int) (*Reader, error) {
	segs, err := Segments(fsys, dir)
	if err != nil {
		return nil, err
	}
	var sel []int
	for _, s := range segs {
		if s >= from && (to < 0 || s <= to) {
			sel = append(sel, s)
		}
	}
	return &Reader{fs: fsys, dir: dir, segs: sel, page: make([]byte, PageSize), seg: -1}, nil
}

// Segment returns the segment of the current record.
func (r *Reader) Segment() int { return r.seg }

// Offset returns the offset of the current record in its segment.
func (r *Reader) Offset() int64 { return r.recStart }

// Record returns the current record; it is valid until the next Next.
func (r *Reader) Record() []byte { return r.out }

// Err returns the error that ended reading: nil at a clean end, a
// *CorruptionError for bad data, or an I/O error.
func (r *Reader) Err() error { return r.err }

// Close releases the open segment.
func (r *Reader) Close() error {
	if r.zdec != nil {
		r.zdec.Close()
		r.zdec = nil
	}
	if r.f != nil {
		err := r.f.Close()
		r.f = nil
		return err
	}
	return nil
}

func (r *Reader) corrupt(off int64, format string, args ...any) bool {
	r.err = &CorruptionError{Dir: r.dir, Segment: r.seg, Offset: off, Err: fmt.Errorf(format, args...)}
	return false
}

// openNext opens the next segment; it returns false at the end.
func (r *Reader) openNext() bool {
	if r.f != nil {
		r.f.Close()
		r.f = nil
	}
	if r.next >= len(r.segs) {
		return false
	}
	r.seg = r.segs[r.next]
	r.next++
	f, err := r.fs.Open(SegmentName(r.dir, r.seg))
	if err != nil {
		r.err = err
		return false
	}
	r.f = f
	r.pageLen, r.pagePos, r.pageOff = 0, 0, 0
	return true
}

// loadPage reads the next page of the segment. It returns false at the end
// of the segment (with r.err unset) or on an I/O error.
func (r *Reader) loadPage() bool {
	r.pageOff += int64(r.pageLen)
	if r.pageLen != 0 && r.pageLen < PageSize {
		return false // the previous page was partial: the file ended there
	}
	n, err := io.ReadFull(r.f, r.page)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		r.err = err
		return false
	}
	r.pageLen, r.pagePos = n, 0
	return n > 0
}

// Next advances to the next record.
func (r *Reader) Next() bool {
	if r.err != nil {
		return false
	}
	r.rec = r.rec[:0]
	assembling := false
	if r.f == nil && !r.openNext() {
		return false
	}
	for {
		if r.pagePos >= r.pageLen {
			if !r.loadPage() {
				if r.err != nil {
					return false
				}
				if assembling {
					return r.corrupt(r.recStart, "segment ends inside a record (torn write)")
				}
				if !r.openNext() {
					return false
				}
				continue
			}
		}
		off := r.pageOff + int64(r.pagePos)
		if PageSize-r.pagePos < headerSize+1 || r.page[r.pagePos] == kindPadding {
			// Padding: the rest of the page must be zeros.
			for _, c := range r.page[r.pagePos:r.pageLen] {
				if c != 0 {
					return r.corrupt(off, "non-zero bytes in page padding")
				}
			}
			r.pagePos = r.pageLen
			continue
		}
		if r.pageLen-r.pagePos < headerSize {
			if assembling {
				off = r.recStart
			}
			return r.corrupt(off, "fragment header cut short (torn write)")
		}
		h := r.page[r.pagePos : r.pagePos+headerSize]
		kind, comp := h[0]&7, Compression(h[0]>>3&3)
		if h[0]>>5 != 0 || kind > kindLast {
			return r.corrupt(r.errOff(assembling, off), "invalid fragment type byte %#x", h[0])
		}
		length := int(h[1])<<8 | int(h[2])
		crc := uint32(h[3])<<24 | uint32(h[4])<<16 | uint32(h[5])<<8 | uint32(h[6])
		end := r.pagePos + headerSize + length
		if end > r.pageLen {
			if r.pageLen < PageSize {
				return r.corrupt(r.errOff(assembling, off), "fragment cut short (torn write)")
			}
			return r.corrupt(r.errOff(assembling, off), "fragment of %d bytes overruns its page", length)
		}
		data := r.page[r.pagePos+headerSize : end]
		if length == 0 {
			return r.corrupt(r.errOff(assembling, off), "empty fragment")
		}
		if crc32.Checksum(data, castagnoli) != crc {
			return r.corrupt(r.errOff(assembling, off), "fragment checksum mismatch")
		}
		switch kind {
		case kindFull, kindFirst:
			if assembling {
				return r.corrupt(r.recStart, "record interrupted by a new record")
			}
			r.recStart = off
			assembling = kind == kindFirst
		case kindMiddle, kindLast:
			if !assembling {
				return r.corrupt(off, "continuation fragment without a first fragment")
			}
			if kind == kindLast {
				assembling = false
			}
		}
		r.rec = append(r.rec, data...)
		r.pagePos = end
		if !assembling {
			return r.finish(comp)
		}
	}
}

func (r *Reader) errOff(assembling bool, off int64) int64 {
	if assembling {
		return r.recStart
	}
	return off
}

// finish decompresses the assembled record into r.out.
func (r *Reader) finish(comp Compression) bool {
	switch comp {
	case CompressionNone:
		r.out = r.rec
	case CompressionSnappy:
		n, err := s2.DecodedLen(r.rec)
		if err != nil || n > maxDecodedRatio*len(r.rec)+1024 {
			return r.corrupt(r.recStart, "bad snappy record header")
		}
		out, err := s2.Decode(r.dbuf[:cap(r.dbuf)], r.rec)
		if err != nil {
			return r.corrupt(r.recStart, "snappy: %v", err)
		}
		r.dbuf, r.out = out, out
	case CompressionZstd:
		if r.zdec == nil {
			d, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(64<<20))
			if err != nil {
				r.err = err
				return false
			}
			r.zdec = d
		}
		out, err := r.zdec.DecodeAll(r.rec, r.dbuf[:0])
		if err != nil {
			return r.corrupt(r.recStart, "zstd: %v", err)
		}
		r.dbuf, r.out = out, out
	default:
		return r.corrupt(r.recStart, "unknown compression %d", comp)
	}
	if len(r.out) == 0 {
		return r.corrupt(r.recStart, "empty record")
	}
	return true
}
