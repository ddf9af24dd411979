package tsdb

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/vigil-monitoring/vigil/internal/model/labels"
	"github.com/vigil-monitoring/vigil/internal/storage"
	"github.com/vigil-monitoring/vigil/internal/tsdb/vfs"
)

// oooCrashWorkload appends in order and, to a third of the series each
// round, out of order up to most of the window back, compacting every
// crashCompact rounds, so that crashes hit commits, their out-of-order
// records, head compactions persisting buffered samples (old ranges
// included), reset markers and checkpoints.
type oooCrashWorkload struct {
	rng                *rand.Rand
	attempted, acked   map[string]map[int64]float64
	round, nSeries     int
	window             int64
	oooAccepted, total int
}

func newOOOCrashWorkload(seed uint64, window int64) *oooCrashWorkload {
	return &oooCrashWorkload{
		rng: rand.New(rand.NewPCG(seed, 5)), nSeries: 20, window: window,
		attempted: map[string]map[int64]float64{}, acked: map[string]map[int64]float64{},
	}
}

// oooValue is the value of series s at ts: repeats of a time agree.
func oooValue(s int, ts int64) float64 { return float64(s)*1e9 + float64(ts) }

func (w *oooCrashWorkload) step(db *DB) bool {
	ts := int64(w.round) * crashStep
	w.round++
	app := db.Appender(context.Background())
	type pend struct {
		k  string
		ts int64
		v  float64
	}
	var batch []pend
	for s := range w.nSeries {
		l := labels.FromStrings("__name__", "ooo", "s", fmt.Sprint(s))
		times := []int64{ts}
		if w.rng.IntN(3) == 0 && ts > w.window {
			// Off the in-order grid, so the two never share a time.
			times = append(times, ts-1-w.rng.Int64N(w.window*9/10))
		}
		for _, t := range times {
			v := oooValue(s, t)
			_, err := app.Append(0, l, t, v)
			if errors.Is(err, storage.ErrTooOldSample) {
				continue
			}
			if err != nil {
				app.Rollback()
				return false
			}
			if w.attempted[l.String()] == nil {
				w.attempted[l.String()] = map[int64]float64{}
				w.acked[l.String()] = map[int64]float64{}
			}
			w.attempted[l.String()][t] = v
			batch = append(batch, pend{l.String(), t, v})
			if t != ts {
				w.oooAccepted++
			}
		}
	}
	if err := app.Commit(); err != nil {
		return false
	}
	for _, p := range batch {
		w.acked[p.k][p.ts] = p.v
	}
	if w.round%crashCompact == 0 {
		if err := db.Compact(context.Background()); err != nil {
			return false
		}
	}
	return true
}

func (w *oooCrashWorkload) verify(t *testing.T, db *DB, what string) {
	t.Helper()
	got := dump(t, db)
	for k, ss := range got {
		for i, smp := range ss {
			if i > 0 && smp.T <= ss[i-1].T {
				t.Fatalf("%s: %s has samples out of order or twice at %d", what, k, smp.T)
			}
			if v, ok := w.attempted[k][smp.T]; !ok || v != smp.F {
				t.Fatalf("%s: %s has a sample at %d that was never appended: %v", what, k, smp.T, smp)
			}
		}
	}
	for k, byT := range w.acked {
		have := map[int64]bool{}
		for _, smp := range got[k] {
			have[smp.T] = true
		}
		for ts := range byT {
			if !have[ts] {
				t.Fatalf("%s: acknowledged sample %s@%d lost", what, k, ts)
			}
		}
	}
}

func oooCrashOptions(fsys vfs.FS) Options {
	o := crashOptions(fsys)
	o.OutOfOrderTimeWindow = (15 * time.Minute).Milliseconds() // over a block range back
	return o
}

