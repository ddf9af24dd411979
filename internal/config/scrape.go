package config

import (
	"errors"
	"fmt"
	"net/url"

	"github.com/alecthomas/units"

	"github.com/vigil-monitoring/vigil/internal/discovery"
	"github.com/vigil-monitoring/vigil/internal/relabel"
)

// ScrapeConfig is one scrape pool: a job with its targets, how to scrape
// them and what to do with the results.
type ScrapeConfig struct {
	JobName                  string     `yaml:"job_name"`
	HonorLabels              bool       `yaml:"honor_labels,omitempty"`
	HonorTimestamps          bool       `yaml:"honor_timestamps"`
	TrackTimestampsStaleness bool       `yaml:"track_timestamps_staleness"`
	Params                   url.Values `yaml:"params,omitempty"`
	ScrapeInterval           Duration   `yaml:"scrape_interval,omitempty"`
	ScrapeTimeout            Duration   `yaml:"scrape_timeout,omitempty"`
	// ScrapeProtocols is the Accept negotiation order; inherited from the
	// global section, else the Prometheus 3 default list.
	ScrapeProtocols []ScrapeProtocol `yaml:"scrape_protocols,omitempty"`
	// ScrapeFallbackProtocol is used when a target answers with a missing
	// or unparsable Content-Type.
	ScrapeFallbackProtocol         ScrapeProtocol `yaml:"fallback_scrape_protocol,omitempty"`
	ScrapeNativeHistograms         *bool          `yaml:"scrape_native_histograms,omitempty"`
	AlwaysScrapeClassicHistograms  *bool          `yaml:"always_scrape_classic_histograms,omitempty"`
	ConvertClassicHistogramsToNHCB *bool          `yaml:"convert_classic_histograms_to_nhcb,omitempty"`
	ScrapeFailureLogFile           string         `yaml:"scrape_failure_log_file,omitempty"`
	MetricsPath                    string         `yaml:"metrics_path,omitempty"`
	Scheme                         string         `yaml:"scheme,omitempty"`
	EnableCompression              bool           `yaml:"enable_compression"`

	// Limits; 0 inherits the global value, which 0 means unlimited.
	BodySizeLimit                  units.Base2Bytes `yaml:"body_size_limit,omitempty"`
	SampleLimit                    uint             `yaml:"sample_limit,omitempty"`
	TargetLimit                    uint             `yaml:"target_limit,omitempty"`
	LabelLimit                     uint             `yaml:"label_limit,omitempty"`
	LabelNameLengthLimit           uint             `yaml:"label_name_length_limit,omitempty"`
	LabelValueLengthLimit          uint             `yaml:"label_value_length_limit,omitempty"`
	NativeHistogramBucketLimit     uint             `yaml:"native_histogram_bucket_limit,omitempty"`
	NativeHistogramMinBucketFactor float64          `yaml:"native_histogram_min_bucket_factor,omitempty"`
	KeepDroppedTargets             uint             `yaml:"keep_dropped_targets,omitempty"`

	MetricNameValidationScheme ValidationScheme `yaml:"metric_name_validation_scheme,omitempty"`
	MetricNameEscapingScheme   string           `yaml:"metric_name_escaping_scheme,omitempty"`
	ExtraScrapeMetrics         *bool            `yaml:"extra_scrape_metrics,omitempty"`

	// ServiceDiscoveryConfigs holds the <name>_sd_configs and
	// static_configs entries, decoded through the discovery registry.
	ServiceDiscoveryConfigs discovery.Configs `yaml:"-"`
	HTTPClientConfig        HTTPClientConfig  `yaml:",inline"`

	RelabelConfigs       []*relabel.Config `yaml:"relabel_configs,omitempty"`
	MetricRelabelConfigs []*relabel.Config `yaml:"metric_relabel_configs,omitempty"`
}

// DefaultScrapeConfig holds Prometheus' per-job defaults.
var DefaultScrapeConfig = ScrapeConfig{
	MetricsPath:       "/metrics",
	Scheme:            "http",
	HonorTimestamps:   true,
	EnableCompression: true,
	HTTPClientConfig:  DefaultHTTPClientConfig,
}

