package tsdb

import (
	"cmp"
	"encoding/binary"
	"math/bits"
	"slices"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/vigil-monitoring/vigil/internal/model/labels"
	"github.com/vigil-monitoring/vigil/internal/storage"
)

// postingsBlock is the number of refs in a block of a postingList: a
// seek binary-searches blocks, then decodes at most this many refs.
const postingsBlock = 64

// postingList is an ascending list of series refs, delta-encoded: blocks
// of postingsBlock refs, each starting with the uvarint of its first ref
// followed by the uvarints of the differences to the previous ref. A
// series costs one or two bytes per label where a []SeriesRef costs eight.
// blocks[i] is the offset in data of block i+1 (block 0 starts at 0).
//
// INVARIANT: data and blocks are only appended to, or replaced as a whole;
// bytes below their lengths never change. So a copy of the struct taken
// under the postings lock stays readable after the lock is released.
type postingList struct {
	data   []byte
	blocks []uint32
	n      int
	last   storage.SeriesRef
}

// add appends ref, which must be larger than every ref in the list.
func (l *postingList) add(ref storage.SeriesRef) {
	switch {
	case l.n == 0:
		l.data = binary.AppendUvarint(l.data, uint64(ref))
	case l.n%postingsBlock == 0:
		l.blocks = append(l.blocks, uint32(len(l.data)))
		l.data = binary.AppendUvarint(l.data, uint64(ref))
	default:
		l.data = binary.AppendUvarint(l.data, uint64(ref-l.last))
	}
	l.n++
	l.last = ref
}

func newPostingList(refs []storage.SeriesRef) postingList {
	var l postingList
	for _, r := range refs {
		l.add(r)
	}
	l.data = slices.Clip(l.data)
	l.blocks = slices.Clip(l.blocks)
	return l
}

// decode appends the refs to dst.
func (l postingList) decode(dst []storage.SeriesRef) []storage.SeriesRef {
	it := l.iter()
	for it.next() {
		dst = append(dst, it.cur)
	}
	return dst
}

func (l postingList) iter() postingIter { return postingIter{l: l} }

// postingIter walks a postingList.
//
// INVARIANT: i refs have been decoded, the last of them into cur, and the
// next one starts at data[off].
type postingIter struct {
	l   postingList
	i   int
	off int
	cur storage.SeriesRef
}

func (it *postingIter) next() bool {
	if it.i >= it.l.n {
		return false
	}
	v, k := binary.Uvarint(it.l.data[it.off:])
	it.off += k
	if it.i%postingsBlock == 0 {
		it.cur = storage.SeriesRef(v)
	} else {
		it.cur += storage.SeriesRef(v)
	}
	it.i++
	return true
}

// blockStart returns the offset of block b.
func (l postingList) blockStart(b int) int {
	if b == 0 {
		return 0
	}
	return int(l.blocks[b-1])
}

// seek moves to the first ref >= x, reporting false when there is none.
// It never moves back.
func (it *postingIter) seek(x storage.SeriesRef) bool {
	if it.i > 0 && it.cur >= x {
		return true
	}
	// Skip whole blocks: find the last block starting at or before x
	// after the one the iterator is in.
	curBlock := 0
	if it.i > 0 {
		curBlock = (it.i - 1) / postingsBlock
	}
	nBlocks := len(it.l.blocks) + 1
	if curBlock+1 < nBlocks {
		rest := nBlocks - curBlock - 1
		j := sort.Search(rest, func(k int) bool {
			v, _ := binary.Uvarint(it.l.data[it.l.blockStart(curBlock+1+k):])
			return storage.SeriesRef(v) > x
		})
		if j > 0 {
			b := curBlock + j
			it.i, it.off = b*postingsBlock, it.l.blockStart(b)
		}
	}
	for it.next() {
		if it.cur >= x {
			return true
		}
	}
	return false
}

// memPostings maps each label pair to the postingList of the series
// carrying it, and the pair ("", "") to every series.
//
// INVARIANT: lists grow in ref order. Refs are issued by addNew under the
// lock, so a new series always has the largest ref; replay, which creates
// series with the refs the WAL gives in the WAL's order, fills the index
// in one sorted pass instead (addSorted).
type memPostings struct {
	mu struct {
		sync.RWMutex
		m map[string]map[string]*postingList
	}
}

func newMemPostings() *memPostings {
	p := &memPostings{}
	p.mu.m = map[string]map[string]*postingList{}
	return p
}

// addNew issues the next ref from last and indexes lbls under it. The
// keys it adds are the interned strings, so the index holds no string of
// its own.
func (p *memPostings) addNew(last *atomic.Uint64, lbls seriesLabels, syms *symbolTable) storage.SeriesRef {
	p.mu.Lock()
	defer p.mu.Unlock()
	ref := storage.SeriesRef(last.Add(1))
	p.addLocked(ref, lbls, syms)
	return ref
}

