package tsdb

import (
	"context"
	"math"
	"path/filepath"
	"testing"

	"github.com/vigil-monitoring/vigil/internal/model/labels"
	"github.com/vigil-monitoring/vigil/internal/storage"
)

// withoutRange returns d without the samples in [mint, maxt] of series k,
// dropping the series when none remain.
func withoutRange(d map[string][]storage.Sample, k string, mint, maxt int64) map[string][]storage.Sample {
	out := map[string][]storage.Sample{}
	for name, ss := range d {
		if name != k {
			out[name] = ss
			continue
		}
		var kept []storage.Sample
		for _, s := range ss {
			if s.T < mint || s.T > maxt {
				kept = append(kept, s)
			}
		}
		if len(kept) > 0 {
			out[name] = kept
		}
	}
	return out
}

// TestDBDeleteAndCleanTombstones deletes ranges that span blocks and the
// head: queries skip them at once and after a restart; cleaning rewrites
// the blocks without them; the head's deletions never reach a block.
func TestDBDeleteAndCleanTombstones(t *testing.T) {
	dir := t.TempDir()
	db := openTestDB(t, dir, testOptions())
	fillHours(t, db, 5, 0, 8)
	mustCompact(t, db)
	before := db.Blocks()
	want := dump(t, db)
	s1 := `{__name__="m", s="1"}`
	// s=1 loses [1h, 7h], across two blocks and the head; the histogram
	// series loses everything.
	if err := db.Delete(context.Background(), hourMs, 7*hourMs, labels.MustNewMatcher(labels.MatchEqual, "s", "1")); err != nil {
		t.Fatal(err)
	}
	if err := db.Delete(context.Background(), math.MinInt64, math.MaxInt64, labels.MustNewMatcher(labels.MatchEqual, "__name__", "h")); err != nil {
		t.Fatal(err)
	}
	want = withoutRange(want, s1, hourMs, 7*hourMs)
	delete(want, `{__name__="h"}`)
	if err := sameDump(dump(t, db), want); err != nil {
		t.Fatalf("after delete: %v", err)
	}
	if db.Head().NumTombstones() != 2 {
		t.Fatalf("head tombstones %d, want 2", db.Head().NumTombstones())
	}
	// Deleting again changes nothing.
	if err := db.Delete(context.Background(), hourMs, 7*hourMs, labels.MustNewMatcher(labels.MatchEqual, "s", "1")); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	// The head's deletions come back from the WAL, the blocks' from their
	// tombstones files.
	db = openTestDB(t, dir, testOptions())
	defer db.Close()
	if err := sameDump(dump(t, db), want); err != nil {
		t.Fatalf("after delete and restart: %v", err)
	}
	if err := db.CleanTombstones(); err != nil {
		t.Fatal(err)
	}
	after := db.Blocks()
	if len(after) != len(before) {
		t.Fatalf("%d blocks after cleaning, %d before", len(after), len(before))
	}
	for i, m := range after {
		if m.ULID == before[i].ULID || m.Stats.NumTombstones != 0 || m.MinTime != before[i].MinTime {
			t.Fatalf("block %d not rewritten: %+v", i, m)
		}
		if m.Stats.NumSamples >= before[i].Stats.NumSamples {
			t.Fatalf("block %d: %d samples after cleaning, %d before", i, m.Stats.NumSamples, before[i].Stats.NumSamples)
		}
	}
	if n := len(blockDirs(t, dir)); n != len(after) {
		t.Fatalf("%d block directories for %d blocks", n, len(after))
	}
	if err := sameDump(dump(t, db), want); err != nil {
		t.Fatalf("after cleaning tombstones: %v", err)
	}
	// The head's range [6h, 8h) becomes a block without the deleted
	// samples.
	fillHours(t, db, 5, 8*hourMs, 2)
	want = dump(t, db)
	mustCompact(t, db)
	metas := db.Blocks()
	newest := metas[len(metas)-1]
	if newest.MinTime != 6*hourMs || newest.Stats.NumTombstones != 0 || newest.Stats.NumSeries != 5 {
		t.Fatalf("block from the head after a deletion: %+v", newest)
	}
	if err := sameDump(dump(t, db), want); err != nil {
		t.Fatalf("after compacting a head with deletions: %v", err)
	}
	if db.Head().NumTombstones() != 0 {
		t.Fatalf("head tombstones %d after the deleted range left the head", db.Head().NumTombstones())
	}
}

