package config

import (
	"errors"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/alecthomas/units"

	"github.com/vigil-monitoring/vigil/internal/discovery"
	"github.com/vigil-monitoring/vigil/internal/model/labels"
)

// GlobalConfig holds the defaults other sections inherit and the
// server-wide settings.
type GlobalConfig struct {
	ScrapeInterval       Duration         `yaml:"scrape_interval,omitempty"`
	ScrapeTimeout        Duration         `yaml:"scrape_timeout,omitempty"`
	ScrapeProtocols      []ScrapeProtocol `yaml:"scrape_protocols,omitempty"`
	EvaluationInterval   Duration         `yaml:"evaluation_interval,omitempty"`
	RuleQueryOffset      Duration         `yaml:"rule_query_offset,omitempty"`
	QueryLogFile         string           `yaml:"query_log_file,omitempty"`
	QueryMaxSeries       uint64           `yaml:"query_max_series,omitempty"`
	QueryMaxSamplesRead  uint64           `yaml:"query_max_samples_read,omitempty"`
	QueryMaxDuration     Duration         `yaml:"query_max_duration,omitempty"`
	ScrapeFailureLogFile string           `yaml:"scrape_failure_log_file,omitempty"`
	// ExternalLabels has no omitempty: yaml.v2 would see the encoded
	// set's unexported field and always omit it.
	ExternalLabels labels.Labels `yaml:"external_labels"`

	// Limits inherited by scrape configs; 0 means no limit.
	BodySizeLimit         units.Base2Bytes `yaml:"body_size_limit,omitempty"`
	SampleLimit           uint             `yaml:"sample_limit,omitempty"`
	TargetLimit           uint             `yaml:"target_limit,omitempty"`
	LabelLimit            uint             `yaml:"label_limit,omitempty"`
	LabelNameLengthLimit  uint             `yaml:"label_name_length_limit,omitempty"`
	LabelValueLengthLimit uint             `yaml:"label_value_length_limit,omitempty"`
	KeepDroppedTargets    uint             `yaml:"keep_dropped_targets,omitempty"`

	MetricNameValidationScheme     ValidationScheme `yaml:"metric_name_validation_scheme,omitempty"`
	MetricNameEscapingScheme       string           `yaml:"metric_name_escaping_scheme,omitempty"`
	ScrapeNativeHistograms         *bool            `yaml:"scrape_native_histograms,omitempty"`
	ConvertClassicHistogramsToNHCB bool             `yaml:"convert_classic_histograms_to_nhcb,omitempty"`
	AlwaysScrapeClassicHistograms  bool             `yaml:"always_scrape_classic_histograms,omitempty"`
	ExtraScrapeMetrics             *bool            `yaml:"extra_scrape_metrics,omitempty"`
}

func boolPtr(b bool) *bool { return &b }

// DefaultGlobalConfig holds Prometheus' global defaults.
var DefaultGlobalConfig = GlobalConfig{
	ScrapeInterval:             Duration(time.Minute),
	ScrapeTimeout:              Duration(10 * time.Second),
	EvaluationInterval:         Duration(time.Minute),
	ScrapeNativeHistograms:     boolPtr(false),
	ExtraScrapeMetrics:         boolPtr(false),
	MetricNameValidationScheme: UTF8Validation,
	MetricNameEscapingScheme:   EscapingAllowUTF8,
}

// SetDirectory resolves the log file paths against dir.
func (c *GlobalConfig) SetDirectory(dir string) {
	c.QueryLogFile = discovery.JoinDir(dir, c.QueryLogFile)
	c.ScrapeFailureLogFile = discovery.JoinDir(dir, c.ScrapeFailureLogFile)
}

// UnmarshalYAML decodes, validates external labels and fills defaults for
// what was left out.
func (c *GlobalConfig) UnmarshalYAML(unmarshal func(any) error) error {
	gc := &GlobalConfig{}
	type plain GlobalConfig
	if err := unmarshal((*plain)(gc)); err != nil {
		return err
	}
	if gc.MetricNameValidationScheme == UnsetValidation {
		gc.MetricNameValidationScheme = DefaultGlobalConfig.MetricNameValidationScheme
	}
	scheme := gc.MetricNameValidationScheme.labelsScheme()
	if err := gc.ExternalLabels.Validate(func(l labels.Label) error {
		if !scheme.IsValidLabelName(l.Name) {
			return fmt.Errorf("%q is not a valid label name", l.Name)
		}
		if !utf8.ValidString(l.Value) {
			return fmt.Errorf("%q is not a valid label value", l.Value)
		}
		return nil
	}); err != nil {
		return err
	}
	if gc.ScrapeInterval == 0 {
		gc.ScrapeInterval = DefaultGlobalConfig.ScrapeInterval
	}
	if gc.ScrapeTimeout > gc.ScrapeInterval {
		return errors.New("global scrape timeout greater than scrape interval")
	}
	if gc.ScrapeTimeout == 0 {
		gc.ScrapeTimeout = min(DefaultGlobalConfig.ScrapeTimeout, gc.ScrapeInterval)
	}
	if gc.EvaluationInterval == 0 {
		gc.EvaluationInterval = DefaultGlobalConfig.EvaluationInterval
	}
	if gc.ScrapeNativeHistograms == nil {
		gc.ScrapeNativeHistograms = boolPtr(false)
	}
	if gc.ExtraScrapeMetrics == nil {
		gc.ExtraScrapeMetrics = boolPtr(false)
	}
	if gc.ScrapeProtocols != nil {
		if err := validateScrapeProtocols(gc.ScrapeProtocols); err != nil {
			return fmt.Errorf("%w for global config", err)
		}
	}
	*c = *gc
	return nil
}

