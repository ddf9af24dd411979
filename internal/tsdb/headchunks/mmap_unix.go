//go:build unix

package headchunks

import "syscall"

// mmap maps size bytes of the file read-only. size may exceed the file's
// length: pages past the end exist in the mapping but must not be
// touched (the kernel answers with SIGBUS), which is why readers only
// read bytes below file.size.
func mmap(fd uintptr, size int) ([]byte, error) {
	return syscall.Mmap(int(fd), 0, size, syscall.PROT_READ, syscall.MAP_SHARED)
}

func munmap(b []byte) error { return syscall.Munmap(b) }
