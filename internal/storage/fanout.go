package storage

import (
	"context"
	"errors"

	"github.com/vigil-monitoring/vigil/internal/model/exemplar"
	"github.com/vigil-monitoring/vigil/internal/model/histogram"
	"github.com/vigil-monitoring/vigil/internal/model/labels"
	"github.com/vigil-monitoring/vigil/internal/model/metadata"
)

// NewFanoutAppendable returns an Appendable that writes every sample to
// primary and to each secondary (remote write queues, typically). The
// primary decides: its errors are returned and its refs are what callers
// cache; secondaries get ref 0 because a ref is meaningful only to the
// storage that issued it. Reads are merged separately, with
// NewMergeQuerier.
func NewFanoutAppendable(primary Appendable, secondaries ...Appendable) Appendable {
	if len(secondaries) == 0 {
		return primary
	}
	return &fanout{primary: primary, secondaries: secondaries}
}

type fanout struct {
	primary     Appendable
	secondaries []Appendable
}

func (f *fanout) Appender(ctx context.Context) Appender {
	app := &fanoutAppender{primary: f.primary.Appender(ctx)}
	for _, s := range f.secondaries {
		app.secondaries = append(app.secondaries, s.Appender(ctx))
	}
	return app
}

// fanoutAppender forwards each call to every appender. A sample the
// primary rejects is not sent to the secondaries, so they never hold data
// the primary refused.
type fanoutAppender struct {
	primary     Appender
	secondaries []Appender
}

func (a *fanoutAppender) Append(ref SeriesRef, l labels.Labels, t int64, v float64) (SeriesRef, error) {
	ref, err := a.primary.Append(ref, l, t, v)
	if err != nil {
		return ref, err
	}
	for _, s := range a.secondaries {
		if _, err := s.Append(0, l, t, v); err != nil {
			return ref, err
		}
	}
	return ref, nil
}

func (a *fanoutAppender) AppendHistogram(ref SeriesRef, l labels.Labels, t int64, h *histogram.Histogram, fh *histogram.FloatHistogram) (SeriesRef, error) {
	ref, err := a.primary.AppendHistogram(ref, l, t, h, fh)
	if err != nil {
		return ref, err
	}
	for _, s := range a.secondaries {
		if _, err := s.AppendHistogram(0, l, t, h, fh); err != nil {
			return ref, err
		}
	}
	return ref, nil
}

func (a *fanoutAppender) AppendExemplar(ref SeriesRef, l labels.Labels, e exemplar.Exemplar) (SeriesRef, error) {
	ref, err := a.primary.AppendExemplar(ref, l, e)
	if err != nil {
		return ref, err
	}
	for _, s := range a.secondaries {
		if _, err := s.AppendExemplar(0, l, e); err != nil {
			return ref, err
		}
	}
	return ref, nil
}

func (a *fanoutAppender) UpdateMetadata(ref SeriesRef, l labels.Labels, m metadata.Metadata) (SeriesRef, error) {
	ref, err := a.primary.UpdateMetadata(ref, l, m)
	if err != nil {
		return ref, err
	}
	for _, s := range a.secondaries {
		if _, err := s.UpdateMetadata(0, l, m); err != nil {
			return ref, err
		}
	}
	return ref, nil
}

func (a *fanoutAppender) AppendCTZeroSample(ref SeriesRef, l labels.Labels, t, ct int64) (SeriesRef, error) {
	ref, err := a.primary.AppendCTZeroSample(ref, l, t, ct)
	if err != nil {
		return ref, err
	}
	for _, s := range a.secondaries {
		if _, err := s.AppendCTZeroSample(0, l, t, ct); err != nil {
			return ref, err
		}
	}
	return ref, nil
}

// Commit commits the primary first. If that fails the secondaries are
// rolled back, so they never publish what the primary lost.
func (a *fanoutAppender) Commit() error {
	if err := a.primary.Commit(); err != nil {
		errs := []error{err}
		for _, s := range a.secondaries {
			if rerr := s.Rollback(); rerr != nil {
				errs = append(errs, rerr)
			}
		}
		return errors.Join(errs...)
	}
	var errs []error
	for _, s := range a.secondaries {
		if err := s.Commit(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (a *fanoutAppender) Rollback() error {
	errs := []error{a.primary.Rollback()}
	for _, s := range a.secondaries {
		errs = append(errs, s.Rollback())
	}
	return errors.Join(errs...)
}
