package wal

import "github.com/prometheus/client_golang/prometheus"

// metrics are the WAL's self-metrics, named as Prometheus names them so
// existing dashboards work.
type metrics struct {
	fsyncDuration     prometheus.Summary
	pageFlushes       prometheus.Counter
	pagesCompleted    prometheus.Counter
	truncations       prometheus.Counter
	truncationsFailed prometheus.Counter
	writesFailed      prometheus.Counter
	segmentCurrent    prometheus.Gauge
}

func newMetrics(r prometheus.Registerer) *metrics {
	m := &metrics{
		fsyncDuration: prometheus.NewSummary(prometheus.SummaryOpts{
			Name:       "prometheus_tsdb_wal_fsync_duration_seconds",
			Help:       "Duration of write log fsync.",
			Objectives: map[float64]float64{0.5: 0.05, 0.9: 0.01, 0.99: 0.001},
		}),
		pageFlushes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "prometheus_tsdb_wal_page_flushes_total",
			Help: "Total number of page flushes.",
		}),
		pagesCompleted: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "prometheus_tsdb_wal_completed_pages_total",
			Help: "Total number of completed pages.",
		}),
		truncations: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "prometheus_tsdb_wal_truncations_total",
			Help: "Total number of write log truncations attempted.",
		}),
		truncationsFailed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "prometheus_tsdb_wal_truncations_failed_total",
			Help: "Total number of write log truncations that failed.",
		}),
		writesFailed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "prometheus_tsdb_wal_writes_failed_total",
			Help: "Total number of write log writes that failed.",
		}),
		segmentCurrent: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "prometheus_tsdb_wal_segment_current",
			Help: "Write log segment index that TSDB is currently writing to.",
		}),
	}
	if r != nil {
		r.MustRegister(m.fsyncDuration, m.pageFlushes, m.pagesCompleted, m.truncations,
			m.truncationsFailed, m.writesFailed, m.segmentCurrent)
	}
	return m
}
