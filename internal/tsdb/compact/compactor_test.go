package compact

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"github.com/vigil-monitoring/vigil/internal/model/labels"
	"github.com/vigil-monitoring/vigil/internal/storage"
	"github.com/vigil-monitoring/vigil/internal/storage/storagetest"
	"github.com/vigil-monitoring/vigil/internal/tsdb/block"
	"github.com/vigil-monitoring/vigil/internal/tsdb/chunkenc"
	"github.com/vigil-monitoring/vigil/internal/tsdb/chunks"
	"github.com/vigil-monitoring/vigil/internal/tsdb/vfs"
)

func TestCompactAdjacent(t *testing.T) {
	src := storagetest.NewMemStorage()
	fill(t, src, 30, 0, 6*hour, 0)
	dir := t.TempDir()
	var dirs []string
	for i := range int64(3) {
		dirs = append(dirs, writeBlock(t, dir, src, i*2*hour, (i+1)*2*hour))
	}
	c, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	if plan, _ := c.Plan(dir); plan != nil {
		t.Fatalf("planned %v with the newest block among three", plan)
	}
	m, err := c.Compact(context.Background(), dir, dirs, nil)
	if err != nil {
		t.Fatal(err)
	}
	if m.MinTime != 0 || m.MaxTime != 6*hour || m.Compaction.Level != 2 || len(m.Compaction.Parents) != 3 || len(m.Compaction.Sources) != 3 {
		t.Fatalf("meta %+v", m)
	}
	if !slices.Contains(m.Vigil.ChunkEncodings, chunks.EncColdFloat) || slices.Contains(m.Vigil.ChunkEncodings, chunkenc.EncXOR) {
		t.Fatalf("a level-2 block should hold cold float chunks: %v", m.Vigil.ChunkEncodings)
	}
	b := openBlock(t, filepath.Join(dir, m.ULID.String()))
	if d := diffSeries(selectSeries(t, b, 0, 6*hour), selectSeries(t, src, 0, 6*hour-1)); d != "" {
		t.Fatal(d)
	}
	// Sources are untouched.
	for _, d := range dirs {
		sb := openBlock(t, d)
		mm := sb.Meta()
		if dd := diffSeries(selectSeries(t, sb, 0, 6*hour), selectSeries(t, src, mm.MinTime, mm.MaxTime-1)); dd != "" {
			t.Fatalf("source %s changed: %s", d, dd)
		}
	}
	metas := []block.Meta{b.Meta()}
	for _, d := range dirs {
		m, _, _ := block.ReadMeta(vfs.OS(), d)
		metas = append(metas, *m)
	}
	if sup := block.Superseded(metas); len(sup) != 3 {
		t.Fatalf("Superseded found %d parents", len(sup))
	}
}

func TestCompactOverlapping(t *testing.T) {
	// Three blocks whose ranges and series overlap, holding the same
	// samples where they overlap (fill's values depend only on series and
	// time): the result holds each sample once.
	full, part := storagetest.NewMemStorage(), storagetest.NewMemStorage()
	fill(t, full, 20, 0, 4*hour, 0)
	fill(t, full, 10, 0, 4*hour, 20)
	fill(t, part, 20, 0, 4*hour, 0)
	dir := t.TempDir()
	a := writeBlock(t, dir, part, 0, 3*hour)
	b := writeBlock(t, dir, full, hour, 4*hour)
	cdir := writeBlock(t, dir, part, 2*hour, 4*hour)
	c, _ := New(Options{})
	plan, err := c.Plan(dir)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(plan)
	want := []string{a, b, cdir}
	slices.Sort(want)
	if !slices.Equal(plan, want) {
		t.Fatalf("plan %v, want the overlapping %v", plan, want)
	}
	m, err := c.Compact(context.Background(), dir, plan, nil)
	if err != nil {
		t.Fatal(err)
	}
	if m.MinTime != 0 || m.MaxTime != 4*hour {
		t.Fatalf("range [%d, %d)", m.MinTime, m.MaxTime)
	}
	// Series 20-29 exist only in the middle block, from 1h on.
	expect := selectSeries(t, full, 0, 4*hour-1)
	for i := range expect {
		if n, _ := strconv.Atoi(expect[i].lset.Get("i")); n >= 20 {
			expect[i].samples = slices.DeleteFunc(expect[i].samples, func(s storage.Sample) bool { return s.T < hour })
		}
	}
	nb := openBlock(t, filepath.Join(dir, m.ULID.String()))
	if d := diffSeries(selectSeries(t, nb, 0, 4*hour), expect); d != "" {
		t.Fatal(d)
	}
	var n uint64
	for _, s := range expect {
		n += uint64(len(s.samples))
	}
	if n != m.Stats.NumSamples {
		t.Fatalf("expected %d samples, meta says %d", n, m.Stats.NumSamples)
	}
}

