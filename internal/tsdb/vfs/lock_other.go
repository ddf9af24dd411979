//go:build !unix

package vfs

import (
	"fmt"
	"io"
	"os"
)

// lockFile on systems without flock creates the lock file exclusively.
// Unlike flock, a crash leaves the file behind and the next start fails
// until it is removed; Vigil's supported platforms are Unix.
func lockFile(name string) (io.Closer, error) {
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		if os.IsExist(err) {
			return nil, fmt.Errorf("%s: %w", name, ErrLocked)
		}
		return nil, err
	}
	return exclLock{f: f, name: name}, nil
}

type exclLock struct {
	f    *os.File
	name string
}

func (l exclLock) Close() error {
	l.f.Close()
	return os.Remove(l.name)
}
