package main

import (
	"fmt"
	"hash/fnv"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"
)

// bootEpoch is the Unix time the simulated machines were booted around:
// every target's counters count from bootEpoch plus a per-target offset of
// up to 30 days, so values are a pure function of (target, series, wall
// time) and two runs of the generator agree.
const bootEpoch = 1_700_000_000

// valueKind says how a series' value moves with time.
type valueKind uint8

const (
	// kindCounter grows linearly: base + rate*uptime.
	kindCounter valueKind = iota
	// kindConst never changes.
	kindConst
	// kindStep is constant for a period, then jumps to a new
	// pseudo-random level within ±5% of base (memory, free space).
	kindStep
	// kindWave follows a slow sine around base (load, temperatures).
	kindWave
	// kindNow is the wall-clock time in seconds (node_time_seconds).
	kindNow
	// kindBucket is a histogram bucket: floor(rate*cdf*uptime).
	kindBucket
)

// series is one line of the exposition: the bytes up to the value, and how
// to compute the value.
type series struct {
	prefix []byte // `name{labels} `
	kind   valueKind
	base   float64 // counter offset; gauge level
	rate   float64 // counter rate per second; wave amplitude (fraction of base)
	period float64 // step or wave period in seconds
	quant  float64 // values are rounded down to a multiple of quant (0: none)
	seed   uint64  // per-series randomness for kindStep
	dec    int     // decimals printed when 0 < quant < 1
}

// family is a metric family: its HELP and TYPE lines and its series.
type family struct {
	header []byte // "# HELP ...\n# TYPE ...\n"
	series []series
}

// target is one simulated node exporter.
type target struct {
	idx      int
	boot     float64 // Unix seconds
	families []family

	// Churned series: pods whose names change every churnEvery.
	pods       int
	churnEvery time.Duration
	podMu      sync.Mutex
	podGen     int64
	podFams    []family // built for podGen
}

// spec is what the generator is asked for.
type spec struct {
	seriesPerTarget int
	churnFraction   float64       // fraction of each target's series that churns
	churnEvery      time.Duration // how often the churned series are replaced
}

func hash64(parts ...any) uint64 {
	h := fnv.New64a()
	for _, p := range parts {
		fmt.Fprint(h, p, "\x00")
	}
	return h.Sum64()
}

// unit maps a hash to [0,1).
func unit(h uint64) float64 { return float64(h>>11) / (1 << 53) }

// builder accumulates the families of one target.
type builder struct {
	t     *target
	fams  []family
	cur   *family
	count int
}

func (b *builder) family(name, typ, help string) {
	b.fams = append(b.fams, family{header: fmt.Appendf(nil, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, typ)})
	b.cur = &b.fams[len(b.fams)-1]
}

// add appends a series to the current family. labels alternate name,
// value.
func (b *builder) add(name string, s series, labels ...string) {
	s.prefix = appendPrefix(nil, name, labels...)
	if s.seed == 0 {
		s.seed = hash64(b.t.idx, string(s.prefix))
	}
	if s.quant > 0 && s.quant < 1 {
		s.dec = decimals(s.quant)
	}
	b.cur.series = append(b.cur.series, s)
	b.count++
}

func appendPrefix(dst []byte, name string, labels ...string) []byte {
	dst = append(dst, name...)
	if len(labels) > 0 {
		dst = append(dst, '{')
		for i := 0; i+1 < len(labels); i += 2 {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, labels[i]...)
			dst = append(dst, '=')
			dst = strconv.AppendQuote(dst, labels[i+1])
		}
		dst = append(dst, '}')
	}
	return append(dst, ' ')
}

// jitter returns x scaled by a deterministic factor in [1-f, 1+f].
func (b *builder) jitter(x, f float64, key ...any) float64 {
	return x * (1 + f*(2*unit(hash64(append([]any{b.t.idx}, key...)...))-1))
}

