package chunks

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"slices"
	"sync"

	"github.com/klauspost/compress/zstd"

	"github.com/vigil-monitoring/vigil/internal/model/histogram"
	"github.com/vigil-monitoring/vigil/internal/storage"
	"github.com/vigil-monitoring/vigil/internal/tsdb/chunkenc"
)

// EncColdFloat is the cold-data float encoding (docs/format/chunks.md,
// "Vigil cold float v1"). Blocks written by compaction use it: their
// chunks are never appended to again, so the encoder can look at all of a
// chunk's samples before choosing how to code them, and can afford zstd.
//
// Values that are short decimals (what exporters print: integers,
// counters with a few decimals) are turned into integer mantissas with a
// shared power-of-ten exponent and coded as deltas or delta-of-deltas;
// everything else falls back to an embedded XOR chunk. Byte-aligned
// varint streams are then compressed with zstd when that is smaller, which
// turns the long runs of zero deltas of constant gauges and regular
// timestamps into a few bytes.
const EncColdFloat chunkenc.Encoding = 32

// Value codings of a cold chunk (the low two bits of its flags byte).
const (
	coldDecimalDelta = 0
	coldDecimalDod   = 1
	coldXOR          = 2

	coldCodingMask = 0x03
	coldZstd       = 0x04
	coldFlagsMask  = coldCodingMask | coldZstd
)

// Limits of the cold encoding.
const (
	// ColdMaxSamples is the most samples a cold chunk holds.
	ColdMaxSamples = math.MaxUint16
	// coldMaxExp is the largest decimal exponent: 10^18 is exact in a
	// float64, so m / 10^e is one correctly rounded division.
	coldMaxExp = 18
	// coldMaxMantissa bounds mantissas to the integers a float64 holds
	// exactly.
	coldMaxMantissa = 1 << 53
	// coldMaxBytesPerSample bounds a decoded payload: two 10-byte varints
	// and an exception (a varint and 8 bytes) per sample. Decoders refuse
	// larger payload lengths before allocating.
	coldMaxBytesPerSample = 40
	// coldMinZstd is the payload size below which zstd is not tried: its
	// frame overhead outweighs any saving.
	coldMinZstd = 24
)

var pow10 = func() (p [coldMaxExp + 1]float64) {
	p[0] = 1
	for i := 1; i < len(p); i++ {
		p[i] = p[i-1] * 10
	}
	return p
}()

// invPow10[e] is 1/10^e correctly rounded, for divPow10.
var invPow10 = func() (p [coldMaxExp + 1]float64) {
	for i := range p {
		p[i] = 1 / pow10[i]
	}
	return p
}()

// divPow10 returns m/d correctly rounded, as the division would, for an
// integer m with |m| <= 2^53, d = 10^e (e <= coldMaxExp) and inv =
// invPow10[e]. It takes one multiplication and two fused multiply-adds,
// which pipeline where a division does not: a quotient within an ulp,
// its exact remainder, and the correction that rounds correctly
// (Markstein's theorem; TestDivPow10 checks it against division).
func divPow10(m, d, inv float64) float64 {
	q := m * inv
	r := math.FMA(-q, d, m)
	return math.FMA(r, inv, q)
}

var (
	zstdEncoder = sync.OnceValue(func() *zstd.Encoder {
		e, err := zstd.NewWriter(nil,
			zstd.WithEncoderLevel(zstd.SpeedBetterCompression),
			zstd.WithEncoderConcurrency(1),
			zstd.WithEncoderCRC(false), // the chunk file has its own CRC
			zstd.WithLowerEncoderMem(true))
		if err != nil {
			panic(err) // only invalid options fail
		}
		return e
	})
	zstdDecoder = sync.OnceValue(func() *zstd.Decoder {
		d, err := zstd.NewReader(nil,
			zstd.WithDecoderConcurrency(0),
			zstd.WithDecoderMaxMemory(ColdMaxSamples*coldMaxBytesPerSample+1024))
		if err != nil {
			panic(err)
		}
		return d
	})
)

// ColdChunk is a chunk in the cold float encoding. It is immutable.
type ColdChunk struct {
	b []byte
	n int
}

var _ chunkenc.Chunk = (*ColdChunk)(nil)

// ColdChunkFromData wraps encoded bytes after checking the header; the
// rest is checked as the iterator decodes it.
func ColdChunkFromData(b []byte) (*ColdChunk, error) {
	n, err := coldHeader(b)
	if err != nil {
		return nil, err
	}
	return &ColdChunk{b: b, n: n}, nil
}

