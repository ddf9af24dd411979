//go:build interop

// Interop tests of `vigil server` against real Prometheus tools from
// Debian's packages: promtool queries it, a real Prometheus federates from
// it, a Grafana-like client walks its API, and the users' first steps
// (scrape itself and a node exporter, add a job, reload, break the
// configuration) run against a real node exporter. They run with
//
//	go test -count=1 -tags interop -run Interop -v ./cmd/vigil/
//
// after .ci/install-server-interop.sh; with CI=true a missing binary fails
// them, elsewhere it skips them. The vigil binary is built once per run
// and runs as a real process; every process runs on free loopback ports,
// in its own process group and temporary directory, and is stopped (and
// checked for leftovers) at the end.
package main

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// iopInterval is the scrape interval of every configuration here.
const iopInterval = time.Second

const iopGlobal = "global:\n  scrape_interval: 1s\n  scrape_timeout: 900ms\n"

// iopTargetsLimit bounds the wait for targets: discovery hands targets over
// every 5s, as Prometheus' does, then the first scrape follows.
const iopTargetsLimit = 25 * time.Second

// iopVigil is a running vigil server.
type iopVigil struct {
	proc    *iopProc
	base    string // http://127.0.0.1:port
	addr    string // 127.0.0.1:port
	cfgPath string // absolute
}

// iopStartVigil starts the vigil binary with the configuration config
// returns for the server's own address, with --web.enable-lifecycle.
func iopStartVigil(t *testing.T, bin, name string, config func(self string) string) *iopVigil {
	t.Helper()
	v := &iopVigil{}
	p, ports := iopStart(t, name, bin, 1,
		func(dir string, ports []int) []string {
			v.addr = "127.0.0.1:" + strconv.Itoa(ports[0])
			v.cfgPath = filepath.Join(dir, "prometheus.yml")
			if err := os.WriteFile(v.cfgPath, []byte(config(v.addr)), 0o644); err != nil {
				t.Fatal(err)
			}
			return []string{
				"--config.file=" + v.cfgPath,
				"--web.listen-address=" + v.addr,
				"--storage.tsdb.path=" + filepath.Join(dir, "data"),
				"--web.enable-lifecycle",
			}
		},
		func(ports []int) error {
			return iopHTTPReady(fmt.Sprintf("http://127.0.0.1:%d/-/ready", ports[0]), "Ready")()
		})
	v.proc = p
	v.base = "http://127.0.0.1:" + strconv.Itoa(ports[0])
	return v
}

// iopStartNodeExporter starts a node exporter and returns its address.
// Extra flags (such as a smaller set of collectors) follow the defaults.
func iopStartNodeExporter(t *testing.T, name string, extra ...string) string {
	t.Helper()
	_, ports := iopStart(t, name, iopNodeExporterBin, 1,
		func(_ string, p []int) []string {
			return append([]string{
				"--web.listen-address=127.0.0.1:" + strconv.Itoa(p[0]),
				"--no-collector.systemd", // no systemd here: it would only log failures
				"--log.level=warn",
			}, extra...)
		},
		func(p []int) error {
			return iopHTTPReady(fmt.Sprintf("http://127.0.0.1:%d/metrics", p[0]), "node_load1")()
		})
	return "127.0.0.1:" + strconv.Itoa(ports[0])
}

// iopStartPrometheus starts a real Prometheus with config and returns its
// base URL.
func iopStartPrometheus(t *testing.T, config string) string {
	t.Helper()
	_, ports := iopStart(t, "prometheus", iopPrometheusBin, 1,
		func(dir string, p []int) []string {
			cfg := filepath.Join(dir, "prometheus.yml")
			if err := os.WriteFile(cfg, []byte(config), 0o644); err != nil {
				t.Fatal(err)
			}
			return []string{
				"--config.file=" + cfg,
				"--web.listen-address=127.0.0.1:" + strconv.Itoa(p[0]),
				"--storage.tsdb.path=" + filepath.Join(dir, "data"),
			}
		},
		func(p []int) error {
			return iopHTTPReady(fmt.Sprintf("http://127.0.0.1:%d/-/ready", p[0]), "Ready")()
		})
	return "http://127.0.0.1:" + strconv.Itoa(ports[0])
}

// TestInteropServer builds vigil once and runs one server, scraping
// itself (job prometheus) and a real node exporter (job node), for the
// promtool, federation and Grafana subtests; the reload subtest runs its
// own server. The subtests run in parallel.
func TestInteropServer(t *testing.T) {
	iopRequireBinaries(t, iopPrometheusBin, iopPromtoolBin, iopNodeExporterBin)
	start := time.Now()
	bin := iopBuildVigil(t, t.TempDir())
	node := iopStartNodeExporter(t, "node-exporter")
	vigil := iopStartVigil(t, bin, "vigil", func(self string) string {
		return iopGlobal + "  external_labels:\n    vigil_replica: a\n" +
			"scrape_configs:\n" +
			"  - job_name: prometheus\n    static_configs: [{targets: ['" + self + "']}]\n" +
			"  - job_name: node\n    static_configs: [{targets: ['" + node + "']}]\n"
	})
	t.Logf("vigil %s (pid %d), node exporter %s", vigil.addr, vigil.proc.pid(), node)
	want := map[string]string{"prometheus": vigil.addr, "node": node}
	t.Cleanup(func() { t.Logf("TestInteropServer: %v in all", time.Since(start).Round(time.Millisecond)) })

	t.Run("promtool", func(t *testing.T) {
		t.Parallel()
		iopWaitTargetsUp(t, vigil.base, want, iopTargetsLimit)
		iopCheckPromtool(t, vigil, node)
	})
	t.Run("federation", func(t *testing.T) {
		t.Parallel()
		iopCheckFederation(t, vigil, node)
	})
	t.Run("grafana", func(t *testing.T) {
		t.Parallel()
		iopWaitTargetsUp(t, vigil.base, want, iopTargetsLimit)
		iopCheckGrafana(t, vigil, node)
	})
	t.Run("reload", func(t *testing.T) {
		t.Parallel()
		iopCheckReload(t, bin, node)
	})
}

