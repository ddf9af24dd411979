package lint

import (
	"fmt"
	"strings"

	"github.com/vigil-monitoring/vigil/internal/exposition"
)

// The rule order and texts follow promlint, whose words users' scripts
// match on.
func lintFamily(f *family) []Problem {
	var out []Problem
	add := func(text string) { out = append(out, Problem{Metric: f.name, Text: text}) }

	if !f.hasHelp {
		add("no help text")
	}
	if unit, base, ok := metricUnit(f.name); ok && unit != base {
		add(fmt.Sprintf("use base unit %q instead of %q", base, unit))
	}

	untyped := f.typ == exposition.MetricTypeUnknown
	isCounter := f.typ == exposition.MetricTypeCounter
	hasTotal := strings.HasSuffix(f.name, "_total")
	switch {
	case isCounter && !hasTotal:
		add(`counter metrics should have "_total" suffix`)
	case !untyped && !isCounter && hasTotal:
		add(`non-counter metrics should not have "_total" suffix`)
	}

	if !untyped {
		isHist := isHistogram(f.typ)
		isSummary := f.typ == exposition.MetricTypeSummary
		if !isHist && strings.HasSuffix(f.name, "_bucket") {
			add(`non-histogram metrics should not have "_bucket" suffix`)
		}
		if !isHist && !isSummary && strings.HasSuffix(f.name, "_count") {
			add(`non-histogram and non-summary metrics should not have "_count" suffix`)
		}
		if !isHist && !isSummary && strings.HasSuffix(f.name, "_sum") {
			add(`non-histogram and non-summary metrics should not have "_sum" suffix`)
		}
		if _, ok := f.labelNames["le"]; ok && !isHist {
			add(`non-histogram metrics should not have "le" label`)
		}
		if _, ok := f.labelNames["quantile"]; ok && !isSummary {
			add(`non-summary metrics should not have "quantile" label`)
		}
	}

	lower := strings.ToLower(f.name)
	for _, typ := range []string{"counter", "gauge", "summary", "histogram", "gauge_histogram"} {
		if hasWord(lower, typ) {
			add(fmt.Sprintf("metric name should not include type '%s'", typ))
		}
	}
	if strings.Contains(f.name, ":") {
		add("metric names should not contain ':'")
	}
	if isCamelCase(f.name) {
		add("metric names should be written in 'snake_case' not 'camelCase'")
	}
	for name := range f.labelNames {
		if isCamelCase(name) {
			add("label names should be written in 'snake_case' not 'camelCase'")
		}
	}
	for _, abbr := range unitAbbreviations {
		if hasWord(lower, abbr) {
			add("metric names should not contain abbreviated units")
		}
	}
	return out
}

// hasWord reports whether word appears in name as a whole "_word_" or
// "_word" suffix, the way promlint finds units and type names.
func hasWord(name, word string) bool {
	return strings.Contains(name, "_"+word+"_") || strings.HasSuffix(name, "_"+word)
}

// isCamelCase reports a lower-case letter directly followed by an upper-case one.
func isCamelCase(s string) bool {
	for i := 1; i < len(s); i++ {
		if s[i-1] >= 'a' && s[i-1] <= 'z' && s[i] >= 'A' && s[i] <= 'Z' {
			return true
		}
	}
	return false
}

// baseUnits maps each unit the linter knows to the base unit Prometheus
// recommends instead.
var baseUnits = map[string]string{
	"amperes": "amperes", "bytes": "bytes", "celsius": "celsius", "grams": "grams",
	"joules": "joules", "kelvin": "kelvin", "meters": "meters", "metres": "metres",
	"seconds": "seconds", "volts": "volts",
	"minutes": "seconds", "hours": "seconds", "days": "seconds", "weeks": "seconds",
	"kelvins": "kelvin", "fahrenheit": "celsius", "rankine": "celsius",
	"inches": "meters", "yards": "meters", "miles": "meters",
	"bits": "bytes", "calories": "joules", "pounds": "grams", "ounces": "grams",
}

var unitPrefixes = []string{
	"pico", "nano", "micro", "milli", "centi", "deci", "deca", "hecto", "kilo",
	"kibi", "mega", "mibi", "giga", "gibi", "tera", "tebi", "peta", "pebi",
}

var unitAbbreviations = []string{"s", "ms", "us", "ns", "sec", "b", "kb", "mb", "gb", "tb", "pb", "m", "h", "d"}

// metricUnit finds the first underscore-separated word of name that is a
// known unit, with or without an SI or binary prefix. Whole words only:
// "thermometers" is not "meters", but "kilometers" is.
func metricUnit(name string) (unit, base string, ok bool) {
	for word := range strings.SplitSeq(name, "_") {
		if base, ok := baseUnits[word]; ok {
			return word, base, true
		}
		for _, p := range unitPrefixes {
			if rest, ok := strings.CutPrefix(word, p); ok {
				if base, ok := baseUnits[rest]; ok {
					return word, base, true
				}
			}
		}
	}
	return "", "", false
}
