package labels

import (
	"slices"
	"strconv"
	"testing"
)

// benchSet is a typical series: a metric name and nine target and
// instrumentation labels.
var benchSet = FromStrings(
	"__name__", "http_requests_total",
	"code", "200",
	"handler", "/api/v1/query_range",
	"instance", "10.0.0.1:9090",
	"job", "prometheus",
	"method", "GET",
	"namespace", "monitoring",
	"pod", "prometheus-k8s-0",
	"service", "prometheus-k8s",
	"zone", "eu-west-1a",
)

var (
	sinkU64    uint64
	sinkString string
	sinkLabels Labels
	sinkBool   bool
)

func BenchmarkLabelsHash(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(benchSet.data)))
	for b.Loop() {
		sinkU64 = benchSet.Hash()
	}
}

func BenchmarkLabelsHashForLabels(b *testing.B) {
	b.ReportAllocs()
	var buf []byte
	names := []string{"instance", "job", "zone"}
	for b.Loop() {
		sinkU64, buf = benchSet.HashForLabels(buf, names...)
	}
}

func BenchmarkLabelsGet(b *testing.B) {
	for _, name := range []string{"__name__", "job", "zone", "absent"} {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				sinkString = benchSet.Get(name)
			}
		})
	}
}

func BenchmarkLabelsCompare(b *testing.B) {
	other := NewBuilder(benchSet).Set("zone", "eu-west-1b").Labels()
	b.ReportAllocs()
	for b.Loop() {
		sinkBool = Compare(benchSet, other) < 0
	}
}

func BenchmarkScratchBuilder(b *testing.B) {
	var sorted []Label
	benchSet.Range(func(l Label) { sorted = append(sorted, l) })
	// A fixed shuffle stands in for labels in no particular order;
	// reversed is the insertion sort's worst case.
	shuffled := make([]Label, len(sorted))
	for i, j := range []int{3, 7, 0, 9, 5, 1, 8, 2, 6, 4} {
		shuffled[i] = sorted[j]
	}
	reversed := slices.Clone(sorted)
	slices.Reverse(reversed)
	for _, order := range []struct {
		name   string
		labels []Label
	}{{"Sorted", sorted}, {"Shuffled", shuffled}, {"Reversed", reversed}} {
		b.Run("Labels/"+order.name, func(b *testing.B) {
			b.ReportAllocs()
			sb := NewScratchBuilder(len(order.labels))
			for b.Loop() {
				sb.Reset()
				for _, l := range order.labels {
					sb.Add(l.Name, l.Value)
				}
				sb.Sort()
				sinkLabels = sb.Labels()
			}
		})
	}
	b.Run("OverwriteSame", func(b *testing.B) {
		b.ReportAllocs()
		sb := NewScratchBuilder(len(sorted))
		var ls Labels
		for b.Loop() {
			sb.Reset()
			for _, l := range shuffled {
				sb.Add(l.Name, l.Value)
			}
			sb.Sort()
			sb.Overwrite(&ls)
		}
	})
}

func BenchmarkBuilder(b *testing.B) {
	b.ReportAllocs()
	bl := NewBuilder(EmptyLabels())
	for b.Loop() {
		bl.Reset(benchSet)
		bl.Del("pod")
		bl.Set("job", "relabelled")
		bl.Set("cluster", "eu")
		sinkLabels = bl.Labels()
	}
}

func BenchmarkNew(b *testing.B) {
	var pairs []Label
	benchSet.Range(func(l Label) { pairs = append(pairs, l) })
	b.ReportAllocs()
	for b.Loop() {
		sinkLabels = New(pairs...)
	}
}

func BenchmarkString(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		sinkString = benchSet.String()
	}
}

func BenchmarkMatcher(b *testing.B) {
	var many string
	for i := range 50 {
		if i > 0 {
			many += "|"
		}
		many += "value" + strconv.Itoa(i)
	}
	cases := []struct{ name, pattern, input string }{
		{"Literal", "prometheus", "prometheus"},
		{"Set3", "api|web|db", "web"},
		{"Set50", many, "value42"},
		{"FoldLiteral", "(?i)prometheus", "PROMETHEUS"},
		{"Prefix", "prom.*", "prometheus-k8s-0"},
		{"Suffix", ".*-0", "prometheus-k8s-0"},
		{"Contains", ".*k8s.*", "prometheus-k8s-0"},
		{"ContainsSet", ".*(k8s|eks).*", "prometheus-k8s-0"},
		{"DotStar", ".*", "prometheus-k8s-0"},
		{"DotPlus", ".+", "prometheus-k8s-0"},
		{"Or", "prom.*|.*-1", "prometheus-k8s-0"},
		{"Regexp", "prom[a-z]+-k8s-[0-9]+", "prometheus-k8s-0"},
		{"PlainRegexp", "[a-z]+-k8s-[0-9]+", "prometheus-k8s-0"},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			m := MustNewMatcher(MatchRegexp, "a", c.pattern)
			if !m.Matches(c.input) {
				b.Fatalf("%q does not match %q", c.pattern, c.input)
			}
			b.ReportAllocs()
			for b.Loop() {
				sinkBool = m.Matches(c.input)
			}
		})
	}
}
