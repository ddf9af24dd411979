package bench

import (
	"context"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The TSDB benchmarks: the same samples through Vigil's and Prometheus'
// storage engines (see tsdb_data_test.go for the data and
// docs/benchmarks.md#tsdb for results and commands).
//
//   - BenchmarkTSDBAppend: scrape-like appends with cached references.
//   - BenchmarkTSDBSelect: select series with a matcher and read every
//     sample, from the head, a level-1 block and a compacted level-2 block.
//   - TestTSDBImplsAgree: both engines return the same series and samples,
//     and those are the generator's.
//   - TestTSDBBlockBytes (VIGIL_TSDB_BLOCK_TARGETS): bytes per sample of
//     level-1 and compacted blocks.
//   - TestTSDBHeadMemoryAndReplay (VIGIL_TSDB_HEAD_IMPL): heap per series
//     of a full head and the time to replay its WAL, one engine per process.

// tsdbImpl is one storage engine under comparison.
type tsdbImpl struct {
	name string
	// open opens (and replays) the database in dir with the server's
	// default settings.
	open func(dir string) (tsdbDB, error)
	// compact merges the blocks in dirs into one block in dest and
	// returns its directory.
	compact func(dest string, dirs []string) (string, error)
	// openBlock opens one block for reading.
	openBlock func(dir string) (tsdbQueryable, error)
}

// tsdbImpls is filled by the per-engine files.
var tsdbImpls []tsdbImpl

// tsdbQueryable is something series can be selected from.
type tsdbQueryable interface {
	// selector prepares q (builds the engine's matchers) and returns a
	// function that creates a querier over [mint, maxt], selects the
	// matching series and reads every sample of each. visit, when not
	// nil, receives every series' canonical labels (see tsdbKey), sample
	// count, value sum and timestamp sum.
	selector(q tsdbQuery) (tsdbSelectFunc, error)
	close() error
}

type tsdbSelectFunc func(ctx context.Context, mint, maxt int64, visit tsdbVisit) (tsdbStats, error)

type tsdbVisit func(key string, samples int, sum float64, tsum int64)

// tsdbStats is what one select-and-iterate saw.
type tsdbStats struct {
	series, samples int
	sum             float64
}

// tsdbDB is an open database.
type tsdbDB interface {
	tsdbQueryable
	// scrape appends, through one appender, one sample at t to each series
	// lo, lo+1, ... lo+len(vals)-1 of d, then commits. refs holds the
	// series references of all of d's series; a zero entry means
	// "unknown", and scrape then passes the labels and stores the
	// reference it gets back. Otherwise it passes the reference alone.
	scrape(d *tsdbDataset, refs []uint64, lo int, t int64, vals []float64) error
	// writeBlock writes the head's samples in [mint, maxt) as a level-1
	// block into dest and returns its directory.
	writeBlock(dest string, mint, maxt int64) (string, error)
	// settle brings the head to its steady state before its memory is
	// measured (Prometheus memory-maps full head chunks once a minute).
	settle()
}

func tsdbImplNamed(tb testing.TB, name string) tsdbImpl {
	for _, im := range tsdbImpls {
		if im.name == name {
			return im
		}
	}
	tb.Fatalf("no TSDB implementation %q", name)
	return tsdbImpl{}
}

// tsdbKey renders sorted label pairs canonically: name="value",... .
func tsdbKey(b *strings.Builder, name, value string) {
	b.WriteString(name)
	b.WriteByte('=')
	b.WriteString(strconv.Quote(value))
	b.WriteByte(',')
}

// tsdbAppender appends a data set's scrapes, keeping the series
// references a scrape loop would cache.
type tsdbAppender struct {
	d    *tsdbDataset
	db   tsdbDB
	refs []uint64
	vals []float64
	step int // the next step to append
}

func newTSDBAppender(d *tsdbDataset, db tsdbDB) *tsdbAppender {
	return &tsdbAppender{d: d, db: db, refs: make([]uint64, d.series()), vals: make([]float64, d.series())}
}

// fill computes the next step's values (kept apart from the timed work).
func (a *tsdbAppender) fill() { a.d.fill(a.step, 0, a.vals) }

// appendFilled appends the filled step: one scrape per target.
func (a *tsdbAppender) appendFilled() error {
	for t := range a.d.targets {
		lo := t * tsdbSeriesPerTarget
		if err := a.db.scrape(a.d, a.refs, lo, a.d.timestamp(t, a.step), a.vals[lo:lo+tsdbSeriesPerTarget]); err != nil {
			return fmt.Errorf("step %d, target %d: %w", a.step, t, err)
		}
	}
	a.step++
	return nil
}

func (a *tsdbAppender) appendSteps(n int) error {
	for range n {
		a.fill()
		if err := a.appendFilled(); err != nil {
			return err
		}
	}
	return nil
}

// tsdbTempDir makes a directory removed when tb ends.
func tsdbTempDir(tb testing.TB, pattern string) string {
	dir, err := os.MkdirTemp("", "vigil-bench-tsdb-"+pattern+"-")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// tsdbResources are databases and directories a benchmark keeps across
// its sub-benchmarks (and their -count repetitions). release closes them
// in reverse order, removing each directory after what was opened in it.
type tsdbResources struct {
	undo []func() error
}

func (r *tsdbResources) add(f func() error) { r.undo = append(r.undo, f) }

func (r *tsdbResources) tempDir(tb testing.TB, pattern string) string {
	dir, err := os.MkdirTemp("", "vigil-bench-tsdb-"+pattern+"-")
	if err != nil {
		tb.Fatal(err)
	}
	r.add(func() error { return os.RemoveAll(dir) })
	return dir
}

func (r *tsdbResources) release() {
	for i := len(r.undo) - 1; i >= 0; i-- {
		if err := r.undo[i](); err != nil {
			fmt.Fprintln(os.Stderr, "tsdb benchmark cleanup:", err)
		}
	}
	r.undo = nil
}

// tsdbDirSize is the total size of the regular files under dir.
func tsdbDirSize(dir string) (int64, error) {
	var n int64
	err := filepath.WalkDir(dir, func(_ string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if e.Type().IsRegular() {
			info, err := e.Info()
			if err != nil {
				return err
			}
			n += info.Size()
		}
		return nil
	})
	return n, err
}

// tsdbBuilt is a database holding three block ranges (6 h at 15 s) of a
// data set in its head, the three level-1 blocks written from it, and the
// level-2 block compacted from those.
type tsdbBuilt struct {
	d        *tsdbDataset
	db       tsdbDB
	l1       []string // level-1 block directories, oldest first
	l2       string   // the compacted block's directory
	appendT  time.Duration
	writeT   time.Duration
	compactT time.Duration
}

// tsdbBuild builds a tsdbBuilt under root. The caller closes b.db.
func tsdbBuild(im tsdbImpl, d *tsdbDataset, root string) (*tsdbBuilt, error) {
	db, err := im.open(filepath.Join(root, "db"))
	if err != nil {
		return nil, err
	}
	b := &tsdbBuilt{d: d, db: db}
	start := time.Now()
	if err := newTSDBAppender(d, db).appendSteps(3 * tsdbStepsPerBlock); err != nil {
		db.close()
		return nil, err
	}
	b.appendT = time.Since(start)
	blocks := filepath.Join(root, "blocks")
	if err := os.MkdirAll(blocks, 0o777); err != nil {
		db.close()
		return nil, err
	}
	start = time.Now()
	for r := range int64(3) {
		dir, err := db.writeBlock(blocks, tsdbT0+r*tsdbBlockRange, tsdbT0+(r+1)*tsdbBlockRange)
		if err != nil {
			db.close()
			return nil, fmt.Errorf("write block %d: %w", r, err)
		}
		b.l1 = append(b.l1, dir)
	}
	b.writeT = time.Since(start)
	start = time.Now()
	if b.l2, err = im.compact(blocks, b.l1); err != nil {
		db.close()
		return nil, fmt.Errorf("compact: %w", err)
	}
	b.compactT = time.Since(start)
	return b, nil
}

// tsdbEnvInt reads a positive integer from the environment.
func tsdbEnvInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

// tsdbBenchTargets is the benchmarks' size: 100 targets (100,000 series)
// unless VIGIL_TSDB_BENCH_TARGETS says otherwise.
func tsdbBenchTargets() int { return tsdbEnvInt("VIGIL_TSDB_BENCH_TARGETS", 100) }

var tsdbSets = []string{"nodeexp", "random"}

// BenchmarkTSDBAppend appends one scrape of every series per operation:
// one appender (and commit) per target of 1,000 series, series references
// cached from the first scrape, which creates the series before the
// timing starts. Each implementation keeps its database across -count
// repetitions, so the head keeps growing as a server's does (no
// compaction runs: both engines' background loops are off).
func BenchmarkTSDBAppend(b *testing.B) {
	targets := tsdbBenchTargets()
	for _, set := range tsdbSets {
		b.Run("set="+set, func(b *testing.B) {
			d := tsdbDatasetNamed(set, targets)
			apps := map[string]*tsdbAppender{}
			var res tsdbResources
			b.Cleanup(res.release)
			b.Run(fmt.Sprintf("series=%d", d.series()), func(b *testing.B) {
				for _, im := range tsdbImpls {
					b.Run("impl="+im.name, func(b *testing.B) {
						a := apps[im.name]
						if a == nil {
							db, err := im.open(res.tempDir(b, "append-"+im.name))
							if err != nil {
								b.Fatal(err)
							}
							res.add(db.close)
							a = newTSDBAppender(d, db)
							apps[im.name] = a
							if err := a.appendSteps(1); err != nil { // creates the series
								b.Fatal(err)
							}
						}
						runTSDBAppend(b, a)
					})
				}
			})
		})
	}
}

func runTSDBAppend(b *testing.B, a *tsdbAppender) {
	b.ReportAllocs()
	var cpu time.Duration
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	mallocs := ms.Mallocs
	iters := 0
	for b.Loop() {
		b.StopTimer()
		a.fill()
		b.StartTimer()
		c0 := processCPU()
		if err := a.appendFilled(); err != nil {
			b.Fatal(err)
		}
		cpu += processCPU() - c0
		iters++
	}
	runtime.ReadMemStats(&ms)
	total := float64(iters) * float64(a.d.series())
	b.ReportMetric(float64(ms.Mallocs-mallocs)/total, "allocs/sample")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/total, "ns/sample")
	b.ReportMetric(float64(cpu.Nanoseconds())/total, "cpu-ns/sample")
	b.ReportMetric(total/b.Elapsed().Seconds(), "samples/s")
}

// BenchmarkTSDBSelect selects the series of a matcher and reads every
// sample of each, per operation: a new querier, Select (unsorted, as
// PromQL asks), every sample through the series' iterator, Close. Sources:
// src=head is the last two hours of a head holding six (480 samples per
// series), src=block1 the level-1 block of the same two hours (480),
// src=block2 the level-2 block compacted from all three level-1 blocks
// (1,440).
func BenchmarkTSDBSelect(b *testing.B) {
	targets := tsdbBenchTargets()
	ctx := context.Background()
	for _, set := range tsdbSets {
		b.Run("set="+set, func(b *testing.B) {
			d := tsdbDatasetNamed(set, targets)
			type state struct {
				built          *tsdbBuilt
				block1, block2 tsdbQueryable
			}
			states := map[string]*state{}
			var res tsdbResources
			b.Cleanup(res.release)
			get := func(b *testing.B, im tsdbImpl) *state {
				if s := states[im.name]; s != nil {
					return s
				}
				built, err := tsdbBuild(im, d, res.tempDir(b, "select-"+im.name))
				if err != nil {
					b.Fatal(err)
				}
				res.add(built.db.close)
				s := &state{built: built}
				if s.block1, err = im.openBlock(built.l1[2]); err != nil {
					b.Fatal(err)
				}
				res.add(s.block1.close)
				if s.block2, err = im.openBlock(built.l2); err != nil {
					b.Fatal(err)
				}
				res.add(s.block2.close)
				states[im.name] = s
				return s
			}
			srcs := []struct {
				name       string
				mint, maxt int64
				steps      int
				q          func(*state) tsdbQueryable
			}{
				{"head", tsdbT0 + 2*tsdbBlockRange, tsdbT0 + 3*tsdbBlockRange - 1, tsdbStepsPerBlock, func(s *state) tsdbQueryable { return s.built.db }},
				{"block1", tsdbT0 + 2*tsdbBlockRange, tsdbT0 + 3*tsdbBlockRange - 1, tsdbStepsPerBlock, func(s *state) tsdbQueryable { return s.block1 }},
				{"block2", tsdbT0, tsdbT0 + 3*tsdbBlockRange - 1, 3 * tsdbStepsPerBlock, func(s *state) tsdbQueryable { return s.block2 }},
			}
			for _, src := range srcs {
				b.Run("src="+src.name, func(b *testing.B) {
					for _, q := range tsdbQueries {
						wantSeries := q.seriesPerTarget() * d.targets
						b.Run("match="+q.name, func(b *testing.B) {
							for _, im := range tsdbImpls {
								b.Run("impl="+im.name, func(b *testing.B) {
									sel, err := src.q(get(b, im)).selector(q)
									if err != nil {
										b.Fatal(err)
									}
									runTSDBSelect(b, ctx, sel, src.mint, src.maxt, wantSeries, wantSeries*src.steps)
								})
							}
						})
					}
				})
			}
		})
	}
}

func runTSDBSelect(b *testing.B, ctx context.Context, sel tsdbSelectFunc, mint, maxt int64, wantSeries, wantSamples int) {
	st, err := sel(ctx, mint, maxt, nil) // warm up; checks the result
	if err != nil {
		b.Fatal(err)
	}
	if st.series != wantSeries || st.samples != wantSamples {
		b.Fatalf("selected %d series, %d samples; want %d, %d", st.series, st.samples, wantSeries, wantSamples)
	}
	b.ReportAllocs()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	mallocs := ms.Mallocs
	cpu0 := processCPU()
	iters := 0
	for b.Loop() {
		st, err := sel(ctx, mint, maxt, nil)
		if err != nil {
			b.Fatal(err)
		}
		sinkFloat += st.sum
		iters++
	}
	cpu := processCPU() - cpu0
	runtime.ReadMemStats(&ms)
	total := float64(iters) * float64(wantSamples)
	b.ReportMetric(float64(ms.Mallocs-mallocs)/float64(iters)/float64(wantSeries), "allocs/series")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/total, "ns/sample")
	b.ReportMetric(float64(cpu.Nanoseconds())/total, "cpu-ns/sample")
	b.ReportMetric(total/b.Elapsed().Seconds(), "samples/s")
}

