package bench

import (
	"slices"
	"strings"
	"testing"

	"github.com/vigil-monitoring/vigil/internal/model/labels"
)

// sinkVigilLabels keeps built label sets alive.
var sinkVigilLabels labels.Labels

func init() {
	labelsImpls = append(labelsImpls, labelsImpl{name: "vigil", ops: map[string]func(*testing.B){
		"scratchbuilder": func(b *testing.B) {
			sb := labels.NewScratchBuilder(len(labelPairs) / 2)
			for b.Loop() {
				sb.Reset()
				for i := 0; i < len(labelPairs); i += 2 {
					sb.Add(labelPairs[i], labelPairs[i+1])
				}
				sb.Sort()
				sinkVigilLabels = sb.Labels()
			}
		},
		// Vigil only: what its parser uses, adding byte slices of the body.
		"scratchbuilderbytes": func(b *testing.B) {
			pairs := make([][]byte, len(labelPairs))
			for i, s := range labelPairs {
				pairs[i] = []byte(s)
			}
			sb := labels.NewScratchBuilder(len(labelPairs) / 2)
			for b.Loop() {
				sb.Reset()
				for i := 0; i < len(pairs); i += 2 {
					sb.UnsafeAddBytes(pairs[i], pairs[i+1])
				}
				sb.Sort()
				sinkVigilLabels = sb.Labels()
			}
		},
		"new": func(b *testing.B) {
			ls := vigilLabelSlice(labelPairs)
			slices.SortFunc(ls, func(x, y labels.Label) int { return strings.Compare(x.Name, y.Name) })
			for b.Loop() {
				sinkVigilLabels = labels.New(ls...)
			}
		},
		"newunsorted": func(b *testing.B) {
			// New may sort its argument in place (Prometheus does), so
			// every iteration starts again from exposition order; the
			// copy into a reused slice allocates nothing.
			src := vigilLabelSlice(labelPairs)
			ls := slices.Clone(src)
			for b.Loop() {
				copy(ls, src)
				sinkVigilLabels = labels.New(ls...)
			}
		},
		"fromstrings": func(b *testing.B) {
			for b.Loop() {
				sinkVigilLabels = labels.FromStrings(labelPairs...)
			}
		},
		"hash": func(b *testing.B) {
			ls := labels.FromStrings(labelPairs...)
			for b.Loop() {
				sinkUint64 += ls.Hash()
			}
		},
		"get": func(b *testing.B) {
			ls := labels.FromStrings(labelPairs...)
			for b.Loop() {
				sinkString = ls.Get(getHitName)
			}
		},
		"getmiss": func(b *testing.B) {
			ls := labels.FromStrings(labelPairs...)
			for b.Loop() {
				sinkString = ls.Get(getMissName)
			}
		},
		"equal": func(b *testing.B) {
			x := labels.FromStrings(labelPairs...)
			y := labels.FromStrings(clonedPairs("")...)
			if !labels.Equal(x, y) {
				b.Fatal("sets differ")
			}
			for b.Loop() {
				sinkBool = labels.Equal(x, y)
			}
		},
		"compare": func(b *testing.B) {
			x := labels.FromStrings(labelPairs...)
			y := labels.FromStrings(clonedPairs("~differs")...)
			if labels.Compare(x, y) == 0 {
				b.Fatal("sets compare equal")
			}
			for b.Loop() {
				sinkInt += labels.Compare(x, y)
			}
		},
		"builder": func(b *testing.B) {
			base := labels.FromStrings(labelPairs...)
			bld := labels.NewBuilder(base)
			for b.Loop() {
				bld.Reset(base)
				bld.Set(builderSetName, builderSetValue)
				bld.Set(builderOverName, builderOverVal)
				bld.Del(builderDelName)
				sinkVigilLabels = bld.Labels()
			}
		},
	}})
}

func vigilLabelSlice(pairs []string) []labels.Label {
	ls := make([]labels.Label, 0, len(pairs)/2)
	for i := 0; i < len(pairs); i += 2 {
		ls = append(ls, labels.Label{Name: pairs[i], Value: pairs[i+1]})
	}
	return ls
}
