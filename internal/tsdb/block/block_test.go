package block

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigil-monitoring/vigil/internal/model/labels"
	"github.com/vigil-monitoring/vigil/internal/storage"
	"github.com/vigil-monitoring/vigil/internal/tsdb/chunkenc"
	"github.com/vigil-monitoring/vigil/internal/tsdb/chunks"
	"github.com/vigil-monitoring/vigil/internal/tsdb/vfs"
)

const hour = int64(time.Hour / time.Millisecond)

func TestULID(t *testing.T) {
	now := time.UnixMilli(1_700_000_000_123)
	a, err := NewULID(now)
	if err != nil {
		t.Fatal(err)
	}
	if a.Time() != now.UnixMilli() {
		t.Fatalf("Time %d, want %d", a.Time(), now.UnixMilli())
	}
	s := a.String()
	if len(s) != 26 {
		t.Fatalf("%q has length %d", s, len(s))
	}
	b, err := ParseULID(strings.ToLower(s))
	if err != nil || b != a {
		t.Fatalf("ParseULID(%q) = %v, %v", s, b, err)
	}
	later, _ := NewULID(now.Add(time.Millisecond))
	if later.String() <= s || later.Compare(a) <= 0 {
		t.Fatalf("later ULID %s does not sort after %s", later, s)
	}
	var max ULID
	for i := range max {
		max[i] = 0xff
	}
	if got := max.String(); got != "7ZZZZZZZZZZZZZZZZZZZZZZZZZ" {
		t.Fatalf("max ULID %s", got)
	}
	for _, bad := range []string{"", "8ZZZZZZZZZZZZZZZZZZZZZZZZZ", "01HXYZ", "01ARZ3NDEKTSV4RRFFQ69G5FAU", "01ARZ3NDEKTSV4RRFFQ69G5FA!"} {
		if _, err := ParseULID(bad); err == nil {
			t.Errorf("ParseULID(%q) accepted", bad)
		}
	}
	// A known value, decoded independently: the first 10 characters are the
	// base-32 timestamp.
	u, err := ParseULID("01ARZ3NDEKTSV4RRFFQ69G5FAV")
	if err != nil || u.Time() != 1469922850259 {
		t.Fatalf("spec ULID: time %d, %v", u.Time(), err)
	}
}

