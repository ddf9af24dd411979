package compact

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/vigil-monitoring/vigil/internal/storage"
	"github.com/vigil-monitoring/vigil/internal/tsdb/block"
	"github.com/vigil-monitoring/vigil/internal/tsdb/chunks"
	"github.com/vigil-monitoring/vigil/internal/tsdb/vfs"
)

// Options configure a Compactor.
type Options struct {
	// FS is the file system; nil means the operating system's.
	FS vfs.FS
	// Logger receives progress; nil discards it.
	Logger *slog.Logger
	// Ranges are the block ranges of the levels in milliseconds,
	// ascending; nil means RangesForRetention(0).
	Ranges []int64
	// ColdFromLevel is the lowest compaction level whose blocks store
	// floats in the cold encoding; 0 means 2, so head blocks (level 1,
	// short-lived and most queried) stay XOR and cheap to write, and every
	// compacted block is cold. A negative value disables cold chunks.
	ColdFromLevel int
	// SegmentSize is the chunk segment size limit; 0 means 512 MiB.
	SegmentSize int64
}

// Compactor plans and runs compactions in a data directory. Its methods
// may be called concurrently, but the caller must not compact the same
// blocks twice at once.
type Compactor struct {
	fs        vfs.FS
	logger    *slog.Logger
	ranges    []int64
	coldLevel int
	segSize   int64
}

// New returns a compactor.
func New(opts Options) (*Compactor, error) {
	c := &Compactor{fs: opts.FS, logger: opts.Logger, ranges: opts.Ranges, coldLevel: opts.ColdFromLevel, segSize: opts.SegmentSize}
	if c.fs == nil {
		c.fs = vfs.OS()
	}
	if c.logger == nil {
		c.logger = slog.New(slog.DiscardHandler)
	}
	if c.ranges == nil {
		c.ranges = RangesForRetention(0)
	}
	for i, r := range c.ranges {
		if r <= 0 || (i > 0 && r <= c.ranges[i-1]) {
			return nil, fmt.Errorf("compact: ranges must be positive and ascending, got %v", c.ranges)
		}
	}
	if c.coldLevel == 0 {
		c.coldLevel = 2
	}
	return c, nil
}

// Ranges returns the level ranges in use.
func (c *Compactor) Ranges() []int64 { return slices.Clone(c.ranges) }

// WriteOptions returns how blocks of the given compaction level are
// encoded, for callers that rewrite a block themselves
// (block.Block.CleanTombstones) and must keep its encoding policy.
func (c *Compactor) WriteOptions(level int) block.WriteOptions {
	return block.WriteOptions{
		ColdFloatChunks: c.coldLevel > 0 && level >= c.coldLevel,
		SegmentSize:     c.segSize,
	}
}

// Plan reads the metas of the blocks in dir and returns the directories
// to compact next (see PlanMetas), or nil. Directories that are not
// loadable blocks are ignored; the caller cleans them up on open.
func (c *Compactor) Plan(dir string) ([]string, error) {
	blockDirs, _, err := block.Scan(c.fs, dir)
	if err != nil {
		return nil, err
	}
	var metas []DirMeta
	for _, d := range blockDirs {
		m, _, err := block.ReadMeta(c.fs, d)
		if err != nil {
			c.logger.Warn("skipping unreadable block in compaction planning", "dir", d, "err", err)
			continue
		}
		metas = append(metas, DirMeta{Dir: d, Meta: *m})
	}
	return PlanMetas(metas, c.ranges), nil
}

