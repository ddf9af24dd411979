package scrape

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"reflect"
	"sort"
	"sync"
	"time"

	"github.com/cespare/xxhash/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/vigil-monitoring/vigil/internal/config"
	"github.com/vigil-monitoring/vigil/internal/discovery"
	"github.com/vigil-monitoring/vigil/internal/storage"
)

// DefaultDiscoveryReloadInterval is how often, at most, new target sets
// from discovery are applied: discovery mechanisms can send bursts of
// updates, and each application walks every target of the changed jobs.
const DefaultDiscoveryReloadInterval = 5 * time.Second

// Options configures a Manager. The zero value works.
type Options struct {
	// Logger receives the manager's logs; nil discards them.
	Logger *slog.Logger
	// Registerer receives the prometheus_target_* self-metrics; nil
	// leaves them unregistered.
	Registerer prometheus.Registerer
	// Version goes into the User-Agent header, "Vigil/<Version>".
	Version string
	// OffsetSeed varies the targets' slots within their interval between
	// servers; zero derives it from the host name. The external labels of
	// the configuration are mixed in on ApplyConfig, so an HA pair on one
	// host still spreads.
	OffsetSeed uint64
	// DiscoveryReloadInterval spaces the application of target set
	// updates; zero means DefaultDiscoveryReloadInterval. The first update
	// after a quiet period is applied at once.
	DiscoveryReloadInterval time.Duration
	// ExtraMetrics writes scrape_timeout_seconds, scrape_sample_limit and
	// scrape_body_size_bytes for every job, as if each had
	// extra_scrape_metrics: true.
	ExtraMetrics bool
	// EnableCreatedTimestampZeroIngestion appends a zero sample at each
	// series' created timestamp, where the format carries one.
	EnableCreatedTimestampZeroIngestion bool
	// AppendMetadata records each series' type, help and unit in storage
	// (Appender.UpdateMetadata) when the series is new or its metadata
	// changed. Targets keep their metadata for the API either way.
	AppendMetadata bool
	// HTTPClientOptions adjusts every scrape client (a custom dialer, the
	// idle connection timeout). Its UserAgent is ignored: every scrape
	// request carries the one built from Version.
	HTTPClientOptions discovery.HTTPClientOptions
}

// Manager runs one scrape pool per job of the configuration and feeds
// them the target groups discovery finds.
type Manager struct {
	opts      Options
	app       storage.Appendable
	logger    *slog.Logger
	metrics   *scrapeMetrics
	userAgent string
	buffers   bufferPool

	// ctx is cancelled by Stop; every pool derives from it.
	ctx    context.Context
	cancel context.CancelFunc

	// mu guards the fields below. ApplyConfig and reloads hold it while
	// pools sync, so configuration and targets are applied in order.
	mu         sync.Mutex
	seed       uint64
	configs    map[string]*config.ScrapeConfig
	pools      map[string]*scrapePool
	targetSets map[string][]*discovery.TargetGroup
	stopped    bool

	trigger  chan struct{} // a target set update is waiting
	done     chan struct{} // closed by Stop
	stopOnce sync.Once
	running  sync.WaitGroup // Run's reloader
}

// NewManager returns a manager appending to app. It fails only when the
// self-metrics cannot be registered.
func NewManager(app storage.Appendable, opts Options) (*Manager, error) {
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	metrics, err := newScrapeMetrics(opts.Registerer)
	if err != nil {
		return nil, err
	}
	if opts.OffsetSeed == 0 {
		host, _ := os.Hostname()
		opts.OffsetSeed = xxhash.Sum64String(host)
	}
	if opts.DiscoveryReloadInterval <= 0 {
		opts.DiscoveryReloadInterval = DefaultDiscoveryReloadInterval
	}
	version := opts.Version
	if version == "" {
		version = "unknown"
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Manager{
		opts:       opts,
		app:        app,
		logger:     logger,
		metrics:    metrics,
		userAgent:  "Vigil/" + version,
		ctx:        ctx,
		cancel:     cancel,
		seed:       opts.OffsetSeed,
		configs:    map[string]*config.ScrapeConfig{},
		pools:      map[string]*scrapePool{},
		targetSets: map[string][]*discovery.TargetGroup{},
		trigger:    make(chan struct{}, 1),
		done:       make(chan struct{}),
	}, nil
}

// UserAgent returns the User-Agent header scrapes send.
func (m *Manager) UserAgent() string { return m.userAgent }

// Run applies the target sets received on tsets, keyed by job name, until
// the channel closes or Stop is called. Updates are coalesced: at most one
// is applied per DiscoveryReloadInterval, always the latest.
func (m *Manager) Run(tsets <-chan map[string][]*discovery.TargetGroup) error {
	// Add under mu, ordered against Stop setting stopped: a WaitGroup's Add
	// must not race with its Wait, and a Run that comes after Stop has
	// nothing to do.
	m.mu.Lock()
	if m.stopped {
		m.mu.Unlock()
		return nil
	}
	m.running.Add(1)
	m.mu.Unlock()
	go func() {
		defer m.running.Done()
		m.reloader()
	}()
	for {
		select {
		case ts, ok := <-tsets:
			if !ok {
				return nil
			}
			m.mu.Lock()
			m.targetSets = ts
			m.mu.Unlock()
			select {
			case m.trigger <- struct{}{}:
			default: // one is pending already; it will see this set
			}
		case <-m.done:
			return nil
		}
	}
}

// reloader applies pending target sets, at most once per interval.
func (m *Manager) reloader() {
	var last time.Time
	for {
		select {
		case <-m.trigger:
		case <-m.done:
			return
		}
		if wait := m.opts.DiscoveryReloadInterval - time.Since(last); !last.IsZero() && wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-m.done:
				t.Stop()
				return
			}
		}
		// Anything that arrived while waiting is in targetSets already.
		select {
		case <-m.trigger:
		default:
		}
		last = time.Now()
		m.reload()
	}
}

