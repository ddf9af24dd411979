package chunks

import (
	"fmt"
	"io"

	"github.com/vigil-monitoring/vigil/internal/tsdb/vfs"
)

// Mapping is a whole file made readable as a byte slice: a read-only
// memory map when the file system hands out OS files, otherwise (a fault
// injecting FS in tests, or a platform without mmap) a copy read into
// memory. Block files are immutable once written, so readers may alias
// the bytes freely until Close.
type Mapping struct {
	name  string
	b     []byte
	unmap func([]byte) error
}

// fder is what an *os.File offers and a wrapped test file does not.
type fder interface{ Fd() uintptr }

// MapFile maps the named file for reading.
func MapFile(fsys vfs.FS, name string) (*Mapping, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	size := fi.Size()
	if size != int64(int(size)) {
		return nil, fmt.Errorf("%s: file of %d bytes too large to map", name, size)
	}
	if fd, ok := f.(fder); ok && size > 0 {
		b, err := mmap(fd.Fd(), int(size))
		if err == nil {
			return &Mapping{name: name, b: b, unmap: munmap}, nil
		}
		// Fall through to reading: mmap can fail on exotic file systems.
	}
	b := make([]byte, size)
	if _, err := io.ReadFull(io.NewSectionReader(f, 0, size), b); err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	return &Mapping{name: name, b: b}, nil
}

// Bytes returns the file's content. It is valid until Close.
func (m *Mapping) Bytes() []byte { return m.b }

// Name returns the file name the mapping was made from.
func (m *Mapping) Name() string { return m.name }

// Close releases the mapping. The bytes must not be used afterwards.
func (m *Mapping) Close() error {
	b := m.b
	m.b = nil
	if m.unmap != nil && b != nil {
		return m.unmap(b)
	}
	return nil
}