// iopWaitSamples waits until the series of query (a range selector over
// a window) has at least n raw samples, so range queries have data.
func iopWaitSamples(t *testing.T, base, query string, n int) []iopSample {
	t.Helper()
	var got []iopSample
	iopEventually(t, 15*time.Second, fmt.Sprintf("%d samples of %s", n, query), func() (bool, string) {
		m := iopMatrix(t, base, query, time.Now())
		if len(m) != 1 {
			return false, fmt.Sprintf("%d series", len(m))
		}
		got = m[0].Values
		return len(got) >= n, fmt.Sprintf("%d samples", len(got))
	})
	return got
}

// iopCheckPromtool runs promtool's query and check commands against vigil.
func iopCheckPromtool(t *testing.T, v *iopVigil, node string) {
	// Three samples of each target, so the range query below has data.
	iopWaitSamples(t, v.base, `up{job="node"}[1m]`, 3)
	iopWaitSamples(t, v.base, `up{job="prometheus"}[1m]`, 3)

	t.Run("query instant", func(t *testing.T) {
		// Both targets are up; a scrape failing under load makes up 0 for
		// a second, so the query is repeated until both lines say 1.
		lineREs := []*regexp.Regexp{
			regexp.MustCompile(`(?m)^up\{instance="` + regexp.QuoteMeta(v.addr) + `", job="prometheus"\} => 1 @\[\d+(\.\d+)?\]$`),
			regexp.MustCompile(`(?m)^up\{instance="` + regexp.QuoteMeta(node) + `", job="node"\} => 1 @\[\d+(\.\d+)?\]$`),
		}
		iopEventually(t, 10*time.Second, "promtool query instant up", func() (bool, string) {
			code, out := iopPromtool(t, "query", "instant", v.base, "up")
			if code != 0 {
				return false, fmt.Sprintf("exit %d:\n%s", code, out)
			}
			for _, re := range lineREs {
				if !re.MatchString(out) {
					return false, fmt.Sprintf("output lacks a line matching %s:\n%s", re, out)
				}
			}
			if n := strings.Count(out, "=>"); n != 2 {
				return false, fmt.Sprintf("%d result lines, want 2:\n%s", n, out)
			}
			return true, ""
		})

		// The JSON output goes through client_golang's decoding too.
		code, out := iopPromtool(t, "query", "instant", "-o", "json", v.base, `node_load1`)
		if code != 0 {
			t.Fatalf("-o json: exit %d:\n%s", code, out)
		}
		var res []struct {
			Metric map[string]string `json:"metric"`
			Value  iopSample         `json:"value"`
		}
		if err := json.Unmarshal([]byte(out), &res); err != nil {
			t.Fatalf("-o json output: %v:\n%s", err, out)
		}
		if len(res) != 1 || res[0].Metric["job"] != "node" || res[0].Metric["instance"] != node || res[0].Metric["__name__"] != "node_load1" || res[0].Value.V < 0 {
			t.Errorf("node_load1 as JSON: %+v", res)
		}

		// A parse error comes back as client_golang reads it: bad_data.
		code, out = iopPromtool(t, "query", "instant", v.base, "up{")
		if code == 0 || !strings.Contains(out, "bad_data") {
			t.Errorf("query 'up{': exit %d, want non-zero with bad_data:\n%s", code, out)
		}
	})

	t.Run("query range", func(t *testing.T) {
		// Whole seconds within the stored data: the range starts after
		// the first sample and ends a scrape before now. The values
		// expected are those of vigil's raw samples (a scrape may fail).
		s := iopWaitSamples(t, v.base, `up{job="node"}[1m]`, 3)
		first := time.UnixMilli(s[0].ms())
		time.Sleep(time.Until(first.Add(4 * time.Second)))
		end := time.Now().Truncate(time.Second).Add(-iopInterval)
		startT := end.Add(-2 * time.Second)
		raw := iopMatrix(t, v.base, `up{job="node"}[2m]`, end)
		if len(raw) != 1 {
			t.Fatalf("raw up{job=\"node\"}: %d series", len(raw))
		}
		want := func(step time.Duration) string {
			var w strings.Builder
			fmt.Fprintf(&w, "up{instance=%q, job=\"node\"} =>\n", node)
			for ts := startT; !ts.After(end); ts = ts.Add(step) {
				val, ok := iopValueAt(raw[0].Values, ts.UnixMilli())
				if !ok {
					t.Fatalf("no sample of up{job=\"node\"} at or before %v (first %v)", ts, first)
				}
				fmt.Fprintf(&w, "%s @[%d]\n", strconv.FormatFloat(val, 'f', -1, 64), ts.Unix())
			}
			return w.String()
		}
		code, out := iopPromtool(t, "query", "range",
			"--start="+strconv.FormatInt(startT.Unix(), 10), "--end="+strconv.FormatInt(end.Unix(), 10), "--step=1s",
			v.base, `up{job="node"}`)
		if code != 0 {
			t.Fatalf("exit %d:\n%s", code, out)
		}
		if w := want(time.Second); strings.TrimSpace(out) != strings.TrimSpace(w) {
			t.Errorf("output:\n%s\nwant:\n%s", out, w)
		}

		// RFC 3339 times and a 2s step: points at start and start+2s.
		code, out = iopPromtool(t, "query", "range",
			"--start="+startT.UTC().Format(time.RFC3339), "--end="+end.UTC().Format(time.RFC3339), "--step=2s",
			v.base, `up{job="node"}`)
		if code != 0 {
			t.Fatalf("RFC 3339: exit %d:\n%s", code, out)
		}
		if w := want(2 * time.Second); strings.TrimSpace(out) != strings.TrimSpace(w) {
			t.Errorf("RFC 3339 times, step 2s: output:\n%s\nwant:\n%s", out, w)
		}
	})

	t.Run("query series", func(t *testing.T) {
		code, out := iopPromtool(t, "query", "series", "--match=up", v.base)
		if code != 0 {
			t.Fatalf("exit %d:\n%s", code, out)
		}
		got := iopLines(out)
		want := []string{
			fmt.Sprintf(`{__name__="up", instance=%q, job="node"}`, node),
			fmt.Sprintf(`{__name__="up", instance=%q, job="prometheus"}`, v.addr),
		}
		sort.Strings(want)
		if !slices.Equal(got, want) {
			t.Errorf("series --match=up:\n%s\nwant %q", out, want)
		}

		// Several --match are a union.
		code, out = iopPromtool(t, "query", "series", `--match=up{job="node"}`, "--match=node_load1", v.base)
		if code != 0 {
			t.Fatalf("two --match: exit %d:\n%s", code, out)
		}
		got = iopLines(out)
		want = []string{
			fmt.Sprintf(`{__name__="node_load1", instance=%q, job="node"}`, node),
			fmt.Sprintf(`{__name__="up", instance=%q, job="node"}`, node),
		}
		if !slices.Equal(got, want) {
			t.Errorf("series with two --match:\n%s\nwant %q", out, want)
		}
	})

	t.Run("query labels", func(t *testing.T) {
		code, out := iopPromtool(t, "query", "labels", v.base, "job")
		if code != 0 {
			t.Fatalf("exit %d:\n%s", code, out)
		}
		if got := iopLines(out); !slices.Equal(got, []string{"node", "prometheus"}) {
			t.Errorf("labels job: %q, want [node prometheus]", got)
		}
		code, out = iopPromtool(t, "query", "labels", `--match=up{instance="`+node+`"}`, v.base, "job")
		if code != 0 {
			t.Fatalf("--match: exit %d:\n%s", code, out)
		}
		if got := iopLines(out); !slices.Equal(got, []string{"node"}) {
			t.Errorf("labels job --match=up{instance=node}: %q, want [node]", got)
		}
	})

	t.Run("check healthy and ready", func(t *testing.T) {
		// promtool gained `check healthy` and `check ready` after 2.42,
		// Debian 12's version; with an older promtool the test sends the
		// request those commands send (GET, 200 wanted) itself.
		_, help := iopPromtool(t, "check", "--help-long")
		for _, c := range []struct{ cmd, path, body string }{
			{"healthy", "/-/healthy", "Healthy"},
			{"ready", "/-/ready", "Ready"},
		} {
			if strings.Contains(help, "check "+c.cmd) {
				code, out := iopPromtool(t, "check", c.cmd, "--url="+v.base)
				if code != 0 || !strings.Contains(out, c.body) {
					t.Errorf("promtool check %s: exit %d:\n%s", c.cmd, code, out)
				}
				continue
			}
			t.Logf("promtool has no `check %s`; checking GET and HEAD %s directly", c.cmd, c.path)
			code, body, err := iopDo(http.MethodGet, v.base+c.path, nil)
			if err != nil || code != http.StatusOK || !strings.Contains(body, c.body) {
				t.Errorf("GET %s: %d %q %v", c.path, code, body, err)
			}
			code, body, err = iopDo(http.MethodHead, v.base+c.path, nil)
			if err != nil || code != http.StatusOK || body != "" {
				t.Errorf("HEAD %s: %d %q %v", c.path, code, body, err)
			}
		}
	})
}

