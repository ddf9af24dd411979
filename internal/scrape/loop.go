package scrape

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vigil-monitoring/vigil/internal/exposition"
	"github.com/vigil-monitoring/vigil/internal/model/exemplar"
	"github.com/vigil-monitoring/vigil/internal/model/labels"
	"github.com/vigil-monitoring/vigil/internal/model/metadata"
	"github.com/vigil-monitoring/vigil/internal/model/value"
	"github.com/vigil-monitoring/vigil/internal/storage"
)

// scrapeTimestampTolerance bounds how far a scrape may start from its
// slot and still be stamped with the slot's time. Identical spacing
// between samples makes the timestamp deltas of a chunk zero, which
// compresses to almost nothing; timer jitter of a millisecond would
// otherwise cost bits on every sample.
const scrapeTimestampTolerance = 2 * time.Millisecond

// scrapeLoop scrapes one target on its schedule.
type scrapeLoop struct {
	target  *Target
	opts    loopOptions
	scraper *targetScraper
	cache   *scrapeCache
	app     storage.Appendable
	metrics *scrapeMetrics
	logger  *slog.Logger
	buffers *bufferPool
	seed    uint64
	// intervalLength is this loop's child of the interval summary.
	intervalLength prometheus.Observer

	// parentCtx is the pool's: cancelled on shutdown, it aborts scrapes in
	// flight and suppresses end-of-run stale markers. ctx is the loop's
	// own, cancelled by stop; a scrape in flight then finishes, so that a
	// reload does not cut one short.
	parentCtx context.Context
	ctx       context.Context
	cancel    context.CancelFunc
	// stopped is closed when the schedule has ended; after it the loop
	// only ever writes end-of-run stale markers.
	stopped chan struct{}
	// endOfRunStaleness is set by stop before cancelling.
	endOfRunStaleness atomic.Bool
	// started is set by the pool (under its syncMu) when run is launched.
	started bool

	forced struct {
		sync.Mutex
		err error // target_limit exceeded: report it instead of scraping
	}

	// Used by the loop goroutine only.
	lastSize   int // bytes of the last non-empty body, to size the next buffer
	parserOpts exposition.Options
	sb         labels.ScratchBuilder
	lb         *labels.Builder
	ex         exemplar.Exemplar // one slot, so that Parser.Exemplar(&ex) does not allocate
	exemplars  []exemplar.Exemplar
	report     [len(reportSeries)]reportRef
}

// reportRef caches one synthetic series of the loop.
type reportRef struct {
	ref  storage.SeriesRef
	lset labels.Labels
}

// reportSeries are the synthetic series every scrape writes, in the order
// of their values in report. The last three are written only with
// extra_scrape_metrics.
var reportSeries = [...]struct {
	name string
	md   metadata.Metadata
}{
	{"up", metadata.Metadata{Type: metadata.TypeGauge, Unit: "targets", Help: "1 if the last scrape of the target succeeded, 0 if it failed."}},
	{"scrape_duration_seconds", metadata.Metadata{Type: metadata.TypeGauge, Unit: "seconds", Help: "How long the last scrape took."}},
	{"scrape_samples_scraped", metadata.Metadata{Type: metadata.TypeGauge, Unit: "samples", Help: "Samples the target exposed in the last scrape."}},
	{"scrape_samples_post_metric_relabeling", metadata.Metadata{Type: metadata.TypeGauge, Unit: "samples", Help: "Samples left after metric relabeling in the last scrape."}},
	{"scrape_series_added", metadata.Metadata{Type: metadata.TypeGauge, Unit: "series", Help: "Series the last scrape exposed for the first time."}},
	{"scrape_timeout_seconds", metadata.Metadata{Type: metadata.TypeGauge, Unit: "seconds", Help: "The target's configured scrape timeout."}},
	{"scrape_sample_limit", metadata.Metadata{Type: metadata.TypeGauge, Unit: "samples", Help: "The target's configured sample limit, 0 for none."}},
	{"scrape_body_size_bytes", metadata.Metadata{Type: metadata.TypeGauge, Unit: "bytes", Help: "Uncompressed size of the last successful scrape's body; -1 when body_size_limit was exceeded, 0 for other failures."}},
}

const basicReportSeries = 5

