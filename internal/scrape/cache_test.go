package scrape

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/vigil-monitoring/vigil/internal/model/labels"
)

func checkIndex(t *testing.T, c *scrapeCache) {
	t.Helper()
	if n := len(c.index) + len(c.collided); n != len(c.entries) {
		t.Fatalf("index has %d keys, entries %d", n, len(c.entries))
	}
	for i := range c.entries {
		key := c.keyOf(&c.entries[i])
		if j, ok := c.lookup(key); !ok || int(j) != i {
			t.Fatalf("lookup(%q) = %d, %v; want %d", key, j, ok, i)
		}
	}
}

func TestCacheFollowsReorderedAndChangingBodies(t *testing.T) {
	st := newTestStorage()
	sl := testLoop(t, st, simpleJob)
	mustAppend(t, sl, "a 1\nb 2\nc 3\nd 4\n", 1000)
	// Reordered: every series is still a cache hit, none is confused
	// with its neighbour.
	res := mustAppend(t, sl, "d 40\nc 30\nb 20\na 10\n", 2000)
	if res.seriesAdded != 0 || res.added != 4 {
		t.Errorf("reordered body: %+v", res)
	}
	checkIndex(t, sl.cache)
	// Some vanish, some appear in between.
	res = mustAppend(t, sl, "a 100\nnew 1\nd 400\n", 3000)
	if res.seriesAdded != 1 {
		t.Errorf("changed body: %+v", res)
	}
	checkIndex(t, sl.cache)
	if n := len(sl.cache.entries); n != 3 {
		t.Errorf("cache has %d entries after eviction, want 3", n)
	}
	inst := func(name string) labels.Labels {
		return labels.FromStrings("__name__", name, "instance", "127.0.0.1:9", "job", "j")
	}
	for name, want := range map[string][]float64{"a": {1, 10, 100}, "d": {4, 40, 400}, "b": {2, 20}, "c": {3, 30}} {
		s := st.samplesOf(t, inst(name))
		for i, v := range want {
			if i >= len(s) || s[i].F != v {
				t.Fatalf("%s = %v, want %v first", name, s, want)
			}
		}
		if len(want) == 2 && (len(s) != 3 || !isStale(s[2]) || s[2].T != 3000) {
			t.Errorf("%s = %v, want a stale marker at 3000", name, s)
		}
	}
}

func TestBufferPoolClasses(t *testing.T) {
	cases := map[int]int{0: 0, 1: 0, 1024: 0, 1025: 1, 2048: 1, 2049: 2, 64 << 20: 16, 64<<20 + 1: -1}
	for size, want := range cases {
		if got := classAtLeast(size); got != want {
			t.Errorf("classAtLeast(%d) = %d, want %d", size, got, want)
		}
	}
	var p bufferPool
	for _, size := range []int{1, 1500, 70000, 3 << 20} {
		b := p.get(size)
		if cap(*b) < size || len(*b) != 0 {
			t.Errorf("get(%d): len %d cap %d", size, len(*b), cap(*b))
		}
		*b = append(*b, 'x')
		p.put(b)
		if b2 := p.get(size); cap(*b2) < size || len(*b2) != 0 {
			t.Errorf("reused buffer for %d: len %d cap %d", size, len(*b2), cap(*b2))
		}
	}
	// Oversized buffers are not pooled and do not break anything.
	huge := make([]byte, 0, maxPooledBufferSize+1)
	p.put(&huge)
}

func TestReadAllLimit(t *testing.T) {
	var p bufferPool
	data := bytes.Repeat([]byte("0123456789"), 1000) // 10000 bytes
	for _, c := range []struct {
		limit   int64
		wantErr bool
	}{{0, false}, {10000, false}, {9999, true}, {100, true}} {
		// One byte per read: the limit must hold however the body arrives.
		r := iotest.OneByteReader(bytes.NewReader(data))
		b, err := p.readAll(p.get(16), r, c.limit)
		if c.wantErr {
			if !errors.Is(err, errBodySizeLimit) || int64(len(*b)) != c.limit+1 {
				t.Errorf("limit %d: err %v, read %d", c.limit, err, len(*b))
			}
			continue
		}
		if err != nil || !bytes.Equal(*b, data) {
			t.Errorf("limit %d: err %v, read %d bytes", c.limit, err, len(*b))
		}
	}
	if _, err := p.readAll(p.get(16), iotest.ErrReader(io.ErrUnexpectedEOF), 0); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("read error lost: %v", err)
	}
	if b, err := p.readAll(p.get(16), strings.NewReader(""), 10); err != nil || len(*b) != 0 {
		t.Errorf("empty body: %v %d", err, len(*b))
	}
}

