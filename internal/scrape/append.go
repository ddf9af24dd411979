package scrape

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/vigil-monitoring/vigil/internal/exposition"
	"github.com/vigil-monitoring/vigil/internal/model/exemplar"
	"github.com/vigil-monitoring/vigil/internal/model/histogram"
	"github.com/vigil-monitoring/vigil/internal/model/labels"
	"github.com/vigil-monitoring/vigil/internal/model/value"
	"github.com/vigil-monitoring/vigil/internal/relabel"
	"github.com/vigil-monitoring/vigil/internal/storage"
)

// Prometheus' texts for a scrape that fails on its content.
var (
	errSampleLimit        = errors.New("sample limit exceeded")
	errBucketLimit        = errors.New("histogram bucket limit exceeded")
	errNameLabelMandatory = fmt.Errorf("missing metric name (%s label)", labels.MetricName)
)

// appendResult counts one scrape for the synthetic series.
type appendResult struct {
	total       int // samples parsed: scrape_samples_scraped
	added       int // samples left after metric relabeling
	seriesAdded int // series not in the cache before: scrape_series_added
}

// appendErrors counts samples storage rejected without failing the scrape.
type appendErrors struct {
	outOfOrder, duplicates, outOfBounds, exemplarOutOfOrder int
}

// append parses body and appends its samples to app, followed by stale
// markers for the series the previous scrape had and this one lacks. An
// empty body stands for a failed scrape: only the stale markers are
// written. On error nothing may be committed: the caller rolls app back.
//
// This is the hot path. A series whose raw bytes are in the cache costs a
// map lookup and one Append; nothing is allocated for it.
func (sl *scrapeLoop) append(app storage.Appender, body []byte, contentType string, stamp time.Time) (res appendResult, err error) {
	defTime := value.FromTime(stamp)
	c := sl.cache
	cur := c.begin()

	var staleErr error
	stale := func(ref storage.SeriesRef, lset labels.Labels) bool {
		_, err := app.Append(ref, lset, defTime, value.StaleNaN)
		switch {
		case err == nil,
			// Expected when the series was written again since (a target
			// that came back under a new loop, or two raw forms of one
			// series after relabeling, one of which is still exposed).
			errors.Is(err, storage.ErrOutOfOrderSample),
			errors.Is(err, storage.ErrDuplicateSampleForTimestamp):
			return true
		}
		staleErr = err
		return false
	}

	if len(body) == 0 {
		c.complete(cur, false, stale)
		return res, staleErr
	}

	p, fellBack, err := exposition.NewWithFallback(body, contentType, sl.opts.fallbackProtocol, sl.parserOpts)
	if err != nil {
		c.abort(cur)
		return res, err
	}
	if fellBack != nil {
		sl.logger.Debug("Unusable Content-Type, parsing with the fallback protocol", "err", fellBack)
	}
	format := exposition.FormatOf(p)
	c.parsing(format)
	// The text format has no exemplars: skip asking for them per sample.
	exemplars := format != "text"

	var (
		sampleLimitErr, bucketLimitErr error
		appErrs                        appendErrors
		lastMeta                       *metaEntry // the family whose TYPE/HELP/UNIT came last
		limited                        int        // samples counted against sample_limit
	)
loop:
	for {
		p.Expect(c.expected())
		et, perr := p.Next()
		if perr != nil {
			if perr != io.EOF {
				err = perr
			}
			break
		}
		isHist := false
		switch et {
		case exposition.EntrySeries:
		case exposition.EntryHistogram:
			if !sl.opts.nativeHistograms {
				continue
			}
			isHist = true
		case exposition.EntryType:
			name, typ := p.Type()
			lastMeta = c.setType(name, typ, cur)
			continue
		case exposition.EntryHelp:
			name, help := p.Help()
			lastMeta = c.setHelp(name, help, cur)
			continue
		case exposition.EntryUnit:
			name, unit := p.Unit()
			lastMeta = c.setUnit(name, unit, cur)
			continue
		default:
			continue
		}

		var (
			met []byte
			tsp *int64
			val float64
			h   *histogram.Histogram
			fh  *histogram.FloatHistogram
		)
		if isHist {
			met, tsp, h, fh = p.Histogram()
		} else {
			met, tsp, val = p.Series()
		}
		res.total++
		if !sl.opts.honorTimestamps {
			tsp = nil
		}
		t := defTime
		if tsp != nil {
			t = *tsp
		}

		// INVARIANT: e stays valid for this iteration: nothing below adds
		// to the cache after it is obtained.
		e, cached := c.get(met)
		if cached && e.lset.IsEmpty() {
			e.seen = cur // dropped by relabeling; remembered, so not relabeled again
			continue
		}
		if !cached {
			lset, lerr := sl.sampleLabels(p)
			if lerr != nil {
				err = lerr
				break loop
			}
			if sampleLimitErr != nil {
				// The scrape already failed its sample_limit and will be
				// rolled back: keep counting what the target exposes, but
				// cache nothing, or a target far over its limit would grow
				// the cache by every series it sends, on every scrape.
				if !lset.IsEmpty() {
					res.added++
				}
				continue
			}
			e = c.add(met, lset, 0)
			if lset.IsEmpty() {
				e.seen = cur
				continue
			}
		}

		var aerr error
		if e.seen == cur && tsp == nil {
			// The same series twice in one body: both would be stamped
			// with the scrape time.
			aerr = storage.ErrDuplicateSampleForTimestamp
		} else {
			e.seen = cur
			if sl.opts.sampleLimit > 0 && (isHist || !value.IsStaleNaN(val)) {
				limited++
				if limited > sl.opts.sampleLimit {
					aerr = errSampleLimit
				}
			}
			if aerr == nil {
				if sl.opts.ctZero && !isHist {
					sl.appendCreated(app, p, e, t)
				}
				var ref storage.SeriesRef
				if isHist {
					ref, aerr = sl.appendHistogram(app, e, t, h, fh)
				} else {
					ref, aerr = app.Append(e.ref, e.lset, t, val)
				}
				if ref != 0 {
					e.ref = ref
				}
			}
		}
		if aerr == nil && (tsp == nil || sl.opts.trackTimestampsStaleness) {
			e.trackedNow = cur
		}
		ok, fatal := sl.checkAddError(aerr, &appErrs, &sampleLimitErr, &bucketLimitErr)
		if fatal != nil {
			err = fatal
			break loop
		}
		if !cached && ok && sampleLimitErr == nil && bucketLimitErr == nil {
			res.seriesAdded++
		}
		// Counted whatever storage said: it is the number of samples the
		// target exposes after relabeling.
		res.added++

		if exemplars {
			sl.appendExemplars(app, p, e, t, isHist, &appErrs)
		}
		if sl.opts.appendMetadata && lastMeta != nil && (!cached || lastMeta.changed == cur) &&
			inFamily(e.lset.Get(labels.MetricName), lastMeta.name, exposition.MetricType(lastMeta.md.Type)) {
			if _, merr := app.UpdateMetadata(e.ref, e.lset, lastMeta.md); merr != nil {
				sl.logger.Debug("Appending metadata failed", "series", string(met), "err", merr)
			}
		}
	}

	if sampleLimitErr != nil {
		if err == nil {
			err = sampleLimitErr
		}
		sl.metrics.exceededSampleLimit.Inc()
	}
	if bucketLimitErr != nil {
		if err == nil {
			err = bucketLimitErr
		}
		sl.metrics.exceededBucketLimit.Inc()
	}
	sl.logAppendErrors(&appErrs)
	if err != nil {
		c.abort(cur)
		return res, err
	}
	c.complete(cur, true, stale)
	return res, staleErr
}

