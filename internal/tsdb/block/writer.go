package block

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"time"

	"github.com/vigil-monitoring/vigil/internal/model/histogram"
	"github.com/vigil-monitoring/vigil/internal/model/labels"
	"github.com/vigil-monitoring/vigil/internal/storage"
	"github.com/vigil-monitoring/vigil/internal/tsdb/chunkenc"
	"github.com/vigil-monitoring/vigil/internal/tsdb/chunks"
	"github.com/vigil-monitoring/vigil/internal/tsdb/index"
	"github.com/vigil-monitoring/vigil/internal/tsdb/tombstones"
	"github.com/vigil-monitoring/vigil/internal/tsdb/vfs"
)

// WriteOptions tune how Write encodes a block.
type WriteOptions struct {
	// ColdFloatChunks stores float samples in the cold encoding
	// (chunks.EncColdFloat) instead of XOR. Compaction sets it: it is
	// smaller on disk and a little slower to decode.
	ColdFloatChunks bool
	// SamplesPerChunk is the number of float samples after which a chunk
	// is cut. 0 means chunkenc.SamplesPerChunk (120) for XOR and
	// DefaultColdSamplesPerChunk for cold chunks. Histogram chunks are
	// always cut as the head cuts them.
	SamplesPerChunk int
	// SegmentSize is the chunk segment file size limit; 0 means 512 MiB.
	SegmentSize int64
}

// DefaultColdSamplesPerChunk is the default float chunk length of cold
// chunks: long chunks let zstd find more repetition, while a query for a
// few minutes still decodes only a few kilobytes.
const DefaultColdSamplesPerChunk = 480

// Write writes a block holding the samples of set that fall in
// [meta.MinTime, meta.MaxTime) under parent/<ULID> and returns its final
// meta. set must be sorted by labels with each label set once (a
// storage.Querier's Select with sortSeries=true, or a merge of such).
//
// From meta it takes the ULID (a new one when zero), the time range and
// Compaction (level 1 and the block itself as source when unset); stats
// and encodings are computed.
//
// The block is built in parent/<ULID>.tmp-for-creation, every file and
// directory fsynced, and then renamed into place, so a crash leaves either
// a complete block or a temporary directory that Open refuses. An error
// means there is no block: the temporary directory is removed, and so is
// the renamed block when the final directory fsync fails. A set without
// samples in range yields ErrEmpty and no block.
func Write(ctx context.Context, fsys vfs.FS, parent string, meta Meta, set storage.SeriesSet, opts WriteOptions) (*Meta, error) {
	if meta.MinTime >= meta.MaxTime {
		return nil, fmt.Errorf("block: empty time range [%d, %d)", meta.MinTime, meta.MaxTime)
	}
	if meta.ULID.IsZero() {
		u, err := NewULID(time.Now())
		if err != nil {
			return nil, err
		}
		meta.ULID = u
	}
	if meta.Compaction.Level == 0 {
		meta.Compaction.Level = 1
	}
	if len(meta.Compaction.Sources) == 0 {
		meta.Compaction.Sources = []ULID{meta.ULID}
	}
	meta.Version = MetaVersion
	meta.Stats = Stats{}
	final := filepath.Join(parent, meta.ULID.String())
	tmp := final + TmpForCreationSuffix
	if err := fsys.RemoveAll(tmp); err != nil {
		return nil, err
	}
	if err := fsys.MkdirAll(tmp, 0o777); err != nil {
		return nil, err
	}
	err := writeTmp(ctx, fsys, tmp, &meta, set, opts)
	if err == nil {
		err = fsys.Rename(tmp, final)
	}
	if err != nil {
		// Best effort: on a crashed or full file system this may fail too,
		// and the DB removes leftover temporary directories on open.
		_ = fsys.RemoveAll(tmp)
		return nil, err
	}
	if err := fsys.SyncDir(parent); err != nil {
		// The rename may not be durable. Take the block back so that an
		// error always means "no block" and the caller can simply retry.
		tmpDel := final + TmpForDeletionSuffix
		if fsys.Rename(final, tmpDel) == nil {
			_ = fsys.RemoveAll(tmpDel)
		}
		return nil, err
	}
	return &meta, nil
}

