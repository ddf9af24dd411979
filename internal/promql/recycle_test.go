package promql_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/vigil-monitoring/vigil/internal/promql"
	"github.com/vigil-monitoring/vigil/internal/promql/parser"
	"github.com/vigil-monitoring/vigil/internal/promql/promqltest"
)

// TestRecycleResults runs the conformance corpus and the project's scripts
// on an engine that takes results back on Close. The pools then hand the
// points of every closed result to later queries, so a slice that is
// recycled twice, or still in use when recycled, shows up as a wrong
// result in some later case.
func TestRecycleResults(t *testing.T) {
	ng := promql.NewEngine(promql.EngineOpts{
		MaxSamples:               10000,
		Timeout:                  100 * time.Second,
		LookbackDelta:            5 * time.Minute,
		NoStepSubqueryIntervalFn: func(int64) int64 { return time.Minute.Milliseconds() },
		EnableAtModifier:         true,
		EnableNegativeOffset:     true,
		EnableDelayedNameRemoval: true,
		EnablePerStepStats:       true,
		Parser:                   parser.NewParser(parser.AllFeatures),
		RecycleResults:           true,
	})
	corpus, _ := filepath.Glob(filepath.Join(repoRoot(t), "..", "shared", "conformance", "promql", "*.test"))
	if len(corpus) == 0 && os.Getenv("CI") == "true" {
		t.Fatal("conformance corpus not found")
	}
	own, err := filepath.Glob("testdata/*.test")
	if err != nil || len(own) == 0 {
		t.Fatalf("no test scripts in testdata (%v)", err)
	}
	expected := readExpectedFailures(t)
	ran := 0
	for _, path := range append(corpus, own...) {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		results, err := promqltest.Run(context.Background(), string(data), promqltest.Options{Engine: ng})
		if err != nil {
			t.Errorf("%s: %v", path, err)
			continue
		}
		for _, r := range results {
			ran++
			if r.Err == nil {
				continue
			}
			key := fmt.Sprintf("%s:%d", filepath.Base(path), r.Line)
			if _, listed := expected[key]; listed && filepath.Dir(path) != "testdata" {
				continue
			}
			t.Errorf("%s: %s: %v", key, r.Expr, r.Err)
		}
	}
	t.Logf("%d cases with recycled results", ran)
}

// TestRecycleResultsRandomQueries runs generated range queries of enough
// steps for their points to be pooled on an engine that takes results
// back on Close, and compares every result with that of an engine that
// does not, before closing the query. A slice recycled twice, or recycled
// while an operator still reads it, ends up behind two series of a later
// query and changes its result.
func TestRecycleResultsRandomQueries(t *testing.T) {
	st := fuzzData()
	plain := newEngine(promql.EngineOpts{MaxSamples: 50000, Timeout: 10 * time.Second})
	recycling := newEngine(promql.EngineOpts{MaxSamples: 50000, Timeout: 10 * time.Second, RecycleResults: true})
	ctx := context.Background()
	start, end, step := time.Unix(0, 0), time.Unix(1200, 0), 20*time.Second // 61 steps
	run := func(ng *promql.Engine, query string) (string, bool) {
		q, err := ng.NewRangeQuery(ctx, st, nil, query, start, end, step)
		if err != nil {
			return "", false
		}
		defer q.Close()
		res := q.Exec(ctx)
		if res.Err != nil {
			return res.Err.Error(), true
		}
		return res.Value.String(), true
	}
	rnd := rand.New(rand.NewPCG(3, 4))
	n := 0
	for range 1500 {
		data := make([]byte, 64)
		for i := range data {
			data[i] = byte(rnd.UintN(256))
		}
		g := &queryGen{data: data[1:]}
		query := g.vector(int(data[0]%4) + 1)
		want, ok := run(plain, query)
		if !ok {
			continue
		}
		n++
		if got, _ := run(recycling, query); got != want {
			t.Fatalf("query %q with recycled results:\n%s\nwant:\n%s", query, got, want)
		}
	}
	if n < 1000 {
		t.Fatalf("only %d of the generated queries ran", n)
	}
}
