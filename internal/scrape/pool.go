package scrape

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"reflect"
	"slices"
	"sync"
	"time"

	"github.com/vigil-monitoring/vigil/internal/config"
	"github.com/vigil-monitoring/vigil/internal/discovery"
	"github.com/vigil-monitoring/vigil/internal/model/histogram"
	"github.com/vigil-monitoring/vigil/internal/model/labels"
	"github.com/vigil-monitoring/vigil/internal/relabel"
)

// metricRules wraps a job's metric_relabel_configs so that loops can
// compare them by pointer: a reload keeps the same pointer when the rules
// did not change.
type metricRules struct {
	cfgs []*relabel.Config
}

// labelLimits are the label_limit, label_name_length_limit and
// label_value_length_limit of a job; 0 means none.
type labelLimits struct {
	labels, nameLength, valueLength int
}

// check applies the limits to a series' final label set, with Prometheus'
// error texts.
func (l labelLimits) check(lset labels.Labels) error {
	if l == (labelLimits{}) {
		return nil
	}
	name := lset.Get(labels.MetricName)
	if l.labels > 0 {
		if n := lset.Len(); n > l.labels {
			return fmt.Errorf("label_limit exceeded (metric: %.50s, number of labels: %d, limit: %d)", name, n, l.labels)
		}
	}
	if l.nameLength == 0 && l.valueLength == 0 {
		return nil
	}
	return lset.Validate(func(lb labels.Label) error {
		if l.nameLength > 0 && len(lb.Name) > l.nameLength {
			return fmt.Errorf("label_name_length_limit exceeded (metric: %.50s, label name: %.50s, length: %d, limit: %d)", name, lb.Name, len(lb.Name), l.nameLength)
		}
		if l.valueLength > 0 && len(lb.Value) > l.valueLength {
			return fmt.Errorf("label_value_length_limit exceeded (metric: %.50s, label name: %.50s, value: %.50q, length: %d, limit: %d)", name, lb.Name, lb.Value, len(lb.Value), l.valueLength)
		}
		return nil
	})
}

// loopOptions is everything a loop's behaviour depends on. It is
// comparable: a reload restarts exactly the loops whose options changed.
type loopOptions struct {
	interval, timeout        time.Duration
	honorLabels              bool
	honorTimestamps          bool
	trackTimestampsStaleness bool
	sampleLimit              int
	bucketLimit              int
	maxSchema                int32
	limits                   labelLimits
	bodySizeLimit            int64
	enableCompression        bool
	acceptHeader             string
	userAgent                string
	fallbackProtocol         string
	nativeHistograms         bool
	alwaysScrapeClassic      bool
	extraMetrics             bool
	ctZero                   bool
	appendMetadata           bool
	validation               labels.ValidationScheme
	metricRelabel            *metricRules
	client                   *http.Client
	// direct lets plain-HTTP targets be scraped by a directConn (see
	// directEligible); followRedirects is the job's follow_redirects.
	direct, followRedirects bool
}

// cacheCompatible reports whether a loop with options b may keep the
// scrape cache of a loop with options a: the cached label sets are built
// the same way.
func cacheCompatible(a, b *loopOptions) bool {
	return a.honorLabels == b.honorLabels && a.limits == b.limits &&
		a.validation == b.validation && a.metricRelabel == b.metricRelabel
}

// pickSchema returns the highest exponential schema whose bucket growth
// factor is at least factor (native_histogram_min_bucket_factor): schema s
// grows by 2^(2^-s) per bucket.
func pickSchema(factor float64) int32 {
	if factor <= 1 {
		return histogram.ExponentialSchemaMax
	}
	s := math.Floor(-math.Log2(math.Log2(factor)))
	return int32(max(min(s, float64(histogram.ExponentialSchemaMax)), float64(histogram.ExponentialSchemaMin)))
}

