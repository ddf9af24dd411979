package scrape

import (
	"bytes"
	"hash/maphash"
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
	// lset is the final label set (target labels added, metric relabeling
	// applied). Empty means relabeling dropped the series.
	lset labels.Labels
	ref  storage.SeriesRef
	// keyOff and keyLen locate the raw series bytes from the parser in
	// the cache's key arena.
	keyOff int
	keyLen uint32
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
// Memory: the cache holds one entry per series of every target, so its
// size per series counts. The raw series bytes live back to back in one
// arena rather than as a string each, and the index is keyed by a 64-bit
// hash of them rather than by the bytes: both halve what a string key
// costs (header, allocation rounding, the map slot) and leave the index
// and the arena without pointers for the garbage collector to scan. Two
// different series whose hashes collide are told apart by comparing the
// bytes; the later one goes to a small map keyed by its bytes.
//
// The series part is used by the loop goroutine only. The metadata part
// is also read by API goroutines; see meta.
type scrapeCache struct {
	// INVARIANT: every entry i is found by lookup(its key bytes) and no
	// other key finds anything: index[hash(key)] == i, or, when that slot
	// belongs to another key with the same hash, collided[key] == i.
	index    map[uint64]int32
	collided map[string]int32
	seed     maphash.Seed
	// weakHash replaces the hash in tests, to force collisions.
	weakHash func([]byte) uint64
	entries  []cacheEntry
	// arena holds the entries' keys; dead counts the bytes of keys whose
	// entries were evicted, reclaimed by compacting once they dominate.
	arena []byte
	dead  int
	// cursor is where the next series is expected: targets expose their
	// series in the same order scrape after scrape, and entries keep the
	// order they were first seen in, so comparing the next entry's key
	// usually finds the series without hashing it. The index is the
	// fallback when the order changed.
	cursor int
	// format is the exposition format (exposition.FormatOf) that accepted
	// the key of every entry, "" when unknown. Only a parser of that
	// format may be offered the next entry's key as an Expect hint, which
	// lets it skip parsing the labels of a series seen before.
	// attemptFormat is the current attempt's format, and hints says it is
	// format.
	format, attemptFormat string
	hints                 bool

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
	// metaOrder is the families in the order the last attempt met them,
	// and metaNext the same for the current attempt; metaCursor is the
	// next expected. Like series, families come in the same order every
	// scrape, so this spares a map lookup per HELP and TYPE line.
	metaOrder, metaNext []*metaEntry
	metaCursor          int
}

type metaEntry struct {
	name string
	md   metadata.Metadata // written under meta.mu
	// Touched by the loop goroutine only.
	seen    uint32 // attempt that last exposed the family
	changed uint32 // attempt in which md last changed
}

func newScrapeCache(m *scrapeMetrics) *scrapeCache {
	c := &scrapeCache{index: map[uint64]int32{}, seed: maphash.MakeSeed(), metrics: m}
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
	c.attemptFormat, c.hints = "", false
	clear(c.metaOrder) // drop entries the map may have expired
	c.metaOrder, c.metaNext = c.metaNext, c.metaOrder[:0]
	c.metaCursor = 0
	return c.attempt
}

// parsing records the format of the current attempt's parser.
func (c *scrapeCache) parsing(format string) {
	c.attemptFormat = format
	c.hints = format != "" && format == c.format
}

// expected returns the key of the series the current attempt should meet
// next, for Parser.Expect, or nil when there is no hint to give.
func (c *scrapeCache) expected() []byte {
	if !c.hints || c.cursor >= len(c.entries) {
		return nil
	}
	return c.keyOf(&c.entries[c.cursor])
}

// keyOf returns the raw series bytes of entry e.
func (c *scrapeCache) keyOf(e *cacheEntry) []byte {
	return c.arena[e.keyOff : e.keyOff+int(e.keyLen)]
}

func (c *scrapeCache) hash(b []byte) uint64 {
	if c.weakHash != nil {
		return c.weakHash(b)
	}
	return maphash.Bytes(c.seed, b)
}

// lookup returns the index of the entry for the raw series bytes.
func (c *scrapeCache) lookup(met []byte) (int32, bool) {
	if i, ok := c.index[c.hash(met)]; ok && bytes.Equal(c.keyOf(&c.entries[i]), met) {
		return i, true
	}
	if c.collided != nil {
		i, ok := c.collided[string(met)] // does not allocate
		return i, ok
	}
	return 0, false
}

// setIndex makes the key of entry i find i; the key is not in the index
// yet, or is there for i's old position.
func (c *scrapeCache) setIndex(i int32) {
	key := c.keyOf(&c.entries[i])
	h := c.hash(key)
	if j, ok := c.index[h]; ok && !bytes.Equal(c.keyOf(&c.entries[j]), key) {
		if c.collided == nil {
			c.collided = map[string]int32{}
		}
		c.collided[string(key)] = i
		return
	}
	c.index[h] = i
}

// unindex removes the key of entry i, which is in the index for i.
func (c *scrapeCache) unindex(i int32) {
	key := c.keyOf(&c.entries[i])
	if c.collided != nil {
		if j, ok := c.collided[string(key)]; ok && j == i {
			delete(c.collided, string(key))
			return
		}
	}
	delete(c.index, c.hash(key))
}

// get returns the entry for the raw series bytes. The pointer is valid
// until the next add.
func (c *scrapeCache) get(met []byte) (*cacheEntry, bool) {
	if c.cursor < len(c.entries) {
		if e := &c.entries[c.cursor]; bytes.Equal(c.keyOf(e), met) {
			c.cursor++
			return e, true
		}
	}
	i, ok := c.lookup(met)
	if !ok {
		return nil, false
	}
	c.cursor = int(i) + 1
	return &c.entries[i], true
}

// add inserts a new series (lset empty for a dropped one) and returns its
// entry, valid until the next add.
func (c *scrapeCache) add(met []byte, lset labels.Labels, ref storage.SeriesRef) *cacheEntry {
	off := len(c.arena)
	c.arena = append(c.arena, met...)
	c.entries = append(c.entries, cacheEntry{keyOff: off, keyLen: uint32(len(met)), lset: lset, ref: ref})
	i := int32(len(c.entries) - 1)
	c.setIndex(i)
	c.cursor = len(c.entries)
	return &c.entries[i]
}

// evict removes the entries keep rejects, keeping the others in order,
// and compacts the arena when most of it belongs to evicted keys.
func (c *scrapeCache) evict(keep func(e *cacheEntry) bool) {
	w := 0
	for r := range c.entries {
		e := &c.entries[r]
		if !keep(e) {
			c.unindex(int32(r))
			c.dead += int(e.keyLen)
			continue
		}
		if w != r {
			c.unindex(int32(r))
			c.entries[w] = *e
			c.setIndex(int32(w))
		}
		w++
	}
	clear(c.entries[w:]) // drop references to evicted label sets
	c.entries = c.entries[:w]
	if c.dead > 4<<10 && c.dead > len(c.arena)/2 {
		arena := make([]byte, 0, len(c.arena)-c.dead)
		for i := range c.entries {
			e := &c.entries[i]
			off := len(arena)
			arena = append(arena, c.keyOf(e)...)
			e.keyOff = off
		}
		c.arena, c.dead = arena, 0
	}
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
	evict := false
	for r := range c.entries {
		e := &c.entries[r]
		if ok && prev != 0 && e.tracked == prev && e.trackedNow != cur {
			ok = stale(e.ref, e.lset)
		}
		if e.trackedNow == cur {
			e.tracked = cur
		}
		if good && e.seen != cur {
			evict = true
		}
	}
	if evict {
		c.evict(func(e *cacheEntry) bool { return e.seen == cur })
	}

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
		// Every entry left was met in this attempt, so its parser's
		// format accepted every key.
		c.format = c.attemptFormat
		c.lastGood = cur
		c.goodSize = len(c.entries)
		c.expireMetadata(cur)
		c.trim()
	}
}

