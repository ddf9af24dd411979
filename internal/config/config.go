// Package config owns the server configuration file (prometheus.yml): its
// schema with Prometheus' defaults, loading and strict decoding (unknown
// keys are errors with their line number), validation with Prometheus'
// error texts, resolution of relative file paths against the file's
// directory, scrape_config_files, and printing with secrets hidden for
// /api/v1/status/config.
//
// Service discovery sections are decoded through the discovery registry,
// so this package knows only the mechanisms' registration, not their
// implementations; the binary decides which mechanisms exist by importing
// them. The Kubernetes and Consul sections are schema-only subpackages
// imported here, so they are always recognised and validated.
package config

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v2"

	"github.com/vigil-monitoring/vigil/internal/discovery"
	"github.com/vigil-monitoring/vigil/internal/model/labels"
	"github.com/vigil-monitoring/vigil/internal/relabel"

	// Schema-only discovery sections, always known to the configuration.
	_ "github.com/vigil-monitoring/vigil/internal/config/consul"
	_ "github.com/vigil-monitoring/vigil/internal/config/kubernetes"
)

// Types shared with the discovery mechanisms, which may import only
// package discovery; re-exported so that consumers of the configuration
// need only this package.
type (
	HTTPClientConfig = discovery.HTTPClientConfig
	TLSConfig        = discovery.TLSConfig
	BasicAuth        = discovery.BasicAuth
	Authorization    = discovery.Authorization
	OAuth2           = discovery.OAuth2
	ProxyConfig      = discovery.ProxyConfig
	Secret           = discovery.Secret
	URL              = discovery.URL
	Duration         = discovery.Duration
)

// DefaultHTTPClientConfig follows redirects and allows HTTP/2.
var DefaultHTTPClientConfig = discovery.DefaultHTTPClientConfig

// patRulePath accepts a glob only in the last path segment, as Prometheus
// does for rule_files and scrape_config_files.
var patRulePath = regexp.MustCompile(`^[^*]*(\*[^/]*)?$`)

// Config is the whole server configuration file.
type Config struct {
	GlobalConfig      GlobalConfig    `yaml:"global"`
	Runtime           RuntimeConfig   `yaml:"runtime,omitempty"`
	AlertingConfig    AlertingConfig  `yaml:"alerting,omitempty"`
	RuleFiles         []string        `yaml:"rule_files,omitempty"`
	ScrapeConfigFiles []string        `yaml:"scrape_config_files,omitempty"`
	ScrapeConfigs     []*ScrapeConfig `yaml:"scrape_configs,omitempty"`
	StorageConfig     StorageConfig   `yaml:"storage,omitempty"`
	TracingConfig     TracingConfig   `yaml:"tracing,omitempty"`

	RemoteWriteConfigs []*RemoteWriteConfig `yaml:"remote_write,omitempty"`
	RemoteReadConfigs  []*RemoteReadConfig  `yaml:"remote_read,omitempty"`
	OTLPConfig         OTLPConfig           `yaml:"otlp,omitempty"`

	// loaded is set by Load; GetScrapeConfigs relies on its validation.
	loaded bool
}

// DefaultConfig is the configuration of an empty file.
var DefaultConfig = Config{
	GlobalConfig: DefaultGlobalConfig,
	Runtime:      DefaultRuntimeConfig(),
	OTLPConfig:   DefaultOTLPConfig,
}

// Load parses and validates a configuration. When filename is not empty,
// errors are prefixed with it and relative paths in the configuration are
// resolved against its directory, as for LoadFile. logger may be nil.
func Load(s, filename string, logger *slog.Logger) (*Config, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	cfg, err := load(s, logger)
	if err != nil {
		if filename != "" {
			return nil, fmt.Errorf("parsing YAML file %s: %w", filename, err)
		}
		return nil, err
	}
	if filename != "" {
		cfg.SetDirectory(filepath.Dir(filename))
	}
	return cfg, nil
}