// iopValueAt is what a query at tMs sees of samples: the newest at or
// before tMs within the default 5m lookback.
func iopValueAt(samples []iopSample, tMs int64) (float64, bool) {
	for i := len(samples) - 1; i >= 0; i-- {
		if ms := samples[i].ms(); ms <= tMs {
			return samples[i].V, tMs-ms < 5*60*1000
		}
	}
	return 0, false
}

// iopLines returns the non-empty lines of s, trimmed, sorted.
func iopLines(s string) []string {
	var out []string
	for l := range strings.SplitSeq(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	sort.Strings(out)
	return out
}

// iopCheckFederation runs a real Prometheus that federates from vigil and
// checks that it stores vigil's series with vigil's labels, timestamps
// and values.
func iopCheckFederation(t *testing.T, v *iopVigil, node string) {
	prom := iopStartPrometheus(t, iopGlobal+
		"scrape_configs:\n"+
		"  - job_name: federate\n"+
		"    honor_labels: true\n"+
		"    metrics_path: /federate\n"+
		"    params:\n"+
		"      'match[]':\n"+
		"        - '{__name__=~\"up|node_load1\"}'\n"+
		"        - '{job=\"node\",__name__=\"node_memory_MemTotal_bytes\"}'\n"+
		"    static_configs: [{targets: ['"+v.addr+"']}]\n")
	t.Logf("prometheus %s federating from vigil %s", prom, v.addr)

	// Two up series, node_load1 and node_memory_MemTotal_bytes: four
	// samples per federation scrape once vigil scrapes both targets.
	iopEventually(t, 2*iopTargetsLimit, "federation scrape of 4 samples", func() (bool, string) {
		r := iopVector(t, prom, `scrape_samples_scraped{job="federate"}`, time.Time{})
		if len(r) != 1 {
			return false, fmt.Sprintf("%d series", len(r))
		}
		return r[0].Value.V == 4, fmt.Sprintf("%v samples", r[0].Value.V)
	})

	// The federating Prometheus' own view of the federation target.
	iopEventually(t, 10*time.Second, `up{job="federate"} = 1`, func() (bool, string) {
		up := iopVector(t, prom, `up{job="federate"}`, time.Time{})
		return len(up) == 1 && up[0].Value.V == 1 && up[0].Metric["instance"] == v.addr,
			fmt.Sprintf("%+v, want one series = 1 with instance %s", up, v.addr)
	})
	for _, tg := range iopTargets(t, prom) {
		if tg.Health != "up" || tg.LastError != "" || !strings.Contains(tg.ScrapeURL, "/federate?match%5B%5D=") {
			t.Errorf("federation target in Prometheus: %+v", tg)
		}
	}

	// vigil's series arrive with vigil's labels (honor_labels keeps job
	// and instance) plus vigil's external label, and nothing is renamed
	// to exported_*.
	wantSeries := map[string]map[string]string{
		"up/node":                         {"__name__": "up", "job": "node", "instance": node, "vigil_replica": "a"},
		"up/prometheus":                   {"__name__": "up", "job": "prometheus", "instance": v.addr, "vigil_replica": "a"},
		"up/federate":                     {"__name__": "up", "job": "federate", "instance": v.addr},
		"node_load1/node":                 {"__name__": "node_load1", "job": "node", "instance": node, "vigil_replica": "a"},
		"node_memory_MemTotal_bytes/node": {"__name__": "node_memory_MemTotal_bytes", "job": "node", "instance": node, "vigil_replica": "a"},
	}
	got := iopVector(t, prom, `{__name__=~"up|node_load1|node_memory_MemTotal_bytes"}`, time.Time{})
	seen := map[string]bool{}
	for _, s := range got {
		key := s.Metric["__name__"] + "/" + s.Metric["job"]
		w, ok := wantSeries[key]
		if !ok || !iopMapsEqual(s.Metric, w) {
			t.Errorf("series in the federating Prometheus: %v, want %v", s.Metric, w)
			continue
		}
		seen[key] = true
	}
	for key := range wantSeries {
		if !seen[key] {
			t.Errorf("series %s missing in the federating Prometheus (got %d series)", key, len(got))
		}
	}

	// Federation carries vigil's sample timestamps: every node_load1
	// sample the federating Prometheus stored is one of vigil's, with the
	// same value.
	iopWaitSamples(t, prom, `node_load1[1m]`, 3)
	now := time.Now()
	fed := iopMatrix(t, prom, `node_load1[1m]`, now)
	orig := iopMatrix(t, v.base, `node_load1[2m]`, now)
	if len(fed) != 1 || len(orig) != 1 {
		t.Fatalf("node_load1: %d series federated, %d in vigil", len(fed), len(orig))
	}
	byT := map[int64]float64{}
	for _, s := range orig[0].Values {
		byT[s.ms()] = s.V
	}
	matched := 0
	for _, s := range fed[0].Values {
		ov, ok := byT[s.ms()]
		if !ok || ov != s.V {
			t.Errorf("federated node_load1 sample %v @%d: vigil has %v (present %v)", s.V, s.ms(), ov, ok)
			continue
		}
		matched++
	}
	if matched < 3 {
		t.Errorf("%d federated node_load1 samples identical to vigil's, want at least 3 (%d federated)", matched, len(fed[0].Values))
	}
	t.Logf("federation: %d series, %d node_load1 samples identical to vigil's", len(got), matched)
}

func iopMapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// iopCheckGrafana walks vigil's API the way Grafana's Prometheus data source
// does (CONTRACTS §2.1): form POSTs with a GET fallback for the resource
// calls, float seconds for query_range, milliseconds in the exemplars
// probe.
func iopCheckGrafana(t *testing.T, v *iopVigil, node string) {
	iopWaitSamples(t, v.base, `up{job="node"}[1m]`, 3)
	now := time.Now()
	start, end := strconv.FormatInt(now.Add(-time.Hour).Unix(), 10), strconv.FormatInt(now.Unix(), 10)

	t.Run("buildinfo", func(t *testing.T) {
		var bi map[string]any
		iopAPI(t, http.MethodGet, v.base, "/api/v1/status/buildinfo", nil, &bi)
		if _, ok := bi["features"]; ok {
			t.Errorf("buildinfo has a features key, which makes Grafana take the server for Mimir: %v", bi)
		}
		for _, k := range []string{"version", "revision", "branch", "buildUser", "buildDate", "goVersion"} {
			if s, ok := bi[k].(string); !ok || s == "" {
				t.Errorf("buildinfo %s = %v, want a non-empty string", k, bi[k])
			}
		}
	})

	t.Run("health check", func(t *testing.T) {
		// Grafana's health check: 1+1 at t=4, POSTed as a form.
		var d struct {
			ResultType string    `json:"resultType"`
			Result     iopSample `json:"result"`
		}
		iopAPI(t, http.MethodPost, v.base, "/api/v1/query", url.Values{"query": {"1+1"}, "time": {"4"}}, &d)
		if d.ResultType != "scalar" || d.Result.T != 4 || d.Result.V != 2 {
			t.Errorf("1+1 at 4: %+v, want scalar [4,\"2\"]", d)
		}
	})

	t.Run("labels", func(t *testing.T) {
		form := url.Values{"start": {start}, "end": {end}, "limit": {"40000"}}
		var post, get []string
		iopAPI(t, http.MethodPost, v.base, "/api/v1/labels", form, &post)
		iopAPI(t, http.MethodGet, v.base, "/api/v1/labels?"+form.Encode(), nil, &get)
		if !slices.Equal(post, get) {
			t.Errorf("labels by POST %q and by GET %q differ", post, get)
		}
		if !slices.IsSorted(post) {
			t.Errorf("labels not sorted: %q", post)
		}
		for _, l := range []string{"__name__", "instance", "job", "cpu", "mode"} {
			if !slices.Contains(post, l) {
				t.Errorf("labels lack %q: %q", l, post)
			}
		}
		// With match[], as the suggestions resource sends it.
		form.Set("match[]", `up{job="node"}`)
		iopAPI(t, http.MethodPost, v.base, "/api/v1/labels", form, &post)
		if !slices.Equal(post, []string{"__name__", "instance", "job"}) {
			t.Errorf(`labels of up{job="node"}: %q`, post)
		}
	})

	t.Run("metric names", func(t *testing.T) {
		form := url.Values{"start": {start}, "end": {end}, "limit": {"40000"}}
		var names []string
		iopAPI(t, http.MethodGet, v.base, "/api/v1/label/__name__/values?"+form.Encode(), nil, &names)
		if !slices.IsSorted(names) {
			t.Errorf("metric names not sorted")
		}
		for _, n := range []string{"up", "node_load1", "scrape_duration_seconds", "prometheus_config_last_reload_successful"} {
			if !slices.Contains(names, n) {
				t.Errorf("metric names lack %q (%d names)", n, len(names))
			}
		}
		// Grafana lists this endpoint as GET-only; a POST must answer a
		// status its fallback retries with GET (400 or 405).
		code, _, err := iopDo(http.MethodPost, v.base+"/api/v1/label/__name__/values", form)
		if err != nil || (code != http.StatusMethodNotAllowed && code != http.StatusBadRequest) {
			t.Errorf("POST label values: %d %v, want 405 or 400", code, err)
		}
	})

	t.Run("series", func(t *testing.T) {
		form := url.Values{"match[]": {"up"}, "start": {start}, "end": {end}, "limit": {"40000"}}
		var series []map[string]string
		iopAPI(t, http.MethodPost, v.base, "/api/v1/series", form, &series)
		want := []map[string]string{
			{"__name__": "up", "instance": node, "job": "node"},
			{"__name__": "up", "instance": v.addr, "job": "prometheus"},
		}
		// One match[] leaves the order to the storage, as in Prometheus.
		if len(series) == 2 && series[0]["job"] == "prometheus" {
			series[0], series[1] = series[1], series[0]
		}
		if len(series) != 2 || !iopMapsEqual(series[0], want[0]) || !iopMapsEqual(series[1], want[1]) {
			t.Errorf("series match[]=up: %v, want %v", series, want)
		}
		form.Set("match[]", `{__name__!=""}`)
		iopAPI(t, http.MethodPost, v.base, "/api/v1/series", form, &series)
		names := map[string]bool{}
		for _, s := range series {
			names[s["__name__"]] = true
		}
		if len(series) < 100 || !names["up"] || !names["node_load1"] || !names["go_goroutines"] {
			t.Errorf(`series {__name__!=""}: %d series; up %v, node_load1 %v, go_goroutines %v`, len(series), names["up"], names["node_load1"], names["go_goroutines"])
		}
	})

	t.Run("query_range", func(t *testing.T) {
		// Float seconds, start and end aligned down to the step.
		const step = 0.5
		s := iopWaitSamples(t, v.base, `up{job="node"}[1m]`, 3)
		first := float64(s[0].ms()) / 1000
		e := math.Floor(float64(time.Now().UnixMilli())/1000/step) * step
		st := math.Max(e-3, math.Ceil(first/step)*step)
		form := url.Values{
			"query": {`up{job="node"}`},
			"start": {strconv.FormatFloat(st, 'f', 3, 64)},
			"end":   {strconv.FormatFloat(e, 'f', 3, 64)},
			"step":  {strconv.FormatFloat(step, 'f', -1, 64)},
		}
		var d struct {
			ResultType string          `json:"resultType"`
			Result     []iopMatrixElem `json:"result"`
		}
		iopAPI(t, http.MethodPost, v.base, "/api/v1/query_range", form, &d)
		if d.ResultType != "matrix" || len(d.Result) != 1 || !iopMapsEqual(d.Result[0].Metric, map[string]string{"__name__": "up", "instance": node, "job": "node"}) {
			t.Fatalf("query_range: %+v", d)
		}
		var wantT []float64
		for ts := st; ts <= e+1e-9; ts += step {
			wantT = append(wantT, ts)
		}
		raw := iopMatrix(t, v.base, `up{job="node"}[2m]`, time.UnixMilli(int64(e*1000)))
		if len(raw) != 1 {
			t.Fatalf("raw up{job=\"node\"}: %d series", len(raw))
		}
		vals := d.Result[0].Values
		if len(vals) != len(wantT) {
			t.Fatalf("query_range %v: %d points, want %d: %+v", form, len(vals), len(wantT), vals)
		}
		for i, p := range vals {
			wantV, ok := iopValueAt(raw[0].Values, int64(math.Round(wantT[i]*1000)))
			if math.Abs(p.T-wantT[i]) > 1e-6 || !ok || p.V != wantV {
				t.Errorf("point %d: %+v, want [%v, %v] (sample present %v)", i, p, wantT[i], wantV, ok)
			}
		}
	})

	t.Run("metadata", func(t *testing.T) {
		var md map[string][]struct {
			Type string `json:"type"`
			Help string `json:"help"`
			Unit string `json:"unit"`
		}
		iopAPI(t, http.MethodGet, v.base, "/api/v1/metadata", nil, &md)
		for name, typ := range map[string]string{
			"node_load1":                               "gauge",
			"node_cpu_seconds_total":                   "counter",
			"prometheus_config_last_reload_successful": "gauge",
		} {
			m := md[name]
			if len(m) == 0 || m[0].Type != typ || m[0].Help == "" {
				t.Errorf("metadata %s: %+v, want type %s with help", name, m, typ)
			}
		}
	})

	t.Run("rules", func(t *testing.T) {
		var d struct {
			Groups json.RawMessage `json:"groups"`
		}
		iopAPI(t, http.MethodGet, v.base, "/api/v1/rules", nil, &d)
		var groups []json.RawMessage
		if err := json.Unmarshal(d.Groups, &groups); err != nil || groups == nil {
			t.Errorf("rules: groups %s, want a JSON array (%v)", d.Groups, err)
		}
	})

	t.Run("exemplars probe", func(t *testing.T) {
		// areExemplarsAvailable: query=test, start and end in milliseconds.
		ms := time.Now().UnixMilli()
		var d []json.RawMessage
		iopAPI(t, http.MethodPost, v.base, "/api/v1/query_exemplars", url.Values{
			"query": {"test"}, "start": {strconv.FormatInt(ms-3600_000, 10)}, "end": {strconv.FormatInt(ms, 10)},
		}, &d)
		if d == nil {
			t.Errorf("exemplars: data is not an array")
		}
	})
}

// iopCheckReload is the users' starting scenario: vigil scrapes itself and a
// node exporter, a job is added by editing the configuration and POSTing
// /-/reload (no restart, no gap), then a broken configuration is rejected
// while scraping goes on.
func iopCheckReload(t *testing.T, bin, node string) {
	// The added job's exporter runs a few collectors only, which keeps
	// the work its first scrape adds, while the old job's continuity is
	// measured, small on two shared cores.
	node2 := iopStartNodeExporter(t, "node-exporter-2", "--collector.disable-defaults", "--collector.loadavg", "--collector.meminfo", "--collector.uname")
	base := func(self string) string {
		return iopGlobal + "scrape_configs:\n" +
			"  - job_name: prometheus\n    static_configs: [{targets: ['" + self + "']}]\n" +
			"  - job_name: node\n    static_configs: [{targets: ['" + node + "']}]\n"
	}
	v := iopStartVigil(t, bin, "vigil-reload", base)
	pid := v.proc.pid()
	var rt0 struct {
		StartTime time.Time `json:"startTime"`
	}
	iopAPI(t, http.MethodGet, v.base, "/api/v1/status/runtimeinfo", nil, &rt0)

	iopWaitTargetsUp(t, v.base, map[string]string{"prometheus": v.addr, "node": node}, iopTargetsLimit)
	nl := iopVector(t, v.base, "node_load1", time.Time{})
	if len(nl) != 1 || !iopMapsEqual(nl[0].Metric, map[string]string{"__name__": "node_load1", "instance": node, "job": "node"}) || nl[0].Value.V < 0 {
		t.Fatalf("node_load1: %+v", nl)
	}
	before := iopWaitSamples(t, v.base, `up{job="node"}[1m]`, 3)
	firstMs := before[0].ms()

	// Add a job: a second node exporter.
	added := base(v.addr) + "  - job_name: node-extra\n    static_configs: [{targets: ['" + node2 + "']}]\n"
	if err := os.WriteFile(v.cfgPath, []byte(added), 0o644); err != nil {
		t.Fatal(err)
	}
	reloadAt := time.Now()
	code, body, err := iopDo(http.MethodPost, v.base+"/-/reload", nil)
	if err != nil || code != http.StatusOK {
		t.Fatalf("POST /-/reload with a job added: %d %q %v", code, body, err)
	}
	iopWaitTargetsUp(t, v.base, map[string]string{"prometheus": v.addr, "node": node, "node-extra": node2}, iopTargetsLimit)
	if ex := iopMatrix(t, v.base, `up{job="node-extra"}[1m]`, time.Now()); len(ex) == 1 {
		t.Logf("reload at %d; job node-extra's first sample at %d, up in /api/v1/targets %v after the reload",
			reloadAt.UnixMilli(), ex[0].Values[0].ms(), time.Since(reloadAt).Round(time.Millisecond))
	}
	// No restart: the process started by the test still runs, and the
	// server's start time is the one before the reload.
	if v.proc.hasExited() {
		t.Fatalf("vigil (pid %d) exited on reload: %v", pid, v.proc.waitErr)
	}
	var rt struct {
		StartTime           time.Time `json:"startTime"`
		ReloadConfigSuccess bool      `json:"reloadConfigSuccess"`
	}
	iopAPI(t, http.MethodGet, v.base, "/api/v1/status/runtimeinfo", nil, &rt)
	if !rt.StartTime.Equal(rt0.StartTime) || !rt.ReloadConfigSuccess {
		t.Errorf("runtimeinfo after the reload: %+v, start time was %v", rt, rt0.StartTime)
	}
	if ok, present := iopMetricsValue(t, v.base, "prometheus_config_last_reload_successful"); !present || ok != 1 {
		t.Errorf("prometheus_config_last_reload_successful = %v (present %v) after a good reload", ok, present)
	}

	// No gap in the old job: two more scrapes after the new job came up,
	// then one sample per interval since the first.
	time.Sleep(2 * iopInterval)
	iopCheckNoGap(t, v.base, `up{job="node"}`, firstMs, reloadAt)

	// A broken configuration: an unknown field in the node job.
	broken := iopGlobal + "scrape_configs:\n" +
		"  - job_name: prometheus\n    static_configs: [{targets: ['" + v.addr + "']}]\n" +
		"  - job_name: node\n    no_such_field: 1\n    static_configs: [{targets: ['" + node + "']}]\n"
	badLine := slices.IndexFunc(strings.Split(broken, "\n"), func(l string) bool { return strings.Contains(l, "no_such_field") }) + 1
	if err := os.WriteFile(v.cfgPath, []byte(broken), 0o644); err != nil {
		t.Fatal(err)
	}
	brokenAt := time.Now()
	code, body, err = iopDo(http.MethodPost, v.base+"/-/reload", nil)
	wantLine := fmt.Sprintf("line %d:", badLine)
	if err != nil || code != http.StatusInternalServerError || !strings.Contains(body, v.cfgPath) || !strings.Contains(body, wantLine) || !strings.Contains(body, "no_such_field") {
		t.Errorf("POST /-/reload with a broken configuration: %d %q %v; want 500 naming %s, %q and no_such_field", code, body, err, v.cfgPath, wantLine)
	}
	if ok, present := iopMetricsValue(t, v.base, "prometheus_config_last_reload_successful"); !present || ok != 0 {
		t.Errorf("/metrics: prometheus_config_last_reload_successful = %v (present %v) after a failed reload, want 0", ok, present)
	}
	// The self-scrape stores the 0, which proves scraping goes on too.
	iopEventually(t, 10*time.Second, "scraped prometheus_config_last_reload_successful = 0", func() (bool, string) {
		r := iopVector(t, v.base, `prometheus_config_last_reload_successful{job="prometheus"}`, time.Time{})
		if len(r) != 1 {
			return false, fmt.Sprintf("%d series", len(r))
		}
		return r[0].Value.V == 0, fmt.Sprintf("%v", r[0].Value.V)
	})
	iopAPI(t, http.MethodGet, v.base, "/api/v1/status/runtimeinfo", nil, &rt)
	if rt.ReloadConfigSuccess {
		t.Errorf("runtimeinfo reloadConfigSuccess = true after a failed reload")
	}

	// Scraping goes on with the configuration in force (three jobs): new
	// samples for every job after the failed reload.
	for _, job := range []string{"prometheus", "node", "node-extra"} {
		iopEventually(t, 10*time.Second, "job "+job+" scraped after the failed reload", func() (bool, string) {
			m := iopMatrix(t, v.base, fmt.Sprintf(`up{job=%q}[1m]`, job), time.Now())
			n := 0
			if len(m) == 1 {
				for _, s := range m[0].Values {
					if s.ms() > brokenAt.UnixMilli() {
						n++
					}
				}
			}
			return n >= 3, fmt.Sprintf("%d samples since the failed reload at %d", n, brokenAt.UnixMilli())
		})
	}
	iopWaitTargetsUp(t, v.base, map[string]string{"prometheus": v.addr, "node": node, "node-extra": node2}, 5*time.Second)
	// Still no gap, across the failed reload too.
	iopCheckNoGap(t, v.base, `up{job="node"}`, firstMs, reloadAt)
	if v.proc.hasExited() {
		t.Errorf("vigil (pid %d) exited: %v", pid, v.proc.waitErr)
	}
}

// iopCheckNoGap checks that series (one series) has been scraped every
// interval from firstMs on, across the reload at reloadAt:
//
//   - no stale marker: a range query every tenth of an interval has a
//     point at every step (a marker, written when a loop is stopped, would
//     empty the steps up to the next sample);
//   - one series throughout, with samples before and after the reload;
//   - no pause: count_over_time agrees with the raw samples, and at most
//     one scrape is missing between the first and the last sample. One is
//     tolerated because on a loaded machine (2 shared cores) a server can
//     stall for more than an interval; a reload that holds the loop until
//     the next discovery update (5s) or restarts it shows as a longer gap.
func iopCheckNoGap(t *testing.T, base, series string, firstMs int64, reloadAt time.Time) {
	t.Helper()
	now := time.Now()
	window := time.Duration(now.UnixMilli()-firstMs) * time.Millisecond
	m := iopMatrix(t, base, fmt.Sprintf("%s[%dms]", series, window.Milliseconds()+1), now)
	if len(m) != 1 {
		t.Fatalf("%s: %d series", series, len(m))
	}
	vals := m[0].Values
	var nBefore, nAfter int
	maxGap := time.Duration(0)
	for i, s := range vals {
		if s.ms() < reloadAt.UnixMilli() {
			nBefore++
		} else {
			nAfter++
		}
		if i > 0 {
			if g := time.Duration(s.ms()-vals[i-1].ms()) * time.Millisecond; g > maxGap {
				maxGap = g
			}
		}
	}
	if nBefore < 2 || nAfter < 2 {
		t.Fatalf("%s: %d samples before the reload, %d after; want at least 2 each", series, nBefore, nAfter)
	}
	span := time.Duration(vals[len(vals)-1].ms()-vals[0].ms()) * time.Millisecond
	expected := int(math.Round(float64(span)/float64(iopInterval))) + 1
	if maxGap >= iopInterval*5/2 || len(vals) < expected-1 {
		t.Errorf("%s: %d samples over %v (%d expected), up to %v apart (interval %v), reload at %d: %v",
			series, len(vals), span, expected, maxGap, iopInterval, reloadAt.UnixMilli(), iopTimes(vals))
		iopDumpScrapes(t, base, window)
	}
	cnt := iopVector(t, base, fmt.Sprintf("count_over_time(%s[%dms])", series, window.Milliseconds()+1), now)
	if len(cnt) != 1 || int(cnt[0].Value.V) != len(vals) {
		t.Errorf("count_over_time(%s[%v]) = %+v, want the %d raw samples", series, window, cnt, len(vals))
	}
	// A point every tenth of an interval from the first sample on.
	step := iopInterval / 10
	form := url.Values{
		"query": {series},
		"start": {strconv.FormatFloat(float64(firstMs)/1000, 'f', 3, 64)},
		"end":   {iopUnix(now)},
		"step":  {strconv.FormatFloat(step.Seconds(), 'f', -1, 64)},
	}
	var d struct {
		Result []iopMatrixElem `json:"result"`
	}
	iopAPI(t, http.MethodGet, base, "/api/v1/query_range?"+form.Encode(), nil, &d)
	wantPoints := int((now.UnixMilli()-firstMs)/step.Milliseconds()) + 1
	if len(d.Result) != 1 || len(d.Result[0].Values) != wantPoints {
		got := 0
		if len(d.Result) == 1 {
			got = len(d.Result[0].Values)
		}
		t.Errorf("range query of %s every %v since the first sample: %d points, want %d (a stale marker)", series, step, got, wantPoints)
	}
	t.Logf("%s: %d samples over %v (%d before the reload, %d expected), largest gap %v", series, len(vals), span, nBefore, expected, maxGap)
}

// iopDumpScrapes logs the raw up and scrape_duration_seconds samples of
// the last window, to tell a stalled loop from a stalled server.
func iopDumpScrapes(t *testing.T, base string, window time.Duration) {
	t.Helper()
	now := time.Now()
	for _, q := range []string{`up[%dms]`, `scrape_duration_seconds[%dms]`} {
		for _, m := range iopMatrix(t, base, fmt.Sprintf(q, window.Milliseconds()+1), now) {
			t.Logf("  %s{job=%q} at %d: %v", m.Metric["__name__"], m.Metric["job"], now.UnixMilli(), m.Values)
		}
	}
}

func iopTimes(s []iopSample) []int64 {
	out := make([]int64, len(s))
	for i, x := range s {
		out[i] = x.ms()
	}
	return out
}
