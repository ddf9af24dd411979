package tsdb

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vigil-monitoring/vigil/internal/model/labels"
	"github.com/vigil-monitoring/vigil/internal/storage"
	"github.com/vigil-monitoring/vigil/internal/tsdb/record"
	"github.com/vigil-monitoring/vigil/internal/tsdb/vfs"
	"github.com/vigil-monitoring/vigil/internal/tsdb/wal"
)

// oooOptions are testOptions with an out-of-order window and metrics.
func oooOptions(window time.Duration) (Options, *prometheus.Registry) {
	o := testOptions()
	o.OutOfOrderTimeWindow = window.Milliseconds()
	reg := prometheus.NewRegistry()
	o.Registerer = reg
	return o, reg
}

// appendOne appends and commits one float sample.
func appendOne(db *DB, lset labels.Labels, t int64, v float64) error {
	app := db.Appender(context.Background())
	if _, err := app.Append(0, lset, t, v); err != nil {
		_ = app.Rollback()
		return err
	}
	return app.Commit()
}

// want is the expected content of a database: series -> time -> value.
type want map[string]map[int64]float64

func (w want) add(lset labels.Labels, t int64, v float64) {
	k := lset.String()
	if w[k] == nil {
		w[k] = map[int64]float64{}
	}
	w[k][t] = v
}

func (w want) check(t *testing.T, db *DB) {
	t.Helper()
	got := dump(t, db)
	if len(got) != len(w) {
		t.Fatalf("%d series, want %d", len(got), len(w))
	}
	for k, exp := range w {
		ss := got[k]
		if len(ss) != len(exp) {
			t.Fatalf("series %s: %d samples, want %d: %v", k, len(ss), len(exp), ss)
		}
		for i, s := range ss {
			if i > 0 && ss[i-1].T >= s.T {
				t.Fatalf("series %s: times not increasing at %d: %v", k, i, ss)
			}
			if v, ok := exp[s.T]; !ok || v != s.F {
				t.Fatalf("series %s: sample %d:%g, want %g (present %v)", k, s.T, s.F, v, ok)
			}
		}
	}
}

func TestOOOWindowOffUnchanged(t *testing.T) {
	opts, reg := oooOptions(0)
	db := openTestDB(t, t.TempDir(), opts)
	defer db.Close()
	m := labels.FromStrings("__name__", "m")
	for _, ts := range []int64{0, hourMs, 4 * hourMs} {
		if err := appendOne(db, m, ts, 1); err != nil {
			t.Fatal(err)
		}
	}
	if err := appendOne(db, m, hourMs+1, 1); !errors.Is(err, storage.ErrOutOfOrderSample) {
		t.Fatalf("older sample: %v, want ErrOutOfOrderSample", err)
	}
	mustCompact(t, db) // persists [0, 2h)
	if err := appendOne(db, labels.FromStrings("__name__", "n"), hourMs, 1); !errors.Is(err, storage.ErrOutOfBounds) {
		t.Fatalf("sample in a persisted range: %v, want ErrOutOfBounds", err)
	}
	got := gather(t, reg)
	if got["prometheus_tsdb_out_of_order_samples_total"] != 1 || got["prometheus_tsdb_out_of_bound_samples_total"] != 1 {
		t.Errorf("rejection metrics: %v", got)
	}
	if got["prometheus_tsdb_head_out_of_order_samples_appended_total"] != 0 || got["prometheus_tsdb_too_old_samples_total"] != 0 {
		t.Errorf("out-of-order metrics moved with the window off: %v", got)
	}
}