func load(s string, logger *slog.Logger) (*Config, error) {
	cfg := &Config{}
	*cfg = DefaultConfig
	if err := yaml.UnmarshalStrict([]byte(s), cfg); err != nil {
		return nil, err
	}
	if reflect.ValueOf(*cfg).IsZero() {
		// A null document ("~", "null") zeroes the target instead of
		// calling UnmarshalYAML: it means the same as an empty file.
		*cfg = DefaultConfig
	}
	cfg.fillDefaults()

	// External label values may reference environment variables; "$$"
	// stands for a literal "$".
	b := labels.NewScratchBuilder(cfg.GlobalConfig.ExternalLabels.Len())
	cfg.GlobalConfig.ExternalLabels.Range(func(l labels.Label) {
		v := os.Expand(l.Value, func(name string) string {
			if name == "$" {
				return "$"
			}
			if v := os.Getenv(name); v != "" {
				return v
			}
			logger.Warn("Empty environment variable", "name", name)
			return ""
		})
		if v != "" { // an empty value means no label
			b.Add(l.Name, v)
		}
	})
	b.Sort()
	cfg.GlobalConfig.ExternalLabels = b.Labels()

	switch cfg.OTLPConfig.TranslationStrategy {
	case "", UnderscoreEscapingWithSuffixes, UnderscoreEscapingWithoutSuffixes:
	case NoTranslation, NoUTF8EscapingWithSuffixes:
		if cfg.GlobalConfig.MetricNameValidationScheme == LegacyValidation {
			return nil, fmt.Errorf("OTLP translation strategy %q is not allowed when UTF8 is disabled", cfg.OTLPConfig.TranslationStrategy)
		}
	default:
		return nil, fmt.Errorf("unsupported OTLP translation strategy %q", cfg.OTLPConfig.TranslationStrategy)
	}
	cfg.loaded = true
	return cfg, nil
}

// fillDefaults supplies sections that were absent or written as null
// (yaml leaves those zero instead of calling their decoders).
func (c *Config) fillDefaults() {
	if reflect.ValueOf(c.GlobalConfig).IsZero() {
		c.GlobalConfig = DefaultGlobalConfig
	}
	if c.Runtime == (RuntimeConfig{}) {
		c.Runtime = DefaultRuntimeConfig()
	}
	if c.StorageConfig.TSDBConfig == nil {
		c.StorageConfig.TSDBConfig = &TSDBConfig{Retention: &TSDBRetentionConfig{}}
	}
	if c.StorageConfig.ExemplarsConfig == nil {
		ex := DefaultExemplarsConfig
		c.StorageConfig.ExemplarsConfig = &ex
	}
}

// LoadFile reads, parses and validates the configuration file. In agent
// mode the sections an agent cannot serve are rejected. Relative paths in
// the file are resolved against the file's directory.
func LoadFile(filename string, agentMode bool, logger *slog.Logger) (*Config, error) {
	content, err := os.ReadFile(filename)
	if err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	cfg, err := load(string(content), logger)
	if err != nil {
		return nil, fmt.Errorf("parsing YAML file %s: %w", filename, err)
	}
	if agentMode {
		if len(cfg.AlertingConfig.AlertmanagerConfigs) > 0 || len(cfg.AlertingConfig.AlertRelabelConfigs) > 0 {
			return nil, errors.New("field alerting is not allowed in agent mode")
		}
		if len(cfg.RuleFiles) > 0 {
			return nil, errors.New("field rule_files is not allowed in agent mode")
		}
		if len(cfg.RemoteReadConfigs) > 0 {
			return nil, errors.New("field remote_read is not allowed in agent mode")
		}
	}
	cfg.SetDirectory(filepath.Dir(filename))
	return cfg, nil
}

