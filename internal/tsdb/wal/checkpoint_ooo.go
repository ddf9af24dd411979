package wal

import (
	"encoding/binary"
	"fmt"
	"slices"

	"github.com/vigil-monitoring/vigil/internal/storage"
	"github.com/vigil-monitoring/vigil/internal/tsdb/record"
)

// OOOKind is what an out-of-order record (record.OutOfOrder) holds; the
// layouts are in docs/format/wal.md.
type OOOKind int

const (
	// OOOReset empties the out-of-order buffers.
	OOOReset OOOKind = iota
	// OOOSamples holds samples a commit put out of order.
	OOOSamples
	// OOORelogHeader starts a relog: the next N records are OOORelogSamples
	// holding the buffers' whole content. Only once all N are there do
	// they replace the buffers, so that a relog torn by a crash changes
	// nothing (its samples are copies of buffered ones).
	OOORelogHeader
	// OOORelogSamples is one record of a relog.
	OOORelogSamples
)

// ParseOOO splits an out-of-order record into its kind and either the
// samples record it wraps (type byte included) or, for a relog header,
// the number of relog records that follow.
func ParseOOO(rec []byte) (kind OOOKind, inner []byte, n int, err error) {
	if record.TypeOf(rec) != record.OutOfOrder {
		return 0, nil, 0, fmt.Errorf("%w: not an out-of-order record", record.ErrInvalid)
	}
	body := rec[1:]
	switch {
	case len(body) == 0:
		return OOOReset, nil, 0, nil
	case record.Type(body[0]) != record.OutOfOrder:
		return OOOSamples, body, 0, checkOOOInner(body)
	}
	body = body[1:]
	if len(body) > 0 && body[0] == 0 {
		v, k := binary.Uvarint(body[1:])
		if k <= 0 || k != len(body)-1 || v == 0 || v > 1<<31 {
			return 0, nil, 0, fmt.Errorf("%w: out-of-order relog header", record.ErrInvalid)
		}
		return OOORelogHeader, nil, int(v), nil
	}
	return OOORelogSamples, body, 0, checkOOOInner(body)
}

func checkOOOInner(inner []byte) error {
	switch record.TypeOf(inner) {
	case record.Samples, record.HistogramSamples, record.FloatHistogramSamples:
		return nil
	}
	if len(inner) == 0 {
		return fmt.Errorf("%w: empty out-of-order record", record.ErrInvalid)
	}
	return fmt.Errorf("%w: out-of-order record wraps type %d", record.ErrInvalid, inner[0])
}

// OOOPrefix returns the bytes an out-of-order record of samples of kind
// (OOOSamples or OOORelogSamples) starts with, before the samples record.
func OOOPrefix(kind OOOKind) []byte {
	if kind == OOORelogSamples {
		return []byte{byte(record.OutOfOrder), byte(record.OutOfOrder)}
	}
	return []byte{byte(record.OutOfOrder)}
}

// OOORelogHeaderRecord returns the header of a relog of n records; n must be
// positive (an empty relog is a reset marker).
func OOORelogHeaderRecord(n int) []byte {
	return binary.AppendUvarint([]byte{byte(record.OutOfOrder), byte(record.OutOfOrder), 0}, uint64(n))
}

// oooSamplesMax bounds the samples of one out-of-order record the
// checkpoint writes, so that records stay far below a segment's size.
const oooSamplesMax = 1 << 13

// oooSet is out-of-order samples in log order.
type oooSet struct {
	floats []record.RefSample
	hists  []record.RefHistogramSample
	fhists []record.RefFloatHistogramSample
}

func (s *oooSet) reset() { s.floats, s.hists, s.fhists = s.floats[:0], s.hists[:0], s.fhists[:0] }

func (s *oooSet) len() int { return len(s.floats) + len(s.hists) + len(s.fhists) }

// add appends the samples of inner whose series keep accepts and
// returns how many it dropped.
func (s *oooSet) add(inner []byte, keep func(storage.SeriesRef) bool) (dropped int, err error) {
	switch record.TypeOf(inner) {
	case record.Samples:
		ss, err := record.DecodeSamples(inner, nil)
		if err != nil {
			return 0, err
		}
		for _, x := range ss {
			if keep(x.Ref) {
				s.floats = append(s.floats, x)
			} else {
				dropped++
			}
		}
	case record.HistogramSamples:
		ss, err := record.DecodeHistogramSamples(inner, nil)
		if err != nil {
			return 0, err
		}
		for _, x := range ss {
			if keep(x.Ref) {
				s.hists = append(s.hists, x)
			} else {
				dropped++
			}
		}
	case record.FloatHistogramSamples:
		ss, err := record.DecodeFloatHistogramSamples(inner, nil)
		if err != nil {
			return 0, err
		}
		for _, x := range ss {
			if keep(x.Ref) {
				s.fhists = append(s.fhists, x)
			} else {
				dropped++
			}
		}
	default:
		return 0, checkOOOInner(inner)
	}
	return dropped, nil
}