func TestOOOAppendQueryAndRepeats(t *testing.T) {
	opts, reg := oooOptions(time.Second)
	dir := t.TempDir()
	db := openTestDB(t, dir, opts)
	defer func() { db.Close() }()
	m := labels.FromStrings("__name__", "m")
	w := want{}
	for ts := int64(1000); ts <= 2000; ts += 100 {
		if err := appendOne(db, m, ts, float64(ts)); err != nil {
			t.Fatal(err)
		}
		w.add(m, ts, float64(ts))
	}
	// The window is 1s behind the head's newest sample, 2000. At 1000,
	// a time held in order, the buffer takes the sample, and queries keep
	// the in-order value.
	for _, ts := range []int64{1050, 1000, 1950} {
		if err := appendOne(db, m, ts, -float64(ts)); err != nil {
			t.Fatalf("append %d: %v", ts, err)
		}
		if ts%100 != 0 {
			w.add(m, ts, -float64(ts))
		}
	}
	if err := appendOne(db, m, 999, 1); !errors.Is(err, storage.ErrTooOldSample) {
		t.Fatalf("behind the window: %v, want ErrTooOldSample", err)
	}
	// A repeat is a no-op; another value at a buffered time conflicts.
	if err := appendOne(db, m, 1050, -1050); err != nil {
		t.Fatalf("repeat: %v", err)
	}
	if err := appendOne(db, m, 1050, 7); !errors.Is(err, storage.ErrDuplicateSampleForTimestamp) {
		t.Fatalf("conflict: %v, want ErrDuplicateSampleForTimestamp", err)
	}
	if err := appendOne(db, m, 1100, 42); err != nil {
		t.Fatalf("out of order at an in-order time: %v", err)
	}
	// Within one batch, a series may go back in time.
	app := db.Appender(context.Background())
	for _, ts := range []int64{1975, 1925} {
		if _, err := app.Append(0, m, ts, 3); err != nil {
			t.Fatal(err)
		}
		w.add(m, ts, 3)
	}
	if err := app.Commit(); err != nil {
		t.Fatal(err)
	}
	w.check(t, db)
	got := gather(t, reg)
	if got["prometheus_tsdb_head_out_of_order_samples_appended_total"] != 6 || got["prometheus_tsdb_too_old_samples_total"] != 1 {
		t.Errorf("metrics: appended %v too old %v", got["prometheus_tsdb_head_out_of_order_samples_appended_total"], got["prometheus_tsdb_too_old_samples_total"])
	}
	// A query range that only the buffer reaches, and label queries.
	q, err := db.Querier(1040, 1060)
	if err != nil {
		t.Fatal(err)
	}
	ss := q.Select(context.Background(), true, nil, labels.MustNewMatcher(labels.MatchEqual, "__name__", "m"))
	var n int
	for ss.Next() {
		smps, err := storage.ExpandSamples(ss.At().Iterator(nil))
		if err != nil {
			t.Fatal(err)
		}
		if len(smps) != 1 || smps[0].T != 1050 {
			t.Errorf("range [1040, 1060]: %v", smps)
		}
		n++
	}
	if n != 1 {
		t.Errorf("%d series in [1040, 1060]", n)
	}
	q.Close()

	// Everything survives a restart, even with the window off.
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	opts.OutOfOrderTimeWindow = 0
	opts.Registerer = nil
	db = openTestDB(t, dir, opts)
	w.check(t, db)
	if err := appendOne(db, m, 1500, 1); !errors.Is(err, storage.ErrOutOfOrderSample) {
		t.Fatalf("window off after restart: %v", err)
	}
	db.SetOutOfOrderTimeWindow(time.Second.Milliseconds())
	if err := appendOne(db, m, 1510, 1); err != nil {
		t.Fatalf("window on again: %v", err)
	}
	w.add(m, 1510, 1)
	w.check(t, db)
}

