package main

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestMetricSum(t *testing.T) {
	text := `# HELP prometheus_tsdb_head_samples_appended_total Total number of appended samples.
prometheus_tsdb_head_samples_appended_total{type="float"} 1536
prometheus_tsdb_head_samples_appended_total{type="histogram"} 4
prometheus_tsdb_head_series 512
prometheus_tsdb_head_series_created_total 999
vm_rows_inserted_total{type="graphite"} 7
vm_rows_inserted_total{type="promscrape"} 1.5e+06
`
	for _, c := range []struct {
		name, filter string
		want         float64
	}{
		{"prometheus_tsdb_head_samples_appended_total", "", 1540},
		{"prometheus_tsdb_head_series", "", 512},
		{"vm_rows_inserted_total", `type="promscrape"`, 1.5e6},
	} {
		if got := metricSum(text, c.name, c.filter); got != c.want {
			t.Errorf("%s %s: %v, want %v", c.name, c.filter, got, c.want)
		}
	}
	if got := metricSum(text, "absent", ""); !math.IsNaN(got) {
		t.Errorf("absent metric: %v, want NaN", got)
	}
}

func TestCompare(t *testing.T) {
	ref := result{`{a="1"}`: {1000: 1, 2000: 2}, `{a="2"}`: {1000: 10}}
	if a := compare(ref, ref, 0.01); !a.Agree || a.PointsCompared != 3 {
		t.Errorf("self: %+v", a)
	}
	got := result{`{a="1"}`: {1000: 1.005, 2000: 2}, `{a="3"}`: {1000: 10}}
	a := compare(ref, got, 0.01)
	if a.Agree || a.MissingSeries != 1 || a.ExtraSeries != 1 || a.PointsOutside != 0 {
		t.Errorf("renamed series: %+v", a)
	}
	got = result{`{a="1"}`: {1000: 1.5, 2000: 2}, `{a="2"}`: {1000: 10}}
	if a := compare(ref, got, 0.01); a.Agree || a.PointsOutside != 1 || math.Abs(a.MaxRelDiff-1.0/3) > 1e-12 {
		t.Errorf("off value: %+v", a)
	}
}

func TestQuantile(t *testing.T) {
	s := []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	if q := quantile(s, 0.5); q != 5.5 {
		t.Errorf("median %v", q)
	}
	if q := quantile(s, 0.9); math.Abs(q-9.1) > 1e-12 {
		t.Errorf("p90 %v", q)
	}
}

func TestReadSelf(t *testing.T) {
	st, err := readStat(os.Getpid())
	if err != nil || st.threads < 1 || st.comm == "" {
		t.Fatalf("readStat: %+v, %v", st, err)
	}
	rss, hwm, err := readMem(os.Getpid())
	if err != nil || rss <= 0 || hwm < rss {
		t.Fatalf("readMem: rss %d hwm %d, %v", rss, hwm, err)
	}
}

func TestScrapeConfig(t *testing.T) {
	p := filepath.Join(t.TempDir(), "c.yml")
	if err := writeScrapeConfig(p, 5*time.Second, []string{"127.0.0.1:1", "127.0.0.1:2"}); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(p)
	for _, want := range []string{"scrape_interval: 5s", "scrape_timeout: 5s", "job_name: node", `- "127.0.0.1:2"`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("config lacks %q:\n%s", want, b)
		}
	}
}

// TestBlockStats: blocks are counted by meta.json, directories being
// created or deleted are skipped, and a parent still on disk next to
// its compacted child is not counted twice.
func TestBlockStats(t *testing.T) {
	dir := t.TempDir()
	write := func(name, meta string, size int) {
		t.Helper()
		if err := os.MkdirAll(filepath.Join(dir, name, "chunks"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name, "meta.json"), []byte(meta), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name, "chunks", "000001"), make([]byte, size), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("A", `{"ulid":"A","minTime":0,"maxTime":60000,"stats":{"numSamples":100},"compaction":{"level":1}}`, 5000)
	write("B", `{"ulid":"B","minTime":60000,"maxTime":120000,"stats":{"numSamples":100},"compaction":{"level":1}}`, 5000)
	write("C", `{"ulid":"C","minTime":0,"maxTime":120000,"stats":{"numSamples":200},"compaction":{"level":2,"parents":[{"ulid":"A"},{"ulid":"B"}]}}`, 9000)
	write("D", `{"ulid":"D","minTime":120000,"maxTime":180000,"stats":{"numSamples":100},"compaction":{"level":1}}`, 5000)
	write("E.tmp-for-creation", `{"ulid":"E","minTime":0,"maxTime":180000,"stats":{"numSamples":300},"compaction":{"level":2}}`, 5000)
	if err := os.MkdirAll(filepath.Join(dir, "wal"), 0o755); err != nil {
		t.Fatal(err)
	}
	bs := blockStats(dir)
	if bs.Blocks != 2 || bs.Samples != 300 || bs.Skipped != 3 || bs.MinTime != 0 || bs.MaxTime != 180000 {
		t.Fatalf("blocks %d samples %d skipped %d span %d-%d, want 2, 300, 3, 0-180000", bs.Blocks, bs.Samples, bs.Skipped, bs.MinTime, bs.MaxTime)
	}
	if bs.List[0].ULID != "C" || bs.List[1].ULID != "D" || bs.List[0].Allocated <= bs.List[1].Allocated {
		t.Errorf("list %+v", bs.List)
	}
	if got := bs.levels(); got != "L1×1 L2×1" {
		t.Errorf("levels %q", got)
	}
	if l2 := bs.sum(func(b BlockInfo) bool { return b.Level >= 2 }); l2.Blocks != 1 || l2.Samples != 200 {
		t.Errorf("level-2 sum %+v", l2)
	}
}

func TestPromDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{2 * time.Minute: "2m", 6 * time.Minute: "6m", 2 * time.Hour: "2h", 90 * time.Second: "90s", 1500 * time.Millisecond: "1500ms"} {
		if got := promDuration(d); got != want {
			t.Errorf("%v: %q, want %q", d, got, want)
		}
	}
}
