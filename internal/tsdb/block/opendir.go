package block

import (
	"errors"
	"fmt"
	"slices"

	"github.com/vigil-monitoring/vigil/internal/tsdb/vfs"
)

// OpenDirResult is what OpenDir found in a data directory.
type OpenDirResult struct {
	// Blocks are the open blocks, sorted by MinTime then ULID.
	Blocks []*Block
	// Corrupt maps the directories of blocks that failed to open to their
	// errors: ErrCorrupt, ErrUnsupported, or any other error reading
	// them (an unreadable file, a file format version this build does not
	// know). They are left on disk for an operator; the caller decides
	// whether to refuse to start.
	Corrupt map[string]error
	// Removed lists what was deleted: temporary directories of
	// interrupted writes and removals, ULID-named directories without a
	// meta.json, and blocks superseded by a compacted child.
	Removed []string
}

// OpenDir opens every block of a data directory and cleans up after
// crashes: leftovers of interrupted writes or removals are removed, and
// so are parents of a compacted block that were still present (their
// data is in the child). An error is returned only for failures to read
// or clean the directory itself, never for one block; on error no block
// is left open.
func OpenDir(fsys vfs.FS, dir string) (*OpenDirResult, error) {
	res := &OpenDirResult{Corrupt: map[string]error{}}
	blockDirs, leftovers, err := Scan(fsys, dir)
	if err != nil {
		return nil, err
	}
	fail := func(err error) (*OpenDirResult, error) {
		for _, b := range res.Blocks {
			b.Close()
		}
		return nil, err
	}
	for _, d := range leftovers {
		if err := fsys.RemoveAll(d); err != nil {
			return fail(fmt.Errorf("remove leftover %s: %w", d, err))
		}
		res.Removed = append(res.Removed, d)
	}
	for _, d := range blockDirs {
		b, err := Open(fsys, d)
		switch {
		case err == nil:
			res.Blocks = append(res.Blocks, b)
		case errors.Is(err, ErrNotBlock):
			if err := Remove(fsys, d); err != nil {
				return fail(fmt.Errorf("remove %s: %w", d, err))
			}
			res.Removed = append(res.Removed, d)
		default:
			// One unreadable block must not stop the whole directory from
			// opening, start after start.
			res.Corrupt[d] = err
		}
	}
	metas := make([]Meta, len(res.Blocks))
	for i, b := range res.Blocks {
		metas[i] = b.Meta()
	}
	superseded := Superseded(metas)
	kept := res.Blocks[:0]
	for _, b := range res.Blocks {
		if !superseded[b.Meta().ULID] {
			kept = append(kept, b)
			continue
		}
		b.Close()
		if err := Remove(fsys, b.Dir()); err != nil {
			res.Blocks = kept
			return fail(fmt.Errorf("remove superseded block %s: %w", b.Dir(), err))
		}
		res.Removed = append(res.Removed, b.Dir())
	}
	res.Blocks = kept
	slices.SortFunc(res.Blocks, func(a, b *Block) int {
		am, bm := a.Meta(), b.Meta()
		if am.MinTime != bm.MinTime {
			if am.MinTime < bm.MinTime {
				return -1
			}
			return 1
		}
		return am.ULID.Compare(bm.ULID)
	})
	return res, nil
}
