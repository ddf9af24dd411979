package archtest

import "testing"

// TestRulesCatchViolations makes sure the rule table itself rejects the
// imports ARCHITECTURE.md forbids, so TestImportRules cannot pass vacuously.
func TestRulesCatchViolations(t *testing.T) {
	for _, tc := range []struct {
		from, to string
		ok       bool
	}{
		{"internal/promql", "internal/tsdb", false},
		{"internal/promql", "internal/storage", true},
		{"internal/promql", "internal/promql/parser", true},
		{"internal/promql/parser", "internal/storage", false},
		{"internal/storage", "internal/tsdb", false},
		{"internal/tsdb", "internal/tsdb/index", true},
		{"internal/tsdb", "internal/config", false},
		{"internal/tsdb/wal", "internal/storage", true},
		{"internal/rules", "internal/notifier", false},
		{"internal/scrape", "internal/tsdb", true},
		{"internal/config", "internal/discovery", true},
		{"internal/config", "internal/relabel", true},
		{"internal/relabel", "internal/config", false},
		{"internal/discovery/file", "internal/discovery", true},
		{"internal/discovery/file", "internal/discovery/dns", false},
		{"internal/discovery", "internal/discovery/file", false},
		{"internal/alertmanager/dispatch", "internal/model/labels", true},
		{"internal/alertmanager/dispatch", "internal/storage", false},
		{"internal/web/api", "internal/promql", true},
		{"internal/web/api", "internal/alertmanager/api", false},
		{"internal/model/labels", "internal/storage", false},
		{"cmd/vigil", "internal/web", true},
		{"internal/web", "cmd/vigil", false},
	} {
		from, err := classify(module + "/" + tc.from)
		if err != nil {
			t.Fatal(err)
		}
		to, err := classify(module + "/" + tc.to)
		if err != nil {
			t.Fatal(err)
		}
		if got := allowed(from, to) == ""; got != tc.ok {
			t.Errorf("%s -> %s: allowed=%v, want %v (%s)", tc.from, tc.to, got, tc.ok, allowed(from, to))
		}
	}
	if _, err := classify(module + "/internal/nowhere"); err == nil {
		t.Error("an unplaced package was given a layer")
	}
}