// containsSample reports whether series name holds a sample at t.
func containsSample(ss []series, name string, t int64) bool {
	for _, s := range ss {
		if s.lset.Get("__name__") == name && slices.ContainsFunc(s.samples, func(x storage.Sample) bool { return x.T == t }) {
			return true
		}
	}
	return false
}

func TestCompactAppliesTombstones(t *testing.T) {
	src := storagetest.NewMemStorage()
	fill(t, src, 12, 0, 4*hour, 0)
	dir := t.TempDir()
	d1 := writeBlock(t, dir, src, 0, 2*hour)
	d2 := writeBlock(t, dir, src, 2*hour, 4*hour)
	b1 := openBlock(t, d1)
	del := labels.MustNewMatcher(labels.MatchEqual, "__name__", "m1")
	if err := b1.Delete(context.Background(), hour, 3*hour, del); err != nil {
		t.Fatal(err)
	}
	c, _ := New(Options{ColdFromLevel: -1})
	// Pass the open block: the compactor must use it (with its
	// tombstones) and leave it open.
	m, err := c.Compact(context.Background(), dir, []string{d1, d2}, []*block.Block{b1})
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(m.Vigil.ChunkEncodings, chunks.EncColdFloat) {
		t.Fatal("cold chunks written with ColdFromLevel -1")
	}
	nb := openBlock(t, filepath.Join(dir, m.ULID.String()))
	for _, s := range selectSeries(t, nb, 0, 4*hour) {
		for _, smp := range s.samples {
			if s.lset.Get("__name__") == "m1" && smp.T >= hour && smp.T < 2*hour {
				t.Fatalf("%s: deleted sample at %d survived", s.lset, smp.T)
			}
		}
	}
	// The delete covered [1h, 3h] but only block 1 had tombstones.
	if !containsSample(selectSeries(t, nb, 0, 4*hour), "m1", 2*hour+15_000) {
		t.Fatal("sample of block 2 lost")
	}
	q, err := b1.Querier(0, 1)
	if err != nil {
		t.Fatalf("the caller's open block was closed: %v", err)
	}
	q.Close()

	// All data deleted: no block, ErrEmpty.
	b2 := openBlock(t, d2)
	if err := b2.Delete(context.Background(), 0, 10*hour); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Compact(context.Background(), dir, []string{d2}, []*block.Block{b2}); !errors.Is(err, block.ErrEmpty) {
		t.Fatalf("compacting a wholly deleted block: %v", err)
	}
}

func TestCompactCorruptSourceMarkedFailed(t *testing.T) {
	src := storagetest.NewMemStorage()
	fill(t, src, 12, 0, 4*hour, 0)
	dir := t.TempDir()
	d1 := writeBlock(t, dir, src, 0, 2*hour)
	d2 := writeBlock(t, dir, src, 2*hour, 4*hour)
	seg := chunks.SegmentName(filepath.Join(d2, block.ChunksDirname), 1)
	data, _ := os.ReadFile(seg)
	data[len(data)-3] ^= 0xff
	os.WriteFile(seg, data, 0o644)
	c, _ := New(Options{})
	_, err := c.Compact(context.Background(), dir, []string{d1, d2}, nil)
	if !errors.Is(err, chunks.ErrCorruption) {
		t.Fatalf("got %v, want a corruption error", err)
	}
	m2, _, _ := block.ReadMeta(vfs.OS(), d2)
	m1, _, _ := block.ReadMeta(vfs.OS(), d1)
	if !m2.Compaction.Failed || m1.Compaction.Failed {
		t.Fatalf("failed flags: block 1 %v, block 2 %v; want only block 2", m1.Compaction.Failed, m2.Compaction.Failed)
	}
	if blocks, leftovers, _ := block.Scan(vfs.OS(), dir); len(blocks) != 2 || len(leftovers) != 0 {
		t.Fatalf("failed compaction left %v %v", blocks, leftovers)
	}
}

