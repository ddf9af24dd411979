package scrape

import (
	"errors"
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/vigil-monitoring/vigil/internal/exposition"
	"github.com/vigil-monitoring/vigil/internal/model/labels"
	"github.com/vigil-monitoring/vigil/internal/model/metadata"
	"github.com/vigil-monitoring/vigil/internal/storage"
)

const simpleJob = "job_name: j\n"

func TestAppendAddsTargetLabelsAndCaches(t *testing.T) {
	st := newTestStorage()
	sl := testLoop(t, st, simpleJob, "zone", "z1")
	body := "# TYPE a counter\na_total{x=\"1\"} 3\na_total{x=\"2\"} 4\nb 5\nc{d=\"\"} 6\n"
	res, err := appendBody(t, sl, body, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if res != (appendResult{total: 4, added: 4, seriesAdded: 4}) {
		t.Errorf("first scrape: %+v", res)
	}
	got := st.series(t)
	for _, want := range []string{
		`{__name__="a_total", instance="127.0.0.1:9", job="j", x="1", zone="z1"}`,
		`{__name__="b", instance="127.0.0.1:9", job="j", zone="z1"}`,
		// An empty label value means the label is absent.
		`{__name__="c", instance="127.0.0.1:9", job="j", zone="z1"}`,
	} {
		if len(got[want]) != 1 {
			t.Errorf("missing %s; have %v", want, seriesNames(got))
		}
	}

	res, err = appendBody(t, sl, body, 2000)
	if err != nil {
		t.Fatal(err)
	}
	if res != (appendResult{total: 4, added: 4, seriesAdded: 0}) {
		t.Errorf("second scrape: %+v", res)
	}
	if n := len(sl.cache.entries); n != 4 {
		t.Errorf("cache has %d entries, want 4", n)
	}
	// Cache hits build no labels: the second scrape's samples went to the
	// same series, which still number 4 (plus none for reports here).
	if n := st.NumSeries(); n != 4 {
		t.Errorf("%d series, want 4", n)
	}
}

func TestCacheHitDoesNotAllocate(t *testing.T) {
	sl := testLoop(t, nopAppendable{}, simpleJob)
	body := []byte("# HELP a help\n# TYPE a gauge\na{x=\"1\"} 1\na{x=\"2\"} 2\nb 3\nc{y=\"long value here\"} 4\n")
	app := nopAppender{}
	ts := int64(1000)
	if _, err := sl.append(app, body, "text/plain", timeOf(ts)); err != nil {
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(20, func() {
		ts += 1000
		if _, err := sl.append(app, body, "text/plain", timeOf(ts)); err != nil {
			t.Fatal(err)
		}
	})
	// The parser, the stale-marker closure and the like are per scrape;
	// nothing may be per sample. Four samples would show as four or more.
	if allocs > 3 {
		t.Errorf("%v allocations per scrape of cached series", allocs)
	}
}

func TestHonorLabels(t *testing.T) {
	body := "m{job=\"exposed\",instance=\"other\",exported_job=\"taken\",x=\"1\"} 1\n"
	t.Run("false renames conflicts", func(t *testing.T) {
		st := newTestStorage()
		sl := testLoop(t, st, simpleJob)
		if _, err := appendBody(t, sl, body, 1000); err != nil {
			t.Fatal(err)
		}
		want := `{__name__="m", exported_exported_job="exposed", exported_instance="other", exported_job="taken", instance="127.0.0.1:9", job="j", x="1"}`
		if got := st.series(t); len(got[want]) != 1 {
			t.Errorf("want %s, have %v", want, seriesNames(got))
		}
	})
	t.Run("true keeps scraped labels", func(t *testing.T) {
		st := newTestStorage()
		sl := testLoop(t, st, simpleJob+"honor_labels: true\n", "zone", "z")
		if _, err := appendBody(t, sl, body, 1000); err != nil {
			t.Fatal(err)
		}
		want := `{__name__="m", exported_job="taken", instance="other", job="exposed", x="1", zone="z"}`
		if got := st.series(t); len(got[want]) != 1 {
			t.Errorf("want %s, have %v", want, seriesNames(got))
		}
	})
}

func TestStaleMarkersForVanishedSeries(t *testing.T) {
	st := newTestStorage()
	sl := testLoop(t, st, simpleJob)
	a := labels.FromStrings("__name__", "a", "instance", "127.0.0.1:9", "job", "j")
	b := labels.FromStrings("__name__", "b", "instance", "127.0.0.1:9", "job", "j")
	mustAppend(t, sl, "a 1\nb 2\n", 1000)
	mustAppend(t, sl, "a 1\n", 2000)
	mustAppend(t, sl, "a 1\n", 3000)
	sb := st.samplesOf(t, b)
	if len(sb) != 2 || sb[0].F != 2 || !isStale(sb[1]) || sb[1].T != 2000 {
		t.Fatalf("b = %v, want 2@1000 then one stale marker at 2000", sb)
	}
	if sa := st.samplesOf(t, a); len(sa) != 3 || isStale(sa[2]) {
		t.Fatalf("a = %v", sa)
	}
	// b comes back: a plain sample again, and the cache forgot it in
	// between (evicted after the scrape that did not see it).
	mustAppend(t, sl, "a 1\nb 7\n", 4000)
	if sb := st.samplesOf(t, b); len(sb) != 3 || sb[2].F != 7 {
		t.Fatalf("b = %v", sb)
	}
}

func TestStaleMarkersWhenScrapeFails(t *testing.T) {
	st := newTestStorage()
	sl := testLoop(t, st, simpleJob)
	mustAppend(t, sl, "a 1\nb 2\n", 1000)
	// A parse error halfway: the samples before it are rolled back and
	// every series of the previous scrape is marked stale.
	_, err := appendBody(t, sl, "a 1\nb 2\n}garbage\n", 2000)
	if err == nil {
		t.Fatal("garbage parsed")
	}
	for name, smps := range st.series(t) {
		if len(smps) != 2 || !isStale(smps[1]) || smps[1].T != 2000 {
			t.Errorf("%s = %v, want a stale marker at 2000", name, smps)
		}
	}
	// Failing again marks nothing twice.
	app := sl.appendEmpty(st.Appender(t.Context()), timeOf(3000))
	if err := app.Commit(); err != nil {
		t.Fatal(err)
	}
	for name, smps := range st.series(t) {
		if len(smps) != 2 {
			t.Errorf("%s = %v after a second failure", name, smps)
		}
	}
	// Recovery writes fresh samples.
	mustAppend(t, sl, "a 5\n", 4000)
	if sa := st.samplesOf(t, labels.FromStrings("__name__", "a", "instance", "127.0.0.1:9", "job", "j")); len(sa) != 3 || sa[2].F != 5 {
		t.Errorf("a = %v", sa)
	}
}

func TestExplicitTimestampsAndStaleness(t *testing.T) {
	a := labels.FromStrings("__name__", "a", "instance", "127.0.0.1:9", "job", "j")
	for _, track := range []bool{false, true} {
		st := newTestStorage()
		job := simpleJob
		if track {
			job += "track_timestamps_staleness: true\n"
		}
		sl := testLoop(t, st, job)
		mustAppend(t, sl, "a 1 500\nb 1\n", 1000)
		mustAppend(t, sl, "b 1\n", 2000)
		sa := st.samplesOf(t, a)
		if sa[0].T != 500 {
			t.Errorf("explicit timestamp not honored: %v", sa)
		}
		if gotStale := len(sa) == 2 && isStale(sa[1]); gotStale != track {
			t.Errorf("track_timestamps_staleness=%v: a = %v", track, sa)
		}
	}
	st := newTestStorage()
	sl := testLoop(t, st, simpleJob+"honor_timestamps: false\n")
	mustAppend(t, sl, "a 1 500\n", 1000)
	mustAppend(t, sl, "b 1 600\n", 2000)
	sa := st.samplesOf(t, a)
	if len(sa) != 2 || sa[0].T != 1000 || !isStale(sa[1]) {
		t.Errorf("honor_timestamps false: a = %v, want 1@1000 and a stale marker", sa)
	}
}

func TestSampleLimit(t *testing.T) {
	st := newTestStorage()
	sl := testLoop(t, st, simpleJob+"sample_limit: 2\nmetric_relabel_configs:\n- source_labels: [__name__]\n  regex: dropped\n  action: drop\n")
	// Dropped series do not count against the limit.
	mustAppend(t, sl, "a 1\nb 1\ndropped 1\n", 1000)
	res, err := appendBody(t, sl, "a 1\nb 1\nc 1\nd 1\n", 2000)
	if err == nil || err.Error() != "sample limit exceeded" {
		t.Fatalf("err = %v", err)
	}
	// Parsing went on to count everything.
	if res.total != 4 {
		t.Errorf("total = %d, want 4", res.total)
	}
	if got := counterValue(sl.metrics.exceededSampleLimit); got != 1 {
		t.Errorf("exceeded counter = %v", got)
	}
	for name, smps := range st.series(t) {
		if strings.Contains(name, `"c"`) || strings.Contains(name, `"d"`) {
			t.Errorf("%s was committed despite the limit", name)
		}
		if last := smps[len(smps)-1]; !isStale(last) {
			t.Errorf("%s: %v, want a stale marker after the failed scrape", name, smps)
		}
	}
}

func TestLabelLimits(t *testing.T) {
	cases := []struct{ job, body, want string }{
		{simpleJob + "label_limit: 3\n", "m{a=\"1\",b=\"2\"} 1\n", "label_limit exceeded (metric: m, number of labels: 5, limit: 3)"},
		{simpleJob + "label_name_length_limit: 10\n", "m{abcdefghijk=\"1\"} 1\n", "label_name_length_limit exceeded (metric: m, label name: abcdefghijk, length: 11, limit: 10)"},
		{simpleJob + "label_value_length_limit: 12\n", "m{a=\"abcdefghijklm\"} 1\n", `label_value_length_limit exceeded (metric: m, label name: a, value: "abcdefghijklm", length: 13, limit: 12)`},
	}
	for _, c := range cases {
		st := newTestStorage()
		sl := testLoop(t, st, c.job)
		mustAppend(t, sl, "ok 1\n", 1000)
		_, err := appendBody(t, sl, "ok 1\n"+c.body, 2000)
		if err == nil || err.Error() != c.want {
			t.Errorf("err = %v, want %q", err, c.want)
		}
		if got := counterValue(sl.metrics.exceededLabelLimits); got != 1 {
			t.Errorf("label limit counter = %v", got)
		}
	}
}

func TestMetricRelabeling(t *testing.T) {
	st := newTestStorage()
	sl := testLoop(t, st, simpleJob+`metric_relabel_configs:
- source_labels: [__name__]
  regex: go_.*
  action: drop
- source_labels: [instance]
  target_label: host
- regex: x
  action: labeldrop
`)
	res := mustAppend(t, sl, "go_goroutines 5\nup_time{x=\"1\"} 7\nother 1\n", 1000)
	if res.total != 3 || res.added != 2 || res.seriesAdded != 2 {
		t.Errorf("result %+v", res)
	}
	got := st.series(t)
	want := `{__name__="up_time", host="127.0.0.1:9", instance="127.0.0.1:9", job="j"}`
	if len(got) != 2 || len(got[want]) != 1 {
		t.Errorf("series %v", seriesNames(got))
	}
	// The drop is remembered: the next scrape does not relabel it again.
	mustAppend(t, sl, "go_goroutines 5\nup_time{x=\"1\"} 7\nother 1\n", 2000)
	e, ok := sl.cache.get([]byte("go_goroutines"))
	if !ok || !e.lset.IsEmpty() {
		t.Errorf("dropped series not cached as dropped: %v %v", ok, e)
	}
}

func TestMissingNameAndInvalidNames(t *testing.T) {
	st := newTestStorage()
	sl := testLoop(t, st, simpleJob+"metric_relabel_configs:\n- action: labeldrop\n  regex: __name__\n")
	_, err := appendBody(t, sl, "m 1\n", 1000)
	if err == nil || err.Error() != "missing metric name (__name__ label)" {
		t.Errorf("err = %v", err)
	}
	st = newTestStorage()
	sl = testLoop(t, st, simpleJob+"metric_name_validation_scheme: legacy\n")
	_, err = appendBody(t, sl, "{\"my.metric\"} 1\n", 1000)
	if err == nil || !strings.HasPrefix(err.Error(), "invalid metric name or label names") {
		t.Errorf("err = %v", err)
	}
}

func TestDuplicateSeriesInOneBody(t *testing.T) {
	st := newTestStorage()
	sl := testLoop(t, st, simpleJob)
	res := mustAppend(t, sl, "a 1\na 2\nb 3\n", 1000)
	if res.total != 3 || res.added != 3 || res.seriesAdded != 2 {
		t.Errorf("result %+v", res)
	}
	if got := counterValue(sl.metrics.sampleDuplicate); got != 1 {
		t.Errorf("duplicate counter = %v", got)
	}
	a := st.samplesOf(t, labels.FromStrings("__name__", "a", "instance", "127.0.0.1:9", "job", "j"))
	if len(a) != 1 || a[0].F != 1 {
		t.Errorf("a = %v, want the first value only", a)
	}
}

func TestOutOfOrderSamplesAreCountedNotFatal(t *testing.T) {
	st := newTestStorage()
	sl := testLoop(t, st, simpleJob)
	mustAppend(t, sl, "a 1 5000\nb 1\n", 6000)
	res := mustAppend(t, sl, "a 1 4000\nb 2\n", 7000)
	if res.added != 2 {
		t.Errorf("result %+v", res)
	}
	if got := counterValue(sl.metrics.sampleOutOfOrder); got != 1 {
		t.Errorf("out-of-order counter = %v", got)
	}
}

func TestMetadataStore(t *testing.T) {
	st := newTestStorage()
	sl := testLoop(t, st, simpleJob)
	body := "# HELP http_requests_total Requests served.\n# TYPE http_requests_total counter\nhttp_requests_total 5\n# TYPE temp gauge\ntemp 20\n"
	mustAppend(t, sl, body, 1000)
	tg := sl.target
	md, ok := tg.GetMetadata("http_requests_total")
	if !ok || md.Type != metadata.TypeCounter || md.Help != "Requests served." {
		t.Errorf("metadata = %+v %v", md, ok)
	}
	if n := tg.LengthMetadata(); n != 2 {
		t.Errorf("%d families, want 2", n)
	}
	if len(tg.ListMetadata()) != 2 || tg.SizeMetadata() == 0 {
		t.Errorf("list %v size %d", tg.ListMetadata(), tg.SizeMetadata())
	}
	// A family that disappears is kept for a while, then forgotten.
	for i := range metadataKeepAttempts + 1 {
		mustAppend(t, sl, "# TYPE temp gauge\ntemp 20\n", int64(2000+1000*i))
	}
	if _, ok := tg.GetMetadata("http_requests_total"); ok {
		t.Error("metadata of a vanished family kept forever")
	}
	if _, ok := tg.GetMetadata("temp"); !ok {
		t.Error("metadata of a family still exposed was dropped")
	}
}

func TestOpenMetricsExemplarsAndCreatedTimestamps(t *testing.T) {
	st := newTestStorage()
	sl := testLoop(t, st, simpleJob)
	sl.opts.ctZero = true
	sl.parserOpts.SkipCreatedSeries = true
	body := "# TYPE req counter\nreq_total{path=\"/\"} 10 # {trace_id=\"abc\"} 1\nreq_created{path=\"/\"} 0.5\n# EOF\n"
	res, err := appendBodyType(t, sl, body, "application/openmetrics-text; version=1.0.0", 2000)
	if err != nil {
		t.Fatal(err)
	}
	if res.total != 1 {
		t.Errorf("the _created line counted as a sample: %+v", res)
	}
	l := labels.FromStrings("__name__", "req_total", "instance", "127.0.0.1:9", "job", "j", "path", "/")
	smps := st.samplesOf(t, l)
	if len(smps) != 2 || smps[0].T != 500 || smps[0].F != 0 || smps[1].T != 2000 || smps[1].F != 10 {
		t.Errorf("samples = %v, want a zero at the created time then 10", smps)
	}
	ex := st.Exemplars(l)
	if len(ex) != 1 || ex[0].Value != 1 || ex[0].Ts != 2000 || ex[0].Labels.Get("trace_id") != "abc" {
		t.Errorf("exemplars = %v", ex)
	}
	// The next scrape's created timestamp is old: no error, no sample.
	if _, err := appendBodyType(t, sl, strings.Replace(body, "10 #", "11 #", 1), "application/openmetrics-text; version=1.0.0", 3000); err != nil {
		t.Fatal(err)
	}
	if smps := st.samplesOf(t, l); len(smps) != 3 {
		t.Errorf("samples = %v", smps)
	}
}

func TestAppendMetadataToStorage(t *testing.T) {
	st := newTestStorage()
	sl := testLoop(t, st, simpleJob)
	sl.opts.appendMetadata = true
	mustAppend(t, sl, "# HELP h Latency.\n# TYPE h histogram\nh_bucket{le=\"+Inf\"} 1\nh_sum 2\nh_count 1\nunrelated 3\n", 1000)
	for _, name := range []string{"h_bucket", "h_sum", "h_count"} {
		l := labels.FromStrings("__name__", name, "instance", "127.0.0.1:9", "job", "j")
		if name == "h_bucket" {
			l = labels.FromStrings("__name__", name, "instance", "127.0.0.1:9", "job", "j", "le", "+Inf")
		}
		md, ok := st.Metadata(l)
		if !ok || md.Type != metadata.TypeHistogram || md.Help != "Latency." {
			t.Errorf("%s metadata = %+v %v", name, md, ok)
		}
	}
	if _, ok := st.Metadata(labels.FromStrings("__name__", "unrelated", "instance", "127.0.0.1:9", "job", "j")); ok {
		t.Error("a series outside the family got its metadata")
	}
}

func TestFallbackProtocol(t *testing.T) {
	st := newTestStorage()
	sl := testLoop(t, st, simpleJob)
	if _, err := appendBodyType(t, sl, "a 1\n", "", 1000); err == nil || !strings.Contains(err.Error(), "Content-Type") {
		t.Errorf("blank Content-Type without fallback: err = %v", err)
	}
	sl = testLoop(t, st, simpleJob+"fallback_scrape_protocol: PrometheusText0.0.4\n")
	if _, err := appendBodyType(t, sl, "a 1\n", "", 1000); err != nil {
		t.Errorf("blank Content-Type with fallback: %v", err)
	}
}

func TestReplacedCacheMarksRetiredSeriesStale(t *testing.T) {
	st := newTestStorage()
	sl := testLoop(t, st, simpleJob)
	mustAppend(t, sl, "a{x=\"1\"} 1\nb 1\n", 1000)
	// A reload changes metric relabeling so that x is dropped: the old
	// series of a must end, b goes on.
	next := newScrapeCacheReplacing(sl.cache, sl.metrics)
	sl.cache = next
	sl.opts.metricRelabel = &metricRules{cfgs: jobConfig(t, simpleJob+"metric_relabel_configs:\n- action: labeldrop\n  regex: x\n").MetricRelabelConfigs}
	mustAppend(t, sl, "a{x=\"1\"} 2\nb 2\n", 2000)
	got := st.series(t)
	old := got[`{__name__="a", instance="127.0.0.1:9", job="j", x="1"}`]
	if len(old) != 2 || !isStale(old[1]) || old[1].T != 2000 {
		t.Errorf("old a = %v, want a stale marker", old)
	}
	if b := got[`{__name__="b", instance="127.0.0.1:9", job="j"}`]; len(b) != 2 || isStale(b[1]) {
		t.Errorf("b = %v, want two plain samples", b)
	}
	if a := got[`{__name__="a", instance="127.0.0.1:9", job="j"}`]; len(a) != 1 || a[0].F != 2 {
		t.Errorf("new a = %v", a)
	}
}

func TestCacheFlushWhenFailingScrapesGrowIt(t *testing.T) {
	st := newTestStorage()
	sl := testLoop(t, st, simpleJob)
	mustAppend(t, sl, "a 1\n", 1000)
	// Many new series, then a line that does not parse: the scrape fails
	// after its series went into the cache.
	var b strings.Builder
	for i := range 1500 {
		b.WriteString("m{i=\"")
		b.WriteString(strings.Repeat("x", i%7))
		b.WriteString(string(rune('a' + i%26)))
		b.WriteString(strconv.Itoa(i))
		b.WriteString("\"} 1\n")
	}
	b.WriteString("m{i=\"broken\" 1\n")
	if _, err := appendBody(t, sl, b.String(), 2000); err == nil {
		t.Fatal("the broken line was accepted")
	}
	if n := len(sl.cache.entries); n > 1 {
		t.Errorf("cache kept %d entries of a failed scrape that grew it past the bound", n)
	}
	if got := counterValue(sl.metrics.cacheFlushForced); got != 1 {
		t.Errorf("flush counter = %v", got)
	}
	checkIndex(t, sl.cache)
}

// A target far over its sample_limit must not grow the cache with every
// series it sends: the scrape fails, so nothing beyond the limit is kept.
func TestSampleLimitDoesNotGrowCache(t *testing.T) {
	st := newTestStorage()
	sl := testLoop(t, st, simpleJob+"sample_limit: 10\n")
	var b strings.Builder
	for i := range 5000 {
		b.WriteString("m{i=\"")
		b.WriteString(strconv.Itoa(i))
		b.WriteString("\"} 1\n")
	}
	res, err := appendBody(t, sl, b.String(), 1000)
	if !errors.Is(err, errSampleLimit) {
		t.Fatalf("err = %v, want the sample limit", err)
	}
	if n := len(sl.cache.entries); n > 11 {
		t.Errorf("cache holds %d entries after a scrape over a limit of 10", n)
	}
	// Had the series beyond the limit been cached, the failed scrape would
	// have grown the cache past its bound and forced a flush.
	if got := counterValue(sl.metrics.cacheFlushForced); got != 0 {
		t.Errorf("forced cache flushes = %v, want 0: the failed scrape grew the cache", got)
	}
	if res.total != 5000 || res.added != 5000 {
		t.Errorf("scraped %d, post-relabeling %d; want 5000 and 5000", res.total, res.added)
	}
}

func TestInFamily(t *testing.T) {
	cases := []struct {
		name, family, typ string
		want              bool
	}{
		{"http_total", "http", "counter", true},
		{"http_total", "http_total", "counter", true},
		{"http", "http", "counter", true},
		{"http_other", "http", "counter", false},
		{"h_bucket", "h", "histogram", true},
		{"h_count", "h", "histogram", true},
		{"h_created", "h", "histogram", false},
		{"s_sum", "s", "summary", true},
		{"s_bucket", "s", "summary", false},
		{"g", "g", "gauge", true},
		{"g2", "g", "gauge", false},
		{"b_info", "b", "info", true},
		{"x_gsum", "x", "gaugehistogram", true},
	}
	for _, c := range cases {
		if got := inFamily(c.name, c.family, exposition.MetricType(c.typ)); got != c.want {
			t.Errorf("inFamily(%q, %q, %s) = %v", c.name, c.family, c.typ, got)
		}
	}
}

func TestReportValuesCoverBadFloats(t *testing.T) {
	// The synthetic series are gauges of plain numbers; make sure NaN
	// never leaks into up through a bad duration.
	st := newTestStorage()
	sl := testLoop(t, st, simpleJob+"extra_scrape_metrics: true\nsample_limit: 7\nscrape_timeout: 3s\n")
	app := st.Appender(t.Context())
	if err := sl.appendReport(app, timeOf(1000), 0, appendResult{total: 3, added: 2, seriesAdded: 1}, 42, nil); err != nil {
		t.Fatal(err)
	}
	if err := app.Commit(); err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{
		"up": 1, "scrape_duration_seconds": 0, "scrape_samples_scraped": 3, "scrape_samples_post_metric_relabeling": 2,
		"scrape_series_added": 1, "scrape_timeout_seconds": 3, "scrape_sample_limit": 7, "scrape_body_size_bytes": 42,
	}
	got := st.series(t)
	if len(got) != len(want) {
		t.Errorf("series %v", seriesNames(got))
	}
	for name, v := range want {
		s := got[labels.FromStrings("__name__", name, "instance", "127.0.0.1:9", "job", "j").String()]
		if len(s) != 1 || s[0].F != v || math.IsNaN(s[0].F) || s[0].T != 1000 {
			t.Errorf("%s = %v, want %v", name, s, v)
		}
	}
}

// mustAppend appends and fails the test on error.
func mustAppend(t *testing.T, sl *scrapeLoop, body string, ts int64) appendResult {
	t.Helper()
	res, err := appendBody(t, sl, body, ts)
	if err != nil {
		t.Fatalf("append at %d: %v", ts, err)
	}
	return res
}

var _ storage.Appendable = (*testStorage)(nil)
