package api

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"

	"github.com/vigil-monitoring/vigil/internal/promql"
	"github.com/vigil-monitoring/vigil/internal/promql/parser"
)

// The stats parameter: "true" adds the timings and sample counts, "all"
// also the per-step counts. Other non-empty values act as "true" with a
// warning, as in Prometheus, where they are deprecated.
const (
	statsTrue = "true"
	statsAll  = "all"
)

func (a *API) query(r *http.Request) result {
	limit, err := parseLimit(r.FormValue("limit"))
	if err != nil {
		return invalidParam(err, "limit")
	}
	ts, err := parseTimeParam(r, "time", a.now())
	if err != nil {
		return invalidParam(err, "time")
	}
	ctx, cancel, res := a.queryContext(r)
	if res != nil {
		return *res
	}
	defer cancel()
	opts, err := queryOpts(r)
	if err != nil {
		return badData(err)
	}
	qs := r.FormValue("query")
	qry, err := a.opts.QueryEngine.NewInstantQuery(ctx, a.opts.Queryable, opts, qs, ts)
	if err != nil {
		return invalidParam(err, "query")
	}
	defer qry.Close() // execQuery has encoded the result
	return a.execQuery(ctx, r, qry, qs, limit)
}

func (a *API) queryRange(r *http.Request) result {
	limit, err := parseLimit(r.FormValue("limit"))
	if err != nil {
		return invalidParam(err, "limit")
	}
	start, err := parseTime(r.FormValue("start"))
	if err != nil {
		return invalidParam(err, "start")
	}
	end, err := parseTime(r.FormValue("end"))
	if err != nil {
		return invalidParam(err, "end")
	}
	if end.Before(start) {
		return invalidParam(errors.New("end timestamp must not be before start time"), "end")
	}
	step, err := parseDuration(r.FormValue("step"))
	if err != nil {
		return invalidParam(err, "step")
	}
	if step <= 0 {
		return invalidParam(errors.New("zero or negative query resolution step widths are not accepted. Try a positive integer"), "step")
	}
	if end.Sub(start)/step > maxPointsPerSeries {
		return badData(errors.New("exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)"))
	}
	ctx, cancel, res := a.queryContext(r)
	if res != nil {
		return *res
	}
	defer cancel()
	opts, err := queryOpts(r)
	if err != nil {
		return badData(err)
	}
	qs := r.FormValue("query")
	qry, err := a.opts.QueryEngine.NewRangeQuery(ctx, a.opts.Queryable, opts, qs, start, end, step)
	if err != nil {
		return invalidParam(err, "query")
	}
	defer qry.Close() // execQuery has encoded the result
	return a.execQuery(ctx, r, qry, qs, limit)
}

// queryContext applies the timeout parameter, which can only shorten the
// engine's own --query.timeout.
func (a *API) queryContext(r *http.Request) (context.Context, context.CancelFunc, *result) {
	// The query log records where each query came from.
	ctx := promql.NewOriginContext(r.Context(), map[string]any{
		"clientIP": clientIP(r),
		"method":   r.Method,
		"path":     requestPath(r),
	})
	to := r.FormValue("timeout")
	if to == "" {
		return ctx, func() {}, nil
	}
	d, err := parseDuration(to)
	if err != nil {
		res := invalidParam(err, "timeout")
		return nil, nil, &res
	}
	ctx, cancel := context.WithTimeout(ctx, d)
	return ctx, cancel, nil
}

func queryOpts(r *http.Request) (*promql.QueryOpts, error) {
	opts := &promql.QueryOpts{EnablePerStepStats: r.FormValue("stats") == statsAll}
	if s := r.FormValue("lookback_delta"); s != "" {
		d, err := parseDuration(s)
		if err != nil {
			return nil, fmt.Errorf("error parsing lookback delta duration: %w", err)
		}
		opts.LookbackDelta = d
	}
	return opts, nil
}

