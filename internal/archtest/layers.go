// Package archtest owns the import rule: the layer table of
// docs/architecture.md as data, and a test that fails whenever a package of
// the module imports upward or sideways against it. Nothing imports it.
package archtest

import (
	"fmt"
	"strings"
)

const module = "github.com/vigil-monitoring/vigil"

// A layer is one row of the table in docs/architecture.md. Lower numbers
// are lower layers.
type layer int

const (
	layerVocabulary layer = iota // L0: model/*, version
	layerContracts               // L1: storage, exposition, relabel, rulefmt, promql/parser, discovery, config
	layerEngines                 // L2: tsdb/*, promql, discovery/<mechanism>
	layerServices                // L3: scrape, rules, notifier, remote, federate
	layerSurfaces                // L4: web, web/api, web/ui
	layerApart                   // alertmanager/..., exporter/...: only L0 of the server's packages
	layerCommand                 // L5: cmd/vigil
)

// place is where a package sits: its layer and its component (the group of
// packages that may import each other within a layer, e.g. tsdb and
// tsdb/index).
type place struct {
	layer     layer
	component string
}

// rules maps an import-path prefix (relative to the module) to its place.
// The longest matching prefix wins, so "promql/parser" overrides "promql".
// A package that matches nothing fails the test: new packages must be
// placed here and in docs/architecture.md.
var rules = map[string]place{
	"internal/model":    {layerVocabulary, "model"},
	"internal/version":  {layerVocabulary, "version"},
	"internal/archtest": {layerVocabulary, "archtest"},

	"internal/storage":       {layerContracts, "storage"},
	"internal/exposition":    {layerContracts, "exposition"},
	"internal/relabel":       {layerContracts, "relabel"},
	"internal/rulefmt":       {layerContracts, "rulefmt"},
	"internal/promql/parser": {layerContracts, "promql/parser"},
	"internal/discovery":     {layerContracts, "discovery"},
	"internal/config":        {layerContracts, "config"},

	"internal/tsdb":   {layerEngines, "tsdb"},
	"internal/promql": {layerEngines, "promql"},
	// Each mechanism is its own component: mechanisms do not import each other.
	"internal/discovery/*": {layerEngines, "discovery/*"},

	"internal/scrape":   {layerServices, "scrape"},
	"internal/rules":    {layerServices, "rules"},
	"internal/notifier": {layerServices, "notifier"},
	"internal/remote":   {layerServices, "remote"},
	"internal/federate": {layerServices, "federate"},

	"internal/web": {layerSurfaces, "web"},

	"internal/alertmanager": {layerApart, "alertmanager"},
	"internal/exporter":     {layerApart, "exporter"},

	"cmd": {layerCommand, "cmd"},
}

// sameLayerImports lists the cross-component imports ARCHITECTURE.md names
// explicitly within one layer.
var sameLayerImports = map[[2]string]bool{
	{"config", "discovery"}: true,
	{"config", "relabel"}:   true,
}

// forbiddenImports lists imports the layer order would allow but the
// architecture rules out: the TSDB is configured through tsdb.Options, never
// the server's YAML schema.
var forbiddenImports = map[[2]string]string{
	{"tsdb", "config"}: "tsdb takes tsdb.Options, never config",
}

// classify finds the place of an import path inside the module.
func classify(importPath string) (place, error) {
	rel := strings.TrimPrefix(importPath, module+"/")
	best, bestLen := place{}, -1
	for prefix, pl := range rules {
		match := false
		if strings.HasSuffix(prefix, "/*") {
			base := strings.TrimSuffix(prefix, "*")
			if strings.HasPrefix(rel, base) {
				// The component is the mechanism itself, so
				// discovery/file and discovery/dns are distinct.
				mech, _, _ := strings.Cut(strings.TrimPrefix(rel, base), "/")
				pl.component = "discovery/" + mech
				match = true
			}
		} else {
			match = rel == prefix || strings.HasPrefix(rel, prefix+"/")
		}
		if match && len(prefix) > bestLen {
			best, bestLen = pl, len(prefix)
		}
	}
	if bestLen < 0 {
		return place{}, fmt.Errorf("package %s has no layer: add it to internal/archtest/layers.go and docs/architecture.md", importPath)
	}
	return best, nil
}

// allowed returns "" when a package at from may import one at to, and the
// reason otherwise.
func allowed(from, to place) string {
	if why, ok := forbiddenImports[[2]string{from.component, to.component}]; ok {
		return why
	}
	switch {
	case from.component == to.component:
		return ""
	case from.layer == layerCommand:
		return ""
	case from.layer == layerApart:
		if to.layer == layerVocabulary {
			return ""
		}
		return "alertmanager and exporter packages may use only L0 of the server's packages"
	case to.layer == layerApart:
		return "only cmd may import the alertmanager and exporter packages"
	case to.layer == layerCommand:
		return "nothing imports cmd"
	case to.layer < from.layer:
		return ""
	case to.layer == from.layer && sameLayerImports[[2]string{from.component, to.component}]:
		return ""
	case to.layer == from.layer:
		return fmt.Sprintf("same-layer import between components %q and %q is not in the architecture", from.component, to.component)
	default:
		return fmt.Sprintf("imports upward (layer %d imports layer %d)", from.layer, to.layer)
	}
}
