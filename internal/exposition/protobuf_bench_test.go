package exposition

import (
	"errors"
	"fmt"
	"io"
	"runtime"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"google.golang.org/protobuf/proto"

	"github.com/vigil-monitoring/vigil/internal/model/labels"
)

// pbGenerateFamilies builds a node-exporter-like scrape: per-CPU and
// per-device counters, many single-series gauges, filesystem gauges with
// long label values, a summary, classic histograms and a native histogram.
// scale multiplies the number of CPUs and devices.
func pbGenerateFamilies(scale int) []*dto.MetricFamily {
	var mfs []*dto.MetricFamily
	add := func(name, help string, typ dto.MetricType, metrics ...*dto.Metric) {
		mfs = append(mfs, &dto.MetricFamily{Name: proto.String(name), Help: proto.String(help), Type: pbType(typ), Metric: metrics})
	}
	counter := func(v float64, kv ...string) *dto.Metric {
		return &dto.Metric{Label: pbLabels(kv...), Counter: &dto.Counter{Value: proto.Float64(v)}}
	}
	gauge := func(v float64, kv ...string) *dto.Metric {
		return &dto.Metric{Label: pbLabels(kv...), Gauge: &dto.Gauge{Value: proto.Float64(v)}}
	}

	var ms []*dto.Metric
	for cpu := range 8 * scale {
		for _, mode := range []string{"idle", "iowait", "irq", "nice", "softirq", "steal", "system", "user"} {
			ms = append(ms, counter(float64(cpu*1000)+123.45, "cpu", fmt.Sprint(cpu), "mode", mode))
		}
	}
	add("node_cpu_seconds_total", "Seconds the CPUs spent in each mode.", dto.MetricType_COUNTER, ms...)

	for i := range 60 {
		add(fmt.Sprintf("node_memory_field%d_bytes", i), "Memory information field.", dto.MetricType_GAUGE, gauge(float64(i)*4096*1e3))
	}

	for _, f := range []string{"avail", "free", "size", "files", "files_free", "readonly", "device_error"} {
		ms = ms[:0]
		for d := range 4 * scale {
			ms = append(ms, gauge(float64(d)*1e9+7,
				"device", fmt.Sprintf("/dev/mapper/vg0-volume%d", d),
				"fstype", "ext4",
				"mountpoint", fmt.Sprintf("/var/lib/containers/storage/overlay/%d/merged", d)))
		}
		add("node_filesystem_"+f+"_bytes", "Filesystem field.", dto.MetricType_GAUGE, append([]*dto.Metric(nil), ms...)...)
	}

	for _, f := range []string{"receive_bytes", "receive_packets", "receive_errs", "receive_drop", "transmit_bytes", "transmit_packets", "transmit_errs", "transmit_drop", "receive_multicast", "transmit_colls"} {
		ms = ms[:0]
		for d := range 6 * scale {
			ms = append(ms, counter(float64(d)*98765.4321, "device", fmt.Sprintf("veth%07x", d*7919)))
		}
		add("node_network_"+f+"_total", "Network device statistic.", dto.MetricType_COUNTER, append([]*dto.Metric(nil), ms...)...)
	}

	for _, f := range []string{"reads_completed", "writes_completed", "read_bytes", "written_bytes", "io_time_seconds", "discards_completed"} {
		ms = ms[:0]
		for d := range 3 * scale {
			ms = append(ms, counter(float64(d)*3.5e6, "device", fmt.Sprintf("nvme%dn1", d)))
		}
		add("node_disk_"+f+"_total", "Disk statistic.", dto.MetricType_COUNTER, append([]*dto.Metric(nil), ms...)...)
	}

	add("go_gc_duration_seconds", "GC pause durations.", dto.MetricType_SUMMARY, &dto.Metric{Summary: &dto.Summary{
		SampleCount: proto.Uint64(1234),
		SampleSum:   proto.Float64(0.75),
		Quantile: []*dto.Quantile{
			{Quantile: proto.Float64(0), Value: proto.Float64(1e-5)},
			{Quantile: proto.Float64(0.25), Value: proto.Float64(2e-5)},
			{Quantile: proto.Float64(0.5), Value: proto.Float64(3e-5)},
			{Quantile: proto.Float64(0.75), Value: proto.Float64(4e-5)},
			{Quantile: proto.Float64(1), Value: proto.Float64(9e-4)},
		},
	}})

	ms = ms[:0]
	for h := range 4 * scale {
		var bks []*dto.Bucket
		for i, ub := range []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10} {
			bks = append(bks, &dto.Bucket{UpperBound: proto.Float64(ub), CumulativeCount: proto.Uint64(uint64(i * 10))})
		}
		ms = append(ms, &dto.Metric{
			Label: pbLabels("handler", fmt.Sprintf("/api/v1/endpoint%d", h), "code", "200"),
			Histogram: &dto.Histogram{
				SampleCount: proto.Uint64(120),
				SampleSum:   proto.Float64(33.3),
				Bucket:      bks,
			},
		})
	}
	add("http_request_duration_seconds", "Request latency.", dto.MetricType_HISTOGRAM, append([]*dto.Metric(nil), ms...)...)

	ms = ms[:0]
	for h := range scale {
		ms = append(ms, &dto.Metric{
			Label: pbLabels("handler", fmt.Sprintf("/rpc/%d", h)),
			Histogram: &dto.Histogram{
				SampleCount:   proto.Uint64(100),
				SampleSum:     proto.Float64(12.5),
				Schema:        proto.Int32(3),
				ZeroThreshold: proto.Float64(2.938735877055719e-39),
				ZeroCount:     proto.Uint64(1),
				PositiveSpan: []*dto.BucketSpan{
					{Offset: proto.Int32(-10), Length: proto.Uint32(12)},
					{Offset: proto.Int32(3), Length: proto.Uint32(8)},
				},
				PositiveDelta: []int64{1, 2, 3, 4, 5, 6, 7, 8, -1, -2, -3, -4, -5, -6, 1, 1, 1, 1, 1, -20},
			},
		})
	}
	add("rpc_latency_seconds", "Native latency.", dto.MetricType_HISTOGRAM, append([]*dto.Metric(nil), ms...)...)

	add("node_uname_info", "Labeled system information.", dto.MetricType_GAUGE,
		gauge(1, "domainname", "(none)", "machine", "x86_64", "nodename", "host-1", "release", "6.8.0-45-generic", "sysname", "Linux", "version", "#45-Ubuntu SMP PREEMPT_DYNAMIC"))
	return mfs
}

func pbGenerateNodeExporter(t testing.TB, scale int) []byte {
	return pbEncode(t, pbGenerateFamilies(scale)...)
}

// BenchmarkProtobufParser parses a ~1 MB node-exporter-like body the way
// the scrape loop does: every sample's series key, value and labels.
func BenchmarkProtobufParser(b *testing.B) {
	body := pbGenerateNodeExporter(b, 100)
	var sb labels.ScratchBuilder
	samples := 0
	b.ReportAllocs()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for b.Loop() {
		p := NewProtobufParser(body, Options{})
		samples = 0
		for {
			e, err := p.Next()
			if err != nil {
				if !errors.Is(err, io.EOF) {
					b.Fatal(err)
				}
				break
			}
			switch e {
			case EntrySeries:
				p.Series()
				p.Labels(&sb)
				samples++
			case EntryHistogram:
				p.Histogram()
				p.Labels(&sb)
				samples++
			}
		}
	}
	runtime.ReadMemStats(&after)
	b.SetBytes(int64(len(body)))
	b.ReportMetric(float64(after.Mallocs-before.Mallocs)/float64(b.N)/float64(samples), "allocs/sample")
	b.ReportMetric(float64(samples), "samples/op")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(samples), "ns/sample")
}
