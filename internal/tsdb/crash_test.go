package tsdb

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"

	"github.com/vigil-monitoring/vigil/internal/model/labels"
	"github.com/vigil-monitoring/vigil/internal/storage"
	"github.com/vigil-monitoring/vigil/internal/tsdb/vfs"
	"github.com/vigil-monitoring/vigil/internal/tsdb/wal"
)

// crashWorkload drives a DB the way a scraper does and records what was
// acknowledged. It stops at the first error caused by the simulated
// crash.
type crashWorkload struct {
	rng *rand.Rand
	// attempted holds every sample ever appended (acknowledged or not),
	// acked those whose Commit returned nil; both keyed by series then time.
	attempted map[string]map[int64]storage.Sample
	acked     map[string]map[int64]storage.Sample
	// mint is the highest truncation point attempted: older samples may
	// legitimately be gone.
	mint  int64
	round int
}

const (
	crashSeries   = 150
	crashStep     = 10_000
	crashTruncate = 100 // rounds between truncations
)

func newCrashWorkload(seed uint64) *crashWorkload {
	return &crashWorkload{
		rng:       rand.New(rand.NewPCG(seed, 99)),
		attempted: map[string]map[int64]storage.Sample{},
		acked:     map[string]map[int64]storage.Sample{},
		mint:      math.MinInt64,
	}
}

func crashLabels(s int) labels.Labels {
	if s == crashSeries {
		return labels.FromStrings("__name__", "crash_hist")
	}
	return labels.FromStrings("__name__", "crash", "s", fmt.Sprint(s))
}

// sampleFor is the deterministic value of series s at time ts.
func sampleFor(s int, ts int64) storage.Sample {
	if s == crashSeries {
		return storage.Sample{T: ts, H: testHist(int(ts/crashStep) + 1)}
	}
	return storage.Sample{T: ts, F: float64(s)*1e6 + float64(ts)/crashStep}
}

func note(m map[string]map[int64]storage.Sample, k string, smp storage.Sample) {
	if m[k] == nil {
		m[k] = map[int64]storage.Sample{}
	}
	m[k][smp.T] = smp
}

// step runs one round: one commit of a sample per series (some rounds
// skip series), and every crashTruncate rounds a truncation with its
// checkpoint. It returns false once the DB stops working.
func (w *crashWorkload) step(db *DB, beforeTruncate func()) bool {
	w.round++
	ts := int64(w.round) * crashStep
	app := db.Appender(context.Background())
	type pend struct {
		k   string
		smp storage.Sample
	}
	var batch []pend
	for s := 0; s <= crashSeries; s++ {
		if w.rng.IntN(10) == 0 {
			continue
		}
		l := crashLabels(s)
		smp := sampleFor(s, ts)
		var err error
		if smp.H != nil {
			_, err = app.AppendHistogram(0, l, ts, smp.H, nil)
		} else {
			_, err = app.Append(0, l, ts, smp.F)
		}
		if err != nil {
			app.Rollback()
			return false
		}
		batch = append(batch, pend{l.String(), smp})
		note(w.attempted, l.String(), smp)
	}
	if err := app.Commit(); err != nil {
		return false
	}
	for _, p := range batch {
		note(w.acked, p.k, p.smp)
	}
	if w.round%crashTruncate == 0 {
		mint := ts - 80*crashStep
		w.mint = max(w.mint, mint)
		beforeTruncate()
		if err := db.Truncate(mint); err != nil {
			return false
		}
	}
	return true
}

// verify checks a reopened DB: every acknowledged sample at or after the
// last truncation point is present, exactly once; nothing is present that
// was never appended.
func (w *crashWorkload) verify(t *testing.T, db *DB, what string) {
	t.Helper()
	got := dump(t, db)
	for k, ss := range got {
		for i, smp := range ss {
			if i > 0 && smp.T <= ss[i-1].T {
				t.Fatalf("%s: %s has samples out of order or twice at %d", what, k, smp.T)
			}
			want, ok := w.attempted[k][smp.T]
			if !ok || !storage.SameSample(smp, want) {
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
			if ts >= w.mint && !have[ts] {
				t.Fatalf("%s: acknowledged sample %s@%d lost (truncation point %d)", what, k, ts, w.mint)
			}
		}
	}
}

func crashOptions(fsys vfs.FS) Options {
	o := testOptions()
	o.FS = fsys
	// Small uncompressed segments, so the workload spans many segments
	// and every truncation writes a checkpoint.
	o.WALSegmentSize = 32 * 1024
	o.WALCompression = wal.CompressionNone
	// Small head chunk files and buffer, so that chunks are written,
	// files sealed and new ones created many times.
	o.HeadChunksFileSize = 8 << 10
	o.HeadChunksWriteBufferSize = 1 << 10
	return o
}

// chunkCrashFS wraps the FaultFS of a crash test and makes it crash at
// the target-th mutating operation on a head chunk file (creating,
// writing, syncing, cutting or deleting one): a crash in the middle of
// writing a chunk. It only counts when target is 0.
type chunkCrashFS struct {
	vfs.FS
	ffs *vfs.FaultFS
	mu  struct {
		sync.Mutex
		n, target int
	}
}

func newChunkCrashFS(ffs *vfs.FaultFS, target int) *chunkCrashFS {
	c := &chunkCrashFS{FS: ffs, ffs: ffs}
	c.mu.target = target
	return c
}

func (c *chunkCrashFS) ops() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.mu.n
}

