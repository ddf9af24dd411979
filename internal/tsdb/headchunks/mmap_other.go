//go:build !unix

package headchunks

import "errors"

// Without mmap, files are read with ReadAt (see file.rf).
func mmap(uintptr, int) ([]byte, error) { return nil, errors.New("mmap is not supported here") }

func munmap([]byte) error { return nil }
