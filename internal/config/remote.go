package config

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/vigil-monitoring/vigil/internal/relabel"
)

// reservedHeaders may not be set through remote_write/remote_read
// headers: the client sets them, or they change the connection.
var reservedHeaders = map[string]bool{
	"host": true, "content-encoding": true, "content-length": true, "content-type": true,
	"user-agent": true, "connection": true, "keep-alive": true, "proxy-authenticate": true,
	"proxy-authorization": true, "www-authenticate": true, "accept-encoding": true,
	"x-prometheus-remote-write-version": true, "x-prometheus-remote-read-version": true,
	"x-amz-date": true, "x-amz-security-token": true, "x-amz-content-sha256": true,
}

func validateHeaders(headers map[string]string) error {
	for h := range headers {
		lower := strings.ToLower(h)
		if lower == "authorization" {
			return errors.New("authorization header must be changed via the basic_auth, authorization, oauth2, sigv4, azuread or google_iam parameter")
		}
		if reservedHeaders[lower] {
			return fmt.Errorf("%s is a reserved header. It must not be changed", h)
		}
	}
	return nil
}

// RemoteWriteProtoMsg names the protobuf message a remote writer sends.
type RemoteWriteProtoMsg string

// The remote write messages: 1.0 and 2.0.
const (
	RemoteWriteProtoMsgV1 RemoteWriteProtoMsg = "prometheus.WriteRequest"
	RemoteWriteProtoMsgV2 RemoteWriteProtoMsg = "io.prometheus.write.v2.Request"
)

// Validate rejects unknown messages.
func (m RemoteWriteProtoMsg) Validate() error {
	switch m {
	case RemoteWriteProtoMsgV1, RemoteWriteProtoMsgV2:
		return nil
	}
	return fmt.Errorf("unknown type for remote write protobuf message %v, supported: %v, %v", m, RemoteWriteProtoMsgV1, RemoteWriteProtoMsgV2)
}

// RemoteWriteConfig is one remote write endpoint.
type RemoteWriteConfig struct {
	URL                  *URL                `yaml:"url"`
	RemoteTimeout        Duration            `yaml:"remote_timeout,omitempty"`
	Headers              map[string]string   `yaml:"headers,omitempty"`
	WriteRelabelConfigs  []*relabel.Config   `yaml:"write_relabel_configs,omitempty"`
	Name                 string              `yaml:"name,omitempty"`
	SendExemplars        bool                `yaml:"send_exemplars,omitempty"`
	SendNativeHistograms bool                `yaml:"send_native_histograms,omitempty"`
	RoundRobinDNS        bool                `yaml:"round_robin_dns,omitempty"`
	ProtobufMessage      RemoteWriteProtoMsg `yaml:"protobuf_message,omitempty"`
	ConvertNHCBToClassic bool                `yaml:"convert_nhcb_to_classic,omitempty"`

	HTTPClientConfig HTTPClientConfig `yaml:",inline"`
	QueueConfig      QueueConfig      `yaml:"queue_config,omitempty"`
	MetadataConfig   MetadataConfig   `yaml:"metadata_config,omitempty"`
}

// QueueConfig tunes a remote write queue.
type QueueConfig struct {
	Capacity          int      `yaml:"capacity,omitempty"`
	MaxShards         int      `yaml:"max_shards,omitempty"`
	MinShards         int      `yaml:"min_shards,omitempty"`
	MaxSamplesPerSend int      `yaml:"max_samples_per_send,omitempty"`
	BatchSendDeadline Duration `yaml:"batch_send_deadline,omitempty"`
	MinBackoff        Duration `yaml:"min_backoff,omitempty"`
	MaxBackoff        Duration `yaml:"max_backoff,omitempty"`
	RetryOnRateLimit  bool     `yaml:"retry_on_http_429,omitempty"`
	SampleAgeLimit    Duration `yaml:"sample_age_limit,omitempty"`
}

// DefaultQueueConfig holds Prometheus' queue defaults.
var DefaultQueueConfig = QueueConfig{
	MaxShards:         50,
	MinShards:         1,
	MaxSamplesPerSend: 2000,
	Capacity:          10000,
	BatchSendDeadline: Duration(5 * time.Second),
	MinBackoff:        Duration(30 * time.Millisecond),
	MaxBackoff:        Duration(5 * time.Second),
}