// coldHeader checks a cold chunk's header and returns its sample count.
func coldHeader(b []byte) (int, error) {
	if len(b) < 2 {
		return 0, fmt.Errorf("cold chunk of %d bytes is shorter than its header", len(b))
	}
	if b[0]&^coldFlagsMask != 0 || b[0]&coldCodingMask > coldXOR {
		return 0, fmt.Errorf("cold chunk has unknown flags %#x", b[0])
	}
	n, k := binary.Uvarint(b[1:])
	if k <= 0 || n == 0 || n > ColdMaxSamples {
		return 0, fmt.Errorf("cold chunk has a bad sample count")
	}
	return int(n), nil
}

func (c *ColdChunk) Encoding() chunkenc.Encoding { return EncColdFloat }
func (c *ColdChunk) Bytes() []byte               { return c.b }
func (c *ColdChunk) NumSamples() int             { return c.n }

// EncodeColdFloat encodes the samples (ts strictly increasing, at most
// ColdMaxSamples of them) choosing the smallest of the codings. The
// result never exceeds the XOR chunk of the same samples by more than a
// few header bytes. It is (&ColdEncoder{}).Encode.
func EncodeColdFloat(ts []int64, vs []float64) (*ColdChunk, error) {
	var e ColdEncoder
	return e.Encode(ts, vs)
}

// ColdEncoder encodes cold chunks, keeping scratch buffers between calls
// so a block writer encoding millions of chunks allocates only their
// results. It is not safe for concurrent use.
type ColdEncoder struct {
	ms        []int64
	exps      []int
	exc       []bool
	tsb, pay  []byte
	candidate []byte
}

// Encode is EncodeColdFloat with the encoder's buffers. The chunk owns
// its bytes.
func (e *ColdEncoder) Encode(ts []int64, vs []float64) (*ColdChunk, error) {
	n := len(ts)
	if n == 0 || n != len(vs) || n > ColdMaxSamples {
		return nil, fmt.Errorf("cold chunk needs 1..%d samples with as many values, got %d and %d", ColdMaxSamples, n, len(vs))
	}
	for i := 1; i < n; i++ {
		if ts[i] <= ts[i-1] {
			return nil, fmt.Errorf("cold chunk timestamps not increasing at %d (%d after %d)", i, ts[i], ts[i-1])
		}
	}
	var best []byte
	consider := func(coding byte, payload []byte) {
		e.candidate = coldFrame(e.candidate[:0], coding, n, payload, false)
		if best == nil || len(e.candidate) < len(best) {
			best = append(best[:0], e.candidate...)
		}
		if len(payload) >= coldMinZstd {
			e.candidate = coldFrame(e.candidate[:0], coding, n, payload, true)
			if len(e.candidate) < len(best) {
				best = append(best[:0], e.candidate...)
			}
		}
	}
	if coding, payload, ok := e.encodeDecimal(ts, vs); ok {
		consider(coding, payload)
	}
	// Building the XOR chunk costs as much as the rest; its size is known
	// beforehand, so it is only built when it can win.
	if best == nil || 1+uvarintSize(uint64(n))+xorSize(ts, vs) < len(best) {
		xc := chunkenc.NewXORChunk()
		xa, err := xc.Appender()
		if err != nil {
			return nil, err
		}
		for i := range ts {
			xa.Append(ts[i], vs[i])
		}
		consider(coldXOR, xc.Bytes())
	}
	return &ColdChunk{b: slices.Clip(best), n: n}, nil
}

// xorSize returns the size in bytes of the XOR chunk of the samples,
// following the rules of docs/format/chunks.md without writing bits.
func xorSize(ts []int64, vs []float64) int {
	nbits := 16 + 8*varintLen(ts[0]) + 64
	if len(ts) > 1 {
		nbits += 8 * uvarintSize(uint64(ts[1]-ts[0]))
	}
	for i := 2; i < len(ts); i++ {
		switch dod := (ts[i] - ts[i-1]) - (ts[i-1] - ts[i-2]); {
		case dod == 0:
			nbits++
		case -8191 <= dod && dod <= 8192:
			nbits += 2 + 14
		case -65535 <= dod && dod <= 65536:
			nbits += 3 + 17
		case -524287 <= dod && dod <= 524288:
			nbits += 4 + 20
		default:
			nbits += 4 + 64
		}
	}
	lead, trail := -1, 0 // no window yet
	for i := 1; i < len(vs); i++ {
		x := math.Float64bits(vs[i]) ^ math.Float64bits(vs[i-1])
		if x == 0 {
			nbits++
			continue
		}
		l, t := min(bits.LeadingZeros64(x), 31), bits.TrailingZeros64(x)
		if lead >= 0 && l >= lead && t >= trail {
			nbits += 2 + 64 - lead - trail
			continue
		}
		lead, trail = l, t
		nbits += 2 + 5 + 6 + 64 - l - t
	}
	return (nbits + 7) / 8
}

