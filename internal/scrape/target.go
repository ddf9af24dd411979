package scrape

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/vigil-monitoring/vigil/internal/config"
	"github.com/vigil-monitoring/vigil/internal/discovery"
	"github.com/vigil-monitoring/vigil/internal/model/labels"
	"github.com/vigil-monitoring/vigil/internal/relabel"
)

// Labels with a meaning to scraping. Everything starting with "__" is
// internal: it steers the scrape and never reaches a stored series.
const (
	addressLabel        = discovery.AddressLabel
	schemeLabel         = "__scheme__"
	metricsPathLabel    = "__metrics_path__"
	scrapeIntervalLabel = "__scrape_interval__"
	scrapeTimeoutLabel  = "__scrape_timeout__"
	paramLabelPrefix    = "__param_"
	metaLabelPrefix     = "__meta_"
	reservedLabelPrefix = "__"
	jobLabel            = "job"
	instanceLabel       = labels.InstanceName
)

// TargetHealth is the outcome of a target's last scrape.
type TargetHealth string

// The values /api/v1/targets reports.
const (
	HealthUnknown TargetHealth = "unknown"
	HealthGood    TargetHealth = "up"
	HealthBad     TargetHealth = "down"
)

// Target is one endpoint of a scrape pool, or a discovered endpoint that
// relabeling dropped. Its label set and URL never change; health and the
// last scrape's outcome are updated by its loop and read by the API.
type Target struct {
	// Immutable after construction.

	// labels is the set after relabeling, internal "__" labels included:
	// they carry the address, scheme, path and parameters. Empty for a
	// dropped target.
	labels labels.Labels
	// public is labels without the "__" ones: what every series of the
	// target is labeled with.
	public   labels.Labels
	params   url.Values // the job's params; __param_ labels override them
	pool     string
	interval time.Duration
	timeout  time.Duration
	// hash identifies the target within its pool: the label set (which
	// includes scheme, address, path and parameters) without the interval
	// and timeout. A reload that only changes those keeps the target's
	// identity, so its loop restarts with its cache and no staleness.
	hash uint64

	mu struct {
		sync.RWMutex
		discovered   labels.Labels
		health       TargetHealth
		lastError    error
		lastScrape   time.Time
		lastDuration time.Duration
	}

	// cache is the scrape cache of the loop currently running the target;
	// it answers the metadata questions. Nil before the first loop starts.
	cache atomic.Pointer[scrapeCache]
}

func newTarget(pool string, lset, discovered labels.Labels, params url.Values, interval, timeout time.Duration) *Target {
	t := &Target{
		labels:   lset,
		params:   params,
		pool:     pool,
		interval: interval,
		timeout:  timeout,
	}
	lb := labels.NewBuilder(lset)
	t.hash = lb.Del(scrapeIntervalLabel, scrapeTimeoutLabel).Labels().Hash()
	lset.Range(func(l labels.Label) {
		if strings.HasPrefix(l.Name, reservedLabelPrefix) {
			lb.Del(l.Name)
		}
	})
	t.public = lb.Labels()
	t.mu.discovered = discovered
	t.mu.health = HealthUnknown
	return t
}

// Labels returns the target's labels without the internal "__" ones: the
// labels added to every series scraped from it.
func (t *Target) Labels() labels.Labels { return t.public }

// Get returns the value of any label of the target after relabeling,
// internal ones included ("__address__", "__scheme__", ...).
func (t *Target) Get(name string) string { return t.labels.Get(name) }

// DiscoveredLabels returns the labels before relabeling: the discovered
// target's, its group's and the job's scrape labels.
func (t *Target) DiscoveredLabels() labels.Labels {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.mu.discovered
}

func (t *Target) setDiscoveredLabels(l labels.Labels) {
	t.mu.Lock()
	t.mu.discovered = l
	t.mu.Unlock()
}

// ScrapePool returns the job name of the target's pool.
func (t *Target) ScrapePool() string { return t.pool }

// Interval and Timeout return the target's scrape interval and timeout,
// which relabeling may have changed from the job's.
func (t *Target) Interval() time.Duration { return t.interval }

// Timeout returns the scrape timeout; see Interval.
func (t *Target) Timeout() time.Duration { return t.timeout }

// URL returns the URL the target is scraped from: the scheme, address and
// path labels, with the job's params where the first value of each is
// overridden by a __param_<name> label.
func (t *Target) URL() *url.URL {
	params := url.Values{}
	for k, v := range t.params {
		params[k] = append([]string(nil), v...)
	}
	t.labels.Range(func(l labels.Label) {
		name, ok := strings.CutPrefix(l.Name, paramLabelPrefix)
		if !ok {
			return
		}
		if len(params[name]) > 0 {
			params[name][0] = l.Value
		} else {
			params[name] = []string{l.Value}
		}
	})
	return &url.URL{
		Scheme:   t.labels.Get(schemeLabel),
		Host:     t.labels.Get(addressLabel),
		Path:     t.labels.Get(metricsPathLabel),
		RawQuery: params.Encode(),
	}
}