// Validate checks the queue's sizes and backoff bounds.
func (c *QueueConfig) Validate() error {
	switch {
	case c.MaxShards <= 0:
		return errors.New("remote write queue max_shards must be positive")
	case c.MinShards <= 0:
		return errors.New("remote write queue min_shards must be positive")
	case c.MinShards > c.MaxShards:
		return errors.New("remote write queue min_shards must not be greater than max_shards")
	case c.MaxSamplesPerSend <= 0:
		return errors.New("remote write queue max_samples_per_send must be positive")
	case c.Capacity <= 0:
		return errors.New("remote write queue capacity must be positive")
	case c.MaxBackoff < c.MinBackoff:
		return errors.New("remote write queue max_backoff must not be less than min_backoff")
	}
	return nil
}

// MetadataConfig controls sending metric metadata.
type MetadataConfig struct {
	Send              bool     `yaml:"send"`
	SendInterval      Duration `yaml:"send_interval"`
	MaxSamplesPerSend int      `yaml:"max_samples_per_send,omitempty"`
}

// DefaultMetadataConfig holds Prometheus' metadata defaults.
var DefaultMetadataConfig = MetadataConfig{
	Send:              true,
	SendInterval:      Duration(time.Minute),
	MaxSamplesPerSend: 2000,
}

// DefaultRemoteWriteConfig holds Prometheus' defaults. HTTP/2 is off for
// remote write: one connection per shard spreads load better.
var DefaultRemoteWriteConfig = RemoteWriteConfig{
	RemoteTimeout:    Duration(30 * time.Second),
	ProtobufMessage:  RemoteWriteProtoMsgV1,
	QueueConfig:      DefaultQueueConfig,
	MetadataConfig:   DefaultMetadataConfig,
	HTTPClientConfig: HTTPClientConfig{FollowRedirects: true, EnableHTTP2: false},
}

// UnmarshalYAML decodes and validates the endpoint.
func (c *RemoteWriteConfig) UnmarshalYAML(unmarshal func(any) error) error {
	*c = DefaultRemoteWriteConfig
	type plain RemoteWriteConfig
	if err := unmarshal((*plain)(c)); err != nil {
		return err
	}
	if c.URL == nil || c.URL.URL == nil {
		return errors.New("url for remote_write is empty")
	}
	if err := checkNilRelabels(c.WriteRelabelConfigs, "empty or null relabeling rule in remote write config"); err != nil {
		return err
	}
	if err := validateHeaders(c.Headers); err != nil {
		return err
	}
	if err := c.ProtobufMessage.Validate(); err != nil {
		return fmt.Errorf("invalid protobuf_message value: %w", err)
	}
	if err := c.HTTPClientConfig.Validate(); err != nil {
		return err
	}
	return c.QueueConfig.Validate()
}

// RemoteReadConfig is one remote read endpoint.
type RemoteReadConfig struct {
	URL              *URL              `yaml:"url"`
	RemoteTimeout    Duration          `yaml:"remote_timeout,omitempty"`
	ChunkedReadLimit uint64            `yaml:"chunked_read_limit,omitempty"`
	Headers          map[string]string `yaml:"headers,omitempty"`
	ReadRecent       bool              `yaml:"read_recent,omitempty"`
	Name             string            `yaml:"name,omitempty"`

	HTTPClientConfig HTTPClientConfig `yaml:",inline"`

	// RequiredMatchers are equality matchers a query must contain for the
	// endpoint to be asked.
	RequiredMatchers map[string]string `yaml:"required_matchers,omitempty"`
	// FilterExternalLabels adds matchers for the external labels.
	FilterExternalLabels bool `yaml:"filter_external_labels,omitempty"`
}

// DefaultChunkedReadLimit caps one streamed chunk response at 50 MB.
const DefaultChunkedReadLimit = 5e7

// DefaultRemoteReadConfig holds Prometheus' defaults.
var DefaultRemoteReadConfig = RemoteReadConfig{
	RemoteTimeout:        Duration(time.Minute),
	ChunkedReadLimit:     DefaultChunkedReadLimit,
	HTTPClientConfig:     DefaultHTTPClientConfig,
	FilterExternalLabels: true,
}

// UnmarshalYAML decodes and validates the endpoint.
func (c *RemoteReadConfig) UnmarshalYAML(unmarshal func(any) error) error {
	*c = DefaultRemoteReadConfig
	type plain RemoteReadConfig
	if err := unmarshal((*plain)(c)); err != nil {
		return err
	}
	if c.URL == nil || c.URL.URL == nil {
		return errors.New("url for remote_read is empty")
	}
	if err := validateHeaders(c.Headers); err != nil {
		return err
	}
	return c.HTTPClientConfig.Validate()
}
