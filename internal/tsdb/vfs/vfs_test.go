package vfs

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

func TestLockExclusive(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "lock")
	l1, err := OS().Lock(name)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := OS().Lock(name); !errors.Is(err, ErrLocked) {
		t.Fatalf("second lock: got %v, want ErrLocked", err)
	}
	if err := l1.Close(); err != nil {
		t.Fatal(err)
	}
	l2, err := OS().Lock(name)
	if err != nil {
		t.Fatalf("relock after release: %v", err)
	}
	l2.Close()
}

func TestFaultCrashTearsWriteAndStopsEverything(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "f")
	ffs := NewFaultFS(OS(), 1)
	lock, err := ffs.Lock(filepath.Join(dir, "lock"))
	if err != nil {
		t.Fatal(err)
	}
	f, err := ffs.Create(name) // op 1
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte("hello ")); err != nil { // op 2
		t.Fatal(err)
	}
	ffs.CrashAfter(0)
	payload := bytes.Repeat([]byte("x"), 1000)
	if _, err := f.Write(payload); !errors.Is(err, ErrCrashed) { // op 3 crashes
		t.Fatalf("crashing write: %v", err)
	}
	if !ffs.Crashed() {
		t.Fatal("not marked crashed")
	}
	if _, err := ffs.Open(name); !errors.Is(err, ErrCrashed) {
		t.Fatalf("open after crash: %v", err)
	}
	if err := f.Sync(); !errors.Is(err, ErrCrashed) {
		t.Fatalf("sync after crash: %v", err)
	}
	got, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(got, []byte("hello ")) || len(got) >= len("hello ")+len(payload) {
		t.Fatalf("torn write left %d bytes", len(got))
	}
	// The dead process's lock is gone: a new "process" can take it.
	l2, err := OS().Lock(filepath.Join(dir, "lock"))
	if err != nil {
		t.Fatalf("lock after crash: %v", err)
	}
	l2.Close()
	_ = lock.Close() // harmless after the crash
	_ = f.Close()
}

func TestFaultNoSpace(t *testing.T) {
	dir := t.TempDir()
	ffs := NewFaultFS(OS(), 2)
	f, err := ffs.Create(filepath.Join(dir, "f"))
	if err != nil {
		t.Fatal(err)
	}
	ffs.FailWritesAfter(1, nil)
	if _, err := f.Write([]byte("ok")); err != nil {
		t.Fatal(err)
	}
	n, err := f.Write([]byte("too much"))
	if !errors.Is(err, ErrNoSpace) || n >= len("too much") {
		t.Fatalf("write on full disk: n=%d err=%v", n, err)
	}
	// Truncation still works on a full disk, so a writer can clean up.
	if err := f.Truncate(2); err != nil {
		t.Fatal(err)
	}
	ffs.ClearFaults()
	if _, err := f.Seek(0, io.SeekEnd); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte("!")); err != nil {
		t.Fatal(err)
	}
	f.Close()
	got, _ := os.ReadFile(filepath.Join(dir, "f"))
	if string(got) != "ok!" {
		t.Fatalf("file holds %q", got)
	}
}

func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "meta.json")
	if err := WriteFileAtomic(OS(), name, []byte("one")); err != nil {
		t.Fatal(err)
	}
	if err := WriteFileAtomic(OS(), name, []byte("two")); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(name)
	if string(got) != "two" {
		t.Fatalf("got %q", got)
	}
	if _, err := os.Stat(name + ".tmp"); !os.IsNotExist(err) {
		t.Fatal("temporary file left behind")
	}
}
