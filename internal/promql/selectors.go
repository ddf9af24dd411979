package promql

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"

	"github.com/vigil-monitoring/vigil/internal/model/histogram"
	"github.com/vigil-monitoring/vigil/internal/model/labels"
	"github.com/vigil-monitoring/vigil/internal/model/value"
	"github.com/vigil-monitoring/vigil/internal/promql/parser"
	"github.com/vigil-monitoring/vigil/internal/storage"
)

// StartTimestampIterator is implemented by storage iterators that know the
// start timestamp (the "created timestamp" of a counter, or the start of a
// delta's interval) of the current sample. rate(), increase(), irate(),
// resets() and start_timestamp() use it when present; 0 means unknown.
type StartTimestampIterator interface {
	AtST() int64
}

// expand returns the series of a selector, reading its series set on first
// use.
func (ev *evaluator) expand(ctx context.Context, vs *parser.VectorSelector) []storage.Series {
	sel := ev.st.selections[vs]
	if sel == nil {
		// A selector created during evaluation (the at-modifier tests of
		// the script runner rewrite queries; nothing else does): select now.
		sel = &selection{set: ev.st.querier.Select(ctx, false, nil, vs.LabelMatchers...)}
		ev.st.selections[vs] = sel
	}
	if sel.expanded {
		return sel.series
	}
	if sel.series == nil {
		sel.series = getSeriesSlice()
	}
	for sel.set.Next() {
		ev.checkContext(ctx)
		s := sel.set.At()
		if vs.SkipHistogramBuckets {
			s = statsSeries{s}
		}
		sel.series = append(sel.series, s)
	}
	for _, w := range sel.set.Warnings() {
		ev.st.annos.Add(w)
	}
	if err := sel.set.Err(); err != nil {
		ev.error(ErrStorage{Err: fmt.Errorf("expanding series: %w", err)})
	}
	sel.expanded = true
	return sel.series
}

// cursor walks one series for an instant selector. It remembers the
// latest sample at or before the last time asked for, so a range query
// reads every sample once.
//
// INVARIANT: the iterator stands on the first sample not yet consumed
// (typ is its type, ValNone when the series is exhausted).
type cursor struct {
	it  storage.Iterator
	sti StartTimestampIterator // it, when it knows start timestamps
	// fr is it when it hands out decoded float runs and sti is nil.
	fr  storage.FloatRunIterator
	typ storage.ValueType
	t   int64

	// runT and runV, when runT is set, are the float run the iterator
	// handed out, which stands at its start; runPos is the cursor's
	// position in it. Steps that stay inside the run then need no call
	// into the iterator; sync moves the iterator before other uses.
	runT   []int64
	runV   []float64
	runPos int

	prevOK bool
	prevT  int64
	prevF  float64
	prevH  *histogram.FloatHistogram
	prevST int64
	// prevShared is set once prevH has been handed out; until then its
	// memory may be reused for the next histogram.
	prevShared bool
}

func (c *cursor) reset(it storage.Iterator) {
	c.it = it
	c.sti, _ = it.(StartTimestampIterator)
	c.fr = nil
	if c.sti == nil {
		c.fr, _ = it.(storage.FloatRunIterator)
	}
	c.prevOK, c.prevH, c.prevShared = false, nil, false
	c.runT, c.runV, c.runPos = nil, nil, 0
	c.advance(it.Next())
}

// sync moves the iterator to the cursor's position in the held run and
// lets go of the run.
func (c *cursor) sync() {
	if c.runT == nil {
		return
	}
	if c.runPos > 0 {
		c.fr.SkipFloats(c.runPos)
	}
	c.runT, c.runV, c.runPos = nil, nil, 0
}

func (c *cursor) advance(typ storage.ValueType) {
	c.typ = typ
	if typ != storage.ValNone {
		c.t = c.it.AtT()
	}
}