// UnmarshalYAML decodes the file and validates across sections: rule and
// scrape-config-file globs, unique job names, each scrape config against
// the global section, relabel rules, and remote endpoint names.
func (c *Config) UnmarshalYAML(unmarshal func(any) error) error {
	*c = DefaultConfig
	// The name "plain" shows up in strict-mode errors ("field x not found
	// in type config.plain"), as it does in Prometheus.
	type plain Config
	if err := unmarshal((*plain)(c)); err != nil {
		return err
	}
	c.fillDefaults()

	for _, rf := range c.RuleFiles {
		if !patRulePath.MatchString(rf) {
			return fmt.Errorf("invalid rule file path %q", rf)
		}
	}
	for _, sf := range c.ScrapeConfigFiles {
		if !patRulePath.MatchString(sf) {
			return fmt.Errorf("invalid scrape config file path %q", sf)
		}
	}
	jobNames := map[string]bool{}
	for _, sc := range c.ScrapeConfigs {
		if err := sc.Validate(c.GlobalConfig); err != nil {
			return err
		}
		if jobNames[sc.JobName] {
			return fmt.Errorf("found multiple scrape configs with job name %q", sc.JobName)
		}
		jobNames[sc.JobName] = true
	}
	scheme := c.GlobalConfig.MetricNameValidationScheme.labelsScheme()
	if err := c.AlertingConfig.validate(scheme); err != nil {
		return err
	}
	rwNames := map[string]bool{}
	for _, rw := range c.RemoteWriteConfigs {
		if rw == nil {
			return errors.New("empty or null remote write config section")
		}
		if rw.Name != "" && rwNames[rw.Name] {
			return fmt.Errorf("found multiple remote write configs with job name %q", rw.Name)
		}
		rwNames[rw.Name] = true
		for _, rc := range rw.WriteRelabelConfigs {
			if err := rc.Validate(scheme); err != nil {
				return err
			}
		}
	}
	rrNames := map[string]bool{}
	for _, rr := range c.RemoteReadConfigs {
		if rr == nil {
			return errors.New("empty or null remote read config section")
		}
		if rr.Name != "" && rrNames[rr.Name] {
			return fmt.Errorf("found multiple remote read configs with job name %q", rr.Name)
		}
		rrNames[rr.Name] = true
	}
	return nil
}

// SetDirectory resolves every relative file path in the configuration
// against dir.
func (c *Config) SetDirectory(dir string) {
	c.GlobalConfig.SetDirectory(dir)
	c.AlertingConfig.SetDirectory(dir)
	c.TracingConfig.TLSConfig.SetDirectory(dir)
	for i, f := range c.RuleFiles {
		c.RuleFiles[i] = discovery.JoinDir(dir, f)
	}
	for i, f := range c.ScrapeConfigFiles {
		c.ScrapeConfigFiles[i] = discovery.JoinDir(dir, f)
	}
	for _, sc := range c.ScrapeConfigs {
		sc.SetDirectory(dir)
	}
	for _, rw := range c.RemoteWriteConfigs {
		rw.HTTPClientConfig.SetDirectory(dir)
	}
	for _, rr := range c.RemoteReadConfigs {
		rr.HTTPClientConfig.SetDirectory(dir)
	}
}

// String prints the configuration as YAML with secrets replaced by
// "<secret>": the text /api/v1/status/config serves.
func (c Config) String() string {
	b, err := yaml.Marshal(c)
	if err != nil {
		return fmt.Sprintf("<error creating config string: %s>", err)
	}
	return string(b)
}

// scrapeConfigsFile is the content of a file named by scrape_config_files.
type scrapeConfigsFile struct {
	ScrapeConfigs []*ScrapeConfig `yaml:"scrape_configs,omitempty"`
}

