package promqltest

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/vigil-monitoring/vigil/internal/model/histogram"
	"github.com/vigil-monitoring/vigil/internal/model/labels"
	"github.com/vigil-monitoring/vigil/internal/model/value"
	"github.com/vigil-monitoring/vigil/internal/storage"
)

// load appends the series of a load command to the storage.
func (c *loadCmd) load(ctx context.Context, st *testStorage) error {
	app := st.Appender(ctx)
	stepMs := c.step.Milliseconds()
	for _, s := range c.series {
		var prev *histogram.FloatHistogram
		for i, v := range s.values {
			if v.Omitted {
				continue
			}
			t := int64(i) * stepMs
			var err error
			if v.Histogram != nil {
				h := v.Histogram.Copy()
				setCounterResetHint(h, prev)
				prev = h
				if value.IsStaleNaN(h.Sum) {
					prev = nil
				}
				_, err = app.AppendHistogram(0, s.metric, t, nil, h)
			} else {
				prev = nil
				_, err = app.Append(0, s.metric, t, v.Value)
			}
			if err != nil {
				_ = app.Rollback()
				return fmt.Errorf("line %d: loading %s at %d: %w", c.at, s.metric, t, err)
			}
			if i < len(s.starts) && !s.starts[i].Omitted {
				// Start timestamps are written as offsets in seconds
				// from the sample's time.
				st.setStartTimestamp(s.metric, t, t+int64(math.Round(s.starts[i].Value*1000)))
			}
		}
	}
	if c.nhcb {
		if err := c.appendCustomBucketHistograms(app); err != nil {
			_ = app.Rollback()
			return fmt.Errorf("line %d: %w", c.at, err)
		}
	}
	return app.Commit()
}

// setCounterResetHint gives a histogram the counter reset hint the TSDB
// reports when reading it back, since query results (and the scripts'
// expectations) depend on it. The TSDB stores counter histograms in chunks
// and cuts a new chunk at a counter reset (detected or marked), at the
// first histogram after a float or a staleness marker, and when the
// schema, zero threshold or custom bounds change. The first histogram of a
// chunk reads back as UnknownCounterReset (Prometheus no longer trusts the
// chunk's reset header), the others as NotCounterReset. Gauge histograms
// stay gauges.
func setCounterResetHint(h, prev *histogram.FloatHistogram) {
	if h.CounterResetHint == histogram.GaugeType {
		return
	}
	newChunk := prev == nil ||
		prev.CounterResetHint == histogram.GaugeType ||
		h.CounterResetHint == histogram.CounterReset ||
		h.Schema != prev.Schema ||
		h.ZeroThreshold != prev.ZeroThreshold ||
		(h.UsesCustomBuckets() && !histogram.CustomBucketBoundsMatch(h.CustomValues, prev.CustomValues)) ||
		h.DetectReset(prev)
	if newChunk {
		h.CounterResetHint = histogram.UnknownCounterReset
	} else {
		h.CounterResetHint = histogram.NotCounterReset
	}
}

// classicHistogram collects the series of one classic histogram at one
// time: cumulative bucket counts by upper bound, count and sum.
type classicHistogram struct {
	buckets  []classicBucket
	count    float64
	hasCount bool
	sum      float64
	err      error
}

type classicBucket struct {
	le, count float64
}

func (h *classicHistogram) setBucket(le, count float64) {
	if h.err != nil {
		return
	}
	if count < 0 {
		h.err = fmt.Errorf("bucket count must be non-negative: le=%g, count=%g", le, count)
		return
	}
	i, found := slices.BinarySearchFunc(h.buckets, le, func(b classicBucket, le float64) int {
		switch {
		case b.le < le:
			return -1
		case b.le > le:
			return 1
		}
		return 0
	})
	if found {
		return // A duplicate bound, such as le="0.2" and le="2e-1".
	}
	if i > 0 && count < h.buckets[i-1].count || i < len(h.buckets) && count > h.buckets[i].count {
		h.err = fmt.Errorf("count is not cumulative at le=%g", le)
		return
	}
	h.buckets = slices.Insert(h.buckets, i, classicBucket{le: le, count: count})
}

