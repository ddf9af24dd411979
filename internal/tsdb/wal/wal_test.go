package wal

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/vigil-monitoring/vigil/internal/tsdb/vfs"
)

// randRecord returns a record of random size: mostly small, sometimes
// spanning several pages; half of them compressible.
func randRecord(rng *rand.Rand) []byte {
	var n int
	switch rng.IntN(10) {
	case 0:
		n = PageSize + rng.IntN(2*PageSize)
	case 1:
		n = PageSize - headerSize - 3 + rng.IntN(10) // around the page edge
	default:
		n = 1 + rng.IntN(300)
	}
	b := make([]byte, n)
	if rng.IntN(2) == 0 {
		for i := range b {
			b[i] = byte(rng.IntN(256))
		}
	} else {
		for i := range b {
			b[i] = byte(i % 7)
		}
	}
	b[0] = byte(1 + rng.IntN(7)) // records start with a type byte
	return b
}

func readAll(t *testing.T, fsys vfs.FS, dir string) ([][]byte, error) {
	t.Helper()
	r, err := NewReader(fsys, dir, 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var out [][]byte
	for r.Next() {
		out = append(out, bytes.Clone(r.Record()))
	}
	return out, r.Err()
}

func equalRecords(t *testing.T, got, want [][]byte) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d records, want %d", len(got), len(want))
	}
	for i := range got {
		if !bytes.Equal(got[i], want[i]) {
			t.Fatalf("record %d differs (len %d vs %d)", i, len(got[i]), len(want[i]))
		}
	}
}