func newScrapeLoop(sp *scrapePool, t *Target, o loopOptions, cache *scrapeCache) (*scrapeLoop, error) {
	scraper, err := newTargetScraper(t, &o, &sp.m.buffers, sp.m.opts.HTTPClientOptions.DialContext)
	if err != nil {
		return nil, err
	}
	if cache == nil {
		cache = newScrapeCache(sp.m.metrics)
	}
	sl := &scrapeLoop{
		target:         t,
		opts:           o,
		scraper:        scraper,
		cache:          cache,
		app:            sp.m.app,
		metrics:        sp.m.metrics,
		logger:         sp.logger.With("target", t.String()),
		buffers:        &sp.m.buffers,
		seed:           sp.m.seed,
		intervalLength: sp.m.metrics.intervalLength.WithLabelValues(o.interval.String()),
		parentCtx:      sp.ctx,
		stopped:        make(chan struct{}),
		lb:             labels.NewBuilder(labels.EmptyLabels()),
		parserOpts: exposition.Options{
			SkipCreatedSeries:     o.ctZero,
			KeepClassicHistograms: o.alwaysScrapeClassic || !o.nativeHistograms,
		},
	}
	sl.ctx, sl.cancel = context.WithCancel(sp.ctx)
	t.cache.Store(cache)
	return sl, nil
}

func (sl *scrapeLoop) setForcedError(err error) {
	sl.forced.Lock()
	sl.forced.err = err
	sl.forced.Unlock()
}

func (sl *scrapeLoop) forcedError() error {
	sl.forced.Lock()
	defer sl.forced.Unlock()
	return sl.forced.err
}

// stop ends the schedule and waits for a scrape in flight. With
// endOfRunStaleness the loop then writes stale markers for everything the
// target exposed, a little over one interval later, unless the pool is
// shutting down by then.
func (sl *scrapeLoop) stop(endOfRunStaleness bool) {
	sl.endOfRunStaleness.Store(endOfRunStaleness)
	sl.cancel()
	<-sl.stopped
}

// run is the loop goroutine: wait for the target's slot, then scrape once
// per interval until stopped.
func (sl *scrapeLoop) run() {
	defer sl.scraper.close()
	interval := sl.opts.interval
	wait := time.NewTimer(sl.target.offset(time.Now(), interval, sl.seed))
	select {
	case <-wait.C:
	case <-sl.ctx.Done():
		wait.Stop()
		close(sl.stopped)
		return
	}

	var last time.Time
	slot := time.Now().Round(0) // Round(0) drops the monotonic reading: slots are wall-clock times
	tolerance := min(interval/100, scrapeTimestampTolerance)
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for {
		now := time.Now().Round(0)
		// Ticks may have been skipped (a slow append); catch the slot up.
		for now.Sub(slot) >= interval {
			slot = slot.Add(interval)
		}
		stamp := now
		if now.Sub(slot) <= tolerance {
			stamp = slot
		}
		last = sl.scrapeAndReport(last, stamp)

		select {
		case <-sl.parentCtx.Done():
			close(sl.stopped)
			return
		case <-sl.ctx.Done():
			close(sl.stopped)
			if sl.endOfRunStaleness.Load() {
				sl.writeEndOfRunStaleness(last, ticker, interval)
			}
			return
		case <-ticker.C:
		}
	}
}

// scrapeAndReport scrapes once, appends the samples and the synthetic
// series with one appender, and commits. A failed scrape or append is
// recorded as an empty scrape, which writes stale markers for everything
// the previous scrape exposed. It returns when the scrape started.
func (sl *scrapeLoop) scrapeAndReport(last, stamp time.Time) time.Time {
	start := time.Now()
	if !last.IsZero() {
		sl.intervalLength.Observe(start.Sub(last).Seconds())
	}
	var (
		res       appendResult
		bytesRead int
		scrapeErr error
	)
	app := sl.app.Appender(sl.parentCtx)

	if forced := sl.forcedError(); forced != nil {
		scrapeErr = forced
		app = sl.appendEmpty(app, stamp)
	} else {
		deadline := time.Now().Add(sl.opts.timeout)
		buf, contentType, err := sl.scraper.scrapeUntil(sl.parentCtx, deadline, sl.lastSize+sl.lastSize/8)
		var body []byte
		if err == nil {
			body = *buf
			// An empty body would shrink the hint for nothing; keep the
			// last real size.
			if len(body) > 0 {
				sl.lastSize = len(body)
			}
			bytesRead = len(body)
		} else {
			scrapeErr = err
			if errors.Is(err, errBodySizeLimit) {
				bytesRead = -1
				sl.metrics.exceededBodySizeLimit.Inc()
			}
			sl.logger.Debug("Scrape failed", "err", err)
		}
		var appErr error
		res, appErr = sl.append(app, body, contentType, stamp)
		if buf != nil {
			sl.buffers.put(buf) // the parser is done with the body
		}
		if appErr != nil {
			sl.logger.Debug("Append failed", "err", appErr)
			_ = app.Rollback()
			app = sl.appendEmpty(sl.app.Appender(sl.parentCtx), stamp)
			if scrapeErr == nil {
				scrapeErr = appErr
			}
		}
	}

	took := time.Since(start)
	sl.target.report(start, took, scrapeErr)
	if scrapeErr != nil {
		sl.metrics.scrapesFailed.Inc()
	}
	if err := sl.appendReport(app, stamp, took, res, bytesRead, scrapeErr); err != nil {
		sl.logger.Warn("Appending scrape report failed", "err", err)
		_ = app.Rollback()
		return start
	}
	if err := app.Commit(); err != nil {
		sl.logger.Error("Scrape commit failed", "err", err)
	}
	return start
}

