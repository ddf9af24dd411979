package promql_test

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-monitoring/vigil/internal/model/histogram"
	"github.com/vigil-monitoring/vigil/internal/model/labels"
	"github.com/vigil-monitoring/vigil/internal/model/value"
	"github.com/vigil-monitoring/vigil/internal/promql"
	"github.com/vigil-monitoring/vigil/internal/promql/parser"
	"github.com/vigil-monitoring/vigil/internal/storage/storagetest"
)

// queryGen builds well-typed queries from fuzz input: every byte read picks
// a production of a small PromQL grammar, so that the fuzzer explores
// combinations of functions, operators and modifiers rather than syntax
// errors.
type queryGen struct {
	data []byte
	pos  int
}

func (g *queryGen) next() int {
	if g.pos >= len(g.data) {
		return 0
	}
	b := g.data[g.pos]
	g.pos++
	return int(b)
}

func (g *queryGen) pick(options ...string) string { return options[g.next()%len(options)] }

var (
	fuzzNames    = []string{"f", "h", "mixed", "nhcb", "nonexistent", "f_total"}
	fuzzFuncs    = []string{"abs", "ceil", "exp", "ln", "sqrt", "sgn", "round", "timestamp", "histogram_count", "histogram_sum", "histogram_avg", "histogram_stddev", "sort", "sort_desc", "-", "vector(time())+0*", "start_timestamp"}
	fuzzRangeFns = []string{"rate", "irate", "increase", "delta", "idelta", "deriv", "changes", "resets", "avg_over_time", "sum_over_time", "min_over_time", "max_over_time", "count_over_time", "last_over_time", "first_over_time", "stddev_over_time", "mad_over_time", "present_over_time", "absent_over_time", "ts_of_max_over_time", "ts_of_first_over_time"}
	fuzzAggs     = []string{"sum", "avg", "min", "max", "count", "group", "stddev", "stdvar"}
	fuzzBinops   = []string{"+", "-", "*", "/", "%", "^", "atan2", "==", "!=", ">", "<", ">=", "<=", "and", "or", "unless", "</", ">/"}
)

func (g *queryGen) selector() string {
	s := g.pick(fuzzNames...)
	switch g.next() % 6 {
	case 1:
		s += `{job="a"}`
	case 2:
		s += `{job=~"a|b"}`
	case 3:
		s = `{__name__=~"f.*|h"}`
	}
	return s + g.modifiers(false)
}

func (g *queryGen) modifiers(rangeSel bool) string {
	var s string
	switch g.next() % 7 {
	case 1:
		s += " offset 1m"
	case 2:
		s += " offset -30s"
	case 3:
		s += " @ 300"
	case 4:
		s += " @ end()"
	}
	if rangeSel {
		switch g.next() % 6 {
		case 1:
			s += " anchored"
		case 2:
			s += " smoothed"
		}
	}
	return s
}

func (g *queryGen) rangeVector(depth int) string {
	if depth > 0 && g.next()%4 == 0 {
		return fmt.Sprintf("(%s)[%s:%s]", g.vector(depth-1), g.pick("5m", "90s", "1m"), g.pick("", "30s", "1m"))
	}
	name := g.pick(fuzzNames...)
	return fmt.Sprintf("%s[%s]%s", name, g.pick("5m", "1m", "30s", "10m"), g.modifiers(true))
}

func (g *queryGen) scalar(depth int) string {
	if depth <= 0 {
		return g.pick("1", "0", "-1", "0.5", "NaN", "Inf", "2")
	}
	switch g.next() % 5 {
	case 0:
		return fmt.Sprintf("scalar(%s)", g.vector(depth-1))
	case 1:
		return "time()"
	case 2:
		return fmt.Sprintf("(%s %s %s)", g.scalar(depth-1), g.pick("+", "*", "-", "/"), g.scalar(depth-1))
	}
	return g.pick("1", "0.25", "3", "-2", "NaN", "step()")
}

