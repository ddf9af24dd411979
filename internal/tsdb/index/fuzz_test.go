package index

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/vigil-monitoring/vigil/internal/model/labels"
	"github.com/vigil-monitoring/vigil/internal/tsdb/chunks"
	"github.com/vigil-monitoring/vigil/internal/tsdb/vfs"
)

// FuzzIndexReader opens arbitrary bytes as an index and exercises every
// read path. Nothing may panic; a refused file must say why with a
// corruption error (or, for an unknown version, a plain one).
func FuzzIndexReader(f *testing.F) {
	dir := f.TempDir()
	for i, n := range []int{0, 3, 40} {
		path := filepath.Join(dir, "index"+string(rune('a'+i)))
		writeIndex(f, vfs.OS(), path, genSeries(n, uint64(i)))
		b, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := NewReader(b)
		if err != nil {
			if !errors.Is(err, chunks.ErrCorruption) && len(b) > 4 && b[4] == FormatVersion {
				t.Fatalf("refused without a corruption error: %v", err)
			}
			return
		}
		var sb labels.ScratchBuilder
		var chks []chunks.Meta
		p := r.AllPostings()
		for n := 0; p.Next() && n < 1000; n++ {
			_ = r.Series(p.At(), &sb, &chks)
			_ = sb.Labels()
		}
		for _, name := range r.LabelNames() {
			vals, _ := r.LabelValues(name)
			for _, v := range vals {
				_, _ = Expand(r.Postings(name, v))
			}
			_, _ = r.LabelValuesFor(r.AllPostings(), name)
			ms := []*labels.Matcher{
				labels.MustNewMatcher(labels.MatchRegexp, name, "a.*"),
				labels.MustNewMatcher(labels.MatchNotEqual, name, "x"),
			}
			pp := r.PostingsForMatchers(ms...)
			for pp.Next() {
				pp.Seek(pp.At() + 3)
			}
		}
		_, _ = r.LabelNamesFor(r.AllPostings())
		for i := range min(r.NumSymbols(), 100) {
			_, _ = r.Symbol(uint32(i))
		}
	})
}
