package promql

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vigil-monitoring/vigil/internal/model/value"
	"github.com/vigil-monitoring/vigil/internal/promql/parser"
	"github.com/vigil-monitoring/vigil/internal/storage"
)

// DefaultLookbackDelta is how far back an instant selector looks for the
// latest sample of a series when EngineOpts.LookbackDelta is 0.
const DefaultLookbackDelta = 5 * time.Minute

// defaultSubqueryInterval is the step of subqueries written without one
// when EngineOpts.NoStepSubqueryIntervalFn is nil: Prometheus' default
// evaluation interval.
const defaultSubqueryInterval = time.Minute

// ErrQueryTimeout is returned when a query ran out of time. The string
// says in which phase.
type ErrQueryTimeout string

func (e ErrQueryTimeout) Error() string { return "query timed out in " + string(e) }

// ErrQueryCanceled is returned when a query was canceled.
type ErrQueryCanceled string

func (e ErrQueryCanceled) Error() string { return "query was canceled in " + string(e) }

// ErrTooManySamples is returned when a query would hold more samples in
// memory than EngineOpts.MaxSamples allows.
type ErrTooManySamples string

func (e ErrTooManySamples) Error() string {
	return "query processing would load too many samples into memory in " + string(e)
}

// ErrStorage wraps an error from the storage layer, which the API reports
// as an internal error rather than a bad query.
type ErrStorage struct{ Err error }

func (e ErrStorage) Error() string { return e.Err.Error() }
func (e ErrStorage) Unwrap() error { return e.Err }

// Errors for disabled language features.
var (
	ErrValidationAtModifierDisabled     = errors.New("@ modifier is disabled")
	ErrValidationNegativeOffsetDisabled = errors.New("negative offset is disabled")
)

// env names the phase in timeout and limit errors.
const env = "query execution"

// EngineOpts configures an Engine.
type EngineOpts struct {
	// Logger receives runtime panics during evaluation; nil discards.
	Logger *slog.Logger
	// MaxSamples is the most samples a query may hold in memory at once
	// (--query.max-samples); 0 means no limit.
	MaxSamples int
	// Timeout bounds each query's execution; 0 means no timeout.
	Timeout time.Duration
	// ActiveQueryTracker tracks running queries and enforces the
	// concurrency limit. When nil and MaxConcurrency > 0, an in-memory
	// limiter is used.
	ActiveQueryTracker QueryTracker
	MaxConcurrency     int
	// LookbackDelta is how far back instant selectors look; 0 means
	// DefaultLookbackDelta.
	LookbackDelta time.Duration
	// NoStepSubqueryIntervalFn returns the step in milliseconds of a
	// subquery written without one, given its range in milliseconds. nil
	// means one minute.
	NoStepSubqueryIntervalFn func(rangeMillis int64) int64
	// EnableAtModifier and EnableNegativeOffset allow the @ modifier and
	// negative offsets (both on in Prometheus since 2.33).
	EnableAtModifier     bool
	EnableNegativeOffset bool
	// EnablePerStepStats allows queries to ask for per-step sample counts.
	EnablePerStepStats bool
	// EnableDelayedNameRemoval keeps the metric name of series until the
	// end of evaluation instead of dropping it where an operation changes
	// a series' meaning.
	EnableDelayedNameRemoval bool
	// Registerer receives the engine's self-metrics
	// (prometheus_engine_*); nil registers nothing.
	Registerer prometheus.Registerer
	// Parser selects the language features queries may use; nil means
	// every feature (parser.AllFeatures).
	Parser *parser.Parser
	// RecycleResults makes Query.Close hand the point slices of the
	// query's result back to the engine, which reuses them for later
	// queries, as Prometheus' engine does. Callers must then be done with
	// the result (have encoded it) before they call Close; a caller that
	// keeps the result after Close must leave this off.
	RecycleResults bool
}

// Engine evaluates PromQL queries. It is safe for concurrent use.
type Engine struct {
	logger             *slog.Logger
	maxSamples         int
	timeout            time.Duration
	tracker            QueryTracker
	lookbackDelta      time.Duration
	subqueryInterval   func(int64) int64
	atModifier         bool
	negativeOffset     bool
	perStepStats       bool
	delayedNameRemoval bool
	recycleResults     bool
	parser             *parser.Parser
	metrics            *engineMetrics

	// queryLog holds the optional query logger, swapped on config reload.
	queryLog struct {
		sync.RWMutex
		logger QueryLogger
	}
}