// TestOOOSurvivesCheckpoint writes enough to checkpoint the WAL segments
// that hold the out-of-order records: the checkpoint keeps them, so a
// restart still finds them.
func TestOOOSurvivesCheckpoint(t *testing.T) {
	opts, _ := oooOptions(time.Hour)
	opts.Registerer = nil // reopened
	opts.WALSegmentSize = 32 * 1024
	dir := t.TempDir()
	db := openTestDB(t, dir, opts)
	w := want{}
	o := labels.FromStrings("__name__", "o")
	base := 10 * hourMs
	if err := appendOne(db, o, base, 1); err != nil {
		t.Fatal(err)
	}
	w.add(o, base, 1)
	for i := range 20 {
		ts := base - int64(i+1)*60_000
		if err := appendOne(db, o, ts, float64(i)); err != nil {
			t.Fatal(err)
		}
		w.add(o, ts, float64(i))
	}
	// Fill segments after the out-of-order records.
	for i := range 4000 {
		ts := base + int64(i)*1000
		app := db.Appender(context.Background())
		for s := range 10 {
			lset := labels.FromStrings("__name__", "fill", "s", fmt.Sprint(s))
			if _, err := app.Append(0, lset, ts, float64(i)); err != nil {
				t.Fatal(err)
			}
			w.add(lset, ts, float64(i))
		}
		if err := app.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Head().Truncate(base - 2*hourMs); err != nil {
		t.Fatal(err)
	}
	segs, err := wal.Segments(vfs.OS(), filepath.Join(dir, "wal"))
	if err != nil {
		t.Fatal(err)
	}
	if len(segs) == 0 || segs[0] == 0 {
		t.Fatalf("no WAL segment was checkpointed: %v", segs)
	}
	w.check(t, db)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = openTestDB(t, dir, opts)
	defer db.Close()
	w.check(t, db)
}

// TestOOODeletionSurvivesCheckpoint deletes out-of-order samples older
// than the truncation's bound, whose tombstones the checkpoint drops:
// the checkpoint must not keep the samples either, or they come back
// after a restart.
func TestOOODeletionSurvivesCheckpoint(t *testing.T) {
	opts, _ := oooOptions(time.Hour)
	opts.Registerer = nil // reopened
	opts.WALSegmentSize = 32 * 1024
	dir := t.TempDir()
	db := openTestDB(t, dir, opts)
	w := want{}
	o := labels.FromStrings("__name__", "o")
	base := 10 * hourMs
	if err := appendOne(db, o, base, 1); err != nil {
		t.Fatal(err)
	}
	w.add(o, base, 1)
	for i := range 20 {
		ts := base - int64(i+1)*60_000
		if err := appendOne(db, o, ts, float64(i)); err != nil {
			t.Fatal(err)
		}
		if i%2 == 0 {
			w.add(o, ts, float64(i))
		}
	}
	for i := 1; i < 20; i += 2 {
		ts := base - int64(i+1)*60_000
		if err := db.Delete(context.Background(), ts, ts, labels.MustNewMatcher(labels.MatchEqual, "__name__", "o")); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 4000 {
		ts := base + int64(i)*1000
		app := db.Appender(context.Background())
		for s := range 10 {
			lset := labels.FromStrings("__name__", "fill", "s", fmt.Sprint(s))
			if _, err := app.Append(0, lset, ts, float64(i)); err != nil {
				t.Fatal(err)
			}
			if ts >= base+hourMs/2 {
				w.add(lset, ts, float64(i))
			}
		}
		if err := app.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	w[o.String()] = maps.Clone(w[o.String()])
	delete(w[o.String()], base) // in order, below the truncation's bound
	if err := db.Head().Truncate(base + hourMs/2); err != nil {
		t.Fatal(err)
	}
	segs, err := wal.Segments(vfs.OS(), filepath.Join(dir, "wal"))
	if err != nil {
		t.Fatal(err)
	}
	if len(segs) == 0 || segs[0] == 0 {
		t.Fatalf("no WAL segment was checkpointed: %v", segs)
	}
	checkSubset(t, db, w)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = openTestDB(t, dir, opts)
	defer db.Close()
	checkSubset(t, db, w)
	got := dump(t, db)[o.String()]
	if len(got) != len(w[o.String()]) {
		t.Fatalf("after restart: %v, want the %d samples not deleted", got, len(w[o.String()]))
	}
}

// TestOOOCompaction persists buffered samples: those of the range being
// persisted go into its block, older ones into blocks overlapping those
// on disk, which leveled compaction merges; nothing is lost or doubled,
// and nothing comes back after a restart.
func TestOOOCompaction(t *testing.T) {
	opts, _ := oooOptions(4 * time.Hour)
	opts.Registerer = nil // reopened
	dir := t.TempDir()
	db := openTestDB(t, dir, opts)
	w := want{}
	series := []labels.Labels{labels.FromStrings("__name__", "a"), labels.FromStrings("__name__", "b")}
	add := func(lset labels.Labels, ts int64, v float64) {
		t.Helper()
		if err := appendOne(db, lset, ts, v); err != nil {
			t.Fatalf("append %s %d: %v", lset, ts, err)
		}
		w.add(lset, ts, v)
	}
	for ts := int64(0); ts <= 7*hourMs; ts += 10 * 60_000 {
		add(series[0], ts, float64(ts))
	}
	mustCompact(t, db) // blocks up to 4h
	if mv := db.Head().minValidTime.Load(); mv != 4*hourMs {
		t.Fatalf("head lower bound %d", mv)
	}
	// Below the head's lower bound (persisted ranges) and within it.
	for _, ts := range []int64{3*hourMs + 5, 3*hourMs + 7, 4*hourMs + 5, 5*hourMs + 5, 6*hourMs + 5} {
		add(series[0], ts, 1)
		add(series[1], ts, 2) // a series with only out-of-order samples
	}
	w.check(t, db)
	for ts := int64(7*hourMs + 30*60_000); ts <= 10*hourMs; ts += 10 * 60_000 {
		add(series[0], ts, float64(ts))
	}
	mustCompact(t, db)
	if n := db.Head().ooo.samples.Load(); n != 0 {
		t.Errorf("%d out-of-order samples left in the head", n)
	}
	bs := db.Blocks()
	for i := 1; i < len(bs); i++ {
		if bs[i].MinTime < bs[i-1].MaxTime {
			t.Errorf("blocks overlap after compaction: %+v and %+v", bs[i-1], bs[i])
		}
	}
	w.check(t, db)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = openTestDB(t, dir, opts)
	defer db.Close()
	w.check(t, db)
	if n := db.Head().ooo.samples.Load(); n != 0 {
		t.Errorf("%d persisted out-of-order samples replayed", n)
	}
}

// TestOOOConcurrent appends in and out of order from several goroutines
// while compactions and queries run; every acknowledged sample must be
// there at the end, also after a restart.
func TestOOOConcurrent(t *testing.T) {
	opts, _ := oooOptions(30 * time.Minute)
	opts.Registerer = nil // reopened
	opts.MinBlockDuration = time.Hour
	dir := t.TempDir()
	db := openTestDB(t, dir, opts)
	const workers = 4
	var mu sync.Mutex
	w := want{}
	stop := make(chan struct{})
	var bg sync.WaitGroup
	bg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			if err := db.Compact(context.Background()); err != nil {
				t.Error(err)
				return
			}
			dump(t, db)
		}
	})
	var wg sync.WaitGroup
	for g := range workers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(g), 1))
			own := labels.FromStrings("__name__", "own", "g", fmt.Sprint(g))
			shared := labels.FromStrings("__name__", "shared")
			for i := range 1500 {
				ts := int64(i) * 10_000
				if rng.IntN(3) == 0 {
					ts -= rng.Int64N(20 * 60_000)
				}
				app := db.Appender(context.Background())
				var acked []labels.Labels
				for _, lset := range []labels.Labels{own, shared} {
					// Values depend on series and time only, so repeats agree.
					v := float64(ts%1000) + float64(len(lset.String()))
					if _, err := app.Append(0, lset, ts, v); err == nil {
						acked = append(acked, lset)
					}
				}
				if err := app.Commit(); err != nil {
					// Part of the batch may have been applied; only a clean
					// commit tells which.
					continue
				}
				mu.Lock()
				for _, lset := range acked {
					w.add(lset, ts, float64(ts%1000)+float64(len(lset.String())))
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	close(stop)
	bg.Wait()
	mustCompact(t, db)
	checkSubset(t, db, w)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = openTestDB(t, dir, opts)
	defer db.Close()
	checkSubset(t, db, w)
}

// checkSubset checks that every sample of w is in db, once, with its
// value (db may hold samples of failed commits too).
func checkSubset(t *testing.T, db *DB, w want) {
	t.Helper()
	got := dump(t, db)
	for k, exp := range w {
		ss := got[k]
		for i := 1; i < len(ss); i++ {
			if ss[i-1].T >= ss[i].T {
				t.Fatalf("series %s: times not increasing at %d", k, i)
			}
		}
		for ts, v := range exp {
			i, ok := slices.BinarySearchFunc(ss, ts, func(s storage.Sample, t int64) int { return cmpInt64(s.T, t) })
			if !ok || ss[i].F != v {
				t.Fatalf("series %s: acknowledged sample %d:%g missing", k, ts, v)
			}
		}
	}
}

// TestCompactionSkipsEmptyRanges: after persisting the range of the
// oldest sample, the head's lower bound is its next sample, so one
// compaction step is enough however far away that is, and a sample at
// the largest time does not make compaction loop.
func TestCompactionSkipsEmptyRanges(t *testing.T) {
	opts := testOptions()
	opts.MinBlockDuration = time.Hour
	db := openTestDB(t, t.TempDir(), opts)
	defer db.Close()
	steps := 0
	db.hook = func(stage string) {
		if stage == "head-start" {
			steps++
		}
	}
	big := labels.FromStrings("__name__", "big")
	for _, ts := range []int64{0, 500 * hourMs} {
		if err := appendOne(db, big, ts, 1); err != nil {
			t.Fatal(err)
		}
	}
	mustCompact(t, db)
	if steps != 1 || db.Head().MinTime() != 500*hourMs {
		t.Fatalf("%d head compaction steps, head min time %d", steps, db.Head().MinTime())
	}
	if err := appendOne(db, big, math.MaxInt64, 1); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		mustCompact(t, db)
	}()
	select {
	case <-done:
	case <-time.After(time.Minute):
		t.Fatal("compaction with a sample at MaxInt64 does not finish")
	}
	if got := dump(t, db)[big.String()]; len(got) != 3 || got[2].T != math.MaxInt64 {
		t.Fatalf("samples %v", got)
	}
}