// Compact merges the blocks in dirs into one new block in dest and
// returns its meta. Blocks already open may be passed in open (matched by
// directory) to avoid opening them twice; the others are opened and
// closed here. Samples with equal timestamps in several blocks are kept
// once (from the block with the earliest MinTime), deleted samples are
// dropped, and the new block records the sources as parents with a level
// one above the highest.
//
// The sources are left untouched: the caller swaps the new block in and
// then removes them with block.Remove. block.ErrEmpty means the sources
// held no live samples and no block was written; the caller removes them
// all the same. When a source turns out to be corrupt its meta.json is
// marked failed, so the planner stops choosing it.
func (c *Compactor) Compact(ctx context.Context, dest string, dirs []string, open []*block.Block) (*block.Meta, error) {
	if len(dirs) == 0 {
		return nil, errors.New("compact: no blocks given")
	}
	start := time.Now()
	var blocks []*block.Block
	defer func() {
		for _, b := range blocks {
			if !slices.Contains(open, b) {
				b.Close()
			}
		}
	}()
	for _, d := range dirs {
		var b *block.Block
		for _, o := range open {
			if o.Dir() == d {
				b = o
			}
		}
		if b == nil {
			var err error
			if b, err = block.Open(c.fs, d); err != nil {
				return nil, fmt.Errorf("compact: open %s: %w", d, err)
			}
		}
		blocks = append(blocks, b)
	}
	slices.SortFunc(blocks, func(a, b *block.Block) int {
		am, bm := a.Meta(), b.Meta()
		if am.MinTime != bm.MinTime {
			if am.MinTime < bm.MinTime {
				return -1
			}
			return 1
		}
		return am.ULID.Compare(bm.ULID)
	})

	meta := block.Meta{MinTime: math.MaxInt64, MaxTime: math.MinInt64}
	seen := map[block.ULID]bool{}
	for _, b := range blocks {
		m := b.Meta()
		meta.MinTime, meta.MaxTime = min(meta.MinTime, m.MinTime), max(meta.MaxTime, m.MaxTime)
		meta.Compaction.Level = max(meta.Compaction.Level, m.Compaction.Level)
		for _, s := range m.Compaction.Sources {
			if !seen[s] {
				seen[s] = true
				meta.Compaction.Sources = append(meta.Compaction.Sources, s)
			}
		}
		meta.Compaction.Parents = append(meta.Compaction.Parents, m.Desc())
	}
	meta.Compaction.Level++
	slices.SortFunc(meta.Compaction.Sources, block.ULID.Compare)

	var sets []storage.SeriesSet
	for _, b := range blocks {
		q, err := b.Querier(meta.MinTime, meta.MaxTime-1)
		if err != nil {
			return nil, err
		}
		defer q.Close()
		sets = append(sets, q.Select(ctx, true, nil))
	}
	merged := storage.NewMergeSeriesSet(sets, 0, storage.ChainedSeriesMerge)
	out, err := block.Write(ctx, c.fs, dest, meta, merged, c.WriteOptions(meta.Compaction.Level))
	if err != nil {
		if errors.Is(err, chunks.ErrCorruption) || errors.Is(err, block.ErrCorrupt) {
			c.markFailed(blocks, err)
		}
		if errors.Is(err, block.ErrEmpty) {
			return nil, err
		}
		return nil, fmt.Errorf("compact %v: %w", dirs, err)
	}
	c.logger.Info("compacted blocks", "ulid", out.ULID, "level", out.Compaction.Level,
		"mint", out.MinTime, "maxt", out.MaxTime, "sources", len(blocks),
		"series", out.Stats.NumSeries, "samples", out.Stats.NumSamples, "duration", time.Since(start))
	return out, nil
}

// markFailed flags the blocks an error names as failed in their meta.json.
// Errors name the block directory (index errors) or a file inside it
// (chunk errors).
func (c *Compactor) markFailed(blocks []*block.Block, cause error) {
	msg := cause.Error()
	for _, b := range blocks {
		if !strings.Contains(msg, b.Dir()) {
			continue
		}
		m := b.Meta()
		m.Compaction.Failed = true
		if _, err := block.WriteMeta(c.fs, b.Dir(), &m); err != nil {
			c.logger.Error("marking block failed", "dir", b.Dir(), "err", err)
			continue
		}
		c.logger.Error("block is corrupt; excluded from compaction", "dir", b.Dir(), "err", cause)
	}
}

// Write persists the samples of q in [mint, maxt) as a new level-1 block
// in dest: how the head's oldest range becomes a block. q is read with a
// sorted Select without matchers (every series). parent, when set, is
// recorded as the new block's parent (for rewrites of an existing
// block). block.ErrEmpty means there were no samples and no block.
func (c *Compactor) Write(ctx context.Context, dest string, q storage.Querier, mint, maxt int64, parent *block.Meta) (*block.Meta, error) {
	meta := block.Meta{MinTime: mint, MaxTime: maxt, Compaction: block.Compaction{Level: 1}}
	if parent != nil {
		meta.Compaction.Parents = []block.BlockDesc{parent.Desc()}
		meta.Compaction.Level = parent.Compaction.Level
		meta.Compaction.Sources = parent.Compaction.Sources
	}
	start := time.Now()
	out, err := block.Write(ctx, c.fs, dest, meta, q.Select(ctx, true, nil), c.WriteOptions(meta.Compaction.Level))
	if err != nil {
		return nil, err
	}
	c.logger.Info("wrote block", "ulid", out.ULID, "mint", mint, "maxt", maxt,
		"series", out.Stats.NumSeries, "samples", out.Stats.NumSamples, "duration", time.Since(start))
	return out, nil
}