// NewEngine returns an engine with the given options.
func NewEngine(opts EngineOpts) *Engine {
	ng := &Engine{
		logger:             opts.Logger,
		maxSamples:         opts.MaxSamples,
		timeout:            opts.Timeout,
		tracker:            opts.ActiveQueryTracker,
		lookbackDelta:      opts.LookbackDelta,
		subqueryInterval:   opts.NoStepSubqueryIntervalFn,
		atModifier:         opts.EnableAtModifier,
		negativeOffset:     opts.EnableNegativeOffset,
		perStepStats:       opts.EnablePerStepStats,
		delayedNameRemoval: opts.EnableDelayedNameRemoval,
		recycleResults:     opts.RecycleResults,
		parser:             opts.Parser,
		metrics:            newEngineMetrics(opts.Registerer, opts.MaxConcurrency),
	}
	if ng.logger == nil {
		ng.logger = slog.New(slog.DiscardHandler)
	}
	if ng.maxSamples <= 0 {
		ng.maxSamples = int(^uint(0) >> 1)
	}
	if ng.lookbackDelta <= 0 {
		ng.lookbackDelta = DefaultLookbackDelta
	}
	if ng.subqueryInterval == nil {
		ng.subqueryInterval = func(int64) int64 { return defaultSubqueryInterval.Milliseconds() }
	}
	if ng.parser == nil {
		ng.parser = parser.NewParser(parser.AllFeatures)
	}
	if ng.tracker == nil && opts.MaxConcurrency > 0 {
		ng.tracker = NewConcurrencyLimiter(opts.MaxConcurrency)
	}
	return ng
}

// Close releases the engine's query tracker.
func (ng *Engine) Close() error {
	if ng == nil || ng.tracker == nil {
		return nil
	}
	return ng.tracker.Close()
}

// QueryOpts are per-query options; a nil *QueryOpts means the defaults.
type QueryOpts struct {
	// EnablePerStepStats records per-step sample counts if the engine
	// allows it.
	EnablePerStepStats bool
	// LookbackDelta overrides the engine's lookback delta when positive.
	LookbackDelta time.Duration
}

// Query is a parsed query ready to run once.
type Query interface {
	// Exec evaluates the query. It may be called once.
	Exec(ctx context.Context) *Result
	// Close releases the query's resources.
	Close()
	// Statement returns the parsed (and preprocessed) expression.
	Statement() parser.Expr
	// Stats returns the timings and sample counts of the query.
	Stats() *Statistics
	// Cancel aborts a running Exec.
	Cancel()
	// String returns the query text.
	String() string
}

// query implements Query.
type query struct {
	ng        *Engine
	queryable storage.Queryable
	text      string
	expr      parser.Expr
	// start, end and interval are in milliseconds; interval is 0 for an
	// instant query.
	start, end, interval int64
	lookback             int64
	stats                *Statistics
	cancel               context.CancelFunc
	// matrix is the evaluated matrix behind the result, recycled by Close:
	// always for an instant vector or scalar (whose result holds no
	// points of it), and for other results when the engine recycles them.
	matrix   Matrix
	internal bool
	// vector is the result of an instant vector query, recycled by Close
	// when the engine recycles results.
	vector Vector
}

func (q *query) Statement() parser.Expr { return q.expr }
func (q *query) Stats() *Statistics     { return q.stats }
func (q *query) String() string         { return q.text }

// Close recycles the point slices of the query's evaluation.
func (q *query) Close() {
	if q.vector != nil && q.ng.recycleResults {
		putVector(q.vector)
		q.vector = nil
	}
	if q.matrix == nil || !(q.internal || q.ng.recycleResults) {
		return
	}
	for _, s := range q.matrix {
		putFPoints(s.Floats)
	}
	putMatrix(q.matrix)
	q.matrix = nil
}

func (q *query) Cancel() {
	if q.cancel != nil {
		q.cancel()
	}
}

// NewInstantQuery parses qs for evaluation at ts.
func (ng *Engine) NewInstantQuery(_ context.Context, q storage.Queryable, opts *QueryOpts, qs string, ts time.Time) (Query, error) {
	return ng.newQuery(q, opts, qs, ts, ts, 0)
}

