package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// dashQuery is one panel of the dashboard-like query set.
type dashQuery struct {
	Name string `json:"name"`
	Expr string `json:"expr"`
}

// dashboard is what a node-exporter dashboard asks on every refresh.
var dashboard = []dashQuery{
	{"cpu_by_mode", `sum by (mode) (rate(node_cpu_seconds_total[1m]))`},
	{"mem_available", `node_memory_MemAvailable_bytes`},
	{"latency_p90", `histogram_quantile(0.9, sum by (le) (rate(http_request_duration_seconds_bucket[1m])))`},
	{"topk_net_rx", `topk(5, rate(node_network_receive_bytes_total[1m]))`},
	{"fs_used_pct", `100 * (1 - node_filesystem_avail_bytes / node_filesystem_size_bytes)`},
	{"count_by_job", `count by (job) ({__name__=~"node_.+"})`},
	{"up", `up`},
}

// result is a query answer reduced to series (by their label set) and
// points (by millisecond timestamp).
type result map[string]map[int64]float64

type apiResponse struct {
	Status string `json:"status"`
	Error  string `json:"error"`
	Data   struct {
		ResultType string          `json:"resultType"`
		Result     json.RawMessage `json:"result"`
	} `json:"data"`
}

// runQuery sends one query and returns the parsed result, the wall time
// from sending the request to reading the whole body, and the body size.
func runQuery(ctx context.Context, client *http.Client, base, expr string, at time.Time, rng, step time.Duration) (result, time.Duration, int, error) {
	v := url.Values{"query": {expr}}
	path := "/api/v1/query"
	if rng > 0 {
		path = "/api/v1/query_range"
		v.Set("start", fmtTime(at.Add(-rng)))
		v.Set("end", fmtTime(at))
		v.Set("step", strconv.FormatFloat(step.Seconds(), 'f', -1, 64))
	} else {
		v.Set("time", fmtTime(at))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+base+path+"?"+v.Encode(), nil)
	if err != nil {
		return nil, 0, 0, err
	}
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return nil, 0, 0, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	took := time.Since(start)
	if err != nil {
		return nil, took, 0, err
	}
	var ar apiResponse
	if err := json.Unmarshal(body, &ar); err != nil {
		return nil, took, len(body), fmt.Errorf("HTTP %d: %v: %.200s", resp.StatusCode, err, body)
	}
	if ar.Status != "success" {
		return nil, took, len(body), fmt.Errorf("HTTP %d: %s", resp.StatusCode, ar.Error)
	}
	res, err := parseResult(ar.Data.ResultType, ar.Data.Result)
	return res, took, len(body), err
}

func fmtTime(t time.Time) string {
	return strconv.FormatFloat(float64(t.UnixMilli())/1000, 'f', 3, 64)
}

func parseResult(typ string, raw json.RawMessage) (result, error) {
	out := result{}
	switch typ {
	case "vector", "matrix":
		var ss []struct {
			Metric map[string]string `json:"metric"`
			Value  []json.RawMessage `json:"value"`
			Values [][]json.RawMessage
		}
		if err := json.Unmarshal(raw, &ss); err != nil {
			return nil, err
		}
		for _, s := range ss {
			pts := s.Values
			if typ == "vector" {
				pts = [][]json.RawMessage{s.Value}
			}
			m := map[int64]float64{}
			for _, p := range pts {
				ts, v, err := parsePoint(p)
				if err != nil {
					return nil, err
				}
				m[ts] = v
			}
			out[labelKey(s.Metric)] = m
		}
	case "scalar":
		ts, v, err := parsePoint(mustSlice(raw))
		if err != nil {
			return nil, err
		}
		out["{}"] = map[int64]float64{ts: v}
	default:
		return nil, fmt.Errorf("unexpected result type %q", typ)
	}
	return out, nil
}

func mustSlice(raw json.RawMessage) []json.RawMessage {
	var p []json.RawMessage
	_ = json.Unmarshal(raw, &p)
	return p
}

