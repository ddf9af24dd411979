package bench

import (
	"context"
	"fmt"
	"time"

	promlabels "github.com/prometheus/prometheus/model/labels"
	prompromql "github.com/prometheus/prometheus/promql"
	promparser "github.com/prometheus/prometheus/promql/parser"
	promstorage "github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
	"github.com/prometheus/prometheus/util/teststorage"
)

func init() {
	promqlImpls = append(promqlImpls, promqlImpl{name: "prometheus", open: openPrometheusPromQL})
}

// prometheusPromQL is Prometheus' engine over Prometheus' TSDB as its own
// BenchmarkRangeQuery sets it up: teststorage (a DB with one-day block
// ranges in a temporary directory, WAL on), compactions off, full head
// chunks memory-mapped. No block is cut, so every query reads the head,
// as Vigil's does.
type prometheusPromQL struct {
	stor *teststorage.TestStorage
	ng   *prompromql.Engine
}

func openPrometheusPromQL() (promqlEngine, error) {
	stor, err := teststorage.NewWithError()
	if err != nil {
		return nil, err
	}
	stor.DisableCompactions()
	e := &prometheusPromQL{stor: stor}
	var app promstorage.AppenderV2
	err = promqlLoad(func(ref uint64, pairs []string, t int64, v float64) (uint64, error) {
		if app == nil {
			app = stor.AppenderV2(context.Background())
		}
		var ls promlabels.Labels // the reference alone names a known series
		if ref == 0 {
			ls = promlabels.FromStrings(pairs...)
		}
		r, err := app.Append(promstorage.SeriesRef(ref), ls, 0, t, v, nil, nil, promstorage.AOptions{})
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
	stor.ForceHeadMMap()
	e.ng = prompromql.NewEngine(prompromql.EngineOpts{
		MaxSamples:       50_000_000,
		Timeout:          100 * time.Second,
		EnableAtModifier: true,
		Parser:           promparser.NewParser(promparser.Options{EnableExperimentalFunctions: true}),
	})
	return e, nil
}

// query runs expr; the caller closes the query once done with the result.
func (e *prometheusPromQL) query(ctx context.Context, expr string, start, end time.Time, step time.Duration) (prompromql.Query, *prompromql.Result, error) {
	var qry prompromql.Query
	var err error
	if start.Equal(end) {
		qry, err = e.ng.NewInstantQuery(ctx, e.stor, nil, expr, end)
	} else {
		qry, err = e.ng.NewRangeQuery(ctx, e.stor, nil, expr, start, end, step)
	}
	if err != nil {
		return nil, nil, err
	}
	res := qry.Exec(ctx)
	return qry, res, res.Err
}

func (e *prometheusPromQL) exec(ctx context.Context, expr string, start, end time.Time, step time.Duration) error {
	qry, _, err := e.query(ctx, expr, start, end, step)
	if qry != nil {
		qry.Close()
	}
	return err
}

func (e *prometheusPromQL) result(ctx context.Context, expr string, start, end time.Time, step time.Duration) ([]promqlSeries, error) {
	qry, res, err := e.query(ctx, expr, start, end, step)
	if qry != nil {
		// Close hands the result's points back to the engine: copy first.
		defer qry.Close()
	}
	if err != nil {
		return nil, err
	}
	var out []promqlSeries
	switch v := res.Value.(type) {
	case prompromql.Matrix:
		for _, s := range v {
			ps := promqlSeries{labels: promLabelString(s.Metric)}
			for _, p := range s.Floats {
				ps.points = append(ps.points, promqlPoint{t: p.T, f: p.F})
			}
			for _, p := range s.Histograms {
				ps.points = append(ps.points, promqlPoint{t: p.T, h: p.H.String()})
			}
			out = append(out, ps)
		}
	case prompromql.Vector:
		for _, s := range v {
			p := promqlPoint{t: s.T, f: s.F}
			if s.H != nil {
				p = promqlPoint{t: s.T, h: s.H.String()}
			}
			out = append(out, promqlSeries{labels: promLabelString(s.Metric), points: []promqlPoint{p}})
		}
	case prompromql.Scalar:
		out = append(out, promqlSeries{labels: "{}", points: []promqlPoint{{t: v.T, f: v.V}}})
	default:
		return nil, fmt.Errorf("unexpected result type %T", res.Value)
	}
	return promqlSortSeries(out), nil
}

func promLabelString(ls promlabels.Labels) string {
	var pairs [][2]string
	ls.Range(func(l promlabels.Label) { pairs = append(pairs, [2]string{l.Name, l.Value}) })
	return promqlLabelString(pairs)
}

func (e *prometheusPromQL) read(ctx context.Context, name string, mint, maxt int64) (int, error) {
	q, err := e.stor.Querier(mint, maxt)
	if err != nil {
		return 0, err
	}
	defer q.Close()
	set := q.Select(ctx, false, nil, promlabels.MustNewMatcher(promlabels.MatchEqual, promlabels.MetricName, name))
	n := 0
	var it chunkenc.Iterator
	for set.Next() {
		it = set.At().Iterator(it)
		for typ := it.Next(); typ != chunkenc.ValNone; typ = it.Next() {
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

func (e *prometheusPromQL) close() error {
	if e.ng != nil {
		e.ng.Close()
	}
	return e.stor.Close()
}
