package tsdb

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/vigil-monitoring/vigil/internal/model/labels"
	"github.com/vigil-monitoring/vigil/internal/model/value"
	"github.com/vigil-monitoring/vigil/internal/storage"
)

// readTestSamples returns n samples whose encodings vary in size (equal,
// small and random values; regular and jittered intervals), so that the
// open chunk's final byte is often partly filled when it is read.
func readTestSamples(rng *rand.Rand, n int) []storage.Sample {
	out := make([]storage.Sample, n)
	t, v := int64(1000), 0.0
	for i := range out {
		switch rng.IntN(4) {
		case 0: // same interval
		case 1:
			t += int64(rng.IntN(50))
		case 2:
			t += int64(rng.IntN(1 << 20))
		}
		t += 1000
		switch rng.IntN(5) {
		case 0: // unchanged
		case 1:
			v++
		case 2:
			v = rng.NormFloat64() * 1e6
		case 3:
			v = value.StaleNaN
		default:
			v = float64(rng.IntN(100))
		}
		out[i] = storage.Sample{T: t, F: v}
	}
	return out
}

// TestQueryWhileAppending reads series while their open chunks are being
// appended to, holding the series of each Select until after later
// appends. Every read must be a prefix of what was appended, at least as
// long as what was committed before the querier opened. Under -race it
// also checks that readers share the open chunks' bytes safely.
func TestQueryWhileAppending(t *testing.T) {
	db := openTestDB(t, t.TempDir(), testOptions())
	defer db.Close()
	const nSeries = 4
	n := 1500
	if raceEnabled {
		n = 600
	}
	rng := rand.New(rand.NewPCG(1, 2))
	want := make([][]storage.Sample, nSeries)
	lsets := make([]labels.Labels, nSeries)
	for s := range want {
		want[s] = readTestSamples(rng, n)
		lsets[s] = labels.FromStrings("__name__", "x", "s", fmt.Sprint(s))
	}
	var committed atomic.Int64 // samples per series committed
	var reads atomic.Int64
	var stop atomic.Bool // set when the reader is done
	var wg sync.WaitGroup
	defer wg.Wait()
	defer stop.Store(true)
	var done atomic.Bool // the appender returned
	wg.Go(func() {
		defer done.Store(true)
		for i := range n {
			if stop.Load() {
				return
			}
			app := db.Appender(context.Background())
			for s := range want {
				if _, err := app.Append(0, lsets[s], want[s][i].T, want[s][i].F); err != nil {
					t.Error(err)
					return
				}
			}
			if err := app.Commit(); err != nil {
				t.Error(err)
				return
			}
			committed.Store(int64(i + 1))
			// Let the reader in between commits, so that most reads
			// overlap appends.
			for reads.Load() < int64(i) && !stop.Load() {
				runtime.Gosched()
			}
		}
	})
	sameAt := func(a, b storage.Sample) bool {
		return a.T == b.T && math.Float64bits(a.F) == math.Float64bits(b.F)
	}
	check := func(round int, lset labels.Labels, got []storage.Sample, atLeast int64, mint, maxt int64) error {
		var s int
		if _, err := fmt.Sscan(lset.Get("s"), &s); err != nil {
			return err
		}
		var exp []storage.Sample
		for _, x := range want[s] {
			if x.T >= mint && x.T <= maxt {
				exp = append(exp, x)
			}
		}
		if len(got) > len(exp) {
			return fmt.Errorf("round %d series %d: %d samples, only %d appended", round, s, len(got), len(exp))
		}
		for i := range got {
			if !sameAt(got[i], exp[i]) {
				return fmt.Errorf("round %d series %d sample %d: got %v, want %v", round, s, i, got[i], exp[i])
			}
		}
		if atLeast > 0 && mint == math.MinInt64 && int64(len(got)) < atLeast {
			return fmt.Errorf("round %d series %d: %d samples, %d were committed before the query", round, s, len(got), atLeast)
		}
		if atLeast > 0 && maxt < want[s][atLeast-1].T && len(got) != len(exp) {
			// A window inside what was committed: all of it is seen.
			return fmt.Errorf("round %d series %d: %d samples in [%d, %d], want %d", round, s, len(got), mint, maxt, len(exp))
		}
		return nil
	}
	for r := 0; !done.Load(); r++ {
		before := committed.Load()
		mint, maxt := int64(math.MinInt64), int64(math.MaxInt64)
		switch {
		case r%4 == 3 && before > 4:
			// A window in the middle, starting and ending inside
			// full chunks: reads start at the first chunk in range.
			mint, maxt = want[0][before/3].T, want[0][before*2/3].T
		case r%2 == 1 && before > 0:
			// A window at the end, as an instant query reads.
			last := want[0][before-1].T
			mint, maxt = last-30_000, last+5_000
		}
		q, err := db.Querier(mint, maxt)
		if err != nil {
			t.Fatal(err)
		}
		set := q.Select(context.Background(), false, nil, labels.MustNewMatcher(labels.MatchEqual, "__name__", "x"))
		var series []storage.Series
		// Every third round reads each series in its own goroutine as
		// soon as Next returns it, while the set moves on.
		var readers sync.WaitGroup
		errs := make(chan error, nSeries)
		for set.Next() {
			sr := set.At()
			if r%3 == 2 {
				readers.Go(func() {
					got, err := storage.ExpandSamples(sr.Iterator(nil))
					if err == nil {
						err = check(r, sr.Labels(), got, before, mint, maxt)
					}
					errs <- err
				})
				continue
			}
			series = append(series, sr)
		}
		if err := set.Err(); err != nil {
			t.Fatal(err)
		}
		readers.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		var it storage.Iterator
		for _, sr := range series {
			it = sr.Iterator(it)
			got, err := storage.ExpandSamples(it)
			if err != nil {
				t.Fatal(err)
			}
			if err := check(r, sr.Labels(), got, before, mint, maxt); err != nil {
				t.Fatal(err)
			}
		}
		q.Close()
		reads.Add(1)
	}
	if r := reads.Load(); r < int64(n/2) {
		t.Fatalf("only %d reads overlapped the %d commits", r, n)
	}
}

