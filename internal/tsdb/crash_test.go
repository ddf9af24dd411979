package tsdb

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-monitoring/vigil/internal/model/labels"
	"github.com/vigil-monitoring/vigil/internal/storage"
	"github.com/vigil-monitoring/vigil/internal/tsdb/block"
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
	round     int
}

const (
	crashSeries  = 150
	crashStep    = 10_000
	crashCompact = 20 // rounds between compaction runs
	// crashBlock is the block range: 60 rounds, so the workload writes
	// blocks from the head and merges them.
	crashBlock = 10 * time.Minute
)

func newCrashWorkload(seed uint64) *crashWorkload {
	return &crashWorkload{
		rng:       rand.New(rand.NewPCG(seed, 99)),
		attempted: map[string]map[int64]storage.Sample{},
		acked:     map[string]map[int64]storage.Sample{},
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
// skip series), and every crashCompact rounds a compaction run (head
// blocks with head truncation and WAL checkpoint, leveled compaction). It
// returns false once the DB stops working.
func (w *crashWorkload) step(db *DB) bool {
	// From 0, so the first block is a whole range and the merge of three
	// comes as soon as three are complete.
	ts := int64(w.round) * crashStep
	w.round++
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
	if w.round%crashCompact == 0 {
		if err := db.Compact(context.Background()); err != nil {
			return false
		}
	}
	return true
}

// verify checks a reopened DB: every acknowledged sample is present,
// exactly once, in exactly one of the head and the blocks; nothing is
// present that was never appended; no unfinished block directory is
// left.
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
			if !have[ts] {
				t.Fatalf("%s: acknowledged sample %s@%d lost", what, k, ts)
			}
		}
	}
	if err := sourcesDisjoint(t, db); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	ents, err := os.ReadDir(db.Dir())
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if block.IsTemporary(e.Name()) {
			t.Fatalf("%s: unfinished block directory %s left after open", what, e.Name())
		}
	}
}

// sourcesDisjoint reads the head and every block on its own and fails if
// a sample is in two of them: a merged query would hide such a
// duplicate, but it means data was loaded twice.
func sourcesDisjoint(t testing.TB, db *DB) error {
	seen := map[string]map[int64]string{}
	check := func(name string, q storage.Queryable) error {
		for k, ss := range dump(t, q) {
			if seen[k] == nil {
				seen[k] = map[int64]string{}
			}
			for _, smp := range ss {
				if other, ok := seen[k][smp.T]; ok {
					return fmt.Errorf("%s@%d is in %s and in %s", k, smp.T, other, name)
				}
				seen[k][smp.T] = name
			}
		}
		return nil
	}
	for _, b := range db.blocks() {
		if err := check("block "+filepath.Base(b.Dir()), b); err != nil {
			return err
		}
	}
	return check("the head", db.Head())
}

