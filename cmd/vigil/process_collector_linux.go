package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// processCollector exports the process_* metrics of client_golang's
// process collector, with the same names, help texts (its descriptors are
// reused) and values, for less work per scrape of /metrics. The library
// opens and parses five files each time, among them all of /proc/stat for
// the boot time behind process_start_time_seconds, which cannot change,
// and /proc/self/limits, which two getrlimit calls answer. Every scrape
// of the server's own /metrics pays that, and with a small number of
// targets it was a visible part of the server's CPU.
type processCollector struct {
	cpuTotal, openFDs, maxFDs, vsize, maxVsize, rss, startTime, inBytes, outBytes *prometheus.Desc

	start    float64 // process_start_time_seconds, unless startErr
	startErr error
	pageSize float64
}

// userHZ is the unit of the times in /proc/<pid>/stat. Linux has exported
// 100 to user space on every architecture for decades (client_golang's
// procfs assumes the same).
const userHZ = 100

func newProcessCollector() prometheus.Collector {
	lib := collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})
	c := &processCollector{pageSize: float64(os.Getpagesize())}
	descs := map[string]**prometheus.Desc{
		"process_cpu_seconds_total":            &c.cpuTotal,
		"process_open_fds":                     &c.openFDs,
		"process_max_fds":                      &c.maxFDs,
		"process_virtual_memory_bytes":         &c.vsize,
		"process_virtual_memory_max_bytes":     &c.maxVsize,
		"process_resident_memory_bytes":        &c.rss,
		"process_start_time_seconds":           &c.startTime,
		"process_network_receive_bytes_total":  &c.inBytes,
		"process_network_transmit_bytes_total": &c.outBytes,
	}
	ch := make(chan *prometheus.Desc, 16)
	go func() { lib.Describe(ch); close(ch) }()
	for d := range ch {
		if p := descs[descName(d)]; p != nil {
			*p = d
		}
	}
	for _, p := range descs {
		if *p == nil {
			// A client_golang that no longer describes one of them: keep
			// its own collector rather than export something else.
			return lib
		}
	}
	c.start, c.startErr = processStartTime()
	return c
}

// descName returns the metric name of d from its String form, which has
// been `Desc{fqName: "name", ...` in every client_golang release.
func descName(d *prometheus.Desc) string {
	_, rest, ok := strings.Cut(d.String(), "fqName: ")
	if !ok {
		return ""
	}
	q, err := strconv.QuotedPrefix(rest)
	if err != nil {
		return ""
	}
	name, _ := strconv.Unquote(q)
	return name
}

func (c *processCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.cpuTotal, c.openFDs, c.maxFDs, c.vsize, c.maxVsize, c.rss, c.startTime, c.inBytes, c.outBytes} {
		ch <- d
	}
}

// Collect leaves out what it cannot read, as client_golang's collector
// does unless asked to report errors (Vigil never asks): a failed read
// must not fail the whole /metrics response.
func (c *processCollector) Collect(ch chan<- prometheus.Metric) {
	if st, err := readSelfStat(); err == nil {
		ch <- prometheus.MustNewConstMetric(c.cpuTotal, prometheus.CounterValue, float64(st.utime+st.stime)/userHZ)
		ch <- prometheus.MustNewConstMetric(c.vsize, prometheus.GaugeValue, float64(st.vsize))
		ch <- prometheus.MustNewConstMetric(c.rss, prometheus.GaugeValue, float64(st.rss)*c.pageSize)
		if c.startErr == nil {
			ch <- prometheus.MustNewConstMetric(c.startTime, prometheus.GaugeValue, c.start)
		}
	}
	if n, err := openFDs(); err == nil {
		ch <- prometheus.MustNewConstMetric(c.openFDs, prometheus.GaugeValue, float64(n))
	}
	var nofile, as syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &nofile) == nil && syscall.Getrlimit(syscall.RLIMIT_AS, &as) == nil {
		ch <- prometheus.MustNewConstMetric(c.maxFDs, prometheus.GaugeValue, float64(nofile.Cur))
		ch <- prometheus.MustNewConstMetric(c.maxVsize, prometheus.GaugeValue, float64(as.Cur))
	}
	if in, out, err := networkOctets(); err == nil {
		ch <- prometheus.MustNewConstMetric(c.inBytes, prometheus.CounterValue, in)
		ch <- prometheus.MustNewConstMetric(c.outBytes, prometheus.CounterValue, out)
	}
}