func TestWriteFromQuerier(t *testing.T) {
	src := storagetest.NewMemStorage()
	fill(t, src, 10, 0, 3*hour, 0)
	dir := t.TempDir()
	c, _ := New(Options{})
	q, _ := src.Querier(0, 2*hour-1)
	defer q.Close()
	m, err := c.Write(context.Background(), dir, q, 0, 2*hour, nil)
	if err != nil {
		t.Fatal(err)
	}
	if m.Compaction.Level != 1 || slices.Contains(m.Vigil.ChunkEncodings, chunks.EncColdFloat) {
		t.Fatalf("head block meta %+v", m)
	}
	b := openBlock(t, filepath.Join(dir, m.ULID.String()))
	if d := diffSeries(selectSeries(t, b, 0, 3*hour), selectSeries(t, src, 0, 2*hour-1)); d != "" {
		t.Fatal(d)
	}
	q2, _ := src.Querier(10*hour, 11*hour)
	defer q2.Close()
	if _, err := c.Write(context.Background(), dir, q2, 10*hour, 11*hour, nil); !errors.Is(err, block.ErrEmpty) {
		t.Fatalf("empty range: %v", err)
	}
}

// TestPlanCompactLoop drives the planner and compactor as the DB will:
// write 2h blocks one after another, compact while there is a plan, and
// check the data and the shape of the result.
func TestPlanCompactLoop(t *testing.T) {
	src := storagetest.NewMemStorage()
	fill(t, src, 8, 0, 40*hour, 0)
	dir := t.TempDir()
	c, _ := New(Options{Ranges: ExponentialRanges(2*hour, 3, 3)}) // 2h, 6h, 18h
	for i := range int64(20) {
		writeBlock(t, dir, src, i*2*hour, (i+1)*2*hour)
		for {
			plan, err := c.Plan(dir)
			if err != nil {
				t.Fatal(err)
			}
			if plan == nil {
				break
			}
			if _, err := c.Compact(context.Background(), dir, plan, nil); err != nil {
				t.Fatal(err)
			}
			for _, d := range plan {
				if err := block.Remove(vfs.OS(), d); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	blocks, leftovers, _ := block.Scan(vfs.OS(), dir)
	if len(leftovers) != 0 {
		t.Fatalf("leftovers %v", leftovers)
	}
	var spans []int64
	var metas []block.Meta
	for _, d := range blocks {
		m, _, err := block.ReadMeta(vfs.OS(), d)
		if err != nil {
			t.Fatal(err)
		}
		metas = append(metas, *m)
	}
	slices.SortFunc(metas, func(a, b block.Meta) int { return int(a.MinTime - b.MinTime) })
	for _, m := range metas {
		spans = append(spans, (m.MaxTime-m.MinTime)/hour)
	}
	// 40h: two 18h blocks (0-36h), and 2h blocks 36-40h not yet merged
	// (a 6h window needs a later block to close).
	if !slices.Equal(spans, []int64{18, 18, 2, 2}) {
		t.Fatalf("block spans %v (hours)", spans)
	}
	var qs []*block.Block
	for _, m := range metas {
		qs = append(qs, openBlock(t, filepath.Join(dir, m.ULID.String())))
	}
	for i, b := range qs {
		m := metas[i]
		if d := diffSeries(selectSeries(t, b, 0, 40*hour), selectSeries(t, src, m.MinTime, m.MaxTime-1)); d != "" {
			t.Fatalf("block %d: %s", i, d)
		}
	}
	if metas[0].Compaction.Level != 3 || len(metas[0].Compaction.Sources) != 9 {
		t.Fatalf("first block: level %d, %d sources", metas[0].Compaction.Level, len(metas[0].Compaction.Sources))
	}
}