// at returns the latest sample with a time in (ref-lookback, ref], unless
// it is a staleness marker. Times asked for must not decrease.
func (c *cursor) at(ref, lookback int64) (t int64, f float64, h *histogram.FloatHistogram, ok bool) {
	if c.typ != storage.ValNone && c.t <= ref-lookback {
		// Samples this old matter neither now nor later.
		c.prevOK = false
		c.sync()
		c.advance(c.it.Seek(ref - lookback + 1))
	}
	for c.typ != storage.ValNone && c.t <= ref {
		if c.typ == storage.ValFloat && c.fr != nil {
			// Take the latest sample up to ref from the decoded run
			// (ts[0] = c.t <= ref) with one call instead of three a
			// sample.
			if c.runT == nil {
				if ts, vs := c.fr.FloatRun(); len(ts) > 1 {
					c.runT, c.runV, c.runPos = ts, vs, 0
				}
			}
			if ts, vs := c.runT, c.runV; ts != nil {
				k := c.runPos + 1
				for k < len(ts) && ts[k] <= ref {
					k++
				}
				c.prevT, c.prevF, c.prevH, c.prevOK = ts[k-1], vs[k-1], nil, true
				if k < len(ts) {
					c.t = ts[k]
					c.runPos = k
					continue
				}
				c.fr.SkipFloats(k - 1)
				c.runT, c.runV, c.runPos = nil, nil, 0
				c.advance(c.it.Next())
				continue
			}
		}
		switch c.typ {
		case storage.ValFloat:
			c.prevT, c.prevF = c.it.At()
			c.prevH = nil
		case storage.ValHistogram, storage.ValFloatHistogram:
			var reuse *histogram.FloatHistogram
			if c.prevH != nil && !c.prevShared {
				reuse = c.prevH
			}
			c.prevT, c.prevH = c.it.AtFloatHistogram(reuse)
			c.prevShared = false
		}
		if c.sti != nil {
			c.prevST = c.sti.AtST()
		}
		c.prevOK = true
		c.advance(c.it.Next())
	}
	if !c.prevOK || c.prevT <= ref-lookback {
		return 0, 0, nil, false
	}
	if c.prevH != nil {
		if value.IsStaleNaN(c.prevH.Sum) {
			return 0, 0, nil, false
		}
		c.prevShared = true
		return c.prevT, 0, c.prevH, true
	}
	if value.IsStaleNaN(c.prevF) {
		return 0, 0, nil, false
	}
	return c.prevT, c.prevF, nil, true
}

func (c *cursor) err() error { return c.it.Err() }

// latestSample is cursor.at for a single ref, answered without an
// iterator by series that know their newest sample (see
// storage.LatestFloatSeries): t and f are the sample in (ref-lookback, ref]
// the selector reads, and ok reports whether there is one. handled is
// false when the series cannot tell; the caller then reads its iterator.
func latestSample(s storage.Series, ref, lookback int64) (t int64, f float64, ok, handled bool) {
	ls, isLatest := s.(storage.LatestFloatSeries)
	if !isLatest {
		return 0, 0, false, false
	}
	t, f, handled = ls.LatestFloat(ref)
	if !handled {
		return 0, 0, false, false
	}
	// The newest sample at or before ref decides, as in cursor.at: too
	// old or a staleness marker, the series has no value at ref.
	return t, f, t > ref-lookback && !value.IsStaleNaN(f), true
}