// coldFrame appends the chunk header and the payload, compressed or not.
func coldFrame(dst []byte, coding byte, n int, payload []byte, compress bool) []byte {
	flags := coding
	if compress {
		flags |= coldZstd
	}
	dst = append(dst, flags)
	dst = binary.AppendUvarint(dst, uint64(n))
	if !compress {
		return append(dst, payload...)
	}
	dst = binary.AppendUvarint(dst, uint64(len(payload)))
	return zstdEncoder().EncodeAll(payload, dst)
}

// decimalOf returns v as m / 10^e with the smallest e, when v is finite,
// not negative zero, and such an exact representation exists with
// |m| <= 2^53 and e <= coldMaxExp.
func decimalOf(v float64) (m int64, e int, ok bool) {
	if math.IsNaN(v) || math.IsInf(v, 0) || (v == 0 && math.Signbit(v)) {
		return 0, 0, false
	}
	for e := 0; e <= coldMaxExp; e++ {
		x := v * pow10[e]
		if math.Abs(x) > coldMaxMantissa {
			return 0, 0, false
		}
		r := math.Round(x)
		// v*10^e is itself rounded, so the mantissa may be one off.
		for _, c := range [3]float64{r, r - 1, r + 1} {
			if math.Abs(c) <= coldMaxMantissa && c/pow10[e] == v {
				return int64(c), e, true
			}
		}
	}
	return 0, 0, false
}

// encodeDecimal builds the payload of the decimal codings, picking delta
// or delta-of-delta for the mantissas by size. Values that have no
// decimal form at the chunk's exponent become exceptions stored as raw
// bits. It reports false when every value would be an exception.
func (e *ColdEncoder) encodeDecimal(ts []int64, vs []float64) (byte, []byte, bool) {
	n := len(vs)
	e.ms = slices.Grow(e.ms[:0], n)[:n]
	e.exps = slices.Grow(e.exps[:0], n)[:n]
	e.exc = slices.Grow(e.exc[:0], n)[:n]
	ms, exps, exc := e.ms, e.exps, e.exc
	clear(exc)
	maxE, some := 0, false
	for i, v := range vs {
		m, exp, ok := decimalOf(v)
		if !ok {
			exc[i] = true
			continue
		}
		ms[i], exps[i], some = m, exp, true
		maxE = max(maxE, exp)
	}
	if !some {
		return 0, nil, false
	}
	nExc := 0
	var prev int64
	for i := range ms {
		if !exc[i] {
			m, ok := scaleMantissa(ms[i], maxE-exps[i])
			// Check the round trip rather than trust the arithmetic.
			if ok && float64(m)/pow10[maxE] == vs[i] {
				ms[i] = m
			} else {
				exc[i] = true
			}
		}
		if exc[i] {
			// An exception repeats the previous mantissa, so it costs
			// nothing in the delta stream.
			ms[i] = prev
			nExc++
		}
		prev = ms[i]
	}
	if nExc == n {
		return 0, nil, false
	}
	// Size both value codings without building them.
	var deltaSize, dodSize int
	for i := 1; i < n; i++ {
		d := ms[i] - ms[i-1]
		deltaSize += varintLen(d)
		if i == 1 {
			dodSize += varintLen(d)
		} else {
			dodSize += varintLen(d - (ms[i-1] - ms[i-2]))
		}
	}
	coding := byte(coldDecimalDelta)
	if dodSize < deltaSize {
		coding = coldDecimalDod
	}

	tsb := binary.AppendVarint(e.tsb[:0], ts[0])
	for i := 1; i < n; i++ {
		d := ts[i] - ts[i-1]
		if i == 1 {
			tsb = binary.AppendVarint(tsb, d)
		} else {
			tsb = binary.AppendVarint(tsb, d-(ts[i-1]-ts[i-2]))
		}
	}
	e.tsb = tsb
	p := binary.AppendUvarint(e.pay[:0], uint64(len(tsb)))
	p = append(p, tsb...)
	p = append(p, byte(maxE))
	p = binary.AppendUvarint(p, uint64(nExc))
	last := -1
	for i := range exc {
		if exc[i] {
			p = binary.AppendUvarint(p, uint64(i-last-1))
			p = binary.BigEndian.AppendUint64(p, math.Float64bits(vs[i]))
			last = i
		}
	}
	p = binary.AppendVarint(p, ms[0])
	for i := 1; i < n; i++ {
		d := ms[i] - ms[i-1]
		if coding == coldDecimalDod && i > 1 {
			d -= ms[i-1] - ms[i-2]
		}
		p = binary.AppendVarint(p, d)
	}
	e.pay = p
	return coding, p, true
}

