package index

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/vigil-monitoring/vigil/internal/storage"
)

// BenchmarkIntersect intersects on-disk lists of the shapes queries meet:
// two large lists (a metric name and a job), and a large list with a
// small one (a metric name and one instance), where skip tables let Seek
// jump instead of decoding every entry.
func BenchmarkIntersect(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	big1 := randomList(rng, 1_000_000, 4)
	big2 := randomList(rng, 1_000_000, 4)
	small := randomList(rng, 1000, 4000)
	enc := func(l []storage.SeriesRef) []byte { return encodePostings(nil, toU32(l)) }
	e1, e2, es := enc(big1), enc(big2), enc(small)
	for _, bc := range []struct {
		name string
		a, b []byte
	}{
		{"1Mx1M", e1, e2},
		{"1Mx1k", e1, es},
		{"1kx1M", es, e1},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(bc.a) + len(bc.b)))
			for b.Loop() {
				pa, _ := newDiskPostings(bc.a)
				pb, _ := newDiskPostings(bc.b)
				n := 0
				for p := Intersect(pa, pb); p.Next(); {
					n++
				}
			}
		})
	}
}

// BenchmarkMerge unions many lists, as a regexp over many values does.
func BenchmarkMerge(b *testing.B) {
	rng := rand.New(rand.NewPCG(2, 2))
	for _, k := range []int{2, 100} {
		var encs [][]byte
		for range k {
			encs = append(encs, encodePostings(nil, toU32(randomList(rng, 200_000/k, 20*k))))
		}
		b.Run(fmt.Sprint("lists=", k), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				ps := make([]Postings, k)
				for i, e := range encs {
					ps[i], _ = newDiskPostings(e)
				}
				for p := Merge(ps...); p.Next(); {
				}
			}
		})
	}
}
