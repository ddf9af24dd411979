package api

import (
	"context"
	"encoding/json"
	"math"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/vigil-monitoring/vigil/internal/model/histogram"
	"github.com/vigil-monitoring/vigil/internal/promql"
)

func TestAppendTimestamp(t *testing.T) {
	for ms, want := range map[int64]string{
		0: "0", 1000: "1", 1500: "1.500", 1001: "1.001", 1010: "1.010", 1700000600123: "1700000600.123",
		-1500: "-1.500", -1: "-0.001",
	} {
		if got := string(appendTimestamp(nil, ms)); got != want {
			t.Errorf("appendTimestamp(%d) = %s, want %s", ms, got, want)
		}
	}
}

func TestAppendFloatString(t *testing.T) {
	for _, tc := range []struct {
		f    float64
		want string
	}{
		{0, `"0"`}, {1, `"1"`}, {-42.5, `"-42.5"`}, {0.1, `"0.1"`},
		{1e-6, `"0.000001"`}, {9.99e-7, `"9.99e-07"`},
		{1e20, `"100000000000000000000"`}, {1e21, `"1e+21"`},
		{math.NaN(), `"NaN"`}, {math.Inf(1), `"+Inf"`}, {math.Inf(-1), `"-Inf"`},
		{math.Copysign(0, -1), `"-0"`},
	} {
		if got := string(appendFloatString(nil, tc.f)); got != tc.want {
			t.Errorf("appendFloatString(%v) = %s, want %s", tc.f, got, tc.want)
		}
	}
}