// sampleLabels builds the final label set of a series seen for the first
// time: the parsed labels, the target's labels (honor_labels deciding
// conflicts), metric_relabel_configs, then validation and label limits.
// An empty result means relabeling dropped the series.
func (sl *scrapeLoop) sampleLabels(p exposition.Parser) (labels.Labels, error) {
	p.Labels(&sl.sb)
	parsed := sl.sb.Labels()
	lb := sl.lb
	lb.Reset(parsed)
	applyTargetLabels(lb, parsed, sl.target.public, sl.opts.honorLabels)
	if r := sl.opts.metricRelabel; r != nil && len(r.cfgs) > 0 {
		if !relabel.ProcessBuilder(lb, r.cfgs...) {
			return labels.EmptyLabels(), nil
		}
	}
	lset := lb.Labels()
	if lset.IsEmpty() {
		return lset, nil
	}
	if !lset.Has(labels.MetricName) {
		return labels.EmptyLabels(), errNameLabelMandatory
	}
	if !lset.IsValid(sl.opts.validation) {
		return labels.EmptyLabels(), fmt.Errorf("invalid metric name or label names: %s", lset.String())
	}
	if err := sl.opts.limits.check(lset); err != nil {
		sl.metrics.exceededLabelLimits.Inc()
		return labels.EmptyLabels(), err
	}
	return lset, nil
}