// TestLatestFloat checks LatestFloat against the iterator: for every
// series that answers, the answer is the last sample at or before maxt
// that the iterator returns. The data has float series with staleness
// markers and a cut chunk, a histogram series, a series turning from
// histograms to floats, a deleted range over a newest sample, and
// out-of-order samples (which put another querier in front of the head).
func TestLatestFloat(t *testing.T) {
	for _, ooo := range []bool{false, true} {
		t.Run(fmt.Sprintf("ooo=%v", ooo), func(t *testing.T) {
			opts := testOptions()
			if ooo {
				opts.OutOfOrderTimeWindow = 1 << 40
			}
			db := openTestDB(t, t.TempDir(), opts)
			defer db.Close()
			rng := rand.New(rand.NewPCG(3, 4))
			app := db.Appender(context.Background())
			lset := func(name string) labels.Labels { return labels.FromStrings("__name__", "x", "s", name) }
			for i, smp := range readTestSamples(rng, 300) {
				if _, err := app.Append(0, lset("floats"), smp.T, smp.F); err != nil {
					t.Fatal(err)
				}
				if _, err := app.Append(0, lset("deleted"), int64(i)*1000, float64(i)); err != nil {
					t.Fatal(err)
				}
				if _, err := app.AppendHistogram(0, lset("hist"), int64(i)*1000, testHist(i+1), nil); err != nil {
					t.Fatal(err)
				}
				var err error
				if i < 150 {
					_, err = app.AppendHistogram(0, lset("mixed"), int64(i)*1000, testHist(i+1), nil)
				} else {
					_, err = app.Append(0, lset("mixed"), int64(i)*1000, float64(i))
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			if err := app.Commit(); err != nil {
				t.Fatal(err)
			}
			if ooo {
				app := db.Appender(context.Background())
				if _, err := app.Append(0, lset("deleted"), 150_500, -1); err != nil {
					t.Fatal(err)
				}
				if err := app.Commit(); err != nil {
					t.Fatal(err)
				}
			}
			if err := db.Delete(context.Background(), 290_000, 299_000, labels.MustNewMatcher(labels.MatchEqual, "s", "deleted")); err != nil {
				t.Fatal(err)
			}
			answered := 0
			for _, rngs := range [][2]int64{{math.MinInt64, math.MaxInt64}, {0, 299_000}, {250_000, 400_000}, {298_000, 299_000}, {100_000, 200_000}} {
				q, err := db.Querier(rngs[0], rngs[1])
				if err != nil {
					t.Fatal(err)
				}
				set := q.Select(context.Background(), false, nil, labels.MustNewMatcher(labels.MatchEqual, "__name__", "x"))
				for set.Next() {
					s := set.At()
					ls, ok := s.(storage.LatestFloatSeries)
					if !ok {
						continue
					}
					all, err := storage.ExpandSamples(s.Iterator(nil))
					if err != nil {
						t.Fatal(err)
					}
					for _, maxt := range []int64{math.MaxInt64, 299_000, 298_500, 200_000, 0, -1} {
						lt, lf, ok := ls.LatestFloat(maxt)
						if !ok {
							continue
						}
						answered++
						var want *storage.Sample
						for i := range all {
							if all[i].T <= maxt {
								want = &all[i]
							}
						}
						if want == nil || want.H != nil || want.FH != nil || want.T != lt || math.Float64bits(want.F) != math.Float64bits(lf) {
							t.Fatalf("%s over %v, maxt %d: LatestFloat %d %v, the iterator's latest is %v", s.Labels(), rngs, maxt, lt, lf, want)
						}
					}
				}
				if err := set.Err(); err != nil {
					t.Fatal(err)
				}
				q.Close()
			}
			if !ooo && answered == 0 {
				t.Fatal("no series answered LatestFloat")
			}
		})
	}
}
