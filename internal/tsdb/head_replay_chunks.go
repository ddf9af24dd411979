package tsdb

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/vigil-monitoring/vigil/internal/storage"
	"github.com/vigil-monitoring/vigil/internal/tsdb/chunkenc"
	"github.com/vigil-monitoring/vigil/internal/tsdb/headchunks"
)

// mmappedChunks are the chunks of the head chunk files by series, read at
// startup before the WAL. The files identify a series only by ref; WAL
// replay creates series from their records and each takes its chunks
// then, before any of its samples are replayed.
type mmappedChunks struct {
	byRef map[storage.SeriesRef]*chunkListBuilder
	// maxRef is the highest series ref in the files. New refs must stay
	// above it even when the WAL no longer has that series: a reused ref
	// would inherit the old series' chunks at the next start.
	maxRef     storage.SeriesRef
	chunks     int // read
	attached   int // taken by a series
	outOfOrder int // overlapping a series' previous chunk, dropped
	old        int // ending before the head's minimum valid time, dropped
}

// loadHeadChunks opens the head chunk files in dir and reads every chunk.
// Files of a format this version does not know are moved aside (the WAL
// holds their samples) rather than failing every start.
func (h *Head) loadHeadChunks(dir string) (*mmappedChunks, error) {
	start := time.Now()
	opts := headchunks.Options{
		FS:              h.opts.FS,
		Logger:          h.opts.Logger,
		MaxFileSize:     h.opts.HeadChunksFileSize,
		WriteBufferSize: h.opts.HeadChunksWriteBufferSize,
	}
	mm := &mmappedChunks{byRef: map[storage.SeriesRef]*chunkListBuilder{}}
	minValid := h.minValidTime.Load()
	add := func(e headchunks.Entry) {
		mm.chunks++
		ref := storage.SeriesRef(e.Series)
		mm.maxRef = max(mm.maxRef, ref)
		if e.MaxT < minValid {
			mm.old++
			return
		}
		lb := mm.byRef[ref]
		if lb == nil {
			lb = &chunkListBuilder{}
			mm.byRef[ref] = lb
		} else if e.MinT <= lb.last.maxT {
			mm.outOfOrder++
			return
		}
		lb.add(chunkMeta{ref: e.Ref, minT: e.MinT, maxT: e.MaxT})
	}
	store, err := headchunks.Open(dir, opts)
	if err != nil {
		return nil, err
	}
	st, err := store.Replay(add)
	var fe *headchunks.FormatError
	if errors.As(err, &fe) {
		store.Close()
		aside := dir + ".unknown-format"
		h.opts.Logger.Error("head chunk files have an unknown format; moving them aside and rebuilding the head from the WAL",
			"err", err, "moved_to", aside)
		if err := h.opts.FS.RemoveAll(aside); err != nil {
			return nil, err
		}
		if err := h.opts.FS.Rename(dir, aside); err != nil {
			return nil, fmt.Errorf("move %s aside: %w", dir, err)
		}
		*mm = mmappedChunks{byRef: map[storage.SeriesRef]*chunkListBuilder{}}
		if store, err = headchunks.Open(dir, opts); err != nil {
			return nil, err
		}
		st, err = store.Replay(add)
	}
	if err != nil {
		store.Close()
		return nil, fmt.Errorf("replay head chunk files: %w", err)
	}
	if st.Corruption != nil {
		h.metrics.mmapCorruptions.Inc()
	}
	h.chunks = store
	if st.Files > 0 {
		h.opts.Logger.Info("head chunk files loaded", "files", st.Files, "chunks", st.Chunks,
			"series", len(mm.byRef), "duration", time.Since(start))
	}
	return mm, nil
}

// attach gives s the chunks the files hold for it. Only a series' first
// record takes chunks: chunks written under a ref that replay found to be
// a duplicate of another series' labels are left out, their samples being
// in the WAL under that ref too (the WAL keeps every sample the head
// keeps).
func (mm *mmappedChunks) attach(h *Head, s *memSeries) {
	lb := mm.byRef[s.ref]
	if lb == nil {
		return
	}
	delete(mm.byRef, s.ref)
	lock := h.series.refLock(s.ref)
	lock.Lock()
	s.full = lb.list()
	s.lastT = lb.last.maxT
	lock.Unlock()
	mm.attached += lb.n
	first, _ := s.full.first()
	h.updateMinMaxTime(first.minT, lb.last.maxT)
}

// finishReplay completes the head after WAL replay: it indexes the series
// in ref order, keeps new refs above every ref seen, and restores the
// newest value of series whose newest sample is in a chunk file (for
// duplicate detection).
func (h *Head) finishReplay(r *replayer) error {
	mm := r.mmapped
	slices.SortFunc(r.created, func(a, b *memSeries) int { return cmp.Compare(a.ref, b.ref) })
	h.postings.addSorted(r.created, h.symbols)
	h.lastRef.Store(max(h.lastRef.Load(), uint64(mm.maxRef)))
	h.numChunks.Add(int64(mm.attached))
	h.metrics.chunks.Add(float64(mm.attached))
	if left := mm.chunks - mm.attached - mm.old - mm.outOfOrder; left > 0 || mm.outOfOrder > 0 {
		h.opts.Logger.Info("head chunks not attached to a series", "series_gone", left, "overlapping", mm.outOfOrder, "too_old", mm.old)
	}
	mm.byRef = nil

	rd := h.chunks.Reader()
	defer rd.Close()
	for _, s := range r.created {
		if s.open != openNone || s.full == "" {
			continue
		}
		last, _ := s.full.last()
		if err := s.restoreLast(rd, last); err != nil {
			return fmt.Errorf("read the newest head chunk of series %d: %w", s.ref, err)
		}
	}
	return nil
}

// restoreLast sets lastV (or the last histogram) from the last sample of
// chunk c, which ends at s.lastT. Replay is single-threaded here.
func (s *memSeries) restoreLast(rd *headchunks.Reader, c chunkMeta) error {
	chk, err := rd.Chunk(c.ref)
	if err != nil {
		return err
	}
	it := chk.Iterator(nil)
	for range chk.NumSamples() {
		if it.Next() == storage.ValNone {
			if err := it.Err(); err != nil {
				return err
			}
			return fmt.Errorf("chunk %v has fewer samples than its header says", c.ref)
		}
	}
	switch chk.Encoding() {
	case chunkenc.EncXOR:
		_, s.lastV = it.At()
	case chunkenc.EncHistogram:
		_, h := it.AtHistogram(nil)
		s.extLocked().lastH = h
	case chunkenc.EncFloatHistogram:
		_, fh := it.AtFloatHistogram(nil)
		s.extLocked().lastFH = fh
	}
	return nil
}