// scrapePlain is ScrapeConfig without its methods, for decoding.
type scrapePlain ScrapeConfig

// UnmarshalYAML decodes the job with its inline discovery sections and
// checks what can be checked without the global section.
func (c *ScrapeConfig) UnmarshalYAML(unmarshal func(any) error) error {
	*c = DefaultScrapeConfig
	if err := discovery.UnmarshalYAMLWithInlineConfigs((*scrapePlain)(c), &c.ServiceDiscoveryConfigs, "config.ScrapeConfig", unmarshal); err != nil {
		return err
	}
	if c.JobName == "" {
		return errors.New("job_name is empty")
	}
	if err := c.HTTPClientConfig.Validate(); err != nil {
		return err
	}
	// Relabeling may turn a URL-looking address into a valid one, so the
	// check only applies when there is none.
	if len(c.RelabelConfigs) == 0 {
		if err := checkStaticTargets(c.ServiceDiscoveryConfigs); err != nil {
			return err
		}
	}
	if err := checkNilRelabels(c.RelabelConfigs, "empty or null target relabeling rule in scrape config"); err != nil {
		return err
	}
	return checkNilRelabels(c.MetricRelabelConfigs, "empty or null metric relabeling rule in scrape config")
}

// MarshalYAML prints the job with its discovery sections inline.
func (c *ScrapeConfig) MarshalYAML() (any, error) {
	return discovery.MarshalYAMLWithInlineConfigs((*scrapePlain)(c), c.ServiceDiscoveryConfigs)
}

// SetDirectory resolves relative file paths against dir.
func (c *ScrapeConfig) SetDirectory(dir string) {
	c.ServiceDiscoveryConfigs.SetDirectory(dir)
	c.HTTPClientConfig.SetDirectory(dir)
	c.ScrapeFailureLogFile = discovery.JoinDir(dir, c.ScrapeFailureLogFile)
}

