package tsdb

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/vigil-monitoring/vigil/internal/model/histogram"
	"github.com/vigil-monitoring/vigil/internal/model/labels"
	"github.com/vigil-monitoring/vigil/internal/model/metadata"
	"github.com/vigil-monitoring/vigil/internal/model/value"
	"github.com/vigil-monitoring/vigil/internal/storage"
	"github.com/vigil-monitoring/vigil/internal/tsdb/record"
	"github.com/vigil-monitoring/vigil/internal/tsdb/vfs"
	"github.com/vigil-monitoring/vigil/internal/tsdb/wal"
)

// dump reads every series over all time as label string -> samples.
func dump(t testing.TB, q storage.Queryable) map[string][]storage.Sample {
	t.Helper()
	return dumpRange(t, q, math.MinInt64, math.MaxInt64)
}

func dumpRange(t testing.TB, q storage.Queryable, mint, maxt int64) map[string][]storage.Sample {
	t.Helper()
	qr, err := q.Querier(mint, maxt)
	if err != nil {
		t.Fatal(err)
	}
	defer qr.Close()
	ss := qr.Select(context.Background(), false, nil, labels.MustNewMatcher(labels.MatchRegexp, "__name__", ".+"))
	out := map[string][]storage.Sample{}
	for ss.Next() {
		s, err := storage.ExpandSamples(ss.At().Iterator(nil))
		if err != nil {
			t.Fatal(err)
		}
		out[ss.At().Labels().String()] = s
	}
	if err := ss.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func sameDump(a, b map[string][]storage.Sample) error {
	if len(a) != len(b) {
		return fmt.Errorf("%d series vs %d", len(a), len(b))
	}
	for k, sa := range a {
		sb, ok := b[k]
		if !ok {
			return fmt.Errorf("series %s missing", k)
		}
		if len(sa) != len(sb) {
			return fmt.Errorf("series %s: %d samples vs %d", k, len(sa), len(sb))
		}
		for i := range sa {
			if !storage.SameSample(sa[i], sb[i]) {
				return fmt.Errorf("series %s sample %d: %v vs %v", k, i, sa[i], sb[i])
			}
		}
	}
	return nil
}

func testHist(i int) *histogram.Histogram {
	c := uint64(i)
	return &histogram.Histogram{
		Schema: 0, Count: 3 * c, Sum: float64(i),
		PositiveSpans:   []histogram.Span{{Offset: 0, Length: 2}},
		PositiveBuckets: []int64{int64(c), int64(c)},
	}
}

// fill appends n samples per series to nSeries series, mixing a histogram
// series in, in batches of one timestamp each.
func fill(t testing.TB, a storage.Appendable, nSeries, n int, t0, step int64) {
	t.Helper()
	refs := make([]storage.SeriesRef, nSeries+1)
	for i := range n {
		app := a.Appender(context.Background())
		ts := t0 + int64(i)*step
		for s := range nSeries {
			var err error
			refs[s], err = app.Append(refs[s], labels.FromStrings("__name__", "m", "s", fmt.Sprint(s)), ts, float64(i*s))
			if err != nil {
				t.Fatal(err)
			}
		}
		var err error
		refs[nSeries], err = app.AppendHistogram(refs[nSeries], labels.FromStrings("__name__", "h"), ts, testHist(i+1), nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := app.Commit(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestReopenReplaysWAL(t *testing.T) {
	dir := t.TempDir()
	var logs bytes.Buffer
	opts := testOptions()
	opts.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	db := openTestDB(t, dir, opts)
	fill(t, db, 20, 500, 1_000_000, 15_000)
	app := db.Appender(context.Background())
	l := labels.FromStrings("__name__", "meta_test")
	if _, err := app.Append(0, l, 2_000_000, value.StaleNaN); err != nil {
		t.Fatal(err)
	}
	if _, err := app.UpdateMetadata(0, l, metadata.Metadata{Type: metadata.TypeGauge, Help: "h"}); err != nil {
		t.Fatal(err)
	}
	if err := app.Commit(); err != nil {
		t.Fatal(err)
	}
	before := dump(t, db)
	if _, err := db.Head().wal.NextSegment(); err != nil { // replay two segments
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	segs, _ := wal.Segments(vfs.OS(), filepath.Join(dir, "wal"))

	progress := &ReplayProgress{}
	opts.ReplayProgress = progress
	db = openTestDB(t, dir, opts)
	defer db.Close()
	if err := sameDump(dump(t, db), before); err != nil {
		t.Fatalf("after replay: %v", err)
	}
	st := db.WALReplayStatus()
	if st.Min != segs[0] || st.Max != segs[len(segs)-1] || st.Max == 0 || st.Current != st.Max || st != progress.Status() {
		t.Fatalf("replay status %+v", st)
	}
	if !strings.Contains(logs.String(), "WAL replay completed") {
		t.Fatalf("no replay log line:\n%s", logs.String())
	}
	s := db.Head().series.getByHash(l.Hash(), l)
	if s == nil {
		t.Fatal("series not replayed")
	}
	if m, ok := s.metadata(); !ok || m.Help != "h" {
		t.Fatal("metadata not replayed")
	}
	// Appending continues after the replayed data, and refs do not clash.
	app = db.Appender(context.Background())
	if _, err := app.Append(0, labels.FromStrings("__name__", "m", "s", "0"), 1_000_000, 5); !errors.Is(err, storage.ErrOutOfOrderSample) {
		t.Fatalf("append into replayed history: %v", err)
	}
	ref, err := app.Append(0, labels.FromStrings("__name__", "new"), 3_000_000, 1)
	if err != nil {
		t.Fatal(err)
	}
	if uint64(ref) <= uint64(db.Head().NumSeries()-1) {
		t.Fatalf("new ref %d may clash with replayed refs", ref)
	}
	if err := app.Commit(); err != nil {
		t.Fatal(err)
	}
}

func TestLockPreventsSecondOpen(t *testing.T) {
	dir := t.TempDir()
	db := openTestDB(t, dir, testOptions())
	if _, err := Open(dir, testOptions()); !errors.Is(err, vfs.ErrLocked) {
		t.Fatalf("second open: %v", err)
	}
	db.Close()
	db = openTestDB(t, dir, testOptions())
	db.Close()
}

func TestCorruptWALTail(t *testing.T) {
	dir := t.TempDir()
	db := openTestDB(t, dir, testOptions())
	fill(t, db, 5, 300, 0, 10_000)
	before := dump(t, db)
	db.Close()

	// A crash mid-write leaves garbage after the last record: a partial
	// fragment header claiming more bytes than exist.
	walDir := filepath.Join(dir, "wal")
	segs, _ := wal.Segments(vfs.OS(), walDir)
	last := wal.SegmentName(walDir, segs[len(segs)-1])
	f, err := os.OpenFile(last, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte{1, 0x10, 0, 0xde, 0xad, 0xbe, 0xef, 1, 2, 3})
	f.Close()

	var logs bytes.Buffer
	opts := testOptions()
	opts.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	reg := prometheus.NewRegistry()
	opts.Registerer = reg
	db = openTestDB(t, dir, opts)
	if err := sameDump(dump(t, db), before); err != nil {
		t.Fatalf("data before the torn tail lost: %v", err)
	}
	if !strings.Contains(logs.String(), "WAL corruption repaired") || !strings.Contains(logs.String(), last) {
		t.Fatalf("repair not logged with the segment name:\n%s", logs.String())
	}
	if n := counterValue(t, db.Head().metrics.walCorruptions); n != 1 {
		t.Fatalf("corruptions metric %v", n)
	}
	fill(t, db, 5, 10, 10_000_000, 10_000)
	after := dump(t, db)
	db.Close()

	// The repaired WAL opens cleanly: no crash loop, no second repair.
	logs.Reset()
	opts.Registerer = nil
	db = openTestDB(t, dir, opts)
	defer db.Close()
	if strings.Contains(logs.String(), "corruption") {
		t.Fatalf("second open found corruption again:\n%s", logs.String())
	}
	if err := sameDump(dump(t, db), after); err != nil {
		t.Fatal(err)
	}
}

func TestChunkCutting(t *testing.T) {
	opts := testOptions()
	db := openTestDB(t, t.TempDir(), opts)
	defer db.Close()
	// 15 s interval over 5 h: 1200 samples, chunk range 2 h.
	l := labels.FromStrings("__name__", "c")
	var ref storage.SeriesRef
	for i := range 1200 {
		app := db.Appender(context.Background())
		var err error
		ref, err = app.Append(ref, l, int64(i)*15_000, float64(i))
		if err != nil {
			t.Fatal(err)
		}
		app.Commit()
	}
	s := db.Head().series.getByRef(ref)
	chunkRange := (2 * 3600 * 1000)
	prevMax := int64(-1)
	rd := db.Head().chunks.Reader()
	defer rd.Close()
	it := s.full.iter()
	for it.next() {
		c := it.cur
		chk, err := rd.Chunk(c.ref)
		if err != nil {
			t.Fatal(err)
		}
		if n := chk.NumSamples(); n > 120 {
			t.Fatalf("chunk with %d samples", n)
		}
		if c.minT/int64(chunkRange) != c.maxT/int64(chunkRange) {
			t.Fatalf("chunk [%d,%d] spans a chunk range boundary", c.minT, c.maxT)
		}
		if c.minT <= prevMax {
			t.Fatal("chunks overlap or are out of order")
		}
		prevMax = c.maxT
	}
	// 480 samples per 2 h range: 4+4+2 chunks, the last one open.
	if s.full.len() != 9 || s.xor.NumSamples() != 120 {
		t.Fatalf("%d full chunks and %d open samples for 1200 samples", s.full.len(), s.xor.NumSamples())
	}
	if got := dump(t, db)[l.String()]; len(got) != 1200 {
		t.Fatalf("read back %d samples", len(got))
	}
	// A query range inside the series returns exactly that slice.
	got := dumpRange(t, db, 150_000, 3_000_000)[l.String()]
	if len(got) != (3_000_000-150_000)/15_000+1 || got[0].T != 150_000 || got[len(got)-1].T != 3_000_000 {
		t.Fatalf("range query returned %d samples from %d to %d", len(got), got[0].T, got[len(got)-1].T)
	}
}

func TestTruncateAndCheckpoint(t *testing.T) {
	dir := t.TempDir()
	opts := testOptions()
	db := openTestDB(t, dir, opts)
	fill(t, db, 10, 400, 0, 10_000) // t in [0, 3_990_000]
	// A series that only has old data, to be garbage collected.
	app := db.Appender(context.Background())
	app.Append(0, labels.FromStrings("__name__", "old"), 5, 1)
	app.Commit()
	// Make sure there are closed segments to checkpoint.
	if _, err := db.Head().wal.NextSegment(); err != nil {
		t.Fatal(err)
	}
	fill(t, db, 10, 10, 4_000_000, 10_000)

	const mint = 2_000_000
	if err := db.Head().Truncate(mint); err != nil {
		t.Fatal(err)
	}
	got := dump(t, db)
	if _, ok := got[`{__name__="old"}`]; ok {
		t.Fatal("series with only old data survived truncation")
	}
	for k, ss := range got {
		// Whole chunks are dropped, so some samples before mint may remain,
		// but never a chunk that ends before mint.
		if ss[len(ss)-1].T < mint {
			t.Fatalf("%s: only old samples left", k)
		}
	}
	if vals, _, _ := mustQuerier(t, db).LabelValues(context.Background(), "__name__", nil); len(vals) != 2 {
		t.Fatalf("label values after GC: %v", vals)
	}
	app = db.Appender(context.Background())
	if _, err := app.Append(0, labels.FromStrings("__name__", "m", "s", "1"), mint-1, 1); !errors.Is(err, storage.ErrOutOfBounds) {
		t.Fatalf("append before mint: %v", err)
	}
	app.Rollback()
	if _, idx, _ := wal.LastCheckpoint(vfs.OS(), filepath.Join(dir, "wal")); idx < 0 {
		t.Fatal("no checkpoint written")
	}
	before := dumpRange(t, db, mint, math.MaxInt64)
	db.Close()

	db = openTestDB(t, dir, opts)
	defer db.Close()
	if err := sameDump(dumpRange(t, db, mint, math.MaxInt64), before); err != nil {
		t.Fatalf("after reopening a truncated WAL: %v", err)
	}
}

func mustQuerier(t *testing.T, q storage.Queryable) storage.Querier {
	t.Helper()
	qr, err := q.Querier(math.MinInt64, math.MaxInt64)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { qr.Close() })
	return qr
}

// TestConcurrentAppendQueryTruncate runs appenders, queriers and
// truncations together; under -race it checks the locking, and afterwards
// that no committed recent sample was lost.
func TestConcurrentAppendQueryTruncate(t *testing.T) {
	db := openTestDB(t, t.TempDir(), testOptions())
	defer db.Close()
	var wg sync.WaitGroup
	const writers, rounds = 4, 300
	for w := range writers {
		wg.Go(func() {
			for i := range rounds {
				app := db.Appender(context.Background())
				for s := range 20 {
					l := labels.FromStrings("__name__", "x", "w", fmt.Sprint(w), "s", fmt.Sprint(s))
					if _, err := app.Append(0, l, int64(i)*1000, float64(i)); err != nil && !errors.Is(err, storage.ErrOutOfBounds) {
						t.Error(err)
						return
					}
				}
				if err := app.Commit(); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Go(func() {
		for i := range 30 {
			if err := db.Head().Truncate(int64(i) * 5000); err != nil {
				t.Error(err)
				return
			}
		}
	})
	wg.Go(func() {
		for range 50 {
			dump(t, db)
		}
	})
	wg.Wait()
	got := dump(t, db)
	if len(got) != writers*20 {
		t.Fatalf("%d series, want %d", len(got), writers*20)
	}
	for k, ss := range got {
		if ss[len(ss)-1].T != int64(rounds-1)*1000 {
			t.Fatalf("%s: newest sample %d", k, ss[len(ss)-1].T)
		}
	}
}

func TestSelfMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	opts := testOptions()
	opts.Registerer = reg
	db := openTestDB(t, t.TempDir(), opts)
	defer db.Close()
	fill(t, db, 3, 5, 0, 1000)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			switch {
			case m.GetGauge() != nil:
				got[mf.GetName()] += m.GetGauge().GetValue()
			case m.GetCounter() != nil:
				got[mf.GetName()] += m.GetCounter().GetValue()
			}
		}
	}
	want := map[string]float64{
		"prometheus_tsdb_head_series":                 4,
		"prometheus_tsdb_head_samples_appended_total": 20,
		"prometheus_tsdb_head_series_created_total":   4,
		"prometheus_tsdb_wal_corruptions_total":       0,
		"prometheus_tsdb_head_max_time":               4000,
		"prometheus_tsdb_head_min_time":               0,
	}
	for name, v := range want {
		if g, ok := got[name]; !ok || g != v {
			t.Errorf("%s = %v (present %v), want %v", name, g, ok, v)
		}
	}
	if _, ok := got["prometheus_tsdb_wal_segment_current"]; !ok {
		t.Error("WAL metrics not registered")
	}
}

func counterValue(t *testing.T, c prometheus.Counter) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

func TestStats(t *testing.T) {
	db := openTestDB(t, t.TempDir(), testOptions())
	defer db.Close()
	fill(t, db, 3, 130, 0, 1000) // 3 float series and one histogram series
	st := db.Head().Stats(2)
	if st.NumSeries != 4 || st.MinTime != 0 || st.MaxTime != 129_000 {
		t.Fatalf("stats %+v", st)
	}
	// 130 samples per series: two chunks each.
	if st.ChunkCount != 8 {
		t.Fatalf("chunk count %d", st.ChunkCount)
	}
	// __name__ has m and h, s has 0,1,2: 5 pairs.
	if st.NumLabelPairs != 5 {
		t.Fatalf("label pairs %d", st.NumLabelPairs)
	}
	if len(st.SeriesCountByMetricName) != 2 || st.SeriesCountByMetricName[0] != (StatEntry{"m", 3}) {
		t.Fatalf("by metric %v", st.SeriesCountByMetricName)
	}
	if st.LabelValueCountByLabelName[0] != (StatEntry{"s", 3}) {
		t.Fatalf("value counts %v", st.LabelValueCountByLabelName)
	}
	if st.SeriesCountByLabelValuePair[0] != (StatEntry{"__name__=m", 3}) || len(st.SeriesCountByLabelValuePair) != 2 {
		t.Fatalf("pairs %v", st.SeriesCountByLabelValuePair)
	}
}

// TestReplayDuplicateSeriesRecords replays a WAL in which the same labels
// were logged under two refs (as happens when a series is dropped and
// created again): both refs' samples land in the one series, and samples
// of a ref without a series record are counted, not fatal.
func TestReplayDuplicateSeriesRecords(t *testing.T) {
	dir := t.TempDir()
	w, err := wal.Open(vfs.OS(), filepath.Join(dir, "wal"), wal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	l := labels.FromStrings("__name__", "dup")
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(w.Log(record.EncodeSeries(nil, []record.RefSeries{{Ref: 3, Labels: l}})))
	must(w.Log(record.EncodeSamples(nil, []record.RefSample{{Ref: 3, T: 10, V: 1}})))
	must(w.Log(record.EncodeSeries(nil, []record.RefSeries{{Ref: 7, Labels: l}})))
	must(w.Log(record.EncodeSamples(nil, []record.RefSample{{Ref: 7, T: 20, V: 2}, {Ref: 99, T: 20, V: 3}})))
	must(w.Close())

	reg := prometheus.NewRegistry()
	opts := testOptions()
	opts.Registerer = reg
	db := openTestDB(t, dir, opts)
	defer db.Close()
	got := dump(t, db)
	if len(got) != 1 || len(got[l.String()]) != 2 {
		t.Fatalf("got %v", got)
	}
	// New series must not reuse any replayed ref.
	app := db.Appender(context.Background())
	ref, err := app.Append(0, labels.FromStrings("__name__", "other"), 30, 1)
	must(err)
	must(app.Commit())
	if ref <= 7 {
		t.Fatalf("new series got ref %d, at or below the replayed refs", ref)
	}
	mfs, _ := reg.Gather()
	found := false
	for _, mf := range mfs {
		if mf.GetName() == "prometheus_tsdb_wal_replay_unknown_refs_total" {
			found = mf.GetMetric()[0].GetCounter().GetValue() == 1
		}
	}
	if !found {
		t.Fatal("unknown ref not counted")
	}
}

// TestReplayManyBatchesAndWindows replays with tiny batches and windows,
// so every worker applies many windows whose stripe chains span batches,
// and series switch between floats and histograms: each series must get
// back its samples in order.
func TestReplayManyBatchesAndWindows(t *testing.T) {
	defer func(b, w int) { replayBatchSize, replayWindow = b, w }(replayBatchSize, replayWindow)
	replayBatchSize, replayWindow = 7, 50
	dir := t.TempDir()
	opts := testOptions()
	db := openTestDB(t, dir, opts)
	const nSeries = 300
	refs := make([]storage.SeriesRef, nSeries)
	for i := range 60 {
		app := db.Appender(context.Background())
		for s := range nSeries {
			ts := int64(i) * 15_000
			l := labels.FromStrings("__name__", "mixed", "s", strconv.Itoa(s))
			var err error
			if (i/7+s)%3 == 0 {
				refs[s], err = app.AppendHistogram(refs[s], l, ts, testHist(i+s+1), nil)
			} else {
				refs[s], err = app.Append(refs[s], l, ts, float64(i*s))
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		if err := app.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	before := dump(t, db)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = openTestDB(t, dir, opts)
	defer db.Close()
	if err := sameDump(dump(t, db), before); err != nil {
		t.Fatalf("after replay: %v", err)
	}
}
