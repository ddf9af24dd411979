package api

import (
	"errors"
	"fmt"
	"net/http"
	"slices"

	"github.com/vigil-monitoring/vigil/internal/model/labels"
	"github.com/vigil-monitoring/vigil/internal/model/value"
	"github.com/vigil-monitoring/vigil/internal/promql"
	"github.com/vigil-monitoring/vigil/internal/storage"
)

// checkContextEvery is how many series the series endpoint lists between
// checks for a client that went away.
const checkContextEvery = 128

// seriesData is the list of label sets /series returns.
type seriesData []labels.Labels

func (d seriesData) appendJSON(b []byte) ([]byte, error) {
	b = append(b, '[')
	for i, ls := range d {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendLabels(b, ls)
	}
	return append(b, ']'), nil
}

// rangeParams parses the optional start and end of the metadata
// endpoints, which default to the whole time range.
func rangeParams(r *http.Request) (mint, maxt int64, res *result) {
	start, err := parseTimeParam(r, "start", MinTime)
	if err != nil {
		res := invalidParam(err, "start")
		return 0, 0, &res
	}
	end, err := parseTimeParam(r, "end", MaxTime)
	if err != nil {
		res := invalidParam(err, "end")
		return 0, 0, &res
	}
	return value.FromTime(start), value.FromTime(end), nil
}

func (a *API) series(r *http.Request) result {
	if err := r.ParseForm(); err != nil {
		return badData(fmt.Errorf("error parsing form values: %w", err))
	}
	if len(r.Form["match[]"]) == 0 {
		return badData(errors.New("no match[] parameter provided"))
	}
	limit, err := parseLimit(r.FormValue("limit"))
	if err != nil {
		return invalidParam(err, "limit")
	}
	mint, maxt, res := rangeParams(r)
	if res != nil {
		return *res
	}
	sets, err := parseMatcherSets(r.Form["match[]"])
	if err != nil {
		return invalidParam(err, "match[]")
	}
	q, err := a.opts.Queryable.Querier(mint, maxt)
	if err != nil {
		return result{err: queryError(err)}
	}
	defer q.Close()

	ctx := r.Context()
	// Func "series" tells storage no samples will be read.
	hints := &storage.SelectHints{Start: mint, End: maxt, Func: "series", Limit: hintLimit(limit)}
	var set storage.SeriesSet
	if len(sets) == 1 {
		set = q.Select(ctx, false, hints, sets[0]...)
	} else {
		// Several selectors are a union; merging needs sorted sets.
		parts := make([]storage.SeriesSet, 0, len(sets))
		for _, ms := range sets {
			parts = append(parts, q.Select(ctx, true, hints, ms...))
		}
		set = storage.NewMergeSeriesSet(parts, 0, storage.ChainedSeriesMerge)
	}
	var annos promql.Annotations
	out := seriesData{}
	for i := 1; set.Next(); i++ {
		if i%checkContextEvery == 0 {
			if err := ctx.Err(); err != nil {
				return result{err: queryError(err)}
			}
		}
		out = append(out, set.At().Labels())
		if limit > 0 && len(out) > limit {
			out = out[:limit]
			addWarning(&annos, truncatedWarning)
			break
		}
	}
	addStorageWarnings(&annos, set.Warnings())
	if err := set.Err(); err != nil {
		return result{err: queryError(err), warnings: annos}
	}
	return result{data: out, warnings: annos}
}

func (a *API) labelNames(r *http.Request) result {
	if err := r.ParseForm(); err != nil {
		return badData(fmt.Errorf("error parsing form values: %w", err))
	}
	limit, err := parseLimit(r.FormValue("limit"))
	if err != nil {
		return invalidParam(err, "limit")
	}
	mint, maxt, res := rangeParams(r)
	if res != nil {
		return *res
	}
	sets, err := parseMatcherSets(r.Form["match[]"])
	if err != nil {
		return badData(err)
	}
	q, err := a.opts.Queryable.Querier(mint, maxt)
	if err != nil {
		return result{err: queryError(err)}
	}
	defer q.Close()
	return collectLabels(sets, limit, func(ms []*labels.Matcher) ([]string, storage.Warnings, error) {
		return q.LabelNames(r.Context(), &storage.LabelHints{Limit: hintLimit(limit)}, ms...)
	})
}

func (a *API) labelValues(r *http.Request, name string) result {
	if err := r.ParseForm(); err != nil {
		return badData(fmt.Errorf("error parsing form values: %w", err))
	}
	name = unescapeLabelName(name)
	if !labels.IsValidUTF8Name(name) {
		return badData(fmt.Errorf("invalid label name: %q", name))
	}
	limit, err := parseLimit(r.FormValue("limit"))
	if err != nil {
		return invalidParam(err, "limit")
	}
	mint, maxt, res := rangeParams(r)
	if res != nil {
		return *res
	}
	sets, err := parseMatcherSets(r.Form["match[]"])
	if err != nil {
		return badData(err)
	}
	q, err := a.opts.Queryable.Querier(mint, maxt)
	if err != nil {
		return result{err: &apiError{errorExec, err}}
	}
	defer q.Close()
	return collectLabels(sets, limit, func(ms []*labels.Matcher) ([]string, storage.Warnings, error) {
		return q.LabelValues(r.Context(), name, &storage.LabelHints{Limit: hintLimit(limit)}, ms...)
	})
}

// collectLabels runs a label lookup once per matcher set (or once
// without matchers), unions the sorted results and applies the limit.
func collectLabels(sets [][]*labels.Matcher, limit int, lookup func([]*labels.Matcher) ([]string, storage.Warnings, error)) result {
	var annos promql.Annotations
	var out []string
	if len(sets) <= 1 {
		var ms []*labels.Matcher
		if len(sets) == 1 {
			ms = sets[0]
		}
		vals, ws, err := lookup(ms)
		addStorageWarnings(&annos, ws)
		if err != nil {
			return result{err: &apiError{errorExec, err}, warnings: annos}
		}
		out = vals
	} else {
		seen := map[string]struct{}{}
		for _, ms := range sets {
			vals, ws, err := lookup(ms)
			addStorageWarnings(&annos, ws)
			if err != nil {
				return result{err: &apiError{errorExec, err}, warnings: annos}
			}
			for _, v := range vals {
				seen[v] = struct{}{}
			}
		}
		out = make([]string, 0, len(seen))
		for v := range seen {
			out = append(out, v)
		}
	}
	if out == nil {
		out = []string{}
	}
	slices.Sort(out)
	if limit > 0 && len(out) > limit {
		out = out[:limit]
		addWarning(&annos, truncatedWarning)
	}
	return result{data: out, warnings: annos}
}