// tsdbDigest is what a select saw of one series.
type tsdbDigest struct {
	samples int
	sum     float64
	tsum    int64
}

// tsdbCollect runs sel and returns every series' digest by canonical key.
func tsdbCollect(ctx context.Context, sel tsdbSelectFunc, mint, maxt int64) (map[string]tsdbDigest, error) {
	out := map[string]tsdbDigest{}
	var dup error
	_, err := sel(ctx, mint, maxt, func(key string, n int, sum float64, tsum int64) {
		if _, ok := out[key]; ok {
			dup = fmt.Errorf("series %s returned twice", key)
		}
		out[key] = tsdbDigest{n, sum, tsum}
	})
	if err == nil {
		err = dup
	}
	return out, err
}

// tsdbExpected is what every series of d holds over steps [from, to),
// summed in time order as the selects do.
func tsdbExpected(d *tsdbDataset, from, to int) map[string]tsdbDigest {
	out := make(map[string]tsdbDigest, d.series())
	var pairs [][2]string
	var sb strings.Builder
	for i := range d.series() {
		pairs = pairs[:0]
		d.labels(i, func(n, v string) { pairs = append(pairs, [2]string{n, v}) })
		slices.SortFunc(pairs, func(a, b [2]string) int { return strings.Compare(a[0], b[0]) })
		sb.Reset()
		for _, p := range pairs {
			tsdbKey(&sb, p[0], p[1])
		}
		var g tsdbDigest
		for s := from; s < to; s++ {
			g.samples++
			g.sum += d.value(i, s)
			g.tsum += d.timestamp(i/tsdbSeriesPerTarget, s)
		}
		out[sb.String()] = g
	}
	return out
}

