package compact

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/vigil-monitoring/vigil/internal/model/histogram"
	"github.com/vigil-monitoring/vigil/internal/model/labels"
	"github.com/vigil-monitoring/vigil/internal/model/value"
	"github.com/vigil-monitoring/vigil/internal/storage"
	"github.com/vigil-monitoring/vigil/internal/storage/storagetest"
	"github.com/vigil-monitoring/vigil/internal/tsdb/block"
	"github.com/vigil-monitoring/vigil/internal/tsdb/vfs"
)

const hour = int64(time.Hour / time.Millisecond)

func hist(i int) *histogram.Histogram {
	c := uint64(i + 1)
	return &histogram.Histogram{
		Schema: 0, ZeroThreshold: 0.001, ZeroCount: c, Count: 3 * c, Sum: float64(i),
		PositiveSpans:   []histogram.Span{{Offset: 0, Length: 2}},
		PositiveBuckets: []int64{int64(c), 0},
	}
}

// fill appends samples of n series to a MemStorage over [from, to) at a
// 15 s step; series i%4==3 hold histograms. Values depend only on the
// series and timestamp, so overlapping fills agree.
func fill(t testing.TB, ms *storagetest.MemStorage, n int, from, to int64, seriesOffset int) {
	t.Helper()
	app := ms.Appender(context.Background())
	for i := seriesOffset; i < seriesOffset+n; i++ {
		l := labels.FromStrings("__name__", fmt.Sprintf("m%d", i%3), "i", fmt.Sprint(i))
		var ref storage.SeriesRef
		var err error
		for ts := from - from%15_000; ts < to; ts += 15_000 {
			if ts < from {
				continue
			}
			switch {
			case i%4 == 3:
				ref, err = app.AppendHistogram(ref, l, ts, hist(int(ts/15_000)), nil)
			case i%7 == 5 && ts%(15_000*50) == 0:
				ref, err = app.Append(ref, l, ts, value.StaleNaN)
			default:
				ref, err = app.Append(ref, l, ts, float64(ts/1000)*float64(i%5)/4)
			}
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := app.Commit(); err != nil {
		t.Fatal(err)
	}
}

type series struct {
	lset    labels.Labels
	samples []storage.Sample
}

func selectSeries(t testing.TB, q storage.Queryable, mint, maxt int64) []series {
	t.Helper()
	qr, err := q.Querier(mint, maxt)
	if err != nil {
		t.Fatal(err)
	}
	defer qr.Close()
	set := qr.Select(context.Background(), true, nil, labels.MustNewMatcher(labels.MatchRegexp, "__name__", ".+"))
	var out []series
	var it storage.Iterator
	for set.Next() {
		it = set.At().Iterator(it)
		smps, err := storage.ExpandSamples(it)
		if err != nil {
			t.Fatalf("%s: %v", set.At().Labels(), err)
		}
		if len(smps) > 0 {
			out = append(out, series{set.At().Labels(), smps})
		}
	}
	if err := set.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func diffSeries(got, want []series) string {
	if len(got) != len(want) {
		return fmt.Sprintf("%d series, want %d", len(got), len(want))
	}
	for i := range got {
		if !labels.Equal(got[i].lset, want[i].lset) {
			return fmt.Sprintf("series %d: %s, want %s", i, got[i].lset, want[i].lset)
		}
		if !slices.EqualFunc(got[i].samples, want[i].samples, storage.SameSample) {
			return fmt.Sprintf("%s: %d samples differ from %d wanted", got[i].lset, len(got[i].samples), len(want[i].samples))
		}
	}
	return ""
}

// writeBlock writes src's samples in [mint, maxt) as a level-1 block.
func writeBlock(t testing.TB, dir string, src storage.Queryable, mint, maxt int64) string {
	t.Helper()
	c, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	q, err := src.Querier(mint, maxt-1)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	m, err := c.Write(context.Background(), dir, q, mint, maxt, nil)
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(dir, m.ULID.String())
}

func openBlock(t testing.TB, dir string) *block.Block {
	t.Helper()
	b, err := block.Open(vfs.OS(), dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// randomSeed keeps test data varied but reproducible per test.
func randomSeed(name string) *rand.Rand {
	var h uint64
	for _, c := range name {
		h = h*31 + uint64(c)
	}
	return rand.New(rand.NewPCG(h, h))
}