// hit counts an operation on name and arms the crash for it when it is
// the target: CrashAfter(0) makes the next operation, this one, crash.
func (c *chunkCrashFS) hit(name string) {
	if !strings.Contains(name, "chunks_head") {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.mu.n++
	if c.mu.n == c.mu.target {
		c.ffs.CrashAfter(0)
	}
}

func (c *chunkCrashFS) Create(name string) (vfs.File, error) {
	c.hit(name)
	f, err := c.FS.Create(name)
	if err != nil {
		return nil, err
	}
	return &chunkCrashFile{File: f, c: c}, nil
}

func (c *chunkCrashFS) Remove(name string) error {
	c.hit(name)
	return c.FS.Remove(name)
}

func (c *chunkCrashFS) Truncate(name string, size int64) error {
	c.hit(name)
	return c.FS.Truncate(name, size)
}

func (c *chunkCrashFS) SyncDir(name string) error {
	c.hit(name)
	return c.FS.SyncDir(name)
}

type chunkCrashFile struct {
	vfs.File
	c *chunkCrashFS
}

func (f *chunkCrashFile) Write(p []byte) (int, error) {
	f.c.hit(f.Name())
	return f.File.Write(p)
}

func (f *chunkCrashFile) Sync() error {
	f.c.hit(f.Name())
	return f.File.Sync()
}

// TestCrashRecovery crashes the file system at random points while
// appending, while checkpointing and while writing head chunk files
// (every mutating operation is a candidate), then reopens the directory
// as a new process would: every sample whose Commit returned must be
// there exactly once.
func TestCrashRecovery(t *testing.T) {
	const rounds = 400
	// A fault-free run counts the operations so crash points cover the
	// whole workload.
	probe := vfs.NewFaultFS(vfs.OS(), 0)
	probeChunks := newChunkCrashFS(probe, 0)
	db := openTestDB(t, t.TempDir(), crashOptions(probeChunks))
	w := newCrashWorkload(0)
	// truncateOps holds the operation count each truncation starts at, and
	// checkpointOps how many operations it performed.
	var truncateOps, checkpointOps []int
	for w.round < rounds {
		before := len(truncateOps)
		if !w.step(db, func() { truncateOps = append(truncateOps, probe.Ops()) }) {
			t.Fatal("fault-free run failed")
		}
		if len(truncateOps) > before {
			checkpointOps = append(checkpointOps, probe.Ops()-truncateOps[before])
		}
	}
	db.Close()
	totalOps, chunkOps := probe.Ops(), probeChunks.ops()
	t.Logf("fault-free run: %d mutating operations (%d on head chunk files), truncations at ops %v taking %v operations",
		totalOps, chunkOps, truncateOps, checkpointOps)
	if len(truncateOps) == 0 {
		t.Fatal("workload never truncated")
	}
	if chunkOps < 50 {
		t.Fatalf("only %d operations on head chunk files: too few to crash in", chunkOps)
	}
	for i, n := range checkpointOps {
		if n < 5 {
			t.Fatalf("truncation %d performed %d operations: no checkpoint to crash in", i, n)
		}
	}

	iterations := 60
	if testing.Short() {
		iterations = 15
	}
	crashedInCheckpoint, crashedInChunks := 0, 0
	for it := range iterations {
		seed := uint64(it + 1)
		dir := t.TempDir()
		ffs := vfs.NewFaultFS(vfs.OS(), seed)
		rng := rand.New(rand.NewPCG(seed, 7))
		// Iterations take turns: a crash anywhere, in a checkpoint, in a
		// head chunk file operation.
		inCheckpoint, inChunks := it%3 == 1, it%3 == 2
		target := 0
		if inChunks {
			target = 1 + rng.IntN(chunkOps)
		}
		cfs := newChunkCrashFS(ffs, target)
		db, err := Open(dir, crashOptions(cfs))
		if err != nil {
			t.Fatal(err)
		}
		w := newCrashWorkload(seed)
		if !inCheckpoint && !inChunks {
			ffs.CrashAfter(rng.IntN(totalOps))
		}
		// Crash inside the truncation whose number we pick, at one of the
		// operations the fault-free run saw it perform.
		targetTrunc := rng.IntN(len(truncateOps))
		truncations := 0
		for w.round < rounds && !ffs.Crashed() {
			w.step(db, func() {
				if inCheckpoint && truncations == targetTrunc {
					ffs.CrashAfter(rng.IntN(max(1, checkpointOps[targetTrunc])))
				}
				truncations++
			})
		}
		if !ffs.Crashed() {
			// The crash point lay beyond the work done: crash now.
			ffs.CrashAfter(0)
			app := db.Appender(context.Background())
			app.Append(0, crashLabels(0), int64(w.round+1)*crashStep, 0)
			if err := app.Commit(); err == nil {
				t.Fatal("commit succeeded on a crashed file system")
			}
		} else if inCheckpoint {
			crashedInCheckpoint++
		} else if inChunks {
			crashedInChunks++
		}
		// Release what the dead process held (its mappings, say); nothing
		// reaches the disk any more.
		db.Close()
		t.Logf("iteration %d: crash in checkpoint %v, in chunk files %v (op %d), crashed at round %d of %d, %d truncations, %d ops, %d acked series",
			it, inCheckpoint, inChunks, target, w.round, rounds, truncations, ffs.Ops(), len(w.acked))
		// The crashed process is gone; a new one opens the directory. Every
		// fourth time that one crashes too, during recovery itself.
		if it%4 == 3 {
			ffs2 := vfs.NewFaultFS(vfs.OS(), seed+1000)
			ffs2.CrashAfter(rng.IntN(6))
			if dbx, err := Open(dir, crashOptions(ffs2)); err == nil && !ffs2.Crashed() {
				dbx.Close()
			}
		}
		db2, err := Open(dir, crashOptions(vfs.OS()))
		if err != nil {
			t.Fatalf("iteration %d: reopen after crash: %v", it, err)
		}
		w.verify(t, db2, fmt.Sprintf("iteration %d (crash in checkpoint: %v)", it, inCheckpoint))
		// It keeps working: more appends, a clean close, a clean reopen.
		for range 5 {
			if !w.step(db2, func() {}) {
				t.Fatalf("iteration %d: appending after recovery failed", it)
			}
		}
		if err := db2.Close(); err != nil {
			t.Fatal(err)
		}
		db3, err := Open(dir, crashOptions(vfs.OS()))
		if err != nil {
			t.Fatalf("iteration %d: second reopen: %v", it, err)
		}
		w.verify(t, db3, fmt.Sprintf("iteration %d, second reopen", it))
		db3.Close()
	}
	if crashedInCheckpoint < iterations/6 || crashedInChunks < iterations/6 {
		t.Fatalf("only %d iterations crashed inside a checkpoint and %d inside head chunk files", crashedInCheckpoint, crashedInChunks)
	}
}

// TestNoSpaceDuringCommit fills the disk during commits: failed commits
// report errors and are not visible, and once space returns the DB works
// and reopens with every acknowledged sample.
func TestNoSpaceDuringCommit(t *testing.T) {
	dir := t.TempDir()
	ffs := vfs.NewFaultFS(vfs.OS(), 3)
	db, err := Open(dir, crashOptions(ffs))
	if err != nil {
		t.Fatal(err)
	}
	w := newCrashWorkload(3)
	failed := 0
	for i := range 200 {
		if i%20 == 5 {
			ffs.FailWritesAfter(w.rng.IntN(3), nil)
		}
		if i%20 == 12 {
			ffs.ClearFaults()
		}
		if !w.step(db, func() {}) {
			failed++
		}
	}
	ffs.ClearFaults()
	if failed == 0 {
		t.Fatal("no commit failed: nothing was injected")
	}
	for range 3 {
		if !w.step(db, func() {}) {
			t.Fatal("DB did not recover after the disk had space again")
		}
	}
	// Failed commits are not visible.
	got := dump(t, db)
	for k, ss := range got {
		for _, smp := range ss {
			if _, ok := w.acked[k][smp.T]; !ok {
				t.Fatalf("sample %s@%d of a failed commit is visible", k, smp.T)
			}
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db, err = Open(dir, crashOptions(vfs.OS()))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	w.verify(t, db, "after disk-full episodes")
}

// TestSeriesRecordAfterFailedCommit makes the first commit of new series
// fail: the series exist in memory but their WAL record was never
// written, so the next commit must write it, or a restart loses them.
func TestSeriesRecordAfterFailedCommit(t *testing.T) {
	dir := t.TempDir()
	ffs := vfs.NewFaultFS(vfs.OS(), 1)
	db, err := Open(dir, crashOptions(ffs))
	if err != nil {
		t.Fatal(err)
	}
	l := labels.FromStrings("__name__", "fresh")
	app := db.Appender(context.Background())
	if _, err := app.Append(0, l, 1000, 1); err != nil {
		t.Fatal(err)
	}
	ffs.FailWritesAfter(0, nil)
	if err := app.Commit(); err == nil {
		t.Fatal("commit on a full disk succeeded")
	}
	ffs.ClearFaults()
	app = db.Appender(context.Background())
	if _, err := app.Append(0, l, 2000, 2); err != nil {
		t.Fatal(err)
	}
	if err := app.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db, err = Open(dir, crashOptions(vfs.OS()))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	got := dump(t, db)[l.String()]
	if len(got) != 1 || got[0].T != 2000 {
		t.Fatalf("after reopen: %v", got)
	}
}
