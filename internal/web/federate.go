package web

import (
	"bufio"
	"cmp"
	"fmt"
	"io"
	"math"
	"mime"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"

	dto "github.com/prometheus/client_model/go"
	"google.golang.org/protobuf/encoding/protodelim"
	"google.golang.org/protobuf/proto"

	"github.com/vigil-monitoring/vigil/internal/exposition"
	"github.com/vigil-monitoring/vigil/internal/model/histogram"
	"github.com/vigil-monitoring/vigil/internal/model/labels"
	"github.com/vigil-monitoring/vigil/internal/model/value"
	"github.com/vigil-monitoring/vigil/internal/promql/parser"
	"github.com/vigil-monitoring/vigil/internal/storage"
)

// federationFormat is an exposition format /federate can answer in.
type federationFormat int

const (
	fmtText004 federationFormat = iota // names escaped to the legacy charset
	fmtText100                         // UTF-8 names quoted
	fmtProtoDelim
)

func (f federationFormat) contentType() string {
	switch f {
	case fmtText100:
		return "text/plain; version=1.0.0; charset=utf-8; escaping=allow-utf-8"
	case fmtProtoDelim:
		return "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited; escaping=allow-utf-8"
	}
	return "text/plain; version=0.0.4; charset=utf-8; escaping=underscores"
}

// negotiateFederation picks the format from the Accept header: the
// highest-weighted of delimited protobuf and the text format (version
// 1.0.0 with allow-utf-8 escaping, else 0.0.4). OpenMetrics is not
// offered, as in Prometheus, so a Prometheus scraper that prefers it
// falls through to its next choice.
func negotiateFederation(accept string) federationFormat {
	type clause struct {
		f federationFormat
		q float64
	}
	var best *clause
	for _, part := range strings.Split(accept, ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		q := 1.0
		if s, ok := params["q"]; ok {
			if q, err = strconv.ParseFloat(s, 64); err != nil {
				continue
			}
		}
		if q <= 0 {
			continue
		}
		var f federationFormat
		switch mt {
		case "application/vnd.google.protobuf":
			if params["proto"] != "io.prometheus.client.MetricFamily" || params["encoding"] != "delimited" {
				continue
			}
			f = fmtProtoDelim
		case "text/plain":
			f = fmtText004
			if params["version"] == "1.0.0" && params["escaping"] == "allow-utf-8" {
				f = fmtText100
			}
		case "*/*", "text/*":
			f = fmtText004
		default:
			continue
		}
		if best == nil || q > best.q {
			best = &clause{f, q}
		}
	}
	if best == nil {
		return fmtText004
	}
	return best.f
}

// federated is the newest sample of one series.
type federated struct {
	lset labels.Labels
	name string
	t    int64
	f    float64
	h    *histogram.FloatHistogram
}

