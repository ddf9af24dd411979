//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package chunks

import "syscall"

func mmap(fd uintptr, size int) ([]byte, error) {
	return syscall.Mmap(int(fd), 0, size, syscall.PROT_READ, syscall.MAP_SHARED)
}

func munmap(b []byte) error { return syscall.Munmap(b) }
