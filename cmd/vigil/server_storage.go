package main

import (
	"context"
	"errors"
	"sync/atomic"

	"github.com/vigil-monitoring/vigil/internal/model/exemplar"
	"github.com/vigil-monitoring/vigil/internal/model/histogram"
	"github.com/vigil-monitoring/vigil/internal/model/labels"
	"github.com/vigil-monitoring/vigil/internal/model/metadata"
	"github.com/vigil-monitoring/vigil/internal/storage"
	"github.com/vigil-monitoring/vigil/internal/tsdb"
	"github.com/vigil-monitoring/vigil/internal/web/api"
)

// errNotReady is what reads and writes get while the database is still
// being opened (the WAL replay can take minutes).
var errNotReady = errors.New("TSDB not ready")

// readyStorage stands in for the database from the start, so the web
// server, the engine and the scrape manager can be built and the
// listener can answer /-/healthy and /api/v1/status/walreplay while the
// WAL is replayed.
type readyStorage struct {
	db       atomic.Pointer[tsdb.DB]
	progress *tsdb.ReplayProgress
}

func (s *readyStorage) set(db *tsdb.DB) { s.db.Store(db) }

// Querier implements storage.Queryable.
func (s *readyStorage) Querier(mint, maxt int64) (storage.Querier, error) {
	db := s.db.Load()
	if db == nil {
		return nil, errNotReady
	}
	return db.Querier(mint, maxt)
}

// Appender implements storage.Appendable.
func (s *readyStorage) Appender(ctx context.Context) storage.Appender {
	db := s.db.Load()
	if db == nil {
		return notReadyAppender{}
	}
	return db.Appender(ctx)
}

// Stats implements api.TSDBStatus.
func (s *readyStorage) Stats(limit int) (tsdb.HeadStats, error) {
	db := s.db.Load()
	if db == nil {
		return tsdb.HeadStats{}, errNotReady
	}
	return db.Head().Stats(limit), nil
}

// WALReplayStatus implements api.TSDBStatus; it works during the replay,
// which is when clients ask.
func (s *readyStorage) WALReplayStatus() (tsdb.WALReplayStatus, error) {
	return s.progress.Status(), nil
}

var _ api.TSDBAdmin = (*readyStorage)(nil)

// Snapshot implements api.TSDBAdmin.
func (s *readyStorage) Snapshot(dir string, withHead bool) error {
	db := s.db.Load()
	if db == nil {
		return errNotReady
	}
	return db.Snapshot(dir, withHead)
}

// Delete implements api.TSDBAdmin.
func (s *readyStorage) Delete(ctx context.Context, mint, maxt int64, ms ...*labels.Matcher) error {
	db := s.db.Load()
	if db == nil {
		return errNotReady
	}
	return db.Delete(ctx, mint, maxt, ms...)
}

// CleanTombstones implements api.TSDBAdmin.
func (s *readyStorage) CleanTombstones() error {
	db := s.db.Load()
	if db == nil {
		return errNotReady
	}
	return db.CleanTombstones()
}

type notReadyAppender struct{}

func (notReadyAppender) Append(storage.SeriesRef, labels.Labels, int64, float64) (storage.SeriesRef, error) {
	return 0, errNotReady
}

func (notReadyAppender) AppendHistogram(storage.SeriesRef, labels.Labels, int64, *histogram.Histogram, *histogram.FloatHistogram) (storage.SeriesRef, error) {
	return 0, errNotReady
}

func (notReadyAppender) AppendExemplar(storage.SeriesRef, labels.Labels, exemplar.Exemplar) (storage.SeriesRef, error) {
	return 0, errNotReady
}

func (notReadyAppender) UpdateMetadata(storage.SeriesRef, labels.Labels, metadata.Metadata) (storage.SeriesRef, error) {
	return 0, errNotReady
}

func (notReadyAppender) AppendCTZeroSample(storage.SeriesRef, labels.Labels, int64, int64) (storage.SeriesRef, error) {
	return 0, errNotReady
}

func (notReadyAppender) Commit() error   { return errNotReady }
func (notReadyAppender) Rollback() error { return nil }