func TestRangeEndSaturates(t *testing.T) {
	for _, c := range []struct{ t, r, want int64 }{
		{0, 100, 100},
		{-1, 100, 0},
		{math.MinInt64, 100, math.MinInt64 + 8},
		{math.MaxInt64 - 5, 100, math.MaxInt64},
		{math.MaxInt64 - 10, 100, math.MaxInt64 - 7},
		{math.MaxInt64, 100, math.MaxInt64},
		{math.MaxInt64 - 107, 100, math.MaxInt64 - 7},
	} {
		if got := rangeEnd(c.t, c.r); got != c.want {
			t.Errorf("rangeEnd(%d, %d) = %d, want %d", c.t, c.r, got, c.want)
		}
	}
}

func TestFirstSampleAtMinInt64(t *testing.T) {
	db := openTestDB(t, t.TempDir(), testOptions())
	defer db.Close()
	for i, v := range []float64{0, 5} {
		lset := labels.FromStrings("__name__", "low", "i", fmt.Sprint(i))
		if err := appendOne(db, lset, math.MinInt64, v); err != nil {
			t.Fatal(err)
		}
		got := dump(t, db)[lset.String()]
		if len(got) != 1 || got[0].T != math.MinInt64 || got[0].F != v {
			t.Fatalf("value %g: got %v", v, got)
		}
	}
}

