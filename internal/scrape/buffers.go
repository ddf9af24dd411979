package scrape

import (
	"bufio"
	"io"
	"math"
	"math/bits"
	"sync"

	"github.com/klauspost/compress/gzip"
)

// Body buffers come in power-of-two size classes from minBufferSize to
// maxPooledBufferSize. Larger bodies get a buffer of their own that is
// dropped after the scrape: keeping one would pin that much memory for a
// single unusual response.
const (
	minBufferSize       = 1 << 10
	maxPooledBufferSize = 64 << 20
	bufferClasses       = 17 // 1 KiB << 16 == 64 MiB
)

// bufferPool shares body buffers among all loops of a manager. Loops are
// spread over their interval, so only the scrapes in flight hold a
// buffer; a per-loop buffer would keep one body's worth of memory per
// target. sync.Pool lets the garbage collector reclaim buffers nobody
// used for a while.
//
// INVARIANT: class i holds only buffers with minBufferSize<<i <= cap <
// minBufferSize<<(i+1), so a buffer from class i fits any size up to
// minBufferSize<<i.
type bufferPool struct {
	classes [bufferClasses]sync.Pool
}

// classAtLeast returns the smallest class whose buffers hold size bytes,
// or -1 when size is beyond the pooled classes.
func classAtLeast(size int) int {
	if size <= minBufferSize {
		return 0
	}
	c := bits.Len(uint((size - 1) / minBufferSize))
	if c >= bufferClasses {
		return -1
	}
	return c
}

// get returns an empty buffer with room for at least size bytes.
func (p *bufferPool) get(size int) *[]byte {
	c := classAtLeast(size)
	if c < 0 {
		b := make([]byte, 0, size)
		return &b
	}
	if v := p.classes[c].Get(); v != nil {
		b := v.(*[]byte)
		*b = (*b)[:0]
		return b
	}
	b := make([]byte, 0, minBufferSize<<c)
	return &b
}

// put returns a buffer for reuse. The caller must not touch it again.
func (p *bufferPool) put(b *[]byte) {
	n := cap(*b)
	if n < minBufferSize || n > maxPooledBufferSize {
		return
	}
	p.classes[bits.Len(uint(n/minBufferSize))-1].Put(b)
}

// readAll reads r to the end into bp, growing it through the pool. With a
// limit above zero it stops as soon as more than limit bytes arrived and
// returns errBodySizeLimit: reading one byte past the limit is how a body
// of exactly limit bytes is told apart from a longer one, and memory stays
// bounded by the limit whatever the target sends. It returns the buffer
// holding the data, which may not be bp.
func (p *bufferPool) readAll(bp *[]byte, r io.Reader, limit int64) (*[]byte, error) {
	most := int64(math.MaxInt)
	if limit > 0 {
		most = limit + 1
	}
	b := (*bp)[:0]
	for {
		if len(b) == cap(b) {
			nb := p.get(int(min(2*int64(cap(b))+minBufferSize, most)))
			*nb = append((*nb)[:0], b...)
			p.put(bp)
			bp, b = nb, *nb
		}
		end := cap(b)
		if int64(end) > most {
			end = int(most)
		}
		n, err := r.Read(b[len(b):end])
		b = b[:len(b)+n]
		*bp = b
		if limit > 0 && int64(len(b)) > limit {
			return bp, errBodySizeLimit
		}
		if err == io.EOF {
			return bp, nil
		}
		if err != nil {
			return bp, err
		}
	}
}

// gzipReader is a decompressor with its input buffer, pooled because each
// holds tens of kilobytes of state and only scrapes in flight need one.
type gzipReader struct {
	br *bufio.Reader
	gz gzip.Reader
}

var gzipReaders = sync.Pool{New: func() any { return &gzipReader{br: bufio.NewReaderSize(nil, 32<<10)} }}