// evalSeries evaluates an instant selector over the series at every step.
func (ev *evaluator) evalSeries(ctx context.Context, series []storage.Series, offset int64) Matrix {
	numSteps := ev.numSteps()
	mat := getMatrix(len(series))
	var c cursor
	it := getIterator()
	defer func() { putIterator(it) }()
	lookback := ev.st.lookback
	// At a single step, the series' one points share an array, each
	// capped to its own.
	var single []FPoint
	if numSteps == 1 {
		single = make([]FPoint, len(series))
	}
	perStep := ev.samplesStats != nil && ev.samplesStats.TotalSamplesPerStep != nil
	for i, s := range series {
		ev.checkContext(ctx)
		if single != nil {
			// One step needs only the newest sample at or before it,
			// which some series know without reading their samples.
			if _, f, ok, handled := latestSample(s, ev.startTimestamp-offset, lookback); handled {
				if ok {
					ev.addSamples(1)
					ev.samplesStats.addAtStep(0, 1)
					single[i] = FPoint{T: ev.startTimestamp, F: f}
					mat = append(mat, Series{Metric: s.Labels(), Floats: single[i : i+1 : i+1]})
				}
				continue
			}
		}
		it = s.Iterator(it)
		c.reset(it)
		ss := Series{Metric: s.Labels()}
		step := -1
		floats := 0 // float points, accounted once the series is done
		for ts := ev.startTimestamp; ts <= ev.endTimestamp; ts += ev.interval {
			step++
			ref := ts - offset
			if rt := c.runT; rt != nil && c.t <= ref && c.t > ref-lookback {
				// cursor.at's common case inline: the next sample is
				// in the held run and in the window, and a later one
				// in the run is past ref. A call per step was a fifth
				// of a range selector's time.
				k := c.runPos + 1
				for k < len(rt) && rt[k] <= ref {
					k++
				}
				if k < len(rt) {
					f := c.runV[k-1]
					c.prevT, c.prevF, c.prevH, c.prevOK = rt[k-1], f, nil, true
					c.t, c.runPos = rt[k], k
					if value.IsStaleNaN(f) {
						continue
					}
					if ss.Floats == nil {
						ss.Floats = ev.seriesPoints(single, i, numSteps)
					}
					ss.Floats = append(ss.Floats, FPoint{T: ts, F: f})
					floats++
					if perStep {
						ev.samplesStats.addAtStep(step, 1)
					}
					continue
				}
			}
			_, f, h, ok := c.at(ref, lookback)
			if !ok {
				continue
			}
			if h == nil {
				if ss.Floats == nil {
					ss.Floats = ev.seriesPoints(single, i, numSteps)
				}
				ss.Floats = append(ss.Floats, FPoint{T: ts, F: f})
				floats++
				if perStep {
					ev.samplesStats.addAtStep(step, 1)
				}
			} else {
				n := histogramSampleSize(h)
				ev.addSamples(n)
				ev.samplesStats.addAtStep(step, int64(n))
				ss.Histograms = append(ss.Histograms, HPoint{T: ts, H: h})
			}
		}
		// The limit check per series fails the same queries as one per
		// sample: nothing but the check happens in between.
		ev.addSamples(floats)
		if !perStep {
			ev.samplesStats.addAtStep(-1, int64(floats))
		}
		if err := c.err(); err != nil {
			ev.error(ErrStorage{Err: err})
		}
		ss.Floats = ev.shrinkFloats(ss.Floats)
		if len(ss.Floats)+len(ss.Histograms) > 0 {
			mat = append(mat, ss)
		}
	}
	ev.updatePeak()
	return mat
}

// seriesPoints returns the empty slice for the points of series i of an
// instant selector: its element of single at a single step.
func (ev *evaluator) seriesPoints(single []FPoint, i, numSteps int) []FPoint {
	if single != nil {
		return single[i : i : i+1]
	}
	return getFPoints(numSteps)
}

// window holds the samples of one series in a time range (mint, maxt] that
// only moves forward, reading each sample from the iterator once.
// Staleness markers are skipped. floats and hists (and the start
// timestamps) are views into buffers that are reused as the window slides
// (see slide), so moving the window copies no samples in the common case.
type window struct {
	it  storage.Iterator
	fr  storage.FloatRunIterator // it, when it hands out float runs and withST is off
	typ storage.ValueType
	t   int64

	floats []FPoint
	hists  []HPoint
	// floatSTs and histSTs are the start timestamps of the points, kept
	// when the iterator knows them.
	floatSTs, histSTs []int64
	withST            bool

	fbuf   slide[FPoint]
	hbuf   slide[HPoint]
	fstbuf slide[int64]
	hstbuf slide[int64]

	// fcum holds, for every float point, how many counter resets
	// (decreases) and value changes there were between consecutive float
	// points from the first one read up to it. In a window of floats only,
	// consecutive floats are consecutive samples, so the counts over the
	// window are differences of two entries (see pairCounts).
	fcum  slide[pairCount]
	lastF float64
	cum   pairCount
	anyF  bool
}

// pairCount counts counter resets and changes between consecutive samples.
type pairCount struct{ resets, changes int }

// pairCounts returns the resets and changes between consecutive points of
// the window, which must hold floats only.
func (w *window) pairCounts() pairCount {
	c := w.fcum.items()
	first, last := c[0], c[len(c)-1]
	return pairCount{resets: last.resets - first.resets, changes: last.changes - first.changes}
}

// slide is a queue in a buffer: items leave at the front and join at the
// back. The room freed at the front is reclaimed, by moving the live items
// to the start of the buffer, once it is at least as large as the live
// part, so each item is moved O(1) times on average.
type slide[T any] struct {
	buf []T
	lo  int
}

func (s *slide[T]) items() []T { return s.buf[s.lo:] }

func (s *slide[T]) reset() {
	clear(s.buf) // Let histograms be collected.
	s.buf, s.lo = s.buf[:0], 0
}