// federate serves /federate: for every series matching any match[]
// selector, its newest sample within the lookback delta, stale markers
// left out, with the external labels added where the series lacks them.
func (h *Handler) federate(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, fmt.Sprintf("error parsing form values: %v", err), http.StatusBadRequest)
		return
	}
	if len(r.Form["match[]"]) == 0 {
		http.Error(w, "at least one match[] parameter is required", http.StatusBadRequest)
		return
	}
	var sets [][]*labels.Matcher
	for _, s := range r.Form["match[]"] {
		ms, err := parser.ParseMetricSelector(s)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		sets = append(sets, ms)
	}
	now := h.now()
	maxt := value.FromTime(now)
	mint := value.FromTime(now.Add(-h.opts.LookbackDelta))
	q, err := h.opts.Queryable.Querier(mint, maxt)
	if err != nil {
		h.federationErrors.Inc()
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	defer q.Close()

	hints := &storage.SelectHints{Start: mint, End: maxt}
	parts := make([]storage.SeriesSet, 0, len(sets))
	for _, ms := range sets {
		parts = append(parts, q.Select(r.Context(), true, hints, ms...))
	}
	set := storage.NewMergeSeriesSet(parts, 0, storage.ChainedSeriesMerge)
	var (
		samples []federated
		it      storage.Iterator
	)
	for set.Next() {
		s := set.At()
		it = s.Iterator(it)
		smp, ok := newestSample(it, maxt)
		if !ok {
			continue
		}
		smp.lset = s.Labels()
		smp.name = smp.lset.Get(labels.MetricName)
		if smp.name == "" {
			continue // a nameless series cannot be exposed
		}
		samples = append(samples, smp)
	}
	if err := set.Err(); err != nil {
		h.federationErrors.Inc()
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	if ws := set.Warnings(); len(ws) > 0 {
		h.logger.Debug("Federation select returned warnings", "warnings", ws)
	}
	// Families are runs of one name and one kind of sample.
	slices.SortStableFunc(samples, func(a, b federated) int {
		if c := strings.Compare(a.name, b.name); c != 0 {
			return c
		}
		return cmp.Compare(kind(a), kind(b))
	})

	var ext labels.Labels
	if h.opts.ExternalLabels != nil {
		ext = h.opts.ExternalLabels()
	}
	format := negotiateFederation(r.Header.Get("Accept"))
	w.Header().Set("Content-Type", format.contentType())
	bw := bufio.NewWriterSize(w, 64<<10)
	defer bw.Flush()
	lb := labels.NewBuilder(labels.EmptyLabels())
	if format == fmtProtoDelim {
		err = writeFederationProto(bw, samples, ext, lb)
	} else {
		err = writeFederationText(bw, samples, ext, lb, format == fmtText004)
	}
	if err != nil {
		h.federationErrors.Inc()
		h.logger.Debug("Writing federation response failed", "err", err)
	}
}

// kind orders float samples, histograms and gauge histograms of one name
// into separate families.
func kind(s federated) int {
	switch {
	case s.h == nil:
		return 0
	case s.h.CounterResetHint == histogram.GaugeType:
		return 2
	}
	return 1
}

// newestSample returns the last sample at or before maxt that is not a
// stale marker.
func newestSample(it storage.Iterator, maxt int64) (federated, bool) {
	var (
		out   federated
		found bool
		vt    storage.ValueType
	)
	for vt = it.Next(); vt != storage.ValNone; vt = it.Next() {
		t := it.AtT()
		if t > maxt {
			break
		}
		switch vt {
		case storage.ValFloat:
			_, f := it.At()
			out = federated{t: t, f: f}
		case storage.ValHistogram, storage.ValFloatHistogram:
			_, fh := it.AtFloatHistogram(nil)
			out = federated{t: t, h: fh}
		}
		found = true
	}
	if it.Err() != nil || !found {
		return federated{}, false
	}
	// The exposition formats have no stale markers; a series that went
	// stale is simply left out, which the federating server turns into
	// staleness of its own.
	if out.h == nil && value.IsStaleNaN(out.f) || out.h != nil && value.IsStaleNaN(out.h.Sum) {
		return federated{}, false
	}
	return out, true
}

// withExternal adds the external labels the series lacks, and an empty
// instance label when it has none.
func withExternal(lb *labels.Builder, lset, ext labels.Labels) labels.Labels {
	lb.Reset(lset)
	ext.Range(func(l labels.Label) {
		if lset.Get(l.Name) == "" {
			lb.Set(l.Name, l.Value)
		}
	})
	// An empty instance label cannot live in a label set; the writers
	// add it.
	return lb.Labels()
}

// escapeLegacy maps a name to the legacy charset [a-zA-Z_:][a-zA-Z0-9_:]*
// by replacing every other character with an underscore (the
// "underscores" escaping of text 0.0.4).
func escapeLegacy(name string) string {
	if labels.IsValidLegacyMetricName(name) {
		return name
	}
	var b strings.Builder
	for i, r := range name {
		switch {
		case r == '_' || r == ':' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z'):
			b.WriteRune(r)
		case r >= '0' && r <= '9' && i > 0:
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	return b.String()
}

func writeFederationText(w io.Writer, samples []federated, ext labels.Labels, lb *labels.Builder, legacy bool) error {
	var buf []byte
	lastName, lastKind := "", -1
	for _, s := range samples {
		if s.h != nil && !s.h.UsesCustomBuckets() {
			// The text format cannot carry exponential native histograms.
			continue
		}
		lset := withExternal(lb, s.lset, ext)
		name := s.name
		if legacy {
			lset = escapeLabels(lset)
			name = escapeLegacy(name)
		}
		if name != lastName || kind(s) != lastKind {
			typ := exposition.MetricTypeUnknown
			switch kind(s) {
			case 1:
				typ = exposition.MetricTypeHistogram
			case 2:
				typ = exposition.MetricTypeGaugeHistogram
			}
			buf = exposition.AppendTextType(buf, name, typ)
			lastName, lastKind = name, kind(s)
		}
		ts := s.t
		if s.h == nil {
			buf = exposition.AppendTextSample(buf, withInstance(lset), s.f, &ts)
		} else {
			buf = appendClassicHistogram(buf, lset, name, s.h, ts)
		}
		if len(buf) > 32<<10 {
			if _, err := w.Write(buf); err != nil {
				return err
			}
			buf = buf[:0]
		}
	}
	_, err := w.Write(buf)
	return err
}

// withInstance adds instance="" to a series without an instance label,
// which the label Builder cannot express: a federating server with
// honor_labels then keeps the series' own (empty) instance instead of
// adding the federated server's address.
func withInstance(lset labels.Labels) labels.Labels {
	if lset.Has(labels.InstanceName) {
		return lset
	}
	ls := make([]labels.Label, 0, lset.Len()+1)
	lset.Range(func(l labels.Label) { ls = append(ls, l) })
	ls = append(ls, labels.Label{Name: labels.InstanceName})
	return labels.New(ls...) // sorts

}

func escapeLabels(lset labels.Labels) labels.Labels {
	b := labels.NewScratchBuilder(lset.Len())
	lset.Range(func(l labels.Label) {
		if l.Name == labels.MetricName {
			b.Add(l.Name, escapeLegacy(l.Value))
			return
		}
		b.Add(escapeLegacy(l.Name), l.Value)
	})
	b.Sort()
	return b.Labels()
}

// classicBuckets turns a custom-bucket native histogram into cumulative
// counts per upper bound, +Inf last.
func classicBuckets(h *histogram.FloatHistogram) (bounds, cumulative []float64) {
	counts := make([]float64, len(h.CustomValues)+1)
	for it := h.PositiveBucketIterator(); it.Next(); {
		b := it.At()
		if i := int(b.Index); i >= 0 && i < len(counts) {
			counts[i] += b.Count
		}
	}
	bounds = append(append([]float64{}, h.CustomValues...), math.Inf(1))
	cumulative = make([]float64, len(counts))
	sum := 0.0
	for i, c := range counts {
		sum += c
		cumulative[i] = sum
	}
	return bounds, cumulative
}

func appendClassicHistogram(buf []byte, lset labels.Labels, name string, h *histogram.FloatHistogram, ts int64) []byte {
	bounds, cum := classicBuckets(h)
	lb := labels.NewBuilder(lset)
	for i, le := range bounds {
		lb.Set(labels.MetricName, name+"_bucket")
		lb.Set("le", string(exposition.AppendTextFloat(nil, le)))
		buf = exposition.AppendTextSample(buf, withInstance(lb.Labels()), cum[i], &ts)
	}
	lb.Del("le")
	lb.Set(labels.MetricName, name+"_sum")
	buf = exposition.AppendTextSample(buf, withInstance(lb.Labels()), h.Sum, &ts)
	lb.Set(labels.MetricName, name+"_count")
	return exposition.AppendTextSample(buf, withInstance(lb.Labels()), h.Count, &ts)
}

func writeFederationProto(w io.Writer, samples []federated, ext labels.Labels, lb *labels.Builder) error {
	var fam *dto.MetricFamily
	flush := func() error {
		if fam == nil {
			return nil
		}
		_, err := protodelim.MarshalTo(w, fam)
		fam = nil
		return err
	}
	lastName, lastKind := "", -1
	for _, s := range samples {
		if s.name != lastName || kind(s) != lastKind {
			if err := flush(); err != nil {
				return err
			}
			typ := dto.MetricType_UNTYPED
			switch kind(s) {
			case 1:
				typ = dto.MetricType_HISTOGRAM
			case 2:
				typ = dto.MetricType_GAUGE_HISTOGRAM
			}
			fam = &dto.MetricFamily{Name: proto.String(s.name), Type: typ.Enum()}
			lastName, lastKind = s.name, kind(s)
		}
		m := &dto.Metric{TimestampMs: proto.Int64(s.t)}
		lset := withExternal(lb, s.lset, ext)
		lset.Range(func(l labels.Label) {
			if l.Name != labels.MetricName {
				m.Label = append(m.Label, &dto.LabelPair{Name: proto.String(l.Name), Value: proto.String(l.Value)})
			}
		})
		if !lset.Has(labels.InstanceName) {
			m.Label = append(m.Label, &dto.LabelPair{Name: proto.String(labels.InstanceName), Value: proto.String("")})
			sort.Slice(m.Label, func(i, j int) bool { return m.Label[i].GetName() < m.Label[j].GetName() })
		}
		switch {
		case s.h == nil:
			m.Untyped = &dto.Untyped{Value: proto.Float64(s.f)}
		case s.h.UsesCustomBuckets():
			bounds, cum := classicBuckets(s.h)
			hist := &dto.Histogram{SampleCountFloat: proto.Float64(s.h.Count), SampleSum: proto.Float64(s.h.Sum)}
			for i, le := range bounds {
				hist.Bucket = append(hist.Bucket, &dto.Bucket{UpperBound: proto.Float64(le), CumulativeCountFloat: proto.Float64(cum[i])})
			}
			m.Histogram = hist
		default:
			m.Histogram = nativeHistogram(s.h)
		}
		fam.Metric = append(fam.Metric, m)
	}
	return flush()
}

func nativeHistogram(h *histogram.FloatHistogram) *dto.Histogram {
	spans := func(ss []histogram.Span) []*dto.BucketSpan {
		out := make([]*dto.BucketSpan, len(ss))
		for i, s := range ss {
			out[i] = &dto.BucketSpan{Offset: proto.Int32(s.Offset), Length: proto.Uint32(s.Length)}
		}
		return out
	}
	out := &dto.Histogram{
		SampleCountFloat: proto.Float64(h.Count),
		SampleSum:        proto.Float64(h.Sum),
		Schema:           proto.Int32(h.Schema),
		ZeroThreshold:    proto.Float64(h.ZeroThreshold),
		ZeroCountFloat:   proto.Float64(h.ZeroCount),
		PositiveSpan:     spans(h.PositiveSpans),
		PositiveCount:    h.PositiveBuckets,
		NegativeSpan:     spans(h.NegativeSpans),
		NegativeCount:    h.NegativeBuckets,
	}
	if len(h.PositiveSpans) == 0 && len(h.NegativeSpans) == 0 {
		// A span of length zero tells parsers this is a native histogram
		// even though every observation fell into the zero bucket.
		out.PositiveSpan = []*dto.BucketSpan{{Offset: proto.Int32(0), Length: proto.Uint32(0)}}
	}
	return out
}