var cpuModes = []struct {
	mode string
	rate float64
}{
	{"idle", 0.80}, {"user", 0.10}, {"system", 0.05}, {"iowait", 0.015},
	{"irq", 0.004}, {"softirq", 0.011}, {"nice", 0.005}, {"steal", 0.015},
}

var collectors = []string{
	"arp", "bcache", "bonding", "btrfs", "conntrack", "cpu", "cpufreq", "diskstats",
	"dmi", "edac", "entropy", "fibrechannel", "filefd", "filesystem", "hwmon",
	"infiniband", "ipvs", "loadavg", "mdadm", "meminfo", "netclass", "netdev",
	"netstat", "nfs", "nfsd", "nvme", "os", "powersupplyclass", "pressure", "rapl",
	"schedstat", "selinux", "sockstat", "softnet", "stat", "tapestats",
	"textfile", "thermal_zone", "time", "timex", "udp_queues", "uname",
	"vmstat", "xfs", "zfs",
}

var memGauges = []string{
	"Active", "Active_anon", "Active_file", "AnonHugePages", "AnonPages", "Bounce",
	"Buffers", "Cached", "CommitLimit", "Committed_AS", "DirectMap1G", "DirectMap2M",
	"DirectMap4k", "Dirty", "FileHugePages", "FilePmdMapped", "HardwareCorrupted",
	"Hugepagesize", "Inactive", "Inactive_anon", "Inactive_file", "KReclaimable",
	"KernelStack", "Mapped", "MemAvailable", "MemFree", "MemTotal", "Mlocked",
	"NFS_Unstable", "PageTables", "Percpu", "SReclaimable", "SUnreclaim", "ShmemHugePages",
	"ShmemPmdMapped", "Shmem", "Slab", "SwapCached", "SwapFree", "SwapTotal",
	"Unevictable", "VmallocChunk", "VmallocTotal", "VmallocUsed", "Writeback", "WritebackTmp",
}

var vmstatCounters = []string{
	"oom_kill", "pgfault", "pgmajfault", "pgpgin", "pgpgout", "pswpin", "pswpout",
}

var histBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

// newTarget builds target idx for sp. The series set depends only on
// (idx, sp); with churn, the churned part also depends on the time.
func newTarget(idx int, sp spec) *target {
	t := &target{idx: idx, churnEvery: sp.churnEvery}
	t.boot = bootEpoch + math.Floor(unit(hash64("boot", idx))*30*86400)
	b := &builder{t: t}

	churn := int(math.Round(sp.churnFraction * float64(sp.seriesPerTarget)))
	t.pods = churn / podSeries
	if sp.churnEvery <= 0 {
		t.pods = 0
	}
	want := sp.seriesPerTarget - t.pods*podSeries

	b.fixed()
	rest := want - b.count
	if rest < 0 {
		rest = 0
	}
	units := []struct {
		frac float64
		size int
		n    int
	}{{0.40, 12, 0}, {0.15, 11, 0}, {0.15, 10, 0}, {0.10, 7, 0}, {0.15, len(histBuckets) + 3, 0}}
	used := 0
	for i := range units {
		u := &units[i]
		u.n = max(1, int(math.Round(u.frac*float64(rest)/float64(u.size))))
		used += u.n * u.size
	}
	// Rounding up can overshoot a small budget: take units back from the
	// largest group that has more than one until the rest fits.
	for used > rest {
		best := -1
		for i, u := range units {
			if u.n > 1 && (best < 0 || u.n*u.size > units[best].n*units[best].size) {
				best = i
			}
		}
		if best < 0 {
			break
		}
		units[best].n--
		used -= units[best].size
	}
	cpus, netdevs, disks, mounts, handlers := units[0].n, units[1].n, units[2].n, units[3].n, units[4].n
	b.cpu(cpus)
	b.network(netdevs)
	b.disks(disks)
	b.filesystems(mounts)
	b.histogram(handlers)
	// Pad to the exact count with temperature sensors.
	if pad := want - b.count; pad > 0 {
		b.family("node_hwmon_temp_celsius", "gauge", "Hardware monitor for temperature (input)")
		for i := range pad {
			b.add("node_hwmon_temp_celsius", series{kind: kindWave, base: b.jitter(45, 0.3, "temp", i), rate: 0.1, period: 300 + float64(i%7)*60, quant: 0.125},
				"chip", fmt.Sprintf("platform_coretemp_%d", i/64), "sensor", fmt.Sprintf("temp%d", i%64+1))
		}
	}
	t.families = b.fams
	return t
}

