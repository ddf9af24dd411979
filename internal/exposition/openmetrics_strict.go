package exposition

import (
	"math"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/vigil-monitoring/vigil/internal/model/exemplar"
)

// omValidator enforces the OpenMetrics 1.0 rules that the line grammar
// alone does not: how samples group into families and how families may be
// named, what each type requires of its samples (le and quantile labels,
// value ranges, histogram structure), where metadata and exemplars may
// appear, and that timestamps do not go backwards. It sees every line the
// parser reads, _created samples included, and allocates freely: strict
// mode serves `vigil tool check metrics`, not scraping.
type omValidator struct {
	// claimed holds every sample name that a finished family can produce
	// (the family name plus its type's suffixes). A later family that
	// claims any of them again clashes.
	claimed map[string]struct{}
	open    bool
	fam     omFamily
}

type omFamily struct {
	name                      string
	line                      int
	typ                       MetricType // MetricTypeUnknown until a TYPE line says otherwise
	typeSet, helpSet, unitSet bool
	unit                      string
	hasSamples                bool

	// groups are the label sets (minus le, quantile or the stateset label)
	// already seen; a family must not come back to one it left.
	groups     map[string]struct{}
	group      string
	inGroup    bool
	groupHasTS bool
	groupTS    int64

	hist      omHistGroup
	histOpen  bool
	histGroup string
	histHasTS bool
	histTS    int64
}

// omHistGroup collects one histogram or gauge histogram series (one label
// set at one timestamp) until it is complete.
type omHistGroup struct {
	line                        int
	buckets                     bool
	lastLe, lastCount           float64
	count                       float64
	hasCount, hasSum, hasGsum   bool
	negativeBucket, negativeSum bool
}

func newOMValidator() *omValidator {
	return &omValidator{claimed: map[string]struct{}{}}
}

// suffixes lists the sample names a family of type t owns, relative to the
// family name.
func suffixes(t MetricType) []string {
	switch t {
	case MetricTypeCounter:
		return []string{"_total", "_created"}
	case MetricTypeSummary:
		return []string{"", "_count", "_sum", "_created"}
	case MetricTypeHistogram:
		return []string{"_count", "_sum", "_bucket", "_created"}
	case MetricTypeGaugeHistogram:
		return []string{"_gcount", "_gsum", "_bucket"}
	case MetricTypeInfo:
		return []string{"_info"}
	}
	return []string{""}
}

func (v *omValidator) startFamily(name string, line int) {
	v.open = true
	v.fam = omFamily{name: name, line: line, typ: MetricTypeUnknown, groups: map[string]struct{}{}}
}

// meta checks a HELP, TYPE or UNIT line the parser just read.
func (v *omValidator) meta(p *omParser, e Entry, quoted bool) error {
	line := p.entryLine
	if quoted {
		return omErr(line, "quoted metric names are not part of OpenMetrics 1.0")
	}
	name := string(p.metaName.of(p.b))
	if !v.open || name != v.fam.name {
		if err := v.closeFamily(); err != nil {
			return err
		}
		v.startFamily(name, line)
	} else if v.fam.hasSamples {
		return omErr(line, "metadata for %q after its samples", name)
	}
	f := &v.fam
	switch e {
	case EntryHelp:
		if f.helpSet {
			return omErr(line, "second HELP for %q", name)
		}
		f.helpSet = true
	case EntryType:
		if f.typeSet {
			return omErr(line, "second TYPE for %q", name)
		}
		f.typeSet, f.typ = true, p.mtype
	case EntryUnit:
		if f.unitSet {
			return omErr(line, "second UNIT for %q", name)
		}
		f.unitSet, f.unit = true, string(p.text)
	}
	return nil
}

// closeFamily finishes the open family: the checks that need all of it,
// then the name clash check against earlier families.
func (v *omValidator) closeFamily() error {
	if !v.open {
		return nil
	}
	f := &v.fam
	v.open = false
	if err := v.finishHist(); err != nil {
		return err
	}
	if f.unit != "" && (f.typ == MetricTypeInfo || f.typ == MetricTypeStateset) {
		return omErr(f.line, "%s %q may not have a unit", f.typ, f.name)
	}
	if f.unit != "" && !strings.HasSuffix(f.name, "_"+f.unit) {
		return omErr(f.line, "unit %q is not a suffix of metric %q", f.unit, f.name)
	}
	names := suffixes(f.typ)
	if !slices.Contains(names, "") {
		names = append(names, "")
	}
	for _, s := range names {
		if _, ok := v.claimed[f.name+s]; ok {
			return omErr(f.line, "metric family %q clashes with an earlier family over the name %q", f.name, f.name+s)
		}
	}
	for _, s := range names {
		v.claimed[f.name+s] = struct{}{}
	}
	return nil
}

