package headchunks

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vigil-monitoring/vigil/internal/tsdb/chunkenc"
	"github.com/vigil-monitoring/vigil/internal/tsdb/vfs"
)

// testChunk is what a test wrote and expects back.
type testChunk struct {
	series     uint64
	minT, maxT int64
	enc        chunkenc.Encoding
	data       []byte
	ref        Ref
}

// xorData returns real XOR chunk bytes with n samples, so that readers
// can decode what they get back.
func xorData(t testing.TB, seed, n int) []byte {
	t.Helper()
	c := chunkenc.NewXORChunk()
	app, err := c.Appender()
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		app.Append(int64(seed*1000+i), float64(seed+i))
	}
	return bytes.Clone(c.Bytes())
}

func openStore(t testing.TB, dir string, fsys vfs.FS, maxFile int64, buf int) *Store {
	t.Helper()
	s, err := Open(dir, Options{FS: fsys, MaxFileSize: maxFile, WriteBufferSize: buf})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func writeChunks(t testing.TB, s *Store, n int) []testChunk {
	t.Helper()
	var out []testChunk
	for i := range n {
		c := testChunk{series: uint64(i%7 + 1), minT: int64(i * 1000), maxT: int64(i*1000 + 999), enc: chunkenc.EncXOR, data: xorData(t, i, 1+i%100)}
		ref, err := s.Write(c.series, c.minT, c.maxT, c.enc, c.data, false)
		if err != nil {
			t.Fatal(err)
		}
		c.ref = ref
		out = append(out, c)
	}
	return out
}

func checkChunks(t testing.TB, r *Reader, want []testChunk) {
	t.Helper()
	for i, c := range want {
		got, err := r.Chunk(c.ref)
		if err != nil {
			t.Fatalf("chunk %d (%v): %v", i, c.ref, err)
		}
		if got.Encoding() != c.enc || !bytes.Equal(got.Bytes(), c.data) {
			t.Fatalf("chunk %d (%v): got %d bytes of %v, want %d of %v", i, c.ref, len(got.Bytes()), got.Encoding(), len(c.data), c.enc)
		}
	}
}

func replayAll(t testing.TB, s *Store) ([]Entry, ReplayStats) {
	t.Helper()
	var es []Entry
	st, err := s.Replay(func(e Entry) { es = append(es, e) })
	if err != nil {
		t.Fatal(err)
	}
	return es, st
}

func TestWriteReadReplay(t *testing.T) {
	for _, mode := range []string{"mmap", "readat"} {
		t.Run(mode, func(t *testing.T) {
			dir := t.TempDir()
			var fsys vfs.FS = vfs.OS()
			if mode == "readat" {
				fsys = vfs.NewFaultFS(vfs.OS(), 1) // its files have no descriptor
			}
			s := openStore(t, dir, fsys, 8<<10, 1<<10)
			replayAll(t, s)
			want := writeChunks(t, s, 300)
			r := s.Reader()
			// Some are in the write buffer, most in files.
			checkChunks(t, r, want)
			if st := s.Stats(); st.Files < 4 || st.OverflowChunks != 0 {
				t.Fatalf("stats %+v: expected several files and no overflow", st)
			}
			// Decoding works on mapped bytes.
			c, _ := r.Chunk(want[10].ref)
			if n := c.NumSamples(); n != 11 { // 1+10%100 samples
				t.Fatalf("chunk 10 has %d samples", n)
			}
			r.Close()
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}

			s = openStore(t, dir, fsys, 8<<10, 1<<10)
			defer s.Close()
			es, st := replayAll(t, s)
			if st.Corruption != nil || len(es) != len(want) {
				t.Fatalf("replay: %d entries, stats %+v", len(es), st)
			}
			for i, e := range es {
				c := want[i]
				if e.Ref != c.ref || e.Series != c.series || e.MinT != c.minT || e.MaxT != c.maxT || e.Encoding != c.enc {
					t.Fatalf("entry %d: %+v, wrote %+v", i, e, c)
				}
			}
			r = s.Reader()
			checkChunks(t, r, want)
			r.Close()
			// Writing continues in a new file after the replayed ones.
			more := writeChunks(t, s, 10)
			if more[0].ref.Seq() <= want[len(want)-1].ref.Seq() {
				t.Fatalf("new chunk %v not after %v", more[0].ref, want[len(want)-1].ref)
			}
		})
	}
}

// lastFile returns the path of the highest-numbered file in dir.
func lastFile(t *testing.T, dir string) string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil || len(ents) == 0 {
		t.Fatal(err, len(ents))
	}
	return filepath.Join(dir, ents[len(ents)-1].Name())
}