// TestDBDeleteHeadOnly: a deletion clamps to the series' samples, so
// samples appended afterwards in the deleted range's future stay.
func TestDBDeleteHeadOnly(t *testing.T) {
	db := openTestDB(t, t.TempDir(), testOptions())
	defer db.Close()
	fill(t, db, 2, 100, 0, 1000)
	if err := db.Delete(context.Background(), 50_000, math.MaxInt64, labels.MustNewMatcher(labels.MatchEqual, "s", "0")); err != nil {
		t.Fatal(err)
	}
	fill(t, db, 2, 10, 100_000, 1000)
	got := dump(t, db)[`{__name__="m", s="0"}`]
	if len(got) != 60 || got[49].T != 49_000 || got[50].T != 100_000 {
		t.Fatalf("%d samples after deleting [50s, end) and appending: %v", len(got), got)
	}
	// Seek lands on deleted samples and must skip them.
	q := mustQuerier(t, db)
	ss := q.Select(context.Background(), false, nil, labels.MustNewMatcher(labels.MatchEqual, "s", "0"))
	if !ss.Next() {
		t.Fatal("no series")
	}
	it := ss.At().Iterator(nil)
	if it.Seek(60_000) == storage.ValNone || it.AtT() != 100_000 {
		t.Fatalf("seek into a deleted range: %d", it.AtT())
	}
}

// TestDBSnapshot: a snapshot opens as a database with the same data; one
// without the head has only the blocks' data.
func TestDBSnapshot(t *testing.T) {
	dir := t.TempDir()
	db := openTestDB(t, dir, testOptions())
	defer db.Close()
	fillHours(t, db, 5, 0, 8)
	mustCompact(t, db)
	if err := db.Delete(context.Background(), 0, hourMs, labels.MustNewMatcher(labels.MatchEqual, "s", "2")); err != nil {
		t.Fatal(err)
	}
	want := dump(t, db)
	blocksEnd := db.Blocks()[len(db.Blocks())-1].MaxTime

	snap := filepath.Join(dir, "snapshots", "full")
	if err := db.Snapshot(snap, true); err != nil {
		t.Fatal(err)
	}
	sdb := openTestDB(t, snap, testOptions())
	if err := sameDump(dump(t, sdb), want); err != nil {
		t.Fatalf("snapshot with head: %v", err)
	}
	if n := len(sdb.Blocks()); n != len(db.Blocks())+1 {
		t.Fatalf("snapshot has %d blocks, want the %d blocks and the head's", n, len(db.Blocks()))
	}
	if err := sdb.Close(); err != nil {
		t.Fatal(err)
	}

	snap = filepath.Join(dir, "snapshots", "blocks")
	if err := db.Snapshot(snap, false); err != nil {
		t.Fatal(err)
	}
	sdb = openTestDB(t, snap, testOptions())
	defer sdb.Close()
	if err := sameDump(dump(t, sdb), dumpRange(t, db, math.MinInt64, blocksEnd-1)); err != nil {
		t.Fatalf("snapshot without head: %v", err)
	}
	// The data directory is untouched by the snapshots in it.
	if err := sameDump(dump(t, db), want); err != nil {
		t.Fatal(err)
	}
	if err := db.Snapshot(dir, true); err == nil {
		t.Fatal("snapshot into the data directory itself succeeded")
	}
}
