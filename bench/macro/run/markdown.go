package main

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"
)

func num(v float64, prec int) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "n/a"
	}
	s := fmt.Sprintf("%.*f", prec, v)
	// Thousands separators for the integer part.
	intPart, frac, _ := strings.Cut(s, ".")
	neg := strings.HasPrefix(intPart, "-")
	intPart = strings.TrimPrefix(intPart, "-")
	var b strings.Builder
	for i, r := range intPart {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	out := b.String()
	if neg {
		out = "-" + out
	}
	if frac != "" {
		out += "." + frac
	}
	return out
}

func ratioCell(r Ratio) string {
	if math.IsNaN(r.Ratio) || math.IsInf(r.Ratio, 0) {
		return "n/a"
	}
	s := fmt.Sprintf("%.2f", r.Ratio)
	if r.Goal > 0 {
		verdict := "missed"
		if r.Met {
			verdict = "**met**"
		}
		s += fmt.Sprintf(" (goal ≤ %g: %s)", r.Goal, verdict)
	}
	return s
}

func markdown(res *Results) string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	if len(res.Systems) != 3 {
		w("(incomplete run: %d systems)\n", len(res.Systems))
		return b.String()
	}
	m := res.Machine
	w("Run %s to %s (%s). Machine: nproc=%s, %s, MemTotal %s, Linux %s, %s. Load average at start %q, at end %q. **The 2 cores were shared with other work during the run; the three systems and the load generator also share them with each other.**\n\n",
		res.Started.Format(time.RFC3339), res.Finished.Format(time.RFC3339), res.Finished.Sub(res.Started).Round(time.Second),
		m["nproc"], m["cpu"], m["memtotal"], m["kernel"], m["go"], m["loadavg_start"], m["loadavg_end"])
	cfg := res.Config
	w("Workload: %s targets × %s series (%s series exposed), scrape interval %s, churn %s every %s; warm-up %s, measurement window %s; queries at %s (range %s, step %s), %s timed repetitions each.\n\n",
		cfg["targets"], cfg["series_per_target"], cfg["active_series_exposed"], cfg["scrape_interval"], cfg["churn"], cfg["churn_every"],
		cfg["warmup"], cfg["measure"], res.QueryAt.Format(time.RFC3339), res.QueryRange, cfg["step"], cfg["reps"])
	w("| system | version | command line (paths shortened) |\n| --- | --- | --- |\n")
	for _, s := range res.Systems {
		w("| %s | %s | `%s %s` |\n", s.Name, s.Version, shortPath(s.Binary), shortArgs(s.Args))
	}
	w("\n")

	v, p, vm := res.Systems[0], res.Systems[1], res.Systems[2]
	ratio := func(fig, peer string) Ratio {
		for _, r := range res.Ratios {
			if r.Figure == fig && r.Peer == peer {
				return r
			}
		}
		return Ratio{Ratio: math.NaN()}
	}
	w("| figure | Vigil | Prometheus | VictoriaMetrics | Vigil ÷ Prometheus | Vigil ÷ VictoriaMetrics |\n| --- | ---: | ---: | ---: | --- | --- |\n")
	info := func(name string, get func(*Figures) float64, prec int) {
		w("| %s | %s | %s | %s | %s | %s |\n", name, num(get(&v.Figures), prec), num(get(&p.Figures), prec), num(get(&vm.Figures), prec),
			fmt.Sprintf("%.2f", get(&v.Figures)/get(&p.Figures)), fmt.Sprintf("%.2f", get(&v.Figures)/get(&vm.Figures)))
	}
	info("samples ingested per second (window)", func(f *Figures) float64 { return f.SamplesPerSec }, 0)
	info("active series (end of window)", func(f *Figures) float64 { return f.ActiveSeries }, 0)
	info("CPU cores used (window)", func(f *Figures) float64 { return f.CPUCoresUsed }, 3)
	info("RSS idle, no targets (MB)", func(f *Figures) float64 { return f.RSSIdle / 1e6 }, 1)
	info("RSS steady, mean over window (MB)", func(f *Figures) float64 { return f.RSSSteady / 1e6 }, 1)
	info("RSS peak during ingestion, VmHWM at the end of the window (MB)", func(f *Figures) float64 { return f.RSSPeakIngest / 1e6 }, 1)
	info("RSS peak, VmHWM at the end of the run, after the queries (MB)", func(f *Figures) float64 { return f.RSSPeak / 1e6 }, 1)
	for _, fig := range []struct {
		name string
		prec int
	}{
		{"CPU seconds per million samples", 3},
		{"RSS bytes per active series (steady)", 0},
		{"RSS bytes per active series (peak, VmHWM)", 0},
		{"RSS above idle per active series", 0},
		{"bytes on disk per sample", 3},
		{"query latency median (geomean of 14)", 2},
		{"query latency p90 (geomean of 14)", 2},
	} {
		rp, rvm := ratio(fig.name, "prometheus"), ratio(fig.name, "victoriametrics")
		name := fig.name
		if strings.HasPrefix(name, "query") {
			name += ", ms"
		}
		w("| %s | %s | %s | %s | %s | %s |\n", name, num(rp.Vigil, fig.prec), num(rp.Other, fig.prec), num(rvm.Other, fig.prec), ratioCell(rp), ratioCell(rvm))
	}
	w("\nBytes on disk per sample is `du`-style (allocated blocks of the data directory's files) at the end of the window over the samples ingested until then; apparent sizes: Vigil %s, Prometheus %s, VictoriaMetrics %s bytes per sample; after a clean shutdown (VictoriaMetrics' cache/ directory, written at shutdown, left out): %s, %s, %s.\n\n",
		num(v.Figures.DiskApparentPerSample, 3), num(p.Figures.DiskApparentPerSample, 3), num(vm.Figures.DiskApparentPerSample, 3),
		num(v.Figures.DiskAfterStopPerSample, 3), num(p.Figures.DiskAfterStopPerSample, 3), num(vm.Figures.DiskAfterStopPerSample, 3))
	blockMarkdown(w, res, ratio)
	w("| data directory at the end of the window | allocated, by top-level entry |\n| --- | --- |\n")
	for _, s := range res.Systems {
		w("| %s | %s |\n", s.Name, diskBreakdown(s.DiskAtWindowEnd))
	}
	w("\n")

	w("Query latency in ms (median / p90 of %s; client-side, whole response read) and agreement with Prometheus' answer (relative tolerance %s):\n\n", cfg["reps"], cfg["tolerance"])
	w("| query | kind | Vigil | Prometheus | VictoriaMetrics | V÷P median | V÷VM median | Vigil agrees | VM agrees |\n| --- | --- | ---: | ---: | ---: | ---: | ---: | --- | --- |\n")
	for _, q := range res.Queries {
		for _, k := range []string{"instant", "range"} {
			key := q.Name + "/" + k
			cell := func(s *System) string {
				st := s.Latency[key]
				if st == nil || st.Error != "" && len(st.Millis) == 0 {
					return "error"
				}
				return fmt.Sprintf("%.2f / %.2f", st.Median, st.P90)
			}
			rat := func(a, b *System) string {
				sa, sb := a.Latency[key], b.Latency[key]
				if sa == nil || sb == nil {
					return "n/a"
				}
				return fmt.Sprintf("%.2f", sa.Median/sb.Median)
			}
			w("| `%s` | %s | %s | %s | %s | %s | %s | %s | %s |\n", q.Name, k, cell(v), cell(p), cell(vm), rat(v, p), rat(v, vm),
				agreeCell(v.Agreement[key]), agreeCell(vm.Agreement[key]))
		}
	}
	w("\nQueries:\n\n")
	for _, q := range res.Queries {
		w("- `%s`: `%s`\n", q.Name, q.Expr)
	}
	var diffs []string
	for _, s := range []*System{v, vm} {
		keys := make([]string, 0, len(s.Agreement))
		for k := range s.Agreement {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if a := s.Agreement[k]; !a.Agree {
				diffs = append(diffs, fmt.Sprintf("- %s `%s`: series %d vs %d (missing %d, extra %d), points %d vs %d, %d of %d compared points outside tolerance, max relative difference %.3g; e.g. %s",
					s.Name, k, a.Series, a.SeriesRef, a.MissingSeries, a.ExtraSeries, a.Points, a.PointsRef, a.PointsOutside, a.PointsCompared, a.MaxRelDiff, a.Example))
			}
		}
	}
	if len(diffs) > 0 {
		w("\nDifferences from Prometheus' answers:\n\n%s\n", strings.Join(diffs, "\n"))
	}
	w("\nScrape phase: per target, the last scrape before the query time was %s ms (median; max %s ms) away from Prometheus' for Vigil and %s ms (max %s ms) for VictoriaMetrics. A gauge that steps between two systems' scrapes reads differently in them for up to that long.\n",
		num(v.ScrapeLag.MedianAbsMs, 0), num(v.ScrapeLag.MaxAbsMs, 0), num(vm.ScrapeLag.MedianAbsMs, 0), num(vm.ScrapeLag.MaxAbsMs, 0))
	if res.ProfileTop != "" {
		w("\nVigil CPU profile (%s during steady ingestion, after the window), top 10 by flat time:\n\n```\n%s```\n", cfg["profile"], trimPprofHeader(res.ProfileTop))
	}
	if res.HeapTop != "" {
		w("\nVigil heap in use right after the CPU profile, top 10:\n\n```\n%s```\n", trimPprofHeader(res.HeapTop))
	}
	for _, n := range res.Notes {
		w("\nNote: %s\n", n)
	}
	return b.String()
}

