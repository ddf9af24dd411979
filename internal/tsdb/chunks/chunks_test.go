package chunks

import (
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigil-monitoring/vigil/internal/storage"
	"github.com/vigil-monitoring/vigil/internal/tsdb/chunkenc"
	"github.com/vigil-monitoring/vigil/internal/tsdb/vfs"
)

// xorChunk builds an XOR chunk of n samples starting at t0.
func xorChunk(t testing.TB, t0 int64, n int, seed uint64) *chunkenc.XORChunk {
	t.Helper()
	c := chunkenc.NewXORChunk()
	app, err := c.Appender()
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(seed, 0))
	for i := range n {
		app.Append(t0+int64(i)*15000, float64(rng.IntN(1000)))
	}
	return c
}

func samplesOf(t testing.TB, c chunkenc.Chunk) []storage.Sample {
	t.Helper()
	s, err := storage.ExpandSamples(c.Iterator(nil))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func equalSamples(a, b []storage.Sample) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !storage.SameSample(a[i], b[i]) {
			return false
		}
	}
	return true
}

func TestWriteReadRoundTrip(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "chunks")
	fsys := vfs.OS()
	// A small segment size forces several segments.
	w, err := NewWriter(fsys, dir, 4096)
	if err != nil {
		t.Fatal(err)
	}
	var metas []Meta
	for i := range 200 {
		c := xorChunk(t, int64(i)*1e6, 1+i%120, uint64(i))
		metas = append(metas, Meta{Chunk: c, MinT: int64(i) * 1e6})
	}
	cold, err := EncodeColdFloat([]int64{1, 2, 3}, []float64{1.5, 2.5, 3.5})
	if err != nil {
		t.Fatal(err)
	}
	metas = append(metas, Meta{Chunk: cold})
	if err := w.WriteChunks(metas...); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if w.Segments() < 2 {
		t.Fatalf("expected several segments, got %d", w.Segments())
	}
	r, err := NewReader(fsys, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for i, m := range metas {
		if m.Ref == 0 || m.Ref.Offset() < SegmentHeaderSize {
			t.Fatalf("chunk %d: bad ref %s", i, m.Ref)
		}
		c, err := r.Chunk(m.Ref)
		if err != nil {
			t.Fatalf("chunk %d (%s): %v", i, m.Ref, err)
		}
		if c.Encoding() != m.Chunk.Encoding() {
			t.Fatalf("chunk %d: encoding %s, want %s", i, c.Encoding(), m.Chunk.Encoding())
		}
		if !equalSamples(samplesOf(t, c), samplesOf(t, m.Chunk)) {
			t.Fatalf("chunk %d: samples differ", i)
		}
	}
	var total int64
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		fi, _ := e.Info()
		total += fi.Size()
		if fi.Size() > 4096 {
			t.Fatalf("segment %s is %d bytes, over the limit", e.Name(), fi.Size())
		}
	}
	if r.Size() != total {
		t.Fatalf("Size %d, files hold %d", r.Size(), total)
	}
}

func TestEmptyWriter(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "chunks")
	w, err := NewWriter(vfs.OS(), dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	r, err := NewReader(vfs.OS(), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, err := r.Chunk(NewChunkRef(1, 8)); !errors.Is(err, ErrCorruption) {
		t.Fatalf("reference into a missing segment: %v", err)
	}
}

func TestCorruptChunkNamesFileAndOffset(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "chunks")
	w, err := NewWriter(vfs.OS(), dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	metas := []Meta{{Chunk: xorChunk(t, 0, 50, 1)}, {Chunk: xorChunk(t, 1e6, 50, 2)}}
	if err := w.WriteChunks(metas...); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	seg := SegmentName(dir, 1)
	b, err := os.ReadFile(seg)
	if err != nil {
		t.Fatal(err)
	}
	off := metas[1].Ref.Offset()
	b[off+5] ^= 0x40 // inside the second chunk's data
	if err := os.WriteFile(seg, b, 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := NewReader(vfs.OS(), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, err := r.Chunk(metas[0].Ref); err != nil {
		t.Fatalf("undamaged chunk: %v", err)
	}
	_, err = r.Chunk(metas[1].Ref)
	var ce *CorruptionError
	if !errors.As(err, &ce) || !errors.Is(err, ErrCorruption) {
		t.Fatalf("damaged chunk: got %v, want a CorruptionError", err)
	}
	if ce.File != seg || ce.Offset != int64(off) || !strings.Contains(err.Error(), "checksum") {
		t.Fatalf("error %q names %s@%d, want %s@%d", err, ce.File, ce.Offset, seg, off)
	}

	// A truncated segment: the reference runs past the end.
	if err := os.WriteFile(seg, b[:off+3], 0o644); err != nil {
		t.Fatal(err)
	}
	r2, err := NewReader(vfs.OS(), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer r2.Close()
	if _, err := r2.Chunk(metas[1].Ref); !errors.As(err, &ce) || ce.Offset != int64(off) {
		t.Fatalf("truncated chunk: %v", err)
	}
}

func TestReaderRejectsBadSegments(t *testing.T) {
	for name, b := range map[string][]byte{
		"short":   {0x56, 0x47},
		"magic":   {1, 2, 3, 4, 1, 0, 0, 0},
		"version": {0x56, 0x47, 0x43, 0x4B, 9, 0, 0, 0},
	} {
		if _, err := NewReaderFromBytes(b); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	// A gap in segment numbers is corruption.
	dir := t.TempDir()
	hdr := []byte{0x56, 0x47, 0x43, 0x4B, 1, 0, 0, 0}
	os.WriteFile(filepath.Join(dir, "000001"), hdr, 0o644)
	os.WriteFile(filepath.Join(dir, "000003"), hdr, 0o644)
	if _, err := NewReader(vfs.OS(), dir); !errors.Is(err, ErrCorruption) {
		t.Fatalf("segment gap: %v", err)
	}
}

func TestWriterFailsOnInjectedErrors(t *testing.T) {
	for n := range 12 {
		ffs := vfs.NewFaultFS(vfs.OS(), uint64(n))
		ffs.FailWritesAfter(n, nil)
		dir := filepath.Join(t.TempDir(), "chunks")
		w, err := NewWriter(ffs, dir, 2048)
		if err != nil {
			continue
		}
		var werr error
		for i := range 60 {
			if werr = w.WriteChunks(Meta{Chunk: xorChunk(t, int64(i)*1e6, 100, uint64(i))}); werr != nil {
				break
			}
		}
		cerr := w.Close()
		if werr == nil && cerr == nil {
			t.Fatalf("fault after %d ops: no error reported", n)
		}
		if werr != nil && cerr == nil {
			t.Fatalf("fault after %d ops: Close succeeded after a failed write", n)
		}
	}
}
