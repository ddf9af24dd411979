package block

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/vigil-monitoring/vigil/internal/model/labels"
	"github.com/vigil-monitoring/vigil/internal/storage"
	"github.com/vigil-monitoring/vigil/internal/tsdb/vfs"
)

// benchSeries returns n sorted series of perSeries samples at 15 s:
// counters with two decimals and integer gauges.
func benchSeries(n, perSeries int) []storage.Series {
	rng := rand.New(rand.NewPCG(1, 1))
	out := make([]storage.Series, n)
	for i := range out {
		l := labels.FromStrings("__name__", fmt.Sprintf("metric_%02d", i%50), "instance", fmt.Sprintf("host-%04d", i/50), "job", "node")
		smps := make([]storage.Sample, perSeries)
		c := float64(rng.IntN(1e6))
		for j := range smps {
			if i%2 == 0 {
				c += float64(rng.IntN(1500))
				smps[j] = storage.Sample{T: int64(j) * 15000, F: c / 100}
			} else {
				smps[j] = storage.Sample{T: int64(j) * 15000, F: float64(rng.IntN(1e6) * 4096)}
			}
		}
		out[i] = storage.NewListSeries(l, smps)
	}
	return out
}

func BenchmarkWrite(b *testing.B) {
	series := benchSeries(10_000, 480)
	for _, cold := range []bool{false, true} {
		b.Run(fmt.Sprintf("cold=%v", cold), func(b *testing.B) {
			b.ReportAllocs()
			var m *Meta
			for b.Loop() {
				var err error
				m, err = Write(context.Background(), vfs.OS(), b.TempDir(), Meta{MinTime: 0, MaxTime: 480 * 15000},
					SeriesSetFromLabels(series), WriteOptions{ColdFloatChunks: cold})
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(m.Stats.NumSamples), "ns/sample")
		})
	}
}

func BenchmarkSelect(b *testing.B) {
	series := benchSeries(10_000, 480)
	for _, cold := range []bool{false, true} {
		dir := b.TempDir()
		m, err := Write(context.Background(), vfs.OS(), dir, Meta{MinTime: 0, MaxTime: 480 * 15000},
			SeriesSetFromLabels(series), WriteOptions{ColdFloatChunks: cold})
		if err != nil {
			b.Fatal(err)
		}
		blk, err := Open(vfs.OS(), filepath.Join(dir, m.ULID.String()))
		if err != nil {
			b.Fatal(err)
		}
		for _, tc := range []struct {
			name string
			ms   []*labels.Matcher
		}{
			{"one metric", []*labels.Matcher{labels.MustNewMatcher(labels.MatchEqual, "__name__", "metric_07")}},
			{"metric and instance regexp", []*labels.Matcher{
				labels.MustNewMatcher(labels.MatchEqual, "__name__", "metric_07"),
				labels.MustNewMatcher(labels.MatchRegexp, "instance", "host-00.*"),
			}},
		} {
			b.Run(fmt.Sprintf("cold=%v/%s", cold, tc.name), func(b *testing.B) {
				b.ReportAllocs()
				samples := 0
				for b.Loop() {
					q, _ := blk.Querier(0, 480*15000)
					var it storage.Iterator
					for set := q.Select(context.Background(), true, nil, tc.ms...); set.Next(); {
						it = set.At().Iterator(it)
						for it.Next() != storage.ValNone {
							samples++
						}
					}
					q.Close()
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(samples), "ns/sample")
			})
		}
		blk.Close()
	}
}