// String returns the scrape URL.
func (t *Target) String() string { return t.URL().String() }

// Health returns the outcome of the last scrape, HealthUnknown before the
// first.
func (t *Target) Health() TargetHealth {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.mu.health
}

// LastError returns the error of the last scrape, nil if it succeeded.
func (t *Target) LastError() error {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.mu.lastError
}

// LastScrape returns when the last scrape started; zero before the first.
func (t *Target) LastScrape() time.Time {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.mu.lastScrape
}

// LastScrapeDuration returns how long the last scrape took, appending
// included.
func (t *Target) LastScrapeDuration() time.Duration {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.mu.lastDuration
}

// takeStatus copies the scrape status of the target this one replaces
// (same endpoint, new interval or timeout), so the API shows no reset.
func (t *Target) takeStatus(old *Target) {
	old.mu.RLock()
	health, lastErr, lastScrape, lastDuration := old.mu.health, old.mu.lastError, old.mu.lastScrape, old.mu.lastDuration
	old.mu.RUnlock()
	t.mu.Lock()
	t.mu.health, t.mu.lastError, t.mu.lastScrape, t.mu.lastDuration = health, lastErr, lastScrape, lastDuration
	t.mu.Unlock()
}

func (t *Target) report(start time.Time, d time.Duration, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.mu.health = HealthGood
	if err != nil {
		t.mu.health = HealthBad
	}
	t.mu.lastError = err
	t.mu.lastScrape = start
	t.mu.lastDuration = d
}

// ListMetadata returns the metadata of every metric family the target
// exposed recently (families vanish a few scrapes after the target stops
// exposing them).
func (t *Target) ListMetadata() []MetricMetadata {
	if c := t.cache.Load(); c != nil {
		return c.ListMetadata()
	}
	return nil
}

// GetMetadata returns the metadata of one metric family.
func (t *Target) GetMetadata(metric string) (MetricMetadata, bool) {
	if c := t.cache.Load(); c != nil {
		return c.GetMetadata(metric)
	}
	return MetricMetadata{}, false
}

// SizeMetadata returns the bytes the metadata strings take.
func (t *Target) SizeMetadata() int {
	if c := t.cache.Load(); c != nil {
		return c.SizeMetadata()
	}
	return 0
}

// LengthMetadata returns the number of metric families with metadata.
func (t *Target) LengthMetadata() int {
	if c := t.cache.Load(); c != nil {
		return c.LengthMetadata()
	}
	return 0
}

var _ MetadataStore = (*Target)(nil)

// maxPhaseQuantum bounds the grid that scrape phases snap to.
const maxPhaseQuantum = 500 * time.Millisecond

// phaseQuantum returns the spacing of the phases targets of one interval
// may take: a tenth of the interval, at most maxPhaseQuantum.
//
// Why a grid: every time the server wakes from idle to scrape, the Go
// runtime pays a fixed cost (its monitor thread polls every 20 µs while
// anything runs, idle threads spin looking for work) that at node-exporter
// sizes is as large as parsing and appending the scrape itself. Targets
// that share a phase are scraped in one wake-up. A tenth of the interval
// keeps the load spread across the interval; the 500 ms cap keeps the
// bursts small when there are many targets on a long interval.
func phaseQuantum(interval time.Duration) time.Duration {
	return max(min(interval/10, maxPhaseQuantum), 1)
}

// phase returns the target's fixed position within each interval: how
// far past a multiple of the interval (counted from the Unix epoch) its
// scrapes start. Targets are spread uniformly over the phase grid (see
// phaseQuantum) because the label hash is. The seed differs per Vigil
// instance and also shifts the whole grid by a fraction of a quantum:
// two servers scraping the same targets (an HA pair) then do not hit
// them at the same moment, and scrapes do not start exactly on round
// wall-clock times, when values that change on the second or minute
// change (the sample, stamped with the slot time, would carry the new
// value at the boundary itself).
func (t *Target) phase(interval time.Duration, seed uint64) time.Duration {
	q := phaseQuantum(interval)
	p := time.Duration(mix64(t.hash^seed) % uint64(interval))
	p -= p % q
	shift := time.Duration(mix64(seed^0x5ca1ab1e) % uint64(q))
	return (p + shift) % interval
}

// mix64 spreads every input bit over the whole word (the splitmix64
// finalizer), so that seeds differing only in low bits still land on
// different grid phases.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// offset returns how long to wait from now until the target's next slot.
func (t *Target) offset(now time.Time, interval time.Duration, seed uint64) time.Duration {
	into := time.Duration(now.UnixNano() % int64(interval))
	wait := t.phase(interval, seed) - into
	if wait < 0 {
		wait += interval
	}
	return wait
}

