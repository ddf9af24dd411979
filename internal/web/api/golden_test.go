package api

import (
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigil-monitoring/vigil/internal/tsdb"
)

var update = flag.Bool("update", false, "rewrite the golden files of testdata/golden")

// goldenCase is one request whose exact response (status, content type
// and body) is kept in testdata/golden/<name>.golden.
type goldenCase struct {
	name   string
	method string
	path   string     // below /api/v1, with the query string
	form   url.Values // POST body, form-encoded
	admin  bool       // use an API with --web.enable-admin-api and no TSDBAdmin
	// dbAdmin uses an API with --web.enable-admin-api whose TSDBAdmin is
	// its database.
	dbAdmin bool
}

func q(kv ...string) string {
	v := url.Values{}
	for i := 0; i < len(kv); i += 2 {
		v.Add(kv[i], kv[i+1])
	}
	return v.Encode()
}

var (
	tEvalS  = secs(tEval)
	tStartS = secs(t0)
	tEndS   = secs(t0 + 120_000)
)

var goldenCases = []goldenCase{
	// Instant queries.
	{name: "query_vector", path: "/query?" + q("query", "up", "time", tEvalS)},
	{name: "query_post_form", method: "POST", path: "/query", form: url.Values{"query": {"sum by (method) (http_requests_total)"}, "time": {tEvalS}}},
	{name: "query_post_merges_url", method: "POST", path: "/query?" + q("time", tEvalS), form: url.Values{"query": {"up == 0"}}},
	{name: "query_scalar", path: "/query?" + q("query", "1+1", "time", "4")},
	{name: "query_string", path: "/query?" + q("query", `"hello"`, "time", tEvalS)},
	{name: "query_special_values", path: "/query?" + q("query", "special_values", "time", tEvalS)},
	{name: "query_histogram", path: "/query?" + q("query", "request_duration_seconds", "time", tEvalS)},
	{name: "query_matrix", path: "/query?" + q("query", "up[30s]", "time", tEvalS)},
	{name: "query_ms_timestamp", path: "/query?" + q("query", "up{job=\"prometheus\"}", "time", "1700000599.9999")},
	{name: "query_rfc3339", path: "/query?" + q("query", "up{job=\"node\"}", "time", "2023-11-14T22:23:20Z")},
	{name: "query_default_time", path: "/query?" + q("query", "time()")},
	{name: "query_limit", path: "/query?" + q("query", "http_requests_total", "time", tEvalS, "limit", "1")},
	{name: "query_utf8_escaping", path: "/query?" + q("query", `{"utf8.metric"}`, "time", tEvalS)},
	{name: "query_info_annotation", path: "/query?" + q("query", "rate(up[5m])", "time", tEvalS)},
	{name: "query_warning_annotation", path: "/query?" + q("query", "histogram_quantile(0.5, http_requests_total)", "time", tEvalS)},
	{name: "query_bad_time", path: "/query?" + q("query", "up", "time", "yesterday")},
	{name: "query_bad_timeout", path: "/query?" + q("query", "up", "timeout", "soon")},
	{name: "query_bad_limit", path: "/query?" + q("query", "up", "limit", "-1")},
	{name: "query_bad_lookback", path: "/query?" + q("query", "up", "lookback_delta", "x")},
	{name: "query_parse_error", path: "/query?" + q("query", "sum(up", "time", tEvalS)},
	{name: "query_missing", path: "/query?" + q("time", tEvalS)},
	{name: "query_execution_error", path: "/query?" + q("query", "http_requests_total + on(job) http_requests_total", "time", tEvalS)},
	{name: "query_get_only_methods", method: "DELETE", path: "/query"},

	// Range queries.
	{name: "query_range_matrix", path: "/query_range?" + q("query", "up", "start", tStartS, "end", tEndS, "step", "30")},
	{name: "query_range_duration_step", method: "POST", path: "/query_range", form: url.Values{"query": {"rate(http_requests_total[1m])"}, "start": {tStartS}, "end": {tEndS}, "step": {"1m"}}},
	{name: "query_range_histogram", path: "/query_range?" + q("query", "request_duration_seconds", "start", tStartS, "end", secs(t0+30_000), "step", "15")},
	{name: "query_range_scalar", path: "/query_range?" + q("query", "time()", "start", "0", "end", "2", "step", "1")},
	{name: "query_range_limit", path: "/query_range?" + q("query", "up", "start", tStartS, "end", tStartS, "step", "15", "limit", "1")},
	{name: "query_range_bad_start", path: "/query_range?" + q("query", "up", "start", "x", "end", tEndS, "step", "15")},
	{name: "query_range_bad_end", path: "/query_range?" + q("query", "up", "start", tStartS, "end", "", "step", "15")},
	{name: "query_range_bad_step", path: "/query_range?" + q("query", "up", "start", tStartS, "end", tEndS, "step", "fast")},
	{name: "query_range_zero_step", path: "/query_range?" + q("query", "up", "start", tStartS, "end", tEndS, "step", "0")},
	{name: "query_range_negative_step", path: "/query_range?" + q("query", "up", "start", tStartS, "end", tEndS, "step", "-15")},
	{name: "query_range_end_before_start", path: "/query_range?" + q("query", "up", "start", tEndS, "end", tStartS, "step", "15")},
	{name: "query_range_too_many_points", path: "/query_range?" + q("query", "up", "start", "0", "end", "11001", "step", "1")},
	{name: "query_range_11000_points_ok", path: "/query_range?" + q("query", "vector(1) > 2", "start", "0", "end", "11000", "step", "1")},
	{name: "query_range_wrong_type", path: "/query_range?" + q("query", "up[1m]", "start", tStartS, "end", tEndS, "step", "15")},

	// Exemplars, formatting, parsing.
	{name: "query_exemplars_grafana_probe_ms", path: "/query_exemplars?" + q("query", "test", "start", "1700000000000", "end", "1700000600000")},
	{name: "query_exemplars_post", method: "POST", path: "/query_exemplars", form: url.Values{"query": {"up"}, "start": {tStartS}, "end": {tEndS}}},
	{name: "query_exemplars_bad_query", path: "/query_exemplars?" + q("query", "up{")},
	{name: "query_exemplars_end_before_start", path: "/query_exemplars?" + q("query", "up", "start", tEndS, "end", tStartS)},
	{name: "format_query", path: "/format_query?" + q("query", "sum(rate(http_requests_total{job=\"api\"}[5m]))by(job) # comment")},
	{name: "format_query_post", method: "POST", path: "/format_query", form: url.Values{"query": {"foo/bar"}}},
	{name: "format_query_error", path: "/format_query?" + q("query", "foo[")},
	{name: "parse_query", path: "/parse_query?" + q("query", `sum by (job) (rate(http_requests_total{code="200"}[5m] offset 1m)) / on(job) group_left up @ 100`)},
	{name: "parse_query_subquery", path: "/parse_query?" + q("query", `-max_over_time((up > bool 0)[1h:5m]) or vector(1)`)},
	{name: "parse_query_error", path: "/parse_query?" + q("query", "1 +")},

	// Series and labels.
	{name: "series", path: "/series?" + q("match[]", "up")},
	{name: "series_union", path: "/series?" + q("match[]", "up", "match[]", `http_requests_total{method="GET"}`, "match[]", `up{job="node"}`)},
	{name: "series_post", method: "POST", path: "/series", form: url.Values{"match[]": {`{__name__=~"special_.*", kind=~"n.*"}`}, "start": {tStartS}, "end": {tEvalS}}},
	{name: "series_time_range_excludes", path: "/series?" + q("match[]", "special_values", "end", tStartS)},
	{name: "series_limit", path: "/series?" + q("match[]", "up", "limit", "1")},
	{name: "series_no_match", path: "/series"},
	{name: "series_empty_matcher", path: "/series?" + q("match[]", `{job=~".*"}`)},
	{name: "series_bad_matcher", path: "/series?" + q("match[]", `up{`)},
	{name: "series_bad_start", path: "/series?" + q("match[]", "up", "start", "x")},
	{name: "labels", path: "/labels"},
	{name: "labels_match", path: "/labels?" + q("match[]", "up", "match[]", "special_values")},
	{name: "labels_post", method: "POST", path: "/labels", form: url.Values{"match[]": {"http_requests_total"}}},
	{name: "labels_limit", path: "/labels?" + q("limit", "2")},
	{name: "labels_none", path: "/labels?" + q("match[]", "no_such_metric")},
	{name: "label_values_name", path: "/label/__name__/values"},
	{name: "label_values_match", path: "/label/instance/values?" + q("match[]", `up{job="node"}`, "match[]", `up{job="prometheus"}`)},
	{name: "label_values_limit", path: "/label/kind/values?" + q("limit", "3")},
	{name: "label_values_u_escaping", path: "/label/U__http_2e_status__code/values"},
	{name: "label_values_none", path: "/label/nope/values"},
	{name: "label_values_invalid_name", path: "/label/%ff/values"},
	{name: "label_values_post_not_allowed", method: "POST", path: "/label/job/values"},

	// Targets and metadata.
	{name: "targets", path: "/targets"},
	{name: "targets_active", path: "/targets?state=active"},
	{name: "targets_dropped_pool", path: "/targets?state=dropped&scrapePool=node"},
	{name: "scrape_pools", path: "/scrape_pools"},
	{name: "targets_metadata", path: "/targets/metadata?" + q("match_target", `{job="prometheus"}`)},
	{name: "targets_metadata_metric", path: "/targets/metadata?" + q("metric", "up")},
	{name: "targets_metadata_limit", path: "/targets/metadata?" + q("limit", "1")},
	{name: "targets_metadata_bad_limit", path: "/targets/metadata?" + q("limit", "many")},
	{name: "targets_metadata_bad_matcher", path: "/targets/metadata?" + q("match_target", "{job=}")},
	{name: "metadata", path: "/metadata"},
	{name: "metadata_metric", path: "/metadata?" + q("metric", "up")},
	{name: "metadata_limit_per_metric", path: "/metadata?" + q("metric", "up", "limit_per_metric", "1")},
	{name: "metadata_limit_zero", path: "/metadata?" + q("limit", "0")},
	{name: "metadata_bad_limit", path: "/metadata?" + q("limit", "x")},

	// Rules, alerts, alertmanagers (no rule manager yet).
	{name: "rules", path: "/rules"},
	{name: "rules_bad_type", path: "/rules?type=both"},
	{name: "rules_bad_group_limit", path: "/rules?group_limit=0"},
	{name: "rules_token_without_limit", path: "/rules?group_next_token=abc"},
	{name: "alerts", path: "/alerts"},
	{name: "alertmanagers", path: "/alertmanagers"},

	// Status.
	{name: "status_config", path: "/status/config"},
	{name: "status_flags", path: "/status/flags"},
	{name: "status_buildinfo", path: "/status/buildinfo"},
	{name: "status_tsdb", path: "/status/tsdb"},
	{name: "status_tsdb_limit", path: "/status/tsdb?limit=2"},
	{name: "status_tsdb_bad_limit", path: "/status/tsdb?limit=0"},
	{name: "status_tsdb_limit_too_large", path: "/status/tsdb?limit=10001"},
	{name: "status_walreplay", path: "/status/walreplay"},

	// Admin.
	{name: "admin_snapshot_disabled", method: "POST", path: "/admin/tsdb/snapshot"},
	{name: "admin_delete_series_disabled", method: "PUT", path: "/admin/tsdb/delete_series?" + q("match[]", "up")},
	{name: "admin_clean_tombstones_disabled", method: "POST", path: "/admin/tsdb/clean_tombstones"},
	{name: "admin_snapshot_unsupported", method: "POST", path: "/admin/tsdb/snapshot", admin: true},
	{name: "admin_snapshot_bad_skip_head", method: "POST", path: "/admin/tsdb/snapshot?skip_head=maybe", admin: true},
	{name: "admin_delete_series_unsupported", method: "POST", path: "/admin/tsdb/delete_series?" + q("match[]", "up"), admin: true},
	{name: "admin_delete_series_no_match", method: "POST", path: "/admin/tsdb/delete_series", admin: true},
	{name: "admin_clean_tombstones_unsupported", method: "PUT", path: "/admin/tsdb/clean_tombstones", admin: true},
	{name: "admin_get_not_allowed", path: "/admin/tsdb/snapshot"},
	// With the database as TSDBAdmin (a snapshot's name is random: see
	// TestAdminSnapshotOpens).
	{name: "admin_delete_series", method: "POST", path: "/admin/tsdb/delete_series?" + q("match[]", `up{job="node"}`, "start", tStartS, "end", tEndS), dbAdmin: true},
	{name: "admin_delete_series_bad_matcher", method: "POST", path: "/admin/tsdb/delete_series?" + q("match[]", "up{"), dbAdmin: true},
	{name: "admin_clean_tombstones", method: "POST", path: "/admin/tsdb/clean_tombstones", dbAdmin: true},

	// Everything else.
	{name: "unknown_endpoint", path: "/no/such/endpoint"},
	{name: "remote_write_disabled", method: "POST", path: "/write"},
	{name: "remote_read_missing", method: "POST", path: "/read"},
	{name: "options", method: "OPTIONS", path: "/anything"},
}

