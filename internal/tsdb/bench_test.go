package tsdb

import (
	"context"
	"fmt"
	"math"
	"testing"

	"github.com/vigil-monitoring/vigil/internal/model/labels"
	"github.com/vigil-monitoring/vigil/internal/storage"
)

// nodeLikeLabels returns label sets shaped like node-exporter series: a
// metric name, job and instance, and one or two more labels.
func nodeLikeLabels(n int) []labels.Labels {
	out := make([]labels.Labels, n)
	for i := range out {
		// Unique per i: metric i%200, cpu (i/200)%10, instance i/2000.
		out[i] = labels.FromStrings(
			"__name__", fmt.Sprintf("node_metric_%d_total", i%200),
			"cpu", fmt.Sprint((i/200)%10),
			"instance", fmt.Sprintf("host-%d.example.org:9100", i/2000),
			"job", "node",
			"mode", []string{"idle", "user", "system", "iowait"}[(i/200)%4],
		)
	}
	return out
}

// BenchmarkHeadAppend appends one scrape of 10,000 series per iteration
// with cached refs, as a scrape loop does after its first scrape.
func BenchmarkHeadAppend(b *testing.B) {
	db := openTestDB(b, b.TempDir(), DefaultOptions())
	defer db.Close()
	lsets := nodeLikeLabels(10_000)
	refs := make([]storage.SeriesRef, len(lsets))
	ts := int64(0)
	scrape := func() {
		app := db.Appender(context.Background())
		for i, l := range lsets {
			var err error
			refs[i], err = app.Append(refs[i], l, ts, float64(ts)*0.5+float64(i))
			if err != nil {
				b.Fatal(err)
			}
		}
		if err := app.Commit(); err != nil {
			b.Fatal(err)
		}
		ts += 15_000
	}
	scrape() // create the series outside the measurement
	b.ReportAllocs()
	for b.Loop() {
		scrape()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(lsets)), "ns/sample")
}

// BenchmarkHeadSelect selects 500 of 10,000 series and reads 2 h of
// samples from each.
func BenchmarkHeadSelect(b *testing.B) {
	db := openTestDB(b, b.TempDir(), DefaultOptions())
	defer db.Close()
	lsets := nodeLikeLabels(10_000)
	refs := make([]storage.SeriesRef, len(lsets))
	for step := range 480 {
		app := db.Appender(context.Background())
		for i, l := range lsets {
			refs[i], _ = app.Append(refs[i], l, int64(step)*15_000, float64(step))
		}
		if err := app.Commit(); err != nil {
			b.Fatal(err)
		}
	}
	ms := []*labels.Matcher{
		labels.MustNewMatcher(labels.MatchEqual, "__name__", "node_metric_7_total"),
		labels.MustNewMatcher(labels.MatchRegexp, "mode", "idle|user"),
	}
	b.ReportAllocs()
	var it storage.Iterator
	samples := 0
	for b.Loop() {
		q, _ := db.Querier(math.MinInt64, math.MaxInt64)
		ss := q.Select(context.Background(), true, nil, ms...)
		for ss.Next() {
			it = ss.At().Iterator(it)
			for it.Next() != storage.ValNone {
				samples++
			}
		}
		q.Close()
	}
	b.ReportMetric(float64(samples)/float64(b.N), "samples/op")
}

// BenchmarkHeadMemoryPerSeries measures heap bytes per series for 100,000
// node-exporter-like series with ten labels: after one sample, and after
// 2 h at a 15 s interval (four full chunks per series, in the head chunk
// files, and a full open chunk). TestHeadMemoryPerSeries measures other
// sizes.
func BenchmarkHeadMemoryPerSeries(b *testing.B) {
	for _, samples := range []int{1, 480} {
		b.Run(fmt.Sprintf("samples=%d", samples), func(b *testing.B) {
			for b.Loop() {
				perSeries, db := headMemoryPerSeries(b, b.TempDir(), DefaultOptions(), 100_000, samples)
				b.ReportMetric(perSeries, "heapB/series")
				db.Close()
			}
		})
	}
}

// BenchmarkWALReplay replays 10,000 series with 2 h of samples at 15 s
// (4.8 million samples).
func BenchmarkWALReplay(b *testing.B) {
	dir := b.TempDir()
	db := openTestDB(b, dir, DefaultOptions())
	lsets := nodeLikeLabels(10_000)
	refs := make([]storage.SeriesRef, len(lsets))
	for step := range 480 {
		for lo := 0; lo < len(lsets); lo += 1000 {
			app := db.Appender(context.Background())
			for i := lo; i < lo+1000; i++ {
				refs[i], _ = app.Append(refs[i], lsets[i], int64(step)*15_000, float64(step*(i%7)))
			}
			if err := app.Commit(); err != nil {
				b.Fatal(err)
			}
		}
	}
	db.Close()
	b.ReportAllocs()
	for b.Loop() {
		db := openTestDB(b, dir, DefaultOptions())
		if db.Head().NumSeries() != len(lsets) {
			b.Fatal("replay lost series")
		}
		db.Close()
	}
	b.ReportMetric(4.8e6*float64(b.N)/b.Elapsed().Seconds(), "samples/s")
}
