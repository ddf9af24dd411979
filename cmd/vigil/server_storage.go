package main

import (
	"context"
	"errors"
	"io/fs"
	"math"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/vigil-monitoring/vigil/internal/model/exemplar"
	"github.com/vigil-monitoring/vigil/internal/model/histogram"
	"github.com/vigil-monitoring/vigil/internal/model/labels"
	"github.com/vigil-monitoring/vigil/internal/model/metadata"
	"github.com/vigil-monitoring/vigil/internal/storage"
	"github.com/vigil-monitoring/vigil/internal/tsdb"
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

// retentionCheckInterval is how often retention is enforced.
const retentionCheckInterval = time.Minute

// retentionLoop enforces --storage.tsdb.retention.time and .size until
// ctx ends. The head is all the database has until blocks exist, so
// retention truncates the head: by time, everything older than the
// retention before the newest sample; by size, while the data directory
// is over the limit, the oldest tenth of the head's time range (at least
// an hour) at each check.
func (s *server) retentionLoop(ctx context.Context, db *tsdb.DB) {
	retTime, retSize := s.flags.retention()
	if retTime <= 0 && retSize <= 0 {
		return
	}
	t := time.NewTicker(retentionCheckInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		head := db.Head()
		mint, maxt := head.MinTime(), head.MaxTime()
		if mint == math.MaxInt64 || maxt == math.MinInt64 {
			continue // empty
		}
		if retTime > 0 && mint < maxt-retTime.Milliseconds() {
			if err := db.TruncateOlderThan(retTime); err != nil {
				s.logger.Error("Applying time retention failed", "err", err)
			}
		}
		if retSize <= 0 {
			continue
		}
		size, err := dirSize(db.Dir())
		if err != nil {
			s.logger.Error("Measuring the data directory failed", "err", err)
			continue
		}
		if size <= retSize {
			continue
		}
		mint, maxt = head.MinTime(), head.MaxTime()
		cut := mint + max((maxt-mint)/10, time.Hour.Milliseconds())
		s.logger.Warn("Data directory exceeds the size retention; dropping the oldest data", "size", size, "limit", retSize, "before", time.UnixMilli(cut).UTC())
		if err := db.Truncate(cut); err != nil {
			s.logger.Error("Applying size retention failed", "err", err)
		}
	}
}

// dirSize sums the sizes of the regular files under dir.
func dirSize(dir string) (int64, error) {
	var total int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			info, err := d.Info()
			if err != nil {
				return err
			}
			total += info.Size()
		}
		return nil
	})
	return total, err
}
