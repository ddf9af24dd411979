package api

import (
	"context"
	"net/url"
	"time"

	"github.com/vigil-monitoring/vigil/internal/model/labels"
	"github.com/vigil-monitoring/vigil/internal/promql"
	"github.com/vigil-monitoring/vigil/internal/scrape"
	"github.com/vigil-monitoring/vigil/internal/storage"
	"github.com/vigil-monitoring/vigil/internal/tsdb"
)

// QueryEngine creates PromQL queries; *promql.Engine implements it.
type QueryEngine interface {
	NewInstantQuery(ctx context.Context, q storage.Queryable, opts *promql.QueryOpts, qs string, ts time.Time) (promql.Query, error)
	NewRangeQuery(ctx context.Context, q storage.Queryable, opts *promql.QueryOpts, qs string, start, end time.Time, step time.Duration) (promql.Query, error)
}

var _ QueryEngine = (*promql.Engine)(nil)

// Target is what the target and metadata endpoints read of one scrape
// target; *scrape.Target implements it.
type Target interface {
	// Labels are the target's labels without the internal "__" ones.
	Labels() labels.Labels
	// DiscoveredLabels are the labels before relabeling.
	DiscoveredLabels() labels.Labels
	// Get returns any label after relabeling, internal ones included.
	Get(name string) string
	URL() *url.URL
	Health() scrape.TargetHealth
	LastError() error
	LastScrape() time.Time
	LastScrapeDuration() time.Duration
	ListMetadata() []scrape.MetricMetadata
	GetMetadata(metric string) (scrape.MetricMetadata, bool)
}

var _ Target = (*scrape.Target)(nil)

// TargetRetriever lists targets by scrape pool (job). ScrapeTargets
// adapts a *scrape.Manager.
type TargetRetriever interface {
	ActiveTargets() map[string][]Target
	// DroppedTargets are the discovered targets relabeling dropped (only
	// their DiscoveredLabels are read).
	DroppedTargets() map[string][]Target
	DroppedTargetCounts() map[string]int
	ScrapePools() []string
}

// TSDBStatus reports on the storage. Both methods fail while the storage
// is not open.
type TSDBStatus interface {
	// Stats returns head statistics with at most limit entries per list.
	Stats(limit int) (tsdb.HeadStats, error)
	WALReplayStatus() (tsdb.WALReplayStatus, error)
}

// TSDBAdmin performs the admin operations of /api/v1/admin/tsdb. An
// implementation that cannot do one of them returns an error saying so.
type TSDBAdmin interface {
	// Snapshot writes a snapshot of the data into dir; withHead includes
	// the in-memory data.
	Snapshot(dir string, withHead bool) error
	// Delete marks the samples of the matching series in [mint, maxt]
	// deleted.
	Delete(ctx context.Context, mint, maxt int64, ms ...*labels.Matcher) error
	// CleanTombstones rewrites data to drop deleted samples.
	CleanTombstones() error
}

// *tsdb.DB is the TSDBAdmin of an open database: snapshots hard-link its
// blocks (and persist the head as one more block), deletions become
// tombstones in its blocks and its head, and cleaning rewrites the blocks
// that have tombstones. A server whose database opens after the API is
// built (the WAL replay) passes a value that forwards to it once open.
var _ TSDBAdmin = (*tsdb.DB)(nil)

// RulesRetriever returns the rule groups and active alerts, already in
// the API's shapes; the rule manager's adapter fills them.
type RulesRetriever interface {
	RuleGroups() []RuleGroup
	Alerts() []Alert
}

// AlertmanagerRetriever lists the Alertmanagers alerts are sent to and
// those relabeling dropped.
type AlertmanagerRetriever interface {
	Alertmanagers() []*url.URL
	DroppedAlertmanagers() []*url.URL
}

// ScrapeTargets adapts a scrape manager to TargetRetriever.
func ScrapeTargets(m *scrape.Manager) TargetRetriever { return scrapeTargets{m} }

type scrapeTargets struct{ m *scrape.Manager }

func convertTargets(in map[string][]*scrape.Target) map[string][]Target {
	out := make(map[string][]Target, len(in))
	for pool, ts := range in {
		conv := make([]Target, len(ts))
		for i, t := range ts {
			conv[i] = t
		}
		out[pool] = conv
	}
	return out
}

func (s scrapeTargets) ActiveTargets() map[string][]Target {
	return convertTargets(s.m.ActiveTargets())
}
func (s scrapeTargets) DroppedTargets() map[string][]Target {
	return convertTargets(s.m.DroppedTargets())
}
func (s scrapeTargets) DroppedTargetCounts() map[string]int { return s.m.DroppedTargetCounts() }
func (s scrapeTargets) ScrapePools() []string               { return s.m.ScrapePools() }

// DBStatus adapts an open database to TSDBStatus.
func DBStatus(db *tsdb.DB) TSDBStatus { return dbStatus{db} }

type dbStatus struct{ db *tsdb.DB }

func (d dbStatus) Stats(limit int) (tsdb.HeadStats, error) { return d.db.Head().Stats(limit), nil }
func (d dbStatus) WALReplayStatus() (tsdb.WALReplayStatus, error) {
	return d.db.WALReplayStatus(), nil
}
