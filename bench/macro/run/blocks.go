package main

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// BlockStats sums Prometheus-format blocks (directories with a meta.json)
// directly under a data directory: their allocated size and the samples
// their meta.json says they hold, in total and per compaction level.
type BlockStats struct {
	Blocks    int   `json:"blocks"`
	Allocated int64 `json:"allocated_bytes"`
	Samples   int64 `json:"samples"`
	// MinTime and MaxTime bound the blocks' time ranges (ms, MaxTime
	// exclusive); 0 when there are no blocks.
	MinTime int64 `json:"min_time_ms"`
	MaxTime int64 `json:"max_time_ms"`
	// Skipped counts directories left out: creations and deletions in
	// progress, and blocks already replaced by a compacted child that was
	// on disk at the same moment.
	Skipped int         `json:"skipped"`
	List    []BlockInfo `json:"list"`
}

// BlockInfo is one block as its meta.json and du describe it.
type BlockInfo struct {
	ULID      string `json:"ulid"`
	MinTime   int64  `json:"min_time_ms"`
	MaxTime   int64  `json:"max_time_ms"`
	Level     int    `json:"level"`
	Samples   int64  `json:"samples"`
	Series    int64  `json:"series"`
	Chunks    int64  `json:"chunks"`
	Allocated int64  `json:"allocated_bytes"`
	Apparent  int64  `json:"apparent_bytes"`
	// ChunkBytes (chunks/) and IndexBytes (index) split Allocated: at
	// short block ranges the index, paid per series and block, weighs
	// far more per sample than in 2h blocks.
	ChunkBytes int64 `json:"chunk_bytes"`
	IndexBytes int64 `json:"index_bytes"`
}

type blockMeta struct {
	ULID    string `json:"ulid"`
	MinTime int64  `json:"minTime"`
	MaxTime int64  `json:"maxTime"`
	Stats   struct {
		NumSamples int64 `json:"numSamples"`
		NumSeries  int64 `json:"numSeries"`
		NumChunks  int64 `json:"numChunks"`
	} `json:"stats"`
	Compaction struct {
		Level   int `json:"level"`
		Parents []struct {
			ULID string `json:"ulid"`
		} `json:"parents"`
	} `json:"compaction"`
}

func blockStats(dir string) BlockStats {
	var bs BlockStats
	entries, _ := os.ReadDir(dir)
	var metas []blockMeta
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		if strings.Contains(e.Name(), ".tmp") {
			// <ULID>.tmp-for-creation / .tmp-for-deletion: not a block
			// (yet, or any more); both systems name them so.
			if _, err := os.Stat(filepath.Join(dir, e.Name(), "meta.json")); err == nil {
				bs.Skipped++
			}
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name(), "meta.json"))
		if err != nil {
			continue
		}
		var m blockMeta
		if json.Unmarshal(b, &m) != nil {
			continue
		}
		if m.ULID == "" {
			m.ULID = e.Name()
		}
		metas = append(metas, m)
	}
	// A compaction writes the child before it deletes the parents; a
	// listing between the two would count their samples twice.
	replaced := map[string]bool{}
	for _, m := range metas {
		for _, p := range m.Compaction.Parents {
			replaced[p.ULID] = true
		}
	}
	for _, m := range metas {
		if replaced[m.ULID] {
			bs.Skipped++
			continue
		}
		u, err := diskUsage(filepath.Join(dir, m.ULID))
		if err != nil {
			continue
		}
		bs.List = append(bs.List, BlockInfo{ULID: m.ULID, MinTime: m.MinTime, MaxTime: m.MaxTime, Level: m.Compaction.Level,
			Samples: m.Stats.NumSamples, Series: m.Stats.NumSeries, Chunks: m.Stats.NumChunks, Allocated: u.Allocated, Apparent: u.Apparent,
			ChunkBytes: u.ByTop["chunks"], IndexBytes: u.ByTop["index"]})
		if bs.Blocks == 0 || m.MinTime < bs.MinTime {
			bs.MinTime = m.MinTime
		}
		bs.MaxTime = max(bs.MaxTime, m.MaxTime)
		bs.Blocks++
		bs.Allocated += u.Allocated
		bs.Samples += m.Stats.NumSamples
	}
	sort.Slice(bs.List, func(i, j int) bool { return bs.List[i].MinTime < bs.List[j].MinTime })
	return bs
}

// blockSum is the bytes and samples of a subset of blocks.
type blockSum struct {
	Blocks     int   `json:"blocks"`
	Allocated  int64 `json:"allocated_bytes"`
	ChunkBytes int64 `json:"chunk_bytes"`
	IndexBytes int64 `json:"index_bytes"`
	Samples    int64 `json:"samples"`
}

