package headchunks

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/vigil-monitoring/vigil/internal/tsdb/chunkenc"
)

// Write stores a full chunk of series and returns its reference. The
// entry is buffered and reaches the file with a later write; until then
// readers get it from the buffer. With memOnly, or when the file cannot
// be written (a full disk, say), the chunk becomes an overflow chunk in
// memory; the head passes memOnly for a series that already has one, to
// keep the prefix rule (see Store). Write fails only on a closed Store.
func (s *Store) Write(series uint64, minT, maxT int64, enc chunkenc.Encoding, data []byte, memOnly bool) (Ref, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mu.closed {
		return 0, ErrClosed
	}
	if !memOnly {
		ref, err := s.writeFileLocked(series, minT, maxT, enc, data)
		if err == nil {
			return ref, nil
		}
		s.noteFailureLocked("writing a head chunk file failed; keeping chunks in memory", err)
	}
	return s.addOverflowLocked(&overflowChunk{series: series, minT: minT, maxT: maxT, enc: enc, data: clone(data)}), nil
}

func clone(b []byte) []byte { return append([]byte(nil), b...) }

// noteFailureLocked logs the first failure of an episode.
func (s *Store) noteFailureLocked(msg string, err error) {
	if !s.mu.failing {
		s.mu.failing = true
		s.logger.Warn(msg, "dir", s.dir, "err", err)
	}
}

// writeFileLocked appends an entry to the current file, starting a new
// file when it would not fit.
func (s *Store) writeFileLocked(series uint64, minT, maxT int64, enc chunkenc.Encoding, data []byte) (Ref, error) {
	n := int64(entrySize(len(data)))
	if headerSize+n > s.maxFileSize {
		return 0, fmt.Errorf("chunk of %d bytes does not fit a file of %d", len(data), s.maxFileSize)
	}
	if cur := s.mu.cur; cur == nil || cur.size+int64(len(s.mu.buf))+n > s.maxFileSize {
		if err := s.cutLocked(); err != nil {
			return 0, err
		}
	}
	cur := s.mu.cur
	off := cur.size + int64(len(s.mu.buf))
	s.mu.buf = appendEntry(s.mu.buf, series, minT, maxT, enc, data)
	if len(s.mu.buf) >= s.bufSize {
		// The entry is accepted even if this write fails: it stays in the
		// buffer, readable, and the next write retries it.
		if err := s.flushLocked(); err != nil {
			s.noteFailureLocked("writing a head chunk file failed; will retry", err)
		}
	}
	return NewRef(cur.seq, uint32(off)), nil
}

// flushLocked writes the buffer to the current file. After a failure the
// file may hold a torn prefix of the buffer; the next attempt writes the
// whole buffer again from the same offset.
func (s *Store) flushLocked() error {
	cur := s.mu.cur
	if cur == nil || len(s.mu.buf) == 0 {
		return nil
	}
	if s.mu.seek {
		if _, err := s.mu.w.Seek(cur.size, io.SeekStart); err != nil {
			return err
		}
		s.mu.seek = false
	}
	if _, err := s.mu.w.Write(s.mu.buf); err != nil {
		s.mu.seek = true
		return err
	}
	cur.size += int64(len(s.mu.buf))
	if cap(s.mu.buf) > 2*s.bufSize {
		s.mu.buf = nil // it grew while writes failed
	} else {
		s.mu.buf = s.mu.buf[:0]
	}
	s.mu.failing = false
	return nil
}

// sealLocked writes out and syncs the current file; no chunk goes to it
// afterwards. The sync makes a file durable before any byte of the next
// one is written, which keeps the prefix rule across an operating system
// crash: a later file never survives an earlier file's lost tail.
func (s *Store) sealLocked() error {
	cur := s.mu.cur
	if cur == nil {
		return nil
	}
	if err := s.flushLocked(); err != nil {
		return err
	}
	if err := s.mu.w.Sync(); err != nil {
		return err
	}
	if cur.rf == nil {
		// Mapped: the mapping needs no descriptor.
		if err := s.mu.w.Close(); err != nil {
			return err
		}
	}
	s.mu.cur, s.mu.w = nil, nil
	return nil
}

// cutLocked seals the current file and creates the next one, mapped at
// MaxFileSize so that it never needs remapping while it grows.
func (s *Store) cutLocked() error {
	if !s.mu.replayed {
		return errors.New("headchunks: Write before Replay")
	}
	if err := s.sealLocked(); err != nil {
		return err
	}
	seq := s.mu.lastSeq + 1
	name := s.fileName(seq)
	w, err := s.fs.Create(name)
	if err != nil {
		return err
	}
	f := &file{seq: seq, name: name}
	if fd, ok := w.(interface{ Fd() uintptr }); ok {
		if m, err := mmap(fd.Fd(), int(s.maxFileSize)); err == nil {
			f.data = m
		}
	}
	if f.data == nil {
		f.rf = w
	}
	s.mu.lastSeq = seq
	s.mu.files[seq] = f
	s.mu.cur, s.mu.w, s.mu.seek = f, w, false
	var hdr [headerSize]byte
	binary.BigEndian.PutUint32(hdr[:], magic)
	hdr[4] = version
	s.mu.buf = append(s.mu.buf[:0], hdr[:]...)
	return nil
}

