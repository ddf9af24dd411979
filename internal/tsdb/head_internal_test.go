package tsdb

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/vigil-monitoring/vigil/internal/model/labels"
	"github.com/vigil-monitoring/vigil/internal/storage"
	"github.com/vigil-monitoring/vigil/internal/tsdb/headchunks"
)

// TestSeriesTableAgainstMap inserts, looks up and deletes at random,
// with many label hashes colliding, and compares with a map.
func TestSeriesTableAgainstMap(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	syms := newSymbolTable()
	byRef := seriesTable{}
	byHash := seriesTable{byHash: true}
	model := map[storage.SeriesRef]*memSeries{}
	lsetOf := map[storage.SeriesRef]labels.Labels{}
	next := storage.SeriesRef(1)
	for step := range 20000 {
		switch op := rng.IntN(10); {
		case op < 5 || len(model) == 0:
			l := labels.FromStrings("__name__", "m", "i", fmt.Sprint(next))
			// A tiny hash space: most probes meet other series.
			s := newMemSeries(next, uint64(rng.IntN(64)), syms.intern(l))
			byRef.insert(s)
			byHash.insert(s)
			model[next], lsetOf[next] = s, l
			next++
		case op < 8:
			for ref, s := range model {
				byRef.delete(s)
				byHash.delete(s)
				delete(model, ref)
				break
			}
		default:
			ref := storage.SeriesRef(1 + rng.IntN(int(next)))
			want := model[ref]
			if got := byRef.getRef(ref); got != want {
				t.Fatalf("step %d: getRef(%d) = %p, want %p", step, ref, got, want)
			}
			if want != nil {
				if got := byHash.getLabels(want.hash, lsetOf[ref], syms); got != want {
					t.Fatalf("step %d: getLabels for %d = %p, want %p", step, ref, got, want)
				}
			}
		}
		if byRef.n != len(model) || byHash.n != len(model) {
			t.Fatalf("step %d: tables hold %d and %d series, model %d", step, byRef.n, byHash.n, len(model))
		}
	}
	// Every survivor is found, and nothing else is.
	for ref, s := range model {
		if byRef.getRef(ref) != s || byHash.getLabels(s.hash, lsetOf[ref], syms) != s {
			t.Fatalf("series %d lost", ref)
		}
	}
	n := 0
	byRef.all(func(*memSeries) { n++ })
	if n != len(model) {
		t.Fatalf("all visited %d of %d", n, len(model))
	}
}

func TestChunkListRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for trial := range 200 {
		var want []chunkMeta
		var l chunkList
		var lb chunkListBuilder
		seq, off := uint32(rng.IntN(3)), uint32(8)
		t0 := rng.Int64N(1<<50) - 1<<49
		for range rng.IntN(12) {
			switch rng.IntN(4) {
			case 0: // another file, or an overflow chunk
				seq, off = uint32(rng.IntN(1<<20)), uint32(rng.IntN(1<<31))
			default:
				off += uint32(rng.IntN(1 << 20))
			}
			c := chunkMeta{ref: headchunks.NewRef(seq, off), minT: t0 + 1 + rng.Int64N(1e6)}
			c.maxT = c.minT + rng.Int64N(1e7)
			t0 = c.maxT
			want = append(want, c)
			l = l.appendChunk(c)
			lb.add(c)
		}
		var got []chunkMeta
		it := l.iter()
		for it.next() {
			got = append(got, it.cur)
		}
		if !slices.Equal(got, want) || lb.list() != l || l.len() != len(want) {
			t.Fatalf("trial %d: decoded %v, want %v", trial, got, want)
		}
		if len(want) == 0 {
			continue
		}
		if f, _ := l.first(); f != want[0] {
			t.Fatalf("first %v", f)
		}
		if la, _ := l.last(); la != want[len(want)-1] {
			t.Fatalf("last %v", la)
		}
		// Dropping a prefix and moving refs re-encodes the rest.
		cut := want[len(want)/2].maxT
		rest, dropped := l.rebuild(func(c chunkMeta) bool { return c.maxT >= cut },
			func(c chunkMeta) headchunks.Ref { return c.ref + 1 })
		var kept []chunkMeta
		for _, c := range want[len(want)/2:] {
			c.ref++
			kept = append(kept, c)
		}
		got = got[:0]
		it = rest.iter()
		for it.next() {
			got = append(got, it.cur)
		}
		if !slices.Equal(got, kept) || len(dropped) != len(want)/2 {
			t.Fatalf("trial %d: rebuilt %v (dropped %d), want %v", trial, got, len(dropped), kept)
		}
	}
}

