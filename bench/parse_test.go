package bench

import (
	"fmt"
	"math"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// parseMode says how much work a parse benchmark does per sample.
type parseMode string

const (
	// modeEntries walks every entry and reads Series() of every sample: the
	// scrape loop's steady state, where the series cache hits and labels are
	// never built.
	modeEntries parseMode = "entries"
	// modeLabels also calls the parser's Labels method for every sample, as
	// the scrape loop does on a cache miss. Vigil fills a ScratchBuilder;
	// Prometheus returns a finished labels.Labels. VictoriaMetrics always
	// builds its tags, so it does the same work in every mode.
	modeLabels parseMode = "labels"
	// modeLabelSet is modeLabels plus, for Vigil, turning the ScratchBuilder
	// into a labels.Labels, so all three end with an owned label set per
	// sample. Prometheus and VictoriaMetrics run as in modeLabels.
	modeLabelSet parseMode = "labelset"
)

var parseModes = []parseMode{modeEntries, modeLabels, modeLabelSet}

// parseImpl is one implementation under comparison.
type parseImpl struct {
	name string
	// text/om say which formats the implementation takes part in.
	text, om bool
	// prepare sets up state reused across iterations (what a scrape loop
	// would keep per target) and returns a function that parses body once
	// and reports how many float samples it saw.
	prepare func(tb testing.TB, body []byte, contentType string, mode parseMode) func() (int, error)
	// samples returns every float sample of body in a canonical spelling
	// (see canonicalSample); TestImplsAgree uses it to check that the
	// implementations do the same work.
	samples func(body []byte, contentType string) ([]sample, error)
}

// parseImpls is filled by the per-implementation files.
var parseImpls []parseImpl

func BenchmarkParseText(b *testing.B) {
	benchParse(b, textPayloads, func(im parseImpl) bool { return im.text })
}

func BenchmarkParseOpenMetrics(b *testing.B) {
	benchParse(b, omPayloads, func(im parseImpl) bool { return im.om })
}

func benchParse(b *testing.B, payloads []payload, takesPart func(parseImpl) bool) {
	for _, pl := range payloads {
		b.Run("file="+pl.name, func(b *testing.B) {
			body := pl.load(b)
			for _, mode := range parseModes {
				b.Run("mode="+string(mode), func(b *testing.B) {
					for _, im := range parseImpls {
						if !takesPart(im) {
							continue
						}
						b.Run("impl="+im.name, func(b *testing.B) {
							runParse(b, body, im.prepare(b, body, pl.contentType, mode))
						})
					}
				})
			}
		})
	}
}

// runParse times parse over b.Loop and reports throughput, allocations per
// operation (-benchmem) and three per-sample figures: allocs/sample,
// ns/sample (wall clock) and cpu-ns/sample (see processCPU).
func runParse(b *testing.B, body []byte, parse func() (int, error)) {
	samples, err := parse() // warm up reused buffers; also checks the input
	if err != nil {
		b.Fatal(err)
	}
	if samples == 0 {
		b.Fatal("no samples parsed")
	}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()

	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	mallocs := ms.Mallocs
	cpu0 := processCPU()
	iters := 0
	for b.Loop() {
		if _, err := parse(); err != nil {
			b.Fatal(err)
		}
		iters++
	}
	cpu := processCPU() - cpu0
	runtime.ReadMemStats(&ms)
	total := float64(iters) * float64(samples)
	b.ReportMetric(float64(ms.Mallocs-mallocs)/total, "allocs/sample")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/total, "ns/sample")
	b.ReportMetric(float64(cpu.Nanoseconds())/total, "cpu-ns/sample")
}

// processCPU returns the user plus system CPU time this process has used,
// all threads included (so a concurrent GC's work counts). On a machine
// shared with other jobs, CPU time per sample varies far less than wall
// time, which also counts the time spent waiting for a core.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// Sinks keep the compiler from dropping work whose result is unused.
var (
	sinkFloat float64
	sinkInt   int
)

// sample is one float sample in a form different parsers' outputs can be
// compared in.
type sample struct {
	series string // name{a="x",b="y"}, labels sorted, see canonicalSample
	value  float64
}

// canonicalSample spells one sample's series as name{a="x",b="y"} with the
// labels (name excluded) sorted by name. The values of le and quantile are
// respelled in Go's shortest float form: Prometheus 3 normalises them
// ("0" becomes "0.0"), the other parsers keep them as written.
func canonicalSample(name string, labelPairs [][2]string, value float64) sample {
	slices.SortFunc(labelPairs, func(a, b [2]string) int { return strings.Compare(a[0], b[0]) })
	var sb strings.Builder
	sb.WriteString(name)
	sb.WriteByte('{')
	for i, l := range labelPairs {
		if i > 0 {
			sb.WriteByte(',')
		}
		v := l[1]
		if l[0] == "le" || l[0] == "quantile" {
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				v = strconv.FormatFloat(f, 'g', -1, 64)
			}
		}
		fmt.Fprintf(&sb, "%s=%q", l[0], v)
	}
	sb.WriteByte('}')
	return sample{series: sb.String(), value: value}
}

// sameValue reports whether two parsed values agree. VictoriaMetrics parses
// floats with a fast routine that can be off in the last bits, so a relative
// difference up to 1e-12 counts as equal.
func sameValue(a, b float64) bool {
	if a == b || (math.IsNaN(a) && math.IsNaN(b)) {
		return true
	}
	return math.Abs(a-b) <= 1e-12*math.Max(math.Abs(a), math.Abs(b))
}

// TestImplsAgree checks that, on every payload, each implementation sees the
// same samples with the same labels and values as the first one listed, so
// the benchmarks compare equal work.
func TestImplsAgree(t *testing.T) {
	check := func(t *testing.T, payloads []payload, takesPart func(parseImpl) bool) {
		for _, pl := range payloads {
			t.Run(pl.name, func(t *testing.T) {
				body := pl.load(t)
				var ref []sample
				var refName string
				for _, im := range parseImpls {
					if !takesPart(im) {
						continue
					}
					got, err := im.samples(body, pl.contentType)
					if err != nil {
						t.Fatalf("%s: %v", im.name, err)
					}
					if ref == nil {
						ref, refName = got, im.name
						t.Logf("%s: %d samples", im.name, len(got))
						continue
					}
					if len(got) != len(ref) {
						t.Errorf("%s saw %d samples, %s saw %d", im.name, len(got), refName, len(ref))
					}
					for i := range min(len(got), len(ref)) {
						if got[i].series != ref[i].series || !sameValue(got[i].value, ref[i].value) {
							t.Errorf("sample %d: %s has %v, %s has %v", i, im.name, got[i], refName, ref[i])
							break
						}
					}
				}
			})
		}
	}
	t.Run("text", func(t *testing.T) { check(t, textPayloads, func(im parseImpl) bool { return im.text }) })
	t.Run("openmetrics", func(t *testing.T) { check(t, omPayloads, func(im parseImpl) bool { return im.om }) })
}
