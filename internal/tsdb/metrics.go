package tsdb

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// headMetrics are the head's self-metrics. Names and help texts follow
// Prometheus so existing dashboards and alerts keep working.
type headMetrics struct {
	seriesCreated    prometheus.Counter
	seriesRemoved    prometheus.Counter
	samplesAppended  *prometheus.CounterVec // type="float"|"histogram"
	outOfOrder       *prometheus.CounterVec
	outOfBound       *prometheus.CounterVec
	oooAppended      *prometheus.CounterVec // accepted out of order
	tooOld           *prometheus.CounterVec // behind the out-of-order window
	chunksCreated    prometheus.Counter
	chunksRemoved    prometheus.Counter
	chunks           prometheus.Gauge
	truncations      prometheus.Counter
	truncationsFail  prometheus.Counter
	gcDuration       prometheus.Summary
	walCorruptions   prometheus.Counter
	checkpoints      prometheus.Counter
	checkpointsFail  prometheus.Counter
	checkpointDelete prometheus.Counter
	replayDuration   prometheus.Gauge
	unknownRefs      *prometheus.CounterVec // type=record type
	activeAppenders  prometheus.Gauge
	commitFailures   prometheus.Counter
	mmapCorruptions  prometheus.Counter
}

// newHeadMetrics builds the metrics; register exposes them once the head
// is open, so that no scrape reads a head still being built.
func newHeadMetrics() *headMetrics {
	m := &headMetrics{
		seriesCreated: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "prometheus_tsdb_head_series_created_total",
			Help: "Total number of series created in the head",
		}),
		seriesRemoved: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "prometheus_tsdb_head_series_removed_total",
			Help: "Total number of series removed in the head",
		}),
		samplesAppended: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "prometheus_tsdb_head_samples_appended_total",
			Help: "Total number of appended samples.",
		}, []string{"type"}),
		outOfOrder: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "prometheus_tsdb_out_of_order_samples_total",
			Help: "Total number of out of order samples ingestion failed attempts due to out of order being disabled.",
		}, []string{"type"}),
		outOfBound: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "prometheus_tsdb_out_of_bound_samples_total",
			Help: "Total number of out of bound samples ingestion failed attempts with out of order support disabled.",
		}, []string{"type"}),
		oooAppended: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "prometheus_tsdb_head_out_of_order_samples_appended_total",
			Help: "Total number of appended out of order samples.",
		}, []string{"type"}),
		tooOld: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "prometheus_tsdb_too_old_samples_total",
			Help: "Total number of out of order samples ingestion failed attempts with out of support enabled, but sample outside of time window.",
		}, []string{"type"}),
		chunksCreated: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "prometheus_tsdb_head_chunks_created_total",
			Help: "Total number of chunks created in the head",
		}),
		chunksRemoved: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "prometheus_tsdb_head_chunks_removed_total",
			Help: "Total number of chunks removed in the head",
		}),
		chunks: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "prometheus_tsdb_head_chunks",
			Help: "Total number of chunks in the head block.",
		}),
		truncations: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "prometheus_tsdb_head_truncations_total",
			Help: "Total number of head truncations attempted.",
		}),
		truncationsFail: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "prometheus_tsdb_head_truncations_failed_total",
			Help: "Total number of head truncations that failed.",
		}),
		gcDuration: prometheus.NewSummary(prometheus.SummaryOpts{
			Name: "prometheus_tsdb_head_gc_duration_seconds",
			Help: "Runtime of garbage collection in the head block.",
		}),
		walCorruptions: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "prometheus_tsdb_wal_corruptions_total",
			Help: "Total number of WAL corruptions.",
		}),
		checkpoints: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "prometheus_tsdb_checkpoint_creations_total",
			Help: "Total number of checkpoint creations attempted.",
		}),
		checkpointsFail: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "prometheus_tsdb_checkpoint_creations_failed_total",
			Help: "Total number of checkpoint creations that failed.",
		}),
		checkpointDelete: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "prometheus_tsdb_checkpoint_deletions_total",
			Help: "Total number of checkpoint deletions attempted.",
		}),
		replayDuration: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "prometheus_tsdb_data_replay_duration_seconds",
			Help: "Time taken to replay the data on disk.",
		}),
		unknownRefs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "prometheus_tsdb_wal_replay_unknown_refs_total",
			Help: "Total number of unknown series references encountered during WAL replay.",
		}, []string{"type"}),
		activeAppenders: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "prometheus_tsdb_head_active_appenders",
			Help: "Number of currently active appender transactions",
		}),
		commitFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "vigil_tsdb_head_commit_failures_total",
			Help: "Total number of head commits that failed to write the WAL; their samples were not appended.",
		}),
		mmapCorruptions: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "prometheus_tsdb_mmap_chunk_corruptions_total",
			Help: "Total number of memory-mapped chunk corruptions.",
		}),
	}
	return m
}

