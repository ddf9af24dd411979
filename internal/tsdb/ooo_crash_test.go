package tsdb

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
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
