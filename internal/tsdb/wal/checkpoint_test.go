package wal

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/vigil-monitoring/vigil/internal/model/labels"
	"github.com/vigil-monitoring/vigil/internal/model/metadata"
	"github.com/vigil-monitoring/vigil/internal/storage"
	"github.com/vigil-monitoring/vigil/internal/tsdb/record"
	"github.com/vigil-monitoring/vigil/internal/tsdb/vfs"
)

// checkpointContents decodes every record of a checkpoint.
type contents struct {
	series  []storage.SeriesRef
	samples []record.RefSample
	stones  []record.Stone
	meta    []record.RefMetadata
}

func readContents(t *testing.T, fsys vfs.FS, dir string) contents {
	t.Helper()
	r, err := NewReader(fsys, dir, 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var c contents
	for r.Next() {
		rec := r.Record()
		switch record.TypeOf(rec) {
		case record.Series:
			ss, err := record.DecodeSeries(rec, nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range ss {
				c.series = append(c.series, s.Ref)
			}
		case record.Samples:
			ss, err := record.DecodeSamples(rec, nil)
			if err != nil {
				t.Fatal(err)
			}
			c.samples = append(c.samples, ss...)
		case record.Tombstones:
			ss, err := record.DecodeTombstones(rec, nil)
			if err != nil {
				t.Fatal(err)
			}
			c.stones = append(c.stones, ss...)
		case record.Metadata:
			ms, err := record.DecodeMetadata(rec, nil)
			if err != nil {
				t.Fatal(err)
			}
			c.meta = append(c.meta, ms...)
		}
	}
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestCheckpoint(t *testing.T) {
	dir := t.TempDir()
	w, err := Open(vfs.OS(), dir, Options{SegmentSize: 2 * PageSize, Compression: CompressionSnappy})
	if err != nil {
		t.Fatal(err)
	}
	// Series 1..10; samples at t = 0..99 for each; metadata twice for
	// series 2; tombstones for 3 and 4.
	var series []record.RefSeries
	for i := 1; i <= 10; i++ {
		series = append(series, record.RefSeries{Ref: storage.SeriesRef(i), Labels: labels.FromStrings("i", string(rune('a'+i)))})
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(w.Log(record.EncodeSeries(nil, series)))
	for ts := range int64(100) {
		var ss []record.RefSample
		for i := 1; i <= 10; i++ {
			ss = append(ss, record.RefSample{Ref: storage.SeriesRef(i), T: ts, V: float64(ts)})
		}
		must(w.Log(record.EncodeSamples(nil, ss)))
	}
	must(w.Log(record.EncodeMetadata(nil, []record.RefMetadata{{Ref: 2, Meta: metadata.Metadata{Help: "old"}}})))
	must(w.Log(record.EncodeMetadata(nil, []record.RefMetadata{{Ref: 2, Meta: metadata.Metadata{Help: "new"}}})))
	must(w.Log(record.EncodeTombstones(nil, []record.Stone{{Ref: 3, Mint: 0, Maxt: 10}, {Ref: 4, Mint: 0, Maxt: 90}})))
	last, err := w.NextSegment()
	must(err)

	keep := func(ref storage.SeriesRef) bool { return ref%2 == 0 } // odd series were GC'd
	stats, err := Checkpoint(vfs.OS(), dir, 0, last-1, keep, 50, CheckpointOptions{Compression: CompressionSnappy})
	must(err)
	if stats.Series != 5 || stats.DroppedSeries != 5 || stats.Samples != 5*50 || stats.Metadata != 1 || stats.Tombstones != 1 {
		t.Fatalf("stats %+v", stats)
	}
	cpDir, idx, err := LastCheckpoint(vfs.OS(), dir)
	must(err)
	if idx != last-1 {
		t.Fatalf("checkpoint index %d, want %d", idx, last-1)
	}
	c := readContents(t, vfs.OS(), cpDir)
	if !slices.Equal(c.series, []storage.SeriesRef{2, 4, 6, 8, 10}) {
		t.Fatalf("series %v", c.series)
	}
	for _, s := range c.samples {
		if s.T < 50 || s.Ref%2 != 0 {
			t.Fatalf("sample %v should have been dropped", s)
		}
	}
	if len(c.meta) != 1 || c.meta[0].Meta.Help != "new" {
		t.Fatalf("metadata %v", c.meta)
	}
	if len(c.stones) != 1 || c.stones[0].Ref != 4 {
		t.Fatalf("tombstones %v", c.stones)
	}

	// Truncate, log more, and checkpoint again on top of the first.
	must(w.Truncate(last))
	must(w.Log(record.EncodeSamples(nil, []record.RefSample{{Ref: 2, T: 200, V: 1}, {Ref: 6, T: 200, V: 1}})))
	last2, err := w.NextSegment()
	must(err)
	keep2 := func(ref storage.SeriesRef) bool { return ref == 2 }
	_, err = Checkpoint(vfs.OS(), dir, last, last2-1, keep2, 60, CheckpointOptions{})
	must(err)
	must(DeleteCheckpoints(vfs.OS(), dir, last2-1))
	cpDir, _, _ = LastCheckpoint(vfs.OS(), dir)
	c = readContents(t, vfs.OS(), cpDir)
	if !slices.Equal(c.series, []storage.SeriesRef{2}) || len(c.samples) != 41 {
		t.Fatalf("second checkpoint: series %v, %d samples", c.series, len(c.samples))
	}
	cps, _ := checkpoints(vfs.OS(), dir)
	if len(cps) != 1 {
		t.Fatalf("old checkpoint not deleted: %v", cps)
	}
	w.Close()
}

// TestCheckpointCrash crashes a checkpoint at every mutating operation: the
// previous state stays readable and no partial checkpoint is ever taken
// for complete.
func TestCheckpointCrash(t *testing.T) {
	base := t.TempDir()
	src := filepath.Join(base, "src")
	w, err := Open(vfs.OS(), src, Options{SegmentSize: 2 * PageSize})
	if err != nil {
		t.Fatal(err)
	}
	var series []record.RefSeries
	for i := 1; i <= 300; i++ {
		series = append(series, record.RefSeries{Ref: storage.SeriesRef(i), Labels: labels.FromStrings("n", string(rune(0x100+i)))})
	}
	w.Log(record.EncodeSeries(nil, series))
	for ts := range int64(20) {
		var ss []record.RefSample
		for i := 1; i <= 300; i++ {
			ss = append(ss, record.RefSample{Ref: storage.SeriesRef(i), T: ts, V: 1})
		}
		w.Log(record.EncodeSamples(nil, ss))
	}
	last, _ := w.NextSegment()
	w.Close()

	for crashAt := 0; ; crashAt++ {
		dir := filepath.Join(base, "c", string(rune('a'+crashAt%26))+string(rune('a'+crashAt/26)))
		if err := os.CopyFS(dir, os.DirFS(src)); err != nil {
			t.Fatal(err)
		}
		ffs := vfs.NewFaultFS(vfs.OS(), uint64(crashAt))
		ffs.CrashAfter(crashAt)
		_, err := Checkpoint(ffs, dir, 0, last-1, func(storage.SeriesRef) bool { return true }, 10, CheckpointOptions{})
		if err == nil {
			if ffs.Crashed() {
				t.Fatal("checkpoint reported success after a crash")
			}
			break // crashAt is past the last operation: done
		}
		if !errors.Is(err, vfs.ErrCrashed) {
			t.Fatalf("crash at %d: unexpected error %v", crashAt, err)
		}
		// After the crash: a checkpoint, if one is visible, is complete.
		if cpDir, idx, err := LastCheckpoint(vfs.OS(), dir); err != nil {
			t.Fatal(err)
		} else if idx >= 0 {
			c := readContents(t, vfs.OS(), cpDir)
			if len(c.series) != 300 || len(c.samples) != 300*10 {
				t.Fatalf("crash at %d: visible checkpoint is partial: %d series, %d samples", crashAt, len(c.series), len(c.samples))
			}
		}
		// The original segments are untouched.
		if got, err := readAll(t, vfs.OS(), dir); err != nil || len(got) != 21 {
			t.Fatalf("crash at %d: segments damaged: %d records, %v", crashAt, len(got), err)
		}
		if crashAt > 1000 {
			t.Fatal("checkpoint never completed")
		}
	}
}

// TestCheckpointAfterPartialDeletion checkpoints again after only some of
// the segments the last checkpoint covers were deleted (a crash or a
// failure cut the deletion short): the new checkpoint must still build on
// the last one, which alone holds the records of the deleted segments,
// and must not take the covered segments' records a second time.
func TestCheckpointAfterPartialDeletion(t *testing.T) {
	dir := t.TempDir()
	w, err := Open(vfs.OS(), dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	// Segment i holds series i+1 and a sample of it.
	for i := range 4 {
		ref := storage.SeriesRef(i + 1)
		must(w.Log(record.EncodeSeries(nil, []record.RefSeries{{Ref: ref, Labels: labels.FromStrings("i", string(rune('a'+i)))}}),
			record.EncodeSamples(nil, []record.RefSample{{Ref: ref, T: 100, V: 1}})))
		_, err := w.NextSegment()
		must(err)
	}
	all := func(storage.SeriesRef) bool { return true }
	_, err = Checkpoint(vfs.OS(), dir, 0, 1, all, 0, CheckpointOptions{})
	must(err)
	must(vfs.OS().Remove(SegmentName(dir, 0))) // segment 1 outlives checkpoint 1

	if _, err := Checkpoint(vfs.OS(), dir, 1, 1, all, 0, CheckpointOptions{}); err == nil {
		t.Fatal("a checkpoint of segments the last one covers succeeded")
	}
	_, err = Checkpoint(vfs.OS(), dir, 1, 2, all, 0, CheckpointOptions{})
	must(err)
	cpDir, idx, err := LastCheckpoint(vfs.OS(), dir)
	must(err)
	if idx != 2 {
		t.Fatalf("checkpoint index %d, want 2", idx)
	}
	c := readContents(t, vfs.OS(), cpDir)
	if !slices.Equal(c.series, []storage.SeriesRef{1, 2, 3}) || len(c.samples) != 3 {
		t.Fatalf("series %v, samples %v; want series 1-3 with one sample each", c.series, c.samples)
	}
}

func TestParseOOO(t *testing.T) {
	samples := record.EncodeSamples(nil, []record.RefSample{{Ref: 1, T: 5, V: 1}})
	for _, tc := range []struct {
		rec  []byte
		kind OOOKind
		n    int
		ok   bool
	}{
		{[]byte{8}, OOOReset, 0, true},
		{append([]byte{8}, samples...), OOOSamples, 0, true},
		{append([]byte{8, 8}, samples...), OOORelogSamples, 0, true},
		{OOORelogHeaderRecord(300), OOORelogHeader, 300, true},
		{[]byte{8, 8}, 0, 0, false},          // relog record wrapping nothing
		{[]byte{8, 8, 0}, 0, 0, false},       // header without a count
		{[]byte{8, 8, 0, 0}, 0, 0, false},    // empty relog: a reset marker's job
		{[]byte{8, 8, 0, 1, 5}, 0, 0, false}, // trailing bytes
		{[]byte{8, 3, 1}, 0, 0, false},       // wraps tombstones
		{[]byte{8, 8, 1}, 0, 0, false},       // relog of series
		{[]byte{2}, 0, 0, false},             // not type 8
	} {
		kind, inner, n, err := ParseOOO(tc.rec)
		if (err == nil) != tc.ok {
			t.Fatalf("%v: err %v, want ok=%v", tc.rec, err, tc.ok)
		}
		if err != nil {
			if !errors.Is(err, record.ErrInvalid) {
				t.Fatalf("%v: error %v does not wrap record.ErrInvalid", tc.rec, err)
			}
			continue
		}
		if kind != tc.kind || n != tc.n {
			t.Fatalf("%v: kind %v n %d, want %v %d", tc.rec, kind, n, tc.kind, tc.n)
		}
		if (kind == OOOSamples || kind == OOORelogSamples) && !slices.Equal(inner, samples) {
			t.Fatalf("%v: inner %v", tc.rec, inner)
		}
	}
}
