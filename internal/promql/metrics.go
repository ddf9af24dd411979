package promql

import (
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
	queueTime        prometheus.Observer
	prepareTime      prometheus.Observer
	innerEval        prometheus.Observer
	resultSort       prometheus.Observer
}

// newEngineMetrics registers the metrics on reg. A nil reg gives working
// metrics that nobody collects, so the engine never checks for nil.
func newEngineMetrics(reg prometheus.Registerer, maxConcurrent int) *engineMetrics {
	durations := prometheus.NewSummaryVec(prometheus.SummaryOpts{
		Name:       "prometheus_engine_query_duration_seconds",
		Help:       "Query timings",
		Objectives: map[float64]float64{0.5: 0.05, 0.9: 0.01, 0.99: 0.001},
	}, []string{"slice"})
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
		queueTime:   durations.WithLabelValues("queue_time"),
		prepareTime: durations.WithLabelValues("prepare_time"),
		innerEval:   durations.WithLabelValues("inner_eval"),
		resultSort:  durations.WithLabelValues("result_sort"),
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
	t := q.stats.Timers
	if q.ng.tracker != nil {
		m.queueTime.Observe(t.ExecQueueTime.Seconds())
	}
	m.prepareTime.Observe(t.QueryPreparationTime.Seconds())
	m.innerEval.Observe(t.InnerEvalTime.Seconds())
	if q.interval != 0 {
		m.resultSort.Observe(t.ResultSortTime.Seconds())
	}
	if q.stats.Samples != nil {
		m.samples.Add(float64(q.stats.Samples.TotalSamples))
	}
}