// TestOOOCrashRecovery crashes the file system at random points of an
// out-of-order workload: after reopening, every acknowledged sample is
// there, once, and nothing that was never appended.
func TestOOOCrashRecovery(t *testing.T) {
	const rounds = 240
	probe := vfs.NewFaultFS(vfs.OS(), 0)
	db := openTestDB(t, t.TempDir(), oooCrashOptions(probe))
	w := newOOOCrashWorkload(0, oooCrashOptions(nil).OutOfOrderTimeWindow)
	for w.round < rounds {
		if !w.step(db) {
			t.Fatal("fault-free run failed")
		}
	}
	w.verify(t, db, "fault-free run")
	if w.oooAccepted < 100 || len(db.Blocks()) < 2 {
		t.Fatalf("fault-free run: %d out-of-order samples, %d blocks", w.oooAccepted, len(db.Blocks()))
	}
	db.Close()
	totalOps := probe.Ops()

	iterations := 16
	if testing.Short() || raceEnabled {
		iterations = 5
	}
	// For long runs: VIGIL_OOO_CRASH_SEEDS=500 tries seeds 1-500.
	if n, err := strconv.Atoi(os.Getenv("VIGIL_OOO_CRASH_SEEDS")); err == nil && n > 0 {
		iterations = n
	}
	for it := range iterations {
		seed := uint64(it + 1)
		dir := t.TempDir()
		ffs := vfs.NewFaultFS(vfs.OS(), seed)
		rng := rand.New(rand.NewPCG(seed, 3))
		db, err := Open(dir, oooCrashOptions(ffs))
		if err != nil {
			t.Fatal(err)
		}
		w := newOOOCrashWorkload(seed, oooCrashOptions(nil).OutOfOrderTimeWindow)
		ffs.CrashAfter(rng.IntN(totalOps))
		for w.round < rounds && !ffs.Crashed() {
			w.step(db)
		}
		db.Close()
		db2, err := Open(dir, oooCrashOptions(vfs.OS()))
		if err != nil {
			t.Fatalf("iteration %d: reopen after crash: %v", it, err)
		}
		w.verify(t, db2, fmt.Sprintf("iteration %d (crash at round %d)", it, w.round))
		for range 2 * crashCompact {
			if !w.step(db2) {
				t.Fatalf("iteration %d: appending after recovery failed", it)
			}
		}
		if err := db2.Close(); err != nil {
			t.Fatal(err)
		}
		db3, err := Open(dir, oooCrashOptions(vfs.OS()))
		if err != nil {
			t.Fatalf("iteration %d: second reopen: %v", it, err)
		}
		w.verify(t, db3, fmt.Sprintf("iteration %d, second reopen", it))
		db3.Close()
	}
}

// oooAcked is the samples a test's commits acknowledged.
type oooAcked map[string]map[int64]float64

// commit appends in one commit the samples add is called with in f:
// series s at time ts, valued oooValue(s, ts).
func (a oooAcked) commit(t *testing.T, db *DB, f func(add func(s int, ts int64))) {
	t.Helper()
	app := db.Appender(context.Background())
	var batch [][2]int64
	f(func(s int, ts int64) {
		t.Helper()
		l := labels.FromStrings("__name__", "ooo", "s", fmt.Sprint(s))
		if _, err := app.Append(0, l, ts, oooValue(s, ts)); err != nil {
			t.Fatalf("append s=%d@%d: %v", s, ts, err)
		}
		batch = append(batch, [2]int64{int64(s), ts})
	})
	if err := app.Commit(); err != nil {
		t.Fatal(err)
	}
	for _, p := range batch {
		k := labels.FromStrings("__name__", "ooo", "s", fmt.Sprint(p[0])).String()
		if a[k] == nil {
			a[k] = map[int64]float64{}
		}
		a[k][p[1]] = oooValue(int(p[0]), p[1])
	}
}

const (
	oooTruncSeries = 100
	oooTruncRounds = 96 // the head spans more than 1.5 block ranges
	oooTruncLate   = 67 // series 0-9 start here
)

// rounds appends rounds [from, to) in order, series 0-9 only from
// round oooTruncLate on.
func (a oooAcked) rounds(t *testing.T, db *DB, from, to int) {
	t.Helper()
	for r := from; r < to; r++ {
		a.commit(t, db, func(add func(int, int64)) {
			for s := range oooTruncSeries {
				if s >= 10 || r > oooTruncLate {
					add(s, int64(r)*crashStep)
				}
			}
		})
	}
}

// oooTruncationTemplate writes, through the real file system, a database
// whose next head compaction checkpoints WAL segments holding
// out-of-order records of samples the head still buffers: series 0-9
// take one at round 0 (newer than the block the compaction persists, so
// it stays in the head), and with persisted also series 10-19, whose
// samples the compaction persists (the path that logs the buffers again
// before truncating). It returns the samples acknowledged.
func oooTruncationTemplate(t *testing.T, dir string, persisted bool) oooAcked {
	t.Helper()
	db := openTestDB(t, dir, oooCrashOptions(vfs.OS()))
	defer db.Close()
	acked := oooAcked{}
	acked.commit(t, db, func(add func(int, int64)) {
		for s := range 10 {
			add(s, oooTruncLate*crashStep)
		}
	})
	acked.commit(t, db, func(add func(int, int64)) {
		for s := range 10 {
			add(s, (oooTruncLate-2)*crashStep+1+int64(s)) // out of order, off the grid
		}
	})
	acked.rounds(t, db, 0, 6)
	if persisted {
		acked.commit(t, db, func(add func(int, int64)) {
			for s := 10; s < 20; s++ {
				add(s, 2*crashStep+1+int64(s))
			}
		})
	}
	acked.rounds(t, db, 6, oooTruncRounds)
	if db.head.ooo.samples.Load() == 0 {
		t.Fatal("template: no out-of-order samples buffered")
	}
	return acked
}

