package bench

import (
	"math"
	"regexp"
	"strconv"
)

// The TSDB benchmarks' input: node-exporter-like series with ten labels
// each, and a random-float set with the same series. Every value and
// timestamp is a pure function of (series, step), so both storage engines
// receive exactly the same samples, in the same order, from the same code.

const (
	// tsdbSeriesPerTarget is the number of series one simulated node
	// exporter target exposes; one "scrape" appends all of them through one
	// appender.
	tsdbSeriesPerTarget = 1000
	// tsdbInterval is the scrape interval.
	tsdbInterval = 15_000 // ms
	// tsdbStepsPerBlock is two hours of scrapes: one level-1 block.
	tsdbStepsPerBlock = 480
	// tsdbBlockRange is the level-1 block range in milliseconds.
	tsdbBlockRange = 2 * 3600 * 1000
	// tsdbT0 is the first scrape's time: 2026-01-01T00:00:00Z, aligned to
	// the two-hour block range.
	tsdbT0 = 1_767_225_600_000
)

// tsdbKind says how a series' value moves from scrape to scrape.
type tsdbKind uint8

const (
	tsdbConst   tsdbKind = iota // never changes (sizes, info metrics, counters that stay 0)
	tsdbCounter                 // grows by rate per scrape, ±rate of jitter, quantized
	tsdbStep                    // gauge holding a quantized value for hold scrapes, then jumping
	tsdbSine                    // smooth quantized gauge (temperatures)
	tsdbNoise                   // full-precision float around base, new every hold scrapes (durations)
	tsdbHist                    // classic histogram series: a bucket, _count or _sum
)

// tsdbSeriesSpec is one of a target's 1,000 series.
type tsdbSeriesSpec struct {
	name     string
	l1n, l1v string
	l2n, l2v string
	kind     tsdbKind
	// base is the starting value (or the centre, for gauges); rate is the
	// increase per scrape for counters and the amplitude for gauges. Both
	// are scaled per target by a factor in [0.5, 1.5).
	base, rate float64
	// inv is 1/quantum: values are floor(x*inv)/inv, as an exporter that
	// prints integers (inv 1), hundredths (100) or 4 KiB pages (1/4096)
	// gives. 0 keeps full precision.
	inv float64
	// hold is how many scrapes a tsdbStep or tsdbNoise value lasts, and a
	// tsdbSine's period.
	hold int
	// group names the series whose target scale and jitter a histogram
	// series shares (the histogram's _count); it is the series' own index
	// otherwise.
	group int
	// frac is a bucket's cumulative share of the count (1 for _count);
	// sum is the mean observation for the _sum series, 0 otherwise.
	frac, sum float64
}

// tsdbSpecs are the 1,000 series of one target.
var tsdbSpecs = tsdbBuildSpecs()