// TestOOOManySeries covers the querier's postings path (more series with
// out-of-order samples than oooScanMax), label queries and a snapshot.
func TestOOOManySeries(t *testing.T) {
	opts, _ := oooOptions(time.Hour)
	opts.Registerer = nil // reopened
	db := openTestDB(t, t.TempDir(), opts)
	defer db.Close()
	w := want{}
	app := db.Appender(context.Background())
	n := oooScanMax + 100
	for i := range n {
		lset := labels.FromStrings("__name__", "m", "i", fmt.Sprint(i), "odd", fmt.Sprint(i%2))
		for _, ts := range []int64{1000, 500} {
			if _, err := app.Append(0, lset, ts, float64(i)); err != nil {
				t.Fatal(err)
			}
			w.add(lset, ts, float64(i))
		}
	}
	if err := app.Commit(); err != nil {
		t.Fatal(err)
	}
	if got := db.Head().ooo.samples.Load(); got != int64(n) {
		t.Fatalf("%d out-of-order samples, want %d", got, n)
	}
	w.check(t, db)
	q, err := db.Querier(0, 600)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	ss := q.Select(context.Background(), true, nil, labels.MustNewMatcher(labels.MatchEqual, "odd", "1"))
	count := 0
	for ss.Next() {
		smps, err := storage.ExpandSamples(ss.At().Iterator(nil))
		if err != nil {
			t.Fatal(err)
		}
		if ss.At().Labels().Get("odd") != "1" || len(smps) != 1 || smps[0].T != 500 {
			t.Fatalf("%s: %v", ss.At().Labels(), smps)
		}
		count++
	}
	if count != n/2 {
		t.Fatalf("%d series, want %d", count, n/2)
	}
	vals, _, err := q.LabelValues(context.Background(), "odd", nil)
	if err != nil || !slices.Equal(vals, []string{"0", "1"}) {
		t.Fatalf("label values %v, %v", vals, err)
	}
	snap := t.TempDir()
	if err := db.Snapshot(snap, true); err != nil {
		t.Fatal(err)
	}
	sdb := openTestDB(t, snap, opts)
	defer sdb.Close()
	w.check(t, sdb)
}