// verifyOOOAcked checks that the database holds every sample of acked
// exactly once and nothing else.
func verifyOOOAcked(t *testing.T, db *DB, acked oooAcked, what string) {
	t.Helper()
	got := dump(t, db)
	for k, ss := range got {
		for i, smp := range ss {
			if i > 0 && smp.T <= ss[i-1].T {
				t.Fatalf("%s: %s has samples out of order or twice at %d", what, k, smp.T)
			}
			if v, ok := acked[k][smp.T]; !ok || v != smp.F {
				t.Fatalf("%s: %s has a sample at %d that was never appended: %v", what, k, smp.T, smp)
			}
		}
	}
	for k, byT := range acked {
		if len(got[k]) != len(byT) {
			have := map[int64]bool{}
			for _, smp := range got[k] {
				have[smp.T] = true
			}
			var missing []int64
			for ts := range byT {
				if !have[ts] {
					missing = append(missing, ts)
				}
			}
			slices.Sort(missing)
			t.Fatalf("%s: %s: %d samples, want %d; lost %v", what, k, len(got[k]), len(byT), missing)
		}
	}
}

// TestOOOCrashTruncation crashes at every mutating file system operation
// of a head compaction (block write, head truncation, WAL checkpoint,
// segment deletion, out-of-order relog) whose checkpoint covers segments
// holding out-of-order records: after reopening, every acknowledged
// sample is there exactly once, and again after more rounds, another
// compaction (with its checkpoint) and another reopening.
func TestOOOCrashTruncation(t *testing.T) {
	for _, persisted := range []bool{false, true} {
		t.Run(fmt.Sprintf("persisted=%v", persisted), func(t *testing.T) {
			tmpl := t.TempDir()
			tmplAcked := oooTruncationTemplate(t, tmpl, persisted)

			// A fault-free run counts the compaction's operations.
			dir := t.TempDir()
			if err := os.CopyFS(dir, os.DirFS(tmpl)); err != nil {
				t.Fatal(err)
			}
			probe := vfs.NewFaultFS(vfs.OS(), 0)
			db := openTestDB(t, dir, oooCrashOptions(probe))
			before := probe.Ops()
			if err := db.Compact(context.Background()); err != nil {
				t.Fatal(err)
			}
			ops := probe.Ops() - before
			if len(db.Blocks()) == 0 {
				t.Fatal("fault-free run: the compaction wrote no block")
			}
			verifyOOOAcked(t, db, tmplAcked, "fault-free run")
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}

			step := 1
			if testing.Short() || raceEnabled {
				step = 3
			}
			for k := 0; k <= ops; k += step {
				acked := oooAcked{}
				for key, byT := range tmplAcked {
					acked[key] = maps.Clone(byT)
				}
				dir := t.TempDir()
				if err := os.CopyFS(dir, os.DirFS(tmpl)); err != nil {
					t.Fatal(err)
				}
				ffs := vfs.NewFaultFS(vfs.OS(), uint64(k+1))
				db, err := Open(dir, oooCrashOptions(ffs))
				if err != nil {
					t.Fatal(err)
				}
				ffs.CrashAfter(k)
				_ = db.Compact(context.Background())
				db.Close()
				what := fmt.Sprintf("crash at operation %d of %d", k, ops)
				db2, err := Open(dir, oooCrashOptions(vfs.OS()))
				if err != nil {
					t.Fatalf("%s: reopen: %v", what, err)
				}
				verifyOOOAcked(t, db2, acked, what)
				// Enough for the next block range: another truncation,
				// whose checkpoint starts from what the crash left.
				acked.rounds(t, db2, oooTruncRounds, oooTruncRounds+60)
				if err := db2.Compact(context.Background()); err != nil {
					t.Fatalf("%s: compaction after recovery: %v", what, err)
				}
				verifyOOOAcked(t, db2, acked, what+", compacted again")
				if err := db2.Close(); err != nil {
					t.Fatal(err)
				}
				db3, err := Open(dir, oooCrashOptions(vfs.OS()))
				if err != nil {
					t.Fatalf("%s: second reopen: %v", what, err)
				}
				verifyOOOAcked(t, db3, acked, what+", second reopen")
				if err := db3.Close(); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}