// GetScrapeConfigs returns the scrape configs of the file followed by
// those of the files matched by scrape_config_files, each validated
// against the global section, with job names unique across all of them.
// Included files are read on each call, so a reload picks up their edits.
func (c *Config) GetScrapeConfigs() ([]*ScrapeConfig, error) {
	if !c.loaded {
		return nil, errors.New("scrape config cannot be fetched, main config was not validated and loaded correctly; should not happen")
	}
	out := make([]*ScrapeConfig, len(c.ScrapeConfigs))
	copy(out, c.ScrapeConfigs)
	origin := map[string]string{}
	for _, sc := range c.ScrapeConfigs {
		origin[sc.JobName] = "main config file"
	}
	for _, pat := range c.ScrapeConfigFiles {
		files, err := filepath.Glob(pat)
		if err != nil {
			return nil, fmt.Errorf("error retrieving scrape config files for %q: %w", pat, err)
		}
		for _, f := range files {
			abs := f
			if a, err := filepath.Abs(f); err == nil {
				abs = a
			}
			fileErr := func(err error) error { return fmt.Errorf("%q: %w", abs, err) }
			content, err := os.ReadFile(f)
			if err != nil {
				return nil, fileErr(err)
			}
			var sf scrapeConfigsFile
			if err := yaml.UnmarshalStrict(content, &sf); err != nil {
				return nil, fileErr(err)
			}
			for _, sc := range sf.ScrapeConfigs {
				if err := sc.Validate(c.GlobalConfig); err != nil {
					return nil, fileErr(err)
				}
				if first, ok := origin[sc.JobName]; ok {
					return nil, fileErr(fmt.Errorf("found multiple scrape configs with job name %q, first found in %s", sc.JobName, first))
				}
				origin[sc.JobName] = strconv.Quote(abs)
				sc.SetDirectory(filepath.Dir(f))
				out = append(out, sc)
			}
		}
	}
	return out, nil
}

// ValidationScheme is how metric and label names are validated:
// "legacy" or "utf8" ("" means inherit, resolved during validation).
type ValidationScheme string

// Name validation schemes.
const (
	UnsetValidation  ValidationScheme = ""
	LegacyValidation ValidationScheme = "legacy"
	UTF8Validation   ValidationScheme = "utf8"
)

// UnmarshalYAML accepts "", "legacy" and "utf8".
func (s *ValidationScheme) UnmarshalYAML(unmarshal func(any) error) error {
	var v string
	if err := unmarshal(&v); err != nil {
		return err
	}
	switch ValidationScheme(v) {
	case UnsetValidation, LegacyValidation, UTF8Validation:
		*s = ValidationScheme(v)
		return nil
	}
	return fmt.Errorf("unrecognized ValidationScheme: %q", v)
}

// labelsScheme converts to the labels package's scheme; unset means UTF-8,
// the Prometheus 3 default.
func (s ValidationScheme) labelsScheme() labels.ValidationScheme {
	if s == LegacyValidation {
		return labels.LegacyValidation
	}
	return labels.UTF8Validation
}

// LabelsScheme returns the scheme as the labels package spells it.
func (s ValidationScheme) LabelsScheme() labels.ValidationScheme { return s.labelsScheme() }

// Metric name escaping schemes, as negotiated with targets.
const (
	EscapingAllowUTF8   = "allow-utf-8"
	EscapingUnderscores = "underscores"
	EscapingDots        = "dots"
	EscapingValues      = "values"
)

func validEscaping(s string) bool {
	switch s {
	case EscapingAllowUTF8, EscapingUnderscores, EscapingDots, EscapingValues:
		return true
	}
	return false
}

// validateRelabels checks rules under a name validation scheme; nil rules
// are reported with the given wording.
func validateRelabels(rules []*relabel.Config, scheme labels.ValidationScheme) error {
	for _, rc := range rules {
		if rc == nil {
			continue // reported with a section-specific message at decode time
		}
		if err := rc.Validate(scheme); err != nil {
			return err
		}
	}
	return nil
}

// checkNilRelabels returns an error with msg when a rule is null.
func checkNilRelabels(rules []*relabel.Config, msg string) error {
	for _, rc := range rules {
		if rc == nil {
			return errors.New(msg)
		}
	}
	return nil
}

// CheckTargetAddress rejects static target addresses that contain a
// path: a common mistake is writing a URL where host:port is expected.
func CheckTargetAddress(address string) error {
	if strings.Contains(address, "/") {
		return fmt.Errorf("%q is not a valid hostname", address)
	}
	return nil
}

func checkStaticTargets(configs discovery.Configs) error {
	for _, c := range configs {
		sc, ok := c.(discovery.StaticConfig)
		if !ok {
			continue
		}
		for _, tg := range sc {
			for _, t := range tg.Targets {
				if err := CheckTargetAddress(t.Get(discovery.AddressLabel)); err != nil {
					return err
				}
			}
		}
	}
	return nil
}
