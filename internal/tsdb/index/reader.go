package index

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"slices"
	"sort"
	"sync"

	"github.com/vigil-monitoring/vigil/internal/model/labels"
	"github.com/vigil-monitoring/vigil/internal/storage"
	"github.com/vigil-monitoring/vigil/internal/tsdb/chunks"
	"github.com/vigil-monitoring/vigil/internal/tsdb/vfs"
)

// Reader reads an index file through a read-only mapping. It is safe for
// concurrent use. Strings it returns are copies, so they stay valid after
// Close; postings iterators read the mapping and must not outlive it.
type Reader struct {
	b    []byte
	m    *chunks.Mapping // nil for NewReader
	name string
	toc  TOC

	// Symbols: the section content and the offset (into b) of every
	// symbolSampleStep-th symbol.
	nSymbols int
	// symOffsets fit 32 bits: the symbols section is the first one and
	// at most 4 GiB long.
	symOffsets []uint32

	// Content ranges [start, end) of the series and postings sections.
	seriesStart, seriesEnd     int
	postingsStart, postingsEnd int
	postingsCRC                uint32
	postingsOnce               sync.Once
	postingsErr                error

	// names is the sampled postings table, sorted by name; the entry with
	// the empty name is the all-series list and is kept apart.
	names    []nameEntry
	allList  int // offset of the all-series list
	tableEnd int // end of the postings table section content
}

// nameEntry is one label name's part of the postings table.
type nameEntry struct {
	name    string
	nValues int
	// samples holds every tableSampleStep-th value entry and the last.
	samples []tableSample
}

// tableSample is one remembered postings table entry.
type tableSample struct {
	value    string
	idx      int // position among the name's values
	entryOff int // offset in b of the table entry
}

// Open maps the index file at path and reads its tables.
func Open(fsys vfs.FS, path string) (*Reader, error) {
	m, err := chunks.MapFile(fsys, path)
	if err != nil {
		return nil, err
	}
	r, err := newReader(m.Bytes(), path)
	if err != nil {
		m.Close()
		return nil, err
	}
	r.m = m
	return r, nil
}

// NewReader reads an index held in memory. The fuzz target uses it.
func NewReader(b []byte) (*Reader, error) { return newReader(b, "index") }

func newReader(b []byte, name string) (*Reader, error) {
	r := &Reader{b: b, name: name}
	if len(b) < HeaderSize+TOCSize {
		return nil, corrupt(name, 0, "index of %d bytes is too short", len(b))
	}
	if m := binary.BigEndian.Uint32(b); m != MagicIndex {
		return nil, corrupt(name, 0, "bad index magic %#x", m)
	}
	if v := b[4]; v != FormatVersion {
		return nil, fmt.Errorf("%s: unsupported index version %d", name, v)
	}
	tocOff := len(b) - TOCSize
	tb := b[tocOff:]
	if crc32.Checksum(tb[:32], castagnoli) != binary.BigEndian.Uint32(tb[32:]) {
		return nil, corrupt(name, tocOff, "index TOC checksum mismatch")
	}
	r.toc = TOC{
		Symbols:       binary.BigEndian.Uint64(tb[0:]),
		Series:        binary.BigEndian.Uint64(tb[8:]),
		Postings:      binary.BigEndian.Uint64(tb[16:]),
		PostingsTable: binary.BigEndian.Uint64(tb[24:]),
	}
	sec := func(off uint64, what string, checkCRC bool) (int, int, uint32, error) {
		if off < HeaderSize || off+8 > uint64(tocOff) {
			return 0, 0, 0, corrupt(name, int(min(off, uint64(tocOff))), "%s section offset %d out of range", what, off)
		}
		n := uint64(binary.BigEndian.Uint32(b[off:]))
		start := off + 4
		if start+n+4 > uint64(tocOff) {
			return 0, 0, 0, corrupt(name, int(off), "%s section of %d bytes runs past the end", what, n)
		}
		end := int(start + n)
		want := binary.BigEndian.Uint32(b[end:])
		if checkCRC && crc32.Checksum(b[start:end], castagnoli) != want {
			return 0, 0, 0, corrupt(name, int(off), "%s section checksum mismatch", what)
		}
		return int(start), end, want, nil
	}
	symStart, symEnd, _, err := sec(r.toc.Symbols, "symbols", true)
	if err != nil {
		return nil, err
	}
	if r.seriesStart, r.seriesEnd, _, err = sec(r.toc.Series, "series", false); err != nil {
		return nil, err
	}
	// The postings section is the largest after series; its CRC is checked
	// on first use (checkPostings) so opening many blocks stays cheap.
	if r.postingsStart, r.postingsEnd, r.postingsCRC, err = sec(r.toc.Postings, "postings", false); err != nil {
		return nil, err
	}
	tabStart, tabEnd, _, err := sec(r.toc.PostingsTable, "postings table", true)
	if err != nil {
		return nil, err
	}
	if err := r.readSymbols(symStart, symEnd); err != nil {
		return nil, err
	}
	if err := r.readTable(tabStart, tabEnd); err != nil {
		return nil, err
	}
	return r, nil
}