// reload makes every pool match the current target sets, creating pools
// for jobs that got targets for the first time.
func (m *Manager) reload() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.stopped {
		return
	}
	var wg sync.WaitGroup
	for name, groups := range m.targetSets {
		sp, err := m.poolLocked(name)
		if err != nil {
			m.logger.Error("Creating scrape pool failed", "scrape_pool", name, "err", err)
			continue
		}
		if sp == nil {
			m.logger.Debug("Target set for a job that is not configured", "scrape_pool", name)
			continue
		}
		wg.Go(func() { sp.Sync(groups) })
	}
	wg.Wait()
}

// poolLocked returns the job's pool, creating it when the job is
// configured; nil, nil when it is not.
func (m *Manager) poolLocked(name string) (*scrapePool, error) {
	if sp, ok := m.pools[name]; ok {
		return sp, nil
	}
	cfg, ok := m.configs[name]
	if !ok {
		return nil, nil
	}
	m.metrics.pools.Inc()
	sp, err := newScrapePool(m, cfg)
	if err != nil {
		m.metrics.poolsFailed.Inc()
		return nil, err
	}
	m.pools[name] = sp
	return sp, nil
}

// ApplyConfig applies the scrape configurations of cfg. Pools of removed
// jobs stop; pools whose job configuration is unchanged are not touched
// at all; changed ones reload, which restarts only the loops whose
// behaviour changed. New jobs start as soon as discovery has targets for
// them. On error the pools that could not reload keep their previous
// configuration.
func (m *Manager) ApplyConfig(cfg *config.Config) error {
	scfgs, err := cfg.GetScrapeConfigs()
	if err != nil {
		return err
	}
	byName := make(map[string]*config.ScrapeConfig, len(scfgs))
	for _, sc := range scfgs {
		byName[sc.JobName] = sc
	}

	m.mu.Lock()
	defer m.mu.Unlock()
	if m.stopped {
		return errors.New("scrape manager is stopped")
	}
	m.seed = m.opts.OffsetSeed ^ cfg.GlobalConfig.ExternalLabels.Hash()
	m.configs = byName

	var (
		wg     sync.WaitGroup
		failMu sync.Mutex
		failed []error
	)
	for name, sp := range m.pools {
		sc, ok := byName[name]
		if !ok {
			delete(m.pools, name)
			wg.Go(sp.stop)
			continue
		}
		if reflect.DeepEqual(sp.config(), sc) {
			continue
		}
		wg.Go(func() {
			if err := sp.reload(sc); err != nil {
				m.logger.Error("Reloading scrape pool failed", "scrape_pool", name, "err", err)
				failMu.Lock()
				failed = append(failed, err)
				failMu.Unlock()
			}
		})
	}
	wg.Wait()

	// Jobs that discovery already has targets for start now rather than
	// at the next discovery update.
	for name, groups := range m.targetSets {
		if _, ok := m.pools[name]; ok {
			continue
		}
		sp, err := m.poolLocked(name)
		if err != nil {
			m.logger.Error("Creating scrape pool failed", "scrape_pool", name, "err", err)
			failed = append(failed, err)
			continue
		}
		if sp != nil {
			wg.Go(func() { sp.Sync(groups) })
		}
	}
	wg.Wait()
	if len(failed) > 0 {
		return errors.Join(failed...)
	}
	return nil
}

// Stop stops every pool and waits for its loops. No stale markers are
// written: the server is expected to come back and go on scraping. Run
// returns.
func (m *Manager) Stop() {
	m.stopOnce.Do(func() {
		close(m.done)
		m.mu.Lock()
		m.stopped = true
		pools := m.pools
		m.pools = map[string]*scrapePool{}
		m.mu.Unlock()
		m.cancel()
		var wg sync.WaitGroup
		for _, sp := range pools {
			wg.Go(sp.stop)
		}
		wg.Wait()
		m.running.Wait()
		m.metrics.unregister()
	})
}

// ScrapePools returns the names of the running pools, sorted.
func (m *Manager) ScrapePools() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	names := make([]string, 0, len(m.pools))
	for name := range m.pools {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// snapshotPools returns the pools without holding mu afterwards, so that
// API reads never wait for a reload.
func (m *Manager) snapshotPools() map[string]*scrapePool {
	m.mu.Lock()
	defer m.mu.Unlock()
	res := make(map[string]*scrapePool, len(m.pools))
	for k, v := range m.pools {
		res[k] = v
	}
	return res
}

// ActiveTargets returns the targets being scraped, by job, each job's
// sorted by label set.
func (m *Manager) ActiveTargets() map[string][]*Target {
	res := map[string][]*Target{}
	for name, sp := range m.snapshotPools() {
		res[name] = sp.activeTargets()
	}
	return res
}

// DroppedTargets returns, by job, the discovered targets that relabeling
// dropped, at most keep_dropped_targets per job when that is set.
func (m *Manager) DroppedTargets() map[string][]*Target {
	res := map[string][]*Target{}
	for name, sp := range m.snapshotPools() {
		res[name], _ = sp.droppedTargets()
	}
	return res
}

// DroppedTargetCounts returns, by job, how many discovered targets
// relabeling dropped, including those not kept.
func (m *Manager) DroppedTargetCounts() map[string]int {
	res := map[string]int{}
	for name, sp := range m.snapshotPools() {
		_, res[name] = sp.droppedTargets()
	}
	return res
}
