package index

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/vigil-monitoring/vigil/internal/model/labels"
	"github.com/vigil-monitoring/vigil/internal/storage"
	"github.com/vigil-monitoring/vigil/internal/tsdb/chunks"
	"github.com/vigil-monitoring/vigil/internal/tsdb/vfs"
)

type testSeries struct {
	lset labels.Labels
	chks []chunks.Meta
}

// genSeries returns n distinct series sorted by labels, shaped like
// node-exporter output: a few metric names, instances, and per-metric
// extra labels, some absent.
func genSeries(n int, seed uint64) []testSeries {
	rng := rand.New(rand.NewPCG(seed, 1))
	seen := map[string]bool{}
	var out []testSeries
	for len(out) < n {
		b := labels.NewScratchBuilder(6)
		b.Add("__name__", fmt.Sprintf("metric_%d", rng.IntN(20)))
		b.Add("instance", fmt.Sprintf("host-%03d:9100", rng.IntN(60)))
		b.Add("job", []string{"node", "api", "db"}[rng.IntN(3)])
		if rng.IntN(2) == 0 {
			b.Add("cpu", fmt.Sprint(rng.IntN(16)))
		}
		if rng.IntN(4) == 0 {
			b.Add("mode", []string{"idle", "user", "system", "iowait", ""}[rng.IntN(5)])
		}
		if rng.IntN(10) == 0 {
			b.Add("path", fmt.Sprintf("/x/%d\n%d", rng.IntN(5), rng.IntN(3)))
		}
		l := b.Labels()
		if seen[l.String()] {
			continue
		}
		seen[l.String()] = true
		var chks []chunks.Meta
		t := int64(rng.IntN(1000)) - 500
		for range rng.IntN(5) {
			mint := t + 1 + int64(rng.IntN(100))
			maxt := mint + int64(rng.IntN(1000))
			chks = append(chks, chunks.Meta{Ref: chunks.ChunkRef(rng.Uint64()), MinT: mint, MaxT: maxt})
			t = maxt
		}
		out = append(out, testSeries{lset: l, chks: chks})
	}
	slices.SortFunc(out, func(a, b testSeries) int { return labels.Compare(a.lset, b.lset) })
	return out
}

