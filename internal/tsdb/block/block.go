// Package block owns persistent blocks: a directory named by a ULID
// holding the samples of one time range (meta.json, index, chunks/,
// tombstones; docs/format/meta.md and the documents it links). It writes
// blocks atomically from any sorted series set (Write), opens them as
// queriers honouring tombstones (Open, Block.Querier), opens a whole data
// directory cleaning up after crashes (OpenDir), records deletions
// (Block.Delete), rewrites blocks without their deleted data
// (Block.CleanTombstones) and removes blocks atomically (Remove). Package compact builds on it; package tsdb
// uses both and is not imported here.
//
// A directory is a block only once its final rename happened: anything
// with a temporary suffix, a name that is not a ULID or no meta.json is
// refused with ErrNotBlock, and damaged files with ErrCorrupt.
package block

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/vigil-monitoring/vigil/internal/model/labels"
	"github.com/vigil-monitoring/vigil/internal/tsdb/chunks"
	"github.com/vigil-monitoring/vigil/internal/tsdb/index"
	"github.com/vigil-monitoring/vigil/internal/tsdb/tombstones"
	"github.com/vigil-monitoring/vigil/internal/tsdb/vfs"
)

// Block is an open block. It is safe for concurrent use. Queriers hold
// the block open: Close waits for them.
type Block struct {
	fs     vfs.FS
	dir    string
	index  *index.Reader
	chunks *chunks.Reader
	// stones is replaced, never modified, by Delete.
	stones atomic.Pointer[tombstones.Stones]

	mu struct {
		sync.Mutex
		meta      Meta
		metaSize  int64
		stoneSize int64
		closing   bool
	}
	// deleteMu serialises Delete, which reads, extends and rewrites the
	// tombstones.
	deleteMu sync.Mutex
	// readers counts open queriers; Close waits for it.
	readers sync.WaitGroup
}

// IsTemporary reports whether a directory name marks an unfinished
// creation or removal.
func IsTemporary(name string) bool {
	return strings.HasSuffix(name, TmpForCreationSuffix) || strings.HasSuffix(name, TmpForDeletionSuffix)
}

// Open opens the block in dir. See the package documentation for what is
// refused.
func Open(fsys vfs.FS, dir string) (_ *Block, err error) {
	base := filepath.Base(dir)
	if IsTemporary(base) {
		return nil, fmt.Errorf("%w: %s is an unfinished write or removal", ErrNotBlock, dir)
	}
	id, err := ParseULID(base)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: directory name is not a ULID", ErrNotBlock, dir)
	}
	meta, metaSize, err := ReadMeta(fsys, dir)
	if err != nil {
		return nil, err
	}
	if meta.ULID != id {
		return nil, fmt.Errorf("%w: %s holds the meta.json of block %s", ErrCorrupt, dir, meta.ULID)
	}
	b := &Block{fs: fsys, dir: dir}
	b.mu.meta, b.mu.metaSize = *meta, metaSize
	defer func() {
		if err != nil {
			b.closeFiles()
			if errors.Is(err, chunks.ErrCorruption) || errors.Is(err, fs.ErrNotExist) {
				err = fmt.Errorf("%w: %s: %w", ErrCorrupt, dir, err)
			}
		}
	}()
	if b.chunks, err = chunks.NewReader(fsys, filepath.Join(dir, ChunksDirname)); err != nil {
		return nil, err
	}
	if b.index, err = index.Open(fsys, filepath.Join(dir, IndexFilename)); err != nil {
		return nil, err
	}
	stones, size, err := tombstones.ReadFile(fsys, dir)
	if err != nil {
		return nil, err
	}
	b.stones.Store(stones)
	b.mu.stoneSize = size
	return b, nil
}

func (b *Block) closeFiles() {
	if b.chunks != nil {
		b.chunks.Close()
	}
	if b.index != nil {
		b.index.Close()
	}
}

// Dir returns the block's directory.
func (b *Block) Dir() string { return b.dir }

// Meta returns a copy of the block's metadata.
func (b *Block) Meta() Meta {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.mu.meta
}

// MinTime and MaxTime return the block's range, [MinTime, MaxTime).
func (b *Block) MinTime() int64 { return b.Meta().MinTime }
func (b *Block) MaxTime() int64 { return b.Meta().MaxTime }

// OverlapsClosedInterval reports whether the block holds time in
// [mint, maxt].
func (b *Block) OverlapsClosedInterval(mint, maxt int64) bool {
	m := b.Meta()
	return m.MinTime <= maxt && mint < m.MaxTime
}

// Size returns the bytes the block takes on disk: index, chunk segments,
// tombstones and meta.json.
func (b *Block) Size() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.index.Size() + b.chunks.Size() + b.mu.stoneSize + b.mu.metaSize
}

// Tombstones returns the current tombstones; the caller must not change
// them.
func (b *Block) Tombstones() *tombstones.Stones { return b.stones.Load() }

// startRead registers a reader unless the block is closing.
func (b *Block) startRead() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.mu.closing {
		return fmt.Errorf("%w: %s", ErrClosed, b.dir)
	}
	b.readers.Add(1)
	return nil
}

// Close waits for open queriers to close and releases the files.
func (b *Block) Close() error {
	b.mu.Lock()
	if b.mu.closing {
		b.mu.Unlock()
		return nil
	}
	b.mu.closing = true
	b.mu.Unlock()
	b.readers.Wait()
	return errors.Join(b.chunks.Close(), b.index.Close())
}