// applyTargetLabels adds the target's labels to a scraped series in lb
// (which starts as parsed). With honor a label the series already has is
// kept and the target's is dropped. Without it the target's wins, and the
// scraped value moves to exported_<name> (prefixed again while that name
// is taken too); shorter names are placed first so that the outcome does
// not depend on label order.
func applyTargetLabels(lb *labels.Builder, parsed, target labels.Labels, honor bool) {
	if honor {
		target.Range(func(l labels.Label) {
			if !parsed.Has(l.Name) {
				lb.Set(l.Name, l.Value)
			}
		})
		return
	}
	var stack [4]labels.Label
	conflicts := stack[:0]
	target.Range(func(l labels.Label) {
		if v := parsed.Get(l.Name); v != "" {
			conflicts = append(conflicts, labels.Label{Name: l.Name, Value: v})
		}
		lb.Set(l.Name, l.Value)
	})
	if len(conflicts) == 0 {
		return
	}
	slices.SortStableFunc(conflicts, func(a, b labels.Label) int { return cmp.Compare(len(a.Name), len(b.Name)) })
	for _, l := range conflicts {
		name := l.Name
		for {
			name = "exported_" + name
			if lb.Get(name) == "" {
				lb.Set(name, l.Value)
				break
			}
		}
	}
}

// appendCreated writes the zero sample at the series' created timestamp
// (created_timestamp_zero_ingestion). Storage refuses one that is not
// newer than the series' last sample, which after the first scrape is
// the normal case, so that refusal is not an error.
func (sl *scrapeLoop) appendCreated(app storage.Appender, p exposition.Parser, e *cacheEntry, t int64) {
	ct := p.CreatedTimestamp()
	if ct == 0 {
		return
	}
	ref, err := app.AppendCTZeroSample(e.ref, e.lset, t, ct)
	if err != nil && !errors.Is(err, storage.ErrOutOfOrderCT) {
		sl.logger.Debug("Appending created timestamp failed", "series", e.lset, "ct", ct, "err", err)
	}
	if ref != 0 {
		e.ref = ref
	}
}

// appendHistogram appends a native histogram after bringing it within
// native_histogram_min_bucket_factor and native_histogram_bucket_limit.
func (sl *scrapeLoop) appendHistogram(app storage.Appender, e *cacheEntry, t int64, h *histogram.Histogram, fh *histogram.FloatHistogram) (storage.SeriesRef, error) {
	// The parser reuses its histogram for the next entry, while storage
	// may keep what it is given: hand it a copy.
	if h != nil {
		h = h.Copy()
	} else {
		fh = fh.Copy()
	}
	if err := sl.limitHistogram(h, fh); err != nil {
		return 0, err
	}
	return app.AppendHistogram(e.ref, e.lset, t, h, fh)
}

// limitHistogram lowers the resolution of a histogram whose schema is
// above what may be stored or configured, then while it has more buckets
// than the bucket limit. One that cannot get under the limit fails the
// scrape with errBucketLimit.
func (sl *scrapeLoop) limitHistogram(h *histogram.Histogram, fh *histogram.FloatHistogram) error {
	schema, buckets := func() (int32, int) {
		if h != nil {
			return h.Schema, len(h.PositiveBuckets) + len(h.NegativeBuckets)
		}
		return fh.Schema, len(fh.PositiveBuckets) + len(fh.NegativeBuckets)
	}()
	reduce := func(to int32) error {
		if h != nil {
			return h.ReduceResolution(to)
		}
		return fh.ReduceResolution(to)
	}
	limit := sl.opts.bucketLimit
	if histogram.IsCustomBucketsSchema(schema) {
		if limit > 0 && buckets > limit {
			return errBucketLimit
		}
		return nil
	}
	if schema > sl.opts.maxSchema {
		if err := reduce(sl.opts.maxSchema); err != nil {
			return err
		}
	}
	for limit > 0 {
		if h != nil {
			schema, buckets = h.Schema, len(h.PositiveBuckets)+len(h.NegativeBuckets)
		} else {
			schema, buckets = fh.Schema, len(fh.PositiveBuckets)+len(fh.NegativeBuckets)
		}
		if buckets <= limit {
			break
		}
		if schema <= histogram.ExponentialSchemaMin {
			return errBucketLimit
		}
		if err := reduce(schema - 1); err != nil {
			return err
		}
	}
	return nil
}

