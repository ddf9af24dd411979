package main

import (
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"github.com/vigil-monitoring/vigil/internal/promql/parser"
)

// featureFlags are the options of --enable-feature that change what
// Vigil does. Prometheus command lines carry many more; those are
// accepted (see featureKinds) so that a unit file or Helm chart written
// for Prometheus still starts Vigil.
type featureFlags struct {
	experimentalFunctions bool // promql-experimental-functions
	binopFillModifiers    bool // promql-binop-fill-modifiers
	perStepStats          bool // promql-per-step-stats
	delayedNameRemoval    bool // promql-delayed-name-removal
}

// featureKind says what Vigil does with a Prometheus feature name.
type featureKind int

const (
	// featureApplied changes Vigil's behaviour (see applyFeature).
	featureApplied featureKind = iota
	// featureAlwaysOn is on in Prometheus 3 and in Vigil without the flag.
	featureAlwaysOn
	// featureUnsupported names something Vigil does not implement; the
	// server starts without it and says so.
	featureUnsupported
)

// featureKinds lists every --enable-feature option of Prometheus 3
// (v0.316.0) and the retired ones that old command lines still pass.
var featureKinds = map[string]featureKind{
	"promql-experimental-functions": featureApplied,
	"promql-binop-fill-modifiers":   featureApplied,
	"promql-per-step-stats":         featureApplied,
	"promql-delayed-name-removal":   featureApplied,

	"promql-duration-expr":            featureAlwaysOn,
	"promql-extended-range-selectors": featureAlwaysOn,
	"promql-at-modifier":              featureAlwaysOn,
	"promql-negative-offset":          featureAlwaysOn,
	"native-histograms":               featureAlwaysOn,
	"ooo-native-histograms":           featureAlwaysOn,
	"auto-gomemlimit":                 featureAlwaysOn,
	"auto-gomaxprocs":                 featureAlwaysOn,
	"new-service-discovery-manager":   featureAlwaysOn,
	"no-default-scrape-port":          featureAlwaysOn,

	"exemplar-storage":                 featureUnsupported,
	"memory-snapshot-on-shutdown":      featureUnsupported,
	"extra-scrape-metrics":             featureUnsupported,
	"metadata-wal-records":             featureUnsupported,
	"auto-reload-config":               featureUnsupported,
	"concurrent-rule-eval":             featureUnsupported,
	"promql-unquoted-utf8-names":       featureUnsupported,
	"created-timestamp-zero-ingestion": featureUnsupported,
	"xor2-encoding":                    featureUnsupported,
	"histograms-st-encoding":           featureUnsupported,
	"st-synthesis":                     featureUnsupported,
	"st-storage":                       featureUnsupported,
	"use-start-timestamps":             featureUnsupported,
	"delayed-compaction":               featureUnsupported,
	"old-ui":                           featureUnsupported,
	"otlp-deltatocumulative":           featureUnsupported,
	"otlp-native-delta-ingestion":      featureUnsupported,
	"openmetrics2":                     featureUnsupported,
	"type-and-unit-labels":             featureUnsupported,
	"zstd-scrape":                      featureUnsupported,
	"use-uncached-io":                  featureUnsupported,
	"fast-startup":                     featureUnsupported,
	"search-api":                       featureUnsupported,
	"query-cost":                       featureUnsupported,
	"remote-write-receiver":            featureUnsupported,
	"agent":                            featureUnsupported,
}

// parseFeatures reads the values of --enable-feature (each a
// comma-separated list). Like Prometheus, a name it does not know is
// logged and skipped rather than refused: the flag's vocabulary changes
// between releases, and a server that will not start over a typo in an
// experimental option is worse than one that warns.
func parseFeatures(values []string, logger *slog.Logger) featureFlags {
	var ff featureFlags
	for _, v := range values {
		for name := range strings.SplitSeq(v, ",") {
			name = strings.TrimSpace(name)
			if name == "" {
				continue
			}
			kind, known := featureKinds[name]
			switch {
			case !known:
				logger.Warn("Unknown option for --enable-feature", "option", name)
			case kind == featureAlwaysOn:
				logger.Info("This option for --enable-feature is always on in Vigil and therefore a no-op", "option", name)
			case kind == featureUnsupported:
				logger.Warn("This option for --enable-feature is not supported by Vigil and is ignored", "option", name)
			default:
				ff.apply(name)
				logger.Info("Feature enabled", "option", name)
			}
		}
	}
	return ff
}

func (ff *featureFlags) apply(name string) {
	switch name {
	case "promql-experimental-functions":
		ff.experimentalFunctions = true
	case "promql-binop-fill-modifiers":
		ff.binopFillModifiers = true
	case "promql-per-step-stats":
		ff.perStepStats = true
	case "promql-delayed-name-removal":
		ff.delayedNameRemoval = true
	default:
		// featureKinds and this switch list the same applied names;
		// TestFeatureKindsApplied keeps them in step.
		panic(fmt.Sprintf("feature %q is marked applied but has no effect", name))
	}
}

// parserOptions are the PromQL language features the server's queries
// may use: what Prometheus 3 allows by default plus what the flags add.
func (ff featureFlags) parserOptions() parser.Options {
	return parser.Options{
		EnableExperimentalFunctions:  ff.experimentalFunctions,
		EnableDurationExpressions:    true,
		EnableExtendedRangeSelectors: true,
		EnableBinopFillModifiers:     ff.binopFillModifiers,
	}
}

// featureNames is the sorted vocabulary for the flag's help text.
func featureNames() string {
	var names []string
	for n, k := range featureKinds {
		if k != featureUnsupported {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}