func writeIndex(t testing.TB, fsys vfs.FS, path string, series []testSeries) {
	t.Helper()
	w, err := NewWriter(fsys, path)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range series {
		if err := w.AddSeries(s.lset, s.chks...); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

func buildIndex(t testing.TB, series []testSeries) *Reader {
	t.Helper()
	path := filepath.Join(t.TempDir(), "index")
	writeIndex(t, vfs.OS(), path, series)
	if _, err := os.Stat(path + ".spool"); !os.IsNotExist(err) {
		t.Fatalf("spool left behind: %v", err)
	}
	r, err := Open(vfs.OS(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

func TestIndexRoundTrip(t *testing.T) {
	series := genSeries(3000, 1)
	r := buildIndex(t, series)

	refs, err := Expand(r.AllPostings())
	if err != nil {
		t.Fatal(err)
	}
	if len(refs) != len(series) {
		t.Fatalf("%d series in all-postings, want %d", len(refs), len(series))
	}
	var b labels.ScratchBuilder
	var chks []chunks.Meta
	names := map[string]map[string]bool{}
	for i, ref := range refs {
		if err := r.Series(ref, &b, &chks); err != nil {
			t.Fatal(err)
		}
		if got := b.Labels(); !labels.Equal(got, series[i].lset) {
			t.Fatalf("series %d: labels %s, want %s", i, got, series[i].lset)
		}
		if !slices.Equal(chks, series[i].chks) && (len(chks) != 0 || len(series[i].chks) != 0) {
			t.Fatalf("series %d: chunks %v, want %v", i, chks, series[i].chks)
		}
		series[i].lset.Range(func(l labels.Label) {
			if names[l.Name] == nil {
				names[l.Name] = map[string]bool{}
			}
			names[l.Name][l.Value] = true
		})
	}
	var wantNames []string
	for n := range names {
		wantNames = append(wantNames, n)
	}
	slices.Sort(wantNames)
	if got := r.LabelNames(); !slices.Equal(got, wantNames) {
		t.Fatalf("LabelNames %v, want %v", got, wantNames)
	}
	for n, vals := range names {
		var want []string
		for v := range vals {
			want = append(want, v)
		}
		slices.Sort(want)
		got, err := r.LabelValues(n)
		if err != nil || !slices.Equal(got, want) {
			t.Fatalf("LabelValues(%s) = %v, %v; want %v", n, got, err, want)
		}
		// Each value's list holds exactly the series with that pair.
		for _, v := range want {
			got, err := Expand(r.Postings(n, v))
			if err != nil {
				t.Fatal(err)
			}
			var exp []storage.SeriesRef
			for i, s := range series {
				if s.lset.Has(n) && s.lset.Get(n) == v {
					exp = append(exp, refs[i])
				}
			}
			if !slices.Equal(got, exp) {
				t.Fatalf("Postings(%s=%q): %d refs, want %d", n, v, len(got), len(exp))
			}
		}
	}
	if got, _ := Expand(r.Postings("nosuch", "x")); len(got) != 0 {
		t.Fatal("postings for an unknown name")
	}
	if got, _ := Expand(r.Postings("job", "nosuch")); len(got) != 0 {
		t.Fatal("postings for an unknown value")
	}
	// Symbols resolve both ways.
	for i := range r.NumSymbols() {
		s, err := r.Symbol(uint32(i))
		if err != nil {
			t.Fatal(err)
		}
		if j, ok := r.symbolIndex(s); !ok || j != uint32(i) {
			t.Fatalf("symbolIndex(%q) = %d, %v; want %d", s, j, ok, i)
		}
	}
	if _, ok := r.symbolIndex("~~not a symbol"); ok {
		t.Fatal("found a missing symbol")
	}
}

func TestIndexManyValues(t *testing.T) {
	// One name with thousands of values exercises the sampled table, and
	// the all-series list is long enough for a skip table.
	var series []testSeries
	for i := range 5000 {
		series = append(series, testSeries{lset: labels.FromStrings("__name__", "m", "id", fmt.Sprintf("%05d", i))})
	}
	r := buildIndex(t, series)
	vals, err := r.LabelValues("id")
	if err != nil || len(vals) != 5000 || vals[0] != "00000" || vals[4999] != "04999" {
		t.Fatalf("LabelValues: %d values, %v", len(vals), err)
	}
	for _, v := range []string{"00000", "00031", "00032", "00033", "04998", "04999"} {
		got, err := Expand(r.Postings("id", v))
		if err != nil || len(got) != 1 {
			t.Fatalf("Postings(id=%s) = %v, %v", v, got, err)
		}
	}
	got, err := Expand(r.Postings("id", "04999", "00007", "02500", "zzz"))
	if err != nil || len(got) != 3 {
		t.Fatalf("multi-value Postings: %v %v", got, err)
	}
	// Prefix regexp walks only part of the table.
	p := r.PostingsForMatchers(labels.MustNewMatcher(labels.MatchRegexp, "id", "0499.*"))
	if got, _ := Expand(p); len(got) != 10 {
		t.Fatalf("prefix regexp: %d series", len(got))
	}
}

func TestWriterRejectsBadInput(t *testing.T) {
	dir := t.TempDir()
	w, err := NewWriter(vfs.OS(), filepath.Join(dir, "index"))
	if err != nil {
		t.Fatal(err)
	}
	if err := w.AddSeries(labels.FromStrings("a", "2")); err != nil {
		t.Fatal(err)
	}
	if err := w.AddSeries(labels.FromStrings("a", "1")); err == nil {
		t.Fatal("out of order series accepted")
	}
	if err := w.Close(); err == nil {
		t.Fatal("Close after a failed AddSeries succeeded")
	}
	if _, err := os.Stat(filepath.Join(dir, "index")); !os.IsNotExist(err) {
		t.Fatal("failed writer left an index behind")
	}
	w, _ = NewWriter(vfs.OS(), filepath.Join(dir, "index2"))
	bad := []chunks.Meta{{MinT: 0, MaxT: 10}, {MinT: 10, MaxT: 20}}
	if err := w.AddSeries(labels.FromStrings("a", "1"), bad...); err == nil {
		t.Fatal("overlapping chunks accepted")
	}
	w.Abort()
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Fatalf("Abort left files: %v", ents)
	}
}

func TestEmptyIndex(t *testing.T) {
	r := buildIndex(t, nil)
	if got, err := Expand(r.AllPostings()); err != nil || len(got) != 0 {
		t.Fatalf("all postings of an empty index: %v %v", got, err)
	}
	if len(r.LabelNames()) != 0 {
		t.Fatal("label names in an empty index")
	}
}

func TestIndexCorruption(t *testing.T) {
	series := genSeries(300, 3)
	path := filepath.Join(t.TempDir(), "index")
	writeIndex(t, vfs.OS(), path, series)
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	r, err := NewReader(good)
	if err != nil {
		t.Fatal(err)
	}
	refs, _ := Expand(r.AllPostings())
	toc := r.toc

	flip := func(off uint64) []byte {
		b := slices.Clone(good)
		b[off] ^= 0x10
		return b
	}
	// Damage in the tables read at open fails the open.
	for name, off := range map[string]uint64{
		"magic":          0,
		"symbols":        toc.Symbols + 6,
		"postings table": toc.PostingsTable + 6,
		"toc":            uint64(len(good) - 10),
	} {
		_, err := NewReader(flip(off))
		if !errors.Is(err, chunks.ErrCorruption) {
			t.Errorf("%s damaged: got %v, want a corruption error", name, err)
		}
	}
	// Damage in a series entry surfaces when it is read, naming its offset.
	ref := refs[len(refs)/2]
	r2, err := NewReader(flip(uint64(ref)*SeriesAlignment + 3))
	if err != nil {
		t.Fatal(err)
	}
	var b labels.ScratchBuilder
	var chks []chunks.Meta
	err = r2.Series(ref, &b, &chks)
	var ce *chunks.CorruptionError
	if !errors.As(err, &ce) || ce.Offset != int64(ref)*SeriesAlignment {
		t.Fatalf("damaged series: %v", err)
	}
	if err := r2.Series(refs[0], &b, &chks); err != nil {
		t.Fatalf("undamaged series: %v", err)
	}
	// Damage in the postings section surfaces on first use.
	r3, err := NewReader(flip(toc.Postings + 5))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Expand(r3.AllPostings()); !errors.Is(err, chunks.ErrCorruption) {
		t.Fatalf("damaged postings: %v", err)
	}
	// A reference outside the series section.
	if err := r.Series(storage.SeriesRef(len(good)), &b, &chks); !errors.Is(err, chunks.ErrCorruption) {
		t.Fatalf("bad ref: %v", err)
	}
	// An unknown version is refused, but not as corruption.
	b4 := slices.Clone(good)
	b4[4] = 2
	if _, err := NewReader(b4); err == nil || errors.Is(err, chunks.ErrCorruption) {
		t.Fatalf("version 2: %v", err)
	}
}

func TestIndexWriteFaults(t *testing.T) {
	series := genSeries(200, 4)
	for n := range 40 {
		dir := t.TempDir()
		ffs := vfs.NewFaultFS(vfs.OS(), uint64(n))
		ffs.FailWritesAfter(n, nil)
		path := filepath.Join(dir, "index")
		w, err := NewWriter(ffs, path)
		if err != nil {
			continue
		}
		var werr error
		for _, s := range series {
			if werr = w.AddSeries(s.lset, s.chks...); werr != nil {
				break
			}
		}
		cerr := w.Close()
		if werr == nil && cerr == nil {
			// The fault came too late to matter; the index must be whole.
			if _, err := Open(vfs.OS(), path); err != nil {
				t.Fatalf("fault after %d ops: Close succeeded but the index is unreadable: %v", n, err)
			}
			continue
		}
		if _, err := os.Stat(path + ".spool"); !os.IsNotExist(err) {
			t.Fatalf("fault after %d ops: spool left behind", n)
		}
	}
}
