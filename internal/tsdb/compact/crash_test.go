package compact

import (
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/vigil-monitoring/vigil/internal/storage/storagetest"
	"github.com/vigil-monitoring/vigil/internal/tsdb/block"
	"github.com/vigil-monitoring/vigil/internal/tsdb/vfs"
)

// crashFixture is a directory with three 2h source blocks, copied fresh
// for each crash iteration.
type crashFixture struct {
	template string
	names    []string // source block directory names
	src      *storagetest.MemStorage
	want     []series // content of the compacted block
}

func newCrashFixture(t *testing.T) *crashFixture {
	src := storagetest.NewMemStorage()
	fill(t, src, 16, 0, 6*hour, 0)
	f := &crashFixture{template: t.TempDir(), src: src}
	for i := range int64(3) {
		d := writeBlock(t, f.template, src, i*2*hour, (i+1)*2*hour)
		f.names = append(f.names, filepath.Base(d))
	}
	f.want = selectSeries(t, src, 0, 6*hour-1)
	return f
}

func (f *crashFixture) copy(t *testing.T) (string, []string) {
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS(f.template)); err != nil {
		t.Fatal(err)
	}
	var dirs []string
	for _, n := range f.names {
		dirs = append(dirs, filepath.Join(dir, n))
	}
	return dir, dirs
}

// check asserts the state after a failed or crashed compaction: every
// source block opens with its data unchanged, any other loadable block
// holds the complete merged data, and temporary directories are refused.
// It returns whether a compacted block exists.
func (f *crashFixture) check(t *testing.T, dir string) bool {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, e := range ents {
		p := filepath.Join(dir, e.Name())
		b, err := block.Open(vfs.OS(), p)
		if err != nil {
			if !block.IsTemporary(e.Name()) {
				t.Fatalf("%s: finished block refused: %v", e.Name(), err)
			}
			if !errors.Is(err, block.ErrNotBlock) {
				t.Fatalf("%s: temporary directory refused with %v, want ErrNotBlock", e.Name(), err)
			}
			continue
		}
		m := b.Meta()
		got := selectSeries(t, b, 0, 6*hour)
		b.Close()
		if slices.Contains(f.names, e.Name()) {
			if d := diffSeries(got, selectSeries(t, f.src, m.MinTime, m.MaxTime-1)); d != "" {
				t.Fatalf("source %s damaged: %s", e.Name(), d)
			}
			continue
		}
		found = true
		if d := diffSeries(got, f.want); d != "" {
			t.Fatalf("compacted block %s incomplete: %s", e.Name(), d)
		}
	}
	for _, n := range f.names {
		if _, err := os.Stat(filepath.Join(dir, n)); err != nil {
			t.Fatalf("source %s gone: %v", n, err)
		}
	}
	return found
}

func compactWith(fsys vfs.FS, dir string, dirs []string) error {
	c, err := New(Options{FS: fsys, SegmentSize: 1 << 14})
	if err != nil {
		return err
	}
	_, err = c.Compact(context.Background(), dir, dirs, nil)
	return err
}

// TestCompactCrash crashes the file system at random points of a
// compaction, 60 times.
func TestCompactCrash(t *testing.T) {
	f := newCrashFixture(t)
	dir, dirs := f.copy(t)
	counter := vfs.NewFaultFS(vfs.OS(), 0)
	if err := compactWith(counter, dir, dirs); err != nil {
		t.Fatal(err)
	}
	total := counter.Ops()
	rng := rand.New(rand.NewPCG(3, 4))
	complete := 0
	for i := range 60 {
		dir, dirs := f.copy(t)
		ffs := vfs.NewFaultFS(vfs.OS(), uint64(i))
		n := rng.IntN(total + 1)
		ffs.CrashAfter(n)
		err := compactWith(ffs, dir, dirs)
		if err == nil && ffs.Crashed() {
			t.Fatalf("crash after %d of %d ops: Compact reported success", n, total)
		}
		if f.check(t, dir) {
			complete++
		}
	}
	t.Logf("%d mutating ops per compaction; %d of 60 crashed runs left a complete block", total, complete)
}

// TestCompactNoSpace fills the disk at every point of a compaction: it
// fails with ENOSPC and leaves no new block, and the sources intact.
func TestCompactNoSpace(t *testing.T) {
	f := newCrashFixture(t)
	dir, dirs := f.copy(t)
	counter := vfs.NewFaultFS(vfs.OS(), 0)
	if err := compactWith(counter, dir, dirs); err != nil {
		t.Fatal(err)
	}
	total := counter.Ops()
	for n := 0; n < total; n += max(1, total/50) {
		dir, dirs := f.copy(t)
		ffs := vfs.NewFaultFS(vfs.OS(), uint64(n))
		ffs.FailWritesAfter(n, nil)
		err := compactWith(ffs, dir, dirs)
		if !errors.Is(err, vfs.ErrNoSpace) {
			t.Fatalf("ENOSPC after %d of %d ops: got %v", n, total, err)
		}
		if f.check(t, dir) {
			t.Fatalf("ENOSPC after %d ops: a compacted block exists", n)
		}
		if ents, _ := os.ReadDir(dir); len(ents) != len(f.names) {
			t.Fatalf("ENOSPC after %d ops: left %d entries, want the %d sources", n, len(ents), len(f.names))
		}
	}
}
