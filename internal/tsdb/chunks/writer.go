package chunks

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"path/filepath"

	"github.com/vigil-monitoring/vigil/internal/tsdb/vfs"
)

// SegmentName returns the file name of segment number seq.
func SegmentName(dir string, seq uint32) string {
	return filepath.Join(dir, fmt.Sprintf("%06d", seq))
}

// Writer appends chunks to the segment files of one block's chunk
// directory. It is not safe for concurrent use.
//
// INVARIANT: while a segment is open, off is the number of bytes written
// to it (header included) and the buffered writer holds those not yet
// handed to the file.
type Writer struct {
	fs      vfs.FS
	dir     string
	segSize int64

	seq uint32
	f   vfs.File
	bw  *bufio.Writer
	off int64

	hdr [binary.MaxVarintLen64 + 1]byte
	err error
}

// NewWriter creates dir and returns a writer whose segments grow to at
// most segmentSize bytes (DefaultSegmentSize when 0 or negative).
func NewWriter(fsys vfs.FS, dir string, segmentSize int64) (*Writer, error) {
	if segmentSize <= 0 {
		segmentSize = DefaultSegmentSize
	}
	if segmentSize > 1<<32 {
		return nil, fmt.Errorf("chunks: segment size %d does not fit a 32-bit offset", segmentSize)
	}
	if err := fsys.MkdirAll(dir, 0o777); err != nil {
		return nil, err
	}
	return &Writer{fs: fsys, dir: dir, segSize: segmentSize}, nil
}

// WriteChunks writes the chunks of ms in order and sets each one's Ref.
// Their Chunk fields must be set. After an error the writer is unusable.
func (w *Writer) WriteChunks(ms ...Meta) error {
	for i := range ms {
		if err := w.writeChunk(&ms[i]); err != nil {
			w.err = err
			return err
		}
	}
	return nil
}

func (w *Writer) writeChunk(m *Meta) error {
	if w.err != nil {
		return w.err
	}
	if m.Chunk == nil {
		return errors.New("chunks: WriteChunks given a meta without a chunk")
	}
	data := m.Chunk.Bytes()
	n := binary.PutUvarint(w.hdr[:], uint64(len(data)))
	w.hdr[n] = byte(m.Chunk.Encoding())
	hdr := w.hdr[:n+1]
	size := int64(len(hdr) + len(data) + crcSize)
	if size > w.segSize-SegmentHeaderSize {
		return fmt.Errorf("chunks: chunk of %d bytes does not fit a segment of %d bytes", len(data), w.segSize)
	}
	if w.f == nil || w.off+size > w.segSize {
		if err := w.cut(); err != nil {
			return err
		}
	}
	m.Ref = NewChunkRef(w.seq, uint32(w.off))
	crc := crc32.Update(0, castagnoli, hdr[n:])
	crc = crc32.Update(crc, castagnoli, data)
	var sum [crcSize]byte
	binary.BigEndian.PutUint32(sum[:], crc)
	for _, b := range [][]byte{hdr, data, sum[:]} {
		if _, err := w.bw.Write(b); err != nil {
			return err
		}
	}
	w.off += size
	return nil
}

// cut finishes the open segment, if any, and starts the next one.
func (w *Writer) cut() error {
	if err := w.finishSegment(); err != nil {
		return err
	}
	w.seq++
	f, err := w.fs.Create(SegmentName(w.dir, w.seq))
	if err != nil {
		return err
	}
	w.f = f
	if w.bw == nil {
		w.bw = bufio.NewWriterSize(f, 1<<20)
	} else {
		w.bw.Reset(f)
	}
	var hdr [SegmentHeaderSize]byte
	binary.BigEndian.PutUint32(hdr[:], MagicChunks)
	hdr[4] = FormatVersion
	if _, err := w.bw.Write(hdr[:]); err != nil {
		return err
	}
	w.off = SegmentHeaderSize
	return nil
}

// finishSegment flushes, fsyncs and closes the open segment: a finished
// segment is durable before the next one starts, so Close has only the
// last to sync.
func (w *Writer) finishSegment() error {
	if w.f == nil {
		return nil
	}
	f := w.f
	w.f = nil
	if err := w.bw.Flush(); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// Close finishes the last segment and fsyncs the directory. A writer that
// wrote nothing leaves an empty directory: a block without float or
// histogram chunks is still well formed.
func (w *Writer) Close() error {
	if w.err != nil {
		if w.f != nil {
			w.f.Close()
			w.f = nil
		}
		return w.err
	}
	if err := w.finishSegment(); err != nil {
		w.err = err
		return err
	}
	w.err = errors.New("chunks: writer closed")
	return w.fs.SyncDir(w.dir)
}

// Segments returns the number of segment files written so far.
func (w *Writer) Segments() int { return int(w.seq) }
