package promql

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// engineMetrics are the engine's self-metrics, named as Prometheus names
// them so that existing dashboards of query load keep working.
type engineMetrics struct {
	queries       prometheus.Gauge
	maxConcurrent prometheus.Gauge
	samples       prometheus.Counter
	// queryLogEnabled and queryLogFailures describe the query log.
	queryLogEnabled  prometheus.Gauge
	queryLogFailures prometheus.Counter
	// durations has the children durQueueTime, durPrepareTime,
	// durInnerEval and durResultSort.
	durations *windowSummary
}

// The children of engineMetrics.durations.
const (
	durQueueTime = iota
	durPrepareTime
	durInnerEval
	durResultSort
)

// newEngineMetrics registers the metrics on reg. A nil reg gives working
// metrics that nobody collects, so the engine never checks for nil.
func newEngineMetrics(reg prometheus.Registerer, maxConcurrent int) *engineMetrics {
	// Prometheus' summary: quantiles 0.5, 0.9 and 0.99 over ten minutes.
	durations := newWindowSummary("prometheus_engine_query_duration_seconds", "Query timings", "slice",
		[]string{"queue_time", "prepare_time", "inner_eval", "result_sort"}, []float64{0.5, 0.9, 0.99}, 10*time.Minute)
	m := &engineMetrics{
		queries: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "prometheus_engine_queries",
			Help: "The current number of queries being executed or waiting.",
		}),
		maxConcurrent: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "prometheus_engine_queries_concurrent_max",
			Help: "The max number of concurrent queries.",
		}),
		samples: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "prometheus_engine_query_samples_total",
			Help: "The total number of samples loaded by all queries.",
		}),
		queryLogEnabled: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "prometheus_engine_query_log_enabled",
			Help: "State of the query log.",
		}),
		queryLogFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "prometheus_engine_query_log_failures_total",
			Help: "The number of query log failures.",
		}),
		durations: durations,
	}
	// Prometheus reports -1 when there is no limit.
	if maxConcurrent <= 0 {
		maxConcurrent = -1
	}
	m.maxConcurrent.Set(float64(maxConcurrent))
	if reg != nil {
		reg.MustRegister(m.queries, m.maxConcurrent, m.samples, m.queryLogEnabled, m.queryLogFailures, durations)
	}
	return m
}

// observe records one finished query.
func (m *engineMetrics) observe(q *query) {
	t, now := q.stats.Timers, m.durations.now()
	if q.ng.tracker != nil {
		m.durations.observe(durQueueTime, now, t.ExecQueueTime.Seconds())
	}
	m.durations.observe(durPrepareTime, now, t.QueryPreparationTime.Seconds())
	m.durations.observe(durInnerEval, now, t.InnerEvalTime.Seconds())
	if q.interval != 0 {
		m.durations.observe(durResultSort, now, t.ResultSortTime.Seconds())
	}
	if q.stats.Samples != nil {
		m.samples.Add(float64(q.stats.Samples.TotalSamples))
	}
}
