// Command run is Vigil's whole-server macro benchmark. It starts the
// load generator (../loadgen), Vigil (built from this working tree),
// Prometheus and VictoriaMetrics (Debian's packages, installed with
// apt-get when missing), has all three scrape the same targets at the
// same interval at the same time, and measures per system: CPU seconds
// per million samples ingested, RSS per active series (steady and peak),
// bytes on disk per sample, and the latency of a dashboard-like query set
// (instant and range), whose answers it also cross-checks. It prints a
// markdown report and writes every raw number as JSON (-out).
//
//	cd bench/macro && go run ./run -out /tmp/macro/results.json
//
// Every child process is stopped by PID at the end, on error and on
// SIGINT/SIGTERM.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

type config struct {
	targets, series int
	churn           float64
	churnEvery      time.Duration
	interval        time.Duration
	idle            time.Duration
	warmup          time.Duration
	measure         time.Duration
	profile         time.Duration
	sampleEvery     time.Duration
	reps            int
	queryRange      time.Duration
	step            time.Duration
	tolerance       float64
	out             string
	keep            bool
	repo            string
	noInstall       bool
	vigilBin        string
	vigilSrc        string
	vigilRev        string
	promMinBlock    string
	blockDuration   time.Duration
	vmCache         bool
	extraArgs       map[string]string
}

func main() { os.Exit(realMain()) }

func realMain() (code int) {
	var c config
	c.extraArgs = map[string]string{}
	flag.IntVar(&c.targets, "targets", 20, "scrape targets")
	flag.IntVar(&c.series, "series", 1000, "series per target (-targets × -series active series; 200 × 5000 = 1M)")
	flag.Float64Var(&c.churn, "churn", 0, "fraction of each target's series replaced every -churn-every")
	flag.DurationVar(&c.churnEvery, "churn-every", 10*time.Minute, "series churn period")
	flag.DurationVar(&c.interval, "interval", 5*time.Second, "scrape interval (and timeout) of all three systems")
	flag.DurationVar(&c.idle, "idle", 10*time.Second, "time the systems run with no targets before scraping starts (idle RSS)")
	flag.DurationVar(&c.warmup, "warmup", 60*time.Second, "scraping before the measurement window")
	flag.DurationVar(&c.measure, "measure", 180*time.Second, "measurement window for CPU, samples, RSS and disk")
	flag.DurationVar(&c.profile, "profile", 30*time.Second, "CPU profile of Vigil taken after the window (0: none)")
	flag.DurationVar(&c.sampleEvery, "sample-every", 5*time.Second, "how often /proc and /metrics are sampled")
	flag.IntVar(&c.reps, "reps", 10, "timed repetitions of each query per system")
	flag.DurationVar(&c.queryRange, "query-range", 2*time.Minute, "range of the range queries (shrunk to fit the data)")
	flag.DurationVar(&c.step, "step", 15*time.Second, "step of the range queries")
	flag.Float64Var(&c.tolerance, "tolerance", 0.01, "relative tolerance when comparing query answers")
	flag.StringVar(&c.out, "out", "", "write the JSON results here (the Vigil CPU profile goes next to it)")
	flag.BoolVar(&c.keep, "keep", false, "keep the temporary directory (data dirs, logs, configs)")
	flag.StringVar(&c.repo, "repo", "", "root of the Vigil repository (default: found above the working directory)")
	flag.BoolVar(&c.noInstall, "no-install", false, "never run apt-get; fail when prometheus or victoria-metrics is missing")
	flag.StringVar(&c.vigilBin, "vigil-bin", "", "use this vigil binary instead of building ./cmd/vigil")
	flag.StringVar(&c.vigilRev, "vigil-rev", "", "revision to report for Vigil when it cannot be read with git (with -vigil-bin, or a -vigil-src export)")
	flag.StringVar(&c.vigilSrc, "vigil-src", "", "build ./cmd/vigil from this source tree (for example a `git archive` export of a commit) instead of the repository root")
	flag.StringVar(&c.promMinBlock, "prom-min-block-duration", "", "pass --storage.tsdb.{min,max}-block-duration to Prometheus (default: the binary's 2h)")
	flag.DurationVar(&c.blockDuration, "block-duration", 0, "pass --storage.tsdb.min-block-duration=D and --storage.tsdb.max-block-duration=3D to Vigil and Prometheus, so that both cut blocks and compact them to level 2 within minutes (0: their 2h default)")
	flag.BoolVar(&c.vmCache, "vm-cache", false, "leave VictoriaMetrics' rollup result cache on (default: -search.disableCache)")
	for _, s := range []string{"vigil", "prometheus", "victoriametrics"} {
		c.extraArgs[s] = ""
	}
	vigilArgs := flag.String("vigil-args", "", "extra arguments for vigil server (space-separated)")
	promArgs := flag.String("prom-args", "", "extra arguments for prometheus (space-separated)")
	vmArgs := flag.String("vm-args", "", "extra arguments for victoria-metrics (space-separated)")
	flag.Parse()
	if c.blockDuration != 0 && c.promMinBlock != "" {
		fmt.Fprintln(os.Stderr, "-block-duration and -prom-min-block-duration exclude each other")
		return 2
	}
	if c.blockDuration < 0 || c.blockDuration%time.Millisecond != 0 {
		fmt.Fprintf(os.Stderr, "-block-duration %v must be a positive number of milliseconds\n", c.blockDuration)
		return 2
	}
	c.extraArgs["vigil"], c.extraArgs["prometheus"], c.extraArgs["victoriametrics"] = *vigilArgs, *promArgs, *vmArgs

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	defer func() {
		// Children go first, whatever happened.
		if r := recover(); r != nil {
			stopAll()
			panic(r)
		}
		stopAll()
	}()
	res, err := runBench(ctx, c)
	if err == nil {
		err = writeResults(c, res)
	}
	if err != nil {
		logf("error: %v", err)
		return 1
	}
	return 0
}

