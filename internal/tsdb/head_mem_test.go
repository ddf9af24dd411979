package tsdb

import (
	"context"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"testing"
	"unsafe"

	"github.com/vigil-monitoring/vigil/internal/model/labels"
	"github.com/vigil-monitoring/vigil/internal/storage"
)

// nodeLabels10 returns the i-th of n label sets shaped like node-exporter
// series behind a typical service-discovery relabelling: ten labels, of
// which only the metric name, cpu, mode and instance vary. About 1,000
// series share an instance, as one node exporter target gives.
func nodeLabels10(i int) labels.Labels {
	inst := i / 1000
	return labels.FromStrings(
		"__name__", "node_metric_"+strconv.Itoa(i%250)+"_total",
		"cluster", "prod-eu-"+strconv.Itoa(inst%4),
		"cpu", strconv.Itoa((i/250)%4),
		"datacenter", "eu-west-1"+string(rune('a'+inst%3)),
		"env", "production",
		"instance", "10.20."+strconv.Itoa(inst/250)+"."+strconv.Itoa(inst%250)+":9100",
		"job", "node",
		"mode", []string{"idle", "user", "system", "iowait"}[(i/250)%4],
		"region", "eu-west-1",
		"team", "infrastructure",
	)
}

// headMemoryPerSeries builds n series with nodeLabels10, appends samples
// samples to each at a 15 s interval (one appender per 1,000 series, as
// one scrape target gives), and returns the live heap the DB retains per
// series after a GC. The label sets are created inside the measurement
// and dropped by the caller's side, so what the head keeps of them counts
// and nothing else does.
func headMemoryPerSeries(tb testing.TB, dir string, opts Options, n, samples int) (heapPerSeries float64, db *DB) {
	tb.Helper()
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	db = openTestDB(tb, dir, opts)
	refs := make([]storage.SeriesRef, n)
	for step := range samples {
		for lo := 0; lo < n; lo += 1000 {
			app := db.Appender(context.Background())
			for i := lo; i < min(lo+1000, n); i++ {
				var lset labels.Labels
				if refs[i] == 0 {
					lset = nodeLabels10(i)
				}
				var err error
				// A counter-like value, as most node-exporter series are.
				refs[i], err = app.Append(refs[i], lset, int64(step)*15_000, float64(step*(i%7)))
				if err != nil {
					tb.Fatal(err)
				}
			}
			if err := app.Commit(); err != nil {
				tb.Fatal(err)
			}
		}
	}
	refs = nil
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	return float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / float64(n), db
}

// TestHeadMemoryPerSeries reports the heap the head keeps per series for
// node-exporter-like series with ten labels. It is a measurement, not a
// unit test: it runs only when VIGIL_HEAD_MEM_SERIES is set, e.g.
//
//	VIGIL_HEAD_MEM_SERIES=100000 go test ./internal/tsdb -run TestHeadMemoryPerSeries -v
//
// VIGIL_HEAD_MEM_SAMPLES sets the samples per series (default 480: 2 h at
// 15 s). VIGIL_HEAD_MEM_MAX, when set, fails the test above that many
// bytes per series. VIGIL_HEAD_MEM_PROFILE names a file to write a heap
// profile of the full head to (run with -test.memprofilerate=4096 or so).
func TestHeadMemoryPerSeries(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("VIGIL_HEAD_MEM_SERIES"))
	if n <= 0 {
		t.Skip("set VIGIL_HEAD_MEM_SERIES to measure")
	}
	samples := 480
	if s, err := strconv.Atoi(os.Getenv("VIGIL_HEAD_MEM_SAMPLES")); err == nil && s > 0 {
		samples = s
	}
	perSeries, db := headMemoryPerSeries(t, t.TempDir(), DefaultOptions(), n, samples)
	defer db.Close()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	t.Logf("%d series x %d samples: %.0f B heap per series (HeapAlloc %d MiB, HeapInuse %d MiB, Sys %d MiB)",
		n, samples, perSeries, ms.HeapAlloc>>20, ms.HeapInuse>>20, ms.Sys>>20)
	if path := os.Getenv("VIGIL_HEAD_MEM_PROFILE"); path != "" {
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := pprof.WriteHeapProfile(f); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	if limit, err := strconv.ParseFloat(os.Getenv("VIGIL_HEAD_MEM_MAX"), 64); err == nil && perSeries > limit {
		t.Fatalf("%.0f B per series, above the limit of %.0f", perSeries, limit)
	}
}

// TestHeadMemoryBudget fails when the heap per series grows past its
// budget, measured on 20,000 series after 2 h at 15 s. Fixed costs (lock
// stripes, the head chunk write buffer) are shrunk to what 20,000 series
// would pay of them at a million.
func TestHeadMemoryBudget(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("appends 9.6 million samples")
	}
	opts := DefaultOptions()
	opts.StripeSize = 1 << 9
	opts.HeadChunksWriteBufferSize = 32 << 10
	perSeries, db := headMemoryPerSeries(t, t.TempDir(), opts, 20_000, 480)
	defer db.Close()
	t.Logf("%.0f B heap per series", perSeries)
	// 464 B measured at a million series (docs/architecture.md); the
	// margin absorbs what differs at this size.
	if perSeries > 520 {
		t.Fatalf("%.0f B heap per series, budget 520", perSeries)
	}
}

// TestMemSeriesSize guards the per-series struct against growing by
// accident: it is paid once per active series.
func TestMemSeriesSize(t *testing.T) {
	if n := unsafe.Sizeof(memSeries{}); n > 176 {
		t.Fatalf("memSeries is %d bytes, budget 176", n)
	}
}
