package vfs

import (
	"errors"
	"io"
	"io/fs"
	"math/rand/v2"
	"sync"
	"syscall"
)

// ErrCrashed is what every operation returns after FaultFS simulated a
// crash: the "process" is dead and must not touch the disk again.
var ErrCrashed = errors.New("vfs: simulated crash")

// ErrNoSpace is the ENOSPC error FailWritesAfter injects by default.
var ErrNoSpace error = syscall.ENOSPC

// FaultFS wraps an FS and injects faults into its mutating operations
// (file writes, syncs, truncations, creations, renames, removals):
//
//   - CrashAfter(n) lets n more mutating operations succeed and crashes in
//     the next one: a write is torn (a random prefix reaches the file), a
//     rename or remove happens or not at random, and from then on every
//     operation fails with ErrCrashed. Open files and locks are released
//     as the kernel would release them for a dead process, so the same
//     directory can be reopened through a new FS.
//   - FailWritesAfter(n, err) makes file writes, syncs and creations fail
//     with err after n more mutating operations, writing a random prefix
//     first as a short write does; other operations keep working, as on a
//     full disk.
//
// Crashes model a process crash: what a write handed to the OS survives.
type FaultFS struct {
	inner FS
	mu    struct {
		sync.Mutex
		ops     int // mutating operations attempted so far
		crashAt int // crash at this op number; 0 = never
		failAt  int // fail writes from this op number on; 0 = never
		failErr error
		crashed bool
		rng     *rand.Rand
		files   map[*faultFile]struct{}
		locks   map[*faultLock]struct{}
	}
}

// NewFaultFS wraps inner; seed makes torn-write lengths reproducible.
func NewFaultFS(inner FS, seed uint64) *FaultFS {
	f := &FaultFS{inner: inner}
	f.mu.rng = rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	f.mu.files = map[*faultFile]struct{}{}
	f.mu.locks = map[*faultLock]struct{}{}
	return f
}

// CrashAfter arranges a crash in the (n+1)-th mutating operation from now.
func (f *FaultFS) CrashAfter(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.mu.crashAt = f.mu.ops + n + 1
}

// FailWritesAfter makes writes fail with err (ErrNoSpace when nil) after n
// more mutating operations, until ClearFaults.
func (f *FaultFS) FailWritesAfter(n int, err error) {
	if err == nil {
		err = ErrNoSpace
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.mu.failAt = f.mu.ops + n + 1
	f.mu.failErr = err
}

// ClearFaults cancels pending crash and write-failure arrangements. It
// cannot undo a crash that happened.
func (f *FaultFS) ClearFaults() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.mu.crashAt, f.mu.failAt = 0, 0
}

// Crashed reports whether the simulated crash happened.
func (f *FaultFS) Crashed() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.mu.crashed
}

// Ops returns the number of mutating operations attempted so far, which
// lets a test pick crash points within a known workload.
func (f *FaultFS) Ops() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.mu.ops
}

// outcome is what a mutating operation must do.
type outcome int

const (
	proceed outcome = iota
	crashNow
	failNow
)

// step accounts for one mutating operation. writeLike tells whether
// FailWritesAfter applies to it.
func (f *FaultFS) step(writeLike bool) (outcome, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.mu.crashed {
		return crashNow, ErrCrashed
	}
	f.mu.ops++
	if f.mu.crashAt > 0 && f.mu.ops >= f.mu.crashAt {
		f.crashLocked()
		return crashNow, ErrCrashed
	}
	if writeLike && f.mu.failAt > 0 && f.mu.ops >= f.mu.failAt {
		return failNow, f.mu.failErr
	}
	return proceed, nil
}

// crashLocked marks the crash and releases what the dead process held.
func (f *FaultFS) crashLocked() {
	f.mu.crashed = true
	for ff := range f.mu.files {
		ff.inner.Close()
	}
	for l := range f.mu.locks {
		l.inner.Close()
	}
	clear(f.mu.files)
	clear(f.mu.locks)
}

func (f *FaultFS) alive() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.mu.crashed {
		return ErrCrashed
	}
	return nil
}

// coin returns a random bool, and intn a random int in [0, n).
func (f *FaultFS) coin() bool { return f.intn(2) == 0 }

func (f *FaultFS) intn(n int) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	if n <= 0 {
		return 0
	}
	return f.mu.rng.IntN(n)
}

func (f *FaultFS) track(inner File, err error) (File, error) {
	if err != nil {
		return nil, err
	}
	ff := &faultFile{fs: f, inner: inner}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.mu.crashed {
		inner.Close()
		return nil, ErrCrashed
	}
	f.mu.files[ff] = struct{}{}
	return ff, nil
}

func (f *FaultFS) Create(name string) (File, error) {
	switch o, err := f.step(true); o {
	case crashNow:
		if f.coin() {
			if c, cerr := f.inner.Create(name); cerr == nil {
				c.Close()
			}
		}
		return nil, err
	case failNow:
		return nil, err
	}
	return f.track(f.inner.Create(name))
}