// appendEmpty appends an empty scrape (stale markers for everything the
// previous scrape exposed) and returns the appender to go on with: app,
// or a fresh one when app had to be rolled back.
func (sl *scrapeLoop) appendEmpty(app storage.Appender, stamp time.Time) storage.Appender {
	if _, err := sl.append(app, nil, "", stamp); err != nil {
		sl.logger.Warn("Appending stale markers failed", "err", err)
		_ = app.Rollback()
		return sl.app.Appender(sl.parentCtx)
	}
	return app
}

// appendReport writes the synthetic series for one scrape.
func (sl *scrapeLoop) appendReport(app storage.Appender, stamp time.Time, took time.Duration, res appendResult, bytesRead int, scrapeErr error) error {
	up := 1.0
	if scrapeErr != nil {
		up = 0
	}
	values := [len(reportSeries)]float64{
		up, took.Seconds(), float64(res.total), float64(res.added), float64(res.seriesAdded),
		sl.opts.timeout.Seconds(), float64(sl.opts.sampleLimit), float64(bytesRead),
	}
	return sl.appendReportValues(app, value.FromTime(stamp), values[:])
}

func (sl *scrapeLoop) appendReportValues(app storage.Appender, t int64, values []float64) error {
	n := basicReportSeries
	if sl.opts.extraMetrics {
		n = len(reportSeries)
	}
	for i := range n {
		r := &sl.report[i]
		fresh := r.lset.IsEmpty()
		if fresh {
			// The target's labels win over nothing: a report series has
			// only its name besides them, and target labels never start
			// with "__".
			sl.lb.Reset(sl.target.public)
			sl.lb.Set(labels.MetricName, reportSeries[i].name)
			r.lset = sl.lb.Labels()
		}
		ref, err := app.Append(r.ref, r.lset, t, values[i])
		switch {
		case err == nil:
			r.ref = ref
			if fresh && sl.opts.appendMetadata {
				if _, err := app.UpdateMetadata(ref, r.lset, reportSeries[i].md); err != nil {
					sl.logger.Debug("Appending report metadata failed", "err", err)
				}
			}
		case errors.Is(err, storage.ErrOutOfOrderSample), errors.Is(err, storage.ErrDuplicateSampleForTimestamp):
			// Expected when a target comes back under a new loop while
			// the old one writes its end-of-run markers.
		default:
			return err
		}
	}
	return nil
}

// writeEndOfRunStaleness marks everything the target exposed as stale
// after its loop was stopped because the target vanished. The markers are
// stamped with the next slot, and written one interval (plus 10%) after
// it: if the target comes back in a new loop meanwhile, that loop's newer
// samples make the markers out of order and storage ignores them.
func (sl *scrapeLoop) writeEndOfRunStaleness(last time.Time, ticker *time.Ticker, interval time.Duration) {
	if last.IsZero() {
		return // never scraped: nothing to mark
	}
	var staleTime time.Time
	select {
	case <-sl.parentCtx.Done():
		return
	case <-ticker.C:
		staleTime = time.Now()
	}
	select {
	case <-sl.parentCtx.Done():
		return
	case <-ticker.C:
	}
	grace := time.NewTimer(interval / 10)
	defer grace.Stop()
	select {
	case <-sl.parentCtx.Done():
		return
	case <-grace.C:
	}

	app := sl.appendEmpty(sl.app.Appender(context.Background()), staleTime)
	stale := [len(reportSeries)]float64{}
	for i := range stale {
		stale[i] = value.StaleNaN
	}
	if err := sl.appendReportValues(app, value.FromTime(staleTime), stale[:]); err != nil {
		sl.logger.Warn("Appending stale report failed", "err", err)
		_ = app.Rollback()
		return
	}
	if err := app.Commit(); err != nil {
		sl.logger.Warn("Committing stale markers failed", "err", err)
	}
}