// appendExemplars appends the sample's exemplars. Exemplars without a
// timestamp take the sample's, except on native histograms, where
// Prometheus requires one and silently drops those without.
func (sl *scrapeLoop) appendExemplars(app storage.Appender, p exposition.Parser, e *cacheEntry, t int64, isHist bool, errs *appendErrors) {
	ex := sl.exemplars[:0]
	for p.Exemplar(&sl.ex) {
		x := sl.ex
		sl.ex = exemplar.Exemplar{}
		if !x.HasTs {
			if isHist {
				continue
			}
			x.Ts = t
		}
		ex = append(ex, x)
	}
	if len(ex) == 0 {
		return
	}
	if len(ex) > 1 {
		slices.SortFunc(ex, func(a, b exemplar.Exemplar) int {
			if c := cmp.Compare(a.Ts, b.Ts); c != 0 {
				return c
			}
			return cmp.Compare(a.Value, b.Value)
		})
	}
	outOfOrder := 0
	for _, x := range ex {
		_, err := app.AppendExemplar(e.ref, e.lset, x)
		switch {
		case err == nil:
		case errors.Is(err, storage.ErrOutOfOrderExemplar):
			outOfOrder++
		default:
			// Exemplars are best effort: they never fail a scrape.
			sl.logger.Debug("Appending exemplar failed", "series", e.lset, "err", err)
		}
	}
	// Only all of them being out of order is worth counting; some being
	// so is a partial repeat of exemplars already stored.
	if outOfOrder > 0 && outOfOrder == len(ex) {
		errs.exemplarOutOfOrder += outOfOrder
		sl.metrics.exemplarOutOfOrder.Add(float64(outOfOrder))
	}
	clear(ex) // drop label references until the next exemplar
	sl.exemplars = ex[:0]
}

// checkAddError sorts an append error: the sample rejections storage may
// report (counted, the scrape goes on), the limits (remembered, parsing
// goes on so that the totals are right) and anything else (fatal).
func (sl *scrapeLoop) checkAddError(err error, errs *appendErrors, sampleLimitErr, bucketLimitErr *error) (added bool, fatal error) {
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, errSampleLimit):
		*sampleLimitErr = err
	case errors.Is(err, errBucketLimit):
		*bucketLimitErr = err
	case errors.Is(err, storage.ErrOutOfOrderSample):
		errs.outOfOrder++
		sl.metrics.sampleOutOfOrder.Inc()
	case errors.Is(err, storage.ErrDuplicateSampleForTimestamp):
		errs.duplicates++
		sl.metrics.sampleDuplicate.Inc()
	case errors.Is(err, storage.ErrOutOfBounds), errors.Is(err, storage.ErrTooOldSample):
		errs.outOfBounds++
		sl.metrics.sampleOutOfBounds.Inc()
	default:
		return false, err
	}
	return false, nil
}

func (sl *scrapeLoop) logAppendErrors(e *appendErrors) {
	if e.outOfOrder > 0 {
		sl.logger.Warn("Error on ingesting out-of-order samples", "num_dropped", e.outOfOrder)
	}
	if e.duplicates > 0 {
		sl.logger.Warn("Error on ingesting samples with different value but same timestamp", "num_dropped", e.duplicates)
	}
	if e.outOfBounds > 0 {
		sl.logger.Warn("Error on ingesting samples that are too old or are too far into the future", "num_dropped", e.outOfBounds)
	}
	if e.exemplarOutOfOrder > 0 {
		sl.logger.Warn("Error on ingesting out-of-order exemplars", "num_dropped", e.exemplarOutOfOrder)
	}
}

// inFamily reports whether the series named name belongs to the metric
// family whose TYPE, HELP or UNIT came last, allowing for the suffixes
// each type's series carry. Bodies may omit or misplace metadata, so a
// series is only given the family's metadata when its name fits.
func inFamily(name, family string, typ exposition.MetricType) bool {
	if !strings.HasPrefix(name, family) {
		return false
	}
	var suffixes []string
	switch typ {
	case exposition.MetricTypeCounter:
		family = strings.TrimSuffix(family, "_total")
		suffixes = []string{"_total"}
	case exposition.MetricTypeHistogram:
		suffixes = []string{"_bucket", "_sum", "_count"}
	case exposition.MetricTypeGaugeHistogram:
		suffixes = []string{"_bucket", "_gsum", "_gcount"}
	case exposition.MetricTypeSummary:
		suffixes = []string{"_sum", "_count"}
	case exposition.MetricTypeInfo:
		family = strings.TrimSuffix(family, "_info")
		suffixes = []string{"_info"}
	}
	for _, s := range suffixes {
		if base, ok := strings.CutSuffix(name, s); ok {
			return base == family
		}
	}
	return name == family
}
