package wal

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/vigil-monitoring/vigil/internal/tsdb/vfs"
)

// FuzzReader reads arbitrary bytes as a segment: the reader must end with
// records, a clean end or a CorruptionError, never a panic; and Repair at
// a reported corruption must leave a segment that reads cleanly.
func FuzzReader(f *testing.F) {
	seedDir := f.TempDir()
	w, _ := Open(vfs.OS(), seedDir, Options{Compression: CompressionSnappy})
	w.Log([]byte{1, 2, 3}, make([]byte, 40000), []byte("hello"))
	w.Close()
	seg, _ := os.ReadFile(SegmentName(seedDir, 0))
	f.Add(seg)
	f.Add([]byte{kindFull, 0, 1, 0, 0, 0, 0, 1})
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "00000000"), data, 0o666); err != nil {
			t.Fatal(err)
		}
		r, err := NewReader(vfs.OS(), dir, 0, -1)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for r.Next() {
			n++
		}
		rerr := r.Err()
		r.Close()
		cerr, ok := rerr.(*CorruptionError)
		if rerr != nil && !ok {
			t.Fatalf("non-corruption error %v", rerr)
		}
		if cerr == nil {
			return
		}
		if err := Repair(vfs.OS(), dir, cerr, nil); err != nil {
			t.Fatal(err)
		}
		r, _ = NewReader(vfs.OS(), dir, 0, -1)
		m := 0
		for r.Next() {
			m++
		}
		if r.Err() != nil || m != n {
			t.Fatalf("after repair: %d records (want %d), err %v", m, n, r.Err())
		}
		r.Close()
	})
}