func tsdbBuildSpecs() []tsdbSeriesSpec {
	var out []tsdbSeriesSpec
	add := func(s tsdbSeriesSpec) {
		s.group = len(out)
		out = append(out, s)
	}
	itoa := strconv.Itoa

	// node_cpu_seconds_total{cpu,mode}: 64 counters in hundredths.
	type rate struct {
		name string
		base float64
		rate float64
	}
	for cpu := range 8 {
		for _, m := range []rate{{"idle", 1e6, 12}, {"user", 1.2e5, 1.5}, {"system", 6e4, 0.7}, {"iowait", 9e3, 0.1},
			{"irq", 500, 0.02}, {"softirq", 2e3, 0.08}, {"steal", 40, 0.003}, {"nice", 12.34, 0}} {
			k := tsdbCounter
			if m.rate == 0 {
				k = tsdbConst
			}
			add(tsdbSeriesSpec{name: "node_cpu_seconds_total", l1n: "cpu", l1v: itoa(cpu), l2n: "mode", l2v: m.name,
				kind: k, base: m.base, rate: m.rate, inv: 100})
		}
	}
	// node_cpu_guest_seconds_total: 16 series that stay 0.
	for cpu := range 8 {
		for _, m := range []string{"nice", "user"} {
			add(tsdbSeriesSpec{name: "node_cpu_guest_seconds_total", l1n: "cpu", l1v: itoa(cpu), l2n: "mode", l2v: m, kind: tsdbConst})
		}
	}
	// node_network_*_total{device}: 16 metrics x 8 devices, integer counters,
	// most of the error counters constant.
	netDevs := []string{"eth0", "eth1", "eth2", "eth3", "lo", "docker0", "veth1a2b3c4", "veth5d6e7f8"}
	netMetrics := []rate{{"receive_bytes", 8e11, 3e5}, {"transmit_bytes", 5e11, 2e5}, {"receive_packets", 9e8, 400},
		{"transmit_packets", 7e8, 300}, {"receive_errs", 3, 0.01}, {"transmit_errs", 0, 0}, {"receive_drop", 1200, 0.05},
		{"transmit_drop", 0, 0}, {"receive_fifo", 0, 0}, {"transmit_fifo", 0, 0}, {"receive_frame", 0, 0},
		{"transmit_colls", 0, 0}, {"receive_compressed", 0, 0}, {"transmit_compressed", 0, 0},
		{"receive_multicast", 4e5, 2}, {"transmit_carrier", 0, 0}}
	for _, dev := range netDevs {
		for _, m := range netMetrics {
			k := tsdbCounter
			if m.rate == 0 {
				k = tsdbConst
			}
			add(tsdbSeriesSpec{name: "node_network_" + m.name + "_total", l1n: "device", l1v: dev, l2n: "collector", l2v: "netdev",
				kind: k, base: m.base, rate: m.rate, inv: 1})
		}
	}
	// node_filesystem_*{mountpoint,fstype}: 7 x 10; sizes constant, free
	// space moving in 4 KiB steps.
	mounts := [][2]string{{"/", "ext4"}, {"/boot", "vfat"}, {"/var", "xfs"}, {"/home", "ext4"}, {"/var/lib/docker", "overlay"},
		{"/run", "tmpfs"}, {"/dev/shm", "tmpfs"}, {"/tmp", "tmpfs"}, {"/data", "xfs"}, {"/var/log", "ext4"}}
	for mi, mp := range mounts {
		size := 5e10 * float64(1+mi%4)
		fs := func(name string, k tsdbKind, base, rate, inv float64, hold int) {
			add(tsdbSeriesSpec{name: "node_filesystem_" + name, l1n: "mountpoint", l1v: mp[0], l2n: "fstype", l2v: mp[1],
				kind: k, base: base, rate: rate, inv: inv, hold: hold})
		}
		fs("size_bytes", tsdbConst, size, 0, 1.0/4096, 0)
		fs("free_bytes", tsdbStep, size*0.4, 2e7, 1.0/4096, 1+mi%4)
		fs("avail_bytes", tsdbStep, size*0.35, 2e7, 1.0/4096, 1+mi%4)
		fs("files", tsdbConst, 3.2e6, 0, 1, 0)
		fs("files_free", tsdbStep, 2.9e6, 300, 1, 4+mi%8)
		fs("readonly", tsdbConst, 0, 0, 1, 0)
		fs("device_error", tsdbConst, 0, 0, 1, 0)
	}
	// node_disk_*{device}: 12 x 6.
	diskMetrics := []struct {
		name       string
		base, rate float64
		inv        float64
		kind       tsdbKind
	}{{"reads_completed_total", 4e6, 20, 1, tsdbCounter}, {"writes_completed_total", 9e6, 60, 1, tsdbCounter},
		{"read_bytes_total", 2e11, 4e5, 1.0 / 512, tsdbCounter}, {"written_bytes_total", 6e11, 1.2e6, 1.0 / 512, tsdbCounter},
		{"io_time_seconds_total", 8e4, 0.9, 1000, tsdbCounter}, {"read_time_seconds_total", 3e3, 0.05, 1000, tsdbCounter},
		{"write_time_seconds_total", 4e4, 0.4, 1000, tsdbCounter}, {"io_time_weighted_seconds_total", 9e4, 1.1, 1000, tsdbCounter},
		{"reads_merged_total", 2e5, 2, 1, tsdbCounter}, {"writes_merged_total", 5e6, 30, 1, tsdbCounter},
		{"io_now", 0, 3, 1, tsdbStep}, {"discards_completed_total", 0, 0, 1, tsdbConst}}
	for _, dev := range []string{"sda", "sdb", "nvme0n1", "nvme1n1", "dm-0", "dm-1"} {
		for _, m := range diskMetrics {
			add(tsdbSeriesSpec{name: "node_disk_" + m.name, l1n: "device", l1v: dev, l2n: "collector", l2v: "diskstats",
				kind: m.kind, base: m.base, rate: m.rate, inv: m.inv, hold: 1})
		}
	}
	// node_memory_*_bytes: 20 constant, 30 moving in 4 KiB steps.
	for k := range 50 {
		s := tsdbSeriesSpec{name: "node_memory_M" + itoa(k) + "_bytes", l1n: "collector", l1v: "meminfo", l2n: "numa", l2v: "0",
			inv: 1.0 / 4096}
		if k < 20 {
			s.kind, s.base = tsdbConst, 1.6e10/float64(k+1)
		} else {
			s.kind, s.base, s.rate, s.hold = tsdbStep, 4e9/float64(k-19), 5e7/float64(k-19), 1+k%3
		}
		add(s)
	}
	// node_vmstat_*: 25 counters, 15 constant.
	for k := range 40 {
		s := tsdbSeriesSpec{name: "node_vmstat_v" + itoa(k), l1n: "collector", l1v: "vmstat", l2n: "source", l2v: "/proc/vmstat",
			kind: tsdbConst, base: float64(k * 1000), inv: 1}
		if k < 25 {
			s.kind, s.base, s.rate = tsdbCounter, 1e7*float64(k+1), math.Pow(1.4, float64(k))
		}
		add(s)
	}
	// node_netstat_*{protocol}: 35 counters, 25 constant.
	protos := []string{"Ip", "Tcp", "Udp", "Icmp", "TcpExt", "Udp6", "Ip6"}
	for k := range 60 {
		s := tsdbSeriesSpec{name: "node_netstat_n" + itoa(k), l1n: "collector", l1v: "netstat", l2n: "protocol", l2v: protos[k%len(protos)],
			kind: tsdbConst, base: float64(k * 7), inv: 1}
		if k < 35 {
			s.kind, s.base, s.rate = tsdbCounter, 1e6*float64(k+1), math.Pow(1.3, float64(k%20))/4
		}
		add(s)
	}
	// http_request_duration_seconds{handler}: 20 classic histograms, 12
	// buckets + _sum + _count each.
	les := []string{"0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "+Inf"}
	cum := []float64{0.05, 0.2, 0.45, 0.7, 0.85, 0.93, 0.97, 0.99, 0.995, 0.998, 0.999, 1}
	for h := range 20 {
		handler := "/api/v1/h" + itoa(h)
		rate := 0.2 * math.Pow(1.45, float64(h)) // 0.2 to ~230 requests per scrape
		group := len(out) + len(les) + 1         // the _count series
		for b, le := range les {
			out = append(out, tsdbSeriesSpec{name: "http_request_duration_seconds_bucket", l1n: "handler", l1v: handler, l2n: "le", l2v: le,
				kind: tsdbHist, base: 1e4 * rate, rate: rate, group: group, frac: cum[b]})
		}
		out = append(out, tsdbSeriesSpec{name: "http_request_duration_seconds_sum", l1n: "handler", l1v: handler, l2n: "method", l2v: "GET",
			kind: tsdbHist, base: 1e4 * rate, rate: rate, group: group, sum: 0.083})
		out = append(out, tsdbSeriesSpec{name: "http_request_duration_seconds_count", l1n: "handler", l1v: handler, l2n: "method", l2v: "GET",
			kind: tsdbHist, base: 1e4 * rate, rate: rate, group: group, frac: 1})
	}
	// The exporter's own go_* and process_* series: 50.
	goSpec := func(name string, k tsdbKind, base, rate, inv float64, hold int) {
		add(tsdbSeriesSpec{name: name, l1n: "collector", l1v: "go", l2n: "exporter", l2v: "node_exporter",
			kind: k, base: base, rate: rate, inv: inv, hold: hold})
	}
	for _, q := range []string{"0", "0.25", "0.5", "0.75", "1"} {
		add(tsdbSeriesSpec{name: "go_gc_duration_seconds", l1n: "collector", l1v: "go", l2n: "quantile", l2v: q,
			kind: tsdbNoise, base: 4e-5, hold: 2})
	}
	goSpec("go_gc_duration_seconds_sum", tsdbCounter, 12.5, 3e-4, 0, 0)
	goSpec("go_gc_duration_seconds_count", tsdbCounter, 2e5, 0.5, 1, 0)
	goSpec("go_goroutines", tsdbStep, 8, 4, 1, 1)
	goSpec("go_threads", tsdbConst, 9, 0, 1, 0)
	goSpec("go_info", tsdbConst, 1, 0, 0, 0)
	goSpec("process_cpu_seconds_total", tsdbCounter, 4e4, 0.3, 100, 0)
	goSpec("process_resident_memory_bytes", tsdbStep, 2.5e7, 4e6, 1.0/4096, 1)
	goSpec("process_virtual_memory_bytes", tsdbStep, 1.3e9, 2e7, 1.0/4096, 20)
	goSpec("process_open_fds", tsdbStep, 10, 3, 1, 5)
	goSpec("process_max_fds", tsdbConst, 1048576, 0, 1, 0)
	goSpec("process_start_time_seconds", tsdbConst, 1.76e9, 0, 100, 0)
	goSpec("process_network_receive_bytes_total", tsdbCounter, 3e9, 9e3, 1, 0)
	goSpec("process_network_transmit_bytes_total", tsdbCounter, 9e10, 3e5, 1, 0)
	for _, m := range []string{"alloc_bytes_total", "mallocs_total", "frees_total", "lookups_total"} {
		r := map[string]float64{"alloc_bytes_total": 2e6, "mallocs_total": 2e4, "frees_total": 2e4}[m]
		k := tsdbCounter
		if r == 0 {
			k = tsdbConst
		}
		goSpec("go_memstats_"+m, k, 1e12*r/2e6, r, 1, 0)
	}
	for len(out) < tsdbSeriesPerTarget-80-80-10 {
		k := len(out)
		goSpec("go_memstats_g"+itoa(k)+"_bytes", tsdbStep, 3e6*float64(1+k%5), 5e5, 1, 1+k%4)
	}
	// node_scrape_collector_{duration_seconds,success}{collector}: 40
	// full-precision durations and 40 constant 1s.
	for c := range 40 {
		add(tsdbSeriesSpec{name: "node_scrape_collector_duration_seconds", l1n: "collector", l1v: "c" + itoa(c), l2n: "exporter", l2v: "node_exporter",
			kind: tsdbNoise, base: 1e-3 * float64(1+c%7), hold: 1})
	}
	for c := range 40 {
		add(tsdbSeriesSpec{name: "node_scrape_collector_success", l1n: "collector", l1v: "c" + itoa(c), l2n: "exporter", l2v: "node_exporter",
			kind: tsdbConst, base: 1})
	}
	// node_interrupts_total{cpu,devices}: 80 integer counters, a third constant.
	for cpu := range 8 {
		for d := range 10 {
			s := tsdbSeriesSpec{name: "node_interrupts_total", l1n: "cpu", l1v: itoa(cpu), l2n: "devices", l2v: "irq" + itoa(d),
				kind: tsdbCounter, base: 1e6 * float64(d+1), rate: math.Pow(2.2, float64(d%7)), inv: 1}
			if d%3 == 2 {
				s.kind = tsdbConst
			}
			add(s)
		}
	}
	// node_hwmon_temp_celsius{chip,sensor}: 10 smooth gauges in whole degrees.
	for k := range 10 {
		add(tsdbSeriesSpec{name: "node_hwmon_temp_celsius", l1n: "chip", l1v: "platform_coretemp_" + itoa(k/5), l2n: "sensor", l2v: "temp" + itoa(k%5),
			kind: tsdbSine, base: 45, rate: 3, inv: 1, hold: 240})
	}
	if len(out) != tsdbSeriesPerTarget {
		panic("tsdbBuildSpecs: " + strconv.Itoa(len(out)) + " series per target, want 1000")
	}
	return out
}

// tsdbDataset is a set of targets' series and the values they take.
type tsdbDataset struct {
	name    string // "nodeexp" or "random"
	targets int
	random  bool // values are uniform random floats in [0, 1)
}

func tsdbDatasetNamed(name string, targets int) *tsdbDataset {
	switch name {
	case "nodeexp":
		return &tsdbDataset{name: name, targets: targets}
	case "random":
		return &tsdbDataset{name: name, targets: targets, random: true}
	}
	panic("unknown TSDB data set " + name)
}

func (d *tsdbDataset) series() int { return d.targets * tsdbSeriesPerTarget }

// labels calls add for each of series i's ten labels, in no particular
// order: __name__, seven target labels and two of its own.
func (d *tsdbDataset) labels(i int, add func(name, value string)) {
	t, sp := i/tsdbSeriesPerTarget, &tsdbSpecs[i%tsdbSeriesPerTarget]
	itoa := strconv.Itoa
	add("__name__", sp.name)
	add("instance", "10."+itoa(t>>16&255)+"."+itoa(t>>8&255)+"."+itoa(t&255)+":9100")
	add("job", "node")
	add("cluster", "k8s-"+itoa(t%8))
	add("datacenter", []string{"fra1", "ams3", "lon2"}[t%3])
	env := "production"
	if t%10 == 9 {
		env = "staging"
	}
	add("env", env)
	add("region", "eu-west-1")
	add("team", []string{"platform", "payments", "search", "storage", "edge"}[t%5])
	add(sp.l1n, sp.l1v)
	add(sp.l2n, sp.l2v)
}

// timestamp returns the time of a target's scrape step: the targets are
// spread over the interval, and one scrape in 100 is late or early by up
// to 25 ms (beyond Prometheus' 2 ms timestamp alignment). Each target's
// step s lies in the two-hour range s/480 of tsdbT0.
func (d *tsdbDataset) timestamp(target, step int) int64 {
	off := 100 + int64(tsdbMix(uint64(target)|1<<40)%13_900)
	t := tsdbT0 + int64(step)*tsdbInterval + off
	if h := tsdbMix(uint64(target)<<32 | uint64(step) | 1<<62); h%100 == 0 {
		t += int64(h>>8%51) - 25
	}
	return t
}

// fill writes the values of series [lo, lo+len(vals)) at step into vals.
func (d *tsdbDataset) fill(step, lo int, vals []float64) {
	for k := range vals {
		vals[k] = d.value(lo+k, step)
	}
}

// value is series i's value at step.
func (d *tsdbDataset) value(i, step int) float64 {
	if d.random {
		return tsdbFrac(tsdbMix(uint64(i)<<24 ^ uint64(step) ^ 0x5eed<<48))
	}
	t, sp := i/tsdbSeriesPerTarget, &tsdbSpecs[i%tsdbSeriesPerTarget]
	// scale spreads the targets: the same series differs between hosts.
	scale := 0.5 + tsdbFrac(tsdbMix(uint64(t)<<16|uint64(sp.group)))
	g := uint64(t*tsdbSeriesPerTarget + sp.group)
	s := float64(step)
	switch sp.kind {
	case tsdbConst:
		if sp.base <= 1 {
			return sp.base
		}
		return tsdbQuant(sp.base*scale, sp.inv)
	case tsdbCounter:
		// base + rate*(step+u), u in [0,1): never decreases, and the
		// increase per scrape varies between 0 and 2*rate.
		u := tsdbFrac(tsdbMix(g<<24 ^ uint64(step)))
		return tsdbQuant(scale*(sp.base+sp.rate*(s+u)), sp.inv)
	case tsdbStep:
		u := tsdbFrac(tsdbMix(g<<24 ^ uint64(step/sp.hold) ^ 1<<60))
		return tsdbQuant(scale*(sp.base+sp.rate*u), sp.inv)
	case tsdbSine:
		ph := float64(g % 97)
		return tsdbQuant(sp.base+scale*sp.rate*math.Sin(2*math.Pi*(s+ph)/float64(sp.hold)), sp.inv)
	case tsdbNoise:
		u := tsdbFrac(tsdbMix(g<<24 ^ uint64(step/sp.hold) ^ 1<<61))
		return sp.base * scale * (0.5 + u)
	case tsdbHist:
		// All series of one histogram share scale and jitter, so buckets
		// stay cumulative and every series grows with the count.
		u := tsdbFrac(tsdbMix(g<<24 ^ uint64(step)))
		x := scale * (sp.base + sp.rate*(s+u))
		if sp.sum != 0 {
			return x * sp.sum
		}
		return math.Floor(x * sp.frac)
	}
	panic("unknown kind")
}

// tsdbQuant rounds x down to a multiple of 1/inv. Dividing by inv (not
// multiplying by the quantum) gives the double nearest to the decimal an
// exporter would print, e.g. 12.34 and not 12.340000000000002.
func tsdbQuant(x, inv float64) float64 {
	if inv == 0 {
		return x
	}
	return math.Floor(x*inv) / inv
}

// tsdbMix is SplitMix64's finaliser.
func tsdbMix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}

