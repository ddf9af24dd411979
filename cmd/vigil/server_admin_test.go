package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestServerAdminAPI: with --web.enable-admin-api the admin endpoints
// reach the database once it is open (their effect on the data is tested
// in internal/web/api and internal/tsdb).
func TestServerAdminAPI(t *testing.T) {
	dir := t.TempDir()
	port := freePort(t)
	cfgFile := filepath.Join(dir, "vigil.yml")
	if err := os.WriteFile(cfgFile, fmt.Appendf(nil, selfScrapeConfig, port), 0o644); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "data")
	ts := startServer(t, "--config.file="+cfgFile, "--web.listen-address=127.0.0.1:"+port,
		"--storage.tsdb.path="+data, "--web.enable-admin-api")
	waitFor(t, 20*time.Second, "a scrape of itself", func() bool {
		return metricValue(t, ts.base, "prometheus_tsdb_head_series") != "0"
	})

	code, body := httpPost(ts.base + "/api/v1/admin/tsdb/snapshot")
	if code != http.StatusOK {
		t.Fatalf("snapshot: %d %s", code, body)
	}
	var snap struct {
		Data struct{ Name string } `json:"data"`
	}
	if err := json.Unmarshal([]byte(body), &snap); err != nil || snap.Data.Name == "" {
		t.Fatalf("snapshot answer %s (%v)", body, err)
	}
	ents, err := os.ReadDir(filepath.Join(data, "snapshots", snap.Data.Name))
	if err != nil || len(ents) != 1 {
		t.Fatalf("snapshot directory: %v entries, %v (want the head's block)", len(ents), err)
	}

	if code, body := httpPost(ts.base + `/api/v1/admin/tsdb/delete_series?match[]=up&end=` + fmt.Sprint(time.Now().Unix())); code != http.StatusNoContent {
		t.Fatalf("delete_series: %d %s", code, body)
	}
	if code, body := httpPost(ts.base + "/api/v1/admin/tsdb/clean_tombstones"); code != http.StatusNoContent {
		t.Fatalf("clean_tombstones: %d %s", code, body)
	}
}
