// Package kubernetes owns the schema of kubernetes_sd_configs: decoding,
// defaults and validation with Prometheus' error texts. Vigil does not
// implement Kubernetes discovery yet; a configuration using it loads, and
// the discovery manager reports that the mechanism is unavailable (and
// counts it in prometheus_sd_failed_configs) instead of failing the
// whole reload. The package is named kubernetes because strict-mode YAML
// errors name the type ("field foo not found in type kubernetes.plain")
// and users compare those texts with Prometheus'.
package kubernetes

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/vigil-monitoring/vigil/internal/discovery"
)

// Role is the kind of Kubernetes object targets are discovered from.
type Role string

// The roles Prometheus supports.
const (
	RoleNode          Role = "node"
	RolePod           Role = "pod"
	RoleService       Role = "service"
	RoleEndpoint      Role = "endpoints"
	RoleEndpointSlice Role = "endpointslice"
	RoleIngress       Role = "ingress"
)

// UnmarshalYAML accepts only known roles.
func (r *Role) UnmarshalYAML(unmarshal func(any) error) error {
	if err := unmarshal((*string)(r)); err != nil {
		return err
	}
	switch *r {
	case RoleNode, RolePod, RoleService, RoleEndpoint, RoleEndpointSlice, RoleIngress:
		return nil
	}
	return fmt.Errorf("unknown Kubernetes SD role %q", *r)
}

// SDConfig is one kubernetes_sd_configs entry.
type SDConfig struct {
	APIServer          discovery.URL              `yaml:"api_server,omitempty"`
	Role               Role                       `yaml:"role"`
	KubeConfig         string                     `yaml:"kubeconfig_file"`
	HTTPClientConfig   discovery.HTTPClientConfig `yaml:",inline"`
	NamespaceDiscovery NamespaceDiscovery         `yaml:"namespaces,omitempty"`
	Selectors          []SelectorConfig           `yaml:"selectors,omitempty"`
	AttachMetadata     AttachMetadataConfig       `yaml:"attach_metadata,omitempty"`
}

// NamespaceDiscovery restricts discovery to namespaces.
type NamespaceDiscovery struct {
	IncludeOwnNamespace bool     `yaml:"own_namespace"`
	Names               []string `yaml:"names"`
}

// SelectorConfig is a label and field selector for one role's objects.
type SelectorConfig struct {
	Role  Role   `yaml:"role,omitempty"`
	Label string `yaml:"label,omitempty"`
	Field string `yaml:"field,omitempty"`
}

// AttachMetadataConfig adds metadata of related objects to targets.
type AttachMetadataConfig struct {
	Node       bool `yaml:"node"`
	Namespace  bool `yaml:"namespace"`
	Deployment bool `yaml:"deployment"`
	Job        bool `yaml:"job"`
	CronJob    bool `yaml:"cronjob"`
}

// DefaultSDConfig holds the defaults.
var DefaultSDConfig = SDConfig{HTTPClientConfig: discovery.DefaultHTTPClientConfig}

func init() { discovery.RegisterConfig(&SDConfig{}) }

// Name returns "kubernetes".
func (*SDConfig) Name() string { return "kubernetes" }

// ErrNotImplemented is returned by NewDiscoverer.
var ErrNotImplemented = errors.New("kubernetes service discovery is not implemented in Vigil; the configuration was validated but yields no targets")

// NewDiscoverer fails: only the schema is implemented.
func (*SDConfig) NewDiscoverer(discovery.DiscovererOptions) (discovery.Discoverer, error) {
	return nil, ErrNotImplemented
}

// SetDirectory resolves relative file paths against dir.
func (c *SDConfig) SetDirectory(dir string) {
	c.HTTPClientConfig.SetDirectory(dir)
	c.KubeConfig = discovery.JoinDir(dir, c.KubeConfig)
}

// allowedSelectors lists, per role, which objects may be selected.
var allowedSelectors = map[Role][]string{
	RolePod:           {string(RolePod), string(RoleNode)},
	RoleService:       {string(RoleService)},
	RoleEndpointSlice: {string(RolePod), string(RoleService), string(RoleEndpointSlice)},
	RoleEndpoint:      {string(RolePod), string(RoleService), string(RoleEndpoint)},
	RoleNode:          {string(RoleNode)},
	RoleIngress:       {string(RoleIngress)},
}

// UnmarshalYAML decodes and validates the entry.
func (c *SDConfig) UnmarshalYAML(unmarshal func(any) error) error {
	*c = DefaultSDConfig
	type plain SDConfig
	if err := unmarshal((*plain)(c)); err != nil {
		return err
	}
	if c.Role == "" {
		return errors.New("role missing (one of: pod, service, endpoints, endpointslice, node, ingress)")
	}
	if err := c.HTTPClientConfig.Validate(); err != nil {
		return err
	}
	customHTTP := !reflect.DeepEqual(c.HTTPClientConfig, discovery.DefaultHTTPClientConfig)
	switch {
	case c.APIServer.URL != nil && c.KubeConfig != "":
		return errors.New("cannot use 'kubeconfig_file' and 'api_server' simultaneously")
	case c.KubeConfig != "" && customHTTP:
		return errors.New("cannot use a custom HTTP client configuration together with 'kubeconfig_file'")
	case c.APIServer.URL == nil && customHTTP:
		return errors.New("to use custom HTTP client configuration please provide the 'api_server' URL explicitly")
	case c.APIServer.URL != nil && c.NamespaceDiscovery.IncludeOwnNamespace:
		return errors.New("cannot use 'api_server' and 'namespaces.own_namespace' simultaneously")
	case c.KubeConfig != "" && c.NamespaceDiscovery.IncludeOwnNamespace:
		return errors.New("cannot use 'kubeconfig_file' and 'namespaces.own_namespace' simultaneously")
	}
	seen := map[Role]bool{}
	for _, s := range c.Selectors {
		if seen[s.Role] {
			return fmt.Errorf("duplicated selector role: %s", s.Role)
		}
		seen[s.Role] = true
		allowed := allowedSelectors[c.Role]
		if !slices.Contains(allowed, string(s.Role)) {
			return fmt.Errorf("%s role supports only %s selectors", c.Role, strings.Join(allowed, ", "))
		}
		if err := ValidateFieldSelector(s.Field); err != nil {
			return err
		}
		if err := ValidateLabelSelector(s.Label); err != nil {
			return err
		}
	}
	return nil
}

// UnmarshalYAML decodes the section; its own plain type makes strict-mode
// errors name "kubernetes.plain", as Prometheus' do.
func (n *NamespaceDiscovery) UnmarshalYAML(unmarshal func(any) error) error {
	*n = NamespaceDiscovery{}
	type plain NamespaceDiscovery
	return unmarshal((*plain)(n))
}