// Snapshot is one sample of a process and its self-metrics.
type Snapshot struct {
	T          time.Time `json:"t"`
	CPUSec     float64   `json:"cpu_seconds"`
	RSS        int64     `json:"rss_bytes"`
	HWM        int64     `json:"hwm_bytes"`
	Threads    int       `json:"threads"`
	Samples    float64   `json:"samples_ingested"`
	Series     float64   `json:"active_series"`
	MetricsErr string    `json:"metrics_error,omitempty"`
}

// System is one server under test.
type System struct {
	Name    string   `json:"name"`
	Version string   `json:"version"`
	Binary  string   `json:"binary"`
	Args    []string `json:"args"`
	Addr    string   `json:"addr"`
	DataDir string   `json:"data_dir"`
	PID     int      `json:"pid"`

	// SamplesMetric and SeriesMetric name what was read from /metrics.
	SamplesMetric string `json:"samples_metric"`
	SeriesMetric  string `json:"series_metric"`

	Idle        Snapshot   `json:"idle"`
	WindowStart Snapshot   `json:"window_start"`
	WindowEnd   Snapshot   `json:"window_end"`
	Final       Snapshot   `json:"final"`
	Timeline    []Snapshot `json:"timeline"`

	DiskAtWindowEnd    DiskUsage `json:"disk_at_window_end"`
	SamplesAtWindowEnd float64   `json:"samples_at_window_end"`
	DiskAfterStop      DiskUsage `json:"disk_after_stop"`
	SamplesAtStop      float64   `json:"samples_at_stop"`
	// Blocks are the blocks in the data directory at the end of the
	// window (only when the block duration was lowered with
	// -block-duration, or -prom-min-block-duration for Prometheus).
	Blocks          BlockStats `json:"blocks_at_window_end"`
	BlocksAfterStop BlockStats `json:"blocks_after_stop"`

	// ScrapeLag is how far this system's last scrape of each target before
	// the query time lies from Prometheus' (from timestamp(up)), in ms:
	// the systems scrape the same targets at different phases of the
	// interval, which explains small differences in gauges that step.
	ScrapeLag struct {
		MedianAbsMs float64 `json:"median_abs_ms"`
		MaxAbsMs    float64 `json:"max_abs_ms"`
		Targets     int     `json:"targets"`
	} `json:"scrape_phase_vs_prometheus"`

	Latency   map[string]*latencyStats `json:"latency"`   // "<query>/<instant|range>"
	Agreement map[string]Agreement     `json:"agreement"` // against Prometheus

	Figures Figures `json:"figures"`

	proc *proc
}