func (g *queryGen) vector(depth int) string {
	if depth <= 0 {
		return g.selector()
	}
	switch g.next() % 12 {
	case 0, 1:
		return g.selector()
	case 2:
		return g.pick(fuzzFuncs...) + "(" + g.vector(depth-1) + ")"
	case 3:
		fn := g.pick(fuzzRangeFns...)
		return fn + "(" + g.rangeVector(depth-1) + ")"
	case 4:
		return fmt.Sprintf("%s %s(job) (%s)", g.pick(fuzzAggs...), g.pick("by", "without"), g.vector(depth-1))
	case 5:
		return fmt.Sprintf("%s(%s, %s)", g.pick("topk", "bottomk", "limitk", "limit_ratio", "quantile"), g.scalar(depth-1), g.vector(depth-1))
	case 6:
		op := g.pick(fuzzBinops...)
		mod := ""
		if op != "and" && op != "or" && op != "unless" {
			mod = g.pick("", " on(job)", " ignoring(job)", " on(job) group_left()", " ignoring(job) group_right()", " fill(0)", " bool")
			if mod == " bool" && !strings.ContainsAny(op, "=<>") || op == "</" || op == ">/" {
				mod = ""
			}
		}
		return fmt.Sprintf("(%s %s%s %s)", g.vector(depth-1), op, mod, g.vector(depth-1))
	case 7:
		return fmt.Sprintf("(%s %s %s)", g.vector(depth-1), g.pick("+", "*", ">", "</", "/"), g.scalar(depth-1))
	case 8:
		return fmt.Sprintf(`label_replace(%s, "dst", "$1", "job", "(.*)")`, g.vector(depth-1))
	case 9:
		return fmt.Sprintf("histogram_quantile(%s, %s)", g.scalar(depth-1), g.vector(depth-1))
	case 10:
		return fmt.Sprintf(`count_values("v", %s)`, g.vector(depth-1))
	}
	return fmt.Sprintf("info(%s)", g.vector(depth-1))
}

var (
	fuzzStorageOnce sync.Once
	fuzzStorage     *storagetest.MemStorage
)

// fuzzData holds floats, counters with resets, NaN and staleness markers,
// exponential and custom bucket histograms, and a series mixing floats and
// histograms.
func fuzzData() *storagetest.MemStorage {
	fuzzStorageOnce.Do(func() {
		st := storagetest.NewMemStorage()
		app := st.Appender(context.Background())
		add := func(ls labels.Labels, t int64, f float64, h *histogram.FloatHistogram) {
			var err error
			if h != nil {
				_, err = app.AppendHistogram(0, ls, t, nil, h)
			} else {
				_, err = app.Append(0, ls, t, f)
			}
			if err != nil {
				panic(err)
			}
		}
		for _, job := range []string{"a", "b"} {
			for i := int64(0); i < 40; i++ {
				t := i * 30000
				f := float64(i % 7)
				switch {
				case i == 20:
					f = value.StaleNaN
				case i == 13:
					f = 0 / zero
				}
				add(labels.FromStrings("__name__", "f", "job", job), t, f, nil)
				add(labels.FromStrings("__name__", "f_total", "job", job), t, float64(i%11), nil)
				h := &histogram.FloatHistogram{Schema: int32(i%3) - 1, Count: float64(i%9 + 3), Sum: float64(i), ZeroThreshold: 0.001, ZeroCount: 1,
					PositiveSpans: []histogram.Span{{Offset: 0, Length: 2}}, PositiveBuckets: []float64{1, float64(i%9 + 1)},
					NegativeSpans: []histogram.Span{{Offset: 1, Length: 1}}, NegativeBuckets: []float64{1}}
				if i%5 == 0 {
					h.CounterResetHint = histogram.GaugeType
				}
				add(labels.FromStrings("__name__", "h", "job", job), t, 0, h)
				add(labels.FromStrings("__name__", "nhcb", "job", job), t, 0, &histogram.FloatHistogram{Schema: histogram.CustomBucketsSchema, Count: float64(i%4 + 1), Sum: 3,
					PositiveSpans: []histogram.Span{{Length: 2}}, PositiveBuckets: []float64{1, float64(i % 4)}, CustomValues: []float64{1, 10}})
				if i%2 == 0 {
					add(labels.FromStrings("__name__", "mixed", "job", job), t, float64(i), nil)
				} else {
					add(labels.FromStrings("__name__", "mixed", "job", job), t, 0, h.Copy())
				}
			}
		}
		if err := app.Commit(); err != nil {
			panic(err)
		}
		fuzzStorage = st
	})
	return fuzzStorage
}

var zero = 0.0

