package bench

import (
	"strings"
	"testing"
)

// labelPairs is the 10-label set every labels benchmark uses, name/value
// alternating, in the order a scrape body would spell them: the metric name
// first, then the target and instrumentation labels unsorted, so Sort has
// work to do.
var labelPairs = []string{
	"__name__", "http_server_requests_seconds_bucket",
	"job", "api-gateway",
	"instance", "10.12.3.45:9100",
	"namespace", "payments",
	"pod", "payments-api-7d9f8b6c5d-x2k4q",
	"container", "server",
	"method", "POST",
	"handler", "/api/v1/charges",
	"code", "200",
	"le", "0.25",
}

// Names probed by the Get benchmarks.
const (
	getHitName  = "pod"  // present, in the middle of the sorted set
	getMissName = "zone" // absent, sorts after every present name
)

// Label edits the Builder benchmarks make: set a new label, overwrite an
// existing one, delete one.
const (
	builderSetName, builderSetValue = "cluster", "eu-west-1"
	builderOverName, builderOverVal = "code", "500"
	builderDelName                  = "container"
)

// cloneString returns a copy of s that shares no memory with it, so equality
// checks cannot short-circuit on identical pointers.
func cloneString(s string) string { return strings.Clone(s) }

// clonedPairs returns labelPairs with every string copied; when lastValue is
// not empty it replaces the value of the label that sorts last, so Compare
// walks the whole set before it finds the difference.
func clonedPairs(lastValue string) []string {
	out := make([]string, len(labelPairs))
	last := 0
	for i := 0; i < len(labelPairs); i += 2 {
		out[i], out[i+1] = cloneString(labelPairs[i]), cloneString(labelPairs[i+1])
		if labelPairs[i] > labelPairs[last] {
			last = i
		}
	}
	if lastValue != "" {
		out[last+1] = lastValue
	}
	return out
}

// labelOps are the operations compared, in report order.
var labelOps = []string{
	"scratchbuilder",      // ScratchBuilder Reset, 10x Add, Sort, Labels
	"scratchbuilderbytes", // the same with UnsafeAddBytes (Vigil only)
	"new",                 // labels.New from a []Label already sorted by name
	"newunsorted",         // labels.New from a []Label in exposition order
	"fromstrings",         // labels.FromStrings from name/value strings
	"hash",                // Labels.Hash
	"get",                 // Labels.Get of a present name
	"getmiss",             // Labels.Get of an absent name
	"equal",               // labels.Equal of two equal sets in distinct memory
	"compare",             // labels.Compare of sets differing in the last label
	"builder",             // Builder Reset, Set new, Set existing, Del, Labels
}

// labelsImpl is one label-set implementation under comparison; ops maps an
// entry of labelOps to its benchmark body.
type labelsImpl struct {
	name string
	ops  map[string]func(b *testing.B)
}

// labelsImpls is filled by the per-implementation files.
var labelsImpls []labelsImpl

func BenchmarkLabels(b *testing.B) {
	for _, op := range labelOps {
		b.Run("op="+op, func(b *testing.B) {
			for _, im := range labelsImpls {
				fn, ok := im.ops[op]
				if !ok {
					continue
				}
				b.Run("impl="+im.name, func(b *testing.B) {
					b.ReportAllocs()
					cpu0 := processCPU()
					fn(b)
					if b.N > 0 {
						b.ReportMetric(float64((processCPU()-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/op")
					}
				})
			}
		})
	}
}

var (
	sinkUint64 uint64
	sinkString string
	sinkBool   bool
)
