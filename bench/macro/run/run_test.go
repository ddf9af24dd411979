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
