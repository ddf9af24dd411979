package index

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"slices"
	"strings"

	"github.com/vigil-monitoring/vigil/internal/model/labels"
	"github.com/vigil-monitoring/vigil/internal/tsdb/chunks"
	"github.com/vigil-monitoring/vigil/internal/tsdb/vfs"
)

// Writer builds an index file. Series are added in strictly increasing
// label order with their chunk metas; Close writes the file.
//
// The symbol table comes first in the file but is only known once every
// series has been seen, so AddSeries spools series (labels as strings,
// chunk metas) to a temporary file next to the index, and Close writes
// the symbols and then rewrites the spool as series entries. That keeps
// memory to the distinct symbols plus the postings lists, and lets
// callers stream series from any sorted source in one pass.
type Writer struct {
	fs        vfs.FS
	path      string
	spoolPath string
	spool     vfs.File
	spoolW    *bufio.Writer

	// symbols holds every label name and value seen, owned copies.
	symbols map[string]struct{}
	last    labels.Labels
	nSeries int
	buf     []byte
	err     error
	closed  bool
}

// NewWriter starts an index at path (through fsys). Nothing is written at
// path until Close.
func NewWriter(fsys vfs.FS, path string) (*Writer, error) {
	spoolPath := path + ".spool"
	f, err := fsys.Create(spoolPath)
	if err != nil {
		return nil, err
	}
	return &Writer{
		fs: fsys, path: path, spoolPath: spoolPath, spool: f,
		spoolW:  bufio.NewWriterSize(f, 1<<20),
		symbols: map[string]struct{}{},
	}, nil
}

// AddSeries adds a series. lset must sort strictly after the previous
// series' labels and must not be empty; chks must be in time order,
// non-overlapping, with MinT <= MaxT.
func (w *Writer) AddSeries(lset labels.Labels, chks ...chunks.Meta) error {
	if w.err != nil {
		return w.err
	}
	if lset.IsEmpty() {
		return w.fail(errors.New("index: series with no labels"))
	}
	if w.nSeries > 0 && labels.Compare(lset, w.last) <= 0 {
		return w.fail(fmt.Errorf("index: series %s added after %s, out of order", lset, w.last))
	}
	for i, c := range chks {
		if c.MaxT < c.MinT || (i > 0 && c.MinT <= chks[i-1].MaxT) {
			return w.fail(fmt.Errorf("index: series %s: chunk %d [%d, %d] out of order", lset, i, c.MinT, c.MaxT))
		}
	}
	b := w.buf[:0]
	b = binary.AppendUvarint(b, uint64(lset.Len()))
	lset.Range(func(l labels.Label) {
		for _, s := range [2]string{l.Name, l.Value} {
			if _, ok := w.symbols[s]; !ok {
				w.symbols[strings.Clone(s)] = struct{}{}
			}
			b = binary.AppendUvarint(b, uint64(len(s)))
			b = append(b, s...)
		}
	})
	b = binary.AppendUvarint(b, uint64(len(chks)))
	for _, c := range chks {
		b = binary.AppendVarint(b, c.MinT)
		b = binary.AppendVarint(b, c.MaxT)
		b = binary.AppendUvarint(b, uint64(c.Ref))
	}
	w.buf = b
	var n [binary.MaxVarintLen64]byte
	if _, err := w.spoolW.Write(n[:binary.PutUvarint(n[:], uint64(len(b)))]); err != nil {
		return w.fail(err)
	}
	if _, err := w.spoolW.Write(b); err != nil {
		return w.fail(err)
	}
	w.last = lset
	w.nSeries++
	return nil
}

func (w *Writer) fail(err error) error {
	if w.err == nil {
		w.err = err
	}
	return err
}

// Abort discards the index: it closes and removes the spool and writes
// nothing at the index path. Safe to call after Close.
func (w *Writer) Abort() {
	if w.closed {
		return
	}
	w.closed = true
	w.spool.Close()
	_ = w.fs.Remove(w.spoolPath)
}

// Close writes the index file, fsyncs it and removes the spool. After an
// AddSeries error it only cleans up and returns that error.
func (w *Writer) Close() error {
	if w.closed {
		return errors.New("index: writer already closed")
	}
	if w.err != nil {
		w.Abort()
		return w.err
	}
	err := w.finish()
	w.Abort()
	return err
}

// fileWriter writes the index file, tracking the position and the CRC of
// the current section.
type fileWriter struct {
	f   vfs.File
	bw  *bufio.Writer
	pos uint64
	crc uint32
	// sectionStart is the position of the open section's length field.
	sectionStart uint64
}

