package promql

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/vigil-monitoring/vigil/internal/model/labels"
	"github.com/vigil-monitoring/vigil/internal/promql/parser"
	"github.com/vigil-monitoring/vigil/internal/storage"
)

// This file implements info(v, {selector}): every series of v is enriched
// with the data labels of the info series (by default target_info) that
// share its identifying labels, instance and job.

const targetInfo = "target_info"

// identifyingLabels join info series to the series they describe.
var identifyingLabels = []string{"instance", "job"}

// effectiveInfoNameMatchers returns the matchers on __name__ that select
// info series: those given, target_info when there are none, and all
// *_info metrics narrowed by the given ones when they are all negative.
func effectiveInfoNameMatchers(given []*labels.Matcher) []*labels.Matcher {
	if len(given) == 0 {
		return []*labels.Matcher{labels.MustNewMatcher(labels.MatchEqual, labels.MetricName, targetInfo)}
	}
	for _, m := range given {
		if m.Type == labels.MatchEqual || m.Type == labels.MatchRegexp {
			return given
		}
	}
	return append([]*labels.Matcher{labels.MustNewMatcher(labels.MatchRegexp, labels.MetricName, ".+_info")}, given...)
}

func matchesAll(ms []*labels.Matcher, v string) bool {
	for _, m := range ms {
		if !m.Matches(v) {
			return false
		}
	}
	return true
}

func (ev *evaluator) evalInfo(ctx context.Context, args parser.Expressions) Value {
	base := ev.eval(ctx, args[0]).(Matrix)
	// Matchers on data labels by label name; the __name__ matchers pick
	// the info metrics instead.
	dataMatchers := map[string][]*labels.Matcher{}
	var nameMatchers []*labels.Matcher
	if len(args) > 1 {
		sel := unwrapParens(unwrapStepInvariant(args[1])).(*parser.VectorSelector)
		for _, m := range sel.LabelMatchers {
			if m.Name == labels.MetricName {
				nameMatchers = append(nameMatchers, m)
				continue
			}
			dataMatchers[m.Name] = append(dataMatchers[m.Name], m)
		}
	}
	nameMatchers = effectiveInfoNameMatchers(nameMatchers)

	// Info series themselves are not enriched.
	ignored := make([]bool, len(base))
	for i, s := range base {
		ignored[i] = matchesAll(nameMatchers, s.Metric.Get(labels.MetricName))
	}
	info := ev.fetchInfoSeries(ctx, args[0], base, ignored, nameMatchers, dataMatchers)
	return ev.combineWithInfo(ctx, base, info, ignored, dataMatchers)
}

// fetchInfoSeries selects the info series whose identifying labels appear
// in base and evaluates them; each point holds the time of the sample it
// came from, so that the newest info series wins conflicts.
func (ev *evaluator) fetchInfoSeries(ctx context.Context, expr parser.Expr, base Matrix, ignored []bool, nameMatchers []*labels.Matcher, dataMatchers map[string][]*labels.Matcher) Matrix {
	values := map[string]map[string]struct{}{}
	for i, s := range base {
		if ignored[i] {
			continue
		}
		for _, l := range identifyingLabels {
			if v := s.Metric.Get(l); v != "" {
				if values[l] == nil {
					values[l] = map[string]struct{}{}
				}
				values[l][v] = struct{}{}
			}
		}
	}
	if len(values) == 0 {
		return nil
	}
	var ms []*labels.Matcher
	for _, l := range identifyingLabels {
		vs, ok := values[l]
		if !ok {
			continue
		}
		quoted := make([]string, 0, len(vs))
		for v := range vs {
			quoted = append(quoted, regexp.QuoteMeta(v))
		}
		slices.Sort(quoted)
		ms = append(ms, labels.MustNewMatcher(labels.MatchRegexp, l, strings.Join(quoted, "|")))
	}
	ms = append(ms, nameMatchers...)
	for _, dm := range dataMatchers {
		ms = append(ms, dm...)
	}

	// The info series are read where the first selector of the argument
	// reads.
	var ts *int64
	var offset int64
	parser.Inspect(expr, func(node parser.Node, _ []parser.Node) error {
		if vs, ok := node.(*parser.VectorSelector); ok {
			ts, offset = vs.Timestamp, vs.OriginalOffset.Milliseconds()
			return fmt.Errorf("stop")
		}
		return nil
	})
	start, end := ev.startTimestamp, ev.endTimestamp
	if ts != nil {
		start, end = *ts, *ts
	}
	hints := &storage.SelectHints{Start: start - (ev.st.lookback - 1) - offset, End: end - offset, Step: ev.interval, Func: "info"}
	set := ev.st.querier.Select(ctx, false, hints, ms...)
	var series []storage.Series
	for set.Next() {
		series = append(series, set.At())
	}
	for _, w := range set.Warnings() {
		ev.st.annos.Add(w)
	}
	if err := set.Err(); err != nil {
		ev.error(ErrStorage{Err: err})
	}
	return ev.infoSampleTimes(ctx, series)
}

