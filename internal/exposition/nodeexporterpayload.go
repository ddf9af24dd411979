package exposition

import (
	"math/rand/v2"
	"strconv"

	"github.com/vigil-monitoring/vigil/internal/model/labels"
)

// GenerateNodeExporterPayload returns a text-format (0.0.4) body of at
// least targetBytes bytes (and at most one scale step more) shaped like a node exporter's /metrics: HELP and TYPE
// for every family; per-CPU counters; memory gauges; network, disk and
// filesystem families with device labels; Go runtime gauges, a summary and
// a histogram. Values are plausible magnitudes from a fixed-seed generator,
// so the same size always gives the same bytes.
//
// It is benchmark input, shared by this package's benchmarks and the
// bench/ module that compares parsers on identical bytes; it is not meant
// for production use.
func GenerateNodeExporterPayload(targetBytes int) []byte {
	// The size is a fixed part plus a part linear in scale; two probes
	// give both, and a final step up covers rounding.
	s1, s2 := len(generateNodeExporter(1)), len(generateNodeExporter(2))
	per := max(s2-s1, 1)
	scale := max(1, (targetBytes-(s1-per)+per-1)/per)
	body := generateNodeExporter(scale)
	for len(body) < targetBytes {
		scale++
		body = generateNodeExporter(scale)
	}
	return body
}