func TestReplayCutsCorruption(t *testing.T) {
	cases := []struct {
		name string
		// damage changes the files; it returns how many of the chunks
		// written must survive.
		damage func(t *testing.T, dir string, want []testChunk) int
	}{
		{"torn tail", func(t *testing.T, dir string, want []testChunk) int {
			last := want[len(want)-1]
			name := filepath.Join(dir, fmt.Sprintf("%06d", last.ref.Seq()))
			fi, _ := os.Stat(name)
			if err := os.Truncate(name, fi.Size()-3); err != nil {
				t.Fatal(err)
			}
			return len(want) - 1
		}},
		{"garbage after the last entry", func(t *testing.T, dir string, want []testChunk) int {
			f, err := os.OpenFile(lastFile(t, dir), os.O_APPEND|os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			f.Write([]byte{0, 0, 0, 0, 0, 0, 0, 9, 1, 2, 3})
			f.Close()
			return len(want)
		}},
		{"bad checksum in an early file", func(t *testing.T, dir string, want []testChunk) int {
			// Chunk 40's file is cut before it and every later file goes,
			// even though they are intact: the prefix rule.
			c := want[40]
			name := filepath.Join(dir, fmt.Sprintf("%06d", c.ref.Seq()))
			b, _ := os.ReadFile(name)
			b[int(c.ref.Offset())+fixedSize+3] ^= 0x40
			if err := os.WriteFile(name, b, 0o644); err != nil {
				t.Fatal(err)
			}
			return 40
		}},
		{"empty last file", func(t *testing.T, dir string, want []testChunk) int {
			last := want[len(want)-1].ref.Seq()
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("%06d", last+1)), nil, 0o644); err != nil {
				t.Fatal(err)
			}
			return len(want)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			s := openStore(t, dir, nil, 8<<10, 1<<10)
			replayAll(t, s)
			want := writeChunks(t, s, 200)
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			keep := tc.damage(t, dir, want)

			var logs bytes.Buffer
			s, err := Open(dir, Options{MaxFileSize: 8 << 10, WriteBufferSize: 1 << 10, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
			if err != nil {
				t.Fatal(err)
			}
			es, st := replayAll(t, s)
			if len(es) != keep || st.Corruption == nil {
				t.Fatalf("replay kept %d of %d entries (want %d), corruption %v", len(es), len(want), keep, st.Corruption)
			}
			if !strings.Contains(logs.String(), "torn or corrupt tail") {
				t.Fatalf("repair not logged:\n%s", logs.String())
			}
			r := s.Reader()
			checkChunks(t, r, want[:keep])
			r.Close()
			// New chunks follow; a second replay finds nothing wrong.
			more := writeChunks(t, s, 5)
			s.Close()
			s = openStore(t, dir, nil, 8<<10, 1<<10)
			defer s.Close()
			es, st = replayAll(t, s)
			if st.Corruption != nil || len(es) != keep+len(more) {
				t.Fatalf("second replay: %d entries, corruption %v", len(es), st.Corruption)
			}
		})
	}
}

func TestReplayRefusesUnknownFormat(t *testing.T) {
	for _, hdr := range [][]byte{
		{0x56, 0x47, 0x48, 0x43, 2, 0, 0, 0}, // a future version
		{0x85, 0xBD, 0x40, 0xDD, 1, 0, 0, 0}, // someone else's file
	} {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "000001"), hdr, 0o644); err != nil {
			t.Fatal(err)
		}
		s := openStore(t, dir, nil, 0, 0)
		_, err := s.Replay(func(Entry) {})
		var fe *FormatError
		if !errors.As(err, &fe) || !strings.Contains(err.Error(), "000001") {
			t.Fatalf("replay of %x: %v", hdr, err)
		}
		s.Close()
		if b, _ := os.ReadFile(filepath.Join(dir, "000001")); !bytes.Equal(b, hdr) {
			t.Fatal("refused file was modified")
		}
	}
}

func TestTruncateWaitsForReaders(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir, nil, 8<<10, 1<<10)
	defer s.Close()
	replayAll(t, s)
	want := writeChunks(t, s, 300)
	old := s.Reader()
	c0, err := old.Chunk(want[0].ref)
	if err != nil {
		t.Fatal(err)
	}
	before := s.Stats().Files
	cut := want[150].ref.Seq()
	n, err := s.Truncate(cut)
	if err != nil || n != int(cut-1) {
		t.Fatalf("truncate deleted %d files (want %d): %v", n, cut-1, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "000001")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("file 1 still on disk: %v", err)
	}
	// The old reader still reads the deleted files, through the mapping.
	if !bytes.Equal(c0.Bytes(), want[0].data) {
		t.Fatal("mapped bytes changed after deletion")
	}
	checkChunks(t, old, want)
	// A new reader cannot reach them.
	fresh := s.Reader()
	if _, err := fresh.Chunk(want[0].ref); !errors.Is(err, ErrNotFound) {
		t.Fatalf("new reader read a deleted file: %v", err)
	}
	checkChunks(t, fresh, want[150:])
	fresh.Close()
	s.mu.Lock()
	retired := len(s.mu.retiredFiles)
	s.mu.Unlock()
	if retired != int(cut-1) {
		t.Fatalf("%d retired files while an old reader is open", retired)
	}
	old.Close()
	s.mu.Lock()
	retired = len(s.mu.retiredFiles)
	s.mu.Unlock()
	if retired != 0 {
		t.Fatalf("%d files still mapped after the last old reader closed", retired)
	}
	// Truncate sealed the file being written: the next chunk starts a new
	// one, so that a later truncation can delete the current one.
	if s.Stats().Files >= before {
		t.Fatalf("files %d -> %d", before, s.Stats().Files)
	}
	next := writeChunks(t, s, 1)
	if next[0].ref.Seq() != want[299].ref.Seq()+1 {
		t.Fatalf("chunk after truncation went to %v, last before was %v", next[0].ref, want[299].ref)
	}
}