// TestTSDBImplsAgree builds 3 targets x 6 h on every engine and checks
// that every benchmark query (and a select of everything) returns the
// same series and samples from the head, a level-1 and the level-2 block,
// and that "everything" is exactly what the generator produced.
func TestTSDBImplsAgree(t *testing.T) {
	if testing.Short() {
		t.Skip("appends 8.6 million samples")
	}
	ctx := context.Background()
	all := tsdbQuery{"all", []tsdbMatcher{{false, "job", "node"}}}
	for _, set := range tsdbSets {
		t.Run(set, func(t *testing.T) {
			d := tsdbDatasetNamed(set, 3)
			wantHead := tsdbExpected(d, 2*tsdbStepsPerBlock, 3*tsdbStepsPerBlock)
			wantAll := tsdbExpected(d, 0, 3*tsdbStepsPerBlock)
			type result = map[string]map[string]tsdbDigest // source/query -> series
			results := map[string]result{}
			for _, im := range tsdbImpls {
				built, err := tsdbBuild(im, d, t.TempDir())
				if err != nil {
					t.Fatalf("%s: %v", im.name, err)
				}
				b1, err := im.openBlock(built.l1[2])
				if err != nil {
					t.Fatal(err)
				}
				b2, err := im.openBlock(built.l2)
				if err != nil {
					t.Fatal(err)
				}
				res := result{}
				srcs := []struct {
					name       string
					q          tsdbQueryable
					mint, maxt int64
					want       map[string]tsdbDigest
				}{
					{"head", built.db, tsdbT0 + 2*tsdbBlockRange, tsdbT0 + 3*tsdbBlockRange - 1, wantHead},
					{"headall", built.db, tsdbT0, tsdbT0 + 3*tsdbBlockRange - 1, wantAll},
					{"block1", b1, tsdbT0 + 2*tsdbBlockRange, tsdbT0 + 3*tsdbBlockRange - 1, wantHead},
					{"block2", b2, tsdbT0, tsdbT0 + 3*tsdbBlockRange - 1, wantAll},
				}
				for _, src := range srcs {
					for _, q := range append(slices.Clone(tsdbQueries), all) {
						sel, err := src.q.selector(q)
						if err != nil {
							t.Fatal(err)
						}
						got, err := tsdbCollect(ctx, sel, src.mint, src.maxt)
						if err != nil {
							t.Fatalf("%s %s %s: %v", im.name, src.name, q.name, err)
						}
						if want := q.seriesPerTarget() * d.targets; len(got) != want {
							t.Errorf("%s %s %s: %d series, want %d", im.name, src.name, q.name, len(got), want)
						}
						if q.name == "all" {
							tsdbCompare(t, im.name+" "+src.name+" vs generator", got, src.want)
						}
						res[src.name+"/"+q.name] = got
						samples := 0
						for _, g := range got {
							samples += g.samples
						}
						t.Logf("%s %s %s: %d series, %d samples", im.name, src.name, q.name, len(got), samples)
					}
				}
				results[im.name] = res
				b1.close()
				b2.close()
				if err := built.db.close(); err != nil {
					t.Fatal(err)
				}
			}
			ref := tsdbImpls[0].name
			for _, im := range tsdbImpls[1:] {
				for k, got := range results[im.name] {
					tsdbCompare(t, fmt.Sprintf("%s vs %s, %s", im.name, ref, k), got, results[ref][k])
				}
			}
		})
	}
}