func (r *Reader) readSymbols(start, end int) error {
	d := decbuf{b: r.b[start:end]}
	n := d.uvarint()
	if d.failed || n > uint64(end-start) {
		return corrupt(r.name, start, "bad symbol count")
	}
	r.nSymbols = int(n)
	r.symOffsets = make([]uint32, 0, n/symbolSampleStep+1)
	var prev []byte
	for i := range r.nSymbols {
		off := end - len(d.b)
		s := d.bytes()
		if d.failed {
			return corrupt(r.name, off, "symbol %d runs past the end of the table", i)
		}
		if i > 0 && bytes.Compare(prev, s) >= 0 {
			return corrupt(r.name, off, "symbols not sorted at %d", i)
		}
		if i%symbolSampleStep == 0 {
			r.symOffsets = append(r.symOffsets, uint32(off))
		}
		prev = s
	}
	return nil
}

// tableEntry decodes the postings table entry at off, returning the
// offset of the next entry.
func (r *Reader) tableEntry(off, end int) (name, value []byte, list uint64, next int, ok bool) {
	d := decbuf{b: r.b[off:end]}
	name, value, list = d.bytes(), d.bytes(), d.uvarint()
	if d.failed {
		return nil, nil, 0, 0, false
	}
	return name, value, list, end - len(d.b), true
}

func (r *Reader) readTable(start, end int) error {
	d := decbuf{b: r.b[start:end]}
	n := d.uvarint()
	if d.failed || n == 0 || n > uint64(end-start) {
		return corrupt(r.name, start, "bad postings table count")
	}
	off := end - len(d.b)
	var cur *nameEntry
	var prevName, prevValue []byte
	var lastOff int
	for i := range int(n) {
		name, value, list, next, ok := r.tableEntry(off, end)
		if !ok {
			return corrupt(r.name, off, "postings table entry %d runs past the end", i)
		}
		if list < uint64(r.postingsStart) || list >= uint64(r.postingsEnd) {
			return corrupt(r.name, off, "postings list offset %d outside the postings section", list)
		}
		if i == 0 {
			if len(name) != 0 || len(value) != 0 {
				return corrupt(r.name, off, "postings table does not start with the all-series list")
			}
			r.allList = int(list)
		} else {
			c := bytes.Compare(prevName, name)
			if c > 0 || (c == 0 && bytes.Compare(prevValue, value) >= 0) || len(name) == 0 {
				return corrupt(r.name, off, "postings table not sorted at entry %d", i)
			}
			if cur == nil || c != 0 {
				if cur != nil {
					// Finish the previous name before the append below
					// may move it.
					cur.addLast(prevValue, lastOff)
				}
				r.names = append(r.names, nameEntry{name: string(name)})
				cur = &r.names[len(r.names)-1]
			}
			if cur.nValues%tableSampleStep == 0 {
				cur.samples = append(cur.samples, tableSample{value: string(value), idx: cur.nValues, entryOff: off})
			}
			cur.nValues++
		}
		prevName, prevValue, lastOff = name, value, off
		off = next
	}
	if cur != nil {
		cur.addLast(prevValue, lastOff)
	}
	r.tableEnd = end
	return nil
}