func writeBlock(t testing.TB, fsys vfs.FS, dir string, src storage.Queryable, mint, maxt int64, opts WriteOptions) *Meta {
	t.Helper()
	m, err := Write(context.Background(), fsys, dir, Meta{MinTime: mint, MaxTime: maxt}, selectSet(t, src, mint, maxt-1), opts)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func openBlock(t testing.TB, dir string, m *Meta) *Block {
	t.Helper()
	b, err := Open(vfs.OS(), filepath.Join(dir, m.ULID.String()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

func TestWriteOpenSelect(t *testing.T) {
	src := genStorage(t, 60, 3*hour, 1)
	for _, opts := range []WriteOptions{{}, {ColdFloatChunks: true}, {SamplesPerChunk: 7, SegmentSize: 1 << 14}} {
		t.Run("", func(t *testing.T) {
			dir := t.TempDir()
			// The block takes [1h, 3h): samples before are left out.
			m := writeBlock(t, vfs.OS(), dir, src, hour, 3*hour, opts)
			b := openBlock(t, dir, m)
			if m.Compaction.Level != 1 || !slices.Equal(m.Compaction.Sources, []ULID{m.ULID}) || m.Version != 1 {
				t.Fatalf("meta %+v", m)
			}
			if got := b.Meta(); got.ULID != m.ULID || got.Stats != m.Stats {
				t.Fatalf("reopened meta %+v, written %+v", got, m)
			}
			if m.Stats.NumSeries != 60 || m.Stats.NumSamples != m.Stats.NumFloatSamples+m.Stats.NumHistogramSamples || m.Stats.NumHistogramSamples == 0 {
				t.Fatalf("stats %+v", m.Stats)
			}
			wantEnc := []chunkenc.Encoding{chunkenc.EncXOR, chunkenc.EncHistogram, chunkenc.EncFloatHistogram}
			if opts.ColdFloatChunks {
				wantEnc = []chunkenc.Encoding{chunkenc.EncHistogram, chunkenc.EncFloatHistogram, chunks.EncColdFloat}
			}
			if !slices.Equal(m.Vigil.ChunkEncodings, wantEnc) {
				t.Fatalf("chunk encodings %v, want %v", m.Vigil.ChunkEncodings, wantEnc)
			}
			var total uint64
			for _, rng := range [][2]int64{{0, 10 * hour}, {hour, 3*hour - 1}, {hour + 1234, 2 * hour}, {2*hour + 15_000, 2*hour + 15_000}, {5 * hour, 6 * hour}} {
				got := selectSeries(t, b, rng[0], rng[1])
				want := selectSeries(t, src, max(rng[0], hour), min(rng[1], 3*hour-1))
				if d := diffSeries(got, want); d != "" {
					t.Fatalf("range %v: %s", rng, d)
				}
				if rng[0] == 0 {
					for _, s := range got {
						total += uint64(len(s.samples))
					}
				}
			}
			if total != m.Stats.NumSamples {
				t.Fatalf("read %d samples, stats say %d", total, m.Stats.NumSamples)
			}
			// Matchers.
			eq, re, nre := labels.MatchEqual, labels.MatchRegexp, labels.MatchNotRegexp
			for _, ms := range [][]*labels.Matcher{
				{labels.MustNewMatcher(eq, "__name__", "metric_3")},
				{labels.MustNewMatcher(re, "instance", "host-[12]"), labels.MustNewMatcher(nre, "kind", "0|1")},
				{labels.MustNewMatcher(eq, "kind", "")},
			} {
				if d := diffSeries(selectSeries(t, b, 0, 10*hour, ms...), selectSeries(t, src, hour, 3*hour-1, ms...)); d != "" {
					t.Fatalf("%v: %s", ms, d)
				}
			}
			checkLabels(t, b, src)
			if b.Size() <= 0 {
				t.Fatal("Size is not positive")
			}
		})
	}
}

func checkLabels(t *testing.T, b, src storage.Queryable) {
	t.Helper()
	ctx := context.Background()
	bq, _ := b.Querier(0, 10*hour)
	defer bq.Close()
	sq, _ := src.Querier(0, 10*hour)
	defer sq.Close()
	for _, ms := range [][]*labels.Matcher{nil, {labels.MustNewMatcher(labels.MatchEqual, "kind", "2")}} {
		gn, _, err := bq.LabelNames(ctx, nil, ms...)
		if err != nil {
			t.Fatal(err)
		}
		wn, _, _ := sq.LabelNames(ctx, nil, ms...)
		if !slices.Equal(gn, wn) {
			t.Fatalf("LabelNames(%v) = %v, want %v", ms, gn, wn)
		}
		for _, n := range wn {
			gv, _, err := bq.LabelValues(ctx, n, nil, ms...)
			if err != nil {
				t.Fatal(err)
			}
			wv, _, _ := sq.LabelValues(ctx, n, nil, ms...)
			if !slices.Equal(gv, wv) {
				t.Fatalf("LabelValues(%s, %v) = %v, want %v", n, ms, gv, wv)
			}
		}
	}
	gv, _, _ := bq.LabelValues(ctx, "instance", &storage.LabelHints{Limit: 2})
	if len(gv) != 2 {
		t.Fatalf("limit 2 gave %v", gv)
	}
}

func TestSelectHints(t *testing.T) {
	src := genStorage(t, 40, hour, 2)
	dir := t.TempDir()
	b := openBlock(t, dir, writeBlock(t, vfs.OS(), dir, src, 0, hour, WriteOptions{}))
	q, _ := b.Querier(0, hour)
	defer q.Close()
	all := labels.MustNewMatcher(labels.MatchRegexp, "__name__", ".+")
	count := func(h *storage.SelectHints) (n int) {
		for set := q.Select(context.Background(), false, h, all); set.Next(); {
			n++
		}
		return n
	}
	if n := count(&storage.SelectHints{Limit: 5}); n != 5 {
		t.Fatalf("limit 5: %d series", n)
	}
	total := 0
	for i := range uint64(3) {
		total += count(&storage.SelectHints{ShardIndex: i, ShardCount: 3})
	}
	if total != 40 {
		t.Fatalf("shards cover %d series, want 40", total)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if set := q.Select(ctx, false, nil, all); set.Next() || set.Err() == nil {
		t.Fatal("Select with a cancelled context succeeded")
	}
}

func TestWriteEmpty(t *testing.T) {
	src := genStorage(t, 5, hour, 3)
	dir := t.TempDir()
	_, err := Write(context.Background(), vfs.OS(), dir, Meta{MinTime: 5 * hour, MaxTime: 6 * hour}, selectSet(t, src, 0, hour), WriteOptions{})
	if !errors.Is(err, ErrEmpty) {
		t.Fatalf("got %v, want ErrEmpty", err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Fatalf("empty write left %v", ents)
	}
}

func TestWriteRejectsUnsortedInput(t *testing.T) {
	a := storage.NewListSeries(labels.FromStrings("__name__", "b"), []storage.Sample{{T: 1, F: 1}})
	b := storage.NewListSeries(labels.FromStrings("__name__", "a"), []storage.Sample{{T: 1, F: 1}})
	dir := t.TempDir()
	_, err := Write(context.Background(), vfs.OS(), dir, Meta{MinTime: 0, MaxTime: 10}, storage.NewListSeriesSet(a, b), WriteOptions{})
	if err == nil {
		t.Fatal("unsorted set accepted")
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Fatalf("failed write left %v", ents)
	}
	// SeriesSetFromLabels sorts.
	if _, err := Write(context.Background(), vfs.OS(), dir, Meta{MinTime: 0, MaxTime: 10}, SeriesSetFromLabels([]storage.Series{a, b}), WriteOptions{}); err != nil {
		t.Fatal(err)
	}
}

func TestOpenRefusals(t *testing.T) {
	src := genStorage(t, 10, hour, 4)
	dir := t.TempDir()
	m := writeBlock(t, vfs.OS(), dir, src, 0, hour, WriteOptions{})
	good := filepath.Join(dir, m.ULID.String())

	clone := func(name string) string {
		t.Helper()
		dst := filepath.Join(dir, name)
		if err := os.CopyFS(dst, os.DirFS(good)); err != nil {
			t.Fatal(err)
		}
		return dst
	}
	id2, _ := NewULID(time.Now())
	id3, _ := NewULID(time.Now())
	id4, _ := NewULID(time.Now())
	id5, _ := NewULID(time.Now())

	cases := []struct {
		name  string
		setup func() string
		want  error
	}{
		{"tmp for creation", func() string { return clone(id2.String() + TmpForCreationSuffix) }, ErrNotBlock},
		{"tmp for deletion", func() string { return clone(m.ULID.String() + TmpForDeletionSuffix) }, ErrNotBlock},
		{"not a ulid", func() string { return clone("wal") }, ErrNotBlock},
		{"no meta", func() string {
			d := clone(id3.String())
			os.Remove(filepath.Join(d, MetaFilename))
			return d
		}, ErrNotBlock},
		{"ulid mismatch", func() string { return clone(id4.String()) }, ErrCorrupt},
		{"bad json", func() string {
			d := clone(id5.String())
			os.WriteFile(filepath.Join(d, MetaFilename), []byte(`{"ulid": `), 0o644)
			return d
		}, ErrCorrupt},
	}
	for _, tc := range cases {
		d := tc.setup()
		_, err := Open(vfs.OS(), d)
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, err, tc.want)
		}
		os.RemoveAll(d)
	}

	// Damaged files inside a block with a good meta.json.
	damage := []struct {
		name string
		do   func(d string)
	}{
		{"index truncated", func(d string) { os.Truncate(filepath.Join(d, IndexFilename), 100) }},
		{"index missing", func(d string) { os.Remove(filepath.Join(d, IndexFilename)) }},
		{"chunk segment header", func(d string) {
			os.WriteFile(chunks.SegmentName(filepath.Join(d, ChunksDirname), 1), []byte("garbage!"), 0o644)
		}},
		{"tombstones", func(d string) { os.WriteFile(filepath.Join(d, "tombstones"), []byte("VGTS\x01xxxx"), 0o644) }},
		{"version", func(d string) {
			b, _ := os.ReadFile(filepath.Join(d, MetaFilename))
			os.WriteFile(filepath.Join(d, MetaFilename), []byte(strings.Replace(string(b), `"version": 1`, `"version": 2`, 1)), 0o644)
		}},
	}
	for _, tc := range damage {
		tmp := filepath.Join(t.TempDir(), m.ULID.String())
		if err := os.CopyFS(tmp, os.DirFS(good)); err != nil {
			t.Fatal(err)
		}
		tc.do(tmp)
		_, err := Open(vfs.OS(), tmp)
		want := ErrCorrupt
		if tc.name == "version" {
			want = ErrUnsupported
		}
		if !errors.Is(err, want) {
			t.Errorf("%s: got %v, want %v", tc.name, err, want)
		}
	}
}

func TestCorruptChunkQueryError(t *testing.T) {
	src := genStorage(t, 10, hour, 5)
	dir := t.TempDir()
	m := writeBlock(t, vfs.OS(), dir, src, 0, hour, WriteOptions{})
	bdir := filepath.Join(dir, m.ULID.String())
	seg := chunks.SegmentName(filepath.Join(bdir, ChunksDirname), 1)
	data, err := os.ReadFile(seg)
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)/2] ^= 0xff
	if err := os.WriteFile(seg, data, 0o644); err != nil {
		t.Fatal(err)
	}
	b := openBlock(t, dir, m)
	q, _ := b.Querier(0, hour)
	defer q.Close()
	set := q.Select(context.Background(), true, nil, labels.MustNewMatcher(labels.MatchRegexp, "__name__", ".+"))
	var it storage.Iterator
	var found error
	for set.Next() {
		it = set.At().Iterator(it)
		if _, err := storage.ExpandSamples(it); err != nil {
			found = err
			break
		}
	}
	var ce *chunks.CorruptionError
	if !errors.As(found, &ce) {
		t.Fatalf("damaged chunk: got %v, want a CorruptionError", found)
	}
	if ce.File != seg || !strings.Contains(found.Error(), seg) || !strings.Contains(found.Error(), "offset") {
		t.Fatalf("error %q does not name %s and an offset", found, seg)
	}
}

func TestDeleteAndCleanTombstones(t *testing.T) {
	src := genStorage(t, 30, 2*hour, 6)
	dir := t.TempDir()
	m := writeBlock(t, vfs.OS(), dir, src, 0, 2*hour, WriteOptions{})
	b := openBlock(t, dir, m)
	ctx := context.Background()

	del := []*labels.Matcher{labels.MustNewMatcher(labels.MatchEqual, "kind", "1")}
	gone := []*labels.Matcher{labels.MustNewMatcher(labels.MatchEqual, "__name__", "metric_2")}
	// A querier opened before the deletion keeps seeing the data.
	before, _ := b.Querier(0, 2*hour)
	if err := b.Delete(ctx, hour/2, hour, del...); err != nil {
		t.Fatal(err)
	}
	if err := b.Delete(ctx, 0, 10*hour, gone...); err != nil {
		t.Fatal(err)
	}
	// Expected: the reference data minus the deleted samples.
	expect := func() []series {
		var out []series
		for _, s := range selectSeries(t, src, 0, 2*hour-1) {
			if s.lset.Get("__name__") == "metric_2" {
				continue
			}
			if s.lset.Get("kind") == "1" {
				s.samples = slices.DeleteFunc(slices.Clone(s.samples), func(x storage.Sample) bool { return x.T >= hour/2 && x.T <= hour })
			}
			out = append(out, s)
		}
		return out
	}()
	if d := diffSeries(selectSeries(t, b, 0, 2*hour), expect); d != "" {
		t.Fatalf("after delete: %s", d)
	}
	if got := selectSeries(t, b, 0, 2*hour, gone...); len(got) != 0 {
		t.Fatalf("fully deleted series still selected: %d", len(got))
	}
	n := 0
	set := before.Select(ctx, true, nil, gone...)
	for set.Next() {
		n++
	}
	before.Close()
	if n == 0 {
		t.Fatal("a querier opened before the delete lost its data")
	}
	if b.Meta().Stats.NumTombstones == 0 {
		t.Fatal("meta does not count tombstones")
	}

	// Tombstones survive reopening.
	b.Close()
	b2, err := Open(vfs.OS(), b.Dir())
	if err != nil {
		t.Fatal(err)
	}
	defer b2.Close()
	if d := diffSeries(selectSeries(t, b2, 0, 2*hour), expect); d != "" {
		t.Fatalf("after reopen: %s", d)
	}
	if b2.Meta().Stats.NumTombstones != b.Meta().Stats.NumTombstones {
		t.Fatal("tombstone count not persisted")
	}

	// CleanTombstones rewrites without the deleted samples.
	nm, changed, err := b2.CleanTombstones(ctx, dir, WriteOptions{})
	if err != nil || !changed || nm == nil {
		t.Fatalf("CleanTombstones: %v %v %v", nm, changed, err)
	}
	if len(nm.Compaction.Parents) != 1 || nm.Compaction.Parents[0].ULID != m.ULID || nm.MinTime != m.MinTime || nm.MaxTime != m.MaxTime {
		t.Fatalf("clean meta %+v", nm)
	}
	b3 := openBlock(t, dir, nm)
	if b3.Tombstones().Len() != 0 {
		t.Fatal("cleaned block has tombstones")
	}
	if d := diffSeries(selectSeries(t, b3, 0, 2*hour), expect); d != "" {
		t.Fatalf("cleaned block: %s", d)
	}
	if sup := Superseded([]Meta{b2.Meta(), b3.Meta()}); !sup[m.ULID] || len(sup) != 1 {
		t.Fatalf("Superseded = %v", sup)
	}
	// Nothing to clean.
	if _, changed, err := b3.CleanTombstones(ctx, dir, WriteOptions{}); changed || err != nil {
		t.Fatalf("clean without tombstones: %v %v", changed, err)
	}
	// Everything deleted.
	if err := b3.Delete(ctx, 0, 10*hour); err != nil {
		t.Fatal(err)
	}
	if nm, changed, err := b3.CleanTombstones(ctx, dir, WriteOptions{}); nm != nil || !changed || err != nil {
		t.Fatalf("clean of an all-deleted block: %v %v %v", nm, changed, err)
	}
}

func TestRemoveAndScan(t *testing.T) {
	src := genStorage(t, 3, hour, 7)
	dir := t.TempDir()
	m1 := writeBlock(t, vfs.OS(), dir, src, 0, hour, WriteOptions{})
	m2 := writeBlock(t, vfs.OS(), dir, src, 0, hour, WriteOptions{})
	os.MkdirAll(filepath.Join(dir, "wal"), 0o777)
	os.MkdirAll(filepath.Join(dir, "01ARZ3NDEKTSV4RRFFQ69G5FAV"+TmpForCreationSuffix), 0o777)
	blocks, leftovers, err := Scan(vfs.OS(), dir)
	if err != nil || len(blocks) != 2 || len(leftovers) != 1 {
		t.Fatalf("Scan: %v %v %v", blocks, leftovers, err)
	}
	if err := Remove(vfs.OS(), filepath.Join(dir, m1.ULID.String())); err != nil {
		t.Fatal(err)
	}
	if err := Remove(vfs.OS(), filepath.Join(dir, m1.ULID.String())); err != nil {
		t.Fatalf("removing twice: %v", err)
	}
	blocks, _, _ = Scan(vfs.OS(), dir)
	if len(blocks) != 1 || filepath.Base(blocks[0]) != m2.ULID.String() {
		t.Fatalf("after Remove: %v", blocks)
	}
}

func TestCloseWaitsForQueriers(t *testing.T) {
	src := genStorage(t, 3, hour, 8)
	dir := t.TempDir()
	m := writeBlock(t, vfs.OS(), dir, src, 0, hour, WriteOptions{})
	b, err := Open(vfs.OS(), filepath.Join(dir, m.ULID.String()))
	if err != nil {
		t.Fatal(err)
	}
	q, _ := b.Querier(0, hour)
	closed := make(chan struct{})
	go func() { b.Close(); close(closed) }()
	select {
	case <-closed:
		t.Fatal("Close returned with a querier open")
	case <-time.After(50 * time.Millisecond):
	}
	// The querier still works while Close waits.
	if got := selectSeries(t, storage.QueryableFunc(func(int64, int64) (storage.Querier, error) { return nopCloser{q}, nil }), 0, hour); len(got) != 3 {
		t.Fatalf("querier during Close: %d series", len(got))
	}
	q.Close()
	<-closed
	if _, err := b.Querier(0, hour); !errors.Is(err, ErrClosed) {
		t.Fatalf("Querier after Close: %v", err)
	}
}

type nopCloser struct{ storage.Querier }

func (nopCloser) Close() error { return nil }

func TestOpenDir(t *testing.T) {
	src := genStorage(t, 6, 2*hour, 13)
	dir := t.TempDir()
	m2 := writeBlock(t, vfs.OS(), dir, src, hour, 2*hour, WriteOptions{})
	m1 := writeBlock(t, vfs.OS(), dir, src, 0, hour, WriteOptions{})
	// A block and its cleaned copy: the parent is superseded.
	parent := writeBlock(t, vfs.OS(), dir, src, 0, hour, WriteOptions{})
	pb, err := Open(vfs.OS(), filepath.Join(dir, parent.ULID.String()))
	if err != nil {
		t.Fatal(err)
	}
	if err := pb.Delete(context.Background(), 0, hour/2, labels.MustNewMatcher(labels.MatchEqual, "kind", "0")); err != nil {
		t.Fatal(err)
	}
	child, _, err := pb.CleanTombstones(context.Background(), dir, WriteOptions{})
	if err != nil || child == nil {
		t.Fatalf("clean: %v", err)
	}
	pb.Close()
	// Leftovers.
	tmp := filepath.Join(dir, "01ARZ3NDEKTSV4RRFFQ69G5FAV"+TmpForCreationSuffix)
	os.MkdirAll(tmp, 0o777)
	nometa, _ := NewULID(time.Now())
	os.MkdirAll(filepath.Join(dir, nometa.String()), 0o777)
	// A corrupt block.
	bad := writeBlock(t, vfs.OS(), dir, src, 0, hour, WriteOptions{})
	os.Truncate(filepath.Join(dir, bad.ULID.String(), IndexFilename), 10)

	res, err := OpenDir(vfs.OS(), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		for _, b := range res.Blocks {
			b.Close()
		}
	}()
	var got []ULID
	for _, b := range res.Blocks {
		got = append(got, b.Meta().ULID)
	}
	want := []ULID{m1.ULID, child.ULID, m2.ULID}
	slices.SortFunc(want[:2], ULID.Compare)
	if !slices.Equal(got, want) {
		t.Fatalf("opened %v, want %v", got, want)
	}
	if len(res.Corrupt) != 1 || res.Corrupt[filepath.Join(dir, bad.ULID.String())] == nil {
		t.Fatalf("corrupt %v", res.Corrupt)
	}
	if len(res.Removed) != 3 {
		t.Fatalf("removed %v", res.Removed)
	}
	for _, p := range []string{tmp, filepath.Join(dir, nometa.String()), filepath.Join(dir, parent.ULID.String())} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Fatalf("%s still exists", p)
		}
	}
}