func tsdbCompare(t *testing.T, what string, got, want map[string]tsdbDigest) {
	t.Helper()
	bad := 0
	for k, w := range want {
		g, ok := got[k]
		if !ok {
			if bad++; bad <= 3 {
				t.Errorf("%s: series %s missing", what, k)
			}
			continue
		}
		if g.samples != w.samples || g.tsum != w.tsum || !(g.sum == w.sum || math.IsNaN(g.sum) && math.IsNaN(w.sum)) {
			if bad++; bad <= 3 {
				t.Errorf("%s: series %s: got %+v, want %+v", what, k, g, w)
			}
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			if bad++; bad <= 3 {
				t.Errorf("%s: unexpected series %s", what, k)
			}
		}
	}
	if bad > 3 {
		t.Errorf("%s: %d differences in all", what, bad)
	}
}

// TestTSDBBlockBytes measures the bytes per sample of the level-1 blocks
// and of the level-2 block compacted from three of them, for every engine
// and data set. It runs only when VIGIL_TSDB_BLOCK_TARGETS (targets of
// 1,000 series) is set:
//
//	VIGIL_TSDB_BLOCK_TARGETS=100 go test -run TestTSDBBlockBytes -v -timeout 2h
func TestTSDBBlockBytes(t *testing.T) {
	targets := tsdbEnvInt("VIGIL_TSDB_BLOCK_TARGETS", 0)
	if targets == 0 {
		t.Skip("set VIGIL_TSDB_BLOCK_TARGETS to measure")
	}
	for _, set := range tsdbSets {
		d := tsdbDatasetNamed(set, targets)
		for _, im := range tsdbImpls {
			root := tsdbTempDir(t, "blocks-"+im.name)
			built, err := tsdbBuild(im, d, root)
			if err != nil {
				t.Fatalf("%s: %v", im.name, err)
			}
			if err := built.db.close(); err != nil {
				t.Fatal(err)
			}
			var l1 int64
			for _, dir := range built.l1 {
				n, err := tsdbDirSize(dir)
				if err != nil {
					t.Fatal(err)
				}
				l1 += n
			}
			l2, err := tsdbDirSize(built.l2)
			if err != nil {
				t.Fatal(err)
			}
			l2chunks, err := tsdbDirSize(filepath.Join(built.l2, "chunks"))
			if err != nil {
				t.Fatal(err)
			}
			l2index, err := os.Stat(filepath.Join(built.l2, "index"))
			if err != nil {
				t.Fatal(err)
			}
			samples := float64(d.series()) * 3 * tsdbStepsPerBlock
			t.Logf("RESULT blocks set=%s impl=%s series=%d samples=%.0f level1_bytes=%d level1_B/sample=%.4f level2_bytes=%d level2_B/sample=%.4f level2_chunks_B/sample=%.4f level2_index_B/series=%.1f append=%s write3=%s compact=%s",
				set, im.name, d.series(), samples, l1, float64(l1)/samples, l2, float64(l2)/samples,
				float64(l2chunks)/samples, float64(l2index.Size())/float64(d.series()),
				built.appendT.Round(time.Millisecond), built.writeT.Round(time.Millisecond), built.compactT.Round(time.Millisecond))
			os.RemoveAll(root)
		}
	}
}