func (s blockSum) perSample() float64 {
	if s.Samples == 0 {
		return math.NaN()
	}
	return float64(s.Allocated) / float64(s.Samples)
}

// sum adds the blocks keep accepts.
func (bs BlockStats) sum(keep func(BlockInfo) bool) blockSum {
	var s blockSum
	for _, b := range bs.List {
		if keep(b) {
			s.Blocks++
			s.Allocated += b.Allocated
			s.ChunkBytes += b.ChunkBytes
			s.IndexBytes += b.IndexBytes
			s.Samples += b.Samples
		}
	}
	return s
}

// levels counts the blocks per compaction level, as "1:4 2:1".
func (bs BlockStats) levels() string {
	n := map[int]int{}
	for _, b := range bs.List {
		n[b.Level]++
	}
	var ls []int
	for l := range n {
		ls = append(ls, l)
	}
	sort.Ints(ls)
	var parts []string
	for _, l := range ls {
		parts = append(parts, fmt.Sprintf("L%d×%d", l, n[l]))
	}
	return strings.Join(parts, " ")
}

// BlockFigures compare Vigil's and Prometheus' blocks. Bytes per sample
// is the blocks' allocated size over their meta.json sample counts, so
// the figures are per sample whatever span each system had compacted
// when the window ended; the common-span figures also restrict both to
// the same time range.
type BlockFigures struct {
	All       blockSum `json:"all_blocks"`
	Level2Up  blockSum `json:"level_2_and_up"`
	Common    blockSum `json:"common_span"`
	Levels    string   `json:"levels"`
	SpanStart int64    `json:"common_span_start_ms"`
	SpanEnd   int64    `json:"common_span_end_ms"`
}

// blockFigures fills each system's block figures. The common span is
// the time range both Vigil and Prometheus have in blocks, its start
// rounded up to a multiple of align (ms, the block duration): the two
// start scraping a few hundred ms apart, so their first blocks start
// at different times. Only blocks wholly inside it count there.
func blockFigures(vigil, prom *System, align int64) {
	align = max(align, 1)
	start, end := max(vigil.Blocks.MinTime, prom.Blocks.MinTime), min(vigil.Blocks.MaxTime, prom.Blocks.MaxTime)
	start = (start + align - 1) / align * align
	for _, s := range []*System{vigil, prom} {
		bs := s.Blocks
		f := &s.Figures.BlockFigures
		f.All = bs.sum(func(BlockInfo) bool { return true })
		f.Level2Up = bs.sum(func(b BlockInfo) bool { return b.Level >= 2 })
		f.Levels = bs.levels()
		if vigil.Blocks.Blocks > 0 && prom.Blocks.Blocks > 0 && start < end {
			f.SpanStart, f.SpanEnd = start, end
			f.Common = bs.sum(func(b BlockInfo) bool { return b.MinTime >= start && b.MaxTime <= end })
		}
		s.Figures.BlockBytesPerSample = f.All.perSample()
		s.Figures.BlockL2BytesPerSample = f.Level2Up.perSample()
		s.Figures.BlockCommonBytesPerSample = f.Common.perSample()
		if f.All.Samples > 0 {
			s.Figures.BlockChunkBytesPerSample = float64(f.All.ChunkBytes) / float64(f.All.Samples)
			s.Figures.BlockIndexBytesPerSample = float64(f.All.IndexBytes) / float64(f.All.Samples)
		} else {
			s.Figures.BlockChunkBytesPerSample, s.Figures.BlockIndexBytesPerSample = math.NaN(), math.NaN()
		}
	}
}

// blockRatios adds Vigil's bytes per sample in blocks against
// Prometheus' in blocks and against VictoriaMetrics' whole data
// directory after its final flush (it has no blocks; its parts are its
// final format).
func blockRatios(res *Results) {
	vigil, vm := res.Systems[0], res.Systems[2]
	prom := res.Systems[1]
	if vigil.Blocks.Blocks == 0 {
		return
	}
	for _, fg := range []struct {
		name string
		get  func(*Figures) float64
		goal bool
	}{
		{"bytes per sample in blocks", func(f *Figures) float64 { return f.BlockBytesPerSample }, true},
		{"bytes per sample in level ≥ 2 blocks", func(f *Figures) float64 { return f.BlockL2BytesPerSample }, true},
		{"bytes per sample in blocks of the common span", func(f *Figures) float64 { return f.BlockCommonBytesPerSample }, true},
		{"chunk bytes per sample in blocks", func(f *Figures) float64 { return f.BlockChunkBytesPerSample }, false},
		{"index bytes per sample in blocks", func(f *Figures) float64 { return f.BlockIndexBytesPerSample }, false},
	} {
		v := fg.get(&vigil.Figures)
		add := func(peer string, other, goal float64) {
			if !fg.goal {
				goal = 0
			}
			r := Ratio{Figure: fg.name, Peer: peer, Vigil: v, Other: other, Ratio: v / other, Goal: goal}
			r.Met = goal > 0 && r.Ratio <= goal
			res.Ratios = append(res.Ratios, r)
		}
		add("prometheus", fg.get(&prom.Figures), 0.6)
		if fg.goal {
			add("victoriametrics", vm.Figures.DiskAfterStopPerSample, 1)
		}
	}
}

