package bench

import (
	"context"
	"fmt"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// The PromQL benchmarks load one data set into Vigil's engine and storage
// and into Prometheus' and run the same queries over both. The data set
// and the query list follow BenchmarkRangeQuery in Prometheus'
// promql/bench_test.go, scaled to a few hours of data (see promqlCases for
// the differences).

const (
	// promqlInterval is the scrape interval of the data set and the step
	// of every range query.
	promqlInterval = 10 * time.Second
	// promqlIntervals is the number of scrapes: four hours, enough for the
	// longest query (1000 steps plus a one-hour range before the first).
	promqlIntervals = 1440
)

// promqlSize is one of the series counts the metrics a_X, b_X and h_X come
// in; X in a query is replaced by the name.
type promqlSize struct {
	name string // one, ten, hundred, thousand
	n    int
}

var promqlSizes = []promqlSize{{"one", 1}, {"ten", 10}, {"hundred", 100}, {"thousand", 1000}}

// promqlSteps are the step counts every query runs at; 1 is an instant
// query.
var promqlSteps = []int{1, 100, 1000}

// promqlSeriesLabels returns the label sets of the data set as name/value
// pairs, in append order: for every size X, a_X and b_X with n series
// (label l, none for one) and the classic histogram h_X with buckets
// le=0..9 and +Inf for each of them. Every series has a sample at every
// interval; the sparse series (see promqlSparseLabels) come on top.
func promqlSeriesLabels() [][]string {
	var out [][]string
	for _, sz := range promqlSizes {
		if sz.n == 1 {
			out = append(out, []string{"__name__", "a_one"}, []string{"__name__", "b_one"})
			for j := range 10 {
				out = append(out, []string{"__name__", "h_one", "le", strconv.Itoa(j)})
			}
			out = append(out, []string{"__name__", "h_one", "le", "+Inf"})
			continue
		}
		for i := range sz.n {
			l := strconv.Itoa(i)
			out = append(out, []string{"__name__", "a_" + sz.name, "l", l}, []string{"__name__", "b_" + sz.name, "l", l})
			for j := range 10 {
				out = append(out, []string{"__name__", "h_" + sz.name, "l", l, "le", strconv.Itoa(j)})
			}
			out = append(out, []string{"__name__", "h_" + sz.name, "l", l, "le", "+Inf"})
		}
	}
	return out
}

// promqlSparsePoints is how many consecutive intervals each sparse series
// has a sample for: the series sparse{l="k"} covers intervals
// k*promqlSparsePoints up to the next one, so 50 series share the time
// range one after the other.
const promqlSparsePoints = promqlIntervals / 50

func promqlSparseLabels(interval int) []string {
	return []string{"__name__", "sparse", "l", strconv.Itoa(interval / promqlSparsePoints)}
}

// promqlValue is the value of series i (of n) at interval s: a counter
// that grows by one per interval, offset by the series' position.
func promqlValue(s, i, n int) float64 { return float64(s) + float64(i)/float64(n) }

func promqlSparseValue(s, n int) float64 { return float64(s) / float64(n) }

// promqlLoad feeds the data set to an implementation: one batch per
// interval, as a scrape would, appending every series at that time.
// appendSample returns the reference to pass for the series next time.
func promqlLoad(appendSample func(ref uint64, lbls []string, t int64, v float64) (uint64, error), commit func() error) error {
	metrics := promqlSeriesLabels()
	refs := make([]uint64, len(metrics))
	for s := range promqlIntervals {
		t := int64(s) * promqlInterval.Milliseconds()
		for i, m := range metrics {
			ref, err := appendSample(refs[i], m, t, promqlValue(s, i, len(metrics)))
			if err != nil {
				return err
			}
			refs[i] = ref
		}
		if _, err := appendSample(0, promqlSparseLabels(s), t, promqlSparseValue(s, len(metrics))); err != nil {
			return err
		}
		if err := commit(); err != nil {
			return err
		}
	}
	return nil
}

// promqlEnd is the end of every query: one interval after the last sample,
// as in Prometheus' benchmark.
var promqlEnd = time.Unix(0, 0).Add(promqlIntervals * promqlInterval)

// promqlRange returns the start of a query of the given number of steps.
// One step is an instant query at promqlEnd.
func promqlRange(steps int) (start, end time.Time) {
	return promqlEnd.Add(-time.Duration(steps-1) * promqlInterval), promqlEnd
}

// promqlCase is one query template of the benchmark.
type promqlCase struct {
	// id names the query in benchmark names (expressions contain / and =,
	// which benchstat reads as name separators).
	id string
	// expr is the query; X stands for the size name. A query without X
	// runs once, under series=all.
	expr string
	// maxSteps, when set, skips the larger step counts.
	maxSteps int
}

// promqlCases are the queries of Prometheus' BenchmarkRangeQuery
// (Prometheus v0.316.0, promql/bench_test.go), with these changes for a
// data set of four hours instead of a day plus 10,000 steps:
//   - ranges of [1d] are [1h];
//   - quantile_over_time(... @ 86400) is evaluated @ 7200, inside the data;
//   - every query runs at 1, 100 and 1000 steps (Prometheus runs most at 1
//     and 1000, some at 10,000; count_values stays at 100 steps at most,
//     since its result has a series per distinct value);
//   - one subquery that is not step-invariant is added (id subquery).
var promqlCases = []promqlCase{
	{id: "select", expr: "a_X"},
	{id: "rate_1m", expr: "rate(a_X[1m])"},
	{id: "rate_sparse", expr: "rate(sparse[1m])"},
	{id: "rate_1m_smoothed", expr: "rate(a_X[1m] smoothed)"},
	{id: "rate_sparse_smoothed", expr: "rate(sparse[1m] smoothed)"},
	{id: "double_exp_smoothing_1h", expr: "double_exponential_smoothing(a_X[1h], 0.3, 0.3)"},
	{id: "changes_1h", expr: "changes(a_X[1h])"},
	{id: "rate_1h", expr: "rate(a_X[1h])"},
	{id: "absent_over_time_1h", expr: "absent_over_time(a_X[1h])"},
	{id: "neg", expr: "-a_X"},
	{id: "sub", expr: "a_X - b_X"},
	{id: "and", expr: "a_X and b_X{l=~'.*[0-4]$'}"},
	{id: "or", expr: "a_X or b_X{l=~'.*[0-4]$'}"},
	{id: "unless", expr: "a_X unless b_X{l=~'.*[0-4]$'}"},
	{id: "and_notfound", expr: "a_X and b_X{l='notfound'}"},
	{id: "abs", expr: "abs(a_X)"},
	{id: "label_replace", expr: "label_replace(a_X, 'l2', '$1', 'l', '(.*)')"},
	{id: "label_join", expr: "label_join(a_X, 'l2', '-', 'l', 'l')"},
	{id: "sum", expr: "sum(a_X)"},
	{id: "avg", expr: "avg(a_X)"},
	{id: "sum_without_l_h", expr: "sum without (l)(h_X)"},
	{id: "sum_without_le_h", expr: "sum without (le)(h_X)"},
	{id: "sum_by_l_h", expr: "sum by (l)(h_X)"},
	{id: "sum_by_le_h", expr: "sum by (le)(h_X)"},
	{id: "count_values_h", expr: "count_values('value', h_X)", maxSteps: 100},
	{id: "topk_1", expr: "topk(1, a_X)"},
	{id: "topk_5", expr: "topk(5, a_X)"},
	{id: "limitk_1", expr: "limitk(1, a_X)"},
	{id: "limitk_5", expr: "limitk(5, a_X)"},
	{id: "limit_ratio_0.1", expr: "limit_ratio(0.1, a_X)"},
	{id: "limit_ratio_0.5", expr: "limit_ratio(0.5, a_X)"},
	{id: "limit_ratio_-0.5", expr: "limit_ratio(-0.5, a_X)"},
	{id: "rate_plus_rate", expr: "rate(a_X[1m]) + rate(b_X[1m])"},
	{id: "sum_without_rate", expr: "sum without (l)(rate(a_X[1m]))"},
	{id: "sum_rate_div_sum_rate", expr: "sum without (l)(rate(a_X[1m])) / sum without (l)(rate(b_X[1m]))"},
	{id: "histogram_quantile", expr: "histogram_quantile(0.9, rate(h_X[5m]))"},
	{id: "group_right", expr: "a_X + on(l) group_right a_one"},
	{id: "count_all", expr: `count({__name__!=""})`},
	{id: "count_all_l_empty", expr: `count({__name__!="",l=""})`},
	{id: "quantile_over_time_subquery_at", expr: "quantile_over_time(time() % 100 / 100, a_X[1m:10s] @ 7200)"},
	{id: "timestamp", expr: "timestamp(a_X)"},
	// Not in Prometheus' list: a subquery evaluated at every step.
	{id: "subquery", expr: "max_over_time(rate(a_X[1m])[5m:10s])"},
}

// promqlQuery is one query of the benchmark: a case at a size and a step
// count.
type promqlQuery struct {
	name  string // query=<id>/series=<n>/steps=<n>
	expr  string
	steps int
}

// promqlQueries expands promqlCases over sizes and step counts, in
// benchmark order.
func promqlQueries() []promqlQuery {
	var out []promqlQuery
	for _, c := range promqlCases {
		sizes := []promqlSize{{"all", 0}}
		if strings.Contains(c.expr, "X") {
			sizes = promqlSizes
		}
		for _, sz := range sizes {
			for _, steps := range promqlSteps {
				if c.maxSteps > 0 && steps > c.maxSteps {
					continue
				}
				n := "all"
				if sz.n > 0 {
					n = strconv.Itoa(sz.n)
				}
				out = append(out, promqlQuery{
					name:  fmt.Sprintf("query=%s/series=%s/steps=%d", c.id, n, steps),
					expr:  strings.ReplaceAll(c.expr, "X", sz.name),
					steps: steps,
				})
			}
		}
	}
	return out
}

// promqlPoint is one point of a result series in a form both engines'
// results can be compared in; h is set for a native histogram (never, in
// this data set).
type promqlPoint struct {
	t int64
	f float64
	h string
}

// promqlSeries is one result series: its labels spelled as name="value"
// pairs sorted by name, and its points.
type promqlSeries struct {
	labels string
	points []promqlPoint
}

// promqlEngine is one implementation under comparison, with the data set
// loaded.
type promqlEngine interface {
	// exec runs expr as an instant query at end when start equals end,
	// else as a range query, and discards the result.
	exec(ctx context.Context, expr string, start, end time.Time, step time.Duration) error
	// result runs the query like exec and returns its result, series
	// sorted by labels.
	result(ctx context.Context, expr string, start, end time.Time, step time.Duration) ([]promqlSeries, error)
	// read selects the series named name in (mint, maxt] through the
	// implementation's storage alone, with no engine, and walks every
	// sample; it returns how many there were.
	read(ctx context.Context, name string, mint, maxt int64) (int, error)
	// close releases the storage.
	close() error
}

// promqlImpl opens an implementation's engine over a freshly loaded data
// set.
type promqlImpl struct {
	name string
	open func() (promqlEngine, error)
}

// promqlImpls is filled by the per-implementation files.
var promqlImpls []promqlImpl

// promqlEngines holds the opened engines, loaded on first use so a run of
// one implementation's benchmarks loads only its data. TestMain closes
// them.
var promqlEngines struct {
	mu   sync.Mutex
	open map[string]promqlEngine
}

func promqlEngineFor(tb testing.TB, im promqlImpl) promqlEngine {
	tb.Helper()
	promqlEngines.mu.Lock()
	defer promqlEngines.mu.Unlock()
	if e, ok := promqlEngines.open[im.name]; ok {
		return e
	}
	start := time.Now()
	e, err := im.open()
	if err != nil {
		tb.Fatalf("%s: loading the PromQL data set: %v", im.name, err)
	}
	tb.Logf("%s: loaded the PromQL data set in %v", im.name, time.Since(start).Round(time.Millisecond))
	if promqlEngines.open == nil {
		promqlEngines.open = map[string]promqlEngine{}
	}
	promqlEngines.open[im.name] = e
	return e
}

func TestMain(m *testing.M) {
	code := m.Run()
	promqlEngines.mu.Lock()
	for name, e := range promqlEngines.open {
		if err := e.close(); err != nil {
			fmt.Fprintf(os.Stderr, "closing the %s PromQL storage: %v\n", name, err)
		}
	}
	promqlEngines.mu.Unlock()
	os.Exit(code)
}

// BenchmarkPromQL runs every query of promqlQueries through every
// implementation. Names read
// BenchmarkPromQL/query=<id>/series=<n>/steps=<n>/impl=<name>.
func BenchmarkPromQL(b *testing.B) {
	ctx := context.Background()
	for _, q := range promqlQueries() {
		b.Run(q.name, func(b *testing.B) {
			for _, im := range promqlImpls {
				b.Run("impl="+im.name, func(b *testing.B) {
					e := promqlEngineFor(b, im)
					start, end := promqlRange(q.steps)
					runPromQL(b, func() error { return e.exec(ctx, q.expr, start, end, promqlInterval) })
				})
			}
		})
	}
}

// BenchmarkPromQLStorageRead separates storage from engine time: it reads
// a_X through each implementation's storage (Querier, Select, iterators)
// without an engine, over the time range an instant query reads
// (range=5m: the lookback window before the end) and the one a 1000-step
// query reads (range=1000steps), walking every sample.
// Names read BenchmarkPromQLStorageRead/series=<n>/range=<r>/impl=<name>.
func BenchmarkPromQLStorageRead(b *testing.B) {
	ctx := context.Background()
	end := promqlEnd.UnixMilli()
	ranges := []struct {
		name string
		mint int64
	}{
		{"5m", end - (5 * time.Minute).Milliseconds()},
		{"1000steps", end - 999*promqlInterval.Milliseconds() - (5 * time.Minute).Milliseconds()},
	}
	for _, sz := range promqlSizes {
		for _, r := range ranges {
			b.Run(fmt.Sprintf("series=%d/range=%s", sz.n, r.name), func(b *testing.B) {
				for _, im := range promqlImpls {
					b.Run("impl="+im.name, func(b *testing.B) {
						e := promqlEngineFor(b, im)
						runPromQL(b, func() error {
							n, err := e.read(ctx, "a_"+sz.name, r.mint, end)
							if err == nil && n == 0 {
								err = fmt.Errorf("no samples read")
							}
							sinkInt = n
							return err
						})
					})
				}
			})
		}
	}
}

// runPromQL times exec over b.Loop and reports allocations and
// cpu-ns/op, the process's CPU time per query (see processCPU).
func runPromQL(b *testing.B, exec func() error) {
	if err := exec(); err != nil { // warm up; also checks the query
		b.Fatal(err)
	}
	b.ReportAllocs()
	cpu0 := processCPU()
	iters := 0
	for b.Loop() {
		if err := exec(); err != nil {
			b.Fatal(err)
		}
		iters++
	}
	cpu := processCPU() - cpu0
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(iters), "cpu-ns/op")
}

