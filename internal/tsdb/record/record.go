// Package record owns the payloads of WAL records: series, float samples,
// integer and float histogram samples, exemplars, metadata and tombstones
// (and the out-of-order type, which wraps a samples record).
// Encoders append to a caller's buffer (func EncodeX(dst, ...) []byte) so
// the head reuses one buffer per commit; decoders treat their input as
// untrusted and fail with ErrInvalid instead of panicking. The layouts are
// specified in docs/format/wal.md.
package record

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/vigil-monitoring/vigil/internal/model/histogram"
	"github.com/vigil-monitoring/vigil/internal/model/labels"
	"github.com/vigil-monitoring/vigil/internal/model/metadata"
	"github.com/vigil-monitoring/vigil/internal/storage"
)

// Type is the first byte of a record. Values are persisted.
type Type uint8

const (
	Unknown               Type = 0
	Series                Type = 1
	Samples               Type = 2
	Tombstones            Type = 3
	Exemplars             Type = 4
	HistogramSamples      Type = 5
	FloatHistogramSamples Type = 6
	Metadata              Type = 7
	// OutOfOrder carries a Samples, HistogramSamples or
	// FloatHistogramSamples record, type byte included, whose samples the
	// head accepted out of order. With nothing after its type byte it is
	// the head's out-of-order reset marker; a nested OutOfOrder byte with
	// a count starts a relog, the whole buffer rewritten in that many
	// records, applied only once all have been read (docs/format/wal.md).
	OutOfOrder Type = 8
)

func (t Type) String() string {
	switch t {
	case Series:
		return "series"
	case Samples:
		return "samples"
	case Tombstones:
		return "tombstones"
	case Exemplars:
		return "exemplars"
	case HistogramSamples:
		return "histogram samples"
	case FloatHistogramSamples:
		return "float histogram samples"
	case Metadata:
		return "metadata"
	case OutOfOrder:
		return "out-of-order"
	}
	return fmt.Sprintf("unknown record type %d", uint8(t))
}

// TypeOf returns the type of rec, Unknown for an empty record or an
// unknown type byte.
func TypeOf(rec []byte) Type {
	if len(rec) == 0 {
		return Unknown
	}
	if t := Type(rec[0]); t >= Series && t <= OutOfOrder {
		return t
	}
	return Unknown
}

// ErrInvalid wraps every decoding failure.
var ErrInvalid = errors.New("invalid record")

// Limits on decoded sizes (docs/format/wal.md): corrupt input fails
// instead of allocating without bound.
const (
	maxSpans   = 1 << 20
	maxBuckets = 1 << 20
)

// RefSeries is one series record entry.
type RefSeries struct {
	Ref    storage.SeriesRef
	Labels labels.Labels
}

// RefSample is one float sample.
type RefSample struct {
	Ref storage.SeriesRef
	T   int64
	V   float64
}

// RefHistogramSample is one integer histogram sample.
type RefHistogramSample struct {
	Ref storage.SeriesRef
	T   int64
	H   *histogram.Histogram
}

// RefFloatHistogramSample is one float histogram sample.
type RefFloatHistogramSample struct {
	Ref storage.SeriesRef
	T   int64
	FH  *histogram.FloatHistogram
}

// RefExemplar is one exemplar.
type RefExemplar struct {
	Ref    storage.SeriesRef
	T      int64
	V      float64
	Labels labels.Labels
}

// RefMetadata is one metadata entry.
type RefMetadata struct {
	Ref  storage.SeriesRef
	Meta metadata.Metadata
}

// Stone deletes the samples of a series in [Mint, Maxt].
type Stone struct {
	Ref        storage.SeriesRef
	Mint, Maxt int64
}

// decoder reads fields from a record, remembering the first error.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: %s", ErrInvalid, what)
	}
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail("bad uvarint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail("bad varint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) be64() uint64 {
	if d.err != nil {
		return 0
	}
	if len(d.b) < 8 {
		d.fail("short 8-byte field")
		return 0
	}
	v := binary.BigEndian.Uint64(d.b)
	d.b = d.b[8:]
	return v
}

func (d *decoder) float() float64 { return math.Float64frombits(d.be64()) }

func (d *decoder) byte1() byte {
	if d.err != nil {
		return 0
	}
	if len(d.b) < 1 {
		d.fail("short byte field")
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

// bytes returns a length-prefixed byte string aliasing the record.
func (d *decoder) bytes() []byte {
	n := d.uvarint()
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.b)) {
		d.fail("length past the end of the record")
		return nil
	}
	s := d.b[:n]
	d.b = d.b[n:]
	return s
}

func (d *decoder) labels() labels.Labels {
	b := d.bytes()
	if d.err != nil {
		return labels.EmptyLabels()
	}
	l, err := labels.FromBytes(b)
	if err != nil {
		d.fail(err.Error())
	}
	return l
}

func (d *decoder) done() bool { return d.err != nil || len(d.b) == 0 }

// start checks the type byte and returns a decoder over the rest.
func start(rec []byte, want Type) *decoder {
	d := &decoder{}
	if len(rec) == 0 || Type(rec[0]) != want {
		d.fail(fmt.Sprintf("not a %s record", want))
		return d
	}
	d.b = rec[1:]
	return d
}

func appendBytes(dst, b []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(b)))
	return append(dst, b...)
}

func appendString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

func appendFloat(dst []byte, f float64) []byte {
	return binary.BigEndian.AppendUint64(dst, math.Float64bits(f))
}