// fixed adds the families every node exporter has regardless of size.
func (b *builder) fixed() {
	memTotal := float64(int64(b.jitter(32<<30, 0.5, "memtotal")) &^ 4095)
	b.family("node_load1", "gauge", "1m load average.")
	b.add("node_load1", series{kind: kindWave, base: b.jitter(2, 0.5, "load1"), rate: 0.4, period: 240, quant: 0.01})
	b.family("node_load5", "gauge", "5m load average.")
	b.add("node_load5", series{kind: kindWave, base: b.jitter(2, 0.5, "load1"), rate: 0.2, period: 600, quant: 0.01})
	b.family("node_load15", "gauge", "15m load average.")
	b.add("node_load15", series{kind: kindWave, base: b.jitter(2, 0.5, "load1"), rate: 0.1, period: 1800, quant: 0.01})
	b.family("node_boot_time_seconds", "gauge", "Node boot time, in unixtime.")
	b.add("node_boot_time_seconds", series{kind: kindConst, base: b.t.boot})
	b.family("node_time_seconds", "gauge", "System time in seconds since epoch (1970).")
	b.add("node_time_seconds", series{kind: kindNow, quant: 0.001})
	for _, c := range []struct {
		name string
		rate float64
	}{{"node_context_switches_total", 9000}, {"node_intr_total", 5000}, {"node_forks_total", 12}} {
		b.family(c.name, "counter", "Total number of "+c.name[5:len(c.name)-6]+".")
		b.add(c.name, series{kind: kindCounter, rate: b.jitter(c.rate, 0.5, c.name), quant: 1})
	}
	b.family("node_procs_running", "gauge", "Number of processes in runnable state.")
	b.add("node_procs_running", series{kind: kindWave, base: 3, rate: 0.6, period: 90, quant: 1})
	b.family("node_procs_blocked", "gauge", "Number of processes blocked waiting for I/O to complete.")
	b.add("node_procs_blocked", series{kind: kindConst})
	b.family("node_entropy_available_bits", "gauge", "Bits of available entropy.")
	b.add("node_entropy_available_bits", series{kind: kindConst, base: 256})
	b.family("node_uname_info", "gauge", "Labeled system information as provided by the uname system call.")
	b.add("node_uname_info", series{kind: kindConst, base: 1}, "domainname", "(none)", "machine", "x86_64",
		"nodename", fmt.Sprintf("node-%04d", b.t.idx), "release", "6.1.0-28-amd64", "sysname", "Linux", "version", "#1 SMP PREEMPT_DYNAMIC Debian 6.1.119-1")
	b.family("node_exporter_build_info", "gauge", "A metric with a constant '1' value labeled by version, revision, branch, goversion from which node_exporter was built, and the goos and goarch for the build.")
	b.add("node_exporter_build_info", series{kind: kindConst, base: 1}, "branch", "HEAD", "goarch", "amd64", "goos", "linux", "goversion", "go1.22.5", "revision", "f1e0e8360aa60b6cb5e5cc1560bed348fc2c1895", "tags", "unknown", "version", "1.8.2")

	b.family("node_scrape_collector_success", "gauge", "node_exporter: Whether a collector succeeded.")
	for _, c := range collectors {
		b.add("node_scrape_collector_success", series{kind: kindConst, base: 1}, "collector", c)
	}
	b.family("node_scrape_collector_duration_seconds", "gauge", "node_exporter: Duration of a collector scrape.")
	for _, c := range collectors {
		b.add("node_scrape_collector_duration_seconds", series{kind: kindWave, base: b.jitter(0.002, 0.8, "dur", c), rate: 0.3, period: 37, quant: 1e-6}, "collector", c)
	}

	for _, m := range memGauges {
		name := "node_memory_" + m + "_bytes"
		b.family(name, "gauge", "Memory information field "+m+"_bytes.")
		s := series{kind: kindConst, base: float64(int64(b.jitter(memTotal/8, 0.9, m)) &^ 4095)}
		switch m {
		case "MemTotal", "SwapTotal", "CommitLimit", "VmallocTotal":
			s.base = memTotal
		case "MemAvailable", "Cached", "Active", "Inactive", "Committed_AS", "Active_file", "Inactive_file":
			s.kind, s.period, s.quant = kindStep, 60+float64(hash64(b.t.idx, m)%5)*60, 4096
		case "MemFree", "Dirty", "AnonPages", "Active_anon":
			s.kind, s.rate, s.period, s.quant = kindWave, 0.05, 600, 4096
		}
		b.add(name, s)
	}
	for _, v := range vmstatCounters {
		name := "node_vmstat_" + v
		b.family(name, "untyped", "/proc/vmstat information field "+v+".")
		b.add(name, series{kind: kindCounter, rate: b.jitter(40, 0.9, v), quant: 1})
	}

	// The exporter's own Go runtime and process metrics.
	goGauges := []string{"go_goroutines", "go_threads", "go_memstats_alloc_bytes", "go_memstats_heap_alloc_bytes",
		"go_memstats_heap_idle_bytes", "go_memstats_heap_inuse_bytes", "go_memstats_heap_objects",
		"go_memstats_heap_released_bytes", "go_memstats_heap_sys_bytes", "go_memstats_last_gc_time_seconds",
		"go_memstats_mcache_inuse_bytes", "go_memstats_mspan_inuse_bytes", "go_memstats_next_gc_bytes",
		"go_memstats_stack_inuse_bytes", "go_memstats_sys_bytes", "process_resident_memory_bytes",
		"process_virtual_memory_bytes", "process_open_fds", "process_max_fds", "process_start_time_seconds"}
	for _, g := range goGauges {
		b.family(g, "gauge", "Runtime metric "+g+".")
		s := series{kind: kindStep, base: b.jitter(1<<23, 0.9, g), period: 30, quant: 1}
		switch g {
		case "process_start_time_seconds":
			s = series{kind: kindConst, base: b.t.boot + 30}
		case "process_max_fds":
			s = series{kind: kindConst, base: 1048576}
		case "go_goroutines", "go_threads", "process_open_fds":
			s = series{kind: kindStep, base: b.jitter(10, 0.3, g), period: 30, quant: 1}
		}
		b.add(g, s)
	}
	for _, c := range []string{"go_memstats_alloc_bytes_total", "go_memstats_mallocs_total", "go_memstats_frees_total", "process_cpu_seconds_total"} {
		b.family(c, "counter", "Runtime counter "+c+".")
		q := 1.0
		r := b.jitter(3e5, 0.5, c)
		if c == "process_cpu_seconds_total" {
			q, r = 0.01, b.jitter(0.01, 0.5, c)
		}
		b.add(c, series{kind: kindCounter, rate: r, quant: q})
	}
	b.family("go_gc_duration_seconds", "summary", "A summary of the pause duration of garbage collection cycles.")
	for _, q := range []string{"0", "0.25", "0.5", "0.75", "1"} {
		b.add("go_gc_duration_seconds", series{kind: kindStep, base: b.jitter(5e-5, 0.5, "gc", q), period: 60, quant: 1e-7}, "quantile", q)
	}
	b.add("go_gc_duration_seconds_sum", series{kind: kindCounter, rate: 1e-4, quant: 1e-6})
	b.add("go_gc_duration_seconds_count", series{kind: kindCounter, rate: 0.5, quant: 1})
}

