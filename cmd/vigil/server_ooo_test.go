package main

import (
	"net/http"
	"os"
	"path/filepath"
	"testing"
)

// TestServerOutOfOrderWindow: storage.tsdb.out_of_order_time_window
// reaches the database at start and on reload.
func TestServerOutOfOrderWindow(t *testing.T) {
	dir := t.TempDir()
	cfgFile := filepath.Join(dir, "vigil.yml")
	write := func(body string) {
		t.Helper()
		if err := os.WriteFile(cfgFile, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("storage:\n  tsdb:\n    out_of_order_time_window: 10m\n")
	ts := startServer(t, "--config.file="+cfgFile, "--web.listen-address=127.0.0.1:"+freePort(t),
		"--storage.tsdb.path="+filepath.Join(dir, "data"), "--web.enable-lifecycle")
	db := ts.storage.db.Load()
	if got := db.OutOfOrderTimeWindow(); got != 600_000 {
		t.Fatalf("window at start = %d ms, want 600000", got)
	}
	write("global: {}\n")
	if code, body := httpPost(ts.base + "/-/reload"); code != http.StatusOK {
		t.Fatalf("reload: %d %s", code, body)
	}
	if got := db.OutOfOrderTimeWindow(); got != 0 {
		t.Fatalf("window after reload = %d ms, want 0", got)
	}
}