func generateNodeExporter(scale int) []byte {
	r := rand.New(rand.NewPCG(1, uint64(scale)))
	var dst []byte
	family := func(name, typ, help string) {
		dst = AppendTextHelp(dst, name, help)
		dst = AppendTextType(dst, name, MetricType(typ))
	}
	sample := func(v float64, kv ...string) {
		dst = AppendTextSample(dst, labels.FromStrings(kv...), v, nil)
	}
	counter := func(max float64) float64 { return float64(int64(r.Float64() * max)) }
	seconds := func(max float64) float64 { return float64(int64(r.Float64()*max*100)) / 100 }

	cpus := 4 * scale
	family("node_cpu_seconds_total", "counter", "Seconds the CPUs spent in each mode.")
	for c := 0; c < cpus; c++ {
		for _, mode := range []string{"idle", "iowait", "irq", "nice", "softirq", "steal", "system", "user"} {
			sample(seconds(1e6), "__name__", "node_cpu_seconds_total", "cpu", strconv.Itoa(c), "mode", mode)
		}
	}
	family("node_cpu_guest_seconds_total", "counter", "Seconds the CPUs spent in guests (VMs) for each mode.")
	for c := 0; c < cpus; c++ {
		for _, mode := range []string{"nice", "user"} {
			sample(0, "__name__", "node_cpu_guest_seconds_total", "cpu", strconv.Itoa(c), "mode", mode)
		}
	}
	family("node_cpu_scaling_frequency_hertz", "gauge", "Current scaled CPU thread frequency in hertz.")
	for c := 0; c < cpus; c++ {
		sample(float64(1e9+r.IntN(3e9)), "__name__", "node_cpu_scaling_frequency_hertz", "cpu", strconv.Itoa(c))
	}

	for _, m := range []string{"Active", "Active_anon", "Active_file", "AnonHugePages", "AnonPages", "Bounce",
		"Buffers", "Cached", "CommitLimit", "Committed_AS", "DirectMap2M", "DirectMap4k", "Dirty", "HugePages_Free",
		"HugePages_Total", "Hugepagesize", "Inactive", "Inactive_anon", "Inactive_file", "KernelStack", "Mapped",
		"MemAvailable", "MemFree", "MemTotal", "Mlocked", "NFS_Unstable", "PageTables", "SReclaimable", "SUnreclaim",
		"Shmem", "Slab", "SwapCached", "SwapFree", "SwapTotal", "Unevictable", "VmallocChunk", "VmallocTotal",
		"VmallocUsed", "Writeback", "WritebackTmp"} {
		name := "node_memory_" + m + "_bytes"
		family(name, "gauge", "Memory information field "+m+"_bytes.")
		sample(counter(6.4e10), "__name__", name)
	}

	var netdevs []string
	for i := 0; i < 2*scale; i++ {
		netdevs = append(netdevs, "eth"+strconv.Itoa(i), "veth"+strconv.FormatUint(r.Uint64()>>40, 16))
	}
	for _, f := range []string{"bytes", "compressed", "drop", "errs", "fifo", "frame", "multicast", "packets"} {
		for _, dir := range []string{"receive", "transmit"} {
			name := "node_network_" + dir + "_" + f + "_total"
			family(name, "counter", "Network device statistic "+dir+"_"+f+".")
			for _, d := range netdevs {
				sample(counter(1e12), "__name__", name, "device", d)
			}
		}
	}
	family("node_network_up", "gauge", "Value is 1 if operstate is 'up', 0 otherwise.")
	for _, d := range netdevs {
		sample(1, "__name__", "node_network_up", "device", d)
	}

	var disks []string
	for i := 0; i < 2*scale; i++ {
		disks = append(disks, "nvme"+strconv.Itoa(i)+"n1", "dm-"+strconv.Itoa(i))
	}
	for _, f := range []struct{ name, typ, help string }{
		{"node_disk_read_bytes_total", "counter", "The total number of bytes read successfully."},
		{"node_disk_written_bytes_total", "counter", "The total number of bytes written successfully."},
		{"node_disk_reads_completed_total", "counter", "The total number of reads completed successfully."},
		{"node_disk_writes_completed_total", "counter", "The total number of writes completed successfully."},
		{"node_disk_read_time_seconds_total", "counter", "The total number of seconds spent by all reads."},
		{"node_disk_write_time_seconds_total", "counter", "This is the total number of seconds spent by all writes."},
		{"node_disk_io_now", "gauge", "The number of I/Os currently in progress."},
		{"node_disk_io_time_seconds_total", "counter", "Total seconds spent doing I/Os."},
	} {
		family(f.name, f.typ, f.help)
		for _, d := range disks {
			v := counter(1e12)
			if f.typ == "gauge" {
				v = float64(r.IntN(8))
			} else if f.name[len(f.name)-len("seconds_total"):] == "seconds_total" {
				v = seconds(1e5)
			}
			sample(v, "__name__", f.name, "device", d)
		}
	}

	type fs struct{ device, fstype, mount string }
	var filesystems []fs
	for i := 0; i < 2*scale; i++ {
		n := strconv.Itoa(i)
		filesystems = append(filesystems,
			fs{"/dev/nvme" + n + "n1p2", "ext4", "/data" + n},
			fs{"tmpfs", "tmpfs", "/run/user/" + strconv.Itoa(1000+i)})
	}
	for _, f := range []string{"avail_bytes", "device_error", "files", "files_free", "free_bytes", "readonly", "size_bytes"} {
		name := "node_filesystem_" + f
		family(name, "gauge", "Filesystem "+f+".")
		for _, x := range filesystems {
			sample(counter(5e11), "__name__", name, "device", x.device, "fstype", x.fstype, "mountpoint", x.mount)
		}
	}

	family("node_scrape_collector_duration_seconds", "gauge", "node_exporter: Duration of a collector scrape.")
	collectors := []string{"arp", "bcache", "bonding", "btrfs", "conntrack", "cpu", "cpufreq", "diskstats",
		"dmi", "edac", "entropy", "fibrechannel", "filefd", "filesystem", "hwmon", "infiniband", "ipvs",
		"loadavg", "mdadm", "meminfo", "netclass", "netdev", "netstat", "nfs", "nfsd", "nvme", "os",
		"powersupplyclass", "pressure", "rapl", "schedstat", "selinux", "sockstat", "softnet", "stat",
		"tapestats", "textfile", "thermal_zone", "time", "timex", "udp_queues", "uname", "vmstat", "xfs", "zfs"}
	for _, c := range collectors {
		sample(r.Float64()/100, "__name__", "node_scrape_collector_duration_seconds", "collector", c)
	}
	family("node_scrape_collector_success", "gauge", "node_exporter: Whether a collector succeeded.")
	for _, c := range collectors {
		sample(1, "__name__", "node_scrape_collector_success", "collector", c)
	}

	family("go_gc_duration_seconds", "summary", "A summary of the wall-time pause (stop-the-world) duration in garbage collection cycles.")
	for _, q := range []string{"0", "0.25", "0.5", "0.75", "1"} {
		sample(r.Float64()/1e3, "__name__", "go_gc_duration_seconds", "quantile", q)
	}
	sample(r.Float64()*10, "__name__", "go_gc_duration_seconds_sum")
	sample(counter(1e5), "__name__", "go_gc_duration_seconds_count")
	family("go_goroutines", "gauge", "Number of goroutines that currently exist.")
	sample(float64(r.IntN(100)), "__name__", "go_goroutines")
	family("go_memstats_alloc_bytes", "gauge", "Number of bytes allocated and still in use.")
	sample(counter(1e8), "__name__", "go_memstats_alloc_bytes")

	family("promhttp_metric_handler_request_duration_seconds", "histogram", "Histogram of scrape durations.")
	for h := 0; h < scale; h++ {
		code := strconv.Itoa(200 + h)
		n := 0.0
		for _, le := range []string{"0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "+Inf"} {
			n += float64(r.IntN(1000))
			sample(n, "__name__", "promhttp_metric_handler_request_duration_seconds_bucket", "code", code, "le", le)
		}
		sample(r.Float64()*n, "__name__", "promhttp_metric_handler_request_duration_seconds_sum", "code", code)
		sample(n, "__name__", "promhttp_metric_handler_request_duration_seconds_count", "code", code)
	}
	return dst
}