// TestTSDBHeadMemoryAndReplay fills one engine's head with
// VIGIL_TSDB_HEAD_SERIES series (default 1,000,000, a multiple of 1,000)
// x VIGIL_TSDB_HEAD_SAMPLES samples (default 480: 2 h at 15 s), reports
// the append rate and the live heap per series after a GC, closes the
// database without compacting, and times Open replaying it (WAL and
// head chunk files), then reports the heap again. Run one engine per
// process so their heaps do not mix:
//
//	VIGIL_TSDB_HEAD_IMPL=vigil go test -run TestTSDBHeadMemoryAndReplay -v -timeout 3h
//	VIGIL_TSDB_HEAD_IMPL=prometheus go test -run TestTSDBHeadMemoryAndReplay -v -timeout 3h
//
// VIGIL_TSDB_HEAD_SET=random uses the random-float set.
// VIGIL_TSDB_HEAD_HEAPPROFILE, _APPENDPROFILE and _REPLAYPROFILE name
// files for a heap profile of the full head and CPU profiles of the
// appends and of the replay.
func TestTSDBHeadMemoryAndReplay(t *testing.T) {
	name := os.Getenv("VIGIL_TSDB_HEAD_IMPL")
	if name == "" {
		t.Skip("set VIGIL_TSDB_HEAD_IMPL to vigil or prometheus to measure")
	}
	im := tsdbImplNamed(t, name)
	n := tsdbEnvInt("VIGIL_TSDB_HEAD_SERIES", 1_000_000)
	steps := tsdbEnvInt("VIGIL_TSDB_HEAD_SAMPLES", tsdbStepsPerBlock)
	set := os.Getenv("VIGIL_TSDB_HEAD_SET")
	if set == "" {
		set = "nodeexp"
	}
	if n%tsdbSeriesPerTarget != 0 {
		t.Fatalf("VIGIL_TSDB_HEAD_SERIES must be a multiple of %d", tsdbSeriesPerTarget)
	}
	d := tsdbDatasetNamed(set, n/tsdbSeriesPerTarget)
	dir := tsdbTempDir(t, "head-"+name)
	profile := func(env string) func() {
		path := os.Getenv(env)
		if path == "" {
			return func() {}
		}
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			t.Fatal(err)
		}
		return func() { pprof.StopCPUProfile(); f.Close() }
	}
	heap := func() (alloc, inuse uint64) {
		runtime.GC()
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc, ms.HeapInuse
	}

	// The scrape loops' reference caches and value buffer exist before
	// the baseline and after the measurement: they are not counted.
	a := &tsdbAppender{d: d, refs: make([]uint64, n), vals: make([]float64, n)}
	alloc0, inuse0 := heap()
	db, err := im.open(dir)
	if err != nil {
		t.Fatal(err)
	}
	a.db = db

	var wall, cpu, createWall, createCPU time.Duration
	stop := profile("VIGIL_TSDB_HEAD_APPENDPROFILE")
	for s := range steps {
		a.fill()
		w0, c0 := time.Now(), processCPU()
		if err := a.appendFilled(); err != nil {
			t.Fatal(err)
		}
		w, c := time.Since(w0), processCPU()-c0
		if s == 0 {
			createWall, createCPU = w, c
		} else {
			wall, cpu = wall+w, cpu+c
		}
	}
	stop()
	appended := float64(n) * float64(steps-1)
	t.Logf("RESULT append impl=%s set=%s series=%d samples/series=%d create_wall=%s create_cpu=%s steady_samples=%.0f wall=%s cpu=%s samples/s=%.0f cpu-ns/sample=%.1f",
		name, set, n, steps, createWall.Round(time.Millisecond), createCPU.Round(time.Millisecond), appended,
		wall.Round(time.Millisecond), cpu.Round(time.Millisecond), appended/wall.Seconds(), float64(cpu.Nanoseconds())/appended)

	db.settle()
	alloc1, inuse1 := heap()
	t.Logf("RESULT headmem impl=%s set=%s series=%d samples/series=%d heapalloc_B/series=%.1f heapinuse_B/series=%.1f heapalloc=%dMiB heapinuse=%dMiB",
		name, set, n, steps, float64(int64(alloc1)-int64(alloc0))/float64(n), float64(int64(inuse1)-int64(inuse0))/float64(n),
		(alloc1-alloc0)>>20, (inuse1-inuse0)>>20)
	if path := os.Getenv("VIGIL_TSDB_HEAD_HEAPPROFILE"); path != "" {
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := pprof.WriteHeapProfile(f); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	if err := db.close(); err != nil {
		t.Fatal(err)
	}
	db, a.db = nil, nil
	size := map[string]int64{}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.IsDir() {
			if size[e.Name()], err = tsdbDirSize(filepath.Join(dir, e.Name())); err != nil {
				t.Fatal(err)
			}
		}
	}
	t.Logf("RESULT ondisk impl=%s dirs=%v", name, size)

	alloc0, inuse0 = heap()
	stop = profile("VIGIL_TSDB_HEAD_REPLAYPROFILE")
	w0, c0 := time.Now(), processCPU()
	db, err = im.open(dir)
	w, c := time.Since(w0), processCPU()-c0
	stop()
	if err != nil {
		t.Fatal(err)
	}
	defer db.close()
	alloc1, inuse1 = heap()
	t.Logf("RESULT replay impl=%s set=%s series=%d samples/series=%d open_wall=%s open_cpu=%s heapalloc_B/series=%.1f heapinuse_B/series=%.1f",
		name, set, n, steps, w.Round(time.Millisecond), c.Round(time.Millisecond),
		float64(int64(alloc1)-int64(alloc0))/float64(n), float64(int64(inuse1)-int64(inuse0))/float64(n))

	// The replayed head holds everything: every sample of the CPU series.
	q := tsdbQueries[0]
	sel, err := db.selector(q)
	if err != nil {
		t.Fatal(err)
	}
	st, err := sel(context.Background(), math.MinInt64, math.MaxInt64, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := q.seriesPerTarget() * d.targets; st.series != want || st.samples != want*steps {
		t.Fatalf("after replay: %d series, %d samples of %s; want %d, %d", st.series, st.samples, q.name, want, want*steps)
	}
}