// writeTmp writes the block files into tmp and fsyncs them.
func writeTmp(ctx context.Context, fsys vfs.FS, tmp string, meta *Meta, set storage.SeriesSet, opts WriteOptions) error {
	cw, err := chunks.NewWriter(fsys, filepath.Join(tmp, ChunksDirname), opts.SegmentSize)
	if err != nil {
		return err
	}
	iw, err := index.NewWriter(fsys, filepath.Join(tmp, IndexFilename))
	if err != nil {
		cw.Close()
		return err
	}
	enc := newSeriesEncoder(meta.MinTime, meta.MaxTime, opts)
	err = writeSeries(ctx, set, enc, cw, iw, &meta.Stats)
	if cerr := cw.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		iw.Abort()
		return err
	}
	if meta.Stats.NumSamples == 0 {
		iw.Abort()
		return ErrEmpty
	}
	if err := iw.Close(); err != nil {
		return err
	}
	if _, err := tombstones.WriteFile(fsys, tmp, tombstones.New()); err != nil {
		return err
	}
	meta.Vigil.ChunkEncodings = enc.usedEncodings()
	if _, err := WriteMeta(fsys, tmp, meta); err != nil {
		return err
	}
	return fsys.SyncDir(tmp)
}

func writeSeries(ctx context.Context, set storage.SeriesSet, enc *seriesEncoder, cw *chunks.Writer, iw *index.Writer, st *Stats) error {
	var it storage.Iterator
	for n := 0; set.Next(); n++ {
		if n%256 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		s := set.At()
		lset := s.Labels()
		it = s.Iterator(it)
		metas, err := enc.encode(it)
		if err != nil {
			return fmt.Errorf("block: series %s: %w", lset, err)
		}
		if len(metas) == 0 {
			continue
		}
		if err := cw.WriteChunks(metas...); err != nil {
			return err
		}
		if err := iw.AddSeries(lset, metas...); err != nil {
			return err
		}
		st.NumSeries++
		st.NumChunks += uint64(len(metas))
		st.NumSamples += uint64(enc.floats + enc.histograms)
		st.NumFloatSamples += uint64(enc.floats)
		st.NumHistogramSamples += uint64(enc.histograms)
	}
	return set.Err()
}

// seriesEncoder turns one series' samples into chunks.
type seriesEncoder struct {
	mint, maxt int64 // maxt exclusive
	opts       WriteOptions
	perChunk   int
	used       map[chunkenc.Encoding]bool
	cold       chunks.ColdEncoder // scratch buffers reused across chunks

	// Per series state, reset by encode.
	metas              []chunks.Meta
	floats, histograms int
	ts                 []int64
	vs                 []float64
	xorApp             *chunkenc.XORAppender
	hApp               *chunkenc.HistogramAppender
	fhApp              *chunkenc.FloatHistogramAppender
	curMinT, curMaxT   int64
	curN               int
	h                  histogram.Histogram
	fh                 histogram.FloatHistogram
	curKind            storage.ValueType
}

func newSeriesEncoder(mint, maxt int64, opts WriteOptions) *seriesEncoder {
	e := &seriesEncoder{mint: mint, maxt: maxt, opts: opts, used: map[chunkenc.Encoding]bool{}}
	e.perChunk = opts.SamplesPerChunk
	if e.perChunk <= 0 {
		e.perChunk = chunkenc.SamplesPerChunk
		if opts.ColdFloatChunks {
			e.perChunk = DefaultColdSamplesPerChunk
		}
	}
	e.perChunk = min(e.perChunk, chunks.ColdMaxSamples)
	return e
}

func (e *seriesEncoder) usedEncodings() []chunkenc.Encoding {
	var out []chunkenc.Encoding
	for enc := range e.used {
		out = append(out, enc)
	}
	slices.Sort(out)
	return out
}

