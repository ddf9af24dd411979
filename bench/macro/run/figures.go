package main

import "math"

// Figures are the per-system results.
type Figures struct {
	SamplesPerSec           float64 `json:"samples_per_sec"`
	CPUSecPerMillionSamples float64 `json:"cpu_sec_per_million_samples"`
	CPUCoresUsed            float64 `json:"cpu_cores_used"`
	ActiveSeries            float64 `json:"active_series"`
	RSSIdle                 float64 `json:"rss_idle_bytes"`
	RSSSteady               float64 `json:"rss_steady_bytes"`
	RSSPeak                 float64 `json:"rss_peak_bytes"`
	RSSPeakIngest           float64 `json:"rss_peak_ingest_bytes"`
	RSSPerSeriesSteady      float64 `json:"rss_per_series_steady"`
	RSSPerSeriesPeak        float64 `json:"rss_per_series_peak"`
	RSSAboveIdlePerSeries   float64 `json:"rss_above_idle_per_series"`
	DiskBytesPerSample      float64 `json:"disk_bytes_per_sample"`
	DiskApparentPerSample   float64 `json:"disk_apparent_bytes_per_sample"`
	DiskAfterStopPerSample  float64 `json:"disk_bytes_per_sample_after_stop"`
	QueryMedianGeomeanMs    float64 `json:"query_median_geomean_ms"`
	QueryP90GeomeanMs       float64 `json:"query_p90_geomean_ms"`

	// Bytes per sample in blocks (Vigil and Prometheus; see blockFigures).
	BlockBytesPerSample       float64      `json:"block_bytes_per_sample"`
	BlockL2BytesPerSample     float64      `json:"block_level2up_bytes_per_sample"`
	BlockCommonBytesPerSample float64      `json:"block_common_span_bytes_per_sample"`
	BlockChunkBytesPerSample  float64      `json:"block_chunk_bytes_per_sample"`
	BlockIndexBytesPerSample  float64      `json:"block_index_bytes_per_sample"`
	BlockFigures              BlockFigures `json:"blocks"`
}

// computeFigures derives each system's figures from its snapshots and
// the ratios of Vigil's against each peer's.
func computeFigures(res *Results, c config) {
	for _, s := range res.Systems {
		f := &s.Figures
		ws, we := s.WindowStart, s.WindowEnd
		dt := we.T.Sub(ws.T).Seconds()
		dSamples := we.Samples - ws.Samples
		f.SamplesPerSec = dSamples / dt
		f.CPUSecPerMillionSamples = (we.CPUSec - ws.CPUSec) / dSamples * 1e6
		f.CPUCoresUsed = (we.CPUSec - ws.CPUSec) / dt
		f.ActiveSeries = we.Series
		f.RSSIdle = float64(s.Idle.RSS)
		var sum float64
		var n int
		for _, sn := range s.Timeline {
			if !sn.T.Before(ws.T) && !sn.T.After(we.T) {
				sum += float64(sn.RSS)
				n++
			}
		}
		if n == 0 {
			sum, n = float64(we.RSS), 1
		}
		f.RSSSteady = sum / float64(n)
		f.RSSPeak = float64(s.Final.HWM)
		f.RSSPeakIngest = float64(we.HWM)
		f.RSSPerSeriesSteady = f.RSSSteady / f.ActiveSeries
		f.RSSPerSeriesPeak = f.RSSPeak / f.ActiveSeries
		f.RSSAboveIdlePerSeries = (f.RSSSteady - f.RSSIdle) / f.ActiveSeries
		f.DiskBytesPerSample = float64(s.DiskAtWindowEnd.Allocated) / s.SamplesAtWindowEnd
		f.DiskApparentPerSample = float64(s.DiskAtWindowEnd.Apparent) / s.SamplesAtWindowEnd
		// VictoriaMetrics persists its in-memory caches to cache/ when it
		// stops; that is not sample data.
		f.DiskAfterStopPerSample = float64(s.DiskAfterStop.Allocated-s.DiskAfterStop.ByTop["cache"]) / s.SamplesAtStop
		var lm, lp float64
		var ln int
		for _, st := range s.Latency {
			if st.Median > 0 && st.P90 > 0 {
				lm += math.Log(st.Median)
				lp += math.Log(st.P90)
				ln++
			}
		}
		if ln > 0 && ln == 2*len(dashboard) {
			f.QueryMedianGeomeanMs = math.Exp(lm / float64(ln))
			f.QueryP90GeomeanMs = math.Exp(lp / float64(ln))
		} else {
			f.QueryMedianGeomeanMs, f.QueryP90GeomeanMs = math.NaN(), math.NaN()
		}
	}
	vigil := res.Systems[0]
	type fig struct {
		name    string
		get     func(*Figures) float64
		vsProm  float64
		vsVM    float64
		perQGeo bool
	}
	figs := []fig{
		{"CPU seconds per million samples", func(f *Figures) float64 { return f.CPUSecPerMillionSamples }, 0.5, 1, false},
		{"RSS bytes per active series (steady)", func(f *Figures) float64 { return f.RSSPerSeriesSteady }, 0.5, 1, false},
		{"RSS bytes per active series (peak, VmHWM)", func(f *Figures) float64 { return f.RSSPerSeriesPeak }, 0.5, 1, false},
		{"RSS above idle per active series", func(f *Figures) float64 { return f.RSSAboveIdlePerSeries }, 0, 0, false},
		{"bytes on disk per sample", func(f *Figures) float64 { return f.DiskBytesPerSample }, 0.6, 1, false},
		{"query latency median (geomean of 14)", func(f *Figures) float64 { return f.QueryMedianGeomeanMs }, 0.5, 1, false},
		{"query latency p90 (geomean of 14)", func(f *Figures) float64 { return f.QueryP90GeomeanMs }, 0, 0, false},
	}
	for _, fg := range figs {
		for _, peer := range res.Systems[1:] {
			goal := fg.vsProm
			if peer.Name == "victoriametrics" {
				goal = fg.vsVM
			}
			v, o := fg.get(&vigil.Figures), fg.get(&peer.Figures)
			r := Ratio{Figure: fg.name, Peer: peer.Name, Vigil: v, Other: o, Ratio: v / o, Goal: goal}
			r.Met = goal > 0 && r.Ratio <= goal
			res.Ratios = append(res.Ratios, r)
		}
	}
	blockFigures(vigil, res.Systems[1], c.blockDuration.Milliseconds())
	blockRatios(res)
}