func TestPostingListSeek(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for trial := range 100 {
		var refs []storage.SeriesRef
		r := storage.SeriesRef(rng.IntN(100))
		for range rng.IntN(1000) {
			r += storage.SeriesRef(1 + rng.IntN(1<<uint(rng.IntN(30))))
			refs = append(refs, r)
		}
		l := newPostingList(refs)
		if got := l.decode(nil); !slices.Equal(got, refs) {
			t.Fatalf("trial %d: decoded %d refs, want %d", trial, len(got), len(refs))
		}
		// Ascending seeks, some repeated, some between and past elements.
		it := l.iter()
		x := storage.SeriesRef(0)
		for range 50 {
			x += storage.SeriesRef(rng.IntN(int(r/20 + 2)))
			i, _ := slices.BinarySearch(refs, x)
			ok := it.seek(x)
			if ok != (i < len(refs)) || (ok && it.cur != refs[i]) {
				t.Fatalf("trial %d: seek(%d) = %v at %d, want index %d of %d", trial, x, ok, it.cur, i, len(refs))
			}
			if !ok {
				break
			}
			x = it.cur
		}
	}
}

// TestPostingsForMatchersAgainstModel compares postingsForMatchers with a
// scan of every series' labels.
func TestPostingsForMatchersAgainstModel(t *testing.T) {
	syms := newSymbolTable()
	p := newMemPostings()
	var last atomic.Uint64
	refs := map[storage.SeriesRef]labels.Labels{}
	for i := range 3000 {
		b := labels.NewBuilder(labels.FromStrings("__name__", fmt.Sprint("m", i%7), "job", fmt.Sprint("j", i%3)))
		if i%5 != 0 {
			b.Set("inst", fmt.Sprint("i", i%50))
		}
		l := b.Labels()
		ref := p.addNew(&last, syms.intern(l), syms)
		refs[ref] = l
	}
	m := func(typ labels.MatchType, n, v string) *labels.Matcher { return labels.MustNewMatcher(typ, n, v) }
	cases := [][]*labels.Matcher{
		{m(labels.MatchEqual, "__name__", "m3")},
		{m(labels.MatchEqual, "__name__", "m3"), m(labels.MatchEqual, "job", "j1")},
		{m(labels.MatchRegexp, "inst", "i1|i2|i44"), m(labels.MatchNotEqual, "job", "j0")},
		{m(labels.MatchEqual, "inst", "")},
		{m(labels.MatchRegexp, "inst", "i1.*"), m(labels.MatchNotRegexp, "__name__", "m[12]")},
		{m(labels.MatchEqual, "job", "j2"), m(labels.MatchEqual, "__name__", "nope")},
		{m(labels.MatchNotEqual, "job", "")},
	}
	for _, ms := range cases {
		var want []storage.SeriesRef
		for ref, l := range refs {
			ok := true
			for _, mt := range ms {
				ok = ok && mt.Matches(l.Get(mt.Name))
			}
			if ok {
				want = append(want, ref)
			}
		}
		slices.Sort(want)
		if got := p.postingsForMatchers(ms); !slices.Equal(got, want) {
			t.Fatalf("%v: %d refs, want %d", ms, len(got), len(want))
		}
	}
	// Removing series rebuilds every list they were in.
	deleted := map[storage.SeriesRef]seriesLabels{}
	for ref := range refs {
		if ref%3 == 0 {
			deleted[ref] = syms.intern(refs[ref])
			delete(refs, ref)
		}
	}
	p.remove(deleted, syms)
	got := p.postingsForMatchers([]*labels.Matcher{m(labels.MatchEqual, "job", "j1")})
	for _, ref := range got {
		if _, ok := refs[ref]; !ok || refs[ref].Get("job") != "j1" {
			t.Fatalf("ref %d after removal", ref)
		}
	}
	if p.all().n != len(refs) {
		t.Fatalf("all has %d, want %d", p.all().n, len(refs))
	}
}

