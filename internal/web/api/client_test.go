package api

import (
	"context"
	"errors"
	"math"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	promapi "github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
)

// TestClientGolang drives the API with client_golang's v1 client, the
// library promtool, Grafana's backend tooling and most Go programs use:
// it POSTs forms with GET fallback, sends float timestamps with nine
// decimals and decodes every shape strictly.
func TestClientGolang(t *testing.T) {
	a, _ := newTestAPI(t, nil)
	mux := http.NewServeMux()
	mux.Handle("/api/v1/", http.StripPrefix("/api/v1", a))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	c, err := promapi.NewClient(promapi.Config{Address: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	api := v1.NewAPI(c)
	ctx := context.Background()
	evalTime := time.UnixMilli(tEval)

	t.Run("Query", func(t *testing.T) {
		v, warnings, _, err := api.Query(ctx, `up`, evalTime, v1.WithTimeout(30*time.Second))
		if err != nil || len(warnings) != 0 {
			t.Fatal(err, warnings)
		}
		vec := v.(model.Vector)
		if len(vec) != 2 || vec[0].Metric["job"] != "prometheus" || vec[0].Value != 1 || vec[0].Timestamp.Time().UnixMilli() != tEval {
			t.Errorf("up = %v", vec)
		}
		v, _, _, err = api.Query(ctx, `special_values`, evalTime)
		if err != nil {
			t.Fatal(err)
		}
		got := map[model.LabelValue]float64{}
		for _, s := range v.(model.Vector) {
			got[s.Metric["kind"]] = float64(s.Value)
		}
		if !math.IsNaN(got["nan"]) || !math.IsInf(got["inf"], 1) || !math.IsInf(got["neginf"], -1) || got["tiny"] != 1.5e-7 || got["huge"] != 2e22 {
			t.Errorf("special values decoded as %v", got)
		}
		v, _, _, err = api.Query(ctx, `request_duration_seconds`, evalTime)
		if err != nil {
			t.Fatal(err)
		}
		hv := v.(model.Vector)
		if len(hv) != 1 || hv[0].Histogram == nil || hv[0].Histogram.Count != 335 || len(hv[0].Histogram.Buckets) != 8 {
			t.Errorf("histogram = %v", hv)
		}
		v, _, _, err = api.Query(ctx, `scalar(up{job="prometheus"}) * 2`, evalTime)
		if err != nil || v.(*model.Scalar).Value != 2 {
			t.Errorf("scalar = %v %v", v, err)
		}
		_, warnings, _, err = api.Query(ctx, `http_requests_total`, evalTime, v1.WithLimit(1))
		if err != nil || !slices.Equal(warnings, []string{truncatedWarning}) {
			t.Errorf("limit: %v %v", warnings, err)
		}
	})

	t.Run("QueryRange", func(t *testing.T) {
		r := v1.Range{Start: time.UnixMilli(t0), End: time.UnixMilli(t0 + 120_000), Step: 30 * time.Second}
		v, _, _, err := api.QueryRange(ctx, `sum(up)`, r, v1.WithLookbackDelta(time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		m := v.(model.Matrix)
		if len(m) != 1 || len(m[0].Values) != 5 || m[0].Values[4].Value != 1 || m[0].Values[4].Timestamp.Time().UnixMilli() != t0+120_000 {
			t.Errorf("matrix = %v", m)
		}
		_, _, _, err = api.QueryRange(ctx, `up`, v1.Range{Start: time.Unix(0, 0), End: time.Unix(100000, 0), Step: time.Second})
		var apiErr *v1.Error
		if !errors.As(err, &apiErr) || apiErr.Type != v1.ErrBadData {
			t.Errorf("too many points: %v", err)
		}
	})

	t.Run("Errors", func(t *testing.T) {
		_, _, _, err := api.Query(ctx, `sum(`, evalTime)
		var apiErr *v1.Error
		if !errors.As(err, &apiErr) || apiErr.Type != v1.ErrBadData {
			t.Errorf("parse error: %v", err)
		}
		_, _, _, err = api.Query(ctx, `http_requests_total + on(job) http_requests_total`, evalTime)
		if !errors.As(err, &apiErr) || apiErr.Type != v1.ErrExec {
			t.Errorf("execution error: %v", err)
		}
		_, err = api.Snapshot(ctx, false)
		if !errors.As(err, &apiErr) || apiErr.Type != v1.ErrServer {
			t.Errorf("snapshot with admin disabled: %v", err)
		}
		err = api.DeleteSeries(ctx, []string{"up"}, time.UnixMilli(t0), evalTime)
		if !errors.As(err, &apiErr) || apiErr.Type != v1.ErrServer {
			t.Errorf("delete series with admin disabled: %v", err)
		}
	})

	t.Run("Series", func(t *testing.T) {
		series, _, _, err := api.Series(ctx, []string{`up`, `{__name__="http_requests_total",method="GET"}`}, time.UnixMilli(t0), evalTime)
		if err != nil || len(series) != 3 {
			t.Fatalf("series = %v %v", series, err)
		}
		if series[0]["__name__"] != "http_requests_total" {
			t.Errorf("series not sorted: %v", series)
		}
	})

	t.Run("Labels", func(t *testing.T) {
		names, _, _, err := api.LabelNames(ctx, []string{"up"}, time.Time{}, time.Time{})
		if err != nil || !slices.Equal(names, model.LabelNames{"__name__", "instance", "job"}) {
			t.Errorf("label names = %v %v", names, err)
		}
		vals, _, _, err := api.LabelValues(ctx, "job", nil, time.UnixMilli(t0), evalTime)
		if err != nil || !slices.Equal(vals, model.LabelValues{"api", "node", "prometheus"}) {
			t.Errorf("label values = %v %v", vals, err)
		}
		vals, _, _, err = api.LabelValues(ctx, "http.status_code", nil, time.Time{}, time.Time{})
		if err != nil || !slices.Equal(vals, model.LabelValues{"200"}) {
			t.Errorf("UTF-8 label values = %v %v", vals, err)
		}
	})

	t.Run("Status", func(t *testing.T) {
		bi, err := api.Buildinfo(ctx)
		if err != nil || bi.Version != "1.2.3" || bi.Revision != "abc123" || bi.GoVersion != "go1.26" {
			t.Errorf("buildinfo = %+v %v", bi, err)
		}
		rt, err := api.Runtimeinfo(ctx)
		if err != nil || !rt.ReloadConfigSuccess || rt.StorageRetention != "15d" || rt.GoroutineCount == 0 {
			t.Errorf("runtimeinfo = %+v %v", rt, err)
		}
		cfg, err := api.Config(ctx)
		if err != nil || cfg.YAML != "global:\n  scrape_interval: 15s\n" {
			t.Errorf("config = %+v %v", cfg, err)
		}
		flags, err := api.Flags(ctx)
		if err != nil || flags["query.timeout"] != "2m" {
			t.Errorf("flags = %v %v", flags, err)
		}
		st, err := api.TSDB(ctx)
		if err != nil || st.HeadStats.NumSeries != 13 || st.HeadStats.NumLabelPairs != 23 || len(st.SeriesCountByMetricName) != 5 {
			t.Errorf("tsdb = %+v %v", st, err)
		}
		wr, err := api.WalReplay(ctx)
		if err != nil || wr.Current != 0 {
			t.Errorf("walreplay = %+v %v", wr, err)
		}
	})

	t.Run("TargetsAndMetadata", func(t *testing.T) {
		tr, err := api.Targets(ctx)
		if err != nil || len(tr.Active) != 2 || len(tr.Dropped) != 1 {
			t.Fatalf("targets = %+v %v", tr, err)
		}
		node := tr.Active[0]
		if node.Health != v1.HealthBad || node.ScrapePool != "node" || node.LastError == "" || node.LastScrape.UnixMilli() != tEval-1500 {
			t.Errorf("node target = %+v", node)
		}
		if tr.Active[1].GlobalURL != "https://vigil.example.com/metrics" {
			t.Errorf("self target = %+v", tr.Active[1])
		}
		md, err := api.Metadata(ctx, "", "")
		if err != nil || len(md) != 3 || len(md["up"]) != 2 || md["up"][0].Type != v1.MetricTypeGauge {
			t.Errorf("metadata = %v %v", md, err)
		}
		md, err = api.Metadata(ctx, "node_cpu_seconds_total", "")
		if err != nil || len(md) != 1 || md["node_cpu_seconds_total"][0].Unit != "seconds" {
			t.Errorf("metadata of one metric = %v %v", md, err)
		}
		tmd, err := api.TargetsMetadata(ctx, `{job="node"}`, "node_cpu_seconds_total", "")
		if err != nil || len(tmd) != 1 || tmd[0].Unit != "seconds" || tmd[0].Target["instance"] != "host:9100" {
			t.Errorf("targets metadata = %+v %v", tmd, err)
		}
	})

	t.Run("RulesAlertsAlertmanagers", func(t *testing.T) {
		rules, err := api.Rules(ctx, nil)
		if err != nil || len(rules.Groups) != 0 {
			t.Errorf("rules = %+v %v", rules, err)
		}
		alerts, err := api.Alerts(ctx)
		if err != nil || len(alerts.Alerts) != 0 {
			t.Errorf("alerts = %+v %v", alerts, err)
		}
		ams, err := api.AlertManagers(ctx)
		if err != nil || len(ams.Active) != 0 || len(ams.Dropped) != 0 {
			t.Errorf("alertmanagers = %+v %v", ams, err)
		}
	})

	t.Run("ExemplarsAndFormat", func(t *testing.T) {
		ex, err := api.QueryExemplars(ctx, "up", time.UnixMilli(t0), evalTime)
		if err != nil || len(ex) != 0 {
			t.Errorf("exemplars = %v %v", ex, err)
		}
		// The client hands back the raw JSON of data, quotes included.
		s, err := api.FormatQuery(ctx, "sum(up)by(job)")
		if err != nil || s != `"sum by (job) (up)"` {
			t.Errorf("format = %q %v", s, err)
		}
	})
}
