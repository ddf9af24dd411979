// Package discovery owns service discovery's contracts and machinery: the
// target group type every mechanism produces, the Discoverer and Config
// interfaces, the registry through which configuration files decode
// `<name>_sd_configs` sections without knowing the mechanisms, static
// configurations, the Manager that runs discoverers for scrape pools and
// alertmanager sets, and the HTTP client configuration shared by
// everything that speaks HTTP on behalf of the server file.
//
// Mechanisms live in subpackages (discovery/file, discovery/http,
// discovery/dns), each importing only this package and internal/model.
// They register themselves in init, so a binary supports exactly the
// mechanisms it imports: cmd/vigil must blank-import discovery/file,
// discovery/http and discovery/dns (and tests that load configurations
// using them must too). The schema-only kubernetes and consul sections
// live under internal/config and are always registered. Static configurations are part of this package
// rather than a mechanism because the configuration layer must validate
// their target addresses and must parse them without further imports.
package discovery

import (
	"context"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"
)

// Discoverer produces target groups.
//
// Run sends the full set of groups it knows of once it has them, then a
// group again each time it changes; a group that disappeared is sent with
// the same Source and no targets. It returns when ctx is done. Run must
// not close up, and a send must not block forever once ctx is done.
type Discoverer interface {
	Run(ctx context.Context, up chan<- []*TargetGroup)
}

// DiscovererOptions is what a Config gets to build its Discoverer.
type DiscovererOptions struct {
	// Logger is never nil when passed by the Manager.
	Logger *slog.Logger
	// Registerer receives the mechanism's metrics; may be nil. Many
	// discoverers of one mechanism share the same collectors, so
	// mechanisms register through RegisterShared.
	Registerer prometheus.Registerer
	// HTTPClientOptions are used by HTTP-based mechanisms.
	HTTPClientOptions HTTPClientOptions
	// SetName is the target set the discoverer was first created for;
	// it labels per-config metrics.
	SetName string
}

// Config is one entry of a `<name>_sd_configs` list.
type Config interface {
	// Name is the mechanism name: "file" for file_sd_configs.
	Name() string
	// NewDiscoverer builds a discoverer for the configuration.
	NewDiscoverer(DiscovererOptions) (Discoverer, error)
}

// Configs is the list of discovery configurations of one scrape config or
// alertmanager set, in the order of their YAML keys.
type Configs []Config

// SetDirectory resolves relative file paths of every configuration that
// has some against dir.
func (c Configs) SetDirectory(dir string) {
	for _, cfg := range c {
		if ds, ok := cfg.(DirectorySetter); ok {
			ds.SetDirectory(dir)
		}
	}
}

// StaticConfig is a static_configs section: target groups given inline.
type StaticConfig []*TargetGroup

// Name returns "static".
func (StaticConfig) Name() string { return "static" }

// NewDiscoverer returns a discoverer that sends the groups once.
func (c StaticConfig) NewDiscoverer(DiscovererOptions) (Discoverer, error) {
	return staticDiscoverer(c), nil
}

type staticDiscoverer []*TargetGroup

func (d staticDiscoverer) Run(ctx context.Context, up chan<- []*TargetGroup) {
	select {
	case up <- d:
	case <-ctx.Done():
	}
}

// RegisterShared registers c with reg and returns it, or returns the
// collector already registered under the same description, so that every
// discoverer of one mechanism counts into the same series. With a nil reg
// it returns c unregistered.
func RegisterShared[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if reg == nil {
		return c
	}
	if err := reg.Register(c); err != nil {
		if are, ok := err.(prometheus.AlreadyRegisteredError); ok {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing
			}
		}
		// Another collector with a clashing description: counting into an
		// unregistered one is better than failing discovery.
		return c
	}
	return c
}
