package config

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/alecthomas/units"
)

// StorageConfig holds the storage settings that can change on reload.
type StorageConfig struct {
	TSDBConfig      *TSDBConfig      `yaml:"tsdb,omitempty"`
	ExemplarsConfig *ExemplarsConfig `yaml:"exemplars,omitempty"`
}

// TSDBConfig holds reloadable TSDB settings.
type TSDBConfig struct {
	// OutOfOrderTimeWindow is OutOfOrderTimeWindowFlag in milliseconds,
	// the unit the TSDB works in.
	OutOfOrderTimeWindow int64 `yaml:"-"`
	// OutOfOrderTimeWindowFlag is how far behind the newest sample a
	// series accepts samples; 0 disables out-of-order ingestion.
	OutOfOrderTimeWindowFlag       Duration             `yaml:"out_of_order_time_window,omitempty"`
	StaleSeriesCompactionThreshold float64              `yaml:"stale_series_compaction_threshold,omitempty"`
	ChunkEncoding                  ChunkEncodingConfig  `yaml:"chunk_encoding,omitempty"`
	Retention                      *TSDBRetentionConfig `yaml:"retention,omitempty"`
}

// ChunkEncodingConfig selects chunk encodings.
type ChunkEncodingConfig struct {
	Floats string `yaml:"floats,omitempty"`
}

// UnmarshalYAML decodes and validates.
func (t *TSDBConfig) UnmarshalYAML(unmarshal func(any) error) error {
	*t = TSDBConfig{}
	type plain TSDBConfig
	if err := unmarshal((*plain)(t)); err != nil {
		return err
	}
	t.OutOfOrderTimeWindow = time.Duration(t.OutOfOrderTimeWindowFlag).Milliseconds()
	switch t.ChunkEncoding.Floats {
	case "", "xor", "xor2":
	default:
		return fmt.Errorf("'storage.tsdb.chunk_encoding.floats' must be 'xor' or 'xor2', or the field must be omitted entirely, got %q", t.ChunkEncoding.Floats)
	}
	if t.Retention == nil {
		t.Retention = &TSDBRetentionConfig{}
	}
	return nil
}

// TSDBRetentionConfig bounds how much data is kept; zero values defer to
// the command-line flags.
type TSDBRetentionConfig struct {
	Time       Duration         `yaml:"time,omitempty"`
	Size       units.Base2Bytes `yaml:"size,omitempty"`
	Percentage float64          `yaml:"percentage,omitempty"`
}

// UnmarshalYAML decodes and validates.
func (t *TSDBRetentionConfig) UnmarshalYAML(unmarshal func(any) error) error {
	*t = TSDBRetentionConfig{}
	type plain TSDBRetentionConfig
	if err := unmarshal((*plain)(t)); err != nil {
		return err
	}
	if t.Size < 0 {
		return fmt.Errorf("'storage.tsdb.retention.size' must be greater than or equal to 0, got %v", t.Size)
	}
	if t.Percentage < 0 || t.Percentage > 100 {
		return fmt.Errorf("'storage.tsdb.retention.percentage' must be in the range [0, 100], got %v", t.Percentage)
	}
	return nil
}

// ExemplarsConfig sizes the exemplar store.
type ExemplarsConfig struct {
	// MaxExemplars is the circular buffer size shared by all series; 0
	// disables exemplar storage.
	MaxExemplars int64 `yaml:"max_exemplars,omitempty"`
}

// DefaultExemplarsConfig holds Prometheus' default buffer size.
var DefaultExemplarsConfig = ExemplarsConfig{MaxExemplars: 100000}

// TracingClientType is the OTLP exporter transport.
type TracingClientType string

// Tracing transports.
const (
	TracingClientHTTP TracingClientType = "http"
	TracingClientGRPC TracingClientType = "grpc"
)

// UnmarshalYAML accepts http and grpc.
func (t *TracingClientType) UnmarshalYAML(unmarshal func(any) error) error {
	var s string
	if err := unmarshal(&s); err != nil {
		return err
	}
	*t = TracingClientType(s)
	if *t != TracingClientHTTP && *t != TracingClientGRPC {
		return fmt.Errorf("expected tracing client type to be to be %s or %s, but got %s", TracingClientHTTP, TracingClientGRPC, *t)
	}
	return nil
}

// TracingConfig configures OTLP trace export. It is parsed and validated;
// whether traces are exported depends on the binary.
type TracingConfig struct {
	ClientType       TracingClientType `yaml:"client_type,omitempty"`
	Endpoint         string            `yaml:"endpoint,omitempty"`
	SamplingFraction float64           `yaml:"sampling_fraction,omitempty"`
	Insecure         bool              `yaml:"insecure,omitempty"`
	TLSConfig        TLSConfig         `yaml:"tls_config,omitempty"`
	Headers          map[string]string `yaml:"headers,omitempty"`
	Compression      string            `yaml:"compression,omitempty"`
	Timeout          Duration          `yaml:"timeout,omitempty"`
}