// TestPromQLImplsAgree checks that every implementation returns the same
// result as the first one for every benchmark query, so the benchmarks
// compare equal work. limitk and limit_ratio pick series by a hash of
// their labels, which the implementations compute differently: for them
// only the number of series and points is compared.
func TestPromQLImplsAgree(t *testing.T) {
	if testing.Short() {
		t.Skip("loads the data set into every implementation")
	}
	ctx := context.Background()
	engines := make([]promqlEngine, len(promqlImpls))
	for i, im := range promqlImpls {
		engines[i] = promqlEngineFor(t, im)
	}
	for _, q := range promqlQueries() {
		t.Run(q.name, func(t *testing.T) {
			start, end := promqlRange(q.steps)
			var ref []promqlSeries
			for i, e := range engines {
				got, err := e.result(ctx, q.expr, start, end, promqlInterval)
				if err != nil {
					t.Fatalf("%s: %v", promqlImpls[i].name, err)
				}
				if i == 0 {
					// Some results are empty by construction, as in
					// Prometheus' benchmark: a_one has no label l to
					// match on, b_one none for l=~..., and absent_over_time
					// of present series is empty.
					ref = got
					continue
				}
				byHash := strings.HasPrefix(q.name, "query=limit")
				if msg := promqlDiff(ref, got, byHash); msg != "" {
					t.Errorf("%s differs from %s: %s", promqlImpls[i].name, promqlImpls[0].name, msg)
				}
			}
		})
	}
}