func TestWriteFailuresOverflowAndMigrate(t *testing.T) {
	dir := t.TempDir()
	ffs := vfs.NewFaultFS(vfs.OS(), 5)
	s := openStore(t, dir, ffs, 8<<10, 1<<10)
	replayAll(t, s)
	want := writeChunks(t, s, 20)
	// The disk fills: buffered writes fail and are retried, and once the
	// file is full no new file can be created, so chunks stay in memory.
	ffs.FailWritesAfter(0, nil)
	failed := writeChunks(t, s, 100)
	inMem := 0
	for _, c := range failed {
		if c.ref.InMemory() {
			inMem++
		}
	}
	if inMem == 0 || s.Stats().OverflowChunks != inMem {
		t.Fatalf("%d chunks in memory, stats %+v", inMem, s.Stats())
	}
	r := s.Reader()
	checkChunks(t, r, want)
	checkChunks(t, r, failed)
	// memOnly keeps a chunk in memory even when the disk works.
	ffs.ClearFaults()
	ref, err := s.Write(9, 0, 1, chunkenc.EncXOR, xorData(t, 1, 2), true)
	if err != nil || !ref.InMemory() {
		t.Fatalf("memOnly write: %v %v", ref, err)
	}
	s.Release(ref)
	// Space is back: overflow chunks move to files, oldest first.
	oldRefs := slices.Clone(failed)
	for i, c := range failed {
		if !c.ref.InMemory() {
			continue
		}
		nr, ok := s.Migrate(c.ref)
		if !ok || nr.InMemory() {
			t.Fatalf("migrate %v: %v %v", c.ref, nr, ok)
		}
		failed[i].ref = nr
	}
	if st := s.Stats(); st.OverflowChunks != 0 {
		t.Fatalf("stats after migration %+v", st)
	}
	// The old reader still reaches the migrated overflow chunks.
	checkChunks(t, r, oldRefs)
	checkChunks(t, r, failed)
	r.Close()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// On disk: exactly the chunks, no torn remains of the failed writes.
	s = openStore(t, dir, vfs.OS(), 8<<10, 1<<10)
	defer s.Close()
	es, st := replayAll(t, s)
	if st.Corruption != nil || len(es) != len(want)+len(failed) {
		t.Fatalf("replay after failures: %d entries, corruption %v", len(es), st.Corruption)
	}
	r = s.Reader()
	defer r.Close()
	checkChunks(t, r, want)
	checkChunks(t, r, failed)
}

// TestRandomRefsAgainstModel writes, truncates and reads at random and
// compares every read with what was written.
func TestRandomRefsAgainstModel(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	s := openStore(t, t.TempDir(), nil, 16<<10, 2<<10)
	defer s.Close()
	replayAll(t, s)
	var live []testChunk
	for round := range 50 {
		live = append(live, writeChunks(t, s, rng.IntN(60))...)
		if round%7 == 6 && len(live) > 0 {
			// Drop the oldest third, as a head truncation would.
			k := len(live) / 3
			live = live[k:]
			before := s.CurrentSeq()
			if len(live) > 0 {
				before = min(before, live[0].ref.Seq())
			}
			if _, err := s.Truncate(before); err != nil {
				t.Fatal(err)
			}
		}
		r := s.Reader()
		checkChunks(t, r, live)
		r.Close()
	}
}

func FuzzParseEntry(f *testing.F) {
	f.Add(appendEntry(nil, 1, 2, 3, chunkenc.EncXOR, []byte{0, 1, 2}))
	f.Add(appendEntry(nil, 1<<60, -5, 1<<40, chunkenc.EncHistogram, make([]byte, 300)))
	f.Add([]byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, b []byte) {
		e, data, n, err := parseEntry(b)
		if err != nil {
			return
		}
		// What decodes re-encodes to the same bytes.
		if again := appendEntry(nil, e.Series, e.MinT, e.MaxT, e.Encoding, data); !bytes.Equal(again, b[:n]) {
			t.Fatalf("re-encoding differs:\n%x\n%x", again, b[:n])
		}
	})
}

func TestDeferWaitsForOlderReaders(t *testing.T) {
	s := openStore(t, t.TempDir(), nil, 0, 0)
	defer s.Close()
	replayAll(t, s)
	ran := 0
	s.Defer(func() { ran++ })
	if ran != 1 {
		t.Fatal("deferred function did not run without readers")
	}
	r1 := s.Reader()
	s.Defer(func() { ran++ })
	r2 := s.Reader() // opened after: it does not hold the function back
	if ran != 1 {
		t.Fatal("deferred function ran while an older reader was open")
	}
	r1.Close()
	if ran != 2 {
		t.Fatal("deferred function did not run when the older reader closed")
	}
	r2.Close()
	r1.Close() // closing twice is harmless
}