// addSorted indexes series given in ascending ref order, each above every
// ref already indexed.
func (p *memPostings) addSorted(series []*memSeries, syms *symbolTable) {
	p.mu.Lock()
	defer p.mu.Unlock()
	syms.mu.RLock()
	defer syms.mu.RUnlock()
	for _, s := range series {
		syms.pairsLocked(s.lbls, func(name, value string) { p.addForLocked(s.ref, name, value) })
		p.addForLocked(s.ref, "", "")
	}
}

func (p *memPostings) addLocked(ref storage.SeriesRef, lbls seriesLabels, syms *symbolTable) {
	syms.pairs(lbls, func(name, value string) { p.addForLocked(ref, name, value) })
	p.addForLocked(ref, "", "")
}

func (p *memPostings) addForLocked(ref storage.SeriesRef, name, value string) {
	vals := p.mu.m[name]
	if vals == nil {
		vals = map[string]*postingList{}
		p.mu.m[name] = vals
	}
	l := vals[value]
	if l == nil {
		l = &postingList{}
		vals[value] = l
	}
	if l.n == 0 || ref > l.last {
		l.add(ref)
		return
	}
	// Out of order, which the invariant rules out; stay correct anyway,
	// replacing the list rather than editing it (see postingList).
	refs := l.decode(nil)
	i, found := slices.BinarySearch(refs, ref)
	if !found {
		*l = newPostingList(slices.Insert(refs, i, ref))
	}
}

