package scrape

import (
	"bytes"
	"compress/gzip"
	"context"
	"net/http"
	"runtime"
	"testing"
	"time"

	"github.com/vigil-monitoring/vigil/internal/exposition"
	"github.com/vigil-monitoring/vigil/internal/model/labels"
	"github.com/vigil-monitoring/vigil/internal/storage"
	"github.com/vigil-monitoring/vigil/internal/tsdb"
)

// benchAppend measures appending the same ~1 MiB node-exporter body
// scrape after scrape, as a loop does in the steady state (every series
// in the cache). It reports allocations and time per sample besides the
// per-scrape figures.
func benchAppend(b *testing.B, app storage.Appendable, cold bool) {
	body := exposition.GenerateNodeExporterPayload(1 << 20)
	sl := testLoop(b, app, simpleJob)
	ts := int64(1)
	first := sl.app.Appender(context.Background())
	res, err := sl.append(first, body, "text/plain; version=0.0.4", timeOf(ts))
	if err != nil {
		b.Fatal(err)
	}
	if err := first.Commit(); err != nil {
		b.Fatal(err)
	}
	samples := res.total
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for b.Loop() {
		if cold {
			sl.cache = newScrapeCache(sl.metrics)
		}
		ts += 15000
		a := sl.app.Appender(context.Background())
		if _, err := sl.append(a, body, "text/plain; version=0.0.4", timeOf(ts)); err != nil {
			b.Fatal(err)
		}
		if err := a.Commit(); err != nil {
			b.Fatal(err)
		}
	}
	runtime.ReadMemStats(&after)
	total := float64(b.N) * float64(samples)
	b.ReportMetric(float64(after.Mallocs-before.Mallocs)/total, "allocs/sample")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/total, "ns/sample")
	b.ReportMetric(float64(samples), "samples/scrape")
}

// BenchmarkScrapeAppend is the cache-hit hot path into an appender that
// stores nothing: the scrape side's own cost.
func BenchmarkScrapeAppend(b *testing.B) { benchAppend(b, nopAppendable{}, false) }

// BenchmarkScrapeAppendMemStorage appends into the reference in-memory
// storage, whose own per-sample bookkeeping is included.
func BenchmarkScrapeAppendMemStorage(b *testing.B) { benchAppend(b, newTestStorage(), false) }

// BenchmarkScrapeAppendColdCache is the first scrape of a target: every
// series is parsed into labels, given the target labels and cached.
func BenchmarkScrapeAppendColdCache(b *testing.B) { benchAppend(b, nopAppendable{}, true) }

// BenchmarkScrapeHTTPGzip is a whole scrape: HTTP GET of the gzipped
// body from a local server, decompression into a pooled buffer, append.
func BenchmarkScrapeHTTPGzip(b *testing.B) {
	body := exposition.GenerateNodeExporterPayload(1 << 20)
	var zbuf bytes.Buffer
	zw := gzip.NewWriter(&zbuf)
	zw.Write(body)
	zw.Close()
	zbody := zbuf.Bytes()
	srv := serve(b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		w.Header().Set("Content-Encoding", "gzip")
		w.Write(zbody)
	}))
	sl := testLoop(b, nopAppendable{}, simpleJob)
	tg := newTarget("j", labels.FromStrings("__address__", hostOf(srv), "__scheme__", "http", "__metrics_path__", "/metrics", "job", "j", "instance", "x"), labels.EmptyLabels(), nil, time.Minute, time.Minute)
	sc, err := newTargetScraper(tg, &sl.opts, sl.buffers, nil)
	if err != nil {
		b.Fatal(err)
	}
	sl.scraper = sc
	ts := int64(1)
	scrapeOnce := func() int {
		buf, ct, err := sl.scraper.scrape(context.Background(), sl.lastSize)
		if err != nil {
			b.Fatal(err)
		}
		sl.lastSize = len(*buf)
		res, err := sl.append(nopAppender{}, *buf, ct, timeOf(ts))
		if err != nil {
			b.Fatal(err)
		}
		sl.buffers.put(buf)
		ts += 15000
		return res.total
	}
	samples := scrapeOnce()
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		scrapeOnce()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/(float64(b.N)*float64(samples)), "ns/sample")
}

// BenchmarkScrapeAppendHead appends into the real TSDB head (WAL on disk
// in a temp dir): the whole ingestion path of a steady-state scrape.
func BenchmarkScrapeAppendHead(b *testing.B) {
	db, err := tsdb.Open(b.TempDir(), tsdb.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	benchAppend(b, db, false)
}

// BenchmarkScrapeCacheMemory reports the heap a target's scrape cache
// holds per series once it has seen the ~1 MiB node-exporter body: the
// cache is one of the few per-series structures outside storage.
func BenchmarkScrapeCacheMemory(b *testing.B) {
	body := exposition.GenerateNodeExporterPayload(1 << 20)
	var perSeries float64
	for b.Loop() {
		sl := testLoop(b, nopAppendable{}, simpleJob)
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		res, err := sl.append(nopAppender{}, body, "text/plain; version=0.0.4", timeOf(1))
		if err != nil {
			b.Fatal(err)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		perSeries = float64(after.HeapAlloc-before.HeapAlloc) / float64(res.total)
		runtime.KeepAlive(sl)
	}
	b.ReportMetric(perSeries, "heap-B/series")
}