func (b *builder) cpu(n int) {
	b.family("node_cpu_seconds_total", "counter", "Seconds the CPUs spent in each mode.")
	for c := range n {
		for _, m := range cpuModes {
			b.add("node_cpu_seconds_total", series{kind: kindCounter, rate: b.jitter(m.rate, 0.3, "cpu", c, m.mode), quant: 0.01},
				"cpu", strconv.Itoa(c), "mode", m.mode)
		}
	}
	b.family("node_cpu_guest_seconds_total", "counter", "Seconds the CPUs spent in guests (VMs) for each mode.")
	for c := range n {
		for _, m := range []string{"nice", "user"} {
			b.add("node_cpu_guest_seconds_total", series{kind: kindConst}, "cpu", strconv.Itoa(c), "mode", m)
		}
	}
	b.family("node_cpu_scaling_frequency_hertz", "gauge", "Current scaled CPU thread frequency in hertz.")
	for c := range n {
		b.add("node_cpu_scaling_frequency_hertz", series{kind: kindStep, base: 2.6e9, period: 45, quant: 1e6}, "cpu", strconv.Itoa(c))
	}
	b.family("node_cpu_core_throttles_total", "counter", "Number of times this CPU core has been throttled.")
	for c := range n {
		b.add("node_cpu_core_throttles_total", series{kind: kindConst}, "core", strconv.Itoa(c), "package", "0")
	}
}

