package scrape

import (
	"sync"

	"github.com/vigil-monitoring/vigil/internal/exposition"
	"github.com/vigil-monitoring/vigil/internal/model/labels"
	"github.com/vigil-monitoring/vigil/internal/model/metadata"
	"github.com/vigil-monitoring/vigil/internal/storage"
)

// MetricMetadata is the metadata a target exposed for one metric family.
type MetricMetadata struct {
	MetricFamily string
	Type         metadata.Type
	Help         string
	Unit         string
}

// MetadataStore answers the metadata APIs (/api/v1/targets/metadata and
// /api/v1/metadata) for one target. Targets implement it.
type MetadataStore interface {
	ListMetadata() []MetricMetadata
	GetMetadata(metric string) (MetricMetadata, bool)
	// SizeMetadata returns the bytes the metadata strings take.
	SizeMetadata() int
	// LengthMetadata returns the number of metric families.
	LengthMetadata() int
}

// metadataKeepAttempts is how many append attempts a family's metadata
// outlives the last one that exposed it, so that a family that flickers
// (or a few failed scrapes) does not empty the metadata API.
const metadataKeepAttempts = 10

// cacheEntry is one series of the target as last seen.
type cacheEntry struct {
	key string // the raw series bytes from the parser
	// lset is the final label set (target labels added, metric relabeling
	// applied). Empty means relabeling dropped the series.
	lset labels.Labels
	ref  storage.SeriesRef
	// seen is the attempt in which the series last appeared.
	seen uint32
	// trackedNow is the attempt in which the series was last appended with
	// staleness tracking (no explicit timestamp, or
	// track_timestamps_staleness); tracked is the same for completed
	// attempts only. Keeping both means a failed attempt, whose samples
	// were rolled back, never hides what the previous scrape exposed.
	tracked, trackedNow uint32
}

// scrapeCache maps the raw series bytes of a target's exposition to the
// storage reference and label set of each series, tracks which series
// need stale markers, and keeps the target's metric metadata.
//
// Attempts: every call to append (a real scrape or an empty one standing
// for a failed scrape) is an attempt with a new number. A series was
// "in the previous scrape" when its tracked number equals lastDone, the
// last attempt that completed (committed or was empty).
//
// The series part is used by the loop goroutine only. The metadata part
// is also read by API goroutines; see meta.
type scrapeCache struct {
	// INVARIANT: index[entries[i].key] == i for every i, and index has no
	// other keys.
	index   map[string]int32
	entries []cacheEntry
	// cursor is where the next series is expected: targets expose their
	// series in the same order scrape after scrape, and entries keep the
	// order they were first seen in, so comparing the next entry's key
	// usually finds the series without hashing it. The map is the
	// fallback when the order changed.
	cursor int

	attempt  uint32 // number of the current (or last) attempt; 0 = none yet
	lastDone uint32 // last attempt that completed
	lastGood uint32 // last attempt that completed with a non-empty body
	// goodSize is the number of entries after the last good attempt; a
	// cache that keeps growing past it while scrapes fail is flushed.
	goodSize int

	// retired holds the label sets a replaced cache tracked in its last
	// scrape, when a reload changed how labels are built and the old
	// entries could not be reused. The first completed attempt marks the
	// ones it did not produce again as stale.
	retired []labels.Labels

	metrics *scrapeMetrics

	meta struct {
		// mu guards writes to m and to the md field of its entries. The
		// loop goroutine, the only writer, reads both without the lock:
		// reads do not race with reads, and it never reads while writing.
		mu sync.RWMutex
		m  map[string]*metaEntry
	}
}

type metaEntry struct {
	name string
	md   metadata.Metadata // written under meta.mu
	// Touched by the loop goroutine only.
	seen    uint32 // attempt that last exposed the family
	changed uint32 // attempt in which md last changed
}

func newScrapeCache(m *scrapeMetrics) *scrapeCache {
	c := &scrapeCache{index: map[string]int32{}, metrics: m}
	c.meta.m = map[string]*metaEntry{}
	return c
}