func (f *FaultFS) Open(name string) (File, error) {
	if err := f.alive(); err != nil {
		return nil, err
	}
	return f.track(f.inner.Open(name))
}

func (f *FaultFS) OpenAppend(name string) (File, error) {
	if err := f.alive(); err != nil {
		return nil, err
	}
	return f.track(f.inner.OpenAppend(name))
}

// atomicOp runs op unless a fault is due; a crashing atomic operation
// either happened before the crash or not, at random.
func (f *FaultFS) atomicOp(writeLike bool, op func() error) error {
	switch o, err := f.step(writeLike); o {
	case crashNow:
		if f.coin() {
			_ = op()
		}
		return err
	case failNow:
		return err
	}
	return op()
}

func (f *FaultFS) Remove(name string) error {
	return f.atomicOp(false, func() error { return f.inner.Remove(name) })
}

func (f *FaultFS) RemoveAll(name string) error {
	return f.atomicOp(false, func() error { return f.inner.RemoveAll(name) })
}

func (f *FaultFS) Rename(oldname, newname string) error {
	return f.atomicOp(false, func() error { return f.inner.Rename(oldname, newname) })
}

func (f *FaultFS) MkdirAll(name string, perm fs.FileMode) error {
	return f.atomicOp(true, func() error { return f.inner.MkdirAll(name, perm) })
}

func (f *FaultFS) Truncate(name string, size int64) error {
	return f.atomicOp(false, func() error { return f.inner.Truncate(name, size) })
}

func (f *FaultFS) SyncDir(name string) error {
	return f.atomicOp(true, func() error { return f.inner.SyncDir(name) })
}

func (f *FaultFS) ReadDir(name string) ([]fs.DirEntry, error) {
	if err := f.alive(); err != nil {
		return nil, err
	}
	return f.inner.ReadDir(name)
}

func (f *FaultFS) Stat(name string) (fs.FileInfo, error) {
	if err := f.alive(); err != nil {
		return nil, err
	}
	return f.inner.Stat(name)
}

func (f *FaultFS) Lock(name string) (io.Closer, error) {
	if err := f.alive(); err != nil {
		return nil, err
	}
	inner, err := f.inner.Lock(name)
	if err != nil {
		return nil, err
	}
	l := &faultLock{fs: f, inner: inner}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.mu.locks[l] = struct{}{}
	return l, nil
}

type faultLock struct {
	fs    *FaultFS
	inner io.Closer
}

func (l *faultLock) Close() error {
	l.fs.mu.Lock()
	defer l.fs.mu.Unlock()
	if _, ok := l.fs.mu.locks[l]; !ok {
		return nil // released by a crash
	}
	delete(l.fs.mu.locks, l)
	return l.inner.Close()
}

// faultFile routes a file's operations through its FaultFS.
type faultFile struct {
	fs    *FaultFS
	inner File
}

func (ff *faultFile) Name() string { return ff.inner.Name() }

func (ff *faultFile) Read(p []byte) (int, error) {
	if err := ff.fs.alive(); err != nil {
		return 0, err
	}
	return ff.inner.Read(p)
}

func (ff *faultFile) ReadAt(p []byte, off int64) (int, error) {
	if err := ff.fs.alive(); err != nil {
		return 0, err
	}
	return ff.inner.ReadAt(p, off)
}

func (ff *faultFile) Seek(off int64, whence int) (int64, error) {
	if err := ff.fs.alive(); err != nil {
		return 0, err
	}
	return ff.inner.Seek(off, whence)
}

func (ff *faultFile) Stat() (fs.FileInfo, error) {
	if err := ff.fs.alive(); err != nil {
		return nil, err
	}
	return ff.inner.Stat()
}

// Write tears the write on a crash or an injected failure: a random
// strict prefix of p reaches the file.
func (ff *faultFile) Write(p []byte) (int, error) {
	o, err := ff.fs.step(true)
	if o == proceed {
		return ff.inner.Write(p)
	}
	n := ff.fs.intn(len(p))
	if o == crashNow {
		// The fd was closed by the crash; write the torn prefix through a
		// fresh handle so it lands where the dead process would have put it.
		ff.tornWrite(p[:n])
		return 0, err
	}
	m, _ := ff.inner.Write(p[:n])
	return m, err
}

func (ff *faultFile) tornWrite(p []byte) {
	if len(p) == 0 {
		return
	}
	f, err := ff.fs.inner.OpenAppend(ff.inner.Name())
	if err != nil {
		return
	}
	defer f.Close()
	_, _ = f.Write(p)
}

func (ff *faultFile) Sync() error {
	if o, err := ff.fs.step(true); o != proceed {
		return err
	}
	return ff.inner.Sync()
}

func (ff *faultFile) Truncate(size int64) error {
	if o, err := ff.fs.step(false); o != proceed {
		return err
	}
	return ff.inner.Truncate(size)
}

func (ff *faultFile) Close() error {
	ff.fs.mu.Lock()
	_, ok := ff.fs.mu.files[ff]
	delete(ff.fs.mu.files, ff)
	ff.fs.mu.Unlock()
	if !ok {
		return nil // closed by a crash
	}
	return ff.inner.Close()
}
