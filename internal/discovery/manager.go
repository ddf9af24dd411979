package discovery

import (
	"context"
	"log/slog"
	"reflect"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// DefaultUpdateDelay is how long the Manager gathers updates before it
// hands the targets on: discoverers often report in bursts, and rebuilding
// scrape pools for every single group would waste work.
const DefaultUpdateDelay = 5 * time.Second

// ManagerOptions configures a Manager.
type ManagerOptions struct {
	// Name labels the manager's metrics: "scrape" or "notify".
	Name string
	// Logger may be nil (logs are dropped).
	Logger *slog.Logger
	// Registerer receives the manager's and mechanisms' metrics; may be nil.
	Registerer prometheus.Registerer
	// UpdateDelay is the debounce interval; DefaultUpdateDelay when zero.
	UpdateDelay time.Duration
	// HTTPClientOptions is passed to HTTP-based mechanisms.
	HTTPClientOptions HTTPClientOptions
}

// Manager runs discoverers for named target sets (scrape pools, or
// alertmanager sets) and sends the merged groups of every set on SyncCh.
//
// Identical configurations are served by one discoverer even when several
// sets use them. ApplyConfig starts what is new, stops what is gone and
// leaves unchanged discoverers running, so a reload does not restart file
// watches or DNS lookups that did not change.
type Manager struct {
	opts    ManagerOptions
	logger  *slog.Logger
	metrics *managerMetrics
	syncCh  chan map[string][]*TargetGroup
	trigger chan struct{}

	// ctx is the context of Run; providers started before Run wait for it.
	started chan struct{}
	ctx     context.Context

	mu struct {
		sync.Mutex
		providers []*provider
		// sets holds every set named by the last ApplyConfig, so that a
		// set whose discoverers all went away is still sent (empty) and
		// its consumer drops the old targets.
		sets map[string]bool
		// targets holds the latest groups per set and provider, by Source.
		targets map[string]map[*provider]map[string]*TargetGroup
		nextID  int
	}
}

// provider is one running discoverer and the sets it serves.
type provider struct {
	id     int
	name   string // "<mechanism>/<n>", for logs
	config Config
	d      Discoverer
	cancel context.CancelFunc
	// subs is only touched under Manager.mu.
	subs map[string]bool
}

// NewManager returns a Manager; call Run to start it.
func NewManager(opts ManagerOptions) *Manager {
	if opts.UpdateDelay <= 0 {
		opts.UpdateDelay = DefaultUpdateDelay
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	m := &Manager{
		opts:    opts,
		logger:  logger,
		metrics: newManagerMetrics(opts.Registerer, opts.Name),
		syncCh:  make(chan map[string][]*TargetGroup),
		trigger: make(chan struct{}, 1),
		started: make(chan struct{}),
	}
	m.mu.sets = map[string]bool{}
	m.mu.targets = map[string]map[*provider]map[string]*TargetGroup{}
	return m
}

// SyncCh delivers the complete current groups of every set, keyed by set
// name, at most once per update delay. The maps and groups are shared:
// consumers must not modify them.
func (m *Manager) SyncCh() <-chan map[string][]*TargetGroup { return m.syncCh }

// Run starts the discoverers and the sender, and blocks until ctx is done;
// then it stops every discoverer. It must be called once. ApplyConfig may
// be called before or after Run starts.
func (m *Manager) Run(ctx context.Context) error {
	m.mu.Lock()
	m.ctx = ctx
	for _, p := range m.mu.providers {
		m.startLocked(p)
	}
	close(m.started)
	m.mu.Unlock()

	m.sender(ctx)

	m.mu.Lock()
	for _, p := range m.mu.providers {
		if p.cancel != nil {
			p.cancel()
		}
	}
	m.mu.Unlock()
	return ctx.Err()
}

func (m *Manager) runningLocked() bool {
	select {
	case <-m.started:
		return true
	default:
		return false
	}
}

// ApplyConfig replaces the set of target sets and their configurations.
// It never fails: a configuration whose discoverer cannot be built is
// logged and counted in prometheus_sd_failed_configs, and its set is sent
// without those targets.
func (m *Manager) ApplyConfig(cfg map[string]Configs) error {
	m.mu.Lock()
	defer m.mu.Unlock()

	for _, p := range m.mu.providers {
		p.subs = map[string]bool{}
	}
	failed := 0
	var added []*provider
	setNames := make([]string, 0, len(cfg))
	for name := range cfg {
		setNames = append(setNames, name)
	}
	sort.Strings(setNames)
	for _, set := range setNames {
		for _, c := range cfg[set] {
			if p := m.findProviderLocked(c); p != nil {
				p.subs[set] = true
				continue
			}
			d, err := c.NewDiscoverer(DiscovererOptions{
				Logger:            m.logger.With("discovery", c.Name(), "config", set),
				Registerer:        m.opts.Registerer,
				HTTPClientOptions: m.opts.HTTPClientOptions,
				SetName:           set,
			})
			if err != nil {
				m.logger.Error("cannot create service discovery", "err", err, "type", c.Name(), "config", set)
				failed++
				continue
			}
			p := &provider{id: m.mu.nextID, name: c.Name() + "/" + strconv.Itoa(m.mu.nextID), config: c, d: d, subs: map[string]bool{set: true}}
			m.mu.nextID++
			m.mu.providers = append(m.mu.providers, p)
			added = append(added, p)
		}
	}
	m.metrics.failedConfigs.Set(float64(failed))

	// Stop providers nobody uses any more and forget their targets.
	kept := m.mu.providers[:0]
	for _, p := range m.mu.providers {
		if len(p.subs) > 0 {
			kept = append(kept, p)
			continue
		}
		if p.cancel != nil {
			p.cancel()
		}
		for _, perProv := range m.mu.targets {
			delete(perProv, p)
		}
	}
	clear(m.mu.providers[len(kept):])
	m.mu.providers = kept

	// Forget targets of sets a provider no longer serves, and give sets
	// that newly share a running provider its current groups.
	for set, perProv := range m.mu.targets {
		for p := range perProv {
			if !p.subs[set] {
				delete(perProv, p)
			}
		}
		if _, ok := cfg[set]; !ok {
			delete(m.mu.targets, set)
			m.metrics.discovered.DeleteLabelValues(m.opts.Name, set)
		}
	}
	for _, p := range m.mu.providers {
		var current map[string]*TargetGroup
		for _, perProv := range m.mu.targets {
			if g, ok := perProv[p]; ok {
				current = g
				break
			}
		}
		if current == nil {
			continue
		}
		for set := range p.subs {
			perProv := m.setTargetsLocked(set)
			if _, ok := perProv[p]; !ok {
				perProv[p] = current
			}
		}
	}

	m.mu.sets = make(map[string]bool, len(cfg))
	for set := range cfg {
		m.mu.sets[set] = true
	}
	if m.runningLocked() {
		for _, p := range added {
			m.startLocked(p)
		}
	}
	m.triggerSend()
	return nil
}

// findProviderLocked returns the provider running an equal configuration.
func (m *Manager) findProviderLocked(c Config) *provider {
	for _, p := range m.mu.providers {
		if reflect.DeepEqual(p.config, c) {
			return p
		}
	}
	return nil
}

func (m *Manager) setTargetsLocked(set string) map[*provider]map[string]*TargetGroup {
	perProv, ok := m.mu.targets[set]
	if !ok {
		perProv = map[*provider]map[string]*TargetGroup{}
		m.mu.targets[set] = perProv
	}
	return perProv
}

// startLocked runs the provider's discoverer and the goroutine that files
// its updates.
func (m *Manager) startLocked(p *provider) {
	ctx, cancel := context.WithCancel(m.ctx)
	p.cancel = cancel
	up := make(chan []*TargetGroup)
	go p.d.Run(ctx, up)
	go m.receive(ctx, p, up)
}

func (m *Manager) receive(ctx context.Context, p *provider, up <-chan []*TargetGroup) {
	for {
		select {
		case <-ctx.Done():
			return
		case groups := <-up:
			m.metrics.receivedUpdates.Inc()
			m.update(p, groups)
			m.triggerSend()
		}
	}
}

// update files the groups under every set the provider serves. Each set
// gets its own copy of the source map because sets may later diverge.
func (m *Manager) update(p *provider, groups []*TargetGroup) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(p.subs) == 0 {
		return // stopped by ApplyConfig while this update was in flight
	}
	for set := range p.subs {
		perProv := m.setTargetsLocked(set)
		old := perProv[p]
		next := make(map[string]*TargetGroup, len(old)+len(groups))
		for k, v := range old {
			next[k] = v
		}
		for _, g := range groups {
			if g != nil {
				next[g.Source] = g
			}
		}
		perProv[p] = next
	}
}

func (m *Manager) triggerSend() {
	select {
	case m.trigger <- struct{}{}:
	default:
	}
}

// sender hands the targets on at most once per update delay. When the
// consumer is busy the update is not dropped: the trigger is re-armed and
// the next tick tries again with the then current state.
func (m *Manager) sender(ctx context.Context) {
	ticker := time.NewTicker(m.opts.UpdateDelay)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
			select {
			case <-m.trigger:
			default:
				continue
			}
			m.metrics.sentUpdates.Inc()
			select {
			case m.syncCh <- m.allGroups():
			default:
				m.metrics.delayedUpdates.Inc()
				m.logger.Debug("discovery receiver's channel was full so will retry the next cycle")
				m.triggerSend()
			}
		}
	}
}

