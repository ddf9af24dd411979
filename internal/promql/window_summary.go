package promql

import (
	"cmp"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// windowSummary is a summary family with one label, exposed as
// client_golang's Summary is (quantiles over a sliding window of maxAge,
// sum and count since start), for observations on the query path.
// client_golang's Summary inserts every observation into a CKMS stream,
// about 490 ns each on this project's machine: three of them were a
// seventh of the CPU of a small instant query. Here an observation is a
// store into a bounded sample of its age bucket under a mutex, and the
// quantiles are computed when the metric is collected.
//
// The window is made of windowBuckets buckets of maxAge/windowBuckets
// each, as client_golang's AgeBuckets. A bucket keeps every observation
// up to windowSampleSize and then a uniform random sample of them
// (reservoir sampling) with the bucket's count, so quantiles are exact
// while a bucket has at most windowSampleSize observations and estimated
// from a weighted sample above that.
type windowSummary struct {
	desc       *prometheus.Desc
	objectives []float64
	bucketLen  time.Duration
	now        func() time.Time // time.Now; tests set it
	children   []*windowChild
}

const (
	windowBuckets    = 5
	windowSampleSize = 2048
)

// windowChild is the summary of one label value.
type windowChild struct {
	label string
	mu    sync.Mutex
	count uint64
	sum   float64
	rng   uint64 // splitmix64 state for the reservoir
	// buckets[e%windowBuckets] holds the observations of epoch e (time
	// divided by the bucket length) when its epoch field is e.
	buckets [windowBuckets]windowBucket
}

type windowBucket struct {
	epoch  int64
	seen   uint64 // observations in the epoch
	sample []float64
}

// newWindowSummary returns a family with a child per label value.
func newWindowSummary(name, help, label string, values []string, objectives []float64, maxAge time.Duration) *windowSummary {
	s := &windowSummary{
		desc:       prometheus.NewDesc(name, help, []string{label}, nil),
		objectives: objectives,
		bucketLen:  maxAge / windowBuckets,
		now:        time.Now,
	}
	for i, v := range values {
		s.children = append(s.children, &windowChild{label: v, rng: uint64(i) + 1})
	}
	return s
}

// epoch returns the bucket epoch of t.
func (s *windowSummary) epoch(t time.Time) int64 { return t.UnixNano() / int64(s.bucketLen) }

// observe records v for child i at time now.
func (s *windowSummary) observe(i int, now time.Time, v float64) {
	c, e := s.children[i], s.epoch(now)
	c.mu.Lock()
	c.count++
	c.sum += v
	b := &c.buckets[e%windowBuckets]
	if b.epoch != e {
		b.epoch, b.seen, b.sample = e, 0, b.sample[:0]
	}
	b.seen++
	if len(b.sample) < windowSampleSize {
		b.sample = append(b.sample, v)
	} else if j := c.next() % b.seen; j < windowSampleSize {
		b.sample[j] = v
	}
	c.mu.Unlock()
}

// next steps the child's splitmix64 generator; the caller holds mu.
func (c *windowChild) next() uint64 {
	c.rng += 0x9e3779b97f4a7c15
	z := c.rng
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

func (s *windowSummary) Describe(ch chan<- *prometheus.Desc) { ch <- s.desc }

func (s *windowSummary) Collect(ch chan<- prometheus.Metric) {
	cur := s.epoch(s.now())
	var pts []weighted
	for _, c := range s.children {
		pts = pts[:0]
		c.mu.Lock()
		count, sum := c.count, c.sum
		for k := range c.buckets {
			b := &c.buckets[k]
			if b.seen == 0 || b.epoch <= cur-windowBuckets || b.epoch > cur {
				continue
			}
			w := float64(b.seen) / float64(len(b.sample))
			for _, v := range b.sample {
				pts = append(pts, weighted{v, w})
			}
		}
		c.mu.Unlock()
		ch <- prometheus.MustNewConstSummary(s.desc, count, sum, weightedQuantiles(pts, s.objectives), c.label)
	}
}

// weighted is a sampled observation standing for w observations.
type weighted struct{ v, w float64 }

// weightedQuantiles returns, for each q, the smallest value whose
// cumulative weight reaches q of the total (the q-th observation by rank,
// as a summary reports it), or NaN when there are no values.
func weightedQuantiles(pts []weighted, qs []float64) map[float64]float64 {
	out := make(map[float64]float64, len(qs))
	if len(pts) == 0 {
		for _, q := range qs {
			out[q] = math.NaN()
		}
		return out
	}
	slices.SortFunc(pts, func(a, b weighted) int { return cmp.Compare(a.v, b.v) })
	total := 0.0
	for _, p := range pts {
		total += p.w
	}
	for _, q := range qs {
		rank, acc := q*total, 0.0
		v := pts[len(pts)-1].v
		for _, p := range pts {
			acc += p.w
			if acc >= rank {
				v = p.v
				break
			}
		}
		out[q] = v
	}
	return out
}