// NewRangeQuery parses qs for evaluation at every step from start to end.
func (ng *Engine) NewRangeQuery(_ context.Context, q storage.Queryable, opts *QueryOpts, qs string, start, end time.Time, step time.Duration) (Query, error) {
	if step <= 0 {
		return nil, errors.New("zero or negative query resolution step widths are not accepted. Try a positive integer")
	}
	if end.Before(start) {
		return nil, errors.New("end timestamp must not be before start time")
	}
	return ng.newQuery(q, opts, qs, start, end, step)
}

func (ng *Engine) newQuery(q storage.Queryable, opts *QueryOpts, qs string, start, end time.Time, step time.Duration) (*query, error) {
	expr, err := ng.parser.ParseExpr(qs)
	if err != nil {
		return nil, err
	}
	if err := ng.validateOpts(expr); err != nil {
		return nil, err
	}
	if step > 0 && expr.Type() != parser.ValueTypeVector && expr.Type() != parser.ValueTypeScalar {
		return nil, fmt.Errorf("invalid expression type %q for range query, must be Scalar or instant Vector", parser.DocumentedType(expr.Type()))
	}
	lookback := ng.lookbackDelta
	perStep := false
	if opts != nil {
		if opts.LookbackDelta > 0 {
			lookback = opts.LookbackDelta
		}
		perStep = opts.EnablePerStepStats && ng.perStepStats
	}
	qry := &query{
		ng:        ng,
		queryable: q,
		text:      qs,
		start:     value.FromTime(start),
		end:       value.FromTime(end),
		interval:  step.Milliseconds(),
		lookback:  lookback.Milliseconds(),
	}
	expr, err = preprocessExpr(expr, qry.start, qry.end, step, end.Sub(start))
	if err != nil {
		return nil, err
	}
	qry.expr = expr
	interval := qry.interval
	if interval == 0 {
		interval = 1
	}
	qry.stats = &Statistics{Samples: newQuerySamples(perStep, qry.start, qry.end, interval)}
	return qry, nil
}

// validateOpts rejects the @ modifier and negative offsets when disabled.
func (ng *Engine) validateOpts(expr parser.Expr) error {
	if ng.atModifier && ng.negativeOffset {
		return nil
	}
	var err error
	parser.Inspect(expr, func(node parser.Node, _ []parser.Node) error {
		var ts *int64
		var startOrEnd parser.ItemType
		var offset time.Duration
		switch n := node.(type) {
		case *parser.VectorSelector:
			ts, startOrEnd, offset = n.Timestamp, n.StartOrEnd, n.OriginalOffset
		case *parser.SubqueryExpr:
			ts, startOrEnd, offset = n.Timestamp, n.StartOrEnd, n.OriginalOffset
		default:
			return nil
		}
		if !ng.atModifier && (ts != nil || startOrEnd != 0) {
			err = ErrValidationAtModifierDisabled
		} else if !ng.negativeOffset && offset < 0 {
			err = ErrValidationNegativeOffsetDisabled
		}
		return err
	})
	return err
}

// Exec evaluates the query.
func (q *query) Exec(ctx context.Context) *Result {
	q.ng.metrics.queries.Inc()
	v, annos, err := q.exec(ctx)
	q.ng.metrics.queries.Dec()
	q.ng.metrics.observe(q)
	q.ng.logQuery(ctx, q, err)
	return &Result{Value: v, Err: err, Warnings: annos}
}

func (q *query) exec(ctx context.Context) (Value, Annotations, error) {
	ng := q.ng
	total := startTimer(&q.stats.Timers.ExecTotalTime)
	defer total.stop()

	// One context serves both the timeout and Cancel.
	var cancel context.CancelFunc
	if ng.timeout > 0 {
		ctx, cancel = context.WithTimeout(ctx, ng.timeout)
	} else {
		ctx, cancel = context.WithCancel(ctx)
	}
	q.cancel = cancel
	defer cancel()

	if ng.tracker != nil {
		queue := startTimer(&q.stats.Timers.ExecQueueTime)
		idx, err := ng.tracker.Insert(ctx, q.text)
		queue.stop()
		if err != nil {
			return nil, nil, contextErr(err, "query queue")
		}
		defer ng.tracker.Delete(idx)
	}
	if err := contextDone(ctx, "query queue"); err != nil {
		return nil, nil, err
	}

	evalTimer := startTimer(&q.stats.Timers.EvalTotalTime)
	defer evalTimer.stop()
	return q.evalStmt(ctx)
}

