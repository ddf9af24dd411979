//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package chunks

import "errors"

// Without mmap support MapFile reads files into memory.
func mmap(uintptr, int) ([]byte, error) { return nil, errors.New("mmap unsupported") }

func munmap([]byte) error { return nil }