func TestRoundTripAllCompressions(t *testing.T) {
	for _, comp := range []Compression{CompressionNone, CompressionSnappy, CompressionZstd} {
		t.Run(comp.String(), func(t *testing.T) {
			dir := t.TempDir()
			rng := rand.New(rand.NewPCG(uint64(comp), 7))
			w, err := Open(vfs.OS(), dir, Options{SegmentSize: 4 * PageSize, Compression: comp})
			if err != nil {
				t.Fatal(err)
			}
			var want [][]byte
			for range 300 {
				var batch [][]byte
				for range 1 + rng.IntN(3) {
					batch = append(batch, randRecord(rng))
				}
				if err := w.Log(batch...); err != nil {
					t.Fatal(err)
				}
				want = append(want, batch...)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			segs, _ := Segments(vfs.OS(), dir)
			if len(segs) < 10 {
				t.Fatalf("expected rotation into many segments, got %d", len(segs))
			}
			for _, s := range segs {
				fi, _ := os.Stat(SegmentName(dir, s))
				if fi.Size() > 4*PageSize {
					t.Fatalf("segment %d has %d bytes, above the segment size", s, fi.Size())
				}
			}
			got, err := readAll(t, vfs.OS(), dir)
			if err != nil {
				t.Fatal(err)
			}
			equalRecords(t, got, want)

			// Reopening starts a new segment and keeps everything.
			w, err = Open(vfs.OS(), dir, Options{SegmentSize: 4 * PageSize, Compression: comp})
			if err != nil {
				t.Fatal(err)
			}
			if w.LastSegment() != segs[len(segs)-1]+1 {
				t.Fatalf("reopen writes segment %d, want %d", w.LastSegment(), segs[len(segs)-1]+1)
			}
			extra := []byte{1, 2, 3}
			if err := w.Log(extra); err != nil {
				t.Fatal(err)
			}
			w.Close()
			got, err = readAll(t, vfs.OS(), dir)
			if err != nil {
				t.Fatal(err)
			}
			equalRecords(t, got, append(want, extra))
		})
	}
}

func TestRecordTooLarge(t *testing.T) {
	w, err := Open(vfs.OS(), t.TempDir(), Options{SegmentSize: PageSize})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if err := w.Log(make([]byte, PageSize)); !errors.Is(err, ErrRecordTooLarge) {
		t.Fatalf("got %v", err)
	}
	if err := w.Log([]byte{1}); err != nil {
		t.Fatalf("WAL unusable after rejecting a record: %v", err)
	}
}

// writeWAL logs n random records in batches of one and returns them.
func writeWAL(t *testing.T, dir string, n int, seed uint64, opts Options) [][]byte {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 1))
	w, err := Open(vfs.OS(), dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	var recs [][]byte
	for range n {
		r := randRecord(rng)
		if err := w.Log(r); err != nil {
			t.Fatal(err)
		}
		recs = append(recs, r)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return recs
}

// recordSpans returns the start and end offsets of each record of one
// segment, by reading it back.
func recordSpans(t *testing.T, dir string, seg int) (starts, ends []int64) {
	r, err := NewReader(vfs.OS(), dir, seg, seg)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for r.Next() {
		starts = append(starts, r.Offset())
		ends = append(ends, r.pageOff+int64(r.pagePos))
	}
	return starts, ends
}

// TestTornTailEveryCut truncates the last segment at many offsets: the
// reader must return exactly the records that ended before the cut, then
// report a corruption at the start of the torn record (or end cleanly at a
// record boundary), and Repair must make the WAL read cleanly again.
func TestTornTailEveryCut(t *testing.T) {
	base := t.TempDir()
	src := filepath.Join(base, "src")
	recs := writeWAL(t, src, 40, 3, Options{SegmentSize: 64 * PageSize, Compression: CompressionSnappy})
	segs, _ := Segments(vfs.OS(), src)
	if len(segs) != 1 {
		t.Fatalf("want one segment, got %v", segs)
	}
	orig, err := os.ReadFile(SegmentName(src, 0))
	if err != nil {
		t.Fatal(err)
	}
	starts, ends := recordSpans(t, src, 0)
	rng := rand.New(rand.NewPCG(5, 5))
	cuts := []int{0, 1, len(orig) - 1}
	for range 150 {
		cuts = append(cuts, rng.IntN(len(orig)))
	}
	for _, cut := range cuts {
		dir := filepath.Join(base, fmt.Sprint("cut", cut))
		if err := os.MkdirAll(dir, 0o777); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(SegmentName(dir, 0), orig[:cut], 0o666); err != nil {
			t.Fatal(err)
		}
		complete := 0 // records wholly before the cut
		for complete < len(ends) && ends[complete] <= int64(cut) {
			complete++
		}
		got, rerr := readAll(t, vfs.OS(), dir)
		equalRecords(t, got, recs[:complete])
		var cerr *CorruptionError
		atBoundary := complete == len(starts) || starts[complete] >= int64(cut)
		if atBoundary {
			if rerr != nil {
				t.Fatalf("cut %d at a record boundary: unexpected error %v", cut, rerr)
			}
			continue
		}
		if !errors.As(rerr, &cerr) {
			t.Fatalf("cut %d: want a CorruptionError, got %v", cut, rerr)
		}
		if cerr.Offset != starts[complete] || cerr.Segment != 0 {
			t.Fatalf("cut %d: corruption at %d/%d, want record start %d", cut, cerr.Segment, cerr.Offset, starts[complete])
		}
		if err := Repair(vfs.OS(), dir, cerr, nil); err != nil {
			t.Fatal(err)
		}
		got, rerr = readAll(t, vfs.OS(), dir)
		if rerr != nil {
			t.Fatalf("cut %d: after repair: %v", cut, rerr)
		}
		equalRecords(t, got, recs[:complete])
		// Repair twice changes nothing.
		if err := Repair(vfs.OS(), dir, cerr, nil); err != nil {
			t.Fatal(err)
		}
		// And the WAL takes new records after the repair.
		w, err := Open(vfs.OS(), dir, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Log([]byte{9, 9}); err != nil {
			t.Fatal(err)
		}
		w.Close()
		got, rerr = readAll(t, vfs.OS(), dir)
		if rerr != nil {
			t.Fatal(rerr)
		}
		equalRecords(t, got, append(recs[:complete:complete], []byte{9, 9}))
	}
}

func TestBitFlipDetectedAndRepaired(t *testing.T) {
	dir := t.TempDir()
	recs := writeWAL(t, dir, 200, 9, Options{SegmentSize: 4 * PageSize})
	segs, _ := Segments(vfs.OS(), dir)
	if len(segs) < 3 {
		t.Fatalf("want several segments, got %d", len(segs))
	}
	// Flip a byte in the middle of the second segment.
	victim := segs[1]
	name := SegmentName(dir, victim)
	b, _ := os.ReadFile(name)
	b[len(b)/2] ^= 0x40
	os.WriteFile(name, b, 0o666)

	got, rerr := readAll(t, vfs.OS(), dir)
	var cerr *CorruptionError
	if !errors.As(rerr, &cerr) || cerr.Segment != victim {
		t.Fatalf("want a corruption in segment %d, got %v", victim, rerr)
	}
	n := len(got)
	equalRecords(t, got, recs[:n])
	if err := Repair(vfs.OS(), dir, cerr, nil); err != nil {
		t.Fatal(err)
	}
	got, rerr = readAll(t, vfs.OS(), dir)
	if rerr != nil {
		t.Fatal(rerr)
	}
	equalRecords(t, got, recs[:n])
	if segs2, _ := Segments(vfs.OS(), dir); segs2[len(segs2)-1] != victim {
		t.Fatalf("segments after repair: %v", segs2)
	}
}

func TestSegmentGapRejected(t *testing.T) {
	dir := t.TempDir()
	writeWAL(t, dir, 100, 2, Options{SegmentSize: 4 * PageSize})
	segs, _ := Segments(vfs.OS(), dir)
	os.Remove(SegmentName(dir, segs[1]))
	if _, err := Segments(vfs.OS(), dir); err == nil {
		t.Fatal("gap not detected")
	}
}

// TestNoSpaceUndo fills the disk in the middle of Log calls: a failed Log
// leaves no trace, and the WAL works again once space returns.
func TestNoSpaceUndo(t *testing.T) {
	for seed := range uint64(40) {
		dir := t.TempDir()
		ffs := vfs.NewFaultFS(vfs.OS(), seed)
		rng := rand.New(rand.NewPCG(seed, 3))
		w, err := Open(ffs, dir, Options{SegmentSize: 4 * PageSize, Compression: CompressionSnappy})
		if err != nil {
			t.Fatal(err)
		}
		var acked [][]byte
		failed := 0
		for i := range 120 {
			if i%15 == 3 {
				ffs.FailWritesAfter(rng.IntN(4), nil)
			}
			if i%15 == 9 {
				ffs.ClearFaults()
			}
			batch := [][]byte{randRecord(rng), randRecord(rng)}
			if err := w.Log(batch...); err != nil {
				failed++
				continue
			}
			acked = append(acked, batch...)
		}
		ffs.ClearFaults()
		if err := w.Log([]byte{7}); err != nil {
			t.Fatalf("seed %d: WAL did not recover once space returned: %v", seed, err)
		}
		acked = append(acked, []byte{7})
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if failed == 0 {
			t.Fatalf("seed %d: no write failed; the test injected nothing", seed)
		}
		// Every failed Log left nothing behind; only records of a batch
		// whose earlier part a segment rotation had closed may remain, and
		// those are complete records. So reading must succeed and contain
		// the acknowledged records in order.
		got, rerr := readAll(t, vfs.OS(), dir)
		if rerr != nil {
			t.Fatalf("seed %d: %v", seed, rerr)
		}
		j := 0
		for _, g := range got {
			if j < len(acked) && bytes.Equal(g, acked[j]) {
				j++
			}
		}
		if j != len(acked) {
			t.Fatalf("seed %d: only %d of %d acknowledged records found", seed, j, len(acked))
		}
	}
}

// TestCrashDuringLog crashes the file system at random points: after the
// restart every acknowledged record is there in order, and the torn tail
// is repaired.
func TestCrashDuringLog(t *testing.T) {
	for seed := range uint64(60) {
		dir := t.TempDir()
		ffs := vfs.NewFaultFS(vfs.OS(), seed)
		rng := rand.New(rand.NewPCG(seed, 4))
		w, err := Open(ffs, dir, Options{SegmentSize: 4 * PageSize, Compression: Compression(seed % 3)})
		if err != nil {
			t.Fatal(err)
		}
		ffs.CrashAfter(rng.IntN(80))
		var acked [][]byte
		for !ffs.Crashed() {
			rec := randRecord(rng)
			if err := w.Log(rec); err == nil {
				acked = append(acked, rec)
			}
		}
		w.Close() // after a crash: must not panic, must not write

		got, rerr := readAll(t, vfs.OS(), dir)
		var cerr *CorruptionError
		if rerr != nil {
			if !errors.As(rerr, &cerr) {
				t.Fatalf("seed %d: %v", seed, rerr)
			}
			if err := Repair(vfs.OS(), dir, cerr, nil); err != nil {
				t.Fatal(err)
			}
			got, rerr = readAll(t, vfs.OS(), dir)
			if rerr != nil {
				t.Fatalf("seed %d: after repair: %v", seed, rerr)
			}
		}
		if len(got) < len(acked) || len(got) > len(acked)+1 {
			t.Fatalf("seed %d: %d records after the crash, %d acknowledged", seed, len(got), len(acked))
		}
		equalRecords(t, got[:len(acked)], acked)
	}
}