// Results is the JSON written to -out.
type Results struct {
	Started     time.Time         `json:"started"`
	Finished    time.Time         `json:"finished"`
	Command     []string          `json:"command"`
	Machine     map[string]string `json:"machine"`
	Config      map[string]string `json:"config"`
	Loadgen     json.RawMessage   `json:"loadgen"`
	LoadgenStat json.RawMessage   `json:"loadgen_stats"`
	LoadgenCPU  float64           `json:"loadgen_cpu_seconds"`
	Queries     []dashQuery       `json:"queries"`
	QueryAt     time.Time         `json:"query_eval_time"`
	QueryRange  string            `json:"query_range"`
	Systems     []*System         `json:"systems"`
	Ratios      []Ratio           `json:"ratios"`
	ProfileTop  string            `json:"vigil_profile_top"`
	ProfileCum  string            `json:"vigil_profile_top_cum"`
	HeapTop     string            `json:"vigil_heap_top_inuse"`
	ProfileFile string            `json:"vigil_profile_file,omitempty"`
	Notes       []string          `json:"notes"`

	tmp string
}

// Ratio is Vigil's figure over a peer's, with the goal.
type Ratio struct {
	Figure string  `json:"figure"`
	Peer   string  `json:"peer"`
	Vigil  float64 `json:"vigil"`
	Other  float64 `json:"peer_value"`
	Ratio  float64 `json:"ratio"`
	Goal   float64 `json:"goal_max_ratio"` // 0: no goal
	Met    bool    `json:"met"`
}