func (b *builder) network(n int) {
	dev := func(i int) string {
		if i == 0 {
			return "lo"
		}
		return fmt.Sprintf("eth%d", i-1)
	}
	for _, c := range []struct {
		name string
		rate float64
	}{
		{"node_network_receive_bytes_total", 2e5}, {"node_network_transmit_bytes_total", 1e5},
		{"node_network_receive_packets_total", 300}, {"node_network_transmit_packets_total", 200},
		{"node_network_receive_errs_total", 0}, {"node_network_transmit_errs_total", 0},
		{"node_network_receive_drop_total", 0.01}, {"node_network_transmit_drop_total", 0},
	} {
		b.family(c.name, "counter", "Network device statistic "+c.name[13:]+".")
		for i := range n {
			s := series{kind: kindCounter, rate: b.jitter(c.rate, 0.8, c.name, i), quant: 1}
			if c.rate == 0 {
				s = series{kind: kindConst}
			}
			b.add(c.name, s, "device", dev(i))
		}
	}
	for _, g := range []struct {
		name string
		v    float64
	}{{"node_network_up", 1}, {"node_network_mtu_bytes", 1500}, {"node_network_speed_bytes", 1.25e9}} {
		b.family(g.name, "gauge", "Network device property "+g.name[13:]+".")
		for i := range n {
			b.add(g.name, series{kind: kindConst, base: g.v}, "device", dev(i))
		}
	}
}

func (b *builder) disks(n int) {
	dev := func(i int) string { return fmt.Sprintf("nvme%dn1", i) }
	for _, c := range []struct {
		name string
		rate float64
		q    float64
	}{
		{"node_disk_reads_completed_total", 50, 1}, {"node_disk_writes_completed_total", 80, 1},
		{"node_disk_read_bytes_total", 2e6, 512}, {"node_disk_written_bytes_total", 3e6, 512},
		{"node_disk_io_time_seconds_total", 0.05, 0.001}, {"node_disk_read_time_seconds_total", 0.02, 0.001},
		{"node_disk_write_time_seconds_total", 0.04, 0.001}, {"node_disk_reads_merged_total", 5, 1},
		{"node_disk_discards_completed_total", 0, 1},
	} {
		b.family(c.name, "counter", "Disk statistic "+c.name[10:]+".")
		for i := range n {
			s := series{kind: kindCounter, rate: b.jitter(c.rate, 0.8, c.name, i), quant: c.q}
			if c.rate == 0 {
				s = series{kind: kindConst}
			}
			b.add(c.name, s, "device", dev(i))
		}
	}
	b.family("node_disk_io_now", "gauge", "The number of I/Os currently in progress.")
	for i := range n {
		b.add("node_disk_io_now", series{kind: kindWave, base: 1, rate: 1, period: 20, quant: 1}, "device", dev(i))
	}
}