// encode returns the set as out-of-order records of kind, sorted by
// series and time; of samples at the same series and time it keeps the
// first, as replay would.
func (s *oooSet) encode(kind OOOKind) [][]byte {
	var recs [][]byte
	s.floats = sortFirst(s.floats, func(x record.RefSample) (storage.SeriesRef, int64) { return x.Ref, x.T })
	s.hists = sortFirst(s.hists, func(x record.RefHistogramSample) (storage.SeriesRef, int64) { return x.Ref, x.T })
	s.fhists = sortFirst(s.fhists, func(x record.RefFloatHistogramSample) (storage.SeriesRef, int64) { return x.Ref, x.T })
	for fs := s.floats; len(fs) > 0; fs = fs[min(len(fs), oooSamplesMax):] {
		recs = append(recs, record.EncodeSamples(OOOPrefix(kind), fs[:min(len(fs), oooSamplesMax)]))
	}
	for hs := s.hists; len(hs) > 0; hs = hs[min(len(hs), oooSamplesMax):] {
		recs = append(recs, record.EncodeHistogramSamples(OOOPrefix(kind), hs[:min(len(hs), oooSamplesMax)]))
	}
	for fhs := s.fhists; len(fhs) > 0; fhs = fhs[min(len(fhs), oooSamplesMax):] {
		recs = append(recs, record.EncodeFloatHistogramSamples(OOOPrefix(kind), fhs[:min(len(fhs), oooSamplesMax)]))
	}
	return recs
}

func sortFirst[S any](xs []S, key func(S) (storage.SeriesRef, int64)) []S {
	slices.SortStableFunc(xs, func(a, b S) int {
		ra, ta := key(a)
		rb, tb := key(b)
		switch {
		case ra != rb:
			if ra < rb {
				return -1
			}
			return 1
		case ta < tb:
			return -1
		case ta > tb:
			return 1
		}
		return 0
	})
	return slices.CompactFunc(xs, func(a, b S) bool {
		ra, ta := key(a)
		rb, tb := key(b)
		return ra == rb && ta == tb
	})
}

// oooCheckpoint follows the out-of-order records of the checkpoint's
// sources as replay would, so that the checkpoint holds what replay of
// its sources would put in the buffers: out-of-order records are not
// superseded by a checkpoint, and a head that had to write its buffers
// again after each checkpoint would lose them to a crash in between.
type oooCheckpoint struct {
	live oooSet // what the buffers hold after the records read so far
	// A relog in progress: want records announced, got read, staged
	// their samples.
	want, got int
	staged    oooSet
	// stones are every deletion in the sources: the checkpoint drops
	// those ending before its mint, so the samples they delete must go
	// too (a relog leaves deleted samples out the same way).
	stones map[storage.SeriesRef][]record.Stone
}

func (o *oooCheckpoint) addStones(ss []record.Stone) {
	if o.stones == nil {
		o.stones = map[storage.SeriesRef][]record.Stone{}
	}
	for _, s := range ss {
		o.stones[s.Ref] = append(o.stones[s.Ref], s)
	}
}

// deleted reports whether a deletion covers the sample of ref at t.
func (o *oooCheckpoint) deleted(ref storage.SeriesRef, t int64) bool {
	for _, s := range o.stones[ref] {
		if t >= s.Mint && t <= s.Maxt {
			return true
		}
	}
	return false
}

// dropDeleted removes from s the samples a deletion covers.
func (o *oooCheckpoint) dropDeleted(s *oooSet) {
	if len(o.stones) == 0 {
		return
	}
	s.floats = slices.DeleteFunc(s.floats, func(x record.RefSample) bool { return o.deleted(x.Ref, x.T) })
	s.hists = slices.DeleteFunc(s.hists, func(x record.RefHistogramSample) bool { return o.deleted(x.Ref, x.T) })
	s.fhists = slices.DeleteFunc(s.fhists, func(x record.RefFloatHistogramSample) bool { return o.deleted(x.Ref, x.T) })
}

func (o *oooCheckpoint) add(rec []byte, keep func(storage.SeriesRef) bool, stats *CheckpointStats) error {
	kind, inner, n, err := ParseOOO(rec)
	if err != nil {
		return err
	}
	if kind != OOORelogSamples {
		o.abandonRelog()
	}
	switch kind {
	case OOOReset:
		o.live.reset()
	case OOORelogHeader:
		o.want = n
	case OOOSamples:
		d, err := o.live.add(inner, keep)
		stats.DroppedOOOSamples += d
		return err
	case OOORelogSamples:
		if o.want == 0 {
			// A stray part of a torn relog: copies of buffered samples.
			d, err := o.live.add(inner, keep)
			stats.DroppedOOOSamples += d
			return err
		}
		d, err := o.staged.add(inner, keep)
		stats.DroppedOOOSamples += d
		if err != nil {
			return err
		}
		if o.got++; o.got == o.want {
			o.live, o.staged = o.staged, o.live
			o.staged.reset()
			o.want, o.got = 0, 0
		}
	}
	return nil
}

// abandonRelog forgets a relog that another record interrupted: a crash
// tore it, and its samples are copies of ones the buffers hold.
func (o *oooCheckpoint) abandonRelog() {
	o.want, o.got = 0, 0
	o.staged.reset()
}

// records returns the records for the checkpoint: the buffered samples,
// then a relog still in progress at the end of the sources, whose
// remaining records are in the segments after the checkpoint.
func (o *oooCheckpoint) records(stats *CheckpointStats) [][]byte {
	o.dropDeleted(&o.live)
	o.dropDeleted(&o.staged)
	recs := o.live.encode(OOOSamples)
	stats.OOOSamples = o.live.len()
	if o.want > 0 {
		part := o.staged.encode(OOORelogSamples)
		stats.OOOSamples += o.staged.len()
		recs = append(recs, OOORelogHeaderRecord(len(part)+o.want-o.got))
		recs = append(recs, part...)
	}
	return recs
}