func runBench(ctx context.Context, c config) (*Results, error) {
	res := &Results{Started: time.Now().UTC(), Command: os.Args, Queries: dashboard}
	res.Machine = machineInfo()
	res.Machine["loadavg_start"] = loadavg()

	repo := c.repo
	if repo == "" {
		var err error
		if repo, err = findRepoRoot("."); err != nil {
			return nil, err
		}
	}
	tmp, err := os.MkdirTemp("", "vigil-macro-")
	if err != nil {
		return nil, err
	}
	res.tmp = tmp
	if !c.keep {
		defer func() {
			stopAll() // nothing may still write into tmp
			os.RemoveAll(tmp)
		}()
	} else {
		logf("keeping %s", tmp)
	}

	// Peers.
	if !c.noInstall {
		if err := ensurePackages(ctx, [][2]string{{"prometheus", "prometheus"}, {"victoria-metrics", "victoria-metrics"}}); err != nil {
			return nil, err
		}
	}
	promBin, err := exec.LookPath("prometheus")
	if err != nil {
		return nil, err
	}
	vmBin, err := exec.LookPath("victoria-metrics")
	if err != nil {
		return nil, err
	}

	// Vigil and the load generator.
	vigilBin, vigilSrc := c.vigilBin, c.vigilSrc
	if vigilSrc == "" {
		vigilSrc = repo
	}
	if vigilBin == "" {
		vigilBin = filepath.Join(tmp, "vigil")
		logf("building vigil from %s", vigilSrc)
		if err := goBuild(ctx, vigilSrc, vigilBin, "./cmd/vigil"); err != nil {
			return nil, err
		}
		res.Machine["vigil_source"] = vigilSrc
	} else {
		res.Machine["vigil_source"] = "prebuilt " + vigilBin
	}
	lgBin := filepath.Join(tmp, "loadgen")
	if err := goBuild(ctx, filepath.Join(repo, "bench", "macro"), lgBin, "./loadgen"); err != nil {
		return nil, err
	}
	switch {
	case c.vigilRev != "":
		res.Machine["vigil_revision"] = c.vigilRev
	case c.vigilBin != "":
		res.Machine["vigil_revision"] = "unknown (prebuilt binary)"
	default:
		res.Machine["vigil_revision"] = gitRevision(vigilSrc)
	}

	// Load generator.
	infoPath := filepath.Join(tmp, "loadgen.json")
	lg, err := startProc("loadgen", filepath.Join(tmp, "loadgen.log"), lgBin,
		"-targets", strconv.Itoa(c.targets), "-series", strconv.Itoa(c.series),
		"-churn", strconv.FormatFloat(c.churn, 'g', -1, 64), "-churn-every", c.churnEvery.String(),
		"-info", infoPath)
	if err != nil {
		return nil, err
	}
	var lgInfo struct {
		Targets     []string `json:"targets"`
		TotalSeries int      `json:"total_series"`
		Control     string   `json:"control"`
	}
	if err := waitFor(ctx, 2*time.Minute, lg, func() bool {
		b, err := os.ReadFile(infoPath)
		if err != nil {
			return false
		}
		res.Loadgen = b
		return json.Unmarshal(b, &lgInfo) == nil
	}); err != nil {
		return res, fmt.Errorf("loadgen: %w", err)
	}
	logf("loadgen: %d targets, %d series in all", len(lgInfo.Targets), lgInfo.TotalSeries)

	// Scrape configuration: empty first (idle), then the targets.
	cfgPath := filepath.Join(tmp, "scrape.yml")
	if err := writeScrapeConfig(cfgPath, c.interval, nil); err != nil {
		return nil, err
	}
	systems, err := startSystems(ctx, c, tmp, cfgPath, vigilBin, promBin, vmBin, res.Machine["vigil_revision"])
	if err != nil {
		return res, err
	}
	res.Systems = systems
	res.Config = map[string]string{
		"targets": strconv.Itoa(c.targets), "series_per_target": strconv.Itoa(c.series),
		"active_series_exposed": strconv.Itoa(lgInfo.TotalSeries),
		"churn":                 strconv.FormatFloat(c.churn, 'g', -1, 64), "churn_every": c.churnEvery.String(),
		"scrape_interval": c.interval.String(), "idle": c.idle.String(), "warmup": c.warmup.String(),
		"measure": c.measure.String(), "profile": c.profile.String(), "sample_every": c.sampleEvery.String(),
		"reps": strconv.Itoa(c.reps), "step": c.step.String(), "tolerance": strconv.FormatFloat(c.tolerance, 'g', -1, 64),
	}
	if c.blockDuration > 0 {
		res.Config["block_duration"], res.Config["max_block_duration"] = promDuration(c.blockDuration), promDuration(3*c.blockDuration)
	}

	logf("all three ready; idle for %v", c.idle)
	if err := sleepCtx(ctx, c.idle); err != nil {
		return res, err
	}
	for _, s := range systems {
		s.Idle = snapshot(s)
	}

	if err := writeScrapeConfig(cfgPath, c.interval, lgInfo.Targets); err != nil {
		return res, err
	}
	scrapeStart := time.Now()
	for _, s := range systems {
		if err := s.proc.cmd.Process.Signal(syscall.SIGHUP); err != nil {
			return res, fmt.Errorf("reloading %s: %w", s.Name, err)
		}
	}
	logf("scraping %d targets every %v; warm-up %v, then a %v window", len(lgInfo.Targets), c.interval, c.warmup, c.measure)

	// Periodic sampling until the end.
	var tlMu sync.Mutex
	sampCtx, stopSampling := context.WithCancel(ctx)
	var sampWG sync.WaitGroup
	sampWG.Add(1)
	go func() {
		defer sampWG.Done()
		t := time.NewTicker(c.sampleEvery)
		defer t.Stop()
		for {
			select {
			case <-sampCtx.Done():
				return
			case <-t.C:
			}
			for _, s := range systems {
				sn := snapshot(s)
				tlMu.Lock()
				s.Timeline = append(s.Timeline, sn)
				tlMu.Unlock()
			}
		}
	}()
	defer func() { stopSampling(); sampWG.Wait() }()

	if err := sleepCtx(ctx, c.warmup); err != nil {
		return res, err
	}
	if err := checkAlive(systems, lg); err != nil {
		return res, err
	}
	for _, s := range systems {
		s.WindowStart = snapshot(s)
	}
	if err := sleepCtx(ctx, c.measure); err != nil {
		return res, err
	}
	for _, s := range systems {
		s.WindowEnd = snapshot(s)
	}
	for _, s := range systems {
		s.DiskAtWindowEnd, _ = diskUsage(s.DataDir)
		s.SamplesAtWindowEnd = fetchMetrics(s).Samples
		s.Blocks = blockStats(s.DataDir)
	}
	if err := checkAlive(systems, lg); err != nil {
		return res, err
	}
	logf("window done")

	if c.profile > 0 {
		logf("taking a %v CPU profile of vigil", c.profile)
		if err := profileVigil(ctx, c, res, systems[0], vigilBin); err != nil {
			logf("profile: %v", err)
			res.Notes = append(res.Notes, "profile failed: "+err.Error())
		}
	}

	if err := runQueries(ctx, c, res, systems, scrapeStart); err != nil {
		return res, err
	}

	// Final figures, then stop the systems and measure the data dirs again.
	for _, s := range systems {
		s.Final = snapshot(s)
		s.SamplesAtStop = s.Final.Samples
	}
	if b, err := httpGet(ctx, "http://"+lgInfo.Control+"/stats"); err == nil {
		res.LoadgenStat = b
	}
	if st, err := readStat(lg.pid()); err == nil {
		res.LoadgenCPU = st.cpuSec
	}
	for _, s := range systems {
		s.proc.stop(60 * time.Second)
		s.DiskAfterStop, _ = diskUsage(s.DataDir)
		s.BlocksAfterStop = blockStats(s.DataDir)
	}
	lg.stop(10 * time.Second)
	res.Machine["loadavg_end"] = loadavg()
	res.Finished = time.Now().UTC()
	computeFigures(res, c)
	return res, nil
}