// tsdbFrac maps h to [0, 1) with 53 random bits.
func tsdbFrac(h uint64) float64 { return float64(h>>11) / (1 << 53) }

// tsdbMatcher is one label matcher, written once for both engines.
type tsdbMatcher struct {
	regexp      bool
	name, value string
}

// tsdbQuery is a selector of the select-and-iterate benchmark.
type tsdbQuery struct {
	name     string
	matchers []tsdbMatcher
}

var tsdbQueries = []tsdbQuery{
	// 64 series per target: node_cpu_seconds_total.
	{"cpu", []tsdbMatcher{{false, "__name__", "node_cpu_seconds_total"}}},
	// 86 series per target: 11 disk counters of sda and sdb, 16 network
	// counters of eth0 to eth3.
	{"regex", []tsdbMatcher{{true, "__name__", "node_(disk|network)_.+_total"}, {true, "device", "(sd|eth).+"}}},
}

// seriesPerTarget returns how many of a target's series q selects.
func (q tsdbQuery) seriesPerTarget() int {
	n := 0
	for i := range tsdbSeriesPerTarget {
		ok := true
		(&tsdbDataset{}).labels(i, func(name, value string) {
			for _, m := range q.matchers {
				if m.name != name {
					continue
				}
				if m.regexp {
					ok = ok && regexp.MustCompile("^(?:"+m.value+")$").MatchString(value)
				} else {
					ok = ok && m.value == value
				}
			}
		})
		if ok {
			n++
		}
	}
	return n
}