// scaleMantissa returns m * 10^k when it stays within the exact range.
func scaleMantissa(m int64, k int) (int64, bool) {
	for ; k > 0; k-- {
		if m > coldMaxMantissa/10 || m < -coldMaxMantissa/10 {
			return 0, false
		}
		m *= 10
	}
	return m, true
}

func uvarintSize(x uint64) int {
	n := 1
	for x >= 0x80 {
		x >>= 7
		n++
	}
	return n
}

func varintLen(x int64) int {
	ux := uint64(x) << 1
	if x < 0 {
		ux = ^ux
	}
	n := 1
	for ux >= 0x80 {
		ux >>= 7
		n++
	}
	return n
}

// Iterator implements chunkenc.Chunk.
func (c *ColdChunk) Iterator(it storage.Iterator) storage.Iterator {
	ci, ok := it.(*coldIterator)
	if !ok {
		ci = &coldIterator{}
	}
	ci.reset(c.b, c.n)
	return ci
}

// errColdCorrupt wraps every decoding failure of a cold chunk.
var errColdCorrupt = errors.New("corrupt cold chunk")

func coldErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errColdCorrupt, fmt.Sprintf(format, args...))
}

// coldIterator decodes a cold chunk. The decimal codings are decoded
// sample by sample from two varint streams (timestamps, mantissas); the
// XOR coding delegates to chunkenc's iterator.
//
// INVARIANT: onSample is true exactly when the last Next or Seek returned
// ValFloat, and then t and v hold that sample.
type coldIterator struct {
	total, read int
	onSample    bool
	err         error

	xor chunkenc.FloatBatchIterator // the XOR coding's delegate, nil otherwise

	buf      []byte // decompressed payload, reused across chunks
	coding   byte
	tsb, vb  []byte // unread parts of the two streams
	exps     []byte // unread exception list
	excLeft  int
	nextExc  int     // index of the next exception, -1 when none is left
	div, inv float64 // 10^exponent and its correctly rounded reciprocal
	t, dT    int64
	m, dM    int64
	v        float64
	xorReuse storage.Iterator
}

func (it *coldIterator) reset(b []byte, n int) {
	xorReuse, buf := it.xorReuse, it.buf
	*it = coldIterator{total: n, xorReuse: xorReuse, buf: buf, nextExc: -1}
	if err := it.init(b); err != nil {
		it.err = err
	}
}

func (it *coldIterator) init(b []byte) error {
	flags := b[0]
	it.coding = flags & coldCodingMask
	_, k := binary.Uvarint(b[1:])
	payload := b[1+k:]
	if flags&coldZstd != 0 {
		raw, k := binary.Uvarint(payload)
		if k <= 0 || raw > uint64(it.total)*coldMaxBytesPerSample+64 {
			return coldErr("bad payload length")
		}
		out, err := zstdDecoder().DecodeAll(payload[k:], it.buf[:0])
		if err != nil {
			return coldErr("zstd: %v", err)
		}
		if uint64(len(out)) != raw {
			return coldErr("payload of %d bytes, header says %d", len(out), raw)
		}
		it.buf = out
		payload = out
	}
	if it.coding == coldXOR {
		if len(payload) < 2 {
			return coldErr("embedded XOR chunk of %d bytes is shorter than its header", len(payload))
		}
		if n := int(binary.BigEndian.Uint16(payload)); n != it.total {
			return coldErr("embedded XOR chunk has %d samples, header says %d", n, it.total)
		}
		xi, err := chunkenc.IteratorFromData(chunkenc.EncXOR, payload, it.xorReuse)
		if err != nil {
			return coldErr("%v", err)
		}
		it.xorReuse = xi
		it.xor = xi.(chunkenc.FloatBatchIterator)
		return nil
	}
	tsLen, k := binary.Uvarint(payload)
	if k <= 0 || tsLen > uint64(len(payload)-k) {
		return coldErr("bad timestamp stream length")
	}
	it.tsb = payload[k : k+int(tsLen)]
	rest := payload[k+int(tsLen):]
	if len(rest) < 1 || rest[0] > coldMaxExp {
		return coldErr("bad decimal exponent")
	}
	it.div, it.inv = pow10[rest[0]], invPow10[rest[0]]
	nExc, k := binary.Uvarint(rest[1:])
	if k <= 0 || nExc > uint64(it.total) {
		return coldErr("bad exception count")
	}
	rest = rest[1+k:]
	// The exception list is gap, 8 bytes per entry; find where it ends
	// so the mantissa stream can be read alongside it.
	it.exps = rest
	off := 0
	for range nExc {
		_, k := binary.Uvarint(rest[off:])
		if k <= 0 || len(rest)-off-k < 8 {
			return coldErr("truncated exception list")
		}
		off += k + 8
	}
	it.excLeft = int(nExc)
	it.vb = rest[off:]
	return it.advanceExc(-1)
}