// Validate fills what the job inherits from the global section and checks
// the result: timeout within interval, protocols, name validation and
// escaping, relabel rules.
func (c *ScrapeConfig) Validate(g GlobalConfig) error {
	if c == nil {
		return errors.New("empty or null scrape config section")
	}
	if c.ScrapeInterval == 0 {
		c.ScrapeInterval = g.ScrapeInterval
	}
	if c.ScrapeTimeout > c.ScrapeInterval {
		return fmt.Errorf("scrape timeout greater than scrape interval for scrape config with job name %q", c.JobName)
	}
	if c.ScrapeTimeout == 0 {
		c.ScrapeTimeout = min(g.ScrapeTimeout, c.ScrapeInterval)
	}
	inheritUint := func(local *uint, global uint) {
		if *local == 0 {
			*local = global
		}
	}
	if c.BodySizeLimit == 0 {
		c.BodySizeLimit = g.BodySizeLimit
	}
	inheritUint(&c.SampleLimit, g.SampleLimit)
	inheritUint(&c.TargetLimit, g.TargetLimit)
	inheritUint(&c.LabelLimit, g.LabelLimit)
	inheritUint(&c.LabelNameLengthLimit, g.LabelNameLengthLimit)
	inheritUint(&c.LabelValueLengthLimit, g.LabelValueLengthLimit)
	inheritUint(&c.KeepDroppedTargets, g.KeepDroppedTargets)
	if c.ScrapeFailureLogFile == "" {
		c.ScrapeFailureLogFile = g.ScrapeFailureLogFile
	}
	if c.ScrapeNativeHistograms == nil {
		c.ScrapeNativeHistograms = g.ScrapeNativeHistograms
	}
	if c.ExtraScrapeMetrics == nil {
		c.ExtraScrapeMetrics = g.ExtraScrapeMetrics
	}
	if c.ScrapeProtocols == nil {
		switch {
		case g.ScrapeProtocols != nil:
			c.ScrapeProtocols = g.ScrapeProtocols
		case c.ScrapeNativeHistogramsEnabled():
			c.ScrapeProtocols = DefaultProtoFirstScrapeProtocols
		default:
			c.ScrapeProtocols = DefaultScrapeProtocols
		}
	}
	if err := validateScrapeProtocols(c.ScrapeProtocols); err != nil {
		return fmt.Errorf("%w for scrape config with job name %q", err, c.JobName)
	}
	if c.ScrapeFallbackProtocol != "" {
		if err := c.ScrapeFallbackProtocol.Validate(); err != nil {
			return fmt.Errorf("invalid fallback_scrape_protocol for scrape config with job name %q: %w", c.JobName, err)
		}
	}

	globalScheme := g.MetricNameValidationScheme
	if globalScheme == UnsetValidation {
		globalScheme = UTF8Validation
	}
	localUnset := c.MetricNameValidationScheme == UnsetValidation
	if localUnset {
		c.MetricNameValidationScheme = globalScheme
	}
	globalEscaping := g.MetricNameEscapingScheme
	switch {
	case globalEscaping == "" && globalScheme == LegacyValidation:
		globalEscaping = EscapingUnderscores
	case globalEscaping == "":
		globalEscaping = EscapingAllowUTF8
	case !validEscaping(globalEscaping):
		return fmt.Errorf("unknown global name escaping method specified, must be one of '%s', '%s', '%s', or '%s', got %q",
			EscapingAllowUTF8, EscapingUnderscores, EscapingDots, EscapingValues, globalEscaping)
	}
	if c.MetricNameEscapingScheme == "" {
		switch {
		case localUnset:
			c.MetricNameEscapingScheme = globalEscaping
		case c.MetricNameValidationScheme == LegacyValidation:
			c.MetricNameEscapingScheme = EscapingUnderscores
		default:
			c.MetricNameEscapingScheme = EscapingAllowUTF8
		}
	}
	switch {
	case c.MetricNameEscapingScheme == EscapingAllowUTF8:
		if c.MetricNameValidationScheme != UTF8Validation {
			return errors.New("utf8 metric names requested but validation scheme is not set to UTF8")
		}
	case !validEscaping(c.MetricNameEscapingScheme):
		return fmt.Errorf("unknown scrape config name escaping method specified, must be one of '%s', '%s', '%s', or '%s', got %q",
			EscapingAllowUTF8, EscapingUnderscores, EscapingDots, EscapingValues, c.MetricNameEscapingScheme)
	}
	if c.ConvertClassicHistogramsToNHCB == nil {
		c.ConvertClassicHistogramsToNHCB = boolPtr(g.ConvertClassicHistogramsToNHCB)
	}
	if c.AlwaysScrapeClassicHistograms == nil {
		c.AlwaysScrapeClassicHistograms = boolPtr(g.AlwaysScrapeClassicHistograms)
	}
	scheme := c.MetricNameValidationScheme.labelsScheme()
	if err := validateRelabels(c.RelabelConfigs, scheme); err != nil {
		return err
	}
	return validateRelabels(c.MetricRelabelConfigs, scheme)
}

// ScrapeNativeHistogramsEnabled reports whether native histograms are
// scraped.
func (c *ScrapeConfig) ScrapeNativeHistogramsEnabled() bool {
	return c.ScrapeNativeHistograms != nil && *c.ScrapeNativeHistograms
}

// ConvertClassicHistogramsToNHCBEnabled reports whether classic histograms
// become native histograms with custom buckets.
func (c *ScrapeConfig) ConvertClassicHistogramsToNHCBEnabled() bool {
	return c.ConvertClassicHistogramsToNHCB != nil && *c.ConvertClassicHistogramsToNHCB
}

// AlwaysScrapeClassicHistogramsEnabled reports whether classic histograms
// are kept next to native ones.
func (c *ScrapeConfig) AlwaysScrapeClassicHistogramsEnabled() bool {
	return c.AlwaysScrapeClassicHistograms != nil && *c.AlwaysScrapeClassicHistograms
}

// ExtraScrapeMetricsEnabled reports whether the extra scrape_* series are
// written.
func (c *ScrapeConfig) ExtraScrapeMetricsEnabled() bool {
	return c.ExtraScrapeMetrics != nil && *c.ExtraScrapeMetrics
}
