package tsdb

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vigil-monitoring/vigil/internal/model/labels"
	"github.com/vigil-monitoring/vigil/internal/storage"
	"github.com/vigil-monitoring/vigil/internal/tsdb/block"
	"github.com/vigil-monitoring/vigil/internal/tsdb/chunks"
	"github.com/vigil-monitoring/vigil/internal/tsdb/vfs"
)

const (
	hourMs    = int64(time.Hour / time.Millisecond)
	blockStep = 30_000 // sample interval of these tests
)

// fillHours appends hours of samples at blockStep from t0 to nSeries
// float series and a histogram series (see fill).
func fillHours(t testing.TB, a storage.Appendable, nSeries int, t0 int64, hours int) {
	t.Helper()
	fill(t, a, nSeries, int(int64(hours)*hourMs/blockStep), t0, blockStep)
}

func numSamples(d map[string][]storage.Sample) int {
	n := 0
	for _, ss := range d {
		n += len(ss)
	}
	return n
}

func mustCompact(t testing.TB, db *DB) {
	t.Helper()
	if err := db.Compact(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// blockDirs lists the block directories on disk.
func blockDirs(t testing.TB, dir string) []string {
	t.Helper()
	dirs, leftovers, err := block.Scan(vfs.OS(), dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(leftovers) > 0 {
		t.Fatalf("leftover block directories: %v", leftovers)
	}
	return dirs
}

// TestDBHeadCompactionAndRestart appends 8 hours with 2-hour blocks:
// compaction writes the old ranges as blocks and truncates the head; a
// query across head and blocks returns every sample exactly once, before
// and after a restart.
func TestDBHeadCompactionAndRestart(t *testing.T) {
	dir := t.TempDir()
	db := openTestDB(t, dir, testOptions())
	fillHours(t, db, 10, 0, 8)
	want := dump(t, db)
	chunksBefore := db.Head().numChunks.Load()
	mustCompact(t, db)

	metas := db.Blocks()
	if len(metas) != 3 {
		t.Fatalf("%d blocks after compacting 8 hours, want 3 (the head keeps the last 2)", len(metas))
	}
	for i, m := range metas {
		if m.MaxTime != int64(i+1)*2*hourMs || m.Compaction.Level != 1 || m.Stats.NumSeries != 11 {
			t.Fatalf("block %d: %+v", i, m)
		}
	}
	newest := metas[len(metas)-1].MaxTime
	h := db.Head()
	if h.MinTime() < newest || h.minValidTime.Load() != newest {
		t.Fatalf("head not truncated: min time %d, min valid %d, newest block end %d", h.MinTime(), h.minValidTime.Load(), newest)
	}
	if n := h.numChunks.Load(); n >= chunksBefore {
		t.Fatalf("head chunks %d, before compaction %d", n, chunksBefore)
	}
	for k, ss := range dump(t, h) {
		if ss[0].T < newest {
			t.Fatalf("%s: the head still holds %d, before the newest block's end %d", k, ss[0].T, newest)
		}
	}
	if err := sameDump(dump(t, db), want); err != nil {
		t.Fatalf("after compaction: %v", err)
	}
	if err := sourcesDisjoint(t, db); err != nil {
		t.Fatal(err)
	}
	// A range across the block/head boundary.
	got := dumpRange(t, db, newest-hourMs, newest+hourMs-1)
	if n := numSamples(got); n != 11*int(2*hourMs/blockStep) {
		t.Fatalf("%d samples across the boundary", n)
	}
	app := db.Appender(context.Background())
	if _, err := app.Append(0, labels.FromStrings("__name__", "m", "s", "new"), newest-1, 1); !errors.Is(err, storage.ErrOutOfBounds) {
		t.Fatalf("append into a persisted range: %v", err)
	}
	app.Rollback()
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db = openTestDB(t, dir, testOptions())
	defer db.Close()
	if got := db.Blocks(); len(got) != len(metas) || got[0].ULID != metas[0].ULID {
		t.Fatalf("after restart: blocks %v", got)
	}
	if err := sameDump(dump(t, db), want); err != nil {
		t.Fatalf("after restart: %v", err)
	}
	if err := sourcesDisjoint(t, db); err != nil {
		t.Fatalf("after restart: %v", err)
	}
	if got := db.Head().MinTime(); got < newest {
		t.Fatalf("after restart the head starts at %d, before the newest block's end %d", got, newest)
	}
}

// TestDBBackgroundCompaction lets the background loop do the work: a
// commit that leaves the head compactable wakes it.
func TestDBBackgroundCompaction(t *testing.T) {
	opts := testOptions()
	opts.DisableCompaction = false
	db := openTestDB(t, t.TempDir(), opts)
	defer db.Close()
	fillHours(t, db, 5, 0, 8)
	deadline := time.Now().Add(20 * time.Second)
	for len(db.Blocks()) < 3 || db.Head().compactable() {
		if time.Now().After(deadline) {
			t.Fatalf("background compaction did not run: %d blocks", len(db.Blocks()))
		}
		time.Sleep(10 * time.Millisecond)
	}
	if n := numSamples(dump(t, db)); n != 6*int(8*hourMs/blockStep) {
		t.Fatalf("%d samples after background compaction", n)
	}
}

// TestDBLeveledCompaction: three full 2-hour blocks of an aligned 6-hour
// window are merged into one level-2 block with cold chunks.
func TestDBLeveledCompaction(t *testing.T) {
	dir := t.TempDir()
	db := openTestDB(t, dir, testOptions())
	defer db.Close()
	fillHours(t, db, 5, 0, 14)
	want := dump(t, db)
	mustCompact(t, db)
	metas := db.Blocks()
	var merged *block.Meta
	for i := range metas {
		if metas[i].Compaction.Level >= 2 {
			merged = &metas[i]
		}
	}
	if merged == nil {
		t.Fatalf("no merged block among %d blocks", len(metas))
	}
	if merged.MinTime != 0 || merged.MaxTime != 6*hourMs || len(merged.Compaction.Sources) != 3 {
		t.Fatalf("merged block %+v", merged)
	}
	if !slices.Contains(merged.Vigil.ChunkEncodings, chunks.EncColdFloat) {
		t.Fatalf("merged block encodings %v, want cold floats", merged.Vigil.ChunkEncodings)
	}
	if n := len(blockDirs(t, dir)); n != len(metas) {
		t.Fatalf("%d block directories for %d blocks: parents left behind", n, len(metas))
	}
	if err := sameDump(dump(t, db), want); err != nil {
		t.Fatalf("after leveled compaction: %v", err)
	}
	if err := sourcesDisjoint(t, db); err != nil {
		t.Fatal(err)
	}
}

// TestDBRetentionTime deletes the blocks ending 4 hours or more before
// the newest block's end.
func TestDBRetentionTime(t *testing.T) {
	dir := t.TempDir()
	reg := prometheus.NewRegistry()
	opts := testOptions()
	opts.RetentionDuration = 4 * time.Hour
	opts.Registerer = reg
	db := openTestDB(t, dir, opts)
	defer db.Close()
	fillHours(t, db, 5, 0, 14)
	want := dumpRange(t, db, 8*hourMs, math.MaxInt64)
	mustCompact(t, db)
	metas := db.Blocks()
	if len(metas) != 2 || metas[0].MinTime != 8*hourMs || metas[1].MaxTime != 12*hourMs {
		t.Fatalf("blocks after time retention: %+v", metas)
	}
	if n := len(blockDirs(t, dir)); n != 2 {
		t.Fatalf("%d block directories left", n)
	}
	if err := sameDump(dump(t, db), want); err != nil {
		t.Fatalf("after time retention: %v", err)
	}
	m := gather(t, reg)
	if m["prometheus_tsdb_time_retentions_total"] != 1 || m["prometheus_tsdb_blocks_loaded"] != 2 ||
		m["prometheus_tsdb_lowest_timestamp"] != float64(8*hourMs) {
		t.Fatalf("metrics after time retention: %v", m)
	}
}

// TestDBRetentionSize deletes the oldest blocks until blocks, WAL and
// head chunk files fit the limit.
func TestDBRetentionSize(t *testing.T) {
	dir := t.TempDir()
	reg := prometheus.NewRegistry()
	opts := testOptions()
	opts.MaxBlockDuration = 2 * time.Hour // no merging: six blocks to choose from
	opts.Registerer = reg
	db := openTestDB(t, dir, opts)
	defer db.Close()
	fillHours(t, db, 5, 0, 14)
	mustCompact(t, db)
	metas := db.Blocks()
	if len(metas) != 6 {
		t.Fatalf("%d blocks", len(metas))
	}
	bs := db.blocks()
	rest, err := db.nonBlockSize()
	if err != nil {
		t.Fatal(err)
	}
	// Room for the newest two blocks.
	db.opts.MaxBytes = rest + bs[4].Size() + bs[5].Size()
	mustCompact(t, db)
	got := db.Blocks()
	if len(got) != 2 || got[0].ULID != metas[4].ULID || got[1].ULID != metas[5].ULID {
		t.Fatalf("blocks after size retention: %v", got)
	}
	if n := len(blockDirs(t, dir)); n != 2 {
		t.Fatalf("%d block directories left", n)
	}
	if got := dump(t, db); got[`{__name__="h"}`][0].T != metas[4].MinTime {
		t.Fatalf("oldest sample left %d, want %d", got[`{__name__="h"}`][0].T, metas[4].MinTime)
	}
	m := gather(t, reg)
	if m["prometheus_tsdb_size_retentions_total"] != 1 || m["prometheus_tsdb_retention_limit_bytes"] != float64(db.opts.MaxBytes) {
		t.Fatalf("metrics after size retention: %v", m)
	}
}

// TestDBQuerierDuringCompaction: a querier opened before a head
// compaction cannot see the new block, so the head truncation waits for
// it; meanwhile it still reads everything.
func TestDBQuerierDuringCompaction(t *testing.T) {
	db := openTestDB(t, t.TempDir(), testOptions())
	defer db.Close()
	fillHours(t, db, 5, 0, 8)
	want := dump(t, db)
	q, err := db.Querier(math.MinInt64, math.MaxInt64)
	if err != nil {
		t.Fatal(err)
	}
	written := make(chan struct{}, 3)
	db.hook = func(s string) {
		if s == "head-written" {
			written <- struct{}{}
		}
	}
	done := make(chan error, 1)
	go func() { done <- db.Compact(context.Background()) }()
	<-written
	select {
	case err := <-done:
		t.Fatalf("compaction finished under an old querier: %v", err)
	case <-time.After(50 * time.Millisecond):
	}
	got := map[string][]storage.Sample{}
	ss := q.Select(context.Background(), false, nil, labels.MustNewMatcher(labels.MatchRegexp, "__name__", ".+"))
	for ss.Next() {
		s, err := storage.ExpandSamples(ss.At().Iterator(nil))
		if err != nil {
			t.Fatal(err)
		}
		got[ss.At().Labels().String()] = s
	}
	q.Close()
	if err := sameDump(got, want); err != nil {
		t.Fatalf("old querier during compaction: %v", err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if len(db.Blocks()) != 3 {
		t.Fatalf("%d blocks", len(db.Blocks()))
	}
}

// TestDBBlockRemovedUnderQuerier: retention deletes a block a querier
// reads; the querier keeps working and the directory goes once it closes.
func TestDBBlockRemovedUnderQuerier(t *testing.T) {
	dir := t.TempDir()
	db := openTestDB(t, dir, testOptions())
	defer db.Close()
	fillHours(t, db, 5, 0, 8)
	mustCompact(t, db)
	want := dump(t, db)
	q, err := db.Querier(math.MinInt64, math.MaxInt64)
	if err != nil {
		t.Fatal(err)
	}
	db.opts.RetentionDuration = time.Hour
	done := make(chan error, 1)
	go func() { done <- db.Compact(context.Background()) }()
	deadline := time.Now().Add(10 * time.Second)
	for len(db.Blocks()) != 1 {
		if time.Now().After(deadline) {
			t.Fatal("retention did not run")
		}
		time.Sleep(time.Millisecond)
	}
	ss := q.Select(context.Background(), true, nil, labels.MustNewMatcher(labels.MatchEqual, "__name__", "h"))
	if !ss.Next() {
		t.Fatalf("no series from a querier whose blocks were deleted: %v", ss.Err())
	}
	s, err := storage.ExpandSamples(ss.At().Iterator(nil))
	if err != nil || len(s) != len(want[`{__name__="h"}`]) {
		t.Fatalf("%d samples (%v), want %d", len(s), err, len(want[`{__name__="h"}`]))
	}
	q.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n := len(blockDirs(t, dir)); n != 1 {
		t.Fatalf("%d block directories after retention", n)
	}
}

// TestDBLabelsAcrossHeadAndBlocks: label names and values merge what
// only blocks and only the head know.
func TestDBLabelsAcrossHeadAndBlocks(t *testing.T) {
	db := openTestDB(t, t.TempDir(), testOptions())
	defer db.Close()
	app := db.Appender(context.Background())
	app.Append(0, labels.FromStrings("__name__", "old", "only_block", "x"), 0, 1)
	app.Commit()
	fillHours(t, db, 2, blockStep, 8)
	app = db.Appender(context.Background())
	app.Append(0, labels.FromStrings("__name__", "new", "only_head", "y"), 9*hourMs, 1)
	app.Commit()
	mustCompact(t, db)
	// Closed before the DB (defers run last first): closing a block
	// waits for its queriers.
	q, err := db.Querier(math.MinInt64, math.MaxInt64)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	names, _, err := q.LabelNames(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(names, []string{"__name__", "only_block", "only_head", "s"}) {
		t.Fatalf("label names %v", names)
	}
	vals, _, err := q.LabelValues(context.Background(), "__name__", nil)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(vals, []string{"h", "m", "new", "old"}) {
		t.Fatalf("__name__ values %v", vals)
	}
	vals, _, err = q.LabelValues(context.Background(), "only_block", nil, labels.MustNewMatcher(labels.MatchEqual, "__name__", "old"))
	if err != nil || !slices.Equal(vals, []string{"x"}) {
		t.Fatalf("only_block values %v (%v)", vals, err)
	}
}

// TestDBCommitIntoCompactedRange: a sample appended before a compaction
// chose its range, but committed after, is refused rather than
// acknowledged and then truncated away.
func TestDBCommitIntoCompactedRange(t *testing.T) {
	db := openTestDB(t, t.TempDir(), testOptions())
	defer db.Close()
	late := labels.FromStrings("__name__", "late")
	app := db.Appender(context.Background())
	app.Append(0, late, 0, 1)
	app.Commit()
	fillHours(t, db, 2, 0, 8)
	app = db.Appender(context.Background())
	if _, err := app.Append(0, late, hourMs, 2); err != nil {
		t.Fatal(err)
	}
	mustCompact(t, db)
	if err := app.Commit(); !errors.Is(err, storage.ErrOutOfBounds) {
		t.Fatalf("commit into a persisted range: %v", err)
	}
	if got := dump(t, db)[late.String()]; len(got) != 1 {
		t.Fatalf("late series: %v", got)
	}
}

// TestDBCorruptBlockSkipped: a corrupt block is logged, counted and left
// out; leftovers of an interrupted write are removed; the DB opens.
func TestDBCorruptBlockSkipped(t *testing.T) {
	dir := t.TempDir()
	db := openTestDB(t, dir, testOptions())
	fillHours(t, db, 3, 0, 8)
	mustCompact(t, db)
	metas := db.Blocks()
	db.Close()
	bad := filepath.Join(dir, metas[1].ULID.String())
	if err := os.WriteFile(filepath.Join(bad, block.IndexFilename), []byte("garbage"), 0o666); err != nil {
		t.Fatal(err)
	}
	tmp := filepath.Join(dir, metas[0].ULID.String()+block.TmpForCreationSuffix)
	if err := os.MkdirAll(tmp, 0o777); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	reg := prometheus.NewRegistry()
	opts := testOptions()
	opts.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	opts.Registerer = reg
	db = openTestDB(t, dir, opts)
	defer db.Close()
	if got := db.Blocks(); len(got) != 2 || got[0].ULID != metas[0].ULID || got[1].ULID != metas[2].ULID {
		t.Fatalf("blocks %v", got)
	}
	if !strings.Contains(logs.String(), "corrupt") || !strings.Contains(logs.String(), bad) {
		t.Fatalf("corrupt block not logged:\n%s", logs.String())
	}
	if m := gather(t, reg); m["vigil_tsdb_corrupt_blocks"] != 1 {
		t.Fatalf("corrupt blocks metric %v", m["vigil_tsdb_corrupt_blocks"])
	}
	if _, err := os.Stat(tmp); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("leftover of an interrupted write not removed: %v", err)
	}
	if _, err := os.Stat(bad); err != nil {
		t.Fatalf("corrupt block should stay on disk: %v", err)
	}
	// Compaction leaves it alone and keeps working.
	fillHours(t, db, 3, 8*hourMs, 4)
	mustCompact(t, db)
}

func gather(t testing.TB, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			switch {
			case m.GetGauge() != nil:
				got[mf.GetName()] += m.GetGauge().GetValue()
			case m.GetCounter() != nil:
				got[mf.GetName()] += m.GetCounter().GetValue()
			case m.GetHistogram() != nil:
				got[mf.GetName()] += float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return got
}

// TestDBCompactionMetrics checks the compaction and block metrics.
func TestDBCompactionMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	opts := testOptions()
	opts.Registerer = reg
	db := openTestDB(t, t.TempDir(), opts)
	defer db.Close()
	fillHours(t, db, 5, 0, 14)
	mustCompact(t, db)
	m := gather(t, reg)
	nb := float64(len(db.Blocks()))
	checks := map[string]bool{
		// Six head blocks and one merge of three of them.
		"prometheus_tsdb_compactions_total":           m["prometheus_tsdb_compactions_total"] == 7,
		"prometheus_tsdb_compactions_failed_total":    m["prometheus_tsdb_compactions_failed_total"] == 0,
		"prometheus_tsdb_compaction_duration_seconds": m["prometheus_tsdb_compaction_duration_seconds"] == 7,
		"prometheus_tsdb_blocks_loaded":               m["prometheus_tsdb_blocks_loaded"] == nb,
		"prometheus_tsdb_storage_blocks_bytes":        m["prometheus_tsdb_storage_blocks_bytes"] == float64(db.blocksSize()),
		"prometheus_tsdb_head_truncations_total":      m["prometheus_tsdb_head_truncations_total"] == 6,
		"prometheus_tsdb_reloads_total":               m["prometheus_tsdb_reloads_total"] == 7,
		"prometheus_tsdb_lowest_timestamp":            m["prometheus_tsdb_lowest_timestamp"] == 0,
		"prometheus_tsdb_retention_limit_bytes":       m["prometheus_tsdb_retention_limit_bytes"] == 0,
	}
	for name, ok := range checks {
		if !ok {
			t.Errorf("%s = %v", name, m[name])
		}
	}
}

// TestDBConcurrentCompaction runs appenders, queriers and deletions while
// the background loop compacts a head with one-minute blocks. Under -race
// it checks the locking; afterwards, that every acknowledged sample is
// there exactly once and in one place.
func TestDBConcurrentCompaction(t *testing.T) {
	opts := testOptions()
	opts.DisableCompaction = false
	opts.MinBlockDuration = time.Minute
	db := openTestDB(t, t.TempDir(), opts)
	defer db.Close()
	const writers, rounds, perWriter = 4, 400, 5
	acked := make([]map[string][]int64, writers)
	var wg sync.WaitGroup
	for w := range writers {
		acked[w] = map[string][]int64{}
		wg.Go(func() {
			for i := range rounds {
				ts := int64(i) * 1000
				app := db.Appender(context.Background())
				var keys []string
				for s := range perWriter {
					l := labels.FromStrings("__name__", "c", "w", fmt.Sprint(w), "s", fmt.Sprint(s))
					if _, err := app.Append(0, l, ts, float64(ts)); err != nil {
						if !errors.Is(err, storage.ErrOutOfBounds) {
							t.Error(err)
						}
						continue
					}
					keys = append(keys, l.String())
				}
				if err := app.Commit(); err != nil {
					if !errors.Is(err, storage.ErrOutOfBounds) {
						t.Error(err)
						return
					}
					continue // some samples may be in, none acknowledged
				}
				for _, k := range keys {
					acked[w][k] = append(acked[w][k], ts)
				}
			}
		})
	}
	stop := make(chan struct{})
	var readers sync.WaitGroup
	readers.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			for k, ss := range dump(t, db) {
				for i := 1; i < len(ss); i++ {
					if ss[i].T <= ss[i-1].T {
						t.Errorf("%s: samples out of order or twice at %d", k, ss[i].T)
						return
					}
				}
			}
		}
	})
	readers.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
			// Deletes nothing that exists: exercises the locking only.
			if err := db.Delete(context.Background(), 0, math.MaxInt64, labels.MustNewMatcher(labels.MatchEqual, "w", "none")); err != nil {
				t.Error(err)
			}
		}
	})
	wg.Wait()
	close(stop)
	readers.Wait()
	mustCompact(t, db)
	got := dump(t, db)
	for w := range writers {
		for k, ts := range acked[w] {
			have := map[int64]bool{}
			for _, s := range got[k] {
				have[s.T] = true
			}
			for _, x := range ts {
				if !have[x] {
					t.Fatalf("acknowledged %s@%d lost", k, x)
				}
			}
		}
	}
	if err := sourcesDisjoint(t, db); err != nil {
		t.Fatal(err)
	}
	if len(db.Blocks()) < 2 {
		t.Fatalf("%d blocks: the loop did not compact", len(db.Blocks()))
	}
}
