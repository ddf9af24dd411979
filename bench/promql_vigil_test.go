package bench

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/vigil-monitoring/vigil/internal/model/labels"
	"github.com/vigil-monitoring/vigil/internal/promql"
	"github.com/vigil-monitoring/vigil/internal/storage"
	"github.com/vigil-monitoring/vigil/internal/tsdb"
)

func init() {
	promqlImpls = append(promqlImpls, promqlImpl{name: "vigil", open: openVigilPromQL})
}

// vigilPromQL is Vigil's engine over Vigil's TSDB (the head, with its WAL,
// in a temporary directory).
type vigilPromQL struct {
	dir string
	db  *tsdb.DB
	ng  *promql.Engine
}

func openVigilPromQL() (promqlEngine, error) {
	dir, err := os.MkdirTemp("", "vigil-bench-promql")
	if err != nil {
		return nil, err
	}
	opts := tsdb.DefaultOptions()
	// As Prometheus' teststorage: one day per block range, so no chunk is
	// cut at a two-hour boundary.
	opts.ChunkRange = 24 * time.Hour
	db, err := tsdb.Open(dir, opts)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	e := &vigilPromQL{dir: dir, db: db}
	var app storage.Appender
	err = promqlLoad(func(ref uint64, pairs []string, t int64, v float64) (uint64, error) {
		if app == nil {
			app = db.Appender(context.Background())
		}
		var ls labels.Labels // the reference alone names a known series
		if ref == 0 {
			ls = labels.FromStrings(pairs...)
		}
		r, err := app.Append(storage.SeriesRef(ref), ls, t, v)
		return uint64(r), err
	}, func() error {
		err := app.Commit()
		app = nil
		return err
	})
	if err != nil {
		e.close()
		return nil, err
	}
	e.ng = promql.NewEngine(promql.EngineOpts{
		MaxSamples:       50_000_000,
		Timeout:          100 * time.Second,
		EnableAtModifier: true,
		// As Prometheus' engine: Close takes the result's points back.
		RecycleResults: true,
	})
	return e, nil
}

// query runs expr; the caller closes the query once done with the result.
func (e *vigilPromQL) query(ctx context.Context, expr string, start, end time.Time, step time.Duration) (promql.Query, *promql.Result, error) {
	var qry promql.Query
	var err error
	if start.Equal(end) {
		qry, err = e.ng.NewInstantQuery(ctx, e.db, nil, expr, end)
	} else {
		qry, err = e.ng.NewRangeQuery(ctx, e.db, nil, expr, start, end, step)
	}
	if err != nil {
		return nil, nil, err
	}
	res := qry.Exec(ctx)
	return qry, res, res.Err
}

func (e *vigilPromQL) exec(ctx context.Context, expr string, start, end time.Time, step time.Duration) error {
	qry, _, err := e.query(ctx, expr, start, end, step)
	if qry != nil {
		qry.Close()
	}
	return err
}

func (e *vigilPromQL) result(ctx context.Context, expr string, start, end time.Time, step time.Duration) ([]promqlSeries, error) {
	qry, res, err := e.query(ctx, expr, start, end, step)
	if qry != nil {
		// The result's points go back to the engine on Close: copy first.
		defer qry.Close()
	}
	if err != nil {
		return nil, err
	}
	var out []promqlSeries
	switch v := res.Value.(type) {
	case promql.Matrix:
		for _, s := range v {
			ps := promqlSeries{labels: vigilLabelString(s.Metric)}
			for _, p := range s.Floats {
				ps.points = append(ps.points, promqlPoint{t: p.T, f: p.F})
			}
			for _, p := range s.Histograms {
				ps.points = append(ps.points, promqlPoint{t: p.T, h: p.H.String()})
			}
			out = append(out, ps)
		}
	case promql.Vector:
		for _, s := range v {
			p := promqlPoint{t: s.T, f: s.F}
			if s.H != nil {
				p = promqlPoint{t: s.T, h: s.H.String()}
			}
			out = append(out, promqlSeries{labels: vigilLabelString(s.Metric), points: []promqlPoint{p}})
		}
	case promql.Scalar:
		out = append(out, promqlSeries{labels: "{}", points: []promqlPoint{{t: v.T, f: v.V}}})
	default:
		return nil, fmt.Errorf("unexpected result type %T", res.Value)
	}
	return promqlSortSeries(out), nil
}

func vigilLabelString(ls labels.Labels) string {
	var pairs [][2]string
	ls.Range(func(l labels.Label) { pairs = append(pairs, [2]string{l.Name, l.Value}) })
	return promqlLabelString(pairs)
}

func (e *vigilPromQL) read(ctx context.Context, name string, mint, maxt int64) (int, error) {
	q, err := e.db.Querier(mint, maxt)
	if err != nil {
		return 0, err
	}
	defer q.Close()
	set := q.Select(ctx, false, nil, labels.MustNewMatcher(labels.MatchEqual, labels.MetricName, name))
	n := 0
	var it storage.Iterator
	for set.Next() {
		it = set.At().Iterator(it)
		for typ := it.Next(); typ != storage.ValNone; typ = it.Next() {
			if t, _ := it.At(); t > mint {
				n++
			}
		}
		if err := it.Err(); err != nil {
			return 0, err
		}
	}
	return n, set.Err()
}

func (e *vigilPromQL) close() error {
	err := e.db.Close()
	if rmErr := os.RemoveAll(e.dir); err == nil {
		err = rmErr
	}
	return err
}
