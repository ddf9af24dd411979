package headchunks

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"slices"
	"strconv"
)

// fileName returns the path of file seq.
func (s *Store) fileName(seq uint32) string {
	return filepath.Join(s.dir, fmt.Sprintf("%06d", seq))
}

// listFiles returns the sequences of the files in dir, ascending. Names
// that are not all decimal digits are not head chunk files and are left
// alone.
func (s *Store) listFiles() ([]uint32, error) {
	ents, err := s.fs.ReadDir(s.dir)
	if err != nil {
		return nil, err
	}
	var seqs []uint32
	for _, e := range ents {
		if e.IsDir() || len(e.Name()) < 6 {
			continue
		}
		seq, err := strconv.ParseUint(e.Name(), 10, 32)
		if err != nil || seq == 0 {
			continue
		}
		seqs = append(seqs, uint32(seq))
	}
	slices.Sort(seqs)
	return seqs, nil
}

// ReplayStats summarise a Replay.
type ReplayStats struct {
	Files, Chunks int
	// Corruption is the first bad entry found, nil when there was none.
	// The file was cut there and every later file deleted.
	Corruption *CorruptionError
}

// Replay reads every file in sequence order and calls fn for each chunk.
// At the first entry that is incomplete or fails its checksum it cuts
// that file there and deletes every later file, so what remains obeys the
// prefix rule (see Store). It fails with a *FormatError for a file of an
// unknown format, and with the error of any I/O that fails.
func (s *Store) Replay(fn func(Entry)) (ReplayStats, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var st ReplayStats
	if s.mu.replayed {
		return st, errors.New("headchunks: Replay called twice")
	}
	seqs, err := s.listFiles()
	if err != nil {
		return st, fmt.Errorf("headchunks: list %s: %w", s.dir, err)
	}
	for i, seq := range seqs {
		f, content, err := s.openForReplay(seq)
		if err != nil {
			return st, err
		}
		if err := checkHeader(f.name, content); err != nil {
			f.release()
			return st, err
		}
		cut := s.scan(f, content, fn, &st)
		if cut < 0 {
			s.mu.files[seq] = f
			s.mu.lastSeq = seq
			st.Files++
			continue
		}
		// Delete the later files before cutting this one: a crash in
		// between then finds the same corruption again rather than a
		// clean cut followed by files that continue past lost entries.
		if err := s.dropFiles(seqs[i+1:]); err != nil {
			f.release()
			return st, err
		}
		if cut < headerSize {
			// Not even the header made it: the file was being created.
			f.release()
			if err := s.fs.Remove(f.name); err != nil {
				return st, fmt.Errorf("headchunks: remove torn file: %w", err)
			}
			break
		}
		if err := s.fs.Truncate(f.name, cut); err != nil {
			f.release()
			return st, fmt.Errorf("headchunks: cut torn tail: %w", err)
		}
		f.size = cut
		s.mu.files[seq] = f
		s.mu.lastSeq = seq
		st.Files++
		break
	}
	if st.Corruption != nil {
		s.logger.Warn("head chunk file has a torn or corrupt tail; cut it there and deleted later files (the WAL holds their samples)",
			"file", st.Corruption.File, "offset", st.Corruption.Offset, "err", st.Corruption.Err)
	}
	s.mu.replayed = true
	return st, nil
}

// openForReplay opens file seq for reading and returns its content: the
// mapping when it can be mapped, else a copy read through the file.
func (s *Store) openForReplay(seq uint32) (*file, []byte, error) {
	name := s.fileName(seq)
	rf, err := s.fs.Open(name)
	if err != nil {
		return nil, nil, fmt.Errorf("headchunks: open %s: %w", name, err)
	}
	fi, err := rf.Stat()
	if err != nil {
		rf.Close()
		return nil, nil, fmt.Errorf("headchunks: stat %s: %w", name, err)
	}
	f := &file{seq: seq, name: name, size: fi.Size()}
	if f.size > 0 {
		if fd, ok := rf.(interface{ Fd() uintptr }); ok {
			if m, err := mmap(fd.Fd(), int(f.size)); err == nil {
				f.data = m
				rf.Close()
				return f, m, nil
			}
		}
	}
	f.rf = rf
	content, err := io.ReadAll(io.NewSectionReader(rf, 0, f.size))
	if err != nil {
		rf.Close()
		return nil, nil, fmt.Errorf("headchunks: read %s: %w", name, err)
	}
	return f, content, nil
}

// scan reports f's entries to fn and returns the offset of the first bad
// entry, or -1 when the whole file is good. The header was checked by
// checkHeader; a torn one is a bad entry at offset 0.
func (s *Store) scan(f *file, b []byte, fn func(Entry), st *ReplayStats) int64 {
	if len(b) < headerSize || binary.BigEndian.Uint32(b) == 0 {
		st.Corruption = &CorruptionError{File: f.name, Offset: 0, Err: errors.New("torn file header")}
		return 0
	}
	off := int64(headerSize)
	for off < int64(len(b)) {
		e, _, n, err := parseEntry(b[off:])
		if err != nil {
			st.Corruption = &CorruptionError{File: f.name, Offset: off, Err: err}
			return off
		}
		e.Ref = NewRef(f.seq, uint32(off))
		fn(e)
		st.Chunks++
		off += int64(n)
	}
	return -1
}

// checkHeader returns a *FormatError when b starts with a header this
// version does not write. A short or zero header is not a format error:
// it is a file whose creation was torn.
func checkHeader(name string, b []byte) error {
	if len(b) < headerSize || binary.BigEndian.Uint32(b) == 0 {
		return nil
	}
	if m := binary.BigEndian.Uint32(b); m != magic || b[4] != version {
		return &FormatError{File: name, Magic: m, Version: b[4]}
	}
	return nil
}

// dropFiles deletes files that follow a corruption and makes the
// deletions durable before the corrupt file is cut.
func (s *Store) dropFiles(seqs []uint32) error {
	if len(seqs) == 0 {
		return nil
	}
	for _, seq := range slices.Backward(seqs) {
		if err := s.fs.Remove(s.fileName(seq)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("headchunks: delete file after corruption: %w", err)
		}
	}
	if err := s.fs.SyncDir(s.dir); err != nil {
		return fmt.Errorf("headchunks: sync %s: %w", s.dir, err)
	}
	return nil
}