func (v *omValidator) finish() error { return v.closeFamily() }

type strLabel struct{ name, value string }

func (v *omValidator) strLabels(p *omParser, s *seriesRef, line int, what string) ([]strLabel, error) {
	if s.trailingComma {
		return nil, omErr(line, "trailing comma in the %s label set", what)
	}
	out := make([]strLabel, 0, len(s.labels))
	for _, l := range s.labels {
		if l.nameQuoted {
			return nil, omErr(line, "quoted label names are not part of OpenMetrics 1.0")
		}
		out = append(out, strLabel{
			name:  string(l.name.of(p.b)),
			value: string(appendUnescaped(nil, l.value.of(p.b), true)),
		})
	}
	sorted := slices.Clone(out)
	slices.SortFunc(sorted, func(a, b strLabel) int { return strings.Compare(a.name, b.name) })
	for i := 1; i < len(sorted); i++ {
		if sorted[i].name == sorted[i-1].name {
			return nil, omErr(line, "duplicate label name %q in the %s label set", sorted[i].name, what)
		}
	}
	return out, nil
}

func getLabel(ls []strLabel, name string) (string, bool) {
	for _, l := range ls {
		if l.name == name {
			return l.value, true
		}
	}
	return "", false
}

// sample checks a sample line the parser just read.
func (v *omValidator) sample(p *omParser, s *omSample) error {
	line := p.entryLine
	if s.series.nameQuoted {
		return omErr(line, "quoted metric names are not part of OpenMetrics 1.0")
	}
	ls, err := v.strLabels(p, &s.series, line, "series")
	if err != nil {
		return err
	}
	name := string(s.series.name.of(p.b))
	if !v.open || !v.allowed(name) {
		if err := v.closeFamily(); err != nil {
			return err
		}
		v.startFamily(name, line)
		v.fam.typeSet = true // a family without TYPE is unknown; no TYPE may follow
	}
	f := &v.fam
	f.hasSamples = true
	suffix := name[len(f.name):]
	val := s.val

	// Labels each type requires.
	drop := ""
	switch {
	case f.typ == MetricTypeStateset:
		if _, ok := getLabel(ls, f.name); !ok {
			return omErr(line, "stateset sample without a %q label", f.name)
		}
		drop = f.name
	case (f.typ == MetricTypeHistogram || f.typ == MetricTypeGaugeHistogram) && suffix == "_bucket":
		le, ok := getLabel(ls, "le")
		if !ok {
			return omErr(line, "bucket without an le label")
		}
		b, ok := parseFloat([]byte(le))
		if !ok || math.IsNaN(b) {
			return omErr(line, "invalid le label %q", le)
		}
		if math.IsInf(b, 1) && le != "+Inf" {
			return omErr(line, "le label %q must be written +Inf", le)
		}
		drop = "le"
	case f.typ == MetricTypeSummary && suffix == "":
		q, ok := getLabel(ls, "quantile")
		if !ok {
			return omErr(line, "summary quantile sample without a quantile label")
		}
		qv, ok := parseFloat([]byte(q))
		if !ok || !(qv >= 0 && qv <= 1) {
			return omErr(line, "invalid quantile label %q: must be a number from 0 to 1", q)
		}
		if val < 0 {
			return omErr(line, "quantile value %v is negative", val)
		}
		drop = "quantile"
	}

	// Grouping: every label set (one "metric" of the family) appears in
	// one contiguous run, and its timestamps never go backwards.
	group := ""
	if f.typ != MetricTypeInfo {
		group = groupKey(ls, drop)
	}
	if f.inGroup && group == f.group {
		if s.hasTS != f.groupHasTS {
			return omErr(line, "some samples of one series have timestamps and some do not")
		}
		if s.hasTS && s.ts < f.groupTS && f.typ != MetricTypeInfo {
			return omErr(line, "timestamp goes backwards within a series")
		}
	} else if _, seen := f.groups[group]; seen {
		return omErr(line, "samples of label set {%s} are not grouped together", strings.ReplaceAll(group, "\xff", ","))
	}
	f.groups[group] = struct{}{}
	f.group, f.inGroup, f.groupHasTS, f.groupTS = group, true, s.hasTS, s.ts

	if f.typ == MetricTypeHistogram || f.typ == MetricTypeGaugeHistogram {
		if err := v.histSample(s, ls, suffix, group, line); err != nil {
			return err
		}
	}

	// Values.
	switch {
	case f.typ == MetricTypeStateset && val != 0 && val != 1:
		return omErr(line, "stateset value %v is neither 0 nor 1", val)
	case f.typ == MetricTypeInfo && val != 1:
		return omErr(line, "info value %v is not 1", val)
	}
	switch suffix {
	case "_total", "_sum", "_count", "_bucket", "_gcount", "_gsum":
		if math.IsNaN(val) {
			return omErr(line, "%s sample %q is NaN", f.typ, name)
		}
		if val < 0 && suffix != "_gsum" {
			return omErr(line, "%s sample %q is negative", f.typ, name)
		}
	}

	// Exemplars.
	if s.hasEx {
		ok := ((f.typ == MetricTypeHistogram || f.typ == MetricTypeGaugeHistogram) && strings.HasSuffix(name, "_bucket")) ||
			(f.typ == MetricTypeCounter && strings.HasSuffix(name, "_total"))
		if !ok {
			return omErr(line, "exemplars are only allowed on histogram buckets and counter totals, not on %q", name)
		}
		els, err := v.strLabels(p, &s.ex, line, "exemplar")
		if err != nil {
			return err
		}
		n := 0
		for _, l := range els {
			n += utf8.RuneCountInString(l.name) + utf8.RuneCountInString(l.value)
		}
		if n > exemplar.MaxLabelSetLength {
			return omErr(line, "exemplar label set has %d characters, more than %d", n, exemplar.MaxLabelSetLength)
		}
	}
	return nil
}