func agreeCell(a Agreement) string {
	if a.Agree {
		return fmt.Sprintf("yes (%d series, max diff %.1g)", a.Series, a.MaxRelDiff)
	}
	return fmt.Sprintf("**no** (%d vs %d series, %d pts off)", a.Series, a.SeriesRef, a.PointsOutside)
}

func diskBreakdown(d DiskUsage) string {
	keys := make([]string, 0, len(d.ByTop))
	for k := range d.ByTop {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := []string{fmt.Sprintf("%s KB", num(float64(d.Allocated)/1e3, 0))}
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %s KB", k, num(float64(d.ByTop[k])/1e3, 0)))
	}
	return strings.Join(parts, ", ")
}

func trimPprofHeader(s string) string {
	var out []string
	for line := range strings.Lines(s) {
		if strings.HasPrefix(line, "File:") || strings.HasPrefix(line, "Build ID:") {
			continue
		}
		out = append(out, line)
	}
	return strings.Join(out, "")
}

func shortPath(p string) string {
	if i := strings.LastIndex(p, "/vigil-macro-"); i >= 0 {
		return "$TMP" + p[i+len("/vigil-macro-")+strings.IndexByte(p[i+len("/vigil-macro-"):], '/'):]
	}
	return p
}

func shortArgs(args []string) string {
	out := make([]string, len(args))
	for i, a := range args {
		if k, v, ok := strings.Cut(a, "="); ok {
			out[i] = k + "=" + shortPath(v)
		} else {
			out[i] = shortPath(a)
		}
	}
	return strings.Join(out, " ")
}
