package block

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/vigil-monitoring/vigil/internal/model/histogram"
	"github.com/vigil-monitoring/vigil/internal/model/labels"
	"github.com/vigil-monitoring/vigil/internal/model/value"
	"github.com/vigil-monitoring/vigil/internal/storage"
	"github.com/vigil-monitoring/vigil/internal/storage/storagetest"
)

// testHistogram is a small valid histogram varying with i.
func testHistogram(i int) *histogram.Histogram {
	c := uint64(i + 1)
	return &histogram.Histogram{
		Schema:          1,
		ZeroThreshold:   0.001,
		ZeroCount:       c,
		Count:           c + 2*c + 3*c + c + c,
		Sum:             1.5 * float64(i),
		PositiveSpans:   []histogram.Span{{Offset: 0, Length: 2}, {Offset: 1, Length: 1}},
		PositiveBuckets: []int64{int64(c), int64(c), int64(c)},
		NegativeSpans:   []histogram.Span{{Offset: -2, Length: 1}},
		NegativeBuckets: []int64{int64(c)},
	}
}

// genStorage fills a MemStorage with n series over [0, span) at a 15 s
// interval: counters, gauges, stale markers, integer and float
// histograms, and series that switch between floats and histograms.
func genStorage(t testing.TB, n int, span int64, seed uint64) *storagetest.MemStorage {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 9))
	ms := storagetest.NewMemStorage()
	app := ms.Appender(context.Background())
	for i := range n {
		l := labels.FromStrings(
			"__name__", fmt.Sprintf("metric_%d", i%7),
			"instance", fmt.Sprintf("host-%d", i/7),
			"kind", fmt.Sprint(i%5),
		)
		start := int64(rng.IntN(60_000))
		counter := float64(rng.IntN(1000))
		var ref storage.SeriesRef
		var err error
		for j, ts := 0, start; ts < span; j, ts = j+1, ts+15_000+int64(rng.IntN(3)) {
			switch i % 5 {
			case 0: // counter
				counter += float64(rng.IntN(100))
				ref, err = app.Append(ref, l, ts, counter)
			case 1: // gauge with decimals and the odd stale marker
				v := float64(rng.IntN(10000)) / 100
				if j%97 == 96 {
					v = value.StaleNaN
				}
				ref, err = app.Append(ref, l, ts, v)
			case 2: // integer histogram
				ref, err = app.AppendHistogram(ref, l, ts, testHistogram(j), nil)
			case 3: // float histogram
				ref, err = app.AppendHistogram(ref, l, ts, nil, testHistogram(j).ToFloat(nil))
			case 4: // floats and histograms alternating in runs
				if (j/50)%2 == 0 {
					ref, err = app.Append(ref, l, ts, math.Sqrt(float64(j)))
				} else {
					ref, err = app.AppendHistogram(ref, l, ts, testHistogram(j), nil)
				}
			}
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := app.Commit(); err != nil {
		t.Fatal(err)
	}
	return ms
}

type series struct {
	lset    labels.Labels
	samples []storage.Sample
}

func selectSeries(t testing.TB, q storage.Queryable, mint, maxt int64, ms ...*labels.Matcher) []series {
	t.Helper()
	qr, err := q.Querier(mint, maxt)
	if err != nil {
		t.Fatal(err)
	}
	defer qr.Close()
	if len(ms) == 0 {
		ms = []*labels.Matcher{labels.MustNewMatcher(labels.MatchRegexp, "__name__", ".+")}
	}
	set := qr.Select(context.Background(), true, nil, ms...)
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
			g, w := got[i].samples, want[i].samples
			for j := range min(len(g), len(w)) {
				if !storage.SameSample(g[j], w[j]) {
					return fmt.Sprintf("%s: sample %d: %+v, want %+v (of %d, %d)", got[i].lset, j, g[j], w[j], len(g), len(w))
				}
			}
			return fmt.Sprintf("%s: %d samples, want %d", got[i].lset, len(g), len(w))
		}
	}
	return ""
}

// selectSet returns every series of q over [mint, maxt] as a sorted set.
func selectSet(t testing.TB, q storage.Queryable, mint, maxt int64) storage.SeriesSet {
	t.Helper()
	qr, err := q.Querier(mint, maxt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { qr.Close() })
	return qr.Select(context.Background(), true, nil, labels.MustNewMatcher(labels.MatchRegexp, "__name__", ".+"))
}
