//go:build reliability

package main

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vigil-monitoring/vigil/internal/storage"
	"github.com/vigil-monitoring/vigil/internal/tsdb/record"
	"github.com/vigil-monitoring/vigil/internal/tsdb/vfs"
	"github.com/vigil-monitoring/vigil/internal/tsdb/wal"
)

// TestReliabilityCorruptWALTail damages the newest WAL segment of a
// cleanly stopped server twice and restarts it each time:
//
//  1. a bit flipped inside a samples record about 60% into the segment;
//  2. (on the repaired directory, after more scraping) the newest segment
//     truncated in the middle of a record, as a torn write leaves it.
//
// After each restart the server is ready within relReadyBound; its log
// names the segment and the byte offset it cut at (the start of the
// damaged record, which the test computes by reading the WAL itself);
// prometheus_tsdb_wal_corruptions_total is at least 1; every sample of
// the stable series logged before the damaged record is served with its
// value, and none logged from the damaged record on is (the series have
// fewer than 120 samples, so no head chunk file can hold them). A last
// clean restart finds nothing left to repair and serves the same data.
func TestReliabilityCorruptWALTail(t *testing.T) {
	bin := relBinary(t)
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	walDir := filepath.Join(data, "wal")
	const gauges = 10
	tgt := relNewSeqTarget(t, gauges, 150)
	cfg := filepath.Join(dir, "vigil.yml")
	relWriteFile(t, cfg, relConfig(relJob("rel", "200ms", "200ms", "", tgt.addr)))
	evalAt := time.Now().Add(2 * time.Hour)
	rawQuery := relStableQuery + "[3h]"
	args := []string{"--config.file=" + cfg, "--storage.tsdb.path=" + data}

	kept, lost := relSampleSet{}, relSampleSet{}
	// scrapeSome waits for n samples of rel_seq newer than after (ms).
	scrapeSome := func(v *relVigil, after int64, n int) {
		t.Helper()
		relWait(t, v, 40*time.Second, fmt.Sprintf("%d scrapes", n), func() (bool, string) {
			got, err := relQuery(v.base, "rel_seq[3h]", evalAt)
			if err != nil {
				return false, err.Error()
			}
			c := 0
			for _, s := range got {
				for _, p := range s {
					if p.T > after {
						c++
					}
				}
			}
			return c >= n, fmt.Sprintf("%d samples", c)
		})
	}
	// check verifies the restarted server against kept and lost, up to
	// the newest damaged time.
	check := func(v *relVigil, upTo int64, what string) {
		t.Helper()
		got, err := relQuery(v.base, rawQuery, evalAt)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		var problems []string
		problems = append(problems, relCheckOrdered(got)...)
		problems = append(problems, relCheckContains(kept, got, 20)...)
		problems = append(problems, relCheckScrapes(got, gauges)...)
		for k, samples := range got {
			for _, p := range samples {
				if _, ok := lost[k][p.T]; ok && p.T <= upTo {
					problems = append(problems, fmt.Sprintf("%s @%d = %s is served although its record was cut", k, p.T, p.V))
					break
				}
			}
		}
		if len(problems) > 0 {
			t.Fatalf("%s: %d samples expected kept, %d cut:\n  %s", what, kept.count(), lost.count(), strings.Join(problems, "\n  "))
		}
	}

	// Phase 1: a bit flip.
	v := relStart(t, bin, dir, "vigil-1", args...)
	v.waitReady(t)
	scrapeSome(v, 0, 15)
	v.stop(t, 30*time.Second)
	dmg := relDamageWAL(t, walDir, false)
	kept.add(dmg.kept)
	lost.add(dmg.lost)
	upTo := dmg.maxT

	v = relStart(t, bin, dir, "vigil-2", args...)
	ready := v.waitReady(t)
	relCheckRepairLogged(t, v, dmg)
	relCheckCorruptionMetric(t, v, 1)
	check(v, upTo, "after the bit flip")
	t.Logf("bit flip in segment %d at offset %d: ready after %v; %d stable samples kept, %d cut", dmg.segment, dmg.offset, ready.Round(time.Millisecond), relCount(dmg.kept), relCount(dmg.lost))

	// Phase 2: a torn tail, on the repaired WAL.
	scrapeSome(v, upTo, 15)
	v.stop(t, 30*time.Second)
	dmg2 := relDamageWAL(t, walDir, true)
	if dmg2.segment <= dmg.segment {
		t.Fatalf("the server wrote no new segment after the repair: newest is %d, repaired %d", dmg2.segment, dmg.segment)
	}
	kept.add(dmg2.kept)
	lost.add(dmg2.lost)
	upTo = dmg2.maxT

	v = relStart(t, bin, dir, "vigil-3", args...)
	ready = v.waitReady(t)
	relCheckRepairLogged(t, v, dmg2)
	relCheckCorruptionMetric(t, v, 1)
	check(v, upTo, "after the truncation")
	t.Logf("truncation of segment %d at offset %d (record at %d): ready after %v; %d stable samples kept, %d cut", dmg2.segment, dmg2.cutAt, dmg2.offset, ready.Round(time.Millisecond), relCount(dmg2.kept), relCount(dmg2.lost))
	v.stop(t, 30*time.Second)

	// Phase 3: the repairs left a WAL that replays cleanly.
	v = relStart(t, bin, dir, "vigil-4", args...)
	v.waitReady(t)
	if c, err := relMetric(v.base, "prometheus_tsdb_wal_corruptions_total"); err != nil || c != 0 {
		t.Errorf("after the repairs a clean restart reports prometheus_tsdb_wal_corruptions_total = %v (%v), want 0", c, err)
	}
	check(v, upTo, "after a clean restart")
	relCheckNoPanic(t, v)
	v.stop(t, 30*time.Second)
}

