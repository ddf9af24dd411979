package main

import (
	"math"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	dto "github.com/prometheus/client_model/go"
)

func gatherOne(t *testing.T, c prometheus.Collector) map[string]*dto.MetricFamily {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*dto.MetricFamily{}
	for _, mf := range mfs {
		out[mf.GetName()] = mf
	}
	return out
}

func familyValue(mf *dto.MetricFamily) float64 {
	m := mf.GetMetric()[0]
	if m.GetCounter() != nil {
		return m.GetCounter().GetValue()
	}
	return m.GetGauge().GetValue()
}

// TestProcessCollectorMatchesLibrary compares the cheaper process
// collector with client_golang's on this process: the same families with
// the same help and type, and the same values up to what changes between
// two reads.
func TestProcessCollectorMatchesLibrary(t *testing.T) {
	c := newProcessCollector()
	if _, ok := c.(*processCollector); !ok {
		t.Fatalf("newProcessCollector fell back to %T: client_golang's descriptors did not match", c)
	}
	ours := gatherOne(t, c)
	lib := gatherOne(t, collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if len(lib) == 0 {
		t.Fatal("client_golang's process collector exported nothing")
	}
	for name, want := range lib {
		got, ok := ours[name]
		if !ok {
			t.Errorf("%s missing", name)
			continue
		}
		if got.GetHelp() != want.GetHelp() || got.GetType() != want.GetType() {
			t.Errorf("%s: help %q type %v, want %q %v", name, got.GetHelp(), got.GetType(), want.GetHelp(), want.GetType())
		}
		g, w := familyValue(got), familyValue(want)
		var ok2 bool
		switch name {
		case "process_cpu_seconds_total":
			ok2 = math.Abs(g-w) <= 0.1 // two reads some work apart
		case "process_open_fds":
			ok2 = math.Abs(g-w) <= 2 // each read may hold a file open
		case "process_resident_memory_bytes", "process_virtual_memory_bytes":
			ok2 = math.Abs(g-w) <= 0.1*w
		case "process_network_receive_bytes_total", "process_network_transmit_bytes_total":
			ok2 = g >= w && g-w <= 1<<20 // the namespace's traffic since
		default: // limits and the start time do not change
			ok2 = g == w
		}
		if !ok2 {
			t.Errorf("%s = %v, client_golang says %v", name, g, w)
		}
	}
	for name := range ours {
		if _, ok := lib[name]; !ok {
			t.Errorf("%s exported, client_golang does not", name)
		}
	}
}

func TestParseStat(t *testing.T) {
	// A command name with spaces and a parenthesis; rss is signed in the
	// kernel's format.
	line := "4242 (a b) c) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 75 0 0 20 0 9 0 123456 1000000 -3 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n"
	st, err := parseStat([]byte(line))
	if err != nil {
		t.Fatal(err)
	}
	if st != (selfStat{utime: 250, stime: 75, starttime: 123456, vsize: 1000000, rss: -3}) {
		t.Errorf("parsed %+v", st)
	}
	for _, bad := range []string{"4242 a S 1", "4242 (x) S 1 2 3", "4242 (x) S 1 4242 4242 0 -1 4194560 100 0 0 0 u 75 0 0 20 0 9 0 1 1 1\n"} {
		if _, err := parseStat([]byte(bad)); err == nil {
			t.Errorf("parseStat(%q) succeeded", bad)
		}
	}
}

func TestParseNetstatOctets(t *testing.T) {
	// The kernel's layout: a header line and a value line per section.
	b := []byte("TcpExt: SyncookiesSent SyncookiesRecv\nTcpExt: 0 0\n" +
		"IpExt: InNoRoutes InOctets OutOctets InNoECTPkts\nIpExt: 0 123456 654321 9\n" +
		"MPTcpExt: MPCapableSYNRX\nMPTcpExt: 0\n")
	in, out, err := parseNetstatOctets(b)
	if err != nil || in != 123456 || out != 654321 {
		t.Errorf("got %v %v %v, want 123456 654321", in, out, err)
	}
	for _, bad := range []string{
		"TcpExt: A\nTcpExt: 1\n",
		"IpExt: InOctets OutOctets\nIpExt: 1\n",
		"IpExt: InOctets OutOctets\nIpExt: x 2\n",
	} {
		if _, _, err := parseNetstatOctets([]byte(bad)); err == nil {
			t.Errorf("parseNetstatOctets(%q) succeeded", strings.TrimSpace(bad))
		}
	}
}