// TestOOOWindowOffBeforeCommit: a sample an appender took out of order
// before a reload turned the window off is rejected at commit as without
// a window, not appended in order below the head's lower bound.
func TestOOOWindowOffBeforeCommit(t *testing.T) {
	opts, _ := oooOptions(3 * time.Hour)
	opts.Registerer = nil // reopened
	dir := t.TempDir()
	db := openTestDB(t, dir, opts)
	m := labels.FromStrings("__name__", "m")
	for _, ts := range []int64{0, 4 * hourMs} {
		if err := appendOne(db, m, ts, 1); err != nil {
			t.Fatal(err)
		}
	}
	mustCompact(t, db) // the head's lower bound is 2h now
	// Reopened, the bound comes from the blocks alone, with no compaction
	// in progress to stop commits below it.
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = openTestDB(t, dir, opts)
	defer db.Close()
	for _, c := range []struct {
		lset labels.Labels
		ts   int64
		want error
	}{
		{m, 3 * hourMs, storage.ErrOutOfOrderSample},
		{labels.FromStrings("__name__", "fresh"), hourMs + 1, storage.ErrOutOfBounds},
	} {
		db.SetOutOfOrderTimeWindow(3 * hourMs)
		app := db.Appender(context.Background())
		if _, err := app.Append(0, c.lset, c.ts, 2); err != nil {
			t.Fatalf("%s %d: %v", c.lset, c.ts, err)
		}
		db.SetOutOfOrderTimeWindow(0)
		if err := app.Commit(); !errors.Is(err, c.want) {
			t.Fatalf("%s %d: commit: %v, want %v", c.lset, c.ts, err, c.want)
		}
	}
	got := dump(t, db)
	if len(got) != 1 || len(got[m.String()]) != 2 {
		t.Fatalf("got %v", got)
	}
}