// addOverflowLocked keeps c in memory and returns its reference.
func (s *Store) addOverflowLocked(c *overflowChunk) Ref {
	for {
		key := s.mu.nextOverflow
		s.mu.nextOverflow++
		if s.mu.nextOverflow == 0 {
			s.mu.nextOverflow = 1
		}
		_, live := s.mu.overflow[key]
		_, retired := s.mu.retiredOverflow[key]
		if !live && !retired {
			s.mu.overflow[key] = c
			return NewRef(0, key)
		}
	}
}

// Migrate writes overflow chunk ref to a file and returns its new
// reference. ok is false when ref is not an overflow chunk or the write
// failed; the chunk then stays where it is. The caller moves a series'
// overflow chunks oldest first and stops at the first failure.
func (s *Store) Migrate(ref Ref) (newRef Ref, ok bool) {
	if !ref.InMemory() {
		return ref, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.mu.overflow[ref.Offset()]
	if c == nil || s.mu.closed {
		return ref, false
	}
	newRef, err := s.writeFileLocked(c.series, c.minT, c.maxT, c.enc, c.data)
	if err != nil {
		s.noteFailureLocked("moving in-memory head chunks to a file failed", err)
		return ref, false
	}
	s.retireOverflowLocked(ref.Offset())
	return newRef, true
}

// Release tells the store that the head no longer references ref. Only
// overflow chunks are freed this way (files go whole, see Truncate), and
// not before the readers that may hold them are closed.
func (s *Store) Release(ref Ref) {
	if !ref.InMemory() {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.mu.overflow[ref.Offset()]; ok {
		s.retireOverflowLocked(ref.Offset())
		s.releaseRetiredLocked()
	}
}

func (s *Store) retireOverflowLocked(key uint32) {
	c := s.mu.overflow[key]
	delete(s.mu.overflow, key)
	c.retiredAt = s.mu.epoch
	s.mu.retiredOverflow[key] = c
	s.mu.epoch++
}

// Truncate deletes the files before sequence before, except one still
// being written, and seals the file being written so that a later
// truncation can delete it. The head passes the lowest sequence any
// series still references (and at most CurrentSeq as read before it
// dropped chunks, for chunks written meanwhile). Deleted files stay
// mapped until the readers that may read them are closed.
func (s *Store) Truncate(before uint32) (deleted int, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mu.closed {
		return 0, ErrClosed
	}
	var errs []error
	for seq, f := range s.mu.files {
		if seq >= before || f == s.mu.cur {
			continue
		}
		delete(s.mu.files, seq)
		f.retiredAt = s.mu.epoch
		s.mu.retiredFiles = append(s.mu.retiredFiles, f)
		deleted++
		// Removing a mapped file is fine: the mapping keeps the pages.
		if err := s.fs.Remove(f.name); err != nil {
			errs = append(errs, fmt.Errorf("delete %s: %w", f.name, err))
		}
	}
	if deleted > 0 {
		s.mu.epoch++
	}
	if cur := s.mu.cur; cur != nil && cur.size+int64(len(s.mu.buf)) > headerSize {
		if err := s.sealLocked(); err != nil {
			errs = append(errs, fmt.Errorf("seal %s: %w", cur.name, err))
		}
	}
	s.releaseRetiredLocked()
	if len(errs) > 0 {
		return deleted, fmt.Errorf("headchunks: truncate: %w", errors.Join(errs...))
	}
	return deleted, nil
}

// Flush writes buffered entries to the file.
func (s *Store) Flush() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mu.closed {
		return ErrClosed
	}
	return s.flushLocked()
}

// Close writes out and syncs the current file and unmaps every file. No
// Reader may be used afterwards. It releases everything even when
// writing fails (after a crash, say), and reports the failure.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mu.closed {
		return nil
	}
	s.mu.closed = true
	var errs []error
	if s.mu.cur != nil {
		if err := s.sealLocked(); err != nil {
			errs = append(errs, err)
			if s.mu.cur.rf == nil {
				s.mu.w.Close()
			}
			s.mu.cur, s.mu.w = nil, nil
		}
	}
	for _, f := range s.mu.files {
		if err := f.release(); err != nil {
			errs = append(errs, err)
		}
	}
	for _, f := range s.mu.retiredFiles {
		if err := f.release(); err != nil {
			errs = append(errs, err)
		}
	}
	clear(s.mu.files)
	s.mu.retiredFiles = nil
	clear(s.mu.overflow)
	clear(s.mu.retiredOverflow)
	s.mu.deferred = nil // nothing can read any more: they need not run
	s.mu.buf = nil
	if len(errs) > 0 {
		return fmt.Errorf("headchunks: close: %w", errors.Join(errs...))
	}
	return nil
}
