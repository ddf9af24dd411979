package main

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/vigil-monitoring/vigil/internal/exposition"
	"github.com/vigil-monitoring/vigil/internal/model/labels"
)

// parse returns the samples of body by series (labels' String()) with
// Vigil's text parser, failing the test on a parse error.
func parse(t *testing.T, body []byte) map[string]float64 {
	t.Helper()
	p, err := exposition.New(body, "text/plain; version=0.0.4", exposition.Options{})
	if err != nil {
		t.Fatal(err)
	}
	sb := labels.NewScratchBuilder(16)
	out := map[string]float64{}
	for {
		et, err := p.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		if et != exposition.EntrySeries {
			continue
		}
		_, _, v := p.Series()
		p.Labels(&sb)
		k := sb.Labels().String()
		if _, dup := out[k]; dup {
			t.Fatalf("duplicate series %s", k)
		}
		out[k] = v
	}
}

func TestTargetExactCountAndValid(t *testing.T) {
	for _, sp := range []spec{
		{seriesPerTarget: 1000},
		{seriesPerTarget: 5000},
		{seriesPerTarget: 1000, churnFraction: 0.1, churnEvery: time.Minute},
	} {
		tg := newTarget(3, sp)
		if got := tg.seriesCount(); got != sp.seriesPerTarget {
			t.Errorf("%+v: seriesCount %d", sp, got)
		}
		samples := parse(t, tg.render(nil, time.Unix(1_795_000_000, 0)))
		if len(samples) != sp.seriesPerTarget {
			t.Errorf("%+v: parsed %d samples, want %d", sp, len(samples), sp.seriesPerTarget)
		}
	}
}

func TestDeterministicPerTarget(t *testing.T) {
	sp := spec{seriesPerTarget: 1200, churnFraction: 0.05, churnEvery: 10 * time.Minute}
	now := time.Unix(1_795_000_123, 456e6)
	a := newTarget(7, sp).render(nil, now)
	b := newTarget(7, sp).render(nil, now)
	if !bytes.Equal(a, b) {
		t.Fatal("same target, same time: bodies differ")
	}
	if c := newTarget(8, sp).render(nil, now); bytes.Equal(a, c) {
		t.Fatal("targets 7 and 8 render the same body")
	}
}

func TestCountersGrowAndBucketsAreCumulative(t *testing.T) {
	tg := newTarget(1, spec{seriesPerTarget: 1000})
	t0 := time.Unix(1_795_000_000, 0)
	s0 := parse(t, tg.render(nil, t0))
	s1 := parse(t, tg.render(nil, t0.Add(15*time.Second)))
	grew := 0
	for k, v0 := range s0 {
		if !strings.Contains(k, "_total") && !strings.Contains(k, "_bucket") {
			continue
		}
		if s1[k] < v0 {
			t.Errorf("counter %s went down: %v -> %v", k, v0, s1[k])
		}
		if s1[k] > v0 {
			grew++
		}
	}
	if grew < 100 {
		t.Errorf("only %d counters grew in 15s", grew)
	}
	// Buckets of one handler are cumulative and +Inf equals _count.
	var prev float64
	for _, le := range []string{"0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1.0", "2.5", "5.0", "10.0", "+Inf"} {
		k := `{__name__="http_request_duration_seconds_bucket", handler="/api/v1/resource0", le="` + le + `", method="GET"}`
		v, ok := s1[k]
		if !ok {
			t.Fatalf("missing %s", k)
		}
		if v < prev {
			t.Errorf("bucket le=%s %v < previous %v", le, v, prev)
		}
		prev = v
	}
	if c := s1[`{__name__="http_request_duration_seconds_count", handler="/api/v1/resource0", method="GET"}`]; c != prev {
		t.Errorf("_count %v != +Inf bucket %v", c, prev)
	}
}

func TestChurnReplacesPods(t *testing.T) {
	sp := spec{seriesPerTarget: 1000, churnFraction: 0.2, churnEvery: time.Minute}
	tg := newTarget(2, sp)
	t0 := time.Unix(1_794_999_960, 0) // a multiple of 60 s
	a := parse(t, tg.render(nil, t0.Add(10*time.Second)))
	b := parse(t, tg.render(nil, t0.Add(20*time.Second)))
	c := parse(t, tg.render(nil, t0.Add(70*time.Second)))
	same, gone := 0, 0
	for k := range a {
		if _, ok := b[k]; !ok {
			t.Fatalf("series %s vanished within a generation", k)
		}
		if _, ok := c[k]; ok {
			same++
		} else {
			gone++
		}
	}
	if gone != 200 || same != 800 {
		t.Errorf("after one churn period: %d kept, %d replaced; want 800, 200", same, gone)
	}
}
