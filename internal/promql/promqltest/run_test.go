package promqltest

import (
	"context"
	"os"
	"strings"
	"testing"
)

// TestRunChecksExpectations feeds the runner cases it must reject next to
// ones it must accept, so that a runner that accepts anything fails.
func TestRunChecksExpectations(t *testing.T) {
	script := `
load 1m
	metric{a="1"} 1 2 3
	metric{a="2"} 10 20 30
	requests 1 2 3

# Correct: must pass.
eval instant at 2m metric
	metric{a="1"} 3
	metric{a="2"} 30

# Wrong value.
eval instant at 2m metric
	metric{a="1"} 4
	metric{a="2"} 30

# A series missing from the expectations.
eval instant at 2m metric
	metric{a="1"} 3

# Wrong labels: the name is part of the label set.
eval instant at 2m metric
	{a="1"} 3
	{a="2"} 30

# Expected failure that does not happen.
eval instant at 2m metric
	expect fail

# Failure with the wrong message.
eval instant at 2m metric{a="1"} + on(a) group_left metric
	expect fail msg: something else

# Correct failure.
eval_fail instant at 2m label_replace(metric, "a", "x", "a", ".*")

# Unexpected annotation kind.
eval instant at 2m rate(requests[2m])
	expect no_info
	{} 0.016666666666666666

# Correct annotation.
eval instant at 2m rate(requests[2m])
	expect info msg: PromQL info: metric might not be a counter, name does not end in _total/_sum/_count/_bucket: "requests"
	{} 0.016666666666666666

# Order.
eval instant at 2m sort_desc(metric)
	expect ordered
	metric{a="1"} 3
	metric{a="2"} 30

# Range query with a missing point.
eval range from 0 to 2m step 1m metric{a="1"}
	metric{a="1"} 1 _ 3

# Correct range query.
eval range from 0 to 2m step 1m metric{a="1"}
	metric{a="1"} 1 2 3

# Scalar.
eval instant at 1m 1 + 1
	3
`
	results, err := Run(context.Background(), script, Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := []bool{true, false, false, false, false, false, true, false, true, false, false, true, false}
	if len(results) != len(want) {
		t.Fatalf("got %d results, want %d", len(results), len(want))
	}
	for i, r := range results {
		if (r.Err == nil) != want[i] {
			t.Errorf("line %d %s: passed=%v, want %v (%v)", r.Line, r.Expr, r.Err == nil, want[i], r.Err)
		}
	}
}

func TestParseScript(t *testing.T) {
	cmds, err := parseScript(`
load 5m
	a{x="1"}@st -1m _
	a{x="1"} 1 2
	a{x="1"} 3 4

eval_ordered instant at 10m a
	expected_fail_regexp foo.*
	expect warn regex: bar
	expect info msg:  baz
	expect string "s"

eval range from 0 to 1h step 5m a
	expect range vector from 1m to 2m step 1m
`)
	if err != nil {
		t.Fatal(err)
	}
	if len(cmds) != 3 {
		t.Fatalf("got %d commands", len(cmds))
	}
	load := cmds[0].(*loadCmd)
	if len(load.series) != 1 || load.series[0].values[0].Value != 3 {
		t.Errorf("a repeated series must replace the earlier one: %+v", load.series)
	}
	ev := cmds[1].(*evalCmd)
	if !ev.ordered || ev.fail == nil || ev.fail.regex == nil || !ev.fail.matches("foobar") ||
		len(ev.warnings) != 1 || !ev.warnings[0].matches("xbarx") || ev.infos[0].message != "baz" || *ev.str != "s" {
		t.Errorf("unexpected %+v", ev)
	}
	if r := cmds[2].(*evalCmd); !r.isRange || !r.isRangeVec || r.rangeStep.Minutes() != 1 || r.end.Hours() != 1 {
		t.Errorf("unexpected %+v", r)
	}
	for _, bad := range []string{"eval at 5m x", "load", "frobnicate", "eval instant at 1m x\n\texpect nonsense"} {
		if _, err := parseScript(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

// TestScriptFromEnv runs the script named by PROMQL_SCRIPT, for debugging
// single files: PROMQL_SCRIPT=x.test go test -run TestScriptFromEnv.
func TestScriptFromEnv(t *testing.T) {
	path := os.Getenv("PROMQL_SCRIPT")
	if path == "" {
		t.Skip("PROMQL_SCRIPT not set")
	}
	RunFile(t, path)
}

func TestAtModifierVariants(t *testing.T) {
	expr, times := atModifierVariants(`sum(rate(a[5m])) + b offset 1m + sum_over_time(c[10m:1m] @ 50)`, 100000)
	if !strings.Contains(expr, "a[5m] @ 100.000") || !strings.Contains(expr, "b @ 100.000 offset 1m") || strings.Contains(expr, "c @") {
		t.Errorf("unexpected variant %q", expr)
	}
	if len(times) != 5 {
		t.Errorf("times %v", times)
	}
	if _, times := atModifierVariants(`time() + a`, 1000); times != nil {
		t.Error("time() must not get variants")
	}
}