// blockMarkdown reports the blocks of each system, block by block.
func blockMarkdown(w func(string, ...any), res *Results, ratio func(fig, peer string) Ratio) {
	v, p := res.Systems[0], res.Systems[1]
	if v.Blocks.Blocks == 0 && p.Blocks.Blocks == 0 {
		return
	}
	w("Blocks at the end of the window (block duration %s, max %s on both). Bytes per sample in blocks = the block directories' allocated bytes ÷ their meta.json `stats.numSamples`; WAL and head chunks are left out. VictoriaMetrics has no blocks: its figure is its whole data directory after its final flush at shutdown (cache/ left out) ÷ the samples it ingested by then.\n\n",
		res.Config["block_duration"], res.Config["max_block_duration"])
	w("| figure | Vigil | Prometheus | VictoriaMetrics | Vigil ÷ Prometheus | Vigil ÷ VictoriaMetrics |\n| --- | ---: | ---: | ---: | --- | --- |\n")
	w("| blocks (levels) | %d (%s) | %d (%s) | | | |\n", v.Blocks.Blocks, v.Figures.BlockFigures.Levels, p.Blocks.Blocks, p.Figures.BlockFigures.Levels)
	w("| blocks' bytes / samples | %s / %s | %s / %s | | | |\n", num(float64(v.Blocks.Allocated), 0), num(float64(v.Blocks.Samples), 0),
		num(float64(p.Blocks.Allocated), 0), num(float64(p.Blocks.Samples), 0))
	for _, name := range []string{"bytes per sample in blocks", "bytes per sample in level ≥ 2 blocks", "bytes per sample in blocks of the common span",
		"chunk bytes per sample in blocks", "index bytes per sample in blocks"} {
		rp, rvm := ratio(name, "prometheus"), ratio(name, "victoriametrics")
		w("| %s | %s | %s | %s | %s | %s |\n", name, num(rp.Vigil, 3), num(rp.Other, 3), num(rvm.Other, 3), ratioCell(rp), ratioCell(rvm))
	}
	if f := v.Figures.BlockFigures; f.SpanEnd > 0 {
		w("\nCommon span: %s to %s (blocks wholly inside it: Vigil %d, Prometheus %d). The VictoriaMetrics column repeats its whole-directory figure.\n", msTime(f.SpanStart).Format("15:04:05"), msTime(f.SpanEnd).Format("15:04:05"),
			f.Common.Blocks, p.Figures.BlockFigures.Common.Blocks)
	}
	w("\n| system | block | level | range (UTC) | series | samples | chunks | allocated bytes (chunks/ + index) | bytes/sample | chunk bytes/sample |\n| --- | --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	for _, s := range []*System{v, p} {
		for _, b := range s.Blocks.List {
			w("| %s | %s | %d | %s–%s | %s | %s | %s | %s (%s + %s) | %s | %s |\n", s.Name, b.ULID, b.Level, msTime(b.MinTime).Format("15:04:05"), msTime(b.MaxTime).Format("15:04:05"),
				num(float64(b.Series), 0), num(float64(b.Samples), 0), num(float64(b.Chunks), 0), num(float64(b.Allocated), 0),
				num(float64(b.ChunkBytes), 0), num(float64(b.IndexBytes), 0),
				num(float64(b.Allocated)/float64(b.Samples), 3), num(float64(b.ChunkBytes)/float64(b.Samples), 3))
		}
	}
	w("\n")
}

func msTime(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

// promDuration formats d as Prometheus' duration flags read it (no
// compound "2m0s").
func promDuration(d time.Duration) string {
	switch {
	case d%time.Hour == 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	case d%time.Minute == 0:
		return fmt.Sprintf("%dm", d/time.Minute)
	case d%time.Second == 0:
		return fmt.Sprintf("%ds", d/time.Second)
	}
	return fmt.Sprintf("%dms", d/time.Millisecond)
}

// blockArgs are the block range flags -block-duration asks for: the
// maximum is three minimum ranges, so that level-2 compaction happens
// and nothing larger.
func blockArgs(c config) []string {
	if c.blockDuration <= 0 {
		return nil
	}
	return []string{"--storage.tsdb.min-block-duration=" + promDuration(c.blockDuration),
		"--storage.tsdb.max-block-duration=" + promDuration(3*c.blockDuration)}
}