// TestAppendStringMatchesEncodingJSON: hand-written and reflected parts
// of one response must escape alike.
func TestAppendStringMatchesEncodingJSON(t *testing.T) {
	for _, s := range []string{"", "plain", `quote " backslash \`, "<tag>&amp;", "tab\tnl\ncr\r", "\x00\x1f\x7f",
		"ünïcödé ✓", "\u2028\u2029", "bad utf8 \xff\xfe end", "emoji 😀"} {
		want, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := appendString(nil, s); string(got) != string(want) {
			t.Errorf("appendString(%q) = %s, encoding/json says %s", s, got, want)
		}
	}
}

func TestHistogramBoundaryRules(t *testing.T) {
	// Custom buckets: (-Inf,1] (1,5] (5,+Inf]; the first has no count and
	// is left out.
	h := &histogram.FloatHistogram{
		Schema: histogram.CustomBucketsSchema, Count: 5, Sum: 12,
		PositiveSpans:   []histogram.Span{{Offset: 0, Length: 3}},
		PositiveBuckets: []float64{0, 3, 2},
		CustomValues:    []float64{1, 5},
	}
	want := `{"count":"5","sum":"12","buckets":[[0,"1","5","3"],[0,"5","+Inf","2"]]}`
	if got := string(appendHistogram(nil, h)); got != want {
		t.Errorf("custom buckets:\n got %s\nwant %s", got, want)
	}
	empty := &histogram.FloatHistogram{Count: 0, Sum: 0}
	if got := string(appendHistogram(nil, empty)); got != `{"count":"0","sum":"0"}` {
		t.Errorf("empty histogram: %s", got)
	}
}

func TestParseTime(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64 // ms
		err  bool
	}{
		{"1700000600", 1700000600000, false},
		{"1700000600.123456789", 1700000600123, false},
		{"1700000600.9999", 1700000601000, false}, // rounded to ms
		{"-1.5", -1500, false},
		{"2023-11-14T22:23:20Z", 1700000600000, false},
		{"2023-11-14T23:23:20.5+01:00", 1700000600500, false},
		{minTimeFormatted, MinTime.UnixMilli(), false},
		{maxTimeFormatted, MaxTime.UnixMilli(), false},
		{"", 0, true}, {"now", 0, true}, {"2023-11-14", 0, true},
	} {
		got, err := parseTime(tc.in)
		if (err != nil) != tc.err {
			t.Errorf("parseTime(%q) error = %v", tc.in, err)
			continue
		}
		if err == nil && got.UnixMilli() != tc.want {
			t.Errorf("parseTime(%q) = %d, want %d", tc.in, got.UnixMilli(), tc.want)
		}
	}
}

func TestParseDuration(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		err  bool
	}{
		{"15", 15 * time.Second, false}, {"0.5", 500 * time.Millisecond, false},
		{"5m", 5 * time.Minute, false}, {"1h30m", 90 * time.Minute, false}, {"1d", 24 * time.Hour, false},
		{"1w", 7 * 24 * time.Hour, false}, {"1y", 365 * 24 * time.Hour, false}, {"250ms", 250 * time.Millisecond, false},
		{"1.5s", 1500 * time.Millisecond, false}, // Go syntax, as client_golang sends timeouts
		{"1e30", 0, true}, {"fast", 0, true}, {"", 0, true},
	} {
		got, err := parseDuration(tc.in)
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("parseDuration(%q) = %v, %v", tc.in, got, err)
		}
	}
}

func TestUnescapeLabelName(t *testing.T) {
	for in, want := range map[string]string{
		"job":                     "job",
		"U__http_2e_status__code": "http.status_code",
		"U__a__b":                 "a_b",
		"U___1f600_":              "😀",
		"U__bad_zz_":              "U__bad_zz_", // not hex: left alone
		"U__unterminated_2e":      "U__unterminated_2e",
		"U__":                     "",
	} {
		if got := unescapeLabelName(in); got != want {
			t.Errorf("unescapeLabelName(%q) = %q, want %q", in, got, want)
		}
	}
}

func serve(a http.Handler, req *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	a.ServeHTTP(rec, req)
	return rec
}

func TestQueryStats(t *testing.T) {
	a, _ := newTestAPI(t, nil)
	for _, tc := range []struct {
		param    string
		perStep  bool
		warnings bool
	}{{"true", false, false}, {"all", true, false}, {"1", false, true}} {
		rec := serve(a, httptest.NewRequest("GET", "/query_range?"+q("query", "up", "start", tStartS, "end", tEndS, "step", "30", "stats", tc.param), nil))
		var resp struct {
			Data struct {
				Stats *struct {
					Timings map[string]float64 `json:"timings"`
					Samples map[string]any     `json:"samples"`
				} `json:"stats"`
			} `json:"data"`
			Warnings []string `json:"warnings"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil || rec.Code != 200 {
			t.Fatalf("stats=%s: %d %v %s", tc.param, rec.Code, err, rec.Body)
		}
		st := resp.Data.Stats
		if st == nil {
			t.Fatalf("stats=%s: no stats in %s", tc.param, rec.Body)
		}
		for _, k := range []string{"evalTotalTime", "resultSortTime", "queryPreparationTime", "innerEvalTime", "execQueueTime", "execTotalTime"} {
			if _, ok := st.Timings[k]; !ok {
				t.Errorf("stats=%s: timings lack %s", tc.param, k)
			}
		}
		if n, _ := st.Samples["totalQueryableSamples"].(float64); n != 10 {
			t.Errorf("stats=%s: totalQueryableSamples = %v, want 10 (2 series x 5 steps)", tc.param, st.Samples["totalQueryableSamples"])
		}
		steps, hasSteps := st.Samples["totalQueryableSamplesPerStep"].([]any)
		if hasSteps != tc.perStep || (hasSteps && len(steps) != 5) {
			t.Errorf("stats=%s: per-step = %v", tc.param, st.Samples["totalQueryableSamplesPerStep"])
		}
		if (len(resp.Warnings) > 0) != tc.warnings {
			t.Errorf("stats=%s: warnings %v", tc.param, resp.Warnings)
		}
	}
	// Without the parameter there are no stats.
	rec := serve(a, httptest.NewRequest("GET", "/query?"+q("query", "up", "time", tEvalS), nil))
	if strings.Contains(rec.Body.String(), `"stats"`) {
		t.Errorf("stats without the parameter: %s", rec.Body)
	}
}

func TestQueryTimeoutAndCancel(t *testing.T) {
	a, _ := newTestAPI(t, nil)
	// A nanosecond has passed before the engine looks at the deadline.
	rec := serve(a, httptest.NewRequest("GET", "/query?"+q("query", "up", "timeout", "0.000000001"), nil))
	if rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), `"errorType":"timeout"`) {
		t.Errorf("timeout: %d %s", rec.Code, rec.Body)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	req := httptest.NewRequest("GET", "/query_range?"+q("query", "up", "start", tStartS, "end", tEndS, "step", "15"), nil).WithContext(ctx)
	rec = serve(a, req)
	if rec.Code != 499 || !strings.Contains(rec.Body.String(), `"errorType":"canceled"`) {
		t.Errorf("canceled: %d %s", rec.Code, rec.Body)
	}
}

