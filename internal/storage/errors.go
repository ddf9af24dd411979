package storage

import "errors"

// ErrInvalidSample rejects a sample that no storage could accept: an empty
// label set, or a histogram append with both or neither of h and fh. The
// text is Prometheus'; remote-write receivers answer it with 400.
var ErrInvalidSample = errors.New("invalid sample")