type selfStat struct {
	utime, stime, starttime, vsize, rss int64
}

// readSelfStat reads the fields of /proc/self/stat the metrics need.
func readSelfStat() (selfStat, error) {
	b, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return selfStat{}, err
	}
	return parseStat(b)
}

// parseStat parses a /proc/<pid>/stat line. The command name (field 2)
// may hold spaces and parentheses, so fields are counted from its last ')'.
func parseStat(b []byte) (selfStat, error) {
	end := bytes.LastIndexByte(b, ')')
	if end < 0 {
		return selfStat{}, fmt.Errorf("malformed /proc/self/stat: %q", b)
	}
	f := strings.Fields(string(b[end+1:]))
	// f[0] is field 3 (state); field n is f[n-3]. rss is field 24.
	if len(f) < 22 {
		return selfStat{}, fmt.Errorf("/proc/self/stat has %d fields, want at least 24", len(f)+2)
	}
	var st selfStat
	for _, x := range []struct {
		dst   *int64
		field int
	}{{&st.utime, 14}, {&st.stime, 15}, {&st.starttime, 22}, {&st.vsize, 23}, {&st.rss, 24}} {
		v, err := strconv.ParseInt(f[x.field-3], 10, 64)
		if err != nil {
			return selfStat{}, fmt.Errorf("/proc/self/stat field %d: %w", x.field, err)
		}
		*x.dst = v
	}
	return st, nil
}

// processStartTime returns the process' start time in seconds since the
// epoch: the boot time from /proc/stat plus the start in ticks after boot.
func processStartTime() (float64, error) {
	st, err := readSelfStat()
	if err != nil {
		return 0, err
	}
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, err
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "btime "); ok {
			btime, err := strconv.ParseUint(strings.TrimSpace(v), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("/proc/stat btime: %w", err)
			}
			return float64(btime) + float64(st.starttime)/userHZ, nil
		}
	}
	return 0, errors.New("no btime line in /proc/stat")
}

// openFDs counts the open file descriptors. Since Linux 6.2 the size of
// /proc/self/fd is that count; older kernels report 0 and the directory
// is listed.
func openFDs() (int, error) {
	fi, err := os.Stat("/proc/self/fd")
	if err != nil {
		return 0, err
	}
	if n := fi.Size(); n > 0 {
		return int(n), nil
	}
	d, err := os.Open("/proc/self/fd")
	if err != nil {
		return 0, err
	}
	defer d.Close()
	names, err := d.Readdirnames(-1)
	// The listing's own descriptor is in it, as it is in the size.
	return len(names), err
}

// networkOctets returns InOctets and OutOctets of the IpExt section of
// /proc/self/net/netstat: the bytes received and sent in the process'
// network namespace.
func networkOctets() (in, out float64, err error) {
	b, err := os.ReadFile("/proc/self/net/netstat")
	if err != nil {
		return 0, 0, err
	}
	return parseNetstatOctets(b)
}

// parseNetstatOctets finds the IpExt header line and the value line after
// it and reads the InOctets and OutOctets columns. A missing column reads
// as 0, as client_golang reports it.
func parseNetstatOctets(b []byte) (in, out float64, err error) {
	var header []string
	for line := range strings.Lines(string(b)) {
		rest, ok := strings.CutPrefix(line, "IpExt:")
		if !ok {
			continue
		}
		fields := strings.Fields(rest)
		if header == nil {
			header = fields
			continue
		}
		if len(fields) != len(header) {
			return 0, 0, fmt.Errorf("/proc/self/net/netstat: IpExt has %d names and %d values", len(header), len(fields))
		}
		for i, name := range header {
			var dst *float64
			switch name {
			case "InOctets":
				dst = &in
			case "OutOctets":
				dst = &out
			default:
				continue
			}
			if *dst, err = strconv.ParseFloat(fields[i], 64); err != nil {
				return 0, 0, fmt.Errorf("/proc/self/net/netstat IpExt %s: %w", name, err)
			}
		}
		return in, out, nil
	}
	return 0, 0, errors.New("/proc/self/net/netstat has no IpExt values")
}