// relDamage describes what relDamageWAL did.
type relDamage struct {
	segment    int
	offset     int64 // start of the damaged record: where the cut must be
	cutAt      int64 // for a truncation, the new file size
	kept, lost relMatrix
	maxT       int64 // newest sample time of the stable series in the WAL
}

// relDamageWAL damages the newest segment of walDir: it reads every record
// (series records give the labels of refs), picks the first samples record
// holding rel_seq at or after 60% of the newest segment's records, and
// flips a bit in its data or (truncate) cuts the file in the middle of its
// first fragment. kept and lost are the stable series' samples logged
// before and from that record on.
func relDamageWAL(t *testing.T, walDir string, truncate bool) relDamage {
	t.Helper()
	segs, err := wal.Segments(vfs.OS(), walDir)
	if err != nil || len(segs) == 0 {
		t.Fatalf("WAL segments in %s: %v %v", walDir, segs, err)
	}
	newest := segs[len(segs)-1]
	// The server starts a new segment on each start; one it has not
	// written to may follow the one it used.
	for len(segs) > 1 {
		fi, err := os.Stat(wal.SegmentName(walDir, newest))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Size() > 0 {
			break
		}
		segs = segs[:len(segs)-1]
		newest = segs[len(segs)-1]
	}
	type rec struct {
		off     int64
		samples []record.RefSample
		hasSeq  bool
	}
	names := map[storage.SeriesRef]map[string]string{}
	var recs []rec
	rd, err := wal.NewReader(vfs.OS(), walDir, 0, newest)
	if err != nil {
		t.Fatal(err)
	}
	var (
		series  []record.RefSeries
		samples []record.RefSample
	)
	for rd.Next() {
		r := rd.Record()
		switch record.TypeOf(r) {
		case record.Series:
			if series, err = record.DecodeSeries(r, series[:0]); err != nil {
				t.Fatalf("decoding a series record: %v", err)
			}
			for _, s := range series {
				names[s.Ref] = s.Labels.Map()
			}
		case record.Samples:
			if samples, err = record.DecodeSamples(r, samples[:0]); err != nil {
				t.Fatalf("decoding a samples record: %v", err)
			}
			if rd.Segment() != newest {
				continue
			}
			var stable []record.RefSample
			seq := false
			for _, s := range samples {
				n := names[s.Ref]["__name__"]
				if n == "rel_seq" || n == "rel_gauge" {
					stable = append(stable, s)
					seq = seq || n == "rel_seq"
				}
			}
			recs = append(recs, rec{off: rd.Offset(), samples: stable, hasSeq: seq})
		}
	}
	if err := rd.Err(); err != nil {
		t.Fatalf("the WAL the server left after a clean stop does not read: %v", err)
	}
	rd.Close()

	victim := -1
	for i := len(recs) * 6 / 10; i < len(recs); i++ {
		if recs[i].hasSeq {
			victim = i
			break
		}
	}
	d := relDamage{segment: newest, kept: relMatrix{}, lost: relMatrix{}, maxT: math.MinInt64}
	seqBefore := 0
	for i, r := range recs {
		for _, s := range r.samples {
			if math.Float64bits(s.V) == 0x7ff0000000000002 {
				continue // a stale marker: queries never return it
			}
			k := relKey(names[s.Ref])
			p := relSample{T: s.T, V: strconv.FormatFloat(s.V, 'f', -1, 64)}
			if i < victim {
				d.kept[k] = append(d.kept[k], p)
				if names[s.Ref]["__name__"] == "rel_seq" {
					seqBefore++
				}
			} else {
				d.lost[k] = append(d.lost[k], p)
			}
			d.maxT = max(d.maxT, s.T)
		}
	}
	if victim < 0 || seqBefore < 5 {
		t.Fatalf("segment %d has %d samples records; no good victim (index %d, %d rel_seq samples before it)", newest, len(recs), victim, seqBefore)
	}
	d.offset = recs[victim].off

	name := wal.SegmentName(walDir, newest)
	f, err := os.OpenFile(name, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var hdr [7]byte
	if _, err := f.ReadAt(hdr[:], d.offset); err != nil {
		t.Fatal(err)
	}
	fragLen := int64(hdr[1])<<8 | int64(hdr[2])
	if truncate {
		d.cutAt = d.offset + 7 + fragLen/2
		if err := f.Truncate(d.cutAt); err != nil {
			t.Fatal(err)
		}
	} else {
		var b [1]byte
		at := d.offset + 7 + fragLen/2
		if _, err := f.ReadAt(b[:], at); err != nil {
			t.Fatal(err)
		}
		b[0] ^= 0x10
		if _, err := f.WriteAt(b[:], at); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	return d
}

// relCheckRepairLogged requires a warning or error in the log that names
// the damaged segment (by index or file name) and the offset of the
// damaged record.
func relCheckRepairLogged(t *testing.T, v *relVigil, d relDamage) {
	t.Helper()
	segName := fmt.Sprintf("%08d", d.segment)
	for _, e := range v.logEntries() {
		if e.Level != "WARN" && e.Level != "ERROR" {
			continue
		}
		off, ok := e.Attrs["offset"].(json.Number)
		if !ok || off.String() != strconv.FormatInt(d.offset, 10) {
			continue
		}
		switch s := e.Attrs["segment"].(type) {
		case json.Number:
			if s.String() == strconv.Itoa(d.segment) {
				t.Logf("log: %s", e.Line)
				return
			}
		case string:
			if filepath.Base(s) == segName {
				t.Logf("log: %s", e.Line)
				return
			}
		}
	}
	t.Errorf("no warning or error in the log names segment %d and offset %d", d.segment, d.offset)
}

func relCheckCorruptionMetric(t *testing.T, v *relVigil, least float64) {
	t.Helper()
	c, err := relMetric(v.base, "prometheus_tsdb_wal_corruptions_total")
	if err != nil {
		t.Fatal(err)
	}
	if c < least {
		t.Errorf("prometheus_tsdb_wal_corruptions_total = %v, want at least %v", c, least)
	}
}