func crashOptions(fsys vfs.FS) Options {
	o := testOptions()
	o.FS = fsys
	// Small uncompressed segments, so the workload spans many segments
	// and every head truncation writes a checkpoint.
	o.WALSegmentSize = 32 * 1024
	o.WALCompression = wal.CompressionNone
	// Small head chunk files and buffer, so that chunks are written,
	// files sealed and new ones created many times.
	o.HeadChunksFileSize = 8 << 10
	o.HeadChunksWriteBufferSize = 1 << 10
	o.MinBlockDuration = crashBlock
	// Compaction runs where the workload says, so that runs with the
	// same seed perform the same operations.
	o.DisableCompaction = true
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

// compactPhase is a stretch of a compaction run that the crash test aims
// crashes at: from the DB's hook stage start to the stage end.
type compactPhase struct{ name, start, end string }

var compactPhases = []compactPhase{
	{"head block write", "head-start", "head-written"},
	{"head truncation", "head-written", "head-truncated"},
	{"leveled compaction", "blocks-start", "blocks-compacted"},
}

// TestCrashRecovery crashes the file system at random points while
// appending, while writing head chunk files, and inside compactions: while
// a block is written from the head, while the head and its WAL are
// truncated after it (checkpoint), and while blocks are merged and their
// parents removed. It then reopens the directory as a new process would:
// every sample whose Commit returned must be there exactly once, in one
// place, and no unfinished block may be loaded.
func TestCrashRecovery(t *testing.T) {
	const rounds = 300
	// A fault-free run counts the operations so crash points cover the
	// whole workload, and measures each compaction phase.
	probe := vfs.NewFaultFS(vfs.OS(), 0)
	probeChunks := newChunkCrashFS(probe, 0)
	db := openTestDB(t, t.TempDir(), crashOptions(probeChunks))
	stages := map[string][]int{}
	db.hook = func(s string) { stages[s] = append(stages[s], probe.Ops()) }
	w := newCrashWorkload(0)
	for w.round < rounds {
		if !w.step(db) {
			t.Fatal("fault-free run failed")
		}
	}
	w.verify(t, db, "fault-free run")
	if n := len(db.Blocks()); n < 2 {
		t.Fatalf("fault-free run left %d blocks", n)
	}
	db.Close()
	totalOps, chunkOps := probe.Ops(), probeChunks.ops()
	lengths := make([][]int, len(compactPhases))
	for i, ph := range compactPhases {
		starts, ends := stages[ph.start], stages[ph.end]
		if len(starts) == 0 || len(starts) != len(ends) {
			t.Fatalf("%s: %d starts and %d ends in the fault-free run", ph.name, len(starts), len(ends))
		}
		for j := range starts {
			n := ends[j] - starts[j]
			if n < 3 {
				t.Fatalf("%s %d performed %d operations: nothing to crash in", ph.name, j, n)
			}
			lengths[i] = append(lengths[i], n)
		}
	}
	t.Logf("fault-free run: %d mutating operations (%d on head chunk files); operations per head block write %v, head truncation %v, leveled compaction %v",
		totalOps, chunkOps, lengths[0], lengths[1], lengths[2])
	if chunkOps < 50 {
		t.Fatalf("only %d operations on head chunk files: too few to crash in", chunkOps)
	}

	iterations := 50
	if testing.Short() || raceEnabled {
		iterations = 15 // the race detector slows every iteration tenfold
	}
	// Iterations take turns: a crash anywhere, in each compaction phase,
	// in a head chunk file operation.
	nKinds := len(compactPhases) + 2
	chunkKind := nKinds - 1
	kindName := func(k int) string {
		switch {
		case k == 0:
			return "anywhere"
		case k == chunkKind:
			return "head chunk files"
		}
		return compactPhases[k-1].name
	}
	crashedIn := make([]int, nKinds)
	for it := range iterations {
		seed := uint64(it + 1)
		kind := it % nKinds
		dir := t.TempDir()
		ffs := vfs.NewFaultFS(vfs.OS(), seed)
		rng := rand.New(rand.NewPCG(seed, 7))
		target := 0
		if kind == chunkKind {
			target = 1 + rng.IntN(chunkOps)
		}
		cfs := newChunkCrashFS(ffs, target)
		db, err := Open(dir, crashOptions(cfs))
		if err != nil {
			t.Fatal(err)
		}
		w := newCrashWorkload(seed)
		if kind > 0 && kind < chunkKind {
			// The probe's workload, so the aimed phase performs exactly
			// the operations the probe counted.
			w = newCrashWorkload(0)
		}
		if kind == 0 {
			ffs.CrashAfter(rng.IntN(totalOps))
		}
		// aimedOp is the number of the operation the crash is aimed at
		// inside a compaction phase; the crash landed there when the file
		// system crashed at that operation.
		aimedOp := -1
		if kind > 0 && kind < chunkKind {
			ph, ls := compactPhases[kind-1], lengths[kind-1]
			idx, seen := rng.IntN(len(ls)), 0
			db.hook = func(s string) {
				if s == ph.start {
					if seen == idx {
						n := rng.IntN(ls[idx])
						aimedOp = ffs.Ops() + n + 1
						ffs.CrashAfter(n)
					}
					seen++
				}
			}
		}
		for w.round < rounds && !ffs.Crashed() {
			w.step(db)
		}
		landed := false
		switch {
		case !ffs.Crashed():
			// The crash point lay beyond the work done: crash now.
			ffs.CrashAfter(0)
			app := db.Appender(context.Background())
			app.Append(0, crashLabels(0), int64(w.round)*crashStep, 0)
			if err := app.Commit(); err == nil {
				t.Fatal("commit succeeded on a crashed file system")
			}
		case kind == 0 || kind == chunkKind || ffs.Ops() == aimedOp:
			crashedIn[kind]++
			landed = true
		}
		// Release what the dead process held (its mappings, say); nothing
		// reaches the disk any more.
		db.Close()
		t.Logf("iteration %d: crash aimed at %s (landed: %v), at round %d of %d, %d ops, %d acked series",
			it, kindName(kind), landed, w.round, rounds, ffs.Ops(), len(w.acked))
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
		w.verify(t, db2, fmt.Sprintf("iteration %d (crash aimed at %s)", it, kindName(kind)))
		// It keeps working: more appends and a compaction, a clean close,
		// a clean reopen.
		for range crashCompact {
			if !w.step(db2) {
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
	per := iterations / nKinds
	for k := 1; k < nKinds; k++ {
		if crashedIn[k] < per {
			t.Errorf("only %d of %d iterations crashed inside %s", crashedIn[k], per, kindName(k))
		}
	}
	t.Logf("crashes landed: %v (anywhere, %s, %s, %s, head chunk files)", crashedIn,
		compactPhases[0].name, compactPhases[1].name, compactPhases[2].name)
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
		if !w.step(db) {
			failed++
		}
	}
	ffs.ClearFaults()
	if failed == 0 {
		t.Fatal("no commit failed: nothing was injected")
	}
	for range 3 {
		if !w.step(db) {
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