// allGroups merges the current groups of each set, ordered by provider
// start and Source so that consumers see a stable order.
func (m *Manager) allGroups() map[string][]*TargetGroup {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[string][]*TargetGroup, len(m.mu.sets))
	for set := range m.mu.sets {
		perProv := m.mu.targets[set]
		provs := make([]*provider, 0, len(perProv))
		for p := range perProv {
			provs = append(provs, p)
		}
		sort.Slice(provs, func(i, j int) bool { return provs[i].id < provs[j].id })
		groups := []*TargetGroup{}
		n := 0
		for _, p := range provs {
			sources := make([]string, 0, len(perProv[p]))
			for s := range perProv[p] {
				sources = append(sources, s)
			}
			sort.Strings(sources)
			for _, s := range sources {
				g := perProv[p][s]
				groups = append(groups, g)
				n += len(g.Targets)
			}
		}
		out[set] = groups
		m.metrics.discovered.WithLabelValues(m.opts.Name, set).Set(float64(n))
	}
	return out
}

// managerMetrics are the Prometheus-named metrics of a Manager.
type managerMetrics struct {
	failedConfigs   prometheus.Gauge
	discovered      *prometheus.GaugeVec
	receivedUpdates prometheus.Counter
	delayedUpdates  prometheus.Counter
	sentUpdates     prometheus.Counter
}

func newManagerMetrics(reg prometheus.Registerer, name string) *managerMetrics {
	constLabels := prometheus.Labels{"name": name}
	failed := RegisterShared(reg, prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "prometheus_sd_failed_configs",
		Help: "Current number of service discovery configurations that failed to load.",
	}, []string{"name"}))
	received := RegisterShared(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "prometheus_sd_received_updates_total",
		Help: "Total number of update events received from the SD providers.",
	}, []string{"name"}))
	delayed := RegisterShared(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "prometheus_sd_updates_delayed_total",
		Help: "Total number of update events that couldn't be sent immediately.",
	}, []string{"name"}))
	sent := RegisterShared(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "prometheus_sd_updates_total",
		Help: "Total number of update events sent to the SD consumers.",
	}, []string{"name"}))
	discovered := RegisterShared(reg, prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "prometheus_sd_discovered_targets",
		Help: "Current number of discovered targets.",
	}, []string{"name", "config"}))
	return &managerMetrics{
		failedConfigs:   failed.With(constLabels),
		discovered:      discovered,
		receivedUpdates: received.With(constLabels),
		delayedUpdates:  delayed.With(constLabels),
		sentUpdates:     sent.With(constLabels),
	}
}