func (fw *fileWriter) write(bs ...[]byte) error {
	for _, b := range bs {
		if _, err := fw.bw.Write(b); err != nil {
			return err
		}
		fw.crc = crc32.Update(fw.crc, castagnoli, b)
		fw.pos += uint64(len(b))
	}
	return nil
}

func (fw *fileWriter) beginSection() error {
	fw.sectionStart = fw.pos
	var placeholder [4]byte
	if err := fw.write(placeholder[:]); err != nil {
		return err
	}
	fw.crc = 0
	return nil
}

// endSection appends the section CRC and backpatches its length.
func (fw *fileWriter) endSection() error {
	n := fw.pos - fw.sectionStart - 4
	if n > maxSectionLen {
		return fmt.Errorf("index: section of %d bytes exceeds the format's 4 GiB limit", n)
	}
	var sum [4]byte
	binary.BigEndian.PutUint32(sum[:], fw.crc)
	if err := fw.write(sum[:]); err != nil {
		return err
	}
	if err := fw.bw.Flush(); err != nil {
		return err
	}
	var l [4]byte
	binary.BigEndian.PutUint32(l[:], uint32(n))
	if _, err := fw.f.Seek(int64(fw.sectionStart), io.SeekStart); err != nil {
		return err
	}
	if _, err := fw.f.Write(l[:]); err != nil {
		return err
	}
	_, err := fw.f.Seek(int64(fw.pos), io.SeekStart)
	return err
}