// TestConcurrentDeleteAndQuery runs queries while deletions replace the
// tombstones (run with -race).
func TestConcurrentDeleteAndQuery(t *testing.T) {
	src := genStorage(t, 20, hour, 14)
	dir := t.TempDir()
	b := openBlock(t, dir, writeBlock(t, vfs.OS(), dir, src, 0, hour, WriteOptions{}))
	done := make(chan struct{})
	errs := make(chan error, 4)
	for range 3 {
		go func() {
			for {
				select {
				case <-done:
					errs <- nil
					return
				default:
				}
				q, err := b.Querier(0, hour)
				if err != nil {
					errs <- err
					return
				}
				set := q.Select(context.Background(), true, nil, labels.MustNewMatcher(labels.MatchRegexp, "__name__", ".+"))
				var it storage.Iterator
				for set.Next() {
					it = set.At().Iterator(it)
					if _, err := storage.ExpandSamples(it); err != nil {
						errs <- err
						return
					}
				}
				q.Close()
			}
		}()
	}
	for i := range int64(20) {
		if err := b.Delete(context.Background(), i*60_000, i*60_000+30_000, labels.MustNewMatcher(labels.MatchEqual, "kind", "1")); err != nil {
			t.Fatal(err)
		}
	}
	close(done)
	for range 3 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if n := b.Tombstones().NumIntervals(); n == 0 {
		t.Fatal("no tombstones recorded")
	}
}

// TestMetaChunkEncodingsJSON: the list is written as numbers, as the
// format document shows, and the base64 form of earlier writers is read.
func TestMetaChunkEncodingsJSON(t *testing.T) {
	out, err := json.Marshal(VigilMeta{ChunkEncodings: EncodingList{1, 16}})
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != `{"chunkEncodings":[1,16]}` {
		t.Fatalf("marshalled %s", out)
	}
	for _, in := range []string{`{"chunkEncodings":[1,16]}`, `{"chunkEncodings":"ARA="}`} {
		var m VigilMeta
		if err := json.Unmarshal([]byte(in), &m); err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		if len(m.ChunkEncodings) != 2 || m.ChunkEncodings[0] != 1 || m.ChunkEncodings[1] != 16 {
			t.Fatalf("%s: read %v", in, m.ChunkEncodings)
		}
	}
	var m VigilMeta
	if err := json.Unmarshal([]byte(`{"chunkEncodings":[1,300]}`), &m); err == nil {
		t.Fatal("encoding 300 accepted")
	}
}