// advanceExc reads the next exception's index, after prev.
func (it *coldIterator) advanceExc(prev int) error {
	if it.excLeft == 0 {
		it.nextExc = -1
		return nil
	}
	gap, k := binary.Uvarint(it.exps)
	if k <= 0 || gap >= uint64(it.total) {
		return coldErr("bad exception index")
	}
	it.nextExc = prev + 1 + int(gap)
	it.exps = it.exps[k:]
	return nil
}

func (it *coldIterator) Next() storage.ValueType {
	var t [1]int64
	var v [1]float64
	if it.NextFloats(t[:], v[:]) == 0 {
		return storage.ValNone
	}
	return storage.ValFloat
}

// NextFloats implements chunkenc.FloatBatchIterator.
func (it *coldIterator) NextFloats(ts []int64, vs []float64) int {
	return it.NextFloatsUntil(ts, vs, math.MaxInt64)
}

// NextFloatsUntil implements chunkenc.FloatBatchIterator. The decimal
// codings decode their two varint streams in one loop over locals; most
// varints are a single byte, which the loop decodes without a call.
func (it *coldIterator) NextFloatsUntil(ts []int64, vs []float64, maxt int64) int {
	it.onSample = false
	if it.err != nil || it.read >= it.total {
		return 0
	}
	want := min(len(ts), len(vs), it.total-it.read)
	ts, vs = ts[:want], vs[:want]
	if it.xor != nil {
		n := it.xor.NextFloatsUntil(ts, vs, maxt)
		if n < want && (n == 0 || ts[n-1] <= maxt) {
			if err := it.xor.Err(); err != nil {
				it.err = coldErr("%v", err)
			} else {
				it.err = coldErr("embedded XOR chunk ended early")
			}
		}
		return it.settle(ts, vs, n)
	}
	n := 0
	// The first two samples set the deltas; the loop below handles the
	// rest with fewer live variables (it is register-bound).
	for ; n < want && it.read+n < 2; n++ {
		if !it.decodeHead(it.read + n) {
			return it.settle(ts, vs, n)
		}
		ts[n], vs[n] = it.t, it.v
		if it.t > maxt {
			return it.settle(ts, vs, n+1)
		}
	}
	if n == want {
		return it.settle(ts, vs, n)
	}
	tsb, vb := it.tsb, it.vb
	ti, vi := 0, 0
	t, dT, m, dM := it.t, it.dT, it.m, it.dM
	div, inv := it.div, it.inv
	dod := it.coding == coldDecimalDod
	// The next exception's position relative to this call (negative
	// when there is none).
	exc := it.nextExc - it.read
	for ; n < want; n++ {
		var x, y int64
		if ti < len(tsb) && tsb[ti] < 0x80 {
			x = int64(tsb[ti]>>1) ^ -int64(tsb[ti]&1)
			ti++
		} else {
			var k int
			if x, k = varintLong(tsb[ti:]); k <= 0 {
				it.err = coldErr("truncated timestamp stream at sample %d", it.read+n)
				break
			}
			ti += k
		}
		if vi < len(vb) && vb[vi] < 0x80 {
			y = int64(vb[vi]>>1) ^ -int64(vb[vi]&1)
			vi++
		} else {
			var k int
			if y, k = varintLong(vb[vi:]); k <= 0 {
				it.err = coldErr("truncated value stream at sample %d", it.read+n)
				break
			}
			vi += k
		}
		dT += x
		if t+dT <= t { // wrapping, as the encoder's arithmetic may
			it.err = coldErr("timestamp %d not after %d at sample %d", t+dT, t, it.read+n)
			break
		}
		t += dT
		if dod {
			dM += y
			m += dM
		} else {
			m += y
		}
		var v float64
		if n == exc {
			if !it.exception(it.read + n) {
				break
			}
			v, exc = it.v, it.nextExc-it.read
		} else if m > coldMaxMantissa || m < -coldMaxMantissa {
			it.err = coldErr("mantissa out of range at sample %d", it.read+n)
			break
		} else {
			v = divPow10(float64(m), div, inv)
		}
		ts[n], vs[n] = t, v
		if t > maxt {
			n++
			break
		}
	}
	it.tsb, it.vb = tsb[ti:], vb[vi:]
	it.t, it.dT, it.m, it.dM = t, dT, m, dM
	return it.settle(ts, vs, n)
}