// writeScrapeConfig writes a configuration both Prometheus-compatible
// servers and VictoriaMetrics' -promscrape.config read the same way.
func writeScrapeConfig(path string, interval time.Duration, targets []string) error {
	var b bytes.Buffer
	fmt.Fprintf(&b, "global:\n  scrape_interval: %s\n  scrape_timeout: %s\n", interval, interval)
	if len(targets) == 0 {
		b.WriteString("scrape_configs: []\n")
	} else {
		b.WriteString("scrape_configs:\n  - job_name: node\n    static_configs:\n      - targets:\n")
		for _, t := range targets {
			fmt.Fprintf(&b, "          - %q\n", t)
		}
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b.Bytes(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

func startSystems(ctx context.Context, c config, tmp, cfgPath, vigilBin, promBin, vmBin, vigilRev string) ([]*System, error) {
	var systems []*System
	for _, name := range []string{"vigil", "prometheus", "victoriametrics"} {
		addr, err := freeAddr()
		if err != nil {
			return nil, err
		}
		s := &System{Name: name, Addr: addr, DataDir: filepath.Join(tmp, "data-"+name),
			Latency: map[string]*latencyStats{}, Agreement: map[string]Agreement{}}
		if err := os.MkdirAll(s.DataDir, 0o755); err != nil {
			return nil, err
		}
		ready := "/-/ready"
		switch name {
		case "vigil":
			s.Binary = vigilBin
			s.Args = []string{"server", "--config.file=" + cfgPath, "--web.listen-address=" + addr, "--storage.tsdb.path=" + s.DataDir}
			s.Args = append(s.Args, blockArgs(c)...)
			s.Version = firstLine(vigilBin, "--version") + " @ " + vigilRev
			s.SamplesMetric, s.SeriesMetric = "sum(prometheus_tsdb_head_samples_appended_total)", "prometheus_tsdb_head_series"
		case "prometheus":
			s.Binary = promBin
			s.Args = []string{"--config.file=" + cfgPath, "--web.listen-address=" + addr, "--storage.tsdb.path=" + s.DataDir}
			if c.promMinBlock != "" {
				s.Args = append(s.Args, "--storage.tsdb.min-block-duration="+c.promMinBlock, "--storage.tsdb.max-block-duration="+c.promMinBlock)
			}
			s.Args = append(s.Args, blockArgs(c)...)
			s.Version = firstLine(promBin, "--version") + " (deb " + debVersion("prometheus") + ")"
			s.SamplesMetric, s.SeriesMetric = "sum(prometheus_tsdb_head_samples_appended_total)", "prometheus_tsdb_head_series"
		case "victoriametrics":
			s.Binary = vmBin
			s.Args = []string{"-promscrape.config=" + cfgPath, "-storageDataPath=" + s.DataDir, "-httpListenAddr=" + addr}
			if !c.vmCache {
				s.Args = append(s.Args, "-search.disableCache")
			}
			s.Version = "victoria-metrics (deb " + debVersion("victoria-metrics") + ")"
			s.SamplesMetric, s.SeriesMetric = `vm_rows_inserted_total{type="promscrape"}`, `vm_cache_entries{type="storage/hour_metric_ids"}`
			ready = "/health"
		}
		if extra := strings.Fields(c.extraArgs[name]); len(extra) > 0 {
			s.Args = append(s.Args, extra...)
		}
		p, err := startProc(name, filepath.Join(tmp, name+".log"), s.Binary, s.Args...)
		if err != nil {
			return nil, err
		}
		s.proc, s.PID = p, p.pid()
		systems = append(systems, s)
		if err := waitFor(ctx, 2*time.Minute, p, func() bool {
			resp, err := http.Get("http://" + addr + ready)
			if err != nil {
				return false
			}
			resp.Body.Close()
			return resp.StatusCode == 200
		}); err != nil {
			return systems, fmt.Errorf("%s did not become ready: %w; log: %s", name, err, tail(filepath.Join(tmp, name+".log")))
		}
	}
	return systems, nil
}

// waitFor polls cond until it holds, the process exits, ctx ends or the
// timeout passes.
func waitFor(ctx context.Context, timeout time.Duration, p *proc, cond func() bool) error {
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return nil
		}
		if p.exited() {
			return fmt.Errorf("%s exited: %v", p.name, p.err)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out after %v", timeout)
		}
		if err := sleepCtx(ctx, 100*time.Millisecond); err != nil {
			return err
		}
	}
}

func checkAlive(systems []*System, lg *proc) error {
	for _, s := range systems {
		if s.proc.exited() {
			return fmt.Errorf("%s exited early: %v; log: %s", s.Name, s.proc.err, tail(s.proc.log.Name()))
		}
	}
	if lg.exited() {
		return fmt.Errorf("loadgen exited early: %v", lg.err)
	}
	return nil
}

var metricsClient = &http.Client{Timeout: 20 * time.Second}

type selfMetrics struct{ Samples, Series float64 }

// fetchMetrics reads the samples-ingested and active-series figures from
// the system's own /metrics.
func fetchMetrics(s *System) selfMetrics {
	b, err := httpGet(context.Background(), "http://"+s.Addr+"/metrics")
	if err != nil {
		return selfMetrics{math.NaN(), math.NaN()}
	}
	text := string(b)
	switch s.Name {
	case "victoriametrics":
		return selfMetrics{
			Samples: metricSum(text, "vm_rows_inserted_total", `type="promscrape"`),
			Series:  metricSum(text, "vm_cache_entries", `type="storage/hour_metric_ids"`),
		}
	default:
		return selfMetrics{
			Samples: metricSum(text, "prometheus_tsdb_head_samples_appended_total", ""),
			Series:  metricSum(text, "prometheus_tsdb_head_series", ""),
		}
	}
}

// metricSum adds the values of every sample of the named metric whose
// label text contains filter.
func metricSum(text, name, filter string) float64 {
	sum, found := 0.0, false
	for line := range strings.Lines(text) {
		if !strings.HasPrefix(line, name) || strings.HasPrefix(line, "#") {
			continue
		}
		rest := line[len(name):]
		if rest == "" || (rest[0] != '{' && rest[0] != ' ') {
			continue // a longer name
		}
		if filter != "" && !strings.Contains(rest, filter) {
			continue
		}
		f := strings.Fields(rest[strings.LastIndexByte(rest, '}')+1:])
		if len(f) == 0 {
			continue
		}
		v, err := strconv.ParseFloat(f[0], 64)
		if err == nil {
			sum += v
			found = true
		}
	}
	if !found {
		return math.NaN()
	}
	return sum
}

func snapshot(s *System) Snapshot {
	sn := Snapshot{T: time.Now()}
	if st, err := readStat(s.PID); err == nil {
		sn.CPUSec, sn.Threads = st.cpuSec, st.threads
	}
	sn.RSS, sn.HWM, _ = readMem(s.PID)
	m := fetchMetrics(s)
	sn.Samples, sn.Series = m.Samples, m.Series
	if math.IsNaN(m.Samples) {
		sn.MetricsErr = "metrics unavailable"
		sn.Samples, sn.Series = 0, 0
	}
	return sn
}

func httpGet(ctx context.Context, url string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := metricsClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	if _, err := b.ReadFrom(resp.Body); err != nil {
		return nil, err
	}
	if resp.StatusCode != 200 {
		return nil, fmt.Errorf("GET %s: HTTP %d", url, resp.StatusCode)
	}
	return b.Bytes(), nil
}

func profileVigil(ctx context.Context, c config, res *Results, vigil *System, vigilBin string) error {
	dir := res.tmp
	if c.out != "" {
		dir = filepath.Dir(c.out)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	cpuPath := filepath.Join(dir, "vigil.cpu.pprof")
	if err := fetchProfile(ctx, fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", vigil.Addr, int(c.profile.Seconds())), c.profile+time.Minute, cpuPath); err != nil {
		return err
	}
	if c.out != "" {
		res.ProfileFile = cpuPath
	}
	top, err := exec.CommandContext(ctx, "go", "tool", "pprof", "-top", "-nodecount=10", vigilBin, cpuPath).CombinedOutput()
	if err != nil {
		return fmt.Errorf("go tool pprof: %v: %s", err, top)
	}
	res.ProfileTop = string(top)
	if cum, err := exec.CommandContext(ctx, "go", "tool", "pprof", "-top", "-cum", "-nodecount=25", vigilBin, cpuPath).CombinedOutput(); err == nil {
		res.ProfileCum = string(cum)
	}
	// The heap in use during steady ingestion (after a GC, as the heap
	// profile reports it), for the memory figures.
	heapPath := filepath.Join(dir, "vigil.heap.pprof")
	if err := fetchProfile(ctx, fmt.Sprintf("http://%s/debug/pprof/heap?gc=1", vigil.Addr), time.Minute, heapPath); err != nil {
		return err
	}
	if heap, err := exec.CommandContext(ctx, "go", "tool", "pprof", "-top", "-nodecount=10", "-sample_index=inuse_space", vigilBin, heapPath).CombinedOutput(); err == nil {
		res.HeapTop = string(heap)
	}
	return nil
}

func fetchProfile(ctx context.Context, url string, timeout time.Duration, path string) error {
	client := &http.Client{Timeout: timeout}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	if _, err := b.ReadFrom(resp.Body); err != nil {
		return err
	}
	if resp.StatusCode != 200 {
		return fmt.Errorf("GET %s: HTTP %d: %.200s", url, resp.StatusCode, b.String())
	}
	return os.WriteFile(path, b.Bytes(), 0o644)
}

// runQueries evaluates the dashboard at one fixed time, instant and range,
// on every system: one untimed call whose answer is cross-checked, then
// -reps timed calls interleaved across systems (the order rotates so that
// no system always goes first).
func runQueries(ctx context.Context, c config, res *Results, systems []*System, scrapeStart time.Time) error {
	// VictoriaMetrics hides the last -search.latencyOffset (30s) of data
	// from queries near "now", so every system is asked about a time 45s
	// ago, aligned to the step as VictoriaMetrics aligns range queries.
	at := time.Now().Add(-45 * time.Second).Truncate(c.step)
	// The first point of a range query needs a full rate window ([1m])
	// of data behind it.
	avail := at.Sub(scrapeStart) - time.Minute - 2*c.interval
	rng := min(c.queryRange, avail.Truncate(c.step))
	if rng < c.step {
		rng = c.step
		res.Notes = append(res.Notes, "the run is too short for the requested query range; range queries cover one step")
	}
	res.QueryAt, res.QueryRange = at.UTC(), rng.String()
	logf("queries at %s, range %v step %v, %d reps", at.UTC().Format(time.RFC3339), rng, c.step, c.reps)
	client := &http.Client{Timeout: 2 * time.Minute}
	scrapePhases(ctx, client, systems, at)
	kinds := []string{"instant", "range"}
	ref := map[string]result{}
	answers := map[string]map[string]result{}
	for _, s := range systems {
		answers[s.Name] = map[string]result{}
		for _, q := range dashboard {
			for _, k := range kinds {
				key := q.Name + "/" + k
				r := rng
				if k == "instant" {
					r = 0
				}
				st := &latencyStats{}
				s.Latency[key] = st
				out, _, n, err := runQuery(ctx, client, s.Addr, q.Expr, at, r, c.step)
				if err != nil {
					st.Error = err.Error()
					logf("%s %s: %v", s.Name, key, err)
					continue
				}
				st.Bytes = n
				answers[s.Name][key] = out
				if s.Name == "prometheus" {
					ref[key] = out
				}
			}
		}
	}
	for rep := range c.reps {
		for qi, q := range dashboard {
			for _, k := range kinds {
				key := q.Name + "/" + k
				r := rng
				if k == "instant" {
					r = 0
				}
				for j := range systems {
					s := systems[(j+rep+qi)%len(systems)]
					_, took, _, err := runQuery(ctx, client, s.Addr, q.Expr, at, r, c.step)
					st := s.Latency[key]
					if err != nil {
						if ctx.Err() != nil {
							return ctx.Err()
						}
						st.Errors++
						st.Error = err.Error()
						continue
					}
					st.Millis = append(st.Millis, float64(took.Microseconds())/1000)
				}
			}
		}
	}
	for _, s := range systems {
		for _, st := range s.Latency {
			st.finish()
		}
		for key, want := range ref {
			got, ok := answers[s.Name][key]
			if !ok {
				s.Agreement[key] = Agreement{Example: "no answer"}
				continue
			}
			s.Agreement[key] = compare(want, got, c.tolerance)
		}
	}
	return nil
}

// scrapePhases compares, per target, the timestamp of each system's last
// scrape before at with Prometheus'.
func scrapePhases(ctx context.Context, client *http.Client, systems []*System, at time.Time) {
	last := map[string]map[string]float64{}
	for _, s := range systems {
		r, _, _, err := runQuery(ctx, client, s.Addr, `timestamp(up)`, at, 0, 0)
		if err != nil {
			continue
		}
		m := map[string]float64{}
		for k, pts := range r {
			for _, v := range pts {
				m[k] = v
			}
		}
		last[s.Name] = m
	}
	ref := last["prometheus"]
	for _, s := range systems {
		var d []float64
		for k, v := range last[s.Name] {
			if pv, ok := ref[k]; ok {
				d = append(d, math.Abs(v-pv)*1000)
			}
		}
		if len(d) == 0 {
			continue
		}
		sort.Float64s(d)
		s.ScrapeLag.MedianAbsMs, s.ScrapeLag.MaxAbsMs, s.ScrapeLag.Targets = quantile(d, 0.5), d[len(d)-1], len(d)
	}
}

func writeResults(c config, res *Results) error {
	md := markdown(res)
	fmt.Print(md)
	if c.out == "" {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(c.out), 0o755); err != nil {
		return err
	}
	fixFloats(res)
	b, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(c.out, b, 0o644); err != nil {
		return err
	}
	md2 := strings.TrimSuffix(c.out, filepath.Ext(c.out)) + ".md"
	if err := os.WriteFile(md2, []byte(md), 0o644); err != nil {
		return err
	}
	logf("wrote %s and %s", c.out, md2)
	return nil
}

// fixFloats replaces NaN and ±Inf (a figure that could not be measured),
// which encoding/json refuses, with -1.
func fixFloats(r *Results) {
	fix := func(p *float64) {
		if math.IsNaN(*p) || math.IsInf(*p, 0) {
			*p = -1
		}
	}
	for _, s := range r.Systems {
		f := &s.Figures
		for _, p := range []*float64{&f.SamplesPerSec, &f.CPUSecPerMillionSamples, &f.CPUCoresUsed, &f.ActiveSeries, &f.RSSIdle,
			&f.RSSSteady, &f.RSSPeak, &f.RSSPeakIngest, &f.RSSPerSeriesSteady, &f.RSSPerSeriesPeak, &f.RSSAboveIdlePerSeries,
			&f.DiskBytesPerSample, &f.DiskApparentPerSample, &f.DiskAfterStopPerSample, &f.QueryMedianGeomeanMs, &f.QueryP90GeomeanMs,
			&s.SamplesAtWindowEnd, &s.SamplesAtStop, &f.BlockBytesPerSample, &f.BlockL2BytesPerSample, &f.BlockCommonBytesPerSample,
			&f.BlockChunkBytesPerSample, &f.BlockIndexBytesPerSample} {
			fix(p)
		}
		for _, st := range s.Latency {
			fix(&st.Median)
			fix(&st.P90)
		}
		for k, a := range s.Agreement {
			fix(&a.MaxRelDiff)
			s.Agreement[k] = a
		}
		for _, sn := range append([]*Snapshot{&s.Idle, &s.WindowStart, &s.WindowEnd, &s.Final}, ptrs(s.Timeline)...) {
			fix(&sn.Samples)
			fix(&sn.Series)
		}
	}
	for i := range r.Ratios {
		fix(&r.Ratios[i].Vigil)
		fix(&r.Ratios[i].Other)
		fix(&r.Ratios[i].Ratio)
	}
}

func ptrs(s []Snapshot) []*Snapshot {
	out := make([]*Snapshot, len(s))
	for i := range s {
		out[i] = &s[i]
	}
	return out
}

func machineInfo() map[string]string {
	m := map[string]string{
		"nproc": strconv.Itoa(runtime.NumCPU()),
		"go":    runtime.Version(),
	}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.Lines(string(b)) {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m["cpu"] = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for line := range strings.Lines(string(b)) {
			if strings.HasPrefix(line, "MemTotal:") {
				m["memtotal"] = strings.TrimSpace(strings.TrimPrefix(line, "MemTotal:"))
			}
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m["kernel"] = strings.TrimSpace(string(b))
	}
	if out, err := exec.Command("go", "version").Output(); err == nil {
		m["go"] = strings.TrimSpace(string(out))
	}
	return m
}

func loadavg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	return strings.TrimSpace(string(b))
}

func gitRevision(dir string) string {
	out, err := exec.Command("git", "-C", dir, "rev-parse", "--short=12", "HEAD").Output()
	if err != nil {
		return "unknown"
	}
	rev := strings.TrimSpace(string(out))
	if st, err := exec.Command("git", "-C", dir, "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(bytes.TrimSpace(st)) > 0 {
		rev += "+uncommitted changes"
	}
	return rev
}

func firstLine(bin string, args ...string) string {
	out, _ := exec.Command(bin, args...).CombinedOutput()
	line, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	return line
}

func tail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}
