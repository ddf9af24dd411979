package block

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"

	"github.com/vigil-monitoring/vigil/internal/tsdb/chunkenc"
	"github.com/vigil-monitoring/vigil/internal/tsdb/vfs"
)

// Names inside and around a block directory.
const (
	MetaFilename  = "meta.json"
	IndexFilename = "index"
	ChunksDirname = "chunks"
	// TmpForCreationSuffix marks a block being written; it becomes a
	// block only by the final rename.
	TmpForCreationSuffix = ".tmp-for-creation"
	// TmpForDeletionSuffix marks a block being removed: renaming first
	// makes removal atomic for readers of the directory.
	TmpForDeletionSuffix = ".tmp-for-deletion"
	// MetaVersion is the block format version written and accepted.
	MetaVersion = 1
)

// Errors for directories that are not usable blocks. The DB layer skips
// (and usually removes) such directories; test with errors.Is.
var (
	// ErrNotBlock: the directory is not a finished block (a temporary
	// directory of an interrupted write or removal, a name that is not a
	// ULID, no meta.json).
	ErrNotBlock = errors.New("not a block")
	// ErrCorrupt: the block's files do not parse. It wraps the precise
	// error, often a *chunks.CorruptionError naming file and offset.
	ErrCorrupt = errors.New("corrupt block")
	// ErrUnsupported: a block format version this build does not know.
	ErrUnsupported = errors.New("unsupported block version")
	// ErrEmpty: a write found no samples in range, so no block was made.
	ErrEmpty = errors.New("no samples to write")
	// ErrClosed: the block was closed.
	ErrClosed = errors.New("block closed")
)

// Meta is the content of meta.json (docs/format/meta.md). Field names are
// Prometheus', so tools that list blocks read it unchanged.
type Meta struct {
	ULID ULID `json:"ulid"`
	// MinTime is inclusive, MaxTime exclusive (milliseconds).
	MinTime    int64      `json:"minTime"`
	MaxTime    int64      `json:"maxTime"`
	Stats      Stats      `json:"stats"`
	Compaction Compaction `json:"compaction"`
	Version    int        `json:"version"`
	Vigil      VigilMeta  `json:"vigil"`
}

// Stats counts a block's content.
type Stats struct {
	NumSamples          uint64 `json:"numSamples"`
	NumSeries           uint64 `json:"numSeries"`
	NumChunks           uint64 `json:"numChunks"`
	NumTombstones       uint64 `json:"numTombstones"`
	NumFloatSamples     uint64 `json:"numFloatSamples"`
	NumHistogramSamples uint64 `json:"numHistogramSamples"`
}

// Compaction records a block's lineage.
type Compaction struct {
	// Level is 1 for a block written from the head, and one more than
	// the highest parent for a compacted block.
	Level int `json:"level"`
	// Sources are the level-1 blocks whose data this block holds.
	Sources []ULID `json:"sources,omitempty"`
	// Parents are the blocks this one directly replaced.
	Parents []BlockDesc `json:"parents,omitempty"`
	// Failed marks a block whose compaction failed on its own data
	// (corruption); the planner leaves it alone.
	Failed bool `json:"failed,omitempty"`
}

// BlockDesc identifies a parent block.
type BlockDesc struct {
	ULID    ULID  `json:"ulid"`
	MinTime int64 `json:"minTime"`
	MaxTime int64 `json:"maxTime"`
}

// VigilMeta holds facts only Vigil reads; other readers ignore the field.
type VigilMeta struct {
	// ChunkEncodings lists the chunk encodings the block uses, ascending.
	ChunkEncodings EncodingList `json:"chunkEncodings"`
}

// EncodingList is written as a JSON array of numbers, as
// docs/format/meta.md shows. A plain []chunkenc.Encoding is a byte slice
// to encoding/json, which writes it as a base64 string; blocks written
// that way are still read.
type EncodingList []chunkenc.Encoding

// MarshalJSON writes the list as an array of numbers.
func (l EncodingList) MarshalJSON() ([]byte, error) {
	nums := make([]int, len(l))
	for i, e := range l {
		nums[i] = int(e)
	}
	return json.Marshal(nums)
}

// UnmarshalJSON reads an array of numbers, or the base64 string of
// earlier writers.
func (l *EncodingList) UnmarshalJSON(data []byte) error {
	var old []byte
	if err := json.Unmarshal(data, &old); err == nil {
		*l = make(EncodingList, len(old))
		for i, b := range old {
			(*l)[i] = chunkenc.Encoding(b)
		}
		return nil
	}
	var nums []int
	if err := json.Unmarshal(data, &nums); err != nil {
		return fmt.Errorf("chunkEncodings: want an array of encoding numbers: %w", err)
	}
	*l = make(EncodingList, len(nums))
	for i, n := range nums {
		if n < 0 || n > 255 {
			return fmt.Errorf("chunkEncodings: encoding %d out of range 0-255", n)
		}
		(*l)[i] = chunkenc.Encoding(n)
	}
	return nil
}

// Desc returns the block's description for a child's parent list.
func (m *Meta) Desc() BlockDesc {
	return BlockDesc{ULID: m.ULID, MinTime: m.MinTime, MaxTime: m.MaxTime}
}

// ReadMeta reads dir/meta.json and checks it: a missing file is
// ErrNotBlock, an unparsable or inconsistent one ErrCorrupt, another
// version ErrUnsupported. It returns the file's size too.
func ReadMeta(fsys vfs.FS, dir string) (*Meta, int64, error) {
	name := filepath.Join(dir, MetaFilename)
	f, err := fsys.Open(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, 0, fmt.Errorf("%w: %s has no %s", ErrNotBlock, dir, MetaFilename)
	}
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		return nil, 0, fmt.Errorf("read %s: %w", name, err)
	}
	var m Meta
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, 0, fmt.Errorf("%w: %s: %w", ErrCorrupt, name, err)
	}
	if m.Version != MetaVersion {
		return nil, 0, fmt.Errorf("%w: %s has version %d, this build reads %d", ErrUnsupported, name, m.Version, MetaVersion)
	}
	if m.ULID.IsZero() || m.MinTime >= m.MaxTime || m.Compaction.Level < 1 {
		return nil, 0, fmt.Errorf("%w: %s: invalid ulid, time range [%d, %d) or level %d", ErrCorrupt, name, m.MinTime, m.MaxTime, m.Compaction.Level)
	}
	return &m, int64(len(b)), nil
}

// WriteMeta writes dir/meta.json atomically and returns its size.
func WriteMeta(fsys vfs.FS, dir string, m *Meta) (int64, error) {
	b, err := json.MarshalIndent(m, "", "\t")
	if err != nil {
		return 0, err
	}
	b = append(b, '\n')
	return int64(len(b)), vfs.WriteFileAtomic(fsys, filepath.Join(dir, MetaFilename), b)
}