// promqlDiff describes the first difference between two results, or
// returns "". With shapeOnly only the number of series and points count.
func promqlDiff(a, b []promqlSeries, shapeOnly bool) string {
	if len(a) != len(b) {
		return fmt.Sprintf("%d series against %d", len(b), len(a))
	}
	count := func(r []promqlSeries) (n int) {
		for _, s := range r {
			n += len(s.points)
		}
		return n
	}
	if shapeOnly {
		if count(a) != count(b) {
			return fmt.Sprintf("%d points against %d", count(b), count(a))
		}
		return ""
	}
	for i := range a {
		x, y := a[i], b[i]
		if x.labels != y.labels {
			return fmt.Sprintf("series %d is %s against %s", i, y.labels, x.labels)
		}
		if len(x.points) != len(y.points) {
			return fmt.Sprintf("%s: %d points against %d", x.labels, len(y.points), len(x.points))
		}
		for j := range x.points {
			p, q := x.points[j], y.points[j]
			if p.t != q.t || p.h != q.h || !promqlSameFloat(p.f, q.f) {
				return fmt.Sprintf("%s: point %d is %v against %v", x.labels, j, q, p)
			}
		}
	}
	return ""
}

// promqlSameFloat compares results allowing for a different order of
// floating-point operations.
func promqlSameFloat(a, b float64) bool {
	if a == b || (math.IsNaN(a) && math.IsNaN(b)) {
		return true
	}
	return math.Abs(a-b) <= 1e-9*math.Max(math.Abs(a), math.Abs(b))
}