// encode reads the samples of it in [mint, maxt) and returns their chunks.
// The returned slice is reused by the next call.
func (e *seriesEncoder) encode(it storage.Iterator) ([]chunks.Meta, error) {
	e.metas = e.metas[:0]
	e.floats, e.histograms = 0, 0
	e.curKind, e.curN = storage.ValNone, 0
	lastT := int64(0)
	for typ := it.Seek(e.mint); typ != storage.ValNone; typ = it.Next() {
		t := it.AtT()
		if t >= e.maxt {
			break
		}
		if e.curN > 0 || len(e.metas) > 0 {
			if t <= lastT {
				return nil, fmt.Errorf("samples out of order: %d after %d", t, lastT)
			}
		}
		lastT = t
		if typ != e.curKind || e.full() {
			if err := e.cut(); err != nil {
				return nil, err
			}
			if err := e.start(typ); err != nil {
				return nil, err
			}
		}
		if err := e.append(typ, it, t); err != nil {
			return nil, err
		}
	}
	if err := it.Err(); err != nil {
		return nil, err
	}
	if err := e.cut(); err != nil {
		return nil, err
	}
	return e.metas, nil
}

// full reports whether the open chunk reached its cut size.
func (e *seriesEncoder) full() bool {
	switch e.curKind {
	case storage.ValFloat:
		return e.curN >= e.perChunk
	case storage.ValHistogram:
		return e.curN >= chunkenc.SamplesPerChunk || len(e.hApp.Chunk().Bytes()) >= chunkenc.HistogramChunkBytes
	case storage.ValFloatHistogram:
		return e.curN >= chunkenc.SamplesPerChunk || len(e.fhApp.Chunk().Bytes()) >= chunkenc.HistogramChunkBytes
	}
	return false
}

func (e *seriesEncoder) start(typ storage.ValueType) error {
	e.curKind, e.curN = typ, 0
	var err error
	switch typ {
	case storage.ValFloat:
		if e.opts.ColdFloatChunks {
			e.ts, e.vs = e.ts[:0], e.vs[:0]
		} else {
			e.xorApp, err = chunkenc.NewXORChunk().Appender()
		}
	case storage.ValHistogram:
		e.hApp, err = chunkenc.NewHistogramChunk().Appender()
	case storage.ValFloatHistogram:
		e.fhApp, err = chunkenc.NewFloatHistogramChunk().Appender()
	default:
		err = fmt.Errorf("unknown sample type %v", typ)
	}
	return err
}

func (e *seriesEncoder) append(typ storage.ValueType, it storage.Iterator, t int64) error {
	if e.curN == 0 {
		e.curMinT = t
	}
	e.curMaxT = t
	e.curN++
	switch typ {
	case storage.ValFloat:
		_, v := it.At()
		e.floats++
		if e.opts.ColdFloatChunks {
			e.ts, e.vs = append(e.ts, t), append(e.vs, v)
		} else {
			e.xorApp.Append(t, v)
		}
	case storage.ValHistogram:
		_, h := it.AtHistogram(&e.h)
		e.histograms++
		return e.hApp.AppendHistogram(t, h)
	case storage.ValFloatHistogram:
		_, fh := it.AtFloatHistogram(&e.fh)
		e.histograms++
		return e.fhApp.AppendFloatHistogram(t, fh)
	}
	return nil
}

// cut closes the open chunk, if it has samples, into a meta.
func (e *seriesEncoder) cut() error {
	if e.curN == 0 {
		return nil
	}
	var c chunkenc.Chunk
	switch e.curKind {
	case storage.ValFloat:
		if e.opts.ColdFloatChunks {
			cc, err := e.cold.Encode(e.ts, e.vs)
			if err != nil {
				return err
			}
			c = cc
		} else {
			c = e.xorApp.Chunk()
		}
	case storage.ValHistogram:
		c = e.hApp.Chunk()
	case storage.ValFloatHistogram:
		c = e.fhApp.Chunk()
	default:
		return errors.New("block: chunk of unknown kind")
	}
	e.used[c.Encoding()] = true
	e.metas = append(e.metas, chunks.Meta{MinT: e.curMinT, MaxT: e.curMaxT, Chunk: c})
	e.curN = 0
	return nil
}

// SeriesSetFromLabels is a helper for callers that hold series in memory:
// it sorts them by labels and returns a set over them. Label sets must be
// distinct.
func SeriesSetFromLabels(series []storage.Series) storage.SeriesSet {
	slices.SortFunc(series, func(a, b storage.Series) int { return labels.Compare(a.Labels(), b.Labels()) })
	return storage.NewListSeriesSet(series...)
}
