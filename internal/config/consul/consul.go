// Package consul owns the schema of consul_sd_configs: decoding,
// Prometheus' defaults (server localhost:8500, allow_stale, 30s refresh,
// tag separator ",") and validation. Vigil does not implement Consul
// discovery yet; a configuration using it loads, and the discovery
// manager reports the mechanism as unavailable (counted in
// prometheus_sd_failed_configs) instead of failing the reload.
package consul

import (
	"errors"
	"strings"
	"time"

	"github.com/vigil-monitoring/vigil/internal/discovery"
)

// SDConfig is one consul_sd_configs entry.
type SDConfig struct {
	Server       string           `yaml:"server,omitempty"`
	PathPrefix   string           `yaml:"path_prefix,omitempty"`
	Token        discovery.Secret `yaml:"token,omitempty"`
	Datacenter   string           `yaml:"datacenter,omitempty"`
	Namespace    string           `yaml:"namespace,omitempty"`
	Partition    string           `yaml:"partition,omitempty"`
	TagSeparator string           `yaml:"tag_separator,omitempty"`
	Scheme       string           `yaml:"scheme,omitempty"`
	Username     string           `yaml:"username,omitempty"`
	Password     discovery.Secret `yaml:"password,omitempty"`
	// AllowStale lets any Consul server answer, not only the leader.
	AllowStale      bool               `yaml:"allow_stale"`
	RefreshInterval discovery.Duration `yaml:"refresh_interval,omitempty"`
	Services        []string           `yaml:"services,omitempty"`
	ServiceTags     []string           `yaml:"tags,omitempty"`
	NodeMeta        map[string]string  `yaml:"node_meta,omitempty"`
	Filter          string             `yaml:"filter,omitempty"`
	HealthFilter    string             `yaml:"health_filter,omitempty"`

	HTTPClientConfig discovery.HTTPClientConfig `yaml:",inline"`
}

// DefaultSDConfig holds Prometheus' defaults.
var DefaultSDConfig = SDConfig{
	TagSeparator:     ",",
	Scheme:           "http",
	Server:           "localhost:8500",
	AllowStale:       true,
	RefreshInterval:  discovery.Duration(30 * time.Second),
	HTTPClientConfig: discovery.DefaultHTTPClientConfig,
}

func init() { discovery.RegisterConfig(&SDConfig{}) }

// Name returns "consul".
func (*SDConfig) Name() string { return "consul" }

// ErrNotImplemented is returned by NewDiscoverer.
var ErrNotImplemented = errors.New("consul service discovery is not implemented in Vigil; the configuration was validated but yields no targets")

// NewDiscoverer fails: only the schema is implemented.
func (*SDConfig) NewDiscoverer(discovery.DiscovererOptions) (discovery.Discoverer, error) {
	return nil, ErrNotImplemented
}

// SetDirectory resolves relative file paths against dir.
func (c *SDConfig) SetDirectory(dir string) { c.HTTPClientConfig.SetDirectory(dir) }

// UnmarshalYAML decodes and validates. A username/password pair becomes
// basic authentication, as in Prometheus.
func (c *SDConfig) UnmarshalYAML(unmarshal func(any) error) error {
	*c = DefaultSDConfig
	type plain SDConfig
	if err := unmarshal((*plain)(c)); err != nil {
		return err
	}
	if strings.TrimSpace(c.Server) == "" {
		return errors.New("consul SD configuration requires a server address")
	}
	if c.Username != "" || c.Password != "" {
		if c.HTTPClientConfig.BasicAuth != nil {
			return errors.New("at most one of consul SD configuration username and password and basic auth can be configured")
		}
		c.HTTPClientConfig.BasicAuth = &discovery.BasicAuth{Username: c.Username, Password: c.Password}
	}
	if c.Token != "" && (c.HTTPClientConfig.Authorization != nil || c.HTTPClientConfig.OAuth2 != nil) {
		return errors.New("at most one of consul SD token, authorization, or oauth2 can be configured")
	}
	return c.HTTPClientConfig.Validate()
}