// scrapePool runs the targets of one job.
type scrapePool struct {
	m      *Manager
	name   string
	logger *slog.Logger
	// ctx is cancelled when the pool stops: in-flight scrapes are aborted
	// and loops write no end-of-run stale markers (the server is going
	// away or the job was removed, not the target).
	ctx    context.Context
	cancel context.CancelFunc

	// syncMu serializes sync, reload and stop; it is held while loops are
	// stopped and started.
	syncMu sync.Mutex
	// Guarded by syncMu.
	cfg     *config.ScrapeConfig
	base    loopOptions // interval and timeout are per target
	groups  []*discovery.TargetGroup
	loops   map[uint64]*scrapeLoop
	lb      *labels.Builder
	stopped bool

	// mu guards what the API reads; held only briefly.
	mu struct {
		sync.RWMutex
		active       []*Target
		dropped      []*Target
		droppedCount int
	}

	// wg counts loop goroutines, end-of-run staleness included.
	wg sync.WaitGroup
}

func newScrapePool(m *Manager, cfg *config.ScrapeConfig) (*scrapePool, error) {
	base, err := m.loopBase(cfg, nil, nil)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(m.ctx)
	return &scrapePool{
		m:      m,
		name:   cfg.JobName,
		logger: m.logger.With("scrape_pool", cfg.JobName),
		ctx:    ctx,
		cancel: cancel,
		cfg:    cfg,
		base:   base,
		loops:  map[uint64]*scrapeLoop{},
		lb:     labels.NewBuilder(labels.EmptyLabels()),
	}, nil
}

// loopBase derives the job-wide loop options from cfg. prev and prevCfg,
// when given, are the pool's current ones: the HTTP client and the metric
// relabeling rules are kept when their configuration did not change, so
// that loops compare equal and keep running.
func (m *Manager) loopBase(cfg *config.ScrapeConfig, prev *loopOptions, prevCfg *config.ScrapeConfig) (loopOptions, error) {
	o := loopOptions{
		honorLabels:              cfg.HonorLabels,
		honorTimestamps:          cfg.HonorTimestamps,
		trackTimestampsStaleness: cfg.TrackTimestampsStaleness,
		sampleLimit:              int(cfg.SampleLimit),
		bucketLimit:              int(cfg.NativeHistogramBucketLimit),
		maxSchema:                pickSchema(cfg.NativeHistogramMinBucketFactor),
		limits: labelLimits{
			labels:      int(cfg.LabelLimit),
			nameLength:  int(cfg.LabelNameLengthLimit),
			valueLength: int(cfg.LabelValueLengthLimit),
		},
		bodySizeLimit:       int64(cfg.BodySizeLimit),
		enableCompression:   cfg.EnableCompression,
		acceptHeader:        acceptHeader(cfg.ScrapeProtocols, cfg.MetricNameEscapingScheme),
		userAgent:           m.userAgent,
		fallbackProtocol:    string(cfg.ScrapeFallbackProtocol),
		nativeHistograms:    cfg.ScrapeNativeHistogramsEnabled(),
		alwaysScrapeClassic: cfg.AlwaysScrapeClassicHistogramsEnabled(),
		extraMetrics:        cfg.ExtraScrapeMetricsEnabled() || m.opts.ExtraMetrics,
		ctZero:              m.opts.EnableCreatedTimestampZeroIngestion,
		appendMetadata:      m.opts.AppendMetadata,
		validation:          cfg.MetricNameValidationScheme.LabelsScheme(),
		direct:              directEligible(&cfg.HTTPClientConfig),
		followRedirects:     cfg.HTTPClientConfig.FollowRedirects,
	}
	if prev != nil && prevCfg != nil && reflect.DeepEqual(prevCfg.MetricRelabelConfigs, cfg.MetricRelabelConfigs) {
		o.metricRelabel = prev.metricRelabel
	} else {
		o.metricRelabel = &metricRules{cfgs: cfg.MetricRelabelConfigs}
	}
	if prev != nil && prevCfg != nil && reflect.DeepEqual(prevCfg.HTTPClientConfig, cfg.HTTPClientConfig) {
		o.client = prev.client
	} else {
		opts := m.opts.HTTPClientOptions
		// The request a loop builds once already carries the User-Agent;
		// a round tripper setting it again would clone every request.
		opts.UserAgent = ""
		client, err := discovery.NewHTTPClient(cfg.HTTPClientConfig, opts)
		if err != nil {
			return loopOptions{}, fmt.Errorf("creating HTTP client for job %q: %w", cfg.JobName, err)
		}
		o.client = client
	}
	return o, nil
}