// targetsFromGroup turns one discovered group into targets of the pool.
// Dropped targets come back with empty labels (only their discovered
// labels are kept, for the UI); targets that cannot be scraped come back
// as errors naming them.
func targetsFromGroup(tg *discovery.TargetGroup, cfg *config.ScrapeConfig, lb *labels.Builder, out []*Target) ([]*Target, []error) {
	var errs []error
	for i, tl := range tg.Targets {
		lset, orig, err := populateLabels(lb, tg.Labels, tl, cfg)
		if err != nil {
			errs = append(errs, fmt.Errorf("instance %d in group %s: %w", i, tg.Source, err))
			continue
		}
		if lset.IsEmpty() {
			out = append(out, newTarget(cfg.JobName, lset, orig, nil, 0, 0))
			continue
		}
		interval, timeout, err := intervalAndTimeout(lset)
		if err != nil { // populateLabels checked both; kept for safety
			errs = append(errs, fmt.Errorf("instance %d in group %s: %w", i, tg.Source, err))
			continue
		}
		out = append(out, newTarget(cfg.JobName, lset, orig, cfg.Params, interval, timeout))
	}
	return out, errs
}

// populateLabels builds a target's labels the way Prometheus does:
//
//  1. the group's labels, overridden by the target's own;
//  2. job, __scrape_interval__, __scrape_timeout__, __metrics_path__,
//     __scheme__ and __param_<name> from the job, each only where absent;
//  3. relabel_configs; a dropped target returns empty labels with no error;
//  4. checks: an address is required and must not contain a path, the
//     interval and timeout must parse, be non-zero, and the timeout must
//     not exceed the interval;
//  5. __meta_ labels removed, instance defaulting to __address__, every
//     value valid UTF-8.
//
// orig is the set after step 2, shown as the discovered labels.
func populateLabels(lb *labels.Builder, group, target labels.Labels, cfg *config.ScrapeConfig) (res, orig labels.Labels, err error) {
	lb.Reset(group)
	target.Range(func(l labels.Label) { lb.Set(l.Name, l.Value) })
	setDefault := func(name, value string) {
		if lb.Get(name) == "" {
			lb.Set(name, value)
		}
	}
	setDefault(jobLabel, cfg.JobName)
	setDefault(scrapeIntervalLabel, cfg.ScrapeInterval.String())
	setDefault(scrapeTimeoutLabel, cfg.ScrapeTimeout.String())
	setDefault(metricsPathLabel, cfg.MetricsPath)
	setDefault(schemeLabel, cfg.Scheme)
	for name, values := range cfg.Params {
		if len(values) > 0 {
			setDefault(paramLabelPrefix+name, values[0])
		}
	}
	orig = lb.Labels()

	if !relabel.ProcessBuilder(lb, cfg.RelabelConfigs...) {
		return labels.EmptyLabels(), orig, nil
	}
	addr := lb.Get(addressLabel)
	if addr == "" {
		return labels.EmptyLabels(), orig, errors.New("no address")
	}
	if err := config.CheckTargetAddress(addr); err != nil {
		return labels.EmptyLabels(), orig, err
	}
	interval := lb.Get(scrapeIntervalLabel)
	iv, err := discovery.ParseDuration(interval)
	if err != nil {
		return labels.EmptyLabels(), orig, fmt.Errorf("error parsing scrape interval: %w", err)
	}
	if iv == 0 {
		return labels.EmptyLabels(), orig, errors.New("scrape interval cannot be 0")
	}
	timeout := lb.Get(scrapeTimeoutLabel)
	to, err := discovery.ParseDuration(timeout)
	if err != nil {
		return labels.EmptyLabels(), orig, fmt.Errorf("error parsing scrape timeout: %w", err)
	}
	if to == 0 {
		return labels.EmptyLabels(), orig, errors.New("scrape timeout cannot be 0")
	}
	if to > iv {
		return labels.EmptyLabels(), orig, fmt.Errorf("scrape timeout cannot be greater than scrape interval (%q > %q)", timeout, interval)
	}
	// The builder cannot be edited while it is ranged over.
	var meta []string
	lb.Range(func(l labels.Label) {
		if strings.HasPrefix(l.Name, metaLabelPrefix) {
			meta = append(meta, l.Name)
		}
	})
	lb.Del(meta...)
	if lb.Get(instanceLabel) == "" {
		lb.Set(instanceLabel, addr)
	}
	res = lb.Labels()
	if err := res.Validate(func(l labels.Label) error {
		if !utf8.ValidString(l.Value) {
			return fmt.Errorf("invalid label value for %q: %q", l.Name, l.Value)
		}
		return nil
	}); err != nil {
		return labels.EmptyLabels(), orig, err
	}
	return res, orig, nil
}

// intervalAndTimeout reads the durations populateLabels validated.
func intervalAndTimeout(lset labels.Labels) (time.Duration, time.Duration, error) {
	iv, err := discovery.ParseDuration(lset.Get(scrapeIntervalLabel))
	if err != nil {
		return 0, 0, fmt.Errorf("error parsing scrape interval: %w", err)
	}
	to, err := discovery.ParseDuration(lset.Get(scrapeTimeoutLabel))
	if err != nil {
		return 0, 0, fmt.Errorf("error parsing scrape timeout: %w", err)
	}
	return time.Duration(iv), time.Duration(to), nil
}