// addLast remembers the name's last value, unless it is already sampled.
func (e *nameEntry) addLast(value []byte, off int) {
	if e.samples[len(e.samples)-1].idx != e.nValues-1 {
		e.samples = append(e.samples, tableSample{value: string(value), idx: e.nValues - 1, entryOff: off})
	}
}

// Close releases the mapping.
func (r *Reader) Close() error {
	if r.m != nil {
		return r.m.Close()
	}
	return nil
}

// Size returns the size of the index file.
func (r *Reader) Size() int64 { return int64(len(r.b)) }

// NumSymbols returns the number of symbols.
func (r *Reader) NumSymbols() int { return r.nSymbols }

// symbolBytes returns symbol i, aliasing the mapping.
func (r *Reader) symbolBytes(i uint64) ([]byte, error) {
	if i >= uint64(r.nSymbols) {
		return nil, fmt.Errorf("%w: symbol %d of %d", chunks.ErrCorruption, i, r.nSymbols)
	}
	off := r.symOffsets[i/symbolSampleStep]
	// readSymbols validated the whole table, so these reads stay in bounds.
	d := decbuf{b: r.b[off:]}
	for range i % symbolSampleStep {
		d.bytes()
	}
	return d.bytes(), nil
}

// SymbolCache remembers where recently resolved symbols are, for a
// caller that reads many series of one Reader (a Select): neighbouring
// series share most label names and values, and without it each lookup
// walks up to symbolSampleStep-1 symbols from the nearest sampled offset.
// The zero value is ready. It is not safe for concurrent use, and belongs
// to one Reader.
type SymbolCache struct {
	slots [symbolCacheSlots]symbolSlot
}

const symbolCacheSlots = 512 // a power of two

// symbolSlot maps symbol key-1 to the offset in the index of its entry;
// key 0 is an empty slot.
type symbolSlot struct {
	key, off uint32
}

// symbolBytesCached is symbolBytes through c, which may be nil.
func (r *Reader) symbolBytesCached(i uint64, c *SymbolCache) ([]byte, error) {
	if c == nil || i >= 1<<32-1 {
		return r.symbolBytes(i)
	}
	slot := &c.slots[i&(symbolCacheSlots-1)]
	if uint64(slot.key) == i+1 {
		d := decbuf{b: r.b[slot.off:]}
		return d.bytes(), nil
	}
	if i >= uint64(r.nSymbols) {
		return nil, fmt.Errorf("%w: symbol %d of %d", chunks.ErrCorruption, i, r.nSymbols)
	}
	d := decbuf{b: r.b[r.symOffsets[i/symbolSampleStep]:]}
	for range i % symbolSampleStep {
		d.bytes()
	}
	*slot = symbolSlot{key: uint32(i + 1), off: uint32(len(r.b) - len(d.b))}
	return d.bytes(), nil
}

// Symbol returns symbol i.
func (r *Reader) Symbol(i uint32) (string, error) {
	b, err := r.symbolBytes(uint64(i))
	return string(b), err
}

// symbolIndex finds s in the sorted symbol table.
func (r *Reader) symbolIndex(s string) (uint32, bool) {
	// The last sample whose symbol is <= s.
	j := sort.Search(len(r.symOffsets), func(j int) bool {
		d := decbuf{b: r.b[r.symOffsets[j]:]}
		return string(d.bytes()) > s
	}) - 1
	if j < 0 {
		return 0, false
	}
	d := decbuf{b: r.b[r.symOffsets[j]:]}
	for i := j * symbolSampleStep; i < min((j+1)*symbolSampleStep, r.nSymbols); i++ {
		switch c := bytes.Compare(d.bytes(), []byte(s)); {
		case c == 0:
			return uint32(i), true
		case c > 0:
			return 0, false
		}
	}
	return 0, false
}

