package index

import (
	"slices"

	"github.com/vigil-monitoring/vigil/internal/model/labels"
)

// PostingsForMatchers returns the series matching every matcher, in
// ascending reference (and so label) order. No matchers select every
// series.
//
// A matcher that accepts the empty string also selects series without
// the label (an absent label has the value ""). Such a matcher cannot be
// answered from postings lists alone, so it is applied by subtraction:
// the series whose value it rejects are removed from the result. Every
// other matcher is a union of the lists of the values it accepts, and
// the result is their intersection, or all series when there is none.
func (r *Reader) PostingsForMatchers(ms ...*labels.Matcher) Postings {
	var its, drops []Postings
	for _, m := range ms {
		if m.Matches("") {
			if matchesEverything(m) {
				continue
			}
			drops = append(drops, r.postingsRejected(m))
			continue
		}
		p := r.postingsAccepted(m)
		if isEmpty(p) {
			return EmptyPostings()
		}
		its = append(its, p)
	}
	var p Postings
	if len(its) == 0 {
		p = r.AllPostings()
	} else {
		p = Intersect(its...)
	}
	for _, d := range drops {
		p = Without(p, d)
	}
	return p
}

// matchesEverything reports matchers that select every series: a regexp
// matching any string, which is the common `=~".*"`.
func matchesEverything(m *labels.Matcher) bool {
	return m.Type == labels.MatchRegexp && (m.Value == ".*" || m.Value == "(.*)")
}

// postingsAccepted returns the series whose value of m.Name m accepts,
// for a matcher that rejects "".
func (r *Reader) postingsAccepted(m *labels.Matcher) Postings {
	switch m.Type {
	case labels.MatchEqual:
		return r.Postings(m.Name, m.Value)
	case labels.MatchRegexp:
		if set := m.SetMatches(); len(set) > 0 {
			return r.Postings(m.Name, set...)
		}
		return r.postingsMatching(m.Name, m.Prefix(), m.Matches)
	case labels.MatchNotRegexp:
		// SetMatches is the excluded set; everything else qualifies.
	}
	return r.postingsMatching(m.Name, "", m.Matches)
}

// postingsRejected returns the series carrying m.Name with a value m
// rejects, for a matcher that accepts "".
func (r *Reader) postingsRejected(m *labels.Matcher) Postings {
	switch m.Type {
	case labels.MatchNotEqual:
		return r.Postings(m.Name, m.Value)
	case labels.MatchNotRegexp:
		if set := m.SetMatches(); len(set) > 0 {
			return r.Postings(m.Name, set...)
		}
		if p := m.Prefix(); p != "" {
			// Values m rejects all start with its regexp's prefix.
			return r.postingsMatching(m.Name, p, func(v string) bool { return !m.Matches(v) })
		}
	}
	return r.postingsMatching(m.Name, "", func(v string) bool { return !m.Matches(v) })
}

// LabelNamesFor returns the sorted label names of the series in p.
func (r *Reader) LabelNamesFor(p Postings) ([]string, error) {
	seen := map[uint64]struct{}{}
	for p.Next() {
		err := r.seriesLabelRefs(p.At(), func(name, _ uint64) { seen[name] = struct{}{} })
		if err != nil {
			return nil, err
		}
	}
	if err := p.Err(); err != nil {
		return nil, err
	}
	return r.resolveSorted(seen)
}

// LabelValuesFor returns the sorted values of name among the series in p.
func (r *Reader) LabelValuesFor(p Postings, name string) ([]string, error) {
	ni, ok := r.symbolIndex(name)
	if !ok {
		return nil, p.Err()
	}
	want := uint64(ni)
	seen := map[uint64]struct{}{}
	for p.Next() {
		err := r.seriesLabelRefs(p.At(), func(n, v uint64) {
			if n == want {
				seen[v] = struct{}{}
			}
		})
		if err != nil {
			return nil, err
		}
	}
	if err := p.Err(); err != nil {
		return nil, err
	}
	return r.resolveSorted(seen)
}

// resolveSorted turns symbol indexes into strings. The symbol table is
// sorted, so sorting the indexes sorts the strings.
func (r *Reader) resolveSorted(set map[uint64]struct{}) ([]string, error) {
	idx := make([]uint64, 0, len(set))
	for i := range set {
		idx = append(idx, i)
	}
	slices.Sort(idx)
	out := make([]string, 0, len(idx))
	for _, i := range idx {
		b, err := r.symbolBytes(i)
		if err != nil {
			return nil, err
		}
		out = append(out, string(b))
	}
	return out, nil
}
