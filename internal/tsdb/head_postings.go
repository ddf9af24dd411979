package tsdb

import (
	"cmp"
	"slices"
	"sync"

	"github.com/vigil-monitoring/vigil/internal/model/labels"
	"github.com/vigil-monitoring/vigil/internal/storage"
)

// memPostings maps each label pair to the ascending refs of the series
// carrying it, and the pair ("", "") to every series.
//
// INVARIANT: a list is only ever changed by appending a larger ref or by
// replacing it with a new slice; elements already in a list are never
// overwritten. So a reader may take a list under the read lock and keep
// reading it after releasing the lock.
type memPostings struct {
	mu struct {
		sync.RWMutex
		m map[string]map[string][]storage.SeriesRef
	}
}

func newMemPostings() *memPostings {
	p := &memPostings{}
	p.mu.m = map[string]map[string][]storage.SeriesRef{}
	return p
}

// add indexes a new series.
func (p *memPostings) add(ref storage.SeriesRef, lset labels.Labels) {
	p.mu.Lock()
	defer p.mu.Unlock()
	lset.Range(func(l labels.Label) { p.addForLocked(ref, l.Name, l.Value) })
	p.addForLocked(ref, "", "")
}

func (p *memPostings) addForLocked(ref storage.SeriesRef, name, value string) {
	vals := p.mu.m[name]
	if vals == nil {
		vals = map[string][]storage.SeriesRef{}
		p.mu.m[name] = vals
	}
	list := vals[value]
	if n := len(list); n == 0 || list[n-1] < ref {
		vals[value] = append(list, ref)
		return
	}
	// Series created concurrently may arrive out of ref order: insert into
	// a copy, never in place (see the invariant).
	i, found := slices.BinarySearch(list, ref)
	if found {
		return
	}
	nl := make([]storage.SeriesRef, 0, len(list)+1)
	nl = append(append(append(nl, list[:i]...), ref), list[i:]...)
	vals[value] = nl
}

// remove drops deleted series from every list they are in.
func (p *memPostings) remove(deleted map[storage.SeriesRef]labels.Labels) {
	if len(deleted) == 0 {
		return
	}
	type pair struct{ name, value string }
	affected := map[pair]struct{}{{"", ""}: {}}
	for _, lset := range deleted {
		lset.Range(func(l labels.Label) { affected[pair{l.Name, l.Value}] = struct{}{} })
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for pr := range affected {
		vals := p.mu.m[pr.name]
		list := vals[pr.value]
		kept := make([]storage.SeriesRef, 0, len(list))
		for _, r := range list {
			if _, gone := deleted[r]; !gone {
				kept = append(kept, r)
			}
		}
		if len(kept) == 0 {
			delete(vals, pr.value)
			if len(vals) == 0 {
				delete(p.mu.m, pr.name)
			}
			continue
		}
		vals[pr.value] = slices.Clip(kept)
	}
}

// get returns the list of a pair; see the invariant for its lifetime.
func (p *memPostings) get(name, value string) []storage.SeriesRef {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.mu.m[name][value]
}

// all returns every series ref.
func (p *memPostings) all() []storage.SeriesRef { return p.get("", "") }

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

// matching returns the lists of the values of name that keep selects.
func (p *memPostings) matching(name string, keep func(string) bool) [][]storage.SeriesRef {
	p.mu.RLock()
	defer p.mu.RUnlock()
	var out [][]storage.SeriesRef
	for v, list := range p.mu.m[name] {
		if keep(v) {
			out = append(out, list)
		}
	}
	return out
}

// postingsForMatchers returns the ascending refs of the series matching
// every matcher. A matcher that matches the empty string also selects
// series without the label, so it is applied as "all series minus those
// whose value it rejects".
func (p *memPostings) postingsForMatchers(ms []*labels.Matcher) []storage.SeriesRef {
	var include, exclude [][]storage.SeriesRef
	for _, m := range ms {
		if m.Matches("") {
			rejected := p.matching(m.Name, func(v string) bool { return !m.Matches(v) })
			if len(rejected) > 0 {
				exclude = append(exclude, union(rejected))
			}
			continue
		}
		var lists [][]storage.SeriesRef
		switch {
		case m.Type == labels.MatchEqual:
			lists = [][]storage.SeriesRef{p.get(m.Name, m.Value)}
		case m.Type == labels.MatchRegexp && len(m.SetMatches()) > 0:
			for _, v := range m.SetMatches() {
				lists = append(lists, p.get(m.Name, v))
			}
		default:
			lists = p.matching(m.Name, m.Matches)
		}
		l := union(lists)
		if len(l) == 0 {
			return nil
		}
		include = append(include, l)
	}
	var res []storage.SeriesRef
	if len(include) == 0 {
		res = p.all()
	} else {
		slices.SortFunc(include, func(a, b []storage.SeriesRef) int { return cmp.Compare(len(a), len(b)) })
		res = include[0]
		for _, l := range include[1:] {
			res = intersect(res, l)
		}
	}
	for _, l := range exclude {
		res = subtract(res, l)
	}
	return res
}

// union returns the sorted union of sorted lists.
func union(lists [][]storage.SeriesRef) []storage.SeriesRef {
	switch len(lists) {
	case 0:
		return nil
	case 1:
		return lists[0]
	}
	n := 0
	for _, l := range lists {
		n += len(l)
	}
	out := make([]storage.SeriesRef, 0, n)
	for _, l := range lists {
		out = append(out, l...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// intersect returns the refs in both sorted lists.
func intersect(a, b []storage.SeriesRef) []storage.SeriesRef {
	out := make([]storage.SeriesRef, 0, min(len(a), len(b)))
	for len(a) > 0 && len(b) > 0 {
		switch {
		case a[0] == b[0]:
			out = append(out, a[0])
			a, b = a[1:], b[1:]
		case a[0] < b[0]:
			// Skip ahead with a binary search when b is far ahead: selective
			// intersections touch few elements of the long list.
			i, _ := slices.BinarySearch(a, b[0])
			a = a[i:]
		default:
			i, _ := slices.BinarySearch(b, a[0])
			b = b[i:]
		}
	}
	return out
}

// subtract returns the refs of a that are not in b.
func subtract(a, b []storage.SeriesRef) []storage.SeriesRef {
	out := make([]storage.SeriesRef, 0, len(a))
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