// convert returns the histogram as a native histogram with custom bucket
// bounds (the finite upper bounds), as load_with_nhcb stores them.
func (h *classicHistogram) convert() (*histogram.FloatHistogram, error) {
	if h.err != nil {
		return nil, h.err
	}
	if !h.hasCount {
		if len(h.buckets) == 0 {
			return nil, fmt.Errorf("count must be provided when no buckets are present")
		}
		h.count = h.buckets[len(h.buckets)-1].count
	}
	bs := h.buckets
	if len(bs) == 0 || !math.IsInf(bs[len(bs)-1].le, 1) {
		bs = append(bs, classicBucket{le: math.Inf(1), count: h.count})
	}
	if h.count != bs[len(bs)-1].count {
		return nil, fmt.Errorf("count mismatch: count=%g != le=%g count=%g", h.count, bs[len(bs)-1].le, bs[len(bs)-1].count)
	}
	fh := &histogram.FloatHistogram{
		Schema:          histogram.CustomBucketsSchema,
		Count:           h.count,
		Sum:             h.sum,
		PositiveSpans:   []histogram.Span{{Length: uint32(len(bs))}},
		PositiveBuckets: make([]float64, len(bs)),
	}
	if len(bs) > 1 {
		fh.CustomValues = make([]float64, 0, len(bs)-1)
	}
	prev := 0.0
	for i, b := range bs {
		fh.PositiveBuckets[i] = b.count - prev
		prev = b.count
		if !math.IsInf(b.le, 1) {
			fh.CustomValues = append(fh.CustomValues, b.le)
		}
	}
	fh.Compact(0)
	if err := fh.Validate(); err != nil {
		return nil, err
	}
	return fh, nil
}

// appendCustomBucketHistograms adds, for every classic histogram of the
// load command (series X_bucket with le, X_count, X_sum), a native
// histogram series X with custom buckets at every time one of them has a
// sample.
func (c *loadCmd) appendCustomBucketHistograms(app storage.Appender) error {
	type group struct {
		metric labels.Labels
		byTime map[int64]*classicHistogram
	}
	groups := map[labels.Labels]*group{}
	var order []labels.Labels
	stepMs := c.step.Milliseconds()
	for _, s := range c.series {
		name := s.metric.Get(labels.MetricName)
		var base string
		var set func(h *classicHistogram, v float64)
		switch {
		case strings.HasSuffix(name, "_bucket"):
			base = strings.TrimSuffix(name, "_bucket")
			le, err := strconv.ParseFloat(s.metric.Get(labels.BucketLabel), 64)
			if err != nil || math.IsNaN(le) {
				continue
			}
			set = func(h *classicHistogram, v float64) { h.setBucket(le, v) }
		case strings.HasSuffix(name, "_count"):
			base = strings.TrimSuffix(name, "_count")
			set = func(h *classicHistogram, v float64) {
				if h.err == nil && v < 0 {
					h.err = fmt.Errorf("count must be non-negative: count=%g", v)
				}
				h.count, h.hasCount = v, true
			}
		case strings.HasSuffix(name, "_sum"):
			base = strings.TrimSuffix(name, "_sum")
			set = func(h *classicHistogram, v float64) { h.sum = v }
		default:
			continue
		}
		key := labels.NewBuilder(s.metric).Set(labels.MetricName, base).Del(labels.BucketLabel).Labels()
		g := groups[key]
		if g == nil {
			g = &group{metric: key, byTime: map[int64]*classicHistogram{}}
			groups[key] = g
			order = append(order, key)
		}
		for i, v := range s.values {
			if v.Omitted || v.Histogram != nil {
				continue
			}
			t := int64(i) * stepMs
			h := g.byTime[t]
			if h == nil {
				h = &classicHistogram{}
				g.byTime[t] = h
			}
			set(h, v.Value)
		}
	}
	for _, key := range order {
		g := groups[key]
		times := make([]int64, 0, len(g.byTime))
		for t := range g.byTime {
			times = append(times, t)
		}
		slices.Sort(times)
		for _, t := range times {
			fh, err := g.byTime[t].convert()
			if err != nil {
				return fmt.Errorf("converting classic histogram %s at %d: %w", g.metric, t, err)
			}
			if _, err := app.AppendHistogram(0, g.metric, t, nil, fh); err != nil {
				return err
			}
		}
	}
	return nil
}
