package bench

import (
	"slices"
	"strings"
	"testing"

	promlabels "github.com/prometheus/prometheus/model/labels"
)

// sinkPromLabels keeps built label sets alive.
var sinkPromLabels promlabels.Labels

func init() {
	labelsImpls = append(labelsImpls, labelsImpl{name: "prometheus", ops: map[string]func(*testing.B){
		"scratchbuilder": func(b *testing.B) {
			sb := promlabels.NewScratchBuilder(len(labelPairs) / 2)
			for b.Loop() {
				sb.Reset()
				for i := 0; i < len(labelPairs); i += 2 {
					sb.Add(labelPairs[i], labelPairs[i+1])
				}
				sb.Sort()
				sinkPromLabels = sb.Labels()
			}
		},
		"new": func(b *testing.B) {
			ls := promLabelSlice(labelPairs)
			slices.SortFunc(ls, func(x, y promlabels.Label) int { return strings.Compare(x.Name, y.Name) })
			for b.Loop() {
				sinkPromLabels = promlabels.New(ls...)
			}
		},
		"newunsorted": func(b *testing.B) {
			// New may sort its argument in place (Prometheus does), so
			// every iteration starts again from exposition order; the
			// copy into a reused slice allocates nothing.
			src := promLabelSlice(labelPairs)
			ls := slices.Clone(src)
			for b.Loop() {
				copy(ls, src)
				sinkPromLabels = promlabels.New(ls...)
			}
		},
		"fromstrings": func(b *testing.B) {
			for b.Loop() {
				sinkPromLabels = promlabels.FromStrings(labelPairs...)
			}
		},
		"hash": func(b *testing.B) {
			ls := promlabels.FromStrings(labelPairs...)
			for b.Loop() {
				sinkUint64 += ls.Hash()
			}
		},
		"get": func(b *testing.B) {
			ls := promlabels.FromStrings(labelPairs...)
			for b.Loop() {
				sinkString = ls.Get(getHitName)
			}
		},
		"getmiss": func(b *testing.B) {
			ls := promlabels.FromStrings(labelPairs...)
			for b.Loop() {
				sinkString = ls.Get(getMissName)
			}
		},
		"equal": func(b *testing.B) {
			x := promlabels.FromStrings(labelPairs...)
			y := promlabels.FromStrings(clonedPairs("")...)
			if !promlabels.Equal(x, y) {
				b.Fatal("sets differ")
			}
			for b.Loop() {
				sinkBool = promlabels.Equal(x, y)
			}
		},
		"compare": func(b *testing.B) {
			x := promlabels.FromStrings(labelPairs...)
			y := promlabels.FromStrings(clonedPairs("~differs")...)
			if promlabels.Compare(x, y) == 0 {
				b.Fatal("sets compare equal")
			}
			for b.Loop() {
				sinkInt += promlabels.Compare(x, y)
			}
		},
		"builder": func(b *testing.B) {
			base := promlabels.FromStrings(labelPairs...)
			bld := promlabels.NewBuilder(base)
			for b.Loop() {
				bld.Reset(base)
				bld.Set(builderSetName, builderSetValue)
				bld.Set(builderOverName, builderOverVal)
				bld.Del(builderDelName)
				sinkPromLabels = bld.Labels()
			}
		},
	}})
}

func promLabelSlice(pairs []string) []promlabels.Label {
	ls := make([]promlabels.Label, 0, len(pairs)/2)
	for i := 0; i < len(pairs); i += 2 {
		ls = append(ls, promlabels.Label{Name: pairs[i], Value: pairs[i+1]})
	}
	return ls
}
