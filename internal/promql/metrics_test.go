package promql

import (
	"context"
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
