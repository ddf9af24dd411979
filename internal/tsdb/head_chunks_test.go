package tsdb

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/vigil-monitoring/vigil/internal/model/labels"
	"github.com/vigil-monitoring/vigil/internal/storage"
	"github.com/vigil-monitoring/vigil/internal/tsdb/vfs"
)

// smallChunkFiles makes head chunk files small, so that a test's data
// spans several and truncation can delete some.
func smallChunkFiles(o Options) Options {
	o.HeadChunksFileSize = 4 << 10
	o.HeadChunksWriteBufferSize = 1 << 10
	return o
}

// fileChunks counts the full chunks of every series that live in a head
// chunk file, and those kept in memory.
func fileChunks(h *Head) (inFiles, inMemory int) {
	h.series.walk(false, func(run []*memSeries) {
		for _, s := range run {
			it := s.full.iter()
			for it.next() {
				if it.cur.ref.InMemory() {
					inMemory++
				} else {
					inFiles++
				}
			}
		}
	})
	return inFiles, inMemory
}

// TestReopenUsesHeadChunkFiles checks that a restart takes full chunks
// from the head chunk files and replays only the newer samples from the
// WAL, with the same result as before.
func TestReopenUsesHeadChunkFiles(t *testing.T) {
	dir := t.TempDir()
	opts := smallChunkFiles(testOptions())
	db := openTestDB(t, dir, opts)
	fill(t, db, 10, 500, 0, 15_000) // 4 full chunks and an open one per float series
	before := dump(t, db)
	if n, _ := fileChunks(db.Head()); n < 40 {
		t.Fatalf("only %d chunks in files", n)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	opts.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	db = openTestDB(t, dir, opts)
	defer db.Close()
	if err := sameDump(dump(t, db), before); err != nil {
		t.Fatal(err)
	}
	if n, _ := fileChunks(db.Head()); n < 40 {
		t.Fatalf("after reopen only %d chunks come from files", n)
	}
	// 10 float series x 480 samples in full chunks, plus the histogram
	// series' chunks: all skipped in the WAL.
	if !strings.Contains(logs.String(), "head chunk files loaded") || strings.Contains(logs.String(), "samples_in_chunk_files=0 ") {
		t.Fatalf("chunk files not used on replay:\n%s", logs.String())
	}
}

// TestNewestSampleInChunkFile restarts a series whose every sample is in
// a full chunk: its last value must come back for duplicate detection.
func TestNewestSampleInChunkFile(t *testing.T) {
	dir := t.TempDir()
	opts := smallChunkFiles(testOptions())
	db := openTestDB(t, dir, opts)
	l := labels.FromStrings("__name__", "x")
	app := db.Appender(context.Background())
	for i := range 120 {
		if _, err := app.Append(0, l, int64(i)*1000, float64(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := app.Commit(); err != nil {
		t.Fatal(err)
	}
	// Write the open chunk to the files as a cut would, without opening
	// the next one.
	s := db.Head().series.getByHash(l.Hash(), l)
	lock := db.Head().series.refLock(s.ref)
	lock.Lock()
	s.closeOpenLocked(db.Head())
	lock.Unlock()
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = openTestDB(t, dir, opts)
	defer db.Close()
	s = db.Head().series.getByHash(l.Hash(), l)
	if s.open != openNone || s.lastT != 119_000 || s.lastV != 119 {
		t.Fatalf("restored series: open %d, last %d=%v", s.open, s.lastT, s.lastV)
	}
	app = db.Appender(context.Background())
	if _, err := app.Append(0, l, 119_000, 119); err != nil {
		t.Fatalf("duplicate of the newest sample: %v", err)
	}
	if _, err := app.Append(0, l, 119_000, 7); !errors.Is(err, storage.ErrDuplicateSampleForTimestamp) {
		t.Fatalf("conflict with the newest sample: %v", err)
	}
	app.Rollback()
}

func TestCorruptHeadChunkFile(t *testing.T) {
	dir := t.TempDir()
	opts := smallChunkFiles(testOptions())
	db := openTestDB(t, dir, opts)
	fill(t, db, 10, 500, 0, 15_000)
	before := dump(t, db)
	db.Close()
	// Damage an entry in the middle of the first file: it and every later
	// file are dropped, and the WAL brings their samples back.
	name := filepath.Join(dir, "chunks_head", "000001")
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0xff
	if err := os.WriteFile(name, b, 0o644); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	opts.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	db = openTestDB(t, dir, opts)
	defer db.Close()
	if err := sameDump(dump(t, db), before); err != nil {
		t.Fatalf("after a corrupt chunk file: %v", err)
	}
	if n := counterValue(t, db.Head().metrics.mmapCorruptions); n != 1 {
		t.Fatalf("corruption metric %v", n)
	}
	if !strings.Contains(logs.String(), "torn or corrupt tail") {
		t.Fatalf("no log line:\n%s", logs.String())
	}
}

func TestUnknownHeadChunkFormat(t *testing.T) {
	dir := t.TempDir()
	opts := smallChunkFiles(testOptions())
	db := openTestDB(t, dir, opts)
	fill(t, db, 5, 300, 0, 15_000)
	before := dump(t, db)
	db.Close()
	name := filepath.Join(dir, "chunks_head", "000001")
	b, _ := os.ReadFile(name)
	b[4] = 9 // a version from the future
	os.WriteFile(name, b, 0o644)
	db = openTestDB(t, dir, opts)
	defer db.Close()
	if err := sameDump(dump(t, db), before); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "chunks_head.unknown-format", "000001")); err != nil {
		t.Fatalf("unknown files not moved aside: %v", err)
	}
}

// TestQuerierOutlivesTruncation opens a querier, truncates the head so
// that the chunk files it reads are deleted, and reads on: the files stay
// mapped until the querier closes.
func TestQuerierOutlivesTruncation(t *testing.T) {
	dir := t.TempDir()
	db := openTestDB(t, dir, smallChunkFiles(testOptions()))
	defer db.Close()
	fill(t, db, 10, 500, 0, 15_000)
	want := dump(t, db)
	q, err := db.Querier(math.MinInt64, math.MaxInt64)
	if err != nil {
		t.Fatal(err)
	}
	ss := q.Select(context.Background(), true, nil, labels.MustNewMatcher(labels.MatchRegexp, "__name__", ".+"))
	if !ss.Next() {
		t.Fatal("no series")
	}
	first := ss.At()
	if err := db.Head().Truncate(400 * 15_000); err != nil {
		t.Fatal(err)
	}
	if files, _ := os.ReadDir(filepath.Join(dir, "chunks_head")); len(files) == 0 || files[0].Name() == "000001" {
		t.Fatalf("truncation deleted no file: %v", files)
	}
	// The first series' chunks were taken before the truncation, and are
	// read only now, from deleted files. Later series are taken after it.
	smp, err := storage.ExpandSamples(first.Iterator(nil))
	if err != nil {
		t.Fatalf("reading after truncation: %v", err)
	}
	if err := sameDump(map[string][]storage.Sample{first.Labels().String(): smp},
		map[string][]storage.Sample{first.Labels().String(): want[first.Labels().String()]}); err != nil {
		t.Fatalf("the open querier lost data: %v", err)
	}
	for ss.Next() {
		if _, err := storage.ExpandSamples(ss.At().Iterator(nil)); err != nil {
			t.Fatal(err)
		}
	}
	q.Close()
	// A new querier sees the truncated head.
	for k, ss := range dump(t, db) {
		if len(ss) >= len(want[k]) {
			t.Fatalf("%s not truncated", k)
		}
	}
}

// TestSymbolsFreedAfterReaders deletes series while a querier is open:
// their symbols are not reused before it closes, so it can still decode
// their labels.
func TestSymbolsFreedAfterReaders(t *testing.T) {
	db := openTestDB(t, t.TempDir(), testOptions())
	defer db.Close()
	h := db.Head()
	app := db.Appender(context.Background())
	old := labels.FromStrings("__name__", "old_metric", "id", "gone")
	app.Append(0, old, 1000, 1)
	app.Append(0, labels.FromStrings("__name__", "kept"), 1000, 1)
	app.Commit()
	s := h.series.getByHash(old.Hash(), old)
	base := h.symbols.size()

	rd := h.chunks.Reader() // what a querier holds
	app = db.Appender(context.Background())
	app.Append(0, labels.FromStrings("__name__", "kept"), 5000, 1)
	app.Commit()
	if err := db.Head().Truncate(2000); err != nil {
		t.Fatal(err)
	}
	if h.series.getByRef(s.ref) != nil || h.symbols.size() != base-3 {
		t.Fatalf("series not collected: %d symbols, had %d", h.symbols.size(), base)
	}
	// New strings must not take the freed ids while rd is open.
	app = db.Appender(context.Background())
	app.Append(0, labels.FromStrings("__name__", "new_metric", "id", "fresh"), 6000, 1)
	app.Commit()
	var lb labels.ScratchBuilder
	if got := h.symbols.labels(s.lbls, &lb); !labels.Equal(got, old) {
		t.Fatalf("deleted series decodes as %s", got)
	}
	rd.Close()
	h.symbols.mu.RLock()
	free := len(h.symbols.mu.free)
	h.symbols.mu.RUnlock()
	if free != 3 {
		t.Fatalf("%d ids free after the reader closed, want 3", free)
	}
}

// faultyChunkFS fails every write to head chunk files while failing is
// set, as a full disk would; other files are unaffected.
type faultyChunkFS struct {
	vfs.FS
	mu      sync.Mutex
	failing bool
}

func (f *faultyChunkFS) fail(name string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.failing && strings.Contains(name, "chunks_head")
}

func (f *faultyChunkFS) set(v bool) {
	f.mu.Lock()
	f.failing = v
	f.mu.Unlock()
}

func (f *faultyChunkFS) Create(name string) (vfs.File, error) {
	if f.fail(name) {
		return nil, vfs.ErrNoSpace
	}
	file, err := f.FS.Create(name)
	if err != nil {
		return nil, err
	}
	return &faultyChunkFile{File: file, fs: f}, nil
}

type faultyChunkFile struct {
	vfs.File
	fs *faultyChunkFS
}

func (f *faultyChunkFile) Write(p []byte) (int, error) {
	if f.fs.fail(f.Name()) {
		n, _ := f.File.Write(p[:len(p)/2]) // a short write
		return n, vfs.ErrNoSpace
	}
	return f.File.Write(p)
}

// TestHeadChunksDiskFull keeps full chunks in memory while the head chunk
// files cannot be written, keeps each series' later chunks in memory too
// (the prefix rule), moves them to files at the next truncation once the
// disk has space, and loses nothing across restarts on the way.
func TestHeadChunksDiskFull(t *testing.T) {
	dir := t.TempDir()
	ffs := &faultyChunkFS{FS: vfs.OS()}
	opts := smallChunkFiles(testOptions())
	opts.FS = ffs
	db := openTestDB(t, dir, opts)
	fill(t, db, 10, 130, 0, 15_000)
	ffs.set(true)
	fill(t, db, 10, 500, 130*15_000, 15_000)
	if _, inMem := fileChunks(db.Head()); inMem < 10 {
		t.Fatalf("%d chunks in memory while the disk was full", inMem)
	}
	ffs.set(false)
	// The disk has space again, but series that spilled keep their later
	// chunks in memory until truncation migrates them in order.
	fill(t, db, 10, 250, 630*15_000, 15_000)
	_, inMem := fileChunks(db.Head())
	if inMem == 0 || db.Head().chunkStats().OverflowChunks != inMem {
		t.Fatalf("%d chunks in memory, stats %+v", inMem, db.Head().chunkStats())
	}
	want := dump(t, db)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	// Restart with chunks that never reached a file: the WAL has them.
	db = openTestDB(t, dir, opts)
	if err := sameDump(dump(t, db), want); err != nil {
		t.Fatalf("after restart with in-memory chunks: %v", err)
	}
	// Run it again, then truncate with nothing to drop: migration.
	ffs.set(true)
	fill(t, db, 10, 500, 900*15_000, 15_000)
	ffs.set(false)
	fill(t, db, 10, 130, 1400*15_000, 15_000)
	want = dump(t, db)
	if err := db.Head().Truncate(1); err != nil {
		t.Fatal(err)
	}
	if _, inMem := fileChunks(db.Head()); inMem != 0 || db.Head().chunkStats().OverflowChunks != 0 {
		t.Fatalf("%d chunks still in memory after truncation, stats %+v", inMem, db.Head().chunkStats())
	}
	if err := sameDump(dump(t, db), want); err != nil {
		t.Fatalf("after migration: %v", err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = openTestDB(t, dir, opts)
	defer db.Close()
	if err := sameDump(dump(t, db), want); err != nil {
		t.Fatalf("after restart: %v", err)
	}
}