// dropFront drops the first n items. It does not clear them: a caller
// whose items hold pointers clears them first (see window.advance), and
// for the others clearing is wasted work on every step.
func (s *slide[T]) dropFront(n int) {
	s.lo += n
	if s.lo == len(s.buf) {
		s.buf, s.lo = s.buf[:0], 0
	}
}

func (s *slide[T]) push(x T) {
	if len(s.buf) == cap(s.buf) && s.lo > 0 && s.lo >= len(s.buf)-s.lo {
		n := copy(s.buf, s.buf[s.lo:])
		clear(s.buf[n:])
		s.buf, s.lo = s.buf[:n], 0
	}
	s.buf = append(s.buf, x)
}

func (w *window) reset(it storage.Iterator) {
	w.it = it
	w.fbuf.reset()
	w.fcum.reset()
	w.cum, w.anyF = pairCount{}, false
	w.hbuf.reset()
	w.fstbuf.reset()
	w.hstbuf.reset()
	_, w.withST = it.(StartTimestampIterator)
	w.sync()
	w.fr = nil
	if !w.withST {
		w.fr, _ = it.(storage.FloatRunIterator)
	}
	w.typ = it.Next()
	if w.typ != storage.ValNone {
		w.t = it.AtT()
	}
}

// sync points the views at the buffers' live items.
func (w *window) sync() {
	w.floats, w.hists = w.fbuf.items(), w.hbuf.items()
	if w.withST {
		w.floatSTs, w.histSTs = w.fstbuf.items(), w.hstbuf.items()
	}
}

// advance moves the window to (mint, maxt] and returns how many samples
// (histograms by size) it dropped and added.
func (w *window) advance(mint, maxt int64) (dropped, added int) {
	// The window moves forward by a few samples at a time: a linear scan
	// beats a binary search, and costs O(1) per sample over the query.
	i := 0
	for i < len(w.floats) && w.floats[i].T <= mint {
		i++
	}
	if i > 0 {
		dropped += i
		w.fbuf.dropFront(i)
		w.fcum.dropFront(i)
		if w.withST {
			w.fstbuf.dropFront(i)
		}
	}
	i = 0
	for i < len(w.hists) && w.hists[i].T <= mint {
		i++
	}
	if i > 0 {
		dropped += histogramPointsSize(w.hists[:i])
		clear(w.hists[:i]) // Let the histograms be collected.
		w.hbuf.dropFront(i)
		if w.withST {
			w.hstbuf.dropFront(i)
		}
	}
	if w.typ != storage.ValNone && w.t <= mint {
		w.typ = w.it.Seek(mint + 1)
		if w.typ != storage.ValNone {
			w.t = w.it.AtT()
		}
	}
	for w.typ != storage.ValNone && w.t <= maxt {
		if w.typ == storage.ValFloat && w.fr != nil {
			// Take the run's samples up to maxt without a call each.
			if ts, vs := w.fr.FloatRun(); len(ts) > 1 {
				k := 0
				for ; k < len(ts) && ts[k] <= maxt; k++ {
					if f := vs[k]; !value.IsStaleNaN(f) {
						w.pushFloat(ts[k], f)
						added++
					}
				}
				if k < len(ts) {
					w.t = ts[k]
					w.fr.SkipFloats(k)
					continue
				}
				w.fr.SkipFloats(k - 1)
				w.typ = w.it.Next()
				if w.typ != storage.ValNone {
					w.t = w.it.AtT()
				}
				continue
			}
		}
		var st int64
		if w.withST {
			st = w.it.(StartTimestampIterator).AtST()
		}
		switch w.typ {
		case storage.ValFloat:
			t, f := w.it.At()
			if !value.IsStaleNaN(f) {
				w.pushFloat(t, f)
				if w.withST {
					w.fstbuf.push(st)
				}
				added++
			}
		case storage.ValHistogram, storage.ValFloatHistogram:
			t, h := w.it.AtFloatHistogram(nil)
			if !value.IsStaleNaN(h.Sum) {
				w.hbuf.push(HPoint{T: t, H: h})
				if w.withST {
					w.hstbuf.push(st)
				}
				added += histogramSampleSize(h)
			}
		}
		w.typ = w.it.Next()
		if w.typ != storage.ValNone {
			w.t = w.it.AtT()
		}
	}
	w.sync()
	return dropped, added
}