// remove drops deleted series from every list they are in. The series'
// symbols must still be interned.
func (p *memPostings) remove(deleted map[storage.SeriesRef]seriesLabels, syms *symbolTable) {
	if len(deleted) == 0 {
		return
	}
	type pair struct{ name, value string }
	affected := map[pair]struct{}{{"", ""}: {}}
	for _, lbls := range deleted {
		syms.pairs(lbls, func(name, value string) { affected[pair{name, value}] = struct{}{} })
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	var kept []storage.SeriesRef
	for pr := range affected {
		vals := p.mu.m[pr.name]
		l := vals[pr.value]
		if l == nil {
			continue
		}
		kept = kept[:0]
		it := l.iter()
		for it.next() {
			if _, gone := deleted[it.cur]; !gone {
				kept = append(kept, it.cur)
			}
		}
		if len(kept) == 0 {
			delete(vals, pr.value)
			if len(vals) == 0 {
				delete(p.mu.m, pr.name)
			}
			continue
		}
		*l = newPostingList(kept)
	}
}

// get returns the list of a pair; see the invariant for its lifetime.
func (p *memPostings) get(name, value string) postingList {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if l := p.mu.m[name][value]; l != nil {
		return *l
	}
	return postingList{}
}

// all returns every series.
func (p *memPostings) all() postingList { return p.get("", "") }

// labelNames returns the sorted label names.
func (p *memPostings) labelNames() []string {
	p.mu.RLock()
	defer p.mu.RUnlock()
	out := make([]string, 0, len(p.mu.m))
	for n := range p.mu.m {
		if n != "" {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out
}

// labelValues returns the sorted values of a label name.
func (p *memPostings) labelValues(name string) []string {
	if name == "" {
		return nil
	}
	p.mu.RLock()
	defer p.mu.RUnlock()
	vals := p.mu.m[name]
	out := make([]string, 0, len(vals))
	for v := range vals {
		out = append(out, v)
	}
	slices.Sort(out)
	return out
}

// eachMatching calls f with the list of every value of name that keep
// selects, holding the read lock: f must be quick and must not call p.
func (p *memPostings) eachMatching(name string, keep func(string) bool, f func(*postingList)) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	for v, l := range p.mu.m[name] {
		if keep(v) {
			f(l)
		}
	}
}

// allIfEveryHas returns the list of all series if every series carries
// label name, which a series has at most one value of.
func (p *memPostings) allIfEveryHas(name string) (postingList, bool) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	all := p.mu.m[""][""]
	if all == nil {
		return postingList{}, false
	}
	n := 0
	for _, l := range p.mu.m[name] {
		n += l.n
	}
	return *all, n == all.n
}

// matching returns the lists of the values of name that keep selects.
func (p *memPostings) matching(name string, keep func(string) bool) []postingList {
	p.mu.RLock()
	defer p.mu.RUnlock()
	var out []postingList
	for v, l := range p.mu.m[name] {
		if keep(v) {
			out = append(out, *l)
		}
	}
	return out
}

// postingsForMatchers returns the ascending refs of the series matching
// every matcher.
func (p *memPostings) postingsForMatchers(ms []*labels.Matcher) []storage.SeriesRef {
	refs, _ := p.selectPostings(ms, false)
	return refs
}

// deferMinCandidates is the candidate count up to which a matcher is
// always checked against each candidate's labels instead of expanded
// through the index.
const deferMinCandidates = 1024

// selectPostings returns the ascending refs of the series matching ms. A
// matcher that matches the empty string also selects series without the
// label, so through the index it is applied as "all series minus those
// whose value it rejects".
//
// Equality and small set matchers are applied first: they cost one list
// each. With canDefer, a further matcher whose expansion would cost more
// than checking it on each remaining candidate (a regex over every value
// of a label, or the union of all of a label's lists) is returned in rest
// instead, and the caller must check it against the labels of each
// returned series. Without canDefer, rest is empty.
//
// The shortest list is decoded and the others are only seeked into, so a
// selective matcher keeps the cost of a broad one (job="node") low.
func (p *memPostings) selectPostings(ms []*labels.Matcher, canDefer bool) (refs []storage.SeriesRef, rest []*labels.Matcher) {
	return p.selectPostingsInto(nil, ms, canDefer)
}

// selectPostingsInto is selectPostings building the result in buf's
// memory where it can.
func (p *memPostings) selectPostingsInto(buf []storage.SeriesRef, ms []*labels.Matcher, canDefer bool) (refs []storage.SeriesRef, rest []*labels.Matcher) {
	type include struct {
		list postingList         // a single list, or
		refs []storage.SeriesRef // the union of several
		n    int
	}
	cheap := func(m *labels.Matcher) bool {
		if m.Matches("") {
			return false
		}
		return m.Type == labels.MatchEqual || (m.Type == labels.MatchRegexp && len(m.SetMatches()) > 0 && len(m.SetMatches()) <= 16)
	}
	expand := func(m *labels.Matcher) include {
		var lists []postingList
		switch {
		case m.Type == labels.MatchEqual:
			lists = []postingList{p.get(m.Name, m.Value)}
		case m.Type == labels.MatchRegexp && len(m.SetMatches()) > 0:
			for _, v := range m.SetMatches() {
				lists = append(lists, p.get(m.Name, v))
			}
		case m.Type == labels.MatchNotEqual && m.Value == "" || m.Type == labels.MatchRegexp && m.Value == ".+":
			// Every series with the label: when that is every series
			// (__name__!=""), the list of all series is it.
			if all, ok := p.allIfEveryHas(m.Name); ok {
				return include{list: all, n: all.n}
			}
			lists = p.matching(m.Name, m.Matches)
		default:
			lists = p.matching(m.Name, m.Matches)
		}
		if len(lists) == 1 {
			return include{list: lists[0], n: lists[0].n}
		}
		u := union(nil, lists)
		return include{refs: u, n: len(u)}
	}
	// Cheap includes first, then the others in the given order.
	var incs []include
	var later []*labels.Matcher
	for _, m := range ms {
		if !cheap(m) {
			later = append(later, m)
			continue
		}
		inc := expand(m)
		if inc.n == 0 {
			return nil, nil
		}
		incs = append(incs, inc)
	}
	if len(incs) == 0 {
		// Nothing cheap: expand the first include, if any, to have a
		// candidate set at all.
		for i, m := range later {
			if m.Matches("") {
				continue
			}
			inc := expand(m)
			if inc.n == 0 {
				return nil, nil
			}
			incs = append(incs, inc)
			later = slices.Delete(slices.Clone(later), i, i+1)
			break
		}
	}
	var res []storage.SeriesRef
	if len(incs) == 0 {
		res = p.all().decode(buf[:0])
	} else {
		slices.SortFunc(incs, func(a, b include) int { return cmp.Compare(a.n, b.n) })
		if incs[0].refs != nil {
			res = incs[0].refs
		} else {
			res = incs[0].list.decode(slices.Grow(buf[:0], incs[0].n))
		}
		for _, inc := range incs[1:] {
			res = intersectInclude(res, inc.list, inc.refs)
			if len(res) == 0 {
				return nil, nil
			}
		}
	}
	for _, m := range later {
		if canDefer && p.cheaperToCheck(len(res), m.Name) {
			rest = append(rest, m)
			continue
		}
		if m.Matches("") {
			res = p.subtractRejected(res, m)
		} else {
			inc := expand(m)
			res = intersectInclude(res, inc.list, inc.refs)
		}
		if len(res) == 0 {
			return nil, nil
		}
	}
	return res, rest
}

// cheaperToCheck reports whether checking a matcher on label name against
// n candidates' labels beats expanding it, which runs it over every value
// of name and merges the lists of those it keeps or rejects.
func (p *memPostings) cheaperToCheck(n int, name string) bool {
	if n <= deferMinCandidates {
		return true
	}
	p.mu.RLock()
	values := len(p.mu.m[name])
	p.mu.RUnlock()
	return n <= 4*values
}

func intersectInclude(res []storage.SeriesRef, list postingList, refs []storage.SeriesRef) []storage.SeriesRef {
	if refs != nil {
		return intersect(res, refs)
	}
	return intersectList(res, list)
}

// subtractRejected drops from res (ascending, edited in place) the series
// whose value of m's label m rejects.
func (p *memPostings) subtractRejected(res []storage.SeriesRef, m *labels.Matcher) []storage.SeriesRef {
	if len(res) == 0 {
		return res
	}
	reject := func(v string) bool { return !m.Matches(v) }
	if maxRef := res[len(res)-1]; int(maxRef/64) <= 4*len(res) {
		// Mark the rejected refs that can be in res in a bitmap, which
		// needs neither a merge nor a list of lists.
		bm := make([]uint64, maxRef/64+1)
		p.eachMatching(m.Name, reject, func(l *postingList) {
			it := l.iter()
			for it.next() && it.cur <= maxRef {
				bm[it.cur/64] |= 1 << (it.cur % 64)
			}
		})
		out := res[:0]
		for _, r := range res {
			if bm[r/64]&(1<<(r%64)) == 0 {
				out = append(out, r)
			}
		}
		return out
	}
	if rejected := p.matching(m.Name, reject); len(rejected) > 0 {
		res = subtract(res, union(nil, rejected))
	}
	return res
}

// union returns the sorted union of lists, appended to dst.
func union(dst []storage.SeriesRef, lists []postingList) []storage.SeriesRef {
	n := 0
	var maxRef storage.SeriesRef
	for _, l := range lists {
		n += l.n
		if l.n > 0 {
			maxRef = max(maxRef, l.last)
		}
	}
	out := slices.Grow(dst[:0], n)
	switch len(lists) {
	case 0:
		return out
	case 1:
		return lists[0].decode(out)
	}
	if len(lists) > 8 && int(maxRef/64) <= 2*n {
		// Dense refs: set bits and read them back in order, linear in
		// the refs where a merge is n·log(len(lists)).
		bm := make([]uint64, maxRef/64+1)
		for _, l := range lists {
			it := l.iter()
			for it.next() {
				bm[it.cur/64] |= 1 << (it.cur % 64)
			}
		}
		for i, w := range bm {
			for w != 0 {
				out = append(out, storage.SeriesRef(i*64+bits.TrailingZeros64(w)))
				w &= w - 1
			}
		}
		return out
	}
	// Otherwise merge k-way with a min-heap of the lists' iterators,
	// ordered by their current ref.
	h := make([]postingIter, 0, len(lists))
	for _, l := range lists {
		it := l.iter()
		if it.next() {
			h = append(h, it)
		}
	}
	down := func(i int) {
		for {
			c := 2*i + 1
			if c >= len(h) {
				return
			}
			if c+1 < len(h) && h[c+1].cur < h[c].cur {
				c++
			}
			if h[i].cur <= h[c].cur {
				return
			}
			h[i], h[c] = h[c], h[i]
			i = c
		}
	}
	for i := len(h)/2 - 1; i >= 0; i-- {
		down(i)
	}
	for len(h) > 0 {
		if r := h[0].cur; len(out) == 0 || out[len(out)-1] != r {
			out = append(out, r)
		}
		if !h[0].next() {
			h[0] = h[len(h)-1]
			h = h[:len(h)-1]
		}
		down(0)
	}
	return out
}

// intersectList keeps the refs of a (ascending) that are in l, editing a
// in place.
func intersectList(a []storage.SeriesRef, l postingList) []storage.SeriesRef {
	it := l.iter()
	out := a[:0]
	for _, r := range a {
		if !it.seek(r) {
			break
		}
		if it.cur == r {
			out = append(out, r)
		}
	}
	return out
}

// intersect keeps the refs of a that are in b, both ascending, editing a
// in place.
func intersect(a, b []storage.SeriesRef) []storage.SeriesRef {
	out := a[:0]
	for _, r := range a {
		// Skip ahead with a binary search: selective intersections touch
		// few elements of the long list.
		i, found := slices.BinarySearch(b, r)
		if found {
			out = append(out, r)
		}
		b = b[i:]
		if len(b) == 0 {
			break
		}
	}
	return out
}

// subtract returns the refs of a that are not in b, editing a in place.
func subtract(a, b []storage.SeriesRef) []storage.SeriesRef {
	out := a[:0]
	for _, r := range a {
		for len(b) > 0 && b[0] < r {
			b = b[1:]
		}
		if len(b) > 0 && b[0] == r {
			continue
		}
		out = append(out, r)
	}
	return out
}