// finish writes the whole file from the spool.
func (w *Writer) finish() error {
	if err := w.spoolW.Flush(); err != nil {
		return err
	}
	if _, err := w.spool.Seek(0, io.SeekStart); err != nil {
		return err
	}
	syms := make([]string, 0, len(w.symbols))
	for s := range w.symbols {
		syms = append(syms, s)
	}
	slices.Sort(syms)
	symIdx := make(map[string]uint32, len(syms))
	for i, s := range syms {
		symIdx[s] = uint32(i)
	}
	w.symbols = nil

	f, err := w.fs.Create(w.path)
	if err != nil {
		return err
	}
	fw := &fileWriter{f: f, bw: bufio.NewWriterSize(f, 1<<20)}
	err = w.writeFile(fw, syms, symIdx)
	if err == nil {
		err = fw.bw.Flush()
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func (w *Writer) writeFile(fw *fileWriter, syms []string, symIdx map[string]uint32) error {
	var hdr [HeaderSize]byte
	binary.BigEndian.PutUint32(hdr[:], MagicIndex)
	hdr[4] = FormatVersion
	if err := fw.write(hdr[:]); err != nil {
		return err
	}
	var toc TOC

	// Symbols.
	toc.Symbols = fw.pos
	if err := fw.beginSection(); err != nil {
		return err
	}
	b := binary.AppendUvarint(w.buf[:0], uint64(len(syms)))
	for _, s := range syms {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
		if len(b) > 1<<16 {
			if err := fw.write(b); err != nil {
				return err
			}
			b = b[:0]
		}
	}
	if err := fw.write(b); err != nil {
		return err
	}
	if err := fw.endSection(); err != nil {
		return err
	}

	// Series, collecting postings keyed by (name index, value index):
	// symbols are sorted, so sorting the keys numerically sorts the
	// lists by name and then value.
	toc.Series = fw.pos
	if err := fw.beginSection(); err != nil {
		return err
	}
	postings := map[uint64][]uint32{}
	all := make([]uint32, 0, w.nSeries)
	sr := bufio.NewReaderSize(w.spool, 1<<20)
	var body, entry, spooled []byte
	var pad [SeriesAlignment]byte
	for range w.nSeries {
		n, err := binary.ReadUvarint(sr)
		if err != nil {
			return fmt.Errorf("index: read spool: %w", err)
		}
		spooled = slices.Grow(spooled[:0], int(n))[:n]
		if _, err := io.ReadFull(sr, spooled); err != nil {
			return fmt.Errorf("index: read spool: %w", err)
		}
		if rem := fw.pos % SeriesAlignment; rem != 0 {
			if err := fw.write(pad[:SeriesAlignment-rem]); err != nil {
				return err
			}
		}
		ref64 := fw.pos / SeriesAlignment
		if ref64 > 1<<32-1 {
			return errors.New("index: series section exceeds the format's 4 GiB limit")
		}
		ref := uint32(ref64)
		body, err = spoolToEntry(body[:0], spooled, symIdx, func(name, value uint32) {
			k := uint64(name)<<32 | uint64(value)
			postings[k] = append(postings[k], ref)
		})
		if err != nil {
			return err
		}
		all = append(all, ref)
		entry = binary.AppendUvarint(entry[:0], uint64(len(body)))
		entry = append(entry, body...)
		entry = binary.BigEndian.AppendUint32(entry, crc32.Checksum(body, castagnoli))
		if err := fw.write(entry); err != nil {
			return err
		}
	}
	if err := fw.endSection(); err != nil {
		return err
	}

	// Postings: the all-series list first (its pair ("", "") sorts
	// first), then one list per label pair.
	keys := make([]uint64, 0, len(postings))
	for k := range postings {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	listOffs := make([]uint64, 0, len(keys)+1)
	toc.Postings = fw.pos
	if err := fw.beginSection(); err != nil {
		return err
	}
	var lb []byte
	writeList := func(refs []uint32) error {
		listOffs = append(listOffs, fw.pos)
		lb = encodePostings(lb[:0], refs)
		return fw.write(lb)
	}
	if err := writeList(all); err != nil {
		return err
	}
	for _, k := range keys {
		if err := writeList(postings[k]); err != nil {
			return err
		}
		delete(postings, k) // release memory as we go
	}
	if err := fw.endSection(); err != nil {
		return err
	}

	// Postings table.
	toc.PostingsTable = fw.pos
	if err := fw.beginSection(); err != nil {
		return err
	}
	b = binary.AppendUvarint(lb[:0], uint64(len(listOffs)))
	b = appendTableEntry(b, "", "", listOffs[0])
	for i, k := range keys {
		b = appendTableEntry(b, syms[k>>32], syms[uint32(k)], listOffs[i+1])
		if len(b) > 1<<16 {
			if err := fw.write(b); err != nil {
				return err
			}
			b = b[:0]
		}
	}
	if err := fw.write(b); err != nil {
		return err
	}
	if err := fw.endSection(); err != nil {
		return err
	}
	return fw.write(toc.appendTo(b[:0]))
}

func appendTableEntry(b []byte, name, value string, off uint64) []byte {
	b = binary.AppendUvarint(b, uint64(len(name)))
	b = append(b, name...)
	b = binary.AppendUvarint(b, uint64(len(value)))
	b = append(b, value...)
	return binary.AppendUvarint(b, off)
}

// spoolToEntry turns a spooled series into the body of its index entry,
// reporting each label pair's symbol indexes to pair.
func spoolToEntry(dst, spooled []byte, symIdx map[string]uint32, pair func(name, value uint32)) ([]byte, error) {
	d := decbuf{b: spooled}
	nl := d.uvarint()
	dst = binary.AppendUvarint(dst, nl)
	for range nl {
		name, value := d.bytes(), d.bytes()
		if d.failed {
			break
		}
		ni, vi := symIdx[string(name)], symIdx[string(value)]
		dst = binary.AppendUvarint(dst, uint64(ni))
		dst = binary.AppendUvarint(dst, uint64(vi))
		pair(ni, vi)
	}
	nc := d.uvarint()
	dst = binary.AppendUvarint(dst, nc)
	var prevMaxT int64
	var prevRef uint64
	for i := range nc {
		mint, maxt, ref := d.varint(), d.varint(), d.uvarint()
		if i == 0 {
			dst = binary.AppendVarint(dst, mint)
			dst = binary.AppendUvarint(dst, uint64(maxt-mint))
			dst = binary.AppendUvarint(dst, ref)
		} else {
			dst = binary.AppendUvarint(dst, uint64(mint-prevMaxT))
			dst = binary.AppendUvarint(dst, uint64(maxt-mint))
			dst = binary.AppendVarint(dst, int64(ref-prevRef))
		}
		prevMaxT, prevRef = maxt, ref
	}
	if d.failed || len(d.b) != 0 {
		return nil, errors.New("index: spool file damaged")
	}
	return dst, nil
}

// encodePostings appends a postings list: the count, a skip table for
// long lists, then the refs as deltas (docs/format/index.md).
func encodePostings(dst []byte, refs []uint32) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(refs)))
	if len(refs) > postingsSkipThreshold {
		// Entry k*postingsSkipStep (k >= 1): its ref and the byte offset of
		// its delta within the delta stream, which starts right after the
		// skip table.
		m := (len(refs) - 1) / postingsSkipStep
		dst = binary.AppendUvarint(dst, uint64(m))
		off, prev := 0, uint32(0)
		for i, r := range refs {
			if i > 0 && i%postingsSkipStep == 0 {
				dst = binary.AppendUvarint(dst, uint64(r))
				dst = binary.AppendUvarint(dst, uint64(off))
			}
			off += uvarintLen(uint64(r - prev))
			prev = r
		}
	}
	prev := uint32(0)
	for _, r := range refs {
		dst = binary.AppendUvarint(dst, uint64(r-prev))
		prev = r
	}
	return dst
}

func uvarintLen(x uint64) int {
	n := 1
	for x >= 0x80 {
		x >>= 7
		n++
	}
	return n
}