func (b *builder) filesystems(n int) {
	mount := func(i int) (string, string, string) {
		if i == 0 {
			return "/dev/nvme0n1p1", "ext4", "/"
		}
		return fmt.Sprintf("/dev/mapper/vg-data%d", i), "xfs", fmt.Sprintf("/srv/data%d", i)
	}
	sizes := make([]float64, n)
	for i := range n {
		sizes[i] = float64(int64(b.jitter(500<<30, 0.9, "fs", i)) &^ 4095)
	}
	for _, f := range []string{"size_bytes", "avail_bytes", "free_bytes", "files", "files_free", "readonly", "device_error"} {
		name := "node_filesystem_" + f
		b.family(name, "gauge", "Filesystem "+f+".")
		for i := range n {
			s := series{kind: kindConst}
			switch f {
			case "size_bytes":
				s.base = sizes[i]
			case "avail_bytes", "free_bytes":
				s = series{kind: kindStep, base: sizes[i] * 0.4, period: 120, quant: 4096}
			case "files":
				s.base = math.Floor(sizes[i] / 16384)
			case "files_free":
				s = series{kind: kindStep, base: math.Floor(sizes[i] / 20000), period: 300, quant: 1}
			}
			d, fs, mp := mount(i)
			b.add(name, s, "device", d, "fstype", fs, "mountpoint", mp)
		}
	}
}

// histogram adds one classic histogram with n handlers: each has a request
// rate and a fixed latency distribution, so every bucket is a linear
// counter and histogram_quantile over a rate is stable.
func (b *builder) histogram(n int) {
	const name = "http_request_duration_seconds"
	b.family(name, "histogram", "Latency of HTTP requests served by the exporter's sidecar.")
	for h := range n {
		handler := fmt.Sprintf("/api/v1/resource%d", h)
		reqRate := b.jitter(20, 0.9, "req", h)
		median := b.jitter(0.08, 0.7, "median", h)
		for _, le := range histBuckets {
			// A log-logistic CDF around the handler's median latency.
			cdf := 1 / (1 + math.Pow(median/le, 2.5))
			b.add(name+"_bucket", series{kind: kindBucket, rate: reqRate * cdf, quant: 1},
				"handler", handler, "method", "GET", "le", formatLe(le))
		}
		b.add(name+"_bucket", series{kind: kindBucket, rate: reqRate, quant: 1}, "handler", handler, "method", "GET", "le", "+Inf")
		b.add(name+"_sum", series{kind: kindCounter, rate: reqRate * median * 1.3, quant: 0.001}, "handler", handler, "method", "GET")
		b.add(name+"_count", series{kind: kindBucket, rate: reqRate, quant: 1}, "handler", handler, "method", "GET")
	}
}

// formatLe prints a bucket bound as Prometheus 3 and OpenMetrics
// normalise it ("1.0", not "1"), so that every system under test stores
// the same label value whether or not its parser normalises.
func formatLe(le float64) string {
	s := strconv.FormatFloat(le, 'g', -1, 64)
	if !strings.ContainsAny(s, ".eE") {
		s += ".0"
	}
	return s
}

// podSeries is the number of series per churned pod.
const podSeries = 5