// FuzzEngine evaluates random well-typed queries (and raw inputs) over a
// small dataset: evaluation must never panic, however odd the query.
func FuzzEngine(f *testing.F) {
	for _, seed := range []string{
		"\x01\x03\x05\x07", "\x01\x06\x06\x02\x09", "\x01\x0b\x04\x03", "\x01\x05\x02\x03\x01",
		"\x00rate(f[5m])", "\x00sum by (job) (h)", "\x00histogram_quantile(0.9, rate(h[5m]))",
		"\x00f + on(job) group_left fill(1) f_total", "\x00topk(2, f) or bottomk(1, mixed)",
	} {
		f.Add([]byte(seed))
	}
	st := fuzzData()
	ng := newEngine(promql.EngineOpts{MaxSamples: 50000, Timeout: 10 * time.Second})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 {
			return
		}
		var query string
		if data[0] == 0 {
			query = string(data[1:])
		} else {
			g := &queryGen{data: data[1:]}
			query = g.vector(int(data[0]%4) + 1)
		}
		ctx := context.Background()
		exec := func(q promql.Query, err error) promql.Value {
			if err != nil {
				return nil // Not a valid query.
			}
			res := q.Exec(ctx)
			if res.Err != nil {
				if strings.Contains(res.Err.Error(), "unexpected error") {
					t.Fatalf("query %q: %v", query, res.Err)
				}
				return nil
			}
			return res.Value
		}
		// The instant query is at a step of the range query, and must give
		// the same values there: both evaluate the same expression at the
		// same time. Not so by definition for step(), start() and end(),
		// nor, as in Prometheus, for an aggregation over an @-pinned
		// argument with a step-dependent parameter: the aggregation is
		// step-invariant and evaluated once, at the range's start. Nor for
		// topk, bottomk and limitk, which break ties by input order, and
		// the order of series differs between the two kinds of queries.
		at := time.Unix(450, 0)
		instant := exec(ng.NewInstantQuery(ctx, st, nil, query, at))
		ranged := exec(ng.NewRangeQuery(ctx, st, nil, query, time.Unix(0, 0), time.Unix(1200, 0), 45*time.Second))
		comparable := !strings.Contains(query, "step()") && !strings.Contains(query, "start()") && !strings.Contains(query, "end()") &&
			!(strings.Contains(query, "@") && aggregationWithParam.MatchString(query)) &&
			!strings.Contains(query, "topk") && !strings.Contains(query, "bottomk") && !strings.Contains(query, "limitk")
		if instant != nil && ranged != nil && comparable {
			if diff := compareAtStep(instant, ranged.(promql.Matrix), at.UnixMilli()); diff != "" {
				t.Fatalf("query %q: instant and range results differ: %s", query, diff)
			}
		}
	})
}

// TestQueryGenValid checks that the generator produces queries that parse,
// so that the fuzzer spends its time evaluating rather than in the parser.
func TestQueryGenValid(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	for range 3000 {
		data := make([]byte, 64)
		for i := range data {
			data[i] = byte(rnd.UintN(256))
		}
		g := &queryGen{data: data[1:]}
		query := g.vector(int(data[0]%4) + 1)
		if _, err := parser.ParseExpr(query); err != nil {
			t.Errorf("generated %q: %v", query, err)
		}
	}
}

var aggregationWithParam = regexp.MustCompile(`(^|[^_])(quantile|limit_ratio)\(`)

// compareAtStep compares an instant query's result with the points at ts
// of a range query's. Series are identified without their metric name: a
// range query merges an output series whose name is to be dropped with
// one of the same labels whose name is kept, and the first step decides
// (as in Prometheus), where an instant query keeps them apart.
func compareAtStep(instant promql.Value, ranged promql.Matrix, ts int64) string {
	type point struct {
		f float64
		h *histogram.FloatHistogram
	}
	key := func(m labels.Labels) string {
		return labels.NewBuilder(m).Del(labels.MetricName).Labels().String()
	}
	want := map[string][]point{}
	switch v := instant.(type) {
	case promql.Vector:
		for _, s := range v {
			k := key(s.Metric)
			want[k] = append(want[k], point{s.F, s.H})
		}
	case promql.Scalar:
		want["{}"] = []point{{f: v.V}}
	default:
		return ""
	}
	got := map[string][]point{}
	for _, s := range ranged {
		k := key(s.Metric)
		for _, p := range s.Floats {
			if p.T == ts {
				got[k] = append(got[k], point{f: p.F})
			}
		}
		for _, p := range s.Histograms {
			if p.T == ts {
				got[k] = append(got[k], point{h: p.H})
			}
		}
	}
	order := func(a, b point) int {
		switch {
		case a.h != nil && b.h != nil:
			return strings.Compare(a.h.String(), b.h.String())
		case a.h != nil:
			return 1
		case b.h != nil:
			return -1
		}
		return cmp.Compare(a.f, b.f) // NaN first.
	}
	for k, ws := range want {
		gs := got[k]
		if len(ws) != len(gs) {
			return fmt.Sprintf("%s: %d points in the instant result, %d in the range result", k, len(ws), len(gs))
		}
		slices.SortFunc(ws, order)
		slices.SortFunc(gs, order)
		for i, w := range ws {
			g := gs[i]
			switch {
			case (w.h == nil) != (g.h == nil):
				return fmt.Sprintf("%s: float vs histogram", k)
			case w.h != nil && !w.h.Equals(g.h):
				return fmt.Sprintf("%s: histogram %v vs %v", k, w.h, g.h)
			case w.h == nil && w.f != g.f && !(math.IsNaN(w.f) && math.IsNaN(g.f)) &&
				math.Abs(w.f-g.f) > 1e-9*math.Max(math.Abs(w.f), math.Abs(g.f)):
				return fmt.Sprintf("%s: %v vs %v", k, w.f, g.f)
			}
		}
		delete(got, k)
	}
	for k := range got {
		return fmt.Sprintf("%s only in the range result", k)
	}
	return ""
}