// allowed reports whether a sample named name belongs to the open family.
func (v *omValidator) allowed(name string) bool {
	f := &v.fam
	if !strings.HasPrefix(name, f.name) {
		return false
	}
	return slices.Contains(suffixes(f.typ), name[len(f.name):])
}

// groupKey identifies a sample's series within its family: its labels
// sorted by name, without the one that tells the family's samples apart.
func groupKey(ls []strLabel, drop string) string {
	ls = slices.Clone(ls)
	slices.SortFunc(ls, func(a, b strLabel) int { return strings.Compare(a.name, b.name) })
	var sb strings.Builder
	for _, l := range ls {
		if l.name == drop {
			continue
		}
		if sb.Len() > 0 {
			sb.WriteByte('\xff')
		}
		sb.WriteString(l.name)
		sb.WriteString("=")
		sb.WriteString(l.value)
	}
	return sb.String()
}

// histSample feeds one histogram or gauge histogram sample into the check
// of its series. A series is one label set at one timestamp; when the next
// sample starts another, the finished one must be complete and consistent.
func (v *omValidator) histSample(s *omSample, ls []strLabel, suffix, group string, line int) error {
	f := &v.fam
	if !f.histOpen || group != f.histGroup || s.hasTS != f.histHasTS || s.ts != f.histTS {
		if err := v.finishHist(); err != nil {
			return err
		}
		f.hist = omHistGroup{}
		f.histOpen, f.histGroup, f.histHasTS, f.histTS = true, group, s.hasTS, s.ts
	}
	h := &f.hist
	h.line = line
	switch suffix {
	case "_bucket":
		le, _ := getLabel(ls, "le")
		b, _ := parseFloat([]byte(le))
		if b < 0 {
			h.negativeBucket = true
		}
		if h.buckets && b <= h.lastLe {
			return omErr(line, "bucket le=%q is not above the previous bucket's", le)
		}
		if h.buckets && s.val < h.lastCount {
			return omErr(line, "bucket le=%q counts less than the previous bucket", le)
		}
		h.buckets, h.lastLe, h.lastCount = true, b, s.val
	case "_count", "_gcount":
		h.count, h.hasCount = s.val, true
	case "_sum":
		h.hasSum = true
	case "_gsum":
		h.hasGsum = true
		if s.val < 0 {
			h.negativeSum = true
		}
	}
	return nil
}

func (v *omValidator) finishHist() error {
	f := &v.fam
	if !f.histOpen {
		return nil
	}
	f.histOpen = false
	h := &f.hist
	line := h.line
	switch {
	case !h.buckets || !math.IsInf(h.lastLe, 1):
		return omErr(line, "histogram %q has no +Inf bucket", f.name)
	case h.hasCount && h.count != h.lastCount:
		return omErr(line, "histogram %q: count %v differs from the +Inf bucket %v", f.name, h.count, h.lastCount)
	case h.hasSum && !h.hasCount:
		return omErr(line, "histogram %q has _sum without _count", f.name)
	case h.hasGsum && !h.hasCount:
		return omErr(line, "gauge histogram %q has _gsum without _gcount", f.name)
	case h.hasCount && !h.hasSum && !h.hasGsum:
		return omErr(line, "histogram %q has a count but no sum", f.name)
	case h.negativeBucket && h.hasSum:
		return omErr(line, "histogram %q has negative buckets, so it may not have _sum", f.name)
	case !h.negativeBucket && h.negativeSum:
		return omErr(line, "gauge histogram %q has a negative _gsum but no negative buckets", f.name)
	}
	return nil
}