// infoSampleTimes evaluates info series like an instant selector, with the
// time of the sample found as value.
func (ev *evaluator) infoSampleTimes(ctx context.Context, series []storage.Series) Matrix {
	mat := make(Matrix, 0, len(series))
	var c cursor
	for _, s := range series {
		ev.checkContext(ctx)
		c.reset(s.Iterator(nil))
		out := Series{Metric: s.Labels()}
		for ts := ev.startTimestamp; ts <= ev.endTimestamp; ts += ev.interval {
			t, _, h, ok := c.at(ts, ev.st.lookback)
			if !ok {
				continue
			}
			if h != nil {
				ev.errorf("this should be an info metric, with float samples: %s", out.Metric)
			}
			out.Floats = append(out.Floats, FPoint{T: ts, F: float64(t)})
		}
		if len(out.Floats) > 0 {
			ev.addSamples(len(out.Floats))
			mat = append(mat, out)
		}
	}
	return mat
}

// infoSignature is the key joining a series to the info series of one info
// metric: the metric's name with the identifying labels.
func infoSignature(name string, ls labels.Labels) labels.Labels {
	b := labels.NewBuilder(ls.MatchLabels(true, identifyingLabels...))
	b.Set(labels.MetricName, name)
	return b.Labels()
}

// combineWithInfo adds to every base series at every step the data labels
// of the newest matching info series of each info metric.
func (ev *evaluator) combineWithInfo(ctx context.Context, base, info Matrix, ignored []bool, dataMatchers map[string][]*labels.Matcher) Matrix {
	infoNames := map[string]struct{}{}
	for _, s := range info {
		infoNames[s.Metric.Get(labels.MetricName)] = struct{}{}
	}
	names := make([]string, 0, len(infoNames))
	for n := range infoNames {
		names = append(names, n)
	}
	slices.Sort(names)
	baseSigs := make([][]labels.Labels, len(base))
	for i, s := range base {
		baseSigs[i] = make([]labels.Labels, len(names))
		for j, n := range names {
			baseSigs[i][j] = infoSignature(n, s.Metric)
		}
	}
	infoSigs := make([]labels.Labels, len(info))
	for i, s := range info {
		infoSigs[i] = infoSignature(s.Metric.Get(labels.MetricName), s.Metric)
	}
	allMatchEmpty := true
	for _, ms := range dataMatchers {
		for _, m := range ms {
			if !m.Matches("") {
				allMatchEmpty = false
			}
		}
	}

	type outSeries struct {
		Series
		lastT int64
	}
	var out []outSeries
	index := map[labels.Labels]int{}
	newest := map[labels.Labels]Sample{}
	lb := labels.NewBuilder(labels.EmptyLabels())
	added := labels.NewBuilder(labels.EmptyLabels())
	for ts := ev.startTimestamp; ts <= ev.endTimestamp; ts += ev.interval {
		ev.checkContext(ctx)
		clear(newest)
		for i := range info {
			s := &info[i]
			if len(s.Floats) == 0 || s.Floats[0].T != ts {
				continue
			}
			origT := int64(s.Floats[0].F)
			s.Floats = s.Floats[1:]
			sig := infoSigs[i]
			if prev, ok := newest[sig]; ok {
				prevT := int64(prev.F)
				switch {
				case prevT > origT:
					continue
				case prevT == origT:
					ev.errorf("found duplicate series for info metric: existing %s @ %d, new %s @ %d", prev.Metric, prevT, s.Metric, origT)
				}
			}
			newest[sig] = Sample{Metric: s.Metric, F: float64(origT)}
		}
		for bi := range base {
			bs := &base[bi]
			var f float64
			var h *HPoint
			switch {
			case len(bs.Floats) > 0 && bs.Floats[0].T == ts:
				f = bs.Floats[0].F
				bs.Floats = bs.Floats[1:]
			case len(bs.Histograms) > 0 && bs.Histograms[0].T == ts:
				h = &bs.Histograms[0]
				bs.Histograms = bs.Histograms[1:]
			default:
				continue
			}
			metric := bs.Metric
			if !ignored[bi] {
				added.Reset(labels.EmptyLabels())
				seen := 0
				for j := range names {
					is, ok := newest[baseSigs[bi][j]]
					if !ok {
						continue
					}
					var err error
					is.Metric.Range(func(l labels.Label) {
						if err != nil || l.Name == labels.MetricName {
							return
						}
						if _, wanted := dataMatchers[l.Name]; len(dataMatchers) > 0 && !wanted {
							return
						}
						if v := added.Get(l.Name); v != "" && v != l.Value {
							err = fmt.Errorf("conflicting label: %s", l.Name)
							return
						}
						if bs.Metric.Has(l.Name) {
							return
						}
						added.Set(l.Name, l.Value)
					})
					if err != nil {
						ev.error(err)
					}
					seen++
				}
				if seen == 0 && !allMatchEmpty {
					// A data label is required and no info series has it.
					continue
				}
				lb.Reset(bs.Metric)
				added.Range(func(l labels.Label) { lb.Set(l.Name, l.Value) })
				metric = lb.Labels()
			}
			idx, ok := index[metric]
			if !ok {
				idx = len(out)
				index[metric] = idx
				out = append(out, outSeries{Series: Series{Metric: metric}, lastT: ts - 1})
			} else if out[idx].lastT == ts {
				ev.errorf("vector cannot contain metrics with the same labelset")
			}
			o := &out[idx]
			o.lastT = ts
			if h != nil {
				o.Histograms = append(o.Histograms, HPoint{T: ts, H: h.H})
			} else {
				o.Floats = append(o.Floats, FPoint{T: ts, F: f})
			}
		}
	}
	mat := make(Matrix, len(out))
	for i := range out {
		mat[i] = out[i].Series
	}
	ev.addSamples(mat.TotalSamples())
	return mat
}
