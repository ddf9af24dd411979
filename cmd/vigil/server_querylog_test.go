package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestServerQueryLog turns query_log_file on by a reload and checks that
// an API query is written as one JSON line with its origin, and that a
// reload turning it off stops the logging.
func TestServerQueryLog(t *testing.T) {
	dir := t.TempDir()
	port := freePort(t)
	cfgFile := filepath.Join(dir, "vigil.yml")
	logFile := filepath.Join(dir, "queries.log")
	if err := os.WriteFile(cfgFile, fmt.Appendf(nil, selfScrapeConfig, port), 0o644); err != nil {
		t.Fatal(err)
	}
	ts := startServer(t, "--config.file="+cfgFile, "--web.listen-address=127.0.0.1:"+port,
		"--storage.tsdb.path="+filepath.Join(dir, "data"), "--web.enable-lifecycle")

	withLog := strings.Replace(fmt.Sprintf(selfScrapeConfig, port), "global:\n", "global:\n  query_log_file: "+logFile+"\n", 1)
	if err := os.WriteFile(cfgFile, []byte(withLog), 0o644); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post(ts.base+"/-/reload", "", nil)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("reload: %v %v", resp, err)
	}
	resp.Body.Close()
	if got := metricValue(t, ts.base, "prometheus_engine_query_log_enabled"); got != "1" {
		t.Errorf("prometheus_engine_query_log_enabled = %s", got)
	}

	code, body := httpGet(ts.base + "/api/v1/query?query=" + url.QueryEscape("vector(42)") + "&time=100")
	if code != http.StatusOK {
		t.Fatalf("query: %d %s", code, body)
	}
	var entry struct {
		Params struct {
			Query string
			Start time.Time
		}
		HTTPRequest map[string]any `json:"httpRequest"`
	}
	waitFor(t, 5*time.Second, "a query log line", func() bool {
		b, _ := os.ReadFile(logFile)
		for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			if json.Unmarshal([]byte(line), &entry) == nil && entry.Params.Query == "vector(42)" {
				return true
			}
		}
		return false
	})
	if !entry.Params.Start.Equal(time.Unix(100, 0)) || entry.HTTPRequest["path"] != "/api/v1/query" || entry.HTTPRequest["clientIP"] != "127.0.0.1" {
		t.Errorf("entry = %+v", entry)
	}

	// Turning it off closes the file; later queries are not logged.
	if err := os.WriteFile(cfgFile, fmt.Appendf(nil, selfScrapeConfig, port), 0o644); err != nil {
		t.Fatal(err)
	}
	resp, err = http.Post(ts.base+"/-/reload", "", nil)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("reload: %v %v", resp, err)
	}
	resp.Body.Close()
	before, _ := os.ReadFile(logFile)
	httpGet(ts.base + "/api/v1/query?query=" + url.QueryEscape("vector(7)"))
	after, _ := os.ReadFile(logFile)
	if len(after) != len(before) {
		t.Errorf("query logged after the log was turned off:\n%s", after[len(before):])
	}
}
