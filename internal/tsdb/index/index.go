// Package index owns a block's index file (`<block>/index`, layout in
// docs/format/index.md): the Writer that builds it from series in label
// order, the Reader that serves symbol, series, postings and label
// lookups from a read-only mapping of it, and the postings iterators
// (intersect, merge, without) with PostingsForMatchers, which turns label
// matchers into the ascending series references of a block.
//
// Series references are the offset of the series entry divided by 16, so
// they ascend in label order: walking a postings list yields series
// sorted by labels, which is what lets a block serve sorted Selects
// without sorting.
package index

import (
	"encoding/binary"
	"hash/crc32"

	"github.com/vigil-monitoring/vigil/internal/tsdb/chunks"
)

// Format constants (docs/format/index.md).
const (
	// MagicIndex starts the file ("VGIX").
	MagicIndex = 0x56474958
	// FormatVersion is the only version this package reads and writes.
	FormatVersion = 1
	// HeaderSize is magic, version and three zero bytes.
	HeaderSize = 8
	// TOCSize is four 8-byte section offsets and their CRC.
	TOCSize = 4*8 + 4
	// SeriesAlignment is the alignment of series entries; a series
	// reference is its entry's offset divided by it.
	SeriesAlignment = 16
	// postingsSkipThreshold is the list length above which a list carries
	// a skip table, with one entry per postingsSkipStep entries.
	postingsSkipThreshold = 256
	postingsSkipStep      = 128
	// tableSampleStep is how many postings table entries of one name the
	// reader keeps in memory: one in this many, plus the last.
	tableSampleStep = 32
	// symbolSampleStep is how many symbols share one remembered offset.
	symbolSampleStep = 16
	// maxSectionLen is what the 4-byte section length can express.
	maxSectionLen = 1<<32 - 1
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// TOC holds the offsets of the four sections (each the position of the
// section's length field).
type TOC struct {
	Symbols, Series, Postings, PostingsTable uint64
}

func (t TOC) appendTo(b []byte) []byte {
	start := len(b)
	b = binary.BigEndian.AppendUint64(b, t.Symbols)
	b = binary.BigEndian.AppendUint64(b, t.Series)
	b = binary.BigEndian.AppendUint64(b, t.Postings)
	b = binary.BigEndian.AppendUint64(b, t.PostingsTable)
	return binary.BigEndian.AppendUint32(b, crc32.Checksum(b[start:], castagnoli))
}

// corrupt builds a corruption error for the index file.
func corrupt(file string, off int, format string, args ...any) error {
	return chunks.Corruptf(file, int64(off), format, args...)
}

// decbuf reads varints from a byte slice, remembering the first error, so
// decoders check bounds once per structure instead of per field.
//
// INVARIANT: after the first failure, every read returns zero and failed
// stays true.
type decbuf struct {
	b      []byte
	failed bool
}

func (d *decbuf) uvarint() uint64 {
	if d.failed {
		return 0
	}
	x, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.failed = true
		return 0
	}
	d.b = d.b[n:]
	return x
}

func (d *decbuf) varint() int64 {
	if d.failed {
		return 0
	}
	x, n := binary.Varint(d.b)
	if n <= 0 {
		d.failed = true
		return 0
	}
	d.b = d.b[n:]
	return x
}

// bytes reads a uvarint length and that many bytes.
func (d *decbuf) bytes() []byte {
	n := d.uvarint()
	if d.failed || n > uint64(len(d.b)) {
		d.failed = true
		return nil
	}
	s := d.b[:n]
	d.b = d.b[n:]
	return s
}