func TestSymbolTable(t *testing.T) {
	st := newSymbolTable()
	a := labels.FromStrings("__name__", "up", "job", "node")
	b := labels.FromStrings("__name__", "up", "job", "prom", "x", "")
	la, lb := st.intern(a), st.intern(b)
	var sb labels.ScratchBuilder
	if got := st.labels(la, &sb); !labels.Equal(got, a) {
		t.Fatalf("decoded %s", got)
	}
	if got := st.labels(lb, &sb); !labels.Equal(got, b) {
		t.Fatalf("decoded %s", got)
	}
	if !st.equal(la, a) || st.equal(la, b) || st.equal(lb, a) || st.equal(la, labels.FromStrings("__name__", "up")) {
		t.Fatal("equal is wrong")
	}
	if st.get(lb, "job") != "prom" || st.get(lb, "nope") != "" {
		t.Fatal("get is wrong")
	}
	// "__name__", "up", "job", "node", "prom", "x", "".
	if st.size() != 7 {
		t.Fatalf("%d symbols", st.size())
	}
	dead := st.release(la)
	if len(dead) != 1 || st.size() != 6 {
		t.Fatalf("released %v, %d symbols left", dead, st.size())
	}
	st.freeIDs(dead)
	c := st.intern(labels.FromStrings("new", "up"))
	if got := st.labels(c, &sb); got.String() != `{new="up"}` {
		t.Fatalf("after reuse: %s", got)
	}
	if got := st.labels(lb, &sb); !labels.Equal(got, b) {
		t.Fatalf("b changed after reuse: %s", got)
	}
}

// TestRefIndexAgainstMap inserts, looks up and deletes at random, with
// refs spread over many pages and some far beyond them (the overflow
// table), and compares with a map; walk must visit every series once, in
// ref order within the pages.
func TestRefIndexAgainstMap(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	syms := newSymbolTable()
	ss := newStripeSeries(16, syms)
	model := map[storage.SeriesRef]*memSeries{}
	next := storage.SeriesRef(1)
	newRef := func() storage.SeriesRef {
		switch rng.IntN(20) {
		case 0: // far beyond the directory: overflow
			return storage.SeriesRef(1<<40 + rng.Uint64N(1<<30))
		case 1: // a gap of a few pages
			next += storage.SeriesRef(rng.IntN(4 * refPageSize))
		}
		next++
		return next
	}
	for step := range 30000 {
		switch op := rng.IntN(10); {
		case op < 5 || len(model) == 0:
			ref := newRef()
			if model[ref] != nil {
				continue
			}
			s := newMemSeries(ref, uint64(ref), syms.intern(labels.FromStrings("i", fmt.Sprint(ref))))
			ss.setByRef(s)
			model[ref] = s
		case op < 8:
			for ref, s := range model {
				ss.refLock(ref).Lock()
				ss.deleteByRef([]*memSeries{s})
				ss.refLock(ref).Unlock()
				delete(model, ref)
				break
			}
		default:
			ref := storage.SeriesRef(rng.Uint64N(uint64(next) + 10))
			if got, want := ss.getByRef(ref), model[ref]; got != want {
				t.Fatalf("step %d: getByRef(%d) = %p, want %p", step, ref, got, want)
			}
		}
	}
	for ref, s := range model {
		if ss.getByRef(ref) != s {
			t.Fatalf("series %d lost", ref)
		}
	}
	seen := map[storage.SeriesRef]bool{}
	last := storage.SeriesRef(0)
	ss.walk(false, func(run []*memSeries) {
		for _, s := range run {
			if seen[s.ref] {
				t.Fatalf("walk visited %d twice", s.ref)
			}
			seen[s.ref] = true
			if s.ref < 1<<40 {
				if s.ref < last {
					t.Fatalf("walk visited %d after %d", s.ref, last)
				}
				last = s.ref
			}
			if ss.stripe(s.ref) != ss.stripe(run[0].ref) {
				t.Fatalf("run mixes stripes: %d and %d", run[0].ref, s.ref)
			}
		}
	})
	if len(seen) != len(model) {
		t.Fatalf("walk visited %d of %d", len(seen), len(model))
	}
	// Pages of deleted series are freed.
	for _, s := range model {
		ss.deleteByRef([]*memSeries{s})
	}
	pages := ss.byRef.pages()
	for i := range pages {
		if pages[i].Load() != nil {
			t.Fatalf("page %d kept after all its series went", i)
		}
	}
	if ss.byRef.nOverflow.Load() != 0 {
		t.Fatalf("%d series left in the overflow", ss.byRef.nOverflow.Load())
	}
}

// TestRefIndexHighFirstRef checks that a head whose refs all start high
// (a restart after much churn) keeps them in the pages, not the overflow.
func TestRefIndexHighFirstRef(t *testing.T) {
	syms := newSymbolTable()
	ss := newStripeSeries(16, syms)
	for ref := storage.SeriesRef(5_000_000); ref < 5_001_000; ref++ {
		ss.setByRef(newMemSeries(ref, uint64(ref), syms.intern(labels.FromStrings("i", fmt.Sprint(ref)))))
	}
	if n := ss.byRef.nOverflow.Load(); n != 0 {
		t.Fatalf("%d of 1000 series in the overflow", n)
	}
	if s := ss.getByRef(5_000_500); s == nil || s.ref != 5_000_500 {
		t.Fatal("series 5000500 not found")
	}
}