// podFamilies builds the churned families for generation gen.
func (t *target) podFamilies(gen int64) []family {
	b := &builder{t: t}
	genStart := float64(gen) * t.churnEvery.Seconds()
	names := []struct{ name, typ string }{
		{"container_cpu_usage_seconds_total", "counter"},
		{"container_memory_working_set_bytes", "gauge"},
		{"container_network_receive_bytes_total", "counter"},
		{"container_network_transmit_bytes_total", "counter"},
		{"container_fs_usage_bytes", "gauge"},
	}
	for _, n := range names {
		b.family(n.name, n.typ, "Container metric "+n.name+".")
		for p := range t.pods {
			pod := fmt.Sprintf("app-%08x-%d", uint32(hash64("pod", t.idx, gen, p)), p)
			var s series
			switch n.name {
			case "container_cpu_usage_seconds_total":
				s = series{kind: kindCounter, rate: b.jitter(0.2, 0.9, n.name, p), quant: 0.001}
			case "container_network_receive_bytes_total", "container_network_transmit_bytes_total":
				s = series{kind: kindCounter, rate: b.jitter(5e4, 0.9, n.name, p), quant: 1}
			case "container_memory_working_set_bytes":
				s = series{kind: kindStep, base: b.jitter(2e8, 0.9, n.name, p), period: 60, quant: 4096}
			default:
				s = series{kind: kindStep, base: b.jitter(1e9, 0.9, n.name, p), period: 300, quant: 4096}
			}
			if s.kind == kindCounter {
				// A new pod's counters start at zero at the generation start.
				s.base = -s.rate * (genStart - t.boot)
			}
			b.add(n.name, s, "namespace", "default", "pod", pod, "container", "app")
		}
	}
	return b.fams
}

func (t *target) podsAt(now time.Time) []family {
	if t.pods == 0 {
		return nil
	}
	gen := now.Unix() / int64(t.churnEvery.Seconds())
	t.podMu.Lock()
	defer t.podMu.Unlock()
	if t.podFams == nil || gen != t.podGen {
		t.podFams, t.podGen = t.podFamilies(gen), gen
	}
	return t.podFams
}

// seriesCount is the number of series the target exposes at any time.
func (t *target) seriesCount() int {
	n := t.pods * podSeries
	for _, f := range t.families {
		n += len(f.series)
	}
	return n
}

// render appends the exposition at wall time now to dst.
func (t *target) render(dst []byte, now time.Time) []byte {
	unixSec := float64(now.UnixNano()) / 1e9
	uptime := max(0, unixSec-t.boot)
	for _, fams := range [][]family{t.families, t.podsAt(now)} {
		for i := range fams {
			f := &fams[i]
			dst = append(dst, f.header...)
			for j := range f.series {
				s := &f.series[j]
				dst = append(dst, s.prefix...)
				dst = s.appendValue(dst, s.value(unixSec, uptime))
				dst = append(dst, '\n')
			}
		}
	}
	return dst
}

func (s *series) value(unixSec, uptime float64) float64 {
	var v float64
	switch s.kind {
	case kindCounter, kindBucket:
		v = s.base + s.rate*uptime
		if v < 0 {
			v = 0
		}
	case kindConst:
		return s.base
	case kindStep:
		step := uint64(unixSec / s.period)
		h := s.seed ^ (step * 0x9e3779b97f4a7c15)
		h ^= h >> 31
		h *= 0xbf58476d1ce4e5b9
		h ^= h >> 29
		v = s.base * (1 + 0.05*(2*unit(h)-1))
	case kindWave:
		phase := float64(s.seed%1000) / 1000 * 2 * math.Pi
		v = s.base * (1 + s.rate*math.Sin(2*math.Pi*unixSec/s.period+phase))
		if v < 0 {
			v = 0
		}
	case kindNow:
		v = unixSec
	}
	if s.quant > 0 {
		v = math.Floor(v/s.quant) * s.quant
	}
	return v
}

func decimals(q float64) int {
	d := 0
	for q < 1 && d < 12 {
		q *= 10
		d++
	}
	return d
}

// appendValue prints v: integers as such, values rounded to a decimal
// quantum with that many decimals, anything else in the shortest form.
func (s *series) appendValue(dst []byte, v float64) []byte {
	if s.dec > 0 {
		return strconv.AppendFloat(dst, v, 'f', s.dec, 64)
	}
	if v == math.Trunc(v) && math.Abs(v) < 1e15 {
		return strconv.AppendInt(dst, int64(v), 10)
	}
	return strconv.AppendFloat(dst, v, 'g', -1, 64)
}