// promqlLabelString spells a label set as name="value" pairs sorted by
// name.
func promqlLabelString(pairs [][2]string) string {
	slices.SortFunc(pairs, func(a, b [2]string) int { return strings.Compare(a[0], b[0]) })
	var sb strings.Builder
	sb.WriteByte('{')
	for i, p := range pairs {
		if i > 0 {
			sb.WriteByte(',')
		}
		fmt.Fprintf(&sb, "%s=%q", p[0], p[1])
	}
	sb.WriteByte('}')
	return sb.String()
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// promqlSortSeries orders a result by labels.
func promqlSortSeries(r []promqlSeries) []promqlSeries {
	slices.SortFunc(r, func(a, b promqlSeries) int { return strings.Compare(a.labels, b.labels) })
	return r
}

// TestPromQLRatios prints the Vigil-to-Prometheus ratio table of
// docs/benchmarks.md from a file of BenchmarkPromQL output (-benchmem, any
// -count) named by $PROMQL_BENCH_FILE: per query and size, the median
// cpu-ns/op, sec/op and B/op of Vigil over Prometheus' medians at each
// step count, and geometric means. Without the variable it is skipped.
func TestPromQLRatios(t *testing.T) {
	path := os.Getenv("PROMQL_BENCH_FILE")
	if path == "" {
		t.Skip("set PROMQL_BENCH_FILE to a file of BenchmarkPromQL output")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// values[name without impl][impl][unit] holds every run's figure.
	values := map[string]map[string]map[string][]float64{}
	var order []string
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) < 4 || !strings.HasPrefix(f[0], "BenchmarkPromQL/") {
			continue
		}
		name := f[0]
		if i := strings.LastIndexByte(name, '-'); i > 0 { // the GOMAXPROCS suffix
			name = name[:i]
		}
		i := strings.LastIndex(name, "/impl=")
		if i < 0 {
			continue
		}
		base, impl := strings.TrimPrefix(name[:i], "BenchmarkPromQL/"), name[i+len("/impl="):]
		if values[base] == nil {
			values[base] = map[string]map[string][]float64{}
			order = append(order, base)
		}
		if values[base][impl] == nil {
			values[base][impl] = map[string][]float64{}
		}
		for j := 2; j+1 < len(f); j += 2 {
			v, err := strconv.ParseFloat(f[j], 64)
			if err != nil {
				continue
			}
			values[base][impl][f[j+1]] = append(values[base][impl][f[j+1]], v)
		}
	}
	median := func(xs []float64) float64 {
		if len(xs) == 0 {
			return math.NaN()
		}
		s := slices.Clone(xs)
		slices.Sort(s)
		if len(s)%2 == 1 {
			return s[len(s)/2]
		}
		return (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	ratio := func(base, unit string) float64 {
		v, p := median(values[base]["vigil"][unit]), median(values[base]["prometheus"][unit])
		if p == 0 || math.IsNaN(v) || math.IsNaN(p) {
			return math.NaN()
		}
		if v == 0 { // B/op of 0 cannot enter a geometric mean
			v = 1
		}
		return v / p
	}
	units := []struct{ unit, label string }{{"cpu-ns/op", "cpu"}, {"ns/op", "wall"}, {"B/op", "B/op"}}
	// Rows are query and size; columns step counts, each with the three
	// ratios.
	type row struct {
		query, size string
		cells       map[int][3]float64
	}
	var rows []*row
	byKey := map[string]*row{}
	logs := make(map[string][]float64)
	stepsSeen := map[int]bool{}
	for _, base := range order {
		var q, sz string
		var steps int
		for _, part := range strings.Split(base, "/") {
			k, v, _ := strings.Cut(part, "=")
			switch k {
			case "query":
				q = v
			case "series":
				sz = v
			case "steps":
				steps, _ = strconv.Atoi(v)
			}
		}
		key := q + "/" + sz
		r := byKey[key]
		if r == nil {
			r = &row{query: q, size: sz, cells: map[int][3]float64{}}
			byKey[key] = r
			rows = append(rows, r)
		}
		var c [3]float64
		for i, u := range units {
			c[i] = ratio(base, u.unit)
			if !math.IsNaN(c[i]) {
				logs[u.label] = append(logs[u.label], math.Log(c[i]))
			}
		}
		r.cells[steps] = c
		stepsSeen[steps] = true
	}
	var steps []int
	for s := range stepsSeen {
		steps = append(steps, s)
	}
	slices.Sort(steps)
	var sb strings.Builder
	sb.WriteString("| query | series |")
	for _, s := range steps {
		fmt.Fprintf(&sb, " %d steps: cpu | wall | B/op |", s)
	}
	sb.WriteString("\n| --- | ---: |")
	for range steps {
		sb.WriteString(" ---: | ---: | ---: |")
	}
	sb.WriteString("\n")
	cell := func(v float64) string {
		switch {
		case math.IsNaN(v):
			return " |"
		case v >= 0.995 || v < 0.005:
			return fmt.Sprintf(" %.2g |", v)
		}
		return fmt.Sprintf(" %.2f |", v)
	}
	for _, r := range rows {
		fmt.Fprintf(&sb, "| `%s` | %s |", r.query, r.size)
		for _, s := range steps {
			c, ok := r.cells[s]
			if !ok {
				sb.WriteString(" | | |")
				continue
			}
			for _, v := range c {
				sb.WriteString(cell(v))
			}
		}
		sb.WriteString("\n")
	}
	// The benchmarks furthest from the goal, by CPU time ratio.
	type cellRatio struct {
		name string
		r    [3]float64
	}
	var all []cellRatio
	for _, r := range rows {
		for _, st := range steps {
			if c, ok := r.cells[st]; ok && !math.IsNaN(c[0]) {
				all = append(all, cellRatio{fmt.Sprintf("`%s` series=%s steps=%d", r.query, r.size, st), c})
			}
		}
	}
	slices.SortStableFunc(all, func(a, b cellRatio) int { return -cmpFloat(a.r[0], b.r[0]) })
	sb.WriteString("\nslowest against Prometheus (cpu / wall / B/op ratios):\n")
	for _, c := range all[:min(15, len(all))] {
		fmt.Fprintf(&sb, "- %s: %.2f / %.2f / %.2f\n", c.name, c.r[0], c.r[1], c.r[2])
	}
	// Geometric means per step count.
	for _, st := range steps {
		var l [3]float64
		n := 0
		for _, r := range rows {
			if c, ok := r.cells[st]; ok && !math.IsNaN(c[0]) && !math.IsNaN(c[2]) {
				for i := range l {
					l[i] += math.Log(c[i])
				}
				n++
			}
		}
		fmt.Fprintf(&sb, "geometric means at %d steps (%d benchmarks): cpu %.3f, wall %.3f, B/op %.3f\n",
			st, n, math.Exp(l[0]/float64(n)), math.Exp(l[1]/float64(n)), math.Exp(l[2]/float64(n)))
	}
	sb.WriteString("\ngeometric means over all benchmarks:")
	for _, u := range units {
		l := logs[u.label]
		sum := 0.0
		met := 0
		for _, x := range l {
			sum += x
			if x <= math.Log(0.5) {
				met++
			}
		}
		fmt.Fprintf(&sb, " %s %.3f (%d of %d at or under 0.5);", u.label, math.Exp(sum/float64(len(l))), met, len(l))
	}
	sb.WriteString("\n")
	fmt.Println(sb.String())
}