// ScrapeProtocol is an exposition format a scraper may ask a target for.
type ScrapeProtocol string

// The scrape protocols and the Accept header media type of each.
const (
	PrometheusProto      ScrapeProtocol = "PrometheusProto"
	PrometheusText0_0_4  ScrapeProtocol = "PrometheusText0.0.4"
	PrometheusText1_0_0  ScrapeProtocol = "PrometheusText1.0.0"
	OpenMetricsText0_0_1 ScrapeProtocol = "OpenMetricsText0.0.1"
	OpenMetricsText1_0_0 ScrapeProtocol = "OpenMetricsText1.0.0"
)

// ScrapeProtocolsHeaders maps each protocol to its Accept header value.
var ScrapeProtocolsHeaders = map[ScrapeProtocol]string{
	PrometheusProto:      "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited",
	PrometheusText0_0_4:  "text/plain;version=0.0.4",
	PrometheusText1_0_0:  "text/plain;version=1.0.0",
	OpenMetricsText0_0_1: "application/openmetrics-text;version=0.0.1",
	OpenMetricsText1_0_0: "application/openmetrics-text;version=1.0.0",
}

// DefaultScrapeProtocols is the negotiation order of Prometheus 3 when
// native histograms are not scraped.
var DefaultScrapeProtocols = []ScrapeProtocol{
	OpenMetricsText1_0_0,
	OpenMetricsText0_0_1,
	PrometheusText1_0_0,
	PrometheusText0_0_4,
}

// DefaultProtoFirstScrapeProtocols is the order when native histograms
// are scraped: only the protobuf format carries them.
var DefaultProtoFirstScrapeProtocols = []ScrapeProtocol{
	PrometheusProto,
	OpenMetricsText1_0_0,
	OpenMetricsText0_0_1,
	PrometheusText1_0_0,
	PrometheusText0_0_4,
}

// Validate reports an unknown protocol, listing the known ones.
func (p ScrapeProtocol) Validate() error {
	if _, ok := ScrapeProtocolsHeaders[p]; ok {
		return nil
	}
	known := make([]string, 0, len(ScrapeProtocolsHeaders))
	for k := range ScrapeProtocolsHeaders {
		known = append(known, string(k))
	}
	sort.Strings(known)
	return fmt.Errorf("unknown scrape protocol %v, supported: %v", p, known)
}

// HeaderMediaType returns the protocol's media type without parameters.
func (p ScrapeProtocol) HeaderMediaType() string {
	h, ok := ScrapeProtocolsHeaders[p]
	if !ok {
		return ""
	}
	mt, _, _ := strings.Cut(h, ";")
	return mt
}

func validateScrapeProtocols(ps []ScrapeProtocol) error {
	if len(ps) == 0 {
		return errors.New("scrape_protocols cannot be empty")
	}
	seen := map[string]bool{}
	for _, p := range ps {
		key := strings.ToLower(string(p))
		if seen[key] {
			return fmt.Errorf("duplicated protocol in scrape_protocols, got %v", ps)
		}
		if err := p.Validate(); err != nil {
			return fmt.Errorf("scrape_protocols: %w", err)
		}
		seen[key] = true
	}
	return nil
}

// DefaultGoGCPercentage is the GOGC Prometheus runs with unless told
// otherwise: lower than Go's 100 to keep the heap tighter.
const DefaultGoGCPercentage = 75

// RuntimeConfig holds process settings applied on (re)load.
type RuntimeConfig struct {
	GoGC     int    `yaml:"gogc,omitempty"`
	LogLevel string `yaml:"log_level,omitempty"`
}

// DefaultRuntimeConfig takes GOGC from the environment when set
// ("off" is -1), else DefaultGoGCPercentage.
func DefaultRuntimeConfig() RuntimeConfig {
	gogc := DefaultGoGCPercentage
	if env := os.Getenv("GOGC"); env != "" {
		if strings.EqualFold(env, "off") {
			gogc = -1
		} else if n, err := strconv.Atoi(env); err == nil {
			gogc = n
		}
	}
	return RuntimeConfig{GoGC: gogc, LogLevel: "info"}
}

// UnmarshalYAML checks the log level.
func (c *RuntimeConfig) UnmarshalYAML(unmarshal func(any) error) error {
	// Fields left out keep their defaults: a `runtime:` block that sets
	// only log_level must not leave gogc at 0, which would make the
	// collector run continuously once the server applies it.
	*c = DefaultRuntimeConfig()
	type plain RuntimeConfig
	if err := unmarshal((*plain)(c)); err != nil {
		return err
	}
	switch strings.ToLower(c.LogLevel) {
	case "", "debug", "info", "warn", "error":
		c.LogLevel = strings.ToLower(c.LogLevel)
	default:
		return fmt.Errorf("unrecognized log level %s", c.LogLevel)
	}
	return nil
}