// decodeHead decodes sample i < 2, which sets the running deltas, into
// it.t and it.v.
func (it *coldIterator) decodeHead(i int) bool {
	x, ok := readVarint(&it.tsb)
	if !ok {
		it.err = coldErr("truncated timestamp stream at sample %d", i)
		return false
	}
	y, ok := readVarint(&it.vb)
	if !ok {
		it.err = coldErr("truncated value stream at sample %d", i)
		return false
	}
	if i == 0 {
		it.t, it.m = x, y
	} else {
		if it.t+x <= it.t {
			it.err = coldErr("timestamp %d not after %d at sample %d", it.t+x, it.t, i)
			return false
		}
		it.dT, it.dM = x, y
		it.t += x
		it.m += y
	}
	if i == it.nextExc {
		return it.exception(i)
	}
	if it.m > coldMaxMantissa || it.m < -coldMaxMantissa {
		it.err = coldErr("mantissa out of range at sample %d", i)
		return false
	}
	it.v = divPow10(float64(it.m), it.div, it.inv)
	return true
}

// exception sets it.v to the raw value of exception sample i and finds
// the next exception.
func (it *coldIterator) exception(i int) bool {
	it.v = math.Float64frombits(binary.BigEndian.Uint64(it.exps))
	it.exps = it.exps[8:]
	it.excLeft--
	if err := it.advanceExc(i); err != nil {
		it.err = err
		return false
	}
	return true
}

// varintLong is binary.Varint for a varint that is not a single byte,
// with the two-byte case first: the decoder inlines the one-byte case,
// and these two are most of a cold chunk's varints.
func varintLong(b []byte) (int64, int) {
	if len(b) >= 2 && b[1] < 0x80 {
		u := uint64(b[0]&0x7f) | uint64(b[1])<<7
		return int64(u>>1) ^ -int64(u&1), 2
	}
	return binary.Varint(b)
}

func readVarint(b *[]byte) (int64, bool) {
	x, k := binary.Varint(*b)
	if k <= 0 {
		return 0, false
	}
	*b = (*b)[k:]
	return x, true
}

// settle counts the n samples just decoded and stands on the last.
func (it *coldIterator) settle(ts []int64, vs []float64, n int) int {
	it.read += n
	if n > 0 {
		it.t, it.v = ts[n-1], vs[n-1]
		it.onSample = true
	}
	return n
}

func (it *coldIterator) Seek(t int64) storage.ValueType {
	if it.onSample && it.t >= t {
		return storage.ValFloat
	}
	if !it.onSample && it.read > 0 {
		return storage.ValNone // exhausted or failed; never move back
	}
	for {
		if it.Next() == storage.ValNone {
			return storage.ValNone
		}
		if it.t >= t {
			return storage.ValFloat
		}
	}
}

func (it *coldIterator) At() (int64, float64) { return it.t, it.v }
func (it *coldIterator) AtT() int64           { return it.t }
func (it *coldIterator) Err() error           { return it.err }

func (it *coldIterator) AtHistogram(*histogram.Histogram) (int64, *histogram.Histogram) {
	panic("chunks: AtHistogram on a float chunk")
}

func (it *coldIterator) AtFloatHistogram(*histogram.FloatHistogram) (int64, *histogram.FloatHistogram) {
	panic("chunks: AtFloatHistogram on a float chunk")
}