// pushFloat appends a float sample that is not a staleness marker,
// counting the reset or change it makes.
func (w *window) pushFloat(t int64, f float64) {
	if w.anyF {
		if f < w.lastF {
			w.cum.resets++
		}
		if f != w.lastF && !(math.IsNaN(f) && math.IsNaN(w.lastF)) {
			w.cum.changes++
		}
	}
	w.lastF, w.anyF = f, true
	w.fcum.push(w.cum)
	w.fbuf.push(FPoint{T: t, F: f})
}

func (w *window) size() int { return len(w.floats) + histogramPointsSize(w.hists) }

// startTimestamps returns the start timestamps of the window's points, or
// nil when the series has none.
func (w *window) startTimestamps() *startTimestamps {
	if !w.withST {
		return nil
	}
	return &startTimestamps{Floats: w.floatSTs, Histograms: w.histSTs}
}

// rangeBounds returns the time range a range selector of length rng with
// offset reads at ts: (ts-offset-rng, ts-offset], widened by the lookback
// delta on the left for anchored and on both sides for smoothed selectors.
func (ev *evaluator) rangeBounds(ts, offset, rng int64, anchored, smoothed bool) (mint, maxt int64) {
	maxt = ts - offset
	mint = maxt - rng
	switch {
	case anchored:
		mint -= ev.st.lookback
	case smoothed:
		mint -= ev.st.lookback
		maxt += ev.st.lookback
	}
	return mint, maxt
}

// matrixSelector evaluates a range selector at the (single) step.
func (ev *evaluator) matrixSelector(ctx context.Context, ms *parser.MatrixSelector) Matrix {
	vs := ms.VectorSelector.(*parser.VectorSelector)
	offset := vs.Offset.Milliseconds()
	rng := ms.Range.Milliseconds()
	mint, maxt := ev.rangeBounds(ev.startTimestamp, offset, rng, vs.Anchored, vs.Smoothed)
	series := ev.expand(ctx, vs)
	mat := make(Matrix, 0, len(series))
	w := getWindow()
	defer putWindow(w)
	it := getIterator()
	defer func() { putIterator(it) }()
	for _, s := range series {
		ev.checkContext(ctx)
		it = s.Iterator(it)
		w.reset(it)
		_, added := w.advance(mint, maxt)
		ev.addSamples(added)
		if err := w.it.Err(); err != nil {
			ev.error(ErrStorage{Err: err})
		}
		ss := Series{Metric: s.Labels()}
		if w.size() == 0 {
			continue
		}
		ss.Floats = append([]FPoint(nil), w.floats...)
		ss.Histograms = append([]HPoint(nil), w.hists...)
		if vs.Anchored || vs.Smoothed {
			rangeStart, rangeEnd := ev.startTimestamp-offset-rng, ev.startTimestamp-offset
			if len(ss.Histograms) > 0 && len(ss.Floats) > 0 {
				continue
			}
			if len(ss.Floats) > 0 {
				ss.Floats = extendFloats(ss.Floats, rangeStart, rangeEnd, vs.Smoothed)
			} else {
				var err error
				ss.Histograms, err = extendHistograms(ss.Histograms, rangeStart, rangeEnd, vs.Smoothed)
				if err != nil {
					continue
				}
			}
			if len(ss.Floats)+len(ss.Histograms) == 0 {
				continue
			}
		}
		ev.samplesStats.addAtTimestamp(ev.startTimestamp, int64(len(ss.Floats)+histogramPointsSize(ss.Histograms)))
		mat = append(mat, ss)
	}
	ev.updatePeak()
	return mat
}

// extendFloats turns the samples read for an anchored or smoothed range
// (rangeStart, rangeEnd] into points exactly at both boundaries: the value
// at the start is that of the last sample at or before it (interpolated
// with the next sample when smoothed), the value at the end that of the
// last sample (interpolated with the following one when smoothed).
func extendFloats(floats []FPoint, rangeStart, rangeEnd int64, smoothed bool) []FPoint {
	last := len(floats) - 1
	first := max(0, sort.Search(last, func(i int) bool { return floats[i].T > rangeStart })-1)
	if smoothed {
		last = sort.Search(last, func(i int) bool { return floats[i].T >= rangeEnd })
	}
	if floats[last].T <= rangeStart {
		return nil
	}
	if smoothed && floats[first].T > rangeEnd {
		return nil
	}
	left := pickOrInterpolateLeft(floats, first, rangeStart, smoothed, false)
	right := pickOrInterpolateRight(floats, last, rangeEnd, smoothed, false)
	if floats[first].T <= rangeStart {
		first++
	}
	if floats[last].T >= rangeEnd {
		last--
	}
	out := make([]FPoint, 0, max(last-first+1, 0)+2)
	out = append(out, FPoint{T: rangeStart, F: left})
	if first <= last {
		out = append(out, floats[first:last+1]...)
	}
	return append(out, FPoint{T: rangeEnd, F: right})
}