// Delete records that the samples in [mint, maxt] of every series matching
// ms are deleted. Queries skip them at once; CleanTombstones removes them
// from disk. The tombstones file is replaced atomically, then meta.json's
// count is updated.
func (b *Block) Delete(ctx context.Context, mint, maxt int64, ms ...*labels.Matcher) error {
	if err := b.startRead(); err != nil {
		return err
	}
	defer b.readers.Done()
	b.deleteMu.Lock()
	defer b.deleteMu.Unlock()

	stones := b.stones.Load().Clone()
	p := b.index.PostingsForMatchers(ms...)
	var sb labels.ScratchBuilder
	var chks []chunks.Meta
	changed := false
	for n := 0; p.Next(); n++ {
		if n%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		if err := b.index.Series(p.At(), &sb, &chks); err != nil {
			return fmt.Errorf("block %s: %w", b.dir, err)
		}
		if len(chks) == 0 || chks[0].MinT > maxt || chks[len(chks)-1].MaxT < mint {
			continue
		}
		// Clamp to the series' data so open-ended deletions stay small.
		iv := tombstones.Interval{Mint: max(mint, chks[0].MinT), Maxt: min(maxt, chks[len(chks)-1].MaxT)}
		if iv.IsSubrange(stones.Get(p.At())) {
			continue
		}
		stones.Add(p.At(), iv)
		changed = true
	}
	if err := p.Err(); err != nil {
		return fmt.Errorf("block %s: %w", b.dir, err)
	}
	if !changed {
		return nil
	}
	size, err := tombstones.WriteFile(b.fs, b.dir, stones)
	if err != nil {
		return err
	}
	b.stones.Store(stones)
	b.mu.Lock()
	b.mu.stoneSize = size
	b.mu.meta.Stats.NumTombstones = uint64(stones.NumIntervals())
	meta := b.mu.meta
	b.mu.Unlock()
	metaSize, err := WriteMeta(b.fs, b.dir, &meta)
	if err != nil {
		return err
	}
	b.mu.Lock()
	b.mu.metaSize = metaSize
	b.mu.Unlock()
	return nil
}

// CleanTombstones writes a copy of the block without its deleted samples
// into parent (a new ULID, same range and level, this block as parent)
// and returns its meta. It returns (nil, false, nil) when the block has no
// tombstones, and (nil, true, nil) when everything was deleted. The
// caller replaces this block with the new one and removes it.
func (b *Block) CleanTombstones(ctx context.Context, parent string, opts WriteOptions) (*Meta, bool, error) {
	if b.stones.Load().Len() == 0 {
		return nil, false, nil
	}
	meta := b.Meta()
	q, err := b.Querier(meta.MinTime, meta.MaxTime-1)
	if err != nil {
		return nil, false, err
	}
	defer q.Close()
	nm := Meta{
		MinTime: meta.MinTime,
		MaxTime: meta.MaxTime,
		Compaction: Compaction{
			Level:   meta.Compaction.Level,
			Sources: meta.Compaction.Sources,
			Parents: []BlockDesc{meta.Desc()},
		},
	}
	out, err := Write(ctx, b.fs, parent, nm, q.Select(ctx, true, nil), opts)
	if errors.Is(err, ErrEmpty) {
		return nil, true, nil
	}
	if err != nil {
		return nil, false, err
	}
	return out, true, nil
}

// Remove deletes the block directory dir. It renames it with the deletion
// suffix first, so a crash midway leaves a directory Open refuses rather
// than a block with missing files.
func Remove(fsys vfs.FS, dir string) error {
	tmp := dir + TmpForDeletionSuffix
	if err := fsys.Rename(dir, tmp); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return err
	}
	if err := fsys.SyncDir(filepath.Dir(dir)); err != nil {
		return err
	}
	return fsys.RemoveAll(tmp)
}

// Scan lists the entries of a data directory that concern blocks: blocks
// are directories named by a ULID (they may still fail to Open), and
// leftovers are temporary directories of interrupted writes or removals,
// which the caller should remove.
func Scan(fsys vfs.FS, dir string) (blocks, leftovers []string, err error) {
	ents, err := fsys.ReadDir(dir)
	if err != nil {
		return nil, nil, err
	}
	for _, e := range ents {
		if !e.IsDir() {
			continue
		}
		name := e.Name()
		switch {
		case IsTemporary(name):
			leftovers = append(leftovers, filepath.Join(dir, name))
		default:
			if _, err := ParseULID(name); err == nil {
				blocks = append(blocks, filepath.Join(dir, name))
			}
		}
	}
	return blocks, leftovers, nil
}

// Superseded returns the ULIDs among metas that another block of metas
// names as a parent. Such blocks are left behind when a process dies
// between writing a compacted block and removing its parents; their data
// is in the child, and the caller should remove them rather than load
// both.
func Superseded(metas []Meta) map[ULID]bool {
	present := map[ULID]bool{}
	for _, m := range metas {
		present[m.ULID] = true
	}
	out := map[ULID]bool{}
	for _, m := range metas {
		for _, p := range m.Compaction.Parents {
			if present[p.ULID] && p.ULID != m.ULID {
				out[p.ULID] = true
			}
		}
	}
	return out
}
