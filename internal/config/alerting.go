package config

import (
	"fmt"
	"slices"
	"time"

	"github.com/vigil-monitoring/vigil/internal/discovery"
	"github.com/vigil-monitoring/vigil/internal/model/labels"
	"github.com/vigil-monitoring/vigil/internal/relabel"
)

// AlertingConfig is where alerts go and how they are relabeled first.
type AlertingConfig struct {
	AlertRelabelConfigs []*relabel.Config     `yaml:"alert_relabel_configs,omitempty"`
	AlertmanagerConfigs []*AlertmanagerConfig `yaml:"alertmanagers,omitempty"`
}

// UnmarshalYAML rejects null relabel rules.
func (c *AlertingConfig) UnmarshalYAML(unmarshal func(any) error) error {
	*c = AlertingConfig{}
	type plain AlertingConfig
	if err := unmarshal((*plain)(c)); err != nil {
		return err
	}
	return checkNilRelabels(c.AlertRelabelConfigs, "empty or null alert relabeling rule")
}

func (c *AlertingConfig) validate(scheme labels.ValidationScheme) error {
	if err := validateRelabels(c.AlertRelabelConfigs, scheme); err != nil {
		return err
	}
	for _, am := range c.AlertmanagerConfigs {
		if am == nil {
			continue
		}
		if err := validateRelabels(am.AlertRelabelConfigs, scheme); err != nil {
			return err
		}
		if err := validateRelabels(am.RelabelConfigs, scheme); err != nil {
			return err
		}
	}
	return nil
}

// SetDirectory resolves relative file paths against dir.
func (c *AlertingConfig) SetDirectory(dir string) {
	for _, am := range c.AlertmanagerConfigs {
		if am != nil {
			am.SetDirectory(dir)
		}
	}
}

// AlertmanagerAPIVersion is the Alertmanager API a notifier speaks.
type AlertmanagerAPIVersion string

// AlertmanagerAPIVersionV2 is the only version Prometheus 3 speaks.
const AlertmanagerAPIVersionV2 AlertmanagerAPIVersion = "v2"

// SupportedAlertmanagerAPIVersions lists the accepted api_version values.
var SupportedAlertmanagerAPIVersions = []AlertmanagerAPIVersion{AlertmanagerAPIVersionV2}

// UnmarshalYAML accepts only supported versions.
func (v *AlertmanagerAPIVersion) UnmarshalYAML(unmarshal func(any) error) error {
	var s string
	if err := unmarshal(&s); err != nil {
		return err
	}
	*v = AlertmanagerAPIVersion(s)
	if !slices.Contains(SupportedAlertmanagerAPIVersions, *v) {
		return fmt.Errorf("expected Alertmanager api version to be one of %v but got %v", SupportedAlertmanagerAPIVersions, *v)
	}
	return nil
}

// AlertmanagerConfig is one set of Alertmanagers, discovered like scrape
// targets.
type AlertmanagerConfig struct {
	ServiceDiscoveryConfigs discovery.Configs `yaml:"-"`
	HTTPClientConfig        HTTPClientConfig  `yaml:",inline"`

	Scheme     string                 `yaml:"scheme,omitempty"`
	PathPrefix string                 `yaml:"path_prefix,omitempty"`
	Timeout    Duration               `yaml:"timeout,omitempty"`
	APIVersion AlertmanagerAPIVersion `yaml:"api_version"`

	// RelabelConfigs apply to the discovered Alertmanager targets.
	RelabelConfigs []*relabel.Config `yaml:"relabel_configs,omitempty"`
	// AlertRelabelConfigs apply to alerts sent to this set only.
	AlertRelabelConfigs []*relabel.Config `yaml:"alert_relabel_configs,omitempty"`
}

// DefaultAlertmanagerConfig holds Prometheus' defaults.
var DefaultAlertmanagerConfig = AlertmanagerConfig{
	Scheme:           "http",
	Timeout:          Duration(10 * time.Second),
	APIVersion:       AlertmanagerAPIVersionV2,
	HTTPClientConfig: DefaultHTTPClientConfig,
}

type alertmanagerPlain AlertmanagerConfig

// UnmarshalYAML decodes the set with its inline discovery sections.
func (c *AlertmanagerConfig) UnmarshalYAML(unmarshal func(any) error) error {
	*c = DefaultAlertmanagerConfig
	if err := discovery.UnmarshalYAMLWithInlineConfigs((*alertmanagerPlain)(c), &c.ServiceDiscoveryConfigs, "config.AlertmanagerConfig", unmarshal); err != nil {
		return err
	}
	if err := c.HTTPClientConfig.Validate(); err != nil {
		return err
	}
	if len(c.RelabelConfigs) == 0 {
		if err := checkStaticTargets(c.ServiceDiscoveryConfigs); err != nil {
			return err
		}
	}
	if err := checkNilRelabels(c.RelabelConfigs, "empty or null Alertmanager target relabeling rule"); err != nil {
		return err
	}
	return checkNilRelabels(c.AlertRelabelConfigs, "empty or null Alertmanager alert relabeling rule")
}

// MarshalYAML prints the set with its discovery sections inline.
func (c *AlertmanagerConfig) MarshalYAML() (any, error) {
	return discovery.MarshalYAMLWithInlineConfigs((*alertmanagerPlain)(c), c.ServiceDiscoveryConfigs)
}

// SetDirectory resolves relative file paths against dir.
func (c *AlertmanagerConfig) SetDirectory(dir string) {
	c.ServiceDiscoveryConfigs.SetDirectory(dir)
	c.HTTPClientConfig.SetDirectory(dir)
}

// AlertmanagerConfigsByName names the sets the way Prometheus does in the
// discovery manager and in metrics: "config-0", "config-1", …
func (c AlertingConfig) AlertmanagerConfigsByName() map[string]*AlertmanagerConfig {
	out := make(map[string]*AlertmanagerConfig, len(c.AlertmanagerConfigs))
	for i, am := range c.AlertmanagerConfigs {
		out[fmt.Sprintf("config-%d", i)] = am
	}
	return out
}