// execQuery runs a prepared query and shapes its result.
func (a *API) execQuery(ctx context.Context, r *http.Request, qry promql.Query, qs string, limit int) result {
	res := qry.Exec(ctx)
	if res.Err != nil {
		return result{err: queryError(res.Err), warnings: res.Warnings, query: qs}
	}
	annos := res.Warnings
	val := res.Value
	if limit > 0 {
		switch v := val.(type) {
		case promql.Vector:
			if len(v) > limit {
				val = v[:limit]
				addWarning(&annos, truncatedWarning)
			}
		case promql.Matrix:
			if len(v) > limit {
				val = v[:limit]
				addWarning(&annos, truncatedWarning)
			}
		}
	}
	data := queryData{value: val}
	switch p := r.FormValue("stats"); p {
	case "":
	default:
		addWarning(&annos, fmt.Sprintf("value %q for parameter \"stats\" is deprecated and will be rejected in the next major release, use %q or %q", p, statsTrue, statsAll))
		fallthrough
	case statsTrue, statsAll:
		st := qry.Stats().Builtin(p == statsAll)
		data.stats = &st
	}
	// Encode now, while the query is open: the engine may recycle the
	// result's memory on Close (EngineOpts.RecycleResults), which the
	// caller defers until this returns.
	enc, err := data.appendJSON(nil)
	if err != nil {
		return result{err: &apiError{errorInternal, fmt.Errorf("encoding the query result: %w", err)}, warnings: annos, query: qs}
	}
	return result{data: encodedData(enc), warnings: annos, query: qs}
}

// encodedData is response data already encoded as JSON.
type encodedData []byte

func (d encodedData) appendJSON(b []byte) ([]byte, error) { return append(b, d...), nil }

// queryError classifies an evaluation error: timeouts, cancellations and
// storage failures have their own errorType, everything else is an
// execution error.
func queryError(err error) *apiError {
	var (
		canceled promql.ErrQueryCanceled
		timeout  promql.ErrQueryTimeout
		stErr    promql.ErrStorage
	)
	switch {
	case errors.As(err, &canceled):
		return &apiError{errorCanceled, err}
	case errors.As(err, &timeout):
		return &apiError{errorTimeout, err}
	case errors.As(err, &stErr):
		return &apiError{errorInternal, err}
	case errors.Is(err, context.Canceled):
		return &apiError{errorCanceled, err}
	case errors.Is(err, context.DeadlineExceeded):
		return &apiError{errorTimeout, err}
	}
	return &apiError{errorExec, err}
}

// exemplarsData is the (for now always empty) exemplar query result.
type exemplarsData []struct{}

// queryExemplars validates its parameters as Prometheus does and answers
// with an empty list: Vigil stores no exemplars yet. Grafana probes it
// with start and end in milliseconds, which parse as far-future seconds
// and must not fail.
func (a *API) queryExemplars(r *http.Request) result {
	start, err := parseTimeParam(r, "start", MinTime)
	if err != nil {
		return invalidParam(err, "start")
	}
	end, err := parseTimeParam(r, "end", MaxTime)
	if err != nil {
		return invalidParam(err, "end")
	}
	if end.Before(start) {
		return badData(errors.New("end timestamp must not be before start timestamp"))
	}
	if _, err := a.opts.Parser.ParseExpr(r.FormValue("query")); err != nil {
		return badData(err)
	}
	return result{data: exemplarsData{}}
}

// formatQuery returns the query pretty-printed (comments dropped).
func (a *API) formatQuery(r *http.Request) result {
	expr, err := a.opts.Parser.ParseExpr(r.FormValue("query"))
	if err != nil {
		return invalidParam(err, "query")
	}
	return result{data: parser.Prettify(expr)}
}

// parseQuery returns the syntax tree of the query as JSON, for UIs that
// explain a query.
func (a *API) parseQuery(r *http.Request) result {
	expr, err := a.opts.Parser.ParseExpr(r.FormValue("query"))
	if err != nil {
		return invalidParam(err, "query")
	}
	return result{data: translateAST(expr)}
}

// clientIP is the request's remote address without the port.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// requestPath is the path the client asked for. The router strips the API
// prefix from r.URL.Path, so the original request URI is used.
func requestPath(r *http.Request) string {
	path, _, _ := strings.Cut(r.RequestURI, "?")
	if path == "" {
		return r.URL.Path
	}
	return path
}