// UnmarshalYAML decodes and validates.
func (t *TracingConfig) UnmarshalYAML(unmarshal func(any) error) error {
	*t = TracingConfig{ClientType: TracingClientGRPC}
	type plain TracingConfig
	if err := unmarshal((*plain)(t)); err != nil {
		return err
	}
	for h := range t.Headers {
		lower := strings.ToLower(h)
		if lower == "authorization" {
			return errors.New("custom authorization header configuration is not yet supported")
		}
		if reservedHeaders[lower] {
			return fmt.Errorf("%s is a reserved header. It must not be changed", h)
		}
	}
	if t.Endpoint == "" {
		return errors.New("tracing endpoint must be set")
	}
	if t.Compression != "" && t.Compression != "gzip" {
		return fmt.Errorf("invalid compression type %s provided, valid options: gzip", t.Compression)
	}
	return nil
}

// OTLP metric name translation strategies.
const (
	UnderscoreEscapingWithSuffixes    = "UnderscoreEscapingWithSuffixes"
	UnderscoreEscapingWithoutSuffixes = "UnderscoreEscapingWithoutSuffixes"
	NoUTF8EscapingWithSuffixes        = "NoUTF8EscapingWithSuffixes"
	NoTranslation                     = "NoTranslation"
)

// OTLPConfig controls how the OTLP receiver maps metrics.
type OTLPConfig struct {
	PromoteAllResourceAttributes         bool     `yaml:"promote_all_resource_attributes,omitempty"`
	PromoteResourceAttributes            []string `yaml:"promote_resource_attributes,omitempty"`
	IgnoreResourceAttributes             []string `yaml:"ignore_resource_attributes,omitempty"`
	TranslationStrategy                  string   `yaml:"translation_strategy,omitempty"`
	KeepIdentifyingResourceAttributes    bool     `yaml:"keep_identifying_resource_attributes,omitempty"`
	ConvertHistogramsToNHCB              bool     `yaml:"convert_histograms_to_nhcb,omitempty"`
	PromoteScopeMetadata                 bool     `yaml:"promote_scope_metadata,omitempty"`
	LabelNameUnderscoreSanitization      bool     `yaml:"label_name_underscore_sanitization,omitempty"`
	LabelNamePreserveMultipleUnderscores bool     `yaml:"label_name_preserve_multiple_underscores,omitempty"`
}

// DefaultOTLPConfig holds Prometheus' defaults.
var DefaultOTLPConfig = OTLPConfig{
	TranslationStrategy:                  UnderscoreEscapingWithSuffixes,
	LabelNameUnderscoreSanitization:      true,
	LabelNamePreserveMultipleUnderscores: true,
}

// UnmarshalYAML decodes, validates and trims the attribute lists.
func (c *OTLPConfig) UnmarshalYAML(unmarshal func(any) error) error {
	*c = DefaultOTLPConfig
	type plain OTLPConfig
	if err := unmarshal((*plain)(c)); err != nil {
		return err
	}
	if c.PromoteAllResourceAttributes {
		if len(c.PromoteResourceAttributes) > 0 {
			return errors.New("'promote_all_resource_attributes' and 'promote_resource_attributes' cannot be configured simultaneously")
		}
		if err := sanitizeAttributes(c.IgnoreResourceAttributes, "ignored"); err != nil {
			return fmt.Errorf("invalid 'ignore_resource_attributes': %w", err)
		}
		return nil
	}
	if len(c.IgnoreResourceAttributes) > 0 {
		return errors.New("'ignore_resource_attributes' cannot be configured unless 'promote_all_resource_attributes' is true")
	}
	if err := sanitizeAttributes(c.PromoteResourceAttributes, "promoted"); err != nil {
		return fmt.Errorf("invalid 'promote_resource_attributes': %w", err)
	}
	return nil
}

// sanitizeAttributes trims each attribute in place and reports empty and
// repeated ones, all of them at once.
func sanitizeAttributes(attrs []string, adjective string) error {
	seen := map[string]bool{}
	var errs []error
	for i, a := range attrs {
		a = strings.TrimSpace(a)
		switch {
		case a == "":
			errs = append(errs, fmt.Errorf("empty %s OTel resource attribute", adjective))
		case seen[a]:
			errs = append(errs, fmt.Errorf("duplicated %s OTel resource attribute %q", adjective, a))
		default:
			seen[a] = true
			attrs[i] = a
		}
	}
	return errors.Join(errs...)
}
