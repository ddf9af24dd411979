// Package tombstones owns a block's deletion records (`<block>/tombstones`,
// docs/format/tombstones.md): time intervals per series whose samples
// queries must skip until the block is rewritten. It provides the interval
// arithmetic (merging overlapping and adjacent intervals), an in-memory
// set keyed by series reference, and reading and atomically replacing the
// file.
package tombstones

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"maps"
	"math"
	"path/filepath"
	"slices"
	"sync"

	"github.com/vigil-monitoring/vigil/internal/storage"
	"github.com/vigil-monitoring/vigil/internal/tsdb/chunks"
	"github.com/vigil-monitoring/vigil/internal/tsdb/vfs"
)

// Format constants.
const (
	// Magic starts the file ("VGTS").
	Magic = 0x56475453
	// FormatVersion is the only version read and written.
	FormatVersion = 1
	// FileName is the file's name inside a block directory.
	FileName   = "tombstones"
	headerSize = 5
	crcSize    = 4
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Interval is a closed time range [Mint, Maxt] in milliseconds.
type Interval struct {
	Mint, Maxt int64
}

// InBounds reports whether t lies in the interval.
func (iv Interval) InBounds(t int64) bool { return iv.Mint <= t && t <= iv.Maxt }

// IsSubrange reports whether some interval of ivs contains iv entirely.
// With merged intervals that is the same as the union covering iv.
func (iv Interval) IsSubrange(ivs Intervals) bool {
	for _, o := range ivs {
		if o.Mint <= iv.Mint && iv.Maxt <= o.Maxt {
			return true
		}
	}
	return false
}

// Intervals is a set of intervals.
//
// INVARIANT: as built by Add, the intervals are sorted, and no two of
// them overlap or touch (a.Maxt+1 < b.Mint): they are merged.
type Intervals []Interval

// Add returns the set with n added, merging it with every interval it
// overlaps or touches. It may modify ivs in place.
func (ivs Intervals) Add(n Interval) Intervals {
	if n.Mint > n.Maxt {
		return ivs
	}
	// First interval that could merge: its Maxt+1 >= n.Mint. Compared
	// without the +1 overflowing at math.MaxInt64.
	i, _ := slices.BinarySearchFunc(ivs, n.Mint, func(iv Interval, t int64) int {
		if iv.Maxt < t && iv.Maxt+1 < t {
			return -1
		}
		return 1
	})
	j := i
	for j < len(ivs) && (n.Maxt == math.MaxInt64 || ivs[j].Mint <= n.Maxt+1) {
		n.Mint = min(n.Mint, ivs[j].Mint)
		n.Maxt = max(n.Maxt, ivs[j].Maxt)
		j++
	}
	return slices.Replace(ivs, i, j, n)
}

// Contains reports whether t lies in one of the intervals.
func (ivs Intervals) Contains(t int64) bool {
	i, _ := slices.BinarySearchFunc(ivs, t, func(iv Interval, t int64) int {
		if iv.Maxt < t {
			return -1
		}
		return 1
	})
	return i < len(ivs) && ivs[i].Mint <= t
}

// Stones is the set of tombstones of one block. It is safe for concurrent
// use.
type Stones struct {
	mu struct {
		sync.RWMutex
		// m holds merged intervals per series; a slice is never modified
		// after it is stored, so Get may hand it out.
		m map[storage.SeriesRef]Intervals
	}
}

// New returns an empty set.
func New() *Stones {
	s := &Stones{}
	s.mu.m = map[storage.SeriesRef]Intervals{}
	return s
}

// Get returns the merged intervals of ref. The caller must not modify
// them.
func (s *Stones) Get(ref storage.SeriesRef) Intervals {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.mu.m[ref]
}

// Add records deleted intervals for ref.
func (s *Stones) Add(ref storage.SeriesRef, ivs ...Interval) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cur := slices.Clone(s.mu.m[ref]) // copy: readers may hold the old slice
	for _, iv := range ivs {
		cur = cur.Add(iv)
	}
	if len(cur) > 0 {
		s.mu.m[ref] = cur
	}
}

// Len returns the number of series with tombstones.
func (s *Stones) Len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.mu.m)
}

