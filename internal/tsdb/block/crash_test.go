package block

import (
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/vigil-monitoring/vigil/internal/tsdb/vfs"
)

// countOps returns how many mutating file operations one Write makes.
func countOps(t *testing.T, write func(fsys vfs.FS, dir string) error) int {
	t.Helper()
	ffs := vfs.NewFaultFS(vfs.OS(), 0)
	if err := write(ffs, t.TempDir()); err != nil {
		t.Fatal(err)
	}
	return ffs.Ops()
}

// checkDir asserts that every directory in dir that Open accepts holds
// exactly want, and that nothing else is loadable. It returns the number
// of loadable blocks.
func checkDir(t *testing.T, dir string, want []series) int {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	loaded := 0
	for _, e := range ents {
		p := filepath.Join(dir, e.Name())
		b, err := Open(vfs.OS(), p)
		if err != nil {
			if IsTemporary(e.Name()) && !errors.Is(err, ErrNotBlock) {
				t.Fatalf("%s: temporary directory refused with %v, want ErrNotBlock", e.Name(), err)
			}
			if !IsTemporary(e.Name()) {
				t.Fatalf("%s: a finished block failed to open: %v", e.Name(), err)
			}
			continue
		}
		loaded++
		if d := diffSeries(selectSeries(t, b, 0, 10*hour), want); d != "" {
			t.Fatalf("%s loaded with wrong content: %s", e.Name(), d)
		}
		b.Close()
	}
	return loaded
}

// TestWriteCrash crashes the file system at random points of a block
// write. Afterwards a block is either absent or complete: the temporary
// directory is never loadable and a renamed block always holds all data.
func TestWriteCrash(t *testing.T) {
	src := genStorage(t, 25, 2*hour, 11)
	want := selectSeries(t, src, 0, 2*hour-1)
	write := func(fsys vfs.FS, dir string) error {
		_, err := Write(context.Background(), fsys, dir, Meta{MinTime: 0, MaxTime: 2 * hour}, selectSet(t, src, 0, 2*hour-1), WriteOptions{SegmentSize: 1 << 15})
		return err
	}
	total := countOps(t, write)
	rng := rand.New(rand.NewPCG(1, 2))
	complete := 0
	for i := range 60 {
		dir := t.TempDir()
		ffs := vfs.NewFaultFS(vfs.OS(), uint64(i))
		n := rng.IntN(total + 1)
		ffs.CrashAfter(n)
		err := write(ffs, dir)
		if err == nil && ffs.Crashed() {
			t.Fatalf("crash after %d of %d ops: Write reported success", n, total)
		}
		complete += checkDir(t, dir, want)
	}
	t.Logf("%d ops per write; %d of 60 crashed writes left a complete block", total, complete)
}

// TestWriteNoSpace fails writes as a full disk does: Write errors and
// leaves neither a block nor its temporary directory.
func TestWriteNoSpace(t *testing.T) {
	src := genStorage(t, 25, 2*hour, 12)
	write := func(fsys vfs.FS, dir string) error {
		_, err := Write(context.Background(), fsys, dir, Meta{MinTime: 0, MaxTime: 2 * hour}, selectSet(t, src, 0, 2*hour-1), WriteOptions{ColdFloatChunks: true, SegmentSize: 1 << 15})
		return err
	}
	total := countOps(t, write)
	for n := 0; n < total; n += max(1, total/60) {
		dir := t.TempDir()
		ffs := vfs.NewFaultFS(vfs.OS(), uint64(n))
		ffs.FailWritesAfter(n, nil)
		err := write(ffs, dir)
		if err == nil {
			// Only operations that are not writes remained (a rename or the
			// final directory sync cannot fail with ENOSPC here).
			if checkDir(t, dir, selectSeries(t, src, 0, 2*hour-1)) != 1 {
				t.Fatalf("ENOSPC after %d ops: success without a block", n)
			}
			continue
		}
		if !errors.Is(err, vfs.ErrNoSpace) {
			t.Fatalf("ENOSPC after %d ops: error %v does not wrap ENOSPC", n, err)
		}
		if ents, _ := os.ReadDir(dir); len(ents) != 0 {
			t.Fatalf("ENOSPC after %d ops: left %v", n, ents)
		}
	}
}