func (q *query) evalStmt(ctx context.Context) (Value, Annotations, error) {
	ng := q.ng
	prep := startTimer(&q.stats.Timers.QueryPreparationTime)
	mint, maxt := findMinMaxTime(q.expr, q.start, q.end, q.lookback)
	querier, err := q.queryable.Querier(mint, maxt)
	if err != nil {
		prep.stop()
		return nil, nil, ErrStorage{Err: err}
	}
	defer querier.Close()

	st := &evalState{
		querier:            querier,
		maxSamples:         ng.maxSamples,
		lookback:           q.lookback,
		subqueryInterval:   ng.subqueryInterval,
		delayedNameRemoval: ng.delayedNameRemoval,
		recycleResults:     ng.recycleResults,
		logger:             ng.logger,
	}
	st.selectSeries(ctx, q.expr, q.start, q.end, q.interval, q.lookback, ng.subqueryInterval)
	defer st.recycleSelections()
	prep.stop()

	setOffsetForAtModifier(q.start, q.expr)

	interval := q.interval
	if interval == 0 {
		interval = 1
	}
	ev := &evaluator{st: st, startTimestamp: q.start, endTimestamp: q.end, interval: interval, samplesStats: q.stats.Samples}
	if q.interval != 0 {
		warnSortInRangeQuery(q.expr, &st.annos)
	}
	inner := startTimer(&q.stats.Timers.InnerEvalTime)
	val, err := ev.run(ctx, q.expr)
	inner.stop()
	if err != nil {
		return nil, st.annos, err
	}

	if q.interval == 0 {
		res := q.instantResult(val)
		if vec, ok := res.(Vector); ok {
			q.vector = vec
		}
		if mat, ok := val.(Matrix); ok {
			q.matrix = mat
			_, isMat := res.(Matrix)
			q.internal = !isMat
		}
		return res, st.annos, nil
	}
	mat, ok := val.(Matrix)
	if !ok {
		return nil, st.annos, fmt.Errorf("unexpected %T result of range query", val)
	}
	q.matrix = mat
	if err := contextDone(ctx, "expression evaluation"); err != nil {
		return nil, st.annos, err
	}
	sortTimer := startTimer(&q.stats.Timers.ResultSortTime)
	mat.Sort()
	sortTimer.stop()
	return mat, st.annos, nil
}

// instantResult turns the one-step matrix of an instant query into the
// value its expression type calls for.
func (q *query) instantResult(val Value) Value {
	mat, ok := val.(Matrix)
	if !ok {
		return val // A string.
	}
	switch q.expr.Type() {
	case parser.ValueTypeVector:
		var vec Vector
		if q.ng.recycleResults {
			vec = getVector(len(mat))
		} else {
			vec = make(Vector, 0, len(mat))
		}
		for _, s := range mat {
			// Points carry the evaluation time; force it in case an
			// operation kept another.
			if len(s.Histograms) > 0 {
				vec = append(vec, Sample{Metric: s.Metric, H: s.Histograms[0].H, T: q.start, DropName: s.DropName})
			} else if len(s.Floats) > 0 {
				vec = append(vec, Sample{Metric: s.Metric, F: s.Floats[0].F, T: q.start, DropName: s.DropName})
			}
		}
		return vec
	case parser.ValueTypeScalar:
		if len(mat) == 0 || len(mat[0].Floats) == 0 {
			return Scalar{T: q.start, V: 0}
		}
		return Scalar{T: q.start, V: mat[0].Floats[0].F}
	default:
		mat.Sort()
		return mat
	}
}

// warnSortInRangeQuery adds a warning for sorting functions in a range
// query, whose results are always ordered by labels.
func warnSortInRangeQuery(expr parser.Expr, annos *Annotations) {
	parser.Inspect(expr, func(node parser.Node, _ []parser.Node) error {
		if c, ok := node.(*parser.Call); ok {
			switch c.Func.Name {
			case "sort", "sort_desc", "sort_by_label", "sort_by_label_desc":
				annos.Add(newSortInRangeQueryWarning(c.PositionRange()))
			}
		}
		return nil
	})
}

// contextDone returns the context's error, translated, if it is done.
func contextDone(ctx context.Context, phase string) error {
	if err := ctx.Err(); err != nil {
		return contextErr(err, phase)
	}
	return nil
}

func contextErr(err error, phase string) error {
	switch {
	case errors.Is(err, context.Canceled):
		return ErrQueryCanceled(phase)
	case errors.Is(err, context.DeadlineExceeded):
		return ErrQueryTimeout(phase)
	}
	return err
}