// newScrapeCacheReplacing returns an empty cache for a loop whose label
// building changed, remembering what old tracked in its last scrape so
// that series the new configuration no longer produces get stale markers.
// The metadata carries over: it does not depend on labels.
func newScrapeCacheReplacing(old *scrapeCache, m *scrapeMetrics) *scrapeCache {
	c := newScrapeCache(m)
	if old == nil {
		return c
	}
	for i := range old.entries {
		e := &old.entries[i]
		if old.lastDone != 0 && e.tracked == old.lastDone {
			c.retired = append(c.retired, e.lset)
		}
	}
	c.retired = append(c.retired, old.retired...)
	old.meta.mu.RLock()
	for k, e := range old.meta.m {
		c.meta.m[k] = &metaEntry{name: e.name, md: e.md}
	}
	old.meta.mu.RUnlock()
	return c
}

// begin starts an attempt and returns its number.
func (c *scrapeCache) begin() uint32 {
	c.attempt++
	c.cursor = 0
	return c.attempt
}

// get returns the entry for the raw series bytes. The pointer is valid
// until the next add.
func (c *scrapeCache) get(met []byte) (*cacheEntry, bool) {
	if c.cursor < len(c.entries) {
		// The string conversions below do not allocate.
		if e := &c.entries[c.cursor]; e.key == string(met) {
			c.cursor++
			return e, true
		}
	}
	i, ok := c.index[string(met)]
	if !ok {
		return nil, false
	}
	c.cursor = int(i) + 1
	return &c.entries[i], true
}

// add inserts a new series (lset empty for a dropped one) and returns its
// entry, valid until the next add.
func (c *scrapeCache) add(met []byte, lset labels.Labels, ref storage.SeriesRef) *cacheEntry {
	key := string(met)
	c.index[key] = int32(len(c.entries))
	c.entries = append(c.entries, cacheEntry{key: key, lset: lset, ref: ref})
	c.cursor = len(c.entries)
	return &c.entries[len(c.entries)-1]
}

// complete finishes attempt cur, which appended everything it parsed
// (good: a non-empty body) or nothing (an empty attempt standing for a
// failed scrape). It calls stale for every series that was tracked in the
// previous completed attempt and not in this one, and for retired label
// sets this attempt did not produce; then, after a good attempt, it
// forgets series and metadata this attempt did not see. stale returns
// false to stop early with an error left to the caller.
func (c *scrapeCache) complete(cur uint32, good bool, stale func(ref storage.SeriesRef, lset labels.Labels) bool) {
	prev := c.lastDone
	ok := true
	w := 0
	for r := range c.entries {
		e := &c.entries[r]
		if ok && prev != 0 && e.tracked == prev && e.trackedNow != cur {
			ok = stale(e.ref, e.lset)
		}
		if e.trackedNow == cur {
			e.tracked = cur
		}
		if good && e.seen != cur {
			delete(c.index, e.key)
			continue
		}
		if w != r {
			c.entries[w] = *e
			c.index[e.key] = int32(w)
		}
		w++
	}
	clear(c.entries[w:]) // drop references to evicted label sets
	c.entries = c.entries[:w]

	if len(c.retired) > 0 {
		now := make(map[labels.Labels]struct{}, len(c.entries))
		for i := range c.entries {
			if c.entries[i].tracked == cur {
				now[c.entries[i].lset] = struct{}{}
			}
		}
		for _, l := range c.retired {
			if _, still := now[l]; !still && ok {
				ok = stale(0, l)
			}
		}
		c.retired = nil
	}

	c.lastDone = cur
	if good {
		c.lastGood = cur
		c.goodSize = len(c.entries)
		c.expireMetadata(cur)
	}
}