// trim gives back the spare capacity appending left in the entries and
// the arena, up to an eighth: a target's series change rarely, while
// doubling growth leaves a quarter of both unused on average, and they
// are the bulk of the cache.
func (c *scrapeCache) trim() {
	if n := len(c.entries); cap(c.entries)-n > n/8+16 {
		c.entries = append(make([]cacheEntry, 0, n+n/16), c.entries...)
	}
	if n := len(c.arena); cap(c.arena)-n > n/8+1024 {
		c.arena = append(make([]byte, 0, n+n/16), c.arena...)
	}
}

// abort records that attempt cur failed and was rolled back. Its entries
// stay (their label sets are still right), but a cache that keeps growing
// while scrapes fail (a target exposing ever new series and failing on a
// limit, say) is flushed down to what the last good scrape saw.
func (c *scrapeCache) abort(cur uint32) {
	if c.attemptFormat != "" && c.attemptFormat != c.format {
		c.format = "" // maybe entries of two formats now
	}
	if len(c.entries) <= 2*c.goodSize+1000 {
		return
	}
	if c.metrics != nil {
		c.metrics.cacheFlushForced.Inc()
	}
	c.evict(func(e *cacheEntry) bool { return e.seen == c.lastGood && c.lastGood != 0 })
}

// metaFor returns the family's entry, creating it.
func (c *scrapeCache) metaFor(name []byte, cur uint32) *metaEntry {
	// HELP, TYPE and UNIT of one family come together: the entry is the
	// one of the line before, or else the next family of the last scrape.
	if n := len(c.metaNext); n > 0 && c.metaNext[n-1].name == string(name) {
		return c.metaNext[n-1]
	}
	var e *metaEntry
	if c.metaCursor < len(c.metaOrder) && c.metaOrder[c.metaCursor].name == string(name) {
		e = c.metaOrder[c.metaCursor]
		c.metaCursor++
	} else if e = c.meta.m[string(name)]; e == nil {
		e = &metaEntry{name: string(name), md: metadata.Metadata{Type: metadata.TypeUnknown}, changed: cur}
		c.meta.mu.Lock()
		c.meta.m[e.name] = e
		c.meta.mu.Unlock()
	}
	e.seen = cur
	c.metaNext = append(c.metaNext, e)
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