// TestGolden runs every goldenCase against the real engine and database
// and compares status, content type and body byte for byte. Run with
// -update to rewrite the files after an intended change, and review the
// diff.
func TestGolden(t *testing.T) {
	plain, _ := newTestAPI(t, nil)
	admin, _ := newTestAPI(t, func(o *Options) { o.EnableAdmin = true })
	dbAdmin, _ := newTestAPI(t, func(o *Options) {
		o.EnableAdmin = true
		o.Admin = o.Queryable.(*tsdb.DB)
	})
	seen := map[string]bool{}
	for _, tc := range goldenCases {
		if seen[tc.name] {
			t.Fatalf("duplicate case %s", tc.name)
		}
		seen[tc.name] = true
		t.Run(tc.name, func(t *testing.T) {
			a := plain
			switch {
			case tc.admin:
				a = admin
			case tc.dbAdmin:
				a = dbAdmin
			}
			method := tc.method
			if method == "" {
				method = http.MethodGet
			}
			var body *strings.Reader
			if tc.form != nil {
				body = strings.NewReader(tc.form.Encode())
			} else {
				body = strings.NewReader("")
			}
			req := httptest.NewRequest(method, "http://vigil"+tc.path, body)
			if tc.form != nil {
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			}
			rec := httptest.NewRecorder()
			a.ServeHTTP(rec, req)
			got := fmt.Sprintf("HTTP %d\nContent-Type: %s\n\n%s\n", rec.Code, rec.Header().Get("Content-Type"), rec.Body.String())
			path := filepath.Join("testdata", "golden", tc.name+".golden")
			if *update {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("response differs from %s\n--- got ---\n%s--- want ---\n%s", path, got, want)
			}
		})
	}
}

// TestGoldenFilesHaveCases keeps testdata/golden free of files no case
// produces any more.
func TestGoldenFilesHaveCases(t *testing.T) {
	names := map[string]bool{}
	for _, tc := range goldenCases {
		names[tc.name+".golden"] = true
	}
	entries, err := os.ReadDir(filepath.Join("testdata", "golden"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !names[e.Name()] {
			t.Errorf("testdata/golden/%s belongs to no test case", e.Name())
		}
	}
}