// TestOOORelogReplay replays hand-written WALs with relogs -- complete,
// split by a checkpoint's end, torn by a crash -- once from the segments
// and once from a checkpoint of the first segment plus the rest: both
// must leave the same out-of-order samples, the expected ones.
func TestOOORelogReplay(t *testing.T) {
	x := labels.FromStrings("__name__", "x")
	series := record.EncodeSeries(nil, []record.RefSeries{{Ref: 1, Labels: x}})
	ooo := func(kind wal.OOOKind, ts ...int64) []byte {
		var ss []record.RefSample
		for _, t := range ts {
			ss = append(ss, record.RefSample{Ref: 1, T: t, V: float64(t)})
		}
		return record.EncodeSamples(wal.OOOPrefix(kind), ss)
	}
	reset := []byte{byte(record.OutOfOrder)}
	for _, tc := range []struct {
		name string
		segs [][][]byte // records of segment 0, 1, ...
		want []int64
	}{
		{"complete relog", [][][]byte{
			{series, ooo(wal.OOOSamples, 10, 20), wal.OOORelogHeaderRecord(1), ooo(wal.OOORelogSamples, 20), ooo(wal.OOOSamples, 30)},
			{ooo(wal.OOOSamples, 40)},
		}, []int64{20, 30, 40}},
		{"relog across the checkpoint's end", [][][]byte{
			{series, ooo(wal.OOOSamples, 10, 20), wal.OOORelogHeaderRecord(3), ooo(wal.OOORelogSamples, 20)},
			{ooo(wal.OOORelogSamples, 30), ooo(wal.OOORelogSamples, 35), ooo(wal.OOOSamples, 40)},
		}, []int64{20, 30, 35, 40}},
		{"header at the checkpoint's end", [][][]byte{
			{series, ooo(wal.OOOSamples, 10, 20), wal.OOORelogHeaderRecord(1)},
			{ooo(wal.OOORelogSamples, 30), ooo(wal.OOOSamples, 40)},
		}, []int64{30, 40}},
		{"torn relog, then new commits", [][][]byte{
			{series, ooo(wal.OOOSamples, 10, 20), wal.OOORelogHeaderRecord(2), ooo(wal.OOORelogSamples, 20)},
			{ooo(wal.OOOSamples, 40), ooo(wal.OOOSamples, 50)},
		}, []int64{10, 20, 40, 50}},
		{"torn relog, then a complete one", [][][]byte{
			{series, ooo(wal.OOOSamples, 10, 20), wal.OOORelogHeaderRecord(2), ooo(wal.OOORelogSamples, 10)},
			{wal.OOORelogHeaderRecord(1), ooo(wal.OOORelogSamples, 20)},
		}, []int64{20}},
		{"torn relog at the end", [][][]byte{
			{series, ooo(wal.OOOSamples, 10), reset, ooo(wal.OOOSamples, 20, 30)},
			{wal.OOORelogHeaderRecord(2), ooo(wal.OOORelogSamples, 30)},
		}, []int64{20, 30}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, checkpoint := range []bool{false, true} {
				dir := t.TempDir()
				walDir := filepath.Join(dir, "wal")
				w, err := wal.Open(vfs.OS(), walDir, wal.Options{})
				if err != nil {
					t.Fatal(err)
				}
				for i, recs := range tc.segs {
					if i > 0 {
						if _, err := w.NextSegment(); err != nil {
							t.Fatal(err)
						}
					}
					if err := w.Log(recs...); err != nil {
						t.Fatal(err)
					}
				}
				if err := w.Close(); err != nil {
					t.Fatal(err)
				}
				if checkpoint {
					keep := func(storage.SeriesRef) bool { return true }
					if _, err := wal.Checkpoint(vfs.OS(), walDir, 0, 0, keep, math.MinInt64, wal.CheckpointOptions{}); err != nil {
						t.Fatal(err)
					}
					if err := vfs.OS().Remove(wal.SegmentName(walDir, 0)); err != nil {
						t.Fatal(err)
					}
				}
				opts, _ := oooOptions(time.Hour)
				db := openTestDB(t, dir, opts)
				var got []int64
				for _, s := range dump(t, db)[x.String()] {
					got = append(got, s.T)
				}
				db.Close()
				if !slices.Equal(got, tc.want) {
					t.Fatalf("checkpoint=%v: replay buffered %v, want %v", checkpoint, got, tc.want)
				}
			}
		})
	}
}