// NumIntervals returns the total number of merged intervals, what block
// metadata counts as tombstones.
func (s *Stones) NumIntervals() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	n := 0
	for _, ivs := range s.mu.m {
		n += len(ivs)
	}
	return n
}

// Range calls f for each series in ascending reference order.
func (s *Stones) Range(f func(ref storage.SeriesRef, ivs Intervals)) {
	s.mu.RLock()
	refs := slices.Sorted(maps.Keys(s.mu.m))
	m := maps.Clone(s.mu.m)
	s.mu.RUnlock()
	for _, r := range refs {
		f(r, m[r])
	}
}

// Clone returns an independent copy.
func (s *Stones) Clone() *Stones {
	c := New()
	s.mu.RLock()
	defer s.mu.RUnlock()
	maps.Copy(c.mu.m, s.mu.m)
	return c
}

// Encode returns the file content for s.
func (s *Stones) Encode() []byte {
	b := binary.BigEndian.AppendUint32(nil, Magic)
	b = append(b, FormatVersion)
	s.Range(func(ref storage.SeriesRef, ivs Intervals) {
		for _, iv := range ivs {
			b = binary.AppendUvarint(b, uint64(ref))
			b = binary.AppendVarint(b, iv.Mint)
			b = binary.AppendVarint(b, iv.Maxt)
		}
	})
	return binary.BigEndian.AppendUint32(b, crc32.Checksum(b[headerSize:], castagnoli))
}

// Decode parses file content; name labels errors.
func Decode(b []byte, name string) (*Stones, error) {
	if len(b) < headerSize+crcSize {
		return nil, chunks.Corruptf(name, 0, "tombstones file of %d bytes is too short", len(b))
	}
	if m := binary.BigEndian.Uint32(b); m != Magic {
		return nil, chunks.Corruptf(name, 0, "bad tombstones magic %#x", m)
	}
	if v := b[4]; v != FormatVersion {
		return nil, fmt.Errorf("%s: unsupported tombstones version %d", name, v)
	}
	body := b[headerSize : len(b)-crcSize]
	if crc32.Checksum(body, castagnoli) != binary.BigEndian.Uint32(b[len(b)-crcSize:]) {
		return nil, chunks.Corruptf(name, int64(len(b)-crcSize), "tombstones checksum mismatch")
	}
	s := New()
	for off := 0; off < len(body); {
		ref, k1 := binary.Uvarint(body[off:])
		if k1 <= 0 {
			return nil, chunks.Corruptf(name, int64(headerSize+off), "bad tombstone entry")
		}
		mint, k2 := binary.Varint(body[off+k1:])
		if k2 <= 0 {
			return nil, chunks.Corruptf(name, int64(headerSize+off), "bad tombstone entry")
		}
		maxt, k3 := binary.Varint(body[off+k1+k2:])
		if k3 <= 0 {
			return nil, chunks.Corruptf(name, int64(headerSize+off), "bad tombstone entry")
		}
		if mint > maxt {
			return nil, chunks.Corruptf(name, int64(headerSize+off), "tombstone interval [%d, %d] is empty", mint, maxt)
		}
		// Readers merge: the format allows unmerged entries.
		s.mu.m[storage.SeriesRef(ref)] = s.mu.m[storage.SeriesRef(ref)].Add(Interval{mint, maxt})
		off += k1 + k2 + k3
	}
	return s, nil
}

// ReadFile reads the tombstones of the block in dir. A missing file is
// read as no tombstones (blocks from tools that never write one), and its
// size as 0.
func ReadFile(fsys vfs.FS, dir string) (*Stones, int64, error) {
	name := filepath.Join(dir, FileName)
	f, err := fsys.Open(name)
	if errors.Is(err, fs.ErrNotExist) {
		return New(), 0, nil
	}
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	b, err := io.ReadAll(bufio.NewReader(f))
	if err != nil {
		return nil, 0, fmt.Errorf("read %s: %w", name, err)
	}
	s, err := Decode(b, name)
	return s, int64(len(b)), err
}

// WriteFile replaces the tombstones file of the block in dir atomically
// (tombstones.tmp, fsync, rename, directory fsync) and returns its size.
func WriteFile(fsys vfs.FS, dir string, s *Stones) (int64, error) {
	b := s.Encode()
	return int64(len(b)), vfs.WriteFileAtomic(fsys, filepath.Join(dir, FileName), b)
}
