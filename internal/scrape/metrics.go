package scrape

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// scrapeMetrics are the manager's self-metrics, named as Prometheus names
// them so that existing dashboards and alerts work unchanged.
type scrapeMetrics struct {
	intervalLength        *prometheus.SummaryVec
	syncLength            *prometheus.SummaryVec
	poolTargets           *prometheus.GaugeVec
	syncFailed            *prometheus.CounterVec
	poolReloads           prometheus.Counter
	poolReloadsFailed     prometheus.Counter
	pools                 prometheus.Counter
	poolsFailed           prometheus.Counter
	exceededTargetLimit   prometheus.Counter
	exceededLabelLimits   prometheus.Counter
	exceededSampleLimit   prometheus.Counter
	exceededBucketLimit   prometheus.Counter
	exceededBodySizeLimit prometheus.Counter
	sampleDuplicate       prometheus.Counter
	sampleOutOfOrder      prometheus.Counter
	sampleOutOfBounds     prometheus.Counter
	exemplarOutOfOrder    prometheus.Counter
	cacheFlushForced      prometheus.Counter
	scrapesFailed         prometheus.Counter
	collectors            []prometheus.Collector
	registerer            prometheus.Registerer
}

func newScrapeMetrics(reg prometheus.Registerer) (*scrapeMetrics, error) {
	objectives := map[float64]float64{0.01: 0.001, 0.05: 0.005, 0.5: 0.05, 0.9: 0.01, 0.99: 0.001}
	counter := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: help})
	}
	m := &scrapeMetrics{
		intervalLength: prometheus.NewSummaryVec(prometheus.SummaryOpts{
			Name:       "prometheus_target_interval_length_seconds",
			Help:       "Actual time between the starts of consecutive scrapes, by configured interval.",
			Objectives: objectives,
		}, []string{"interval"}),
		syncLength: prometheus.NewSummaryVec(prometheus.SummaryOpts{
			Name:       "prometheus_target_sync_length_seconds",
			Help:       "Time a scrape pool took to apply a new set of discovered targets.",
			Objectives: objectives,
		}, []string{"scrape_job"}),
		poolTargets: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "prometheus_target_scrape_pool_targets",
			Help: "Number of active targets of a scrape pool.",
		}, []string{"scrape_job"}),
		syncFailed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "prometheus_target_sync_failed_total",
			Help: "Discovered targets that could not be turned into scrape targets.",
		}, []string{"scrape_job"}),
		poolReloads:           counter("prometheus_target_scrape_pool_reloads_total", "Scrape pool configuration reloads."),
		poolReloadsFailed:     counter("prometheus_target_scrape_pool_reloads_failed_total", "Scrape pool configuration reloads that failed."),
		pools:                 counter("prometheus_target_scrape_pools_total", "Scrape pools created."),
		poolsFailed:           counter("prometheus_target_scrape_pools_failed_total", "Scrape pools that could not be created."),
		exceededTargetLimit:   counter("prometheus_target_scrape_pool_exceeded_target_limit_total", "Times a scrape pool had more targets than its target_limit."),
		exceededLabelLimits:   counter("prometheus_target_scrape_pool_exceeded_label_limits_total", "Scrapes failed on label_limit, label_name_length_limit or label_value_length_limit."),
		exceededSampleLimit:   counter("prometheus_target_scrapes_exceeded_sample_limit_total", "Scrapes failed because they exceeded sample_limit."),
		exceededBucketLimit:   counter("prometheus_target_scrapes_exceeded_native_histogram_bucket_limit_total", "Scrapes failed because a native histogram exceeded native_histogram_bucket_limit."),
		exceededBodySizeLimit: counter("prometheus_target_scrapes_exceeded_body_size_limit_total", "Scrapes failed because the body exceeded body_size_limit."),
		sampleDuplicate:       counter("prometheus_target_scrapes_sample_duplicate_timestamp_total", "Samples rejected for repeating a timestamp with a different value."),
		sampleOutOfOrder:      counter("prometheus_target_scrapes_sample_out_of_order_total", "Samples rejected for being older than the series' newest sample."),
		sampleOutOfBounds:     counter("prometheus_target_scrapes_sample_out_of_bounds_total", "Samples rejected for a timestamp outside what storage accepts."),
		exemplarOutOfOrder:    counter("prometheus_target_scrapes_exemplar_out_of_order_total", "Exemplars rejected for being out of order."),
		cacheFlushForced:      counter("prometheus_target_scrapes_cache_flush_forced_total", "Scrape caches flushed because they grew while scrapes kept failing."),
		scrapesFailed:         counter("vigil_target_scrapes_failed_total", "Scrapes that ended with up=0, for any reason."),
	}
	m.collectors = []prometheus.Collector{
		m.intervalLength, m.syncLength, m.poolTargets, m.syncFailed, m.poolReloads, m.poolReloadsFailed,
		m.pools, m.poolsFailed, m.exceededTargetLimit, m.exceededLabelLimits, m.exceededSampleLimit,
		m.exceededBucketLimit, m.exceededBodySizeLimit, m.sampleDuplicate, m.sampleOutOfOrder,
		m.sampleOutOfBounds, m.exemplarOutOfOrder, m.cacheFlushForced, m.scrapesFailed,
	}
	if reg == nil {
		return m, nil
	}
	for i, c := range m.collectors {
		if err := reg.Register(c); err != nil {
			for _, done := range m.collectors[:i] {
				reg.Unregister(done)
			}
			var are prometheus.AlreadyRegisteredError
			if errors.As(err, &are) {
				return nil, errors.New("scrape metrics are already registered: one scrape manager per registry")
			}
			return nil, err
		}
	}
	m.registerer = reg
	return m, nil
}

// unregister removes the metrics, so that a stopped manager can be
// replaced by a new one on the same registry (tests, agent restarts).
func (m *scrapeMetrics) unregister() {
	if m.registerer == nil {
		return
	}
	for _, c := range m.collectors {
		m.registerer.Unregister(c)
	}
	m.registerer = nil
}