// register registers the metrics with r, if not nil.
func (m *headMetrics) register(h *Head, r prometheus.Registerer) {
	if r == nil {
		return
	}
	r.MustRegister(
		m.seriesCreated, m.seriesRemoved, m.samplesAppended, m.outOfOrder, m.outOfBound,
		m.oooAppended, m.tooOld,
		m.chunksCreated, m.chunksRemoved, m.chunks, m.truncations, m.truncationsFail,
		m.gcDuration, m.walCorruptions, m.checkpoints, m.checkpointsFail, m.checkpointDelete,
		m.replayDuration, m.unknownRefs, m.activeAppenders, m.commitFailures, m.mmapCorruptions,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "prometheus_tsdb_head_series",
			Help: "Total number of series in the head block.",
		}, func() float64 { return float64(h.numSeries.Load()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "prometheus_tsdb_head_min_time",
			Help: "Minimum time bound of the head block.",
		}, func() float64 { return float64(h.MinTime()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "prometheus_tsdb_head_max_time",
			Help: "Maximum timestamp of the head block.",
		}, func() float64 { return float64(h.MaxTime()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "prometheus_tsdb_head_chunks_storage_size_bytes",
			Help: "Size of the chunks_head directory.",
		}, func() float64 { return float64(h.chunkStats().Bytes) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "vigil_tsdb_head_chunks_in_memory",
			Help: "Full head chunks kept in memory because the head chunk files could not take them.",
		}, func() float64 { return float64(h.chunkStats().OverflowChunks) }),
	)
}

// dbMetrics are the DB's self-metrics: compactions, blocks, retention.
// Names and help texts follow Prometheus. Head truncations are counted by
// the head (prometheus_tsdb_head_truncations_total).
type dbMetrics struct {
	compactions          prometheus.Counter
	compactionsFailed    prometheus.Counter
	compactionsTriggered prometheus.Counter
	compactionDuration   prometheus.Histogram
	reloads              prometheus.Counter
	reloadsFailed        prometheus.Counter
	timeRetentions       prometheus.Counter
	sizeRetentions       prometheus.Counter
}

// newDBMetrics builds the DB's metrics and registers them, with gauges
// reading db, when db.opts.Registerer is set. corrupt is the number of
// blocks Open skipped.
func newDBMetrics(db *DB, corrupt int) *dbMetrics {
	m := &dbMetrics{
		compactions: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "prometheus_tsdb_compactions_total",
			Help: "Total number of compactions that were executed for the partition.",
		}),
		compactionsFailed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "prometheus_tsdb_compactions_failed_total",
			Help: "Total number of compactions that failed for the partition.",
		}),
		compactionsTriggered: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "prometheus_tsdb_compactions_triggered_total",
			Help: "Total number of triggered compactions for the partition.",
		}),
		compactionDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "prometheus_tsdb_compaction_duration_seconds",
			Help:    "Duration of compaction runs",
			Buckets: prometheus.ExponentialBuckets(1, 2, 14),
		}),
		reloads: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "prometheus_tsdb_reloads_total",
			Help: "Number of times the database reloaded block data from disk.",
		}),
		reloadsFailed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "prometheus_tsdb_reloads_failures_total",
			Help: "Number of times the database failed to reloadBlocks block data from disk.",
		}),
		timeRetentions: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "prometheus_tsdb_time_retentions_total",
			Help: "The number of times that blocks were deleted because the maximum time limit was exceeded.",
		}),
		sizeRetentions: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "prometheus_tsdb_size_retentions_total",
			Help: "The number of times that blocks were deleted because the maximum number of bytes was exceeded.",
		}),
	}
	r := db.opts.Registerer
	if r == nil {
		return m
	}
	r.MustRegister(
		m.compactions, m.compactionsFailed, m.compactionsTriggered, m.compactionDuration,
		m.reloads, m.reloadsFailed, m.timeRetentions, m.sizeRetentions,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "prometheus_tsdb_blocks_loaded",
			Help: "Number of currently loaded data blocks",
		}, func() float64 { return float64(len(db.blocks())) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "prometheus_tsdb_storage_blocks_bytes",
			Help: "The number of bytes that are currently used for local storage by all blocks.",
		}, func() float64 { return float64(db.blocksSize()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "prometheus_tsdb_retention_limit_bytes",
			Help: "Max number of bytes to be retained in the tsdb blocks, configured 0 means disabled",
		}, func() float64 { return float64(db.opts.MaxBytes) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "prometheus_tsdb_retention_limit_seconds",
			Help: "How long to retain samples in storage.",
		}, func() float64 { return db.opts.RetentionDuration.Seconds() }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "prometheus_tsdb_lowest_timestamp",
			Help: "Lowest timestamp value stored in the database. The unit is decided by the library consumer.",
		}, func() float64 { return float64(db.lowestTimestamp()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "prometheus_tsdb_lowest_timestamp_seconds",
			Help: "Lowest timestamp value stored in the database.",
		}, func() float64 { return float64(db.lowestTimestamp()) / 1000 }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "vigil_tsdb_corrupt_blocks",
			Help: "Blocks skipped at startup because they failed to open as corrupt or of an unsupported version; they stay on disk and are not queried.",
		}, func() float64 { return float64(corrupt) }),
	)
	return m
}

// observeCompaction counts one compaction (head or leveled) that started
// at start.
func (m *dbMetrics) observeCompaction(start time.Time, ok bool) {
	m.compactions.Inc()
	if !ok {
		m.compactionsFailed.Inc()
	}
	m.compactionDuration.Observe(time.Since(start).Seconds())
}