// abort records that attempt cur failed and was rolled back. Its entries
// stay (their label sets are still right), but a cache that keeps growing
// while scrapes fail (a target exposing ever new series and failing on a
// limit, say) is flushed down to what the last good scrape saw.
func (c *scrapeCache) abort(cur uint32) {
	if len(c.entries) <= 2*c.goodSize+1000 {
		return
	}
	if c.metrics != nil {
		c.metrics.cacheFlushForced.Inc()
	}
	w := 0
	for r := range c.entries {
		e := &c.entries[r]
		if e.seen != c.lastGood || c.lastGood == 0 {
			delete(c.index, e.key)
			continue
		}
		if w != r {
			c.entries[w] = *e
			c.index[e.key] = int32(w)
		}
		w++
	}
	clear(c.entries[w:])
	c.entries = c.entries[:w]
}

// metaFor returns the family's entry, creating it.
func (c *scrapeCache) metaFor(name []byte, cur uint32) *metaEntry {
	e := c.meta.m[string(name)]
	if e == nil {
		e = &metaEntry{name: string(name), md: metadata.Metadata{Type: metadata.TypeUnknown}, changed: cur}
		c.meta.mu.Lock()
		c.meta.m[e.name] = e
		c.meta.mu.Unlock()
	}
	e.seen = cur
	return e
}

func (c *scrapeCache) setType(name []byte, t exposition.MetricType, cur uint32) *metaEntry {
	e := c.metaFor(name, cur)
	if typ := metadata.Type(t); e.md.Type != typ {
		c.meta.mu.Lock()
		e.md.Type = typ
		c.meta.mu.Unlock()
		e.changed = cur
	}
	return e
}

func (c *scrapeCache) setHelp(name, help []byte, cur uint32) *metaEntry {
	e := c.metaFor(name, cur)
	if e.md.Help != string(help) { // compared without allocating
		c.meta.mu.Lock()
		e.md.Help = string(help)
		c.meta.mu.Unlock()
		e.changed = cur
	}
	return e
}

func (c *scrapeCache) setUnit(name, unit []byte, cur uint32) *metaEntry {
	e := c.metaFor(name, cur)
	if e.md.Unit != string(unit) {
		c.meta.mu.Lock()
		e.md.Unit = string(unit)
		c.meta.mu.Unlock()
		e.changed = cur
	}
	return e
}

func (c *scrapeCache) expireMetadata(cur uint32) {
	var stale []string
	for k, e := range c.meta.m {
		if cur-e.seen > metadataKeepAttempts {
			stale = append(stale, k)
		}
	}
	if len(stale) == 0 {
		return
	}
	c.meta.mu.Lock()
	for _, k := range stale {
		delete(c.meta.m, k)
	}
	c.meta.mu.Unlock()
}

// ListMetadata implements MetadataStore.
func (c *scrapeCache) ListMetadata() []MetricMetadata {
	c.meta.mu.RLock()
	defer c.meta.mu.RUnlock()
	res := make([]MetricMetadata, 0, len(c.meta.m))
	for _, e := range c.meta.m {
		res = append(res, MetricMetadata{MetricFamily: e.name, Type: e.md.Type, Help: e.md.Help, Unit: e.md.Unit})
	}
	return res
}

// GetMetadata implements MetadataStore.
func (c *scrapeCache) GetMetadata(metric string) (MetricMetadata, bool) {
	c.meta.mu.RLock()
	defer c.meta.mu.RUnlock()
	e, ok := c.meta.m[metric]
	if !ok {
		return MetricMetadata{}, false
	}
	return MetricMetadata{MetricFamily: e.name, Type: e.md.Type, Help: e.md.Help, Unit: e.md.Unit}, true
}

// SizeMetadata implements MetadataStore.
func (c *scrapeCache) SizeMetadata() int {
	c.meta.mu.RLock()
	defer c.meta.mu.RUnlock()
	n := 0
	for _, e := range c.meta.m {
		n += len(e.name) + len(e.md.Type) + len(e.md.Help) + len(e.md.Unit)
	}
	return n
}

// LengthMetadata implements MetadataStore.
func (c *scrapeCache) LengthMetadata() int {
	c.meta.mu.RLock()
	defer c.meta.mu.RUnlock()
	return len(c.meta.m)
}
