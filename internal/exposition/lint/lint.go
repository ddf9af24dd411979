// Package lint checks metric exposition against the Prometheus naming
// conventions, the checks `promtool check metrics` runs (client_golang's
// promlint), so `vigil tool check metrics` reports the same problems with the
// same words that scripts around promtool grep for.
package lint

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/vigil-monitoring/vigil/internal/exposition"
	"github.com/vigil-monitoring/vigil/internal/model/labels"
)

// Problem is one convention a metric family breaks.
type Problem struct {
	Metric string
	Text   string
}

func (p Problem) String() string { return p.Metric + " " + p.Text }

// family is what the linter needs to know of one metric family.
type family struct {
	name       string
	typ        exposition.MetricType
	hasHelp    bool
	hasType    bool
	sawSamples bool
	labelNames map[string]struct{}
}

// Lint parses body with the parser the content type selects and returns
// the problems sorted by metric name and text, as promlint sorts them. A
// body that does not parse returns the parse error (which names the line)
// and no problems.
func Lint(body []byte, contentType string) ([]Problem, error) {
	p, err := exposition.New(body, contentType, exposition.Options{Strict: true})
	if err != nil {
		return nil, err
	}
	var (
		order    []*family
		families = map[string]*family{}
		sb       = labels.NewScratchBuilder(16)
	)
	get := func(name string) *family {
		f, ok := families[name]
		if !ok {
			f = &family{name: name, typ: exposition.MetricTypeUnknown, labelNames: map[string]struct{}{}}
			families[name] = f
			order = append(order, f)
		}
		return f
	}
	for {
		entry, err := p.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		switch entry {
		case exposition.EntryHelp:
			name, _ := p.Help()
			f := get(string(name))
			if f.hasHelp {
				return nil, fmt.Errorf("second HELP line for metric name %q", f.name)
			}
			f.hasHelp = true
		case exposition.EntryType:
			name, typ := p.Type()
			f := get(string(name))
			// The wording is expfmt's, which promtool prints.
			if f.hasType || f.sawSamples {
				return nil, fmt.Errorf("second TYPE line for metric name %q, or TYPE reported after samples", f.name)
			}
			f.hasType, f.typ = true, typ
		case exposition.EntrySeries, exposition.EntryHistogram:
			p.Labels(&sb)
			ls := sb.Labels()
			f := get(familyName(ls.Get(labels.MetricName), families))
			f.sawSamples = true
			ls.Range(func(l labels.Label) {
				if l.Name == labels.MetricName {
					return
				}
				// The bucket and quantile labels belong to the type's own
				// structure, not to the family's labels.
				if (l.Name == labels.BucketLabel && isHistogram(f.typ)) || (l.Name == "quantile" && f.typ == exposition.MetricTypeSummary) {
					return
				}
				f.labelNames[l.Name] = struct{}{}
			})
		}
	}
	var problems []Problem
	for _, f := range order {
		problems = append(problems, lintFamily(f)...)
	}
	slices.SortStableFunc(problems, func(a, b Problem) int {
		if c := strings.Compare(a.Metric, b.Metric); c != 0 {
			return c
		}
		return strings.Compare(a.Text, b.Text)
	})
	return problems, nil
}

func isHistogram(t exposition.MetricType) bool {
	return t == exposition.MetricTypeHistogram || t == exposition.MetricTypeGaugeHistogram
}

// familyName maps a sample name to the family it belongs to: a histogram's
// _bucket, _count and _sum (and a summary's _count and _sum) samples belong
// to the family declared without the suffix.
func familyName(sample string, families map[string]*family) string {
	if _, ok := families[sample]; ok {
		return sample
	}
	for _, suffix := range []string{"_bucket", "_count", "_sum", "_gcount", "_gsum", "_created", "_total", "_info"} {
		base, ok := strings.CutSuffix(sample, suffix)
		if !ok {
			continue
		}
		if f, ok := families[base]; ok && f.hasType && suffixBelongs(f.typ, suffix) {
			return base
		}
	}
	return sample
}

func suffixBelongs(t exposition.MetricType, suffix string) bool {
	switch suffix {
	case "_bucket":
		return isHistogram(t)
	case "_count", "_sum":
		return t == exposition.MetricTypeHistogram || t == exposition.MetricTypeSummary
	case "_gcount", "_gsum":
		return t == exposition.MetricTypeGaugeHistogram
	case "_created":
		return t == exposition.MetricTypeCounter || t == exposition.MetricTypeHistogram || t == exposition.MetricTypeSummary
	case "_total":
		return t == exposition.MetricTypeCounter
	case "_info":
		return t == exposition.MetricTypeInfo
	}
	return false
}