// seriesBody returns the checked body of the series entry at ref.
func (r *Reader) seriesBody(ref storage.SeriesRef) ([]byte, error) {
	off := uint64(ref) * SeriesAlignment
	if uint64(ref) > uint64(r.seriesEnd)/SeriesAlignment || off < uint64(r.seriesStart) || off >= uint64(r.seriesEnd) {
		return nil, corrupt(r.name, int(min(off, uint64(len(r.b)))), "series reference %d outside the series section", ref)
	}
	b := r.b[off:r.seriesEnd]
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)-k) || uint64(len(b)-k)-n < 4 {
		return nil, corrupt(r.name, int(off), "series entry runs past the end of the section")
	}
	body := b[k : k+int(n)]
	if crc32.Checksum(body, castagnoli) != binary.BigEndian.Uint32(b[k+int(n):]) {
		return nil, corrupt(r.name, int(off), "series entry checksum mismatch")
	}
	return body, nil
}

// Series reads the series at ref into builder (after resetting it) and
// appends its chunk metas to (*chks)[:0]. The caller gets the labels with
// builder.Labels().
func (r *Reader) Series(ref storage.SeriesRef, builder *labels.ScratchBuilder, chks *[]chunks.Meta) error {
	return r.SeriesCached(ref, nil, builder, chks)
}

// SeriesCached is Series resolving symbols through cache, which may be
// nil.
func (r *Reader) SeriesCached(ref storage.SeriesRef, cache *SymbolCache, builder *labels.ScratchBuilder, chks *[]chunks.Meta) error {
	body, err := r.seriesBody(ref)
	if err != nil {
		return err
	}
	d := decbuf{b: body}
	builder.Reset()
	nl := d.uvarint()
	if nl > uint64(len(body)) {
		return corrupt(r.name, int(ref)*SeriesAlignment, "series label count %d too large", nl)
	}
	for range nl {
		ni, vi := d.uvarint(), d.uvarint()
		if d.failed {
			break
		}
		name, err := r.symbolBytesCached(ni, cache)
		if err != nil {
			return corrupt(r.name, int(ref)*SeriesAlignment, "series label name: %v", err)
		}
		value, err := r.symbolBytesCached(vi, cache)
		if err != nil {
			return corrupt(r.name, int(ref)*SeriesAlignment, "series label value: %v", err)
		}
		builder.UnsafeAddBytes(name, value)
	}
	if err := r.decodeChunks(&d, chks); err != nil {
		return corrupt(r.name, int(ref)*SeriesAlignment, "%v", err)
	}
	return nil
}

// decodeChunks decodes the chunk metas that end a series entry.
func (r *Reader) decodeChunks(d *decbuf, chks *[]chunks.Meta) error {
	nc := d.uvarint()
	if nc > uint64(len(d.b)) {
		return fmt.Errorf("series chunk count %d too large", nc)
	}
	out := (*chks)[:0]
	var maxt int64
	var ref uint64
	for i := range nc {
		var mint int64
		if i == 0 {
			mint = d.varint()
			maxt = mint + int64(d.uvarint())
			ref = d.uvarint()
		} else {
			mint = maxt + int64(d.uvarint())
			maxt = mint + int64(d.uvarint())
			ref += uint64(d.varint())
		}
		out = append(out, chunks.Meta{Ref: chunks.ChunkRef(ref), MinT: mint, MaxT: maxt})
	}
	*chks = out
	if d.failed {
		return fmt.Errorf("series entry truncated")
	}
	return nil
}

// seriesLabelRefs calls f with the symbol indexes of each label of the
// series at ref, without resolving them.
func (r *Reader) seriesLabelRefs(ref storage.SeriesRef, f func(name, value uint64)) error {
	body, err := r.seriesBody(ref)
	if err != nil {
		return err
	}
	d := decbuf{b: body}
	nl := d.uvarint()
	for i := uint64(0); i < nl && !d.failed; i++ {
		ni, vi := d.uvarint(), d.uvarint()
		if !d.failed {
			f(ni, vi)
		}
	}
	if d.failed {
		return corrupt(r.name, int(ref)*SeriesAlignment, "series entry truncated")
	}
	return nil
}