// Sync replaces the pool's discovered target groups and reconciles its
// loops with them.
func (sp *scrapePool) Sync(groups []*discovery.TargetGroup) {
	sp.syncMu.Lock()
	defer sp.syncMu.Unlock()
	if sp.stopped {
		return
	}
	start := time.Now()
	sp.groups = groups
	sp.syncLocked()
	sp.m.metrics.syncLength.WithLabelValues(sp.name).Observe(time.Since(start).Seconds())
}

// reload applies a changed job configuration. Loops whose options are
// unchanged keep running untouched; the others are restarted, keeping
// their scrape cache when labels are still built the same way. On error
// the pool keeps its old configuration.
func (sp *scrapePool) reload(cfg *config.ScrapeConfig) error {
	sp.syncMu.Lock()
	defer sp.syncMu.Unlock()
	if sp.stopped {
		return nil
	}
	start := time.Now()
	sp.m.metrics.poolReloads.Inc()
	base, err := sp.m.loopBase(cfg, &sp.base, sp.cfg)
	if err != nil {
		sp.m.metrics.poolReloadsFailed.Inc()
		return err
	}
	oldClient := sp.base.client
	sp.cfg, sp.base = cfg, base
	sp.syncLocked()
	if oldClient != base.client {
		oldClient.CloseIdleConnections()
	}
	sp.logger.Debug("Reloaded scrape pool", "duration", time.Since(start))
	return nil
}

// optionsFor returns the loop options for one target.
func (sp *scrapePool) optionsFor(t *Target) loopOptions {
	o := sp.base
	o.interval, o.timeout = t.interval, t.timeout
	return o
}