// extendHistograms is extendFloats for histograms.
func extendHistograms(hs []HPoint, rangeStart, rangeEnd int64, smoothed bool) ([]HPoint, error) {
	last := len(hs) - 1
	first := max(0, sort.Search(last, func(i int) bool { return hs[i].T > rangeStart })-1)
	if smoothed {
		last = sort.Search(last, func(i int) bool { return hs[i].T >= rangeEnd })
	}
	if hs[last].T <= rangeStart {
		return nil, nil
	}
	if smoothed && hs[first].T > rangeEnd {
		return nil, nil
	}
	left, err := pickOrInterpolateLeftHistogram(hs, first, rangeStart, smoothed, false)
	if err != nil {
		return nil, err
	}
	right, err := pickOrInterpolateRightHistogram(hs, last, rangeEnd, smoothed, false)
	if err != nil {
		return nil, err
	}
	if hs[first].T <= rangeStart {
		first++
	}
	if hs[last].T >= rangeEnd {
		last--
	}
	out := make([]HPoint, 0, max(last-first+1, 0)+2)
	out = append(out, HPoint{T: rangeStart, H: left})
	if first <= last {
		out = append(out, hs[first:last+1]...)
	}
	return append(out, HPoint{T: rangeEnd, H: right}), nil
}

// smoothSeries evaluates a smoothed instant selector: the value at each
// step is interpolated between the samples around it (within the lookback
// delta on either side), or the last sample when there is none after.
func (ev *evaluator) smoothSeries(ctx context.Context, series []storage.Series, offset int64, pos parser.PositionRange) Matrix {
	mat := make(Matrix, 0, len(series))
	lb := ev.st.lookback
	w := getWindow()
	defer putWindow(w)
	it := getIterator()
	defer func() { putIterator(it) }()
	for _, s := range series {
		ev.checkContext(ctx)
		it = s.Iterator(it)
		w.reset(it)
		ss := Series{Metric: s.Labels()}
		for ts := ev.startTimestamp; ts <= ev.endTimestamp; ts += ev.interval {
			ref := ts - offset
			w.advance(ref-lb, ref+lb)
			if len(w.floats) > 0 && len(w.hists) > 0 {
				ev.st.annos.Add(newMixedFloatsHistogramsWarning(metricName(s.Labels()), pos))
				continue
			}
			if len(w.hists) > 0 {
				h, err := smoothHistogramAt(w.hists, ref)
				switch {
				case err != nil:
					if errors.Is(err, histogram.ErrHistogramsIncompatibleSchema) {
						ev.st.annos.Add(newMixedExponentialCustomHistogramsWarning(metricName(s.Labels()), pos))
					}
				case h != nil:
					ss.Histograms = append(ss.Histograms, HPoint{T: ts, H: h})
				}
				continue
			}
			f := w.floats
			if len(f) == 0 {
				continue
			}
			i := sort.Search(len(f), func(i int) bool { return f[i].T >= ref })
			switch {
			case i < len(f) && f[i].T == ref:
				ss.Floats = append(ss.Floats, FPoint{T: ts, F: f[i].F})
			case i > 0 && i < len(f):
				ss.Floats = append(ss.Floats, FPoint{T: ts, F: interpolate(f[i-1], f[i], ref, false)})
			case i > 0:
				ss.Floats = append(ss.Floats, FPoint{T: ts, F: f[i-1].F})
			}
		}
		if err := w.it.Err(); err != nil {
			ev.error(ErrStorage{Err: err})
		}
		if n := len(ss.Floats) + histogramPointsSize(ss.Histograms); n > 0 {
			ev.addSamples(n)
			mat = append(mat, ss)
		}
	}
	ev.updatePeak()
	return mat
}