func TestNotReady(t *testing.T) {
	ready := false
	a, _ := newTestAPI(t, func(o *Options) { o.Ready = func() bool { return ready } })
	rec := serve(a, httptest.NewRequest("GET", "/query?query=up", nil))
	if rec.Code != http.StatusServiceUnavailable {
		t.Errorf("query before ready: %d", rec.Code)
	}
	rec = serve(a, httptest.NewRequest("GET", "/status/walreplay", nil))
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"current":0`) {
		t.Errorf("walreplay before ready: %d %s", rec.Code, rec.Body)
	}
	ready = true
	if rec := serve(a, httptest.NewRequest("GET", "/query?query=up", nil)); rec.Code != http.StatusOK {
		t.Errorf("query when ready: %d", rec.Code)
	}
}

func TestCORS(t *testing.T) {
	a, _ := newTestAPI(t, nil)
	req := httptest.NewRequest("OPTIONS", "/query", nil)
	req.Header.Set("Origin", "https://grafana.example.com")
	rec := serve(a, req)
	if rec.Code != http.StatusNoContent {
		t.Errorf("OPTIONS: %d", rec.Code)
	}
	h := rec.Header()
	if h.Get("Access-Control-Allow-Origin") != "*" || h.Get("Access-Control-Allow-Methods") != "GET, POST, OPTIONS" ||
		h.Get("Access-Control-Allow-Headers") != "Accept, Authorization, Content-Type, Origin" || h.Get("Vary") != "Origin" {
		t.Errorf("CORS headers: %v", h)
	}
	// Without an Origin there are none.
	if rec := serve(a, httptest.NewRequest("GET", "/labels", nil)); rec.Header().Get("Access-Control-Allow-Origin") != "" {
		t.Error("CORS headers without Origin")
	}
	// A restricted origin is echoed only when it matches.
	b, _ := newTestAPI(t, func(o *Options) { o.CORSOrigin = regexp.MustCompile(`^(?:https://ok\.example)$`) })
	for origin, want := range map[string]string{"https://ok.example": "https://ok.example", "https://evil.example": ""} {
		req := httptest.NewRequest("GET", "/labels", nil)
		req.Header.Set("Origin", origin)
		if got := serve(b, req).Header().Get("Access-Control-Allow-Origin"); got != want {
			t.Errorf("origin %s: Allow-Origin %q, want %q", origin, got, want)
		}
	}
}

func TestRuntimeInfo(t *testing.T) {
	a, _ := newTestAPI(t, nil)
	rec := serve(a, httptest.NewRequest("GET", "/status/runtimeinfo", nil))
	var resp struct {
		Status string         `json:"status"`
		Data   map[string]any `json:"data"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil || resp.Status != "success" {
		t.Fatalf("%v %s", err, rec.Body)
	}
	for _, k := range []string{"startTime", "CWD", "hostname", "serverTime", "reloadConfigSuccess", "lastConfigTime",
		"corruptionCount", "goroutineCount", "GOMAXPROCS", "GOMEMLIMIT", "GOGC", "GODEBUG", "storageRetention"} {
		if _, ok := resp.Data[k]; !ok {
			t.Errorf("runtimeinfo lacks %s", k)
		}
	}
	if len(resp.Data) != 13 {
		t.Errorf("runtimeinfo has %d fields, want 13", len(resp.Data))
	}
	if resp.Data["reloadConfigSuccess"] != true || resp.Data["storageRetention"] != "15d" || resp.Data["serverTime"] != "2023-11-14T22:23:20Z" {
		t.Errorf("runtimeinfo values: %v", resp.Data)
	}
}

type fakeRules struct{ groups []RuleGroup }

func (f fakeRules) RuleGroups() []RuleGroup { return f.groups }
func (f fakeRules) Alerts() []Alert {
	var out []Alert
	for _, g := range f.groups {
		for _, r := range g.Rules {
			if ar, ok := r.(AlertingRule); ok {
				out = append(out, ar.Alerts...)
			}
		}
	}
	return out
}

// TestRulesFilters checks the filters and pagination against a fake rule
// manager, since none exists yet; the shapes are final.
func TestRulesFilters(t *testing.T) {
	active := time.Unix(1700000000, 0).UTC()
	alert := Alert{State: "firing", ActiveAt: &active, Value: "1e+00"}
	groups := []RuleGroup{
		{Name: "g1", File: "a.yml", Interval: 15, Rules: []Rule{
			AlertingRule{Name: "HighLoad", Query: "load > 1", State: "firing", Health: "ok", Type: "alerting", Alerts: []Alert{alert}},
			RecordingRule{Name: "job:up:sum", Query: "sum by (job) (up)", Health: "ok", Type: "recording"},
		}},
		{Name: "g2", File: "b.yml", Interval: 60, Rules: []Rule{
			RecordingRule{Name: "other", Query: "1", Health: "unknown", Type: "recording"},
		}},
	}
	a, _ := newTestAPI(t, func(o *Options) { o.Rules = fakeRules{groups} })
	get := func(query string) map[string]any {
		t.Helper()
		rec := serve(a, httptest.NewRequest("GET", "/rules?"+query, nil))
		var resp struct {
			Data map[string]any `json:"data"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil || rec.Code != 200 {
			t.Fatalf("%s: %d %v %s", query, rec.Code, err, rec.Body)
		}
		return resp.Data
	}
	names := func(d map[string]any) []string {
		var out []string
		for _, g := range d["groups"].([]any) {
			gm := g.(map[string]any)
			for _, r := range gm["rules"].([]any) {
				out = append(out, gm["name"].(string)+"/"+r.(map[string]any)["name"].(string))
			}
		}
		return out
	}
	for query, want := range map[string]string{
		"":                    "g1/HighLoad g1/job:up:sum g2/other",
		"type=alert":          "g1/HighLoad",
		"type=RECORD":         "g1/job:up:sum g2/other",
		"rule_name[]=other":   "g2/other",
		"rule_group[]=g1":     "g1/HighLoad g1/job:up:sum",
		"file[]=b.yml":        "g2/other",
		"group_limit=1":       "g1/HighLoad g1/job:up:sum",
		"rule_name[]=nothing": "",
	} {
		if got := strings.Join(names(get(query)), " "); got != want {
			t.Errorf("rules?%s = %q, want %q", query, got, want)
		}
	}
	page := get("group_limit=1")
	token, _ := page["groupNextToken"].(string)
	if token == "" {
		t.Fatal("no groupNextToken with group_limit=1")
	}
	if got := strings.Join(names(get("group_limit=1&group_next_token="+token)), " "); got != "g2/other" {
		t.Errorf("second page = %q", got)
	}
	if rec := serve(a, httptest.NewRequest("GET", "/rules?group_limit=1&group_next_token=bogus", nil)); rec.Code != 400 {
		t.Errorf("bogus token: %d", rec.Code)
	}
	d := get("exclude_alerts=true")
	rule := d["groups"].([]any)[0].(map[string]any)["rules"].([]any)[0].(map[string]any)
	if alerts := rule["alerts"].([]any); len(alerts) != 0 || rule["type"] != "alerting" {
		t.Errorf("exclude_alerts: %v", rule)
	}
	rec := serve(a, httptest.NewRequest("GET", "/alerts", nil))
	if !strings.Contains(rec.Body.String(), `"alerts":[{"labels":{},"annotations":{},"state":"firing","activeAt":"2023-11-14T22:13:20Z","value":"1e+00"}]`) {
		t.Errorf("alerts: %s", rec.Body)
	}
}

// TestEngineErrorsClassified checks the mapping of evaluation errors to
// error types without going through a query.
func TestEngineErrorsClassified(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want errorType
	}{
		{promql.ErrQueryTimeout("x"), errorTimeout},
		{promql.ErrQueryCanceled("x"), errorCanceled},
		{promql.ErrStorage{Err: context.DeadlineExceeded}, errorInternal},
		{promql.ErrTooManySamples("x"), errorExec},
		{context.Canceled, errorCanceled},
	} {
		if got := queryError(tc.err).typ; got != tc.want {
			t.Errorf("%v: %s, want %s", tc.err, got, tc.want)
		}
	}
}

func TestRouteNames(t *testing.T) {
	a, _ := newTestAPI(t, nil)
	for path, want := range map[string]string{
		"/query":                 "/api/v1/query",
		"/label/job/values":      "/api/v1/label/:name/values",
		"/label/U__a_2e_/values": "/api/v1/label/:name/values",
		"/write":                 "/api/v1/write",
		"/nope/" + "x":           "/api/v1/*path",
	} {
		if got := a.Route(path); got != want {
			t.Errorf("Route(%q) = %q, want %q", path, got, want)
		}
	}
}
