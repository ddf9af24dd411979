// Package http owns HTTP-based service discovery (http_sd_configs): every
// refresh_interval (60s by default) it GETs a URL that answers with the
// complete list of target groups as JSON, in the file_sd format.
//
// The endpoint must answer 200 with Content-Type application/json; any
// failure (network, status, content type, decoding) keeps the last good
// list and counts prometheus_sd_http_failures_total. Each group gets
// __meta_url, and groups that disappear from the list are cleared.
package http

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vigil-monitoring/vigil/internal/discovery"
	"github.com/vigil-monitoring/vigil/internal/model/labels"
)

// URLLabel is the meta label holding the discovery URL.
const URLLabel = "__meta_url"

// SDConfig is one http_sd_configs entry.
type SDConfig struct {
	HTTPClientConfig discovery.HTTPClientConfig `yaml:",inline"`
	RefreshInterval  discovery.Duration         `yaml:"refresh_interval,omitempty"`
	URL              string                     `yaml:"url"`
}

// DefaultSDConfig holds Prometheus' defaults.
var DefaultSDConfig = SDConfig{
	HTTPClientConfig: discovery.DefaultHTTPClientConfig,
	RefreshInterval:  discovery.Duration(60 * time.Second),
}

func init() { discovery.RegisterConfig(&SDConfig{}) }

// Name returns "http".
func (*SDConfig) Name() string { return "http" }

// SetDirectory resolves the HTTP client's file paths against dir.
func (c *SDConfig) SetDirectory(dir string) { c.HTTPClientConfig.SetDirectory(dir) }

// UnmarshalYAML applies defaults and validates the URL and client.
func (c *SDConfig) UnmarshalYAML(unmarshal func(any) error) error {
	*c = DefaultSDConfig
	type plain SDConfig
	if err := unmarshal((*plain)(c)); err != nil {
		return err
	}
	if c.URL == "" {
		return errors.New("URL is missing")
	}
	u, err := url.Parse(c.URL)
	if err != nil {
		return err
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return errors.New("URL scheme must be 'http' or 'https'")
	}
	if u.Host == "" {
		return errors.New("host is missing in URL")
	}
	return c.HTTPClientConfig.Validate()
}

// NewDiscoverer builds the HTTP client and the discoverer.
func (c *SDConfig) NewDiscoverer(opts discovery.DiscovererOptions) (discovery.Discoverer, error) {
	return NewDiscovery(c, opts)
}

// maxBodySize bounds the response: a target list is never near this, a
// misconfigured URL serving something else might be.
const maxBodySize = 64 << 20

// Discovery polls one URL.
type Discovery struct {
	url      string
	client   *http.Client
	refresh  time.Duration
	logger   *slog.Logger
	opts     discovery.DiscovererOptions
	failures prometheus.Counter
	// lastCount is how many groups the last good response had, so that
	// sources that disappeared can be cleared.
	lastCount int
}

// NewDiscovery returns a discoverer for cfg.
func NewDiscovery(cfg *SDConfig, opts discovery.DiscovererOptions) (*Discovery, error) {
	hopts := opts.HTTPClientOptions
	if hopts.UserAgent == "" {
		hopts.UserAgent = "Vigil"
	}
	client, err := discovery.NewHTTPClient(cfg.HTTPClientConfig, hopts)
	if err != nil {
		return nil, err
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	refresh := time.Duration(cfg.RefreshInterval)
	if refresh <= 0 {
		refresh = time.Duration(DefaultSDConfig.RefreshInterval)
	}
	return &Discovery{
		url:     cfg.URL,
		client:  client,
		refresh: refresh,
		logger:  logger,
		opts:    opts,
		failures: discovery.RegisterShared(opts.Registerer, prometheus.NewCounter(prometheus.CounterOpts{
			Name: "prometheus_sd_http_failures_total",
			Help: "Number of HTTP service discovery refresh failures.",
		})),
	}, nil
}

// Run fetches immediately, then every refresh interval.
func (d *Discovery) Run(ctx context.Context, up chan<- []*discovery.TargetGroup) {
	discovery.RunRefresh(ctx, discovery.RefreshOptions{Mechanism: "http", Interval: d.refresh, Options: d.opts}, up, d.Refresh)
}

// Refresh fetches the list once. On error the caller keeps what it had.
func (d *Discovery) Refresh(ctx context.Context) ([]*discovery.TargetGroup, error) {
	groups, err := d.fetch(ctx)
	if err != nil {
		d.failures.Inc()
		return nil, err
	}
	n := len(groups)
	for i := n; i < d.lastCount; i++ {
		groups = append(groups, &discovery.TargetGroup{Source: d.source(i)})
	}
	d.lastCount = n
	return groups, nil
}

func (d *Discovery) source(i int) string { return d.url + ":" + strconv.Itoa(i) }

func (d *Discovery) fetch(ctx context.Context) ([]*discovery.TargetGroup, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, d.url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("X-Prometheus-Refresh-Interval-Seconds", strconv.FormatFloat(d.refresh.Seconds(), 'f', -1, 64))
	resp, err := d.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer func() {
		// Drain so the connection can be reused.
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxBodySize))
		resp.Body.Close()
	}()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("server returned HTTP status %s", resp.Status)
	}
	if mt, _, err := mime.ParseMediaType(resp.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return nil, fmt.Errorf("unsupported content type %q", resp.Header.Get("Content-Type"))
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBodySize+1))
	if err != nil {
		return nil, err
	}
	if len(body) > maxBodySize {
		return nil, fmt.Errorf("response larger than %d bytes", maxBodySize)
	}
	var groups []*discovery.TargetGroup
	if err := json.Unmarshal(body, &groups); err != nil {
		return nil, err
	}
	for i, g := range groups {
		if g == nil {
			return nil, errors.New("nil target group item found")
		}
		g.Source = d.source(i)
		b := labels.NewBuilder(g.Labels)
		b.Set(URLLabel, d.url)
		g.Labels = b.Labels()
	}
	return groups, nil
}