// smoothHistogramAt interpolates histograms at t as smoothSeries does for
// floats. Counter histograms are interpolated as counters (from zero after
// a reset). It returns nil when there is no value at t.
func smoothHistogramAt(hs []HPoint, t int64) (*histogram.FloatHistogram, error) {
	i := sort.Search(len(hs), func(i int) bool { return hs[i].T >= t })
	switch {
	case i < len(hs) && hs[i].T == t:
		return hs[i].H, nil
	case i > 0 && i < len(hs):
		prev, next := hs[i-1].H, hs[i].H
		isCounter := prev.CounterResetHint != histogram.GaugeType && next.CounterResetHint != histogram.GaugeType
		return interpolateHistograms(prev, hs[i-1].T, next, hs[i].T, t, isCounter)
	case i > 0:
		return hs[i-1].H, nil
	}
	return nil, nil
}

// seriesFromMatrix turns evaluated series (a subquery's result) into
// storage series, so that range functions can read them like selected
// ones. Series of floats alone are read in place (see floatSeries): the
// caller keeps mat's points until it is done with the series. Counter
// reset hints are cleared: the subquery's points are samples of samples,
// so a hint may refer to a sample not among them.
func seriesFromMatrix(mat Matrix) []storage.Series {
	out := make([]storage.Series, 0, len(mat))
	var fs []floatSeries
	for _, s := range mat {
		if len(s.Histograms) == 0 {
			if fs == nil {
				fs = make([]floatSeries, 0, len(mat))
			}
			fs = append(fs, floatSeries{metric: s.Metric, points: s.Floats})
			out = append(out, &fs[len(fs)-1])
			continue
		}
		samples := make([]storage.Sample, 0, len(s.Floats)+len(s.Histograms))
		i, j := 0, 0
		for i < len(s.Floats) || j < len(s.Histograms) {
			if j >= len(s.Histograms) || (i < len(s.Floats) && s.Floats[i].T < s.Histograms[j].T) {
				samples = append(samples, storage.Sample{T: s.Floats[i].T, F: s.Floats[i].F})
				i++
				continue
			}
			h := s.Histograms[j].H
			if h.CounterResetHint == histogram.CounterReset || h.CounterResetHint == histogram.NotCounterReset {
				c := *h
				c.CounterResetHint = histogram.UnknownCounterReset
				h = &c
			}
			samples = append(samples, storage.Sample{T: s.Histograms[j].T, FH: h})
			j++
		}
		out = append(out, storage.NewListSeries(s.Metric, samples))
	}
	return out
}

// floatSeries is a series of evaluated float points, read through
// floatPointIterator without copying them.
type floatSeries struct {
	metric labels.Labels
	points []FPoint
}

func (s *floatSeries) Labels() labels.Labels { return s.metric }

func (s *floatSeries) Iterator(it storage.Iterator) storage.Iterator {
	fi, ok := it.(*floatPointIterator)
	if !ok {
		fi = new(floatPointIterator)
	}
	fi.points, fi.i = s.points, -1
	return fi
}

// floatPointIterator walks float points. i is -1 before the first Next
// and len(points) once exhausted.
type floatPointIterator struct {
	points []FPoint
	i      int
}

func (it *floatPointIterator) Next() storage.ValueType {
	if it.i < len(it.points) {
		it.i++
	}
	if it.i < len(it.points) {
		return storage.ValFloat
	}
	return storage.ValNone
}

func (it *floatPointIterator) Seek(t int64) storage.ValueType {
	it.i = max(it.i, 0)
	if it.i < len(it.points) && it.points[it.i].T < t {
		rest := it.points[it.i:]
		it.i += sort.Search(len(rest), func(j int) bool { return rest[j].T >= t })
	}
	if it.i < len(it.points) {
		return storage.ValFloat
	}
	return storage.ValNone
}

func (it *floatPointIterator) At() (int64, float64) {
	p := it.points[it.i]
	return p.T, p.F
}

func (it *floatPointIterator) AtT() int64 { return it.points[it.i].T }

// AtHistogram and AtFloatHistogram are never valid: every point is a
// float. They report the time alone, as other iterators do for a float.
func (it *floatPointIterator) AtHistogram(*histogram.Histogram) (int64, *histogram.Histogram) {
	return it.points[it.i].T, nil
}

func (it *floatPointIterator) AtFloatHistogram(*histogram.FloatHistogram) (int64, *histogram.FloatHistogram) {
	return it.points[it.i].T, nil
}

func (it *floatPointIterator) Err() error { return nil }