// checkPostings verifies the postings section CRC once.
func (r *Reader) checkPostings() error {
	r.postingsOnce.Do(func() {
		if crc32.Checksum(r.b[r.postingsStart:r.postingsEnd], castagnoli) != r.postingsCRC {
			r.postingsErr = corrupt(r.name, r.postingsStart-4, "postings section checksum mismatch")
		}
	})
	return r.postingsErr
}

// listAt returns the postings list at off.
func (r *Reader) listAt(off int) Postings {
	if err := r.checkPostings(); err != nil {
		return ErrPostings(err)
	}
	p, err := newDiskPostings(r.b[off:r.postingsEnd])
	if err != nil {
		return ErrPostings(corrupt(r.name, off, "%v", err))
	}
	return p
}

// AllPostings returns every series of the index.
func (r *Reader) AllPostings() Postings { return r.listAt(r.allList) }

// findName returns the postings table part of name.
func (r *Reader) findName(name string) *nameEntry {
	i, ok := slices.BinarySearchFunc(r.names, name, func(e nameEntry, n string) int {
		switch {
		case e.name < n:
			return -1
		case e.name > n:
			return 1
		}
		return 0
	})
	if !ok {
		return nil
	}
	return &r.names[i]
}

// walkValues calls f for each value of e in order, starting from the
// first value >= from, until f returns false.
func (r *Reader) walkValues(e *nameEntry, from string, f func(value []byte, list int) bool) error {
	// The last sample <= from; values before it cannot qualify.
	j := sort.Search(len(e.samples), func(j int) bool { return e.samples[j].value > from }) - 1
	j = max(j, 0)
	off := e.samples[j].entryOff
	for left := e.nValues - e.samples[j].idx; left > 0; left-- {
		_, value, list, next, ok := r.tableEntry(off, r.tableEnd)
		if !ok {
			return corrupt(r.name, off, "postings table entry runs past the end")
		}
		off = next
		if string(value) < from {
			continue
		}
		if !f(value, int(list)) {
			return nil
		}
	}
	return nil
}

// Postings returns the union of the lists of name=value for each value.
// Unknown names and values contribute nothing.
func (r *Reader) Postings(name string, values ...string) Postings {
	e := r.findName(name)
	if e == nil || len(values) == 0 {
		return EmptyPostings()
	}
	if len(values) > 1 && !slices.IsSorted(values) {
		values = slices.Clone(values)
		slices.Sort(values)
	}
	var ps []Postings
	// Values are sorted, so one forward walk per value from its sample
	// finds them; consecutive values often share the walk's start.
	for _, v := range values {
		var found = -1
		err := r.walkValues(e, v, func(value []byte, list int) bool {
			if string(value) == v {
				found = list
			}
			return false
		})
		if err != nil {
			return ErrPostings(err)
		}
		if found >= 0 {
			ps = append(ps, r.listAt(found))
		}
	}
	return Merge(ps...)
}

// postingsMatching returns the union of the lists of the values of name
// that match, walking only values from prefix on when every match must
// start with prefix.
func (r *Reader) postingsMatching(name, prefix string, match func(string) bool) Postings {
	e := r.findName(name)
	if e == nil {
		return EmptyPostings()
	}
	var ps []Postings
	err := r.walkValues(e, prefix, func(value []byte, list int) bool {
		if !bytes.HasPrefix(value, []byte(prefix)) {
			return false
		}
		if match(string(value)) {
			ps = append(ps, r.listAt(list))
		}
		return true
	})
	if err != nil {
		return ErrPostings(err)
	}
	return Merge(ps...)
}

// LabelNames returns the sorted label names of the index.
func (r *Reader) LabelNames() []string {
	out := make([]string, len(r.names))
	for i, e := range r.names {
		out[i] = e.name
	}
	return out
}

// LabelValues returns the sorted values of name.
func (r *Reader) LabelValues(name string) ([]string, error) {
	e := r.findName(name)
	if e == nil {
		return nil, nil
	}
	out := make([]string, 0, e.nValues)
	err := r.walkValues(e, "", func(value []byte, _ int) bool {
		out = append(out, string(value))
		return true
	})
	return out, err
}