// syncLocked builds the targets from the current groups and configuration
// and makes the running loops match: new targets get a loop, vanished ones
// have theirs stopped (writing end-of-run stale markers), and loops whose
// options changed are restarted.
func (sp *scrapePool) syncLocked() {
	var all []*Target
	failed := 0
	for _, tg := range sp.groups {
		if tg == nil {
			continue
		}
		var errs []error
		all, errs = targetsFromGroup(tg, sp.cfg, sp.lb, all)
		for _, err := range errs {
			sp.logger.Error("Creating target failed", "err", err)
		}
		failed += len(errs)
	}
	if failed > 0 {
		sp.m.metrics.syncFailed.WithLabelValues(sp.name).Add(float64(failed))
	}

	keep := int(sp.cfg.KeepDroppedTargets)
	var dropped []*Target
	droppedCount := 0
	wanted := map[uint64]*Target{}
	for _, t := range all {
		if t.labels.IsEmpty() {
			droppedCount++
			if keep == 0 || len(dropped) < keep {
				dropped = append(dropped, t)
			}
			continue
		}
		if prev, dup := wanted[t.hash]; dup {
			// Equal label sets are one target, discovered twice. Unequal
			// ones differ only in interval or timeout (or collide in 64
			// bits): one endpoint is scraped once, with the first.
			if !labels.Equal(prev.labels, t.labels) {
				sp.logger.Warn("Target discovered twice with different settings; scraping only the first", "first", prev.labels, "second", t.labels)
			}
			continue
		}
		wanted[t.hash] = t
	}

	var limitErr error
	if limit := int(sp.cfg.TargetLimit); limit > 0 && len(wanted) > limit {
		limitErr = fmt.Errorf("target_limit exceeded (number of targets: %d, limit: %d)", len(wanted), limit)
		sp.m.metrics.exceededTargetLimit.Inc()
	}

	// Stop what vanished or must restart, all at once: stopping waits for
	// a scrape in flight, up to the timeout.
	type restart struct {
		old *scrapeLoop
		t   *Target
	}
	var (
		restarts []restart
		wg       sync.WaitGroup
	)
	for h, l := range sp.loops {
		t, ok := wanted[h]
		if !ok {
			delete(sp.loops, h)
			wg.Go(func() { l.stop(true) })
			continue
		}
		cur := l.target
		if labels.Equal(cur.labels, t.labels) {
			// Keep the running target and its status; only the
			// discovered labels may differ.
			cur.setDiscoveredLabels(t.DiscoveredLabels())
		} else {
			// Same endpoint with another interval or timeout.
			t.takeStatus(cur)
			cur = t
		}
		wanted[h] = cur
		if cur != l.target || sp.optionsFor(cur) != l.opts {
			restarts = append(restarts, restart{old: l, t: cur})
			wg.Go(func() { l.stop(false) })
		}
	}
	wg.Wait()

	for _, r := range restarts {
		o := sp.optionsFor(r.t)
		cache := r.old.cache
		if !cacheCompatible(&r.old.opts, &o) {
			cache = newScrapeCacheReplacing(r.old.cache, sp.m.metrics)
		}
		l, err := newScrapeLoop(sp, r.t, o, cache)
		if err != nil {
			sp.logger.Error("Restarting scrape loop failed", "target", r.t, "err", err)
			delete(sp.loops, r.t.hash)
			delete(wanted, r.t.hash)
			continue
		}
		sp.loops[r.t.hash] = l
	}
	for h, t := range wanted {
		if _, ok := sp.loops[h]; ok {
			continue
		}
		l, err := newScrapeLoop(sp, t, sp.optionsFor(t), nil)
		if err != nil {
			sp.logger.Error("Creating scrape loop failed", "target", t, "err", err)
			delete(wanted, h)
			continue
		}
		sp.loops[h] = l
	}
	for _, l := range sp.loops {
		l.setForcedError(limitErr)
		if !l.started {
			sp.start(l)
		}
	}

	active := make([]*Target, 0, len(wanted))
	for _, t := range wanted {
		active = append(active, t)
	}
	slices.SortFunc(active, func(a, b *Target) int { return labels.Compare(a.public, b.public) })
	sp.mu.Lock()
	sp.mu.active, sp.mu.dropped, sp.mu.droppedCount = active, dropped, droppedCount
	sp.mu.Unlock()
	sp.m.metrics.poolTargets.WithLabelValues(sp.name).Set(float64(len(active)))
}

func (sp *scrapePool) start(l *scrapeLoop) {
	l.started = true
	sp.wg.Go(l.run)
}

// stop ends every loop without stale markers and waits for them.
func (sp *scrapePool) stop() {
	sp.syncMu.Lock()
	sp.stopped = true
	sp.cancel()
	for h, l := range sp.loops {
		l.stop(false)
		delete(sp.loops, h)
	}
	sp.syncMu.Unlock()
	sp.wg.Wait()
	sp.mu.Lock()
	sp.mu.active, sp.mu.dropped, sp.mu.droppedCount = nil, nil, 0
	sp.mu.Unlock()
	sp.m.metrics.poolTargets.DeleteLabelValues(sp.name)
	sp.m.metrics.syncLength.DeleteLabelValues(sp.name)
	sp.m.metrics.syncFailed.DeleteLabelValues(sp.name)
	sp.base.client.CloseIdleConnections()
}

func (sp *scrapePool) activeTargets() []*Target {
	sp.mu.RLock()
	defer sp.mu.RUnlock()
	return slices.Clone(sp.mu.active)
}

func (sp *scrapePool) droppedTargets() ([]*Target, int) {
	sp.mu.RLock()
	defer sp.mu.RUnlock()
	return slices.Clone(sp.mu.dropped), sp.mu.droppedCount
}

// config returns the pool's current job configuration.
func (sp *scrapePool) config() *config.ScrapeConfig {
	sp.syncMu.Lock()
	defer sp.syncMu.Unlock()
	return sp.cfg
}