func parsePoint(p []json.RawMessage) (int64, float64, error) {
	if len(p) != 2 {
		return 0, 0, fmt.Errorf("point %s", p)
	}
	ts, err := strconv.ParseFloat(string(p[0]), 64)
	if err != nil {
		return 0, 0, err
	}
	var s string
	if err := json.Unmarshal(p[1], &s); err != nil {
		return 0, 0, err
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, 0, err
	}
	return int64(math.Round(ts * 1000)), v, nil
}

func labelKey(m map[string]string) string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteByte('{')
	for i, n := range names {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s=%q", n, m[n])
	}
	b.WriteByte('}')
	return b.String()
}

// Agreement compares one system's answer with the reference's.
type Agreement struct {
	SeriesRef      int     `json:"series_ref"`
	Series         int     `json:"series"`
	MissingSeries  int     `json:"missing_series"`
	ExtraSeries    int     `json:"extra_series"`
	PointsRef      int     `json:"points_ref"`
	Points         int     `json:"points"`
	PointsCompared int     `json:"points_compared"`
	PointsOutside  int     `json:"points_outside_tolerance"`
	MaxRelDiff     float64 `json:"max_rel_diff"`
	Example        string  `json:"example_difference,omitempty"`
	// Agree: same series, same number of points, every compared point
	// within tolerance.
	Agree bool `json:"agree"`
}

// compare checks got against ref: relative difference at most tol, or
// absolute at most 1e-9 near zero.
func compare(ref, got result, tol float64) Agreement {
	var a Agreement
	a.SeriesRef, a.Series = len(ref), len(got)
	for k, rp := range ref {
		a.PointsRef += len(rp)
		gp, ok := got[k]
		if !ok {
			a.MissingSeries++
			if a.Example == "" {
				a.Example = "missing series " + k
			}
			continue
		}
		for ts, rv := range rp {
			gv, ok := gp[ts]
			if !ok {
				continue
			}
			a.PointsCompared++
			d := relDiff(rv, gv)
			if d > a.MaxRelDiff {
				a.MaxRelDiff = d
			}
			if d > tol && math.Abs(rv-gv) > 1e-9 {
				a.PointsOutside++
				if a.Example == "" || strings.HasPrefix(a.Example, "points") {
					a.Example = fmt.Sprintf("%s @%d: ref %g, got %g", k, ts, rv, gv)
				}
			}
		}
	}
	for k, gp := range got {
		a.Points += len(gp)
		if _, ok := ref[k]; !ok {
			a.ExtraSeries++
			if a.Example == "" {
				a.Example = "extra series " + k
			}
		}
	}
	a.Agree = a.MissingSeries == 0 && a.ExtraSeries == 0 && a.PointsOutside == 0 && a.Points == a.PointsRef
	if !a.Agree && a.Example == "" {
		a.Example = fmt.Sprintf("points: ref %d, got %d", a.PointsRef, a.Points)
	}
	return a
}

func relDiff(a, b float64) float64 {
	if a == b || (math.IsNaN(a) && math.IsNaN(b)) {
		return 0
	}
	m := math.Max(math.Abs(a), math.Abs(b))
	if m == 0 || math.IsNaN(m) {
		return math.Inf(1)
	}
	return math.Abs(a-b) / m
}

// latencyStats are the medians and p90s over the repetitions.
type latencyStats struct {
	Millis []float64 `json:"millis"`
	Median float64   `json:"median_ms"`
	P90    float64   `json:"p90_ms"`
	Bytes  int       `json:"response_bytes"`
	Errors int       `json:"errors"`
	Error  string    `json:"error,omitempty"`
}

func (l *latencyStats) finish() {
	s := append([]float64(nil), l.Millis...)
	sort.Float64s(s)
	if len(s) == 0 {
		l.Median, l.P90 = math.NaN(), math.NaN()
		return
	}
	l.Median = quantile(s, 0.5)
	l.P90 = quantile(s, 0.9)
}

// quantile interpolates linearly between closest ranks of sorted s.
func quantile(s []float64, q float64) float64 {
	if len(s) == 1 {
		return s[0]
	}
	pos := q * float64(len(s)-1)
	lo := int(math.Floor(pos))
	hi := min(lo+1, len(s)-1)
	return s[lo] + (s[hi]-s[lo])*(pos-float64(lo))
}
