package promql

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vigil-monitoring/vigil/internal/storage/storagetest"
)

func TestEngineMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	ng := NewEngine(EngineOpts{Registerer: reg, MaxConcurrency: 3})
	st := storagetest.NewMemStorage()
	q, err := ng.NewRangeQuery(context.Background(), st, nil, "vector(1)", time.Unix(0, 0), time.Unix(60, 0), 15*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if res := q.Exec(context.Background()); res.Err != nil {
		t.Fatal(res.Err)
	}
	q.Close()

	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			name := mf.GetName()
			for _, l := range m.GetLabel() {
				name += "/" + l.GetValue()
			}
			switch {
			case m.GetGauge() != nil:
				got[name] = m.GetGauge().GetValue()
			case m.GetSummary() != nil:
				got[name] = float64(m.GetSummary().GetSampleCount())
			case m.GetCounter() != nil:
				got[name] = m.GetCounter().GetValue()
			}
		}
	}
	for name, want := range map[string]float64{
		"prometheus_engine_queries":                             0,
		"prometheus_engine_queries_concurrent_max":              3,
		"prometheus_engine_query_duration_seconds/queue_time":   1,
		"prometheus_engine_query_duration_seconds/prepare_time": 1,
		"prometheus_engine_query_duration_seconds/inner_eval":   1,
		"prometheus_engine_query_duration_seconds/result_sort":  1,
	} {
		if v, ok := got[name]; !ok || v != want {
			t.Errorf("%s = %v (present %v), want %v", name, v, ok, want)
		}
	}
	if _, ok := got["prometheus_engine_query_samples_total"]; !ok {
		t.Error("prometheus_engine_query_samples_total missing")
	}
}

type bufCloser struct {
	bytes.Buffer
	closed bool
}

func (b *bufCloser) Close() error { b.closed = true; return nil }

func TestQueryLog(t *testing.T) {
	ng := NewEngine(EngineOpts{})
	buf := &bufCloser{}
	if err := ng.SetQueryLogger(NewJSONLinesQueryLogger(buf)); err != nil {
		t.Fatal(err)
	}
	st := storagetest.NewMemStorage()
	ctx := NewOriginContext(context.Background(), map[string]any{"clientIP": "127.0.0.1", "method": "GET", "path": "/api/v1/query_range"})
	q, err := ng.NewRangeQuery(ctx, st, nil, "vector(1)", time.Unix(0, 0), time.Unix(60, 0), 15*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	q.Exec(ctx)
	q.Close()
	q, err = ng.NewInstantQuery(context.Background(), st, nil, "1", time.Unix(10, 0))
	if err != nil {
		t.Fatal(err)
	}
	q.Exec(context.Background())
	q.Close()

	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("query log has %d lines, want 2:\n%s", len(lines), buf.String())
	}
	var e struct {
		Params struct {
			Query      string
			Start, End time.Time
			Step       float64
		}
		Stats struct {
			Timings map[string]float64
		}
		TS          time.Time      `json:"ts"`
		HTTPRequest map[string]any `json:"httpRequest"`
	}
	if err := json.Unmarshal([]byte(lines[0]), &e); err != nil {
		t.Fatal(err)
	}
	if e.Params.Query != "vector(1)" || !e.Params.Start.Equal(time.Unix(0, 0)) || !e.Params.End.Equal(time.Unix(60, 0)) || e.Params.Step != 15 {
		t.Errorf("params = %+v", e.Params)
	}
	if _, ok := e.Stats.Timings["evalTotalTime"]; !ok || e.TS.IsZero() || e.HTTPRequest["path"] != "/api/v1/query_range" {
		t.Errorf("entry = %s", lines[0])
	}
	if err := ng.SetQueryLogger(nil); err != nil || !buf.closed {
		t.Errorf("turning the log off: err %v, closed %v", err, buf.closed)
	}
}