// TestCacheHashCollisions runs churning, reordered bodies through a cache
// whose hash collides constantly: every series must still be found as
// itself, get its own samples, and be marked stale when it goes, and the
// arena must be compacted as series leave.
func TestCacheHashCollisions(t *testing.T) {
	st := newTestStorage()
	sl := testLoop(t, st, simpleJob)
	sl.cache.weakHash = func(b []byte) uint64 { return uint64(len(b) % 3) }
	body := func(from, to int, reverse bool) string {
		var lines []string
		for i := from; i < to; i++ {
			lines = append(lines, fmt.Sprintf("m{i=\"%d\"} %d", i, i))
		}
		if reverse {
			slices.Reverse(lines)
		}
		return strings.Join(lines, "\n") + "\n"
	}
	ts := int64(1000)
	for round := range 12 {
		from := round * 40
		res := mustAppend(t, sl, body(from, from+100, round%2 == 1), ts)
		checkIndex(t, sl.cache)
		wantAdded := 40
		if round == 0 {
			wantAdded = 100
		}
		if res.seriesAdded != wantAdded || res.added != 100 {
			t.Fatalf("round %d: %+v, want %d new series of 100", round, res, wantAdded)
		}
		if n := len(sl.cache.entries); n != 100 {
			t.Fatalf("round %d: %d entries, want 100", round, n)
		}
		live := 0
		for i := range sl.cache.entries {
			live += int(sl.cache.entries[i].keyLen)
		}
		if len(sl.cache.arena) > 2*live+4<<10 {
			t.Fatalf("round %d: arena of %d bytes for %d live", round, len(sl.cache.arena), live)
		}
		ts += 1000
	}
	if len(sl.cache.collided) == 0 {
		t.Fatal("the weak hash caused no collisions: the test tests nothing")
	}
	// Series 0..39 were exposed once, at 1000, and marked stale at 2000.
	for _, i := range []int{0, 39} {
		s := st.samplesOf(t, labels.FromStrings("__name__", "m", "i", strconv.Itoa(i), "instance", "127.0.0.1:9", "job", "j"))
		if len(s) != 2 || s[0].F != float64(i) || s[0].T != 1000 || !isStale(s[1]) || s[1].T != 2000 {
			t.Errorf("m{i=%d} = %v", i, s)
		}
	}
	// Series 450 was exposed in the last three rounds.
	s := st.samplesOf(t, labels.FromStrings("__name__", "m", "i", "450", "instance", "127.0.0.1:9", "job", "j"))
	if len(s) != 3 || s[0].F != 450 || s[2].T != ts-1000 {
		t.Errorf("m{i=450} = %v", s)
	}
}

// TestExpectHintsKeepToOneFormat checks that the cache offers its keys as
// parser hints only to a parser of the format that accepted them: the
// text format takes `a {x="1"}`, OpenMetrics does not, and a hint must
// not let it through.
func TestExpectHintsKeepToOneFormat(t *testing.T) {
	const om = "application/openmetrics-text; version=1.0.0"
	st := newTestStorage()
	sl := testLoop(t, st, simpleJob)
	if _, err := appendBody(t, sl, "a {x=\"1\"} 1\nb{y=\"2\"} 2\n", 1000); err != nil {
		t.Fatal(err)
	}
	if sl.cache.format != "text" {
		t.Fatalf("cache format after a text scrape = %q", sl.cache.format)
	}
	omBody := "a {x=\"1\"} 1\nb{y=\"2\"} 2\n# EOF\n"
	if _, err := appendBodyType(t, testLoop(t, newTestStorage(), simpleJob), omBody, om, 2000); err == nil {
		t.Fatal("a fresh loop accepts the OpenMetrics body; the test needs one it refuses")
	}
	if _, err := appendBodyType(t, sl, omBody, om, 2000); err == nil {
		t.Fatal("OpenMetrics body accepted through hints from text-format keys")
	}
	// A failed attempt of another format may have added keys of its own:
	// no hints until a good scrape.
	if sl.cache.format != "" {
		t.Errorf("cache format after a failed OpenMetrics scrape = %q, want none", sl.cache.format)
	}

	// A good OpenMetrics scrape makes its keys the hints from then on.
	good := "b{y=\"2\"} 2\na{x=\"1\"} 1\n# EOF\n"
	for ts := int64(3000); ts <= 4000; ts += 1000 {
		if _, err := appendBodyType(t, sl, good, om, ts); err != nil {
			t.Fatal(err)
		}
		if sl.cache.format != "openmetrics" {
			t.Errorf("cache format after a good OpenMetrics scrape = %q", sl.cache.format)
		}
	}
	// An attempt of another format that fails after adding entries
	// leaves keys of two formats: no hints until a good scrape.
	if _, err := appendBody(t, sl, "c{z=\"3\"} 3\n!\n", 5000); err == nil {
		t.Fatal("bad text body accepted")
	}
	if sl.cache.format != "" {
		t.Errorf("cache format after a failed text scrape that added a key = %q, want none", sl.cache.format)
	}
}

// TestExpectHintsFollowChanges checks scrapes through the hinted path:
// a changed label value, a new series and a reordering all end up as the
// right series.
func TestExpectHintsFollowChanges(t *testing.T) {
	st := newTestStorage()
	sl := testLoop(t, st, simpleJob)
	bodies := []string{
		"a{x=\"1\"} 1\na{x=\"2\"} 2\nb 3\n",
		"a{x=\"1\"} 1\na{x=\"2\"} 2\nb 3\n", // all hinted
		"a{x=\"1\"} 1\na{x=\"3\"} 2\nb 3\n", // the second hint misses
		"b 3\na{x=\"3\"} 2\na{x=\"1\"} 1\na{x=\"4\"} 4\n",
	}
	for i, body := range bodies {
		if _, err := appendBody(t, sl, body, int64(i+1)*1000); err != nil {
			t.Fatal(err)
		}
	}
	got := st.series(t)
	for want, n := range map[string]int{
		`{__name__="a", instance="127.0.0.1:9", job="j", x="1"}`: 4,
		`{__name__="a", instance="127.0.0.1:9", job="j", x="2"}`: 3, // two samples and a stale marker
		`{__name__="a", instance="127.0.0.1:9", job="j", x="3"}`: 2,
		`{__name__="a", instance="127.0.0.1:9", job="j", x="4"}`: 1,
		`{__name__="b", instance="127.0.0.1:9", job="j"}`:        4,
	} {
		if len(got[want]) != n {
			t.Errorf("%s: %d samples, want %d; have %v", want, len(got[want]), n, seriesNames(got))
		}
	}
}
